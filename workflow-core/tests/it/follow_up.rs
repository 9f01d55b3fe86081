//! After the BA, returns, reassignment, LAPOR!'s clocks and verdicts that hold, as
//! given / when / then stories. Every command goes through `decide`, so the events are
//! those the engine records (with the verdicts on the clocks they end), and the state
//! is rebuilt from their stored (serialized, then read back) form.

use chrono::{DateTime, Duration, Utc};
use workflow_core::calendar::HolidayTable;
use workflow_core::complaint::command::{
    BreachAnnulment, BreachReport, ClosingReason, Closure, ComplaintCommand as C, Reassignment,
    ResponseChannel, ResponseText,
};
use workflow_core::complaint::event::Escalation;
use workflow_core::fixtures::*;
use workflow_core::sla::{assess, CountsFrom, JudgedBy, StepAssessment};
use workflow_core::{
    Actor, Complaint, ComplaintEvent, ComplaintServices, DomainError, EventBody as E, Role,
    SlaPolicy, Status, Step, StepStatus, WorkingCalendar,
};

/// A complaint driven through `decide`, its log kept as stored JSON.
struct Case {
    services: ComplaintServices,
    log: Vec<ComplaintEvent>,
    n: usize,
}

impl Case {
    fn new() -> Self {
        Self::with(ComplaintServices::builtin())
    }

    fn with(services: ComplaintServices) -> Self {
        Self {
            services,
            log: Vec::new(),
            n: 0,
        }
    }

    fn state(&self) -> Complaint {
        Complaint::from_events(&self.log)
    }

    /// Sends a command; on success records the events (through JSON) and returns them.
    fn send(
        &mut self,
        actor: Actor,
        at: &str,
        command: C,
    ) -> Result<Vec<ComplaintEvent>, DomainError> {
        self.n += 1;
        let envelope = cmd(&format!("c-{}", self.n), actor, wib(at), command);
        let events = self.state().decide(&envelope, &self.services)?;
        for e in &events {
            let json = serde_json::to_string(e).unwrap();
            self.log.push(serde_json::from_str(&json).unwrap());
        }
        Ok(events)
    }

    fn ok(&mut self, actor: Actor, at: &str, command: C) -> Vec<ComplaintEvent> {
        let name = command.name();
        self.send(actor, at, command)
            .unwrap_or_else(|e| panic!("{name} at {at} refused: {e}"))
    }

    fn refused(&mut self, actor: Actor, at: &str, command: C) -> DomainError {
        let name = command.name();
        match self.send(actor, at, command) {
            Ok(events) => panic!("{name} at {at} accepted: {events:?}"),
            Err(e) => e,
        }
    }

    fn assess(&self, now: &str) -> Vec<StepAssessment> {
        assess(
            self.state().timeline(),
            &self.services.calendar,
            &self.services.policy,
            wib(now),
        )
    }

    /// Registered Monday 30 Nov 2026 09:00 (reported 06:30), disposed to PUPR at 10:00.
    fn disposed() -> Self {
        let mut case = Self::new();
        case.ok(upp(), "2026-11-30 09:00", C::Register(registration()));
        case.ok(upp(), "2026-11-30 10:00", C::Dispose(disposition("PUPR")));
        case
    }

    /// ...reviewed complete and clear, clarified (field examination needed or not).
    fn clarified(field: bool) -> Self {
        let mut case = Self::disposed();
        case.ok(
            liaison("PUPR"),
            "2026-12-01 09:00",
            C::Review(complete_review()),
        );
        case.ok(
            liaison("PUPR"),
            "2026-12-01 10:00",
            C::Clarify(clarification(field)),
        );
        case
    }

    /// ...field-verified and a BA issued on Wednesday 2 Dec.
    fn ba_issued() -> Self {
        let mut case = Self::clarified(true);
        case.ok(
            liaison("PUPR"),
            "2026-12-02 09:00",
            C::VerifyInField(field_visit("2026-12-02")),
        );
        case.ok(
            liaison("PUPR"),
            "2026-12-02 15:00",
            C::IssueBa(berita_acara("PUPR", "2026-12-02")),
        );
        case
    }

