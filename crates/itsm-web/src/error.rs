//! One mapping from use-case errors to HTTP: `application/problem+json` (RFC 9457) with a stable
//! type, a readable detail, the request id and, for validation errors, each field and what is wrong.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use itsm_app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, such as `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The id of the request, also in the `x-request-id` header and the server log.
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For an illegal state change: the states the record may move to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_states: Option<Vec<String>>,
    /// For a stale update: the record's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

/// One invalid field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

/// An error answered by the API. Boxed, so `Result<_, ApiError>` stays as small as a pointer.
#[derive(Debug)]
pub struct ApiError(Box<ApiErrorBody>);

/// What an [`ApiError`] holds.
#[derive(Debug)]
pub struct ApiErrorBody {
    pub status: StatusCode,
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<ProblemField>,
    pub allowed_states: Option<Vec<String>>,
    pub current_version: Option<i64>,
    pub retry_after: Option<i64>,
    pub request_id: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError(Box::new(ApiErrorBody {
            status,
            kind,
            title,
            detail: detail.into(),
            errors: vec![],
            allowed_states: None,
            current_version: None,
            retry_after: None,
            request_id: String::new(),
        }))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
            format!("{field}: {message}"),
        );
        e.errors.push(ProblemField {
            field: field.into(),
            message,
        });
        e
    }

    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorBody;
    fn deref(&self) -> &ApiErrorBody {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorBody {
        &mut self.0
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        use StatusCode as S;
        let detail = e.to_string();
        match e {
            AppError::Unauthenticated => ApiError::new(
                S::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                detail,
            ),
            AppError::Throttled { retry_after_secs } => {
                let mut a = ApiError::new(S::TOO_MANY_REQUESTS, "throttled", "Too many attempts", detail);
                a.retry_after = Some(retry_after_secs);
                a
            }
            AppError::Forbidden | AppError::NotYours(_) => {
                ApiError::new(S::FORBIDDEN, "forbidden", "Forbidden", detail)
            }
            AppError::NotFound(_) => ApiError::new(S::NOT_FOUND, "not-found", "Not found", detail),
            AppError::Invalid(v) => {
                let mut a = ApiError::new(S::UNPROCESSABLE_ENTITY, "validation", "Invalid input", detail);
                a.errors = v
                    .errors
                    .into_iter()
                    .map(|f| ProblemField {
                        field: f.field,
                        message: f.message,
                    })
                    .collect();
                a
            }
            AppError::Transition(t) => {
                let mut a = ApiError::new(
                    S::CONFLICT,
                    "illegal-transition",
                    "State change not allowed",
                    detail,
                );
                a.allowed_states = Some(t.allowed.iter().map(|s| (*s).to_owned()).collect());
                a
            }
            AppError::VersionMismatch { current } => {
                let mut a = ApiError::new(
                    S::PRECONDITION_FAILED,
                    "stale-version",
                    "The record has changed",
                    detail,
                );
                a.current_version = Some(current);
                a
            }
            AppError::VersionRequired => ApiError::new(
                S::PRECONDITION_REQUIRED,
                "version-required",
                "If-Match required",
                detail,
            ),
            AppError::Conflict(_) => ApiError::new(S::CONFLICT, "conflict", "Conflict", detail),
            AppError::Setup(_) => ApiError::new(S::SERVICE_UNAVAILABLE, "not-set-up", "Not set up", detail),
            AppError::Storage(_) | AppError::Internal(_) => {
                // The detail stays in the log; the caller gets the request id to quote.
                tracing::error!(error = %detail, "internal failure");
                ApiError::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "internal error",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = *self.0;
        let body = Problem {
            kind: format!("/problems/{}", e.kind),
            title: e.title.to_owned(),
            status: e.status.as_u16(),
            detail: e.detail,
            request_id: if e.request_id.is_empty() {
                crate::request_id::current_request_id()
            } else {
                e.request_id
            },
            errors: e.errors,
            allowed_states: e.allowed_states,
            current_version: e.current_version,
        };
        let mut resp = (e.status, axum::Json(body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = e.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if e.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
