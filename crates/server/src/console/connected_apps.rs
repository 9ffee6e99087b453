//! Setup > Apps > *External Client App Settings* (where the help page puts *New Connected App*,
//! with the Spring '26 message while creation is off and the org setting *Allow creation of
//! connected apps*) and *Manage Connected Apps* (the list, the app's page, *Edit Policies*,
//! *Manage Profiles*, *Manage Permission Sets*, *Manage Consumer Details*, and migration to an
//! External Client App). docs/console.md, "Apps".
//!
//! Every change goes through [`crate::setup_service::SetupService`] with the session's actor;
//! reads check [`SetupAction::ViewSetup`], as the admin API's do.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use byoc_core::SetupAction;
use byoc_proto::admin::{AssignmentChange, PolicyInput, UpdateOrg};
use byoc_proto::setup::{App, AppKind};
use serde::Deserialize;

use super::apps::{
    carried_fields, checked_api_name, needs_confirmation, parse_permitted_users,
    permission_set_choices, permitted_users_choices, profile_choices, reveal, viewable_app,
    AppForm, AppView, Choice, ConfirmPage, PoliciesPage, Row,
};
use super::{
    page, page_with_status, path_segment, refusal, refused_page, see_other, ConsoleSession,
    ConsoleState, Layout, MultipartForm, PostedForm,
};

/// *External Client App Settings*.
pub const SETTINGS: &str = "/lightning/setup/ExternalClientAppSettings/home";
/// *New Connected App*, under the settings page as the help page has it.
pub const NEW_CONNECTED_APP: &str = "/lightning/setup/ExternalClientAppSettings/newConnectedApp";
/// *Manage Connected Apps*.
pub const BASE: &str = "/lightning/setup/ConnectedApplication";
const SETTINGS_NAV: &str = "eca-settings";
const NAV: &str = "connected-apps";
const TITLE: &str = "Manage Connected Apps";

/// What Salesforce's documentation says wherever connected apps are created since Spring '26
/// (the console shows it on the settings page while creation is off).
pub const SPRING_26_MESSAGE: &str = "Connected apps creation is restricted as of Spring ‘26. You can continue to use existing connected apps during and after Spring ‘26. However, we recommend using external client apps instead. If you must continue creating connected apps, contact Salesforce Support.";

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(SETTINGS, get(settings).post(save_settings))
        .route(NEW_CONNECTED_APP, get(new_form).post(create))
        .route(&format!("{BASE}/home"), get(list))
        .route(&format!("{BASE}/{{name}}/view"), get(view))
        .route(
            &format!("{BASE}/{{name}}/edit"),
            get(edit_form).post(update),
        )
        .route(
            &format!("{BASE}/{{name}}/policies"),
            get(policies_form).post(save_policies),
        )
        .route(
            &format!("{BASE}/{{name}}/profiles"),
            get(profiles_form).post(save_profiles),
        )
        .route(
            &format!("{BASE}/{{name}}/permsets"),
            get(permsets_form).post(save_permsets),
        )
        .route(&format!("{BASE}/{{name}}/consumer"), post(consumer_details))
        .route(
            &format!("{BASE}/{{name}}/migrate"),
            get(migrate_confirm).post(migrate),
        )
}

/// The connected app's page.
pub fn app_href(api_name: &str) -> String {
    format!("{BASE}/{}/view", path_segment(api_name))
}

// ---- External Client App Settings -----------------------------------------------------------

#[derive(Template)]
#[template(path = "console/apps/eca_settings.html")]
struct SettingsPage {
    l: Layout,
    allowed: bool,
    error: Option<String>,
    spring_26: &'static str,
}

async fn settings(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    let title = "External Client App Settings";
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, title, SETTINGS_NAV, e.into());
    }
    match state.setup.org().await {
        Ok(org) => page(&SettingsPage {
            l: Layout::new(&session, title, SETTINGS_NAV),
            allowed: org.allow_connected_app_creation,
            error: None,
            spring_26: SPRING_26_MESSAGE,
        }),
        Err(e) => refused_page(&session, title, SETTINGS_NAV, e),
    }
}

