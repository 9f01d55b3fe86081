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

use crate::support;

/// Complaints received per category, and the last position seen (to check order).
/// The example service has a projection of the same name and shape; this one is the
/// test's own, as it can be made to fail and checks the order it is applied in, which
/// the example, written for embedders to copy, should not.
#[derive(Default)]
struct PerCategory {
    fail: AtomicBool,
    /// Whether its `schema` also makes an index of its table (`CREATE INDEX IF NOT
    /// EXISTS`, at every open, as an embedding service's would).
    indexed: bool,
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
        let table = target.table("per_category");
        let mut schema = vec![format!(
            "CREATE TABLE IF NOT EXISTS {table} (category TEXT PRIMARY KEY, received BIGINT NOT NULL, \
             last_position BIGINT NOT NULL)"
        )];
        if self.indexed {
            schema.push(format!(
                "CREATE INDEX IF NOT EXISTS {table}_by_received ON {table} (received)"
            ));
        }
        schema
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

/// A projection whose tables and indexes its `schema` makes at each open keeps its
/// twin's indexes through a replay: a replay stopped half-way, and the open after it,
/// must not leave a table of the pair with an index twice or a replay that cannot make
/// its indexes. After an odd number of replays the index named after the twin is on the
/// view and the one named after the view on the twin; each replay and open after that
/// keeps one index on each.
async fn a_replay_stopped_half_way_and_a_reopen_keep_one_index_a_table(db: common::TestDb) {
    let open_indexed = || {
        open(
            &db,
            Arc::new(PerCategory {
                indexed: true,
                ..PerCategory::default()
            }),
        )
    };
    let indexes_on = |table: &'static str| support::secondary_indexes(&db.url, db.backend, table);
    let store = Arc::new(open_indexed().await);
    for (i, category) in ["jalan", "air", "jalan", "lampu"].iter().enumerate() {
        register(&store, &format!("ADU-{i}"), category).await;
    }
    store.projector().catch_up().await.unwrap();
    store
        .projector()
        .rebuild("per_category", |_| {})
        .await
        .unwrap();
    store.projector().set_replay_batch(1);
    support::stop_replay_after_first_batch(&store, "per_category").await;
    Arc::into_inner(store).unwrap().close().await;
    let store = open_indexed().await;
    support::rebuild_when_free(&store, "per_category").await;
    store.close().await;
    let store = open_indexed().await;
    assert_eq!(
        indexes_on("per_category").await.len(),
        1,
        "one index on the view"
    );
    assert_eq!(
        indexes_on("per_category_rebuild").await.len(),
        1,
        "one on its twin"
    );
    store
        .projector()
        .rebuild("per_category", |_| {})
        .await
        .unwrap();
    assert_eq!(indexes_on("per_category").await.len(), 1);
    assert_eq!(indexes_on("per_category_rebuild").await.len(), 1);
    store.close().await;
}
both!(
    own_projection_indexes,
    a_replay_stopped_half_way_and_a_reopen_keep_one_index_a_table
);

/// What a projection was given, in the order it was given it: each event's complaint,
/// sequence and position. It declares whether a replay may give it the log complaint by
/// complaint.
struct Recording {
    name: &'static str,
    tables: &'static [&'static str],
    by_complaint: bool,
    given: std::sync::Mutex<Vec<(String, u64, i64)>>,
}

