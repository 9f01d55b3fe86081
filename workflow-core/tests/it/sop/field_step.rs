//! Step 3: the field verification, the BA, and the head of the agency it goes to.

use std::sync::Arc;

use workflow_core::complaint::command::{BaAcknowledgement, ComplaintCommand as C};
use workflow_core::fixtures::*;
use workflow_core::{Complaint, ComplaintServices, DomainError, EventBody as E, Role, SlaPolicy};

use super::{at_field_step, at_response, ba_on_desk};
use crate::support::given;

#[test]
fn a_field_visit_is_recorded_with_photos() {
    let visit = field_visit("2026-11-30");
    given(at_field_step())
        .when(liaison("PUPR"), C::VerifyInField(visit.clone()))
        .then(E::FieldVerified(visit));
}

#[test]
fn a_field_visit_without_a_photo_is_refused() {
    let mut only_a_scan = field_visit("2026-11-30");
    only_a_scan.evidence = vec![scan(1)];
    given(at_field_step())
        .when(liaison("PUPR"), C::VerifyInField(only_a_scan))
        .refused(DomainError::FieldVerificationNeedsPhoto);
}

#[test]
fn a_field_visit_cannot_be_dated_in_the_future() {
    given(at_field_step())
        .when(liaison("PUPR"), C::VerifyInField(field_visit("2026-12-02")))
        .refused(DomainError::VisitDateInFuture);
}

#[test]
fn no_field_visit_when_the_clarification_said_none_is_needed() {
    given(at_response())
        .when(liaison("PUPR"), C::VerifyInField(field_visit("2026-11-30")))
        .refused(DomainError::FieldVerificationNotNeeded);
}

#[test]
fn the_ba_is_issued_to_the_head_of_the_disposed_agency_after_the_visit() {
    let visited = given(at_field_step().field_verified("PUPR", "2026-11-30"));
    let ba = berita_acara("PUPR", "2026-11-30");
    visited
        .when(liaison("PUPR"), C::IssueBa(ba.clone()))
        .then(E::BaIssued(ba));

    let mut unsigned = berita_acara("PUPR", "2026-11-30");
    unsigned.signatories.clear();
    for (ba, error) in [
        (
            berita_acara("DINKES", "2026-11-30"),
            DomainError::BaAddresseeNotHeadOfDisposedAgency {
                expected: "PUPR".into(),
                addressed: "DINKES".into(),
            },
        ),
        (
            berita_acara("PUPR", "2026-11-29"),
            DomainError::BaDateBeforeVisit,
        ),
        (unsigned, DomainError::BaNeedsSignatory),
    ] {
        visited.when(liaison("PUPR"), C::IssueBa(ba)).refused(error);
    }
}

#[test]
fn no_ba_before_a_field_verification() {
    given(at_field_step())
        .when(
            liaison("PUPR"),
            C::IssueBa(berita_acara("PUPR", "2026-11-30")),
        )
        .refused(DomainError::BaRequiresFieldVerification);
}

/// SOP step 3: the BA goes "kepada Kepala OPD"; the head of that agency acknowledges it,
/// once, and no one else may.
#[test]
fn the_head_of_the_agency_acknowledges_the_ba_addressed_to_them() {
    let ack = BaAcknowledgement {
        note: Some("Segera tambal".into()),
    };
    let acknowledge = || C::AcknowledgeBa(ack.clone());
    given(ba_on_desk())
        .when(head("PUPR"), acknowledge())
        .then(E::BaAcknowledged(ack.clone()));
    given(ba_on_desk())
        .when(head("DINKES"), acknowledge())
        .refused(DomainError::NotYourAgency {
            disposed_to: Some("PUPR".into()),
        });
    given(ba_on_desk())
        .when(liaison("PUPR"), acknowledge())
        .refused(DomainError::RoleNotPermitted {
            role: Role::Liaison,
            command: "acknowledge the BA of",
        });
    given(ba_on_desk().then(head("PUPR"), E::BaAcknowledged(ack.clone())))
        .when(head("PUPR"), acknowledge())
        .refused(DomainError::BaAlreadyAcknowledged);
    // A head does nothing else.
    given(ba_on_desk())
        .when(head("PUPR"), C::Respond(response_text()))
        .refused(DomainError::ReadOnlyRole { role: Role::Head });
}

/// A policy flag decides whether the response may go out before the head acknowledged
/// the BA (by default it may).
#[test]
fn the_response_may_wait_for_the_heads_acknowledgement_by_policy() {
    let policy = SlaPolicy {
        response_requires_ba_acknowledgement: true,
        ..Default::default()
    };
    let services = ComplaintServices {
        policy: Arc::new(policy),
        ..ComplaintServices::builtin()
    };
    let story = ba_on_desk();
    let respond = cmd(
        "r",
        liaison("PUPR"),
        story.now(),
        C::Respond(response_text()),
    );
    let state = Complaint::from_events(&story.events());
    assert_eq!(
        state.decide(&respond, &services),
        Err(DomainError::ResponseAwaitsBaAcknowledgement)
    );
    assert!(state
        .decide(&respond, &ComplaintServices::builtin())
        .is_ok());
    let state = Complaint::from_events(&story.ba_acknowledged("PUPR").events());
    assert!(state.ba_acknowledged());
    assert_eq!(state.decide(&respond, &services).map(|e| e.len()), Ok(1));
}
