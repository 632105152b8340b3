//! The versioned answer every record endpoint gives: the record in its kind's shape with its
//! version as a strong ETag (and `Location` for a creation), and the version a change is based on,
//! read from `If-Match`.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::dto::record_json;
use crate::error::ApiError;

/// Answers with the record as JSON and its version as a strong ETag.
pub fn record_response(status: StatusCode, v: &itsm_app::model::RecordView, ctx: &itsm_app::Ctx) -> Response {
    let mut resp = (status, Json(record_json(v, ctx))).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", v.record.version)) {
        resp.headers_mut().insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED {
        let loc = format!(
            "/api/v1/{}/{}",
            v.record.kind.collection(),
            v.record.readable_number()
        );
        if let Ok(loc) = HeaderValue::from_str(&loc) {
            resp.headers_mut().insert(header::LOCATION, loc);
        }
    }
    resp
}

/// Reads the version an update is based on from `If-Match` (`"3"`, `W/"3"` or `3`).
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("").trim();
    // If-Match compares strongly (RFC 9110, 13.1.1): a weak tag matches no version, so the
    // change is refused with 412 and the current version, as for a stale one. Versions start at
    // 1, so 0 is one that no record has.
    if s.starts_with("W/") {
        return Ok(Some(NO_RECORD_HAS_THIS_VERSION));
    }
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
        .parse()
        .map(Some)
        .map_err(|_| ApiError::invalid_field("If-Match", "must be the ETag of the record, such as \"3\""))
}

/// A version no record has (versions start at 1).
const NO_RECORD_HAS_THIS_VERSION: i64 = 0;
