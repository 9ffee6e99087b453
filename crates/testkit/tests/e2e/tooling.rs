#![allow(clippy::disallowed_methods)] // unique names read the wall clock
//! The Tooling API for Conversation Channel Definitions over real HTTP, as a partner's setup
//! script calls it: create a CCD (flat fields and the `FullName`/`Metadata` form), read, patch,
//! describe, the audit trail, Salesforce's error shapes; then build a BYOC channel on the CCD
//! (admin API `conversationChannelDefinition`), link an ECA, send an interaction with the SDK
//! naming the CCD as `AuthorizationContext`, query it with SOQL, and see its deletion refused
//! while the channel uses it. Every test runs on SQLite and, when reachable, PostgreSQL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use byoc_client::interaction::InteractionClient;
use byoc_client::settings::PartnerSettings;
use byoc_client::token::TokenProvider;
use byoc_proto::admin::{LinkApp, NewChannel, NewUser};
use byoc_testkit::{Options, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const V: &str = "/services/data/v68.0";
const CCDS: &str = "/services/data/v68.0/tooling/sobjects/ConversationChannelDefinition";

async fn servers() -> Vec<TestServer> {
    byoc_testkit::on_every_backend("tooling suite", Options::default())
        .await
        .expect("servers")
}

/// A Tooling API caller with the bootstrap credential (optionally acting as another user).
struct Tooling {
    base: String,
    token: String,
    act_as: Option<String>,
    http: reqwest::Client,
}

impl Tooling {
    fn new(server: &TestServer) -> Tooling {
        Tooling {
            base: server.org().login_url.trim_end_matches('/').to_string(),
            token: server.org().admin_token.clone(),
            act_as: None,
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token));
        if let Some(user) = &self.act_as {
            r = r.header("X-Byoc-As", user);
        }
        if let Some(body) = body {
            r = r
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = r.send().await.expect("send");
        let status = response.status();
        // Every answer to an authenticated caller carries the API usage, as Salesforce's.
        if status != StatusCode::UNAUTHORIZED {
            let limit = response.headers().get("sforce-limit-info");
            assert!(
                limit.is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("api-usage="))),
                "{status} {limit:?}"
            );
        }
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    async fn json(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(method, path, Some(&body.to_string())).await
    }
}

/// A REST error answer: one `{"message","errorCode"}` with this code; its message.
fn error(got: &(StatusCode, Value), status: StatusCode, code: &str) -> String {
    assert_eq!(got.0, status, "{got:?}");
    assert_eq!(got.1[0]["errorCode"], code, "{got:?}");
    got.1[0]["message"].as_str().expect("message").to_string()
}

/// A name no other test uses, valid as a developer name (letters, digits, single underscores).
fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{nanos:x}x{}", N.fetch_add(1, Ordering::Relaxed))
}

fn ccd_body(developer_name: &str) -> Value {
    json!({
        "DeveloperName": developer_name,
        "MasterLabel": "Acme Messaging",
        "CustomPlatformEvent": "Byoc_Outbound__e",
        "CustomEventPayloadField": "Payload__c",
        "CustomEventTypeField": "EventType__c",
        "RoutingOwner": "Salesforce",
        "ConsentOwner": "Salesforce",
        "ConnectedAppType": "Customer",
    })
}

