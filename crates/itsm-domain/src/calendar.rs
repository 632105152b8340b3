//! Business calendars: when the provider works, in which time zone, and which days it does not.
//!
//! Business time is real elapsed time inside working periods, so an hour that a daylight-saving change
//! removes is not worked and an hour it repeats is worked twice. Working periods are civil times of a
//! day (`08:00`-`12:00`), turned into instants with the calendar's time zone one day at a time; a civil
//! time that falls into a gap resolves to the first instant after it, and one that falls into a fold to
//! its earlier occurrence. Time zones come from the IANA database compiled into the binary, so every
//! node and every replay gives the same answer.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

pub const MICROS_PER_MINUTE: i64 = 60_000_000;
const MINUTES_PER_DAY: u16 = 24 * 60;
const MICROS_PER_DAY: i64 = 24 * 60 * MICROS_PER_MINUTE;
/// How far ahead a computation looks for working time before it gives up.
pub const HORIZON_DAYS: i32 = 3_660;
const MAX_PERIODS_PER_DAY: usize = 12;
const MAX_HOLIDAYS: usize = 2_000;
const MAX_CLOSURE_DAYS: i32 = 366;

/// The days of the week in the order the definition and storage use.
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A calendar as people and the API write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarDefinition {
    /// An IANA time zone such as `Europe/Berlin`.
    pub time_zone: String,
    pub working_hours: WorkingHoursDefinition,
    /// `2026-12-25` (one date), `2026-12-24/2026-12-31` (a closure, both ends included) or `12-25`
    /// (the same day every year).
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// `"24x7"`, or working periods per weekday; a weekday left out has no working time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WorkingHoursDefinition {
    Named(String),
    Weekly(BTreeMap<String, Vec<[String; 2]>>),
}

/// A working period within a day, in minutes after midnight; `end` may be 1440 (midnight after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkingPeriod {
    pub start: u16,
    pub end: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Holiday {
    Date(Date),
    Closure(Date, Date),
    Yearly { month: i8, day: i8 },
}

/// A validated business calendar, ready for computations.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    time_zone: TimeZone,
    /// Monday first; each day's periods sorted and not overlapping.
    week: [Vec<WorkingPeriod>; 7],
    round_the_clock: bool,
    /// Sorted single days off, closures expanded.
    days_off: Vec<Date>,
    /// Sorted (month, day) pairs off every year.
    yearly: Vec<(i8, i8)>,
    definition: CalendarDefinition,
}

/// Why a computation has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the calendar has no working time in the {HORIZON_DAYS} days after the start")]
    NoWorkingTime,
}

/// Intervals during which a clock does not run, such as time on hold. Sorted and merged on creation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pauses(Vec<(i64, i64)>);

impl Pauses {
    /// Checks each pause (its end not before its start), then sorts and merges them. `field` names
    /// the input in errors, such as `pauses`.
    pub fn new(field: &str, pauses: &[(Timestamp, Timestamp)]) -> Result<Pauses, ValidationError> {
        let mut errors = ValidationError::new();
        for (i, (from, to)) in pauses.iter().enumerate() {
            if to < from {
                errors.add(format!("{field}[{i}]"), "ends before it starts");
            }
        }
        errors.into_result()?;
        Ok(Self::from_micros(
            pauses
                .iter()
                .map(|(a, b)| (a.as_microsecond(), b.as_microsecond()))
                .collect(),
        ))
    }

    /// Pauses already known to be well formed, such as those a clock replay produces; an inverted
    /// pair is ignored.
    pub fn from_micros(mut v: Vec<(i64, i64)>) -> Pauses {
        v.retain(|(a, b)| a < b);
        v.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        Pauses(merged)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn intervals(&self) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        self.0.iter().filter_map(|&(a, b)| Some((micros(a)?, micros(b)?)))
    }
}

fn micros(v: i64) -> Option<Timestamp> {
    Timestamp::from_microsecond(v).ok()
}

fn parse_time(field: &str, s: &str, errors: &mut ValidationError) -> Option<u16> {
    let bad = |errors: &mut ValidationError| {
        errors.add(
            field,
            format!("`{s}` is not a time of day as HH:MM (00:00 to 24:00)"),
        );
        None
    };
    let Some((h, m)) = s.split_once(':') else {
        return bad(errors);
    };
    if h.len() != 2 || m.len() != 2 {
        return bad(errors);
    }
    let (Ok(h), Ok(m)) = (h.parse::<u16>(), m.parse::<u16>()) else {
        return bad(errors);
    };
    if h > 24 || m > 59 || (h == 24 && m != 0) {
        return bad(errors);
    }
    Some(h * 60 + m)
}

