//! Bad input to the store: a clear, typed error and nothing half-written.

use crate::support::{
    dispose, new_complaint, open_refused, projected, register, reject, review, store_one_complaint,
};
use workflow_store::{both, testing as common};

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use sqlx::Row;
use workflow_core::fixtures::*;
use workflow_core::{ComplaintServices, EventBody, Status};
use workflow_store::{Store, StoreError};

#[tokio::test]
async fn a_url_of_no_known_backend_is_refused() {
    for url in ["mysql://localhost/aduan", "aduan.db", "sqlite::memory:"] {
        let err = open_refused(url).await;
        assert!(matches!(err, StoreError::BadUrl { .. }), "{url}: {err}");
    }
}

/// A build with one backend refuses the other's URLs before connecting, and says which
/// feature would have them.
#[cfg(not(feature = "postgres"))]
#[tokio::test]
async fn a_postgres_url_is_refused_by_a_build_without_postgres() {
    let err = open_refused("postgres://aduan:s3cret@127.0.0.1/aduan").await;
    let StoreError::BadUrl { url, reason } = &err else {
        panic!("not BadUrl: {err:?}");
    };
    assert_eq!(url, "postgres://aduan:***@127.0.0.1/aduan");
    assert_eq!(
        reason,
        "this build has no PostgreSQL support; enable the `postgres` feature"
    );
}

