//! The store as an embedding service or the host uses it: open by URL, execute commands,
//! run projections, read views, enforce deadlines.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::persist::EventUpcaster;
use sha2::{Digest, Sha256};
use sqlx::Row;
use workflow_core::{Complaint, ComplaintServices};

use crate::backend::{BackendKind, Db};
use crate::engine::Engine;
use crate::error::StoreError;
use crate::log::SqlLog;
use crate::projection::{complaints::write_deadlines, Projector, Target};
use crate::views::Views;

/// What an SLA monitor tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Complaints looked at.
    pub complaints: usize,
    /// Breaches recorded.
    pub breaches_recorded: usize,
    /// Complaints closed automatically after their feedback window.
    pub closed: usize,
}

/// The engine on a durable log, with its projections and views.
pub struct Store {
    log: SqlLog,
    engine: Engine<SqlLog>,
    projector: Arc<Projector>,
    views: Views,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

const SLA_BASIS: &str = "sla_basis";

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`
    /// (`sqlite://PATH` or `postgres://…`). Deadlines still running are recomputed if
    /// the holiday table or SLA policy changed since the last open.
    pub async fn open(url: &str, services: ComplaintServices) -> Result<Self, StoreError> {
        Self::open_with_upcasters(url, services, Vec::new()).await
    }

    /// [`Store::open`] with upcasters for older event versions, applied on every read.
    pub async fn open_with_upcasters(
        url: &str,
        services: ComplaintServices,
        upcasters: Vec<Box<dyn EventUpcaster>>,
    ) -> Result<Self, StoreError> {
        let db = Db::connect(url).await?;
        db.migrate().await?;
        let log = SqlLog::new(db.clone(), upcasters);
        let projector = Arc::new(Projector::new(log.clone(), services.clone()));
        projector.register().await?;
        let store = Self {
            engine: Engine::new(log.clone(), services),
            views: Views::new(db.any.clone()),
            log,
            projector,
        };
        store.recompute_if_basis_changed().await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> BackendKind {
        self.log.db().kind
    }

    /// The command executor.
    pub fn engine(&self) -> &Engine<SqlLog> {
        &self.engine
    }

    /// The log, for reads in global order.
    pub fn log(&self) -> &SqlLog {
        &self.log
    }

    /// The projection runner.
    pub fn projector(&self) -> &Arc<Projector> {
        &self.projector
    }

    /// The read views.
    pub fn views(&self) -> &Views {
        &self.views
    }

    /// Closes the pools (waits for connections in use to be returned).
    pub async fn close(&self) {
        let db = self.log.db();
        db.any.close().await;
        match &db.typed {
            crate::backend::TypedPool::Sqlite(p) => p.close().await,
            crate::backend::TypedPool::Postgres(p) => p.close().await,
        }
    }

    /// The SLA monitor: finds, by index, the complaints with a breach to record or a
    /// feedback window run out at `now`, and sweeps each through the engine. Safe to run
    /// on several hosts at once: the commands it issues are idempotent.
    pub async fn sla_tick(&self, now: DateTime<Utc>) -> Result<TickReport, StoreError> {
        let ids = self.views.due_for_enforcement(now).await?;
        let mut report = TickReport {
            complaints: ids.len(),
            ..TickReport::default()
        };
        for id in ids {
            let outcome = self.engine.sweep(&id, now).await?;
            report.breaches_recorded += outcome.breaches_recorded.len();
            report.closed += usize::from(outcome.closed);
        }
        Ok(report)
    }

    fn sla_basis(&self) -> String {
        let services = self.engine.services();
        let policy = serde_json::to_string(services.policy.as_ref()).unwrap_or_default();
        let digest = Sha256::digest(format!("{}|{policy}", services.calendar.table().version()));
        crate::chain::hex(&digest[..8])
    }

    async fn recompute_if_basis_changed(&self) -> Result<(), StoreError> {
        let basis = self.sla_basis();
        let stored: Option<String> = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(SLA_BASIS)
            .fetch_optional(&self.log.db().any)
            .await?
            .map(|r| r.try_get("value"))
            .transpose()?;
        if stored.as_deref() != Some(basis.as_str()) {
            self.recompute_deadlines().await?;
        }
        Ok(())
    }

    /// Recomputes every running deadline from the complaints' states with the current
    /// calendar and policy (after a holiday table amendment, say). Returns how many
    /// complaints were recomputed.
    pub async fn recompute_deadlines(&self) -> Result<usize, StoreError> {
        let db = self.log.db();
        let services = self.engine.services();
        let mut tx = db.any.begin_with(db.begin_write()).await?;
        // Hold the complaints projection so no batch interleaves.
        sqlx::query(&format!(
            "SELECT position FROM projection_checkpoints WHERE name = $1{}",
            db.for_update()
        ))
        .bind("complaints")
        .fetch_optional(&mut *tx)
        .await?;
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
            let state: Complaint =
                serde_json::from_str(&state).map_err(|e| StoreError::Integrity {
                    complaint_id: id.clone(),
                    reason: format!("its view row cannot be read: {e}"),
                })?;
            states.push((id, state));
        }
        let refs: Vec<(&str, &Complaint)> = states.iter().map(|(id, s)| (id.as_str(), s)).collect();
        write_deadlines(&mut tx, Target::Live, &refs, services).await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(SLA_BASIS)
        .bind(self.sla_basis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}
