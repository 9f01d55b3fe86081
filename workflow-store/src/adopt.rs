//! Adopting a plain sqlite-es or postgres-es store of complaints: the one way a database
//! that is not the engine's becomes the engine's, and only on purpose.
//!
//! A plain store has the crates' `events` table and nothing of ours: no global
//! position, no hash chain, no marker. Adopting it, in **one transaction**:
//!
//! 1. checks every row: the aggregate type is `complaint`, each complaint's sequences
//!    run 1, 2, 3…, each payload reads as a complaint event of the type its row names,
//!    each metadata is a JSON object without `prev_hash` or `hash`;
//! 2. computes the hash chain of every complaint exactly as a commit does
//!    ([`crate::chain`]): the metadata as it was, plus `prev_hash`, plus `hash`;
//! 3. moves the old table aside, runs the migrations (a fresh `events` table with our
//!    columns and triggers), marks the database as ours;
//! 4. inserts every event, payload unchanged, with its chained metadata, in a fixed
//!    order: by the instant the event records (`at`), then complaint id; a complaint's
//!    events keep their sequence order. The insert trigger numbers them 1, 2, 3… in that
//!    order and sets `recorded_at` to the time of adoption, as it does for every append;
//! 5. drops the old table.
//!
//! Anything wrong on the way (an unreadable row, another aggregate type, a failing
//! migration) rolls all of it back: the store is as it was. The old program's other
//! tables (`snapshots`, its views) are left as they were; the engine never reads them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde_json::Value;
use sqlx::{AnyConnection, Connection, Executor, Row};
use workflow_core::{Complaint, ComplaintEvent};

use crate::backend::{BackendKind, Db, Purpose};
use crate::chain::{event_hash, ChainInput, GENESIS, HASH, PREV_HASH};
use crate::error::StoreError;
use crate::identity::Identity;
use crate::options::StoreOptions;
use crate::store::Store;

/// What [`Store::adopt`] brought over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdoptReport {
    /// Events numbered, chained and kept.
    pub events: u64,
    /// Complaints they belong to.
    pub complaints: u64,
    /// The old program's other tables, left as they were (the engine never reads them).
    pub left_as_they_were: Vec<String>,
}

/// The old table while the new one is filled.
const ASIDE: &str = "aduan_adopted_events";

fn complaint_type() -> &'static str {
    <Complaint as cqrs_es::Aggregate>::TYPE
}

/// Why a database cannot be adopted (`None` for a plain cqrs-es store).
pub(crate) fn refusal(identity: &Identity, database: &str) -> Option<StoreError> {
    let reason = match identity {
        Identity::PlainCqrsEs { .. } => return None,
        Identity::Foreign { .. } => return identity.refusal(database),
        Identity::Ours | Identity::Earlier => "it is an aduan database already",
        Identity::Empty => "it holds no event store",
    };
    Some(StoreError::NotAdoptable {
        database: database.to_owned(),
        reason: reason.to_owned(),
    })
}

impl Store {
    /// Brings a plain sqlite-es or postgres-es store of complaints under the engine (see
    /// the module documentation of `adopt` for exactly what happens), or refuses it
    /// unchanged: another program's database with [`StoreError::ForeignDatabase`], one
    /// that cannot be brought over with [`StoreError::NotAdoptable`] naming the complaint
    /// and sequence at fault. Open the store afterwards as usual; the views are built
    /// from position 0.
    pub async fn adopt(url: &str) -> Result<AdoptReport, StoreError> {
        let db = Db::connect(url, Purpose::Adopt, &StoreOptions::default()).await?;
        let result = adopt(&db).await;
        db.close().await;
        result
    }
}

/// One event to bring over.
struct Entry {
    complaint: usize,
    sequence: i64,
    at: DateTime<Utc>,
    metadata: String,
}

async fn adopt(db: &Db) -> Result<AdoptReport, StoreError> {
    let mut conn = db.any.acquire().await?;
    match db.kind {
        BackendKind::Sqlite => adopt_locked(db, &mut conn).await,
        BackendKind::Postgres => {
            // The engine's migration lock: no host migrates while the store is adopted.
            conn.execute("SELECT pg_advisory_lock(727274263)").await?;
            let result = adopt_locked(db, &mut conn).await;
            conn.execute("SELECT pg_advisory_unlock(727274263)").await?;
            result
        }
    }
}