fn parse_holiday(s: &str) -> Option<Holiday> {
    if let Some((a, b)) = s.split_once('/') {
        let (a, b) = (a.parse::<Date>().ok()?, b.parse::<Date>().ok()?);
        return Some(Holiday::Closure(a, b));
    }
    if s.len() == 10 {
        return s.parse::<Date>().ok().map(Holiday::Date);
    }
    let md = s.strip_prefix("--").unwrap_or(s);
    let (m, d) = md.split_once('-')?;
    if m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (month, day) = (m.parse::<i8>().ok()?, d.parse::<i8>().ok()?);
    // 2024 is a leap year, so 02-29 is accepted; it is observed in leap years only.
    Date::new(2024, month, day).ok()?;
    Some(Holiday::Yearly { month, day })
}

fn format_minutes(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl BusinessCalendar {
    /// Validates a definition; every problem is reported with the field it is in.
    pub fn new(def: &CalendarDefinition) -> Result<BusinessCalendar, ValidationError> {
        let mut errors = ValidationError::new();
        let time_zone = match jiff::tz::db().get(def.time_zone.trim()) {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.add(
                    "time_zone",
                    format!(
                        "`{}` is not an IANA time zone such as Europe/Berlin",
                        def.time_zone
                    ),
                );
                None
            }
        };
        let mut week: [Vec<WorkingPeriod>; 7] = Default::default();
        let mut round_the_clock = false;
        let mut normalized_week = BTreeMap::new();
        match &def.working_hours {
            WorkingHoursDefinition::Named(n) if n.eq_ignore_ascii_case("24x7") => {
                round_the_clock = true;
                for day in &mut week {
                    day.push(WorkingPeriod {
                        start: 0,
                        end: MINUTES_PER_DAY,
                    });
                }
            }
            WorkingHoursDefinition::Named(n) => errors.add(
                "working_hours",
                format!("`{n}` is not \"24x7\" or an object of weekdays with periods"),
            ),
            WorkingHoursDefinition::Weekly(days) => {
                for (name, periods) in days {
                    let key = name.to_ascii_lowercase();
                    let Some(index) = WEEKDAYS.iter().position(|d| *d == key) else {
                        errors.add(
                            format!("working_hours.{name}"),
                            "is not a weekday (monday to sunday)",
                        );
                        continue;
                    };
                    if periods.len() > MAX_PERIODS_PER_DAY {
                        errors.add(
                            format!("working_hours.{name}"),
                            format!("has more than {MAX_PERIODS_PER_DAY} periods"),
                        );
                        continue;
                    }
                    let mut parsed: Vec<(usize, WorkingPeriod)> = Vec::new();
                    for (i, [from, to]) in periods.iter().enumerate() {
                        let field = format!("working_hours.{key}[{i}]");
                        let start = parse_time(&field, from, &mut errors);
                        let end = parse_time(&field, to, &mut errors);
                        if let (Some(start), Some(end)) = (start, end) {
                            if end <= start {
                                errors.add(&field, format!("ends ({to}) before or when it starts ({from})"));
                            } else {
                                parsed.push((i, WorkingPeriod { start, end }));
                            }
                        }
                    }
                    parsed.sort_by_key(|(_, p)| *p);
                    for pair in parsed.windows(2) {
                        if let [(_, a), (j, b)] = pair {
                            if b.start < a.end {
                                errors.add(
                                    format!("working_hours.{key}[{j}]"),
                                    format!("overlaps {}-{}", format_minutes(a.start), format_minutes(a.end)),
                                );
                            }
                        }
                    }
                    let day: Vec<WorkingPeriod> = parsed.into_iter().map(|(_, p)| p).collect();
                    normalized_week.insert(
                        key.clone(),
                        day.iter()
                            .map(|p| [format_minutes(p.start), format_minutes(p.end)])
                            .collect::<Vec<_>>(),
                    );
                    if let Some(slot) = week.get_mut(index) {
                        *slot = day;
                    }
                }
                if errors.is_empty() && week.iter().all(Vec::is_empty) {
                    errors.add("working_hours", "has no working time on any weekday");
                }
            }
        }
        if def.holidays.len() > MAX_HOLIDAYS {
            errors.add("holidays", format!("has more than {MAX_HOLIDAYS} entries"));
        }
        let mut days_off = Vec::new();
        let mut yearly = Vec::new();
        for (i, h) in def.holidays.iter().enumerate().take(MAX_HOLIDAYS) {
            let field = format!("holidays[{i}]");
            match parse_holiday(h.trim()) {
                Some(Holiday::Date(d)) => days_off.push(d),
                Some(Holiday::Closure(a, b)) => {
                    let days = (b - a).get_days();
                    if b < a {
                        errors.add(field, "the closure ends before it starts");
                    } else if days >= MAX_CLOSURE_DAYS {
                        errors.add(field, format!("a closure may last at most {MAX_CLOSURE_DAYS} days"));
                    } else {
                        let mut d = a;
                        while d <= b {
                            days_off.push(d);
                            match d.tomorrow() {
                                Ok(next) => d = next,
                                Err(_) => break,
                            }
                        }
                    }
                }
                Some(Holiday::Yearly { month, day }) => yearly.push((month, day)),
                None => errors.add(
                    field,
                    format!("`{h}` is not a date (2026-12-25), a closure (2026-12-24/2026-12-31) or a yearly date (12-25)"),
                ),
            }
        }
        errors.into_result()?;
        let time_zone = time_zone.ok_or_else(|| ValidationError::field("time_zone", "is required"))?;
        days_off.sort_unstable();
        days_off.dedup();
        yearly.sort_unstable();
        yearly.dedup();
        let mut holidays: Vec<String> = def.holidays.iter().map(|h| h.trim().to_owned()).collect();
        holidays.dedup();
        let definition = CalendarDefinition {
            time_zone: time_zone.iana_name().unwrap_or(def.time_zone.trim()).to_owned(),
            working_hours: if round_the_clock {
                WorkingHoursDefinition::Named("24x7".into())
            } else {
                WorkingHoursDefinition::Weekly(normalized_week)
            },
            holidays,
        };
        Ok(BusinessCalendar {
            time_zone,
            week,
            round_the_clock,
            days_off,
            yearly,
            definition,
        })
    }

    /// The definition, normalized: periods sorted, the time zone spelled as the database does.
    pub fn definition(&self) -> &CalendarDefinition {
        &self.definition
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// Whether `date` is a day off.
    pub fn is_holiday(&self, date: Date) -> bool {
        self.days_off.binary_search(&date).is_ok()
            || self.yearly.binary_search(&(date.month(), date.day())).is_ok()
    }

    /// Shows an instant in the calendar's time zone as RFC 3339 with its offset.
    pub fn format(&self, t: Timestamp) -> String {
        let offset = self.time_zone.to_offset(t);
        t.display_with_offset(offset).to_string()
    }

    fn instant(&self, date: Date, minute: u16) -> Option<i64> {
        let dt = if minute >= MINUTES_PER_DAY {
            date.tomorrow().ok()?.to_datetime(Time::midnight())
        } else {
            let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
            DateTime::from_parts(date, time)
        };
        self.time_zone
            .to_ambiguous_timestamp(dt)
            .compatible()
            .ok()
            .map(Timestamp::as_microsecond)
    }

    /// The instant of the time zone's first transition after `at` (microseconds), or `i64::MAX`.
    fn next_offset_change(&self, at: i64) -> i64 {
        micros(at)
            .and_then(|t| self.time_zone.following(t).next())
            .map_or(i64::MAX, |t| t.timestamp().as_microsecond())
    }

    /// Calls `f` with each working interval (`[start, end)` in microseconds) that ends after `from`,
    /// in order, the first one clipped to start at `from`; stops when `f` breaks.
    fn working_intervals(
        &self,
        from: i64,
        mut f: impl FnMut(i64, i64) -> ControlFlow<()>,
    ) -> Result<(), CalendarError> {
        if self.round_the_clock && self.days_off.is_empty() && self.yearly.is_empty() {
            let _ = f(from, i64::MAX);
            return Ok(());
        }
        let start = micros(from).ok_or(CalendarError::NoWorkingTime)?;
        let mut date = self.time_zone.to_datetime(start).date();
        let mut last_end = from;
        // Converting a local time to an instant is the costly step. Until the zone's next change of
        // offset, each midnight is the previous one plus 24 hours and every period is its midnight
        // plus minutes; only a day with a change converts each of its times.
        let mut midnight = self.instant(date, 0);
        let mut change = midnight.map_or(i64::MIN, |m| self.next_offset_change(m));
        for _ in 0..HORIZON_DAYS {
            let next_midnight = match midnight {
                Some(m) if m + MICROS_PER_DAY < change => Some(m + MICROS_PER_DAY),
                _ => {
                    let next = self.instant(date, MINUTES_PER_DAY);
                    change = next.map_or(i64::MIN, |n| self.next_offset_change(n));
                    next
                }
            };
            let steady = match (midnight, next_midnight) {
                (Some(m), Some(n)) if n - m == MICROS_PER_DAY => Some(m),
                _ => None,
            };
            let at = |minute: u16| match steady {
                Some(m) => Some(m + i64::from(minute) * MICROS_PER_MINUTE),
                None => self.instant(date, minute),
            };
            if !self.is_holiday(date) {
                let index = date.weekday().to_monday_zero_offset() as usize;
                for p in self.week.get(index).map(Vec::as_slice).unwrap_or_default() {
                    let (Some(s), Some(e)) = (at(p.start), at(p.end)) else {
                        continue;
                    };
                    // A fold can make a period start before the previous one ended; never count twice.
                    let s = s.max(last_end);
                    if e <= s {
                        continue;
                    }
                    last_end = e;
                    if f(s, e).is_break() {
                        return Ok(());
                    }
                }
            }
            date = match date.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
            midnight = next_midnight;
        }
        Err(CalendarError::NoWorkingTime)
    }

    /// Calls `f` with each interval of working time after `from` that no pause covers.
    fn running_intervals(
        &self,
        from: i64,
        pauses: &Pauses,
        mut f: impl FnMut(i64, i64) -> ControlFlow<()>,
    ) -> Result<(), CalendarError> {
        let pauses = pauses.0.as_slice();
        let mut first = pauses.partition_point(|&(_, end)| end <= from);
        self.working_intervals(from, |s, e| {
            while pauses.get(first).is_some_and(|&(_, end)| end <= s) {
                first += 1;
            }
            let mut cur = s;
            let mut j = first;
            while cur < e {
                match pauses.get(j) {
                    Some(&(ps, pe)) if ps < e => {
                        if ps > cur {
                            f(cur, ps)?;
                        }
                        cur = cur.max(pe);
                        j += 1;
                    }
                    _ => return f(cur, e),
                }
            }
            ControlFlow::Continue(())
        })
    }

    /// The earliest instant at which `business` microseconds of working time outside `pauses` have
    /// passed since `start`: inside a working period, or at the end of one.
    pub fn due_micros(&self, start: i64, business: i64, pauses: &Pauses) -> Result<i64, CalendarError> {
        if business <= 0 {
            return Ok(start);
        }
        let mut remaining = business;
        let mut due = None;
        self.running_intervals(start, pauses, |s, e| {
            let len = e.saturating_sub(s);
            if remaining <= len {
                due = Some(s + remaining);
                ControlFlow::Break(())
            } else {
                remaining -= len;
                ControlFlow::Continue(())
            }
        })?;
        due.ok_or(CalendarError::NoWorkingTime)
    }

    /// The due instants of several targets (ascending business microseconds) from one start, in one
    /// walk over the calendar: what warnings at several shares of a target need.
    pub fn due_many_micros(&self, start: i64, targets: &[i64], pauses: &Pauses) -> Vec<Option<i64>> {
        let mut out: Vec<Option<i64>> = targets.iter().map(|t| (*t <= 0).then_some(start)).collect();
        let mut used = 0i64;
        let mut next = out.iter().position(Option::is_none);
        if next.is_none() {
            return out;
        }
        let _ = self.running_intervals(start, pauses, |s, e| {
            let len = e.saturating_sub(s);
            while let Some(i) = next {
                let Some(target) = targets.get(i).copied() else {
                    return ControlFlow::Break(());
                };
                if target - used <= len {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = Some(s + (target - used));
                    }
                    next = (i + 1 < targets.len()).then_some(i + 1);
                } else {
                    break;
                }
            }
            if next.is_none() {
                return ControlFlow::Break(());
            }
            used += len;
            ControlFlow::Continue(())
        });
        out
    }

    /// The due instant of a target of `minutes` business minutes started at `start`.
    pub fn due(&self, start: Timestamp, minutes: i64, pauses: &Pauses) -> Result<Timestamp, CalendarError> {
        let business = minutes.saturating_mul(MICROS_PER_MINUTE);
        let due = self.due_micros(start.as_microsecond(), business, pauses)?;
        micros(due).ok_or(CalendarError::NoWorkingTime)
    }

    /// Working time outside `pauses` between `from` and `to`, in microseconds (0 when `to` is not
    /// after `from`).
    pub fn elapsed_micros(&self, from: i64, to: i64, pauses: &Pauses) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0i64;
        // Running out of horizon only means nothing more to count.
        let _ = self.running_intervals(from, pauses, |s, e| {
            if s >= to {
                return ControlFlow::Break(());
            }
            total += e.min(to) - s;
            if e >= to {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        total
    }

    /// Working time between two instants, outside `pauses`.
    pub fn elapsed(&self, from: Timestamp, to: Timestamp, pauses: &Pauses) -> jiff::SignedDuration {
        jiff::SignedDuration::from_micros(self.elapsed_micros(
            from.as_microsecond(),
            to.as_microsecond(),
            pauses,
        ))
    }

    /// The working periods between two instants, clipped to them, for showing how a figure came
    /// about. At most `limit` periods.
    pub fn working_periods(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Vec<(Timestamp, Timestamp)> {
        let (from, to) = (from.as_microsecond(), to.as_microsecond());
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        let _ = self.working_intervals(from, |s, e| {
            if s >= to || out.len() >= limit {
                return ControlFlow::Break(());
            }
            if let (Some(s), Some(e)) = (micros(s), micros(e.min(to))) {
                out.push((s, e));
            }
            ControlFlow::Continue(())
        });
        out
    }
}

/// Reads the days off from an iCalendar file: each event's dates (an all-day event, or the date of a
/// timed one; several days when it spans them), and a yearly date for an event that repeats yearly.
pub fn holidays_from_ics(text: &str) -> Result<Vec<String>, ValidationError> {
    // Lines that begin with a space or tab continue the previous line (RFC 5545, 3.1).
    let mut lines: Vec<String> = Vec::new();
    for raw in text.lines() {
        let raw = raw.trim_end_matches('\r');
        match raw.strip_prefix([' ', '\t']) {
            Some(rest) => {
                if let Some(last) = lines.last_mut() {
                    last.push_str(rest);
                }
            }
            None => lines.push(raw.to_owned()),
        }
    }
    let mut out = Vec::new();
    let mut in_event = false;
    let (mut start, mut end, mut yearly): (Option<Date>, Option<Date>, bool) = (None, None, false);
    let date_of = |line: &str| -> Option<Date> {
        let value = line.rsplit_once(':')?.1.trim();
        let digits = value.get(..8)?;
        let (y, m, d) = (digits.get(..4)?, digits.get(4..6)?, digits.get(6..8)?);
        Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
    };
    for (n, line) in lines.iter().enumerate() {
        let upper = line.to_ascii_uppercase();
        if upper == "BEGIN:VEVENT" {
            in_event = true;
            (start, end, yearly) = (None, None, false);
        } else if upper == "END:VEVENT" {
            in_event = false;
            let Some(first) = start else {
                return Err(ValidationError::field(
                    "ics",
                    format!("the event ending on line {} has no DTSTART date", n + 1),
                ));
            };
            if yearly {
                out.push(format!("{:02}-{:02}", first.month(), first.day()));
                continue;
            }
            // DTEND of an all-day event is the day after the last one.
            let last = end
                .and_then(|e: Date| e.yesterday().ok())
                .filter(|l| *l > first)
                .unwrap_or(first);
            if last > first {
                out.push(format!("{first}/{last}"));
            } else {
                out.push(first.to_string());
            }
        } else if in_event && (upper.starts_with("DTSTART:") || upper.starts_with("DTSTART;")) {
            start = Some(date_of(line).ok_or_else(|| {
                ValidationError::field("ics", format!("line {} has no readable date", n + 1))
            })?);
        } else if in_event && (upper.starts_with("DTEND:") || upper.starts_with("DTEND;")) {
            end = date_of(line);
        } else if in_event && upper.starts_with("RRULE:") && upper.contains("FREQ=YEARLY") {
            yearly = true;
        }
    }
    if out.is_empty() {
        return Err(ValidationError::field("ics", "the file has no events"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
