//! Early refusals never break a keep-alive connection (issue 9, item 5): a client that sends a
//! chunked body slowly and is refused before the body is read either gets the rest of its body
//! read (and can send its next request on the same connection), or is told `Connection: close`
//! and sees a clean close after the response — never a reset or an EOF without a response.
//!
//! The client is a raw HTTP/1.1 client over a `TcpStream`, so nothing between the test and the
//! server retries or reconnects behind its back.

use std::time::Duration;

use byoc_testkit::TestServer;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// One keep-alive connection.
struct Connection {
    what: String,
    stream: BufReader<TcpStream>,
}

impl Connection {
    async fn open(base_url: &str, what: &str) -> Connection {
        let addr = base_url.trim_start_matches("http://");
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Connection {
            what: what.to_string(),
            stream: BufReader::new(stream),
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        let what = &self.what;
        let stream = self.stream.get_mut();
        stream
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("{what}: the server broke the connection mid-body: {e}"));
        stream
            .flush()
            .await
            .unwrap_or_else(|e| panic!("{what}: the server broke the connection mid-body: {e}"));
    }

    /// A request whose body goes out in chunks, with a pause before each (as a client streaming
    /// a body it is still producing).
    async fn send_chunked_slowly(&mut self, head: &str, chunks: &[Vec<u8>]) {
        self.write(format!("{head}Transfer-Encoding: chunked\r\n\r\n").as_bytes())
            .await;
        for chunk in chunks {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(chunk);
            framed.extend_from_slice(b"\r\n");
            self.write(&framed).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.write(b"0\r\n\r\n").await;
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .stream
            .read_line(&mut line)
            .await
            .unwrap_or_else(|e| panic!("{}: reading the response failed: {e}", self.what));
        assert!(
            n > 0,
            "{}: the connection ended without a response",
            self.what
        );
        line.trim_end_matches(['\r', '\n']).to_string()
    }

    async fn read_response(&mut self) -> Response {
        let status_line = self.line().await;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{}: odd status line {status_line:?}", self.what));
        let mut headers = Vec::new();
        loop {
            let line = self.line().await;
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').expect("header line");
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if let Some(len) = response.header("content-length") {
            let mut body = vec![0u8; len.parse().expect("content-length")];
            self.stream
                .read_exact(&mut body)
                .await
                .unwrap_or_else(|e| panic!("{}: reading the body failed: {e}", self.what));
            response.body = body;
        } else if response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let size = usize::from_str_radix(&self.line().await, 16).expect("chunk size");
                let mut chunk = vec![0u8; size + 2];
                self.stream.read_exact(&mut chunk).await.expect("chunk");
                if size == 0 {
                    break;
                }
                response.body.extend_from_slice(&chunk[..size]);
            }
        }
        response
    }

