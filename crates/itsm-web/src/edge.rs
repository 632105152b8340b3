//! Checks every request gets at the edge, before any handler reads it: no text it carries (a query
//! parameter, a form field, a JSON string or key, at any depth) holds a control character other
//! than tab and newline. Query strings are checked for every request; a body by the guard of
//! its route, after the caller is found allowed to send it. Decided once here for every field of every kind, so PostgreSQL (which
//! cannot store NUL) and SQLite hold the same texts, and a bad value is refused with 422 naming the
//! field instead of failing deep in a statement. The domain's text checks say the same again.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use itsm_domain::validation::{control_message, forbidden_control};
use serde_json::Value;

use crate::error::ApiError;

/// The largest form or JSON body this check buffers; larger ones are refused as too large, which
/// the extractors behind it would do anyway (the JSON API takes 256 KiB).
const MAX_CHECKED_BODY: usize = 1024 * 1024;

/// The longest request target (path and query) accepted; longer ones answer 414.
const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header fields, and the most bytes of them all, accepted; more answer 431.
const MAX_HEADERS: usize = 64;
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The middleware every request passes: limits the request target and headers (answering the
/// problem a client can read, where the HTTP library would answer an empty 414 or 431 only at far
/// larger sizes), then checks the query string. Bodies are checked by the
/// guard of the route that takes one, once it knows the caller may act ([`crate::guard`]).
pub async fn refuse_control_characters(req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "Request target too long",
            format!("the path and query may hold at most {MAX_URI_BYTES} bytes"),
        )
        .into_response();
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if req.headers().len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "Request headers too large",
            format!("at most {MAX_HEADERS} header fields of {MAX_HEADER_BYTES} bytes in all"),
        )
        .into_response();
    }
    let api = req.uri().path().starts_with("/api/");
    if let Some(query) = req.uri().query() {
        if let Some((field, c)) = in_pairs(query.as_bytes()) {
            return refuse(api, &field, c);
        }
    }
    next.run(req).await
}

/// Checks a JSON or URL-encoded body and answers the request with the body re-assembled from the
/// bytes read, or the refusal (a problem for the API, a page for the UI).
pub async fn checked_body(req: Request, api: bool) -> Result<Request, Response> {
    let body_kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .and_then(|t| {
            if t == "application/json" || t.ends_with("+json") {
                Some(BodyKind::Json)
            } else if t == "application/x-www-form-urlencoded" {
                Some(BodyKind::Form)
            } else {
                None
            }
        });
    let Some(kind) = body_kind else {
        return Ok(req);
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_CHECKED_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Body too large",
                format!("the body could not be read: {e}"),
            )
            .into_response())
        }
    };
    let found = match kind {
        BodyKind::Form => in_pairs(&bytes),
        BodyKind::Json => in_json(&bytes),
    };
    if let Some((field, c)) = found {
        return Err(refuse(api, &field, c));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

enum BodyKind {
    Json,
    Form,
}

fn refuse(api: bool, field: &str, c: char) -> Response {
    let message = control_message(c);
    if api {
        ApiError::invalid_field(field, message).into_response()
    } else {
        crate::page::error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("The field “{field}” {message}. Go back, remove it and try again."),
        )
    }
}

/// The first name or value of URL-encoded pairs that holds a forbidden control character.
fn in_pairs(encoded: &[u8]) -> Option<(String, char)> {
    form_urlencoded::parse(encoded).find_map(|(name, value)| {
        forbidden_control(&name)
            .or_else(|| forbidden_control(&value))
            .map(|c| (name.into_owned(), c))
    })
}

/// The path of the first string or key of a JSON body that holds a forbidden control character,
/// as serde names fields (`terms.targets[0].name`). A JSON text carries a control character only
/// escaped (`\u0000`) or, for DEL and C1, as raw UTF-8, so bodies without either are not parsed
/// here: the creation path pays one byte scan.
fn in_json(bytes: &Bytes) -> Option<(String, char)> {
    let suspicious = bytes.iter().enumerate().any(|(i, b)| match b {
        b'\\' => bytes.get(i + 1) == Some(&b'u'),
        0x7f => true,
        0xc2 => bytes.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)),
        _ => false,
    });
    if !suspicious {
        return None;
    }
    // A body that is not JSON is the JSON extractor's to refuse, with its own message.
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let mut path = String::new();
    find_in_value(&value, &mut path)
}

fn find_in_value(v: &Value, path: &mut String) -> Option<(String, char)> {
    match v {
        Value::String(s) => forbidden_control(s).map(|c| (field_name(path), c)),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find_in_value(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let found = match forbidden_control(k) {
                Some(c) => Some((field_name(path), c)),
                None => find_in_value(item, path),
            };
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

fn field_name(path: &str) -> String {
    if path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    }
}

/// What an unknown route answers: a problem for the API and for clients that do not ask for a
/// page, the error page with the request id for a browser.
pub async fn not_found(req: Request) -> Response {
    let browser = !req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if browser {
        crate::page::error_page(StatusCode::NOT_FOUND, "There is no such page.")
    } else {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("no resource at {}", req.uri().path()),
        )
        .into_response()
    }
}

/// What a known route answers to a method it does not take.
pub async fn method_not_allowed(req: Request) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_that_holds_a_control_character() {
        let json = |s: &str| in_json(&Bytes::from(s.to_owned()));
        assert_eq!(json(r#"{"title": "a\u0000b"}"#), Some(("title".into(), '\0')));
        assert_eq!(
            json(r#"{"terms": {"targets": [{"name": "ok"}, {"name": "x\u001b"}]}}"#),
            Some(("terms.targets[1].name".into(), '\u{1b}'))
        );
        assert_eq!(
            json("{\"title\": \"del\u{7f}\"}"),
            Some(("title".into(), '\u{7f}'))
        );
        assert_eq!(
            json("{\"title\": \"c1\u{85}\"}"),
            Some(("title".into(), '\u{85}'))
        );
        assert_eq!(json(r#"{"k\u0007": 1}"#), Some(("k\u{7}".into(), '\u{7}')));
        assert_eq!(json(r#""\u0000""#), Some(("body".into(), '\0')));
        // Tab, newline and CR LF are text; escaped letters are letters.
        assert_eq!(json(r#"{"d": "a\tb\r\nc\u0041 é"}"#), None);
        assert_eq!(json("not json \\u0000"), None);
        assert_eq!(in_pairs(b"q=a%00b"), Some(("q".into(), '\0')));
        assert_eq!(in_pairs(b"title=ok&description=x%0D%0Ay%09z"), None);
        assert_eq!(in_pairs(b"title=ok&body=x%0Dy"), Some(("body".into(), '\r')));
    }
}
