//! Pub/Sub at a glance: topics, their schemas, stored events (decoded) and active subscriptions.

use axum::Router;

use super::ConsoleState;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
}
