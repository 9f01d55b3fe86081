//! Typed answers that the HTTP API and the `--json` output share, so both spell every
//! field the same: a complaint's state as readers see it, and its history as of an
//! instant.
//!
//! The aggregate (`workflow_core::Complaint`) is the domain's working state and
//! includes what only deciding needs (the command ids it has seen, the clocks' raw
//! timeline); [`ComplaintState`] is what is shown of it. The parts that are the
//! domain's own records (a registration, a BA, an SLA assessment, an event) are shown
//! as the domain serializes them, and the OpenAPI document describes them as objects.
//!
//! Every answer is made for a [`Reader`]: the complainant's identity appears in it only
//! as a [`ComplainantView`], shown or hidden by the domain's rule for that reader, so an
//! answer cannot carry an identity its reader may not see.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use workflow_core::complainant::{identity_visible_to, Complainant, Confidentiality};
use workflow_core::complaint::command::{
    BeritaAcara, Clarification, Disposition, Feedback, FieldVisit, Registration, ReviewResult,
};
use workflow_core::complaint::event::EventBody;
use workflow_core::evidence::EvidenceRef;
use workflow_core::sla::{StepAssessment, Verdict};
use workflow_core::{Actor, CommandId, Complaint, ComplaintEvent, LaporStatus, Role, Status};
use workflow_store::audit::History;

/// Who an answer is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// The operator at the command line, who holds the database itself: sees everything.
    Operator,
    /// A caller of the HTTP API in this role: sees an identity only where
    /// [`identity_visible_to`] allows it.
    Role(Role),
}

impl Reader {
    fn sees_identity(self, level: Confidentiality) -> bool {
        match self {
            Reader::Operator => true,
            Reader::Role(role) => identity_visible_to(role, level),
        }
    }
}

/// The complainant as a reader may see them: the identity, or only that it is hidden and
/// at which level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ComplainantView {
    /// Name, contact and level, as registered.
    #[schema(value_type = Object)]
    Shown(Complainant),
    /// Hidden from this reader.
    Hidden(HiddenIdentity),
}

/// What a reader who may not see an identity is told of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct HiddenIdentity {
    /// Always `true`.
    pub hidden: bool,
    /// The level the complainant chose.
    #[schema(value_type = String)]
    pub confidentiality: Confidentiality,
}

impl ComplainantView {
    /// The complainant as `reader` may see them.
    pub fn new(complainant: &Complainant, reader: Reader) -> Self {
        if reader.sees_identity(complainant.confidentiality) {
            ComplainantView::Shown(complainant.clone())
        } else {
            ComplainantView::Hidden(HiddenIdentity {
                hidden: true,
                confidentiality: complainant.confidentiality,
            })
        }
    }
}

/// A registration as a reader sees it: [`Registration`]'s fields, its complainant a
/// [`ComplainantView`]. (A twin of the domain's type on purpose: the answer owns its
/// shape, and this is the one field that differs.)
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RegistrationView {
    /// The LAPOR!-SP4N tracking number.
    pub lapor_id: String,
    /// Short title.
    pub title: String,
    /// The complaint as the complainant wrote it.
    pub description: String,
    /// Category.
    pub category: String,
    /// Where the matter is, if said.
    pub location: Option<String>,
    /// When the complainant filed it in LAPOR!.
    pub reported_at: DateTime<Utc>,
    /// Who complained, as this reader may see it.
    pub complainant: ComplainantView,
    /// UPP's review (*hasil telaahan*).
    pub upp_review: String,
    /// Supporting documents sent with the complaint.
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<EvidenceRef>,
}

impl RegistrationView {
    /// `registration` as `reader` may see it.
    pub fn new(registration: &Registration, reader: Reader) -> Self {
        let r = registration.clone();
        Self {
            lapor_id: r.lapor_id,
            title: r.title,
            description: r.description,
            category: r.category,
            location: r.location,
            reported_at: r.reported_at,
            complainant: ComplainantView::new(&r.complainant, reader),
            upp_review: r.upp_review,
            attachments: r.attachments,
        }
    }
}

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
    /// What UPP registered, with the complainant as this reader may see it.
    pub registration: Option<RegistrationView>,
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