/// The *Allow creation of connected apps* toggle (in a real org, Salesforce Support's switch).
async fn save_settings(State(state): State<ConsoleState>, form: PostedForm) -> Response {
    let s = &form.session;
    let input = UpdateOrg {
        allow_connected_app_creation: Some(form.checked("allow_connected_app_creation")),
    };
    match state.setup.update_org(&s.actor, &input).await {
        Ok(_) => see_other(SETTINGS),
        Err(e) => {
            let (status, message) = refusal(e);
            let allowed = state
                .setup
                .org()
                .await
                .map(|o| o.allow_connected_app_creation)
                .unwrap_or(false);
            page_with_status(
                status,
                &SettingsPage {
                    l: Layout::new(s, "External Client App Settings", SETTINGS_NAV),
                    allowed,
                    error: Some(message),
                    spring_26: SPRING_26_MESSAGE,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "console/apps/ca_form.html")]
struct ConnectedAppFormPage {
    l: Layout,
    f: AppForm,
    error: Option<String>,
    action: String,
    cancel: String,
    /// Editing an existing app (its API Name is shown read-only).
    editing: bool,
    has_certificate: bool,
}

impl ConnectedAppFormPage {
    fn new_app(session: &ConsoleSession, f: AppForm, error: Option<String>) -> Self {
        ConnectedAppFormPage {
            l: Layout::new(session, "New Connected App", SETTINGS_NAV),
            f,
            error,
            action: NEW_CONNECTED_APP.to_string(),
            cancel: SETTINGS.to_string(),
            editing: false,
            has_certificate: false,
        }
    }

    fn edit(session: &ConsoleSession, app: &App, f: AppForm, error: Option<String>) -> Self {
        ConnectedAppFormPage {
            l: Layout::new(session, format!("Edit {}", app.name), NAV),
            f,
            error,
            action: format!("{BASE}/{}/edit", path_segment(&app.api_name)),
            cancel: app_href(&app.api_name),
            editing: true,
            has_certificate: app.oauth.certificate.is_some(),
        }
    }
}

async fn new_form(session: ConsoleSession) -> Response {
    // Like the settings page it hangs under: not for a user who can't view Setup.
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, "New Connected App", SETTINGS_NAV, e.into());
    }
    page(&ConnectedAppFormPage::new_app(
        &session,
        AppForm::blank(),
        None,
    ))
}

async fn create(State(state): State<ConsoleState>, form: MultipartForm) -> Response {
    let mut f = AppForm::posted(&form, "use_digital_signatures");
    let refuse = |f: AppForm, status: StatusCode, message: String| {
        page_with_status(
            status,
            &ConnectedAppFormPage::new_app(&form.session, f, Some(message)),
        )
    };
    match checked_api_name("Connected App Name", &f.name, &f.api_name) {
        Ok(api) => f.api_name = api,
        Err(m) => return refuse(f, StatusCode::BAD_REQUEST, m),
    }
    let input = f.input(AppKind::ConnectedApp);
    match state
        .setup
        .create_app(&form.session.actor, AppKind::ConnectedApp, &input)
        .await
    {
        Ok(out) => see_other(&format!("{}?created=1", app_href(&out.record.api_name))),
        Err(e) => {
            let (status, message) = refusal(e);
            refuse(f, status, message)
        }
    }
}

// ---- Manage Connected Apps ------------------------------------------------------------------

async fn edit_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    match viewable_app(&state, &session, AppKind::ConnectedApp, &name).await {
        Ok(app) => page(&ConnectedAppFormPage::edit(
            &session,
            &app,
            AppForm::of(&app),
            None,
        )),
        Err(e) => refused_page(&session, TITLE, NAV, e),
    }
}

/// The connected app's *Edit*: a certificate already uploaded stays unless another file is
/// chosen; unchecking *Use digital signatures* removes it (and with it the JWT Bearer Flow).
async fn update(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: MultipartForm,
) -> Response {
    let s = &form.session;
    let app = match viewable_app(&state, s, AppKind::ConnectedApp, &name).await {
        Ok(app) => app,
        Err(e) => return refused_page(s, TITLE, NAV, e),
    };
    let mut f = AppForm::posted(&form, "use_digital_signatures");
    f.api_name = app.api_name.clone();
    let mut input = f.input(AppKind::ConnectedApp);
    if !f.jwt_bearer {
        input.certificate_pem = Some(String::new());
    } else if input.certificate_pem.is_some() || app.oauth.certificate.is_some() {
        // The stored certificate keeps JWT on; no need to say so again.
        input.jwt_bearer_enabled = None;
    }
    match state
        .setup
        .update_app(&s.actor, AppKind::ConnectedApp, &app.api_name, &input)
        .await
    {
        Ok(out) => see_other(&app_href(&out.record.api_name)),
        Err(e) => {
            let (status, message) = refusal(e);
            page_with_status(
                status,
                &ConnectedAppFormPage::edit(s, &app, f, Some(message)),
            )
        }
    }
}

#[derive(Template)]
#[template(path = "console/apps/ca_list.html")]
struct ListPage {
    l: Layout,
    rows: Vec<Row>,
}

async fn list(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, TITLE, NAV, e.into());
    }
    let now = state.oauth.now();
    match state
        .app_lists
        .rows(AppKind::ConnectedApp, now, app_href)
        .await
    {
        Ok(rows) => page(&ListPage {
            l: Layout::new(&session, TITLE, NAV),
            rows: rows.as_ref().clone(),
        }),
        Err(e) => refused_page(&session, TITLE, NAV, e.into()),
    }
}

