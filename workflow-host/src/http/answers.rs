//! The API's answers as types: each JSON route answers one of these, and the OpenAPI
//! document describes it from the same type. The store's rows are copied into twins
//! here rather than serialized as they are, so the HTTP contract changes only when
//! this file does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use workflow_core::complainant::Confidentiality;
use workflow_core::{AgencyCode, LaporStatus, Sequence, Status, Step, UserId};
use workflow_store::audit::{RawEvent, VerifyReport};
use workflow_store::views::{BoardEntry, BoardStatus, ComplaintSummary};

use crate::read_model::ComplaintState;

/// An error, as `application/problem+json` (RFC 9457).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:aduan:problem:<kind>`; for an SOP rule `urn:aduan:problem:rule:<rule>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, stable summary of the kind.
    pub title: String,
    /// The answer's status, repeated.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The rule that refused it (422; a 409 the complaint's state caused), e.g.
    /// `sop.step3.field_verification_needs_photo`, `pdp.identity_already_erased`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The request's id (also in the `X-Request-Id` header): name it when reporting the
    /// answer, the server's log lines about it carry it too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The answer to every accepted command (the same again for a retried key).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CommandAnswer {
    /// The complaint.
    pub complaint_id: String,
    /// The command id (the `Idempotency-Key`, or one the host chose).
    pub command_id: String,
    /// The sequence of the event recorded.
    #[schema(value_type = u64)]
    pub sequence: Sequence,
    /// The event recorded.
    pub event_type: String,
    /// The complaint's state after it.
    pub status: String,
}

/// The answer to an upload.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EvidenceAnswer {
    /// Lower-case hex SHA-256: name it in field verifications.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type read from the bytes.
    pub media_type: String,
    /// Kept sealed with the complaint's key (uploaded with `personal=true`).
    pub personal: bool,
}

/// The raw bytes of an upload.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Upload(pub Vec<u8>);

/// One complaint in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SummaryAnswer {
    /// The complaint id.
    pub complaint_id: String,
    /// LAPOR!-SP4N tracking number.
    pub lapor_id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Current state.
    #[schema(value_type = String)]
    pub status: Status,
    /// The status LAPOR!-SP4N shows for it.
    #[schema(value_type = String)]
    pub lapor_status: LaporStatus,
    /// Agency holding it.
    #[schema(value_type = Option<String>)]
    pub agency: Option<AgencyCode>,
    /// Its liaison officer.
    #[schema(value_type = Option<String>)]
    pub liaison_officer: Option<UserId>,
    /// Confidentiality level: `public`, `anonymous` or `confidential`.
    #[schema(value_type = String)]
    pub confidentiality: Confidentiality,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The last sequence included.
    #[schema(value_type = u64)]
    pub sequence: Sequence,
}

impl From<ComplaintSummary> for SummaryAnswer {
    fn from(s: ComplaintSummary) -> Self {
        Self {
            complaint_id: s.complaint_id.to_string(),
            lapor_id: s.lapor_id,
            title: s.title,
            category: s.category,
            status: s.status,
            lapor_status: s.lapor_status,
            agency: s.agency,
            liaison_officer: s.liaison_officer,
            confidentiality: s.confidentiality,
            registered_at: s.registered_at,
            updated_at: s.updated_at,
            sequence: s.sequence,
        }
    }
}

/// A page of complaints, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ComplaintPage {
    /// The complaints.
    pub items: Vec<SummaryAnswer>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next: Option<String>,
}

/// A complaint in detail: the list's fields, its state and its SLA clocks now.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DetailAnswer {
    /// The complaint.
    pub complaint_id: String,
    /// The list's fields (`null` while the views have not caught up with it).
    pub summary: Option<SummaryAnswer>,
    /// Its state.
    #[serde(flatten)]
    pub state: ComplaintState,
    /// Its SLA clocks now.
    #[schema(value_type = Vec<Object>)]
    pub sla: Vec<workflow_core::sla::StepAssessment>,
}

/// One running duty on the SLA board.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BoardEntryAnswer {
    /// The complaint.
    pub complaint_id: String,
    /// The step.
    #[schema(value_type = String)]
    pub step: Step,
    /// Which run of it.
    pub occurrence: i64,
    /// The agency holding the complaint.
    #[schema(value_type = Option<String>)]
    pub agency: Option<AgencyCode>,
    /// When the clock started.
    pub started_at: DateTime<Utc>,
    /// The deadline (none while paused).
    pub due_at: Option<DateTime<Utc>>,
    /// `breached`, `at_risk`, `on_track` or `paused`.
    #[schema(value_type = String)]
    pub status: BoardStatus,
    /// Whether the breach is on record.
    pub breach_recorded: bool,
}

impl From<BoardEntry> for BoardEntryAnswer {
    fn from(e: BoardEntry) -> Self {
        Self {
            complaint_id: e.complaint_id.to_string(),
            step: e.step,
            occurrence: e.occurrence,
            agency: e.agency,
            started_at: e.started_at,
            due_at: e.due_at,
            status: e.status,
            breach_recorded: e.breach_recorded,
        }
    }
}

/// A page of the SLA board, most urgent first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BoardPage {
    /// The instant the statuses are judged at.
    pub as_of: DateTime<Utc>,
    /// The duties.
    pub entries: Vec<BoardEntryAnswer>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next: Option<String>,
}

/// One stored event exactly as the log holds it, with its hashes in the metadata: the
/// store's [`workflow_store::audit::RawEvent`] as the API answers it (a twin on
/// purpose: the answer owns its JSON shape and its OpenAPI schema).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StoredEvent {
    /// The complaint.
    pub complaint_id: String,
    /// Its sequence.
    pub sequence: i64,
    /// Its place in the global order.
    pub position: i64,
    /// When the database recorded it.
    pub recorded_at: String,
    /// Stored event type.
    pub event_type: String,
    /// Stored event version.
    pub event_version: String,
    /// The stored payload (`{"unreadable": why}` if it is not JSON).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// The stored metadata, with `prev_hash` and `hash` (`{"unreadable": why}` if it is
    /// not JSON).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
}

impl From<RawEvent> for StoredEvent {
    fn from(e: RawEvent) -> Self {
        let stored = |v: Result<serde_json::Value, String>| {
            v.unwrap_or_else(|reason| serde_json::json!({ "unreadable": reason }))
        };
        Self {
            complaint_id: e.complaint_id,
            sequence: e.sequence,
            position: e.position,
            recorded_at: e.recorded_at,
            event_type: e.event_type,
            event_version: e.event_version,
            payload: stored(e.payload),
            metadata: stored(e.metadata),
        }
    }
}

/// A complaint's stored events.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EventsAnswer {
    /// The complaint.
    pub complaint_id: String,
    /// Its events in sequence order.
    pub events: Vec<StoredEvent>,
}

/// One read of a hidden identity.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct IdentityReadAnswer {
    /// When.
    pub read_at: String,
    /// Who.
    pub user: String,
    /// In which role.
    pub role: String,
    /// Through which route.
    pub via: String,
}

/// Who read a complaint's hidden identity.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct IdentityReadsAnswer {
    /// The complaint.
    pub complaint_id: String,
    /// The reads, oldest first.
    pub reads: Vec<IdentityReadAnswer>,
}

/// The result of walking the whole log.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VerifyAnswer {
    /// Whether every hash and link checked.
    pub ok: bool,
    /// Events and complaints walked and the failures found.
    #[schema(value_type = Object)]
    pub report: VerifyReport,
}
