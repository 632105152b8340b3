//! The incident pages: the queue, logging, the incident itself and the forms that work it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use itsm_app::incidents::NewIncidentInput;
use itsm_app::model::{Cursor, PageRequest, RecordFilter, SortField};
use itsm_app::AppError;
use itsm_domain::access::Permission;
use itsm_domain::incident::{
    priority_label, IncidentChange, Level, OnHoldReason, ResolutionCode, CATEGORIES,
};
use itsm_domain::{GroupId, LinkType, OrganizationId, RecordId, RecordKind, UserId};
use serde::Deserialize;
use serde_json::Value;

use super::frame::{dash, failure, humane, opt, state_label, when, when_str, Layout, Opt};
use super::render;
use crate::api::dto::ListQuery;
use crate::api::records::parse_list;
use crate::caller::{urlencode, UiUser};
use crate::page::error_page;
use crate::AppState;

/// Business minutes as hours and days, for templates.
fn minutes_text(m: &f64) -> String {
    super::service_levels::minutes_text(m)
}

/// Pickers' contents, loaded once per page.
struct Directory {
    groups: Vec<(i64, String)>,
    staff: Vec<(i64, String)>,
    people: Vec<(i64, String, i64)>,
    organizations: Vec<(i64, String, String)>,
    services: Vec<(i64, String)>,
    /// Offerings labelled "service: offering".
    offerings: Vec<(i64, String)>,
    cis: Vec<(i64, String)>,
}

impl Directory {
    async fn load(s: &AppState, u: &UiUser) -> Result<Directory, AppError> {
        let staff_view = u.ctx.can(Permission::ReadDirectory);
        let (groups, organizations) = if staff_view {
            (s.app.groups(&u.ctx).await?, s.app.organizations(&u.ctx).await?)
        } else {
            (vec![], vec![])
        };
        let users = s.app.users(&u.ctx, None).await?;
        let page = PageRequest {
            sort: SortField::Number,
            descending: false,
            after: None,
            limit: 200,
        };
        let services = s
            .app
            .list_records(&u.ctx, RecordKind::SERVICE, RecordFilter::default(), page)
            .await?;
        let offerings = s
            .app
            .list_records(
                &u.ctx,
                RecordKind::SERVICE_OFFERING,
                RecordFilter::default(),
                page,
            )
            .await?;
        let cis = if staff_view {
            s.app
                .list_records(
                    &u.ctx,
                    RecordKind::CONFIGURATION_ITEM,
                    RecordFilter::default(),
                    page,
                )
                .await?
                .items
        } else {
            vec![]
        };
        Ok(Directory {
            groups: groups.into_iter().map(|g| (g.id.0, g.name)).collect(),
            staff: users
                .iter()
                .filter(|u| u.role.is_staff() && u.role != itsm_domain::Role::Auditor)
                .map(|u| (u.id.0, u.display_name.clone()))
                .collect(),
            people: users
                .iter()
                .map(|u| (u.id.0, u.display_name.clone(), u.organization_id.0))
                .collect(),
            organizations: organizations
                .into_iter()
                .map(|o| (o.id.0, o.name, o.kind))
                .collect(),
            services: services
                .items
                .into_iter()
                .map(|v| (v.record.id.0, v.record.title))
                .collect(),
            offerings: offerings
                .items
                .into_iter()
                .map(|v| {
                    let service = v.names.service.unwrap_or_default();
                    (v.record.id.0, format!("{service}: {}", v.record.title))
                })
                .collect(),
            cis: cis.into_iter().map(|v| (v.record.id.0, v.record.title)).collect(),
        })
    }

    fn options(list: &[(i64, String)], current: &str, empty: &str) -> Vec<Opt> {
        let mut v = vec![opt("", empty, current)];
        v.extend(
            list.iter()
                .map(|(id, name)| opt(id.to_string(), name.clone(), current)),
        );
        v
    }
}

fn level_options(current: &str) -> Vec<Opt> {
    Level::ALL
        .iter()
        .map(|l| opt(l.as_str(), humane(l.as_str()), current))
        .collect()
}

