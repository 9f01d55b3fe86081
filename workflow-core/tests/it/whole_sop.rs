//! The whole SOP walked through `Complaint::decide`, as the engine runs it (the command
//! id checked against the log first): registration, step 1, step 2 with a question to
//! the complainant, step 3 with the field visit and the BA, the response, a dissatisfied
//! complainant, the reopening, a second pass without field examination, and a settled
//! close. No event is built by hand: every one is what `decide` made of a command.

use std::collections::BTreeSet;

use workflow_core::complaint::command::{ClosingReason, Closure, ComplaintCommand as C};
use workflow_core::fixtures::*;
use workflow_core::sla::JudgedBy;
use workflow_core::{
    Actor, CommandEnvelope, Complaint, ComplaintEvent, ComplaintServices, EventBody, LaporStatus,
    Status, Step,
};

use crate::support::clocks_ended;

/// One activity of the walk, as it was decided and recorded.
#[derive(Clone, Debug)]
struct Stage {
    activity: &'static str,
    envelope: CommandEnvelope,
    events: Vec<ComplaintEvent>,
    /// The state after the activity.
    state: Complaint,
}

impl Stage {
    fn status(&self) -> Status {
        self.state.status()
    }
}

/// The walk: the complaint as it goes, and the log as the store keeps it (JSON).
struct Walk {
    services: ComplaintServices,
    state: Complaint,
    stored: Vec<String>,
    stages: Vec<Stage>,
}

impl Walk {
    fn new() -> Self {
        Self {
            services: ComplaintServices::builtin(),
            state: Complaint::default(),
            stored: Vec::new(),
            stages: Vec::new(),
        }
    }

    /// The log read back from the store.
    fn log(&self) -> Vec<ComplaintEvent> {
        self.stored
            .iter()
            .map(|json| serde_json::from_str(json).expect("a stored event reads back"))
            .collect()
    }

    /// Sends a command as the engine does, requires that it is accepted and leaves the
    /// complaint in `expected`, and records the events as the store would.
    fn run(
        &mut self,
        activity: &'static str,
        actor: Actor,
        at: &str,
        command: C,
        expected: Status,
    ) -> &Stage {
        let id = format!("walk-{}", self.stages.len() + 1);
        let envelope = cmd(&id, actor, wib(at), command);
        envelope
            .check_retry_of(&self.log())
            .unwrap_or_else(|e| panic!("{activity}: the id check refused: {e}"));
        let events = self
            .state
            .decide(&envelope, &self.services)
            .unwrap_or_else(|e| panic!("{activity}: refused: {e} ({})", e.rule()));
        assert!(!events.is_empty(), "{activity}: decided nothing");
        for event in &events {
            self.state.apply_event(event);
            self.stored
                .push(serde_json::to_string(event).expect("an event serialises"));
        }
        assert_eq!(self.state.status(), expected, "after {activity}");
        self.stages.push(Stage {
            activity,
            envelope,
            events,
            state: self.state.clone(),
        });
        self.stages.last().expect("just pushed")
    }

    fn stage(&self, activity: &str) -> &Stage {
        self.stages
            .iter()
            .find(|s| s.activity == activity)
            .unwrap_or_else(|| panic!("no stage `{activity}`"))
    }
}

/// Registered and disposed to PUPR on Monday 30 November 2026, and found clear but
/// incomplete at the first review.
fn walk_to_the_first_review() -> Walk {
    use Status::*;
    let mut w = Walk::new();
    w.run(
        "register",
        upp(),
        "2026-11-30 08:00",
        C::Register(registration()),
        Received,
    );
    w.run(
        "dispose",
        upp(),
        "2026-11-30 09:00",
        C::Dispose(disposition("PUPR")),
        Disposed,
    );
    w.run(
        "review: incomplete but clear",
        liaison("PUPR"),
        "2026-11-30 10:00",
        C::Review(incomplete_but_clear_review()),
        Reviewed,
    );
    w
}

