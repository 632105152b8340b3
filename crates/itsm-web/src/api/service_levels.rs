//! Service level endpoints: business calendars and their what-if answers, agreements with their
//! targets, a record's SLA clocks with what explains them, recomputation, and the event outbox.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use itsm_app::service_levels::{AgreementChange, AgreementInput, CalendarChange, CalendarInput};
use itsm_domain::calendar::{
    holidays_from_ics, CalendarDefinition, WorkingHoursDefinition, MICROS_PER_MINUTE,
};
use itsm_domain::slm::AgreementTerms;
use itsm_domain::{GroupId, OrganizationId, RecordKind, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::respond::if_match;
use super::respond::record_response;
use super::ApiJson;
use crate::caller::ApiCaller;
use crate::error::ApiError;
use crate::AppState;

/// Working hours: `"24x7"`, or an object from weekday (`monday` ... `sunday`) to a list of
/// `["HH:MM", "HH:MM"]` periods; a weekday left out has no working time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum WorkingHours {
    RoundTheClock(String),
    Weekly(std::collections::BTreeMap<String, Vec<[String; 2]>>),
}

impl From<WorkingHours> for WorkingHoursDefinition {
    fn from(w: WorkingHours) -> Self {
        match w {
            WorkingHours::RoundTheClock(s) => WorkingHoursDefinition::Named(s),
            WorkingHours::Weekly(m) => WorkingHoursDefinition::Weekly(m),
        }
    }
}

/// A new business calendar.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCalendar {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// An IANA time zone, such as `Europe/Berlin`.
    pub time_zone: String,
    pub working_hours: WorkingHours,
    /// `2026-12-25`, a closure `2026-12-24/2026-12-31`, or a yearly date `12-25`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// The text of an iCalendar (.ics) file whose events are days off, added to `holidays`.
    pub holidays_ics: Option<String>,
    /// Make it the calendar of targets that name none.
    #[serde(default)]
    pub is_default: bool,
}

/// A change to a calendar; leave out what stays. Open SLA clocks are replayed afterwards.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCalendar {
    pub name: Option<String>,
    pub description: Option<String>,
    pub time_zone: Option<String>,
    pub working_hours: Option<WorkingHours>,
    pub holidays: Option<Vec<String>>,
    pub is_default: Option<bool>,
    /// `active` or `retired`.
    pub state: Option<String>,
}

/// A what-if due question.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DueQuestion {
    /// RFC 3339 instant the clock starts.
    pub start: String,
    /// The target, in business minutes: 0 to 5,270,400 (ten years of round-the-clock minutes).
    #[schema(minimum = 0, maximum = 5_270_400)]
    pub business_minutes: i64,
    /// Intervals (`[from, to]`, RFC 3339) during which the clock does not run.
    #[serde(default)]
    pub pauses: Vec<[String; 2]>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DueAnswer {
    /// RFC 3339 with the calendar's offset at that instant.
    pub due: String,
    /// The same instant in UTC.
    pub due_utc: String,
    pub time_zone: String,
}

/// A what-if elapsed question.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ElapsedQuestion {
    pub from: String,
    /// At most 3,660 days after `from`: the furthest a calendar computation looks.
    pub to: String,
    #[serde(default)]
    pub pauses: Vec<[String; 2]>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ElapsedAnswer {
    /// Whole minutes when the time is whole minutes, otherwise with a fraction.
    #[schema(value_type = f64)]
    pub business_minutes: serde_json::Number,
    pub business_seconds: i64,
}

fn instant(field: &str, s: &str) -> Result<jiff::Timestamp, ApiError> {
    s.trim().parse::<jiff::Timestamp>().map_err(|_| {
        ApiError::invalid_field(field, format!("`{s}` is not an RFC 3339 instant with an offset"))
    })
}

fn pauses(raw: &[[String; 2]]) -> Result<Vec<(jiff::Timestamp, jiff::Timestamp)>, ApiError> {
    raw.iter()
        .enumerate()
        .map(|(i, [a, b])| {
            Ok((
                instant(&format!("pauses[{i}][0]"), a)?,
                instant(&format!("pauses[{i}][1]"), b)?,
            ))
        })
        .collect()
}

