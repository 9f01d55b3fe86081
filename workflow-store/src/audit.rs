//! Audit for APIP: verify the hash chain, sign and check checkpoints, export the log,
//! and rebuild a complaint as of any instant, from the stored rows alone.
//!
//! Everything here reads the events table as stored (no upcasting, no views), walking it
//! in complaint order (`aggregate_id` bytewise, then sequence) with constant memory.
//! The exact forms are documented for auditors in `docs/audit.md`.

mod checkpoint;
mod export;
mod merkle;
mod verify;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use workflow_core::ComplaintId;

use chrono::{DateTime, Utc};
use cqrs_es::EventEnvelope;
use ed25519_dalek::{SigningKey, VerifyingKey};
use futures::TryStreamExt;
use serde_json::Value;
use sqlx::Row;
use workflow_core::sla::{assess, StepAssessment};
use workflow_core::Complaint;

pub use checkpoint::{
    generate_signing_key, load_signing_key, load_verifying_key, write_signing_key, Checkpoint, Head,
};
pub use export::{read_export, ExportFormat};
pub use merkle::merkle_root;
pub use verify::{ChainVerifier, Failure, FailureKind, VerifyReport};

use crate::backend::{Db, TypedPool};
use crate::error::StoreError;
use crate::log::DecidedOn;
use crate::store::Store;

/// A complaint as of an instant, rebuilt from the log alone.
#[derive(Debug)]
pub struct History {
    /// The complaint.
    pub complaint_id: ComplaintId,
    /// The instant.
    pub as_of: DateTime<Utc>,
    /// Its state then.
    pub state: Complaint,
    /// Its SLA clocks then.
    pub sla: Vec<StepAssessment>,
    /// The events up to then (by their `at`), with their metadata.
    pub events: Vec<EventEnvelope<Complaint>>,
    /// How many events it has now.
    pub total_events: usize,
}

impl Store {
    /// Walks the whole log and checks every event's chain link and hash; with a
    /// checkpoint (whose signature and root are checked first, against `trusted` if
    /// given), also that the log still extends it. Then compares every snapshot of a
    /// complaint's state a load would use with the events it summarises
    /// ([`FailureKind::SnapshotDiffers`]).
    pub async fn verify(
        &self,
        checkpoint: Option<&Checkpoint>,
        trusted: Option<&VerifyingKey>,
        progress: impl FnMut(WalkProgress),
    ) -> Result<VerifyReport, StoreError> {
        let mut verifier = verifier_for(checkpoint, trusted)?;
        // The snapshots commands were decided on, each with the first event decided on it.
        let mut decided_on = BTreeMap::new();
        walk(
            self.log().db(),
            None,
            |row| {
                if let Ok(metadata) = &row.metadata {
                    if let Some(snapshot) = DecidedOn::of(&row.complaint_id, metadata) {
                        decided_on.entry(snapshot).or_insert(row.sequence);
                    }
                }
                verifier.push_stored(row);
                Ok(())
            },
            progress,
        )
        .await?;
        let (mut report, _) = verifier.finish();
        let skip = report
            .failures
            .iter()
            .map(|f| f.complaint_id.clone())
            .collect();
        let check = self.log().check_snapshots(&decided_on, &skip).await?;
        report.snapshots = Some(check.compared);
        report.snapshots_unchecked = Some(check.unchecked);
        for (id, sequence, reason) in check.differing {
            report.fail(&id, sequence, FailureKind::SnapshotDiffers { reason });
        }
        Ok(report)
    }

    async fn walk_with(
        &self,
        mut verifier: ChainVerifier,
        progress: impl FnMut(WalkProgress),
    ) -> Result<(VerifyReport, Vec<Head>), StoreError> {
        walk(
            self.log().db(),
            None,
            |row| {
                verifier.push_stored(row);
                Ok(())
            },
            progress,
        )
        .await?;
        Ok(verifier.finish())
    }

    /// Verifies the log and, if it verifies, signs a checkpoint of every complaint's head.
    pub async fn checkpoint(
        &self,
        key: &SigningKey,
        now: DateTime<Utc>,
        progress: impl FnMut(WalkProgress),
    ) -> Result<Checkpoint, StoreError> {
        let (report, heads) = self
            .walk_with(ChainVerifier::new().collecting_heads(), progress)
            .await?;
        if let Some(first) = report.first_failure() {
            return Err(StoreError::ChainBroken(first.to_string()));
        }
        Ok(Checkpoint::sign(
            key,
            crate::timestamp(now),
            report.head_position,
            report.events,
            heads,
        ))
    }

