//! Every refusal of the domain, one sample of each: the set of rule codes the generated
//! histories must reach.

use std::collections::BTreeSet;

use workflow_core::fixtures::*;
use workflow_core::{AgencyCode, DomainError, LaporStatus, Role, Status, Step, UserId};

/// One sample of each `DomainError` variant, in declaration order.
///
/// When a variant is added, [`variant_index`] stops compiling: give it an arm there
/// and a sample here, and make the generator (`generator.rs`) reach it.
fn every_variant() -> Vec<DomainError> {
    let at = wib("2026-11-30 08:00");
    let agency = AgencyCode::from("PUPR");
    let user = UserId::from("penghubung.pupr");
    vec![
        DomainError::NotRegistered,
        DomainError::AlreadyRegistered,
        DomainError::RoleNotPermitted {
            role: Role::Apip,
            command: "register",
        },
        DomainError::ReadOnlyRole { role: Role::Apip },
        DomainError::NotYourAgency { disposed_to: None },
        DomainError::InvalidTransition {
            command: "close",
            status: Status::Received,
        },
        DomainError::AlreadyDisposedTo {
            agency: agency.clone(),
        },
        DomainError::MissingField { field: "reason" },
        DomainError::ReviewInconsistent,
        DomainError::ResponseAwaitsBaAcknowledgement,
        DomainError::BaAlreadyAcknowledged,
        DomainError::InformationWindowOpen { until: at },
        DomainError::DuplicateOfMismatch,
        DomainError::CommandIdReused {
            command_id: "cmd-1".into(),
        },
        DomainError::DatedBeforeLatestEvent { at, latest: at },
        DomainError::ReportedAfterRegistration {
            reported_at: at,
            registered_at: at,
        },
        DomainError::ReportedAtImplausible { reported_at: at },
        DomainError::UserNameInvalid,
        DomainError::RejectRequiresIncompleteAndUnclearReview,
        DomainError::RequestRequiresIncompleteOrUnclearReview,
        DomainError::ClarifyRequiresClearReview,
        DomainError::FieldVerificationNotNeeded,
        DomainError::FieldVerificationNeedsPhoto,
        DomainError::MalformedEvidence {
            sha256: "xyz".into(),
        },
        DomainError::VisitDateInFuture,
        DomainError::BaRequiresFieldVerification,
        DomainError::BaAddresseeNotHeadOfDisposedAgency {
            expected: agency.clone(),
            addressed: "DISHUB".into(),
        },
        DomainError::BaDateBeforeVisit,
        DomainError::BaNeedsSignatory,
        DomainError::RespondRequiresOutcome,
        DomainError::FeedbackWindowOpen { until: at },
        DomainError::DeadlineNotPassed {
            step: Step::Review,
            due_at: at,
        },
        DomainError::BreachAlreadyRecorded { step: Step::Review },
        DomainError::StepNotStarted {
            step: Step::Overall,
        },
        DomainError::StepNotBreachable {
            step: Step::Feedback,
        },
        DomainError::WaitingForComplainant,
        DomainError::NotAssignedLiaison {
            assigned: user.clone(),
        },
        DomainError::EscalatedToCoordinator,
        DomainError::CoordinatorDecided,
        DomainError::FeedbackAlreadyRecorded,
        DomainError::ReopenRequiresDissatisfiedFeedback,
        DomainError::CloseRequiresSatisfiedFeedbackOrWindow { until: at },
        DomainError::ReassignToSameLiaison { liaison: user },
        DomainError::BreachNotRecorded {
            step: Step::Review,
            occurrence: 1,
        },
        DomainError::BreachAlreadyAnnulled {
            step: Step::Review,
            occurrence: 1,
        },
        DomainError::IncompleteFileNeedsFieldExamination,
        DomainError::FeedbackWindowElapsed { ended: at },
        DomainError::IdentityNotPlain,
        DomainError::ErasureNeedsLegalBasis,
        DomainError::IdentityAlreadyErased { erased_at: at },
        DomainError::ImportOfSettledReport {
            status: LaporStatus::Finished,
        },
        DomainError::ImportDispositionMismatch {
            status: LaporStatus::Disposed,
        },
        DomainError::ImportDispositionDate {
            disposed_at: at,
            reported_at: at,
            imported_at: at,
        },
    ]
}

