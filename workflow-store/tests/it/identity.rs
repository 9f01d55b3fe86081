//! Whose database is it: the engine migrates only a database that is its own (marked, or
//! empty, or made by an earlier version of the engine) and refuses every other one
//! before changing anything.

use crate::support::{files, new_complaint, open_refused, store_one_complaint};
use workflow_store::{both, testing as common};

use sqlx::{Connection, Row};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_store::StoreError;

/// `PRAGMA application_id` of an aduan SQLite file: "adua" in ASCII.
const APPLICATION_ID: i64 = 0x6164_7561;

/// The marker, as the database holds it: the SQLite application id, or the row of the
/// PostgreSQL marker table (`None` when absent).
async fn marker(db: &common::TestDb) -> Option<String> {
    let mut raw = db.raw().await;
    let found = match db.backend {
        common::Backend::Sqlite => {
            let id: i64 = sqlx::query("SELECT application_id AS id FROM pragma_application_id")
                .fetch_one(&mut raw)
                .await
                .unwrap()
                .get("id");
            (id != 0).then(|| id.to_string())
        }
        common::Backend::Postgres => {
            let table: Option<String> =
                sqlx::query("SELECT to_regclass('aduan_identity')::text AS t")
                    .fetch_one(&mut raw)
                    .await
                    .unwrap()
                    .get("t");
            match table {
                None => None,
                Some(_) => sqlx::query("SELECT application FROM aduan_identity")
                    .fetch_optional(&mut raw)
                    .await
                    .unwrap()
                    .map(|r| r.get::<String, _>("application")),
            }
        }
    };
    raw.close().await.unwrap();
    found
}

fn expected_marker(db: &common::TestDb) -> Option<String> {
    Some(match db.backend {
        common::Backend::Sqlite => APPLICATION_ID.to_string(),
        common::Backend::Postgres => "aduan".to_owned(),
    })
}

async fn an_empty_database_is_marked_before_it_is_migrated(db: common::TestDb) {
    store_one_complaint(&db).await;
    assert_eq!(marker(&db).await, expected_marker(&db));
}
both!(
    empty_is_marked,
    an_empty_database_is_marked_before_it_is_migrated
);

async fn a_foreign_database_with_an_events_table_is_refused_and_left_as_it_was(db: common::TestDb) {
    db.create_foreign(
        "CREATE TABLE events (id integer PRIMARY KEY, what text NOT NULL); \
         INSERT INTO events (id, what) VALUES (1, 'login'), (2, 'logout'); \
         CREATE TABLE users (name text PRIMARY KEY);",
    )
    .await;
    let schema = db.schema().await;
    let bytes = files(&db);

    for _ in 0..2 {
        let err = open_refused(&db.url).await;
        assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("events") && message.contains("users"),
            "the message names what was found: {message}"
        );
    }

    assert_eq!(
        db.schema().await,
        schema,
        "no table, trigger or marker added"
    );
    assert_eq!(files(&db), bytes, "the file is unchanged byte for byte");
    assert!(!schema.iter().any(|s| s.contains("_sqlx_migrations")));
    // The other program still deletes its own rows: no append-only trigger was added.
    let mut raw = db.raw().await;
    sqlx::query("DELETE FROM events WHERE id = 1")
        .execute(&mut raw)
        .await
        .unwrap();
    let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM events")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get("n");
    assert_eq!(left, 1);
}
both!(
    foreign_events_table,
    a_foreign_database_with_an_events_table_is_refused_and_left_as_it_was
);

async fn a_database_of_another_sqlx_program_is_refused(db: common::TestDb) {
    // Another program that also migrates with sqlx: its own history, its own tables.
    db.create_foreign(
        "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL, \
           installed_on text NOT NULL DEFAULT 'x', success boolean NOT NULL, checksum bytea NOT NULL, \
           execution_time bigint NOT NULL); \
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
           VALUES (20240101000000, 'init', TRUE, 'abc', 1); \
         CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);",
    )
    .await;
    let schema = db.schema().await;
    let err = open_refused(&db.url).await;
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
    assert_eq!(db.schema().await, schema);
}
both!(
    another_sqlx_program,
    a_database_of_another_sqlx_program_is_refused
);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_sqlite_file_of_another_program_is_refused_even_without_tables() {
    let db = common::TestDb::new(common::Backend::Sqlite, "other_app_id").await;
    db.create_foreign("PRAGMA application_id = 1234;").await;
    let bytes = files(&db);
    let err = open_refused(&db.url).await;
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
    assert!(err.to_string().contains("1234"), "{err}");
    assert_eq!(files(&db), bytes);
}

async fn a_plain_cqrs_es_store_is_refused_by_open(db: common::TestDb) {
    db.plain_cqrs_es_store(vec![(
        "ADU-1",
        cmd(
            "r1",
            upp(),
            wib("2026-11-30 09:00"),
            C::Register(registration()),
        ),
    )])
    .await;
    let schema = db.schema().await;
    let bytes = files(&db);
    let err = open_refused(&db.url).await;
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
    assert!(
        err.to_string().contains("aduan adopt"),
        "the message says how to adopt it: {err}"
    );
    assert_eq!(db.schema().await, schema);
    assert_eq!(files(&db), bytes);
}
both!(
    plain_cqrs_es_refused,
    a_plain_cqrs_es_store_is_refused_by_open
);

async fn a_database_of_an_earlier_version_is_recognised_and_marked(db: common::TestDb) {
    store_one_complaint(&db).await;
    // Databases made before the marker existed: our migration history, no marker.
    let mut raw = db.raw().await;
    let unmark = match db.backend {
        common::Backend::Sqlite => "PRAGMA application_id = 0",
        common::Backend::Postgres => "DROP TABLE IF EXISTS aduan_identity",
    };
    sqlx::query(unmark).execute(&mut raw).await.unwrap();
    raw.close().await.unwrap();
    assert_eq!(marker(&db).await, None);

    let store = db.open().await;
    assert_eq!(store.engine().events(&cid("ADU-1")).await.unwrap().len(), 1);
    new_complaint(&store, "ADU-2").await.unwrap();
    store.close().await;
    assert_eq!(marker(&db).await, expected_marker(&db));
}
both!(
    earlier_version,
    a_database_of_an_earlier_version_is_recognised_and_marked
);

async fn a_migration_that_fails_midway_leaves_nothing_half_done(db: common::TestDb) {
    store_one_complaint(&db).await;
    // Back to the schema before migration 6, except for the second index that migration
    // creates: applying it again creates its first index, then fails.
    let mut raw = db.raw().await;
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 20261128000006")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("DROP INDEX sla_deadlines_by_due_order")
        .execute(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();
    let schema = db.schema().await;

    let err = open_refused(&db.url).await;
    assert!(matches!(err, StoreError::Migration { .. }), "{err}");
    assert_eq!(
        db.schema().await,
        schema,
        "the failed migration's first index was rolled back with it"
    );
    let mut raw = db.raw().await;
    let recorded: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE version = 20261128000006")
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get("n");
    assert_eq!(
        recorded, 0,
        "the failed migration is not recorded as applied"
    );
}
both!(
    failing_migration,
    a_migration_that_fails_midway_leaves_nothing_half_done
);
