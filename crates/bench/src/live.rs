//! `byoc-bench live`: an inbound interaction → visible in N browsers watching the agent console
//! (issue 11, item 6; `docs/benchmarks.md`, "Live updates").
//!
//! A real server runs in this process (SQLite, loopback, the sample setup) — or `--data-dir`
//! names the data dir of a running `byoc serve`. N "browsers" log into the web console the way
//! a person does (the login form with the admin's username and password from `org.json`, one
//! session each) and hold `GET /console/live` open: the same Server-Sent Events stream the
//! console's script reads with `EventSource`. Each round measures:
//!
//! - **throughput** with 0, then each N of `--clients`, streams connected: `POST
//!   /api/v1/interactions` as fast as `--concurrency` clients are answered (the `outbound`
//!   bench's load generator; a 202 is committed before it is answered), so the cost of the live
//!   feed to the Interaction API shows as the drop from N = 0;
//! - **latency** with each N of `--clients` streams: text messages at a steady `--rate` (open
//!   loop) for `--seconds`. Every message comes from a new end user, so it opens a conversation
//!   of its own; the 202 names it (`conversationIdentifier`). Its latency, per stream, runs from
//!   just before the request is sent to the moment that stream has received the first
//!   `event: conversation` whose `conversationId` is that conversation — the event the console's
//!   script acts on (it then re-reads the row or transcript; that read is priced by
//!   `byoc-bench console`). A message some stream never receives within `--drain` seconds after
//!   sending stops is **lost**; gaps in the streams' `id:` sequence are counted too.
//!
//! Before anything is timed, each set of streams must show a warm-up message, which proves them
//! connected and live. The medians of the rounds are printed per N.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use byoc_proto::files::OrgFile;
use clap::Args;
use serde::Serialize;

use crate::outbound::{closed_loop, org, percentile, post_message, ClosedLoop, Org};

