#![allow(clippy::disallowed_methods)] // tests and tools read the wall clock
//! The setup model end to end: a real server (HTTP, real database) driven through the SDK's admin
//! client. Every test runs on SQLite and, when reachable, on PostgreSQL.

use byoc_client::{AdminClient, ClientError};
use byoc_proto::admin::*;
use byoc_proto::setup::*;
use byoc_testkit::{Options, TestServer};

async fn servers(empty: bool) -> Vec<TestServer> {
    byoc_testkit::on_every_backend(
        "setup suite",
        Options {
            empty,
            ..Options::default()
        },
    )
    .await
    .expect("servers")
}

fn backend(s: &TestServer) -> &str {
    s.backend()
}

#[track_caller]
fn refused<T: std::fmt::Debug>(
    r: Result<T, ClientError>,
    status: u16,
    code: &str,
    needle: &str,
) -> String {
    match r {
        Ok(v) => panic!("expected a refusal ({status} {code}), got {v:?}"),
        Err(e) => {
            assert_eq!(e.status(), Some(status), "{e}");
            assert!(e.has_error_code(code), "expected {code}: {e:?}");
            let msg = e.to_string();
            assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}");
            msg
        }
    }
}

fn cert() -> (String, String) {
    let now = chrono::Utc::now();
    let pair = byoc_pki::new_self_signed("partner", 30, now).expect("cert");
    (pair.private_key_pem, pair.certificate_pem)
}

fn eca_input(name: &str, cert_pem: Option<String>) -> AppInput {
    AppInput {
        name: Some(name.into()),
        contact_email: Some("dev@partner.example".into()),
        description: None,
        callback_urls: Some(vec!["https://partner.example/callback".into()]),
        scopes: Some(vec![
            "interaction_api".into(),
            "refresh_token".into(),
            "offline_access".into(),
        ]),
        jwt_bearer_enabled: Some(cert_pem.is_some()),
        client_credentials_enabled: None,
        oauth_enabled: None,
        certificate_pem: cert_pem,
    }
}

async fn user_with(admin: &AdminClient, username: &str, profile: &str, sets: &[&str]) -> User {
    admin
        .create_user(&NewUser {
            username: username.into(),
            email: None,
            profile: profile.into(),
            permission_sets: sets.iter().map(|s| s.to_string()).collect(),
            is_active: true,
        })
        .await
        .expect("user")
        .record
}

async fn permission_set(admin: &AdminClient, name: &str, perms: &[UserPermission]) {
    admin
        .create_permission_set(&NewPermissionSet {
            name: name.into(),
            label: None,
            permissions: perms.to_vec(),
            object_permissions: vec![],
        })
        .await
        .expect("permission set");
}

