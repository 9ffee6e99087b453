#![allow(clippy::disallowed_methods)] // tests and tools read the wall clock
//! Who may call the admin API and as whom (issue 9, item 1), and tokens that die with the user or
//! app they stand for on every host (item 3). Every test runs on SQLite and, when reachable,
//! PostgreSQL; the cross-instance test needs PostgreSQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_proto::admin::{AppInput, NewUser, PolicyInput, UpdateUser};
use byoc_proto::setup::PermittedUsers;
use byoc_pubsub_proto::v1::pub_sub_client::PubSubClient;
use byoc_pubsub_proto::v1::{FetchRequest, FetchResponse, ReplayPreset, TopicRequest};
use byoc_server::pubsub::PubSubConfig;
use byoc_testkit::{Options, TestServer};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Streaming};

/// Salesforce's REST answer to a session without the `api` scope.
const API_DISABLED: &str = r#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#;
/// Salesforce's REST answer to an expired, revoked or unknown session.
const EXPIRED: &str =
    r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
const TOPIC: &str = "/event/Byoc_Outbound__e";
const AUTH_ERROR: &str = "sfdc.platform.eventbus.grpc.service.auth.error";
/// Only guards against a hang; nothing is asserted about it.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn options() -> Options {
    Options {
        pubsub: PubSubConfig {
            keepalive: Duration::from_millis(200),
            ..PubSubConfig::default()
        },
        ..Options::default()
    }
}

async fn servers(label: &str) -> Vec<TestServer> {
    byoc_testkit::on_every_backend(label, options())
        .await
        .expect("servers")
}

fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}{nanos:x}{}", N.fetch_add(1, Ordering::Relaxed))
}

fn partner_env(server: &TestServer) -> HashMap<String, String> {
    let text = std::fs::read_to_string(server.data_dir().join("partner.env")).expect("partner.env");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('"').replace("\\n", "\n"),
            )
        })
        .collect()
}

/// An External Client App with the JWT Bearer flow and `scopes`, pre-authorized for `profiles`;
/// its consumer key and private key.
async fn app(
    server: &TestServer,
    name: &str,
    scopes: &[&str],
    profiles: &[&str],
) -> (String, String) {
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
                profiles: Some(profiles.iter().map(|s| s.to_string()).collect()),
                ..PolicyInput::default()
            },
        )
        .await
        .expect("policies");
    (saved.record.oauth.consumer_key, pair.private_key_pem)
}

async fn token_for(server: &TestServer, key: &str, pem: &str, username: &str) -> String {
    JwtBearer::new(JwtBearerSettings {
        token_url: format!("{}/services/oauth2/token", server.org().login_url),
        consumer_key: key.into(),
        username: username.into(),
        audience: "https://login.salesforce.com".into(),
        private_key_pem: pem.into(),
    })
    .expect("provider")
    .fetch()
    .await
    .expect("token")
    .access_token
}

async fn user(server: &TestServer, username: &str, profile: &str, active: bool) {
    server
        .admin()
        .create_user(&NewUser {
            username: username.into(),
            email: None,
            profile: profile.into(),
            permission_sets: vec![],
            is_active: active,
        })
        .await
        .expect("user");
}

/// An admin API call with this `Authorization` value (and `X-Byoc-As`); status and body.
async fn admin_call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    authorization: &str,
    act_as: Option<&str>,
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .request(
            method.clone(),
            format!("{}/admin/v1/{path}", server.org().login_url),
        )
        .header("authorization", authorization);
    if let Some(who) = act_as {
        request = request.header("x-byoc-as", who);
    }
    if method == reqwest::Method::POST {
        request = request
            .header("content-type", "application/json")
            .body("{}");
    }
    let r = request.send().await.expect("admin API answers");
    (r.status().as_u16(), r.text().await.expect("body"))
}

async fn admin_get(
    server: &TestServer,
    path: &str,
    authorization: &str,
    act_as: Option<&str>,
) -> (u16, String) {
    admin_call(server, reqwest::Method::GET, path, authorization, act_as).await
}

