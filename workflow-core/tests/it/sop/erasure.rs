//! Erasing the complainant's identity (UU 27/2022): who may, on what, how often, and
//! that the workflow goes on.

use workflow_core::complainant::{Identity, SealedIdentity};
use workflow_core::complaint::command::{ComplaintCommand as C, IdentityErasure};
use workflow_core::fixtures::*;
use workflow_core::{DomainError, EventBody, Role};

use super::{at_review, start};
use crate::support::given;

fn erasure() -> IdentityErasure {
    IdentityErasure {
        legal_basis: "Permintaan pelapor 12/2026, Pasal 8 UU 27/2022".into(),
    }
}

fn sealed() -> SealedIdentity {
    SealedIdentity {
        key_id: "ADU-1/0011223344556677".into(),
        algorithm: "XChaCha20-Poly1305".into(),
        nonce: "00".repeat(24),
        ciphertext: "ab".repeat(40),
    }
}

#[test]
fn upp_erases_an_identity_on_a_legal_basis() {
    given(at_review("PUPR"))
        .when(upp(), C::EraseIdentity(erasure()))
        .then_exactly(EventBody::IdentityErased(erasure()));
}

#[test]
fn the_coordinator_and_the_retention_policy_may_erase_too_and_no_agency_or_auditor_may() {
    for actor in [coordinator(), system()] {
        given(at_review("PUPR"))
            .when(actor, C::EraseIdentity(erasure()))
            .then_exactly(EventBody::IdentityErased(erasure()));
    }
    given(at_review("PUPR"))
        .when(liaison("PUPR"), C::EraseIdentity(erasure()))
        .refused(DomainError::RoleNotPermitted {
            role: Role::Liaison,
            command: "erase the identity of",
        });
    for reader in [head("PUPR"), apip()] {
        let role = reader.role;
        given(at_review("PUPR"))
            .when(reader, C::EraseIdentity(erasure()))
            .refused(DomainError::ReadOnlyRole { role });
    }
}

#[test]
fn an_erasure_states_its_legal_basis() {
    given(at_review("PUPR"))
        .when(
            upp(),
            C::EraseIdentity(IdentityErasure {
                legal_basis: "  ".into(),
            }),
        )
        .refused(DomainError::ErasureNeedsLegalBasis);
}

#[test]
fn an_identity_is_erased_once_and_the_second_request_says_when() {
    let story = at_review("PUPR").then(upp(), EventBody::IdentityErased(erasure()));
    let erased_at = story.events().last().expect("the erasure").at;
    given(story.at(wib("2026-12-03 10:00")))
        .when(upp(), C::EraseIdentity(erasure()))
        .refused(DomainError::IdentityAlreadyErased { erased_at });
}

#[test]
fn an_unknown_complaint_has_no_identity_to_erase() {
    given(start())
        .when(upp(), C::EraseIdentity(erasure()))
        .refused(DomainError::NotRegistered);
}

#[test]
fn a_complaint_that_ended_may_still_have_its_identity_erased() {
    given(at_review("PUPR").withdrawn())
        .when(upp(), C::EraseIdentity(erasure()))
        .then_exactly(EventBody::IdentityErased(erasure()));
}

#[test]
fn the_workflow_goes_on_after_an_erasure() {
    let erased = start()
        .registered()
        .then(upp(), EventBody::IdentityErased(erasure()));
    given(erased)
        .when(upp(), C::Dispose(disposition("PUPR")))
        .then(EventBody::Disposed(disposition("PUPR")));
}

#[test]
fn a_registration_gives_the_identity_in_plain_and_never_sealed() {
    let mut registration = registration();
    registration.complainant.identity = Identity::Sealed { sealed: sealed() };
    given(start())
        .when(upp(), C::Register(registration))
        .refused(DomainError::IdentityNotPlain);
}

#[test]
fn a_registration_recorded_with_its_identity_sealed_is_still_the_same_request() {
    let request = registration();
    let mut recorded = registration();
    recorded.complainant.identity = Identity::Sealed { sealed: sealed() };
    assert!(request.is_recorded_as(&recorded));
    let mut another = recorded.clone();
    another.title = "Another matter".into();
    assert!(!request.is_recorded_as(&another));
    let mut other_person = registration();
    if let Identity::Plain(data) = &mut other_person.complainant.identity {
        data.name = "Someone else".into();
    }
    assert!(
        !request.is_recorded_as(&other_person),
        "in plain, the identity counts"
    );
}
