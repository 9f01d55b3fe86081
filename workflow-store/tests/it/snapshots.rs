//! Snapshots of a complaint's state, on both backends: written as a complaint passes
//! every [`SNAPSHOT_EVERY`] events, used to load it only while the event they summarise
//! carries their chain head and their format is this build's, refused (and the
//! complaint loaded from every event) otherwise; a snapshot that cannot be written
//! fails nothing acknowledged; no snapshot holds a complainant's identity in plain.
//!
//! The stores here keep no states in memory (`kept.rs` tests those), so that every load
//! reads the database, as another process's would.

use crate::support::reviewed;
use sqlx::{Executor, Row};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{Complaint, Status};
use workflow_store::testing::{self as common, replayed, step, Backend, TestDb};
use workflow_store::{both, metadata_keys, Store, SNAPSHOT_EVERY};

/// The store on `db`, keeping no states in memory.
async fn open(db: &TestDb) -> Store {
    Store::open_with_options(
        &db.url,
        workflow_store::SettingsSource::Stored,
        workflow_store::StoreOptions::default().kept_states(0),
    )
    .await
    .unwrap()
}

/// `ADU-1` registered, disposed, reviewed and clarified with a field examination, then
/// `visits` field visits: 4 + `visits` events, one a command.
async fn long_history(store: &Store, visits: usize) {
    let at = "2026-11-30 09:00";
    let mut steps = reviewed("ADU-1", at, "PUPR", complete_review());
    steps.push(step(
        "ADU-1",
        at,
        liaison("PUPR"),
        C::Clarify(clarification(true)),
    ));
    common::play(store, steps).await;
    for k in 0..visits {
        step(
            "ADU-1",
            at,
            liaison("PUPR"),
            C::VerifyInField(field_visit("2026-11-30")),
        )
        .execute(store, &format!("visit-{k}"))
        .await
        .unwrap();
    }
}

/// The stored snapshot of `ADU-1`: its sequence, chain head and state text.
async fn stored(db: &TestDb) -> Option<(i64, String, String)> {
    let mut raw = db.raw().await;
    sqlx::query(
        "SELECT sequence, chain_head, state FROM complaint_snapshots WHERE complaint_id = 'ADU-1'",
    )
    .fetch_optional(&mut raw)
    .await
    .unwrap()
    .map(|r| (r.get("sequence"), r.get("chain_head"), r.get("state")))
}

async fn set(db: &TestDb, assignment: &str, value: &str) {
    let mut raw = db.raw().await;
    sqlx::query(&format!(
        "UPDATE complaint_snapshots SET {assignment} = $1 WHERE complaint_id = 'ADU-1'"
    ))
    .bind(value)
    .execute(&mut raw)
    .await
    .unwrap();
}

/// The hash the log's event `sequence` of `ADU-1` carries.
async fn hash_of_event(store: &Store, sequence: i64) -> String {
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    let event = &events[usize::try_from(sequence - 1).unwrap()];
    assert_eq!(event.sequence, usize::try_from(sequence).unwrap());
    event.metadata[workflow_store::chain::HASH].clone()
}

both!(
    a_long_history_loads_from_its_snapshot,
    a_long_history_loads_from_its_snapshot
);
async fn a_long_history_loads_from_its_snapshot(db: TestDb) {
    let store = open(&db).await;
    // 4 + 37 = 41 events: snapshots were written at 16 and 32, the second kept.
    long_history(&store, 37).await;
    let (sequence, chain_head, _) = stored(&db).await.expect("a snapshot was written");
    assert_eq!(sequence, 2 * i64::try_from(SNAPSHOT_EVERY).unwrap());
    assert_eq!(chain_head, hash_of_event(&store, sequence).await);
    let before = store.health().snapshot().snapshot_loads;
    let loaded = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(store.health().snapshot().snapshot_loads, before + 1);
    // The same state as every event read back from the log and folded.
    let replayed = replayed(&store, &cid("ADU-1")).await;
    assert_eq!(loaded, replayed);
    assert_eq!(loaded.field_visits().len(), 37);
    assert_eq!(loaded.events_applied(), 41);
    // And commands go on from it: the 42nd event lands at sequence 42.
    let done = step(
        "ADU-1",
        "2026-11-30 10:00",
        liaison("PUPR"),
        C::VerifyInField(field_visit("2026-11-30")),
    )
    .execute(&store, "visit-after")
    .await
    .unwrap();
    assert_eq!(done.events.len(), 1);
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    assert_eq!(events.last().unwrap().sequence, 42);
    assert_eq!(store.health().snapshot().snapshots_refused, 0);
    // Its event names, under the chain's hash, the snapshot it was decided on.
    let (_, _, state) = stored(&db).await.unwrap();
    let digest = {
        use sha2::{Digest, Sha256};
        workflow_store::chain::hex(&Sha256::digest(state.as_bytes()))
    };
    let last = &events.last().unwrap().metadata;
    assert_eq!(
        last[metadata_keys::SNAPSHOT],
        format!("{sequence}:{digest}")
    );
    assert!(last[metadata_keys::SNAPSHOT_FORMAT].starts_with("complaint-state/"));
    // Events decided on all the events name none.
    assert!(!events[10].metadata.contains_key(metadata_keys::SNAPSHOT));
    // The kept snapshot (32) and the two commands were decided on (16, then 32, itself
    // written from a state read back from the one at 16) all agree with the events.
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(
        (report.snapshots, report.snapshots_unchecked),
        (Some(3), Some(0))
    );
    store.close().await;
}

