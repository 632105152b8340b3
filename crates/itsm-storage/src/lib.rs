//! Persistence for `itsm`. One code path over two databases: sqlx's `Any` driver runs the same SQL
//! on SQLite (the embedded default) and PostgreSQL (production); the few places where the dialects
//! differ (readable-number allocation, full-text search) branch on [`Backend`].
//!
//! Every function takes a connection, so a use case can run any number of them in one transaction
//! (see [`Store::begin`]), which is how a change and its audit event always commit together.

mod backend;
pub mod batch;
mod db;
mod error;

pub mod attachments;
pub mod audit;
pub mod comments;
pub mod links;
pub mod people;
pub mod records;
pub mod references;
pub mod search;
pub mod sla;
pub mod testing;

pub use backend::Backend;
pub use db::{Conn, Store, StoreOptions, Tx, Upkeep, WriteShape};
pub use error::StorageError;
/// The connection every storage function takes; a transaction or a pooled connection derefs to it.
pub use sqlx::AnyConnection;
/// The driver error, for callers that commit or roll back a [`Tx`].
pub use sqlx::Error as SqlxError;

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

pub(crate) fn micros(t: jiff::Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn instant(us: i64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_microsecond(us).map_err(|e| StorageError::Corrupt(format!("bad instant {us}: {e}")))
}
