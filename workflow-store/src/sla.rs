//! Enforcing deadlines on one complaint: record breaches and close complaints whose
//! feedback window has run out. The engine issues these as ordinary commands by the
//! `system` actor, with command ids derived from the clock run, so that several hosts
//! sweeping the same complaint record each breach exactly once.

use chrono::{DateTime, Utc};
use cqrs_es::persist::SerializedEvent;
use cqrs_es::{Aggregate, EventStore};
use futures::TryStreamExt;
use sqlx::Row;
use workflow_core::complaint::command::{BreachReport, Closure, WindowReport};
use workflow_core::sla::{assess, StepAssessment, StepStatus};
use workflow_core::ComplaintId;
use workflow_core::{
    Actor, CommandEnvelope, Complaint, ComplaintCommand, ComplaintServices, Status, Step,
};

use crate::backend::BackendKind;
use crate::engine::Engine;
use crate::error::StoreError;
use crate::log::SqlLog;
use crate::projection::complaints::{deadline_rows, DeadlineRow};
use crate::views::{board_status, BoardEntry, BoardStatus};

/// What a sweep of one complaint did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Breaches recorded now, as (step, occurrence).
    pub breaches_recorded: Vec<(Step, u32)>,
    /// Whether the complaint was closed automatically.
    pub closed: bool,
    /// Whether the complaint was deemed withdrawn (the complainant's window to answer
    /// an information request ran out).
    pub deemed_withdrawn: bool,
}

impl<ES: EventStore<Complaint>> Engine<ES> {
    /// The complaint's SLA clocks assessed at `now` with the engine's calendar and policy.
    pub async fn assess(
        &self,
        complaint_id: &ComplaintId,
        now: DateTime<Utc>,
    ) -> Result<Vec<StepAssessment>, StoreError> {
        let complaint = self.load(complaint_id).await?;
        let services = self.services();
        Ok(assess(
            complaint.timeline(),
            &services.calendar,
            &services.policy,
            now,
        ))
    }

    /// Records every breach due at `now` and closes the complaint if its feedback window
    /// has elapsed. Idempotent: a second sweep at the same `now` does nothing.
    pub async fn sweep(
        &self,
        complaint_id: &ComplaintId,
        now: DateTime<Utc>,
    ) -> Result<SweepOutcome, StoreError> {
        let mut outcome = SweepOutcome::default();
        let services = self.fresh_services().await?;
        let complaint = self.load(complaint_id).await?;
        let assessments = assess(
            complaint.timeline(),
            &services.calendar,
            &services.policy,
            now,
        );
        // Every run's breach, also of a run that a re-disposition or a return superseded.
        for a in assessments.iter().filter(|a| a.breach_to_record()) {
            let command = CommandEnvelope::new(
                format!("sla-breach:{}:{}", a.step, a.occurrence),
                Actor::system(),
                now,
                ComplaintCommand::RecordSlaBreach(BreachReport {
                    step: a.step,
                    occurrence: Some(a.occurrence),
                }),
            );
            if !self
                .execute_by_clock(complaint_id, command, None)
                .await?
                .events
                .is_empty()
            {
                outcome.breaches_recorded.push((a.step, a.occurrence));
            }
        }
        let latest_runs = assessments.iter().filter(|a| {
            complaint
                .timeline()
                .latest(a.step)
                .is_some_and(|c| c.occurrence == a.occurrence)
        });
        for a in latest_runs {
            if a.step == Step::Feedback
                && a.status == StepStatus::Elapsed
                && complaint.status() == Status::Responded
            {
                let command = CommandEnvelope::new(
                    format!("auto-close:{}", a.occurrence),
                    Actor::system(),
                    now,
                    ComplaintCommand::Close(Closure {
                        note: Some("Ditutup otomatis: masa tanggapan pelapor berakhir".into()),
                    }),
                );
                outcome.closed = !self
                    .execute_by_clock(complaint_id, command, None)
                    .await?
                    .events
                    .is_empty();
            }
            if a.step == Step::InformationWait
                && a.status == StepStatus::Elapsed
                && complaint.status() == Status::AwaitingInformation
            {
                let command = CommandEnvelope::new(
                    format!("deemed-withdrawn:{}", a.occurrence),
                    Actor::system(),
                    now,
                    ComplaintCommand::DeemWithdrawn(WindowReport::default()),
                );
                outcome.deemed_withdrawn = !self
                    .execute_by_clock(complaint_id, command, None)
                    .await?
                    .events
                    .is_empty();
            }
        }
        Ok(outcome)
    }
}

