//! The plain error page: for a browser's request that fails before, or outside, any page that
//! could show the error in place. It names the request id to quote.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// A minimal page for errors that have no better place to show, with the request id to quote.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let id = crate::request_id::current_request_id();
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{code} · itsm</title>\
         <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body>\
         <header class=\"top\"><a href=\"/incidents\"><strong>itsm</strong></a></header><main><h1>{code}</h1>\
         <div class=\"error\" role=\"alert\">{msg}</div><p class=\"meta\">Request id: {id}</p>\
         <p><a href=\"/incidents\">Back to the incidents</a></p></main></body></html>",
        code = status.as_u16(),
        msg = esc(message),
        id = esc(&id)
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}
