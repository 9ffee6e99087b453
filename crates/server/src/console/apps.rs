//! Setup > Apps > *External Client App Manager* (docs/console.md, "Apps"): the list, *New External
//! Client App*, the app's page with its *Settings* and *Policies* tabs and *Edit* for each,
//! *Consumer Key and Secret* behind an explicit step, and *Delete*.
//!
//! Also the pieces the connected-app pages ([`super::connected_apps`]) share: the OAuth scope
//! picker with Setup's labels, Permitted Users with Setup's confirmation, the consumer-details
//! step and the confirmation page.
//!
//! Every change goes through [`crate::setup_service::SetupService`] with the session's actor;
//! every read checks [`SetupAction::ViewSetup`], as the admin API's reads of apps do.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use byoc_core::{ids, scopes, SetupAction};
use byoc_proto::admin::{AppInput, PolicyInput};
use byoc_proto::setup::{App, AppKind, PermittedUsers};

use super::{
    page, page_with_status, path_segment, refusal, refused_page, see_other, ConsoleSession,
    ConsoleState, Layout, MultipartForm, PostedForm,
};
use crate::setup_service::ServiceError;

/// Where the External Client App Manager lives.
pub const BASE: &str = "/lightning/setup/ManageExternalClientApplication";
const NAV: &str = "eca-manager";
const TITLE: &str = "External Client App Manager";

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(&format!("{BASE}/home"), get(list))
        .route(&format!("{BASE}/new"), get(new_form).post(create))
        .route(&format!("{BASE}/{{name}}/view"), get(settings_tab))
        .route(&format!("{BASE}/{{name}}/policies"), get(policies_tab))
        .route(
            &format!("{BASE}/{{name}}/edit"),
            get(edit_form).post(update),
        )
        .route(
            &format!("{BASE}/{{name}}/policies/edit"),
            get(policies_form).post(save_policies),
        )
        .route(
            &format!("{BASE}/{{name}}/consumer"),
            axum::routing::post(consumer_details),
        )
        .route(
            &format!("{BASE}/{{name}}/delete"),
            get(delete_confirm).post(delete),
        )
}

/// The app's page (Settings tab).
pub fn app_href(api_name: &str) -> String {
    format!("{BASE}/{}/view", path_segment(api_name))
}

// ---- shared pieces --------------------------------------------------------------------------

/// One entry of the *Available / Selected OAuth Scopes* picker: Setup shows one label for
/// scopes that travel together (`refresh_token, offline_access`), so one entry stands for all
/// the API names that share its label.
#[derive(Debug, Clone)]
pub struct ScopeOption {
    /// The API names, space-separated (the form value).
    pub value: String,
    pub label: &'static str,
    pub selected: bool,
}

/// The catalogue's scopes, one per Setup label, in Setup's order; an entry is selected when
/// any of its API names is in `selected`.
pub fn scope_options(selected: &[String]) -> Vec<ScopeOption> {
    let mut out: Vec<ScopeOption> = Vec::new();
    for s in scopes::CATALOGUE {
        let chosen = selected.iter().any(|x| x == s.api_name);
        match out.iter_mut().find(|o| o.label == s.label) {
            Some(o) => {
                o.value.push(' ');
                o.value.push_str(s.api_name);
                o.selected |= chosen;
            }
            None => out.push(ScopeOption {
                value: s.api_name.to_string(),
                label: s.label,
                selected: chosen,
            }),
        }
    }
    out
}

