//! Errors of the storage layer.

use cqrs_es::AggregateError;
use workflow_core::DomainError;

/// Why the engine could not execute a command or read the log.
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
    /// A stored event could not be read back.
    #[error("stored data of complaint {complaint_id} cannot be read: {reason}")]
    Integrity {
        /// The complaint.
        complaint_id: String,
        /// What is wrong.
        reason: String,
    },
    /// The database or its driver failed.
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
            AggregateError::DatabaseConnectionError(e) | AggregateError::UnexpectedError(e) => {
                StoreError::Backend(e.to_string())
            }
        }
    }
}