/// The converse: a build without SQLite refuses `sqlite://` and creates no file.
#[cfg(not(feature = "sqlite"))]
#[tokio::test]
async fn a_sqlite_url_is_refused_by_a_build_without_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aduan.db");
    let err = open_refused(&format!("sqlite://{}", path.display())).await;
    let StoreError::BadUrl { reason, .. } = &err else {
        panic!("not BadUrl: {err:?}");
    };
    assert_eq!(
        reason,
        "this build has no SQLite support; enable the `sqlite` feature"
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn a_password_in_a_bad_url_is_not_repeated() {
    let err = open_refused("postgres://aduan:s3cret@127.0.0.1:1/x?sslmode=bogus").await;
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_read_only_sqlite_database_is_unavailable_not_half_written() {
    let db = common::TestDb::new(common::Backend::Sqlite, "ro").await;
    store_one_complaint(&db).await;
    let err = open_refused(&format!("{}?mode=ro", db.url)).await;
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    // The driver's error is kept, typed: SQLITE_READONLY (8, or an extended code of it).
    let code =
        common::database_code(&err).unwrap_or_else(|| panic!("no database error in {err:?}"));
    assert_eq!(code.parse::<u32>().unwrap() & 0xff, 8, "{err:?}");
    let store = db.open().await;
    assert_eq!(store.engine().events(&cid("ADU-1")).await.unwrap().len(), 1);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_missing_sqlite_folder_is_unavailable() {
    let err = open_refused("sqlite:///nonexistent-folder/sub/aduan.db").await;
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    // SQLITE_CANTOPEN (14), as the driver said it.
    let code =
        common::database_code(&err).unwrap_or_else(|| panic!("no database error in {err:?}"));
    assert_eq!(code.parse::<u32>().unwrap() & 0xff, 14, "{err:?}");
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_missing_postgres_database_is_unavailable() {
    let server = common::server_url();
    let url = format!(
        "{}/aduan_no_such_database",
        &server[..server.rfind('/').unwrap()]
    );
    let err = open_refused(&url).await;
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert_eq!(
        common::database_code(&err).as_deref(),
        Some("3D000"),
        "invalid_catalog_name, as the server said it: {err:?}"
    );
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn an_unreachable_postgres_server_is_unavailable() {
    let err = open_refused("postgres://aduan:aduan@127.0.0.1:9/aduan").await;
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    // The refused connection, down to the operating system's error.
    let io = common::cause::<std::io::Error>(&err)
        .unwrap_or_else(|| panic!("no io::Error in the source chain of {err:?}"));
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused, "{err:?}");
    assert!(matches!(
        common::cause::<sqlx::Error>(&err),
        Some(sqlx::Error::Io(_))
    ));
}

async fn insert_raw(
    db: &common::TestDb,
    id: &str,
    sequence: i64,
    event_type: &str,
    version: &str,
    payload: &str,
) {
    let mut raw = db.raw().await;
    sqlx::query(&format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('complaint', $1, $2, $3, $4, {}, '{{}}')",
        db.json_param(5)
    ))
    .bind(id)
    .bind(sequence)
    .bind(event_type)
    .bind(version)
    .bind(payload)
    .execute(&mut raw)
    .await
    .unwrap();
}

async fn a_poison_event_parks_only_its_complaint_and_resumes_after_a_fix(db: common::TestDb) {
    let store = db.open().await;
    let at = "2026-11-30 09:00";
    new_complaint(&store, "ADU-1").await.unwrap();
    new_complaint(&store, "ADU-OK").await.unwrap();
    // Sequence 2 of ADU-1 is valid JSON but no event the engine knows: a `Disposed` of a
    // version 0.9 that named the officer `officer_name`.
    insert_raw(&db, "ADU-1", 2, "Disposed", "0.9", RECORDED_V09_DISPOSED).await;

    let err = store.engine().load(&cid("ADU-1")).await.unwrap_err();
    match &err {
        StoreError::Integrity {
            complaint_id,
            reason,
            ..
        } => {
            assert_eq!(complaint_id, "ADU-1");
            assert!(reason.contains("sequence 2"), "{reason}");
            // Back through cqrs-es's error type with its cause: the JSON decoder's error.
            assert!(
                common::cause::<serde_json::Error>(&err).is_some(),
                "{err:?}"
            );
        }
        other => panic!("expected Integrity, got {other}"),
    }
    let err = dispose("ADU-1", at, "PUPR")
        .execute(&store, "r3")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Integrity { .. }), "{err}");
    let mut raw = db.raw().await;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE aggregate_id = 'ADU-1'")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get("n");
    assert_eq!(n, 2, "nothing written for the refused command");
    let poison_position: i64 =
        sqlx::query("SELECT position FROM events WHERE aggregate_id = 'ADU-1' AND sequence = 2")
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get("position");

    // Other complaints keep working, and the views and the board go on with them: the
    // bad row parks only its own complaint, in every projection, naming the position.
    dispose("ADU-OK", at, "PUPR")
        .execute(&store, "r4")
        .await
        .unwrap();
    store.projector().catch_up().await.unwrap();
    let ok = projected(&store, "ADU-OK").await;
    assert_eq!(ok.summary.status, workflow_core::Status::Disposed);
    let board = store
        .views()
        .sla_board(wib("2026-12-01 09:00"), None, None)
        .await
        .unwrap();
    assert!(
        board.iter().any(|row| row.complaint_id == "ADU-OK"),
        "the board goes on with other complaints: {board:?}"
    );
    for status in store.projector().status().await.unwrap() {
        assert_eq!(status.lag, 0, "{status:?}");
        assert_eq!(status.last_error, None, "{status:?}");
    }
    let parked = store.projector().parked().await.unwrap();
    assert_eq!(
        parked
            .iter()
            .map(|p| (
                p.projection.as_str(),
                p.complaint_id.as_str(),
                p.position.get(),
                p.sequence.get()
            ))
            .collect::<Vec<_>>(),
        vec![
            ("complaints", "ADU-1", poison_position, 2),
            ("outbox", "ADU-1", poison_position, 2),
            ("timeline", "ADU-1", poison_position, 2)
        ]
    );
    assert!(parked[0].reason.contains("Disposed"), "{:?}", parked[0]);
    // The parked complaint's view stays as it was before the bad event.
    let stuck = projected(&store, "ADU-1").await;
    assert_eq!(stuck.summary.status, workflow_core::Status::Received);
    // Resuming without a fix changes nothing and says why.
    let err = store.projector().resume(&cid("ADU-1")).await.unwrap_err();
    assert!(matches!(err, StoreError::Integrity { .. }), "{err}");
    assert_eq!(store.projector().parked().await.unwrap().len(), 3);
    store.close().await;

    // After the fix (an upcaster for version 0.9), the operator resumes the complaint:
    // it is projected again from its first event and leaves the parked list.
    let fixed = open_upcasting(&db, DISPOSED_V09).await;
    assert_eq!(fixed.projector().resume(&cid("ADU-1")).await.unwrap(), 3);
    // The outbox took the disposition it had skipped: its notice is written now.
    let disposed = fixed.outbox(None, 100).await.unwrap();
    assert!(
        disposed
            .iter()
            .any(|m| m.key == "ADU-1/2/disposed/webhook/webhook"),
        "{disposed:?}"
    );
    assert!(fixed.projector().parked().await.unwrap().is_empty());
    let view = projected(&fixed, "ADU-1").await;
    assert_eq!(view.summary.status, workflow_core::Status::Disposed);
    assert_eq!(view.summary.liaison_officer, Some("penghubung.pupr".into()));
    assert_eq!(
        fixed.views().timeline(&cid("ADU-1")).await.unwrap().len(),
        2,
        "the timeline has both events once"
    );
    // Later events of the complaint are projected as usual (after the recorded
    // disposition's 10:00: a complaint's events are in time order).
    review("ADU-1", "2026-11-30 11:00", "PUPR", complete_review())
        .execute(&fixed, "r5")
        .await
        .unwrap();
    fixed.projector().catch_up().await.unwrap();
    assert_eq!(
        fixed.views().timeline(&cid("ADU-1")).await.unwrap().len(),
        3
    );
    assert_eq!(common::snapshot_views(&fixed).await, {
        // The same views as a full rebuild from the log.
        fixed
            .projector()
            .rebuild("complaints", |_| {})
            .await
            .unwrap();
        fixed.projector().rebuild("timeline", |_| {}).await.unwrap();
        common::snapshot_views(&fixed).await
    },);
}

const RECORDED_V09_DISPOSED: &str = r#"{"at":"2026-11-30T03:00:00Z","by":{"user":"sari.upp","role":"upp","agency":null},"command_id":"legacy-9","body":{"type":"Disposed","agency":"PUPR","officer_name":"penghubung.pupr","note":null}}"#;

/// The fix for the row above: version 0.9 of `Disposed` named the officer `officer_name`.
const DISPOSED_V09: DisposedOfficerRenamed = DisposedOfficerRenamed {
    version: "0.9",
    field: "officer_name",
};
both!(
    corrupt_payload,
    a_poison_event_parks_only_its_complaint_and_resumes_after_a_fix
);

/// An older form of `Disposed` that named the liaison officer in another field: its
/// upcaster renames the field, and the log reads as if it were version 1.
struct DisposedOfficerRenamed {
    version: &'static str,
    field: &'static str,
}

impl EventUpcaster for DisposedOfficerRenamed {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == "Disposed" && event_version == self.version
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        if let Some(body) = event
            .payload
            .get_mut("body")
            .and_then(|b| b.as_object_mut())
        {
            if let Some(officer) = body.remove(self.field) {
                body.insert("liaison_officer".into(), officer);
            }
        }
        event.event_version = "1".into();
        event
    }
}

