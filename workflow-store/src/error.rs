//! Errors of the storage layer.

use cqrs_es::AggregateError;
use workflow_core::{AgencyCode, BadAgencyCode, DomainError, Role};

/// An underlying error kept as a [`StoreError`]'s source: a `sqlx::Error`, a
/// `serde_json::Error`, an `io::Error`, a migration error, or what the event-sourcing
/// crates boxed. Reach it with [`std::error::Error::source`] and `downcast_ref`.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the engine could not execute a command, read the log or maintain a view.
///
/// Each message is one line that says everything (it includes the cause's own message,
/// for logs and problem details); the cause itself, where there is one, is the typed
/// [`source`](std::error::Error::source). Whether a failure is [`StoreError::Unavailable`]
/// (retry later) or [`StoreError::Backend`] (a defect) is decided from the typed cause
/// when the error is made, never from its text.
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
    /// The database cannot be reached, opened or written for now (missing, read-only,
    /// full, busy, down, timed out); retry later.
    #[error("database unavailable: {reason}")]
    Unavailable {
        /// What failed, naming the file or database where that helps.
        reason: String,
        /// The driver's or the file system's error, when one caused it.
        #[source]
        source: Option<Cause>,
    },
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
    #[error("database migration failed: {reason}")]
    Migration {
        /// What failed.
        reason: String,
        /// The migrator's error, when one caused it.
        #[source]
        source: Option<Cause>,
    },
    /// Stored data cannot be read back (a corrupt or unknown row).
    #[error("stored data of complaint {complaint_id} cannot be read: {reason}")]
    Integrity {
        /// The complaint.
        complaint_id: String,
        /// What is wrong, naming the sequence.
        reason: String,
        /// The decoding error, when one caused it.
        #[source]
        source: Option<Cause>,
    },
    /// A complaint or projection that does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A request the store refuses as it stands (a name that exists already, a role
    /// without the agency it needs); nothing was written.
    #[error("{0}")]
    Invalid(String),
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
        sequence: workflow_core::Sequence,
    },
    /// The keys of personal data cannot be used: the key file is missing, is not the
    /// database's, or does not open a key (docs/privacy.md says what to do).
    #[error("personal-data keys: {reason}")]
    Keys {
        /// What is wrong.
        reason: String,
    },
    /// A setting that was refused (an amendment that does not parse, a policy that does
    /// not deserialize); nothing was recorded.
    #[error("{0}; nothing was recorded")]
    BadSetting(#[from] crate::settings::SettingError),
    /// A record the store keeps (a token, an agency of the registry) was refused as
    /// asked; nothing was written. [`Refusal::rule`] names why.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The database, its driver or the machine failed in another way (a defect to
    /// report, not something a retry mends).
    #[error("event store: {reason}")]
    Backend {
        /// What failed.
        reason: String,
        /// The underlying error, when one caused it.
        #[source]
        source: Option<Cause>,
    },
}

impl StoreError {
    /// Unavailable for a reason of our own, with no underlying error.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))] // only SQLite's opens use it
    pub(crate) fn unavailable(reason: impl Into<String>) -> Self {
        StoreError::Unavailable {
            reason: reason.into(),
            source: None,
        }
    }

    /// A failure of something underneath, kept as the source; `context` says what was
    /// being done, the cause's own message follows it.
    pub(crate) fn backend(
        context: impl std::fmt::Display,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Backend {
            reason: format!("{context}: {cause}"),
            source: Some(Box::new(cause)),
        }
    }

    /// A defect of our own, with no underlying error.
    pub(crate) fn defect(reason: impl Into<String>) -> Self {
        StoreError::Backend {
            reason: reason.into(),
            source: None,
        }
    }

    /// Stored data of `complaint_id` that does not decode; `reason` names the row.
    pub(crate) fn integrity(
        complaint_id: impl Into<String>,
        reason: impl Into<String>,
        cause: Option<Cause>,
    ) -> Self {
        StoreError::Integrity {
            complaint_id: complaint_id.into(),
            reason: reason.into(),
            source: cause,
        }
    }

