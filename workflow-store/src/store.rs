//! The store as an embedding service or the host uses it: open by URL, execute commands,
//! run projections, read views, enforce deadlines.

use std::sync::Arc;
use std::time::Instant;
use workflow_core::ComplaintId;

use chrono::{DateTime, Utc};
use cqrs_es::persist::EventUpcaster;
use sqlx::{AnyConnection, Row};
use workflow_core::{Complaint, ComplaintServices};

use crate::backend::{BackendKind, Db, Purpose};
use crate::engine::Engine;
use crate::error::StoreError;
use crate::keys::SubjectKeys;
use crate::log::SqlLog;
use crate::options::StoreOptions;
use crate::projection::{complaints::write_deadlines, lock_checkpoint, Projector, Target};
use crate::settings::{basis, InForce, SettingsSource};
use crate::views::{BoardEntry, BoardStatus, Views};

mod personal_data;
mod readiness;
pub use personal_data::{PlainIdentity, RETENTION_BATCH};
pub use readiness::{Check, Readiness, ReadinessPolicy};

/// What an SLA monitor tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Complaints looked at.
    pub complaints: usize,
    /// Breaches recorded.
    pub breaches_recorded: usize,
    /// Complaints closed automatically after their feedback window.
    pub closed: usize,
    /// Complaints deemed withdrawn after the complainant's information window.
    pub deemed_withdrawn: usize,
    /// Identities erased by the retention policy (`SlaPolicy::identity_retention_years`).
    pub identities_erased: usize,
    /// Complaints whose sweep failed for a reason of their own (an event that cannot be
    /// read, say), with the error; the others were swept all the same.
    pub failed: Vec<(ComplaintId, String)>,
}

/// The engine on a durable log, with its projections and views.
pub struct Store {
    log: SqlLog,
    engine: Engine<SqlLog>,
    projector: Arc<Projector>,
    views: Views,
    in_force: InForce,
    opened: Instant,
    /// The answers to idempotency keys waiting to be kept (crate::access).
    pub(crate) answers: std::sync::Arc<crate::access::AnswerQueue>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

const SLA_BASIS: &str = "sla_basis";

/// What an embedding service adds to the engine when it opens a store
/// ([`Store::open_extended`]).
#[derive(Default)]
pub struct Extensions {
    /// Settings (read-only opens, PostgreSQL session timeouts).
    pub options: StoreOptions,
    /// Upcasters for older versions of events, applied on every read after the
    /// domain's own. Snapshots of complaints' states are kept under a format that
    /// counts the upcasters (see [`crate::SNAPSHOT_EVERY`]): a snapshot written while
    /// there were more or fewer is not used. Changing what an upcaster gives without
    /// changing how many there are calls for deleting the snapshots
    /// (`DELETE FROM complaint_snapshots`), since they hold states folded the old way;
    /// and events already decided on a snapshot name it for good, so `verify` by the
    /// changed service reports them (`snapshot_differs`): verify with the service as
    /// it was before such a change, and keep that report.
    pub upcasters: Vec<Box<dyn EventUpcaster>>,
    /// Projections of the service's own.
    pub projections: Vec<Arc<dyn crate::projection::Projection>>,
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions")
            .field("options", &self.options)
            .field("upcasters", &self.upcasters.len())
            .field("projections", &crate::projection::names(&self.projections))
            .finish()
    }
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`
    /// (`sqlite://PATH` or `postgres://…`), if it is the engine's own: marked, empty, or
    /// made by an earlier version (see [`crate::identity`]); any other database is
    /// refused with [`StoreError::ForeignDatabase`] before anything in it changes.
    /// PostgreSQL sessions get the default [`StoreOptions`].
    ///
    /// `settings` says which calendar and policy judge deadlines: the database's
    /// ([`SettingsSource::Stored`], what `aduan` uses), or fixed services of the caller's
    /// (a [`ComplaintServices`] converts into [`SettingsSource::Fixed`]), which win in
    /// this process and are never written. An open never records a setting; with the
    /// stored settings it recomputes running deadlines only if they were computed with
    /// others (decision 0024).
    pub async fn open(url: &str, settings: impl Into<SettingsSource>) -> Result<Self, StoreError> {
        Self::open_with_upcasters(url, settings, Vec::new()).await
    }

