//! Real faults on the write path: a file system that fills up under the engine. What the
//! engine acknowledged must be in the log afterwards, and the write path must recover by
//! itself when space returns.

use std::time::Duration;

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::ComplaintServices;
use workflow_store::testing::SmallDisk;
use workflow_store::{Store, StoreError};

fn big_registration(i: usize) -> workflow_core::complaint::command::Registration {
    let mut r = registration();
    r.lapor_id = format!("LAP-FULL-{i:04}");
    // Large enough that every commit needs fresh pages in the write-ahead log.
    r.description = format!("{i} {}", "Lubang besar di jalan. ".repeat(400));
    r
}

async fn register(store: &Store, id: &str, key: &str, i: usize) -> Result<(), StoreError> {
    store
        .engine()
        .execute(
            id,
            cmd(
                key,
                upp(),
                wib("2026-11-30 09:00"),
                C::Register(big_registration(i)),
            ),
            None,
        )
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_acknowledges_only_what_it_committed_and_recovers() {
    let Some(disk) = SmallDisk::mount("4m") else {
        return;
    };
    let url = format!("sqlite://{}/aduan.db", disk.path().display());
    let store = Store::open(&url, ComplaintServices::builtin())
        .await
        .unwrap();
    for i in 0..3 {
        register(&store, &format!("ADU-OK-{i}"), &format!("ok-{i}"), i)
            .await
            .unwrap();
    }

    disk.fill();
    let mut acknowledged = Vec::new();
    let mut refused = Vec::new();
    for i in 0..30 {
        let id = format!("ADU-FULL-{i}");
        match tokio::time::timeout(
            Duration::from_secs(60),
            register(&store, &id, &format!("full-{i}"), 100 + i),
        )
        .await
        .expect("a command on a full disk must answer, not hang")
        {
            Ok(()) => acknowledged.push(i),
            Err(e) => {
                assert!(
                    matches!(e, StoreError::Unavailable(_)),
                    "a full disk is `Unavailable` (retry later), not {e:?}"
                );
                refused.push(i);
            }
        }
    }
    assert!(
        !refused.is_empty(),
        "the disk was full, yet every command succeeded: the fault was not injected"
    );

    // Space returns: the write path recovers by itself, at once.
    disk.free();
    for i in 0..5 {
        register(
            &store,
            &format!("ADU-AFTER-{i}"),
            &format!("after-{i}"),
            200 + i,
        )
        .await
        .unwrap_or_else(|e| panic!("command {i} after the disk was freed: {e}"));
    }
    store.close().await;

    // Restart: everything acknowledged is there; a refused command retried with its own
    // id is done exactly once.
    let store = Store::open(&url, ComplaintServices::builtin())
        .await
        .unwrap();
    for i in &acknowledged {
        let id = format!("ADU-FULL-{i}");
        assert_eq!(
            store.engine().events(&id).await.unwrap().len(),
            1,
            "{id} was acknowledged but is not in the log (acknowledged {acknowledged:?}, refused {refused:?})"
        );
    }
    for i in 0..5 {
        let id = format!("ADU-AFTER-{i}");
        assert_eq!(store.engine().events(&id).await.unwrap().len(), 1, "{id}");
    }
    for i in &refused {
        let id = format!("ADU-FULL-{i}");
        register(&store, &id, &format!("full-{i}"), 100 + i)
            .await
            .unwrap();
        register(&store, &id, &format!("full-{i}"), 100 + i)
            .await
            .unwrap();
        assert_eq!(store.engine().events(&id).await.unwrap().len(), 1, "{id}");
    }
    store.close().await;
}
