//! `GET /services/data/vXX.X/query?q=`, `/queryAll`, `/tooling/query`, and `nextRecordsUrl`
//! paging. (Skeleton: the rest helper fills it.)

use axum::Router;

use super::RestState;

/// Open query cursors (`/services/data/vXX.X/query/01g…-2000`), in memory.
#[derive(Clone, Default)]
pub struct Cursors {}

pub fn router(_state: RestState) -> Router {
    Router::new()
}
