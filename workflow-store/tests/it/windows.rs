//! The SLA monitor on both real stores: a breach per run of a step, and the
//! complainant's window to answer an information request: the
//! wait is on the SLA board with its own clock, and when it runs out the SLA monitor
//! records the complaint as deemed withdrawn, exactly once however often it sweeps.

use crate::support::{dispose, register, request_information, reviewed};
use workflow_store::testing::step;
use workflow_store::{both, testing as common};

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::Status;

async fn an_unanswered_request_is_deemed_withdrawn_once_by_the_monitor(db: common::TestDb) {
    let store = db.open().await;
    let at = "2026-12-01 09:00";
    let mut steps = reviewed("ADU-1", at, "PUPR", incomplete_but_clear_review());
    steps.push(request_information("ADU-1", at, "PUPR"));
    common::play(&store, steps).await;
    store.projector().catch_up().await.unwrap();
    let board = store
        .views()
        .sla_board(wib("2026-12-10 09:00"), None, None)
        .await
        .unwrap();
    let wait = board
        .iter()
        .find(|e| e.step == workflow_core::Step::InformationWait)
        .unwrap_or_else(|| panic!("the wait is on the board: {board:?}"));
    assert_eq!(wait.complaint_id, "ADU-1");
    // A window of the complainant's, not a duty: paused, never counted as breached.
    assert_eq!(wait.status, workflow_store::views::BoardStatus::Paused);
    let breached = store
        .views()
        .sla_board(
            wib("2027-01-02 09:00"),
            Some(workflow_store::views::BoardStatus::Breached),
            None,
        )
        .await
        .unwrap();
    assert!(
        breached
            .iter()
            .all(|e| e.step != workflow_core::Step::InformationWait),
        "{breached:?}"
    );
    assert!(
        wait.due_at.unwrap().to_rfc3339().starts_with("2026-12-31"),
        "{wait:?}"
    );

    // Before the window ends the monitor leaves it alone.
    let early = store.sla_tick(wib("2026-12-30 09:00")).await.unwrap();
    assert_eq!(early.deemed_withdrawn, 0);
    assert_eq!(
        store.engine().load(&cid("ADU-1")).await.unwrap().status(),
        Status::AwaitingInformation
    );
    // After it, once, however many ticks (and hosts) sweep.
    let mut deemed = 0;
    for _ in 0..3 {
        store.projector().catch_up().await.unwrap();
        deemed += store
            .sla_tick(wib("2027-01-02 09:00"))
            .await
            .unwrap()
            .deemed_withdrawn;
    }
    assert_eq!(deemed, 1);
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    let deemed_events: Vec<_> = events
        .iter()
        .filter(|e| e.payload.body.event_type() == "DeemedWithdrawn")
        .collect();
    assert_eq!(deemed_events.len(), 1);
    assert_eq!(deemed_events[0].payload.by, system());
    assert_eq!(
        store.engine().load(&cid("ADU-1")).await.unwrap().status(),
        Status::Withdrawn
    );
    store.projector().catch_up().await.unwrap();
    let board = store
        .views()
        .sla_board(wib("2027-01-02 09:00"), None, None)
        .await
        .unwrap();
    assert!(
        board.iter().all(|e| e.complaint_id != "ADU-1"),
        "nothing of a withdrawn complaint stays on the board: {board:?}"
    );
}
both!(
    information_window,
    an_unanswered_request_is_deemed_withdrawn_once_by_the_monitor
);

/// A breach is recorded per run of a step: the review run of the first agency, which ran
/// late before the complaint was returned and re-disposed, keeps its own breach.
async fn a_superseded_late_run_keeps_its_own_breach(db: common::TestDb) {
    let store = db.open().await;
    let return_note = C::ReturnForRedisposition(return_note());
    common::play(
        &store,
        vec![
            register("ADU-1", "2026-11-30 09:00"),
            dispose("ADU-1", "2026-11-30 10:00", "PUPR"),
            // Review due Thursday 3 December; PUPR returns it a week later.
            step("ADU-1", "2026-12-07 09:00", liaison("PUPR"), return_note),
            dispose("ADU-1", "2026-12-07 10:00", "DISHUB"),
        ],
    )
    .await;
    store.projector().catch_up().await.unwrap();
    let mut recorded = 0;
    for _ in 0..2 {
        recorded += store
            .sla_tick(wib("2026-12-07 11:00"))
            .await
            .unwrap()
            .breaches_recorded;
        store.projector().catch_up().await.unwrap();
    }
    assert_eq!(recorded, 1, "the first review run's breach, once");
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    let breaches: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.payload.body {
            workflow_core::EventBody::SlaBreached(b) => Some((b.step, b.occurrence)),
            _ => None,
        })
        .collect();
    assert_eq!(breaches, [(workflow_core::Step::Review, 1)]);
    // Nothing is left for the monitor: the complaint no longer comes up for enforcement.
    assert!(store
        .views()
        .due_for_enforcement(wib("2026-12-07 11:00"))
        .await
        .unwrap()
        .is_empty());
}
both!(
    superseded_breach,
    a_superseded_late_run_keeps_its_own_breach
);
