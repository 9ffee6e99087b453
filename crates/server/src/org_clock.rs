//! The org clock (`byoc clock`, docs/org-as-code.md): real time plus an offset kept in the
//! database, so every instance on it reads the same time; moved only when the server was
//! started with `--allow-clock-control`.
//!
//! - `GET /admin/v1/clock`, `POST /admin/v1/clock` (`advance` / `set` / `real`).

use axum::Router;

use crate::admin_api::AdminState;

/// The admin API routes of this module (merged into [`crate::admin_api::router`]).
pub fn admin_routes() -> Router<AdminState> {
    Router::new()
}
