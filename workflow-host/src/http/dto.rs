//! The API's request and response bodies. They are the HTTP contract, kept apart from
//! the events (the storage contract): they refuse unknown fields, and evidence is named
//! by SHA-256, resolved against the blob store and checked as the citer's to cite.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use workflow_core::complainant::{Complainant, Confidentiality, PersonalData};
use workflow_core::complaint::command::{
    Addressee, BeritaAcara, Clarification, Closure, ComplaintCommand, Disposition, FieldVisit,
    IdentityErasure, InformationReply, InformationRequest, Party, Registration, Rejection,
    ResponseChannel, ResponseText, ReturnNote, ReviewResult,
};
use workflow_core::{AgencyCode, UserId};

use super::error::ApiError;

mod door_and_follow_up;
mod uploads;
pub use door_and_follow_up::*;
use uploads::{resolve_uploads, CiteRule};
pub use uploads::{Citing, EvidenceUse};

/// A request body that is the domain command as it is: nothing in it names an upload.
pub trait IntoCommand {
    /// The command.
    fn into_command(self) -> ComplaintCommand;
}

/// A request body that becomes a domain command, with the uploads it names resolved
/// against the evidence store and checked as the citer's to cite (a body naming none is
/// an [`IntoCommand`]).
pub trait ResolveCommand: Sized {
    /// The command, or the problem with an upload it names.
    fn resolve(
        self,
        citing: &Citing<'_>,
    ) -> impl std::future::Future<Output = Result<ComplaintCommand, ApiError>> + Send;
}

impl<T: IntoCommand + Send> ResolveCommand for T {
    async fn resolve(self, _: &Citing<'_>) -> Result<ComplaintCommand, ApiError> {
        Ok(self.into_command())
    }
}

/// LAPOR!'s confidentiality levels.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfidentialityDto {
    /// Identity and report visible to those handling it.
    Public,
    /// Identity hidden from the agency.
    Anonymous,
    /// Identity hidden, report not public (the default).
    #[default]
    Confidential,
}

/// The complainant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplainantDto {
    /// Name.
    pub name: String,
    /// Telephone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// National identity number (NIK).
    #[serde(default)]
    pub nik: Option<String>,
    /// Postal address.
    #[serde(default)]
    pub address: Option<String>,
    /// Free text UPP marks as personal (sealed with the identity).
    #[serde(default)]
    pub personal_note: Option<String>,
    /// Default `confidential`.
    #[serde(default)]
    pub confidentiality: ConfidentialityDto,
}

/// `POST /complaints`.
///
/// The fields of [`Registration`] again, on purpose: this is the HTTP contract, which
/// also names the complaint's id and refers to uploads by hash, while the command carries
/// the resolved evidence; each can change without moving the other.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The complaint id; default the LAPOR! id (so a complaint imported twice is refused).
    pub id: Option<String>,
    /// LAPOR!-SP4N tracking number.
    pub lapor_id: String,
    /// Title.
    pub title: String,
    /// The complaint's text.
    pub description: String,
    /// Category.
    pub category: String,
    /// Where.
    pub location: Option<String>,
    /// When it was filed in LAPOR!.
    pub reported_at: DateTime<Utc>,
    /// Who complained.
    pub complainant: ComplainantDto,
    /// UPP's review (*hasil telaahan*).
    pub upp_review: String,
    /// Uploaded supporting documents.
    #[serde(default)]
    pub attachments: Vec<EvidenceUse>,
}

impl ResolveCommand for RegisterRequest {
    async fn resolve(self, citing: &Citing<'_>) -> Result<ComplaintCommand, ApiError> {
        Ok(ComplaintCommand::Register(Registration {
            lapor_id: self.lapor_id,
            title: self.title,
            description: self.description,
            category: self.category,
            location: self.location,
            reported_at: self.reported_at,
            complainant: Complainant::plain(
                PersonalData {
                    name: self.complainant.name,
                    phone: self.complainant.phone,
                    email: self.complainant.email,
                    nik: self.complainant.nik,
                    address: self.complainant.address,
                    personal_note: self.complainant.personal_note,
                },
                match self.complainant.confidentiality {
                    ConfidentialityDto::Public => Confidentiality::Public,
                    ConfidentialityDto::Anonymous => Confidentiality::Anonymous,
                    ConfidentialityDto::Confidential => Confidentiality::Confidential,
                },
            ),
            upp_review: self.upp_review,
            attachments: resolve_uploads(citing, CiteRule::UploadedByUpp, self.attachments).await?,
        }))
    }
}

