//! The complaint aggregate: its states, and the thin [`cqrs_es::Aggregate`] adapter over
//! two pure functions, [`Complaint::decide`] (state and command to events, or a refusal)
//! and [`Complaint::apply_event`] (state and event to state).

pub mod command;
mod decide;
pub mod event;
mod evolve;
pub mod id;
pub mod sequence;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::actor::{AgencyCode, UserId};
use crate::calendar::WorkingCalendar;
use crate::error::DomainError;
use crate::sla::{SlaPolicy, SlaTimeline};
use command::{
    BeritaAcara, Clarification, CommandEnvelope, CommandId, Disposition, Feedback, FieldVisit,
    Registration, ReviewResult,
};
use event::ComplaintEvent;

/// Where a complaint stands in the SOP.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing registered under this id yet.
    #[default]
    New,
    /// Registered, waiting for disposition (step 1).
    Received,
    /// With an agency's liaison officer, waiting for the review (step 2).
    Disposed,
    /// Sent back by the agency, waiting for re-disposition (step 1 again).
    Returned,
    /// Reviewed; clarified next if complete, otherwise information requested or rejected.
    Reviewed,
    /// Waiting for the complainant (clocks paused).
    AwaitingInformation,
    /// The complainant answered; waiting for a new review.
    InformationProvided,
    /// Not followed up (terminal).
    Rejected,
    /// Step 2 concluded; field verification or response next.
    Clarified,
    /// Field visit recorded (step 3); BA next.
    FieldVerified,
    /// BA issued to the head of the agency; response next.
    BaIssued,
    /// Complainant answered; feedback window running.
    Responded,
    /// Closed (terminal), with the reason its feedback gives.
    Closed,
    /// Archived at the door (terminal).
    Archived,
    /// Withdrawn by the complainant (terminal).
    Withdrawn,
    /// Forwarded outside the Pemkab (terminal).
    Forwarded,
}

impl Status {
    /// Every status, in SOP order.
    pub const ALL: [Status; 16] = [
        Status::New,
        Status::Received,
        Status::Disposed,
        Status::Returned,
        Status::Reviewed,
        Status::AwaitingInformation,
        Status::InformationProvided,
        Status::Rejected,
        Status::Clarified,
        Status::FieldVerified,
        Status::BaIssued,
        Status::Responded,
        Status::Closed,
        Status::Archived,
        Status::Withdrawn,
        Status::Forwarded,
    ];

    /// The status's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Received => "received",
            Status::Disposed => "disposed",
            Status::Returned => "returned",
            Status::Reviewed => "reviewed",
            Status::AwaitingInformation => "awaiting_information",
            Status::InformationProvided => "information_provided",
            Status::Rejected => "rejected",
            Status::Clarified => "clarified",
            Status::FieldVerified => "field_verified",
            Status::BaIssued => "ba_issued",
            Status::Responded => "responded",
            Status::Closed => "closed",
            Status::Archived => "archived",
            Status::Withdrawn => "withdrawn",
            Status::Forwarded => "forwarded",
        }
    }

    /// Whether nothing more can happen to the complaint's workflow.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Rejected
                | Status::Closed
                | Status::Archived
                | Status::Withdrawn
                | Status::Forwarded
        )
    }
}

impl Status {
    /// The status LAPOR!-SP4N shows for a complaint in this state, so that figures
    /// reconcile with the national dashboard.
    pub fn lapor_status(self) -> LaporStatus {
        match self {
            Status::New | Status::Received | Status::Returned => LaporStatus::Verification,
            Status::Disposed => LaporStatus::Disposed,
            Status::Reviewed
            | Status::AwaitingInformation
            | Status::InformationProvided
            | Status::Clarified
            | Status::FieldVerified
            | Status::BaIssued => LaporStatus::InFollowUp,
            Status::Responded => LaporStatus::AwaitingFeedback,
            Status::Closed => LaporStatus::Finished,
            Status::Rejected | Status::Archived | Status::Withdrawn | Status::Forwarded => {
                LaporStatus::Archived
            }
        }
    }
}

