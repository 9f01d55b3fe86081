//! Group commit on real databases: commands that arrive while the log is writing share
//! one transaction, each is still checked on its own (one refused does not refuse the
//! others), and a statement that fails in a batch fails its own command alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Executor;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{CommandEnvelope, EventBody};
use workflow_store::testing::{appends_in_hand, log_writers, TestDb};
use workflow_store::{both, Executed, Store, StoreError};

use crate::support;

/// A registration of `complaint` with command id `command_id`.
fn registration_of(complaint: &str, command_id: &str) -> (String, CommandEnvelope) {
    let command = cmd(
        command_id,
        upp(),
        wib("2026-11-30 09:00"),
        C::Register(registration()),
    );
    (complaint.to_owned(), command)
}

/// A registration of each of `ids`, with command id `reg-ID`.
fn registrations(ids: &[String]) -> Vec<(String, CommandEnvelope)> {
    ids.iter()
        .map(|id| registration_of(id, &format!("reg-{id}")))
        .collect()
}

/// Commands under way while a raw transaction holds the log's writers back.
struct Held {
    raw: sqlx::AnyConnection,
    tasks: Vec<tokio::task::JoinHandle<Result<Executed, StoreError>>>,
}

impl Held {
    /// Lets the held writer go and returns each command's outcome, in order.
    async fn release(mut self) -> Vec<Result<Executed, StoreError>> {
        self.raw.execute("ROLLBACK").await.unwrap();
        let mut outcomes = Vec::new();
        for task in self.tasks {
            let outcome = tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("a command answered within 60 s")
                .unwrap();
            outcomes.push(outcome);
        }
        outcomes
    }
}

