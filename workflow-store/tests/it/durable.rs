//! The durable log on both backends: what is acknowledged survives a crash of the
//! process that wrote it (SIGKILL of a child process holding the store, with a write
//! still open), with its metadata and hash chain; views follow the log.

use crate::support;
use workflow_store::{both, testing as common};

use std::time::Duration;

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{EventBody, Status};
use workflow_store::chain::{GENESIS, HASH, PREV_HASH};
use workflow_store::metadata_keys;

/// The child processes: each opens the store its parent names and is killed by it.
mod child {
    use super::*;

    /// Two commands acknowledged, then a third event inserted in a transaction left
    /// open, and the store held until the parent kills the process.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a child process of `restart`: run by it, not on its own"]
    async fn acknowledges_two_then_dies_writing() {
        let url = common::child_url();
        let store = workflow_store::Store::open(&url, workflow_core::ComplaintServices::builtin())
            .await
            .unwrap();
        let now = wib("2026-11-30 09:00");
        store
            .engine()
            .execute(
                &cid("ADU-1"),
                cmd("r1", upp(), now, C::Register(registration())),
                Some("corr-1"),
            )
            .await
            .unwrap();
        let command = support::dispose("ADU-1", "2026-11-30 09:00", "PUPR");
        command.execute(&store, "r2").await.unwrap();
        common::say("acknowledged");
        // A write the process never finishes: it must leave no trace.
        sqlx::any::install_default_drivers();
        let mut raw = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        let reviewed = event(
            "r3",
            liaison("PUPR"),
            now,
            EventBody::Reviewed(complete_review()),
        );
        support::insert_and_hold(&mut raw, &url, ("ADU-1", 3), &reviewed).await;
        common::say("writing");
        std::future::pending::<()>().await;
    }
}

async fn acknowledged_commands_survive_a_crash(db: common::TestDb) {
    let test = support::test_name(module_path!(), "child::acknowledges_two_then_dies_writing");
    let child = common::ChildProcess::spawn(&test, &db.url);
    child.wait_for("acknowledged", Duration::from_secs(60));
    child.wait_for("writing", Duration::from_secs(60));
    child.kill();

    let store = db.open().await;
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.metadata[metadata_keys::COMMAND_ID].as_str())
            .collect::<Vec<_>>(),
        ["r1", "r2"],
        "both acknowledged commands, and not the write left open"
    );
    assert_eq!(events[0].metadata[metadata_keys::CORRELATION_ID], "corr-1");
    assert_eq!(events[0].metadata[PREV_HASH], GENESIS);
    assert_eq!(events[1].metadata[PREV_HASH], events[0].metadata[HASH]);
    assert!(store.verify(None, None, |_| {}).await.unwrap().ok());
    assert_eq!(
        store.engine().load(&cid("ADU-1")).await.unwrap().status(),
        Status::Disposed
    );

    store.projector().catch_up().await.unwrap();
    let detail = support::projected(&store, "ADU-1").await;
    assert_eq!(detail.summary.status, workflow_core::Status::Disposed);
    assert_eq!(detail.summary.agency, Some("PUPR".into()));
    assert_eq!(detail.state, common::replayed(&store, &cid("ADU-1")).await);
    let timeline = store.views().timeline(&cid("ADU-1")).await.unwrap();
    assert_eq!(
        timeline
            .iter()
            .map(|t| t.event_type.as_str())
            .collect::<Vec<_>>(),
        ["Received", "Disposed"]
    );
    assert!(timeline[0].position < timeline[1].position);

    // The log takes writes again where the acknowledged ones ended.
    let command = support::review("ADU-1", "2026-11-30 10:00", "PUPR", complete_review());
    let done = command.execute(&store, "r3").await.unwrap();
    assert_eq!(done.sequence, 3);
    store.close().await;
}
both!(restart, acknowledged_commands_survive_a_crash);

/// A projection that notes the `synchronous` setting of the connection each of its
/// batches runs on (SQLite's `PRAGMA synchronous`: 1 `NORMAL`, 2 `FULL`).
#[cfg(feature = "sqlite")]
#[derive(Default)]
struct NotesSynchronous {
    seen: std::sync::Mutex<Vec<(workflow_store::projection::Target, i64)>>,
}

