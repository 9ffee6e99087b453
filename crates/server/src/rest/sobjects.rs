//! `GET /sobjects` (describe global), `GET /sobjects/{Type}/describe`, `GET /sobjects/{Type}/{Id}`
//! and `POST /sobjects/{Event__e}`. (Skeleton: the rest helper fills it.)

use axum::Router;

use super::RestState;

pub fn router(_state: RestState) -> Router {
    Router::new()
}
