//! Properties of the domain over generated histories: random commands by random actors
//! (well formed or not) never panic, only follow the SOP's transitions, are accepted
//! only from the roles the SOP gives them, fix a verdict in each event that ends a
//! clock, and replaying the recorded (serialized, then read back) events on a fresh
//! complaint always rebuilds the same state; the generator reaches every status and
//! every refusal of the domain. SLA deadlines fall on working days, grow with pauses and
//! never move earlier as time passes.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use workflow_core::complaint::command::{
    BreachAnnulment, BreachReport, Closure, ComplaintCommand as C, Reassignment, ResponseChannel,
    ReturnNote, WindowReport,
};
use workflow_core::evidence::EvidenceRef;
use workflow_core::fixtures::*;
use workflow_core::sla::{assess_clock, Pause, StepClock};
use workflow_core::{
    Actor, Complaint, ComplaintEvent, ComplaintServices, DomainError, SlaPolicy, Status, Step,
    WorkingCalendar,
};
use workflow_core::{AgencyCode, Role, UserId};

use crate::support::clocks_ended;

/// The SOP's transitions, written down independently of the aggregate.
fn allowed(from: Status, to: Status) -> bool {
    use Status::*;
    from == to && to != New
        || matches!(
            (from, to),
            (New, Received)
                | (Received, Disposed)
                | (Disposed, Returned | Reviewed)
                | (Returned, Disposed)
                | (
                    Reviewed,
                    Returned | Rejected | AwaitingInformation | Clarified
                )
                | (AwaitingInformation, InformationProvided | Rejected)
                | (InformationProvided, Reviewed | Returned)
                // "Not our matter" may also show after the clarification or the visit.
                | (Clarified, FieldVerified | Responded | Returned)
                | (FieldVerified, BaIssued | Returned)
                | (BaIssued, Responded)
                // Closed after the feedback, or back to the liaison officer (reopened).
                | (Responded, Closed | Disposed)
                | (Received | Returned, Archived | Forwarded)
        )
        || (to == Withdrawn && from != New && !from.is_terminal())
}

/// Who may do what, written out from the SOP's actor table (not from the engine's own
/// list): UPP registers, disposes, records the complainant's answers and feedback,
/// reopens, reassigns, closes, archives, records withdrawals and forwards; the
/// coordinator disposes, forwards, reopens and annuls breaches; the liaison officer does
/// steps 2 and 3, reports progress and responds; the system records breaches, closes
/// after the feedback window and deems withdrawn; the head of the agency acknowledges the
/// BA and reassigns within the agency; APIP only reads.
fn sop_roles(command: &C) -> &'static [Role] {
    match command {
        C::Register(_) | C::ProvideInformation(_) | C::Archive(_) | C::Withdraw(_) => &[Role::Upp],
        C::Dispose(_) | C::Forward(_) => &[Role::Upp, Role::Coordinator],
        C::Close(_) => &[Role::Upp, Role::System],
        C::RecordSlaBreach(_) | C::DeemWithdrawn(_) => &[Role::System],
        C::AcknowledgeBa(_) => &[Role::Head],
        C::RecordFeedback(_) => &[Role::Upp],
        C::Reopen(_) => &[Role::Upp, Role::Coordinator],
        C::Reassign(_) => &[Role::Upp, Role::Head],
        C::AnnulBreach(_) => &[Role::Coordinator],
        C::ReportProgress(_)
        | C::ReturnForRedisposition(_)
        | C::Review(_)
        | C::Reject(_)
        | C::RequestInformation(_)
        | C::Clarify(_)
        | C::VerifyInField(_)
        | C::IssueBa(_)
        | C::Respond(_) => &[Role::Liaison],
    }
}

// --- Every refusal ------------------------------------------------------------------

