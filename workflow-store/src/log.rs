//! The event log on SQLite or PostgreSQL: the cqrs-es `EventStore` the engine runs on.
//!
//! The table is sqlite-es's and postgres-es's. A complaint is loaded for a command by
//! our own query, from a snapshot of its state and the events after it where one
//! matches the log (`log::snapshot`, decision 0035), else from all its events; the
//! events alone are read through their repositories
//! (`PersistedEventRepository::get_events`). Appends are our
//! own conditional SQL with group commit (decision 0033); what we add besides is the
//! per-event metadata with the hash chain, upcasting on read, reads in global order, and
//! a wake-up for the projectors after each commit. See `docs/decisions/0005` for why
//! this is not `PersistedEventStore`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::persist::{
    EventUpcaster, PersistedEventRepository, PersistenceError, SerializedEvent,
};
use cqrs_es::{
    Aggregate, AggregateContext, AggregateError, DomainEvent, EventEnvelope, EventStore,
};
#[cfg(feature = "postgres")]
use postgres_es::PostgresEventRepository;
use serde_json::Value;
#[cfg(feature = "sqlite")]
use sqlite_es::SqliteEventRepository;
use sqlx::Row;
use tokio::sync::Notify;
use workflow_core::complainant::Identity;
use workflow_core::{Complaint, ComplaintEvent, ComplaintId, DomainError, EventBody, Sequence};

use crate::backend::{Db, TypedPool};
use crate::engine::metadata_keys;
use crate::error::StoreError;
use crate::health::Health;
use crate::keys::{NewKey, SubjectKeys};

mod append;
pub(crate) use append::copy_error;
#[cfg(feature = "sqlite")]
pub(crate) mod direct;
mod kept;
mod snapshot;
use crate::position::Position;
use append::{Pending, SettingsGuard, Written};
pub(crate) use snapshot::DecidedOn;
pub use snapshot::EVERY as SNAPSHOT_EVERY;

/// One event as stored, with its place in the global order.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Its place in the whole log.
    pub position: Position,
    /// The complaint.
    pub complaint_id: ComplaintId,
    /// Its number within the complaint, from 1.
    pub sequence: Sequence,
    /// The event, upcast to the current version.
    pub event: ComplaintEvent,
    /// The stored metadata: command id, actor, correlation id, hashes.
    pub metadata: HashMap<String, String>,
    /// When the database recorded it.
    pub recorded_at: DateTime<Utc>,
}

/// A row of the log as `select_rows` reads it, before it is decoded.
#[derive(Debug)]
pub(crate) struct LogRow {
    pub position: Position,
    pub complaint_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: Option<String>,
}

/// A stored row that cannot be read as an event of the current version (a payload no
/// upcaster turns into a known event, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// Its place in the whole log.
    pub position: Position,
    /// The complaint's id as stored (which may itself be what cannot be read).
    pub complaint_id: String,
    /// Its number within the complaint.
    pub sequence: Sequence,
    /// Why it cannot be read.
    pub reason: String,
}

impl Unreadable {
    pub(crate) fn into_error(self) -> StoreError {
        StoreError::integrity(self.complaint_id, self.reason, None)
    }
}

enum Repo {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteEventRepository),
    #[cfg(feature = "postgres")]
    Postgres(PostgresEventRepository),
}

struct Inner {
    db: Db,
    repo: Repo,
    upcasters: Vec<Box<dyn EventUpcaster>>,
    committed: Notify,
    health: Health,
    keys: Arc<SubjectKeys>,
    queue: append::Queue,
    snapshot_format: String,
    kept: Arc<kept::Kept>,
}

/// The durable log. Cheap to clone.
#[derive(Clone)]
pub struct SqlLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqlLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlLog")
            .field("backend", &self.inner.db.kind)
            .finish()
    }
}

