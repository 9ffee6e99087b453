//! The admin API (`/admin/v1`, docs/admin-api.md): thin handlers over [`SetupService`].
//!
//! Every handler resolves the acting user (the admin credential, or `X-Byoc-As`), calls the
//! service, and answers. [`ApiError`] is the one place that turns errors into statuses and
//! Salesforce REST error bodies.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use byoc_core::permissions::builtin_profiles;
use byoc_core::setup::Outcome;
use byoc_core::{Actor, SetupAction, SetupError};
use byoc_proto::admin::{
    AppInput, AssignmentChange, LinkApp, MigrateConnectedApp, NewChannel, NewPermissionSet,
    NewUser, PasswordReset, PolicyInput, RestError, Saved, SetPassword, UpdateCcd, UpdateOrg,
    UpdatePermissionSet, UpdateUser, ACT_AS_HEADER,
};
use byoc_proto::setup::{App, AppKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::setup_service::{ServiceError, SetupService};

#[derive(Clone)]
pub struct AdminState {
    pub setup: SetupService,
    /// When set, the admin API also accepts the org's OAuth access tokens, acting as their user.
    pub oauth: Option<crate::oauth::OAuthState>,
}

impl AdminState {
    pub fn new(setup: SetupService, oauth: Option<crate::oauth::OAuthState>) -> AdminState {
        AdminState { setup, oauth }
    }
}

/// An error answered in Salesforce's REST shape.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    errors: Vec<RestError>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            errors: vec![RestError {
                message: message.into(),
                error_code: code.into(),
                fields: vec![],
            }],
        }
    }

    pub fn invalid_session() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The first error's message (what the CLI prints for it).
    pub fn message(&self) -> &str {
        self.errors
            .first()
            .map(|e| e.message.as_str())
            .unwrap_or("")
    }

    /// 503 `SERVER_UNAVAILABLE`: the database is unavailable; the same request may succeed in
    /// a moment (docs/scale-out.md, "When the database fails").
    pub fn server_unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            SERVER_UNAVAILABLE_MESSAGE,
        )
    }

    /// A valid session without the `api` (or `full`) scope, as Salesforce's REST API answers it.
    pub fn api_disabled() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "This session is not valid for use with the REST API",
        )
    }
}

impl From<SetupError> for ApiError {
    fn from(e: SetupError) -> ApiError {
        let status = match &e {
            SetupError::InsufficientAccess(_) | SetupError::ConnectedAppCreationDisabled => {
                StatusCode::FORBIDDEN
            }
            SetupError::NotFound { .. } => StatusCode::NOT_FOUND,
            SetupError::Duplicate(_)
            | SetupError::InvalidField { .. }
            | SetupError::NotAllowed(_) => StatusCode::BAD_REQUEST,
        };
        let fields = match &e {
            SetupError::InvalidField { field, .. } => vec![field.to_string()],
            _ => vec![],
        };
        ApiError {
            status,
            errors: vec![RestError {
                message: e.to_string(),
                error_code: e.error_code().into(),
                fields,
            }],
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            ServiceError::Setup(e) => e.into(),
            // Optimistic concurrency lost (docs/admin-api.md): Salesforce's code for an update
            // refused because the record changed after the caller's read.
            ServiceError::Conflict(message) => ApiError::new(
                StatusCode::CONFLICT,
                "ENTITY_FAILED_IFLASTMODIFIED_ON_UPDATE",
                message,
            ),
            // The database is down or not answering: Salesforce's REST answer for a server
            // that can't take the request now (503 SERVER_UNAVAILABLE), so clients retry.
            ServiceError::Store(e) if e.is_unavailable() => {
                let error_id = uuid::Uuid::new_v4().simple().to_string();
                tracing::warn!(error_id, error = %e, "admin API: the database is unavailable");
                ApiError::server_unavailable()
            }
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                // Never echo a database error: log it under an id and hand out the id.
                let error_id = uuid::Uuid::new_v4().simple().to_string();
                tracing::error!(error_id, error = %e, "admin API store failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN_EXCEPTION",
                    format!("An unexpected error occurred. Please include this ErrorId if you contact support: {error_id}"),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.errors)).into_response()
    }
}

