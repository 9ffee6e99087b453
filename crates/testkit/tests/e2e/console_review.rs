//! The console tried as an attacker would (and as a user who types odd things): names that can
//! name no record, repeated form fields, over-long and malformed bodies, return URLs that leave
//! the site. Each test here is the regression test of a defect found by that review.

use byoc_proto::admin::NewUser;
use byoc_testkit::TestServer;
use reqwest::StatusCode;

use crate::console::Console;

const HOME: &str = "/lightning/setup/SetupOneHome/home";
const ECA: &str = "/lightning/setup/ManageExternalClientApplication";
const SAMPLE_APP: &str = "BYOC_Sample_App";

#[tokio::test]
async fn names_with_nul_are_not_found_on_every_backend() {
    let servers = byoc_testkit::on_every_backend("console review nul", Default::default())
        .await
        .unwrap();
    for server in servers {
        let mut c = Console::admin(&server).await;
        // PostgreSQL can't compare text with NUL: these were 500s there.
        for path in [
            format!("{ECA}/a%00b/view"),
            format!("{ECA}/a%00b/policies"),
            format!("{ECA}/a%00b/edit"),
            format!("{ECA}/a%00b/delete"),
            "/lightning/setup/ConnectedApplication/a%00b/view".to_string(),
            "/lightning/setup/ConnectedApplication/a%00b/profiles".to_string(),
            "/lightning/setup/ManageUsers/a%00b%40example.com/view".to_string(),
            "/lightning/setup/ManageUsers/a%00b%40example.com/password".to_string(),
        ] {
            let p = c.get(&path).await;
            assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}: {}", p.body);
            assert!(p.body.contains("role=\"alert\""), "{path}: {}", p.body);
        }
        // A form field naming a record, with NUL: not found, not a database error.
        let p = c
            .submit(
                &format!("{ECA}/{SAMPLE_APP}/policies/edit"),
                &format!("{ECA}/{SAMPLE_APP}/policies/edit"),
                &[("confirmed", "1"), ("profiles", "Nope\0")],
            )
            .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.body);
        // Logging in with NUL in the username is the ordinary refusal.
        let mut anon = Console::new(&server);
        let p = anon
            .post("/", &[("username", "admin\0@example.com"), ("pw", "x")])
            .await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert!(p.body.contains("Please check your username and password"));
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn checkbox_groups_with_several_values_are_saved() {
    let server = TestServer::start().await.unwrap();
    let api = server.admin();
    let mut c = Console::admin(&server).await;
    // Two profiles checked send `profiles` twice; that was refused as "could not be read".
    let form = format!("{ECA}/{SAMPLE_APP}/policies/edit");
    let p = c
        .submit(
            &form,
            &form,
            &[
                ("permitted_users", "AdminApprovedPreAuthorized"),
                ("confirmed", "1"),
                ("profiles", "System Administrator"),
                ("profiles", "Standard User"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let app = api.external_client_app(SAMPLE_APP).await.unwrap();
    let mut profiles = app.policies.profiles.clone();
    profiles.sort();
    assert_eq!(profiles, ["Standard User", "System Administrator"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn return_urls_with_whitespace_or_control_characters_go_home() {
    let server = TestServer::start().await.unwrap();
    let org = server.org().clone();
    let password = org
        .admin_password
        .clone()
        .expect("admin_password in org.json");
    // Browsers drop tabs and newlines from a Location: `/\t/evil` would be `//evil`. A newline
    // can't be in a header at all (that was a 303 without a Location).
    for ret in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/ /evil.example",
        "/\u{3000}/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
    ] {
        let mut anon = Console::new(&server);
        let p = anon
            .post(
                "/",
                &[
                    ("username", org.admin_username.as_str()),
                    ("pw", password.as_str()),
                    ("startURL", ret),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{ret:?}");
        assert_eq!(p.location.as_deref(), Some(HOME), "{ret:?}");

        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("sid", &org.admin_token)
            .append_pair("retURL", ret)
            .finish();
        let p = Console::new(&server)
            .get(&format!("/secur/frontdoor.jsp?{q}"))
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{ret:?}");
        assert_eq!(p.location.as_deref(), Some(HOME), "{ret:?}");
    }
    // A path of this console still comes back.
    let mut anon = Console::new(&server);
    let p = anon
        .post(
            "/",
            &[
                ("username", org.admin_username.as_str()),
                ("pw", password.as_str()),
                (
                    "startURL",
                    "/lightning/setup/LiveMessageSetup/BYOC%20Sample%20Channel/view",
                ),
            ],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/lightning/setup/LiveMessageSetup/BYOC%20Sample%20Channel/view")
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn oversized_and_malformed_forms_are_told_apart() {
    let server = TestServer::start().await.unwrap();
    let mut c = Console::admin(&server).await;
    let token = c.get(&format!("{ECA}/new")).await.csrf();

    // A 2.1 MB "certificate": 413 with a message saying what to choose, not 403.
    let form = reqwest::multipart::Form::new()
        .text("_csrf", token.clone())
        .text("name", "Big")
        .part(
            "certificate",
            reqwest::multipart::Part::bytes(vec![b'A'; 2_100_000]).file_name("big.pem"),
        );
    let p = c.post_multipart(&format!("{ECA}/new"), form).await;
    assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", p.body);
    assert!(p.body.contains("certificate"), "{}", p.body);
    assert!(p.headers.contains_key("content-security-policy"));

    // A multipart body that breaks off: 400, not 403 (it is no CSRF failure).
    let body = format!(
        "--xx\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--xx\r\nbroken"
    );
    let req = c
        .request(reqwest::Method::POST, &format!("{ECA}/new"))
        .header("content-type", "multipart/form-data; boundary=xx")
        .body(body);
    let p = c.send(req).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);

    // An urlencoded form over 256 KB: 413.
    let big = "A".repeat(300_000);
    let p = c
        .post(
            "/lightning/setup/LiveMessageSetup/new",
            &[("_csrf", token.as_str()), ("name", big.as_str())],
        )
        .await;
    assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", p.body);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_console_paths_get_the_consoles_404_with_its_headers() {
    let server = TestServer::start().await.unwrap();
    let mut c = Console::admin(&server).await;
    // These were the API's JSON 404 without the console's Content-Security-Policy.
    for path in [
        "/lightning/setup/NoSuchPage/home",
        "/lightning/setup/ManageUsers/x/view/extra",
        "/secur/nothing.jsp",
        "/console/assets/0.0.0/console.css",
    ] {
        let p = c.get(path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
        assert!(p.headers.contains_key("content-security-policy"), "{path}");
        assert!(
            p.body.contains("The requested resource does not exist"),
            "{path}: {}",
            p.body
        );
        assert!(p.body.contains("role=\"alert\""), "{path}: {}", p.body);
    }
    // Logged out: the same words, no redirect to the login page for a page that isn't there.
    let p = Console::new(&server)
        .get("/lightning/setup/NoSuchPage/home")
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.headers.contains_key("content-security-policy"));
    // Pages that exist still win over the catch-all, and the API keeps its JSON 404.
    assert_eq!(c.get(HOME).await.status, StatusCode::OK);
    let p = c.get(&format!("{ECA}/{SAMPLE_APP}/view")).await;
    assert_eq!(p.status, StatusCode::OK);
    let p = c.get("/services/data/v99.0/nothing").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.body.contains("NOT_FOUND"), "{}", p.body);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn login_history_filtered_by_a_username_with_nul_is_empty_on_every_backend() {
    let servers = byoc_testkit::on_every_backend("console review history", Default::default())
        .await
        .unwrap();
    for server in servers {
        let mut c = Console::admin(&server).await;
        // A failed login, so the history is not empty.
        Console::new(&server)
            .post("/", &[("username", "nobody@example.com"), ("pw", "x")])
            .await;
        // That was a PostgreSQL error (500) once the filter reached the database.
        for q in ["username=a%00b", "username=%00"] {
            let p = c
                .get(&format!("/lightning/setup/OrgLoginHistory/home?{q}"))
                .await;
            assert_eq!(p.status, StatusCode::OK, "{q}: {}", p.body);
            assert!(!p.body.contains("nobody@example.com"), "{q}");
        }
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_new_app_forms_need_view_setup_like_every_other_setup_page() {
    let server = TestServer::start().await.unwrap();
    let api = server.admin();
    api.create_user(&NewUser {
        username: "std@customer.example".into(),
        email: None,
        profile: "Standard User".into(),
        permission_sets: vec![],
        is_active: true,
    })
    .await
    .unwrap();
    api.set_password("std@customer.example", "Sunny2day")
        .await
        .unwrap();
    let mut c = Console::new(&server);
    let p = c
        .post(
            "/",
            &[("username", "std@customer.example"), ("pw", "Sunny2day")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    // The manager's list refuses with the API's message; its New form showed (200) anyway.
    let list = c.get(&format!("{ECA}/home")).await;
    assert_eq!(list.status, StatusCode::FORBIDDEN);
    for path in [
        format!("{ECA}/new"),
        "/lightning/setup/ExternalClientAppSettings/newConnectedApp".to_string(),
    ] {
        let p = c.get(&path).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
        assert!(p.body.contains("View Setup and Configuration"), "{path}");
        assert!(!p.body.contains("name=\"certificate\""), "{path}");
    }
    server.stop().await.unwrap();
}

/// The *New External Client App* / *New Connected App* form with `file` as the certificate.
fn app_form(
    csrf: &str,
    name: &str,
    email: &str,
    jwt_field: &str,
    file: &str,
) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("_csrf", csrf.to_string())
        .text("name", name.to_string())
        .text("api_name", "")
        .text("contact_email", email.to_string())
        .text("distribution_state", "Local")
        .text("oauth_enabled", "1")
        .text("callback_urls", "https://login.salesforce.com")
        .text("scopes", "interaction_api")
        .text(jwt_field.to_string(), "1")
        .part(
            "certificate",
            reqwest::multipart::Part::bytes(file.as_bytes().to_vec()).file_name("server.key"),
        )
}

#[tokio::test]
async fn a_private_key_chosen_as_the_certificate_is_refused_and_never_echoed() {
    let server = TestServer::start().await.unwrap();
    server
        .admin()
        .update_org(&byoc_proto::admin::UpdateOrg {
            allow_connected_app_creation: Some(true),
        })
        .await
        .unwrap();
    #[allow(clippy::disallowed_methods)] // a certificate valid from now, as the user's would be
    let pair = byoc_pki::new_self_signed("review", 30, chrono::Utc::now()).unwrap();
    let key_line = pair.private_key_pem.lines().nth(1).unwrap().to_string();
    let mut c = Console::admin(&server).await;
    for (path, jwt_field) in [
        (format!("{ECA}/new"), "jwt_bearer"),
        (
            "/lightning/setup/ExternalClientAppSettings/newConnectedApp".to_string(),
            "use_digital_signatures",
        ),
    ] {
        let csrf = c.get(&path).await.csrf();
        // The help page's classic mistake: server.key instead of server.crt. The refusal said
        // so, and the re-rendered form carried the key back in a hidden field.
        let form = app_form(
            &csrf,
            "Keyed",
            "admin@customer.example",
            jwt_field,
            &pair.private_key_pem,
        );
        let p = c.post_multipart(&path, form).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{path}: {}", p.body);
        assert!(p.body.contains("private key"), "{path}: {}", p.body);
        assert!(!p.body.contains("PRIVATE KEY"), "{path}");
        assert!(!p.body.contains(&key_line), "{path}");
        assert!(
            p.body.contains("value=\"Keyed\""),
            "{path}: the name is kept"
        );
        // A bundle with the certificate and the key: not carried either.
        let bundle = format!("{}{}", pair.certificate_pem, pair.private_key_pem);
        let form = app_form(&csrf, "Keyed", "not-an-email", jwt_field, &bundle);
        let p = c.post_multipart(&path, form).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{path}: {}", p.body);
        assert!(!p.body.contains(&key_line), "{path}");
        // A certificate with another mistake is still carried, so it need not be chosen again.
        let form = app_form(
            &csrf,
            "Keyed",
            "not-an-email",
            jwt_field,
            &pair.certificate_pem,
        );
        let p = c.post_multipart(&path, form).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{path}: {}", p.body);
        assert!(
            p.body.contains("name=\"certificate_pem\""),
            "{path}: {}",
            p.body
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_failed_login_records_at_most_what_the_token_endpoint_records() {
    let server = TestServer::start().await.unwrap();
    let api = server.admin();
    let long = format!("{}@example.com", "x".repeat(100_000));
    let p = Console::new(&server)
        .post("/", &[("username", long.as_str()), ("pw", "wrong")])
        .await;
    assert_eq!(p.status, StatusCode::OK);
    // Written a few milliseconds later (batched).
    let mut entries = Vec::new();
    for _ in 0..50 {
        entries = api
            .login_history(&byoc_proto::oauth::LoginHistoryQuery {
                limit: Some(10),
                ..Default::default()
            })
            .await
            .unwrap();
        if !entries.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let failed = entries
        .iter()
        .find(|e| e.username.starts_with("xxxx"))
        .expect("the failed login is recorded");
    // Was the whole 100 KB: anyone can post the login form.
    assert_eq!(failed.username.chars().count(), 255);
    server.stop().await.unwrap();
}