    /// After a response, the connection either takes another request or was announced closed
    /// and ends cleanly (FIN, no reset).
    async fn still_usable_or_closed_cleanly(&mut self, first: &Response, host: &str) {
        if first.closes() {
            let mut rest = Vec::new();
            let n = self
                .stream
                .read_to_end(&mut rest)
                .await
                .unwrap_or_else(|e| panic!("{}: not a clean close: {e}", self.what));
            assert_eq!(
                n, 0,
                "{}: bytes after a Connection: close response",
                self.what
            );
            return;
        }
        self.write(format!("GET /no-such-path HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
            .await;
        let second = self.read_response().await;
        assert_eq!(
            second.status,
            404,
            "{}: the next request on the connection got {} {:?}",
            self.what,
            second.status,
            String::from_utf8_lossy(&second.body)
        );
    }
}

fn host(base_url: &str) -> &str {
    base_url.trim_start_matches("http://")
}

/// Send a chunked POST slowly to a route that refuses it before reading the body; check the
/// status and that the connection survives (or is closed cleanly and said so).
async fn refused_chunked_post(
    base_url: &str,
    path: &str,
    headers: &str,
    chunks: &[Vec<u8>],
    status: u16,
) {
    let what = format!("POST {path}");
    let mut conn = Connection::open(base_url, &what).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\n{headers}",
        host(base_url)
    );
    conn.send_chunked_slowly(&head, chunks).await;
    let response = conn.read_response().await;
    assert_eq!(
        response.status,
        status,
        "{what}: {:?}",
        String::from_utf8_lossy(&response.body)
    );
    conn.still_usable_or_closed_cleanly(&response, host(base_url))
        .await;
}

fn json_chunks() -> Vec<Vec<u8>> {
    vec![
        b"{\"conversationIdentifier\":".to_vec(),
        b"\"x\",\"padding\":\"".to_vec(),
        vec![b'a'; 4096],
        b"\"}".to_vec(),
    ]
}

#[tokio::test]
async fn refusals_on_the_login_host_keep_the_connection_usable() {
    let server = TestServer::start().await.expect("server");
    let login = server.org().login_url.clone();
    let json = "Content-Type: application/json\r\n";
    // The fallback: an unknown path.
    refused_chunked_post(&login, "/services/nothing/here", json, &json_chunks(), 404).await;
    // The admin API without a credential, and with a wrong one.
    refused_chunked_post(&login, "/admin/v1/users", json, &json_chunks(), 401).await;
    let bad = format!(
        "{json}Authorization: Bearer {}!nope\r\n",
        server.org().org_id
    );
    refused_chunked_post(&login, "/admin/v1/users", &bad, &json_chunks(), 401).await;
    // The token endpoint stops reading at its body limit (64 KiB) and refuses.
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    let mut big = vec![
        b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=".to_vec(),
    ];
    big.extend(std::iter::repeat_n(vec![b'a'; 8 * 1024], 9));
    refused_chunked_post(&login, "/services/oauth2/token", form, &big, 400).await;

    // A body announced larger than byoc discards: answered at once, with Connection: close.
    let mut conn = Connection::open(&login, "POST /admin/v1/users (large)").await;
    conn.write(
        format!(
            "POST /admin/v1/users HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n",
            host(&login)
        )
        .as_bytes(),
    )
    .await;
    let response = conn.read_response().await;
    assert_eq!(response.status, 401);
    assert!(
        response.closes(),
        "a body too large to discard must be answered with Connection: close, got {:?}",
        response.headers
    );
    conn.still_usable_or_closed_cleanly(&response, host(&login))
        .await;
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn refusals_on_the_interaction_api_host_keep_the_connection_usable() {
    let server = TestServer::start().await.expect("server");
    let scrt = server.org().scrt_url.clone();
    let org = server.org().org_id.clone();
    let json = format!("Content-Type: application/json\r\nOrgId: {org}\r\nAuthorizationContext: x\r\nRequestId: 6f1c6a2e-8a8e-4a53-9a8e-0d0f7c2a4b11\r\n");
    refused_chunked_post(&scrt, "/api/v1/nothing", &json, &json_chunks(), 404).await;
    // No token, then a token that is not one of the org's.
    refused_chunked_post(&scrt, "/api/v1/conversation", &json, &json_chunks(), 401).await;
    let bad = format!("{json}Authorization: Bearer {org}!nope\r\n");
    refused_chunked_post(&scrt, "/api/v1/conversation", &bad, &json_chunks(), 401).await;
    // A multipart upload refused before its first part is read.
    let boundary = "byoc-test-boundary";
    let multipart = format!(
        "Content-Type: multipart/form-data; boundary={boundary}\r\nOrgId: {org}\r\nAuthorizationContext: x\r\n"
    );
    let parts = vec![
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"json\"\r\nContent-Type: application/json\r\n\r\n{{}}\r\n").into_bytes(),
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes(),
        vec![0u8; 16 * 1024],
        format!("\r\n--{boundary}--\r\n").into_bytes(),
    ];
    refused_chunked_post(&scrt, "/api/v1/interactions", &multipart, &parts, 401).await;
    server.stop().await.expect("stop");
}