fn category_options(current: &str) -> Vec<Opt> {
    let mut v = vec![opt("", "—", current)];
    v.extend(CATEGORIES.iter().map(|c| opt(*c, humane(c), current)));
    if !current.is_empty() && !CATEGORIES.contains(&current) {
        v.push(opt(current, current, current));
    }
    v
}

// ---------------------------------------------------------------- the queue

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    q: Option<String>,
    state: Option<String>,
    priority: Option<String>,
    group: Option<String>,
    assignee: Option<String>,
    organization: Option<String>,
    service: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

pub struct QueueRow {
    number: String,
    title: String,
    state: String,
    state_label: String,
    priority: i16,
    priority_label: String,
    organization: String,
    service: String,
    group: String,
    assignee: String,
    updated: String,
    sla: super::service_levels::SlaCell,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct QueuePage {
    layout: Layout,
    search: String,
    staff: bool,
    state_options: Vec<Opt>,
    priority_options: Vec<Opt>,
    group_options: Vec<Opt>,
    assignee_options: Vec<Opt>,
    organization_options: Vec<Opt>,
    service_options: Vec<Opt>,
    sort_options: Vec<Opt>,
    rows: Vec<QueueRow>,
    next_href: Option<String>,
    first_href: String,
    first_page: bool,
    /// The list stopped reading before it filled this page (see `records::list`): more matches may
    /// follow on the next one.
    short_page: bool,
}

/// Rows on one page of the incident queue.
const QUEUE_PAGE: u32 = 50;

pub async fn queue(
    State(s): State<AppState>,
    u: UiUser,
    q: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(f) = q.unwrap_or_default();
    let state = f.state.clone().unwrap_or_else(|| "open".into());
    let sort = f.sort.clone().unwrap_or_else(|| "due".into());
    let me = u.ctx.user_id().map(|i| i.0.to_string()).unwrap_or_default();
    let assignee = match f.assignee.as_deref() {
        Some("me") => Some(me.clone()),
        other => other.filter(|s| !s.is_empty()).map(str::to_owned),
    };
    let list = ListQuery {
        state: Some(match state.as_str() {
            // The states still to be worked, from the lifecycle's phases.
            "open" => RecordKind::INCIDENT
                .lifecycle()
                .states
                .iter()
                .filter(|st| st.is_open())
                .map(|st| st.name)
                .collect::<Vec<_>>()
                .join(","),
            "all" => String::new(),
            other => other.to_owned(),
        }),
        priority: f.priority.as_deref().and_then(|p| p.parse().ok()),
        organization_id: f.organization.as_deref().and_then(|p| p.parse().ok()),
        assignment_group_id: f.group.clone().filter(|s| !s.is_empty()),
        assignee_id: assignee,
        service_id: f.service.as_deref().and_then(|p| p.parse().ok()),
        caller_id: None,
        q: f.q.clone(),
        sort: Some(sort.clone()),
        cursor: f.cursor.clone(),
        limit: Some(QUEUE_PAGE),
    };
    let mut layout = Layout::of(&u);
    let (rows, next) = match parse_list(&list, RecordKind::INCIDENT) {
        Err(e) => {
            layout.error = Some(e.detail.clone());
            (vec![], None)
        }
        Ok((filter, page)) => match s
            .app
            .list_records(&u.ctx, RecordKind::INCIDENT, filter, page)
            .await
        {
            Ok(p) => (p.items, p.next),
            Err(e) => match failure(e) {
                Ok(msg) => {
                    layout.error = Some(msg);
                    (vec![], None)
                }
                Err(r) => return r,
            },
        },
    };
    let dir = match Directory::load(&s, &u).await {
        Ok(d) => d,
        Err(e) => {
            return failure(e)
                .err()
                .unwrap_or_else(|| error_page(StatusCode::INTERNAL_SERVER_ERROR, "directory"))
        }
    };
    let base_query = |cursor: Option<Cursor>| {
        let mut parts = vec![
            format!("q={}", urlencode(f.q.as_deref().unwrap_or(""))),
            format!("state={}", urlencode(&state)),
            format!("priority={}", urlencode(f.priority.as_deref().unwrap_or(""))),
            format!("group={}", urlencode(f.group.as_deref().unwrap_or(""))),
            format!("assignee={}", urlencode(f.assignee.as_deref().unwrap_or(""))),
            format!(
                "organization={}",
                urlencode(f.organization.as_deref().unwrap_or(""))
            ),
            format!("service={}", urlencode(f.service.as_deref().unwrap_or(""))),
            format!("sort={}", urlencode(&sort)),
        ];
        if let Some(c) = cursor {
            parts.push(format!("cursor={}", c.encode()));
        }
        format!("/incidents?{}", parts.join("&"))
    };
    let current = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut state_options = vec![
        opt("open", "Open (new, in progress, on hold)", &state),
        opt("all", "All", &state),
    ];
    state_options.extend(
        RecordKind::INCIDENT
            .lifecycle()
            .states
            .iter()
            .map(|st| opt(st.name, st.label, &state)),
    );
    let mut priority_options = vec![opt("", "Any", &current(&f.priority))];
    priority_options.extend((1..=5).map(|p| {
        opt(
            p.to_string(),
            priority_label(p).into_owned(),
            &current(&f.priority),
        )
    }));
    let mut group_options = vec![
        opt("", "Any", &current(&f.group)),
        opt("none", "No group", &current(&f.group)),
    ];
    group_options.extend(
        dir.groups
            .iter()
            .map(|(id, n)| opt(id.to_string(), n.clone(), &current(&f.group))),
    );
    let mut assignee_options = vec![
        opt("", "Anyone", &current(&f.assignee)),
        opt("me", "Me", &current(&f.assignee)),
        opt("none", "Unassigned", &current(&f.assignee)),
    ];
    assignee_options.extend(
        dir.staff
            .iter()
            .map(|(id, n)| opt(id.to_string(), n.clone(), &current(&f.assignee))),
    );
    let mut organization_options = vec![opt("", "Any", &current(&f.organization))];
    organization_options.extend(
        dir.organizations
            .iter()
            .filter(|o| o.2 != "supplier")
            .map(|(id, n, _)| opt(id.to_string(), n.clone(), &current(&f.organization))),
    );
    let mut service_options = vec![opt("", "Any", &current(&f.service))];
    service_options.extend(
        dir.services
            .iter()
            .map(|(id, n)| opt(id.to_string(), n.clone(), &current(&f.service))),
    );
    let sort_options = vec![
        opt("due", "SLA due time, soonest first", &sort),
        opt("priority", "Priority, highest first", &sort),
        opt("-updated_at", "Recently updated", &sort),
        opt("-created_at", "Newest", &sort),
        opt("created_at", "Oldest", &sort),
        opt("-number", "Number, descending", &sort),
    ];
    let first_page = f.cursor.as_deref().is_none_or(str::is_empty);
    let now = s.app.now();
    let short_page = next.is_some() && rows.len() < QUEUE_PAGE as usize;
    let next_href = next.map(|c| base_query(Some(c)));
    let first_href = base_query(None);
    let page = QueuePage {
        layout,
        staff: u.ctx.is_staff(),
        state_options,
        priority_options,
        group_options,
        assignee_options,
        organization_options,
        service_options,
        sort_options,
        rows: rows
            .into_iter()
            .map(|v| {
                let sla = super::service_levels::queue_cell(&v.sla, now);
                let r = v.record;
                QueueRow {
                    sla,
                    number: r.readable_number().to_string(),
                    state_label: state_label(r.kind, &r.state),
                    state: r.state,
                    priority: r.priority.unwrap_or(5),
                    priority_label: r
                        .priority
                        .map_or_else(|| "—".to_owned(), |p| priority_label(p).into_owned()),
                    title: r.title,
                    organization: v.names.organization,
                    service: dash(v.names.service.as_deref()),
                    group: dash(v.names.assignment_group.as_deref()),
                    assignee: dash(v.names.assignee.as_deref()),
                    updated: when(r.updated_at),
                }
            })
            .collect(),
        next_href,
        first_href,
        first_page,
        short_page,
        search: f.q.clone().unwrap_or_default(),
    };
    render(StatusCode::OK, &page)
}

// ---------------------------------------------------------------- logging an incident

#[derive(Deserialize, Default)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    caller_id: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    service_id: String,
    #[serde(default)]
    service_offering_id: String,
    #[serde(default)]
    configuration_item_id: String,
    #[serde(default)]
    assignment_group_id: String,
}

