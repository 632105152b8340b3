//! The incident queue: filters, sort orders and pages of incidents with their SLA status.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use itsm_app::model::Cursor;
use itsm_domain::incident::priority_label;
use itsm_domain::RecordKind;
use serde::Deserialize;

use super::frame::{dash, failure, opt, state_label, when, Layout, Opt};
use super::pickers::Directory;
use super::render;
use crate::api::dto::ListQuery;
use crate::api::records::parse_list;
use crate::caller::{urlencode, UiUser};
use crate::page::error_page;
use crate::AppState;

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
