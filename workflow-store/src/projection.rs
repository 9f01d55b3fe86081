//! Projections: read views kept up to date from the log, each behind its own checkpoint.
//!
//! A batch is read after the checkpoint, applied and the checkpoint advanced in **one
//! transaction**, which starts by locking the projection's checkpoint row: a batch is
//! applied exactly once even when several hosts run projectors on one database, and a
//! crash anywhere inside a batch leaves the views as they were before it. Errors are
//! recorded on the checkpoint row (`last_error`) and returned, never swallowed.

pub(crate) mod complaints;
mod faults;
mod listener;
mod parked;
mod replay;
mod replay_lock;
mod timeline;
mod twin_indexes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use workflow_core::{ComplaintId, Sequence};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};
use tokio::sync::Notify;
use workflow_core::ComplaintServices;

pub use complaints::ComplaintsProjection;
pub use faults::Faults;
pub use parked::Parked;
pub use timeline::TimelineProjection;

use crate::backend::{BackendKind, Db};
use crate::error::StoreError;
use crate::log::{SqlLog, StoredEvent};
use crate::position::Position;
use crate::settings::InForce;
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

/// A read view maintained from the log: the engine's own (the complaint views, the audit
/// timeline, the outbox of notifications) and any an embedding service adds with [`crate::Store::open_extended`].
///
/// The projector hands each projection the events after its checkpoint, in commit order,
/// in batches; `apply` writes into the caller's transaction, which also advances the
/// projection's own checkpoint, so a batch is applied exactly once or not at all (also
/// with several hosts on one database). `apply` must be idempotent per event position
/// only in the sense that it is never called twice for one position on one target.
///
/// A replay ([`Projector::rebuild`]) applies the whole log to the `_rebuild` twins of
/// [`Projection::tables`] and then copies them into place in one transaction; a
/// projection therefore writes only to `target.table(..)` of its own tables.
///
/// ```
/// use async_trait::async_trait;
/// use sqlx::AnyConnection;
/// use workflow_core::{ComplaintServices, EventBody};
/// use workflow_store::projection::{Projection, Target};
/// use workflow_store::{BackendKind, StoreError, StoredEvent};
///
/// /// Complaints received per category, in a table of the embedding service.
/// struct PerCategory;
///
/// #[async_trait]
/// impl Projection for PerCategory {
///     fn name(&self) -> &'static str {
///         "per_category"
///     }
///     fn tables(&self) -> &'static [&'static str] {
///         &["per_category"]
///     }
///     fn schema(&self, _backend: BackendKind, target: Target) -> Vec<String> {
///         vec![format!(
///             "CREATE TABLE IF NOT EXISTS {} (category TEXT PRIMARY KEY, received BIGINT NOT NULL)",
///             target.table("per_category")
///         )]
///     }
///     async fn apply(
///         &self,
///         conn: &mut AnyConnection,
///         target: Target,
///         events: &[StoredEvent],
///         _services: &ComplaintServices,
///     ) -> Result<(), StoreError> {
///         for e in events {
///             if let EventBody::Received(r) = &e.event.body {
///                 sqlx::query(&format!(
///                     "INSERT INTO {} (category, received) VALUES ($1, 1) \
///                      ON CONFLICT (category) DO UPDATE SET received = {0}.received + 1",
///                     target.table("per_category")
///                 ))
///                 .bind(&r.category)
///                 .execute(&mut *conn)
///                 .await?;
///             }
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Projection: Send + Sync {
    /// The checkpoint's name; stable, unique among the store's projections.
    fn name(&self) -> &'static str;
    /// The live tables the projection owns (each has a `_rebuild` twin).
    fn tables(&self) -> &'static [&'static str];
    /// Statements that create the projection's tables for `target` (the live tables, or
    /// their `_rebuild` twins), safe to run on every open (`CREATE TABLE IF NOT EXISTS`).
    /// The store runs them for both targets when it opens, before the projection is
    /// registered. The engine's own projections return none: their tables come with the
    /// migrations.
    ///
    /// A replay switches over by exchanging each table with its twin (renaming both), so
    /// the two must be alike: make both from the same statements, with
    /// [`Target::table`] for the table's name and in each index's name. After a replay
    /// each index is on the other table of its pair, under the name it was created with.
    fn schema(&self, backend: BackendKind, target: Target) -> Vec<String> {
        let _ = (backend, target);
        Vec::new()
    }
    /// Whether a replay may give the projection the log complaint by complaint: each
    /// complaint's events together and in their order, one complaint after another,
    /// rather than the whole log in its order. Say so only when what the projection
    /// writes for a complaint depends on that complaint's events alone (and the
    /// settings), never on how the events of different complaints fall in the log: a
    /// projection that counts events per day as it meets them may, one that numbers its
    /// rows in the order it meets them, or keeps the last position it saw, may not.
    ///
    /// A replay that may reads every complaint's events through the log's head as it
    /// was when the replay began, then the events appended since, in log order. A batch
    /// then touches a few hundred complaints instead of up to a batch's count of them:
    /// on a log where complaints advance side by side, as a real one has them, the
    /// replay is several times faster for a projection that keeps a row per complaint.
    /// The live projector always gives the log in its order. The default is `false`.
    fn replays_by_complaint(&self) -> bool {
        false
    }
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
    pub position: Position,
    /// The log's head.
    pub head: Position,
    /// How many positions it is behind (gaps from rolled-back appends count too).
    pub lag: u64,
    /// When it last advanced.
    pub updated_at: Option<DateTime<Utc>>,
    /// The last error, until a batch succeeds again.
    pub last_error: Option<String>,
}

