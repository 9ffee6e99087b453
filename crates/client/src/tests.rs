//! Client behaviour against a canned HTTP peer: request shape, percent-encoding, error decoding.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the canned peer saw.
struct Seen {
    head: String,
    body: String,
}

impl Seen {
    fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Serve exactly one request, answering `status` with `body`; what was asked comes back through
/// the handle.
async fn one_shot(
    status: &'static str,
    body: &'static str,
) -> (String, tokio::task::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head, body_start) = loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "peer closed before the request head");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break (String::from_utf8_lossy(&buf[..pos]).to_string(), pos + 4);
            }
        };
        let seen = Seen {
            head,
            body: String::new(),
        };
        let length = seen
            .header("content-length")
            .map(|v| v.parse::<usize>().unwrap())
            .unwrap_or(0);
        while buf.len() < body_start + length {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "peer closed before the request body");
            buf.extend_from_slice(&chunk[..n]);
        }
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
        socket.shutdown().await.ok();
        Seen {
            body: String::from_utf8_lossy(&buf[body_start..body_start + length]).to_string(),
            ..seen
        }
    });
    (url, handle)
}

const USER_JSON: &str = r#"{"id":"005000000000001","id18":"005000000000001AAA","username":"ops user@example.com","email":"ops@example.com","profile":"Standard User","permissionSets":[],"isActive":true,"createdAt":1}"#;

#[tokio::test]
async fn get_sends_token_and_act_as_and_encodes_the_path() {
    let (url, peer) = one_shot("200 OK", USER_JSON).await;
    let client = AdminClient::new(&url, "tok3n")
        .unwrap()
        .act_as(Some("boss@example.com"));
    let user = client.user("ops user/1@example.com").await.unwrap();
    assert_eq!(user.username, "ops user@example.com");
    let seen = peer.await.unwrap();
    assert_eq!(
        seen.request_line(),
        "GET /admin/v1/users/ops%20user%2F1@example.com HTTP/1.1"
    );
    assert_eq!(
        seen.header("authorization").as_deref(),
        Some("Bearer tok3n")
    );
    assert_eq!(
        seen.header(ACT_AS_HEADER).as_deref(),
        Some("boss@example.com")
    );
}

#[tokio::test]
async fn write_posts_json_and_reads_saved_with_warnings() {
    let body = r#"{"record":{"id":"00D000000000001","id18":"00D000000000001AAA","name":"byoc","myDomain":"byoc","allowConnectedAppCreation":true,"createdAt":5},"warnings":["careful"]}"#;
    let (url, peer) = one_shot("200 OK", body).await;
    let client = AdminClient::new(&format!("{url}/"), "t").unwrap();
    let saved = client
        .update_org(&UpdateOrg {
            allow_connected_app_creation: Some(true),
        })
        .await
        .unwrap();
    assert!(saved.record.allow_connected_app_creation);
    assert_eq!(saved.warnings, vec!["careful".to_string()]);
    let seen = peer.await.unwrap();
    assert_eq!(seen.request_line(), "PATCH /admin/v1/org HTTP/1.1");
    assert_eq!(seen.header(ACT_AS_HEADER), None);
    let sent: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(sent, serde_json::json!({"allowConnectedAppCreation": true}));
}

#[tokio::test]
async fn audit_passes_the_limit() {
    let (url, peer) = one_shot("200 OK", "[]").await;
    let client = AdminClient::new(&url, "t").unwrap();
    assert!(client.audit(Some(7)).await.unwrap().is_empty());
    assert_eq!(
        peer.await.unwrap().request_line(),
        "GET /admin/v1/audit?limit=7 HTTP/1.1"
    );
}

#[tokio::test]
async fn delete_accepts_no_content() {
    let (url, peer) = one_shot("204 No Content", "").await;
    let client = AdminClient::new(&url, "t").unwrap();
    client
        .delete_external_client_app("Acme Connector")
        .await
        .unwrap();
    assert_eq!(
        peer.await.unwrap().request_line(),
        "DELETE /admin/v1/external-client-apps/Acme%20Connector HTTP/1.1"
    );
}

#[tokio::test]
async fn rest_errors_become_api_errors() {
    let body = r#"[{"message":"You can't create a connected app.","errorCode":"INSUFFICIENT_ACCESS"},{"message":"second","errorCode":"FIELD_INTEGRITY_EXCEPTION","fields":["contactEmail"]}]"#;
    let (url, _peer) = one_shot("403 Forbidden", body).await;
    let client = AdminClient::new(&url, "t").unwrap();
    let err = client
        .create_connected_app(&AppInput::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.has_error_code("INSUFFICIENT_ACCESS"));
    assert_eq!(
        err.rest_errors()[1].fields,
        vec!["contactEmail".to_string()]
    );
    assert_eq!(err.to_string(), "You can't create a connected app.; second");
}

#[tokio::test]
async fn a_body_that_is_not_rest_errors_is_quoted() {
    let (url, _peer) = one_shot("502 Bad Gateway", "upstream down").await;
    let client = AdminClient::new(&url, "t").unwrap();
    let err = client.org().await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(
        err.to_string(),
        "byoc answered HTTP 502 Bad Gateway: upstream down"
    );
}

#[tokio::test]
async fn an_unexpected_success_body_is_a_decode_error() {
    let (url, _peer) = one_shot("200 OK", r#"{"hello":"world"}"#).await;
    let client = AdminClient::new(&url, "t").unwrap();
    let err = client.org().await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
    assert!(err.to_string().contains(r#"{"hello":"world"}"#), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_says_how_to_start_one() {
    // Bind then drop to get a port that nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = AdminClient::new(&format!("http://127.0.0.1:{port}"), "t").unwrap();
    let err = client.org().await.unwrap_err();
    assert_eq!(
        err,
        ClientError::Transport(format!(
            "can't reach byoc at http://127.0.0.1:{port}: connection refused — is `byoc serve` running?"
        ))
    );
}

#[test]
fn bad_base_urls_are_refused() {
    for bad in ["", "127.0.0.1:6101", "ftp://x", "mailto:a@b"] {
        let err = AdminClient::new(bad, "t").unwrap_err();
        assert!(matches!(err, ClientError::InvalidUrl(_)), "{bad}: {err:?}");
    }
}

#[test]
fn admin_urls_keep_a_base_path_and_encode_segments() {
    let client = AdminClient::new("https://example.com/byoc/", "t").unwrap();
    assert_eq!(
        client.admin_url(&["ccds", "My CCD#1?"]).as_str(),
        "https://example.com/byoc/admin/v1/ccds/My%20CCD%231%3F"
    );
}

#[test]
fn debug_hides_the_token() {
    let client = AdminClient::new("http://127.0.0.1:6101", "secret-token").unwrap();
    assert!(!format!("{client:?}").contains("secret-token"));
}
