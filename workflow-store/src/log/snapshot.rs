//! Snapshots of a complaint's state (decision 0035): the state as of one of its events,
//! kept in `complaint_snapshots` beside the log, so that a complaint with a long history
//! loads from the snapshot and the events after it instead of from every event.
//!
//! A snapshot is a cache and never the record. It is used only when
//! - its format is this build's ([`Complaint::STATE_FORMAT`] and the number of upcasters
//!   events are read through, since either changes what the events fold to),
//! - the event at its sequence is still in the log and carries the chain head the
//!   snapshot names, and
//! - its state reads.
//!
//! Anything else and the complaint is loaded from all its events, the snapshot counted
//! as refused ([`crate::HealthSnapshot::snapshots_refused`]). One is written after a
//! commit that takes a complaint past a multiple of [`EVERY`] events, as a side write: a
//! failure to write it is counted and logged, and the acknowledged command stands.
//! A state still holding a complainant's identity in plain (a registration recorded
//! before identities were sealed, and not erased) is never copied into a snapshot.

use cqrs_es::persist::SerializedEvent;
use cqrs_es::{Aggregate, EventEnvelope};
use serde_json::Value;
use sqlx::Row;
use workflow_core::complainant::Identity;
use workflow_core::Complaint;

use std::collections::{BTreeMap, BTreeSet};

use super::{LogContext, SqlLog};
use crate::chain::{GENESIS, HASH};
use crate::engine::metadata_keys::{SNAPSHOT, SNAPSHOT_FORMAT};
use crate::error::StoreError;

/// A snapshot of a complaint's state is written each time its events pass a multiple
/// of this, and a load reads it and the events after it instead of every event. It is
/// used only while it matches the log, and never vouched for by the log's chain:
/// [`Store::verify`](crate::Store::verify) compares each with its events. See
/// `docs/ARCHITECTURE.md`, "Snapshots".
pub const EVERY: usize = 16;

/// What a stored snapshot must name to be used by this build.
pub(super) fn format(upcasters: usize) -> String {
    format!(
        "complaint-state/{}; upcasters/{upcasters}",
        Complaint::STATE_FORMAT
    )
}

/// A row of the load: the snapshot (part 0) or an event (part 1).
struct Loaded {
    part: i64,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
}

impl SqlLog {
    /// The complaint's state, sequence and chain head, from its snapshot and the events
    /// after it where it has a usable one, else from all its events; one query either way.
    /// What a context dropped without a commit gives its state back to.
    pub(super) async fn load_context(&self, aggregate_id: &str) -> Result<LogContext, StoreError> {
        let mut context = match self.load_kept(aggregate_id).await? {
            Some(context) => context,
            None => {
                self.inner.health.loaded_from_database();
                self.load_stored(aggregate_id).await?
            }
        };
        context.give_back = Some(std::sync::Arc::clone(&self.inner.kept));
        Ok(context)
    }

