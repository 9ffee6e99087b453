#![allow(clippy::disallowed_methods)] // tests read the wall clock
//! Salesforce's REST API (`/services/data`) over real HTTP, as curl or a stock client calls it:
//! versions and resources, credential refusals, SOQL on every object byoc serves (relationship
//! fields, paging with `nextRecordsUrl`, error shapes), describe global, describe, a record by
//! id, publishing a platform event that a Pub/Sub subscriber receives, and who sees what. Every
//! test runs on SQLite and, when reachable, PostgreSQL.

use std::collections::HashSet;

use apache_avro::types::Value as Avro;
use byoc_proto::admin::{NewPermissionSet, NewUser};
use byoc_pubsub_proto::v1::ReplayPreset;
use byoc_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::pubsub::{fetch, inbound_message, Partner};

const V: &str = "/services/data/v68.0";

async fn servers() -> Vec<TestServer> {
    byoc_testkit::on_every_backend("rest suite", crate::pubsub::options())
        .await
        .expect("servers")
}

/// A caller of the REST API: the bootstrap credential, optionally acting as another user.
struct Rest {
    base: String,
    token: String,
    act_as: Option<String>,
    http: reqwest::Client,
}

impl Rest {
    fn admin(server: &TestServer) -> Rest {
        Rest {
            base: server.org().login_url.trim_end_matches('/').to_string(),
            token: server.org().admin_token.clone(),
            act_as: None,
            http: reqwest::Client::new(),
        }
    }

    fn as_user(server: &TestServer, username: &str) -> Rest {
        Rest {
            act_as: Some(username.to_string()),
            ..Rest::admin(server)
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token));
        if let Some(user) = &self.act_as {
            r = r.header("X-Byoc-As", user);
        }
        r
    }

    async fn send(
        &self,
        r: reqwest::RequestBuilder,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let response = r.send().await.expect("send");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.send(self.request(Method::GET, path)).await;
        (s, b)
    }

    /// `GET /query?q=` (the query URL-encoded by reqwest).
    async fn query(&self, resource: &str, q: &str) -> (StatusCode, Value) {
        let r = self
            .request(Method::GET, &format!("{V}/{resource}"))
            .query(&[("q", q)]);
        let (s, _, b) = self.send(r).await;
        (s, b)
    }

    /// A query that must succeed.
    async fn ok(&self, q: &str) -> Value {
        let (status, body) = self.query("query", q).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        body
    }
}

#[track_caller]
fn error(body: &Value, code: &str) -> String {
    let first = &body[0];
    assert_eq!(first["errorCode"], code, "{body}");
    first["message"].as_str().expect("message").to_string()
}

