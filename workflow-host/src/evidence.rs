//! Evidence: photos and scans that commands cite by SHA-256. Events hold only the
//! references; the bytes live in a blob store behind [`Blobs`] (a local folder,
//! [`LocalFolder`], today; an object store can take its place). [`EvidenceStore`] is the
//! policy in front of it: a size limit, the media type read from the bytes (not from
//! what the uploader declares), content addressing.
//!
//! Evidence belongs to the host, not to the engine: the log never holds the bytes, and
//! the engine's store keeps only the log and what is derived from it.

use std::fmt::Debug;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use workflow_core::ComplaintId;
use workflow_store::chain::hex;
use workflow_store::keys::SealedEvidence;

/// Where the bytes of evidence are kept, by lower-case hex SHA-256. Implementations
/// write atomically (a reader never sees part of a blob) and treat a second write of
/// the same digest as done.
pub trait Blobs: Send + Sync + Debug {
    /// Keeps `bytes` under `sha256` (already computed and checked by the caller).
    fn write(&self, sha256: &str, bytes: &[u8]) -> std::io::Result<()>;
    /// The size of the blob and its first bytes (at most `head`), if it exists.
    fn head(&self, sha256: &str, head: usize) -> std::io::Result<Option<(u64, Vec<u8>)>>;
    /// The whole blob, if it exists.
    fn read(&self, sha256: &str) -> std::io::Result<Option<Vec<u8>>>;
}

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

/// The most bytes a sealed blob's header (its two lines in clear) takes.
const SEALED_HEADER_LIMIT: usize = 1024;

/// The static name of a media type [`sniff`] knows; anything else is a download.
fn known_type(media_type: &str) -> &'static str {
    [
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "application/pdf",
    ]
    .into_iter()
    .find(|t| *t == media_type)
    .unwrap_or("application/octet-stream")
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

