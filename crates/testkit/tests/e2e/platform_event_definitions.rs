#![allow(clippy::disallowed_methods)] // unique names read the wall clock
//! Platform event definitions: fields, schemas, GetTopic/GetSchema and outbound events follow them.
//!
//! A partner's own event (`acme__Outbound__e`, a namespace like a package's) with text fields for
//! the CCD and fields of other types, defined through the admin API; a CCD naming it (Tooling
//! API) on a channel linked to the sample app; GetSchema answers the definition's schema (types,
//! order, nullable unions); an agent reply arrives over Pub/Sub and decodes with it; a partner
//! publishes typed values and a subscriber reads them back. Bad names and types are refused with
//! clear errors, and nothing is written. Every test runs on SQLite and, when reachable,
//! PostgreSQL.

use std::sync::atomic::{AtomicU64, Ordering};

use apache_avro::types::Value as Avro;
use apache_avro::Schema;
use byoc_core::events::EventSchema;
use byoc_proto::admin::{CustomFieldInput, LinkApp, NewChannel, NewUser, PlatformEventInput};
use byoc_proto::setup::FieldType;
use byoc_pubsub_proto::v1::{
    FetchRequest, ProducerEvent, PublishRequest, ReplayPreset, SchemaRequest, TopicRequest,
};
use byoc_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::pubsub::{inbound_text, options, Partner};

const CCDS: &str = "/services/data/v68.0/tooling/sobjects/ConversationChannelDefinition";

async fn servers() -> Vec<TestServer> {
    byoc_testkit::on_every_backend("platform event definitions suite", options())
        .await
        .expect("servers")
}

/// A name no other test uses, valid as an API name (letters, digits, single underscores).
fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}{:x}x{}",
        nanos & 0xffff_ffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn field(name: &str, t: FieldType) -> CustomFieldInput {
    CustomFieldInput {
        full_name: Some(name.into()),
        field_type: Some(t),
        ..CustomFieldInput::default()
    }
}