    /// Opens the database read-only, as an auditor opens a copy. On SQLite the file is
    /// opened with `mode=ro` (and `query_only`): a missing file is an error naming it,
    /// never created; `immutable=1` in the URL is honoured. On PostgreSQL every session is
    /// read-only (`default_transaction_read_only`). No migration runs and no deadline is
    /// recomputed; a database that is not marked as the engine's, or lacks a migration
    /// of this version, is refused (migrate it first). Every write is refused with
    /// [`StoreError::ReadOnly`]: commands, projections, the SLA monitor, tokens. Reads
    /// work as ever; [`Store::sla_board`] computes the board from the log where the views
    /// of the copy lag.
    pub async fn open_read_only(
        url: &str,
        settings: impl Into<SettingsSource>,
    ) -> Result<Self, StoreError> {
        Self::open_with_options(url, settings, StoreOptions::default().read_only(true)).await
    }

    /// [`Store::open`] with other settings: PostgreSQL session timeouts.
    pub async fn open_with_options(
        url: &str,
        settings: impl Into<SettingsSource>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        Self::open_inner(url, settings.into(), Vec::new(), options, Vec::new()).await
    }

    /// [`Store::open`] with upcasters for older event versions, applied on every read.
    pub async fn open_with_upcasters(
        url: &str,
        settings: impl Into<SettingsSource>,
        upcasters: Vec<Box<dyn EventUpcaster>>,
    ) -> Result<Self, StoreError> {
        Self::open_extended(
            url,
            settings,
            Extensions {
                upcasters,
                ..Extensions::default()
            },
        )
        .await
    }

    /// [`Store::open`] with what an embedding service adds: settings, upcasters for its
    /// older event versions, and projections of its own into its own tables (see
    /// [`Projection`](crate::projection::Projection)), which the projector applies in
    /// commit order beside the engine's, each with its checkpoint, and
    /// [`Projector::rebuild`](crate::Projector::rebuild) replays.
    pub async fn open_extended(
        url: &str,
        settings: impl Into<SettingsSource>,
        extensions: Extensions,
    ) -> Result<Self, StoreError> {
        let Extensions {
            options,
            upcasters,
            projections,
        } = extensions;
        Self::open_inner(url, settings.into(), upcasters, options, projections).await
    }

    async fn open_inner(
        url: &str,
        settings: SettingsSource,
        upcasters: Vec<Box<dyn EventUpcaster>>,
        options: StoreOptions,
        projections: Vec<Arc<dyn crate::projection::Projection>>,
    ) -> Result<Self, StoreError> {
        let read_only = options.is_read_only();
        let purpose = if read_only {
            Purpose::Read
        } else {
            Purpose::Migrate
        };
        let db = Db::connect(url, purpose, &options).await?;
        if read_only {
            db.check_current().await?;
        } else {
            db.migrate().await?;
        }
        let keys = Arc::new(SubjectKeys::open(db.clone(), options.key_file(), !read_only).await?);
        if !read_only {
            keys.destroy_erased().await?;
        }
        let in_force = match settings {
            SettingsSource::Fixed(services) => InForce::fixed(services),
            SettingsSource::Stored => {
                let (services, versions) =
                    crate::settings::load(&mut *db.any.acquire().await?).await?;
                InForce::stored(db.any.clone(), services, versions)
            }
        };
        let log = SqlLog::new(db.clone(), upcasters, keys, options.get_kept_states());
        let projector = Arc::new(Projector::new(log.clone(), in_force.clone(), projections)?);
        let counting = log.clone();
        let mut engine = Engine::judging_with(log.clone(), in_force.clone())
            .registering_unread(crate::log::LogContext::empty)
            .counting_clocks_behind(Arc::new(move || counting.health().clock_behind()));
        if read_only {
            engine = engine.refusing_commands();
        } else {
            projector.register().await?;
        }
        let store = Self {
            engine,
            views: Views::new(db.any.clone()),
            log,
            projector,
            in_force,
            opened: Instant::now(),
            answers: Default::default(),
        };
        if !read_only && store.in_force.follows() {
            store.recompute_if_basis_changed().await?;
        }
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> BackendKind {
        self.log.db().kind
    }

    /// The store with its engine reconfigured, e.g.
    /// `store.with_engine(|e| e.with_max_attempts(20).with_backoff(Backoff::NONE))`.
    ///
    /// [`Backoff::NONE`]: crate::Backoff::NONE
    pub fn with_engine(mut self, configure: impl FnOnce(Engine<SqlLog>) -> Engine<SqlLog>) -> Self {
        self.engine = configure(self.engine);
        self
    }

    /// The calendar and policy in force in this store.
    pub(crate) fn in_force(&self) -> &InForce {
        &self.in_force
    }

    /// The command executor.
    pub fn engine(&self) -> &Engine<SqlLog> {
        &self.engine
    }

    /// The log, for reads in global order.
    pub fn log(&self) -> &SqlLog {
        &self.log
    }

    /// The database's connection pool, for reading the tables of an embedding service's
    /// own projections. Write only through the engine and the projector: anything else
    /// bypasses the log.
    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.log.db().any
    }

