//! Setup > Users: the list, *New User*, a user's page with *Edit* (Active), *Set Password*,
//! *Reset Password* (the temporary password shown once) and *Login* (Setup's *Login As*), and the
//! way back (`/secur/logout-as`, routed in [`super::session`]).
//!
//! Reads need what the admin API's reads need (*View Setup and Configuration*); writes go through
//! [`SetupService`](crate::setup_service::SetupService) as the session's user, so the rules,
//! refusal messages and audit rows are the API's. *Login* follows the admin API's `X-Byoc-As`
//! rule: the bootstrap admin or a user who may log in as others
//! ([`SetupAction::LoginAs`]), never as an inactive user.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use byoc_core::permissions::builtin_profiles;
use byoc_core::{Actor, SetupAction, SetupError};
use byoc_proto::admin::{NewUser, UpdateUser};
use byoc_proto::setup::User;
use serde::Deserialize;

use super::messaging::date_time;
use super::session::{session_cookie, Refused};
use super::{
    page, page_with_status, path_segment, refusal, refused_page, see_other, ConsoleSession,
    ConsoleState, Layout, PostedForm,
};
use crate::setup_service::ServiceError;

const KEY: &str = "users";
const TITLE: &str = "Users";
pub const HOME: &str = "/lightning/setup/ManageUsers/home";
pub const NEW: &str = "/lightning/setup/ManageUsers/new";

fn user_href(username: &str, action: &str) -> String {
    format!(
        "/lightning/setup/ManageUsers/{}/{action}",
        path_segment(username)
    )
}

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(HOME, get(list))
        .route(NEW, get(new_form).post(create))
        .route("/lightning/setup/ManageUsers/{username}/view", get(show))
        .route(
            "/lightning/setup/ManageUsers/{username}/edit",
            get(edit_form).post(edit),
        )
        .route(
            "/lightning/setup/ManageUsers/{username}/password",
            get(password_form).post(set_password),
        )
        .route(
            "/lightning/setup/ManageUsers/{username}/password/reset",
            post(reset_password),
        )
        .route(
            "/lightning/setup/ManageUsers/{username}/login",
            post(login_as),
        )
}

/// Refuses a read the admin API would refuse, with its message.
#[allow(clippy::result_large_err)]
fn may_view(session: &ConsoleSession, title: &str) -> Result<(), Response> {
    session
        .actor
        .authorize(SetupAction::ViewSetup)
        .map_err(|e| refused_page(session, title, KEY, e.into()))
}

/// Whether `actor` may use *Login As* at all: the admin API honours `X-Byoc-As` for the
/// bootstrap admin credential's user and for users with [`SetupAction::LoginAs`].
async fn login_as_refusal(state: &ConsoleState, actor: &Actor) -> Option<SetupError> {
    let refused = actor.authorize(SetupAction::LoginAs).err()?;
    let bootstrap = state
        .setup
        .store()
        .admin_credentials()
        .await
        .map(|all| {
            all.iter()
                .any(|c| c.username.eq_ignore_ascii_case(&actor.user.username))
        })
        .unwrap_or(false);
    (!bootstrap).then_some(refused)
}

/// Whether the *Login* button shows for `target` on this session's pages.
async fn shows_login(state: &ConsoleState, session: &ConsoleSession, target: &User) -> bool {
    target.is_active
        && session.record.real_username.is_none()
        && !target
            .username
            .eq_ignore_ascii_case(&session.actor.user.username)
        && login_as_refusal(state, &session.actor).await.is_none()
}

// ---- list ----------------------------------------------------------------------------------

struct Row {
    username: String,
    href: String,
    edit_href: String,
    login_href: Option<String>,
    email: String,
    profile: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "console/users/list.html")]
struct ListPage {
    l: Layout,
    rows: Vec<Row>,
    new_href: &'static str,
}

