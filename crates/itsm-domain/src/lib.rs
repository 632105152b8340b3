//! The pure core of `itsm`: what records are, which states they move through, how priority is derived,
//! which inputs are valid and who may do what. Nothing here performs I/O or reads the clock; callers pass
//! the current time in, so every rule is a deterministic function that tests can pin down.

pub mod access;
pub mod attachment;
pub mod audit;
pub mod calendar;
pub mod catalogue;
pub mod draft;
pub mod field;
pub mod ids;
pub mod incident;
pub mod kind;
pub mod lifecycle;
pub mod link;
pub mod number;
pub mod permission;
pub mod priority;
pub mod record;
pub mod record_fields;
pub mod registry;
pub mod role;
pub mod sla;
pub mod slm;
pub mod validation;

pub use access::{Actor, Role};
pub use audit::{diff_fields, FieldChange, FieldMap};
pub use ids::{GroupId, OrganizationId, RecordId, UserId};
pub use kind::RecordKind;
pub use lifecycle::{Lifecycle, TransitionError};
pub use link::LinkType;
pub use number::{RecordNumber, RecordRef};
pub use record::{Record, RecordFields};
pub use validation::{FieldError, ValidationError};

/// An instant in time. Storage keeps it as microseconds since the Unix epoch in UTC.
pub type Timestamp = jiff::Timestamp;
