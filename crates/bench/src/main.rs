#![allow(clippy::disallowed_methods)] // tests and tools read the wall clock
//! `byoc-bench`: byoc's benchmarks, each printing its figure beside the baselines measured in the
//! same run (DESIGN.md §5, `docs/benchmarks.md`). Subcommands: `tokens` (below), `outbound`
//! ([`outbound`]), `console` ([`console`]), `live` ([`live`]) and `soql` ([`soql`]).
//!
//! `byoc-bench tokens` starts a real byoc server in this process (loopback ports, a temporary
//! data dir on SQLite, the default sample setup), then measures, in interleaved rounds:
//! (with `--backends sqlite,postgres` also a server on a fresh PostgreSQL database, and with
//! `--instances 2` two servers on one PostgreSQL database sharing the load; trivial and grants
//! are measured on each setup in every round, and the database transactions per grant are
//! counted on PostgreSQL: the token path does none of its own, apart from `--strict`'s jti)
//!
//! - **trivial**: `GET /id/keys` on the same login host (an empty JSON key set) — a route that
//!   touches neither the database nor any crypto, so it prices HTTP and routing alone;
//! - **grants**: `POST /services/oauth2/token` with JWT Bearer assertions of the sample app, all
//!   signed before the timed phases so the load generator does not spend the server's CPU on RSA
//!   signing;
//! - **verify**: RSA-2048 PKCS#1 v1.5 SHA-256 verifications per second of aws-lc-rs (the library
//!   the token endpoint verifies with, the key parsed once as the server keeps it) on one core,
//!   over the signing input of one assertion;
//! - **token check**: access-token checks per second (`TokenVerifier::verify`, what every
//!   Interaction API, REST and Pub/Sub call does first) on one core, of a token shaped like the
//!   grants' (same user, scopes), with the granted token's length reported beside it.
//!
//! Load comes from `--concurrency` keep-alive HTTP/1.1 connections (hyper's bare client, one
//! request in flight per connection), on their own runtime beside the server's; all traffic goes
//! to 127.0.0.1.

mod console;
mod live;
mod outbound;
mod soql;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::{Args, Parser, Subcommand};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Method, Request};
use hyper_util::rt::TokioIo;
use serde::Serialize;

/// The trivial endpoint: served by the login host, no database, no crypto, a 13-byte body.
/// (`/.well-known/openid-configuration` is no database and no crypto either, but builds a 2 KB
/// document: about twice the server CPU, which would flatter the ratio.)
const TRIVIAL_PATH: &str = "/id/keys";
const TOKEN_PATH: &str = "/services/oauth2/token";
/// The grants/trivial ratio DESIGN.md §5 asks for.
const TARGET_RATIO: f64 = 0.3;

#[derive(Debug, Parser)]
#[command(name = "byoc-bench", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Token grants per second against a trivial endpoint of the same server and the RSA-2048
    /// verify rate, medians of interleaved rounds
    Tokens(TokensArgs),
    /// Inbound message -> echo agent -> event delivered to Pub/Sub subscribers: latency at a
    /// steady rate and fan-out events/s, beside the interactions-only rate
    Outbound(outbound::OutboundArgs),
    /// The web console's heaviest pages (External Client App list with 200 apps, Login History
    /// with 10,000 rows: first and a deep page) beside the trivial endpoint: p50/p99 and req/s
    Console(console::ConsoleArgs),
    /// Inbound interaction -> visible in N connected live clients (the console's event stream,
    /// GET /console/live): p50/p99 per N, events lost, and the interactions/s with 0 and N
    /// clients connected
    Live(live::LiveArgs),
    /// SOQL through the REST API on 10,000 conversation entries (sent through the Interaction
    /// API): a conversation's newest 20, COUNT(), a LIKE filter and a walk through every page,
    /// beside the trivial endpoint: req/s, p50/p99, ratios
    Soql(soql::SoqlArgs),
}

