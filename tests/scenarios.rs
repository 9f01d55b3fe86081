//! Complaints walked through the engine end to end, reading back what an auditor reads:
//! the stored events with their metadata, and the state rebuilt as of earlier instants.

use chrono::{DateTime, Utc};
use workflow_core::complaint::command::{Closure, ComplaintCommand as C};
use workflow_core::fixtures::*;
use workflow_core::{Complaint, ComplaintServices, Status};
use workflow_store::{metadata_keys, Engine, MemoryStore};

#[tokio::test]
async fn a_complaint_walks_the_whole_sop_and_its_history_can_be_read_as_of_any_instant() {
    let engine = Engine::new(
        MemoryStore::<Complaint>::default(),
        ComplaintServices::builtin(),
    );
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
        ("2026-12-07 08:00", upp(), C::Close(Closure::default())),
    ];
    let mut instants: Vec<DateTime<Utc>> = Vec::new();
    for (i, (at, actor, command)) in steps.into_iter().enumerate() {
        let now = wib(at);
        instants.push(now);
        engine
            .execute(
                "ADU-1",
                cmd(&format!("req-{i}"), actor, now, command),
                Some("scenario"),
            )
            .await
            .unwrap();
    }
    let events = engine.events("ADU-1").await.unwrap();
    assert_eq!(events.len(), 8);
    assert!(events
        .iter()
        .all(|e| e.metadata[metadata_keys::CORRELATION_ID] == "scenario"));

    // As of each instant, the rebuilt state is the state after that many events.
    let expected = [
        Status::Received,
        Status::Disposed,
        Status::Reviewed,
        Status::Clarified,
        Status::FieldVerified,
        Status::BaIssued,
        Status::Responded,
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
}
