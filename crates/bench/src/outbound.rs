//! `byoc-bench outbound`: the outbound path of issue 5, end to end over loopback.
//!
//! Two byoc servers run in this process, each on SQLite in its own temporary data dir with the
//! sample setup: **A** as `byoc serve` starts by default, **B** with the echo agent
//! (`--echo-agent`). Each round measures, in turn:
//!
//! - **interactions** (A, the baseline): `POST /api/v1/interactions` as fast as `--concurrency`
//!   keep-alive clients go; only 202s count (each is committed before it is answered);
//! - **latency** (B): inbound messages at a steady `--rate` for `--seconds`, open loop; each is
//!   answered by the echo agent, published, and delivered to `--subscribers` Pub/Sub
//!   subscriptions (the SDK subscriber: TLS, Avro decoding). Latency runs from the moment the
//!   client starts sending the message to the moment a subscriber has decoded its echo;
//! - **fan-out** (B): inbound messages as fast as `--concurrency` clients go; events delivered
//!   per second, summed over the subscribers, and per subscriber.
//!
//! With `--postgres`, both servers run on PostgreSQL instead (a fresh database each, made on the
//! server `BYOC_TEST_POSTGRES` names, default `postgres://postgres@127.0.0.1:5432/postgres`), and
//! a third server **B2** joins B's database as a second instance (no echo agent). Each round
//! then also measures:
//!
//! - **across instances**: the latency phase again, messages sent to B (whose echo agent
//!   publishes the reply there) and the subscribers on B2, so every event reaches them through
//!   PostgreSQL's change notices (issue 13); the same-instance latency phase of the same round
//!   is its baseline.
//!
//! The medians of the rounds are printed. Every phase is bounded: sending stops after
//! `--seconds`, and deliveries are awaited at most `--drain` seconds more.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use byoc_client::pubsub::{Delivery, PubSubSettings, Replay, StaticToken, Subscriber};
use byoc_client::token::{JwtBearer, JwtBearerSettings};
use clap::Args;
use serde::Serialize;

#[derive(Debug, Clone, Args)]
pub struct OutboundArgs {
    /// Length of each timed phase, in seconds
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    seconds: f64,
    /// Inbound messages per second in the latency phase
    #[arg(long, value_name = "N", default_value_t = 200.0)]
    rate: f64,
    /// Pub/Sub subscribers receiving every echo
    #[arg(long, value_name = "N", default_value_t = 4)]
    subscribers: usize,
    /// Concurrent clients in the interactions and fan-out phases
    #[arg(long, value_name = "C", default_value_t = 32)]
    concurrency: usize,
    /// Distinct end users (conversations) the messages come from
    #[arg(long, value_name = "N", default_value_t = 1000)]
    users: usize,
    /// Rounds of (interactions, latency, fan-out); the medians are printed
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: usize,
    /// The echo agent's delay (`--echo-delay-ms`); it is part of the measured latency
    #[arg(long, value_name = "MS", default_value_t = 0)]
    echo_delay_ms: u64,
    /// After sending stops, wait at most this long for the remaining deliveries, in seconds
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    drain: f64,
    /// Worker threads of the servers' runtime [default: the number of cores]
    #[arg(long, value_name = "N")]
    server_threads: Option<usize>,
    /// Worker threads of the load generator's runtime [default: the number of cores]
    #[arg(long, value_name = "N")]
    client_threads: Option<usize>,
    /// Print one JSON document instead of text
    #[arg(long)]
    json: bool,
    /// Run on PostgreSQL (fresh databases) and add the across-instances latency phase
    #[arg(long)]
    postgres: bool,
}

/// The platform event topic of the sample channel.
const TOPIC: &str = "/event/Byoc_Outbound__e";
const ECHO_PREFIX: &str = "echo: ";