impl Recording {
    fn new(by_complaint: bool) -> Self {
        let (name, tables): (&'static str, &'static [&'static str]) = if by_complaint {
            ("by_complaint", &["by_complaint"])
        } else {
            ("in_log_order", &["in_log_order"])
        };
        Self {
            name,
            tables,
            by_complaint,
            given: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Vec<(String, u64, i64)> {
        std::mem::take(&mut *self.given.lock().unwrap())
    }
}

#[async_trait]
impl Projection for Recording {
    fn name(&self) -> &'static str {
        self.name
    }

    fn tables(&self) -> &'static [&'static str] {
        self.tables
    }

    fn schema(&self, _backend: BackendKind, target: Target) -> Vec<String> {
        vec![format!(
            "CREATE TABLE IF NOT EXISTS {} (position BIGINT PRIMARY KEY)",
            target.table(self.tables[0])
        )]
    }

    fn replays_by_complaint(&self) -> bool {
        self.by_complaint
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        target: Target,
        events: &[StoredEvent],
        _services: &ComplaintServices,
    ) -> Result<(), StoreError> {
        for e in events {
            sqlx::query(&format!(
                "INSERT INTO {} (position) VALUES ($1)",
                target.table(self.tables[0])
            ))
            .bind(e.position)
            .execute(&mut *conn)
            .await?;
        }
        // What a replay gives it (its live applications are not the question here).
        if target == Target::Live {
            return Ok(());
        }
        self.given.lock().unwrap().extend(events.iter().map(|e| {
            (
                e.complaint_id.as_str().to_owned(),
                e.sequence.get(),
                e.position.get(),
            )
        }));
        Ok(())
    }
}

/// A replay gives a projection that declares it may have them so each complaint's
/// events together, complaint after complaint, each complaint's in their order, every
/// event through the log's head exactly once; then the events appended meanwhile, in
/// log order. A projection that does not declare it is given the log in its order.
async fn a_replay_gives_each_complaints_events_together_when_the_projection_allows_it(
    db: common::TestDb,
) {
    let grouped = Arc::new(Recording::new(true));
    let ordered = Arc::new(Recording::new(false));
    let store = Store::open_extended(
        &db.url,
        ComplaintServices::builtin(),
        Extensions {
            projections: vec![
                Arc::clone(&grouped) as Arc<dyn Projection>,
                Arc::clone(&ordered) as Arc<dyn Projection>,
            ],
            ..Extensions::default()
        },
    )
    .await
    .unwrap();
    // The complaints' events interleaved in the log, as a real log has them.
    let mut steps = crate::support::three_registered_two_reviewed();
    steps.extend([
        crate::support::dispose("ADU-3", "2026-12-01 10:00", "DINKES"),
        crate::support::request_information("ADU-2", "2026-12-01 11:00", "DISHUB"),
        crate::support::clarify("ADU-1", "2026-12-01 12:00", "PUPR"),
    ]);
    common::play(&store, steps).await;
    store.projector().catch_up().await.unwrap();
    let mut log: Vec<(String, u64, i64)> =
        sqlx::query("SELECT aggregate_id, sequence, position FROM events ORDER BY position")
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get("aggregate_id"),
                    r.get::<i64, _>("sequence") as u64,
                    r.get("position"),
                )
            })
            .collect();
    assert_eq!(log.len(), 10);

    // Small batches, so that a complaint's events straddle two of them; after the first
    // batch, two more events are appended: a new complaint that sorts first, and, for
    // the projection given the log complaint by complaint, one more of ADU-3, which
    // sorts last and which its first pass has not read yet. They come after the head
    // the replay began with, so only the catch-up may give them.
    store.projector().set_replay_batch(3);
    let handle = tokio::runtime::Handle::current();
    for projection in [&grouped, &ordered] {
        let name = projection.name;
        let head = log.last().unwrap().2;
        let (suffix, more) = if projection.by_complaint {
            (
                "a",
                crate::support::review("ADU-3", "2026-12-02 09:00", "DINKES", complete_review()),
            )
        } else {
            ("b", crate::support::register("ADU-9", "2026-12-02 09:00"))
        };
        let mut more = Some(more);
        let mut last_progress = None;
        store
            .projector()
            .rebuild(name, |p| {
                last_progress = Some(p);
                if let Some(more) = more.take() {
                    tokio::task::block_in_place(|| {
                        handle.block_on(common::play(
                            &store,
                            vec![
                                crate::support::register(
                                    &format!("ADU-0{suffix}"),
                                    "2026-12-02 08:00",
                                ),
                                more,
                            ],
                        ))
                    });
                }
            })
            .await
            .unwrap();
        let given = projection.take();
        // The events through the head, counted when the replay began; the two appended
        // meanwhile come on top.
        let progress = last_progress.expect("the replay reported its progress");
        assert_eq!(
            (progress.total, progress.events),
            (log.len() as u64, log.len() as u64 + 2),
            "{name}: {progress:?}"
        );
        let (first_pass, catch_up): (Vec<_>, Vec<_>) =
            given.iter().cloned().partition(|e| e.2 <= head);
        assert!(
            given.starts_with(&first_pass),
            "{name}: the catch-up came before the first pass ended: {given:?}"
        );
        let mut appended_now: Vec<_> = catch_up.clone();
        appended_now.sort_by_key(|e| e.2);
        assert_eq!(catch_up, appended_now, "{name}: the catch-up in log order");
        assert_eq!(
            catch_up.len(),
            2,
            "{name}: the two appended events, once each"
        );
        if projection.by_complaint {
            let mut expected = log.clone();
            expected.sort();
            assert_eq!(
                first_pass, expected,
                "{name}: complaint by complaint, each complaint's in order, each once"
            );
        } else {
            assert_eq!(first_pass, log, "{name}: in log order, each once");
        }
        log.extend(catch_up);
        log.sort_by_key(|e| e.2);
        // The other projection's live rows come from its catch-up.
        store.projector().catch_up().await.unwrap();
        let rows: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {name}"))
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get("n");
        assert_eq!(rows, log.len() as i64, "{name}: one row per event");
    }
    store.close().await;
}
both!(
    replay_by_complaint,
    a_replay_gives_each_complaints_events_together_when_the_projection_allows_it
);