/// The message of [`ApiError::server_unavailable`] (and of the SOAP fault of the same code).
pub const SERVER_UNAVAILABLE_MESSAGE: &str =
    "The server is temporarily unable to serve this request. Please try again later.";

/// The largest JSON body an admin route reads (a setup record with a PEM certificate is a few
/// KiB); routes that take more (an agent reply with an attachment) set their own limit.
pub const ADMIN_JSON_LIMIT: usize = 256 * 1024;

/// A JSON body whose rejection is answered in Salesforce's shape (413 past the route's limit).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "JSON_PARSER_ERROR",
                    "The request body is larger than this resource accepts.",
                ))
            }
            Err(rejection) => {
                let message = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => {
                        "Content-Type must be application/json".to_string()
                    }
                    other => other.body_text(),
                };
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "JSON_PARSER_ERROR",
                    message,
                ))
            }
        }
    }
}

/// The acting user of a request.
///
/// Who may call (docs/admin-api.md): the bootstrap admin credential of `org.json`, or an OAuth
/// access token of the org whose scopes include `api` or `full` (Salesforce's rule for its REST
/// API), in `Authorization: Bearer X` or `Authorization: OAuth X`. `X-Byoc-As` (Setup's *Login
/// As*) is honoured for the bootstrap credential and for users who may log in as others
/// ([`SetupAction::LoginAs`]), never for an inactive target, and every such request is written
/// to the setup audit trail.
pub struct Acting(pub Actor);

impl FromRequestParts<AdminState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let token = crate::oauth::bearer(&parts.headers)
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::invalid_session)?;
        let (caller, may_act_as_anyone) = match authenticate(state, token).await? {
            Caller::Bootstrap(username) => (username, true),
            Caller::Token(username) => (username, false),
        };
        // For the request inspector (a request extension; the answer is unchanged).
        crate::inspector::http::note_caller(
            &parts.extensions,
            crate::inspector::http::Caller {
                app: may_act_as_anyone.then(|| "admin credential".to_string()),
                user: Some(caller.clone()),
            },
        );
        let target = parts
            .headers
            .get(ACT_AS_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case(&caller));
        let Some(target) = target else {
            return Ok(Acting(state.setup.actor(&caller).await?));
        };
        if !may_act_as_anyone {
            state
                .setup
                .actor(&caller)
                .await?
                .authorize(SetupAction::LoginAs)?;
        }
        let actor = state.setup.actor(target).await?;
        if !actor.user.is_active {
            return Err(login_as_inactive(&actor.user.username).into());
        }
        state
            .setup
            .record_login_as(&caller, &actor.user.username)
            .await?;
        Ok(Acting(actor))
    }
}

/// The refusal of *Login As* for an inactive user (the admin API's `X-Byoc-As` and the console's
/// *Login* button give the same).
pub fn login_as_inactive(username: &str) -> SetupError {
    SetupError::InsufficientAccess(format!(
        "User {username} is inactive: no one can log in as an inactive user."
    ))
}

/// Who presented the credential.
enum Caller {
    /// The bootstrap admin credential, as its user.
    Bootstrap(String),
    /// An OAuth access token with `api` or `full`, as its user.
    Token(String),
}

async fn authenticate(state: &AdminState, token: &str) -> Result<Caller, ApiError> {
    // An access token is checked in memory first, so OAuth callers cost no credential lookup.
    if let Some(oauth) = &state.oauth {
        match oauth.check(token).await {
            Ok(claims) if claims.has_scope("api") || claims.has_scope("full") => {
                return Ok(Caller::Token(claims.username))
            }
            Ok(_) => return Err(ApiError::api_disabled()),
            Err(crate::oauth::TokenError::Invalid) => {}
            Err(_) => return Err(ApiError::invalid_session()),
        }
    }
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    let credential = state
        .setup
        .store()
        .admin_credential(&digest)
        .await
        .map_err(|e| ApiError::from(ServiceError::Store(e)))?;
    match credential {
        // The lookup is by digest; compare again in constant time so the match leaks nothing.
        Some(c) if bool::from(c.digest.as_bytes().ct_eq(digest.as_bytes())) => {
            Ok(Caller::Bootstrap(c.username))
        }
        _ => Err(ApiError::invalid_session()),
    }
}

