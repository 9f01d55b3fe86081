//! Walking the chain: what each event must satisfy, and what a checkpoint adds.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checkpoint::Head;
use super::{RawEvent, StoredRow};
use crate::chain::{
    canonical_entries, canonical_json, canonical_without, event_hash, event_hash_of_text,
    is_canonical, plain_string, ChainInput, GENESIS, HASH, PREV_HASH,
};
use crate::position::Position;

/// What is wrong with an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureKind {
    /// The payload or metadata is not JSON, or the metadata has no hashes.
    Unreadable {
        /// Why.
        reason: String,
    },
    /// This sequence is absent: an event was deleted.
    Missing,
    /// A sequence appears out of order or twice (possible in an edited export).
    OutOfOrder,
    /// `prev_hash` does not name the previous event's hash: an event was inserted,
    /// removed or moved before this one.
    BrokenLink {
        /// The previous event's hash.
        expected: String,
        /// What this event claims.
        found: String,
    },
    /// The event's bytes do not give its stored hash: its payload or metadata changed.
    HashMismatch {
        /// The hash of the stored bytes.
        computed: String,
        /// The hash stored with it.
        stored: String,
    },
    /// The checkpoint vouches for this event, and it is gone: the log was truncated.
    TruncatedSinceCheckpoint,
    /// The checkpoint vouches for this event with another hash: the log was rewritten.
    DiffersFromCheckpoint {
        /// The hash in the checkpoint.
        checkpoint: String,
        /// The hash in the log now.
        log: String,
    },
    /// The event lies within the checkpoint's positions but the checkpoint does not
    /// cover it: it was inserted into the past.
    NotInCheckpoint,
    /// A snapshot of the complaint's state (a cache beside the log, not part of it) does
    /// not match the complaint's events: the one kept at this sequence, or the one the
    /// event at this sequence was decided on (its metadata names it). Written by
    /// something other than the engine, or by a build whose state format should have
    /// been raised, or folded through upcasters since changed. A load refuses one whose
    /// chain head differs, but decides commands on one whose state alone was changed.
    /// Deleting a kept snapshot is always safe.
    SnapshotDiffers {
        /// How it differs.
        reason: String,
    },
}

/// The first (or any) event that fails, named by complaint and sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The complaint.
    pub complaint_id: String,
    /// The sequence within it.
    pub sequence: i64,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: FailureKind,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "complaint {} sequence {}: ",
            self.complaint_id, self.sequence
        )?;
        match &self.kind {
            FailureKind::Unreadable { reason } => write!(f, "unreadable ({reason})"),
            FailureKind::Missing => write!(f, "missing (an event was deleted)"),
            FailureKind::OutOfOrder => write!(f, "out of order or repeated"),
            FailureKind::BrokenLink { expected, found } => write!(
                f,
                "prev_hash {} does not name the previous event's hash {} (an event was inserted, removed or moved)",
                short(found),
                short(expected)
            ),
            FailureKind::HashMismatch { computed, stored } => write!(
                f,
                "the stored bytes hash to {}, not the stored {} (payload or metadata changed)",
                short(computed),
                short(stored)
            ),
            FailureKind::TruncatedSinceCheckpoint => write!(f, "vouched for by the checkpoint, now missing (the log was truncated)"),
            FailureKind::DiffersFromCheckpoint { checkpoint, log } => write!(
                f,
                "the checkpoint vouches for hash {}, the log now has {} (the log was rewritten)",
                short(checkpoint),
                short(log)
            ),
            FailureKind::NotInCheckpoint => write!(f, "inside the checkpoint's positions but not covered by it (inserted into the past)"),
            FailureKind::SnapshotDiffers { reason } => write!(f, "a snapshot of the complaint's state differs from its events ({reason}); a kept snapshot is not part of the log and may be deleted, but events decided on one stay and call for a review"),
        }
    }
}

/// The first twelve characters of a hash, as a report names it. A stored hash is
/// whatever the database holds, not always hexadecimal: cut at a character's boundary.
fn short(hash: &str) -> &str {
    match hash.char_indices().nth(12) {
        Some((end, _)) => &hash[..end],
        None => hash,
    }
}