#[derive(Debug, Clone, Args)]
struct TokensArgs {
    /// Length of each timed phase, in seconds
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    seconds: f64,
    /// Concurrent keep-alive connections driving the server
    #[arg(long, value_name = "C", default_value_t = 32)]
    concurrency: usize,
    /// Rounds of (trivial, grants, verify); the medians are printed
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: usize,
    /// Distinct assertions (unique jti) signed before the timed phases, used in turn
    #[arg(long, value_name = "N", default_value_t = 4096)]
    assertions: usize,
    /// Worker threads of the server's runtime [default: the number of cores, as `byoc serve`]
    #[arg(long, value_name = "N")]
    server_threads: Option<usize>,
    /// Worker threads of the load generator's runtime [default: the number of cores]
    #[arg(long, value_name = "N")]
    client_threads: Option<usize>,
    /// The trivial endpoint: a GET route of the login host that does no database or crypto work
    /// (e.g. /.well-known/openid-configuration, a 2 KB document)
    #[arg(long, value_name = "PATH", default_value = TRIVIAL_PATH)]
    trivial_path: String,
    /// Run only this phase (for profiling one of them; the ratios are then meaningless)
    #[arg(long, value_enum, value_name = "PHASE")]
    only: Option<Phase>,
    /// Print one JSON document instead of text
    #[arg(long)]
    json: bool,
    /// Store setups to measure, in this order (the first is the baseline of the ratios):
    /// `sqlite` (a temporary data dir) and/or `postgres`
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "sqlite"
    )]
    backends: Vec<Backend>,
    /// The PostgreSQL database of the `postgres` setups [default: a fresh database per setup on
    /// BYOC_TEST_POSTGRES, or postgres://postgres@127.0.0.1:5432/postgres]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Also measure this many instances (servers in this process) on one PostgreSQL database,
    /// the connections spread over them (1 or 2)
    #[arg(long, value_name = "N", default_value_t = 1)]
    instances: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Phase {
    Trivial,
    Grants,
    Verify,
    TokenCheck,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Tokens(args) => tokens(&args),
        Command::Outbound(args) => outbound::run(&args),
        Command::Console(args) => console::run(&args),
        Command::Live(args) => live::run(&args),
        Command::Soql(args) => soql::run(&args),
    }
}

/// One timed phase of HTTP load.
#[derive(Debug, Clone, Default, Serialize)]
struct Load {
    /// Successful (2xx) answers per second.
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    ok: u64,
    errors: u64,
    /// CPU time of the server's threads (its runtime and SQLite worker) per successful answer,
    /// in microseconds, where the OS tells it (Linux): unlike the rates, barely moved by other
    /// programs on the machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    server_cpu_us: Option<f64>,
    /// The same for the load generator's threads.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_cpu_us: Option<f64>,
    /// The first non-2xx answer, with byoc's diagnosis, to say why.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct Round {
    trivial: Load,
    grants: Load,
    verify_per_second: f64,
    token_checks_per_second: f64,
}

#[derive(Debug, Serialize)]
struct Medians {
    trivial_per_second: f64,
    trivial_p50_ms: f64,
    trivial_p99_ms: f64,
    grants_per_second: f64,
    grants_p50_ms: f64,
    grants_p99_ms: f64,
    verify_per_second: f64,
    token_checks_per_second: f64,
    grants_to_trivial: f64,
    grants_to_verify: f64,
    /// `(server + load generator CPU per trivial answer) / (the same per grant)`: the ratio a
    /// CPU-bound run would show, much less moved than the rates by other programs on the machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    grants_to_trivial_by_cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trivial_server_cpu_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grants_server_cpu_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trivial_client_cpu_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grants_client_cpu_us: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    cores: usize,
    seconds_per_phase: f64,
    concurrency: usize,
    server_threads: usize,
    client_threads: usize,
    assertions: usize,
    trivial_endpoint: String,
    /// Characters in the access token a grant answered.
    access_token_length: usize,
    rounds: Vec<Round>,
    median: Medians,
    target_grants_to_trivial: f64,
    /// Every setup measured (the first is the one `rounds` and `median` describe).
    setups: Vec<SetupReport>,
}

/// One store setup's trivial and grant figures (medians of its rounds).
#[derive(Debug, Serialize)]
struct SetupReport {
    name: String,
    instances: usize,
    trivial_per_second: f64,
    grants_per_second: f64,
    grants_p50_ms: f64,
    grants_p99_ms: f64,
    grants_to_trivial: f64,
    /// Median over the rounds of this setup's grants/s over the first setup's.
    grants_to_first_setup: f64,
    /// Transactions the database committed per grant over the whole run (PostgreSQL's
    /// `pg_stat_database.xact_commit`, read before the first round and after the servers
    /// stopped): background work and the buffered login history included.
    #[serde(skip_serializing_if = "Option::is_none")]
    database_transactions_per_grant: Option<f64>,
}

/// The servers of one setup, and what its phases send.
struct Setup {
    name: String,
    database_url: Option<String>,
    servers: Vec<(
        tempfile::TempDir,
        tokio::runtime::Runtime,
        byoc_server::RunningServer,
    )>,
    addrs: Vec<SocketAddr>,
    grants: Arc<Target>,
    transactions_before: Option<i64>,
    /// (trivial, grants) per round.
    loads: Vec<(Load, Load)>,
}

/// Committed transactions of the database at `url` so far.
async fn committed_transactions(url: &str) -> anyhow::Result<i64> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let n: i64 = sqlx::query_scalar(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(n)
}