/// The scope API names of the picker's posted values (each value may hold several).
pub fn posted_scopes(values: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in values.iter().flat_map(|v| v.split_whitespace()) {
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// The labels Setup shows for an app's scopes.
pub fn scope_labels(scopes: &[String]) -> Vec<&'static str> {
    scope_options(scopes)
        .into_iter()
        .filter(|o| o.selected)
        .map(|o| o.label)
        .chain(
            // A scope outside the catalogue (never accepted today) still shows by its name.
            scopes
                .iter()
                .filter(|s| scopes::find(s).is_none())
                .map(|_| "(unknown scope)"),
        )
        .collect()
}

/// Milliseconds since the epoch as Setup shows a date (UTC).
pub fn date(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// What the API-name check says when the typed API Name is not the one byoc derives.
fn api_name_mismatch(label: &str, derived: &str) -> String {
    format!("The API Name must be {derived}: byoc fills it in from the {label} and doesn't let you change it (the help page says: don't change the API Name).")
}

/// The API Name the form asks for: what the user typed, or — when left empty — what Setup fills
/// in from the name. Refused when the typed one differs from what byoc derives.
pub fn checked_api_name(label: &str, name: &str, typed: &str) -> Result<String, String> {
    let derived = ids::api_name_from_label(name.trim());
    if typed.is_empty() || typed == derived {
        Ok(derived)
    } else {
        Err(api_name_mismatch(label, &derived))
    }
}

/// The fields of the app forms (ECA and connected app), as typed, for re-rendering after a
/// refusal so nothing typed is lost.
#[derive(Debug, Clone, Default)]
pub struct AppForm {
    pub name: String,
    pub api_name: String,
    pub contact_email: String,
    pub description: String,
    /// One per line.
    pub callback_urls: String,
    pub oauth_enabled: bool,
    pub jwt_bearer: bool,
    pub client_credentials: bool,
    pub scopes: Vec<ScopeOption>,
    /// A certificate uploaded with a refused form, carried so it need not be chosen again.
    pub certificate_pem: String,
    pub certificate_file: String,
}

impl AppForm {
    /// An empty *New* form. *Enable OAuth* starts off, as in Setup: the help page's step is to
    /// select it, and the OAuth settings area then expands (with script; without, it is always
    /// shown).
    pub fn blank() -> AppForm {
        AppForm {
            scopes: scope_options(&[]),
            ..AppForm::default()
        }
    }

    /// The form for editing `app`.
    pub fn of(app: &App) -> AppForm {
        AppForm {
            name: app.name.clone(),
            api_name: app.api_name.clone(),
            contact_email: app.contact_email.clone(),
            description: app.description.clone(),
            callback_urls: app.oauth.callback_urls.join("\n"),
            oauth_enabled: app.oauth.is_enabled,
            jwt_bearer: app.oauth.jwt_bearer_enabled,
            client_credentials: app.oauth.client_credentials_enabled,
            scopes: scope_options(&app.oauth.scopes),
            certificate_pem: String::new(),
            certificate_file: String::new(),
        }
    }

    /// What was posted; `jwt_field` is the checkbox that turns JWT on (*Enable JWT Bearer Flow*
    /// on an ECA, *Use digital signatures* on a connected app).
    pub fn posted(f: &MultipartForm, jwt_field: &str) -> AppForm {
        let (certificate_pem, certificate_file) = match f.file("certificate") {
            Some(file) => (
                String::from_utf8_lossy(&file.bytes).into_owned(),
                file.file_name.clone(),
            ),
            None => (
                f.get("certificate_pem").to_string(),
                f.get("certificate_file").to_string(),
            ),
        };
        AppForm {
            name: f.get("name").to_string(),
            api_name: f.get("api_name").to_string(),
            contact_email: f.get("contact_email").to_string(),
            description: f.get("description").to_string(),
            callback_urls: f.get("callback_urls").to_string(),
            oauth_enabled: f.checked("oauth_enabled"),
            jwt_bearer: f.checked(jwt_field),
            client_credentials: f.checked("client_credentials"),
            scopes: scope_options(&posted_scopes(&f.all("scopes"))),
            certificate_pem,
            certificate_file,
        }
    }

    /// Whether a refused form carries the uploaded file back (a hidden field) so it need not be
    /// chosen again: only a certificate. A private key chosen by mistake (or a bundle or key
    /// store holding one) would put the secret in the page; that file is chosen again instead.
    pub fn carries_certificate(&self) -> bool {
        self.certificate_pem.contains("-----BEGIN CERTIFICATE-----")
            && !self.certificate_pem.contains("PRIVATE KEY")
    }

    /// The admin API's input for this form (every field set, as the CLI sets them on create).
    pub fn input(&self, kind: AppKind) -> AppInput {
        let scopes: Vec<String> = posted_scopes(
            &self
                .scopes
                .iter()
                .filter(|o| o.selected)
                .map(|o| o.value.as_str())
                .collect::<Vec<_>>(),
        );
        AppInput {
            name: Some(self.name.trim().to_string()),
            contact_email: Some(self.contact_email.trim().to_string()),
            description: Some(self.description.clone()),
            callback_urls: Some(
                self.callback_urls
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            ),
            scopes: Some(scopes),
            // Connected apps turn JWT on through "Use digital signatures" (a certificate): checked
            // without a file, the service gives the API's refusal.
            jwt_bearer_enabled: match kind {
                AppKind::ExternalClientApp => Some(self.jwt_bearer),
                AppKind::ConnectedApp => self.jwt_bearer.then_some(true),
            },
            client_credentials_enabled: match kind {
                AppKind::ExternalClientApp => Some(self.client_credentials),
                AppKind::ConnectedApp => None,
            },
            oauth_enabled: Some(self.oauth_enabled),
            certificate_pem: (!self.certificate_pem.trim().is_empty()
                && (kind == AppKind::ExternalClientApp || self.jwt_bearer))
                .then(|| self.certificate_pem.clone()),
        }
    }
}

/// The Permitted Users choices, with Setup's labels.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn permitted_users_choices(current: PermittedUsers) -> Vec<Choice> {
    [
        PermittedUsers::AllSelfAuthorized,
        PermittedUsers::AdminApprovedPreAuthorized,
    ]
    .into_iter()
    .map(|p| Choice {
        value: format!("{p:?}"),
        label: p.label().to_string(),
        selected: p == current,
    })
    .collect()
}

pub fn parse_permitted_users(value: &str) -> Option<PermittedUsers> {
    match value {
        "AllSelfAuthorized" => Some(PermittedUsers::AllSelfAuthorized),
        "AdminApprovedPreAuthorized" => Some(PermittedUsers::AdminApprovedPreAuthorized),
        _ => None,
    }
}

/// Checkbox lists of profiles and permission sets, the assigned ones checked.
pub fn profile_choices(assigned: &[String]) -> Vec<Choice> {
    byoc_core::permissions::builtin_profiles()
        .into_iter()
        .map(|p| Choice {
            selected: assigned.iter().any(|a| a.eq_ignore_ascii_case(&p.name)),
            value: p.name.clone(),
            label: p.name,
        })
        .collect()
}

pub async fn permission_set_choices(
    state: &ConsoleState,
    assigned: &[String],
) -> Result<Vec<Choice>, ServiceError> {
    Ok(state
        .setup
        .store()
        .permission_sets()
        .await?
        .into_iter()
        .map(|p| Choice {
            selected: assigned.iter().any(|a| a.eq_ignore_ascii_case(&p.name)),
            value: p.name.clone(),
            label: p.label,
        })
        .collect())
}

/// A confirmation step: Setup's dialog as a page, for browsers without JavaScript. *OK* posts
/// `fields` (and `confirmed=1`) to `action`; *Cancel* goes back.
#[derive(Template)]
#[template(path = "console/apps/confirm.html")]
pub struct ConfirmPage {
    pub l: Layout,
    pub message: String,
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub ok_label: String,
    pub destructive: bool,
    pub cancel: String,
}

/// The fields of a posted form to carry through a confirmation page (all but the CSRF token,
/// which the page adds afresh, and any earlier `confirmed`).
pub fn carried_fields(fields: &[(String, String)]) -> Vec<(String, String)> {
    fields
        .iter()
        .filter(|(k, _)| k != super::session::CSRF_FIELD && k != "confirmed")
        .cloned()
        .chain([("confirmed".to_string(), "1".to_string())])
        .collect()
}

/// The page that shows the consumer key and secret after the explicit step.
#[derive(Template)]
#[template(path = "console/apps/consumer.html")]
pub struct ConsumerPage {
    pub l: Layout,
    pub app_name: String,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub back: String,
}

/// *Consumer Key and Secret* / *Manage Consumer Details*: the POST that shows them.
pub async fn reveal(
    state: &ConsoleState,
    form: PostedForm,
    kind: AppKind,
    name: &str,
    nav: &'static str,
    back: String,
) -> Response {
    let s = &form.session;
    let title = match kind {
        AppKind::ExternalClientApp => "Consumer Key and Secret",
        AppKind::ConnectedApp => "Consumer Details",
    };
    match state
        .setup
        .reveal_consumer_details(&s.actor, kind, name)
        .await
    {
        Ok(app) => page(&ConsumerPage {
            l: Layout::new(s, title, nav),
            app_name: app.name,
            consumer_key: app.oauth.consumer_key,
            consumer_secret: app.oauth.consumer_secret.unwrap_or_default(),
            back,
        }),
        Err(e) => refused_page(s, title, nav, e),
    }
}

/// The app named in the URL, for a user who may view Setup.
pub async fn viewable_app(
    state: &ConsoleState,
    session: &ConsoleSession,
    kind: AppKind,
    name: &str,
) -> Result<App, ServiceError> {
    session.actor.authorize(SetupAction::ViewSetup)?;
    state.setup.app(kind, name).await
}

// ---- External Client App Manager ------------------------------------------------------------

#[derive(Clone)]
pub struct Row {
    pub name: String,
    pub api_name: String,
    pub href: String,
    /// Connected apps' *Edit* (their *Edit Policies* page).
    pub edit_href: String,
    pub distribution_state: String,
    pub contact_email: String,
    pub permitted_users: &'static str,
    pub status: String,
    pub modified: String,
}

pub fn rows(apps: Vec<App>, href: fn(&str) -> String) -> Vec<Row> {
    let mut apps = apps;
    apps.sort_by_key(|a| a.name.to_lowercase());
    apps.into_iter()
        .map(|a| Row {
            href: href(&a.api_name),
            edit_href: format!("{}/policies", href(&a.api_name).trim_end_matches("/view")),
            distribution_state: a.distribution_state.clone().unwrap_or_default(),
            permitted_users: a.policies.permitted_users.label(),
            status: a
                .read_only_reason
                .as_ref()
                .map(|r| format!("Read-only: {r}"))
                .unwrap_or_default(),
            modified: date(a.updated_at),
            name: a.name,
            api_name: a.api_name,
            contact_email: a.contact_email,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/apps/eca_list.html")]
struct ListPage {
    l: Layout,
    rows: Vec<Row>,
    can_create: bool,
}

async fn list(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, TITLE, NAV, e.into());
    }
    let now = state.oauth.now();
    match state
        .app_lists
        .rows(AppKind::ExternalClientApp, now, app_href)
        .await
    {
        Ok(rows) => page(&ListPage {
            can_create: session
                .actor
                .authorize(SetupAction::ManageExternalClientApps)
                .is_ok(),
            l: Layout::new(&session, TITLE, NAV),
            rows: rows.as_ref().clone(),
        }),
        Err(e) => refused_page(&session, TITLE, NAV, e.into()),
    }
}

#[derive(Template)]
#[template(path = "console/apps/eca_form.html")]
struct EcaFormPage {
    l: Layout,
    f: AppForm,
    error: Option<String>,
    /// `None` on *New External Client App*; the app's API name when editing.
    editing: Option<String>,
    action: String,
    cancel: String,
    has_certificate: bool,
}

async fn new_form(session: ConsoleSession) -> Response {
    // Like every page of the manager: not even the empty form for a user who can't view Setup.
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, TITLE, NAV, e.into());
    }
    page(&EcaFormPage {
        l: Layout::new(&session, "New External Client App", NAV),
        f: AppForm::blank(),
        error: None,
        editing: None,
        action: format!("{BASE}/new"),
        cancel: format!("{BASE}/home"),
        has_certificate: false,
    })
}

