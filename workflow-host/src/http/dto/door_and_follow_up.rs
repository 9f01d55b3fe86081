//! Request bodies of the door (archive, withdraw, forward) and of what follows the BA
//! (acknowledgement, progress, feedback, reopening, reassignment, annulling a breach).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use workflow_core::complaint::command::{
    ArchiveReason, Archiving, BreachAnnulment, ComplaintCommand, Feedback, Forwarding,
    ProgressReport, Reassignment, Reopening, Withdrawal,
};
use workflow_core::{Step, UserId};

use super::IntoCommand;

/// Why a complaint is archived at the door.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveReasonDto {
    /// Not about a public service.
    NotPublicService,
    /// Not under the Pemkab's authority.
    OutOfAuthority,
    /// Spam.
    Spam,
    /// Not a complaint.
    NotAComplaint,
    /// The same matter as the complaint named in `duplicate_of`.
    Duplicate,
}

/// `POST /complaints/{id}/archive`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveRequest {
    /// Why.
    pub reason: ArchiveReasonDto,
    /// The existing complaint this one duplicates (required for `duplicate`, refused
    /// otherwise).
    #[serde(default)]
    pub duplicate_of: Option<String>,
    /// Remarks.
    #[serde(default)]
    pub note: Option<String>,
}

impl IntoCommand for ArchiveRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Archive(Archiving {
            reason: match self.reason {
                ArchiveReasonDto::NotPublicService => ArchiveReason::NotPublicService,
                ArchiveReasonDto::OutOfAuthority => ArchiveReason::OutOfAuthority,
                ArchiveReasonDto::Spam => ArchiveReason::Spam,
                ArchiveReasonDto::NotAComplaint => ArchiveReason::NotAComplaint,
                ArchiveReasonDto::Duplicate => ArchiveReason::Duplicate,
            },
            duplicate_of: self.duplicate_of,
            note: self.note,
        })
    }
}

/// `POST /complaints/{id}/acknowledge-ba`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeBaRequest {
    /// Remarks (instructions to the unit, say).
    #[serde(default)]
    pub note: Option<String>,
}

impl IntoCommand for AcknowledgeBaRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::AcknowledgeBa(workflow_core::complaint::command::BaAcknowledgement {
            note: self.note,
        })
    }
}

/// `POST /complaints/{id}/withdraw`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    /// How the withdrawal reached the unit, and why if said.
    pub note: String,
}

impl IntoCommand for WithdrawRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Withdraw(Withdrawal { note: self.note })
    }
}

/// `POST /complaints/{id}/forward`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    /// The institution outside the Pemkab it goes to.
    pub institution: String,
    /// Why it is theirs.
    pub reason: String,
}

impl IntoCommand for ForwardRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Forward(Forwarding {
            institution: self.institution,
            reason: self.reason,
        })
    }
}

/// `POST /complaints/{id}/progress`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressRequest {
    /// What has been done so far, as the complainant will read it.
    pub text: String,
}

/// `POST /complaints/{id}/feedback`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// Whether the complainant is satisfied with the response.
    pub satisfied: bool,
    /// What they said (required when not satisfied).
    #[serde(default)]
    pub text: String,
}

/// `POST /complaints/{id}/reopen`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    /// What the complainant is not satisfied with.
    pub reason: String,
}

/// `POST /complaints/{id}/reassign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    /// The liaison officer of the same agency who takes over.
    pub liaison_officer: String,
    /// Why.
    pub reason: String,
}

/// `POST /complaints/{id}/annul-breach`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnulBreachRequest {
    /// The step whose breach is annulled (`disposition`, `review`, `field_verification`,
    /// `response`, `overall`, `follow_up`).
    #[schema(value_type = String)]
    pub step: Step,
    /// Which run of it (from 1).
    pub occurrence: u32,
    /// Why the breach does not count.
    pub reason: String,
}

impl IntoCommand for ProgressRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::ReportProgress(ProgressReport { text: self.text })
    }
}

impl IntoCommand for FeedbackRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::RecordFeedback(Feedback {
            satisfied: self.satisfied,
            text: self.text,
        })
    }
}

impl IntoCommand for ReopenRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Reopen(Reopening {
            reason: self.reason,
        })
    }
}

impl IntoCommand for ReassignRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Reassign(Reassignment {
            liaison_officer: UserId(self.liaison_officer),
            reason: self.reason,
        })
    }
}

impl IntoCommand for AnnulBreachRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::AnnulBreach(BreachAnnulment {
            step: self.step,
            occurrence: self.occurrence,
            reason: self.reason,
        })
    }
}
