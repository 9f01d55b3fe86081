//! The complaint views: one row per complaint (list and detail, with the complaint's
//! state as JSON) and one row per running SLA clock (the SLA board's index).
//!
//! Each complaint's row carries its state; a batch loads it, applies the batch's events
//! with the domain's own `apply_event`, and writes it back, so the view can never
//! disagree with a replay of the log.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{AnyConnection, Row};
use workflow_core::sla::{assess_clock, open_deadline, OpenDeadline};
use workflow_core::{Complaint, ComplaintServices};

use super::{Projection, Target};
use crate::error::StoreError;
use crate::log::StoredEvent;
use crate::timestamp;

/// Maintains `complaint_views` and `sla_deadlines`.
#[derive(Debug, Default)]
pub struct ComplaintsProjection;

#[async_trait]
impl Projection for ComplaintsProjection {
    fn name(&self) -> &'static str {
        "complaints"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["complaint_views", "sla_deadlines"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        target: Target,
        events: &[StoredEvent],
        services: &ComplaintServices,
    ) -> Result<(), StoreError> {
        // Group by complaint, keeping each complaint's events in log order.
        let mut by_complaint: BTreeMap<&str, Vec<&StoredEvent>> = BTreeMap::new();
        for e in events {
            by_complaint
                .entry(e.complaint_id.as_str())
                .or_default()
                .push(e);
        }
        for (complaint_id, events) in by_complaint {
            let (mut state, applied) = load_state(conn, target, complaint_id).await?;
            let mut last = None;
            for e in events {
                if (e.sequence as i64) <= applied {
                    continue; // already in the view (a replayed batch)
                }
                state.apply_event(&e.event);
                last = Some(e);
            }
            if let Some(last) = last {
                write_view(conn, target, complaint_id, &state, last).await?;
                write_deadlines(conn, target, complaint_id, &state, services).await?;
            }
        }
        Ok(())
    }
}

async fn load_state(
    conn: &mut AnyConnection,
    target: Target,
    complaint_id: &str,
) -> Result<(Complaint, i64), StoreError> {
    let row = sqlx::query(&format!(
        "SELECT state, sequence FROM {} WHERE complaint_id = $1",
        target.table("complaint_views")
    ))
    .bind(complaint_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok((Complaint::default(), 0)),
        Some(row) => {
            let state: String = row.try_get("state")?;
            let state = serde_json::from_str(&state).map_err(|e| StoreError::Integrity {
                complaint_id: complaint_id.to_owned(),
                reason: format!(
                    "its view row cannot be read ({e}); rebuild the `complaints` projection"
                ),
            })?;
            Ok((state, row.try_get("sequence")?))
        }
    }
}

async fn write_view(
    conn: &mut AnyConnection,
    target: Target,
    complaint_id: &str,
    state: &Complaint,
    last: &StoredEvent,
) -> Result<(), StoreError> {
    let Some(registration) = state.registration() else {
        return Err(StoreError::Integrity {
            complaint_id: complaint_id.to_owned(),
            reason: "its first event is not Received".into(),
        });
    };
    let first_at = state
        .timeline()
        .clocks
        .first()
        .map(|c| c.started_at)
        .unwrap_or(last.event.at);
    let json = serde_json::to_string(state).map_err(|e| StoreError::Backend(e.to_string()))?;
    sqlx::query(&format!(
        "INSERT INTO {} (complaint_id, lapor_id, title, category, status, agency, liaison_officer, confidentiality, \
         registered_at, updated_at, sequence, position, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (complaint_id) DO UPDATE SET status = excluded.status, agency = excluded.agency, \
         liaison_officer = excluded.liaison_officer, updated_at = excluded.updated_at, sequence = excluded.sequence, \
         position = excluded.position, state = excluded.state",
        target.table("complaint_views")
    ))
    .bind(complaint_id)
    .bind(&registration.lapor_id)
    .bind(&registration.title)
    .bind(&registration.category)
    .bind(state.status().as_str())
    .bind(state.agency().map(|a| a.0.clone()))
    .bind(state.disposition().map(|d| d.liaison_officer.0.clone()))
    .bind(registration.complainant.confidentiality.as_str())
    .bind(timestamp(first_at))
    .bind(timestamp(last.event.at))
    .bind(last.sequence as i64)
    .bind(last.position)
    .bind(json)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the complaint's rows in the SLA index: every running clock, and every clock
/// that ended late without its breach recorded yet (so the monitor finds it too).
pub(crate) async fn write_deadlines(
    conn: &mut AnyConnection,
    target: Target,
    complaint_id: &str,
    state: &Complaint,
    services: &ComplaintServices,
) -> Result<(), StoreError> {
    let table = target.table("sla_deadlines");
    sqlx::query(&format!("DELETE FROM {table} WHERE complaint_id = $1"))
        .bind(complaint_id)
        .execute(&mut *conn)
        .await?;
    let timeline = state.timeline();
    let sql = format!(
        "INSERT INTO {table} (complaint_id, step, occurrence, agency, started_at, due_at, at_risk_from, ended_at, breachable, breach_recorded) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    );
    for clock in &timeline.clocks {
        let deadline = match clock.ended_at {
            None => open_deadline(
                clock,
                &timeline.category,
                &services.calendar,
                &services.policy,
            ),
            Some(ended) => {
                let a = assess_clock(
                    clock,
                    &timeline.category,
                    &services.calendar,
                    &services.policy,
                    ended,
                );
                if !a.breach_to_record() {
                    continue;
                }
                Some(OpenDeadline {
                    due_date: a.due_date,
                    due_at: a.due_at,
                    at_risk_from: a.due_at,
                })
            }
        };
        sqlx::query(&sql)
            .bind(complaint_id)
            .bind(clock.step.as_str())
            .bind(i64::from(clock.occurrence))
            .bind(state.agency().map(|a| a.0.clone()))
            .bind(timestamp(clock.started_at))
            .bind(deadline.as_ref().map(|d| timestamp(d.due_at)))
            .bind(deadline.as_ref().map(|d| timestamp(d.at_risk_from)))
            .bind(clock.ended_at.map(timestamp))
            .bind(i64::from(clock.step.is_breachable()))
            .bind(i64::from(clock.breach_recorded_at.is_some()))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
