//! The auditor's verbs: verify, checkpoint, export.

use std::io::Write;
use std::path::Path;

use chrono::Utc;
use workflow_store::audit::{
    generate_signing_key, load_signing_key, load_verifying_key, verify_export, write_signing_key,
    Checkpoint, ExportFormat, VerifyReport, WalkProgress,
};
use workflow_store::{Store, StoreError};

/// Shows progress of a long walk on stderr when a person is watching.
fn progress(label: &'static str) -> impl FnMut(WalkProgress) {
    let mut shown = crate::progress::Progress::new(label, "events");
    move |p: WalkProgress| shown.update(p.events, p.total)
}

fn report(report: &VerifyReport, json: bool) -> anyhow::Result<()> {
    let compared = report.snapshots.unwrap_or_default();
    let unchecked = report.snapshots_unchecked.unwrap_or_default();
    if !json && compared + unchecked > 0 {
        crate::outln!(
            "snapshots of complaints' states: {compared} compared with the events{}",
            if unchecked > 0 {
                format!("; {unchecked} of another format not compared (run the version that wrote them)")
            } else {
                String::new()
            }
        );
    }
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(report)?);
    } else if report.ok() {
        crate::outln!(
            "verified: {} events of {} complaints, up to position {}{}",
            report.events,
            report.complaints,
            report.head_position,
            report
                .checkpoint_position
                .map(|p| format!("; the log extends the checkpoint at position {p}"))
                .unwrap_or_default()
        );
    } else {
        for f in &report.failures {
            crate::outln!("FAIL {f}");
        }
    }
    match report.first_failure() {
        None => Ok(()),
        Some(first) => anyhow::bail!(
            "the log does not verify ({} failure(s)); first: {first}",
            report.failures_total
        ),
    }
}

fn read_checkpoint(
    path: Option<&Path>,
    public_key: Option<&Path>,
) -> anyhow::Result<(Option<Checkpoint>, Option<ed25519_dalek::VerifyingKey>)> {
    let checkpoint = path.map(Checkpoint::read).transpose()?;
    let trusted = public_key.map(load_verifying_key).transpose()?;
    Ok((checkpoint, trusted))
}

/// What the auditor should know of the keys used, once the checkpoint was accepted.
fn note_keys(checkpoint: Option<&Checkpoint>, trusted: Option<&ed25519_dalek::VerifyingKey>) {
    match (checkpoint, trusted) {
        // A checkpoint re-signed by anyone verifies against the key written in it.
        (Some(_), None) => eprintln!(
            "note: the checkpoint's signature was checked against the public key written in \
             it, not against one you keep; give --public-key to check who signed it"
        ),
        (None, Some(_)) => eprintln!("note: no checkpoint given; the public key was not used"),
        _ => {}
    }
}

/// `aduan verify` against the database.
pub async fn verify(
    store: &Store,
    checkpoint: Option<&Path>,
    public_key: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let (checkpoint, trusted) = read_checkpoint(checkpoint, public_key)?;
    let r = store
        .verify(checkpoint.as_ref(), trusted.as_ref(), progress("verify"))
        .await?;
    note_keys(checkpoint.as_ref(), trusted.as_ref());
    report(&r, json)
}

/// `aduan verify --export FILE`: offline, no database.
pub fn verify_file(
    path: &Path,
    format: ExportFormat,
    checkpoint: Option<&Path>,
    public_key: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let (checkpoint, trusted) = read_checkpoint(checkpoint, public_key)?;
    let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let r = verify_export(
        std::io::BufReader::new(file),
        format,
        checkpoint.as_ref(),
        trusted.as_ref(),
    )?;
    note_keys(checkpoint.as_ref(), trusted.as_ref());
    report(&r, json)
}

/// `aduan checkpoint`.
pub async fn checkpoint(
    store: &Store,
    out: Option<&Path>,
    key_path: &Path,
    json: bool,
) -> anyhow::Result<()> {
    let key = if key_path.exists() {
        load_signing_key(key_path)?
    } else {
        let key = generate_signing_key()?;
        write_signing_key(key_path, &key)?;
        eprintln!(
            "created signing key {} (public key in {}); keep the key off the database host and give the public key to the auditors",
            key_path.display(),
            key_path.with_extension("pub").display()
        );
        key
    };
    let checkpoint = store
        .checkpoint(&key, Utc::now(), progress("checkpoint"))
        .await?;
    let text = serde_json::to_string_pretty(&checkpoint)? + "\n";
    match out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            if json {
                crate::outln!(
                    "{}",
                    serde_json::json!({
                        "file": path,
                        "events": checkpoint.events,
                        "complaints": checkpoint.complaints,
                        "position": checkpoint.position,
                        "root": checkpoint.root,
                    })
                );
                return Ok(());
            }
            eprintln!(
                "checkpoint of {} events of {} complaints (position {}, root {}) written to {}",
                checkpoint.events,
                checkpoint.complaints,
                checkpoint.position,
                &checkpoint.root[..16],
                path.display()
            );
        }
        None => crate::out!("{text}"),
    }
    Ok(())
}

/// `aduan export`.
pub async fn export(
    store: &Store,
    format: ExportFormat,
    out: Option<&Path>,
    complaint: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let n = match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            let n = store
                .export(complaint, format, &mut w, progress("export"))
                .await?;
            w.flush()?;
            if json {
                crate::outln!("{}", serde_json::json!({ "file": path, "events": n }));
            } else {
                eprintln!("exported {n} events to {}", path.display());
            }
            n
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout());
            match store
                .export(complaint, format, &mut w, progress("export"))
                .await
            {
                // A reader that stopped early (`| head`) is not an error of ours.
                Err(StoreError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(())
                }
                other => other?,
            }
        }
    };
    if n == 0 {
        if let Some(id) = complaint {
            anyhow::bail!("no complaint {id}");
        }
    }
    Ok(())
}
