//! The SOP as given / when / then stories over the complaint aggregate.
//!
//! Each test reads: given these events, when this command, then these events or this
//! refusal. The story starts on Monday 30 November 2026, 09:00 WIB.

use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use workflow_core::complaint::command::{
    BreachReport, ClosingReason, ClosingRecord, Closure, ComplaintCommand as C, Disposition,
};
use workflow_core::complaint::event::SlaBreach;
use workflow_core::fixtures::*;
use workflow_core::sla::JudgedBy;
use workflow_core::{
    AgencyCode, Complaint, ComplaintEvent, ComplaintServices, DomainError, EventBody as E, Role,
    Status, Step,
};

fn start() -> Story {
    Story::starting(wib("2026-11-30 09:00"))
}

fn given(events: Vec<ComplaintEvent>) -> AggregateTestExecutor<Complaint> {
    TestFramework::<Complaint>::with(ComplaintServices::builtin()).given(events)
}

fn given_no_events() -> AggregateTestExecutor<Complaint> {
    TestFramework::<Complaint>::with(ComplaintServices::builtin()).given_no_previous_events()
}

/// Given the story so far, when `actor` sends `command` at the story's clock, then
/// exactly the matching event is recorded (the verdicts on the clocks it ends, which
/// the SLA tests check, left aside).
async fn accepted(story: Story, actor: workflow_core::Actor, command: C, body: E) {
    let now = story.now();
    let state = Complaint::from_events(&story.events());
    let events = state
        .decide(
            &cmd("c-1", actor.clone(), now, command),
            &ComplaintServices::builtin(),
        )
        .unwrap_or_else(|e| panic!("refused: {e}"));
    let events: Vec<ComplaintEvent> = events
        .into_iter()
        .map(|mut e| {
            e.verdicts.clear();
            e
        })
        .collect();
    assert_eq!(events, vec![event("c-1", actor, now, body)]);
}

async fn refused(story: Story, actor: workflow_core::Actor, command: C, error: DomainError) {
    let now = story.now();
    given(story.events())
        .when_async(cmd("c-1", actor, now, command))
        .await
        .then_expect_error(error);
}

fn at_review(agency: &str) -> Story {
    start().registered().disposed_to(agency)
}

fn at_field_step() -> Story {
    at_review("PUPR")
        .reviewed("PUPR", true)
        .clarified("PUPR", true)
}

// --- Registration ---------------------------------------------------------------

#[tokio::test]
async fn upp_registers_a_complaint_from_lapor() {
    let now = wib("2026-11-30 09:00");
    given_no_events()
        .when_async(cmd("c-1", upp(), now, C::Register(registration())))
        .await
        .then_expect_events(vec![event("c-1", upp(), now, E::Received(registration()))]);
}

#[tokio::test]
async fn only_upp_registers() {
    for actor in [liaison("PUPR"), coordinator(), system()] {
        let role = actor.role;
        given_no_events()
            .when_async(cmd(
                "c-1",
                actor,
                wib("2026-11-30 09:00"),
                C::Register(registration()),
            ))
            .await
            .then_expect_error(DomainError::RoleNotPermitted {
                role,
                command: "register",
            });
    }
}

#[tokio::test]
async fn a_complaint_is_registered_once() {
    refused(
        start().registered(),
        upp(),
        C::Register(registration()),
        DomainError::AlreadyRegistered,
    )
    .await;
}

#[tokio::test]
async fn registration_needs_upp_review_and_well_formed_attachments() {
    let mut no_review = registration();
    no_review.upp_review = "  ".into();
    refused(
        start(),
        upp(),
        C::Register(no_review),
        DomainError::MissingField {
            field: "upp_review",
        },
    )
    .await;

    let mut bad_attachment = registration();
    bad_attachment.attachments[0].sha256 = "not-a-digest".into();
    refused(
        start(),
        upp(),
        C::Register(bad_attachment),
        DomainError::MalformedEvidence {
            sha256: "not-a-digest".into(),
        },
    )
    .await;
}

#[tokio::test]
async fn nothing_but_registration_applies_to_an_unknown_complaint() {
    refused(
        start(),
        upp(),
        C::Dispose(disposition("PUPR")),
        DomainError::NotRegistered,
    )
    .await;
}

// --- Step 1: disposition ------------------------------------------------------------

#[tokio::test]
async fn upp_or_the_coordinator_disposes_to_a_liaison_officer() {
    accepted(
        start().registered(),
        upp(),
        C::Dispose(disposition("PUPR")),
        E::Disposed(disposition("PUPR")),
    )
    .await;
    accepted(
        start().registered(),
        coordinator(),
        C::Dispose(disposition("PUPR")),
        E::Disposed(disposition("PUPR")),
    )
    .await;
}

