//! The `byoc` command line: a thin layer over the admin API client (`byoc-client`), the key and
//! certificate helpers (`byoc-pki`) and, for `byoc serve`, the server itself.
//!
//! - [`Cli`] / [`Command`]: the clap definition, one subcommand enum per resource, with the global
//!   flags (`--url`, `--data-dir`, `--output`, `--as`) accepted before or after the subcommand.
//! - [`run`]: parse result in, exit code out; [`execute`] returns the [`Output`] instead of
//!   printing it, for tests.
//! - `context`: the data dir, `org.json` and the admin client built from them.
//! - `output`: text and JSON rendering, the error type and its exit codes.
//! - `setup`: `byoc setup ...` (users, permission sets, profiles, org settings, External Client
//!   Apps, connected apps, messaging channels, CCDs, the audit trail).
//! - `cert`, `ca`, `open`: `byoc cert new`, `byoc ca`, `byoc open` (the web console, logged in).
//! - `serve`: `byoc serve`, the local org.
//! - `token`, `logins`: `byoc token` (the partner side of the JWT Bearer flow, against byoc or
//!   real Salesforce) and `byoc logins` (the login history with byoc's diagnosis).
//! - `conversations`: `byoc conversations list|show`, what arrived through the Interaction API.
//! - `agent`, `listen`: `byoc agent reply|end|route` (publish outbound events) and `byoc listen` (the
//!   Pub/Sub subscriber, printing events as they arrive).
//! - `query`: `byoc query "SELECT …"`, SOQL through the REST API, printed like `sf data query`.
//! - `send`, `doctor`: `byoc send` (the end user's message, file or typing indicator through the
//!   Interaction API) and `byoc doctor` (the whole partner chain, step by step, with fixes).
//! - `partner`: what the partner commands share — settings from flags, the environment and
//!   `partner.env` (`byoc_client::settings`), the access token, the Pub/Sub CA.
//!
//! Every command prints one JSON document on stdout with `--output json`; errors go to stderr
//! (as `{"error": ..., "errors": [...]}` in JSON mode) with exit code 1; clap's usage errors exit
//! with 2.

mod agent;
mod ca;
mod cert;
mod clock;
mod context;
mod conversations;
mod doctor;
mod inspect;
mod listen;
mod logins;
mod metadata;
mod open;
mod output;
mod partner;
mod query;
mod reset;
mod send;
mod serve;
pub mod setup;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use cert::CertCommand;
pub use context::DEFAULT_URL;
pub use output::{CliError, Output};
pub use serve::ServeArgs;
pub use setup::SetupCommand;

/// byoc: a local Salesforce org for Bring Your Own Channel, and the partner's command line.
#[derive(Debug, Parser)]
#[command(name = "byoc", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the subcommand.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global Options")]
pub struct GlobalArgs {
    /// Login/instance base URL of the org [default: login_url of DATA/org.json, else
    /// http://127.0.0.1:6101]
    #[arg(long, global = true, env = "BYOC_URL", value_name = "URL")]
    pub url: Option<String>,