async fn list(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Err(r) = may_view(&session, TITLE) {
        return r;
    }
    let users = match state.setup.store().users().await {
        Ok(u) => u,
        Err(e) => return refused_page(&session, TITLE, KEY, ServiceError::from(e)),
    };
    let may_login_as = session.record.real_username.is_none()
        && login_as_refusal(&state, &session.actor).await.is_none();
    let rows = users
        .into_iter()
        .map(|u| Row {
            href: user_href(&u.username, "view"),
            edit_href: user_href(&u.username, "edit"),
            login_href: (may_login_as
                && u.is_active
                && !u
                    .username
                    .eq_ignore_ascii_case(&session.actor.user.username))
            .then(|| user_href(&u.username, "login")),
            username: u.username,
            email: u.email,
            profile: u.profile,
            active: u.is_active,
        })
        .collect();
    page(&ListPage {
        l: Layout::new(&session, TITLE, KEY),
        rows,
        new_href: NEW,
    })
}

// ---- New User ------------------------------------------------------------------------------

/// What the *New User* form holds (kept as typed when the save is refused).
#[derive(Default)]
struct UserForm {
    username: String,
    email: String,
    profile: String,
    permission_sets: Vec<String>,
    active: bool,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/users/new.html")]
struct NewPage {
    l: Layout,
    f: UserForm,
    profiles: Vec<Choice>,
    permission_sets: Vec<Choice>,
    error: Option<String>,
    action: &'static str,
    cancel: &'static str,
}

async fn new_page(
    state: &ConsoleState,
    session: &ConsoleSession,
    f: UserForm,
    error: Option<String>,
) -> NewPage {
    let profiles = builtin_profiles()
        .into_iter()
        .map(|p| Choice {
            selected: p.name == f.profile,
            value: p.name.clone(),
            label: p.name,
        })
        .collect();
    let permission_sets = state
        .setup
        .store()
        .permission_sets()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|ps| Choice {
            selected: f.permission_sets.contains(&ps.name),
            label: if ps.label.is_empty() {
                ps.name.clone()
            } else {
                ps.label.clone()
            },
            value: ps.name,
        })
        .collect();
    NewPage {
        l: Layout::new(session, "New User", KEY),
        f,
        profiles,
        permission_sets,
        error,
        action: NEW,
        cancel: HOME,
    }
}

async fn new_form(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Err(r) = may_view(&session, "New User") {
        return r;
    }
    let f = UserForm {
        profile: byoc_core::permissions::STANDARD_USER.into(),
        active: true,
        ..UserForm::default()
    };
    page(&new_page(&state, &session, f, None).await)
}

async fn create(State(state): State<ConsoleState>, form: PostedForm) -> Response {
    let f = UserForm {
        username: form.get("username").to_string(),
        email: form.get("email").to_string(),
        profile: form.get("profile").to_string(),
        permission_sets: form
            .all("permissionSets")
            .into_iter()
            .map(str::to_string)
            .collect(),
        active: form.checked("isActive"),
    };
    let input = NewUser {
        username: f.username.clone(),
        email: (!f.email.is_empty()).then(|| f.email.clone()),
        profile: f.profile.clone(),
        permission_sets: f.permission_sets.clone(),
        is_active: f.active,
    };
    match state.setup.create_user(&form.session.actor, &input).await {
        Ok(out) => see_other(&user_href(&out.record.username, "view")),
        Err(e) => {
            let (status, message) = refusal(e);
            page_with_status(
                status,
                &new_page(&state, &form.session, f, Some(message)).await,
            )
        }
    }
}

// ---- a user's page -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ShowQuery {
    /// What was just done, for the confirmation message (`saved`, `password`).
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "console/users/view.html")]
struct ViewPage {
    l: Layout,
    u: User,
    created: String,
    message: Option<String>,
    edit_href: String,
    password_href: String,
    reset_href: String,
    login_href: Option<String>,
    home: &'static str,
}

