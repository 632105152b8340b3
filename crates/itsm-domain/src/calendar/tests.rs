use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn weekly(days: &[(&str, &[(&str, &str)])], tz: &str, holidays: &[&str]) -> BusinessCalendar {
    let mut map = BTreeMap::new();
    for (day, periods) in days {
        map.insert(
            (*day).to_owned(),
            periods
                .iter()
                .map(|(a, b)| [(*a).to_owned(), (*b).to_owned()])
                .collect(),
        );
    }
    BusinessCalendar::new(&CalendarDefinition {
        time_zone: tz.into(),
        working_hours: WorkingHoursDefinition::Weekly(map),
        holidays: holidays.iter().map(|h| (*h).to_owned()).collect(),
    })
    .unwrap()
}

const OFFICE: &[(&str, &str)] = &[("09:00", "17:00")];
const OFFICE_WITH_LUNCH: &[(&str, &str)] = &[("08:00", "12:00"), ("13:00", "17:00")];

fn office(tz: &str, holidays: &[&str]) -> BusinessCalendar {
    weekly(
        &[
            ("monday", OFFICE),
            ("tuesday", OFFICE),
            ("wednesday", OFFICE),
            ("thursday", OFFICE),
            ("friday", OFFICE),
        ],
        tz,
        holidays,
    )
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn none() -> Pauses {
    Pauses::default()
}

fn minutes(d: jiff::SignedDuration) -> i64 {
    d.as_secs() / 60
}

#[test]
fn a_target_carries_over_the_weekend() {
    let cal = office("Europe/Berlin", &[]);
    // Friday 2026-11-27 16:00 in Berlin (UTC+1) with two business hours left.
    let due = cal.due(at("2026-11-27T15:00:00Z"), 120, &none()).unwrap();
    assert_eq!(cal.format(due), "2026-11-30T10:00:00+01:00");
}

#[test]
fn a_lunch_break_is_not_working_time() {
    let cal = weekly(&[("wednesday", OFFICE_WITH_LUNCH)], "Europe/Berlin", &[]);
    let due = cal.due(at("2026-11-25T10:30:00Z"), 60, &none()).unwrap();
    assert_eq!(cal.format(due), "2026-11-25T13:30:00+01:00");
    let elapsed = cal.elapsed(at("2026-11-25T07:00:00Z"), at("2026-11-25T17:00:00Z"), &none());
    assert_eq!(minutes(elapsed), 8 * 60);
}

#[test]
fn holidays_dates_closures_and_yearly_dates_are_days_off() {
    let cal = office("Europe/Berlin", &["2026-12-24/2026-12-31", "01-01"]);
    // Wednesday 2026-12-23 16:00 with 4 hours: 1 today, then the closure and New Year's Day (Friday),
    // then the weekend; 3 hours on Monday 2027-01-04.
    let due = cal.due(at("2026-12-23T15:00:00Z"), 240, &none()).unwrap();
    assert_eq!(cal.format(due), "2027-01-04T12:00:00+01:00");
    assert!(cal.is_holiday("2031-01-01".parse().unwrap()));
    assert!(!cal.is_holiday("2027-12-24".parse().unwrap()));
}

#[test]
fn a_yearly_29_february_is_observed_in_leap_years_only() {
    let cal = office("UTC", &["02-29"]);
    assert!(cal.is_holiday("2028-02-29".parse().unwrap()));
    assert!(!cal.is_holiday("2027-02-28".parse().unwrap()));
}

#[test]
fn daylight_saving_days_have_23_and_25_real_hours() {
    let sundays: &[(&str, &str)] = &[("00:00", "24:00")];
    let cal = weekly(&[("sunday", sundays)], "Europe/Berlin", &[]);
    // Spring forward on 2026-03-29: Sunday 00:00 CET to Monday 00:00 CEST.
    let e = cal.elapsed(at("2026-03-28T23:00:00Z"), at("2026-03-29T22:00:00Z"), &none());
    assert_eq!(minutes(e), 23 * 60);
    // Fall back on 2026-10-25.
    let e = cal.elapsed(at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z"), &none());
    assert_eq!(minutes(e), 25 * 60);
    let due = cal.due(at("2026-10-24T22:00:00Z"), 25 * 60, &none()).unwrap();
    assert_eq!(cal.format(due), "2026-10-26T00:00:00+01:00");
}

#[test]
fn a_period_inside_the_spring_forward_gap_does_not_exist() {
    let night: &[(&str, &str)] = &[("02:00", "03:00"), ("09:00", "10:00")];
    let cal = weekly(&[("sunday", night)], "Europe/Berlin", &[]);
    let from = at("2026-03-28T23:00:00Z");
    let due = cal.due(from, 30, &none()).unwrap();
    assert_eq!(cal.format(due), "2026-03-29T09:30:00+02:00");
    // In the autumn the 02:00-03:00 hour is worked twice.
    let e = cal.elapsed(at("2026-10-24T22:00:00Z"), at("2026-10-25T12:00:00Z"), &none());
    assert_eq!(minutes(e), 3 * 60);
}

#[test]
fn time_on_hold_over_a_weekend_is_not_counted_twice() {
    let cal = office("Europe/Berlin", &[]);
    let pauses = Pauses::new(
        "pauses",
        &[(at("2026-11-27T15:00:00Z"), at("2026-11-30T09:00:00Z"))],
    )
    .unwrap();
    // Friday 15:00-16:00 local and Monday 10:00-12:00 local run; the pause and the weekend do not.
    let e = cal.elapsed(at("2026-11-27T14:00:00Z"), at("2026-11-30T11:00:00Z"), &pauses);
    assert_eq!(minutes(e), 3 * 60);
    let due = cal.due(at("2026-11-27T14:00:00Z"), 3 * 60, &pauses).unwrap();
    assert_eq!(due, at("2026-11-30T11:00:00Z"));
}

#[test]
fn overlapping_pauses_are_merged_and_a_pause_outside_working_time_changes_nothing() {
    let cal = office("UTC", &[]);
    let start = at("2026-11-23T09:00:00Z");
    let p = Pauses::new(
        "pauses",
        &[
            (at("2026-11-23T10:00:00Z"), at("2026-11-23T11:00:00Z")),
            (at("2026-11-23T10:30:00Z"), at("2026-11-23T12:00:00Z")),
        ],
    )
    .unwrap();
    assert_eq!(p.intervals().count(), 1);
    assert_eq!(cal.due(start, 120, &p).unwrap(), at("2026-11-23T13:00:00Z"));
    let night = Pauses::new(
        "pauses",
        &[(at("2026-11-23T18:00:00Z"), at("2026-11-24T08:00:00Z"))],
    )
    .unwrap();
    assert_eq!(
        cal.due(start, 600, &night).unwrap(),
        cal.due(start, 600, &none()).unwrap()
    );
}

#[test]
fn round_the_clock_counts_every_minute_and_still_honours_holidays() {
    let plain = BusinessCalendar::new(&CalendarDefinition {
        time_zone: "America/New_York".into(),
        working_hours: WorkingHoursDefinition::Named("24x7".into()),
        holidays: vec![],
    })
    .unwrap();
    let due = plain.due(at("2026-11-01T05:00:00Z"), 48 * 60, &none()).unwrap();
    assert_eq!(due, at("2026-11-03T05:00:00Z"));
    let closed = BusinessCalendar::new(&CalendarDefinition {
        time_zone: "America/New_York".into(),
        working_hours: WorkingHoursDefinition::Named("24x7".into()),
        holidays: vec!["2026-11-26".into()],
    })
    .unwrap();
    // Thanksgiving (local day, 24 hours) is skipped.
    let due = closed.due(at("2026-11-25T12:00:00Z"), 24 * 60, &none()).unwrap();
    assert_eq!(closed.format(due), "2026-11-27T07:00:00-05:00");
}

#[test]
fn a_zero_target_is_due_at_the_start() {
    let cal = office("UTC", &[]);
    let start = at("2026-11-28T03:00:00Z");
    assert_eq!(cal.due(start, 0, &none()).unwrap(), start);
}

#[test]
fn invalid_definitions_name_the_field() {
    let def = CalendarDefinition {
        time_zone: "Mars/Olympus".into(),
        working_hours: WorkingHoursDefinition::Weekly(BTreeMap::from([
            (
                "monday".to_owned(),
                vec![
                    ["08:00".to_owned(), "12:00".to_owned()],
                    ["11:00".to_owned(), "13:00".to_owned()],
                ],
            ),
            (
                "tuesday".to_owned(),
                vec![["17:00".to_owned(), "09:00".to_owned()]],
            ),
            (
                "friday".to_owned(),
                vec![["08:00".to_owned(), "24:30".to_owned()]],
            ),
            ("funday".to_owned(), vec![]),
        ])),
        holidays: vec!["2026-13-01".into(), "2026-12-31/2026-12-01".into()],
    };
    let err = BusinessCalendar::new(&def).unwrap_err();
    let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "time_zone",
            "working_hours.friday[0]",
            "working_hours.funday",
            "working_hours.monday[1]",
            "working_hours.tuesday[0]",
            "holidays[0]",
            "holidays[1]",
        ]
    );
    let empty = CalendarDefinition {
        time_zone: "UTC".into(),
        working_hours: WorkingHoursDefinition::Weekly(BTreeMap::new()),
        holidays: vec![],
    };
    assert_eq!(
        BusinessCalendar::new(&empty).unwrap_err().errors[0].field,
        "working_hours"
    );
    let bad_pause = Pauses::new(
        "pauses",
        &[(at("2026-11-23T10:00:00Z"), at("2026-11-23T09:00:00Z"))],
    );
    assert_eq!(bad_pause.unwrap_err().errors[0].field, "pauses[0]");
}

