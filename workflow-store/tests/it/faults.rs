//! Real faults on the write path: a file system that fills up under the engine. What the
//! engine acknowledged must be in the log afterwards, and the write path must recover by
//! itself when space returns.

use std::time::Duration;

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
#[cfg(feature = "sqlite")]
use workflow_core::ComplaintServices;
use workflow_store::testing::step;
#[cfg(feature = "sqlite")]
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
    let command = step(
        id,
        "2026-11-30 09:00",
        upp(),
        C::Register(big_registration(i)),
    );
    command.execute(store, key).await.map(|_| ())
}

#[cfg(feature = "sqlite")]
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
                    matches!(e, StoreError::Unavailable { .. }),
                    "a full disk is `Unavailable` (retry later), not {e:?}"
                );
                // Judged from the driver's error, which is kept: SQLITE_FULL (13) or an
                // I/O error (10, or an extended code of either), or the OS's own.
                let full = match workflow_store::testing::database_code(&e) {
                    Some(code) => code
                        .parse::<u32>()
                        .is_ok_and(|c| matches!(c & 0xff, 10 | 13)),
                    None => workflow_store::testing::cause::<std::io::Error>(&e).is_some(),
                };
                assert!(full, "a full disk, as the driver said it: {e:?}");
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

    // Reopened (closed cleanly here; a killed writer is the `durable` module): everything
    // acknowledged is there; a refused command retried with its own id is done exactly
    // once.
    let store = Store::open(&url, ComplaintServices::builtin())
        .await
        .unwrap();
    for i in &acknowledged {
        let id = format!("ADU-FULL-{i}");
        assert_eq!(
            store.engine().events(&cid(&id)).await.unwrap().len(),
            1,
            "{id} was acknowledged but is not in the log (acknowledged {acknowledged:?}, refused {refused:?})"
        );
    }
    for i in 0..5 {
        let id = format!("ADU-AFTER-{i}");
        assert_eq!(
            store.engine().events(&cid(&id)).await.unwrap().len(),
            1,
            "{id}"
        );
    }
    for i in &refused {
        let id = format!("ADU-FULL-{i}");
        register(&store, &id, &format!("full-{i}"), 100 + i)
            .await
            .unwrap();
        register(&store, &id, &format!("full-{i}"), 100 + i)
            .await
            .unwrap();
        assert_eq!(
            store.engine().events(&cid(&id)).await.unwrap().len(),
            1,
            "{id}"
        );
    }
    store.close().await;
}

/// An administrator ends the engine's PostgreSQL sessions again and again while writers
/// work (SQLSTATE 57P01): every failure is `Unavailable`, never a defect, each
/// writer's retry with the same command id completes its command exactly once, and a
/// read afterwards fails at most once for each of the store's pooled connections.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sessions_ended_by_an_administrator_are_unavailable_and_retries_complete() {
    use sqlx::Row;
    let db = workflow_store::testing::TestDb::new(
        workflow_store::testing::Backend::Postgres,
        "faults_admin_shutdown",
    )
    .await;
    let store = std::sync::Arc::new(db.open().await);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move {
                let mut unavailable = 0u32;
                for n in 0..10 {
                    let i = w * 100 + n;
                    let id = format!("ADU-{i}");
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        match register(&store, &id, &format!("k-{i}"), i).await {
                            Ok(()) => break,
                            Err(StoreError::Unavailable { .. }) if attempts < 50 => {
                                unavailable += 1;
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            Err(e) => panic!("{id}, attempt {attempts}: {e:?}"),
                        }
                    }
                }
                unavailable
            })
        })
        .collect();
    let mut admin = db.raw().await;
    let mut terminated = 0i64;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(40)).await;
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        terminated += row.get::<i64, _>("n");
    }
    let mut unavailable = 0;
    for w in writers {
        unavailable += tokio::time::timeout(Duration::from_secs(120), w)
            .await
            .expect("writers finish")
            .unwrap();
    }
    assert!(
        terminated > 0,
        "no session was ended: the fault was not injected"
    );
    eprintln!(
        "sessions ended: {terminated}; commands answered unavailable and retried: {unavailable}"
    );
    // A pooled connection used within the last second is handed out without a ping:
    // one whose session was ended fails its next statement as unavailable (once: it is
    // then closed). A read is retried on that, and on nothing else.
    let mut failed_reads = 0;
    for w in 0..4 {
        for n in 0..10 {
            let id = format!("ADU-{}", w * 100 + n);
            let events = loop {
                match store.engine().events(&cid(&id)).await {
                    Ok(events) => break events,
                    Err(StoreError::Unavailable { .. }) if failed_reads < 24 => failed_reads += 1,
                    Err(e) => panic!("{id}: {e:?}"),
                }
            };
            assert_eq!(events.len(), 1, "{id}");
        }
    }
    store.close().await;
}

/// The pools ping a connection before handing it out only when it has sat idle for a
/// second or more: sessions ended while the store was idle (a server restarted, an
/// administrator's command) cost no command and no read a failure.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sessions_ended_while_idle_are_replaced_without_a_failure() {
    use sqlx::Row;
    let db = workflow_store::testing::TestDb::new(
        workflow_store::testing::Backend::Postgres,
        "faults_idle_ended",
    )
    .await;
    let store = db.open().await;
    // Every pool holds connections: reads and commands at once.
    let ids: Vec<String> = (0..8).map(|i| format!("ADU-{i}")).collect();
    let work = ids.iter().enumerate().map(|(i, id)| {
        let store = &store;
        async move { register(store, id, &format!("k-{i}"), i).await }
    });
    for done in futures::future::join_all(work).await {
        done.unwrap();
    }
    let mut admin = db.raw().await;
    let ended: i64 = sqlx::query(
        "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap()
    .get("n");
    assert!(
        ended > 1,
        "{ended} sessions ended: the fault was not injected"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            store.engine().events(&cid(id)).await.unwrap().len(),
            1,
            "{id}"
        );
        let next = format!("ADU-{}", 100 + i);
        register(&store, &next, &format!("k-{}", 100 + i), 100 + i)
            .await
            .unwrap_or_else(|e| panic!("{next}: {e:?}"));
    }
    store.close().await;
}