async fn create(State(state): State<ConsoleState>, form: MultipartForm) -> Response {
    let mut f = AppForm::posted(&form, "jwt_bearer");
    let refuse = |f: AppForm, status: StatusCode, message: String| {
        page_with_status(
            status,
            &EcaFormPage {
                l: Layout::new(&form.session, "New External Client App", NAV),
                f,
                error: Some(message),
                editing: None,
                action: format!("{BASE}/new"),
                cancel: format!("{BASE}/home"),
                has_certificate: false,
            },
        )
    };
    match checked_api_name("External Client App Name", &f.name, &f.api_name) {
        Ok(api) => f.api_name = api,
        Err(m) => return refuse(f, StatusCode::BAD_REQUEST, m),
    }
    let input = f.input(AppKind::ExternalClientApp);
    match state
        .setup
        .create_app(&form.session.actor, AppKind::ExternalClientApp, &input)
        .await
    {
        Ok(out) => see_other(&app_href(&out.record.api_name)),
        Err(e) => {
            let (status, message) = refusal(e);
            refuse(f, status, message)
        }
    }
}

async fn edit_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    match viewable_app(&state, &session, AppKind::ExternalClientApp, &name).await {
        Ok(app) => page(&EcaFormPage {
            l: Layout::new(&session, format!("Edit {}", app.name), NAV),
            f: AppForm::of(&app),
            error: None,
            action: format!("{BASE}/{}/edit", path_segment(&app.api_name)),
            cancel: app_href(&app.api_name),
            has_certificate: app.oauth.certificate.is_some(),
            editing: Some(app.api_name),
        }),
        Err(e) => refused_page(&session, TITLE, NAV, e),
    }
}

