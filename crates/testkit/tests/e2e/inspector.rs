#![allow(clippy::disallowed_methods)] // tests read the wall clock for JWT exp
//! The request inspector end to end: a refused token request shows up in
//! `GET /admin/v1/inspector/calls` with Salesforce's error code, byoc's diagnosis and the page
//! that fixes it; the recorded hosts answer exactly the bytes they answered before (no header
//! added, the same framing); secrets never appear whole; the buffer is bounded; `follow`
//! streams new calls; the console page and its live stream.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use byoc_proto::admin::{InspectedCall, InspectorQuery, NewUser};
use byoc_testkit::TestServer;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::console::Console;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ECA_MANAGER: &str = "/lightning/setup/ManageExternalClientApplication/home";
const MESSAGING: &str = "/lightning/setup/LiveMessageSetup/home";

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(claims: &Value, key_pem: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn form(assertion: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", GRANT)
        .append_pair("assertion", assertion)
        .finish()
}

/// One HTTP/1.1 exchange on a fresh connection, answered bytes as they came off the socket.
async fn raw(host: &str, request: &str) -> (String, Vec<(String, String)>, String) {
    let addr = host.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    socket.read_to_end(&mut bytes).await.unwrap();
    let text = String::from_utf8(bytes).expect("utf-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap().to_string();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (n.to_ascii_lowercase(), v.to_string())
        })
        .collect();
    (status_line, headers, body.to_string())
}

