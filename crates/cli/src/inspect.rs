//! `byoc inspect`: the request inspector in the terminal — the last calls to each host of the
//! org (token endpoint, Interaction API, Pub/Sub, admin API) with Salesforce's error code,
//! byoc's diagnosis and the console page that fixes it; `--follow` keeps printing new calls.
//! Text is a table (one line per call with `--follow`), `--output json` one object a line.

use std::io::Write as _;

use byoc_proto::admin::{InspectedCall, InspectorQuery};
use clap::{Args, ValueEnum};

use crate::context::Context;
use crate::output::{rfc3339, table, CliError};
use crate::OutputFormat;

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// Keep printing calls as they happen (after the last --limit ones), until stopped
    #[arg(long)]
    pub follow: bool,
    /// Only calls to this host
    #[arg(long, value_enum, value_name = "HOST")]
    pub host: Option<HostArg>,
    /// Only failed calls (HTTP 400 and above, gRPC codes other than OK)
    #[arg(long)]
    pub failed: bool,
    /// Only calls whose operation, caller, status, error code or diagnosis contains TEXT
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// At most this many calls, newest first [default: 50; with --follow, the last 10 first]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HostArg {
    Token,
    Interaction,
    Pubsub,
    Admin,
}

impl HostArg {
    fn as_str(self) -> &'static str {
        match self {
            HostArg::Token => "token",
            HostArg::Interaction => "interaction",
            HostArg::Pubsub => "pubsub",
            HostArg::Admin => "admin",
        }
    }
}

fn query(args: &InspectArgs) -> InspectorQuery {
    InspectorQuery {
        host: args.host.map(|h| h.as_str().to_string()),
        failed: args.failed,
        q: args.grep.clone(),
        limit: Some(args.limit.unwrap_or(if args.follow { 10 } else { 50 })),
    }
}

/// Print the calls (and, with `--follow`, keep printing) until the stream ends or stdout closes.
pub async fn inspect(
    ctx: &Context,
    args: &InspectArgs,
    format: OutputFormat,
) -> Result<(), CliError> {
    let client = ctx.admin_client()?;
    let login_url = client.base_url().as_str().trim_end_matches('/').to_string();
    let query = query(args);
    if !args.follow {
        let calls = client.inspector_calls(&query).await?;
        let text = match format {
            OutputFormat::Json => calls.iter().map(json_line).collect::<String>(),
            OutputFormat::Text | OutputFormat::Csv => calls_text(&calls, &login_url),
        };
        let mut stdout = std::io::stdout().lock();
        // A closed stdout (`byoc inspect | head -1`) is no error.
        let _ = stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush());
        return Ok(());
    }
    let mut stream = client.follow_inspector_calls(&query).await?;
    while let Some(call) = stream.next().await? {
        let text = match format {
            OutputFormat::Json => json_line(&call),
            OutputFormat::Text | OutputFormat::Csv => call_line(&call, &login_url),
        };
        let mut stdout = std::io::stdout().lock();
        if stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())
            .is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}

/// One call, one line of JSON.
pub fn json_line(call: &InspectedCall) -> String {
    let mut line = serde_json::to_string(call).unwrap_or_default();
    line.push('\n');
    line
}

fn caller(c: &InspectedCall) -> String {
    match (&c.app, &c.user) {
        (Some(a), Some(u)) => format!("{a} / {u}"),
        (Some(a), None) => a.clone(),
        (None, Some(u)) => u.clone(),
        (None, None) => String::new(),
    }
}

fn millis(micros: u64) -> String {
    format!("{:.1} ms", micros as f64 / 1000.0)
}

/// The diagnosis and fix, indented under a failed call.
fn diagnosis_lines(c: &InspectedCall, login_url: &str) -> String {
    let mut out = String::new();
    if let Some(d) = &c.diagnosis {
        out.push_str("    ");
        out.push_str(d);
        out.push('\n');
    }
    if let Some(href) = &c.fix_href {
        out.push_str(&format!("    fix: {login_url}{href}\n"));
    }
    out
}

/// The calls as a table, newest first, each failure's diagnosis and fix under it.
pub fn calls_text(calls: &[InspectedCall], login_url: &str) -> String {
    if calls.is_empty() {
        return "No calls recorded yet.\n".to_string();
    }
    let rows: Vec<Vec<String>> = calls
        .iter()
        .map(|c| {
            vec![
                rfc3339(c.at),
                c.host.clone(),
                caller(c),
                c.operation.clone(),
                c.status.clone(),
                c.error_code.clone().unwrap_or_default(),
                millis(c.duration_micros),
            ]
        })
        .collect();
    let rendered = table(
        &[
            "Time",
            "Host",
            "Caller",
            "Operation",
            "Status",
            "Error",
            "Duration",
        ],
        &rows,
    );
    let mut lines = rendered.lines();
    let mut out = String::new();
    if let Some(header) = lines.next() {
        out.push_str(header);
        out.push('\n');
    }
    for (line, call) in lines.zip(calls) {
        out.push_str(line);
        out.push('\n');
        out.push_str(&diagnosis_lines(call, login_url));
    }
    out
}

/// One call as `--follow` prints it: a line, and its diagnosis under it.
pub fn call_line(c: &InspectedCall, login_url: &str) -> String {
    let mut line = format!(
        "{}  {}  {}  {}",
        rfc3339(c.at),
        c.host,
        c.operation,
        c.status
    );
    if let Some(code) = &c.error_code {
        line.push_str("  ");
        line.push_str(code);
    }
    let who = caller(c);
    if !who.is_empty() {
        line.push_str("  ");
        line.push_str(&who);
    }
    line.push_str("  ");
    line.push_str(&millis(c.duration_micros));
    line.push('\n');
    line.push_str(&diagnosis_lines(c, login_url));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(status: &str) -> InspectedCall {
        InspectedCall {
            id: 7,
            at: 1_767_225_600_000,
            host: "token".into(),
            operation: "POST /services/oauth2/token".into(),
            app: Some("BYOC Sample App".into()),
            user: Some("admin@example.com".into()),
            status: status.into(),
            error_code: Some("invalid_client_id".into()),
            duration_micros: 1500,
            diagnosis: Some("iss is not the consumer key".into()),
            fix_href: Some("/lightning/setup/ManageExternalClientApplication/home".into()),
            request: String::new(),
            response: String::new(),
        }
    }

    #[test]
    fn a_failure_shows_its_diagnosis_and_fix_under_it() {
        let text = calls_text(&[call("400")], "http://127.0.0.1:6101");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Time"), "{text}");
        assert!(lines[1].contains("invalid_client_id"), "{text}");
        assert!(
            lines[1].contains("BYOC Sample App / admin@example.com"),
            "{text}"
        );
        assert_eq!(lines[2], "    iss is not the consumer key");
        assert_eq!(
            lines[3],
            "    fix: http://127.0.0.1:6101/lightning/setup/ManageExternalClientApplication/home"
        );
        let line = call_line(&call("400"), "http://x");
        assert!(
            line.starts_with(
                "2026-01-01T00:00:00Z  token  POST /services/oauth2/token  400  invalid_client_id"
            ),
            "{line}"
        );
        let json: serde_json::Value = serde_json::from_str(json_line(&call("400")).trim()).unwrap();
        assert_eq!(json["errorCode"], "invalid_client_id");
    }
}
