//! Setup Checklist: the help page's setup for one messaging channel, one app and one integration
//! user, each step ✓ Done or ✗ Not done (in words too, never color alone), each step not done
//! with what is wrong and a link to the console page that fixes it. The choice is a GET form, so
//! it works without JavaScript and a checklist can be bookmarked.
//!
//! The checks are [`byoc_core::checklist::check`]: the ones `byoc doctor` makes that the server
//! can decide from its records (the token exchange needs the connector's private key, so it
//! stays `byoc doctor`'s). Reading needs *View Setup and Configuration*, as the admin API's reads.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use byoc_core::checklist::{self, Fix, Status};
use byoc_core::SetupAction;
use byoc_proto::setup::{App, AppKind, MessagingChannel};
use serde::Deserialize;

use super::messaging::{ccd_href, channel_href};
use super::{page, path_segment, refused_page, ConsoleSession, ConsoleState, Layout};
use crate::setup_service::ServiceError;

const KEY: &str = "checklist";
const TITLE: &str = "Setup Checklist";
pub const HOME: &str = "/lightning/setup/ByocChecklist/home";

// The app pages are the apps modules' routes under these bases: `<api name>/edit`,
// `/policies/edit` (External Client Apps), `/view`, `/policies`, `/profiles`, `/migrate`
// (connected apps).
const ECA_BASE: &str = super::apps::BASE;
const CA_BASE: &str = super::connected_apps::BASE;
const USERS: &str = "/lightning/setup/ManageUsers/home";
const PERMISSION_SETS: &str = "/lightning/setup/PermSets/home";

#[derive(Deserialize, Default)]
struct Choice {
    channel: Option<String>,
    /// `ExternalClientApp:<API name>` or `ConnectedApp:<API name>`.
    app: Option<String>,
    user: Option<String>,
}

struct Opt {
    value: String,
    label: String,
    selected: bool,
}

struct Link {
    label: &'static str,
    href: String,
}

struct Line {
    title: &'static str,
    /// `✓`, `✗` or `!`.
    mark: &'static str,
    /// `Done`, `Not done` or `Note`.
    word: &'static str,
    class: &'static str,
    detail: String,
    links: Vec<Link>,
}

#[derive(Template)]
#[template(path = "console/org/checklist.html")]
struct ChecklistPage {
    l: Layout,
    channels: Vec<Opt>,
    apps_eca: Vec<Opt>,
    apps_ca: Vec<Opt>,
    users: Vec<Opt>,
    lines: Vec<Line>,
    /// The summary above the steps ("" before a channel and an app are chosen).
    summary: String,
    all_done: bool,
    action: &'static str,
    doctor: &'static str,
}

pub fn routes() -> Router<ConsoleState> {
    Router::new().route(HOME, get(show))
}

fn app_value(app: &App) -> String {
    let kind = match app.kind {
        AppKind::ExternalClientApp => "ExternalClientApp",
        AppKind::ConnectedApp => "ConnectedApp",
    };
    format!("{kind}:{}", app.api_name)
}

fn app_base(kind: AppKind) -> &'static str {
    match kind {
        AppKind::ExternalClientApp => ECA_BASE,
        AppKind::ConnectedApp => CA_BASE,
    }
}

/// The links that fix a step.
fn links(step_id: &str, fix: &Fix) -> Vec<Link> {
    let app_page = |kind: AppKind, api: &str, tail: &str| {
        format!("{}/{}/{tail}", app_base(kind), path_segment(api))
    };
    let mut out = match fix {
        Fix::Certificate => vec![Link {
            label: "Certificate Helper",
            href: super::certificate::HOME.into(),
        }],
        Fix::AppSettings { kind, api_name } => vec![match kind {
            AppKind::ExternalClientApp => Link {
                label: "Edit the External Client App",
                href: app_page(*kind, api_name, "edit"),
            },
            AppKind::ConnectedApp => Link {
                label: "Open the connected app",
                href: app_page(*kind, api_name, "view"),
            },
        }],
        Fix::AppPolicies { kind, api_name } => vec![match (kind, step_id) {
            (AppKind::ExternalClientApp, _) => Link {
                label: "Edit Policies",
                href: app_page(*kind, api_name, "policies/edit"),
            },
            (AppKind::ConnectedApp, "profile") => Link {
                label: "Manage Profiles",
                href: app_page(*kind, api_name, "profiles"),
            },
            (AppKind::ConnectedApp, _) => Link {
                label: "Edit Policies",
                href: app_page(*kind, api_name, "policies"),
            },
        }],
        Fix::Migrate { api_name } => vec![Link {
            label: "Migrate to an External Client App",
            href: app_page(AppKind::ConnectedApp, api_name, "migrate"),
        }],
        Fix::Channel { name } => vec![Link {
            label: "Open the messaging channel",
            href: channel_href(name),
        }],
        Fix::LinkCcd { channel } => vec![Link {
            label: "Manage Conversation Channel Definition",
            href: ccd_href(channel),
        }],
        Fix::User { .. } => vec![Link {
            label: "Users",
            href: USERS.into(),
        }],
        Fix::PermissionSets => vec![Link {
            label: "Permission Sets",
            href: PERMISSION_SETS.into(),
        }],
        Fix::OrgSettings => vec![Link {
            label: "External Client App Settings",
            href: super::company::ORG_SETTINGS_HREF.into(),
        }],
    };
    // A certificate that is missing or expired is made on the Certificate Helper first.
    if step_id == "jwt" {
        out.push(Link {
            label: "Certificate Helper",
            href: super::certificate::HOME.into(),
        });
    }
    out
}

