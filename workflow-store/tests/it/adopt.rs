//! Adopting a plain sqlite-es or postgres-es store of complaints, on purpose: every
//! event is numbered, chained and projected, or nothing changes at all.

use crate::support::{files, projected, review};
use workflow_store::{both, testing as common};

use sqlx::{Connection, Row};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{CommandEnvelope, ComplaintServices};
use workflow_store::{Store, StoreError};

/// Two complaints whose commands interleave in time, written by bare cqrs-es.
fn history() -> Vec<(&'static str, CommandEnvelope)> {
    vec![
        (
            "ADU-B",
            cmd(
                "b1",
                upp(),
                wib("2026-11-30 08:00"),
                C::Register(registration()),
            ),
        ),
        (
            "ADU-A",
            cmd(
                "a1",
                upp(),
                wib("2026-11-30 09:00"),
                C::Register(registration()),
            ),
        ),
        (
            "ADU-B",
            cmd(
                "b2",
                upp(),
                wib("2026-11-30 09:30"),
                C::Dispose(disposition("PUPR")),
            ),
        ),
        (
            "ADU-A",
            cmd(
                "a2",
                upp(),
                wib("2026-11-30 10:00"),
                C::Dispose(disposition("DISHUB")),
            ),
        ),
        (
            "ADU-B",
            cmd(
                "b3",
                liaison("PUPR"),
                wib("2026-12-01 09:00"),
                C::Review(complete_review()),
            ),
        ),
    ]
}

/// Every stored event's complaint and sequence, whatever the table's columns.
async fn rows(db: &common::TestDb) -> Vec<(String, i64)> {
    let mut raw = db.raw().await;
    let rows =
        sqlx::query("SELECT aggregate_id, sequence FROM events ORDER BY aggregate_id, sequence")
            .fetch_all(&mut raw)
            .await
            .unwrap();
    raw.close().await.unwrap();
    rows.iter()
        .map(|r| (r.get("aggregate_id"), r.get("sequence")))
        .collect()
}

async fn positions(db: &common::TestDb) -> Vec<(i64, String, i64)> {
    let mut raw = db.raw().await;
    let rows = sqlx::query("SELECT position, aggregate_id, sequence FROM events ORDER BY position")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();
    rows.iter()
        .map(|r| {
            (
                r.get::<Option<i64>, _>("position").unwrap_or(0),
                r.get("aggregate_id"),
                r.get("sequence"),
            )
        })
        .collect()
}

async fn adopting_a_plain_store_numbers_chains_and_projects_every_event(db: common::TestDb) {
    db.plain_cqrs_es_store(history()).await;

    let report = Store::adopt(&db.url).await.unwrap();
    assert_eq!((report.events, report.complaints), (5, 2), "{report:?}");
    assert_eq!(report.left_as_they_were, vec!["snapshots".to_owned()]);

    // Positions follow the instants the events record; each complaint keeps its order.
    assert_eq!(
        positions(&db).await,
        vec![
            (1, "ADU-B".to_owned(), 1),
            (2, "ADU-A".to_owned(), 1),
            (3, "ADU-B".to_owned(), 2),
            (4, "ADU-A".to_owned(), 2),
            (5, "ADU-B".to_owned(), 3),
        ]
    );

    let store = db.open().await;
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events, 5);
    assert_eq!(
        store.projector().catch_up().await.unwrap(),
        10,
        "5 events, 2 projections (the outbox starts at the adopted head)"
    );
    for id in ["ADU-A", "ADU-B"] {
        let view = projected(&store, id).await;
        assert_eq!(view.state, common::replayed(&store, &cid(id)).await);
    }
    assert_eq!(
        projected(&store, "ADU-B").await.summary.status,
        workflow_core::Status::Reviewed
    );
    let rebuilt = store
        .projector()
        .rebuild("complaints", |_| {})
        .await
        .unwrap();
    assert_eq!(rebuilt, 5);

    // The engine carries on where the old program stopped: the chain links on.
    review("ADU-A", "2026-12-01 10:00", "DISHUB", complete_review())
        .execute(&store, "a3")
        .await
        .unwrap();
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events, 6);
    store.close().await;

    // Adopting twice is refused: it is ours now.
    let err = adopt_is_refused(&db).await;
    assert!(matches!(err, StoreError::NotAdoptable { .. }), "{err}");
}
both!(
    adopt_plain_store,
    adopting_a_plain_store_numbers_chains_and_projects_every_event
);