#[derive(Template)]
#[template(path = "incident_new.html")]
struct NewPage {
    layout: Layout,
    form: NewForm,
    staff: bool,
    organization_options: Vec<Opt>,
    caller_options: Vec<Opt>,
    impact_options: Vec<Opt>,
    urgency_options: Vec<Opt>,
    category_options: Vec<Opt>,
    service_options: Vec<Opt>,
    offering_options: Vec<Opt>,
    ci_options: Vec<Opt>,
    group_options: Vec<Opt>,
}

async fn new_page(
    s: &AppState,
    u: &UiUser,
    form: NewForm,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let dir = match Directory::load(s, u).await {
        Ok(d) => d,
        Err(e) => {
            return failure(e)
                .err()
                .unwrap_or_else(|| error_page(StatusCode::INTERNAL_SERVER_ERROR, "directory"))
        }
    };
    let impact = if form.impact.is_empty() {
        "medium"
    } else {
        form.impact.as_str()
    };
    let urgency = if form.urgency.is_empty() {
        "medium"
    } else {
        form.urgency.as_str()
    };
    let orgs: Vec<(i64, String)> = dir
        .organizations
        .iter()
        .filter(|o| o.2 != "supplier")
        .map(|o| (o.0, o.1.clone()))
        .collect();
    let people: Vec<(i64, String)> = dir
        .people
        .iter()
        .map(|(id, n, org)| {
            let org_name = dir
                .organizations
                .iter()
                .find(|o| o.0 == *org)
                .map(|o| o.1.as_str())
                .unwrap_or("");
            (
                *id,
                if org_name.is_empty() {
                    n.clone()
                } else {
                    format!("{n} ({org_name})")
                },
            )
        })
        .collect();
    let mut layout = Layout::of(u);
    layout.error = error;
    let page = NewPage {
        layout,
        staff: u.ctx.is_staff(),
        organization_options: Directory::options(&orgs, &form.organization_id, "From the caller"),
        caller_options: Directory::options(&people, &form.caller_id, "—"),
        impact_options: level_options(impact),
        urgency_options: level_options(urgency),
        category_options: category_options(&form.category),
        service_options: Directory::options(&dir.services, &form.service_id, "—"),
        offering_options: Directory::options(&dir.offerings, &form.service_offering_id, "—"),
        ci_options: Directory::options(&dir.cis, &form.configuration_item_id, "—"),
        group_options: Directory::options(&dir.groups, &form.assignment_group_id, "—"),
        form,
    };
    render(status, &page)
}

