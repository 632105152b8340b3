//! The web UI, rendered on the server with askama templates (escaped by default). Plain HTML forms
//! post to these handlers, which call the same use cases as the API; every form carries the session's
//! CSRF token, and the session cookie is HTTP-only and SameSite=Strict.

mod frame;
mod incident;
mod incident_forms;
mod incident_new;
mod pickers;
mod queue;
mod record_panels;
mod service_levels;
mod session;
mod transitions;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::page::error_page;
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub fn routes(state: &AppState) -> Router<AppState> {
    use crate::guard::ui;
    use itsm_domain::access::Permission as P;
    Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/incidents") }))
        .route(
            "/login",
            get(session::login_page).merge(ui(state, None, post(session::login))),
        )
        .route("/logout", ui(state, Some(P::ReadRecords), post(session::logout)))
        .route("/static/app.css", get(stylesheet))
        .route("/incidents", get(queue::queue))
        .route(
            "/incidents/new",
            get(incident_new::new_form).merge(ui(state, Some(P::CreateIncident), post(incident_new::create))),
        )
        .route("/incidents/{number}", get(incident::detail))
        .route(
            "/incidents/{number}/update",
            ui(state, Some(P::WorkIncidents), post(incident_forms::update)),
        )
        .route(
            "/incidents/{number}/state",
            crate::guard::ui_writes_on(
                state,
                itsm_domain::RecordKind::INCIDENT,
                post(incident_forms::change_state),
            ),
        )
        .route(
            "/incidents/{number}/comments",
            ui(state, Some(P::CommentPublic), post(incident_forms::comment)),
        )
        .route(
            "/incidents/{number}/links",
            ui(state, Some(P::LinkRecords), post(incident_forms::link)),
        )
        .route(
            "/incidents/{number}/attachments",
            ui(
                state,
                Some(P::Attach),
                post(incident_forms::attach).layer(axum::extract::DefaultBodyLimit::max(12 * 1024 * 1024)),
            ),
        )
        .route("/attachments/{id}", get(record_panels::download))
        .route("/service-levels", get(service_levels::overview))
        .route("/agreements/{number}", get(service_levels::agreement))
        .route("/calendars/{number}", get(service_levels::calendar))
        .route("/reports/sla", get(service_levels::report))
        .route("/reports/{which}", get(service_levels::report_csv))
}

async fn stylesheet() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

/// Renders a template, or a plain error page that names the request id if rendering fails.
pub(crate) fn render<T: askama::Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
        }
    }
}
