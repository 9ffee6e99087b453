//! The agent console: the org's conversations, live, and the agent's side of each (Service Console's work, for people).

use axum::Router;

use super::ConsoleState;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
}
