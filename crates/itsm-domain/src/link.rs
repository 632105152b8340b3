//! Typed links between any two records.

use serde::{Deserialize, Serialize};

/// How one record relates to another. Each type reads from the source record to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    /// A loose, symmetric association.
    RelatesTo,
    /// The source is a duplicate of the target.
    DuplicateOf,
    /// The source was caused by the target (an incident caused by a change, say).
    CausedBy,
    /// The source is the parent of the target (a major incident and its child incidents).
    ParentOf,
}

impl LinkType {
    pub const ALL: [LinkType; 4] = [
        LinkType::RelatesTo,
        LinkType::DuplicateOf,
        LinkType::CausedBy,
        LinkType::ParentOf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkType::RelatesTo => "relates_to",
            LinkType::DuplicateOf => "duplicate_of",
            LinkType::CausedBy => "caused_by",
            LinkType::ParentOf => "parent_of",
        }
    }

    pub fn parse(s: &str) -> Option<LinkType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// How the link reads from the source record.
    pub fn label(self) -> &'static str {
        match self {
            LinkType::RelatesTo => "relates to",
            LinkType::DuplicateOf => "duplicate of",
            LinkType::CausedBy => "caused by",
            LinkType::ParentOf => "parent of",
        }
    }

    /// How the link reads from the target record.
    pub fn inverse_label(self) -> &'static str {
        match self {
            LinkType::RelatesTo => "relates to",
            LinkType::DuplicateOf => "duplicated by",
            LinkType::CausedBy => "caused",
            LinkType::ParentOf => "child of",
        }
    }
}