#[test]
fn the_definition_is_normalized() {
    let cal = weekly(
        &[("Monday", &[("13:00", "17:00"), ("08:00", "12:00")])],
        "utc",
        &[],
    );
    let WorkingHoursDefinition::Weekly(days) = &cal.definition().working_hours else {
        panic!("weekly");
    };
    assert_eq!(days["monday"][0], ["08:00".to_owned(), "12:00".to_owned()]);
    assert_eq!(cal.definition().time_zone, "UTC");
}

#[test]
fn holidays_come_from_an_icalendar_file() {
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20261225\r\n\
               DTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:New Year\r\nDTSTART;VALUE=DATE:\r\n 20270101\r\n\
               RRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20270405T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert_eq!(
        holidays_from_ics(ics).unwrap(),
        ["2026-12-25/2026-12-26", "01-01", "2027-04-05"]
    );
    assert_eq!(
        holidays_from_ics("BEGIN:VCALENDAR\nEND:VCALENDAR")
            .unwrap_err()
            .errors[0]
            .field,
        "ics"
    );
}

#[test]
fn a_holiday_moves_the_work_to_the_next_working_day() {
    let cal = weekly(&[("monday", OFFICE)], "UTC", &["2026-11-30"]);
    assert!(cal.due(at("2026-11-24T00:00:00Z"), 60, &none()).is_ok());
    // Working time only on Mondays, and 2026-11-30 is off: the next Monday still works.
    assert_eq!(
        cal.due(at("2026-11-24T00:00:00Z"), 60, &none()).unwrap(),
        at("2026-12-07T10:00:00Z")
    );
}

