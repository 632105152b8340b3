//! Use cases every kind of record shares: read, list, history, comments, links and attachments, and
//! the one write path (create, change) that keeps the audit trail and state transitions in step.
//!
//! `resolve.rs` finds the record a use case is about; `read.rs`, `conversation.rs`, `links.rs`,
//! `attachments.rs` and `catalogue.rs` are the use cases; `pipeline.rs` is the one write path.

mod attachments;
mod catalogue;
mod conversation;
mod links;
mod pipeline;
mod read;
mod resolve;

pub use catalogue::*;
pub use conversation::*;
pub use links::*;
pub(crate) use pipeline::*;
pub(crate) use resolve::*;