#[tokio::test]
async fn a_liaison_officer_cannot_dispose() {
    refused(
        start().registered(),
        liaison("PUPR"),
        C::Dispose(disposition("PUPR")),
        DomainError::RoleNotPermitted {
            role: Role::Liaison,
            command: "dispose",
        },
    )
    .await;
}

#[tokio::test]
async fn a_complaint_may_be_redisposed_before_review_but_not_to_the_same_agency() {
    accepted(
        at_review("DISHUB"),
        upp(),
        C::Dispose(disposition("PUPR")),
        E::Disposed(disposition("PUPR")),
    )
    .await;
    refused(
        at_review("PUPR"),
        upp(),
        C::Dispose(disposition("PUPR")),
        DomainError::AlreadyDisposedTo {
            agency: "PUPR".into(),
        },
    )
    .await;
}

#[tokio::test]
async fn disposition_needs_a_liaison_officer() {
    let no_officer = Disposition {
        liaison_officer: "".into(),
        ..disposition("PUPR")
    };
    refused(
        start().registered(),
        upp(),
        C::Dispose(no_officer),
        DomainError::MissingField {
            field: "liaison_officer",
        },
    )
    .await;
}

#[tokio::test]
async fn the_wrong_agency_returns_it_and_upp_disposes_again() {
    accepted(
        at_review("DISHUB"),
        liaison("DISHUB"),
        C::ReturnForRedisposition(return_note()),
        E::Returned(return_note()),
    )
    .await;
    let returned = at_review("DISHUB").then(liaison("DISHUB"), E::Returned(return_note()));
    accepted(
        returned.clone(),
        upp(),
        C::Dispose(disposition("PUPR")),
        E::Disposed(disposition("PUPR")),
    )
    .await;
    // Once returned, DISHUB no longer holds the complaint.
    refused(
        returned,
        liaison("DISHUB"),
        C::Review(complete_review()),
        DomainError::NotYourAgency { disposed_to: None },
    )
    .await;
}

#[tokio::test]
async fn a_return_needs_a_reason() {
    let mut note = return_note();
    note.reason.clear();
    refused(
        at_review("DISHUB"),
        liaison("DISHUB"),
        C::ReturnForRedisposition(note),
        DomainError::MissingField { field: "reason" },
    )
    .await;
}

// --- Roles and agencies -----------------------------------------------------------

#[tokio::test]
async fn apip_and_the_head_of_agency_change_nothing() {
    for actor in [apip(), head("PUPR")] {
        let role = actor.role;
        refused(
            at_review("PUPR"),
            actor,
            C::Review(complete_review()),
            DomainError::ReadOnlyRole { role },
        )
        .await;
    }
}

#[tokio::test]
async fn a_liaison_officer_acts_only_for_their_own_agency() {
    refused(
        at_review("PUPR"),
        liaison("DINKES"),
        C::Review(complete_review()),
        DomainError::NotYourAgency {
            disposed_to: Some(AgencyCode::from("PUPR")),
        },
    )
    .await;
}

#[tokio::test]
async fn a_liaison_officer_cannot_act_before_disposition() {
    refused(
        start().registered(),
        liaison("PUPR"),
        C::Review(complete_review()),
        DomainError::NotYourAgency { disposed_to: None },
    )
    .await;
}

// --- Step 2: review, information, rejection, clarification -----------------------------

#[tokio::test]
async fn the_liaison_officer_reviews_completeness() {
    accepted(
        at_review("PUPR"),
        liaison("PUPR"),
        C::Review(complete_review()),
        E::Reviewed(complete_review()),
    )
    .await;
    accepted(
        at_review("PUPR"),
        liaison("PUPR"),
        C::Review(incomplete_review()),
        E::Reviewed(incomplete_review()),
    )
    .await;
}

#[tokio::test]
async fn a_review_is_complete_exactly_when_nothing_is_missing() {
    let mut complete_but_missing = complete_review();
    complete_but_missing.missing_items = vec!["KTP".into()];
    refused(
        at_review("PUPR"),
        liaison("PUPR"),
        C::Review(complete_but_missing),
        DomainError::ReviewInconsistent,
    )
    .await;
    let mut incomplete_but_nothing_missing = incomplete_review();
    incomplete_but_nothing_missing.missing_items.clear();
    refused(
        at_review("PUPR"),
        liaison("PUPR"),
        C::Review(incomplete_but_nothing_missing),
        DomainError::ReviewInconsistent,
    )
    .await;
}

