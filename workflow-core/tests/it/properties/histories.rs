//! Generated histories run as the engine runs them, checked after every request.

use std::collections::BTreeSet;
use std::sync::{LazyLock, Mutex};

use chrono::Duration;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::sla::assess_clock;
use workflow_core::{Actor, Complaint, ComplaintEvent, DomainError, Role, Status};

use super::config;
use super::generator::{history_strategy, to_command, History, SERVICES};
use super::refusals::rule_of_every_variant;
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
    // Like the engine's table in shape, and kept apart on purpose: checked against a
    // copy of itself, a wrong role in the engine would pass.
    match command {
        C::Register(_)
        | C::Import(_)
        | C::ProvideInformation(_)
        | C::Archive(_)
        | C::Withdraw(_) => &[Role::Upp],
        C::Dispose(_) | C::Forward(_) => &[Role::Upp, Role::Coordinator],
        C::Close(_) => &[Role::Upp, Role::System],
        C::RecordSlaBreach(_) | C::DeemWithdrawn(_) => &[Role::System],
        C::AcknowledgeBa(_) => &[Role::Head],
        C::RecordFeedback(_) => &[Role::Upp],
        C::Reopen(_) => &[Role::Upp, Role::Coordinator],
        C::Reassign(_) => &[Role::Upp, Role::Head],
        C::AnnulBreach(_) => &[Role::Coordinator],
        C::EraseIdentity(_) => &[Role::Upp, Role::Coordinator, Role::System],
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
        // Now and then a command dated before the complaint's latest event (refused,
        // unless a retry); the history's clock stays where it was.
        let at = match state.latest_event_at() {
            Some(latest) if r.hours == 79 => latest - Duration::minutes(1),
            _ => now,
        };
        let (actor, command) = to_command(r, &state, history, at);
        let id = match r.reuse_id {
            Some(k) => format!("cmd-{}", k.min(i)),
            None => format!("cmd-{i}"),
        };
        let envelope = cmd(&id, actor, at, command);
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
                // An import is the most: registered, disposed, marked.
                prop_assert!(events.len() <= 3);
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
                            at,
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
                    // The log is in time order: no event before the complaint's latest.
                    prop_assert!(
                        before.latest_event_at().is_none_or(|latest| e.at >= latest),
                        "{} dated {} after an event at {:?}",
                        e.body.event_type(),
                        e.at,
                        before.latest_event_at()
                    );
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
                    // Each verdict is the clock judged afresh as the whole state has it
                    // after the event (`decide` judges on a working copy that leaves
                    // out the field visits and the seen command ids).
                    for v in &e.verdicts {
                        let mut clock = state
                            .timeline()
                            .clocks
                            .iter()
                            .find(|c| c.step == v.step && c.occurrence == v.occurrence)
                            .expect("the judged clock is in the state")
                            .clone();
                        clock.verdict = None;
                        let a = assess_clock(
                            &clock,
                            &state.timeline().category,
                            &services.calendar,
                            &services.policy,
                            e.at,
                        );
                        prop_assert_eq!(
                            (a.due_date, a.due_at, a.paused_days, a.late),
                            (v.due_date, v.due_at, v.paused_days, v.late),
                            "the verdict on {:?} #{} of {:?}",
                            v.step,
                            v.occurrence,
                            e.body
                        );
                    }
                    // The log keeps what was stored: replay reads the deserialized form.
                    let json = serde_json::to_string(e).expect("events serialise");
                    let back: ComplaintEvent =
                        serde_json::from_str(&json).expect("and deserialise");
                    prop_assert_eq!(&back, e);
                    log.push(back);
                }
                // The status the executor answers with is the state's after the events.
                let (_, status) = before
                    .decide_with_status(&envelope, services)
                    .expect("decided as before");
                prop_assert_eq!(status, state.status(), "the status after {:?}", events);
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
    prop_assert_eq!(&back, &state);
    // A snapshot: the state at any event, stored and read back, with the (read back)
    // events after it applied, is the state of the whole history.
    for k in (0..=log.len()).step_by(3) {
        let stored = serde_json::to_string(&Complaint::from_events(&log[..k])).unwrap();
        let mut resumed: Complaint = serde_json::from_str(&stored).expect("a snapshot reads back");
        for e in &log[k..] {
            resumed.apply_event(e);
        }
        prop_assert_eq!(&resumed, &state, "resumed from a snapshot at event {}", k);
    }
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
