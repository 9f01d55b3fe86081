//! Properties of the domain over generated histories: random commands by random actors
//! never panic, only follow the SOP's transitions, and replaying the recorded events on
//! a fresh complaint always rebuilds the same state; SLA deadlines fall on working days,
//! grow with pauses and never move earlier as time passes.

use std::collections::BTreeSet;
use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use workflow_core::complaint::command::{BreachReport, Closure, ComplaintCommand as C};
use workflow_core::fixtures::*;
use workflow_core::sla::{assess_clock, Pause, StepClock};
use workflow_core::Role;
use workflow_core::{
    Actor, Complaint, ComplaintEvent, ComplaintServices, SlaPolicy, Status, Step, WorkingCalendar,
};

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
                | (Clarified, FieldVerified | Responded | Returned)
                | (FieldVerified, BaIssued | Returned)
                | (BaIssued, Responded)
                | (Responded, Closed | Disposed)
                | (Received | Returned, Archived | Forwarded)
        )
        || (to == Withdrawn && from != New && !from.is_terminal())
}

/// Who may do what, written out from the SOP's actor table (not from the engine's own
/// list): UPP registers, disposes, records the complainant's answers, closes, archives,
/// records withdrawals and forwards; the coordinator disposes and forwards; the liaison
/// officer does steps 2 and 3 and responds; the system records breaches, closes after the
/// feedback window and deems withdrawn; the head of the agency acknowledges the BA;
/// APIP only reads.
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

const AGENCIES: [&str; 2] = ["PUPR", "DISHUB"];

fn any_actor(i: usize) -> Actor {
    match i % 7 {
        0 => upp(),
        1 => coordinator(),
        2 => liaison("PUPR"),
        3 => liaison("DISHUB"),
        4 => head("PUPR"),
        5 => apip(),
        _ => system(),
    }
}

/// One generated request: which command, by whom, how far the clock moves first, and
/// whether its content is well formed.
#[derive(Clone, Debug)]
struct Step_ {
    kind: u8,
    natural_actor: bool,
    actor: usize,
    agency: usize,
    well_formed: bool,
    flag: bool,
    hours: i64,
    reuse_id: Option<usize>,
}

fn step_strategy() -> impl Strategy<Value = Step_> {
    (
        0u8..18,
        prop::bool::weighted(0.8),
        0usize..7,
        0usize..2,
        prop::bool::weighted(0.85),
        any::<bool>(),
        0i64..80,
        prop::option::weighted(0.1, 0usize..8),
    )
        .prop_map(
            |(kind, natural_actor, actor, agency, well_formed, flag, hours, reuse_id)| Step_ {
                kind,
                natural_actor,
                actor,
                agency,
                well_formed,
                flag,
                hours,
                reuse_id,
            },
        )
}

fn to_command(s: &Step_) -> (Actor, C) {
    let agency = AGENCIES[s.agency];
    let blank = |text: &str| {
        if s.well_formed {
            text.to_owned()
        } else {
            String::new()
        }
    };
    let (natural, command) = match s.kind {
        0 => (upp(), C::Register(registration())),
        1 => (
            if s.flag { upp() } else { coordinator() },
            C::Dispose(disposition(agency)),
        ),
        // Returns are possible at many steps: rarer, so that histories also go deep.
        2 if s.hours % 3 == 0 => (
            liaison(agency),
            C::ReturnForRedisposition(workflow_core::complaint::command::ReturnNote {
                reason: blank("bukan kewenangan kami"),
                suggested_agency: None,
            }),
        ),
        3 => {
            // The two questions of step 2, in all four combinations.
            let mut review = match (s.flag, s.hours % 2 == 0) {
                (true, true) => complete_review(),
                (true, false) => unclear_review(),
                (false, true) => incomplete_but_clear_review(),
                (false, false) => incomplete_review(),
            };
            if !s.well_formed {
                review.complete = !review.complete;
            }
            (liaison(agency), C::Review(review))
        }
        4 => (liaison(agency), C::Reject(rejection())),
        5 => (
            liaison(agency),
            C::RequestInformation(information_request()),
        ),
        6 => (upp(), C::ProvideInformation(information_reply())),
        7 => {
            let mut c = clarification(s.flag);
            c.reasoning = blank(&c.reasoning);
            (liaison(agency), C::Clarify(c))
        }
        8 => {
            let mut v = field_visit("2026-11-30");
            if !s.well_formed {
                v.evidence = vec![scan(3)];
            }
            (liaison(agency), C::VerifyInField(v))
        }
        9 => (
            liaison(agency),
            C::IssueBa(berita_acara(
                if s.well_formed {
                    agency
                } else {
                    AGENCIES[1 - s.agency]
                },
                "2026-11-30",
            )),
        ),
        10 => (liaison(agency), C::Respond(response_text())),
        11 => (
            if s.flag { upp() } else { system() },
            C::Close(Closure::default()),
        ),
        // The door's commands end a complaint: rarer, so that histories also go deep.
        17 => (head(agency), C::AcknowledgeBa(Default::default())),
        16 => (
            system(),
            C::DeemWithdrawn(workflow_core::complaint::command::WindowReport::default()),
        ),
        13..=15 if s.hours % 16 != 0 => (
            system(),
            C::RecordSlaBreach(BreachReport::latest(Step::ALL[s.actor % Step::ALL.len()])),
        ),
        13 => (
            upp(),
            C::Archive(if s.well_formed {
                duplicate_of("ADU-0")
            } else {
                let mut a = spam();
                a.duplicate_of = Some("ADU-0".into());
                a
            }),
        ),
        14 => {
            let mut w = withdrawal();
            w.note = blank(&w.note);
            (upp(), C::Withdraw(w))
        }
        15 => (
            if s.flag { upp() } else { coordinator() },
            C::Forward(forwarding()),
        ),
        _ => (
            system(),
            C::RecordSlaBreach(BreachReport::latest(Step::ALL[s.actor % Step::ALL.len()])),
        ),
    };
    let actor = if s.natural_actor {
        natural
    } else {
        any_actor(s.actor)
    };
    (actor, command)
}