/// One sample of each `DomainError` variant, in declaration order.
///
/// When a variant is added, [`variant_index`] stops compiling: give it an arm there
/// and a sample here, and make the generator below reach it.
fn every_variant() -> Vec<DomainError> {
    let at = wib("2026-11-30 08:00");
    let agency = AgencyCode::from("PUPR");
    let user = UserId::from("penghubung.pupr");
    vec![
        DomainError::NotRegistered,
        DomainError::AlreadyRegistered,
        DomainError::RoleNotPermitted {
            role: Role::Apip,
            command: "register",
        },
        DomainError::ReadOnlyRole { role: Role::Apip },
        DomainError::NotYourAgency { disposed_to: None },
        DomainError::InvalidTransition {
            command: "close",
            status: Status::Received,
        },
        DomainError::AlreadyDisposedTo {
            agency: agency.clone(),
        },
        DomainError::MissingField { field: "reason" },
        DomainError::ReviewInconsistent,
        DomainError::ResponseAwaitsBaAcknowledgement,
        DomainError::BaAlreadyAcknowledged,
        DomainError::InformationWindowOpen { until: at },
        DomainError::DuplicateOfMismatch,
        DomainError::CommandIdReused {
            command_id: "cmd-1".into(),
        },
        DomainError::ReportedAfterRegistration {
            reported_at: at,
            registered_at: at,
        },
        DomainError::ReportedAtImplausible { reported_at: at },
        DomainError::UserNameInvalid,
        DomainError::RejectRequiresIncompleteAndUnclearReview,
        DomainError::RequestRequiresIncompleteOrUnclearReview,
        DomainError::ClarifyRequiresClearReview,
        DomainError::FieldVerificationNotNeeded,
        DomainError::FieldVerificationNeedsPhoto,
        DomainError::MalformedEvidence {
            sha256: "xyz".into(),
        },
        DomainError::VisitDateInFuture,
        DomainError::BaRequiresFieldVerification,
        DomainError::BaAddresseeNotHeadOfDisposedAgency {
            expected: agency.clone(),
            addressed: "DISHUB".into(),
        },
        DomainError::BaDateBeforeVisit,
        DomainError::BaNeedsSignatory,
        DomainError::RespondRequiresOutcome,
        DomainError::FeedbackWindowOpen { until: at },
        DomainError::DeadlineNotPassed {
            step: Step::Review,
            due_at: at,
        },
        DomainError::BreachAlreadyRecorded { step: Step::Review },
        DomainError::StepNotStarted {
            step: Step::Overall,
        },
        DomainError::StepNotBreachable {
            step: Step::Feedback,
        },
        DomainError::WaitingForComplainant,
        DomainError::NotAssignedLiaison {
            assigned: user.clone(),
        },
        DomainError::EscalatedToCoordinator,
        DomainError::CoordinatorDecided,
        DomainError::FeedbackAlreadyRecorded,
        DomainError::ReopenRequiresDissatisfiedFeedback,
        DomainError::CloseRequiresSatisfiedFeedbackOrWindow { until: at },
        DomainError::ReassignToSameLiaison { liaison: user },
        DomainError::BreachNotRecorded {
            step: Step::Review,
            occurrence: 1,
        },
        DomainError::BreachAlreadyAnnulled {
            step: Step::Review,
            occurrence: 1,
        },
        DomainError::IncompleteFileNeedsFieldExamination,
        DomainError::FeedbackWindowElapsed { ended: at },
    ]
}

/// The position of `e`'s variant in [`every_variant`]. Exhaustive on purpose (no
/// wildcard): a new variant breaks the build here until it has an arm and a sample.
fn variant_index(e: &DomainError) -> usize {
    match e {
        DomainError::NotRegistered => 0,
        DomainError::AlreadyRegistered => 1,
        DomainError::RoleNotPermitted { .. } => 2,
        DomainError::ReadOnlyRole { .. } => 3,
        DomainError::NotYourAgency { .. } => 4,
        DomainError::InvalidTransition { .. } => 5,
        DomainError::AlreadyDisposedTo { .. } => 6,
        DomainError::MissingField { .. } => 7,
        DomainError::ReviewInconsistent => 8,
        DomainError::ResponseAwaitsBaAcknowledgement => 9,
        DomainError::BaAlreadyAcknowledged => 10,
        DomainError::InformationWindowOpen { .. } => 11,
        DomainError::DuplicateOfMismatch => 12,
        DomainError::CommandIdReused { .. } => 13,
        DomainError::ReportedAfterRegistration { .. } => 14,
        DomainError::ReportedAtImplausible { .. } => 15,
        DomainError::UserNameInvalid => 16,
        DomainError::RejectRequiresIncompleteAndUnclearReview => 17,
        DomainError::RequestRequiresIncompleteOrUnclearReview => 18,
        DomainError::ClarifyRequiresClearReview => 19,
        DomainError::FieldVerificationNotNeeded => 20,
        DomainError::FieldVerificationNeedsPhoto => 21,
        DomainError::MalformedEvidence { .. } => 22,
        DomainError::VisitDateInFuture => 23,
        DomainError::BaRequiresFieldVerification => 24,
        DomainError::BaAddresseeNotHeadOfDisposedAgency { .. } => 25,
        DomainError::BaDateBeforeVisit => 26,
        DomainError::BaNeedsSignatory => 27,
        DomainError::RespondRequiresOutcome => 28,
        DomainError::FeedbackWindowOpen { .. } => 29,
        DomainError::DeadlineNotPassed { .. } => 30,
        DomainError::BreachAlreadyRecorded { .. } => 31,
        DomainError::StepNotStarted { .. } => 32,
        DomainError::StepNotBreachable { .. } => 33,
        DomainError::WaitingForComplainant => 34,
        DomainError::NotAssignedLiaison { .. } => 35,
        DomainError::EscalatedToCoordinator => 36,
        DomainError::CoordinatorDecided => 37,
        DomainError::FeedbackAlreadyRecorded => 38,
        DomainError::ReopenRequiresDissatisfiedFeedback => 39,
        DomainError::CloseRequiresSatisfiedFeedbackOrWindow { .. } => 40,
        DomainError::ReassignToSameLiaison { .. } => 41,
        DomainError::BreachNotRecorded { .. } => 42,
        DomainError::BreachAlreadyAnnulled { .. } => 43,
        DomainError::IncompleteFileNeedsFieldExamination => 44,
        DomainError::FeedbackWindowElapsed { .. } => 45,
    }
}

