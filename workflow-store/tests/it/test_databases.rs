//! The test databases themselves: on PostgreSQL every `TestDb` is a database of its own,
//! even for the same test name in two runs at once, and it is gone once the `TestDb` is.

use std::str::FromStr;
use workflow_core::fixtures::cid;

use crate::support::new_complaint;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};
use workflow_store::testing::{server_url, Backend, TestDb};

fn database_of(url: &str) -> String {
    url[url.rfind('/').unwrap() + 1..].to_owned()
}

async fn exists(database: &str) -> bool {
    let mut admin = PgConnectOptions::from_str(&server_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let found = sqlx::query("SELECT COUNT(*) AS n FROM pg_database WHERE datname = $1")
        .bind(database)
        .fetch_one(&mut admin)
        .await
        .unwrap()
        .get::<i64, _>("n");
    admin.close().await.unwrap();
    found == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_test_name_twice_gets_two_databases_both_usable() {
    let first = TestDb::new(Backend::Postgres, "same_name").await;
    let second = TestDb::new(Backend::Postgres, "same_name").await;
    assert_ne!(first.url, second.url);
    // Making the second must not have dropped or emptied the first.
    let a = first.open().await;
    let b = second.open().await;
    for (store, id) in [(&a, "ADU-A"), (&b, "ADU-B")] {
        new_complaint(store, id).await.unwrap();
    }
    assert_eq!(a.engine().events(&cid("ADU-A")).await.unwrap().len(), 1);
    assert_eq!(a.engine().events(&cid("ADU-B")).await.unwrap().len(), 0);
    assert_eq!(b.engine().events(&cid("ADU-B")).await.unwrap().len(), 1);
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_database_is_dropped_with_its_test_db_even_with_connections_open() {
    let db = TestDb::new(Backend::Postgres, "dropped_afterwards").await;
    let name = database_of(&db.url);
    assert!(exists(&name).await, "{name} was not created");
    // A store left open, as a failing test leaves it: the drop must not wait for it.
    let store = db.open().await;
    drop(db);
    assert!(!exists(&name).await, "{name} is still there");
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_names_stay_within_postgres_limits_and_distinct() {
    let stem = "a_very_long_module_path_of_a_test::with_a_long_test_function_name";
    let one = TestDb::new(Backend::Postgres, &format!("{stem}_one")).await;
    let two = TestDb::new(Backend::Postgres, &format!("{stem}_two")).await;
    for db in [&one, &two] {
        let name = database_of(&db.url);
        assert!(name.len() <= 63, "{name} is {} bytes", name.len());
        assert!(exists(&name).await, "{name}");
    }
    assert_ne!(one.url, two.url);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_sqlite_test_database_is_a_file_that_goes_with_its_test_db() {
    let db = TestDb::new(Backend::Sqlite, "file").await;
    db.open().await.close().await;
    let path = std::path::PathBuf::from(db.url.strip_prefix("sqlite://").unwrap());
    assert!(path.exists());
    drop(db);
    assert!(!path.exists());
}