pub async fn new_form(State(s): State<AppState>, u: UiUser) -> Response {
    new_page(&s, &u, NewForm::default(), None, StatusCode::OK).await
}

fn id_field(v: &str) -> Option<i64> {
    v.trim().parse().ok()
}

pub async fn create(State(s): State<AppState>, u: UiUser, Form(f): Form<NewForm>) -> Response {
    if let Err(r) = u.check_csrf(&f.csrf) {
        return r;
    }
    let input = NewIncidentInput {
        organization_id: id_field(&f.organization_id).map(OrganizationId),
        title: f.title.clone(),
        description: f.description.clone(),
        impact: Level::parse(&f.impact),
        urgency: Level::parse(&f.urgency),
        category: Some(f.category.clone()).filter(|c| !c.is_empty()),
        service_id: id_field(&f.service_id).map(RecordId),
        service_offering_id: id_field(&f.service_offering_id).map(RecordId),
        configuration_item_id: id_field(&f.configuration_item_id).map(RecordId),
        caller_id: id_field(&f.caller_id).map(UserId),
        assignment_group_id: id_field(&f.assignment_group_id).map(GroupId),
        assignee_id: None,
    };
    match s.app.create_incident(&u.ctx, input).await {
        Ok(v) => Redirect::to(&format!("/incidents/{}", v.record.readable_number())).into_response(),
        Err(e) => match failure(e) {
            Ok(msg) => new_page(&s, &u, f, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await,
            Err(r) => r,
        },
    }
}

// ---------------------------------------------------------------- one incident

pub struct IncidentView {
    number: String,
    title: String,
    description: String,
    state: String,
    state_label: String,
    is_final: bool,
    priority: i16,
    priority_label: String,
    impact: String,
    urgency: String,
    category: String,
    service: String,
    service_offering: String,
    configuration_item: String,
    group: String,
    assignee: String,
    caller: String,
    organization: String,
    on_hold_reason: Option<String>,
    resolution: Option<String>,
    first_response: String,
    resolved: String,
    created: String,
    version: i64,
}

pub struct CommentView {
    author: String,
    at: String,
    internal: bool,
    body: String,
}

pub struct LinkView {
    label: String,
    href: String,
    number: String,
    title: String,
    state: String,
}

pub struct AttachmentView {
    id: i64,
    filename: String,
    size: String,
    at: String,
}

pub struct ChangeView {
    field: String,
    old: String,
    new: String,
}

pub struct EventView {
    at: String,
    actor: String,
    action: String,
    summary: String,
    changes: Vec<ChangeView>,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct DetailPage {
    layout: Layout,
    i: IncidentView,
    sla: Vec<crate::api::service_levels::SlaClock>,
    comments: Vec<CommentView>,
    links: Vec<LinkView>,
    attachments: Vec<AttachmentView>,
    history: Vec<EventView>,
    transitions: Vec<super::transitions::TransitionView>,
    /// Where the moves are posted.
    state_path: String,
    can_work: bool,
    can_comment: bool,
    can_note: bool,
    can_link: bool,
    can_attach: bool,
    impact_options: Vec<Opt>,
    urgency_options: Vec<Opt>,
    category_options: Vec<Opt>,
    service_options: Vec<Opt>,
    offering_options: Vec<Opt>,
    /// The offering the page showed, so that saving another service without choosing another
    /// offering lets the offering go with the old service.
    offering_shown: String,
    group_options: Vec<Opt>,
    assignee_options: Vec<Opt>,
}

fn show_value(field: &str, v: &Value, names: &HashMap<&'static str, HashMap<i64, String>>) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let table = match field {
                "assignee_id" | "requester_id" => names.get("user"),
                "assignment_group_id" => names.get("group"),
                "organization_id" => names.get("organization"),
                "service_id" | "service_offering_id" | "configuration_item_id" => names.get("record"),
                _ => None,
            };
            match (table, n.as_i64()) {
                (Some(t), Some(id)) => t.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
                _ => n.to_string(),
            }
        }
        // A link's change names the other record by its number.
        Value::Object(o) if o.get("record").is_some_and(Value::is_string) => o
            .get("record")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        other => other.to_string(),
    }
}