    /// The complaint from the database alone: its snapshot and the events after it, or
    /// all its events.
    async fn load_stored(&self, aggregate_id: &str) -> Result<LogContext, StoreError> {
        let db = self.db();
        let sql = format!(
            "SELECT CAST(0 AS bigint) AS part, sequence, '' AS event_type, '' AS event_version, \
                    state AS payload, chain_head AS metadata \
               FROM complaint_snapshots WHERE complaint_id = $1 AND format = $2 \
             UNION ALL \
             SELECT CAST(1 AS bigint) AS part, sequence, event_type, event_version, {} AS payload, {} AS metadata \
               FROM events WHERE aggregate_type = $3 AND aggregate_id = $1 AND sequence >= \
                    COALESCE((SELECT sequence FROM complaint_snapshots WHERE complaint_id = $1 AND format = $2), 0) \
             ORDER BY part, sequence",
            db.json_as_text("payload"),
            db.json_as_text("metadata"),
        );
        let rows = sqlx::query(&sql)
            .bind(aggregate_id)
            .bind(&self.inner.snapshot_format)
            .bind(Complaint::TYPE)
            .fetch_all(&db.any)
            .await?;
        let mut rows = rows
            .into_iter()
            .map(|row| {
                Ok(Loaded {
                    part: row.try_get("part")?,
                    sequence: row.try_get("sequence")?,
                    event_type: row.try_get("event_type")?,
                    event_version: row.try_get("event_version")?,
                    payload: row.try_get("payload")?,
                    metadata: row.try_get("metadata")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
            .into_iter()
            .peekable();
        let mut context = LogContext::empty(aggregate_id);
        if rows.peek().is_some_and(|r| r.part == 0) {
            let snapshot = rows.next().expect("peeked");
            match resume(&snapshot, rows.next()) {
                Some(state) => {
                    self.inner.health.loaded_from_snapshot();
                    context.aggregate = state;
                    context.sequence = usize::try_from(snapshot.sequence).unwrap_or_default();
                    context.last_hash = snapshot.metadata;
                    context.snapshot = Some(SnapshotRef::Text {
                        sequence: snapshot.sequence,
                        text: snapshot.payload,
                    });
                }
                None => {
                    // Its event's chain head differs, it is gone, or the state does not
                    // read: load from every event (which that query did not fetch).
                    self.inner.health.snapshot_refused();
                    tracing::warn!(
                        complaint_id = aggregate_id,
                        sequence = snapshot.sequence,
                        "a snapshot of the complaint does not match its log and was not used"
                    );
                    return self.load_all(aggregate_id).await;
                }
            }
        }
        for row in rows {
            let event = SerializedEvent::new(
                aggregate_id.to_owned(),
                usize::try_from(row.sequence).unwrap_or_default(),
                Complaint::TYPE.to_owned(),
                row.event_type,
                row.event_version,
                parse(aggregate_id, row.sequence, "payload", &row.payload)?,
                parse(aggregate_id, row.sequence, "metadata", &row.metadata)?,
            );
            let sequence = event.sequence;
            let (payload, metadata) = self.decode(event)?;
            context.apply(sequence, payload, metadata.get(HASH));
        }
        Ok(context)
    }

    /// The complaint loaded from every one of its events.
    async fn load_all(&self, aggregate_id: &str) -> Result<LogContext, StoreError> {
        let events = self
            .serialized_events(aggregate_id)
            .await
            .map_err(|e| StoreError::from_aggregate(aggregate_id, e.into()))?;
        let mut context = LogContext::empty(aggregate_id);
        for event in events {
            let sequence = event.sequence;
            let (payload, metadata) = self.decode(event)?;
            context.apply(sequence, payload, metadata.get(HASH));
        }
        Ok(context)
    }

    /// After a commit of `appended` on `context`: keeps the state reached in memory
    /// (`log::kept`), and a snapshot of it when the commit took the complaint past a
    /// multiple of [`EVERY`] events. A failure to write the snapshot is the side
    /// write's alone.
    pub(super) async fn keep_state(
        &self,
        mut context: LogContext,
        appended: &[EventEnvelope<Complaint>],
    ) {
        // Kept below advanced, or not at all: never given back as it was loaded.
        context.give_back = None;
        let Some(last) = appended.last() else { return };
        let snapshot_due = context.sequence / EVERY != last.sequence / EVERY;
        // The state as loaded, advanced with the events as written (identities sealed).
        // A caller that advanced it already (with the events as decided) gets none
        // kept: its state is not the log's.
        if context.aggregate.events_applied() != u64::try_from(context.sequence).unwrap_or(u64::MAX)
        {
            return;
        }
        for envelope in appended {
            context.apply(
                envelope.sequence,
                envelope.payload.clone(),
                envelope.metadata.get(HASH),
            );
        }
        if !last.metadata.contains_key(HASH) || holds_plain_identity(&context.aggregate) {
            return;
        }
        if snapshot_due {
            self.write_snapshot(&context).await;
        }
        self.inner.kept.keep(&mut context);
    }

    /// Writes `context` (its state, at its sequence, under its chain head) as the
    /// complaint's snapshot, unless a later one is stored.
    async fn write_snapshot(&self, context: &LogContext) {
        let written = async {
            let state = serde_json::to_string(&context.aggregate)
                .map_err(|e| StoreError::defect(format!("a state did not serialise: {e}")))?;
            sqlx::query(
                "INSERT INTO complaint_snapshots (complaint_id, sequence, chain_head, format, state) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (complaint_id) DO UPDATE SET sequence = excluded.sequence, \
                   chain_head = excluded.chain_head, format = excluded.format, state = excluded.state \
                 WHERE complaint_snapshots.sequence < excluded.sequence \
                    OR complaint_snapshots.format <> excluded.format",
            )
            .bind(&context.aggregate_id)
            .bind(i64::try_from(context.sequence).unwrap_or(i64::MAX))
            .bind(&context.last_hash)
            .bind(&self.inner.snapshot_format)
            .bind(state)
            .execute(&self.db().any)
            .await?;
            Ok::<_, StoreError>(())
        }
        .await;
        if let Err(e) = written {
            tracing::warn!(complaint_id = %context.aggregate_id, error = %e, "a snapshot of the complaint was not written; it loads from its events");
            self.inner.health.side_write_failed(&e);
        }
    }
}

/// The snapshot a complaint's state was loaded from, named in the metadata of the
/// events decided on it.
#[derive(Clone, Debug)]
pub(super) enum SnapshotRef {
    /// As loaded: its text, hashed only when a command commits on it.
    Text { sequence: i64, text: String },
    /// Hashed.
    Digest { sequence: i64, digest: String },
}

impl SnapshotRef {
    /// `SEQUENCE:SHA256` (see [`SNAPSHOT`]); the text is hashed once and let go.
    /// The reference by digest (the text hashed, if it was still held).
    pub(super) fn digested(mut self) -> Self {
        self.named();
        self
    }

    pub(super) fn named(&mut self) -> String {
        let (sequence, digest) = match self {
            Self::Text { sequence, text } => (*sequence, state_digest(text)),
            Self::Digest { sequence, digest } => (*sequence, digest.clone()),
        };
        let named = format!("{sequence}:{digest}");
        *self = Self::Digest { sequence, digest };
        named
    }
}

impl LogContext {
    /// A complaint with no events yet, made without reading anything: also what a
    /// registration is first decided on (its append commits only while the complaint
    /// has no events; see `Engine::execute`).
    pub(crate) fn empty(aggregate_id: &str) -> Self {
        Self {
            aggregate_id: aggregate_id.to_owned(),
            aggregate: Complaint::default(),
            sequence: 0,
            last_hash: GENESIS.to_owned(),
            snapshot: None,
            give_back: None,
        }
    }

    pub(super) fn apply(
        &mut self,
        sequence: usize,
        event: workflow_core::ComplaintEvent,
        hash: Option<&String>,
    ) {
        self.sequence = sequence;
        if let Some(hash) = hash {
            self.last_hash.clone_from(hash);
        }
        self.aggregate.apply(event);
    }
}

/// The snapshot's state, if `at` (the first event the load read) is the event the
/// snapshot summarises, with the chain head it names, and the state reads.
fn resume(snapshot: &Loaded, at: Option<Loaded>) -> Option<Complaint> {
    let at = at?;
    if at.part != 1 || at.sequence != snapshot.sequence {
        return None;
    }
    let metadata: Value = serde_json::from_str(&at.metadata).ok()?;
    if metadata.get(HASH)?.as_str()? != snapshot.metadata {
        return None;
    }
    let state: Complaint = serde_json::from_str(&snapshot.payload).ok()?;
    // A state that counts another number of events than its sequence is not of it.
    (state.events_applied() == u64::try_from(snapshot.sequence).ok()?).then_some(state)
}

pub(super) fn parse(
    id: &str,
    sequence: i64,
    column: &str,
    text: &str,
) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::integrity(
            id.to_owned(),
            format!("sequence {sequence}: the {column} is not JSON: {e}"),
            Some(Box::new(e)),
        )
    })
}

/// Whether the state holds the complainant's identity in plain (never sealed, not erased).
pub(super) fn holds_plain_identity(state: &Complaint) -> bool {
    state.identity_erased().is_none()
        && state
            .registration()
            .is_some_and(|r| matches!(r.complainant.identity, Identity::Plain(_)))
}

/// A snapshot a command was decided on, as its events' metadata names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DecidedOn {
    pub complaint_id: String,
    /// The snapshot's sequence.
    pub sequence: i64,
    /// The SHA-256 of the state's text the command was decided on.
    pub digest: String,
    /// The snapshot's format.
    pub format: String,
}

