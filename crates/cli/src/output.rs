//! What a command prints: one JSON document, or text for people, and errors on stderr.

use std::io::Write as _;
use std::process::ExitCode;

use byoc_client::ClientError;
use byoc_proto::admin::RestError;
use serde::Serialize;
use serde_json::Value;

use crate::OutputFormat;

/// The result of a command, in both renderings.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// What `--output json` prints.
    pub json: Value,
    /// What text mode prints on stdout.
    pub text: String,
    /// Warnings Setup would have shown; stderr in text mode (they are part of `json` already).
    pub warnings: Vec<String>,
    /// What `--output json` prints when the document's member order matters (`byoc query`:
    /// fields in select order, which `serde_json::Value` would sort); `json` has the same data.
    pub json_text: Option<String>,
}

impl Output {
    pub fn new(json: &impl Serialize, text: impl Into<String>) -> Result<Output, CliError> {
        let json = serde_json::to_value(json)
            .map_err(|e| CliError::new(format!("can't render the answer as JSON: {e}")))?;
        Ok(Output {
            json,
            text: text.into(),
            warnings: Vec::new(),
            json_text: None,
        })
    }

    pub fn with_warnings(mut self, warnings: &[String]) -> Output {
        self.warnings.extend(warnings.iter().cloned());
        self
    }
}

/// Why a command failed, with what the user can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub message: String,
    /// The org's REST error entries, when the org refused.
    pub errors: Vec<RestError>,
    pub hint: Option<String>,
    /// byoc's diagnosis of a refused token request (the `X-Byoc-Diagnosis` header): text mode
    /// prints it as `byoc diagnosis: ...`, JSON mode as the `diagnosis` member.
    pub diagnosis: Option<String>,
    /// 1 for refusals and failures, 2 for usage errors.
    pub exit_code: u8,
}

impl CliError {
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            errors: Vec::new(),
            hint: None,
            diagnosis: None,
            exit_code: 1,
        }
    }

    /// A command line that parsed but makes no sense (exit code 2, like clap's own errors).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            exit_code: 2,
            ..CliError::new(message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// Whether the org refused with this `errorCode`.
    pub fn has_error_code(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.error_code == code)
    }

    /// Add `hint` when the org answered `NOT_FOUND` about `name` (e.g. the list command to find
    /// the name), not about something else such as an unknown `--as` user.
    pub fn hint_if_not_found(self, name: &str, hint: impl Into<String>) -> CliError {
        let about_name = self
            .errors
            .iter()
            .any(|e| e.error_code == "NOT_FOUND" && e.message.contains(name));
        if about_name && self.hint.is_none() {
            self.with_hint(hint)
        } else {
            self
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<ClientError> for CliError {
    fn from(error: ClientError) -> CliError {
        let hint = if error.has_error_code("INVALID_SESSION_ID") {
            Some(
                "the admin token of --data-dir's org.json was not accepted: is --data-dir (or \
                 --url) the one of the running `byoc serve`?"
                    .to_string(),
            )
        } else {
            None
        };
        CliError {
            message: error.to_string(),
            errors: error.rest_errors().to_vec(),
            hint,
            diagnosis: None,
            exit_code: 1,
        }
    }
}

/// An io::Error without the `(os error N)` suffix, e.g. `No such file or directory`.
pub fn io_message(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(pos) => text[..pos].to_string(),
        None => text,
    }
}

/// Print a command's output; broken pipes (`byoc ... | head`) are not an error.
pub fn print(format: OutputFormat, output: &Output) -> ExitCode {
    match format {
        OutputFormat::Text | OutputFormat::Csv => {
            let mut stderr = std::io::stderr().lock();
            for warning in &output.warnings {
                let _ = writeln!(stderr, "Warning: {warning}");
            }
            if !output.text.is_empty() {
                let mut stdout = std::io::stdout().lock();
                let _ = write!(stdout, "{}", output.text);
                if !output.text.ends_with('\n') {
                    let _ = writeln!(stdout);
                }
            }
        }
        OutputFormat::Json => {
            let text = match &output.json_text {
                Some(text) => text.clone(),
                None => serde_json::to_string_pretty(&output.json).unwrap_or_default(),
            };
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
    }
    ExitCode::SUCCESS
}

/// The JSON form of an error, as printed on stderr in JSON mode.
pub fn error_json(error: &CliError) -> Value {
    let mut object = serde_json::json!({
        "error": error.message,
        "errors": error.errors,
    });
    if let Some(map) = object.as_object_mut() {
        if let Some(diagnosis) = &error.diagnosis {
            map.insert("diagnosis".into(), Value::String(diagnosis.clone()));
        }
        if let Some(hint) = &error.hint {
            map.insert("hint".into(), Value::String(hint.clone()));
        }
    }
    object
}

/// Print an error on stderr and return its exit code.
pub fn report_error(format: OutputFormat, error: &CliError) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    match format {
        OutputFormat::Text | OutputFormat::Csv => {
            let _ = writeln!(stderr, "error: {}", error.message);
            if let Some(diagnosis) = &error.diagnosis {
                let _ = writeln!(stderr, "byoc diagnosis: {diagnosis}");
            }
            if let Some(hint) = &error.hint {
                let _ = writeln!(stderr, "hint: {hint}");
            }
        }
        OutputFormat::Json => {
            let _ = writeln!(stderr, "{}", error_json(error));
        }
    }
    ExitCode::from(error.exit_code)
}

/// Columns aligned under a header row; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let width = widths.get(i).copied().unwrap_or(0);
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// [`table`], or `empty` when there are no rows.
pub fn table_or(empty: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        format!("{empty}\n")
    } else {
        table(headers, rows)
    }
}

/// `label: value` lines with the values aligned, indented by `indent` spaces.
pub fn fields(indent: usize, rows: &[(&str, String)]) -> String {
    let width = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in rows {
        let pad = width - label.chars().count();
        out.push_str(&format!(
            "{}{label}:{}  {value}\n",
            " ".repeat(indent),
            " ".repeat(pad)
        ));
    }
    out
}

/// Epoch milliseconds as RFC 3339 UTC (`2026-01-31T12:00:00Z`).
pub fn rfc3339(millis: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(millis) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => format!("{millis} ms"),
    }
}

/// A list for one line: `a, b, c`, or `(none)`.
pub fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

pub fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}