/// Minutes as JSON: an integer when whole.
pub fn minutes_number(micros: i64) -> serde_json::Number {
    if micros % MICROS_PER_MINUTE == 0 {
        serde_json::Number::from(micros / MICROS_PER_MINUTE)
    } else {
        serde_json::Number::from_f64(micros as f64 / MICROS_PER_MINUTE as f64).unwrap_or_else(|| 0.into())
    }
}

/// Create a business calendar.
#[utoipa::path(post, path = "/api/v1/calendars", tag = "service levels", request_body = CreateCalendar,
    responses((status = 201, body = super::dto::Record, headers(("ETag" = String), ("Location" = String))),
        (status = 422, body = crate::error::Problem)))]
pub async fn create_calendar(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    ApiJson(b): ApiJson<CreateCalendar>,
) -> Result<Response, ApiError> {
    let mut holidays = b.holidays;
    if let Some(ics) = &b.holidays_ics {
        let more = holidays_from_ics(ics).map_err(|e| {
            let msg = e.errors.first().map(|f| f.message.clone()).unwrap_or_default();
            ApiError::invalid_field("holidays_ics", msg)
        })?;
        holidays.extend(more);
    }
    let input = CalendarInput {
        name: b.name,
        description: b.description,
        definition: CalendarDefinition {
            time_zone: b.time_zone,
            working_hours: b.working_hours.into(),
            holidays,
        },
        is_default: b.is_default,
    };
    let v = s.app.create_calendar(&ctx, input).await?;
    Ok(record_response(StatusCode::CREATED, &v, &ctx))
}

/// Change a business calendar; open SLA clocks are replayed. Requires `If-Match`.
#[utoipa::path(patch, path = "/api/v1/calendars/{id}", tag = "service levels", request_body = UpdateCalendar,
    params(("id" = String, Path, description = "number or id"), ("If-Match" = String, Header)),
    responses((status = 200, body = super::dto::Record), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 428, body = crate::error::Problem)))]
pub async fn update_calendar(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<UpdateCalendar>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let change = CalendarChange {
        name: b.name,
        description: b.description,
        time_zone: b.time_zone,
        working_hours: b.working_hours.map(Into::into),
        holidays: b.holidays,
        is_default: b.is_default,
        state: b.state,
    };
    let v = s.app.update_calendar(&ctx, &id, version, change).await?;
    Ok(record_response(StatusCode::OK, &v, &ctx))
}

