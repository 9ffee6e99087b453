#![allow(clippy::disallowed_methods)] // tests and tools read the wall clock
//! The Pub/Sub API end to end, as a partner's stock tooling sees it: a gRPC client generated from
//! the official `pubsub_api.proto` (tonic + prost), TLS trusting byoc's local CA, access tokens
//! from the JWT Bearer flow, payloads decoded and encoded with apache-avro. Every test runs on
//! SQLite and, when reachable, PostgreSQL.

use std::collections::HashMap;
use std::time::Duration;

use apache_avro::types::Value as Avro;
use apache_avro::Schema;
use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_proto::admin::{NewPermissionSet, NewUser, PolicyInput, UpdatePermissionSet};
use byoc_proto::setup::ObjectPermissions;
use byoc_pubsub_proto::v1::pub_sub_client::PubSubClient;
use byoc_pubsub_proto::v1::{
    FetchRequest, FetchResponse, ProducerEvent, PublishRequest, ReplayPreset, SchemaRequest,
    TopicRequest,
};
use byoc_server::pubsub::PubSubConfig;
use byoc_testkit::{Options, TestServer};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Status, Streaming};

pub(crate) const TOPIC: &str = "/event/Byoc_Outbound__e";
const AUTH_ERROR: &str = "sfdc.platform.eventbus.grpc.service.auth.error";
const REPLAY_CORRUPTED: &str = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
const SUBSCRIBE_DENIED: &str = "sfdc.platform.eventbus.grpc.subscription.fetch.authorization.error";
const PUBLISH_DENIED: &str = "sfdc.platform.eventbus.grpc.publish.authorization.error";
const TOPIC_DENIED: &str = "sfdc.platform.eventbus.grpc.topic.authorization.error";
const SCHEMA_DENIED: &str = "sfdc.platform.eventbus.grpc.schema.authorization.error";
const SAMPLE_APP: &str = "BYOC Sample App";

/// Keepalives every 200 ms, so a test knows its subscription is in place (the first keepalive)
/// and sees idle periods quickly.
pub(crate) fn options() -> Options {
    Options {
        pubsub: PubSubConfig {
            keepalive: Duration::from_millis(200),
            ..PubSubConfig::default()
        },
        ..Options::default()
    }
}

async fn servers() -> Vec<TestServer> {
    byoc_testkit::on_every_backend("pubsub suite", options())
        .await
        .expect("servers")
}

fn backend(s: &TestServer) -> &'static str {
    s.backend()
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

/// A real access token from the JWT Bearer flow, with the sample app of `partner.env`.
async fn access_token(server: &TestServer) -> String {
    let env = partner_env(server);
    access_token_for(server, &env["SF_SUBJECT"]).await
}

/// A JWT Bearer access token of the sample app for `username`.
async fn access_token_for(server: &TestServer, username: &str) -> String {
    let env = partner_env(server);
    JwtBearer::new(JwtBearerSettings {
        token_url: env["SF_AUTH_ENDPOINT"].clone(),
        consumer_key: env["SF_CONSUMER_KEY"].clone(),
        username: username.to_string(),
        audience: env["SF_AUDIENCE"].clone(),
        private_key_pem: env["SF_PRIVATE_KEY"].clone(),
    })
    .expect("provider")
    .fetch()
    .await
    .expect("token")
    .access_token
}

/// A partner's Pub/Sub connection: the generated client and its auth metadata.
pub(crate) struct Partner {
    pub(crate) grpc: PubSubClient<Channel>,
    pub(crate) token: String,
    instance_url: String,
    tenant: String,
}

impl Partner {
    pub(crate) async fn new(server: &TestServer) -> Partner {
        let token = access_token(server).await;
        Partner::with_token(server, token).await
    }

    pub(crate) async fn with_token(server: &TestServer, token: String) -> Partner {
        let ca = std::fs::read_to_string(&server.org().ca_cert).expect("ca");
        let channel = Endpoint::from_shared(format!("https://{}", server.org().pubsub_endpoint))
            .expect("endpoint")
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)))
            .expect("tls")
            .connect()
            .await
            .expect("connect over TLS");
        Partner {
            grpc: PubSubClient::new(channel),
            token,
            instance_url: server.org().instance_url.clone(),
            tenant: server.org().org_id.clone(),
        }
    }

    /// `headers` replaces the auth metadata (name, value); an empty value leaves one out.
    fn request_with<T>(&self, message: T, headers: &[(&str, &str)]) -> Request<T> {
        let mut request = Request::new(message);
        let defaults = [
            ("accesstoken", self.token.as_str()),
            ("instanceurl", self.instance_url.as_str()),
            ("tenantid", self.tenant.as_str()),
        ];
        for (name, value) in defaults {
            let value = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .unwrap_or(value);
            if !value.is_empty() {
                request
                    .metadata_mut()
                    .insert(name, value.parse().expect("metadata"));
            }
        }
        request
    }

    pub(crate) fn request<T>(&self, message: T) -> Request<T> {
        self.request_with(message, &[])
    }

    pub(crate) async fn schema(&self) -> (String, Schema) {
        let mut grpc = self.grpc.clone();
        let topic = grpc
            .get_topic(self.request(TopicRequest {
                topic_name: TOPIC.into(),
            }))
            .await
            .expect("GetTopic")
            .into_inner();
        assert!(topic.can_subscribe && topic.can_publish);
        let info = grpc
            .get_schema(self.request(SchemaRequest {
                schema_id: topic.schema_id.clone(),
            }))
            .await
            .expect("GetSchema")
            .into_inner();
        assert_eq!(info.schema_id, topic.schema_id);
        (
            topic.schema_id,
            Schema::parse_str(&info.schema_json).expect("an Avro schema"),
        )
    }

    pub(crate) async fn subscribe(&self, first: FetchRequest) -> Result<Stream, Status> {
        let (tx, rx) = mpsc::channel(16);
        tx.send(first).await.expect("queue");
        let mut grpc = self.grpc.clone();
        let responses = grpc
            .subscribe(self.request(ReceiverStream::new(rx)))
            .await?
            .into_inner();
        Ok(Stream {
            requests: tx,
            responses,
        })
    }

    /// Publish `texts` as events whose payload field holds each text; their replay ids.
    async fn publish(&self, texts: &[&str]) -> Vec<u64> {
        let (schema_id, schema) = self.schema().await;
        let events = texts
            .iter()
            .enumerate()
            .map(|(i, text)| ProducerEvent {
                id: format!("event-{i}"),
                schema_id: schema_id.clone(),
                payload: encode(&schema, text),
                headers: vec![],
            })
            .collect();
        let mut grpc = self.grpc.clone();
        let response = grpc
            .publish(self.request(PublishRequest {
                topic_name: TOPIC.into(),
                events,
                auth_refresh: String::new(),
            }))
            .await
            .expect("Publish")
            .into_inner();
        response
            .results
            .iter()
            .map(|r| {
                assert!(r.error.is_none(), "publish refused: {:?}", r.error);
                replay(&r.replay_id)
            })
            .collect()
    }
}

