//! `decide`: the SOP's rules. Pure: the state, the command envelope and the services in;
//! events or a refusal out. Nothing is read from a clock and no id is made up.

use chrono::Datelike;

use crate::actor::{Actor, Role};
use crate::complaint::command::{ArchiveReason, CommandEnvelope, ComplaintCommand, Party};
use crate::complaint::event::{ComplaintEvent, EventBody, SlaBreach, WindowElapsed};
use crate::complaint::{Complaint, ComplaintServices, Status};
use crate::error::DomainError;
use crate::evidence::EvidenceRef;
use crate::sla::{assess_clock, Step, StepAssessment, StepStatus};

type Decision = Result<Vec<ComplaintEvent>, DomainError>;

/// Which roles may issue a command. APIP and heads issue none.
fn allowed_roles(command: &ComplaintCommand) -> &'static [Role] {
    match command {
        ComplaintCommand::Register(_) | ComplaintCommand::ProvideInformation(_) => &[Role::Upp],
        ComplaintCommand::Dispose(_) | ComplaintCommand::Forward(_) => {
            &[Role::Upp, Role::Coordinator]
        }
        ComplaintCommand::Archive(_) | ComplaintCommand::Withdraw(_) => &[Role::Upp],
        ComplaintCommand::Close(_) => &[Role::Upp, Role::System],
        ComplaintCommand::RecordSlaBreach(_) | ComplaintCommand::DeemWithdrawn(_) => {
            &[Role::System]
        }
        ComplaintCommand::AcknowledgeBa(_) => &[Role::Head],
        ComplaintCommand::ReturnForRedisposition(_)
        | ComplaintCommand::Review(_)
        | ComplaintCommand::Reject(_)
        | ComplaintCommand::RequestInformation(_)
        | ComplaintCommand::Clarify(_)
        | ComplaintCommand::VerifyInField(_)
        | ComplaintCommand::IssueBa(_)
        | ComplaintCommand::Respond(_) => &[Role::Liaison],
    }
}

fn require(text: &str, field: &'static str) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        Err(DomainError::MissingField { field })
    } else {
        Ok(())
    }
}

fn require_parties(parties: &[Party], field: &'static str) -> Result<(), DomainError> {
    if parties.is_empty() {
        return Err(DomainError::MissingField { field });
    }
    for p in parties {
        require(&p.name, "party name")?;
        require(&p.position, "party position")?;
    }
    Ok(())
}

fn validate_evidence(evidence: &[EvidenceRef]) -> Result<(), DomainError> {
    evidence.iter().try_for_each(EvidenceRef::validate)
}

impl Complaint {
    /// Decides what a command does to this complaint: the events to record, or the rule
    /// that refuses it. A command id already seen yields no events (an idempotent retry).
    pub fn decide(&self, envelope: &CommandEnvelope, services: &ComplaintServices) -> Decision {
        let CommandEnvelope { actor, command, .. } = envelope;
        if !crate::actor::is_valid_user_name(&actor.user.0) {
            return Err(DomainError::UserNameInvalid);
        }
        let registering = matches!(command, ComplaintCommand::Register(_));
        if !registering && self.status == Status::New {
            return Err(DomainError::NotRegistered);
        }
        // APIP changes nothing; a head only acknowledges the BA addressed to them.
        let acknowledging = matches!(command, ComplaintCommand::AcknowledgeBa(_));
        if actor.role == Role::Apip || (actor.role == Role::Head && !acknowledging) {
            return Err(DomainError::ReadOnlyRole { role: actor.role });
        }
        if !allowed_roles(command).contains(&actor.role) {
            return Err(DomainError::RoleNotPermitted {
                role: actor.role,
                command: command.name(),
            });
        }
        // A seen id lets no role past these checks. Whether it was this same command by
        // this same user is checked against the log by the executor
        // (`CommandEnvelope::check_retry_of`); the agency check is not repeated for such
        // a retry, since the command may itself have moved the complaint away from the
        // agency (a return) after it was allowed.
        if self.has_seen(&envelope.command_id) {
            return Ok(Vec::new());
        }
        if matches!(actor.role, Role::Liaison | Role::Head) {
            self.check_agency(actor)?;
        }
        let body = self.decide_body(envelope, services)?;
        Ok(vec![ComplaintEvent {
            at: envelope.now,
            by: envelope.actor.clone(),
            command_id: envelope.command_id.clone(),
            body,
        }])
    }

