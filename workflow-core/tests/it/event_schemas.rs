//! The JSON Schemas published for tools outside Rust (`docs/schema/events/`) are the
//! ones generated from the event types, and every pinned event JSON of every version
//! (`tests/recorded/vN/`) validates against the schema of its type and version, while a
//! damaged one does not. After an intended change of the events, regenerate with
//! `UPDATE_SCHEMAS=1 cargo test -p workflow-core --test it event_schemas::`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use workflow_core::schema::event_schemas;

/// What brings the published schemas up to date.
const REGENERATE: &str = "UPDATE_SCHEMAS=1 cargo test -p workflow-core --test it event_schemas::";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn published(event_type: &str, version: &str) -> PathBuf {
    repo()
        .join("docs/schema/events")
        .join(format!("{event_type}.v{version}.schema.json"))
}

#[test]
fn the_published_event_schemas_are_the_generated_ones() {
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut expected = BTreeSet::new();
    for (event_type, version, schema) in event_schemas() {
        let path = published(event_type, &version);
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        expected.insert(path.file_name().unwrap().to_owned());
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (regenerate with {REGENERATE})", path.display()));
        assert_eq!(
            on_disk,
            text,
            "{} is stale (regenerate with {REGENERATE})",
            path.display()
        );
    }
    let present: BTreeSet<_> = std::fs::read_dir(repo().join("docs/schema/events"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        present, expected,
        "no schema file without an event version behind it"
    );
}

fn validator(event_type: &str, version: &str) -> jsonschema::Validator {
    let (_, _, schema) = event_schemas()
        .into_iter()
        .find(|(t, v, _)| *t == event_type && v == version)
        .unwrap_or_else(|| panic!("no schema for {event_type} v{version}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{event_type} v{version}: {e}"))
}

#[test]
fn every_recorded_event_of_every_version_validates_against_its_schema() {
    let recorded = repo().join("workflow-core/tests/recorded");
    let mut checked = 0;
    for dir in std::fs::read_dir(&recorded).unwrap() {
        let dir = dir.unwrap().path();
        let version = dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches('v')
            .to_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let event_type = file.file_stem().unwrap().to_string_lossy().into_owned();
            let event: Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let v = validator(&event_type, &version);
            let errors: Vec<String> = v.iter_errors(&event).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:?}", file.display());
            checked += 1;
        }
    }
    assert!(checked >= 28, "only {checked} recorded events");
}

#[test]
fn a_damaged_or_older_event_is_refused_by_the_current_schema() {
    let read = |v: &str, t: &str| -> Value {
        let path = repo().join(format!("workflow-core/tests/recorded/v{v}/{t}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let current = validator("Reviewed", "2");
    assert!(current.is_valid(&read("2", "Reviewed")));
    // Version 1 lacks `clear`: the current schema refuses it, its own accepts it.
    assert!(!current.is_valid(&read("1", "Reviewed")));
    assert!(validator("Reviewed", "1").is_valid(&read("1", "Reviewed")));
    // A missing instant, a body of another type, a wrong field type.
    let mut no_at = read("1", "Disposed");
    no_at.as_object_mut().unwrap().remove("at");
    assert!(!validator("Disposed", "1").is_valid(&no_at));
    assert!(!validator("Disposed", "1").is_valid(&read("1", "Received")));
    let mut bad = read("1", "FeedbackReceived");
    bad["body"]["satisfied"] = Value::String("ya".into());
    assert!(!validator("FeedbackReceived", "1").is_valid(&bad));
}