// ---- properties ----

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Sao_Paulo",
    "Europe/London",
    "UTC",
];

/// Instants near daylight-saving changes and year ends, where the bugs live.
const HOT_SPOTS: &[&str] = &[
    "2026-03-29T01:00:00Z",
    "2026-10-25T01:00:00Z",
    "2026-03-08T07:00:00Z",
    "2026-11-01T06:00:00Z",
    "2026-04-04T16:00:00Z",
    "2026-10-03T16:00:00Z",
    "2026-12-31T12:00:00Z",
    "2027-12-31T23:00:00Z",
];

fn day_periods() -> impl Strategy<Value = Vec<[String; 2]>> {
    prop::collection::btree_set(0u16..=96, 0..=6).prop_map(|set| {
        let marks: Vec<u16> = set.into_iter().map(|q| q * 15).collect();
        marks
            .chunks_exact(2)
            .map(|c| [format_minutes(c[0]), format_minutes(c[1])])
            .collect()
    })
}

fn calendar() -> impl Strategy<Value = BusinessCalendar> {
    (
        prop::sample::select(ZONES),
        prop::collection::vec(day_periods(), 7),
        any::<bool>(),
        prop::collection::vec((0i32..1100, 0i32..5), 0..6),
        prop::collection::vec((1i8..=12, 1i8..=28), 0..3),
    )
        .prop_filter_map("some working time", |(tz, days, round, closures, yearly)| {
            let base: Date = "2026-01-01".parse().unwrap();
            let mut holidays: Vec<String> = closures
                .iter()
                .map(|(offset, len)| {
                    let a = base.checked_add(jiff::Span::new().days(*offset)).unwrap();
                    let b = a.checked_add(jiff::Span::new().days(*len)).unwrap();
                    format!("{a}/{b}")
                })
                .collect();
            holidays.extend(yearly.iter().map(|(m, d)| format!("{m:02}-{d:02}")));
            let working_hours = if round {
                WorkingHoursDefinition::Named("24x7".into())
            } else {
                WorkingHoursDefinition::Weekly(
                    WEEKDAYS
                        .iter()
                        .zip(days)
                        .map(|(d, p)| ((*d).to_owned(), p))
                        .collect(),
                )
            };
            BusinessCalendar::new(&CalendarDefinition {
                time_zone: tz.to_owned(),
                working_hours,
                holidays,
            })
            .ok()
        })
}