/// The rule code of every variant of `DomainError`: the set a thorough generator must
/// reach.
fn rule_of_every_variant() -> Vec<&'static str> {
    let samples = every_variant();
    for (i, sample) in samples.iter().enumerate() {
        assert_eq!(
            variant_index(sample),
            i,
            "every_variant() must list one sample per variant, in the order of variant_index: {sample:?}"
        );
    }
    samples.iter().map(DomainError::rule).collect()
}

#[test]
fn each_refusal_has_its_own_rule_code() {
    let codes = rule_of_every_variant();
    let distinct: BTreeSet<_> = codes.iter().collect();
    assert_eq!(
        distinct.len(),
        codes.len(),
        "two variants share a code: {codes:?}"
    );
}

/// `cases` cases, failures kept beside the source file that runs them
/// (`<file>.proptest-regressions`). Proptest's default looks for a `main.rs` above the
/// file and keeps them in a `proptest-regressions/` folder beside it instead: the
/// cases found so far would be looked for there, and silently not found.
fn config(cases: u32) -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::with_cases(cases)
    }
}

// --- Generated histories ------------------------------------------------------------

const AGENCIES: [&str; 2] = ["PUPR", "DISHUB"];

/// An actor other than the natural one for a request (`9`, the natural one under a
/// user name the engine reserves, is handled in [`to_command`]).
fn any_actor(i: usize) -> Actor {
    match i {
        0 => upp(),
        1 => coordinator(),
        2 => liaison("PUPR"),
        3 => liaison("DISHUB"),
        4 => head("PUPR"),
        5 => apip(),
        6 => system(),
        // Another liaison officer of the same agency, not the one assigned.
        7 => Actor::of_agency("penghubung2.pupr", Role::Liaison, "PUPR"),
        _ => head("DISHUB"),
    }
}

/// User names `decide` refuses: a `:` (the separator of command ids) or one of the
/// prefixes of the engine's own command ids.
const BAD_USER_NAMES: [&str; 4] = ["sari:upp", "sla-breach", "auto-close", "deemed-withdrawn"];

/// One generated request: which command, by whom, how far the clock moves first, and
/// whether (and how) its content is malformed.
#[derive(Clone, Debug)]
struct Request {
    /// Send the SOP's next command for the complaint's status rather than `kind`, so
    /// that histories go deep.
    follow: bool,
    kind: u8,
    natural_actor: bool,
    actor: usize,
    agency: usize,
    well_formed: bool,
    /// Which malformation, when not well formed.
    defect: u8,
    flag: bool,
    hours: i64,
    reuse_id: Option<usize>,
}

fn request_strategy() -> impl Strategy<Value = Request> {
    (
        (
            prop::bool::weighted(0.35),
            0u8..24,
            prop::bool::weighted(0.8),
            0usize..10,
            0usize..2,
        ),
        (
            prop::bool::weighted(0.7),
            0u8..6,
            any::<bool>(),
            0i64..80,
            prop::option::weighted(0.1, 0usize..8),
        ),
    )
        .prop_map(
            |(
                (follow, kind, natural_actor, actor, agency),
                (well_formed, defect, flag, hours, reuse_id),
            )| {
                Request {
                    follow,
                    kind,
                    natural_actor,
                    actor,
                    agency,
                    well_formed,
                    defect,
                    flag,
                    hours,
                    reuse_id,
                }
            },
        )
}

