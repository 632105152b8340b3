//! The shared record table: insert with a readable number, read with display names, update under
//! optimistic concurrency, and list with filters, sorting, keyset pagination and full-text search.
//!
//! `write.rs` inserts and updates records (one at a time or many in one statement), `read.rs`
//! reads them by id or number, `list.rs` plans and walks the filtered, sorted, paged lists and
//! their text search; `view.rs` is the shape a read answers, `params.rs` how statements are
//! bound and planned.

pub(crate) mod fields;
mod list;
mod params;
mod read;
mod view;
mod write;

pub(crate) use fields::ensure_indexes;
pub use list::*;
pub(crate) use params::{planned_per_call, Params};
pub use read::*;
pub use view::{QueueClock, RecordNames, RecordView};
pub use write::*;