/// When is a target due? Business minutes from a start, on this calendar, around pauses.
#[utoipa::path(post, path = "/api/v1/calendars/{id}/due", tag = "service levels", request_body = DueQuestion,
    params(("id" = String, Path, description = "number or id")),
    responses((status = 200, body = DueAnswer), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn due(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DueQuestion>,
) -> Result<Json<DueAnswer>, ApiError> {
    let start = instant("start", &b.start)?;
    let pauses = pauses(&b.pauses)?;
    let a = s
        .app
        .calendar_due(&ctx, &id, start, b.business_minutes, &pauses)
        .await?;
    Ok(Json(DueAnswer {
        due: a.due_local,
        due_utc: a.due.to_string(),
        time_zone: a.time_zone,
    }))
}

/// How much business time lies between two instants on this calendar, around pauses?
#[utoipa::path(post, path = "/api/v1/calendars/{id}/elapsed", tag = "service levels", request_body = ElapsedQuestion,
    params(("id" = String, Path, description = "number or id")),
    responses((status = 200, body = ElapsedAnswer), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn elapsed(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ElapsedQuestion>,
) -> Result<Json<ElapsedAnswer>, ApiError> {
    let from = instant("from", &b.from)?;
    let to = instant("to", &b.to)?;
    let pauses = pauses(&b.pauses)?;
    let micros = s.app.calendar_elapsed(&ctx, &id, from, to, &pauses).await?;
    Ok(Json(ElapsedAnswer {
        business_minutes: minutes_number(micros),
        business_seconds: micros / 1_000_000,
    }))
}

/// The shape of an agreement's `terms` in the API document: its type, the services it covers, its
/// validity and its service level targets. The domain's `AgreementTerms` reads and checks them;
/// this mirrors its fields for the document, and a test holds the two to the same names.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AgreementTerms)]
#[allow(dead_code)]
pub struct TermsDoc {
    pub agreement_type: AgreementTypeDoc,
    /// The services it covers; empty for all services of the other party.
    #[serde(default)]
    pub service_ids: Vec<i64>,
    /// The first day it applies.
    #[schema(value_type = String, format = Date)]
    pub valid_from: String,
    /// The last day it applies; none for open-ended.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_until: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub review_date: Option<String>,
    /// The calendar its targets run on unless a target names its own.
    #[serde(default)]
    pub calendar_id: Option<i64>,
    #[serde(default)]
    pub targets: Vec<TargetDoc>,
}

/// Whom an agreement is with: a customer (SLA), an internal group (OLA) or a supplier (UC).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AgreementType)]
#[allow(dead_code, clippy::enum_variant_names)]
pub enum AgreementTypeDoc {
    ServiceLevelAgreement,
    OperationalLevelAgreement,
    UnderpinningContract,
}

/// One service level target of an agreement.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ServiceLevelTarget)]
#[allow(dead_code)]
pub struct TargetDoc {
    /// Stable within its agreement; assigned when left out.
    #[serde(default)]
    pub key: String,
    pub name: String,
    pub metric: MetricDoc,
    /// The kind of record measured; `incident` when left out.
    #[serde(default)]
    pub record_kind: String,
    /// The priorities it covers; empty for all.
    #[serde(default)]
    pub priorities: Vec<i16>,
    /// The services it covers, narrowing the agreement's; empty for all of the agreement's.
    #[serde(default)]
    pub service_ids: Vec<i64>,
    /// The service offerings it covers; empty for records of any offering or none.
    #[serde(default)]
    pub service_offering_ids: Vec<i64>,
    /// The target, in business minutes of its calendar.
    pub minutes: i64,
    /// The calendar it runs on; when left out, the agreement's, then the default calendar.
    #[serde(default)]
    pub calendar_id: Option<i64>,
    /// Warnings, in percent of the target.
    #[serde(default)]
    pub warnings: Vec<u32>,
    /// When the clock starts, pauses and stops; when left out, the defaults for the kind and metric.
    #[serde(default)]
    pub clock_rules: Option<ClockRulesDoc>,
}

/// What a service level target measures.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Metric)]
#[allow(dead_code)]
pub enum MetricDoc {
    FirstResponse,
    Resolution,
    Custom,
}

/// When a clock starts, pauses, resumes, stops and restarts.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClockRules)]
#[allow(dead_code)]
pub struct ClockRulesDoc {
    #[serde(default)]
    pub start_states: Vec<String>,
    #[serde(default)]
    pub pause_states: Vec<String>,
    #[serde(default)]
    pub pause_reasons: Vec<String>,
    #[serde(default)]
    pub stop_states: Vec<String>,
    #[serde(default)]
    pub stop_on_first_response: bool,
    #[serde(default)]
    pub cancel_states: Vec<String>,
    pub on_reopen: OnReopenDoc,
}

/// What a clock does when its record leaves a stop state again.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = OnReopen)]
#[allow(dead_code)]
pub enum OnReopenDoc {
    Resume,
    Restart,
    Ignore,
}

/// A new agreement. `terms` holds its type, services, validity and targets.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgreement {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The customer (SLA) or supplier (UC); an OLA is with the provider itself.
    pub organization_id: Option<i64>,
    /// The group an OLA is with.
    pub assignment_group_id: Option<i64>,
    pub owner_id: Option<i64>,
    #[schema(value_type = TermsDoc)]
    pub terms: AgreementTerms,
}

/// A change to an agreement; leave out what stays. Open SLA clocks are replayed afterwards.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgreement {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `draft`, `active`, `suspended` or `retired`, as the lifecycle allows.
    pub state: Option<String>,
    #[serde(default, deserialize_with = "super::dto::present")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::dto::present")]
    #[schema(value_type = Option<i64>)]
    pub assignment_group_id: Option<Option<i64>>,
    #[schema(value_type = Option<TermsDoc>)]
    pub terms: Option<AgreementTerms>,
}

/// Create an agreement (SLA, OLA or underpinning contract) with its service level targets.
#[utoipa::path(post, path = "/api/v1/agreements", tag = "service levels", request_body = CreateAgreement,
    responses((status = 201, body = super::dto::Record, headers(("ETag" = String), ("Location" = String))),
        (status = 422, body = crate::error::Problem)))]