    /// The latest run of a window (`step`) assessed at the command's instant.
    fn assess_latest(
        &self,
        step: Step,
        services: &ComplaintServices,
        envelope: &CommandEnvelope,
    ) -> Result<StepAssessment, DomainError> {
        let clock = self
            .timeline()
            .latest(step)
            .ok_or(DomainError::StepNotStarted { step })?;
        Ok(assess_clock(
            clock,
            &self.timeline().category,
            &services.calendar,
            &services.policy,
            envelope.now,
        ))
    }

    fn check_agency(&self, actor: &Actor) -> Result<(), DomainError> {
        match (self.agency(), actor.agency.as_ref()) {
            (Some(disposed), Some(own)) if disposed == own => Ok(()),
            (disposed, _) => Err(DomainError::NotYourAgency {
                disposed_to: disposed.cloned(),
            }),
        }
    }

    fn transition_error(&self, command: &ComplaintCommand) -> DomainError {
        if self.status == Status::AwaitingInformation {
            return DomainError::WaitingForComplainant;
        }
        DomainError::InvalidTransition {
            command: command.name(),
            status: self.status,
        }
    }

    fn decide_body(
        &self,
        envelope: &CommandEnvelope,
        services: &ComplaintServices,
    ) -> Result<EventBody, DomainError> {
        let command = &envelope.command;
        let status = self.status;
        let wrong_state = || Err(self.transition_error(command));
        match command {
            ComplaintCommand::Register(r) => {
                if status != Status::New {
                    return Err(DomainError::AlreadyRegistered);
                }
                require(&r.lapor_id, "lapor_id")?;
                require(&r.title, "title")?;
                require(&r.description, "description")?;
                require(&r.category, "category")?;
                require(&r.upp_review, "upp_review")?;
                require(&r.complainant.name, "complainant.name")?;
                validate_evidence(&r.attachments)?;
                // The report reached LAPOR! before it reached the unit, and not in the
                // last millennium: a wrong date would move every clock of the complaint.
                if r.reported_at > envelope.now {
                    return Err(DomainError::ReportedAfterRegistration {
                        reported_at: r.reported_at,
                        registered_at: envelope.now,
                    });
                }
                if r.reported_at.year() < 2000 {
                    return Err(DomainError::ReportedAtImplausible {
                        reported_at: r.reported_at,
                    });
                }
                Ok(EventBody::Received(r.clone()))
            }
            ComplaintCommand::Dispose(d) => {
                match status {
                    Status::Received | Status::Returned => {}
                    Status::Disposed => {
                        if self.agency() == Some(&d.agency) {
                            return Err(DomainError::AlreadyDisposedTo {
                                agency: d.agency.clone(),
                            });
                        }
                    }
                    _ => return wrong_state(),
                }
                require(&d.agency.0, "agency")?;
                require(&d.liaison_officer.0, "liaison_officer")?;
                Ok(EventBody::Disposed(d.clone()))
            }
            ComplaintCommand::ReturnForRedisposition(r) => {
                if !matches!(
                    status,
                    Status::Disposed | Status::Reviewed | Status::InformationProvided
                ) {
                    return wrong_state();
                }
                require(&r.reason, "reason")?;
                Ok(EventBody::Returned(r.clone()))
            }
            ComplaintCommand::Review(r) => {
                if !matches!(status, Status::Disposed | Status::InformationProvided) {
                    return wrong_state();
                }
                if r.complete != r.missing_items.is_empty()
                    || r.missing_items.iter().any(|m| m.trim().is_empty())
                {
                    return Err(DomainError::ReviewInconsistent);
                }
                Ok(EventBody::Reviewed(r.clone()))
            }
            ComplaintCommand::Reject(r) => {
                if !matches!(status, Status::Reviewed | Status::AwaitingInformation) {
                    return Err(if status.is_terminal() {
                        self.transition_error(command)
                    } else {
                        DomainError::RejectRequiresIncompleteAndUnclearReview
                    });
                }
                // "kalau tidak lengkap dan tidak jelas tidak ditanggapi": both, not either.
                if self.last_review().is_none_or(|rv| rv.complete || rv.clear) {
                    return Err(DomainError::RejectRequiresIncompleteAndUnclearReview);
                }
                require(&r.reason, "reason")?;
                Ok(EventBody::Rejected(r.clone()))
            }
            ComplaintCommand::RequestInformation(q) => {
                if status != Status::Reviewed {
                    return wrong_state();
                }
                if self.last_review().is_none_or(|rv| rv.complete && rv.clear) {
                    return Err(DomainError::RequestRequiresIncompleteOrUnclearReview);
                }
                if q.questions.is_empty() {
                    return Err(DomainError::MissingField { field: "questions" });
                }
                for question in &q.questions {
                    require(question, "questions")?;
                }
                Ok(EventBody::InformationRequested(q.clone()))
            }
            ComplaintCommand::ProvideInformation(a) => {
                if status != Status::AwaitingInformation {
                    return Err(DomainError::InvalidTransition {
                        command: command.name(),
                        status,
                    });
                }
                require(&a.answer, "answer")?;
                validate_evidence(&a.attachments)?;
                Ok(EventBody::InformationProvided(a.clone()))
            }
            ComplaintCommand::Clarify(c) => {
                if status != Status::Reviewed {
                    return wrong_state();
                }
                if self.last_review().is_none_or(|rv| !rv.clear) {
                    return Err(DomainError::ClarifyRequiresClearReview);
                }
                require(&c.reasoning, "reasoning")?;
                Ok(EventBody::Clarified(c.clone()))
            }
            ComplaintCommand::VerifyInField(v) => {
                match status {
                    Status::Clarified | Status::FieldVerified => {}
                    _ => return wrong_state(),
                }
                if self
                    .clarification()
                    .is_some_and(|c| !c.field_examination_needed)
                {
                    return Err(DomainError::FieldVerificationNotNeeded);
                }
                require(&v.location, "location")?;
                require(&v.findings, "findings")?;
                require_parties(&v.parties_summoned, "parties_summoned")?;
                validate_evidence(&v.evidence)?;
                if !v.evidence.iter().any(EvidenceRef::is_photo) {
                    return Err(DomainError::FieldVerificationNeedsPhoto);
                }
                let today = services.policy.time_zone.local_date(envelope.now);
                if v.visit_date > today {
                    return Err(DomainError::VisitDateInFuture);
                }
                Ok(EventBody::FieldVerified(v.clone()))
            }
            ComplaintCommand::IssueBa(ba) => {
                if status != Status::FieldVerified {
                    return Err(if matches!(status, Status::Clarified) {
                        DomainError::BaRequiresFieldVerification
                    } else {
                        self.transition_error(command)
                    });
                }
                let Some(expected) = self.agency().cloned() else {
                    return wrong_state();
                };
                if ba.addressee.agency != expected {
                    return Err(DomainError::BaAddresseeNotHeadOfDisposedAgency {
                        expected,
                        addressed: ba.addressee.agency.clone(),
                    });
                }
                require(&ba.number, "number")?;
                require(&ba.addressee.name, "addressee.name")?;
                require(&ba.addressee.position, "addressee.position")?;
                if ba.signatories.is_empty() {
                    return Err(DomainError::BaNeedsSignatory);
                }
                require_parties(&ba.signatories, "signatories")?;
                require(&ba.findings, "findings")?;
                require(&ba.conclusion, "conclusion")?;
                require(&ba.solution, "solution")?;
                if self.field_visits().iter().any(|v| ba.date < v.visit_date) {
                    return Err(DomainError::BaDateBeforeVisit);
                }
                Ok(EventBody::BaIssued(ba.clone()))
            }
            ComplaintCommand::Respond(r) => {
                let outcome_ready = match status {
                    Status::BaIssued => true,
                    Status::Clarified => self
                        .clarification()
                        .is_some_and(|c| !c.field_examination_needed),
                    _ => false,
                };
                if !outcome_ready {
                    return Err(if status.is_terminal() || status == Status::Responded {
                        self.transition_error(command)
                    } else {
                        DomainError::RespondRequiresOutcome
                    });
                }
                if status == Status::BaIssued
                    && services.policy.response_requires_ba_acknowledgement
                    && !self.ba_acknowledged()
                {
                    return Err(DomainError::ResponseAwaitsBaAcknowledgement);
                }
                require(&r.response, "response")?;
                Ok(EventBody::Responded(r.clone()))
            }
            ComplaintCommand::Close(c) => {
                if status != Status::Responded {
                    return wrong_state();
                }
                if envelope.actor.role == Role::System {
                    let a = self.assess_latest(Step::Feedback, services, envelope)?;
                    if a.status != StepStatus::Elapsed {
                        return Err(DomainError::FeedbackWindowOpen { until: a.due_at });
                    }
                }
                Ok(EventBody::Closed(c.clone()))
            }
            ComplaintCommand::Archive(a) => {
                // At the door: before a liaison officer holds it.
                if !matches!(status, Status::Received | Status::Returned) {
                    return wrong_state();
                }
                let duplicate = a.reason == ArchiveReason::Duplicate;
                let named = a
                    .duplicate_of
                    .as_deref()
                    .is_some_and(|d| !d.trim().is_empty());
                if duplicate != named || (a.duplicate_of.is_some() && !named) {
                    return Err(DomainError::DuplicateOfMismatch);
                }
                Ok(EventBody::Archived(a.clone()))
            }
            ComplaintCommand::Withdraw(w) => {
                if status.is_terminal() {
                    return wrong_state();
                }
                require(&w.note, "note")?;
                Ok(EventBody::Withdrawn(w.clone()))
            }
            ComplaintCommand::Forward(f) => {
                if !matches!(status, Status::Received | Status::Returned) {
                    return wrong_state();
                }
                require(&f.institution, "institution")?;
                require(&f.reason, "reason")?;
                Ok(EventBody::Forwarded(f.clone()))
            }
            ComplaintCommand::AcknowledgeBa(a) => {
                if status != Status::BaIssued {
                    return wrong_state();
                }
                if self.ba_acknowledged() {
                    return Err(DomainError::BaAlreadyAcknowledged);
                }
                Ok(EventBody::BaAcknowledged(a.clone()))
            }
            ComplaintCommand::DeemWithdrawn(_) => {
                if status != Status::AwaitingInformation {
                    return wrong_state();
                }
                let a = self.assess_latest(Step::InformationWait, services, envelope)?;
                if a.status != StepStatus::Elapsed {
                    return Err(DomainError::InformationWindowOpen { until: a.due_at });
                }
                Ok(EventBody::DeemedWithdrawn(WindowElapsed {
                    occurrence: a.occurrence,
                    due_at: a.due_at,
                }))
            }
            ComplaintCommand::RecordSlaBreach(b) => {
                if !b.step.is_breachable() {
                    return Err(DomainError::StepNotBreachable { step: b.step });
                }
                let clock = match b.occurrence {
                    Some(n) => self
                        .timeline()
                        .clocks
                        .iter()
                        .find(|c| c.step == b.step && c.occurrence == n),
                    None => self.timeline().latest(b.step),
                }
                .ok_or(DomainError::StepNotStarted { step: b.step })?;
                let a = assess_clock(
                    clock,
                    &self.timeline().category,
                    &services.calendar,
                    &services.policy,
                    envelope.now,
                );
                if a.breach_recorded {
                    return Err(DomainError::BreachAlreadyRecorded { step: b.step });
                }
                if !a.late {
                    return Err(DomainError::DeadlineNotPassed {
                        step: b.step,
                        due_at: a.due_at,
                    });
                }
                Ok(EventBody::SlaBreached(SlaBreach {
                    step: b.step,
                    occurrence: a.occurrence,
                    due_at: a.due_at,
                }))
            }
        }
    }
}