async fn update(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: MultipartForm,
) -> Response {
    let mut f = AppForm::posted(&form, "jwt_bearer");
    let app = match viewable_app(&state, &form.session, AppKind::ExternalClientApp, &name).await {
        Ok(app) => app,
        Err(e) => return refused_page(&form.session, TITLE, NAV, e),
    };
    f.api_name = app.api_name.clone();
    let input = f.input(AppKind::ExternalClientApp);
    match state
        .setup
        .update_app(
            &form.session.actor,
            AppKind::ExternalClientApp,
            &app.api_name,
            &input,
        )
        .await
    {
        Ok(out) => see_other(&app_href(&out.record.api_name)),
        Err(e) => {
            let (status, message) = refusal(e);
            page_with_status(
                status,
                &EcaFormPage {
                    l: Layout::new(&form.session, format!("Edit {}", app.name), NAV),
                    f,
                    error: Some(message),
                    action: format!("{BASE}/{}/edit", path_segment(&app.api_name)),
                    cancel: app_href(&app.api_name),
                    has_certificate: app.oauth.certificate.is_some(),
                    editing: Some(app.api_name),
                },
            )
        }
    }
}

/// What the app's page shows (both tabs; connected apps reuse it).
pub struct AppView {
    pub name: String,
    pub api_name: String,
    pub segment: String,
    pub contact_email: String,
    pub description: String,
    pub distribution_state: String,
    pub oauth_enabled: bool,
    pub callback_urls: Vec<String>,
    pub scopes: Vec<&'static str>,
    pub jwt_bearer: bool,
    pub client_credentials: bool,
    pub certificate: Option<CertificateView>,
    pub permitted_users: &'static str,
    pub profiles: Vec<String>,
    pub permission_sets: Vec<String>,
    pub read_only_reason: Option<String>,
    pub created: String,
    pub modified: String,
}