/// A Tooling API call with the bootstrap credential.
async fn tooling(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .request(
            method,
            format!("{}{path}", server.org().login_url.trim_end_matches('/')),
        )
        .bearer_auth(&server.org().admin_token)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = response.status();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn ccd_body(developer_name: &str, event: &str, payload: &str) -> Value {
    json!({
        "DeveloperName": developer_name,
        "MasterLabel": "Acme Messaging",
        "CustomPlatformEvent": event,
        "CustomEventPayloadField": payload,
        "CustomEventTypeField": "acme__Type__c",
        "CustomEventChannelAddressIdField": "acme__Address__c",
        "CustomEventRecipientField": "acme__Recipient__c",
        "RoutingOwner": "Salesforce",
        "ConsentOwner": "Salesforce",
        "ConnectedAppType": "Customer",
    })
}

/// The record as JSON (unions unwrapped); the whole payload must be one datum.
fn decode(schema: &Schema, payload: &[u8]) -> Value {
    let mut reader = payload;
    let value = apache_avro::from_avro_datum(schema, &mut reader, None).expect("a raw Avro datum");
    assert!(reader.is_empty(), "bytes after the datum");
    Value::try_from(value).expect("json")
}

fn fetch(topic: &str, n: i32) -> FetchRequest {
    FetchRequest {
        topic_name: topic.into(),
        replay_preset: ReplayPreset::Latest as i32,
        num_requested: n,
        ..FetchRequest::default()
    }
}

#[tokio::test]
async fn a_custom_event_with_typed_fields_carries_agent_replies_and_published_values() {
    for server in servers().await {
        let admin = server.admin();
        let event = format!("acme__{}__e", unique("Outbound"));
        let topic = format!("/event/{event}");
        // The event with the four text fields a CCD names, then two fields of other types added
        // one at a time (the schema lists them in this order).
        let created = admin
            .create_platform_event(&PlatformEventInput {
                full_name: Some(event.clone()),
                label: Some("Acme Outbound".into()),
                fields: Some(vec![
                    field("acme__Payload__c", FieldType::LongTextArea),
                    CustomFieldInput {
                        length: Some(40),
                        ..field("acme__Type__c", FieldType::Text)
                    },
                    field("acme__Address__c", FieldType::Text),
                    field("acme__Recipient__c", FieldType::LongTextArea),
                ]),
                ..PlatformEventInput::default()
            })
            .await
            .expect("create the event")
            .record;
        assert!(created.id.starts_with("01I"), "{}", created.id);
        admin
            .add_platform_event_field(
                &event,
                &CustomFieldInput {
                    precision: Some(6),
                    scale: Some(2),
                    ..field("acme__Priority__c", FieldType::Number)
                },
            )
            .await
            .expect("number field");
        let definition = admin
            .add_platform_event_field(&event, &field("acme__Urgent__c", FieldType::Checkbox))
            .await
            .expect("checkbox field")
            .record;
        assert_eq!(definition.fields.len(), 6);
        assert_eq!(
            admin
                .platform_event(&event.to_lowercase())
                .await
                .expect("read"),
            definition
        );
        assert!(admin
            .platform_events()
            .await
            .expect("list")
            .iter()
            .any(|e| e.full_name == event));

        // A CCD naming the Number field as its payload is refused; naming text fields works.
        let name = unique("Acme_");
        let wrong = tooling(
            &server,
            Method::POST,
            CCDS,
            ccd_body(&name, &event, "acme__Priority__c"),
        )
        .await;
        assert_eq!(wrong.0, StatusCode::BAD_REQUEST, "{wrong:?}");
        let message = wrong.1[0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("Number") && message.contains("acme__Priority__c"),
            "{wrong:?}"
        );
        let ccd = tooling(
            &server,
            Method::POST,
            CCDS,
            ccd_body(&name, &event, "acme__Payload__c"),
        )
        .await;
        assert_eq!(ccd.0, StatusCode::CREATED, "{ccd:?}");
        let address = unique("acme-address-");
        admin
            .create_channel(&NewChannel {
                name: unique("Acme Channel "),
                channel_type: "byoc-messaging".into(),
                channel_address_identifier: address.clone(),
                conversation_channel_definition: Some(name.clone()),
                ..NewChannel::default()
            })
            .await
            .expect("channel on the CCD");
        admin
            .link_conversation_channel_definition_app(
                &name,
                &LinkApp {
                    app: "BYOC Sample App".into(),
                },
            )
            .await
            .expect("link");

        // GetTopic and GetSchema answer the definition's schema: nullable unions of each type's
        // Avro mapping, in definition order, after CreatedDate and CreatedById.
        let p = Partner::new(&server).await;
        let mut grpc = p.grpc.clone();
        let info = grpc
            .get_topic(p.request(TopicRequest {
                topic_name: topic.clone(),
            }))
            .await
            .expect("GetTopic")
            .into_inner();
        let schema_info = grpc
            .get_schema(p.request(SchemaRequest {
                schema_id: info.schema_id.clone(),
            }))
            .await
            .expect("GetSchema")
            .into_inner();
        let expected = EventSchema::from_definition(&definition).expect("schema");
        assert_eq!(schema_info.schema_json, expected.json());
        assert_eq!(info.schema_id, expected.id());
        let doc: Value = serde_json::from_str(&schema_info.schema_json).expect("json");
        let fields: Vec<(String, Value)> = doc["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap_or("").to_string(),
                    f["type"].clone(),
                )
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                ("CreatedDate".into(), json!("long")),
                ("CreatedById".into(), json!("string")),
                ("acme__Payload__c".into(), json!(["null", "string"])),
                ("acme__Type__c".into(), json!(["null", "string"])),
                ("acme__Address__c".into(), json!(["null", "string"])),
                ("acme__Recipient__c".into(), json!(["null", "string"])),
                ("acme__Priority__c".into(), json!(["null", "double"])),
                ("acme__Urgent__c".into(), json!(["null", "boolean"])),
            ]
        );
        let schema = Schema::parse_str(&schema_info.schema_json).expect("an Avro schema");

        // An end user writes; the agent's reply arrives on the custom event.
        let mut stream = p.subscribe(fetch(&topic, 10)).await.expect("subscribe");
        stream.keepalive().await;
        let conversation =
            inbound_text(&server, &p.token, (&address, &name), "acme-user", "hello").await;
        let sent = admin
            .agent_reply(&conversation, "Hi from Acme")
            .await
            .expect("agent reply");
        let mut requested = 10;
        let got = stream.events(1, &mut requested).await;
        assert_eq!(got[0].0, sent.replay_id);
        assert_eq!(got[0].2, info.schema_id);
        let record = decode(&schema, &got[0].1);
        assert_eq!(record["acme__Type__c"], "Interaction");
        assert_eq!(record["acme__Address__c"], address.as_str());
        assert_eq!(record["acme__Priority__c"], Value::Null);
        assert_eq!(record["acme__Urgent__c"], Value::Null);
        let payload: Value =
            serde_json::from_str(record["acme__Payload__c"].as_str().expect("payload"))
                .expect("json");
        assert_eq!(payload["conversationIdentifier"], conversation);
        assert_eq!(
            payload["payload"]["entryPayload"]["abstractMessage"]["staticContent"]["text"],
            "Hi from Acme"
        );
        assert!(record["CreatedById"]
            .as_str()
            .is_some_and(|s| s.starts_with("005")));

        // A partner publishes typed values with stock apache-avro; the subscriber reads them.
        let Schema::Record(rs) = &schema else {
            panic!("not a record")
        };
        let values = rs
            .fields
            .iter()
            .map(|f| {
                let v = match f.name.as_str() {
                    "CreatedDate" => Avro::Long(0),
                    "CreatedById" => Avro::String("ignored".into()),
                    "acme__Type__c" => Avro::Union(1, Box::new(Avro::String("Custom".into()))),
                    "acme__Priority__c" => Avro::Union(1, Box::new(Avro::Double(12.5))),
                    "acme__Urgent__c" => Avro::Union(1, Box::new(Avro::Boolean(true))),
                    _ => Avro::Union(0, Box::new(Avro::Null)),
                };
                (f.name.clone(), v)
            })
            .collect();
        let payload = apache_avro::to_avro_datum(&schema, Avro::Record(values)).expect("encode");
        let published = grpc
            .publish(p.request(PublishRequest {
                topic_name: topic.clone(),
                events: vec![ProducerEvent {
                    id: "typed-1".into(),
                    schema_id: info.schema_id.clone(),
                    payload,
                    headers: vec![],
                }],
                auth_refresh: String::new(),
            }))
            .await
            .expect("Publish")
            .into_inner();
        assert!(
            published.results[0].error.is_none(),
            "{:?}",
            published.results
        );
        let got = stream.events(1, &mut requested).await;
        let record = decode(&schema, &got[0].1);
        assert_eq!(record["acme__Priority__c"], json!(12.5));
        assert_eq!(record["acme__Urgent__c"], json!(true));
        assert_eq!(record["acme__Type__c"], "Custom");
        assert!(record["CreatedDate"].as_i64().is_some_and(|t| t > 0));

        // The REST API describes the event with its types and publishes JSON values into them.
        let rest = |method: Method, path: String| {
            reqwest::Client::new()
                .request(
                    method,
                    format!(
                        "{}/services/data/v68.0/sobjects/{event}{path}",
                        server.org().login_url.trim_end_matches('/')
                    ),
                )
                .bearer_auth(&server.org().admin_token)
        };
        let describe: Value = rest(Method::GET, "/describe".into())
            .send()
            .await
            .expect("describe")
            .json()
            .await
            .expect("json");
        let rest_type = |name: &str| {
            describe["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .find(|f| f["name"] == name)
                .map(|f| (f["type"].clone(), f["length"].clone()))
                .unwrap_or_else(|| panic!("no {name} in {describe}"))
        };
        assert_eq!(rest_type("acme__Type__c"), (json!("string"), json!(40)));
        assert_eq!(rest_type("acme__Payload__c").0, json!("textarea"));
        assert_eq!(rest_type("acme__Priority__c").0, json!("double"));
        assert_eq!(rest_type("acme__Urgent__c").0, json!("boolean"));
        assert_eq!(describe["label"], "Acme Outbound");
        let response = rest(Method::POST, String::new())
            .json(&json!({"acme__Type__c": "Rest", "acme__Priority__c": 3.25, "acme__Urgent__c": false}))
            .send()
            .await
            .expect("publish over REST");
        assert_eq!(response.status(), StatusCode::CREATED);
        let got = stream.events(1, &mut requested).await;
        let record = decode(&schema, &got[0].1);
        assert_eq!(record["acme__Priority__c"], json!(3.25));
        assert_eq!(record["acme__Urgent__c"], json!(false));
        let response = rest(Method::POST, String::new())
            .json(&json!({"acme__Priority__c": "lots"}))
            .send()
            .await
            .expect("publish over REST");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let text = response.text().await.expect("body");
        assert!(
            text.contains("acme__Priority__c") && text.contains("not a number"),
            "{text}"
        );

        // The schema follows the definition: a new field makes a new schema id.
        admin
            .add_platform_event_field(&event, &field("acme__Sent_At__c", FieldType::DateTime))
            .await
            .expect("date/time field");
        let after = grpc
            .get_topic(p.request(TopicRequest {
                topic_name: topic.clone(),
            }))
            .await
            .expect("GetTopic")
            .into_inner();
        assert_ne!(after.schema_id, info.schema_id);
        let newer = grpc
            .get_schema(p.request(SchemaRequest {
                schema_id: after.schema_id.clone(),
            }))
            .await
            .expect("GetSchema")
            .into_inner();
        assert!(newer
            .schema_json
            .contains(r#"{"default":null,"doc":"Data:DateTime","name":"acme__Sent_At__c","type":["null","long"]}"#), "{}", newer.schema_json);

        // What a CCD names can't go: neither the event nor its fields.
        let gone = admin
            .delete_platform_event_field(&event, "acme__Payload__c")
            .await
            .expect_err("a field the CCD names");
        assert!(gone.to_string().contains(&name), "{gone}");
        let gone = admin
            .delete_platform_event(&event)
            .await
            .expect_err("an event the CCD names");
        assert!(gone.to_string().contains(&name), "{gone}");
        let retyped = admin
            .update_platform_event_field(
                &event,
                "acme__Type__c",
                &CustomFieldInput {
                    field_type: Some(FieldType::Number),
                    ..CustomFieldInput::default()
                },
            )
            .await
            .expect_err("a CCD's text field can't become a number");
        assert!(retyped.to_string().contains("Number"), "{retyped}");
        // A field no CCD names can.
        let shorter = admin
            .delete_platform_event_field(&event, "acme__urgent__c")
            .await
            .expect("delete a field")
            .record;
        assert!(shorter
            .fields
            .iter()
            .all(|f| f.full_name != "acme__Urgent__c"));
        // Every change is in the audit trail.
        let audit = admin.audit(Some(50)).await.expect("audit");
        assert!(audit
            .iter()
            .any(|a| a.action == format!("Created custom object: {event}")));
        assert!(audit
            .iter()
            .any(|a| a.action == format!("Deleted custom field acme__Urgent__c on {event}")));
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn bad_definitions_are_refused_with_clear_errors_and_nothing_written() {
    for server in servers().await {
        let admin = server.admin();
        let before = admin.platform_events().await.expect("list");
        let refusals: Vec<(Value, &str)> = vec![
            (json!({"fullName": "Outbound"}), "must end in __e"),
            (
                json!({"fullName": "Out bound__e"}),
                "can only contain underscores",
            ),
            (json!({"fullName": "Outbound__c"}), "must end in __e"),
            (
                json!({"fullName": format!("{}__e", "A".repeat(41))}),
                "at most 40 characters",
            ),
            (json!({"fullName": "Byoc_Outbound__e"}), "already exists"),
            (
                json!({"fullName": "Good__e", "eventType": "StandardVolume"}),
                "high volume",
            ),
            (
                json!({"fullName": "Good__e", "fields": [{"fullName": "A__c", "type": "Text", "length": 256}]}),
                "from 1 to 255",
            ),
            (
                json!({"fullName": "Good__e", "fields": [{"fullName": "A__c", "type": "Picklist"}]}),
                "Picklist",
            ),
            (
                json!({"fullName": "Good__e", "fields": [{"fullName": "A__c"}]}),
                "type is required",
            ),
            (
                json!({"fullName": "Good__e", "fields": [{"fullName": "A__c", "type": "Text"}, {"fullName": "a__c", "type": "Number"}]}),
                "already has a field named A__c",
            ),
            (
                json!({"fullName": "Good__e", "fields": [{"fullName": "A__c", "type": "Checkbox", "required": true}]}),
                "can't be required",
            ),
        ];
        let client = reqwest::Client::new();
        let url = format!(
            "{}/admin/v1/platform-events",
            server.org().login_url.trim_end_matches('/')
        );
        for (body, expected) in refusals {
            let response = client
                .post(&url)
                .bearer_auth(&server.org().admin_token)
                .json(&body)
                .send()
                .await
                .expect("send");
            let status = response.status();
            let text = response.text().await.expect("body");
            assert!(status.is_client_error(), "{body}: {status} {text}");
            assert!(text.contains(expected), "{body}: {text}");
            let errors: Value = serde_json::from_str(&text).expect("Salesforce REST error JSON");
            assert!(errors[0]["errorCode"].is_string(), "{text}");
        }
        // Unknown events and fields are 404s; nothing was created.
        let missing = admin
            .add_platform_event_field("No_Such__e", &field("A__c", FieldType::Text))
            .await
            .expect_err("unknown event");
        assert_eq!(missing.status(), Some(404), "{missing}");
        let missing = admin
            .delete_platform_event_field("Byoc_Outbound__e", "No_Such__c")
            .await
            .expect_err("unknown field");
        assert_eq!(missing.status(), Some(404), "{missing}");
        assert_eq!(admin.platform_events().await.expect("list"), before);

        // Defining events needs Customize Application.
        let user = format!("{}@example.com", unique("plain"));
        admin
            .create_user(&NewUser {
                username: user.clone(),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec![],
                is_active: true,
            })
            .await
            .expect("user");
        let refused = admin
            .clone()
            .act_as(Some(&user))
            .create_platform_event(&PlatformEventInput {
                full_name: Some("Plain__e".into()),
                ..PlatformEventInput::default()
            })
            .await
            .expect_err("no Customize Application");
        assert!(refused.has_error_code("INSUFFICIENT_ACCESS"), "{refused}");
        assert!(
            refused.to_string().contains("Customize Application"),
            "{refused}"
        );
        server.stop().await.expect("stop");
    }
}

/// The sample org defines `Byoc_Outbound__e`, and its schema is byte for byte the one byoc gave
/// it before events were defined (what the public sample connector and older tests rely on).
#[tokio::test]
async fn the_sample_event_is_defined_and_keeps_its_schema() {
    let server = TestServer::start_with(options()).await.expect("server");
    let admin = server.admin();
    let sample = admin
        .platform_event("Byoc_Outbound__e")
        .await
        .expect("defined");
    let names: Vec<&str> = sample.fields.iter().map(|f| f.full_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ChannelAddressIdentifier__c",
            "EventType__c",
            "Payload__c",
            "Recipient__c"
        ]
    );
    let legacy = EventSchema::new("Byoc_Outbound__e", names.iter().map(|n| n.to_string()))
        .expect("legacy schema");
    let p = Partner::new(&server).await;
    let (schema_id, _) = p.schema().await;
    assert_eq!(schema_id, legacy.id());
    let json = p
        .grpc
        .clone()
        .get_schema(p.request(SchemaRequest { schema_id }))
        .await
        .expect("GetSchema")
        .into_inner()
        .schema_json;
    assert_eq!(json, legacy.json());
    server.stop().await.expect("stop");
}

/// The console's *New Platform Event* and *New Custom Field* forms (Setup > Platform Events):
/// a saved form lands on the event's page with its fields and schema; a refused one shows the
/// admin API's message above the form as typed; without *Customize Application* the forms are
/// refused pages.
#[tokio::test]
async fn the_console_defines_events_and_fields() {
    let server = TestServer::start_with(options()).await.expect("server");
    let mut console = crate::console::Console::admin(&server).await;
    const NEW: &str = "/lightning/setup/EventObjects/new";
    let home = console.get("/lightning/setup/EventObjects/home").await;
    assert!(home.body.contains(NEW), "{}", home.body);

    let saved = console
        .submit(
            NEW,
            NEW,
            &[
                ("label", "Console Outbound"),
                ("api_name", "Console_Outbound"),
                ("description", "made in the console"),
                ("publish_behavior", "PublishImmediately"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let view = "/lightning/setup/EventObjects/Console_Outbound__e/view";
    assert_eq!(saved.location.as_deref(), Some(view));
    let defined = server
        .admin()
        .platform_event("Console_Outbound__e")
        .await
        .expect("defined");
    assert_eq!(defined.label, "Console Outbound");
    assert_eq!(
        defined.publish_behavior,
        byoc_proto::setup::PublishBehavior::PublishImmediately
    );

    let new_field = "/lightning/setup/EventObjects/Console_Outbound__e/fields/new";
    let page = console.get(view).await;
    assert!(page.body.contains(new_field), "{}", page.body);
    let added = console
        .submit(
            new_field,
            new_field,
            &[
                ("type", "Number"),
                ("label", "Amount"),
                ("api_name", "Amount"),
                ("precision", "8"),
                ("scale", "2"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = console.get(view).await;
    assert!(page.body.contains("Amount__c"), "{}", page.body);
    assert!(page.body.contains("Number(8, 2)"), "{}", page.body);
    assert!(page.body.contains("null | double"), "{}", page.body);

    // Refused: the admin API's message, the form as typed, nothing written.
    let refused = console
        .submit(
            new_field,
            new_field,
            &[
                ("type", "Text"),
                ("label", "Too Long"),
                ("api_name", "Too_Long"),
                ("length", "300"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("from 1 to 255"), "{}", refused.body);
    assert!(
        refused.body.contains("value=\"Too_Long\""),
        "{}",
        refused.body
    );
    let refused = console
        .submit(NEW, NEW, &[("label", "Bad"), ("api_name", "Bad Name")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("can only contain underscores"),
        "{}",
        refused.body
    );
    assert_eq!(
        server
            .admin()
            .platform_event("Console_Outbound__e")
            .await
            .expect("still there")
            .fields
            .len(),
        1
    );
    let missing = console
        .get("/lightning/setup/EventObjects/No_Such__e/fields/new")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);

    // A user without Customize Application gets a refused page.
    let user = format!("{}@example.com", unique("viewer"));
    server
        .admin()
        .create_user(&NewUser {
            username: user.clone(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .expect("user");
    server
        .admin()
        .set_password(&user, "Console-Passw0rd!")
        .await
        .expect("password");
    let mut plain = crate::console::Console::new(&server);
    let login = plain
        .post(
            "/",
            &[("username", user.as_str()), ("pw", "Console-Passw0rd!")],
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    let form = plain.get(NEW).await;
    assert_eq!(form.status, StatusCode::FORBIDDEN, "{}", form.body);
    assert!(form.body.contains("Customize Application"), "{}", form.body);
    server.stop().await.expect("stop");
}