#[derive(Debug, Clone, Default, Serialize)]
struct Interactions {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Latency {
    sent: u64,
    /// Deliveries over all subscribers (`sent × subscribers` when nothing was missed).
    delivered: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
struct FanOut {
    /// Inbound messages accepted (202) per second.
    inbound_per_second: f64,
    /// Events delivered per second, summed over the subscribers.
    delivered_per_second: f64,
    /// The same, per subscriber.
    per_subscriber_per_second: f64,
    sent: u64,
    delivered: u64,
    errors: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Round {
    interactions: Interactions,
    latency: Latency,
    fan_out: FanOut,
    /// `--postgres`: reply published on B, subscribers on B2.
    across: Option<Latency>,
}

#[derive(Debug, Serialize)]
struct Report {
    backend: &'static str,
    seconds: f64,
    rate: f64,
    subscribers: usize,
    concurrency: usize,
    echo_delay_ms: u64,
    rounds: Vec<Round>,
    median: Medians,
}

#[derive(Debug, Serialize)]
struct Medians {
    interactions_per_second: f64,
    interactions_p50_ms: f64,
    interactions_p99_ms: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    latency_delivered_fraction: f64,
    fan_out_inbound_per_second: f64,
    fan_out_delivered_per_second: f64,
    fan_out_per_subscriber_per_second: f64,
    /// Fan-out deliveries per second over the interactions-only rate.
    delivered_to_interactions: f64,
    across_p50_ms: Option<f64>,
    across_p99_ms: Option<f64>,
    across_delivered_fraction: Option<f64>,
}

/// What a client of one server needs.
#[derive(Clone)]
pub(crate) struct Org {
    scrt_url: String,
    org_id: String,
    ccd: String,
    address: String,
    pubsub: PubSubSettings,
    token: String,
}

pub fn run(args: &OutboundArgs) -> anyhow::Result<()> {
    if args.seconds <= 0.0 || args.rate <= 0.0 || args.rounds == 0 || args.subscribers == 0 {
        bail!("--seconds, --rate, --rounds and --subscribers must be positive");
    }
    byoc_server::install_crypto_provider();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads.unwrap_or(cores))
        .thread_name("byoc-server")
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.unwrap_or(cores))
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let temp = tempfile::tempdir()?;
    let plain_dir = temp.path().join("plain");
    let echo_dir = temp.path().join("echo");
    let delay = Duration::from_millis(args.echo_delay_ms);
    let second_dir = temp.path().join("echo-second");
    let (plain, echo, second) = server_rt.block_on(async {
        let (plain_db, echo_db) = if args.postgres {
            let fresh = |label: &'static str| async move {
                byoc_store::testing::postgres_url(label)
                    .await
                    .context("--postgres: no PostgreSQL server answers")
            };
            (
                Some(fresh("bench outbound A").await?),
                Some(fresh("bench outbound B").await?),
            )
        } else {
            (None, None)
        };
        let plain = start_server(&plain_dir, None, plain_db).await?;
        let echo = start_server(&echo_dir, Some(delay), echo_db.clone()).await?;
        let second = match echo_db {
            Some(url) => Some(start_server(&second_dir, None, Some(url)).await?),
            None => None,
        };
        anyhow::Ok((plain, echo, second))
    })?;