/// `POST /complaints/{id}/dispose`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisposeRequest {
    /// The code of a registered agency in service (`aduan agency list`), upper-case.
    pub agency: String,
    /// Its liaison officer's user name: the one assigned, who alone acts for the agency
    /// on this complaint until a reassignment.
    pub liaison_officer: String,
    /// The agency's sub-unit concerned (UPT, Satker), if any.
    #[serde(default)]
    pub sub_unit: Option<String>,
    /// Instructions.
    pub note: Option<String>,
}

/// `POST /complaints/{id}/return`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// Why it is not this agency's matter.
    pub reason: String,
    /// Which agency it belongs to, if known.
    pub suggested_agency: Option<String>,
}

/// `POST /complaints/{id}/review`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// Whether the report and its data are complete.
    pub complete: bool,
    /// Whether the report is clear (default `true`: nothing found unclear). Only a
    /// review that found the report both incomplete and unclear allows a rejection.
    #[serde(default = "yes")]
    pub clear: bool,
    /// What is missing (empty exactly when complete).
    #[serde(default)]
    pub missing_items: Vec<String>,
    /// Remarks.
    #[serde(default)]
    pub notes: String,
}

/// `POST /complaints/{id}/request-information`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInformationRequest {
    /// Questions for the complainant.
    pub questions: Vec<String>,
}

/// `POST /complaints/{id}/provide-information`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvideInformationRequest {
    /// The complainant's answer.
    pub answer: String,
    /// Uploaded documents sent with it.
    #[serde(default)]
    pub attachments: Vec<EvidenceUse>,
}

/// `POST /complaints/{id}/reject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why it is not followed up.
    pub reason: String,
}

/// `POST /complaints/{id}/clarify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClarifyRequest {
    /// Whether a field examination is needed.
    pub field_examination_needed: bool,
    /// Why.
    pub reasoning: String,
}

/// A person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyDto {
    /// Name.
    pub name: String,
    /// Position.
    pub position: String,
    /// Unit.
    pub unit: Option<String>,
    /// NIP (civil servants), printed under the signature.
    #[serde(default)]
    pub nip: Option<String>,
}

impl From<PartyDto> for Party {
    fn from(p: PartyDto) -> Self {
        Party {
            name: p.name,
            position: p.position,
            unit: p.unit,
            nip: p.nip,
        }
    }
}

/// `POST /complaints/{id}/field-verification`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldVerificationRequest {
    /// The local date of the visit.
    pub visit_date: NaiveDate,
    /// Where.
    pub location: String,
    /// Who was summoned.
    pub parties_summoned: Vec<PartyDto>,
    /// Who confirmed the findings.
    #[serde(default)]
    pub parties_confirmed: Vec<PartyDto>,
    /// What was found.
    pub findings: String,
    /// Uploaded photos and scans (at least one photo).
    pub evidence: Vec<EvidenceUse>,
}

/// The head of the agency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddresseeDto {
    /// Name.
    pub name: String,
    /// Title.
    pub position: String,
    /// Agency code.
    pub agency: String,
    /// NIP, printed under the signature.
    #[serde(default)]
    pub nip: Option<String>,
}

/// `POST /complaints/{id}/ba`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BaRequest {
    /// BA number.
    pub number: String,
    /// BA date.
    pub date: NaiveDate,
    /// The head of the agency.
    pub addressee: AddresseeDto,
    /// Who signs.
    pub signatories: Vec<PartyDto>,
    /// Findings.
    pub findings: String,
    /// Conclusion.
    pub conclusion: String,
    /// Solution for the complainant.
    pub solution: String,
    /// Where the BA is made, for the place-and-date line (`Kuala Kapuas`).
    #[serde(default)]
    pub place: Option<String>,
}

