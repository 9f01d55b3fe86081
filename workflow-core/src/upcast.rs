//! Older forms of stored events, read as the current version. Pure JSON to JSON: the
//! store applies these on every read (before any upcaster of the embedding service),
//! and the stored rows, their hashes and exports stay as they were written.
//!
//! | event | from | to | change |
//! |---|---|---|---|
//! | `Reviewed` | 1 | 2 | adds `clear`; version 1 asked only "complete?", so it is read as `clear: true` (nothing was found unclear) |

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::Value;

/// `Reviewed` version 1 → 2: `clear` added, read as `true`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewedV1;

impl ReviewedV1 {
    /// The change on the event's JSON (`{"at", "by", "command_id", "body"}`).
    pub fn upcast_json(event: &mut Value) {
        if let Some(body) = event.get_mut("body").and_then(Value::as_object_mut) {
            body.entry("clear").or_insert(Value::Bool(true));
        }
    }
}

impl EventUpcaster for ReviewedV1 {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == "Reviewed" && event_version == "1"
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        Self::upcast_json(&mut event.payload);
        event.event_version = "2".into();
        event
    }
}

/// Every upcaster of this version of the domain, oldest first.
pub fn builtin() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(ReviewedV1)]
}

/// Reads one event's JSON of `event_type` at `version` as the current version (for
/// recorded files that carry no envelope).
pub fn to_current(event_type: &str, version: &str, mut event: Value) -> Value {
    if ReviewedV1.can_upcast(event_type, version) {
        ReviewedV1::upcast_json(&mut event);
    }
    event
}