    /// The projection runner.
    pub fn projector(&self) -> &Arc<Projector> {
        &self.projector
    }

    /// The read views.
    pub fn views(&self) -> &Views {
        &self.views
    }

    /// The pool the engine runs its own SQL on, for tests that must stall one of its
    /// sessions.
    #[cfg(feature = "testing")]
    pub fn pool_for_tests(&self) -> &sqlx::AnyPool {
        &self.log.db().any
    }

    /// Whether the store's long reads (a replay, a walk of the whole log) take SQLite's
    /// rows straight from SQLite on a thread of their own (decisions 54 and 55), rather
    /// than through sqlx: SQLite opened by its file's path, with no `vfs` named. For
    /// tests that compare the two ways.
    #[cfg(feature = "testing")]
    pub fn reads_sqlite_directly(&self) -> bool {
        self.log.db().direct.is_some()
    }

    /// Closes the pools (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.log.db().close().await;
    }

    /// Whether the store was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.log.db().read_only
    }

    /// The SLA board at `now`, optionally of one status and one agency, most urgent
    /// first, as [`Views::sla_board`] gives it, without writing anything: from the views
    /// when they have applied the whole log with this calendar and policy, otherwise
    /// computed from the log itself (a walk of every complaint, so slower), as for a
    /// read-only copy whose views lag or an amended holiday table not yet applied.
    pub async fn sla_board(
        &self,
        now: DateTime<Utc>,
        status: Option<BoardStatus>,
        agency: Option<&str>,
    ) -> Result<Vec<BoardEntry>, StoreError> {
        if self.views_are_current().await? {
            return self.views.sla_board(now, status, agency).await;
        }
        crate::sla::board_from_log(&self.log, &self.engine.services(), now, status, agency).await
    }

    /// Whether the SLA index has applied the whole log with this calendar and policy.
    async fn views_are_current(&self) -> Result<bool, StoreError> {
        let head = self.log.head().await?;
        let any = &self.log.db().any;
        let checkpoint: Option<crate::Position> =
            sqlx::query("SELECT position FROM projection_checkpoints WHERE name = $1")
                .bind("complaints")
                .fetch_optional(any)
                .await?
                .map(|r| r.try_get("position"))
                .transpose()?;
        let basis: Option<String> = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(SLA_BASIS)
            .fetch_optional(any)
            .await?
            .map(|r| r.try_get("value"))
            .transpose()?;
        Ok(checkpoint.is_some_and(|p| p >= head)
            && basis.as_deref() == Some(crate::settings::basis(&self.engine.services()).as_str()))
    }

    /// The SLA monitor: finds, by index, the complaints with a breach to record or a
    /// feedback window run out at `now`, and sweeps each through the engine. Safe to run
    /// on several hosts at once: the commands it issues are idempotent.
    ///
    /// A complaint whose sweep fails for a reason of its own is listed in
    /// [`TickReport::failed`] and the others are swept; a database that is unavailable
    /// ends the tick with the error. Each outcome is recorded in [`Store::health`].
    pub async fn sla_tick(&self, now: DateTime<Utc>) -> Result<TickReport, StoreError> {
        self.log.db().writable("the SLA monitor")?;
        let result = self.try_sla_tick(now).await;
        match &result {
            Ok(_) => self.health().tick_succeeded(),
            Err(e) => self.health().tick_failed(e),
        }
        result
    }

    async fn try_sla_tick(&self, now: DateTime<Utc>) -> Result<TickReport, StoreError> {
        // A change of the settings another process recorded is taken up here at the
        // latest (commands and projection batches look for one too).
        let services = self.in_force.refresh().await?;
        let ids = self.views.due_for_enforcement(now).await?;
        let mut report = TickReport {
            complaints: ids.len(),
            ..TickReport::default()
        };
        for id in ids {
            // A sweep that panics (a row the event-sourcing crate cannot even read as
            // JSON) is this complaint's failure, not the monitor's end.
            let sweep = std::panic::AssertUnwindSafe(self.engine.sweep(&id, now));
            match futures::FutureExt::catch_unwind(sweep).await {
                Ok(Ok(outcome)) => {
                    report.breaches_recorded += outcome.breaches_recorded.len();
                    report.closed += usize::from(outcome.closed);
                    report.deemed_withdrawn += usize::from(outcome.deemed_withdrawn);
                }
                // The database itself is unavailable: every other sweep would fail too.
                Ok(Err(e @ StoreError::Unavailable { .. })) => return Err(e),
                Ok(Err(e)) => report.failed.push((id, e.to_string())),
                Err(_) => report
                    .failed
                    .push((id, "reading the complaint's events panicked".to_owned())),
            }
        }
        // A key whose erasure committed but whose destruction failed here (or whose
        // commit's answer was lost) goes at the next tick, not only at a restart.
        self.log.keys().destroy_pending().await?;
        if let Some(years) = services.policy.identity_retention_years {
            self.erase_retained(now, years, &mut report).await?;
        }
        Ok(report)
    }

    /// Outcomes of commits, projections and SLA ticks in this process.
    pub fn health(&self) -> &crate::health::Health {
        self.log.health()
    }

    /// With the stored settings: recomputes the running deadlines if they were computed
    /// with other settings than those in force (an upgrade that ships another holiday
    /// table, a database last written with fixed services), under the complaints
    /// checkpoint's lock so that no change of the settings interleaves.
    async fn recompute_if_basis_changed(&self) -> Result<(), StoreError> {
        let db = self.log.db();
        let mut tx = db.begin_writing(&db.any).await?;
        lock_checkpoint(db, &mut tx, "complaints").await?;
        let services = self.in_force.refresh_in(&mut tx).await?;
        let stored: Option<String> = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(SLA_BASIS)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("value"))
            .transpose()?;
        if stored.as_deref() != Some(basis(&services).as_str()) {
            let n = Self::recompute_in(&mut tx, &services).await?;
            tracing::info!(
                complaints = n,
                "running deadlines recomputed with the settings in force"
            );
        }
        tx.commit().await?;
        Ok(())
    }

    /// Recomputes every running deadline from the complaints' states with the calendar
    /// and policy in force (for a store following the database's settings, the newest;
    /// for fixed services, those). Returns how many complaints were recomputed. A change
    /// of a setting ([`Store::set_setting`]) does this itself.
    pub async fn recompute_deadlines(&self) -> Result<usize, StoreError> {
        let db = self.log.db();
        db.writable("recomputing deadlines")?;
        let mut tx = db.begin_writing(&db.any).await?;
        lock_checkpoint(db, &mut tx, "complaints").await?;
        let services = self.in_force.refresh_in(&mut tx).await?;
        let n = Self::recompute_in(&mut tx, &services).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Recomputes the running deadlines with `services` inside the caller's
    /// transaction, which holds the complaints checkpoint (so no batch interleaves), and
    /// records their basis.
    pub(crate) async fn recompute_in(
        tx: &mut AnyConnection,
        services: &ComplaintServices,
    ) -> Result<usize, StoreError> {
        let rows = sqlx::query(
            "SELECT complaint_id, state FROM complaint_views \
             WHERE complaint_id IN (SELECT DISTINCT complaint_id FROM sla_deadlines)",
        )
        .fetch_all(&mut *tx)
        .await?;
        let n = rows.len();
        let mut states = Vec::with_capacity(n);
        for row in rows {
            let id: String = row.try_get("complaint_id")?;
            let state: String = row.try_get("state")?;
            let state: Complaint = serde_json::from_str(&state).map_err(|e| {
                StoreError::integrity(
                    id.clone(),
                    format!("its view row cannot be read: {e}"),
                    Some(Box::new(e)),
                )
            })?;
            states.push((id, state));
        }
        let refs: Vec<(&str, &Complaint)> = states.iter().map(|(id, s)| (id.as_str(), s)).collect();
        // Every one of them has a view row, so may have rows in the index.
        let ids: Vec<&str> = refs.iter().map(|(id, _)| *id).collect();
        write_deadlines(&mut *tx, Target::Live, &refs, &ids, services).await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(SLA_BASIS)
        .bind(basis(services))
        .execute(&mut *tx)
        .await?;
        Ok(n)
    }
}