    /// ...responded on Tuesday 1 Dec 14:00 (no field examination).
    fn responded() -> Self {
        let mut case = Self::clarified(false);
        case.ok(
            liaison("PUPR"),
            "2026-12-01 14:00",
            C::Respond(response_text()),
        );
        case
    }
}

fn end_of(local_date: &str) -> DateTime<Utc> {
    wib(&format!("{local_date} 23:59")) + Duration::seconds(59)
}

fn latest(assessments: &[StepAssessment], step: Step) -> StepAssessment {
    assessments
        .iter()
        .rev()
        .find(|a| a.step == step)
        .cloned()
        .unwrap_or_else(|| panic!("no {step} clock"))
}

fn other_liaison() -> Actor {
    Actor::of_agency("penghubung2.pupr", Role::Liaison, "PUPR")
}

// --- Progress updates and LAPOR!'s follow-up clock ----------------------------------

/// LAPOR!-SP4N: the agency posts its first follow-up within 5 working days of the
/// disposition; a progress update (*tindak lanjut sementara*) satisfies it.
#[test]
fn lapor_follow_up_clock_runs_five_working_days_from_disposition_and_a_progress_update_ends_it() {
    let mut case = Case::disposed();
    // Disposed Monday 30 Nov: Tue 1, Wed 2, Thu 3, Fri 4, Mon 7 Dec.
    let running = latest(&case.assess("2026-11-30 11:00"), Step::FollowUp);
    assert_eq!(running.due_at, end_of("2026-12-07"));
    assert_eq!(running.status, StepStatus::OnTrack);
    let events = case.ok(
        liaison("PUPR"),
        "2026-12-02 10:00",
        C::ReportProgress(progress_report()),
    );
    assert_eq!(events[0].body, E::ProgressReported(progress_report()));
    let ended = latest(&case.assess("2026-12-20 10:00"), Step::FollowUp);
    assert_eq!(ended.status, StepStatus::Done);
    assert!(!ended.late);
    assert_eq!(case.state().progress_reports(), 1);
    // The SOP's step clock runs on: a progress update is not the review.
    assert_eq!(
        latest(&case.assess("2026-12-02 11:00"), Step::Review).status,
        StepStatus::AtRisk
    );
}

