//! The JSON of every event type is pinned by a recorded file in `tests/recorded/vN/`
//! (N its current version); older versions stay recorded beside them and must upcast.
//! A change to an event's format fails here: either it was unintended, or it needs a
//! new `event_version` and an upcaster for the recorded form. After an intended change
//! of a *new* version, record with
//! `RECORD_EVENTS=1 cargo test -p workflow-core --test it recorded::`.
//!
//! The states those events fold to, one after each, are pinned the same way under
//! `tests/states/` with [`Complaint::STATE_FORMAT`]: a change to the state's
//! JSON or to what an event does to it fails there until the format is raised (stored
//! snapshots of the old format are then not used) and the new states are recorded with
//! `RECORD_STATES=1 cargo test -p workflow-core --test it recorded::`.

use std::path::PathBuf;

use workflow_core::complainant::{Identity, SealedIdentity};
use workflow_core::complaint::command::{
    BreachAnnulment, ClosingReason, ClosingRecord, IdentityErasure, Reassignment, ResponseChannel,
    ResponseText,
};
use workflow_core::complaint::event::{Escalation, ImportRecord, SlaBreach, EVENT_TYPES};
use workflow_core::fixtures::*;
use workflow_core::sla::{JudgedBy, Verdict};
use workflow_core::{Complaint, ComplaintEvent, EventBody as E, LaporStatus, Step};

fn judged_by() -> JudgedBy {
    JudgedBy {
        calendar: "6d1f0c2a9b3e4d57".into(),
        policy: "0a1b2c3d4e5f6071".into(),
    }
}

fn one_of_each() -> Vec<ComplaintEvent> {
    let at = wib("2026-11-30 09:00");
    let by_liaison = |body| event("cmd-7f3a", liaison("PUPR"), at, body);
    vec![
        // As the log holds it: the identity sealed by the store (version 1, recorded
        // beside, has it in plain).
        event("cmd-7f3a", upp(), at, E::Received(sealed_registration())),
        event("cmd-7f3a", upp(), at, E::Disposed(disposition("PUPR"))),
        by_liaison(E::Returned(return_note())),
        by_liaison(E::Reviewed(incomplete_review())),
        by_liaison(E::Rejected(rejection())),
        by_liaison(E::InformationRequested(information_request())),
        event(
            "cmd-7f3a",
            upp(),
            at,
            E::InformationProvided(information_reply()),
        ),
        by_liaison(E::Clarified(clarification(true))),
        by_liaison(E::FieldVerified(field_visit("2026-11-30"))),
        by_liaison(E::BaIssued(berita_acara("PUPR", "2026-11-30"))),
        ComplaintEvent {
            verdicts: vec![Verdict {
                step: Step::Response,
                occurrence: 1,
                due_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
                due_at: wib("2026-12-03 23:59"),
                paused_days: 0,
                late: false,
                judged_by: judged_by(),
            }],
            ..by_liaison(E::Responded(ResponseText {
                channel: ResponseChannel::Letter,
                ..response_text()
            }))
        },
        event(
            "cmd-7f3a",
            upp(),
            at,
            E::Closed(ClosingRecord {
                reason: ClosingReason::Settled,
                note: Some("Pelapor puas".into()),
            }),
        ),
        event(
            "cmd-7f3a",
            system(),
            at,
            E::SlaBreached(SlaBreach {
                step: Step::Review,
                occurrence: 1,
                due_at: wib("2026-12-03 23:59"),
                judged_by: Some(judged_by()),
            }),
        ),
        event(
            "cmd-7f3a",
            upp(),
            at,
            E::Archived(duplicate_of("ADU-2026-0001")),
        ),
        event("cmd-7f3a", upp(), at, E::Withdrawn(withdrawal())),
        event("cmd-7f3a", upp(), at, E::Forwarded(forwarding())),
        event(
            "cmd-7f3a",
            system(),
            at,
            E::DeemedWithdrawn(workflow_core::complaint::event::WindowElapsed {
                occurrence: 1,
                due_at: wib("2026-12-30 23:59"),
            }),
        ),
        event(
            "cmd-7f3a",
            head("PUPR"),
            at,
            E::BaAcknowledged(workflow_core::complaint::command::BaAcknowledgement {
                note: Some("Segera laksanakan penambalan".into()),
            }),
        ),
        by_liaison(E::ProgressReported(progress_report())),
        event("cmd-7f3a", upp(), at, E::FeedbackReceived(feedback(false))),
        event("cmd-7f3a", upp(), at, E::Reopened(reopening())),
        event(
            "cmd-7f3a",
            head("PUPR"),
            at,
            E::Reassigned(Reassignment {
                liaison_officer: "pupr-liaison-2".into(),
                reason: "Petugas sebelumnya dimutasi".into(),
            }),
        ),
        event(
            "cmd-7f3a",
            coordinator(),
            at,
            E::BreachAnnulled(BreachAnnulment {
                step: Step::Review,
                occurrence: 1,
                reason: "Server LAPOR! tidak dapat diakses 1-3 Desember".into(),
            }),
        ),
        event(
            "cmd-7f3a",
            upp(),
            at,
            E::IdentityErased(IdentityErasure {
                legal_basis: "Permintaan pelapor 12/2026, Pasal 8 UU 27/2022".into(),
            }),
        ),
        by_liaison(E::ReturnsEscalated(Escalation { returns: 3 })),
        event(
            "cmd-7f3a",
            upp(),
            at,
            E::Imported(ImportRecord {
                lapor_status: LaporStatus::InFollowUp,
                channel: Some("aplikasi".into()),
                disposed_at: Some(wib("2026-11-27 14:00")),
            }),
        ),
    ]
}