/// The bootstrap admin's username when `token` is the admin credential of `org.json`.
pub(crate) async fn bootstrap_username(state: &AdminState, token: &str) -> Option<String> {
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    match state.setup.store().admin_credential(&digest).await {
        Ok(Some(c)) if bool::from(c.digest.as_bytes().ct_eq(digest.as_bytes())) => Some(c.username),
        _ => None,
    }
}

/// The acting user, who must hold what Setup needs to view setup records
/// ([`SetupAction::ViewSetup`]).
pub struct SetupViewer(pub Actor);

impl FromRequestParts<AdminState> for SetupViewer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let Acting(actor) = Acting::from_request_parts(parts, state).await?;
        actor.authorize(SetupAction::ViewSetup)?;
        Ok(SetupViewer(actor))
    }
}

fn saved<T: Serialize>(status: StatusCode, out: Outcome<T>) -> Response {
    (
        status,
        Json(Saved {
            record: out.record,
            warnings: out.warnings,
        }),
    )
        .into_response()
}

/// Consumer secrets are shown once, when the app is created.
fn without_secret(mut app: App) -> App {
    app.oauth.consumer_secret = None;
    app
}

fn saved_app(status: StatusCode, mut out: Outcome<App>) -> Response {
    out.record = without_secret(out.record);
    saved(status, out)
}

type ApiResult = Result<Response, ApiError>;

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/admin/v1/org", get(get_org).patch(update_org))
        .route("/admin/v1/whoami", get(whoami))
        .route("/admin/v1/profiles", get(profiles))
        .route("/admin/v1/users", get(users).post(create_user))
        .route("/admin/v1/users/{username}", get(user).patch(update_user))
        .route("/admin/v1/users/{username}/password", put(set_password))
        .route(
            "/admin/v1/users/{username}/password/reset",
            post(reset_password),
        )
        .route(
            "/admin/v1/permission-sets",
            get(permission_sets).post(create_permission_set),
        )
        .route(
            "/admin/v1/permission-sets/{name}",
            get(permission_set).patch(update_permission_set),
        )
        .route(
            "/admin/v1/permission-sets/{name}/assignments",
            post(permission_set_assignments),
        )
        .route(
            "/admin/v1/external-client-apps",
            get(list_apps::<ExternalClientApps>).post(create_app::<ExternalClientApps>),
        )
        .route("/admin/v1/external-client-apps/migrate", post(migrate))
        .route(
            "/admin/v1/external-client-apps/{name}",
            get(show_app::<ExternalClientApps>)
                .patch(update_app::<ExternalClientApps>)
                .delete(delete_app::<ExternalClientApps>),
        )
        .route(
            "/admin/v1/external-client-apps/{name}/policies",
            patch(app_policies::<ExternalClientApps>),
        )
        .route(
            "/admin/v1/external-client-apps/{name}/consumer-details",
            post(consumer_details::<ExternalClientApps>),
        )
        .route(
            "/admin/v1/connected-apps",
            get(list_apps::<ConnectedApps>).post(create_app::<ConnectedApps>),
        )
        .route(
            "/admin/v1/connected-apps/{name}",
            get(show_app::<ConnectedApps>)
                .patch(update_app::<ConnectedApps>)
                .delete(delete_app::<ConnectedApps>),
        )
        .route(
            "/admin/v1/connected-apps/{name}/policies",
            patch(app_policies::<ConnectedApps>),
        )
        .route(
            "/admin/v1/connected-apps/{name}/consumer-details",
            post(consumer_details::<ConnectedApps>),
        )
        .route(
            "/admin/v1/connected-apps/{name}/assignments",
            post(ca_assignments),
        )
        .route("/admin/v1/channels", get(channels).post(create_channel))
        .route("/admin/v1/channels/{name}", get(channel))
        .route(
            "/admin/v1/ccds/{developer_name}",
            get(ccd).patch(update_ccd),
        )
        .route("/admin/v1/ccds/{developer_name}/app", put(link_ccd))
        .route("/admin/v1/audit", get(audit))
        .route(
            "/admin/v1/platform-events",
            get(platform_events).post(create_platform_event),
        )
        .route(
            "/admin/v1/platform-events/{name}",
            get(platform_event)
                .patch(update_platform_event)
                .delete(delete_platform_event),
        )
        .route(
            "/admin/v1/platform-events/{name}/fields",
            post(add_platform_event_field),
        )
        .route(
            "/admin/v1/platform-events/{name}/fields/{field}",
            patch(update_platform_event_field).delete(delete_platform_event_field),
        )
        .merge(crate::metadata_service::admin_routes())
        .merge(crate::reset::admin_routes())
        .merge(crate::org_clock::admin_routes())
        .layer(axum::extract::DefaultBodyLimit::max(ADMIN_JSON_LIMIT))
        .layer(axum::middleware::from_fn(refuse_control_characters))
        .with_state(state)
}

