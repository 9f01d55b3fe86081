//! Projections on both backends: a crash inside a batch leaves nothing half-applied, a
//! restart catches up, a rebuild equals the incremental views, errors are visible, and
//! a caller can wait for its own write to reach the views.

use crate::support::{self, clarify, close, record_feedback, request_information, respond};
use workflow_store::{both, testing as common};

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sqlx::Row;
use workflow_core::complaint::command::{Closure, ComplaintCommand as C};
use workflow_core::fixtures::*;
use workflow_store::{Store, StoreError};

/// Walks three complaints through different paths of the SOP: ADU-1 to its close, ADU-2
/// to a question for the complainant, ADU-3 nowhere past registration.
async fn seed(store: &Store) {
    let mut steps = support::three_registered_two_reviewed();
    steps.extend([
        request_information("ADU-2", "2026-12-01 10:00", "DISHUB"),
        clarify("ADU-1", "2026-12-01 10:00", "PUPR"),
        respond("ADU-1", "2026-12-02 10:00", "PUPR"),
        record_feedback("ADU-1", "2026-12-03 09:00"),
        close("ADU-1", "2026-12-03 10:00"),
    ]);
    common::play(store, steps).await;
}

/// The views once every projection is rebuilt from the start of the log.
async fn rebuilt_views(store: &Store) -> String {
    for name in store.projector().names() {
        store.projector().rebuild(name, |_| {}).await.unwrap();
    }
    common::snapshot_views(store).await
}

async fn a_crash_before_the_checkpoint_leaves_the_views_as_they_were(db: common::TestDb) {
    let store = db.open().await;
    seed(&store).await;
    let before = common::snapshot_views(&store).await;
    store
        .projector()
        .faults()
        .fail_next_batches_before_checkpoint(1);
    let err = store.projector().run_batch("complaints").await.unwrap_err();
    assert!(err.to_string().contains("injected fault"), "{err}");
    // Nothing of the failed batch is visible, and the error is.
    assert_eq!(common::snapshot_views(&store).await, before);
    let status = store.projector().status().await.unwrap();
    let complaints = status.iter().find(|s| s.name == "complaints").unwrap();
    assert_eq!(complaints.position, 0);
    assert!(complaints.lag > 0);
    assert!(complaints
        .last_error
        .as_deref()
        .unwrap()
        .contains("injected fault"));

    // Reopened (this process, the store closed cleanly; a process killed inside a batch
    // is `killed_in_batch` below): it catches up, and equals a fresh rebuild.
    store.close().await;
    let store = db.open().await;
    store.projector().catch_up().await.unwrap();
    let caught_up = common::snapshot_views(&store).await;
    let status = store.projector().status().await.unwrap();
    assert!(
        status.iter().all(|s| s.lag == 0 && s.last_error.is_none()),
        "{status:?}"
    );
    assert_eq!(rebuilt_views(&store).await, caught_up);
}
both!(
    crash_in_batch,
    a_crash_before_the_checkpoint_leaves_the_views_as_they_were
);

/// The child processes: each opens the store its parent names and is killed by it.
mod child {
    use super::*;

    async fn open() -> Store {
        Store::open(
            &common::child_url(),
            workflow_core::ComplaintServices::builtin(),
        )
        .await
        .unwrap()
    }

    /// Commits the seed commands and never projects them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a child process of `died_after_commit`: run by it, not on its own"]
    async fn commits_then_waits() {
        let store = open().await;
        seed(&store).await;
        common::say("committed");
        std::future::pending::<()>().await;
    }

    /// Commits the seed commands, then stops a complaints batch after it applied them
    /// to the views and before its checkpoint, its transaction open.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a child process of `killed_in_batch`: run by it, not on its own"]
    async fn holds_inside_a_batch() {
        let store = Arc::new(open().await);
        seed(&store).await;
        store
            .projector()
            .faults()
            .hold_next_batch_before_checkpoint();
        let batch = {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.projector().run_batch("complaints").await })
        };
        store.projector().faults().held().await;
        common::say("held");
        let _ = batch.await;
        unreachable!("a held batch never ends");
    }

    /// Commits the seed commands, then holds a replay of the complaint views after its
    /// first batch, its lock taken.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a child process of `killed_replay`: run by it, not on its own"]
    async fn holds_a_replay() {
        let store = open().await;
        seed(&store).await;
        store.projector().set_replay_batch(2);
        let _ = store
            .projector()
            .rebuild("complaints", |_| {
                common::say("replaying");
                // Held here (blocking the test's thread; the runtime's workers go
                // on) until killed.
                loop {
                    std::thread::park();
                }
            })
            .await;
        unreachable!("a held replay never ends");
    }
}