fn sealed_registration() -> workflow_core::complaint::command::Registration {
    let mut r = registration();
    r.complainant.identity = Identity::Sealed {
        sealed: SealedIdentity {
            key_id: "ADU-2026-0001/3f9c2a71d0e4b8a6".into(),
            algorithm: "XChaCha20-Poly1305".into(),
            nonce: "8d1f7c3a9e2b4d6f0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b".into(),
            ciphertext: "5e0c1b2a39486f7d6e5c4b3a29180f7e6d5c4b3a2918f0e1d2c3b4a59687a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4".into(),
        },
    };
    r
}

fn recorded_path(event_type: &str, version: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/recorded/v{version}"))
        .join(format!("{event_type}.json"))
}

#[test]
fn every_event_type_has_a_recorded_form_that_still_matches() {
    let events = one_of_each();
    let types: Vec<&str> = events.iter().map(|e| e.body.event_type()).collect();
    assert_eq!(types, EVENT_TYPES, "one sample per event type, in order");
    for e in events {
        let event_type = e.body.event_type();
        let version = e.body.event_version();
        let json = serde_json::to_string_pretty(&e).unwrap() + "\n";
        let path = recorded_path(event_type, version);
        if std::env::var_os("RECORD_EVENTS").is_some() {
            std::fs::write(&path, &json).unwrap();
            continue;
        }
        let recorded = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert_eq!(json, recorded, "the JSON of {event_type} changed");
        let parsed: ComplaintEvent = serde_json::from_str(&recorded).unwrap();
        assert_eq!(parsed, e, "the recorded {event_type} no longer reads back");
    }
}

