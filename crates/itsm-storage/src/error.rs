//! Storage errors: the few cases callers act on, and everything else as a database failure.

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The row to change is gone or was never there.
    #[error("not found")]
    NotFound,
    /// The record changed since the caller read it: its version no longer matches.
    #[error("the record was changed by someone else (current version {current})")]
    VersionConflict { current: i64 },
    /// A uniqueness rule was broken, such as a second user with the same name.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// Stored data that the code cannot read back; a bug or a hand-edited database.
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database server could not be reached: nothing listens there, or the network is down.
    #[error("cannot reach the database server at {address}")]
    Unreachable {
        address: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StorageError::Duplicate(db.message().to_owned());
            }
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return StorageError::NotFound;
        }
        StorageError::Database(e)
    }
}
