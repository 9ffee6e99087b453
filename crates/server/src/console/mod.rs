//! The web console (docs/console.md): Salesforce Setup's screens, server-rendered, on the login
//! host.
//!
//! - [`router`] mounts everything: [`session`] (login, `frontdoor.jsp`, cookies, CSRF),
//!   [`assets`] (CSS, the script, vendored htmx — embedded in the binary), [`nav`] (the Setup
//!   tree and Quick Find), and one module per Setup page family.
//! - Pages are askama templates under `crates/server/templates/console/`, each extending
//!   `base.html` with a [`Layout`]. Every form works without JavaScript; scripts only enhance.
//! - Every change goes through [`SetupService`] with the session's [`byoc_core::Actor`], so the
//!   console has the API's rules, refusal messages and audit trail — never its own.

pub mod assets;
pub mod home;
pub mod nav;
pub mod session;

// One module per Setup page family.
pub mod apps;
pub mod audit;
pub mod certificate;
pub mod checklist;
pub mod company;
pub mod connected_apps;
pub mod history;
pub mod messaging;
pub mod permsets;
pub mod profiles;
pub mod users;

// The agent's side and byoc's own tools.
pub mod agent;
pub mod inspector;
pub mod platform_events;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::admin_api::{AdminState, ApiError};
use crate::oauth::OAuthState;
use crate::setup_service::{ServiceError, SetupService};

pub use session::{ConsoleSession, MultipartForm, PostedForm};

/// What every console handler can reach.
#[derive(Clone)]
pub struct ConsoleState {
    pub setup: SetupService,
    pub oauth: OAuthState,
    /// For the admin credential at `frontdoor.jsp` (the same check as the admin API's).
    pub admin: AdminState,
    pub sessions: session::Sessions,
    /// The app list pages' rows ([`apps::AppLists`]).
    pub app_lists: std::sync::Arc<apps::AppLists>,
    /// What the agent console, the inspector and the Pub/Sub pages reach beyond Setup.
    pub org: ConsoleParts,
}

/// The running org's parts the agent console and byoc's tools use.
#[derive(Clone)]
pub struct ConsoleParts {
    /// The agent's actions: the same service as `byoc agent reply|end|route`.
    pub agents: crate::pubsub::agent::AgentService,
    /// Topics, schemas and stored events.
    pub bus: std::sync::Arc<crate::pubsub::bus::EventBus>,
    /// Active subscriptions, for Pub/Sub at a glance.
    pub pubsub: crate::pubsub::PubSubService,
    pub live: crate::live::LiveFeed,
    pub inspector: crate::inspector::Inspector,
}

impl ConsoleState {
    pub fn new(setup: SetupService, oauth: OAuthState, org: ConsoleParts) -> ConsoleState {
        let admin = AdminState::new(setup.clone(), Some(oauth.clone()));
        ConsoleState {
            sessions: session::Sessions::new(setup.store().clone()),
            app_lists: std::sync::Arc::new(apps::AppLists::new(setup.store().clone())),
            setup,
            oauth,
            admin,
            org,
        }
    }
}

/// Every console route, with the console's security headers.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .merge(home::routes())
        .merge(session::routes())
        .merge(assets::routes())
        .merge(apps::routes())
        .merge(audit::routes())
        .merge(certificate::routes())
        .merge(checklist::routes())
        .merge(company::routes())
        .merge(connected_apps::routes())
        .merge(history::routes())
        .merge(messaging::routes())
        .merge(permsets::routes())
        .merge(profiles::routes())
        .merge(users::routes())
        .merge(agent::routes())
        .merge(inspector::routes())
        .merge(platform_events::routes())
        .merge(crate::live::routes())
        // The console's own 404 under its prefixes (static routes win over these catch-alls),
        // so an unknown console path still gets the console's headers, not the API's JSON.
        .route("/lightning/{*rest}", axum::routing::any(not_found))
        .route("/secur/{*rest}", axum::routing::any(not_found))
        .route("/console/{*rest}", axum::routing::any(not_found))
        .layer(axum::middleware::from_fn(session::refuse_cross_site_writes))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// The strict policy of every console answer: scripts and styles only from this origin (no
/// inline code at all), forms only to this origin, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The frame of every page: title, who is logged in (and as whom), the CSRF token for forms in
/// the header, and which Setup tree entry is current.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub username: String,
    /// Set while *Login As* is in force: the administrator who logged in as `username`.
    pub real_username: Option<String>,
    pub csrf: String,
    /// [`nav::Item::key`] of the current page ("" for none).
    pub current: &'static str,
    pub nav: &'static [nav::Section],
    /// [`assets::PREFIX`], for the style sheet and scripts.
    pub assets: &'static str,
    /// `Org clock: <time> (+3h)` when the org clock is not real (`byoc clock`).
    pub org_clock: Option<String>,
}

impl Layout {
    pub fn new(
        session: &ConsoleSession,
        title: impl Into<String>,
        current: &'static str,
    ) -> Layout {
        Layout {
            title: title.into(),
            username: session.record.username.clone(),
            real_username: session.record.real_username.clone(),
            csrf: session.record.csrf.clone(),
            current,
            nav: nav::SECTIONS,
            assets: assets::PREFIX,
            org_clock: session.org_clock.clone(),
        }
    }
}

/// A rendered page (200, HTML).
pub fn page<T: Template>(template: &T) -> Response {
    page_with_status(StatusCode::OK, template)
}

pub fn page_with_status<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
                .into_response()
        }
    }
}

/// `303 See Other` to `to` (the answer to every successful form post, so a reload never posts twice).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// The message a refusal shows: exactly what the admin API answers for it (and so what the CLI
/// prints), with its status for the page that shows it.
pub fn refusal(e: ServiceError) -> (StatusCode, String) {
    let api = ApiError::from(e);
    (api.status(), api.message().to_string())
}

#[derive(Template)]
#[template(path = "console/refused.html")]
struct RefusedPage {
    l: Layout,
    message: String,
}

/// A whole page that shows only a refusal (a page the user may not see, a record that is gone),
/// with the API's message and status.
pub fn refused_page(
    session: &ConsoleSession,
    title: &str,
    current: &'static str,
    e: ServiceError,
) -> Response {
    let (status, message) = refusal(e);
    page_with_status(
        status,
        &RefusedPage {
            l: Layout::new(session, title, current),
            message,
        },
    )
}

/// What a console path no page serves says: the admin API's words for a path no route serves.
pub const NOT_FOUND: &str = "The requested resource does not exist";

/// A console path no page serves: the refusal page with the Setup tree for a logged-in user,
/// plain text otherwise (no redirect to the login page for a page that isn't there).
async fn not_found(
    axum::extract::State(state): axum::extract::State<ConsoleState>,
    mut parts: axum::http::request::Parts,
) -> Response {
    use axum::extract::FromRequestParts;
    match ConsoleSession::from_request_parts(&mut parts, &state).await {
        Ok(session) => page_with_status(
            StatusCode::NOT_FOUND,
            &RefusedPage {
                l: Layout::new(&session, "Page Not Found", ""),
                message: NOT_FOUND.to_string(),
            },
        ),
        Err(_) => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            NOT_FOUND,
        )
            .into_response(),
    }
}

/// Percent-encodes a record name for a URL path segment.
pub fn path_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
