//! Errors of the storage layer.

use cqrs_es::AggregateError;
use workflow_core::DomainError;

/// Why the engine could not execute a command, read the log or maintain a view.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The domain refused the command; nothing was written.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Other writers kept changing the complaint; nothing was written. Retry later.
    #[error("complaint {complaint_id} was changed concurrently {attempts} times in a row; nothing was written")]
    Conflict {
        /// The complaint.
        complaint_id: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The store URL names no supported backend or cannot be parsed.
    #[error("store URL `{url}`: {reason}")]
    BadUrl {
        /// The URL as given (without its password).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database cannot be reached, opened or written (missing, read-only, down).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database is not one of this engine's: it holds another program's tables (or
    /// marker), and nothing in it was changed.
    #[error(
        "{database} is not an aduan database: it holds {found}; nothing in it was changed. {hint}"
    )]
    ForeignDatabase {
        /// The database (a path, or the URL without its password).
        database: String,
        /// What was found instead of the engine's marker.
        found: String,
        /// What to do.
        hint: String,
    },
    /// `Store::adopt` cannot bring this database under the engine; nothing was changed.
    #[error("cannot adopt {database}: {reason}; nothing was changed")]
    NotAdoptable {
        /// The database (a path, or the URL without its password).
        database: String,
        /// Why, naming the complaint and sequence where one is at fault.
        reason: String,
    },
    /// The store was opened read-only, or the database cannot be used by a read-only
    /// open as it is (it needs migrating first); nothing was written.
    #[error("read-only: {0}")]
    ReadOnly(String),
    /// Migrations could not be applied; the schema is as it was.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// Stored data cannot be read back (a corrupt or unknown row).
    #[error("stored data of complaint {complaint_id} cannot be read: {reason}")]
    Integrity {
        /// The complaint.
        complaint_id: String,
        /// What is wrong, naming the sequence.
        reason: String,
    },
    /// A complaint or projection that does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A checkpoint file that is unreadable, altered, or signed by another key.
    #[error("checkpoint: {0}")]
    BadCheckpoint(String),
    /// The log does not verify; nothing was signed.
    #[error("the log does not verify: {0}")]
    ChainBroken(String),
    /// Writing an export failed (a full disk, a closed pipe).
    #[error("writing the export: {0}")]
    Write(#[source] std::io::Error),
    /// A page cursor that this engine did not hand out.
    #[error("page cursor `{0}` is not one this engine handed out")]
    BadCursor(String),
    /// Waiting for the views to include a write took too long.
    #[error("the views did not reach complaint {complaint_id} sequence {sequence} in time")]
    NotYetProjected {
        /// The complaint.
        complaint_id: String,
        /// The sequence waited for.
        sequence: u64,
    },
    /// The database or its driver failed in another way.
    #[error("event store: {0}")]
    Backend(String),
}

impl StoreError {
    pub(crate) fn from_aggregate(complaint_id: &str, err: AggregateError<DomainError>) -> Self {
        match err {
            AggregateError::UserError(e) => StoreError::Domain(e),
            AggregateError::AggregateConflict => StoreError::Conflict {
                complaint_id: complaint_id.to_owned(),
                attempts: 1,
            },
            AggregateError::DeserializationError(e) => StoreError::Integrity {
                complaint_id: complaint_id.to_owned(),
                reason: e.to_string(),
            },
            AggregateError::DatabaseConnectionError(e) => match e.downcast::<sqlx::Error>() {
                Ok(sqlx) => match StoreError::from(*sqlx) {
                    StoreError::Backend(m) => StoreError::Unavailable(m),
                    other => other,
                },
                Err(e) => StoreError::Unavailable(e.to_string()),
            },
            // The event-sourcing crates wrap the driver's error: judge it as our own SQL's.
            AggregateError::UnexpectedError(e) => match e.downcast::<sqlx::Error>() {
                Ok(sqlx) => StoreError::from(*sqlx),
                Err(e) => StoreError::Backend(e.to_string()),
            },
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Configuration(_) => StoreError::Unavailable(err.to_string()),
            sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                StoreError::Unavailable(err.to_string())
            }
            _ => StoreError::Backend(err.to_string()),
        }
    }
}

/// Whether a database error code means "not now" rather than "never": the database is
/// busy, full, read-only, failing to write, shutting down or gone. These are answered as
/// unavailable (HTTP 503 with `Retry-After`) on every path.
///
/// SQLite reports extended codes; their low byte is the primary code: 5 busy, 6 locked,
/// 8 read-only, 10 I/O error, 13 full, 14 cannot open, 15 lock protocol.
/// PostgreSQL: class 08 connection, 53 insufficient resources (53100 disk full), 57
/// operator intervention (57P01 admin shutdown, 57014 statement timeout), 58 system
/// error (58030 I/O), 55P03 lock not available (lock timeout), 25006 read-only
/// transaction, 25P03 idle-in-transaction timeout, 3D000 no such database, 28
/// authentication.
pub(crate) fn is_unavailable_code(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    // SQLSTATEs have five characters; SQLite's extended codes at most four digits.
    if let (true, Ok(n)) = (code.len() < 5, code.parse::<u32>()) {
        // SQLITE_IOERR_DATA (8202) and SQLITE_IOERR_CORRUPTFS (8458) report corruption,
        // not a passing fault.
        return matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14 | 15) && !matches!(n, 8202 | 8458);
    }
    // 40001 serialization failure and 40P01 deadlock: the transaction was rolled back;
    // the same request again may go through.
    matches!(
        code,
        "55P03" | "25006" | "25P03" | "3D000" | "40001" | "40P01"
    ) || ["08", "53", "57", "58", "28"]
        .iter()
        .any(|class| code.starts_with(class))
}

#[cfg(test)]
mod tests {
    use super::is_unavailable_code;

    #[test]
    fn transient_codes_are_unavailable_and_defects_are_not() {
        for code in [
            "5", "6", "8", "10", "13", "14", "778", "1034", "3338", "517", "57P01", "57014",
            "53100", "08006", "55P03", "25P03", "58030", "40001", "40P01",
        ] {
            assert!(is_unavailable_code(Some(code)), "{code}");
        }
        // Constraint violations, corruption and syntax errors are defects or conflicts.
        for code in [
            "1555", "2067", "19", "11", "1", "23505", "42601", "22P02", "8202", "8458",
        ] {
            assert!(!is_unavailable_code(Some(code)), "{code}");
        }
        assert!(!is_unavailable_code(None));
    }
}