/// Progress of a replay, reported through a callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayProgress {
    /// Position reached: in a replay complaint by complaint (see
    /// [`Projection::replays_by_complaint`]), zero until it has read every complaint,
    /// then `head`.
    pub position: Position,
    /// The log's head when the replay started.
    pub head: Position,
    /// Events applied so far.
    pub events: u64,
    /// The events of the log through `head`: those the replay applies before it catches
    /// up with what was appended since it began (after which `events` passes it).
    pub total: u64,
}

/// Runs projections over the log.
pub struct Projector {
    log: SqlLog,
    services: InForce,
    projections: Vec<Arc<dyn Projection>>,
    batch_size: i64,
    /// Events per transaction of a replay's first pass (see `replay::REPLAY_BATCH`).
    replay_batch: std::sync::atomic::AtomicI64,
    applied: Notify,
    waiting: Waiting,
    faults: Faults,
}

/// The complaints that callers of [`Projector::wait_for`] wait on, with the highest
/// sequence this process's projector has applied to their views since they began
/// waiting: a batch of the complaint views wakes only the waiters it concerns, instead
/// of every waiter looking in the database after every batch of any projection.
struct Waiting {
    complaints: std::sync::Mutex<HashMap<String, Waited>>,
    /// How often a waiter looks in the database, in milliseconds (for other hosts'
    /// projectors, which do not wake it): 50.
    poll_ms: std::sync::atomic::AtomicU64,
    /// Looks in the database by waiters (the first, and the periodic ones for other
    /// hosts' projectors), for tests.
    lookups: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Waited {
    waiters: usize,
    applied: i64,
}

impl Default for Waiting {
    fn default() -> Self {
        Self {
            complaints: Default::default(),
            poll_ms: std::sync::atomic::AtomicU64::new(50),
            lookups: Default::default(),
        }
    }
}

impl Waiting {
    fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waited>> {
        // Plain counters: a panic elsewhere while holding the lock leaves them usable.
        self.complaints.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes the sequences a batch of the complaint views applied, for the complaints
    /// someone waits on; whether any was.
    fn applied(&self, events: &[StoredEvent]) -> bool {
        let mut complaints = self.lock();
        if complaints.is_empty() {
            return false;
        }
        let mut any = false;
        for e in events {
            if let Some(w) = complaints.get_mut(e.complaint_id.as_str()) {
                w.applied = w.applied.max(crate::codec::sequence_column(e.sequence));
                any = true;
            }
        }
        any
    }

    fn applied_to(&self, complaint_id: &str) -> i64 {
        self.lock().get(complaint_id).map_or(0, |w| w.applied)
    }
}

/// One caller's interest in a complaint, withdrawn when dropped (also when the caller
/// is cancelled).
struct Interest<'a> {
    waiting: &'a Waiting,
    complaint_id: &'a str,
}

impl<'a> Interest<'a> {
    fn new(waiting: &'a Waiting, complaint_id: &'a str) -> Self {
        waiting
            .lock()
            .entry(complaint_id.to_owned())
            .or_default()
            .waiters += 1;
        Self {
            waiting,
            complaint_id,
        }
    }
}

impl Drop for Interest<'_> {
    fn drop(&mut self) {
        let mut complaints = self.waiting.lock();
        if let Some(w) = complaints.get_mut(self.complaint_id) {
            w.waiters -= 1;
            if w.waiters == 0 {
                complaints.remove(self.complaint_id);
            }
        }
    }
}

