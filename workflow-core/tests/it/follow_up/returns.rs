//! Returns to UPP as another agency's matter, their escalation to the coordinator, and
//! the liaison officer assigned within the agency.

use workflow_core::complaint::command::{ComplaintCommand as C, Reassignment};
use workflow_core::complaint::event::Escalation;
use workflow_core::fixtures::*;
use workflow_core::{Actor, DomainError, EventBody as E, Status, Step};

use super::other_liaison;
use crate::support::Case;

fn send_back() -> C {
    C::ReturnForRedisposition(return_note())
}

/// The liaison may return a complaint as not the agency's matter also after the
/// clarification or a field visit (not once the BA is issued).
#[test]
fn the_liaison_may_return_after_clarification_or_a_field_visit_but_not_after_the_ba() {
    let mut clarified = Case::clarified(true);
    clarified.ok(liaison("PUPR"), "2026-12-01 11:00", send_back());
    let state = clarified.state();
    assert_eq!(state.status(), Status::Returned);
    assert_eq!(state.clarification(), None);
    assert!(!state.timeline().is_running(Step::FieldVerification));
    assert!(state.timeline().is_running(Step::Disposition));

    let mut visited = Case::clarified(true);
    let visit = C::VerifyInField(field_visit("2026-12-02"));
    visited.ok(liaison("PUPR"), "2026-12-02 09:00", visit);
    visited.ok(liaison("PUPR"), "2026-12-02 11:00", send_back());
    assert!(visited.state().field_visits().is_empty());

    let mut ba = Case::ba_issued();
    ba.refuses(
        liaison("PUPR"),
        "2026-12-03 09:00",
        send_back(),
        "sop.invalid_transition",
    );
}

/// Returns are not unlimited ping-pong: the third return of one complaint asks the
/// coordinator to decide; their disposition is not returned again.
#[test]
fn the_third_return_escalates_to_the_coordinator_whose_disposition_holds() {
    let mut case = Case::disposed();
    let one = case.ok(liaison("PUPR"), "2026-12-01 09:00", send_back());
    case.ok(upp(), "2026-12-01 10:00", C::Dispose(disposition("DISHUB")));
    let two = case.ok(liaison("DISHUB"), "2026-12-02 09:00", send_back());
    assert_eq!(
        (one.len(), two.len()),
        (1, 1),
        "the first two returns are not escalated"
    );
    case.ok(upp(), "2026-12-02 10:00", C::Dispose(disposition("PUPR")));
    let events = case.ok(liaison("PUPR"), "2026-12-03 09:00", send_back());
    assert_eq!(events.len(), 2);
    assert!(matches!(events[0].body, E::Returned(_)));
    assert_eq!(
        events[1].body,
        E::ReturnsEscalated(Escalation { returns: 3 })
    );
    assert_eq!(events[1].command_id, events[0].command_id);
    assert!(case.state().escalated());

    for by_upp in [C::Dispose(disposition("PUPR")), C::Archive(spam())] {
        case.refuses(
            upp(),
            "2026-12-03 10:00",
            by_upp,
            DomainError::EscalatedToCoordinator,
        );
    }
    case.ok(
        coordinator(),
        "2026-12-03 11:00",
        C::Dispose(disposition("PUPR")),
    );
    let state = case.state();
    assert!(!state.escalated() && state.coordinator_decided());
    case.refuses(
        liaison("PUPR"),
        "2026-12-04 09:00",
        send_back(),
        DomainError::CoordinatorDecided,
    );
}

/// A disposition may name a sub-unit (UPT / Satker); the liaison officer it names is
/// the one assigned; another of the same agency takes over only through a
/// reassignment by the head or UPP.
#[test]
fn only_the_assigned_liaison_acts_until_the_head_or_upp_reassigns() {
    let reassign_to = |officer: Actor, reason: &str| {
        C::Reassign(Reassignment {
            liaison_officer: officer.user,
            reason: reason.into(),
        })
    };
    let review = || C::Review(complete_review());
    let assigned_is = |officer: Actor| DomainError::NotAssignedLiaison {
        assigned: officer.user,
    };
    let mut case = Case::registered();
    let mut to_unit = disposition("PUPR");
    to_unit.sub_unit = Some("UPT Jalan dan Jembatan Wilayah I".into());
    case.ok(upp(), "2026-11-30 10:00", C::Dispose(to_unit.clone()));
    assert_eq!(case.state().disposition(), Some(&to_unit));

    let at = "2026-12-01 09:00";
    case.refuses(other_liaison(), at, review(), assigned_is(liaison("PUPR")));
    let to_other = || reassign_to(other_liaison(), "Petugas sebelumnya cuti");
    case.refuses(head("DISHUB"), at, to_other(), "access.not_your_agency");
    case.refuses(liaison("PUPR"), at, to_other(), "access.role_not_permitted");
    let to_same = reassign_to(liaison("PUPR"), "sama");
    case.refuses(upp(), at, to_same, "sop.reassign.same_liaison");
    case.ok(head("PUPR"), at, to_other());

    let at = "2026-12-01 10:00";
    case.refuses(liaison("PUPR"), at, review(), assigned_is(other_liaison()));
    case.ok(other_liaison(), at, review());
    // UPP may reassign too; a reassignment keeps the clocks as they are.
    let due_before = case.clock(Step::Review, "2026-12-01 11:00").due_at;
    let back = reassign_to(liaison("PUPR"), "Kembali dari cuti");
    case.ok(upp(), "2026-12-01 11:00", back);
    assert_eq!(
        case.clock(Step::Review, "2026-12-01 12:00").due_at,
        due_before
    );
}
