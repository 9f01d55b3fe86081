//! The complaint's identifier, validated once where it enters (an HTTP path, a command
//! line, an embedding service's call, an adopted store) and typed everywhere after.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A complaint's id: 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a
/// letter or digit (so it is safe in a URL path, a file name and a log line as it is).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ComplaintId(String);

/// A text that is not a [`ComplaintId`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "complaint id `{0}`: 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit"
)]
pub struct InvalidComplaintId(pub String);

impl ComplaintId {
    /// Checks and wraps an id.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidComplaintId> {
        let id = id.into();
        let ok = (1..=64).contains(&id.len())
            && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(Self(id))
        } else {
            Err(InvalidComplaintId(id))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ComplaintId {
    type Err = InvalidComplaintId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ComplaintId {
    type Error = InvalidComplaintId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ComplaintId> for String {
    fn from(id: ComplaintId) -> Self {
        id.0
    }
}

impl AsRef<str> for ComplaintId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ComplaintId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ComplaintId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ComplaintId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_where_they_enter() {
        for good in ["ADU-2026-0001", "LAP.2026_1", "a", &"x".repeat(64)] {
            assert_eq!(ComplaintId::new(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "-lead",
            "has space",
            "slash/id",
            "é",
            &"x".repeat(65),
            "a\nb",
        ] {
            assert!(ComplaintId::new(bad).is_err(), "{bad:?}");
        }
        let parsed: Result<ComplaintId, _> = serde_json::from_str("\"../etc\"");
        assert!(parsed.is_err(), "JSON is checked too");
        assert_eq!(
            serde_json::to_string(&ComplaintId::new("ADU-1").unwrap()).unwrap(),
            "\"ADU-1\""
        );
    }
}
