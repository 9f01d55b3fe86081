//! The tamper suite, on both backends: the database is changed behind the engine's back
//! with raw SQL, and `verify` must name the exact complaint and sequence. Plus signed
//! checkpoints, time travel and exports verified offline.

use crate::support::{clarify, close, dispose, record_feedback, register, reject, respond, review};
use ed25519_dalek::SigningKey;
use serde_json::Value;
use sqlx::{Executor, Row};
use workflow_core::fixtures::*;
use workflow_core::{Status, StepStatus};
use workflow_store::audit::{
    generate_signing_key, verify_export, Checkpoint, ExportFormat, FailureKind, VerifyReport,
};
use workflow_store::chain::{event_hash, ChainInput, HASH, PREV_HASH};
use workflow_store::testing::{self as common, Backend, TestDb};
use workflow_store::{both, Store};

/// The store on `db`, with three complaints: one disposed, one answered, one rejected.
/// Not support's opening: every failure below is named by these complaints' sequences.
async fn seeded(db: &TestDb) -> Store {
    let store = db.open().await;
    common::play(
        &store,
        vec![
            register("ADU-1", "2026-11-30 08:00"),
            register("ADU-2", "2026-11-30 08:05"),
            register("ADU-3", "2026-11-30 08:10"),
            dispose("ADU-1", "2026-11-30 09:00", "PUPR"),
            dispose("ADU-2", "2026-11-30 09:00", "PUPR"),
            dispose("ADU-3", "2026-11-30 09:00", "DINKES"),
            review("ADU-2", "2026-12-01 09:00", "PUPR", complete_review()),
            clarify("ADU-2", "2026-12-01 10:00", "PUPR"),
            respond("ADU-2", "2026-12-02 10:00", "PUPR"),
            review("ADU-3", "2026-12-01 09:00", "DINKES", incomplete_review()),
            reject("ADU-3", "2026-12-01 09:30", "DINKES"),
        ],
    )
    .await;
    store
}

/// The auditor's key, and the checkpoint of the seeded log it signed on Wednesday noon.
async fn signed_checkpoint(store: &Store) -> (SigningKey, Checkpoint) {
    let key = generate_signing_key().unwrap();
    let checkpoint = store
        .checkpoint(&key, wib("2026-12-02 12:00"), |_| {})
        .await
        .unwrap();
    (key, checkpoint)
}

async fn verify(store: &Store, checkpoint: Option<&Checkpoint>) -> VerifyReport {
    store.verify(checkpoint, None, |_| {}).await.unwrap()
}

fn first(report: &VerifyReport) -> (String, i64, FailureKind) {
    let f = report
        .first_failure()
        .unwrap_or_else(|| panic!("verify passed: {report:?}"));
    (f.complaint_id.clone(), f.sequence, f.kind.clone())
}

/// Asserts that the first failure `report` names is at `complaint`'s `sequence`, of a kind
/// that matches `kind`.
macro_rules! assert_first_failure {
    ($report:expr, $complaint:expr, $sequence:expr, $kind:pat) => {{
        let (id, seq, kind) = first($report);
        assert_eq!((id.as_str(), seq), ($complaint, $sequence));
        assert!(matches!(kind, $kind), "{kind:?}");
    }};
}

/// Opens a raw connection as someone with the database file or a superuser would, and
/// drops the triggers that keep the log append-only.
async fn tamperer(db: &TestDb) -> sqlx::AnyConnection {
    let mut raw = db.raw().await;
    let drops = match db.backend {
        Backend::Sqlite => "DROP TRIGGER events_immutable; DROP TRIGGER events_no_delete;",
        Backend::Postgres => {
            "DROP TRIGGER events_immutable ON events; DROP TRIGGER events_no_delete ON events;"
        }
    };
    raw.execute(drops).await.unwrap();
    raw
}

fn col(db: &TestDb, column: &str) -> String {
    match db.backend {
        Backend::Sqlite => column.to_owned(),
        Backend::Postgres => format!("{column}::text"),
    }
}

