//! What goes back to LAPOR!: the follow-ups of the log in batches, on both real stores.
//! Each follow-up is in exactly one batch, in log order, with its report's tracking
//! number; a batch is read again as it was made; `since` leaves out what came before
//! it for good; two exports at once never share a follow-up.

use std::collections::BTreeSet;

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_store::lapor::{FollowUp, FollowUpKind};
use workflow_store::testing::{play, step, TestDb};
use workflow_store::{both, Store};

use crate::support::{clarify, close, dispose, record_feedback, register, respond, review};

fn progress(complaint: &str, at: &str) -> workflow_store::testing::Step {
    step(
        complaint,
        at,
        liaison("PUPR"),
        C::ReportProgress(progress_report()),
    )
}

/// `complaint` from registration to closing: a progress update, a response and a
/// closing are its three follow-ups.
async fn settled(store: &Store, complaint: &str) {
    play(
        store,
        vec![
            register(complaint, "2026-11-30 09:00"),
            dispose(complaint, "2026-11-30 10:00", "PUPR"),
            review(complaint, "2026-11-30 11:00", "PUPR", complete_review()),
            progress(complaint, "2026-11-30 11:30"),
            clarify(complaint, "2026-11-30 12:00", "PUPR"),
            respond(complaint, "2026-11-30 13:00", "PUPR"),
            record_feedback(complaint, "2026-11-30 14:00"),
            close(complaint, "2026-11-30 15:00"),
        ],
    )
    .await;
}

fn kinds(rows: &[FollowUp]) -> Vec<(String, FollowUpKind)> {
    rows.iter()
        .map(|f| (f.complaint_id.to_string(), f.kind))
        .collect()
}

async fn every_follow_up_is_in_exactly_one_batch_in_log_order(db: TestDb) {
    let store = db.open().await;
    let now = wib("2026-12-01 09:00");
    assert!(
        store
            .new_lapor_export(None, "sari.upp", now)
            .await
            .unwrap()
            .is_none(),
        "an empty log makes no batch"
    );
    settled(&store, "ADU-1").await;
    let (first, rows) = store
        .new_lapor_export(None, "sari.upp", now)
        .await
        .unwrap()
        .expect("a batch");
    assert_eq!(first.number, 1);
    assert_eq!(
        kinds(&rows),
        [
            ("ADU-1".into(), FollowUpKind::Progress),
            ("ADU-1".into(), FollowUpKind::Response),
            ("ADU-1".into(), FollowUpKind::Closing),
        ]
    );
    // The registration's tracking number, and the texts as recorded.
    assert!(rows.iter().all(|f| f.lapor_id == registration().lapor_id));
    assert_eq!(rows[0].text, progress_report().text);
    assert_eq!(rows[0].agency.as_deref(), Some("PUPR"));
    assert_eq!(rows[0].at, wib("2026-11-30 11:30"));
    assert!(
        rows[2].text.starts_with("Selesai: pelapor puas"),
        "{}",
        rows[2].text
    );
    // Nothing new: no batch.
    assert!(store
        .new_lapor_export(None, "sari.upp", now)
        .await
        .unwrap()
        .is_none());
    // The next batch holds only what came after the first.
    settled(&store, "ADU-2").await;
    let (second, rows2) = store
        .new_lapor_export(None, "sari.upp", now)
        .await
        .unwrap()
        .expect("a second batch");
    assert_eq!(second.number, 2);
    assert_eq!(second.after, first.through);
    assert_eq!(rows2.len(), 3);
    assert!(rows2.iter().all(|f| f.complaint_id.as_str() == "ADU-2"));
    // A batch read again is the batch as made.
    let (again, rows_again) = store.lapor_export(1).await.unwrap().unwrap();
    assert_eq!(again, first);
    assert_eq!(rows_again, rows);
    assert!(store.lapor_export(3).await.unwrap().is_none());
    assert_eq!(store.lapor_exports().await.unwrap(), [first, second]);
    store.close().await;
}

both!(
    follow_ups_go_in_one_batch_each,
    every_follow_up_is_in_exactly_one_batch_in_log_order
);

async fn since_leaves_out_what_came_before_it_for_good(db: TestDb) {
    let store = db.open().await;
    let now = wib("2026-12-01 09:00");
    settled(&store, "ADU-1").await;
    let (batch, rows) = store
        .new_lapor_export(Some(wib("2026-11-30 12:30")), "sari.upp", now)
        .await
        .unwrap()
        .unwrap();
    // The progress update (11:30) is before `since`; the response and closing after.
    assert_eq!(
        rows.iter().map(|f| f.kind).collect::<Vec<_>>(),
        [FollowUpKind::Response, FollowUpKind::Closing]
    );
    assert_eq!(batch.since, Some(wib("2026-11-30 12:30")));
    assert_eq!(batch.follow_ups, 2);
    // Read again, the batch applies its own `since`.
    assert_eq!(store.lapor_export(1).await.unwrap().unwrap().1, rows);
    // And the next batch does not bring the progress update back.
    settled(&store, "ADU-2").await;
    let (_, next) = store
        .new_lapor_export(None, "sari.upp", now)
        .await
        .unwrap()
        .unwrap();
    assert!(next.iter().all(|f| f.complaint_id.as_str() == "ADU-2"));
    store.close().await;
}

both!(
    since_leaves_out_for_good,
    since_leaves_out_what_came_before_it_for_good
);

async fn two_exports_at_once_never_share_a_follow_up(db: TestDb) {
    let store = std::sync::Arc::new(db.open().await);
    let now = wib("2026-12-01 09:00");
    let mut all = BTreeSet::new();
    for round in 0..4 {
        settled(&store, &format!("ADU-{round}")).await;
        let (a, b) = tokio::join!(
            store.new_lapor_export(None, "sari.upp", now),
            store.new_lapor_export(None, "rudi.upp", now)
        );
        let mut in_round = Vec::new();
        for result in [a, b] {
            // One of the two may be refused (the other took the range); none may
            // hand out a follow-up the other handed out.
            if let Ok(Some((_, rows))) = result {
                in_round.extend(rows.into_iter().map(|f| f.position));
            }
        }
        assert_eq!(in_round.len(), 3, "round {round}: {in_round:?}");
        for p in in_round {
            assert!(all.insert(p), "position {p} exported twice");
        }
    }
    // And every batch made, read again, holds what was handed out, once.
    let mut read_again = Vec::new();
    for batch in store.lapor_exports().await.unwrap() {
        let (_, rows) = store.lapor_export(batch.number).await.unwrap().unwrap();
        read_again.extend(rows.into_iter().map(|f| f.position));
    }
    assert_eq!(read_again.into_iter().collect::<BTreeSet<_>>(), all);
    store.close().await;
}

both!(
    exports_at_once_never_share,
    two_exports_at_once_never_share_a_follow_up
);
