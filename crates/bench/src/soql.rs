//! `byoc-bench soql`: SOQL over the REST API on 10,000 conversation entries, beside the trivial
//! endpoint, in one run (issue 12, "Done when"; `docs/benchmarks.md` "SOQL").
//!
//! Starts a real server in this process (SQLite, loopback, the sample setup), sends `--entries`
//! inbound messages through the Interaction API as a partner connector does (JWT Bearer token of
//! the sample app, `--users` end users, so as many conversations), then measures in interleaved
//! rounds, each phase with `--concurrency` keep-alive connections sending the org's admin
//! credential as `Authorization: Bearer`:
//!
//! - **trivial**: `GET /id/keys` (no database, no crypto; the other benches' baseline);
//! - **conversation**: one conversation's newest 20 entries (`WHERE ConversationId = '…' ORDER
//!   BY EntryTime DESC LIMIT 20`), what an agent view or a connector's history call asks;
//! - **count**: `SELECT COUNT() FROM ConversationEntry`;
//! - **like**: `WHERE Message LIKE 'soql-bench-123%'` (11 matches);
//! - **page-all**: every entry, following `nextRecordsUrl` (batches of 2000): one answer is one
//!   page; the figure is pages/s (and records/s), each walk by the SDK's `RestClient`.
//!
//! The entries go through `POST /api/v1/interactions` (each 202 is committed before it is
//! answered), not into the store directly: the rows are those a connector's traffic leaves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use byoc_client::rest::{QueryKind, RestClient};
use clap::Args;
use serde::Serialize;

use crate::{check_once, median, run_phase, Load, Target, TRIVIAL_PATH};

