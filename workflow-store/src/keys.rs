//! Keys for the complainants' personal data (UU 27/2022), so that an identity can be
//! erased without touching the log ("crypto-shredding").
//!
//! Each complaint has its own data key (decision 0021 says why per complaint). The log
//! holds the complainant's identity sealed with it (XChaCha20-Poly1305, a random nonce
//! per seal); the event's hash covers the sealed bytes, so the chain, checkpoints and
//! exports are untouched when the key goes. Data keys are kept in the table
//! `subject_keys`, each wrapped (encrypted) by the **key-encryption key** (KEK), which is
//! never in the database: it is a file (`aduan serve --kek-file`, [`crate::StoreOptions`]),
//! created with mode 0600 on the first open of an empty database.
//!
//! Erasing deletes the complaint's row. On SQLite the engine runs with `secure_delete`
//! and truncates the write-ahead log afterwards, so no byte of the wrapped key stays in
//! the database's files. On PostgreSQL the table is vacuumed, which frees the row's
//! space but does not overwrite it, and the server's write-ahead log, archives and
//! replicas keep the row until they are recycled. There, as for every backup taken
//! before, what makes the erasure final is rotating the KEK
//! ([`crate::Store::rotate_key`]) and destroying the old key file: the wrapped keys left
//! anywhere can then no longer be opened.
//!
//! Losing the key file loses every identity not yet erased: the store refuses to open
//! a database that holds keys without it, and says so, rather than run on and show
//! nothing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::Utc;
use sqlx::Row;
use workflow_core::complainant::{PersonalData, SealedIdentity};
use zeroize::Zeroizing;

use crate::backend::{BackendKind, Db};
use crate::error::StoreError;

/// The `settings` row naming the id of the database's key-encryption key.
pub(crate) const KEK_SETTING: &str = "kek_id";

async fn recorded_kek_id(db: &Db) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query("SELECT value FROM settings WHERE key = $1")
        .bind(KEK_SETTING)
        .fetch_optional(&db.any)
        .await?
        .map(|r| r.try_get("value"))
        .transpose()?)
}

mod evidence;
mod primitives;
pub use evidence::{OpenedEvidence, SealedEvidence};
pub use primitives::KeyEncryptionKey;
use primitives::{open_bytes, seal_bytes, Secret};

/// The AEAD every seal uses.
pub const ALGORITHM: &str = "XChaCha20-Poly1305";

/// The first line of a key file: what it is, so that a wrong file is named as such.
const KEY_FILE_HEADER: &str = "aduan-kek-v1";

/// What the store knows of a complaint's personal data when asked to reveal it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revealed {
    /// The identity, opened (or in plain, in an event recorded before sealing).
    Identity(PersonalData),
    /// Erased: the key is destroyed; the sealed bytes stay in the log unreadable.
    Erased,
}

/// The key file of a PostgreSQL store that names none: in the working directory, as
/// the default SQLite database is.
pub const DEFAULT_KEY_FILE: &str = "aduan.key";

/// Where the store's key-encryption key comes from. Every host on one database must use
/// the same file (a copy of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFile {
    /// SQLite: beside the database, `PATH.key`; PostgreSQL: [`DEFAULT_KEY_FILE`] in the
    /// working directory.
    Default,
    /// This file.
    At(PathBuf),
}