/// What a partner connector needs, read from the data dir the server just wrote.
struct Partner {
    consumer_key: String,
    subject: String,
    audience: String,
    private_key_pem: String,
    certificate_pem: String,
}

fn tokens(args: &TokensArgs) -> anyhow::Result<()> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        bail!("--seconds must be more than 0 and at most 600");
    }
    if args.concurrency == 0 || args.concurrency > 4096 {
        bail!("--concurrency must be between 1 and 4096");
    }
    if !args.trivial_path.starts_with('/') {
        bail!("--trivial-path must start with /");
    }
    if args.rounds == 0 || args.assertions == 0 {
        bail!("--rounds and --assertions must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let server_threads = args.server_threads.unwrap_or(cores).max(1);
    let client_threads = args.client_threads.unwrap_or(cores).max(1);
    let phase = Duration::from_secs_f64(args.seconds);
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };

    if args.backends.is_empty() {
        bail!("--backends names no setup");
    }
    if !(1..=2).contains(&args.instances) {
        bail!("--instances must be 1 or 2");
    }
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(client_threads)
        .thread_name("byoc-bench-load")
        .enable_all()
        .build()?;
    // The setups: each backend with one instance, and PostgreSQL with `--instances` too.
    let mut wanted: Vec<(Backend, usize)> = args.backends.iter().map(|b| (*b, 1)).collect();
    if args.instances > 1 && args.backends.contains(&Backend::Postgres) {
        wanted.push((Backend::Postgres, args.instances));
    }
    let mut setups: Vec<Setup> = Vec::new();
    for (backend, instances) in wanted {
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => match &args.database_url {
                Some(url) => Some(url.clone()),
                None => Some(
                    client_rt
                        .block_on(byoc_store::testing::postgres_url("token benchmark"))
                        .context("no PostgreSQL for the postgres setup")?,
                ),
            },
        };
        let name = match (backend, instances) {
            (Backend::Sqlite, _) => "sqlite".to_string(),
            (Backend::Postgres, 1) => "postgres".to_string(),
            (Backend::Postgres, n) => format!("postgres-x{n}"),
        };
        let mut servers = Vec::new();
        for _ in 0..instances {
            servers.push(start_server_on(server_threads, database_url.clone())?);
        }
        let mut addrs = Vec::new();
        for (_, _, server) in &servers {
            let login: url::Url = server.org_file().login_url.parse()?;
            let addr = login
                .socket_addrs(|| None)?
                .into_iter()
                .next()
                .context("the login URL has no address")?;
            if !addr.ip().is_loopback() {
                bail!("the server is not on loopback ({addr}); refusing to send load there");
            }
            addrs.push(addr);
        }
        setups.push(Setup {
            name,
            database_url,
            servers,
            addrs,
            grants: Arc::new(Target::Get(String::new())),
            transactions_before: None,
            loads: Vec::new(),
        });
    }
    let first_addr = setups[0].addrs[0];

    say(format!(
        "byoc-bench tokens: {cores} cores; server {server_threads} threads, load generator \
         {client_threads} threads, {} connections; {} rounds of {:.1} s phases; setups {}; first server on {first_addr}",
        args.concurrency,
        args.rounds,
        args.seconds,
        setups
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let trivial = Arc::new(Target::Get(args.trivial_path.clone()));
    let mut baseline = None;
    for setup in &mut setups {
        // The sample app of the first instance: the others share its database.
        let partner = read_partner(&setup.servers[0].0.path().join("data"))?;
        let started = Instant::now();
        let bodies = sign_assertions(&partner, args.assertions, cores)?;
        say(format!(
            "{}: signed {} assertions (unique jti) in {:.1} s, before any timed phase",
            setup.name,
            bodies.len(),
            started.elapsed().as_secs_f64()
        ));
        let (signing_input, signature) = first_signature(&bodies)?;
        let bodies = Arc::new(
            bodies
                .into_iter()
                .map(|(_, body)| Bytes::from(body))
                .collect::<Vec<_>>(),
        );
        setup.grants = Arc::new(Target::Post(TOKEN_PATH, bodies));
        // Both routes answer on every instance before anything is timed (this also fills the
        // servers' caches).
        let mut granted = Bytes::new();
        for addr in &setup.addrs {
            granted = client_rt.block_on(async {
                check_once(*addr, &trivial).await?;
                check_once(*addr, &setup.grants).await
            })?;
        }
        if let Some(url) = &setup.database_url {
            setup.transactions_before = Some(client_rt.block_on(committed_transactions(url))?);
        }
        if baseline.is_none() {
            baseline = Some((partner, signing_input, signature, granted));
        }
    }
    let Some((partner, signing_input, signature, granted)) = baseline else {
        bail!("no setup");
    };
    let public_key = byoc_pki::parse_certificate(&partner.certificate_pem)?
        .rsa_public_key_pkcs1_der
        .clone();
    let granted: serde_json::Value =
        serde_json::from_slice(&granted).context("the token answer is not JSON")?;
    let access_token_length = granted["access_token"].as_str().map_or(0, str::len);
    let checked = TokenToCheck::like(&granted, &partner)?;
    say(format!(
        "a granted access token has {access_token_length} characters"
    ));

    let several = setups.len() > 1;
    let mut rounds = Vec::new();
    for n in 1..=args.rounds {
        let runs = |p: Phase| args.only.is_none_or(|only| only == p);
        for setup in &mut setups {
            let t = if runs(Phase::Trivial) {
                client_rt.block_on(run_phase_on(
                    &setup.addrs,
                    trivial.clone(),
                    args.concurrency,
                    phase,
                ))?
            } else {
                Load::default()
            };
            let g = if runs(Phase::Grants) {
                client_rt.block_on(run_phase_on(
                    &setup.addrs,
                    setup.grants.clone(),
                    args.concurrency,
                    phase,
                ))?
            } else {
                Load::default()
            };
            if several {
                say(format!(
                    "round {n} {:<12} trivial {}  |  grants {}",
                    setup.name,
                    load_text(&t),
                    load_text(&g)
                ));
            }
            for (what, load) in [("trivial", &t), ("grants", &g)] {
                if let Some(e) = &load.first_error {
                    say(format!("  {what}: {} errors; first: {e}", load.errors));
                }
            }
            setup.loads.push((t, g));
        }
        let v = if runs(Phase::Verify) {
            verify_rate(&public_key, &signing_input, &signature, phase)?
        } else {
            0.0
        };
        let c = if runs(Phase::TokenCheck) {
            checked.rate(phase)?
        } else {
            0.0
        };
        let (t, g) = setups[0].loads[n - 1].clone();
        say(format!(
            "round {n}: trivial {}  |  grants {}  |  verify {:>8.0}/s  |  token check {:>8.0}/s",
            load_text(&t),
            load_text(&g),
            v,
            c
        ));
        rounds.push(Round {
            trivial: t,
            grants: g,
            verify_per_second: v,
            token_checks_per_second: c,
        });
    }

    let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let trivial_rate = med(&|r| r.trivial.per_second);
    let grants_rate = med(&|r| r.grants.per_second);
    let verify = med(&|r| r.verify_per_second);
    let median = Medians {
        trivial_per_second: trivial_rate,
        trivial_p50_ms: med(&|r| r.trivial.p50_ms),
        trivial_p99_ms: med(&|r| r.trivial.p99_ms),
        grants_per_second: grants_rate,
        grants_p50_ms: med(&|r| r.grants.p50_ms),
        grants_p99_ms: med(&|r| r.grants.p99_ms),
        verify_per_second: verify,
        token_checks_per_second: med(&|r| r.token_checks_per_second),
        grants_to_trivial: ratio(grants_rate, trivial_rate),
        grants_to_verify: ratio(grants_rate, verify),
        grants_to_trivial_by_cpu: med_opt(&rounds, |r| {
            let trivial = r.trivial.server_cpu_us? + r.trivial.client_cpu_us?;
            let grant = r.grants.server_cpu_us? + r.grants.client_cpu_us?;
            (grant > 0.0).then(|| trivial / grant)
        }),
        trivial_server_cpu_us: med_opt(&rounds, |r| r.trivial.server_cpu_us),
        grants_server_cpu_us: med_opt(&rounds, |r| r.grants.server_cpu_us),
        trivial_client_cpu_us: med_opt(&rounds, |r| r.trivial.client_cpu_us),
        grants_client_cpu_us: med_opt(&rounds, |r| r.grants.client_cpu_us),
    };

    // Stopping flushes the login history, every grant's row included; the servers' database
    // sessions end, which also makes PostgreSQL publish their statistics.
    let mut setup_reports = Vec::new();
    let first_grants: Vec<f64> = setups[0].loads.iter().map(|l| l.1.per_second).collect();
    for setup in setups {
        let instances = setup.servers.len();
        for (_temp, server_rt, server) in setup.servers {
            server_rt.block_on(server.shutdown())?;
        }
        let grants_total: u64 = setup.loads.iter().map(|l| l.1.ok).sum();
        let database_transactions_per_grant = match (&setup.database_url, setup.transactions_before)
        {
            (Some(url), Some(before)) if grants_total > 0 => {
                std::thread::sleep(Duration::from_secs(1));
                let after = client_rt.block_on(committed_transactions(url))?;
                Some((after - before) as f64 / grants_total as f64)
            }
            _ => None,
        };
        let med =
            |f: &dyn Fn(&(Load, Load)) -> f64| crate::median(setup.loads.iter().map(f).collect());
        let trivial_per_second = med(&|l| l.0.per_second);
        let grants_per_second = med(&|l| l.1.per_second);
        setup_reports.push(SetupReport {
            name: setup.name.clone(),
            instances,
            trivial_per_second,
            grants_per_second,
            grants_p50_ms: med(&|l| l.1.p50_ms),
            grants_p99_ms: med(&|l| l.1.p99_ms),
            grants_to_trivial: ratio(grants_per_second, trivial_per_second),
            grants_to_first_setup: crate::median(
                setup
                    .loads
                    .iter()
                    .zip(&first_grants)
                    .map(|(l, first)| ratio(l.1.per_second, *first))
                    .collect(),
            ),
            database_transactions_per_grant,
        });
    }

    let report = Report {
        cores,
        seconds_per_phase: args.seconds,
        concurrency: args.concurrency,
        server_threads,
        client_threads,
        assertions: args.assertions,
        trivial_endpoint: args.trivial_path.clone(),
        access_token_length,
        rounds,
        median,
        target_grants_to_trivial: TARGET_RATIO,
        setups: setup_reports,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report));
    }
    Ok(())
}

