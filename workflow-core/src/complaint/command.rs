//! Commands: what users ask of a complaint, wrapped in an envelope that says who asks,
//! when, and under which idempotency key.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::{Actor, AgencyCode, UserId};
use crate::complainant::{Complainant, Identity};
use crate::complaint::event::{ComplaintEvent, EventBody};
use crate::complaint::LaporStatus;
use crate::error::DomainError;
use crate::evidence::EvidenceRef;
use crate::sla::Step;

/// The caller's identifier for one command. A command whose id the complaint has
/// already seen succeeds without doing anything again (safe retries).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct CommandId(pub String);

impl From<&str> for CommandId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl std::fmt::Display for CommandId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A command with everything the domain may not invent: the actor, the command id and
/// the instant, all supplied by the caller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommandEnvelope {
    /// Idempotency key.
    pub command_id: CommandId,
    /// Who asks.
    pub actor: Actor,
    /// The caller's clock at the time of asking.
    pub now: DateTime<Utc>,
    /// What is asked.
    pub command: ComplaintCommand,
}

impl CommandEnvelope {
    /// Wraps a command.
    pub fn new(
        command_id: impl Into<String>,
        actor: Actor,
        now: DateTime<Utc>,
        command: ComplaintCommand,
    ) -> Self {
        Self {
            command_id: CommandId(command_id.into()),
            actor,
            now,
            command,
        }
    }
}

/// What can be asked of a complaint, one variant per SOP activity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type")]
pub enum ComplaintCommand {
    /// UPP registers a complaint arriving from LAPOR!-SP4N with its review.
    Register(Registration),
    /// UPP imports a report from LAPOR!-SP4N: registered as `Register` would, marked as
    /// imported, and disposed as LAPOR! already disposed it, at LAPOR!'s date.
    Import(LaporImport),
    /// UPP or the coordinator disposes (or re-disposes) to an agency's liaison officer.
    Dispose(Disposition),
    /// The liaison officer sends the complaint back as not their agency's matter.
    ReturnForRedisposition(ReturnNote),
    /// The liaison officer checks the complaint's completeness.
    Review(ReviewResult),
    /// The liaison officer declines to follow up an incomplete and unclear complaint.
    Reject(Rejection),
    /// The liaison officer asks the complainant for what the review found missing.
    RequestInformation(InformationRequest),
    /// UPP records the complainant's answer.
    ProvideInformation(InformationReply),
    /// The liaison officer concludes step 2: field examination needed or not.
    Clarify(Clarification),
    /// The liaison officer records a field visit.
    VerifyInField(FieldVisit),
    /// The liaison officer issues the BA of the field examination to the head of the agency.
    IssueBa(BeritaAcara),
    /// The liaison officer answers the complainant.
    Respond(ResponseText),
    /// UPP closes, or the engine closes once the feedback window has run out.
    Close(Closure),
    /// The engine records that a step ran past its deadline.
    RecordSlaBreach(BreachReport),
    /// At the door: UPP archives a complaint that is not for a liaison officer (not a
    /// public-service matter, not the Pemkab's authority, spam, not a complaint, or a
    /// duplicate of another complaint).
    Archive(Archiving),
    /// UPP records that the complainant withdrew the complaint.
    Withdraw(Withdrawal),
    /// At the door: UPP or the coordinator forwards the complaint to an institution
    /// outside the Pemkab.
    Forward(Forwarding),
    /// The engine records that the complainant's window to answer an information
    /// request ran out: the complaint counts as withdrawn.
    DeemWithdrawn(WindowReport),
    /// The head of the agency acknowledges the BA addressed to them.
    AcknowledgeBa(BaAcknowledgement),
    /// The liaison officer posts an interim follow-up (*tindak lanjut sementara*)
    /// visible to the complainant.
    ReportProgress(ProgressReport),
    /// UPP records the complainant's feedback on the response.
    RecordFeedback(Feedback),
    /// UPP or the coordinator sends the complaint back to the liaison officer after a
    /// dissatisfied complainant.
    Reopen(Reopening),
    /// UPP or the head of the agency hands the complaint to another liaison officer of
    /// the same agency.
    Reassign(Reassignment),
    /// The coordinator annuls a recorded breach, with a reason.
    AnnulBreach(BreachAnnulment),
    /// UPP (or the coordinator) erases the complainant's identity on a legal basis (UU
    /// 27/2022): the store destroys the complaint's key once the event is recorded.
    EraseIdentity(IdentityErasure),
}

