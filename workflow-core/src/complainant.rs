//! The complainant (*pelapor*): identity, contact and how confidential the report is.
//!
//! Identity is personal data (UU 27/2022). It lives in one place, the [`Complainant`]
//! carried by the `Received` event, tagged with its [`Confidentiality`] (the store's
//! snapshots of a complaint's state hold the same sealed form, never a plain one);
//! read views ask [`identity_visible_to`] before showing it.
//!
//! A command carries the identity in plain ([`Identity::Plain`]); the store seals it
//! with the complaint's own key before the event reaches the log
//! ([`Identity::Sealed`]), so that destroying the key erases it everywhere at once (an
//! `IdentityErased` event records that). The domain never needs the identity itself:
//! its rules read the confidentiality level only. Events recorded before sealing hold
//! the plain form and are read as they are.

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Complainant {
    /// The personal data, plain or sealed.
    #[serde(flatten)]
    pub identity: Identity,
    /// How much of the complainant and the report may be shown.
    pub confidentiality: Confidentiality,
}

impl Default for Complainant {
    fn default() -> Self {
        Self {
            identity: Identity::Plain(PersonalData::default()),
            confidentiality: Confidentiality::default(),
        }
    }
}

impl Complainant {
    /// A complainant given in plain, with this level.
    pub fn plain(data: PersonalData, confidentiality: Confidentiality) -> Self {
        Self {
            identity: Identity::Plain(data),
            confidentiality,
        }
    }

    /// A complainant known by name alone, at the default (safest) level.
    pub fn named(name: impl Into<String>) -> Self {
        Self::plain(
            PersonalData {
                name: name.into(),
                ..PersonalData::default()
            },
            Confidentiality::default(),
        )
    }

    /// The personal data if they are in plain (a command, or an event recorded before
    /// identities were sealed).
    pub fn plain_data(&self) -> Option<&PersonalData> {
        match &self.identity {
            Identity::Plain(p) => Some(p),
            Identity::Sealed { .. } => None,
        }
    }
}

/// A complainant's identity: in plain in a command, sealed in the log.
///
/// In JSON the plain form is the personal data's fields themselves (`name`, `phone`, …,
/// as events recorded before sealing have them); the sealed form is one field,
/// `sealed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Identity {
    /// Sealed with the complaint's key.
    Sealed {
        /// The ciphertext and how to open it.
        sealed: SealedIdentity,
    },
    /// In plain.
    Plain(PersonalData),
}

/// The personal data of a complainant (UU 27/2022): all of it is sealed in the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PersonalData {
    /// Full name as given to LAPOR!.
    pub name: String,
    /// Telephone number, if given.
    pub phone: Option<String>,
    /// E-mail address, if given.
    pub email: Option<String>,
    /// National identity number (NIK), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
    /// Postal address, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Free text that UPP marks as personal (what would identify the complainant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_note: Option<String>,
}

/// Personal data encrypted with the complaint's data key (AEAD): what the log keeps.
/// Its hash covers these bytes, so erasing the key leaves the chain intact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SealedIdentity {
    /// The data key's id (its complaint's key).
    pub key_id: String,
    /// The AEAD algorithm, `XChaCha20-Poly1305`.
    pub algorithm: String,
    /// The nonce, hex.
    pub nonce: String,
    /// The ciphertext of the personal data's JSON with its tag, hex.
    pub ciphertext: String,
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