#[track_caller]
fn insufficient(got: &(u16, String), needle: &str) {
    assert_eq!(got.0, 403, "{got:?}");
    let body: Value = serde_json::from_str(&got.1).expect("JSON");
    assert_eq!(body[0]["errorCode"], "INSUFFICIENT_ACCESS", "{got:?}");
    let message = body[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {got:?}");
}

#[tokio::test]
async fn admin_api_takes_api_sessions_and_checks_login_as_and_every_read() {
    for s in servers("authz admin api").await {
        let org = s.org().clone();
        let env = partner_env(&s);
        let bootstrap = format!("Bearer {}", org.admin_token);

        // The sample app's partner token (interaction_api, refresh_token, offline_access): valid,
        // but not for the REST API, whatever the scheme, and not even as someone else.
        let partner = token_for(
            &s,
            &env["SF_CONSUMER_KEY"],
            &env["SF_PRIVATE_KEY"],
            &org.admin_username,
        )
        .await;
        for auth in [
            format!("Bearer {partner}"),
            format!("OAuth {partner}"),
            format!("oauth {partner}"),
        ] {
            assert_eq!(
                admin_get(&s, "whoami", &auth, None).await,
                (401, API_DISABLED.to_string()),
                "{}",
                s.backend()
            );
        }
        let as_admin = admin_get(
            &s,
            "conversations",
            &format!("Bearer {partner}"),
            Some(&org.admin_username),
        )
        .await;
        assert_eq!(as_admin, (401, API_DISABLED.to_string()));
        let garbage = format!("Bearer {}!garbage", org.org_id);
        assert_eq!(
            admin_get(&s, "whoami", &garbage, None).await,
            (401, EXPIRED.to_string())
        );

        // An app with the api scope, for System Administrators and Standard Users.
        let app_name = unique("Authz Api ");
        let (key, pem) = app(
            &s,
            &app_name,
            &["api", "refresh_token", "offline_access"],
            &["System Administrator", "Standard User"],
        )
        .await;
        let admin_token = token_for(&s, &key, &pem, &org.admin_username).await;
        for auth in [
            format!("OAuth {admin_token}"),
            format!("bearer {admin_token}"),
        ] {
            let (status, body) = admin_get(&s, "whoami", &auth, None).await;
            assert_eq!(status, 200, "{body}");
            assert!(body.contains(&org.admin_username), "{body}");
        }

        let std_user = format!("{}@authz.example", unique("std"));
        let inactive = format!("{}@authz.example", unique("off"));
        user(&s, &std_user, "Standard User", true).await;
        user(&s, &inactive, "Standard User", false).await;
        let std_token = format!("Bearer {}", token_for(&s, &key, &pem, &std_user).await);
        let (status, body) = admin_get(&s, "whoami", &std_token, None).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&std_user), "{body}");

        // A Standard User can't log in as anyone.
        insufficient(
            &admin_get(&s, "whoami", &std_token, Some(&org.admin_username)).await,
            "missing the user permission \"Modify All Data\" and \"Manage Profiles and Permission Sets\"",
        );
        // Every read checks a permission.
        let channel = s.admin().channels().await.expect("channels")[0]
            .name
            .clone();
        let view_setup = [
            "org".to_string(),
            "profiles".into(),
            "users".into(),
            format!("users/{std_user}"),
            "permission-sets".into(),
            "external-client-apps".into(),
            format!("external-client-apps/{app_name}"),
            "connected-apps".into(),
            "channels".into(),
            format!("channels/{channel}"),
            format!("ccds/{}", env["SF_AUTHORIZATION_CONTEXT"]),
            "audit".into(),
        ];
        for path in &view_setup {
            insufficient(
                &admin_get(&s, path, &std_token, None).await,
                "\"View Setup and Configuration\"",
            );
        }
        insufficient(
            &admin_get(&s, "login-history", &std_token, None).await,
            "\"Manage Profiles and Permission Sets\"",
        );
        for path in [
            "conversations",
            "conversations/0dw000000000001",
            "attachments/x",
        ] {
            insufficient(
                &admin_get(&s, path, &std_token, None).await,
                "\"Messaging User\" or \"Modify All Data\"",
            );
        }
        for path in [
            "conversations/0dw000000000001/replies",
            "conversations/0dw000000000001/end",
            "conversations/0dw000000000001/routing-requests",
        ] {
            insufficient(
                &admin_call(&s, reqwest::Method::POST, path, &std_token, None).await,
                "\"Messaging User\"",
            );
        }

        // Nobody logs in as an inactive user, not even the bootstrap admin.
        for auth in [format!("Bearer {admin_token}"), bootstrap.clone()] {
            insufficient(
                &admin_get(&s, "whoami", &auth, Some(&inactive)).await,
                "inactive",
            );
        }
        // An admin's api session and the bootstrap credential may; each act is audited.
        for auth in [format!("Bearer {admin_token}"), bootstrap.clone()] {
            let (status, body) = admin_get(&s, "whoami", &auth, Some(&std_user)).await;
            assert_eq!(status, 200, "{body}");
            assert!(body.contains(&std_user), "{body}");
        }
        let audit = s.admin().audit(Some(50)).await.expect("audit");
        let login_as: Vec<_> = audit
            .iter()
            .filter(|e| e.action == format!("Logged in using Login-As access for {std_user}"))
            .collect();
        assert_eq!(login_as.len(), 2, "{audit:#?}");
        for e in login_as {
            assert_eq!(e.section, "Manage Users");
            assert_eq!(e.created_by, org.admin_username);
        }
        s.stop().await.expect("stop");
    }
}