#[tokio::test]
async fn first_start_writes_org_files_and_seed() {
    for s in servers(false).await {
        let org = s.org().clone();
        assert!(
            org.org_id.starts_with("00D") && org.org_id.len() == 15,
            "{}",
            org.org_id
        );
        assert_eq!(
            byoc_core::ids::to_18(&org.org_id).as_deref(),
            Some(org.org_id_18.as_str())
        );
        assert_eq!(org.database, backend(&s));
        // Real bound ports, not 0.
        for url in [&org.login_url, &org.scrt_url] {
            assert!(!url.ends_with(":0"), "{url}");
        }
        assert!(!org.pubsub_endpoint.ends_with(":0"));

        // Secret files are owner-only.
        use std::os::unix::fs::PermissionsExt;
        // The CA's key is in the database (docs/scale-out.md), only its certificate on disk.
        assert!(!s.data_dir().join("ca.key").exists());
        assert!(s.data_dir().join("ca.crt").exists());
        let mut secret_files = vec!["org.json", "partner.env", "server.key"];
        if backend(&s) == "sqlite" {
            secret_files.extend(["byoc.db", "byoc.db-wal"]);
        }
        for f in secret_files {
            let mode = std::fs::metadata(s.data_dir().join(f))
                .expect(f)
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{f} is readable by others: {mode:o}");
        }

        // partner.env has every variable, the key as one quoted line with \n escapes.
        let env = std::fs::read_to_string(s.data_dir().join("partner.env")).unwrap();
        for var in [
            "SF_CONSUMER_KEY",
            "SF_PRIVATE_KEY",
            "SF_AUDIENCE",
            "SF_SUBJECT",
            "SF_AUTH_ENDPOINT",
            "SF_INSTANCE_URL",
            "SF_SCRT_INSTANCE_URL",
            "SF_PUB_SUB_ENDPOINT",
            "SF_PUB_SUB_TOPIC_NAME",
            "SF_ORG_ID",
            "SF_AUTHORIZATION_CONTEXT",
            "CHANNEL_ADDRESS_IDENTIFIER",
            "END_USER_CLIENT_IDENTIFIER",
            "SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD",
            "SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD",
            "SF_PUB_SUB_CUSTOM_EVENT_CHANNEL_ADDRESS_ID_FIELD",
            "SF_PUB_SUB_CUSTOM_EVENT_RECIPIENT_FIELD",
            "SF_PUB_SUB_EVENT_RECEIVE_LIMIT",
        ] {
            assert!(
                env.lines().any(|l| l.starts_with(&format!("{var}=\""))),
                "{var} missing in\n{env}"
            );
        }
        let key_line = env
            .lines()
            .find(|l| l.starts_with("SF_PRIVATE_KEY="))
            .unwrap();
        assert!(
            key_line.starts_with("SF_PRIVATE_KEY=\"-----BEGIN PRIVATE KEY-----\\n"),
            "{key_line}"
        );
        assert!(env.contains(&format!(
            "SF_AUTH_ENDPOINT=\"{}/services/oauth2/token\"",
            org.login_url
        )));
        assert!(env.contains("SF_PUB_SUB_TOPIC_NAME=\"/event/Byoc_Outbound__e\""));

        // The seed: ECA with JWT, scopes, cert; admin-approved with System Administrator; CCD linked.
        let admin = s.admin();
        let app = admin.external_client_app("BYOC Sample App").await.unwrap();
        assert_eq!(app.distribution_state.as_deref(), Some("Local"));
        assert!(app.oauth.jwt_bearer_enabled);
        assert!(app.oauth.certificate.is_some());
        assert_eq!(
            app.oauth.scopes,
            ["interaction_api", "refresh_token", "offline_access"]
        );
        assert_eq!(
            app.policies.permitted_users,
            PermittedUsers::AdminApprovedPreAuthorized
        );
        assert_eq!(app.policies.profiles, ["System Administrator"]);
        assert!(
            app.oauth.consumer_secret.is_none(),
            "show never reveals the secret"
        );
        assert!(env.contains(&format!("SF_CONSUMER_KEY=\"{}\"", app.oauth.consumer_key)));
        let channel = admin.channel("BYOC Sample Channel").await.unwrap();
        let ccd = channel.conversation_channel_definition.unwrap();
        assert_eq!(ccd.connected_app_type, AppManagedBy::Customer);
        assert_eq!(ccd.linked_app.unwrap().id, app.id);
        assert!(env.contains(&format!(
            "SF_AUTHORIZATION_CONTEXT=\"{}\"",
            ccd.developer_name
        )));

        // The seed's steps are in the audit trail, by the bootstrap admin.
        let trail = admin.audit(None).await.unwrap();
        assert!(trail.iter().any(|e| e
            .action
            .starts_with("Created External Client App BYOC Sample App")));
        assert!(trail.iter().any(|e| e
            .action
            .starts_with("Linked the Conversation Channel Definition")));
        assert!(trail.iter().all(|e| e.created_by == org.admin_username));
        s.stop().await.unwrap();
    }
}

#[tokio::test]
async fn empty_org_has_no_sample_and_pubsub_speaks_tls() {
    for s in servers(true).await {
        let admin = s.admin();
        assert!(admin.external_client_apps().await.unwrap().is_empty());
        assert!(admin.channels().await.unwrap().is_empty());
        assert!(!s.data_dir().join("partner.env").exists());
        assert_eq!(
            admin.whoami().await.unwrap().profile,
            "System Administrator"
        );

        // The Pub/Sub listener completes a TLS handshake with a certificate chaining to the CA.
        let ca = std::fs::read(&s.org().ca_cert).unwrap();
        let ca = reqwest::Certificate::from_pem(&ca).unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(ca)
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let port = s.org().pubsub_endpoint.rsplit(':').next().unwrap();
        let resp = http
            .post(format!(
                "https://localhost:{port}/eventbus.v1.PubSub/GetTopic"
            ))
            .header("content-type", "application/grpc")
            // One gRPC frame: uncompressed, length 0 (an empty TopicRequest).
            .body(vec![0u8; 5])
            .send()
            .await
            .expect("TLS handshake with the local CA");
        // No access token: grpc-status 16 = UNAUTHENTICATED, as trailers-only.
        assert_eq!(
            resp.headers()
                .get("grpc-status")
                .map(|v| v.to_str().unwrap()),
            Some("16")
        );
        // Bound to 127.0.0.1, it answers on [::1] too (clients given `localhost` may try IPv6
        // first), when the machine has IPv6 loopback at all.
        if std::net::TcpListener::bind("[::1]:0").is_ok() {
            let resp = http
                .post(format!("https://[::1]:{port}/eventbus.v1.PubSub/GetTopic"))
                .header("content-type", "application/grpc")
                .body(vec![0u8; 5])
                .send()
                .await
                .expect("TLS over IPv6 loopback");
            assert_eq!(
                resp.headers()
                    .get("grpc-status")
                    .map(|v| v.to_str().unwrap()),
                Some("16")
            );
        }
        s.stop().await.unwrap();
    }
}