/// Registration to a settled close, every activity through `decide`, on working days
/// of the first weeks of December 2026 (no holiday), each in good time.
fn walk_the_whole_sop() -> Walk {
    use Status::*;
    let mut w = walk_to_the_first_review();
    let pupr = "PUPR";
    w.run(
        "request information",
        liaison(pupr),
        "2026-11-30 11:00",
        C::RequestInformation(information_request()),
        AwaitingInformation,
    );
    w.run(
        "provide information",
        upp(),
        "2026-12-01 09:00",
        C::ProvideInformation(information_reply()),
        InformationProvided,
    );
    w.run(
        "review: complete and clear",
        liaison(pupr),
        "2026-12-01 10:00",
        C::Review(complete_review()),
        Reviewed,
    );
    w.run(
        "clarify: field examination needed",
        liaison(pupr),
        "2026-12-01 11:00",
        C::Clarify(clarification(true)),
        Clarified,
    );
    w.run(
        "report progress",
        liaison(pupr),
        "2026-12-01 13:00",
        C::ReportProgress(progress_report()),
        Clarified,
    );
    w.run(
        "verify in the field",
        liaison(pupr),
        "2026-12-02 09:00",
        C::VerifyInField(field_visit("2026-12-02")),
        FieldVerified,
    );
    w.run(
        "issue the BA",
        liaison(pupr),
        "2026-12-02 14:00",
        C::IssueBa(berita_acara(pupr, "2026-12-02")),
        BaIssued,
    );
    w.run(
        "the head acknowledges the BA",
        head(pupr),
        "2026-12-03 09:00",
        C::AcknowledgeBa(Default::default()),
        BaIssued,
    );
    let mut empty = response_text();
    empty.response = String::new();
    w.run(
        "respond with the BA's solution",
        liaison(pupr),
        "2026-12-03 10:00",
        C::Respond(empty),
        Responded,
    );
    w.run(
        "feedback: not satisfied",
        upp(),
        "2026-12-07 09:00",
        C::RecordFeedback(feedback(false)),
        Responded,
    );
    w.run(
        "reopen",
        upp(),
        "2026-12-07 10:00",
        C::Reopen(reopening()),
        Disposed,
    );
    w.run(
        "review again",
        liaison(pupr),
        "2026-12-07 11:00",
        C::Review(complete_review()),
        Reviewed,
    );
    w.run(
        "clarify: no field examination",
        liaison(pupr),
        "2026-12-08 09:00",
        C::Clarify(clarification(false)),
        Clarified,
    );
    w.run(
        "respond",
        liaison(pupr),
        "2026-12-08 14:00",
        C::Respond(response_text()),
        Responded,
    );
    w.run(
        "feedback: satisfied",
        upp(),
        "2026-12-09 09:00",
        C::RecordFeedback(feedback(true)),
        Responded,
    );
    w.run(
        "close",
        upp(),
        "2026-12-09 10:00",
        C::Close(Closure::default()),
        Closed,
    );
    w
}

#[test]
fn the_whole_sop_runs_from_registration_through_a_reopening_to_a_settled_close() {
    let w = walk_the_whole_sop();
    let statuses: Vec<Status> = w.stages.iter().map(Stage::status).collect();
    use Status::*;
    assert_eq!(
        statuses,
        [
            Received,
            Disposed,
            Reviewed,
            AwaitingInformation,
            InformationProvided,
            Reviewed,
            Clarified,
            Clarified,
            FieldVerified,
            BaIssued,
            BaIssued,
            Responded,
            Responded,
            Disposed,
            Reviewed,
            Clarified,
            Responded,
            Responded,
            Closed,
        ]
    );
    assert_eq!(w.state.reopenings(), 1);
    assert_eq!(w.state.progress_reports(), 1);
    assert_eq!(
        w.state.dispositions(),
        1,
        "a reopening is not a re-disposition"
    );
    let closing = w.stage("close");
    assert!(
        matches!(
            &closing.events[..],
            [ComplaintEvent { body: EventBody::Closed(c), .. }] if c.reason == ClosingReason::Settled
        ),
        "closed as settled after positive feedback: {:?}",
        closing.events
    );
}

#[test]
fn step_2_an_incomplete_but_clear_complaint_is_asked_about_not_rejected_and_its_clock_waits() {
    let w = walk_the_whole_sop();
    let asked = w.stage("request information");
    assert!(matches!(
        &asked.events[..],
        [ComplaintEvent {
            body: EventBody::InformationRequested(_),
            ..
        }]
    ));
    // Waiting for the complainant paused step 2 (the review clock), from the question
    // to the answer.
    let review = w.state.timeline().run(Step::Review, 1).expect("step 2 ran");
    assert_eq!(review.pauses.len(), 1, "{review:?}");
    assert_eq!(review.pauses[0].from, wib("2026-11-30 11:00"));
    assert_eq!(review.pauses[0].until, Some(wib("2026-12-01 09:00")));
    // The file was complete at the second review: the 60-day cap starts there.
    let overall = w.state.timeline().run(Step::Overall, 1).expect("cap ran");
    assert_eq!(overall.started_at, wib("2026-12-01 10:00"));
}

#[test]
fn step_3_the_response_left_empty_after_the_ba_carries_the_bas_solution() {
    let w = walk_the_whole_sop();
    let ba = berita_acara("PUPR", "2026-12-02");
    let responded = w.stage("respond with the BA's solution");
    assert_eq!(responded.state.response(), Some(ba.solution.as_str()));
    assert!(
        matches!(
            &responded.events[..],
            [ComplaintEvent { body: EventBody::Responded(r), .. }] if r.response == ba.solution
        ),
        "{:?}",
        responded.events
    );
    // The second response, after the reopening, is the liaison officer's own text.
    assert_eq!(
        w.stage("respond").state.response(),
        Some(response_text().response.as_str())
    );
}

