//! What a use case can answer besides success. The web layer maps each variant to one HTTP status
//! and problem type; the CLI prints it as one line.

use itsm_domain::draft::ChangeError;
use itsm_domain::{TransitionError, ValidationError};
use itsm_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid credentials.
    #[error("sign-in required")]
    Unauthenticated,
    /// Too many failed sign-ins; try again later.
    #[error("too many failed sign-ins; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: i64 },
    /// Signed in, but not allowed to do this.
    #[error("you are not allowed to do this")]
    Forbidden,
    /// Signed in and allowed to write on the record, but not to do this with it (a move the
    /// lifecycle keeps for staff); says what was refused.
    #[error("{0}")]
    NotYours(String),
    /// No such record, or one the caller may not see: the two look the same on purpose.
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The caller's version is not the current one; nothing was changed.
    #[error("the record was changed since you read it (current version {current})")]
    VersionMismatch { current: i64 },
    /// An update without the version it is based on.
    #[error("the version the change is based on is required (If-Match)")]
    VersionRequired,
    /// Something with the same name or key exists.
    #[error("{0}")]
    Conflict(String),
    /// The system is not set up for this yet.
    #[error("{0}")]
    Setup(String),
    #[error("storage failure: {0}")]
    Storage(#[source] StorageError),
    /// A failure of the server itself, such as a background writer that went away.
    #[error("internal failure: {0}")]
    Internal(String),
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::VersionConflict { current } => AppError::VersionMismatch { current },
            StorageError::Duplicate(what) => AppError::Conflict(format!("already exists ({what})")),
            other => AppError::Storage(other),
        }
    }
}

impl From<ChangeError> for AppError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Invalid(v) => AppError::Invalid(v),
            ChangeError::Transition(t) => AppError::Transition(t),
            ChangeError::NotYours(m) => AppError::NotYours(m),
        }
    }
}

impl From<itsm_storage::SqlxError> for AppError {
    fn from(e: itsm_storage::SqlxError) -> Self {
        AppError::from(StorageError::from(e))
    }
}