/// Pub/Sub's TLS on `endpoint` chains to `ca_pem` (GetTopic without a token: UNAVAILABLE is
/// not what matters, the handshake is).
async fn pubsub_tls_chains_to(endpoint: &str, ca_pem: &str) {
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let resp = http
        .post(format!("https://{endpoint}/eventbus.v1.PubSub/GetTopic"))
        .header("content-type", "application/grpc")
        .body(vec![0u8; 5])
        .send()
        .await
        .expect("TLS handshake with the CA");
    assert_eq!(
        resp.headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap()),
        Some("16")
    );
}

/// A data dir from before the CA moved to the database (issue 13): its constrained CA moves in
/// on first start (the database holds it, `ca.key` leaves the disk, `ca.crt` stays); one that
/// predates the loopback name constraints is replaced by a new, constrained CA instead (issue 9,
/// item 6). Pub/Sub TLS chains to the CA in the database.
#[tokio::test]
async fn a_data_dir_ca_moves_into_the_database_unless_unconstrained() {
    let now = chrono::Utc::now();
    let constrained = byoc_pki::new_local_ca("old data dir", now).unwrap();
    let unconstrained = byoc_pki::new_self_signed("old byoc local CA", 30, now).unwrap();
    for (cert, key, moves_in) in [
        (
            &constrained.certificate_pem,
            &constrained.private_key_pem,
            true,
        ),
        (
            &unconstrained.certificate_pem,
            &unconstrained.private_key_pem,
            false,
        ),
    ] {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("ca.crt"), cert).unwrap();
        std::fs::write(dir.join("ca.key"), key).unwrap();
        let s = TestServer::start_with(Options {
            empty: true,
            data_dir: Some(dir.clone()),
            ..Options::default()
        })
        .await
        .unwrap();
        let stored = s
            .store()
            .unwrap()
            .repo()
            .local_ca()
            .await
            .unwrap()
            .expect("the CA is in the database");
        let on_disk = std::fs::read_to_string(dir.join("ca.crt")).unwrap();
        assert_eq!(on_disk, stored.certificate_pem);
        assert_eq!(stored.certificate_pem == *cert, moves_in);
        assert_eq!(stored.private_key_pem == *key, moves_in);
        assert!(!dir.join("ca.key").exists());
        let ca = byoc_pki::LocalCa {
            certificate_pem: stored.certificate_pem.clone(),
            private_key_pem: stored.private_key_pem.clone(),
        };
        assert!(ca.is_loopback_constrained());
        pubsub_tls_chains_to(&s.org().pubsub_endpoint, &on_disk).await;
        // The next start reads the same CA back, with no key file on disk.
        let s = s.restart().await.unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("ca.crt")).unwrap(),
            stored.certificate_pem
        );
        pubsub_tls_chains_to(&s.org().pubsub_endpoint, &on_disk).await;
        s.stop().await.unwrap();
    }
}