fn instant() -> impl Strategy<Value = i64> {
    let year_micros = 365 * 24 * 3600 * 1_000_000i64;
    prop_oneof![
        (0..3 * year_micros).prop_map(|o| at("2026-01-01T00:00:00Z").as_microsecond() + o),
        (prop::sample::select(HOT_SPOTS), -3 * 86_400i64..3 * 86_400)
            .prop_map(|(h, secs)| at(h).as_microsecond() + secs * 1_000_000),
    ]
}

fn pauses_after(start: i64) -> impl Strategy<Value = Vec<(i64, i64)>> {
    prop::collection::vec((0i64..20 * 86_400, 0i64..3 * 86_400), 0..4).prop_map(move |v| {
        v.into_iter()
            .map(|(o, len)| (start + o * 1_000_000, start + (o + len) * 1_000_000))
            .collect()
    })
}

fn case() -> impl Strategy<Value = (BusinessCalendar, i64, Vec<(i64, i64)>)> {
    (calendar(), instant()).prop_flat_map(|(cal, start)| (Just(cal), Just(start), pauses_after(start)))
}

/// Whether the microsecond just before `t` was running time: working and not paused.
fn ran_just_before(cal: &BusinessCalendar, t: i64, pauses: &Pauses) -> bool {
    cal.elapsed_micros(t - 1, t, pauses) == 1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn elapsed_from_start_to_due_is_the_target((cal, start, p) in case(), target in 1i64..30_000) {
        let pauses = Pauses::from_micros(p);
        let business = target * MICROS_PER_MINUTE;
        if let Ok(due) = cal.due_micros(start, business, &pauses) {
            prop_assert_eq!(cal.elapsed_micros(start, due, &pauses), business);
            prop_assert!(ran_just_before(&cal, due, &pauses), "due {} is not the end of running time", due);
        }
    }

    #[test]
    fn one_walk_finds_the_same_instants_as_one_walk_each(
        (cal, start, p) in case(), mut targets in prop::collection::vec(0i64..20_000, 1..5)
    ) {
        let pauses = Pauses::from_micros(p);
        targets.sort_unstable();
        let business: Vec<i64> = targets.iter().map(|t| t * MICROS_PER_MINUTE).collect();
        let many = cal.due_many_micros(start, &business, &pauses);
        for (b, got) in business.iter().zip(many) {
            prop_assert_eq!(got, cal.due_micros(start, *b, &pauses).ok());
        }
    }

    #[test]
    fn a_larger_target_is_never_due_earlier((cal, start, p) in case(), a in 0i64..20_000, b in 0i64..20_000) {
        let pauses = Pauses::from_micros(p);
        let (small, large) = (a.min(b), a.max(b));
        if let (Ok(d1), Ok(d2)) = (
            cal.due_micros(start, small * MICROS_PER_MINUTE, &pauses),
            cal.due_micros(start, large * MICROS_PER_MINUTE, &pauses),
        ) {
            prop_assert!(d1 <= d2);
        }
    }

    #[test]
    fn a_pause_never_makes_the_due_instant_earlier(
        (cal, start, p) in case(), target in 1i64..20_000, extra in (0i64..10 * 86_400, 1i64..2 * 86_400)
    ) {
        let without = Pauses::from_micros(p.clone());
        let mut more = p;
        more.push((start + extra.0 * 1_000_000, start + (extra.0 + extra.1) * 1_000_000));
        let with = Pauses::from_micros(more);
        if let (Ok(d1), Ok(d2)) = (
            cal.due_micros(start, target * MICROS_PER_MINUTE, &without),
            cal.due_micros(start, target * MICROS_PER_MINUTE, &with),
        ) {
            prop_assert!(d1 <= d2);
        }
    }

    #[test]
    fn elapsed_time_adds_up_over_consecutive_intervals(
        (cal, start, p) in case(), a in 0i64..15 * 86_400, b in 0i64..15 * 86_400
    ) {
        let pauses = Pauses::from_micros(p);
        let mid = start + a.min(b) * 1_000_000;
        let end = start + a.max(b) * 1_000_000;
        prop_assert_eq!(
            cal.elapsed_micros(start, mid, &pauses) + cal.elapsed_micros(mid, end, &pauses),
            cal.elapsed_micros(start, end, &pauses)
        );
        prop_assert!(cal.elapsed_micros(start, end, &pauses) <= end - start);
    }
}