/// A payload of the topic's schema, written with apache-avro as a single raw datum.
fn encode(schema: &Schema, text: &str) -> Vec<u8> {
    let Schema::Record(record) = schema else {
        panic!("not a record schema")
    };
    let fields = record
        .fields
        .iter()
        .map(|f| {
            let v = match f.name.as_str() {
                "CreatedDate" => Avro::Long(0),
                "CreatedById" => Avro::String("ignored".into()),
                "Payload__c" => Avro::Union(1, Box::new(Avro::String(text.into()))),
                _ => Avro::Union(0, Box::new(Avro::Null)),
            };
            (f.name.clone(), v)
        })
        .collect();
    apache_avro::to_avro_datum(schema, Avro::Record(fields)).expect("encode")
}

/// The record as JSON (unions unwrapped), decoded with apache-avro; the whole payload must be
/// one datum.
fn decode(schema: &Schema, payload: &[u8]) -> Value {
    let mut reader = payload;
    let value = apache_avro::from_avro_datum(schema, &mut reader, None).expect("a raw Avro datum");
    assert!(reader.is_empty(), "bytes after the datum");
    Value::try_from(value).expect("json")
}

fn replay(bytes: &[u8]) -> u64 {
    u64::from_be_bytes(bytes.try_into().expect("replay ids are 8 bytes"))
}

pub(crate) struct Stream {
    requests: mpsc::Sender<FetchRequest>,
    responses: Streaming<FetchResponse>,
}

impl Stream {
    pub(crate) async fn next(&mut self) -> Result<FetchResponse, Status> {
        match tokio::time::timeout(Duration::from_secs(10), self.responses.message()).await {
            Ok(Ok(Some(r))) => Ok(r),
            Ok(Ok(None)) => panic!("the stream ended"),
            Ok(Err(status)) => Err(status),
            Err(_) => panic!("no response within 10 s"),
        }
    }

    /// Wait for a keepalive (the subscription is in place).
    pub(crate) async fn keepalive(&mut self) -> FetchResponse {
        loop {
            let r = self.next().await.expect("response");
            if r.events.is_empty() {
                return r;
            }
        }
    }

    /// Collect events until `n` arrived, checking flow control on every response.
    pub(crate) async fn events(
        &mut self,
        n: usize,
        requested: &mut i32,
    ) -> Vec<(u64, Vec<u8>, String)> {
        let mut out = Vec::new();
        while out.len() < n {
            let r = self.next().await.expect("response");
            assert!(
                r.events.len() as i32 <= *requested,
                "{} events sent, {} requested",
                r.events.len(),
                requested
            );
            *requested -= r.events.len() as i32;
            assert_eq!(r.pending_num_requested, *requested);
            for e in r.events {
                let event = e.event.expect("event");
                out.push((replay(&e.replay_id), event.payload, event.schema_id));
            }
            if let Some(last) = out.last() {
                assert_eq!(replay(&r.latest_replay_id), last.0);
            }
        }
        out
    }

    pub(crate) async fn request(&self, n: i32) {
        self.requests
            .send(FetchRequest {
                num_requested: n,
                ..FetchRequest::default()
            })
            .await
            .expect("send");
    }
}

pub(crate) fn fetch(preset: ReplayPreset, replay_id: Vec<u8>, n: i32) -> FetchRequest {
    FetchRequest {
        topic_name: TOPIC.into(),
        replay_preset: preset as i32,
        replay_id,
        num_requested: n,
        auth_refresh: String::new(),
    }
}

#[track_caller]
fn refused(status: Status, code: Code, error_code: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let trailer = status
        .metadata()
        .get("error-code")
        .and_then(|v| v.to_str().ok());
    assert_eq!(trailer, Some(error_code), "{status:?}");
}

fn text_interaction(to: &str, from: &str, text: &str) -> Value {
    let id = uuid_like();
    json!({
        "to": to,
        "from": from,
        "interactions": [{
            "timestamp": chrono::Utc::now().timestamp_millis(),
            "interactionType": "EntryInteraction",
            "payload": {
                "id": id,
                "entryType": "Message",
                "abstractMessage": {"messageType": "StaticContentMessage", "id": id, "staticContent": {"formatType": "Text", "text": text}}
            }
        }]
    })
}

fn uuid_like() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        (n >> 48) as u32,
        seq & 0xffff,
        n & 0xffff_ffff_ffff
    )
}

/// An end user's message through the Interaction API; the conversation id.
pub(crate) async fn inbound_message(server: &TestServer, token: &str, from: &str) -> String {
    let env = partner_env(server);
    inbound_text(
        server,
        token,
        (
            &env["CHANNEL_ADDRESS_IDENTIFIER"],
            &env["SF_AUTHORIZATION_CONTEXT"],
        ),
        from,
        "hello?",
    )
    .await
}

/// `text` from end user `from` to a channel (its address and CCD); the conversation id.
pub(crate) async fn inbound_text(
    server: &TestServer,
    token: &str,
    (to, ccd): (&str, &str),
    from: &str,
    text: &str,
) -> String {
    let form = Form::new().part(
        "json",
        Part::text(text_interaction(to, from, text).to_string())
            .mime_str("application/json")
            .expect("mime"),
    );
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/interactions", server.org().scrt_url))
        .bearer_auth(token)
        .header("OrgId", &server.org().org_id)
        .header("AuthorizationContext", ccd)
        .header("RequestId", uuid_like())
        .multipart(form)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 202);
    let body: Value = response.json().await.expect("json");
    body["conversationIdentifier"]
        .as_str()
        .expect("conversation id")
        .to_string()
}

