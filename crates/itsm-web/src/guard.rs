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
use itsm_domain::RecordKind;

use crate::caller::{ApiCaller, UiUser};
use crate::error::ApiError;
use crate::AppState;

/// What a guarded route requires.
#[derive(Clone)]
pub struct Guard {
    state: AppState,
    /// `None`: anyone may send it (signing in).
    needs: Option<Needs>,
}

/// What a caller must hold for a route.
#[derive(Debug, Clone, Copy)]
pub enum Needs {
    Permission(Permission),
    /// A change of a record of a kind: its change permission, or a role its lifecycle lets take
    /// a move (a customer confirming a resolution). Which move, and on which record, the use
    /// case settles once it has read them.
    WriteOn(RecordKind),
}

impl From<Permission> for Needs {
    fn from(p: Permission) -> Needs {
        Needs::Permission(p)
    }
}

impl Needs {
    fn met_by(self, ctx: &itsm_app::Ctx) -> bool {
        match self {
            Needs::Permission(p) => ctx.can(p),
            Needs::WriteOn(kind) => ctx.may_write_on(kind),
        }
    }
}

/// An API route that requires `needs` (a permission) of the bearer of its token.
pub fn api(
    state: &AppState,
    needs: impl Into<Needs>,
    route: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    route.route_layer(axum::middleware::from_fn_with_state(
        Guard {
            state: state.clone(),
            needs: Some(needs.into()),
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
            needs: permission.map(Needs::Permission),
        },
        ui_guard,
    ))
}

/// A UI form that changes a record of `kind` (see [`Needs::WriteOn`]).
pub fn ui_writes_on(
    state: &AppState,
    kind: RecordKind,
    route: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    route.route_layer(axum::middleware::from_fn_with_state(
        Guard {
            state: state.clone(),
            needs: Some(Needs::WriteOn(kind)),
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
    if let Some(n) = g.needs {
        if !n.met_by(&caller.0) {
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
    if let Some(n) = g.needs {
        let user = match UiUser::from_request_parts(&mut parts, &g.state).await {
            Ok(u) => u,
            Err(to_sign_in) => return to_sign_in,
        };
        if !n.met_by(&user.ctx) {
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
