//! Evidence a command cites, named by SHA-256: resolved against the blob store, and
//! refused unless the citer may cite it. A blob is the uploader's until a command cites
//! it; from then on whoever may read the citing complaint may download it, so citing
//! another's upload would hand it out.

use std::sync::Mutex;

use serde::Deserialize;
use utoipa::ToSchema;
use workflow_core::evidence::EvidenceRef;
use workflow_core::{Actor, CommandEnvelope, ComplaintCommand, ComplaintId, RefusalKind, Role};
use workflow_store::access::EvidenceUpload;

use super::super::error::ApiError;
use super::super::AppState;

/// A stored upload used as evidence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceUse {
    /// The SHA-256 `POST /evidence` returned.
    pub sha256: String,
    /// What it shows.
    pub caption: String,
}

/// Who cites evidence, in which complaint; and the uploads they may not cite.
pub struct Citing<'a> {
    state: &'a AppState,
    caller: &'a Actor,
    complaint: &'a ComplaintId,
    refused: Mutex<Vec<(String, &'static str)>>,
}

impl<'a> Citing<'a> {
    /// `caller` sending a command about `complaint`.
    pub fn new(state: &'a AppState, caller: &'a Actor, complaint: &'a ComplaintId) -> Self {
        Self {
            state,
            caller,
            complaint,
            refused: Mutex::new(Vec::new()),
        }
    }

    /// The command, unless it cites an upload its sender may not cite. A sender the
    /// domain refuses anyway (their role, their agency) is told that instead: who may
    /// send a command is answered before what it may carry.
    pub async fn check(self, command: ComplaintCommand) -> Result<ComplaintCommand, ApiError> {
        let refused = self
            .refused
            .into_inner()
            .map_err(|_| ApiError::Internal("a citation check panicked".into()))?;
        let Some((sha256, why)) = refused.into_iter().next() else {
            return Ok(command);
        };
        let engine = self.state.store.engine();
        let complaint = engine.load(self.complaint).await?;
        let probe = CommandEnvelope::new(
            "citation-check",
            self.caller.clone(),
            self.state.now_for(&complaint),
            command,
        );
        if let Err(e) = complaint.decide(&probe, &engine.services()) {
            if matches!(e.kind(), RefusalKind::Forbidden | RefusalKind::NotFound) {
                return Err(e.into());
            }
        }
        Err(ApiError::Rule {
            rule: "evidence.not_yours_to_cite".into(),
            detail: format!("evidence {sha256} may not be cited here: {why}"),
        })
    }
}

/// Which uploads a command may cite.
#[derive(Clone, Copy, Debug)]
pub(super) enum CiteRule {
    /// UPP's commands (the registration, the complainant's reply): uploads by UPP.
    UploadedByUpp,
    /// A field visit: uploads for this complaint, or by a user of the citer's agency.
    ForComplaintOrAgency,
}

impl CiteRule {
    fn admits(self, upload: &EvidenceUpload, citing: &Citing<'_>) -> bool {
        match self {
            CiteRule::UploadedByUpp => upload.uploader.role == Role::Upp,
            CiteRule::ForComplaintOrAgency => {
                upload.complaint_id.as_ref() == Some(citing.complaint)
                    || (citing.caller.agency.is_some()
                        && upload.uploader.agency == citing.caller.agency)
            }
        }
    }

    fn explain(self) -> &'static str {
        match self {
            CiteRule::UploadedByUpp => "only uploads by UPP",
            CiteRule::ForComplaintOrAgency => "only uploads for this complaint or by your agency",
        }
    }
}

/// Resolves evidence named by SHA-256 against the blob store (file reads, off the async
/// threads), and notes each that may not be cited under `rule` for [`Citing::check`].
pub(super) async fn resolve_uploads(
    citing: &Citing<'_>,
    rule: CiteRule,
    uses: Vec<EvidenceUse>,
) -> Result<Vec<EvidenceRef>, ApiError> {
    if uses.is_empty() {
        return Ok(Vec::new());
    }
    let mut refs = Vec::with_capacity(uses.len());
    for u in uses {
        let uploads = citing.state.store.evidence_uploads(&u.sha256).await?;
        // A copy sealed for this complaint, if one was uploaded as personal for it.
        let sealed_here = uploads
            .iter()
            .any(|up| up.personal && up.complaint_id.as_ref() == Some(citing.complaint));
        let evidence = citing.state.evidence.clone();
        let (sha256, complaint) = (u.sha256.clone(), citing.complaint.clone());
        let blob = tokio::task::spawn_blocking(move || match evidence.stat(&sha256)? {
            Some(blob) => Ok(Some(blob)),
            None if sealed_here => evidence.stat_sealed(&complaint, &sha256),
            None => Ok(None),
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
        let Some(blob) = blob else {
            if uploads.iter().any(|up| up.personal) {
                note_refusal(
                    citing,
                    &u.sha256,
                    "it was uploaded as personal data of another complaint",
                )?;
                refs.push(EvidenceRef {
                    sha256: u.sha256,
                    media_type: "application/octet-stream".into(),
                    size: 0,
                    caption: u.caption,
                });
                continue;
            }
            return Err(ApiError::Rule {
                rule: "evidence.unknown".into(),
                detail: format!("no evidence {} has been uploaded", u.sha256),
            });
        };
        // A personal upload admits only its own complaint's citation.
        let admitted = uploads.iter().any(|up| {
            rule.admits(up, citing)
                && (!up.personal || up.complaint_id.as_ref() == Some(citing.complaint))
        });
        if !admitted {
            note_refusal(citing, &blob.sha256, rule.explain())?;
        }
        refs.push(EvidenceRef {
            sha256: blob.sha256,
            media_type: blob.media_type.to_owned(),
            size: blob.size,
            caption: u.caption,
        });
    }
    Ok(refs)
}

/// Notes that `sha256` may not be cited, and why, for [`Citing::check`].
fn note_refusal(citing: &Citing<'_>, sha256: &str, why: &'static str) -> Result<(), ApiError> {
    citing
        .refused
        .lock()
        .map_err(|_| ApiError::Internal("a citation check panicked".into()))?
        .push((sha256.to_owned(), why));
    Ok(())
}
