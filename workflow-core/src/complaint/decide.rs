//! `decide`: the SOP's rules. Pure: the state, the command envelope and the services in;
//! events or a refusal out. Nothing is read from a clock and no id is made up.
//!
//! Longer than the other files on purpose: the rules are one `match` over every command
//! (`decide_body`), so that the compiler proves each command has exactly one rule and a
//! reader finds every rule of the SOP in one place, in the order of the procedure.

use chrono::{DateTime, Datelike, Utc};

use crate::actor::{Actor, Role};
use crate::complaint::command::{ArchiveReason, CommandEnvelope, ComplaintCommand, Party};
use crate::complaint::command::{ClosingReason, ClosingRecord, ResponseText};
use crate::complaint::command::{Disposition, LaporImport, Registration};
use crate::complaint::event::ImportRecord;
use crate::complaint::event::{ComplaintEvent, Escalation, EventBody, SlaBreach, WindowElapsed};
use crate::complaint::{Complaint, ComplaintServices, LaporStatus, Status};
use crate::error::DomainError;
use crate::evidence::EvidenceRef;
use crate::sla::{
    assess_clock, JudgedBy, SlaTimeline, Step, StepAssessment, StepClock, StepStatus, Verdict,
};

type Decision = Result<Vec<ComplaintEvent>, DomainError>;

