//! Use cases every kind of record shares: read, list, history, comments, links and attachments, and
//! the one write path (create, change) that keeps the audit trail and state transitions in step.
//!
//! `resolve.rs` finds the record a use case is about; `read.rs`, `conversation.rs`, `links.rs`,
//! `attachments.rs` are the use cases; `declared.rs` creates and changes every kind whose writes are
//! declared, `references.rs` checks what a record refers to, and `pipeline.rs` is the one write path.

mod attachments;
mod conversation;
mod declared;
mod links;
mod pipeline;
mod read;
mod references;
mod resolve;

pub use conversation::*;
pub use declared::*;
pub use links::*;
pub(crate) use pipeline::*;
pub(crate) use references::*;
pub(crate) use resolve::*;
