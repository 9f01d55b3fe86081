//! A complaint driven through `decide`, as the engine drives it.

use workflow_core::complaint::command::{ComplaintCommand as C, ReviewResult};
use workflow_core::fixtures::*;
use workflow_core::sla::{assess, StepAssessment};
use workflow_core::{
    Actor, Complaint, ComplaintEvent, ComplaintServices, DomainError, Step, WorkingCalendar,
};

use super::latest;

/// A complaint driven through `decide`: the events are those the engine records (with
/// the verdicts on the clocks they end), and the state is rebuilt from their stored
/// (serialized, then read back) form. Commands get the ids `c-1`, `c-2`….
pub struct Case {
    pub services: ComplaintServices,
    pub log: Vec<ComplaintEvent>,
    n: usize,
}

/// What a refused command is expected to answer: the error itself, or only its rule
/// code (where the error's details are another test's business).
pub enum Refusal {
    Error(DomainError),
    Rule(&'static str),
}

impl From<DomainError> for Refusal {
    fn from(error: DomainError) -> Self {
        Self::Error(error)
    }
}

impl From<&'static str> for Refusal {
    fn from(rule: &'static str) -> Self {
        Self::Rule(rule)
    }
}

impl Case {
    pub fn new() -> Self {
        Self::with(ComplaintServices::builtin())
    }

    pub fn with(services: ComplaintServices) -> Self {
        Self {
            services,
            log: Vec::new(),
            n: 0,
        }
    }

    pub fn state(&self) -> Complaint {
        Complaint::from_events(&self.log)
    }

    /// Sends a command at `at` (WIB); on success records the events (through JSON) and
    /// returns them.
    fn send(
        &mut self,
        actor: Actor,
        at: &str,
        command: C,
    ) -> Result<Vec<ComplaintEvent>, DomainError> {
        self.n += 1;
        let envelope = cmd(&format!("c-{}", self.n), actor, wib(at), command);
        let events = self.state().decide(&envelope, &self.services)?;
        for e in &events {
            let json = serde_json::to_string(e).expect("events serialise");
            self.log
                .push(serde_json::from_str(&json).expect("and deserialise"));
        }
        Ok(events)
    }

    /// Sends a command that must be accepted; returns its events.
    #[track_caller]
    pub fn ok(&mut self, actor: Actor, at: &str, command: C) -> Vec<ComplaintEvent> {
        let name = command.name();
        self.send(actor, at, command)
            .unwrap_or_else(|e| panic!("{name} at {at} refused: {e}"))
    }

    /// Sends a command that must be refused as `expected` says.
    #[track_caller]
    pub fn refuses(&mut self, actor: Actor, at: &str, command: C, expected: impl Into<Refusal>) {
        let name = command.name();
        let error = match self.send(actor, at, command) {
            Ok(events) => panic!("{name} at {at} accepted: {events:?}"),
            Err(e) => e,
        };
        match expected.into() {
            Refusal::Error(expected) => assert_eq!(error, expected, "{name} at {at}"),
            Refusal::Rule(rule) => assert_eq!(error.rule(), rule, "{name} at {at}: {error}"),
        }
    }

    /// The clocks as of `now` (WIB).
    pub fn assess(&self, now: &str) -> Vec<StepAssessment> {
        self.assess_under(&self.services.calendar, now)
    }

    /// The clocks as of `now` (WIB), the running ones counted with `calendar`.
    pub fn assess_under(&self, calendar: &WorkingCalendar, now: &str) -> Vec<StepAssessment> {
        assess(
            self.state().timeline(),
            calendar,
            &self.services.policy,
            wib(now),
        )
    }

    /// The latest run of `step`'s clock as of `now` (WIB).
    #[track_caller]
    pub fn clock(&self, step: Step, now: &str) -> StepAssessment {
        latest(&self.assess(now), step)
    }

    /// Registered Monday 30 Nov 2026 09:00 (reported 06:30).
    pub fn registered() -> Self {
        let mut case = Self::new();
        case.ok(upp(), "2026-11-30 09:00", C::Register(registration()));
        case
    }

    /// ...disposed to PUPR at 10:00.
    pub fn disposed() -> Self {
        let mut case = Self::registered();
        case.ok(upp(), "2026-11-30 10:00", C::Dispose(disposition("PUPR")));
        case
    }

    /// ...reviewed complete and clear on Tuesday 1 Dec, clarified (field examination
    /// needed or not).
    pub fn clarified(field: bool) -> Self {
        Self::clarified_after(complete_review(), field)
    }

    /// ...reviewed as `review` on Tuesday 1 Dec 09:00, clarified at 10:00.
    pub fn clarified_after(review: ReviewResult, field: bool) -> Self {
        let mut case = Self::disposed();
        case.ok(liaison("PUPR"), "2026-12-01 09:00", C::Review(review));
        case.ok(
            liaison("PUPR"),
            "2026-12-01 10:00",
            C::Clarify(clarification(field)),
        );
        case
    }

    /// ...field-verified and a BA issued on Wednesday 2 Dec.
    pub fn ba_issued() -> Self {
        let mut case = Self::clarified(true);
        case.field_verified_and_ba_issued();
        case
    }

    /// Field-verified on Wednesday 2 Dec 09:00 and the BA issued at 15:00.
    pub fn field_verified_and_ba_issued(&mut self) {
        let visit = C::VerifyInField(field_visit("2026-12-02"));
        self.ok(liaison("PUPR"), "2026-12-02 09:00", visit);
        let ba = C::IssueBa(berita_acara("PUPR", "2026-12-02"));
        self.ok(liaison("PUPR"), "2026-12-02 15:00", ba);
    }

    /// ...responded on Tuesday 1 Dec 14:00 (no field examination).
    pub fn responded() -> Self {
        let mut case = Self::clarified(false);
        case.ok(
            liaison("PUPR"),
            "2026-12-01 14:00",
            C::Respond(response_text()),
        );
        case
    }
}
