//! Why the domain refused a command. Business rules only: no I/O can fail in here.

use chrono::{DateTime, Utc};

use crate::actor::{AgencyCode, Role, UserId};
use crate::complaint::Status;
use crate::sla::Step;

/// What kind of refusal an error is, so that outer layers map it without matching on
/// each variant (the host turns these into HTTP statuses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// The complaint does not exist (HTTP 404).
    NotFound,
    /// The actor's role or agency may not do this (HTTP 403).
    Forbidden,
    /// The complaint is not in a state that allows the command (HTTP 409).
    StateConflict,
    /// An SOP rule refused the command's content (HTTP 422).
    RuleViolated,
}

/// A command refused by a rule of the SOP. Each variant names its rule; [`rule`]
/// gives a stable code for programs.
///
/// [`rule`]: DomainError::rule
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Only `Register` applies to a complaint that has not been registered.
    #[error("no complaint has been registered under this id")]
    NotRegistered,
    /// `Register` applies once.
    #[error("the complaint is already registered")]
    AlreadyRegistered,
    /// The actor's role does not carry this command.
    #[error("role `{role}` may not {command}")]
    RoleNotPermitted {
        /// The actor's role.
        role: Role,
        /// The command refused.
        command: &'static str,
    },
    /// APIP and heads of agency read; they never change a complaint.
    #[error("role `{role}` is read-only and changes nothing")]
    ReadOnlyRole {
        /// The actor's role.
        role: Role,
    },
    /// A liaison officer acts only on complaints disposed to their own agency.
    #[error("the complaint is not disposed to your agency")]
    NotYourAgency {
        /// The agency the complaint is disposed to, if any.
        disposed_to: Option<AgencyCode>,
    },
    /// The command does not follow from the complaint's current state.
    #[error("cannot {command} a complaint that is {status}")]
    InvalidTransition {
        /// The command refused.
        command: &'static str,
        /// The complaint's state.
        status: Status,
    },
    /// Re-disposing to the agency that already holds the complaint changes nothing.
    #[error("the complaint is already disposed to {agency}")]
    AlreadyDisposedTo {
        /// The agency.
        agency: AgencyCode,
    },
    /// A field the SOP requires is empty.
    #[error("`{field}` is required")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// A complete review lists no missing items; an incomplete one lists at least one.
    #[error("a review is complete exactly when it lists no missing items")]
    ReviewInconsistent,
    /// The policy has the response wait for the head's acknowledgement of the BA.
    #[error("the response waits until the head of the agency has acknowledged the BA")]
    ResponseAwaitsBaAcknowledgement,
    /// The head already acknowledged this BA.
    #[error("the head of the agency already acknowledged this BA")]
    BaAlreadyAcknowledged,
    /// The complainant's window to answer an information request has not run out.
    #[error("the complainant has until {until} to answer the information request")]
    InformationWindowOpen {
        /// When the window ends.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// An archive as a duplicate names the complaint it duplicates; any other reason
    /// names none.
    #[error(
        "`duplicate_of` is given exactly when the reason is `duplicate`, and names a complaint"
    )]
    DuplicateOfMismatch,
    /// A command id seen before came from another user or role, or with another
    /// command: a retry must repeat the same command.
    #[error("command id `{command_id}` was already used by another user or for another command; send a new id")]
    CommandIdReused {
        /// The id.
        command_id: String,
    },
    /// A complaint's events are in time order: a command is not dated before the
    /// complaint's latest event (an "as of" reading would otherwise show a state that
    /// never was, and a step could be judged on an instant before its clock started).
    #[error("the command is dated {at}, before the complaint's latest event at {latest}; a complaint's events are in time order")]
    DatedBeforeLatestEvent {
        /// The command's instant.
        at: DateTime<Utc>,
        /// The instant of the complaint's latest event.
        latest: DateTime<Utc>,
    },
    /// A registration's `reported_at` lies after the registration itself.
    #[error(
        "the report is dated {reported_at} in LAPOR!, after its registration at {registered_at}"
    )]
    ReportedAfterRegistration {
        /// When LAPOR! says it was reported.
        reported_at: chrono::DateTime<chrono::Utc>,
        /// When it is being registered.
        registered_at: chrono::DateTime<chrono::Utc>,
    },
    /// LAPOR! has already answered, finished or archived the report: nothing is left to
    /// follow up, so it is not imported.
    #[error("LAPOR! holds the report as {status:?}: only reports in verification, disposed or in follow-up are imported")]
    ImportOfSettledReport {
        /// Its LAPOR! status.
        status: crate::complaint::LaporStatus,
    },
    /// An imported report comes with LAPOR!'s disposition when, and only when, LAPOR!
    /// holds it as disposed or in follow-up.
    #[error("a report LAPOR! holds as {status:?} {}", if matches!(status, crate::complaint::LaporStatus::Verification) { "has no disposition to import" } else { "needs the agency and date LAPOR! disposed it" })]
    ImportDispositionMismatch {
        /// Its LAPOR! status.
        status: crate::complaint::LaporStatus,
    },
    /// LAPOR!'s disposition of an imported report lies before the report or after the
    /// import: a wrong date that would move step 2's clock.
    #[error("LAPOR!'s disposition is dated {disposed_at}, outside the report's {reported_at} to the import's {imported_at}")]
    ImportDispositionDate {
        /// The disposition's date.
        disposed_at: DateTime<Utc>,
        /// The report's.
        reported_at: DateTime<Utc>,
        /// The import's.
        imported_at: DateTime<Utc>,
    },
    /// A registration's `reported_at` lies before 2000: a wrong date, not a report.
    #[error("the report is dated {reported_at}, before 2000: check the date")]
    ReportedAtImplausible {
        /// The date given.
        reported_at: chrono::DateTime<chrono::Utc>,
    },
    /// A user name is empty, contains `:` (which separates a user from an idempotency
    /// key in command ids) or is one of the engine's own command-id prefixes.
    #[error("a user name must not be empty, contain `:`, or be `sla-breach`, `auto-close` or `deemed-withdrawn`")]
    UserNameInvalid,
    /// SOP step 2: "kalau tidak lengkap dan tidak jelas tidak ditanggapi": only a
    /// complaint found both incomplete and unclear is not followed up.
    #[error(
        "a complaint may be rejected only after a review found it both incomplete and unclear"
    )]
    RejectRequiresIncompleteAndUnclearReview,
    /// Step 2 confirms and clarifies with the complainant what a review found missing
    /// or unclear.
    #[error("information may be requested only after a review found the complaint incomplete or unclear")]
    RequestRequiresIncompleteOrUnclearReview,
    /// The step-2 conclusion (is a completeness examination in the field needed?) rests
    /// on a clear report; an incomplete one is completed in step 3.
    #[error("a complaint may be clarified only after a review found it clear")]
    ClarifyRequiresClearReview,
    /// Step 3's output is the complete report data: a clear but incomplete file is
    /// completed by the field examination (or by asking the complainant), not concluded
    /// without one.
    #[error("the review found the file incomplete: the clarification must call for the field examination that completes it")]
    IncompleteFileNeedsFieldExamination,
    /// The clarification concluded that no field examination is needed.
    #[error("the clarification concluded that no field examination is needed")]
    FieldVerificationNotNeeded,
    /// SOP step 3 concludes with photo documentation.
    #[error("a field verification needs at least one photo (image/*) as evidence")]
    FieldVerificationNeedsPhoto,
    /// An evidence reference is not a well-formed sha256, media type and size.
    #[error("evidence `{sha256}` is not a well-formed reference (64 hex sha256, type/subtype, size > 0)")]
    MalformedEvidence {
        /// The reference's digest as given.
        sha256: String,
    },
    /// A field visit cannot be recorded before it happened.
    #[error("the visit date lies in the future")]
    VisitDateInFuture,
    /// SOP step 3: the BA reports a field examination.
    #[error("a BA may be issued only after a field verification")]
    BaRequiresFieldVerification,
    /// SOP step 3: the BA goes to the head of the agency the complaint is disposed to.
    #[error("the BA must be addressed to the head of {expected}, not of {addressed}")]
    BaAddresseeNotHeadOfDisposedAgency {
        /// The agency the complaint is disposed to.
        expected: AgencyCode,
        /// The agency named in the addressee.
        addressed: AgencyCode,
    },
    /// The minutes cannot predate the examination they record.
    #[error("the BA date precedes the field visit")]
    BaDateBeforeVisit,
    /// A BA is signed.
    #[error("a BA needs at least one signatory")]
    BaNeedsSignatory,
    /// The complainant is answered with the clarification's conclusion or the BA's solution.
    #[error("a response needs a clarification without field examination, or an issued BA")]
    RespondRequiresOutcome,
    /// The engine closes on its own only after the complainant's feedback window.
    #[error("the complainant's feedback window is open until {until}")]
    FeedbackWindowOpen {
        /// When the window ends.
        until: DateTime<Utc>,
    },
    /// A breach is recorded only once the deadline has passed.
    #[error("the {step} deadline ({due_at}) has not passed")]
    DeadlineNotPassed {
        /// The step.
        step: Step,
        /// Its deadline.
        due_at: DateTime<Utc>,
    },
    /// A breach is recorded once per run of a step.
    #[error("the {step} breach is already recorded")]
    BreachAlreadyRecorded {
        /// The step.
        step: Step,
    },
    /// The step's clock has not started for this complaint.
    #[error("the {step} clock has not started")]
    StepNotStarted {
        /// The step.
        step: Step,
    },
    /// The feedback window is not a duty and cannot be breached.
    #[error("the {step} window cannot be breached")]
    StepNotBreachable {
        /// The step.
        step: Step,
    },
    /// While the complaint waits for the complainant it stays where it is.
    #[error("the complaint is waiting for the complainant's information")]
    WaitingForComplainant,
    /// The liaison officer named in the disposition (or the latest reassignment) acts
    /// for the agency; another takes over only through a reassignment.
    #[error(
        "the complaint is assigned to liaison officer `{assigned}`; a reassignment is needed first"
    )]
    NotAssignedLiaison {
        /// The assigned liaison officer.
        assigned: UserId,
    },
    /// After the third return the coordinator decides where the complaint goes.
    #[error("the complaint was returned three times: the coordinator decides its disposition")]
    EscalatedToCoordinator,
    /// The coordinator's disposition after an escalation is not returned again.
    #[error("the coordinator decided this disposition after repeated returns; it cannot be returned again")]
    CoordinatorDecided,
    /// The complainant's feedback window has run out: the complaint is closed (by the
    /// engine, or by UPP), not given feedback or reopened any more.
    #[error("the complainant's feedback window ended at {ended}")]
    FeedbackWindowElapsed {
        /// When the window ended.
        ended: DateTime<Utc>,
    },
    /// One feedback per response.
    #[error("the complainant's feedback on this response is already recorded")]
    FeedbackAlreadyRecorded,
    /// A complaint goes back to the liaison officer only when the complainant is not
    /// satisfied with the response.
    #[error("a complaint may be reopened only after the complainant said they are not satisfied")]
    ReopenRequiresDissatisfiedFeedback,
    /// UPP closes after positive feedback, or once the feedback window has run out.
    #[error("a complaint may be closed after the complainant's positive feedback, or once the feedback window ends at {until}")]
    CloseRequiresSatisfiedFeedbackOrWindow {
        /// When the window ends.
        until: DateTime<Utc>,
    },
    /// A reassignment names another liaison officer.
    #[error("the complaint is already assigned to `{liaison}`")]
    ReassignToSameLiaison {
        /// The liaison officer.
        liaison: UserId,
    },
    /// Only a recorded breach can be annulled.
    #[error("no breach of {step} run {occurrence} is recorded")]
    BreachNotRecorded {
        /// The step.
        step: Step,
        /// The run.
        occurrence: u32,
    },
    /// A breach is annulled once.
    #[error("the breach of {step} run {occurrence} is already annulled")]
    BreachAlreadyAnnulled {
        /// The step.
        step: Step,
        /// The run.
        occurrence: u32,
    },
    /// A registration gives the complainant's identity in plain: sealing is the store's
    /// work, with the complaint's own key.
    #[error("the complainant's identity must be given in plain; the store seals it")]
    IdentityNotPlain,
    /// An erasure states its legal basis.
    #[error("an erasure of the complainant's identity needs its legal basis")]
    ErasureNeedsLegalBasis,
    /// An identity is erased once.
    #[error("the complainant's identity was already erased at {erased_at}")]
    IdentityAlreadyErased {
        /// When it was erased.
        erased_at: DateTime<Utc>,
    },
}

