//! The complaint views: one row per complaint (list and detail, with the complaint's
//! state as JSON), one row per running SLA clock (the SLA board's index), and one row
//! per blob of evidence a complaint cites (who may download it), and one row per run of
//! every clock, ended ones too (the statistics: how long each step took, breaches).
//!
//! Each complaint's row carries its state; a batch loads the states of the complaints it
//! touches, applies the batch's events with the domain's own `apply_event`, and writes
//! them back, so the view can never disagree with a replay of the log. It works set-wise:
//! a few statements per batch (chunked), not a few per complaint.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};
use workflow_core::sla::{assess_clock, open_deadline, OpenDeadline};
use workflow_core::{Complaint, ComplaintServices};

use super::{Projection, Target};
use crate::backend::Params;
use crate::error::StoreError;
use crate::log::StoredEvent;
use crate::timestamp;
use crate::views::{cited_by, CitationKind};

/// Maintains `complaint_views`, `sla_deadlines`, `evidence_citations` and `step_runs`.
#[derive(Debug, Default)]
pub struct ComplaintsProjection;

impl ComplaintsProjection {
    /// Its name, and its checkpoint's.
    pub(crate) const NAME: &'static str = "complaints";
}

/// Rows per multi-row statement (well under both databases' parameter limits).
pub(super) const CHUNK: usize = 200;

#[async_trait]
impl Projection for ComplaintsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "complaint_views",
            "sla_deadlines",
            "evidence_citations",
            "step_runs",
        ]
    }

    /// A complaint's rows come from its own events alone.
    fn replays_by_complaint(&self) -> bool {
        true
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
        let ids: Vec<&str> = by_complaint.keys().copied().collect();
        let mut states = load_states(conn, target, &ids).await?;
        // A complaint without a view row has no rows in the other tables either (they
        // are written, and deleted, together): only those with one have rows to replace.
        let mut had_rows: Vec<&str> = Vec::new();
        let mut changed: Vec<(&str, Complaint, &StoredEvent)> = Vec::new();
        // Complaints whose view was current already (a replayed batch, or the pass over
        // the log that fills a table added later): their runs are written all the same.
        let mut current: Vec<(&str, Complaint)> = Vec::new();
        let mut cited: Vec<(&str, &str, CitationKind)> = Vec::new();
        for (complaint_id, events) in by_complaint {
            let (mut state, applied) = match states.remove(complaint_id) {
                Some(loaded) => {
                    had_rows.push(complaint_id);
                    loaded
                }
                None => Default::default(),
            };
            let mut last = None;
            for e in events {
                // Before the check below: a database made before citations were kept
                // projects its log again from the start to fill them in.
                cited.extend(
                    cited_by(&e.event.body)
                        .into_iter()
                        .map(|(sha256, kind)| (sha256, complaint_id, kind)),
                );
                if crate::codec::sequence_column(e.sequence) <= applied {
                    continue; // already in the view (a replayed batch)
                }
                state.apply_event(&e.event);
                last = Some(e);
            }
            match last {
                Some(last) => changed.push((complaint_id, state, last)),
                None if applied > 0 => current.push((complaint_id, state)),
                None => {}
            }
        }
        write_views(conn, target, &changed).await?;
        write_citations(conn, target, &cited).await?;
        let deadlines: Vec<(&str, &Complaint)> =
            changed.iter().map(|(id, s, _)| (*id, s)).collect();
        write_deadlines(conn, target, &deadlines, &had_rows, services).await?;
        let runs: Vec<(&str, &Complaint)> = deadlines
            .iter()
            .copied()
            .chain(current.iter().map(|(id, s)| (*id, s)))
            .collect();
        write_runs(conn, target, &runs, &had_rows, services).await
    }
}

