//! The console's live feed (`GET /console/live`, docs/console.md "Live updates") over real HTTP:
//! an interaction sent with the SDK and the agent's reply arrive as `conversation` events; a
//! reconnect by `Last-Event-ID` or `?lastEventId=` replays exactly what was missed; a resume point
//! the feed no longer keeps gets `reset`; who may open the stream; and, on PostgreSQL, a message
//! accepted by one instance reaches a stream open on another.
//!
//! Waits are bounded by [`PATIENCE`] only so a broken feed fails instead of hanging; nothing here
//! asserts how fast an event arrives (the bench measures that).

use std::sync::Arc;
use std::time::Duration;

use byoc_client::interaction::InteractionClient;
use byoc_client::settings::PartnerSettings;
use byoc_client::token::TokenProvider;
use byoc_proto::admin::NewUser;
use byoc_testkit::{on_every_backend, Options, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

use super::console::Console;

/// How long a test waits for an event before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    id: Option<i64>,
    kind: String,
    data: Value,
}

/// An open `GET /console/live`, parsed as an EventSource does.
struct Stream {
    res: reqwest::Response,
    buf: String,
}

impl Stream {
    async fn open(
        base: &str,
        sid: Option<&str>,
        last_event_id: Option<&str>,
        query: &str,
    ) -> Stream {
        let res = request(base, sid, last_event_id, query).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Stream {
            res,
            buf: String::new(),
        }
    }

    /// The next event (comments skipped).
    async fn next(&mut self) -> Event {
        tokio::time::timeout(PATIENCE, self.next_event())
            .await
            .expect("no live event within the test's patience")
    }

    async fn next_event(&mut self) -> Event {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, String::from("message"), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse().expect("numeric id"));
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        kind = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    } else {
                        assert!(
                            line.is_empty() || line.starts_with(':'),
                            "unexpected line {line:?}"
                        );
                    }
                }
                if data.is_empty() && id.is_none() {
                    continue; // a comment
                }
                return Event {
                    id,
                    kind,
                    data: serde_json::from_str(&data).expect("data is one JSON object"),
                };
            }
            let chunk = self
                .res
                .chunk()
                .await
                .expect("stream read")
                .expect("the stream ended");
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// Events until one matches `want` (returned last).
    async fn until(&mut self, want: impl Fn(&Event) -> bool) -> Vec<Event> {
        let mut seen = Vec::new();
        loop {
            let e = self.next().await;
            let done = want(&e);
            seen.push(e);
            if done {
                return seen;
            }
        }
    }
}

async fn request(
    base: &str,
    sid: Option<&str>,
    last_event_id: Option<&str>,
    query: &str,
) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{base}/console/live{query}"));
    if let Some(sid) = sid {
        req = req.header("cookie", format!("sid={sid}"));
    }
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    req.send().await.expect("GET /console/live")
}

/// The partner of the sample setup, through the SDK (`partner.env`, JWT Bearer, Interaction API).
struct Partner {
    client: InteractionClient,
    address: String,
}

impl Partner {
    fn new(server: &TestServer) -> Partner {
        let settings =
            PartnerSettings::from_env_file(server.data_dir().join("partner.env")).expect("env");
        let tokens = Arc::new(
            TokenProvider::from_settings(settings.jwt_bearer().expect("jwt settings"))
                .expect("token provider"),
        );
        Partner {
            client: InteractionClient::new(settings.interaction().expect("settings"), tokens)
                .expect("client"),
            address: settings.channel_address().expect("address").to_string(),
        }
    }

    /// A text from end user `from`; the conversation id.
    async fn send(&self, from: &str, text: &str) -> String {
        self.client
            .send_text(&self.address, from, text)
            .await
            .expect("interaction accepted")
            .conversation_identifier
    }
}

fn is_entry_of(conversation: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| {
        e.kind == "conversation"
            && e.data["conversationId"] == conversation
            && e.data["kinds"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "entry"))
    }
}

fn sid(c: &Console) -> &str {
    c.sid.as_deref().expect("logged in")
}

