//! `byoc logins`: the org's login history (Setup > Login History), every token request with
//! Salesforce's error and byoc's diagnosis — the precise cause and the setup step that fixes it.

use byoc_proto::oauth::{LoginHistoryEntry, LoginHistoryQuery, LoginStatus};
use clap::{Args, ValueEnum};

use crate::context::Context;
use crate::output::{rfc3339, table, CliError, Output};

#[derive(Debug, Clone, Args)]
pub struct LoginsArgs {
    /// Only attempts that named this username (`sub`)
    #[arg(long, value_name = "USERNAME")]
    pub username: Option<String>,
    /// Only attempts for this app: its name (case-insensitive) or consumer key
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// Only successes or only failures
    #[arg(long, value_enum, value_name = "STATUS")]
    pub status: Option<StatusFilter>,
    /// At most this many attempts, newest first [default: 100]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    Success,
    #[value(alias = "failed")]
    Failure,
}

pub async fn execute(ctx: &Context, args: &LoginsArgs) -> Result<Output, CliError> {
    let query = LoginHistoryQuery {
        limit: args.limit,
        username: args.username.clone(),
        app: args.app.clone(),
        status: args.status.map(|s| {
            match s {
                StatusFilter::Success => LoginStatus::Success,
                StatusFilter::Failure => LoginStatus::Failed,
            }
            .as_str()
            .to_string()
        }),
    };
    let entries = ctx.admin_client()?.login_history(&query).await?;
    Output::new(&entries, logins_text(&entries))
}

/// One row per attempt, newest first; a refusal's diagnosis on an indented line under it.
pub fn logins_text(entries: &[LoginHistoryEntry]) -> String {
    if entries.is_empty() {
        return "No login attempts yet.\n".to_string();
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let error = match (&e.error, &e.error_description) {
                (Some(error), Some(description)) => format!("{error}: {description}"),
                (Some(error), None) => error.clone(),
                (None, _) => String::new(),
            };
            vec![
                rfc3339(e.login_time),
                if e.username.is_empty() {
                    "(none)".to_string()
                } else {
                    e.username.clone()
                },
                e.application
                    .clone()
                    .or_else(|| e.consumer_key.as_ref().map(|k| abbreviate(k)))
                    .unwrap_or_else(|| "(unknown app)".to_string()),
                e.status.as_str().to_string(),
                error,
            ]
        })
        .collect();
    let rendered = table(&["Time", "Username", "App", "Result", "Error"], &rows);
    let mut lines = rendered.lines();
    let mut out = String::new();
    if let Some(header) = lines.next() {
        out.push_str(header);
        out.push('\n');
    }
    for (line, entry) in lines.zip(entries) {
        out.push_str(line);
        out.push('\n');
        if let Some(diagnosis) = &entry.diagnosis {
            out.push_str("    ");
            out.push_str(diagnosis);
            out.push('\n');
        }
    }
    out
}

/// An unknown consumer key, shortened for a table cell.
fn abbreviate(key: &str) -> String {
    if key.chars().count() > 16 {
        let head: String = key.chars().take(12).collect();
        format!("{head}… (unknown key)")
    } else {
        format!("{key} (unknown key)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: LoginStatus, diagnosis: Option<&str>) -> LoginHistoryEntry {
        LoginHistoryEntry {
            login_time: 1_767_225_600_000,
            username: "admin@example.com".into(),
            user_id: None,
            application: Some("BYOC Sample App".into()),
            consumer_key: Some("3MVG9abc".into()),
            login_type: "Remote Access 2.0".into(),
            status,
            error: diagnosis.map(|_| "invalid_grant".to_string()),
            error_description: diagnosis.map(|_| "user hasn't approved this consumer".to_string()),
            diagnosis: diagnosis.map(str::to_string),
            source_ip: None,
        }
    }

    #[test]
    fn a_refusal_shows_its_error_and_the_diagnosis_indented_under_it() {
        let text = logins_text(&[
            entry(LoginStatus::Failed, Some("set Permitted Users")),
            entry(LoginStatus::Success, None),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Time"), "{text}");
        assert!(lines[1].contains("2026-01-01T00:00:00Z"), "{text}");
        assert!(
            lines[1].ends_with("Failed   invalid_grant: user hasn't approved this consumer"),
            "{text}"
        );
        assert_eq!(lines[2], "    set Permitted Users");
        assert!(lines[3].ends_with("Success"), "{text}");
        assert_eq!(lines.len(), 4);
    }
}
