//! The SOAP API's `login` end to end, over real HTTP: the `loginResponse` read with a
//! namespace-aware XML parser as a stock client does, its session id used on the admin API, the
//! `INVALID_LOGIN` fault for every wrong credential, malformed envelopes, the body limit, and the
//! login history.

use std::collections::HashMap;
use std::time::Duration;

use byoc_proto::admin::{NewUser, UpdateUser};
use byoc_proto::oauth::LoginHistoryEntry;
use byoc_testkit::TestServer;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

const INVALID_LOGIN: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;

/// simple-salesforce's envelope (prefix `env`, operation prefix `n1`).
fn envelope(username: &str, password: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">
  <env:Body>
    <n1:login xmlns:n1="urn:partner.soap.sforce.com">
      <n1:username>{}</n1:username>
      <n1:password>{}</n1:password>
    </n1:login>
  </env:Body>
</env:Envelope>"#,
        quick_xml::escape::escape(username),
        quick_xml::escape::escape(password)
    )
}

struct Soap {
    http: reqwest::Client,
    login_url: String,
}

#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    diagnosis: Option<String>,
    body: String,
}

impl Soap {
    fn of(server: &TestServer) -> Soap {
        Soap {
            http: reqwest::Client::new(),
            login_url: server.org().login_url.clone(),
        }
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
        let r = self
            .http
            .post(format!("{}{path}", self.login_url))
            .header("content-type", "text/xml; charset=UTF-8")
            .header("SOAPAction", "login")
            .body(body)
            .send()
            .await
            .expect("the SOAP endpoint answers");
        let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
        Answer {
            status: r.status().as_u16(),
            content_type: h("content-type").unwrap_or_default(),
            diagnosis: h("x-byoc-diagnosis"),
            body: r.text().await.unwrap(),
        }
    }

    async fn login(&self, username: &str, password: &str) -> Answer {
        self.post("/services/Soap/u/68.0", envelope(username, password))
            .await
    }
}