#[cfg(feature = "sqlite")]
#[async_trait::async_trait]
impl workflow_store::projection::Projection for NotesSynchronous {
    fn name(&self) -> &'static str {
        "notes_synchronous"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply(
        &self,
        conn: &mut sqlx::AnyConnection,
        target: workflow_store::projection::Target,
        events: &[workflow_store::StoredEvent],
        _services: &workflow_core::ComplaintServices,
    ) -> Result<(), workflow_store::StoreError> {
        use sqlx::Row;
        if !events.is_empty() {
            let row = sqlx::query("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await?;
            self.seen.lock().unwrap().push((target, row.try_get(0)?));
        }
        Ok(())
    }
}

/// On SQLite the log's appends are committed with `synchronous = FULL` (an acknowledged
/// command has reached the disk), while the projector's transactions, live and in a
/// replay, commit with `NORMAL`: a view and its checkpoint commit together, and should
/// a power cut lose the last of them the projector makes them again from the log.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn on_sqlite_appends_wait_for_the_disk_and_projections_do_not() {
    use std::sync::Arc;
    use workflow_store::projection::Target;
    let db = common::TestDb::new(common::Backend::Sqlite, "synchronous").await;
    let notes = Arc::new(NotesSynchronous::default());
    let store = workflow_store::Store::open_extended(
        &db.url,
        workflow_core::ComplaintServices::builtin(),
        workflow_store::Extensions {
            projections: vec![Arc::clone(&notes) as _],
            ..workflow_store::Extensions::default()
        },
    )
    .await
    .unwrap();
    support::new_complaint(&store, "ADU-1").await.unwrap();
    store.projector().catch_up().await.unwrap();
    store
        .projector()
        .rebuild("notes_synchronous", |_| {})
        .await
        .unwrap();
    let seen = notes.seen.lock().unwrap().clone();
    assert!(
        seen.contains(&(Target::Live, 1)) && seen.contains(&(Target::Rebuild, 1)),
        "the projector's batches, live and replayed, run with synchronous = NORMAL: {seen:?}"
    );
    assert!(seen.iter().all(|(_, s)| *s == 1), "{seen:?}");
    // The pool the log appends on.
    let appends = common::sqlite_appends_synchronous(&store)
        .await
        .expect("a SQLite store");
    assert_eq!(
        appends, 2,
        "the log's appends commit with synchronous = FULL"
    );
    store.close().await;
}

/// The store's sessions on a PostgreSQL database, as the server sees them: how many are
/// inside a transaction and idle, and how many last ran `ROLLBACK`.
async fn sessions(raw: &mut sqlx::AnyConnection) -> (i64, i64) {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT COUNT(*) FILTER (WHERE state = 'idle in transaction') AS leaked, \
         COUNT(*) FILTER (WHERE query = 'ROLLBACK') AS rolled_back \
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut *raw)
    .await
    .unwrap();
    (row.get("leaked"), row.get("rolled_back"))
}

/// A call given up while its transaction begins (its client gone, a timeout run out)
/// leaves no connection of the store's pools inside that transaction: the commands
/// acknowledged after it are committed, and are there once the store is closed and
/// opened again, its views with them. On PostgreSQL the server shows it too: the
/// transactions the calls began were rolled back, and no session is left inside one.
async fn a_call_given_up_while_its_transaction_begins_loses_nothing(db: common::TestDb) {
    use std::future::Future;

    let store = db.open().await;
    let now = wib("2026-11-30 09:00");
    let mut raw = db.raw().await;
    let postgres = db.backend == common::Backend::Postgres;
    // Every connection the pool will hand out made and idle: a call given up below
    // takes an idle one, and its first step sends the transaction's `BEGIN`.
    let calls: Vec<_> = (0..8)
        .map(|_| store.disable_person("nobody", now))
        .collect();
    for done in futures::future::join_all(calls).await {
        assert!(!done.unwrap(), "there is no such person");
    }
    let rolled_back = if postgres {
        sessions(&mut raw).await.1
    } else {
        0
    };
    for _ in 0..8 {
        let mut call = std::pin::pin!(store.disable_person("nobody", now));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        // Its first step, and no more: the call is dropped here.
        let _ = call.as_mut().poll(&mut cx);
    }
    if postgres {
        // The transactions begun are rolled back, within a bound (the server would end
        // a leaked one only after the store's idle-in-transaction timeout, 15 s).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let (leaked, now_rolled_back) = sessions(&mut raw).await;
            if leaked == 0 && now_rolled_back > rolled_back {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{leaked} session(s) left inside a transaction, {} rolled back",
                now_rolled_back - rolled_back
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut acknowledged = Vec::new();
    for i in 0..24 {
        let id = format!("ADU-{i}");
        store
            .engine()
            .execute(
                &cid(&id),
                cmd(&format!("r{i}"), upp(), now, C::Register(registration())),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        acknowledged.push(id);
    }
    store.close().await;

    let store = db.open().await;
    for id in &acknowledged {
        let events = store.engine().events(&cid(id)).await.unwrap();
        assert_eq!(events.len(), 1, "{id} was acknowledged");
    }
    store.projector().catch_up().await.unwrap();
    for id in &acknowledged {
        support::projected(&store, id).await;
    }
    store.close().await;
}
both!(
    given_up_begin,
    a_call_given_up_while_its_transaction_begins_loses_nothing
);
