//! Setup > Permission Sets: the list, *New*, and a permission set's page with **System
//! Permissions** and **Object Settings** (platform events: Read/Create), each with *Edit*, and
//! **Manage Assignments** (which users have the set).
//!
//! Reads need what the admin API's reads need (*View Setup and Configuration*). Every save goes
//! through [`SetupService`](crate::setup_service::SetupService) as the session's user. Edit
//! forms carry the version of the set they showed
//! ([`permission_set_version`]); a save after someone else changed the set is refused with the
//! admin API's conflict (409) message, and the form shows what the user checked.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use byoc_core::setup::DEFAULT_PLATFORM_EVENT;
use byoc_core::SetupAction;
use byoc_proto::admin::{NewPermissionSet, PermissionSetAssignments, UpdatePermissionSet};
use byoc_proto::setup::{ObjectPermissions, PermissionSet, UserPermission};

use super::profiles::{permission_rows, ObjectRow, Permission};
use super::{
    page, page_with_status, path_segment, refusal, refused_page, see_other, ConsoleSession,
    ConsoleState, Layout, PostedForm,
};
use crate::setup_service::{permission_set_version, ServiceError};

const KEY: &str = "permsets";
const TITLE: &str = "Permission Sets";
pub const HOME: &str = "/lightning/setup/PermSets/home";
pub const NEW: &str = "/lightning/setup/PermSets/new";

/// The most rows an edit form posts (objects, users).
const MAX_ROWS: usize = 10_000;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(HOME, get(list))
        .route(NEW, get(new_form).post(create))
        .route("/lightning/setup/PermSets/{name}/view", get(show))
        .route(
            "/lightning/setup/PermSets/{name}/system",
            get(system_form).post(save_system),
        )
        .route(
            "/lightning/setup/PermSets/{name}/objects",
            get(objects_form).post(save_objects),
        )
        .route(
            "/lightning/setup/PermSets/{name}/assignments",
            get(assignments_form).post(save_assignments),
        )
}

pub fn permset_href(name: &str, action: &str) -> String {
    format!("/lightning/setup/PermSets/{}/{action}", path_segment(name))
}

#[allow(clippy::result_large_err)]
fn may_view(session: &ConsoleSession, title: &str) -> Result<(), Response> {
    session
        .actor
        .authorize(SetupAction::ViewSetup)
        .map_err(|e| refused_page(session, title, KEY, e.into()))
}

async fn load(
    state: &ConsoleState,
    session: &ConsoleSession,
    name: &str,
) -> Result<PermissionSet, Response> {
    may_view(session, TITLE)?;
    state
        .setup
        .permission_set(name)
        .await
        .map_err(|e| refused_page(session, TITLE, KEY, e))
}

// ---- list ----------------------------------------------------------------------------------

struct Row {
    label: String,
    name: String,
    href: String,
    users: usize,
}

#[derive(Template)]
#[template(path = "console/people/permsets.html")]
struct ListPage {
    l: Layout,
    rows: Vec<Row>,
    new_href: &'static str,
}

async fn list(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Err(r) = may_view(&session, TITLE) {
        return r;
    }
    let store = state.setup.store();
    let (sets, users) = match (store.permission_sets().await, store.users().await) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(e), _) | (_, Err(e)) => {
            return refused_page(&session, TITLE, KEY, ServiceError::from(e))
        }
    };
    let rows = sets
        .into_iter()
        .map(|ps| Row {
            href: permset_href(&ps.name, "view"),
            users: users
                .iter()
                .filter(|u| {
                    u.permission_sets
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(&ps.name))
                })
                .count(),
            label: ps.label,
            name: ps.name,
        })
        .collect();
    page(&ListPage {
        l: Layout::new(&session, TITLE, KEY),
        rows,
        new_href: NEW,
    })
}

// ---- New -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/people/permset_new.html")]
struct NewPage {
    l: Layout,
    label: String,
    api_name: String,
    error: Option<String>,
    action: &'static str,
    cancel: &'static str,
}

