//! A kind's own fields, declared as data beside its lifecycle: their names in `details`, labels,
//! types, whether a new record must have them and what changing them takes. What takes a field
//! from people (the generic create and change in `draft`, a transition's form, the record's forms
//! and the API's schema) is drawn from here, so a kind declares a field once.

use serde::Serialize;
use serde_json::Value;

use crate::permission::Permission;
use crate::validation::{optional_text, required_text, ValidationError};

/// One of a kind's own fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    /// The key in the record's `details`, also its name in the API and in forms.
    pub name: &'static str,
    /// A label for people.
    pub label: &'static str,
    pub ty: FieldType,
    /// Whether a new record must be given a value.
    pub required: bool,
    /// A permission setting this field takes beyond the kind's change permission (a service's
    /// calendar moves SLA figures, so it takes the permission to manage service levels).
    #[serde(skip)]
    pub guard: Option<Permission>,
    /// Whether lists filter on it (and sort by it, when its values have an order): storage keeps
    /// an index for it.
    pub indexed: bool,
    /// Whether a text search finds a record by this field, as by its title and description.
    pub searched: bool,
}

/// How lists compare a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// As text: lists filter on it but do not sort by it.
    Text,
    /// As a number (an id, a count).
    Number,
    /// As a date.
    Date,
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
    /// A record of the named kind, by id. With `same_service`, it must belong to the service the
    /// record names (an incident's offering is an offering of its service).
    Reference { kind: &'static str, same_service: bool },
    /// Yes or no.
    Flag,
    /// A calendar date (`2026-12-31`), such as a review date.
    Date,
    /// A value with a shape of its own (a calendar's weekly hours, an agreement's targets),
    /// given and checked through the kind's own use cases; `shape` says what it is in words, and
    /// `form` what JSON it is, for the API's description. Only kinds with writes of their own have
    /// such fields.
    Structured { shape: &'static str, form: Form },
    /// An instant the kind's rules set (when it was resolved), never given by people.
    Instant,
    /// A count the kind's rules keep (how often it was reopened), never given by people.
    Count,
}

/// The JSON form of a [`FieldType::Structured`] value, so that the API describes it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "form", content = "name")]
pub enum Form {
    /// A list of texts.
    Texts,
    /// A list of record ids.
    Ids,
    /// A value of a form the API describes under this name (`WorkingHours`).
    Named(&'static str),
    /// A list of values, each of the form the API describes under this name.
    ListOf(&'static str),
}

/// One value of a [`FieldType::Choice`], with its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

impl FieldType {
    /// A reference to a record of `kind`.
    pub const fn reference(kind: &'static str) -> FieldType {
        FieldType::Reference {
            kind,
            same_service: false,
        }
    }
}

impl FieldSpec {
    pub const fn new(name: &'static str, label: &'static str, ty: FieldType) -> FieldSpec {
        FieldSpec {
            name,
            label,
            ty,
            required: false,
            guard: None,
            indexed: false,
            searched: false,
        }
    }

    /// The same field, which a text search covers (text only).
    pub const fn searched(self) -> FieldSpec {
        FieldSpec {
            searched: true,
            ..self
        }
    }

    /// The same field, which lists filter on (and sort by, when its values have an order).
    pub const fn indexed(self) -> FieldSpec {
        FieldSpec {
            indexed: true,
            ..self
        }
    }

    /// Whether lists can sort by this field.
    pub fn sortable(&self) -> bool {
        self.indexed && matches!(self.ty.list_order(), Some(ListOrder::Number | ListOrder::Date))
    }

    /// Reads a list filter on this field from its text in a query (`?category=network`): the
    /// value as stored, or what is wrong with it.
    pub fn filter_value(&self, raw: &str) -> Result<Value, String> {
        let given = match self.ty.list_order() {
            Some(ListOrder::Number) => match raw.trim().parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => return Err("must be a number".to_owned()),
            },
            Some(ListOrder::Text | ListOrder::Date) => Value::from(raw),
            None => return Err("lists do not filter on this field".to_owned()),
        };
        if !self.is_input() {
            // A value the kind's rules keep (a count) is compared as it is, within its range.
            return match (self.ty, given.as_i64()) {
                (FieldType::Count, Some(n)) if n < 0 => Err("must be 0 or more".to_owned()),
                _ => Ok(given),
            };
        }
        let mut errors = ValidationError::new();
        let value = self.check(&given, &mut errors);
        match errors.errors.into_iter().next() {
            Some(e) => Err(e.message),
            None if value.is_null() => Err("must not be empty".to_owned()),
            None => Ok(value),
        }
    }

    /// The same field, which a new record must be given.
    pub const fn required(self) -> FieldSpec {
        FieldSpec {
            required: true,
            ..self
        }
    }

    /// The same field, whose setting also takes `permission`.
    pub const fn guarded_by(self, permission: Permission) -> FieldSpec {
        FieldSpec {
            guard: Some(permission),
            ..self
        }
    }

    /// Whether people give this field (rather than the kind's rules setting it).
    pub fn is_input(&self) -> bool {
        !matches!(self.ty, FieldType::Instant | FieldType::Count)
    }

    /// Checks a value people gave for this field and answers it as it is stored: texts trimmed,
    /// dates written one way, an empty text or `null` as `Null` (the field cleared). What is wrong
    /// is added to `errors` under the field's name.
    pub fn check(&self, value: &Value, errors: &mut ValidationError) -> Value {
        let name = self.name;
        let before = errors.errors.len();
        let checked = match (&self.ty, value) {
            (_, Value::Null) => Value::Null,
            (FieldType::Instant | FieldType::Count, _) => {
                errors.add(name, "is set by the system, not given");
                Value::Null
            }
            (FieldType::Structured { .. }, _) => {
                errors.add(name, "is given through the kind's own use case");
                Value::Null
            }
            (FieldType::Text { max }, Value::String(s)) if !s.trim().is_empty() => {
                if s.contains('\n') {
                    errors.add(name, "must be one line");
                }
                Value::from(required_text(errors, name, s, *max))
            }
            (FieldType::LongText { max }, Value::String(s)) => {
                let text = optional_text(errors, name, s, *max);
                if text.is_empty() {
                    Value::Null
                } else {
                    Value::from(text)
                }
            }
            (FieldType::Text { .. }, Value::String(_)) => Value::Null,
            (FieldType::Choice { choices }, Value::String(s)) => {
                if choices.iter().any(|c| c.value == s) {
                    Value::from(s.clone())
                } else {
                    let values: Vec<&str> = choices.iter().map(|c| c.value).collect();
                    let given: String = s.chars().take(40).collect();
                    errors.add(
                        name,
                        format!("must be one of {}, not `{given}`", values.join(", ")),
                    );
                    Value::Null
                }
            }
            (FieldType::Reference { .. }, Value::Number(n)) => match n.as_i64() {
                Some(id) if id > 0 => Value::from(id),
                _ => {
                    errors.add(name, "must be the id of a record");
                    Value::Null
                }
            },
            (FieldType::Flag, Value::Bool(b)) => Value::from(*b),
            (FieldType::Date, Value::String(s)) => match s.trim().parse::<jiff::civil::Date>() {
                Ok(d) => Value::from(d.to_string()),
                Err(_) => {
                    errors.add(name, "must be a date such as 2026-12-31");
                    Value::Null
                }
            },
            (ty, _) => {
                errors.add(name, format!("must be {}", ty.expected()));
                Value::Null
            }
        };
        if errors.errors.len() > before {
            Value::Null
        } else {
            checked
        }
    }
}

impl FieldType {
    /// How lists compare values of this type; `None` when they cannot filter on it.
    pub fn list_order(&self) -> Option<ListOrder> {
        match self {
            FieldType::Text { .. } | FieldType::Choice { .. } => Some(ListOrder::Text),
            FieldType::Reference { .. } | FieldType::Count => Some(ListOrder::Number),
            FieldType::Date => Some(ListOrder::Date),
            FieldType::LongText { .. }
            | FieldType::Flag
            | FieldType::Structured { .. }
            | FieldType::Instant => None,
        }
    }

    /// What a value of this type is, for an error message.
    fn expected(&self) -> &'static str {
        match self {
            FieldType::Text { .. } | FieldType::LongText { .. } => "text",
            FieldType::Choice { .. } => "one of its values, as text",
            FieldType::Reference { .. } => "the id of a record",
            FieldType::Flag => "true or false",
            FieldType::Date => "a date such as 2026-12-31",
            FieldType::Structured { shape, .. } => shape,
            FieldType::Instant | FieldType::Count => "set by the system",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHADES: &[Choice] = &[
        Choice {
            value: "red",
            label: "Red",
        },
        Choice {
            value: "blue",
            label: "Blue",
        },
    ];

    fn checked(ty: FieldType, v: Value) -> Result<Value, Vec<String>> {
        let mut errors = ValidationError::new();
        let out = FieldSpec::new("f", "F", ty).check(&v, &mut errors);
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors.errors.into_iter().map(|e| e.message).collect())
        }
    }

    #[test]
    fn values_are_checked_against_their_type_and_stored_one_way() {
        let text = FieldType::Text { max: 5 };
        assert_eq!(checked(text, json!("  abc ")), Ok(json!("abc")));
        assert_eq!(checked(text, json!("   ")), Ok(Value::Null));
        assert!(checked(text, json!("abcdef")).is_err());
        assert!(checked(text, json!("a\nb")).is_err());
        assert!(checked(text, json!(3)).is_err());
        let long = FieldType::LongText { max: 10 };
        assert_eq!(checked(long, json!("a\nb")), Ok(json!("a\nb")));
        assert!(checked(long, json!("a\u{0}b")).is_err());
        let choice = FieldType::Choice { choices: SHADES };
        assert_eq!(checked(choice, json!("red")), Ok(json!("red")));
        assert_eq!(
            checked(choice, json!("green")),
            Err(vec!["must be one of red, blue, not `green`".to_owned()])
        );
        let reference = FieldType::reference("service");
        assert_eq!(checked(reference, json!(7)), Ok(json!(7)));
        assert!(checked(reference, json!(0)).is_err());
        assert!(checked(reference, json!("7")).is_err());
        assert_eq!(checked(FieldType::Flag, json!(true)), Ok(json!(true)));
        assert!(checked(FieldType::Flag, json!("yes")).is_err());
        assert_eq!(
            checked(FieldType::Date, json!("2026-12-31")),
            Ok(json!("2026-12-31"))
        );
        assert!(checked(FieldType::Date, json!("2026-02-30")).is_err());
        assert!(checked(FieldType::Instant, json!("2026-12-31T00:00:00Z")).is_err());
        for ty in [text, long, choice, reference, FieldType::Flag, FieldType::Date] {
            assert_eq!(checked(ty, Value::Null), Ok(Value::Null), "{ty:?}");
        }
    }

    #[test]
    fn a_list_filter_reads_a_value_as_the_field_stores_it() {
        let category = FieldSpec::new("category", "Category", FieldType::Text { max: 5 }).indexed();
        assert_eq!(category.filter_value(" net "), Ok(json!("net")));
        assert!(category.filter_value("").is_err());
        assert!(category.filter_value("network").is_err());
        let count = FieldSpec::new("reopen_count", "Times reopened", FieldType::Count).indexed();
        assert_eq!(count.filter_value("0"), Ok(json!(0)));
        assert!(count.filter_value("often").is_err());
        assert!(count.filter_value("-1").is_err());
        let due = FieldSpec::new("due_on", "Due on", FieldType::Date).indexed();
        assert_eq!(due.filter_value("2026-12-31"), Ok(json!("2026-12-31")));
        assert!(due.filter_value("soon").is_err());
        assert!(due.sortable() && count.sortable() && !category.sortable());
        let notes = FieldSpec::new("notes", "Notes", FieldType::LongText { max: 9 });
        assert!(notes.filter_value("x").is_err());
    }
}
