//! The auditor's verbs through the real binary: checkpoint, verify (against the database
//! and offline against an export), export, and the Python reference verifier an auditor
//! without Rust uses (`docs/audit/verify_export.py`).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

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

/// The Python reference verifier run with `args`.
fn verifier(dir: &Path, args: &[&str]) -> Output {
    let script = reference_verifier();
    let mut all = vec![script.as_str()];
    all.extend_from_slice(args);
    python(dir, &all)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit status 1: what both verifiers answer a log or checkpoint that fails (a Python
/// crash would also exit 1, so callers check the words too).
fn failed(who: &str, out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{who}\nstdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    assert!(!stderr(out).contains("Traceback"), "{who}: {}", stderr(out));
}

/// Both verifiers refuse the checkpoint before reading the export, with the same
/// one-line reason `checkpoint: {reason}`.
fn both_refuse_checkpoint(dir: &Path, checkpoint: &str, public_key: Option<&str>, reason: &str) {
    let mut rust = vec![
        "verify",
        "--export",
        "log.jsonl",
        "--checkpoint",
        checkpoint,
    ];
    let mut py = vec!["log.jsonl", "--checkpoint", checkpoint];
    if let Some(key) = public_key {
        rust.extend(["--public-key", key]);
        py.extend(["--public-key", key]);
    }
    let rust = aduan_in(dir, &rust);
    let py = verifier(dir, &py);
    failed("aduan", &rust);
    failed("verify_export.py", &py);
    let expected = format!("checkpoint: {reason}\n");
    assert_eq!(stderr(&rust), format!("aduan: {expected}"));
    assert_eq!(stderr(&py), format!("verify_export: {expected}"));
    assert_eq!((stdout(&rust), stdout(&py)), (String::new(), String::new()));
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
    let rust = ok(&aduan_in(
        d,
        &[
            "verify",
            "--export",
            "one.jsonl",
            "--checkpoint",
            "cp.json",
            "--public-key",
            "aduan-signing.pub",
        ],
    ));
    let py = ok(&verifier(
        d,
        &[
            "one.jsonl",
            "--checkpoint",
            "cp.json",
            "--public-key",
            "aduan-signing.pub",
        ],
    ));
    assert!(py.contains("extends the checkpoint"), "{py}");
    assert_eq!(py, rust, "both verifiers say the same");
    // The checkpoint as the second argument, as older guides wrote it.
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
    let py = verifier(d, &["bad.jsonl"]);
    failed("verify_export.py", &py);
    assert!(
        stdout(&py).contains("FAIL complaint ADU-2026-0001 sequence 6: hash_mismatch: "),
        "{}",
        stdout(&py)
    );
}

#[test]
fn the_reference_verifier_reads_a_csv_export_as_aduan_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&aduan_in(d, &["demo"]));
    ok(&aduan_in(d, &["checkpoint", "--out", "cp.json"]));
    ok(&aduan_in(
        d,
        &["export", "--format", "csv", "--out", "log.csv"],
    ));
    let rust = ok(&aduan_in(
        d,
        &[
            "verify",
            "--export",
            "log.csv",
            "--format",
            "csv",
            "--checkpoint",
            "cp.json",
            "--public-key",
            "aduan-signing.pub",
        ],
    ));
    // No --format: the script tells CSV by the file's first character.
    let py = ok(&verifier(
        d,
        &[
            "log.csv",
            "--checkpoint",
            "cp.json",
            "--public-key",
            "aduan-signing.pub",
        ],
    ));
    assert!(
        py.starts_with("verified: ") && py.contains("extends the checkpoint"),
        "{py}"
    );
    assert_eq!(py, rust, "both verifiers say the same");

    // One payload cell altered (a quoted cell: the findings hold commas).
    let text = std::fs::read_to_string(d.join("log.csv")).unwrap();
    let tampered = text.replacen("Lubang 1,2 x 0,8 m", "Lubang 0,2 x 0,1 m", 1);
    assert_ne!(tampered, text);
    std::fs::write(d.join("bad.csv"), tampered).unwrap();
    let rust = aduan_in(
        d,
        &["verify", "--json", "--export", "bad.csv", "--format", "csv"],
    );
    failed("aduan", &rust);
    let rust: Value = serde_json::from_slice(&rust.stdout).unwrap();
    assert_eq!(rust["failures_total"], 1);
    assert_eq!(rust["failures"][0]["complaint_id"], "ADU-2026-0001");
    assert_eq!(rust["failures"][0]["sequence"], 6);
    assert_eq!(rust["failures"][0]["kind"], "hash_mismatch");
    let py = verifier(d, &["bad.csv", "--format", "csv", "--json"]);
    failed("verify_export.py", &py);
    let py: Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(py, rust, "the same report, hashes and all");
    let py = verifier(d, &["bad.csv"]);
    failed("verify_export.py", &py);
    assert!(
        stdout(&py).contains("FAIL complaint ADU-2026-0001 sequence 6: hash_mismatch: "),
        "{}",
        stdout(&py)
    );
}

