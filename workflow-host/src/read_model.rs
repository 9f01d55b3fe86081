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
use workflow_core::complainant::{identity_visible_to, Confidentiality, PersonalData};
use workflow_core::complaint::command::{
    BeritaAcara, Clarification, Disposition, Feedback, FieldVisit, Registration, ReviewResult,
};
use workflow_core::complaint::event::EventBody;
use workflow_core::evidence::EvidenceRef;
use workflow_core::sla::{StepAssessment, Verdict};
use workflow_core::{
    Actor, CommandId, Complaint, ComplaintEvent, ComplaintId, LaporStatus, Role, Status,
};
use workflow_store::audit::History;
use workflow_store::keys::Revealed;
use workflow_store::{Store, StoreError};

/// Who an answer is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// The operator at the command line who asked to see identities (the read is
    /// recorded by the caller): sees everything.
    Operator,
    /// The operator at the command line who did not ask: sees no identity.
    Hiding,
    /// A caller of the HTTP API in this role: sees an identity only where
    /// [`identity_visible_to`] allows it.
    Role(Role),
}

impl Reader {
    fn sees_identity(self, level: Confidentiality) -> bool {
        match self {
            Reader::Operator => true,
            Reader::Hiding => false,
            Reader::Role(role) => identity_visible_to(role, level),
        }
    }
}

/// The complainant as one reader may see them, settled before an answer is made:
/// [`ComplainantView::resolve`] opens the sealed identity only for a reader allowed to
/// see it, so an answer cannot carry an identity its reader may not see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ComplainantView {
    /// Name, contact and level, as registered.
    Shown(ShownIdentity),
    /// Hidden from this reader.
    Hidden(HiddenIdentity),
    /// Erased under UU 27/2022 (the same for every reader).
    Erased(ErasedIdentity),
}

/// An identity shown: the personal data and the level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ShownIdentity {
    /// The personal data.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub data: PersonalData,
    /// The level the complainant chose.
    #[schema(value_type = String)]
    pub confidentiality: Confidentiality,
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

/// What every reader is told of an erased identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErasedIdentity {
    /// Always `true`.
    pub erased: bool,
    /// "dihapus sesuai UU PDP" (erased under the Personal Data Protection Law).
    pub note: String,
    /// The level the complainant had chosen.
    #[schema(value_type = String)]
    pub confidentiality: Confidentiality,
}

/// What an erased identity reads as, everywhere.
pub const ERASED_NOTE: &str = "dihapus sesuai UU PDP";

impl ComplainantView {
    /// The complainant of `complaint` as `reader` may see them: hidden without opening
    /// anything when the reader may not see it, erased when it was, otherwise opened
    /// with the complaint's key.
    pub async fn resolve(
        store: &Store,
        complaint_id: &ComplaintId,
        complaint: &Complaint,
        reader: Reader,
    ) -> Result<Option<Self>, StoreError> {
        let Some(registration) = complaint.registration() else {
            return Ok(None);
        };
        let level = registration.complainant.confidentiality;
        if !reader.sees_identity(level) {
            // Nothing to open: only whether it was erased (which every reader is told).
            let erased = complaint.identity_erased().is_some()
                || store.identity_erased(complaint_id).await?;
            return Ok(Some(if erased {
                Self::erased(level)
            } else {
                ComplainantView::Hidden(HiddenIdentity {
                    hidden: true,
                    confidentiality: level,
                })
            }));
        }
        // `reveal_identity` answers erased itself, with the one query it needs.
        Ok(
            match store.reveal_identity(complaint_id, complaint).await? {
                Some(Revealed::Identity(data)) => Some(ComplainantView::Shown(ShownIdentity {
                    data,
                    confidentiality: level,
                })),
                Some(Revealed::Erased) => Some(Self::erased(level)),
                None => None,
            },
        )
    }

    fn erased(level: Confidentiality) -> Self {
        ComplainantView::Erased(ErasedIdentity {
            erased: true,
            note: ERASED_NOTE.into(),
            confidentiality: level,
        })
    }

    /// Whether this view shows personal data (such a read is recorded).
    pub fn is_shown(&self) -> bool {
        matches!(self, ComplainantView::Shown(_))
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
    /// `registration` with its complainant as resolved for the reader.
    pub fn new(registration: &Registration, complainant: &ComplainantView) -> Self {
        let r = registration.clone();
        Self {
            lapor_id: r.lapor_id,
            title: r.title,
            description: r.description,
            category: r.category,
            location: r.location,
            reported_at: r.reported_at,
            complainant: complainant.clone(),
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
    /// What is shown of `c` to a reader for whom its complainant resolved to
    /// `complainant`.
    pub fn new(c: &Complaint, complainant: Option<&ComplainantView>) -> Self {
        Self {
            status: c.status(),
            lapor_status: c.status().lapor_status(),
            registration: c
                .registration()
                .zip(complainant)
                .map(|(r, who)| RegistrationView::new(r, who)),
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
    /// `event` with the complainant of a registration as resolved for the reader.
    pub fn new(event: &ComplaintEvent, complainant: Option<&ComplainantView>) -> Self {
        let body = match (&event.body, complainant) {
            (EventBody::Received(r), who) => {
                // Unresolved, a registration shows no identity: hidden, never the body.
                let hidden = ComplainantView::Hidden(HiddenIdentity {
                    hidden: true,
                    confidentiality: r.complainant.confidentiality,
                });
                let who = who.unwrap_or(&hidden);
                BodyView::Received(ReceivedView::Received(RegistrationView::new(r, who)))
            }
            (other, _) => BodyView::Other(other.clone()),
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
    /// What is shown of the history `h` to a reader for whom its complainant resolved
    /// to `complainant`.
    pub fn new(h: &History, complainant: Option<&ComplainantView>) -> Self {
        Self {
            complaint_id: h.complaint_id.to_string(),
            as_of: h.as_of,
            status: h.state.status(),
            state: ComplaintState::new(&h.state, complainant),
            events: h
                .events
                .iter()
                .map(|e| HistoryEvent {
                    sequence: e.sequence as u64,
                    event: EventView::new(&e.payload, complainant),
                    metadata: e.metadata.clone(),
                })
                .collect(),
            total_events: h.total_events,
            sla: h.sla.clone(),
        }
    }
}
