//! Replay: a projection rebuilt from the whole log into its `_rebuild` tables while the
//! live tables keep serving, then switched over in one transaction.

use std::sync::Arc;

use chrono::Utc;

use super::replay_lock::ReplayLock;
use super::twin_indexes;
use super::{lock_checkpoint, Projector, ReplayProgress, Target};
use crate::backend::BackendKind;
use crate::error::StoreError;
use crate::log::{SqlLog, StoredEvent};
use crate::position::Position;
use crate::timestamp;

/// Events per transaction of a replay's first pass (the live projector's batches are
/// smaller, to keep its transactions short).
pub(super) const REPLAY_BATCH: i64 = 2_000;

/// How often a switch-over the database could not finish (a deadlock with a reader) is
/// tried before the replay gives up.
const SWITCH_OVER_TRIES: u64 = 3;

/// Batches of the log from its start through `head`, read and decoded by a task of
/// their own one batch ahead of the caller, so that reading the next batch overlaps
/// writing the last. At most two batches are in memory besides the one being
/// written. The task ends after a batch short of its limit (in log order it may have
/// read past `head` by then; complaint by complaint it reads nothing past it), at the
/// first error (which it passes on), or when the receiver is dropped.
struct ReadAhead {
    batches: tokio::sync::mpsc::Receiver<Batch>,
    task: tokio::task::JoinHandle<()>,
}

impl ReadAhead {
    async fn next(&mut self) -> Option<Batch> {
        self.batches.recv().await
    }

    /// After the last batch: whether the reader ended as it should. One that died (a
    /// panic, say in an embedder's upcaster) ends the batches too, and would otherwise
    /// pass for the end of the log, the views switched over without the rest.
    async fn finished(&mut self) -> Result<(), StoreError> {
        match (&mut self.task).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_panic() => {
                let panic = e.into_panic();
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                Err(StoreError::defect(format!(
                    "the replay's reader failed ({what}); nothing was switched over"
                )))
            }
            Err(e) => Err(StoreError::defect(format!(
                "the replay's reader was stopped ({e}); nothing was switched over"
            ))),
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The order a replay's first pass reads the log in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// The whole log in its order.
    Log,
    /// Complaint by complaint, each complaint's events in their order (for a projection
    /// that allows it: [`super::Projection::replays_by_complaint`]).
    ByComplaint,
}

/// A batch of the log as a replay's reader passes it on.
type Batch = Result<Vec<StoredEvent>, StoreError>;

/// Where a replay's first pass has read to.
struct Cursor {
    order: Order,
    head: Position,
    limit: i64,
    /// The last event read, in log order.
    position: Position,
    /// The last event read, complaint by complaint: its complaint and sequence.
    after: (String, i64),
}

impl Cursor {
    fn new(head: Position, limit: i64, order: Order) -> Self {
        Self {
            order,
            head,
            limit,
            position: Position::ZERO,
            after: (String::new(), 0),
        }
    }

    /// Whether the log is read through `head` already, before a read.
    fn at_end(&self) -> bool {
        self.order == Order::Log && self.position >= self.head
    }

    /// Moves past a read's batch; the batch to pass on, and whether more may follow
    /// it (none after an error, an empty batch or a short one).
    fn took(&mut self, read: Batch) -> (Batch, bool) {
        let events = match read {
            Ok(events) => events,
            Err(e) => return (Err(e), false),
        };
        let Some(last) = events.last() else {
            return (Ok(events), false);
        };
        self.position = last.position;
        self.after = (
            last.complaint_id.as_str().to_owned(),
            crate::codec::sequence_column(last.sequence),
        );
        let more = (events.len() as i64) == self.limit;
        (Ok(events), more)
    }
}

fn read_ahead(log: SqlLog, head: Position, limit: i64, order: Order) -> ReadAhead {
    let (send, batches) = tokio::sync::mpsc::channel(1);
    let mut cursor = Cursor::new(head, limit, order);
    #[cfg(feature = "sqlite")]
    if log.db().direct.is_some() {
        // Straight from SQLite, on a thread of its own (decision 54). The thread ends
        // as the task would: after the last batch, at an error, or when the receiver
        // is dropped (its next send fails).
        let task = tokio::task::spawn_blocking(move || {
            let reader = match crate::log::direct::DirectReader::open(&log) {
                Ok(reader) => reader,
                Err(e) => {
                    let _ = send.blocking_send(Err(e));
                    return;
                }
            };
            while !cursor.at_end() && !send.is_closed() {
                let events = match order {
                    Order::Log => reader.after(cursor.position, limit),
                    Order::ByComplaint => {
                        reader.by_complaint((&cursor.after.0, cursor.after.1), head, limit)
                    }
                };
                let (events, more) = cursor.took(events);
                if send.blocking_send(events).is_err() || !more {
                    return;
                }
            }
        });
        return ReadAhead { batches, task };
    }
    let task = tokio::spawn(async move {
        let mut conn = match log.db().any.acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                let _ = send.send(Err(e.into())).await;
                return;
            }
        };
        while !cursor.at_end() && !send.is_closed() {
            let events = match order {
                Order::Log => log.read_after(&mut conn, cursor.position, limit).await,
                Order::ByComplaint => {
                    log.read_by_complaint(&mut conn, (&cursor.after.0, cursor.after.1), head, limit)
                        .await
                }
            };
            let (events, more) = cursor.took(events);
            if send.send(events).await.is_err() || !more {
                return;
            }
        }
    });
    ReadAhead { batches, task }
}

