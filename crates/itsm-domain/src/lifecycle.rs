//! Lifecycles as data: each record kind declares its states and allowed transitions in a table, and one
//! function checks every move against that table. Kind-specific rules (a reason to go on hold, a
//! resolution to resolve) sit on top in the kind's own module.

use serde::Serialize;

use crate::role::Role;

/// One state of a lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct State {
    pub name: &'static str,
    pub label: &'static str,
    pub phase: Phase,
}

/// Where a state stands in a record's life. What concerns every kind alike reads this rather than
/// a kind's state names: the open work in a queue, when service level clocks pause and stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Work is to be done or under way, or the record is in use.
    Active,
    /// Waiting on someone else (a caller, a supplier); clocks may pause.
    Waiting,
    /// The work is done but the record may still come back (a resolved incident, a retired
    /// calendar).
    Done,
    /// Its life ended with the work done. No transition leaves it.
    Closed,
    /// Its life ended without the work done (withdrawn, cancelled). No transition leaves it.
    Cancelled,
}

impl State {
    pub const fn new(name: &'static str, label: &'static str, phase: Phase) -> State {
        State { name, label, phase }
    }

    /// No transition leaves a final state.
    pub fn is_final(&self) -> bool {
        matches!(self.phase, Phase::Closed | Phase::Cancelled)
    }

    /// Whether work on the record is still to be finished: a queue's "open" records.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Active | Phase::Waiting)
    }
}

/// One allowed move, with the verb a person would use for it and what taking it requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub from: &'static str,
    pub to: &'static str,
    pub action: &'static str,
    /// The kind's own fields that must hold a value once the move is made (a resolution code to
    /// resolve, a reason to go on hold). The API, the UI's forms and the check all read them here.
    pub requires: &'static [&'static str],
    /// Whether a person is asked to confirm before the move (it ends the record's life).
    pub confirm: bool,
    /// Roles that may take this move besides those who may change records of the kind (a
    /// customer confirming a resolution). Someone who takes a move only by this sends the state
    /// and what the move requires, nothing else; a customer does so on their organization's
    /// records only.
    pub also_by: &'static [Role],
}

impl Transition {
    pub const fn new(from: &'static str, to: &'static str, action: &'static str) -> Transition {
        Transition {
            from,
            to,
            action,
            requires: &[],
            confirm: false,
            also_by: &[],
        }
    }

    /// The same move, requiring `fields`.
    pub const fn requiring(self, fields: &'static [&'static str]) -> Transition {
        Transition {
            requires: fields,
            ..self
        }
    }

    /// The same move, asking for confirmation.
    pub const fn confirmed(self) -> Transition {
        Transition {
            confirm: true,
            ..self
        }
    }

    /// The same move, open also to `roles`.
    pub const fn also_by(self, roles: &'static [Role]) -> Transition {
        Transition {
            also_by: roles,
            ..self
        }
    }

    /// What to say of a required field left empty: "required to resolve".
    pub fn requirement_message(&self) -> String {
        format!("required to {}", self.action.to_lowercase())
    }
}

/// A state machine: the states, the initial one and the allowed moves, and what a record whose
/// life has ended still takes.
#[derive(Debug, Serialize)]
pub struct Lifecycle {
    pub initial: &'static str,
    pub states: &'static [State],
    pub transitions: &'static [Transition],
    /// What people may still add to a record in a final state (closed, cancelled, retired).
    pub after_end: Additions,
}

/// What people add to a record besides changing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addition {
    Comment,
    Link,
    Attachment,
}

impl Addition {
    /// Its name in a sentence: "comments".
    pub fn plural(self) -> &'static str {
        match self {
            Addition::Comment => "comments",
            Addition::Link => "links",
            Addition::Attachment => "attachments",
        }
    }
}

/// Which [`Addition`]s a record takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Additions {
    pub comments: bool,
    pub links: bool,
    pub attachments: bool,
}

impl Additions {
    /// Nothing more: the record's story is told.
    pub const NONE: Additions = Additions {
        comments: false,
        links: false,
        attachments: false,
    };

    /// Everything still: the record is kept as a reference (a retired service, an expired
    /// agreement) that notes, documents and links may still be added to.
    pub const ALL: Additions = Additions {
        comments: true,
        links: true,
        attachments: true,
    };

