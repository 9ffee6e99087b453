#![allow(clippy::disallowed_methods)] // tests read the wall clock (certificates)
//! Logging in to the console like Salesforce (issue 10, item 2): passwords, sessions in the
//! database (surviving a restart, ended by logout and by deactivation), `frontdoor.jsp` with a
//! `web` token, set/reset password through the API and the Users pages, *Login As* and back.
//! Store-touching tests run on SQLite and, when reachable, PostgreSQL.

use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_client::ClientError;
use byoc_proto::admin::{AppInput, NewUser, PolicyInput, UpdateUser};
use byoc_proto::setup::PermittedUsers;
use byoc_testkit::{on_every_backend, Options, TestServer};
use reqwest::StatusCode;

use super::console::Console;

const HOME: &str = "/lightning/setup/SetupOneHome/home";
const USERS: &str = "/lightning/setup/ManageUsers/home";
const REFUSED: &str = "Please check your username and password. If you still can&#39;t log in, contact your Salesforce administrator.";

/// Logs `c` in through the login page; the answer to the POST.
async fn log_in(
    c: &mut Console,
    username: &str,
    password: &str,
    start: &str,
) -> super::console::Page {
    c.post(
        "/",
        &[
            ("username", username),
            ("pw", password),
            ("startURL", start),
        ],
    )
    .await
}

/// `text` as the console's templates escape it.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('"', "&#34;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn admin_password(server: &TestServer) -> String {
    server
        .org()
        .admin_password
        .clone()
        .expect("org.json has the admin's password")
}

fn api_message(e: ClientError) -> (u16, String) {
    match e {
        ClientError::Api { status, errors } => (status, errors[0].message.clone()),
        other => panic!("expected an API error, got {other}"),
    }
}