/// The position of `e`'s variant in [`every_variant`]. Exhaustive on purpose (no
/// wildcard): a new variant breaks the build here until it has an arm and a sample.
fn variant_index(e: &DomainError) -> usize {
    // One arm per variant, alike in shape: the list itself is what the compiler checks.
    match e {
        DomainError::NotRegistered => 0,
        DomainError::AlreadyRegistered => 1,
        DomainError::RoleNotPermitted { .. } => 2,
        DomainError::ReadOnlyRole { .. } => 3,
        DomainError::NotYourAgency { .. } => 4,
        DomainError::InvalidTransition { .. } => 5,
        DomainError::AlreadyDisposedTo { .. } => 6,
        DomainError::MissingField { .. } => 7,
        DomainError::ReviewInconsistent => 8,
        DomainError::ResponseAwaitsBaAcknowledgement => 9,
        DomainError::BaAlreadyAcknowledged => 10,
        DomainError::InformationWindowOpen { .. } => 11,
        DomainError::DuplicateOfMismatch => 12,
        DomainError::CommandIdReused { .. } => 13,
        DomainError::DatedBeforeLatestEvent { .. } => 14,
        DomainError::ReportedAfterRegistration { .. } => 15,
        DomainError::ReportedAtImplausible { .. } => 16,
        DomainError::UserNameInvalid => 17,
        DomainError::RejectRequiresIncompleteAndUnclearReview => 18,
        DomainError::RequestRequiresIncompleteOrUnclearReview => 19,
        DomainError::ClarifyRequiresClearReview => 20,
        DomainError::FieldVerificationNotNeeded => 21,
        DomainError::FieldVerificationNeedsPhoto => 22,
        DomainError::MalformedEvidence { .. } => 23,
        DomainError::VisitDateInFuture => 24,
        DomainError::BaRequiresFieldVerification => 25,
        DomainError::BaAddresseeNotHeadOfDisposedAgency { .. } => 26,
        DomainError::BaDateBeforeVisit => 27,
        DomainError::BaNeedsSignatory => 28,
        DomainError::RespondRequiresOutcome => 29,
        DomainError::FeedbackWindowOpen { .. } => 30,
        DomainError::DeadlineNotPassed { .. } => 31,
        DomainError::BreachAlreadyRecorded { .. } => 32,
        DomainError::StepNotStarted { .. } => 33,
        DomainError::StepNotBreachable { .. } => 34,
        DomainError::WaitingForComplainant => 35,
        DomainError::NotAssignedLiaison { .. } => 36,
        DomainError::EscalatedToCoordinator => 37,
        DomainError::CoordinatorDecided => 38,
        DomainError::FeedbackAlreadyRecorded => 39,
        DomainError::ReopenRequiresDissatisfiedFeedback => 40,
        DomainError::CloseRequiresSatisfiedFeedbackOrWindow { .. } => 41,
        DomainError::ReassignToSameLiaison { .. } => 42,
        DomainError::BreachNotRecorded { .. } => 43,
        DomainError::BreachAlreadyAnnulled { .. } => 44,
        DomainError::IncompleteFileNeedsFieldExamination => 45,
        DomainError::FeedbackWindowElapsed { .. } => 46,
        DomainError::IdentityNotPlain => 47,
        DomainError::ErasureNeedsLegalBasis => 48,
        DomainError::IdentityAlreadyErased { .. } => 49,
        DomainError::ImportOfSettledReport { .. } => 50,
        DomainError::ImportDispositionMismatch { .. } => 51,
        DomainError::ImportDispositionDate { .. } => 52,
    }
}

/// The rule code of every variant of `DomainError`: the set a thorough generator must
/// reach.
pub(super) fn rule_of_every_variant() -> Vec<&'static str> {
    let samples = every_variant();
    for (i, sample) in samples.iter().enumerate() {
        assert_eq!(
            variant_index(sample),
            i,
            "every_variant() must list one sample per variant, in the order of variant_index: {sample:?}"
        );
    }
    samples.iter().map(DomainError::rule).collect()
}

#[test]
fn each_refusal_has_its_own_rule_code() {
    let codes = rule_of_every_variant();
    let distinct: BTreeSet<_> = codes.iter().collect();
    assert_eq!(
        distinct.len(),
        codes.len(),
        "two variants share a code: {codes:?}"
    );
}