impl Projector {
    /// Rebuilds one projection from position 0 into its `_rebuild` tables, then switches
    /// over in one transaction, exchanging each table with its twin (nothing is copied);
    /// readers see the old views until the switch. The old views, now the twins, are
    /// emptied afterwards. On PostgreSQL the exchange waits for the views' readers, and
    /// holds new ones up until it commits; a reader that keeps a view for longer than
    /// three of the session's lock timeouts makes the replay fail as unavailable, with
    /// the views unchanged.
    ///
    /// The twins are judged with the settings in force when the replay began; should
    /// another process change them meanwhile, the switch-over is abandoned and the
    /// replay starts over (after three such changes it gives up, unavailable).
    ///
    /// One replay of a projection runs at a time on a database: while one runs, from
    /// this host or another, a second is refused at once as
    /// [`StoreError::Unavailable`], having changed nothing. The lock goes with the
    /// replay however it ends (a file lock beside a SQLite database, a session advisory
    /// lock on PostgreSQL: see `docs/operations.md`).
    pub async fn rebuild(
        &self,
        name: &str,
        mut progress: impl FnMut(ReplayProgress) + Send,
    ) -> Result<u64, StoreError> {
        self.db().writable("rebuilding a projection")?;
        let projection = Arc::clone(self.projection(name)?);
        // One replay of a projection at a time on the database: a second would empty
        // the twins under this one. Held to the end, released when the replay fails or
        // is dropped too.
        let lock = ReplayLock::take(self.db(), name).await?;
        let replayed = self.rebuild_locked(&projection, &mut progress, &lock).await;
        lock.release().await;
        replayed
    }

    /// [`Projector::rebuild`] under the projection's replay lock.
    async fn rebuild_locked(
        &self,
        projection: &Arc<dyn super::Projection>,
        progress: &mut (impl FnMut(ReplayProgress) + Send),
        lock: &ReplayLock,
    ) -> Result<u64, StoreError> {
        let name = projection.name();
        for _ in 0..3 {
            if let Some(applied) = self.rebuild_once(projection, progress, lock).await? {
                return Ok(applied);
            }
            tracing::warn!(
                projection = name,
                "the settings changed during the replay; starting over"
            );
        }
        Err(StoreError::Unavailable {
            reason: format!("the settings kept changing while {name} was replayed; run it again"),
            source: None,
        })
    }

