//! The operator's verbs on a real SQLite file: `status` tells the truth and exits
//! non-zero when something needs attention; `resume` takes a parked complaint back only
//! when its events can be read.

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_store::Store;

use crate::support::{aduan, Aduan};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_a_parked_complaint_and_resume_needs_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    {
        let store = Store::open(&url, workflow_core::ComplaintServices::builtin())
            .await
            .unwrap();
        for id in ["ADU-1", "ADU-2"] {
            store
                .engine()
                .execute(
                    &cid(id),
                    cmd(
                        &format!("{id}-r"),
                        upp(),
                        wib("2026-11-30 09:00"),
                        C::Register(registration()),
                    ),
                    None,
                )
                .await
                .unwrap();
        }
        store.close().await;
    }
    let healthy = aduan(dir.path(), &url, &["status"]);
    let out = String::from_utf8_lossy(&healthy.stdout);
    assert!(
        healthy.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    assert!(out.contains("write: ok"), "{out}");

    // A row no version of the engine can read, behind the engine's back.
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut raw = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             VALUES ('complaint', 'ADU-1', 2, 'Disposed', '7', '{\"nonsense\": true}', '{}')",
        )
        .execute(&mut raw)
        .await
        .unwrap();
        raw.close().await.unwrap();
    }
    let parked = aduan(dir.path(), &url, &["status"]);
    let out = String::from_utf8_lossy(&parked.stdout);
    assert!(
        !parked.status.success(),
        "a parked complaint needs an operator: {out}"
    );
    assert!(out.contains("parked complaints"), "{out}");
    assert!(out.contains("ADU-1"), "{out}");
    let json = aduan(dir.path(), &url, &["--json", "status"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["ok"], false);
    // In each projection: the complaints, the outbox, the timeline.
    assert_eq!(report["parked"].as_array().unwrap().len(), 3, "{report}");
    assert_eq!(report["parked"][0]["complaint_id"], "ADU-1");
    assert_eq!(report["parked"][0]["sequence"], 2);
    for p in report["projections"].as_array().unwrap() {
        assert_eq!(p["lag"], 0, "the other complaint was projected: {report}");
    }

    let resume = aduan(dir.path(), &url, &["resume", "ADU-1"]);
    let err = String::from_utf8_lossy(&resume.stderr);
    assert!(!resume.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("ADU-1") && err.contains("sequence 2"), "{err}");
    let unknown = aduan(dir.path(), &url, &["resume", "ADU-2"]);
    assert!(!unknown.status.success(), "ADU-2 is not parked");
}

/// User names carry no `:` (command ids are `user:key`): a token for one is refused.
#[test]
fn a_token_for_a_user_name_with_a_colon_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let out = aduan(
        dir.path(),
        &url,
        &["token", "create", "--user", "sari:upp", "--role", "upp"],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no token printed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("`:`"));
}

/// The verbs that only read refuse a database that is not there: non-zero, one line
/// naming the file, and no file made.
#[test]
fn read_only_verbs_refuse_a_missing_database_and_create_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong-name.db");
    let url = format!("sqlite://{}", path.display());
    for verb in [
        &["verify"][..],
        &["checkpoint"],
        &["export"],
        &["history", "ADU-1"],
        &["sla"],
    ] {
        let out = aduan(dir.path(), &url, verb);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{verb:?} succeeded: {stderr}");
        assert!(
            stderr.contains("wrong-name.db") && stderr.contains("no such database file"),
            "{verb:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{verb:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{verb:?} printed a result");
        assert!(!path.exists(), "{verb:?} created the database");
    }
}

/// `aduan … | head -1`: a reader that goes away ends the verb quietly, exit 0, no panic.
/// The test closes its end of the pipe before the verb writes, so every write fails.
#[test]
fn a_closed_pipe_ends_a_verb_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let run = |args: &[&str]| {
        let out = Aduan::on(dir.path(), &url).run_unread(args);
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for args in [
        &["demo"][..],
        &["demo", "--json"],
        &["sla", "--at", "2026-12-10T00:00:00Z"],
        &["sla", "--json", "--at", "2026-12-10T00:00:00Z"],
        &["history", "ADU-2026-0003"],
        &["export"],
        &["verify"],
    ] {
        let (status, stderr) = run(args);
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

/// The licence the packages declare is the one in LICENSE, and no package names a
/// repository that does not exist.
#[test]
fn the_declared_license_is_the_license_file_and_no_placeholder_url() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"Apache-2.0\""), "{manifest}");
    let license = std::fs::read_to_string(root.join("LICENSE")).expect("a LICENSE file");
    assert!(
        license.contains("Apache License") && license.contains("Version 2.0, January 2004"),
        "LICENSE is not the Apache License 2.0"
    );
    for member in [
        "Cargo.toml",
        "workflow-core/Cargo.toml",
        "workflow-store/Cargo.toml",
        "workflow-host/Cargo.toml",
        "tests/Cargo.toml",
    ] {
        let text = std::fs::read_to_string(root.join(member)).unwrap();
        assert!(
            !text.contains("example.invalid") && !text.contains("example.com"),
            "{member} names a placeholder URL"
        );
    }
}

