//! The door: not every complaint goes to a liaison officer. UPP archives, forwards and
//! records withdrawals.

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{Complaint, DomainError, EventBody as E, Role, Status};

use super::{at_review, responded, start};
use crate::support::given;

/// UPP archives at the door, with its reason: a duplicate names the original.
#[test]
fn upp_archives_at_the_door_a_duplicate_naming_its_original() {
    let registered = given(start().registered());
    for archiving in [duplicate_of("ADU-2026-0001"), spam()] {
        registered
            .when(upp(), C::Archive(archiving.clone()))
            .then(E::Archived(archiving));
    }
    let mut unnamed = duplicate_of("x");
    unnamed.duplicate_of = None;
    let mut spam_naming = spam();
    spam_naming.duplicate_of = Some("ADU-2026-0001".into());
    for archiving in [unnamed, spam_naming] {
        registered
            .when(upp(), C::Archive(archiving))
            .refused(DomainError::DuplicateOfMismatch);
    }
    // Only UPP, and only at the door: once a liaison officer holds it, no.
    registered
        .when(coordinator(), C::Archive(spam()))
        .refused(DomainError::RoleNotPermitted {
            role: Role::Coordinator,
            command: "archive",
        });
    given(at_review("PUPR"))
        .when(upp(), C::Archive(spam()))
        .refused(DomainError::InvalidTransition {
            command: "archive",
            status: Status::Disposed,
        });
}

/// UPP or the coordinator forwards at the door to an institution outside the Pemkab.
#[test]
fn a_complaint_for_another_institution_is_forwarded_at_the_door() {
    let registered = given(start().registered());
    for actor in [upp(), coordinator()] {
        registered
            .when(actor, C::Forward(forwarding()))
            .then(E::Forwarded(forwarding()));
    }
    let mut nameless = forwarding();
    nameless.institution.clear();
    registered
        .when(upp(), C::Forward(nameless))
        .refused(DomainError::MissingField {
            field: "institution",
        });
}

/// The complainant may withdraw at any point before the end; UPP records it.
#[test]
fn the_complainant_withdraws_at_any_point_before_the_end() {
    for story in [start().registered(), at_review("PUPR"), responded()] {
        given(story)
            .when(upp(), C::Withdraw(withdrawal()))
            .then(E::Withdrawn(withdrawal()));
    }
    given(start().registered().withdrawn())
        .when(upp(), C::Dispose(disposition("PUPR")))
        .refused(DomainError::InvalidTransition {
            command: "dispose",
            status: Status::Withdrawn,
        });
}

/// Leaving at the door ends every running clock: nothing stays on the SLA board.
#[test]
fn leaving_the_workflow_ends_every_clock() {
    for body in [
        E::Archived(spam()),
        E::Withdrawn(withdrawal()),
        E::Forwarded(forwarding()),
    ] {
        let story = at_review("PUPR").then(upp(), body);
        let state = Complaint::from_events(&story.events());
        assert!(state.status().is_terminal());
        assert!(
            state.timeline().clocks.iter().all(|c| c.ended_at.is_some()),
            "{:?}",
            state.timeline()
        );
    }
}
