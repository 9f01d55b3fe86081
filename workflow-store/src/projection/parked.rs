//! Complaints a projection set aside because one of their events cannot be read: the
//! batch loop skips them (see [`Projector::run_batch`]); an operator lists them and,
//! after the fix (an upcaster, say), takes them back with [`Projector::resume`].

use std::collections::HashSet;

use crate::position::Position;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};
use workflow_core::{ComplaintId, Sequence};

use super::{lock_checkpoint, Projector, Target};
use crate::error::StoreError;

/// A complaint a projection set aside because one of its events cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parked {
    /// The projection.
    pub projection: String,
    /// The complaint.
    pub complaint_id: String,
    /// The position of the event that cannot be read.
    pub position: Position,
    /// Its sequence within the complaint.
    pub sequence: Sequence,
    /// Why it cannot be read.
    pub reason: String,
    /// When it was set aside.
    pub parked_at: DateTime<Utc>,
}

impl Projector {
    pub(super) async fn parked_ids(
        &self,
        conn: &mut AnyConnection,
        name: &str,
    ) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query("SELECT complaint_id FROM projection_parked WHERE projection = $1")
            .bind(name)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| r.try_get("complaint_id").map_err(StoreError::from))
            .collect()
    }

    /// The complaints every projection has set aside, with the event that stopped each.
    pub async fn parked(&self) -> Result<Vec<Parked>, StoreError> {
        let rows = sqlx::query("SELECT projection, complaint_id, position, sequence, reason, parked_at FROM projection_parked ORDER BY projection, position")
            .fetch_all(&self.db().any)
            .await?;
        rows.into_iter()
            .map(|row| {
                let complaint_id: String = row.try_get("complaint_id")?;
                Ok(Parked {
                    projection: row.try_get("projection")?,
                    position: row.try_get("position")?,
                    sequence: crate::codec::sequence(row.try_get("sequence")?),
                    reason: row.try_get("reason")?,
                    parked_at: crate::codec::instant(
                        &complaint_id,
                        "parked_at",
                        &row.try_get::<String, _>("parked_at")?,
                    )?,
                    complaint_id,
                })
            })
            .collect()
    }

    /// Takes a parked complaint back into every projection that set it aside: its rows
    /// are projected again from its first event up to the projection's checkpoint, in
    /// one transaction per projection. Run after the fix (an upcaster, say); if an event
    /// still cannot be read, nothing changes and the error names it. Returns how many
    /// projections took it back.
    pub async fn resume(&self, complaint_id: &ComplaintId) -> Result<usize, StoreError> {
        self.db().writable("resuming a parked complaint")?;
        let db = self.db();
        let mut resumed = 0;
        for p in &self.projections {
            let name = p.name();
            let mut tx = db.begin_writing(&db.any).await?;
            let position = lock_checkpoint(db, &mut tx, name).await?;
            let services = self.services.refresh_in(&mut tx).await?;
            let parked = sqlx::query(
                "SELECT 1 AS one FROM projection_parked WHERE projection = $1 AND complaint_id = $2",
            )
            .bind(name)
            .bind(complaint_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if parked.is_none() {
                tx.rollback().await?;
                continue;
            }
            let events = self
                .log
                .read_complaint_through(&mut tx, complaint_id.as_str(), position)
                .await?
                .into_iter()
                .map(|r| r.map_err(crate::log::Unreadable::into_error))
                .collect::<Result<Vec<_>, _>>()?;
            for table in p.tables() {
                sqlx::query(&format!("DELETE FROM {table} WHERE complaint_id = $1"))
                    .bind(complaint_id.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            p.apply(&mut tx, Target::Live, &events, &services).await?;
            sqlx::query(
                "DELETE FROM projection_parked WHERE projection = $1 AND complaint_id = $2",
            )
            .bind(name)
            .bind(complaint_id.as_str())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            resumed += 1;
        }
        if resumed == 0 {
            return Err(StoreError::NotFound(format!(
                "parked complaint `{complaint_id}`"
            )));
        }
        self.applied.notify_waiters();
        Ok(resumed)
    }
}
