//! References to evidence (photos, scans) kept in the content-addressed blob store.
//!
//! Events never hold the bytes, only what identifies and describes them.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// A reference to one stored piece of evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EvidenceRef {
    /// Lower-case hex SHA-256 of the bytes: the blob's name in the store.
    pub sha256: String,
    /// The media type detected from the bytes, such as `image/jpeg` or `application/pdf`.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// What the photo or scan shows.
    pub caption: String,
}

impl EvidenceRef {
    /// Whether this evidence is a photograph (an `image/*` media type).
    pub fn is_photo(&self) -> bool {
        self.media_type.starts_with("image/")
    }

    /// Checks the reference is well formed: a 64-digit lower-case hex digest, a
    /// `type/subtype` media type and a non-zero size.
    pub fn validate(&self) -> Result<(), DomainError> {
        let hex_ok = self.sha256.len() == 64
            && self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let media_ok = matches!(self.media_type.split_once('/'), Some((t, s)) if !t.is_empty() && !s.is_empty());
        if !hex_ok || !media_ok || self.size == 0 {
            return Err(DomainError::MalformedEvidence {
                sha256: self.sha256.clone(),
            });
        }
        Ok(())
    }
}