/// The outcome of a walk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Events walked.
    pub events: u64,
    /// Complaints walked.
    pub complaints: u64,
    /// The highest position seen.
    pub head_position: Position,
    /// Failures, in walk order (the first names where the log first fails), then the
    /// snapshots' findings; at most 1000 are kept.
    pub failures: Vec<Failure>,
    /// All failures found.
    pub failures_total: u64,
    /// The checkpoint's position, when one was checked.
    pub checkpoint_position: Option<Position>,
    /// Snapshots of complaints' states compared with the events they summarise: those
    /// kept beside the log, and those commands were decided on (named in their events'
    /// metadata). Compared against a database only: `None` for a walk of an export
    /// (whose metadata may name snapshots, which it does not fold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<u64>,
    /// Snapshots of another format than this build's (kept, or named by the events
    /// decided on them), which it cannot fold to compare: written by another version or
    /// by a service with other upcasters. `None` for a walk of an export.
    /// Events decided on a snapshot name it for good: a later version whose format
    /// differs counts them here, and one whose upcasters give other events under the
    /// same format reports them as `snapshot_differs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots_unchecked: Option<u64>,
}

impl VerifyReport {
    /// Whether the log verified.
    pub fn ok(&self) -> bool {
        self.failures_total == 0
    }

    /// The first failure.
    pub fn first_failure(&self) -> Option<&Failure> {
        self.failures.first()
    }

    /// Counts a failure, keeping the first [`KEEP_FAILURES`].
    pub(crate) fn fail(&mut self, complaint_id: &str, sequence: i64, kind: FailureKind) {
        self.failures_total += 1;
        if self.failures.len() < KEEP_FAILURES {
            self.failures.push(Failure {
                complaint_id: complaint_id.to_owned(),
                sequence,
                kind,
            });
        }
    }
}

const NO_HASHES: &str = "the metadata has no prev_hash and hash";

/// What an event's metadata claims and what its bytes give.
struct Judged {
    prev: String,
    stored: String,
    computed: String,
}

/// The judgement of a stored row whose payload text is canonical ([`is_canonical`]),
/// hashed as it is: the same judgement as parsing it would give, since parsing and
/// writing it again gives the same bytes. Metadata whose text is canonical too, with
/// its hashes plain strings (as the engine writes it), is not parsed either: its text
/// without the `hash` entry is the canonical text of the metadata without `hash`.
/// `None` when the row must be parsed and judged in full (a payload text not known to
/// be canonical, unreadable columns, metadata without its hashes or not an object, a
/// negative sequence).
fn fast_judgement(row: &StoredRow) -> Option<Judged> {
    let (Ok(payload), Ok(metadata)) = (&row.payload, &row.metadata) else {
        return None;
    };
    if !is_canonical(payload) {
        return None;
    }
    let input = ChainInput {
        aggregate_type: "complaint",
        aggregate_id: &row.complaint_id,
        sequence: u64::try_from(row.sequence).ok()?,
        event_type: &row.event_type,
        event_version: &row.event_version,
        payload: &Value::Null,
        metadata: &Value::Null,
    };
    if let Some(entries) = canonical_entries(metadata) {
        let hash_of = |key: &str| {
            entries
                .iter()
                .find(|e| e.key == key)
                .and_then(|e| plain_string(e.value))
        };
        if let (Some(stored), Some(prev)) = (hash_of(HASH), hash_of(PREV_HASH)) {
            return Some(Judged {
                prev: prev.to_owned(),
                stored: stored.to_owned(),
                computed: event_hash_of_text(&input, payload, &canonical_without(&entries, HASH)),
            });
        }
    }
    let Ok(Value::Object(mut metadata)) = serde_json::from_str::<Value>(metadata) else {
        return None;
    };
    let Some(Value::String(stored)) = metadata.remove(HASH) else {
        return None;
    };
    let prev = metadata.get(PREV_HASH)?.as_str()?.to_owned();
    let computed = event_hash_of_text(&input, payload, &canonical_json(&Value::Object(metadata)));
    Some(Judged {
        prev,
        stored,
        computed,
    })
}

struct Current {
    id: String,
    last_sequence: i64,
    /// The previous event's stored hash; `None` when unknown (after a gap or an
    /// unreadable row), in which case the next link is not judged.
    last_hash: Option<String>,
    head: Option<Head>,
    /// The checkpoint's head for this complaint and what the log has at its sequence.
    vouched: Option<Head>,
    log_hash_at_vouched: Option<String>,
}

