//! Priority from impact and urgency, through a matrix the provider configures. Incidents derive
//! their priority this way now; requests and problems will too, so it stands apart from any kind.

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// Impact (how much of the business is affected) or urgency (how soon it hurts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Priority from impact and urgency: `cells[impact][urgency]`, 1 (critical) to 5 (planning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityMatrix {
    pub cells: [[i16; 3]; 3],
}

impl Default for PriorityMatrix {
    fn default() -> Self {
        PriorityMatrix {
            cells: [[1, 2, 3], [2, 3, 4], [3, 4, 5]],
        }
    }
}

impl PriorityMatrix {
    /// A matrix is valid when every cell is a priority from 1 to 5.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let ok = self.cells.iter().flatten().all(|p| (1..=5).contains(p));
        if ok {
            Ok(())
        } else {
            Err(ValidationError::field(
                "priority_matrix",
                "every cell must be a priority from 1 to 5",
            ))
        }
    }

    pub fn priority(&self, impact: Level, urgency: Level) -> i16 {
        let [high, medium, low] = &self.cells;
        let [for_high, for_medium, for_low] = match impact {
            Level::High => high,
            Level::Medium => medium,
            Level::Low => low,
        };
        *match urgency {
            Level::High => for_high,
            Level::Medium => for_medium,
            Level::Low => for_low,
        }
    }
}

/// A label for a priority number. A number outside 1 to 5 (which no rule gives) is shown as it is,
/// never as another priority.
pub fn priority_label(p: i16) -> std::borrow::Cow<'static, str> {
    match p {
        1 => "1 - Critical".into(),
        2 => "2 - High".into(),
        3 => "3 - Moderate".into(),
        4 => "4 - Low".into(),
        5 => "5 - Planning".into(),
        other => format!("{other} - not a priority").into(),
    }
}
