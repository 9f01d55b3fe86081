//! Opening a database read-only, as an auditor opens a copy: no file created, no
//! migration, no write of any kind; every write refused with a typed error.

use crate::support::{self, register, request_information};
use workflow_store::{both, testing as common};

use sqlx::{Connection, Executor};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::ComplaintServices;
use workflow_store::audit::ExportFormat;
use workflow_store::views::BoardStatus;
use workflow_store::{Store, StoreError};

/// Four complaints at different steps; the views are brought up to date or not.
async fn seed(store: &Store) {
    let mut steps = support::three_registered_two_reviewed();
    steps.extend([
        register("ADU-4", "2026-12-01 08:20"),
        request_information("ADU-2", "2026-12-02 09:00", "DISHUB"),
    ]);
    common::play(store, steps).await;
}

/// Opens the store at `url` read-only, as the auditor's verbs do.
async fn open_read_only(url: &str) -> Result<Store, StoreError> {
    Store::open_read_only(url, ComplaintServices::builtin()).await
}

fn instants() -> Vec<chrono::DateTime<chrono::Utc>> {
    ["2026-12-01 12:00", "2026-12-03 12:00", "2026-12-20 12:00"]
        .iter()
        .map(|s| wib(s))
        .collect()
}

/// Whom a board is asked of: the views, or the store, which answers from the log when
/// its views lag.
#[derive(Clone, Copy)]
enum Asked {
    Views,
    Store,
}

/// The SLA board at several instants, by status and agency, as `asked` gives it.
async fn boards(store: &Store, asked: Asked) -> Vec<String> {
    let mut out = Vec::new();
    for now in instants() {
        for status in [
            None,
            Some(BoardStatus::Breached),
            Some(BoardStatus::AtRisk),
            Some(BoardStatus::OnTrack),
            Some(BoardStatus::Paused),
        ] {
            for agency in [None, Some("PUPR")] {
                let board = match asked {
                    Asked::Views => store.views().sla_board(now, status, agency).await,
                    Asked::Store => store.sla_board(now, status, agency).await,
                };
                let board = board.unwrap();
                out.push(format!("{now} {status:?} {agency:?}: {board:?}"));
            }
        }
    }
    out
}

/// The SLA boards as the views give them once they are current.
async fn boards_from_views(store: &Store) -> Vec<String> {
    store.projector().catch_up().await.unwrap();
    boards(store, Asked::Views).await
}

async fn a_read_only_store_reads_everything_and_writes_nothing(db: common::TestDb) {
    let expected_board;
    {
        let store = db.open().await;
        seed(&store).await;
        // The views are never brought up to date here: the copy's views lag its log.
        expected_board = {
            let other = common::TestDb::new(db.backend, "read_only_reference").await;
            let reference = other.open().await;
            seed(&reference).await;
            let b = boards_from_views(&reference).await;
            reference.close().await;
            b
        };
        store.close().await;
    }
    assert!(
        expected_board
            .iter()
            .filter(|b| !b.ends_with(": []"))
            .count()
            >= 10,
        "the boards compared hold duties: {expected_board:#?}"
    );
    let schema = db.schema().await;
    let bytes = db.sqlite_path().map(|p| std::fs::read(p).unwrap());

    let store = open_read_only(&db.url).await.unwrap();
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok() && report.events == 9, "{report:?}");
    let mut out = Vec::new();
    assert_eq!(
        store
            .export(None, ExportFormat::Jsonl, &mut out, |_| {})
            .await
            .unwrap(),
        9
    );
    let history = store
        .history(&cid("ADU-1"), wib("2026-12-01 10:00"))
        .await
        .unwrap();
    assert_eq!(history.events.len(), 3);
    // The views were never brought up to date: the board comes from the log, and is
    // the one the views give once current.
    assert_eq!(boards(&store, Asked::Store).await, expected_board);

    // Every write is refused with a typed error.
    let command = cmd(
        "late",
        liaison("DISHUB"),
        wib("2026-12-03 09:00"),
        C::ProvideInformation(information_reply()),
    );
    let refused = [
        store
            .engine()
            .execute(&cid("ADU-2"), command, None)
            .await
            .map(|_| ()),
        store.projector().catch_up().await.map(|_| ()),
        store.sla_tick(wib("2026-12-20 12:00")).await.map(|_| ()),
        store.recompute_deadlines().await.map(|_| ()),
        store
            .create_token(&upp(), wib("2026-12-03 09:00"))
            .await
            .map(|_| ()),
        store.probe_write().await,
        store.projector().resume(&cid("ADU-1")).await.map(|_| ()),
    ];
    for result in refused {
        assert!(matches!(result, Err(StoreError::ReadOnly(_))), "{result:?}");
    }
    store.close().await;

    assert_eq!(db.schema().await, schema);
    if let Some(bytes) = bytes {
        assert_eq!(
            std::fs::read(db.sqlite_path().unwrap()).unwrap(),
            bytes,
            "not a byte of the database file changed"
        );
    }
}
both!(
    read_only_store,
    a_read_only_store_reads_everything_and_writes_nothing
);