#[tokio::test]
async fn an_incomplete_and_unclear_complaint_is_rejected_with_its_reason() {
    accepted(
        at_review("PUPR").reviewed("PUPR", false),
        liaison("PUPR"),
        C::Reject(rejection()),
        E::Rejected(rejection()),
    )
    .await;
}

/// SOP step 2: "kalau tidak lengkap dan tidak jelas tidak ditanggapi": a complaint is
/// not followed up only when it is incomplete AND unclear, not when it is either.
#[tokio::test]
async fn tidak_lengkap_dan_tidak_jelas_both_are_needed_to_reject() {
    let reviewed_as = |review| at_review("PUPR").then(liaison("PUPR"), E::Reviewed(review));
    refused(
        at_review("PUPR"),
        liaison("PUPR"),
        C::Reject(rejection()),
        DomainError::RejectRequiresIncompleteAndUnclearReview,
    )
    .await;
    for review in [
        complete_review(),
        incomplete_but_clear_review(),
        unclear_review(),
    ] {
        refused(
            reviewed_as(review),
            liaison("PUPR"),
            C::Reject(rejection()),
            DomainError::RejectRequiresIncompleteAndUnclearReview,
        )
        .await;
    }
    // Still so while waiting for the complainant: a clear report that lacks a photo is
    // not dropped because the complainant is slow to send one.
    refused(
        reviewed_as(incomplete_but_clear_review()).then(
            liaison("PUPR"),
            E::InformationRequested(information_request()),
        ),
        liaison("PUPR"),
        C::Reject(rejection()),
        DomainError::RejectRequiresIncompleteAndUnclearReview,
    )
    .await;
}

#[tokio::test]
async fn a_rejected_complaint_is_final() {
    let rejected = at_review("PUPR")
        .reviewed("PUPR", false)
        .then(liaison("PUPR"), E::Rejected(rejection()));
    refused(
        rejected,
        liaison("PUPR"),
        C::Review(complete_review()),
        DomainError::InvalidTransition {
            command: "review",
            status: Status::Rejected,
        },
    )
    .await;
}

#[tokio::test]
async fn information_is_requested_then_provided_and_the_complaint_reviewed_again() {
    let incomplete = at_review("PUPR").reviewed("PUPR", false);
    accepted(
        incomplete.clone(),
        liaison("PUPR"),
        C::RequestInformation(information_request()),
        E::InformationRequested(information_request()),
    )
    .await;
    let waiting = incomplete.then(
        liaison("PUPR"),
        E::InformationRequested(information_request()),
    );
    refused(
        waiting.clone(),
        liaison("PUPR"),
        C::Review(complete_review()),
        DomainError::WaitingForComplainant,
    )
    .await;
    accepted(
        waiting.clone(),
        upp(),
        C::ProvideInformation(information_reply()),
        E::InformationProvided(information_reply()),
    )
    .await;
    let answered = waiting.then(upp(), E::InformationProvided(information_reply()));
    accepted(
        answered,
        liaison("PUPR"),
        C::Review(complete_review()),
        E::Reviewed(complete_review()),
    )
    .await;
}

#[tokio::test]
async fn a_complainant_who_never_answers_can_be_rejected() {
    let waiting = at_review("PUPR").reviewed("PUPR", false).then(
        liaison("PUPR"),
        E::InformationRequested(information_request()),
    );
    accepted(
        waiting,
        liaison("PUPR"),
        C::Reject(rejection()),
        E::Rejected(rejection()),
    )
    .await;
}

/// SOP step 2 "menelaah, mengkonfirmasi dan mengklarifikasi": what is missing or
/// unclear is confirmed with the complainant.
#[tokio::test]
async fn information_is_requested_about_what_is_missing_or_unclear() {
    for review in [
        incomplete_review(),
        incomplete_but_clear_review(),
        unclear_review(),
    ] {
        accepted(
            at_review("PUPR").then(liaison("PUPR"), E::Reviewed(review)),
            liaison("PUPR"),
            C::RequestInformation(information_request()),
            E::InformationRequested(information_request()),
        )
        .await;
    }
    refused(
        at_review("PUPR").reviewed("PUPR", true),
        liaison("PUPR"),
        C::RequestInformation(information_request()),
        DomainError::RequestRequiresIncompleteOrUnclearReview,
    )
    .await;
}