/// The live feed's route on the login host (CONTRACT: the console's event stream).
const LIVE_PATH: &str = "/console/live";
/// The targets: p99 under 100 ms with 50 streams, throughput within 10 %.
const TARGET_P99_MS: f64 = 100.0;
const TARGET_THROUGHPUT: f64 = 0.9;
/// At most this much of one SSE line is buffered (the feed's lines are a few hundred bytes).
const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, Args)]
pub struct LiveArgs {
    /// Length of each timed phase, in seconds
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    seconds: f64,
    /// Inbound messages per second in the latency phases
    #[arg(long, value_name = "N", default_value_t = 100.0)]
    rate: f64,
    /// Numbers of connected live clients to measure, comma-separated (the throughput phases
    /// also run with none)
    #[arg(long, value_name = "N,..", value_delimiter = ',', default_values_t = [1, 50])]
    clients: Vec<usize>,
    /// Concurrent senders in the throughput phases
    #[arg(long, value_name = "C", default_value_t = 32)]
    concurrency: usize,
    /// Rounds of (throughput for 0 and each N, latency for each N); the medians are printed
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: usize,
    /// After sending stops, wait at most this long for the streams to catch up, in seconds
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    drain: f64,
    /// Use the running server of this data dir (its org.json and partner.env) instead of
    /// starting one in this process
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Worker threads of the in-process server's runtime [default: the number of cores]
    #[arg(long, value_name = "N")]
    server_threads: Option<usize>,
    /// Worker threads of the load generator's and the live clients' runtime [default: the
    /// number of cores]
    #[arg(long, value_name = "N")]
    client_threads: Option<usize>,
    /// Print one JSON document instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Throughput {
    clients: usize,
    /// Accepted (202) interactions per second.
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    accepted: u64,
    errors: u64,
    /// The fewest new conversations any stream showed, of `accepted` (a count check; the
    /// latency phases match every message by id).
    least_seen: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Latency {
    clients: usize,
    sent: u64,
    accepted: u64,
    errors: u64,
    /// (message, stream) pairs that arrived, of `accepted × clients`.
    arrived: u64,
    lost: u64,
    /// Missing `id:` numbers over all streams (the feed's ids are gap-free).
    id_gaps: u64,
    resets: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
struct Round {
    throughput: Vec<Throughput>,
    latency: Vec<Latency>,
}

#[derive(Debug, Serialize)]
struct MedianThroughput {
    clients: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Over the rate with no stream connected.
    relative: f64,
}

#[derive(Debug, Serialize)]
struct MedianLatency {
    clients: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Summed over the rounds.
    lost: u64,
    id_gaps: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    cores: usize,
    seconds: f64,
    rate: f64,
    concurrency: usize,
    server: String,
    rounds: Vec<Round>,
    throughput: Vec<MedianThroughput>,
    latency: Vec<MedianLatency>,
    target_p99_ms: f64,
    target_throughput_relative: f64,
}

pub fn run(args: &LiveArgs) -> anyhow::Result<()> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0 && args.drain >= 0.0 && args.drain <= 600.0) {
        bail!("--seconds must be more than 0 and --drain at least 0, both at most 600");
    }
    if !(args.rate > 0.0 && args.rate <= 100_000.0) || args.rate * args.seconds > 10_000_000.0 {
        bail!("--rate must be more than 0 and at most 100000, and --rate × --seconds at most 10 million");
    }
    if args.rounds == 0 || args.concurrency == 0 || args.concurrency > 4096 {
        bail!("--rounds must be at least 1 and --concurrency between 1 and 4096");
    }
    if args.clients.is_empty() || args.clients.iter().any(|&n| n == 0 || n > 10_000) {
        bail!("--clients must list numbers between 1 and 10000");
    }
    byoc_server::install_crypto_provider();
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.unwrap_or(cores).max(1))
        .thread_name("byoc-bench-load")
        .enable_all()
        .build()?;
    // The server: in this process, or the running one of --data-dir.
    let (in_process, data_dir, file) = match &args.data_dir {
        Some(dir) => {
            let path = dir.join("org.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("{} (is byoc serve running there?)", path.display()))?;
            let file: OrgFile = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an org.json", path.display()))?;
            (None, dir.clone(), file)
        }
        None => {
            let (temp, server_rt, server) =
                crate::start_server(args.server_threads.unwrap_or(cores).max(1))?;
            let dir = temp.path().join("data");
            let file = server.org_file().clone();
            (Some((temp, server_rt, server)), dir, file)
        }
    };
    let server_text = match &in_process {
        Some(_) => format!("in process, SQLite, {}", file.login_url),
        None => format!("running, {} ({})", file.login_url, file.database),
    };
    let most = args.clients.iter().copied().max().unwrap_or(1);
    if !args.json {
        println!(
            "byoc-bench live: {cores} cores; server {server_text}; clients {:?}; {} rounds of {:.1} s phases; latency at {:.0} msg/s, throughput with {} senders",
            args.clients, args.rounds, args.seconds, args.rate, args.concurrency
        );
    }

    let result = client_rt.block_on(async {
        let org = org(&file, &data_dir)
            .await
            .context("the sample app's token")?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency.max(64))
            .build()?;
        // One console session per live client, as that many browsers would hold.
        let started = Instant::now();
        let sessions = log_in(&file, most).await?;
        if !args.json {
            println!(
                "logged {most} console sessions in through the login form in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        // Fail before anything is timed where the server has no live feed.
        drop(LiveClient::open(&http, &file, &sessions[0]).await?);
        let mut rounds = Vec::with_capacity(args.rounds);
        for round in 0..args.rounds {
            let mut throughput = Vec::new();
            for n in std::iter::once(0).chain(args.clients.iter().copied()) {
                let t = throughput_phase(args, &http, &org, &file, &sessions[..n], round).await?;
                if !args.json {
                    println!("round {}: {}", round + 1, throughput_text(&t));
                }
                throughput.push(t);
            }
            let mut latency = Vec::new();
            for &n in &args.clients {
                let l = latency_phase(args, &http, &org, &file, &sessions[..n], round).await?;
                if !args.json {
                    println!("round {}: {}", round + 1, latency_text(&l));
                }
                latency.push(l);
            }
            rounds.push(Round {
                throughput,
                latency,
            });
        }
        anyhow::Ok(rounds)
    });
    if let Some((_temp, server_rt, server)) = in_process {
        server_rt.block_on(server.shutdown())?;
    }
    let rounds = result?;

    let med =
        |f: &dyn Fn(&Round) -> f64| percentile(&rounds.iter().map(f).collect::<Vec<_>>(), 0.5);
    let base = med(&|r| r.throughput[0].per_second);
    let throughput = (0..=args.clients.len())
        .map(|i| {
            let per_second = med(&|r| r.throughput[i].per_second);
            MedianThroughput {
                clients: rounds[0].throughput[i].clients,
                per_second,
                p50_ms: med(&|r| r.throughput[i].p50_ms),
                p99_ms: med(&|r| r.throughput[i].p99_ms),
                relative: if base > 0.0 { per_second / base } else { 0.0 },
            }
        })
        .collect();
    let latency = (0..args.clients.len())
        .map(|i| MedianLatency {
            clients: args.clients[i],
            p50_ms: med(&|r| r.latency[i].p50_ms),
            p99_ms: med(&|r| r.latency[i].p99_ms),
            max_ms: med(&|r| r.latency[i].max_ms),
            lost: rounds.iter().map(|r| r.latency[i].lost).sum(),
            id_gaps: rounds.iter().map(|r| r.latency[i].id_gaps).sum(),
        })
        .collect();
    let report = Report {
        cores,
        seconds: args.seconds,
        rate: args.rate,
        concurrency: args.concurrency,
        server: server_text,
        rounds,
        throughput,
        latency,
        target_p99_ms: TARGET_P99_MS,
        target_throughput_relative: TARGET_THROUGHPUT,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report));
    }
    Ok(())
}