/// A data key made for a new complaint and not yet stored ([`SubjectKeys::new_key`]).
pub(crate) struct NewKey {
    complaint_id: String,
    key_id: String,
    kek_id: String,
    wrapped: String,
    secret: Secret,
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl NewKey {
    /// The statement of [`SubjectKeys::insert_new`], its seven parameters numbered from
    /// `$first` (for a statement that writes the key with other rows), with `also` as a
    /// further condition.
    pub(crate) fn insert_sql(first: usize, also: Option<&str>) -> String {
        let p = |i: usize| format!("${}", first + i);
        format!(
            "INSERT INTO subject_keys (complaint_id, key_id, kek_id, wrapped_key, created_at) \
             SELECT {id}, {key_id}, {kek}, {wrapped}, {at} WHERE EXISTS (SELECT 1 FROM settings \
             WHERE key = {setting} AND value = {kek}) AND NOT EXISTS (SELECT 1 FROM events \
             WHERE aggregate_type = {ty} AND aggregate_id = {id} AND event_type = 'IdentityErased'){also} \
             ON CONFLICT (complaint_id) DO NOTHING",
            also = also.map(|c| format!(" AND {c}")).unwrap_or_default(),
            id = p(0),
            key_id = p(1),
            kek = p(2),
            wrapped = p(3),
            at = p(4),
            setting = p(5),
            ty = p(6),
        )
    }

    /// Binds the parameters of [`NewKey::insert_sql`] to `query`, in order.
    pub(crate) fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.complaint_id)
            .bind(&self.key_id)
            .bind(&self.kek_id)
            .bind(&self.wrapped)
            .bind(crate::timestamp(Utc::now()))
            .bind(KEK_SETTING)
            .bind(<workflow_core::Complaint as cqrs_es::Aggregate>::TYPE)
    }

    /// The row's values: complaint id, key id, key file id, wrapped key.
    pub(crate) fn values(&self) -> [&str; 4] {
        [
            &self.complaint_id,
            &self.key_id,
            &self.kek_id,
            &self.wrapped,
        ]
    }

    /// The key's id, as sealed identities name it.
    pub(crate) fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals `data` with this key.
    pub(crate) fn seal(&self, data: &PersonalData) -> Result<SealedIdentity, StoreError> {
        seal_identity(self.key_id.clone(), &self.secret, data)
    }
}

fn seal_identity(
    key_id: String,
    key: &Secret,
    data: &PersonalData,
) -> Result<SealedIdentity, StoreError> {
    let json =
        Zeroizing::new(serde_json::to_vec(data).map_err(|e| StoreError::defect(e.to_string()))?);
    let sealed = seal_bytes(key, &json)?;
    let (nonce, ciphertext) = sealed.split_at(48);
    Ok(SealedIdentity {
        key_id,
        algorithm: ALGORITHM.into(),
        nonce: nonce.to_owned(),
        ciphertext: ciphertext.to_owned(),
    })
}

/// The data keys of every complaint, wrapped by the key-encryption key.
pub(crate) struct SubjectKeys {
    db: Db,
    kek: RwLock<Option<Arc<KeyEncryptionKey>>>,
    missing: Option<String>,
    /// Complaints whose erasure may have committed without its key being destroyed (a
    /// failed destruction, an ambiguous commit): tried again by the SLA monitor.
    pending: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl fmt::Debug for SubjectKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectKeys")
            .field(
                "kek",
                &self
                    .kek
                    .read()
                    .ok()
                    .and_then(|k| k.as_ref().map(|k| k.id())),
            )
            .finish()
    }
}

impl SubjectKeys {
    /// The keys of `db`, under the key file `file`. A writable store creates the file
    /// when the database holds no key yet; it refuses to open a database that holds
    /// keys without their file, or with another file. A read-only store opens without
    /// the file (nothing it reads then can show an identity, and says why).
    pub(crate) async fn open(db: Db, file: &KeyFile, writable: bool) -> Result<Self, StoreError> {
        let path = match file {
            KeyFile::At(path) => path.clone(),
            KeyFile::Default => match db.kind {
                BackendKind::Sqlite => PathBuf::from(format!("{}.key", db.name)),
                BackendKind::Postgres => PathBuf::from(DEFAULT_KEY_FILE),
            },
        };
        // The database names its key file's id from the first open on: a second host
        // that made a file of its own (two replicas started on an empty database) is
        // refused, not allowed to wrap keys no other host can open.
        let named = recorded_kek_id(&db).await?;
        let stored: Vec<String> = sqlx::query("SELECT DISTINCT kek_id FROM subject_keys")
            .fetch_all(&db.any)
            .await?
            .iter()
            .map(|r| r.try_get("kek_id"))
            .collect::<Result<_, _>>()?;
        let expected = named.clone().or_else(|| stored.first().cloned());
        let unusable = |reason: String| -> Result<Self, StoreError> {
            if writable {
                return Err(StoreError::Keys { reason });
            }
            // A reading verb (an audit of a copy) needs no identity: it opens, and says
            // why if one is asked for.
            Ok(Self {
                db: db.clone(),
                kek: RwLock::new(None),
                missing: Some(reason),
                pending: Default::default(),
            })
        };
        let kek = if path.exists() {
            match KeyEncryptionKey::read(&path) {
                Ok(kek) => kek,
                Err(StoreError::Keys { reason }) => return unusable(reason),
                Err(e) => return Err(e),
            }
        } else if let Some(expected) = &expected {
            return unusable(format!(
                "the key file {} is missing, and this database holds identities sealed \
                 under it (key {expected}): restore the file from its backup \
                 (docs/privacy.md); without it those identities cannot be read again",
                path.display()
            ));
        } else if !writable {
            return unusable(format!("the key file {} does not exist", path.display()));
        } else {
            match KeyEncryptionKey::create(&path) {
                Ok(kek) => kek,
                // Another store of this process made it first: use that one.
                Err(_) if path.exists() => KeyEncryptionKey::read(&path)?,
                Err(e) => return Err(e),
            }
        };
        if let Some(other) = expected
            .iter()
            .chain(stored.iter())
            .find(|id| **id != kek.id())
        {
            return unusable(format!(
                "the key file {} (key {}) is not the one this database's keys are wrapped \
                 with (key {other}): use a copy of that file on every host",
                path.display(),
                kek.id()
            ));
        }
        if named.is_none() && writable {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(KEK_SETTING)
            .bind(kek.id())
            .execute(&db.any)
            .await?;
            if let Some(winner) = recorded_kek_id(&db).await?.filter(|id| *id != kek.id()) {
                return unusable(format!(
                    "another host made this database's key file first (key {winner}); copy \
                     that file to {} in place of the one made here",
                    path.display()
                ));
            }
        }
        Ok(Self {
            db,
            kek: RwLock::new(Some(Arc::new(kek))),
            missing: None,
            pending: Default::default(),
        })
    }

