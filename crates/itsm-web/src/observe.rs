//! Request ids, structured request logs, security headers, Prometheus metrics and health checks.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::request_id::{new_request_id, REQUEST_ID};
use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request counts and latencies per method, route and status.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<HashMap<(String, String, u16), Series>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut map) = self.series.lock() {
            let s = map
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default();
            s.count += 1;
            s.sum += secs;
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    if let Some(slot) = s.buckets.get_mut(i) {
                        *slot += 1;
                    }
                }
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP itsm_http_requests_total HTTP requests handled.\n# TYPE itsm_http_requests_total counter\n");
        let Ok(map) = self.series.lock() else { return out };
        let mut keys: Vec<_> = map.keys().cloned().collect();
        keys.sort();
        for k in &keys {
            if let Some(s) = map.get(k) {
                let _ = writeln!(
                    out,
                    "itsm_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}",
                    k.0, k.1, k.2, s.count
                );
            }
        }
        out.push_str(
            "# HELP itsm_http_request_duration_seconds Time to answer HTTP requests.\n# TYPE itsm_http_request_duration_seconds histogram\n",
        );
        for k in &keys {
            let Some(s) = map.get(k) else { continue };
            let labels = format!("method=\"{}\",route=\"{}\",status=\"{}\"", k.0, k.1, k.2);
            for (i, b) in BUCKETS.iter().enumerate() {
                let n = s.buckets.get(i).copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "itsm_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "itsm_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "itsm_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "itsm_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// Gives every request an id (kept from a well-formed `x-request-id` header, or new), logs it,
/// measures it and adds the security headers.
pub async fn request_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %id, %method, %route);
    let mut resp = REQUEST_ID
        .scope(
            id.clone(),
            tracing::Instrument::instrument(next.run(req), span.clone()),
        )
        .await;
    let secs = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.metrics.observe(&method, &route, status, secs);
    // To a tenth of a millisecond: a float's full digits (`15.002768999999999`) read as noise.
    let ms = (secs * 10_000.0).round() / 10.0;
    span.in_scope(|| tracing::info!(status, ms, "answered"));
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages and API answers carry people's records: no browser or proxy keeps them (a shared
    // computer's back button shows nothing after sign-out). Only what says otherwise, such as
    // the stylesheet, is cached.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.settings.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    );
    resp
}

/// Health checks, and `/metrics` for a caller with the configured bearer token.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_with_token))
}

/// `/metrics` for anyone who reaches it: served on a listener of its own.
pub fn metrics_routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.ready().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    writer_metrics(&mut text, &state.app.writer_stats());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The creation writer's queue and groups (see `itsm_app`'s group commit).
fn writer_metrics(out: &mut String, w: &itsm_app::WriterStats) {
    let series: [(&str, &str, &str, String); 5] = [
        (
            "itsm_writer_waiting",
            "gauge",
            "Creations waiting for the writer.",
            w.waiting.to_string(),
        ),
        (
            "itsm_writer_groups_total",
            "counter",
            "Groups of creations written, one transaction each.",
            w.groups.to_string(),
        ),
        (
            "itsm_writer_creations_total",
            "counter",
            "Creations written in groups; over the groups, the mean group size.",
            w.creations.to_string(),
        ),
        (
            "itsm_writer_wait_seconds_total",
            "counter",
            "Time creations waited for their group to begin, added up.",
            w.wait_seconds.to_string(),
        ),
        (
            "itsm_writer_write_seconds_total",
            "counter",
            "Time the groups took to write, added up.",
            w.write_seconds.to_string(),
        ),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    }
}

/// `/metrics` on the main listener: only with `Authorization: Bearer <metrics_token>`, and not at
/// all when no token is configured (the figures say who uses what, and how much).
async fn metrics_with_token(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(expected) = state.settings.metrics_token.as_deref() else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "metrics are not served here",
        )
        .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return ApiError::from(itsm_app::AppError::Unauthenticated).into_response();
    }
    metrics(State(state)).await
}

/// Compares secrets without an early exit that would tell how much of a guess was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The address of the client: the peer of the connection, or, behind a reverse proxy named in
/// the settings, the last address in the header that proxy sets (the one it added itself; earlier
/// entries come from the client and prove nothing).
pub struct ClientAddress(pub std::net::IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<crate::wire::Peer>>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0 .0.ip());
        let forwarded = state.settings.client_address_header.as_ref().and_then(|name| {
            let value = parts.headers.get_all(name).iter().next_back()?.to_str().ok()?;
            value.rsplit(',').next()?.trim().parse().ok()
        });
        Ok(ClientAddress(forwarded.unwrap_or(peer)))
    }
}
