//! Deadlines and statuses of the SLA clocks, against the shipped Indonesian calendar.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use workflow_core::calendar::HolidayTable;
use workflow_core::fixtures::*;
use workflow_core::sla::{assess, StepAssessment, StepRule};
use workflow_core::{Complaint, EventBody as E, SlaPolicy, Step, StepStatus, WorkingCalendar};

fn end_of(local_date: &str) -> DateTime<Utc> {
    wib(&format!("{local_date} 23:59")) + Duration::seconds(59)
}

fn assess_story(
    story: &Story,
    calendar: &WorkingCalendar,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> Vec<StepAssessment> {
    assess(
        Complaint::from_events(&story.events()).timeline(),
        calendar,
        policy,
        now,
    )
}

fn latest(assessments: &[StepAssessment], step: Step) -> StepAssessment {
    assessments
        .iter()
        .rev()
        .find(|a| a.step == step)
        .cloned()
        .unwrap_or_else(|| panic!("no {step} clock in {assessments:#?}"))
}

fn builtin() -> (WorkingCalendar, SlaPolicy) {
    (WorkingCalendar::builtin(), SlaPolicy::default())
}

#[test]
fn disposition_is_due_three_working_days_after_registration() {
    let (cal, policy) = builtin();
    let story = Story::starting(wib("2026-11-30 09:00")).registered();
    let a = latest(
        &assess_story(&story, &cal, &policy, wib("2026-11-30 10:00")),
        Step::Disposition,
    );
    assert_eq!(a.due_date, date("2026-12-03"));
    assert_eq!(a.due_at, end_of("2026-12-03"));
    assert_eq!(a.status, StepStatus::OnTrack);
}

#[test]
fn a_weekend_registration_counts_from_the_next_working_days() {
    let (cal, policy) = builtin();
    // Saturday 28 Nov: Mon 30 (1), Tue 1 (2), Wed 2 Dec (3).
    let story = Story::starting(wib("2026-11-28 11:00")).registered();
    let a = latest(
        &assess_story(&story, &cal, &policy, wib("2026-11-28 12:00")),
        Step::Disposition,
    );
    assert_eq!(a.due_date, date("2026-12-02"));
}

#[test]
fn christmas_and_its_cuti_bersama_do_not_count() {
    let (cal, policy) = builtin();
    // Wed 23 Dec 2026: 24 (cuti bersama) and 25 (Natal) are off, then the weekend:
    // Mon 28 (1), Tue 29 (2), Wed 30 (3).
    let story = Story::starting(wib("2026-12-23 09:00")).registered();
    let a = latest(
        &assess_story(&story, &cal, &policy, wib("2026-12-23 10:00")),
        Step::Disposition,
    );
    assert_eq!(a.due_date, date("2026-12-30"));
}

#[test]
fn status_moves_from_on_track_to_at_risk_to_breached() {
    let (cal, policy) = builtin();
    let story = Story::starting(wib("2026-11-30 09:00")).registered();
    let status_at = |t: &str| {
        latest(
            &assess_story(&story, &cal, &policy, wib(t)),
            Step::Disposition,
        )
        .status
    };
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
    let (cal, policy) = builtin();
    // Disposed Mon 30 Nov 10:00: review due Thu 3 Dec. Information requested on Tue 1 Dec,
    // provided Thu 3 Dec: Wed 2 and Thu 3 are added, so the review is due Mon 7 Dec.
    let story = Story::starting(wib("2026-11-30 09:00"))
        .registered()
        .disposed_to("PUPR")
        .at(wib("2026-12-01 10:00"))
        .reviewed("PUPR", false)
        .then(
            liaison("PUPR"),
            E::InformationRequested(information_request()),
        );
    let paused = latest(
        &assess_story(&story, &cal, &policy, wib("2026-12-02 15:00")),
        Step::Review,
    );
    assert_eq!(paused.status, StepStatus::Paused);
    assert_eq!(paused.paused_days, 1);

    let resumed = story
        .at(wib("2026-12-03 09:00"))
        .then(upp(), E::InformationProvided(information_reply()));
    let a = latest(
        &assess_story(&resumed, &cal, &policy, wib("2026-12-03 10:00")),
        Step::Review,
    );
    assert_eq!(a.paused_days, 2);
    assert_eq!(a.due_date, date("2026-12-07"));
    assert_ne!(a.status, StepStatus::Paused);
}

#[test]
fn a_change_of_the_holiday_table_recomputes_running_deadlines() {
    let policy = SlaPolicy::default();
    let story = Story::starting(wib("2026-11-30 09:00")).registered();
    let now = wib("2026-11-30 10:00");
    let before = latest(
        &assess_story(&story, &WorkingCalendar::builtin(), &policy, now),
        Step::Disposition,
    );
    let amendment = HolidayTable::parse(
        "date,kind,name_id,name_en,source\n\
         2026-12-02,cuti_bersama,Cuti Bersama Pilkada,Local election leave,Keppres contoh\n",
    )
    .unwrap();
    let amended = WorkingCalendar::new(HolidayTable::builtin().amended_by(&amendment));
    let after = latest(
        &assess_story(&story, &amended, &policy, now),
        Step::Disposition,
    );
    assert_eq!(before.due_date, date("2026-12-03"));
    assert_eq!(after.due_date, date("2026-12-04"));
}

#[test]
fn the_overall_cap_runs_sixty_calendar_days_from_the_complete_file() {
    let (cal, policy) = builtin();
    let story = Story::starting(wib("2026-11-30 09:00"))
        .registered()
        .disposed_to("PUPR")
        .at(wib("2026-12-01 10:00"))
        .reviewed("PUPR", true);
    let a = latest(
        &assess_story(&story, &cal, &policy, wib("2026-12-01 11:00")),
        Step::Overall,
    );
    assert_eq!(a.due_date, date("2027-01-30"));
    assert_eq!(a.status, StepStatus::OnTrack);
}

#[test]
fn a_category_can_have_its_own_durations() {
    let cal = WorkingCalendar::builtin();
    let mut policy = SlaPolicy::default();
    policy.by_category.insert(
        "infrastruktur".into(),
        BTreeMap::from([(Step::Disposition, StepRule::working(1))]),
    );
    let story = Story::starting(wib("2026-11-30 09:00")).registered();
    let a = latest(
        &assess_story(&story, &cal, &policy, wib("2026-11-30 10:00")),
        Step::Disposition,
    );
    assert_eq!(a.due_date, date("2026-12-01"));
}

#[test]
fn a_step_done_late_is_done_and_late() {
    let (cal, policy) = builtin();
    let story = Story::starting(wib("2026-11-30 09:00"))
        .registered()
        .at(wib("2026-12-07 09:00"))
        .disposed_to("PUPR");
    let all = assess_story(&story, &cal, &policy, wib("2026-12-07 12:00"));
    let d = latest(&all, Step::Disposition);
    assert_eq!(d.status, StepStatus::Done);
    assert!(d.late);
    assert!(d.breach_to_record());
    let r = latest(&all, Step::Review);
    assert_eq!(r.due_date, date("2026-12-10"));
}

#[test]
fn a_redisposition_starts_step_one_again_as_a_new_occurrence() {
    let (cal, policy) = builtin();
    let story = Story::starting(wib("2026-11-30 09:00"))
        .registered()
        .disposed_to("DISHUB")
        .then(liaison("DISHUB"), E::Returned(return_note()));
    let all = assess_story(&story, &cal, &policy, wib("2026-11-30 13:00"));
    let disposition_runs: Vec<_> = all.iter().filter(|a| a.step == Step::Disposition).collect();
    assert_eq!(disposition_runs.len(), 2);
    assert_eq!(disposition_runs[1].occurrence, 2);
    assert_eq!(disposition_runs[1].status, StepStatus::OnTrack);
    assert_eq!(latest(&all, Step::Review).status, StepStatus::Done);
}

#[test]
fn deadlines_beyond_the_holiday_table_are_flagged() {
    let (cal, policy) = builtin();
    let story = Story::starting(wib("2027-12-29 09:00")).registered();
    let a = latest(
        &assess_story(&story, &cal, &policy, wib("2027-12-29 10:00")),
        Step::Disposition,
    );
    assert!(a.beyond_holiday_table, "{a:?}");
}

/// The default services carry the shipped holiday table: a deadline computed without
/// naming a calendar still skips Christmas and the cuti bersama after it. A calendar
/// without holidays must be asked for by name.
#[test]
fn the_default_services_know_the_holidays_and_an_empty_calendar_is_explicit() {
    let default = workflow_core::ComplaintServices::default();
    let christmas = chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap();
    assert!(!default.calendar.is_working_day(christmas));
    assert_eq!(
        default.calendar.table(),
        workflow_core::WorkingCalendar::builtin().table()
    );
    assert!(workflow_core::WorkingCalendar::weekdays_only().is_working_day(christmas));
}
