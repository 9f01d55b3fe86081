//! Registration: UPP records the complaint as it arrives from LAPOR!.

use workflow_core::complaint::command::{ComplaintCommand as C, Registration};
use workflow_core::fixtures::*;
use workflow_core::{DomainError, EventBody as E};

use super::start;
use crate::support::given;

#[test]
fn upp_registers_a_complaint_from_lapor() {
    given(start())
        .when(upp(), C::Register(registration()))
        .then_exactly(E::Received(registration()));
}

#[test]
fn only_upp_registers() {
    for actor in [liaison("PUPR"), coordinator(), system()] {
        let role = actor.role;
        given(start())
            .when(actor, C::Register(registration()))
            .refused(DomainError::RoleNotPermitted {
                role,
                command: "register",
            });
    }
}

#[test]
fn a_complaint_is_registered_once() {
    given(start().registered())
        .when(upp(), C::Register(registration()))
        .refused(DomainError::AlreadyRegistered);
}

#[test]
fn registration_needs_upp_review_and_well_formed_attachments() {
    let mut no_review = registration();
    no_review.upp_review = "  ".into();
    given(start())
        .when(upp(), C::Register(no_review))
        .refused(DomainError::MissingField {
            field: "upp_review",
        });
    let mut bad_attachment = registration();
    bad_attachment.attachments[0].sha256 = "not-a-digest".into();
    given(start())
        .when(upp(), C::Register(bad_attachment))
        .refused(DomainError::MalformedEvidence {
            sha256: "not-a-digest".into(),
        });
}

#[test]
fn nothing_but_registration_applies_to_an_unknown_complaint() {
    given(start())
        .when(upp(), C::Dispose(disposition("PUPR")))
        .refused(DomainError::NotRegistered);
}

/// LAPOR!-SP4N: the report reaches LAPOR! before the unit registers it; a date after the
/// registration, or before 2000, is a wrong date that would move every clock.
#[test]
fn a_report_dated_after_its_registration_or_before_2000_is_refused() {
    let now = start().now();
    let reported_at = |at| Registration {
        reported_at: at,
        ..registration()
    };
    let future = wib("2026-11-30 09:01");
    given(start())
        .when(upp(), C::Register(reported_at(future)))
        .refused(DomainError::ReportedAfterRegistration {
            reported_at: future,
            registered_at: now,
        });
    let ancient = wib("1999-12-31 09:00");
    given(start())
        .when(upp(), C::Register(reported_at(ancient)))
        .refused(DomainError::ReportedAtImplausible {
            reported_at: ancient,
        });
    given(start())
        .when(upp(), C::Register(reported_at(now)))
        .then_exactly(E::Received(reported_at(now)));
}