/// A replay that meets a row it cannot read fails, naming the complaint and the row,
/// and the views stay as they were: in the log's order (the outbox) and complaint by
/// complaint (the complaint views), the order each projection replays in.
async fn a_replay_stops_at_an_unreadable_row(db: common::TestDb) {
    let store = db.open().await;
    new_complaint(&store, "ADU-1").await.unwrap();
    new_complaint(&store, "ADU-OK").await.unwrap();
    insert_raw(&db, "ADU-1", 2, "Disposed", "0.9", RECORDED_V09_DISPOSED).await;
    store.projector().catch_up().await.unwrap();
    let before = common::snapshot_views(&store).await;
    for projection in ["complaints", "outbox"] {
        let err = store
            .projector()
            .rebuild(projection, |_| {})
            .await
            .unwrap_err();
        match &err {
            StoreError::Integrity {
                complaint_id,
                reason,
                ..
            } => {
                assert_eq!(complaint_id, "ADU-1", "{projection}");
                assert!(
                    reason.contains("sequence 2 (Disposed v0.9)"),
                    "{projection}: {reason}"
                );
            }
            other => panic!("{projection}: expected Integrity, got {other:?}"),
        }
    }
    assert_eq!(common::snapshot_views(&store).await, before);
    // Read again through the upcaster that fixes the row, the same replays go through.
    store.close().await;
    let fixed = open_upcasting(&db, DISPOSED_V09).await;
    for projection in ["complaints", "outbox"] {
        fixed.projector().rebuild(projection, |_| {}).await.unwrap();
    }
    let view = projected(&fixed, "ADU-1").await;
    assert_eq!(view.summary.status, workflow_core::Status::Disposed);
    fixed.close().await;
}

