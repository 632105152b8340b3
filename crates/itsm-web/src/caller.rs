//! Who is calling: the API's caller, authenticated by a bearer token, and the UI's signed-in user,
//! found from the session cookie. The route guards ([`crate::guard`]) and the handlers both take
//! them; a guard that found the caller leaves it in the request, so it is looked up once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use itsm_app::{AppError, Ctx};

use crate::error::ApiError;
use crate::page::error_page;
use crate::AppState;

/// The caller of an API request, authenticated by `Authorization: Bearer <token>`.
#[derive(Clone)]
pub struct ApiCaller(pub Ctx);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // The route's guard found the caller already.
        if let Some(c) = parts.extensions.get::<ApiCaller>() {
            return Ok(c.clone());
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| ApiError::from(itsm_app::AppError::Unauthenticated))?;
        let actor = state.app.authenticate_token(token).await?;
        Ok(ApiCaller(
            Ctx::user(actor).with_request_id(crate::request_id::current_request_id()),
        ))
    }
}

pub(crate) const SESSION_COOKIE: &str = "itsm_session";

/// A signed-in user of the UI: who they are and the CSRF token their forms must carry.
#[derive(Clone)]
pub struct UiUser {
    pub ctx: Ctx,
    pub csrf: String,
    pub name: String,
    pub role: &'static str,
    pub(crate) session: String,
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
        let Some(session) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match state.app.session(&session).await {
            Ok(s) => {
                let role = s.actor.role.as_str();
                let ctx = Ctx::user(s.actor).with_request_id(crate::request_id::current_request_id());
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

/// Where to go after signing in: `next` if it is a path on this site, else home. A path has one
/// leading slash and no second one after it (`//host` names another host), no backslash (which
/// browsers read as a slash), no control character or space (a browser drops a tab or newline,
/// so `/\t/evil.example` becomes `//evil.example`; a newline cannot be put in a header at all) and
/// no scheme or authority, which the first two rules already exclude.
pub fn safe_next(next: Option<&str>) -> String {
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
