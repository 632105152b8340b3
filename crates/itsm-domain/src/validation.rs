//! Validation errors that name the field and say what is wrong, so every surface can show them.

use serde::Serialize;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// One or more invalid fields; nothing was changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", self.summary())]
pub struct ValidationError {
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when no field was invalid, so collected checks can end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), ValidationError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    fn summary(&self) -> String {
        self.errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Checks a required single-line text: trimmed, non-empty, at most `max` characters.
pub fn required_text(errors: &mut ValidationError, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.add(field, "must not be empty");
    } else if v.chars().count() > max {
        errors.add(field, format!("must be at most {max} characters"));
    }
    v.to_owned()
}

/// Checks an optional long text against a length limit.
pub fn optional_text(errors: &mut ValidationError, field: &str, value: &str, max: usize) -> String {
    if value.chars().count() > max {
        errors.add(field, format!("must be at most {max} characters"));
    }
    value.trim().to_owned()
}