/// Whether a text is a lower-case hex SHA-256 (the only names blobs have).
fn is_digest(sha256: &str) -> bool {
    sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Blobs in a local folder, `ab/abcdef…` by SHA-256: written under a unique temporary
/// name, fsynced and renamed into place; files 0600 in folders 0700.
#[derive(Clone, Debug)]
pub struct LocalFolder {
    root: PathBuf,
}

impl LocalFolder {
    /// A folder (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }
}

impl Blobs for LocalFolder {
    fn write(&self, sha256: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(sha256);
        if path.exists() {
            return Ok(());
        }
        let dir = self.root.join(&sha256[..2]);
        create_private_dir(&dir)?;
        // Write beside under a name no other writer uses (several may store the same
        // bytes at once), flush to disk, then rename: a reader sees no blob or the whole
        // blob, never half of one. Renaming over a twin's finished blob replaces
        // identical bytes.
        let tmp = dir.join(format!(".{sha256}.{}.tmp", unique_suffix()));
        let written = (|| {
            let mut file = create_private_file(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            // The rename itself is durable once the folder is.
            std::fs::File::open(&dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    fn head(&self, sha256: &str, head: usize) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        use std::io::Read;
        match std::fs::File::open(self.path(sha256)) {
            Ok(file) => {
                let size = file.metadata()?.len();
                let mut first = Vec::with_capacity(head);
                file.take(head as u64).read_to_end(&mut first)?;
                Ok(Some((size, first)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read(&self, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(sha256)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Evidence uploads: a size limit and type checks in front of a [`Blobs`] store.
#[derive(Clone, Debug)]
pub struct EvidenceStore {
    blobs: Arc<dyn Blobs>,
    limit: usize,
}

impl EvidenceStore {
    /// Evidence in a local folder `root` (created on first write), blobs up to `limit`
    /// bytes.
    pub fn new(root: impl Into<PathBuf>, limit: usize) -> Self {
        Self::with_blobs(Arc::new(LocalFolder::new(root)), limit)
    }

    /// Evidence in another blob store.
    pub fn with_blobs(blobs: Arc<dyn Blobs>, limit: usize) -> Self {
        Self { blobs, limit }
    }

    /// The size limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Stores the bytes (once: the same bytes twice are one blob). `declared` is the
    /// uploader's Content-Type, checked against the bytes.
    pub fn put(&self, bytes: &[u8], declared: Option<&str>) -> Result<Blob, EvidenceError> {
        let blob = self.check(bytes, declared)?;
        self.blobs.write(&blob.sha256, bytes)?;
        Ok(blob)
    }

    /// What [`EvidenceStore::put`] would store, checked but not written: for an upload
    /// to be sealed first ([`EvidenceStore::put_sealed`]).
    pub fn check(&self, bytes: &[u8], declared: Option<&str>) -> Result<Blob, EvidenceError> {
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
        Ok(Blob {
            sha256: hex(&Sha256::digest(bytes)),
            size: bytes.len() as u64,
            media_type,
        })
    }

    /// The name a blob sealed for `complaint` is kept under: a digest of both, so that
    /// the same file sealed for two complaints (or kept in clear too) is separate copies.
    fn sealed_name(complaint: &ComplaintId, sha256: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"aduan-sealed-evidence\0");
        h.update(complaint.as_str().as_bytes());
        h.update(b"\0");
        h.update(sha256.as_bytes());
        hex(&h.finalize())
    }

    /// Keeps `sealed` (what [`workflow_store::Store::seal_evidence`] made of the blob
    /// `sha256` for `complaint`) in place of the plaintext.
    pub fn put_sealed(
        &self,
        complaint: &ComplaintId,
        sha256: &str,
        sealed: &[u8],
    ) -> Result<(), EvidenceError> {
        Ok(self
            .blobs
            .write(&Self::sealed_name(complaint, sha256), sealed)?)
    }

    /// What the copy of `sha256` sealed for `complaint` says of itself, if there is one.
    pub fn stat_sealed(
        &self,
        complaint: &ComplaintId,
        sha256: &str,
    ) -> Result<Option<Blob>, EvidenceError> {
        if !is_digest(sha256) {
            return Ok(None);
        }
        let Some((_, head)) = self
            .blobs
            .head(&Self::sealed_name(complaint, sha256), SEALED_HEADER_LIMIT)?
        else {
            return Ok(None);
        };
        Ok(SealedEvidence::read(&head)
            .filter(|h| h.sha256 == sha256 && h.complaint_id == complaint.as_str())
            .map(|h| Blob {
                sha256: h.sha256,
                size: h.size,
                media_type: known_type(&h.media_type),
            }))
    }

    /// The sealed copy of `sha256` for `complaint`, as kept (open it with
    /// [`workflow_store::Store::open_evidence`]).
    pub fn get_sealed(
        &self,
        complaint: &ComplaintId,
        sha256: &str,
    ) -> Result<Option<Vec<u8>>, EvidenceError> {
        if !is_digest(sha256) {
            return Ok(None);
        }
        Ok(self.blobs.read(&Self::sealed_name(complaint, sha256))?)
    }

    /// What is stored under a digest, if anything.
    pub fn stat(&self, sha256: &str) -> Result<Option<Blob>, EvidenceError> {
        if !is_digest(sha256) {
            return Ok(None);
        }
        Ok(self.blobs.head(sha256, 16)?.map(|(size, head)| Blob {
            sha256: sha256.to_owned(),
            size,
            media_type: sniff(&head).unwrap_or("application/octet-stream"),
        }))
    }

    /// The bytes stored under a digest.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, EvidenceError> {
        if !is_digest(sha256) {
            return Ok(None);
        }
        Ok(self.blobs.read(sha256)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another blob store behind the same policy: what an object store would be.
    #[derive(Debug, Default)]
    struct InMemory(std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>);

    impl Blobs for InMemory {
        fn write(&self, sha256: &str, bytes: &[u8]) -> std::io::Result<()> {
            self.0.lock().unwrap().insert(sha256.into(), bytes.to_vec());
            Ok(())
        }
        fn head(&self, sha256: &str, head: usize) -> std::io::Result<Option<(u64, Vec<u8>)>> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .get(sha256)
                .map(|b| (b.len() as u64, b[..head.min(b.len())].to_vec())))
        }
        fn read(&self, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
            Ok(self.0.lock().unwrap().get(sha256).cloned())
        }
    }

    #[test]
    fn the_policy_is_the_same_over_another_blob_store() {
        let blobs = Arc::new(InMemory::default());
        let store = EvidenceStore::with_blobs(blobs.clone(), 1024);
        let blob = store.put(JPEG, Some("image/jpeg")).unwrap();
        assert_eq!(blobs.0.lock().unwrap().len(), 1);
        assert_eq!(store.stat(&blob.sha256).unwrap(), Some(blob.clone()));
        assert_eq!(store.get(&blob.sha256).unwrap().unwrap(), JPEG);
        assert!(store.get("../../etc/passwd").unwrap().is_none());
        assert!(matches!(
            store.put(b"hello world", None),
            Err(EvidenceError::UnknownType)
        ));
        assert_eq!(
            blobs.0.lock().unwrap().len(),
            1,
            "a refused upload writes nothing"
        );
    }

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
