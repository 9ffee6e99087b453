//! Salesforce's REST API on the login/instance host (`/services/data`), the part a BYOC connector
//! and stock Salesforce clients call (docs/rest-api.md lists every call and how byoc differs).
//!
//! - this module: [`RestState`], the router, `GET /services/data/` (versions) and
//!   `GET /services/data/vXX.X/` (resources), the `Sforce-Limit-Info` header, the version check
//!   ([`check_version`]), the caller ([`RestCaller`]) and 405 answers ([`only`]).
//! - [`objects`]: the sObject catalog — each object's describe ([`byoc_soql::ObjectDef`]) for the
//!   acting user, and its rows loaded from the store.
//! - [`query`]: `/query`, `/queryAll`, `/tooling/query` with `nextRecordsUrl` paging.
//! - [`sobjects`]: describe global, describe, a record by id, publishing a platform event.
//! - [`tooling`]: the Tooling API's `ConversationChannelDefinition` create/read/update/delete.
//! - [`usage`]: the org's API request count behind `Sforce-Limit-Info`, shared by every instance.
//!
//! Routes name the version segment `{version}` (`/services/data/{version}/…`): axum refuses two
//! names for one segment. An unknown path falls through to the login host's fallback, which
//! answers Salesforce's `NOT_FOUND`.
//!
//! Who may call: as the admin API ([`crate::admin_api::Acting`]): an access token or session id
//! with the `api` or `full` scope in `Authorization: Bearer|OAuth`, or the bootstrap credential;
//! errors in REST shape ([`crate::admin_api::ApiError`]).

pub mod objects;
pub mod query;
pub mod sobjects;
pub mod tooling;
pub mod usage;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use byoc_core::Actor;
use byoc_proto::rest::{ApiVersion, API_VERSIONS};
use serde_json::json;

use crate::admin_api::{Acting, AdminState, ApiError};

/// Shared by every REST request; cheap to clone.
#[derive(Clone)]
pub struct RestState {
    pub admin: AdminState,
    pub oauth: crate::oauth::OAuthState,
    /// Publishing platform events (`POST /sobjects/{Event__e}`) and their describe.
    pub pubsub: crate::pubsub::PubSubService,
    pub bus: std::sync::Arc<crate::pubsub::bus::EventBus>,
    /// Query cursors for `nextRecordsUrl` (in the database, for every instance).
    pub cursors: query::Cursors,
    /// The org's API request count (see [`usage`]; its flush task runs beside the server).
    pub usage: Arc<usage::ApiUsage>,
}

/// The daily API request allocation `Sforce-Limit-Info` reports (a Developer Edition's).
pub const DAILY_API_REQUESTS: u64 = 15_000;

/// The REST routes (`/services/data/...`).
pub fn router(state: RestState) -> Router {
    let own = Router::new()
        .route("/services/data", only_get(versions))
        .route("/services/data/", only_get(versions))
        .route("/services/data/{version}", only_get(resources))
        .route("/services/data/{version}/", only_get(resources))
        .route("/services/data/{version}/limits", only_get(limits))
        .route("/services/data/{version}/limits/", only_get(limits))
        .merge(query::router())
        .merge(sobjects::router())
        .with_state(state.clone());
    // The header layer goes on last so the Tooling API's routes carry it too.
    let usage = state.usage.clone();
    own.merge(tooling::router(state))
        .layer(axum::middleware::from_fn_with_state(usage, limit_info))
}

/// Add `Sforce-Limit-Info: api-usage=N/15000` to every authenticated answer (all but the
/// version list and refusals of the credential).
async fn limit_info(
    State(usage): State<Arc<usage::ApiUsage>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().trim_end_matches('/').to_string();
    let mut response = next.run(request).await;
    if path != "/services/data" && response.status() != StatusCode::UNAUTHORIZED {
        let n = usage.count();
        if let Ok(v) = HeaderValue::from_str(&format!("api-usage={n}/{DAILY_API_REQUESTS}")) {
            response.headers_mut().insert("sforce-limit-info", v);
        }
    }
    response
}

/// Refuse a version byoc does not serve: `vXX.X` from [`API_VERSIONS`], else `NOT_FOUND`, as
/// Salesforce answers an unknown version.
pub fn check_version(segment: &str) -> Result<&'static str, ApiError> {
    segment
        .strip_prefix('v')
        .and_then(|v| API_VERSIONS.iter().find(|(n, _)| *n == v))
        .map(|(n, _)| *n)
        .ok_or_else(not_found)
}

/// The query string's parameters, URL-decoded with `+` as a space. Never refuses: a malformed
/// escape is kept as text, so a bad `q` reaches the SOQL parser and gets its error.
pub fn params(raw: Option<String>) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Salesforce's 404 for an unknown resource.
pub fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

/// The acting user of a REST call ([`Acting`] over [`RestState`]).
pub struct RestCaller(pub Actor);

impl FromRequestParts<RestState> for RestCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &RestState,
    ) -> Result<Self, Self::Rejection> {
        let Acting(actor) = Acting::from_request_parts(parts, &state.admin).await?;
        Ok(RestCaller(actor))
    }
}

/// A wrong method on a REST resource: 405 `METHOD_NOT_ALLOWED` with Salesforce's text.
pub fn method_not_allowed(method: &Method, allowed: &str) -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(allowed) {
        response.headers_mut().insert("allow", v);
    }
    response
}

/// `method_router` answering any other method with [`method_not_allowed`].
pub fn only<S: Clone + Send + Sync + 'static>(
    method_router: MethodRouter<S>,
    allowed: &'static str,
) -> MethodRouter<S> {
    method_router
        .fallback(move |method: Method| async move { method_not_allowed(&method, allowed) })
}

fn only_get<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    only(get(handler), "GET,HEAD")
}

/// `GET /services/data/`: every version byoc serves, oldest first. No credential needed, as in
/// Salesforce.
async fn versions() -> Json<Vec<ApiVersion>> {
    Json(
        API_VERSIONS
            .iter()
            .map(|(version, label)| ApiVersion {
                label: label.to_string(),
                url: format!("/services/data/v{version}"),
                version: version.to_string(),
            })
            .collect(),
    )
}

/// `GET /services/data/vXX.X/`: the resources byoc serves under the version.
async fn resources(
    RestCaller(_actor): RestCaller,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    let v = check_version(&version)?;
    let base = format!("/services/data/v{v}");
    Ok(Json(json!({
        "limits": format!("{base}/limits"),
        "query": format!("{base}/query"),
        "queryAll": format!("{base}/queryAll"),
        "sobjects": format!("{base}/sobjects"),
        "tooling": format!("{base}/tooling"),
    }))
    .into_response())
}

/// `GET /services/data/vXX.X/limits`: the daily API requests (byoc counts, never refuses).
async fn limits(
    RestCaller(_actor): RestCaller,
    Path(version): Path<String>,
    State(state): State<RestState>,
) -> Result<Response, ApiError> {
    check_version(&version)?;
    // The call being answered is counted by the header layer afterwards; report it too.
    let used = state.usage.current() + 1;
    Ok(Json(json!({
        "DailyApiRequests": {
            "Max": DAILY_API_REQUESTS,
            "Remaining": DAILY_API_REQUESTS.saturating_sub(used),
        }
    }))
    .into_response())
}