#[test]
fn the_reference_verifier_checks_the_checkpoint_signature() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&aduan_in(d, &["demo"]));
    ok(&aduan_in(d, &["checkpoint", "--out", "cp.json"]));
    ok(&aduan_in(d, &["export", "--out", "log.jsonl"]));
    // A checkpoint of the same log, signed afresh with another key.
    ok(&aduan_in(
        d,
        &["checkpoint", "--key", "other.key", "--out", "other-cp.json"],
    ));

    let keyed = verifier(
        d,
        &[
            "log.jsonl",
            "--checkpoint",
            "cp.json",
            "--public-key",
            "aduan-signing.pub",
        ],
    );
    let right = ok(&keyed);
    assert!(right.contains("extends the checkpoint"), "{right}");
    assert_eq!(stderr(&keyed), "", "nothing to note with the trusted key");
    // Without the key, both pass a checkpoint signed with another key; both say the
    // signature was checked only against the checkpoint's own key.
    let rust_unkeyed = aduan_in(
        d,
        &[
            "verify",
            "--export",
            "log.jsonl",
            "--checkpoint",
            "other-cp.json",
        ],
    );
    ok(&rust_unkeyed);
    let unkeyed = verifier(d, &["log.jsonl", "--checkpoint", "other-cp.json"]);
    ok(&unkeyed);
    for (tool, run) in [("aduan", &rust_unkeyed), ("the script", &unkeyed)] {
        assert!(
            stderr(run)
                .contains("checked against the public key written in it, not against one you keep"),
            "{tool}: {}",
            stderr(run)
        );
    }

    // With the key, the other key's checkpoint is refused, and so is ours under the
    // other key.
    let other_key = "it was signed by another key than the one trusted";
    both_refuse_checkpoint(d, "other-cp.json", Some("aduan-signing.pub"), other_key);
    both_refuse_checkpoint(d, "cp.json", Some("other.pub"), other_key);

    // One byte of the signature flipped: refused with or without the key.
    let mut cp: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("cp.json")).unwrap()).unwrap();
    let signature = cp["signature"].as_str().unwrap().to_owned();
    let first = u8::from_str_radix(&signature[..2], 16).unwrap() ^ 0x01;
    cp["signature"] = Value::from(format!("{first:02x}{}", &signature[2..]));
    std::fs::write(d.join("flipped.json"), cp.to_string()).unwrap();
    let no_match = "the signature does not match: the file was altered or signed by another key";
    both_refuse_checkpoint(d, "flipped.json", Some("aduan-signing.pub"), no_match);
    both_refuse_checkpoint(d, "flipped.json", None, no_match);

    // The other key written into our checkpoint, its signature kept: the key is now
    // the trusted one, the signature is not its.
    let mut swapped: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("cp.json")).unwrap()).unwrap();
    let other_pub = std::fs::read_to_string(d.join("other.pub")).unwrap();
    swapped["public_key"] = Value::from(other_pub.trim());
    std::fs::write(d.join("swapped.json"), swapped.to_string()).unwrap();
    both_refuse_checkpoint(d, "swapped.json", Some("other.pub"), no_match);
}

#[test]
fn the_reference_verifier_passes_its_self_test() {
    let dir = tempfile::tempdir().unwrap();
    let out = verifier(dir.path(), &["--self-test"]);
    let said = ok(&out);
    assert!(
        said.starts_with("self-test: ok (Ed25519 against RFC 8032 tests 1 to 3"),
        "{said}"
    );
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