/// Adds a row to the plain store's events behind cqrs-es's back, `json` its payload and
/// its metadata.
async fn insert_row(db: &common::TestDb, row: (&str, &str, i64, &str, &str), json: &str) {
    let (aggregate_type, id, sequence, event_type, version) = row;
    let json_param = db.json_param(6);
    let mut raw = db.raw().await;
    sqlx::query(&format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ($1, $2, $3, $4, $5, {json_param}, {json_param})"
    ))
    .bind(aggregate_type)
    .bind(id)
    .bind(sequence)
    .bind(event_type)
    .bind(version)
    .bind(json)
    .execute(&mut raw)
    .await
    .unwrap();
    raw.close().await.unwrap();
}

/// Adopting `db` is refused, and leaves its schema as it was: the refusal.
async fn adopt_is_refused(db: &common::TestDb) -> StoreError {
    let schema = db.schema().await;
    let err = Store::adopt(&db.url).await.unwrap_err();
    assert_eq!(db.schema().await, schema, "{err}");
    err
}

/// Adopting `db` is refused as not adoptable, for a reason that names `named`, and its
/// schema is left as it was.
async fn adopt_is_refused_naming(db: &common::TestDb, named: &str) {
    match adopt_is_refused(db).await {
        StoreError::NotAdoptable { reason, .. } => assert!(reason.contains(named), "{reason}"),
        other => panic!("{other}"),
    }
}

async fn adopt_refuses_what_it_cannot_bring_over_and_changes_nothing(db: common::TestDb) {
    db.plain_cqrs_es_store(history()).await;
    insert_row(&db, ("Customer", "C-1", 1, "NameAdded", "1.0"), "{}").await;
    let bytes = files(&db);
    adopt_is_refused_naming(&db, "Customer").await;
    assert_eq!(files(&db), bytes);
    assert_eq!(rows(&db).await.len(), 6);
}
both!(
    adopt_refuses_other_aggregates,
    adopt_refuses_what_it_cannot_bring_over_and_changes_nothing
);

async fn adopt_names_an_event_it_cannot_read(db: common::TestDb) {
    db.plain_cqrs_es_store(history()).await;
    let row = ("complaint", "ADU-A", 3, "Reviewed", "1");
    insert_row(&db, row, r#"{"nonsense": true}"#).await;
    adopt_is_refused_naming(&db, "ADU-A sequence 3").await;
}
both!(adopt_unreadable_event, adopt_names_an_event_it_cannot_read);

/// Complaint ids are checked where they enter, and adopting a store is such a place:
/// an id no route, verb or view could name is refused, and nothing changes.
async fn adopt_refuses_a_complaint_id_that_is_not_one(db: common::TestDb) {
    let mut commands = history();
    commands.truncate(1);
    commands[0].0 = "ADU A/1";
    db.plain_cqrs_es_store(commands).await;
    adopt_is_refused_naming(&db, "complaint id `ADU A/1`").await;
}
both!(adopt_bad_id, adopt_refuses_a_complaint_id_that_is_not_one);

async fn an_adopt_that_fails_midway_leaves_the_store_as_it_was(db: common::TestDb) {
    db.plain_cqrs_es_store(history()).await;
    // A table of the old program's own with a name our first migration needs.
    db.create_foreign("CREATE TABLE settings (name text PRIMARY KEY)")
        .await;
    let schema = db.schema().await;
    let before = rows(&db).await;
    let bytes = files(&db);
    let err = Store::adopt(&db.url).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration { .. }), "{err}");
    assert_eq!(
        db.schema().await,
        schema,
        "renames, tables and marker rolled back"
    );
    assert_eq!(rows(&db).await, before);
    assert_eq!(files(&db), bytes, "the file is as it was, byte for byte");
    // And the plain store still works for the program that wrote it.
    let err = Store::open(&db.url, ComplaintServices::builtin())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
}
both!(
    adopt_fails_midway,
    an_adopt_that_fails_midway_leaves_the_store_as_it_was
);

async fn adopt_refuses_a_database_that_is_not_a_plain_store(db: common::TestDb) {
    // Nothing there (no file, or an empty database): nothing to adopt, nothing created.
    let err = Store::adopt(&db.url).await.unwrap_err();
    assert!(matches!(err, StoreError::NotAdoptable { .. }), "{err}");
    if let Some(path) = db.sqlite_path() {
        assert!(!path.exists(), "adopt created {}", path.display());
    }
    // Another program's: refused as `open` refuses it.
    db.create_foreign("CREATE TABLE events (id integer PRIMARY KEY)")
        .await;
    let err = adopt_is_refused(&db).await;
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
}
both!(
    adopt_not_a_plain_store,
    adopt_refuses_a_database_that_is_not_a_plain_store
);