/// The SLA board at `now` computed from the log alone: every complaint rebuilt from its
/// events (upcast as on every read), its running clocks turned into the rows the SLA
/// index would hold, then filtered and ordered as [`crate::views::Views::sla_board`]
/// does. Reads only; one walk of the log in complaint order, keeping one complaint's
/// state at a time.
pub(crate) async fn board_from_log(
    log: &SqlLog,
    services: &ComplaintServices,
    now: DateTime<Utc>,
    status: Option<BoardStatus>,
    agency: Option<&str>,
) -> Result<Vec<BoardEntry>, StoreError> {
    let db = log.db();
    let sql = db.events_by_complaint_sql("", "");
    let mut tx = db.begin_walk(&db.any).await?;
    let mut rows = sqlx::query(&sql).bind(Complaint::TYPE).fetch(&mut *tx);
    let mut deadlines: Vec<DeadlineRow> = Vec::new();
    let mut current: Option<(String, Complaint)> = None;
    while let Some(row) = rows.try_next().await? {
        let id: String = row.try_get("aggregate_id")?;
        let sequence: i64 = row.try_get("sequence")?;
        if current.as_ref().is_none_or(|(c, _)| *c != id) {
            if let Some((done, state)) = current.take() {
                deadlines.extend(deadline_rows(&done, &state, services));
            }
            current = Some((id.clone(), Complaint::default()));
        }
        let integrity = |e: serde_json::Error| {
            StoreError::integrity(
                id.clone(),
                format!("sequence {sequence}: {e}"),
                Some(Box::new(e)),
            )
        };
        let payload =
            serde_json::from_str(&row.try_get::<String, _>("payload")?).map_err(integrity)?;
        let metadata =
            serde_json::from_str(&row.try_get::<String, _>("metadata")?).map_err(integrity)?;
        let (event, _) = log.decode(SerializedEvent::new(
            id.clone(),
            usize::try_from(sequence).unwrap_or_default(),
            Complaint::TYPE.to_owned(),
            row.try_get("event_type")?,
            row.try_get("event_version")?,
            payload,
            metadata,
        ))?;
        if let Some((_, state)) = current.as_mut() {
            state.apply_event(&event);
        }
    }
    drop(rows);
    tx.commit().await?;
    if let Some((done, state)) = current.take() {
        deadlines.extend(deadline_rows(&done, &state, services));
    }

    let mut board: Vec<BoardEntry> = Vec::new();
    for r in deadlines {
        let step: Step = crate::codec::named(&r.complaint_id, "step", r.step)?;
        if r.ended_at.is_some() || !(r.breachable == 1 || step == Step::InformationWait) {
            continue;
        }
        if agency.is_some_and(|a| r.agency.as_deref() != Some(a)) {
            continue;
        }
        let id = &r.complaint_id;
        let due_at = crate::codec::instant_opt(id, "due_at", r.due_at.as_deref())?;
        let at_risk_from =
            crate::codec::instant_opt(id, "at_risk_from", r.at_risk_from.as_deref())?;
        let entry = BoardEntry {
            status: board_status(step, due_at, at_risk_from, now),
            step,
            occurrence: r.occurrence,
            agency: r.agency.map(workflow_core::AgencyCode),
            started_at: crate::codec::instant(id, "started_at", &r.started_at)?,
            due_at,
            breach_recorded: r.breach_recorded != 0,
            complaint_id: crate::codec::named(id, "complaint_id", id)?,
        };
        if status.is_none_or(|s| entry.status == s) {
            board.push(entry);
        }
    }
    // `ORDER BY due_at, complaint_id, step` as the index query has it: a paused duty
    // (no deadline) sorts first on SQLite and last on PostgreSQL.
    let paused_first = db.kind == BackendKind::Sqlite;
    board.sort_by(|a, b| {
        let key = |e: &BoardEntry| (e.due_at.is_none() != paused_first, e.due_at);
        key(a)
            .cmp(&key(b))
            .then_with(|| a.complaint_id.cmp(&b.complaint_id))
            .then_with(|| a.step.as_str().cmp(b.step.as_str()))
    });
    Ok(board)
}
