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
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Only serde_json's own output and ASCII punctuation were written.
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            // serde_json's map is ordered by key already (a `BTreeMap`, whose `String`
            // order is the bytes' order) unless a crate turns on `preserve_order`.
            if map.keys().is_sorted_by(|a, b| a.as_bytes() <= b.as_bytes()) {
                write_entries(map.iter(), out);
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                write_entries(entries.into_iter(), out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        other => serde_json::to_writer(&mut *out, other).expect("writing to a Vec"),
    }
}

fn write_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, k).expect("writing to a Vec");
        out.push(b':');
        write_canonical(v, out);
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
    hash_fields(input, canonical_json(input.payload).as_bytes(), &metadata)
}

/// The hash of one event whose payload is given as the text the log stores, taken as
/// it is (`input.payload` is not read) and `metadata` is the metadata without `hash`.
///
/// The engine stores the canonical text, so this is the event's hash without parsing
/// the payload, whenever the stored text is still what was hashed. Should it give the
/// stored hash, the text is exactly the canonical text that was hashed (SHA-256 being
/// collision resistant); should it not, the payload must be parsed and judged
/// ([`event_hash`]).
pub(crate) fn event_hash_of_text(
    input: &ChainInput<'_>,
    payload_text: &str,
    metadata: &Value,
) -> String {
    hash_fields(input, payload_text.as_bytes(), metadata)
}

fn hash_fields(input: &ChainInput<'_>, payload: &[u8], metadata_without_hash: &Value) -> String {
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
    field(payload);
    field(canonical_json(metadata_without_hash).as_bytes());
    hex(&hasher.finalize())
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
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
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }

    #[test]
    fn the_stored_canonical_text_hashes_as_the_parsed_payload() {
        let payload = json!({"type": "Closed", "note": "catatan \"akhir\"", "at": [1, 2.5]});
        let metadata = json!({"actor": "sari", "prev_hash": GENESIS, "hash": "x"});
        let input = ChainInput {
            aggregate_type: "complaint",
            aggregate_id: "ADU-1",
            sequence: 3,
            event_type: "Closed",
            event_version: "1",
            payload: &payload,
            metadata: &metadata,
        };
        let mut without = metadata.clone();
        without.as_object_mut().unwrap().remove(HASH);
        let text = canonical_json(&payload);
        assert_eq!(
            event_hash_of_text(&input, &text, &without),
            event_hash(&input)
        );
        // Any other rendering of the same payload does not: the fast path then fails
        // and the payload is parsed.
        let spaced = serde_json::to_string_pretty(&payload).unwrap();
        assert_ne!(
            event_hash_of_text(&input, &spaced, &without),
            event_hash(&input)
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
