//! The JSON API under `/api/v1`. Authentication is a bearer API token; the use case decides what the
//! caller may do. The OpenAPI document at `/api/v1/openapi.json` is generated from these handlers.

mod declared;
pub(crate) mod dto;
mod kinds_doc;
pub(crate) mod records;
mod respond;
pub(crate) mod service_levels;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use itsm_domain::RecordKind;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ApiError;
use crate::AppState;

/// The largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// A JSON body whose every failure (not JSON, wrong type, unknown field, too large, wrong content
/// type) answers a problem naming what is wrong.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => {
                // serde's message reads "<path>: <problem>", e.g. "impact: unknown variant `huge` ...";
                // an unknown or missing field has no path but names the field in the problem.
                let text = e.body_text();
                let detail = text.split_once(": ").map(|(_, d)| d.to_owned()).unwrap_or(text);
                let (field, message) = match detail.split_once(": ") {
                    Some((path, msg)) if !path.contains(' ') => (path.to_owned(), msg.to_owned()),
                    _ => (
                        named_field(&detail).unwrap_or_else(|| "body".to_owned()),
                        detail.clone(),
                    ),
                };
                Err(ApiError::invalid_field(&field, message))
            }
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::bad_request(format!(
                "the body is not valid JSON: {}",
                e.body_text()
            ))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            )),
            Err(JsonRejection::BytesRejection(e)) => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Body too large",
                format!("the body could not be read: {}", e.body_text()),
            )),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Query parameters whose every failure (unknown parameter, a number that is not one or does not
/// fit) answers 422 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(query_problem(e)),
        }
    }
}

/// The problem for query parameters that cannot be read, naming the parameter.
pub(crate) fn query_problem(e: axum::extract::rejection::QueryRejection) -> ApiError {
    // axum's message reads "Failed to deserialize query string: <field>: <problem>", or names an
    // unknown parameter in the problem.
    let text = e.body_text();
    let detail = text.split_once(": ").map_or(text.as_str(), |(_, d)| d);
    let (field, message) = match detail.split_once(": ") {
        Some((field, msg)) if !field.contains(' ') => (field.to_owned(), msg.to_owned()),
        _ => (
            named_field(detail).unwrap_or_else(|| "query".to_owned()),
            detail.to_owned(),
        ),
    };
    ApiError::invalid_field(&field, message)
}

/// Checks a number against its documented range, naming the parameter.
pub fn in_range<N: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: N,
    range: std::ops::RangeInclusive<N>,
) -> Result<N, ApiError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("must be {} to {}", range.start(), range.end()),
        ))
    }
}

/// The field named in "unknown field `x`" or "missing field `x`".
fn named_field(detail: &str) -> Option<String> {
    let rest = detail
        .strip_prefix("unknown field `")
        .or_else(|| detail.strip_prefix("missing field `"))?;
    rest.split_once('`').map(|(f, _)| f.to_owned())
}

#[derive(OpenApi)]
#[openapi(
    info(title = "itsm API", description = "IT service management records: incidents, services, configuration items, business calendars and agreements, and what they share; SLA clocks."),
    paths(
        declared::create_record,
        declared::change_record,
        records::list_records,
        records::get_record,
        records::history,
        records::list_comments,
        records::add_comment,
        records::list_links,
        records::add_link,
        records::remove_link,
        records::list_attachments,
        records::add_attachment,
        records::download_attachment,
        records::me,
        service_levels::create_calendar,
        service_levels::update_calendar,
        service_levels::due,
        service_levels::elapsed,
        service_levels::create_agreement,
        service_levels::update_agreement,
        service_levels::record_sla,
        service_levels::recompute,
        service_levels::events,
        service_levels::attainment,
        service_levels::breaches,
    ),
    components(schemas(crate::error::Problem, crate::error::ProblemField, dto::Record, dto::RecordPage, dto::Incident)),
    modifiers(&BearerAuth, &Problems),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every error the API answers is a problem (RFC 9457) in `application/problem+json`, and every
