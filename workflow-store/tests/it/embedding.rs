//! A projection of an embedding service's own, on both real stores: its tables are
//! created when the store opens, it is applied in commit order beside the engine's with
//! its own checkpoint, a rebuild gives the same rows, and a failing batch of it leaves
//! its rows and checkpoint as they were.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{AnyConnection, Row};
use workflow_core::complaint::command::{ComplaintCommand as C, Registration};
use workflow_core::fixtures::*;
use workflow_core::{ComplaintServices, EventBody};
use workflow_store::projection::{Projection, Target};
use workflow_store::testing::step;
use workflow_store::{both, testing as common};
use workflow_store::{BackendKind, Extensions, Store, StoreError, StoredEvent};

/// Complaints received per category, and the last position seen (to check order).
/// The example service has a projection of the same name and shape; this one is the
/// test's own, as it can be made to fail and checks the order it is applied in, which
/// the example, written for embedders to copy, should not.
#[derive(Default)]
struct PerCategory {
    fail: AtomicBool,
}

#[async_trait]
impl Projection for PerCategory {
    fn name(&self) -> &'static str {
        "per_category"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["per_category"]
    }

    fn schema(&self, _backend: BackendKind, target: Target) -> Vec<String> {
        vec![format!(
            "CREATE TABLE IF NOT EXISTS {} (category TEXT PRIMARY KEY, received BIGINT NOT NULL, \
             last_position BIGINT NOT NULL)",
            target.table("per_category")
        )]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        target: Target,
        events: &[StoredEvent],
        _services: &ComplaintServices,
    ) -> Result<(), StoreError> {
        let table = target.table("per_category");
        for e in events {
            if let EventBody::Received(r) = &e.event.body {
                // Commit order: positions only grow within a category.
                let done: Option<i64> = sqlx::query(&format!(
                    "SELECT last_position FROM {table} WHERE category = $1"
                ))
                .bind(&r.category)
                .fetch_optional(&mut *conn)
                .await?
                .map(|row| row.try_get("last_position"))
                .transpose()?;
                assert!(
                    done.is_none_or(|p| p < e.position.get()),
                    "applied out of order"
                );
                sqlx::query(&format!(
                    "INSERT INTO {table} (category, received, last_position) VALUES ($1, 1, $2) \
                     ON CONFLICT (category) DO UPDATE SET received = {table}.received + 1, \
                     last_position = $2"
                ))
                .bind(&r.category)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::NotFound(
                "a failure of the service's own".into(),
            ));
        }
        Ok(())
    }
}

async fn open(db: &common::TestDb, projection: Arc<PerCategory>) -> Store {
    Store::open_extended(
        &db.url,
        ComplaintServices::builtin(),
        Extensions {
            projections: vec![projection],
            ..Extensions::default()
        },
    )
    .await
    .unwrap()
}

async fn register(store: &Store, id: &str, category: &str) {
    let registration = Registration {
        category: category.into(),
        lapor_id: format!("LAP-{id}"),
        ..registration()
    };
    let command = step(id, "2026-11-30 09:00", upp(), C::Register(registration));
    command.execute(store, id).await.unwrap();
}

async fn counts(store: &Store) -> Vec<(String, i64)> {
    let rows = sqlx::query("SELECT category, received FROM per_category ORDER BY category")
        .fetch_all(store.pool())
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.get("category"), r.get("received")))
        .collect()
}

async fn a_projection_of_the_services_own_runs_beside_the_engines(db: common::TestDb) {
    let projection = Arc::new(PerCategory::default());
    let store = open(&db, Arc::clone(&projection)).await;
    assert!(store.projector().names().contains(&"per_category"));
    for (i, category) in ["jalan", "air", "jalan", "lampu", "jalan"]
        .iter()
        .enumerate()
    {
        register(&store, &format!("ADU-{i}"), category).await;
    }
    store.projector().catch_up().await.unwrap();
    let expected = vec![
        ("air".to_owned(), 1),
        ("jalan".to_owned(), 3),
        ("lampu".to_owned(), 1),
    ];
    assert_eq!(counts(&store).await, expected);
    let status = store.projector().status().await.unwrap();
    let mine = status.iter().find(|s| s.name == "per_category").unwrap();
    assert_eq!((mine.position, mine.lag), (mine.head, 0));

    // A failing batch leaves its rows and its checkpoint as they were.
    register(&store, "ADU-9", "air").await;
    projection.fail.store(true, Ordering::SeqCst);
    assert!(store.projector().run_batch("per_category").await.is_err());
    assert_eq!(counts(&store).await, expected);
    projection.fail.store(false, Ordering::SeqCst);
    store.projector().catch_up().await.unwrap();
    let after = counts(&store).await;
    assert_eq!(
        after[0],
        ("air".to_owned(), 2),
        "applied once, after the failure"
    );

    // A rebuild replays the whole log into the twin and switches over: the same rows.
    store
        .projector()
        .rebuild("per_category", |_| {})
        .await
        .unwrap();
    assert_eq!(counts(&store).await, after);
    store.close().await;

    // Reopening (the tables exist now) works, and the checkpoint is where it was.
    let again = open(&db, Arc::new(PerCategory::default())).await;
    assert_eq!(again.projector().catch_up().await.unwrap(), 0);
    assert_eq!(counts(&again).await, after);
    again.close().await;

    // The engine's own open, without the projection, still accepts the database.
    let plain = db.open().await;
    plain.close().await;
}
both!(
    own_projection,
    a_projection_of_the_services_own_runs_beside_the_engines
);

async fn two_projections_with_one_name_are_refused(db: common::TestDb) {
    let err = Store::open_extended(
        &db.url,
        ComplaintServices::builtin(),
        Extensions {
            projections: vec![
                Arc::new(PerCategory::default()),
                Arc::new(PerCategory::default()),
            ],
            ..Extensions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("per_category"), "{err}");
}
both!(duplicate_name, two_projections_with_one_name_are_refused);