fn line(step: checklist::Step) -> Line {
    let (mark, word, class) = match step.status {
        Status::Done => ("✓", "Done", "ok"),
        Status::NotDone => ("✗", "Not done", "fail"),
        Status::Note => ("!", "Note", "note"),
    };
    Line {
        title: step.title,
        mark,
        word,
        class,
        links: step
            .fix
            .as_ref()
            .map(|f| links(step.id, f))
            .unwrap_or_default(),
        detail: step.detail,
    }
}

/// The default channel: the first BYOC one (the checklist is about BYOC).
fn default_channel(channels: &[MessagingChannel]) -> Option<&MessagingChannel> {
    channels
        .iter()
        .find(|c| c.conversation_channel_definition.is_some())
        .or_else(|| channels.first())
}

async fn show(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Query(q): Query<Choice>,
) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, TITLE, KEY, e.into());
    }
    match build(&state, &session, q).await {
        Ok(p) => page(&p),
        Err(e) => refused_page(&session, TITLE, KEY, e),
    }
}

async fn build(
    state: &ConsoleState,
    session: &ConsoleSession,
    q: Choice,
) -> Result<ChecklistPage, ServiceError> {
    let store = state.setup.store();
    let org = state.setup.org().await?;
    let mut channels = store.channels().await?;
    channels.sort_by_key(|c| c.name.to_lowercase());
    let mut apps = store.apps(AppKind::ExternalClientApp).await?;
    apps.extend(store.apps(AppKind::ConnectedApp).await?);
    apps.sort_by_key(|a| a.name.to_lowercase());
    let mut users = store.users().await?;
    users.sort_by_key(|u| u.username.to_lowercase());
    let permission_sets = store.permission_sets().await?;

    let channel = match q.channel.as_deref().filter(|c| !c.is_empty()) {
        Some(name) => channels.iter().find(|c| c.name == name),
        None => default_channel(&channels),
    };
    // The app: as chosen, else the one the channel's CCD names, else the first ECA.
    let linked = channel
        .and_then(|c| c.conversation_channel_definition.as_ref())
        .and_then(|d| d.linked_app.as_ref());
    let app = match q.app.as_deref().filter(|a| !a.is_empty()) {
        Some(v) => apps.iter().find(|a| app_value(a) == v),
        None => linked
            .and_then(|l| apps.iter().find(|a| a.kind == l.kind && a.id == l.id))
            .or_else(|| apps.iter().find(|a| a.kind == AppKind::ExternalClientApp)),
    };
    let username = q
        .user
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| session.record.username.clone());
    let user = users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(&username));

    let (lines, summary, all_done) = match (channel, app) {
        (Some(channel), Some(app)) => {
            let steps = checklist::check(&checklist::Input {
                org: &org,
                channel,
                app,
                user,
                permission_sets: &permission_sets,
                now_millis: state.oauth.now(),
            });
            let all = checklist::all_done(&steps);
            let open = steps.iter().filter(|s| s.status == Status::NotDone).count();
            let summary = if all {
                format!(
                    "All steps are done for {} with {}.",
                    channel.name, app.name
                )
            } else if open == 1 {
                "1 step is not done.".to_string()
            } else {
                format!("{open} steps are not done.")
            };
            (steps.into_iter().map(line).collect(), summary, all)
        }
        (None, _) => (
            Vec::new(),
            "Choose a messaging channel (create one in Messaging Settings).".to_string(),
            false,
        ),
        (_, None) => (
            Vec::new(),
            "Choose an External Client App or connected app (create one in External Client App Manager).".to_string(),
            false,
        ),
    };

    let opt = |value: String, label: String, selected: bool| Opt {
        value,
        label,
        selected,
    };
    let chosen_app = app.map(app_value).unwrap_or_default();
    let app_opts = |kind: AppKind| -> Vec<Opt> {
        apps.iter()
            .filter(|a| a.kind == kind)
            .map(|a| {
                let v = app_value(a);
                let selected = v == chosen_app;
                opt(v, a.name.clone(), selected)
            })
            .collect()
    };
    Ok(ChecklistPage {
        l: Layout::new(session, TITLE, KEY),
        channels: channels
            .iter()
            .map(|c| {
                opt(
                    c.name.clone(),
                    format!("{} ({})", c.name, c.channel_type.label()),
                    channel.is_some_and(|x| x.id == c.id),
                )
            })
            .collect(),
        apps_eca: app_opts(AppKind::ExternalClientApp),
        apps_ca: app_opts(AppKind::ConnectedApp),
        users: users
            .iter()
            .map(|u| {
                opt(
                    u.username.clone(),
                    format!("{} ({})", u.username, u.profile),
                    user.is_some_and(|x| x.id == u.id),
                )
            })
            .collect(),
        lines,
        summary,
        all_done,
        action: HOME,
        doctor: "byoc doctor",
    })
}