/// A Pub/Sub client of `server` presenting `token`.
struct PubSub {
    grpc: PubSubClient<Channel>,
    token: String,
    instance_url: String,
    tenant: String,
}

impl PubSub {
    async fn new(server: &TestServer, token: &str) -> PubSub {
        let ca = std::fs::read_to_string(&server.org().ca_cert).expect("ca");
        let channel = Endpoint::from_shared(format!("https://{}", server.org().pubsub_endpoint))
            .expect("endpoint")
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)))
            .expect("tls")
            .connect()
            .await
            .expect("connect over TLS");
        PubSub {
            grpc: PubSubClient::new(channel),
            token: token.into(),
            instance_url: server.org().instance_url.clone(),
            tenant: server.org().org_id.clone(),
        }
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        for (name, value) in [
            ("accesstoken", &self.token),
            ("instanceurl", &self.instance_url),
            ("tenantid", &self.tenant),
        ] {
            request
                .metadata_mut()
                .insert(name, value.parse().expect("metadata"));
        }
        request
    }

    async fn get_topic(&self) -> Result<(), tonic::Status> {
        self.grpc
            .clone()
            .get_topic(self.request(TopicRequest {
                topic_name: TOPIC.into(),
            }))
            .await
            .map(|_| ())
    }

    /// An open subscription: it has answered its first keepalive.
    async fn subscription(&self) -> (mpsc::Sender<FetchRequest>, Streaming<FetchResponse>) {
        let (tx, rx) = mpsc::channel(4);
        tx.send(FetchRequest {
            topic_name: TOPIC.into(),
            replay_preset: ReplayPreset::Latest as i32,
            num_requested: 1,
            ..FetchRequest::default()
        })
        .await
        .expect("queue");
        let mut stream = self
            .grpc
            .clone()
            .subscribe(self.request(ReceiverStream::new(rx)))
            .await
            .expect("Subscribe")
            .into_inner();
        tokio::time::timeout(HANG_GUARD, stream.message())
            .await
            .expect("a keepalive")
            .expect("open")
            .expect("a keepalive");
        (tx, stream)
    }
}

#[track_caller]
fn auth_error(status: &tonic::Status) {
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(
        status
            .metadata()
            .get("error-code")
            .and_then(|v| v.to_str().ok()),
        Some(AUTH_ERROR),
        "{status:?}"
    );
}

/// The open subscription ends with the auth error (keepalives before that are skipped).
async fn ended_with_auth_error(stream: &mut Streaming<FetchResponse>) {
    loop {
        match tokio::time::timeout(HANG_GUARD, stream.message())
            .await
            .expect("the subscription ends")
        {
            Ok(Some(_keepalive)) => continue,
            Ok(None) => panic!("the subscription ended without the auth error"),
            Err(status) => return auth_error(&status),
        }
    }
}

/// The token on the four hosts: `true` checks it is accepted, `false` refused as revoked.
async fn check_hosts(server: &TestServer, ccd: &str, token: &str, accepted: bool) {
    let org = server.org();
    let http = reqwest::Client::new();
    let userinfo = http
        .get(format!("{}/services/oauth2/userinfo", org.login_url))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo")
        .status()
        .as_u16();
    let whoami = admin_get(server, "whoami", &format!("Bearer {token}"), None).await;
    // The app is not the CCD's: a valid token gets 10005, a revoked one 10004.
    let scrt = http
        .post(format!("{}/api/v1/interactions", org.scrt_url))
        .bearer_auth(token)
        .header("OrgId", &org.org_id)
        .header("AuthorizationContext", ccd)
        .header("AuthorizationContextType", "ConversationChannelDefinition")
        .header("RequestId", "f7904eb6-5352-4c5e-adf6-5f100572cf5d")
        .send()
        .await
        .expect("interactions");
    let scrt_status = scrt.status().as_u16();
    let scrt_body: Value = scrt.json().await.expect("json");
    let topic = PubSub::new(server, token).await.get_topic().await;
    if accepted {
        assert_eq!(userinfo, 200);
        assert_eq!(whoami.0, 200, "{whoami:?}");
        assert_eq!(
            (scrt_status, &scrt_body["code"]),
            (403, &Value::from(10005))
        );
        topic.expect("GetTopic");
    } else {
        assert_eq!(userinfo, 403);
        assert_eq!(whoami, (401, EXPIRED.to_string()));
        assert_eq!(
            (scrt_status, &scrt_body["code"]),
            (401, &Value::from(10004))
        );
        auth_error(&topic.expect_err("GetTopic refused"));
    }
}

