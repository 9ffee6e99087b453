//! Durable interactions per second, measured over loopback against real byoc servers started in
//! this process, each beside a trivial endpoint of the same servers measured in the same run, on
//! every store setup in one run, in interleaved rounds:
//!
//! - `sqlite`: one server on SQLite (a temporary data dir);
//! - `postgres`: one server on a fresh PostgreSQL database ([`byoc_store::testing::postgres_url`],
//!   or `--database-url`);
//! - `postgres-x2`: two servers (two instances) on one fresh PostgreSQL database, the load split
//!   between them request by request;
//! - `postgres-before`: like `postgres`, with `BYOC_PG_BATCH=statements`: batches statement by
//!   statement from byoc, as before the server-side function (issue 13), for a before/after in
//!   one run.
//!
//! ```text
//! cargo run --release -p byoc-testkit --example bench_interactions -- [--seconds 10] [--concurrency 64] \
//!     [--users 1000] [--rounds 3] [--setups sqlite,postgres,postgres-x2,postgres-before] [--database-url postgres://...]
//! ```
//!
//! Every counted interaction got its 202, which byoc sends only after the entry is committed.
//! The trivial endpoint is the Interaction API host's answer to an unknown path: no token check,
//! no database, one small JSON body. At the end it prints, per setup, the medians over the rounds
//! and the PostgreSQL/SQLite ratio of durable interactions (the median of each round's ratio).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_testkit::{Options, TestServer};
use reqwest::multipart::{Form, Part};
use serde_json::json;

struct Args {
    seconds: u64,
    concurrency: usize,
    users: usize,
    rounds: usize,
    setups: Vec<String>,
    database_url: Option<String>,
}

const SETUPS: [&str; 4] = ["sqlite", "postgres", "postgres-x2", "postgres-before"];