/// Every element's text by `{namespace}local` path under `result`, read namespace-aware: what a
/// client that resolves prefixes (zeep, jsforce's xml2js with namespaces) sees.
fn result_fields(xml: &str) -> HashMap<String, String> {
    let mut reader = NsReader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut out = HashMap::new();
    loop {
        let (ns, event) = reader.read_resolved_event().expect("well-formed XML");
        let ns = match ns {
            ResolveResult::Bound(n) => String::from_utf8(n.as_ref().to_vec()).unwrap(),
            _ => String::new(),
        };
        match event {
            Event::Start(e) => path.push(format!(
                "{{{ns}}}{}",
                String::from_utf8(e.local_name().as_ref().to_vec()).unwrap()
            )),
            Event::Empty(e) => {
                let nil = e
                    .attributes()
                    .any(|a| a.unwrap().key.local_name().as_ref() == b"nil");
                let name = String::from_utf8(e.local_name().as_ref().to_vec()).unwrap();
                out.insert(
                    format!("{}/{name}", path.last().cloned().unwrap_or_default()),
                    if nil { "(nil)".into() } else { String::new() },
                );
            }
            Event::Text(t) => {
                let name = path.last().cloned().unwrap_or_default();
                let parent = path.iter().rev().nth(1).cloned().unwrap_or_default();
                let local = name.rsplit('}').next().unwrap().to_string();
                out.insert(
                    format!("{parent}/{local}"),
                    t.unescape().unwrap().into_owned(),
                );
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

async fn history(server: &TestServer, username: &str) -> Vec<LoginHistoryEntry> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = reqwest::Client::new()
        .get(format!(
            "{}/admin/v1/login-history?username={}",
            server.org().login_url,
            url::form_urlencoded::byte_serialize(username.as_bytes()).collect::<String>()
        ))
        .bearer_auth(&server.org().admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn soap_login_answers_salesforces_login_response_and_the_session_works() {
    let server = TestServer::start().await.unwrap();
    let org = server.org().clone();
    let soap = Soap::of(&server);
    let password = org
        .admin_password
        .clone()
        .expect("the first start's password");

    let a = soap.login(&org.admin_username, &password).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.content_type, "text/xml;charset=UTF-8");
    // The prefixes and default namespaces Salesforce sends, literally.
    assert!(a.body.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result><metadataServerUrl>"#), "{}", a.body);
    let f = result_fields(&a.body);
    let r = "{urn:partner.soap.sforce.com}result";
    let u = "{urn:partner.soap.sforce.com}userInfo";
    let get = |k: &str| f.get(k).cloned().unwrap_or_else(|| panic!("{k} in {f:?}"));
    assert_eq!(
        get(&format!("{r}/serverUrl")),
        format!("{}/services/Soap/u/68.0/{}", org.instance_url, org.org_id)
    );
    assert_eq!(
        get(&format!("{r}/metadataServerUrl")),
        format!("{}/services/Soap/m/68.0/{}", org.instance_url, org.org_id)
    );
    assert_eq!(get(&format!("{r}/passwordExpired")), "false");
    assert_eq!(get(&format!("{r}/sandbox")), "false");
    let user = server.admin().user(&org.admin_username).await.unwrap();
    assert_eq!(get(&format!("{r}/userId")), user.id18);
    assert_eq!(get(&format!("{u}/userId")), user.id18);
    assert_eq!(get(&format!("{u}/organizationId")), org.org_id_18);
    assert_eq!(get(&format!("{u}/userName")), org.admin_username);
    assert_eq!(get(&format!("{u}/userEmail")), user.email);
    assert_eq!(get(&format!("{u}/sessionSecondsValid")), "7200");
    assert_eq!(get(&format!("{u}/roleId")), "(nil)");
    assert_eq!(get(&format!("{u}/profileId")).len(), 18);
    let session = get(&format!("{r}/sessionId"));
    assert!(
        session.starts_with(&format!("{}!", org.org_id)),
        "{session}"
    );

    // The session id is a bearer token on the admin API…
    let who: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/admin/v1/whoami", org.login_url))
        .header("authorization", format!("OAuth {session}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(who.to_string().contains(&org.admin_username), "{who}");

    // …and on the REST API, as `OAuth` and as `Bearer`.
    for scheme in ["OAuth", "Bearer"] {
        let r = reqwest::Client::new()
            .get(format!("{}/services/data/v68.0/", org.instance_url))
            .header("authorization", format!("{scheme} {session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
        let resources: serde_json::Value = r.json().await.unwrap();
        assert!(resources.get("query").is_some(), "{resources}");
    }

    // The enterprise endpoint answers in its own namespace.
    let enterprise = envelope(&org.admin_username, &password).replace(
        "urn:partner.soap.sforce.com",
        "urn:enterprise.soap.sforce.com",
    );
    let a = soap.post("/services/Soap/c/60.0", enterprise).await;
    assert_eq!(a.status, 200, "{a:?}");
    let f = result_fields(&a.body);
    assert_eq!(
        f["{urn:enterprise.soap.sforce.com}result/serverUrl"],
        format!("{}/services/Soap/c/60.0/{}", org.instance_url, org.org_id)
    );

    // The request inspector keeps the calls with the password and the session id masked.
    let calls = server
        .admin()
        .inspector_calls(&byoc_proto::admin::InspectorQuery {
            q: Some("Soap".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!calls.is_empty());
    for call in &calls {
        assert!(call.operation.contains("/services/Soap/"), "{call:?}");
        assert!(!call.request.contains(&password), "{}", call.request);
        assert!(call.request.contains("password>****<"), "{}", call.request);
        assert!(!call.response.contains(&session), "{}", call.response);
    }

    let rows = history(&server, &org.admin_username).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|e| e.login_type == "Other Apex API"
        && e.error.is_none()
        && e.user_id == Some(user.id.clone())));
}

#[tokio::test]
async fn soap_login_refuses_every_wrong_credential_with_invalid_login() {
    let server = TestServer::start().await.unwrap();
    let org = server.org().clone();
    let admin = server.admin();
    let soap = Soap::of(&server);
    admin
        .create_user(&NewUser {
            username: "agent@partner.example".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    // No password yet.
    let a = soap.login("agent@partner.example", "Whatever123").await;
    assert_eq!((a.status, a.body.as_str()), (500, INVALID_LOGIN), "{a:?}");
    assert!(a.diagnosis.unwrap().contains("has no password"));

    admin
        .set_password("agent@partner.example", "Agent12345")
        .await
        .unwrap();
    let a = soap.login("agent@partner.example", "Agent12345").await;
    assert_eq!(a.status, 200, "{a:?}");

    let cases = [
        ("agent@partner.example", "agent12345", "wrong password"),
        // A security token appended: byoc has none.
        (
            "agent@partner.example",
            "Agent12345XXXXXXXX",
            "wrong password",
        ),
        ("nobody@partner.example", "Agent12345", "is not a username"),
        ("", "Agent12345", "no username"),
        (
            "agent\u{1}@partner.example",
            "Agent12345",
            "control character",
        ),
    ];
    for (username, password, why) in cases {
        let a = soap.login(username, password).await;
        assert_eq!((a.status, a.body.as_str()), (500, INVALID_LOGIN), "{a:?}");
        assert_eq!(a.content_type, "text/xml;charset=UTF-8");
        let d = a.diagnosis.unwrap_or_default();
        assert!(d.contains(why), "{username}: {d}");
    }

    admin
        .update_user(
            "agent@partner.example",
            &UpdateUser {
                is_active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let a = soap.login("agent@partner.example", "Agent12345").await;
    assert_eq!((a.status, a.body.as_str()), (500, INVALID_LOGIN), "{a:?}");
    assert!(a.diagnosis.unwrap().contains("inactive"));

    let rows = history(&server, "agent@partner.example").await;
    let failed: Vec<_> = rows.iter().filter(|e| e.error.is_some()).collect();
    assert_eq!((rows.len(), failed.len()), (5, 4), "{rows:?}");
    assert!(failed
        .iter()
        .all(|e| e.error.as_deref() == Some("INVALID_LOGIN")
            && e.login_type == "Other Apex API"
            && e.diagnosis.is_some()));
    let _ = org;
}

#[tokio::test]
async fn soap_login_refuses_malformed_envelopes_with_client_faults() {
    let server = TestServer::start().await.unwrap();
    let soap = Soap::of(&server);
    let client_fault = |a: &Answer| {
        assert_eq!(a.status, 500, "{a:?}");
        let f = result_fields(&a.body);
        assert_eq!(
            f["{http://schemas.xmlsoap.org/soap/envelope/}Fault/faultcode"], "soapenv:Client",
            "{a:?}"
        );
        f["{http://schemas.xmlsoap.org/soap/envelope/}Fault/faultstring"].clone()
    };
    for body in [
        "",
        "username=a&password=b",
        "<login><username>a</username></login>",
        "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body><login xmlns=\"urn:partner.soap.sforce.com\"><username>a</e:Body></e:Envelope>",
        "<!DOCTYPE x [<!ENTITY a \"b\">]><x/>",
        "\u{0}\u{1}<<<>>>",
    ] {
        client_fault(&soap.post("/services/Soap/u/68.0", body).await);
    }
    let other = envelope("a", "b").replace("n1:login", "n1:query");
    let message = client_fault(&soap.post("/services/Soap/u/68.0", other).await);
    assert_eq!(message, "No operation available for request {urn:partner.soap.sforce.com}query, please check the WSDL for the service.");

    // More than 64 KiB is refused before it is parsed.
    let huge = envelope(&"a".repeat(200_000), "b");
    let a = soap.post("/services/Soap/u/68.0", huge).await;
    assert_eq!(a.status, 413, "{a:?}");

    // An unknown API version.
    let a = soap.post("/services/Soap/u/12.0", envelope("a", "b")).await;
    assert_eq!(a.status, 500);
    assert!(
        a.body
            .contains("<faultcode>sf:UNSUPPORTED_API_VERSION</faultcode>"),
        "{a:?}"
    );
    // None of these reached a login: the history is empty.
    assert!(history(&server, "a").await.is_empty());
}

/// Through the HTTPS listener the answer names the HTTPS URLs, as clients that build `https://`
/// URLs from `serverUrl` need.
#[tokio::test]
async fn soap_login_over_https_names_the_https_urls() {
    let server = TestServer::start().await.unwrap();
    let org = server.org().clone();
    let pem = std::fs::read(&org.ca_cert).expect("ca.crt");
    let soap = Soap {
        http: reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap(),
        login_url: org.login_url_https.clone(),
    };
    let a = soap
        .login(&org.admin_username, org.admin_password.as_deref().unwrap())
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let f = result_fields(&a.body);
    assert_eq!(
        f["{urn:partner.soap.sforce.com}result/serverUrl"],
        format!(
            "{}/services/Soap/u/68.0/{}",
            org.instance_url_https, org.org_id
        )
    );
    assert!(org.instance_url_https.starts_with("https://"));
}
