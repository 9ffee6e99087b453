//! Instance lifecycle (issue 13, item 5), on real `byoc serve` processes sharing one PostgreSQL:
//!
//! - `--drain-timeout` refuses what is not a number of seconds from 0 to a day;
//! - a clean stop (SIGTERM) closes the listeners at once, lets an in-flight interaction finish
//!   (202, stored), ends the open Pub/Sub stream with `UNAVAILABLE` (the SDK subscriber moves to
//!   the other instance and misses nothing), writes every login attempt answered before it, and
//!   exits 0 once the drain deadline passed for a request that never completes;
//! - `kill -9` of one of two instances under load: the other answers every request throughout,
//!   every write the killed one acknowledged is in the database, and a subscriber connected to
//!   the killed one resumes on the survivor from its last replay id: every event once, in order.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use byoc_client::pubsub::{
    JwtBearerTokens, PubSubError, PubSubSettings, ReceivedEvent, Replay, Subscriber,
};
use byoc_client::settings::PartnerSettings;
use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_client::AdminClient;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::cluster::Cluster;
use super::{byoc, fails};

fn setting(env: &PartnerSettings, key: &str) -> String {
    env.get(key)
        .unwrap_or_else(|| panic!("{key} in partner.env"))
        .to_string()
}

fn bearer(env: &PartnerSettings, username: Option<&str>) -> JwtBearer {
    JwtBearer::new(JwtBearerSettings {
        token_url: setting(env, "SF_AUTH_ENDPOINT"),
        consumer_key: setting(env, "SF_CONSUMER_KEY"),
        username: username
            .map(str::to_string)
            .unwrap_or_else(|| setting(env, "SF_SUBJECT")),
        audience: setting(env, "SF_AUDIENCE"),
        private_key_pem: setting(env, "SF_PRIVATE_KEY"),
    })
    .unwrap()
}

fn interaction(to: &str, from: &str, entry_id: &str) -> Value {
    super::cluster::text_interaction(to, from, entry_id, &format!("lifecycle {entry_id}"))
}

/// What an Interaction API request needs besides its body.
#[derive(Clone)]
struct Partner {
    token: String,
    org_id: String,
    ccd: String,
    address: String,
}

impl Partner {
    async fn of(cluster: &Cluster) -> Partner {
        let env = cluster.get(0).partner_env();
        Partner {
            token: bearer(&env, None)
                .fetch()
                .await
                .expect("token")
                .access_token,
            org_id: cluster.get(0).org.org_id.clone(),
            ccd: setting(&env, "SF_AUTHORIZATION_CONTEXT"),
            address: setting(&env, "CHANNEL_ADDRESS_IDENTIFIER"),
        }
    }

    /// POST one interaction to `scrt_url`; the conversation id when it was answered 202.
    async fn send(
        &self,
        http: &reqwest::Client,
        scrt_url: &str,
        from: &str,
        entry: &str,
    ) -> Result<Option<String>, reqwest::Error> {
        let form = reqwest::multipart::Form::new().part(
            "json",
            reqwest::multipart::Part::text(interaction(&self.address, from, entry).to_string())
                .mime_str("application/json")
                .unwrap(),
        );
        let resp = http
            .post(format!("{scrt_url}/api/v1/interactions"))
            .bearer_auth(&self.token)
            .header("OrgId", &self.org_id)
            .header("AuthorizationContext", &self.ccd)
            .header("RequestId", uuid_like(entry))
            .multipart(form)
            .send()
            .await?;
        if resp.status() != 202 {
            return Ok(None);
        }
        let body: Value = resp.json().await?;
        Ok(body["conversationIdentifier"].as_str().map(str::to_string))
    }
}

fn uuid_like(seed: &str) -> String {
    format!("req-{seed}")
}

