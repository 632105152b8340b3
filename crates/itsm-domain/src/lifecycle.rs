//! Lifecycles as data: each record kind declares its states and allowed transitions in a table, and one
//! function checks every move against that table. Kind-specific rules (a reason to go on hold, a
//! resolution to resolve) sit on top in the kind's own module.

use serde::Serialize;

/// One state of a lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct State {
    pub name: &'static str,
    pub label: &'static str,
    /// No transition leaves a final state.
    pub is_final: bool,
}

/// One allowed move, with the verb a person would use for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub from: &'static str,
    pub to: &'static str,
    pub action: &'static str,
}

/// A state machine: the states, the initial one and the allowed moves.
#[derive(Debug, Serialize)]
pub struct Lifecycle {
    pub initial: &'static str,
    pub states: &'static [State],
    pub transitions: &'static [Transition],
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
    pub fn is_state(&self, name: &str) -> bool {
        self.state(name).is_some()
    }

    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.iter().find(|s| s.name == name)
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
    fn illegal_move_lists_allowed_ones() {
        let err = SERVICE_LIFECYCLE.check("retired", "live").unwrap_err();
        assert!(err.allowed.is_empty());
        let err = SERVICE_LIFECYCLE.check("pipeline", "pipeline").unwrap_err();
        assert_eq!(err.allowed, vec!["live", "retired"]);
        assert!(SERVICE_LIFECYCLE.check("live", "retired").is_ok());
    }
}
