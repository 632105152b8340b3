use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::calendar::{CalendarDefinition, WorkingHoursDefinition, WEEKDAYS};

/// Monday to Friday, 09:00 to 17:00 in Berlin.
fn office() -> BusinessCalendar {
    let day = vec![["09:00".to_owned(), "17:00".to_owned()]];
    BusinessCalendar::new(&CalendarDefinition {
        time_zone: "Europe/Berlin".into(),
        working_hours: WorkingHoursDefinition::Weekly(
            WEEKDAYS
                .iter()
                .take(5)
                .map(|d| ((*d).to_owned(), day.clone()))
                .collect::<BTreeMap<_, _>>(),
        ),
        holidays: vec!["2026-12-25".into()],
    })
    .unwrap()
}

/// A local Berlin time in winter (UTC+1), written as `2026-11-23 09:00`.
fn local(s: &str) -> Timestamp {
    let (d, t) = s.split_once(' ').unwrap();
    format!("{d}T{t}:00+01:00").parse().unwrap()
}

fn state(at: &str, s: &str) -> ClockEvent {
    ClockEvent {
        at: local(at),
        what: ClockEventKind::State {
            state: s.into(),
            reason: None,
        },
    }
}

fn hold(at: &str, reason: &str) -> ClockEvent {
    ClockEvent {
        at: local(at),
        what: ClockEventKind::State {
            state: "on_hold".into(),
            reason: Some(reason.into()),
        },
    }
}

fn responded(at: &str) -> ClockEvent {
    ClockEvent {
        at: local(at),
        what: ClockEventKind::FirstResponse,
    }
}

fn resolution() -> ClockRules {
    ClockRules::default_for(RecordKind::INCIDENT, Metric::Resolution)
}

const HOUR: i64 = 3_600_000_000;

/// Logged Monday 09:00, on hold for the caller from Monday 12:00 to Wednesday 10:00, resolved
/// Wednesday 14:00.
fn held_for_caller() -> Vec<ClockEvent> {
    vec![
        state("2026-11-23 09:00", "new"),
        state("2026-11-23 09:30", "in_progress"),
        hold("2026-11-23 12:00", "awaiting_caller"),
        state("2026-11-25 10:00", "in_progress"),
        state("2026-11-25 14:00", "resolved"),
    ]
}

#[test]
fn waiting_for_the_caller_pauses_the_resolution_clock() {
    let cal = office();
    let clock = replay(
        &resolution(),
        &cal,
        8 * 60,
        &held_for_caller(),
        local("2026-11-30 09:00"),
    )
    .unwrap();
    assert_eq!(clock.status, ClockStatus::Met);
    assert_eq!(clock.elapsed_micros, 7 * HOUR);
    assert_eq!(clock.due, Some(local("2026-11-25 15:00")));
    assert_eq!(clock.stopped_at, Some(local("2026-11-25 14:00")));
    let phases: Vec<(Phase, Option<&str>)> = clock
        .segments
        .iter()
        .map(|s| (s.phase, s.because.as_deref()))
        .collect();
    assert_eq!(
        phases,
        [
            (Phase::Running, None),
            (Phase::Paused, Some("on_hold (awaiting_caller)")),
            (Phase::Running, None),
            (Phase::Stopped, Some("resolved")),
        ]
    );
}

#[test]
fn waiting_for_a_supplier_is_the_providers_own_time() {
    let mut events = held_for_caller();
    events[2] = hold("2026-11-23 12:00", "awaiting_supplier");
    let clock = replay(
        &resolution(),
        &office(),
        8 * 60,
        &events,
        local("2026-11-30 09:00"),
    )
    .unwrap();
    assert_eq!(clock.status, ClockStatus::Breached);
    assert_eq!(clock.elapsed_micros, (8 + 8 + 5) * HOUR);
    assert_eq!(clock.due, Some(local("2026-11-23 17:00")));
}

#[test]
fn a_changed_target_keeps_the_earlier_pauses() {
    // The peers' bug: switching SLA recomputes from the creation time and forgets time on hold.
    let cal = office();
    let events = &held_for_caller()[..4];
    let now = local("2026-11-25 11:00");
    let eight = replay(&resolution(), &cal, 8 * 60, events, now).unwrap();
    let sixteen = replay(&resolution(), &cal, 16 * 60, events, now).unwrap();
    assert_eq!(eight.elapsed_micros, 4 * HOUR);
    assert_eq!(sixteen.elapsed_micros, 4 * HOUR);
    assert_eq!(eight.due, Some(local("2026-11-25 15:00")));
    assert_eq!(sixteen.due, Some(local("2026-11-26 15:00")));
}

