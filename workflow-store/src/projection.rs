//! Projections: read views kept up to date from the log, each behind its own checkpoint.
//!
//! A batch is read after the checkpoint, applied and the checkpoint advanced in **one
//! transaction**, which starts by locking the projection's checkpoint row: a batch is
//! applied exactly once even when several hosts run projectors on one database, and a
//! crash anywhere inside a batch leaves the views as they were before it. Errors are
//! recorded on the checkpoint row (`last_error`) and returned, never swallowed.

pub(crate) mod complaints;
mod timeline;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::{AnyConnection, Row};
use tokio::sync::Notify;
use workflow_core::ComplaintServices;

pub use complaints::ComplaintsProjection;
pub use timeline::TimelineProjection;

use crate::backend::Db;
use crate::error::StoreError;
use crate::log::{SqlLog, StoredEvent};
use crate::timestamp;

/// Which set of tables a projection writes: the live views, or their `_rebuild` twins
/// during a replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The tables readers use.
    Live,
    /// The twins a replay fills before switching over.
    Rebuild,
}

impl Target {
    /// The table name for this target.
    pub fn table(self, live: &str) -> String {
        match self {
            Target::Live => live.to_owned(),
            Target::Rebuild => format!("{live}_rebuild"),
        }
    }
}

/// A read view maintained from the log.
#[async_trait]
pub trait Projection: Send + Sync {
    /// The checkpoint's name; stable.
    fn name(&self) -> &'static str;
    /// The live tables the projection owns (each has a `_rebuild` twin).
    fn tables(&self) -> &'static [&'static str];
    /// Applies events, in order, inside the caller's transaction.
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        target: Target,
        events: &[StoredEvent],
        services: &ComplaintServices,
    ) -> Result<(), StoreError>;
}

/// Where a projection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectionStatus {
    /// The projection.
    pub name: String,
    /// The last position applied.
    pub position: i64,
    /// The log's head.
    pub head: i64,
    /// How many positions it is behind (gaps from rolled-back appends count too).
    pub lag: i64,
    /// When it last advanced.
    pub updated_at: Option<String>,
    /// The last error, until a batch succeeds again.
    pub last_error: Option<String>,
}

/// Progress of a replay, reported through a callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayProgress {
    /// Position reached.
    pub position: i64,
    /// The log's head when the replay started.
    pub head: i64,
    /// Events applied so far.
    pub events: u64,
}

/// Test hooks that make a batch fail at a chosen point, to prove that a crash there
/// leaves nothing half-done.
#[derive(Debug, Default)]
pub struct Faults {
    fail_before_checkpoint: AtomicU64,
}

impl Faults {
    /// The next `n` batches fail after applying their events and before advancing the
    /// checkpoint, as if the process died there.
    pub fn fail_next_batches_before_checkpoint(&self, n: u64) {
        self.fail_before_checkpoint.store(n, Ordering::SeqCst);
    }