/// A generated history: its requests, and the policy it runs under.
#[derive(Clone, Debug)]
struct History {
    /// The policy has the response wait for the head's acknowledgement of the BA.
    ack_required: bool,
    /// Agencies send the complaint back readily (so that returns reach the coordinator).
    returny: bool,
    requests: Vec<Request>,
}

fn history_strategy(len: std::ops::Range<usize>) -> impl Strategy<Value = History> {
    (
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::collection::vec(request_strategy(), len),
    )
        .prop_map(|(ack_required, returny, requests)| History {
            ack_required,
            returny,
            requests,
        })
}

static SERVICES: LazyLock<[ComplaintServices; 2]> = LazyLock::new(|| {
    let calendar = Arc::new(WorkingCalendar::builtin());
    let awaiting_ack = SlaPolicy {
        response_requires_ba_acknowledgement: true,
        ..SlaPolicy::default()
    };
    [
        ComplaintServices {
            calendar: calendar.clone(),
            policy: Arc::new(SlaPolicy::default()),
        },
        ComplaintServices {
            calendar,
            policy: Arc::new(awaiting_ack),
        },
    ]
});

fn malformed_evidence() -> EvidenceRef {
    EvidenceRef {
        sha256: "not-a-digest".into(),
        ..photo(7)
    }
}

/// The `kind` of the SOP's next command for the complaint where it stands (a terminal
/// complaint has none: the request's own kind is sent).
fn next_kind(r: &Request, state: &Complaint, history: &History) -> u8 {
    let returnable = matches!(
        state.status(),
        Status::Disposed
            | Status::Reviewed
            | Status::InformationProvided
            | Status::Clarified
            | Status::FieldVerified
    );
    if history.returny && returnable && r.hours % 2 == 0 {
        return 2;
    }
    match state.status() {
        Status::New => 0,
        // Now and then a complaint is archived or forwarded at the door.
        Status::Received | Status::Returned if r.hours % 12 == 0 => {
            if r.flag {
                19
            } else {
                21
            }
        }
        Status::Received | Status::Returned => 1,
        Status::Disposed | Status::InformationProvided => 3,
        Status::Reviewed => match state.last_review() {
            Some(review) if review.complete && review.clear => 7,
            Some(review) if !review.complete && !review.clear && r.flag => 4,
            _ => 5,
        },
        Status::AwaitingInformation => 6,
        Status::Clarified => match state.clarification() {
            Some(c) if c.field_examination_needed => 8,
            _ => 10,
        },
        Status::FieldVerified => 9,
        // Responding before the head acknowledged is refused where the policy says so.
        Status::BaIssued if !state.ba_acknowledged() && r.flag => 17,
        Status::BaIssued => 10,
        Status::Responded => match state.feedback() {
            None => 13,
            Some(f) if !f.satisfied && r.flag => 14,
            Some(_) => 11,
        },
        Status::Rejected
        | Status::Closed
        | Status::Archived
        | Status::Withdrawn
        | Status::Forwarded => r.kind,
    }
}