    fn kek(&self) -> Result<Arc<KeyEncryptionKey>, StoreError> {
        self.kek
            .read()
            .ok()
            .and_then(|k| k.clone())
            .ok_or_else(|| StoreError::Keys {
                reason: self.missing.clone().unwrap_or_else(|| "no key file".into()),
            })
    }

    /// A data key for `complaint_id`, made now and not yet stored: the log writes it in
    /// the transaction of the complaint's first events ([`SubjectKeys::insert_new`]), so
    /// that a registration commits once and no key outlives a failed one.
    pub(crate) fn new_key(&self, complaint_id: &str) -> Result<NewKey, StoreError> {
        let kek = self.kek()?;
        let secret = Secret::random()?;
        Ok(NewKey {
            complaint_id: complaint_id.to_owned(),
            key_id: format!("{complaint_id}/{}", secret.id()),
            kek_id: kek.id(),
            wrapped: kek.wrap(&secret)?,
            secret,
        })
    }

    /// Writes `key` on `conn` unless the complaint has a key already; `false` when it
    /// was not written. Only under the database's current key file: a process still
    /// holding the file a rotation retired makes no key that no other process could
    /// open. And never for a complaint whose identity was erased (evidence sealed after
    /// an erasure would otherwise get a key that nothing destroys).
    pub(crate) async fn insert_new(
        conn: &mut sqlx::AnyConnection,
        key: &NewKey,
    ) -> Result<bool, sqlx::Error> {
        let written = key
            .bind(sqlx::query(&NewKey::insert_sql(1, None)))
            .execute(&mut *conn)
            .await?;
        Ok(written.rows_affected() == 1)
    }

    /// The complaint's data key and its id, made on first use. Concurrent first uses
    /// agree on one key (the first insert wins; the others read it).
    async fn key_for_sealing(&self, complaint_id: &str) -> Result<(String, Secret), StoreError> {
        let kek = self.kek()?;
        if let Some(found) = self.data_key(complaint_id).await? {
            return Ok(found);
        }
        let key = self.new_key(complaint_id)?;
        let mut conn = self.db.any.acquire().await?;
        Self::insert_new(&mut conn, &key).await?;
        drop(conn);
        if let Some(found) = self.data_key(complaint_id).await? {
            return Ok(found);
        }
        if let Some(erased_at) = self.erased_at(complaint_id).await? {
            return Err(StoreError::Domain(
                workflow_core::DomainError::IdentityAlreadyErased { erased_at },
            ));
        }
        self.data_key(complaint_id)
            .await?
            .ok_or_else(|| StoreError::Keys {
                reason: format!(
                    "no key could be made for complaint {complaint_id}: this process's key file \
                 (key {}) is no longer the database's (a rotation?); restart it with the \
                 current key file",
                    kek.id()
                ),
            })
    }

