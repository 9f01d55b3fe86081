//! The complainant (*pelapor*): identity, contact and how confidential the report is.
//!
//! Identity is personal data (UU 27/2022). It lives in exactly one place, the
//! [`Complainant`] carried by the `Received` event, tagged with its
//! [`Confidentiality`]; read views ask [`identity_visible_to`] before showing it.

use serde::{Deserialize, Serialize};

use crate::actor::Role;

/// LAPOR!'s three confidentiality levels.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidentiality {
    /// Identity and report may be shown to everyone who handles the complaint.
    Public,
    /// The complainant's identity is hidden from the agency the complaint is about.
    Anonymous,
    /// *Rahasia*: identity hidden from the agency and the report hidden from the public.
    /// The default, because it is the safe one.
    #[default]
    Confidential,
}

impl Confidentiality {
    /// The level's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidentiality::Public => "public",
            Confidentiality::Anonymous => "anonymous",
            Confidentiality::Confidential => "confidential",
        }
    }

    /// Whether the report itself may be published (Open311, public boards).
    pub fn report_is_public(self) -> bool {
        !matches!(self, Confidentiality::Confidential)
    }
}

impl std::str::FromStr for Confidentiality {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Confidentiality::Public,
            Confidentiality::Anonymous,
            Confidentiality::Confidential,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| format!("unknown confidentiality `{s}`"))
    }
}

/// Who complained and how to reach them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Complainant {
    /// Full name as given to LAPOR!.
    pub name: String,
    /// Telephone number, if given.
    pub phone: Option<String>,
    /// E-mail address, if given.
    pub email: Option<String>,
    /// How much of the complainant and the report may be shown.
    pub confidentiality: Confidentiality,
}

/// Whether a user in `role` may see the identity of a complainant who chose `level`.
///
/// The agency a complaint is about (its liaison officer and head) never sees a hidden
/// identity. UPP registered the complaint and keeps the contact; APIP audits; the
/// coordinator sees identities only of public reports. Showing a hidden identity is
/// something the host records as an access of its own.
pub fn identity_visible_to(role: Role, level: Confidentiality) -> bool {
    match level {
        Confidentiality::Public => role != Role::System,
        Confidentiality::Anonymous | Confidentiality::Confidential => {
            matches!(role, Role::Upp | Role::Apip)
        }
    }
}