impl CommandEnvelope {
    /// Whether this envelope is a retry of the command that recorded `recorded` under
    /// the same command id: the same user in the same role asking the same thing. The
    /// same id from another user or for another command is refused
    /// ([`DomainError::CommandIdReused`]): it would otherwise be answered "done" without
    /// anything being done.
    pub fn check_retry_of<'a>(
        &self,
        recorded: impl IntoIterator<Item = &'a ComplaintEvent>,
    ) -> Result<(), DomainError> {
        let Some(first) = recorded
            .into_iter()
            .find(|e| e.command_id == self.command_id)
        else {
            return Ok(());
        };
        let same_actor = first.by.user == self.actor.user && first.by.role == self.actor.role;
        if same_actor && self.command.is_recorded_as(&first.body) {
            Ok(())
        } else {
            Err(DomainError::CommandIdReused {
                command_id: self.command_id.0.clone(),
            })
        }
    }
}

impl ComplaintCommand {
    /// Whether it registers a complaint (`Register`, `Import`): the only commands a
    /// complaint with no events accepts.
    pub fn registers(&self) -> bool {
        matches!(
            self,
            ComplaintCommand::Register(_) | ComplaintCommand::Import(_)
        )
    }

    /// Whether `body` is what this command records (what `decide` makes of it).
    pub fn is_recorded_as(&self, body: &EventBody) -> bool {
        use ComplaintCommand as C;
        use EventBody as E;
        match (self, body) {
            (C::Register(a), E::Received(b)) => a.is_recorded_as(b),
            // An import's first event is its registration.
            (C::Import(a), E::Received(b)) => a.registration.is_recorded_as(b),
            (C::Dispose(a), E::Disposed(b)) => a == b,
            (C::ReturnForRedisposition(a), E::Returned(b)) => a == b,
            (C::Review(a), E::Reviewed(b)) => a == b,
            (C::Reject(a), E::Rejected(b)) => a == b,
            (C::RequestInformation(a), E::InformationRequested(b)) => a == b,
            (C::ProvideInformation(a), E::InformationProvided(b)) => a == b,
            (C::Clarify(a), E::Clarified(b)) => a == b,
            (C::VerifyInField(a), E::FieldVerified(b)) => a == b,
            (C::IssueBa(a), E::BaIssued(b)) => a == b,
            (C::RecordSlaBreach(a), E::SlaBreached(b)) => {
                a.step == b.step && a.occurrence.is_none_or(|n| n == b.occurrence)
            }
            (C::Archive(a), E::Archived(b)) => a == b,
            (C::Withdraw(a), E::Withdrawn(b)) => a == b,
            (C::Forward(a), E::Forwarded(b)) => a == b,
            (C::DeemWithdrawn(_), E::DeemedWithdrawn(_)) => true,
            (C::AcknowledgeBa(a), E::BaAcknowledged(b)) => a == b,
            // An empty response is filled from the BA's solution.
            (C::Respond(a), E::Responded(b)) => {
                a.channel == b.channel && (a.response == b.response || a.response.trim().is_empty())
            }
            (C::Close(a), E::Closed(b)) => a.note == b.note,
            (C::ReportProgress(a), E::ProgressReported(b)) => a == b,
            (C::RecordFeedback(a), E::FeedbackReceived(b)) => a == b,
            (C::Reopen(a), E::Reopened(b)) => a == b,
            (C::Reassign(a), E::Reassigned(b)) => a == b,
            (C::AnnulBreach(a), E::BreachAnnulled(b)) => a == b,
            (C::EraseIdentity(a), E::IdentityErased(b)) => a == b,
            _ => false,
        }
    }

