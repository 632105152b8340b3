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

/// Services move from being designed to live to retired.
pub static SERVICE_LIFECYCLE: Lifecycle = Lifecycle {
    initial: "live",
    states: &[
        State {
            name: "pipeline",
            label: "In pipeline",
            is_final: false,
        },
        State {
            name: "live",
            label: "Live",
            is_final: false,
        },
        State {
            name: "retired",
            label: "Retired",
            is_final: true,
        },
    ],
    transitions: &[
        Transition {
            from: "pipeline",
            to: "live",
            action: "Go live",
        },
        Transition {
            from: "pipeline",
            to: "retired",
            action: "Abandon",
        },
        Transition {
            from: "live",
            to: "retired",
            action: "Retire",
        },
    ],
};

/// Configuration items are planned, in use, under maintenance and finally disposed of.
pub static CONFIGURATION_ITEM_LIFECYCLE: Lifecycle = Lifecycle {
    initial: "in_use",
    states: &[
        State {
            name: "planned",
            label: "Planned",
            is_final: false,
        },
        State {
            name: "in_use",
            label: "In use",
            is_final: false,
        },
        State {
            name: "maintenance",
            label: "Under maintenance",
            is_final: false,
        },
        State {
            name: "retired",
            label: "Retired",
            is_final: true,
        },
    ],
    transitions: &[
        Transition {
            from: "planned",
            to: "in_use",
            action: "Put in use",
        },
        Transition {
            from: "in_use",
            to: "maintenance",
            action: "Start maintenance",
        },
        Transition {
            from: "maintenance",
            to: "in_use",
            action: "End maintenance",
        },
        Transition {
            from: "in_use",
            to: "retired",
            action: "Retire",
        },
        Transition {
            from: "planned",
            to: "retired",
            action: "Abandon",
        },
    ],
};

/// A business calendar is in use until it is retired; a retired one can be brought back.
pub static CALENDAR_LIFECYCLE: Lifecycle = Lifecycle {
    initial: "active",
    states: &[
        State {
            name: "active",
            label: "Active",
            is_final: false,
        },
        State {
            name: "retired",
            label: "Retired",
            is_final: false,
        },
    ],
    transitions: &[
        Transition {
            from: "active",
            to: "retired",
            action: "Retire",
        },
        Transition {
            from: "retired",
            to: "active",
            action: "Reactivate",
        },
    ],
};

/// An agreement is drafted, agreed (active), possibly suspended, and finally retired. Only active
/// agreements give records their targets.
pub static AGREEMENT_LIFECYCLE: Lifecycle = Lifecycle {
    initial: "draft",
    states: &[
        State {
            name: "draft",
            label: "Draft",
            is_final: false,
        },
        State {
            name: "active",
            label: "Active",
            is_final: false,
        },
        State {
            name: "suspended",
            label: "Suspended",
            is_final: false,
        },
        State {
            name: "retired",
            label: "Retired",
            is_final: true,
        },
    ],
    transitions: &[
        Transition {
            from: "draft",
            to: "active",
            action: "Put in force",
        },
        Transition {
            from: "draft",
            to: "retired",
            action: "Withdraw",
        },
        Transition {
            from: "active",
            to: "suspended",
            action: "Suspend",
        },
        Transition {
            from: "suspended",
            to: "active",
            action: "Resume",
        },
        Transition {
            from: "active",
            to: "retired",
            action: "Retire",
        },
        Transition {
            from: "suspended",
            to: "retired",
            action: "Retire",
        },
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::RecordKind;

    #[test]
    fn every_lifecycle_is_well_formed() {
        for kind in RecordKind::ALL {
            let lc = kind.lifecycle();
            for t in lc.transitions {
                assert!(lc.is_state(t.from), "{kind:?}: unknown from-state {}", t.from);
                assert!(lc.is_state(t.to), "{kind:?}: unknown to-state {}", t.to);
                assert_ne!(t.from, t.to, "{kind:?}: self-transition");
            }
            for s in lc.states {
                assert_eq!(
                    s.is_final,
                    lc.allowed_from(s.name).is_empty(),
                    "{kind:?}: {}",
                    s.name
                );
            }
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