#[test]
fn the_lapor_status_follows_the_complaint_at_each_key_point() {
    let w = walk_the_whole_sop();
    use LaporStatus as L;
    // A row per key point of the walk; the rows are alike in shape only.
    for (activity, lapor) in [
        ("register", L::Verification),
        ("dispose", L::Disposed),
        ("review: incomplete but clear", L::InFollowUp),
        ("request information", L::InFollowUp),
        ("verify in the field", L::InFollowUp),
        ("issue the BA", L::InFollowUp),
        ("respond with the BA's solution", L::AwaitingFeedback),
        ("feedback: not satisfied", L::AwaitingFeedback),
        ("reopen", L::Disposed),
        ("clarify: no field examination", L::InFollowUp),
        ("respond", L::AwaitingFeedback),
        ("close", L::Finished),
    ] {
        let status = w.stage(activity).status();
        assert_eq!(status.lapor_status(), lapor, "after `{activity}`");
    }
}

#[test]
fn each_event_that_ends_a_clock_carries_its_verdict_fixed_when_it_ended() {
    let w = walk_the_whole_sop();
    let judged_by = JudgedBy::of(&w.services.calendar, &w.services.policy);
    let expected: &[(&str, &[(Step, u32)])] = &[
        ("register", &[]),
        ("dispose", &[(Step::Disposition, 1)]),
        ("review: incomplete but clear", &[]),
        ("request information", &[]),
        ("provide information", &[(Step::InformationWait, 1)]),
        ("review: complete and clear", &[]),
        ("clarify: field examination needed", &[(Step::Review, 1)]),
        ("report progress", &[(Step::FollowUp, 1)]),
        ("verify in the field", &[]),
        ("issue the BA", &[(Step::FieldVerification, 1)]),
        ("the head acknowledges the BA", &[]),
        ("respond with the BA's solution", &[(Step::Response, 1)]),
        ("feedback: not satisfied", &[]),
        ("reopen", &[(Step::Feedback, 1)]),
        ("review again", &[]),
        ("clarify: no field examination", &[(Step::Review, 2)]),
        ("respond", &[(Step::Response, 2), (Step::FollowUp, 2)]),
        ("feedback: satisfied", &[]),
        ("close", &[(Step::Feedback, 2), (Step::Overall, 1)]),
    ];
    assert_eq!(w.stages.len(), expected.len());
    let mut before = Complaint::default();
    for (stage, (activity, clocks)) in w.stages.iter().zip(expected) {
        assert_eq!(stage.activity, *activity);
        let judged: BTreeSet<(Step, u32)> = stage
            .events
            .iter()
            .flat_map(|e| &e.verdicts)
            .map(|v| (v.step, v.occurrence))
            .collect();
        let want: BTreeSet<(Step, u32)> = clocks.iter().copied().collect();
        assert_eq!(judged, want, "verdicts of `{activity}`");
        assert_eq!(
            clocks_ended(&before, &stage.state),
            want,
            "clocks ended by `{activity}`"
        );
        for verdict in stage.events.iter().flat_map(|e| &e.verdicts) {
            assert!(!verdict.late, "`{activity}` was in time: {verdict:?}");
            assert_eq!(verdict.judged_by, judged_by);
            let clock = stage
                .state
                .timeline()
                .run(verdict.step, verdict.occurrence)
                .expect("the judged run exists");
            assert_eq!(clock.verdict.as_ref(), Some(verdict), "kept in the state");
        }
        before = stage.state.clone();
    }
}

#[test]
fn replaying_the_stored_events_rebuilds_the_state_after_every_activity() {
    let w = walk_the_whole_sop();
    let log = w.log();
    assert_eq!(log.len(), w.stored.len());
    let mut upto = 0;
    for stage in &w.stages {
        upto += stage.events.len();
        assert_eq!(
            Complaint::from_events(&log[..upto]),
            stage.state,
            "replay up to `{}`",
            stage.activity
        );
    }
    assert_eq!(upto, log.len());
    assert_eq!(Complaint::from_events(&log), w.state);
}

#[test]
fn a_retry_of_any_activity_of_the_walk_changes_nothing() {
    let w = walk_the_whole_sop();
    let log = w.log();
    for stage in &w.stages {
        assert_eq!(
            stage.envelope.check_retry_of(&log),
            Ok(()),
            "`{}` retried",
            stage.activity
        );
        assert_eq!(
            w.state.decide(&stage.envelope, &w.services),
            Ok(vec![]),
            "`{}` retried",
            stage.activity
        );
    }
}

/// SOP step 2, reading note: "A clear but incomplete complaint goes on: the liaison asks
/// the complainant, or concludes that a completeness examination in the field is needed
/// (step 3 produces the complete data)". Concluding "no field examination" on a file the
/// review found incomplete would answer the complainant on data never completed, and
/// the 60-day cap (which starts when the file is complete: at a complete review or at
/// the BA) would never run.
#[test]
fn step_2_an_incomplete_but_clear_file_is_not_concluded_without_the_field_examination() {
    let w = walk_to_the_first_review();
    let no_field_exam = cmd(
        "walk-4",
        liaison("PUPR"),
        wib("2026-11-30 11:00"),
        C::Clarify(clarification(false)),
    );
    let decided = w.state.decide(&no_field_exam, &w.services);
    assert_eq!(
        decided,
        Err(workflow_core::DomainError::IncompleteFileNeedsFieldExamination),
        "an incomplete file was concluded on without the field examination that completes it"
    );
}