/// SOP step 2's output: "kesimpulan perlu tidaknya dilakukan pemeriksaan kelengkapan".
/// A clear report is concluded on, complete or not: an incomplete one is completed by
/// the field examination of step 3. An unclear one is clarified with the complainant
/// first.
#[tokio::test]
async fn a_clear_report_is_concluded_on_even_when_incomplete() {
    for review in [complete_review(), incomplete_but_clear_review()] {
        accepted(
            at_review("PUPR").then(liaison("PUPR"), E::Reviewed(review)),
            liaison("PUPR"),
            C::Clarify(clarification(true)),
            E::Clarified(clarification(true)),
        )
        .await;
    }
    for review in [unclear_review(), incomplete_review()] {
        refused(
            at_review("PUPR").then(liaison("PUPR"), E::Reviewed(review)),
            liaison("PUPR"),
            C::Clarify(clarification(true)),
            DomainError::ClarifyRequiresClearReview,
        )
        .await;
    }
}

// --- Step 3: field verification and the BA ------------------------------------------

#[tokio::test]
async fn a_field_visit_is_recorded_with_photos() {
    let story = at_field_step();
    let visit = field_visit("2026-11-30");
    accepted(
        story,
        liaison("PUPR"),
        C::VerifyInField(visit.clone()),
        E::FieldVerified(visit),
    )
    .await;
}

#[tokio::test]
async fn a_field_visit_without_a_photo_is_refused() {
    let mut only_a_scan = field_visit("2026-11-30");
    only_a_scan.evidence = vec![scan(1)];
    refused(
        at_field_step(),
        liaison("PUPR"),
        C::VerifyInField(only_a_scan),
        DomainError::FieldVerificationNeedsPhoto,
    )
    .await;
}

#[tokio::test]
async fn a_field_visit_cannot_be_dated_in_the_future() {
    refused(
        at_field_step(),
        liaison("PUPR"),
        C::VerifyInField(field_visit("2026-12-02")),
        DomainError::VisitDateInFuture,
    )
    .await;
}

#[tokio::test]
async fn no_field_visit_when_the_clarification_said_none_is_needed() {
    refused(
        at_review("PUPR")
            .reviewed("PUPR", true)
            .clarified("PUPR", false),
        liaison("PUPR"),
        C::VerifyInField(field_visit("2026-11-30")),
        DomainError::FieldVerificationNotNeeded,
    )
    .await;
}

#[tokio::test]
async fn the_ba_is_issued_to_the_head_of_the_disposed_agency_after_the_visit() {
    let visited = at_field_step().field_verified("PUPR", "2026-11-30");
    let ba = berita_acara("PUPR", "2026-11-30");
    accepted(
        visited.clone(),
        liaison("PUPR"),
        C::IssueBa(ba.clone()),
        E::BaIssued(ba),
    )
    .await;

    refused(
        visited.clone(),
        liaison("PUPR"),
        C::IssueBa(berita_acara("DINKES", "2026-11-30")),
        DomainError::BaAddresseeNotHeadOfDisposedAgency {
            expected: "PUPR".into(),
            addressed: "DINKES".into(),
        },
    )
    .await;

    refused(
        visited.clone(),
        liaison("PUPR"),
        C::IssueBa(berita_acara("PUPR", "2026-11-29")),
        DomainError::BaDateBeforeVisit,
    )
    .await;

    let mut unsigned = berita_acara("PUPR", "2026-11-30");
    unsigned.signatories.clear();
    refused(
        visited,
        liaison("PUPR"),
        C::IssueBa(unsigned),
        DomainError::BaNeedsSignatory,
    )
    .await;
}

#[tokio::test]
async fn no_ba_before_a_field_verification() {
    refused(
        at_field_step(),
        liaison("PUPR"),
        C::IssueBa(berita_acara("PUPR", "2026-11-30")),
        DomainError::BaRequiresFieldVerification,
    )
    .await;
}

// --- Response and closing -----------------------------------------------------------

#[tokio::test]
async fn the_complainant_is_answered_after_the_ba_or_a_clarification_without_visit() {
    let after_ba = at_field_step()
        .field_verified("PUPR", "2026-11-30")
        .ba_issued("PUPR", "2026-11-30");
    accepted(
        after_ba,
        liaison("PUPR"),
        C::Respond(response_text()),
        E::Responded(response_text()),
    )
    .await;
    let no_visit = at_review("PUPR")
        .reviewed("PUPR", true)
        .clarified("PUPR", false);
    accepted(
        no_visit,
        liaison("PUPR"),
        C::Respond(response_text()),
        E::Responded(response_text()),
    )
    .await;
}

#[tokio::test]
async fn no_response_while_a_field_examination_is_pending() {
    refused(
        at_field_step(),
        liaison("PUPR"),
        C::Respond(response_text()),
        DomainError::RespondRequiresOutcome,
    )
    .await;
    refused(
        at_field_step().field_verified("PUPR", "2026-11-30"),
        liaison("PUPR"),
        C::Respond(response_text()),
        DomainError::RespondRequiresOutcome,
    )
    .await;
}

