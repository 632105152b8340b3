//! Who may act is checked before what they sent is read. Every route that takes a body is
//! registered through [`api`] or [`ui`] with the permission its use case asks for: the guard
//! authenticates the caller, refuses (401 or 403, or the sign-in page) one who lacks the
//! permission, and only then reads the body to check it at the edge (see [`crate::edge`]). The
//! caller it found goes to the handler with the request, so the handler's extractor does not look
//! the session or token up again. The use case still checks the same permission, and everything
//! that depends on the record (whose it is, its state), itself.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use itsm_domain::access::Permission;

use crate::caller::{ApiCaller, UiUser};
use crate::error::ApiError;
use crate::AppState;

/// What a guarded route requires.
#[derive(Clone)]
pub struct Guard {
    state: AppState,
    /// `None`: anyone may send it (signing in).
    permission: Option<Permission>,
}

/// An API route that requires `permission` of the bearer of its token.
pub fn api(
    state: &AppState,
    permission: Permission,
    route: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    route.route_layer(axum::middleware::from_fn_with_state(
        Guard {
            state: state.clone(),
            permission: Some(permission),
        },
        api_guard,
    ))
}

/// A UI form that requires `permission` of the signed-in user (`None`: of nobody, such as the
/// sign-in form itself).
pub fn ui(
    state: &AppState,
    permission: Option<Permission>,
    route: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    route.route_layer(axum::middleware::from_fn_with_state(
        Guard {
            state: state.clone(),
            permission,
        },
        ui_guard,
    ))
}

async fn api_guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let caller = match ApiCaller::from_request_parts(&mut parts, &g.state).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Some(p) = g.permission {
        if !caller.0.can(p) {
            return ApiError::from(itsm_app::AppError::Forbidden).into_response();
        }
    }
    parts.extensions.insert(caller);
    match crate::edge::checked_body(Request::from_parts(parts, body), true).await {
        Ok(req) => next.run(req).await,
        Err(refused) => refused,
    }
}

async fn ui_guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    if let Some(p) = g.permission {
        let user = match UiUser::from_request_parts(&mut parts, &g.state).await {
            Ok(u) => u,
            Err(to_sign_in) => return to_sign_in,
        };
        if !user.ctx.can(p) {
            return crate::page::error_page(
                axum::http::StatusCode::FORBIDDEN,
                "You are not allowed to do this.",
            );
        }
        parts.extensions.insert(user);
    }
    match crate::edge::checked_body(Request::from_parts(parts, body), false).await {
        Ok(req) => next.run(req).await,
        Err(refused) => refused,
    }
}