/// The operator's side of personal data: erase an identity (once; a second time says
/// when it was), rotate the key file, and a store whose key file is gone refuses to
/// start, saying what to do.
#[test]
fn the_operator_erases_an_identity_rotates_the_key_and_is_told_of_a_lost_key_file() {
    use crate::support::{ok, refused};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    ok(&aduan(dir.path(), &url, &["demo"]));
    let key_file = dir.path().join("aduan.db.key");
    assert!(
        key_file.exists(),
        "the key file is made beside the database"
    );

    // The demo's weeks end by today, so its complaints are read as of now.
    let now = chrono::Utc::now().to_rfc3339();
    let history = || {
        ok(&aduan(
            dir.path(),
            &url,
            &[
                "--json",
                "history",
                "ADU-2026-0001",
                "--as-of",
                &now,
                "--reveal-identity",
                "--as",
                "sari.upp",
            ],
        ))
    };
    let before: serde_json::Value = serde_json::from_str(&history()).unwrap();
    let name = before["state"]["registration"]["complainant"]["name"]
        .as_str()
        .expect("the operator sees the identity")
        .to_owned();

    let erased = ok(&aduan(
        dir.path(),
        &url,
        &[
            "erase-identity",
            "ADU-2026-0001",
            "--reason",
            "Permintaan pelapor, Pasal 8 UU 27/2022",
        ],
    ));
    assert!(erased.contains("dihapus sesuai UU PDP"), "{erased}");
    let again = ok(&aduan(
        dir.path(),
        &url,
        &["erase-identity", "ADU-2026-0001", "--reason", "lagi"],
    ));
    assert!(again.contains("already erased"), "{again}");
    let history = history();
    assert!(!history.contains(&name), "{history}");
    let after: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(
        after["state"]["registration"]["complainant"]["erased"],
        true
    );

    let new_key = dir.path().join("rotated.key");
    let rotated = ok(&aduan(
        dir.path(),
        &url,
        &["key", "rotate", "--new-kek-file", new_key.to_str().unwrap()],
    ));
    assert!(rotated.contains("re-wrapped"), "{rotated}");
    let new_key = new_key.to_str().unwrap();
    ok(&aduan(
        dir.path(),
        &url,
        &[
            "--kek-file",
            new_key,
            "--json",
            "history",
            "ADU-2026-0002",
            "--as-of",
            &now,
            "--reveal-identity",
            "--as",
            "sari.upp",
        ],
    ));
    let stale = refused(&aduan(dir.path(), &url, &["status"]));
    assert!(
        stale.contains("not the one this database's keys are wrapped with"),
        "{stale}"
    );

    std::fs::remove_file(new_key).unwrap();
    let lost = refused(&aduan(dir.path(), &url, &["--kek-file", new_key, "status"]));
    assert!(
        lost.contains("is missing") && lost.contains("backup"),
        "{lost}"
    );
    // The auditor's verbs need no identity: they still run.
    ok(&aduan(dir.path(), &url, &["--kek-file", new_key, "verify"]));
}