fn responded() -> Story {
    // Responded on Tuesday 1 December 2026 in the afternoon.
    at_review("PUPR")
        .reviewed("PUPR", true)
        .clarified("PUPR", false)
        .at(wib("2026-12-01 14:00"))
        .responded("PUPR")
}

#[tokio::test]
async fn upp_closes_after_positive_feedback_as_settled() {
    accepted(
        responded().feedback(true),
        upp(),
        C::Close(Closure::default()),
        E::Closed(ClosingRecord {
            reason: ClosingReason::Settled,
            note: None,
        }),
    )
    .await;
    refused(
        at_field_step(),
        upp(),
        C::Close(Closure::default()),
        DomainError::InvalidTransition {
            command: "close",
            status: Status::Clarified,
        },
    )
    .await;
}

#[tokio::test]
async fn the_engine_closes_only_after_ten_working_days_of_feedback() {
    // Ten working days after Tuesday 1 December: 2..4, 7..11, 14, 15 December.
    let due = wib("2026-12-15 23:59") + chrono::Duration::seconds(59);
    refused(
        responded().at(wib("2026-12-15 16:00")),
        system(),
        C::Close(Closure::default()),
        DomainError::FeedbackWindowOpen { until: due },
    )
    .await;
    accepted(
        responded().at(wib("2026-12-16 00:05")),
        system(),
        C::Close(Closure::default()),
        E::Closed(ClosingRecord {
            reason: ClosingReason::NoFeedback,
            note: None,
        }),
    )
    .await;
}

// --- SLA breaches ----------------------------------------------------------------

#[tokio::test]
async fn the_engine_records_a_breach_once_the_deadline_has_passed() {
    // Registered Monday 30 Nov 09:00: disposition due Thursday 3 Dec 23:59:59 WIB.
    let due = wib("2026-12-03 23:59") + chrono::Duration::seconds(59);
    let breach = C::RecordSlaBreach(BreachReport::latest(Step::Disposition));
    refused(
        start().registered().at(wib("2026-12-03 23:00")),
        system(),
        breach.clone(),
        DomainError::DeadlineNotPassed {
            step: Step::Disposition,
            due_at: due,
        },
    )
    .await;
    let late = start().registered().at(wib("2026-12-04 08:00"));
    accepted(
        late.clone(),
        system(),
        breach.clone(),
        E::SlaBreached(SlaBreach {
            step: Step::Disposition,
            occurrence: 1,
            due_at: due,
            judged_by: Some(JudgedBy::of(
                &ComplaintServices::builtin().calendar,
                &ComplaintServices::builtin().policy,
            )),
        }),
    )
    .await;
    let recorded = late.then(
        system(),
        E::SlaBreached(SlaBreach {
            step: Step::Disposition,
            occurrence: 1,
            due_at: due,
            judged_by: None,
        }),
    );
    refused(
        recorded,
        system(),
        breach,
        DomainError::BreachAlreadyRecorded {
            step: Step::Disposition,
        },
    )
    .await;
}

#[tokio::test]
async fn only_the_engine_records_breaches_and_only_of_started_duties() {
    let late = start().registered().at(wib("2026-12-10 08:00"));
    refused(
        late.clone(),
        upp(),
        C::RecordSlaBreach(BreachReport::latest(Step::Disposition)),
        DomainError::RoleNotPermitted {
            role: Role::Upp,
            command: "record an SLA breach of",
        },
    )
    .await;
    refused(
        late.clone(),
        system(),
        C::RecordSlaBreach(BreachReport::latest(Step::FieldVerification)),
        DomainError::StepNotStarted {
            step: Step::FieldVerification,
        },
    )
    .await;
    refused(
        late,
        system(),
        C::RecordSlaBreach(BreachReport::latest(Step::Feedback)),
        DomainError::StepNotBreachable {
            step: Step::Feedback,
        },
    )
    .await;
}

#[tokio::test]
async fn a_step_completed_late_can_still_have_its_breach_recorded() {
    // Disposed on Monday 7 December, four working days after registration.
    let late_disposal = start()
        .registered()
        .at(wib("2026-12-07 10:00"))
        .disposed_to("PUPR");
    let result = given(late_disposal.events())
        .when_async(cmd(
            "c-1",
            system(),
            late_disposal.now(),
            C::RecordSlaBreach(BreachReport::latest(Step::Disposition)),
        ))
        .await
        .inspect_result()
        .expect("a late disposition is a breach");
    assert!(matches!(&result[0].body, E::SlaBreached(b) if b.step == Step::Disposition));
}

