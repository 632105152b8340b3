//! The forms that work an incident from its page: classify and assign, move along, reply, link,
//! attach. A refused change shows the page again with the reason.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use itsm_app::AppError;
use itsm_domain::incident::{IncidentChange, Level, OnHoldReason, ResolutionCode};
use itsm_domain::{GroupId, LinkType, RecordId, RecordKind, UserId};
use serde::Deserialize;

use super::frame::failure;
use super::frame::id_field;
use super::incident::detail_page;
use crate::caller::{urlencode, UiUser};
use crate::page::error_page;
use crate::AppState;

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
    cancel_reason: Option<String>,
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
        cancel_reason: f.cancel_reason.clone(),
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
