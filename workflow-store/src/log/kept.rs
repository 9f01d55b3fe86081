//! States kept in memory (decision 0039): the state each recent load or command left a
//! complaint in, so that the next command on it reads only the events after it.
//!
//! A kept state is, like a snapshot, a cache and never the record. A load that finds
//! one still reads the log: the event at the kept state's sequence and every event
//! after it, in one query. The kept state is used only while that event is still in
//! the log and carries the chain head the state was kept with; the events after it
//! (other stores' commits, another host's) are folded on top as on any load. Anything
//! else and the state is dropped and the complaint loaded as if none had been kept
//! ([`crate::HealthSnapshot::kept_states_dropped`]). So a kept state saves decoding the
//! snapshot and the events before it, never a read of the log: a command is still
//! decided on the log's latest events, whichever process wrote them.
//!
//! A load takes the state out, without a copy, whatever it was loaded from. The commit
//! that follows keeps the state it leaves; a context dropped without a commit (a
//! refused command, a conflict, a read through [`crate::Engine::load`]) gives back the
//! state it loaded, so reads keep states too. Of two commands on one complaint at once,
//! the second finds nothing kept and loads from the database. A state is kept under the
//! same rules as a snapshot: advanced with the events as written (identities sealed),
//! never one a caller advanced with the events as decided, never one holding a
//! complainant's identity in plain. The states are bounded in number
//! ([`crate::StoreOptions::kept_states`]); the least recently used goes first.

use std::sync::Mutex;

use hashlink::LruCache;
use sqlx::Row;
use workflow_core::Complaint;

use super::snapshot::{parse, SnapshotRef};
use super::{LogContext, SqlLog};
use crate::chain::HASH;
use crate::error::StoreError;
use cqrs_es::persist::SerializedEvent;
use cqrs_es::Aggregate;

/// A complaint's state as one of this store's commits left it.
pub(super) struct KeptState {
    state: Complaint,
    sequence: usize,
    chain_head: String,
    /// The snapshot the state was first loaded from, if any, by its digest: the events
    /// decided on the state name it as those decided on the snapshot itself do.
    snapshot: Option<SnapshotRef>,
}

/// The kept states of one store, at most `capacity` of them.
pub(super) struct Kept {
    states: Option<Mutex<LruCache<String, KeptState>>>,
}

impl Kept {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            states: (capacity > 0).then(|| Mutex::new(LruCache::new(capacity))),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut LruCache<String, KeptState>) -> T) -> Option<T> {
        let states = self.states.as_ref()?;
        // A panic elsewhere while holding the lock leaves a cache behind: empty it.
        let mut guard = states.lock().unwrap_or_else(|p| {
            let mut guard = p.into_inner();
            guard.clear();
            guard
        });
        Some(f(&mut guard))
    }

    /// Takes the complaint's state out (no copy of it is made): the commit that follows
    /// keeps the state it leaves.
    fn take(&self, aggregate_id: &str) -> Option<KeptState> {
        self.with(|states| states.remove(aggregate_id)).flatten()
    }

    /// Keeps the state `context` holds (after a commit, with the events as written; or
    /// as loaded, when the context is dropped without one), taking it out of the
    /// context, unless a later one of the same complaint is kept already. Not a state a
    /// caller advanced or emptied (it counts other events than its sequence), nor one
    /// holding a complainant's identity in plain.
    pub(super) fn keep(&self, context: &mut LogContext) {
        if self.states.is_none()
            || context.sequence == 0
            || context.aggregate.events_applied()
                != u64::try_from(context.sequence).unwrap_or(u64::MAX)
            || super::snapshot::holds_plain_identity(&context.aggregate)
        {
            return;
        }
        let sequence = context.sequence;
        // Hashed (if it was still text) outside the lock.
        let snapshot = context.snapshot.take().map(SnapshotRef::digested);
        self.with(|states| {
            if states
                .peek(&context.aggregate_id)
                .is_some_and(|k| k.sequence >= sequence)
            {
                return;
            }
            let kept = KeptState {
                state: std::mem::take(&mut context.aggregate),
                sequence,
                chain_head: std::mem::take(&mut context.last_hash),
                snapshot,
            };
            states.insert(context.aggregate_id.clone(), kept);
        });
    }

    /// Puts back a state taken out by a load that could not read the log.
    fn restore(&self, aggregate_id: &str, kept: KeptState) {
        self.with(|states| {
            if !states.contains_key(aggregate_id) {
                states.insert(aggregate_id.to_owned(), kept);
            }
        });
    }

    /// How many states are kept now.
    pub(super) fn len(&self) -> usize {
        self.with(|states| states.len()).unwrap_or(0)
    }
}

impl SqlLog {
    /// The complaint from its kept state and the events from the kept state's sequence
    /// on, if one is kept and its event still carries its chain head; `None` to load it
    /// from the database alone.
    pub(super) async fn load_kept(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<LogContext>, StoreError> {
        let Some(kept) = self.inner.kept.take(aggregate_id) else {
            return Ok(None);
        };
        let db = self.db();
        let sql = format!(
            "SELECT sequence, event_type, event_version, {} AS payload, {} AS metadata \
               FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence >= $3 \
             ORDER BY sequence",
            db.json_as_text("payload"),
            db.json_as_text("metadata"),
        );
        let rows = match sqlx::query(&sql)
            .bind(Complaint::TYPE)
            .bind(aggregate_id)
            .bind(i64::try_from(kept.sequence).unwrap_or(i64::MAX))
            .fetch_all(&db.any)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                // The log could not be read: the state is as good as it was.
                self.inner.kept.restore(aggregate_id, kept);
                return Err(e.into());
            }
        };
        let mut rows = rows.into_iter();
        let matches = match rows.next() {
            Some(first) => {
                let sequence: i64 = first.try_get("sequence")?;
                let metadata: String = first.try_get("metadata")?;
                usize::try_from(sequence).ok() == Some(kept.sequence)
                    && serde_json::from_str::<serde_json::Value>(&metadata)
                        .ok()
                        .and_then(|m| m.get(HASH).and_then(|h| h.as_str().map(str::to_owned)))
                        .as_deref()
                        == Some(kept.chain_head.as_str())
            }
            None => false,
        };
        if !matches {
            self.inner.health.kept_state_dropped();
            tracing::warn!(
                complaint_id = aggregate_id,
                sequence = kept.sequence,
                "the state kept of the complaint does not match its log and was dropped"
            );
            return Ok(None);
        }
        let mut context = LogContext {
            aggregate_id: aggregate_id.to_owned(),
            aggregate: kept.state,
            sequence: kept.sequence,
            last_hash: kept.chain_head,
            snapshot: kept.snapshot,
            give_back: None,
        };
        for row in rows {
            let sequence: i64 = row.try_get("sequence")?;
            let payload: String = row.try_get("payload")?;
            let metadata: String = row.try_get("metadata")?;
            let event = SerializedEvent::new(
                aggregate_id.to_owned(),
                usize::try_from(sequence).unwrap_or_default(),
                Complaint::TYPE.to_owned(),
                row.try_get("event_type")?,
                row.try_get("event_version")?,
                parse(aggregate_id, sequence, "payload", &payload)?,
                parse(aggregate_id, sequence, "metadata", &metadata)?,
            );
            let sequence = event.sequence;
            let (payload, metadata) = self.decode(event)?;
            context.apply(sequence, payload, metadata.get(HASH));
        }
        self.inner.health.loaded_from_kept_state();
        Ok(Some(context))
    }

    /// How many complaints' states this store keeps now.
    pub fn kept_states(&self) -> usize {
        self.inner.kept.len()
    }
}
