//! Who acts: users, their roles and the agency they belong to.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A user's stable identifier, chosen by the caller (for example the host's user name).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct UserId(pub String);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for UserId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// The code of a regional agency (OPD, UPT or Satker), for example `DINKES` or `PUPR`.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct AgencyCode(pub String);

impl fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for AgencyCode {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl AgencyCode {
    /// The longest code [`AgencyCode::parse`] accepts.
    pub const MAX_LEN: usize = 32;

    /// Checks a code as an operator or a request writes it: 1 to
    /// [`AgencyCode::MAX_LEN`] upper-case ASCII letters and digits (`PUPR`, `DINKES`,
    /// `BPBD2`). A lower-case code is refused, naming the upper-case one, never changed
    /// silently: codes are compared as written, in tokens, requests and the log.
    ///
    /// Codes already in the log are read as they are; this judges new ones only.
    pub fn parse(code: &str) -> Result<Self, BadAgencyCode> {
        if code.is_empty() {
            return Err(BadAgencyCode::Empty);
        }
        if code.len() > Self::MAX_LEN {
            return Err(BadAgencyCode::TooLong(code.to_owned()));
        }
        if code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Ok(Self(code.to_owned()));
        }
        if code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(BadAgencyCode::LowerCase {
                given: code.to_owned(),
                upper: code.to_ascii_uppercase(),
            });
        }
        Err(BadAgencyCode::NotLettersAndDigits(code.to_owned()))
    }
}

/// Why a text is not an agency code ([`AgencyCode::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadAgencyCode {
    /// Nothing was given.
    #[error("an agency code cannot be empty")]
    Empty,
    /// Longer than [`AgencyCode::MAX_LEN`].
    #[error("agency code `{0}` is longer than 32 characters")]
    TooLong(String),
    /// Letters and digits, but some letters lower-case.
    #[error("agency codes are upper-case: write `{upper}`, not `{given}`")]
    LowerCase {
        /// The code as given.
        given: String,
        /// The same code in upper case.
        upper: String,
    },
    /// Something other than ASCII letters and digits.
    #[error("agency code `{0}` may hold only upper-case letters A-Z and digits")]
    NotLettersAndDigits(String),
}

/// The roles of the SOP. Names are the ones the host's `token create --role` accepts.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Unit Pengelola Pengaduan: registers, disposes, records the complainant's answers, closes.
    Upp,
    /// Pejabat Penghubung of an agency: reviews, clarifies, verifies in the field, issues the BA.
    Liaison,
    /// Kepala OPD: receives the BA and SLA escalations; issues no workflow command.
    Head,
    /// Ketua Tim Koordinasi: coordinates disposition, may dispose and re-dispose.
    Coordinator,
    /// Internal government auditor: reads everything, changes nothing.
    Apip,
    /// The engine itself: records SLA breaches and closes complaints automatically.
    System,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 6] = [
        Role::Upp,
        Role::Liaison,
        Role::Head,
        Role::Coordinator,
        Role::Apip,
        Role::System,
    ];

    /// The role's stable name (`upp`, `liaison`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Upp => "upp",
            Role::Liaison => "liaison",
            Role::Head => "head",
            Role::Coordinator => "coordinator",
            Role::Apip => "apip",
            Role::System => "system",
        }
    }

    /// Roles whose members belong to one agency and see only that agency's complaints.
    pub fn is_agency_scoped(self) -> bool {
        matches!(self, Role::Liaison | Role::Head)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected one of: upp, liaison, head, coordinator, apip, system)")]
pub struct UnknownRole(pub String);

/// The person (or the engine) behind a command, as the caller authenticated them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Actor {
    /// Who.
    pub user: UserId,
    /// In which capacity.
    pub role: Role,
    /// The agency a liaison officer or head belongs to; `None` for the others.
    pub agency: Option<AgencyCode>,
}

impl Actor {
    /// An actor with no agency (UPP, coordinator, APIP, system).
    pub fn new(user: impl Into<String>, role: Role) -> Self {
        Self {
            user: UserId(user.into()),
            role,
            agency: None,
        }
    }

    /// An actor belonging to an agency (liaison officer, head of agency).
    pub fn of_agency(user: impl Into<String>, role: Role, agency: impl Into<String>) -> Self {
        Self {
            user: UserId(user.into()),
            role,
            agency: Some(AgencyCode(agency.into())),
        }
    }

    /// The engine itself, for commands it issues on its own (SLA breaches, automatic close).
    pub fn system() -> Self {
        Self::new("system", Role::System)
    }
}

/// Whether a user name may be used: not empty, no `:` (command ids made from a user and
/// an idempotency key are `user:key`), and not a prefix of the ids the engine gives its
/// own commands (`sla-breach:…`, `auto-close:…`, `deemed-withdrawn:…`), which a user's
/// ids must never equal.
pub fn is_valid_user_name(name: &str) -> bool {
    !name.trim().is_empty()
        && !name.contains(':')
        && !matches!(name, "sla-breach" | "auto-close" | "deemed-withdrawn")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_codes_are_upper_case_letters_and_digits() {
        for good in ["PUPR", "DINKES", "BPBD2", "X", &"A".repeat(32)] {
            assert_eq!(AgencyCode::parse(good).unwrap().0, good);
        }
        assert_eq!(
            AgencyCode::parse("pupr"),
            Err(BadAgencyCode::LowerCase {
                given: "pupr".into(),
                upper: "PUPR".into()
            })
        );
        assert!(AgencyCode::parse("Dinkes")
            .unwrap_err()
            .to_string()
            .contains("write `DINKES`"));
        assert_eq!(AgencyCode::parse(""), Err(BadAgencyCode::Empty));
        assert!(matches!(
            AgencyCode::parse(&"A".repeat(33)),
            Err(BadAgencyCode::TooLong(_))
        ));
        for bad in ["DIN KES", "PU-PR", "PUPR\n", "DİNKES", "pu pr"] {
            assert!(
                matches!(
                    AgencyCode::parse(bad),
                    Err(BadAgencyCode::NotLettersAndDigits(_))
                ),
                "{bad:?}"
            );
        }
    }
}