fn field_label(f: &str) -> String {
    match f {
        "requester_id" => "caller".into(),
        "assignment_group_id" => "assignment group".into(),
        "assignee_id" => "assignee".into(),
        "service_id" => "service".into(),
        "service_offering_id" => "service offering".into(),
        "configuration_item_id" => "configuration item".into(),
        "organization_id" => "organization".into(),
        other => other.replace('_', " "),
    }
}

async fn detail_page(
    s: &AppState,
    u: &UiUser,
    number: &str,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let kind = RecordKind::INCIDENT;
    let loaded = async {
        let v = s.app.get_record(&u.ctx, kind, number).await?;
        let n = v.record.readable_number().to_string();
        let comments = s.app.comments(&u.ctx, kind, &n).await?;
        let links = s.app.links(&u.ctx, kind, &n).await?;
        let attachments = s.app.attachments(&u.ctx, kind, &n).await?;
        let history = s.app.record_history(&u.ctx, kind, &n, 0, 1000).await?;
        let sla = super::service_levels::panel(s, u, kind, &n).await?;
        let dir = Directory::load(s, u).await?;
        Ok::<_, AppError>((v, comments, links, attachments, history, sla, dir))
    }
    .await;
    let (v, comments, links, attachments, history, sla, dir) = match loaded {
        Ok(x) => x,
        Err(e) => {
            return failure(e)
                .err()
                .unwrap_or_else(|| error_page(StatusCode::NOT_FOUND, "Not found."))
        }
    };
    let mut names: HashMap<&'static str, HashMap<i64, String>> = HashMap::new();
    names.insert(
        "user",
        dir.people.iter().map(|(id, n, _)| (*id, n.clone())).collect(),
    );
    names.insert("group", dir.groups.iter().cloned().collect());
    names.insert(
        "organization",
        dir.organizations
            .iter()
            .map(|(id, n, _)| (*id, n.clone()))
            .collect(),
    );
    names.insert(
        "record",
        dir.services
            .iter()
            .chain(dir.cis.iter())
            .chain(dir.offerings.iter())
            .cloned()
            .collect(),
    );
    let r = &v.record;
    let d = |k: &str| r.detail_str(k).map(str::to_owned);
    let lifecycle = kind.lifecycle();
    let i = IncidentView {
        number: r.readable_number().to_string(),
        title: r.title.clone(),
        description: r.description.clone(),
        state: r.state.clone(),
        state_label: state_label(kind, &r.state),
        is_final: lifecycle.state(&r.state).is_some_and(|st| st.is_final()),
        priority: r.priority.unwrap_or(5),
        priority_label: r
            .priority
            .map_or_else(|| "—".to_owned(), |p| priority_label(p).into_owned()),
        impact: humane(&d("impact").unwrap_or_default()),
        urgency: humane(&d("urgency").unwrap_or_default()),
        category: dash(d("category").as_deref()),
        service: dash(v.names.service.as_deref()),
        service_offering: dash(
            r.service_offering_id()
                .and_then(|o| dir.offerings.iter().find(|(id, _)| *id == o.0))
                .map(|(_, name)| name.as_str()),
        ),
        configuration_item: dash(v.names.configuration_item.as_deref()),
        group: dash(v.names.assignment_group.as_deref()),
        assignee: dash(v.names.assignee.as_deref()),
        caller: dash(v.names.requester.as_deref()),
        organization: v.names.organization.clone(),
        on_hold_reason: d("on_hold_reason").map(|x| humane(&x)),
        resolution: d("resolution_code")
            .map(|c| format!("{}: {}", humane(&c), d("resolution_notes").unwrap_or_default())),
        first_response: when_str(r.detail_str("first_response_at")),
        resolved: when_str(r.detail_str("resolved_at")),
        created: when(r.created_at),
        version: r.version,
    };
    let current = |id: Option<i64>| id.map(|x| x.to_string()).unwrap_or_default();
    let mut layout = Layout::of(u);
    layout.error = error;
    layout.notice = notice;
    let page = DetailPage {
        layout,
        sla,
        comments: comments
            .into_iter()
            .map(|c| CommentView {
                author: dash(c.author_name.as_deref()),
                at: when(c.created_at),
                internal: c.internal,
                body: c.body,
            })
            .collect(),
        links: links
            .into_iter()
            .map(|l| {
                let number = format!("{}-{}", l.other_kind.prefix(), l.other_number);
                LinkView {
                    label: if l.outgoing {
                        l.link_type.label()
                    } else {
                        l.link_type.inverse_label()
                    }
                    .to_owned(),
                    href: if l.other_kind == RecordKind::INCIDENT {
                        format!("/incidents/{number}")
                    } else {
                        format!("/api/v1/{}/{number}", l.other_kind.collection())
                    },
                    number,
                    title: l.other_title,
                    state: state_label(l.other_kind, &l.other_state),
                }
            })
            .collect(),
        attachments: attachments
            .into_iter()
            .map(|a| AttachmentView {
                id: a.id,
                filename: a.filename,
                size: format!("{} KB", (a.size_bytes + 1023) / 1024),
                at: when(a.created_at),
            })
            .collect(),
        history: history
            .into_iter()
            .map(|e| EventView {
                at: when(e.at),
                actor: e.actor_name.unwrap_or_else(|| "system".into()),
                action: e.action,
                summary: e.summary,
                changes: e
                    .changes
                    .iter()
                    .map(|c| ChangeView {
                        field: field_label(&c.field),
                        old: show_value(&c.field, &c.old, &names),
                        new: show_value(&c.field, &c.new, &names),
                    })
                    .collect(),
            })
            .collect(),
        transitions: super::transitions::transitions(r.kind, &r.state),
        state_path: format!("/incidents/{}/state", r.readable_number()),
        can_work: u.ctx.can(Permission::WorkIncidents),
        can_comment: u.ctx.can(Permission::CommentPublic) && !i.is_final,
        can_note: u.ctx.can(Permission::CommentInternal),
        can_link: u.ctx.can(Permission::LinkRecords),
        can_attach: u.ctx.can(Permission::Attach),
        impact_options: level_options(r.detail_str("impact").unwrap_or("medium")),
        urgency_options: level_options(r.detail_str("urgency").unwrap_or("medium")),
        category_options: category_options(r.detail_str("category").unwrap_or("")),
        service_options: Directory::options(&dir.services, &current(r.service_id.map(|x| x.0)), "—"),
        offering_options: Directory::options(
            &dir.offerings,
            &current(r.service_offering_id().map(|x| x.0)),
            "—",
        ),
        offering_shown: current(r.service_offering_id().map(|x| x.0)),
        group_options: Directory::options(&dir.groups, &current(r.assignment_group_id.map(|x| x.0)), "—"),
        assignee_options: Directory::options(&dir.staff, &current(r.assignee_id.map(|x| x.0)), "Unassigned"),
        i,
    };
    render(status, &page)
}

