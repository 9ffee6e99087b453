#![allow(clippy::disallowed_methods)] // tests read the wall clock (assertion expiry)
//! The console's people and security pages over HTTP (issue 10): Profiles, Permission Sets
//! (create, System Permissions, Object Settings, Manage Assignments — each seen by the admin
//! API afterwards, and the conflict when someone else saved first), Login History (a failed
//! token request with byoc's diagnosis and its fix, keyset pages) and View Setup Audit Trail
//! (the console's changes attributed to the user), and the API's refusal for a user without
//! the permission.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use byoc_proto::admin::{NewUser, UpdatePermissionSet};
use byoc_proto::oauth::{LoginHistoryEntry, LoginStatus};
use byoc_proto::setup::UserPermission;
use byoc_testkit::TestServer;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::json;

use super::console::Console;

const PERMSETS: &str = "/lightning/setup/PermSets/home";
const NEW_PERMSET: &str = "/lightning/setup/PermSets/new";
const PROFILES: &str = "/lightning/setup/EnhancedProfiles/home";
const HISTORY: &str = "/lightning/setup/OrgLoginHistory/home";
const AUDIT: &str = "/lightning/setup/SecurityEvents/home";

/// `text` as the console's templates escape it.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('"', "&#34;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The `href` of the link labelled `label` on `body` (the pager's *Next* / *Previous*).
fn link(body: &str, label: &str) -> Option<String> {
    let end = body.find(&format!(">{label}</a>"))?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    let href = &body[start..end];
    let href = &href[..href.find('"')?];
    Some(href.replace("&amp;", "&"))
}