#[test]
fn a_paused_clock_has_no_due_instant_until_it_resumes() {
    let cal = office();
    let clock = replay(
        &resolution(),
        &cal,
        8 * 60,
        &held_for_caller()[..3],
        local("2026-11-24 12:00"),
    )
    .unwrap();
    assert_eq!(clock.status, ClockStatus::Paused);
    assert_eq!(clock.due, None);
    assert_eq!(clock.remaining_micros(), 5 * HOUR);
    assert_eq!(clock.instant_at_percent(&cal, 75), None);
    // A threshold crossed before the pause is known: 25% (two hours) at 11:00 on Monday.
    assert_eq!(
        clock.instant_at_percent(&cal, 25),
        Some(local("2026-11-23 11:00"))
    );
    assert_eq!(clock.paused_since(), Some(local("2026-11-23 12:00")));
}

#[test]
fn reopening_resumes_by_default_and_restarts_when_the_rules_say_so() {
    let cal = office();
    let mut events = held_for_caller();
    events.push(state("2026-11-26 09:00", "in_progress"));
    let now = local("2026-11-26 11:00");
    let resumed = replay(&resolution(), &cal, 8 * 60, &events, now).unwrap();
    assert_eq!(resumed.status, ClockStatus::Breached);
    assert_eq!(resumed.elapsed_micros, 9 * HOUR);
    let restart = ClockRules {
        on_reopen: OnReopen::Restart,
        ..resolution()
    };
    let restarted = replay(&restart, &cal, 8 * 60, &events, now).unwrap();
    assert_eq!(restarted.status, ClockStatus::Running);
    assert_eq!(restarted.elapsed_micros, 2 * HOUR);
    assert_eq!(restarted.started_at, Some(local("2026-11-26 09:00")));
    assert_eq!(restarted.due, Some(local("2026-11-26 17:00")));
    assert!(restarted
        .segments
        .iter()
        .take(4)
        .all(|s| s.phase == Phase::Discarded));
}

#[test]
fn the_first_response_clock_stops_at_the_first_reply() {
    let cal = office();
    let rules = ClockRules::default_for(RecordKind::INCIDENT, Metric::FirstResponse);
    let events = vec![
        state("2026-11-23 16:30", "new"),
        responded("2026-11-24 09:45"),
        state("2026-11-24 09:45", "in_progress"),
        state("2026-11-24 12:00", "resolved"),
        state("2026-11-24 13:00", "in_progress"),
    ];
    let clock = replay(&rules, &cal, 60, &events, local("2026-11-25 09:00")).unwrap();
    assert_eq!(clock.status, ClockStatus::Breached);
    assert_eq!(clock.elapsed_micros, 75 * 60_000_000);
    assert_eq!(clock.due, Some(local("2026-11-24 09:30")));
}

#[test]
fn a_cancelled_record_neither_meets_nor_breaches() {
    let events = vec![
        state("2026-11-23 09:00", "new"),
        state("2026-11-27 09:00", "cancelled"),
    ];
    let clock = replay(&resolution(), &office(), 60, &events, local("2026-11-30 09:00")).unwrap();
    assert_eq!(clock.status, ClockStatus::Cancelled);
}

#[test]
fn warnings_fall_at_business_instants_not_at_midnight() {
    let cal = office();
    let events = vec![state("2026-11-23 16:00", "new")];
    let clock = replay(&resolution(), &cal, 8 * 60, &events, local("2026-11-23 16:30")).unwrap();
    assert_eq!(
        clock.instant_at_percent(&cal, 75),
        Some(local("2026-11-24 14:00"))
    );
    assert_eq!(
        clock.instant_at_percent(&cal, 90),
        Some(local("2026-11-24 15:12"))
    );
    assert_eq!(clock.due, Some(local("2026-11-24 16:00")));
}

#[test]
fn day_based_targets_skip_holidays() {
    // Three business days from Wednesday 23 December: Christmas (Friday) and the weekend are off.
    let cal = office();
    let events = vec![state("2026-12-23 09:00", "new")];
    let clock = replay(
        &resolution(),
        &cal,
        3 * 8 * 60,
        &events,
        local("2026-12-23 10:00"),
    )
    .unwrap();
    assert_eq!(cal.format(clock.due.unwrap()), "2026-12-28T17:00:00+01:00");
}

// ---- properties: the replay agrees with the calendar ----

