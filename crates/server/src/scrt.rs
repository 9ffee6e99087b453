//! The Interaction API host (`SF_SCRT_INSTANCE_URL`). Its operations arrive with the Interaction
//! API issue; until then every path answers 404.

use axum::http::StatusCode;
use axum::Router;

pub fn router() -> Router {
    Router::new().fallback(|| async { StatusCode::NOT_FOUND })
}
