//! PostgreSQL sessions of the engine carry timeouts: a transaction stalled while it holds
//! the append lock makes other appends fail fast as unavailable instead of queueing
//! behind it, and the server ends the stalled transaction itself.

use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::support::new_complaint;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, Row};
use workflow_core::fixtures::*;
use workflow_core::ComplaintServices;
use workflow_store::testing::{Backend, TestDb};
use workflow_store::{Store, StoreError, StoreOptions};

/// An event appended by hand: the transaction that runs it takes the append lock and
/// holds it for as long as it stalls.
const STALLED_APPEND: &str = "INSERT INTO events \
     (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
     VALUES ('complaint', 'ADU-STALLED', 1, 'Received', '1', '{}', '{}')";

/// A transaction that appended an event and stalls before COMMIT: it holds the append
/// lock, as a host frozen between INSERT and COMMIT would.
async fn stall_an_append(db: &TestDb) -> sqlx::PgConnection {
    let mut raw = PgConnectOptions::from_str(&db.url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    raw.execute("BEGIN").await.unwrap();
    raw.execute(STALLED_APPEND).await.unwrap();
    raw
}

/// The store on `db` with session settings of the test's.
async fn open_with(db: &TestDb, options: StoreOptions) -> Store {
    Store::open_with_options(&db.url, ComplaintServices::builtin(), options)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_append_makes_commands_unavailable_quickly_not_slow() {
    let db = TestDb::new(Backend::Postgres, "stalled_append_default").await;
    let store = db.open().await; // the defaults: lock_timeout 5 s
    new_complaint(&store, "ADU-1").await.unwrap();
    let mut stalled = stall_an_append(&db).await;

    let started = Instant::now();
    let bound = Duration::from_secs(5 + 5);
    let outcome = tokio::time::timeout(bound, new_complaint(&store, "ADU-2")).await;
    let elapsed = started.elapsed();
    match outcome {
        // lock_not_available, kept from the server through cqrs-es's error type.
        Ok(Err(e @ StoreError::Unavailable { .. })) => {
            assert_eq!(
                workflow_store::testing::database_code(&e).as_deref(),
                Some("55P03"),
                "{e:?}"
            )
        }
        Ok(other) => panic!("expected unavailable, got {other:?}"),
        Err(_) => panic!("the command waited behind the stalled transaction for {elapsed:?}"),
    }
    assert!(elapsed < bound, "{elapsed:?}");

    stalled.execute("ROLLBACK").await.unwrap();
    new_complaint(&store, "ADU-2").await.unwrap();
    assert_eq!(store.engine().events(&cid("ADU-2")).await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_lock_timeout_is_honoured_and_the_command_succeeds_after_release() {
    let db = TestDb::new(Backend::Postgres, "stalled_append_short").await;
    let options = StoreOptions::default().lock_timeout(Duration::from_millis(300));
    let store = open_with(&db, options).await;
    new_complaint(&store, "ADU-1").await.unwrap();
    let mut stalled = stall_an_append(&db).await;

    let started = Instant::now();
    let bound = Duration::from_millis(300) + Duration::from_secs(5);
    let outcome = tokio::time::timeout(bound, new_complaint(&store, "ADU-2")).await;
    assert!(
        matches!(outcome, Ok(Err(StoreError::Unavailable { .. }))),
        "{outcome:?} after {:?}",
        started.elapsed()
    );
    stalled.execute("ROLLBACK").await.unwrap();
    new_complaint(&store, "ADU-2").await.unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_ends_an_engine_transaction_left_idle() {
    let db = TestDb::new(Backend::Postgres, "idle_in_transaction").await;
    let options = StoreOptions::default()
        .idle_in_transaction_timeout(Duration::from_millis(500))
        .lock_timeout(Duration::from_secs(20));
    let store = open_with(&db, options).await;
    new_complaint(&store, "ADU-1").await.unwrap();

    // An engine connection that appends and then stalls inside its transaction.
    let mut stalled = store.pool_for_tests().acquire().await.unwrap();
    stalled.execute("BEGIN").await.unwrap();
    stalled.execute(STALLED_APPEND).await.unwrap();

    // The next append waits for the lock only until the server ends the stalled session.
    let started = Instant::now();
    let bound = Duration::from_millis(500) + Duration::from_secs(5);
    let outcome = tokio::time::timeout(bound, new_complaint(&store, "ADU-2")).await;
    assert!(
        matches!(outcome, Ok(Ok(_))),
        "{outcome:?} after {:?}",
        started.elapsed()
    );
    let gone = stalled.execute("SELECT 1").await;
    assert!(gone.is_err(), "the stalled session was ended by the server");
    drop(stalled);
    assert!(store
        .engine()
        .events(&cid("ADU-STALLED"))
        .await
        .unwrap()
        .is_empty());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_running_past_its_timeout_is_unavailable() {
    let db = TestDb::new(Backend::Postgres, "statement_timeout").await;
    let options = StoreOptions::default().statement_timeout(Duration::from_millis(200));
    let store = open_with(&db, options).await;
    let mut conn = store.pool_for_tests().acquire().await.unwrap();
    let err = sqlx::query("SELECT pg_sleep(3)")
        .execute(&mut *conn)
        .await
        .unwrap_err();
    assert!(
        matches!(StoreError::from(err), StoreError::Unavailable { .. }),
        "cancelled by statement_timeout, answered as unavailable"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_engine_session_carries_the_settings() {
    let db = TestDb::new(Backend::Postgres, "session_settings").await;
    let store = db.open().await;
    let mut conn = store.pool_for_tests().acquire().await.unwrap();
    let mut shown = Vec::new();
    for setting in [
        "lock_timeout",
        "statement_timeout",
        "idle_in_transaction_session_timeout",
    ] {
        let row = sqlx::query(&format!("SHOW {setting}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        shown.push(row.get::<String, _>(0));
    }
    assert_eq!(shown, vec!["5s", "30s", "15s"]);
    drop(conn);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_starting_while_another_migrates_waits_beyond_the_lock_timeout() {
    let db = TestDb::new(Backend::Postgres, "migration_wait").await;
    db.open().await.close().await;
    // Another host holds the migration lock for longer than the lock timeout.
    let mut other = PgConnectOptions::from_str(&db.url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    other
        .execute("SELECT pg_advisory_lock(727274263)")
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        other
            .execute("SELECT pg_advisory_unlock(727274263)")
            .await
            .unwrap();
        other.close().await.unwrap();
    });
    let options = StoreOptions::default().lock_timeout(Duration::from_millis(200));
    let store = tokio::time::timeout(
        Duration::from_secs(30),
        Store::open_with_options(&db.url, ComplaintServices::builtin(), options),
    )
    .await
    .expect("bounded")
    .expect("waited for the other host's migrations");
    release.await.unwrap();
    new_complaint(&store, "ADU-1").await.unwrap();
    store.close().await;
}