async fn adopt_locked(db: &Db, conn: &mut AnyConnection) -> Result<AdoptReport, StoreError> {
    let not_adoptable = |reason: String| StoreError::NotAdoptable {
        database: db.name.clone(),
        reason,
    };
    // PostgreSQL: look before the transaction (a failed look must not abort it), then
    // keep the old program from appending while its table is moved aside. SQLite: the
    // write transaction already keeps every other writer out.
    let (mut tx, identity) = match db.kind {
        BackendKind::Postgres => {
            let identity = crate::identity::probe(conn, db.kind).await?;
            if let Some(refusal) = refusal(&identity, &db.name) {
                return Err(refusal);
            }
            let mut tx = conn.begin().await?;
            db.unbounded_statements(&mut tx).await?;
            tx.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
                .await?;
            let identity = crate::identity::probe(&mut tx, db.kind).await?;
            (tx, identity)
        }
        BackendKind::Sqlite => {
            let mut tx = conn.begin_with(db.begin_write()).await?;
            let identity = crate::identity::probe(&mut tx, db.kind).await?;
            (tx, identity)
        }
    };
    if let Some(refusal) = refusal(&identity, &db.name) {
        return Err(refusal);
    }
    let Identity::PlainCqrsEs { tables } = identity else {
        return Err(not_adoptable("it is not a plain cqrs-es store".into()));
    };

    let others = sqlx::query(
        "SELECT aggregate_type, COUNT(*) AS n FROM events WHERE aggregate_type <> $1 \
         GROUP BY aggregate_type ORDER BY aggregate_type",
    )
    .bind(complaint_type())
    .fetch_all(&mut *tx)
    .await?;
    if !others.is_empty() {
        let listed = others
            .iter()
            .map(|r| {
                Ok(format!(
                    "{} ({})",
                    r.try_get::<String, _>("aggregate_type")?,
                    r.try_get::<i64, _>("n")?
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        return Err(not_adoptable(format!(
            "its events table also holds events of other aggregate types: {}; \
             only a store of complaints can be adopted",
            listed.join(", ")
        )));
    }

    let (complaints, entries) = read_and_chain(db, &mut tx).await.map_err(|e| match e {
        StoreError::Integrity { reason, .. } => not_adoptable(reason),
        other => other,
    })?;

    // Move the old table aside, with its indexes (PostgreSQL names them per schema).
    tx.execute(format!("ALTER TABLE events RENAME TO {ASIDE}").as_str())
        .await?;
    if db.kind == BackendKind::Postgres {
        let indexes: Vec<String> = sqlx::query(
            "SELECT indexname::text AS name FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = $1 ORDER BY 1",
        )
        .bind(ASIDE)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("name"))
        .collect::<Result<_, _>>()?;
        for (i, index) in indexes.iter().enumerate() {
            tx.execute(
                format!(
                    "ALTER INDEX \"{}\" RENAME TO {ASIDE}_{i}",
                    index.replace('"', "\"\"")
                )
                .as_str(),
            )
            .await?;
        }
    }
    crate::identity::mark(&mut tx, db.kind).await?;
    db.run_migrations(&mut tx).await?;

    let insert = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, {} \
         FROM {ASIDE} WHERE aggregate_type = $2 AND aggregate_id = $3 AND sequence = $4",
        match db.kind {
            BackendKind::Sqlite => "$1",
            BackendKind::Postgres => "$1::json",
        }
    );
    let order = commit_order(&complaints, &entries);
    for &i in &order {
        let e = &entries[i];
        let done = sqlx::query(&insert)
            .bind(&e.metadata)
            .bind(complaint_type())
            .bind(&complaints[e.complaint])
            .bind(e.sequence)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(not_adoptable(format!(
                "complaint {} sequence {} changed while it was adopted",
                complaints[e.complaint], e.sequence
            )));
        }
    }
    let left: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {ASIDE}"))
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    if usize::try_from(left).ok() != Some(entries.len()) {
        return Err(not_adoptable(format!(
            "the old table holds {left} events, {} were brought over",
            entries.len()
        )));
    }
    tx.execute(format!("DROP TABLE {ASIDE}").as_str()).await?;
    // History calls for no notification now: the outbox starts at the adopted head.
    tx.execute(
        "UPDATE projection_checkpoints SET position = (SELECT COALESCE(MAX(position), 0) FROM events) WHERE name = 'outbox'",
    )
    .await?;
    tx.commit().await?;
    Ok(AdoptReport {
        events: entries.len() as u64,
        complaints: complaints.len() as u64,
        left_as_they_were: tables.into_iter().filter(|t| t != "events").collect(),
    })
}

/// Reads every complaint event in complaint order, checks it, and computes its chained
/// metadata the way [`crate::log::SqlLog`]'s commit does. Returns the complaint ids and
/// the entries (in complaint order, then sequence).
async fn read_and_chain(
    db: &Db,
    conn: &mut AnyConnection,
) -> Result<(Vec<String>, Vec<Entry>), StoreError> {
    let sql = db.events_by_complaint_sql("", "");
    let mut rows = sqlx::query(&sql).bind(complaint_type()).fetch(&mut *conn);
    let mut complaints: Vec<String> = Vec::new();
    let mut entries = Vec::new();
    let mut prev_hash = GENESIS.to_owned();
    let mut last_sequence = 0i64;
    while let Some(row) = rows.try_next().await? {
        let id: String = row.try_get("aggregate_id")?;
        let sequence: i64 = row.try_get("sequence")?;
        let event_type: String = row.try_get("event_type")?;
        let event_version: String = row.try_get("event_version")?;
        if complaints.last() != Some(&id) {
            complaints.push(id.clone());
            prev_hash = GENESIS.to_owned();
            last_sequence = 0;
        }
        let fault = |reason: String| {
            StoreError::integrity(
                id.clone(),
                format!(
                    "complaint {id} sequence {sequence} ({event_type} v{event_version}): {reason}"
                ),
                None,
            )
        };
        // Ids are checked where they enter; adopting a store is such a place.
        if let Err(e) = workflow_core::ComplaintId::new(id.as_str()) {
            return Err(fault(e.to_string()));
        }
        if sequence != last_sequence + 1 {
            return Err(fault(format!(
                "expected sequence {} (an event is missing or repeated)",
                last_sequence + 1
            )));
        }
        last_sequence = sequence;
        let payload: Value = serde_json::from_str(&row.try_get::<String, _>("payload")?)
            .map_err(|e| fault(format!("the payload is not JSON: {e}")))?;
        let event: ComplaintEvent = serde_json::from_value(payload.clone())
            .map_err(|e| fault(format!("the payload is not a complaint event: {e}")))?;
        if cqrs_es::DomainEvent::event_type(&event) != event_type {
            return Err(fault(format!(
                "the payload is a {}",
                cqrs_es::DomainEvent::event_type(&event)
            )));
        }
        let mut metadata: Value = serde_json::from_str(&row.try_get::<String, _>("metadata")?)
            .map_err(|e| fault(format!("the metadata is not JSON: {e}")))?;
        let Value::Object(map) = &mut metadata else {
            return Err(fault("the metadata is not a JSON object".into()));
        };
        if map.contains_key(HASH) || map.contains_key(PREV_HASH) {
            return Err(fault(format!(
                "the metadata already has `{PREV_HASH}` or `{HASH}`; adopt does not overwrite them"
            )));
        }
        map.insert(PREV_HASH.to_owned(), Value::String(prev_hash.clone()));
        let hash = event_hash(&ChainInput {
            aggregate_type: complaint_type(),
            aggregate_id: &id,
            sequence: u64::try_from(sequence).unwrap_or_default(),
            event_type: &event_type,
            event_version: &event_version,
            payload: &payload,
            metadata: &metadata,
        });
        metadata[HASH] = Value::String(hash.clone());
        prev_hash = hash;
        entries.push(Entry {
            complaint: complaints.len() - 1,
            sequence,
            at: event.at,
            metadata: metadata.to_string(),
        });
    }
    Ok((complaints, entries))
}

/// The order the adopted events are numbered in: by the instant each records, then
/// complaint id; a complaint's events never overtake one another.
fn commit_order(complaints: &[String], entries: &[Entry]) -> Vec<usize> {
    // Each complaint's entries are contiguous and in sequence order.
    let mut starts = vec![entries.len(); complaints.len()];
    for (i, e) in entries.iter().enumerate().rev() {
        starts[e.complaint] = i;
    }
    let mut heap = BinaryHeap::new();
    for (c, &start) in starts.iter().enumerate() {
        if start < entries.len() {
            heap.push(Reverse((entries[start].at, complaints[c].as_str(), start)));
        }
    }
    let mut order = Vec::with_capacity(entries.len());
    while let Some(Reverse((_, id, i))) = heap.pop() {
        order.push(i);
        let next = i + 1;
        if next < entries.len() && entries[next].complaint == entries[i].complaint {
            heap.push(Reverse((entries[next].at, id, next)));
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn adopted_events_are_ordered_by_their_instant_and_never_overtake_their_own() {
        let t = |h: u32| Utc.with_ymd_and_hms(2026, 11, 30, h, 0, 0).unwrap();
        let complaints = vec!["A".to_owned(), "B".to_owned()];
        let entry = |complaint, sequence, at| Entry {
            complaint,
            sequence,
            at,
            metadata: String::new(),
        };
        // A's second event claims an earlier instant than its first (a skewed clock):
        // it still comes after it.
        let entries = vec![
            entry(0, 1, t(9)),
            entry(0, 2, t(7)),
            entry(0, 3, t(12)),
            entry(1, 1, t(8)),
            entry(1, 2, t(9)),
        ];
        let order = commit_order(&complaints, &entries);
        let named: Vec<(&str, i64)> = order
            .iter()
            .map(|&i| {
                (
                    complaints[entries[i].complaint].as_str(),
                    entries[i].sequence,
                )
            })
            .collect();
        assert_eq!(
            named,
            vec![("B", 1), ("A", 1), ("A", 2), ("B", 2), ("A", 3)]
        );
    }
}
