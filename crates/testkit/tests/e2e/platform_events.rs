//! Pub/Sub at a glance (Setup > Platform Events, issue 11 item 4) end to end: a subscriber built
//! from the official proto is listed with its pending count while its stream is open and gone
//! once it disconnects; an agent's reply is a stored event with its replay id and decoded text;
//! the topic page shows the schema; hostile paths are 404s. On SQLite and, when reachable,
//! PostgreSQL.

use byoc_proto::admin::{InspectedCall, InspectorQuery, NewUser};
use byoc_pubsub_proto::v1::{ReplayPreset, TopicRequest};
use byoc_testkit::TestServer;
use reqwest::StatusCode;

use super::console::Console;
use super::pubsub::{fetch, inbound_message, options, Partner, TOPIC};

const HOME: &str = "/lightning/setup/EventObjects/home";
const TOPIC_PAGE: &str = "/lightning/setup/EventObjects/Byoc_Outbound__e/view";
const SAMPLE_APP: &str = "BYOC Sample App";

/// The `<tr …>…</tr>` rows of the table with this id.
fn rows(body: &str, table: &str) -> Vec<String> {
    let start = body
        .find(&format!("<table id=\"{table}\""))
        .unwrap_or_else(|| panic!("no table #{table} in {body}"));
    let end = body[start..].find("</table>").expect("table end") + start;
    body[start..end]
        .split("<tr ")
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap_or_default().to_string())
        .filter(|r| r.starts_with("data-"))
        .collect()
}