/// The names of `projections`, for `Debug` output.
pub(crate) fn names(projections: &[Arc<dyn Projection>]) -> Vec<&'static str> {
    projections.iter().map(|p| p.name()).collect()
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field("projections", &names(&self.projections))
            .finish()
    }
}

impl Projector {
    pub(crate) fn new(
        log: SqlLog,
        services: InForce,
        extra: Vec<Arc<dyn Projection>>,
    ) -> Result<Self, StoreError> {
        let mut projections: Vec<Arc<dyn Projection>> = vec![
            Arc::new(ComplaintsProjection),
            Arc::new(TimelineProjection),
            Arc::new(crate::outbox::OutboxProjection),
        ];
        for p in extra {
            if projections.iter().any(|q| q.name() == p.name()) {
                return Err(StoreError::defect(format!(
                    "two projections are named `{}`; a projection's name is its checkpoint's",
                    p.name()
                )));
            }
            projections.push(p);
        }
        Ok(Self {
            log,
            services,
            projections,
            batch_size: 1000,
            replay_batch: std::sync::atomic::AtomicI64::new(replay::REPLAY_BATCH),
            applied: Notify::new(),
            waiting: Waiting::default(),
            faults: Faults::default(),
        })
    }

    fn db(&self) -> &Db {
        self.log.db()
    }