/// A Pub/Sub subscriber of the CCD's topic given a list of endpoints (first the one it uses).
async fn subscriber(cluster: &Cluster, endpoints: &[usize]) -> (Subscriber, String) {
    let env = cluster.get(0).partner_env();
    let endpoint = endpoints
        .iter()
        .map(|&i| cluster.get(i).org.pubsub_endpoint.clone())
        .collect::<Vec<_>>()
        .join(",");
    let settings = PubSubSettings {
        endpoint,
        ca_cert_pem: Some(cluster.ca_bundle()),
        instance_url: setting(&env, "SF_INSTANCE_URL"),
        tenant_id: setting(&env, "SF_ORG_ID"),
    };
    let tokens = Arc::new(JwtBearerTokens::new(bearer(&env, None)));
    let subscriber = Subscriber::connect(settings, tokens)
        .await
        .expect("connect");
    (subscriber, setting(&env, "SF_PUB_SUB_TOPIC_NAME"))
}

/// Events a background subscription received, with when.
#[derive(Default)]
struct Heard {
    events: Vec<(ReceivedEvent, Instant)>,
    /// Why the stream broke, and at which endpoint it resubscribed, each time.
    breaks: Vec<(String, String)>,
    failed: Option<PubSubError>,
}

fn listen(subscriber: Subscriber, topic: String, replay: Replay) -> Arc<Mutex<Heard>> {
    let heard: Arc<Mutex<Heard>> = Arc::default();
    let out = heard.clone();
    tokio::spawn(async move {
        let mut subscription = subscriber.subscribe(&topic, replay, 100);
        let mut seen_breaks = 0;
        loop {
            let next = subscription.next_event().await;
            let mut h = out.lock().unwrap();
            if subscription.resubscribed() > seen_breaks {
                seen_breaks = subscription.resubscribed();
                h.breaks.push((
                    subscription
                        .last_break()
                        .map(|e| e.to_string())
                        .unwrap_or_default(),
                    subscription.endpoint().to_string(),
                ));
            }
            match next {
                Ok(Some(e)) => h.events.push((e, Instant::now())),
                Ok(None) => return,
                Err(e) => {
                    h.failed = Some(e);
                    return;
                }
            }
        }
    });
    heard
}