async fn read_row(
    db: &TestDb,
    raw: &mut sqlx::AnyConnection,
    id: &str,
    seq: i64,
) -> (String, String, String) {
    let row = sqlx::query(&format!(
        "SELECT event_type, {} AS payload, {} AS metadata FROM events WHERE aggregate_id = $1 AND sequence = $2",
        col(db, "payload"),
        col(db, "metadata")
    ))
    .bind(id)
    .bind(seq)
    .fetch_one(&mut *raw)
    .await
    .unwrap();
    (
        row.get("event_type"),
        row.get("payload"),
        row.get("metadata"),
    )
}

async fn write_row(
    db: &TestDb,
    raw: &mut sqlx::AnyConnection,
    id: &str,
    seq: i64,
    event_type: &str,
    payload: &str,
    metadata: &str,
) {
    sqlx::query(&format!(
        "UPDATE events SET event_type = $1, payload = {}, metadata = {} WHERE aggregate_id = $4 AND sequence = $5",
        db.json_param(2),
        db.json_param(3)
    ))
    .bind(event_type)
    .bind(payload)
    .bind(metadata)
    .bind(id)
    .bind(seq)
    .execute(&mut *raw)
    .await
    .unwrap();
}

async fn an_untouched_log_verifies(db: TestDb) {
    let store = seeded(&db).await;
    let mut seen = Vec::new();
    let report = store.verify(None, None, |p| seen.push(p)).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!((report.events, report.complaints), (11, 3));
    assert_eq!(seen.last().unwrap().events, 11, "progress reaches the end");
}
both!(untouched, an_untouched_log_verifies);

/// A walk reads the log as it stood at one moment: an event another host appends while
/// the walk runs (here after the walk counted the events, before it read them) is in
/// neither the count nor the rows, so the report holds as many events as its progress
/// announced; the next walk has it.
async fn a_walk_reads_the_log_as_it_stood_at_one_moment(db: TestDb) {
    let store = seeded(&db).await;
    let mut announced = None;
    let report = store
        .verify(None, None, |p| {
            if announced.is_none() {
                announced = Some(p.total);
                append_elsewhere(&db.url);
            }
        })
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        Some(report.events),
        announced,
        "the events walked, against the count announced before the first"
    );
    let again = verify(&store, None).await;
    assert_eq!(
        again.events,
        report.events + 1,
        "the next walk has the event appended meanwhile"
    );
    store.close().await;
}
both!(one_moment, a_walk_reads_the_log_as_it_stood_at_one_moment);

/// ADU-1's liaison officer reviews it through a store of its own, on a thread and
/// runtime of its own (another host), while the caller's thread waits.
fn append_elsewhere(url: &str) {
    let url = url.to_owned();
    crate::support::on_a_thread_of_its_own(move || async move {
        let other = Store::open(&url, workflow_store::SettingsSource::Stored).await?;
        let executed = review("ADU-1", "2026-12-01 09:00", "PUPR", complete_review())
            .execute(&other, "elsewhere-1")
            .await;
        other.close().await;
        executed.map(|_| ())
    })
    .unwrap();
}

/// A watcher of a walk (the console's verification page) knows its size before the
/// first event, and sees it only move forward to the end.
async fn progress_starts_with_the_total_and_moves_forward(db: TestDb) {
    let store = seeded(&db).await;
    for walk in ["verify", "export"] {
        let mut seen = Vec::new();
        match walk {
            "verify" => {
                store.verify(None, None, |p| seen.push(p)).await.unwrap();
            }
            _ => {
                let mut out = Vec::new();
                store
                    .export(None, ExportFormat::Jsonl, &mut out, |p| seen.push(p))
                    .await
                    .unwrap();
            }
        }
        assert_eq!(
            seen.first().map(|p| (p.events, p.total)),
            Some((0, 11)),
            "{walk}: the first report is 0 of the whole: {seen:?}"
        );
        assert!(
            seen.windows(2)
                .all(|w| w[0].events < w[1].events && w[1].total == 11),
            "{walk}: {seen:?}"
        );
        assert_eq!(seen.last().map(|p| p.events), Some(11), "{walk}");
    }
}
both!(
    progress_from_zero,
    progress_starts_with_the_total_and_moves_forward
);

