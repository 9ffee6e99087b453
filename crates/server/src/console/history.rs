//! Setup > Login History: every token request, newest first, with Setup's columns plus byoc's
//! diagnosis of each failure and the command or console page that fixes it.
//!
//! Reads need what `GET /admin/v1/login-history` needs (*Manage Users*, which byoc maps to
//! *Manage Profiles and Permission Sets*). Pages are keyset-paginated on the row's `seq` (the
//! table's primary key), so page 200 of a large history costs what page 1 does; *Next* and
//! *Previous* are plain GET links carrying the cursor and the filters.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use byoc_core::SetupAction;
use byoc_proto::oauth::{LoginHistoryEntry, LoginStatus};
use byoc_store::oauth::LoginHistoryFilter;
use byoc_store::Page;
use serde::Deserialize;

use super::messaging::date_time;
use super::nav::SECTIONS;
use super::{page, refused_page, ConsoleSession, ConsoleState, Layout};
use crate::setup_service::ServiceError;

const KEY: &str = "login-history";
const TITLE: &str = "Login History";
pub const HOME: &str = "/lightning/setup/OrgLoginHistory/home";

/// Rows per page when the link doesn't say (Setup shows its history in pages too).
const DEFAULT_PAGE_SIZE: i64 = 50;
const PAGE_SIZES: [i64; 2] = [50, 100];

pub fn routes() -> Router<ConsoleState> {
    Router::new().route(HOME, get(list))
}

/// The GET parameters. Everything is text so that a mangled link shows the first page rather
/// than an extractor's error.
#[derive(Deserialize, Default)]
struct HistoryQuery {
    before: Option<String>,
    after: Option<String>,
    username: Option<String>,
    status: Option<String>,
    size: Option<String>,
}

/// What fixes a failure: the command in the diagnosis, and the console page for it.
#[derive(Debug, PartialEq, Eq)]
pub struct Fix {
    pub command: Option<String>,
    pub page: Option<(String, String)>,
}

fn nav_page(key: &str) -> Option<(String, String)> {
    SECTIONS
        .iter()
        .flat_map(|s| s.items.iter())
        .find(|i| i.key == key)
        .map(|i| (i.label.to_string(), i.href.to_string()))
}

/// The fix for one diagnosis (the token endpoint's text, see `byoc_core::oauth`): the `byoc …`
/// command it names, and the Setup page where the same change is made.
pub fn fix_for(diagnosis: &str, application: Option<&str>) -> Fix {
    let command = diagnosis.find("byoc ").map(|start| {
        let rest = &diagnosis[start..];
        let end = rest.find(')').unwrap_or(rest.len());
        let cmd = rest[..end].trim();
        cmd.strip_suffix(" shows them")
            .or_else(|| cmd.strip_suffix(" creates one"))
            .unwrap_or(cmd)
            .to_string()
    });
    let connected = diagnosis.contains("setup connected-app");
    let app_page = |label: &str| -> Option<(String, String)> {
        match application {
            Some(name) if connected => Some((
                format!("{label}: {name}"),
                super::connected_apps::app_href(name),
            )),
            Some(name) => Some((format!("{label}: {name}"), super::apps::app_href(name))),
            None if connected => nav_page("connected-apps"),
            None => nav_page("eca-manager"),
        }
    };
    let page = if diagnosis.contains("byoc cert new") {
        nav_page("certificate")
    } else if diagnosis.contains("is inactive") || diagnosis.starts_with("sub ") {
        nav_page("users")
    } else if diagnosis.contains("iss is not the consumer key") || diagnosis.starts_with("iss ") {
        if connected {
            nav_page("connected-apps")
        } else {
            nav_page("eca-manager")
        }
    } else if connected || diagnosis.contains("setup eca") {
        app_page(if connected {
            "Manage Connected Apps"
        } else {
            "External Client App Manager"
        })
    } else {
        None
    };
    Fix { command, page }
}

struct Row {
    login_time: String,
    username: String,
    source_ip: String,
    login_type: String,
    status: String,
    failed: bool,
    application: String,
    diagnosis: String,
    fix: Option<Fix>,
}

impl Row {
    fn new(e: LoginHistoryEntry) -> Row {
        let failed = e.status == LoginStatus::Failed;
        // Setup's *Status* column: `Success`, or `Failed: <reason>`.
        let status = match (&e.status, &e.error_description, &e.error) {
            (LoginStatus::Success, ..) => "Success".to_string(),
            (_, Some(d), _) if !d.is_empty() => format!("Failed: {d}"),
            (_, _, Some(err)) => format!("Failed: {err}"),
            _ => "Failed".to_string(),
        };
        let fix = e
            .diagnosis
            .as_deref()
            .filter(|_| failed)
            .map(|d| fix_for(d, e.application.as_deref()));
        Row {
            login_time: date_time(e.login_time),
            username: e.username,
            source_ip: e.source_ip.unwrap_or_default(),
            login_type: e.login_type,
            status,
            failed,
            application: e.application.unwrap_or_default(),
            diagnosis: e.diagnosis.filter(|_| failed).unwrap_or_default(),
            fix,
        }
    }
}