// --- Idempotency ------------------------------------------------------------------

#[tokio::test]
async fn a_retried_command_id_does_nothing_and_succeeds() {
    let story = at_review("PUPR");
    // The disposition was `given-2`; the same id again, even with other content, is a no-op.
    given(story.events())
        .when_async(cmd(
            "given-2",
            upp(),
            story.now(),
            C::Dispose(disposition("DINKES")),
        ))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_refused_command_leaves_its_id_free_for_a_corrected_retry() {
    let story = at_review("PUPR").reviewed("PUPR", true);
    let mut state = Complaint::from_events(&story.events());
    let services = ComplaintServices::builtin();
    let bad = cmd(
        "c-9",
        liaison("PUPR"),
        story.now(),
        C::Clarify(workflow_core::complaint::command::Clarification {
            field_examination_needed: true,
            reasoning: String::new(),
        }),
    );
    assert_eq!(
        state.decide(&bad, &services),
        Err(DomainError::MissingField { field: "reasoning" })
    );
    let good = cmd(
        "c-9",
        liaison("PUPR"),
        story.now(),
        C::Clarify(clarification(true)),
    );
    let events = state.decide(&good, &services).unwrap();
    assert_eq!(events.len(), 1);
    for e in &events {
        state.apply_event(e);
    }
    assert_eq!(state.status(), Status::Clarified);
}

// --- The whole SOP -----------------------------------------------------------------

#[tokio::test]
async fn the_whole_sop_walks_from_lapor_to_closing() {
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

// --- Identity of commands ----------------------------------------------------------

/// A seen command id does not let anyone past authorization: the role is checked
/// before the seen-id shortcut, and another user (another agency's liaison, say) reusing
/// the id is refused by the retry check against the log.
#[tokio::test]
async fn a_seen_command_id_is_no_way_around_authorization() {
    let story = at_review("PUPR");
    let events = story.events();
    let state = Complaint::from_events(&events);
    let services = ComplaintServices::builtin();
    let seen = events[1].command_id.0.clone();
    let by_apip = cmd(&seen, apip(), story.now(), C::Review(complete_review()));
    assert!(matches!(
        state.decide(&by_apip, &services),
        Err(DomainError::ReadOnlyRole { .. })
    ));
    let by_wrong_role = cmd(&seen, upp(), story.now(), C::Review(complete_review()));
    assert!(matches!(
        state.decide(&by_wrong_role, &services),
        Err(DomainError::RoleNotPermitted { .. })
    ));
    let by_other_agency = cmd(
        &seen,
        liaison("DINKES"),
        story.now(),
        C::Review(complete_review()),
    );
    assert!(matches!(
        by_other_agency.check_retry_of(&events),
        Err(DomainError::CommandIdReused { .. })
    ));
}

/// User names carry no `:`: command ids made from a user and a key stay unambiguous.
#[tokio::test]
async fn a_user_name_with_a_colon_is_refused() {
    let mut actor = upp();
    actor.user = workflow_core::UserId("sari:upp".into());
    given_no_events()
        .when_async(cmd(
            "r1",
            actor,
            wib("2026-11-30 09:00"),
            C::Register(registration()),
        ))
        .await
        .then_expect_error(DomainError::UserNameInvalid);
    // Nor may a user carry the name of the engine's own command ids (`sla-breach:…`).
    let mut actor = upp();
    actor.user = workflow_core::UserId("sla-breach".into());
    given_no_events()
        .when_async(cmd(
            "r1",
            actor,
            wib("2026-11-30 09:00"),
            C::Register(registration()),
        ))
        .await
        .then_expect_error(DomainError::UserNameInvalid);
}

/// The retry check the executor runs on a seen id: same user, role and command.
#[test]
fn a_retry_repeats_the_recorded_command() {
    let story = at_review("PUPR");
    let events = story.events();
    let dispose = &events[1];
    let retry = cmd(
        &dispose.command_id.0,
        upp(),
        story.now(),
        C::Dispose(disposition("PUPR")),
    );
    assert_eq!(retry.check_retry_of(&events), Ok(()));
    let other = cmd(
        &dispose.command_id.0,
        upp(),
        story.now(),
        C::Dispose(disposition("DINKES")),
    );
    assert!(matches!(
        other.check_retry_of(&events),
        Err(DomainError::CommandIdReused { .. })
    ));
}

/// LAPOR!-SP4N: the report reaches LAPOR! before the unit registers it; a date after the
/// registration, or before 2000, is a wrong date that would move every clock.
#[tokio::test]
async fn a_report_dated_after_its_registration_or_before_2000_is_refused() {
    let now = wib("2026-11-30 09:00");
    let mut future = registration();
    future.reported_at = wib("2026-11-30 09:01");
    given_no_events()
        .when_async(cmd("r1", upp(), now, C::Register(future.clone())))
        .await
        .then_expect_error(DomainError::ReportedAfterRegistration {
            reported_at: future.reported_at,
            registered_at: now,
        });
    let mut ancient = registration();
    ancient.reported_at = wib("1999-12-31 09:00");
    given_no_events()
        .when_async(cmd("r1", upp(), now, C::Register(ancient.clone())))
        .await
        .then_expect_error(DomainError::ReportedAtImplausible {
            reported_at: ancient.reported_at,
        });
    let mut same_instant = registration();
    same_instant.reported_at = now;
    given_no_events()
        .when_async(cmd("r1", upp(), now, C::Register(same_instant.clone())))
        .await
        .then_expect_events(vec![event("r1", upp(), now, E::Received(same_instant))]);
}

// --- LAPOR!-SP4N statuses ----------------------------------------------------------

/// Each status maps to the one LAPOR!-SP4N shows, so that figures reconcile: verification
/// (received, returned), disposed, in follow-up (review to BA), awaiting feedback
/// (responded), finished (closed), archived (rejected).
#[test]
fn every_status_has_the_lapor_status_the_national_dashboard_shows() {
    use workflow_core::LaporStatus as L;
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

// --- The door: not every complaint goes to a liaison officer -----------------------

/// UPP archives at the door, with its reason: a duplicate names the original.
#[tokio::test]
async fn upp_archives_at_the_door_a_duplicate_naming_its_original() {
    accepted(
        start().registered(),
        upp(),
        C::Archive(duplicate_of("ADU-2026-0001")),
        E::Archived(duplicate_of("ADU-2026-0001")),
    )
    .await;
    accepted(
        start().registered(),
        upp(),
        C::Archive(spam()),
        E::Archived(spam()),
    )
    .await;
    let mut unnamed = duplicate_of("x");
    unnamed.duplicate_of = None;
    refused(
        start().registered(),
        upp(),
        C::Archive(unnamed),
        DomainError::DuplicateOfMismatch,
    )
    .await;
    let mut spam_naming = spam();
    spam_naming.duplicate_of = Some("ADU-2026-0001".into());
    refused(
        start().registered(),
        upp(),
        C::Archive(spam_naming),
        DomainError::DuplicateOfMismatch,
    )
    .await;
    // Only UPP, and only at the door: once a liaison officer holds it, no.
    refused(
        start().registered(),
        coordinator(),
        C::Archive(spam()),
        DomainError::RoleNotPermitted {
            role: Role::Coordinator,
            command: "archive",
        },
    )
    .await;
    refused(
        at_review("PUPR"),
        upp(),
        C::Archive(spam()),
        DomainError::InvalidTransition {
            command: "archive",
            status: Status::Disposed,
        },
    )
    .await;
}

/// UPP or the coordinator forwards at the door to an institution outside the Pemkab.
#[tokio::test]
async fn a_complaint_for_another_institution_is_forwarded_at_the_door() {
    for actor in [upp(), coordinator()] {
        accepted(
            start().registered(),
            actor,
            C::Forward(forwarding()),
            E::Forwarded(forwarding()),
        )
        .await;
    }
    let mut nameless = forwarding();
    nameless.institution.clear();
    refused(
        start().registered(),
        upp(),
        C::Forward(nameless),
        DomainError::MissingField {
            field: "institution",
        },
    )
    .await;
}

/// The complainant may withdraw at any point before the end; UPP records it.
#[tokio::test]
async fn the_complainant_withdraws_at_any_point_before_the_end() {
    for story in [start().registered(), at_review("PUPR"), responded()] {
        accepted(
            story,
            upp(),
            C::Withdraw(withdrawal()),
            E::Withdrawn(withdrawal()),
        )
        .await;
    }
    let withdrawn = start().registered().then(upp(), E::Withdrawn(withdrawal()));
    refused(
        withdrawn,
        upp(),
        C::Dispose(disposition("PUPR")),
        DomainError::InvalidTransition {
            command: "dispose",
            status: Status::Withdrawn,
        },
    )
    .await;
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

// --- The complainant's window to complete the file --------------------------------

/// UU 25/2009 Pasal 50 as commonly cited: a complainant who does not answer an
/// information request within 30 days has withdrawn the complaint. The system records
/// it, once the window has run out and not before; until then the wait has its own
/// clock on the board.
#[tokio::test]
async fn an_unanswered_information_request_counts_as_withdrawn_after_thirty_days() {
    let waiting = at_review("PUPR")
        .then(liaison("PUPR"), E::Reviewed(incomplete_but_clear_review()))
        .then(
            liaison("PUPR"),
            E::InformationRequested(information_request()),
        );
    let events = waiting.events();
    let requested_at = events.last().unwrap().at;
    let state = Complaint::from_events(&events);
    let wait = state.timeline().latest(Step::InformationWait).unwrap();
    assert_eq!((wait.started_at, wait.ended_at), (requested_at, None));

    // Day 29: still open.
    let open = waiting
        .clone()
        .at(requested_at + chrono::Duration::days(29));
    refused(
        open,
        system(),
        C::DeemWithdrawn(Default::default()),
        DomainError::InformationWindowOpen {
            until: wib("2026-12-30 23:59") + chrono::Duration::seconds(59),
        },
    )
    .await;
    // Day 31: deemed withdrawn, by the system only.
    let late = waiting
        .clone()
        .at(requested_at + chrono::Duration::days(31));
    accepted(
        late.clone(),
        system(),
        C::DeemWithdrawn(Default::default()),
        E::DeemedWithdrawn(workflow_core::complaint::event::WindowElapsed {
            occurrence: 1,
            due_at: wib("2026-12-30 23:59") + chrono::Duration::seconds(59),
        }),
    )
    .await;
    refused(
        late,
        upp(),
        C::DeemWithdrawn(Default::default()),
        DomainError::RoleNotPermitted {
            role: Role::Upp,
            command: "deem withdrawn",
        },
    )
    .await;
    // An answer in time ends the wait: nothing to deem.
    let answered = waiting.then(upp(), E::InformationProvided(information_reply()));
    let state = Complaint::from_events(&answered.events());
    assert!(state
        .timeline()
        .latest(Step::InformationWait)
        .unwrap()
        .ended_at
        .is_some());
    refused(
        answered.at(requested_at + chrono::Duration::days(40)),
        system(),
        C::DeemWithdrawn(Default::default()),
        DomainError::InvalidTransition {
            command: "deem withdrawn",
            status: Status::InformationProvided,
        },
    )
    .await;
}

// --- After the BA: the head of the agency ---------------------------------------

fn ba_on_desk() -> Story {
    at_field_step()
        .field_verified("PUPR", "2026-11-30")
        .ba_issued("PUPR", "2026-11-30")
}

/// SOP step 3: the BA goes "kepada Kepala OPD"; the head of that agency acknowledges it,
/// once, and no one else may.
#[tokio::test]
async fn the_head_of_the_agency_acknowledges_the_ba_addressed_to_them() {
    let ack = workflow_core::complaint::command::BaAcknowledgement {
        note: Some("Segera tambal".into()),
    };
    accepted(
        ba_on_desk(),
        head("PUPR"),
        C::AcknowledgeBa(ack.clone()),
        E::BaAcknowledged(ack.clone()),
    )
    .await;
    refused(
        ba_on_desk(),
        head("DINKES"),
        C::AcknowledgeBa(ack.clone()),
        DomainError::NotYourAgency {
            disposed_to: Some("PUPR".into()),
        },
    )
    .await;
    refused(
        ba_on_desk(),
        liaison("PUPR"),
        C::AcknowledgeBa(ack.clone()),
        DomainError::RoleNotPermitted {
            role: Role::Liaison,
            command: "acknowledge the BA of",
        },
    )
    .await;
    refused(
        ba_on_desk().then(head("PUPR"), E::BaAcknowledged(ack.clone())),
        head("PUPR"),
        C::AcknowledgeBa(ack.clone()),
        DomainError::BaAlreadyAcknowledged,
    )
    .await;
    // A head does nothing else.
    refused(
        ba_on_desk(),
        head("PUPR"),
        C::Respond(response_text()),
        DomainError::ReadOnlyRole { role: Role::Head },
    )
    .await;
}

/// A policy flag decides whether the response may go out before the head acknowledged
/// the BA (by default it may).
#[test]
fn the_response_may_wait_for_the_heads_acknowledgement_by_policy() {
    let policy = workflow_core::SlaPolicy {
        response_requires_ba_acknowledgement: true,
        ..Default::default()
    };
    let services = ComplaintServices {
        policy: std::sync::Arc::new(policy),
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
    let acknowledged = story.then(head("PUPR"), E::BaAcknowledged(Default::default()));
    let state = Complaint::from_events(&acknowledged.events());
    assert!(state.ba_acknowledged());
    assert_eq!(state.decide(&respond, &services).map(|e| e.len()), Ok(1));
}
