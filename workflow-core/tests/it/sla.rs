//! Deadlines and statuses of the SLA clocks, against the shipped Indonesian calendar.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use workflow_core::fixtures::*;
use workflow_core::sla::{assess, StepAssessment, StepRule};
use workflow_core::{Complaint, ComplaintServices, SlaPolicy, Step, StepStatus, WorkingCalendar};

use crate::support::{latest, with_extra_holidays};

fn registered_at(local: &str) -> Story {
    Story::starting(wib(local)).registered()
}

/// The clocks of `story` as of `now`, counted with `calendar` under `policy`.
fn clocks_under(
    calendar: &WorkingCalendar,
    policy: &SlaPolicy,
    story: &Story,
    now: DateTime<Utc>,
) -> Vec<StepAssessment> {
    let state = Complaint::from_events(&story.events());
    assess(state.timeline(), calendar, policy, now)
}

/// [`clocks_under`] the shipped calendar and the default policy.
fn clocks(story: &Story, now: DateTime<Utc>) -> Vec<StepAssessment> {
    clocks_under(
        &WorkingCalendar::builtin(),
        &SlaPolicy::default(),
        story,
        now,
    )
}

/// The latest run of `step`'s clock among [`clocks`].
#[track_caller]
fn clock(story: &Story, step: Step, now: DateTime<Utc>) -> StepAssessment {
    latest(&clocks(story, now), step)
}

/// Step 1's clock of a complaint registered at `local` (WIB), an hour later.
#[track_caller]
fn step_1_registered_at(local: &str) -> StepAssessment {
    let story = registered_at(local);
    clock(&story, Step::Disposition, story.now())
}

#[test]
fn disposition_is_due_three_working_days_after_registration() {
    let a = step_1_registered_at("2026-11-30 09:00");
    assert_eq!(a.due_date, date("2026-12-03"));
    assert_eq!(a.due_at, end_of("2026-12-03"));
    assert_eq!(a.status, StepStatus::OnTrack);
}

#[test]
fn a_weekend_registration_counts_from_the_next_working_days() {
    // Saturday 28 Nov: Mon 30 (1), Tue 1 (2), Wed 2 Dec (3).
    let a = step_1_registered_at("2026-11-28 11:00");
    assert_eq!(a.due_date, date("2026-12-02"));
}

#[test]
fn christmas_and_its_cuti_bersama_do_not_count() {
    // Wed 23 Dec 2026: 24 (cuti bersama) and 25 (Natal) are off, then the weekend:
    // Mon 28 (1), Tue 29 (2), Wed 30 (3).
    let a = step_1_registered_at("2026-12-23 09:00");
    assert_eq!(a.due_date, date("2026-12-30"));
}

#[test]
fn status_moves_from_on_track_to_at_risk_to_breached() {
    let story = registered_at("2026-11-30 09:00");
    let status_at = |t| clock(&story, Step::Disposition, wib(t)).status;
    assert_eq!(status_at("2026-12-01 09:00"), StepStatus::OnTrack);
    assert_eq!(
        status_at("2026-12-02 09:00"),
        StepStatus::AtRisk,
        "one working day left"
    );
    assert_eq!(
        status_at("2026-12-03 23:00"),
        StepStatus::AtRisk,
        "due today"
    );
    assert_eq!(status_at("2026-12-04 00:00"), StepStatus::Breached);
}

#[test]
fn waiting_for_the_complainant_pauses_and_extends_the_review_deadline() {
    // Disposed Mon 30 Nov 10:00: review due Thu 3 Dec. Information requested on Tue 1 Dec,
    // provided Thu 3 Dec: Wed 2 and Thu 3 are added, so the review is due Mon 7 Dec.
    let story = registered_at("2026-11-30 09:00")
        .disposed_to("PUPR")
        .at(wib("2026-12-01 10:00"))
        .reviewed("PUPR", false)
        .information_requested("PUPR");
    let paused = clock(&story, Step::Review, wib("2026-12-02 15:00"));
    assert_eq!(paused.status, StepStatus::Paused);
    assert_eq!(paused.paused_days, 1);

    let resumed = story.at(wib("2026-12-03 09:00")).information_provided();
    let a = clock(&resumed, Step::Review, wib("2026-12-03 10:00"));
    assert_eq!(a.paused_days, 2);
    assert_eq!(a.due_date, date("2026-12-07"));
    assert_ne!(a.status, StepStatus::Paused);
}