    /// Streams the log, or one complaint, as JSON Lines or CSV.
    pub async fn export(
        &self,
        complaint: Option<&str>,
        format: ExportFormat,
        out: &mut (dyn Write + Send),
        progress: impl FnMut(WalkProgress),
    ) -> Result<u64, StoreError> {
        export::export(self.log().db(), complaint, format, out, progress).await
    }

    /// One complaint's events exactly as the log holds them (no upcasting), in sequence
    /// order; empty if it has none.
    pub async fn raw_events(&self, complaint_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        let mut events = Vec::new();
        walk(
            self.log().db(),
            Some(complaint_id),
            |row| {
                events.push(row.parse());
                Ok(())
            },
            |_| {},
        )
        .await?;
        Ok(events)
    }

    /// A complaint's state, SLA clocks and timeline as of `as_of`, from the log alone
    /// (the views are not read): what an auditor replays.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// # use workflow_core::fixtures::{cmd, disposition, registration, upp, wib};
    /// # use workflow_core::{ComplaintCommand, ComplaintServices, Status};
    /// # use workflow_store::Store;
    /// # if cfg!(not(feature = "sqlite")) { return Ok(()); } // this example opens a file
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    /// # let store = Store::open(&url, ComplaintServices::builtin()).await?;
    /// # let id = "ADU-1".parse()?;
    /// # let register = cmd("c1", upp(), wib("2026-11-30 09:00"), ComplaintCommand::Register(registration()));
    /// # let dispose = cmd("c2", upp(), wib("2026-12-01 10:00"), ComplaintCommand::Dispose(disposition("PUPR")));
    /// # store.engine().execute(&id, register, None).await?;
    /// # store.engine().execute(&id, dispose, None).await?;
    /// // Registered on 30 November, disposed on 1 December (WIB):
    /// let then = store.history(&id, wib("2026-11-30 12:00")).await?;
    /// assert_eq!(then.state.status(), Status::Received);
    /// assert_eq!((then.events.len(), then.total_events), (1, 2));
    /// let now = store.history(&id, wib("2026-12-02 08:00")).await?;
    /// assert_eq!(now.state.status(), Status::Disposed);
    ///
    /// // And the whole log's hash chain holds:
    /// let report = store.verify(None, None, |_| {}).await?;
    /// assert_eq!((report.events, report.failures_total), (2, 0));
    /// # store.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn history(
        &self,
        complaint_id: &ComplaintId,
        as_of: DateTime<Utc>,
    ) -> Result<History, StoreError> {
        let events = self.engine().events(complaint_id).await?;
        if events.is_empty() {
            return Err(StoreError::NotFound(format!("complaint {complaint_id}")));
        }
        let total_events = events.len();
        let events = as_of_prefix(events, as_of);
        let state = Complaint::from_events(events.iter().map(|e| &e.payload));
        let services = self.engine().services();
        let sla = assess(
            state.timeline(),
            &services.calendar,
            &services.policy,
            as_of,
        );
        Ok(History {
            complaint_id: complaint_id.clone(),
            as_of,
            state,
            sla,
            events,
            total_events,
        })
    }
}

/// The events of a complaint up to the first dated after `as_of`: the complaint as it
/// stood then. A complaint's events are in time order (the domain refuses a command
/// dated before its complaint's latest event); in a log written before that rule, an
/// event dated earlier than one before it is left out with everything after the later
/// one, so that the state read is one the complaint had, never the events of a later
/// moment folded without those between.
fn as_of_prefix(
    events: Vec<EventEnvelope<Complaint>>,
    as_of: DateTime<Utc>,
) -> Vec<EventEnvelope<Complaint>> {
    events
        .into_iter()
        .take_while(|e| e.payload.at <= as_of)
        .collect()
}

/// Verifies an export offline: the same checks as [`Store::verify`], on the file.
pub fn verify_export(
    reader: impl BufRead,
    format: ExportFormat,
    checkpoint: Option<&Checkpoint>,
    trusted: Option<&VerifyingKey>,
) -> Result<VerifyReport, StoreError> {
    let mut verifier = verifier_for(checkpoint, trusted)?;
    for item in read_export(reader, format) {
        let event = item.map_err(|(line, reason)| {
            StoreError::integrity(String::new(), format!("export line {line}: {reason}"), None)
        })?;
        verifier.push(&event);
    }
    Ok(verifier.finish().0)
}

