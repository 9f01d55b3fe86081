//! Which databases the real binary touches: another program's is refused in one line
//! and left as it was; a plain cqrs-es store is adopted only by `aduan adopt`.

#[cfg(feature = "postgres")]
use std::str::FromStr;
#[cfg(feature = "postgres")]
use std::time::{Duration, Instant};

#[cfg(feature = "postgres")]
use serde_json::json;
#[cfg(feature = "postgres")]
use sqlx::{ConnectOptions, Executor};

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_store::testing::{Backend, TestDb};

use crate::support::{self, ok, refused};

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
    let db = TestDb::new(backend, name).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    db.plain_cqrs_es_store(vec![
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
    let reason = refused(&support::aduan(d, &db.url, &["replay"]));
    assert!(reason.contains("aduan adopt"), "{reason}");

    let adopted = ok(&support::aduan(d, &db.url, &["adopt"]));
    assert!(
        adopted.contains("adopted 3 events of 2 complaints"),
        "{adopted}"
    );
    let replayed = ok(&support::aduan(d, &db.url, &["replay"]));
    assert!(
        replayed.contains("rebuilt complaints from 3 events"),
        "{replayed}"
    );
    let verified = ok(&support::aduan(d, &db.url, &["verify"]));
    assert!(
        verified.contains("verified: 3 events of 2 complaints"),
        "{verified}"
    );
    let board = ok(&support::aduan(d, &db.url, &["sla", "--json"]));
    let board: serde_json::Value = serde_json::from_str(&board).unwrap();
    assert!(
        board["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["complaint_id"] == "ADU-1" && e["step"] == "review"),
        "{board}"
    );
    let again = refused(&support::aduan(d, &db.url, &["adopt"]));
    assert!(again.contains("already"), "{again}");
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_brings_a_plain_sqlite_es_store_under_aduan() {
    adopt_through_the_binary(Backend::Sqlite, "cli_adopt_sqlite").await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_brings_a_plain_postgres_es_store_under_aduan() {
    adopt_through_the_binary(Backend::Postgres, "cli_adopt_postgres").await;
}

#[cfg(feature = "postgres")]
fn registration_body(n: u32) -> serde_json::Value {
    json!({
        "id": format!("ADU-T{n}"), "lapor_id": format!("LAP-T-{n}"), "title": "Jalan berlubang",
        "description": "Lubang besar", "category": "infrastruktur", "reported_at": "2026-11-28T01:00:00Z",
        "complainant": {"name": "Budi", "confidentiality": "anonymous"}, "upp_review": "Kewenangan PUPR"
    })
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_transaction_on_postgres_makes_commands_answer_503_quickly() {
    let db = TestDb::new(Backend::Postgres, "cli_stalled_append").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let upp = support::token(d, &db.url, "sari", "upp", None);
    let server = support::Server::start_with(d, &db.url, &["--pg-lock-timeout", "1s"]);
    let r = server.call(
        "POST",
        "/api/v1/complaints",
        Some(&upp),
        Some(&registration_body(1)),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // Another host froze between INSERT and COMMIT, holding the append lock.
    let mut stalled = sqlx::postgres::PgConnectOptions::from_str(&db.url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    stalled.execute("BEGIN").await.unwrap();
    stalled
        .execute(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             VALUES ('complaint', 'ADU-STALLED', 1, 'Received', '1', '{}', '{}')",
        )
        .await
        .unwrap();

    let started = Instant::now();
    let r = server.call(
        "POST",
        "/api/v1/complaints",
        Some(&upp),
        Some(&registration_body(2)),
        None,
    );
    let elapsed = started.elapsed();
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["type"], "urn:aduan:problem:unavailable");
    assert!(
        elapsed < Duration::from_secs(1 + 5),
        "answered after {elapsed:?}"
    );

    stalled.execute("ROLLBACK").await.unwrap();
    let r = server.call(
        "POST",
        "/api/v1/complaints",
        Some(&upp),
        Some(&registration_body(2)),
        None,
    );
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