/// Refuses, before any handler or lookup, a request whose path or query holds a control
/// character once percent-decoded (`/admin/v1/users/a%00b`): no record is named so, and
/// PostgreSQL cannot even compare text with NUL, so the lookup would be a 500 there and a
/// 404 on SQLite. Both backends answer the same: 404 for the path, 400 for the query. Layered
/// on every admin router.
pub async fn refuse_control_characters(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // form_urlencoded decodes %XX (and `+`); a control character in any decoded piece is one
    // in the path or query.
    let has_control = |s: &str| {
        url::form_urlencoded::parse(s.as_bytes())
            .any(|(k, v)| k.chars().any(char::is_control) || v.chars().any(char::is_control))
    };
    if has_control(req.uri().path()) {
        return not_found().await.into_response();
    }
    if req.uri().query().is_some_and(has_control) {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "The query string can't contain control characters.",
        )
        .into_response();
    }
    next.run(req).await
}

/// The answer for paths no route serves, in Salesforce's REST shape.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

async fn get_org(State(s): State<AdminState>, _a: SetupViewer) -> ApiResult {
    Ok(Json(s.setup.org().await?).into_response())
}

async fn update_org(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Body(input): Body<UpdateOrg>,
) -> ApiResult {
    Ok(saved(StatusCode::OK, s.setup.update_org(&a, &input).await?))
}

async fn whoami(Acting(a): Acting) -> ApiResult {
    Ok(Json(a.user).into_response())
}

async fn profiles(_a: SetupViewer) -> ApiResult {
    Ok(Json(builtin_profiles()).into_response())
}

async fn users(State(s): State<AdminState>, _a: SetupViewer) -> ApiResult {
    Ok(Json(s.setup.store().users().await.map_err(ServiceError::from)?).into_response())
}

async fn user(
    State(s): State<AdminState>,
    _a: SetupViewer,
    Path(username): Path<String>,
) -> ApiResult {
    Ok(Json(s.setup.user(&username).await?).into_response())
}

async fn create_user(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Body(input): Body<NewUser>,
) -> ApiResult {
    Ok(saved(
        StatusCode::CREATED,
        s.setup.create_user(&a, &input).await?,
    ))
}

async fn update_user(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(username): Path<String>,
    Body(input): Body<UpdateUser>,
) -> ApiResult {
    Ok(saved(
        StatusCode::OK,
        s.setup.update_user(&a, &username, &input).await?,
    ))
}