/// Runs the child `test` on `db` until it says `said`, kills it (SIGKILL), and opens the
/// store as the next process would: none of the seeded complaints is in the views.
async fn after_killing(db: &common::TestDb, test: &str, said: &str) -> Store {
    let test = support::test_name(module_path!(), test);
    let child = common::ChildProcess::spawn(&test, &db.url);
    child.wait_for(said, Duration::from_secs(60));
    child.kill();
    let store = db.open().await;
    for id in ["ADU-1", "ADU-2", "ADU-3"] {
        assert!(
            store.views().detail(&cid(id)).await.unwrap().is_none(),
            "{id}"
        );
    }
    store
}

/// A process that committed commands and died (SIGKILL) before any projector ran: the
/// next one finds the views empty, catches up, and equals a rebuild.
async fn a_process_that_died_after_commit_catches_up_on_restart(db: common::TestDb) {
    let store = after_killing(&db, "child::commits_then_waits", "committed").await;
    store.projector().catch_up().await.unwrap();
    let incremental = common::snapshot_views(&store).await;
    for id in ["ADU-1", "ADU-2", "ADU-3"] {
        let view = support::projected(&store, id).await;
        assert_eq!(view.state, common::replayed(&store, &cid(id)).await, "{id}");
    }
    let mut reports = Vec::new();
    store
        .projector()
        .rebuild("complaints", |p| reports.push(p))
        .await
        .unwrap();
    store.projector().rebuild("timeline", |_| {}).await.unwrap();
    assert_eq!(common::snapshot_views(&store).await, incremental);
    let last = reports.last().unwrap();
    assert_eq!(last.events, 12);
    assert!(
        reports.windows(2).all(|w| w[0].position <= w[1].position),
        "progress moves forward"
    );
}
both!(
    died_after_commit,
    a_process_that_died_after_commit_catches_up_on_restart
);

/// A process killed (SIGKILL) inside a projection batch, after the batch changed the
/// views and before it advanced the checkpoint: nothing of the batch is visible to the
/// next process, whose projector then catches up to what a rebuild gives.
async fn a_process_killed_inside_a_batch_leaves_nothing_half_applied(db: common::TestDb) {
    let store = after_killing(&db, "child::holds_inside_a_batch", "held").await;
    let status = store.projector().status().await.unwrap();
    let complaints = status.iter().find(|s| s.name == "complaints").unwrap();
    assert_eq!(complaints.position, 0, "{status:?}");
    // Bounded: on PostgreSQL the killed batch's row lock on the checkpoint goes only when
    // the server has noticed its connection close.
    tokio::time::timeout(Duration::from_secs(60), store.projector().catch_up())
        .await
        .expect("the catch-up after the kill did not finish within 60 s")
        .unwrap();
    let caught_up = common::snapshot_views(&store).await;
    assert_eq!(rebuilt_views(&store).await, caught_up);
    assert!(store.views().detail(&cid("ADU-1")).await.unwrap().is_some());
}
both!(
    killed_in_batch,
    a_process_killed_inside_a_batch_leaves_nothing_half_applied
);

/// A process killed (SIGKILL) while its replay holds the projection's lock: the lock
/// goes with it (the file lock with the process, the advisory lock with its session),
/// and the next replay runs, without anything to clear by hand.
async fn a_replay_killed_half_way_leaves_no_lock_behind(db: common::TestDb) {
    let test = support::test_name(module_path!(), "child::holds_a_replay");
    let child = common::ChildProcess::spawn(&test, &db.url);
    child.wait_for("replaying", Duration::from_secs(60));
    let store = db.open().await;
    match store.projector().rebuild("complaints", |_| {}).await {
        Err(StoreError::Unavailable { reason, .. }) if reason.contains("already") => {}
        other => panic!("the child's replay holds the lock: {other:?}"),
    }
    child.kill();
    // On PostgreSQL the lock goes when the server has noticed the connection close: the
    // helper waits for it, bounded.
    assert_eq!(
        support::rebuild_when_free(&store, "complaints").await,
        12,
        "the whole log"
    );
    store.projector().catch_up().await.unwrap();
    let views = common::snapshot_views(&store).await;
    assert_eq!(rebuilt_views(&store).await, views);
    assert!(store.views().detail(&cid("ADU-1")).await.unwrap().is_some());
}
both!(
    killed_replay,
    a_replay_killed_half_way_leaves_no_lock_behind
);

