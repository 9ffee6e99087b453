//! The token endpoint's client credentials and username-password flows end to end, over real
//! HTTP: a fresh app, its consumer secret read back through the admin API, the run-as user, the
//! tokens used on the admin API, every refusal with Salesforce's exact body, and the login
//! history.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use byoc_proto::admin::{AppInput, NewUser, PolicyInput, UpdateUser};
use byoc_proto::oauth::LoginHistoryEntry;
use byoc_proto::setup::{AppKind, PermittedUsers};
use byoc_testkit::TestServer;
use serde_json::{json, Value};

const APP: &str = "Partner Backend";

#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
    cache_control: Option<String>,
    diagnosis: Option<String>,
}

impl Answer {
    #[track_caller]
    fn refused(&self, error: &str, description: &str) -> String {
        assert_eq!(self.status, 400, "{self:?}");
        let expected =
            serde_json::to_string(&json!({"error": error, "error_description": description}))
                .unwrap();
        assert_eq!(self.body, expected, "{self:?}");
        assert_eq!(self.cache_control.as_deref(), Some("no-store"));
        self.diagnosis
            .clone()
            .unwrap_or_else(|| panic!("no diagnosis: {self:?}"))
    }

    #[track_caller]
    fn token(&self) -> Value {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(self.cache_control.as_deref(), Some("no-store"));
        serde_json::from_str(&self.body).unwrap()
    }
}

struct Fixture {
    server: TestServer,
    http: reqwest::Client,
    consumer_key: String,
    consumer_secret: String,
}

impl Fixture {
    /// A fresh app with the client credentials flow on; the secret comes from the admin API's
    /// *Consumer Key and Secret*, as `byoc setup eca secret` reads it.
    async fn new() -> Fixture {
        let server = TestServer::start().await.unwrap();
        let admin = server.admin();
        admin
            .create_external_client_app(&AppInput {
                name: Some(APP.into()),
                contact_email: Some("dev@partner.example".into()),
                callback_urls: Some(vec!["https://partner.example/callback".into()]),
                scopes: Some(vec!["api".into(), "full".into(), "refresh_token".into()]),
                client_credentials_enabled: Some(true),
                ..Default::default()
            })
            .await
            .unwrap();
        let details = admin
            .consumer_details(AppKind::ExternalClientApp, APP)
            .await
            .unwrap();
        admin
            .create_user(&NewUser {
                username: "integration@partner.example".into(),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec![],
                is_active: true,
            })
            .await
            .unwrap();
        admin
            .set_password("integration@partner.example", "Integr8tion99")
            .await
            .unwrap();
        Fixture {
            server,
            http: reqwest::Client::new(),
            consumer_key: details.consumer_key,
            consumer_secret: details.consumer_secret,
        }
    }