impl DecidedOn {
    /// From an event's metadata text, when it names a snapshot.
    pub(crate) fn of(complaint_id: &str, metadata: &str) -> Option<Self> {
        if !metadata.contains("\"snapshot\"") {
            return None;
        }
        let metadata: Value = serde_json::from_str(metadata).ok()?;
        let (sequence, digest) = metadata.get(SNAPSHOT)?.as_str()?.split_once(':')?;
        Some(Self {
            complaint_id: complaint_id.to_owned(),
            sequence: sequence.parse().ok()?,
            digest: digest.to_owned(),
            format: metadata.get(SNAPSHOT_FORMAT)?.as_str()?.to_owned(),
        })
    }
}

/// What comparing snapshots with the log found.
#[derive(Debug, Default)]
pub(crate) struct SnapshotCheck {
    /// Snapshots compared: those kept, and those commands were decided on.
    pub compared: u64,
    /// Snapshots of another format than this build's, which it cannot compare.
    pub unchecked: u64,
    /// `(complaint, sequence, how)` of each that does not match.
    pub differing: Vec<(String, i64, String)>,
}

impl SqlLog {
    /// Compares snapshots with the events they summarise: every snapshot kept of this
    /// build's format (the event at its sequence carries its chain head, and the events
    /// up to it fold to its state), and every snapshot a command was decided on
    /// (`decided_on`, with the first sequence decided on it: the events up to it fold to
    /// a state whose text has the digest the events name). Complaints in `skip` (whose
    /// events the walk found wanting) are left to the walk's report.
    pub(crate) async fn check_snapshots(
        &self,
        decided_on: &BTreeMap<DecidedOn, i64>,
        skip: &BTreeSet<String>,
    ) -> Result<SnapshotCheck, StoreError> {
        let format = &self.inner.snapshot_format;
        let db = self.db();
        let mut check = SnapshotCheck::default();
        let kept: Vec<(String, String)> = sqlx::query(&format!(
            "SELECT complaint_id, format FROM complaint_snapshots ORDER BY {}",
            db.bytewise("complaint_id")
        ))
        .fetch_all(&db.any)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("complaint_id")?, r.try_get("format")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        for (id, kept_format) in kept {
            if &kept_format != format {
                check.unchecked += 1;
                continue;
            }
            if skip.contains(&id) {
                continue;
            }
            // Read again one by one: a host may have replaced it since.
            let Some(row) = sqlx::query(
                "SELECT sequence, chain_head, state FROM complaint_snapshots \
                 WHERE complaint_id = $1 AND format = $2",
            )
            .bind(&id)
            .bind(format)
            .fetch_optional(&db.any)
            .await?
            else {
                continue;
            };
            let sequence: i64 = row.try_get("sequence")?;
            let chain_head: String = row.try_get("chain_head")?;
            let state: String = row.try_get("state")?;
            check.compared += 1;
            let how = match self
                .fold_states(&id, &[sequence])
                .await?
                .map(|mut s| s.remove(0))
            {
                Err(how) => Some(how),
                Ok((_, head)) if head != chain_head => Some(format!(
                    "it names chain head {chain_head}, the event carries {head}"
                )),
                // Text against text, as for a snapshot named by the events: what a load
                // would hash and decide on.
                Ok((folded, _)) => {
                    let text = serde_json::to_string(&folded).map_err(|e| {
                        StoreError::defect(format!("a state did not serialise: {e}"))
                    })?;
                    (text != state).then(|| {
                        "its state is not the text of what the events up to it fold to".to_owned()
                    })
                }
            };
            if let Some(how) = how {
                check.differing.push((id, sequence, how));
            }
        }
        // One fold per complaint, however many snapshots its events name.
        let mut named: BTreeMap<&str, Vec<(&DecidedOn, i64)>> = BTreeMap::new();
        for (snapshot, first) in decided_on {
            if &snapshot.format != format {
                check.unchecked += 1;
            } else if !skip.contains(&snapshot.complaint_id) {
                named
                    .entry(snapshot.complaint_id.as_str())
                    .or_default()
                    .push((snapshot, *first));
            }
        }
        for (id, snapshots) in named {
            check.compared += u64::try_from(snapshots.len()).unwrap_or(u64::MAX);
            let sequences: Vec<i64> = snapshots.iter().map(|(s, _)| s.sequence).collect();
            let folded = self.fold_states(id, &sequences).await?;
            for (k, (snapshot, first)) in snapshots.into_iter().enumerate() {
                let how = match &folded {
                    Err(how) => Some(how.clone()),
                    Ok(states) => {
                        let text = serde_json::to_string(&states[k].0).map_err(|e| {
                            StoreError::defect(format!("a state did not serialise: {e}"))
                        })?;
                        let digest = state_digest(&text);
                        (digest != snapshot.digest).then(|| {
                            format!(
                                "decided on a snapshot of the state at sequence {} whose text \
                                 hashes to {}; the events up to it fold to a state hashing to \
                                 {digest}",
                                snapshot.sequence, snapshot.digest
                            )
                        })
                    }
                };
                if let Some(how) = how {
                    check.differing.push((id.to_owned(), first, how));
                }
            }
        }
        Ok(check)
    }

