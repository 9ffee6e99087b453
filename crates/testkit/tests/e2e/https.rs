#![allow(clippy::disallowed_methods)] // tests read the wall clock
//! The HTTPS listeners end to end: a client trusting only the local CA gets a token over HTTPS
//! whose answer names the https URLs, and uses it on the Interaction API, the admin API and the
//! identity endpoints over HTTPS (the token on Pub/Sub and REST: `authz::check_hosts`); garbage and plain HTTP sent to a TLS port leave it serving.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use byoc_testkit::TestServer;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn partner_env(server: &TestServer) -> HashMap<String, String> {
    let text = std::fs::read_to_string(server.data_dir().join("partner.env")).expect("partner.env");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// A client that trusts the local CA and nothing else, as a partner configures one.
fn trusting_client(server: &TestServer) -> reqwest::Client {
    let pem = std::fs::read(&server.org().ca_cert).expect("ca.crt");
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA PEM"))
        .build()
        .expect("client")
}

/// A JWT Bearer grant of the sample app at `login_url`.
async fn grant(server: &TestServer, http: &reqwest::Client, login_url: &str) -> Value {
    let env = partner_env(server);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": env["SF_CONSUMER_KEY"],
        "sub": env["SF_SUBJECT"],
        "aud": login_url,
        "exp": now + 120,
    });
    let key = std::fs::read_to_string(server.data_dir().join("server.key")).expect("server.key");
    let assertion = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
    )
    .unwrap();
    let r = http
        .post(format!("{login_url}/services/oauth2/token"))
        .form(&[("grant_type", GRANT), ("assertion", &assertion)])
        .send()
        .await
        .expect("token endpoint");
    assert_eq!(r.status(), 200);
    r.json().await.expect("JSON")
}

/// An Interaction API call the sample app's token is authorized for, up to its (empty) body:
/// the same answer whichever listener serves it.
async fn interaction(
    http: &reqwest::Client,
    scrt_url: &str,
    org_id: &str,
    ccd: &str,
    token: &str,
) -> (u16, Value) {
    let r = http
        .post(format!("{scrt_url}/api/v1/interactions"))
        .bearer_auth(token)
        .header("OrgId", org_id)
        .header("AuthorizationContext", ccd)
        .header("AuthorizationContextType", "ConversationChannelDefinition")
        .header("RequestId", "f7904eb6-5352-4c5e-adf6-5f100572cf5d")
        .send()
        .await
        .expect("interactions");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_token_over_https_names_the_https_urls_and_works_on_every_host() {
    let server = TestServer::start().await.unwrap();
    let org = server.org().clone();
    assert!(
        org.login_url_https.starts_with("https://127.0.0.1:"),
        "{org:?}"
    );
    assert_eq!(org.instance_url_https, org.login_url_https);
    assert!(
        org.scrt_url_https.starts_with("https://127.0.0.1:"),
        "{org:?}"
    );
    assert_ne!(org.login_url_https, org.scrt_url_https);
    let https = trusting_client(&server);

    let body = grant(&server, &https, &org.login_url_https).await;
    assert_eq!(
        body["instance_url"],
        org.instance_url_https.as_str(),
        "{body}"
    );
    let id = body["id"].as_str().unwrap();
    assert!(
        id.starts_with(&format!("{}/id/{}/", org.login_url_https, org.org_id_18)),
        "{id}"
    );
    let token = body["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with(&format!("{}!", org.org_id)), "{token}");
    assert!(
        (100..=115).contains(&token.len()),
        "{} characters",
        token.len()
    );
    // The same grant over plain HTTP names the http URLs.
    let plain = grant(&server, &reqwest::Client::new(), &org.login_url).await;
    assert_eq!(plain["instance_url"], org.instance_url.as_str());
    assert!(plain["id"].as_str().unwrap().starts_with(&org.login_url));

    // The identity URL and OpenID discovery over HTTPS name HTTPS.
    let identity: Value = https
        .get(id)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(identity["id"], id);
    let rest = identity["urls"]["rest"].as_str().unwrap();
    assert!(rest.starts_with(&org.instance_url_https), "{rest}");
    let discovery: Value = https
        .get(format!(
            "{}/.well-known/openid-configuration",
            org.login_url_https
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], org.login_url_https.as_str());

    // The admin API over HTTPS knows the short token: the sample app has no `api` scope, so it
    // is told so, rather than that the session is unknown.
    let whoami = https
        .get(format!("{}/admin/v1/whoami", org.login_url_https))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), 401);
    let whoami: Value = whoami.json().await.unwrap();
    assert_eq!(
        whoami[0]["message"], "This session is not valid for use with the REST API",
        "{whoami}"
    );
    // The admin credential works there too.
    let admin = https
        .get(format!("{}/admin/v1/whoami", org.login_url_https))
        .bearer_auth(&org.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let ccd = &partner_env(&server)["SF_AUTHORIZATION_CONTEXT"];
    let over_tls = interaction(&https, &org.scrt_url_https, &org.org_id, ccd, &token).await;
    let over_http = interaction(
        &reqwest::Client::new(),
        &org.scrt_url,
        &org.org_id,
        ccd,
        &token,
    )
    .await;
    assert_eq!(over_tls, over_http);
    assert_ne!(over_tls.0, 401, "{over_tls:?}");
    let refused = interaction(&https, &org.scrt_url_https, &org.org_id, ccd, "00Dx!nope").await;
    assert_eq!(refused.0, 401, "{refused:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn plain_http_and_garbage_sent_to_the_tls_ports_leave_them_serving() {
    let server = TestServer::start().await.unwrap();
    let org = server.org().clone();
    let https = trusting_client(&server);
    for url in [&org.login_url_https, &org.scrt_url_https] {
        let addr = url.trim_start_matches("https://").to_string();
        for junk in [
            &b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
            &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5][..],
            &b""[..],
        ] {
            let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
            tcp.write_all(junk).await.unwrap();
            let _ = tcp.shutdown().await;
            // The server ends the connection (maybe after a TLS alert); it never answers HTTP.
            let mut answer = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
                .await
                .expect("the server closes the connection");
            assert!(
                !String::from_utf8_lossy(&answer).contains("HTTP/1.1"),
                "{read:?}"
            );
        }
        // A client that does not trust the local CA is refused at the handshake.
        assert!(reqwest::Client::new()
            .get(format!("{url}/.well-known/openid-configuration"))
            .send()
            .await
            .is_err());
        // A silent client holds up no one: its handshake waits in a task of its own.
        let _silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let r = https
            .get(format!("{url}/.well-known/openid-configuration"))
            .send()
            .await
            .expect("still serving");
        assert!(r.status() == 200 || r.status() == 404, "{}", r.status());
    }
    server.stop().await.unwrap();
}