pub struct CertificateView {
    pub subject: String,
    pub expires: String,
    pub fingerprint: String,
}

impl AppView {
    pub fn of(app: &App) -> AppView {
        AppView {
            name: app.name.clone(),
            api_name: app.api_name.clone(),
            segment: path_segment(&app.api_name),
            contact_email: app.contact_email.clone(),
            description: app.description.clone(),
            distribution_state: app.distribution_state.clone().unwrap_or_default(),
            oauth_enabled: app.oauth.is_enabled,
            callback_urls: app.oauth.callback_urls.clone(),
            scopes: scope_labels(&app.oauth.scopes),
            jwt_bearer: app.oauth.jwt_bearer_enabled,
            client_credentials: app.oauth.client_credentials_enabled,
            certificate: app.oauth.certificate.as_ref().map(|c| CertificateView {
                subject: c.subject.clone(),
                expires: date(c.not_after),
                fingerprint: c.sha256_fingerprint.clone(),
            }),
            permitted_users: app.policies.permitted_users.label(),
            profiles: app.policies.profiles.clone(),
            permission_sets: app.policies.permission_sets.clone(),
            read_only_reason: app.read_only_reason.clone(),
            created: date(app.created_at),
            modified: date(app.updated_at),
        }
    }
}

#[derive(Template)]
#[template(path = "console/apps/eca_view.html")]
struct ViewPage {
    l: Layout,
    a: AppView,
    /// "settings" or "policies".
    tab: &'static str,
    base: &'static str,
}

async fn view(
    state: ConsoleState,
    session: ConsoleSession,
    name: String,
    tab: &'static str,
) -> Response {
    match viewable_app(&state, &session, AppKind::ExternalClientApp, &name).await {
        Ok(app) => page(&ViewPage {
            l: Layout::new(&session, app.name.clone(), NAV),
            a: AppView::of(&app),
            tab,
            base: BASE,
        }),
        Err(e) => refused_page(&session, TITLE, NAV, e),
    }
}

async fn settings_tab(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    view(state, session, name, "settings").await
}

async fn policies_tab(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    view(state, session, name, "policies").await
}