async fn an_edited_payload_is_named(db: TestDb) {
    let store = seeded(&db).await;
    let mut raw = tamperer(&db).await;
    let (t, payload, metadata) = read_row(&db, &mut raw, "ADU-2", 3).await;
    let edited = payload.replace("Data dukung lengkap", "Data dukung TIDAK lengkap");
    assert_ne!(edited, payload);
    write_row(&db, &mut raw, "ADU-2", 3, &t, &edited, &metadata).await;
    let report = verify(&store, None).await;
    assert_first_failure!(&report, "ADU-2", 3, FailureKind::HashMismatch { .. });
}
both!(edited_payload, an_edited_payload_is_named);

/// The walks read a stored payload as it is when it is canonical text; a row whose
/// JSON was rendered again (other white space: the same values) is parsed instead, so
/// it still verifies and exports the same line.
async fn a_re_rendered_row_verifies_and_exports_as_before(db: TestDb) {
    let store = seeded(&db).await;
    let export = |store: Store| async move {
        let mut out = Vec::new();
        store
            .export(None, ExportFormat::Jsonl, &mut out, |_| {})
            .await
            .unwrap();
        (store, String::from_utf8(out).unwrap())
    };
    let (store, before) = export(store).await;
    let mut raw = tamperer(&db).await;
    let (t, payload, metadata) = read_row(&db, &mut raw, "ADU-2", 3).await;
    let value: Value = serde_json::from_str(&payload).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    assert_ne!(pretty, payload);
    write_row(&db, &mut raw, "ADU-2", 3, &t, &pretty, &metadata).await;
    assert_eq!(
        read_row(&db, &mut raw, "ADU-2", 3).await.1,
        pretty,
        "stored as sent"
    );
    let report = verify(&store, None).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events, 11);
    let (store, after) = export(store).await;
    assert_eq!(after, before);
    // The same row with a value changed fails, named, whatever its rendering.
    let changed = pretty.replace("Data dukung lengkap", "Data dukung TIDAK lengkap");
    assert_ne!(changed, pretty);
    write_row(&db, &mut raw, "ADU-2", 3, &t, &changed, &metadata).await;
    let report = verify(&store, None).await;
    assert_first_failure!(&report, "ADU-2", 3, FailureKind::HashMismatch { .. });
}
both!(
    re_rendered,
    a_re_rendered_row_verifies_and_exports_as_before
);

async fn edited_metadata_is_named(db: TestDb) {
    let store = seeded(&db).await;
    let mut raw = tamperer(&db).await;
    let (t, payload, metadata) = read_row(&db, &mut raw, "ADU-2", 2).await;
    let mut m: Value = serde_json::from_str(&metadata).unwrap();
    m["actor"] = "someone.else".into();
    write_row(&db, &mut raw, "ADU-2", 2, &t, &payload, &m.to_string()).await;
    let report = verify(&store, None).await;
    assert_first_failure!(&report, "ADU-2", 2, FailureKind::HashMismatch { .. });
    assert_eq!(
        report.failures_total, 1,
        "one edit, one failure: {report:?}"
    );
}
both!(edited_metadata, edited_metadata_is_named);

async fn a_deleted_event_is_named(db: TestDb) {
    let store = seeded(&db).await;
    let mut raw = tamperer(&db).await;
    sqlx::query("DELETE FROM events WHERE aggregate_id = 'ADU-2' AND sequence = 2")
        .execute(&mut raw)
        .await
        .unwrap();
    let report = verify(&store, None).await;
    assert_first_failure!(&report, "ADU-2", 2, FailureKind::Missing);
}
both!(deleted_event, a_deleted_event_is_named);