#[tokio::test]
async fn admin_api_refuses_bad_credentials_in_salesforce_shape() {
    let s = TestServer::start_with(Options {
        empty: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let wrong = AdminClient::new(&s.org().login_url, "00Dxxxxxxxxxxxx!nope").unwrap();
    refused(
        wrong.org().await,
        401,
        "INVALID_SESSION_ID",
        "Session expired or invalid",
    );
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/admin/v1/org", s.org().login_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.text().await.unwrap(),
        r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#
    );
    // Malformed JSON is a 400 in the same shape, not a 500.
    let resp = http
        .post(format!("{}/admin/v1/users", s.org().login_url))
        .bearer_auth(&s.org().admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("JSON_PARSER_ERROR"));
    // Acting as an unknown user.
    refused(
        s.admin().act_as(Some("ghost@example.com")).org().await,
        404,
        "NOT_FOUND",
        "User ghost@example.com doesn't exist",
    );
    s.stop().await.unwrap();
}

#[tokio::test]
async fn users_permission_sets_and_permission_rules() {
    for s in servers(true).await {
        let admin = s.admin();
        permission_set(
            &admin,
            "Eca_Managers",
            &[UserPermission::ManageExternalClientApps],
        )
        .await;
        permission_set(
            &admin,
            "Customizers",
            &[UserPermission::CustomizeApplication],
        )
        .await;
        permission_set(
            &admin,
            "Connected_App_Managers",
            &[
                UserPermission::CustomizeApplication,
                UserPermission::ManageConnectedApps,
            ],
        )
        .await;
        permission_set(
            &admin,
            "App_Access",
            &[
                UserPermission::CustomizeApplication,
                UserPermission::ModifyAllData,
                UserPermission::ManageProfilesPermissionSets,
            ],
        )
        .await;
        user_with(&admin, "std@byoc.example.com", "Standard User", &[]).await;
        user_with(
            &admin,
            "eca@byoc.example.com",
            "Standard User",
            &["Eca_Managers"],
        )
        .await;
        user_with(
            &admin,
            "cust@byoc.example.com",
            "Standard User",
            &["Customizers"],
        )
        .await;
        user_with(
            &admin,
            "ca@byoc.example.com",
            "Standard User",
            &["Connected_App_Managers"],
        )
        .await;
        user_with(
            &admin,
            "access@byoc.example.com",
            "Standard User",
            &["App_Access"],
        )
        .await;

        // Refusals of user and permission set input.
        refused(
            admin
                .create_user(&NewUser {
                    username: "not-an-email".into(),
                    email: None,
                    profile: "Standard User".into(),
                    permission_sets: vec![],
                    is_active: true,
                })
                .await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "valid email",
        );
        refused(
            admin
                .create_user(&NewUser {
                    username: "x@byoc.example.com".into(),
                    email: None,
                    profile: "Chief Wizard".into(),
                    permission_sets: vec![],
                    is_active: true,
                })
                .await,
            404,
            "NOT_FOUND",
            "Profile Chief Wizard doesn't exist",
        );
        refused(
            admin
                .create_user(&NewUser {
                    username: "STD@byoc.example.com".into(),
                    email: None,
                    profile: "Standard User".into(),
                    permission_sets: vec![],
                    is_active: true,
                })
                .await,
            400,
            "DUPLICATE_VALUE",
            "already in use",
        );
        refused(
            admin
                .create_user(&NewUser {
                    username: "y@byoc.example.com".into(),
                    email: None,
                    profile: "Standard User".into(),
                    permission_sets: vec!["Nope".into()],
                    is_active: true,
                })
                .await,
            404,
            "NOT_FOUND",
            "Permission set Nope",
        );
        refused(
            admin
                .create_permission_set(&NewPermissionSet {
                    name: "bad name".into(),
                    label: None,
                    permissions: vec![],
                    object_permissions: vec![],
                })
                .await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "API name",
        );
        refused(
            admin
                .create_permission_set(&NewPermissionSet {
                    name: "Customizers".into(),
                    label: None,
                    permissions: vec![],
                    object_permissions: vec![],
                })
                .await,
            400,
            "DUPLICATE_VALUE",
            "Customizers",
        );

        let as_ = |u: &str| admin.clone().act_as(Some(u));
        let (_, cert_pem) = cert();

        // ECA: needs "Create, edit, and delete External Client Apps".
        let msg = refused(
            as_("std@byoc.example.com")
                .create_external_client_app(&eca_input("Std App", None))
                .await,
            403,
            "INSUFFICIENT_ACCESS",
            "Create, edit, and delete External Client Apps",
        );
        assert!(msg.contains("std@byoc.example.com"), "{msg}");
        as_("eca@byoc.example.com")
            .create_external_client_app(&eca_input("Eca User App", Some(cert_pem.clone())))
            .await
            .expect("eca manager creates an ECA");
        // Standard users can't manage users either.
        refused(
            as_("eca@byoc.example.com")
                .create_user(&NewUser {
                    username: "z@byoc.example.com".into(),
                    email: None,
                    profile: "Standard User".into(),
                    permission_sets: vec![],
                    is_active: true,
                })
                .await,
            403,
            "INSUFFICIENT_ACCESS",
            "Manage Profiles and Permission Sets",
        );

        // Connected apps: org gate first (Spring '26), then Customize Application AND (Modify All Data OR Manage Connected Apps).
        refused(admin.create_connected_app(&eca_input("Legacy", None)).await, 403, "INSUFFICIENT_ACCESS",
            "You can't create a connected app. To enable connected app creation, contact Salesforce Customer Support.");
        refused(
            as_("eca@byoc.example.com")
                .update_org(&UpdateOrg {
                    allow_connected_app_creation: Some(true),
                })
                .await,
            403,
            "INSUFFICIENT_ACCESS",
            "Customize Application",
        );
        admin
            .update_org(&UpdateOrg {
                allow_connected_app_creation: Some(true),
            })
            .await
            .unwrap();
        assert!(admin.org().await.unwrap().allow_connected_app_creation);
        let msg = refused(
            as_("std@byoc.example.com")
                .create_connected_app(&eca_input("Legacy", None))
                .await,
            403,
            "INSUFFICIENT_ACCESS",
            "\"Customize Application\" and (\"Modify All Data\" or \"Manage Connected Apps\")",
        );
        assert!(msg.contains("create or edit connected apps"), "{msg}");
        refused(
            as_("cust@byoc.example.com")
                .create_connected_app(&eca_input("Legacy", None))
                .await,
            403,
            "INSUFFICIENT_ACCESS",
            "\"Modify All Data\" or \"Manage Connected Apps\"",
        );
        let legacy = as_("ca@byoc.example.com")
            .create_connected_app(&eca_input("Legacy", Some(cert_pem.clone())))
            .await
            .expect("connected app");
        assert!(
            legacy.record.oauth.jwt_bearer_enabled,
            "digital signatures enable the JWT flow"
        );
        assert!(legacy.record.distribution_state.is_none());

        // Connected app profiles: Customize Application AND Modify All Data AND Manage Profiles and Permission Sets.
        let add = AssignmentChange {
            add_profiles: vec!["System Administrator".into()],
            ..Default::default()
        };
        refused(
            as_("ca@byoc.example.com")
                .change_connected_app_assignments("Legacy", &add)
                .await,
            403,
            "INSUFFICIENT_ACCESS",
            "\"Modify All Data\" and \"Manage Profiles and Permission Sets\"",
        );
        let saved = as_("access@byoc.example.com")
            .change_connected_app_assignments("Legacy", &add)
            .await
            .unwrap();
        assert_eq!(saved.record.policies.profiles, ["System Administrator"]);
        refused(
            as_("access@byoc.example.com")
                .change_connected_app_assignments(
                    "Legacy",
                    &AssignmentChange {
                        remove_profiles: vec!["Standard User".into()],
                        ..Default::default()
                    },
                )
                .await,
            404,
            "NOT_FOUND",
            "Standard User",
        );
        let removed = admin
            .change_connected_app_assignments(
                "Legacy",
                &AssignmentChange {
                    remove_profiles: vec!["system administrator".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(removed.record.policies.profiles.is_empty());

        // Connected app policies: permitted users needs the connected-app permission only.
        let pol = PolicyInput {
            permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
            ..Default::default()
        };
        refused(
            as_("cust@byoc.example.com")
                .update_connected_app_policies("Legacy", &pol)
                .await,
            403,
            "INSUFFICIENT_ACCESS",
            "Manage Connected Apps",
        );
        let saved = as_("ca@byoc.example.com")
            .update_connected_app_policies("Legacy", &pol)
            .await
            .unwrap();
        assert_eq!(
            saved.warnings.len(),
            1,
            "admin-approved shows Setup's warning"
        );
        assert!(saved.warnings[0].contains("Admin approved users are pre-authorized"));

        // Inactive users can't act.
        admin
            .create_user(&NewUser {
                username: "gone@byoc.example.com".into(),
                email: None,
                profile: "System Administrator".into(),
                permission_sets: vec![],
                is_active: false,
            })
            .await
            .unwrap();
        refused(
            as_("gone@byoc.example.com")
                .create_external_client_app(&eca_input("Gone", None))
                .await,
            403,
            "INSUFFICIENT_ACCESS",
            "inactive",
        );

        // Every refusal above left nothing behind.
        let names: Vec<String> = admin
            .external_client_apps()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["Eca User App"]);
        assert_eq!(admin.connected_apps().await.unwrap().len(), 1);
        s.stop().await.unwrap();
    }
}

#[tokio::test]
async fn external_client_apps_lifecycle_and_validation() {
    for s in servers(true).await {
        let admin = s.admin();
        let (_, cert_pem) = cert();

        let created = admin
            .create_external_client_app(&eca_input("Acme BYOC Connector", Some(cert_pem.clone())))
            .await
            .unwrap();
        let app = created.record;
        assert_eq!(app.api_name, "Acme_BYOC_Connector");
        assert!(app.oauth.consumer_key.starts_with("3MVG9") && app.oauth.consumer_key.len() > 40);
        let secret = app
            .oauth
            .consumer_secret
            .clone()
            .expect("the create answer shows the secret once");
        assert_eq!(secret.len(), 64);
        assert_eq!(
            app.policies.permitted_users,
            PermittedUsers::AllSelfAuthorized,
            "self-authorize is the default"
        );
        let cert = app.oauth.certificate.clone().unwrap();
        assert_eq!(cert.key_bits, 2048);
        assert!(cert.subject.contains("CN=partner"));
        assert_eq!(cert.sha256_fingerprint.split(':').count(), 32);

        // Show by name or API name, case-insensitively.
        assert_eq!(
            admin
                .external_client_app("acme_byoc_connector")
                .await
                .unwrap()
                .id,
            app.id
        );

        // Validation refusals.
        let mut bad = eca_input("Other", None);
        bad.scopes = Some(vec!["interaction_api".into(), "superpowers".into()]);
        refused(
            admin.create_external_client_app(&bad).await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "\"superpowers\" isn't an OAuth scope",
        );
        let mut bad = eca_input("Other", None);
        bad.scopes = Some(vec![]);
        refused(
            admin.create_external_client_app(&bad).await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "at least one OAuth scope",
        );
        let mut bad = eca_input("Other", None);
        bad.callback_urls = Some(vec!["http://partner.example/cb".into()]);
        refused(
            admin.create_external_client_app(&bad).await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "HTTPS",
        );
        let mut bad = eca_input("Other", None);
        bad.contact_email = Some("nobody".into());
        refused(
            admin.create_external_client_app(&bad).await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "valid email",
        );
        let mut bad = eca_input("Other", None);
        bad.jwt_bearer_enabled = Some(true);
        refused(
            admin.create_external_client_app(&bad).await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "JWT Bearer Flow needs a certificate",
        );
        refused(
            admin
                .create_external_client_app(&eca_input("acme byoc connector", None))
                .await,
            400,
            "DUPLICATE_VALUE",
            "already exists",
        );

        // Certificates: garbage, a private key, two certificates.
        let (key_pem, other_cert) = super_cert();
        for (pem, needle) in [
            ("hello".to_string(), "PEM"),
            (key_pem, "private key"),
            (format!("{cert_pem}{other_cert}"), "more than one"),
        ] {
            let mut bad = eca_input("Other", Some(pem));
            bad.jwt_bearer_enabled = Some(false);
            refused(
                admin.create_external_client_app(&bad).await,
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                needle,
            );
        }
        assert_eq!(
            admin.external_client_apps().await.unwrap().len(),
            1,
            "refusals created nothing"
        );

        // Update: name changes, API name stays; removing the certificate while JWT is on is refused.
        let updated = admin
            .update_external_client_app(
                "Acme BYOC Connector",
                &AppInput {
                    name: Some("Acme Connector".into()),
                    description: Some("desc".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .record;
        assert_eq!(updated.name, "Acme Connector");
        assert_eq!(updated.api_name, "Acme_BYOC_Connector");
        assert!(updated.oauth.consumer_secret.is_none());
        refused(
            admin
                .update_external_client_app(
                    "Acme Connector",
                    &AppInput {
                        certificate_pem: Some(String::new()),
                        ..Default::default()
                    },
                )
                .await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "needs a certificate",
        );
        let off = admin
            .update_external_client_app(
                "Acme Connector",
                &AppInput {
                    certificate_pem: Some(String::new()),
                    jwt_bearer_enabled: Some(false),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .record;
        assert!(off.oauth.certificate.is_none() && !off.oauth.jwt_bearer_enabled);

        // Policies: admin-approved warns; profiles and permission sets must exist.
        permission_set(&admin, "Byoc_Integration", &[]).await;
        let saved = admin
            .update_external_client_app_policies(
                "Acme Connector",
                &PolicyInput {
                    permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
                    profiles: Some(vec!["system administrator".into()]),
                    permission_sets: Some(vec!["Byoc_Integration".into()]),
                    session_timeout_minutes: Some(15),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(saved.warnings.len(), 1);
        assert_eq!(saved.record.policies.profiles, ["System Administrator"]);
        assert_eq!(saved.record.policies.permission_sets, ["Byoc_Integration"]);
        assert_eq!(saved.record.policies.session_timeout_minutes, Some(15));
        let again = admin
            .update_external_client_app_policies(
                "Acme Connector",
                &PolicyInput {
                    permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(again.warnings.is_empty(), "no warning when nothing changes");
        refused(
            admin
                .update_external_client_app_policies(
                    "Acme Connector",
                    &PolicyInput {
                        profiles: Some(vec!["Nobody".into()]),
                        ..Default::default()
                    },
                )
                .await,
            404,
            "NOT_FOUND",
            "Profile Nobody",
        );

        // Audit trail: old -> new of the policy change.
        let trail = admin.audit(Some(50)).await.unwrap();
        let change = trail
            .iter()
            .find(|e| e.action.starts_with("Changed OAuth policies"))
            .expect("policy audit");
        let pu = change
            .changes
            .iter()
            .find(|c| c.field == "policies.permittedUsers")
            .unwrap();
        assert_eq!(pu.old_value.as_deref(), Some("AllSelfAuthorized"));
        assert_eq!(pu.new_value.as_deref(), Some("AdminApprovedPreAuthorized"));
        let create = trail
            .iter()
            .find(|e| e.action == "Created External Client App Acme BYOC Connector")
            .unwrap();
        assert!(
            create
                .changes
                .iter()
                .all(|c| c.field != "oauth.consumerSecret"
                    || c.new_value.as_deref() == Some("********")),
            "secret masked"
        );

        // Delete.
        admin
            .delete_external_client_app("Acme Connector")
            .await
            .unwrap();
        refused(
            admin.external_client_app("Acme Connector").await,
            404,
            "NOT_FOUND",
            "doesn't exist",
        );
        s.stop().await.unwrap();
    }
}

/// A second, unrelated key pair.
fn super_cert() -> (String, String) {
    cert()
}

#[tokio::test]
async fn channels_ccds_and_migration() {
    for s in servers(true).await {
        let admin = s.admin();
        let (_, cert_pem) = cert();
        admin
            .update_org(&UpdateOrg {
                allow_connected_app_creation: Some(true),
            })
            .await
            .unwrap();
        admin
            .create_external_client_app(&eca_input("Customer App", Some(cert_pem.clone())))
            .await
            .unwrap();
        let legacy = admin
            .create_connected_app(&eca_input("Legacy Connector", Some(cert_pem.clone())))
            .await
            .unwrap()
            .record;

        let new_channel = |name: &str, ty: &str, addr: &str, by: Option<AppManagedBy>| NewChannel {
            name: name.into(),
            channel_type: ty.into(),
            channel_address_identifier: addr.into(),
            app_managed_by: by,
            routing_owner: None,
            consent_owner: None,
            conversation_channel_definition: None,
        };
        // Every type of DESIGN.md §3 is accepted; BYOC ones get a CCD.
        for (i, ty) in [
            "byoc-messaging",
            "byoc-ccaas",
            "enhanced-web-chat",
            "enhanced-in-app-chat",
            "whatsapp",
            "sms",
            "facebook-messenger",
            "apple-messages",
            "line",
        ]
        .iter()
        .enumerate()
        {
            let c = admin
                .create_channel(&new_channel(
                    &format!("Channel {i}"),
                    ty,
                    &format!("addr-{i}"),
                    None,
                ))
                .await
                .unwrap()
                .record;
            assert_eq!(c.conversation_channel_definition.is_some(), i < 2, "{ty}");
        }
        let ccaas = admin
            .channel("Channel 1")
            .await
            .unwrap()
            .conversation_channel_definition
            .unwrap();
        assert_eq!(ccaas.routing_owner, Owner::Partner);
        assert_eq!(ccaas.custom_platform_event, "Byoc_Outbound__e");
        refused(
            admin
                .create_channel(&new_channel("X", "carrier-pigeon", "addr-x", None))
                .await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "isn't a messaging channel type",
        );
        refused(
            admin
                .create_channel(&new_channel("X", "byoc-messaging", "addr-0", None))
                .await,
            400,
            "DUPLICATE_VALUE",
            "addr-0",
        );
        refused(
            admin
                .create_channel(&new_channel(
                    "X",
                    "sms",
                    "addr-x",
                    Some(AppManagedBy::Customer),
                ))
                .await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "only BYOC channels",
        );

        let partner = admin
            .create_channel(&new_channel(
                "Partner Channel",
                "byoc-messaging",
                "addr-p",
                Some(AppManagedBy::Partner),
            ))
            .await
            .unwrap()
            .record;
        let partner_ccd = partner
            .conversation_channel_definition
            .unwrap()
            .developer_name;

        let ccd0 = admin
            .conversation_channel_definition("Channel_0_CCD")
            .await
            .unwrap();
        assert_eq!(ccd0.developer_name, "Channel_0_CCD");
        // Link ECA; relink to the connected app.
        let linked = admin
            .link_conversation_channel_definition_app(
                "Channel_0_CCD",
                &LinkApp {
                    app: "customer_app".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            linked
                .record
                .conversation_channel_definition
                .unwrap()
                .linked_app
                .unwrap()
                .kind,
            AppKind::ExternalClientApp
        );
        admin
            .link_conversation_channel_definition_app(
                "Channel_0_CCD",
                &LinkApp {
                    app: "Legacy Connector".into(),
                },
            )
            .await
            .unwrap();

        // Refusals: non-BYOC channel, partner-managed CCD, unknown app, unknown CCD, no permission.
        refused(
            admin
                .link_conversation_channel_definition_app(
                    "Channel 4",
                    &LinkApp {
                        app: "Customer App".into(),
                    },
                )
                .await,
            400,
            "INVALID_OPERATION",
            "only Bring Your Own Channel (Messaging) and Bring Your Own Channel for CCaaS",
        );
        refused(
            admin.conversation_channel_definition("Channel 5").await,
            400,
            "INVALID_OPERATION",
            "SMS channel",
        );
        refused(
            admin
                .link_conversation_channel_definition_app(
                    &partner_ccd,
                    &LinkApp {
                        app: "Customer App".into(),
                    },
                )
                .await,
            400,
            "INVALID_OPERATION",
            "partner-managed",
        );
        refused(
            admin
                .link_conversation_channel_definition_app(
                    "Channel_0_CCD",
                    &LinkApp { app: "Nope".into() },
                )
                .await,
            404,
            "NOT_FOUND",
            "Nope",
        );
        refused(
            admin
                .link_conversation_channel_definition_app(
                    "Nope_CCD",
                    &LinkApp {
                        app: "Customer App".into(),
                    },
                )
                .await,
            404,
            "NOT_FOUND",
            "Nope_CCD",
        );
        admin
            .create_user(&NewUser {
                username: "std@byoc.example.com".into(),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec![],
                is_active: true,
            })
            .await
            .unwrap();
        refused(
            admin
                .clone()
                .act_as(Some("std@byoc.example.com"))
                .link_conversation_channel_definition_app(
                    "Channel_0_CCD",
                    &LinkApp {
                        app: "Customer App".into(),
                    },
                )
                .await,
            403,
            "INSUFFICIENT_ACCESS",
            "Customize Application",
        );

        // An app linked to a CCD can't be deleted.
        admin
            .link_conversation_channel_definition_app(
                "Channel_1_CCD",
                &LinkApp {
                    app: "Customer App".into(),
                },
            )
            .await
            .unwrap();
        refused(
            admin.delete_external_client_app("Customer App").await,
            400,
            "INVALID_OPERATION",
            "Channel_1_CCD",
        );

        // Migration: same consumer key, API name, certificate, scopes, policies; the connected app
        // becomes read-only and the CCD that linked it now links the ECA.
        let eca = admin
            .migrate_connected_app(&MigrateConnectedApp {
                from_connected_app: "Legacy Connector".into(),
            })
            .await
            .unwrap()
            .record;
        assert_eq!(eca.kind, AppKind::ExternalClientApp);
        assert_eq!(eca.distribution_state.as_deref(), Some("Local"));
        assert_eq!(eca.oauth.consumer_key, legacy.oauth.consumer_key);
        assert_eq!(eca.api_name, legacy.api_name);
        assert_eq!(eca.oauth.scopes, legacy.oauth.scopes);
        assert_eq!(eca.oauth.certificate, legacy.oauth.certificate);
        assert_eq!(eca.policies, legacy.policies);
        let ca = admin.connected_app("Legacy Connector").await.unwrap();
        assert!(
            ca.read_only_reason.as_deref().unwrap().contains("migrated"),
            "{ca:?}"
        );
        refused(
            admin
                .update_connected_app(
                    "Legacy Connector",
                    &AppInput {
                        description: Some("x".into()),
                        ..Default::default()
                    },
                )
                .await,
            400,
            "INVALID_OPERATION",
            "read-only",
        );
        refused(
            admin
                .migrate_connected_app(&MigrateConnectedApp {
                    from_connected_app: "Legacy Connector".into(),
                })
                .await,
            400,
            "INVALID_OPERATION",
            "read-only",
        );
        refused(
            admin
                .migrate_connected_app(&MigrateConnectedApp {
                    from_connected_app: "Nope".into(),
                })
                .await,
            404,
            "NOT_FOUND",
            "Nope",
        );
        let relinked = admin
            .conversation_channel_definition("Channel_0_CCD")
            .await
            .unwrap()
            .linked_app
            .unwrap();
        assert_eq!(relinked.id, eca.id);
        s.stop().await.unwrap();
    }
}

#[tokio::test]
async fn restart_keeps_everything() {
    for s in servers(false).await {
        let before = s.org().clone();
        let admin = s.admin();
        admin
            .create_user(&NewUser {
                username: "kept@byoc.example.com".into(),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec![],
                is_active: true,
            })
            .await
            .unwrap();
        let app_before = admin.external_client_app("BYOC Sample App").await.unwrap();
        let trail_before = admin.audit(None).await.unwrap().len();
        let s = s.restart().await.unwrap();
        let after = s.org().clone();
        assert_eq!(after.org_id, before.org_id);
        assert_eq!(
            after.admin_token, before.admin_token,
            "the data dir's credential is reused"
        );
        let admin = s.admin();
        assert!(admin.user("kept@byoc.example.com").await.is_ok());
        assert_eq!(
            admin.external_client_app("BYOC Sample App").await.unwrap(),
            app_before
        );
        assert_eq!(
            admin.audit(None).await.unwrap().len(),
            trail_before,
            "no second seed"
        );
        // partner.env follows the new addresses.
        let env = std::fs::read_to_string(s.data_dir().join("partner.env")).unwrap();
        assert!(env.contains(&format!("SF_SCRT_INSTANCE_URL=\"{}\"", after.scrt_url)));
        s.stop().await.unwrap();
    }
}

/// Control characters (NUL above all: PostgreSQL text cannot hold it) and over-long values in
/// setup names are refused with FIELD_INTEGRITY_EXCEPTION on both backends, before any write.
#[tokio::test]
async fn control_characters_and_overlong_names_are_refused_on_every_backend() {
    for server in servers(false).await {
        let admin = server.admin();
        let b = backend(&server);
        let user = |username: &str| NewUser {
            username: username.into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        };
        for bad in [
            "nul\0@example.com".to_string(),
            "bell\u{7}@example.com".to_string(),
            format!("{}@example.com", "a".repeat(80)),
        ] {
            refused(
                admin.create_user(&user(&bad)).await,
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "",
            );
        }
        for name in [
            "App\0Name".to_string(),
            "App\u{1b}[31m".to_string(),
            "A".repeat(256),
        ] {
            let msg = refused(
                admin
                    .create_external_client_app(&eca_input(&name, None))
                    .await,
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "",
            );
            assert!(!msg.contains('\0'), "{b}: {msg:?}");
        }
        let mut described = eca_input("Described App", None);
        described.description = Some("line one\nline two\0".into());
        refused(
            admin.create_external_client_app(&described).await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "control characters",
        );
        // Line breaks alone are fine in a description.
        described.description = Some("line one\nline two".into());
        admin
            .create_external_client_app(&described)
            .await
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        refused(
            admin
                .create_channel(&NewChannel {
                    name: "Chan\0nel".into(),
                    channel_type: "byoc-messaging".into(),
                    channel_address_identifier: format!("addr-{b}-nul"),
                    app_managed_by: None,
                    routing_owner: None,
                    consent_owner: None,
                    conversation_channel_definition: None,
                })
                .await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "",
        );
        refused(
            admin
                .create_permission_set(&NewPermissionSet {
                    name: "Labelled".into(),
                    label: Some("La\0bel".into()),
                    permissions: vec![],
                    object_permissions: vec![],
                })
                .await,
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "",
        );
        server.stop().await.unwrap();
    }
}
