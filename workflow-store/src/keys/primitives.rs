//! The cryptographic pieces: 256-bit keys wiped on drop, the key-encryption key and its
//! file, and sealing bytes with XChaCha20-Poly1305 under a fresh random nonce.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::KEY_FILE_HEADER;
use crate::chain::hex;
use crate::error::StoreError;

/// A 256-bit key, wiped from memory when dropped.
#[derive(Clone)]
pub(super) struct Secret(Zeroizing<[u8; 32]>);

impl Secret {
    pub(super) fn random() -> Result<Self, StoreError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(bytes.as_mut()).map_err(randomness)?;
        Ok(Self(bytes))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }

    /// A short fingerprint that names the key without revealing it.
    pub(super) fn id(&self) -> String {
        hex(&Sha256::digest(self.0.as_ref())[..8])
    }
}

fn randomness(e: getrandom::Error) -> StoreError {
    StoreError::defect(format!("the operating system gave no randomness: {e}"))
}

/// The key-encryption key: wraps every complaint's data key. Read from its file.
#[derive(Clone)]
pub struct KeyEncryptionKey {
    secret: Secret,
    path: PathBuf,
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEncryptionKey")
            .field("id", &self.id())
            .field("path", &self.path)
            .finish()
    }
}

impl KeyEncryptionKey {
    /// Its fingerprint, stored beside every key it wraps.
    pub fn id(&self) -> String {
        self.secret.id()
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the key file at `path`.
    pub fn read(path: &Path) -> Result<Self, StoreError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| StoreError::Keys {
                    reason: format!("cannot read the key file {}: {e}", path.display()),
                })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(StoreError::Keys {
                    reason: format!(
                        "the key file {} may be read by others (mode {:o}): `chmod 600` it",
                        path.display(),
                        mode & 0o777
                    ),
                });
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| StoreError::Keys {
            reason: format!("cannot read the key file {}: {e}", path.display()),
        })?;
        let bad = || StoreError::Keys {
            reason: format!(
                "{} is not an aduan key file (expected `{KEY_FILE_HEADER}` and 64 hex digits)",
                path.display()
            ),
        };
        let mut words = text.split_whitespace();
        if words.next() != Some(KEY_FILE_HEADER) {
            return Err(bad());
        }
        let hex_key = words.next().ok_or_else(bad)?;
        if hex_key.len() != 64 || words.next().is_some() {
            return Err(bad());
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex_key[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self {
            secret: Secret(bytes),
            path: path.to_owned(),
        })
    }

    /// Makes a new key and writes it to `path`, which must not exist, readable by its
    /// owner only (0600).
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        let secret = Secret::random()?;
        let cannot = |e: std::io::Error| StoreError::Keys {
            reason: format!("cannot create the key file {}: {e}", path.display()),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(cannot)?;
        let text = Zeroizing::new(format!("{KEY_FILE_HEADER} {}\n", hex(secret.0.as_ref())));
        file.write_all(text.as_bytes()).map_err(cannot)?;
        file.sync_all().map_err(cannot)?;
        // The file's name too, so that a crash cannot keep the database's record of the
        // key and lose the file.
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::File::open(folder)
                .and_then(|dir| dir.sync_all())
                .map_err(cannot)?;
        }
        Ok(Self {
            secret,
            path: path.to_owned(),
        })
    }

    pub(super) fn wrap(&self, data_key: &Secret) -> Result<String, StoreError> {
        seal_bytes(&self.secret, data_key.0.as_ref())
    }

    pub(super) fn unwrap_key(
        &self,
        wrapped: &str,
        complaint_id: &str,
    ) -> Result<Secret, StoreError> {
        let bytes = open_bytes(&self.secret, wrapped).ok_or_else(|| StoreError::Keys {
            reason: format!(
                "the data key of complaint {complaint_id} does not open with the key file {}",
                self.path.display()
            ),
        })?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| StoreError::Keys {
            reason: format!("the data key of complaint {complaint_id} is not 32 bytes"),
        })?;
        Ok(Secret(Zeroizing::new(key)))
    }
}

/// `hex(nonce || ciphertext)` of `plaintext` under `key`, with a fresh random nonce.
pub(super) fn seal_bytes(key: &Secret, plaintext: &[u8]) -> Result<String, StoreError> {
    let mut nonce = [0u8; 24];
    getrandom::getrandom(&mut nonce).map_err(randomness)?;
    let ciphertext = key
        .cipher()
        .encrypt(XNonce::from_slice(&nonce), plaintext)
        .map_err(|_| StoreError::defect("sealing failed"))?;
    Ok(format!("{}{}", hex(&nonce), hex(&ciphertext)))
}

/// The plaintext of [`seal_bytes`]' output, or `None` if it does not open with `key`.
pub(super) fn open_bytes(key: &Secret, sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = unhex(sealed)?;
    if bytes.len() < 24 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(24);
    key.cipher()
        .decrypt(XNonce::from_slice(nonce), ciphertext)
        .ok()
        .map(Zeroizing::new)
}

/// `nonce || ciphertext` of `plaintext` under `key`, bound to `aad` (which is not
/// sealed, but must be given again to open), with a fresh random nonce. For blobs, where
/// hex would double the size.
pub(super) fn seal_raw(key: &Secret, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut nonce = [0u8; 24];
    getrandom::getrandom(&mut nonce).map_err(randomness)?;
    let ciphertext = key
        .cipher()
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| StoreError::defect("sealing failed"))?;
    let mut sealed = Vec::with_capacity(nonce.len() + ciphertext.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

/// The plaintext of [`seal_raw`]'s output, or `None` if it does not open with `key` and
/// `aad`.
pub(super) fn open_raw(key: &Secret, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < 24 {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(24);
    key.cipher()
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_opens_with_its_key_only_and_detects_a_changed_byte() {
        let key = Secret::random().unwrap();
        let other = Secret::random().unwrap();
        let sealed = seal_bytes(&key, b"Budi Santoso").unwrap();
        assert_eq!(
            open_bytes(&key, &sealed).unwrap().as_slice(),
            b"Budi Santoso"
        );
        assert!(open_bytes(&other, &sealed).is_none());
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
        assert!(open_bytes(&key, &String::from_utf8(altered).unwrap()).is_none());
        // A fresh nonce each time: the same text never seals to the same bytes.
        assert_ne!(seal_bytes(&key, b"Budi Santoso").unwrap(), sealed);
    }

    #[test]
    fn a_key_file_reads_back_and_a_wrong_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aduan.key");
        let made = KeyEncryptionKey::create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(KeyEncryptionKey::read(&path).unwrap().id(), made.id());
        assert!(
            KeyEncryptionKey::create(&path).is_err(),
            "never overwritten"
        );
        let wrong = dir.path().join("wrong.key");
        std::fs::write(&wrong, "not a key\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let err = KeyEncryptionKey::read(&wrong).unwrap_err().to_string();
            assert!(err.contains("may be read by others"), "{err}");
            std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let err = KeyEncryptionKey::read(&wrong).unwrap_err().to_string();
        assert!(err.contains("not an aduan key file"), "{err}");
    }
}