    /// The command's name in the SOP mapping, used in errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            ComplaintCommand::Register(_) => "register",
            ComplaintCommand::Import(_) => "import",
            ComplaintCommand::Dispose(_) => "dispose",
            ComplaintCommand::ReturnForRedisposition(_) => "return",
            ComplaintCommand::Review(_) => "review",
            ComplaintCommand::Reject(_) => "reject",
            ComplaintCommand::RequestInformation(_) => "request information about",
            ComplaintCommand::ProvideInformation(_) => "provide information about",
            ComplaintCommand::Clarify(_) => "clarify",
            ComplaintCommand::VerifyInField(_) => "verify in the field",
            ComplaintCommand::IssueBa(_) => "issue a BA for",
            ComplaintCommand::Respond(_) => "respond to",
            ComplaintCommand::Close(_) => "close",
            ComplaintCommand::RecordSlaBreach(_) => "record an SLA breach of",
            ComplaintCommand::Archive(_) => "archive",
            ComplaintCommand::Withdraw(_) => "withdraw",
            ComplaintCommand::Forward(_) => "forward",
            ComplaintCommand::DeemWithdrawn(_) => "deem withdrawn",
            ComplaintCommand::AcknowledgeBa(_) => "acknowledge the BA of",
            ComplaintCommand::ReportProgress(_) => "report progress on",
            ComplaintCommand::RecordFeedback(_) => "record feedback on",
            ComplaintCommand::Reopen(_) => "reopen",
            ComplaintCommand::Reassign(_) => "reassign",
            ComplaintCommand::AnnulBreach(_) => "annul a breach of",
            ComplaintCommand::EraseIdentity(_) => "erase the identity of",
        }
    }
}

/// A report imported from LAPOR!-SP4N as LAPOR! holds it: the registration, where the
/// complainant filed it, its LAPOR! status, and LAPOR!'s disposition when it has one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LaporImport {
    /// The report, as `Register` takes it (`reported_at` is LAPOR!'s date).
    pub registration: Registration,
    /// The LAPOR! channel it came through (web, aplikasi, SMS, …), if known.
    #[serde(default)]
    pub channel: Option<String>,
    /// Its status in LAPOR! at the import: `verification`, `disposed` or
    /// `in_follow_up`; what LAPOR! has settled is not imported.
    pub lapor_status: LaporStatus,
    /// The agency LAPOR! disposed it to, and when: present exactly when the status is
    /// `disposed` or `in_follow_up`.
    #[serde(default)]
    pub disposed: Option<ImportedDisposition>,
}

/// A disposition made in LAPOR!-SP4N before the report was imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImportedDisposition {
    /// The agency and liaison officer.
    pub disposition: Disposition,
    /// When LAPOR! disposed it: step 2's clock starts here.
    pub at: DateTime<Utc>,
}

/// A complaint as it arrives from LAPOR!-SP4N, with UPP's review (*hasil telaahan*).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Registration {
    /// The LAPOR!-SP4N tracking number.
    pub lapor_id: String,
    /// Short title.
    pub title: String,
    /// The complaint as the complainant wrote it.
    pub description: String,
    /// Category (selects category-specific SLA rules).
    pub category: String,
    /// Where the matter is, if said.
    pub location: Option<String>,
    /// When the complainant filed it in LAPOR!.
    pub reported_at: DateTime<Utc>,
    /// Who complained, with the confidentiality level.
    pub complainant: Complainant,
    /// UPP's review of the complaint (*hasil telaahan*).
    pub upp_review: String,
    /// Supporting documents sent with the complaint.
    #[serde(default)]
    pub attachments: Vec<EvidenceRef>,
}

impl Registration {
    /// Whether `recorded` is what registering `self` recorded: the same in every field,
    /// the identity compared only where the log holds it in plain (the store seals it,
    /// so a retry of a registration finds its identity sealed).
    pub fn is_recorded_as(&self, recorded: &Registration) -> bool {
        let identity_matches = match &recorded.complainant.identity {
            Identity::Plain(_) => self.complainant.identity == recorded.complainant.identity,
            Identity::Sealed { .. } => true,
        };
        let mut a = self.clone();
        a.complainant.identity = recorded.complainant.identity.clone();
        identity_matches && a == *recorded
    }
}