#[tokio::test]
async fn an_agent_reply_reaches_a_subscriber_that_started_before_it() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let (_, schema) = p.schema().await;
        let conversation = inbound_message(&server, &p.token, "end-user-1").await;

        let mut stream = p
            .subscribe(fetch(ReplayPreset::Latest, vec![], 10))
            .await
            .expect("subscribe");
        stream.keepalive().await;
        let started = std::time::Instant::now();
        let sent = server
            .admin()
            .agent_reply(&conversation, "Hi, how can I help?")
            .await
            .expect("agent reply");
        let mut requested = 10;
        let got = stream.events(1, &mut requested).await;
        let latency = started.elapsed();
        assert!(
            latency < Duration::from_secs(2),
            "{}: delivered after {latency:?}",
            backend(&server)
        );
        assert_eq!(got[0].0, sent.replay_id);

        let record = decode(&schema, &got[0].1);
        assert_eq!(record["EventType__c"], "Interaction");
        assert_eq!(
            record["ChannelAddressIdentifier__c"],
            partner_env(&server)["CHANNEL_ADDRESS_IDENTIFIER"]
        );
        assert!(record["CreatedById"]
            .as_str()
            .is_some_and(|s| s.starts_with("005") && s.len() == 18));
        assert!(record["CreatedDate"].as_i64().is_some_and(|t| t > 0));
        let recipient: Value =
            serde_json::from_str(record["Recipient__c"].as_str().expect("recipient"))
                .expect("json");
        assert_eq!(
            recipient,
            json!({"appType": "custom", "subject": "end-user-1", "role": "EndUser"})
        );
        let event: Value =
            serde_json::from_str(record["Payload__c"].as_str().expect("payload")).expect("json");
        assert_eq!(event["conversationIdentifier"], conversation);
        assert_eq!(event["recipient"], recipient);
        assert_eq!(event["payload"]["entryType"], "Message");
        assert_eq!(event["payload"]["sender"]["role"], "Agent");
        assert_eq!(event["payload"]["sender"]["appType"], "agent");
        assert_eq!(
            event["payload"]["entryPayload"]["abstractMessage"]["staticContent"]["text"],
            "Hi, how can I help?"
        );
        assert_eq!(event["payload"]["identifier"], sent.entry_identifier);

        // The reply is an entry of the conversation too.
        let detail = server
            .admin()
            .conversation(&conversation)
            .await
            .expect("conversation");
        assert!(detail
            .entries
            .iter()
            .any(|e| e.id == sent.entry_identifier
                && e.text.as_deref() == Some("Hi, how can I help?")));

        // An unknown conversation is refused.
        let missing = server
            .admin()
            .agent_reply("no-such-conversation", "hi")
            .await
            .expect_err("unknown");
        assert_eq!(missing.status(), Some(404));
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn replay_after_a_restart_returns_what_was_stored_in_order() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let ids = p.publish(&["one", "two", "three", "four", "five"]).await;
        assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
        let first = ids[0];
        drop(p);
        let server = server.restart().await.expect("restart");
        let p = Partner::new(&server).await;
        let (_, schema) = p.schema().await;
        let text = |payload: &[u8]| {
            decode(&schema, payload)["Payload__c"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };

        let mut requested = 100;
        let mut earliest = p
            .subscribe(fetch(ReplayPreset::Earliest, vec![], 100))
            .await
            .expect("subscribe");
        let all = earliest.events(5, &mut requested).await;
        assert_eq!(all.iter().map(|e| e.0).collect::<Vec<_>>(), ids);
        assert_eq!(
            all.iter().map(|e| text(&e.1)).collect::<Vec<_>>(),
            ["one", "two", "three", "four", "five"]
        );

        // CUSTOM resumes after the given id.
        let mut requested = 100;
        let mut custom = p
            .subscribe(fetch(
                ReplayPreset::Custom,
                (first + 1).to_be_bytes().to_vec(),
                100,
            ))
            .await
            .expect("subscribe");
        let rest = custom.events(3, &mut requested).await;
        assert_eq!(
            rest.iter().map(|e| text(&e.1)).collect::<Vec<_>>(),
            ["three", "four", "five"]
        );

        // New events reach both.
        let new = p.publish(&["six"]).await;
        let mut requested = 95;
        assert_eq!(earliest.events(1, &mut requested).await[0].0, new[0]);

        // Corrupt and future replay ids.
        for bad in [vec![1, 2, 3], (new[0] + 10).to_be_bytes().to_vec()] {
            let mut s = p
                .subscribe(fetch(ReplayPreset::Custom, bad, 1))
                .await
                .expect("subscribe");
            refused(
                s.next().await.expect_err("refused"),
                Code::InvalidArgument,
                REPLAY_CORRUPTED,
            );
        }
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn flow_control_never_sends_more_than_requested() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let ids = p
            .publish(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
            .await;
        let mut stream = p
            .subscribe(fetch(ReplayPreset::Earliest, vec![], 3))
            .await
            .expect("subscribe");
        let mut requested = 3;
        let got = stream.events(3, &mut requested).await;
        assert_eq!(got.iter().map(|e| e.0).collect::<Vec<_>>(), ids[..3]);
        // Nothing more flows while nothing is requested: only keepalives, at the position reached.
        for _ in 0..2 {
            let k = stream.next().await.expect("keepalive");
            assert!(
                k.events.is_empty(),
                "{}: events sent without a request",
                backend(&server)
            );
            assert_eq!(k.pending_num_requested, 0);
            assert_eq!(replay(&k.latest_replay_id), ids[2]);
        }
        stream.request(4).await;
        let mut requested = 4;
        let got = stream.events(4, &mut requested).await;
        assert_eq!(got.iter().map(|e| e.0).collect::<Vec<_>>(), ids[3..7]);
        // Requests add up to at most 100 pending.
        stream.request(1000).await;
        let r = stream.next().await.expect("response");
        assert_eq!(r.events.len(), 3);
        assert_eq!(r.pending_num_requested, 97);
        // A later request naming another topic ends the stream.
        stream
            .requests
            .send(FetchRequest {
                topic_name: "/event/Other__e".into(),
                num_requested: 1,
                ..FetchRequest::default()
            })
            .await
            .expect("send");
        loop {
            match stream.next().await {
                Ok(_) => continue,
                Err(status) => {
                    refused(
                        status,
                        Code::InvalidArgument,
                        "sfdc.platform.eventbus.grpc.subscription.fetch.topic.change",
                    );
                    break;
                }
            }
        }
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn auth_failures_carry_the_salesforce_trailer() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let forged = format!("{}!forged", server.org().org_id);
        let cases: [&[(&str, &str)]; 5] = [
            &[("accesstoken", "")],
            &[("accesstoken", forged.as_str())],
            &[("instanceurl", "")],
            &[("tenantid", "")],
            &[("tenantid", "00D000000000001")],
        ];
        for headers in cases {
            let mut grpc = p.grpc.clone();
            let status = grpc
                .get_topic(p.request_with(
                    TopicRequest {
                        topic_name: TOPIC.into(),
                    },
                    headers,
                ))
                .await
                .expect_err("refused");
            refused(status, Code::Unauthenticated, AUTH_ERROR);
            let (_tx, rx) = mpsc::channel::<FetchRequest>(1);
            let status = grpc
                .subscribe(p.request_with(ReceiverStream::new(rx), headers))
                .await
                .expect_err("refused");
            refused(status, Code::Unauthenticated, AUTH_ERROR);
        }
        // The 18-character org id is accepted as tenantid, and the admin credential works as a
        // session id.
        let mut grpc = p.grpc.clone();
        grpc.get_topic(p.request_with(
            TopicRequest {
                topic_name: TOPIC.into(),
            },
            &[("tenantid", &server.org().org_id_18)],
        ))
        .await
        .expect("18-char tenant");
        let admin = Partner::with_token(&server, server.org().admin_token.clone()).await;
        admin.schema().await;

        // Unknown topics and schemas.
        let status = grpc
            .get_topic(p.request(TopicRequest {
                topic_name: "/event/Nope__e".into(),
            }))
            .await
            .expect_err("unknown");
        assert_eq!(status.code(), Code::NotFound);
        let status = grpc
            .get_schema(p.request(SchemaRequest {
                schema_id: "nope".into(),
            }))
            .await
            .expect_err("unknown");
        assert_eq!(status.code(), Code::NotFound);
        // A payload that is not a datum of the schema is refused per event.
        let (schema_id, avro_schema) = p.schema().await;
        let bad = ProducerEvent {
            id: "bad".into(),
            schema_id: schema_id.clone(),
            payload: vec![0xff, 0xff, 0xff],
            headers: vec![],
        };
        let response = grpc
            .publish(p.request(PublishRequest {
                topic_name: TOPIC.into(),
                events: vec![bad],
                auth_refresh: String::new(),
            }))
            .await
            .expect("publish")
            .into_inner();
        assert!(response.results[0].error.is_some());
        assert!(response.results[0].replay_id.is_empty());
        // Payloads of a few bytes that claim a 2^60-byte or a 256 MiB CreatedById string: each
        // gets its own error result (the Avro allocation cap), the server allocates nothing for
        // them, and a good event in the same request is still published.
        let claims = |claimed: u64| {
            let mut payload = vec![0u8]; // CreatedDate: long 0
            let mut n = claimed << 1; // zig-zag of a positive length
            while n >= 0x80 {
                payload.push((n as u8) | 0x80);
                n >>= 7;
            }
            payload.push(n as u8);
            payload.extend_from_slice(b"005");
            payload
        };
        let good = encode(&avro_schema, "after the hostile ones");
        let events = vec![
            ProducerEvent {
                id: "huge".into(),
                schema_id: schema_id.clone(),
                payload: claims(1 << 60),
                headers: vec![],
            },
            ProducerEvent {
                id: "large".into(),
                schema_id: schema_id.clone(),
                payload: claims(256 << 20),
                headers: vec![],
            },
            ProducerEvent {
                id: "good".into(),
                schema_id: schema_id.clone(),
                payload: good,
                headers: vec![],
            },
        ];
        let response = grpc
            .publish(p.request(PublishRequest {
                topic_name: TOPIC.into(),
                events,
                auth_refresh: String::new(),
            }))
            .await
            .expect("publish")
            .into_inner();
        assert_eq!(response.results.len(), 3);
        assert!(response.results[0].error.is_some());
        assert!(response.results[1].error.is_some());
        assert!(
            response.results[2].error.is_none(),
            "{:?}",
            response.results[2]
        );
        assert!(!response.results[2].replay_id.is_empty());
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn the_sdk_subscriber_decodes_events() {
    use byoc_client::pubsub::{PubSubSettings, Replay, StaticToken, Subscriber};
    let server = TestServer::start_with(options()).await.expect("server");
    let p = Partner::new(&server).await;
    p.publish(&["via the SDK"]).await;
    let settings = PubSubSettings {
        endpoint: server.org().pubsub_endpoint.clone(),
        ca_cert_pem: Some(std::fs::read_to_string(&server.org().ca_cert).expect("ca")),
        instance_url: server.org().instance_url.clone(),
        tenant_id: server.org().org_id.clone(),
    };
    let subscriber =
        Subscriber::connect(settings, std::sync::Arc::new(StaticToken(p.token.clone())))
            .await
            .expect("connect");
    let mut subscription = subscriber.subscribe(TOPIC, Replay::Earliest, 10);
    let event = subscription
        .next_event()
        .await
        .expect("event")
        .expect("some");
    assert_eq!(event.fields["Payload__c"], "via the SDK");
    assert_eq!(event.topic, TOPIC);
    server.stop().await.expect("stop");
}

/// The event's record and its payload field parsed as JSON.
fn event_json(schema: &Schema, payload: &[u8]) -> (Value, Value) {
    let record = decode(schema, payload);
    let event =
        serde_json::from_str(record["Payload__c"].as_str().expect("payload")).expect("json");
    (record, event)
}

fn with_echo_agent(delay: Duration) -> Options {
    let mut o = options();
    o.pubsub.echo_agent = Some(byoc_server::pubsub::echo::EchoAgentConfig { delay });
    o
}

#[tokio::test]
async fn the_echo_agent_answers_an_inbound_message_on_the_subscribe_stream() {
    let mut servers = vec![
        TestServer::start_with(with_echo_agent(Duration::from_millis(50)))
            .await
            .expect("sqlite server"),
    ];
    if let Some(url) = byoc_store::testing::postgres_url("pubsub echo agent").await {
        servers.push(
            TestServer::start_with(Options {
                database_url: Some(url),
                ..with_echo_agent(Duration::from_millis(50))
            })
            .await
            .expect("postgres server"),
        );
    }
    for server in servers {
        let p = Partner::new(&server).await;
        let (_, schema) = p.schema().await;
        let mut stream = p
            .subscribe(fetch(ReplayPreset::Latest, vec![], 10))
            .await
            .expect("subscribe");
        stream.keepalive().await;
        let env = partner_env(&server);
        let to = (
            env["CHANNEL_ADDRESS_IDENTIFIER"].as_str(),
            env["SF_AUTHORIZATION_CONTEXT"].as_str(),
        );
        let conversation = inbound_text(&server, &p.token, to, "echo-user", "ping 1").await;
        inbound_text(&server, &p.token, to, "echo-user", "ping 2").await;

        let mut requested = 10;
        let got = stream.events(2, &mut requested).await;
        for ((_, payload, _), expected) in got.iter().zip(["echo: ping 1", "echo: ping 2"]) {
            let (record, event) = event_json(&schema, payload);
            assert_eq!(
                record["EventType__c"],
                "Interaction",
                "{}",
                backend(&server)
            );
            assert_eq!(event["conversationIdentifier"], conversation);
            assert_eq!(event["recipient"]["subject"], "echo-user");
            assert_eq!(event["payload"]["sender"]["role"], "Agent");
            assert_eq!(
                event["payload"]["entryPayload"]["abstractMessage"]["staticContent"]["text"],
                expected
            );
        }
        // The answers are entries of the conversation, like `byoc agent reply`'s; a retried
        // interaction (same entry id) is not answered twice.
        let detail = server
            .admin()
            .conversation(&conversation)
            .await
            .expect("conversation");
        let echoes = detail
            .entries
            .iter()
            .filter(|e| {
                e.source == "agent" && e.text.as_deref().is_some_and(|t| t.starts_with("echo: "))
            })
            .count();
        assert_eq!(echoes, 2);
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn an_agent_reply_with_an_attachment_carries_its_url() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let (_, schema) = p.schema().await;
        let conversation = inbound_message(&server, &p.token, "file-user").await;
        let mut stream = p
            .subscribe(fetch(ReplayPreset::Latest, vec![], 10))
            .await
            .expect("subscribe");
        stream.keepalive().await;
        let bytes = b"%PDF-1.4 not really".to_vec();
        let sent = server
            .admin()
            .agent_reply_with_attachment(
                &conversation,
                "Your invoice",
                "invoice.pdf",
                "application/pdf",
                &bytes,
            )
            .await
            .expect("reply with a file");
        let mut requested = 10;
        let got = stream.events(1, &mut requested).await;
        let (_, event) = event_json(&schema, &got[0].1);
        let content = &event["payload"]["entryPayload"]["abstractMessage"]["staticContent"];
        assert_eq!(content["formatType"], "Attachments", "{}", backend(&server));
        assert_eq!(content["text"], "Your invoice");
        let file = &content["attachments"][0];
        assert_eq!(file["name"], "invoice.pdf");
        assert_eq!(file["mimeType"], "application/pdf");
        assert_eq!(file["id"].as_str(), sent.attachment_id.as_deref());
        // The spec's Attachment allows no other properties.
        let mut keys: Vec<&str> = file
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(keys, ["id", "mimeType", "name", "url"]);
        // The partner downloads the file with its access token.
        let url = file["url"].as_str().expect("url");
        assert!(url.starts_with(&server.org().instance_url), "{url}");
        let download = reqwest::Client::new()
            .get(url)
            .bearer_auth(&p.token)
            .send()
            .await
            .expect("download");
        assert_eq!(download.status().as_u16(), 200);
        assert_eq!(download.bytes().await.expect("bytes").to_vec(), bytes);

        // A file alone is a reply too; neither text nor file is refused, as is bad base64.
        server
            .admin()
            .agent_reply_with_attachment(&conversation, "", "a.txt", "text/plain", b"hi")
            .await
            .expect("file only");
        let empty = server
            .admin()
            .agent_reply(&conversation, " ")
            .await
            .expect_err("empty");
        assert_eq!(empty.status(), Some(400));
        let bad = server
            .admin()
            .agent_send(
                &conversation,
                &byoc_proto::outbound::AgentReply {
                    text: "x".into(),
                    attachment: Some(byoc_proto::outbound::AgentAttachment {
                        name: "../x".into(),
                        mime_type: "text/plain".into(),
                        content_base64: "aGk=".into(),
                    }),
                },
            )
            .await
            .expect_err("a path as file name");
        assert_eq!(bad.status(), Some(400));
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn ending_a_conversation_publishes_session_status_changed() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let (_, schema) = p.schema().await;
        let conversation = inbound_message(&server, &p.token, "ending-user").await;
        let mut stream = p
            .subscribe(fetch(ReplayPreset::Latest, vec![], 10))
            .await
            .expect("subscribe");
        stream.keepalive().await;
        let ended = server.admin().agent_end(&conversation).await.expect("end");
        let mut requested = 10;
        let got = stream.events(1, &mut requested).await;
        assert_eq!(got[0].0, ended.replay_id);
        let (record, event) = event_json(&schema, &got[0].1);
        assert_eq!(
            record["EventType__c"],
            "Interaction",
            "{}",
            backend(&server)
        );
        assert_eq!(event["conversationIdentifier"], conversation);
        assert_eq!(event["recipient"]["role"], "EndUser");
        let entry = &event["payload"];
        assert_eq!(entry["entryType"], "SessionStatusChanged");
        assert_eq!(entry["sender"]["role"], "Agent");
        let changed = &entry["entryPayload"];
        assert_eq!(changed["entryType"], "SessionStatusChanged");
        assert_eq!(changed["id"], ended.entry_identifier);
        assert_eq!(changed["sessionId"], ended.messaging_session_id);
        assert_eq!(changed["sessionStatus"], "Ended");
        assert_eq!(changed["sessionStatusPrev"], "Active");
        assert_eq!(changed["sessionEndedByRole"], "Agent");
        assert_eq!(changed["conversationIdentifier"], conversation);
        assert!(changed["sessionStartTime"].as_i64().is_some());
        assert!(changed["sessionEndTime"].as_i64().is_some());

        let detail = server
            .admin()
            .conversation(&conversation)
            .await
            .expect("conversation");
        let session = detail
            .sessions
            .iter()
            .find(|s| s.id == ended.messaging_session_id)
            .expect("session");
        assert_eq!(session.status, "Ended");
        // Nothing left to end; the end user writing again opens a new session.
        let again = server
            .admin()
            .agent_end(&conversation)
            .await
            .expect_err("ended");
        assert_eq!(again.status(), Some(400));
        inbound_message(&server, &p.token, "ending-user").await;
        let reopened = server
            .admin()
            .agent_end(&conversation)
            .await
            .expect("new session");
        assert_ne!(reopened.messaging_session_id, ended.messaging_session_id);
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn routing_requests_are_published_for_partner_routed_channels_only() {
    for server in servers().await {
        let p = Partner::new(&server).await;
        let (_, schema) = p.schema().await;
        let admin = server.admin();
        let request = byoc_proto::outbound::RoutingRequest {
            routing_type: Some("transfer".into()),
            queue_id: Some("00G000000000001".into()),
            ..Default::default()
        };
        // The sample channel is BYOC Messaging, routed by Salesforce.
        let sample = inbound_message(&server, &p.token, "routed-user").await;
        let refused = admin
            .agent_request_routing(&sample, &request)
            .await
            .expect_err("Salesforce routes it");
        assert_eq!(refused.status(), Some(400));

        // A BYOC CCaaS channel is partner-routed by default.
        let created = admin
            .create_channel(&byoc_proto::admin::NewChannel {
                name: "Partner Routed".into(),
                channel_type: "byoc-ccaas".into(),
                channel_address_identifier: "partner-routed-address".into(),
                app_managed_by: None,
                routing_owner: None,
                consent_owner: None,
                conversation_channel_definition: None,
            })
            .await
            .expect("channel");
        let ccd = created
            .record
            .conversation_channel_definition
            .expect("a CCD")
            .developer_name;
        admin
            .link_conversation_channel_definition_app(
                &ccd,
                &byoc_proto::admin::LinkApp {
                    app: "BYOC Sample App".into(),
                },
            )
            .await
            .expect("link");
        let conversation = inbound_text(
            &server,
            &p.token,
            ("partner-routed-address", &ccd),
            "routed-user",
            "I need help",
        )
        .await;
        let mut stream = p
            .subscribe(fetch(ReplayPreset::Latest, vec![], 10))
            .await
            .expect("subscribe");
        stream.keepalive().await;
        let agent = admin.whoami().await.expect("whoami");
        let sent = admin
            .agent_request_routing(
                &conversation,
                &byoc_proto::outbound::RoutingRequest {
                    routing_type: Some("Transfer".into()),
                    user: Some(agent.username.clone()),
                    ..Default::default()
                },
            )
            .await
            .expect("routing request");
        let mut requested = 10;
        let got = stream.events(1, &mut requested).await;
        assert_eq!(got[0].0, sent.replay_id);
        let (record, event) = event_json(&schema, &got[0].1);
        assert_eq!(
            record["EventType__c"],
            "RoutingRequested",
            "{}",
            backend(&server)
        );
        assert_eq!(
            record["ChannelAddressIdentifier__c"],
            "partner-routed-address"
        );
        assert_eq!(event["channelAddressIdentifier"], "partner-routed-address");
        assert_eq!(
            event["recipient"],
            json!({"appType": "custom", "subject": "routed-user", "role": "EndUser"})
        );
        let payload = &event["payload"];
        assert_eq!(payload["conversationIdentifier"], conversation);
        assert_eq!(payload["routingType"], "Transfer");
        let user_id = payload["routingParameters"]["userId"]
            .as_str()
            .expect("userId");
        assert!(
            user_id.starts_with("005") && user_id.len() == 18,
            "{user_id}"
        );
        assert_eq!(payload["routingParameters"]["isTransfer"], true);
        let detail = admin
            .conversation(&conversation)
            .await
            .expect("conversation");
        assert_eq!(
            Some(payload["workRecordId"].as_str().expect("work record")),
            detail.sessions.first().map(|s| s.id.as_str())
        );

        // A transfer needs a destination; unknown users and routing types are refused.
        for bad in [
            byoc_proto::outbound::RoutingRequest::default(),
            byoc_proto::outbound::RoutingRequest {
                user: Some("nobody@example.com".into()),
                ..Default::default()
            },
            byoc_proto::outbound::RoutingRequest {
                routing_type: Some("Sideways".into()),
                queue_id: Some("q".into()),
                ..Default::default()
            },
        ] {
            let e = admin
                .agent_request_routing(&conversation, &bad)
                .await
                .expect_err("refused");
            assert!(matches!(e.status(), Some(400 | 404)), "{bad:?}: {e:?}");
        }
        server.stop().await.expect("stop");
    }
}

fn outbound_access(read: bool, create: bool) -> UpdatePermissionSet {
    UpdatePermissionSet {
        object_permissions: Some(vec![ObjectPermissions {
            object: "Byoc_Outbound__e".into(),
            allow_read: read,
            allow_create: create,
        }]),
        ..UpdatePermissionSet::default()
    }
}

#[tokio::test]
async fn object_permissions_decide_who_may_subscribe_and_publish() {
    for server in servers().await {
        let admin = server.admin();
        // A Standard User approved for the sample app through a permission set that grants no
        // object permissions yet.
        admin
            .create_permission_set(&NewPermissionSet {
                name: "Outbound_Access".into(),
                label: None,
                permissions: vec![],
                object_permissions: vec![],
            })
            .await
            .expect("permission set");
        admin
            .create_user(&NewUser {
                username: "listener@partner.example".into(),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec!["Outbound_Access".into()],
                is_active: true,
            })
            .await
            .expect("user");
        admin
            .update_external_client_app_policies(
                SAMPLE_APP,
                &PolicyInput {
                    permission_sets: Some(vec!["Outbound_Access".into()]),
                    ..PolicyInput::default()
                },
            )
            .await
            .expect("policies");
        let token = access_token_for(&server, "listener@partner.example").await;
        let user = Partner::with_token(&server, token).await;
        let sysadmin = Partner::new(&server).await;
        let (schema_id, schema) = sysadmin.schema().await;
        let mut grpc = user.grpc.clone();
        let topic_request = || {
            user.request(TopicRequest {
                topic_name: TOPIC.into(),
            })
        };
        let publish_request = |text: &str| {
            user.request(PublishRequest {
                topic_name: TOPIC.into(),
                events: vec![ProducerEvent {
                    id: "std-1".into(),
                    schema_id: schema_id.clone(),
                    payload: encode(&schema, text),
                    headers: vec![],
                }],
                auth_refresh: String::new(),
            })
        };

        // No Read: GetTopic, GetSchema, Subscribe and Publish are refused.
        let status = grpc.get_topic(topic_request()).await.expect_err("no Read");
        assert!(
            status.message().contains("Read") && status.message().contains("rpcId: "),
            "{status:?}"
        );
        refused(status, Code::PermissionDenied, TOPIC_DENIED);
        let status = grpc
            .get_schema(user.request(SchemaRequest {
                schema_id: schema_id.clone(),
            }))
            .await
            .expect_err("no Read");
        refused(status, Code::PermissionDenied, SCHEMA_DENIED);
        let mut stream = user
            .subscribe(fetch(ReplayPreset::Latest, vec![], 10))
            .await
            .expect("the stream opens");
        let status = stream.next().await.expect_err("no Read");
        refused(status, Code::PermissionDenied, SUBSCRIBE_DENIED);
        let status = grpc
            .publish(publish_request("too early"))
            .await
            .expect_err("no Create");
        refused(status, Code::PermissionDenied, PUBLISH_DENIED);

        // Read through the permission set: GetTopic says so, subscribing works, publishing not.
        admin
            .update_permission_set("Outbound_Access", &outbound_access(true, false))
            .await
            .expect("grant Read");
        let topic = grpc
            .get_topic(topic_request())
            .await
            .expect("Read")
            .into_inner();
        assert!(topic.can_subscribe && !topic.can_publish, "{topic:?}");
        grpc.get_schema(user.request(SchemaRequest {
            schema_id: schema_id.clone(),
        }))
        .await
        .expect("GetSchema with Read");
        let mut stream = user
            .subscribe(fetch(ReplayPreset::Latest, vec![], 10))
            .await
            .expect("subscribe");
        stream.keepalive().await;
        let ids = sysadmin.publish(&["for the listener"]).await;
        let mut requested = 10;
        let got = stream.events(1, &mut requested).await;
        assert_eq!(got[0].0, ids[0], "{}", backend(&server));
        assert_eq!(
            decode(&schema, &got[0].1)["Payload__c"],
            json!("for the listener")
        );
        let status = grpc
            .publish(publish_request("still no Create"))
            .await
            .expect_err("no Create");
        refused(status, Code::PermissionDenied, PUBLISH_DENIED);

        // Create: publishing works.
        admin
            .update_permission_set("Outbound_Access", &outbound_access(true, true))
            .await
            .expect("grant Create");
        let response = grpc
            .publish(publish_request("from a Standard User"))
            .await
            .expect("Create")
            .into_inner();
        assert!(response.results[0].error.is_none(), "{response:?}");

        // The audit trail has both changes, old → new, per object.
        let audit = admin.audit(Some(20)).await.expect("audit");
        let changes: Vec<(Option<String>, Option<String>)> = audit
            .iter()
            .filter(|e| e.action == "Changed permission set Outbound_Access")
            .flat_map(|e| e.changes.iter())
            .filter(|c| c.field == "objectPermissions.Byoc_Outbound__e")
            .map(|c| (c.old_value.clone(), c.new_value.clone()))
            .collect();
        assert_eq!(
            changes,
            vec![
                (Some("Read".into()), Some("Read, Create".into())),
                (None, Some("Read".into())),
            ],
            "{audit:#?}"
        );
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn a_token_that_is_not_valid_costs_no_database_query() {
    for server in servers().await {
        // A valid call first, so the Pub/Sub host has read Setup once.
        let admin = Partner::with_token(&server, server.org().admin_token.clone()).await;
        admin.schema().await;
        let store = server.store().expect("running").clone();
        let garbage = Partner::with_token(&server, "not-a-token".into()).await;
        let before = store.setup_reads();
        let tokens = [
            "not-a-token".to_string(),
            format!("{}!{}", server.org().org_id, "A".repeat(96)),
            format!("{}x", server.org().admin_token),
        ];
        for token in &tokens {
            let mut grpc = garbage.grpc.clone();
            let status = grpc
                .get_topic(garbage.request_with(
                    TopicRequest {
                        topic_name: TOPIC.into(),
                    },
                    &[("accesstoken", token)],
                ))
                .await
                .expect_err("refused");
            refused(status, Code::Unauthenticated, AUTH_ERROR);
            let (_tx, rx) = mpsc::channel::<FetchRequest>(1);
            let status = grpc
                .subscribe(garbage.request_with(ReceiverStream::new(rx), &[("accesstoken", token)]))
                .await
                .expect_err("refused");
            refused(status, Code::Unauthenticated, AUTH_ERROR);
        }
        assert_eq!(
            store.setup_reads(),
            before,
            "{}: refusing invalid tokens read setup records",
            backend(&server)
        );
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn agent_actions_with_an_idempotency_key_store_nothing_twice() {
    for server in servers().await {
        let b = backend(&server);
        let p = Partner::new(&server).await;
        let conversation = inbound_message(&server, &p.token, "idempotent-user").await;
        let admin = server.admin();
        let reply = byoc_proto::outbound::AgentReply {
            text: "only once".into(),
            attachment: None,
        };
        let key = uuid_like();
        let first = admin
            .agent_send_keyed(&conversation, &reply, Some(&key))
            .await
            .expect("reply");
        // A retry, and two concurrent ones: the same answer, nothing stored again.
        let retry = admin
            .agent_send_keyed(&conversation, &reply, Some(&key))
            .await
            .expect("retry");
        assert_eq!(retry, first, "{b}");
        let (x, y) = tokio::join!(
            admin.agent_send_keyed(&conversation, &reply, Some(&key)),
            admin.agent_send_keyed(&conversation, &reply, Some(&key)),
        );
        assert_eq!(x.expect("x"), first, "{b}");
        assert_eq!(y.expect("y"), first, "{b}");
        // Two concurrent first attempts with a new key: one is stored, both get its answer.
        let fresh = uuid_like();
        let (x, y) = tokio::join!(
            admin.agent_send_keyed(&conversation, &reply, Some(&fresh)),
            admin.agent_send_keyed(&conversation, &reply, Some(&fresh)),
        );
        let (x, y) = (x.expect("x"), y.expect("y"));
        assert_eq!(x, y, "{b}");
        assert_ne!(x.entry_identifier, first.entry_identifier);
        // No key: a new entry, and replay ids show no event was published for the retries.
        let unkeyed = admin
            .agent_send(&conversation, &reply)
            .await
            .expect("plain");
        assert_eq!(unkeyed.replay_id, x.replay_id + 1, "{b}");
        let detail = admin.conversation(&conversation).await.expect("detail");
        let agent_entries = detail
            .entries
            .iter()
            .filter(|e| e.sender.role.as_deref() == Some("Agent"))
            .count();
        assert_eq!(agent_entries, 3, "{b}: {:?}", detail.entries);

        // End: the retry answers what the first end did (not "no open session").
        let end_key = uuid_like();
        let ended = admin
            .agent_end_keyed(&conversation, Some(&end_key))
            .await
            .expect("end");
        let again = admin
            .agent_end_keyed(&conversation, Some(&end_key))
            .await
            .expect("end retry");
        assert_eq!(again, ended, "{b}");
        // The same key on another action is another key.
        let other = admin
            .agent_send_keyed(&conversation, &reply, Some(&end_key))
            .await
            .expect("reply with the end's key");
        assert_ne!(other.entry_identifier, ended.entry_identifier);

        // A key byoc can't keep is refused in the admin API's shape.
        let http = reqwest::Client::new();
        for bad in ["", "has space", &"k".repeat(256)] {
            let response = http
                .post(format!(
                    "{}/admin/v1/conversations/{conversation}/replies",
                    server.org().login_url
                ))
                .bearer_auth(&server.org().admin_token)
                .header("Idempotency-Key", bad)
                .json(&reply)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status().as_u16(), 400, "{b}: {bad:?}");
            let body: Value = response.json().await.expect("json");
            assert_eq!(body[0]["errorCode"], "FIELD_INTEGRITY_EXCEPTION", "{body}");
        }
        server.stop().await.expect("stop");
    }
}

/// Two instances on one PostgreSQL, subscribers' safety re-read set to two minutes so only the
/// change notices can deliver in time: an agent reply on A reaches a subscriber on B; a
/// permission change on A is in force on B's Pub/Sub checks; and with B's LISTEN connection
/// killed (`pg_terminate_backend`, this test's database only) an event A publishes meanwhile
/// still reaches B's subscriber (the reconnect's resync makes it re-read the log).
#[tokio::test]
async fn events_and_setup_changes_on_one_instance_are_pushed_to_another() {
    let Some(url) = byoc_store::testing::postgres_url("pubsub pushed across instances").await
    else {
        return;
    };
    let slow_poll = || Options {
        database_url: Some(url.clone()),
        pubsub: PubSubConfig {
            keepalive: Duration::from_millis(200),
            poll_interval: Duration::from_secs(120),
            ..PubSubConfig::default()
        },
        ..Options::default()
    };
    let a = TestServer::start_with(slow_poll()).await.unwrap();
    let b = TestServer::start_with(slow_poll()).await.unwrap();

    // An agent reply on A, a subscriber on B (tokens from A: B's data dir has no partner.env,
    // the sample was set up by A, and a token of one instance is good on every other).
    let token_a = access_token(&a).await;
    let on_b = Partner::with_token(&b, token_a.clone()).await;
    let mut stream = on_b
        .subscribe(fetch(ReplayPreset::Latest, vec![], 10))
        .await
        .expect("subscribe on B");
    stream.keepalive().await;
    let conversation = inbound_message(&a, &token_a, "across-instances").await;
    let started = std::time::Instant::now();
    let sent = a
        .admin()
        .agent_reply(&conversation, "from instance A")
        .await
        .expect("agent reply on A");
    let mut requested = 10;
    let got = stream.events(1, &mut requested).await;
    assert_eq!(got[0].0, sent.replay_id);
    eprintln!("agent reply on A → event on B: {:?}", started.elapsed());

    // B's LISTEN connection dies; A publishes while B reconnects; B's subscriber gets it.
    let killed = byoc_store::testing::terminate_listeners(&url)
        .await
        .unwrap();
    assert!(killed >= 2, "A's and B's LISTEN connections: {killed}");
    let on_a = Partner::with_token(&a, token_a.clone()).await;
    let ids = on_a.publish(&["while B was not listening"]).await;
    let got = stream.events(1, &mut requested).await;
    assert_eq!(got[0].0, ids[0]);

    // A permission change on A is in force on B (a user without Read, then with it).
    let admin = a.admin();
    admin
        .create_permission_set(&NewPermissionSet {
            name: "Across_Access".into(),
            label: None,
            permissions: vec![],
            object_permissions: vec![],
        })
        .await
        .expect("permission set");
    admin
        .create_user(&NewUser {
            username: "across@partner.example".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec!["Across_Access".into()],
            is_active: true,
        })
        .await
        .expect("user");
    admin
        .update_external_client_app_policies(
            SAMPLE_APP,
            &PolicyInput {
                permission_sets: Some(vec!["Across_Access".into()]),
                ..PolicyInput::default()
            },
        )
        .await
        .expect("policies");
    let user = Partner::with_token(&b, access_token_for(&a, "across@partner.example").await).await;
    let mut grpc = user.grpc.clone();
    let topic = || {
        user.request(TopicRequest {
            topic_name: TOPIC.into(),
        })
    };
    let status = grpc.get_topic(topic()).await.expect_err("no Read yet");
    refused(status, Code::PermissionDenied, TOPIC_DENIED);
    admin
        .update_permission_set("Across_Access", &outbound_access(true, false))
        .await
        .expect("grant Read on A");
    let started = std::time::Instant::now();
    loop {
        if grpc.get_topic(topic()).await.is_ok() {
            break;
        }
        // Generous: the safety polls are 5 s; a notice takes milliseconds.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "B still refuses Read granted on A"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "permission change on A in force on B: {:?}",
        started.elapsed()
    );
    b.stop().await.unwrap();
    a.stop().await.unwrap();
}