async fn a_caller_can_wait_for_its_write_to_reach_the_views(db: common::TestDb) {
    let store = Arc::new(db.open().await);
    let runner = support::run_projector(&store, Duration::from_secs(3600));
    let done = support::new_complaint(&store, "ADU-9").await.unwrap();
    let sequence = done.events[0].sequence as u64;
    store
        .projector()
        .wait_for(&cid("ADU-9"), sequence, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        support::projected(&store, "ADU-9").await.summary.sequence,
        1
    );
    let err = store
        .projector()
        .wait_for(&cid("ADU-9"), 5, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        workflow_store::StoreError::NotYetProjected { .. }
    ));
    runner.stop().await;
}
both!(
    read_your_writes,
    a_caller_can_wait_for_its_write_to_reach_the_views
);

/// A SQLite store whose URL names a VFS (here `unix-dotfile`, for file systems without
/// POSIX locks) replays to the views the live projector gave. (That its replay reads
/// through the store's own connections, not one opened by the file's path, is the
/// unit test of `default_vfs`.)
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_sqlite_store_on_another_vfs_replays_to_the_same_views() {
    let db = common::TestDb::new(common::Backend::Sqlite, "vfs").await;
    let url = format!("{}?vfs=unix-dotfile", db.url);
    let store = Store::open(&url, workflow_store::SettingsSource::Stored)
        .await
        .unwrap();
    seed(&store).await;
    store.projector().catch_up().await.unwrap();
    let live = common::snapshot_views(&store).await;
    assert_eq!(rebuilt_views(&store).await, live);
    store.close().await;
}

/// On PostgreSQL each projection catches up in a task of its own: with the timeline's
/// batch held open for ever, a new command still reaches the complaint views that its
/// answer waits for. (On SQLite the projections take turns at its one writer.)
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_the_complaint_views_do_not_wait_behind_another_projection() {
    let db = common::TestDb::new(common::Backend::Postgres, "lanes").await;
    let store = Arc::new(db.open().await);
    store.projector().faults().hold_next_batch_of("timeline");
    support::new_complaint(&store, "ADU-1").await.unwrap();
    let runner = tokio::spawn(
        Arc::clone(store.projector()).run(Duration::from_secs(3600), std::future::pending::<()>()),
    );
    // The timeline's batch holding ADU-1 is stuck inside its transaction.
    tokio::time::timeout(Duration::from_secs(20), store.projector().faults().held())
        .await
        .expect("the timeline's batch was held");
    let done = support::new_complaint(&store, "ADU-2").await.unwrap();
    store
        .projector()
        .wait_for(
            &cid("ADU-2"),
            done.events[0].sequence as u64,
            Duration::from_secs(20),
        )
        .await
        .expect("the complaint views went on past the held timeline batch");
    // The held batch never ends: stop the projector by dropping it.
    runner.abort();
    let _ = runner.await;
}

/// Two hosts on one PostgreSQL: a command through host A reaches the views through host
/// B's projector, woken by a notification (B's poll interval is an hour).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_host_is_woken_by_postgres_notifications() {
    let db = common::TestDb::new(common::Backend::Postgres, "two_hosts").await;
    let host_a = db.open().await;
    let host_b = db.open().await;
    let runner = support::run_projector(&host_b, Duration::from_secs(3600));
    // Let B's listener subscribe: it has caught up (and so is listening) once its
    // checkpoint row has been visited by a batch; a first command proves it.
    for id in ["ADU-X", "ADU-Y"] {
        support::new_complaint(&host_a, id).await.unwrap();
        host_b
            .projector()
            .wait_for(&cid(id), 1, Duration::from_secs(30))
            .await
            .unwrap();
    }
    runner.stop().await;
}

fn history_strategy() -> impl Strategy<Value = Vec<(u8, u8, u8, i64)>> {
    prop::collection::vec((0u8..4, 0u8..11, 0u8..2, 1i64..30), 5..40)
}

/// Commands drawn at random (some refused) over four complaints, with projector batches
/// at random points; afterwards the views equal a rebuild from position 0.
async fn run_random_history(store: &Store, steps: &[(u8, u8, u8, i64)]) {
    let mut now = wib("2026-11-30 08:00");
    for (i, (complaint, kind, agency, hours)) in steps.iter().enumerate() {
        now += chrono::Duration::hours(*hours);
        let agency = ["PUPR", "DINKES"][*agency as usize];
        let (actor, command) = match kind {
            0 => (upp(), C::Register(registration())),
            1 => (upp(), C::Dispose(disposition(agency))),
            2 => (liaison(agency), C::Review(complete_review())),
            3 => (liaison(agency), C::Review(incomplete_review())),
            4 => (
                liaison(agency),
                C::RequestInformation(information_request()),
            ),
            5 => (upp(), C::ProvideInformation(information_reply())),
            6 => (liaison(agency), C::Clarify(clarification(false))),
            7 => (liaison(agency), C::Respond(response_text())),
            8 => (liaison(agency), C::Reject(rejection())),
            9 => (upp(), C::RecordFeedback(feedback(true))),
            _ => (upp(), C::Close(Closure::default())),
        };
        let id = format!("ADU-{complaint}");
        let _ = store
            .engine()
            .execute(&cid(&id), cmd(&format!("h{i}"), actor, now, command), None)
            .await;
        if i % 3 == 0 {
            store.projector().catch_up().await.unwrap();
        }
        if i % 7 == 0 {
            store.sla_tick(now).await.unwrap();
        }
    }
    store.projector().catch_up().await.unwrap();
}