#[tokio::test]
async fn an_interaction_and_the_agent_reply_arrive_as_conversation_events() {
    for server in on_every_backend("live feed events", Options::default())
        .await
        .unwrap()
    {
        let console = Console::admin(&server).await;
        let mut stream = Stream::open(&console.base, Some(sid(&console)), None, "").await;
        let partner = Partner::new(&server);

        let conversation = partner.send("live-alice", "Hello, live console").await;
        let seen = stream.until(is_entry_of(&conversation)).await;
        let event = seen.last().unwrap().clone();
        assert!(event.id.is_some(), "{event:?}");
        assert!(event.data["channelId"].is_string(), "{event:?}");
        assert!(event.data["at"].is_i64(), "{event:?}");
        // Ids are the feed's seqs: increasing by one.
        for pair in seen.windows(2) {
            assert_eq!(pair[1].id.unwrap(), pair[0].id.unwrap() + 1, "{seen:?}");
        }

        // The agent's reply (the same service as `byoc agent reply`) is a change too.
        let before = event.id.unwrap();
        server
            .admin()
            .agent_reply(&conversation, "Hi! How can I help?")
            .await
            .expect("reply");
        let reply = stream.until(is_entry_of(&conversation)).await;
        assert!(reply.last().unwrap().id.unwrap() > before);
        let entries = server
            .store()
            .unwrap()
            .repo()
            .entries(&conversation)
            .await
            .unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e.sender_role == "Agent"
                    && e.text.as_deref() == Some("Hi! How can I help?")),
            "{entries:?}"
        );
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_reconnect_replays_exactly_what_was_missed() {
    for server in on_every_backend("live feed resume", Options::default())
        .await
        .unwrap()
    {
        let console = Console::admin(&server).await;
        // A witness stays connected throughout.
        let mut witness = Stream::open(&console.base, Some(sid(&console)), None, "").await;
        let mut dropped = Stream::open(&console.base, Some(sid(&console)), None, "").await;
        let partner = Partner::new(&server);

        let first = partner.send("resume-1", "one").await;
        let got = dropped.until(is_entry_of(&first)).await;
        let last_seen = got.last().unwrap().id.unwrap();
        drop(dropped);

        // Missed while disconnected.
        let mut missed = Vec::new();
        for i in 2..=4 {
            missed.push(partner.send(&format!("resume-{i}"), "missed").await);
        }
        let mut all = witness.until(is_entry_of(&first)).await;
        for c in &missed {
            all.extend(witness.until(is_entry_of(c)).await);
        }
        let upto = all.last().unwrap().id.unwrap();
        let expected: Vec<Event> = all
            .into_iter()
            .filter(|e| e.id.unwrap() > last_seen)
            .collect();
        assert!(expected.len() >= 3, "{expected:?}");

        // EventSource's reconnect (header) and a script's (query) get the same, exactly.
        let id = last_seen.to_string();
        for (header, query) in [
            (Some(id.as_str()), String::new()),
            (None, format!("?lastEventId={id}")),
        ] {
            let mut resumed =
                Stream::open(&console.base, Some(sid(&console)), header, &query).await;
            let replayed = resumed.until(|e| e.id == Some(upto)).await;
            assert_eq!(replayed, expected, "resumed with {header:?} {query:?}");
        }

        // Without a resume point, nothing old: the next event is a new one.
        let mut fresh = Stream::open(&console.base, Some(sid(&console)), None, "").await;
        let later = partner.send("resume-5", "new").await;
        let next = fresh.until(is_entry_of(&later)).await;
        assert!(next.iter().all(|e| e.id.unwrap() > upto), "{next:?}");
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_resume_point_the_feed_no_longer_keeps_gets_reset() {
    for server in on_every_backend("live feed reset", Options::default())
        .await
        .unwrap()
    {
        let console = Console::admin(&server).await;
        let partner = Partner::new(&server);
        let mut stream = Stream::open(&console.base, Some(sid(&console)), None, "").await;
        let a = partner.send("reset-a", "a").await;
        stream.until(is_entry_of(&a)).await;
        let b = partner.send("reset-b", "b").await;
        let seen = stream
            .until(is_entry_of(&b))
            .await
            .last()
            .unwrap()
            .id
            .unwrap();
        assert!(seen >= 2);

        // Everything pruned (as 24 hours would): resuming from before the head can't be exact.
        let store = server.store().unwrap().repo();
        store.prune_feed(i64::MAX, 0).await.unwrap();
        let head = store.feed_bounds().await.unwrap().head;
        assert!(head >= seen);
        for resume in [
            (head - 1).to_string(),
            "0".into(),
            (head + 1000).to_string(),
        ] {
            let mut resumed =
                Stream::open(&console.base, Some(sid(&console)), Some(&resume), "").await;
            let first = resumed.next().await;
            assert_eq!(first.kind, "reset", "resume after {resume}: {first:?}");
            // It names where the stream goes on: at least the head when everything went.
            let from = first.id.expect("reset has an id");
            assert!(from >= head, "{first:?}");
            // Then live from there.
            let c = partner.send(&format!("reset-c{resume}"), "c").await;
            let next = resumed.until(is_entry_of(&c)).await;
            assert!(next.iter().all(|e| e.id.unwrap() > from), "{next:?}");
            assert_eq!(next[0].id, Some(from + 1), "{next:?}");
        }
        // Resuming at the head loses nothing: no reset.
        let now = server
            .store()
            .unwrap()
            .repo()
            .feed_bounds()
            .await
            .unwrap()
            .head;
        let mut at_head = Stream::open(
            &console.base,
            Some(sid(&console)),
            None,
            &format!("?lastEventId={now}"),
        )
        .await;
        let d = partner.send("reset-d", "d").await;
        let next = at_head.until(is_entry_of(&d)).await;
        assert!(next.iter().all(|e| e.kind == "conversation"), "{next:?}");

        // A resume point that is not an id is refused clearly.
        let res = request(&console.base, Some(sid(&console)), Some("abc"), "").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let res = request(&console.base, Some(sid(&console)), None, "?lastEventId=-5").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_stream_needs_a_session_that_may_read_conversations() {
    let server = TestServer::start().await.unwrap();
    let base = server.org().login_url.clone();
    let res = request(&base, None, None, "").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let res = request(&base, Some("not-a-session"), None, "").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A Standard User may not read conversations (as /admin/v1/conversations refuses them).
    let api = server.admin();
    let user = "std@live.example";
    api.create_user(&NewUser {
        username: user.into(),
        email: None,
        profile: "Standard User".into(),
        permission_sets: vec![],
        is_active: true,
    })
    .await
    .expect("user");
    api.set_password(user, "Sunny2day").await.expect("password");
    let mut c = Console::new(&server);
    let p = c
        .post(
            "/",
            &[("username", user), ("pw", "Sunny2day"), ("startURL", "/")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let res = request(&base, Some(sid(&c)), None, "").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let api_answer = api.clone().act_as(Some(user)).conversations(None).await;
    assert!(api_answer.is_err(), "the admin API refuses the same user");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_message_accepted_by_one_instance_reaches_a_stream_on_another() {
    let Some(url) = byoc_store::testing::postgres_url("live feed across instances").await else {
        return;
    };
    let a = TestServer::start_with(Options {
        database_url: Some(url.clone()),
        ..Options::default()
    })
    .await
    .unwrap();
    let b = TestServer::start_with(Options {
        database_url: Some(url),
        ..Options::default()
    })
    .await
    .unwrap();
    let on_b = Console::admin(&b).await;
    let mut stream = Stream::open(&on_b.base, Some(sid(&on_b)), None, "").await;
    let conversation = Partner::new(&a).send("across-1", "from instance A").await;
    let seen = stream.until(is_entry_of(&conversation)).await;
    let id = seen.last().unwrap().id.unwrap();

    // And B's stream resumes from B's ids with what A wrote meanwhile.
    drop(stream);
    let other = Partner::new(&a)
        .send("across-2", "while B's client was away")
        .await;
    let mut resumed = Stream::open(&on_b.base, Some(sid(&on_b)), Some(&id.to_string()), "").await;
    let replayed = resumed.until(is_entry_of(&other)).await;
    assert_eq!(replayed[0].id, Some(id + 1), "{replayed:?}");
    b.stop().await.unwrap();
    a.stop().await.unwrap();
}
