//! `byoc reset [--keep-setup]` (docs/org-as-code.md): return a running org to its seed — the
//! setup it was built with on first start (the sample setup, or `serve --seed DIR`) — or, with
//! `--keep-setup`, empty conversations and events only. One transaction; every instance on the
//! database drops what it cached.
//!
//! - `POST /admin/v1/reset` (`{"keepSetup": bool}`).

use axum::Router;

use crate::admin_api::AdminState;

/// The admin API routes of this module (merged into [`crate::admin_api::router`]).
pub fn admin_routes() -> Router<AdminState> {
    Router::new()
}
