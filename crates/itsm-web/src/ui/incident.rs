//! The incident page and the forms that work it: classify and assign, move along.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use itsm_app::AppError;
use itsm_domain::access::Permission;
use itsm_domain::incident::priority_label;
use itsm_domain::lifecycle::Addition;
use itsm_domain::RecordKind;
use serde::Deserialize;

use super::frame::{dash, failure, humane, state_label, when, when_str, Layout, Opt};
use super::pickers::{category_options, level_options, Directory};
use super::record_panels::{
    field_label, show_value, AttachmentView, ChangeView, CommentView, EventView, LinkView,
};
use super::render;
use crate::caller::UiUser;
use crate::page::error_page;
use crate::AppState;

/// Business minutes as hours and days, for templates.
fn minutes_text(m: &f64) -> String {
    super::service_levels::minutes_text(m)
}

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
    cancel_reason: Option<String>,
    first_response: String,
    resolved: String,
    created: String,
    version: i64,
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

pub(super) async fn detail_page(
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
        cancel_reason: d("cancel_reason"),
        first_response: when_str(r.detail_str("first_response_at")),
        resolved: when_str(r.detail_str("resolved_at")),
        created: when(r.created_at),
        version: r.version,
    };
    let current = |id: Option<i64>| id.map(|x| x.to_string()).unwrap_or_default();
    let takes = |what| r.kind.lifecycle().accepts(&r.state, what);
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
                size: itsm_domain::attachment::size_label(u64::try_from(a.size_bytes).unwrap_or(0)),
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
        transitions: super::transitions::transitions(r.kind, &r.state, &u.ctx),
        state_path: format!("/incidents/{}/state", r.readable_number()),
        can_work: u.ctx.can(Permission::WorkIncidents),
        // What the page offers to add is what the record's lifecycle still takes.
        can_comment: u.ctx.can(Permission::CommentPublic) && takes(Addition::Comment),
        can_note: u.ctx.can(Permission::CommentInternal),
        can_link: u.ctx.can(Permission::LinkRecords) && takes(Addition::Link),
        can_attach: u.ctx.can(Permission::Attach) && takes(Addition::Attachment),
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