/// Checks events pushed in complaint order (id bytewise, then sequence), with constant
/// memory besides the checkpoint's heads. Serves the database walk and offline exports.
pub struct ChainVerifier {
    current: Option<Current>,
    report: VerifyReport,
    heads: Vec<Head>,
    collect_heads: bool,
    checkpoint: Option<(Position, Vec<Head>, usize)>,
}

const KEEP_FAILURES: usize = 1000;

impl ChainVerifier {
    /// A verifier of the chain alone.
    pub fn new() -> Self {
        Self {
            current: None,
            report: VerifyReport::default(),
            heads: Vec::new(),
            collect_heads: false,
            checkpoint: None,
        }
    }

    /// Also collects each complaint's last event, for a checkpoint.
    pub fn collecting_heads(mut self) -> Self {
        self.collect_heads = true;
        self
    }

    /// Also proves the log extends a checkpoint's heads (sorted by complaint id) taken at
    /// `position`.
    pub fn against(mut self, position: Position, heads: Vec<Head>) -> Self {
        self.report.checkpoint_position = Some(position);
        self.checkpoint = Some((position, heads, 0));
        self
    }

    fn fail(&mut self, complaint_id: &str, sequence: i64, kind: FailureKind) {
        self.report.fail(complaint_id, sequence, kind);
    }