#[tokio::test]
async fn deactivating_a_user_or_disabling_or_deleting_an_app_kills_its_tokens_everywhere() {
    for s in servers("authz revocation").await {
        let ccd = partner_env(&s)["SF_AUTHORIZATION_CONTEXT"].clone();
        let admin = s.admin();
        for scenario in ["deactivate user", "disable app", "delete app"] {
            let app_name = unique("Authz Revoke ");
            let (key, pem) = app(
                &s,
                &app_name,
                &["interaction_api", "api", "refresh_token", "offline_access"],
                &["System Administrator"],
            )
            .await;
            let username = if scenario == "deactivate user" {
                let u = format!("{}@authz.example", unique("ops"));
                user(&s, &u, "System Administrator", true).await;
                u
            } else {
                s.org().admin_username.clone()
            };
            let token = token_for(&s, &key, &pem, &username).await;
            check_hosts(&s, &ccd, &token, true).await;
            let pubsub = PubSub::new(&s, &token).await;
            let (_requests, mut stream) = pubsub.subscription().await;
            match scenario {
                "deactivate user" => {
                    let saved = admin
                        .update_user(
                            &username,
                            &UpdateUser {
                                is_active: Some(false),
                                ..UpdateUser::default()
                            },
                        )
                        .await
                        .expect("deactivate");
                    assert!(!saved.record.is_active);
                }
                "disable app" => {
                    let saved = admin
                        .update_external_client_app(
                            &app_name,
                            &AppInput {
                                oauth_enabled: Some(false),
                                ..AppInput::default()
                            },
                        )
                        .await
                        .expect("disable");
                    assert!(!saved.record.oauth.is_enabled);
                }
                _ => admin
                    .delete_external_client_app(&app_name)
                    .await
                    .expect("delete"),
            }
            // This instance applies its own revocations at once.
            check_hosts(&s, &ccd, &token, false).await;
            ended_with_auth_error(&mut stream).await;
        }
        let audit = admin.audit(Some(20)).await.expect("audit");
        assert!(
            audit
                .iter()
                .any(|e| e.action.starts_with("Deactivated user ops")),
            "{audit:#?}"
        );
        s.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn a_user_deactivated_on_one_instance_is_refused_by_another_within_a_second() {
    let Some(url) = byoc_store::testing::postgres_url("authz two instances").await else {
        return;
    };
    let a = TestServer::start_with(Options {
        database_url: Some(url.clone()),
        ..options()
    })
    .await
    .unwrap();
    let b = TestServer::start_with(Options {
        database_url: Some(url),
        ..options()
    })
    .await
    .unwrap();
    let ccd = partner_env(&a)["SF_AUTHORIZATION_CONTEXT"].clone();
    let (key, pem) = app(
        &a,
        &unique("Authz Two "),
        &["interaction_api", "api", "refresh_token", "offline_access"],
        &["System Administrator"],
    )
    .await;
    let username = format!("{}@authz.example", unique("ops"));
    user(&a, &username, "System Administrator", true).await;
    let token = token_for(&a, &key, &pem, &username).await;
    check_hosts(&b, &ccd, &token, true).await;
    let pubsub = PubSub::new(&b, &token).await;
    let (_requests, mut stream) = pubsub.subscription().await;

    a.admin()
        .update_user(
            &username,
            &UpdateUser {
                is_active: Some(false),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("deactivate on A");
    let started = std::time::Instant::now();
    let http = reqwest::Client::new();
    loop {
        let r = http
            .get(format!("{}/services/oauth2/userinfo", b.org().login_url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() == 403 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "B still accepts the token of a user deactivated on A"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check_hosts(&b, &ccd, &token, false).await;
    ended_with_auth_error(&mut stream).await;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
