#![allow(clippy::disallowed_methods)] // tests read the wall clock for certificates
//! The console's app pages over HTTP, as a browser without JavaScript uses them: External Client
//! App Manager (create with a certificate, refusals, policies with and without the confirmation
//! step, the consumer key behind its step, delete), External Client App Settings (the Spring '26
//! gate and *New Connected App*), Manage Connected Apps (policies, profiles, migration), and a
//! user without permission getting the API's refusal.

use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_proto::admin::{AppInput, NewUser, PolicyInput};
use byoc_proto::setup::{App, PermittedUsers};
use byoc_testkit::TestServer;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;

use crate::console::{Console, Page};

const ECA: &str = "/lightning/setup/ManageExternalClientApplication";
const SETTINGS: &str = "/lightning/setup/ExternalClientAppSettings/home";
const NEW_CA: &str = "/lightning/setup/ExternalClientAppSettings/newConnectedApp";
const CA: &str = "/lightning/setup/ConnectedApplication";

/// Text as askama escapes it in a page.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn certificate() -> byoc_pki::SelfSigned {
    byoc_pki::new_self_signed("console", 30, chrono::Utc::now()).expect("certificate")
}

/// The *New External Client App* form as a browser posts it (multipart, with the file).
fn eca_form(csrf: &str, name: &str, cert_pem: &str) -> Form {
    eca_form_with_api_name(csrf, name, "", cert_pem)
}

fn eca_form_with_api_name(csrf: &str, name: &str, api_name: &str, cert_pem: &str) -> Form {
    Form::new()
        .text("_csrf", csrf.to_string())
        .text("name", name.to_string())
        .text("api_name", api_name.to_string())
        .text("contact_email", "admin@customer.example")
        .text("distribution_state", "Local")
        .text("description", "")
        .text("oauth_enabled", "1")
        .text("callback_urls", "https://login.salesforce.com")
        .text("scopes", "interaction_api")
        .text("scopes", "refresh_token offline_access")
        .text("jwt_bearer", "1")
        .part(
            "certificate",
            Part::bytes(cert_pem.as_bytes().to_vec()).file_name("server.crt"),
        )
}

/// What must be equal between two apps created with the same settings.
fn settings_of(app: &App) -> impl PartialEq + std::fmt::Debug {
    (
        app.kind,
        app.contact_email.clone(),
        app.description.clone(),
        app.distribution_state.clone(),
        app.oauth.is_enabled,
        app.oauth.callback_urls.clone(),
        app.oauth.scopes.clone(),
        app.oauth.jwt_bearer_enabled,
        app.oauth.client_credentials_enabled,
        app.oauth.certificate.clone(),
        app.policies.clone(),
    )
}

fn assert_redirect(p: &Page, to: &str) {
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some(to), "{}", p.body);
}

