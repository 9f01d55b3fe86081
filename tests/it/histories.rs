//! Recorded histories (`histories/*.jsonl`, one stored event per line, as version 1 of
//! every event type wrote it, read through the domain's upcasters) are replayed on a
//! fresh complaint. What they rebuild — the state and the SLA clocks as of a fixed
//! instant — is pinned in `histories/*.expected.json`. A change to `apply` or to the
//! SLA rules that alters an old complaint's meaning fails here. After an intended change,
//! re-record with `RECORD_HISTORIES=1 cargo test -p workflow-tests --test it histories::`
//! and review the diff.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use workflow_core::fixtures::wib;
use workflow_core::sla::assess;
use workflow_core::{Complaint, ComplaintEvent, SlaPolicy, WorkingCalendar};

fn histories() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("histories");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

fn summary(events: &[ComplaintEvent]) -> Value {
    let state = Complaint::from_events(events);
    let as_of = wib("2026-12-21 10:00");
    let sla = assess(
        state.timeline(),
        &WorkingCalendar::builtin(),
        &SlaPolicy::default(),
        as_of,
    );
    json!({
        "status": state.status(),
        "agency": state.agency(),
        "dispositions": state.dispositions(),
        "events": state.events_applied(),
        "field_visits": state.field_visits().len(),
        "ba": state.ba().map(|b| &b.number),
        "sla_as_of": as_of,
        "sla": sla,
    })
}

#[test]
fn recorded_histories_rebuild_the_pinned_state() {
    let files = histories();
    assert!(files.len() >= 4, "the recorded histories are missing");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let events: Vec<ComplaintEvent> = text
            .lines()
            .enumerate()
            .map(|(i, line)| {
                // Recorded by the first version of every event type: read through the
                // domain's upcasters, as the store reads a log that old.
                let raw: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), i + 1));
                let event_type = raw["body"]["type"].as_str().unwrap_or_default().to_owned();
                serde_json::from_value(workflow_core::upcast::to_current(&event_type, "1", raw))
                    .unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), i + 1))
            })
            .collect();
        let got = serde_json::to_string_pretty(&summary(&events)).unwrap() + "\n";
        let expected_path = file.with_extension("expected.json");
        if std::env::var_os("RECORD_HISTORIES").is_some() {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        assert_eq!(got, expected, "{} rebuilds differently", file.display());
    }
}