/// The value of `data-<name>="…"` in a row.
fn attr(row: &str, name: &str) -> String {
    let marker = format!("data-{name}=\"");
    let start = row.find(&marker).expect("attribute") + marker.len();
    row[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The page, until `done` says it shows what the test waits for (at most 10 s; a stream that
/// ended is removed by the server's subscription task, not by the client's call).
async fn page_until(console: &mut Console, path: &str, done: impl Fn(&str) -> bool) -> String {
    for _ in 0..200 {
        let p = console.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        if done(&p.body) {
            return p.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never showed what was expected");
}

#[tokio::test]
async fn a_subscriber_is_listed_while_subscribed_and_an_agent_reply_is_a_decoded_stored_event() {
    for server in byoc_testkit::on_every_backend("platform events page", options())
        .await
        .expect("servers")
    {
        let partner = Partner::new(&server).await;
        let conversation = inbound_message(&server, &partner.token, "end-user-glance").await;
        let mut console = Console::admin(&server).await;

        // The topic, the CCD that publishes on it, its schema; nobody subscribed yet.
        let p = console.get(HOME).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        let topics = rows(&p.body, "topics");
        assert_eq!(topics.len(), 1, "{topics:?}");
        assert_eq!(attr(&topics[0], "topic"), TOPIC);
        assert!(topics[0].contains(TOPIC_PAGE), "{}", topics[0]);
        assert!(
            topics[0].contains("Payload__c: null | string"),
            "{}",
            topics[0]
        );
        assert!(rows(&p.body, "subscriptions").is_empty());
        assert!(p.body.contains("aria-current=\"page\">Platform Events</a>"));

        // A subscriber asking for 7 events is listed with 7 pending, its app and user.
        let mut stream = partner
            .subscribe(fetch(ReplayPreset::Latest, vec![], 7))
            .await
            .expect("subscribe");
        stream.keepalive().await;
        let p = console.get(HOME).await;
        let subs = rows(&p.body, "subscriptions");
        assert_eq!(subs.len(), 1, "{}", p.body);
        let id = attr(&subs[0], "subscription-id");
        assert_eq!(attr(&subs[0], "pending"), "7");
        assert_eq!(attr(&subs[0], "topic"), TOPIC);
        assert!(subs[0].contains(SAMPLE_APP), "{}", subs[0]);

        // More requested: the pending count follows.
        stream.request(3).await;
        page_until(&mut console, HOME, |b| {
            rows(b, "subscriptions")
                .iter()
                .any(|r| attr(r, "pending") == "10")
        })
        .await;

        // The agent replies: the subscriber gets it, the page lists it as a stored event with
        // its replay id and the decoded text, and the subscription's last delivery.
        let text = "Pub/Sub at a glance shows this reply";
        let sent = server
            .admin()
            .agent_reply(&conversation, text)
            .await
            .expect("agent reply");
        let mut requested = 10;
        let got = stream.events(1, &mut requested).await;
        assert_eq!(got[0].0, sent.replay_id);
        let p = console.get(HOME).await;
        let events = rows(&p.body, "stored-events");
        let row = events
            .iter()
            .find(|r| attr(r, "replay-id") == sent.replay_id.to_string())
            .unwrap_or_else(|| panic!("replay id {} not listed: {events:?}", sent.replay_id));
        assert!(row.contains(&format!("Message: {text}")), "{row}");
        assert!(row.contains(&conversation), "{row}");
        assert!(
            row.contains("EventType__c") && row.contains("Interaction"),
            "{row}"
        );
        // Newest first.
        assert_eq!(attr(&events[0], "replay-id"), sent.replay_id.to_string());
        let subs = rows(&p.body, "subscriptions");
        assert_eq!(attr(&subs[0], "subscription-id"), id);
        assert_eq!(attr(&subs[0], "pending"), "9");
        assert!(
            subs[0].contains(&format!("<td>{}</td>", sent.replay_id)),
            "last replay id: {}",
            subs[0]
        );

        // The topic's page: schema fields with Avro types, the JSON, the event, the subscriber.
        let p = console.get(TOPIC_PAGE).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert!(p
            .body
            .contains("<code>CreatedDate</code></td><td><code>long</code>"));
        assert!(p.body.contains("Schema JSON"));
        assert!(p.body.contains("com.sforce.eventbus"));
        assert!(rows(&p.body, "stored-events")
            .iter()
            .any(|r| attr(r, "replay-id") == sent.replay_id.to_string()));
        assert_eq!(rows(&p.body, "subscriptions").len(), 1);
        // Event names match case-insensitively, as Salesforce's API names do.
        let lower = console
            .get("/lightning/setup/EventObjects/byoc_outbound__e/view")
            .await;
        assert_eq!(lower.status, StatusCode::OK);

        // The subscriber disconnects: the server ends the stream and the row goes.
        drop(stream);
        page_until(&mut console, HOME, |b| rows(b, "subscriptions").is_empty()).await;

        server.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn topic_pages_refuse_hostile_paths_and_cursors_and_need_read_conversations() {
    let server = TestServer::start_with(options()).await.expect("server");
    let mut console = Console::admin(&server).await;
    for path in [
        "/lightning/setup/EventObjects/No_Such__e/view",
        "/lightning/setup/EventObjects/%FF%FE/view",
        "/lightning/setup/EventObjects/%00/view",
        "/lightning/setup/EventObjects/..%2F..%2Fetc/view",
        "/lightning/setup/EventObjects/%3Cscript%3Ealert(1)%3C%2Fscript%3E/view",
    ] {
        let p = console.get(path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}: {}", p.body);
        assert!(!p.body.contains("<script>alert"), "{path}: {}", p.body);
    }
    let long = format!("/lightning/setup/EventObjects/{}/view", "A".repeat(5000));
    assert_eq!(console.get(&long).await.status, StatusCode::NOT_FOUND);
    for query in [
        "?before=abc",
        "?before=-5",
        "?before=0",
        "?before=99999999999999999999",
        "?before=9223372036854775807",
        "?before=%FF",
    ] {
        let p = console.get(&format!("{TOPIC_PAGE}{query}")).await;
        assert_eq!(p.status, StatusCode::OK, "{query}: {}", p.body);
    }

    // A Standard User may not read conversations, so not their events either.
    server
        .admin()
        .create_user(&NewUser {
            username: "std@platform-events.example".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .expect("user");
    server
        .admin()
        .set_password("std@platform-events.example", "Sunny2day")
        .await
        .expect("password");
    let mut std_user = Console::new(&server);
    let p = std_user
        .post(
            "/",
            &[
                ("username", "std@platform-events.example"),
                ("pw", "Sunny2day"),
                ("startURL", HOME),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    for path in [HOME, TOPIC_PAGE] {
        let p = std_user.get(path).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}: {}", p.body);
        assert!(p.body.contains("read conversations"), "{}", p.body);
    }
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn stored_events_page_newest_first_through_every_event() {
    let server = TestServer::start_with(options()).await.expect("server");
    let partner = Partner::new(&server).await;
    let conversation = inbound_message(&server, &partner.token, "end-user-pages").await;
    // 60 replies: more than one page of 50.
    let mut ids = Vec::new();
    for i in 0..60 {
        let sent = server
            .admin()
            .agent_reply(&conversation, &format!("reply {i}"))
            .await
            .expect("reply");
        ids.push(sent.replay_id);
    }
    let mut console = Console::admin(&server).await;
    let mut seen = Vec::new();
    let mut path = TOPIC_PAGE.to_string();
    for _ in 0..10 {
        let p = console.get(&path).await;
        assert_eq!(p.status, StatusCode::OK);
        let page: Vec<u64> = rows(&p.body, "stored-events")
            .iter()
            .map(|r| attr(r, "replay-id").parse().expect("replay id"))
            .collect();
        assert!(page.len() <= 50);
        seen.extend(page);
        let marker = "<a href=\"";
        let older = p
            .body
            .split(marker)
            .filter_map(|s| s.split_once("\" rel=\"next\""))
            .map(|(href, _)| href.replace("&amp;", "&"))
            .next();
        match older {
            Some(href) => path = href,
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.sort_unstable();
    expected.reverse();
    // Every reply once, newest first (the end user's inbound message is no platform event).
    assert_eq!(seen, expected);
    server.stop().await.expect("stop");
}

/// The Pub/Sub calls the inspector kept, newest first.
async fn pubsub_calls(server: &TestServer) -> Vec<InspectedCall> {
    server
        .admin()
        .inspector_calls(&InspectorQuery {
            host: Some("pubsub".into()),
            limit: Some(1000),
            ..InspectorQuery::default()
        })
        .await
        .expect("inspector calls")
}

#[tokio::test]
async fn the_inspector_hears_of_every_rpc_and_delivery_batch_of_the_pubsub_host() {
    let server = TestServer::start_with(options()).await.expect("server");
    let partner = Partner::new(&server).await;
    let conversation = inbound_message(&server, &partner.token, "end-user-inspected").await;

    // GetTopic and GetSchema, then an unknown topic: NOT_FOUND with Salesforce's trailer.
    partner.schema().await;
    let mut grpc = partner.grpc.clone();
    let refused = grpc
        .get_topic(partner.request(TopicRequest {
            topic_name: "/event/No_Such__e".into(),
        }))
        .await
        .expect_err("unknown topic");
    assert_eq!(refused.code(), tonic::Code::NotFound);
    // A token that is not valid: UNAUTHENTICATED, nobody named.
    let stranger = Partner::with_token(&server, "not-a-token".into()).await;
    let refused = stranger
        .subscribe(fetch(ReplayPreset::Latest, vec![], 1))
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    // A subscription, one delivery, then the client goes away.
    let mut stream = partner
        .subscribe(fetch(ReplayPreset::Latest, vec![], 5))
        .await
        .expect("subscribe");
    stream.keepalive().await;
    let sent = server
        .admin()
        .agent_reply(&conversation, "inspected")
        .await
        .expect("reply");
    let mut requested = 5;
    assert_eq!(stream.events(1, &mut requested).await[0].0, sent.replay_id);
    drop(stream);

    // Wait for the stream's end to be recorded (the server's task notices the cancel).
    let mut calls = Vec::new();
    for _ in 0..200 {
        calls = pubsub_calls(&server).await;
        if calls.iter().any(|c| c.operation.ends_with(" ended")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let find = |op: &str| {
        calls
            .iter()
            .find(|c| c.operation == op)
            .unwrap_or_else(|| panic!("no call {op:?} in {calls:#?}"))
    };
    let topic = find("GetTopic /event/Byoc_Outbound__e");
    assert_eq!(topic.status, "OK");
    assert_eq!(topic.app.as_deref(), Some(SAMPLE_APP));
    assert!(topic.user.is_some());
    assert!(!topic.request.contains(&partner.token), "token leaked");
    let missing = find("GetTopic /event/No_Such__e");
    assert_eq!(missing.status, "NOT_FOUND");
    assert_eq!(
        missing.error_code.as_deref(),
        Some("sfdc.platform.eventbus.grpc.topic.notfound")
    );
    assert_eq!(
        missing.fix_href.as_deref(),
        Some("/lightning/setup/LiveMessageSetup/home")
    );
    let unknown = calls
        .iter()
        .find(|c| c.operation == "Subscribe" && c.status == "UNAUTHENTICATED")
        .unwrap_or_else(|| panic!("no refused Subscribe in {calls:#?}"));
    assert_eq!(
        unknown.error_code.as_deref(),
        Some("sfdc.platform.eventbus.grpc.service.auth.error")
    );
    assert_eq!(unknown.app, None);
    let started = find(&format!("Subscribe {TOPIC}"));
    assert_eq!(started.status, "OK");
    let delivered = calls
        .iter()
        .find(|c| {
            c.operation
                .starts_with("Deliver 1 event to BYOC Sample App (")
        })
        .unwrap_or_else(|| panic!("no delivery batch in {calls:#?}"));
    assert_eq!(delivered.status, "OK");
    assert!(
        delivered
            .request
            .contains(&format!("replay ids: {0}..={0}", sent.replay_id)),
        "{}",
        delivered.request
    );
    let ended = find(&format!("Subscribe {TOPIC} ended"));
    assert_eq!(ended.status, "CANCELLED");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn each_delivered_event_is_a_delivered_event_on_the_live_feed() {
    let server = TestServer::start_with(options()).await.expect("server");
    let partner = Partner::new(&server).await;
    let conversation = inbound_message(&server, &partner.token, "end-user-live").await;
    let console = Console::admin(&server).await;
    // The console's live feed, from now on.
    let mut live = reqwest::Client::new()
        .get(format!("{}/console/live", console.base))
        .header(
            "Cookie",
            format!("sid={}", console.sid.clone().expect("sid")),
        )
        .send()
        .await
        .expect("live feed");
    assert_eq!(live.status(), StatusCode::OK);

    let mut stream = partner
        .subscribe(fetch(ReplayPreset::Latest, vec![], 5))
        .await
        .expect("subscribe");
    stream.keepalive().await;
    let sent = server
        .admin()
        .agent_reply(&conversation, "tracked to the subscriber")
        .await
        .expect("reply");
    let mut requested = 5;
    assert_eq!(stream.events(1, &mut requested).await[0].0, sent.replay_id);

    // `event: delivered` with the replay id, topic, entry and subscriber (bounded wait only so a
    // broken feed fails instead of hanging).
    let mut text = String::new();
    let delivered = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            if let Some(block) = text.split("\n\n").find(|b| b.contains("event: delivered")) {
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("data");
                return serde_json::from_str::<serde_json::Value>(data).expect("json");
            }
            let chunk = live.chunk().await.expect("read").expect("open");
            text.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
    })
    .await
    .expect("a delivered event");
    assert_eq!(delivered["replayId"], sent.replay_id);
    assert_eq!(delivered["topic"], TOPIC);
    assert_eq!(delivered["conversationId"], conversation);
    assert_eq!(delivered["entryId"], sent.entry_identifier);
    assert!(
        delivered["subscriber"]
            .as_str()
            .is_some_and(|s| s.starts_with(SAMPLE_APP)),
        "{delivered}"
    );
    server.stop().await.expect("stop");
}
