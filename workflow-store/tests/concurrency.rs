//! Many writers at once, on both backends: no acknowledged event is lost or duplicated,
//! sequences stay gapless, and projectors apply the log in commit order without ever
//! skipping an event that commits late.

use workflow_store::{both, testing as common};

use std::collections::BTreeSet;
use std::sync::Arc;

use sqlx::{Executor, Row};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::EventBody;
use workflow_store::{metadata_keys, StoreError};

async fn sixteen_writers_on_one_complaint_lose_nothing(db: common::TestDb) {
    let store = Arc::new(db.open().await);
    let now = wib("2026-11-30 09:00");
    let setup = [C::Register(registration()), C::Dispose(disposition("PUPR"))];
    for (i, c) in setup.into_iter().enumerate() {
        let actor = upp();
        store
            .engine()
            .execute("ADU-1", cmd(&format!("s{i}"), actor, now, c), None)
            .await
            .unwrap();
    }
    for (i, c) in [
        C::Review(complete_review()),
        C::Clarify(clarification(true)),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .engine()
            .execute(
                "ADU-1",
                cmd(&format!("l{i}"), liaison("PUPR"), now, c),
                None,
            )
            .await
            .unwrap();
    }
    // Field visits may be recorded again and again, so every one of these can commit.
    let mut tasks = Vec::new();
    for t in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let id = format!("visit-{t}");
            let result = store
                .engine()
                .execute(
                    "ADU-1",
                    cmd(
                        &id,
                        liaison("PUPR"),
                        now,
                        C::VerifyInField(field_visit("2026-11-30")),
                    ),
                    None,
                )
                .await;
            (id, result)
        }));
    }
    let mut committed = BTreeSet::new();
    for t in tasks {
        let (id, result) = t.await.unwrap();
        match result {
            Ok(done) => {
                assert_eq!(done.events.len(), 1);
                committed.insert(id);
            }
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => panic!("{id}: {e}"),
        }
    }
    assert!(!committed.is_empty());
    let events = store.engine().events("ADU-1").await.unwrap();
    let sequences: Vec<usize> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=events.len()).collect::<Vec<_>>(), "gapless");
    let visits: Vec<&String> = events
        .iter()
        .filter(|e| matches!(e.payload.body, EventBody::FieldVerified(_)))
        .map(|e| &e.metadata[metadata_keys::COMMAND_ID])
        .collect();
    assert_eq!(
        visits.len(),
        committed.len(),
        "each acknowledged visit exactly once"
    );
    assert_eq!(
        visits.into_iter().cloned().collect::<BTreeSet<_>>(),
        committed
    );
}
both!(one_complaint, sixteen_writers_on_one_complaint_lose_nothing);

async fn sixteen_writers_on_many_complaints_all_commit(db: common::TestDb) {
    let store = Arc::new(db.open().await);
    let now = wib("2026-11-30 09:00");
    let mut tasks = Vec::new();
    for t in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let id = format!("ADU-{t:02}");
            for (k, c) in [
                C::Register(registration()),
                C::Dispose(disposition("DINKES")),
            ]
            .into_iter()
            .enumerate()
            {
                store
                    .engine()
                    .execute(&id, cmd(&format!("{id}-{k}"), upp(), now, c), None)
                    .await?;
            }
            Ok::<_, StoreError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    store.projector().catch_up().await.unwrap();
    let page = store
        .views()
        .list(&workflow_store::views::ComplaintFilter {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 16);
    assert!(page
        .items
        .iter()
        .all(|s| s.status == "disposed" && s.sequence == 2));
    let head = store.log().head().await.unwrap();
    let status = store.projector().status().await.unwrap();
    assert!(
        status.iter().all(|s| s.position == head && s.lag == 0),
        "{status:?}"
    );
}
both!(
    many_complaints,
    sixteen_writers_on_many_complaints_all_commit
);

/// A writer holds its transaction open with an event inserted; another command commits
/// meanwhile; the projector runs in between. The late transaction's event must come first
/// in the global order and must not be skipped.
async fn a_late_commit_is_never_skipped(db: common::TestDb) {
    let store = Arc::new(db.open().await);
    let now = wib("2026-11-30 09:00");
    store
        .engine()
        .execute(
            "ADU-B",
            cmd("b0", upp(), now, C::Register(registration())),
            None,
        )
        .await
        .unwrap();
    store.projector().catch_up().await.unwrap();

    // The slow writer: an event for ADU-A inserted in a transaction left open.
    let mut slow = db.raw().await;
    let begin = if db.backend == common::Backend::Sqlite {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN"
    };
    slow.execute(begin).await.unwrap();
    let payload = serde_json::to_string(&event(
        "a0",
        upp(),
        now,
        EventBody::Received(registration()),
    ))
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('complaint', 'ADU-A', 1, 'Received', '1', {}, '{{}}')",
        db.json_param(1)
    ))
    .bind(payload)
    .execute(&mut slow)
    .await
    .unwrap();

    // Meanwhile another command and a projector run.
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .engine()
                .execute(
                    "ADU-B",
                    cmd("b1", upp(), now, C::Dispose(disposition("PUPR"))),
                    None,
                )
                .await
        })
    };
    let projector = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.projector().catch_up().await })
    };
    if db.backend == common::Backend::Postgres {
        // The other writer must be queued behind the slow one's position lock.
        let mut watch = db.raw().await;
        loop {
            let waiting: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
            )
            .fetch_one(&mut watch)
            .await
            .unwrap()
            .get("n");
            if waiting > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    slow.execute("COMMIT").await.unwrap();
    writer.await.unwrap().unwrap();
    projector.await.unwrap().unwrap();
    store.projector().catch_up().await.unwrap();

    let mut raw = db.raw().await;
    let rows = sqlx::query("SELECT aggregate_id, sequence, position FROM events ORDER BY position")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    let order: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (r.get("aggregate_id"), r.get("sequence")))
        .collect();
    assert_eq!(
        order,
        vec![
            ("ADU-B".into(), 1),
            ("ADU-A".into(), 1),
            ("ADU-B".into(), 2)
        ],
        "global order is commit order"
    );
    let a = store.views().timeline("ADU-A").await.unwrap();
    assert_eq!(a.len(), 1, "the late event was projected");
    let b = store.views().timeline("ADU-B").await.unwrap();
    assert!(a[0].position < b[1].position);
    assert_eq!(
        store
            .views()
            .detail("ADU-A")
            .await
            .unwrap()
            .unwrap()
            .summary
            .status,
        "received"
    );
}
both!(late_commit, a_late_commit_is_never_skipped);
