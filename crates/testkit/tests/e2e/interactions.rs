#![allow(clippy::disallowed_methods)] // tests and tools read the wall clock
//! The Interaction Service API end to end: a real server, real access tokens from the JWT Bearer
//! flow, requests over HTTP as a partner's stock HTTP library sends them (reqwest multipart), on
//! SQLite and, when reachable, PostgreSQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_core::interaction::message;
use byoc_proto::admin::{AppInput, LinkApp, NewChannel, PolicyInput};
use byoc_proto::setup::{Owner, PermittedUsers};
use byoc_testkit::{Options, TestServer};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

async fn servers() -> Vec<TestServer> {
    byoc_testkit::on_every_backend("interactions suite", Options::default())
        .await
        .expect("servers")
}

fn backend(s: &TestServer) -> &'static str {
    s.backend()
}

fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{nanos:x}-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `partner.env` as a map, with the private key's `\n` escapes undone.
fn partner_env(server: &TestServer) -> HashMap<String, String> {
    let text = std::fs::read_to_string(server.data_dir().join("partner.env")).expect("partner.env");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v
                .trim()
                .trim_matches('"')
                .replace("\\n", "\n")
                .replace("\\\"", "\"")
                .replace("\\\\", "\\");
            (k.trim().to_string(), v)
        })
        .collect()
}

async fn token(server: &TestServer, consumer_key: &str, private_key_pem: &str) -> String {
    let provider = JwtBearer::new(JwtBearerSettings {
        token_url: format!("{}/services/oauth2/token", server.org().login_url),
        consumer_key: consumer_key.into(),
        username: server.org().admin_username.clone(),
        audience: "https://login.salesforce.com".into(),
        private_key_pem: private_key_pem.into(),
    })
    .expect("provider");
    provider.fetch().await.expect("token").access_token
}

/// An ECA with the JWT Bearer flow, pre-authorized for System Administrator; its consumer key
/// and private key.
async fn app(server: &TestServer, name: &str, scopes: &[&str]) -> (String, String) {
    let pair = byoc_pki::new_self_signed("partner", 30, chrono::Utc::now()).expect("cert");
    let admin = server.admin();
    let saved = admin
        .create_external_client_app(&AppInput {
            name: Some(name.into()),
            contact_email: Some("dev@partner.example".into()),
            description: None,
            callback_urls: Some(vec!["https://partner.example/callback".into()]),
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
            jwt_bearer_enabled: Some(true),
            client_credentials_enabled: None,
            oauth_enabled: None,
            certificate_pem: Some(pair.certificate_pem.clone()),
        })
        .await
        .expect("eca");
    admin
        .update_external_client_app_policies(
            name,
            &PolicyInput {
                permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
                profiles: Some(vec!["System Administrator".into()]),
                permission_sets: None,
                ip_relaxation: None,
                session_timeout_minutes: None,
                run_as_username: None,
            },
        )
        .await
        .expect("policies");
    (saved.record.oauth.consumer_key, pair.private_key_pem)
}

/// A partner talking to one server.
struct Partner {
    http: reqwest::Client,
    scrt: String,
    token: String,
    org: String,
    ccd: String,
    address: String,
}

impl Partner {
    async fn new(server: &TestServer) -> Partner {
        let env = partner_env(server);
        let token = token(server, &env["SF_CONSUMER_KEY"], &env["SF_PRIVATE_KEY"]).await;
        Partner {
            http: reqwest::Client::new(),
            scrt: server.org().scrt_url.clone(),
            token,
            org: server.org().org_id.clone(),
            ccd: env["SF_AUTHORIZATION_CONTEXT"].clone(),
            address: env["CHANNEL_ADDRESS_IDENTIFIER"].clone(),
        }
    }

    fn bare(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v1/{path}", self.scrt))
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.req_with(method, path, &[])
    }

    /// A request with every header set, `overrides` replacing (or, with an empty value,
    /// removing) some of them.
    fn req_with(
        &self,
        method: Method,
        path: &str,
        overrides: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let bearer = format!("Bearer {}", self.token);
        let defaults = [
            ("Authorization", bearer.as_str()),
            ("OrgId", self.org.as_str()),
            ("AuthorizationContext", self.ccd.as_str()),
            ("AuthorizationContextType", "ConversationChannelDefinition"),
            ("RequestId", "f7904eb6-5352-4c5e-adf6-5f100572cf5d"),
        ];
        let mut request = self.bare(method, path);
        for (name, value) in defaults {
            let value = overrides
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .unwrap_or(value);
            if !value.is_empty() {
                request = request.header(name, value);
            }
        }
        request
    }

    async fn call(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        read(self.req(method, path).json(&body)).await
    }

    async fn interact(&self, from: &str, entry_id: &str, text: &str) -> (u16, Value) {
        read(
            self.req(Method::POST, "interactions")
                .multipart(json_form(&text_interaction(
                    &self.address,
                    from,
                    entry_id,
                    text,
                ))),
        )
        .await
    }
}

