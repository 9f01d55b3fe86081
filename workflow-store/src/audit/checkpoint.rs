//! Signed checkpoints: every complaint's head at a position, a Merkle root over them,
//! signed with Ed25519 by a key kept in a file, never in the database.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::merkle::merkle_root;
use crate::chain::{canonical_json, hex};
use crate::error::StoreError;
use crate::position::Position;
use workflow_core::Sequence;

/// The format name every checkpoint carries.
pub const FORMAT: &str = "aduan-checkpoint-v1";

/// A complaint's last event at the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Head {
    /// The complaint.
    pub complaint_id: String,
    /// Its last sequence.
    pub sequence: Sequence,
    /// That event's hash.
    pub hash: String,
}

/// What an auditor keeps: the log's heads at a position, their Merkle root, and a
/// signature over all of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always `aduan-checkpoint-v1`.
    pub format: String,
    /// When it was taken (the caller's clock).
    pub created_at: String,
    /// The highest position it covers.
    pub position: Position,
    /// Events covered.
    pub events: u64,
    /// Complaints covered.
    pub complaints: u64,
    /// Merkle root over `heads`.
    pub root: String,
    /// Every complaint's last event, sorted by complaint id (bytewise).
    pub heads: Vec<Head>,
    /// The Ed25519 public key that signed it (hex).
    pub public_key: String,
    /// Ed25519 signature (hex) over the canonical JSON of every other field.
    pub signature: String,
}

fn bad(msg: impl Into<String>) -> StoreError {
    StoreError::BadCheckpoint(msg.into())
}

fn unhex<const N: usize>(s: &str, what: &str) -> Result<[u8; N], StoreError> {
    let s = s.trim();
    if s.len() != N * 2 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!("{what} is not {N} bytes of hex")));
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
            .map_err(|_| bad(format!("{what} is not hex")))?;
    }
    Ok(out)
}

impl Checkpoint {
    /// Builds and signs a checkpoint.
    pub fn sign(
        key: &SigningKey,
        created_at: String,
        position: Position,
        events: u64,
        mut heads: Vec<Head>,
    ) -> Self {
        heads.sort_by(|a, b| a.complaint_id.as_bytes().cmp(b.complaint_id.as_bytes()));
        let mut checkpoint = Self {
            format: FORMAT.to_owned(),
            created_at,
            position,
            events,
            complaints: heads.len() as u64,
            root: merkle_root(&heads),
            heads,
            public_key: hex(key.verifying_key().as_bytes()),
            signature: String::new(),
        };
        checkpoint.signature = hex(&key.sign(checkpoint.signed_bytes().as_bytes()).to_bytes());
        checkpoint
    }

    /// The canonical JSON of every field but the signature: what is signed.
    pub fn signed_bytes(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.remove("signature");
        }
        canonical_json(&value)
    }

    /// Checks the format, that the heads give the root, and the signature; with
    /// `trusted`, also that it was signed by that key.
    pub fn check(&self, trusted: Option<&VerifyingKey>) -> Result<(), StoreError> {
        if self.format != FORMAT {
            return Err(bad(format!("unknown format `{}`", self.format)));
        }
        let sorted = self
            .heads
            .windows(2)
            .all(|w| w[0].complaint_id.as_bytes() < w[1].complaint_id.as_bytes());
        if !sorted || self.complaints != self.heads.len() as u64 {
            return Err(bad("its heads are not one per complaint in id order"));
        }
        if merkle_root(&self.heads) != self.root {
            return Err(bad("its heads do not give its root: the file was altered"));
        }
        let key = VerifyingKey::from_bytes(&unhex::<32>(&self.public_key, "public_key")?)
            .map_err(|_| bad("public_key is not an Ed25519 key"))?;
        if let Some(trusted) = trusted {
            if trusted != &key {
                return Err(bad("it was signed by another key than the one trusted"));
            }
        }
        let signature = Signature::from_bytes(&unhex::<64>(&self.signature, "signature")?);
        key.verify(self.signed_bytes().as_bytes(), &signature)
            .map_err(|_| {
                bad("the signature does not match: the file was altered or signed by another key")
            })
    }

    /// Reads a checkpoint file.
    pub fn read(path: &Path) -> Result<Self, StoreError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| bad(format!("{}: {e}", path.display())))
    }
}

/// A new random signing key.
pub fn generate_signing_key() -> Result<SigningKey, StoreError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| StoreError::backend("no randomness for a key", e))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes a signing key (hex seed, readable by its owner only) and its public key
/// beside it (`PATH.pub`). Refuses to overwrite an existing key.
pub fn write_signing_key(path: &Path, key: &SigningKey) -> Result<(), StoreError> {
    use std::io::Write;
    let io = |e: std::io::Error| StoreError::backend(path.display(), e);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    writeln!(file, "{}", hex(key.as_bytes())).map_err(io)?;
    let public = path.with_extension("pub");
    std::fs::write(
        &public,
        format!("{}\n", hex(key.verifying_key().as_bytes())),
    )
    .map_err(|e| StoreError::backend(public.display(), e))
}

/// Reads a signing key written by [`write_signing_key`].
pub fn load_signing_key(path: &Path) -> Result<SigningKey, StoreError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    Ok(SigningKey::from_bytes(&unhex::<32>(
        &text,
        "the signing key",
    )?))
}

/// Reads a public key (hex, as in `PATH.pub` or a checkpoint's `public_key`).
pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey, StoreError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    VerifyingKey::from_bytes(&unhex::<32>(&text, "the public key")?)
        .map_err(|_| bad("not an Ed25519 public key"))
}
