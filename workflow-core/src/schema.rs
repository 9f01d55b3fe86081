//! JSON Schemas of the events, for tools outside Rust (an auditor's verifier, a data
//! warehouse loading an export): one schema per event type and version, generated from
//! the same types that write the log, so they cannot drift from it. Published in
//! `docs/schema/` and checked against the pinned event JSON in the tests.
//!
//! A schema describes one event's JSON as stored in the log's `payload` column and in
//! exports: `{"at", "by", "command_id", "body": {"type": …, …}, "verdicts"?}`. Older
//! versions are the current schema less the fields their upcast adds
//! ([`crate::upcast::ADDED_FIELDS`]); a version that a later one only widened
//! ([`crate::upcast::WIDENED`]) has the later one's schema, which its events satisfy.

use serde_json::{json, Map, Value};

use crate::complaint::event::{ComplaintEvent, EVENT_TYPES};
use crate::upcast::{ADDED_FIELDS, WIDENED};

/// The JSON Schema (draft 2020-12) of every event type in every version this engine
/// reads: `(event type, version, schema)`, current versions first, in SOP order.
pub fn event_schemas() -> Vec<(&'static str, String, Value)> {
    let root = serde_json::to_value(schemars::schema_for!(ComplaintEvent)).unwrap_or_default();
    let mut out = Vec::new();
    for event_type in EVENT_TYPES {
        let version = current_version(event_type);
        out.push((
            event_type,
            version.clone(),
            for_type(&root, event_type, &version, &[]),
        ));
    }
    // Older versions: the current schema less what each later upcast added.
    for added in ADDED_FIELDS.iter().rev() {
        let later: Vec<&str> = ADDED_FIELDS
            .iter()
            .filter(|a| a.event_type == added.event_type && a.from >= added.from)
            .map(|a| a.field)
            .collect();
        out.push((
            added.event_type,
            added.from.to_owned(),
            for_type(&root, added.event_type, added.from, &later),
        ));
    }
    for widened in WIDENED {
        out.push((
            widened.event_type,
            widened.from.to_owned(),
            for_type(&root, widened.event_type, widened.from, &[]),
        ));
    }
    out
}

fn current_version(event_type: &str) -> String {
    ADDED_FIELDS
        .iter()
        .filter(|a| a.event_type == event_type)
        .map(|a| a.to)
        .chain(
            WIDENED
                .iter()
                .filter(|w| w.event_type == event_type)
                .map(|w| w.to),
        )
        .max()
        .unwrap_or("1")
        .to_owned()
}

/// The event schema with `body` narrowed to one type, less `removed` body fields.
fn for_type(root: &Value, event_type: &str, version: &str, removed: &[&str]) -> Value {
    let mut schema = root.clone();
    let defs = schema["$defs"].clone();
    let variants = defs["EventBody"]["oneOf"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut variant = variants
        .into_iter()
        .find(|v| v["properties"]["type"]["const"] == json!(event_type))
        .unwrap_or(Value::Null);
    for field in removed {
        drop_field(&mut variant, &defs, field);
    }
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            json!(format!("urn:aduan:event:{event_type}:v{version}")),
        );
        obj.insert(
            "title".into(),
            json!(format!("{event_type}, version {version}")),
        );
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("body".into(), variant);
        }
        if let Some(defs) = obj.get_mut("$defs").and_then(Value::as_object_mut) {
            defs.remove("EventBody");
        }
    }
    schema
}

/// Removes `field` from a variant's own properties, or from the payload type it points
/// to (inlined into the variant so the shared definition stays as it is).
fn drop_field(variant: &mut Value, defs: &Value, field: &str) {
    let Some(obj) = variant.as_object_mut() else {
        return;
    };
    if let Some(target) = obj
        .remove("$ref")
        .and_then(|r| r.as_str().map(str::to_owned))
    {
        let name = target.trim_start_matches("#/$defs/");
        let mut payload = defs[name].clone();
        if let Some(p) = payload.as_object_mut() {
            if let Some(props) = p.get_mut("properties").and_then(Value::as_object_mut) {
                for (k, v) in obj
                    .get("properties")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
                {
                    props.insert(k, v);
                }
            }
            if let Some(req) = p.get_mut("required").and_then(Value::as_array_mut) {
                for r in obj
                    .get("required")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
                {
                    if !req.contains(&r) {
                        req.push(r);
                    }
                }
            }
        }
        *obj = payload.as_object().cloned().unwrap_or_else(Map::new);
    }
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        props.remove(field);
    }
    if let Some(req) = obj.get_mut("required").and_then(Value::as_array_mut) {
        req.retain(|r| r != field);
    }
}