pub async fn create_agreement(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    ApiJson(b): ApiJson<CreateAgreement>,
) -> Result<Response, ApiError> {
    let input = AgreementInput {
        title: b.title,
        description: b.description,
        organization_id: b.organization_id.map(OrganizationId),
        assignment_group_id: b.assignment_group_id.map(GroupId),
        owner_id: b.owner_id.map(UserId),
        terms: b.terms,
    };
    let v = s.app.create_agreement(&ctx, input).await?;
    Ok(record_response(StatusCode::CREATED, &v, &ctx))
}

/// Change an agreement; open SLA clocks are replayed. Requires `If-Match`.
#[utoipa::path(patch, path = "/api/v1/agreements/{id}", tag = "service levels", request_body = UpdateAgreement,
    params(("id" = String, Path, description = "number or id"), ("If-Match" = String, Header)),
    responses((status = 200, body = super::dto::Record), (status = 409, body = crate::error::Problem),
        (status = 412, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 428, body = crate::error::Problem)))]
pub async fn update_agreement(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<UpdateAgreement>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let change = AgreementChange {
        title: b.title,
        description: b.description,
        state: b.state,
        owner_id: b.owner_id.map(|o| o.map(UserId)),
        assignment_group_id: b.assignment_group_id.map(|o| o.map(GroupId)),
        terms: b.terms,
    };
    let v = s.app.update_agreement(&ctx, &id, version, change).await?;
    Ok(record_response(StatusCode::OK, &v, &ctx))
}

/// One stretch of a clock's life.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockSegment {
    pub from: String,
    /// Absent while it lasts.
    pub to: Option<String>,
    /// `running`, `paused`, `stopped` or `discarded` (before a restart).
    pub phase: String,
    /// Why it paused or stopped.
    pub because: Option<String>,
    pub business_minutes: f64,
}

/// A warning threshold and when it falls due.
#[derive(Debug, Serialize, ToSchema)]
pub struct Threshold {
    pub percent: u32,
    /// Absent while the clock is paused.
    pub at: Option<String>,
    pub recorded: bool,
}

/// One SLA clock of a record and what explains it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaClock {
    pub agreement_id: i64,
    pub agreement: String,
    pub agreement_title: String,
    /// `service_level_agreement`, `operational_level_agreement` or `underpinning_contract`.
    pub agreement_type: String,
    pub target_key: String,
    pub target: String,
    /// `first_response`, `resolution` or `custom`.
    pub metric: String,
    /// `not_started`, `running`, `paused`, `met`, `breached` or `cancelled`.
    pub status: String,
    pub target_minutes: f64,
    pub elapsed_minutes: f64,
    pub remaining_minutes: f64,
    pub percent_used: f64,
    pub started_at: Option<String>,
    pub stopped_at: Option<String>,
    /// In the calendar's time zone; absent while paused.
    pub due: Option<String>,
    /// Which agreement and target applied, and why.
    pub why: String,
    pub calendar: String,
    pub time_zone: String,
    pub segments: Vec<ClockSegment>,
    pub warnings: Vec<Threshold>,
    pub breach_recorded: bool,
    /// The calendar's working periods from the start to now or the stop (at most 60).
    #[schema(value_type = Vec<Vec<String>>)]
    pub working_periods: Vec<[String; 2]>,
}

fn minutes(micros: i64) -> f64 {
    (micros as f64 / MICROS_PER_MINUTE as f64 * 100.0).round() / 100.0
}

/// A record's SLA clocks, replayed now, with the agreement and target that apply and why, when the
/// clock ran and paused, and the calendar's working periods in between.
#[utoipa::path(get, path = "/api/v1/{collection}/{id}/sla", tag = "service levels",
    params(("collection" = String, Path), ("id" = String, Path, description = "number or id")),
    responses((status = 200, body = Vec<SlaClock>), (status = 404, body = crate::error::Problem)))]
