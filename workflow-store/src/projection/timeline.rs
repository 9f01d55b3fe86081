//! The audit timeline: one row per event, to find what a user did and when.

use async_trait::async_trait;
use sqlx::AnyConnection;
use workflow_core::ComplaintServices;

use super::complaints::CHUNK;
use super::{Projection, Target};
use crate::backend::Params;
use crate::engine::metadata_keys;
use crate::error::StoreError;
use crate::log::StoredEvent;
use crate::timestamp;

/// Maintains `audit_timeline`.
#[derive(Debug, Default)]
pub struct TimelineProjection;

#[async_trait]
impl Projection for TimelineProjection {
    fn name(&self) -> &'static str {
        "timeline"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["audit_timeline"]
    }

    /// A row per event, keyed by its position: the order they come in makes no
    /// difference.
    fn replays_by_complaint(&self) -> bool {
        true
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        target: Target,
        events: &[StoredEvent],
        _services: &ComplaintServices,
    ) -> Result<(), StoreError> {
        // Multi-row statements, as the complaint views are written (see `Params`).
        const COLUMNS: usize = 10;
        for chunk in events.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO {} (position, complaint_id, sequence, at, recorded_at, actor, role, agency, event_type, command_id) \
                 VALUES {} ON CONFLICT (position) DO NOTHING",
                target.table("audit_timeline"),
                Params::of(conn).rows(chunk.len(), COLUMNS)
            );
            let mut query = sqlx::query(&sql);
            for e in chunk {
                let by = &e.event.by;
                query = query
                    .bind(e.position)
                    .bind(e.complaint_id.as_str())
                    .bind(crate::codec::sequence_column(e.sequence))
                    .bind(timestamp(e.event.at))
                    .bind(timestamp(e.recorded_at))
                    .bind(&by.user.0)
                    .bind(by.role.as_str())
                    .bind(by.agency.as_ref().map(|a| a.0.clone()))
                    .bind(e.event.body.event_type())
                    .bind(
                        e.metadata
                            .get(metadata_keys::COMMAND_ID)
                            .cloned()
                            .unwrap_or_else(|| e.event.command_id.0.clone()),
                    );
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}