/// `POST /complaints/{id}/respond`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondRequest {
    /// The answer to the complainant. Left out after a BA, it is the BA's solution.
    #[serde(default)]
    pub response: String,
    /// How it reaches the complainant (default `lapor`).
    #[serde(default)]
    pub channel: ResponseChannelDto,
}

/// How a response reaches the complainant.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseChannelDto {
    /// Through LAPOR!-SP4N.
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

/// `POST /complaints/{id}/close`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// Closing remarks.
    pub note: Option<String>,
}

impl IntoCommand for DisposeRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Dispose(Disposition {
            agency: AgencyCode(self.agency),
            liaison_officer: UserId(self.liaison_officer),
            sub_unit: self.sub_unit,
            note: self.note,
        })
    }
}

impl IntoCommand for ReturnRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::ReturnForRedisposition(ReturnNote {
            reason: self.reason,
            suggested_agency: self.suggested_agency.map(AgencyCode),
        })
    }
}

fn yes() -> bool {
    true
}

impl IntoCommand for ReviewRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Review(ReviewResult {
            complete: self.complete,
            clear: self.clear,
            missing_items: self.missing_items,
            notes: self.notes,
        })
    }
}

impl IntoCommand for RequestInformationRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::RequestInformation(InformationRequest {
            questions: self.questions,
        })
    }
}

impl ResolveCommand for ProvideInformationRequest {
    async fn resolve(self, citing: &Citing<'_>) -> Result<ComplaintCommand, ApiError> {
        Ok(ComplaintCommand::ProvideInformation(InformationReply {
            answer: self.answer,
            attachments: resolve_uploads(citing, CiteRule::UploadedByUpp, self.attachments).await?,
        }))
    }
}

impl IntoCommand for RejectRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Reject(Rejection {
            reason: self.reason,
        })
    }
}

impl IntoCommand for ClarifyRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Clarify(Clarification {
            field_examination_needed: self.field_examination_needed,
            reasoning: self.reasoning,
        })
    }
}

impl ResolveCommand for FieldVerificationRequest {
    async fn resolve(self, citing: &Citing<'_>) -> Result<ComplaintCommand, ApiError> {
        Ok(ComplaintCommand::VerifyInField(FieldVisit {
            visit_date: self.visit_date,
            location: self.location,
            parties_summoned: self.parties_summoned.into_iter().map(Party::from).collect(),
            parties_confirmed: self
                .parties_confirmed
                .into_iter()
                .map(Party::from)
                .collect(),
            findings: self.findings,
            evidence: resolve_uploads(citing, CiteRule::ForComplaintOrAgency, self.evidence)
                .await?,
        }))
    }
}

impl IntoCommand for BaRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::IssueBa(BeritaAcara {
            number: self.number,
            date: self.date,
            addressee: Addressee {
                name: self.addressee.name,
                position: self.addressee.position,
                agency: AgencyCode(self.addressee.agency),
                nip: self.addressee.nip,
            },
            signatories: self.signatories.into_iter().map(Party::from).collect(),
            findings: self.findings,
            conclusion: self.conclusion,
            solution: self.solution,
            place: self.place,
        })
    }
}

impl IntoCommand for RespondRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Respond(ResponseText {
            response: self.response,
            channel: match self.channel {
                ResponseChannelDto::Lapor => ResponseChannel::Lapor,
                ResponseChannelDto::Letter => ResponseChannel::Letter,
                ResponseChannelDto::Email => ResponseChannel::Email,
                ResponseChannelDto::Phone => ResponseChannel::Phone,
                ResponseChannelDto::InPerson => ResponseChannel::InPerson,
            },
        })
    }
}

impl IntoCommand for CloseRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::Close(Closure { note: self.note })
    }
}

/// `POST /complaints/{id}/erase-identity`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseIdentityRequest {
    /// The legal basis and the request it answers (no personal data: it stays in the log).
    pub legal_basis: String,
}

impl IntoCommand for EraseIdentityRequest {
    fn into_command(self) -> ComplaintCommand {
        ComplaintCommand::EraseIdentity(IdentityErasure {
            legal_basis: self.legal_basis,
        })
    }
}