#[tokio::test]
async fn permission_sets_are_created_edited_and_assigned_through_forms() {
    let server = TestServer::start().await.unwrap();
    let admin = server.admin();
    let mut c = Console::admin(&server).await;

    // List and New.
    let p = c.get(PERMSETS).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains(">New</button>"));
    let p = c
        .submit(
            NEW_PERMSET,
            NEW_PERMSET,
            &[("label", "BYOC Agents"), ("api_name", "BYOC_Agents")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let view = "/lightning/setup/PermSets/BYOC_Agents/view";
    assert_eq!(p.location.as_deref(), Some(view));
    let ps = admin.permission_set("BYOC_Agents").await.unwrap();
    assert_eq!(ps.label, "BYOC Agents");
    let p = c.get(view).await;
    for label in [
        "System Permissions",
        "Object Settings",
        "Manage Assignments",
        "View Setup and Configuration",
    ] {
        assert!(p.body.contains(label), "{label}: {}", p.body);
    }

    // A refused create keeps what was typed and shows the API's message.
    let p = c
        .submit(
            NEW_PERMSET,
            NEW_PERMSET,
            &[("label", "Again"), ("api_name", "BYOC_Agents")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains(&html(
        "A permission set with the API name BYOC_Agents already exists."
    )));
    assert!(p.body.contains("value=\"Again\""));

    // System Permissions: Edit.
    let system = "/lightning/setup/PermSets/BYOC_Agents/system";
    let form = c.get(system).await;
    let version = version_of(&form.body);
    let p = c
        .post(
            system,
            &[
                ("_csrf", &form.csrf()),
                ("version", &version),
                ("perm_view-setup", "1"),
                ("perm_messaging-user", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let ps = admin.permission_set("BYOC_Agents").await.unwrap();
    assert_eq!(
        ps.permissions,
        [UserPermission::ViewSetup, UserPermission::MessagingUser]
    );

    // Object Settings: Edit (Create brings Read).
    let objects = "/lightning/setup/PermSets/BYOC_Agents/objects";
    let form = c.get(objects).await;
    assert!(form.body.contains("Byoc_Outbound__e"));
    let version = version_of(&form.body);
    let p = c
        .post(
            objects,
            &[
                ("_csrf", &form.csrf()),
                ("version", &version),
                ("object_0", "Byoc_Outbound__e"),
                ("create_0", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let ps = admin.permission_set("BYOC_Agents").await.unwrap();
    assert_eq!(ps.object_permissions.len(), 1);
    assert!(ps.object_permissions[0].allow_read && ps.object_permissions[0].allow_create);

    // Manage Assignments: add a user, then remove them.
    admin
        .create_user(&NewUser {
            username: "agent@people.example.com".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    let assignments = "/lightning/setup/PermSets/BYOC_Agents/assignments";
    let form = c.get(assignments).await;
    assert!(form.body.contains("agent@people.example.com"));
    let admin_username = server.org().admin_username.clone();
    let p = c
        .post(
            assignments,
            &[
                ("_csrf", &form.csrf()),
                ("user_0", "agent@people.example.com"),
                ("user_1", &admin_username),
                ("assigned_0", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let user = admin.user("agent@people.example.com").await.unwrap();
    assert_eq!(user.permission_sets, ["BYOC_Agents"]);
    assert!(admin
        .user(&admin_username)
        .await
        .unwrap()
        .permission_sets
        .is_empty());
    let p = c.get(view).await;
    assert!(p.body.contains("agent@people.example.com"));

    // The admin API's own route for the same change.
    admin
        .change_permission_set_assignments(
            "BYOC_Agents",
            &byoc_proto::admin::PermissionSetAssignments {
                add_users: vec![],
                remove_users: vec!["agent@people.example.com".into()],
            },
        )
        .await
        .unwrap();
    assert!(admin
        .user("agent@people.example.com")
        .await
        .unwrap()
        .permission_sets
        .is_empty());

    // The audit trail names each change and who made it.
    let p = c.get(AUDIT).await;
    assert_eq!(p.status, StatusCode::OK);
    for action in [
        "Created permission set BYOC_Agents",
        "Changed permission set BYOC_Agents",
        "Permission set BYOC_Agents: assigned to user agent@people.example.com",
        "Permission set BYOC_Agents: unassigned from user agent@people.example.com",
    ] {
        assert!(p.body.contains(&html(action)), "{action}: {}", p.body);
    }
    assert!(p.body.contains(&html(&admin_username)));
    for column in [
        "Date",
        "User",
        "Source Namespace Prefix",
        "Action",
        "Section",
        "Delegate User",
    ] {
        assert!(p.body.contains(&format!("<th scope=\"col\">{column}</th>")));
    }
    let csv = c.get("/lightning/setup/SecurityEvents/download").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv
        .body
        .starts_with("Date,User,Source Namespace Prefix,Action,Section,Delegate User"));
    assert!(csv.body.contains("Created permission set BYOC_Agents"));
}

fn version_of(body: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = body.find(marker).expect("a version field") + marker.len();
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].to_string()
}

#[tokio::test]
async fn a_save_after_someone_else_changed_the_set_is_a_conflict() {
    let server = TestServer::start().await.unwrap();
    let admin = server.admin();
    admin
        .create_permission_set(&byoc_proto::admin::NewPermissionSet {
            name: "Shared".into(),
            label: None,
            permissions: vec![],
            object_permissions: vec![],
        })
        .await
        .unwrap();
    let mut c = Console::admin(&server).await;
    let system = "/lightning/setup/PermSets/Shared/system";
    let form = c.get(system).await;
    let version = version_of(&form.body);
    // Someone else saves first, through the API.
    admin
        .update_permission_set(
            "Shared",
            &UpdatePermissionSet {
                permissions: Some(vec![UserPermission::ModifyAllData]),
                ..UpdatePermissionSet::default()
            },
        )
        .await
        .unwrap();
    let p = c
        .post(
            system,
            &[
                ("_csrf", &form.csrf()),
                ("version", &version),
                ("perm_view-setup", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
    assert!(p.body.contains("role=\"alert\""));
    assert!(p
        .body
        .contains("was modified by someone else after you read it"));
    // What the user checked is still checked.
    assert!(p
        .body
        .contains("name=\"perm_view-setup\" value=\"1\" checked"));
    // The other save stands.
    let ps = admin.permission_set("Shared").await.unwrap();
    assert_eq!(ps.permissions, [UserPermission::ModifyAllData]);
}

#[tokio::test]
async fn profile_pages_show_permissions_and_users() {
    let server = TestServer::start().await.unwrap();
    let mut c = Console::admin(&server).await;
    let p = c.get(PROFILES).await;
    assert_eq!(p.status, StatusCode::OK);
    for text in [
        "Profile Name",
        "User License",
        "Custom",
        "System Administrator",
        "Standard User",
    ] {
        assert!(p.body.contains(text), "{text}");
    }
    let p = c
        .get("/lightning/setup/EnhancedProfiles/00e000000000001/view")
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("Modify All Data"));
    assert!(p.body.contains("Manage Profiles and Permission Sets"));
    assert!(p.body.contains("✓ Enabled"));
    assert!(p.body.contains(&html(&server.org().admin_username)));
    let p = c
        .get("/lightning/setup/EnhancedProfiles/00e000000000002/view")
        .await;
    assert!(p.body.contains("Not enabled"));
    let p = c.get("/lightning/setup/EnhancedProfiles/nope/view").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn login_history_shows_a_failure_with_its_diagnosis_and_fix() {
    let server = TestServer::start().await.unwrap();
    let key = std::fs::read_to_string(server.data_dir().join("server.key")).unwrap();
    let assertion = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &json!({"iss": "not-a-consumer-key", "sub": server.org().admin_username, "aud": "https://login.salesforce.com", "exp": now_secs() + 120}),
        &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
    )
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", server.org().login_url))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let mut c = Console::admin(&server).await;
    // The history is written a few milliseconds after the request (batched).
    let mut body = String::new();
    for _ in 0..50 {
        let p = c.get(HISTORY).await;
        assert_eq!(p.status, StatusCode::OK);
        body = p.body;
        if body.contains("not the consumer key") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for column in [
        "Login Time",
        "Username",
        "Source IP",
        "Login Type",
        "Status",
        "Application",
        "Diagnosis",
        "Fix",
    ] {
        assert!(
            body.contains(&format!("<th scope=\"col\">{column}</th>")),
            "{column}"
        );
    }
    assert!(
        body.contains("iss is not the consumer key of any External Client App"),
        "{body}"
    );
    assert!(body.contains("Failed: "));
    assert!(body.contains("<code>byoc setup eca list</code>"), "{body}");
    assert!(body.contains("href=\"/lightning/setup/ManageExternalClientApplication/home\">External Client App Manager</a>"), "{body}");
    assert!(body.contains("Remote Access 2.0"));
}

#[tokio::test]
async fn login_history_pages_go_forward_and_back() {
    let server = TestServer::start().await.unwrap();
    let rows: Vec<LoginHistoryEntry> = (0..120)
        .map(|i| LoginHistoryEntry {
            login_time: 1_700_000_000_000 + i,
            username: format!("row{i:03}@pages.example.com"),
            user_id: None,
            application: None,
            consumer_key: None,
            login_type: "Remote Access 2.0".into(),
            status: if i % 2 == 0 {
                LoginStatus::Success
            } else {
                LoginStatus::Failed
            },
            error: None,
            error_description: None,
            diagnosis: None,
            source_ip: Some("127.0.0.1".into()),
        })
        .collect();
    server
        .store()
        .unwrap()
        .repo()
        .record_logins(&rows)
        .await
        .unwrap();
    let mut c = Console::admin(&server).await;
    let first = c.get(HISTORY).await;
    assert!(first.body.contains("row119@"));
    assert!(!first.body.contains("row069@"));
    assert!(link(&first.body, "Previous").is_none());
    let next = link(&first.body, "Next").expect("a Next link");
    let second = c.get(&next).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.body.contains("row069@") && second.body.contains("row020@"));
    assert!(!second.body.contains("row070@") && !second.body.contains("row019@"));
    let third = c.get(&link(&second.body, "Next").unwrap()).await;
    assert!(third.body.contains("row000@") && third.body.contains("row019@"));
    assert!(link(&third.body, "Next").is_none());
    let back = c.get(&link(&third.body, "Previous").unwrap()).await;
    assert!(back.body.contains("row069@") && back.body.contains("row020@"));
    assert!(!back.body.contains("row019@"));
    let back = c.get(&link(&back.body, "Previous").unwrap()).await;
    assert!(back.body.contains("row119@") && back.body.contains("row070@"));
    assert!(link(&back.body, "Previous").is_none());
    // 100 a page, failures only, and one username.
    let p = c.get(&format!("{HISTORY}?status=Failed&size=100")).await;
    assert!(p.body.contains("row119@") && p.body.contains("row001@"));
    assert!(!p.body.contains("row118@"));
    assert!(link(&p.body, "Next").is_none());
    let p = c
        .get(&format!("{HISTORY}?username=ROW007@pages.example.com"))
        .await;
    assert!(p.body.contains("row007@") && !p.body.contains("row008@"));
    // Mangled links show a page, never an error.
    let p = c
        .get(&format!("{HISTORY}?before=x&size=7&status=Nope"))
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("status must be Success or Failed"));
}

#[tokio::test]
async fn a_user_without_the_permission_gets_the_apis_refusal() {
    let server = TestServer::start().await.unwrap();
    let admin = server.admin();
    let username = "plain@people.example.com";
    admin
        .create_user(&NewUser {
            username: username.into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    admin
        .set_password(username, "Plain-Passw0rd!")
        .await
        .unwrap();
    let mut c = Console::new(&server);
    let p = c
        .post(
            "/",
            &[
                ("username", username),
                ("pw", "Plain-Passw0rd!"),
                ("startURL", "/lightning/setup/SetupOneHome/home"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let as_user = |path: &str| {
        reqwest::Client::new()
            .get(format!("{}/admin/v1/{path}", server.org().login_url))
            .bearer_auth(&server.org().admin_token)
            .header(byoc_proto::admin::ACT_AS_HEADER, username)
    };
    for (page, api) in [
        (HISTORY, "login-history"),
        (AUDIT, "audit"),
        (PERMSETS, "permission-sets"),
        (PROFILES, "profiles"),
    ] {
        let r = as_user(api).send().await.unwrap();
        let status = r.status().as_u16();
        let errors: serde_json::Value = r.json().await.unwrap();
        let message = errors[0]["message"].as_str().unwrap().to_string();
        let p = c.get(page).await;
        assert_eq!(p.status.as_u16(), status, "{page}");
        assert!(p.body.contains(&html(&message)), "{page}: {message}");
    }
    // A write is refused with the API's message too (the form is shown to viewers only, so
    // post directly with the session's token).
    let csrf = c.get("/lightning/setup/SetupOneHome/home").await.csrf();
    let p = c
        .post(
            NEW_PERMSET,
            &[("_csrf", &csrf), ("label", "Mine"), ("api_name", "Mine")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(p.body.contains("Mine"));
}