async fn an_inserted_event_is_named(db: TestDb) {
    let store = seeded(&db).await;
    let mut raw = tamperer(&db).await;
    // Make room after sequence 1 (highest first, so the key never collides), then slip a
    // copy of the registration in as sequence 2.
    for seq in (2..=5).rev() {
        sqlx::query("UPDATE events SET sequence = sequence + 1 WHERE aggregate_id = 'ADU-2' AND sequence = $1")
            .bind(seq)
            .execute(&mut raw)
            .await
            .unwrap();
    }
    let (t, payload, metadata) = read_row(&db, &mut raw, "ADU-2", 1).await;
    sqlx::query(&format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('complaint', 'ADU-2', 2, $1, '1', {}, {})",
        db.json_param(2),
        db.json_param(3)
    ))
    .bind(t)
    .bind(payload)
    .bind(metadata)
    .execute(&mut raw)
    .await
    .unwrap();
    let report = verify(&store, None).await;
    assert_first_failure!(&report, "ADU-2", 2, FailureKind::BrokenLink { .. });
}
both!(inserted_event, an_inserted_event_is_named);

async fn swapped_events_are_named(db: TestDb) {
    let store = seeded(&db).await;
    let mut raw = tamperer(&db).await;
    let a = read_row(&db, &mut raw, "ADU-2", 2).await;
    let b = read_row(&db, &mut raw, "ADU-2", 3).await;
    write_row(&db, &mut raw, "ADU-2", 2, &b.0, &b.1, &b.2).await;
    write_row(&db, &mut raw, "ADU-2", 3, &a.0, &a.1, &a.2).await;
    let report = verify(&store, None).await;
    assert_first_failure!(&report, "ADU-2", 2, FailureKind::BrokenLink { .. });
}
both!(swapped_events, swapped_events_are_named);

async fn a_truncated_tail_is_caught_by_the_checkpoint(db: TestDb) {
    let store = seeded(&db).await;
    let (_, checkpoint) = signed_checkpoint(&store).await;
    assert_eq!((checkpoint.events, checkpoint.complaints), (11, 3));
    // New work after the checkpoint still extends it.
    for (id, step) in [
        ("feedback", record_feedback("ADU-2", "2026-12-03 09:00")),
        ("later", close("ADU-2", "2026-12-03 09:00")),
    ] {
        step.execute(&store, id).await.unwrap();
    }
    assert!(verify(&store, Some(&checkpoint)).await.ok());

    let mut raw = tamperer(&db).await;
    sqlx::query("DELETE FROM events WHERE aggregate_id = 'ADU-3' AND sequence = 4")
        .execute(&mut raw)
        .await
        .unwrap();
    assert!(
        verify(&store, None).await.ok(),
        "a cut tail leaves a valid chain: only a checkpoint sees it"
    );
    let report = verify(&store, Some(&checkpoint)).await;
    assert_first_failure!(&report, "ADU-3", 4, FailureKind::TruncatedSinceCheckpoint);
}
both!(truncated_tail, a_truncated_tail_is_caught_by_the_checkpoint);

