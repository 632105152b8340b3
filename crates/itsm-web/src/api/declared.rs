//! Create and change for every kind whose writes are declared: the body is the kind's own shape,
//! checked by the use case against the declaration. The OpenAPI document gives each kind its own
//! paths and schemas, drawn from the same declaration (`kinds_doc.rs`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use itsm_domain::RecordKind;

use super::dto;
use super::respond::{if_match, record_response};
use super::ApiJson;
use crate::caller::ApiCaller;
use crate::error::ApiError;
use crate::AppState;

/// A JSON object: the fields a kind's create or change takes, by name.
type Body = serde_json::Map<String, serde_json::Value>;

/// Create a record. The body holds the fields the kind's schema lists.
#[utoipa::path(post, path = "/api/v1/{collection}", tag = "records",
    request_body(content = Object, description = "the kind's create schema"),
    responses((status = 201, body = dto::Record, headers(("ETag" = String), ("Location" = String)))))]
pub async fn create_record(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    let v = s.app.create(&ctx, kind, &body).await?;
    Ok(record_response(StatusCode::CREATED, &v, &ctx))
}

/// Change a record: its fields and, as its lifecycle allows, its state (with what the move
/// requires). Leave out what stays; `null` clears. Requires `If-Match`.
#[utoipa::path(patch, path = "/api/v1/{collection}/{id}", tag = "records",
    request_body(content = Object, description = "the kind's change schema"),
    params(("id" = String, Path, description = "number or id"), ("If-Match" = String, Header)),
    responses((status = 200, body = dto::Record, headers(("ETag" = String)))))]
pub async fn change_record(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let v = s.app.change(&ctx, kind, &id, version, &body).await?;
    Ok(record_response(StatusCode::OK, &v, &ctx))
}
