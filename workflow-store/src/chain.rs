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

/// Whether `text` is certainly what [`canonical_json`] writes for the value it holds,
/// so that parsing it and writing it again would give the same bytes.
///
/// `false` means "not known": besides every text that is not canonical (white space,
/// keys out of order or repeated, another rendering of a string or a number), the
/// check declines what it does not judge itself: a string with a `\u` escape, a key
/// with any escape, a number with a fraction or an exponent, an integer of more than
/// 18 digits, nesting deeper than 100. The walks parse those as before.
pub(crate) fn is_canonical(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    no_raw_control(bytes) && canonical_value(bytes, &mut at, 0) && at == bytes.len()
}

/// Canonical text holds no raw control character: no white space between tokens, and
/// strings escape them. One pass over all the bytes, which the compiler vectorises, so
/// that the strings can then be skipped to their next `"` or `\`.
fn no_raw_control(bytes: &[u8]) -> bool {
    !bytes.iter().fold(false, |seen, &c| seen | (c < 0x20))
}

/// Where an object's entry lies in its text: its start (the key's opening quote), the
/// start of its value, and its end.
type EntrySpan = [usize; 3];

fn canonical_value(b: &[u8], at: &mut usize, depth: usize) -> bool {
    if depth > 100 {
        return false;
    }
    match b.get(*at) {
        Some(b'{') => canonical_object(b, at, depth, None),
        Some(b'[') => {
            *at += 1;
            if b.get(*at) == Some(&b']') {
                *at += 1;
                return true;
            }
            loop {
                if !canonical_value(b, at, depth + 1) {
                    return false;
                }
                match b.get(*at) {
                    Some(b',') => *at += 1,
                    Some(b']') => {
                        *at += 1;
                        return true;
                    }
                    _ => return false,
                }
            }
        }
        Some(b'"') => canonical_string(b, at, true),
        Some(b't') => literal(b, at, b"true"),
        Some(b'f') => literal(b, at, b"false"),
        Some(b'n') => literal(b, at, b"null"),
        Some(b'-' | b'0'..=b'9') => canonical_integer(b, at),
        _ => false,
    }
}

/// An object at `at` (its `{`), keys in strictly increasing byte order; with `spans`,
/// where each of its entries lies.
fn canonical_object(
    b: &[u8],
    at: &mut usize,
    depth: usize,
    mut spans: Option<&mut Vec<EntrySpan>>,
) -> bool {
    *at += 1;
    if b.get(*at) == Some(&b'}') {
        *at += 1;
        return true;
    }
    let mut previous: Option<&[u8]> = None;
    loop {
        let start = *at;
        if !canonical_string(b, at, false) {
            return false;
        }
        let key = &b[start + 1..*at - 1];
        if previous.is_some_and(|p| p >= key) {
            return false;
        }
        previous = Some(key);
        if b.get(*at) != Some(&b':') {
            return false;
        }
        *at += 1;
        let value = *at;
        if !canonical_value(b, at, depth + 1) {
            return false;
        }
        if let Some(spans) = spans.as_deref_mut() {
            spans.push([start, value, *at]);
        }
        match b.get(*at) {
            Some(b',') => *at += 1,
            Some(b'}') => {
                *at += 1;
                return true;
            }
            _ => return false,
        }
    }
}

fn literal(b: &[u8], at: &mut usize, word: &[u8]) -> bool {
    if b[*at..].starts_with(word) {
        *at += word.len();
        true
    } else {
        false
    }
}

/// A string as serde_json writes it: no control character raw, and only the escapes it
/// writes for them (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`; a `\u` escape is declined).
/// A key (`escapes` false) may have none, so that its bytes are its text's.
fn canonical_string(b: &[u8], at: &mut usize, escapes: bool) -> bool {
    if b.get(*at) != Some(&b'"') {
        return false;
    }
    *at += 1;
    loop {
        // Past the plain bytes at once: most of a payload is the text inside strings
        // (control characters were ruled out before).
        *at += memchr::memchr2(b'"', b'\\', &b[*at..]).unwrap_or(b.len() - *at);
        match b.get(*at) {
            None => return false,
            Some(b'"') => {
                *at += 1;
                return true;
            }
            // A backslash, where the search stopped.
            Some(_) => {
                if !escapes {
                    return false;
                }
                match b.get(*at + 1) {
                    Some(b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f') => *at += 2,
                    _ => return false,
                }
            }
        }
    }
}

/// An integer as serde_json writes an `i64`: `0`, or an optional `-` and a first digit
/// that is not `0`; at most 18 digits (all within `i64`).
fn canonical_integer(b: &[u8], at: &mut usize) -> bool {
    let negative = b.get(*at) == Some(&b'-');
    if negative {
        *at += 1;
    }
    let start = *at;
    while b.get(*at).is_some_and(u8::is_ascii_digit) {
        *at += 1;
    }
    let digits = &b[start..*at];
    !digits.is_empty()
        && digits.len() <= 18
        && (digits == b"0" || digits[0] != b'0')
        && !(negative && digits == b"0")
        && !matches!(b.get(*at), Some(b'.' | b'e' | b'E'))
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
    hash_fields(
        input,
        canonical_json(input.payload).as_bytes(),
        canonical_json(&metadata).as_bytes(),
    )
}

/// The hash of one event whose payload and metadata (without `hash`) are given as
/// text, taken as it is (`input.payload` and `input.metadata` are not read).
///
/// When [`is_canonical`] holds for both texts, this is [`event_hash`] of the parsed
/// event, without parsing it: the engine stores the canonical text.
pub(crate) fn event_hash_of_text(
    input: &ChainInput<'_>,
    payload_text: &str,
    metadata_without_hash: &str,
) -> String {
    hash_fields(
        input,
        payload_text.as_bytes(),
        metadata_without_hash.as_bytes(),
    )
}

/// One entry of a canonical object's text: its key (a key of canonical text has no
/// escape, so its text is the key), its value's text, and the entry's, `"key":value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub text: &'a str,
}