async fn rebuilt_views_equal_incremental_views(db: common::TestDb) {
    let store = db.open().await;
    let mut runner = TestRunner::new(Config::with_cases(6));
    let case = std::sync::atomic::AtomicUsize::new(0);
    let handle = tokio::runtime::Handle::current();
    runner
        .run(&history_strategy(), |steps| {
            let case = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let store = &store;
            tokio::task::block_in_place(|| {
                handle.block_on(async {
                    // Each case continues the same log: later cases build on earlier ones.
                    run_random_history(store, &steps).await;
                    let incremental = common::snapshot_views(store).await;
                    assert_eq!(incremental, rebuilt_views(store).await, "case {case}");
                    // Again in batches of 7 events: a complaint's events then straddle
                    // batches, and its rows in the twins are replaced, not added to.
                    store.projector().set_replay_batch(7);
                    let in_small_batches = rebuilt_views(store).await;
                    store.projector().set_replay_batch(2_000);
                    assert_eq!(incremental, in_small_batches, "case {case}, batches of 7");
                })
            });
            Ok(())
        })
        .unwrap();
}
both!(
    rebuild_equals_incremental,
    rebuilt_views_equal_incremental_views
);

/// Sixteen callers wait for the views of sixteen complaints while the complaints are
/// disposed one after the other, a batch each. Each caller looks in the database once,
/// at its start: a batch wakes only the callers whose complaint it applied, and they
/// learn it in memory (the periodic look for other hosts' projectors is an hour here).
async fn a_waiter_looks_in_the_database_once_however_many_batches_pass(db: common::TestDb) {
    const COMPLAINTS: usize = 16;
    let store = Arc::new(db.open().await);
    store.projector().set_wait_poll(Duration::from_secs(3600));
    let runner = support::run_projector(&store, Duration::from_secs(3600));
    let ids: Vec<String> = (0..COMPLAINTS).map(|k| format!("ADU-{k:02}")).collect();
    for id in &ids {
        support::new_complaint(&store, id).await.unwrap();
    }
    store.projector().catch_up().await.unwrap();
    let before = store.projector().waiters_lookups();
    let waiters: Vec<_> = ids
        .iter()
        .map(|id| {
            let store = Arc::clone(&store);
            let id = cid(id);
            tokio::spawn(async move {
                store
                    .projector()
                    .wait_for(&id, 2, Duration::from_secs(30))
                    .await
            })
        })
        .collect();
    // Every waiter has looked once (and found its complaint not yet disposed).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while store.projector().waiters_lookups() < before + COMPLAINTS as u64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the waiters did not look"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for id in &ids {
        support::dispose(id, "2026-11-30 10:00", "PUPR")
            .execute(&store, &format!("dispose-{id}"))
            .await
            .unwrap();
        // The batch applies it before the next command.
        store
            .projector()
            .wait_for(&cid(id), 2, Duration::from_secs(30))
            .await
            .unwrap();
    }
    for w in waiters {
        tokio::time::timeout(Duration::from_secs(30), w)
            .await
            .expect("every waiter was answered")
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        store.projector().waiters_lookups() - before,
        2 * COMPLAINTS as u64,
        "one look by each of the sixteen waiters and by each of the test's own waits"
    );
    runner.stop().await;
}
both!(
    waiters_look_once,
    a_waiter_looks_in_the_database_once_however_many_batches_pass
);

/// A caller waits on host A, whose projector does not run, for a command that host B's
/// projector applies: A learns it from the database within the wait.
async fn a_waiter_sees_another_hosts_projector(db: common::TestDb) {
    let host_a = db.open().await;
    let host_b = Arc::new(db.open().await);
    let runner = support::run_projector(&host_b, Duration::from_millis(20));
    support::new_complaint(&host_a, "ADU-1").await.unwrap();
    host_a
        .projector()
        .wait_for(&cid("ADU-1"), 1, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        support::projected(&host_a, "ADU-1").await.summary.sequence,
        1
    );
    runner.stop().await;
}
both!(
    a_waiter_on_another_host,
    a_waiter_sees_another_hosts_projector
);

