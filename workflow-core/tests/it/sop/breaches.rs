//! SLA breaches, as the engine records them once a deadline has passed.

use workflow_core::complaint::command::{BreachReport, ComplaintCommand as C};
use workflow_core::complaint::event::SlaBreach;
use workflow_core::fixtures::*;
use workflow_core::sla::JudgedBy;
use workflow_core::{ComplaintServices, DomainError, EventBody as E, Role, Step};

use super::start;
use crate::support::given;

fn record_breach_of(step: Step) -> C {
    C::RecordSlaBreach(BreachReport::latest(step))
}

#[test]
fn the_engine_records_a_breach_once_the_deadline_has_passed() {
    // Registered Monday 30 Nov 09:00: disposition due Thursday 3 Dec 23:59:59 WIB.
    let due = end_of("2026-12-03");
    let breach = |judged_by| SlaBreach {
        step: Step::Disposition,
        occurrence: 1,
        due_at: due,
        judged_by,
    };
    given(start().registered().at(wib("2026-12-03 23:00")))
        .when(system(), record_breach_of(Step::Disposition))
        .refused(DomainError::DeadlineNotPassed {
            step: Step::Disposition,
            due_at: due,
        });
    let late = start().registered().at(wib("2026-12-04 08:00"));
    let services = ComplaintServices::builtin();
    let judged_by = JudgedBy::of(&services.calendar, &services.policy);
    given(late.clone())
        .when(system(), record_breach_of(Step::Disposition))
        .then(E::SlaBreached(breach(Some(judged_by))));
    given(late.then(system(), E::SlaBreached(breach(None))))
        .when(system(), record_breach_of(Step::Disposition))
        .refused(DomainError::BreachAlreadyRecorded {
            step: Step::Disposition,
        });
}

#[test]
fn only_the_engine_records_breaches_and_only_of_started_duties() {
    let late = given(start().registered().at(wib("2026-12-10 08:00")));
    late.when(upp(), record_breach_of(Step::Disposition))
        .refused(DomainError::RoleNotPermitted {
            role: Role::Upp,
            command: "record an SLA breach of",
        });
    late.when(system(), record_breach_of(Step::FieldVerification))
        .refused(DomainError::StepNotStarted {
            step: Step::FieldVerification,
        });
    late.when(system(), record_breach_of(Step::Feedback))
        .refused(DomainError::StepNotBreachable {
            step: Step::Feedback,
        });
}

#[test]
fn a_step_completed_late_can_still_have_its_breach_recorded() {
    // Disposed on Monday 7 December, four working days after registration.
    let late_disposal = start()
        .registered()
        .at(wib("2026-12-07 10:00"))
        .disposed_to("PUPR");
    let result = given(late_disposal)
        .when(system(), record_breach_of(Step::Disposition))
        .result()
        .expect("a late disposition is a breach");
    assert!(matches!(&result[0].body, E::SlaBreached(b) if b.step == Step::Disposition));
}
