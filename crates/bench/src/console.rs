//! `byoc-bench console`: the web console's heaviest pages beside the trivial endpoint, in one
//! run (issue 10, item 6; `docs/benchmarks.md`).
//!
//! Starts a real server in this process (SQLite, loopback), creates `--apps` External Client Apps
//! through the admin API and `--logins` login history rows, logs a browser session in through
//! `frontdoor.jsp` with the admin credential, then measures in interleaved rounds, each phase
//! with `--concurrency` keep-alive connections carrying the session cookie:
//!
//! - **trivial**: `GET /id/keys` (no database, no crypto; the other benches' baseline);
//! - **apps**: the External Client App Manager list (every app, one row each);
//! - **history**: Login History, first page (50 rows, newest first);
//! - **deep**: Login History, a page deep in the history (`?before=` a cursor about 90% of the
//!   way back: keyset pagination should make it cost what the first page costs).
//!
//! The login history rows are written with the store's batch insert (the method the token
//! endpoint's flusher uses), not through 10,000 token requests: the rows are the same shape
//! (failures with byoc's diagnosis, successes), and the setup takes a second instead of a
//! minute of the run.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use byoc_proto::admin::AppInput;
use byoc_proto::oauth::{LoginHistoryEntry, LoginStatus};
use clap::Args;
use serde::Serialize;

use crate::{check_once, median, run_phase, Load, Target, TRIVIAL_PATH};

const APPS_PATH: &str = "/lightning/setup/ManageExternalClientApplication/home";
const HISTORY_PATH: &str = "/lightning/setup/OrgLoginHistory/home";
/// The target for every page at 32 connections.
const TARGET_P99_MS: f64 = 20.0;