    /// Fault injection for tests (the `testing` feature; not part of the stable surface).
    #[cfg(feature = "testing")]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// How many times callers of [`Projector::wait_for`] looked in the database (the
    /// `testing` feature; not part of the stable surface).
    #[cfg(feature = "testing")]
    pub fn waiters_lookups(&self) -> u64 {
        self.waiting
            .lookups
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets how often a caller of [`Projector::wait_for`] looks in the database for
    /// batches of other hosts' projectors (50 ms; the `testing` feature, not part of the
    /// stable surface).
    #[cfg(feature = "testing")]
    pub fn set_wait_poll(&self, every: Duration) {
        self.waiting.poll_ms.store(
            u64::try_from(every.as_millis()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Sets how many events a replay's first pass reads and writes per transaction, so
    /// that a test's small log is replayed in several batches (the `testing` feature;
    /// not part of the stable surface).
    #[cfg(feature = "testing")]
    pub fn set_replay_batch(&self, events: i64) {
        self.replay_batch
            .store(events.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// The names of the projections.
    pub fn names(&self) -> Vec<&'static str> {
        names(&self.projections)
    }

    fn projection(&self, name: &str) -> Result<&Arc<dyn Projection>, StoreError> {
        self.projections
            .iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| StoreError::NotFound(format!("projection `{name}`")))
    }

    pub(crate) async fn register(&self) -> Result<(), StoreError> {
        let db = self.db();
        for p in &self.projections {
            let statements: Vec<String> = [Target::Live, Target::Rebuild]
                .into_iter()
                .flat_map(|target| p.schema(db.kind, target))
                .collect();
            if !statements.is_empty() {
                let mut tx = db.begin_writing(&db.any).await?;
                for sql in &statements {
                    sqlx::query(sql).execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        }
        for p in &self.projections {
            sqlx::query("INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
                .bind(p.name())
                .execute(&self.db().any)
                .await?;
        }
        Ok(())
    }

    /// Applies one batch of one projection; returns how many events it read (applied, or
    /// set aside with their complaint when they cannot be read).
    pub async fn run_batch(&self, name: &str) -> Result<usize, StoreError> {
        self.db().writable("projecting")?;
        let projection = Arc::clone(self.projection(name)?);
        match self.try_batch(projection.as_ref()).await {
            Ok(n) => {
                self.log.health().projection_succeeded(name);
                Ok(n)
            }
            Err(err) => {
                self.log.health().projection_failed(name, &err);
                self.record_error(name, &err).await;
                Err(err)
            }
        }
    }

    async fn try_batch(&self, projection: &dyn Projection) -> Result<usize, StoreError> {
        let db = self.db();
        let name = projection.name();
        let _turn = db.writer().await;
        let mut tx = db.begin_writing(db.projecting()).await?;
        let position = lock_checkpoint(db, &mut tx, name).await?;
        // Under the checkpoint's lock: a change of the settings committed before it
        // (with the deadlines it recomputed) is seen here, and none can commit until
        // this batch has.
        let services = self.services.refresh_in(&mut tx).await?;
        let rows = self
            .log
            .read_rows_after(&mut tx, position, self.batch_size)
            .await?;
        let Some(last) = rows.last().map(|r| match r {
            Ok(e) => e.position,
            Err(u) => u.position,
        }) else {
            // Nothing to read: the projection is current. End the transaction here (a
            // dropped one is rolled back later by the driver, and the pool would close
            // the connection as still inside it), and clear an error left by an earlier
            // failed batch, so that it is not taken for a stall.
            sqlx::query(
                "UPDATE projection_checkpoints SET last_error = NULL, last_error_at = NULL WHERE name = $1 AND last_error IS NOT NULL",
            )
            .bind(name)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(0);
        };
        // An unreadable event parks its complaint: this projection skips the complaint's
        // events from there on and goes on with every other complaint.
        let mut parked = self.parked_ids(&mut tx, name).await?;
        let read = rows.len();
        let mut events = Vec::with_capacity(read);
        for row in rows {
            match row {
                Ok(e) if !parked.contains(e.complaint_id.as_str()) => events.push(e),
                Ok(_) => {}
                Err(u) => {
                    if parked.insert(u.complaint_id.clone()) {
                        tracing::error!(projection = name, position = u.position.get(), complaint_id = %u.complaint_id, reason = %u.reason, "an event cannot be read; its complaint is parked");
                        sqlx::query("INSERT INTO projection_parked (projection, complaint_id, position, sequence, reason, parked_at) VALUES ($1, $2, $3, $4, $5, $6)")
                            .bind(name)
                            .bind(&u.complaint_id)
                            .bind(u.position)
                            .bind(crate::codec::sequence_column(u.sequence))
                            .bind(&u.reason)
                            .bind(timestamp(Utc::now()))
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
        }
        projection
            .apply(&mut tx, Target::Live, &events, &services)
            .await?;
        if self.faults.take_hold(name) {
            self.faults.held.notify_one();
            std::future::pending::<()>().await;
        }
        if self.faults.take_before_checkpoint() {
            return Err(StoreError::defect(format!(
                "injected fault: {name} stopped before its checkpoint"
            )));
        }
        sqlx::query(
            "UPDATE projection_checkpoints SET position = $1, updated_at = $2, last_error = NULL, last_error_at = NULL WHERE name = $3",
        )
        .bind(last)
        .bind(timestamp(Utc::now()))
        .bind(name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // Only the complaint views are waited on, and only their waiters are woken.
        if name == ComplaintsProjection::NAME && self.waiting.applied(&events) {
            self.applied.notify_waiters();
        }
        Ok(read)
    }

    async fn record_error(&self, name: &str, err: &StoreError) {
        // Best effort: the error is returned to the caller either way.
        let _ = sqlx::query(
            "UPDATE projection_checkpoints SET last_error = $1, last_error_at = $2 WHERE name = $3",
        )
        .bind(err.to_string())
        .bind(timestamp(Utc::now()))
        .bind(name)
        .execute(self.db().projecting())
        .await;
    }

    /// Applies batches of every projection until all have reached the log's head. A
    /// projection that fails stops there; the others still catch up, and the first
    /// error is returned after them.
    pub async fn catch_up(&self) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut first_error = None;
        for p in &self.projections {
            match self.catch_up_one(p.name()).await {
                Ok(n) => total += n,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    /// Applies batches of one projection until it has reached the log's head, or one
    /// fails.
    async fn catch_up_one(&self, name: &str) -> Result<u64, StoreError> {
        let mut total = 0u64;
        loop {
            let n = self.run_batch(name).await?;
            total += n as u64;
            // A batch short of its limit read up to the head as it then was: asking
            // again would only find what committed since, which wakes the projector
            // anyway.
            if (n as i64) < self.batch_size {
                return Ok(total);
            }
        }
    }

    /// How `run` groups the projections: each group catches up in a task of its own.
    /// On PostgreSQL every projection is a group, so that the complaint views (which a
    /// command's answer waits for) never wait behind another projection's batch. On
    /// SQLite, whose one writer would make them take turns at its lock anyway, all are
    /// one group, in order.
    fn lanes(&self) -> Vec<Vec<&'static str>> {
        let names = self.names();
        match self.db().kind {
            BackendKind::Postgres => names.into_iter().map(|n| vec![n]).collect(),
            BackendKind::Sqlite => vec![names],
        }
    }

    /// Where every projection stands.
    pub async fn status(&self) -> Result<Vec<ProjectionStatus>, StoreError> {
        let head = self.log.head().await?;
        let rows = sqlx::query("SELECT name, position, updated_at, last_error FROM projection_checkpoints ORDER BY name")
            .fetch_all(&self.db().any)
            .await?;
        rows.into_iter()
            .map(|row| {
                let position: Position = row.try_get("position")?;
                let name: String = row.try_get("name")?;
                let updated_at = crate::codec::instant_opt(
                    &name,
                    "updated_at",
                    row.try_get::<Option<String>, _>("updated_at")?.as_deref(),
                )?;
                Ok(ProjectionStatus {
                    name,
                    position,
                    head,
                    lag: head.since(position),
                    updated_at,
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// Read-your-writes: waits until the complaint views include `sequence` of
    /// `complaint_id` (as returned by the engine), or `timeout` passes.
    pub async fn wait_for(
        &self,
        complaint_id: &ComplaintId,
        sequence: impl Into<Sequence>,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let sequence = sequence.into();
        let wanted = crate::codec::sequence_column(sequence);
        let deadline = tokio::time::Instant::now() + timeout;
        // Registered before the first look: a batch committing after it is noted.
        let _interest = Interest::new(&self.waiting, complaint_id.as_str());
        let mut look = true;
        let mut next_look = tokio::time::Instant::now();
        loop {
            // Interest in the next wake-up before looking, so that a batch finishing in
            // between wakes this caller.
            let applied = self.applied.notified();
            if self.waiting.applied_to(complaint_id.as_str()) >= wanted {
                return Ok(());
            }
            if look {
                self.waiting
                    .lookups
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let seen: Option<i64> =
                    sqlx::query("SELECT sequence FROM complaint_views WHERE complaint_id = $1")
                        .bind(complaint_id.as_str())
                        .fetch_optional(&self.db().any)
                        .await?
                        .map(|r| r.try_get("sequence"))
                        .transpose()?;
                if seen.is_some_and(|s| s >= wanted) {
                    return Ok(());
                }
                next_look = tokio::time::Instant::now() + self.waiting.poll();
            }
            // A batch of this process that applied the complaint says so in memory;
            // projectors on another host do not: look in the database every 50 ms,
            // however often batches of other complaints wake this caller.
            tokio::select! {
                _ = applied => look = tokio::time::Instant::now() >= next_look,
                _ = tokio::time::sleep_until(next_look) => look = true,
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(StoreError::NotYetProjected { complaint_id: complaint_id.to_string(), sequence });
                }
            }
        }
    }

    /// Runs the projections until `shutdown` resolves: woken by commits through this
    /// host, by PostgreSQL notifications from other hosts, and by a poll as fallback.
    /// A failing batch is recorded and retried at the next wake. On PostgreSQL each
    /// projection catches up in a task of its own (a command's answer waits for the
    /// complaint views alone); on SQLite they take turns in one. It returns once the
    /// batches under way when `shutdown` resolved have ended.
    ///
    /// In an embedding service it runs as a background task beside the service's own,
    /// and a command waits for the views to include its event with [`Projector::wait_for`]:
    ///
    /// ```
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// # use workflow_core::fixtures::{cmd, registration, upp, wib};
    /// # use workflow_core::{ComplaintCommand, ComplaintServices};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tokio::sync::watch;
    /// use workflow_store::Store;
    ///
    /// # if cfg!(not(feature = "sqlite")) { return Ok(()); } // this example opens a file
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    /// let store = Store::open(&url, ComplaintServices::builtin()).await?;
    /// let (stop, stopping) = watch::channel(false);
    /// let mut until_stopped = stopping.clone();
    /// let projector = tokio::spawn(Arc::clone(store.projector()).run(
    ///     Duration::from_secs(2), // look again this often (commits here wake it at once)
    ///     async move { let _ = until_stopped.wait_for(|stop| *stop).await; },
    /// ));
    ///
    /// let id = "ADU-2026-0001".parse()?;
    /// # let register = cmd("request-1", upp(), wib("2026-11-30 09:00"), ComplaintCommand::Register(registration()));
    /// let done = store.engine().execute(&id, register, None).await?;
    /// let last = done.events.last().expect("an event").sequence as u64;
    /// store.projector().wait_for(&id, last, Duration::from_secs(10)).await?;
    /// assert!(store.views().detail(&id).await?.is_some());
    ///
    /// stop.send(true).expect("the projector listens"); // shut down cleanly
    /// projector.await.expect("the projector stopped");
    /// # store.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn run(
        self: Arc<Self>,
        poll: Duration,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) {
        let mut other_hosts = listener::OtherHosts::listen(&self.log, listener::Pace::HOST);
        // Each lane catches up in a task of its own whenever this loop bumps `wake`;
        // a bump during a lane's catch-up has it go round once more. Dropping `wake`
        // ends the lanes after the batches they are in.
        let (wake, woken) = tokio::sync::watch::channel(0u64);
        let mut lanes = tokio::task::JoinSet::new();
        for lane in self.lanes() {
            let projector = Arc::clone(&self);
            let mut woken = woken.clone();
            lanes.spawn(async move {
                loop {
                    woken.borrow_and_update();
                    for name in &lane {
                        // A failure is recorded by the batch; the next wake retries.
                        let _ = projector.catch_up_one(name).await;
                    }
                    if woken.changed().await.is_err() {
                        return;
                    }
                }
            });
        }
        drop(woken);
        tokio::pin!(shutdown);
        loop {
            // Made before the bump: a commit after the lanes looked wakes this loop.
            let committed = self.log.committed();
            wake.send_modify(|n| *n = n.wrapping_add(1));
            tokio::select! {
                _ = &mut shutdown => break,
                _ = committed => {}
                _ = tokio::time::sleep(poll) => {}
                _ = other_hosts.committed() => {}
            }
        }
        drop(wake);
        while lanes.join_next().await.is_some() {}
    }
}

pub(crate) async fn lock_checkpoint(
    db: &Db,
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Position, StoreError> {
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