async fn read(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

fn json_form(json: &Value) -> Form {
    Form::new().part(
        "json",
        Part::text(json.to_string())
            .mime_str("application/json")
            .expect("mime"),
    )
}

fn text_interaction(to: &str, from: &str, entry_id: &str, text: &str) -> Value {
    json!({
        "to": to,
        "from": from,
        "interactions": [{
            "timestamp": now_ms(),
            "interactionType": "EntryInteraction",
            "payload": {
                "id": entry_id,
                "entryType": "Message",
                "abstractMessage": {
                    "messageType": "StaticContentMessage",
                    "id": entry_id,
                    "staticContent": {"formatType": "Text", "text": text}
                }
            }
        }]
    })
}

fn attachment_interaction(to: &str, from: &str, id: &str, len: usize) -> Value {
    json!({
        "to": to, "from": from,
        "interactions": [{"timestamp": now_ms(), "interactionType": "AttachmentInteraction", "id": id, "attachmentIndex": 0, "contentLength": len, "text": "see attached"}]
    })
}

#[track_caller]
fn refused(got: (u16, Value), status: u16, code: u32) {
    assert_eq!(got.0, status, "expected {status} {code}, got {got:?}");
    assert_eq!(got.1["code"], json!(code), "{got:?}");
    // Placeholders such as <workItemId> are filled in: the fixed text around them must match.
    let text = got.1["message"].as_str().unwrap_or("");
    let mut rest = text;
    for piece in message(code)
        .split(['<', '>'])
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, p)| p)
    {
        let at = rest
            .find(piece)
            .unwrap_or_else(|| panic!("message {text:?} is not the text of {code}: {got:?}"));
        rest = &rest[at + piece.len()..];
    }
    if !message(code).contains('<') {
        assert_eq!(text, message(code), "{got:?}");
    }
}

fn agent() -> Value {
    json!({"appType": "agent", "subject": "005000000000001", "role": "Agent"})
}

// ---- happy paths --------------------------------------------------------------------------------

