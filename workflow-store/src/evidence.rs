//! The evidence blob store: photos and scans in a content-addressed folder
//! (`ab/abcdef…` by SHA-256), written atomically, with the media type read from the
//! bytes. Events hold only references.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::chain::hex;

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// Larger than the limit.
    #[error("the upload is {size} bytes; the limit is {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Empty.
    #[error("the upload is empty")]
    Empty,
    /// Not a photo or scan type the store accepts.
    #[error("the bytes are not JPEG, PNG, WebP, GIF or PDF")]
    UnknownType,
    /// The declared type disagrees with the bytes.
    #[error("declared as {declared}, but the bytes are {detected}")]
    TypeMismatch {
        /// The Content-Type given.
        declared: String,
        /// What the bytes are.
        detected: &'static str,
    },
    /// The folder could not be written or read.
    #[error("evidence store: {0}")]
    Io(#[from] std::io::Error),
}

/// What a stored blob is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type read from the bytes.
    pub media_type: &'static str,
}

/// The media type of the bytes, from their magic numbers.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        [b'%', b'P', b'D', b'F', b'-', ..] => Some("application/pdf"),
        _ => None,
    }
}

/// A name for a temporary file that no other writer, in this process or another, uses.
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut random = [0u8; 8];
    // Without randomness the process id and the counter still tell writers apart.
    let _ = getrandom::getrandom(&mut random);
    format!(
        "{}.{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        hex(&random)
    )
}

/// Creates a folder (and its parents) that only the service's user may enter.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates a new file that only the service's user may read; never opens an existing one.
fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// A folder of blobs named by their SHA-256.
#[derive(Clone, Debug)]
pub struct EvidenceStore {
    root: PathBuf,
    limit: usize,
}

impl EvidenceStore {
    /// A store in `root` (created on first write) accepting blobs up to `limit` bytes.
    pub fn new(root: impl Into<PathBuf>, limit: usize) -> Self {
        Self {
            root: root.into(),
            limit,
        }
    }

    /// The size limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| self.root.join(&sha256[..2]).join(sha256))
    }

    /// Stores the bytes (once: the same bytes twice are one blob). `declared` is the
    /// uploader's Content-Type, checked against the bytes.
    pub fn put(&self, bytes: &[u8], declared: Option<&str>) -> Result<Blob, EvidenceError> {
        if bytes.is_empty() {
            return Err(EvidenceError::Empty);
        }
        if bytes.len() > self.limit {
            return Err(EvidenceError::TooLarge {
                size: bytes.len(),
                limit: self.limit,
            });
        }
        let media_type = sniff(bytes).ok_or(EvidenceError::UnknownType)?;
        if let Some(declared) = declared.map(|d| d.split(';').next().unwrap_or("").trim()) {
            let generic = matches!(declared, "" | "application/octet-stream");
            if !generic && !declared.eq_ignore_ascii_case(media_type) {
                return Err(EvidenceError::TypeMismatch {
                    declared: declared.to_owned(),
                    detected: media_type,
                });
            }
        }
        let sha256 = hex(&Sha256::digest(bytes));
        let path = self.path(&sha256).expect("a digest is a valid name");
        if !path.exists() {
            let dir = path.parent().expect("two levels");
            create_private_dir(dir)?;
            // Write beside under a name no other writer uses (several may store the same
            // bytes at once), flush to disk, then rename: a reader sees no blob or the
            // whole blob, never half of one. Renaming over a twin's finished blob
            // replaces identical bytes.
            let tmp = dir.join(format!(".{sha256}.{}.tmp", unique_suffix()));
            let written = (|| {
                let mut file = create_private_file(&tmp)?;
                file.write_all(bytes)?;
                file.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                // The rename itself is durable once the folder is.
                std::fs::File::open(dir)?.sync_all()
            })();
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
        }
        Ok(Blob {
            sha256,
            size: bytes.len() as u64,
            media_type,
        })
    }

    /// What is stored under a digest, if anything.
    pub fn stat(&self, sha256: &str) -> Result<Option<Blob>, EvidenceError> {
        let Some(path) = self.path(sha256) else {
            return Ok(None);
        };
        match std::fs::File::open(&path) {
            Ok(mut file) => {
                use std::io::Read;
                let size = file.metadata()?.len();
                let mut head = [0u8; 16];
                let n = file.read(&mut head)?;
                Ok(Some(Blob {
                    sha256: sha256.to_owned(),
                    size,
                    media_type: sniff(&head[..n]).unwrap_or("application/octet-stream"),
                }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes stored under a digest.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, EvidenceError> {
        let Some(path) = self.path(sha256) else {
            return Ok(None);
        };
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];

    #[test]
    fn blobs_are_content_addressed_and_typed_from_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(dir.path(), 1024);
        let blob = store.put(JPEG, Some("image/jpeg")).unwrap();
        assert_eq!(blob.media_type, "image/jpeg");
        assert_eq!(
            store.put(JPEG, None).unwrap(),
            blob,
            "the same bytes are one blob"
        );
        assert_eq!(store.stat(&blob.sha256).unwrap(), Some(blob.clone()));
        assert_eq!(store.get(&blob.sha256).unwrap().unwrap(), JPEG);
        assert!(store.stat(&"0".repeat(64)).unwrap().is_none());
        assert!(store.stat("../../etc/passwd").unwrap().is_none());
    }

    #[test]
    fn uploads_that_lie_about_their_type_or_are_too_large_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(dir.path(), 16);
        assert!(matches!(
            store.put(JPEG, Some("application/pdf")),
            Err(EvidenceError::TypeMismatch { .. })
        ));
        assert!(matches!(
            store.put(b"hello world", None),
            Err(EvidenceError::UnknownType)
        ));
        assert!(matches!(
            store.put(&[0xFF; 17], None),
            Err(EvidenceError::TooLarge { .. })
        ));
        assert!(matches!(store.put(&[], None), Err(EvidenceError::Empty)));
    }
}