pub async fn record_sla(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<SlaClock>>, ApiError> {
    let clocks = s.app.record_sla(&ctx, kind, &id).await?;
    Ok(Json(clocks.into_iter().map(sla_clock).collect()))
}

/// The wire shape of a clock explanation; the UI renders the same.
pub fn sla_clock(e: itsm_app::service_levels::ClockExplanation) -> SlaClock {
    let tz = jiff::tz::TimeZone::get(&e.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = |t: jiff::Timestamp| t.display_with_offset(tz.to_offset(t)).to_string();
    let recorded = |p: u32| e.notices.iter().any(|n| n.percent == p);
    SlaClock {
        agreement_id: e.row.agreement_id.0,
        agreement: e.agreement_number.clone(),
        agreement_title: e.agreement_title.clone(),
        agreement_type: e.row.agreement_type.clone(),
        target_key: e.row.target_key.clone(),
        target: e.row.target_name.clone(),
        metric: e.row.metric.clone(),
        status: e.row.status.clone(),
        target_minutes: minutes(e.row.target_micros),
        elapsed_minutes: minutes(e.row.elapsed_micros),
        remaining_minutes: minutes(e.row.target_micros - e.row.elapsed_micros),
        percent_used: (e.percent_used * 10.0).round() / 10.0,
        started_at: e.row.started_at.map(local),
        stopped_at: e.row.stopped_at.map(local),
        due: e.row.due_at.map(local),
        why: e.row.reason.clone(),
        calendar: e.calendar_name.clone(),
        time_zone: e.time_zone.clone(),
        segments: e
            .segments
            .iter()
            .map(|seg| ClockSegment {
                from: local(seg.from),
                to: seg.to.map(local),
                phase: serde_json::to_value(seg.phase)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                because: seg.because.clone(),
                business_minutes: minutes(seg.business_micros),
            })
            .collect(),
        warnings: e
            .warnings
            .iter()
            .map(|(p, at)| Threshold {
                percent: *p,
                at: at.map(local),
                recorded: recorded(*p),
            })
            .collect(),
        breach_recorded: recorded(100),
        working_periods: e
            .working_periods
            .iter()
            .map(|(a, b)| [local(*a), local(*b)])
            .collect(),
    }
}

/// What to recompute.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recompute {
    /// Also replay records closed since this RFC 3339 instant.
    pub closed_since: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecomputeAnswer {
    /// Records whose clocks were replayed.
    pub records: usize,
    /// Those whose stored clocks changed; the rest already said what the replay says.
    pub changed: usize,
}

/// Replay the SLA clocks of every open record (and, when asked, of records closed since an instant).
#[utoipa::path(post, path = "/api/v1/service-levels/recompute", tag = "service levels", request_body = Recompute,
    responses((status = 200, body = RecomputeAnswer), (status = 403, body = crate::error::Problem)))]
pub async fn recompute(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    ApiJson(b): ApiJson<Recompute>,
) -> Result<Json<RecomputeAnswer>, ApiError> {
    let since = b
        .closed_since
        .as_deref()
        .map(|v| instant("closed_since", v))
        .transpose()?;
    let done = s.app.recompute_clocks(&ctx, since).await?;
    Ok(Json(RecomputeAnswer {
        records: done.records,
        changed: done.changed,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only events after this id; 0 or more.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// An event for notifications and integrations, such as `sla.warning` or `sla.breached`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxEvent {
    pub id: i64,
    pub topic: String,
    pub record_id: Option<i64>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: String,
}

/// Events recorded for notifications (`sla.warning`, `sla.breached`), oldest first; page with
/// `after`. For administrators only (it takes the permission to manage service levels): the
/// events name every organization's records, for the integration that sends notifications.
#[utoipa::path(get, path = "/api/v1/events", tag = "service levels", params(OutboxQuery),
    responses((status = 200, body = Vec<OutboxEvent>), (status = 403, body = crate::error::Problem)))]
pub async fn events(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    super::ApiQuery(q): super::ApiQuery<OutboxQuery>,
) -> Result<Json<Vec<OutboxEvent>>, ApiError> {
    let limit = super::in_range("limit", q.limit.unwrap_or(100), 1..=1000)?;
    let after = super::in_range("after", q.after.unwrap_or(0), 0..=i64::MAX)?;
    let events = s.app.outbox(&ctx, after, limit).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| OutboxEvent {
                id: e.id,
                topic: e.topic,
                record_id: e.record_id.map(|r| r.0),
                payload: e.payload,
                created_at: e.created_at.to_string(),
            })
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `agreement`, `service`, `customer`, `priority` or `month` (default).
    pub by: Option<String>,
    /// First day (UTC), `YYYY-MM-DD`; default: the first day of the month five months ago.
    pub from: Option<String>,
    /// Last day (UTC), included; default: today.
    pub to: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
    /// Breaches only (the attainment report refuses it): at most this many, 1 to 10000 (default 500).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// Met and missed targets of one group.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttainmentRow {
    pub key: Option<i64>,
    pub group: String,
    pub met: i64,
    pub breached: i64,
    /// Met in percent of the targets that ended; absent when none did.
    pub attainment_percent: Option<f64>,
}

