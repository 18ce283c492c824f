//! What each path answers: `/metrics`, `/healthz`, `/readyz`, and 404 for anything else.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

use super::readiness::Readiness;

/// The content type of prometheus-client's text exposition (OpenMetrics 1.0).
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

const TEXT: &str = "text/plain; charset=utf-8";

/// What the endpoint serves: the daemon's metrics and its readiness.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// Every metric of the daemon, encoded on each scrape.
    pub registry: Arc<Registry>,
    /// The conditions `/readyz` reports.
    pub readiness: Readiness,
}

/// The router of the metrics/health endpoint.
pub(crate) fn router(endpoints: Endpoints) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .with_state(endpoints)
}

/// The registry's metrics as Prometheus/OpenMetrics text, as `/metrics` serves them.
pub fn exposition(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut body = String::new();
    encode(&mut body, registry)?;
    Ok(body)
}

async fn metrics(State(endpoints): State<Endpoints>) -> Response {
    match exposition(&endpoints.registry) {
        Ok(body) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], body).into_response(),
        // Only a collector's own error can get here; say so rather than serve half a page.
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, TEXT)],
            "encoding the metrics failed\n",
        )
            .into_response(),
    }
}

/// Liveness: the process answers, so it lives.
async fn healthz() -> Response {
    ([(header::CONTENT_TYPE, TEXT)], "ok\n").into_response()
}

async fn readyz(State(endpoints): State<Endpoints>) -> Response {
    let unmet = endpoints.readiness.unmet();
    if unmet.is_empty() {
        return ([(header::CONTENT_TYPE, TEXT)], "ok\n").into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, TEXT)],
        format!("not ready: waiting for {}\n", unmet.join(", ")),
    )
        .into_response()
}

/// Go's `http.NotFound` text, which MetalLB's endpoint answers for unknown paths.
async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, TEXT)],
        "404 page not found\n",
    )
        .into_response()
}
