//! A kind's own fields, declared as data beside its lifecycle: their names in `details`, labels
//! and types. What takes a field from people (a transition's form, later the record's forms and
//! the API's schema) is drawn from here, so a kind declares a field once.

use serde::Serialize;

/// One of a kind's own fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    /// The key in the record's `details`, also its name in the API and in forms.
    pub name: &'static str,
    /// A label for people.
    pub label: &'static str,
    pub ty: FieldType,
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FieldType {
    /// One line of text, at most `max` characters.
    Text { max: usize },
    /// Text of several lines, at most `max` characters.
    LongText { max: usize },
    /// One value of a fixed list.
    Choice { choices: &'static [Choice] },
    /// A record of the named kind, by id.
    Reference { kind: &'static str },
    /// An instant the kind's rules set (when it was resolved), never given by people.
    Instant,
    /// A count the kind's rules keep (how often it was reopened), never given by people.
    Count,
}

/// One value of a [`FieldType::Choice`], with its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

impl FieldSpec {
    pub const fn new(name: &'static str, label: &'static str, ty: FieldType) -> FieldSpec {
        FieldSpec { name, label, ty }
    }

    /// Whether people give this field (rather than the kind's rules setting it).
    pub fn is_input(&self) -> bool {
        !matches!(self.ty, FieldType::Instant | FieldType::Count)
    }
}