#[test]
fn lapor_follow_up_clock_is_breached_after_five_working_days_without_a_follow_up() {
    let mut case = Case::disposed();
    let early = case.refused(
        system(),
        "2026-12-07 20:00",
        C::RecordSlaBreach(BreachReport::latest(Step::FollowUp)),
    );
    assert_eq!(early.rule(), "sla.deadline_not_passed");
    let events = case.ok(
        system(),
        "2026-12-08 08:00",
        C::RecordSlaBreach(BreachReport::latest(Step::FollowUp)),
    );
    match &events[0].body {
        E::SlaBreached(b) => {
            assert_eq!(
                (b.step, b.occurrence, b.due_at),
                (Step::FollowUp, 1, end_of("2026-12-07"))
            );
            assert_eq!(
                b.judged_by,
                Some(JudgedBy::of(&case.services.calendar, &case.services.policy))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn lapor_follow_up_clock_is_also_satisfied_by_the_first_response() {
    let case = Case::responded();
    let follow_up = latest(&case.assess("2026-12-20 10:00"), Step::FollowUp);
    assert_eq!(follow_up.status, StepStatus::Done);
    assert_eq!(follow_up.ended_at, Some(wib("2026-12-01 14:00")));
}

#[test]
fn progress_comes_from_the_assigned_liaison_and_only_before_the_response() {
    let mut case = Case::disposed();
    let other = case.refused(
        other_liaison(),
        "2026-12-01 09:00",
        C::ReportProgress(progress_report()),
    );
    assert_eq!(other.rule(), "access.not_assigned_liaison");
    let upp_refused = case.refused(
        upp(),
        "2026-12-01 09:00",
        C::ReportProgress(progress_report()),
    );
    assert_eq!(upp_refused.rule(), "access.role_not_permitted");
    let mut empty = progress_report();
    empty.text = "  ".into();
    assert_eq!(
        case.refused(
            liaison("PUPR"),
            "2026-12-01 09:00",
            C::ReportProgress(empty)
        ),
        DomainError::MissingField { field: "text" }
    );
    let mut done = Case::responded();
    assert_eq!(
        done.refused(
            liaison("PUPR"),
            "2026-12-02 09:00",
            C::ReportProgress(progress_report())
        )
        .rule(),
        "sop.invalid_transition"
    );
}

// --- The response carries the BA's solution and its channel ------------------------

/// SOP step 3 concludes with "a solution or response for the complainant".
#[test]
fn a_response_left_empty_after_the_ba_carries_the_ba_solution_and_its_channel() {
    let mut case = Case::ba_issued();
    let events = case.ok(
        liaison("PUPR"),
        "2026-12-03 09:00",
        C::Respond(ResponseText {
            response: String::new(),
            channel: ResponseChannel::Letter,
        }),
    );
    assert_eq!(
        events[0].body,
        E::Responded(ResponseText {
            response: berita_acara("PUPR", "2026-12-02").solution,
            channel: ResponseChannel::Letter,
        })
    );
    // Without a BA there is no solution to carry: the response must be written.
    let mut no_ba = Case::clarified(false);
    assert_eq!(
        no_ba.refused(
            liaison("PUPR"),
            "2026-12-01 14:00",
            C::Respond(ResponseText {
                response: " ".into(),
                channel: ResponseChannel::Lapor,
            }),
        ),
        DomainError::MissingField { field: "response" }
    );
}

// --- Feedback, reopening, closing ----------------------------------------------------

#[test]
fn upp_records_the_complainants_feedback_once_per_response() {
    let mut case = Case::responded();
    assert_eq!(
        case.refused(
            liaison("PUPR"),
            "2026-12-02 09:00",
            C::RecordFeedback(feedback(true))
        )
        .rule(),
        "access.role_not_permitted"
    );
    let mut silent = feedback(false);
    silent.text.clear();
    assert_eq!(
        case.refused(upp(), "2026-12-02 09:00", C::RecordFeedback(silent)),
        DomainError::MissingField { field: "text" }
    );
    case.ok(
        upp(),
        "2026-12-02 09:00",
        C::RecordFeedback(feedback(false)),
    );
    assert_eq!(case.state().feedback(), Some(&feedback(false)));
    assert_eq!(
        case.refused(upp(), "2026-12-02 10:00", C::RecordFeedback(feedback(true))),
        DomainError::FeedbackAlreadyRecorded
    );
    let mut early = Case::clarified(false);
    assert_eq!(
        early
            .refused(upp(), "2026-12-01 12:00", C::RecordFeedback(feedback(true)))
            .rule(),
        "sop.invalid_transition"
    );
}

/// Not satisfied → UPP or the coordinator may reopen: back to the liaison officer,
/// with new clocks.
#[test]
fn a_dissatisfied_complainant_lets_upp_or_the_coordinator_reopen_with_new_clocks() {
    let mut satisfied = Case::responded();
    satisfied.ok(upp(), "2026-12-02 09:00", C::RecordFeedback(feedback(true)));
    assert_eq!(
        satisfied.refused(upp(), "2026-12-02 10:00", C::Reopen(reopening())),
        DomainError::ReopenRequiresDissatisfiedFeedback
    );
    let mut no_feedback = Case::responded();
    assert_eq!(
        no_feedback.refused(coordinator(), "2026-12-02 10:00", C::Reopen(reopening())),
        DomainError::ReopenRequiresDissatisfiedFeedback
    );

    for reopener in [upp(), coordinator()] {
        let mut case = Case::responded();
        case.ok(
            upp(),
            "2026-12-02 09:00",
            C::RecordFeedback(feedback(false)),
        );
        assert_eq!(
            case.refused(liaison("PUPR"), "2026-12-02 10:00", C::Reopen(reopening()))
                .rule(),
            "access.role_not_permitted"
        );
        case.ok(reopener, "2026-12-02 10:00", C::Reopen(reopening()));
        let state = case.state();
        assert_eq!(state.status(), Status::Disposed);
        assert_eq!(state.reopenings(), 1);
        assert_eq!(state.response(), None);
        assert_eq!(state.feedback(), None);
        let clocks = case.assess("2026-12-02 11:00");
        let review = latest(&clocks, Step::Review);
        assert_eq!((review.occurrence, review.status), (2, StepStatus::OnTrack));
        assert_eq!(review.due_at, end_of("2026-12-07"));
        assert_eq!(latest(&clocks, Step::FollowUp).occurrence, 2);
        assert_eq!(latest(&clocks, Step::Feedback).status, StepStatus::Done);
        // The liaison officer takes it up again from the review.
        case.ok(
            liaison("PUPR"),
            "2026-12-03 09:00",
            C::Review(complete_review()),
        );
    }
}

/// LAPOR!-SP4N: 10 working days for the complainant's feedback, then the complaint
/// closes; feedback and reopening come within the window.
#[test]
fn feedback_and_reopening_come_within_the_ten_working_day_window() {
    let window_end = end_of("2026-12-15");
    let mut late = Case::responded();
    assert_eq!(
        late.refused(
            upp(),
            "2026-12-16 08:00",
            C::RecordFeedback(feedback(false))
        ),
        DomainError::FeedbackWindowElapsed { ended: window_end }
    );
    let mut in_time = Case::responded();
    in_time.ok(
        upp(),
        "2026-12-15 16:00",
        C::RecordFeedback(feedback(false)),
    );
    assert_eq!(
        in_time.refused(upp(), "2026-12-16 08:00", C::Reopen(reopening())),
        DomainError::FeedbackWindowElapsed { ended: window_end }
    );
    in_time.ok(upp(), "2026-12-15 17:00", C::Reopen(reopening()));
}

/// Close by UPP only after positive feedback or after the feedback window; the
/// closing carries its reason.
#[test]
fn upp_closes_only_after_positive_feedback_or_once_the_feedback_window_has_run_out() {
    let window_end = end_of("2026-12-15");
    let mut case = Case::responded();
    assert_eq!(
        case.refused(upp(), "2026-12-02 09:00", C::Close(Closure::default())),
        DomainError::CloseRequiresSatisfiedFeedbackOrWindow { until: window_end }
    );
    case.ok(
        upp(),
        "2026-12-02 09:00",
        C::RecordFeedback(feedback(false)),
    );
    assert_eq!(
        case.refused(upp(), "2026-12-03 09:00", C::Close(Closure::default())),
        DomainError::CloseRequiresSatisfiedFeedbackOrWindow { until: window_end }
    );
    let events = case.ok(upp(), "2026-12-16 08:00", C::Close(Closure::default()));
    match &events[0].body {
        E::Closed(c) => assert_eq!(c.reason, ClosingReason::NotReopened),
        other => panic!("{other:?}"),
    }

    let mut settled = Case::responded();
    settled.ok(upp(), "2026-12-02 09:00", C::RecordFeedback(feedback(true)));
    let events = settled.ok(upp(), "2026-12-02 09:30", C::Close(Closure::default()));
    match &events[0].body {
        E::Closed(c) => assert_eq!(c.reason, ClosingReason::Settled),
        other => panic!("{other:?}"),
    }
    assert_eq!(settled.state().status(), Status::Closed);
}

/// Perpres 76/2013: the 60-day cap runs until the complaint is settled (closed), not
/// until the first response.
#[test]
fn the_overall_cap_runs_until_the_complaint_is_closed_not_until_the_response() {
    let mut case = Case::responded();
    let overall = latest(&case.assess("2026-12-02 09:00"), Step::Overall);
    assert_eq!(overall.ended_at, None);
    assert_eq!(overall.status, StepStatus::OnTrack);
    case.ok(upp(), "2026-12-02 09:00", C::RecordFeedback(feedback(true)));
    case.ok(upp(), "2026-12-02 09:30", C::Close(Closure::default()));
    let overall = latest(&case.assess("2026-12-20 09:00"), Step::Overall);
    assert_eq!(overall.ended_at, Some(wib("2026-12-02 09:30")));
    assert_eq!(overall.status, StepStatus::Done);
}

/// Step 3's output is the complete report data: a complaint completed in the field
/// starts the overall cap with its BA.
#[test]
fn the_overall_cap_starts_with_the_ba_when_the_file_was_completed_in_the_field() {
    let mut case = Case::disposed();
    case.ok(
        liaison("PUPR"),
        "2026-12-01 09:00",
        C::Review(incomplete_but_clear_review()),
    );
    case.ok(
        liaison("PUPR"),
        "2026-12-01 10:00",
        C::Clarify(clarification(true)),
    );
    assert!(case.state().timeline().latest(Step::Overall).is_none());
    case.ok(
        liaison("PUPR"),
        "2026-12-02 09:00",
        C::VerifyInField(field_visit("2026-12-02")),
    );
    case.ok(
        liaison("PUPR"),
        "2026-12-02 15:00",
        C::IssueBa(berita_acara("PUPR", "2026-12-02")),
    );
    let overall = case
        .state()
        .timeline()
        .latest(Step::Overall)
        .cloned()
        .unwrap();
    assert_eq!(overall.started_at, wib("2026-12-02 15:00"));
}

// --- Returns ----------------------------------------------------------------------

/// The liaison may return a complaint as not the agency's matter also after the
/// clarification or a field visit (not once the BA is issued).
#[test]
fn the_liaison_may_return_after_clarification_or_a_field_visit_but_not_after_the_ba() {
    let mut clarified = Case::clarified(true);
    clarified.ok(
        liaison("PUPR"),
        "2026-12-01 11:00",
        C::ReturnForRedisposition(return_note()),
    );
    let state = clarified.state();
    assert_eq!(state.status(), Status::Returned);
    assert_eq!(state.clarification(), None);
    assert!(!state.timeline().is_running(Step::FieldVerification));
    assert!(state.timeline().is_running(Step::Disposition));

    let mut visited = Case::clarified(true);
    visited.ok(
        liaison("PUPR"),
        "2026-12-02 09:00",
        C::VerifyInField(field_visit("2026-12-02")),
    );
    visited.ok(
        liaison("PUPR"),
        "2026-12-02 11:00",
        C::ReturnForRedisposition(return_note()),
    );
    assert!(visited.state().field_visits().is_empty());

    let mut ba = Case::ba_issued();
    assert_eq!(
        ba.refused(
            liaison("PUPR"),
            "2026-12-03 09:00",
            C::ReturnForRedisposition(return_note())
        )
        .rule(),
        "sop.invalid_transition"
    );
}

/// Returns are not unlimited ping-pong: the third return of one complaint asks the
/// coordinator to decide; their disposition is not returned again.
#[test]
fn the_third_return_escalates_to_the_coordinator_whose_disposition_holds() {
    let mut case = Case::disposed();
    let one = case.ok(
        liaison("PUPR"),
        "2026-12-01 09:00",
        C::ReturnForRedisposition(return_note()),
    );
    case.ok(upp(), "2026-12-01 10:00", C::Dispose(disposition("DISHUB")));
    let two = case.ok(
        liaison("DISHUB"),
        "2026-12-02 09:00",
        C::ReturnForRedisposition(return_note()),
    );
    assert_eq!(
        (one.len(), two.len()),
        (1, 1),
        "the first two returns are not escalated"
    );
    case.ok(upp(), "2026-12-02 10:00", C::Dispose(disposition("PUPR")));
    let events = case.ok(
        liaison("PUPR"),
        "2026-12-03 09:00",
        C::ReturnForRedisposition(return_note()),
    );
    assert_eq!(events.len(), 2);
    assert!(matches!(events[0].body, E::Returned(_)));
    assert_eq!(
        events[1].body,
        E::ReturnsEscalated(Escalation { returns: 3 })
    );
    assert_eq!(events[1].command_id, events[0].command_id);
    assert!(case.state().escalated());

    assert_eq!(
        case.refused(upp(), "2026-12-03 10:00", C::Dispose(disposition("PUPR"))),
        DomainError::EscalatedToCoordinator
    );
    assert_eq!(
        case.refused(upp(), "2026-12-03 10:00", C::Archive(spam())),
        DomainError::EscalatedToCoordinator
    );
    case.ok(
        coordinator(),
        "2026-12-03 11:00",
        C::Dispose(disposition("PUPR")),
    );
    let state = case.state();
    assert!(!state.escalated() && state.coordinator_decided());
    assert_eq!(
        case.refused(
            liaison("PUPR"),
            "2026-12-04 09:00",
            C::ReturnForRedisposition(return_note())
        ),
        DomainError::CoordinatorDecided
    );
}

// --- Sub-units and reassignment ------------------------------------------------------

/// A disposition may name a sub-unit (UPT / Satker); the liaison officer it names is
/// the one assigned; another of the same agency takes over only through a
/// reassignment by the head or UPP.
#[test]
fn only_the_assigned_liaison_acts_until_the_head_or_upp_reassigns() {
    let mut case = Case::new();
    case.ok(upp(), "2026-11-30 09:00", C::Register(registration()));
    let mut to_unit = disposition("PUPR");
    to_unit.sub_unit = Some("UPT Jalan dan Jembatan Wilayah I".into());
    case.ok(upp(), "2026-11-30 10:00", C::Dispose(to_unit.clone()));
    assert_eq!(case.state().disposition(), Some(&to_unit));

    assert_eq!(
        case.refused(
            other_liaison(),
            "2026-12-01 09:00",
            C::Review(complete_review())
        ),
        DomainError::NotAssignedLiaison {
            assigned: liaison("PUPR").user
        }
    );
    let to_other = Reassignment {
        liaison_officer: other_liaison().user,
        reason: "Petugas sebelumnya cuti".into(),
    };
    assert_eq!(
        case.refused(
            head("DISHUB"),
            "2026-12-01 09:00",
            C::Reassign(to_other.clone())
        )
        .rule(),
        "access.not_your_agency"
    );
    assert_eq!(
        case.refused(
            liaison("PUPR"),
            "2026-12-01 09:00",
            C::Reassign(to_other.clone())
        )
        .rule(),
        "access.role_not_permitted"
    );
    assert_eq!(
        case.refused(
            upp(),
            "2026-12-01 09:00",
            C::Reassign(Reassignment {
                liaison_officer: liaison("PUPR").user,
                reason: "sama".into(),
            }),
        )
        .rule(),
        "sop.reassign.same_liaison"
    );
    case.ok(
        head("PUPR"),
        "2026-12-01 09:00",
        C::Reassign(to_other.clone()),
    );
    assert_eq!(
        case.refused(
            liaison("PUPR"),
            "2026-12-01 10:00",
            C::Review(complete_review())
        ),
        DomainError::NotAssignedLiaison {
            assigned: other_liaison().user
        }
    );
    case.ok(
        other_liaison(),
        "2026-12-01 10:00",
        C::Review(complete_review()),
    );
    // UPP may reassign too; a reassignment keeps the clocks as they are.
    let due_before = latest(&case.assess("2026-12-01 11:00"), Step::Review).due_at;
    case.ok(
        upp(),
        "2026-12-01 11:00",
        C::Reassign(Reassignment {
            liaison_officer: liaison("PUPR").user,
            reason: "Kembali dari cuti".into(),
        }),
    );
    assert_eq!(
        latest(&case.assess("2026-12-01 12:00"), Step::Review).due_at,
        due_before
    );
}

// --- Clocks that reconcile with LAPOR! -------------------------------------------------

/// Step 1 counts from the report's arrival in LAPOR! (a policy option may choose
/// the registration).
#[test]
fn step_1_counts_from_the_reports_arrival_in_lapor_unless_the_policy_says_registration() {
    let mut reported_friday = registration();
    reported_friday.reported_at = wib("2026-11-27 20:00");
    let mut case = Case::new();
    case.ok(
        upp(),
        "2026-11-30 09:00",
        C::Register(reported_friday.clone()),
    );
    // From Friday 27 Nov: Mon 30, Tue 1, Wed 2 Dec.
    let a = latest(&case.assess("2026-11-30 10:00"), Step::Disposition);
    assert_eq!(a.due_at, end_of("2026-12-02"));
    assert_eq!(a.started_at, wib("2026-11-30 09:00"));

    let policy = SlaPolicy {
        disposition_counts_from: CountsFrom::Registered,
        ..SlaPolicy::default()
    };
    let mut by_registration = Case::with(ComplaintServices {
        policy: policy.into(),
        ..ComplaintServices::builtin()
    });
    by_registration.ok(upp(), "2026-11-30 09:00", C::Register(reported_friday));
    let a = latest(
        &by_registration.assess("2026-11-30 10:00"),
        Step::Disposition,
    );
    assert_eq!(a.due_at, end_of("2026-12-03"));
}

// --- Verdicts that hold ---------------------------------------------------------------

fn with_extra_holidays(dates: &[&str]) -> WorkingCalendar {
    let mut csv = String::from("date,kind,name_id,name_en,source\n");
    for d in dates {
        csv.push_str(&format!("{d},cuti_bersama,Tambahan,Extra,SKB perubahan\n"));
    }
    let amendment = HolidayTable::parse(&csv).unwrap();
    WorkingCalendar::new(HolidayTable::builtin().amended_by(&amendment))
}

/// A clock that has ended keeps the verdict it had when it ended: a later change of the
/// holiday table recomputes only running clocks, and the verdict cites the versions of
/// the table and policy that judged it.
#[test]
fn an_ended_clock_keeps_its_verdict_when_the_holiday_table_changes_later() {
    let mut case = Case::new();
    case.ok(upp(), "2026-11-30 09:00", C::Register(registration()));
    // Disposed late on Friday 4 Dec: step 1 was due Thursday 3 Dec.
    let events = case.ok(upp(), "2026-12-04 10:00", C::Dispose(disposition("PUPR")));
    let judged = JudgedBy::of(&case.services.calendar, &case.services.policy);
    let verdict = events[0]
        .verdicts
        .iter()
        .find(|v| v.step == Step::Disposition)
        .expect("the disposition ends step 1 and records its verdict");
    assert_eq!((verdict.late, verdict.due_at), (true, end_of("2026-12-03")));
    assert_eq!(verdict.judged_by, judged);

    // Later the table gains holidays on 1-3 Dec: step 1 would now be due 8 Dec.
    let amended = with_extra_holidays(&["2026-12-01", "2026-12-02", "2026-12-03"]);
    let later = assess(
        case.state().timeline(),
        &amended,
        &case.services.policy,
        wib("2026-12-05 09:00"),
    );
    let step1 = latest(&later, Step::Disposition);
    assert!(step1.late, "the ended clock keeps its verdict");
    assert_eq!(step1.due_at, end_of("2026-12-03"));
    assert_eq!(step1.judged_by, Some(judged));
    // The running review clock is recomputed with the new table: disposed Fri 4 Dec,
    // due Wed 9 Dec either way (no new holiday after the 4th)...
    let review = latest(&later, Step::Review);
    assert_eq!(review.judged_by, None);
    // ...but a running step-1 clock of another complaint moves.
    let mut running = Case::new();
    running.ok(upp(), "2026-11-30 09:00", C::Register(registration()));
    let moved = latest(
        &assess(
            running.state().timeline(),
            &amended,
            &running.services.policy,
            wib("2026-11-30 10:00"),
        ),
        Step::Disposition,
    );
    assert_eq!(moved.due_at, end_of("2026-12-08"));
}

/// The verdict is read from the log alone: every event that ends a clock carries it,
/// and replaying the stored events rebuilds the same verdicts.
#[test]
fn every_ended_clock_carries_its_verdict_in_the_event_that_ended_it() {
    let mut case = Case::responded();
    case.ok(upp(), "2026-12-02 09:00", C::RecordFeedback(feedback(true)));
    case.ok(upp(), "2026-12-02 09:30", C::Close(Closure::default()));
    let state = case.state();
    for clock in &state.timeline().clocks {
        assert!(
            clock.ended_at.is_some(),
            "{} still running after the close",
            clock.step
        );
        let verdict = clock
            .verdict
            .as_ref()
            .unwrap_or_else(|| panic!("{} run {} has no verdict", clock.step, clock.occurrence));
        let carried = case
            .log
            .iter()
            .filter(|e| e.at == clock.ended_at.unwrap())
            .flat_map(|e| &e.verdicts)
            .any(|v| v == verdict);
        assert!(
            carried,
            "the {} verdict is not in the event that ended it",
            clock.step
        );
    }
}

// --- Annulling a breach ---------------------------------------------------------------

/// The coordinator may annul a recorded breach with a reason: an event; the breach
/// stays in history, marked annulled.
#[test]
fn the_coordinator_annuls_a_recorded_breach_which_stays_in_history_marked_annulled() {
    let mut case = Case::new();
    case.ok(upp(), "2026-11-30 09:00", C::Register(registration()));
    let annul = || {
        C::AnnulBreach(BreachAnnulment {
            step: Step::Disposition,
            occurrence: 1,
            reason: "LAPOR! tidak dapat diakses 1-3 Desember".into(),
        })
    };
    assert_eq!(
        case.refused(coordinator(), "2026-12-04 08:00", annul()),
        DomainError::BreachNotRecorded {
            step: Step::Disposition,
            occurrence: 1
        }
    );
    case.ok(
        system(),
        "2026-12-04 08:00",
        C::RecordSlaBreach(BreachReport::latest(Step::Disposition)),
    );
    assert_eq!(
        case.refused(upp(), "2026-12-04 09:00", annul()).rule(),
        "access.role_not_permitted"
    );
    case.ok(coordinator(), "2026-12-04 09:00", annul());
    let a = latest(&case.assess("2026-12-04 10:00"), Step::Disposition);
    assert!(a.breach_recorded && a.breach_annulled);
    // As of before the annulment, the breach was not annulled.
    let before = latest(&case.assess("2026-12-04 08:30"), Step::Disposition);
    assert!(before.breach_recorded && !before.breach_annulled);
    assert_eq!(
        case.refused(coordinator(), "2026-12-04 11:00", annul()),
        DomainError::BreachAlreadyAnnulled {
            step: Step::Disposition,
            occurrence: 1
        }
    );
    // The monitor does not record the annulled breach again.
    assert_eq!(
        case.refused(
            system(),
            "2026-12-04 12:00",
            C::RecordSlaBreach(BreachReport::latest(Step::Disposition)),
        ),
        DomainError::BreachAlreadyRecorded {
            step: Step::Disposition
        }
    );
}

#[test]
fn the_new_commands_keep_their_rule_codes_for_http() {
    // Each refusal above surfaces over HTTP as a problem naming these rules; the codes
    // are part of the contract.
    for (error, rule, kind) in [
        (
            DomainError::NotAssignedLiaison {
                assigned: "x".into(),
            },
            "access.not_assigned_liaison",
            workflow_core::RefusalKind::Forbidden,
        ),
        (
            DomainError::EscalatedToCoordinator,
            "sop.step1.escalated_to_coordinator",
            workflow_core::RefusalKind::Forbidden,
        ),
        (
            DomainError::CoordinatorDecided,
            "sop.return.coordinator_decided",
            workflow_core::RefusalKind::RuleViolated,
        ),
        (
            DomainError::ReopenRequiresDissatisfiedFeedback,
            "sop.reopen.requires_dissatisfied_feedback",
            workflow_core::RefusalKind::RuleViolated,
        ),
    ] {
        assert_eq!((error.rule(), error.kind()), (rule, kind));
    }
}
