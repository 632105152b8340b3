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

/// The first control character in a text that no text field may hold: every Unicode control
/// character except tab and newline (a carriage return only as part of a CR LF newline, which
/// browsers send from text areas). PostgreSQL cannot store NUL at all, and the others are never
/// typed by a person: they come from pasted binary or from probing.
pub fn forbidden_control(value: &str) -> Option<char> {
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let allowed = match c {
            '\t' | '\n' => true,
            '\r' => chars.peek() == Some(&'\n'),
            c => !c.is_control(),
        };
        if !allowed {
            return Some(c);
        }
    }
    None
}

/// The message for a text holding a control character, the same on every surface.
pub fn control_message(c: char) -> String {
    format!(
        "must not contain control characters (found U+{:04X}); only tab and newline are allowed",
        u32::from(c)
    )
}

fn check_controls(errors: &mut ValidationError, field: &str, value: &str) -> bool {
    match forbidden_control(value) {
        Some(c) => {
            errors.add(field, control_message(c));
            false
        }
        None => true,
    }
}

/// Checks a required single-line text: trimmed, non-empty, at most `max` characters.
pub fn required_text(errors: &mut ValidationError, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if !check_controls(errors, field, v) {
    } else if v.is_empty() {
        errors.add(field, "must not be empty");
    } else if v.chars().count() > max {
        errors.add(field, format!("must be at most {max} characters"));
    }
    v.to_owned()
}

/// Checks an optional long text against a length limit.
pub fn optional_text(errors: &mut ValidationError, field: &str, value: &str, max: usize) -> String {
    if !check_controls(errors, field, value) {
    } else if value.chars().count() > max {
        errors.add(field, format!("must be at most {max} characters"));
    }
    value.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_hold_tab_and_newline_but_no_other_control_character() {
        for ok in [
            "plain",
            "tab\there",
            "two\nlines",
            "crlf\r\nnewline",
            "émoji 🙂",
            "",
        ] {
            assert_eq!(forbidden_control(ok), None, "{ok:?}");
        }
        for (bad, c) in [
            ("a\0b", '\0'),
            ("bell\u{7}", '\u{7}'),
            ("lone\rcr", '\r'),
            ("del\u{7f}", '\u{7f}'),
            ("c1\u{85}", '\u{85}'),
            ("end\r", '\r'),
        ] {
            assert_eq!(forbidden_control(bad), Some(c), "{bad:?}");
        }
        let mut e = ValidationError::new();
        required_text(&mut e, "title", "a\0b", 200);
        optional_text(&mut e, "description", "x\u{1b}[31m", 200);
        assert_eq!(
            e.errors.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            ["title", "description"]
        );
        assert!(e.errors[0].message.contains("U+0000"));
    }
}