/// A complaint loaded for a command: its state, sequence and the chain's head.
pub struct LogContext {
    aggregate_id: String,
    aggregate: Complaint,
    sequence: usize,
    last_hash: String,
    /// The snapshot it was loaded from, if any (hashed only when a command commits on
    /// it).
    snapshot: Option<snapshot::SnapshotRef>,
    /// Where the state goes back to when the context is dropped without a commit (a
    /// refused command, a read, a conflict): the store's kept states.
    give_back: Option<Arc<kept::Kept>>,
}

impl Drop for LogContext {
    fn drop(&mut self) {
        if let Some(kept) = self.give_back.take() {
            kept.keep(self);
        }
    }
}

impl AggregateContext<Complaint> for LogContext {
    fn aggregate(&mut self) -> &mut Complaint {
        &mut self.aggregate
    }
}

type LogResult<T> = Result<T, AggregateError<DomainError>>;

/// What names a stored event in the reason it cannot be read.
struct Stored<'a> {
    aggregate_id: &'a str,
    sequence: usize,
    event_type: &'a str,
    event_version: &'a str,
}

impl Stored<'_> {
    fn integrity(&self, reason: String, cause: Option<crate::error::Cause>) -> StoreError {
        StoreError::integrity(
            self.aggregate_id,
            format!(
                "sequence {} ({} v{}): {reason}",
                self.sequence, self.event_type, self.event_version
            ),
            cause,
        )
    }

    /// Checks the payload against the row's type and reads the metadata (every value as
    /// text).
    fn finish(
        &self,
        payload: ComplaintEvent,
        metadata: Value,
    ) -> Result<(ComplaintEvent, HashMap<String, String>), StoreError> {
        if payload.event_type() != self.event_type {
            return Err(self.integrity(format!("the payload is a {}", payload.event_type()), None));
        }
        let metadata = match metadata {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            _ => return Err(self.integrity("metadata is not an object".into(), None)),
        };
        Ok((payload, metadata))
    }
}

impl SqlLog {
    pub(crate) fn new(
        db: Db,
        extra_upcasters: Vec<Box<dyn EventUpcaster>>,
        keys: Arc<SubjectKeys>,
        kept_states: usize,
    ) -> Self {
        // The domain's own upcasters first, then the embedding service's.
        let mut upcasters = workflow_core::upcast::builtin();
        upcasters.extend(extra_upcasters);
        let snapshot_format = snapshot::format(upcasters.len());
        let repo = match &db.typed {
            #[cfg(feature = "sqlite")]
            TypedPool::Sqlite(pool) => Repo::Sqlite(SqliteEventRepository::new(pool.clone())),
            #[cfg(feature = "postgres")]
            TypedPool::Postgres(pool) => Repo::Postgres(PostgresEventRepository::new(pool.clone())),
        };
        Self {
            inner: Arc::new(Inner {
                db,
                repo,
                upcasters,
                committed: Notify::new(),
                health: Health::default(),
                keys,
                queue: append::Queue::default(),
                snapshot_format,
                kept: Arc::new(kept::Kept::new(kept_states)),
            }),
        }
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    pub(crate) fn keys(&self) -> &SubjectKeys {
        &self.inner.keys
    }

    /// Outcomes of commits, projections and SLA ticks through this log, in memory.
    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// Resolves after the next commit through this log (a wake-up for projectors); a
    /// commit after this call and before the first poll still counts.
    pub(crate) fn committed(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.committed.notified()
    }

    async fn serialized_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        match &self.inner.repo {
            #[cfg(feature = "sqlite")]
            Repo::Sqlite(r) => r.get_events::<Complaint>(aggregate_id).await,
            #[cfg(feature = "postgres")]
            Repo::Postgres(r) => r.get_events::<Complaint>(aggregate_id).await,
        }
    }