/// Which roles may issue a command. APIP and heads issue none.
fn allowed_roles(command: &ComplaintCommand) -> &'static [Role] {
    match command {
        ComplaintCommand::Register(_)
        | ComplaintCommand::Import(_)
        | ComplaintCommand::ProvideInformation(_) => &[Role::Upp],
        ComplaintCommand::Dispose(_) | ComplaintCommand::Forward(_) => {
            &[Role::Upp, Role::Coordinator]
        }
        ComplaintCommand::Archive(_) | ComplaintCommand::Withdraw(_) => &[Role::Upp],
        ComplaintCommand::Close(_) => &[Role::Upp, Role::System],
        ComplaintCommand::RecordSlaBreach(_) | ComplaintCommand::DeemWithdrawn(_) => {
            &[Role::System]
        }
        ComplaintCommand::AcknowledgeBa(_) => &[Role::Head],
        ComplaintCommand::RecordFeedback(_) => &[Role::Upp],
        ComplaintCommand::Reopen(_) => &[Role::Upp, Role::Coordinator],
        ComplaintCommand::Reassign(_) => &[Role::Upp, Role::Head],
        ComplaintCommand::AnnulBreach(_) => &[Role::Coordinator],
        // The system erases as the retention policy says.
        ComplaintCommand::EraseIdentity(_) => &[Role::Upp, Role::Coordinator, Role::System],
        ComplaintCommand::ReturnForRedisposition(_)
        | ComplaintCommand::Review(_)
        | ComplaintCommand::Reject(_)
        | ComplaintCommand::RequestInformation(_)
        | ComplaintCommand::Clarify(_)
        | ComplaintCommand::VerifyInField(_)
        | ComplaintCommand::IssueBa(_)
        | ComplaintCommand::Respond(_)
        | ComplaintCommand::ReportProgress(_) => &[Role::Liaison],
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

/// A disposition's own checks, for `Dispose` and `Import` alike.
fn check_disposition(d: &Disposition) -> Result<(), DomainError> {
    require(&d.agency.0, "agency")?;
    require(&d.liaison_officer.0, "liaison_officer")?;
    if let Some(unit) = &d.sub_unit {
        require(unit, "sub_unit")?;
    }
    Ok(())
}

/// A registration's own checks, for `Register` and `Import` alike.
fn check_registration(r: &Registration, now: DateTime<Utc>) -> Result<(), DomainError> {
    require(&r.lapor_id, "lapor_id")?;
    require(&r.title, "title")?;
    require(&r.description, "description")?;
    require(&r.category, "category")?;
    require(&r.upp_review, "upp_review")?;
    let Some(identity) = r.complainant.plain_data() else {
        return Err(DomainError::IdentityNotPlain);
    };
    require(&identity.name, "complainant.name")?;
    validate_evidence(&r.attachments)?;
    // The report reached LAPOR! before it reached the unit, and not in the
    // last millennium: a wrong date would move every clock of the complaint.
    if r.reported_at > now {
        return Err(DomainError::ReportedAfterRegistration {
            reported_at: r.reported_at,
            registered_at: now,
        });
    }
    if r.reported_at.year() < 2000 {
        return Err(DomainError::ReportedAtImplausible {
            reported_at: r.reported_at,
        });
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
        self.decide_with_status(envelope, services)
            .map(|(events, _)| events)
    }

    /// [`Complaint::decide`], with the status the complaint would have after the events
    /// (its status now when there are none): what an executor answers with, without a
    /// second copy of the state to apply them to.
    pub fn decide_with_status(
        &self,
        envelope: &CommandEnvelope,
        services: &ComplaintServices,
    ) -> Result<(Vec<ComplaintEvent>, Status), DomainError> {
        let CommandEnvelope { actor, command, .. } = envelope;
        if !crate::actor::is_valid_user_name(&actor.user.0) {
            return Err(DomainError::UserNameInvalid);
        }
        if !command.registers() && self.status == Status::New {
            return Err(DomainError::NotRegistered);
        }
        // APIP changes nothing; a head only acknowledges the BA addressed to them and
        // hands a complaint of their agency to another liaison officer.
        let head_command = matches!(
            command,
            ComplaintCommand::AcknowledgeBa(_) | ComplaintCommand::Reassign(_)
        );
        if actor.role == Role::Apip || (actor.role == Role::Head && !head_command) {
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
            return Ok((Vec::new(), self.status));
        }
        if matches!(actor.role, Role::Liaison | Role::Head) {
            self.check_agency(actor)?;
        }
        if actor.role == Role::Liaison {
            self.check_assigned(actor)?;
        }
        let body = self.decide_body(envelope, services)?;
        // A complaint's events are in time order. Checked last, so that a command the
        // complaint refuses anyway (registered already, say) is told why; a retry above
        // is answered whatever its date, as it records nothing.
        if let Some(latest) = self.latest_at.filter(|latest| envelope.now < *latest) {
            return Err(DomainError::DatedBeforeLatestEvent {
                at: envelope.now,
                latest,
            });
        }
        let mut bodies = vec![(body, envelope.now)];
        // "Returns are not unlimited ping-pong": the third return asks the coordinator.
        if matches!(command, ComplaintCommand::ReturnForRedisposition(_)) && self.returns + 1 >= 3 {
            bodies.push((
                EventBody::ReturnsEscalated(Escalation {
                    returns: self.returns + 1,
                }),
                envelope.now,
            ));
        }
        if let ComplaintCommand::Import(import) = command {
            bodies = decide_import(import, envelope.now)?;
        }
        // One working copy of the state, moved on by each event in turn: the verdicts of
        // the clocks an event ends are read off the difference it made.
        let mut after = self.working_copy();
        let mut events = Vec::with_capacity(bodies.len());
        for (body, at) in bodies {
            let mut event = ComplaintEvent {
                at,
                by: envelope.actor.clone(),
                command_id: envelope.command_id.clone(),
                body,
                verdicts: Vec::new(),
            };
            let before = after.timeline.clocks.clone();
            after.apply_event(&event);
            event.verdicts = verdicts_of_ended(&before, &after.timeline, services, event.at);
            for verdict in &event.verdicts {
                after.timeline.record_verdict(verdict);
            }
            events.push(event);
        }
        Ok((events, after.status))
    }

    /// LAPOR!-SP4N: the complainant has 10 working days to give feedback; after that the
    /// complaint closes and is neither given feedback nor reopened.
    fn check_feedback_window(
        &self,
        services: &ComplaintServices,
        envelope: &CommandEnvelope,
    ) -> Result<(), DomainError> {
        let window = self.assess_latest(Step::Feedback, services, envelope)?;
        if window.status == StepStatus::Elapsed {
            return Err(DomainError::FeedbackWindowElapsed {
                ended: window.due_at,
            });
        }
        Ok(())
    }

    fn check_assigned(&self, actor: &Actor) -> Result<(), DomainError> {
        match self.disposition() {
            Some(d) if d.liaison_officer != actor.user => Err(DomainError::NotAssignedLiaison {
                assigned: d.liaison_officer.clone(),
            }),
            _ => Ok(()),
        }
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
                check_registration(r, envelope.now)?;
                Ok(EventBody::Received(r.clone()))
            }
            // The registration here; the disposition and the mark in `decide_import`.
            ComplaintCommand::Import(i) => {
                if status != Status::New {
                    return Err(DomainError::AlreadyRegistered);
                }
                check_registration(&i.registration, envelope.now)?;
                Ok(EventBody::Received(i.registration.clone()))
            }
            ComplaintCommand::Dispose(d) => {
                if self.escalated
                    && envelope.actor.role != Role::Coordinator
                    && status == Status::Returned
                {
                    return Err(DomainError::EscalatedToCoordinator);
                }
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
                check_disposition(d)?;
                Ok(EventBody::Disposed(d.clone()))
            }
            ComplaintCommand::ReturnForRedisposition(r) => {
                // Not the agency's matter may also show after clarification or a field
                // visit; once a BA is issued the agency has answered.
                if !matches!(
                    status,
                    Status::Disposed
                        | Status::Reviewed
                        | Status::InformationProvided
                        | Status::Clarified
                        | Status::FieldVerified
                ) {
                    return wrong_state();
                }
                if self.coordinator_decided {
                    return Err(DomainError::CoordinatorDecided);
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
                if !c.field_examination_needed && self.last_review().is_some_and(|rv| !rv.complete)
                {
                    return Err(DomainError::IncompleteFileNeedsFieldExamination);
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
                // The response carries the BA's solution unless the liaison writes one.
                let response = match (r.response.trim().is_empty(), &self.ba) {
                    (true, Some(ba)) if status == Status::BaIssued => ba.solution.clone(),
                    _ => r.response.clone(),
                };
                require(&response, "response")?;
                Ok(EventBody::Responded(ResponseText {
                    response,
                    channel: r.channel,
                }))
            }
            ComplaintCommand::Close(c) => {
                if status != Status::Responded {
                    return wrong_state();
                }
                let satisfied = self.feedback.as_ref().map(|f| f.satisfied);
                let window = self.assess_latest(Step::Feedback, services, envelope)?;
                let elapsed = window.status == StepStatus::Elapsed;
                if envelope.actor.role == Role::System && !elapsed {
                    return Err(DomainError::FeedbackWindowOpen {
                        until: window.due_at,
                    });
                }
                if satisfied != Some(true) && !elapsed {
                    return Err(DomainError::CloseRequiresSatisfiedFeedbackOrWindow {
                        until: window.due_at,
                    });
                }
                let reason = match satisfied {
                    Some(true) => ClosingReason::Settled,
                    Some(false) => ClosingReason::NotReopened,
                    None => ClosingReason::NoFeedback,
                };
                Ok(EventBody::Closed(ClosingRecord {
                    reason,
                    note: c.note.clone(),
                }))
            }
            ComplaintCommand::ReportProgress(p) => {
                if !matches!(
                    status,
                    Status::Disposed
                        | Status::Reviewed
                        | Status::AwaitingInformation
                        | Status::InformationProvided
                        | Status::Clarified
                        | Status::FieldVerified
                        | Status::BaIssued
                ) {
                    return Err(DomainError::InvalidTransition {
                        command: command.name(),
                        status,
                    });
                }
                require(&p.text, "text")?;
                Ok(EventBody::ProgressReported(p.clone()))
            }
            ComplaintCommand::RecordFeedback(f) => {
                if status != Status::Responded {
                    return wrong_state();
                }
                self.check_feedback_window(services, envelope)?;
                if self.feedback.is_some() {
                    return Err(DomainError::FeedbackAlreadyRecorded);
                }
                if !f.satisfied {
                    require(&f.text, "text")?;
                }
                Ok(EventBody::FeedbackReceived(f.clone()))
            }
            ComplaintCommand::Reopen(r) => {
                if status != Status::Responded {
                    return wrong_state();
                }
                self.check_feedback_window(services, envelope)?;
                if self.feedback.as_ref().is_none_or(|f| f.satisfied) {
                    return Err(DomainError::ReopenRequiresDissatisfiedFeedback);
                }
                require(&r.reason, "reason")?;
                Ok(EventBody::Reopened(r.clone()))
            }
            ComplaintCommand::Reassign(r) => {
                let Some(current) = self.disposition() else {
                    return wrong_state();
                };
                if status.is_terminal() || status == Status::Responded {
                    return wrong_state();
                }
                require(&r.liaison_officer.0, "liaison_officer")?;
                require(&r.reason, "reason")?;
                if current.liaison_officer == r.liaison_officer {
                    return Err(DomainError::ReassignToSameLiaison {
                        liaison: r.liaison_officer.clone(),
                    });
                }
                Ok(EventBody::Reassigned(r.clone()))
            }
            ComplaintCommand::AnnulBreach(b) => {
                let clock = self
                    .timeline()
                    .run(b.step, b.occurrence)
                    .ok_or(DomainError::StepNotStarted { step: b.step })?;
                if clock.breach_recorded_at.is_none() {
                    return Err(DomainError::BreachNotRecorded {
                        step: b.step,
                        occurrence: b.occurrence,
                    });
                }
                if clock.breach_annulled_at.is_some() {
                    return Err(DomainError::BreachAlreadyAnnulled {
                        step: b.step,
                        occurrence: b.occurrence,
                    });
                }
                require(&b.reason, "reason")?;
                Ok(EventBody::BreachAnnulled(b.clone()))
            }
            // In any state, terminal ones included: a closed complaint's complainant
            // may ask too, and retention erases long-closed ones.
            ComplaintCommand::EraseIdentity(e) => {
                if let Some(erased) = &self.identity_erased {
                    return Err(DomainError::IdentityAlreadyErased {
                        erased_at: erased.at,
                    });
                }
                if e.legal_basis.trim().is_empty() {
                    return Err(DomainError::ErasureNeedsLegalBasis);
                }
                Ok(EventBody::IdentityErased(e.clone()))
            }
            ComplaintCommand::Archive(a) => {
                // At the door: before a liaison officer holds it.
                if !matches!(status, Status::Received | Status::Returned) {
                    return wrong_state();
                }
                if self.escalated {
                    return Err(DomainError::EscalatedToCoordinator);
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
                if self.escalated && envelope.actor.role != Role::Coordinator {
                    return Err(DomainError::EscalatedToCoordinator);
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
                    judged_by: Some(JudgedBy::of(&services.calendar, &services.policy)),
                }))
            }
        }
    }
}