/// `count` console sessions: the login form (`POST /` with `username` and `pw`) with the
/// admin's credentials from `org.json`; `frontdoor.jsp` with the admin credential where the
/// admin has set a password of their own (org.json then has none).
async fn log_in(file: &OrgFile, count: usize) -> anyhow::Result<Vec<String>> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut sessions = Vec::with_capacity(count);
    for _ in 0..count {
        let response = match &file.admin_password {
            Some(password) => {
                http.post(format!("{}/", file.login_url))
                    .form(&[
                        ("username", file.admin_username.as_str()),
                        ("pw", password.as_str()),
                    ])
                    .send()
                    .await?
            }
            None => {
                http.get(format!(
                    "{}/secur/frontdoor.jsp?sid={}",
                    file.login_url, file.admin_token
                ))
                .send()
                .await?
            }
        };
        let status = response.status();
        let sid = crate::console::session_cookie(response.headers());
        match sid {
            Some(sid) => sessions.push(sid),
            None => bail!(
                "the console login as {} set no session cookie (HTTP {status})",
                file.admin_username
            ),
        }
    }
    Ok(sessions)
}

/// What one stream has shown so far.
#[derive(Default)]
struct Seen {
    /// The first `conversation` event of each conversation: when it arrived.
    first: HashMap<String, Instant>,
    last_id: Option<u64>,
    id_gaps: u64,
    resets: u64,
    /// Why the stream ended, if it did.
    ended: Option<String>,
}