    /// Checks the next event.
    pub fn push(&mut self, ev: &RawEvent) {
        let judged = match (&ev.payload, &ev.metadata) {
            (Ok(payload), Ok(metadata)) => match (
                metadata.get(PREV_HASH).and_then(Value::as_str),
                metadata.get(HASH).and_then(Value::as_str),
            ) {
                (Some(prev), Some(hash)) => Ok(Judged {
                    prev: prev.to_owned(),
                    stored: hash.to_owned(),
                    computed: event_hash(&ChainInput {
                        aggregate_type: "complaint",
                        aggregate_id: &ev.complaint_id,
                        sequence: u64::try_from(ev.sequence).unwrap_or_default(),
                        event_type: &ev.event_type,
                        event_version: &ev.event_version,
                        payload,
                        metadata,
                    }),
                }),
                _ => Err(NO_HASHES.to_owned()),
            },
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        self.record(&ev.complaint_id, ev.sequence, ev.position, judged);
    }

    /// Checks the next event as the log stores it, as [`ChainVerifier::push`] would check
    /// it parsed. A payload whose stored text is canonical (as the engine stores it) is
    /// hashed as it is, without being parsed; so is its metadata, less its `hash` entry,
    /// when that text is canonical too and its hashes are plain strings.
    pub(crate) fn push_stored(&mut self, row: StoredRow) {
        match fast_judgement(&row) {
            Some(judged) => self.record(&row.complaint_id, row.sequence, row.position, Ok(judged)),
            None => self.push(&row.parse()),
        }
    }

    fn record(&mut self, id: &str, sequence: i64, position: i64, judged: Result<Judged, String>) {
        if self.current.as_ref().is_none_or(|c| c.id != id) {
            self.finish_complaint();
            let vouched = self.vouched_for(id);
            self.current = Some(Current {
                id: id.to_owned(),
                last_sequence: 0,
                last_hash: Some(GENESIS.to_owned()),
                head: None,
                vouched,
                log_hash_at_vouched: None,
            });
            self.report.complaints += 1;
        }
        self.report.events += 1;
        self.report.head_position = self.report.head_position.max(Position::new(position));
        let mut current = self.current.take().expect("set above");
        let expected = current.last_sequence + 1;
        if sequence < expected {
            self.fail(id, sequence, FailureKind::OutOfOrder);
            self.current = Some(current);
            return;
        }
        if sequence > expected {
            self.fail(id, expected, FailureKind::Missing);
            current.last_hash = None;
        }
        current.last_sequence = sequence;
        let Judged {
            prev,
            stored,
            computed,
        } = match judged {
            Ok(x) => x,
            Err(reason) => {
                self.fail(id, sequence, FailureKind::Unreadable { reason });
                current.last_hash = None;
                self.current = Some(current);
                return;
            }
        };
        if let Some(expected_prev) = &current.last_hash {
            if *expected_prev != prev {
                self.fail(
                    id,
                    sequence,
                    FailureKind::BrokenLink {
                        expected: expected_prev.clone(),
                        found: prev.clone(),
                    },
                );
            }
        }
        if computed != stored {
            self.fail(
                id,
                sequence,
                FailureKind::HashMismatch {
                    computed,
                    stored: stored.clone(),
                },
            );
        }
        if let Some((vouched_to, _, _)) = &self.checkpoint {
            if Position::new(position) <= *vouched_to {
                match &current.vouched {
                    Some(v) if crate::codec::sequence(sequence) <= v.sequence => {}
                    _ => self.fail(id, sequence, FailureKind::NotInCheckpoint),
                }
            }
        }
        if current
            .vouched
            .as_ref()
            .is_some_and(|v| v.sequence == crate::codec::sequence(sequence))
        {
            current.log_hash_at_vouched = Some(stored.clone());
        }
        if self.collect_heads {
            current.head = Some(Head {
                complaint_id: id.to_owned(),
                sequence: crate::codec::sequence(sequence),
                hash: stored.clone(),
            });
        }
        current.last_hash = Some(stored);
        self.current = Some(current);
    }

    /// The checkpoint's head for a complaint about to start; checkpoint heads of
    /// complaints that sort before it are gone from the log.
    fn vouched_for(&mut self, complaint_id: &str) -> Option<Head> {
        let mut gone = Vec::new();
        let found = {
            let (_, heads, next) = self.checkpoint.as_mut()?;
            while *next < heads.len()
                && heads[*next].complaint_id.as_bytes() < complaint_id.as_bytes()
            {
                gone.push(heads[*next].complaint_id.clone());
                *next += 1;
            }
            if *next < heads.len() && heads[*next].complaint_id == complaint_id {
                *next += 1;
                Some(heads[*next - 1].clone())
            } else {
                None
            }
        };
        for id in gone {
            self.fail(&id, 1, FailureKind::TruncatedSinceCheckpoint);
        }
        found
    }

    fn finish_complaint(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        if let Some(v) = &current.vouched {
            match &current.log_hash_at_vouched {
                None => self.fail(
                    &current.id,
                    current.last_sequence + 1,
                    FailureKind::TruncatedSinceCheckpoint,
                ),
                Some(log) if *log != v.hash => self.fail(
                    &current.id,
                    crate::codec::sequence_column(v.sequence),
                    FailureKind::DiffersFromCheckpoint {
                        checkpoint: v.hash.clone(),
                        log: log.clone(),
                    },
                ),
                Some(_) => {}
            }
        }
        if self.collect_heads {
            if let Some(head) = current.head {
                self.heads.push(head);
            }
        }
    }

    /// Ends the walk.
    pub fn finish(mut self) -> (VerifyReport, Vec<Head>) {
        self.finish_complaint();
        let remaining: Vec<String> = match &mut self.checkpoint {
            Some((_, heads, next)) => {
                let rest = heads[*next..]
                    .iter()
                    .map(|h| h.complaint_id.clone())
                    .collect();
                *next = heads.len();
                rest
            }
            None => Vec::new(),
        };
        for id in remaining {
            self.fail(&id, 1, FailureKind::TruncatedSinceCheckpoint);
        }
        (self.report, self.heads)
    }
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A stored row of one valid event: canonical payload and metadata, as the engine
    /// writes them.
    fn valid() -> (String, String) {
        let payload = json!({"title": "Jalan \"rusak\"", "n": 3});
        let metadata = json!({
            "actor": "sari",
            "command_id": "c-1",
            "prev_hash": GENESIS,
            "recorded_by": "upp, \"pusat\"",
        });
        crate::audit::test_rows::hashed("ADU-1", &payload, metadata)
    }

    fn row(payload: &str, metadata: &str) -> StoredRow {
        crate::audit::test_rows::received("ADU-1", 1, payload, metadata)
    }

    /// The report of one row judged as stored (the paths that take texts as they are)
    /// and the report of the same row parsed first.
    fn both_ways(payload: &str, metadata: &str) -> (VerifyReport, VerifyReport) {
        let mut stored = ChainVerifier::new();
        stored.push_stored(row(payload, metadata));
        let mut parsed = ChainVerifier::new();
        parsed.push(&row(payload, metadata).parse());
        (stored.finish().0, parsed.finish().0)
    }

    #[test]
    fn the_stored_metadata_is_judged_as_its_parsed_value_would_be() {
        let (payload, metadata) = valid();
        let (stored, parsed) = both_ways(&payload, &metadata);
        assert!(stored.ok(), "{stored:?}");
        assert_eq!(stored, parsed);
        let changed = metadata.replace("\"actor\":\"sari\"", "\"actor\":\"andi\"");
        let re_rendered =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(&metadata).unwrap())
                .unwrap();
        let hash_escaped = metadata.replace("\"hash\":\"", "\"hash\":\"\\\"");
        for (what, metadata, ok) in [
            ("an entry changed, still canonical", changed.as_str(), false),
            ("re-rendered with white space", re_rendered.as_str(), true),
            ("the hash with an escape", hash_escaped.as_str(), false),
        ] {
            assert_ne!(metadata, valid().1, "{what}");
            let (stored, parsed) = both_ways(&payload, metadata);
            assert_eq!(stored.ok(), ok, "{what}: {stored:?}");
            assert_eq!(stored, parsed, "{what}");
        }
    }

