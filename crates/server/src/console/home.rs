//! The login page (`/`: username and password, as Salesforce's) and the Setup home page with the
//! Quick Find fallback for browsers without JavaScript.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use byoc_core::oauth::MAX_IDENTIFIER_CHARS;
use byoc_proto::oauth::{LoginHistoryEntry, LoginStatus};
use serde::Deserialize;

use super::nav::{Item, SECTIONS};
use super::session::{safe_return, session_cookie, Refused};
use super::{page, see_other, ConsoleSession, ConsoleState, Layout};

/// What Salesforce's login page says for a wrong username, a wrong password or an inactive user
/// alike: it never tells which.
pub const LOGIN_REFUSED: &str = "Please check your username and password. If you still can't log in, contact your Salesforce administrator.";

/// Salesforce's *Login Type* of a login through the login page.
pub const UI_LOGIN_TYPE: &str = "Application";
/// Salesforce's *Application* of a login through the login page.
pub const UI_APPLICATION: &str = "Browser";

/// Where a login lands when no `startURL` says otherwise.
pub const HOME: &str = "/lightning/setup/SetupOneHome/home";

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(rename = "startURL")]
    pub start_url: Option<String>,
}

#[derive(Template)]
#[template(path = "console/login.html")]
pub struct LoginPage {
    pub start_url: String,
    pub username: String,
    pub error: Option<String>,
    pub assets: &'static str,
}

/// `/`: the console for a logged-in browser, the login page otherwise.
async fn root(
    State(state): State<ConsoleState>,
    mut parts: Parts,
    Query(q): Query<LoginQuery>,
) -> Response {
    // A live session of an active user goes on; anything else (no cookie, expired, user
    // deactivated since) sees the login page, never a redirect loop.
    if ConsoleSession::from_request_parts(&mut parts, &state)
        .await
        .is_ok()
    {
        return see_other(&safe_return(q.start_url.as_deref()));
    }
    page(&LoginPage {
        start_url: safe_return(q.start_url.as_deref()),
        username: String::new(),
        error: None,
        assets: super::assets::PREFIX,
    })
}

/// `POST /` (*Log In*): checks the password, starts a session in the database, sets the cookie
/// and goes to `startURL`. A refusal shows the login page again with the username kept.
async fn log_in(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = crate::oauth::form_params(&body).unwrap_or_default();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let username = field("username").trim().to_string();
    let password = field("pw").to_string();
    let start_url = safe_return(Some(field("startURL")));
    let now = state.oauth.now();
    let user = if username.is_empty() || password.is_empty() {
        None
    } else {
        match state.setup.check_password(&username, &password).await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "console login could not read the user");
                return Refused::Internal.into_response();
            }
        }
    };
    let source_ip = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        // As the token endpoint records it: a proxy's address, not whatever a client sends.
        .filter(|v| !v.is_empty() && v.len() <= 64);
    let Some(user) = user else {
        if !username.is_empty() {
            let known = state.setup.user(&username).await.ok();
            record_login(
                &state,
                LoginHistoryEntry {
                    login_time: now,
                    // At most what the token endpoint records of a `sub`: a login form posted
                    // by anyone must not put megabytes in the history.
                    username: username.chars().take(MAX_IDENTIFIER_CHARS).collect(),
                    user_id: known.map(|u| u.id),
                    application: Some(UI_APPLICATION.into()),
                    consumer_key: None,
                    login_type: UI_LOGIN_TYPE.into(),
                    status: LoginStatus::Failed,
                    error: Some("Invalid Password".into()),
                    error_description: Some(LOGIN_REFUSED.into()),
                    diagnosis: Some("The username is unknown, the user is inactive, or the password is wrong: an admin can set a new one in Setup > Users (Set Password or Reset Password, or `byoc setup user password`).".into()),
                    source_ip,
                },
            )
            .await;
        }
        return page(&LoginPage {
            start_url,
            username,
            error: Some(LOGIN_REFUSED.into()),
            assets: super::assets::PREFIX,
        });
    };
    let (id, _) = match state.sessions.create(&user.username, None, now).await {
        Ok(created) => created,
        Err(e) => {
            tracing::error!(error = %e, "console session could not be created");
            return Refused::Internal.into_response();
        }
    };
    record_login(
        &state,
        LoginHistoryEntry {
            login_time: now,
            username: user.username.clone(),
            user_id: Some(user.id.clone()),
            application: Some(UI_APPLICATION.into()),
            consumer_key: None,
            login_type: UI_LOGIN_TYPE.into(),
            status: LoginStatus::Success,
            error: None,
            error_description: None,
            diagnosis: None,
            source_ip,
        },
    )
    .await;
    (jar.add(session_cookie(id)), see_other(&start_url)).into_response()
}

/// Login History gets console logins beside token requests, through the same batched writer.
async fn record_login(state: &ConsoleState, entry: LoginHistoryEntry) {
    state.oauth.0.history.record(entry).await;
}

#[derive(Deserialize, Default)]
struct FindQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    l: Layout,
    q: String,
    found: Vec<&'static Item>,
}

async fn setup_home(session: ConsoleSession, Query(f): Query<FindQuery>) -> Response {
    let q = f.q.unwrap_or_default();
    let found = SECTIONS
        .iter()
        .flat_map(|s| s.items.iter().filter(|i| i.matches(s, &q)))
        .collect();
    page(&HomePage {
        l: Layout::new(&session, "Setup Home", ""),
        q,
        found,
    })
}

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/", get(root).post(log_in))
        .route(HOME, get(setup_home))
}