#[tokio::test]
async fn interactions_are_accepted_and_retries_answer_the_same() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let user = unique("user");
        let first = p.interact(&user, &unique("entry"), "Hello").await;
        assert_eq!(first.0, 202, "{}: {first:?}", backend(&server));
        let conversation = first.1["conversationIdentifier"]
            .as_str()
            .expect("conversation")
            .to_string();
        let work_items = first.1["workItemIds"]
            .as_array()
            .expect("work items")
            .clone();
        assert_eq!(work_items.len(), 1);
        let work_item = work_items[0].as_str().expect("id");
        assert!(
            work_item.starts_with("0Mw") && work_item.len() == 15,
            "{work_item}"
        );
        assert_eq!(first.1["success"], json!(true));

        // A retry of the same entry: stored once, answered identically.
        let entry = unique("entry");
        let a = p.interact(&user, &entry, "Again").await;
        let b = p.interact(&user, &entry, "Again").await;
        assert_eq!(a, b);
        assert_eq!(
            a.1["conversationIdentifier"],
            json!(conversation),
            "same end user, same conversation"
        );
        assert_eq!(a.1["id"], json!(entry));

        // Another end user, another conversation.
        let other = p.interact(&unique("user"), &unique("entry"), "Hi").await;
        assert_ne!(other.1["conversationIdentifier"], json!(conversation));

        // Typing indicators.
        let typing = json!({"to": p.address, "from": user, "interactions": [{"timestamp": now_ms(), "interactionType": "EntryInteraction",
            "payload": {"id": unique("typing"), "entryType": "TypingStartedIndicator", "timestamp": now_ms()}}]});
        let got = read(
            p.req(Method::POST, "interactions")
                .multipart(json_form(&typing)),
        )
        .await;
        assert_eq!(got.0, 202, "{got:?}");

        let detail = server
            .admin()
            .conversation(&conversation)
            .await
            .expect("admin show");
        let ids: Vec<&str> = detail.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids.iter().filter(|i| **i == entry).count(),
            1,
            "the retry was stored once: {ids:?}"
        );
        assert_eq!(detail.entries.len(), 3);
        assert_eq!(detail.entries[0].text.as_deref(), Some("Hello"));
        assert_eq!(detail.entries[0].sender.role.as_deref(), Some("EndUser"));
        assert_eq!(detail.conversation.end_user_client_id, user);
        let list = server.admin().conversations(None).await.expect("list");
        assert!(list.iter().any(|c| c.id == conversation));
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn attachments_in_any_part_order_and_chunked() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let user = unique("user");
        let content = b"%PDF-1.4 not really".to_vec();
        let id = unique("file");
        // The file part before the json part.
        let form = Form::new()
            .part(
                "attachments",
                Part::bytes(content.clone())
                    .file_name("doc.pdf")
                    .mime_str("application/pdf")
                    .expect("mime"),
            )
            .part(
                "json",
                Part::text(
                    attachment_interaction(&p.address, &user, &id, content.len()).to_string(),
                ),
            );
        let got = read(p.req(Method::POST, "interactions").multipart(form)).await;
        assert_eq!(got.0, 202, "{}: {got:?}", backend(&server));
        let conversation = got.1["conversationIdentifier"]
            .as_str()
            .expect("id")
            .to_string();
        let detail = server
            .admin()
            .conversation(&conversation)
            .await
            .expect("show");
        let entry = detail.entries.iter().find(|e| e.id == id).expect("entry");
        assert_eq!(entry.format_type.as_deref(), Some("Attachments"));
        assert_eq!(entry.text.as_deref(), Some("see attached"));
        assert_eq!(entry.attachments.len(), 1);
        assert_eq!(entry.attachments[0].size, content.len() as i64);
        let stored = server
            .admin()
            .attachment(&entry.attachments[0].id)
            .await
            .expect("bytes");
        assert_eq!(stored.bytes, content);
        assert_eq!(stored.mime_type, "application/pdf");

        // A chunked body (no Content-Length), built by hand as a streaming client sends it.
        let boundary = "byoc-test-boundary";
        let json = text_interaction(&p.address, &user, &unique("entry"), "chunked").to_string();
        let body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"json\"\r\nContent-Type: application/json\r\n\r\n{json}\r\n--{boundary}--\r\n");
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.as_bytes().chunks(7).map(|c| Ok(c.to_vec())).collect();
        let got = read(
            p.req(Method::POST, "interactions")
                .header(
                    "Content-Type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks))),
        )
        .await;
        assert_eq!(got.0, 202, "{got:?}");
        assert_eq!(got.1["conversationIdentifier"], json!(conversation));
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn every_other_operation_answers_in_the_spec_shape() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let b = backend(&server);
        let user = unique("user");

        // conversation
        let got = p.call(Method::POST, "conversation", json!({"channelAddressIdentifier": p.address,
            "participants": [{"appType": "custom", "subject": user, "role": "EndUser"}], "unknownField": 1})).await;
        assert_eq!(got.0, 202, "{b}: {got:?}");
        let conversation = got.1["conversationIdentifier"]
            .as_str()
            .expect("id")
            .to_string();
        let session = got.1["messagingSessionId"]
            .as_str()
            .expect("session")
            .to_string();
        assert!(session.starts_with("0Mw"));
        // Reused on the next contact.
        let again = p.interact(&user, &unique("entry"), "hi").await;
        assert_eq!(again.1["conversationIdentifier"], json!(conversation));
        assert_eq!(again.1["workItemIds"], json!([session]));
        let first_entry = unique("entry");
        p.interact(&user, &first_entry, "second").await;

        // conversationEntry POST (an agent's message) and GET with a JSON body.
        let agent_entry = unique("agent");
        let got = p.call(Method::POST, "conversationEntry", json!({"conversationIdentifier": conversation, "sender": agent(),
            "conversationEntries": [{"clientTimestamp": now_ms(), "entryPayload": {"id": agent_entry, "entryType": "Message",
            "abstractMessage": {"id": agent_entry, "messageType": "StaticContentMessage", "staticContent": {"formatType": "Text", "text": "How can I help?"}}}}]})).await;
        assert_eq!(got, (202, json!({"success": true})), "{b}");
        let got = p
            .call(
                Method::GET,
                "conversationEntry",
                json!({"conversationIdentifier": conversation, "startTime": 0, "limit": 20}),
            )
            .await;
        assert_eq!(got.0, 200, "{got:?}");
        let entries = got.1["conversationEntries"].as_array().expect("entries");
        assert_eq!(entries.len(), 3, "{got:?}");
        assert_eq!(entries[2]["sender"]["role"], json!("Agent"));
        assert_eq!(
            entries[2]["entryPayload"]["abstractMessage"]["staticContent"]["text"],
            json!("How can I help?")
        );
        let newest = p.call(Method::GET, "conversationEntry", json!({"conversationIdentifier": conversation, "startTime": 0, "limit": 1, "direction": "FROM_END"})).await;
        assert_eq!(
            newest.1["conversationEntries"][0]["entryPayload"]["id"],
            json!(agent_entry)
        );

        // acknowledgement
        let got = p.call(Method::POST, "acknowledgement", json!({"conversationIdentifier": conversation,
            "sender": {"appType": "custom", "subject": user, "role": "EndUser"},
            "acknowledgements": [{"acknowledgementTimestamp": now_ms().to_string(), "acknowledgementType": "Read",
                "acknowledgedConversationEntryIdentifier": agent_entry, "acknowledgmentCreatedConversationEntryIdentifier": unique("ack")}]})).await;
        assert_eq!(got, (200, json!({"success": true})), "{b}");

        // participant: the agent who posted can be removed, once.
        let remove = json!({"conversationIdentifier": conversation, "participants": [agent()], "operation": "Remove"});
        assert_eq!(
            p.call(Method::POST, "participant", remove.clone()).await,
            (200, json!({"success": true}))
        );
        refused(
            p.call(Method::POST, "participant", remove).await,
            404,
            10036,
        );

        // route, routingResult, agentWork
        let got = p
            .call(
                Method::POST,
                "route",
                json!({"conversationIdentifier": conversation, "routingType": "Initial",
            "routingInfo": {"queueId": "00G000000000001"}}),
            )
            .await;
        assert_eq!(got.0, 202, "{got:?}");
        assert_eq!(got.1["success"], json!(true));
        assert_eq!(got.1["workItemId"], json!(session));
        assert!(got.1["psrId"]
            .as_str()
            .is_some_and(|s| s.starts_with("0JR")));
        let got = p
            .call(
                Method::POST,
                "routingResult",
                json!({"conversationIdentifier": conversation, "workItemId": session,
            "success": true, "externallyRouted": false, "routingType": "Initial"}),
            )
            .await;
        assert_eq!(got, (202, json!({"success": true})), "{b}");
        let work = json!({"userId": "005000000000001", "workItemId": session, "capacityWeight": 1});
        let got = p.call(Method::POST, "agentWork", work.clone()).await;
        assert_eq!(got.0, 202, "{got:?}");
        let agent_work = got.1["agentWorkId"]
            .as_str()
            .expect("agent work")
            .to_string();
        assert!(agent_work.starts_with("0Bz"));
        assert_eq!(got.1["agentWorkDetails"]["existPsr"], json!(true));
        refused(p.call(Method::POST, "agentWork", work).await, 400, 15109);
        let got = p
            .call(
                Method::PATCH,
                "agentWork",
                json!({"workId": agent_work, "contextType": "Agent", "status": "Close"}),
            )
            .await;
        assert_eq!(got, (202, json!({"success": true})), "{b}");
        let got = p
            .req(Method::DELETE, "route")
            .json(&json!({"conversationIdentifier": conversation, "cancelReason": "Cancel"}));
        assert_eq!(read(got).await, (202, json!({"success": true})));

        // capabilities
        let got = p.call(Method::PATCH, "capabilities", json!({"capabilities": {"appType": "custom", "channelCapabilities": [{
            "messageTypeCapabilities": [{"messageType": "StaticContentMessage", "formatTypeCapabilities": [{"formatType": "Text"}]}]}]}})).await;
        assert_eq!(got, (200, json!({"success": true})), "{b}");

        // consent: the sample CCD's consent owner is Salesforce.
        let consent = json!({"channelAddressIdentifier": p.address, "endUserClientId": user, "consentStatus": "ExplicitlyOptedIn"});
        let got = p.call(Method::PATCH, "consent", consent).await;
        refused(got.clone(), 403, 10022);
        assert_eq!(got.1["success"], json!(false));
        assert_eq!(got.1["errorDetail"]["code"], json!(10022));

        // messagingSession: End, then the next message opens a new work item.
        let got = p
            .call(
                Method::POST,
                "messagingSession",
                json!({"channelAddressIdentifier": p.address, "endUserClientId": user,
            "conversationIdentifier": conversation, "operation": "End", "operationBy": "EndUser"}),
            )
            .await;
        assert_eq!(got, (200, json!({"success": true})), "{b}");
        let next = p.interact(&user, &unique("entry"), "back again").await;
        assert_eq!(next.1["conversationIdentifier"], json!(conversation));
        assert_ne!(next.1["workItemIds"], json!([session]));

        let detail = server
            .admin()
            .conversation(&conversation)
            .await
            .expect("show");
        let acked = detail
            .entries
            .iter()
            .find(|e| e.id == agent_entry)
            .expect("agent entry");
        assert_eq!(acked.acknowledgement.as_deref(), Some("Read"));
        assert_eq!(detail.sessions.len(), 2);
        assert!(detail.records.iter().any(|r| r.kind == "route"));
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn consent_and_history_on_a_partner_owned_ccaas_channel() {
    for server in servers().await {
        let admin = server.admin();
        let env = partner_env(&server);
        let address = unique("ccaas-address");
        let saved = admin
            .create_channel(&NewChannel {
                name: unique("CCaaS"),
                channel_type: "byoc-ccaas".into(),
                channel_address_identifier: address.clone(),
                app_managed_by: None,
                routing_owner: Some(Owner::Partner),
                consent_owner: Some(Owner::Partner),
                conversation_channel_definition: None,
            })
            .await
            .expect("channel");
        let ccd = saved
            .record
            .conversation_channel_definition
            .expect("ccd")
            .developer_name;
        let sample_app = admin
            .conversation_channel_definition(&env["SF_AUTHORIZATION_CONTEXT"])
            .await
            .expect("ccd")
            .linked_app
            .expect("app");
        admin
            .link_conversation_channel_definition_app(
                &ccd,
                &LinkApp {
                    app: sample_app.name,
                },
            )
            .await
            .expect("link");
        let mut p = Partner::new(&server).await;
        p.ccd = ccd;
        p.address = address;
        let user = unique("user");

        let got = p.call(Method::PATCH, "consent", json!({"channelAddressIdentifier": p.address, "endUserClientId": user, "consentStatus": "ExplicitlyOptedIn"})).await;
        assert_eq!(got, (200, json!({"success": true})), "{}", backend(&server));
        refused(p.call(Method::PATCH, "consent", json!({"channelAddressIdentifier": p.address, "endUserClientId": user, "consentStatus": "Maybe"})).await, 400, 10021);

        let t = now_ms() - 60_000;
        let end_user = json!({"appType": "custom", "subject": user, "role": "EndUser"});
        let bot = json!({"appType": "chatbot", "subject": "bot-1", "role": "Chatbot"});
        let message = |id: &str, text: &str| json!({"id": id, "entryType": "Message", "abstractMessage": {"id": id, "messageType": "StaticContentMessage", "staticContent": {"formatType": "Text", "text": text}}});
        let history = json!({
            "channelAddressIdentifier": p.address,
            "conversationParticipants": [{"participant": end_user, "joinedTime": t}, {"participant": bot, "joinedTime": t, "leftTime": t + 10_000}],
            "conversationEntries": [
                {"clientTimestamp": t + 1000, "sender": end_user, "entryPayload": message(&unique("h"), "I need help")},
                {"clientTimestamp": t + 2000, "sender": bot, "entryPayload": message(&unique("h"), "Sure")}
            ]
        });
        let got = p
            .call(Method::POST, "conversationHistory", history.clone())
            .await;
        assert_eq!(got.0, 202, "{got:?}");
        let conversation = got.1["conversationIdentifier"]
            .as_str()
            .expect("id")
            .to_string();
        assert!(got.1["messagingSessionId"]
            .as_str()
            .is_some_and(|s| s.starts_with("0Mw")));
        let detail = server
            .admin()
            .conversation(&conversation)
            .await
            .expect("show");
        assert_eq!(detail.entries.len(), 2);
        assert_eq!(
            detail.conversation.consent_status.as_deref(),
            Some("ExplicitlyOptedIn")
        );
        // A bot message outside the bot's time in the conversation.
        let mut late = history.clone();
        late["conversationEntries"][1]["clientTimestamp"] = json!(t + 20_000);
        refused(
            p.call(Method::POST, "conversationHistory", late).await,
            400,
            10074,
        );

        // History is for CCaaS channels only.
        let sample = Partner::new(&server).await;
        let mut on_messaging = history;
        on_messaging["channelAddressIdentifier"] = json!(sample.address);
        refused(
            sample
                .call(Method::POST, "conversationHistory", on_messaging)
                .await,
            403,
            10057,
        );
        server.stop().await.expect("stop");
    }
}

// ---- the authorization chain --------------------------------------------------------------------

#[tokio::test]
async fn every_step_of_the_authorization_chain_refuses_with_its_code() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let body = text_interaction(&p.address, &unique("user"), &unique("entry"), "x");
        let send = |r: reqwest::RequestBuilder| read(r.multipart(json_form(&body)));

        // 1. token
        refused(send(p.bare(Method::POST, "interactions")).await, 401, 10004);
        let forged = format!("Bearer {}!forged", p.org);
        refused(
            send(p.req_with(Method::POST, "interactions", &[("Authorization", &forged)])).await,
            401,
            10004,
        );
        refused(
            send(p.req_with(
                Method::POST,
                "interactions",
                &[("Authorization", "Basic abc")],
            ))
            .await,
            401,
            10004,
        );
        // 2. scope
        let (key, pem) = app(
            &server,
            "No Interaction Scope",
            &["refresh_token", "offline_access"],
        )
        .await;
        let no_scope = token(&server, &key, &pem).await;
        refused(
            send(p.req_with(
                Method::POST,
                "interactions",
                &[("Authorization", &format!("Bearer {no_scope}"))],
            ))
            .await,
            401,
            10003,
        );
        // 3. OrgId: missing, 18 characters, malformed, another org
        refused(
            send(p.req_with(Method::POST, "interactions", &[("OrgId", "")])).await,
            400,
            10016,
        );
        refused(
            send(p.req_with(
                Method::POST,
                "interactions",
                &[("OrgId", &server.org().org_id_18)],
            ))
            .await,
            400,
            10016,
        );
        refused(
            send(p.req_with(Method::POST, "interactions", &[("OrgId", "00Dnotanorg")])).await,
            400,
            10016,
        );
        refused(
            send(p.req_with(
                Method::POST,
                "interactions",
                &[("OrgId", "00D000000000062")],
            ))
            .await,
            403,
            10016,
        );
        // 4. the CCD
        refused(
            send(p.req_with(
                Method::POST,
                "interactions",
                &[("AuthorizationContext", "No_Such_CCD")],
            ))
            .await,
            404,
            10026,
        );
        refused(
            send(p.req_with(
                Method::POST,
                "interactions",
                &[("AuthorizationContext", "")],
            ))
            .await,
            400,
            10016,
        );
        // 5. the CCD's app is the token's app
        let (key, pem) = app(
            &server,
            "Another Partner App",
            &["interaction_api", "refresh_token", "offline_access"],
        )
        .await;
        let other_app = token(&server, &key, &pem).await;
        refused(
            send(p.req_with(
                Method::POST,
                "interactions",
                &[("Authorization", &format!("Bearer {other_app}"))],
            ))
            .await,
            403,
            10005,
        );
        // 6. the address: unknown, another channel's
        let unknown = text_interaction("no-such-address", &unique("user"), &unique("entry"), "x");
        refused(
            read(
                p.req(Method::POST, "interactions")
                    .multipart(json_form(&unknown)),
            )
            .await,
            404,
            10017,
        );
        let other_address = unique("other-address");
        server
            .admin()
            .create_channel(&NewChannel {
                name: unique("Other"),
                channel_type: "byoc-messaging".into(),
                channel_address_identifier: other_address.clone(),
                app_managed_by: None,
                routing_owner: None,
                consent_owner: None,
                conversation_channel_definition: None,
            })
            .await
            .expect("channel");
        let elsewhere = text_interaction(&other_address, &unique("user"), &unique("entry"), "x");
        refused(
            read(
                p.req(Method::POST, "interactions")
                    .multipart(json_form(&elsewhere)),
            )
            .await,
            403,
            10001,
        );
        // The same chain guards the JSON operations.
        refused(
            p.call(
                Method::POST,
                "conversation",
                json!({"channelAddressIdentifier": other_address,
            "participants": [{"appType": "custom", "subject": "u", "role": "EndUser"}]}),
            )
            .await,
            403,
            10001,
        );
        refused(
            read(p.bare(Method::PATCH, "capabilities").json(&json!({}))).await,
            401,
            10004,
        );

        // Headers: names in any case, AuthorizationContextType compared case-insensitively.
        let lower = p
            .bare(Method::POST, "interactions")
            .header("authorization", format!("bearer {}", p.token))
            .header("orgid", &p.org)
            .header("authorizationcontext", &p.ccd)
            .header("authorizationcontexttype", "conversationchanneldefinition")
            .header("requestid", "same-request-id");
        assert_eq!(send(lower).await.0, 202);
        refused(
            send(p.req_with(
                Method::POST,
                "interactions",
                &[("AuthorizationContextType", "Nonsense")],
            ))
            .await,
            400,
            10093,
        );
        assert_eq!(
            send(p.req_with(
                Method::POST,
                "interactions",
                &[("AuthorizationContextType", "")]
            ))
            .await
            .0,
            202,
            "the type is optional"
        );
        refused(
            send(p.req_with(Method::POST, "interactions", &[("RequestId", "")])).await,
            400,
            10016,
        );
        server.stop().await.expect("stop");
    }
}

