//! The complainant's feedback, reopening, closing, and the overall cap that runs until
//! the close.

use workflow_core::complaint::command::{ClosingReason, Closure, ComplaintCommand as C};
use workflow_core::fixtures::*;
use workflow_core::{ComplaintEvent, DomainError, EventBody as E, Status, Step, StepStatus};

use crate::support::{latest, Case};

fn record_feedback(satisfied: bool) -> C {
    C::RecordFeedback(feedback(satisfied))
}

fn reopen() -> C {
    C::Reopen(reopening())
}

fn close() -> C {
    C::Close(Closure::default())
}

#[track_caller]
fn closing_reason(events: &[ComplaintEvent]) -> ClosingReason {
    match &events[0].body {
        E::Closed(c) => c.reason,
        other => panic!("{other:?}"),
    }
}

#[test]
fn upp_records_the_complainants_feedback_once_per_response() {
    let mut case = Case::responded();
    let at = "2026-12-02 09:00";
    case.refuses(
        liaison("PUPR"),
        at,
        record_feedback(true),
        "access.role_not_permitted",
    );
    let mut silent = feedback(false);
    silent.text.clear();
    case.refuses(
        upp(),
        at,
        C::RecordFeedback(silent),
        DomainError::MissingField { field: "text" },
    );
    case.ok(upp(), at, record_feedback(false));
    assert_eq!(case.state().feedback(), Some(&feedback(false)));
    case.refuses(
        upp(),
        "2026-12-02 10:00",
        record_feedback(true),
        DomainError::FeedbackAlreadyRecorded,
    );
    Case::clarified(false).refuses(
        upp(),
        "2026-12-01 12:00",
        record_feedback(true),
        "sop.invalid_transition",
    );
}

/// Not satisfied → UPP or the coordinator may reopen: back to the liaison officer,
/// with new clocks.
#[test]
fn a_dissatisfied_complainant_lets_upp_or_the_coordinator_reopen_with_new_clocks() {
    let not_dissatisfied = || DomainError::ReopenRequiresDissatisfiedFeedback;
    let mut satisfied = Case::responded();
    satisfied.ok(upp(), "2026-12-02 09:00", record_feedback(true));
    satisfied.refuses(upp(), "2026-12-02 10:00", reopen(), not_dissatisfied());
    let mut no_feedback = Case::responded();
    no_feedback.refuses(
        coordinator(),
        "2026-12-02 10:00",
        reopen(),
        not_dissatisfied(),
    );

    for reopener in [upp(), coordinator()] {
        let mut case = Case::responded();
        case.ok(upp(), "2026-12-02 09:00", record_feedback(false));
        let at = "2026-12-02 10:00";
        case.refuses(liaison("PUPR"), at, reopen(), "access.role_not_permitted");
        case.ok(reopener, at, reopen());
        let state = case.state();
        assert_eq!(state.status(), Status::Disposed);
        assert_eq!(state.reopenings(), 1);
        assert_eq!(state.response(), None);
        assert_eq!(state.feedback(), None);
        let clocks = case.assess("2026-12-02 11:00");
        let review = latest(&clocks, Step::Review);
        assert_eq!((review.occurrence, review.status), (2, StepStatus::OnTrack));
        assert_eq!(review.due_at, end_of("2026-12-07"));
        assert_eq!(latest(&clocks, Step::FollowUp).occurrence, 2);
        assert_eq!(latest(&clocks, Step::Feedback).status, StepStatus::Done);
        // The liaison officer takes it up again from the review.
        case.ok(
            liaison("PUPR"),
            "2026-12-03 09:00",
            C::Review(complete_review()),
        );
    }
}

/// LAPOR!-SP4N: 10 working days for the complainant's feedback, then the complaint
/// closes; feedback and reopening come within the window.
#[test]
fn feedback_and_reopening_come_within_the_ten_working_day_window() {
    let elapsed = || DomainError::FeedbackWindowElapsed {
        ended: end_of("2026-12-15"),
    };
    let mut late = Case::responded();
    late.refuses(upp(), "2026-12-16 08:00", record_feedback(false), elapsed());
    let mut in_time = Case::responded();
    in_time.ok(upp(), "2026-12-15 16:00", record_feedback(false));
    in_time.refuses(upp(), "2026-12-16 08:00", reopen(), elapsed());
    in_time.ok(upp(), "2026-12-15 17:00", reopen());
}

/// Close by UPP only after positive feedback or after the feedback window; the
/// closing carries its reason.
#[test]
fn upp_closes_only_after_positive_feedback_or_once_the_feedback_window_has_run_out() {
    let too_early = || DomainError::CloseRequiresSatisfiedFeedbackOrWindow {
        until: end_of("2026-12-15"),
    };
    let mut case = Case::responded();
    case.refuses(upp(), "2026-12-02 09:00", close(), too_early());
    case.ok(upp(), "2026-12-02 09:00", record_feedback(false));
    case.refuses(upp(), "2026-12-03 09:00", close(), too_early());
    let events = case.ok(upp(), "2026-12-16 08:00", close());
    assert_eq!(closing_reason(&events), ClosingReason::NotReopened);

    let mut settled = Case::responded();
    settled.ok(upp(), "2026-12-02 09:00", record_feedback(true));
    let events = settled.ok(upp(), "2026-12-02 09:30", close());
    assert_eq!(closing_reason(&events), ClosingReason::Settled);
    assert_eq!(settled.state().status(), Status::Closed);
}

/// Perpres 76/2013: the 60-day cap runs until the complaint is settled (closed), not
/// until the first response.
#[test]
fn the_overall_cap_runs_until_the_complaint_is_closed_not_until_the_response() {
    let mut case = Case::responded();
    let overall = case.clock(Step::Overall, "2026-12-02 09:00");
    assert_eq!(overall.ended_at, None);
    assert_eq!(overall.status, StepStatus::OnTrack);
    case.ok(upp(), "2026-12-02 09:00", record_feedback(true));
    case.ok(upp(), "2026-12-02 09:30", close());
    let overall = case.clock(Step::Overall, "2026-12-20 09:00");
    assert_eq!(overall.ended_at, Some(wib("2026-12-02 09:30")));
    assert_eq!(overall.status, StepStatus::Done);
}

/// Step 3's output is the complete report data: a complaint completed in the field
/// starts the overall cap with its BA.
#[test]
fn the_overall_cap_starts_with_the_ba_when_the_file_was_completed_in_the_field() {
    let mut case = Case::clarified_after(incomplete_but_clear_review(), true);
    assert!(case.state().timeline().latest(Step::Overall).is_none());
    case.field_verified_and_ba_issued();
    let state = case.state();
    let overall = state.timeline().latest(Step::Overall).unwrap();
    assert_eq!(overall.started_at, wib("2026-12-02 15:00"));
}
