//! Service level pages: time left in the queue, the SLA panel of a record, agreements, calendars
//! (with a what-if form) and the attainment report.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use itsm_app::model::{PageRequest, QueueClock, RecordFilter, SortField};
use itsm_app::AppError;
use itsm_domain::calendar::{CalendarDefinition, WorkingHoursDefinition, WEEKDAYS};
use itsm_domain::slm::AgreementTerms;
use itsm_domain::RecordKind;
use serde::Deserialize;

use super::frame::{failure_page, Layout};
use super::render;
use crate::api::service_levels::{sla_clock, SlaClock};
use crate::caller::UiUser;
use crate::page::error_page;
use crate::AppState;

/// Minutes as "3 h 05 min" or "45 min".
pub fn duration(minutes: i64) -> String {
    let m = minutes.abs();
    if m >= 24 * 60 {
        format!("{} d {} h", m / (24 * 60), (m % (24 * 60)) / 60)
    } else if m >= 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

/// What the queue shows of a record's SLA: a short text, a class for its colour, and a tooltip.
pub struct SlaCell {
    pub text: String,
    pub class: &'static str,
    pub title: String,
}

pub fn queue_cell(q: &QueueClock, now: jiff::Timestamp) -> SlaCell {
    let at = |t: jiff::Timestamp| t.strftime("%Y-%m-%d %H:%M UTC").to_string();
    match (q.status.as_deref(), q.due_at) {
        (None, _) => SlaCell {
            text: "—".into(),
            class: "sla-none",
            title: "No service level target applies".into(),
        },
        (Some("running" | "breached"), Some(due)) => {
            let left = (due.as_microsecond() - now.as_microsecond()) / 60_000_000;
            if left < 0 || q.status.as_deref() == Some("breached") {
                SlaCell {
                    text: format!("overdue {}", duration(left)),
                    class: "sla-breached",
                    title: format!("Was due {}", at(due)),
                }
            } else if q.warn_at.is_some_and(|w| w <= now) {
                SlaCell {
                    text: format!("{} left", duration(left)),
                    class: "sla-warning",
                    title: format!("Due {}; past its warning threshold", at(due)),
                }
            } else {
                SlaCell {
                    text: format!("{} left", duration(left)),
                    class: "sla-ok",
                    title: format!("Due {}", at(due)),
                }
            }
        }
        (Some("paused"), _) => SlaCell {
            text: "paused".into(),
            class: "sla-paused",
            title: "The clock is paused (on hold)".into(),
        },
        (Some("breached"), None) => SlaCell {
            text: "breached".into(),
            class: "sla-breached",
            title: "A target was missed".into(),
        },
        (Some(other), _) => SlaCell {
            text: other.replace('_', " "),
            class: if other == "met" { "sla-met" } else { "sla-none" },
            title: String::new(),
        },
    }
}

/// The SLA panel of a record: every clock with its explanation, as the API gives it, with instants
/// shown to the minute in the calendar's zone.
pub async fn panel(
    s: &AppState,
    u: &UiUser,
    kind: RecordKind,
    number: &str,
) -> Result<Vec<SlaClock>, AppError> {
    Ok(s.app
        .record_sla(&u.ctx, kind, number)
        .await?
        .into_iter()
        .map(|e| humane(sla_clock(e)))
        .collect())
}

/// An RFC 3339 instant as `2026-11-10 14:36 CST` in the given zone.
fn minute(s: &str, tz: &jiff::tz::TimeZone) -> String {
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string(),
        Err(_) => s.to_owned(),
    }
}

fn humane(mut c: SlaClock) -> SlaClock {
    let tz = jiff::tz::TimeZone::get(&c.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let m = |s: &mut String| *s = minute(s, &tz);
    let om = |s: &mut Option<String>| {
        if let Some(v) = s.as_mut() {
            *v = minute(v, &tz);
        }
    };
    om(&mut c.started_at);
    om(&mut c.stopped_at);
    om(&mut c.due);
    for seg in &mut c.segments {
        m(&mut seg.from);
        om(&mut seg.to);
    }
    for w in &mut c.warnings {
        om(&mut w.at);
    }
    for p in &mut c.working_periods {
        for end in p.iter_mut() {
            m(end);
        }
    }
    c
}

/// Business minutes as hours for people; never days, which would read as calendar days.
pub fn minutes_text(m: &f64) -> String {
    let m = m.round() as i64;
    if m.abs() >= 60 {
        format!("{} h {:02} min", m / 60, (m % 60).abs())
    } else {
        format!("{m} min")
    }
}

// ---------------------------------------------------------------- the service level overview

pub struct AgreementRow {
    number: String,
    title: String,
    kind: &'static str,
    party: String,
    state: String,
    valid: String,
    targets: usize,
}

pub struct CalendarRow {
    number: String,
    title: String,
    time_zone: String,
    state: String,
    is_default: bool,
}

#[derive(Template)]
#[template(path = "service_levels.html")]
struct OverviewPage {
    layout: Layout,
    agreements: Vec<AgreementRow>,
    calendars: Vec<CalendarRow>,
}

async fn all(
    s: &AppState,
    u: &UiUser,
    kind: RecordKind,
) -> Result<Vec<itsm_app::model::RecordView>, AppError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .app
            .list_records(
                &u.ctx,
                kind,
                RecordFilter::default(),
                PageRequest {
                    sort: SortField::Number,
                    descending: false,
                    after,
                    limit: 200,
                },
            )
            .await?;
        out.extend(page.items);
        match page.next {
            Some(n) if out.len() < 2_000 => after = Some(n),
            _ => break,
        }
    }
    Ok(out)
}