// ---- validation ---------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_requests_get_their_codes_never_a_server_error() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let user = unique("user");
        let post = |json: Value| {
            read(
                p.req(Method::POST, "interactions")
                    .multipart(json_form(&json)),
            )
        };

        let mut two = text_interaction(&p.address, &user, &unique("e"), "x");
        let one = two["interactions"][0].clone();
        two["interactions"] = json!([one.clone(), one]);
        refused(post(two).await, 400, 10029);
        let mut none = text_interaction(&p.address, &user, &unique("e"), "x");
        none["interactions"] = json!([]);
        refused(post(none).await, 400, 20003);
        let mut no_from = text_interaction(&p.address, &user, &unique("e"), "x");
        no_from["from"] = json!("");
        refused(post(no_from).await, 400, 10028);
        let mut bad_type = text_interaction(&p.address, &user, &unique("e"), "x");
        bad_type["interactions"][0]["payload"]["abstractMessage"]["messageType"] =
            json!("ChoicesMessage");
        refused(post(bad_type).await, 400, 10062);

        // Not JSON, no json part, an empty body.
        let garbage = Form::new().part("json", Part::text("{not json"));
        refused(
            read(p.req(Method::POST, "interactions").multipart(garbage)).await,
            400,
            10089,
        );
        let only_file =
            Form::new().part("attachments", Part::bytes(vec![1, 2, 3]).file_name("a.bin"));
        refused(
            read(p.req(Method::POST, "interactions").multipart(only_file)).await,
            400,
            10100,
        );
        refused(
            read(
                p.req(Method::POST, "interactions")
                    .header("Content-Type", "multipart/form-data; boundary=x")
                    .body("--x\r\ngarbage"),
            )
            .await,
            400,
            10089,
        );
        refused(read(p.req(Method::POST, "conversation")).await, 400, 10100);
        refused(
            read(p.req(Method::POST, "conversation").body("\"\\u0000\"")).await,
            400,
            10089,
        );

        // Attachments: count mismatch, empty, wrong length, over 25 MB.
        let file = |bytes: Vec<u8>| {
            Part::bytes(bytes)
                .file_name("a.txt")
                .mime_str("text/plain")
                .expect("mime")
        };
        let id = unique("file");
        let mismatch = json_form(&text_interaction(&p.address, &user, &unique("e"), "x"))
            .part("attachments", file(vec![1]));
        refused(
            read(p.req(Method::POST, "interactions").multipart(mismatch)).await,
            400,
            10011,
        );
        let missing = json_form(&attachment_interaction(&p.address, &user, &id, 3));
        refused(
            read(p.req(Method::POST, "interactions").multipart(missing)).await,
            400,
            10011,
        );
        let empty = json_form(&attachment_interaction(&p.address, &user, &id, 0))
            .part("attachments", file(Vec::new()));
        refused(
            read(p.req(Method::POST, "interactions").multipart(empty)).await,
            400,
            10009,
        );
        let wrong = json_form(&attachment_interaction(&p.address, &user, &id, 5))
            .part("attachments", file(vec![1, 2, 3]));
        refused(
            read(p.req(Method::POST, "interactions").multipart(wrong)).await,
            400,
            10051,
        );
        let big = 25 * 1024 * 1024 + 1;
        let too_big = json_form(&attachment_interaction(&p.address, &user, &id, big))
            .part("attachments", file(vec![b'a'; big]));
        refused(
            read(p.req(Method::POST, "interactions").multipart(too_big)).await,
            400,
            10008,
        );

        // JSON operations.
        let acks: Vec<Value> = (0..26)
            .map(|i| json!({"acknowledgementTimestamp": "1", "acknowledgementType": "Read", "acknowledgedConversationEntryIdentifier": "e", "acknowledgmentCreatedConversationEntryIdentifier": format!("a{i}")}))
            .collect();
        let created = p.interact(&user, &unique("e"), "x").await;
        let conversation = created.1["conversationIdentifier"].clone();
        let sender = json!({"appType": "custom", "subject": user, "role": "EndUser"});
        refused(p.call(Method::POST, "acknowledgement", json!({"conversationIdentifier": conversation, "sender": sender, "acknowledgements": acks})).await, 400, 10089);
        refused(
            p.call(
                Method::POST,
                "acknowledgement",
                json!({"conversationIdentifier": "nope", "sender": sender, "acknowledgements": []}),
            )
            .await,
            404,
            10018,
        );
        refused(
            p.call(
                Method::GET,
                "conversationEntry",
                json!({"conversationIdentifier": conversation, "startTime": 0, "limit": 21}),
            )
            .await,
            400,
            10092,
        );
        refused(
            p.call(
                Method::GET,
                "conversationEntry",
                json!({"conversationIdentifier": conversation, "startTime": 10, "endTime": 5}),
            )
            .await,
            400,
            10091,
        );
        refused(p.call(Method::POST, "agentWork", json!({"userId": "005000000000001", "workItemId": "0Mw000000000001", "capacityWeight": 1, "capacityPercentage": 5})).await, 400, 10013);
        refused(
            p.call(
                Method::POST,
                "agentWork",
                json!({"userId": "005000000000001", "workItemId": "0Mw000000000001"}),
            )
            .await,
            404,
            15111,
        );
        refused(p.call(Method::POST, "routingResult", json!({"conversationIdentifier": conversation, "workItemId": created.1["workItemIds"][0], "success": false, "externallyRouted": false})).await, 400, 10034);
        refused(p.call(Method::POST, "route", json!({"conversationIdentifier": conversation, "routingType": "Initial", "routingInfo": {"queueId": "00G000000000001", "flow": {"flowId": "300000000000001", "queueId": "00G000000000001"}}})).await, 400, 10030);
        refused(
            p.call(
                Method::PATCH,
                "agentWork",
                json!({"workId": "0Bz000000000001", "contextType": "Robot", "status": "Close"}),
            )
            .await,
            400,
            10083,
        );
        refused(p.call(Method::POST, "messagingSession", json!({"channelAddressIdentifier": p.address, "endUserClientId": user, "conversationIdentifier": conversation, "operation": "Pause"})).await, 400, 10102);
        refused(p.call(Method::PATCH, "capabilities", json!({"capabilities": {"appType": "custom", "channelCapabilities": [{"messageTypeCapabilities": [{"messageType": "Nope", "formatTypeCapabilities": [{"formatType": "Text"}]}]}]}})).await, 400, 10047);

        // Unknown paths and methods.
        let got = read(p.req(Method::GET, "nothing-here")).await;
        assert_eq!(got.0, 404, "{got:?}");
        let got = read(p.req(Method::PUT, "interactions")).await;
        assert_eq!(got.0, 405, "{got:?}");
        server.stop().await.expect("stop");
    }
}