/// The working intervals from `from` as the definition states them: every period's local start
/// and end converted on its own, no shortcut for days without an offset change.
fn intervals_converted_one_by_one(cal: &BusinessCalendar, from: i64, n: usize) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut date = cal
        .time_zone
        .to_datetime(Timestamp::from_microsecond(from).unwrap())
        .date();
    let mut last_end = from;
    while out.len() < n && date.year() < 2100 {
        if !cal.is_holiday(date) {
            let index = date.weekday().to_monday_zero_offset() as usize;
            for p in &cal.week[index] {
                let (Some(s), Some(e)) = (cal.instant(date, p.start), cal.instant(date, p.end)) else {
                    continue;
                };
                let s = s.max(last_end);
                if e > s {
                    last_end = e;
                    out.push((s, e));
                }
            }
        }
        date = date.tomorrow().unwrap();
    }
    out.truncate(n);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The walk takes each midnight as the previous one plus 24 hours until the zone's next offset
    /// change; that shortcut must give exactly the instants a conversion of each period gives.
    #[test]
    fn working_periods_are_the_instants_their_local_times_convert_to(cal in calendar(), start in instant()) {
        prop_assume!(!(cal.round_the_clock && cal.days_off.is_empty() && cal.yearly.is_empty()));
        let mut walked = Vec::new();
        let _ = cal.working_intervals(start, |s, e| {
            walked.push((s, e));
            if walked.len() == 40 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        prop_assert_eq!(walked, intervals_converted_one_by_one(&cal, start, 40));
    }
}