    /// When the complaint's identity was erased, if it was (the log's record).
    async fn erased_at(
        &self,
        complaint_id: &str,
    ) -> Result<Option<chrono::DateTime<Utc>>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {} AS payload FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
             AND event_type = 'IdentityErased'",
            self.db.json_as_text("payload")
        ))
        .bind(<workflow_core::Complaint as cqrs_es::Aggregate>::TYPE)
        .bind(complaint_id)
        .fetch_optional(&self.db.any)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let payload: String = row.try_get("payload")?;
        // Only the instant is wanted: read it without the event's upcasting.
        #[derive(serde::Deserialize)]
        struct At {
            at: chrono::DateTime<Utc>,
        }
        let at: At = serde_json::from_str(&payload)
            .map_err(|e| StoreError::integrity(complaint_id, e.to_string(), None))?;
        Ok(Some(at.at))
    }

    /// The complaint's data key, `None` when it has none (never sealed, or erased).
    async fn data_key(&self, complaint_id: &str) -> Result<Option<(String, Secret)>, StoreError> {
        let row = sqlx::query(
            "SELECT key_id, kek_id, wrapped_key FROM subject_keys WHERE complaint_id = $1",
        )
        .bind(complaint_id)
        .fetch_optional(&self.db.any)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let kek = self.kek()?;
        let kek_id: String = row.try_get("kek_id")?;
        if kek_id != kek.id() {
            return Err(StoreError::Keys {
                reason: format!(
                    "the data key of complaint {complaint_id} is wrapped by key {kek_id}, not by \
                     the key file's ({})",
                    kek.id()
                ),
            });
        }
        let secret = kek.unwrap_key(&row.try_get::<String, _>("wrapped_key")?, complaint_id)?;
        Ok(Some((row.try_get("key_id")?, secret)))
    }

    /// Seals `data` with the complaint's key.
    pub(crate) async fn seal(
        &self,
        complaint_id: &str,
        data: &PersonalData,
    ) -> Result<SealedIdentity, StoreError> {
        let (key_id, key) = self.key_for_sealing(complaint_id).await?;
        seal_identity(key_id, &key, data)
    }

    /// Opens a sealed identity of `complaint_id`: `Ok(None)` when its key is gone.
    pub(crate) async fn open_sealed(
        &self,
        complaint_id: &str,
        sealed: &SealedIdentity,
    ) -> Result<Option<PersonalData>, StoreError> {
        let Some((key_id, key)) = self.data_key(complaint_id).await? else {
            return Ok(None);
        };
        let corrupt = |why: &str| {
            StoreError::integrity(
                complaint_id,
                format!("the sealed identity does not open: {why}"),
                None,
            )
        };
        if sealed.algorithm != ALGORITHM {
            return Err(corrupt(&format!(
                "unknown algorithm `{}`",
                sealed.algorithm
            )));
        }
        if sealed.key_id != key_id {
            return Err(corrupt(&format!(
                "sealed with key {}, the complaint's key is {key_id}",
                sealed.key_id
            )));
        }
        let plain = open_bytes(&key, &format!("{}{}", sealed.nonce, sealed.ciphertext))
            .ok_or_else(|| corrupt("its bytes were altered or belong to another key"))?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|e| corrupt(&e.to_string()))
    }

    /// Destroys the data keys of `complaint_ids` and what could bring them back: on
    /// SQLite the deleted rows are overwritten (`secure_delete`) and the write-ahead log
    /// truncated; on PostgreSQL the table is vacuumed.
    pub(crate) async fn destroy(&self, complaint_ids: &[String]) -> Result<usize, StoreError> {
        let mut destroyed = 0;
        for id in complaint_ids {
            destroyed += sqlx::query("DELETE FROM subject_keys WHERE complaint_id = $1")
                .bind(id)
                .execute(&self.db.any)
                .await?
                .rows_affected() as usize;
        }
        if destroyed > 0 {
            self.scrub().await?;
        }
        Ok(destroyed)
    }

    async fn scrub(&self) -> Result<(), StoreError> {
        match self.db.kind {
            BackendKind::Sqlite => {
                // A reader still inside an older snapshot keeps the checkpoint from
                // finishing ("busy"): try again shortly, a bounded number of times.
                for attempt in 0..10 {
                    let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(&self.db.any)
                        .await?;
                    let busy: i64 = row.try_get(0)?;
                    if busy == 0 {
                        return Ok(());
                    }
                    if attempt < 9 {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
                tracing::warn!("the write-ahead log could not be truncated after an erasure (a long reader); the destroyed key's bytes stay in it until the next checkpoint");
            }
            BackendKind::Postgres => {
                sqlx::query("VACUUM subject_keys")
                    .execute(&self.db.any)
                    .await?;
            }
        }
        Ok(())
    }

    /// The keys of complaints whose identity was erased but whose key survived (a crash
    /// between the event and the destruction): destroyed now. A walk of every key, run
    /// when the store opens.
    pub(crate) async fn destroy_erased(&self) -> Result<usize, StoreError> {
        let rows = sqlx::query(
            "SELECT k.complaint_id FROM subject_keys k WHERE EXISTS (SELECT 1 FROM events e \
             WHERE e.aggregate_type = $1 AND e.aggregate_id = k.complaint_id \
             AND e.event_type = 'IdentityErased')",
        )
        .bind(<workflow_core::Complaint as cqrs_es::Aggregate>::TYPE)
        .fetch_all(&self.db.any)
        .await?;
        let ids: Vec<String> = rows
            .iter()
            .map(|r| r.try_get("complaint_id"))
            .collect::<Result<_, _>>()?;
        self.destroy(&ids).await
    }

    /// Notes a complaint whose erasure may have committed with its key still in place.
    pub(crate) fn destruction_pending(&self, complaint_id: &str) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(complaint_id.to_owned());
        }
    }

    /// Destroys the keys of the complaints noted as pending whose erasure is in the log
    /// (one whose erasure did not commit after all is dropped); a failure keeps the
    /// complaint noted for the next try. Only the noted complaints are looked at, so it
    /// costs nothing when nothing failed.
    /// Forgets a note of [`SubjectKeys::destruction_pending`]: the key is destroyed.
    pub(crate) fn destruction_done(&self, complaint_id: &str) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(complaint_id);
        }
    }

    pub(crate) async fn destroy_pending(&self) -> Result<usize, StoreError> {
        let noted: Vec<String> = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending).into_iter().collect(),
            Err(_) => return Ok(0),
        };
        let mut destroyed = 0;
        for id in noted {
            let erased = sqlx::query(
                "SELECT 1 AS one FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
                 AND event_type = 'IdentityErased'",
            )
            .bind(<workflow_core::Complaint as cqrs_es::Aggregate>::TYPE)
            .bind(&id)
            .fetch_optional(&self.db.any)
            .await;
            let outcome = match erased {
                Ok(Some(_)) => self.destroy(std::slice::from_ref(&id)).await,
                Ok(None) => Ok(0),
                Err(e) => Err(e.into()),
            };
            match outcome {
                Ok(n) => destroyed += n,
                Err(e) => {
                    self.destruction_pending(&id);
                    return Err(e);
                }
            }
        }
        Ok(destroyed)
    }

    /// Re-wraps every data key with a new key-encryption key written to `new_file`, in
    /// one transaction; the store uses the new key from then on.
    pub(crate) async fn rotate(&self, new_file: &Path) -> Result<KeyRotation, StoreError> {
        let old = self.kek()?;
        let new = KeyEncryptionKey::create(new_file)?;
        let mut tx = self.db.begin_writing(&self.db.any).await?;
        if self.db.kind == BackendKind::Postgres {
            // No key is made under the old file while the others are re-wrapped.
            sqlx::query("LOCK TABLE subject_keys IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let rows = sqlx::query("SELECT complaint_id, wrapped_key FROM subject_keys")
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            let id: String = row.try_get("complaint_id")?;
            let key = old.unwrap_key(&row.try_get::<String, _>("wrapped_key")?, &id)?;
            sqlx::query(
                "UPDATE subject_keys SET kek_id = $1, wrapped_key = $2 WHERE complaint_id = $3",
            )
            .bind(new.id())
            .bind(new.wrap(&key)?)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(KEK_SETTING)
        .bind(new.id())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // Committed: the new file is the database's now, whatever follows.
        if let Err(e) = self.scrub().await {
            tracing::warn!(error = %e, "after a key rotation, clearing the old wrapped keys' bytes failed; they go as the database reuses their space");
        }
        let rotation = KeyRotation {
            keys: rows.len(),
            old_key: old.id(),
            new_key: new.id(),
        };
        if let Ok(mut kek) = self.kek.write() {
            *kek = Some(Arc::new(new));
        }
        Ok(rotation)
    }
}

/// What a key rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRotation {
    /// Data keys re-wrapped.
    pub keys: usize,
    /// The retired key-encryption key's id.
    pub old_key: String,
    /// The new one's id.
    pub new_key: String,
}