/// Runs a generated history, checking the properties after every request, and returns
/// the statuses it went through.
fn run_history(steps: &[Step_]) -> Result<BTreeSet<Status>, TestCaseError> {
    let services = ComplaintServices::builtin();
    let mut state = Complaint::default();
    let mut log: Vec<ComplaintEvent> = Vec::new();
    let mut now = wib("2026-11-30 08:00");
    let mut seen = BTreeSet::from([Status::New]);
    for (i, s) in steps.iter().enumerate() {
        now += Duration::hours(s.hours);
        let (actor, command) = to_command(s);
        let id = match s.reuse_id {
            Some(k) => format!("cmd-{}", k.min(i)),
            None => format!("cmd-{i}"),
        };
        let envelope = cmd(&id, actor, now, command);
        let before = state.clone();
        // A refusal leaves nothing to check: `decide` cannot change the state.
        if let Ok(events) = state.decide(&envelope, &services) {
            prop_assert!(events.len() <= 2);
            if !events.is_empty() {
                prop_assert!(
                    sop_roles(&envelope.command).contains(&envelope.actor.role),
                    "{:?} did {}, which the SOP gives to {:?} only",
                    envelope.actor.role,
                    envelope.command.name(),
                    sop_roles(&envelope.command)
                );
            }
            if before.has_seen(&envelope.command_id) {
                prop_assert!(events.is_empty(), "a repeated command id must be a no-op");
            }
            for e in &events {
                state.apply_event(e);
                prop_assert!(
                    allowed(before.status(), state.status()),
                    "{} -> {} by {:?}",
                    before.status(),
                    state.status(),
                    e.body
                );
                // The log keeps what was stored: replay reads the deserialized form.
                let json = serde_json::to_string(e).expect("events serialise");
                let back: ComplaintEvent = serde_json::from_str(&json).expect("and deserialise");
                log.push(back);
            }
            // Handling it again is a no-op: the command id is now known.
            prop_assert_eq!(state.decide(&envelope, &services), Ok(vec![]));
        }
        seen.insert(state.status());
        prop_assert_eq!(
            &Complaint::from_events(&log),
            &state,
            "replay differs from live state"
        );
    }
    let json = serde_json::to_string(&state).expect("state serialises");
    let back: Complaint = serde_json::from_str(&json).expect("and deserialises");
    prop_assert_eq!(back, state);
    Ok(seen)
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    #[test]
    fn random_histories_keep_to_the_sop_and_replay_to_the_same_state(
        steps in prop::collection::vec(step_strategy(), 1..80)
    ) {
        run_history(&steps)?;
    }
}

#[test]
fn the_generated_histories_reach_every_status() {
    let reached = Mutex::new(BTreeSet::new());
    // A fixed seed: the coverage is a property of the generator, not of one lucky run.
    let mut runner = TestRunner::new_with_rng(
        Config::with_cases(600),
        proptest::test_runner::TestRng::deterministic_rng(Default::default()),
    );
    runner
        .run(&prop::collection::vec(step_strategy(), 40..120), |steps| {
            let seen = run_history(&steps)?;
            reached.lock().unwrap().extend(seen);
            Ok(())
        })
        .unwrap();
    let reached = reached.into_inner().unwrap();
    let missing: Vec<_> = Status::ALL
        .iter()
        .filter(|s| !reached.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "the generator never reached {missing:?}"
    );
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
    #![proptest_config(Config::with_cases(512))]

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
    #![proptest_config(Config::with_cases(256))]

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
