//! Step 2: the liaison officer's review, questions to the complainant, rejection and
//! clarification, and the complainant's window to answer.

use chrono::Duration;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::complaint::event::WindowElapsed;
use workflow_core::fixtures::*;
use workflow_core::{Complaint, DomainError, EventBody as E, Role, Status, Step};

use super::at_review;
use crate::support::given;

#[test]
fn the_liaison_officer_reviews_completeness() {
    for review in [complete_review(), incomplete_review()] {
        given(at_review("PUPR"))
            .when(liaison("PUPR"), C::Review(review.clone()))
            .then(E::Reviewed(review));
    }
}

#[test]
fn a_review_is_complete_exactly_when_nothing_is_missing() {
    let mut complete_but_missing = complete_review();
    complete_but_missing.missing_items = vec!["KTP".into()];
    let mut incomplete_but_nothing_missing = incomplete_review();
    incomplete_but_nothing_missing.missing_items.clear();
    for review in [complete_but_missing, incomplete_but_nothing_missing] {
        given(at_review("PUPR"))
            .when(liaison("PUPR"), C::Review(review))
            .refused(DomainError::ReviewInconsistent);
    }
}

#[test]
fn an_incomplete_and_unclear_complaint_is_rejected_with_its_reason() {
    given(at_review("PUPR").reviewed("PUPR", false))
        .when(liaison("PUPR"), C::Reject(rejection()))
        .then(E::Rejected(rejection()));
}

/// SOP step 2: "kalau tidak lengkap dan tidak jelas tidak ditanggapi": a complaint is
/// not followed up only when it is incomplete AND unclear, not when it is either.
#[test]
fn tidak_lengkap_dan_tidak_jelas_both_are_needed_to_reject() {
    let reviewed_as = |review| at_review("PUPR").reviewed_as("PUPR", review);
    for story in [
        at_review("PUPR"),
        reviewed_as(complete_review()),
        reviewed_as(incomplete_but_clear_review()),
        reviewed_as(unclear_review()),
        // Still so while waiting for the complainant: a clear report that lacks a photo
        // is not dropped because the complainant is slow to send one.
        reviewed_as(incomplete_but_clear_review()).information_requested("PUPR"),
    ] {
        given(story)
            .when(liaison("PUPR"), C::Reject(rejection()))
            .refused(DomainError::RejectRequiresIncompleteAndUnclearReview);
    }
}

#[test]
fn a_rejected_complaint_is_final() {
    given(at_review("PUPR").reviewed("PUPR", false).rejected("PUPR"))
        .when(liaison("PUPR"), C::Review(complete_review()))
        .refused(DomainError::InvalidTransition {
            command: "review",
            status: Status::Rejected,
        });
}

#[test]
fn information_is_requested_then_provided_and_the_complaint_reviewed_again() {
    let incomplete = at_review("PUPR").reviewed("PUPR", false);
    given(incomplete.clone())
        .when(
            liaison("PUPR"),
            C::RequestInformation(information_request()),
        )
        .then(E::InformationRequested(information_request()));
    let waiting = incomplete.information_requested("PUPR");
    given(waiting.clone())
        .when(liaison("PUPR"), C::Review(complete_review()))
        .refused(DomainError::WaitingForComplainant);
    given(waiting.clone())
        .when(upp(), C::ProvideInformation(information_reply()))
        .then(E::InformationProvided(information_reply()));
    given(waiting.information_provided())
        .when(liaison("PUPR"), C::Review(complete_review()))
        .then(E::Reviewed(complete_review()));
}

#[test]
fn a_complainant_who_never_answers_can_be_rejected() {
    let waiting = at_review("PUPR")
        .reviewed("PUPR", false)
        .information_requested("PUPR");
    given(waiting)
        .when(liaison("PUPR"), C::Reject(rejection()))
        .then(E::Rejected(rejection()));
}

/// SOP step 2 "menelaah, mengkonfirmasi dan mengklarifikasi": what is missing or
/// unclear is confirmed with the complainant.
#[test]
fn information_is_requested_about_what_is_missing_or_unclear() {
    let request = C::RequestInformation(information_request());
    for review in [
        incomplete_review(),
        incomplete_but_clear_review(),
        unclear_review(),
    ] {
        given(at_review("PUPR").reviewed_as("PUPR", review))
            .when(liaison("PUPR"), request.clone())
            .then(E::InformationRequested(information_request()));
    }
    given(at_review("PUPR").reviewed("PUPR", true))
        .when(liaison("PUPR"), request)
        .refused(DomainError::RequestRequiresIncompleteOrUnclearReview);
}

/// SOP step 2's output: "kesimpulan perlu tidaknya dilakukan pemeriksaan kelengkapan".
/// A clear report is concluded on, complete or not: an incomplete one is completed by
/// the field examination of step 3. An unclear one is clarified with the complainant
/// first.
#[test]
fn a_clear_report_is_concluded_on_even_when_incomplete() {
    let clarify = C::Clarify(clarification(true));
    for review in [complete_review(), incomplete_but_clear_review()] {
        given(at_review("PUPR").reviewed_as("PUPR", review))
            .when(liaison("PUPR"), clarify.clone())
            .then(E::Clarified(clarification(true)));
    }
    for review in [unclear_review(), incomplete_review()] {
        given(at_review("PUPR").reviewed_as("PUPR", review))
            .when(liaison("PUPR"), clarify.clone())
            .refused(DomainError::ClarifyRequiresClearReview);
    }
}

// --- The complainant's window to complete the file --------------------------------

/// UU 25/2009 Pasal 50 as commonly cited: a complainant who does not answer an
/// information request within 30 days has withdrawn the complaint. The system records
/// it, once the window has run out and not before; until then the wait has its own
/// clock on the board.
#[test]
fn an_unanswered_information_request_counts_as_withdrawn_after_thirty_days() {
    let waiting = at_review("PUPR")
        .reviewed_as("PUPR", incomplete_but_clear_review())
        .information_requested("PUPR");
    let events = waiting.events();
    let requested_at = events.last().unwrap().at;
    let state = Complaint::from_events(&events);
    let wait = state.timeline().latest(Step::InformationWait).unwrap();
    assert_eq!((wait.started_at, wait.ended_at), (requested_at, None));
    let after_days = |days| given(waiting.clone().at(requested_at + Duration::days(days)));
    let deem = || C::DeemWithdrawn(Default::default());

    // Day 29: still open.
    after_days(29)
        .when(system(), deem())
        .refused(DomainError::InformationWindowOpen {
            until: end_of("2026-12-30"),
        });
    // Day 31: deemed withdrawn, by the system only.
    after_days(31)
        .when(system(), deem())
        .then(E::DeemedWithdrawn(WindowElapsed {
            occurrence: 1,
            due_at: end_of("2026-12-30"),
        }));
    after_days(31)
        .when(upp(), deem())
        .refused(DomainError::RoleNotPermitted {
            role: Role::Upp,
            command: "deem withdrawn",
        });
    // An answer in time ends the wait: nothing to deem.
    let answered = waiting.information_provided();
    let state = Complaint::from_events(&answered.events());
    let wait = state.timeline().latest(Step::InformationWait).unwrap();
    assert!(wait.ended_at.is_some());
    given(answered.at(requested_at + Duration::days(40)))
        .when(system(), deem())
        .refused(DomainError::InvalidTransition {
            command: "deem withdrawn",
            status: Status::InformationProvided,
        });
}