/// The *Edit* form of the Policies tab (connected apps' *Edit Policies* reuses it).
#[derive(Template)]
#[template(path = "console/apps/policies_form.html")]
pub struct PoliciesPage {
    pub l: Layout,
    pub app_name: String,
    pub action: String,
    pub cancel: String,
    pub error: Option<String>,
    pub permitted_users: Vec<Choice>,
    /// Set while the app is not yet admin-approved: the script asks before switching.
    pub warn_on_admin_approved: Option<String>,
    /// Shown (and saved) on External Client Apps; connected apps use *Manage Profiles*.
    pub assignments: bool,
    pub profiles: Vec<Choice>,
    pub permission_sets: Vec<Choice>,
}

fn warning_for(current: PermittedUsers) -> Option<String> {
    (current != PermittedUsers::AdminApprovedPreAuthorized)
        .then(|| byoc_core::setup::ADMIN_APPROVED_WARNING.to_string())
}

async fn policies_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    let app = match viewable_app(&state, &session, AppKind::ExternalClientApp, &name).await {
        Ok(app) => app,
        Err(e) => return refused_page(&session, TITLE, NAV, e),
    };
    let sets = match permission_set_choices(&state, &app.policies.permission_sets).await {
        Ok(s) => s,
        Err(e) => return refused_page(&session, TITLE, NAV, e),
    };
    page(&PoliciesPage {
        l: Layout::new(&session, format!("Edit {} Policies", app.name), NAV),
        app_name: app.name.clone(),
        action: format!("{BASE}/{}/policies/edit", path_segment(&app.api_name)),
        cancel: format!("{BASE}/{}/policies", path_segment(&app.api_name)),
        error: None,
        permitted_users: permitted_users_choices(app.policies.permitted_users),
        warn_on_admin_approved: warning_for(app.policies.permitted_users),
        assignments: true,
        profiles: profile_choices(&app.policies.profiles),
        permission_sets: sets,
    })
}

/// The confirmation page Setup's dialog becomes without JavaScript, when a posted policy change
/// switches to admin-approved and was not confirmed yet.
pub fn needs_confirmation(form: &PostedForm, current: PermittedUsers) -> bool {
    parse_permitted_users(form.get("permitted_users"))
        == Some(PermittedUsers::AdminApprovedPreAuthorized)
        && current != PermittedUsers::AdminApprovedPreAuthorized
        && form.get("confirmed") != "1"
}

async fn save_policies(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let s = &form.session;
    let app = match viewable_app(&state, s, AppKind::ExternalClientApp, &name).await {
        Ok(app) => app,
        Err(e) => return refused_page(s, TITLE, NAV, e),
    };
    let action = format!("{BASE}/{}/policies/edit", path_segment(&app.api_name));
    let cancel = format!("{BASE}/{}/policies", path_segment(&app.api_name));
    if needs_confirmation(&form, app.policies.permitted_users) {
        return page(&ConfirmPage {
            l: Layout::new(s, format!("Edit {} Policies", app.name), NAV),
            message: byoc_core::setup::ADMIN_APPROVED_WARNING.to_string(),
            action,
            fields: carried_fields(&form.fields),
            ok_label: "OK".into(),
            destructive: false,
            cancel: format!("{BASE}/{}/policies/edit", path_segment(&app.api_name)),
        });
    }
    let profiles: Vec<String> = form.all("profiles").into_iter().map(String::from).collect();
    let sets: Vec<String> = form
        .all("permission_sets")
        .into_iter()
        .map(String::from)
        .collect();
    let input = PolicyInput {
        permitted_users: parse_permitted_users(form.get("permitted_users")),
        profiles: Some(profiles.clone()),
        permission_sets: Some(sets.clone()),
        ..PolicyInput::default()
    };
    match state
        .setup
        .set_policies(&s.actor, AppKind::ExternalClientApp, &app.api_name, &input)
        .await
    {
        Ok(_) => see_other(&cancel),
        Err(e) => {
            let (status, message) = refusal(e);
            let set_choices = permission_set_choices(&state, &sets)
                .await
                .unwrap_or_default();
            page_with_status(
                status,
                &PoliciesPage {
                    l: Layout::new(s, format!("Edit {} Policies", app.name), NAV),
                    app_name: app.name.clone(),
                    action,
                    cancel,
                    error: Some(message),
                    permitted_users: permitted_users_choices(
                        input
                            .permitted_users
                            .unwrap_or(app.policies.permitted_users),
                    ),
                    warn_on_admin_approved: warning_for(app.policies.permitted_users),
                    assignments: true,
                    profiles: profile_choices(&profiles),
                    permission_sets: set_choices,
                },
            )
        }
    }
}

