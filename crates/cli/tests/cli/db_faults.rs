//! Database faults, survived (issue 13, item 4): a real `byoc serve` whose PostgreSQL connections
//! go through a TCP proxy ([`byoc_testkit::proxy::TcpProxy`]) that cuts, stalls or refuses them,
//! and `pg_terminate_backend` of its sessions (what a PostgreSQL restart does to them). Each
//! test checks that every request is answered within a bounded time in its host's error shape
//! (never a hang), that byoc serves again by itself once the database is back, and that every
//! interaction answered 202 is in the database afterwards. The shared PostgreSQL server is never
//! restarted here (`scripts/pg-restart-drill` does that, by hand).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use byoc_client::pubsub::Code;
use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_testkit::proxy::{through, upstream_of, TcpProxy};
use serde_json::Value;

use super::cluster::{start_instance, Instance};

/// No request may take longer than this while the database is in trouble (the fault-free path
/// answers in milliseconds; byoc's own deadlines are 2 s to acquire a connection and 6 s for a
/// batch). Generous: it tells a bounded answer from a hang, it does not time byoc.
const BOUND: Duration = Duration::from_secs(10);
/// How long byoc may take to serve again once the database is back.
const RECOVERY: Duration = Duration::from_secs(20);

/// One `byoc serve` on a fresh database, its PostgreSQL connections through a proxy.
struct Fixture {
    _dir: tempfile::TempDir,
    /// The database's own URL (not through the proxy).
    database_url: String,
    proxy: TcpProxy,
    instance: Instance,
    http: reqwest::Client,
    token: String,
    interactions_url: String,
    address: String,
    ccd: String,
}

async fn fixture(label: &str) -> Option<Fixture> {
    let database_url = byoc_store::testing::postgres_url(label).await?;
    let upstream = upstream_of(&database_url).expect("the PostgreSQL address");
    let proxy = TcpProxy::start(upstream).await.expect("proxy");
    let dir = tempfile::tempdir().unwrap();
    let instance = start_instance(
        &dir.path().join("data"),
        Some(&through(&database_url, proxy.addr())),
        &[],
    )
    .await
    .expect("byoc serve through the proxy");
    let env = instance.partner_env();
    let get = |k: &str| {
        env.get(k)
            .unwrap_or_else(|| panic!("{k} in partner.env"))
            .to_string()
    };
    let token = JwtBearer::new(JwtBearerSettings {
        token_url: get("SF_AUTH_ENDPOINT"),
        consumer_key: get("SF_CONSUMER_KEY"),
        username: get("SF_SUBJECT"),
        audience: get("SF_AUDIENCE"),
        private_key_pem: get("SF_PRIVATE_KEY"),
    })
    .unwrap()
    .fetch()
    .await
    .expect("token")
    .access_token;
    Some(Fixture {
        _dir: dir,
        database_url,
        proxy,
        http: reqwest::Client::builder()
            // A hang shows as a slow failure of the request, not as a stuck test.
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        token,
        interactions_url: format!("{}/api/v1/interactions", get("SF_SCRT_INSTANCE_URL")),
        address: get("CHANNEL_ADDRESS_IDENTIFIER"),
        ccd: get("SF_AUTHORIZATION_CONTEXT"),
        instance,
    })
}

/// What one interaction request got.
#[derive(Debug, Clone)]
struct Outcome {
    entry: String,
    /// `None`: no HTTP answer at all (transport error or the client's 30 s timeout).
    status: Option<u16>,
    body: Value,
    elapsed: Duration,
}

