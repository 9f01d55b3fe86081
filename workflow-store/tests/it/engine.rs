//! The executor's contract, on the in-memory store: what is acknowledged is recorded
//! once, with its metadata; what is refused writes nothing; concurrent writers to one
//! complaint are serialised by optimistic concurrency; a command that lost a race waits
//! a jittered, growing time before it tries again (on tokio's paused clock, so the
//! waits are exact and the tests take no time).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cqrs_es::{AggregateError, EventEnvelope, EventStore};
use tokio::time::Instant;

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{Complaint, ComplaintServices, DomainError, Status};
use workflow_store::{metadata_keys, Backoff, Engine, MemoryStore, StoreError};

fn engine() -> Engine<MemoryStore<Complaint>> {
    Engine::new(MemoryStore::default(), ComplaintServices::builtin())
}

/// The UPP registers a complaint, with command id `id`, on Monday 30 November 09:00 WIB.
fn register(id: &str) -> workflow_core::CommandEnvelope {
    cmd(
        id,
        upp(),
        wib("2026-11-30 09:00"),
        C::Register(registration()),
    )
}

#[tokio::test]
async fn an_executed_command_is_stored_with_its_metadata() {
    let engine = engine();
    let done = engine
        .execute(&cid("ADU-1"), register("req-1"), Some("http-77"))
        .await
        .unwrap();
    assert_eq!(done.events.len(), 1);
    let stored = engine.events(&cid("ADU-1")).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].sequence, 1);
    assert_eq!(stored[0].metadata[metadata_keys::COMMAND_ID], "req-1");
    assert_eq!(stored[0].metadata[metadata_keys::ACTOR], "sari.upp");
    assert_eq!(stored[0].metadata[metadata_keys::ROLE], "upp");
    assert_eq!(stored[0].metadata[metadata_keys::CORRELATION_ID], "http-77");
    assert!(!stored[0].metadata.contains_key(metadata_keys::AGENCY));
}

