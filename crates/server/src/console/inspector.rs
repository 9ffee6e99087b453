//! The request inspector's pages (crate::inspector holds the calls).

use axum::Router;

use super::ConsoleState;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
}
