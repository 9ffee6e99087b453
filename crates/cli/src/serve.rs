//! `byoc serve`: bind the listeners, start the org, print where it is, run until SIGINT or
//! SIGTERM, then shut down cleanly (in-flight requests finish, the store is flushed).

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;

use byoc_proto::files::OrgFile;
use clap::Args;

use crate::output::CliError;
use crate::{GlobalArgs, OutputFormat};

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Login, OAuth token, instance and admin API listener (port 0 picks one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6101")]
    pub listen: SocketAddr,
    /// Interaction API (SCRT) listener (port 0 picks one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8085")]
    pub scrt_listen: SocketAddr,
    /// Login/instance host over HTTPS, certificate from the local CA (port 0 picks one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6102")]
    pub https_listen: SocketAddr,
    /// Interaction API (SCRT) over HTTPS, certificate from the local CA (port 0 picks one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8086")]
    pub scrt_https_listen: SocketAddr,
    /// Pub/Sub API listener, gRPC over TLS from the local CA (port 0 picks one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7443")]
    pub pubsub_listen: SocketAddr,
    /// Store: postgres://... for PostgreSQL [default: a SQLite file in the data dir]
    #[arg(long, env = "DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// On first start, create the org without the sample setup (no ECA, channel or partner.env)
    #[arg(long)]
    pub empty: bool,
    /// Token endpoint: also refuse what a careful partner never sends (exp more than 3 minutes
    /// ahead, a missing or reused jti, iat/nbf in the future, expired certificates)
    #[arg(long)]
    pub strict: bool,
    /// Token endpoint: accept this JWT `aud` too, besides https://login.salesforce.com,
    /// https://test.salesforce.com and byoc's own login URL (repeatable)
    #[arg(long = "audience", value_name = "URL")]
    pub audiences: Vec<String>,
    /// Answer every inbound end-user message with an agent reply "echo: <text>" (published like
    /// `byoc agent reply`), for partners' load and soak tests
    #[arg(long)]
    pub echo_agent: bool,
    /// With --echo-agent: wait this long before answering, in milliseconds
    #[arg(long, value_name = "N", default_value_t = 0, requires = "echo_agent")]
    pub echo_delay_ms: u64,
    /// On SIGTERM/SIGINT, wait at most this long for in-flight requests, in seconds (0 and
    /// fractions allowed); buffered writes are flushed either way (docs/scale-out.md)
    #[arg(long, value_name = "S", default_value = "10", value_parser = parse_drain_timeout)]
    pub drain_timeout: std::time::Duration,
    /// Behind a load balancer: the login and instance URL clients use (docs/scale-out.md)
    #[arg(long, value_name = "URL")]
    pub public_login_url: Option<String>,
    /// Behind a load balancer: the Interaction API (SCRT) URL clients use
    #[arg(long, value_name = "URL")]
    pub public_scrt_url: Option<String>,
    /// Behind a load balancer: the Pub/Sub API endpoint clients use, HOST:PORT
    #[arg(long, value_name = "HOST:PORT")]
    pub public_pubsub_endpoint: Option<String>,
    /// Behind a load balancer: the login and instance URL over HTTPS
    #[arg(long, value_name = "URL")]
    pub public_login_https_url: Option<String>,
    /// Behind a load balancer: the Interaction API URL over HTTPS
    #[arg(long, value_name = "URL")]
    pub public_scrt_https_url: Option<String>,
    /// On first start, build the org from this Salesforce DX project (sfdx-project.json and
    /// force-app/...) instead of the sample setup; `byoc reset` returns to it
    #[arg(long, value_name = "DIR", conflicts_with = "empty")]
    pub seed: Option<std::path::PathBuf>,
    /// Let `byoc clock` (and the admin API) move this org's clock; without it the clock stays real
    #[arg(long)]
    pub allow_clock_control: bool,
}

pub async fn serve(global: &GlobalArgs, args: ServeArgs) -> Result<(), CliError> {
    init_tracing();
    // A bad --public-* value is a usage error, before any port is taken.
    let advertise = byoc_server::Advertise {
        login_url: args.public_login_url,
        scrt_url: args.public_scrt_url,
        pubsub_endpoint: args.public_pubsub_endpoint,
        login_https_url: args.public_login_https_url,
        scrt_https_url: args.public_scrt_https_url,
    }
    .validate()
    .map_err(|e| CliError::usage(format!("{e:#}")))?;
    let listeners = byoc_server::Listeners::bind_all(
        args.listen,
        args.scrt_listen,
        args.pubsub_listen,
        args.https_listen,
        args.scrt_https_listen,
    )
    .await
    .map_err(|e| CliError::new(format!("can't listen: {e:#}")))?;
    let server = byoc_server::start(
        listeners,
        byoc_server::ServerConfig {
            data_dir: global.data_dir.clone(),
            database_url: args.database_url,
            empty: args.empty,
            strict: args.strict,
            accepted_audiences: accepted_audiences(&args.audiences),
            pubsub: byoc_server::pubsub::PubSubConfig {
                echo_agent: args
                    .echo_agent
                    .then(|| byoc_server::pubsub::echo::EchoAgentConfig {
                        delay: std::time::Duration::from_millis(args.echo_delay_ms),
                    }),
                ..Default::default()
            },
            drain_timeout: args.drain_timeout,
            advertise,
            seed: args.seed,
            allow_clock_control: args.allow_clock_control,
        },
    )
    .await
    .map_err(|e| CliError::new(format!("can't start byoc: {e:#}")))?;

    print_ready(global.output, &global.data_dir, server.org_file());

    let signal = wait_for_signal().await;
    tracing::info!(signal, "shutting down");
    // A second signal ends the drain at once (buffered writes are still flushed).
    let hurry = server.hurry();
    let second = tokio::spawn(async move {
        let signal = wait_for_signal().await;
        tracing::warn!(
            signal,
            "second signal: not waiting for in-flight requests any longer"
        );
        hurry.cancel();
    });
    let outcome = server
        .shutdown()
        .await
        .into_outcome()
        .map_err(|e| CliError::new(format!("byoc did not shut down cleanly: {e}")));
    second.abort();
    outcome
}