impl DomainError {
    /// A stable, dotted code naming the rule, for problem bodies and logs.
    pub fn rule(&self) -> &'static str {
        match self {
            DomainError::NotRegistered => "complaint.not_registered",
            DomainError::AlreadyRegistered => "complaint.already_registered",
            DomainError::RoleNotPermitted { .. } => "access.role_not_permitted",
            DomainError::ReadOnlyRole { .. } => "access.read_only_role",
            DomainError::NotYourAgency { .. } => "access.not_your_agency",
            DomainError::InvalidTransition { .. } => "sop.invalid_transition",
            DomainError::AlreadyDisposedTo { .. } => "sop.step1.already_disposed_to_agency",
            DomainError::MissingField { .. } => "input.missing_field",
            DomainError::ReviewInconsistent => "sop.step2.review_inconsistent",
            DomainError::CommandIdReused { .. } => "command.id_reused",
            DomainError::DatedBeforeLatestEvent { .. } => "complaint.dated_before_latest_event",
            DomainError::UserNameInvalid => "access.user_name_invalid",
            DomainError::DuplicateOfMismatch => "sop.door.duplicate_of_names_the_original",
            DomainError::InformationWindowOpen { .. } => "sop.step2.information_window_open",
            DomainError::ResponseAwaitsBaAcknowledgement => {
                "sop.step3.response_awaits_ba_acknowledgement"
            }
            DomainError::BaAlreadyAcknowledged => "sop.step3.ba_already_acknowledged",
            DomainError::ReportedAfterRegistration { .. } => {
                "sop.register.reported_after_registration"
            }
            DomainError::ReportedAtImplausible { .. } => "input.reported_at_before_2000",
            DomainError::ImportOfSettledReport { .. } => "import.settled_in_lapor",
            DomainError::ImportDispositionMismatch { .. } => "import.disposition_matches_status",
            DomainError::ImportDispositionDate { .. } => {
                "import.disposition_between_report_and_import"
            }
            DomainError::RejectRequiresIncompleteAndUnclearReview => {
                "sop.step2.reject_requires_incomplete_and_unclear_review"
            }
            DomainError::RequestRequiresIncompleteOrUnclearReview => {
                "sop.step2.request_requires_incomplete_or_unclear_review"
            }
            DomainError::ClarifyRequiresClearReview => "sop.step2.clarify_requires_clear_review",
            DomainError::IncompleteFileNeedsFieldExamination => {
                "sop.step2.incomplete_file_needs_field_examination"
            }
            DomainError::FieldVerificationNotNeeded => "sop.step3.field_verification_not_needed",
            DomainError::FieldVerificationNeedsPhoto => "sop.step3.field_verification_needs_photo",
            DomainError::MalformedEvidence { .. } => "input.malformed_evidence",
            DomainError::VisitDateInFuture => "sop.step3.visit_date_in_future",
            DomainError::BaRequiresFieldVerification => "sop.step3.ba_requires_field_verification",
            DomainError::BaAddresseeNotHeadOfDisposedAgency { .. } => {
                "sop.step3.ba_addressed_to_head_of_disposed_agency"
            }
            DomainError::BaDateBeforeVisit => "sop.step3.ba_date_before_visit",
            DomainError::BaNeedsSignatory => "sop.step3.ba_needs_signatory",
            DomainError::RespondRequiresOutcome => "sop.response.requires_outcome",
            DomainError::FeedbackWindowOpen { .. } => "sop.close.feedback_window_open",
            DomainError::DeadlineNotPassed { .. } => "sla.deadline_not_passed",
            DomainError::BreachAlreadyRecorded { .. } => "sla.breach_already_recorded",
            DomainError::StepNotStarted { .. } => "sla.step_not_started",
            DomainError::StepNotBreachable { .. } => "sla.step_not_breachable",
            DomainError::WaitingForComplainant => "sop.step2.waiting_for_complainant",
            DomainError::NotAssignedLiaison { .. } => "access.not_assigned_liaison",
            DomainError::EscalatedToCoordinator => "sop.step1.escalated_to_coordinator",
            DomainError::CoordinatorDecided => "sop.return.coordinator_decided",
            DomainError::FeedbackAlreadyRecorded => "sop.feedback.already_recorded",
            DomainError::FeedbackWindowElapsed { .. } => "sop.feedback.window_elapsed",
            DomainError::ReopenRequiresDissatisfiedFeedback => {
                "sop.reopen.requires_dissatisfied_feedback"
            }
            DomainError::CloseRequiresSatisfiedFeedbackOrWindow { .. } => {
                "sop.close.requires_satisfied_feedback_or_window"
            }
            DomainError::ReassignToSameLiaison { .. } => "sop.reassign.same_liaison",
            DomainError::BreachNotRecorded { .. } => "sla.breach_not_recorded",
            DomainError::BreachAlreadyAnnulled { .. } => "sla.breach_already_annulled",
            DomainError::IdentityNotPlain => "pdp.identity_not_plain",
            DomainError::ErasureNeedsLegalBasis => "pdp.erasure_needs_legal_basis",
            DomainError::IdentityAlreadyErased { .. } => "pdp.identity_already_erased",
        }
    }

    /// How outer layers should treat the refusal.
    pub fn kind(&self) -> RefusalKind {
        match self {
            DomainError::NotRegistered => RefusalKind::NotFound,
            DomainError::RoleNotPermitted { .. }
            | DomainError::ReadOnlyRole { .. }
            | DomainError::NotYourAgency { .. }
            | DomainError::NotAssignedLiaison { .. }
            | DomainError::EscalatedToCoordinator => RefusalKind::Forbidden,
            DomainError::AlreadyRegistered
            | DomainError::InvalidTransition { .. }
            | DomainError::WaitingForComplainant
            | DomainError::CommandIdReused { .. }
            | DomainError::DatedBeforeLatestEvent { .. }
            | DomainError::IdentityAlreadyErased { .. } => RefusalKind::StateConflict,
            _ => RefusalKind::RuleViolated,
        }
    }
}