    /// Upcasts and reads one stored event; a row that cannot be read names itself.
    pub(crate) fn decode(
        &self,
        mut event: SerializedEvent,
    ) -> Result<(ComplaintEvent, HashMap<String, String>), StoreError> {
        for upcaster in &self.inner.upcasters {
            if upcaster.can_upcast(&event.event_type, &event.event_version) {
                event = upcaster.upcast(event);
            }
        }
        let payload_value = std::mem::take(&mut event.payload);
        let metadata_value = std::mem::take(&mut event.metadata);
        let stored = Stored {
            aggregate_id: &event.aggregate_id,
            sequence: event.sequence,
            event_type: &event.event_type,
            event_version: &event.event_version,
        };
        let payload: ComplaintEvent = serde_json::from_value(payload_value)
            .map_err(|e| stored.integrity(e.to_string(), Some(Box::new(e))))?;
        stored.finish(payload, metadata_value)
    }

    /// Whether an upcaster applies to events of this type and version.
    fn upcasts(&self, event_type: &str, event_version: &str) -> bool {
        self.inner
            .upcasters
            .iter()
            .any(|u| u.can_upcast(event_type, event_version))
    }

    /// Reads one stored event of this build's version (no upcaster applies) straight
    /// from its payload's text, without the JSON tree an upcaster works on.
    fn decode_current(
        stored: &Stored<'_>,
        payload: &str,
        metadata: Value,
    ) -> Result<(ComplaintEvent, HashMap<String, String>), StoreError> {
        let payload: ComplaintEvent = serde_json::from_str(payload)
            .map_err(|e| stored.integrity(e.to_string(), Some(Box::new(e))))?;
        stored.finish(payload, metadata)
    }

    /// Events after `position` in global order, at most `limit`, on `conn` (so that a
    /// projector reads inside its own transaction). A row that cannot be read is an
    /// [`StoreError::Integrity`] error.
    pub(crate) async fn read_after(
        &self,
        conn: &mut sqlx::AnyConnection,
        position: Position,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_rows_after(conn, position, limit)
            .await?
            .into_iter()
            .map(|row| row.map_err(Unreadable::into_error))
            .collect()
    }

    /// Like `read_after`, but a row that cannot be read is returned in its place,
    /// naming itself, instead of failing the whole read.
    pub(crate) async fn read_rows_after(
        &self,
        conn: &mut sqlx::AnyConnection,
        position: Position,
        limit: i64,
    ) -> Result<Vec<Result<StoredEvent, Unreadable>>, StoreError> {
        let sql = self.after_sql();
        let rows = sqlx::query(&sql)
            .bind(Complaint::TYPE)
            .bind(position)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(|row| self.read_row(row)).collect()
    }

    /// Events through `through`, complaint by complaint: ordered by complaint, then by
    /// sequence, starting after the event `after` names (its complaint and sequence;
    /// `("", 0)` before the first), at most `limit`. Read along the log's primary key.
    pub(crate) async fn read_by_complaint(
        &self,
        conn: &mut sqlx::AnyConnection,
        after: (&str, i64),
        through: Position,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = self.by_complaint_sql();
        let rows = sqlx::query(&sql)
            .bind(Complaint::TYPE)
            .bind(after.0)
            .bind(after.1)
            .bind(through)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        self.read_events(rows)
    }