#[derive(Template)]
#[template(path = "console/people/history.html")]
struct HistoryPage {
    l: Layout,
    rows: Vec<Row>,
    username: String,
    status: String,
    size: i64,
    sizes: [i64; 2],
    action: &'static str,
    previous: Option<String>,
    next: Option<String>,
    error: Option<String>,
}

fn cursor(s: &Option<String>) -> Option<i64> {
    s.as_deref().and_then(|v| v.trim().parse::<i64>().ok())
}

/// A link to another page of the same view.
fn link(q: &HistoryQuery, size: i64, page: Page) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    match page {
        Page::First => {}
        Page::Before(seq) => {
            url.append_pair("before", &seq.to_string());
        }
        Page::After(seq) => {
            url.append_pair("after", &seq.to_string());
        }
    }
    if let Some(u) = q.username.as_deref().filter(|u| !u.trim().is_empty()) {
        url.append_pair("username", u.trim());
    }
    if let Some(s) = q.status.as_deref().filter(|s| !s.trim().is_empty()) {
        url.append_pair("status", s.trim());
    }
    if size != DEFAULT_PAGE_SIZE {
        url.append_pair("size", &size.to_string());
    }
    let query = url.finish();
    if query.is_empty() {
        HOME.to_string()
    } else {
        format!("{HOME}?{query}")
    }
}

async fn list(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    q: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ManageUsers) {
        return refused_page(&session, TITLE, KEY, e.into());
    }
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let size = q
        .size
        .as_deref()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|s| PAGE_SIZES.contains(s))
        .unwrap_or(DEFAULT_PAGE_SIZE);
    let page_wanted = match (cursor(&q.before), cursor(&q.after)) {
        (Some(b), _) => Page::Before(b),
        (None, Some(a)) => Page::After(a),
        _ => Page::First,
    };
    let username = q.username.clone().unwrap_or_default().trim().to_string();
    let status_text = q.status.clone().unwrap_or_default().trim().to_string();
    let mut error = None;
    let status = if status_text.is_empty() {
        None
    } else {
        match LoginStatus::parse(&status_text) {
            Some(s) => Some(s),
            None => {
                // The admin API's answer for the same filter.
                error = Some(format!(
                    "status must be Success or Failed, not {status_text:?}"
                ));
                None
            }
        }
    };
    // One row more than shown tells whether there is a page beyond this one.
    let filter = LoginHistoryFilter {
        limit: size + 1,
        username: (!username.is_empty()).then(|| username.clone()),
        app: None,
        status,
    };
    let mut rows = match state
        .setup
        .store()
        .repo()
        .login_history_page(&filter, page_wanted)
        .await
    {
        Ok(r) => r,
        Err(e) => return refused_page(&session, TITLE, KEY, ServiceError::from(e)),
    };
    let more = rows.len() as i64 > size;
    if more {
        // The extra row is the oldest when reading older rows, the newest when reading newer ones.
        match page_wanted {
            Page::After(_) => {
                rows.remove(0);
            }
            _ => {
                rows.pop();
            }
        }
    }
    let (newest, oldest) = (rows.first().map(|r| r.0), rows.last().map(|r| r.0));
    let (previous, next) = match page_wanted {
        Page::First => (None, more.then_some(()).and(oldest).map(Page::Before)),
        Page::Before(_) => (
            newest.map(Page::After),
            more.then_some(()).and(oldest).map(Page::Before),
        ),
        Page::After(_) => (
            more.then_some(()).and(newest).map(Page::After),
            oldest.map(Page::Before),
        ),
    };
    let previous = previous.map(|p| link(&q, size, p));
    let next = next.map(|p| link(&q, size, p));
    page(&HistoryPage {
        l: Layout::new(&session, TITLE, KEY),
        rows: rows.into_iter().map(|(_, e)| Row::new(e)).collect(),
        username,
        status: status_text,
        size,
        sizes: PAGE_SIZES,
        action: HOME,
        previous,
        next,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_diagnosis_names_its_command_and_page() {
        let f = fix_for("sub \"x@y\" is not a username of this org; set sub to an existing username (byoc setup user create --username U --profile P creates one)", None);
        assert_eq!(
            f.command.as_deref(),
            Some("byoc setup user create --username U --profile P")
        );
        assert_eq!(f.page.unwrap().1, "/lightning/setup/ManageUsers/home");
        let f = fix_for("the app's Permitted Users policy is *All users may self-authorize* and the JWT Bearer flow has no prior approval; set it to *Admin approved users are pre-authorized* and assign the user's profile (byoc setup eca policies Acme --permitted-users admin-approved --profile \"Standard User\")", Some("Acme"));
        assert!(f
            .command
            .unwrap()
            .starts_with("byoc setup eca policies Acme"));
        assert_eq!(
            f.page.unwrap().1,
            "/lightning/setup/ManageExternalClientApplication/Acme/view"
        );
        let f = fix_for("the assertion expired: exp is 1 and now is 2; set exp a few minutes ahead when you sign", None);
        assert_eq!(
            f,
            Fix {
                command: None,
                page: None
            }
        );
        let f = fix_for("iss is not the consumer key of any External Client App or connected app of this org; set iss to the app's consumer key (byoc setup eca list shows them)", None);
        assert_eq!(f.command.as_deref(), Some("byoc setup eca list"));
        assert_eq!(
            f.page.unwrap().1,
            "/lightning/setup/ManageExternalClientApplication/home"
        );
    }
}