fn post_form(path: &str, host: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The header names, sorted; `connection` left out (hyper's answer to `Connection: close`).
fn names(headers: &[(String, String)]) -> Vec<&str> {
    let mut n: Vec<&str> = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != "connection")
        .collect();
    n.sort();
    n
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn calls(server: &TestServer, query: InspectorQuery) -> Vec<InspectedCall> {
    server.admin().inspector_calls(&query).await.expect("calls")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_request_shows_its_code_diagnosis_and_fix_and_nothing_changes_on_the_wire()
{
    let server = TestServer::start().await.unwrap();
    let org = server.org().clone();
    let login = org.login_url.trim_start_matches("http://").to_string();
    let key_pem = std::fs::read_to_string(server.data_dir().join("server.key")).unwrap();
    let app = server
        .admin()
        .external_client_app("BYOC Sample App")
        .await
        .unwrap();

    // A connector with the wrong consumer key: exactly Salesforce's answer, byoc's diagnosis
    // in its header and nothing else added — the headers a handler sets, and the framing.
    let unknown = "3MVG9unknownConsumerKeyOfNoApp";
    let bad = sign(
        &json!({"iss": unknown, "sub": org.admin_username, "aud": "https://login.salesforce.com", "exp": now_secs() + 120}),
        &key_pem,
    );
    let (status, headers, body) = raw(
        &org.login_url,
        &post_form("/services/oauth2/token", &login, &form(&bad)),
    )
    .await;
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        body,
        r#"{"error":"invalid_client_id","error_description":"client identifier invalid"}"#
    );
    assert_eq!(
        names(&headers),
        [
            "cache-control",
            "content-length",
            "content-type",
            "date",
            "x-byoc-diagnosis"
        ]
    );
    assert_eq!(
        header(&headers, "content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    let diagnosis = header(&headers, "x-byoc-diagnosis").unwrap().to_string();

    let failed = calls(
        &server,
        InspectorQuery {
            host: Some("token".into()),
            failed: true,
            ..InspectorQuery::default()
        },
    )
    .await;
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let c = &failed[0];
    assert_eq!(c.host, "token");
    assert_eq!(c.operation, "POST /services/oauth2/token");
    assert_eq!(c.status, "400");
    assert_eq!(c.error_code.as_deref(), Some("invalid_client_id"));
    assert_eq!(c.diagnosis.as_deref(), Some(diagnosis.as_str()));
    assert_eq!(c.fix_href.as_deref(), Some(ECA_MANAGER));
    assert_eq!(c.app.as_deref(), Some(unknown));
    assert_eq!(c.user.as_deref(), Some(org.admin_username.as_str()));
    assert!(
        c.response.starts_with("HTTP 400 Bad Request"),
        "{}",
        c.response
    );
    assert!(c.response.contains("invalid_client_id"), "{}", c.response);
    assert!(c
        .request
        .contains("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer"));
    // The assertion shows as a short prefix, never whole (nor its claims or signature).
    let signature = bad.rsplit('.').next().unwrap();
    let payload = bad.split('.').nth(1).unwrap();
    let all = serde_json::to_string(&failed).unwrap();
    assert!(c.request.contains("assertion=eyJ"), "{}", c.request);
    for secret in [bad.as_str(), signature, payload] {
        assert!(!all.contains(secret), "a secret in {all}");
    }

    // A good token: the same bytes and headers a 200 always had; the token is masked.
    let good = sign(
        &json!({"iss": app.oauth.consumer_key, "sub": org.admin_username, "aud": "https://login.salesforce.com", "exp": now_secs() + 120}),
        &key_pem,
    );
    let (status, headers, body) = raw(
        &org.login_url,
        &post_form("/services/oauth2/token", &login, &form(&good)),
    )
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        names(&headers),
        ["cache-control", "content-length", "content-type", "date"]
    );
    assert_eq!(
        header(&headers, "content-length"),
        Some(body.len().to_string().as_str())
    );
    let granted: Value = serde_json::from_str(&body).unwrap();
    let access_token = granted["access_token"].as_str().unwrap().to_string();

    // The Interaction API with that token and a CCD that does not exist: 10026 with the same
    // bytes as ever, recorded with the caller the token names and the page that fixes it.
    let scrt = org.scrt_url.trim_start_matches("http://").to_string();
    let json_body = "{}";
    let request = format!(
        "POST /api/v1/conversation HTTP/1.1\r\nHost: {scrt}\r\nAuthorization: Bearer {access_token}\r\nOrgId: {}\r\nAuthorizationContext: No_Such_CCD\r\nRequestId: 7c1f7e4e-3b7a-4c55-9a8e-1f1f1f1f1f1f\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json_body}",
        org.org_id,
        json_body.len()
    );
    let (status, headers, body) = raw(&org.scrt_url, &request).await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["code"], 10026);
    assert_eq!(names(&headers), ["content-length", "content-type", "date"]);
    let interaction = calls(
        &server,
        InspectorQuery {
            host: Some("interaction".into()),
            ..InspectorQuery::default()
        },
    )
    .await;
    assert_eq!(interaction.len(), 1, "{interaction:#?}");
    let c = &interaction[0];
    assert_eq!(c.operation, "POST /api/v1/conversation");
    assert_eq!(c.status, "404");
    assert_eq!(c.error_code.as_deref(), Some("10026"));
    assert_eq!(c.app.as_deref(), Some("BYOC Sample App"));
    assert_eq!(c.user.as_deref(), Some(org.admin_username.as_str()));
    assert!(c
        .diagnosis
        .as_deref()
        .unwrap()
        .contains("AuthorizationContext"));
    assert_eq!(c.fix_href.as_deref(), Some(MESSAGING));
    assert!(
        c.request.contains("authorization: Bearer 00D"),
        "{}",
        c.request
    );

    // Nowhere in what the inspector shows is the access token (or the admin credential) whole.
    let everything = serde_json::to_string(
        &calls(
            &server,
            InspectorQuery {
                limit: Some(1000),
                ..InspectorQuery::default()
            },
        )
        .await,
    )
    .unwrap();
    assert!(!everything.contains(&access_token), "{everything}");
    assert!(!everything.contains(&org.admin_token), "{everything}");
    let token_calls = calls(
        &server,
        InspectorQuery {
            host: Some("token".into()),
            ..InspectorQuery::default()
        },
    )
    .await;
    assert_eq!(token_calls.len(), 2);
    assert_eq!(token_calls[0].status, "200");
    assert!(
        token_calls[0].response.contains("\"access_token\":\"00D"),
        "{}",
        token_calls[0].response
    );

    // The console page: the failed call with its diagnosis and Fix link, the stored failure
    // from Login History below; the detail page with the masked request.
    let mut console = Console::admin(&server).await;
    let page = console
        .get("/lightning/setup/RequestInspector/home?host=token&status=failed")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"inspector-calls\""));
    let row = format!(
        "data-call-id=\"{}\" data-host=\"token\" data-status=\"failed\"",
        failed[0].id
    );
    assert!(page.body.contains(&row), "{}", page.body);
    assert!(page
        .body
        .contains(&format!("<a class=\"fix\" href=\"{ECA_MANAGER}\">")));
    assert!(page.body.contains("Stored token failures"));
    assert!(!page.body.contains("POST /api/v1/conversation"));
    let detail = console
        .get(&format!(
            "/lightning/setup/RequestInspector/{}",
            failed[0].id
        ))
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains("assertion=eyJ"));
    assert!(!detail.body.contains(signature));
    let gone = console
        .get("/lightning/setup/RequestInspector/999999")
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    // The live stream wants a session.
    let anonymous = reqwest::get(format!("{}/console/inspector/live", org.login_url))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buffer_keeps_the_last_calls_per_host_and_reading_needs_manage_users() {
    let server = TestServer::start().await.unwrap();
    let admin = server.admin();
    for _ in 0..230 {
        admin.whoami().await.unwrap();
    }
    let kept = calls(
        &server,
        InspectorQuery {
            host: Some("admin".into()),
            limit: Some(1000),
            ..InspectorQuery::default()
        },
    )
    .await;
    assert_eq!(kept.len(), 200);
    // Newest first, the last 200 in order, each with its caller.
    assert!(kept.windows(2).all(|w| w[0].id == w[1].id + 1));
    assert!(kept.iter().all(|c| c.operation == "GET /admin/v1/whoami"));
    assert_eq!(
        kept[0].user.as_deref(),
        Some(server.org().admin_username.as_str())
    );
    // Reading the inspector is not itself recorded.
    let again = calls(
        &server,
        InspectorQuery {
            host: Some("admin".into()),
            limit: Some(1),
            ..InspectorQuery::default()
        },
    )
    .await;
    assert_eq!(again[0].id, kept[0].id);

    // A bad filter is a clear 400; a user without Manage Users is refused.
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "{}/admin/v1/inspector/calls?host=dns",
            server.org().login_url
        ))
        .bearer_auth(&server.org().admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "MALFORMED_QUERY");
    assert!(body[0]["message"]
        .as_str()
        .unwrap()
        .contains("host must be"));
    admin
        .create_user(&NewUser {
            username: "viewer@inspector.example".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    let refused = admin
        .act_as(Some("viewer@inspector.example"))
        .inspector_calls(&InspectorQuery::default())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(403), "{refused:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_streams_each_new_call_and_ends_when_the_server_stops() {
    let server = TestServer::start().await.unwrap();
    let org = server.org().clone();
    let mut stream = server
        .admin()
        .follow_inspector_calls(&InspectorQuery {
            host: Some("token".into()),
            limit: Some(5),
            ..InspectorQuery::default()
        })
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/services/oauth2/token", org.login_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form("not-a-jwt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A guard against a hang, not a speed assertion.
    let call = tokio::time::timeout(Duration::from_secs(60), stream.next())
        .await
        .expect("a call within a minute")
        .unwrap()
        .expect("the stream goes on");
    assert_eq!(call.operation, "POST /services/oauth2/token");
    assert_eq!(call.error_code.as_deref(), Some("invalid_grant"));
    assert!(call.diagnosis.is_some());
    // Stopping the server ends the stream instead of holding the shutdown up.
    let stopping = tokio::spawn(async move { server.stop().await });
    let end = tokio::time::timeout(Duration::from_secs(60), stream.next())
        .await
        .expect("the stream ends");
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
    stopping.await.unwrap().unwrap();
}