/// A missed target and its record.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreachRow {
    pub record: String,
    pub title: String,
    pub organization: String,
    pub agreement: String,
    pub target: String,
    pub metric: String,
    pub target_minutes: f64,
    pub elapsed_minutes: f64,
    pub due_at: Option<String>,
    pub stopped_at: Option<String>,
    /// Why the target applied.
    pub why: String,
}

/// The report's period and grouping, with defaults relative to `now` (UTC days), or the field that
/// is wrong.
pub fn report_params(
    q: &ReportQuery,
    now: jiff::Timestamp,
) -> Result<
    (
        itsm_app::service_levels::ReportBy,
        jiff::civil::Date,
        jiff::civil::Date,
        bool,
    ),
    ApiError,
> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let by = match q.by.as_deref() {
        None | Some("") => itsm_app::service_levels::ReportBy::Month,
        Some(b) => itsm_app::service_levels::ReportBy::parse(b).ok_or_else(|| {
            ApiError::invalid_field("by", "must be agreement, service, customer, priority or month")
        })?,
    };
    let date = |field: &str, v: &Option<String>, default: jiff::civil::Date| match v.as_deref() {
        None | Some("") => Ok(default),
        Some(s) => s
            .parse::<jiff::civil::Date>()
            .map_err(|_| ApiError::invalid_field(field, format!("`{s}` is not a date as YYYY-MM-DD"))),
    };
    let default_from = today
        .first_of_month()
        .checked_sub(jiff::Span::new().months(5))
        .unwrap_or(today);
    let from = date("from", &q.from, default_from)?;
    let to = date("to", &q.to, today)?;
    let csv = match q.format.as_deref() {
        None | Some("" | "json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid_field("format", "must be json or csv")),
    };
    Ok((by, from, to, csv))
}

/// A CSV field, quoted when it needs to be; a leading formula character is neutralized so a
/// spreadsheet never runs it.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The attainment report as a CSV download.
pub fn attainment_csv(
    by: itsm_app::service_levels::ReportBy,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    rows: &[AttainmentRow],
) -> Response {
    let mut body = format!("{},met,breached,attainment_percent\n", by.as_str());
    for r in rows {
        body.push_str(&format!(
            "{},{},{},{}\n",
            csv_field(&r.group),
            r.met,
            r.breached,
            r.attainment_percent.map(|p| p.to_string()).unwrap_or_default()
        ));
    }
    csv_response(
        &format!("sla-attainment-by-{}-{from}-{to}.csv", by.as_str()),
        body,
    )
}

/// The breaches as a CSV download.
pub fn breaches_csv(from: jiff::civil::Date, to: jiff::civil::Date, rows: &[BreachRow]) -> Response {
    let mut body = String::from(
        "record,title,organization,agreement,target,metric,target_minutes,elapsed_minutes,due_at,stopped_at\n",
    );
    for b in rows {
        body.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&b.record),
            csv_field(&b.title),
            csv_field(&b.organization),
            csv_field(&b.agreement),
            csv_field(&b.target),
            b.metric,
            b.target_minutes,
            b.elapsed_minutes,
            b.due_at.as_deref().unwrap_or(""),
            b.stopped_at.as_deref().unwrap_or("")
        ));
    }
    csv_response(&format!("sla-breaches-{from}-{to}.csv"), body)
}

