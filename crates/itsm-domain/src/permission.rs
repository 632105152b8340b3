//! The permissions roles grant. A use case asks for exactly one; a kind of record names the ones
//! that creating and changing its records take ([`crate::kind::KindAccess`]).

/// What an actor wants to do. Each use case asks for exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read records within the actor's scope.
    ReadRecords,
    /// Read internal notes (never shown to customers).
    ReadInternalNotes,
    /// Log a new incident.
    CreateIncident,
    /// Change an incident's fields, assignment and state.
    WorkIncidents,
    /// Add a public reply.
    CommentPublic,
    /// Add an internal note.
    CommentInternal,
    /// Attach files to records.
    Attach,
    /// Link records to each other.
    LinkRecords,
    /// Create and change services and configuration items.
    ManageCatalogue,
    /// Create users, disable them, issue API tokens for others.
    ManageUsers,
    /// Read the directory of users, groups and organizations.
    ReadDirectory,
    /// Create and change business calendars and agreements, replay SLA clocks, read the outbox.
    ManageServiceLevels,
}
