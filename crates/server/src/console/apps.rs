//! Setup pages: apps (being built).

use axum::Router;

use super::ConsoleState;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
}