async fn new_form(session: ConsoleSession) -> Response {
    if let Err(r) = may_view(&session, "Create Permission Set") {
        return r;
    }
    page(&NewPage {
        l: Layout::new(&session, "Create Permission Set", KEY),
        label: String::new(),
        api_name: String::new(),
        error: None,
        action: NEW,
        cancel: HOME,
    })
}

async fn create(State(state): State<ConsoleState>, form: PostedForm) -> Response {
    let label = form.get("label").to_string();
    let api_name = form.get("api_name").trim().to_string();
    let input = NewPermissionSet {
        name: api_name.clone(),
        label: Some(label.clone()),
        permissions: vec![],
        object_permissions: vec![],
    };
    match state
        .setup
        .create_permission_set(&form.session.actor, &input)
        .await
    {
        Ok(out) => see_other(&permset_href(&out.record.name, "view")),
        Err(e) => {
            let (status, message) = refusal(e);
            page_with_status(
                status,
                &NewPage {
                    l: Layout::new(&form.session, "Create Permission Set", KEY),
                    label,
                    api_name,
                    error: Some(message),
                    action: NEW,
                    cancel: HOME,
                },
            )
        }
    }
}

// ---- the permission set's page -------------------------------------------------------------

struct UserRow {
    username: String,
    href: String,
    profile: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "console/people/permset.html")]
struct ViewPage {
    l: Layout,
    ps: PermissionSet,
    permissions: Vec<Permission>,
    objects: Vec<ObjectRow>,
    users: Vec<UserRow>,
    system_href: String,
    objects_href: String,
    assignments_href: String,
    back: &'static str,
}

fn object_rows(ps: &PermissionSet) -> Vec<ObjectRow> {
    ps.object_permissions
        .iter()
        .map(|o| ObjectRow {
            object: o.object.clone(),
            read: o.allow_read,
            create: o.allow_create,
        })
        .collect()
}

async fn show(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    let ps = match load(&state, &session, &name).await {
        Ok(ps) => ps,
        Err(r) => return r,
    };
    let users = match state.setup.store().users().await {
        Ok(u) => u,
        Err(e) => return refused_page(&session, TITLE, KEY, ServiceError::from(e)),
    };
    let users = users
        .into_iter()
        .filter(|u| {
            u.permission_sets
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&ps.name))
        })
        .map(|u| UserRow {
            href: format!(
                "/lightning/setup/ManageUsers/{}/view",
                path_segment(&u.username)
            ),
            username: u.username,
            profile: u.profile,
            active: u.is_active,
        })
        .collect();
    page(&ViewPage {
        l: Layout::new(&session, ps.label.clone(), KEY),
        permissions: permission_rows(&ps.permissions),
        objects: object_rows(&ps),
        users,
        system_href: permset_href(&ps.name, "system"),
        objects_href: permset_href(&ps.name, "objects"),
        assignments_href: permset_href(&ps.name, "assignments"),
        back: HOME,
        ps,
    })
}

// ---- System Permissions: Edit ----------------------------------------------------------------

struct Check {
    /// The form value (the admin API's name of the permission).
    value: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "console/people/permset_system.html")]
struct SystemPage {
    l: Layout,
    checks: Vec<Check>,
    version: String,
    error: Option<String>,
    action: String,
    cancel: String,
}

fn system_page(
    session: &ConsoleSession,
    ps: &PermissionSet,
    have: &[UserPermission],
    version: String,
    error: Option<String>,
) -> SystemPage {
    SystemPage {
        l: Layout::new(session, format!("{}: System Permissions", ps.label), KEY),
        checks: UserPermission::ALL
            .iter()
            .map(|p| Check {
                value: p.cli_name(),
                label: p.label(),
                checked: have.contains(p),
            })
            .collect(),
        version,
        error,
        action: permset_href(&ps.name, "system"),
        cancel: permset_href(&ps.name, "view"),
    }
}

async fn system_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    let ps = match load(&state, &session, &name).await {
        Ok(ps) => ps,
        Err(r) => return r,
    };
    let version = permission_set_version(&ps);
    page(&system_page(&session, &ps, &ps.permissions, version, None))
}

