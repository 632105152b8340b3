//! The HTTP surface of `itsm`: the JSON API under `/api/v1` (with its generated OpenAPI document),
//! the server-rendered web UI, health checks and metrics. Handlers extract input, call a use case of
//! [`itsm_app::App`] with the caller's identity, and render JSON or HTML; no rule lives here.

mod api;
mod caller;
mod edge;
mod error;
mod guard;
mod observe;
mod page;
mod request_id;
mod ui;
mod wire;

use std::sync::Arc;

pub use axum::{http, Router};
use itsm_app::App;

pub use api::ApiDoc;
pub use error::ApiError;
pub use observe::Metrics;

/// How the HTTP surface is set up: the part of the configuration the web layer reads.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Whether cookies are marked `Secure` and `Strict-Transport-Security` is sent (on when served
    /// over HTTPS).
    pub secure_cookies: bool,
    /// The header a reverse proxy in front sets to the client's address (such as
    /// `x-forwarded-for`, whose last entry is the one the proxy added). Unset, the client is the
    /// peer of the connection. Sign-in throttling counts attempts per client address.
    pub client_address_header: Option<axum::http::HeaderName>,
    /// The bearer token `/metrics` answers to on the main listener; unset, the main listener does
    /// not serve `/metrics` (see [`Routers::metrics`] for a listener of its own).
    pub metrics_token: Option<String>,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<WebSettings>,
}

/// The routers of one server: everything on the main listener, and `/metrics` alone for a
/// listener of its own (an address only the monitoring system reaches). Both count into the same
/// metrics.
pub struct Routers {
    pub main: Router,
    pub metrics: Router,
}

/// Builds the routers.
pub fn routers(app: App, settings: WebSettings) -> Routers {
    let state = AppState {
        app,
        metrics: Arc::new(Metrics::default()),
        settings: Arc::new(settings),
    };
    let main = Router::new()
        .merge(api::routes(&state))
        .merge(ui::routes(&state))
        .merge(observe::routes())
        .fallback(edge::not_found)
        .method_not_allowed_fallback(edge::method_not_allowed)
        .layer(axum::middleware::from_fn(edge::refuse_control_characters))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::request_context,
        ))
        .with_state(state.clone());
    let metrics = observe::metrics_routes()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::request_context,
        ))
        .with_state(state);
    Routers { main, metrics }
}

/// Builds the main router.
pub fn router(app: App, settings: WebSettings) -> Router {
    routers(app, settings).main
}

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        wire::ProblemListener(listener),
        router.into_make_service_with_connect_info::<wire::Peer>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
