//! Setup > Profiles: the built-in profiles (Setup's *Profile Name*, *User License*, *Custom*)
//! and a profile's page: its user permissions with Setup's labels, its object permissions on
//! platform events, the apps whose policies admit it, and its users. Read-only: byoc's profiles
//! are built in, as the standard profiles of an org are.
//!
//! Reads need what `GET /admin/v1/profiles` needs (*View Setup and Configuration*).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use byoc_core::permissions::builtin_profiles;
use byoc_core::{SetupAction, SetupError};
use byoc_proto::setup::{AppKind, UserPermission};

use super::{page, path_segment, refused_page, ConsoleSession, ConsoleState, Layout};
use crate::setup_service::ServiceError;

const KEY: &str = "profiles";
const TITLE: &str = "Profiles";
pub const HOME: &str = "/lightning/setup/EnhancedProfiles/home";
/// Every byoc user has a full Salesforce license.
const USER_LICENSE: &str = "Salesforce";

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(HOME, get(list))
        .route("/lightning/setup/EnhancedProfiles/{id}/view", get(show))
}

pub fn profile_href(id: &str) -> String {
    format!(
        "/lightning/setup/EnhancedProfiles/{}/view",
        path_segment(id)
    )
}

struct Row {
    name: String,
    href: String,
}

#[derive(Template)]
#[template(path = "console/people/profiles.html")]
struct ListPage {
    l: Layout,
    rows: Vec<Row>,
    license: &'static str,
}

async fn list(session: ConsoleSession) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, TITLE, KEY, e.into());
    }
    let rows = builtin_profiles()
        .into_iter()
        .map(|p| Row {
            href: profile_href(&p.id),
            name: p.name,
        })
        .collect();
    page(&ListPage {
        l: Layout::new(&session, TITLE, KEY),
        rows,
        license: USER_LICENSE,
    })
}

pub struct Permission {
    pub label: &'static str,
    pub enabled: bool,
}

/// Every user permission byoc models, with Setup's label and whether `have` grants it.
pub fn permission_rows(have: &[UserPermission]) -> Vec<Permission> {
    UserPermission::ALL
        .iter()
        .map(|p| Permission {
            label: p.label(),
            enabled: have.contains(p),
        })
        .collect()
}

pub struct ObjectRow {
    pub object: String,
    pub read: bool,
    pub create: bool,
}

struct AppRow {
    name: String,
    kind: &'static str,
    href: String,
    permitted: &'static str,
}

struct UserRow {
    username: String,
    href: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "console/people/profile.html")]
struct ProfilePage {
    l: Layout,
    license: &'static str,
    permissions: Vec<Permission>,
    objects: Vec<ObjectRow>,
    modify_all: bool,
    apps: Vec<AppRow>,
    users: Vec<UserRow>,
    back: &'static str,
}

async fn show(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, TITLE, KEY, e.into());
    }
    let Some(profile) = builtin_profiles()
        .into_iter()
        .find(|p| p.id == id || p.name.eq_ignore_ascii_case(&id))
    else {
        let e = SetupError::NotFound {
            kind: "Profile",
            name: id,
        };
        return refused_page(&session, TITLE, KEY, e.into());
    };
    let store = state.setup.store();
    let (apps, users) = match (
        async {
            let mut all = store.apps(AppKind::ExternalClientApp).await?;
            all.extend(store.apps(AppKind::ConnectedApp).await?);
            Ok::<_, byoc_store::StoreError>(all)
        }
        .await,
        store.users().await,
    ) {
        (Ok(a), Ok(u)) => (a, u),
        (Err(e), _) | (_, Err(e)) => {
            return refused_page(&session, TITLE, KEY, ServiceError::from(e))
        }
    };
    let apps = apps
        .into_iter()
        .filter(|a| {
            a.policies
                .profiles
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&profile.name))
        })
        .map(|a| AppRow {
            href: match a.kind {
                AppKind::ExternalClientApp => super::apps::app_href(&a.name),
                AppKind::ConnectedApp => super::connected_apps::app_href(&a.name),
            },
            kind: a.kind.label(),
            permitted: a.policies.permitted_users.label(),
            name: a.name,
        })
        .collect();
    let users = users
        .into_iter()
        .filter(|u| u.profile.eq_ignore_ascii_case(&profile.name))
        .map(|u| UserRow {
            href: format!(
                "/lightning/setup/ManageUsers/{}/view",
                path_segment(&u.username)
            ),
            username: u.username,
            active: u.is_active,
        })
        .collect();
    page(&ProfilePage {
        l: Layout::new(&session, profile.name.clone(), KEY),
        license: USER_LICENSE,
        modify_all: profile.permissions.contains(&UserPermission::ModifyAllData),
        permissions: permission_rows(&profile.permissions),
        objects: profile
            .object_permissions
            .iter()
            .map(|o| ObjectRow {
                object: o.object.clone(),
                read: o.allow_read,
                create: o.allow_create,
            })
            .collect(),
        apps,
        users,
        back: HOME,
    })
}