/// The most `--drain-timeout` accepts: a day.
const MAX_DRAIN_TIMEOUT_S: f64 = 86_400.0;

/// `--drain-timeout S`: seconds, finite, from 0 to a day.
fn parse_drain_timeout(s: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds such as 10 or 2.5, not {s:?}"))?;
    if !seconds.is_finite() || !(0.0..=MAX_DRAIN_TIMEOUT_S).contains(&seconds) {
        return Err(format!(
            "expected a number of seconds from 0 to {MAX_DRAIN_TIMEOUT_S}, not {s}"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// `--audience` adds to Salesforce's two login URLs; the server replaces them with a non-empty
/// list, so they are passed along.
fn accepted_audiences(extra: &[String]) -> Vec<String> {
    if extra.is_empty() {
        return Vec::new();
    }
    let mut all: Vec<String> = byoc_server::oauth::DEFAULT_AUDIENCES
        .iter()
        .map(|s| s.to_string())
        .collect();
    for audience in extra {
        let audience = audience.trim().trim_end_matches('/').to_string();
        if !audience.is_empty() && !all.iter().any(|a| a.eq_ignore_ascii_case(&audience)) {
            all.push(audience);
        }
    }
    all
}

/// Logs go to stderr; `BYOC_LOG` takes an env-filter directive (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BYOC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A subscriber may already be set (tests running serve in-process); keep that one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The ready message: one line of JSON (the org file) or a few lines for people.
fn print_ready(format: OutputFormat, data_dir: &Path, org: &OrgFile) {
    let mut stdout = std::io::stdout().lock();
    let _ = match format {
        OutputFormat::Json => writeln!(stdout, "{}", ready_json(data_dir, org)),
        OutputFormat::Text | OutputFormat::Csv => write!(stdout, "{}", ready_text(data_dir, org)),
    };
    let _ = stdout.flush();
}

/// The org file as JSON without the admin credential and password: stdout ends up in CI logs and terminals'
/// scrollback, so the credential stays in `org.json` (owner-only), named here by `org_file`.
pub fn ready_json(data_dir: &Path, org: &OrgFile) -> String {
    let mut value = serde_json::to_value(org).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.remove("admin_token");
        fields.remove("admin_password");
        fields.insert(
            "org_file".into(),
            data_dir.join("org.json").display().to_string().into(),
        );
    }
    value.to_string()
}

pub fn ready_text(data_dir: &Path, org: &OrgFile) -> String {
    let partner_env = data_dir.join("partner.env");
    let mut text = format!(
        "byoc is ready: org {} ({}), data in {} ({})\n",
        org.org_id,
        org.org_id_18,
        data_dir.display(),
        org.database
    );
    text.push_str(&crate::output::fields(
        2,
        &[
            ("Login / OAuth / admin API", org.login_url.clone()),
            ("Instance", org.instance_url.clone()),
            ("Interaction API (SCRT)", org.scrt_url.clone()),
            (
                "HTTPS",
                format!(
                    "{} (login, instance), {} (Interaction API); CA: {}",
                    org.login_url_https, org.scrt_url_https, org.ca_cert
                ),
            ),
            (
                "Pub/Sub API (gRPC, TLS)",
                format!("{} (CA: {})", org.pubsub_endpoint, org.ca_cert),
            ),
            ("Admin user", org.admin_username.clone()),
            (
                "Web console",
                format!(
                    "{}/  (byoc open logs you in; the password is admin_password in org.json)",
                    org.login_url
                ),
            ),
            (
                "Partner settings",
                if partner_env.exists() {
                    partner_env.display().to_string()
                } else {
                    "(none: started --empty)".to_string()
                },
            ),
        ],
    ));
    text.push_str("Next: byoc setup eca list    (stop with Ctrl-C)\n");
    text
}

/// The name of the signal that asked us to stop.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(e) => {
                tracing::warn!(error = %e, "can't watch SIGTERM; stop with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// What `shutdown()` returns, whether `()` or a `Result`, as one shape.
trait ShutdownOutcome {
    fn into_outcome(self) -> Result<(), String>;
}

impl ShutdownOutcome for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Display> ShutdownOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_timeout_takes_seconds_from_zero_to_a_day() {
        use std::time::Duration;
        assert_eq!(parse_drain_timeout("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_drain_timeout("0"), Ok(Duration::ZERO));
        assert_eq!(parse_drain_timeout("2.5"), Ok(Duration::from_millis(2500)));
        for bad in ["-1", "NaN", "inf", "-inf", "86401", "1e300", "soon", ""] {
            let e = parse_drain_timeout(bad).expect_err(bad);
            assert!(e.contains("seconds"), "{bad}: {e}");
        }
    }
}