/// `--json` on every verb: standard output is one JSON document a program can read,
/// whatever the verb (what people read goes to standard error or is left out).
#[test]
fn every_verb_answers_json_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let d = dir.path();
    let verbs: [&[&str]; 13] = [
        &["migrate"],
        &["demo", "--ends", "2026-12-21"],
        &["sla"],
        &["history", "ADU-2026-0003"],
        &["status"],
        &["replay"],
        &["verify"],
        &["checkpoint", "--out", "cp.json"],
        &["export", "--out", "log.jsonl"],
        &["plain-identities"],
        &["token", "create", "--user", "rina", "--role", "upp"],
        &["token", "revoke", "--user", "rina"],
        &[
            "erase-identity",
            "ADU-2026-0001",
            "--reason",
            "Permintaan pelapor",
            "--as",
            "sari.upp",
        ],
    ];
    for args in verbs {
        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        let out = aduan(d, &url, &with_json);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Result<serde_json::Value, _> = serde_json::from_slice(&out.stdout);
        assert!(
            doc.is_ok(),
            "{args:?} --json wrote no JSON document: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Progress written to a log (standard error is not a terminal) is plain lines: no
/// carriage return, and the line that ends a walk once.
#[test]
fn progress_in_a_log_is_plain_lines_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let d = dir.path();
    assert!(aduan(d, &url, &["demo", "--ends", "2026-12-21"])
        .status
        .success());
    for (args, ending) in [
        (&["replay"][..], "replay complaints: "),
        (&["verify"], "verify: "),
        (&["export", "--out", "log.jsonl"], "export: "),
    ] {
        let out = aduan(d, &url, args);
        assert!(out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains('\r'),
            "{args:?}: a carriage return in {stderr:?}"
        );
        let endings = stderr
            .lines()
            .filter(|l| l.starts_with(ending) && l.contains(" in "))
            .count();
        assert_eq!(endings, 1, "{args:?}: {stderr}");
    }
}

/// A configuration file sets any option; a flag beats its environment variable, which
/// beats the file; `config check` says what is in force; a bad file is refused in one
/// line naming the file and the key, before anything runs.
#[test]
fn a_configuration_file_sets_options_below_environment_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("aduan.toml"),
        "database_url = \"sqlite://from-file.db\"\npg_lock_timeout = \"2s\"\n\n\
         [serve]\nlisten = \"127.0.0.1:0\"\nmax_in_flight = 64\n",
    )
    .unwrap();
    let in_dir = Aduan::in_dir(d);

    let out = in_dir.run(&["--config", "aduan.toml", "--json", "migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        d.join("from-file.db").exists(),
        "the file's database_url is used"
    );

    let mut command = in_dir.command();
    command
        .env("DATABASE_URL", "sqlite://from-env.db")
        .env("ADUAN_CONFIG", "aduan.toml")
        .args(["migrate"]);
    let out = crate::support::run_bounded(command).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        d.join("from-env.db").exists(),
        "the environment beats the file"
    );

    let out = in_dir.run(&[
        "--config",
        "aduan.toml",
        "--database-url",
        "sqlite://from-flag.db",
        "--json",
        "config",
        "check",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources: Vec<(String, String)> = report["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_owned(),
                s["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("database_url".to_owned(), "command_line".to_owned()),
            ("pg_lock_timeout".to_owned(), "file".to_owned()),
            ("listen".to_owned(), "file".to_owned()),
            ("max_in_flight".to_owned(), "file".to_owned()),
        ],
        "{report}"
    );

    std::fs::write(d.join("bad.toml"), "[serve]\nmax_in_flight = \"many\"\n").unwrap();
    let out = in_dir.run(&["--config", "bad.toml", "serve"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bad.toml: serve.max_in_flight: "),
        "{stderr}"
    );
    let out = in_dir.run(&["config", "check"]);
    assert!(!out.status.success(), "no file named: check says so");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no configuration file"));
}

/// The complete configuration file docs/operations.md shows is one `config check`
/// accepts, every key applied.
#[test]
fn the_configuration_file_of_the_operations_guide_checks() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md"),
    )
    .unwrap();
    let start = guide.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let example = &guide[start..start + guide[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aduan.toml"), example).unwrap();
    let out =
        Aduan::in_dir(dir.path()).run(&["--config", "aduan.toml", "--json", "config", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = example.lines().filter(|l| l.contains(" = ")).count();
    assert_eq!(
        report["settings"].as_array().unwrap().len(),
        keys,
        "{report}"
    );
}

/// `aduan replay` while another holds the replay lock of a projection (on SQLite, the
/// file beside the database): it stops there, naming the projection and the ones it
/// rebuilt before it, and exits non-zero; once the lock is let go, it runs.
#[test]
fn a_replay_stops_at_a_projection_another_replay_holds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aduan.db");
    let url = format!("sqlite://{}", db.display());
    crate::support::ok(&aduan(dir.path(), &url, &["migrate"]));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join("aduan.db.replay-timeline.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let out = aduan(dir.path(), &url, &["replay"]);
    assert!(!out.status.success());
    // After the progress line of the projection it rebuilt.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("timeline failed (already rebuilt: complaints)")
            && said.contains("a replay of timeline is already running"),
        "{said}"
    );
    drop(lock);
    crate::support::ok(&aduan(dir.path(), &url, &["replay"]));
}