both!(
    a_short_history_has_no_snapshot,
    a_short_history_has_no_snapshot
);
async fn a_short_history_has_no_snapshot(db: TestDb) {
    let store = open(&db).await;
    long_history(&store, SNAPSHOT_EVERY - 5).await;
    assert_eq!(stored(&db).await, None);
    let loaded = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(loaded, replayed(&store, &cid("ADU-1")).await);
    assert_eq!(store.health().snapshot().snapshot_loads, 0);
    store.close().await;
}

both!(
    a_snapshot_whose_chain_head_is_not_its_events_is_refused,
    a_snapshot_whose_chain_head_is_not_its_events_is_refused
);
async fn a_snapshot_whose_chain_head_is_not_its_events_is_refused(db: TestDb) {
    let store = open(&db).await;
    long_history(&store, 20).await;
    let (sequence, _, state) = stored(&db).await.expect("a snapshot was written");
    // A state that says otherwise (rejected), under another event's hash.
    let forged = state.replacen(
        "\"status\":\"field_verified\"",
        "\"status\":\"rejected\"",
        1,
    );
    assert_ne!(forged, state, "the state names its status");
    set(&db, "state", &forged).await;
    set(
        &db,
        "chain_head",
        &hash_of_event(&store, sequence - 1).await,
    )
    .await;
    let before = store.health().snapshot();
    let loaded = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(loaded.status(), Status::FieldVerified);
    assert_eq!(loaded, replayed(&store, &cid("ADU-1")).await);
    let health = store.health().snapshot();
    assert_eq!(
        (health.snapshots_refused, health.snapshot_loads),
        (before.snapshots_refused + 1, before.snapshot_loads)
    );
    // A command decided on the true state is accepted.
    long_history_step(&store, "visit-after").await;
    store.close().await;
}

both!(
    a_snapshot_of_another_format_or_unreadable_is_not_used,
    a_snapshot_of_another_format_or_unreadable_is_not_used
);
async fn a_snapshot_of_another_format_or_unreadable_is_not_used(db: TestDb) {
    let store = open(&db).await;
    long_history(&store, 20).await;
    stored(&db).await.expect("a snapshot was written");
    let format: String = {
        let mut raw = db.raw().await;
        sqlx::query("SELECT format FROM complaint_snapshots WHERE complaint_id = 'ADU-1'")
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get("format")
    };
    // Another format: not even read.
    set(&db, "format", "complaint-state/0; upcasters/3").await;
    let before = store.health().snapshot();
    let loaded = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(loaded, replayed(&store, &cid("ADU-1")).await);
    let health = store.health().snapshot();
    assert_eq!(
        (health.snapshots_refused, health.snapshot_loads),
        (before.snapshots_refused, before.snapshot_loads)
    );
    // This build's format with a state that does not read: refused.
    set(&db, "format", &format).await;
    set(&db, "state", "{\"status\": 7}").await;
    let loaded = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(loaded, replayed(&store, &cid("ADU-1")).await);
    assert_eq!(loaded.field_visits().len(), 20);
    let health = store.health().snapshot();
    assert_eq!(
        (health.snapshots_refused, health.snapshot_loads),
        (before.snapshots_refused + 1, before.snapshot_loads)
    );
    store.close().await;
}

