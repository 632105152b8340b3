//! Logging an incident: the form and what it posts.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use itsm_app::incidents::NewIncidentInput;
use itsm_domain::incident::Level;
use itsm_domain::{GroupId, OrganizationId, RecordId, UserId};
use serde::Deserialize;

use super::frame::id_field;
use super::frame::{failure, Layout, Opt};
use super::pickers::{category_options, level_options, Directory};
use super::render;
use crate::caller::UiUser;
use crate::page::error_page;
use crate::AppState;

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
    // Nobody is shown a form they may not send.
    if !u.ctx.can(itsm_domain::access::Permission::CreateIncident) {
        return crate::page::error_page(StatusCode::FORBIDDEN, "You may read incidents but not log them.");
    }
    new_page(&s, &u, NewForm::default(), None, StatusCode::OK).await
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