/// More events than one multi-row statement carries (200), in one batch: the audit
/// timeline has a row for each, at its position, and the views one for each complaint.
async fn a_batch_larger_than_a_statement_is_written_whole(db: common::TestDb) {
    const COMPLAINTS: usize = 205;
    let store = db.open().await;
    for k in 0..COMPLAINTS {
        support::new_complaint(&store, &format!("ADU-{k:03}"))
            .await
            .unwrap();
    }
    assert_eq!(
        store.projector().run_batch("timeline").await.unwrap(),
        COMPLAINTS
    );
    assert_eq!(
        store.projector().run_batch("complaints").await.unwrap(),
        COMPLAINTS
    );
    let mut raw = db.raw().await;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT t.position) AS d FROM audit_timeline t \
         JOIN events e ON e.position = t.position AND e.aggregate_id = t.complaint_id \
         AND e.sequence = t.sequence",
    )
    .fetch_one(&mut raw)
    .await
    .unwrap();
    let (n, d): (i64, i64) = (row.get("n"), row.get("d"));
    assert_eq!((n, d), (COMPLAINTS as i64, COMPLAINTS as i64));
    let views: i64 = sqlx::query("SELECT COUNT(*) AS n FROM complaint_views")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get("n");
    assert_eq!(views, COMPLAINTS as i64);
}
both!(
    a_large_batch,
    a_batch_larger_than_a_statement_is_written_whole
);

/// Every view table the replay fills, by its live name.
const VIEW_TABLES: [&str; 6] = [
    "audit_timeline",
    "complaint_views",
    "evidence_citations",
    "outbox_assignments",
    "sla_deadlines",
    "step_runs",
];

/// A table's identity in the database's catalogue, which a rename keeps and a copy of
/// its rows does not give: SQLite's root page, PostgreSQL's oid.
async fn table_identity(
    raw: &mut sqlx::AnyConnection,
    backend: common::Backend,
    table: &str,
) -> i64 {
    let sql = match backend {
        common::Backend::Sqlite => {
            "SELECT rootpage AS id FROM sqlite_schema WHERE type = 'table' AND name = $1"
        }
        common::Backend::Postgres => {
            "SELECT oid::bigint AS id FROM pg_class \
             WHERE relname = $1 AND relnamespace = current_schema()::regnamespace"
        }
    };
    sqlx::query(sql)
        .bind(table)
        .fetch_one(&mut *raw)
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"))
        .get::<i64, _>("id")
}

/// A rebuild switches over by exchanging each view's table with its twin: the table the
/// replay filled becomes the view, and the view's old table becomes the twin, emptied.
/// No row is copied, so the switch-over does not grow with the views (on SQLite it
/// holds the one writer every command waits for; on PostgreSQL, the projector). Reads
/// through connections that read the views before the switch see the new tables after
/// it, and a second rebuild exchanges them back. The tables and their twins still match
/// after each (the schema test's check).
async fn a_rebuild_exchanges_each_view_with_its_twin(db: common::TestDb) {
    let store = db.open().await;
    seed(&store).await;
    store.projector().catch_up().await.unwrap();
    // Read through the store's own connections first, so that their statements on the
    // views are prepared before the switch-over.
    let before = common::snapshot_views(&store).await;
    assert!(before.contains("ADU-1"), "the views hold the seed");
    let mut raw = db.raw().await;
    for round in 1..=2 {
        let mut ids = Vec::new();
        for table in VIEW_TABLES {
            let twin = format!("{table}_rebuild");
            ids.push((
                table_identity(&mut raw, db.backend, table).await,
                table_identity(&mut raw, db.backend, &twin).await,
            ));
        }
        for name in store.projector().names() {
            store.projector().rebuild(name, |_| {}).await.unwrap();
        }
        for (table, (live, twin_id)) in VIEW_TABLES.into_iter().zip(ids) {
            let twin = format!("{table}_rebuild");
            assert_eq!(
                table_identity(&mut raw, db.backend, table).await,
                twin_id,
                "round {round}: {table} is the table the replay filled"
            );
            assert_eq!(
                table_identity(&mut raw, db.backend, &twin).await,
                live,
                "round {round}: {twin} is the view's old table"
            );
            let left: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {twin}"))
                .fetch_one(&mut raw)
                .await
                .unwrap()
                .get("n");
            assert_eq!(left, 0, "round {round}: {twin} is emptied");
        }
        assert_eq!(
            common::snapshot_views(&store).await,
            before,
            "round {round}: the views read the same through the same connections"
        );
        crate::schema::assert_twins_match(&db).await;
    }
    // The views go on: a new command reaches them.
    support::register("ADU-9", "2026-12-04 09:00")
        .execute(&store, "after-the-rebuilds")
        .await
        .unwrap();
    store.projector().catch_up().await.unwrap();
    assert!(common::snapshot_views(&store).await.contains("ADU-9"));
    store.close().await;
}
both!(
    rebuild_exchanges_tables,
    a_rebuild_exchanges_each_view_with_its_twin
);

