//! A complaint's events are in time order: a command is not dated before the latest
//! event of its complaint (an auditor's "as of" then always reads a state that was, and
//! no step's verdict is judged on an instant before its clock started).

use chrono::Duration;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{DomainError, EventBody as E};

use super::{at_review, start};
use crate::support::given;

#[test]
fn a_command_dated_before_the_complaints_latest_event_is_refused() {
    // Registered at 09:00 and disposed at 10:00; the clock would be at 11:00.
    let story = at_review("PUPR");
    let latest = story.now() - Duration::hours(1);
    for before in [latest - Duration::seconds(1), latest - Duration::days(3)] {
        given(story.clone().at(before))
            .when(liaison("PUPR"), C::Review(complete_review()))
            .refused(DomainError::DatedBeforeLatestEvent { at: before, latest });
    }
    // A back-dated disposition would be judged on time on a clock that had not started.
    let registered = start().registered();
    let latest = registered.now() - Duration::hours(1);
    given(registered.at(latest - Duration::hours(2)))
        .when(upp(), C::Dispose(disposition("PUPR")))
        .refused(DomainError::DatedBeforeLatestEvent {
            at: latest - Duration::hours(2),
            latest,
        });
}

#[test]
fn a_command_dated_at_the_instant_of_the_latest_event_is_accepted() {
    let story = at_review("PUPR");
    let latest = story.now() - Duration::hours(1);
    given(story.at(latest))
        .when(liaison("PUPR"), C::Review(complete_review()))
        .then(E::Reviewed(complete_review()));
}

#[test]
fn a_retried_command_is_answered_whatever_its_date() {
    // `given-2` is the disposition's id: sent again, dated before it, it records nothing.
    let story = at_review("PUPR");
    let before = story.now() - Duration::hours(5);
    given(story.at(before))
        .when(upp(), C::Dispose(disposition("PUPR")))
        .with_id("given-2")
        .then_nothing();
}

#[test]
fn the_rule_names_itself_for_problem_bodies() {
    let at = wib("2026-11-30 09:00");
    let e = DomainError::DatedBeforeLatestEvent {
        at,
        latest: at + Duration::minutes(1),
    };
    assert_eq!(e.rule(), "complaint.dated_before_latest_event");
    assert_eq!(e.kind(), workflow_core::RefusalKind::StateConflict);
    assert!(e.to_string().contains("2026-11-30"), "{e}");
}