    /// How many events the log holds through `through` (a walk of the log's index:
    /// without PostgreSQL's statement timeout).
    pub(crate) async fn count_through(&self, through: Position) -> Result<u64, StoreError> {
        let db = self.db();
        let mut tx = db.begin(&db.any, None).await?;
        db.unbounded_statements(&mut tx).await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM events WHERE aggregate_type = $1 AND position <= $2",
        )
        .bind(Complaint::TYPE)
        .bind(through)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0))
    }

    /// Events of the types listed in `types` (an SQL list, `('A', 'B')`) after `after`
    /// through `through`, in order, at most `limit`.
    pub(crate) async fn read_types_between(
        &self,
        conn: &mut sqlx::AnyConnection,
        after: Position,
        through: Position,
        types: &str,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "{} WHERE aggregate_type = $1 AND position > $2 AND position <= $3 AND event_type IN {types} \
             ORDER BY position LIMIT $4",
            self.select_rows()
        );
        let rows = sqlx::query(&sql)
            .bind(Complaint::TYPE)
            .bind(after)
            .bind(through)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        self.read_events(rows)
    }

    /// A complaint's first event, if it has one.
    pub(crate) async fn read_first(
        &self,
        conn: &mut sqlx::AnyConnection,
        complaint_id: &str,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let sql = format!(
            "{} WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = 1",
            self.select_rows()
        );
        let row = sqlx::query(&sql)
            .bind(Complaint::TYPE)
            .bind(complaint_id)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|row| self.read_row(row)?.map_err(Unreadable::into_error))
            .transpose()
    }

    /// One complaint's rows up to and including `position`, in order.
    pub(crate) async fn read_complaint_through(
        &self,
        conn: &mut sqlx::AnyConnection,
        complaint_id: &str,
        position: Position,
    ) -> Result<Vec<Result<StoredEvent, Unreadable>>, StoreError> {
        let sql = format!(
            "{} WHERE aggregate_type = $1 AND aggregate_id = $2 AND position <= $3 ORDER BY position",
            self.select_rows()
        );
        let rows = sqlx::query(&sql)
            .bind(Complaint::TYPE)
            .bind(complaint_id)
            .bind(position)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(|row| self.read_row(row)).collect()
    }

    /// The rows after `$2` (complaint) and `$3` (sequence) through position `$4`,
    /// complaint by complaint, at most `$5` (`$1` the aggregate type).
    fn by_complaint_sql(&self) -> String {
        format!(
            "{} WHERE aggregate_type = $1 AND (aggregate_id, sequence) > ($2, $3) AND position <= $4 \
             ORDER BY aggregate_id, sequence LIMIT $5",
            self.select_rows()
        )
    }

    /// The rows after position `$2` in the log's order, at most `$3` (`$1` the
    /// aggregate type).
    fn after_sql(&self) -> String {
        format!(
            "{} WHERE aggregate_type = $1 AND position > $2 ORDER BY position LIMIT $3",
            self.select_rows()
        )
    }

    fn select_rows(&self) -> String {
        let db = self.db();
        format!(
            "SELECT position, aggregate_id, sequence, event_type, event_version, {} AS payload, {} AS metadata, recorded_at FROM events",
            db.json_as_text("payload"),
            db.json_as_text("metadata"),
        )
    }

    /// Reads rows of `select_rows` as events; a row that cannot be read is an
    /// [`StoreError::Integrity`] error.
    fn read_events(&self, rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<StoredEvent>, StoreError> {
        rows.into_iter()
            .map(|row| self.read_row(row)?.map_err(Unreadable::into_error))
            .collect()
    }

    /// Reads one row; `Err` of the outer result is the database failing, `Err` of the
    /// inner one a row that cannot be read.
    fn read_row(
        &self,
        row: sqlx::any::AnyRow,
    ) -> Result<Result<StoredEvent, Unreadable>, StoreError> {
        let row = LogRow {
            position: row.try_get("position")?,
            complaint_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            event_type: row.try_get("event_type")?,
            event_version: row.try_get("event_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
            recorded_at: row.try_get("recorded_at")?,
        };
        self.decode_row(row)
    }

    /// Decodes one row of `select_rows`, whichever driver read it; `Err` of the outer
    /// result is a decoding failure that is not the row's, `Err` of the inner one a row
    /// that cannot be read.
    pub(crate) fn decode_row(
        &self,
        row: LogRow,
    ) -> Result<Result<StoredEvent, Unreadable>, StoreError> {
        let LogRow {
            position,
            complaint_id,
            sequence,
            event_type,
            event_version,
            payload: payload_text,
            metadata,
            recorded_at,
        } = row;
        let unreadable = |reason: String| Unreadable {
            position,
            complaint_id: complaint_id.clone(),
            sequence: crate::codec::sequence(sequence),
            reason: format!("sequence {sequence} ({event_type}): {reason}"),
        };
        let Ok(id) = ComplaintId::new(complaint_id.as_str()) else {
            return Ok(Err(unreadable("the complaint id is not valid".into())));
        };
        let recorded_at = match recorded_at {
            Some(text) => match crate::codec::instant(&complaint_id, "recorded_at", &text) {
                Ok(at) => at,
                Err(e) => return Ok(Err(unreadable(e.to_string()))),
            },
            None => return Ok(Err(unreadable("it has no recorded_at".into()))),
        };
        let metadata: Value = match serde_json::from_str(&metadata) {
            Ok(v) => v,
            Err(e) => return Ok(Err(unreadable(e.to_string()))),
        };
        let decoded = if self.upcasts(&event_type, &event_version) {
            let payload: Value = match serde_json::from_str(&payload_text) {
                Ok(v) => v,
                Err(e) => return Ok(Err(unreadable(e.to_string()))),
            };
            self.decode(SerializedEvent::new(
                complaint_id.clone(),
                usize::try_from(sequence).unwrap_or_default(),
                Complaint::TYPE.to_owned(),
                event_type.clone(),
                event_version,
                payload,
                metadata,
            ))
        } else {
            let stored = Stored {
                aggregate_id: &complaint_id,
                sequence: usize::try_from(sequence).unwrap_or_default(),
                event_type: &event_type,
                event_version: &event_version,
            };
            Self::decode_current(&stored, &payload_text, metadata)
        };
        let (event, metadata) = match decoded {
            Ok(decoded) => decoded,
            Err(StoreError::Integrity { reason, .. }) => {
                return Ok(Err(Unreadable {
                    position,
                    complaint_id,
                    sequence: crate::codec::sequence(sequence),
                    reason,
                }))
            }
            Err(other) => return Err(other),
        };
        Ok(Ok(StoredEvent {
            position,
            complaint_id: id,
            sequence: crate::codec::sequence(sequence),
            event,
            metadata,
            recorded_at,
        }))
    }

    /// Seals the identities `events` hold (with `key`, a new complaint's, or the
    /// complaint's stored key) and writes them after `context`.
    async fn append(
        &self,
        mut events: Vec<ComplaintEvent>,
        context: &LogContext,
        metadata: &HashMap<String, String>,
        key: Option<NewKey>,
    ) -> Result<(Written, Vec<EventEnvelope<Complaint>>), StoreError> {
        for event in &mut events {
            if let EventBody::Received(r) = &mut event.body {
                if let Identity::Plain(data) = &r.complainant.identity {
                    let sealed = match &key {
                        Some(key) => key.seal(data)?,
                        None => self.inner.keys.seal(&context.aggregate_id, data).await?,
                    };
                    r.complainant.identity = Identity::Sealed { sealed };
                }
            }
        }
        let (pending, envelopes) = Pending::new(events, context, metadata, key)?;
        Ok((self.write(pending).await?, envelopes))
    }

    /// The highest position in the log ([`Position::ZERO`] when empty).
    pub async fn head(&self) -> Result<Position, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(position), 0) AS head FROM events")
            .fetch_one(&self.db().any)
            .await?;
        Ok(row.try_get("head")?)
    }
}

