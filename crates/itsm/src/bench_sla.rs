//! `itsm bench-sla`: the service level quality bars. Due-instant and elapsed computations on a business
//! calendar with a lunch break and holidays (pure, in memory), then, on a database, replaying every
//! open clock of N incidents when an agreement comes into force and when asked to, and one run of the
//! warning job. Prints figures; nothing here passes or fails.

use std::time::{Duration, Instant};

use itsm_app::service_levels::{AgreementChange, AgreementInput, CalendarInput};
use itsm_app::Ctx;

use crate::error::CliError;
use itsm_domain::calendar::{BusinessCalendar, CalendarDefinition, Pauses, WorkingHoursDefinition};
use itsm_domain::sla::Metric;
use itsm_domain::slm::{AgreementTerms, AgreementType, ServiceLevelTarget};
use itsm_domain::{RecordFields, RecordKind};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

pub struct SlaBenchOptions {
    pub database_url: String,
    pub records: usize,
    pub computations: usize,
}

/// The demo's Berlin office calendar: lunch break and 15 holidays.
fn office_definition() -> CalendarDefinition {
    crate::demo::europe_office_hours()
}

fn per_call(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let n = samples.len().max(1);
    let total: Duration = samples.iter().sum();
    let at = |p: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{name:<52} n={:<7} mean {:>7.2} us  p50 {:>7.2} us  p99 {:>7.2} us",
        samples.len(),
        total.as_secs_f64() * 1e6 / n as f64,
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
    );
}

/// The pure computations: no storage, no async.
fn calendar_figures(computations: usize) -> Result<(), CliError> {
    let cal = BusinessCalendar::new(&office_definition())?;
    let mut rng = StdRng::seed_from_u64(20);
    let base = jiff::Timestamp::from_second(1_767_225_600)?; // 2026-01-01
    let targets = [30i64, 240, 480, 1_440, 2_400];
    let starts: Vec<(jiff::Timestamp, i64)> = (0..computations)
        .map(|_| {
            let t = base
                .checked_add(jiff::SignedDuration::from_secs(rng.gen_range(0..365 * 86_400)))
                .unwrap_or(base);
            (t, targets.choose(&mut rng).copied().unwrap_or(240))
        })
        .collect();
    let none = Pauses::default();
    let mut samples = Vec::with_capacity(computations);
    let mut sink = 0i64;
    for (start, minutes) in &starts {
        let t = Instant::now();
        let due = cal.due(*start, *minutes, &none)?;
        samples.push(t.elapsed());
        sink ^= due.as_second();
    }
    per_call("due instant (Berlin, lunch break, 15 holidays)", samples);
    let mut samples = Vec::with_capacity(computations);
    for (start, minutes) in &starts {
        let pauses = Pauses::from_micros(vec![(
            start.as_microsecond() + 3_600_000_000,
            start.as_microsecond() + (*minutes * 30_000_000) + 86_400_000_000,
        )]);
        let t = Instant::now();
        let due = cal.due(*start, *minutes, &pauses)?;
        samples.push(t.elapsed());
        sink ^= due.as_second();
    }
    per_call("due instant with a pause", samples);
    let mut samples = Vec::with_capacity(computations);
    for (start, minutes) in &starts {
        let to = start
            .checked_add(jiff::SignedDuration::from_mins(*minutes * 3))
            .unwrap_or(*start);
        let t = Instant::now();
        let e = cal.elapsed(*start, to, &none);
        samples.push(t.elapsed());
        sink ^= e.as_secs();
    }
    per_call("elapsed business time", samples);
    // Keeps the optimizer from removing the work.
    if sink == i64::MIN {
        println!("{sink}");
    }
    Ok(())
}

