//! States kept in memory, on both backends: a command on a complaint this store last
//! wrote is decided on the state its commit left, and the events after it read from the
//! log; another store's commits in between are folded on top; a kept state whose event
//! no longer carries its chain head is dropped and the complaint loaded from the
//! database; the states kept are bounded, and none are kept when turned off.

use crate::support::{keys_of, reviewed};
use sqlx::Executor;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{DomainError, Status};
use workflow_store::testing::{self as common, replayed, step, Backend, TestDb};
use workflow_store::{both, metadata_keys, SettingsSource, Store, StoreError, StoreOptions};

const AT: &str = "2026-11-30 09:00";

/// `id` registered, disposed to PUPR and reviewed as complete.
async fn reviewed_complaint(store: &Store, id: &str) {
    common::play(store, reviewed(id, AT, "PUPR", complete_review())).await;
}

async fn clarify(store: &Store, id: &str, command_id: &str) {
    step(id, AT, liaison("PUPR"), C::Clarify(clarification(true)))
        .execute(store, command_id)
        .await
        .unwrap();
}

async fn visit(store: &Store, id: &str, command_id: &str) {
    step(
        id,
        AT,
        liaison("PUPR"),
        C::VerifyInField(field_visit("2026-11-30")),
    )
    .execute(store, command_id)
    .await
    .unwrap();
}

async fn open_keeping(db: &TestDb, states: usize) -> Store {
    Store::open_with_options(
        &db.url,
        SettingsSource::Stored,
        StoreOptions::default().kept_states(states),
    )
    .await
    .unwrap()
}

both!(
    a_command_is_decided_on_the_state_its_stores_last_commit_left,
    a_command_is_decided_on_the_state_its_stores_last_commit_left
);
async fn a_command_is_decided_on_the_state_its_stores_last_commit_left(db: TestDb) {
    let store = db.open().await;
    reviewed_complaint(&store, "ADU-1").await;
    clarify(&store, "ADU-1", "clarify").await;
    for k in 0..20 {
        visit(&store, "ADU-1", &format!("visit-{k}")).await;
    }
    // Without the kept state the load would read the snapshot written at 16 events.
    let before = store.health().snapshot();
    visit(&store, "ADU-1", "visit-last").await;
    let after = store.health().snapshot();
    assert_eq!(
        (after.kept_loads, after.snapshot_loads),
        (before.kept_loads + 1, before.snapshot_loads),
        "one load, from the kept state"
    );
    let loaded = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(loaded.events_applied(), 25);
    assert_eq!(loaded, replayed(&store, &cid("ADU-1")).await);
    assert!(store.verify(None, None, |_| {}).await.unwrap().ok());
    store.close().await;
}

both!(
    a_kept_state_takes_in_what_another_store_committed,
    a_kept_state_takes_in_what_another_store_committed
);
async fn a_kept_state_takes_in_what_another_store_committed(db: TestDb) {
    // Two stores on one database: two hosts.
    let a = db.open().await;
    let b = db.open().await;
    reviewed_complaint(&a, "ADU-1").await;
    assert_eq!(a.log().kept_states(), 1);
    // B clarifies, with a field examination; A, whose kept state is still reviewed,
    // records a field visit, which only the clarified complaint allows.
    clarify(&b, "ADU-1", "clarify").await;
    let before = a.health().snapshot();
    visit(&a, "ADU-1", "visit").await;
    let after = a.health().snapshot();
    assert_eq!(after.kept_loads, before.kept_loads + 1);
    let events = a.engine().events(&cid("ADU-1")).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5],
        "the visit follows B's clarification"
    );
    let loaded = a.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(loaded.status(), Status::FieldVerified);
    assert_eq!(loaded, replayed(&a, &cid("ADU-1")).await);
    // And B, whose kept state is its own clarification, takes in A's visit.
    visit(&b, "ADU-1", "visit-2").await;
    assert_eq!(
        b.engine().load(&cid("ADU-1")).await.unwrap(),
        replayed(&b, &cid("ADU-1")).await
    );
    assert!(a.verify(None, None, |_| {}).await.unwrap().ok());
    a.close().await;
    b.close().await;
}

