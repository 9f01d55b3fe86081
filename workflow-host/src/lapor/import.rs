//! Reports registered by import: one `Import` command each, the tracking number the
//! complaint's id, the disposition LAPOR! made resolved against the registry and the
//! console's people, attachments stored as evidence first.

use chrono::{DateTime, Utc};
use serde::Serialize;
use workflow_core::complainant::Complainant;
use workflow_core::complaint::command::{
    Disposition, ImportedDisposition, LaporImport, Registration,
};
use workflow_core::evidence::EvidenceRef;
use workflow_core::{
    Actor, AgencyCode, CommandEnvelope, Complaint, ComplaintCommand, ComplaintId, DomainError,
    LaporStatus, Role, Status, UserId,
};
use workflow_store::{Store, StoreError};

use super::report::{LineRefusal, Report};
use crate::evidence::EvidenceStore;

/// Where an import finds the files its reports name: `Ok(None)` when there is no such
/// file, `Err` when it cannot be read.
pub trait Attachments: Sync {
    /// The bytes of the file named `name`.
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String>;
}

/// What became of one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineOutcome {
    /// The line's number in the file.
    pub line: usize,
    /// The complaint (its id is the tracking number).
    pub complaint_id: String,
}

/// What an import did, line by line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// Registered now.
    pub imported: Vec<LineOutcome>,
    /// Registered before (by an earlier import, or typed in): nothing was done.
    pub already_present: Vec<LineOutcome>,
    /// Not imported, with the line, the field at fault and why.
    pub refused: Vec<LineRefusal>,
}

impl ImportSummary {
    /// One line for people: `3 imported, 1 already present, 2 refused`.
    pub fn line(&self) -> String {
        format!(
            "{} imported, {} already present, {} refused",
            self.imported.len(),
            self.already_present.len(),
            self.refused.len()
        )
    }
}

/// The unit's review an imported report carries when the file gives none.
fn default_review(status: LaporStatus) -> String {
    format!(
        "Diimpor dari LAPOR!-SP4N (status di LAPOR!: {}).",
        status.as_str()
    )
}