/// The entries of a canonical object's text, in their order (the keys' bytes' order).
/// `None` unless [`is_canonical`] holds for `text` and it is an object: the same walk,
/// noting where each top-level entry lies.
pub(crate) fn canonical_entries(text: &str) -> Option<Vec<Entry<'_>>> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut at = 0;
    let canonical = b.first() == Some(&b'{')
        && no_raw_control(b)
        && canonical_object(b, &mut at, 0, Some(&mut spans))
        && at == b.len();
    // Each span's bounds are at a quote, a colon or a value's first and last bytes,
    // all ASCII punctuation or the bounds of a canonical value: character boundaries.
    canonical.then(|| {
        spans
            .into_iter()
            .map(|[start, value, end]| Entry {
                key: &text[start + 1..value - 2],
                value: &text[value..end],
                text: &text[start..end],
            })
            .collect()
    })
}

/// The canonical text of the object `entries` come from, without the entry `key`:
/// removing one entry of a canonical object leaves the others as they were, in order.
pub(crate) fn canonical_without(entries: &[Entry<'_>], key: &str) -> String {
    let mut out =
        String::with_capacity(entries.iter().map(|e| e.text.len() + 1).sum::<usize>() + 2);
    out.push('{');
    for entry in entries.iter().filter(|e| e.key != key) {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(entry.text);
    }
    out.push('}');
    out
}

/// The text of a string value of canonical text that has no escape: its bytes between
/// the quotes. `None` for any other value (the caller then parses it).
pub(crate) fn plain_string(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['"', '\\'])).then_some(inner)
}

