//! Which databases the real binary touches: another program's is refused in one line
//! and left as it was; a plain cqrs-es store is adopted only by `aduan adopt`; a new one
//! is its owner's alone; a stalled PostgreSQL append fails fast.

#[cfg(feature = "postgres")]
use std::time::{Duration, Instant};

#[cfg(feature = "postgres")]
use serde_json::json;
#[cfg(feature = "postgres")]
use sqlx::Executor;

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_store::testing::Backend;
#[cfg(feature = "sqlite")]
use workflow_store::testing::TestDb;

#[cfg(feature = "sqlite")]
use crate::support;
use crate::support::{ok, refused, Installation};

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_programs_sqlite_database_is_refused_in_one_line_and_left_as_it_was() {
    let db = TestDb::new(Backend::Sqlite, "cli_foreign").await;
    db.create_foreign(
        "CREATE TABLE events (id integer PRIMARY KEY, what text); INSERT INTO events VALUES (1, 'x');",
    )
    .await;
    let path = db.sqlite_path().unwrap();
    let dir = path.parent().unwrap();
    let before = std::fs::read(&path).unwrap();
    for verb in [&["migrate"][..], &["replay"], &["sla"], &["demo"]] {
        let reason = refused(&support::aduan(dir, &db.url, verb));
        assert!(
            reason.contains("is not an aduan database") && reason.contains("`events`"),
            "{verb:?}: {reason}"
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let mut entries: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        vec!["aduan.db".to_owned()],
        "no -wal, -shm or key files"
    );
}

/// The database file a verb creates is readable by its owner only.
#[cfg(all(unix, feature = "sqlite"))]
#[test]
fn a_new_database_file_is_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aduan.db");
    let url = format!("sqlite://{}", path.display());
    ok(&support::aduan(dir.path(), &url, &["migrate"]));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the database file is {mode:o}");
    for side in ["aduan.db-wal", "aduan.db-shm"] {
        if let Ok(m) = std::fs::metadata(dir.path().join(side)) {
            assert_eq!(m.permissions().mode() & 0o077, 0, "{side}");
        }
    }
}

async fn adopt_through_the_binary(backend: Backend, name: &str) {
    let aduan = Installation::new(backend, name).await;
    aduan
        .db
        .plain_cqrs_es_store(vec![
            (
                "ADU-1",
                cmd(
                    "r1",
                    upp(),
                    wib("2026-11-30 09:00"),
                    C::Register(registration()),
                ),
            ),
            (
                "ADU-2",
                cmd(
                    "r2",
                    upp(),
                    wib("2026-11-30 10:00"),
                    C::Register(registration()),
                ),
            ),
            (
                "ADU-1",
                cmd(
                    "d1",
                    upp(),
                    wib("2026-11-30 11:00"),
                    C::Dispose(disposition("PUPR")),
                ),
            ),
        ])
        .await;

    // Not by accident: every verb refuses it and says how to adopt it.
    let reason = refused(&aduan.run(&["replay"]));
    assert!(reason.contains("aduan adopt"), "{reason}");

    let adopted = ok(&aduan.run(&["adopt"]));
    assert!(
        adopted.contains("adopted 3 events of 2 complaints"),
        "{adopted}"
    );
    let replayed = ok(&aduan.run(&["replay"]));
    assert!(
        replayed.contains("rebuilt complaints from 3 events"),
        "{replayed}"
    );
    let verified = ok(&aduan.run(&["verify"]));
    assert!(
        verified.contains("verified: 3 events of 2 complaints"),
        "{verified}"
    );
    let board = ok(&aduan.run(&["sla", "--json"]));
    let board: serde_json::Value = serde_json::from_str(&board).unwrap();
    assert!(
        board["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["complaint_id"] == "ADU-1" && e["step"] == "review"),
        "{board}"
    );
    let again = refused(&aduan.run(&["adopt"]));
    assert!(again.contains("already"), "{again}");
}

on_each_backend!(adopt_through_the_binary:
    adopt_brings_a_plain_sqlite_es_store_under_aduan,
    adopt_brings_a_plain_postgres_es_store_under_aduan);

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_transaction_on_postgres_makes_commands_answer_503_quickly() {
    let aduan = Installation::new(Backend::Postgres, "cli_stalled_append").await;
    let upp = aduan.token("sari", "upp", None);
    let server = aduan.serve(&["--pg-lock-timeout", "1s"]);
    let register = |n: u32| {
        let body = json!({
            "id": format!("ADU-T{n}"), "lapor_id": format!("LAP-T-{n}"), "title": "Jalan berlubang",
            "description": "Lubang besar", "category": "infrastruktur", "reported_at": crate::support::an_hour_ago(),
            "complainant": {"name": "Budi", "confidentiality": "anonymous"}, "upp_review": "Kewenangan PUPR"
        });
        server.post("/api/v1/complaints", &upp, &body)
    };
    let r = register(1);
    assert_eq!(r.status, 201, "{}", r.text());

    // Another host froze between INSERT and COMMIT, holding the append lock.
    let mut stalled = aduan.db.raw().await;
    stalled.execute("BEGIN").await.unwrap();
    stalled
        .execute(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             VALUES ('complaint', 'ADU-STALLED', 1, 'Received', '1', '{}', '{}')",
        )
        .await
        .unwrap();

    let started = Instant::now();
    let r = register(2);
    let elapsed = started.elapsed();
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["type"], "urn:aduan:problem:unavailable");
    assert!(
        elapsed < Duration::from_secs(1 + 5),
        "answered after {elapsed:?}"
    );

    stalled.execute("ROLLBACK").await.unwrap();
    let r = register(2);
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(server.stop().success());
}

#[cfg(feature = "sqlite")]
#[test]
fn timeouts_given_on_the_command_line_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/aduan.db", dir.path().display());
    let out = support::aduan(dir.path(), &url, &["migrate", "--pg-lock-timeout", "soon"]);
    let reason = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(reason.contains("--pg-lock-timeout"), "{reason}");
    assert!(!dir.path().join("aduan.db").exists());
    ok(&support::aduan(
        dir.path(),
        &url,
        &[
            "migrate",
            "--pg-lock-timeout",
            "500ms",
            "--pg-statement-timeout",
            "0",
            "--pg-idle-in-transaction-timeout",
            "2min",
        ],
    ));
}