/// One stored event exactly as the log holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEvent {
    /// The complaint.
    pub complaint_id: String,
    /// Its sequence.
    pub sequence: i64,
    /// Global position.
    pub position: i64,
    /// When the database recorded it.
    pub recorded_at: String,
    /// Stored event type.
    pub event_type: String,
    /// Stored event version.
    pub event_version: String,
    /// Stored payload, or why it could not be parsed.
    pub payload: Result<Value, String>,
    /// Stored metadata, or why it could not be parsed.
    pub metadata: Result<Value, String>,
}

/// One stored row as the log holds it, its JSON columns not parsed yet: a walk parses
/// only what it needs.
pub(crate) struct StoredRow {
    pub complaint_id: String,
    pub sequence: i64,
    pub position: i64,
    pub recorded_at: String,
    pub event_type: String,
    pub event_version: String,
    /// The payload's text, or why the column could not be read as text.
    pub payload: Result<String, String>,
    /// The metadata's text, or why the column could not be read as text.
    pub metadata: Result<String, String>,
}

impl StoredRow {
    /// Its payload and metadata parsed, or why each could not be.
    pub(crate) fn parsed_json(&self) -> (Result<Value, String>, Result<Value, String>) {
        let parse = |column: &str, text: &Result<String, String>| {
            text.as_deref().map_err(Clone::clone).and_then(|t| {
                serde_json::from_str(t).map_err(|e| format!("{column} is not JSON: {e}"))
            })
        };
        (
            parse("payload", &self.payload),
            parse("metadata", &self.metadata),
        )
    }

    /// The event as stored, its JSON columns parsed.
    pub(crate) fn parse(self) -> RawEvent {
        let (payload, metadata) = self.parsed_json();
        RawEvent {
            complaint_id: self.complaint_id,
            sequence: self.sequence,
            position: self.position,
            recorded_at: self.recorded_at,
            event_type: self.event_type,
            event_version: self.event_version,
            payload,
            metadata,
        }
    }
}

/// Progress of a walk over the log: reported before the first event (`events` 0, with
/// the `total`), after every thousandth event, and after the last; not at all for an
/// empty walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkProgress {
    /// Events read so far.
    pub events: u64,
    /// Events in the walk.
    pub total: u64,
}

/// Streams the stored rows (of one complaint, or all) in complaint order to `each`.
pub(crate) async fn walk(
    db: &Db,
    complaint: Option<&str>,
    each: impl FnMut(StoredRow) -> Result<(), StoreError>,
    progress: impl FnMut(WalkProgress),
) -> Result<u64, StoreError> {
    let filter = if complaint.is_some() {
        db.one_complaint_filter()
    } else {
        String::new()
    };
    let count_sql = format!("SELECT COUNT(*) AS n FROM events WHERE aggregate_type = $1{filter}");
    let sql = db.events_by_complaint_sql("position, recorded_at, ", &filter);
    // A whole-log walk on SQLite reads straight from SQLite (decision 55); one
    // complaint's few rows (a page of the console, an HTTP request) come from the
    // store's pool, as every other short read does.
    #[cfg(feature = "sqlite")]
    if let (Some(file), None) = (&db.direct, complaint) {
        return walk_directly(file.clone(), count_sql, sql, each, progress).await;
    }
    // Through the backend's own driver, not sqlx's `Any`: `Any` converts every row,
    // its columns' names and types included, into its own form first (decision 49).
    // One transaction: on PostgreSQL a walk of a large log may rightly run longer than
    // the statement timeout of the engine's sessions.
    macro_rules! walk_with {
        ($pool:expr) => {{
            let mut tx = db.begin_walk($pool).await?;
            let mut count = sqlx::query(&count_sql).bind(workflow_core_type());
            if let Some(c) = complaint {
                count = count.bind(c);
            }
            let total: i64 = count.fetch_one(&mut *tx).await?.try_get("n")?;
            let mut query = sqlx::query(&sql).bind(workflow_core_type());
            if let Some(c) = complaint {
                query = query.bind(c);
            }
            let batches = query
                .fetch(&mut *tx)
                .map_err(StoreError::from)
                .and_then(|row| std::future::ready(stored_row(&row)))
                .try_chunks(WALK_BATCH)
                .map_err(|e| e.1);
            let n = judge(batches, total, each, progress).await?;
            tx.commit().await?;
            Ok(n)
        }};
    }
    match &db.typed {
        #[cfg(feature = "sqlite")]
        TypedPool::Sqlite(pool) => walk_with!(pool),
        #[cfg(feature = "postgres")]
        TypedPool::Postgres(pool) => walk_with!(pool),
    }
}