#[derive(Deserialize, Default)]
struct ViewQuery {
    created: Option<String>,
}

#[derive(Template)]
#[template(path = "console/apps/ca_view.html")]
struct ViewPage {
    l: Layout,
    a: AppView,
    created: bool,
    base: &'static str,
}

async fn view(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    match viewable_app(&state, &session, AppKind::ConnectedApp, &name).await {
        Ok(app) => page(&ViewPage {
            l: Layout::new(&session, app.name.clone(), NAV),
            a: AppView::of(&app),
            created: q.created.is_some(),
            base: BASE,
        }),
        Err(e) => refused_page(&session, TITLE, NAV, e),
    }
}

fn policies_page(
    session: &ConsoleSession,
    app_name: &str,
    api_name: &str,
    current: byoc_proto::setup::PermittedUsers,
    shown: byoc_proto::setup::PermittedUsers,
    error: Option<String>,
) -> PoliciesPage {
    PoliciesPage {
        l: Layout::new(session, "Connected App Edit", NAV),
        app_name: app_name.to_string(),
        action: format!("{BASE}/{}/policies", path_segment(api_name)),
        cancel: app_href(api_name),
        error,
        permitted_users: permitted_users_choices(shown),
        warn_on_admin_approved: (current
            != byoc_proto::setup::PermittedUsers::AdminApprovedPreAuthorized)
            .then(|| byoc_core::setup::ADMIN_APPROVED_WARNING.to_string()),
        assignments: false,
        profiles: vec![],
        permission_sets: vec![],
    }
}

/// *Edit Policies* (the Connected App Edit page).
async fn policies_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    match viewable_app(&state, &session, AppKind::ConnectedApp, &name).await {
        Ok(app) => {
            let pu = app.policies.permitted_users;
            page(&policies_page(
                &session,
                &app.name,
                &app.api_name,
                pu,
                pu,
                None,
            ))
        }
        Err(e) => refused_page(&session, TITLE, NAV, e),
    }
}

async fn save_policies(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let s = &form.session;
    let app = match viewable_app(&state, s, AppKind::ConnectedApp, &name).await {
        Ok(app) => app,
        Err(e) => return refused_page(s, TITLE, NAV, e),
    };
    let current = app.policies.permitted_users;
    if needs_confirmation(&form, current) {
        return page(&ConfirmPage {
            l: Layout::new(s, "Connected App Edit", NAV),
            message: byoc_core::setup::ADMIN_APPROVED_WARNING.to_string(),
            action: format!("{BASE}/{}/policies", path_segment(&app.api_name)),
            fields: carried_fields(&form.fields),
            ok_label: "OK".into(),
            destructive: false,
            cancel: format!("{BASE}/{}/policies", path_segment(&app.api_name)),
        });
    }
    let input = PolicyInput {
        permitted_users: parse_permitted_users(form.get("permitted_users")),
        ..PolicyInput::default()
    };
    match state
        .setup
        .set_policies(&s.actor, AppKind::ConnectedApp, &app.api_name, &input)
        .await
    {
        Ok(_) => see_other(&app_href(&app.api_name)),
        Err(e) => {
            let (status, message) = refusal(e);
            page_with_status(
                status,
                &policies_page(
                    s,
                    &app.name,
                    &app.api_name,
                    current,
                    input.permitted_users.unwrap_or(current),
                    Some(message),
                ),
            )
        }
    }
}

/// *Application Profile Assignment* and *Application Permission Set Assignment*.
#[derive(Template)]
#[template(path = "console/apps/assignments.html")]
struct AssignmentsPage {
    l: Layout,
    app_name: String,
    legend: &'static str,
    field: &'static str,
    choices: Vec<Choice>,
    action: String,
    cancel: String,
    error: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Assign {
    Profiles,
    PermissionSets,
}

impl Assign {
    fn title(self) -> &'static str {
        match self {
            Assign::Profiles => "Application Profile Assignment",
            Assign::PermissionSets => "Application Permission Set Assignment",
        }
    }
    fn path(self) -> &'static str {
        match self {
            Assign::Profiles => "profiles",
            Assign::PermissionSets => "permsets",
        }
    }
}

async fn assignments_form(
    state: ConsoleState,
    session: ConsoleSession,
    name: String,
    which: Assign,
) -> Response {
    let app = match viewable_app(&state, &session, AppKind::ConnectedApp, &name).await {
        Ok(app) => app,
        Err(e) => return refused_page(&session, TITLE, NAV, e),
    };
    let choices = match which {
        Assign::Profiles => profile_choices(&app.policies.profiles),
        Assign::PermissionSets => {
            match permission_set_choices(&state, &app.policies.permission_sets).await {
                Ok(c) => c,
                Err(e) => return refused_page(&session, TITLE, NAV, e),
            }
        }
    };
    page(&assignments_page(
        &session,
        &app.name,
        &app.api_name,
        which,
        choices,
        None,
    ))
}