both!(replay_unreadable_row, a_replay_stops_at_an_unreadable_row);

/// An embedder's upcaster with a defect: it panics while `armed`, and upcasts
/// `Disposed` of version 0.9 otherwise.
struct PanicsWhenArmed {
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl EventUpcaster for PanicsWhenArmed {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        DISPOSED_V09.can_upcast(event_type, event_version)
    }

    fn upcast(&self, event: SerializedEvent) -> SerializedEvent {
        assert!(
            !self.armed.load(std::sync::atomic::Ordering::SeqCst),
            "the upcaster's defect"
        );
        DISPOSED_V09.upcast(event)
    }
}

/// A replay whose reader dies (here an embedder's upcaster panics on the reader's
/// thread) fails, and switches nothing over: the end of its batches is not taken for
/// the end of the log.
async fn a_replay_whose_reader_dies_fails_and_switches_nothing(db: common::TestDb) {
    let store = db.open().await;
    new_complaint(&store, "ADU-1").await.unwrap();
    new_complaint(&store, "ADU-OK").await.unwrap();
    insert_raw(&db, "ADU-1", 2, "Disposed", "0.9", RECORDED_V09_DISPOSED).await;
    store.close().await;
    let armed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let upcasters: Vec<Box<dyn EventUpcaster>> = vec![Box::new(PanicsWhenArmed {
        armed: armed.clone(),
    })];
    let store = Store::open_with_upcasters(&db.url, ComplaintServices::builtin(), upcasters)
        .await
        .unwrap();
    store.projector().catch_up().await.unwrap();
    let before = common::snapshot_views(&store).await;
    assert_eq!(
        projected(&store, "ADU-1").await.summary.status,
        Status::Disposed
    );
    armed.store(true, std::sync::atomic::Ordering::SeqCst);
    for projection in ["complaints", "outbox"] {
        let replayed = store.projector().rebuild(projection, |_| {}).await;
        assert!(
            matches!(&replayed, Err(StoreError::Backend { reason, .. }) if reason.contains("the replay's reader")),
            "{projection}: {replayed:?}"
        );
    }
    armed.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(common::snapshot_views(&store).await, before);
    // The reader mended, the same replays go through.
    for projection in ["complaints", "outbox"] {
        store.projector().rebuild(projection, |_| {}).await.unwrap();
    }
    assert_eq!(common::snapshot_views(&store).await, before);
    store.close().await;
}

both!(
    replay_reader_dies,
    a_replay_whose_reader_dies_fails_and_switches_nothing
);

/// Taking a parked complaint back hands the outbox the complaint's whole history: only
/// the events from where it was parked call for messages. A disposition before that
/// (here one from before the outbox, its messages gone) is not notified again.
async fn resuming_notifies_only_what_was_parked(db: common::TestDb) {
    let store = db.open().await;
    let at = "2026-11-30 09:00";
    new_complaint(&store, "ADU-1").await.unwrap();
    dispose("ADU-1", at, "PUPR")
        .execute(&store, "r2")
        .await
        .unwrap();
    store.projector().catch_up().await.unwrap();
    let mut raw = db.raw().await;
    let removed = sqlx::query("DELETE FROM outbox WHERE complaint_id = 'ADU-1'")
        .execute(&mut raw)
        .await
        .unwrap()
        .rows_affected();
    assert!(removed > 0, "the first disposition had its messages");
    insert_raw(&db, "ADU-1", 3, "Disposed", "0.9", RECORDED_V09_DISPOSED).await;
    store.projector().catch_up().await.unwrap();
    assert_eq!(store.projector().parked().await.unwrap().len(), 3);
    store.close().await;
    let fixed = open_upcasting(&db, DISPOSED_V09).await;
    assert_eq!(fixed.projector().resume(&cid("ADU-1")).await.unwrap(), 3);
    let mut keys: Vec<String> = fixed
        .outbox(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.complaint_id == "ADU-1")
        .map(|m| m.key)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "ADU-1/3/disposed/email/penghubung.pupr",
            "ADU-1/3/disposed/webhook/webhook"
        ]
    );
    fixed.close().await;
}

