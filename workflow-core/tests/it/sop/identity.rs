//! Command ids: a retry is done once, a refused id stays free, and a seen id opens no
//! door.

use workflow_core::complaint::command::{Clarification, ComplaintCommand as C};
use workflow_core::fixtures::*;
use workflow_core::{Actor, Complaint, ComplaintServices, DomainError, Status, UserId};

use super::{at_review, start};
use crate::support::given;

#[test]
fn a_retried_command_id_does_nothing_and_succeeds() {
    // The disposition was `given-2`; the same id again, even with other content, is a no-op.
    given(at_review("PUPR"))
        .when(upp(), C::Dispose(disposition("DINKES")))
        .with_id("given-2")
        .then_nothing();
}

#[test]
fn a_refused_command_leaves_its_id_free_for_a_corrected_retry() {
    let story = at_review("PUPR").reviewed("PUPR", true);
    let mut state = Complaint::from_events(&story.events());
    let services = ComplaintServices::builtin();
    let clarify = |clarification| {
        cmd(
            "c-9",
            liaison("PUPR"),
            story.now(),
            C::Clarify(clarification),
        )
    };
    let bad = clarify(Clarification {
        field_examination_needed: true,
        reasoning: String::new(),
    });
    assert_eq!(
        state.decide(&bad, &services),
        Err(DomainError::MissingField { field: "reasoning" })
    );
    let events = state
        .decide(&clarify(clarification(true)), &services)
        .unwrap();
    assert_eq!(events.len(), 1);
    for e in &events {
        state.apply_event(e);
    }
    assert_eq!(state.status(), Status::Clarified);
}

/// A seen command id does not let anyone past authorization: the role is checked
/// before the seen-id shortcut, and another user (another agency's liaison, say) reusing
/// the id is refused by the retry check against the log.
#[test]
fn a_seen_command_id_is_no_way_around_authorization() {
    let story = at_review("PUPR");
    let events = story.events();
    let state = Complaint::from_events(&events);
    let services = ComplaintServices::builtin();
    let seen = events[1].command_id.0.clone();
    let review_by = |actor| cmd(&seen, actor, story.now(), C::Review(complete_review()));
    assert!(matches!(
        state.decide(&review_by(apip()), &services),
        Err(DomainError::ReadOnlyRole { .. })
    ));
    assert!(matches!(
        state.decide(&review_by(upp()), &services),
        Err(DomainError::RoleNotPermitted { .. })
    ));
    assert!(matches!(
        review_by(liaison("DINKES")).check_retry_of(&events),
        Err(DomainError::CommandIdReused { .. })
    ));
}

/// User names carry no `:`: command ids made from a user and a key stay unambiguous.
#[test]
fn a_user_name_with_a_colon_is_refused() {
    // Nor may a user carry the name of the engine's own command ids (`sla-breach:…`).
    for name in ["sari:upp", "sla-breach"] {
        let actor = Actor {
            user: UserId(name.into()),
            ..upp()
        };
        given(start())
            .when(actor, C::Register(registration()))
            .refused(DomainError::UserNameInvalid);
    }
}

/// The retry check the executor runs on a seen id: same user, role and command.
#[test]
fn a_retry_repeats_the_recorded_command() {
    let story = at_review("PUPR");
    let events = story.events();
    let dispose_to = |agency| {
        let id = &events[1].command_id.0;
        cmd(id, upp(), story.now(), C::Dispose(disposition(agency)))
    };
    assert_eq!(dispose_to("PUPR").check_retry_of(&events), Ok(()));
    assert!(matches!(
        dispose_to("DINKES").check_retry_of(&events),
        Err(DomainError::CommandIdReused { .. })
    ));
}