#[derive(Debug, Clone, Args)]
pub struct SoqlArgs {
    /// Length of each timed phase, in seconds
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    seconds: f64,
    /// Concurrent keep-alive connections driving the server
    #[arg(long, value_name = "C", default_value_t = 32)]
    concurrency: usize,
    /// Rounds of (trivial, conversation, count, like, page-all); the medians are printed
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: usize,
    /// Conversation entries sent through the Interaction API before the timed phases
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    entries: usize,
    /// End users sending them (one conversation each)
    #[arg(long, value_name = "N", default_value_t = 100)]
    users: usize,
    /// Print one JSON document instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Serialize)]
struct Round {
    trivial: Load,
    conversation: Load,
    count: Load,
    like: Load,
    page_all: Walks,
}

/// The page-all phase: walks of every page by `concurrency` SDK clients.
#[derive(Debug, Clone, Default, Serialize)]
struct Walks {
    pages_per_second: f64,
    records_per_second: f64,
    /// Median time of one whole walk.
    walk_p50_ms: f64,
    walks: u64,
    errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Figure {
    query: String,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    to_trivial: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    cores: usize,
    concurrency: usize,
    seconds_per_phase: f64,
    entries: usize,
    conversations: usize,
    seeding_seconds: f64,
    rounds: Vec<Round>,
    trivial: Figure,
    conversation: Figure,
    count: Figure,
    like: Figure,
    page_all: Figure,
    page_all_records_per_second: f64,
}

pub fn run(args: &SoqlArgs) -> anyhow::Result<()> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        bail!("--seconds must be more than 0 and at most 600");
    }
    if args.concurrency == 0 || args.concurrency > 4096 || args.rounds == 0 {
        bail!("--concurrency must be between 1 and 4096 and --rounds at least 1");
    }
    if args.entries == 0 || args.users == 0 {
        bail!("--entries and --users must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let phase = Duration::from_secs_f64(args.seconds);
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };
    let (temp, server_rt, server) = crate::start_server(cores)?;
    let data_dir = temp.path().join("data");
    let org_file = server.org_file().clone();
    let login: url::Url = org_file.login_url.parse()?;
    let addr = login
        .socket_addrs(|| None)?
        .into_iter()
        .next()
        .context("the login URL has no address")?;
    if !addr.ip().is_loopback() {
        bail!("the server is not on loopback ({addr}); refusing to send load there");
    }
    say(format!(
        "byoc-bench soql: {cores} cores, {} connections, {} rounds of {:.1} s phases; server on {addr}",
        args.concurrency, args.rounds, args.seconds
    ));

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("byoc-bench-load")
        .enable_all()
        .build()?;
    let rest = RestClient::new(&org_file.instance_url, &org_file.admin_token)?;

    // The data: inbound messages through the Interaction API, as a connector sends them.
    let seeding = Instant::now();
    let conversation = client_rt.block_on(async {
        let org = crate::outbound::org(&org_file, &data_dir).await?;
        seed(&org, args.entries, args.users).await?;
        let count = rest.query("SELECT COUNT() FROM ConversationEntry").await?;
        if count.total_size < args.entries as u64 {
            bail!(
                "{} entries sent, but the org counts {}",
                args.entries,
                count.total_size
            );
        }
        let session = rest
            .query("SELECT Id FROM MessagingSession LIMIT 1")
            .await?;
        session
            .records
            .first()
            .and_then(|r| r["Id"].as_str())
            .map(str::to_string)
            .context("no MessagingSession after seeding")
    })?;
    let seeding_seconds = seeding.elapsed().as_secs_f64();
    say(format!(
        "sent {} entries from {} end users through the Interaction API in {seeding_seconds:.1} s",
        args.entries, args.users
    ));

    let queries = Queries::new(&conversation);
    let auth = format!("Bearer {}", org_file.admin_token);
    let get = |soql: &str| {
        Arc::new(Target::GetWithHeader(
            query_path(soql),
            "authorization",
            auth.clone(),
        ))
    };
    let trivial = Arc::new(Target::Get(TRIVIAL_PATH.into()));
    let by_conversation = get(&queries.conversation);
    let count = get(&queries.count);
    let like = get(&queries.like);
    client_rt.block_on(async {
        for target in [&trivial, &by_conversation, &count, &like] {
            check_once(addr, target).await?;
        }
        anyhow::Ok(())
    })?;

    let mut rounds = Vec::new();
    for n in 1..=args.rounds {
        let round = client_rt.block_on(async {
            let t = run_phase(addr, trivial.clone(), args.concurrency, phase).await?;
            let c = run_phase(addr, by_conversation.clone(), args.concurrency, phase).await?;
            let k = run_phase(addr, count.clone(), args.concurrency, phase).await?;
            let l = run_phase(addr, like.clone(), args.concurrency, phase).await?;
            let p = walk_phase(&rest, &queries.page_all, args.concurrency, phase).await;
            anyhow::Ok(Round {
                trivial: t,
                conversation: c,
                count: k,
                like: l,
                page_all: p,
            })
        })?;
        say(format!(
            "round {n}: trivial {:.0}/s | conversation {:.0}/s | count {:.0}/s | like {:.0}/s | page-all {:.1} pages/s ({:.0} records/s)",
            round.trivial.per_second,
            round.conversation.per_second,
            round.count.per_second,
            round.like.per_second,
            round.page_all.pages_per_second,
            round.page_all.records_per_second,
        ));
        for (what, errors, first) in [
            ("trivial", round.trivial.errors, &round.trivial.first_error),
            (
                "conversation",
                round.conversation.errors,
                &round.conversation.first_error,
            ),
            ("count", round.count.errors, &round.count.first_error),
            ("like", round.like.errors, &round.like.first_error),
            (
                "page-all",
                round.page_all.errors,
                &round.page_all.first_error,
            ),
        ] {
            if let Some(e) = first {
                say(format!("  {what}: {errors} errors; first: {e}"));
            }
        }
        rounds.push(round);
    }
    server_rt.block_on(server.shutdown())?;

    let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let trivial_rate = med(&|r| r.trivial.per_second);
    let figure = |query: &str, pick: &dyn Fn(&Round) -> &Load| {
        let per_second = med(&|r| pick(r).per_second);
        Figure {
            query: query.to_string(),
            per_second,
            p50_ms: med(&|r| pick(r).p50_ms),
            p99_ms: med(&|r| pick(r).p99_ms),
            to_trivial: ratio(per_second, trivial_rate),
        }
    };
    let pages = med(&|r| r.page_all.pages_per_second);
    let report = Report {
        cores,
        concurrency: args.concurrency,
        seconds_per_phase: args.seconds,
        entries: args.entries,
        conversations: args.users,
        seeding_seconds,
        trivial: figure(&format!("GET {TRIVIAL_PATH}"), &|r| &r.trivial),
        conversation: figure(&queries.conversation, &|r| &r.conversation),
        count: figure(&queries.count, &|r| &r.count),
        like: figure(&queries.like, &|r| &r.like),
        page_all: Figure {
            query: format!("{} (every nextRecordsUrl)", queries.page_all),
            per_second: pages,
            p50_ms: med(&|r| r.page_all.walk_p50_ms),
            p99_ms: 0.0,
            to_trivial: ratio(pages, trivial_rate),
        },
        page_all_records_per_second: med(&|r| r.page_all.records_per_second),
        rounds,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report));
    }
    Ok(())
}

/// The queries, on the conversation picked after seeding.
struct Queries {
    conversation: String,
    count: String,
    like: String,
    page_all: String,
}