/// Every older recorded form still reads, through the domain's upcasters, as the
/// current event it stands for: a response of version 1 went through LAPOR!, a closing
/// of version 1 had no feedback, a breach of version 1 cites no calendar.
#[test]
fn older_responses_closings_and_breaches_are_upcast_to_the_current_version() {
    for (event_type, version) in [("Responded", "1"), ("Closed", "1"), ("SlaBreached", "1")] {
        let old = std::fs::read_to_string(recorded_path(event_type, version)).unwrap();
        let raw: serde_json::Value = serde_json::from_str(&old).unwrap();
        let upcast: ComplaintEvent =
            serde_json::from_value(workflow_core::upcast::to_current(event_type, version, raw))
                .unwrap_or_else(|e| panic!("{event_type} v{version}: {e}"));
        match upcast.body {
            E::Responded(r) => {
                assert_eq!(r.channel, ResponseChannel::Lapor);
                assert_eq!(r.response, response_text().response);
            }
            E::Closed(c) => {
                assert_eq!(c.reason, ClosingReason::NoFeedback);
                assert_eq!(c.note.as_deref(), Some("Pelapor puas"));
            }
            E::SlaBreached(b) => {
                assert_eq!(b.judged_by, None);
                assert_eq!(b.due_at, wib("2026-12-03 23:59"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Every older recorded form still reads, through the domain's upcasters, as the
/// current event it stands for.
#[test]
fn older_recorded_forms_are_upcast_to_the_current_version() {
    let v1 = std::fs::read_to_string(recorded_path("Reviewed", "1")).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&v1).unwrap();
    assert!(
        serde_json::from_value::<ComplaintEvent>(raw.clone()).is_err(),
        "version 1 lacks `clear` and must not read as version 2 by itself"
    );
    let upcast: ComplaintEvent =
        serde_json::from_value(workflow_core::upcast::to_current("Reviewed", "1", raw)).unwrap();
    let mut expected = incomplete_review();
    expected.clear = true; // version 1 asked only "complete?": nothing found unclear
    assert_eq!(upcast.body, E::Reviewed(expected));
    // Current forms pass through unchanged.
    let v2 = std::fs::read_to_string(recorded_path("Reviewed", "2")).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&v2).unwrap();
    assert_eq!(
        workflow_core::upcast::to_current("Reviewed", "2", raw.clone()),
        raw
    );
}

/// The state after each event of two histories, each folded from an empty complaint:
/// the recorded events in order (one of every type), then a registration recorded in
/// plain, returned three times so that its next disposition is escalated, and erased
/// (the branches the first history does not reach).
fn folded_states() -> Vec<Complaint> {
    let at = wib("2026-11-30 09:00");
    let returned = |k: u32| {
        vec![
            event(
                &format!("cmd-d{k}"),
                upp(),
                at,
                E::Disposed(disposition("PUPR")),
            ),
            event(
                &format!("cmd-r{k}"),
                liaison("PUPR"),
                at,
                E::Returned(return_note()),
            ),
        ]
    };
    let mut second = vec![event("cmd-1", upp(), at, E::Received(registration()))];
    for k in 0..3 {
        second.extend(returned(k));
    }
    second.push(event(
        "cmd-e",
        liaison("PUPR"),
        at,
        E::ReturnsEscalated(Escalation { returns: 3 }),
    ));
    second.push(event(
        "cmd-d3",
        coordinator(),
        at,
        E::Disposed(disposition("PUPR")),
    ));
    second.push(event(
        "cmd-x",
        upp(),
        at,
        E::IdentityErased(IdentityErasure {
            legal_basis: "Permintaan pelapor 12/2026, Pasal 8 UU 27/2022".into(),
        }),
    ));
    let mut states = Vec::new();
    for history in [one_of_each(), second] {
        let mut state = Complaint::default();
        for e in &history {
            state.apply_event(e);
            states.push(state.clone());
        }
    }
    states
}

#[test]
fn the_states_the_recorded_events_fold_to_are_pinned_under_the_state_format() {
    let format = Complaint::STATE_FORMAT;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/states/format-{format}.json"));
    let json = serde_json::to_string_pretty(&folded_states()).unwrap() + "\n";
    let recorded = std::fs::read_to_string(&path).ok();
    if std::env::var_os("RECORD_STATES").is_some() {
        // Recording over other states of the same format is the mistake this guards.
        if let Some(recorded) = &recorded {
            assert!(
                &json == recorded,
                "the states differ from those recorded under format {format}: raise \
                 Complaint::STATE_FORMAT before recording"
            );
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &json).unwrap();
        return;
    }
    let recorded = recorded.unwrap_or_else(|| {
        panic!(
            "no states are recorded for state format {format} ({}): record them with \
             RECORD_STATES=1",
            path.display()
        )
    });
    let first_difference = json
        .lines()
        .zip(recorded.lines())
        .position(|(now, then)| now != then);
    assert!(
        json == recorded,
        "the states the recorded events fold to changed under the same state format \
         {format} (first at line {:?}): raise Complaint::STATE_FORMAT (snapshots stored \
         under the old one would be read as the new) and record with RECORD_STATES=1",
        first_difference.map(|line| line + 1)
    );
    let parsed: Vec<Complaint> = serde_json::from_str(&recorded).unwrap();
    assert_eq!(
        parsed,
        folded_states(),
        "the recorded states no longer read back"
    );
}