/// A walk of the whole log on SQLite, read straight from SQLite on a blocking thread
/// (decision 55): the rows come in batches, without a hand-off from sqlx's worker
/// thread for each.
#[cfg(feature = "sqlite")]
async fn walk_directly(
    file: crate::backend::SqliteFile,
    count_sql: String,
    sql: String,
    each: impl FnMut(StoredRow) -> Result<(), StoreError>,
    progress: impl FnMut(WalkProgress),
) -> Result<u64, StoreError> {
    use crate::log::direct::{self, Walked};
    let (send, mut walked) = tokio::sync::mpsc::channel(1);
    let mut reader = tokio::task::spawn_blocking(move || {
        direct::walk(&file, &count_sql, &sql, WALK_BATCH, &send, || {})
    });
    // The reader sends the walk's size first, or ends at an error.
    let Some(Walked::Total(total)) = walked.recv().await else {
        drop(walked);
        reader_ended(&mut reader).await?;
        return Err(StoreError::defect("a walk's reader sent no count first"));
    };
    let batches = futures::stream::unfold(walked, |mut walked| async move {
        let next = match walked.recv().await? {
            Walked::Rows(rows) => Ok(rows),
            Walked::Total(_) => Err(StoreError::defect("a walk's reader sent a second count")),
        };
        Some((next, walked))
    });
    let n = judge(batches, total, each, progress).await?;
    // The rows end when the reader does: at the end of the walk, or at an error or a
    // panic, which must not pass for the end.
    reader_ended(&mut reader).await?;
    Ok(n)
}

/// How a walk's reader ended: its error, a defect if it panicked, unavailable if the
/// runtime cancelled it (shutting down).
#[cfg(feature = "sqlite")]
async fn reader_ended(
    reader: &mut tokio::task::JoinHandle<Result<(), StoreError>>,
) -> Result<(), StoreError> {
    match reader.await {
        Ok(ended) => ended,
        Err(e) if e.is_cancelled() => Err(StoreError::unavailable(
            "a walk's reader was cancelled: the process is shutting down",
        )),
        Err(e) => Err(StoreError::defect(format!("a walk's reader failed: {e}"))),
    }
}

/// Hands the rows to `each` in order, with progress, a batch at a time: a batch of
/// rows is taken from the database and then judged, rather than each row as it
/// arrives (sqlx hands SQLite's rows across from its worker thread through a small
/// channel, and a consumer slower than that thread would wake it for every row it
/// takes; the walk that reads SQLite directly sends its rows in batches). Ends at the
/// stream's first error, or its end.
async fn judge(
    batches: impl futures::Stream<Item = Result<Vec<StoredRow>, StoreError>>,
    total: i64,
    mut each: impl FnMut(StoredRow) -> Result<(), StoreError>,
    mut progress: impl FnMut(WalkProgress),
) -> Result<u64, StoreError> {
    let mut batches = std::pin::pin!(batches);
    let mut n = 0u64;
    let total = u64::try_from(total).unwrap_or_default();
    // The size of the walk is known before the first event: a watcher can say "0 of N".
    if total > 0 {
        progress(WalkProgress { events: 0, total });
    }
    while let Some(batch) = batches.try_next().await? {
        for row in batch {
            each(row)?;
            n += 1;
            if n.is_multiple_of(1000) || n == total {
                progress(WalkProgress { events: n, total });
            }
        }
    }
    Ok(n)
}

/// A stored row as a walk reads it, from either backend's driver.
fn stored_row<R: Row>(row: &R) -> Result<StoredRow, StoreError>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    use sqlx::{TypeInfo, ValueRef};
    let text = |column: &str| -> Result<String, String> {
        row.try_get(column)
            .map_err(|e: sqlx::Error| match row.try_get_raw(column) {
                Ok(raw) if raw.is_null() => not_text(column, "NULL"),
                Ok(raw) => not_text(column, &raw.type_info().name().to_uppercase()),
                Err(_) => e.to_string(),
            })
    };
    Ok(StoredRow {
        complaint_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        position: row.try_get::<Option<i64>, _>("position")?.unwrap_or(0),
        recorded_at: row
            .try_get::<Option<String>, _>("recorded_at")?
            .unwrap_or_default(),
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: text("payload"),
        metadata: text("metadata"),
    })
}