/// A complaint's status as LAPOR!-SP4N names it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LaporStatus {
    /// Verified by the admin (UPP): registered, or back for re-disposition.
    Verification,
    /// Disposed (or forwarded) to the agency.
    Disposed,
    /// The agency is following it up (review, clarification, field visit, BA).
    InFollowUp,
    /// Answered; the complainant's feedback is awaited.
    AwaitingFeedback,
    /// Finished (closed).
    Finished,
    /// Archived: not followed up.
    Archived,
}

impl LaporStatus {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            LaporStatus::Verification => "verification",
            LaporStatus::Disposed => "disposed",
            LaporStatus::InFollowUp => "in_follow_up",
            LaporStatus::AwaitingFeedback => "awaiting_feedback",
            LaporStatus::Finished => "finished",
            LaporStatus::Archived => "archived",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown status `{s}`"))
    }
}

/// What the aggregate needs besides its events: the calendar and the SLA policy, to
/// judge deadlines at the command's `now`. The default is [`ComplaintServices::builtin`]:
/// the shipped holiday table and the default policy.
#[derive(Clone, Debug)]
pub struct ComplaintServices {
    /// Working days.
    pub calendar: Arc<WorkingCalendar>,
    /// Step durations and time zone.
    pub policy: Arc<SlaPolicy>,
}

impl Default for ComplaintServices {
    fn default() -> Self {
        Self::builtin()
    }
}

impl ComplaintServices {
    /// Services over the shipped holiday table and the default policy.
    pub fn builtin() -> Self {
        Self {
            calendar: Arc::new(WorkingCalendar::builtin()),
            policy: Arc::new(SlaPolicy::default()),
        }
    }
}

/// An erasure of the complainant's identity, as the state remembers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: UserId,
    /// On which legal basis.
    pub legal_basis: String,
}

/// A complaint's state, rebuilt from its events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Complaint {
    status: Status,
    registration: Option<Registration>,
    disposition: Option<Disposition>,
    dispositions: u32,
    last_review: Option<ReviewResult>,
    clarification: Option<Clarification>,
    field_visits: Vec<FieldVisit>,
    ba: Option<BeritaAcara>,
    #[serde(default)]
    ba_acknowledged: bool,
    response: Option<String>,
    #[serde(default)]
    feedback: Option<Feedback>,
    #[serde(default)]
    returns: u32,
    #[serde(default)]
    escalated: bool,
    #[serde(default)]
    coordinator_decided: bool,
    #[serde(default)]
    progress_reports: u32,
    #[serde(default)]
    reopenings: u32,
    timeline: SlaTimeline,
    identity_erased: Option<Erased>,
    seen_commands: BTreeSet<CommandId>,
    events_applied: u64,
    /// The instant of the latest event (the latest `at` of all, should an older log
    /// hold events out of time order); no command is dated before it.
    #[serde(default)]
    latest_at: Option<DateTime<Utc>>,
}

impl Complaint {
    /// The version of a complaint's state as kept outside the log (the store's
    /// snapshots): its JSON form together with what folding each event into it gives.
    /// It is raised with every change after which some history folds to another state
    /// or to other JSON, so that states kept under an earlier format are not used.
    /// `tests/states/` pins the states the recorded events fold to under the
    /// current format: a change that forgets to raise it fails there.
    pub const STATE_FORMAT: u32 = 2;

