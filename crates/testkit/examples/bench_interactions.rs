//! Durable interactions per second, measured over loopback against a real byoc server started in
//! this process, beside a trivial endpoint of the same server measured in the same run.
//!
//! ```text
//! cargo run --release -p byoc-testkit --example bench_interactions -- [--seconds 10] [--concurrency 64] [--users 1000] [--database-url postgres://...]
//! ```
//!
//! Every counted interaction got its 202, which byoc sends only after the entry is committed.
//! The trivial endpoint is the Interaction API host's answer to an unknown path: no token check,
//! no database, one small JSON body.

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
    database_url: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 10,
        concurrency: 64,
        users: 1000,
        database_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse().unwrap_or(a.seconds),
            "--concurrency" => a.concurrency = value.parse().unwrap_or(a.concurrency),
            "--users" => a.users = value.parse().unwrap_or(a.users),
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
    fn report(&self, what: &str) -> f64 {
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
        rate
    }
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args();
    let server = TestServer::start_with(Options {
        database_url: a.database_url.clone(),
        ..Options::default()
    })
    .await?;
    let env: std::collections::HashMap<String, String> =
        std::fs::read_to_string(server.data_dir().join("partner.env"))?
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').replace("\\n", "\n")))
            .collect();
    let token = JwtBearer::new(JwtBearerSettings {
        token_url: format!("{}/services/oauth2/token", server.org().login_url),
        consumer_key: env["SF_CONSUMER_KEY"].clone(),
        username: server.org().admin_username.clone(),
        audience: "https://login.salesforce.com".into(),
        private_key_pem: env["SF_PRIVATE_KEY"].clone(),
    })?
    .fetch()
    .await?
    .access_token;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()?;
    let scrt = server.org().scrt_url.clone();
    let backend = if a.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "byoc interactions benchmark: {backend}, {} clients, {} s per measurement, {} end users",
        a.concurrency, a.seconds, a.users
    );

    // Warm up connections and the setup cache.
    let trivial_url = format!("{scrt}/api/v1/benchmark-trivial");
    {
        let http = http.clone();
        let url = trivial_url.clone();
        drive(a.concurrency, 1, 404, move |_| {
            let http = http.clone();
            let url = url.clone();
            async move { Ok(http.get(&url).send().await?.status().as_u16()) }
        })
        .await;
    }

    let trivial = {
        let http = http.clone();
        let url = trivial_url.clone();
        drive(a.concurrency, a.seconds, 404, move |_| {
            let http = http.clone();
            let url = url.clone();
            async move { Ok(http.get(&url).send().await?.status().as_u16()) }
        })
        .await
    };

    let run_id = std::process::id();
    let interactions = {
        let http = http.clone();
        let url = format!("{scrt}/api/v1/interactions");
        let (org, ccd, address, users) = (
            server.org().org_id.clone(),
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
                .post(&url)
                .bearer_auth(&token)
                .header("OrgId", &org)
                .header("AuthorizationContext", &ccd)
                .header("RequestId", "bench")
                .multipart(Form::new().part("json", Part::text(body.to_string())));
            async move { Ok(request.send().await?.status().as_u16()) }
        })
        .await
    };

    let base = trivial.report("trivial endpoint (404)");
    let rate = interactions.report("durable interactions (202)");
    println!(
        "ratio interactions / trivial: {:.2}",
        if base > 0.0 { rate / base } else { 0.0 }
    );
    server.stop().await?;
    Ok(())
}
