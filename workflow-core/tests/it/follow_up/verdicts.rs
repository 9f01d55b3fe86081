//! Clocks that reconcile with LAPOR!, verdicts that hold once a clock has ended, and
//! breaches annulled.

use workflow_core::complaint::command::{
    BreachAnnulment, BreachReport, Closure, ComplaintCommand as C,
};
use workflow_core::fixtures::*;
use workflow_core::sla::{CountsFrom, JudgedBy};
use workflow_core::{ComplaintServices, DomainError, RefusalKind, SlaPolicy, Step};

use crate::support::{latest, with_extra_holidays, Case};

/// Step 1 counts from the report's arrival in LAPOR! (a policy option may choose
/// the registration).
#[test]
fn step_1_counts_from_the_reports_arrival_in_lapor_unless_the_policy_says_registration() {
    let mut reported_friday = registration();
    reported_friday.reported_at = wib("2026-11-27 20:00");
    let mut case = Case::new();
    let register = C::Register(reported_friday);
    case.ok(upp(), "2026-11-30 09:00", register.clone());
    // From Friday 27 Nov: Mon 30, Tue 1, Wed 2 Dec.
    let a = case.clock(Step::Disposition, "2026-11-30 10:00");
    assert_eq!(a.due_at, end_of("2026-12-02"));
    assert_eq!(a.started_at, wib("2026-11-30 09:00"));

    let policy = SlaPolicy {
        disposition_counts_from: CountsFrom::Registered,
        ..SlaPolicy::default()
    };
    let mut by_registration = Case::with(ComplaintServices {
        policy: policy.into(),
        ..ComplaintServices::builtin()
    });
    by_registration.ok(upp(), "2026-11-30 09:00", register);
    let a = by_registration.clock(Step::Disposition, "2026-11-30 10:00");
    assert_eq!(a.due_at, end_of("2026-12-03"));
}

/// A clock that has ended keeps the verdict it had when it ended: a later change of the
/// holiday table recomputes only running clocks, and the verdict cites the versions of
/// the table and policy that judged it.
#[test]
fn an_ended_clock_keeps_its_verdict_when_the_holiday_table_changes_later() {
    let mut case = Case::registered();
    // Disposed late on Friday 4 Dec: step 1 was due Thursday 3 Dec.
    let events = case.ok(upp(), "2026-12-04 10:00", C::Dispose(disposition("PUPR")));
    let judged = JudgedBy::of(&case.services.calendar, &case.services.policy);
    let verdict = events[0]
        .verdicts
        .iter()
        .find(|v| v.step == Step::Disposition)
        .expect("the disposition ends step 1 and records its verdict");
    assert_eq!((verdict.late, verdict.due_at), (true, end_of("2026-12-03")));
    assert_eq!(verdict.judged_by, judged);

    // Later the table gains holidays on 1-3 Dec: step 1 would now be due 8 Dec.
    let amended = with_extra_holidays(&["2026-12-01", "2026-12-02", "2026-12-03"]);
    let later = case.assess_under(&amended, "2026-12-05 09:00");
    let step1 = latest(&later, Step::Disposition);
    assert!(step1.late, "the ended clock keeps its verdict");
    assert_eq!(step1.due_at, end_of("2026-12-03"));
    assert_eq!(step1.judged_by, Some(judged));
    // The running review clock is recomputed with the new table: disposed Fri 4 Dec,
    // due Wed 9 Dec either way (no new holiday after the 4th)...
    let review = latest(&later, Step::Review);
    assert_eq!(review.judged_by, None);
    // ...but a running step-1 clock of another complaint moves.
    let running = Case::registered().assess_under(&amended, "2026-11-30 10:00");
    let moved = latest(&running, Step::Disposition);
    assert_eq!(moved.due_at, end_of("2026-12-08"));
}

/// The verdict is read from the log alone: every event that ends a clock carries it,
/// and replaying the stored events rebuilds the same verdicts.
#[test]
fn every_ended_clock_carries_its_verdict_in_the_event_that_ended_it() {
    let mut case = Case::responded();
    case.ok(upp(), "2026-12-02 09:00", C::RecordFeedback(feedback(true)));
    case.ok(upp(), "2026-12-02 09:30", C::Close(Closure::default()));
    let state = case.state();
    for clock in &state.timeline().clocks {
        assert!(
            clock.ended_at.is_some(),
            "{} still running after the close",
            clock.step
        );
        let verdict = clock
            .verdict
            .as_ref()
            .unwrap_or_else(|| panic!("{} run {} has no verdict", clock.step, clock.occurrence));
        let carried = case
            .log
            .iter()
            .filter(|e| e.at == clock.ended_at.unwrap())
            .flat_map(|e| &e.verdicts)
            .any(|v| v == verdict);
        assert!(
            carried,
            "the {} verdict is not in the event that ended it",
            clock.step
        );
    }
}

/// The coordinator may annul a recorded breach with a reason: an event; the breach
/// stays in history, marked annulled.
#[test]
fn the_coordinator_annuls_a_recorded_breach_which_stays_in_history_marked_annulled() {
    let annul = || {
        C::AnnulBreach(BreachAnnulment {
            step: Step::Disposition,
            occurrence: 1,
            reason: "LAPOR! tidak dapat diakses 1-3 Desember".into(),
        })
    };
    let breach = || C::RecordSlaBreach(BreachReport::latest(Step::Disposition));
    let mut case = Case::registered();
    let not_recorded = DomainError::BreachNotRecorded {
        step: Step::Disposition,
        occurrence: 1,
    };
    case.refuses(coordinator(), "2026-12-04 08:00", annul(), not_recorded);
    case.ok(system(), "2026-12-04 08:00", breach());
    case.refuses(
        upp(),
        "2026-12-04 09:00",
        annul(),
        "access.role_not_permitted",
    );
    case.ok(coordinator(), "2026-12-04 09:00", annul());
    let a = case.clock(Step::Disposition, "2026-12-04 10:00");
    assert!(a.breach_recorded && a.breach_annulled);
    // As of before the annulment, the breach was not annulled.
    let before = case.clock(Step::Disposition, "2026-12-04 08:30");
    assert!(before.breach_recorded && !before.breach_annulled);
    let annulled = DomainError::BreachAlreadyAnnulled {
        step: Step::Disposition,
        occurrence: 1,
    };
    case.refuses(coordinator(), "2026-12-04 11:00", annul(), annulled);
    // The monitor does not record the annulled breach again.
    let recorded = DomainError::BreachAlreadyRecorded {
        step: Step::Disposition,
    };
    case.refuses(system(), "2026-12-04 12:00", breach(), recorded);
}

#[test]
fn the_new_commands_keep_their_rule_codes_for_http() {
    // Each refusal above surfaces over HTTP as a problem naming these rules; the codes
    // are part of the contract.
    for (error, rule, kind) in [
        (
            DomainError::NotAssignedLiaison {
                assigned: "x".into(),
            },
            "access.not_assigned_liaison",
            RefusalKind::Forbidden,
        ),
        (
            DomainError::EscalatedToCoordinator,
            "sop.step1.escalated_to_coordinator",
            RefusalKind::Forbidden,
        ),
        (
            DomainError::CoordinatorDecided,
            "sop.return.coordinator_decided",
            RefusalKind::RuleViolated,
        ),
        (
            DomainError::ReopenRequiresDissatisfiedFeedback,
            "sop.reopen.requires_dissatisfied_feedback",
            RefusalKind::RuleViolated,
        ),
    ] {
        assert_eq!((error.rule(), error.kind()), (rule, kind));
    }
}