both!(
    a_kept_state_whose_event_no_longer_carries_its_chain_head_is_dropped,
    a_kept_state_whose_event_no_longer_carries_its_chain_head_is_dropped
);
async fn a_kept_state_whose_event_no_longer_carries_its_chain_head_is_dropped(db: TestDb) {
    let store = db.open().await;
    reviewed_complaint(&store, "ADU-1").await;
    clarify(&store, "ADU-1", "clarify").await;
    // Behind the engine's back, the last event's chain head is changed: the log is no
    // longer the one the kept state was folded from.
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    let head = events.last().unwrap().metadata[workflow_store::chain::HASH].clone();
    let forged = "0".repeat(head.len());
    let mut raw = db.raw().await;
    let (drop, update) = match db.backend {
        Backend::Sqlite => (
            "DROP TRIGGER events_immutable",
            "UPDATE events SET metadata = REPLACE(metadata, $1, $2) WHERE aggregate_id = 'ADU-1' AND sequence = 4",
        ),
        Backend::Postgres => (
            "DROP TRIGGER events_immutable ON events",
            "UPDATE events SET metadata = REPLACE(metadata::text, $1, $2)::json WHERE aggregate_id = 'ADU-1' AND sequence = 4",
        ),
    };
    raw.execute(drop).await.unwrap();
    let changed = sqlx::query(update)
        .bind(&head)
        .bind(&forged)
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    let before = store.health().snapshot();
    let loaded = store.engine().load(&cid("ADU-1")).await.unwrap();
    let after = store.health().snapshot();
    assert_eq!(
        (after.kept_states_dropped, after.kept_loads),
        (before.kept_states_dropped + 1, before.kept_loads),
        "dropped, not used"
    );
    assert_eq!(loaded, replayed(&store, &cid("ADU-1")).await);
    // A command is then decided on the log as it is, and chained to what it holds.
    visit(&store, "ADU-1", "visit").await;
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    assert_eq!(
        events[4].metadata[workflow_store::chain::PREV_HASH],
        forged,
        "chained to the stored head"
    );
    store.close().await;
}

both!(
    a_read_and_a_refused_command_leave_the_state_kept,
    a_read_and_a_refused_command_leave_the_state_kept
);
async fn a_read_and_a_refused_command_leave_the_state_kept(db: TestDb) {
    let store = db.open().await;
    reviewed_complaint(&store, "ADU-1").await;
    clarify(&store, "ADU-1", "clarify").await;
    let before = store.health().snapshot();
    // A read, a command the clarified complaint refuses, and one it allows.
    let loaded = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(loaded.events_applied(), 4);
    let refused = step(
        "ADU-1",
        AT,
        liaison("PUPR"),
        C::Clarify(clarification(true)),
    )
    .execute(&store, "clarify-again")
    .await;
    assert!(
        matches!(refused, Err(StoreError::Domain(_))),
        "refused by the domain: {refused:?}"
    );
    visit(&store, "ADU-1", "visit").await;
    let after = store.health().snapshot();
    assert_eq!(
        (after.kept_loads, after.snapshot_loads),
        (before.kept_loads + 3, before.snapshot_loads),
        "each of the three loads found the state kept"
    );
    // Another store loads the complaint from the database, and keeps what it read.
    let other = db.open().await;
    assert_eq!(
        other
            .engine()
            .load(&cid("ADU-1"))
            .await
            .unwrap()
            .events_applied(),
        5
    );
    visit(&other, "ADU-1", "visit-2").await;
    assert_eq!(other.health().snapshot().kept_loads, 1);
    assert_eq!(
        other.engine().load(&cid("ADU-1")).await.unwrap(),
        replayed(&other, &cid("ADU-1")).await
    );
    store.close().await;
    other.close().await;
}

both!(
    the_kept_states_are_bounded_and_can_be_turned_off,
    the_kept_states_are_bounded_and_can_be_turned_off
);
async fn the_kept_states_are_bounded_and_can_be_turned_off(db: TestDb) {
    let store = open_keeping(&db, 2).await;
    for id in ["ADU-1", "ADU-2", "ADU-3"] {
        reviewed_complaint(&store, id).await;
    }
    assert_eq!(store.log().kept_states(), 2);
    // ADU-1 went first; ADU-3 is kept.
    let before = store.health().snapshot().kept_loads;
    clarify(&store, "ADU-1", "clarify-1").await;
    assert_eq!(store.health().snapshot().kept_loads, before);
    clarify(&store, "ADU-3", "clarify-3").await;
    assert_eq!(store.health().snapshot().kept_loads, before + 1);
    store.close().await;

    let off = open_keeping(&db, 0).await;
    clarify(&off, "ADU-2", "clarify-2").await;
    visit(&off, "ADU-2", "visit-2").await;
    assert_eq!(off.log().kept_states(), 0);
    assert_eq!(off.health().snapshot().kept_loads, 0);
    assert_eq!(
        off.engine().load(&cid("ADU-2")).await.unwrap(),
        replayed(&off, &cid("ADU-2")).await
    );
    off.close().await;
}