/// The agency and liaison officer a complaint goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Disposition {
    /// The agency (OPD).
    pub agency: AgencyCode,
    /// Its liaison officer: the one assigned, who alone acts for the agency on this
    /// complaint until a reassignment names another.
    pub liaison_officer: UserId,
    /// The agency's sub-unit concerned (UPT, Satker), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_unit: Option<String>,
    /// Instructions for the liaison officer.
    pub note: Option<String>,
}

/// Why a liaison officer sends a complaint back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReturnNote {
    /// The reason, for UPP's re-disposition.
    pub reason: String,
    /// The agency the liaison officer thinks is responsible, if known.
    pub suggested_agency: Option<AgencyCode>,
}

/// The outcome of the step-2 review, which asks two questions: is the report complete
/// (its supporting data), and is it clear? Only "no" to both ends the complaint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReviewResult {
    /// Whether the report and its supporting data are complete.
    pub complete: bool,
    /// Whether the report is clear: what, where and whom it is about can be understood.
    /// (Added in version 2 of `Reviewed`; version 1 is read as `true`.)
    pub clear: bool,
    /// What is missing (empty exactly when complete).
    pub missing_items: Vec<String>,
    /// Remarks.
    pub notes: String,
}

/// Why an incomplete and unclear complaint is not followed up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rejection {
    /// The reason, kept for the complainant and the auditors.
    pub reason: String,
}

/// Questions for the complainant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InformationRequest {
    /// What the complainant is asked.
    pub questions: Vec<String>,
}

/// The complainant's answer, as UPP recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InformationReply {
    /// The answer.
    pub answer: String,
    /// Documents sent with it.
    #[serde(default)]
    pub attachments: Vec<EvidenceRef>,
}

/// The step-2 conclusion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Clarification {
    /// Whether a field examination is needed.
    pub field_examination_needed: bool,
    /// Why.
    pub reasoning: String,
}

/// A person present at, or summoned to, a field examination, or signing a BA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Party {
    /// Full name.
    pub name: String,
    /// Position (*jabatan*).
    pub position: String,
    /// Unit or satker, if any.
    pub unit: Option<String>,
    /// NIP (a civil servant's number), printed under the signature; absent for others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nip: Option<String>,
}

/// A field visit (SOP step 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldVisit {
    /// The local date of the visit.
    pub visit_date: NaiveDate,
    /// Where.
    pub location: String,
    /// The unit or people summoned.
    pub parties_summoned: Vec<Party>,
    /// Those who confirmed the findings.
    pub parties_confirmed: Vec<Party>,
    /// What was found.
    pub findings: String,
    /// Photos and scans; at least one photo.
    pub evidence: Vec<EvidenceRef>,
}

/// The addressee of a BA: the head of the agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Addressee {
    /// Name of the head.
    pub name: String,
    /// Title, such as `Kepala Dinas Kesehatan`.
    pub position: String,
    /// The agency they head.
    pub agency: AgencyCode,
    /// Their NIP, printed under their signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nip: Option<String>,
}

/// The *Berita Acara* of the field examination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BeritaAcara {
    /// The BA number.
    pub number: String,
    /// The BA date (local).
    pub date: NaiveDate,
    /// The head of the agency.
    pub addressee: Addressee,
    /// Who signs.
    pub signatories: Vec<Party>,
    /// Findings of the examination.
    pub findings: String,
    /// Conclusion.
    pub conclusion: String,
    /// Solution or answer for the complainant.
    pub solution: String,
    /// Where it was made (the place-and-date line above the signatures: `Kuala Kapuas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
}

/// The answer to the complainant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseText {
    /// The text sent to the complainant. Left empty after a BA, it is the BA's solution.
    #[serde(default)]
    pub response: String,
    /// How it reaches the complainant (added in version 2 of `Responded`; version 1 is
    /// read as `lapor`).
    #[serde(default)]
    pub channel: ResponseChannel,
}

