//! The SLA clock. A clock is never stored as a running counter: it is replayed from the record's
//! history (state changes with their reasons, and the first response) under the target's clock rules and
//! the business calendar. So a changed calendar, target or agreement gives the right figures for the past
//! too, earlier pauses included, and every figure can be explained by the segments it was summed from.

use serde::{Deserialize, Serialize};

use crate::calendar::{BusinessCalendar, CalendarError, Pauses, MICROS_PER_MINUTE};
use crate::kind::RecordKind;
use crate::lifecycle::Phase as LifePhase;
use crate::Timestamp;

/// What a service level target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// From logging until the provider first answers the requester.
    FirstResponse,
    /// From logging until the record is resolved.
    Resolution,
    /// Any other span an administrator defines with clock rules over the record's states.
    Custom,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::FirstResponse => "first_response",
            Metric::Resolution => "resolution",
            Metric::Custom => "custom",
        }
    }
}

/// What happens when a record leaves a stop state again, such as an incident reopened after resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReopen {
    /// The clock runs on from the time already used.
    Resume,
    /// The clock starts again from zero.
    Restart,
    /// The clock stays stopped.
    Ignore,
}

/// When a clock starts, pauses, resumes, stops and restarts, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockRules {
    /// The clock starts when the record first enters one of these states; empty: when it is logged.
    #[serde(default)]
    pub start_states: Vec<String>,
    /// The clock pauses while the record is in one of these states...
    #[serde(default)]
    pub pause_states: Vec<String>,
    /// ...and, when this is not empty, only for one of these reasons (such as `awaiting_caller`).
    #[serde(default)]
    pub pause_reasons: Vec<String>,
    /// The clock stops when the record enters one of these states.
    #[serde(default)]
    pub stop_states: Vec<String>,
    /// The clock stops at the first response to the requester.
    #[serde(default)]
    pub stop_on_first_response: bool,
    /// Entering one of these states withdraws the clock: it neither meets nor breaches.
    #[serde(default)]
    pub cancel_states: Vec<String>,
    pub on_reopen: OnReopen,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

impl ClockRules {
    /// Sensible rules for a kind and metric, read from the phases of the kind's lifecycle (so no
    /// kind's state names are written here); an administrator may replace them per target. A
    /// clock stops once the work is done (resolved or closed), is withdrawn when the record is
    /// cancelled, and a resolution clock pauses while the record waits for the requester.
    pub fn default_for(kind: RecordKind, metric: Metric) -> ClockRules {
        let lifecycle = kind.lifecycle();
        let stop_states = strings(&lifecycle.states_in(&[LifePhase::Done, LifePhase::Closed]));
        let cancel_states = strings(&lifecycle.states_in(&[LifePhase::Cancelled]));
        match metric {
            Metric::FirstResponse => ClockRules {
                start_states: vec![],
                pause_states: vec![],
                pause_reasons: vec![],
                stop_states,
                stop_on_first_response: true,
                cancel_states,
                on_reopen: OnReopen::Ignore,
            },
            Metric::Resolution | Metric::Custom => ClockRules {
                start_states: vec![],
                pause_states: strings(&lifecycle.states_in(&[LifePhase::Waiting])),
                // Waiting for a supplier or a change is the provider's own time.
                pause_reasons: strings(&["awaiting_caller"]),
                stop_states,
                stop_on_first_response: false,
                cancel_states,
                on_reopen: OnReopen::Resume,
            },
        }
    }

    fn pauses_in(&self, state: &str, reason: Option<&str>) -> bool {
        self.pause_states.iter().any(|s| s == state)
            && (self.pause_reasons.is_empty()
                || reason.is_some_and(|r| self.pause_reasons.iter().any(|p| p == r)))
    }
}

