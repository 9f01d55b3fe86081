//! Typed answers that the HTTP API and the `--json` output share, so both spell every
//! field the same: a complaint's state as readers see it, and its history as of an
//! instant.
//!
//! The aggregate (`workflow_core::Complaint`) is the domain's working state and
//! includes what only deciding needs (the command ids it has seen, the clocks' raw
//! timeline); [`ComplaintState`] is what is shown of it. The parts that are the
//! domain's own records (a registration, a BA, an SLA assessment, an event) are shown
//! as the domain serializes them, and the OpenAPI document describes them as objects.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use workflow_core::complaint::command::{
    BeritaAcara, Clarification, Disposition, Feedback, FieldVisit, Registration, ReviewResult,
};
use workflow_core::sla::StepAssessment;
use workflow_core::{Complaint, ComplaintEvent, LaporStatus, Status};
use workflow_store::audit::History;

/// A complaint's state as its readers see it: what was recorded at each step, without
/// the aggregate's bookkeeping.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ComplaintState {
    /// The state (`received`, `disposed`, …, `closed`).
    #[schema(value_type = String)]
    pub status: Status,
    /// The status LAPOR!-SP4N shows for it.
    #[schema(value_type = String)]
    pub lapor_status: LaporStatus,
    /// What UPP registered, with the complainant (hidden per role over HTTP).
    #[schema(value_type = Option<Object>)]
    pub registration: Option<Registration>,
    /// The agency and liaison officer it is disposed to.
    #[schema(value_type = Option<Object>)]
    pub disposition: Option<Disposition>,
    /// How many times it was disposed.
    pub dispositions: u32,
    /// The last step-2 review.
    #[schema(value_type = Option<Object>)]
    pub review: Option<ReviewResult>,
    /// Step 2's conclusion.
    #[schema(value_type = Option<Object>)]
    pub clarification: Option<Clarification>,
    /// Field visits of step 3, with their evidence.
    #[schema(value_type = Vec<Object>)]
    pub field_visits: Vec<FieldVisit>,
    /// The Berita Acara.
    #[schema(value_type = Option<Object>)]
    pub ba: Option<BeritaAcara>,
    /// Whether the head of the agency acknowledged the BA.
    pub ba_acknowledged: bool,
    /// The response to the complainant.
    pub response: Option<String>,
    /// The complainant's feedback.
    #[schema(value_type = Option<Object>)]
    pub feedback: Option<Feedback>,
    /// Returns by agencies as not their matter.
    pub returns: u32,
    /// Whether returns escalated it to the coordinator.
    pub escalated: bool,
    /// Whether the coordinator decided on it.
    pub coordinator_decided: bool,
    /// Progress updates recorded.
    pub progress_reports: u32,
    /// Times it was reopened.
    pub reopenings: u32,
    /// Events it was rebuilt from.
    pub events_applied: u64,
}

impl From<&Complaint> for ComplaintState {
    fn from(c: &Complaint) -> Self {
        Self {
            status: c.status(),
            lapor_status: c.status().lapor_status(),
            registration: c.registration().cloned(),
            disposition: c.disposition().cloned(),
            dispositions: c.dispositions(),
            review: c.last_review().cloned(),
            clarification: c.clarification().cloned(),
            field_visits: c.field_visits().to_vec(),
            ba: c.ba().cloned(),
            ba_acknowledged: c.ba_acknowledged(),
            response: c.response().map(str::to_owned),
            feedback: c.feedback().cloned(),
            returns: c.returns(),
            escalated: c.escalated(),
            coordinator_decided: c.coordinator_decided(),
            progress_reports: c.progress_reports(),
            reopenings: c.reopenings(),
            events_applied: c.events_applied(),
        }
    }
}

/// One event of a history, with its metadata (who, when, which command, its hashes).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HistoryEvent {
    /// Its sequence in the complaint.
    pub sequence: u64,
    /// The event as the domain records it.
    #[schema(value_type = Object)]
    pub event: ComplaintEvent,
    /// Its metadata.
    pub metadata: HashMap<String, String>,
}

/// A complaint's state, SLA clocks and timeline as of an instant, from the log alone
/// (`GET /complaints/{id}/history` and `aduan history --json`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HistoryAnswer {
    /// The complaint.
    pub complaint_id: String,
    /// The instant.
    pub as_of: DateTime<Utc>,
    /// Its state then (the same as `state.status`).
    #[schema(value_type = String)]
    pub status: Status,
    /// Its state then.
    pub state: ComplaintState,
    /// The events up to then.
    pub events: Vec<HistoryEvent>,
    /// How many events it has now.
    pub total_events: usize,
    /// Its SLA clocks then.
    #[schema(value_type = Vec<Object>)]
    pub sla: Vec<StepAssessment>,
}

impl From<&History> for HistoryAnswer {
    fn from(h: &History) -> Self {
        Self {
            complaint_id: h.complaint_id.to_string(),
            as_of: h.as_of,
            status: h.state.status(),
            state: ComplaintState::from(&h.state),
            events: h
                .events
                .iter()
                .map(|e| HistoryEvent {
                    sequence: e.sequence as u64,
                    event: e.payload.clone(),
                    metadata: e.metadata.clone(),
                })
                .collect(),
            total_events: h.total_events,
            sla: h.sla.clone(),
        }
    }
}