both!(
    a_snapshot_that_cannot_be_written_fails_no_command,
    a_snapshot_that_cannot_be_written_fails_no_command
);
async fn a_snapshot_that_cannot_be_written_fails_no_command(db: TestDb) {
    // The database refuses every snapshot.
    let store = open(&db).await;
    let mut raw = db.raw().await;
    match db.backend {
        Backend::Sqlite => {
            raw.execute(
                "CREATE TRIGGER no_snapshots BEFORE INSERT ON complaint_snapshots \
                 BEGIN SELECT RAISE(ABORT, 'no room for snapshots'); END",
            )
            .await
            .unwrap();
        }
        Backend::Postgres => {
            raw.execute(
                "CREATE FUNCTION no_snapshots() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'no room for snapshots'; END $$ LANGUAGE plpgsql",
            )
            .await
            .unwrap();
            raw.execute(
                "CREATE TRIGGER no_snapshots BEFORE INSERT ON complaint_snapshots \
                 FOR EACH ROW EXECUTE FUNCTION no_snapshots()",
            )
            .await
            .unwrap();
        }
    }
    long_history(&store, 20).await;
    // Every command was acknowledged and recorded; the one snapshot due was not.
    assert_eq!(stored(&db).await, None);
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    assert_eq!(events.len(), 24);
    let health = store.health().snapshot();
    assert_eq!(health.side_write_failures, 1);
    assert_eq!(health.commit_failures, 0);
    assert_eq!(
        store.engine().load(&cid("ADU-1")).await.unwrap(),
        replayed(&store, &cid("ADU-1")).await
    );
    store.close().await;
}

both!(
    no_snapshot_holds_the_complainants_identity_in_plain,
    no_snapshot_holds_the_complainants_identity_in_plain
);
async fn no_snapshot_holds_the_complainants_identity_in_plain(db: TestDb) {
    let store = open(&db).await;
    long_history(&store, 20).await;
    let (_, _, state) = stored(&db).await.expect("a snapshot was written");
    let name = match &registration().complainant.identity {
        workflow_core::complainant::Identity::Plain(data) => data.name.clone(),
        other => panic!("the fixture registers a plain identity: {other:?}"),
    };
    assert!(
        !state.contains(&name),
        "the snapshot holds the name in plain"
    );
    let snapshot: Complaint = serde_json::from_str(&state).unwrap();
    assert!(matches!(
        snapshot.registration().unwrap().complainant.identity,
        workflow_core::complainant::Identity::Sealed { .. }
    ));
    store.close().await;
    common::assert_nowhere(
        &db.stored_bytes(),
        name.as_bytes(),
        "the complainant's name",
    );
}

both!(
    verify_compares_every_snapshot_with_its_events,
    verify_compares_every_snapshot_with_its_events
);
async fn verify_compares_every_snapshot_with_its_events(db: TestDb) {
    use workflow_store::audit::FailureKind;
    let store = open(&db).await;
    // 24 events: the snapshot at 16 is kept, and events 17 to 24 were decided on it.
    long_history(&store, 20).await;
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(
        (report.snapshots, report.snapshots_unchecked),
        (Some(2), Some(0))
    );
    // A state changed under the true chain head: a load would use it; verify names it.
    let (sequence, _, state) = stored(&db).await.expect("a snapshot was written");
    let forged = state.replacen("\"returns\":0", "\"returns\":2", 1);
    assert_ne!(forged, state, "the state counts its returns");
    set(&db, "state", &forged).await;
    assert_eq!(
        store.engine().load(&cid("ADU-1")).await.unwrap().returns(),
        2
    );
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert_eq!(report.failures_total, 1, "{:?}", report.failures);
    let failure = report.first_failure().unwrap();
    assert_eq!(
        (failure.complaint_id.as_str(), failure.sequence),
        ("ADU-1", sequence)
    );
    assert!(
        matches!(&failure.kind, FailureKind::SnapshotDiffers { reason } if reason.contains("fold")),
        "{failure}"
    );
    // A command decided on the forged state, and the snapshot then deleted: the event
    // still names the state it was decided on, and verify still finds it.
    long_history_step(&store, "visit-on-forged").await;
    db.raw()
        .await
        .execute("DELETE FROM complaint_snapshots")
        .await
        .unwrap();
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert_eq!(report.failures_total, 1, "{:?}", report.failures);
    let failure = report.first_failure().unwrap();
    assert_eq!(
        (failure.complaint_id.as_str(), failure.sequence),
        ("ADU-1", 25)
    );
    assert!(
        matches!(&failure.kind, FailureKind::SnapshotDiffers { reason } if reason.contains("decided on a snapshot")),
        "{failure}"
    );
    assert_eq!(
        report.snapshots,
        Some(2),
        "the true snapshot and the forged one"
    );
    store.close().await;
}