/// Starts `commands` while a raw transaction holds the log (an event inserted, not
/// committed), and waits until the log holds every one of them in hand.
async fn start_while_held(
    db: &TestDb,
    store: &Arc<Store>,
    commands: Vec<(String, CommandEnvelope)>,
) -> Held {
    let mut raw = db.raw().await;
    let held = event(
        "hold",
        upp(),
        wib("2026-11-30 08:00"),
        EventBody::Received(registration()),
    );
    support::insert_and_hold(&mut raw, &db.url, ("HOLD-1", 1), &held).await;
    let count = commands.len();
    let mut tasks = Vec::new();
    // The first commands, one for each of the log's writers, are the ones written alone
    // (blocked by the held writer); the others queue behind them.
    let alone = log_writers(store).min(count);
    let deadline = Instant::now() + Duration::from_secs(30);
    for (i, (complaint, command)) in commands.into_iter().enumerate() {
        if i == alone {
            while appends_in_hand(store) < alone {
                assert!(
                    Instant::now() < deadline,
                    "the log holds {} of the {alone} appends written alone after 30 s",
                    appends_in_hand(store)
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let store = Arc::clone(store);
        tasks.push(tokio::spawn(async move {
            store
                .engine()
                .execute(&cid(&complaint), command, None)
                .await
        }));
    }
    while appends_in_hand(store) < count {
        assert!(
            Instant::now() < deadline,
            "the log holds {} of {} appends after 30 s",
            appends_in_hand(store),
            count
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Held { raw, tasks }
}

/// Executes `commands` while another writer holds the log, waits until the log holds
/// every one of them in hand, then lets the writer go.
async fn execute_while_held(
    db: &TestDb,
    store: &Arc<Store>,
    commands: Vec<(String, CommandEnvelope)>,
) -> Vec<Result<Executed, StoreError>> {
    start_while_held(db, store, commands).await.release().await
}

async fn commands_arriving_together_share_a_commit_and_one_refused_refuses_no_other(db: TestDb) {
    let store = Arc::new(db.open().await);
    let before = store.health().snapshot();
    // Fifteen new complaints, and a second registration of the first under another
    // command id: decided on the same empty complaint, so the log takes one of the two.
    let ids: Vec<String> = (1..=15).map(|i| format!("ADU-G{i}")).collect();
    let mut commands = registrations(&ids);
    commands.push(registration_of("ADU-G1", "reg-ADU-G1-again"));

    let outcomes = execute_while_held(&db, &store, commands).await;

    let ok = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert_eq!(ok, 15, "{outcomes:?}");
    assert_eq!(refused.len(), 1, "{outcomes:?}");
    assert!(
        matches!(refused[0], StoreError::Domain(_)),
        "the second registration is decided again and refused by the domain: {refused:?}"
    );
    let after = store.health().snapshot();
    assert_eq!(after.commits - before.commits, 15);
    // Without group commit each of the fifteen is a transaction of its own. Here each
    // of the log's writers (one on SQLite, two on PostgreSQL) wrote one while the held
    // writer blocked them, and all the others then shared one more.
    let transactions = after.transactions - before.transactions;
    assert_eq!(
        transactions,
        1 + log_writers(&store) as u64,
        "15 commands in {transactions} transactions"
    );
    for id in &ids {
        let events = store.engine().events(&cid(id)).await.unwrap();
        assert_eq!(events.len(), 1, "{id}");
    }
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    store.close().await;
}
both!(
    together,
    commands_arriving_together_share_a_commit_and_one_refused_refuses_no_other
);

async fn a_statement_failing_in_a_batch_fails_its_own_command_alone(db: TestDb) {
    let store = Arc::new(db.open().await);
    support::refuse_events_of(&db, "ADU-F3").await;
    // ADU-F3 comes after those written alone (one a writer): it is in the batch.
    let ids: Vec<String> = (1..=8).map(|i| format!("ADU-F{i}")).collect();

    let outcomes = execute_while_held(&db, &store, registrations(&ids)).await;

    for (id, outcome) in ids.iter().zip(&outcomes) {
        let events = store.engine().events(&cid(id)).await.unwrap();
        if id == "ADU-F3" {
            assert!(
                matches!(outcome, Err(StoreError::Backend { .. })),
                "{id}: {outcome:?}"
            );
            assert!(events.is_empty(), "{id} has events");
        } else {
            assert!(outcome.is_ok(), "{id}: {outcome:?}");
            assert_eq!(events.len(), 1, "{id}");
        }
    }
    support::allow_events_again(&db).await;
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    store.close().await;
}
both!(
    failing_alone,
    a_statement_failing_in_a_batch_fails_its_own_command_alone
);

async fn commands_on_existing_complaints_share_a_commit_too(db: TestDb) {
    let store = Arc::new(db.open().await);
    let ids: Vec<String> = (1..=8).map(|i| format!("ADU-D{i}")).collect();
    for id in &ids {
        support::new_complaint(&store, id).await.unwrap();
    }
    let before = store.health().snapshot();
    // Dispositions: events without a key, after the complaints' first events.
    let commands = ids
        .iter()
        .map(|id| {
            let command = cmd(
                &format!("dispose-{id}"),
                upp(),
                wib("2026-11-30 10:00"),
                C::Dispose(disposition("PUPR")),
            );
            (id.clone(), command)
        })
        .collect();

    let outcomes = execute_while_held(&db, &store, commands).await;

    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let after = store.health().snapshot();
    assert_eq!(after.commits - before.commits, 8);
    // One by each of the log's writers while the held writer blocked them, the
    // others in one more.
    let transactions = after.transactions - before.transactions;
    assert_eq!(
        transactions,
        1 + log_writers(&store) as u64,
        "8 commands in {transactions} transactions"
    );
    for id in &ids {
        let events = store.engine().events(&cid(id)).await.unwrap();
        assert_eq!(events.len(), 2, "{id}");
    }
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    store.close().await;
}
both!(existing, commands_on_existing_complaints_share_a_commit_too);

async fn imports_of_several_events_each_batch_with_dense_positions(db: TestDb) {
    use workflow_core::complaint::command::{ImportedDisposition, LaporImport};
    let store = Arc::new(db.open().await);
    // Each import writes three events (received, disposed, imported) and the
    // complaint's new key: several rows and a key per append, eight appends a batch.
    let ids: Vec<String> = (1..=8).map(|i| format!("LAP-2026-12-00010{i}")).collect();
    let commands = ids
        .iter()
        .map(|id| {
            let mut registration = registration();
            registration.reported_at = wib("2026-11-23 08:00");
            let report = LaporImport {
                registration,
                channel: Some("aplikasi".into()),
                lapor_status: workflow_core::LaporStatus::Disposed,
                disposed: Some(ImportedDisposition {
                    disposition: disposition("PUPR"),
                    at: wib("2026-11-24 09:00"),
                }),
            };
            let command = cmd(
                &format!("import-{id}"),
                upp(),
                wib("2026-11-30 09:00"),
                C::Import(report),
            );
            (id.clone(), command)
        })
        .collect();
    let before = store.health().snapshot();

    let outcomes = execute_while_held(&db, &store, commands).await;

    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let after = store.health().snapshot();
    // One by each of the log's writers while the held writer blocked them, the
    // others in one more.
    let transactions = after.transactions - before.transactions;
    assert_eq!(
        transactions,
        1 + log_writers(&store) as u64,
        "8 imports in {transactions} transactions"
    );
    let mut positions = Vec::new();
    for id in &ids {
        let events = store.engine().events(&cid(id)).await.unwrap();
        assert_eq!(events.len(), 3, "{id}");
        let complaint = store.engine().load(&cid(id)).await.unwrap();
        assert!(
            matches!(
                store.reveal_identity(&cid(id), &complaint).await.unwrap(),
                Some(workflow_store::keys::Revealed::Identity(_))
            ),
            "{id}'s identity opens with the key written in the batch"
        );
    }
    // Each complaint's events follow one another in the log, and no position is
    // taken twice.
    let mut raw = db.raw().await;
    for row in sqlx::query(
        "SELECT aggregate_id, sequence, position FROM events WHERE aggregate_id LIKE 'LAP-%' \
         ORDER BY position",
    )
    .fetch_all(&mut raw)
    .await
    .unwrap()
    {
        use sqlx::Row;
        positions.push((
            row.get::<String, _>("aggregate_id"),
            row.get::<i64, _>("sequence"),
            row.get::<i64, _>("position"),
        ));
    }
    assert_eq!(positions.len(), 24);
    for pair in positions.windows(2) {
        assert!(pair[0].2 < pair[1].2, "{positions:?}");
        if pair[0].0 == pair[1].0 {
            assert_eq!(pair[0].1 + 1, pair[1].1, "{positions:?}");
        }
    }
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    store.close().await;
}
both!(
    imports,
    imports_of_several_events_each_batch_with_dense_positions
);

/// Registers each of `ids` in turn; each must commit.
async fn register_each(store: &Store, ids: impl Iterator<Item = String>) {
    for id in ids {
        let (complaint, command) = registration_of(&id, &format!("reg-{id}"));
        store
            .engine()
            .execute(&cid(&complaint), command, None)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

/// Whether `id` has a data key.
async fn has_key(db: &TestDb, id: &str) -> bool {
    crate::support::keys_of(db, id).await > 0
}

async fn registrations_dropped_half_way_leave_a_key_only_with_its_event_and_the_log_writable(
    db: TestDb,
) {
    let store = db.open().await;
    // A registration is one script on SQLite (its key and its event from `BEGIN` to
    // `COMMIT`); its caller gives up at ever later points, before it, during it, after.
    let ids: Vec<String> = (0..200).map(|i| format!("ADU-X{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let (complaint, command) = registration_of(id, &format!("reg-{id}"));
        let waited = Duration::from_micros(i as u64 * 10);
        let _ = tokio::time::timeout(
            waited,
            store.engine().execute(&cid(&complaint), command, None),
        )
        .await;
    }
    // A transaction left open on a pooled connection would hold SQLite's write lock:
    // every registration below would fail (the busy timeout, or a transaction within a
    // transaction).
    register_each(&store, (0..8).map(|i| format!("ADU-Y{i}"))).await;
    for id in &ids {
        let events = store.engine().events(&cid(id)).await.unwrap().len();
        assert!(events <= 1, "{id}: {events} events");
        assert_eq!(
            has_key(&db, id).await,
            events == 1,
            "{id}: a key without its event, or an event without its key"
        );
    }
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    store.close().await;
}
both!(
    dropped_half_way,
    registrations_dropped_half_way_leave_a_key_only_with_its_event_and_the_log_writable
);

/// SQLite: a registration given up while its script waits for the write lock (held by
/// another connection) leaves nothing open behind it: the script's `BEGIN` completes
/// after its caller has gone, and the connection it ran on is closed, not pooled.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_given_up_while_it_waits_for_the_lock_leaves_no_transaction_open() {
    let db = TestDb::new(workflow_store::testing::Backend::Sqlite, "given_up_waiting").await;
    let store = Arc::new(db.open().await);
    // Until the log holds it in hand, behind a raw transaction holding the write lock.
    let Held { mut raw, tasks } =
        start_while_held(&db, &store, registrations(&["ADU-G1".to_owned()])).await;
    // In hand, its script is on its way to the connection's thread, which sends it to
    // SQLite's busy handler: a margin for that hand-off, not a wait for an outcome.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !tasks[0].is_finished(),
        "the registration did not wait for the lock"
    );
    tasks[0].abort();
    raw.execute("ROLLBACK").await.unwrap();
    // The script's `BEGIN` gets the lock now, after its caller has gone: SQLite's busy
    // handler looks again at most 100 ms apart, so after 300 ms it has. Once its
    // connection is closed the lock is free again, and another connection takes it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    raw.execute("PRAGMA busy_timeout = 2000").await.unwrap();
    raw.execute("BEGIN IMMEDIATE")
        .await
        .expect("the write lock is free again after the given-up script");
    raw.execute("ROLLBACK").await.unwrap();
    register_each(&store, (2..=5).map(|i| format!("ADU-G{i}"))).await;
    assert!(store
        .engine()
        .events(&cid("ADU-G1"))
        .await
        .unwrap()
        .is_empty());
    assert!(!has_key(&db, "ADU-G1").await, "a key without its event");
    store.close().await;
}

/// The store with a lock timeout longer than the tests' bounded waits, so that the
/// appends held behind the raw transaction wait for it rather than fail.
#[cfg(feature = "postgres")]
async fn open_patient(db: &TestDb) -> Store {
    let options = workflow_store::StoreOptions::default().lock_timeout(Duration::from_secs(120));
    Store::open_with_options(
        &db.url,
        workflow_core::ComplaintServices::builtin(),
        options,
    )
    .await
    .unwrap()
}

/// How many backends of `db`'s database wait for a lock that the session `pid` holds.
#[cfg(feature = "postgres")]
async fn waiting_behind(watch: &mut sqlx::AnyConnection, pid: i32) -> i64 {
    use sqlx::Row;
    sqlx::query(
        "SELECT COUNT(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND $1 = ANY(pg_blocking_pids(pid))",
    )
    .bind(pid)
    .fetch_one(&mut *watch)
    .await
    .unwrap()
    .get("n")
}

/// The PostgreSQL backend of the held transaction.
#[cfg(feature = "postgres")]
async fn backend_pid(held: &mut Held) -> i32 {
    use sqlx::Row;
    sqlx::query("SELECT pg_backend_pid() AS pid")
        .fetch_one(&mut held.raw)
        .await
        .unwrap()
        .get("pid")
}

/// Waits (bounded) until exactly `expected` backends wait behind `pid`, and checks that
/// no more join them for a while after.
#[cfg(feature = "postgres")]
async fn assert_waiting_behind(db: &TestDb, pid: i32, expected: i64) {
    let mut watch = db.raw().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = waiting_behind(&mut watch, pid).await;
        assert!(
            n <= expected,
            "{n} transactions wait behind the held one, not {expected}"
        );
        if n == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{n} transactions wait behind the held one after 30 s, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Settled: none more comes while the appends wait (they are all in hand).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(waiting_behind(&mut watch, pid).await, expected);
}

/// On PostgreSQL the log writes two transactions of appends at once, so that one's
/// statement is under way while the other commits: with the position lock held, two
/// of the store's transactions wait for it, not one, and the rest queue in the store.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_two_transactions_of_appends_are_written_at_once() {
    let db = TestDb::new(workflow_store::testing::Backend::Postgres, "two_writers").await;
    let store = Arc::new(open_patient(&db).await);
    let ids: Vec<String> = (1..=6).map(|i| format!("ADU-W{i}")).collect();
    let before = store.health().snapshot();

    let mut held = start_while_held(&db, &store, registrations(&ids)).await;
    let pid = backend_pid(&mut held).await;
    assert_waiting_behind(&db, pid, 2).await;
    for outcome in held.release().await {
        assert!(outcome.is_ok(), "{outcome:?}");
    }
    let after = store.health().snapshot();
    assert_eq!(after.commits - before.commits, 6);
    // The two waiting each wrote one; the four queued behind them share a third.
    assert_eq!(after.transactions - before.transactions, 3);
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    store.close().await;
}

/// On PostgreSQL a complaint is written by one of the log's writers at a time: a
/// second append of a complaint being written waits in the store rather than race
/// the first in a transaction of its own (which would fail its batch's statement).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_one_complaint_is_in_one_transaction_at_a_time() {
    let db = TestDb::new(workflow_store::testing::Backend::Postgres, "one_at_a_time").await;
    let store = Arc::new(open_patient(&db).await);
    // Two registrations of one complaint, decided on the same empty complaint.
    let commands = vec![
        registration_of("ADU-S1", "reg-1"),
        registration_of("ADU-S1", "reg-2"),
    ];

    let mut held = start_while_held(&db, &store, commands).await;
    let pid = backend_pid(&mut held).await;
    assert_waiting_behind(&db, pid, 1).await;
    let outcomes = held.release().await;
    let ok = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(ok, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(StoreError::Domain(_)))),
        "the second registration is decided again and refused by the domain: {outcomes:?}"
    );
    assert_eq!(
        store.engine().events(&cid("ADU-S1")).await.unwrap().len(),
        1
    );
    store.close().await;
}
