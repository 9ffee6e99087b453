//! `byoc query "SELECT …"`: SOQL through the org's REST API, printed the way `sf data query`
//! prints it — a table with the columns in select order (parent fields as
//! `ConversationVendorInfo.VendorType`) and `Total number of records retrieved: N.`, or the
//! query result as JSON (every page), or CSV.
//!
//! Who asks: like `byoc setup …`, the org's bootstrap admin from `DATA/org.json` (`--as` acts as
//! another user), since `sf data query` users query their org as themselves and expect to see
//! everything; `--access-token` sends a token instead (a partner's, a SOAP session id, or a real
//! org's with `--url`), and then the token's user decides what the query sees.

use byoc_client::rest::{ordered::merge_columns, OrderedValue, QueryKind, RestClient};
use byoc_client::ClientError;
use byoc_proto::rest::CURRENT_API_VERSION;
use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::output::{CliError, Output};
use crate::OutputFormat;

#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// The SOQL query, e.g. "SELECT DeveloperName, ConversationVendorInfo.VendorType FROM
    /// ConversationChannelDefinition"
    #[arg(value_name = "SOQL")]
    pub soql: String,
    /// Query the Tooling API (/tooling/query), as `sf data query --use-tooling-api`
    #[arg(long, visible_alias = "use-tooling-api", conflicts_with = "all")]
    pub tooling: bool,
    /// Include deleted and archived records (/queryAll), as `sf data query --all-rows`
    #[arg(long, visible_alias = "all-rows")]
    pub all: bool,
    /// Send this access token (or SOAP session id) instead of the admin credential of
    /// DATA/org.json; with --url, query any org, real Salesforce included
    #[arg(
        long,
        value_name = "TOKEN",
        env = "BYOC_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub access_token: Option<String>,
    /// The REST API version
    #[arg(long, value_name = "VERSION", default_value = CURRENT_API_VERSION)]
    pub api_version: String,
    /// Stop following nextRecordsUrl after this many records
    #[arg(long, value_name = "N", default_value_t = byoc_client::rest::DEFAULT_MAX_RECORDS)]
    pub max_records: usize,
}

pub async fn execute(ctx: &Context, args: &QueryArgs) -> Result<Output, CliError> {
    let client = client(ctx, args)?;
    let kind = if args.tooling {
        QueryKind::Tooling
    } else if args.all {
        QueryKind::QueryAll
    } else {
        QueryKind::Query
    };
    let mut pages = client.pages(kind, &args.soql);
    let mut all = Collected::default();
    while let Some(page) = pages
        .next()
        .await
        .map_err(|e| query_error(e, args.access_token.is_some()))?
    {
        all.total_size = page.result.total_size;
        all.done = page.result.done;
        all.next_records_url = page.result.next_records_url;
        all.records.extend(page.result.records);
        all.ordered.extend(page.ordered);
        if all.records.len() >= args.max_records {
            break;
        }
    }
    let json_text = serde_json::to_string_pretty(&OrderedResult {
        total_size: all.total_size,
        done: all.done,
        next_records_url: all.next_records_url.as_deref(),
        records: &all.ordered,
    })
    .map_err(|e| CliError::new(format!("can't render the answer as JSON: {e}")))?;
    let columns = columns(&all.ordered);
    let text = match ctx.format() {
        OutputFormat::Csv => csv_text(&columns, &all.ordered)?,
        _ => table_text(&columns, &all.ordered, all.total_size),
    };
    let json = byoc_proto::rest::QueryResult {
        total_size: all.total_size,
        done: all.done,
        next_records_url: all.next_records_url.clone(),
        records: all.records,
    };
    let mut out = Output::new(&json, text)?;
    out.json_text = Some(json_text);
    if !all.done {
        out.warnings.push(format!(
            "stopped after {} of {} records (--max-records); the rest starts at {}",
            all.ordered.len(),
            all.total_size,
            all.next_records_url.as_deref().unwrap_or("?")
        ));
    }
    Ok(out)
}

/// The REST client: `--url` or the org file's `instance_url`; `--access-token` or the admin
/// credential (acting as `--as`).
fn client(ctx: &Context, args: &QueryArgs) -> Result<RestClient, CliError> {
    let client = match &args.access_token {
        Some(token) => {
            if ctx.global.act_as.is_some() {
                return Err(CliError::usage(
                    "--as acts as a user with the admin credential; with --access-token the \
                     token's user is the one who asks",
                ));
            }
            let url = match (&ctx.global.url, ctx.try_org_file()?) {
                (Some(url), _) => url.clone(),
                (None, Some(org)) => org.instance_url,
                (None, None) => crate::context::DEFAULT_URL.to_string(),
            };
            RestClient::new(&url, token)?
        }
        None => {
            let org = ctx.org_file()?;
            let url = ctx.global.url.clone().unwrap_or(org.instance_url);
            RestClient::new(&url, &org.admin_token)?.act_as(ctx.global.act_as.as_deref())
        }
    };
    Ok(client
        .api_version(&args.api_version)
        .max_records(args.max_records))
}

