//! The per-complaint hash chain written with every event.
//!
//! Each event's metadata carries `prev_hash` (the hash of the complaint's previous event,
//! or 64 zeros for the first) and `hash`: SHA-256 over a length-prefixed encoding of the
//! aggregate type, id, sequence, event type and version, and the canonical JSON of the
//! payload and of the metadata without `hash`. Canonical JSON (keys sorted by their
//! UTF-8 bytes, no white space) makes the hash independent of how a database re-renders
//! JSON it stores; PostgreSQL's `json` column keeps what the driver sends, which is
//! itself a re-rendering. `docs/audit.md` gives the exact form.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of a complaint's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Metadata key of the previous event's hash.
pub const PREV_HASH: &str = "prev_hash";
/// Metadata key of this event's hash.
pub const HASH: &str = "hash";

/// Writes JSON with object keys sorted by their UTF-8 bytes and no white space.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The fields an event's hash covers.
pub struct ChainInput<'a> {
    /// `complaint`.
    pub aggregate_type: &'a str,
    /// The complaint id.
    pub aggregate_id: &'a str,
    /// The event's sequence within the complaint, from 1.
    pub sequence: u64,
    /// The stored event type.
    pub event_type: &'a str,
    /// The stored event version.
    pub event_version: &'a str,
    /// The stored payload.
    pub payload: &'a Value,
    /// The stored metadata (its `hash` entry, if present, is left out).
    pub metadata: &'a Value,
}

/// The hash of one event, as lower-case hex.
pub fn event_hash(input: &ChainInput<'_>) -> String {
    let mut metadata = input.metadata.clone();
    if let Value::Object(map) = &mut metadata {
        map.remove(HASH);
    }
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update(bytes.len().to_string().as_bytes());
        hasher.update(b":");
        hasher.update(bytes);
        hasher.update(b"\n");
    };
    field(b"aduan-chain-v1");
    field(input.aggregate_type.as_bytes());
    field(input.aggregate_id.as_bytes());
    field(input.sequence.to_string().as_bytes());
    field(input.event_type.as_bytes());
    field(input.event_version.as_bytes());
    field(canonical_json(input.payload).as_bytes());
    field(canonical_json(&metadata).as_bytes());
    hex(&hasher.finalize())
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_and_drops_white_space() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, {"z": null, "a": "é\n"}], "a": true }"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":true,"b":[1,{"a":"é\n","z":null}]}"#
        );
    }

    #[test]
    fn the_hash_covers_every_field_but_itself() {
        let payload = json!({"type": "Closed", "note": null});
        let metadata = json!({"actor": "sari", "prev_hash": GENESIS});
        let input = |seq, meta: &Value| {
            event_hash(&ChainInput {
                aggregate_type: "complaint",
                aggregate_id: "ADU-1",
                sequence: seq,
                event_type: "Closed",
                event_version: "1",
                payload: &payload,
                metadata: meta,
            })
        };
        let base = input(1, &metadata);
        assert_eq!(base.len(), 64);
        assert_ne!(base, input(2, &metadata));
        let mut with_hash = metadata.clone();
        with_hash["hash"] = json!(base.clone());
        assert_eq!(
            input(1, &with_hash),
            base,
            "the hash entry itself is not covered"
        );
        let mut other_actor = metadata.clone();
        other_actor["actor"] = json!("andi");
        assert_ne!(input(1, &other_actor), base);
    }
}
