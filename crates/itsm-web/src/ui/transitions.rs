//! The "move along" panel of a record page, drawn from the kind's lifecycle: one button per move
//! the record may make next, and for a move that requires fields or confirmation, a small form
//! that asks for them. A kind gets it by declaring its lifecycle and fields.

use itsm_app::Ctx;
use itsm_domain::field::FieldType;
use itsm_domain::RecordKind;

/// One move offered on the page.
pub struct TransitionView {
    pub to: &'static str,
    pub action: &'static str,
    pub confirm: bool,
    /// The fields the move requires, in the order the lifecycle lists them.
    pub fields: Vec<InputView>,
}

impl TransitionView {
    /// Whether the move is one click, with nothing to ask.
    pub fn is_plain(&self) -> bool {
        self.fields.is_empty() && !self.confirm
    }
}

/// One field a move asks for.
pub struct InputView {
    pub name: &'static str,
    /// Unique on the page: two moves may ask for the same field.
    pub id: String,
    pub label: &'static str,
    /// The values to choose from; empty for text.
    pub choices: Vec<(&'static str, &'static str)>,
    /// Text of several lines.
    pub long: bool,
    pub max: usize,
}

/// The moves a record of `kind` in `state` may make next that are open to `ctx`'s caller.
pub fn transitions(kind: RecordKind, state: &str, ctx: &Ctx) -> Vec<TransitionView> {
    kind.lifecycle()
        .transitions_from(state)
        .filter(|t| ctx.may_take(kind, t))
        .map(|t| TransitionView {
            to: t.to,
            action: t.action,
            confirm: t.confirm,
            fields: t
                .requires
                .iter()
                .filter_map(|name| kind.field(name))
                .map(|f| {
                    let (choices, long, max) = match f.ty {
                        FieldType::Choice { choices } => {
                            (choices.iter().map(|c| (c.value, c.label)).collect(), false, 0)
                        }
                        FieldType::LongText { max } => (vec![], true, max),
                        FieldType::Text { max } => (vec![], false, max),
                        _ => (vec![], false, 0),
                    };
                    InputView {
                        name: f.name,
                        id: format!("{}-{}", t.to, f.name),
                        label: f.label,
                        choices,
                        long,
                        max,
                    }
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_asks_for_what_its_transition_requires() {
        let moves = transitions(RecordKind::INCIDENT, "in_progress", &Ctx::system());
        let hold = moves.iter().find(|t| t.to == "on_hold").unwrap();
        assert_eq!(hold.fields.len(), 1);
        assert_eq!(hold.fields[0].id, "on_hold-on_hold_reason");
        assert!(hold.fields[0]
            .choices
            .contains(&("awaiting_caller", "Awaiting caller")));
        let resolve = moves.iter().find(|t| t.to == "resolved").unwrap();
        let names: Vec<_> = resolve.fields.iter().map(|f| f.name).collect();
        assert_eq!(names, ["resolution_code", "resolution_notes"]);
        assert!(resolve.fields[1].long && resolve.fields[1].max > 0);
        let cancel = moves.iter().find(|t| t.to == "cancelled").unwrap();
        assert!(cancel.confirm && !cancel.is_plain());
        assert!(moves.iter().find(|t| t.to == "in_progress").is_none());
        assert!(transitions(RecordKind::INCIDENT, "closed", &Ctx::system()).is_empty());
    }
}