/// Salesforce's refusal as `sf data query` shows it: the error code, then the message as sent
/// (a query error's message carries the query and the `ERROR at Row:…:Column:…` marker on lines
/// of their own).
fn query_error(error: ClientError, own_token: bool) -> CliError {
    let entries = error.rest_errors().to_vec();
    if entries.is_empty() {
        return CliError::from(error);
    }
    let message = entries
        .iter()
        .map(|e| {
            if e.message.starts_with('\n') {
                format!("{}:{}", e.error_code, e.message)
            } else {
                format!("{}: {}", e.error_code, e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut cli = CliError::from(error);
    cli.message = message;
    if own_token && cli.has_error_code("INVALID_SESSION_ID") {
        cli.hint = Some(
            "the access token was refused: expired, revoked, or for another org than --url?".into(),
        );
    }
    cli
}

#[derive(Default)]
struct Collected {
    total_size: u64,
    done: bool,
    next_records_url: Option<String>,
    records: Vec<serde_json::Value>,
    ordered: Vec<OrderedValue>,
}

/// The query result as `--output json` prints it: fields in select order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderedResult<'a> {
    total_size: u64,
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_records_url: Option<&'a str>,
    records: &'a [OrderedValue],
}

/// The columns of all records, in select order.
fn columns(records: &[OrderedValue]) -> Vec<String> {
    let mut all = Vec::new();
    for record in records {
        merge_columns(&mut all, &record.columns());
    }
    all
}

fn cell(record: &OrderedValue, column: &str) -> String {
    record
        .at(column)
        .map(OrderedValue::cell)
        .unwrap_or_default()
}

/// `sf data query`'s human format: a header, a rule, one line per record, then the total
/// (`totalSize`, which is the count of a `SELECT COUNT() …` that returns no records).
pub fn table_text(columns: &[String], records: &[OrderedValue], total_size: u64) -> String {
    let mut out = String::new();
    if !records.is_empty() && !columns.is_empty() {
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|r| columns.iter().map(|c| one_line(&cell(r, c))).collect())
            .collect();
        let widths: Vec<usize> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                rows.iter()
                    .map(|row| row[i].chars().count())
                    .chain([c.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| {
                    let pad = width.saturating_sub(cell.chars().count());
                    format!("{cell}{}", " ".repeat(pad))
                })
                .collect();
            format!(" {}", padded.join("  ")).trim_end().to_string()
        };
        out.push_str(&line(columns));
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        out.push_str(&line(&rule));
        out.push('\n');
        for row in &rows {
            out.push_str(&line(row));
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "Total number of records retrieved: {total_size}.\n"
    ));
    out
}

/// A cell on one line of a table: line breaks shown as `\n`.
fn one_line(text: &str) -> String {
    text.replace("\r\n", "\\n").replace(['\n', '\r'], "\\n")
}

/// A header of the columns, then one row per record (RFC 4180 quoting by the `csv` crate).
pub fn csv_text(columns: &[String], records: &[OrderedValue]) -> Result<String, CliError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| CliError::new(format!("can't write CSV: {e}"));
    if !columns.is_empty() {
        writer.write_record(columns).map_err(fail)?;
        for record in records {
            writer
                .write_record(columns.iter().map(|c| cell(record, c)))
                .map_err(fail)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| CliError::new(format!("can't write CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Vec<OrderedValue> {
        serde_json::from_str(text).unwrap()
    }

    const CCDS: &str = r#"[
      {"attributes":{"type":"ConversationChannelDefinition"},"DeveloperName":"Sample_BYOC","ConversationVendorInfo":{"attributes":{"type":"ConversationVendorInfo"},"VendorType":"BYOC"}},
      {"attributes":{"type":"ConversationChannelDefinition"},"DeveloperName":"Other","ConversationVendorInfo":null}
    ]"#;

    #[test]
    fn the_table_has_select_order_a_rule_and_the_total() {
        let records = records(CCDS);
        let columns = columns(&records);
        assert_eq!(
            columns,
            ["DeveloperName", "ConversationVendorInfo.VendorType"]
        );
        let text = table_text(&columns, &records, 2);
        assert_eq!(
            text,
            " DeveloperName  ConversationVendorInfo.VendorType\n \
             ─────────────  ─────────────────────────────────\n \
             Sample_BYOC    BYOC\n \
             Other\n\
             Total number of records retrieved: 2.\n"
        );
    }

    #[test]
    fn a_count_query_prints_only_the_total() {
        assert_eq!(
            table_text(&[], &[], 42),
            "Total number of records retrieved: 42.\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let records = records(
            r#"[{"attributes":{},"Name":"a, \"b\"","Body":"line1\nline2","N":3,"Flag":true,"Gone":null}]"#,
        );
        let columns = columns(&records);
        let text = csv_text(&columns, &records).unwrap();
        assert_eq!(
            text,
            "Name,Body,N,Flag,Gone\n\"a, \"\"b\"\"\",\"line1\nline2\",3,true,\n"
        );
        let table = table_text(&columns, &records, 1);
        assert!(table.contains("line1\\nline2"), "{table}");
    }
}