impl ComplaintState {
    /// What `reader` is shown of `c`.
    pub fn new(c: &Complaint, reader: Reader) -> Self {
        Self {
            status: c.status(),
            lapor_status: c.status().lapor_status(),
            registration: c.registration().map(|r| RegistrationView::new(r, reader)),
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
    /// The event as the domain records it, the complainant of a `Received` as this
    /// reader may see it.
    #[schema(value_type = Object)]
    pub event: EventView,
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

/// An event as a reader sees it: the domain's [`ComplaintEvent`], serialized the same,
/// but for the complainant of a registration.
#[derive(Clone, Debug, Serialize)]
pub struct EventView {
    /// The caller's clock when the command was accepted.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub by: Actor,
    /// The command that produced it.
    pub command_id: CommandId,
    /// What happened.
    pub body: BodyView,
    /// The verdicts on the clock runs this event ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<Verdict>,
}

/// An event's body as a reader sees it.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum BodyView {
    /// A registration, its complainant as the reader may see it.
    Received(ReceivedView),
    /// Any other event, as the domain records it (none carries an identity).
    Other(EventBody),
}

/// `{"type": "Received", …the registration}`, as the domain tags its events.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type")]
pub enum ReceivedView {
    /// The complaint was registered from LAPOR!-SP4N.
    Received(RegistrationView),
}

impl EventView {
    /// `event` as `reader` may see it.
    pub fn new(event: &ComplaintEvent, reader: Reader) -> Self {
        let body = match &event.body {
            EventBody::Received(r) => {
                BodyView::Received(ReceivedView::Received(RegistrationView::new(r, reader)))
            }
            other => BodyView::Other(other.clone()),
        };
        Self {
            at: event.at,
            by: event.by.clone(),
            command_id: event.command_id.clone(),
            body,
            verdicts: event.verdicts.clone(),
        }
    }
}

impl HistoryAnswer {
    /// What `reader` is shown of the history `h`.
    pub fn new(h: &History, reader: Reader) -> Self {
        Self {
            complaint_id: h.complaint_id.to_string(),
            as_of: h.as_of,
            status: h.state.status(),
            state: ComplaintState::new(&h.state, reader),
            events: h
                .events
                .iter()
                .map(|e| HistoryEvent {
                    sequence: e.sequence as u64,
                    event: EventView::new(&e.payload, reader),
                    metadata: e.metadata.clone(),
                })
                .collect(),
            total_events: h.total_events,
            sla: h.sla.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use workflow_core::complainant::Confidentiality;
    use workflow_core::complaint::event::EventBody;
    use workflow_core::fixtures::{event, registration, upp, wib};
    use workflow_core::Role;

    use super::*;

    fn received(level: Confidentiality) -> ComplaintEvent {
        let mut r = registration();
        r.complainant.confidentiality = level;
        event("c1", upp(), wib("2026-12-01 09:00"), EventBody::Received(r))
    }

    fn shown_to(event: &ComplaintEvent, reader: Reader) -> Value {
        serde_json::to_value(EventView::new(event, reader)).unwrap()
    }

    #[test]
    fn a_hidden_identity_is_replaced_in_the_event_and_the_rest_is_as_the_domain_writes_it() {
        let e = received(Confidentiality::Anonymous);
        let mut expected = serde_json::to_value(&e).unwrap();
        expected["body"]["complainant"] = json!({"hidden": true, "confidentiality": "anonymous"});
        assert_eq!(shown_to(&e, Reader::Role(Role::Liaison)), expected);
    }

    #[test]
    fn an_identity_a_reader_may_see_is_the_event_exactly_as_the_domain_writes_it() {
        let e = received(Confidentiality::Anonymous);
        let domain = serde_json::to_value(&e).unwrap();
        assert_eq!(shown_to(&e, Reader::Role(Role::Upp)), domain);
        assert_eq!(shown_to(&e, Reader::Operator), domain);
        let public = received(Confidentiality::Public);
        assert_eq!(
            shown_to(&public, Reader::Role(Role::Liaison)),
            serde_json::to_value(&public).unwrap()
        );
    }

    #[test]
    fn the_state_shows_the_registration_as_its_reader_may_see_it() {
        let e = received(Confidentiality::Confidential);
        let mut complaint = Complaint::default();
        complaint.apply_event(&e);
        let for_head =
            serde_json::to_value(ComplaintState::new(&complaint, Reader::Role(Role::Head)))
                .unwrap();
        assert_eq!(
            for_head["registration"]["complainant"],
            json!({"hidden": true, "confidentiality": "confidential"})
        );
        assert_eq!(
            for_head["registration"]["title"],
            json!(registration().title)
        );
        let for_apip =
            serde_json::to_value(ComplaintState::new(&complaint, Reader::Role(Role::Apip)))
                .unwrap();
        assert_eq!(
            for_apip["registration"]["complainant"]["name"],
            json!(registration().complainant.name)
        );
    }
}