#[tokio::test]
async fn a_refused_command_writes_nothing() {
    let engine = engine();
    let now = wib("2026-11-30 09:00");
    engine
        .execute(&cid("ADU-1"), register("req-1"), None)
        .await
        .unwrap();
    let err = engine
        .execute(
            &cid("ADU-1"),
            cmd("req-2", liaison("PUPR"), now, C::Review(complete_review())),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::NotYourAgency { .. })),
        "{err}"
    );
    assert_eq!(engine.events(&cid("ADU-1")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_retried_request_is_recorded_once() {
    let engine = engine();
    for _ in 0..3 {
        engine
            .execute(&cid("ADU-1"), register("req-1"), None)
            .await
            .unwrap();
    }
    assert_eq!(engine.events(&cid("ADU-1")).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_to_one_complaint_lose_nothing_and_duplicate_nothing() {
    let engine = Arc::new(engine().with_max_attempts(64));
    let now = wib("2026-11-30 09:00");
    engine
        .execute(&cid("ADU-1"), register("req-0"), None)
        .await
        .unwrap();
    // 16 tasks race to dispose the same complaint to alternating agencies: each either
    // commits or is refused by the rules, and the log stays gapless.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let engine = Arc::clone(&engine);
        tasks.push(tokio::spawn(async move {
            let agency = if i % 2 == 0 { "PUPR" } else { "DISHUB" };
            engine
                .execute(
                    &cid("ADU-1"),
                    cmd(
                        &format!("req-{}", i + 1),
                        upp(),
                        now,
                        C::Dispose(disposition(agency)),
                    ),
                    None,
                )
                .await
        }));
    }
    let mut committed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(done) => committed += done.events.len(),
            Err(StoreError::Domain(DomainError::AlreadyDisposedTo { .. })) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    let events = engine.events(&cid("ADU-1")).await.unwrap();
    assert_eq!(events.len(), committed + 1);
    let sequences: Vec<usize> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=events.len()).collect::<Vec<_>>());
    assert_eq!(
        engine.load(&cid("ADU-1")).await.unwrap().status(),
        Status::Disposed
    );
}

#[tokio::test]
async fn a_sweep_records_each_breach_once_and_closes_after_the_feedback_window() {
    let engine = engine();
    engine
        .execute(&cid("ADU-1"), register("req-1"), None)
        .await
        .unwrap();
    // Disposition was due Thursday 3 December; sweep on Friday.
    let friday = wib("2026-12-04 08:00");
    let first = engine.sweep(&cid("ADU-1"), friday).await.unwrap();
    assert_eq!(
        first.breaches_recorded,
        vec![(workflow_core::Step::Disposition, 1)]
    );
    let again = engine.sweep(&cid("ADU-1"), friday).await.unwrap();
    assert!(again.breaches_recorded.is_empty());
    assert_eq!(engine.events(&cid("ADU-1")).await.unwrap().len(), 2);

    let steps = [
        cmd("req-2", upp(), friday, C::Dispose(disposition("PUPR"))),
        cmd(
            "req-3",
            liaison("PUPR"),
            friday,
            C::Review(complete_review()),
        ),
        cmd(
            "req-4",
            liaison("PUPR"),
            friday,
            C::Clarify(clarification(false)),
        ),
        cmd(
            "req-5",
            liaison("PUPR"),
            friday,
            C::Respond(response_text()),
        ),
    ];
    for s in steps {
        engine.execute(&cid("ADU-1"), s, None).await.unwrap();
    }
    let before_window = engine
        .sweep(&cid("ADU-1"), wib("2026-12-17 12:00"))
        .await
        .unwrap();
    assert!(!before_window.closed);
    // Ten working days after Friday 4 December end on Friday 18 December.
    let after_window = engine
        .sweep(&cid("ADU-1"), wib("2026-12-19 08:00"))
        .await
        .unwrap();
    assert!(after_window.closed);
    assert_eq!(
        engine.load(&cid("ADU-1")).await.unwrap().status(),
        Status::Closed
    );
}

/// The in-memory store, where another writer beats the first `beaten` commits: each is
/// refused with a conflict (and nothing written). Notes when each commit was tried.
struct Contended {
    inner: MemoryStore<Complaint>,
    beaten: usize,
    tries: Mutex<Vec<Instant>>,
}

impl Contended {
    fn new(beaten: usize) -> Self {
        Self {
            inner: MemoryStore::default(),
            beaten,
            tries: Mutex::default(),
        }
    }

    /// The waits between consecutive commit tries.
    fn waits(&self) -> Vec<Duration> {
        let tries = self.tries.lock().unwrap();
        tries.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

impl EventStore<Complaint> for Contended {
    type AC = <MemoryStore<Complaint> as EventStore<Complaint>>::AC;

    async fn load_events(
        &self,
        id: &str,
    ) -> Result<Vec<EventEnvelope<Complaint>>, AggregateError<DomainError>> {
        self.inner.load_events(id).await
    }

    async fn load_aggregate(&self, id: &str) -> Result<Self::AC, AggregateError<DomainError>> {
        self.inner.load_aggregate(id).await
    }

    async fn commit(
        &self,
        events: Vec<workflow_core::ComplaintEvent>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<Complaint>>, AggregateError<DomainError>> {
        let tried = {
            let mut tries = self.tries.lock().unwrap();
            tries.push(Instant::now());
            tries.len()
        };
        if tried <= self.beaten {
            return Err(AggregateError::AggregateConflict);
        }
        self.inner.commit(events, context, metadata).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_command_that_lost_a_race_waits_a_jittered_growing_time_then_commits() {
    let engine = Engine::new(Contended::new(6), ComplaintServices::builtin());
    assert_eq!(engine.max_attempts(), 10);
    assert_eq!(engine.backoff(), Backoff::DEFAULT);
    let started = Instant::now();
    let done = engine
        .execute(&cid("ADU-1"), register("req-1"), None)
        .await
        .unwrap();
    assert_eq!(done.attempts, 7);
    assert_eq!(done.events.len(), 1);
    assert_eq!(engine.events(&cid("ADU-1")).await.unwrap().len(), 1);
    let waits = engine.store().waits();
    assert_eq!(waits.len(), 6);
    let ceilings: Vec<Duration> = (1..=6).map(|n| Backoff::DEFAULT.ceiling(n)).collect();
    for (n, (wait, ceiling)) in waits.iter().zip(&ceilings).enumerate() {
        assert!(
            wait <= ceiling,
            "retry {}: waited {wait:?} > {ceiling:?}",
            n + 1
        );
    }
    assert!(
        waits.iter().zip(&ceilings).any(|(w, c)| w < c),
        "every wait was its ceiling: no jitter ({waits:?})"
    );
    assert!(
        waits.iter().sum::<Duration>() > Duration::ZERO,
        "no wait at all"
    );
    assert_eq!(started.elapsed(), waits.iter().sum::<Duration>());
}

#[tokio::test(start_paused = true)]
async fn a_command_beaten_every_time_is_a_conflict_after_the_configured_attempts() {
    let backoff = Backoff {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(30),
    };
    let engine = Engine::new(Contended::new(usize::MAX), ComplaintServices::builtin())
        .with_max_attempts(7)
        .with_backoff(backoff);
    let started = Instant::now();
    let err = engine
        .execute(&cid("ADU-1"), register("req-1"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { attempts: 7, .. }),
        "{err}"
    );
    assert!(engine.events(&cid("ADU-1")).await.unwrap().is_empty());
    let waits = engine.store().waits();
    assert_eq!(waits.len(), 6, "one wait between each two of 7 attempts");
    // 10, 20, then 30 ms at most: never longer than the cap, and bounded in all.
    let most: Duration = (1..=6).map(|n| backoff.ceiling(n)).sum();
    assert_eq!(most, Duration::from_millis(10 + 20 + 30 * 4));
    assert!(started.elapsed() <= most, "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn without_a_backoff_a_command_is_tried_again_at_once() {
    let engine =
        Engine::new(Contended::new(4), ComplaintServices::builtin()).with_backoff(Backoff::NONE);
    let started = Instant::now();
    let done = engine
        .execute(&cid("ADU-1"), register("req-1"), None)
        .await
        .unwrap();
    assert_eq!(done.attempts, 5);
    assert_eq!(started.elapsed(), Duration::ZERO);
}

/// A command id seen before is a retry only when the same user, in the same role, sends
/// the same command: then it is done once and answered as done. The same id from
/// another user, or for another command, is refused (409) and writes nothing.
#[tokio::test]
async fn a_command_id_is_a_retry_only_of_the_same_command_by_the_same_user() {
    let engine = engine();
    let now = wib("2026-11-30 09:00");
    let first = register("req-1");
    engine
        .execute(&cid("ADU-1"), first.clone(), None)
        .await
        .unwrap();
    let again = engine.execute(&cid("ADU-1"), first, None).await.unwrap();
    assert!(again.events.is_empty());

    let dispose = cmd("req-2", upp(), now, C::Dispose(disposition("PUPR")));
    engine.execute(&cid("ADU-1"), dispose, None).await.unwrap();
    let other_payload = cmd("req-2", upp(), now, C::Dispose(disposition("DINKES")));
    let other_user = cmd("req-2", coordinator(), now, C::Dispose(disposition("PUPR")));
    for reuse in [other_payload, other_user] {
        let err = engine
            .execute(&cid("ADU-1"), reuse, None)
            .await
            .unwrap_err();
        match err {
            StoreError::Domain(e @ DomainError::CommandIdReused { .. }) => {
                assert_eq!(e.rule(), "command.id_reused");
                assert_eq!(e.kind(), workflow_core::RefusalKind::StateConflict);
            }
            other => panic!("expected CommandIdReused, got {other:?}"),
        }
    }
    assert_eq!(engine.events(&cid("ADU-1")).await.unwrap().len(), 2);
    let state = engine.load(&cid("ADU-1")).await.unwrap();
    assert_eq!(state.agency().map(|a| a.0.as_str()), Some("PUPR"));
}

/// A complaint's events are in time order. A command dated by its caller before the
/// complaint's latest event is refused and writes nothing; the same command given as a
/// clock's reading (`execute_by_clock`, as a host dates its requests) is dated at that
/// event's instant instead; a clock ahead of the latest event keeps its own reading.
#[tokio::test]
async fn a_command_dated_before_the_latest_event_is_refused_unless_dated_by_a_clock() {
    let engine = engine();
    let id = cid("ADU-1");
    let disposed_at = wib("2026-11-30 11:00");
    engine.execute(&id, register("req-1"), None).await.unwrap();
    engine
        .execute(
            &id,
            cmd("req-2", upp(), disposed_at, C::Dispose(disposition("PUPR"))),
            None,
        )
        .await
        .unwrap();
    let early = wib("2026-11-30 10:59");
    let review = |id: &str, at| cmd(id, liaison("PUPR"), at, C::Review(complete_review()));
    let err = engine
        .execute(&id, review("req-3", early), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Domain(DomainError::DatedBeforeLatestEvent { at, latest })
                if at == early && latest == disposed_at
        ),
        "{err}"
    );
    assert_eq!(
        engine.events(&id).await.unwrap().len(),
        2,
        "nothing written"
    );
    let done = engine
        .execute_by_clock(&id, review("req-3", early), None)
        .await
        .unwrap();
    assert_eq!(done.events[0].payload.at, disposed_at);
    let later = wib("2026-11-30 12:00");
    let done = engine
        .execute_by_clock(
            &id,
            cmd(
                "req-4",
                liaison("PUPR"),
                later,
                C::Clarify(clarification(false)),
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(done.events[0].payload.at, later);
}

/// A sweep's instant is a clock's reading: a breach due then is recorded even where
/// an event came in after that reading (another host's clock ahead, or a long sweep),
/// dated at that event's instant, never refused for the clocks.
#[tokio::test]
async fn a_sweep_behind_the_latest_event_records_its_breach_at_that_event() {
    let engine = engine();
    let id = cid("ADU-1");
    engine.execute(&id, register("req-1"), None).await.unwrap();
    // Disposition was due Thursday 3 December; on Friday at 08:00 UPP erases the
    // complainant's identity (which leaves the step's clock running).
    let erased_at = wib("2026-12-04 08:00");
    engine
        .execute(
            &id,
            cmd(
                "req-2",
                upp(),
                erased_at,
                C::EraseIdentity(workflow_core::complaint::command::IdentityErasure {
                    legal_basis: "Permintaan pelapor, Pasal 8 UU 27/2022".into(),
                }),
            ),
            None,
        )
        .await
        .unwrap();
    let swept = engine
        .sweep(&id, wib("2026-12-04 07:59"))
        .await
        .expect("a sweep is not refused for the clocks");
    assert_eq!(
        swept.breaches_recorded,
        vec![(workflow_core::Step::Disposition, 1)]
    );
    let events = engine.events(&id).await.unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].payload.at, erased_at);
}