async fn a_rewritten_log_is_caught_by_the_checkpoint(db: TestDb) {
    let store = seeded(&db).await;
    let (key, checkpoint) = signed_checkpoint(&store).await;
    let mut raw = tamperer(&db).await;
    // The forger edits ADU-1's disposition and recomputes the whole chain after it.
    let mut prev = read_row(&db, &mut raw, "ADU-1", 1).await.2;
    prev = serde_json::from_str::<Value>(&prev).unwrap()[HASH]
        .as_str()
        .unwrap()
        .to_owned();
    let (t, payload, metadata) = read_row(&db, &mut raw, "ADU-1", 2).await;
    let mut p: Value = serde_json::from_str(&payload).unwrap();
    p["body"]["agency"] = "DISHUB".into();
    let mut m: Value = serde_json::from_str(&metadata).unwrap();
    m[PREV_HASH] = prev.into();
    m[HASH] = event_hash(&ChainInput {
        aggregate_type: "complaint",
        aggregate_id: "ADU-1",
        sequence: 2,
        event_type: &t,
        event_version: "1",
        payload: &p,
        metadata: &m,
    })
    .into();
    write_row(
        &db,
        &mut raw,
        "ADU-1",
        2,
        &t,
        &p.to_string(),
        &m.to_string(),
    )
    .await;
    assert!(
        verify(&store, None).await.ok(),
        "a consistent forgery passes the chain alone"
    );
    let report = verify(&store, Some(&checkpoint)).await;
    assert_first_failure!(
        &report,
        "ADU-1",
        2,
        FailureKind::DiffersFromCheckpoint { .. }
    );
    // And a checkpoint is refused over a broken log.
    sqlx::query("DELETE FROM events WHERE aggregate_id = 'ADU-2' AND sequence = 2")
        .execute(&mut raw)
        .await
        .unwrap();
    let err = store
        .checkpoint(&key, wib("2026-12-02 13:00"), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ADU-2 sequence 2"), "{err}");
}
both!(rewritten_log, a_rewritten_log_is_caught_by_the_checkpoint);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_checkpoint_file_that_was_altered_or_signed_by_another_key_is_refused() {
    let db = TestDb::new(Backend::Sqlite, "checkpoint_file").await;
    let store = seeded(&db).await;
    let (key, checkpoint) = signed_checkpoint(&store).await;
    checkpoint.check(Some(&key.verifying_key())).unwrap();
    let json = serde_json::to_string(&checkpoint).unwrap();
    let back: Checkpoint = serde_json::from_str(&json).unwrap();
    assert_eq!(back, checkpoint);

    let mut altered = checkpoint.clone();
    altered.heads[0].sequence = workflow_core::Sequence::new(altered.heads[0].sequence.get() - 1);
    assert!(store.verify(Some(&altered), None, |_| {}).await.is_err());
    let mut resigned = checkpoint.clone();
    resigned.created_at = "2030-01-01T00:00:00.000000Z".into();
    assert!(
        resigned.check(None).is_err(),
        "the signature covers every field"
    );
    let other = generate_signing_key().unwrap();
    let forged = Checkpoint::sign(
        &other,
        checkpoint.created_at.clone(),
        checkpoint.position,
        checkpoint.events,
        checkpoint.heads.clone(),
    );
    forged.check(None).unwrap();
    assert!(
        forged.check(Some(&key.verifying_key())).is_err(),
        "pinned to the auditor's key"
    );
}

async fn exports_are_reproducible_and_verify_offline(db: TestDb) {
    let store = seeded(&db).await;
    let (key, checkpoint) = signed_checkpoint(&store).await;
    for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
        let mut first = Vec::new();
        let n = store
            .export(None, format, &mut first, |_| {})
            .await
            .unwrap();
        assert_eq!(n, 11);
        let mut second = Vec::new();
        store
            .export(None, format, &mut second, |_| {})
            .await
            .unwrap();
        assert_eq!(
            first, second,
            "{format:?} exports are byte for byte the same"
        );
        let report = verify_export(
            first.as_slice(),
            format,
            Some(&checkpoint),
            Some(&key.verifying_key()),
        )
        .unwrap();
        assert!(report.ok(), "{format:?}: {report:?}");
        assert_eq!(report.events, 11);

        // An edit in the file is found offline, naming the event.
        let text = String::from_utf8(first).unwrap();
        let tampered = text.replacen("Lokasi tidak jelas", "Lokasi jelas", 1);
        assert_ne!(tampered, text);
        let report = verify_export(tampered.as_bytes(), format, None, None).unwrap();
        let f = report.first_failure().unwrap();
        assert_eq!(
            (f.complaint_id.as_str(), f.sequence),
            ("ADU-3", 3),
            "{format:?}"
        );
    }
    let mut one = Vec::new();
    assert_eq!(
        store
            .export(Some("ADU-2"), ExportFormat::Jsonl, &mut one, |_| {})
            .await
            .unwrap(),
        5
    );
    let lines: Vec<Value> = one
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["complaint_id"] == "ADU-2"));
    let sequences: Vec<i64> = lines
        .iter()
        .map(|l| l["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5]);
}
both!(exports, exports_are_reproducible_and_verify_offline);

/// The status of `id`'s review clock as of Friday 4 December, from its history.
async fn review_on_friday(store: &Store, id: &str) -> StepStatus {
    let history = store.history(&cid(id), wib("2026-12-04 09:00")).await;
    let sla = history.unwrap().sla;
    let review = sla.iter().find(|a| a.step == workflow_core::Step::Review);
    review.unwrap().status
}

async fn history_rebuilds_any_instant_from_the_log(db: TestDb) {
    let store = seeded(&db).await;
    let cases = [
        ("2026-11-30 08:30", Status::Received, 1),
        ("2026-11-30 12:00", Status::Disposed, 2),
        ("2026-12-01 09:10", Status::Reviewed, 3),
        ("2026-12-03 00:00", Status::Responded, 5),
    ];
    for (at, status, n) in cases {
        let h = store.history(&cid("ADU-2"), wib(at)).await.unwrap();
        assert_eq!(
            (h.state.status(), h.events.len(), h.total_events),
            (status, n, 5),
            "as of {at}"
        );
    }
    assert_eq!(review_on_friday(&store, "ADU-2").await, StepStatus::Done);
    assert_eq!(
        review_on_friday(&store, "ADU-1").await,
        StepStatus::Breached,
        "ADU-1 was never reviewed"
    );
    assert!(matches!(
        store
            .history(&cid("ADU-404"), wib("2026-12-04 09:00"))
            .await,
        Err(workflow_store::StoreError::NotFound(_))
    ));
}
both!(history, history_rebuilds_any_instant_from_the_log);

/// The log of identity reads for the auditors: newest first, of one complaint or by one
/// reader, a page at a time, every read on exactly one page.
async fn the_identity_read_log_pages_and_filters(db: TestDb) {
    let store = seeded(&db).await;
    let readers = [upp(), apip(), upp(), coordinator(), upp()];
    for (i, reader) in readers.iter().enumerate() {
        let complaint = if i % 2 == 0 { "ADU-1" } else { "ADU-2" };
        let at = wib("2026-12-01 09:00") + chrono::Duration::minutes(i as i64);
        store
            .record_identity_read(reader, &cid(complaint), "GET /test", at)
            .await
            .unwrap();
    }
    let page = |c: Option<&'static str>, r: Option<String>, offset, limit| {
        let store = &store;
        async move {
            store
                .identity_read_log(c.map(cid).as_ref(), r.as_deref(), offset, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.complaint_id, r.user))
                .collect::<Vec<_>>()
        }
    };
    let all = page(None, None, 0, 50).await;
    assert_eq!(all.len(), 5);
    assert_eq!(all[0], ("ADU-1".to_owned(), upp().user.0), "newest first");
    assert_eq!(all[1], ("ADU-2".to_owned(), coordinator().user.0));
    let mut paged = page(None, None, 0, 2).await;
    paged.extend(page(None, None, 2, 2).await);
    paged.extend(page(None, None, 4, 2).await);
    assert_eq!(paged, all, "pages of two make the whole, in order");
    assert!(page(None, None, 6, 2).await.is_empty());
    let one = page(Some("ADU-2"), None, 0, 50).await;
    assert_eq!(
        one,
        [
            ("ADU-2".to_owned(), coordinator().user.0),
            ("ADU-2".to_owned(), apip().user.0)
        ]
    );
    let by_upp = page(None, Some(upp().user.0), 0, 50).await;
    assert_eq!(by_upp.len(), 3, "{by_upp:?}");
    let both_filters = page(Some("ADU-2"), Some(upp().user.0), 0, 50).await;
    assert!(both_filters.is_empty(), "{both_filters:?}");
}
both!(identity_read_log, the_identity_read_log_pages_and_filters);