fn event_kinds() -> impl Strategy<Value = Vec<(u32, u8)>> {
    prop::collection::vec((0u32..72 * 60, 0u8..7), 1..12)
}

fn events_from(start: Timestamp, raw: &[(u32, u8)]) -> Vec<ClockEvent> {
    let mut minutes: Vec<(u32, u8)> = raw.to_vec();
    minutes.sort();
    let mut out = vec![ClockEvent {
        at: start,
        what: ClockEventKind::State {
            state: "new".into(),
            reason: None,
        },
    }];
    for (m, k) in minutes {
        let at = start
            .checked_add(jiff::SignedDuration::from_mins(i64::from(m)))
            .unwrap();
        let what = match k {
            0 => ClockEventKind::FirstResponse,
            1 => ClockEventKind::State {
                state: "in_progress".into(),
                reason: None,
            },
            2 => ClockEventKind::State {
                state: "on_hold".into(),
                reason: Some("awaiting_caller".into()),
            },
            3 => ClockEventKind::State {
                state: "on_hold".into(),
                reason: Some("awaiting_supplier".into()),
            },
            4 => ClockEventKind::State {
                state: "resolved".into(),
                reason: None,
            },
            5 => ClockEventKind::State {
                state: "closed".into(),
                reason: None,
            },
            _ => ClockEventKind::State {
                state: "cancelled".into(),
                reason: None,
            },
        };
        out.push(ClockEvent { at, what });
    }
    out
}

proptest! {
    #[test]
    fn the_replay_sums_running_time_and_its_due_instant_uses_it_all(
        raw in event_kinds(), offset in 0i64..14 * 24 * 60, target in 1i64..40 * 60,
        restart in any::<bool>(), first_response in any::<bool>(),
    ) {
        let cal = office();
        let start = local("2026-12-14 08:00").checked_add(jiff::SignedDuration::from_mins(offset)).unwrap();
        let events = events_from(start, &raw);
        let now = start.checked_add(jiff::SignedDuration::from_hours(80)).unwrap();
        let mut rules = ClockRules::default_for(
            RecordKind::INCIDENT,
            if first_response { Metric::FirstResponse } else { Metric::Resolution },
        );
        if restart && !first_response {
            rules.on_reopen = OnReopen::Restart;
        }
        let clock = replay(&rules, &cal, target, &events, now).unwrap();
        let counted: i64 = clock
            .segments
            .iter()
            .filter(|s| s.phase == Phase::Running)
            .map(|s| cal.elapsed_micros(s.from.as_microsecond(), s.to.unwrap_or(now).as_microsecond(), &Pauses::default()))
            .sum();
        prop_assert_eq!(counted, clock.elapsed_micros);
        // Segments follow each other without gaps or overlaps.
        for pair in clock.segments.windows(2) {
            prop_assert_eq!(pair[0].to, Some(pair[1].from));
        }
        if let (Some(due), Some(started)) = (clock.due, clock.started_at) {
            let pauses = Pauses::from_micros(
                clock.segments.iter()
                    .filter(|s| matches!(s.phase, Phase::Paused | Phase::Stopped))
                    .filter_map(|s| Some((s.from.as_microsecond(), s.to?.as_microsecond())))
                    .collect(),
            );
            prop_assert_eq!(
                cal.elapsed_micros(started.as_microsecond(), due.as_microsecond(), &pauses),
                clock.target_micros
            );
        }
        match clock.status {
            ClockStatus::Breached => prop_assert!(clock.elapsed_micros > clock.target_micros),
            ClockStatus::Met | ClockStatus::Running => prop_assert!(clock.elapsed_micros <= clock.target_micros),
            _ => {}
        }
    }
}

#[test]
fn default_rules_come_from_the_phases_of_the_lifecycle() {
    let response = ClockRules::default_for(RecordKind::INCIDENT, Metric::FirstResponse);
    assert_eq!(response.stop_states, ["resolved", "closed"]);
    assert_eq!(response.cancel_states, ["cancelled"]);
    assert!(response.pause_states.is_empty() && response.stop_on_first_response);
    let resolution = ClockRules::default_for(RecordKind::INCIDENT, Metric::Resolution);
    assert_eq!(resolution.pause_states, ["on_hold"]);
    assert_eq!(resolution.pause_reasons, ["awaiting_caller"]);
    assert_eq!(resolution.stop_states, ["resolved", "closed"]);
    assert_eq!(resolution.cancel_states, ["cancelled"]);
}