fn hash_fields(input: &ChainInput<'_>, payload: &[u8], metadata_without_hash: &[u8]) -> String {
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
    field(metadata_without_hash);
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
    fn canonical_text_is_known_and_other_renderings_are_not() {
        let value = json!({"": 0, "a": [1, -2, 0, true, false, null, {"b": "x\"y\\z\n\t\r\u{8}\u{c}\u{7f}"}], "b": {}, "c": [], "é": "ü"});
        let text = canonical_json(&value);
        assert!(is_canonical(&text), "{text}");
        for scalar in ["0", "-7", "true", "null", r#""""#, "{}", "[]"] {
            assert!(is_canonical(scalar), "{scalar}");
        }
        // Nesting: as deep as the check goes (101 levels) passes and parses; deeper is
        // declined, well before serde_json's own limit (128) would refuse to parse.
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(is_canonical(&nested(101)));
        assert!(serde_json::from_str::<Value>(&nested(101)).is_ok());
        assert!(!is_canonical(&nested(102)));
        assert!(serde_json::from_str::<Value>(&nested(129)).is_err());
        for other in [
            serde_json::to_string_pretty(&value).unwrap(),
            r#"{"b":1,"a":2}"#.to_owned(),  // keys out of order
            r#"{"a":1,"a":2}"#.to_owned(),  // a key twice
            r#"{"a":"\u0041"}"#.to_owned(), // another rendering of "A"
            r#"{"a":"\/"}"#.to_owned(),     // another rendering of "/"
            r#"{"a":1.0}"#.to_owned(),      // a fraction: declined
            r#"{"a":1e2}"#.to_owned(),      // an exponent: declined
            r#"{"a":-0}"#.to_owned(),
            r#"{"a":01}"#.to_owned(),
            r#"{"a":1234567890123456789}"#.to_owned(), // 19 digits: declined
            r#"{"a":-9999999999999999999}"#.to_owned(), // beyond i64: written back as -1e19
            r#"{"a":truex}"#.to_owned(),
            r#"[nullnull]"#.to_owned(),
            r#"[1-2]"#.to_owned(),
            r#"{"a\"":1}"#.to_owned(),      // an escape in a key: declined
            "{\"a\":\"x\ny\"}".to_owned(),  // a raw line break
            r#"{"a":1}{"b":2}"#.to_owned(), // more after the value
            r#"{"a":1}
"#
            .to_owned(),
            r#"{"a":tru}"#.to_owned(),
            r#"{"a":[1,]}"#.to_owned(),
            String::new(),
        ] {
            assert!(!is_canonical(&other), "{other}");
        }
    }

    proptest::proptest! {
        /// Whatever the check calls canonical, parsing and writing again gives back.
        #[test]
        fn what_the_check_calls_canonical_is_a_fixed_point(text in r#"(\{|\}|\[|\]|"|,|:|[a-z0-9\\. -]|true|false|null|"[a-z]{1,2}":){0,16}"#) {
            if is_canonical(&text) {
                let value: Value = serde_json::from_str(&text).unwrap();
                proptest::prop_assert_eq!(canonical_json(&value), text);
            }
        }

        /// Nor does an edit of a canonical text slip through: whatever is still called
        /// canonical after it is a fixed point too.
        #[test]
        fn an_edited_canonical_text_is_judged_rightly(
            value in json_value(),
            at in 0.0f64..1.0,
            insert in proptest::sample::select(vec![" ", "\n", ",", "\"", "\\", "0", "-", ".5", "e1", "}", "]", "{", "[", "\\u0041", "a"]),
            delete in proptest::bool::ANY,
        ) {
            let mut text = canonical_json(&value);
            let at = (at * text.len() as f64) as usize;
            if !text.is_char_boundary(at) {
                return Ok(());
            }
            if delete && at < text.len() {
                let end = (at + 1..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap();
                text.replace_range(at..end, "");
            } else {
                text.insert_str(at, insert);
            }
            if is_canonical(&text) {
                let parsed: Value = serde_json::from_str(&text).unwrap();
                proptest::prop_assert_eq!(canonical_json(&parsed), text);
            }
        }

        /// And the canonical text of any value made of what the engine writes passes
        /// (but for control characters other than those with a short escape, which
        /// serde_json writes as `\u00XX`: declined, and parsed).
        #[test]
        fn canonical_text_of_any_value_passes(value in json_value()) {
            let text = canonical_json(&value);
            proptest::prop_assert!(is_canonical(&text), "{}", text);
        }
    }

    proptest::proptest! {
        /// A canonical object's entries are its keys and values' canonical texts, in
        /// order, and leaving any one out gives the canonical text of the object
        /// without it (the metadata without `hash`, as the hash covers it).
        #[test]
        fn a_canonical_object_without_one_entry_is_its_entries_without_it(
            object in proptest::collection::btree_map("[a-z_]{1,8}", json_value(), 0..6),
            absent in "[a-z_]{1,8}",
        ) {
            let value = Value::Object(object.clone().into_iter().collect());
            let text = canonical_json(&value);
            let entries = canonical_entries(&text).expect("the canonical text of an object");
            let keys: Vec<&str> = entries.iter().map(|e| e.key).collect();
            proptest::prop_assert_eq!(keys, object.keys().map(String::as_str).collect::<Vec<_>>());
            for (entry, v) in entries.iter().zip(object.values()) {
                proptest::prop_assert_eq!(entry.value, canonical_json(v));
            }
            for key in object.keys().map(String::as_str).chain([absent.as_str()]) {
                let mut without = object.clone();
                without.remove(key);
                let without = Value::Object(without.into_iter().collect());
                proptest::prop_assert_eq!(canonical_without(&entries, key), canonical_json(&without));
            }
        }
    }

    #[test]
    fn only_a_canonical_object_has_entries() {
        assert_eq!(canonical_entries("{}"), Some(Vec::new()));
        assert_eq!(
            canonical_entries(r#"{"a":[1,{"b":"}"}],"hash":"x\"y"}"#),
            Some(vec![
                Entry {
                    key: "a",
                    value: r#"[1,{"b":"}"}]"#,
                    text: r#""a":[1,{"b":"}"}]"#
                },
                Entry {
                    key: "hash",
                    value: r#""x\"y""#,
                    text: r#""hash":"x\"y""#
                },
            ])
        );
        for other in [
            "[]",
            r#""x""#,
            "1",
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":1}"#,
            r#"{ "a":1}"#,
            r#"{"a":1} "#,
            r#"{"a":1}{"b":2}"#,
            r#"{"a":1.5}"#,
            r#"{"a":"\u0041"}"#,
            "",
        ] {
            assert_eq!(canonical_entries(other), None, "{other}");
        }
    }

    #[test]
    fn a_plain_string_is_its_text_and_an_escaped_one_is_declined() {
        assert_eq!(plain_string(r#""00ab""#), Some("00ab"));
        assert_eq!(plain_string(r#""""#), Some(""));
        for other in [r#""a\"b""#, r#""a\\b""#, "12", "null", r#"""#, r#"["a"]"#] {
            assert_eq!(plain_string(other), None, "{other}");
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-999_999_999_999i64..999_999_999_999).prop_map(|n| json!(n)),
            "[a-zA-Z0-9 \"\\\n\t\r\u{8}\u{c}\u{7f}\u{e9}\u{1F600}]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
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
        let without = canonical_json(&without);
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