/// Imports every line, in order, as `actor` at `now`; `progress(done, total)` after
/// each. A refused line is recorded in the summary and the next one goes on; only the
/// store failing (a full disk, a lost database) stops the import, and what it had
/// registered stays registered: running it again finds those already present.
pub async fn import(
    store: &Store,
    evidence: &EvidenceStore,
    actor: &Actor,
    now: DateTime<Utc>,
    lines: Vec<Result<Report, LineRefusal>>,
    attachments: &dyn Attachments,
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportSummary, StoreError> {
    let mut summary = ImportSummary::default();
    let total = lines.len();
    let batch = format!("lapor-import:{}", now.format("%Y%m%dT%H%M%S%.3fZ"));
    let agencies = store.agencies().await?;
    let people = store.people().await?;
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (done, line) in lines.into_iter().enumerate() {
        match line {
            Err(refusal) => summary.refused.push(refusal),
            Ok(report) => {
                let line = report.line;
                // The same report twice in one file: which line would win is a guess.
                if let Some(first) = seen.get(&report.tracking_id) {
                    summary.refused.push(LineRefusal::field(
                        line,
                        "tracking_id",
                        format!("the same tracking number as line {first}"),
                    ));
                    progress(done + 1, total);
                    continue;
                }
                seen.insert(report.tracking_id.clone(), line);
                match one(
                    store,
                    evidence,
                    actor,
                    now,
                    &batch,
                    report,
                    &agencies,
                    &people,
                    attachments,
                )
                .await?
                {
                    Ok((id, true)) => summary.imported.push(LineOutcome {
                        line,
                        complaint_id: id,
                    }),
                    Ok((id, false)) => summary.already_present.push(LineOutcome {
                        line,
                        complaint_id: id,
                    }),
                    Err(refusal) => summary.refused.push(refusal),
                }
            }
        }
        progress(done + 1, total);
    }
    Ok(summary)
}

/// One report: `Ok(Ok((id, true)))` registered now, `Ok(Ok((id, false)))` present
/// before, `Ok(Err(_))` refused; `Err` the store failing.
#[allow(clippy::too_many_arguments)]
async fn one(
    store: &Store,
    evidence: &EvidenceStore,
    actor: &Actor,
    now: DateTime<Utc>,
    batch: &str,
    report: Report,
    agencies: &[workflow_store::agency::Agency],
    people: &[workflow_store::people::Person],
    attachments: &dyn Attachments,
) -> Result<Result<(String, bool), LineRefusal>, StoreError> {
    let line = report.line;
    let refuse = |field: &str, reason: String| Ok(Err(LineRefusal::field(line, field, reason)));
    let id = match ComplaintId::new(&report.tracking_id) {
        Ok(id) => id,
        Err(e) => return refuse("tracking_id", format!("not usable as a complaint id: {e}")),
    };
    if store.engine().load(&id).await?.status() != Status::New {
        return Ok(Ok((id.to_string(), false)));
    }
    let disposed = match report.status {
        LaporStatus::Disposed | LaporStatus::InFollowUp => {
            let Some(at) = report.disposed_at else {
                return refuse(
                    "disposed_at",
                    format!(
                        "required: LAPOR! holds the report as {}",
                        report.status.as_str()
                    ),
                );
            };
            let Some(institution) = report.institution.as_deref() else {
                return refuse(
                    "institution",
                    "required: the agency LAPOR! disposed the report to".into(),
                );
            };
            let Some(agency) = agencies.iter().find(|a| {
                a.code.0.eq_ignore_ascii_case(institution)
                    || a.details.name.eq_ignore_ascii_case(institution)
            }) else {
                return refuse(
                    "institution",
                    format!("`{institution}` is no agency's code or name in the registry (aduan agency list)"),
                );
            };
            if agency.retired_at.is_some() {
                return refuse(
                    "institution",
                    format!("agency {} is retired from the registry", agency.code),
                );
            }
            let liaison = match &report.liaison_officer {
                Some(user) => match named_liaison(people, &agency.code, user) {
                    Ok(user) => user,
                    Err(why) => return refuse("liaison_officer", why),
                },
                None => match liaison_of(people, &agency.code) {
                    Ok(user) => user,
                    Err(why) => return refuse("liaison_officer", why),
                },
            };
            Some(ImportedDisposition {
                disposition: Disposition {
                    agency: agency.code.clone(),
                    liaison_officer: liaison,
                    sub_unit: None,
                    note: Some("Disposisi dari LAPOR!-SP4N".into()),
                },
                at,
            })
        }
        _ => None,
    };
    // The files checked, not yet stored: a report the engine refuses leaves nothing.
    let mut files = Vec::with_capacity(report.attachments.len());
    let mut refs = Vec::with_capacity(report.attachments.len());
    for name in &report.attachments {
        let bytes = match attachments.get(name) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return refuse(
                    "attachments",
                    format!("no file `{name}` came with the reports"),
                )
            }
            Err(e) => return refuse("attachments", format!("`{name}` cannot be read: {e}")),
        };
        let blob = match evidence.check(&bytes, None) {
            Ok(blob) => blob,
            Err(e) => return refuse("attachments", format!("`{name}`: {e}")),
        };
        refs.push(EvidenceRef {
            sha256: blob.sha256,
            media_type: blob.media_type.to_owned(),
            size: blob.size,
            caption: name.clone(),
        });
        files.push(bytes);
    }
    let status = report.status;
    let import = LaporImport {
        registration: Registration {
            lapor_id: report.tracking_id.clone(),
            title: report.title,
            description: report.content,
            category: report.category,
            location: report.location,
            reported_at: report.reported_at,
            complainant: Complainant::plain(report.reporter, report.confidentiality),
            upp_review: report.upp_review.unwrap_or_else(|| default_review(status)),
            attachments: refs,
        },
        channel: report.channel,
        lapor_status: status,
        disposed,
    };
    let command = ComplaintCommand::Import(import);
    // What the engine would answer, asked of the pure domain before any file is kept.
    let probe = CommandEnvelope::new("lapor-import-probe", actor.clone(), now, command.clone());
    if let Err(e) = Complaint::default().decide(&probe, &store.engine().services()) {
        return Ok(Err(refused_by(line, &e)));
    }
    for bytes in files {
        let evidence = evidence.clone();
        // The blob store reads and writes files: off the async threads.
        let blob = match tokio::task::spawn_blocking(move || evidence.put(&bytes, None)).await {
            Ok(Ok(blob)) => blob,
            Ok(Err(e)) => return refuse("attachments", e.to_string()),
            Err(e) => return refuse("attachments", format!("storing it failed: {e}")),
        };
        store
            .record_upload(actor, &blob.sha256, Some(&id), false, now)
            .await?;
    }
    let envelope = CommandEnvelope::new(
        format!("{}:lapor-import-{}", actor.user, report.tracking_id),
        actor.clone(),
        now,
        command,
    );
    match store
        .engine()
        .execute_by_clock(&id, envelope, Some(batch))
        .await
    {
        Ok(_) => Ok(Ok((id.to_string(), true))),
        // Another import (or a person) registered it meanwhile.
        Err(StoreError::Domain(workflow_core::DomainError::AlreadyRegistered)) => {
            Ok(Ok((id.to_string(), false)))
        }
        Err(StoreError::Domain(e)) => Ok(Err(refused_by(line, &e))),
        Err(other) => Err(other),
    }
}