/// A byoc server in this process on loopback port 0 (SQLite in a temporary data dir, the sample
/// setup), on a runtime of its own with `threads` workers. The data dir is `TEMP/data`; keep the
/// `TempDir` alive as long as the server.
fn start_server(
    threads: usize,
) -> anyhow::Result<(
    tempfile::TempDir,
    tokio::runtime::Runtime,
    byoc_server::RunningServer,
)> {
    start_server_on(threads, None)
}

/// [`start_server`] on `database_url` (`None`: SQLite in the data dir).
fn start_server_on(
    threads: usize,
    database_url: Option<String>,
) -> anyhow::Result<(
    tempfile::TempDir,
    tokio::runtime::Runtime,
    byoc_server::RunningServer,
)> {
    let temp = tempfile::tempdir().context("can't create a temporary data dir")?;
    let data_dir = temp.path().join("data");
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("byoc-server")
        .enable_all()
        .build()?;
    let server = server_rt.block_on(async {
        let loopback: SocketAddr = "127.0.0.1:0".parse()?;
        let listeners = byoc_server::Listeners::bind(loopback, loopback, loopback).await?;
        byoc_server::start(
            listeners,
            byoc_server::ServerConfig {
                data_dir,
                database_url,
                empty: false,
                strict: false,
                accepted_audiences: Vec::new(),
                pubsub: Default::default(),
                drain_timeout: byoc_server::DEFAULT_DRAIN_TIMEOUT,
                advertise: Default::default(),
                seed: None,
                allow_clock_control: false,
            },
        )
        .await
    })?;
    Ok((temp, server_rt, server))
}