async fn save_system(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let ps = match load(&state, &form.session, &name).await {
        Ok(ps) => ps,
        Err(r) => return r,
    };
    // One field per checkbox (`perm_view-setup`): console forms never repeat a field name.
    let chosen: Vec<UserPermission> = UserPermission::ALL
        .into_iter()
        .filter(|p| form.checked(&format!("perm_{}", p.cli_name())))
        .collect();
    let version = form.get("version").to_string();
    let input = UpdatePermissionSet {
        permissions: Some(chosen.clone()),
        ..UpdatePermissionSet::default()
    };
    match state
        .setup
        .update_permission_set_if(&form.session.actor, &ps.name, &input, Some(&version))
        .await
    {
        Ok(out) => see_other(&permset_href(&out.record.name, "view")),
        Err(e) => {
            let (status, message) = refusal(e);
            page_with_status(
                status,
                &system_page(&form.session, &ps, &chosen, version, Some(message)),
            )
        }
    }
}

// ---- Object Settings: Edit -------------------------------------------------------------------

struct ObjectCheck {
    index: usize,
    object: String,
    read: bool,
    create: bool,
}

#[derive(Template)]
#[template(path = "console/people/permset_objects.html")]
struct ObjectsPage {
    l: Layout,
    rows: Vec<ObjectCheck>,
    new_object: String,
    version: String,
    error: Option<String>,
    action: String,
    cancel: String,
}

fn objects_page(
    session: &ConsoleSession,
    ps: &PermissionSet,
    objects: &[ObjectPermissions],
    new_object: String,
    version: String,
    error: Option<String>,
) -> ObjectsPage {
    let mut rows: Vec<ObjectCheck> = objects
        .iter()
        .map(|o| ObjectCheck {
            index: 0,
            object: o.object.clone(),
            read: o.allow_read,
            create: o.allow_create,
        })
        .collect();
    // The BYOC channel's platform event is always offered, as Setup lists every object.
    if !rows
        .iter()
        .any(|r| r.object.eq_ignore_ascii_case(DEFAULT_PLATFORM_EVENT))
    {
        rows.push(ObjectCheck {
            index: 0,
            object: DEFAULT_PLATFORM_EVENT.into(),
            read: false,
            create: false,
        });
    }
    for (i, r) in rows.iter_mut().enumerate() {
        r.index = i;
    }
    ObjectsPage {
        l: Layout::new(session, format!("{}: Object Settings", ps.label), KEY),
        rows,
        new_object,
        version,
        error,
        action: permset_href(&ps.name, "objects"),
        cancel: permset_href(&ps.name, "view"),
    }
}

async fn objects_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    let ps = match load(&state, &session, &name).await {
        Ok(ps) => ps,
        Err(r) => return r,
    };
    let version = permission_set_version(&ps);
    page(&objects_page(
        &session,
        &ps,
        &ps.object_permissions,
        String::new(),
        version,
        None,
    ))
}

async fn save_objects(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let ps = match load(&state, &form.session, &name).await {
        Ok(ps) => ps,
        Err(r) => return r,
    };
    // Row `i` posts `object_i` and, when checked, `read_i` / `create_i` (console forms never
    // repeat a field name). Rows are numbered from 0 without gaps.
    let mut objects: Vec<ObjectPermissions> = Vec::new();
    for i in 0..MAX_ROWS {
        let object = form.get(&format!("object_{i}"));
        if object.is_empty() {
            break;
        }
        objects.push(ObjectPermissions {
            object: object.to_string(),
            allow_read: form.checked(&format!("read_{i}")),
            allow_create: form.checked(&format!("create_{i}")),
        });
    }
    let new_object = form.get("new_object").trim().to_string();
    if !new_object.is_empty() {
        objects.push(ObjectPermissions {
            object: new_object.clone(),
            allow_read: form.checked("new_read"),
            allow_create: form.checked("new_create"),
        });
    }
    let version = form.get("version").to_string();
    let input = UpdatePermissionSet {
        object_permissions: Some(objects.clone()),
        ..UpdatePermissionSet::default()
    };
    match state
        .setup
        .update_permission_set_if(&form.session.actor, &ps.name, &input, Some(&version))
        .await
    {
        Ok(out) => see_other(&permset_href(&out.record.name, "view")),
        Err(e) => {
            let (status, message) = refusal(e);
            // Rows as the user left them (the new object among them if it had a checkbox set).
            let shown: Vec<ObjectPermissions> = objects
                .into_iter()
                .filter(|o| !o.object.eq_ignore_ascii_case(&new_object) || new_object.is_empty())
                .collect();
            page_with_status(
                status,
                &objects_page(
                    &form.session,
                    &ps,
                    &shown,
                    new_object,
                    version,
                    Some(message),
                ),
            )
        }
    }
}