/// One moment of a record's history that a clock reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockEvent {
    pub at: Timestamp,
    pub what: ClockEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockEventKind {
    /// The record was logged in this state, or moved into it (with the reason it waits, if any).
    State { state: String, reason: Option<String> },
    /// The provider first responded to the requester.
    FirstResponse,
}

/// What a clock is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    NotStarted,
    Running,
    Paused,
    Met,
    Breached,
    Cancelled,
}

impl ClockStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockStatus::NotStarted => "not_started",
            ClockStatus::Running => "running",
            ClockStatus::Paused => "paused",
            ClockStatus::Met => "met",
            ClockStatus::Breached => "breached",
            ClockStatus::Cancelled => "cancelled",
        }
    }
}

/// A stretch of the clock's life, for explaining a figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub from: Timestamp,
    /// `None` while it lasts.
    pub to: Option<Timestamp>,
    pub phase: Phase,
    /// Why the clock paused or stopped: the state, and the reason when there is one.
    pub because: Option<String>,
    /// Business time counted in this segment, in microseconds.
    pub business_micros: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Running,
    Paused,
    Stopped,
    /// Time before a restart, no longer counted.
    Discarded,
}

/// A clock replayed up to an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub status: ClockStatus,
    pub target_micros: i64,
    /// Business time used, in microseconds.
    pub elapsed_micros: i64,
    /// When the clock (last) started from zero.
    pub started_at: Option<Timestamp>,
    /// When it stopped or was cancelled, if it did.
    pub stopped_at: Option<Timestamp>,
    /// When the target is (or was) due; unknown while paused, since the pause has no end yet.
    pub due: Option<Timestamp>,
    pub segments: Vec<Segment>,
    /// The intervals that did not count since the start, for computing instants such as warnings.
    pauses: Pauses,
}

impl Clock {
    /// Whether the clock is running now (breached or not).
    pub fn is_running(&self) -> bool {
        self.segments
            .last()
            .is_some_and(|s| s.phase == Phase::Running && s.to.is_none())
    }

    pub fn remaining_micros(&self) -> i64 {
        self.target_micros - self.elapsed_micros
    }

    /// The share of the target used, in percent (can exceed 100).
    pub fn percent_used(&self) -> f64 {
        if self.target_micros <= 0 {
            return 100.0;
        }
        self.elapsed_micros as f64 * 100.0 / self.target_micros as f64
    }

    /// [`Clock::instant_at_percent`] for several shares (ascending) in one walk over the calendar.
    pub fn instants_at_percents(
        &self,
        calendar: &BusinessCalendar,
        percents: &[u32],
    ) -> Vec<Option<Timestamp>> {
        let none = || percents.iter().map(|_| None).collect();
        let Some(start) = self.started_at else {
            return none();
        };
        if matches!(self.status, ClockStatus::NotStarted | ClockStatus::Cancelled) {
            return none();
        }
        let business: Vec<i64> = percents
            .iter()
            .map(|p| (self.target_micros as i128 * i128::from(*p) / 100) as i64)
            .collect();
        let since = self.paused_since();
        calendar
            .due_many_micros(start.as_microsecond(), &business, &self.pauses)
            .into_iter()
            .map(|t| {
                t.and_then(|t| Timestamp::from_microsecond(t).ok())
                    .filter(|t| since.is_none_or(|s| *t <= s))
            })
            .collect()
    }

    /// When the current pause began, if the clock is paused.
    pub fn paused_since(&self) -> Option<Timestamp> {
        self.segments
            .last()
            .filter(|s| s.phase == Phase::Paused && s.to.is_none())
            .map(|s| s.from)
    }