async fn the_board_comes_from_the_views_when_they_are_current(db: common::TestDb) {
    let store = db.open().await;
    seed(&store).await;
    let expected = boards_from_views(&store).await;
    store.close().await;
    let store = open_read_only(&db.url).await.unwrap();
    assert_eq!(boards(&store, Asked::Store).await, expected);
    store.close().await;
}
both!(
    board_from_views,
    the_board_comes_from_the_views_when_they_are_current
);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_read_only_open_of_a_missing_file_creates_nothing_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let err = open_read_only(&format!("sqlite://{}", path.display()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("typo.db"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `db` made by the engine and then changed by `sql` behind its back is refused read-only
/// with a message that says to migrate it, and left as it was: the refusal.
async fn refused_read_only_after(db: &common::TestDb, sql: &str) -> StoreError {
    db.open().await.close().await;
    let mut raw = db.raw().await;
    raw.execute(sql).await.unwrap();
    raw.close().await.unwrap();
    let schema = db.schema().await;
    let err = open_read_only(&db.url).await.unwrap_err();
    assert!(err.to_string().contains("aduan migrate"), "{err}");
    assert_eq!(db.schema().await, schema);
    err
}

async fn a_database_that_needs_migrating_is_refused_read_only(db: common::TestDb) {
    let unapply = "DELETE FROM _sqlx_migrations WHERE version = 20261128000006";
    let err = refused_read_only_after(&db, unapply).await;
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err}");
}
both!(
    needs_migrating,
    a_database_that_needs_migrating_is_refused_read_only
);

async fn a_database_without_the_marker_is_refused_read_only(db: common::TestDb) {
    // Made by an earlier version: migrate it first.
    let unmark = match db.backend {
        common::Backend::Sqlite => "PRAGMA application_id = 0",
        common::Backend::Postgres => "DROP TABLE aduan_identity",
    };
    refused_read_only_after(&db, unmark).await;
}
both!(
    unmarked_read_only,
    a_database_without_the_marker_is_refused_read_only
);

async fn another_programs_database_and_an_empty_one_are_refused_read_only(db: common::TestDb) {
    db.create_foreign("CREATE TABLE users (name text PRIMARY KEY)")
        .await;
    let err = open_read_only(&db.url).await.unwrap_err();
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
    let empty = common::TestDb::new(db.backend, "read_only_empty").await;
    empty.create_foreign("SELECT 1").await;
    let err = open_read_only(&empty.url).await.unwrap_err();
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
    assert!(empty
        .schema()
        .await
        .iter()
        .all(|s| s.starts_with("application_id")));
}
both!(
    foreign_read_only,
    another_programs_database_and_an_empty_one_are_refused_read_only
);

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_postgres_sessions_cannot_write() {
    use sqlx::Row;
    let db = common::TestDb::new(common::Backend::Postgres, "read_only_session").await;
    db.open().await.close().await;
    let store = open_read_only(&db.url).await.unwrap();
    let mut conn = store.pool_for_tests().acquire().await.unwrap();
    let on: String = sqlx::query("SHOW default_transaction_read_only")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(on, "on");
    let err = conn
        .execute("INSERT INTO settings (key, value) VALUES ('x', 'y')")
        .await
        .unwrap_err();
    assert!(
        matches!(StoreError::from(err), StoreError::Unavailable { .. }),
        "a write by hand is refused by the server"
    );
    drop(conn);
    tokio::time::timeout(std::time::Duration::from_secs(30), store.close())
        .await
        .unwrap();
}
