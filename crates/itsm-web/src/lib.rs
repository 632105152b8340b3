//! The HTTP surface of `itsm`: the JSON API under `/api/v1` (with its generated OpenAPI document),
//! the server-rendered web UI, health checks and metrics. Handlers extract input, call a use case of
//! [`itsm_app::App`] with the caller's identity, and render JSON or HTML; no rule lives here.

mod api;
mod edge;
mod error;
mod observe;
mod ui;

use std::sync::Arc;

pub use axum::Router;
use itsm_app::App;

pub use api::ApiDoc;
pub use error::ApiError;
pub use observe::Metrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: Arc<Metrics>,
    /// Whether cookies are marked `Secure` (on when served over HTTPS).
    pub secure_cookies: bool,
}

/// Builds the whole router.
pub fn router(app: App, secure_cookies: bool) -> Router {
    let state = AppState {
        app,
        metrics: Arc::new(Metrics::default()),
        secure_cookies,
    };
    Router::new()
        .merge(api::routes())
        .merge(ui::routes())
        .merge(observe::routes())
        .layer(axum::middleware::from_fn(edge::refuse_control_characters))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::request_context,
        ))
        .with_state(state)
}

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router)
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