impl Queries {
    fn new(conversation_id: &str) -> Queries {
        Queries {
            conversation: format!(
                "SELECT Id, ActorName, ActorType, Message, EntryTime FROM ConversationEntry \
                 WHERE ConversationId = '{conversation_id}' ORDER BY EntryTime DESC LIMIT 20"
            ),
            count: "SELECT COUNT() FROM ConversationEntry".into(),
            like: "SELECT Id, Message FROM ConversationEntry WHERE Message LIKE 'soql-bench-123%'"
                .into(),
            page_all: "SELECT Id, ConversationId, Message, EntryTime FROM ConversationEntry".into(),
        }
    }
}

fn query_path(soql: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
    format!(
        "/services/data/v{}/query?q={q}",
        byoc_proto::rest::CURRENT_API_VERSION
    )
}

/// `entries` text messages `soql-bench-{n}` from `users` end users, 16 in flight.
async fn seed(org: &crate::outbound::Org, entries: usize, users: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (http, org, next) = (http.clone(), org.clone(), next.clone());
        senders.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= entries {
                    return anyhow::Ok(());
                }
                let from = format!("soql-user-{}", n % users);
                let (accepted, body) =
                    crate::outbound::post_message(&http, &org, &from, &format!("soql-bench-{n}"))
                        .await?;
                if !accepted {
                    bail!(
                        "interaction {n} was refused: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
        });
    }
    while let Some(joined) = senders.join_next().await {
        joined??;
    }
    Ok(())
}

/// `concurrency` SDK clients walking every page of `soql` again and again for `phase`.
async fn walk_phase(rest: &RestClient, soql: &str, concurrency: usize, phase: Duration) -> Walks {
    let start = Instant::now();
    let deadline = start + phase;
    let mut walkers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (rest, soql) = (rest.clone(), soql.to_string());
        walkers.spawn(async move {
            let (mut pages, mut records, mut times, mut errors, mut first_error) =
                (0u64, 0u64, Vec::new(), 0u64, None);
            while Instant::now() < deadline {
                let began = Instant::now();
                let mut walk = rest.pages(QueryKind::Query, &soql);
                loop {
                    match walk.next().await {
                        Ok(Some(page)) => {
                            pages += 1;
                            records += page.result.records.len() as u64;
                        }
                        Ok(None) => {
                            times.push(began.elapsed().as_secs_f64() * 1000.0);
                            break;
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| e.to_string());
                            break;
                        }
                    }
                }
            }
            (pages, records, times, errors, first_error)
        });
    }
    let mut walks = Walks::default();
    let mut times = Vec::new();
    while let Some(joined) = walkers.join_next().await {
        let Ok((pages, records, t, errors, first)) = joined else {
            walks.errors += 1;
            continue;
        };
        walks.pages_per_second += pages as f64;
        walks.records_per_second += records as f64;
        walks.errors += errors;
        walks.first_error = walks.first_error.take().or(first);
        times.extend(t);
    }
    let elapsed = start.elapsed().as_secs_f64();
    walks.pages_per_second /= elapsed;
    walks.records_per_second /= elapsed;
    walks.walks = times.len() as u64;
    walks.walk_p50_ms = median(times);
    walks
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn summary(r: &Report) -> String {
    let line = |name: &str, f: &Figure, unit: &str| {
        let p99 = if f.p99_ms > 0.0 {
            format!("{:>9.2} ms", f.p99_ms)
        } else {
            format!("{:>12}", "-")
        };
        // A query costs thousands of trivial answers: the ratio reads better as 1 : N.
        let ratio = if f.to_trivial > 0.0 && f.to_trivial < 1.0 {
            format!("1 : {:.0} of trivial", 1.0 / f.to_trivial)
        } else {
            format!("{:.3} of trivial", f.to_trivial)
        };
        format!(
            "  {name:<13} {:>9.1} {unit:<8} p50 {:>9.2} ms   p99 {p99}   {ratio}\n",
            f.per_second, f.p50_ms
        )
    };
    format!(
        "\nmedians of {} rounds ({} entries in {} conversations, {} connections):\n{}{}{}{}{}\
         \x20 page-all walks: {:.0} records/s; p50 is one whole walk ({} pages of 2000)\n\
         queries:\n  conversation  {}\n  count         {}\n  like          {}\n  page-all      {}\n",
        r.rounds.len(),
        r.entries,
        r.conversations,
        r.concurrency,
        line("trivial", &r.trivial, "req/s"),
        line("conversation", &r.conversation, "req/s"),
        line("count", &r.count, "req/s"),
        line("like", &r.like, "req/s"),
        line("page-all", &r.page_all, "pages/s"),
        r.page_all_records_per_second,
        r.entries.div_ceil(2000),
        r.conversation.query,
        r.count.query,
        r.like.query,
        r.page_all.query,
    )
}
