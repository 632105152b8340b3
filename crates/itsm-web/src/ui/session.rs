//! Signing in and out, and the extractor that turns the session cookie into the caller.

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use itsm_app::{AppError, Ctx};
use serde::Deserialize;

use super::{error_page, render};
use crate::observe::ClientAddress;
use crate::AppState;

const COOKIE: &str = "itsm_session";

/// A signed-in user of the UI: who they are and the CSRF token their forms must carry.
#[derive(Clone)]
pub struct UiUser {
    pub ctx: Ctx,
    pub csrf: String,
    pub name: String,
    pub role: &'static str,
    session: String,
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

impl FromRequestParts<AppState> for UiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // The route's guard found the user already.
        if let Some(u) = parts.extensions.get::<UiUser>() {
            return Ok(u.clone());
        }
        let to_login = || {
            let next = safe_next(parts.uri.path_and_query().map(|p| p.as_str()));
            Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response()
        };
        let Some(session) = cookie_value(&parts.headers, COOKIE) else {
            return Err(to_login());
        };
        match state.app.session(&session).await {
            Ok(s) => {
                let role = s.actor.role.as_str();
                let ctx = Ctx::user(s.actor).with_request_id(crate::observe::current_request_id());
                Ok(UiUser {
                    role,
                    name: s.display_name,
                    ctx,
                    csrf: s.csrf_token,
                    session,
                })
            }
            Err(AppError::Unauthenticated) => Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                Err(error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is not available right now.",
                ))
            }
        }
    }
}

impl UiUser {
    /// Checks a form's CSRF token against the session's, in constant time.
    #[allow(clippy::result_large_err)]
    pub fn check_csrf(&self, token: &str) -> Result<(), Response> {
        if crate::observe::constant_time_eq(self.csrf.as_bytes(), token.as_bytes()) {
            Ok(())
        } else {
            Err(error_page(
                StatusCode::FORBIDDEN,
                "This form has expired. Go back, reload the page and try again.",
            ))
        }
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

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

/// Where to go after signing in: `next` if it is a path on this site, else home. A path has one
/// leading slash and no second one after it (`//host` names another host), no backslash (which
/// browsers read as a slash), no control character or space (a browser drops a tab or newline,
/// so `/\t/evil.example` becomes `//evil.example`; a newline cannot be put in a header at all) and
/// no scheme or authority, which the first two rules already exclude.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/incidents";
    let Some(n) = next else {
        return HOME.to_owned();
    };
    let mut chars = n.chars();
    let same_site = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && n.len() <= 2048
        && !n
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    if same_site {
        n.to_owned()
    } else {
        HOME.to_owned()
    }
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
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
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

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_path_on_this_site_or_home() {
        for ok in [
            "/incidents",
            "/incidents/INC-7?tab=history",
            "/",
            "/reports/sla?by=month&from=2026-01-01",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "/\n/evil.example/",
            "/\t/evil.example/",
            "/ /evil.example",
            "https://evil.example/",
            "evil.example",
            "javascript:alert(1)",
            "/a\\b",
            "/\u{0}",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/incidents", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/incidents");
    }
}