fn args() -> Args {
    let mut a = Args {
        seconds: 10,
        concurrency: 64,
        users: 1000,
        rounds: 3,
        setups: SETUPS.iter().map(|s| s.to_string()).collect(),
        database_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse().unwrap_or(a.seconds),
            "--concurrency" => a.concurrency = value.parse().unwrap_or(a.concurrency),
            "--users" => a.users = value.parse().unwrap_or(a.users),
            "--rounds" => a.rounds = value.parse().unwrap_or(a.rounds).max(1),
            "--setups" => {
                a.setups = value
                    .split(',')
                    .filter(|s| SETUPS.contains(s))
                    .map(str::to_string)
                    .collect()
            }
            "--database-url" => a.database_url = Some(value),
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    a
}

struct Run {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u64>,
    elapsed: Duration,
}

impl Run {
    fn report(&self, what: &str) -> Figures {
        let mut l = self.latencies_us.clone();
        l.sort_unstable();
        let pct = |p: f64| {
            l.get(((l.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(0) as f64
                / 1000.0
        };
        let rate = self.ok as f64 / self.elapsed.as_secs_f64();
        println!(
            "{what:<28} {rate:>10.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} ok, {} failed, {:.1} s)",
            pct(0.50),
            pct(0.99),
            self.ok,
            self.failed,
            self.elapsed.as_secs_f64()
        );
        Figures {
            rate,
            p50: pct(0.50),
            p99: pct(0.99),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Figures {
    rate: f64,
    p50: f64,
    p99: f64,
}

/// Run `make` from `concurrency` tasks for `seconds`, counting answers with `expected` status.
async fn drive<F, Fut>(concurrency: usize, seconds: u64, expected: u16, make: F) -> Run
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u16, reqwest::Error>> + Send,
{
    let make = Arc::new(make);
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let make = make.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::new());
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                match make(n).await {
                    Ok(s) if s == expected => {
                        ok += 1;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    _ => failed += 1,
                }
            }
            (ok, failed, lat)
        }));
    }
    let mut run = Run {
        ok: 0,
        failed: 0,
        latencies_us: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        if let Ok((ok, failed, lat)) = t.await {
            run.ok += ok;
            run.failed += failed;
            run.latencies_us.extend(lat);
        }
    }
    run.elapsed = start.elapsed();
    run
}

/// One setup's servers: one, or two instances on one database.
async fn start(setup: &str, a: &Args) -> anyhow::Result<Vec<TestServer>> {
    let database_url = match setup {
        "sqlite" => None,
        _ => match &a.database_url {
            Some(url) => Some(url.clone()),
            None => Some(
                byoc_store::testing::postgres_url("interactions benchmark")
                    .await
                    .ok_or_else(|| anyhow::anyhow!("no PostgreSQL for the {setup} setup"))?,
            ),
        },
    };
    let instances = if setup == "postgres-x2" { 2 } else { 1 };
    let mut servers = Vec::new();
    for _ in 0..instances {
        servers.push(
            TestServer::start_with(Options {
                database_url: database_url.clone(),
                ..Options::default()
            })
            .await?,
        );
    }
    Ok(servers)
}

/// Measure one setup: the trivial endpoint, then durable interactions, the requests spread
/// over its instances in turn.
async fn measure(setup: &str, a: &Args, round: usize) -> anyhow::Result<(Figures, Figures)> {
    // Read by the store at every batch; set only while this setup's servers run.
    if setup == "postgres-before" {
        std::env::set_var("BYOC_PG_BATCH", "statements");
    }
    let servers = start(setup, a).await?;
    let first = &servers[0];
    let env: std::collections::HashMap<String, String> =
        std::fs::read_to_string(first.data_dir().join("partner.env"))?
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').replace("\\n", "\n")))
            .collect();
    // One token, from the first instance; every instance accepts it (one org, one database).
    let token = JwtBearer::new(JwtBearerSettings {
        token_url: format!("{}/services/oauth2/token", first.org().login_url),
        consumer_key: env["SF_CONSUMER_KEY"].clone(),
        username: first.org().admin_username.clone(),
        audience: "https://login.salesforce.com".into(),
        private_key_pem: env["SF_PRIVATE_KEY"].clone(),
    })?
    .fetch()
    .await?
    .access_token;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()?;
    let scrts: Arc<Vec<String>> =
        Arc::new(servers.iter().map(|s| s.org().scrt_url.clone()).collect());
    let pick = |scrts: &[String], n: u64| scrts[(n % scrts.len() as u64) as usize].clone();

    let trivial_run = |seconds: u64| {
        let http = http.clone();
        let scrts = scrts.clone();
        drive(a.concurrency, seconds, 404, move |n| {
            let request = http.get(format!("{}/api/v1/benchmark-trivial", pick(&scrts, n)));
            async move { Ok(request.send().await?.status().as_u16()) }
        })
    };
    // Warm up connections and the setup cache.
    trivial_run(1).await;
    let trivial = trivial_run(a.seconds).await;

    let run_id = format!("{}-{round}-{setup}", std::process::id());
    let interactions = {
        let http = http.clone();
        let scrts = scrts.clone();
        let (org, ccd, address, users) = (
            first.org().org_id.clone(),
            env["SF_AUTHORIZATION_CONTEXT"].clone(),
            env["CHANNEL_ADDRESS_IDENTIFIER"].clone(),
            a.users as u64,
        );
        drive(a.concurrency, a.seconds, 202, move |n| {
            let body = json!({
                "to": address,
                "from": format!("bench-user-{}", n % users),
                "interactions": [{
                    "timestamp": 1_700_000_000_000i64 + n as i64,
                    "interactionType": "EntryInteraction",
                    "payload": {"id": format!("bench-{run_id}-{n}"), "entryType": "Message",
                        "abstractMessage": {"id": format!("bench-{run_id}-{n}"), "messageType": "StaticContentMessage",
                            "staticContent": {"formatType": "Text", "text": format!("message {n}")}}}
                }]
            });
            let request = http
                .post(format!("{}/api/v1/interactions", pick(&scrts, n)))
                .bearer_auth(&token)
                .header("OrgId", &org)
                .header("AuthorizationContext", &ccd)
                .header("RequestId", "bench")
                .multipart(Form::new().part("json", Part::text(body.to_string())));
            async move { Ok(request.send().await?.status().as_u16()) }
        })
        .await
    };

    println!("round {round}, {setup} ({} instance(s)):", servers.len());
    let base = trivial.report("  trivial endpoint (404)");
    let rate = interactions.report("  durable interactions (202)");
    println!(
        "  ratio interactions / trivial: {:.3}",
        if base.rate > 0.0 {
            rate.rate / base.rate
        } else {
            0.0
        }
    );
    for s in servers {
        s.stop().await?;
    }
    std::env::remove_var("BYOC_PG_BATCH");
    Ok((base, rate))
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.0}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args();
    println!(
        "byoc interactions benchmark: setups {}, {} rounds, {} clients, {} s per measurement, {} end users",
        a.setups.join(", "),
        a.rounds,
        a.concurrency,
        a.seconds,
        a.users
    );
    // results[setup] = one (trivial, interactions) per round, rounds interleaved.
    let mut results: Vec<Vec<(Figures, Figures)>> = vec![Vec::new(); a.setups.len()];
    for round in 1..=a.rounds {
        for (i, setup) in a.setups.iter().enumerate() {
            results[i].push(measure(setup, &a, round).await?);
        }
    }

    println!("\nmedians over {} rounds:", a.rounds);
    println!(
        "{:<12} {:>12} {:>14} {:>9} {:>9}   durable interactions per round",
        "setup", "trivial/s", "interactions/s", "p50 ms", "p99 ms"
    );
    for (setup, rounds) in a.setups.iter().zip(&results) {
        let rates: Vec<f64> = rounds.iter().map(|r| r.1.rate).collect();
        println!(
            "{setup:<12} {:>12.0} {:>14.0} {:>9.2} {:>9.2}   {}",
            median(rounds.iter().map(|r| r.0.rate).collect()),
            median(rates.clone()),
            median(rounds.iter().map(|r| r.1.p50).collect()),
            median(rounds.iter().map(|r| r.1.p99).collect()),
            list(&rates)
        );
    }
    let ratio = |of: usize, to: usize| {
        let ratios: Vec<f64> = results[of]
            .iter()
            .zip(&results[to])
            .map(|(x, base)| {
                if base.1.rate > 0.0 {
                    x.1.rate / base.1.rate
                } else {
                    0.0
                }
            })
            .collect();
        println!(
            "ratio {}/{} durable interactions: median {:.2} (rounds {})",
            a.setups[of],
            a.setups[to],
            median(ratios.clone()),
            ratios
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(" / ")
        );
    };
    let position = |name: &str| a.setups.iter().position(|s| s == name);
    if let Some(sqlite) = position("sqlite") {
        for i in (0..a.setups.len()).filter(|i| *i != sqlite) {
            ratio(i, sqlite);
        }
    }
    if let (Some(after), Some(before)) = (position("postgres"), position("postgres-before")) {
        ratio(after, before);
    }
    Ok(())
}