// ---- Manage Assignments --------------------------------------------------------------------

struct AssignRow {
    index: usize,
    username: String,
    profile: String,
    assigned: bool,
}

#[derive(Template)]
#[template(path = "console/people/permset_assignments.html")]
struct AssignmentsPage {
    l: Layout,
    rows: Vec<AssignRow>,
    error: Option<String>,
    action: String,
    cancel: String,
}

async fn assignments_page(
    state: &ConsoleState,
    session: &ConsoleSession,
    ps: &PermissionSet,
    checked: Option<&[&str]>,
    error: Option<String>,
) -> Result<AssignmentsPage, Response> {
    let users = state
        .setup
        .store()
        .users()
        .await
        .map_err(|e| refused_page(session, TITLE, KEY, ServiceError::from(e)))?;
    let rows = users
        .into_iter()
        .enumerate()
        .map(|(index, u)| AssignRow {
            index,
            assigned: match checked {
                Some(c) => c.iter().any(|n| n.eq_ignore_ascii_case(&u.username)),
                None => u
                    .permission_sets
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&ps.name)),
            },
            username: u.username,
            profile: u.profile,
        })
        .collect();
    Ok(AssignmentsPage {
        l: Layout::new(session, format!("{}: Manage Assignments", ps.label), KEY),
        rows,
        error,
        action: permset_href(&ps.name, "assignments"),
        cancel: permset_href(&ps.name, "view"),
    })
}

async fn assignments_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    let ps = match load(&state, &session, &name).await {
        Ok(ps) => ps,
        Err(r) => return r,
    };
    match assignments_page(&state, &session, &ps, None, None).await {
        Ok(p) => page(&p),
        Err(r) => r,
    }
}

async fn save_assignments(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let ps = match load(&state, &form.session, &name).await {
        Ok(ps) => ps,
        Err(r) => return r,
    };
    // Row `i` posts `user_i` (the username) and, when checked, `assigned_i`.
    let mut listed: Vec<&str> = Vec::new();
    let mut assigned: Vec<&str> = Vec::new();
    for i in 0..MAX_ROWS {
        let username = form.get(&format!("user_{i}"));
        if username.is_empty() {
            break;
        }
        listed.push(username);
        if form.checked(&format!("assigned_{i}")) {
            assigned.push(username);
        }
    }
    let users = match state.setup.store().users().await {
        Ok(u) => u,
        Err(e) => return refused_page(&form.session, TITLE, KEY, ServiceError::from(e)),
    };
    // Only the users the form showed change, and only where the box differs from the store.
    let mut change = PermissionSetAssignments::default();
    for u in users
        .iter()
        .filter(|u| listed.iter().any(|n| n.eq_ignore_ascii_case(&u.username)))
    {
        let has = u
            .permission_sets
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&ps.name));
        let wants = assigned.iter().any(|n| n.eq_ignore_ascii_case(&u.username));
        if wants && !has {
            change.add_users.push(u.username.clone());
        } else if has && !wants {
            change.remove_users.push(u.username.clone());
        }
    }
    match state
        .setup
        .change_permission_set_assignments(&form.session.actor, &ps.name, &change)
        .await
    {
        Ok(_) => see_other(&permset_href(&ps.name, "view")),
        Err(e) => {
            let (status, message) = refusal(e);
            match assignments_page(&state, &form.session, &ps, Some(&assigned), Some(message)).await
            {
                Ok(p) => page_with_status(status, &p),
                Err(r) => r,
            }
        }
    }
}