/// Wait (up to 30 s) until `heard` holds an event with each of `replay_ids`.
async fn wait_for(heard: &Arc<Mutex<Heard>>, replay_ids: &BTreeSet<u64>) {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        {
            let h = heard.lock().unwrap();
            let got: HashSet<u64> = h.events.iter().map(|(e, _)| e.replay_id).collect();
            if replay_ids.iter().all(|id| got.contains(id)) {
                return;
            }
            assert!(
                h.failed.is_none(),
                "the subscription failed: {:?}",
                h.failed
            );
            if Instant::now() > until {
                let missing: Vec<&u64> = replay_ids.iter().filter(|id| !got.contains(id)).collect();
                panic!("events never delivered: {missing:?}; breaks {:?}", h.breaks);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The replay ids received are consecutive, each once, in order.
fn assert_gapless(heard: &Heard) {
    let ids: Vec<u64> = heard.events.iter().map(|(e, _)| e.replay_id).collect();
    for pair in ids.windows(2) {
        assert_eq!(
            pair[1],
            pair[0] + 1,
            "replay ids not consecutive (a gap or a repeat): {ids:?}"
        );
    }
}

/// A request whose body arrives in two parts: returned after the first, `finish` sends the rest
/// and reads the whole answer (`Connection: close`).
struct SlowRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowRequest {
    async fn start(addr: &str, head: String, body: Vec<u8>, sent_first: usize) -> SlowRequest {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body[..sent_first]).await.unwrap();
        stream.flush().await.unwrap();
        SlowRequest {
            stream,
            rest: body[sent_first..].to_vec(),
        }
    }

    async fn finish(mut self) -> String {
        self.stream.write_all(&self.rest).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(20),
            self.stream.read_to_end(&mut answer),
        )
        .await;
        String::from_utf8_lossy(&answer).to_string()
    }
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

#[tokio::test]
async fn drain_timeout_refuses_what_is_not_a_number_of_seconds() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["-1", "NaN", "inf", "86401", "soon"] {
        let out = byoc(dir.path(), &["serve", &format!("--drain-timeout={bad}")]).await;
        let err = fails(&out, 2);
        assert!(
            err.contains("--drain-timeout") && err.contains("seconds"),
            "{bad}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_drains_ends_streams_and_flushes_the_login_history() {
    let drain = Duration::from_secs(3);
    let Some(mut cluster) = Cluster::start("lifecycle drain", 2, &["--drain-timeout", "3"]).await
    else {
        return;
    };
    let env = cluster.get(0).partner_env();
    let partner = Partner::of(&cluster).await;
    let http = reqwest::Client::new();
    let (stopping, survivor) = (1, 0);
    let stopping_org = cluster.get(stopping).org.clone();
    let survivor_org = cluster.get(survivor).org.clone();

    // A conversation, and a subscriber on the instance about to stop that hears its replies.
    let conversation = partner
        .send(&http, &survivor_org.scrt_url, "drain-user", "drain-first")
        .await
        .unwrap()
        .expect("202");
    let agent = AdminClient::new(&survivor_org.login_url, &survivor_org.admin_token).unwrap();
    let (sub, topic) = subscriber(&cluster, &[stopping, survivor]).await;
    let heard = listen(sub, topic, Replay::Earliest);
    let before = agent
        .agent_reply(&conversation, "before the stop")
        .await
        .unwrap();
    wait_for(&heard, &BTreeSet::from([before.replay_id])).await;
    assert!(heard.lock().unwrap().breaks.is_empty());

    // An interaction whose body is still arriving when the stop begins.
    let entry = "drain-in-flight";
    let boundary = "lifecycle-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"json\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--{boundary}--\r\n",
        interaction(&partner.address, "drain-slow-user", entry)
    )
    .into_bytes();
    let scrt = host_port(&stopping_org.scrt_url);
    let head = format!(
        "POST /api/v1/interactions HTTP/1.1\r\nHost: {scrt}\r\nAuthorization: Bearer {}\r\nOrgId: {}\r\nAuthorizationContext: {}\r\nRequestId: drain-in-flight\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        partner.token, partner.org_id, partner.ccd, body.len()
    );
    let in_flight = SlowRequest::start(&scrt, head, body, 40).await;
    // A request that never completes: it holds the drain until the deadline.
    let login = host_port(&stopping_org.login_url);
    let _stalled = SlowRequest::start(
        &login,
        format!("POST /services/oauth2/token HTTP/1.1\r\nHost: {login}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"),
        b"grant_type=urn".to_vec(),
        14,
    )
    .await;

    // Login attempts (refused: unknown users) racing the stop: SIGTERM once 30 of 40 were
    // answered. Every attempt that got an answer must be in the history.
    let run = format!("{}", std::process::id());
    let token_url = format!("{}/services/oauth2/token", stopping_org.login_url);
    let answered = Arc::new(AtomicUsize::new(0));
    let mut attempts = Vec::new();
    for n in 0..40 {
        let username = format!("drain-{run}-{n}@example.com");
        let assertion = bearer(&env, Some(&username)).assertion().unwrap();
        let (http, token_url, answered) = (http.clone(), token_url.clone(), answered.clone());
        attempts.push(tokio::spawn(async move {
            let resp = http
                .post(&token_url)
                .form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.as_str()),
                ])
                .send()
                .await;
            let status = resp.ok().map(|r| r.status().as_u16());
            if status.is_some() {
                answered.fetch_add(1, Ordering::SeqCst);
            }
            (username, status)
        }));
    }
    while answered.load(Ordering::SeqCst) < 30 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let signalled = Instant::now();
    cluster.term(stopping).unwrap();
    let mut answered_attempts = Vec::new();
    for a in attempts {
        let (username, status) = a.await.unwrap();
        match status {
            Some(400) => answered_attempts.push(username),
            // Cut off by the deadline, or never reached the server: not an answer.
            Some(503) | None => {}
            Some(other) => panic!("{username}: HTTP {other}"),
        }
    }

    // The listeners close at once: a new connection is refused.
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(&scrt).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        refused,
        "the Interaction API still accepts connections while draining"
    );

    // The in-flight interaction finishes: 202, and stored.
    let answer = in_flight.finish().await;
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let answer_body: Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default()).unwrap();
    let in_flight_conversation = answer_body["conversationIdentifier"]
        .as_str()
        .expect("conversationIdentifier")
        .to_string();

    // The process exits 0 once the stalled request's deadline passed, not before, and not long
    // after.
    let status = cluster
        .wait(stopping, drain + Duration::from_secs(10))
        .await
        .unwrap();
    let stopped_after = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        stopped_after >= drain - Duration::from_millis(100),
        "stopped after {stopped_after:?}, before the drain deadline {drain:?} with a request open"
    );
    eprintln!(
        "clean stop: {} of 40 login attempts answered before/while stopping; exited after {stopped_after:?} (drain deadline {drain:?})",
        answered_attempts.len()
    );

    // The subscriber was told to go (UNAVAILABLE) and resumed on the survivor, missing nothing.
    let after = agent
        .agent_reply(&conversation, "after the stop")
        .await
        .unwrap();
    wait_for(&heard, &BTreeSet::from([before.replay_id, after.replay_id])).await;
    {
        let h = heard.lock().unwrap();
        assert_gapless(&h);
        let (why, to) = h.breaks.first().expect("the stream broke").clone();
        assert!(
            why.contains("Unavailable") && why.contains("shutting down"),
            "{why}"
        );
        assert_eq!(to, survivor_org.pubsub_endpoint);
        eprintln!(
            "clean stop: subscriber resubscribed {} time(s): {:?}",
            h.breaks.len(),
            h.breaks
        );
    }

    // Through the survivor: the in-flight entry is stored, every answered attempt recorded.
    let stored = agent
        .conversation(&in_flight_conversation)
        .await
        .expect("the in-flight interaction's conversation");
    assert!(
        stored.entries.iter().any(|e| e.id == entry),
        "the in-flight interaction was answered 202 but is not stored"
    );
    let history = agent
        .login_history(&byoc_proto::oauth::LoginHistoryQuery {
            limit: Some(10_000),
            ..Default::default()
        })
        .await
        .unwrap();
    let recorded: HashSet<&str> = history.iter().map(|e| e.username.as_str()).collect();
    let missing: Vec<&String> = answered_attempts
        .iter()
        .filter(|u| !recorded.contains(u.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered login attempts missing from the history: {missing:?}",
        missing.len(),
        answered_attempts.len()
    );

    // The survivor now holds the subscriber's stream and nothing else: an open stream does not
    // hold the drain, the stop is over well before its deadline.
    let signalled = Instant::now();
    cluster.term(survivor).unwrap();
    let status = cluster
        .wait(survivor, drain + Duration::from_secs(10))
        .await
        .unwrap();
    let stopped_after = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        stopped_after < drain,
        "a stop with only a Pub/Sub stream open took {stopped_after:?}, the whole drain deadline {drain:?}"
    );
    eprintln!("clean stop with one Pub/Sub stream open: exited after {stopped_after:?}");
}