impl Fixture {
    /// Send one text message as `from`, entry id `entry`.
    async fn send(&self, from: &str, entry: &str) -> Outcome {
        let body =
            super::cluster::text_interaction(&self.address, from, entry, &format!("fault {entry}"));
        let form = reqwest::multipart::Form::new().part(
            "json",
            reqwest::multipart::Part::text(body.to_string())
                .mime_str("application/json")
                .unwrap(),
        );
        let started = Instant::now();
        let resp = self
            .http
            .post(&self.interactions_url)
            .bearer_auth(&self.token)
            .header("OrgId", &self.instance.org.org_id)
            .header("AuthorizationContext", &self.ccd)
            .header("RequestId", uuid_like(entry))
            .multipart(form)
            .send()
            .await;
        let (status, body) = match resp {
            Ok(r) => {
                let status = r.status().as_u16();
                (Some(status), r.json::<Value>().await.unwrap_or(Value::Null))
            }
            Err(_) => (None, Value::Null),
        };
        Outcome {
            entry: entry.to_string(),
            status,
            body,
            elapsed: started.elapsed(),
        }
    }

    /// `workers` clients sending messages back to back until `stop`; every outcome.
    fn burst(
        self: &Arc<Self>,
        tag: &str,
        workers: usize,
        stop: Arc<AtomicBool>,
    ) -> tokio::task::JoinHandle<Vec<Outcome>> {
        let me = self.clone();
        let tag = tag.to_string();
        tokio::spawn(async move {
            let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
            let mut tasks = Vec::new();
            for w in 0..workers {
                let (me, stop, outcomes, tag) =
                    (me.clone(), stop.clone(), outcomes.clone(), tag.clone());
                tasks.push(tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let o = me
                            .send(&format!("{tag}-user-{w}"), &format!("{tag}-{w}-{n}"))
                            .await;
                        outcomes.lock().unwrap().push(o);
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let v = outcomes.lock().unwrap().clone();
            v
        })
    }

    /// How long until an interaction is accepted again (polling), or a panic after
    /// [`RECOVERY`].
    async fn until_accepted(&self, tag: &str) -> Duration {
        let started = Instant::now();
        let mut n = 0;
        loop {
            n += 1;
            let o = self
                .send(&format!("{tag}-probe"), &format!("{tag}-probe-{n}"))
                .await;
            if o.status == Some(202) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < RECOVERY,
                "byoc did not accept interactions again within {RECOVERY:?} of the database coming back; last answer {o:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn admin(&self) -> byoc_client::AdminClient {
        byoc_client::AdminClient::new(&self.instance.org.login_url, &self.instance.org.admin_token)
            .unwrap()
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.instance.org.login_url))
            .send()
            .await
            .expect("an answer");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }
}

/// A request id in the UUID shape the Interaction API wants, derived from the entry id.
fn uuid_like(entry: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    entry.hash(&mut h);
    let a = h.finish();
    entry.len().hash(&mut h);
    let b = h.finish();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// Every outcome was answered within [`BOUND`], as a 202 or as the Interaction API's coded 503
/// (`{"code": 10094, "message": ...}`); returns (accepted, refused).
fn check_answers(what: &str, outcomes: &[Outcome]) -> (usize, usize) {
    let mut accepted = 0;
    let mut refused = 0;
    let slowest = outcomes.iter().map(|o| o.elapsed).max().unwrap_or_default();
    for o in outcomes {
        assert!(
            o.elapsed < BOUND,
            "{what}: a request took {:?} (bound {BOUND:?}): {o:?}",
            o.elapsed
        );
        match o.status {
            Some(202) => accepted += 1,
            Some(503) => {
                assert_eq!(o.body["code"], 10094, "{what}: the coded 503: {o:?}");
                assert!(o.body["message"].is_string(), "{what}: {o:?}");
                refused += 1;
            }
            _ => panic!("{what}: neither a 202 nor the coded 503: {o:?}"),
        }
    }
    eprintln!(
        "{what}: {} requests, {accepted} accepted, {refused} refused with the coded 503, slowest {slowest:?}",
        outcomes.len()
    );
    (accepted, refused)
}

/// Every acknowledged interaction is stored (read through the admin API once byoc is back).
async fn check_nothing_acknowledged_lost(f: &Fixture, outcomes: &[Outcome]) {
    let admin = f.admin();
    let mut conversations: std::collections::HashMap<String, Vec<String>> = Default::default();
    for o in outcomes.iter().filter(|o| o.status == Some(202)) {
        let c = o.body["conversationIdentifier"]
            .as_str()
            .unwrap_or_else(|| panic!("a 202 names its conversation: {o:?}"));
        conversations
            .entry(c.to_string())
            .or_default()
            .push(o.entry.clone());
    }
    let mut lost = Vec::new();
    for (c, entries) in &conversations {
        let stored: std::collections::HashSet<String> = admin
            .conversation(c)
            .await
            .expect("the conversation, once byoc is back")
            .entries
            .into_iter()
            .map(|e| e.id)
            .collect();
        lost.extend(entries.iter().filter(|e| !stored.contains(*e)).cloned());
    }
    assert!(lost.is_empty(), "acknowledged interactions lost: {lost:?}");
}

/// (a) Connections cut, then refused for a moment, under a burst: every request is answered
/// within the bound (202 or the coded 503), byoc accepts again by itself, nothing that got a 202
/// is lost.
#[tokio::test]
async fn connections_cut_under_a_burst_fail_fast_and_lose_nothing_acknowledged() {
    let Some(f) = fixture("faults_cut").await else {
        return;
    };
    let f = Arc::new(f);
    let stop = Arc::new(AtomicBool::new(false));
    let burst = f.burst("cut", 8, stop.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Cut every connection, refuse new ones for 1.5 s (the database is gone), cut again.
    f.proxy.refuse(true);
    f.proxy.cut();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    f.proxy.cut();
    f.proxy.refuse(false);
    let healed = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let outcomes = burst.await.unwrap();
    let recovered = f.until_accepted("cut").await;
    eprintln!(
        "cut: accepting again {:?} after the proxy healed",
        healed.elapsed() - Duration::from_millis(1500) + recovered
    );
    let (accepted, refused) = check_answers("cut", &outcomes);
    assert!(accepted > 0, "the burst got going");
    assert!(refused > 0, "the outage was seen by some requests");
    check_nothing_acknowledged_lost(&f, &outcomes).await;
}

/// (b) A stall (the database never answers, connections stay open): requests fail within the
/// bound instead of hanging, and byoc recovers once traffic flows again.
#[tokio::test]
async fn a_stalled_database_fails_requests_fast_then_recovers() {
    let Some(f) = fixture("faults_stall").await else {
        return;
    };
    let f = Arc::new(f);
    let stop = Arc::new(AtomicBool::new(false));
    let burst = f.burst("stall", 4, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    f.proxy.stall(true);
    let stalled = Instant::now();
    // One request started inside the stall: its time to the first error.
    let first = f.send("stall-single", "stall-single-1").await;
    eprintln!(
        "stall: a request sent during the stall answered {:?} after {:?}",
        first.status, first.elapsed
    );
    assert_eq!(first.status, Some(503), "{first:?}");
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(stalled.elapsed())).await;
    f.proxy.stall(false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = burst.await.unwrap();
    outcomes.push(first);
    let recovered = f.until_accepted("stall").await;
    eprintln!("stall: accepting again {recovered:?} after the stall ended (+0.5 s)");
    let (_, refused) = check_answers("stall", &outcomes);
    assert!(refused > 0, "the stall was seen by some requests");
    check_nothing_acknowledged_lost(&f, &outcomes).await;
}

/// (c) The database refusing connections at start: `byoc serve` exits non-zero within a bounded
/// time with a message that says the database is not reachable (it does not wait for it).
#[tokio::test]
async fn serve_exits_with_a_clear_message_when_the_database_refuses_connections() {
    let Some(database_url) = byoc_store::testing::postgres_url("faults_refuse").await else {
        return;
    };
    let proxy = TcpProxy::start(upstream_of(&database_url).unwrap())
        .await
        .unwrap();
    proxy.refuse(true);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(super::BYOC)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--scrt-listen",
                "127.0.0.1:0",
                "--pubsub-listen",
                "127.0.0.1:0",
                "--https-listen",
                "127.0.0.1:0",
                "--scrt-https-listen",
                "127.0.0.1:0",
                "--database-url",
                &through(&database_url, proxy.addr()),
            ])
            .env_remove("DATABASE_URL")
            .env("BYOC_LOG", "warn")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("byoc serve exits within 30 s when the database refuses connections")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "refused at start: exit {:?} after {:?}: {stderr}",
        out.status.code(),
        started.elapsed()
    );
    assert!(!out.status.success());
    assert!(
        stderr.contains("can't open the database") && stderr.contains("not reachable"),
        "{stderr}"
    );
    // The URL is named, through the proxy.
    assert!(stderr.contains(&proxy.addr().to_string()), "{stderr}");
}

/// (d) Every byoc session terminated by the server mid-burst (what a PostgreSQL restart does
/// to them): requests fail fast or succeed, byoc reconnects by itself, nothing acknowledged is
/// lost.
#[tokio::test]
async fn terminated_backends_mid_burst_recover_and_lose_nothing_acknowledged() {
    let Some(f) = fixture("faults_terminate").await else {
        return;
    };
    let f = Arc::new(f);
    let name = f
        .database_url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let admin_url = std::env::var("BYOC_TEST_POSTGRES")
        .unwrap_or_else(|_| byoc_store::testing::DEFAULT_ADMIN_URL.to_string());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let burst = f.burst("term", 8, stop.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut terminated = 0i64;
    for _ in 0..3 {
        // Only this test's database: other tests' sessions are never touched.
        let n: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        terminated += n;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    let outcomes = burst.await.unwrap();
    let recovered = f.until_accepted("term").await;
    eprintln!("terminate: {terminated} sessions terminated; accepting again after {recovered:?}");
    assert!(terminated > 0, "byoc had sessions to terminate");
    let (accepted, _) = check_answers("terminate", &outcomes);
    assert!(accepted > 0);
    check_nothing_acknowledged_lost(&f, &outcomes).await;
}

/// (e) While the database is down: `/ready` is 503 and `/health` 200 on both HTTP hosts, REST
/// (the admin API, in the REST API's shape) answers 503 `SERVER_UNAVAILABLE`, gRPC `UNAVAILABLE`; once it is back `/ready`
/// is 200 again by itself.
#[tokio::test]
async fn ready_follows_the_database_health_stays_up_grpc_is_unavailable() {
    let Some(f) = fixture("faults_ready").await else {
        return;
    };
    let org = f.instance.org.clone();
    let scrt_get = |path: &str| {
        let (http, url) = (f.http.clone(), format!("{}{path}", org.scrt_url));
        async move {
            let r = http.get(url).send().await.expect("an answer");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    assert_eq!(f.get("/health").await.0, 200);
    assert_eq!(f.get("/ready").await.0, 200);
    assert_eq!(scrt_get("/ready").await.0, 200);

    // Pub/Sub through byoc's own client, with the CA of the data dir.
    let subscriber = byoc_client::pubsub::Subscriber::connect(
        byoc_client::pubsub::PubSubSettings {
            endpoint: org.pubsub_endpoint.clone(),
            ca_cert_pem: Some(std::fs::read_to_string(&org.ca_cert).unwrap()),
            instance_url: org.instance_url.clone(),
            tenant_id: org.org_id.clone(),
        },
        Arc::new(byoc_client::pubsub::StaticToken(f.token.clone())),
    )
    .await
    .unwrap();
    // A schema id no topic has: answered from the database's stored schemas.
    let missing = subscriber.schema("no-such-schema-id").await.unwrap_err();
    assert!(
        matches!(&missing, byoc_client::pubsub::PubSubError::Status { code, .. } if *code == Code::NotFound),
        "{missing:?}"
    );

    // Down: every connection cut, new ones refused.
    f.proxy.refuse(true);
    f.proxy.cut();
    let down = Instant::now();
    let (status, body) = f.get("/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(scrt_get("/ready").await.0, 503);
    assert_eq!(f.get("/health").await.0, 200);
    assert_eq!(scrt_get("/health").await.0, 200);
    eprintln!("down: /ready 503 within {:?}", down.elapsed());

    // The admin API (the REST API's error shape): listing conversations reads the database.
    let started = Instant::now();
    let r = f
        .http
        .get(format!("{}/admin/v1/conversations", org.login_url))
        .bearer_auth(&org.admin_token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    eprintln!(
        "down: admin API {status} after {:?}: {body}",
        started.elapsed()
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE", "{body}");
    assert!(started.elapsed() < BOUND);

    // gRPC.
    let started = Instant::now();
    let e = subscriber.schema("no-such-schema-id").await.unwrap_err();
    eprintln!("down: gRPC GetSchema after {:?}: {e}", started.elapsed());
    assert!(
        matches!(&e, byoc_client::pubsub::PubSubError::Status { code, .. } if *code == Code::Unavailable),
        "{e:?}"
    );
    assert!(started.elapsed() < BOUND);

    // The Interaction API: the coded 503.
    let o = f.send("ready-user", "ready-1").await;
    check_answers("down", std::slice::from_ref(&o));
    assert_eq!(o.status, Some(503));

    // Back: /ready by itself.
    f.proxy.refuse(false);
    let back = Instant::now();
    loop {
        if f.get("/ready").await.0 == 200 && scrt_get("/ready").await.0 == 200 {
            break;
        }
        assert!(back.elapsed() < RECOVERY, "/ready stayed 503");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("back: /ready 200 after {:?}", back.elapsed());
    f.until_accepted("ready").await;
}

/// Token requests while the database is away: answered from memory (the token path reads no
/// database) within the bound, and each answered attempt reaches the login history once the
/// database is back — the flusher keeps its rows while the database is unavailable.
#[tokio::test]
async fn logins_during_an_outage_are_answered_and_reach_the_history_afterwards() {
    let Some(f) = fixture("faults_logins").await else {
        return;
    };
    let org = f.instance.org.clone();
    let env = f.instance.partner_env();
    let get = |k: &str| env.get(k).unwrap_or_default().to_string();
    let bearer = JwtBearer::new(JwtBearerSettings {
        token_url: get("SF_AUTH_ENDPOINT"),
        consumer_key: get("SF_CONSUMER_KEY"),
        username: get("SF_SUBJECT"),
        audience: get("SF_AUDIENCE"),
        private_key_pem: get("SF_PRIVATE_KEY"),
    })
    .unwrap();
    let history = || {
        let (http, url, admin) = (
            f.http.clone(),
            format!("{}/admin/v1/login-history?limit=10000", org.login_url),
            org.admin_token.clone(),
        );
        async move {
            let r = http.get(url).bearer_auth(admin).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Vec<Value>>().await.unwrap().len()
        }
    };
    // The fixture's own token request is written first.
    let settled = Instant::now();
    let mut before = history().await;
    while before == 0 && settled.elapsed() < RECOVERY {
        tokio::time::sleep(Duration::from_millis(100)).await;
        before = history().await;
    }

    f.proxy.refuse(true);
    f.proxy.cut();
    let mut answered = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let got = bearer.fetch().await;
        assert!(
            started.elapsed() < BOUND,
            "a token request took {:?}",
            started.elapsed()
        );
        if got.is_ok() {
            answered += 1;
        }
    }
    eprintln!("down: {answered} of 5 token requests answered 200");
    assert_eq!(answered, 5, "the token path needs no database");
    // Longer than the flusher's ordinary retries (about 1.5 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    f.proxy.refuse(false);

    let back = Instant::now();
    loop {
        let now = history().await;
        if now >= before + answered {
            assert_eq!(now, before + answered, "each attempt once");
            break;
        }
        assert!(
            back.elapsed() < RECOVERY,
            "login history has {now} rows, expected {}",
            before + answered
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "back: the outage's logins in the history after {:?}",
        back.elapsed()
    );
}