// ---- durability ---------------------------------------------------------------------------------

#[tokio::test]
async fn accepted_interactions_survive_a_restart() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let b = backend(&server);
        let sends: Vec<_> = (0..200)
            .map(|i| (format!("durable-user-{}", i % 20), unique("entry")))
            .collect();
        let answers = futures::future::join_all(
            sends
                .iter()
                .map(|(user, entry)| p.interact(user, entry, "keep me")),
        )
        .await;
        for a in &answers {
            assert_eq!(a.0, 202, "{b}: {a:?}");
        }
        let server = server.restart().await.expect("restart");
        let mut total = 0;
        let mut conversations: Vec<String> = answers
            .iter()
            .filter_map(|a| a.1["conversationIdentifier"].as_str().map(str::to_string))
            .collect();
        conversations.sort();
        conversations.dedup();
        assert_eq!(conversations.len(), 20, "{b}");
        for c in &conversations {
            total += server
                .admin()
                .conversation(c)
                .await
                .expect("show")
                .entries
                .len();
        }
        assert_eq!(total, 200, "{b}: every 202 is there after the restart");

        // A retry after the restart is answered like the first time.
        let p = Partner::new(&server).await;
        let (user, entry) = &sends[0];
        assert_eq!(p.interact(user, entry, "keep me").await, answers[0]);
        server.stop().await.expect("stop");
    }
}