/// The command a request stands for, and who sends it. The natural actor follows the
/// complaint (the assigned liaison officer, the head of the agency holding it), so that
/// histories go deep; the others come from [`any_actor`].
fn to_command(r: &Request, state: &Complaint, history: &History, now: DateTime<Utc>) -> (Actor, C) {
    let held_by = state.agency().map(|a| a.0.clone());
    let agency = held_by.clone().unwrap_or_else(|| AGENCIES[r.agency].into());
    let assigned = match state.disposition() {
        Some(d) => Actor::of_agency(d.liaison_officer.0.clone(), Role::Liaison, &d.agency.0),
        None => liaison(&agency),
    };
    let bad = !r.well_formed;
    let defect = r.defect;
    let blank = |text: &str| if bad { String::new() } else { text.to_owned() };
    let kind = if r.follow {
        next_kind(r, state, history)
    } else {
        r.kind
    };
    let (natural, command) = match kind {
        0 => {
            let mut reg = registration();
            if bad {
                match defect % 5 {
                    0 => reg.title = " ".into(),
                    1 => reg.reported_at = now + Duration::hours(1),
                    2 => reg.reported_at = wib("1999-12-31 23:00"),
                    3 => reg.attachments.push(malformed_evidence()),
                    _ => reg.complainant.name = String::new(),
                }
            }
            (upp(), C::Register(reg))
        }
        1 => {
            // Re-disposing goes to either agency; the first disposal too.
            let mut d = disposition(AGENCIES[r.agency]);
            if r.flag {
                d.sub_unit = Some("UPT Jalan dan Jembatan".into());
            }
            if bad {
                match defect % 3 {
                    0 => d.liaison_officer = UserId(String::new()),
                    1 => d.sub_unit = Some(" ".into()),
                    _ => d.agency = AgencyCode(String::new()),
                }
            }
            (if r.flag { upp() } else { coordinator() }, C::Dispose(d))
        }
        // Returns are possible at many steps: rarer, so that histories also go deep,
        // except in the histories where agencies send complaints back readily.
        2 if history.returny || r.hours % 3 == 0 => (
            assigned,
            C::ReturnForRedisposition(ReturnNote {
                reason: blank("bukan kewenangan kami"),
                suggested_agency: None,
            }),
        ),
        3 => {
            // The two questions of step 2, in all four combinations.
            let mut review = match (r.flag, r.hours % 2 == 0) {
                (true, true) => complete_review(),
                (true, false) => unclear_review(),
                (false, true) => incomplete_but_clear_review(),
                (false, false) => incomplete_review(),
            };
            if bad {
                if defect.is_multiple_of(2) {
                    review.complete = !review.complete;
                } else {
                    review.missing_items.push("  ".into());
                }
            }
            (assigned, C::Review(review))
        }
        4 => {
            let mut rejection = rejection();
            rejection.reason = blank(&rejection.reason);
            (assigned, C::Reject(rejection))
        }
        5 => {
            let mut q = information_request();
            if bad {
                q.questions = if defect.is_multiple_of(2) {
                    vec![]
                } else {
                    vec![" ".into()]
                };
            }
            (assigned, C::RequestInformation(q))
        }
        6 => {
            let mut a = information_reply();
            if bad {
                if defect.is_multiple_of(2) {
                    a.answer = String::new();
                } else {
                    a.attachments.push(malformed_evidence());
                }
            }
            (upp(), C::ProvideInformation(a))
        }
        7 => {
            let mut c = clarification(r.flag);
            c.reasoning = blank(&c.reasoning);
            (assigned, C::Clarify(c))
        }
        8 => {
            let mut v = field_visit("2026-11-30");
            if bad {
                match defect {
                    0 => v.evidence = vec![scan(3)],
                    1 => v.evidence.push(malformed_evidence()),
                    2 => v.visit_date = date("2030-01-02"),
                    3 => v.location = String::new(),
                    4 => v.parties_summoned.clear(),
                    _ => v.parties_summoned[0].name = " ".into(),
                }
            }
            (assigned, C::VerifyInField(v))
        }
        9 => {
            let mut ba = berita_acara(&agency, "2026-11-30");
            if bad {
                match defect % 5 {
                    0 => {
                        let other = if agency == "PUPR" { "DISHUB" } else { "PUPR" };
                        ba.addressee.agency = other.into();
                    }
                    1 => ba.date = date("2026-11-29"),
                    2 => ba.signatories.clear(),
                    3 => ba.number = String::new(),
                    _ => ba.solution = " ".into(),
                }
            }
            (assigned, C::IssueBa(ba))
        }
        10 => {
            let mut text = response_text();
            text.channel = if r.flag {
                ResponseChannel::Lapor
            } else {
                ResponseChannel::Letter
            };
            // Left empty, a response after the BA carries the BA's solution; after a
            // clarification it is missing.
            text.response = blank(&text.response);
            (assigned, C::Respond(text))
        }
        11 => (
            if r.flag { upp() } else { system() },
            C::Close(Closure {
                note: r.flag.then(|| "Ditutup".into()),
            }),
        ),
        12 => {
            let mut p = progress_report();
            p.text = blank(&p.text);
            (assigned, C::ReportProgress(p))
        }
        13 => {
            let mut f = feedback(r.flag);
            if bad {
                f.satisfied = false;
                f.text = String::new();
            }
            (upp(), C::RecordFeedback(f))
        }
        14 => {
            let mut o = reopening();
            o.reason = blank(&o.reason);
            (if r.flag { upp() } else { coordinator() }, C::Reopen(o))
        }
        15 => {
            // To another liaison officer of the agency, or to the one already assigned.
            let to = if r.hours % 2 == 0 {
                format!("penghubung2.{}", agency.to_lowercase())
            } else {
                format!("penghubung.{}", agency.to_lowercase())
            };
            let mut reassignment = Reassignment {
                liaison_officer: UserId(to),
                reason: "Pejabat penghubung cuti".into(),
            };
            if bad {
                if defect.is_multiple_of(2) {
                    reassignment.reason = String::new();
                } else {
                    reassignment.liaison_officer = UserId(" ".into());
                }
            }
            (
                if r.flag { upp() } else { head(&agency) },
                C::Reassign(reassignment),
            )
        }
        16 => (
            coordinator(),
            C::AnnulBreach(BreachAnnulment {
                step: Step::ALL[r.actor % Step::ALL.len()],
                occurrence: 1 + u32::from(r.hours % 3 == 0),
                reason: blank("Gangguan sistem LAPOR!"),
            }),
        ),
        17 => (head(&agency), C::AcknowledgeBa(Default::default())),
        18 => (system(), C::DeemWithdrawn(WindowReport::default())),
        // The door's commands end a complaint: rarer, so that histories also go deep.
        19 if r.follow || r.hours % 16 == 0 => (
            upp(),
            C::Archive(match (r.well_formed, r.flag) {
                (true, true) => duplicate_of("ADU-0"),
                (true, false) => spam(),
                (false, true) => {
                    let mut a = spam();
                    a.duplicate_of = Some("ADU-0".into());
                    a
                }
                (false, false) => duplicate_of(" "),
            }),
        ),
        20 if r.follow || r.hours % 16 == 0 => {
            let mut w = withdrawal();
            w.note = blank(&w.note);
            (upp(), C::Withdraw(w))
        }
        21 if r.follow || r.hours % 16 == 0 => {
            let mut f = forwarding();
            f.institution = blank(&f.institution);
            (if r.flag { upp() } else { coordinator() }, C::Forward(f))
        }
        _ => (
            system(),
            C::RecordSlaBreach(if r.flag {
                BreachReport::latest(Step::ALL[r.actor % Step::ALL.len()])
            } else {
                BreachReport {
                    step: Step::ALL[r.actor % Step::ALL.len()],
                    occurrence: Some(1),
                }
            }),
        ),
    };
    let actor = match (r.natural_actor, r.actor) {
        (true, _) => natural,
        (false, 9) => Actor {
            user: UserId(BAD_USER_NAMES[r.hours as usize % BAD_USER_NAMES.len()].into()),
            ..natural
        },
        (false, i) => any_actor(i),
    };
    (actor, command)
}