#[derive(Deserialize)]
pub struct DetailQuery {
    notice: Option<String>,
}

pub async fn detail(
    State(s): State<AppState>,
    u: UiUser,
    Path(number): Path<String>,
    q: Result<Query<DetailQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let notice = q.ok().and_then(|Query(q)| q.notice).filter(|n| n.len() < 200);
    detail_page(&s, &u, &number, None, notice, StatusCode::OK).await
}

/// After a successful change, back to the incident (post/redirect/get); after a failed one, the
/// incident again with the reason, answered 422 so the browser does not cache it.
async fn done(s: &AppState, u: &UiUser, number: &str, result: Result<&str, AppError>) -> Response {
    match result {
        Ok(notice) => {
            Redirect::to(&format!("/incidents/{number}?notice={}", urlencode(notice))).into_response()
        }
        Err(e) => match failure(e) {
            Ok(msg) => detail_page(s, u, number, Some(msg), None, StatusCode::UNPROCESSABLE_ENTITY).await,
            Err(r) => r,
        },
    }
}

/// Applies a change posted from the incident page at the version the page showed.
async fn apply_change(
    s: &AppState,
    u: &UiUser,
    number: &str,
    version: &str,
    change: IncidentChange,
    notice: &'static str,
) -> Response {
    let r = s
        .app
        .update_incident(&u.ctx, number, version.parse().ok(), change)
        .await
        .map(|_| notice);
    done(s, u, number, r).await
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    service_id: String,
    #[serde(default)]
    service_offering_id: String,
    #[serde(default)]
    service_offering_shown: String,
    #[serde(default)]
    assignment_group_id: String,
    #[serde(default)]
    assignee_id: String,
}