pub async fn overview(State(s): State<AppState>, u: UiUser) -> Response {
    let loaded = async {
        Ok::<_, AppError>((
            all(&s, &u, RecordKind::AGREEMENT).await?,
            all(&s, &u, RecordKind::CALENDAR).await?,
        ))
    }
    .await;
    let (agreements, calendars) = match loaded {
        Ok(x) => x,
        Err(e) => return failure_page(e),
    };
    let page = OverviewPage {
        layout: Layout::of(&u),
        agreements: agreements
            .into_iter()
            .map(|v| {
                let terms = AgreementTerms::from_details(&v.record.details);
                AgreementRow {
                    number: v.record.readable_number().to_string(),
                    kind: terms
                        .as_ref()
                        .map(|t| t.agreement_type.abbreviation())
                        .unwrap_or("?"),
                    party: match (
                        &v.names.assignment_group,
                        terms.as_ref().map(|t| t.agreement_type),
                    ) {
                        (Some(g), _) => g.clone(),
                        _ => v.names.organization.clone(),
                    },
                    valid: terms
                        .as_ref()
                        .map(|t| match t.valid_until {
                            Some(u) => format!("{} to {u}", t.valid_from),
                            None => format!("from {}", t.valid_from),
                        })
                        .unwrap_or_default(),
                    targets: terms.map(|t| t.targets.len()).unwrap_or(0),
                    state: v.record.state,
                    title: v.record.title,
                }
            })
            .collect(),
        calendars: calendars
            .into_iter()
            .map(|v| CalendarRow {
                number: v.record.readable_number().to_string(),
                time_zone: v.record.detail_str("time_zone").unwrap_or("").to_owned(),
                is_default: itsm_domain::slm::is_default_calendar(&v.record),
                state: v.record.state,
                title: v.record.title,
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}

// ---------------------------------------------------------------- one agreement

pub struct TargetRow {
    name: String,
    metric: String,
    scope: String,
    target: String,
    calendar: String,
    /// The calendar's page, when the target runs on a calendar of its own or the agreement's.
    calendar_href: Option<String>,
    warnings: String,
}

#[derive(Template)]
#[template(path = "agreement.html")]
struct AgreementPage {
    layout: Layout,
    number: String,
    title: String,
    description: String,
    state: String,
    kind: String,
    party: String,
    owner: String,
    valid: String,
    review: String,
    services: String,
    targets: Vec<TargetRow>,
    history: Vec<(String, String, String)>,
}

pub async fn agreement(State(s): State<AppState>, u: UiUser, Path(number): Path<String>) -> Response {
    let loaded = async {
        let v = s.app.get_record(&u.ctx, RecordKind::AGREEMENT, &number).await?;
        let history = s
            .app
            .record_history(&u.ctx, RecordKind::AGREEMENT, &number, 0, 500)
            .await?;
        let dir = super::pickers::Directory::load(&s, &u).await?;
        Ok::<_, AppError>((v, history, dir))
    }
    .await;
    let (v, history, dir) = match loaded {
        Ok(x) => x,
        Err(e) => return failure_page(e),
    };
    let Some(terms) = AgreementTerms::from_details(&v.record.details) else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The agreement's terms are unreadable.",
        );
    };
    // Records by name, never `#55`: services and offerings from the directory, calendars read.
    let named = |list: &[(i64, String)], id: i64| {
        list.iter()
            .find(|(i, _)| *i == id)
            .map_or_else(|| format!("#{id}"), |(_, n)| n.clone())
    };
    let ids = |v: &[i64]| {
        if v.is_empty() {
            "all".to_owned()
        } else {
            v.iter()
                .map(|i| named(&dir.services, *i))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut calendars: Vec<(i64, String, String)> = Vec::new();
    let wanted = terms
        .targets
        .iter()
        .filter_map(|t| t.calendar_id)
        .chain(terms.calendar_id);
    for id in wanted {
        if calendars.iter().any(|(i, _, _)| *i == id) {
            continue;
        }
        if let Ok(c) = s
            .app
            .get_record(&u.ctx, RecordKind::CALENDAR, &id.to_string())
            .await
        {
            let number = c.record.readable_number().to_string();
            calendars.push((id, number, c.record.title.clone()));
        }
    }
    let page = AgreementPage {
        layout: Layout::of(&u),
        number: v.record.readable_number().to_string(),
        title: v.record.title.clone(),
        description: v.record.description.clone(),
        state: v.record.state.clone(),
        kind: terms.agreement_type.as_str().replace('_', " "),
        party: v
            .names
            .assignment_group
            .clone()
            .unwrap_or_else(|| v.names.organization.clone()),
        owner: v.names.assignee.clone().unwrap_or_else(|| "—".into()),
        valid: match terms.valid_until {
            Some(until) => format!("{} to {until}", terms.valid_from),
            None => format!("from {}", terms.valid_from),
        },
        review: terms
            .review_date
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        services: ids(&terms.service_ids),
        targets: terms
            .targets
            .iter()
            .map(|t| TargetRow {
                name: t.name.clone(),
                metric: t.metric.as_str().replace('_', " "),
                scope: format!(
                    "{} {}, priority {}, services {}{}",
                    t.record_kind.label(),
                    "records",
                    if t.priorities.is_empty() {
                        "any".to_owned()
                    } else {
                        t.priorities
                            .iter()
                            .map(i16::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    ids(&t.service_ids),
                    if t.service_offering_ids.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", offerings {}",
                            t.service_offering_ids
                                .iter()
                                .map(|i| named(&dir.offerings, *i))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
                target: duration(t.minutes),
                calendar: match t.calendar_id.or(terms.calendar_id) {
                    Some(c) => calendars
                        .iter()
                        .find(|(i, _, _)| *i == c)
                        .map_or_else(|| format!("#{c}"), |(_, n, title)| format!("{n} {title}")),
                    None => "the default".into(),
                },
                calendar_href: t.calendar_id.or(terms.calendar_id).and_then(|c| {
                    calendars
                        .iter()
                        .find(|(i, _, _)| *i == c)
                        .map(|(_, n, _)| format!("/calendars/{n}"))
                }),
                warnings: t
                    .warnings
                    .iter()
                    .map(|w| format!("{w}%"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        history: history
            .into_iter()
            .map(|e| {
                let changes = e
                    .changes
                    .iter()
                    .map(|c| c.field.clone())
                    .collect::<Vec<_>>()
                    .join(", ");
                (
                    e.at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                    e.actor_name.unwrap_or_else(|| "system".into()),
                    format!("{} {changes}", e.action),
                )
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}

// ---------------------------------------------------------------- one calendar, with a what-if form

#[derive(Deserialize, Default)]
pub struct WhatIf {
    start: Option<String>,
    minutes: Option<String>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    layout: Layout,
    number: String,
    title: String,
    time_zone: String,
    state: String,
    week: Vec<(String, String)>,
    holidays: Vec<String>,
    start: String,
    minutes: String,
    answer: Option<String>,
}

pub async fn calendar(
    State(s): State<AppState>,
    u: UiUser,
    Path(number): Path<String>,
    q: Result<Query<WhatIf>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(w) = q.unwrap_or_default();
    let (v, cal) = match s.app.calendar(&u.ctx, &number).await {
        Ok(x) => x,
        Err(e) => return failure_page(e),
    };
    let def: &CalendarDefinition = cal.definition();
    let week = match &def.working_hours {
        WorkingHoursDefinition::Named(n) => vec![("Every day".to_owned(), n.clone())],
        WorkingHoursDefinition::Weekly(days) => WEEKDAYS
            .iter()
            .map(|d| {
                let periods = days
                    .get(*d)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        p.iter()
                            .map(|[a, b]| format!("{a}–{b}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_else(|| "closed".into());
                ((*d).to_owned(), periods)
            })
            .collect(),
    };
    let mut layout = Layout::of(&u);
    let start = w.start.clone().unwrap_or_default();
    let minutes = w.minutes.clone().unwrap_or_default();
    let mut answer = None;
    if !start.is_empty() || !minutes.is_empty() {
        let parsed = (
            start.trim().parse::<jiff::Timestamp>(),
            minutes.trim().parse::<i64>(),
        );
        match parsed {
            (Ok(t), Ok(m)) => match itsm_app::service_levels::due_on(&cal, t, m, &[]) {
                Ok(a) => answer = Some(a.due_local),
                Err(e) => layout.error = Some(e.to_string()),
            },
            (Err(_), _) => {
                layout.error =
                    Some("start: give an RFC 3339 instant such as 2026-11-27T16:00:00+01:00".into())
            }
            (_, Err(_)) => layout.error = Some("minutes: give a whole number of business minutes".into()),
        }
    }
    let page = CalendarPage {
        layout,
        number: v.record.readable_number().to_string(),
        title: v.record.title.clone(),
        time_zone: def.time_zone.clone(),
        state: v.record.state.clone(),
        week,
        holidays: def.holidays.clone(),
        start,
        minutes,
        answer,
    };
    render(StatusCode::OK, &page)
}

// ---------------------------------------------------------------- the attainment report

/// One bar of the chart, in SVG units.
pub struct Bar {
    x: usize,
    y: i64,
    height: i64,
    label: String,
    value: String,
    class: &'static str,
}

#[derive(Template)]
#[template(path = "report_sla.html")]
struct ReportPage {
    layout: Layout,
    by_options: Vec<(String, String, bool)>,
    from: String,
    to: String,
    rows: Vec<crate::api::service_levels::AttainmentRow>,
    bars: Vec<Bar>,
    chart_width: usize,
    breaches: Vec<crate::api::service_levels::BreachRow>,
    csv_query: String,
}

const CHART_HEIGHT: i64 = 160;

fn bars(rows: &[crate::api::service_levels::AttainmentRow]) -> Vec<Bar> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let pct = r.attainment_percent.unwrap_or(0.0);
            let height = ((pct / 100.0) * CHART_HEIGHT as f64).round() as i64;
            Bar {
                x: 40 + i * 56,
                y: 10 + CHART_HEIGHT - height,
                height,
                label: r.group.chars().take(10).collect(),
                value: r
                    .attainment_percent
                    .map(|p| format!("{p}%"))
                    .unwrap_or_else(|| "—".into()),
                class: if pct >= 95.0 {
                    "good"
                } else if pct >= 80.0 {
                    "fair"
                } else {
                    "poor"
                },
            }
        })
        .collect()
}

pub async fn report(
    State(s): State<AppState>,
    u: UiUser,
    q: Result<Query<crate::api::service_levels::ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    use crate::api::service_levels::{attainment_rows, breach_rows, report_params};
    let Query(f) = q.unwrap_or_default();
    let mut layout = Layout::of(&u);
    let now = s.app.now();
    let (by, from, to) = match report_params(&f, now) {
        Ok((by, from, to, _)) => (by, from, to),
        Err(e) => {
            layout.error = Some(e.detail.clone());
            let (by, from, to, _) = match report_params(&Default::default(), now) {
                Ok(x) => x,
                Err(_) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, "report defaults"),
            };
            (by, from, to)
        }
    };
    let loaded = async {
        Ok::<_, AppError>((
            s.app.sla_attainment(&u.ctx, from, to, by).await?,
            s.app.sla_breaches(&u.ctx, from, to, 200).await?,
        ))
    }
    .await;
    // A period the report refuses comes back in the form, with what is wrong said beside it.
    let mut status = StatusCode::OK;
    let (rows, breaches) = match loaded {
        Ok((a, b)) => (attainment_rows(a), breach_rows(b)),
        Err(e) => match super::frame::failure(e) {
            Ok(message) => {
                layout.error = Some(message);
                status = StatusCode::UNPROCESSABLE_ENTITY;
                (Vec::new(), Vec::new())
            }
            Err(page) => return page,
        },
    };
    let page = ReportPage {
        layout,
        by_options: itsm_app::service_levels::ReportBy::ALL
            .iter()
            .map(|b| (b.as_str().to_owned(), b.as_str().to_owned(), *b == by))
            .collect(),
        from: from.to_string(),
        to: to.to_string(),
        chart_width: 60 + rows.len() * 56,
        bars: bars(&rows),
        rows,
        breaches,
        csv_query: format!("by={}&from={from}&to={to}", by.as_str()),
    };
    render(status, &page)
}

/// The report as CSV, for the signed-in user (the API offers the same with a token).
pub async fn report_csv(
    State(s): State<AppState>,
    u: UiUser,
    Path(which): Path<String>,
    q: Result<Query<crate::api::service_levels::ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    use crate::api::service_levels::{
        attainment_csv, attainment_rows, breach_rows, breaches_csv, report_params,
    };
    let Query(f) = q.unwrap_or_default();
    let Ok((by, from, to, _)) = report_params(&f, s.app.now()) else {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The report's period or grouping is not valid.",
        );
    };
    match which.as_str() {
        "sla-attainment.csv" => match s.app.sla_attainment(&u.ctx, from, to, by).await {
            Ok(rows) => attainment_csv(by, from, to, &attainment_rows(rows)),
            Err(e) => failure_page(e),
        },
        "sla-breaches.csv" => match s.app.sla_breaches(&u.ctx, from, to, 10_000).await {
            Ok(rows) => breaches_csv(from, to, &breach_rows(rows)),
            Err(e) => failure_page(e),
        },
        _ => error_page(StatusCode::NOT_FOUND, "No such report."),
    }
}
