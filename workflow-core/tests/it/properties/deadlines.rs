//! SLA deadlines over generated instants: on working days, later with pauses, never
//! earlier as time passes, and as the SLA board indexes them.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use workflow_core::fixtures::*;
use workflow_core::sla::{assess_clock, Pause, StepClock};
use workflow_core::{SlaPolicy, Step, WorkingCalendar};

use super::config;

fn instant_strategy() -> impl Strategy<Value = DateTime<Utc>> {
    // 2024-01-01 to 2027-11-30, any minute.
    (0i64..(4 * 365 + 333) * 24 * 60).prop_map(|m| wib("2024-01-01 00:00") + Duration::minutes(m))
}

fn clock(step: Step, started_at: DateTime<Utc>, pauses: Vec<Pause>) -> StepClock {
    StepClock {
        step,
        occurrence: 1,
        started_at,
        ended_at: None,
        pauses,
        breach_recorded_at: None,
        breach_annulled_at: None,
        reported_at: None,
        verdict: None,
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_working_day_deadline_falls_on_a_working_day_at_or_after_start_plus_n_days(
        start in instant_strategy(),
        n in 1u32..20,
    ) {
        let calendar = WorkingCalendar::builtin();
        let mut policy = SlaPolicy::default();
        policy.steps.insert(Step::Review, workflow_core::sla::StepRule::working(n));
        let a = assess_clock(&clock(Step::Review, start, vec![]), "", &calendar, &policy, start);
        let start_date: NaiveDate = policy.time_zone.local_date(start);
        prop_assert!(calendar.is_working_day(a.due_date), "{} is not a working day", a.due_date);
        prop_assert!(a.due_date >= start_date + chrono::Days::new(u64::from(n)));
        prop_assert_eq!(calendar.working_days_between(start_date, a.due_date), n);
        prop_assert!(a.due_at > start);
    }

    #[test]
    fn pauses_extend_the_deadline_and_time_never_pulls_it_earlier(
        start in instant_strategy(),
        pause_after in 0i64..(10 * 24 * 60),
        pause_len in 0i64..(20 * 24 * 60),
        open in any::<bool>(),
        looks in prop::collection::vec(0i64..(40 * 24 * 60), 2..8),
    ) {
        let calendar = WorkingCalendar::builtin();
        let policy = SlaPolicy::default();
        let from = start + Duration::minutes(pause_after);
        let until = if open { None } else { Some(from + Duration::minutes(pause_len)) };
        let paused = clock(Step::Review, start, vec![Pause { from, until }]);
        let plain = clock(Step::Review, start, vec![]);
        let mut looks = looks;
        looks.sort_unstable();
        let mut previous: Option<DateTime<Utc>> = None;
        for minutes in looks {
            let now = start + Duration::minutes(minutes);
            let with_pause = assess_clock(&paused, "", &calendar, &policy, now);
            let without = assess_clock(&plain, "", &calendar, &policy, now);
            prop_assert!(with_pause.due_at >= without.due_at);
            if let Some(p) = previous {
                prop_assert!(with_pause.due_at >= p, "deadline moved earlier as time passed");
            }
            previous = Some(with_pause.due_at);
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// The indexed deadline (what the SLA board stores) agrees with the full assessment
    /// at every instant: at risk from `at_risk_from`, breached after `due_at`.
    #[test]
    fn the_indexed_deadline_agrees_with_the_assessment(
        start in instant_strategy(),
        n in 1u32..8,
        risk in 0u32..3,
        looks in prop::collection::vec(0i64..(20 * 24 * 60), 1..10),
    ) {
        let calendar = WorkingCalendar::builtin();
        let mut policy = SlaPolicy::default();
        policy.steps.insert(Step::Review, workflow_core::sla::StepRule::working(n));
        policy.at_risk_days = risk;
        let c = clock(Step::Review, start, vec![]);
        let d = workflow_core::sla::open_deadline(&c, "", &calendar, &policy).expect("running");
        for minutes in looks {
            let now = start + Duration::minutes(minutes);
            let a = assess_clock(&c, "", &calendar, &policy, now);
            prop_assert_eq!(a.due_at, d.due_at);
            let expected = if now > d.due_at {
                workflow_core::StepStatus::Breached
            } else if now >= d.at_risk_from {
                workflow_core::StepStatus::AtRisk
            } else {
                workflow_core::StepStatus::OnTrack
            };
            prop_assert_eq!(a.status, expected, "now {} at risk from {}", now, d.at_risk_from);
        }
    }
}
