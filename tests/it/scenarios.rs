//! Complaints walked through the engine end to end on the real stores (a SQLite file and
//! a PostgreSQL database), reading back what an auditor reads: the stored events with
//! their metadata and hash chain, the views, and the state rebuilt as of earlier instants.

use chrono::{DateTime, Utc};
use workflow_core::complaint::command::{Closure, ComplaintCommand as C};
use workflow_core::fixtures::*;
use workflow_core::{Complaint, Status};
use workflow_store::chain::{HASH, PREV_HASH};
use workflow_store::testing::TestDb;
use workflow_store::{both, metadata_keys};

async fn the_whole_sop_and_its_history_as_of_any_instant(db: TestDb) {
    let store = db.open().await;
    let steps: Vec<(&str, workflow_core::Actor, C)> = vec![
        ("2026-11-30 08:30", upp(), C::Register(registration())),
        ("2026-11-30 10:00", upp(), C::Dispose(disposition("PUPR"))),
        (
            "2026-12-01 09:00",
            liaison("PUPR"),
            C::Review(complete_review()),
        ),
        (
            "2026-12-01 14:00",
            liaison("PUPR"),
            C::Clarify(clarification(true)),
        ),
        (
            "2026-12-03 11:00",
            liaison("PUPR"),
            C::VerifyInField(field_visit("2026-12-03")),
        ),
        (
            "2026-12-04 09:00",
            liaison("PUPR"),
            C::IssueBa(berita_acara("PUPR", "2026-12-04")),
        ),
        (
            "2026-12-04 13:00",
            liaison("PUPR"),
            C::Respond(response_text()),
        ),
        ("2026-12-07 07:30", upp(), C::RecordFeedback(feedback(true))),
        ("2026-12-07 08:00", upp(), C::Close(Closure::default())),
    ];
    let mut instants: Vec<DateTime<Utc>> = Vec::new();
    for (i, (at, actor, command)) in steps.into_iter().enumerate() {
        let now = wib(at);
        instants.push(now);
        store
            .engine()
            .execute(
                &cid("ADU-1"),
                cmd(&format!("req-{i}"), actor, now, command),
                Some("scenario"),
            )
            .await
            .unwrap();
    }
    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    assert_eq!(events.len(), 9);
    assert!(events
        .iter()
        .all(|e| e.metadata[metadata_keys::CORRELATION_ID] == "scenario"));
    for pair in events.windows(2) {
        assert_eq!(
            pair[1].metadata[PREV_HASH], pair[0].metadata[HASH],
            "the chain links"
        );
    }

    // As of each instant, the rebuilt state is the state after that many events.
    let expected = [
        Status::Received,
        Status::Disposed,
        Status::Reviewed,
        Status::Clarified,
        Status::FieldVerified,
        Status::BaIssued,
        Status::Responded,
        Status::Responded, // the complainant's feedback is recorded
        Status::Closed,
    ];
    for (instant, status) in instants.iter().zip(expected) {
        let as_of = Complaint::from_events(
            events
                .iter()
                .map(|e| &e.payload)
                .filter(|e| e.at <= *instant),
        );
        assert_eq!(as_of.status(), status, "as of {instant}");
    }

    store.projector().catch_up().await.unwrap();
    let view = store.views().detail(&cid("ADU-1")).await.unwrap().unwrap();
    assert_eq!(view.summary.status, Status::Closed);
    assert_eq!(
        view.state,
        store.engine().load(&cid("ADU-1")).await.unwrap()
    );
    let board = store
        .views()
        .sla_board(wib("2026-12-08 09:00"), None, None)
        .await
        .unwrap();
    assert!(
        board.is_empty(),
        "a closed complaint has no running duty: {board:?}"
    );
}
both!(whole_sop, the_whole_sop_and_its_history_as_of_any_instant);