async fn show(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(username): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    if let Err(r) = may_view(&session, TITLE) {
        return r;
    }
    let u = match state.setup.user(&username).await {
        Ok(u) => u,
        Err(e) => return refused_page(&session, TITLE, KEY, e),
    };
    let message = match q.done.as_deref() {
        Some("saved") => Some(format!("Saved user {}.", u.username)),
        Some("password") => Some(format!("Changed password for user {}.", u.username)),
        _ => None,
    };
    let login_href = shows_login(&state, &session, &u)
        .await
        .then(|| user_href(&u.username, "login"));
    page(&ViewPage {
        l: Layout::new(&session, format!("User: {}", u.username), KEY),
        created: date_time(u.created_at),
        message,
        edit_href: user_href(&u.username, "edit"),
        password_href: user_href(&u.username, "password"),
        reset_href: user_href(&u.username, "password/reset"),
        login_href,
        home: HOME,
        u,
    })
}

// ---- Edit ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/users/edit.html")]
struct EditPage {
    l: Layout,
    u: User,
    f: UserForm,
    profiles: Vec<Choice>,
    permission_sets: Vec<Choice>,
    error: Option<String>,
    action: String,
    cancel: String,
}

async fn edit_page(
    state: &ConsoleState,
    session: &ConsoleSession,
    u: User,
    f: UserForm,
    error: Option<String>,
) -> EditPage {
    let choices = new_page(state, session, f, None).await;
    EditPage {
        l: Layout::new(session, format!("Edit User: {}", u.username), KEY),
        f: choices.f,
        profiles: choices.profiles,
        permission_sets: choices.permission_sets,
        error,
        action: user_href(&u.username, "edit"),
        cancel: user_href(&u.username, "view"),
        u,
    }
}

async fn edit_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(username): Path<String>,
) -> Response {
    if let Err(r) = may_view(&session, TITLE) {
        return r;
    }
    match state.setup.user(&username).await {
        Ok(u) => {
            let f = UserForm {
                username: u.username.clone(),
                email: u.email.clone(),
                profile: u.profile.clone(),
                permission_sets: u.permission_sets.clone(),
                active: u.is_active,
            };
            page(&edit_page(&state, &session, u, f, None).await)
        }
        Err(e) => refused_page(&session, TITLE, KEY, e),
    }
}

async fn edit(
    State(state): State<ConsoleState>,
    Path(username): Path<String>,
    form: PostedForm,
) -> Response {
    let f = UserForm {
        username: username.clone(),
        email: String::new(),
        profile: form.get("profile").to_string(),
        permission_sets: form
            .all("permissionSets")
            .into_iter()
            .map(str::to_string)
            .collect(),
        active: form.checked("isActive"),
    };
    let input = UpdateUser {
        is_active: Some(f.active),
        // An absent select (a hand-made post) leaves the profile as it is.
        profile: (!f.profile.is_empty()).then(|| f.profile.clone()),
        permission_sets: Some(f.permission_sets.clone()),
    };
    match state
        .setup
        .update_user(&form.session.actor, &username, &input)
        .await
    {
        Ok(out) => see_other(&format!(
            "{}?done=saved",
            user_href(&out.record.username, "view")
        )),
        Err(e) => {
            let (status, message) = refusal(e);
            match state.setup.user(&username).await {
                Ok(u) => page_with_status(
                    status,
                    &edit_page(&state, &form.session, u, f, Some(message)).await,
                ),
                Err(e) => refused_page(&form.session, TITLE, KEY, e),
            }
        }
    }
}

// ---- Set Password / Reset Password ---------------------------------------------------------

#[derive(Template)]
#[template(path = "console/users/password.html")]
struct PasswordPage {
    l: Layout,
    username: String,
    error: Option<String>,
    action: String,
    cancel: String,
}

fn password_page(session: &ConsoleSession, username: &str, error: Option<String>) -> PasswordPage {
    PasswordPage {
        l: Layout::new(session, format!("Set Password: {username}"), KEY),
        username: username.to_string(),
        error,
        action: user_href(username, "password"),
        cancel: user_href(username, "view"),
    }
}

