//! Older forms of stored events, read as the current version. Pure JSON to JSON: the
//! store applies these on every read (before any upcaster of the embedding service),
//! and the stored rows, their hashes and exports stay as they were written.
//!
//! | event | from | to | change |
//! |---|---|---|---|
//! | `Reviewed` | 1 | 2 | adds `clear`; version 1 asked only "complete?", so it is read as `clear: true` (nothing was found unclear) |
//! | `Responded` | 1 | 2 | adds `channel`; version 1 knew only LAPOR!, read as `lapor` |
//! | `Closed` | 1 | 2 | adds `reason`; version 1 recorded no feedback, read as `no_feedback` |
//! | `SlaBreached` | 1 | 2 | adds `judged_by` (the holiday table and policy versions); version 1 cites none |
//! | `Received` | 1 | 2 | none: version 2 may hold the complainant's identity sealed (`sealed`) in place of the plain fields, which version 1 always has and version 2 still reads ([`WIDENED`]) |
//!
//! Fields added as optional and absent when empty keep the version: the event
//! envelope's `verdicts` (absent on events that end no clock, and on every event
//! recorded before verdicts were kept: such runs are judged as running ones are), a
//! disposition's `sub_unit`, a party's and an addressee's `nip`, and a BA's `place`.

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::Value;

/// One version step of one event type: a field added with the value the older version
/// implied.
#[derive(Debug, Clone, Copy)]
pub struct AddedField {
    /// The event type.
    pub event_type: &'static str,
    /// The version read.
    pub from: &'static str,
    /// The version produced.
    pub to: &'static str,
    /// The field added to the body.
    pub field: &'static str,
    /// Its value for events of the older version (JSON).
    pub implied: &'static str,
}

/// Every upcast of this version of the domain, oldest first.
pub const ADDED_FIELDS: [AddedField; 4] = [
    AddedField {
        event_type: "Reviewed",
        from: "1",
        to: "2",
        field: "clear",
        implied: "true",
    },
    AddedField {
        event_type: "Responded",
        from: "1",
        to: "2",
        field: "channel",
        implied: "\"lapor\"",
    },
    AddedField {
        event_type: "Closed",
        from: "1",
        to: "2",
        field: "reason",
        implied: "\"no_feedback\"",
    },
    AddedField {
        event_type: "SlaBreached",
        from: "1",
        to: "2",
        field: "judged_by",
        implied: "null",
    },
];

impl AddedField {
    /// The change on the event's JSON (`{"at", "by", "command_id", "body"}`).
    pub fn upcast_json(&self, event: &mut Value) {
        if let Some(body) = event.get_mut("body").and_then(Value::as_object_mut) {
            let implied = serde_json::from_str(self.implied).unwrap_or(Value::Null);
            body.entry(self.field).or_insert(implied);
        }
    }
}

impl EventUpcaster for AddedField {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == self.event_type && event_version == self.from
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        self.upcast_json(&mut event.payload);
        event.event_version = self.to.into();
        event
    }
}

/// A version step that changes no JSON: the newer version allows more than the older
/// one had, and an event of the older version is already valid as it stands.
#[derive(Debug, Clone, Copy)]
pub struct Widened {
    /// The event type.
    pub event_type: &'static str,
    /// The version read.
    pub from: &'static str,
    /// The version produced.
    pub to: &'static str,
}

/// Every widening of this version of the domain.
pub const WIDENED: [Widened; 1] = [Widened {
    event_type: "Received",
    from: "1",
    to: "2",
}];

impl EventUpcaster for Widened {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == self.event_type && event_version == self.from
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        event.event_version = self.to.into();
        event
    }
}

/// Every upcaster of this version of the domain, oldest first.
pub fn builtin() -> Vec<Box<dyn EventUpcaster>> {
    ADDED_FIELDS
        .iter()
        .map(|a| Box::new(*a) as Box<dyn EventUpcaster>)
        .chain(
            WIDENED
                .iter()
                .map(|w| Box::new(*w) as Box<dyn EventUpcaster>),
        )
        .collect()
}

/// Reads one event's JSON of `event_type` at `version` as the current version (for
/// recorded files that carry no envelope).
pub fn to_current(event_type: &str, version: &str, mut event: Value) -> Value {
    let mut version = version.to_owned();
    for a in &ADDED_FIELDS {
        if a.can_upcast(event_type, &version) {
            a.upcast_json(&mut event);
            version = a.to.to_owned();
        }
    }
    event
}