/// Why a JSON column of a stored row is not text, in the same words whichever driver
/// read it: `kind` is the type the database names for the value it holds (`TEXT` when
/// it holds text that is not UTF-8).
pub(crate) fn not_text(column: &str, kind: &str) -> String {
    match kind {
        "TEXT" => format!("{column} is not UTF-8 text"),
        "NULL" => format!("{column} is NULL, not text"),
        other => format!("{column} holds {other}, not text"),
    }
}

/// Rows a walk takes from the database before judging them.
const WALK_BATCH: usize = 1000;

fn workflow_core_type() -> &'static str {
    <workflow_core::Complaint as cqrs_es::Aggregate>::TYPE
}

/// A verifier of the chain, and of a checkpoint (its signature and root checked first,
/// against `trusted` if given) when one is given.
fn verifier_for(
    checkpoint: Option<&Checkpoint>,
    trusted: Option<&VerifyingKey>,
) -> Result<ChainVerifier, StoreError> {
    let verifier = ChainVerifier::new();
    match checkpoint {
        None => Ok(verifier),
        Some(cp) => {
            cp.check(trusted)?;
            Ok(verifier.against(cp.position, cp.heads.clone()))
        }
    }
}

/// Stored rows for the walks' unit tests.
#[cfg(test)]
pub(crate) mod test_rows {
    use serde_json::Value;

    use super::StoredRow;
    use crate::chain::{canonical_json, event_hash, ChainInput};

    /// A complaint's first event (`Received`, version 1) as the log stores it.
    pub(crate) fn received(
        complaint_id: &str,
        position: i64,
        payload: &str,
        metadata: &str,
    ) -> StoredRow {
        StoredRow {
            complaint_id: complaint_id.to_owned(),
            sequence: 1,
            position,
            recorded_at: "2026-11-30T01:00:00.000000Z".to_owned(),
            event_type: "Received".to_owned(),
            event_version: "1".to_owned(),
            payload: Ok(payload.to_owned()),
            metadata: Ok(metadata.to_owned()),
        }
    }

    /// The canonical texts of a valid first event of `complaint_id`: `payload`, and
    /// `metadata` (without `hash`) with its `hash` added, as the engine writes them.
    pub(crate) fn hashed(
        complaint_id: &str,
        payload: &Value,
        mut metadata: Value,
    ) -> (String, String) {
        let hash = event_hash(&ChainInput {
            aggregate_type: "complaint",
            aggregate_id: complaint_id,
            sequence: 1,
            event_type: "Received",
            event_version: "1",
            payload,
            metadata: &metadata,
        });
        metadata["hash"] = Value::String(hash);
        (canonical_json(payload), canonical_json(&metadata))
    }
}

#[cfg(test)]
mod as_of_tests {
    use super::*;
    use std::collections::HashMap;
    use workflow_core::complaint::command::ComplaintCommand;
    use workflow_core::fixtures::{cmd, disposition, registration, upp, wib};

    fn envelope(sequence: usize, event: workflow_core::ComplaintEvent) -> EventEnvelope<Complaint> {
        EventEnvelope {
            aggregate_id: "ADU-1".into(),
            sequence,
            payload: event,
            metadata: HashMap::new(),
        }
    }

    #[test]
    fn as_of_reads_a_prefix_of_the_log_even_when_an_older_log_is_out_of_time_order() {
        let services = workflow_core::ComplaintServices::builtin();
        let mut complaint = Complaint::default();
        let mut events = Vec::new();
        // Registered at 09:00 and disposed at 11:00; then, as a log written before the
        // time-order rule may hold, a second disposition dated 10:00.
        for (id, at, command) in [
            (
                "c1",
                "2026-11-30 09:00",
                ComplaintCommand::Register(registration()),
            ),
            (
                "c2",
                "2026-11-30 11:00",
                ComplaintCommand::Dispose(disposition("PUPR")),
            ),
        ] {
            let decided = complaint
                .decide(&cmd(id, upp(), wib(at), command), &services)
                .unwrap();
            for e in decided {
                complaint.apply_event(&e);
                events.push(envelope(events.len() + 1, e));
            }
        }
        let mut late = events[1].payload.clone();
        late.at = wib("2026-11-30 10:00");
        late.body = workflow_core::EventBody::Disposed(disposition("DISHUB"));
        events.push(envelope(3, late));
        let read = as_of_prefix(events, wib("2026-11-30 10:30"));
        let sequences: Vec<usize> = read.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, [1], "only the registration stood at 10:30");
    }
}
