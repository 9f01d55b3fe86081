//! Enforcing deadlines on one complaint: record breaches and close complaints whose
//! feedback window has run out. The engine issues these as ordinary commands by the
//! `system` actor, with command ids derived from the clock run, so that several hosts
//! sweeping the same complaint record each breach exactly once.

use chrono::{DateTime, Utc};
use cqrs_es::EventStore;
use workflow_core::complaint::command::{BreachReport, Closure};
use workflow_core::sla::{assess, StepAssessment, StepStatus};
use workflow_core::{Actor, CommandEnvelope, Complaint, ComplaintCommand, Status, Step};

use crate::engine::Engine;
use crate::error::StoreError;

/// What a sweep of one complaint did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Breaches recorded now, as (step, occurrence).
    pub breaches_recorded: Vec<(Step, u32)>,
    /// Whether the complaint was closed automatically.
    pub closed: bool,
}

impl<ES: EventStore<Complaint>> Engine<ES> {
    /// The complaint's SLA clocks assessed at `now` with the engine's calendar and policy.
    pub async fn assess(
        &self,
        complaint_id: &str,
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
        complaint_id: &str,
        now: DateTime<Utc>,
    ) -> Result<SweepOutcome, StoreError> {
        let mut outcome = SweepOutcome::default();
        let complaint = self.load(complaint_id).await?;
        let services = self.services();
        let assessments = assess(
            complaint.timeline(),
            &services.calendar,
            &services.policy,
            now,
        );
        let latest_runs = assessments.iter().filter(|a| {
            complaint
                .timeline()
                .latest(a.step)
                .is_some_and(|c| c.occurrence == a.occurrence)
        });
        for a in latest_runs {
            if a.breach_to_record() {
                let command = CommandEnvelope::new(
                    format!("sla-breach:{}:{}", a.step, a.occurrence),
                    Actor::system(),
                    now,
                    ComplaintCommand::RecordSlaBreach(BreachReport { step: a.step }),
                );
                if !self
                    .execute(complaint_id, command, None)
                    .await?
                    .events
                    .is_empty()
                {
                    outcome.breaches_recorded.push((a.step, a.occurrence));
                }
            }
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
                    .execute(complaint_id, command, None)
                    .await?
                    .events
                    .is_empty();
            }
        }
        Ok(outcome)
    }
}
