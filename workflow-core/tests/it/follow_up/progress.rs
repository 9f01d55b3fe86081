//! Progress updates and LAPOR!'s follow-up clock, and the response that carries the BA's
//! solution.

use workflow_core::complaint::command::{
    BreachReport, ComplaintCommand as C, ResponseChannel, ResponseText,
};
use workflow_core::fixtures::*;
use workflow_core::sla::JudgedBy;
use workflow_core::{DomainError, EventBody as E, Step, StepStatus};

use super::other_liaison;
use crate::support::Case;

fn report_progress() -> C {
    C::ReportProgress(progress_report())
}

/// LAPOR!-SP4N: the agency posts its first follow-up within 5 working days of the
/// disposition; a progress update (*tindak lanjut sementara*) satisfies it.
#[test]
fn lapor_follow_up_clock_runs_five_working_days_from_disposition_and_a_progress_update_ends_it() {
    let mut case = Case::disposed();
    // Disposed Monday 30 Nov: Tue 1, Wed 2, Thu 3, Fri 4, Mon 7 Dec.
    let running = case.clock(Step::FollowUp, "2026-11-30 11:00");
    assert_eq!(running.due_at, end_of("2026-12-07"));
    assert_eq!(running.status, StepStatus::OnTrack);
    let events = case.ok(liaison("PUPR"), "2026-12-02 10:00", report_progress());
    assert_eq!(events[0].body, E::ProgressReported(progress_report()));
    let ended = case.clock(Step::FollowUp, "2026-12-20 10:00");
    assert_eq!(ended.status, StepStatus::Done);
    assert!(!ended.late);
    assert_eq!(case.state().progress_reports(), 1);
    // The SOP's step clock runs on: a progress update is not the review.
    assert_eq!(
        case.clock(Step::Review, "2026-12-02 11:00").status,
        StepStatus::AtRisk
    );
}

#[test]
fn lapor_follow_up_clock_is_breached_after_five_working_days_without_a_follow_up() {
    let mut case = Case::disposed();
    let breach = || C::RecordSlaBreach(BreachReport::latest(Step::FollowUp));
    case.refuses(
        system(),
        "2026-12-07 20:00",
        breach(),
        "sla.deadline_not_passed",
    );
    let events = case.ok(system(), "2026-12-08 08:00", breach());
    let E::SlaBreached(b) = &events[0].body else {
        panic!("{:?}", events[0].body)
    };
    assert_eq!(
        (b.step, b.occurrence, b.due_at),
        (Step::FollowUp, 1, end_of("2026-12-07"))
    );
    assert_eq!(
        b.judged_by,
        Some(JudgedBy::of(&case.services.calendar, &case.services.policy))
    );
}

#[test]
fn lapor_follow_up_clock_is_also_satisfied_by_the_first_response() {
    let follow_up = Case::responded().clock(Step::FollowUp, "2026-12-20 10:00");
    assert_eq!(follow_up.status, StepStatus::Done);
    assert_eq!(follow_up.ended_at, Some(wib("2026-12-01 14:00")));
}

#[test]
fn progress_comes_from_the_assigned_liaison_and_only_before_the_response() {
    let mut case = Case::disposed();
    let at = "2026-12-01 09:00";
    case.refuses(
        other_liaison(),
        at,
        report_progress(),
        "access.not_assigned_liaison",
    );
    case.refuses(upp(), at, report_progress(), "access.role_not_permitted");
    let mut empty = progress_report();
    empty.text = "  ".into();
    case.refuses(
        liaison("PUPR"),
        at,
        C::ReportProgress(empty),
        DomainError::MissingField { field: "text" },
    );
    Case::responded().refuses(
        liaison("PUPR"),
        "2026-12-02 09:00",
        report_progress(),
        "sop.invalid_transition",
    );
}

/// SOP step 3 concludes with "a solution or response for the complainant".
#[test]
fn a_response_left_empty_after_the_ba_carries_the_ba_solution_and_its_channel() {
    let respond = |response: &str, channel| {
        C::Respond(ResponseText {
            response: response.into(),
            channel,
        })
    };
    let mut case = Case::ba_issued();
    let events = case.ok(
        liaison("PUPR"),
        "2026-12-03 09:00",
        respond("", ResponseChannel::Letter),
    );
    assert_eq!(
        events[0].body,
        E::Responded(ResponseText {
            response: berita_acara("PUPR", "2026-12-02").solution,
            channel: ResponseChannel::Letter,
        })
    );
    // Without a BA there is no solution to carry: the response must be written.
    Case::clarified(false).refuses(
        liaison("PUPR"),
        "2026-12-01 14:00",
        respond(" ", ResponseChannel::Lapor),
        DomainError::MissingField { field: "response" },
    );
}