/// The secondary (neither unique nor primary-key) indexes on the complaint views' twins,
/// counted from a thread of its own: a replay's progress report, where this is called,
/// is not async.
fn twin_secondary_indexes(url: &str, backend: common::Backend) -> i64 {
    let url = url.to_owned();
    support::on_a_thread_of_its_own(move || async move {
        let mut n = 0;
        for twin in [
            "complaint_views_rebuild",
            "sla_deadlines_rebuild",
            "step_runs_rebuild",
        ] {
            n += support::secondary_indexes(&url, backend, twin).await.len() as i64;
        }
        n
    })
}

/// A replay fills the twins without their secondary indexes and makes them once the
/// twins are full (one sort per index instead of an entry placed as each row comes).
/// The indexes made are the live tables' own, so a replay stopped half-way, which
/// leaves its twins without any, changes nothing readers see, and the next replay
/// makes them all the same: after it the views and their twins match again, index for
/// index.
async fn a_replay_makes_the_twins_indexes_once_they_are_full(db: common::TestDb) {
    let store = Arc::new(db.open().await);
    seed(&store).await;
    store.projector().catch_up().await.unwrap();
    let before = common::snapshot_views(&store).await;
    assert!(
        twin_secondary_indexes(&db.url, db.backend) > 0,
        "the twins have their indexes before a replay"
    );
    store.projector().set_replay_batch(2);
    // A replay, watched after its first batch.
    let mut during = Vec::new();
    store
        .projector()
        .rebuild("complaints", |_| {
            if during.is_empty() {
                during.push(twin_secondary_indexes(&db.url, db.backend));
            }
        })
        .await
        .unwrap();
    assert_eq!(
        during,
        [0],
        "the first pass writes twins without secondary indexes"
    );
    crate::schema::assert_twins_match(&db).await;
    assert_eq!(common::snapshot_views(&store).await, before);
    // A replay stopped after its first batch: its future dropped.
    support::stop_replay_after_first_batch(&store, "complaints").await;
    assert_eq!(
        twin_secondary_indexes(&db.url, db.backend),
        0,
        "a replay stopped half-way leaves its twins without indexes"
    );
    assert_eq!(
        common::snapshot_views(&store).await,
        before,
        "and the views as they were"
    );
    support::rebuild_when_free(&store, "complaints").await;
    crate::schema::assert_twins_match(&db).await;
    assert_eq!(common::snapshot_views(&store).await, before);
    store.close().await;
}
both!(
    replay_defers_twin_indexes,
    a_replay_makes_the_twins_indexes_once_they_are_full
);

/// One replay of a projection at a time on a database. While a replay runs (held after
/// its first batch, by a store of its own on a thread of its own, as another host's
/// would run), a second of the same projection from any other store on the database is
/// refused at once as unavailable, and changes nothing: the first's views come out
/// whole. Another projection's replay runs meanwhile. Once the first has ended, or was
/// stopped half-way (its future dropped), the next one runs.
async fn one_replay_of_a_projection_at_a_time(db: common::TestDb) {
    let this_host = Arc::new(db.open().await);
    let other_host = db.open().await;
    seed(&this_host).await;
    this_host.projector().catch_up().await.unwrap();
    let before = common::snapshot_views(&this_host).await;
    let bound = Duration::from_secs(30);
    let first = support::HeldReplay::start(&db.url, "complaints").await;
    for (host, store) in [("one store", &*this_host), ("another", &other_host)] {
        let second = tokio::time::timeout(bound, store.projector().rebuild("complaints", |_| {}))
            .await
            .unwrap_or_else(|_| panic!("a second replay through {host} is answered at once"));
        match second {
            Err(StoreError::Unavailable { reason, .. }) => assert!(
                reason.contains("complaints") && reason.contains("already"),
                "{reason}"
            ),
            other => panic!("a second replay through {host} runs while the first does: {other:?}"),
        }
    }
    other_host
        .projector()
        .rebuild("timeline", |_| {})
        .await
        .expect("another projection's replay runs meanwhile");
    first.release().await.expect("the first replay succeeds");
    assert_eq!(
        common::snapshot_views(&this_host).await,
        before,
        "the first replay's views are whole"
    );
    crate::schema::assert_twins_match(&db).await;
    other_host
        .projector()
        .rebuild("complaints", |_| {})
        .await
        .expect("once the first has ended, the next replay runs");
    // Stopped half-way: the next replay runs (on PostgreSQL once the stopped replay's
    // session has let go, which the helper allows a bounded time).
    support::stop_replay_after_first_batch(&this_host, "complaints").await;
    support::rebuild_when_free(&other_host, "complaints").await;
    assert_eq!(common::snapshot_views(&other_host).await, before);
    other_host.close().await;
}
both!(replays_one_at_a_time, one_replay_of_a_projection_at_a_time);