fn csv_response(name: &str, body: String) -> Response {
    use axum::response::IntoResponse;
    (
        StatusCode::OK,
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub fn attainment_rows(rows: Vec<itsm_app::service_levels::Attainment>) -> Vec<AttainmentRow> {
    rows.into_iter()
        .map(|r| AttainmentRow {
            attainment_percent: r.percent(),
            key: r.key,
            group: r.label,
            met: r.met,
            breached: r.breached,
        })
        .collect()
}

/// SLA attainment per agreement, service, customer, priority or month; JSON or CSV.
#[utoipa::path(get, path = "/api/v1/reports/sla-attainment", tag = "service levels", params(ReportQuery),
    responses((status = 200, body = Vec<AttainmentRow>), (status = 422, body = crate::error::Problem)))]
pub async fn attainment(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    super::ApiQuery(q): super::ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    if q.limit.is_some() {
        return Err(ApiError::invalid_field(
            "limit",
            "the attainment report has one row per group and takes no limit",
        ));
    }
    let (by, from, to, csv) = report_params(&q, s.app.now())?;
    let rows = attainment_rows(s.app.sla_attainment(&ctx, from, to, by).await?);
    if csv {
        return Ok(attainment_csv(by, from, to, &rows));
    }
    Ok(Json(rows).into_response())
}

pub fn breach_rows(rows: Vec<itsm_app::model::Breach>) -> Vec<BreachRow> {
    rows.into_iter()
        .map(|b| {
            let number = itsm_domain::RecordKind::parse(&b.record_kind)
                .map(|k| format!("{}-{}", k.prefix(), b.record_number))
                .unwrap_or_else(|| b.record_number.to_string());
            BreachRow {
                record: number,
                title: b.record_title,
                organization: b.organization,
                agreement: b.agreement,
                target: b.target_name,
                metric: b.metric,
                target_minutes: minutes(b.target_micros),
                elapsed_minutes: minutes(b.elapsed_micros),
                due_at: b.due_at.map(|t| t.to_string()),
                stopped_at: b.stopped_at.map(|t| t.to_string()),
                why: b.reason,
            }
        })
        .collect()
}

/// The missed targets of a period with their records; JSON or CSV.
#[utoipa::path(get, path = "/api/v1/reports/sla-breaches", tag = "service levels", params(ReportQuery),
    responses((status = 200, body = Vec<BreachRow>), (status = 422, body = crate::error::Problem)))]
pub async fn breaches(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    super::ApiQuery(q): super::ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    let (_, from, to, csv) = report_params(&q, s.app.now())?;
    let limit = super::in_range("limit", q.limit.unwrap_or(500), 1..=10_000)?;
    let rows = breach_rows(s.app.sla_breaches(&ctx, from, to, limit).await?);
    if csv {
        return Ok(breaches_csv(from, to, &rows));
    }
    Ok(Json(rows).into_response())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use itsm_domain::sla::{ClockRules, Metric};
    use itsm_domain::slm::{AgreementTerms, AgreementType, ServiceLevelTarget};
    use serde_json::Value;

    fn names(v: &Value) -> BTreeSet<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The document's shape of an agreement's terms names the same fields as the domain's.
    #[test]
    fn the_documented_terms_are_the_domains() {
        let mut target = ServiceLevelTarget::for_incidents("Resolution", Metric::Resolution, &[1], 60);
        target.calendar_id = Some(2);
        target.clock_rules = Some(ClockRules::default_for(
            itsm_domain::RecordKind::INCIDENT,
            Metric::Resolution,
        ));
        let terms = AgreementTerms {
            agreement_type: AgreementType::ServiceLevelAgreement,
            service_ids: vec![1],
            valid_from: "2026-01-01".parse().unwrap(),
            valid_until: Some("2026-12-31".parse().unwrap()),
            review_date: Some("2026-06-30".parse().unwrap()),
            calendar_id: Some(2),
            targets: vec![target],
        };
        let given = serde_json::to_value(&terms).unwrap();
        let doc = super::super::document();
        let schema = |name: &str| doc["components"]["schemas"][name]["properties"].clone();
        assert_eq!(names(&given), names(&schema("AgreementTerms")));
        assert_eq!(names(&given["targets"][0]), names(&schema("ServiceLevelTarget")));
        assert_eq!(
            names(&given["targets"][0]["clock_rules"]),
            names(&schema("ClockRules"))
        );
    }
}