both!(
    resume_notifies_from_the_parked_event,
    resuming_notifies_only_what_was_parked
);

/// The store on `db`, reading the log through `upcaster`.
async fn open_upcasting(db: &common::TestDb, upcaster: DisposedOfficerRenamed) -> Store {
    let upcasters: Vec<Box<dyn EventUpcaster>> = vec![Box::new(upcaster)];
    Store::open_with_upcasters(&db.url, ComplaintServices::builtin(), upcasters)
        .await
        .unwrap()
}

/// A recorded event in an older form: version 0 of `Disposed` named the officer
/// `officer`.
const DISPOSED_V0: DisposedOfficerRenamed = DisposedOfficerRenamed {
    version: "0",
    field: "officer",
};

const RECORDED_V0_DISPOSED: &str = r#"{"at":"2026-11-30T03:00:00Z","by":{"user":"sari.upp","role":"upp","agency":null},"command_id":"legacy-2","body":{"type":"Disposed","agency":"PUPR","officer":"penghubung.pupr","note":null}}"#;

async fn old_event_versions_are_upcast_on_read(db: common::TestDb) {
    store_one_complaint(&db).await;
    insert_raw(&db, "ADU-1", 2, "Disposed", "0", RECORDED_V0_DISPOSED).await;
    // Without the upcaster the old form is refused, naming it.
    let plain = db.open().await;
    assert!(matches!(
        plain.engine().load(&cid("ADU-1")).await,
        Err(StoreError::Integrity { .. })
    ));
    plain.close().await;

    let store = open_upcasting(&db, DISPOSED_V0).await;
    let state = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(state.status(), Status::Disposed);
    assert_eq!(
        state.disposition().unwrap().liaison_officer.0,
        "penghubung.pupr"
    );
    store.projector().catch_up().await.unwrap();
    assert_eq!(
        projected(&store, "ADU-1").await.summary.liaison_officer,
        Some("penghubung.pupr".into())
    );
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    assert!(matches!(events[1].payload.body, EventBody::Disposed(_)));
}
both!(upcasting, old_event_versions_are_upcast_on_read);

/// A log written before the review asked "clear?" (`Reviewed` version 1) still loads:
/// the domain's upcaster reads it as clear, and the stored row is left as written.
async fn a_version_1_review_in_the_log_reads_as_clear(db: common::TestDb) {
    let store = db.open().await;
    let at = "2026-11-30 09:00";
    common::play(
        &store,
        vec![register("ADU-1", at), dispose("ADU-1", at, "PUPR")],
    )
    .await;
    insert_raw(
        &db,
        "ADU-1",
        3,
        "Reviewed",
        "1",
        r#"{"at":"2026-11-30T03:00:00Z","by":{"user":"penghubung.pupr","role":"liaison","agency":"PUPR"},"command_id":"legacy-3","body":{"type":"Reviewed","complete":false,"missing_items":["foto"],"notes":"belum ada foto"}}"#,
    )
    .await;
    let state = store.engine().load(&cid("ADU-1")).await.unwrap();
    let review = state.last_review().unwrap();
    assert_eq!((review.complete, review.clear), (false, true));
    // Read as clear, it cannot be rejected: the complainant keeps the benefit of doubt
    // (asked after the recorded review's 10:00).
    let err = reject("ADU-1", "2026-11-30 11:00", "PUPR")
        .execute(&store, "c4")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        workflow_core::DomainError::RejectRequiresIncompleteAndUnclearReview.to_string()
    );
    store.projector().catch_up().await.unwrap();
    assert!(store.projector().parked().await.unwrap().is_empty());
    let mut raw = db.raw().await;
    let version: String = sqlx::query(
        "SELECT event_version FROM events WHERE aggregate_id = 'ADU-1' AND sequence = 3",
    )
    .fetch_one(&mut raw)
    .await
    .unwrap()
    .get("event_version");
    assert_eq!(version, "1", "the stored row is left as written");
}
both!(reviewed_v1, a_version_1_review_in_the_log_reads_as_clear);