pub async fn update(
    State(s): State<AppState>,
    u: UiUser,
    Path(number): Path<String>,
    Form(f): Form<UpdateForm>,
) -> Response {
    if let Err(r) = u.check_csrf(&f.csrf) {
        return r;
    }
    let change = IncidentChange {
        impact: Level::parse(&f.impact),
        urgency: Level::parse(&f.urgency),
        category: Some(Some(f.category.clone()).filter(|c| !c.is_empty())),
        service_id: Some(id_field(&f.service_id).map(RecordId)),
        // Left alone unless chosen anew: another service then drops the old service's offering.
        service_offering_id: (f.service_offering_id != f.service_offering_shown)
            .then(|| id_field(&f.service_offering_id).map(RecordId)),
        assignment_group_id: Some(id_field(&f.assignment_group_id).map(GroupId)),
        assignee_id: Some(id_field(&f.assignee_id).map(UserId)),
        ..Default::default()
    };
    apply_change(&s, &u, &number, &f.version, change, "Saved.").await
}

#[derive(Deserialize)]
pub struct StateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    to: String,
    on_hold_reason: Option<String>,
    resolution_code: Option<String>,
    resolution_notes: Option<String>,
}

pub async fn change_state(
    State(s): State<AppState>,
    u: UiUser,
    Path(number): Path<String>,
    Form(f): Form<StateForm>,
) -> Response {
    if let Err(r) = u.check_csrf(&f.csrf) {
        return r;
    }
    let change = IncidentChange {
        state: Some(f.to.clone()),
        on_hold_reason: f.on_hold_reason.as_deref().and_then(OnHoldReason::parse),
        resolution_code: f.resolution_code.as_deref().and_then(ResolutionCode::parse),
        resolution_notes: f.resolution_notes.clone(),
        ..Default::default()
    };
    apply_change(&s, &u, &number, &f.version, change, "State changed.").await
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    visibility: String,
}