    /// Back from the error type of the cqrs-es traits the log implements. Our own
    /// errors travel through it boxed and come back as they were; what the
    /// event-sourcing crates made is judged by its typed cause (a `sqlx::Error` as our
    /// own SQL's) or, failing that, by the kind cqrs-es gave it.
    pub(crate) fn from_aggregate(complaint_id: &str, err: AggregateError<DomainError>) -> Self {
        match err {
            AggregateError::UserError(e) => StoreError::Domain(e),
            AggregateError::AggregateConflict => StoreError::Conflict {
                complaint_id: complaint_id.to_owned(),
                attempts: 1,
            },
            AggregateError::DeserializationError(e) => match e.downcast::<StoreError>() {
                Ok(ours) => *ours,
                Err(e) => StoreError::integrity(complaint_id, e.to_string(), Some(e)),
            },
            // A connection error is "not now" whatever it wraps.
            AggregateError::DatabaseConnectionError(e) => match from_cause(e) {
                StoreError::Backend { reason, source } => {
                    StoreError::Unavailable { reason, source }
                }
                other => other,
            },
            AggregateError::UnexpectedError(e) => from_cause(e),
        }
    }

    /// Into the error type of the cqrs-es traits, boxed whole so that
    /// [`StoreError::from_aggregate`] gets it back unchanged.
    pub(crate) fn into_aggregate(self) -> AggregateError<DomainError> {
        match self {
            StoreError::Domain(e) => AggregateError::UserError(e),
            e @ StoreError::Integrity { .. } => AggregateError::DeserializationError(Box::new(e)),
            e @ StoreError::Unavailable { .. } => {
                AggregateError::DatabaseConnectionError(Box::new(e))
            }
            e => AggregateError::UnexpectedError(Box::new(e)),
        }
    }
}

/// A boxed error from the event-sourcing crates: ours back as it was, the driver's
/// judged as our own SQL's, anything else a backend failure with it as the source.
fn from_cause(e: Cause) -> StoreError {
    let e = match e.downcast::<StoreError>() {
        Ok(ours) => return *ours,
        Err(e) => e,
    };
    match e.downcast::<sqlx::Error>() {
        Ok(sqlx) => StoreError::from(*sqlx),
        Err(e) => StoreError::Backend {
            reason: e.to_string(),
            source: Some(e),
        },
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        let reason = err.to_string();
        if is_transient(&err) {
            StoreError::Unavailable {
                reason,
                source: Some(Box::new(err)),
            }
        } else {
            StoreError::Backend {
                reason,
                source: Some(Box::new(err)),
            }
        }
    }
}

/// Whether a driver error means "not now" rather than "never": the connection, the
/// pool or the database's state, not the statement.
pub(crate) fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Configuration(_) => true,
        sqlx::Error::Database(db) => is_unavailable_code(db.code().as_deref()),
        _ => false,
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
    use super::{is_unavailable_code, StoreError};
    use cqrs_es::AggregateError;
    use std::error::Error as _;

    fn io_cause(err: &StoreError) -> Option<&std::io::Error> {
        let mut next = err.source();
        while let Some(e) = next {
            if let Some(io) = e.downcast_ref() {
                return Some(io);
            }
            next = e.source();
        }
        None
    }

    #[test]
    fn our_errors_cross_the_cqrs_es_error_type_unchanged_with_their_causes() {
        let refused = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let unavailable = StoreError::from(sqlx::Error::Io(refused()));
        let back = StoreError::from_aggregate("ADU-1", unavailable.into_aggregate());
        assert!(matches!(back, StoreError::Unavailable { .. }), "{back:?}");
        assert_eq!(
            io_cause(&back).map(|e| e.kind()),
            Some(std::io::ErrorKind::ConnectionRefused)
        );

        let json = serde_json::from_str::<u8>("x").unwrap_err();
        let integrity = StoreError::integrity("ADU-1", "sequence 2", Some(Box::new(json)));
        let back = StoreError::from_aggregate("ADU-1", integrity.into_aggregate());
        assert_eq!(
            back.to_string(),
            "stored data of complaint ADU-1 cannot be read: sequence 2"
        );
        assert!(
            back.source().is_some_and(|s| s.is::<serde_json::Error>()),
            "{back:?}"
        );
    }

    #[test]
    fn driver_errors_boxed_by_cqrs_es_are_judged_by_their_type() {
        let io = || sqlx::Error::Io(std::io::Error::other("reset"));
        // As sqlite-es and postgres-es box them: a transient one is unavailable under
        // any kind, a defect is unavailable only when cqrs-es calls it a connection error.
        for (err, unavailable) in [
            (AggregateError::UnexpectedError(Box::new(io())), true),
            (
                AggregateError::DatabaseConnectionError(Box::new(io())),
                true,
            ),
            (
                AggregateError::UnexpectedError(Box::new(sqlx::Error::RowNotFound)),
                false,
            ),
            (
                AggregateError::DatabaseConnectionError(Box::new(sqlx::Error::RowNotFound)),
                true,
            ),
        ] {
            let judged = StoreError::from_aggregate("ADU-1", err);
            assert_eq!(
                matches!(judged, StoreError::Unavailable { .. }),
                unavailable,
                "{judged:?}"
            );
            assert!(
                matches!(
                    judged,
                    StoreError::Unavailable { .. } | StoreError::Backend { .. }
                ),
                "{judged:?}"
            );
            let cause = judged
                .source()
                .and_then(|s| s.downcast_ref::<sqlx::Error>());
            assert!(
                cause.is_some(),
                "the driver's error is the source: {judged:?}"
            );
        }
    }

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