    /// Rebuilds a complaint from its events, in order.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a ComplaintEvent>) -> Self {
        let mut complaint = Self::default();
        for event in events {
            complaint.apply_event(event);
        }
        complaint
    }

    /// Where the complaint stands.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The registration data, once registered.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    /// The current disposition, if disposed and not returned since.
    pub fn disposition(&self) -> Option<&Disposition> {
        self.disposition.as_ref()
    }

    /// The agency holding the complaint.
    pub fn agency(&self) -> Option<&AgencyCode> {
        self.disposition.as_ref().map(|d| &d.agency)
    }

    /// How many times it has been disposed.
    pub fn dispositions(&self) -> u32 {
        self.dispositions
    }

    /// The latest review.
    pub fn last_review(&self) -> Option<&ReviewResult> {
        self.last_review.as_ref()
    }

    /// The step-2 conclusion.
    pub fn clarification(&self) -> Option<&Clarification> {
        self.clarification.as_ref()
    }

    /// Field visits, in order.
    pub fn field_visits(&self) -> &[FieldVisit] {
        &self.field_visits
    }

    /// The BA, once issued.
    pub fn ba(&self) -> Option<&BeritaAcara> {
        self.ba.as_ref()
    }

    /// Whether the head of the agency acknowledged the current BA.
    pub fn ba_acknowledged(&self) -> bool {
        self.ba_acknowledged
    }

    /// The response to the complainant, once sent.
    pub fn response(&self) -> Option<&str> {
        self.response.as_deref()
    }

    /// The complainant's feedback on the latest response, once recorded.
    pub fn feedback(&self) -> Option<&Feedback> {
        self.feedback.as_ref()
    }

    /// How many times agencies have sent it back.
    pub fn returns(&self) -> u32 {
        self.returns
    }

    /// Whether its returns reached the coordinator, who has not yet disposed it.
    pub fn escalated(&self) -> bool {
        self.escalated
    }

    /// Whether the coordinator disposed it after an escalation (no return after that).
    pub fn coordinator_decided(&self) -> bool {
        self.coordinator_decided
    }

    /// How many interim follow-ups were posted.
    pub fn progress_reports(&self) -> u32 {
        self.progress_reports
    }

    /// How many times it was reopened.
    pub fn reopenings(&self) -> u32 {
        self.reopenings
    }

    /// When, by whom and on which basis the complainant's identity was erased.
    pub fn identity_erased(&self) -> Option<&Erased> {
        self.identity_erased.as_ref()
    }

    /// The SLA clocks.
    pub fn timeline(&self) -> &SlaTimeline {
        &self.timeline
    }

    /// How many events built this state.
    pub fn events_applied(&self) -> u64 {
        self.events_applied
    }

    /// The instant of the complaint's latest event (none before it is registered): no
    /// command is dated before it ([`DomainError::DatedBeforeLatestEvent`]).
    ///
    /// [`DomainError::DatedBeforeLatestEvent`]: crate::DomainError::DatedBeforeLatestEvent
    pub fn latest_event_at(&self) -> Option<DateTime<Utc>> {
        self.latest_at
    }

    /// The instant to date a command at whose `now` is a clock's reading: the reading,
    /// or the complaint's latest event's instant where the clock reads earlier (the
    /// clocks of hosts differ), so that the command is never dated before it.
    pub fn dated_by_clock(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.latest_at.map_or(now, |latest| now.max(latest))
    }

    /// Whether a command id has already been handled.
    pub fn has_seen(&self, command_id: &CommandId) -> bool {
        self.seen_commands.contains(command_id)
    }

    /// A copy of the state without its field visits and its seen command ids, for
    /// `decide` to move on with the events it decides. Those two grow with the history
    /// (a complaint of 200 field visits: most of the state), and folding an event never
    /// reads them (`evolve.rs` only adds to them or clears them), so the status and the
    /// clocks of the copy after the events are those of the whole state after them.
    /// The property tests check each verdict against the clocks of the whole state.
    pub(crate) fn working_copy(&self) -> Self {
        // Named field by field, so that a field added later is a choice made here.
        let Self {
            status,
            registration,
            disposition,
            dispositions,
            last_review,
            clarification,
            field_visits: _,
            ba,
            ba_acknowledged,
            response,
            feedback,
            returns,
            escalated,
            coordinator_decided,
            progress_reports,
            reopenings,
            timeline,
            identity_erased,
            seen_commands: _,
            events_applied,
            latest_at,
        } = self;
        Self {
            status: *status,
            registration: registration.clone(),
            disposition: disposition.clone(),
            dispositions: *dispositions,
            last_review: last_review.clone(),
            clarification: clarification.clone(),
            field_visits: Vec::new(),
            ba: ba.clone(),
            ba_acknowledged: *ba_acknowledged,
            response: response.clone(),
            feedback: feedback.clone(),
            returns: *returns,
            escalated: *escalated,
            coordinator_decided: *coordinator_decided,
            progress_reports: *progress_reports,
            reopenings: *reopenings,
            timeline: timeline.clone(),
            identity_erased: identity_erased.clone(),
            seen_commands: BTreeSet::new(),
            events_applied: *events_applied,
            latest_at: *latest_at,
        }
    }
}

impl Aggregate for Complaint {
    const TYPE: &'static str = "complaint";
    type Command = CommandEnvelope;
    type Event = ComplaintEvent;
    type Error = DomainError;
    type Services = ComplaintServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(&command, services)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.apply_event(&event);
    }
}