    pub fn has(self, what: Addition) -> bool {
        match what {
            Addition::Comment => self.comments,
            Addition::Link => self.links,
            Addition::Attachment => self.attachments,
        }
    }
}

/// A move the lifecycle does not allow, with the moves it does allow from the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move from `{from}` to `{to}`; allowed from `{from}`: {}", allowed_list(.allowed))]
pub struct TransitionError {
    pub from: String,
    pub to: String,
    pub allowed: Vec<&'static str>,
}

fn allowed_list(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "none (final state)".to_owned()
    } else {
        allowed.join(", ")
    }
}

impl Lifecycle {
    /// The names of the states in `phases`, in the order the lifecycle lists them.
    pub fn states_in(&self, phases: &[Phase]) -> Vec<&'static str> {
        self.states
            .iter()
            .filter(|s| phases.contains(&s.phase))
            .map(|s| s.name)
            .collect()
    }

    pub fn is_state(&self, name: &str) -> bool {
        self.state(name).is_some()
    }

    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.iter().find(|s| s.name == name)
    }

    /// Whether a record in `state` takes `what`: always before its life ends, then as
    /// `after_end` says.
    pub fn accepts(&self, state: &str, what: Addition) -> bool {
        match self.state(state) {
            Some(s) if s.is_final() => self.after_end.has(what),
            _ => true,
        }
    }

    /// The states reachable in one move from `from`.
    pub fn allowed_from(&self, from: &str) -> Vec<&'static str> {
        self.transitions
            .iter()
            .filter(|t| t.from == from)
            .map(|t| t.to)
            .collect()
    }

    pub fn transitions_from<'a>(&'a self, from: &'a str) -> impl Iterator<Item = &'a Transition> + 'a {
        self.transitions.iter().filter(move |t| t.from == from)
    }

    /// The move from `from` to `to`, if the lifecycle has it.
    pub fn transition(&self, from: &str, to: &str) -> Option<&'static Transition> {
        self.transitions.iter().find(|t| t.from == from && t.to == to)
    }

    /// Checks that the fields a move requires hold a value once it is made: each one left empty
    /// is reported by name, in the order the lifecycle lists them.
    pub fn check_requirements(
        &self,
        from: &str,
        to: &str,
        details: &serde_json::Map<String, serde_json::Value>,
        errors: &mut crate::validation::ValidationError,
    ) {
        let Some(t) = self.transition(from, to) else {
            return;
        };
        for field in t.requires {
            let given = match details.get(*field) {
                None | Some(serde_json::Value::Null) => false,
                Some(serde_json::Value::String(s)) => !s.trim().is_empty(),
                Some(_) => true,
            };
            if !given {
                errors.add(*field, t.requirement_message());
            }
        }
    }

    /// Checks one move. Staying in the same state is not a move and is not checked here.
    pub fn check(&self, from: &str, to: &str) -> Result<(), TransitionError> {
        if self.transitions.iter().any(|t| t.from == from && t.to == to) {
            Ok(())
        } else {
            Err(TransitionError {
                from: from.to_owned(),
                to: to.to_owned(),
                allowed: self.allowed_from(from),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::catalogue::SERVICE_LIFECYCLE;

    #[test]
    fn an_ended_record_takes_only_what_its_lifecycle_says() {
        use super::Addition;
        use crate::incident::LIFECYCLE;
        for what in [Addition::Comment, Addition::Link, Addition::Attachment] {
            assert!(LIFECYCLE.accepts("resolved", what), "{what:?}");
            assert!(!LIFECYCLE.accepts("closed", what), "{what:?}");
            assert!(!LIFECYCLE.accepts("cancelled", what), "{what:?}");
        }
    }

    #[test]
    fn illegal_move_lists_allowed_ones() {
        let err = SERVICE_LIFECYCLE.check("retired", "live").unwrap_err();
        assert!(err.allowed.is_empty());
        let err = SERVICE_LIFECYCLE.check("pipeline", "pipeline").unwrap_err();
        assert_eq!(err.allowed, vec!["live", "retired"]);
        assert!(SERVICE_LIFECYCLE.check("live", "retired").is_ok());
    }
}
