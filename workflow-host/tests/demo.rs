//! `aduan demo` runs the real binary: it must exit 0, print the timeline for people and
//! a JSON document for programs that covers every path of the SOP.

use std::process::Command;

fn aduan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_aduan"))
        .args(args)
        .output()
        .expect("the aduan binary runs")
}

#[test]
fn the_demo_prints_a_timeline_through_the_whole_sop() {
    let out = aduan(&["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for event_type in [
        "Received",
        "Disposed",
        "Reviewed",
        "Clarified",
        "FieldVerified",
        "BAIssued",
        "Responded",
        "Closed",
    ] {
        assert!(
            text.contains(event_type),
            "timeline lacks {event_type}:\n{text}"
        );
    }
    assert!(text.contains("SLA clocks as of"));
}

#[test]
fn the_demo_json_covers_every_path_of_the_sop() {
    let out = aduan(&["demo", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let complaints = doc["complaints"].as_array().unwrap();
    let mut event_types: Vec<&str> = complaints
        .iter()
        .flat_map(|c| c["events"].as_array().unwrap())
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    event_types.sort_unstable();
    event_types.dedup();
    let every: Vec<&str> = workflow_core::complaint::event::EVENT_TYPES.to_vec();
    for t in &every {
        assert!(event_types.contains(t), "the demo never shows {t}");
    }
    let statuses: Vec<&str> = complaints
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"closed") && statuses.contains(&"rejected"));
    let breached = complaints
        .iter()
        .flat_map(|c| c["sla"].as_array().unwrap())
        .filter(|a| a["status"] == "breached")
        .count();
    assert!(breached > 0, "the demo should show overdue work");
}

#[test]
fn an_unknown_verb_fails_with_a_reason() {
    let out = aduan(&["frobnicate"]);
    assert!(!out.status.success());
    assert!(!out.stderr.is_empty());
}