    #[test]
    fn metadata_of_any_shape_is_judged_as_its_parsed_value_would_be() {
        let (payload, metadata) = valid();
        let entries = |rest: &str| {
            let value: Value = serde_json::from_str(&metadata).unwrap();
            let mut object = value.as_object().unwrap().clone();
            let extra: Value = serde_json::from_str(rest).unwrap();
            for (k, v) in extra.as_object().unwrap() {
                object.insert(k.clone(), v.clone());
            }
            canonical_json(&Value::Object(object))
        };
        let without = |key: &str| {
            let mut value: Value = serde_json::from_str(&metadata).unwrap();
            value.as_object_mut().unwrap().remove(key);
            canonical_json(&value)
        };
        for (what, metadata) in [
            (
                "a nested object with a hash of its own",
                entries(r#"{"a":{"hash":"x","prev_hash":"y"},"z":[1,{"hash":"w"}]}"#),
            ),
            (
                "non-ASCII keys and values",
                entries(r#"{"catatan":"jalan rusak é 😀","é":"ü"}"#),
            ),
            (
                "numbers, booleans and null",
                entries(r#"{"n":-12,"t":true,"u":null}"#),
            ),
            ("a hash that is a number", entries(r#"{"hash":1}"#)),
            ("a hash that is an object", entries(r#"{"hash":{"a":"b"}}"#)),
            ("no prev_hash", without("prev_hash")),
            ("no hash", without("hash")),
            ("an empty object", "{}".to_owned()),
            ("an array", "[]".to_owned()),
            ("a string", r#""x""#.to_owned()),
        ] {
            let (stored, parsed) = both_ways(&payload, &metadata);
            assert_eq!(stored, parsed, "{what}: {metadata}");
        }
    }

    #[test]
    fn a_report_names_a_stored_hash_of_any_characters() {
        let (payload, metadata) = valid();
        let hash = metadata.split("\"hash\":\"").nth(1).unwrap()[..64].to_owned();
        let odd = format!("aaaaaaaaaaa\u{e9}{}", &hash[13..]);
        let metadata = metadata.replace(&hash, &odd);
        let mut verifier = ChainVerifier::new();
        verifier.push_stored(row(&payload, &metadata));
        let report = verifier.finish().0;
        assert_eq!(report.failures.len(), 1, "{report:?}");
        let said = report.failures[0].to_string();
        assert!(said.contains("not the stored aaaaaaaaaaa\u{e9} "), "{said}");
    }

    proptest::proptest! {
        /// Whatever the metadata's text became, the row is judged as it would be
        /// parsed: valid, mismatched, unreadable or without its hashes alike.
        #[test]
        fn an_edited_metadata_text_is_judged_as_parsing_would(
            at in 0.0f64..1.0,
            insert in proptest::sample::select(vec![" ", ",", "\"", "\\", "0", "a", "}", "{", "[", ":", "\"hash\":\"0\","]),
            delete in proptest::bool::ANY,
        ) {
            let (payload, mut metadata) = valid();
            let at = (at * metadata.len() as f64) as usize;
            if delete && at < metadata.len() {
                metadata.remove(at);
            } else {
                metadata.insert_str(at, insert);
            }
            let (stored, parsed) = both_ways(&payload, &metadata);
            proptest::prop_assert_eq!(stored, parsed, "{}", metadata);
        }
    }
}