/// Setup's *Set Password*: 204 No Content, as Salesforce's REST API answers a password set.
async fn set_password(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(username): Path<String>,
    Body(input): Body<SetPassword>,
) -> ApiResult {
    s.setup.set_password(&a, &username, &input.password).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Setup's *Reset Password*: the generated temporary password, answered this once.
async fn reset_password(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(username): Path<String>,
) -> ApiResult {
    let (out, password) = s.setup.reset_password(&a, &username).await?;
    Ok(Json(PasswordReset {
        username: out.record.username,
        password,
    })
    .into_response())
}

async fn permission_sets(State(s): State<AdminState>, _a: SetupViewer) -> ApiResult {
    Ok(Json(
        s.setup
            .store()
            .permission_sets()
            .await
            .map_err(ServiceError::from)?,
    )
    .into_response())
}

async fn create_permission_set(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Body(input): Body<NewPermissionSet>,
) -> ApiResult {
    Ok(saved(
        StatusCode::CREATED,
        s.setup.create_permission_set(&a, &input).await?,
    ))
}

async fn permission_set(
    State(s): State<AdminState>,
    _a: SetupViewer,
    Path(name): Path<String>,
) -> ApiResult {
    Ok(Json(s.setup.permission_set(&name).await?).into_response())
}

async fn update_permission_set(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
    Body(input): Body<UpdatePermissionSet>,
) -> ApiResult {
    Ok(saved(
        StatusCode::OK,
        s.setup.update_permission_set(&a, &name, &input).await?,
    ))
}

async fn permission_set_assignments(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
    Body(input): Body<byoc_proto::admin::PermissionSetAssignments>,
) -> ApiResult {
    Ok(saved(
        StatusCode::OK,
        s.setup
            .change_permission_set_assignments(&a, &name, &input)
            .await?,
    ))
}

/// Which app collection a route serves: the same handlers serve External Client Apps and
/// connected apps, each instantiated for one kind.
trait AppCollection {
    const KIND: AppKind;
}

struct ExternalClientApps;
impl AppCollection for ExternalClientApps {
    const KIND: AppKind = AppKind::ExternalClientApp;
}

struct ConnectedApps;
impl AppCollection for ConnectedApps {
    const KIND: AppKind = AppKind::ConnectedApp;
}

async fn list_apps<K: AppCollection>(State(s): State<AdminState>, _a: SetupViewer) -> ApiResult {
    let apps: Vec<App> = s
        .setup
        .store()
        .apps(K::KIND)
        .await
        .map_err(ServiceError::from)?
        .into_iter()
        .map(without_secret)
        .collect();
    Ok(Json(apps).into_response())
}

async fn create_app<K: AppCollection>(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Body(input): Body<AppInput>,
) -> ApiResult {
    // The create answer is the one place the consumer secret is shown.
    Ok(saved(
        StatusCode::CREATED,
        s.setup.create_app(&a, K::KIND, &input).await?,
    ))
}

async fn show_app<K: AppCollection>(
    State(s): State<AdminState>,
    _a: SetupViewer,
    Path(name): Path<String>,
) -> ApiResult {
    Ok(Json(without_secret(s.setup.app(K::KIND, &name).await?)).into_response())
}

async fn update_app<K: AppCollection>(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
    Body(input): Body<AppInput>,
) -> ApiResult {
    Ok(saved_app(
        StatusCode::OK,
        s.setup.update_app(&a, K::KIND, &name, &input).await?,
    ))
}

async fn delete_app<K: AppCollection>(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
) -> ApiResult {
    s.setup.delete_app(&a, K::KIND, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn app_policies<K: AppCollection>(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
    Body(input): Body<PolicyInput>,
) -> ApiResult {
    Ok(saved_app(
        StatusCode::OK,
        s.setup.set_policies(&a, K::KIND, &name, &input).await?,
    ))
}

/// Setup's *Consumer Key and Secret*: the one way to read a consumer secret after creation
/// (audited, as the console's reveal button).
async fn consumer_details<K: AppCollection>(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
) -> ApiResult {
    let app = s.setup.reveal_consumer_details(&a, K::KIND, &name).await?;
    Ok(Json(byoc_proto::admin::ConsumerDetails {
        consumer_key: app.oauth.consumer_key,
        consumer_secret: app.oauth.consumer_secret.unwrap_or_default(),
    })
    .into_response())
}

async fn ca_assignments(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
    Body(input): Body<AssignmentChange>,
) -> ApiResult {
    Ok(saved_app(
        StatusCode::OK,
        s.setup
            .change_assignments(&a, AppKind::ConnectedApp, &name, &input)
            .await?,
    ))
}

async fn migrate(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Body(input): Body<MigrateConnectedApp>,
) -> ApiResult {
    Ok(saved_app(
        StatusCode::CREATED,
        s.setup
            .migrate_connected_app(&a, &input.from_connected_app)
            .await?,
    ))
}

async fn channels(State(s): State<AdminState>, _a: SetupViewer) -> ApiResult {
    Ok(Json(
        s.setup
            .store()
            .channels()
            .await
            .map_err(ServiceError::from)?,
    )
    .into_response())
}

async fn channel(
    State(s): State<AdminState>,
    _a: SetupViewer,
    Path(name): Path<String>,
) -> ApiResult {
    Ok(Json(s.setup.channel(&name).await?).into_response())
}

async fn create_channel(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Body(input): Body<NewChannel>,
) -> ApiResult {
    Ok(saved(
        StatusCode::CREATED,
        s.setup.create_channel(&a, &input).await?,
    ))
}

async fn ccd(State(s): State<AdminState>, _a: SetupViewer, Path(dev): Path<String>) -> ApiResult {
    Ok(Json(s.setup.ccd(&dev).await?).into_response())
}

async fn update_ccd(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(dev): Path<String>,
    Body(input): Body<UpdateCcd>,
) -> ApiResult {
    Ok(saved(
        StatusCode::OK,
        s.setup.update_ccd_by_name(&a, &dev, &input).await?,
    ))
}

async fn link_ccd(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(dev): Path<String>,
    Body(input): Body<LinkApp>,
) -> ApiResult {
    Ok(saved(
        StatusCode::OK,
        s.setup.link_ccd(&a, &dev, &input).await?,
    ))
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<i64>,
}

async fn audit(
    State(s): State<AdminState>,
    _a: SetupViewer,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let limit = match query {
        Ok(Query(q)) => q.limit.unwrap_or(100).clamp(1, 10_000),
        Err(e) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "MALFORMED_QUERY",
                e.body_text(),
            ))
        }
    };
    Ok(Json(
        s.setup
            .store()
            .audit_trail(limit)
            .await
            .map_err(ServiceError::from)?,
    )
    .into_response())
}

