//! `apply_event`: how each event changes the state. No rules here: an event in the log
//! is a fact, and replaying the same events always gives the same state.

use crate::complainant::{Identity, PersonalData};
use crate::complaint::event::{ComplaintEvent, EventBody};
use crate::complaint::{Complaint, Erased, Status};
use crate::sla::Step;

impl Complaint {
    /// Applies one event to the state.
    pub fn apply_event(&mut self, event: &ComplaintEvent) {
        let at = event.at;
        self.seen_commands.insert(event.command_id.clone());
        self.events_applied += 1;
        self.latest_at = Some(self.latest_at.map_or(at, |latest| latest.max(at)));
        let timeline = &mut self.timeline;
        match &event.body {
            EventBody::Received(r) => {
                self.status = Status::Received;
                timeline.category = r.category.clone();
                timeline.start_reported(Step::Disposition, at, r.reported_at);
                self.registration = Some(r.clone());
            }
            EventBody::Disposed(d) => {
                self.status = Status::Disposed;
                timeline.end(Step::Disposition, at);
                // A re-disposition before any review starts the new agency's review afresh.
                timeline.end(Step::Review, at);
                timeline.start(Step::Review, at);
                // LAPOR!'s follow-up clock runs for the agency now holding it.
                timeline.end(Step::FollowUp, at);
                timeline.start(Step::FollowUp, at);
                self.disposition = Some(d.clone());
                self.dispositions += 1;
                self.last_review = None;
                if self.escalated {
                    self.escalated = false;
                    self.coordinator_decided = true;
                }
            }
            EventBody::Returned(_) => {
                self.status = Status::Returned;
                for step in [
                    Step::Review,
                    Step::FieldVerification,
                    Step::Response,
                    Step::FollowUp,
                ] {
                    timeline.end(step, at);
                }
                timeline.start(Step::Disposition, at);
                self.disposition = None;
                self.last_review = None;
                self.clarification = None;
                self.field_visits.clear();
                self.returns += 1;
            }
            // A mark: the events before it in its command carry LAPOR!'s dates.
            EventBody::Imported(_) => {}
            EventBody::ReturnsEscalated(_) => {
                self.escalated = true;
            }
            EventBody::Reviewed(r) => {
                self.status = Status::Reviewed;
                if r.complete && timeline.latest(Step::Overall).is_none() {
                    timeline.start(Step::Overall, at);
                }
                self.last_review = Some(r.clone());
            }
            EventBody::Rejected(_) => {
                self.status = Status::Rejected;
                timeline.end_all(at);
            }
            EventBody::InformationRequested(_) => {
                self.status = Status::AwaitingInformation;
                timeline.pause(at);
                timeline.start(Step::InformationWait, at);
            }
            EventBody::InformationProvided(_) => {
                self.status = Status::InformationProvided;
                timeline.end(Step::InformationWait, at);
                timeline.resume(at);
            }
            EventBody::Clarified(c) => {
                self.status = Status::Clarified;
                timeline.end(Step::Review, at);
                let next = if c.field_examination_needed {
                    Step::FieldVerification
                } else {
                    Step::Response
                };
                timeline.start(next, at);
                self.clarification = Some(c.clone());
            }
            EventBody::FieldVerified(v) => {
                self.status = Status::FieldVerified;
                self.field_visits.push(v.clone());
            }
            EventBody::BaAcknowledged(_) => {
                self.ba_acknowledged = true;
            }
            EventBody::BaIssued(ba) => {
                self.status = Status::BaIssued;
                self.ba_acknowledged = false;
                timeline.end(Step::FieldVerification, at);
                timeline.start(Step::Response, at);
                // Step 3's output is the complete report data.
                if timeline.latest(Step::Overall).is_none() {
                    timeline.start(Step::Overall, at);
                }
                self.ba = Some(ba.clone());
            }
            EventBody::Responded(r) => {
                self.status = Status::Responded;
                timeline.end(Step::Response, at);
                timeline.end(Step::FollowUp, at);
                // The overall cap runs on until the complaint is settled.
                timeline.start(Step::Feedback, at);
                self.response = Some(r.response.clone());
                self.feedback = None;
            }
            EventBody::Closed(_) => {
                self.status = Status::Closed;
                timeline.end_all(at);
            }
            EventBody::SlaBreached(b) => {
                timeline.record_breach(b.step, b.occurrence, at);
            }
            EventBody::BreachAnnulled(b) => {
                timeline.annul_breach(b.step, b.occurrence, at);
            }
            EventBody::IdentityErased(e) => {
                // A registration recorded before sealing holds the identity in plain:
                // the state (and so the views) keeps none of it from here on.
                if let Some(registration) = &mut self.registration {
                    if let Identity::Plain(_) = registration.complainant.identity {
                        registration.complainant.identity = Identity::Plain(PersonalData {
                            name: String::new(),
                            ..PersonalData::default()
                        });
                    }
                }
                self.identity_erased = Some(Erased {
                    at,
                    by: event.by.user.clone(),
                    legal_basis: e.legal_basis.clone(),
                });
            }
            EventBody::ProgressReported(_) => {
                self.progress_reports += 1;
                timeline.end(Step::FollowUp, at);
            }
            EventBody::FeedbackReceived(f) => {
                self.feedback = Some(f.clone());
            }
            EventBody::Reopened(_) => {
                self.status = Status::Disposed;
                self.reopenings += 1;
                timeline.end(Step::Feedback, at);
                timeline.start(Step::Review, at);
                timeline.start(Step::FollowUp, at);
                self.last_review = None;
                self.clarification = None;
                self.field_visits.clear();
                self.ba = None;
                self.ba_acknowledged = false;
                self.response = None;
                self.feedback = None;
            }
            EventBody::Reassigned(r) => {
                if let Some(d) = self.disposition.as_mut() {
                    d.liaison_officer = r.liaison_officer.clone();
                }
            }
            EventBody::Archived(_) => {
                self.status = Status::Archived;
                timeline.end_all(at);
            }
            EventBody::Withdrawn(_) => {
                self.status = Status::Withdrawn;
                timeline.end_all(at);
            }
            EventBody::Forwarded(_) => {
                self.status = Status::Forwarded;
                timeline.end_all(at);
            }
            EventBody::DeemedWithdrawn(_) => {
                self.status = Status::Withdrawn;
                timeline.end_all(at);
            }
        }
        for verdict in &event.verdicts {
            self.timeline.record_verdict(verdict);
        }
    }
}