pub async fn comment(
    State(s): State<AppState>,
    u: UiUser,
    Path(number): Path<String>,
    Form(f): Form<CommentForm>,
) -> Response {
    if let Err(r) = u.check_csrf(&f.csrf) {
        return r;
    }
    let internal = f.visibility == "internal";
    let r = s
        .app
        .add_comment(&u.ctx, RecordKind::INCIDENT, &number, &f.body, internal)
        .await
        .map(|_| "Added.");
    done(&s, &u, &number, r).await
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    link_type: String,
}

pub async fn link(
    State(s): State<AppState>,
    u: UiUser,
    Path(number): Path<String>,
    Form(f): Form<LinkForm>,
) -> Response {
    if let Err(r) = u.check_csrf(&f.csrf) {
        return r;
    }
    let r = match LinkType::parse(&f.link_type) {
        Some(t) => s
            .app
            .add_link(&u.ctx, RecordKind::INCIDENT, &number, &f.target, t)
            .await
            .map(|_| "Linked."),
        None => Err(itsm_domain::ValidationError::field("link_type", "choose a link type").into()),
    };
    done(&s, &u, &number, r).await
}

pub async fn attach(
    State(s): State<AppState>,
    u: UiUser,
    Path(number): Path<String>,
    mut m: Multipart,
) -> Response {
    let mut csrf = String::new();
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        match m.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => csrf = field.text().await.unwrap_or_default(),
                Some("file") => {
                    let name = field.file_name().unwrap_or("").to_owned();
                    let ctype = field
                        .content_type()
                        .unwrap_or("application/octet-stream")
                        .to_owned();
                    match field.bytes().await {
                        Ok(b) => file = Some((name, ctype, b.to_vec())),
                        Err(_) => {
                            return done(
                                &s,
                                &u,
                                &number,
                                Err(itsm_domain::ValidationError::field(
                                    "file",
                                    "could not be read (too large?)",
                                )
                                .into()),
                            )
                            .await
                        }
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(_) => return error_page(StatusCode::BAD_REQUEST, "The upload could not be read."),
        }
    }
    if let Err(r) = u.check_csrf(&csrf) {
        return r;
    }
    let r = match file {
        Some((name, ctype, bytes)) => s
            .app
            .add_attachment(&u.ctx, RecordKind::INCIDENT, &number, &name, &ctype, &bytes)
            .await
            .map(|_| "Attached."),
        None => Err(itsm_domain::ValidationError::field("file", "choose a file").into()),
    };
    done(&s, &u, &number, r).await
}

pub async fn download(State(s): State<AppState>, u: UiUser, Path(id): Path<String>) -> Response {
    match crate::api::records::attachment_response(&s, &u.ctx, &id).await {
        Ok(r) => r,
        Err(e) => error_page(e.status, &e.detail),
    }
}
