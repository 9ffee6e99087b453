//! The login page (`/`) and the Setup home page with the Quick Find fallback for browsers
//! without JavaScript.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::nav::{Item, SECTIONS};
use super::session::{safe_return, SESSION_COOKIE};
use super::{page, see_other, ConsoleSession, ConsoleState, Layout};

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
    jar: CookieJar,
    Query(q): Query<LoginQuery>,
) -> Response {
    if let Some(id) = jar.get(SESSION_COOKIE) {
        if let Ok(Some(_)) = state.sessions.get(id.value(), state.oauth.now()).await {
            return see_other(&safe_return(q.start_url.as_deref()));
        }
    }
    page(&LoginPage {
        start_url: safe_return(q.start_url.as_deref()),
        username: String::new(),
        error: None,
        assets: super::assets::PREFIX,
    })
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
        .route("/", get(root))
        .route(HOME, get(setup_home))
}
