//! `/health` and `/ready` on the login/instance host and the Interaction API host, for load
//! balancers (docs/scale-out.md, "Health checks: /health and /ready"). Neither path is one
//! Salesforce serves on these hosts, and neither needs credentials nor tells anything about the
//! org.
//!
//! - `GET /health`: liveness. 200 whenever the process serves HTTP, whatever the database does
//!   (restarting a process because its database is down would not help).
//! - `GET /ready`: readiness. 200 when the database answers a trivial query within
//!   [`READY_TIMEOUT`]; 503 when it does not, and from the moment a clean stop begins (so a
//!   load balancer stops sending new requests to an instance that is draining).
//!
//! Both stay outside the request inspector: a load balancer polling every second would fill it.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use byoc_store::Store;
use tokio_util::sync::CancellationToken;

/// How long `/ready` waits for the database's answer.
pub const READY_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone)]
struct Health {
    store: Store,
    shutdown: CancellationToken,
}

/// The two routes, for either host.
pub fn router(store: Store, shutdown: CancellationToken) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(Health { store, shutdown })
}

fn json(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn health() -> Response {
    json(StatusCode::OK, r#"{"status":"UP"}"#.to_string())
}

async fn ready(State(h): State<Health>) -> Response {
    let database = h.store.backend();
    if h.shutdown.is_cancelled() {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(r#"{{"status":"DOWN","database":"{database}","reason":"stopping"}}"#),
        );
    }
    match h.store.ping(READY_TIMEOUT).await {
        Ok(()) => json(
            StatusCode::OK,
            format!(r#"{{"status":"UP","database":"{database}"}}"#),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "/ready: the database did not answer");
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    r#"{{"status":"DOWN","database":"{database}","reason":"the database did not answer within {} ms"}}"#,
                    READY_TIMEOUT.as_millis()
                ),
            )
        }
    }
}