/// Puts the demo's office calendar and one service level agreement per customer in force (three
/// targets: first response, and resolution by priority), replaying the open clocks of each
/// customer's incidents as a provider's first agreement would. Answers the calendar and how long
/// bringing the agreements into force took.
pub(crate) async fn put_sla_in_force(
    app: &itsm_app::App,
    customers: &[itsm_domain::OrganizationId],
) -> Result<(itsm_app::model::RecordView, Duration), CliError> {
    let sys = Ctx::system();
    let cal = app
        .create_calendar(
            &sys,
            CalendarInput {
                name: "Berlin office".into(),
                description: String::new(),
                definition: office_definition(),
                is_default: true,
            },
        )
        .await?;
    let target = ServiceLevelTarget::for_incidents;
    let mut took = Duration::ZERO;
    for (n, customer) in customers.iter().enumerate() {
        let agreement = app
            .create_agreement(
                &sys,
                AgreementInput {
                    title: format!("Bench SLA {}", n + 1),
                    description: String::new(),
                    organization_id: Some(*customer),
                    assignment_group_id: None,
                    owner_id: None,
                    terms: AgreementTerms {
                        agreement_type: AgreementType::ServiceLevelAgreement,
                        service_ids: vec![],
                        valid_from: "2020-01-01".parse()?,
                        valid_until: None,
                        review_date: None,
                        calendar_id: Some(cal.record.id.0),
                        targets: vec![
                            target("First response", Metric::FirstResponse, &[], 120),
                            target("Resolution P1-P2", Metric::Resolution, &[1, 2], 480),
                            target("Resolution P3-P5", Metric::Resolution, &[3, 4, 5], 2_400),
                        ],
                    },
                },
            )
            .await?;
        let t = Instant::now();
        app.update_agreement(
            &sys,
            &agreement.record.readable_number().to_string(),
            Some(agreement.record.version),
            AgreementChange {
                state: Some("active".into()),
                ..Default::default()
            },
        )
        .await?;
        took += t.elapsed();
    }
    Ok((cal, took))
}

pub async fn run(o: SlaBenchOptions) -> Result<(), CliError> {
    calendar_figures(o.computations)?;
    if o.records == 0 {
        return Ok(());
    }
    let app = crate::bench_db::open_empty(&o.database_url, 16).await?;
    println!(
        "clocks on {} with {} open incidents",
        app.database_name(),
        o.records
    );
    let sys = Ctx::system();
    let customer = app.add_organization(&sys, "Bench customer", "customer").await?.id;

    // Open incidents logged over the last 30 days, in the states a queue holds.
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(9);
    let now = app.now();
    let mut loaded = 0;
    while loaded < o.records {
        let n = (o.records - loaded).min(5_000);
        let batch: Vec<(RecordFields, jiff::Timestamp)> = (0..n)
            .map(|i| {
                let at = now
                    .checked_sub(jiff::SignedDuration::from_secs(rng.gen_range(60..30 * 86_400)))
                    .unwrap_or(now);
                let state = ["new", "in_progress", "in_progress", "on_hold"]
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or("new");
                let mut details = serde_json::Map::new();
                if state == "on_hold" {
                    details.insert("on_hold_reason".into(), "awaiting_caller".into());
                }
                let fields = RecordFields {
                    organization_id: Some(customer),
                    title: format!("Bench incident {}", loaded + i),
                    state: state.into(),
                    priority: Some(rng.gen_range(1..=5)),
                    details,
                    ..Default::default()
                };
                (fields, at)
            })
            .collect();
        app.import_records(&sys, RecordKind::INCIDENT, &batch).await?;
        loaded += n;
    }
    app.refresh_statistics(false).await?;
    println!(
        "load: {} open incidents in {:.1} s",
        o.records,
        started.elapsed().as_secs_f64()
    );

    let (cal, took) = put_sla_in_force(&app, &[customer]).await?;
    println!(
        "{:<52} {:>8.3} s",
        format!("agreement in force: replay {} open clocks", o.records),
        took.as_secs_f64()
    );
    for round in 1..=3 {
        let t = Instant::now();
        let done = app.recompute_clocks(&sys, None).await?;
        println!(
            "{:<52} {:>8.3} s ({} changed)",
            format!(
                "recompute every open clock ({} records), run {round}",
                done.records
            ),
            t.elapsed().as_secs_f64(),
            done.changed
        );
    }
    // A longer working day moves every due instant: every clock is replayed and rewritten.
    let longer = {
        let mut d = office_definition();
        if let WorkingHoursDefinition::Weekly(days) = &mut d.working_hours {
            for periods in days.values_mut() {
                *periods = vec![
                    ["07:30".to_owned(), "12:00".to_owned()],
                    ["13:00".to_owned(), "18:00".to_owned()],
                ];
            }
        }
        d
    };
    let t = Instant::now();
    app.update_calendar(
        &sys,
        &cal.record.readable_number().to_string(),
        Some(cal.record.version),
        itsm_app::service_levels::CalendarChange {
            working_hours: Some(longer.working_hours),
            ..Default::default()
        },
    )
    .await?;
    println!(
        "{:<52} {:>8.3} s",
        format!("calendar change: replay and rewrite {} clocks", o.records),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let r = app.run_sla_jobs(500).await?;
    println!(
        "{:<52} {:>8.3} s ({} warnings, {} breaches)",
        format!("warning job, one batch of {} records", r.records),
        t.elapsed().as_secs_f64(),
        r.warnings,
        r.breaches
    );
    Ok(())
}