/// The SQLite database of `db` by its file's path, whose walks read straight from
/// SQLite, and through a URL that names its VFS (`unix`, SQLite's default, by name),
/// whose walks read through sqlx.
#[cfg(feature = "sqlite")]
fn both_ways(db: &TestDb) -> [String; 2] {
    [db.url.clone(), format!("{}?vfs=unix", db.url)]
}

/// The store at one of [`both_ways`]'s URLs, checked to read as that URL says.
#[cfg(feature = "sqlite")]
async fn open_reading_as_said(url: &str) -> Store {
    let store = Store::open(url, workflow_store::SettingsSource::Stored)
        .await
        .unwrap();
    assert_eq!(
        store.reads_sqlite_directly(),
        !url.contains("vfs="),
        "{url}"
    );
    store
}

/// The same SQLite database, opened by its file's path (walks read straight from
/// SQLite on a thread of their own) and through a URL that names its VFS (`unix`,
/// SQLite's default, by name: walks then read through sqlx), walks to the same reports and exports, byte for byte, also where a
/// JSON column's text is not UTF-8 (its STRICT table holds nothing but text there):
/// each such row is named, and the walk goes on.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_a_column_that_is_not_text_is_named_and_the_walk_goes_on() {
    let db = TestDb::new(Backend::Sqlite, "walk_not_text").await;
    seeded(&db).await.close().await;
    let mut raw = tamperer(&db).await;
    for (column, id, seq) in [
        ("metadata", "ADU-1", 1),
        ("payload", "ADU-2", 2),
        ("payload", "ADU-3", 3),
    ] {
        raw.execute(
            format!(
                "UPDATE events SET {column} = CAST(X'7b22ff227d' AS TEXT) \
                 WHERE aggregate_id = '{id}' AND sequence = {seq}"
            )
            .as_str(),
        )
        .await
        .unwrap();
    }
    drop(raw);
    let mut walked = Vec::new();
    for url in both_ways(&db) {
        let store = open_reading_as_said(&url).await;
        let report = verify(&store, None).await;
        assert_eq!(report.events, 11, "{url}: every row walked: {report:?}");
        let named: Vec<(&str, i64)> = report
            .failures
            .iter()
            .map(|f| (f.complaint_id.as_str(), f.sequence))
            .collect();
        for at in [("ADU-1", 1), ("ADU-2", 2), ("ADU-3", 3)] {
            assert!(named.contains(&at), "{url}: {at:?} named: {report:?}");
        }
        let mut export = Vec::new();
        store
            .export(None, ExportFormat::Jsonl, &mut export, |_| {})
            .await
            .unwrap();
        let export = String::from_utf8(export).unwrap();
        for why in [
            r#"{"unreadable":"metadata is not UTF-8 text"}"#,
            r#"{"unreadable":"payload is not UTF-8 text"}"#,
        ] {
            assert!(export.contains(why), "{url}: `{why}` in {export}");
        }
        assert_eq!(
            export.matches("is not UTF-8 text").count(),
            3,
            "{url}: {export}"
        );
        let raw_events = store.raw_events("ADU-2").await.unwrap();
        assert_eq!(raw_events.len(), 5, "{url}");
        assert_eq!(
            raw_events[1].payload,
            Err("payload is not UTF-8 text".to_owned()),
            "{url}"
        );
        walked.push((format!("{:?}", report.failures), export));
        store.close().await;
    }
    assert_eq!(walked[0], walked[1], "read by path, and through sqlx");
}

/// A walk that meets a row it cannot read at all (an event type whose text is not
/// UTF-8) fails, naming the column, rather than ending
/// there as if the log ended: opened by its file's path, where the rows come from a
/// thread of their own whose error ends them, as through a URL that names its VFS
/// (`unix`), where they come through sqlx.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_a_walk_fails_at_a_row_it_cannot_read() {
    let db = TestDb::new(Backend::Sqlite, "walk_unreadable").await;
    seeded(&db).await.close().await;
    let mut raw = tamperer(&db).await;
    raw.execute("UPDATE events SET event_type = CAST(X'ff' AS TEXT) WHERE aggregate_id = 'ADU-2' AND sequence = 3")
        .await
        .unwrap();
    drop(raw);
    for url in both_ways(&db) {
        let store = open_reading_as_said(&url).await;
        let err = store.verify(None, None, |_| {}).await.unwrap_err();
        assert!(err.to_string().contains("event_type"), "{url}: {err}");
        let mut out = Vec::new();
        let err = store
            .export(None, ExportFormat::Jsonl, &mut out, |_| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains("event_type"), "{url}: {err}");
        store.close().await;
    }
}