// ---- platform events (Setup > Platform Events) ---------------------------------------------

async fn platform_events(State(s): State<AdminState>, _a: SetupViewer) -> ApiResult {
    Ok(Json(s.setup.platform_events().await?).into_response())
}

async fn platform_event(
    State(s): State<AdminState>,
    _a: SetupViewer,
    Path(name): Path<String>,
) -> ApiResult {
    Ok(Json(s.setup.platform_event(&name).await?).into_response())
}

async fn create_platform_event(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Body(input): Body<byoc_proto::admin::PlatformEventInput>,
) -> ApiResult {
    Ok(saved(
        StatusCode::CREATED,
        s.setup.create_platform_event(&a, &input).await?,
    ))
}

async fn update_platform_event(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
    Body(input): Body<byoc_proto::admin::PlatformEventInput>,
) -> ApiResult {
    Ok(saved(
        StatusCode::OK,
        s.setup.update_platform_event(&a, &name, &input).await?,
    ))
}

async fn delete_platform_event(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
) -> ApiResult {
    s.setup.delete_platform_event(&a, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn add_platform_event_field(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path(name): Path<String>,
    Body(input): Body<byoc_proto::admin::CustomFieldInput>,
) -> ApiResult {
    Ok(saved(
        StatusCode::CREATED,
        s.setup.add_platform_event_field(&a, &name, &input).await?,
    ))
}

async fn update_platform_event_field(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path((name, field)): Path<(String, String)>,
    Body(input): Body<byoc_proto::admin::CustomFieldInput>,
) -> ApiResult {
    Ok(saved(
        StatusCode::OK,
        s.setup
            .update_platform_event_field(&a, &name, &field, &input)
            .await?,
    ))
}

async fn delete_platform_event_field(
    State(s): State<AdminState>,
    Acting(a): Acting,
    Path((name, field)): Path<(String, String)>,
) -> ApiResult {
    Ok(saved(
        StatusCode::OK,
        s.setup
            .delete_platform_event_field(&a, &name, &field)
            .await?,
    ))
}