/// `--drain-timeout 0`: the stop waits for nothing, yet the login attempts answered just before
/// it (still in the flusher's queue) are written before the process exits. SQLite, one instance,
/// then a restart on the same data dir to read the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_without_drain_still_writes_the_queued_login_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut instance = super::cluster::start_instance(&data, None, &["--drain-timeout", "0"])
        .await
        .unwrap();
    let env = instance.partner_env();
    let http = reqwest::Client::new();
    let token_url = format!("{}/services/oauth2/token", instance.org.login_url);
    let run = std::process::id();
    let answered = Arc::new(AtomicUsize::new(0));
    let mut attempts = Vec::new();
    for n in 0..200 {
        let username = format!("nodrain-{run}-{n}@example.com");
        let assertion = bearer(&env, Some(&username)).assertion().unwrap();
        let (http, token_url, answered) = (http.clone(), token_url.clone(), answered.clone());
        attempts.push(tokio::spawn(async move {
            let status = http
                .post(&token_url)
                .form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.as_str()),
                ])
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16());
            if status.is_some() {
                answered.fetch_add(1, Ordering::SeqCst);
            }
            (username, status)
        }));
    }
    // SIGTERM as the last ones are answered: they are still in the flusher's queue (a stop that
    // did not wait for the flusher lost 10 to 50 of them in each of four runs).
    while answered.load(Ordering::SeqCst) < 190 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let pid = instance.pid();
    let signalled = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let mut answered_attempts = Vec::new();
    for a in attempts {
        match a.await.unwrap() {
            (username, Some(400)) => answered_attempts.push(username),
            // Cut off by the deadline (503), or never reached the server: not an answer.
            (_, Some(503) | None) => {}
            (username, Some(other)) => panic!("{username}: HTTP {other}"),
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(10), instance.child.wait())
        .await
        .expect("stopped within 10 s")
        .unwrap();
    assert!(status.success(), "{status:?}");
    eprintln!(
        "stop without drain: exited {:?} after SIGTERM; {} of 200 login attempts answered",
        signalled.elapsed(),
        answered_attempts.len()
    );

    let mut instance = super::cluster::start_instance(&data, None, &[])
        .await
        .unwrap();
    let admin = AdminClient::new(&instance.org.login_url, &instance.org.admin_token).unwrap();
    let history = admin
        .login_history(&byoc_proto::oauth::LoginHistoryQuery {
            limit: Some(10_000),
            ..Default::default()
        })
        .await
        .unwrap();
    let recorded: HashSet<&str> = history.iter().map(|e| e.username.as_str()).collect();
    let missing: Vec<&String> = answered_attempts
        .iter()
        .filter(|u| !recorded.contains(u.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered login attempts missing from the history: {missing:?}",
        missing.len(),
        answered_attempts.len()
    );
    instance.child.start_kill().unwrap();
    let _ = instance.child.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_instance_under_load_loses_nothing_acknowledged() {
    let Some(mut cluster) = Cluster::start("lifecycle kill9", 2, &[]).await else {
        return;
    };
    let (killed, survivor) = (1, 0);
    let killed_org = cluster.get(killed).org.clone();
    let survivor_org = cluster.get(survivor).org.clone();
    let partner = Partner::of(&cluster).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let conversation = partner
        .send(
            &http,
            &survivor_org.scrt_url,
            "kill-agent-user",
            "kill-first",
        )
        .await
        .unwrap()
        .expect("202");
    let agents = [
        AdminClient::new(&survivor_org.login_url, &survivor_org.admin_token).unwrap(),
        AdminClient::new(&killed_org.login_url, &killed_org.admin_token).unwrap(),
    ];
    // The subscriber starts on the instance that will die.
    let (sub, topic) = subscriber(&cluster, &[killed, survivor]).await;
    let heard = listen(sub, topic, Replay::Earliest);
    let first = agents[1]
        .agent_reply(&conversation, "warm-up")
        .await
        .unwrap();
    wait_for(&heard, &BTreeSet::from([first.replay_id])).await;

    // Load: interactions to both instances, agent replies (events) on both, until told.
    let stop = Arc::new(AtomicBool::new(false));
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    // (instance, conversation, entry) answered 202.
    let acknowledged: Arc<Mutex<Vec<(usize, String, String)>>> = Arc::default();
    let survivor_failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..6usize {
        let instance = if w.is_multiple_of(2) {
            killed
        } else {
            survivor
        };
        let scrt_url = cluster.get(instance).org.scrt_url.clone();
        let (http, partner, stop) = (http.clone(), partner.clone(), stop.clone());
        let (acknowledged, survivor_failures) = (acknowledged.clone(), survivor_failures.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let entry = format!("kill-{w}-{n}");
                let sent = partner
                    .send(&http, &scrt_url, &format!("kill-user-{w}"), &entry)
                    .await;
                match sent {
                    Ok(Some(c)) => acknowledged.lock().unwrap().push((instance, c, entry)),
                    other if instance == survivor => survivor_failures
                        .lock()
                        .unwrap()
                        .push(format!("{entry}: {other:?}")),
                    _ => {}
                }
            }
        }));
    }
    // Agent replies alternate between the instances while both live, then go to the survivor.
    let acked_events: Arc<Mutex<Vec<u64>>> = Arc::default();
    let publisher = {
        let (stop, acked_events, survivor_failures) = (
            stop.clone(),
            acked_events.clone(),
            survivor_failures.clone(),
        );
        let conversation = conversation.clone();
        let killed_at = killed_at.clone();
        let agents = agents.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let instance = if killed_at.lock().unwrap().is_none() && n.is_multiple_of(2) {
                    killed
                } else {
                    survivor
                };
                match agents[instance]
                    .agent_reply(&conversation, &format!("event {n}"))
                    .await
                {
                    Ok(sent) => acked_events.lock().unwrap().push(sent.replay_id),
                    Err(e) if instance == survivor => survivor_failures
                        .lock()
                        .unwrap()
                        .push(format!("reply {n}: {e}")),
                    Err(_) => {}
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.kill9(killed).await;
    let kill_time = Instant::now();
    *killed_at.lock().unwrap() = Some(kill_time);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    publisher.await.unwrap();

    // The survivor answered everything.
    let failures = survivor_failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "the survivor failed requests: {failures:?}"
    );

    // Every interaction either instance acknowledged is stored (read through the survivor).
    let acknowledged = acknowledged.lock().unwrap().clone();
    let by_killed = acknowledged.iter().filter(|(i, _, _)| *i == killed).count();
    assert!(
        by_killed > 10,
        "the killed instance took load: {by_killed} acknowledged"
    );
    let conversations: HashSet<&String> = acknowledged.iter().map(|(_, c, _)| c).collect();
    let mut stored = HashSet::new();
    for c in conversations {
        let detail = agents[survivor]
            .conversation(c)
            .await
            .expect("conversation");
        stored.extend(detail.entries.into_iter().map(|e| e.id));
    }
    let lost: Vec<&String> = acknowledged
        .iter()
        .map(|(_, _, e)| e)
        .filter(|e| !stored.contains(*e))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged interactions lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );

    // The subscriber moved to the survivor and got every acknowledged event, each once, in
    // order, with no gap in the replay ids.
    let acked: BTreeSet<u64> = acked_events.lock().unwrap().iter().copied().collect();
    wait_for(&heard, &acked).await;
    let h = heard.lock().unwrap();
    assert_gapless(&h);
    let (why, to) = h.breaks.first().expect("the stream broke").clone();
    assert_eq!(to, survivor_org.pubsub_endpoint, "{why}");
    let first_after = h
        .events
        .iter()
        .find(|(_, at)| *at > kill_time)
        .map(|(_, at)| at.duration_since(kill_time));
    eprintln!(
        "kill -9: {} interactions acknowledged ({by_killed} by the killed instance), none lost; {} events acknowledged, {} received gapless ({}..={}); the stream broke with {why:?}, resubscribed at {to}; first event after the kill delivered {first_after:?} after it",
        acknowledged.len(),
        acked.len(),
        h.events.len(),
        h.events.first().map(|(e, _)| e.replay_id).unwrap_or(0),
        h.events.last().map(|(e, _)| e.replay_id).unwrap_or(0),
    );
}