/// One open `GET /console/live`, read by a task of its own until dropped.
struct LiveClient {
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LiveClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LiveClient {
    async fn open(http: &reqwest::Client, file: &OrgFile, sid: &str) -> anyhow::Result<Self> {
        let url = format!("{}{LIVE_PATH}", file.login_url);
        let mut response = http
            .get(&url)
            .header(reqwest::header::COOKIE, format!("sid={sid}"))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            bail!(
                "GET {url} answered 404: this server has no live feed (the console's event \
                 stream of issue 11); build byoc-bench and the server from a main that has it"
            );
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!("GET {url} answered {status}: {}", body.trim());
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !content_type.starts_with("text/event-stream") {
            bail!("GET {url} answered {content_type:?}, not text/event-stream");
        }
        let seen = Arc::new(Mutex::new(Seen::default()));
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                let mut parser = SseParser::default();
                let ended = loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) => {
                            let at = Instant::now();
                            let mut events = Vec::new();
                            if let Err(e) = parser.feed(&chunk, &mut events) {
                                break e;
                            }
                            if let Ok(mut seen) = seen.lock() {
                                for e in events {
                                    seen.note(e, at);
                                }
                            }
                        }
                        Ok(None) => break "the server ended the stream".to_string(),
                        Err(e) => break format!("reading the stream: {e}"),
                    }
                };
                if let Ok(mut seen) = seen.lock() {
                    seen.ended = Some(ended);
                }
            }
        });
        Ok(LiveClient { seen, task })
    }

    fn has(&self, conversation: &str) -> anyhow::Result<bool> {
        let seen = self.seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        if let Some(why) = &seen.ended {
            bail!("a live stream ended: {why}");
        }
        Ok(seen.first.contains_key(conversation))
    }
}

impl Seen {
    fn note(&mut self, e: SseEvent, at: Instant) {
        if let Some(id) = e.id.as_deref().and_then(|id| id.trim().parse::<u64>().ok()) {
            if let Some(last) = self.last_id {
                if id > last + 1 {
                    self.id_gaps += id - last - 1;
                }
            }
            self.last_id = Some(id);
        }
        match e.event.as_str() {
            "conversation" => {
                let data: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
                if let Some(c) = data.get("conversationId").and_then(|c| c.as_str()) {
                    self.first.entry(c.to_string()).or_insert(at);
                }
            }
            "reset" => self.resets += 1,
            _ => {}
        }
    }
}

/// One Server-Sent Event.
#[derive(Debug, Default, PartialEq)]
struct SseEvent {
    id: Option<String>,
    /// `message` when the event names no kind.
    event: String,
    data: String,
}

/// The `text/event-stream` format (WHATWG HTML §9.2): lines of `field: value`, comments starting
/// with `:`, an empty line ends an event; `data:` lines join with newlines.
#[derive(Default)]
struct SseParser {
    buffer: Vec<u8>,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds the next bytes; the events they complete are pushed to `out`.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), String> {
        self.buffer.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = self.buffer[start..].iter().position(|&b| b == b'\n') {
            let mut line = &self.buffer[start..start + end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let line = String::from_utf8_lossy(line).into_owned();
            start += end + 1;
            self.line(&line, out);
        }
        self.buffer.drain(..start);
        if self.buffer.len() > MAX_LINE {
            return Err(format!("a line of the stream is over {MAX_LINE} bytes"));
        }
        Ok(())
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            let (id, event, data) = (self.id.take(), self.event.take(), self.data.take());
            if event.is_some() || data.is_some() {
                out.push(SseEvent {
                    id,
                    event: event.unwrap_or_else(|| "message".into()),
                    data: data.unwrap_or_default(),
                });
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => self.id = Some(value.to_string()),
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
    }
}

/// The `conversationIdentifier` of a 202.
fn conversation_of(body: &[u8]) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(answer.get("conversationIdentifier")?.as_str()?.to_string())
}