    /// Data dir of the local org (org.json, partner.env, keys, the SQLite store)
    #[arg(
        long,
        global = true,
        env = "BYOC_DATA_DIR",
        value_name = "DIR",
        default_value = "./.byoc"
    )]
    pub data_dir: PathBuf,

    /// Output format: text for people, json (one document on stdout) for scripts, csv (`byoc
    /// query` only)
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        default_value_t = OutputFormat::Text
    )]
    pub output: OutputFormat,

    /// Act as this user of the org instead of the bootstrap admin (Setup's Login As), so
    /// permission checks can be tried; never an inactive user; each use is written to the setup
    /// audit trail
    #[arg(long = "as", global = true, value_name = "USERNAME")]
    pub act_as: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    /// Header and rows, for `byoc query` (other commands refuse it).
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the local org: login/OAuth host with the admin API, Interaction API (SCRT) host and
    /// Pub/Sub API host
    Serve(ServeArgs),

    /// Setup: configure the org as its Salesforce admin would (users, apps, channels), through
    /// byoc's admin API
    #[command(subcommand)]
    Setup(SetupCommand),

    /// Certificates: the partner's key pair; the app's JWT Bearer flow verifies assertions with
    /// its certificate
    #[command(subcommand)]
    Cert(CertCommand),

    /// Local CA: the certificate byoc's Pub/Sub TLS listener chains to (a gRPC client's trust
    /// root)
    Ca(ca::CaArgs),

    /// The agent's side of a conversation: replies become outbound platform events
    #[command(subcommand)]
    Agent(agent::AgentCommand),

    /// JWT Bearer flow, the partner's side: sign an assertion with the private key, trade it at a
    /// token URL (byoc or real Salesforce), print the answer
    Token(token::TokenArgs),

    /// Login history: every token request with Salesforce's error and byoc's diagnosis, newest
    /// first (Setup > Login History)
    Logins(logins::LoginsArgs),

    /// Conversations that arrived through the Interaction API: entries, attachments,
    /// acknowledgements (the Messaging Session records of the org)
    #[command(subcommand)]
    Conversations(conversations::ConversationsCommand),

    /// The request inspector: the last calls to each host (token endpoint, Interaction API,
    /// Pub/Sub, admin API) with Salesforce's error code and byoc's diagnosis; --follow streams
    /// new ones
    Inspect(inspect::InspectArgs),

    /// Subscribe to the CCD's platform event topic (Pub/Sub API) with partner.env settings and
    /// print each event
    Listen(listen::ListenArgs),

    /// Send as the end user through the Interaction API (a message, a file or a typing
    /// indicator) with partner.env settings; prints the conversation and entry ids
    Send(send::SendArgs),

    /// Check the partner's whole chain (key, certificate, token, scope, CCD link, channel
    /// address, Pub/Sub topic) and name the fix for each broken step; exit 0 only when all pass
    Doctor(doctor::DoctorArgs),

    /// SOQL through the org's REST API (/query, --all: /queryAll, --tooling: /tooling/query) as
    /// the org's admin, or with --access-token; prints a table like `sf data query`, or
    /// --output json|csv
    Query(query::QueryArgs),

    /// Open the web console (Setup) in the browser, logged in as the bootstrap admin; `--print`
    /// prints the login URL instead
    Open(open::OpenArgs),

    /// Salesforce DX metadata: retrieve the org's setup as a DX project, or deploy one into the
    /// org (all or nothing)
    #[command(subcommand)]
    Metadata(metadata::MetadataCommand),

    /// Return the running org to its seed (the sample setup or `serve --seed DIR`), or with
    /// --keep-setup empty its conversations and events only; for use between test cases
    Reset(reset::ResetArgs),

    /// The org clock: show it, move it (advance 3h, set 2027-01-01T00:00:00Z) or make it real
    /// again; moving it needs `serve --allow-clock-control`
    #[command(subcommand)]
    Clock(clock::ClockCommand),
}

/// Run a parsed command line: print its output (or its error) and return the exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let format = cli.global.output;
    if format == OutputFormat::Csv && !matches!(cli.command, Command::Query(_)) {
        let error = CliError::usage("--output csv is for `byoc query`; use text or json here");
        return output::report_error(OutputFormat::Text, &error);
    }
    if let Command::Serve(args) = &cli.command {
        return match serve::serve(&cli.global, args.clone()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => output::report_error(format, &error),
        };
    }
    if let Command::Listen(args) = &cli.command {
        let ctx = context::Context::new(cli.global.clone());
        return match listen::listen(&ctx, args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => output::report_error(format, &error),
        };
    }
    if let Command::Inspect(args) = &cli.command {
        let ctx = context::Context::new(cli.global.clone());
        return match inspect::inspect(&ctx, args, format).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => output::report_error(format, &error),
        };
    }
    if let Command::Doctor(args) = &cli.command {
        let ctx = context::Context::new(cli.global.clone());
        return match doctor::run_and_print(&ctx, args).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => output::report_error(format, &error),
        };
    }
    match execute(cli).await {
        Ok(out) => output::print(format, &out),
        Err(error) => output::report_error(format, &error),
    }
}

/// Run a parsed command line (every command but `serve`) and return what it would print.
pub async fn execute(cli: Cli) -> Result<Output, CliError> {
    let ctx = context::Context::new(cli.global);
    match cli.command {
        Command::Serve(_) => Err(CliError::usage(
            "`byoc serve` runs until stopped; call byoc::run for it",
        )),
        Command::Setup(command) => setup::execute(&ctx, command).await,
        Command::Cert(command) => cert::execute(command),
        Command::Ca(args) => ca::execute(&ctx, &args),
        Command::Agent(command) => agent::execute(&ctx, command).await,
        Command::Conversations(command) => conversations::execute(&ctx, command).await,
        Command::Token(args) => token::execute(&ctx, &args).await,
        Command::Logins(args) => logins::execute(&ctx, &args).await,
        Command::Send(args) => send::execute(&ctx, &args).await,
        Command::Doctor(args) => doctor::execute(&ctx, &args).await,
        Command::Open(args) => open::execute(&ctx, &args),
        Command::Query(args) => query::execute(&ctx, &args).await,
        Command::Metadata(command) => metadata::execute(&ctx, command).await,
        Command::Reset(args) => reset::execute(&ctx, &args).await,
        Command::Clock(command) => clock::execute(&ctx, command).await,
        Command::Listen(_) => Err(CliError::usage(
            "`byoc listen` prints as events arrive; call byoc::run for it",
        )),
        Command::Inspect(_) => Err(CliError::usage(
            "`byoc inspect` prints one line per call as it reads them; call byoc::run for it",
        )),
    }
}

#[cfg(test)]
mod tests;