async fn load_states(
    conn: &mut AnyConnection,
    target: Target,
    ids: &[&str],
) -> Result<BTreeMap<String, (Complaint, i64)>, StoreError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT complaint_id, state, sequence FROM {} WHERE complaint_id IN ({})",
            target.table("complaint_views"),
            Params::of(conn).list(chunk.len())
        );
        // Not prepared once per connection: see `delete_rows_of`.
        let mut query = sqlx::query(&sql).persistent(false);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let id: String = row.try_get("complaint_id")?;
            let state: String = row.try_get("state")?;
            let state = serde_json::from_str(&state).map_err(|e| {
                StoreError::integrity(
                    id.clone(),
                    format!(
                        "its view row cannot be read ({e}); rebuild the `complaints` projection"
                    ),
                    Some(Box::new(e)),
                )
            })?;
            out.insert(id, (state, row.try_get("sequence")?));
        }
    }
    Ok(out)
}

async fn write_views(
    conn: &mut AnyConnection,
    target: Target,
    changed: &[(&str, Complaint, &StoredEvent)],
) -> Result<(), StoreError> {
    const COLUMNS: usize = 13;
    for chunk in changed.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO {} (complaint_id, lapor_id, title, category, status, agency, liaison_officer, confidentiality, \
             registered_at, updated_at, sequence, position, state) VALUES {} \
             ON CONFLICT (complaint_id) DO UPDATE SET status = excluded.status, agency = excluded.agency, \
             liaison_officer = excluded.liaison_officer, updated_at = excluded.updated_at, sequence = excluded.sequence, \
             position = excluded.position, state = excluded.state",
            target.table("complaint_views"),
            Params::of(conn).rows(chunk.len(), COLUMNS)
        );
        let mut query: Query<'_, Any, AnyArguments<'_>> = sqlx::query(&sql);
        for (complaint_id, state, last) in chunk {
            let Some(registration) = state.registration() else {
                return Err(StoreError::integrity(
                    *complaint_id,
                    "its first event is not Received",
                    None,
                ));
            };
            let first_at = state
                .timeline()
                .clocks
                .first()
                .map(|c| c.started_at)
                .unwrap_or(last.event.at);
            let json = serde_json::to_string(state)
                .map_err(|e| StoreError::backend("encoding a complaint's view state", e))?;
            query = query
                .bind((*complaint_id).to_owned())
                .bind(registration.lapor_id.clone())
                .bind(registration.title.clone())
                .bind(registration.category.clone())
                .bind(state.status().as_str())
                .bind(state.agency().map(|a| a.0.clone()))
                .bind(state.disposition().map(|d| d.liaison_officer.0.clone()))
                .bind(registration.complainant.confidentiality.as_str())
                .bind(timestamp(first_at))
                .bind(timestamp(last.event.at))
                .bind(crate::codec::sequence_column(last.sequence))
                .bind(last.position)
                .bind(json);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn write_citations(
    conn: &mut AnyConnection,
    target: Target,
    cited: &[(&str, &str, CitationKind)],
) -> Result<(), StoreError> {
    let cited = distinct(cited);
    for chunk in cited.chunks(CHUNK) {
        // A blob cited twice in one complaint as the same kind is one row.
        let sql = format!(
            "INSERT INTO {} (sha256, complaint_id, kind) VALUES {} \
             ON CONFLICT (sha256, complaint_id, kind) DO NOTHING",
            target.table("evidence_citations"),
            Params::of(conn).rows(chunk.len(), 3)
        );
        let mut query: Query<'_, Any, AnyArguments<'_>> = sqlx::query(&sql);
        for (sha256, complaint_id, kind) in chunk {
            query = query
                .bind((*sha256).to_owned())
                .bind((*complaint_id).to_owned())
                .bind(kind.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The citations of a batch, each once: a blob is cited again by every event that names
/// it (each field visit's photos, say), and sending each again for the database to
/// refuse as a conflict was most of what a replay spent on this table.
fn distinct<'a>(
    cited: &[(&'a str, &'a str, CitationKind)],
) -> Vec<(&'a str, &'a str, CitationKind)> {
    let mut cited = cited.to_vec();
    cited.sort_unstable();
    cited.dedup();
    cited
}

/// One row of the SLA index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeadlineRow {
    pub complaint_id: String,
    pub step: &'static str,
    pub occurrence: i64,
    pub agency: Option<String>,
    pub started_at: String,
    pub due_at: Option<String>,
    pub at_risk_from: Option<String>,
    pub ended_at: Option<String>,
    pub breachable: i64,
    pub breach_recorded: i64,
}

/// A complaint's rows in the SLA index: every running clock, and every clock that ended
/// late without its breach recorded yet (so the monitor finds it too).
pub(crate) fn deadline_rows(
    complaint_id: &str,
    state: &Complaint,
    services: &ComplaintServices,
) -> Vec<DeadlineRow> {
    let timeline = state.timeline();
    let mut rows = Vec::new();
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
        rows.push(DeadlineRow {
            complaint_id: complaint_id.to_owned(),
            step: clock.step.as_str(),
            occurrence: i64::from(clock.occurrence),
            agency: state.agency().map(|a| a.0.clone()),
            started_at: timestamp(clock.started_at),
            due_at: deadline.as_ref().map(|d| timestamp(d.due_at)),
            at_risk_from: deadline.as_ref().map(|d| timestamp(d.at_risk_from)),
            ended_at: clock.ended_at.map(timestamp),
            breachable: i64::from(clock.step.is_breachable()),
            breach_recorded: i64::from(clock.breach_recorded_at.is_some()),
        });
    }
    rows
}

/// Deletes the complaints' rows of `table` (one per clock run), a chunk of ids at a time.
async fn delete_rows_of(
    conn: &mut AnyConnection,
    table: &str,
    complaints: &[&str],
) -> Result<(), StoreError> {
    for chunk in complaints.chunks(CHUNK) {
        let sql = format!(
            "DELETE FROM {table} WHERE complaint_id IN ({})",
            Params::of(conn).list(chunk.len())
        );
        // Planned at each use, not prepared once per connection: PostgreSQL would keep
        // the generic plan it made while a table was empty (a sequential scan) after
        // the table grew, and a replay into the emptied `_rebuild` tables then scans
        // them once per batch (quadratic in the log's length).
        let mut query = sqlx::query(&sql).persistent(false);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Replaces the complaints' rows in the SLA index: every running clock, and every clock
/// that ended late without its breach recorded yet (so the monitor finds it too).
/// `had_rows` names those of them that may have rows already (the others are new to
/// `target`, so there is nothing of theirs to delete).
pub(crate) async fn write_deadlines(
    conn: &mut AnyConnection,
    target: Target,
    complaints: &[(&str, &Complaint)],
    had_rows: &[&str],
    services: &ComplaintServices,
) -> Result<(), StoreError> {
    let table = target.table("sla_deadlines");
    delete_rows_of(conn, &table, had_rows).await?;
    let rows: Vec<DeadlineRow> = complaints
        .iter()
        .flat_map(|(id, state)| deadline_rows(id, state, services))
        .collect();
    const COLUMNS: usize = 10;
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO {table} (complaint_id, step, occurrence, agency, started_at, due_at, at_risk_from, ended_at, \
             breachable, breach_recorded) VALUES {}",
            Params::of(conn).rows(chunk.len(), COLUMNS)
        );
        let mut query: Query<'_, Any, AnyArguments<'_>> = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(r.complaint_id.clone())
                .bind(r.step)
                .bind(r.occurrence)
                .bind(r.agency.clone())
                .bind(r.started_at.clone())
                .bind(r.due_at.clone())
                .bind(r.at_risk_from.clone())
                .bind(r.ended_at.clone())
                .bind(r.breachable)
                .bind(r.breach_recorded);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One row of `step_runs`: a run of a clock, running or ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunRow {
    pub complaint_id: String,
    pub step: &'static str,
    pub occurrence: i64,
    pub agency: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub working_days: Option<i64>,
    pub late: Option<i64>,
    pub breach_recorded_at: Option<String>,
    pub breach_annulled_at: Option<String>,
    pub settled_on_time: i64,
}

/// A complaint's runs: for an ended one, the working days from its start to its end
/// (less the days spent waiting for the complainant, as its deadline added them) and
/// whether it ended late (its recorded verdict, or the assessment at its end). The
/// 60-day clock's last run of a closed complaint says whether it was settled on time:
/// no run of any clock late, but for breaches the coordinator annulled.
pub(crate) fn run_rows(
    complaint_id: &str,
    state: &Complaint,
    services: &ComplaintServices,
) -> Vec<RunRow> {
    let timeline = state.timeline();
    let zone = &services.policy.time_zone;
    let mut rows: Vec<RunRow> = timeline
        .clocks
        .iter()
        .map(|clock| {
            let ended = clock.ended_at.map(|ended| {
                let a = assess_clock(
                    clock,
                    &timeline.category,
                    &services.calendar,
                    &services.policy,
                    ended,
                );
                let spent = services
                    .calendar
                    .working_days_between(zone.local_date(clock.started_at), zone.local_date(ended))
                    .saturating_sub(a.paused_days);
                (i64::from(spent), i64::from(a.late))
            });
            RunRow {
                complaint_id: complaint_id.to_owned(),
                step: clock.step.as_str(),
                occurrence: i64::from(clock.occurrence),
                agency: state.agency().map(|a| a.0.clone()),
                started_at: timestamp(clock.started_at),
                ended_at: clock.ended_at.map(timestamp),
                working_days: ended.map(|(days, _)| days),
                late: ended.map(|(_, late)| late),
                breach_recorded_at: clock.breach_recorded_at.map(timestamp),
                breach_annulled_at: clock.breach_annulled_at.map(timestamp),
                settled_on_time: 0,
            }
        })
        .collect();
    if state.status() == workflow_core::Status::Closed {
        let on_time = rows
            .iter()
            .all(|r| r.late != Some(1) || r.breach_annulled_at.is_some());
        if let Some(overall) = rows.iter_mut().rev().find(|r| r.step == "overall") {
            overall.settled_on_time = i64::from(on_time && overall.ended_at.is_some());
        }
    }
    rows
}

/// Replaces the complaints' rows in `step_runs` (`had_rows` as for `write_deadlines`).
pub(crate) async fn write_runs(
    conn: &mut AnyConnection,
    target: Target,
    complaints: &[(&str, &Complaint)],
    had_rows: &[&str],
    services: &ComplaintServices,
) -> Result<(), StoreError> {
    let table = target.table("step_runs");
    delete_rows_of(conn, &table, had_rows).await?;
    let rows: Vec<RunRow> = complaints
        .iter()
        .flat_map(|(id, state)| run_rows(id, state, services))
        .collect();
    const COLUMNS: usize = 11;
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO {table} (complaint_id, step, occurrence, agency, started_at, ended_at, working_days, late, \
             breach_recorded_at, breach_annulled_at, settled_on_time) VALUES {}",
            Params::of(conn).rows(chunk.len(), COLUMNS)
        );
        let mut query: Query<'_, Any, AnyArguments<'_>> = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(r.complaint_id.clone())
                .bind(r.step)
                .bind(r.occurrence)
                .bind(r.agency.clone())
                .bind(r.started_at.clone())
                .bind(r.ended_at.clone())
                .bind(r.working_days)
                .bind(r.late)
                .bind(r.breach_recorded_at.clone())
                .bind(r.breach_annulled_at.clone())
                .bind(r.settled_on_time);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_writes_each_citation_once() {
        let cited = [
            ("b", "ADU-1", CitationKind::FieldVisit),
            ("a", "ADU-1", CitationKind::Registration),
            ("b", "ADU-1", CitationKind::FieldVisit),
            ("b", "ADU-2", CitationKind::FieldVisit),
            ("b", "ADU-1", CitationKind::Information),
            ("b", "ADU-1", CitationKind::FieldVisit),
        ];
        assert_eq!(
            distinct(&cited),
            vec![
                ("a", "ADU-1", CitationKind::Registration),
                ("b", "ADU-1", CitationKind::Information),
                ("b", "ADU-1", CitationKind::FieldVisit),
                ("b", "ADU-2", CitationKind::FieldVisit),
            ]
        );
    }
}