    /// One replay; `None` when the settings changed before the switch-over, which then
    /// changed nothing.
    async fn rebuild_once(
        &self,
        projection: &Arc<dyn super::Projection>,
        progress: &mut (impl FnMut(ReplayProgress) + Send),
        lock: &ReplayLock,
    ) -> Result<Option<u64>, StoreError> {
        let name = projection.name();
        let db = self.db();
        let services = self.services.refresh().await?;
        let head = self.log.head().await?;
        let total = self.log.count_through(head).await?;
        // The twins are filled without their secondary indexes, which are made once
        // they are full (decision 46); whatever an earlier replay left in them goes.
        let deferred = self.defer_twin_indexes(projection.as_ref(), lock).await?;
        self.empty_twins(projection.as_ref(), lock).await?;
        let mut position = Position::ZERO;
        let mut applied = 0u64;
        // A projection that allows it is given the log through `head` complaint by
        // complaint: a batch then touches a few hundred complaints, not up to a batch's
        // count of them, each read, decoded and written back once per batch it is in.
        let order = if projection.replays_by_complaint() {
            Order::ByComplaint
        } else {
            Order::Log
        };
        // Replay in batches, each its own transaction, while live projection goes on.
        // A reader task of its own reads and decodes the next batch (on a connection of
        // its own) while this one writes the last: the two overlap.
        let mut batches = read_ahead(
            self.log.clone(),
            head,
            self.replay_batch.load(std::sync::atomic::Ordering::Relaxed),
            order,
        );
        while let Some(events) = batches.next().await {
            let events = events?;
            let Some(last) = events.last().map(|e| e.position) else {
                break;
            };
            let turn = db.writer().await;
            let mut tx = db.begin_writing(db.projecting()).await?;
            projection
                .apply(&mut tx, Target::Rebuild, &events, &services)
                .await?;
            lock.confirm_in(&mut tx).await?;
            tx.commit().await?;
            drop(turn);
            if order == Order::Log {
                position = last;
            }
            applied += events.len() as u64;
            // Freeing a batch's events (tens of thousands of small allocations, made on
            // the reader's thread) took about a seventh of a replay on SQLite: a thread
            // of the blocking pool frees them there while this one writes the next
            // batch (decision 54). On PostgreSQL, where the reader is a task on the
            // runtime, freeing them so made no difference: they are freed here.
            if db.kind == BackendKind::Sqlite {
                tokio::task::spawn_blocking(move || drop(events));
            }
            progress(ReplayProgress {
                position,
                head,
                events: applied,
                total,
            });
        }
        batches.finished().await?;
        drop(batches);
        self.make_twin_indexes(name, &deferred, lock).await?;
        if order == Order::ByComplaint {
            // Every complaint's events through `head` are applied: the catch-up goes on
            // from there, in log order.
            position = head;
        }
        // Switch over. On PostgreSQL the renames wait for the views' readers (at most
        // the session's lock timeout), and a reader of two views may hold one while
        // waiting for the other, which the switch-over holds: the database then ends
        // one of the two transactions, most likely the switch-over, which waited first.
        // A switch-over that failed before its commit changed nothing: it is tried
        // again. One whose commit failed may have committed, so it is not.
        let mut tries = 0;
        let (position, applied) = loop {
            tries += 1;
            let mut committing = false;
            match self
                .switch_over(
                    projection,
                    &services,
                    position,
                    applied,
                    &mut committing,
                    lock,
                )
                .await
            {
                Err(StoreError::Unavailable { .. }) if tries < SWITCH_OVER_TRIES && !committing => {
                    tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
                }
                Err(e) => return Err(e),
                Ok(None) => return Ok(None),
                Ok(Some(done)) => break done,
            }
        };
        self.applied.notify_waiters();
        // The old views, now the twins, are emptied in a transaction of their own: the
        // switch-over need not wait for it, nor hold the writer through it. Should it
        // fail, the replay is done all the same: the next one empties them first.
        if let Err(e) = self.empty_twins(projection.as_ref(), lock).await {
            tracing::warn!(projection = name, error = %e, "the old views could not be emptied; the next replay will");
        }
        progress(ReplayProgress {
            position,
            head: position.max(head),
            events: applied,
            total,
        });
        Ok(Some(applied))
    }

    /// Drops the secondary indexes of the projection's twins, in a transaction of its
    /// own, and returns what makes them again. Not for a projection whose tables the
    /// store makes from its `schema` at each open (an embedding service's): those
    /// statements would make a twin's missing index again under its name, which after
    /// an odd number of replays is on the view, so its twins keep their indexes.
    async fn defer_twin_indexes(
        &self,
        projection: &dyn super::Projection,
        lock: &ReplayLock,
    ) -> Result<Vec<String>, StoreError> {
        let db = self.db();
        if !projection.schema(db.kind, Target::Live).is_empty()
            || !projection.schema(db.kind, Target::Rebuild).is_empty()
        {
            return Ok(Vec::new());
        }
        let _turn = db.writer().await;
        let mut tx = db.begin_writing(db.projecting()).await?;
        let deferred = twin_indexes::defer(db, &mut tx, projection.tables()).await?;
        lock.confirm_in(&mut tx).await?;
        tx.commit().await?;
        Ok(deferred)
    }