/// Why the store refused to issue a token or to change the agency registry: rules about
/// the records it keeps, as [`DomainError`] holds the rules about complaints. Each has a
/// stable dotted code ([`Refusal::rule`]); a host answers them as a rule refused (HTTP
/// 422), or prints them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a user name a token may carry ([`workflow_core::actor::is_valid_user_name`]).
    #[error("user name `{0}` is empty, contains `:`, or is one the engine keeps for itself")]
    UserName(String),
    /// A liaison officer or head of agency acts for an agency, and must name it.
    #[error("role {0} belongs to an agency: a token for it names one")]
    AgencyRequired(Role),
    /// The other roles act for no agency.
    #[error("role {0} belongs to no agency: a token for it names none")]
    AgencyNotAllowed(Role),
    /// An expiry at or before the token's creation.
    #[error("a token's expiry must come after its creation")]
    ExpiryNotInFuture,
    /// Not a well-formed agency code.
    #[error(transparent)]
    AgencyCode(#[from] BadAgencyCode),
    /// A code the registry does not hold.
    #[error("agency `{0}` is not registered")]
    UnknownAgency(AgencyCode),
    /// A retired agency takes no new tokens and no new complaints.
    #[error("agency `{0}` is retired: it takes no new tokens or complaints")]
    RetiredAgency(AgencyCode),
    /// Registered already, with other details than those given.
    #[error("agency `{0}` is registered already, with other details")]
    AgencyExists(AgencyCode),
    /// Tokens, complaints or uploads name the agency: removing it would leave them
    /// naming an agency nobody knows.
    #[error("agency `{code}` is in use ({uses}): it can be retired, not removed")]
    AgencyInUse {
        /// The agency.
        code: AgencyCode,
        /// What names it, for people (`2 tokens, complaints`).
        uses: String,
    },
    /// A detail of an agency that is not acceptable as given.
    #[error("agency {field}: {reason}")]
    AgencyDetail {
        /// Which detail (`name`, `head NIP`, …).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl Refusal {
    /// The stable code of the rule, for programs (`agency.unknown`).
    pub fn rule(&self) -> &'static str {
        match self {
            Refusal::UserName(_) => "token.user_name_invalid",
            Refusal::AgencyRequired(_) => "token.agency_required",
            Refusal::AgencyNotAllowed(_) => "token.agency_not_allowed",
            Refusal::ExpiryNotInFuture => "token.expiry_not_in_future",
            Refusal::AgencyCode(_) => "agency.code_invalid",
            Refusal::UnknownAgency(_) => "agency.unknown",
            Refusal::RetiredAgency(_) => "agency.retired",
            Refusal::AgencyExists(_) => "agency.already_registered",
            Refusal::AgencyInUse { .. } => "agency.in_use",
            Refusal::AgencyDetail { .. } => "agency.detail_invalid",
        }
    }
}