    async fn post(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = self
            .http
            .post(format!(
                "{}/services/oauth2/token",
                self.server.org().login_url
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some((id, secret)) = basic {
            request = request.header(
                "authorization",
                format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
            );
        }
        let r = request.send().await.unwrap();
        let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
        let (cache_control, diagnosis) = (h("cache-control"), h("x-byoc-diagnosis"));
        Answer {
            status: r.status().as_u16(),
            body: r.text().await.unwrap(),
            cache_control,
            diagnosis,
        }
    }

    async fn send(&self, pairs: Vec<(&'static str, String)>) -> Answer {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(&pairs, None).await
    }

    async fn client_credentials(&self) -> Answer {
        self.post(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &self.consumer_key),
                ("client_secret", &self.consumer_secret),
            ],
            None,
        )
        .await
    }

    async fn run_as(&self, username: &str) {
        self.server
            .admin()
            .update_external_client_app_policies(
                APP,
                &PolicyInput {
                    run_as_username: Some(username.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    async fn whoami(&self, token: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/admin/v1/whoami", self.server.org().login_url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn history(&self) -> Vec<LoginHistoryEntry> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = self
            .http
            .get(format!(
                "{}/admin/v1/login-history?app={}&limit=100",
                self.server.org().login_url,
                self.consumer_key
            ))
            .bearer_auth(&self.server.org().admin_token)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }
}

#[tokio::test]
async fn client_credentials_grants_a_token_for_the_run_as_user() {
    let f = Fixture::new().await;
    // No run-as user yet.
    let d = f
        .client_credentials()
        .await
        .refused("invalid_grant", "no client credentials user enabled");
    assert!(d.contains("--run-as"), "{d}");

    // A run-as user that does not exist is refused by Setup.
    let e = f
        .server
        .admin()
        .update_external_client_app_policies(
            APP,
            &PolicyInput {
                run_as_username: Some("ghost@partner.example".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ghost@partner.example"), "{e}");

    f.run_as("INTEGRATION@partner.example").await;
    let app = f.server.admin().external_client_app(APP).await.unwrap();
    assert_eq!(
        app.policies.run_as_username.as_deref(),
        Some("integration@partner.example")
    );
    let t = f.client_credentials().await.token();
    // full and refresh_token are never granted by this flow; no refresh token either.
    assert_eq!(t["scope"], "api");
    assert_eq!(t["token_type"], "Bearer");
    assert!(t.get("refresh_token").is_none());
    assert!(t["id"].as_str().unwrap().ends_with(
        &f.server
            .admin()
            .user("integration@partner.example")
            .await
            .unwrap()
            .id18
    ));
    let who = f.whoami(t["access_token"].as_str().unwrap()).await;
    assert!(
        who.to_string().contains("integration@partner.example"),
        "{who}"
    );

    // HTTP Basic works as well as the form.
    let a = f
        .post(
            &[("grant_type", "client_credentials")],
            Some((&f.consumer_key, &f.consumer_secret)),
        )
        .await;
    a.token();

    // Each refusal, with Salesforce's body.
    f.post(
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "3MVG9nope"),
            ("client_secret", &f.consumer_secret),
        ],
        None,
    )
    .await
    .refused("invalid_client_id", "client identifier invalid");
    let d = f
        .post(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &f.consumer_key),
                ("client_secret", "wrong"),
            ],
            None,
        )
        .await
        .refused("invalid_client", "invalid client credentials");
    assert!(d.contains("secret"), "{d}");
    f.post(
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &f.consumer_key),
        ],
        None,
    )
    .await
    .refused("invalid_client", "invalid client credentials");
    f.post(&[("grant_type", "client_credentials")], None)
        .await
        .refused("invalid_client_id", "client identifier invalid");
    f.post(&[("grant_type", "authorization_code")], None)
        .await
        .refused("unsupported_grant_type", "grant type not supported");

    // The run-as user deactivated.
    f.server
        .admin()
        .update_user(
            "integration@partner.example",
            &UpdateUser {
                is_active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let d = f
        .client_credentials()
        .await
        .refused("invalid_grant", "no client credentials user enabled");
    assert!(d.contains("inactive"), "{d}");

    // Only scopes the flow never grants.
    f.run_as(&f.server.org().admin_username.clone()).await;
    f.server
        .admin()
        .update_external_client_app(
            APP,
            &AppInput {
                scopes: Some(vec!["full".into(), "refresh_token".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.client_credentials()
        .await
        .refused("invalid_grant", "no valid scopes defined");

    // The flow turned off.
    f.server
        .admin()
        .update_external_client_app(
            APP,
            &AppInput {
                client_credentials_enabled: Some(false),
                scopes: Some(vec!["api".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let d = f
        .client_credentials()
        .await
        .refused("invalid_grant", "no client credentials user enabled");
    assert!(d.contains("not enabled"), "{d}");

    let rows = f.history().await;
    let ok = rows.iter().filter(|e| e.error.is_none()).count();
    assert_eq!(ok, 2, "{rows:?}");
    assert!(rows
        .iter()
        .all(|e| e.login_type == "Remote Access 2.0" && e.application.as_deref() == Some(APP)));
    assert!(rows
        .iter()
        .filter(|e| e.error.is_some())
        .all(|e| e.diagnosis.is_some()));
}

#[tokio::test]
async fn the_username_password_flow_checks_client_user_password_and_policy() {
    let f = Fixture::new().await;
    let form = |username: &'static str, password: &'static str, secret: String| {
        vec![
            ("grant_type", "password".to_string()),
            ("client_id", f.consumer_key.clone()),
            ("client_secret", secret),
            ("username", username.to_string()),
            ("password", password.to_string()),
        ]
    };
    let secret = f.consumer_secret.clone();

    let t = f
        .send(form(
            "integration@partner.example",
            "Integr8tion99",
            secret.clone(),
        ))
        .await
        .token();
    assert_eq!(t["scope"], "api full refresh_token");
    assert!(t.get("refresh_token").is_none());
    let who = f.whoami(t["access_token"].as_str().unwrap()).await;
    assert!(who.to_string().contains("integration@partner.example"));

    for (username, password, why) in [
        ("integration@partner.example", "wrong", "wrong password"),
        (
            "integration@partner.example",
            "Integr8tion99TOKEN123",
            "wrong password",
        ),
        ("nobody@partner.example", "Integr8tion99", "not a username"),
        ("", "Integr8tion99", "no username"),
    ] {
        let d = f
            .send(form(username, password, secret.clone()))
            .await
            .refused("invalid_grant", "authentication failure");
        assert!(d.contains(why), "{username}: {d}");
    }
    f.send(form(
        "integration@partner.example",
        "Integr8tion99",
        "bad".into(),
    ))
    .await
    .refused("invalid_client", "invalid client credentials");

    // Admin-approved without the user's profile: invalid_app_access.
    f.server
        .admin()
        .update_external_client_app_policies(
            APP,
            &PolicyInput {
                permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
                profiles: Some(vec!["System Administrator".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.send(form(
        "integration@partner.example",
        "Integr8tion99",
        secret.clone(),
    ))
    .await
    .refused(
        "invalid_app_access",
        "user is not admin approved to access this app",
    );

    // Inactive: authentication failure.
    f.server
        .admin()
        .update_user(
            "integration@partner.example",
            &UpdateUser {
                is_active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let d = f
        .send(form(
            "integration@partner.example",
            "Integr8tion99",
            secret.clone(),
        ))
        .await
        .refused("invalid_grant", "authentication failure");
    assert!(d.contains("inactive"), "{d}");

    let rows = f.history().await;
    assert_eq!(rows.len(), 8, "{rows:?}");
    assert_eq!(rows.iter().filter(|e| e.error.is_none()).count(), 1);
    assert!(rows.iter().all(|e| e.login_type == "Remote Access 2.0"));
}
