//! Setup > Company Information: the org's name, its id in both forms (15 characters, as Setup
//! shows it and as `SF_ORG_ID` takes it; 18 characters, case-insensitive), My Domain, this
//! server's URLs, and the org settings — read-only here, changed where Setup changes them.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use byoc_core::SetupAction;
use byoc_proto::setup::Org;

use super::messaging::date_time;
use super::{page, refused_page, ConsoleSession, ConsoleState, Layout};

const KEY: &str = "company";
const TITLE: &str = "Company Information";
pub const HOME: &str = "/lightning/setup/CompanyProfileInfo/home";
/// Where *Allow creation of connected apps* is changed (External Client Apps > Settings).
pub const ORG_SETTINGS_HREF: &str = super::connected_apps::SETTINGS;

#[derive(Template)]
#[template(path = "console/org/company.html")]
struct CompanyPage {
    l: Layout,
    org: Org,
    created: String,
    login_url: String,
    instance_url: String,
    audiences: Vec<String>,
    strict: bool,
    settings_href: &'static str,
}

pub fn routes() -> Router<ConsoleState> {
    Router::new().route(HOME, get(show))
}

async fn show(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, TITLE, KEY, e.into());
    }
    let org = match state.setup.org().await {
        Ok(org) => org,
        Err(e) => return refused_page(&session, TITLE, KEY, e),
    };
    let oauth = &state.oauth.0;
    page(&CompanyPage {
        l: Layout::new(&session, TITLE, KEY),
        created: date_time(org.created_at),
        org,
        login_url: oauth.login_url.clone(),
        instance_url: oauth.instance_url.clone(),
        audiences: oauth.audiences.clone(),
        strict: oauth.strict,
        settings_href: ORG_SETTINGS_HREF,
    })
}
