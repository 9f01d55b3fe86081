//! The audit timeline: one row per event, to find what a user did and when.

use async_trait::async_trait;
use sqlx::AnyConnection;
use workflow_core::ComplaintServices;

use super::{Projection, Target};
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

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        target: Target,
        events: &[StoredEvent],
        _services: &ComplaintServices,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {} (position, complaint_id, sequence, at, recorded_at, actor, role, agency, event_type, command_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (position) DO NOTHING",
            target.table("audit_timeline")
        );
        for e in events {
            let by = &e.event.by;
            sqlx::query(&sql)
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
                )
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}