/// The verdicts on the clock runs that were running `before` and have ended in `after`,
/// judged at `at` by the calendar and policy in force: recorded in the event that ended
/// them, they hold whatever the holiday table or the policy becomes later.
fn verdicts_of_ended(
    before: &[StepClock],
    after: &SlaTimeline,
    services: &ComplaintServices,
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<Verdict> {
    let mut judged_by = None;
    after
        .clocks
        .iter()
        .zip(before)
        .filter(|(now, then)| then.ended_at.is_none() && now.ended_at.is_some())
        .map(|(clock, _)| {
            let a = assess_clock(
                clock,
                &after.category,
                &services.calendar,
                &services.policy,
                at,
            );
            Verdict {
                step: clock.step,
                occurrence: clock.occurrence,
                due_date: a.due_date,
                due_at: a.due_at,
                paused_days: a.paused_days,
                late: a.late,
                judged_by: judged_by
                    .get_or_insert_with(|| JudgedBy::of(&services.calendar, &services.policy))
                    .clone(),
            }
        })
        .collect()
}

/// The events of an import, each at its own instant: the registration when LAPOR!
/// received the report, LAPOR!'s disposition when LAPOR! made it (so that step 1 ends
/// and step 2 starts where they did there), and the mark when the import is made.
fn decide_import(
    import: &LaporImport,
    now: DateTime<Utc>,
) -> Result<Vec<(EventBody, DateTime<Utc>)>, DomainError> {
    let status = import.lapor_status;
    let disposable = match status {
        LaporStatus::Verification => false,
        LaporStatus::Disposed | LaporStatus::InFollowUp => true,
        LaporStatus::AwaitingFeedback | LaporStatus::Finished | LaporStatus::Archived => {
            return Err(DomainError::ImportOfSettledReport { status });
        }
    };
    if disposable != import.disposed.is_some() {
        return Err(DomainError::ImportDispositionMismatch { status });
    }
    let reported_at = import.registration.reported_at;
    let mut bodies = vec![(
        EventBody::Received(import.registration.clone()),
        reported_at,
    )];
    if let Some(disposed) = &import.disposed {
        if disposed.at < reported_at || disposed.at > now {
            return Err(DomainError::ImportDispositionDate {
                disposed_at: disposed.at,
                reported_at,
                imported_at: now,
            });
        }
        check_disposition(&disposed.disposition)?;
        bodies.push((
            EventBody::Disposed(disposed.disposition.clone()),
            disposed.at,
        ));
    }
    bodies.push((
        EventBody::Imported(ImportRecord {
            lapor_status: status,
            channel: import.channel.clone(),
            disposed_at: import.disposed.as_ref().map(|d| d.at),
        }),
        now,
    ));
    Ok(bodies)
}
