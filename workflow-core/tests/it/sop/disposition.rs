//! Step 1, the disposition to a liaison officer, and who may act for which agency.

use workflow_core::complaint::command::{ComplaintCommand as C, Disposition};
use workflow_core::fixtures::*;
use workflow_core::{AgencyCode, DomainError, EventBody as E, Role};

use super::{at_review, start};
use crate::support::given;

#[test]
fn upp_or_the_coordinator_disposes_to_a_liaison_officer() {
    for actor in [upp(), coordinator()] {
        given(start().registered())
            .when(actor, C::Dispose(disposition("PUPR")))
            .then(E::Disposed(disposition("PUPR")));
    }
}

#[test]
fn a_liaison_officer_cannot_dispose() {
    given(start().registered())
        .when(liaison("PUPR"), C::Dispose(disposition("PUPR")))
        .refused(DomainError::RoleNotPermitted {
            role: Role::Liaison,
            command: "dispose",
        });
}

#[test]
fn a_complaint_may_be_redisposed_before_review_but_not_to_the_same_agency() {
    given(at_review("DISHUB"))
        .when(upp(), C::Dispose(disposition("PUPR")))
        .then(E::Disposed(disposition("PUPR")));
    given(at_review("PUPR"))
        .when(upp(), C::Dispose(disposition("PUPR")))
        .refused(DomainError::AlreadyDisposedTo {
            agency: "PUPR".into(),
        });
}

#[test]
fn disposition_needs_a_liaison_officer() {
    let no_officer = Disposition {
        liaison_officer: "".into(),
        ..disposition("PUPR")
    };
    given(start().registered())
        .when(upp(), C::Dispose(no_officer))
        .refused(DomainError::MissingField {
            field: "liaison_officer",
        });
}

#[test]
fn the_wrong_agency_returns_it_and_upp_disposes_again() {
    given(at_review("DISHUB"))
        .when(liaison("DISHUB"), C::ReturnForRedisposition(return_note()))
        .then(E::Returned(return_note()));
    let returned = given(at_review("DISHUB").returned("DISHUB"));
    returned
        .when(upp(), C::Dispose(disposition("PUPR")))
        .then(E::Disposed(disposition("PUPR")));
    // Once returned, DISHUB no longer holds the complaint.
    returned
        .when(liaison("DISHUB"), C::Review(complete_review()))
        .refused(DomainError::NotYourAgency { disposed_to: None });
}

#[test]
fn a_return_needs_a_reason() {
    let mut note = return_note();
    note.reason.clear();
    given(at_review("DISHUB"))
        .when(liaison("DISHUB"), C::ReturnForRedisposition(note))
        .refused(DomainError::MissingField { field: "reason" });
}

// --- Roles and agencies -----------------------------------------------------------

#[test]
fn apip_and_the_head_of_agency_change_nothing() {
    for actor in [apip(), head("PUPR")] {
        let role = actor.role;
        given(at_review("PUPR"))
            .when(actor, C::Review(complete_review()))
            .refused(DomainError::ReadOnlyRole { role });
    }
}

#[test]
fn a_liaison_officer_acts_only_for_their_own_agency() {
    given(at_review("PUPR"))
        .when(liaison("DINKES"), C::Review(complete_review()))
        .refused(DomainError::NotYourAgency {
            disposed_to: Some(AgencyCode::from("PUPR")),
        });
}

#[test]
fn a_liaison_officer_cannot_act_before_disposition() {
    given(start().registered())
        .when(liaison("PUPR"), C::Review(complete_review()))
        .refused(DomainError::NotYourAgency { disposed_to: None });
}