fn summary(r: &Report) -> String {
    let m = &r.median;
    let verdict = if m.grants_to_trivial >= TARGET_RATIO {
        "met"
    } else {
        "NOT met"
    };
    let cpu = match (
        m.trivial_server_cpu_us,
        m.grants_server_cpu_us,
        m.trivial_client_cpu_us,
        m.grants_client_cpu_us,
        m.grants_to_trivial_by_cpu,
    ) {
        (Some(ts), Some(gs), Some(tc), Some(gc), Some(by_cpu)) => format!(
            "\x20 CPU per answer   server: trivial {ts:.1} us, grant {gs:.1} us   \
             load generator: trivial {tc:.1} us, grant {gc:.1} us\n\
             \x20 grants/trivial by CPU cost  {by_cpu:.3}   (server + load generator CPU per \
             answer; barely moved by other programs)\n"
        ),
        _ => String::new(),
    };
    format!(
        "\nmedians of {} rounds:\n\
         \x20 trivial  GET {:<36} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms\n\
         \x20 grants   POST {:<35} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms\n\
         \x20 verify   RSA-2048 SHA-256, aws-lc-rs, 1 core   {:>9.0} /s\n\
         \x20 token check ({} chars), 1 core          {:>9.0} /s ({:.2} us each)\n\
         \x20 grants/trivial  {:.3}   (target >= {TARGET_RATIO:.1}: {verdict})\n\
         \x20 grants/verify   {:.3}\n{cpu}{}",
        r.rounds.len(),
        r.trivial_endpoint,
        m.trivial_per_second,
        m.trivial_p50_ms,
        m.trivial_p99_ms,
        TOKEN_PATH,
        m.grants_per_second,
        m.grants_p50_ms,
        m.grants_p99_ms,
        m.verify_per_second,
        r.access_token_length,
        m.token_checks_per_second,
        1e6 / m.token_checks_per_second.max(1e-9),
        m.grants_to_trivial,
        m.grants_to_verify,
        setups_text(r),
    )
}