#[tokio::test]
async fn external_client_app_manager_create_refuse_policies_reveal_delete() {
    let server = TestServer::start().await.unwrap();
    let admin_api = server.admin();
    let mut c = Console::admin(&server).await;
    let pair = certificate();

    // The list and the New form, with Setup's labels.
    let list = c.get(&format!("{ECA}/home")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("New External Client App"),
        "{}",
        list.body
    );
    let form = c.get(&format!("{ECA}/new")).await;
    assert_eq!(form.status, StatusCode::OK);
    for label in [
        "External Client App Name",
        "API Name",
        "Contact Email",
        "Distribution State",
        "Enable OAuth",
        "Callback URL",
        "Enable JWT Bearer Flow",
        "Access Interaction API resources (interaction_api)",
        "Perform requests at any time (refresh_token, offline_access)",
        "Manage user data via APIs (api)",
        "Full access (full)",
        "Manage user data via Web browsers (web)",
    ] {
        assert!(form.body.contains(label), "{label} missing: {}", form.body);
    }

    // Create with the certificate; the API Name is filled in from the name.
    let csrf = form.csrf();
    let p = c
        .post_multipart(
            &format!("{ECA}/new"),
            eca_form(&csrf, "Console Chat", &pair.certificate_pem),
        )
        .await;
    assert_redirect(&p, &format!("{ECA}/Console_Chat/view"));

    // It equals what the CLI creates (the README's `byoc setup eca create` flags).
    let from_console = admin_api.external_client_app("Console_Chat").await.unwrap();
    let from_cli = admin_api
        .create_external_client_app(&AppInput {
            name: Some("Cli Chat".into()),
            contact_email: Some("admin@customer.example".into()),
            callback_urls: Some(vec!["https://login.salesforce.com".into()]),
            scopes: Some(vec![
                "interaction_api".into(),
                "refresh_token".into(),
                "offline_access".into(),
            ]),
            jwt_bearer_enabled: Some(true),
            certificate_pem: Some(pair.certificate_pem.clone()),
            ..AppInput::default()
        })
        .await
        .unwrap()
        .record;
    assert_eq!(settings_of(&from_console), settings_of(&from_cli));
    assert!(from_console.oauth.certificate.is_some());

    // The app's page: Settings tab with Setup's scope labels, no secret anywhere.
    let view = c.get(&format!("{ECA}/Console_Chat/view")).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(view
        .body
        .contains("Access Interaction API resources (interaction_api)"));
    assert!(view.body.contains("Consumer Key and Secret"));
    assert!(!view.body.contains(&from_console.oauth.consumer_key));

    // A refused create (duplicate name): the API's message, what was typed kept.
    let err = admin_api
        .create_external_client_app(&AppInput {
            name: Some("Console Chat".into()),
            ..from_cli_input(&pair)
        })
        .await
        .unwrap_err()
        .to_string();
    let csrf = c.get(&format!("{ECA}/new")).await.csrf();
    let p = c
        .post_multipart(
            &format!("{ECA}/new"),
            eca_form(&csrf, "Console Chat", &pair.certificate_pem),
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains(&html(&err)), "{err} not in {}", p.body);
    assert!(p.body.contains("role=\"alert\""));
    assert!(p.body.contains("value=\"Console Chat\""));
    assert!(p.body.contains("value=\"admin@customer.example\""));
    assert!(
        p.body.contains("name=\"certificate_pem\""),
        "certificate kept"
    );
    assert!(p
        .body
        .contains("value=\"interaction_api\" selected>Access Interaction API resources"));

    // A typed API Name that differs from the derived one is refused before anything is written.
    let csrf = c.get(&format!("{ECA}/new")).await.csrf();
    let p = c
        .post_multipart(
            &format!("{ECA}/new"),
            eca_form_with_api_name(&csrf, "Other Chat", "Something_Else", &pair.certificate_pem),
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(
        p.body.contains("The API Name must be Other_Chat"),
        "{}",
        p.body
    );
    assert!(p.body.contains("value=\"Something_Else\""));
    assert!(admin_api.external_client_app("Other_Chat").await.is_err());

    // Policies: switching to admin-approved without JavaScript shows the confirmation step.
    let edit = format!("{ECA}/Console_Chat/policies/edit");
    let page = c.get(&edit).await;
    assert!(page
        .body
        .contains("Admin approved users are pre-authorized"));
    assert!(page.body.contains("data-ack-confirm="));
    let csrf = page.csrf();
    let fields = [
        ("_csrf", csrf.as_str()),
        ("confirmed", ""),
        ("permitted_users", "AdminApprovedPreAuthorized"),
        ("profiles", "System Administrator"),
    ];
    let p = c.post(&edit, &fields).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body
            .contains(&html(byoc_core::setup::ADMIN_APPROVED_WARNING)),
        "{}",
        p.body
    );
    assert!(p.body.contains(">OK</button>") && p.body.contains(">Cancel</a>"));
    let unchanged = admin_api.external_client_app("Console_Chat").await.unwrap();
    assert_eq!(
        unchanged.policies.permitted_users,
        PermittedUsers::AllSelfAuthorized
    );
    // OK posts the carried fields with confirmed=1 (what the dialog's OK does with JavaScript).
    assert!(p.body.contains("name=\"confirmed\" value=\"1\""));
    assert!(p
        .body
        .contains("name=\"profiles\" value=\"System Administrator\""));
    let ok = [
        ("_csrf", csrf.as_str()),
        ("permitted_users", "AdminApprovedPreAuthorized"),
        ("profiles", "System Administrator"),
        ("confirmed", "1"),
    ];
    let p = c.post(&edit, &ok).await;
    assert_redirect(&p, &format!("{ECA}/Console_Chat/policies"));
    let app = admin_api.external_client_app("Console_Chat").await.unwrap();
    assert_eq!(
        app.policies.permitted_users,
        PermittedUsers::AdminApprovedPreAuthorized
    );
    assert_eq!(app.policies.profiles, ["System Administrator"]);
    let tab = c.get(&format!("{ECA}/Console_Chat/policies")).await;
    assert!(tab.body.contains("Admin approved users are pre-authorized"));
    // Back to self-authorize: no confirmation is needed.
    let p = c
        .post(
            &edit,
            &[
                ("_csrf", csrf.as_str()),
                ("permitted_users", "AllSelfAuthorized"),
            ],
        )
        .await;
    assert_redirect(&p, &format!("{ECA}/Console_Chat/policies"));
    let app = admin_api.external_client_app("Console_Chat").await.unwrap();
    assert_eq!(
        app.policies.permitted_users,
        PermittedUsers::AllSelfAuthorized
    );
    assert!(app.policies.profiles.is_empty());

    // Consumer Key and Secret: only after the explicit POST, and recorded in the audit trail.
    let p = c
        .post(
            &format!("{ECA}/Console_Chat/consumer"),
            &[("_csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains(&app.oauth.consumer_key));
    assert!(p.body.contains("Consumer Secret"));
    let audit = admin_api.audit(Some(20)).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action
            == "Viewed the consumer key and secret of External Client App Console Chat"));
    // Without the CSRF token nothing is shown.
    let p = c.post(&format!("{ECA}/Console_Chat/consumer"), &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // Edit Settings keeps the certificate when no file is chosen.
    let edit_page = c.get(&format!("{ECA}/Console_Chat/edit")).await;
    assert!(edit_page.body.contains("The app has a certificate"));
    let p = c
        .post_multipart(
            &format!("{ECA}/Console_Chat/edit"),
            Form::new()
                .text("_csrf", edit_page.csrf())
                .text("name", "Console Chat")
                .text("contact_email", "ops@customer.example")
                .text("description", "Edited in the console")
                .text("oauth_enabled", "1")
                .text("callback_urls", "https://login.salesforce.com")
                .text("scopes", "interaction_api")
                .text("scopes", "refresh_token offline_access")
                .text("jwt_bearer", "1")
                .part("certificate", Part::bytes(vec![]).file_name("")),
        )
        .await;
    assert_redirect(&p, &format!("{ECA}/Console_Chat/view"));
    let app = admin_api.external_client_app("Console_Chat").await.unwrap();
    assert_eq!(app.contact_email, "ops@customer.example");
    assert_eq!(app.oauth.certificate, from_console.oauth.certificate);

    // Delete, with its confirmation page.
    let confirm = c.get(&format!("{ECA}/Console_Chat/delete")).await;
    assert!(confirm.body.contains("Are you sure"));
    let p = c
        .post(
            &format!("{ECA}/Console_Chat/delete"),
            &[("_csrf", confirm.csrf().as_str()), ("confirmed", "1")],
        )
        .await;
    assert_redirect(&p, &format!("{ECA}/home"));
    assert!(admin_api.external_client_app("Console_Chat").await.is_err());
    let gone = c.get(&format!("{ECA}/Console_Chat/view")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    server.stop().await.unwrap();
}

fn from_cli_input(pair: &byoc_pki::SelfSigned) -> AppInput {
    AppInput {
        name: Some("x".into()),
        contact_email: Some("admin@customer.example".into()),
        callback_urls: Some(vec!["https://login.salesforce.com".into()]),
        scopes: Some(vec!["interaction_api".into()]),
        jwt_bearer_enabled: Some(true),
        certificate_pem: Some(pair.certificate_pem.clone()),
        ..AppInput::default()
    }
}

/// The *New Connected App* form as a browser posts it.
fn ca_form(csrf: &str, name: &str, cert_pem: &str) -> Form {
    Form::new()
        .text("_csrf", csrf.to_string())
        .text("name", name.to_string())
        .text("api_name", "")
        .text("contact_email", "admin@customer.example")
        .text("oauth_enabled", "1")
        .text("callback_urls", "https://login.salesforce.com")
        .text("use_digital_signatures", "1")
        .part(
            "certificate",
            Part::bytes(cert_pem.as_bytes().to_vec()).file_name("server.crt"),
        )
        .text("scopes", "interaction_api")
        .text("scopes", "refresh_token offline_access")
}

#[tokio::test]
async fn connected_apps_spring_26_gate_policies_profiles_and_migration() {
    let server = TestServer::start().await.unwrap();
    let admin_api = server.admin();
    let mut c = Console::admin(&server).await;
    let pair = certificate();

    // Creation is off: the Spring '26 message, no New Connected App button.
    let page = c.get(SETTINGS).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains("Connected apps creation is restricted as of Spring"));
    assert!(!page.body.contains(NEW_CA));
    // Posting the form anyway: the API's refusal, the typed name kept.
    let csrf = page.csrf();
    let p = c
        .post_multipart(NEW_CA, ca_form(&csrf, "Legacy App", &pair.certificate_pem))
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains(&html(
        "You can't create a connected app. To enable connected app creation, contact Salesforce Customer Support."
    )));
    assert!(p.body.contains("value=\"Legacy App\""));

    // Allow creation of connected apps (the org setting), then create one.
    let p = c
        .post(
            SETTINGS,
            &[
                ("_csrf", csrf.as_str()),
                ("allow_connected_app_creation", "1"),
            ],
        )
        .await;
    assert_redirect(&p, SETTINGS);
    assert!(admin_api.org().await.unwrap().allow_connected_app_creation);
    let page = c.get(SETTINGS).await;
    assert!(page.body.contains("New Connected App"));
    assert!(page.body.contains(NEW_CA));
    let form = c.get(NEW_CA).await;
    for label in [
        "Connected App Name",
        "API Name",
        "Contact Email",
        "Enable OAuth Settings",
        "Callback URL",
        "Use digital signatures",
        "Selected OAuth Scopes",
    ] {
        assert!(form.body.contains(label), "{label} missing");
    }
    let p = c
        .post_multipart(
            NEW_CA,
            ca_form(&form.csrf(), "Legacy App", &pair.certificate_pem),
        )
        .await;
    assert_redirect(&p, &format!("{CA}/Legacy_App/view?created=1"));
    let app = admin_api.connected_app("Legacy_App").await.unwrap();
    assert!(app.oauth.jwt_bearer_enabled && app.oauth.certificate.is_some());
    assert_eq!(
        app.oauth.scopes,
        ["interaction_api", "refresh_token", "offline_access"]
    );

    // Manage Connected Apps: the list and the app's page.
    let list = c.get(&format!("{CA}/home")).await;
    assert!(list.body.contains(&format!("{CA}/Legacy_App/view")));
    let view = c.get(&format!("{CA}/Legacy_App/view")).await;
    for label in ["Edit Policies", "Manage Profiles", "Manage Permission Sets"] {
        assert!(view.body.contains(label), "{label} missing");
    }

    // Edit Policies: admin-approved after the confirmation step.
    let edit = format!("{CA}/Legacy_App/policies");
    let csrf = c.get(&edit).await.csrf();
    let p = c
        .post(
            &edit,
            &[
                ("_csrf", csrf.as_str()),
                ("permitted_users", "AdminApprovedPreAuthorized"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p
        .body
        .contains(&html(byoc_core::setup::ADMIN_APPROVED_WARNING)));
    let p = c
        .post(
            &edit,
            &[
                ("_csrf", csrf.as_str()),
                ("permitted_users", "AdminApprovedPreAuthorized"),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_redirect(&p, &format!("{CA}/Legacy_App/view"));

    // Manage Profiles: the Application Profile Assignment page.
    let profiles = format!("{CA}/Legacy_App/profiles");
    let page = c.get(&profiles).await;
    assert!(page.body.contains("Application Profile Assignment"));
    assert!(page.body.contains("System Administrator"));
    let p = c
        .post(
            &profiles,
            &[
                ("_csrf", page.csrf().as_str()),
                ("profiles", "System Administrator"),
            ],
        )
        .await;
    assert_redirect(&p, &format!("{CA}/Legacy_App/view"));
    let app = admin_api.connected_app("Legacy_App").await.unwrap();
    assert_eq!(
        app.policies.permitted_users,
        PermittedUsers::AdminApprovedPreAuthorized
    );
    assert_eq!(app.policies.profiles, ["System Administrator"]);
    // Unchecking removes it again.
    let page = c.get(&profiles).await;
    let p = c.post(&profiles, &[("_csrf", page.csrf().as_str())]).await;
    assert_redirect(&p, &format!("{CA}/Legacy_App/view"));
    assert!(admin_api
        .connected_app("Legacy_App")
        .await
        .unwrap()
        .policies
        .profiles
        .is_empty());
    // Manage Permission Sets: an unknown one is the API's refusal.
    let page = c.get(&format!("{CA}/Legacy_App/permsets")).await;
    assert!(page.body.contains("Application Permission Set Assignment"));
    let p = c
        .post(
            &format!("{CA}/Legacy_App/permsets"),
            &[
                ("_csrf", page.csrf().as_str()),
                ("permission_sets", "No_Such_Set"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p
        .body
        .contains("Permission set No_Such_Set doesn&#39;t exist."));

    // Edit: the certificate stays when no file is chosen; scopes change.
    let edit_page = c.get(&format!("{CA}/Legacy_App/edit")).await;
    assert!(edit_page.body.contains("The app has a certificate"));
    assert!(edit_page.body.contains("value=\"Legacy_App\" readonly"));
    let p = c
        .post_multipart(
            &format!("{CA}/Legacy_App/edit"),
            Form::new()
                .text("_csrf", edit_page.csrf())
                .text("name", "Legacy App")
                .text("contact_email", "ops@customer.example")
                .text("oauth_enabled", "1")
                .text("callback_urls", "https://login.salesforce.com")
                .text("use_digital_signatures", "1")
                .part("certificate", Part::bytes(vec![]).file_name(""))
                .text("scopes", "interaction_api")
                .text("scopes", "refresh_token offline_access")
                .text("scopes", "api"),
        )
        .await;
    assert_redirect(&p, &format!("{CA}/Legacy_App/view"));
    let edited = admin_api.connected_app("Legacy_App").await.unwrap();
    assert_eq!(edited.contact_email, "ops@customer.example");
    assert_eq!(edited.oauth.certificate, app.oauth.certificate);
    assert!(edited.oauth.jwt_bearer_enabled);
    assert!(edited.oauth.scopes.contains(&"api".to_string()));

    // Migrate to an External Client App.
    let confirm = c.get(&format!("{CA}/Legacy_App/migrate")).await;
    assert!(confirm.body.contains("Create a local External Client App"));
    let p = c
        .post(
            &format!("{CA}/Legacy_App/migrate"),
            &[("_csrf", confirm.csrf().as_str()), ("confirmed", "1")],
        )
        .await;
    assert_redirect(&p, &format!("{ECA}/Legacy_App/view"));
    let eca = admin_api.external_client_app("Legacy_App").await.unwrap();
    assert_eq!(eca.oauth.consumer_key, app.oauth.consumer_key);
    let ca = admin_api.connected_app("Legacy_App").await.unwrap();
    assert!(ca.read_only_reason.is_some());
    let view = c.get(&format!("{CA}/Legacy_App/view")).await;
    assert!(view.body.contains("read-only"));
    assert!(!view.body.contains("Migrate to External Client App</a>"));

    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_user_without_permission_gets_the_api_refusal() {
    let server = TestServer::start().await.unwrap();
    let admin_api = server.admin();
    let pair = certificate();
    // A Standard User, logged in through frontdoor.jsp with a `web` token from a JWT app.
    admin_api
        .create_user(&NewUser {
            username: "viewer@customer.example".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    let saved = admin_api
        .create_external_client_app(&AppInput {
            name: Some("Browser".into()),
            scopes: Some(vec!["web".into(), "refresh_token".into()]),
            ..from_cli_input(&pair)
        })
        .await
        .unwrap();
    admin_api
        .update_external_client_app_policies(
            "Browser",
            &PolicyInput {
                permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
                profiles: Some(vec!["Standard User".into()]),
                ..PolicyInput::default()
            },
        )
        .await
        .unwrap();
    let token = JwtBearer::new(JwtBearerSettings {
        token_url: format!("{}/services/oauth2/token", server.org().login_url),
        consumer_key: saved.record.oauth.consumer_key.clone(),
        username: "viewer@customer.example".into(),
        audience: "https://login.salesforce.com".into(),
        private_key_pem: pair.private_key_pem.clone(),
    })
    .expect("provider")
    .fetch()
    .await
    .expect("token")
    .access_token;
    let mut c = Console::new(&server);
    let p = c.get(&format!("/secur/frontdoor.jsp?sid={token}")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(c.sid.is_some());

    // Reading apps: the same refusal as the admin API's read, as that user.
    let as_viewer = server.admin().act_as(Some("viewer@customer.example"));
    let read_err = as_viewer
        .external_client_apps()
        .await
        .unwrap_err()
        .to_string();
    let p = c.get(&format!("{ECA}/home")).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains(&html(&read_err)), "{read_err}: {}", p.body);
    let p = c.get(&format!("{CA}/home")).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // Creating: the API's refusal, the form kept.
    let create_err = as_viewer
        .create_external_client_app(&AppInput {
            name: Some("Mine".into()),
            ..from_cli_input(&pair)
        })
        .await
        .unwrap_err()
        .to_string();
    let csrf = c.get(&format!("{ECA}/new")).await.csrf();
    let p = c
        .post_multipart(
            &format!("{ECA}/new"),
            eca_form(&csrf, "Mine", &pair.certificate_pem),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(
        p.body.contains(&html(&create_err)),
        "{create_err}: {}",
        p.body
    );
    assert!(p.body.contains("value=\"Mine\""));
    // The consumer secret is not revealed to them either.
    let p = c
        .post(
            &format!("{ECA}/Browser/consumer"),
            &[("_csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(!p.body.contains(&saved.record.oauth.consumer_key));

    server.stop().await.unwrap();
}