/// On PostgreSQL (a file lock on SQLite cannot be lost while its file is open): a
/// seeded store with its views current, the views then, and a replay of the complaint
/// views held after its first batch whose lock session was then ended.
async fn a_replay_that_lost_its_lock(
    db: &common::TestDb,
) -> Option<(workflow_store::Store, String, support::HeldReplay)> {
    if db.backend == common::Backend::Sqlite {
        return None;
    }
    let store = db.open().await;
    seed(&store).await;
    store.projector().catch_up().await.unwrap();
    let before = common::snapshot_views(&store).await;
    let held = support::HeldReplay::start(&db.url, "complaints").await;
    end_replay_lock_sessions(db, "the held replay's lock session").await;
    Some((store, before, held))
}

/// Ends, as an administrator would with `pg_terminate_backend`, the one session of `db`
/// holding a replay lock (PostgreSQL); `what` names it should there be none or more.
async fn end_replay_lock_sessions(db: &common::TestDb, what: &str) {
    let mut raw = db.raw().await;
    let ended: i64 = sqlx::query(
        "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_locks \
         WHERE locktype = 'advisory' AND classid = 727274264 AND objsubid = 2 AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&mut raw)
    .await
    .unwrap()
    .get("n");
    assert_eq!(ended, 1, "{what}");
}

/// A replay's outcome is the failure of one that lost its lock, saying so.
#[track_caller]
fn lost_its_lock(replayed: Result<u64, StoreError>) {
    match replayed {
        Err(StoreError::Unavailable { reason, .. }) => {
            assert!(reason.contains("lost its lock"), "{reason}")
        }
        other => panic!("a replay that lost its lock: {other:?}"),
    }
}

/// A replay whose lock was lost (PostgreSQL: its session ended by an administrator's
/// `pg_terminate_backend` while the replay ran) switches nothing over: it fails as
/// unavailable, saying why, and the views are as they were; the next replay runs. (A
/// file lock on SQLite cannot be lost while its file is open.)
async fn a_replay_that_lost_its_lock_switches_nothing_over(db: common::TestDb) {
    let Some((store, before, held)) = a_replay_that_lost_its_lock(&db).await else {
        return;
    };
    lost_its_lock(held.release().await);
    assert_eq!(common::snapshot_views(&store).await, before);
    assert_eq!(support::rebuild_when_free(&store, "complaints").await, 12);
    assert_eq!(common::snapshot_views(&store).await, before);
}
both!(
    replay_lost_its_lock,
    a_replay_that_lost_its_lock_switches_nothing_over
);

/// A replay that lost its lock mid-way (PostgreSQL: its session ended, as by an
/// administrator, or by the server once its host stalled past the lock's lease) while
/// another replay has since taken the lock and is filling the twins: the first writes
/// nothing more (each of its transactions on the twins confirms the lock before it
/// commits) and fails, saying why; the second runs to its end, and the views are whole.
async fn a_replay_that_lost_its_lock_writes_no_more(db: common::TestDb) {
    let Some((store, before, first)) = a_replay_that_lost_its_lock(&db).await else {
        return;
    };
    // The second takes the lock, empties the twins and applies its first batch.
    let second = support::HeldReplay::start(&db.url, "complaints").await;
    lost_its_lock(first.release().await);
    assert_eq!(second.release().await.expect("the second replay"), 12);
    assert_eq!(common::snapshot_views(&store).await, before);
    crate::schema::assert_twins_match(&db).await;
}
both!(
    replay_lost_its_lock_mid_way,
    a_replay_that_lost_its_lock_writes_no_more
);

/// A reader of the views inside a transaction of its own while a replay switches over:
/// on PostgreSQL the renames wait for it (they need the tables to themselves) and go
/// through once it ends; on SQLite they do not wait, and the reader goes on reading the
/// snapshot it began with. Either way the replay succeeds and the views are whole.
async fn a_switch_over_and_a_reader_of_the_views(db: common::TestDb) {
    let store = Arc::new(db.open().await);
    seed(&store).await;
    store.projector().catch_up().await.unwrap();
    let before = common::snapshot_views(&store).await;
    let mut reader = db.raw().await;
    let count = "SELECT COUNT(*) AS n FROM complaint_views";
    sqlx::Executor::execute(&mut reader, "BEGIN").await.unwrap();
    let seen: i64 = sqlx::query(count)
        .fetch_one(&mut reader)
        .await
        .unwrap()
        .get("n");
    assert_eq!(seen, 3);
    let mut rebuild = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.projector().rebuild("complaints", |_| {}).await })
    };
    let bound = Duration::from_secs(30);
    let rebuilt = match db.backend {
        common::Backend::Postgres => {
            // Well inside the session's lock timeout (5 s): the replay is held up.
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            assert!(
                !rebuild.is_finished(),
                "the switch-over waits for the reader's lock"
            );
            sqlx::Executor::execute(&mut reader, "COMMIT")
                .await
                .unwrap();
            tokio::time::timeout(bound, rebuild)
                .await
                .expect("the replay ends once the reader has")
        }
        common::Backend::Sqlite => {
            let rebuilt = tokio::time::timeout(bound, &mut rebuild)
                .await
                .expect("the switch-over does not wait for a reader on SQLite");
            let still: i64 = sqlx::query(count)
                .fetch_one(&mut reader)
                .await
                .unwrap()
                .get("n");
            assert_eq!(still, 3, "the reader reads its snapshot");
            sqlx::Executor::execute(&mut reader, "COMMIT")
                .await
                .unwrap();
            rebuilt
        }
    };
    rebuilt.unwrap().unwrap();
    assert_eq!(common::snapshot_views(&store).await, before);
}
both!(
    switch_over_and_reader,
    a_switch_over_and_a_reader_of_the_views
);