fn assignments_page(
    session: &ConsoleSession,
    app_name: &str,
    api_name: &str,
    which: Assign,
    choices: Vec<Choice>,
    error: Option<String>,
) -> AssignmentsPage {
    AssignmentsPage {
        l: Layout::new(session, which.title(), NAV),
        app_name: app_name.to_string(),
        legend: match which {
            Assign::Profiles => "Profiles",
            Assign::PermissionSets => "Permission Sets",
        },
        field: match which {
            Assign::Profiles => "profiles",
            Assign::PermissionSets => "permission_sets",
        },
        choices,
        action: format!("{BASE}/{}/{}", path_segment(api_name), which.path()),
        cancel: app_href(api_name),
        error,
    }
}

async fn save_assignments(
    state: ConsoleState,
    name: String,
    form: PostedForm,
    which: Assign,
) -> Response {
    let s = &form.session;
    let app = match viewable_app(&state, s, AppKind::ConnectedApp, &name).await {
        Ok(app) => app,
        Err(e) => return refused_page(s, TITLE, NAV, e),
    };
    let wanted: Vec<String> = form
        .all(match which {
            Assign::Profiles => "profiles",
            Assign::PermissionSets => "permission_sets",
        })
        .into_iter()
        .map(String::from)
        .collect();
    let current = match which {
        Assign::Profiles => &app.policies.profiles,
        Assign::PermissionSets => &app.policies.permission_sets,
    };
    // The page shows every choice as a checkbox: checked ones not yet assigned are added,
    // assigned ones left unchecked are removed.
    let add: Vec<String> = wanted
        .iter()
        .filter(|w| !current.iter().any(|c| c.eq_ignore_ascii_case(w)))
        .cloned()
        .collect();
    let remove: Vec<String> = current
        .iter()
        .filter(|c| !wanted.iter().any(|w| w.eq_ignore_ascii_case(c)))
        .cloned()
        .collect();
    let change = match which {
        Assign::Profiles => AssignmentChange {
            add_profiles: add,
            remove_profiles: remove,
            ..AssignmentChange::default()
        },
        Assign::PermissionSets => AssignmentChange {
            add_permission_sets: add,
            remove_permission_sets: remove,
            ..AssignmentChange::default()
        },
    };
    match state
        .setup
        .change_assignments(&s.actor, AppKind::ConnectedApp, &app.api_name, &change)
        .await
    {
        Ok(_) => see_other(&app_href(&app.api_name)),
        Err(e) => {
            let (status, message) = refusal(e);
            let choices = match which {
                Assign::Profiles => profile_choices(&wanted),
                Assign::PermissionSets => permission_set_choices(&state, &wanted)
                    .await
                    .unwrap_or_default(),
            };
            page_with_status(
                status,
                &assignments_page(s, &app.name, &app.api_name, which, choices, Some(message)),
            )
        }
    }
}

async fn profiles_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    assignments_form(state, session, name, Assign::Profiles).await
}

async fn save_profiles(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    save_assignments(state, name, form, Assign::Profiles).await
}

async fn permsets_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    assignments_form(state, session, name, Assign::PermissionSets).await
}

async fn save_permsets(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    save_assignments(state, name, form, Assign::PermissionSets).await
}

async fn consumer_details(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let back = app_href(&name);
    reveal(&state, form, AppKind::ConnectedApp, &name, NAV, back).await
}

async fn migrate_confirm(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    match viewable_app(&state, &session, AppKind::ConnectedApp, &name).await {
        Ok(app) => page(&ConfirmPage {
            l: Layout::new(&session, "Migrate to External Client App", NAV),
            message: format!(
                "Create a local External Client App from the connected app {}? The External Client App keeps its name, API name, consumer key and secret, OAuth settings, certificate, policies and assignments; Conversation Channel Definitions that use the connected app switch to it, and the connected app becomes read-only.",
                app.name
            ),
            action: format!("{BASE}/{}/migrate", path_segment(&app.api_name)),
            fields: vec![("confirmed".into(), "1".into())],
            ok_label: "Migrate".into(),
            destructive: false,
            cancel: app_href(&app.api_name),
        }),
        Err(e) => refused_page(&session, TITLE, NAV, e),
    }
}

async fn migrate(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let s = &form.session;
    match state.setup.migrate_connected_app(&s.actor, &name).await {
        Ok(out) => see_other(&super::apps::app_href(&out.record.api_name)),
        Err(e) => refused_page(s, "Migrate to External Client App", NAV, e),
    }
}