    /// Makes the twins' deferred indexes, each in a transaction of its own: on SQLite
    /// the log's appends wait for one index at a time, not for all of them.
    async fn make_twin_indexes(
        &self,
        name: &str,
        deferred: &[String],
        lock: &ReplayLock,
    ) -> Result<(), StoreError> {
        if deferred.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let db = self.db();
        for statement in deferred {
            let _turn = db.writer().await;
            let mut tx = db.begin_writing(db.projecting()).await?;
            db.unbounded_statements(&mut tx).await?;
            sqlx::query(statement).execute(&mut *tx).await?;
            lock.confirm_in(&mut tx).await?;
            tx.commit().await?;
        }
        tracing::info!(
            projection = name,
            indexes = deferred.len(),
            seconds = started.elapsed().as_secs_f64(),
            "the replayed views' indexes are made"
        );
        Ok(())
    }

    /// Empties the projection's twins, in a transaction of its own.
    async fn empty_twins(
        &self,
        projection: &dyn super::Projection,
        lock: &ReplayLock,
    ) -> Result<(), StoreError> {
        let db = self.db();
        let _turn = db.writer().await;
        let mut tx = db.begin_writing(db.projecting()).await?;
        db.unbounded_statements(&mut tx).await?;
        for table in projection.tables() {
            let twin = Target::Rebuild.table(table);
            let sql = match db.kind {
                BackendKind::Postgres => format!("TRUNCATE {twin}"),
                BackendKind::Sqlite => format!("DELETE FROM {twin}"),
            };
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        lock.confirm_in(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Holds the checkpoint, catches the twins up from `position`, and exchanges each of
    /// the projection's tables with its twin by renaming them, in one transaction: the
    /// tables the replay filled become the views, each with its indexes, and no row is
    /// copied, so the switch-over takes as long for a million complaints as for ten.
    /// `None` when the settings changed since the replay began (nothing is changed);
    /// else the position and the count of events applied, the catch-up's included.
    async fn switch_over(
        &self,
        projection: &Arc<dyn super::Projection>,
        services: &workflow_core::ComplaintServices,
        mut position: Position,
        mut applied: u64,
        committing: &mut bool,
        lock: &ReplayLock,
    ) -> Result<Option<(Position, u64)>, StoreError> {
        let name = projection.name();
        let db = self.db();
        let _turn = db.writer().await;
        let mut tx = db.begin_writing(db.projecting()).await?;
        db.unbounded_statements(&mut tx).await?;
        lock_checkpoint(db, &mut tx, name).await?;
        let now = self.services.refresh_in(&mut tx).await?;
        if crate::settings::basis(&now) != crate::settings::basis(services) {
            tx.rollback().await?;
            return Ok(None);
        }
        loop {
            let events = self
                .log
                .read_after(&mut tx, position, self.batch_size)
                .await?;
            let Some(last) = events.last().map(|e| e.position) else {
                break;
            };
            projection
                .apply(&mut tx, Target::Rebuild, &events, services)
                .await?;
            position = last;
            applied += events.len() as u64;
        }
        if db.kind == BackendKind::Postgres {
            // Every table of the exchange at once, after the catch-up (which writes
            // only the twins) and before any is renamed: readers of the views wait only
            // for the renames and the commit. SQLite's writer lock, held since `BEGIN
            // IMMEDIATE`, already covers them all, and its readers read their snapshot.
            let tables: Vec<String> = projection
                .tables()
                .iter()
                .flat_map(|t| [(*t).to_owned(), Target::Rebuild.table(t)])
                .collect();
            sqlx::query(&format!(
                "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
                tables.join(", ")
            ))
            .execute(&mut *tx)
            .await?;
        }
        // Still this replay's to switch over: a replay begun after its lock was lost
        // waits, for the twins, until this transaction has ended.
        lock.confirm_in(&mut tx).await?;
        for table in projection.tables() {
            let twin = Target::Rebuild.table(table);
            let aside = format!("{table}_switching");
            for (from, to) in [(*table, aside.as_str()), (&twin, table), (&aside, &twin)] {
                sqlx::query(&format!("ALTER TABLE {from} RENAME TO {to}"))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // Everything up to here was read: nothing of this projection is parked any more.
        sqlx::query("DELETE FROM projection_parked WHERE projection = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE projection_checkpoints SET position = $1, updated_at = $2, last_error = NULL, last_error_at = NULL WHERE name = $3")
            .bind(position)
            .bind(timestamp(Utc::now()))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        *committing = true;
        tx.commit().await?;
        Ok(Some((position, applied)))
    }
}