/// `sessions.len()` streams, each shown to have caught up: a warm-up message must reach every
/// one of them before they are used.
async fn open_clients(
    http: &reqwest::Client,
    org: &Org,
    file: &OrgFile,
    sessions: &[String],
    tag: &str,
) -> anyhow::Result<Vec<LiveClient>> {
    let mut clients = Vec::with_capacity(sessions.len());
    for sid in sessions {
        clients.push(LiveClient::open(http, file, sid).await?);
    }
    if clients.is_empty() {
        return Ok(clients);
    }
    let (accepted, body) = post_message(
        http,
        org,
        &format!("{tag}-warmup"),
        &format!("{tag}-warmup"),
    )
    .await?;
    let conversation = conversation_of(&body)
        .filter(|_| accepted)
        .with_context(|| {
            format!(
                "the warm-up message was refused: {}",
                String::from_utf8_lossy(&body)
            )
        })?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut all = true;
        for c in &clients {
            all &= c.has(&conversation)?;
        }
        if all {
            return Ok(clients);
        }
        if Instant::now() > deadline {
            bail!(
                "the live streams did not show the warm-up message's conversation within 10 s \
                 (does the feed publish `event: conversation` for inbound messages?)"
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn throughput_phase(
    args: &LiveArgs,
    http: &reqwest::Client,
    org: &Org,
    file: &OrgFile,
    sessions: &[String],
    round: usize,
) -> anyhow::Result<Throughput> {
    let tag = format!("live-r{round}-t{}", sessions.len());
    let clients = open_clients(http, org, file, sessions, &tag).await?;
    let load = ClosedLoop {
        concurrency: args.concurrency,
        seconds: args.seconds,
        // Every message from an end user of its own: a new conversation, as in the latency
        // phases.
        users: usize::MAX,
        user_prefix: format!("{tag}-u"),
    };
    let (accepted, errors, latencies, elapsed) = closed_loop(&load, http, org, &tag).await?;
    // Each stream has shown the warm-up's conversation and should show one per accepted message.
    let count = |c: &LiveClient| c.seen.lock().map_or(0, |s| s.first.len() as u64);
    let deadline = Instant::now() + Duration::from_secs_f64(args.drain);
    while clients.iter().any(|c| count(c) < accepted + 1) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let least_seen = clients
        .iter()
        .map(|c| count(c).saturating_sub(1))
        .min()
        .unwrap_or(accepted);
    Ok(Throughput {
        clients: sessions.len(),
        per_second: accepted as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        accepted,
        errors,
        least_seen,
    })
}

async fn latency_phase(
    args: &LiveArgs,
    http: &reqwest::Client,
    org: &Org,
    file: &OrgFile,
    sessions: &[String],
    round: usize,
) -> anyhow::Result<Latency> {
    let tag = format!("live-r{round}-l{}", sessions.len());
    let clients = open_clients(http, org, file, sessions, &tag).await?;
    let total = (args.rate * args.seconds).ceil() as usize;
    // (conversation, the instant just before its message was sent), per accepted message.
    let sent: Arc<Mutex<Vec<(String, Instant)>>> = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let errors = Arc::new(AtomicU64::new(0));
    // Open loop: one message every 1/rate s, whatever the answers take.
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut senders = tokio::task::JoinSet::new();
    for n in 0..total {
        ticker.tick().await;
        let (http, org, sent, errors) = (http.clone(), org.clone(), sent.clone(), errors.clone());
        let (from, text) = (format!("{tag}-u{n}"), format!("{tag}-{n}"));
        senders.spawn(async move {
            let at = Instant::now();
            match post_message(&http, &org, &from, &text).await {
                Ok((true, body)) => match conversation_of(&body) {
                    Some(c) => {
                        if let Ok(mut sent) = sent.lock() {
                            sent.push((c, at));
                        }
                    }
                    None => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                },
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while senders.join_next().await.is_some() {}
    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs_f64(args.drain);
    loop {
        let mut all = true;
        'streams: for c in &clients {
            for (conversation, _) in &sent {
                if !c.has(conversation)? {
                    all = false;
                    break 'streams;
                }
            }
        }
        if all || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut latencies = Vec::with_capacity(sent.len() * clients.len());
    let (mut lost, mut id_gaps, mut resets) = (0u64, 0u64, 0u64);
    for c in &clients {
        let seen = c.seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        for (conversation, at) in &sent {
            match seen.first.get(conversation) {
                Some(arrived) => {
                    latencies.push(arrived.saturating_duration_since(*at).as_secs_f64() * 1000.0)
                }
                None => lost += 1,
            }
        }
        id_gaps += seen.id_gaps;
        resets += seen.resets;
    }
    drop(clients);
    Ok(Latency {
        clients: sessions.len(),
        sent: total as u64,
        accepted: sent.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        arrived: latencies.len() as u64,
        lost,
        id_gaps,
        resets,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: percentile(&latencies, 1.0),
    })
}

fn throughput_text(t: &Throughput) -> String {
    format!(
        "throughput, {:>3} live clients: {:>6.0} interactions/s (p50 {:.1} ms, p99 {:.1} ms, {} errors){}",
        t.clients,
        t.per_second,
        t.p50_ms,
        t.p99_ms,
        t.errors,
        if t.clients > 0 {
            format!("; every stream showed at least {}/{}", t.least_seen, t.accepted)
        } else {
            String::new()
        }
    )
}

fn latency_text(l: &Latency) -> String {
    format!(
        "latency,    {:>3} live clients: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({}/{} arrived, {} lost, {} id gaps, {} resets, {}/{} accepted)",
        l.clients,
        l.p50_ms,
        l.p99_ms,
        l.max_ms,
        l.arrived,
        l.accepted * l.clients as u64,
        l.lost,
        l.id_gaps,
        l.resets,
        l.accepted,
        l.sent
    )
}

fn summary(r: &Report) -> String {
    let mut out = format!(
        "\nmedians of {} rounds ({} s phases):\n",
        r.rounds.len(),
        r.seconds
    );
    for t in &r.throughput {
        let verdict = match t.clients {
            0 => "(baseline)".to_string(),
            _ => format!(
                "{:.1}% of the baseline (target >= {:.0}%: {})",
                t.relative * 100.0,
                TARGET_THROUGHPUT * 100.0,
                if t.relative >= TARGET_THROUGHPUT {
                    "met"
                } else {
                    "NOT met"
                }
            ),
        };
        out += &format!(
            "  interactions/s, {:>3} live clients, {} senders: {:>6.0}  p50 {:.1} ms  p99 {:.1} ms  {verdict}\n",
            t.clients, r.concurrency, t.per_second, t.p50_ms, t.p99_ms
        );
    }
    for l in &r.latency {
        out += &format!(
            "  inbound -> visible in {:>3} live clients at {:.0} msg/s: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  lost {}  id gaps {}  (p99 < {TARGET_P99_MS:.0} ms: {})\n",
            l.clients,
            r.rate,
            l.p50_ms,
            l.p99_ms,
            l.max_ms,
            l.lost,
            l.id_gaps,
            if l.p99_ms < TARGET_P99_MS { "met" } else { "NOT met" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&str]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c.as_bytes(), &mut out).unwrap();
        }
        out
    }

    #[test]
    fn events_split_anywhere_are_joined() {
        let events = parse(&[
            ": keep-alive\n\nid: 7\nev",
            "ent: conversation\r\ndata: {\"conversationId\":\"c1\"}\n",
            "\nid: 8\nevent: reset\ndata: {}\n\ndata: a\ndata: b\n\n",
        ]);
        assert_eq!(
            events,
            vec![
                SseEvent {
                    id: Some("7".into()),
                    event: "conversation".into(),
                    data: "{\"conversationId\":\"c1\"}".into(),
                },
                SseEvent {
                    id: Some("8".into()),
                    event: "reset".into(),
                    data: "{}".into(),
                },
                SseEvent {
                    id: None,
                    event: "message".into(),
                    data: "a\nb".into(),
                },
            ]
        );
    }

    #[test]
    fn an_unfinished_event_waits_and_gaps_are_counted() {
        assert!(parse(&["id: 1\nevent: conversation\ndata: {}\n"]).is_empty());
        let mut seen = Seen::default();
        let at = Instant::now();
        for e in parse(&[
            "id: 1\nevent: conversation\ndata: {\"conversationId\":\"a\"}\n\n",
            "id: 4\nevent: conversation\ndata: {\"conversationId\":\"a\"}\n\n",
            "id: 5\nevent: delivered\ndata: {\"conversationId\":\"b\"}\n\n",
        ]) {
            seen.note(e, at);
        }
        assert_eq!(seen.id_gaps, 2);
        assert_eq!(seen.first.len(), 1);
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        let big = vec![b'x'; MAX_LINE + 1];
        assert!(p.feed(&big, &mut out).is_err());
    }
}
