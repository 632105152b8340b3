//! What every page shares: the frame (who is signed in, the form token, the message of the last
//! action), options of a picker, how times and names read, and how a failed use case is shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use itsm_app::AppError;
use itsm_domain::RecordKind;

use crate::caller::UiUser;
use crate::page::error_page;

/// What every page's frame shows.
pub struct Layout {
    pub user_name: String,
    pub role: &'static str,
    pub csrf: String,
    /// Whether the navigation offers to log an incident: nobody is offered what they may not do.
    pub can_log: bool,
    pub error: Option<String>,
    pub notice: Option<String>,
}

impl Layout {
    pub(super) fn of(u: &UiUser) -> Layout {
        Layout {
            user_name: u.name.clone(),
            role: u.role,
            csrf: u.csrf.clone(),
            can_log: u.ctx.can(itsm_domain::access::Permission::CreateIncident),
            error: None,
            notice: None,
        }
    }
}

/// One `<option>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub(super) fn opt(value: impl Into<String>, label: impl Into<String>, current: &str) -> Opt {
    let value = value.into();
    let selected = value == current;
    Opt {
        value,
        label: label.into(),
        selected,
    }
}

pub(super) fn when(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

pub(super) fn when_str(s: Option<&str>) -> String {
    s.and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(when)
        .unwrap_or_else(|| "—".into())
}

pub(super) fn dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("—").to_owned()
}

pub(super) fn humane(s: &str) -> String {
    let s = s.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

pub(super) fn state_label(kind: RecordKind, state: &str) -> String {
    kind.lifecycle()
        .state(state)
        .map(|s| s.label.to_owned())
        .unwrap_or_else(|| state.to_owned())
}

/// Maps a use-case error to a page: problems the user can fix are shown on the page they came
/// from; the rest get an error page.
// A response is the natural error of a handler helper; it is built once per request, never hot.
#[allow(clippy::result_large_err)]
pub(super) fn failure(e: AppError) -> Result<String, Response> {
    match e {
        AppError::Invalid(v) => Ok(v.errors.iter().map(|f| format!("{}: {}", humane(&f.field), f.message)).collect::<Vec<_>>().join("; ")),
        AppError::Transition(t) => Ok(t.to_string()),
        AppError::VersionMismatch { .. } => {
            Ok("Someone else changed this incident meanwhile. The page now shows the current version; please redo your change.".into())
        }
        AppError::Conflict(m) | AppError::NotYours(m) => Ok(m),
        AppError::NotFound(what) => Err(error_page(StatusCode::NOT_FOUND, &format!("{what} was not found."))),
        AppError::Forbidden => Err(error_page(StatusCode::FORBIDDEN, "You are not allowed to do this.")),
        AppError::Unauthenticated => Err(Redirect::to("/login").into_response()),
        other => {
            tracing::error!(error = %other, "use case failed");
            Err(error_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side."))
        }
    }
}

/// A page for a use-case error when there is no form to show it on.
pub(super) fn failure_page(e: AppError) -> Response {
    failure(e).err().unwrap_or_else(|| {
        error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request could not be completed.",
        )
    })
}

/// The id a picker posted, if it is one (an empty choice is none).
pub(super) fn id_field(v: &str) -> Option<i64> {
    v.trim().parse().ok()
}