    /// The complaint's events folded once, with the state and chain head at each of
    /// `sequences` (ascending); `Err(how)` when they do not read or do not reach one.
    /// Reads the stored text, so that a row that is not JSON is a finding, not a
    /// failure of the check.
    async fn fold_states(
        &self,
        id: &str,
        sequences: &[i64],
    ) -> Result<Result<Vec<(Complaint, String)>, String>, StoreError> {
        let Some(&last) = sequences.last() else {
            return Ok(Ok(Vec::new()));
        };
        let sql = format!(
            "{} WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence <= $3 ORDER BY sequence",
            self.select_rows()
        );
        let rows = sqlx::query(&sql)
            .bind(Complaint::TYPE)
            .bind(id)
            .bind(last)
            .fetch_all(&self.db().any)
            .await?;
        let mut folded = Complaint::default();
        let mut states = Vec::with_capacity(sequences.len());
        let mut wanted = sequences.iter().peekable();
        for row in rows {
            let event = match self.read_row(row)? {
                Ok(event) => event,
                Err(unreadable) => return Ok(Err(unreadable.reason)),
            };
            let at = i64::try_from(event.sequence.get()).unwrap_or(i64::MAX);
            let head = event.metadata.get(HASH).cloned().unwrap_or_default();
            folded.apply(event.event);
            while wanted.peek().is_some_and(|&&w| w == at) {
                wanted.next();
                states.push((folded.clone(), head.clone()));
            }
        }
        match wanted.next() {
            None => Ok(Ok(states)),
            Some(missing) => Ok(Err(format!("the log has no event at sequence {missing}"))),
        }
    }
}

/// The SHA-256 of a state's stored text, in hex.
pub(crate) fn state_digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::chain::hex(&Sha256::digest(text.as_bytes()))
}