impl EventStore<Complaint> for SqlLog {
    type AC = LogContext;

    async fn load_events(&self, aggregate_id: &str) -> LogResult<Vec<EventEnvelope<Complaint>>> {
        let serialized = self.serialized_events(aggregate_id).await?;
        let mut out = Vec::with_capacity(serialized.len());
        for event in serialized {
            let sequence = event.sequence;
            let (payload, metadata) = self.decode(event).map_err(StoreError::into_aggregate)?;
            out.push(EventEnvelope {
                aggregate_id: aggregate_id.to_owned(),
                sequence,
                payload,
                metadata,
            });
        }
        Ok(out)
    }

    /// From the complaint's snapshot and the events after it where it has one that
    /// matches its log (see `log/snapshot.rs`), else from all its events.
    async fn load_aggregate(&self, aggregate_id: &str) -> LogResult<LogContext> {
        self.load_context(aggregate_id)
            .await
            .map_err(StoreError::into_aggregate)
    }

    async fn commit(
        &self,
        events: Vec<ComplaintEvent>,
        mut context: LogContext,
        metadata: HashMap<String, String>,
    ) -> LogResult<Vec<EventEnvelope<Complaint>>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // The events say which snapshot they were decided on, under the chain's hashes.
        let mut metadata = metadata;
        if let Some(snapshot) = &mut context.snapshot {
            metadata.insert(metadata_keys::SNAPSHOT.to_owned(), snapshot.named());
            metadata.insert(
                metadata_keys::SNAPSHOT_FORMAT.to_owned(),
                self.inner.snapshot_format.clone(),
            );
        }
        let erasing = events
            .iter()
            .any(|e| matches!(e.body, EventBody::IdentityErased(_)));
        // Personal data reaches the log only sealed with the complaint's key. A new
        // complaint's key is made here and written in the events' own transaction.
        let new_key = if context.sequence == 0 && events.iter().any(holds_plain_identity) {
            match self.inner.keys.new_key(&context.aggregate_id) {
                Ok(key) => Some(key),
                Err(e) => {
                    self.inner.health.commit_failed(&e);
                    return Err(e.into_aggregate());
                }
            }
        } else {
            None
        };
        if erasing {
            // Noted before the write: should this caller go away while its command
            // waits to be written (a client gone), the write still happens, and the SLA
            // monitor's next tick destroys the key (a note whose erasure is not in the
            // log is dropped there).
            self.inner.keys.destruction_pending(&context.aggregate_id);
        }
        // Only a new key can be refused and call for a second try with the events as
        // decided: keep them for it then, and only then.
        let decided = new_key.as_ref().map(|_| events.clone());
        let mut appended = self.append(events, &context, &metadata, new_key).await;
        if let (Ok((Written::KeyRefused, _)), Some(events)) = (&appended, decided) {
            // The complaint has a key already (one a failed registration left under an
            // earlier version), or this process's key file is no longer the database's:
            // seal with the stored key, or say why none can be had. Unless the
            // complaint moved on or the settings changed (the key was refused with the
            // events): then the command is decided again.
            let guard = SettingsGuard::from_metadata(&metadata);
            appended = match self.still_current(&context, guard).await {
                Ok(true) => self.append(events, &context, &metadata, None).await,
                Ok(false) => Ok((Written::Refused, Vec::new())),
                Err(e) => Err(e),
            };
        }
        let envelopes = match appended {
            Ok((Written::Committed, envelopes)) => {
                self.inner.health.committed();
                envelopes
            }
            Ok((Written::Refused, _)) => return Err(AggregateError::AggregateConflict),
            Ok((Written::KeyRefused, _)) => {
                let e = StoreError::defect("the complaint's key was not written twice");
                self.inner.health.commit_failed(&e);
                return Err(e.into_aggregate());
            }
            // (An erasure's key stays noted for destruction: the commit may have
            // happened all the same, an answer lost.)
            Err(e) => {
                self.inner.health.commit_failed(&e);
                return Err(e.into_aggregate());
            }
        };
        self.inner.committed.notify_waiters();
        let complaint_id = context.aggregate_id.clone();
        if erasing {
            #[cfg(feature = "testing")]
            crate::testing::fault_point("before_key_destruction");
            // The event is the record; the key's destruction follows it. Should it
            // fail, the SLA monitor's next tick tries again; should the process die
            // here, the next open destroys it (`SubjectKeys::destroy_erased`). No read
            // shows the identity meanwhile: every read asks the log for an erasure.
            match self
                .inner
                .keys
                .destroy(std::slice::from_ref(&complaint_id))
                .await
            {
                Ok(_) => self.inner.keys.destruction_done(&complaint_id),
                Err(e) => {
                    tracing::error!(complaint_id = %complaint_id, error = %e, "the erased identity's key was not destroyed yet; the next SLA tick tries again");
                }
            }
        }
        // A side write, after the key's destruction: nothing waits on it but this answer.
        self.keep_state(context, &envelopes).await;
        Ok(envelopes)
    }
}

fn holds_plain_identity(event: &ComplaintEvent) -> bool {
    matches!(&event.body, EventBody::Received(r) if matches!(r.complainant.identity, Identity::Plain(_)))
}