/// What a history reached: the statuses it went through and the rules that refused its
/// requests.
#[derive(Default)]
struct Reached {
    statuses: BTreeSet<Status>,
    rules: BTreeSet<&'static str>,
}

/// The strongest actor of `role` for this complaint: the assigned liaison officer and
/// the head of the agency holding it, so that only the role can be what refuses them.
fn probe_actor(role: Role, state: &Complaint) -> Actor {
    let agency = state.agency().map_or("PUPR", |a| a.0.as_str());
    match role {
        Role::Liaison => match state.disposition() {
            Some(d) => Actor::of_agency(d.liaison_officer.0.clone(), role, agency),
            None => liaison(agency),
        },
        Role::Head => head(agency),
        _ => Actor::new(format!("probe.{role}"), role),
    }
}

/// Runs a generated history as the engine does (the command id checked against the log
/// first, then `decide`), checking the properties after every request, and returns what
/// it reached.
fn run_history(history: &History) -> Result<Reached, TestCaseError> {
    let services = &SERVICES[usize::from(history.ack_required)];
    let mut state = Complaint::default();
    let mut log: Vec<ComplaintEvent> = Vec::new();
    let mut now = wib("2026-11-30 08:00");
    let mut reached = Reached {
        statuses: BTreeSet::from([Status::New]),
        ..Reached::default()
    };
    for (i, r) in history.requests.iter().enumerate() {
        now += Duration::hours(r.hours);
        let (actor, command) = to_command(r, &state, history, now);
        let id = match r.reuse_id {
            Some(k) => format!("cmd-{}", k.min(i)),
            None => format!("cmd-{i}"),
        };
        let envelope = cmd(&id, actor, now, command);
        let before = state.clone();
        // The executor refuses a seen id that comes with another user, role or command
        // before `decide` answers it "done".
        if let Err(refusal) = envelope.check_retry_of(&log) {
            prop_assert!(
                matches!(refusal, DomainError::CommandIdReused { .. }),
                "{refusal:?}"
            );
            prop_assert!(before.has_seen(&envelope.command_id));
            reached.rules.insert(refusal.rule());
            continue;
        }
        // A refusal leaves nothing to check: `decide` cannot change the state.
        match state.decide(&envelope, services) {
            Err(refusal) => {
                reached.rules.insert(refusal.rule());
            }
            Ok(events) => {
                prop_assert!(events.len() <= 2);
                prop_assert_eq!(
                    events.is_empty(),
                    before.has_seen(&envelope.command_id),
                    "a repeated command id (and only that) must be a no-op"
                );
                if !events.is_empty() {
                    prop_assert!(
                        sop_roles(&envelope.command).contains(&envelope.actor.role),
                        "{:?} did {}, which the SOP gives to {:?} only",
                        envelope.actor.role,
                        envelope.command.name(),
                        sop_roles(&envelope.command)
                    );
                    // Only the SOP's roles succeed: every other role, even as the
                    // assigned liaison or the head of the agency holding it, is refused.
                    for role in Role::ALL {
                        if sop_roles(&envelope.command).contains(&role) {
                            continue;
                        }
                        let probe = cmd(
                            &format!("probe-{i}"),
                            probe_actor(role, &before),
                            now,
                            envelope.command.clone(),
                        );
                        let refused = before.decide(&probe, services);
                        prop_assert!(
                            matches!(
                                refused,
                                Err(DomainError::RoleNotPermitted { .. }
                                    | DomainError::ReadOnlyRole { .. })
                            ),
                            "{:?} may not {}, yet got {:?}",
                            role,
                            envelope.command.name(),
                            refused
                        );
                    }
                }
                for e in &events {
                    let prior = state.clone();
                    state.apply_event(e);
                    prop_assert!(
                        allowed(prior.status(), state.status()),
                        "{} -> {} by {:?}",
                        prior.status(),
                        state.status(),
                        e.body
                    );
                    // Each clock run the event ended is judged in the event, and no other.
                    let judged: BTreeSet<_> =
                        e.verdicts.iter().map(|v| (v.step, v.occurrence)).collect();
                    prop_assert_eq!(
                        judged,
                        clocks_ended(&prior, &state),
                        "verdicts of {:?}",
                        e.body
                    );
                    // The log keeps what was stored: replay reads the deserialized form.
                    let json = serde_json::to_string(e).expect("events serialise");
                    let back: ComplaintEvent =
                        serde_json::from_str(&json).expect("and deserialise");
                    prop_assert_eq!(&back, e);
                    log.push(back);
                }
                // Sending it again is a retry, and a no-op: the command id is now known.
                prop_assert_eq!(envelope.check_retry_of(&log), Ok(()));
                prop_assert_eq!(state.decide(&envelope, services), Ok(vec![]));
            }
        }
        reached.statuses.insert(state.status());
        prop_assert_eq!(
            &Complaint::from_events(&log),
            &state,
            "replay differs from live state"
        );
    }
    let json = serde_json::to_string(&state).expect("state serialises");
    let back: Complaint = serde_json::from_str(&json).expect("and deserialises");
    prop_assert_eq!(back, state);
    Ok(reached)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_histories_keep_to_the_sop_and_replay_to_the_same_state(
        history in history_strategy(1..80)
    ) {
        run_history(&history)?;
    }
}

