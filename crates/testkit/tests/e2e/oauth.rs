#![allow(clippy::disallowed_methods)] // tests and tools read the wall clock
//! The JWT Bearer token endpoint and its neighbours end to end, over real HTTP: every row of
//! DESIGN.md §4's table with its exact body, the seed's misconfigurations with byoc's diagnosis,
//! the attack cases, strict mode, revocation, identity endpoints and the login history.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_client::AdminClient;
use byoc_proto::admin::{AppInput, NewUser, PolicyInput};
use byoc_proto::oauth::LoginHistoryEntry;
use byoc_proto::setup::PermittedUsers;
use byoc_testkit::{Options, TestServer};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const SAMPLE_APP: &str = "BYOC Sample App";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A partner of a test server: the seed's key and consumer key.
struct Partner {
    http: reqwest::Client,
    login_url: String,
    token_url: String,
    consumer_key: String,
    username: String,
    key_pem: String,
    admin: AdminClient,
    admin_token: String,
}

impl Partner {
    async fn of(server: &TestServer) -> Partner {
        let admin = server.admin();
        let app = admin
            .external_client_app(SAMPLE_APP)
            .await
            .expect("sample app");
        let org = server.org();
        Partner {
            http: reqwest::Client::new(),
            login_url: org.login_url.clone(),
            token_url: format!("{}/services/oauth2/token", org.login_url),
            consumer_key: app.oauth.consumer_key,
            username: org.admin_username.clone(),
            key_pem: std::fs::read_to_string(server.data_dir().join("server.key"))
                .expect("server.key"),
            admin,
            admin_token: org.admin_token.clone(),
        }
    }

    fn claims(&self) -> Value {
        json!({"iss": self.consumer_key, "sub": self.username, "aud": "https://login.salesforce.com", "exp": now_secs() + 120})
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with(&Header::new(Algorithm::RS256), claims, &self.key_pem)
    }