both!(
    events_decided_on_a_kept_state_name_the_snapshot_it_came_from,
    events_decided_on_a_kept_state_name_the_snapshot_it_came_from
);
async fn events_decided_on_a_kept_state_name_the_snapshot_it_came_from(db: TestDb) {
    let first = db.open().await;
    reviewed_complaint(&first, "ADU-1").await;
    clarify(&first, "ADU-1", "clarify").await;
    for k in 0..14 {
        visit(&first, "ADU-1", &format!("visit-{k}")).await;
    }
    first.close().await;
    // Another process loads from the snapshot (18 events, kept at 16), then from the
    // state its commit left.
    let second = db.open().await;
    visit(&second, "ADU-1", "after-1").await;
    visit(&second, "ADU-1", "after-2").await;
    let health = second.health().snapshot();
    assert_eq!((health.snapshot_loads, health.kept_loads), (1, 1));
    let events = second.engine().events(&cid("ADU-1")).await.unwrap();
    let named: Vec<&str> = events[18..]
        .iter()
        .map(|e| e.metadata[metadata_keys::SNAPSHOT].as_str())
        .collect();
    assert_eq!(named.len(), 2);
    assert!(named[0].starts_with("16:"), "{named:?}");
    assert_eq!(
        named[0], named[1],
        "both decided on the state of that snapshot"
    );
    let report = second.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    second.close().await;
}

both!(
    a_state_holding_a_plain_identity_is_never_kept,
    a_state_holding_a_plain_identity_is_never_kept
);
async fn a_state_holding_a_plain_identity_is_never_kept(db: TestDb) {
    crate::support::adopted_plain_registration(&db, AT).await;
    let store = db.open().await;
    common::play(
        &store,
        vec![
            step("ADU-1", AT, upp(), C::Dispose(disposition("PUPR"))),
            step("ADU-1", AT, liaison("PUPR"), C::Review(complete_review())),
        ],
    )
    .await;
    store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(store.log().kept_states(), 0, "a plain identity in memory");
    assert_eq!(store.health().snapshot().kept_loads, 0);
    // Once erased, the state is kept like any other.
    crate::support::erase_identity("ADU-1", AT)
        .execute(&store, "erase-1")
        .await
        .unwrap();
    assert_eq!(store.log().kept_states(), 1);
    clarify(&store, "ADU-1", "clarify").await;
    assert_eq!(store.health().snapshot().kept_loads, 1);
    store.close().await;
}

both!(
    registration_unread,
    a_new_complaints_registration_reads_nothing_before_it_writes
);
/// A new complaint's registration is decided without reading the log. Sent again, and
/// another registration of the same complaint, through another store (nothing of it
/// kept): each decided again on the complaint as loaded, the retry answered with the
/// event it recorded, the other refused; the log keeps the one event.
async fn a_new_complaints_registration_reads_nothing_before_it_writes(db: TestDb) {
    let a = db.open().await;
    let b = db.open().await;
    let register = |id: &str| cmd(id, upp(), wib(AT), C::Register(registration()));
    let before = a.health().snapshot();
    let done = a
        .engine()
        .execute(&cid("ADU-1"), register("reg-1"), None)
        .await
        .unwrap();
    assert_eq!((done.events.len(), done.attempts), (1, 1));
    let after = a.health().snapshot();
    assert_eq!(
        (after.database_loads, after.kept_loads),
        (before.database_loads, before.kept_loads),
        "nothing read"
    );

    let before = b.health().snapshot();
    let again = b
        .engine()
        .execute(&cid("ADU-1"), register("reg-1"), None)
        .await
        .unwrap();
    assert!(again.events.is_empty());
    assert_eq!((again.recorded_before.len(), again.attempts), (1, 1));
    assert_eq!(again.recorded_before[0].payload, done.events[0].payload);
    let refused = b
        .engine()
        .execute(&cid("ADU-1"), register("reg-2"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::Domain(DomainError::AlreadyRegistered)),
        "{refused:?}"
    );
    let after = b.health().snapshot();
    assert_eq!(
        (after.database_loads, after.commit_failures),
        (before.database_loads + 1, before.commit_failures),
        "read once, then kept; nothing failed"
    );
    assert_eq!(a.engine().events(&cid("ADU-1")).await.unwrap().len(), 1);
    assert_eq!(keys_of(&db, "ADU-1").await, 1);
    assert!(a.verify(None, None, |_| {}).await.unwrap().ok());
    a.close().await;
    b.close().await;
}

both!(
    registration_unread_of_a_keyless_complaint,
    a_registration_of_a_complaint_without_a_key_is_refused_as_loaded
);
/// A complaint recorded before identities were sealed has events and no data key: a
/// registration of it, decided first without a read, writes no key and no event; the
/// domain refuses it on the complaint as loaded.
async fn a_registration_of_a_complaint_without_a_key_is_refused_as_loaded(db: TestDb) {
    crate::support::adopted_plain_registration(&db, AT).await;
    let store = db.open().await;
    let refused = store
        .engine()
        .execute(
            &cid("ADU-1"),
            cmd("reg-2", upp(), wib(AT), C::Register(registration())),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::Domain(DomainError::AlreadyRegistered)),
        "{refused:?}"
    );
    assert_eq!(store.engine().events(&cid("ADU-1")).await.unwrap().len(), 1);
    assert_eq!(keys_of(&db, "ADU-1").await, 0);
    store.close().await;
}
