//! The console's static files, embedded in the binary: the style sheet, the console's own script
//! (Quick Find, pickers, confirmations), the agent console's script and vendored htmx (2.0.11, `assets/vendor/`, from the
//! npm package `htmx.org`; no CDN). Served with a long cache lifetime under a versioned path.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::ConsoleState;

pub const CONSOLE_CSS: &str = include_str!("../../assets/console.css");
pub const CONSOLE_JS: &str = include_str!("../../assets/console.js");
/// The request inspector's live table (`/lightning/setup/RequestInspector/home`).
pub const INSPECTOR_JS: &str = include_str!("../../assets/inspector.js");
/// The agent console's live updates and reply box (`console/agent.rs`).
pub const AGENT_CONSOLE_JS: &str = include_str!("../../assets/agent-console.js");
pub const HTMX_JS: &str = include_str!("../../assets/vendor/htmx-2.0.11.min.js");

/// Assets change only with the binary, so their URL carries the version.
pub const PREFIX: &str = concat!("/console/assets/", env!("CARGO_PKG_VERSION"));

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
}

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(
            &format!("{PREFIX}/console.css"),
            get(|| async { asset("text/css; charset=utf-8", CONSOLE_CSS) }),
        )
        .route(
            &format!("{PREFIX}/console.js"),
            get(|| async { asset("text/javascript; charset=utf-8", CONSOLE_JS) }),
        )
        .route(
            &format!("{PREFIX}/inspector.js"),
            get(|| async { asset("text/javascript; charset=utf-8", INSPECTOR_JS) }),
        )
        .route(
            &format!("{PREFIX}/agent-console.js"),
            get(|| async { asset("text/javascript; charset=utf-8", AGENT_CONSOLE_JS) }),
        )
        .route(
            &format!("{PREFIX}/htmx.min.js"),
            get(|| async { asset("text/javascript; charset=utf-8", HTMX_JS) }),
        )
}
