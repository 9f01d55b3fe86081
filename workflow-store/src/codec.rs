//! How values are written as text in the database, in one place. Instants are stored as
//! fixed-width UTC text, so that text order is time order and the SQL of both backends
//! can compare and index them; statuses, steps, roles and confidentiality levels as the
//! core's stable names. Reading a column back goes through here too, so a row that does
//! not decode is an integrity error naming the complaint and the column, never a panic
//! and never a string passed on.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use workflow_core::Sequence;

use crate::error::StoreError;

/// The fixed-width UTC form every view stores instants in, so that text order is time
/// order: `2026-11-30T02:00:00.000000Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn undecodable(complaint_id: &str, column: &str, value: &str, why: &str) -> StoreError {
    StoreError::integrity(
        complaint_id,
        format!("column `{column}` holds `{value}`: {why}"),
        None,
    )
}

/// An instant stored by [`timestamp`] (or any RFC 3339 text).
pub(crate) fn instant(
    complaint_id: &str,
    column: &str,
    text: &str,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| undecodable(complaint_id, column, text, &e.to_string()))
}

/// An optional instant.
pub(crate) fn instant_opt(
    complaint_id: &str,
    column: &str,
    text: Option<&str>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(|t| instant(complaint_id, column, t)).transpose()
}

/// A value stored by its stable name (a status, a step, a role, a confidentiality).
pub(crate) fn named<T>(complaint_id: &str, column: &str, text: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e: T::Err| undecodable(complaint_id, column, text, &e.to_string()))
}

/// A sequence as the database's 64-bit integer column holds it.
pub(crate) fn sequence_column(sequence: Sequence) -> i64 {
    i64::try_from(sequence.get()).unwrap_or(i64::MAX)
}

/// A sequence read from the database's column (a negative one, which no append writes,
/// reads as zero: the chain check reports such a row).
pub(crate) fn sequence(column: i64) -> Sequence {
    Sequence::new(u64::try_from(column).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use workflow_core::{Status, Step};

    #[test]
    fn stored_instants_read_back_and_keep_text_order() {
        let a = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
        let b = a + chrono::Duration::microseconds(1);
        assert_eq!(instant("c", "at", &timestamp(a)).unwrap(), a);
        assert!(timestamp(a) < timestamp(b));
    }

    #[test]
    fn an_undecodable_column_is_an_integrity_error_naming_it() {
        let e = instant("ADU-1", "due_at", "yesterday").unwrap_err();
        assert!(e.to_string().contains("due_at"), "{e}");
        let e = named::<Status>("ADU-1", "status", "sleeping").unwrap_err();
        assert!(matches!(e, StoreError::Integrity { .. }), "{e}");
        assert_eq!(
            named::<Step>("ADU-1", "step", "follow_up").unwrap(),
            Step::FollowUp
        );
    }
}