async fn password_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(username): Path<String>,
) -> Response {
    if let Err(r) = may_view(&session, TITLE) {
        return r;
    }
    match state.setup.user(&username).await {
        Ok(u) => page(&password_page(&session, &u.username, None)),
        Err(e) => refused_page(&session, TITLE, KEY, e),
    }
}

/// What the form says when the two passwords differ (checked before the service is asked).
pub const PASSWORDS_DIFFER: &str = "Your new password and the confirmation don't match.";

async fn set_password(
    State(state): State<ConsoleState>,
    Path(username): Path<String>,
    form: PostedForm,
) -> Response {
    // Passwords are taken as typed (no trimming: spaces may be part of one).
    let field = |name: &str| {
        form.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let (password, confirm) = (field("newpassword"), field("confirmpassword"));
    let result = if password != confirm {
        Err(ServiceError::Setup(SetupError::invalid(
            "password",
            PASSWORDS_DIFFER,
        )))
    } else {
        state
            .setup
            .set_password(&form.session.actor, &username, password)
            .await
    };
    match result {
        Ok(out) => see_other(&format!(
            "{}?done=password",
            user_href(&out.record.username, "view")
        )),
        // Nothing typed is shown again: a password never goes back into a page.
        Err(e) => {
            let (status, message) = refusal(e);
            page_with_status(
                status,
                &password_page(&form.session, &username, Some(message)),
            )
        }
    }
}

#[derive(Template)]
#[template(path = "console/users/reset.html")]
struct ResetPage {
    l: Layout,
    username: String,
    password: String,
    back: String,
}

/// *Reset Password*: the answer shows the temporary password this once (it is stored only as a
/// hash; the page is `no-store`), so this POST renders instead of redirecting.
async fn reset_password(
    State(state): State<ConsoleState>,
    Path(username): Path<String>,
    form: PostedForm,
) -> Response {
    match state
        .setup
        .reset_password(&form.session.actor, &username)
        .await
    {
        Ok((out, password)) => page(&ResetPage {
            l: Layout::new(&form.session, "Reset Password", KEY),
            back: user_href(&out.record.username, "view"),
            username: out.record.username,
            password,
        }),
        Err(e) => refused_page(&form.session, TITLE, KEY, e),
    }
}

// ---- Login (Login As) ----------------------------------------------------------------------

/// *Login*: a new session as `username`, remembering who the administrator is; written to the
/// audit trail as the admin API's act-as requests are. Lands on Setup home under the banner.
async fn login_as(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    Path(username): Path<String>,
    form: PostedForm,
) -> Response {
    let session = &form.session;
    if session.record.real_username.is_some() {
        let e = SetupError::NotAllowed(format!(
            "You're already logged in as {}. Log out as {} first.",
            session.record.username, session.record.username
        ));
        return refused_page(session, TITLE, KEY, e.into());
    }
    if let Some(refused) = login_as_refusal(&state, &session.actor).await {
        return refused_page(session, TITLE, KEY, refused.into());
    }
    let target = match state.setup.user(&username).await {
        Ok(u) => u,
        Err(e) => return refused_page(session, TITLE, KEY, e),
    };
    if !target.is_active {
        let e = crate::admin_api::login_as_inactive(&target.username);
        return refused_page(session, TITLE, KEY, e.into());
    }
    let real = session.actor.user.username.clone();
    if target.username.eq_ignore_ascii_case(&real) {
        return see_other(super::home::HOME);
    }
    if let Err(e) = state.setup.record_login_as(&real, &target.username).await {
        return refused_page(session, TITLE, KEY, e);
    }
    let now = state.oauth.now();
    let created = state
        .sessions
        .create(&target.username, Some(&real), now)
        .await;
    let (id, _) = match created {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "console session could not be created");
            return Refused::Internal.into_response();
        }
    };
    // The administrator's own session ends here; *Log out as* starts a new one.
    if let Err(e) = state.sessions.delete(&session.id).await {
        tracing::warn!(error = %e, "the session before Login As could not be ended");
    }
    (jar.add(session_cookie(id)), see_other(super::home::HOME)).into_response()
}
