//! Events: the facts of the log. They are the one serialized contract of the engine, so
//! their JSON is pinned by tests and each type carries a version for upcasting.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::complaint::command::{
    Archiving, BaAcknowledgement, BeritaAcara, BreachAnnulment, Clarification, ClosingRecord,
    CommandId, Disposition, Feedback, FieldVisit, Forwarding, IdentityErasure, InformationReply,
    InformationRequest, ProgressReport, Reassignment, Registration, Rejection, Reopening,
    ResponseText, ReturnNote, ReviewResult, Withdrawal,
};
use crate::sla::{JudgedBy, Step, Verdict};

/// One fact about a complaint: when, who, under which command, and what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComplaintEvent {
    /// The caller's clock when the command was accepted.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub by: Actor,
    /// The command that produced it.
    pub command_id: CommandId,
    /// What happened.
    pub body: EventBody,
    /// The verdicts on the clock runs this event ended, fixed by the calendar and policy
    /// in force when it was decided (absent when it ended none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<Verdict>,
}

/// What happened, one variant per event type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type")]
pub enum EventBody {
    /// The complaint was registered from LAPOR!-SP4N.
    Received(Registration),
    /// It was disposed (or re-disposed) to an agency.
    Disposed(Disposition),
    /// The agency sent it back for re-disposition.
    Returned(ReturnNote),
    /// Its completeness was reviewed.
    Reviewed(ReviewResult),
    /// It will not be followed up (terminal).
    Rejected(Rejection),
    /// The complainant was asked for more (clocks pause).
    InformationRequested(InformationRequest),
    /// The complainant answered (clocks resume).
    InformationProvided(InformationReply),
    /// Step 2 concluded.
    Clarified(Clarification),
    /// A field visit was recorded.
    FieldVerified(FieldVisit),
    /// The BA was issued to the head of the agency.
    #[serde(rename = "BAIssued")]
    BaIssued(BeritaAcara),
    /// The complainant was answered.
    Responded(ResponseText),
    /// The complaint was closed (terminal).
    Closed(ClosingRecord),
    /// A step ran past its deadline.
    SlaBreached(SlaBreach),
    /// Archived at the door (terminal).
    Archived(Archiving),
    /// Withdrawn by the complainant (terminal).
    Withdrawn(Withdrawal),
    /// Forwarded outside the Pemkab (terminal).
    Forwarded(Forwarding),
    /// The complainant did not answer an information request within the window: the
    /// complaint counts as withdrawn (terminal). Recorded by the system.
    DeemedWithdrawn(WindowElapsed),
    /// The head of the agency acknowledged the BA.
    #[serde(rename = "BAAcknowledged")]
    BaAcknowledged(BaAcknowledgement),
    /// The liaison officer posted an interim follow-up.
    ProgressReported(ProgressReport),
    /// The complainant's feedback was recorded.
    FeedbackReceived(Feedback),
    /// The complaint went back to the liaison officer after a dissatisfied complainant.
    Reopened(Reopening),
    /// Another liaison officer of the agency took over.
    Reassigned(Reassignment),
    /// A recorded breach was annulled (it stays in history, marked annulled).
    BreachAnnulled(BreachAnnulment),
    /// The complaint came back from agencies for the third time: the coordinator
    /// decides its disposition. Recorded with that return.
    ReturnsEscalated(Escalation),
    /// The complainant's identity was erased (UU 27/2022): the key that sealed it is
    /// destroyed, the sealed bytes stay in the log unreadable. The workflow goes on.
    IdentityErased(IdentityErasure),
    /// The complaint came from LAPOR!-SP4N by import, not typed in by UPP: the events
    /// before it in the same command carry LAPOR!'s dates.
    Imported(ImportRecord),
}

/// What an import from LAPOR!-SP4N found there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImportRecord {
    /// The report's status in LAPOR! at the import.
    pub lapor_status: crate::complaint::LaporStatus,
    /// The LAPOR! channel it came through, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// When LAPOR! had disposed it, if it had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposed_at: Option<DateTime<Utc>>,
}