/// PostgreSQL: a reader holding one view inside its transaction that reads another
/// while a switch-over holds that one and waits for the first: the server ends one of
/// the two for the deadlock, the switch-over (it waited first, so it finds the
/// deadlock), which is tried again and goes through once the reader has ended. The
/// reader reads on unharmed, and the views are whole.
async fn a_switch_over_that_deadlocks_with_a_reader_is_tried_again(db: common::TestDb) {
    if db.backend == common::Backend::Sqlite {
        return; // SQLite's readers take no locks a switch-over waits for
    }
    let store = Arc::new(db.open().await);
    seed(&store).await;
    store.projector().catch_up().await.unwrap();
    let before = common::snapshot_views(&store).await;
    let mut reader = db.raw().await;
    let mut watcher = db.raw().await;
    let deadlocks =
        "SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()";
    let deadlocks_before: i64 = sqlx::query(deadlocks)
        .fetch_one(&mut watcher)
        .await
        .unwrap()
        .get("n");
    sqlx::Executor::execute(&mut reader, "BEGIN").await.unwrap();
    let runs: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sla_deadlines")
        .fetch_one(&mut reader)
        .await
        .unwrap()
        .get("n");
    assert!(runs > 0, "the seed has running clocks");
    let rebuild = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.projector().rebuild("complaints", |_| {}).await })
    };
    // The switch-over locks the views in the order of the projection's tables: it has
    // `complaint_views` when it waits for `sla_deadlines`, which the reader holds.
    let waiting = "SELECT COUNT(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                   WHERE c.relname = 'sla_deadlines' AND l.mode = 'AccessExclusiveLock' \
                   AND NOT l.granted \
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = sqlx::query(waiting)
            .fetch_one(&mut watcher)
            .await
            .unwrap()
            .get("n");
        if n == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline && !rebuild.is_finished(),
            "the switch-over waits for the reader's view"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Within the server's deadlock_timeout (1 s) of the switch-over's wait: the
    // switch-over's own check finds the cycle.
    let views: i64 = sqlx::query("SELECT COUNT(*) AS n FROM complaint_views")
        .fetch_one(&mut reader)
        .await
        .expect("the reader is not the one ended for the deadlock")
        .get("n");
    assert_eq!(views, 3);
    sqlx::Executor::execute(&mut reader, "COMMIT")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), rebuild)
        .await
        .expect("the replay ends once the reader has")
        .unwrap()
        .expect("the switch-over ended for the deadlock is tried again");
    assert_eq!(common::snapshot_views(&store).await, before);
    crate::schema::assert_twins_match(&db).await;
    // The server counted the deadlock (its statistics reach the view within a second
    // or so of the transaction's end).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        sqlx::Executor::execute(&mut watcher, "SELECT pg_stat_clear_snapshot()")
            .await
            .unwrap();
        let now: i64 = sqlx::query(deadlocks)
            .fetch_one(&mut watcher)
            .await
            .unwrap()
            .get("n");
        if now == deadlocks_before + 1 {
            break;
        }
        assert!(
            now == deadlocks_before && std::time::Instant::now() < deadline,
            "one deadlock, the switch-over's: {deadlocks_before} before, {now} now"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
both!(
    switch_over_deadlock,
    a_switch_over_that_deadlocks_with_a_reader_is_tried_again
);
