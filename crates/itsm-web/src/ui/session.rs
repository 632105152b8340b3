//! Signing in and out.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use itsm_app::AppError;
use serde::Deserialize;

use super::render;
use crate::caller::{safe_next, UiUser, SESSION_COOKIE};
use crate::observe::ClientAddress;
use crate::page::error_page;
use crate::AppState;

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<String>,
    next: String,
    username: String,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_page(Query(q): Query<LoginQuery>) -> Response {
    render(
        StatusCode::OK,
        &LoginPage {
            error: None,
            next: safe_next(q.next.as_deref()),
            username: String::new(),
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Refuses a sign-in posted from another site: the browser names the origin of every POST.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin == "null" && host.is_empty() || origin.split_once("://").is_some_and(|(_, h)| h == host)
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return error_page(StatusCode::FORBIDDEN, "Sign-in from another site is not allowed.");
    }
    let next = safe_next(Some(&f.next));
    match state.app.sign_in(f.username.trim(), &f.password, client).await {
        Ok(s) => {
            let secure = if state.settings.secure_cookies {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                s.session_token,
                state.app.settings().session_hours * 3600
            );
            let mut resp = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => {
            let retry_after = match e {
                AppError::Throttled { retry_after_secs } => Some(retry_after_secs.max(1)),
                _ => None,
            };
            let (status, msg) = match e {
                AppError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
                AppError::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "Wrong user name or password.".to_owned(),
                ),
                other => {
                    tracing::error!(error = %other, "sign-in failed");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Signing in is not possible right now.".to_owned(),
                    )
                }
            };
            let mut resp = render(
                status,
                &LoginPage {
                    error: Some(msg),
                    next,
                    username: f.username,
                },
            );
            if let Some(secs) = retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            resp
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(State(state): State<AppState>, user: UiUser, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = user.check_csrf(&f.csrf) {
        return r;
    }
    if let Err(e) = state.app.sign_out(&user.session).await {
        tracing::error!(error = %e, "sign-out failed");
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("itsm_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    resp
}