/// An end user's file is served by the admin API as a download that no browser renders or
/// sniffs on the login host: `Content-Disposition: attachment` with a safely encoded name,
/// `nosniff`, and a sandboxing CSP — even for an HTML file whose name tries to break the header.
#[tokio::test]
async fn attachments_are_served_as_sandboxed_downloads() {
    let server = TestServer::start().await.expect("server");
    let p = Partner::new(&server).await;
    let user = unique("user");
    let content = b"<script>alert(document.cookie)</script>".to_vec();
    let id = unique("file");
    let form = Form::new()
        .part(
            "json",
            Part::text(attachment_interaction(&p.address, &user, &id, content.len()).to_string()),
        )
        .part(
            "attachments",
            Part::bytes(content.clone())
                .file_name("r\u{e9}sum\u{e9}\";.html")
                .mime_str("text/html")
                .expect("mime"),
        );
    let got = read(p.req(Method::POST, "interactions").multipart(form)).await;
    assert_eq!(got.0, 202, "{got:?}");
    let conversation = got.1["conversationIdentifier"].as_str().expect("id");
    let detail = server
        .admin()
        .conversation(conversation)
        .await
        .expect("show");
    let entry = detail.entries.iter().find(|e| e.id == id).expect("entry");
    let r = reqwest::Client::new()
        .get(format!(
            "{}/admin/v1/attachments/{}",
            server.org().login_url,
            entry.attachments[0].id
        ))
        .bearer_auth(&server.org().admin_token)
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), 200);
    let h = |n: &str| {
        r.headers()
            .get(n)
            .unwrap_or_else(|| panic!("no {n}"))
            .to_str()
            .expect("ASCII")
            .to_string()
    };
    assert_eq!(h("content-type"), "text/html");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("content-security-policy"), "sandbox; default-src 'none'");
    assert_eq!(
        h("content-disposition"),
        "attachment; filename=\"r_sum__;.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%22%3B.html"
    );
    assert_eq!(r.bytes().await.expect("bytes").to_vec(), content);
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn concurrent_agent_work_for_one_user_and_work_item_has_one_winner() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let b = backend(&server);
        let user = unique("user");
        let got = p
            .call(
                Method::POST,
                "conversation",
                json!({"channelAddressIdentifier": p.address,
            "participants": [{"appType": "custom", "subject": user, "role": "EndUser"}]}),
            )
            .await;
        assert_eq!(got.0, 202, "{b}: {got:?}");
        let session = got.1["messagingSessionId"]
            .as_str()
            .expect("session")
            .to_string();
        let work = json!({"userId": "005000000000001", "workItemId": session, "capacityWeight": 1});
        // Eight at once: the "already active" check and the write are one transaction, so
        // exactly one is assigned and the others are told it is active.
        let answers = futures::future::join_all(
            (0..8).map(|_| p.call(Method::POST, "agentWork", work.clone())),
        )
        .await;
        let winners: Vec<&(u16, Value)> = answers.iter().filter(|a| a.0 == 202).collect();
        assert_eq!(winners.len(), 1, "{b}: {answers:?}");
        for a in answers.iter().filter(|a| a.0 != 202) {
            refused(a.clone(), 400, 15109);
        }
        // Only the winner's work was stored.
        let conversation = got.1["conversationIdentifier"].as_str().expect("id");
        let detail = server
            .admin()
            .conversation(conversation)
            .await
            .expect("detail");
        let works = detail
            .records
            .iter()
            .filter(|r| r.kind == "agentWork" && r.key.starts_with("0Bz"))
            .count();
        assert_eq!(works, 1, "{b}: {:?}", detail.records);
        // Closed, the same user can take the work item again.
        let id = winners[0].1["agentWorkId"].as_str().expect("work id");
        let closed = p
            .call(
                Method::PATCH,
                "agentWork",
                json!({"workId": id, "contextType": "Agent", "status": "Close"}),
            )
            .await;
        assert_eq!(closed.0, 202, "{b}: {closed:?}");
        assert_eq!(p.call(Method::POST, "agentWork", work).await.0, 202, "{b}");
        server.stop().await.expect("stop");
    }
}