#[tokio::test]
async fn a_ccd_is_created_read_changed_and_deleted_through_the_tooling_api() {
    for server in servers().await {
        let t = Tooling::new(&server);
        let name = unique("Acme");

        // Create: 201 with Salesforce's SaveResult and an 18-character 0Yd id.
        let created = t.json(Method::POST, CCDS, ccd_body(&name)).await;
        assert_eq!(created.0, StatusCode::CREATED, "{created:?}");
        let id = created.1["id"].as_str().expect("id").to_string();
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("0Yd"));
        assert_eq!(
            created.1,
            json!({"id": id, "success": true, "errors": [], "warnings": [], "infos": []})
        );

        // Read by 18 or 15 characters: fields, FullName and Metadata.
        let (status, got) = t.call(Method::GET, &format!("{CCDS}/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["attributes"]["type"], "ConversationChannelDefinition");
        assert_eq!(got["attributes"]["url"], format!("{CCDS}/{id}"));
        assert_eq!(got["Id"], id);
        assert_eq!(got["DeveloperName"], name);
        assert_eq!(got["MasterLabel"], "Acme Messaging");
        assert_eq!(got["CustomPlatformEvent"], "Byoc_Outbound__e");
        assert_eq!(got["ConnectedAppType"], "Customer");
        assert_eq!(got["RoutingOwner"], "Salesforce");
        assert_eq!(got["NamespacePrefix"], Value::Null);
        assert!(got["ConversationVendorInfoId"]
            .as_str()
            .is_some_and(|v| v.starts_with("0mS")));
        assert_eq!(got["FullName"], name);
        assert_eq!(got["Metadata"]["customEventTypeField"], "EventType__c");
        assert_eq!(got["Metadata"]["masterLabel"], "Acme Messaging");
        let by_15 = t
            .call(Method::GET, &format!("{CCDS}/{}", &id[..15]), None)
            .await;
        assert_eq!(by_15.1["Id"], id);

        // Patch: 204, and the change is there.
        let patched = t
            .json(
                Method::PATCH,
                &format!("{CCDS}/{id}"),
                json!({"MasterLabel": "Acme Chat", "ConsentOwner": "Partner"}),
            )
            .await;
        assert_eq!(patched, (StatusCode::NO_CONTENT, Value::Null));
        let (_, got) = t.call(Method::GET, &format!("{CCDS}/{id}"), None).await;
        assert_eq!(got["MasterLabel"], "Acme Chat");
        assert_eq!(got["ConsentOwner"], "Partner");

        // The metadata form a Tooling client sends for metadata types.
        let meta_name = unique("Meta");
        let created = t
            .json(
                Method::POST,
                CCDS,
                json!({
                    "FullName": meta_name,
                    "Metadata": {
                        "masterLabel": "Meta Channel",
                        "customPlatformEvent": "acme__Outbound__e",
                        "customEventPayloadField": "acme__Payload__c",
                        "customEventTypeField": "acme__EventType__c",
                        "routingOwner": "Partner",
                        "consentOwner": "Partner",
                        "connectedAppType": "Partner",
                        "conversationVendorInfo": "acme",
                        "isProtected": false
                    }
                }),
            )
            .await;
        assert_eq!(created.0, StatusCode::CREATED, "{created:?}");
        let meta_id = created.1["id"].as_str().expect("id").to_string();
        let (_, got) = t
            .call(Method::GET, &format!("{CCDS}/{meta_id}"), None)
            .await;
        assert_eq!(got["DeveloperName"], meta_name);
        assert_eq!(got["CustomPlatformEvent"], "acme__Outbound__e");
        assert_eq!(got["RoutingOwner"], "Partner");
        // Fields Salesforce defaults: the app type (Partner) and the sample's address field.
        let defaulted = t
            .json(
                Method::POST,
                CCDS,
                json!({"DeveloperName": unique("Defaults"), "MasterLabel": "D", "CustomPlatformEvent": "E__e", "CustomEventPayloadField": "P__c", "CustomEventTypeField": "T__c"}),
            )
            .await;
        let (_, got) = t
            .call(
                Method::GET,
                &format!("{CCDS}/{}", defaulted.1["id"].as_str().expect("id")),
                None,
            )
            .await;
        assert_eq!(got["ConnectedAppType"], "Partner");
        assert_eq!(got["ConsentOwner"], "Salesforce");
        assert_eq!(
            got["CustomEventChannelAddressIdField"],
            "ChannelAddressIdentifier__c"
        );

        // The audit trail has each change, as the CLI's commands write it.
        let audit = server.admin().audit(Some(20)).await.expect("audit");
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert!(
            actions.contains(&format!("Created Conversation Channel Definition {name}").as_str()),
            "{actions:?}"
        );
        let change = audit
            .iter()
            .find(|a| a.action == format!("Changed Conversation Channel Definition {name}"))
            .expect("change entry");
        assert_eq!(change.section, "Messaging Settings");
        assert!(change
            .changes
            .iter()
            .any(|c| c.field == "masterLabel" && c.new_value.as_deref() == Some("Acme Chat")));

        // Describe, and SOQL on both APIs with the vendor info relationship.
        let (status, describe) = t.call(Method::GET, &format!("{CCDS}/describe"), None).await;
        assert_eq!(status, StatusCode::OK, "{describe}");
        assert_eq!(describe["name"], "ConversationChannelDefinition");
        assert_eq!(describe["keyPrefix"], "0Yd");
        assert_eq!(describe["createable"], true);
        let field = |n: &str| {
            describe["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .find(|f| f["name"] == n)
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(field("RoutingOwner")["type"], "picklist");
        assert_eq!(field("MasterLabel")["createable"], true);
        assert_eq!(
            field("ConversationVendorInfoId")["relationshipName"],
            "ConversationVendorInfo"
        );
        for api in ["query", "tooling/query"] {
            let q = format!(
                "SELECT DeveloperName, ConversationVendorInfo.VendorType FROM ConversationChannelDefinition WHERE DeveloperName = '{name}'"
            );
            let (status, body) = t
                .call(
                    Method::GET,
                    &format!("{V}/{api}?q={}", q.replace(' ', "+")),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{api}: {body}");
            assert_eq!(body["totalSize"], 1, "{api}: {body}");
            assert_eq!(
                body["records"][0]["ConversationVendorInfo"]["VendorType"],
                "BringYourOwnChannel"
            );
        }

        // Delete an unused CCD: 204, then it is gone.
        let gone = t
            .call(Method::DELETE, &format!("{CCDS}/{meta_id}"), None)
            .await;
        assert_eq!(gone, (StatusCode::NO_CONTENT, Value::Null));
        let after = t
            .call(Method::GET, &format!("{CCDS}/{meta_id}"), None)
            .await;
        assert_eq!(
            error(&after, StatusCode::NOT_FOUND, "NOT_FOUND"),
            "The requested resource does not exist"
        );
        let audit = server.admin().audit(Some(5)).await.expect("audit");
        assert!(audit
            .iter()
            .any(|a| a.action == format!("Deleted Conversation Channel Definition {meta_name}")));
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn bad_tooling_requests_get_salesforce_errors() {
    for server in servers().await {
        let t = Tooling::new(&server);
        let name = unique("Errs");

        let mut missing = ccd_body(&name);
        missing
            .as_object_mut()
            .expect("object")
            .remove("MasterLabel");
        let got = t.json(Method::POST, CCDS, missing).await;
        assert_eq!(
            error(&got, StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING"),
            "Required fields are missing: [MasterLabel]"
        );
        assert_eq!(got.1[0]["fields"], json!(["MasterLabel"]));

        let mut bad_event = ccd_body(&name);
        bad_event["CustomPlatformEvent"] = json!("Byoc_Outbound");
        let got = t.json(Method::POST, CCDS, bad_event).await;
        error(&got, StatusCode::BAD_REQUEST, "FIELD_INTEGRITY_EXCEPTION");
        assert_eq!(got.1[0]["fields"], json!(["CustomPlatformEvent"]));
        let mut bad_field = ccd_body(&name);
        bad_field["CustomEventTypeField"] = json!("EventType__e");
        let got = t.json(Method::POST, CCDS, bad_field).await;
        error(&got, StatusCode::BAD_REQUEST, "FIELD_INTEGRITY_EXCEPTION");

        let mut bad_owner = ccd_body(&name);
        bad_owner["RoutingOwner"] = json!("Somebody");
        let got = t.json(Method::POST, CCDS, bad_owner).await;
        error(
            &got,
            StatusCode::BAD_REQUEST,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        );

        let mut unknown = ccd_body(&name);
        unknown["Colour__c"] = json!("red");
        let got = t.json(Method::POST, CCDS, unknown).await;
        assert_eq!(
            error(&got, StatusCode::BAD_REQUEST, "INVALID_FIELD"),
            "No such column 'Colour__c' on sobject of type ConversationChannelDefinition"
        );
        let mut read_only = ccd_body(&name);
        read_only["NamespacePrefix"] = json!("acme");
        let got = t.json(Method::POST, CCDS, read_only).await;
        error(
            &got,
            StatusCode::BAD_REQUEST,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        );

        for body in ["{", "[1]", "{\"MasterLabel\": 5}"] {
            let got = t.call(Method::POST, CCDS, Some(body)).await;
            error(&got, StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR");
        }

        // Nothing of the refused creates was stored; now one is, and its name is taken.
        let created = t.json(Method::POST, CCDS, ccd_body(&name)).await;
        assert_eq!(created.0, StatusCode::CREATED, "{created:?}");
        let id = created.1["id"].as_str().expect("id").to_string();
        let got = t.json(Method::POST, CCDS, ccd_body(&name)).await;
        error(&got, StatusCode::BAD_REQUEST, "DUPLICATE_DEVELOPER_NAME");
        // A channel's CCD name is taken too (the sample channel's).
        let sample = t
            .call(
                Method::GET,
                &format!(
                    "{V}/tooling/query?q=SELECT+DeveloperName+FROM+ConversationChannelDefinition"
                ),
                None,
            )
            .await;
        let taken = sample.1["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["DeveloperName"].as_str().expect("name").to_string())
            .find(|n| *n != name)
            .expect("the sample CCD");
        let got = t.json(Method::POST, CCDS, ccd_body(&taken)).await;
        error(&got, StatusCode::BAD_REQUEST, "DUPLICATE_DEVELOPER_NAME");

        // Patch: clearing a required field, a bad value.
        let got = t
            .json(
                Method::PATCH,
                &format!("{CCDS}/{id}"),
                json!({"MasterLabel": null}),
            )
            .await;
        error(&got, StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING");
        let got = t
            .json(
                Method::PATCH,
                &format!("{CCDS}/{id}"),
                json!({"ConnectedAppType": "Nobody"}),
            )
            .await;
        error(
            &got,
            StatusCode::BAD_REQUEST,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        );

        // Unknown ids, other objects, versions, methods.
        for path in [
            format!("{CCDS}/0Yd000000000000"),
            format!("{CCDS}/not-an-id"),
            format!("{CCDS}/005000000000000AAA"),
            format!("{V}/tooling/sobjects/ApexClass/{id}"),
            format!("/services/data/v12.0/tooling/sobjects/ConversationChannelDefinition/{id}"),
        ] {
            let got = t.call(Method::GET, &path, None).await;
            error(&got, StatusCode::NOT_FOUND, "NOT_FOUND");
        }
        let got = t
            .call(Method::PUT, &format!("{CCDS}/{id}"), Some("{}"))
            .await;
        assert_eq!(
            error(&got, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,PATCH,DELETE"
        );

        // No credential; a user without Manage Messaging Channels.
        let mut anonymous = Tooling::new(&server);
        anonymous.token = String::new();
        let got = anonymous.json(Method::POST, CCDS, ccd_body("X")).await;
        error(&got, StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID");
        let username = format!("{}@example.com", unique("agent").to_lowercase());
        server
            .admin()
            .create_user(&NewUser {
                username: username.clone(),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec![],
                is_active: true,
            })
            .await
            .expect("user");
        let mut agent = Tooling::new(&server);
        agent.act_as = Some(username);
        let got = agent
            .json(Method::POST, CCDS, ccd_body(&unique("No")))
            .await;
        error(
            &got,
            StatusCode::BAD_REQUEST,
            "INSUFFICIENT_ACCESS_OR_READONLY",
        );
        let got = agent
            .json(
                Method::PATCH,
                &format!("{CCDS}/{id}"),
                json!({"MasterLabel": "x"}),
            )
            .await;
        error(
            &got,
            StatusCode::BAD_REQUEST,
            "INSUFFICIENT_ACCESS_OR_READONLY",
        );
        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn a_channel_on_a_tooling_ccd_carries_interactions() {
    for server in servers().await {
        let t = Tooling::new(&server);
        let admin = server.admin();
        let name = unique("Live");
        let created = t.json(Method::POST, CCDS, ccd_body(&name)).await;
        assert_eq!(created.0, StatusCode::CREATED, "{created:?}");
        let id = created.1["id"].as_str().expect("id").to_string();

        // A channel built on the CCD keeps its id and fields.
        let address = unique("tooling-address");
        let channel = admin
            .create_channel(&NewChannel {
                name: unique("Tooling Channel"),
                channel_type: "byoc-messaging".into(),
                channel_address_identifier: address.clone(),
                conversation_channel_definition: Some(name.clone()),
                ..NewChannel::default()
            })
            .await
            .expect("channel")
            .record;
        let ccd = channel.conversation_channel_definition.expect("ccd");
        assert_eq!(ccd.developer_name, name);
        assert_eq!(ccd.id, id[..15]);
        assert_eq!(ccd.master_label, "Acme Messaging");
        // One channel per CCD; an unknown CCD; owners come from the CCD.
        let again = admin
            .create_channel(&NewChannel {
                name: unique("Second"),
                channel_type: "byoc-messaging".into(),
                channel_address_identifier: unique("second-address"),
                conversation_channel_definition: Some(name.clone()),
                ..NewChannel::default()
            })
            .await
            .expect_err("a second channel");
        assert!(again.to_string().contains("already uses"), "{again}");
        let unknown = admin
            .create_channel(&NewChannel {
                name: unique("Third"),
                channel_type: "byoc-messaging".into(),
                channel_address_identifier: unique("third-address"),
                conversation_channel_definition: Some("No_Such_CCD".into()),
                ..NewChannel::default()
            })
            .await
            .expect_err("unknown CCD");
        assert!(unknown.to_string().contains("No_Such_CCD"), "{unknown}");

        // Link the sample's ECA, then the SDK sends an interaction with the CCD as context.
        let settings =
            PartnerSettings::from_env_file(server.data_dir().join("partner.env")).expect("env");
        let sample_app = admin
            .conversation_channel_definition(
                &settings
                    .interaction()
                    .expect("settings")
                    .authorization_context,
            )
            .await
            .expect("sample ccd")
            .linked_app
            .expect("sample app");
        admin
            .link_conversation_channel_definition_app(
                &name,
                &LinkApp {
                    app: sample_app.name,
                },
            )
            .await
            .expect("link");
        let mut interaction = settings.interaction().expect("settings");
        interaction.authorization_context = name.clone();
        let tokens = Arc::new(
            TokenProvider::from_settings(settings.jwt_bearer().expect("jwt")).expect("tokens"),
        );
        let client = InteractionClient::new(interaction, tokens).expect("client");
        let sent = client
            .send_text(&address, &unique("end-user"), "hello through Tooling")
            .await
            .expect("202");
        assert!(!sent.conversation_identifier.is_empty());

        // Reading and changing the used CCD goes on; deleting it is refused, naming the channel.
        let (_, got) = t.call(Method::GET, &format!("{CCDS}/{id}"), None).await;
        assert_eq!(got["DeveloperName"], name);
        let patched = t
            .json(
                Method::PATCH,
                &format!("{CCDS}/{id}"),
                json!({"MasterLabel": "Live Chat"}),
            )
            .await;
        assert_eq!(patched.0, StatusCode::NO_CONTENT, "{patched:?}");
        assert_eq!(
            admin
                .conversation_channel_definition(&name)
                .await
                .expect("ccd")
                .master_label,
            "Live Chat"
        );
        let renamed = t
            .json(
                Method::PATCH,
                &format!("{CCDS}/{id}"),
                json!({"DeveloperName": "Renamed"}),
            )
            .await;
        error(
            &renamed,
            StatusCode::BAD_REQUEST,
            "FIELD_INTEGRITY_EXCEPTION",
        );
        let refused = t.call(Method::DELETE, &format!("{CCDS}/{id}"), None).await;
        let message = error(&refused, StatusCode::BAD_REQUEST, "DELETE_FAILED");
        assert!(message.contains(&channel.name), "{message}");
        // The interaction still goes through after all that.
        client
            .send_text(&address, &unique("end-user"), "still here")
            .await
            .expect("202 again");
        server.stop().await.expect("stop");
    }
}