/// A line refused by the engine's rule, with the field the rule concerns.
fn refused_by(line: usize, e: &DomainError) -> LineRefusal {
    LineRefusal {
        line,
        field: match e {
            DomainError::MissingField { field } => Some((*field).to_owned()),
            DomainError::ImportDispositionDate { .. } => Some("disposed_at".into()),
            DomainError::ImportOfSettledReport { .. } => Some("status".into()),
            DomainError::ReportedAfterRegistration { .. }
            | DomainError::ReportedAtImplausible { .. } => Some("reported_at".into()),
            _ => None,
        },
        reason: e.to_string(),
        rule: Some(e.rule().to_owned()),
    }
}

/// The liaison officer a line names: a user name, and when the console knows that
/// person, an active liaison officer of `agency`.
fn named_liaison(
    people: &[workflow_store::people::Person],
    agency: &AgencyCode,
    user: &str,
) -> Result<UserId, String> {
    if !workflow_core::actor::is_valid_user_name(user) {
        return Err("not a user name (letters, digits, `.`, `-`, `_`)".into());
    }
    match people.iter().find(|p| p.actor.user.0 == user) {
        Some(p) if p.actor.role != Role::Liaison || p.actor.agency.as_ref() != Some(agency) => {
            Err(format!("{user} is not a liaison officer of {agency}"))
        }
        Some(p) if p.disabled_at.is_some() => Err(format!("{user} is disabled")),
        _ => Ok(UserId(user.to_owned())),
    }
}

/// The one liaison officer of `agency` among the console's people who is not disabled.
fn liaison_of(
    people: &[workflow_store::people::Person],
    agency: &AgencyCode,
) -> Result<UserId, String> {
    let found: Vec<&UserId> = people
        .iter()
        .filter(|p| {
            p.actor.role == Role::Liaison
                && p.actor.agency.as_ref() == Some(agency)
                && p.disabled_at.is_none()
        })
        .map(|p| &p.actor.user)
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "agency {agency} has no liaison officer among the console's people (aduan user add NAME --role liaison --agency {agency}); name one in this field"
        )),
        _ => Err(format!(
            "agency {agency} has {} liaison officers; name the one in this field",
            found.len()
        )),
    }
}