    let result = client_rt.block_on(async {
        let a = org(plain.org_file(), &plain_dir)
            .await
            .context("server A (no echo agent)")?;
        let b = org(echo.org_file(), &echo_dir)
            .await
            .context("server B (echo agent)")?;
        // B2: B's org and token (B set the sample up; a token is good on every instance), B2's
        // Pub/Sub endpoint.
        let b2 = second.as_ref().map(|s| {
            let file = s.org_file();
            let mut org = b.clone();
            org.pubsub.endpoint = file.pubsub_endpoint.clone();
            org.pubsub.instance_url = file.instance_url.clone();
            org.pubsub.ca_cert_pem = std::fs::read_to_string(&file.ca_cert).ok();
            org
        });
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency.max(64))
            .build()?;
        let mut rounds = Vec::with_capacity(args.rounds);
        for round in 0..args.rounds {
            let interactions = interactions_phase(args, &http, &a).await?;
            let latency = latency_phase(args, &http, &b, &b, &format!("latency{round}")).await?;
            let across = match &b2 {
                Some(b2) => {
                    Some(latency_phase(args, &http, &b, b2, &format!("across{round}")).await?)
                }
                None => None,
            };
            let fan_out = fan_out_phase(args, &http, &b, round).await?;
            let r = Round {
                interactions,
                latency,
                fan_out,
                across,
            };
            if !args.json {
                eprintln!("round {}: {}", round + 1, round_text(&r, args.subscribers));
            }
            rounds.push(r);
        }
        anyhow::Ok(rounds)
    });
    server_rt.block_on(async {
        let _ = plain.shutdown().await;
        let _ = echo.shutdown().await;
        if let Some(s) = second {
            let _ = s.shutdown().await;
        }
    });
    let rounds = result?;

    let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let interactions = med(&|r| r.interactions.per_second);
    let delivered = med(&|r| r.fan_out.delivered_per_second);
    let median = Medians {
        interactions_per_second: interactions,
        interactions_p50_ms: med(&|r| r.interactions.p50_ms),
        interactions_p99_ms: med(&|r| r.interactions.p99_ms),
        latency_p50_ms: med(&|r| r.latency.p50_ms),
        latency_p99_ms: med(&|r| r.latency.p99_ms),
        latency_delivered_fraction: med(&|r| {
            r.latency.delivered as f64 / (r.latency.sent as f64 * args.subscribers as f64).max(1.0)
        }),
        fan_out_inbound_per_second: med(&|r| r.fan_out.inbound_per_second),
        fan_out_delivered_per_second: delivered,
        fan_out_per_subscriber_per_second: med(&|r| r.fan_out.per_subscriber_per_second),
        delivered_to_interactions: if interactions > 0.0 {
            delivered / interactions
        } else {
            0.0
        },
        across_p50_ms: args
            .postgres
            .then(|| med(&|r| r.across.as_ref().map_or(0.0, |a| a.p50_ms))),
        across_p99_ms: args
            .postgres
            .then(|| med(&|r| r.across.as_ref().map_or(0.0, |a| a.p99_ms))),
        across_delivered_fraction: args.postgres.then(|| {
            med(&|r| {
                r.across.as_ref().map_or(0.0, |a| {
                    a.delivered as f64 / (a.sent as f64 * args.subscribers as f64).max(1.0)
                })
            })
        }),
    };
    let report = Report {
        backend: if args.postgres { "postgres" } else { "sqlite" },
        seconds: args.seconds,
        rate: args.rate,
        subscribers: args.subscribers,
        concurrency: args.concurrency,
        echo_delay_ms: args.echo_delay_ms,
        rounds,
        median,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report));
    }
    Ok(())
}

async fn start_server(
    data_dir: &Path,
    echo_delay: Option<Duration>,
    database_url: Option<String>,
) -> anyhow::Result<byoc_server::RunningServer> {
    let loopback = "127.0.0.1:0".parse()?;
    let listeners = byoc_server::Listeners::bind(loopback, loopback, loopback).await?;
    let pubsub = byoc_server::pubsub::PubSubConfig {
        // Short keepalives tell the load generator quickly that a subscription is in place.
        keepalive: Duration::from_millis(200),
        echo_agent: echo_delay.map(|delay| byoc_server::pubsub::echo::EchoAgentConfig { delay }),
        ..Default::default()
    };
    byoc_server::start(
        listeners,
        byoc_server::ServerConfig {
            data_dir: data_dir.to_path_buf(),
            database_url,
            empty: false,
            strict: false,
            accepted_audiences: Vec::new(),
            pubsub,
            drain_timeout: byoc_server::DEFAULT_DRAIN_TIMEOUT,
            advertise: Default::default(),
            seed: None,
            allow_clock_control: false,
        },
    )
    .await
}

