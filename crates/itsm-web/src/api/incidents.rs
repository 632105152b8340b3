//! Incident endpoints: log one, change one. Reading, listing and the shared sub-resources come from
//! the record endpoints.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use itsm_app::incidents::NewIncidentInput;
use itsm_domain::incident::IncidentChange;
use itsm_domain::{GroupId, OrganizationId, RecordId, UserId};

use super::dto;
use super::respond::{if_match, record_response};
use super::ApiJson;
use crate::caller::ApiCaller;
use crate::error::ApiError;
use crate::AppState;

/// Log an incident.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = dto::CreateIncident,
    responses((status = 201, body = dto::Incident, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_incident(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    ApiJson(b): ApiJson<dto::CreateIncident>,
) -> Result<Response, ApiError> {
    let input = NewIncidentInput {
        organization_id: b.organization_id.map(OrganizationId),
        title: b.title,
        description: b.description,
        impact: b.impact,
        urgency: b.urgency,
        category: b.category,
        service_id: b.service_id.map(RecordId),
        service_offering_id: b.service_offering_id.map(RecordId),
        configuration_item_id: b.configuration_item_id.map(RecordId),
        caller_id: b.caller_id.map(UserId),
        assignment_group_id: b.assignment_group_id.map(GroupId),
        assignee_id: b.assignee_id.map(UserId),
    };
    let v = s.app.create_incident(&ctx, input).await?;
    Ok(record_response(StatusCode::CREATED, &v))
}

/// Change an incident: fields, assignment, state. Requires `If-Match` with the current ETag.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", request_body = dto::UpdateIncident,
    params(("id" = String, Path, description = "number or id"), ("If-Match" = String, Header, description = "the ETag read before")),
    responses((status = 200, body = dto::Incident, headers(("ETag" = String))),
        (status = 409, body = crate::error::Problem, description = "the lifecycle does not allow this state change"),
        (status = 412, body = crate::error::Problem, description = "the incident changed since it was read"),
        (status = 428, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update_incident(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<dto::UpdateIncident>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let change = IncidentChange {
        title: b.title,
        description: b.description,
        impact: b.impact,
        urgency: b.urgency,
        category: b.category,
        service_id: b.service_id.map(|o| o.map(RecordId)),
        service_offering_id: b.service_offering_id.map(|o| o.map(RecordId)),
        configuration_item_id: b.configuration_item_id.map(|o| o.map(RecordId)),
        caller_id: b.caller_id.map(|o| o.map(UserId)),
        assignment_group_id: b.assignment_group_id.map(|o| o.map(GroupId)),
        assignee_id: b.assignee_id.map(|o| o.map(UserId)),
        state: b.state,
        on_hold_reason: b.on_hold_reason,
        resolution_code: b.resolution_code,
        resolution_notes: b.resolution_notes,
    };
    let v = s.app.update_incident(&ctx, &id, version, change).await?;
    Ok(record_response(StatusCode::OK, &v))
}