both!(
    verify_names_a_kept_snapshot_of_another_chain_head,
    verify_names_a_kept_snapshot_of_another_chain_head
);
async fn verify_names_a_kept_snapshot_of_another_chain_head(db: TestDb) {
    use workflow_store::audit::FailureKind;
    let store = open(&db).await;
    long_history(&store, 14).await;
    let (sequence, _, _) = stored(&db).await.expect("a snapshot was written");
    set(
        &db,
        "chain_head",
        &hash_of_event(&store, sequence - 1).await,
    )
    .await;
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert_eq!(report.failures_total, 1, "{:?}", report.failures);
    assert!(
        matches!(&report.failures[0].kind, FailureKind::SnapshotDiffers { reason } if reason.contains("chain head")),
        "{}",
        report.failures[0]
    );
    // Of another format: this build cannot compare it, and says so (the snapshot events
    // 17 and 18 were decided on, named in their metadata, is still compared).
    set(&db, "format", "complaint-state/0; upcasters/3").await;
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(
        (report.snapshots, report.snapshots_unchecked),
        (Some(1), Some(1))
    );
    store.close().await;
}

/// One more field visit on `ADU-1`.
async fn long_history_step(store: &Store, id: &str) {
    step(
        "ADU-1",
        "2026-11-30 10:00",
        liaison("PUPR"),
        C::VerifyInField(field_visit("2026-11-30")),
    )
    .execute(store, id)
    .await
    .unwrap();
}

/// A registration recorded before identities were sealed (adopted from a plain cqrs-es
/// store) keeps the name in plain in the log: no snapshot copies it, however long the
/// history; once the identity is erased, snapshots are written again, without it.
async fn a_state_holding_a_plain_identity_is_never_snapshotted(db: TestDb) {
    use workflow_core::complainant::Identity;
    let at = "2026-11-30 09:00";
    crate::support::adopted_plain_registration(&db, at).await;
    let store = open(&db).await;
    let Identity::Plain(data) = replayed(&store, &cid("ADU-1"))
        .await
        .registration()
        .unwrap()
        .complainant
        .identity
        .clone()
    else {
        panic!("the adopted registration holds its identity in plain");
    };
    common::play(
        &store,
        vec![
            step("ADU-1", at, upp(), C::Dispose(disposition("PUPR"))),
            step("ADU-1", at, liaison("PUPR"), C::Review(complete_review())),
            step(
                "ADU-1",
                at,
                liaison("PUPR"),
                C::Clarify(clarification(true)),
            ),
        ],
    )
    .await;
    for k in 0..(SNAPSHOT_EVERY + 4) {
        long_history_step(&store, &format!("visit-{k}")).await;
    }
    assert_eq!(
        stored(&db).await,
        None,
        "a snapshot copied a plain identity"
    );
    crate::support::erase_identity("ADU-1", "2026-11-30 10:00")
        .execute(&store, "erase-1")
        .await
        .unwrap();
    for k in 0..SNAPSHOT_EVERY {
        long_history_step(&store, &format!("after-erasure-{k}")).await;
    }
    let (_, _, state) = stored(&db)
        .await
        .expect("a snapshot once the identity is erased");
    assert!(
        !state.contains(&data.name),
        "the snapshot holds the erased name"
    );
    let snapshot: Complaint = serde_json::from_str(&state).unwrap();
    assert!(snapshot.identity_erased().is_some());
    store.close().await;
}
both!(
    a_plain_identity_is_never_snapshotted,
    a_state_holding_a_plain_identity_is_never_snapshotted
);

/// A snapshot whose state counts other events than its sequence says (moved back one
/// event, under that event's true chain head) is refused: used, the event at its real
/// sequence would be applied twice.
async fn a_snapshot_counting_other_events_than_its_sequence_is_refused(db: TestDb) {
    let store = open(&db).await;
    long_history(&store, 20).await;
    let (sequence, _, _) = stored(&db).await.expect("a snapshot was written");
    let earlier = hash_of_event(&store, sequence - 1).await;
    let mut raw = db.raw().await;
    sqlx::query("UPDATE complaint_snapshots SET sequence = $1, chain_head = $2 WHERE complaint_id = 'ADU-1'")
        .bind(sequence - 1)
        .bind(&earlier)
        .execute(&mut raw)
        .await
        .unwrap();
    let before = store.health().snapshot();
    let loaded = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(loaded, replayed(&store, &cid("ADU-1")).await);
    assert_eq!(loaded.events_applied(), 24);
    let health = store.health().snapshot();
    assert_eq!(
        (health.snapshots_refused, health.snapshot_loads),
        (before.snapshots_refused + 1, before.snapshot_loads)
    );
    store.close().await;
}
both!(
    a_snapshot_counting_other_events_is_refused,
    a_snapshot_counting_other_events_than_its_sequence_is_refused
);