#[test]
fn a_change_of_the_holiday_table_recomputes_running_deadlines() {
    let policy = SlaPolicy::default();
    let story = registered_at("2026-11-30 09:00");
    let step_1_with = |calendar: &WorkingCalendar| {
        let all = clocks_under(calendar, &policy, &story, story.now());
        latest(&all, Step::Disposition)
    };
    let before = step_1_with(&WorkingCalendar::builtin());
    let after = step_1_with(&with_extra_holidays(&["2026-12-02"]));
    assert_eq!(before.due_date, date("2026-12-03"));
    assert_eq!(after.due_date, date("2026-12-04"));
}

#[test]
fn the_overall_cap_runs_sixty_calendar_days_from_the_complete_file() {
    let story = registered_at("2026-11-30 09:00")
        .disposed_to("PUPR")
        .at(wib("2026-12-01 10:00"))
        .reviewed("PUPR", true);
    let a = clock(&story, Step::Overall, story.now());
    assert_eq!(a.due_date, date("2027-01-30"));
    assert_eq!(a.status, StepStatus::OnTrack);
}

#[test]
fn a_category_can_have_its_own_durations() {
    let mut policy = SlaPolicy::default();
    policy.by_category.insert(
        "infrastruktur".into(),
        BTreeMap::from([(Step::Disposition, StepRule::working(1))]),
    );
    let story = registered_at("2026-11-30 09:00");
    let all = clocks_under(&WorkingCalendar::builtin(), &policy, &story, story.now());
    assert_eq!(latest(&all, Step::Disposition).due_date, date("2026-12-01"));
}

#[test]
fn a_step_done_late_is_done_and_late() {
    let story = registered_at("2026-11-30 09:00")
        .at(wib("2026-12-07 09:00"))
        .disposed_to("PUPR");
    let all = clocks(&story, wib("2026-12-07 12:00"));
    let d = latest(&all, Step::Disposition);
    assert_eq!(d.status, StepStatus::Done);
    assert!(d.late);
    assert!(d.breach_to_record());
    let r = latest(&all, Step::Review);
    assert_eq!(r.due_date, date("2026-12-10"));
}

#[test]
fn a_redisposition_starts_step_one_again_as_a_new_occurrence() {
    let story = registered_at("2026-11-30 09:00")
        .disposed_to("DISHUB")
        .returned("DISHUB");
    let all = clocks(&story, wib("2026-11-30 13:00"));
    let disposition_runs: Vec<_> = all.iter().filter(|a| a.step == Step::Disposition).collect();
    assert_eq!(disposition_runs.len(), 2);
    assert_eq!(disposition_runs[1].occurrence, 2);
    assert_eq!(disposition_runs[1].status, StepStatus::OnTrack);
    assert_eq!(latest(&all, Step::Review).status, StepStatus::Done);
}

#[test]
fn deadlines_beyond_the_holiday_table_are_flagged() {
    let a = step_1_registered_at("2027-12-29 09:00");
    assert!(a.beyond_holiday_table, "{a:?}");
}

/// The default services carry the shipped holiday table: a deadline computed without
/// naming a calendar still skips Christmas and the cuti bersama after it. A calendar
/// without holidays must be asked for by name.
#[test]
fn the_default_services_know_the_holidays_and_an_empty_calendar_is_explicit() {
    let default = ComplaintServices::default();
    let christmas = date("2026-12-25");
    assert!(!default.calendar.is_working_day(christmas));
    assert_eq!(default.calendar.table(), WorkingCalendar::builtin().table());
    assert!(WorkingCalendar::weekdays_only().is_working_day(christmas));
}