fn partner_env(data_dir: &Path) -> anyhow::Result<HashMap<String, String>> {
    let path: PathBuf = data_dir.join("partner.env");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('"').replace("\\n", "\n"),
            )
        })
        .collect())
}

/// The sample app's access token (JWT Bearer, as a partner connector gets it) and the org's
/// addresses, from `org.json` and the `partner.env` of `data_dir`.
pub(crate) async fn org(file: &byoc_proto::files::OrgFile, data_dir: &Path) -> anyhow::Result<Org> {
    let env = partner_env(data_dir)?;
    let get = |k: &str| {
        env.get(k)
            .cloned()
            .with_context(|| format!("{k} is missing from partner.env"))
    };
    let token = JwtBearer::new(JwtBearerSettings {
        token_url: get("SF_AUTH_ENDPOINT")?,
        consumer_key: get("SF_CONSUMER_KEY")?,
        username: get("SF_SUBJECT")?,
        audience: get("SF_AUDIENCE")?,
        private_key_pem: get("SF_PRIVATE_KEY")?,
    })?
    .fetch()
    .await?
    .access_token;
    Ok(Org {
        scrt_url: file.scrt_url.clone(),
        org_id: file.org_id.clone(),
        ccd: get("SF_AUTHORIZATION_CONTEXT")?,
        address: get("CHANNEL_ADDRESS_IDENTIFIER")?,
        pubsub: PubSubSettings {
            endpoint: file.pubsub_endpoint.clone(),
            ca_cert_pem: Some(std::fs::read_to_string(&file.ca_cert)?),
            instance_url: file.instance_url.clone(),
            tenant_id: file.org_id.clone(),
        },
        token,
    })
}

/// One inbound text message; `Ok(true)` on 202.
async fn send_message(
    http: &reqwest::Client,
    org: &Org,
    from: &str,
    text: &str,
) -> anyhow::Result<bool> {
    Ok(post_message(http, org, from, text).await?.0)
}

/// One inbound text message: whether it was accepted (202, committed before the answer) and
/// the answer's body (`conversationIdentifier`, the entry's `id`).
pub(crate) async fn post_message(
    http: &reqwest::Client,
    org: &Org,
    from: &str,
    text: &str,
) -> anyhow::Result<(bool, hyper::body::Bytes)> {
    let id = uuid::Uuid::new_v4().to_string();
    let body = serde_json::json!({
        "to": org.address,
        "from": from,
        "interactions": [{
            "timestamp": unix_millis(),
            "interactionType": "EntryInteraction",
            "payload": {
                "id": id,
                "entryType": "Message",
                "abstractMessage": {"messageType": "StaticContentMessage", "id": id, "staticContent": {"formatType": "Text", "text": text}}
            }
        }]
    });
    let form = reqwest::multipart::Form::new().part(
        "json",
        reqwest::multipart::Part::text(body.to_string()).mime_str("application/json")?,
    );
    let response = http
        .post(format!("{}/api/v1/interactions", org.scrt_url))
        .bearer_auth(&org.token)
        .header("OrgId", &org.org_id)
        .header("AuthorizationContext", &org.ccd)
        .header("RequestId", &id)
        .multipart(form)
        .send()
        .await?;
    let accepted = response.status().as_u16() == 202;
    let body = response.bytes().await.unwrap_or_default();
    Ok((accepted, body))
}

#[allow(clippy::disallowed_methods)]
fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn interactions_phase(
    args: &OutboundArgs,
    http: &reqwest::Client,
    org: &Org,
) -> anyhow::Result<Interactions> {
    let (ok, errors, latencies, elapsed) =
        closed_loop(&ClosedLoop::of(args), http, org, "baseline").await?;
    Ok(Interactions {
        per_second: ok as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        errors,
    })
}