    /// The instant at which `percent` of the target is used, given the pauses so far. For a stopped
    /// clock it is where the instant was or would have been; for a paused one it is known only if it
    /// fell before the pause; `None` when not started or withdrawn.
    pub fn instant_at_percent(&self, calendar: &BusinessCalendar, percent: u32) -> Option<Timestamp> {
        let start = self.started_at?;
        if matches!(self.status, ClockStatus::NotStarted | ClockStatus::Cancelled) {
            return None;
        }
        let business = (self.target_micros as i128 * i128::from(percent) / 100) as i64;
        let t = calendar
            .due_micros(start.as_microsecond(), business, &self.pauses)
            .ok()?;
        let t = Timestamp::from_microsecond(t).ok()?;
        match self.paused_since() {
            Some(since) if t > since => None,
            _ => Some(t),
        }
    }
}

enum Phase0 {
    NotStarted,
    Running(Timestamp),
    Paused(Timestamp, String),
    Stopped(Timestamp, String),
    Cancelled(Timestamp),
}

fn because(state: &str, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{state} ({r})"),
        None => state.to_owned(),
    }
}

/// Replays a record's history under `rules` and `calendar` up to `now`, against a target of
/// `target_minutes` business minutes. Events must be in the order they happened; events after `now`
/// are ignored.
pub fn replay(
    rules: &ClockRules,
    calendar: &BusinessCalendar,
    target_minutes: i64,
    events: &[ClockEvent],
    now: Timestamp,
) -> Result<Clock, CalendarError> {
    let target_micros = target_minutes.saturating_mul(MICROS_PER_MINUTE);
    let mut segments: Vec<Segment> = Vec::new();
    let mut phase = Phase0::NotStarted;
    let mut started_at = None;
    let mut state = String::new();
    let mut reason: Option<String> = None;
    let close =
        |segments: &mut Vec<Segment>, from: Timestamp, to: Timestamp, phase: Phase, why: Option<String>| {
            let business_micros = match phase {
                Phase::Running => {
                    calendar.elapsed_micros(from.as_microsecond(), to.as_microsecond(), &Pauses::default())
                }
                _ => 0,
            };
            segments.push(Segment {
                from,
                to: Some(to),
                phase,
                because: why,
                business_micros,
            });
        };
    for e in events.iter().filter(|e| e.at <= now) {
        let t = e.at;
        let first_response = match &e.what {
            ClockEventKind::State { state: s, reason: r } => {
                state = s.clone();
                reason = r.clone();
                false
            }
            ClockEventKind::FirstResponse => true,
        };
        let r = reason.as_deref();
        let cancels = rules.cancel_states.contains(&state);
        let stops = (first_response && rules.stop_on_first_response) || rules.stop_states.contains(&state);
        let why_stop = if first_response {
            "first response".to_owned()
        } else {
            because(&state, r)
        };
        phase = match phase {
            Phase0::NotStarted => {
                if cancels {
                    Phase0::Cancelled(t)
                } else if rules.start_states.is_empty() || rules.start_states.contains(&state) {
                    started_at = Some(t);
                    if stops {
                        Phase0::Stopped(t, why_stop)
                    } else if rules.pauses_in(&state, r) {
                        Phase0::Paused(t, because(&state, r))
                    } else {
                        Phase0::Running(t)
                    }
                } else {
                    Phase0::NotStarted
                }
            }
            Phase0::Running(since) | Phase0::Paused(since, _) if cancels => {
                let (p, why) = match &phase {
                    Phase0::Paused(_, why) => (Phase::Paused, Some(why.clone())),
                    _ => (Phase::Running, None),
                };
                close(&mut segments, since, t, p, why);
                Phase0::Cancelled(t)
            }
            Phase0::Running(since) => {
                if stops {
                    close(&mut segments, since, t, Phase::Running, None);
                    Phase0::Stopped(t, why_stop)
                } else if rules.pauses_in(&state, r) {
                    close(&mut segments, since, t, Phase::Running, None);
                    Phase0::Paused(t, because(&state, r))
                } else {
                    Phase0::Running(since)
                }
            }
            Phase0::Paused(since, why) => {
                if stops {
                    close(&mut segments, since, t, Phase::Paused, Some(why));
                    Phase0::Stopped(t, why_stop)
                } else if rules.pauses_in(&state, r) {
                    let now_why = because(&state, r);
                    if now_why == why {
                        Phase0::Paused(since, why)
                    } else {
                        close(&mut segments, since, t, Phase::Paused, Some(why));
                        Phase0::Paused(t, now_why)
                    }
                } else {
                    close(&mut segments, since, t, Phase::Paused, Some(why));
                    Phase0::Running(t)
                }
            }
            Phase0::Stopped(since, why) => {
                let left_stop = !first_response && !stops && !cancels;
                match rules.on_reopen {
                    OnReopen::Ignore => Phase0::Stopped(since, why),
                    _ if !left_stop => Phase0::Stopped(since, why),
                    OnReopen::Resume => {
                        close(&mut segments, since, t, Phase::Stopped, Some(why));
                        if rules.pauses_in(&state, r) {
                            Phase0::Paused(t, because(&state, r))
                        } else {
                            Phase0::Running(t)
                        }
                    }
                    OnReopen::Restart => {
                        close(&mut segments, since, t, Phase::Stopped, Some(why));
                        for s in &mut segments {
                            s.phase = Phase::Discarded;
                            s.business_micros = 0;
                        }
                        started_at = Some(t);
                        if rules.pauses_in(&state, r) {
                            Phase0::Paused(t, because(&state, r))
                        } else {
                            Phase0::Running(t)
                        }
                    }
                }
            }
            Phase0::Cancelled(at) => Phase0::Cancelled(at),
        };
    }
    // The open segment, up to now.
    let (status, stopped_at) = match &phase {
        Phase0::NotStarted => (ClockStatus::NotStarted, None),
        Phase0::Running(since) => {
            let business_micros =
                calendar.elapsed_micros(since.as_microsecond(), now.as_microsecond(), &Pauses::default());
            segments.push(Segment {
                from: *since,
                to: None,
                phase: Phase::Running,
                because: None,
                business_micros,
            });
            (ClockStatus::Running, None)
        }
        Phase0::Paused(since, why) => {
            segments.push(Segment {
                from: *since,
                to: None,
                phase: Phase::Paused,
                because: Some(why.clone()),
                business_micros: 0,
            });
            (ClockStatus::Paused, None)
        }
        Phase0::Stopped(since, why) => {
            segments.push(Segment {
                from: *since,
                to: None,
                phase: Phase::Stopped,
                because: Some(why.clone()),
                business_micros: 0,
            });
            (ClockStatus::Met, Some(*since))
        }
        Phase0::Cancelled(at) => (ClockStatus::Cancelled, Some(*at)),
    };
    let elapsed_micros: i64 = segments.iter().map(|s| s.business_micros).sum();
    let pauses = Pauses::from_micros(
        segments
            .iter()
            .filter(|s| matches!(s.phase, Phase::Paused | Phase::Stopped))
            .filter_map(|s| Some((s.from.as_microsecond(), s.to?.as_microsecond())))
            .collect(),
    );
    let mut clock = Clock {
        status,
        target_micros,
        elapsed_micros,
        started_at,
        stopped_at,
        due: None,
        segments,
        pauses,
    };
    let due_known = match status {
        ClockStatus::Running | ClockStatus::Met => true,
        // A clock that ran out before this pause began was due before it, whatever the pause's end.
        ClockStatus::Paused => elapsed_micros >= target_micros,
        _ => false,
    };
    if let (Some(start), true) = (started_at, due_known) {
        let due = calendar.due_micros(start.as_microsecond(), target_micros, &clock.pauses)?;
        clock.due = Timestamp::from_microsecond(due).ok();
    }
    if elapsed_micros > target_micros
        && matches!(
            status,
            ClockStatus::Running | ClockStatus::Met | ClockStatus::Paused
        )
    {
        clock.status = ClockStatus::Breached;
    }
    Ok(clock)
}

#[cfg(test)]
mod tests;
