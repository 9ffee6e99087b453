//! The one place that turns an [`ApiError`] into an HTTP answer: the status of its class and the
//! spec's `Error` body `{"code": N, "message": "..."}`. Operations whose spec'd failure body is a
//! `{success, errorDetail}` response (`consent`, `capabilities`, `acknowledgement`) get both
//! shapes in one body, so either schema reads it. Database failures are logged under an id,
//! which goes back in `X-Byoc-Error-Id`; the database's own message never leaves the server.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use byoc_core::interaction::{ApiError, ErrorClass};
use byoc_store::StoreError;
use serde_json::json;

use super::writer::WriteError;

/// The header carrying the id under which a server-side failure was logged.
pub const ERROR_ID_HEADER: &str = "X-Byoc-Error-Id";

/// Which failure body an operation's spec describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `Error`: `{code, message}`.
    Error,
    /// `{success: false, errorDetail: Error}` beside `code` and `message`.
    WithSuccess,
}

/// A refusal on its way out.
#[derive(Debug)]
pub struct Refusal {
    pub error: ApiError,
    pub shape: Shape,
    pub error_id: Option<String>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Refusal {
        Refusal {
            error,
            shape: Shape::Error,
            error_id: None,
        }
    }
}

impl From<WriteError> for Refusal {
    fn from(e: WriteError) -> Refusal {
        match e {
            WriteError::Store(e) => store_refusal(e),
            WriteError::Stopped => ApiError::unavailable().into(),
        }
    }
}

impl Refusal {
    pub fn shaped(mut self, shape: Shape) -> Refusal {
        self.shape = shape;
        self
    }
}

pub fn status_of(class: ErrorClass) -> StatusCode {
    match class {
        ErrorClass::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorClass::Forbidden => StatusCode::FORBIDDEN,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::BadRequest => StatusCode::BAD_REQUEST,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = status_of(self.error.class);
        let body = match self.shape {
            Shape::Error => json!({"code": self.error.code, "message": self.error.message}),
            Shape::WithSuccess => json!({
                "success": false,
                "errorDetail": {"code": self.error.code, "message": self.error.message},
                "code": self.error.code,
                "message": self.error.message,
            }),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(id) = self.error_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            response.headers_mut().insert(ERROR_ID_HEADER, id);
        }
        response
    }
}

/// A database failure: logged with an id, answered 503 with code 10094 (try again later).
pub fn store_refusal(e: StoreError) -> Refusal {
    let error_id = uuid::Uuid::new_v4().simple().to_string();
    tracing::error!(error_id, error = %e, "Interaction API store failure");
    Refusal {
        error: ApiError::unavailable(),
        shape: Shape::Error,
        error_id: Some(error_id),
    }
}

/// For `?` inside the authorization chain, which returns plain [`ApiError`]s.
pub fn store_failure(e: StoreError) -> ApiError {
    let error_id = uuid::Uuid::new_v4().simple().to_string();
    tracing::error!(error_id, error = %e, "Interaction API store failure");
    ApiError::unavailable()
}

/// Paths the spec does not have.
pub async fn not_found() -> Response {
    Refusal::from(ApiError::with_class(10089, ErrorClass::NotFound)).into_response()
}

/// A known path with a method the spec does not give it.
pub async fn method_not_allowed() -> Response {
    let e = ApiError::new(10089);
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({"code": e.code, "message": e.message})),
    )
        .into_response()
}
