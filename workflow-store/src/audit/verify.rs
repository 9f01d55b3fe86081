//! Walking the chain: what each event must satisfy, and what a checkpoint adds.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checkpoint::Head;
use super::RawEvent;
use crate::chain::{event_hash, ChainInput, GENESIS, HASH, PREV_HASH};
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
        }
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
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
    /// Failures, in walk order (the first names where the log first fails); at most
    /// 1000 are kept.
    pub failures: Vec<Failure>,
    /// All failures found.
    pub failures_total: u64,
    /// The checkpoint's position, when one was checked.
    pub checkpoint_position: Option<Position>,
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
        self.report.failures_total += 1;
        if self.report.failures.len() < KEEP_FAILURES {
            self.report.failures.push(Failure {
                complaint_id: complaint_id.to_owned(),
                sequence,
                kind,
            });
        }
    }

    /// Checks the next event.
    pub fn push(&mut self, ev: &RawEvent) {
        if self
            .current
            .as_ref()
            .is_none_or(|c| c.id != ev.complaint_id)
        {
            self.finish_complaint();
            let vouched = self.vouched_for(&ev.complaint_id);
            self.current = Some(Current {
                id: ev.complaint_id.clone(),
                last_sequence: 0,
                last_hash: Some(GENESIS.to_owned()),
                head: None,
                vouched,
                log_hash_at_vouched: None,
            });
            self.report.complaints += 1;
        }
        self.report.events += 1;
        self.report.head_position = self.report.head_position.max(Position::new(ev.position));
        let mut current = self.current.take().expect("set above");
        let id = ev.complaint_id.as_str();
        let expected = current.last_sequence + 1;
        if ev.sequence < expected {
            self.fail(id, ev.sequence, FailureKind::OutOfOrder);
            self.current = Some(current);
            return;
        }
        if ev.sequence > expected {
            self.fail(id, expected, FailureKind::Missing);
            current.last_hash = None;
        }
        current.last_sequence = ev.sequence;
        let parsed = match (&ev.payload, &ev.metadata) {
            (Ok(p), Ok(m)) => match (
                m.get(PREV_HASH).and_then(Value::as_str),
                m.get(HASH).and_then(Value::as_str),
            ) {
                (Some(prev), Some(hash)) => Ok((p, m, prev.to_owned(), hash.to_owned())),
                _ => Err("the metadata has no prev_hash and hash".to_owned()),
            },
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        let (payload, metadata, prev, stored) = match parsed {
            Ok(x) => x,
            Err(reason) => {
                self.fail(id, ev.sequence, FailureKind::Unreadable { reason });
                current.last_hash = None;
                self.current = Some(current);
                return;
            }
        };
        if let Some(expected_prev) = &current.last_hash {
            if *expected_prev != prev {
                self.fail(
                    id,
                    ev.sequence,
                    FailureKind::BrokenLink {
                        expected: expected_prev.clone(),
                        found: prev.clone(),
                    },
                );
            }
        }
        let computed = event_hash(&ChainInput {
            aggregate_type: "complaint",
            aggregate_id: id,
            sequence: u64::try_from(ev.sequence).unwrap_or_default(),
            event_type: &ev.event_type,
            event_version: &ev.event_version,
            payload,
            metadata,
        });
        if computed != stored {
            self.fail(
                id,
                ev.sequence,
                FailureKind::HashMismatch {
                    computed,
                    stored: stored.clone(),
                },
            );
        }
        if let Some((position, _, _)) = &self.checkpoint {
            if Position::new(ev.position) <= *position {
                match &current.vouched {
                    Some(v) if crate::codec::sequence(ev.sequence) <= v.sequence => {}
                    _ => self.fail(id, ev.sequence, FailureKind::NotInCheckpoint),
                }
            }
        }
        if current
            .vouched
            .as_ref()
            .is_some_and(|v| v.sequence == crate::codec::sequence(ev.sequence))
        {
            current.log_hash_at_vouched = Some(stored.clone());
        }
        current.head = Some(Head {
            complaint_id: id.to_owned(),
            sequence: crate::codec::sequence(ev.sequence),
            hash: stored.clone(),
        });
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