/// Runs the generator with a fixed seed: the coverage is a property of the generator,
/// not of one lucky run.
fn reached_by_the_generator() -> &'static Reached {
    static REACHED: LazyLock<Reached> = LazyLock::new(|| {
        let reached = Mutex::new(Reached::default());
        let mut runner = TestRunner::new_with_rng(
            Config::with_cases(600),
            proptest::test_runner::TestRng::deterministic_rng(Default::default()),
        );
        runner
            .run(&history_strategy(40..160), |history| {
                let r = run_history(&history)?;
                let mut all = reached.lock().unwrap();
                all.statuses.extend(r.statuses);
                all.rules.extend(r.rules);
                Ok(())
            })
            .unwrap();
        reached.into_inner().unwrap()
    });
    &REACHED
}

#[test]
fn the_generated_histories_reach_every_status() {
    let reached = &reached_by_the_generator().statuses;
    let missing: Vec<_> = Status::ALL
        .iter()
        .filter(|s| !reached.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "the generator never reached {missing:?}"
    );
}

#[test]
fn the_generated_histories_reach_every_refusal_of_the_domain() {
    let reached = &reached_by_the_generator().rules;
    let every: BTreeSet<&str> = rule_of_every_variant().into_iter().collect();
    let missing: Vec<_> = every.difference(reached).collect();
    assert!(
        missing.is_empty(),
        "the generator never reached {missing:?}"
    );
    // And nothing outside the list: a code no variant gives would be a stale list.
    let unknown: Vec<_> = reached.difference(&every).collect();
    assert!(unknown.is_empty(), "codes no variant gives: {unknown:?}");
}