/// Returns of one complaint that reached the coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Escalation {
    /// How many times it has been returned.
    pub returns: u32,
}

/// A complainant's window that ran out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WindowElapsed {
    /// Which run of the information wait.
    pub occurrence: u32,
    /// When the window ended.
    pub due_at: DateTime<Utc>,
}

/// A recorded breach of one run of a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SlaBreach {
    /// The step.
    pub step: Step,
    /// Which run of it.
    pub occurrence: u32,
    /// The deadline that passed.
    pub due_at: DateTime<Utc>,
    /// The holiday table and policy that judged it (absent in breaches recorded before
    /// verdicts cited them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged_by: Option<JudgedBy>,
}

impl EventBody {
    /// The stable event type name stored in the log.
    pub fn event_type(&self) -> &'static str {
        match self {
            EventBody::Received(_) => "Received",
            EventBody::Disposed(_) => "Disposed",
            EventBody::Returned(_) => "Returned",
            EventBody::Reviewed(_) => "Reviewed",
            EventBody::Rejected(_) => "Rejected",
            EventBody::InformationRequested(_) => "InformationRequested",
            EventBody::InformationProvided(_) => "InformationProvided",
            EventBody::Clarified(_) => "Clarified",
            EventBody::FieldVerified(_) => "FieldVerified",
            EventBody::BaIssued(_) => "BAIssued",
            EventBody::Responded(_) => "Responded",
            EventBody::Closed(_) => "Closed",
            EventBody::SlaBreached(_) => "SlaBreached",
            EventBody::Archived(_) => "Archived",
            EventBody::Withdrawn(_) => "Withdrawn",
            EventBody::Forwarded(_) => "Forwarded",
            EventBody::DeemedWithdrawn(_) => "DeemedWithdrawn",
            EventBody::BaAcknowledged(_) => "BAAcknowledged",
            EventBody::ProgressReported(_) => "ProgressReported",
            EventBody::FeedbackReceived(_) => "FeedbackReceived",
            EventBody::Reopened(_) => "Reopened",
            EventBody::Reassigned(_) => "Reassigned",
            EventBody::BreachAnnulled(_) => "BreachAnnulled",
            EventBody::IdentityErased(_) => "IdentityErased",
            EventBody::ReturnsEscalated(_) => "ReturnsEscalated",
            EventBody::Imported(_) => "Imported",
        }
    }

    /// The current schema version of this event type. Bump it when the JSON changes
    /// and add an upcaster for the old version in the store.
    pub fn event_version(&self) -> &'static str {
        match self {
            // 2: the review records clarity beside completeness.
            EventBody::Reviewed(_) => "2",
            // 2: the response records its channel.
            EventBody::Responded(_) => "2",
            // 2: the closing records its reason.
            EventBody::Closed(_) => "2",
            // 2: the breach cites the holiday table and policy that judged it.
            EventBody::SlaBreached(_) => "2",
            // 2: the complainant's identity may be sealed (encrypted) in place of the
            // plain fields, which version 1 always had.
            EventBody::Received(_) => "2",
            _ => "1",
        }
    }
}

/// Every event type name, in SOP order.
pub const EVENT_TYPES: [&str; 26] = [
    "Received",
    "Disposed",
    "Returned",
    "Reviewed",
    "Rejected",
    "InformationRequested",
    "InformationProvided",
    "Clarified",
    "FieldVerified",
    "BAIssued",
    "Responded",
    "Closed",
    "SlaBreached",
    "Archived",
    "Withdrawn",
    "Forwarded",
    "DeemedWithdrawn",
    "BAAcknowledged",
    "ProgressReported",
    "FeedbackReceived",
    "Reopened",
    "Reassigned",
    "BreachAnnulled",
    "IdentityErased",
    "ReturnsEscalated",
    "Imported",
];

impl DomainEvent for ComplaintEvent {
    fn event_type(&self) -> String {
        self.body.event_type().to_owned()
    }

    fn event_version(&self) -> String {
        self.body.event_version().to_owned()
    }
}