/// How a response reaches the complainant.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResponseChannel {
    /// Through LAPOR!-SP4N (the default).
    #[default]
    Lapor,
    /// A letter.
    Letter,
    /// E-mail.
    Email,
    /// Telephone or messaging.
    Phone,
    /// In person.
    InPerson,
}

/// An interim follow-up for the complainant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProgressReport {
    /// What has been done so far, as the complainant will read it.
    pub text: String,
}

/// The complainant's feedback on the response, as UPP recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Feedback {
    /// Whether the complainant is satisfied.
    pub satisfied: bool,
    /// What they said.
    #[serde(default)]
    pub text: String,
}

/// Why a complaint goes back to the liaison officer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reopening {
    /// The reason (what the complainant is not satisfied with).
    pub reason: String,
}

/// A complaint handed to another liaison officer of the same agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reassignment {
    /// The liaison officer who takes over.
    pub liaison_officer: UserId,
    /// Why.
    pub reason: String,
}

/// An erasure of the complainant's identity: on which legal basis (no personal data).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IdentityErasure {
    /// The legal basis and the request it answers, e.g. "Permintaan pelapor 12/2026,
    /// Pasal 8 UU 27/2022".
    pub legal_basis: String,
}

/// A recorded breach the coordinator annuls (a system outage, a wrong holiday table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BreachAnnulment {
    /// The step.
    pub step: Step,
    /// Which run of it.
    pub occurrence: u32,
    /// Why the breach does not count.
    pub reason: String,
}

/// Why a complaint is archived at the door.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveReason {
    /// Not about a public service.
    NotPublicService,
    /// Not under the Pemkab's authority (and not forwarded).
    OutOfAuthority,
    /// Spam.
    Spam,
    /// Not a complaint (a question, a greeting, a suggestion).
    NotAComplaint,
    /// The same matter as another complaint, named in `duplicate_of`.
    Duplicate,
}

/// A complaint archived at the door, with who, when (the event's) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Archiving {
    /// Why.
    pub reason: ArchiveReason,
    /// The complaint this one duplicates: given exactly when the reason is `duplicate`.
    pub duplicate_of: Option<String>,
    /// Remarks.
    pub note: Option<String>,
}

/// The complainant withdrew the complaint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Withdrawal {
    /// How the withdrawal reached the unit, and why if said.
    pub note: String,
}

/// A complaint forwarded to an institution outside the Pemkab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Forwarding {
    /// The institution (instansi) it goes to.
    pub institution: String,
    /// Why it is theirs.
    pub reason: String,
}

/// The head of the agency's acknowledgement of the BA.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BaAcknowledgement {
    /// Remarks (instructions to the unit, say).
    pub note: Option<String>,
}

/// The engine's report that a complainant's window ran out (what ran out is judged
/// from the complaint's own clocks).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WindowReport {}

/// Closing remarks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Closure {
    /// Remarks.
    pub note: Option<String>,
}

/// Why a complaint closed, judged from its feedback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClosingReason {
    /// The complainant is satisfied.
    Settled,
    /// The feedback window ran out without feedback.
    NoFeedback,
    /// The complainant was not satisfied and the window ran out without a reopening.
    NotReopened,
}

/// A closing as recorded: the reason and the remarks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClosingRecord {
    /// Why (added in version 2 of `Closed`; version 1, which knew no feedback, is read
    /// as `no_feedback`).
    pub reason: ClosingReason,
    /// Remarks.
    pub note: Option<String>,
}

/// Which step ran past its deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BreachReport {
    /// The step.
    pub step: Step,
    /// Which run of it; `None` for the latest. A run that a re-disposition or a return
    /// superseded keeps its own breach.
    #[serde(default)]
    pub occurrence: Option<u32>,
}

impl BreachReport {
    /// The latest run of `step`.
    pub fn latest(step: Step) -> Self {
        Self {
            step,
            occurrence: None,
        }
    }
}