/// The interactions load generator's settings: `concurrency` clients sending for `seconds`,
/// from end users `{user_prefix}{n % users}`.
pub(crate) struct ClosedLoop {
    pub concurrency: usize,
    pub seconds: f64,
    pub users: usize,
    pub user_prefix: String,
}

impl ClosedLoop {
    fn of(args: &OutboundArgs) -> ClosedLoop {
        ClosedLoop {
            concurrency: args.concurrency,
            seconds: args.seconds,
            users: args.users,
            user_prefix: "user-".into(),
        }
    }
}

/// `concurrency` clients sending as fast as they are answered, for `seconds`: (accepted,
/// errors, latencies in ms, elapsed). Each message's text is `{tag}-{n}`.
pub(crate) async fn closed_loop(
    args: &ClosedLoop,
    http: &reqwest::Client,
    org: &Org,
    tag: &str,
) -> anyhow::Result<(u64, u64, Vec<f64>, Duration)> {
    let stop = Arc::new(AtomicBool::new(false));
    let seq = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let (http, org, stop, seq, tag, prefix) = (
            http.clone(),
            org.clone(),
            stop.clone(),
            seq.clone(),
            tag.to_string(),
            args.user_prefix.clone(),
        );
        let users = args.users.max(1);
        clients.spawn(async move {
            let (mut ok, mut errors, mut latencies) = (0u64, 0u64, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                match send_message(
                    &http,
                    &org,
                    &format!("{prefix}{}", n % users),
                    &format!("{tag}-{n}"),
                )
                .await
                {
                    Ok(true) => {
                        ok += 1;
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (ok, errors, latencies)
        });
    }
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
    while let Some(joined) = clients.join_next().await {
        let (o, e, l) = joined?;
        ok += o;
        errors += e;
        latencies.extend(l);
    }
    Ok((ok, errors, latencies, elapsed))
}

/// `--subscribers` subscriptions from LATEST, each in place (its first keepalive seen); every
/// echo whose text starts with `echo: <tag>-` is handed to `on_event` with its sequence number
/// and the subscriber's index.
async fn subscribe_all(
    args: &OutboundArgs,
    org: &Org,
    tag: &str,
    on_event: Arc<dyn Fn(usize, u64) + Send + Sync>,
) -> anyhow::Result<tokio::task::JoinSet<()>> {
    let subscriber =
        Subscriber::connect(org.pubsub.clone(), Arc::new(StaticToken(org.token.clone()))).await?;
    let mut tasks = tokio::task::JoinSet::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(args.subscribers);
    let wanted = format!("{ECHO_PREFIX}{tag}-");
    for index in 0..args.subscribers {
        let mut subscription = subscriber.subscribe(TOPIC, Replay::Latest, 100);
        let (ready, wanted, on_event) = (ready_tx.clone(), wanted.clone(), on_event.clone());
        tasks.spawn(async move {
            let mut in_place = false;
            while let Ok(Some(delivery)) = subscription.next().await {
                match delivery {
                    Delivery::Keepalive { .. } if !in_place => {
                        in_place = true;
                        let _ = ready.send(()).await;
                    }
                    Delivery::Keepalive { .. } => {}
                    Delivery::Event(e) => {
                        if let Some(n) = echo_sequence(&e.fields, &wanted) {
                            on_event(index, n);
                        }
                    }
                }
            }
        });
    }
    for _ in 0..args.subscribers {
        match tokio::time::timeout(Duration::from_secs(10), ready_rx.recv()).await {
            Ok(Some(())) => {}
            _ => bail!("a Pub/Sub subscription did not start within 10 s"),
        }
    }
    Ok(tasks)
}

/// The sequence number in an echo `echo: <tag>-<n>`, read from the event's payload field.
fn echo_sequence(fields: &serde_json::Value, wanted: &str) -> Option<u64> {
    let payload = fields.get("Payload__c")?.as_str()?;
    let event: serde_json::Value = serde_json::from_str(payload).ok()?;
    let text = event
        .pointer("/payload/entryPayload/abstractMessage/staticContent/text")?
        .as_str()?;
    text.strip_prefix(wanted)?.parse().ok()
}

/// Messages to `org`, at `--rate`; their echoes as seen by subscribers of `subscribe_on` (the
/// same server, or another instance on its database).
async fn latency_phase(
    args: &OutboundArgs,
    http: &reqwest::Client,
    org: &Org,
    subscribe_on: &Org,
    tag: &str,
) -> anyhow::Result<Latency> {
    let tag = tag.to_string();
    let total = (args.rate * args.seconds).ceil() as usize;
    // Send times in µs since `start`, plus one (0: not sent).
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let latencies: Arc<Mutex<Vec<f64>>> =
        Arc::new(Mutex::new(Vec::with_capacity(total * args.subscribers)));
    let delivered = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let on_event: Arc<dyn Fn(usize, u64) + Send + Sync> = {
        let (sent_at, latencies, delivered) =
            (sent_at.clone(), latencies.clone(), delivered.clone());
        Arc::new(move |_, n| {
            let now_us = start.elapsed().as_micros() as u64;
            let Some(at) = usize::try_from(n).ok().and_then(|n| sent_at.get(n)) else {
                return;
            };
            let at = at.load(Ordering::Relaxed);
            if at > 0 {
                delivered.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut l) = latencies.lock() {
                    l.push(now_us.saturating_sub(at - 1) as f64 / 1000.0);
                }
            }
        })
    };
    let mut subscribers = subscribe_all(args, subscribe_on, &tag, on_event).await?;

    // Open loop: one message every 1/rate s, whatever the answers take.
    let errors = Arc::new(AtomicU64::new(0));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut senders = tokio::task::JoinSet::new();
    for n in 0..total {
        ticker.tick().await;
        let (http, org, sent_at, errors, tag) = (
            http.clone(),
            org.clone(),
            sent_at.clone(),
            errors.clone(),
            tag.clone(),
        );
        let user = format!("user-{}", n % args.users.max(1));
        senders.spawn(async move {
            if let Some(slot) = sent_at.get(n) {
                slot.store(start.elapsed().as_micros() as u64 + 1, Ordering::Relaxed);
            }
            if !matches!(
                send_message(&http, &org, &user, &format!("{tag}-{n}")).await,
                Ok(true)
            ) {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while senders.join_next().await.is_some() {}
    let expected = (total * args.subscribers) as u64;
    let deadline = Instant::now() + Duration::from_secs_f64(args.drain);
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    subscribers.shutdown().await;
    let latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    Ok(Latency {
        sent: total as u64,
        delivered: delivered.load(Ordering::Relaxed),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: percentile(&latencies, 1.0),
        errors: errors.load(Ordering::Relaxed),
    })
}

async fn fan_out_phase(
    args: &OutboundArgs,
    http: &reqwest::Client,
    org: &Org,
    round: usize,
) -> anyhow::Result<FanOut> {
    let tag = format!("fanout{round}");
    let delivered = Arc::new(AtomicU64::new(0));
    let start_cell: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let last_us = Arc::new(AtomicU64::new(0));
    let on_event: Arc<dyn Fn(usize, u64) + Send + Sync> = {
        let (delivered, start_cell, last_us) =
            (delivered.clone(), start_cell.clone(), last_us.clone());
        Arc::new(move |_, _| {
            delivered.fetch_add(1, Ordering::Relaxed);
            if let Ok(Some(start)) = start_cell.lock().map(|s| *s) {
                last_us.fetch_max(start.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
        })
    };
    let mut subscribers = subscribe_all(args, org, &tag, on_event).await?;
    let start = Instant::now();
    if let Ok(mut s) = start_cell.lock() {
        *s = Some(start);
    }
    let (sent, errors, _, sending) = closed_loop(&ClosedLoop::of(args), http, org, &tag).await?;
    let expected = sent * args.subscribers as u64;
    let deadline = Instant::now() + Duration::from_secs_f64(args.drain);
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    subscribers.shutdown().await;
    let delivered = delivered.load(Ordering::Relaxed);
    // From the first message sent to the last event delivered.
    let window = Duration::from_micros(last_us.load(Ordering::Relaxed)).max(sending);
    let per_second = delivered as f64 / window.as_secs_f64();
    Ok(FanOut {
        inbound_per_second: sent as f64 / sending.as_secs_f64(),
        delivered_per_second: per_second,
        per_subscriber_per_second: per_second / args.subscribers as f64,
        sent,
        delivered,
        errors,
    })
}

pub(crate) fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

fn median(values: Vec<f64>) -> f64 {
    percentile(&values, 0.5)
}

fn round_text(r: &Round, subscribers: usize) -> String {
    let across = r.across.as_ref().map_or(String::new(), |a| {
        format!(
            "; across instances p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({}/{} delivered, {} errors)",
            a.p50_ms,
            a.p99_ms,
            a.max_ms,
            a.delivered,
            a.sent * subscribers as u64,
            a.errors
        )
    });
    let text = format!(
        "interactions {:.0}/s (p50 {:.1} ms, p99 {:.1} ms, {} errors); latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({}/{} delivered, {} errors); fan-out {:.0} inbound/s -> {:.0} events/s to {} subscribers ({}/{} delivered, {} errors)",
        r.interactions.per_second,
        r.interactions.p50_ms,
        r.interactions.p99_ms,
        r.interactions.errors,
        r.latency.p50_ms,
        r.latency.p99_ms,
        r.latency.max_ms,
        r.latency.delivered,
        r.latency.sent * subscribers as u64,
        r.latency.errors,
        r.fan_out.inbound_per_second,
        r.fan_out.delivered_per_second,
        subscribers,
        r.fan_out.delivered,
        r.fan_out.sent * subscribers as u64,
        r.fan_out.errors,
    );
    text + &across
}

fn summary(r: &Report) -> String {
    let m = &r.median;
    let across = match (m.across_p50_ms, m.across_p99_ms, m.across_delivered_fraction) {
        (Some(p50), Some(p99), Some(fraction)) => format!(
            "\x20 across instances at {:.0} msg/s (reply published on B, subscribers on B2): p50 {p50:.1} ms  p99 {p99:.1} ms  ({:.1}% delivered)\n",
            r.rate,
            fraction * 100.0
        ),
        _ => String::new(),
    };
    let text = format!(
        "byoc-bench outbound ({}): medians of {} rounds, {} s phases, {} subscribers, echo delay {} ms\n\
         \x20 interactions only (baseline, {} clients): {:.0}/s  p50 {:.1} ms  p99 {:.1} ms\n\
         \x20 end to end at {:.0} msg/s (inbound -> echo agent -> event decoded by a subscriber): p50 {:.1} ms  p99 {:.1} ms  ({:.1}% delivered)\n\
         \x20 fan-out ({} clients): {:.0} inbound/s -> {:.0} events/s delivered ({:.0} per subscriber)\n\
         \x20 fan-out deliveries / interactions-only rate: {:.2}\n",
        r.backend,
        r.rounds.len(),
        r.seconds,
        r.subscribers,
        r.echo_delay_ms,
        r.concurrency,
        m.interactions_per_second,
        m.interactions_p50_ms,
        m.interactions_p99_ms,
        r.rate,
        m.latency_p50_ms,
        m.latency_p99_ms,
        m.latency_delivered_fraction * 100.0,
        r.concurrency,
        m.fan_out_inbound_per_second,
        m.fan_out_delivered_per_second,
        m.fan_out_per_subscriber_per_second,
        m.delivered_to_interactions,
    );
    text + &across
}