    fn sign_with(&self, header: &Header, claims: &Value, key_pem: &str) -> String {
        jsonwebtoken::encode(
            header,
            claims,
            &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    async fn post_raw(&self, body: impl Into<reqwest::Body>) -> Answer {
        let r = self
            .http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token endpoint answers");
        Answer::read(r).await
    }

    async fn post(&self, assertion: &str) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", GRANT)
            .append_pair("assertion", assertion)
            .finish();
        self.post_raw(body).await
    }

    async fn token(&self) -> Value {
        let a = self.post(&self.sign(&self.claims())).await;
        assert_eq!(a.status, 200, "{a:?}");
        serde_json::from_str(&a.body).unwrap()
    }

    async fn history(&self, query: &str) -> Vec<LoginHistoryEntry> {
        let r = self
            .http
            .get(format!("{}/admin/v1/login-history?{query}", self.login_url))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
    cache_control: Option<String>,
    diagnosis: Option<String>,
}

impl Answer {
    async fn read(r: reqwest::Response) -> Answer {
        let status = r.status().as_u16();
        let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
        let (cache_control, diagnosis) = (h("cache-control"), h("x-byoc-diagnosis"));
        Answer {
            status,
            body: r.text().await.unwrap(),
            cache_control,
            diagnosis,
        }
    }

    /// Status 400, `Cache-Control: no-store`, exactly Salesforce's body; returns the diagnosis.
    #[track_caller]
    fn refused(&self, error: &str, description: &str) -> String {
        assert_eq!(self.status, 400, "{self:?}");
        let expected =
            serde_json::to_string(&json!({"error": error, "error_description": description}))
                .unwrap();
        assert_eq!(self.body, expected, "{self:?}");
        assert_eq!(self.cache_control.as_deref(), Some("no-store"));
        let d = self
            .diagnosis
            .clone()
            .unwrap_or_else(|| panic!("no diagnosis header: {self:?}"));
        assert!(!d.is_empty() && d.is_ascii());
        d
    }

    /// Any 4xx in Salesforce's OAuth shape.
    #[track_caller]
    fn salesforce_4xx(&self) {
        assert!((400..500).contains(&self.status), "{self:?}");
        let v: Value =
            serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {self:?}"));
        assert_eq!(v.as_object().unwrap().len(), 2, "{self:?}");
        assert!(
            self.body.starts_with("{\"error\":\"")
                && self.body.contains("\",\"error_description\":\""),
            "{self:?}"
        );
    }
}

async fn servers(label: &str) -> Vec<TestServer> {
    byoc_testkit::on_every_backend(label, Options::default())
        .await
        .expect("servers")
}

fn hmac_b64(key: &str, message: &str) -> String {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_bytes());
    STANDARD.encode(aws_lc_rs::hmac::sign(&k, message.as_bytes()).as_ref())
}

#[tokio::test]
async fn success_response_identity_endpoints_and_revocation() {
    for server in servers("oauth success").await {
        let p = Partner::of(&server).await;
        let org = server.org();
        let a = p.post(&p.sign(&p.claims())).await;
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.cache_control.as_deref(), Some("no-store"));
        let v: Value = serde_json::from_str(&a.body).unwrap();
        // Exactly these members, in the documented order, in the body's bytes.
        let order = [
            "access_token",
            "signature",
            "scope",
            "instance_url",
            "id",
            "token_type",
            "issued_at",
        ];
        assert_eq!(v.as_object().unwrap().len(), order.len());
        let positions: Vec<usize> = order
            .iter()
            .map(|k| a.body.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{}", a.body);
        let token = v["access_token"].as_str().unwrap();
        assert!(token.starts_with(&format!("{}!", org.org_id)), "{token}");
        assert_eq!(v["scope"], "interaction_api refresh_token offline_access");
        assert_eq!(v["instance_url"], org.instance_url.as_str());
        assert_eq!(v["token_type"], "Bearer");
        let user = p.admin.user(&org.admin_username).await.unwrap();
        assert_eq!(
            v["id"],
            format!("{}/id/{}/{}", org.login_url, org.org_id_18, user.id18)
        );
        let issued_at: i64 = v["issued_at"].as_str().unwrap().parse().unwrap();
        assert!((issued_at / 1000 - now_secs()).abs() < 60);

        // The SDK's provider gets a token too, with the key file as is.
        let sdk = JwtBearer::new(JwtBearerSettings {
            token_url: p.token_url.clone(),
            consumer_key: p.consumer_key.clone(),
            username: p.username.clone(),
            audience: org.login_url.clone(),
            private_key_pem: p.key_pem.clone(),
        })
        .unwrap();
        assert!(sdk
            .fetch()
            .await
            .unwrap()
            .access_token
            .starts_with(&org.org_id));

        // The admin API is a REST API: the sample's token has no `api` scope (e2e/authz.rs
        // covers tokens that have it).
        let as_token = byoc_client::AdminClient::new(&org.login_url, token).unwrap();
        let refused = as_token.whoami().await.unwrap_err();
        assert_eq!(refused.status(), Some(401));
        assert!(
            refused
                .to_string()
                .contains("This session is not valid for use with the REST API"),
            "{refused}"
        );
        let forged = format!("{}x", token);
        let refused = byoc_client::AdminClient::new(&org.login_url, &forged)
            .unwrap()
            .whoami()
            .await
            .unwrap_err();
        assert_eq!(refused.status(), Some(401));

        // userinfo and the identity URL accept the token.
        let auth = format!("Bearer {token}");
        let ui: Value = p
            .http
            .get(format!("{}/services/oauth2/userinfo", p.login_url))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ui["preferred_username"], org.admin_username.as_str());
        assert_eq!(ui["organization_id"], org.org_id.as_str());
        let id: Value = p
            .http
            .get(v["id"].as_str().unwrap())
            .header("authorization", &auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(id["username"], org.admin_username.as_str());
        assert_eq!(id["asserted_user"], true);
        let r = p
            .http
            .get(format!(
                "{}/id/{}/005000000000000AAA",
                p.login_url, org.org_id_18
            ))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = p
            .http
            .get(v["id"].as_str().unwrap())
            .header("authorization", "Bearer nope")
            .send()
            .await
            .unwrap();
        assert_eq!(
            (r.status().as_u16(), r.text().await.unwrap().as_str()),
            (403, "Bad_OAuth_Token")
        );

        // Discovery.
        let oidc: Value = p
            .http
            .get(format!("{}/.well-known/openid-configuration", p.login_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(oidc["issuer"], p.login_url.as_str());
        assert_eq!(oidc["token_endpoint"], p.token_url.as_str());

        // A new app shows its secret once: the response signature is HMAC(secret, id + issued_at),
        // and introspection authenticates with the key and secret.
        let (key, cert) = {
            let pair = byoc_pki::new_self_signed("partner", 30, chrono::Utc::now()).unwrap();
            (pair.private_key_pem, pair.certificate_pem)
        };
        let created = p
            .admin
            .create_external_client_app(&AppInput {
                name: Some("Signature App".into()),
                contact_email: Some("dev@partner.example".into()),
                callback_urls: Some(vec!["https://partner.example/cb".into()]),
                scopes: Some(vec!["interaction_api".into(), "refresh_token".into()]),
                jwt_bearer_enabled: Some(true),
                certificate_pem: Some(cert),
                ..AppInput::default()
            })
            .await
            .unwrap()
            .record;
        p.admin
            .update_external_client_app_policies(
                "Signature App",
                &PolicyInput {
                    permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
                    profiles: Some(vec!["System Administrator".into()]),
                    session_timeout_minutes: Some(15),
                    ..PolicyInput::default()
                },
            )
            .await
            .unwrap();
        let secret = created.oauth.consumer_secret.clone().unwrap();
        let mut c = p.claims();
        c["iss"] = json!(created.oauth.consumer_key);
        let a = p
            .post(&p.sign_with(&Header::new(Algorithm::RS256), &c, &key))
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        let v2: Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(
            v2["signature"],
            hmac_b64(
                &secret,
                &format!(
                    "{}{}",
                    v2["id"].as_str().unwrap(),
                    v2["issued_at"].as_str().unwrap()
                )
            )
        );
        assert_eq!(v2["scope"], "interaction_api refresh_token");

        let introspect = |token: String, id: String, secret: String| {
            let http = p.http.clone();
            let url = format!("{}/services/oauth2/introspect", p.login_url);
            async move {
                let r = http
                    .post(url)
                    .form(&[
                        ("token", token.as_str()),
                        ("client_id", id.as_str()),
                        ("client_secret", secret.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let (status, body) = introspect(
            v2["access_token"].as_str().unwrap().into(),
            created.oauth.consumer_key.clone(),
            secret.clone(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["active"], true);
        assert_eq!(body["client_id"], created.oauth.consumer_key.as_str());
        assert_eq!(body["username"], org.admin_username.as_str());
        assert_eq!(body["token_type"], "access_token");
        let lifetime = body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap();
        assert_eq!(lifetime, 15 * 60, "session timeout of the app policy");
        let (status, body) = introspect(
            token.into(),
            created.oauth.consumer_key.clone(),
            "wrong".into(),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );

        // Revocation: 200, then the token is dead everywhere on this instance.
        let r = p
            .http
            .post(format!("{}/services/oauth2/revoke", p.login_url))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = p
            .http
            .get(format!("{}/services/oauth2/userinfo", p.login_url))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let (_, body) = introspect(
            token.into(),
            created.oauth.consumer_key.clone(),
            secret.clone(),
        )
        .await;
        assert_eq!(body, json!({"active": false}));
        let r = p
            .http
            .post(format!("{}/services/oauth2/revoke", p.login_url))
            .form(&[("token", "00Dnope!x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_token");
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn every_error_row_and_seed_misconfiguration() {
    let server = TestServer::start().await.unwrap();
    let p = Partner::of(&server).await;
    let good = p.claims();

    // grant_type.
    let body = format!("grant_type=authorization_code&assertion={}", p.sign(&good));
    p.post_raw(body)
        .await
        .refused("unsupported_grant_type", "grant type not supported");
    p.post_raw(format!("assertion={}", p.sign(&good)))
        .await
        .refused("unsupported_grant_type", "grant type not supported");

    // Unparseable, wrong alg, missing claim.
    p.post("not-a-jwt")
        .await
        .refused("invalid_grant", "invalid assertion");
    p.post_raw(format!("grant_type={GRANT}"))
        .await
        .refused("invalid_grant", "invalid assertion");
    let mut h = Header::new(Algorithm::RS512);
    h.typ = Some("JWT".into());
    let d = p
        .post(&p.sign_with(&h, &good, &p.key_pem))
        .await
        .refused("invalid_grant", "invalid assertion");
    assert!(d.contains("RS512"), "{d}");
    for claim in ["iss", "sub", "aud", "exp"] {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(claim);
        let d = p
            .post(&p.sign(&c))
            .await
            .refused("invalid_grant", "invalid assertion");
        assert!(d.contains(&format!("no {claim}")), "{d}");
    }

    // Unknown consumer key.
    let mut c = good.clone();
    c["iss"] = json!("3MVG9unknown");
    p.post(&p.sign(&c))
        .await
        .refused("invalid_client_id", "client identifier invalid");

    // Wrong certificate: signed by another key.
    let other = byoc_pki::new_self_signed("other", 30, chrono::Utc::now()).unwrap();
    let d = p
        .post(&p.sign_with(
            &Header::new(Algorithm::RS256),
            &good,
            &other.private_key_pem,
        ))
        .await
        .refused("invalid_client", "invalid client credentials");
    assert!(
        d.contains("does not verify with the certificate of BYOC Sample App"),
        "{d}"
    );

    // Wrong audience.
    let mut c = good.clone();
    c["aud"] = json!("https://login.example.com");
    let d = p
        .post(&p.sign(&c))
        .await
        .refused("invalid_grant", "audience is invalid");
    assert!(d.contains("https://login.salesforce.com"), "{d}");
    // byoc's own login URL is accepted, as is the sandbox one.
    for aud in [p.login_url.clone(), "https://test.salesforce.com".into()] {
        let mut c = good.clone();
        c["aud"] = json!(aud);
        assert_eq!(p.post(&p.sign(&c)).await.status, 200);
    }

    // Expired assertion.
    let mut c = good.clone();
    c["exp"] = json!(now_secs() - 10);
    let d = p
        .post(&p.sign(&c))
        .await
        .refused("invalid_grant", "expired authorization code");
    assert!(d.contains("expired"), "{d}");
    // Parity: far-future exp is accepted.
    let mut c = good.clone();
    c["exp"] = json!(now_secs() + 10 * 365 * 86_400);
    assert_eq!(p.post(&p.sign(&c)).await.status, 200);

    // Unknown and inactive users.
    let mut c = good.clone();
    c["sub"] = json!("nobody@example.com");
    let d = p
        .post(&p.sign(&c))
        .await
        .refused("invalid_grant", "authentication failure");
    assert!(d.contains("nobody@example.com"), "{d}");
    p.admin
        .create_user(&NewUser {
            username: "gone@partner.example".into(),
            email: None,
            profile: "System Administrator".into(),
            permission_sets: vec![],
            is_active: false,
        })
        .await
        .unwrap();
    let mut c = good.clone();
    c["sub"] = json!("gone@partner.example");
    p.post(&p.sign(&c))
        .await
        .refused("invalid_grant", "inactive user");

    // Profile not assigned: a Standard User.
    p.admin
        .create_user(&NewUser {
            username: "agent@partner.example".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    let mut c = good.clone();
    c["sub"] = json!("agent@partner.example");
    let d = p.post(&p.sign(&c)).await.refused(
        "invalid_app_access",
        "user is not admin approved to access this app",
    );
    assert!(d.contains("byoc setup eca policies 'BYOC Sample App' --permitted-users admin-approved --profile 'Standard User'"), "{d}");

    // Wrong policy: self-authorize.
    p.admin
        .update_external_client_app_policies(
            SAMPLE_APP,
            &PolicyInput {
                permitted_users: Some(PermittedUsers::AllSelfAuthorized),
                ..PolicyInput::default()
            },
        )
        .await
        .unwrap();
    let d = p
        .post(&p.sign(&good))
        .await
        .refused("invalid_grant", "user hasn't approved this consumer");
    assert!(
        d.contains("*All users may self-authorize*")
            && d.contains("--permitted-users admin-approved --profile 'System Administrator'"),
        "{d}"
    );
    p.admin
        .update_external_client_app_policies(
            SAMPLE_APP,
            &PolicyInput {
                permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
                ..PolicyInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(p.post(&p.sign(&good)).await.status, 200);

    // Scope missing.
    p.admin
        .update_external_client_app(
            SAMPLE_APP,
            &AppInput {
                scopes: Some(vec!["interaction_api".into()]),
                ..AppInput::default()
            },
        )
        .await
        .unwrap();
    let d = p.post(&p.sign(&good)).await.refused("invalid_request", "refresh_token scope is required and the connected app should be installed and preauthorized.");
    assert!(
        d.contains("--scopes interaction_api,refresh_token,offline_access"),
        "{d}"
    );
    p.admin
        .update_external_client_app(
            SAMPLE_APP,
            &AppInput {
                scopes: Some(vec![
                    "interaction_api".into(),
                    "refresh_token".into(),
                    "offline_access".into(),
                ]),
                ..AppInput::default()
            },
        )
        .await
        .unwrap();

    // Flow disabled.
    p.admin
        .update_external_client_app(
            SAMPLE_APP,
            &AppInput {
                jwt_bearer_enabled: Some(false),
                ..AppInput::default()
            },
        )
        .await
        .unwrap();
    let d = p
        .post(&p.sign(&good))
        .await
        .refused("invalid_client", "invalid client credentials");
    assert!(
        d.contains("JWT Bearer flow is not enabled") && d.contains("--jwt-bearer"),
        "{d}"
    );
    p.admin
        .update_external_client_app(
            SAMPLE_APP,
            &AppInput {
                jwt_bearer_enabled: Some(true),
                ..AppInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(p.post(&p.sign(&good)).await.status, 200);

    // Repeated parameters.
    let a = p.sign(&good);
    p.post_raw(format!(
        "grant_type={GRANT}&grant_type={GRANT}&assertion={a}"
    ))
    .await
    .refused("invalid_request", "duplicate parameter");
    p.post_raw(format!("grant_type={GRANT}&assertion={a}&assertion={a}"))
        .await
        .refused("invalid_request", "duplicate parameter");

    // Every attempt is in the login history, failures with Salesforce's error and the diagnosis.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = p.history("limit=200").await;
    assert!(rows.len() >= 25, "{}", rows.len());
    let agent = p.history("username=AGENT@partner.example").await;
    assert_eq!(agent.len(), 1);
    assert_eq!(agent[0].error.as_deref(), Some("invalid_app_access"));
    assert_eq!(agent[0].application.as_deref(), Some(SAMPLE_APP));
    assert!(agent[0]
        .diagnosis
        .as_deref()
        .unwrap()
        .contains("--profile 'Standard User'"));
    let ok = p
        .history(&format!(
            "status=Success&app={}",
            url::form_urlencoded::byte_serialize(SAMPLE_APP.as_bytes()).collect::<String>()
        ))
        .await;
    assert!(
        ok.len() >= 5
            && ok
                .iter()
                .all(|e| e.error.is_none() && e.login_type == "Remote Access 2.0"),
        "{ok:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn attacks_end_in_salesforce_shaped_4xx() {
    let server = TestServer::start().await.unwrap();
    let p = Partner::of(&server).await;
    let good = p.claims();
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let claims_b64 = b64(&good);
    let attacker = byoc_pki::new_self_signed("attacker", 30, chrono::Utc::now()).unwrap();

    let mut cases: Vec<(&str, String)> = vec![
        ("alg none", format!("{}.{claims_b64}.", b64(&json!({"alg": "none"})))),
        ("alg none with signature", format!("{}.{claims_b64}.c2ln", b64(&json!({"alg": "none"})))),
        ("malformed base64", format!("{}.{claims_b64}.%%%", b64(&json!({"alg": "RS256"})))),
        ("base64 with padding", format!("{}=.{claims_b64}.c2ln", b64(&json!({"alg": "RS256"})))),
        ("JWE", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d".into()),
        ("oversize", format!("{}.{}.c2ln", b64(&json!({"alg": "RS256"})), "A".repeat(20_000))),
        ("duplicate members", format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","alg":"RS256"}"#), claims_b64)),
        ("exp 1e400", format!("{}.{}.c2ln", b64(&json!({"alg": "RS256"})), URL_SAFE_NO_PAD.encode(format!(r#"{{"iss":"{}","sub":"x","aud":"https://login.salesforce.com","exp":1e400}}"#, p.consumer_key)))),
        ("exp huge", format!("{}.{}.c2ln", b64(&json!({"alg": "RS256"})), URL_SAFE_NO_PAD.encode(format!(r#"{{"iss":"{}","sub":"x","aud":"https://login.salesforce.com","exp":123456789012345678901234567890}}"#, p.consumer_key)))),
        ("nested garbage", format!("{}.{}.c2ln", b64(&json!({"alg": "RS256"})), URL_SAFE_NO_PAD.encode("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["))),
        ("not UTF-8 JSON", format!("{}.{}.c2ln", b64(&json!({"alg": "RS256"})), URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x00]))),
    ];
    // HS256 keyed with the app's own certificate (the classic algorithm confusion).
    let cert_pem = std::fs::read_to_string(server.data_dir().join("server.crt")).unwrap();
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(cert_pem.as_bytes()),
    )
    .unwrap();
    cases.push(("HS256 with the public certificate", hs));
    for (name, assertion) in &cases {
        let a = p.post(assertion).await;
        a.salesforce_4xx();
        assert_eq!(
            a.body, r#"{"error":"invalid_grant","error_description":"invalid assertion"}"#,
            "{name}: {a:?}"
        );
    }

    // Key-carrying headers never select the key: an attacker's key named in jwk/jku/x5u/x5c/kid
    // still fails the app's certificate.
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("attacker".into());
    h.jku = Some("https://attacker.example/jwks".into());
    h.x5u = Some("https://attacker.example/cert".into());
    h.x5c = Some(vec![STANDARD.encode(b"not-a-cert")]);
    h.jwk = Some(serde_json::from_value(json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})).unwrap());
    p.post(&p.sign_with(&h, &good, &attacker.private_key_pem))
        .await
        .refused("invalid_client", "invalid client credentials");
    // ... and the same headers don't stop the right key from working.
    assert_eq!(
        p.post(&p.sign_with(&h, &good, &p.key_pem)).await.status,
        200
    );

    // Request-level abuse.
    for body in [
        Vec::new(),
        b"{\"grant_type\":\"urn:ietf:params:oauth:grant-type:jwt-bearer\"}".to_vec(),
        vec![0xff, 0xfe, b'=', 0x80],
        format!("grant_type={GRANT}&assertion={}", "A".repeat(100_000)).into_bytes(),
        format!("grant_type={GRANT}&grant_type=x").into_bytes(),
        format!("grant_type={GRANT}&assertion=%ZZ%").into_bytes(),
    ] {
        p.post_raw(body).await.salesforce_4xx();
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn strict_mode_holds_partners_to_the_rfcs() {
    let server = TestServer::start_with(Options {
        strict: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let p = Partner::of(&server).await;
    let with_jti = |jti: &str| {
        let mut c = p.claims();
        c["jti"] = json!(jti);
        c["iat"] = json!(now_secs());
        c
    };
    assert_eq!(p.post(&p.sign(&with_jti("one"))).await.status, 200);
    let d = p
        .post(&p.sign(&with_jti("one")))
        .await
        .refused("invalid_grant", "invalid assertion");
    assert!(d.contains("already used"), "{d}");

    // The same jti raced by many clients: exactly one wins.
    let assertion = p.sign(&with_jti("race"));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, url, body) = (
            p.http.clone(),
            p.token_url.clone(),
            format!("grant_type={GRANT}&assertion={assertion}"),
        );
        set.spawn(async move {
            http.post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = set.join_next().await {
        statuses.push(s.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 400, 400, 400, 400, 400, 400, 400]);

    let mut c = with_jti("far");
    c["exp"] = json!(now_secs() + 600);
    assert!(p
        .post(&p.sign(&c))
        .await
        .refused("invalid_grant", "invalid assertion")
        .contains("3 minutes"));
    let mut c = with_jti("future");
    c["iat"] = json!(now_secs() + 600);
    assert!(p
        .post(&p.sign(&c))
        .await
        .refused("invalid_grant", "invalid assertion")
        .contains("iat"));
    let mut c = with_jti("nbf");
    c["nbf"] = json!(now_secs() + 600);
    assert!(p
        .post(&p.sign(&c))
        .await
        .refused("invalid_grant", "invalid assertion")
        .contains("nbf"));
    assert!(p
        .post(&p.sign(&p.claims()))
        .await
        .refused("invalid_grant", "invalid assertion")
        .contains("no jti"));

    // An expired certificate is refused in strict mode.
    let old = byoc_pki::new_self_signed("old", 1, chrono::Utc::now() - chrono::Duration::days(10))
        .unwrap();
    p.admin
        .update_external_client_app(
            SAMPLE_APP,
            &AppInput {
                certificate_pem: Some(old.certificate_pem.clone()),
                ..AppInput::default()
            },
        )
        .await
        .unwrap();
    let d = p
        .post(&p.sign_with(
            &Header::new(Algorithm::RS256),
            &with_jti("cert"),
            &old.private_key_pem,
        ))
        .await
        .refused("invalid_client", "invalid client credentials");
    assert!(d.contains("strict mode: the certificate"), "{d}");
    server.stop().await.unwrap();

    // Parity mode accepts that certificate (Salesforce does).
    let server = TestServer::start().await.unwrap();
    let p = Partner::of(&server).await;
    p.admin
        .update_external_client_app(
            SAMPLE_APP,
            &AppInput {
                certificate_pem: Some(old.certificate_pem),
                ..AppInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        p.post(&p.sign_with(
            &Header::new(Algorithm::RS256),
            &p.claims(),
            &old.private_key_pem
        ))
        .await
        .status,
        200
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn login_history_survives_a_clean_stop_on_both_backends() {
    for server in servers("oauth login history").await {
        let p = Partner::of(&server).await;
        for _ in 0..20 {
            p.token().await;
        }
        let kept = p.token().await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let mut c = p.claims();
        c["aud"] = json!("https://wrong.example");
        p.post(&p.sign(&c))
            .await
            .refused("invalid_grant", "audience is invalid");
        // Stop right away: the flusher must write everything before the server is gone.
        let server = server.restart().await.unwrap();
        let p = Partner::of(&server).await;
        let rows = p.history("limit=1000").await;
        assert_eq!(rows.len(), 22, "{rows:?}");
        let failed = p.history("status=failed").await;
        assert_eq!(failed.len(), 1);
        assert_eq!(
            failed[0].error_description.as_deref(),
            Some("audience is invalid")
        );
        assert!(failed[0]
            .diagnosis
            .as_deref()
            .unwrap()
            .contains("https://wrong.example"));
        assert_eq!(
            p.history(&format!("app={}", p.consumer_key)).await.len(),
            22
        );
        assert!(p.history("username=someone@else.example").await.is_empty());
        let r = p
            .http
            .get(format!(
                "{}/admin/v1/login-history?status=maybe",
                p.login_url
            ))
            .bearer_auth(&p.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let r = p
            .http
            .get(format!("{}/admin/v1/login-history", p.login_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        // Tokens survive the restart: the sealing key is in the store.
        let r = p
            .http
            .get(format!("{}/services/oauth2/userinfo", p.login_url))
            .bearer_auth(&kept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn tokens_and_revocations_are_shared_by_instances_on_one_database() {
    let Some(url) = byoc_store::testing::postgres_url("oauth two instances").await else {
        return;
    };
    let a = TestServer::start_with(Options {
        database_url: Some(url.clone()),
        ..Options::default()
    })
    .await
    .unwrap();
    let pa = Partner::of(&a).await;
    let b = TestServer::start_with(Options {
        database_url: Some(url),
        ..Options::default()
    })
    .await
    .unwrap();
    let token = pa.token().await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let userinfo =
        |server: &TestServer| format!("{}/services/oauth2/userinfo", server.org().login_url);
    let r = pa
        .http
        .get(userinfo(&b))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "instance B accepts A's token");
    let r = pa
        .http
        .post(format!("{}/services/oauth2/revoke", a.org().login_url))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let started = std::time::Instant::now();
    loop {
        let r = pa
            .http
            .get(userinfo(&b))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() == 403 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "B still accepts a token revoked on A"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// NUL and other control characters, and over-long values, in `iss` and `sub` get Salesforce's
/// answers for an unknown client or user on both backends (a NUL was a 500 on PostgreSQL), and
/// such an attempt is recorded in the login history without costing the good attempts beside it.
#[tokio::test]
async fn hostile_identifiers_get_salesforce_answers_on_every_backend() {
    for server in servers("hostile identifiers").await {
        let backend = server.backend();
        let p = Partner::of(&server).await;
        let with = |name: &str, value: &str| {
            let mut c = p.claims();
            c[name] = json!(value);
            p.sign(&c)
        };
        for sub in ["evil\0@example.com", "tab\t@example.com", &"a".repeat(300)] {
            let d = p
                .post(&with("sub", sub))
                .await
                .refused("invalid_grant", "authentication failure");
            assert!(d.contains("sub"), "{backend}: {d}");
        }
        for iss in [format!("{}\0", p.consumer_key), "k".repeat(300)] {
            p.post(&with("iss", &iss))
                .await
                .refused("invalid_client_id", "client identifier invalid");
        }

        // An unparseable assertion (no aud) whose sub holds NUL, in one burst with good requests:
        // every attempt lands in the history, the hostile one with U+FFFD for the NUL.
        let marker = format!("nul-{}\0{}@example.com", backend, now_secs());
        let mut bad = p.claims();
        bad["sub"] = json!(marker);
        bad.as_object_mut().unwrap().remove("aud");
        let bad = p.sign(&bad);
        let good: Vec<String> = (0..8).map(|_| p.sign(&p.claims())).collect();
        let (bad_answer, goods) = tokio::join!(
            p.post(&bad),
            futures::future::join_all(good.iter().map(|a| p.post(a)))
        );
        bad_answer.refused("invalid_grant", "invalid assertion");
        assert!(
            goods.iter().all(|a| a.status == 200),
            "{backend}: {goods:?}"
        );
        let stored = marker.replace('\0', "\u{FFFD}");
        let (mut found, mut successes) = (false, 0);
        for _ in 0..100 {
            let rows = p.history("limit=1000").await;
            found = rows.iter().any(|r| r.username == stored);
            successes = rows
                .iter()
                .filter(|r| r.username == p.username && r.error.is_none())
                .count();
            if found && successes >= 8 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(found, "{backend}: the hostile attempt was not recorded");
        assert!(successes >= 8, "{backend}: {successes} successes recorded");
        server.stop().await.unwrap();
    }
}

/// Form bodies are parsed in one pass and bounded: a revoke or introspect body past 64 KiB gets
/// 413 in the OAuth error shape without being read further, one just under it with thousands of
/// distinct parameters gets its ordinary answer, and admin routes bound their JSON bodies and
/// refuse control characters in paths and queries the same way on both backends.
#[tokio::test]
async fn bodies_are_bounded_and_paths_checked_on_every_backend() {
    for server in servers("bounded bodies").await {
        let backend = server.backend();
        let p = Partner::of(&server).await;
        let login = &p.login_url;
        let form = |n: usize| {
            (0..n)
                .map(|i| format!("p{i}=x"))
                .collect::<Vec<_>>()
                .join("&")
        };
        for path in ["revoke", "introspect"] {
            let r = p
                .http
                .post(format!("{login}/services/oauth2/{path}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(200_000))
                .send()
                .await
                .unwrap();
            let a = Answer::read(r).await;
            assert_eq!(a.status, 413, "{backend} {path}: {a:?}");
            assert_eq!(
                a.body,
                r#"{"error":"invalid_request","error_description":"request entity too large"}"#
            );
        }
        let small = form(6_000);
        assert!(small.len() < 64 * 1024);
        let r = p
            .http
            .post(format!("{login}/services/oauth2/revoke"))
            .body(small)
            .send()
            .await
            .unwrap();
        let a = Answer::read(r).await;
        assert_eq!(a.status, 400, "{backend}: {a:?}");
        assert_eq!(
            a.body,
            r#"{"error":"invalid_token","error_description":"invalid token"}"#
        );

        // Admin API: JSON bodies past 256 KiB, NUL in a path or a query.
        let admin = |method: reqwest::Method, path: &str| {
            p.http
                .request(method, format!("{login}{path}"))
                .bearer_auth(&p.admin_token)
        };
        let big = json!({"username": "x@example.com", "profile": "Standard User", "padding": "x".repeat(300 * 1024)});
        let r = admin(reqwest::Method::POST, "/admin/v1/users")
            .json(&big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{backend}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v[0]["errorCode"], "JSON_PARSER_ERROR", "{backend}: {v}");
        for path in [
            "/admin/v1/users/a%00b@example.com",
            "/admin/v1/external-client-apps/a%00b",
            "/admin/v1/channels/a%01b",
            "/admin/v1/conversations/a%00b",
            "/admin/v1/attachments/a%00b",
        ] {
            let r = admin(reqwest::Method::GET, path).send().await.unwrap();
            assert_eq!(r.status(), 404, "{backend} {path}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v[0]["errorCode"], "NOT_FOUND", "{backend} {path}: {v}");
        }
        let r = admin(
            reqwest::Method::GET,
            "/admin/v1/login-history?username=a%00b",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 400, "{backend}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v[0]["errorCode"], "MALFORMED_QUERY", "{backend}: {v}");
        server.stop().await.unwrap();
    }
}

/// `/.well-known/openid-configuration` advertises only what byoc serves (issue 9, item 6): every
/// endpoint it names answers, every grant type it lists is handled by the token endpoint, and it
/// lists no response types (byoc has no authorization endpoint).
#[tokio::test]
async fn openid_configuration_advertises_only_what_byoc_serves() {
    let server = TestServer::start().await.unwrap();
    let login = server.org().login_url.clone();
    let http = reqwest::Client::new();
    let oidc: Value = http
        .get(format!("{login}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let members = oidc.as_object().unwrap();
    let mut endpoints = 0;
    for (name, url) in members {
        if !(name.ends_with("_endpoint") || name.ends_with("_uri")) {
            continue;
        }
        let url = url.as_str().unwrap();
        assert!(url.starts_with(&login), "{name}: {url}");
        // Endpoints take POST (userinfo too); key sets are read with GET.
        let r = if name.ends_with("_uri") {
            http.get(url).send().await.unwrap()
        } else {
            http.post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("")
                .send()
                .await
                .unwrap()
        };
        assert!(
            r.status() != 404 && r.status() != 405,
            "{name} ({url}) answers {}",
            r.status()
        );
        endpoints += 1;
    }
    assert!(endpoints >= 5, "{oidc}");
    for grant in oidc["grant_types_supported"].as_array().unwrap() {
        let r = http
            .post(format!("{login}/services/oauth2/token"))
            .form(&[("grant_type", grant.as_str().unwrap())])
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        assert_ne!(body["error"], "unsupported_grant_type", "{grant}: {body}");
    }
    assert!(oidc.get("authorization_endpoint").is_none(), "{oidc}");
    assert_eq!(oidc["response_types_supported"], json!([]), "{oidc}");
    assert_eq!(
        oidc["token_endpoint_auth_methods_supported"],
        json!(["none", "client_secret_post", "client_secret_basic"])
    );
    server.stop().await.unwrap();
}

/// The key id a token was sealed with: its first 2 bytes, in hex.
fn key_id(token: &str) -> String {
    let sealed = token.split_once('!').unwrap().1;
    let bytes = URL_SAFE_NO_PAD.decode(sealed).unwrap();
    bytes[..2].iter().map(|b| format!("{b:02x}")).collect()
}

/// The token-sealing key rotates (issue 9, item 6): `rotate` (System Administrators only,
/// audited) stores a new key; after its activation new tokens carry its key id, tokens of the old
/// key still work, and a second instance on the same PostgreSQL accepts both and mints with the
/// new key too.
#[tokio::test]
async fn token_keys_rotate_and_old_tokens_stay_valid_on_every_instance() {
    for a in servers("oauth token keys").await {
        let backend = a.backend();
        let pa = Partner::of(&a).await;
        let b = match a.database_url() {
            Some(url) => Some(
                TestServer::start_with(Options {
                    database_url: Some(url.to_string()),
                    ..Options::default()
                })
                .await
                .unwrap(),
            ),
            None => None,
        };
        let old = pa.token().await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let old_kid = key_id(&old);

        // Not for a user without the System Administrator profile.
        let admin = a.admin();
        admin
            .create_user(&NewUser {
                username: format!("keys-{backend}@partner.example"),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec![],
                is_active: true,
            })
            .await
            .unwrap();
        let refused = admin
            .clone()
            .act_as(Some(&format!("keys-{backend}@partner.example")))
            .rotate_token_keys()
            .await
            .expect_err("a Standard User cannot rotate");
        assert_eq!(refused.status(), Some(403), "{backend}: {refused}");

        let rotated = admin.rotate_token_keys().await.unwrap();
        assert_ne!(rotated.key_id, old_kid, "{backend}");
        let audit = admin.audit(Some(20)).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.section == "Access Token Keys" && e.action.contains(&rotated.key_id)),
            "{backend}: {audit:?}"
        );

        // New tokens carry the new key id once it is active.
        let started = std::time::Instant::now();
        let new = loop {
            let t = pa.token().await["access_token"]
                .as_str()
                .unwrap()
                .to_string();
            if key_id(&t) == rotated.key_id {
                break t;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{backend}: no token with the new key"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let keys = admin.token_keys().await.unwrap().keys;
        let state = |kid: &str| {
            keys.iter()
                .find(|k| k.key_id == kid)
                .map(|k| k.state.clone())
                .unwrap_or_default()
        };
        assert_eq!(state(&rotated.key_id), "current", "{backend}: {keys:?}");
        assert_eq!(state(&old_kid), "retired", "{backend}: {keys:?}");

        let mut instances = vec![&a];
        instances.extend(b.iter());
        for server in instances {
            for token in [&old, &new] {
                let started = std::time::Instant::now();
                loop {
                    let r = pa
                        .http
                        .get(format!(
                            "{}/services/oauth2/userinfo",
                            server.org().login_url
                        ))
                        .bearer_auth(token)
                        .send()
                        .await
                        .unwrap();
                    if r.status() == 200 {
                        break;
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "{backend}: {} refuses a token of key {}",
                        server.org().login_url,
                        key_id(token)
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        if let Some(b) = b {
            // The same partner (key in A's data dir), asking B for tokens.
            let mut pb = Partner::of(&a).await;
            pb.token_url = format!("{}/services/oauth2/token", b.org().login_url);
            let started = std::time::Instant::now();
            loop {
                let t = pb.token().await["access_token"]
                    .as_str()
                    .unwrap()
                    .to_string();
                if key_id(&t) == rotated.key_id {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "instance B never minted with the new key"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            b.stop().await.unwrap();
        }
        a.stop().await.unwrap();
    }
}