/// The per-setup table, when more than one setup ran.
fn setups_text(r: &Report) -> String {
    if r.setups.len() < 2 {
        return String::new();
    }
    let mut out = format!(
        "\nper setup (medians of {} rounds; ratio to {}: the median of each round's ratio):\n",
        r.rounds.len(),
        r.setups[0].name
    );
    for s in &r.setups {
        let transactions = match s.database_transactions_per_grant {
            Some(t) => format!("   database transactions per grant {t:.3}"),
            None => String::new(),
        };
        out.push_str(&format!(
            "\x20 {:<12} trivial {:>8.0} req/s   grants {:>8.0} req/s (p50 {:.2} ms, p99 {:.2} ms)   \
             grants/trivial {:.3}   grants/{} {:.2}{transactions}\n",
            s.name,
            s.trivial_per_second,
            s.grants_per_second,
            s.grants_p50_ms,
            s.grants_p99_ms,
            s.grants_to_trivial,
            r.setups[0].name,
            s.grants_to_first_setup,
        ));
    }
    out
}

fn load_text(l: &Load) -> String {
    let cpu = match l.server_cpu_us {
        Some(us) => format!(", server CPU {us:.1} us/req"),
        None => String::new(),
    };
    format!(
        "{:>8.0} req/s (p50 {:.2} ms, p99 {:.2} ms{cpu})",
        l.per_second, l.p50_ms, l.p99_ms
    )
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// The median of a figure every round has, else `None`.
fn med_opt(rounds: &[Round], f: impl Fn(&Round) -> Option<f64>) -> Option<f64> {
    let values: Option<Vec<f64>> = rounds.iter().map(f).collect();
    values.map(median)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The sample app's settings from `DATA/partner.env` and its key pair from the data dir.
fn read_partner(data_dir: &Path) -> anyhow::Result<Partner> {
    use byoc_proto::files::partner_env as env;
    let text = std::fs::read_to_string(data_dir.join("partner.env"))
        .context("the server wrote no partner.env")?;
    let get = |name: &str| -> anyhow::Result<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
            .with_context(|| format!("partner.env has no {name}"))
    };
    Ok(Partner {
        consumer_key: get(env::SF_CONSUMER_KEY)?,
        subject: get(env::SF_SUBJECT)?,
        audience: get(env::SF_AUDIENCE)?,
        private_key_pem: std::fs::read_to_string(data_dir.join("server.key"))
            .context("the sample private key")?,
        certificate_pem: std::fs::read_to_string(data_dir.join("server.crt"))
            .context("the sample certificate")?,
    })
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
}

/// `count` assertions with unique `jti`s, as (assertion, form body), signed on every core.
/// They expire in an hour: the default (parity) server accepts a far `exp`, and the run must not
/// outlive them.
fn sign_assertions(
    partner: &Partner,
    count: usize,
    threads: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(partner.private_key_pem.as_bytes())?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let threads = threads.clamp(1, count);
    let per_thread = count.div_ceil(threads);
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (key, header) = (&key, &header);
                scope.spawn(move || -> anyhow::Result<Vec<(String, String)>> {
                    let range = (t * per_thread)..((t + 1) * per_thread).min(count);
                    range
                        .map(|i| {
                            let claims = Claims {
                                iss: &partner.consumer_key,
                                sub: &partner.subject,
                                aud: &partner.audience,
                                exp: now + 3600,
                                iat: now,
                                jti: format!("byoc-bench-{}-{now}-{i}", std::process::id()),
                            };
                            let jwt = jsonwebtoken::encode(header, &claims, key)?;
                            let body = format!(
                                "grant_type={}&assertion={jwt}",
                                url::form_urlencoded::byte_serialize(
                                    byoc_proto::oauth::JWT_BEARER_GRANT_TYPE.as_bytes()
                                )
                                .collect::<String>()
                            );
                            Ok((jwt, body))
                        })
                        .collect()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(count);
        for h in handles {
            match h.join() {
                Ok(part) => all.extend(part?),
                Err(_) => bail!("a signing thread panicked"),
            }
        }
        Ok(all)
    })
}

/// The signing input and raw signature of the first assertion: the verify baseline's message.
fn first_signature(bodies: &[(String, String)]) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let (jwt, _) = bodies.first().context("no assertion")?;
    let (input, signature) = jwt.rsplit_once('.').context("not a JWT")?;
    Ok((
        input.as_bytes().to_vec(),
        URL_SAFE_NO_PAD.decode(signature)?,
    ))
}

