//! The response, the closing, the whole SOP, and the statuses LAPOR!-SP4N shows.

use workflow_core::complaint::command::{
    ClosingReason, ClosingRecord, Closure, ComplaintCommand as C,
};
use workflow_core::fixtures::*;
use workflow_core::{AgencyCode, Complaint, DomainError, EventBody as E, LaporStatus, Status};

use super::{at_field_step, at_response, responded};
use crate::support::given;

#[test]
fn the_complainant_is_answered_after_the_ba_or_a_clarification_without_visit() {
    let after_ba = at_field_step()
        .field_verified("PUPR", "2026-11-30")
        .ba_issued("PUPR", "2026-11-30");
    for story in [after_ba, at_response()] {
        given(story)
            .when(liaison("PUPR"), C::Respond(response_text()))
            .then(E::Responded(response_text()));
    }
}

#[test]
fn no_response_while_a_field_examination_is_pending() {
    let visited = at_field_step().field_verified("PUPR", "2026-11-30");
    for story in [at_field_step(), visited] {
        given(story)
            .when(liaison("PUPR"), C::Respond(response_text()))
            .refused(DomainError::RespondRequiresOutcome);
    }
}

fn closed(reason: ClosingReason) -> E {
    E::Closed(ClosingRecord { reason, note: None })
}

#[test]
fn upp_closes_after_positive_feedback_as_settled() {
    given(responded().feedback(true))
        .when(upp(), C::Close(Closure::default()))
        .then(closed(ClosingReason::Settled));
    given(at_field_step())
        .when(upp(), C::Close(Closure::default()))
        .refused(DomainError::InvalidTransition {
            command: "close",
            status: Status::Clarified,
        });
}

#[test]
fn the_engine_closes_only_after_ten_working_days_of_feedback() {
    // Ten working days after Tuesday 1 December: 2..4, 7..11, 14, 15 December.
    given(responded().at(wib("2026-12-15 16:00")))
        .when(system(), C::Close(Closure::default()))
        .refused(DomainError::FeedbackWindowOpen {
            until: end_of("2026-12-15"),
        });
    given(responded().at(wib("2026-12-16 00:05")))
        .when(system(), C::Close(Closure::default()))
        .then(closed(ClosingReason::NoFeedback));
}

#[test]
fn the_whole_sop_walks_from_lapor_to_closing() {
    let full = at_field_step()
        .field_verified("PUPR", "2026-11-30")
        .ba_issued("PUPR", "2026-11-30")
        .responded("PUPR")
        .closed();
    let state = Complaint::from_events(&full.events());
    assert_eq!(state.status(), Status::Closed);
    assert_eq!(state.agency(), Some(&AgencyCode::from("PUPR")));
    assert_eq!(state.field_visits().len(), 1);
    assert_eq!(
        state.ba().map(|b| b.number.as_str()),
        Some("BA/045/PUPR/XII/2026")
    );
    assert!(state.timeline().clocks.iter().all(|c| c.ended_at.is_some()));
}

/// Each status maps to the one LAPOR!-SP4N shows, so that figures reconcile: verification
/// (received, returned), disposed, in follow-up (review to BA), awaiting feedback
/// (responded), finished (closed), archived (rejected).
#[test]
fn every_status_has_the_lapor_status_the_national_dashboard_shows() {
    use LaporStatus as L;
    let expected = [
        (Status::New, L::Verification),
        (Status::Received, L::Verification),
        (Status::Disposed, L::Disposed),
        (Status::Returned, L::Verification),
        (Status::Reviewed, L::InFollowUp),
        (Status::AwaitingInformation, L::InFollowUp),
        (Status::InformationProvided, L::InFollowUp),
        (Status::Rejected, L::Archived),
        (Status::Clarified, L::InFollowUp),
        (Status::FieldVerified, L::InFollowUp),
        (Status::BaIssued, L::InFollowUp),
        (Status::Responded, L::AwaitingFeedback),
        (Status::Closed, L::Finished),
        (Status::Archived, L::Archived),
        (Status::Withdrawn, L::Archived),
        (Status::Forwarded, L::Archived),
    ];
    assert_eq!(expected.map(|(s, _)| s), Status::ALL);
    for (status, lapor) in expected {
        assert_eq!(status.lapor_status(), lapor, "{status}");
    }
    assert_eq!(
        serde_json::to_value(L::InFollowUp).unwrap(),
        serde_json::json!("in_follow_up")
    );
    assert_eq!(L::AwaitingFeedback.as_str(), "awaiting_feedback");
}