#[derive(Debug, Clone, Args)]
pub struct ConsoleArgs {
    /// Length of each timed phase, in seconds
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    seconds: f64,
    /// Concurrent keep-alive connections driving the server
    #[arg(long, value_name = "C", default_value_t = 32)]
    concurrency: usize,
    /// Rounds of (trivial, apps, history, deep); the medians are printed
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: usize,
    /// External Client Apps created before the timed phases
    #[arg(long, value_name = "N", default_value_t = 200)]
    apps: usize,
    /// Login history rows written before the timed phases
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    logins: usize,
    /// Print one JSON document instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Serialize)]
struct Round {
    trivial: Load,
    apps: Load,
    history: Load,
    deep: Load,
}

#[derive(Debug, Serialize)]
struct Figure {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    cores: usize,
    concurrency: usize,
    seconds_per_phase: f64,
    apps: usize,
    logins: usize,
    deep_page: String,
    rounds: Vec<Round>,
    trivial: Figure,
    app_list: Figure,
    history_first: Figure,
    history_deep: Figure,
    target_p99_ms: f64,
}

fn history_rows(count: usize, start_millis: i64) -> Vec<LoginHistoryEntry> {
    (0..count)
        .map(|i| {
            let failed = i % 3 == 0;
            LoginHistoryEntry {
                login_time: start_millis + i as i64,
                username: format!("user{}@bench.example.com", i % 50),
                user_id: None,
                application: Some(format!("Bench_App_{}", i % 200)),
                consumer_key: Some(format!("bench-consumer-key-{}", i % 200)),
                login_type: "Remote Access 2.0".into(),
                status: if failed {
                    LoginStatus::Failed
                } else {
                    LoginStatus::Success
                },
                error: failed.then(|| "invalid_grant".into()),
                error_description: failed.then(|| "user hasn't approved this consumer".into()),
                diagnosis: failed.then(|| format!("the app's Permitted Users policy is *All users may self-authorize* and the JWT Bearer flow has no prior approval; set it to *Admin approved users are pre-authorized* and assign the user's profile (byoc setup eca policies Bench_App_{} --permitted-users admin-approved --profile \"Standard User\")", i % 200)),
                source_ip: Some("127.0.0.1".into()),
            }
        })
        .collect()
}

pub fn run(args: &ConsoleArgs) -> anyhow::Result<()> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        bail!("--seconds must be more than 0 and at most 600");
    }
    if args.concurrency == 0 || args.concurrency > 4096 || args.rounds == 0 {
        bail!("--concurrency must be between 1 and 4096 and --rounds at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let phase = Duration::from_secs_f64(args.seconds);
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };
    let (_temp, server_rt, server) = crate::start_server(cores)?;
    let org = server.org_file().clone();
    let login: url::Url = org.login_url.parse()?;
    let addr = login
        .socket_addrs(|| None)?
        .into_iter()
        .next()
        .context("the login URL has no address")?;
    if !addr.ip().is_loopback() {
        bail!("the server is not on loopback ({addr}); refusing to send load there");
    }

    // The data: apps through the admin API, login history through the store's batch insert.
    let admin = byoc_client::AdminClient::new(&org.login_url, &org.admin_token)?;
    let store = server.store().clone();
    let sid = server_rt.block_on(async {
        for i in 0..args.apps {
            admin
                .create_external_client_app(&AppInput {
                    name: Some(format!("Bench App {i}")),
                    contact_email: Some("bench@example.com".into()),
                    description: Some("byoc-bench console".into()),
                    callback_urls: Some(vec!["https://bench.example.com/callback".into()]),
                    scopes: Some(vec!["api".into(), "refresh_token".into()]),
                    ..AppInput::default()
                })
                .await
                .with_context(|| format!("creating app {i}"))?;
        }
        let rows = history_rows(args.logins, 1_700_000_000_000);
        for chunk in rows.chunks(1000) {
            store.repo().record_logins(chunk).await?;
        }
        // frontdoor.jsp with the admin credential, as `byoc open` does.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let res = http
            .get(format!(
                "{}/secur/frontdoor.jsp?sid={}",
                org.login_url, org.admin_token
            ))
            .send()
            .await?;
        let sid = session_cookie(res.headers()).context("frontdoor.jsp set no session cookie")?;
        anyhow::Ok(sid)
    })?;
    let cookie = format!("sid={sid}");
    // A cursor about 90% of the way back: rows are numbered in insertion order.
    let deep_path = format!("{HISTORY_PATH}?before={}", (args.logins / 10).max(2));
    let targets = [
        Arc::new(Target::Get(TRIVIAL_PATH.to_string())),
        Arc::new(Target::GetWithCookie(APPS_PATH.to_string(), cookie.clone())),
        Arc::new(Target::GetWithCookie(
            HISTORY_PATH.to_string(),
            cookie.clone(),
        )),
        Arc::new(Target::GetWithCookie(deep_path.clone(), cookie)),
    ];
    say(format!(
        "byoc-bench console: {cores} cores; {} apps, {} login history rows; {} connections; {} rounds of {:.1} s phases; server on {addr}",
        args.apps, args.logins, args.concurrency, args.rounds, args.seconds
    ));
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("byoc-bench-load")
        .enable_all()
        .build()?;
    client_rt.block_on(async {
        for t in &targets {
            check_once(addr, t).await?;
        }
        anyhow::Ok(())
    })?;
    let mut rounds = Vec::new();
    for n in 1..=args.rounds {
        let mut loads = Vec::new();
        for t in &targets {
            loads.push(client_rt.block_on(run_phase(addr, t.clone(), args.concurrency, phase))?);
        }
        let round = Round {
            trivial: loads[0].clone(),
            apps: loads[1].clone(),
            history: loads[2].clone(),
            deep: loads[3].clone(),
        };
        say(format!(
            "round {n}: trivial {}  |  apps {}  |  history {}  |  deep {}",
            text(&round.trivial),
            text(&round.apps),
            text(&round.history),
            text(&round.deep)
        ));
        for (what, l) in [
            ("trivial", &round.trivial),
            ("apps", &round.apps),
            ("history", &round.history),
            ("deep", &round.deep),
        ] {
            if let Some(e) = &l.first_error {
                say(format!("  {what}: {} errors; first: {e}", l.errors));
            }
        }
        rounds.push(round);
    }
    server_rt.block_on(server.shutdown())?;
    let figure = |f: &dyn Fn(&Round) -> &Load| Figure {
        per_second: median(rounds.iter().map(|r| f(r).per_second).collect()),
        p50_ms: median(rounds.iter().map(|r| f(r).p50_ms).collect()),
        p99_ms: median(rounds.iter().map(|r| f(r).p99_ms).collect()),
    };
    let report = Report {
        cores,
        concurrency: args.concurrency,
        seconds_per_phase: args.seconds,
        apps: args.apps,
        logins: args.logins,
        trivial: figure(&|r| &r.trivial),
        app_list: figure(&|r| &r.apps),
        history_first: figure(&|r| &r.history),
        history_deep: figure(&|r| &r.deep),
        deep_page: deep_path,
        rounds,
        target_p99_ms: TARGET_P99_MS,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "\nmedians of {} rounds ({} connections):",
        report.rounds.len(),
        report.concurrency
    );
    for (name, path, f) in [
        ("trivial", TRIVIAL_PATH, &report.trivial),
        ("apps", APPS_PATH, &report.app_list),
        ("history", HISTORY_PATH, &report.history_first),
        ("deep", report.deep_page.as_str(), &report.history_deep),
    ] {
        let verdict = if name == "trivial" {
            ""
        } else if f.p99_ms < TARGET_P99_MS {
            "  (p99 < 20 ms: met)"
        } else {
            "  (p99 < 20 ms: NOT met)"
        };
        println!(
            "  {name:<8} GET {path:<60} {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms{verdict}",
            f.per_second, f.p50_ms, f.p99_ms
        );
    }
    Ok(())
}

/// The console session id a login answer sets (`Set-Cookie: sid=…`), if any.
pub fn session_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix("sid=")?
                .split(';')
                .next()
                .map(str::to_string)
        })
        .filter(|s| !s.is_empty())
}

fn text(l: &Load) -> String {
    format!(
        "{:>7.0} req/s (p50 {:.2} ms, p99 {:.2} ms)",
        l.per_second, l.p50_ms, l.p99_ms
    )
}