/// status an operation can answer is documented on it: the ones all operations share are added
/// here rather than written on each handler.
struct Problems;

impl Problems {
    fn response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
            .into()
    }
}

const PROBLEM_JSON: &str = "application/problem+json";

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_a_record = path.contains('{');
            for (is_patch, op) in [
                (false, &mut item.get),
                (false, &mut item.post),
                (false, &mut item.put),
                (false, &mut item.delete),
                (true, &mut item.patch),
            ] {
                let Some(op) = op.as_mut() else { continue };
                // Errors written on a handler as `body = Problem` are problems too.
                for (code, response) in op.responses.responses.iter_mut() {
                    if let (true, RefOr::T(r)) = (code.starts_with(['4', '5']), response) {
                        if let Some(c) = r.content.shift_remove("application/json") {
                            r.content.insert(PROBLEM_JSON.to_owned(), c);
                        }
                    }
                }
                let mut shared = vec![
                    ("401", "No bearer token, or one that is not valid."),
                    ("403", "The caller's role may not do this."),
                    (
                        "422",
                        "A parameter or the body is not valid; `errors` names each field.",
                    ),
                    ("500", "The server failed; the request id is in its log."),
                ];
                if names_a_record {
                    shared.push(("404", "No such record, or none the caller may see."));
                }
                if op.request_body.is_some() {
                    shared.push(("400", "The body is not well-formed (not JSON, a broken form)."));
                    shared.push(("413", "The body is larger than accepted."));
                    shared.push(("415", "The body is not of the type the operation takes."));
                }
                if is_patch {
                    shared.push((
                        "409",
                        "The change is not allowed now, such as a move the lifecycle does not have.",
                    ));
                    shared.push(("412", "`If-Match` names a version that is not the current one."));
                    shared.push(("428", "`If-Match` is missing."));
                }
                for (code, description) in shared {
                    if !op.responses.responses.contains_key(code) {
                        op.responses
                            .responses
                            .insert(code.to_owned(), Self::response(description));
                    }
                }
            }
        }
    }
}

/// The OpenAPI document, typed per kind (see `kinds_doc.rs`): built once, as it depends on nothing
/// but the code.
pub fn document() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        kinds_doc::per_kind(doc)
    })
}

async fn openapi() -> Json<&'static serde_json::Value> {
    Json(document())
}

pub fn routes(state: &AppState) -> Router<AppState> {
    use crate::guard::api;
    use axum::routing::{patch, post};
    use itsm_domain::access::Permission as P;
    let mut r = Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/me", get(records::me))
        .route("/api/v1/attachments/{id}", get(records::download_attachment))
        .route(
            "/api/v1/calendars",
            api(
                state,
                P::ManageServiceLevels,
                post(service_levels::create_calendar),
            ),
        )
        .route(
            "/api/v1/calendars/{id}",
            api(
                state,
                P::ManageServiceLevels,
                patch(service_levels::update_calendar),
            ),
        )
        .route(
            "/api/v1/calendars/{id}/due",
            api(state, P::ReadRecords, post(service_levels::due)),
        )
        .route(
            "/api/v1/calendars/{id}/elapsed",
            api(state, P::ReadRecords, post(service_levels::elapsed)),
        )
        .route(
            "/api/v1/agreements",
            api(
                state,
                P::ManageServiceLevels,
                post(service_levels::create_agreement),
            ),
        )
        .route(
            "/api/v1/agreements/{id}",
            api(
                state,
                P::ManageServiceLevels,
                patch(service_levels::update_agreement),
            ),
        )
        .route(
            "/api/v1/service-levels/recompute",
            api(state, P::ManageServiceLevels, post(service_levels::recompute)),
        )
        .route("/api/v1/events", get(service_levels::events))
        .route("/api/v1/reports/sla-attainment", get(service_levels::attainment))
        .route("/api/v1/reports/sla-breaches", get(service_levels::breaches));
    for kind in RecordKind::all() {
        r = records::routes_for(r, kind, state);
    }
    r.layer(axum::extract::DefaultBodyLimit::max(MAX_JSON_BYTES))
}
