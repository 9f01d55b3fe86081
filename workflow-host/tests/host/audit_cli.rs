//! The auditor's verbs through the real binary: checkpoint, verify (against the database
//! and offline against an export), export, and the Python reference verifier an auditor
//! without Rust uses (`docs/audit/verify_export.py`).

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{aduan_in, ok, run_bounded};

fn python(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new("python3");
    command.current_dir(dir).args(args);
    run_bounded(command).expect("python3 is part of the machine image (see docs/audit.md)")
}

fn reference_verifier() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/audit/verify_export.py")
        .display()
        .to_string()
}

#[test]
fn an_auditor_checkpoints_exports_and_verifies_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&aduan_in(d, &["demo"]));
    ok(&aduan_in(d, &["checkpoint", "--out", "cp.json"]));
    assert!(d.join("aduan-signing.key").exists() && d.join("aduan-signing.pub").exists());
    let verified = ok(&aduan_in(
        d,
        &[
            "verify",
            "--checkpoint",
            "cp.json",
            "--public-key",
            "aduan-signing.pub",
        ],
    ));
    assert!(verified.contains("extends the checkpoint"), "{verified}");

    ok(&aduan_in(d, &["export", "--out", "one.jsonl"]));
    ok(&aduan_in(d, &["export", "--out", "two.jsonl"]));
    let one = std::fs::read(d.join("one.jsonl")).unwrap();
    assert_eq!(
        one,
        std::fs::read(d.join("two.jsonl")).unwrap(),
        "exports are reproducible byte for byte"
    );
    ok(&aduan_in(
        d,
        &["verify", "--export", "one.jsonl", "--checkpoint", "cp.json"],
    ));
    ok(&python(d, &[&reference_verifier(), "one.jsonl", "cp.json"]));

    ok(&aduan_in(
        d,
        &["export", "--format", "csv", "--out", "log.csv"],
    ));
    ok(&aduan_in(
        d,
        &[
            "verify",
            "--export",
            "log.csv",
            "--format",
            "csv",
            "--checkpoint",
            "cp.json",
        ],
    ));

    // One changed word in the export: both verifiers name the event.
    let text = String::from_utf8(one).unwrap();
    let tampered = text.replacen("Lubang 1,2 x 0,8 m", "Lubang 0,2 x 0,1 m", 1);
    assert_ne!(tampered, text);
    std::fs::write(d.join("bad.jsonl"), tampered).unwrap();
    let rust = aduan_in(d, &["verify", "--export", "bad.jsonl"]);
    assert!(!rust.status.success());
    let reason = String::from_utf8_lossy(&rust.stderr);
    assert!(
        reason.contains("complaint ADU-2026-0001 sequence 6"),
        "{reason}"
    );
    let py = python(d, &[&reference_verifier(), "bad.jsonl"]);
    assert!(!py.status.success());
    assert!(String::from_utf8_lossy(&py.stdout).contains("complaint ADU-2026-0001 sequence 6"));
}

#[test]
fn verify_names_an_event_edited_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&aduan_in(d, &["demo"]));
    ok(&aduan_in(d, &["verify"]));
    // Someone with the file drops the guard and edits a response.
    ok(&python(
        d,
        &[
            "-c",
            "import sqlite3; c = sqlite3.connect('aduan.db'); \
             c.execute('DROP TRIGGER events_immutable'); \
             c.execute(\"UPDATE events SET payload = replace(payload, 'Lampu diganti', 'Lampu TIDAK diganti') \
                        WHERE aggregate_id = 'ADU-2026-0002' AND event_type = 'Responded'\"); \
             c.commit()",
        ],
    ));
    let out = aduan_in(d, &["verify", "--json"]);
    assert!(!out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failures"][0]["complaint_id"], "ADU-2026-0002");
    assert_eq!(report["failures"][0]["sequence"], 7);
    assert_eq!(report["failures"][0]["kind"], "hash_mismatch");
    // A checkpoint is refused over a broken log.
    let cp = aduan_in(d, &["checkpoint", "--out", "cp.json"]);
    assert!(!cp.status.success());
    assert!(!d.join("cp.json").exists());
}

#[test]
fn history_and_export_of_one_complaint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&aduan_in(d, &["demo"]));
    let lines = ok(&aduan_in(d, &["export", "--complaint", "ADU-2026-0004"]));
    assert_eq!(lines.lines().count(), 5);
    let missing = aduan_in(d, &["export", "--complaint", "ADU-NOPE"]);
    assert!(!missing.status.success());
}