/// RSA-2048 verifications per second on this thread for `phase`, the way the token endpoint
/// verifies: aws-lc-rs, RSASSA-PKCS1-v1_5 SHA-256, with the public key parsed once (the
/// server's key cache keeps the parsed key per certificate).
fn verify_rate(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
    phase: Duration,
) -> anyhow::Result<f64> {
    let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key)
        .map_err(|e| anyhow::anyhow!("the sample certificate's key: {e}"))?;
    key.verify_sig(message, signature)
        .map_err(|_| anyhow::anyhow!("the baseline signature does not verify"))?;
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < phase {
        for _ in 0..32 {
            if key.verify_sig(message, signature).is_err() {
                bail!("a verification failed");
            }
        }
        n += 32;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// A token like the grants' (same user, consumer key and scopes), minted by a verifier of its own
/// (the server's key never leaves it), for the token-check rate.
struct TokenToCheck {
    verifier: byoc_server::oauth::tokens::TokenVerifier,
    token: String,
}

impl TokenToCheck {
    fn like(granted: &serde_json::Value, partner: &Partner) -> anyhow::Result<TokenToCheck> {
        use byoc_server::oauth::tokens::{AccessTokenClaims, TokenVerifier};
        // `id` is `<login>/id/<orgId18>/<userId18>`.
        let id = granted["id"]
            .as_str()
            .context("the token answer has no id")?;
        let mut ids = id.rsplit('/');
        let user18 = ids.next().unwrap_or_default();
        let org18 = ids.next().unwrap_or_default();
        let (Some(user_id), Some(org_id)) = (user18.get(..15), org18.get(..15)) else {
            bail!("the token answer's id is not an identity URL: {id}");
        };
        let mut key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut key).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let verifier = TokenVerifier::new(&key, org_id)?;
        let now = now_millis();
        let claims = AccessTokenClaims {
            token_id: String::new(),
            org_id: org_id.to_string(),
            user_id: user_id.to_string(),
            username: partner.subject.clone(),
            app_id: "0xI000000000042".into(),
            consumer_key: partner.consumer_key.clone(),
            scopes: granted["scope"]
                .as_str()
                .unwrap_or_default()
                .split(' ')
                .map(str::to_string)
                .collect(),
            issued_at: now,
            expires_at: now + 3_600_000,
        };
        let token = verifier.mint(&claims)?;
        verifier
            .verify(&token, now)
            .map_err(|e| anyhow::anyhow!("the benchmark's own token does not verify: {e}"))?;
        Ok(TokenToCheck { verifier, token })
    }

    /// Checks per second on this thread for `phase`.
    fn rate(&self, phase: Duration) -> anyhow::Result<f64> {
        let now = now_millis();
        let start = Instant::now();
        let mut n: u64 = 0;
        while start.elapsed() < phase {
            for _ in 0..256 {
                if self.verifier.verify(&self.token, now).is_err() {
                    bail!("a token check failed");
                }
            }
            n += 256;
        }
        Ok(n as f64 / start.elapsed().as_secs_f64())
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What a phase sends.
enum Target {
    Get(String),
    /// A page of the console, with the session cookie.
    GetWithCookie(String, String),
    /// A GET with one more header (e.g. `authorization`).
    GetWithHeader(String, &'static str, String),
    /// Form bodies, used in turn.
    Post(&'static str, Arc<Vec<Bytes>>),
}

impl Target {
    fn request(&self, host: &str, turn: &AtomicUsize) -> anyhow::Result<Request<Full<Bytes>>> {
        let request = match self {
            Target::Get(path) => Request::builder()
                .method(Method::GET)
                .uri(path.as_str())
                .header(header::HOST, host)
                .body(Full::new(Bytes::new()))?,
            Target::GetWithCookie(path, cookie) => Request::builder()
                .method(Method::GET)
                .uri(path.as_str())
                .header(header::HOST, host)
                .header(header::COOKIE, cookie.as_str())
                .body(Full::new(Bytes::new()))?,
            Target::GetWithHeader(path, name, value) => Request::builder()
                .method(Method::GET)
                .uri(path.as_str())
                .header(header::HOST, host)
                .header(*name, value.as_str())
                .body(Full::new(Bytes::new()))?,
            Target::Post(path, bodies) => {
                let i = turn.fetch_add(1, Ordering::Relaxed) % bodies.len();
                Request::builder()
                    .method(Method::POST)
                    .uri(*path)
                    .header(header::HOST, host)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Full::new(bodies[i].clone()))?
            }
        };
        Ok(request)
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// One request, which must succeed; its body.
async fn check_once(addr: SocketAddr, target: &Target) -> anyhow::Result<Bytes> {
    let mut sender = connect(addr).await?;
    let request = target.request(&addr.to_string(), &AtomicUsize::new(0))?;
    let path = request.uri().to_string();
    let response = sender.send_request(request).await?;
    let status = response.status();
    if !status.is_success() {
        let diagnosis = response
            .headers()
            .get(byoc_proto::oauth::DIAGNOSIS_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.into_body().collect().await?.to_bytes();
        bail!(
            "{path} answered {status}: {} (diagnosis: {})",
            String::from_utf8_lossy(&body),
            diagnosis.unwrap_or_default()
        );
    }
    Ok(response.into_body().collect().await?.to_bytes())
}

struct Driven {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

/// `connections` keep-alive connections, each sending one request after another until `phase`
/// is over. Connections are opened before the clock starts.
async fn run_phase(
    addr: SocketAddr,
    target: Arc<Target>,
    connections: usize,
    phase: Duration,
) -> anyhow::Result<Load> {
    run_phase_on(&[addr], target, connections, phase).await
}

/// [`run_phase`] with the connections spread over several servers (instances) in turn.
async fn run_phase_on(
    addrs: &[SocketAddr],
    target: Arc<Target>,
    connections: usize,
    phase: Duration,
) -> anyhow::Result<Load> {
    let mut senders = Vec::with_capacity(connections);
    for i in 0..connections {
        let addr = addrs[i % addrs.len()];
        senders.push((connect(addr).await?, Arc::new(addr.to_string())));
    }
    let turn = Arc::new(AtomicUsize::new(0));
    let server_before = thread_cpu_ns(SERVER_THREADS);
    let client_before = thread_cpu_ns(CLIENT_THREADS);
    let start = Instant::now();
    let deadline = start + phase;
    let mut tasks = tokio::task::JoinSet::new();
    for (sender, host) in senders {
        tasks.spawn(drive(sender, target.clone(), host, turn.clone(), deadline));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let driven = joined??;
        latencies.extend(driven.latencies_us);
        errors += driven.errors;
        first_error = first_error.or(driven.first_error);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ok = latencies.len() as u64;
    let per_answer = |before: Option<u64>, after: Option<u64>| -> Option<f64> {
        let spent = after?.checked_sub(before?)?;
        (ok > 0).then(|| spent as f64 / 1000.0 / ok as f64)
    };
    let server_cpu_us = per_answer(server_before, thread_cpu_ns(SERVER_THREADS));
    let client_cpu_us = per_answer(client_before, thread_cpu_ns(CLIENT_THREADS));
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        f64::from(latencies[i]) / 1000.0
    };
    Ok(Load {
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        ok,
        errors,
        first_error,
        server_cpu_us,
        client_cpu_us,
    })
}

/// Thread name prefixes of the server: its runtime's threads and sqlx's SQLite worker.
const SERVER_THREADS: &[&str] = &["byoc-server", "sqlx-sqlite"];
/// Thread name prefix of the load generator's runtime.
const CLIENT_THREADS: &[&str] = &["byoc-bench-load"];

/// Nanoseconds on CPU of this process's threads whose names start with one of `prefixes`
/// (`/proc/self/task/*/schedstat`); `None` where there is no such file.
fn thread_cpu_ns(prefixes: &[&str]) -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        let Ok(name) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("schedstat")) else {
            continue;
        };
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

async fn drive(
    mut sender: SendRequest<Full<Bytes>>,
    target: Arc<Target>,
    host: Arc<String>,
    turn: Arc<AtomicUsize>,
    deadline: Instant,
) -> anyhow::Result<Driven> {
    let mut driven = Driven {
        latencies_us: Vec::with_capacity(1 << 16),
        errors: 0,
        first_error: None,
    };
    while Instant::now() < deadline {
        sender.ready().await?;
        let request = target.request(&host, &turn)?;
        let sent = Instant::now();
        let response = sender.send_request(request).await?;
        let status = response.status();
        let diagnosis = (!status.is_success())
            .then(|| {
                response
                    .headers()
                    .get(byoc_proto::oauth::DIAGNOSIS_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
            .flatten();
        let body = response.into_body().collect().await?.to_bytes();
        let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        if status.is_success() {
            driven.latencies_us.push(micros);
        } else {
            driven.errors += 1;
            if driven.first_error.is_none() {
                driven.first_error = Some(format!(
                    "HTTP {status}: {} ({})",
                    String::from_utf8_lossy(&body),
                    diagnosis.unwrap_or_default()
                ));
            }
        }
    }
    Ok(driven)
}