// --- SLA ---------------------------------------------------------------------------

fn instant_strategy() -> impl Strategy<Value = DateTime<Utc>> {
    // 2024-01-01 to 2027-11-30, any minute.
    (0i64..(4 * 365 + 333) * 24 * 60).prop_map(|m| wib("2024-01-01 00:00") + Duration::minutes(m))
}

fn clock(step: Step, started_at: DateTime<Utc>, pauses: Vec<Pause>) -> StepClock {
    StepClock {
        step,
        occurrence: 1,
        started_at,
        ended_at: None,
        pauses,
        breach_recorded_at: None,
        breach_annulled_at: None,
        reported_at: None,
        verdict: None,
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_working_day_deadline_falls_on_a_working_day_at_or_after_start_plus_n_days(
        start in instant_strategy(),
        n in 1u32..20,
    ) {
        let calendar = WorkingCalendar::builtin();
        let mut policy = SlaPolicy::default();
        policy.steps.insert(Step::Review, workflow_core::sla::StepRule::working(n));
        let a = assess_clock(&clock(Step::Review, start, vec![]), "", &calendar, &policy, start);
        let start_date: NaiveDate = policy.time_zone.local_date(start);
        prop_assert!(calendar.is_working_day(a.due_date), "{} is not a working day", a.due_date);
        prop_assert!(a.due_date >= start_date + chrono::Days::new(u64::from(n)));
        prop_assert_eq!(calendar.working_days_between(start_date, a.due_date), n);
        prop_assert!(a.due_at > start);
    }

    #[test]
    fn pauses_extend_the_deadline_and_time_never_pulls_it_earlier(
        start in instant_strategy(),
        pause_after in 0i64..(10 * 24 * 60),
        pause_len in 0i64..(20 * 24 * 60),
        open in any::<bool>(),
        looks in prop::collection::vec(0i64..(40 * 24 * 60), 2..8),
    ) {
        let calendar = WorkingCalendar::builtin();
        let policy = SlaPolicy::default();
        let from = start + Duration::minutes(pause_after);
        let until = if open { None } else { Some(from + Duration::minutes(pause_len)) };
        let paused = clock(Step::Review, start, vec![Pause { from, until }]);
        let plain = clock(Step::Review, start, vec![]);
        let mut looks = looks;
        looks.sort_unstable();
        let mut previous: Option<DateTime<Utc>> = None;
        for minutes in looks {
            let now = start + Duration::minutes(minutes);
            let with_pause = assess_clock(&paused, "", &calendar, &policy, now);
            let without = assess_clock(&plain, "", &calendar, &policy, now);
            prop_assert!(with_pause.due_at >= without.due_at);
            if let Some(p) = previous {
                prop_assert!(with_pause.due_at >= p, "deadline moved earlier as time passed");
            }
            previous = Some(with_pause.due_at);
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// The indexed deadline (what the SLA board stores) agrees with the full assessment
    /// at every instant: at risk from `at_risk_from`, breached after `due_at`.
    #[test]
    fn the_indexed_deadline_agrees_with_the_assessment(
        start in instant_strategy(),
        n in 1u32..8,
        risk in 0u32..3,
        looks in prop::collection::vec(0i64..(20 * 24 * 60), 1..10),
    ) {
        let calendar = WorkingCalendar::builtin();
        let mut policy = SlaPolicy::default();
        policy.steps.insert(Step::Review, workflow_core::sla::StepRule::working(n));
        policy.at_risk_days = risk;
        let c = clock(Step::Review, start, vec![]);
        let d = workflow_core::sla::open_deadline(&c, "", &calendar, &policy).expect("running");
        for minutes in looks {
            let now = start + Duration::minutes(minutes);
            let a = assess_clock(&c, "", &calendar, &policy, now);
            prop_assert_eq!(a.due_at, d.due_at);
            let expected = if now > d.due_at {
                workflow_core::StepStatus::Breached
            } else if now >= d.at_risk_from {
                workflow_core::StepStatus::AtRisk
            } else {
                workflow_core::StepStatus::OnTrack
            };
            prop_assert_eq!(a.status, expected, "now {} at risk from {}", now, d.at_risk_from);
        }
    }
}
