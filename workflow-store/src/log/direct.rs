//! A replay's reads of the log on SQLite, straight from SQLite on a thread of their own
//! (decision 54).
//!
//! sqlx's SQLite driver runs each connection's statements on a worker thread and hands
//! every row across to the task that asked, one at a time; for a replay, which reads the
//! whole log, those hand-offs and the rows' conversion to sqlx's `Any` rows were most of
//! its reading (0.9 s of 1.35 s for 100,000 events, where SQLite itself took about
//! 0.15 s). A replay reads from a blocking thread of its own instead, through rusqlite
//! on the same SQLite library, and decodes each row there as the log's other reads do.

use cqrs_es::Aggregate;
use rusqlite::{Connection, OpenFlags};

use super::{LogRow, SqlLog, StoredEvent, Unreadable};
use crate::backend::SQLITE_BUSY_TIMEOUT;
use crate::error::{is_unavailable_code, StoreError};
use crate::position::Position;
use workflow_core::Complaint;

/// A read-only connection to the log's SQLite file, for one replay.
pub(crate) struct DirectReader {
    conn: Connection,
    log: SqlLog,
    by_complaint: String,
    after: String,
}

impl DirectReader {
    /// Opens the log's database file read-only. Each read is a statement of its own,
    /// which reads the database as it stood when the statement began (write-ahead log).
    pub(crate) fn open(log: &SqlLog) -> Result<Self, StoreError> {
        let path = log.db().path.clone().ok_or_else(|| {
            StoreError::defect("a direct read of a database not opened by its file's path")
        })?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| error("opening the log for a replay", e))?;
        conn.busy_timeout(SQLITE_BUSY_TIMEOUT)
            .map_err(|e| error("opening the log for a replay", e))?;
        // The statements the sqlx reads run: SQLite numbers `$1`, `$2`, ... in the order
        // they first appear, which is theirs.
        Ok(Self {
            by_complaint: log.by_complaint_sql(),
            after: log.after_sql(),
            conn,
            log: log.clone(),
        })
    }

    /// As `SqlLog::read_by_complaint`: the events after `after` (complaint and sequence)
    /// through `through`, complaint by complaint, at most `limit`.
    pub(crate) fn by_complaint(
        &self,
        after: (&str, i64),
        through: Position,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(
            &self.by_complaint,
            rusqlite::params![Complaint::TYPE, after.0, after.1, through.get(), limit],
        )
    }

    /// As `SqlLog::read_after`: the events after `position` in the log's order, at most
    /// `limit`.
    pub(crate) fn after(
        &self,
        position: Position,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(
            &self.after,
            rusqlite::params![Complaint::TYPE, position.get(), limit],
        )
    }

    fn read(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let reading = |e| error("reading the log for a replay", e);
        let mut statement = self.conn.prepare_cached(sql).map_err(reading)?;
        let mut rows = statement.query(params).map_err(reading)?;
        let mut events = Vec::new();
        while let Some(row) = rows.next().map_err(reading)? {
            let row = LogRow {
                position: Position::new(row.get("position").map_err(reading)?),
                complaint_id: row.get("aggregate_id").map_err(reading)?,
                sequence: row.get("sequence").map_err(reading)?,
                event_type: row.get("event_type").map_err(reading)?,
                event_version: row.get("event_version").map_err(reading)?,
                payload: row.get("payload").map_err(reading)?,
                metadata: row.get("metadata").map_err(reading)?,
                recorded_at: row.get("recorded_at").map_err(reading)?,
            };
            events.push(self.log.decode_row(row)?.map_err(Unreadable::into_error)?);
        }
        Ok(events)
    }
}

/// SQLite's error as the store's: unavailable for the codes that mean "not now" (busy,
/// I/O, full, ...), as for the driver's errors.
fn error(context: &str, e: rusqlite::Error) -> StoreError {
    let code = match &e {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.extended_code.to_string()),
        _ => None,
    };
    if is_unavailable_code(code.as_deref()) {
        StoreError::Unavailable {
            reason: format!("{context}: {e}"),
            source: Some(Box::new(e)),
        }
    } else {
        StoreError::backend(context, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn not_now_is_unavailable_and_the_rest_a_failure() {
        // 5 busy, 13 full, 10 an I/O error: not now. 11 a corrupt file, 8202 an I/O
        // error that reports corruption: not a passing fault.
        for code in [5, 13, 10, 5 | (3 << 8)] {
            assert!(
                matches!(
                    error("reading", failure(code)),
                    StoreError::Unavailable { .. }
                ),
                "{code}"
            );
        }
        for code in [11, 8202] {
            assert!(
                matches!(error("reading", failure(code)), StoreError::Backend { .. }),
                "{code}"
            );
        }
        let e = error("reading the log for a replay", failure(11));
        assert!(
            e.to_string().contains("reading the log for a replay"),
            "{e}"
        );
    }
}