    fn take_before_checkpoint(&self) -> bool {
        self.fail_before_checkpoint
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Runs projections over the log.
pub struct Projector {
    log: SqlLog,
    services: ComplaintServices,
    projections: Vec<Arc<dyn Projection>>,
    batch_size: i64,
    applied: Notify,
    faults: Faults,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field(
                "projections",
                &self
                    .projections
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Projector {
    pub(crate) fn new(log: SqlLog, services: ComplaintServices) -> Self {
        Self {
            log,
            services,
            projections: vec![Arc::new(ComplaintsProjection), Arc::new(TimelineProjection)],
            batch_size: 1000,
            applied: Notify::new(),
            faults: Faults::default(),
        }
    }

    fn db(&self) -> &Db {
        self.log.db()
    }

    /// Fault injection for tests.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The names of the projections.
    pub fn names(&self) -> Vec<&'static str> {
        self.projections.iter().map(|p| p.name()).collect()
    }

    fn projection(&self, name: &str) -> Result<&Arc<dyn Projection>, StoreError> {
        self.projections
            .iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| StoreError::NotFound(format!("projection `{name}`")))
    }

    pub(crate) async fn register(&self) -> Result<(), StoreError> {
        for p in &self.projections {
            sqlx::query("INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
                .bind(p.name())
                .execute(&self.db().any)
                .await?;
        }
        Ok(())
    }

    /// Applies one batch of one projection; returns how many events it applied.
    pub async fn run_batch(&self, name: &str) -> Result<usize, StoreError> {
        let projection = Arc::clone(self.projection(name)?);
        match self.try_batch(projection.as_ref()).await {
            Ok(n) => Ok(n),
            Err(err) => {
                self.record_error(name, &err).await;
                Err(err)
            }
        }
    }

    async fn try_batch(&self, projection: &dyn Projection) -> Result<usize, StoreError> {
        let db = self.db();
        let mut tx = db.any.begin_with(db.begin_write()).await?;
        let position = lock_checkpoint(db, &mut tx, projection.name()).await?;
        let events = self
            .log
            .read_after(&mut tx, position, self.batch_size)
            .await?;
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(0);
        };
        projection
            .apply(&mut tx, Target::Live, &events, &self.services)
            .await?;
        if self.faults.take_before_checkpoint() {
            return Err(StoreError::Backend(format!(
                "injected fault: {} stopped before its checkpoint",
                projection.name()
            )));
        }
        sqlx::query(
            "UPDATE projection_checkpoints SET position = $1, updated_at = $2, last_error = NULL, last_error_at = NULL WHERE name = $3",
        )
        .bind(last)
        .bind(timestamp(Utc::now()))
        .bind(projection.name())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.applied.notify_waiters();
        Ok(events.len())
    }

    async fn record_error(&self, name: &str, err: &StoreError) {
        // Best effort: the error is returned to the caller either way.
        let _ = sqlx::query(
            "UPDATE projection_checkpoints SET last_error = $1, last_error_at = $2 WHERE name = $3",
        )
        .bind(err.to_string())
        .bind(timestamp(Utc::now()))
        .bind(name)
        .execute(&self.db().any)
        .await;
    }

    /// Applies batches of every projection until all have reached the log's head.
    pub async fn catch_up(&self) -> Result<u64, StoreError> {
        let mut total = 0u64;
        for p in &self.projections {
            loop {
                let n = self.run_batch(p.name()).await?;
                total += n as u64;
                if n == 0 {
                    break;
                }
            }
        }
        Ok(total)
    }

    /// Where every projection stands.
    pub async fn status(&self) -> Result<Vec<ProjectionStatus>, StoreError> {
        let head = self.log.head().await?;
        let rows = sqlx::query("SELECT name, position, updated_at, last_error FROM projection_checkpoints ORDER BY name")
            .fetch_all(&self.db().any)
            .await?;
        rows.into_iter()
            .map(|row| {
                let position: i64 = row.try_get("position")?;
                Ok(ProjectionStatus {
                    name: row.try_get("name")?,
                    position,
                    head,
                    lag: (head - position).max(0),
                    updated_at: row.try_get("updated_at")?,
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// Rebuilds one projection from position 0 into its `_rebuild` tables, then switches
    /// over in one transaction; readers see the old views until the switch.
    pub async fn rebuild(
        &self,
        name: &str,
        mut progress: impl FnMut(ReplayProgress) + Send,
    ) -> Result<u64, StoreError> {
        let projection = Arc::clone(self.projection(name)?);
        let db = self.db();
        let head = self.log.head().await?;
        {
            let mut tx = db.any.begin_with(db.begin_write()).await?;
            for table in projection.tables() {
                sqlx::query(&format!("DELETE FROM {}", Target::Rebuild.table(table)))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        let mut position = 0i64;
        let mut applied = 0u64;
        // Replay in batches, each its own transaction, while live projection goes on.
        loop {
            let mut tx = db.any.begin_with(db.begin_write()).await?;
            let events = self
                .log
                .read_after(&mut tx, position, self.batch_size)
                .await?;
            let Some(last) = events.last().map(|e| e.position) else {
                tx.commit().await?;
                break;
            };
            projection
                .apply(&mut tx, Target::Rebuild, &events, &self.services)
                .await?;
            tx.commit().await?;
            position = last;
            applied += events.len() as u64;
            progress(ReplayProgress {
                position,
                head,
                events: applied,
            });
            if position >= head {
                break;
            }
        }
        // Switch over: hold the checkpoint, catch the twins up, copy them into place.
        let mut tx = db.any.begin_with(db.begin_write()).await?;
        lock_checkpoint(db, &mut tx, name).await?;
        loop {
            let events = self
                .log
                .read_after(&mut tx, position, self.batch_size)
                .await?;
            let Some(last) = events.last().map(|e| e.position) else {
                break;
            };
            projection
                .apply(&mut tx, Target::Rebuild, &events, &self.services)
                .await?;
            position = last;
            applied += events.len() as u64;
        }
        for table in projection.tables() {
            let twin = Target::Rebuild.table(table);
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!("INSERT INTO {table} SELECT * FROM {twin}"))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!("DELETE FROM {twin}"))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE projection_checkpoints SET position = $1, updated_at = $2, last_error = NULL, last_error_at = NULL WHERE name = $3")
            .bind(position)
            .bind(timestamp(Utc::now()))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        progress(ReplayProgress {
            position,
            head: position.max(head),
            events: applied,
        });
        self.applied.notify_waiters();
        Ok(applied)
    }

    /// Read-your-writes: waits until the complaint views include `sequence` of
    /// `complaint_id` (as returned by the engine), or `timeout` passes.
    pub async fn wait_for(
        &self,
        complaint_id: &str,
        sequence: u64,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so a batch finishing in between wakes us.
            let applied = self.applied.notified();
            let seen: Option<i64> =
                sqlx::query("SELECT sequence FROM complaint_views WHERE complaint_id = $1")
                    .bind(complaint_id)
                    .fetch_optional(&self.db().any)
                    .await?
                    .map(|r| r.try_get("sequence"))
                    .transpose()?;
            if seen.is_some_and(|s| s >= i64::try_from(sequence).unwrap_or(i64::MAX)) {
                return Ok(());
            }
            // Projectors on another host do not notify this one: look again now and then.
            let poll = tokio::time::sleep(Duration::from_millis(50));
            tokio::select! {
                _ = applied => {}
                _ = poll => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(StoreError::NotYetProjected { complaint_id: complaint_id.to_owned(), sequence });
                }
            }
        }
    }

    /// Runs the projections until `shutdown` resolves: woken by commits through this
    /// host, by PostgreSQL notifications from other hosts, and by a poll as fallback.
    /// A failing batch is recorded and retried after the poll interval.
    pub async fn run(
        self: Arc<Self>,
        poll: Duration,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) {
        let mut listener = match &self.db().typed {
            crate::backend::TypedPool::Postgres(pool) => {
                match sqlx::postgres::PgListener::connect_with(pool).await {
                    Ok(mut l) => l.listen("aduan_events").await.ok().map(|_| l),
                    Err(_) => None,
                }
            }
            crate::backend::TypedPool::Sqlite(_) => None,
        };
        tokio::pin!(shutdown);
        loop {
            let committed = self.log.committed();
            let _ = self.catch_up().await;
            tokio::select! {
                _ = &mut shutdown => return,
                _ = committed => {}
                _ = tokio::time::sleep(poll) => {}
                Some(_) = async {
                    match listener.as_mut() {
                        Some(l) => l.try_recv().await.ok().flatten(),
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
    }
}

async fn lock_checkpoint(db: &Db, conn: &mut AnyConnection, name: &str) -> Result<i64, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT position FROM projection_checkpoints WHERE name = $1{}",
        db.for_update()
    ))
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("projection `{name}`")))?;
    Ok(row.try_get("position")?)
}