#[tokio::test]
async fn versions_resources_and_refusals() {
    for server in servers().await {
        let rest = Rest::admin(&server);
        // The version list needs no credential.
        let response = reqwest::get(format!("{}/services/data/", rest.base))
            .await
            .expect("versions");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("sforce-limit-info").is_none());
        let versions: Value = response.json().await.expect("json");
        let list = versions.as_array().expect("a list");
        assert_eq!(list.len(), 38);
        assert_eq!(
            list[0],
            serde_json::json!({"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"})
        );
        assert_eq!(
            list[27],
            serde_json::json!({"label": "Summer '23", "url": "/services/data/v58.0", "version": "58.0"})
        );
        assert_eq!(list[37]["url"], "/services/data/v68.0");

        // Resources, with the usage header, counting up.
        let (status, headers, body) = rest.send(rest.request(Method::GET, &format!("{V}/"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["query"], format!("{V}/query"));
        assert_eq!(body["sobjects"], format!("{V}/sobjects"));
        assert_eq!(body["tooling"], format!("{V}/tooling"));
        let usage = |h: &reqwest::header::HeaderMap| -> u64 {
            let v = h["sforce-limit-info"].to_str().expect("ascii");
            let n = v
                .strip_prefix("api-usage=")
                .and_then(|v| v.strip_suffix("/15000"))
                .unwrap_or_else(|| panic!("{v}"));
            n.parse().expect("a number")
        };
        let first = usage(&headers);
        let (_, headers, _) = rest.send(rest.request(Method::GET, V)).await;
        assert!(usage(&headers) > first);
        let (status, body) = rest.get(&format!("{V}/limits")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["DailyApiRequests"]["Max"], 15000);

        // No credential, a wrong one, a token without api/full.
        let anonymous = reqwest::get(format!("{}{V}/sobjects", rest.base))
            .await
            .expect("send");
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let body: Value = anonymous.json().await.expect("json");
        assert_eq!(
            error(&body, "INVALID_SESSION_ID"),
            "Session expired or invalid"
        );
        let wrong = Rest {
            token: format!("{}!bogus", server.org().org_id),
            ..Rest::admin(&server)
        };
        let (status, body) = wrong.get(&format!("{V}/query?q=SELECT+Id+FROM+User")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        error(&body, "INVALID_SESSION_ID");

        // Unknown version, unknown path, wrong method.
        for path in [
            "/services/data/v12.0/sobjects",
            "/services/data/68.0/",
            "/services/data/v68.0/nothing-here",
            "/services/data/v68.0/sobjects/User/describe/extra",
        ] {
            let (status, body) = rest.get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
            assert_eq!(
                error(&body, "NOT_FOUND"),
                "The requested resource does not exist"
            );
        }
        let (status, _, body) = rest
            .send(rest.request(Method::DELETE, &format!("{V}/sobjects")))
            .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            error(&body, "METHOD_NOT_ALLOWED"),
            "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD"
        );
        let (status, _, body) = rest
            .send(rest.request(Method::POST, &format!("{V}/query")))
            .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    }
}

#[tokio::test]
async fn every_object_answers_a_query_with_18_character_ids() {
    for server in servers().await {
        let rest = Rest::admin(&server);
        let partner = Partner::new(&server).await;
        inbound_message(&server, &partner.token, "rest-end-user").await;
        for (object, at_least) in [
            ("Organization", 1),
            ("User", 1),
            ("Profile", 2),
            ("PermissionSet", 0),
            ("PermissionSetAssignment", 0),
            ("ObjectPermissions", 0),
            ("ConnectedApplication", 0),
            ("ExternalClientApplication", 1),
            ("MessagingChannel", 1),
            ("ContactCenterChannel", 0),
            ("MessagingEndUser", 1),
            ("MessagingSession", 1),
            ("ConversationEntry", 1),
            ("LoginHistory", 1),
            ("SetupAuditTrail", 1),
            ("ConversationChannelDefinition", 1),
            ("ConversationVendorInfo", 1),
        ] {
            let body = rest.ok(&format!("SELECT Id FROM {object}")).await;
            let records = body["records"].as_array().expect("records");
            assert!(records.len() >= at_least, "{object}: {body}");
            assert_eq!(body["totalSize"], records.len(), "{object}");
            assert_eq!(body["done"], true);
            for r in records {
                let id = r["Id"].as_str().expect("id");
                assert_eq!(id.len(), 18, "{object}: {id}");
                assert_eq!(r["attributes"]["type"], object);
                assert_eq!(
                    r["attributes"]["url"],
                    format!("{V}/sobjects/{object}/{id}")
                );
            }
        }

        // Relationship fields.
        let users = rest
            .ok("SELECT Username, Profile.Name FROM User WHERE IsActive = true ORDER BY Username")
            .await;
        let first = &users["records"][0];
        assert_eq!(first["Profile"]["attributes"]["type"], "Profile");
        assert!(first["Profile"]["Name"].is_string(), "{users}");
        let sessions = rest
            .ok("SELECT Status, MessagingEndUser.Name, MessagingChannel.DeveloperName FROM MessagingSession")
            .await;
        let names: Vec<&str> = sessions["records"]
            .as_array()
            .expect("records")
            .iter()
            .filter_map(|r| r["MessagingEndUser"]["Name"].as_str())
            .collect();
        assert!(names.contains(&"rest-end-user"), "{sessions}");
        let entries = rest
            .ok("SELECT Message, ActorType, Conversation.Status FROM ConversationEntry WHERE ActorType = 'EndUser'")
            .await;
        let entry = &entries["records"][0];
        assert_eq!(entry["Message"], "hello?", "{entries}");
        assert!(entry["Conversation"]["Status"].is_string(), "{entries}");
        // A ConversationId filter reads only that conversation's entries from the store
        // (objects::entry_sessions): the answer is the one the whole-table path gives.
        let conversation = rest
            .ok("SELECT ConversationId FROM ConversationEntry WHERE ActorType = 'EndUser'")
            .await["records"][0]["ConversationId"]
            .as_str()
            .expect("a conversation id")
            .to_string();
        let by = |filter: String| {
            let rest = &rest;
            async move {
                rest.ok(&format!(
                    "SELECT Id, Message FROM ConversationEntry WHERE {filter} ORDER BY Seq"
                ))
                .await
            }
        };
        let whole_table = by(format!(
            "(ConversationId = '{conversation}' OR ConversationId = '{conversation}')"
        ))
        .await;
        assert!(
            whole_table["totalSize"].as_u64() >= Some(1),
            "{whole_table}"
        );
        for filter in [
            format!("ConversationId = '{conversation}'"),
            format!("ConversationId = '{}'", &conversation[..15]),
            format!("ConversationId IN ('{conversation}', '0Mw000000000000') AND Id != null"),
        ] {
            assert_eq!(by(filter.clone()).await, whole_table, "{filter}");
        }
        let none = by("ConversationId = '0Mw000000000000'".to_string()).await;
        assert_eq!(none["totalSize"], 0, "{none}");
        let ccd = rest
            .ok("SELECT DeveloperName, ConversationVendorInfo.VendorType FROM ConversationChannelDefinition")
            .await;
        assert_eq!(ccd["totalSize"], 1, "{ccd}");
        let count = rest.ok("SELECT COUNT() FROM User").await;
        assert!(count["totalSize"].as_u64().expect("count") >= 1);
        assert_eq!(count["records"], serde_json::json!([]));

        // queryAll and the Tooling API's catalog.
        let (status, body) = rest.query("queryAll", "SELECT Id FROM User").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = rest
            .query(
                "tooling/query",
                "SELECT Id, DeveloperName FROM ConversationChannelDefinition",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let url = body["records"][0]["attributes"]["url"]
            .as_str()
            .expect("url");
        assert!(url.starts_with(&format!(
            "{V}/tooling/sobjects/ConversationChannelDefinition/"
        )));
        let (status, body) = rest.query("tooling/query", "SELECT Id FROM User").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        error(&body, "INVALID_TYPE");
    }
}

#[tokio::test]
async fn malformed_queries_get_salesforce_errors() {
    for server in servers().await {
        let rest = Rest::admin(&server);
        // `+` for spaces, as curl users write it.
        let (status, body) = rest
            .get(&format!("{V}/query?q=SELECT+Id,+Username+FROM+User"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // A broken escape is text for the parser, never a plain-text rejection.
        let (status, body) = rest
            .get(&format!("{V}/query?q=SELECT+Id+FROM+User%ZZ"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        error(&body, "MALFORMED_QUERY");
        let (status, body) = rest.get(&format!("{V}/query")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            error(&body, "MALFORMED_QUERY"),
            "A query string has to be specified"
        );
        for (q, code) in [
            ("SELEC Id FROM User", "MALFORMED_QUERY"),
            ("SELECT Id FROM", "MALFORMED_QUERY"),
            ("SELECT Bogus FROM User", "INVALID_FIELD"),
            ("SELECT Id FROM Nothing__c", "INVALID_TYPE"),
            // Platform events are described, never queried.
            ("SELECT Id FROM Byoc_Outbound__e", "INVALID_TYPE"),
            (
                "SELECT Id FROM User WHERE Username = 'unterminated",
                "MALFORMED_QUERY",
            ),
        ] {
            let (status, body) = rest.query("query", q).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
            let message = error(&body, code);
            assert!(!message.is_empty());
            let keys: HashSet<&str> = body[0]
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert!(
                keys.contains("message") && keys.contains("errorCode"),
                "{body}"
            );
        }
        let (_, body) = rest.query("query", "SELECT Bogus FROM User").await;
        assert!(
            error(&body, "INVALID_FIELD").contains("No such column 'Bogus' on entity 'User'"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn paging_follows_next_records_url() {
    for server in servers().await {
        let admin = server.admin();
        // Each permission set adds an audit trail row: more than one batch of 200.
        for i in 0..205 {
            admin
                .create_permission_set(&NewPermissionSet {
                    name: format!("Paging_{i}"),
                    label: None,
                    permissions: vec![],
                    object_permissions: vec![],
                })
                .await
                .expect("permission set");
        }
        let rest = Rest::admin(&server);
        let r = rest
            .request(Method::GET, &format!("{V}/query"))
            .query(&[(
                "q",
                "SELECT Id, Action FROM SetupAuditTrail ORDER BY CreatedDate",
            )])
            .header("Sforce-Query-Options", "batchSize=200");
        let (status, _, mut page) = rest.send(r).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let total = page["totalSize"].as_u64().expect("total") as usize;
        assert!(total > 205, "{total}");
        // A locator belongs to the user who ran the query.
        admin
            .create_user(&NewUser {
                username: "other@rest.example".into(),
                email: None,
                profile: "System Administrator".into(),
                permission_sets: vec![],
                is_active: true,
            })
            .await
            .expect("user");
        let next = page["nextRecordsUrl"].as_str().expect("nextRecordsUrl");
        let (status, body) = Rest::as_user(&server, "other@rest.example").get(next).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        error(&body, "INVALID_QUERY_LOCATOR");
        let mut ids = HashSet::new();
        let mut pages = 1;
        loop {
            let records = page["records"].as_array().expect("records");
            assert!(records.len() <= 200);
            assert_eq!(page["totalSize"], total);
            for r in records {
                assert!(ids.insert(r["Id"].as_str().expect("id").to_string()));
            }
            if page["done"] == true {
                assert!(page.get("nextRecordsUrl").is_none());
                break;
            }
            let next = page["nextRecordsUrl"].as_str().expect("nextRecordsUrl");
            assert!(next.starts_with(&format!("{V}/query/01g")), "{next}");
            let (status, body) = rest.get(next).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            page = body;
            pages += 1;
        }
        assert_eq!(ids.len(), total);
        assert_eq!(pages, total.div_ceil(200));

        for locator in ["01gAAAAAAAAAAAAAAA-200", "nonsense", "01g-x"] {
            let (status, body) = rest.get(&format!("{V}/query/{locator}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(
                error(&body, "INVALID_QUERY_LOCATOR"),
                "invalid query locator"
            );
        }
    }
}

#[tokio::test]
async fn describe_global_describe_and_records() {
    for server in servers().await {
        let rest = Rest::admin(&server);
        let (status, global) = rest.get(&format!("{V}/sobjects")).await;
        assert_eq!(status, StatusCode::OK, "{global}");
        assert_eq!(global["encoding"], "UTF-8");
        assert_eq!(global["maxBatchSize"], 200);
        let list = global["sobjects"].as_array().expect("sobjects");
        let find = |name: &str| list.iter().find(|o| o["name"] == name).cloned();
        let user = find("User").expect("User");
        assert_eq!(user["keyPrefix"], "005");
        assert_eq!(user["queryable"], true);
        assert_eq!(
            user["urls"]["describe"],
            format!("{V}/sobjects/User/describe")
        );
        for name in [
            "MessagingSession",
            "ConversationEntry",
            "SetupAuditTrail",
            "ConversationChannelDefinition",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
        let event = find("Byoc_Outbound__e").expect("the platform event");
        assert_eq!(event["queryable"], false);
        assert_eq!(event["custom"], true);
        assert_eq!(event["createable"], true);

        let (status, info) = rest.get(&format!("{V}/sobjects/User")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(info["objectDescribe"]["name"], "User");
        assert_eq!(info["recentItems"], serde_json::json!([]));

        let (status, describe) = rest
            .get(&format!("{V}/sobjects/MessagingSession/describe"))
            .await;
        assert_eq!(status, StatusCode::OK, "{describe}");
        let fields = describe["fields"].as_array().expect("fields");
        let end_user = fields
            .iter()
            .find(|f| f["name"] == "MessagingEndUserId")
            .expect("MessagingEndUserId");
        assert_eq!(end_user["type"], "reference");
        assert_eq!(end_user["soapType"], "tns:ID");
        assert_eq!(
            end_user["referenceTo"],
            serde_json::json!(["MessagingEndUser"])
        );
        assert_eq!(end_user["relationshipName"], "MessagingEndUser");

        // The platform event: Salesforce's standard fields and the CCD's custom fields.
        let (status, describe) = rest
            .get(&format!("{V}/sobjects/byoc_outbound__e/describe"))
            .await;
        assert_eq!(status, StatusCode::OK, "{describe}");
        assert_eq!(describe["name"], "Byoc_Outbound__e");
        let names: Vec<&str> = describe["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| f["name"].as_str().expect("name"))
            .collect();
        for standard in ["ReplayId", "CreatedDate", "CreatedById", "EventUuid"] {
            assert!(names.contains(&standard), "{names:?}");
        }
        assert!(names.iter().any(|n| n.ends_with("__c")), "{names:?}");

        // A record by id, 15 or 18 characters; ?fields=.
        let org = server.admin().org().await.expect("org");
        let (status, record) = rest
            .get(&format!("{V}/sobjects/Organization/{}", org.id))
            .await;
        assert_eq!(status, StatusCode::OK, "{record}");
        assert_eq!(record["Id"], org.id18);
        assert_eq!(record["Name"], org.name);
        assert_eq!(
            record["attributes"]["url"],
            format!("{V}/sobjects/Organization/{}", org.id18)
        );
        let users = server.admin().users().await.expect("users");
        let u = &users[0];
        let (status, record) = rest
            .get(&format!(
                "{V}/sobjects/User/{}?fields=Username,Email",
                u.id18
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{record}");
        assert_eq!(record["Username"], u.username);
        assert!(record.get("IsActive").is_none(), "{record}");
        let (status, body) = rest
            .get(&format!("{V}/sobjects/User/{}?fields=Bogus", u.id18))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        error(&body, "INVALID_FIELD");
        let (status, body) = rest
            .get(&format!("{V}/sobjects/User/005000000000zzz"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            error(&body, "NOT_FOUND"),
            "The requested resource does not exist"
        );
        let (status, body) = rest.get(&format!("{V}/sobjects/User/not-an-id")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(error(&body, "NOT_FOUND").contains("not-an-id"));
        let (status, _) = rest.get(&format!("{V}/sobjects/Nothing__c/describe")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_platform_event_published_through_rest_reaches_a_subscriber() {
    for server in servers().await {
        let rest = Rest::admin(&server);
        let (_, describe) = rest
            .get(&format!("{V}/sobjects/Byoc_Outbound__e/describe"))
            .await;
        let field = describe["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| f["name"].as_str().expect("name").to_string())
            .find(|n| n.ends_with("__c"))
            .expect("a custom field");

        let partner = Partner::new(&server).await;
        let (_, schema) = partner.schema().await;
        let mut stream = partner
            .subscribe(fetch(ReplayPreset::Latest, vec![], 5))
            .await
            .expect("subscribe");
        stream.keepalive().await;

        let body = serde_json::json!({ field.clone(): "from REST" });
        let (status, _, saved) = rest
            .send(
                rest.request(Method::POST, &format!("{V}/sobjects/Byoc_Outbound__e"))
                    .json(&body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{saved}");
        assert_eq!(saved["success"], true);
        assert_eq!(saved["errors"], serde_json::json!([]));
        let id = saved["id"].as_str().expect("id");
        assert!(id.starts_with("e00") && id.len() == 18, "{id}");

        let mut requested = 5;
        let events = stream.events(1, &mut requested).await;
        let mut reader = events[0].1.as_slice();
        let datum = apache_avro::from_avro_datum(&schema, &mut reader, None).expect("datum");
        let Avro::Record(fields) = datum else {
            panic!("a record")
        };
        let value = fields
            .iter()
            .find(|(n, _)| *n == field)
            .map(|(_, v)| v.clone())
            .expect("the field");
        assert_eq!(
            value,
            Avro::Union(1, Box::new(Avro::String("from REST".into())))
        );

        // Unknown fields, a read-only object, no Create.
        let (status, _, body) = rest
            .send(
                rest.request(Method::POST, &format!("{V}/sobjects/Byoc_Outbound__e"))
                    .json(&serde_json::json!({"Bogus__c": "x"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            error(&body, "INVALID_FIELD"),
            "No such column 'Bogus__c' on sobject of type Byoc_Outbound__e"
        );
        let (status, _, _) = rest
            .send(
                rest.request(Method::POST, &format!("{V}/sobjects/User"))
                    .json(&serde_json::json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }
}

#[tokio::test]
async fn a_standard_user_sees_no_setup_objects() {
    for server in servers().await {
        let admin = server.admin();
        admin
            .create_user(&NewUser {
                username: "plain@rest.example".into(),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec![],
                is_active: true,
            })
            .await
            .expect("user");
        let plain = Rest::as_user(&server, "plain@rest.example");
        let (status, global) = plain.get(&format!("{V}/sobjects")).await;
        assert_eq!(status, StatusCode::OK, "{global}");
        let names: Vec<&str> = global["sobjects"]
            .as_array()
            .expect("sobjects")
            .iter()
            .map(|o| o["name"].as_str().expect("name"))
            .collect();
        assert!(
            names.contains(&"User") && names.contains(&"Organization"),
            "{names:?}"
        );
        for hidden in [
            "SetupAuditTrail",
            "LoginHistory",
            "PermissionSet",
            "ConnectedApplication",
            "ConversationChannelDefinition",
            "MessagingSession",
            "ConversationEntry",
            "Byoc_Outbound__e",
        ] {
            assert!(!names.contains(&hidden), "{hidden} in {names:?}");
            let (status, _) = plain.get(&format!("{V}/sobjects/{hidden}/describe")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{hidden}");
        }
        let (status, body) = plain.query("query", "SELECT Id FROM SetupAuditTrail").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        error(&body, "INVALID_TYPE");
        let body = plain.ok("SELECT Username FROM User").await;
        assert!(body["totalSize"].as_u64().expect("total") >= 2);

        // The Messaging User permission opens the messaging objects, not Setup's.
        admin
            .create_permission_set(&NewPermissionSet {
                name: "Agents".into(),
                label: None,
                permissions: vec![byoc_proto::setup::UserPermission::MessagingUser],
                object_permissions: vec![],
            })
            .await
            .expect("permission set");
        admin
            .create_user(&NewUser {
                username: "agent@rest.example".into(),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec!["Agents".into()],
                is_active: true,
            })
            .await
            .expect("agent");
        let agent = Rest::as_user(&server, "agent@rest.example");
        agent.ok("SELECT Id FROM ConversationEntry").await;
        let (status, _) = agent.query("query", "SELECT Id FROM LoginHistory").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

/// 10,000 conversation entries: every one comes back through the pages, and the time of the
/// first page and of the whole walk is printed (docs/benchmarks.md "SOQL" has the measured
/// figures; a timed test would only be flaky).
#[tokio::test]
async fn ten_thousand_conversation_entries_page_through() {
    use byoc_store::conversations::{EntryRecord, EntryTarget, SessionChoice, WriteOp};
    for server in servers().await {
        let partner = Partner::new(&server).await;
        let conversation = inbound_message(&server, &partner.token, "bulk-end-user").await;
        let now = chrono::Utc::now().timestamp_millis();
        let entries: Vec<EntryRecord> = (0..10_000)
            .map(|i| EntryRecord {
                entry_id: format!("bulk-{i:05}"),
                entry_type: "Message".into(),
                sender_app_type: "Custom".into(),
                sender_subject: "bulk-end-user".into(),
                sender_role: "EndUser".into(),
                client_timestamp: now + i,
                text: Some(format!("message {i}")),
                message_type: Some("StaticContentMessage".into()),
                format_type: Some("Text".into()),
                acknowledged_entry_id: None,
                source: "interactions".into(),
                payload: "{}".into(),
                attachment: None,
            })
            .collect();
        let store = server.store().expect("store");
        store
            .repo()
            .write_batch(&[WriteOp::Append {
                target: EntryTarget::Conversation(conversation),
                session: SessionChoice::Current {
                    new_session_id: "0Mw000000bulk01".into(),
                },
                entries,
                now,
            }])
            .await
            .expect("10,000 entries");

        let rest = Rest::admin(&server);
        let started = std::time::Instant::now();
        let mut page = rest
            .ok("SELECT Id, Message, Conversation.Status FROM ConversationEntry WHERE ActorType = 'EndUser' ORDER BY Seq")
            .await;
        let first = started.elapsed();
        let total = page["totalSize"].as_u64().expect("total") as usize;
        assert!(total > 10_000, "{total}");
        let mut seen = 0;
        loop {
            let records = page["records"].as_array().expect("records");
            assert!(records.len() <= 2000);
            seen += records.len();
            if page["done"] == true {
                break;
            }
            let (status, body) = rest
                .get(page["nextRecordsUrl"].as_str().expect("next"))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            page = body;
        }
        assert_eq!(seen, total);
        let count = rest.ok("SELECT COUNT() FROM ConversationEntry").await;
        assert_eq!(count["totalSize"], total);
        eprintln!(
            "{}: {total} ConversationEntry rows: first page {first:?}, all pages {:?}",
            server.backend(),
            started.elapsed()
        );
    }
}
