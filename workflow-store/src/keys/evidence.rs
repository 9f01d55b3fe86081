//! Evidence marked personal (an ID scan, a photo that shows the complainant), sealed with
//! its complaint's data key: erasing the complaint's identity makes it unreadable
//! everywhere at once, as it does the identity.
//!
//! A sealed blob is one byte string a blob store keeps as it would any file:
//!
//! ```text
//! aduan-sealed-evidence/1\n
//! {"algorithm":…,"complaint_id":…,"key_id":…,"media_type":…,"sha256":…,"size":…}\n
//! nonce (24 bytes) || XChaCha20-Poly1305 ciphertext
//! ```
//!
//! The first two lines are in clear (what the file is, for which complaint, the type and
//! size of the plaintext and its SHA-256, the name commands cite it by) and are bound to
//! the ciphertext as associated data: altering them makes it fail to open.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::primitives::{open_raw, seal_raw};
use super::{SubjectKeys, ALGORITHM};
use crate::chain::hex;
use crate::error::StoreError;

/// The first line of a sealed blob.
const MAGIC: &[u8] = b"aduan-sealed-evidence/1\n";

/// What a sealed blob says of itself, in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedEvidence {
    /// The cipher: `XChaCha20-Poly1305`.
    pub algorithm: String,
    /// The complaint whose key seals it.
    pub complaint_id: String,
    /// Which of the complaint's keys.
    pub key_id: String,
    /// The media type of the plaintext.
    pub media_type: String,
    /// The SHA-256 of the plaintext, lower-case hex: the name commands cite it by.
    pub sha256: String,
    /// The plaintext's size in bytes.
    pub size: u64,
}

/// A sealed blob, opened.
#[derive(Debug)]
pub enum OpenedEvidence {
    /// What it says of itself, and the plaintext (wiped from memory when dropped).
    Bytes(SealedEvidence, Zeroizing<Vec<u8>>),
    /// The complaint's identity was erased: its key, and so this blob, is gone.
    Erased,
}

impl SealedEvidence {
    /// The header of a sealed blob, read without any key; `None` when the bytes are not a
    /// sealed blob (a file kept in clear).
    pub fn read(blob: &[u8]) -> Option<SealedEvidence> {
        Self::split(blob).map(|(header, _, _)| header)
    }

    /// Whether `blob` is a sealed blob (by its first line).
    pub fn is_sealed(blob: &[u8]) -> bool {
        blob.starts_with(MAGIC)
    }

    /// The header, the associated data (the two lines in clear) and the sealed part.
    fn split(blob: &[u8]) -> Option<(SealedEvidence, &[u8], &[u8])> {
        let rest = blob.strip_prefix(MAGIC)?;
        let end = rest.iter().position(|b| *b == b'\n')?;
        let header: SealedEvidence = serde_json::from_slice(&rest[..end]).ok()?;
        let aad_len = MAGIC.len() + end + 1;
        Some((header, &blob[..aad_len], &blob[aad_len..]))
    }
}

impl SubjectKeys {
    /// Seals `plaintext` (of `media_type`) with the complaint's key, made if it has none
    /// yet (evidence uploaded before its registration). Refused once the identity was
    /// erased: no key is made for an erased complaint.
    pub(crate) async fn seal_evidence(
        &self,
        complaint_id: &str,
        media_type: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let (key_id, key) = self.key_for_sealing(complaint_id).await?;
        let header = SealedEvidence {
            algorithm: ALGORITHM.into(),
            complaint_id: complaint_id.to_owned(),
            key_id,
            media_type: media_type.to_owned(),
            sha256: hex(&Sha256::digest(plaintext)),
            size: plaintext.len() as u64,
        };
        let mut blob = MAGIC.to_vec();
        serde_json::to_writer(&mut blob, &header).map_err(|e| StoreError::defect(e.to_string()))?;
        blob.push(b'\n');
        let sealed = seal_raw(&key, &blob, plaintext)?;
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    /// Opens a sealed blob of `complaint_id`: `Ok(None)` when the complaint's key is gone
    /// (erased). A blob that is not sealed, belongs to another complaint, or does not
    /// open is an integrity error naming the complaint.
    pub(crate) async fn open_evidence(
        &self,
        complaint_id: &str,
        blob: &[u8],
    ) -> Result<Option<(SealedEvidence, Zeroizing<Vec<u8>>)>, StoreError> {
        let corrupt = |why: String| {
            StoreError::integrity(
                complaint_id,
                format!("sealed evidence does not open: {why}"),
                None,
            )
        };
        let (header, aad, sealed) =
            SealedEvidence::split(blob).ok_or_else(|| corrupt("it is not a sealed blob".into()))?;
        if header.complaint_id != complaint_id {
            return Err(corrupt(format!(
                "it is sealed for complaint {}",
                header.complaint_id
            )));
        }
        if header.algorithm != ALGORITHM {
            return Err(corrupt(format!("unknown algorithm `{}`", header.algorithm)));
        }
        let Some((key_id, key)) = self.data_key(complaint_id).await? else {
            return Ok(None);
        };
        if header.key_id != key_id {
            return Err(corrupt(format!(
                "sealed with key {}, the complaint's key is {key_id}",
                header.key_id
            )));
        }
        let plain = open_raw(&key, aad, sealed)
            .ok_or_else(|| corrupt("its bytes were altered or belong to another key".into()))?;
        if hex(&Sha256::digest(plain.as_slice())) != header.sha256 {
            return Err(corrupt("its content is not the digest it names".into()));
        }
        Ok(Some((header, plain)))
    }
}
