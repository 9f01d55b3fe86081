//! `aduan import lapor` and `aduan export lapor`: the files, the progress and the
//! summary on the terminal.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::json;
use workflow_core::{Actor, Role, TimeZoneSpec};
use workflow_store::lapor::{ExportBatch, FollowUp};
use workflow_store::Store;

use super::{read_reports, write_follow_ups, Attachments, ExportFormat, Format, ImportSummary};
use crate::evidence::EvidenceStore;

/// Attachments are files in one folder (the reports file's); a name that would leave it
/// is no such file.
struct Folder(PathBuf);

impl Attachments for Folder {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        let plain = Path::new(name)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain {
            return Ok(None);
        }
        match std::fs::read(self.0.join(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The user an operator's verb acts as: a valid user name, in UPP's role.
fn upp(user: &str) -> anyhow::Result<Actor> {
    if !workflow_core::actor::is_valid_user_name(user) {
        anyhow::bail!("`{user}` is not a user name (letters, digits, `.`, `-`, `_`; no `:`)");
    }
    Ok(Actor::new(user, Role::Upp))
}

/// Imports `file`; an error (exit status 1) after the summary when a line was refused.
pub async fn import(
    store: &Store,
    file: &Path,
    format: Option<Format>,
    user: &str,
    evidence: EvidenceStore,
    json_out: bool,
) -> anyhow::Result<()> {
    let actor = upp(user)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let format = format.unwrap_or_else(|| Format::of_name(&file.to_string_lossy()));
    let zone = store.engine().services().policy.time_zone.clone();
    let reports = read_reports(&text, format, &zone);
    if reports.len() > super::report::MAX_REPORTS {
        anyhow::bail!(
            "{} holds {} reports: an import takes at most {}; split the file (nothing was imported)",
            file.display(),
            reports.len(),
            super::report::MAX_REPORTS
        );
    }
    let folder = Folder(
        file.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    );
    let mut progress = crate::progress::Progress::new("import lapor", "reports");
    let summary = super::import(
        store,
        &evidence,
        &actor,
        Utc::now(),
        reports,
        &folder,
        |done, total| progress.update(done as u64, total as u64),
    )
    .await?;
    progress.finish();
    print_summary(&summary, json_out)?;
    match summary.refused.len() {
        0 => Ok(()),
        n => anyhow::bail!(
            "{n} line(s) of {} refused (listed above); the others are registered",
            file.display()
        ),
    }
}

fn print_summary(summary: &ImportSummary, json_out: bool) -> anyhow::Result<()> {
    if json_out {
        crate::outln!("{}", serde_json::to_string_pretty(summary)?);
        return Ok(());
    }
    for r in &summary.refused {
        match &r.field {
            Some(field) => crate::outln!("line {}: refused ({field}): {}", r.line, r.reason),
            None => crate::outln!("line {}: refused: {}", r.line, r.reason),
        }
    }
    let mut line = summary.line();
    if summary.imported.is_empty() && !summary.already_present.is_empty() {
        line.push_str(": nothing new, every report was already registered");
    }
    crate::outln!("{line}");
    Ok(())
}

/// `--since`: a local date (midnight in `zone`) or an RFC 3339 instant.
fn since(text: &str, zone: &TimeZoneSpec) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| {
        format!("--since `{text}` is not a date (2026-11-01) or an RFC 3339 instant")
    })?;
    zone.offset()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .map(|at| at.with_timezone(&Utc))
        .context("--since: no such local instant")
}

/// What `aduan export lapor` is asked for.
pub struct ExportRequest<'a> {
    /// Only follow-ups recorded from this date (`--since`).
    pub since: Option<&'a str>,
    /// Write an earlier batch again instead of making a new one (`--batch`).
    pub batch: Option<i64>,
    /// Where to (default standard output).
    pub out: Option<&'a Path>,
    /// csv or jsonl.
    pub format: ExportFormat,
    /// Who makes the batch (recorded).
    pub user: &'a str,
}

/// Makes the next batch (or reads batch N again) and writes it.
pub async fn export(
    store: &Store,
    request: ExportRequest<'_>,
    json_out: bool,
) -> anyhow::Result<()> {
    let zone = store.engine().services().policy.time_zone.clone();
    // The file is made before the batch is: a folder that is not there refuses the
    // export, not the writing of a batch already recorded.
    let mut file = match request.out {
        Some(path) => Some(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => None,
    };
    let made: Option<(ExportBatch, Vec<FollowUp>)> = match request.batch {
        Some(n) => Some(
            store
                .lapor_export(n)
                .await?
                .with_context(|| format!("there is no batch {n}"))?,
        ),
        None => {
            upp(request.user)?;
            let since = request.since.map(|s| since(s, &zone)).transpose()?;
            if since.is_some_and(|since| since > Utc::now()) {
                anyhow::bail!(
                    "--since lies in the future: every follow-up of the batch would be left out for good; nothing was done"
                );
            }
            store
                .new_lapor_export(since, request.user, Utc::now())
                .await?
        }
    };
    let Some((batch, follow_ups)) = made else {
        // Nothing new since the last batch: a file with the header alone, no batch.
        write_to(file.as_mut(), |w| {
            write_follow_ups(&[], request.format, &zone, w)
        })?;
        report(None, 0, json_out);
        return Ok(());
    };
    write_to(file.as_mut(), |w| {
        write_follow_ups(&follow_ups, request.format, &zone, w)
    })
    .with_context(|| {
        format!(
            "batch {} was recorded but not written out; write it again with `aduan export lapor --batch {}`",
            batch.number, batch.number
        )
    })?;
    report(Some(&batch), follow_ups.len(), json_out);
    Ok(())
}

fn write_to(
    file: Option<&mut std::fs::File>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    match file {
        Some(file) => {
            write(file)?;
            file.sync_all()?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            write(&mut lock)?;
        }
    }
    Ok(())
}

/// The batch and its count, on standard error (the rows may be on standard output).
fn report(batch: Option<&ExportBatch>, rows: usize, json_out: bool) {
    let line = match batch {
        Some(b) => {
            if json_out {
                json!({"batch": b.number, "follow_ups": rows, "after_position": b.after.get(), "through_position": b.through.get()})
                    .to_string()
            } else {
                format!(
                    "batch {}: {rows} follow-up(s), log positions {} to {}",
                    b.number,
                    b.after.get() + 1,
                    b.through.get()
                )
            }
        }
        None if json_out => json!({"batch": null, "follow_ups": 0}).to_string(),
        None => "nothing recorded since the last batch: no batch made".into(),
    };
    eprintln!("{line}");
}