async fn consumer_details(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let back = app_href(&name);
    reveal(&state, form, AppKind::ExternalClientApp, &name, NAV, back).await
}

async fn delete_confirm(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    match viewable_app(&state, &session, AppKind::ExternalClientApp, &name).await {
        Ok(app) => page(&ConfirmPage {
            l: Layout::new(&session, format!("Delete {}", app.name), NAV),
            message: format!(
                "Are you sure you want to delete the External Client App {}? Its consumer key stops working at once.",
                app.name
            ),
            action: format!("{BASE}/{}/delete", path_segment(&app.api_name)),
            fields: vec![("confirmed".into(), "1".into())],
            ok_label: "Delete".into(),
            destructive: true,
            cancel: app_href(&app.api_name),
        }),
        Err(e) => refused_page(&session, TITLE, NAV, e),
    }
}

async fn delete(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let s = &form.session;
    match state
        .setup
        .delete_app(&s.actor, AppKind::ExternalClientApp, &name)
        .await
    {
        Ok(()) => see_other(&format!("{BASE}/home")),
        Err(e) => refused_page(s, TITLE, NAV, e),
    }
}

/// The rows of the two app lists, kept between requests: the list pages would otherwise decode
/// every app record (certificates included) on each request, which made the 200-app list the
/// slowest console page (docs/benchmarks.md). A list is reloaded when this instance changed setup
/// ([`byoc_store::Store::generation`]) or after [`crate::scrt::cache::TTL_MS`] (another instance
/// on the same database may have), the rule of the Interaction API's setup cache.
/// One kind's rows: when they were loaded (store generation, org clock) and what they are.
struct CachedList {
    kind: AppKind,
    generation: u64,
    loaded_at: i64,
    rows: std::sync::Arc<Vec<Row>>,
}

pub struct AppLists {
    store: byoc_store::Store,
    current: std::sync::Mutex<Vec<CachedList>>,
}

impl AppLists {
    pub fn new(store: byoc_store::Store) -> AppLists {
        AppLists {
            store,
            current: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub async fn rows(
        &self,
        kind: AppKind,
        now: i64,
        href: fn(&str) -> String,
    ) -> Result<std::sync::Arc<Vec<Row>>, byoc_store::StoreError> {
        let generation = self.store.generation();
        if let Ok(current) = self.current.lock() {
            let fresh = current.iter().find(|c| {
                c.kind == kind
                    && c.generation == generation
                    && now >= c.loaded_at
                    && now - c.loaded_at < crate::scrt::cache::TTL_MS
            });
            if let Some(c) = fresh {
                return Ok(c.rows.clone());
            }
        }
        let loaded = std::sync::Arc::new(rows(self.store.apps(kind).await?, href));
        if let Ok(mut current) = self.current.lock() {
            current.retain(|c| c.kind != kind);
            current.push(CachedList {
                kind,
                generation,
                loaded_at: now,
                rows: loaded.clone(),
            });
        }
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_that_share_a_label_are_one_picker_entry() {
        let options = scope_options(&["refresh_token".to_string()]);
        let perform = options
            .iter()
            .find(|o| o.label == "Perform requests at any time (refresh_token, offline_access)")
            .expect("entry");
        assert_eq!(perform.value, "refresh_token offline_access");
        assert!(perform.selected);
        assert_eq!(
            posted_scopes(&["interaction_api", "refresh_token offline_access"]),
            ["interaction_api", "refresh_token", "offline_access"]
        );
        let labels: Vec<_> = options.iter().map(|o| o.label).collect();
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(labels.len(), unique.len());
    }

    #[test]
    fn api_name_is_filled_in_from_the_name_and_cannot_differ() {
        assert_eq!(
            checked_api_name("External Client App Name", "Acme Chat 2", ""),
            Ok("Acme_Chat_2".to_string())
        );
        assert_eq!(
            checked_api_name("External Client App Name", "Acme Chat", "Acme_Chat"),
            Ok("Acme_Chat".to_string())
        );
        assert!(checked_api_name("External Client App Name", "Acme", "Other").is_err());
    }
}