async fn new_user(server: &TestServer, username: &str, profile: &str) {
    server
        .admin()
        .create_user(&NewUser {
            username: username.into(),
            email: None,
            profile: profile.into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .expect("user");
}

#[tokio::test]
async fn the_login_page_checks_the_password_and_sessions_live_in_the_database() {
    for server in on_every_backend("console login", Options::default())
        .await
        .unwrap()
    {
        let admin = server.org().admin_username.clone();
        let password = admin_password(&server);
        assert!(password.len() >= 8, "generated password too short");
        let mut c = Console::new(&server);

        // Wrong password, unknown user, empty fields: the same message, the username kept, no
        // session.
        for (user, pw) in [
            (admin.as_str(), "Wrong1234"),
            ("nobody@example.com", password.as_str()),
            (admin.as_str(), ""),
            ("nul\0byte@example.com", "Sunny2day"),
        ] {
            let p = log_in(&mut c, user, pw, USERS).await;
            assert_eq!(p.status, StatusCode::OK, "{}", p.body);
            assert!(p.body.contains(REFUSED), "{}", p.body);
            assert!(
                p.body
                    .contains(&format!("value=\"{}\"", user.replace('\0', "\u{FFFD}")))
                    || p.body.contains(&format!("value=\"{user}\"")),
                "username not kept: {}",
                p.body
            );
            assert!(c.sid.is_none());
        }

        // The right password: a session, and on to startURL.
        let p = log_in(&mut c, &admin.to_uppercase(), &password, USERS).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(p.location.as_deref(), Some(USERS));
        let sid = c.sid.clone().expect("session cookie");
        let cookie = p.headers["set-cookie"].to_str().unwrap().to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert_eq!(c.get(HOME).await.status, StatusCode::OK);
        // The login page sends a logged-in browser on; startURL never leaves this host.
        let p = c.get("/?startURL=https://evil.example/").await;
        assert_eq!(p.location.as_deref(), Some(HOME));
        // A control character in a user's path is "not found" on every backend, never a 500.
        let p = c.get("/lightning/setup/ManageUsers/a%00b/view").await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.body);
        let mut other = Console::new(&server);
        let p = log_in(&mut other, &admin, &password, "//evil.example/").await;
        assert_eq!(p.location.as_deref(), Some(HOME));

        // Login History has both attempts, as Salesforce's UI logins.
        // (written in batches: wait for the flusher)
        let mut history = String::new();
        for _ in 0..50 {
            history = reqwest::Client::new()
                .get(format!("{}/admin/v1/login-history", server.org().login_url))
                .bearer_auth(&server.org().admin_token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if history.contains("\"status\":\"Success\"") && history.contains("Invalid Password") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            history.contains("\"loginType\":\"Application\""),
            "{history}"
        );
        assert!(history.contains("Invalid Password"), "{history}");

        // The session survives a restart (the org.json password too).
        let server = server.restart().await.unwrap();
        assert_eq!(admin_password(&server), password);
        let mut again = Console::new(&server);
        again.sid = Some(sid.clone());
        let p = again.get(HOME).await;
        assert_eq!(p.status, StatusCode::OK, "session lost in the restart");

        // Log Out ends it on the server: the old cookie no longer works.
        let token = p.csrf();
        let p = again
            .post("/secur/logout.jsp", &[("_csrf", token.as_str())])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let mut stale = Console::new(&server);
        stale.sid = Some(sid);
        let p = stale.get(HOME).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert!(p.location.unwrap().starts_with("/?startURL="));
        // A made-up cookie is no session either.
        stale.sid = Some("zz".repeat(32));
        assert_eq!(stale.get(HOME).await.status, StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn passwords_are_set_and_reset_through_the_api_and_deactivation_locks_out() {
    for server in on_every_backend("console passwords", Options::default())
        .await
        .unwrap()
    {
        let api = server.admin();
        let std_user = "std@console-auth.example";
        new_user(&server, std_user, "Standard User").await;

        // Salesforce's default password policy, with its messages.
        let (status, message) = api_message(api.set_password(std_user, "Ab1").await.unwrap_err());
        assert_eq!(status, 400);
        assert_eq!(message, "Your password must be at least 8 characters long.");
        let (_, message) = api_message(api.set_password(std_user, "abcdefghij").await.unwrap_err());
        assert_eq!(
            message,
            "Your password must have a mix of letters and numbers."
        );
        let (status, _) = api_message(
            api.set_password("nobody@example.com", "Sunny2day")
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 404);

        // A user who may not manage users is refused, as editing users is.
        let (status, message) = api_message(
            api.clone()
                .act_as(Some(std_user))
                .set_password(std_user, "Sunny2day")
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 403);
        assert!(
            message.contains("Manage Profiles and Permission Sets"),
            "{message}"
        );

        api.set_password(std_user, "Sunny2day").await.unwrap();
        let mut c = Console::new(&server);
        let p = log_in(&mut c, std_user, "Sunny2day", HOME).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(c.get(HOME).await.status, StatusCode::OK);

        // Reset: a temporary password, answered once; the old one stops working.
        let reset = api.reset_password(std_user).await.unwrap();
        assert_eq!(reset.username, std_user);
        let mut old = Console::new(&server);
        let p = log_in(&mut old, std_user, "Sunny2day", HOME).await;
        assert!(p.body.contains(REFUSED));
        let mut new = Console::new(&server);
        let p = log_in(&mut new, std_user, &reset.password, HOME).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);

        let trail = api.audit(Some(20)).await.unwrap();
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert!(
            actions.contains(&format!("Changed password for user {std_user}").as_str()),
            "{actions:?}"
        );
        assert!(
            actions.contains(&format!("Reset password for user {std_user}").as_str()),
            "{actions:?}"
        );

        // Deactivated: the live session stops working and the password no longer logs in.
        api.update_user(
            std_user,
            &UpdateUser {
                is_active: Some(false),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap();
        let p = c.get(HOME).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let p = c.get("/").await;
        assert_eq!(
            p.status,
            StatusCode::OK,
            "no redirect loop for a deactivated user"
        );
        let p = log_in(&mut Console::new(&server), std_user, &reset.password, HOME).await;
        assert!(p.body.contains(REFUSED), "{}", p.body);

        // The admin's own password: kept in org.json across restarts until the admin sets
        // another, then left out (the admin knows it); the new one logs in.
        let admin = server.org().admin_username.clone();
        let first = admin_password(&server);
        let server = server.restart().await.unwrap();
        assert_eq!(server.org().admin_password.as_deref(), Some(first.as_str()));
        server
            .admin()
            .set_password(&admin, "Chosen2day")
            .await
            .unwrap();
        let server = server.restart().await.unwrap();
        assert_eq!(server.org().admin_password, None);
        let p = log_in(&mut Console::new(&server), &admin, "Chosen2day", HOME).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let p = log_in(&mut Console::new(&server), &admin, &first, HOME).await;
        assert!(p.body.contains(REFUSED));
    }
}

/// An External Client App with the JWT Bearer flow and `scopes`, pre-authorized for System
/// Administrators; a token for the admin.
async fn admin_token_with(server: &TestServer, name: &str, scopes: &[&str]) -> String {
    let pair = byoc_pki::new_self_signed("partner", 30, chrono::Utc::now()).expect("cert");
    let admin = server.admin();
    let saved = admin
        .create_external_client_app(&AppInput {
            name: Some(name.into()),
            contact_email: Some("dev@partner.example".into()),
            callback_urls: Some(vec!["https://partner.example/callback".into()]),
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
            jwt_bearer_enabled: Some(true),
            certificate_pem: Some(pair.certificate_pem.clone()),
            ..AppInput::default()
        })
        .await
        .expect("eca");
    admin
        .update_external_client_app_policies(
            name,
            &PolicyInput {
                permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
                profiles: Some(vec!["System Administrator".into()]),
                ..PolicyInput::default()
            },
        )
        .await
        .expect("policies");
    JwtBearer::new(JwtBearerSettings {
        token_url: format!("{}/services/oauth2/token", server.org().login_url),
        consumer_key: saved.record.oauth.consumer_key,
        username: server.org().admin_username.clone(),
        audience: "https://login.salesforce.com".into(),
        private_key_pem: pair.private_key_pem,
    })
    .expect("provider")
    .fetch()
    .await
    .expect("token")
    .access_token
}

#[tokio::test]
async fn frontdoor_takes_a_web_token_but_not_an_api_only_one() {
    let server = TestServer::start().await.unwrap();
    let web = admin_token_with(&server, "Web App", &["web", "refresh_token"]).await;
    let api = admin_token_with(&server, "Api App", &["api", "refresh_token"]).await;

    let mut c = Console::new(&server);
    let p = c
        .get(&format!("/secur/frontdoor.jsp?sid={api}&retURL={USERS}"))
        .await;
    assert_eq!(p.location.as_deref(), Some("/"));
    assert!(c.sid.is_none(), "an api-only token logged a browser in");

    let p = c
        .get(&format!("/secur/frontdoor.jsp?sid={web}&retURL={USERS}"))
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some(USERS));
    assert!(c.sid.is_some());
    assert_eq!(c.get(HOME).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_users_pages_create_edit_and_set_and_reset_passwords() {
    let server = TestServer::start().await.unwrap();
    let mut admin = Console::admin(&server).await;

    // The list, with Setup's columns.
    let p = admin.get(USERS).await;
    assert_eq!(p.status, StatusCode::OK);
    for column in ["Username", "Email", "Profile", "Active", "New User"] {
        assert!(p.body.contains(column), "missing {column}: {}", p.body);
    }
    assert!(p.body.contains(&server.org().admin_username));

    // New User: a refusal keeps what was typed, with the API's message.
    let p = admin
        .submit(
            "/lightning/setup/ManageUsers/new",
            "/lightning/setup/ManageUsers/new",
            &[
                ("username", "not an email"),
                ("email", "kept@example.com"),
                ("profile", "Standard User"),
                ("isActive", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(p.body.contains("class=\"message error\" role=\"alert\""));
    assert!(p.body.contains("value=\"kept@example.com\""));
    let p = admin
        .submit(
            "/lightning/setup/ManageUsers/new",
            "/lightning/setup/ManageUsers/new",
            &[
                ("username", "jane@acme.example.com"),
                ("email", ""),
                ("profile", "Standard User"),
                ("isActive", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let view = p.location.unwrap();
    assert_eq!(
        view,
        "/lightning/setup/ManageUsers/jane%40acme.example.com/view"
    );
    let p = admin.get(&view).await;
    assert!(p.body.contains("Standard User") && p.body.contains("Set Password"));
    assert!(
        p.body.contains(">Login</button>"),
        "the admin may log in as Jane"
    );

    // Set Password: the policy's message, mismatches caught, nothing typed shown again.
    let form = "/lightning/setup/ManageUsers/jane%40acme.example.com/password";
    let p = admin
        .submit(
            form,
            form,
            &[("newpassword", "short1"), ("confirmpassword", "short1")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p
        .body
        .contains("Your password must be at least 8 characters long."));
    assert!(!p.body.contains("short1"));
    let p = admin
        .submit(
            form,
            form,
            &[
                ("newpassword", "Sunny2day"),
                ("confirmpassword", "Sunny3day"),
            ],
        )
        .await;
    assert!(p.body.contains("don&#39;t match"), "{}", p.body);
    let p = admin
        .submit(
            form,
            form,
            &[
                ("newpassword", "Sunny2day"),
                ("confirmpassword", "Sunny2day"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = admin.get(p.location.as_deref().unwrap()).await;
    assert!(p
        .body
        .contains("Changed password for user jane@acme.example.com."));
    let mut jane = Console::new(&server);
    let p = log_in(&mut jane, "jane@acme.example.com", "Sunny2day", HOME).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);

    // Reset Password: the temporary password is on the answer, once.
    let p = admin
        .submit(
            &view,
            "/lightning/setup/ManageUsers/jane%40acme.example.com/password/reset",
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let start = p.body.find("<p><code>").expect("temporary password") + "<p><code>".len();
    let temporary = &p.body[start..start + 12];
    assert_eq!(p.headers["cache-control"], "no-store");
    let p = log_in(
        &mut Console::new(&server),
        "jane@acme.example.com",
        temporary,
        HOME,
    )
    .await;
    assert_eq!(
        p.status,
        StatusCode::SEE_OTHER,
        "the temporary password logs in"
    );

    // A Standard User sees the refusal the API gives, and no Login button.
    let p = jane.get(USERS).await;
    assert!(!p.body.contains(">Login</button>"));
    let p = jane
        .submit(
            HOME,
            form,
            &[
                ("newpassword", "Sunny4day"),
                ("confirmpassword", "Sunny4day"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    let api = server.admin().act_as(Some("jane@acme.example.com"));
    let (_, message) = api_message(
        api.set_password("jane@acme.example.com", "Sunny4day")
            .await
            .unwrap_err(),
    );
    assert!(
        p.body.contains(&html(&message)),
        "page and API differ: {message} / {}",
        p.body
    );

    // Edit: deactivate; the user's console session ends.
    let edit = "/lightning/setup/ManageUsers/jane%40acme.example.com/edit";
    let p = admin.submit(edit, edit, &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(
        !server
            .admin()
            .user("jane@acme.example.com")
            .await
            .unwrap()
            .is_active
    );
    assert_eq!(jane.get(HOME).await.status, StatusCode::SEE_OTHER);
    // Deactivating yourself is refused with the API's message, the checkbox as typed.
    let me = format!(
        "/lightning/setup/ManageUsers/{}/edit",
        server.org().admin_username.replace('@', "%40")
    );
    let p = admin.submit(&me, &me, &[]).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(
        p.body.contains("can&#39;t deactivate their own user"),
        "{}",
        p.body
    );

    // Edit: profile, permission set assignments and Active in one save, each audited.
    server
        .admin()
        .create_permission_set(&byoc_proto::admin::NewPermissionSet {
            name: "Console_Testers".into(),
            label: Some("Console Testers".into()),
            permissions: vec![],
            object_permissions: vec![],
        })
        .await
        .unwrap();
    let p = admin.get(edit).await;
    assert!(
        p.body.contains("Console Testers (Console_Testers)"),
        "{}",
        p.body
    );
    let p = admin
        .submit(
            edit,
            edit,
            &[
                ("profile", "System Administrator"),
                ("permissionSets", "Console_Testers"),
                ("isActive", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let jane_now = server.admin().user("jane@acme.example.com").await.unwrap();
    assert!(jane_now.is_active);
    assert_eq!(jane_now.profile, "System Administrator");
    assert_eq!(jane_now.permission_sets, ["Console_Testers"]);
    let actions: Vec<String> = server
        .admin()
        .audit(Some(5))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for expected in [
        "Changed profile for user jane@acme.example.com from Standard User to System Administrator",
        "Permission set Console_Testers: assigned to user jane@acme.example.com",
        "Activated user jane@acme.example.com",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected}: {actions:?}"
        );
    }
    // Your own profile stays as it is: the API's message, what was chosen kept.
    let p = admin
        .submit(&me, &me, &[("profile", "Standard User"), ("isActive", "1")])
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(
        p.body.contains("can&#39;t change their own profile"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("<option value=\"Standard User\" selected>"),
        "{}",
        p.body
    );
}

#[tokio::test]
async fn login_as_is_for_admins_only_and_logout_as_comes_back() {
    for server in on_every_backend("console login as", Options::default())
        .await
        .unwrap()
    {
        let std_user = "agent@console-auth.example";
        let other = "other@console-auth.example";
        new_user(&server, std_user, "Standard User").await;
        new_user(&server, other, "Standard User").await;
        let api = server.admin();
        api.set_password(std_user, "Sunny2day").await.unwrap();

        // The admin logs in as the user: Setup home under the banner, acting as them.
        let mut admin = Console::new(&server);
        let p = log_in(
            &mut admin,
            &server.org().admin_username,
            &admin_password(&server),
            USERS,
        )
        .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let admin_sid = admin.sid.clone().unwrap();
        let login = "/lightning/setup/ManageUsers/agent%40console-auth.example/login";
        let p = admin.submit(USERS, login, &[]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(p.location.as_deref(), Some(HOME));
        assert_ne!(admin.sid.as_deref(), Some(admin_sid.as_str()));
        let p = admin.get(HOME).await;
        assert!(p.body.contains("login-as-banner"), "{}", p.body);
        assert!(p.body.contains(&format!("Log out as {std_user}")));
        let trail = api.audit(Some(5)).await.unwrap();
        assert!(
            trail
                .iter()
                .any(|e| e.action == format!("Logged in using Login-As access for {std_user}")),
            "{trail:?}"
        );
        // The old admin session is gone.
        let mut old = Console::new(&server);
        old.sid = Some(admin_sid);
        assert_eq!(old.get(HOME).await.status, StatusCode::SEE_OTHER);
        // As the Standard User, writes are theirs: refused as the API refuses them.
        let edit = "/lightning/setup/ManageUsers/other%40console-auth.example/edit";
        let p = admin.submit(HOME, edit, &[]).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);

        // Log out as: back to the admin's own session, on the Users page.
        let p = admin.submit(HOME, "/secur/logout-as", &[]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert_eq!(p.location.as_deref(), Some(USERS));
        let p = admin.get(USERS).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(!p.body.contains("login-as-banner"));
        assert!(p.body.contains(">Login</button>"));

        // A Standard User may not log in as anyone: the API's message.
        let mut agent = Console::new(&server);
        log_in(&mut agent, std_user, "Sunny2day", HOME).await;
        let p = agent.get(USERS).await;
        assert!(!p.body.contains(">Login</button>"));
        let p = agent
            .submit(
                HOME,
                "/lightning/setup/ManageUsers/other%40console-auth.example/login",
                &[],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
        // The API's words for it (the rule behind `X-Byoc-As`).
        let expected = byoc_core::Actor::new(api.user(std_user).await.unwrap(), &[])
            .authorize(byoc_core::SetupAction::LoginAs)
            .unwrap_err()
            .to_string();
        assert!(p.body.contains(&html(&expected)), "{expected}\n{}", p.body);

        // Never as an inactive user: the API's message.
        api.update_user(
            other,
            &UpdateUser {
                is_active: Some(false),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap();
        let p = admin
            .submit(
                USERS,
                "/lightning/setup/ManageUsers/other%40console-auth.example/login",
                &[],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
        assert!(
            p.body.contains(&format!(
                "User {other} is inactive: no one can log in as an inactive user."
            )),
            "{}",
            p.body
        );
        let p = admin
            .get("/lightning/setup/ManageUsers/other%40console-auth.example/view")
            .await;
        assert!(!p.body.contains(">Login</button>"));
    }
}
