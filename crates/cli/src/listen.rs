//! `byoc listen`: subscribe to the CCD's platform event topic with `partner.env` settings and
//! print each event, decoded with the topic's schema (text, or one JSON document per line with
//! `--output json`). Works against byoc (trusting its local CA) and real Salesforce.
//!
//! Settings come from the environment first, then `--env-file` (default `DATA/partner.env`),
//! read by the shared `partner` module:
//! `SF_PUB_SUB_ENDPOINT` (one `host:port`, or a comma-separated list of instances of one org:
//! a broken stream resubscribes at the next one from its last replay id, with a line on stderr),
//! `SF_PUB_SUB_TOPIC_NAME`, `SF_ORG_ID`, `SF_INSTANCE_URL`, and for the
//! access token either `SF_ACCESS_TOKEN` or the JWT Bearer settings (`SF_AUTH_ENDPOINT`,
//! `SF_CONSUMER_KEY`, `SF_SUBJECT`, `SF_AUDIENCE`, `SF_PRIVATE_KEY`).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use byoc_client::pubsub::{Delivery, ReceivedEvent, Replay, Subscriber};
use byoc_proto::files::partner_env as env;
use clap::Args;
use serde_json::{json, Value};

use crate::context::Context;
use crate::output::CliError;
use crate::partner::{self, require};
use crate::OutputFormat;

#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Exit after this many events
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Exit after this many seconds (an error if --count events did not arrive by then)
    #[arg(long, value_name = "S")]
    pub timeout: Option<f64>,
    /// Where to start: latest (new events only), earliest (every retained event), or a replay id
    /// (the events after it)
    #[arg(long, value_name = "earliest|latest|ID", default_value = "latest")]
    pub replay: String,
    /// partner.env-style settings [default: DATA/partner.env]
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// CA certificate (PEM) to trust [default: the org's local CA when SF_PUB_SUB_ENDPOINT is
    /// byoc's, else the public web PKI]
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Topic [default: SF_PUB_SUB_TOPIC_NAME]
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
}

fn parse_replay(s: &str) -> Result<Replay, CliError> {
    match s.to_ascii_lowercase().as_str() {
        "latest" => Ok(Replay::Latest),
        "earliest" => Ok(Replay::Earliest),
        other => other.parse::<u64>().map(Replay::After).map_err(|_| {
            CliError::usage(format!(
                "--replay takes earliest, latest or a replay id number, not {s:?}"
            ))
        }),
    }
}

/// The event as one JSON document: its ids and fields, plus the `InteractionEvent` parsed out of
/// the payload field when the event carries one.
pub fn event_json(event: &ReceivedEvent, payload_field: Option<&str>) -> Value {
    let interaction = payload_field
        .and_then(|f| event.fields.get(f))
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok());
    let mut doc = json!({
        "topic": event.topic,
        "replayId": event.replay_id,
        "eventId": event.event_id,
        "schemaId": event.schema_id,
        "fields": event.fields,
    });
    if let Some(i) = interaction {
        doc["interactionEvent"] = i;
    }
    doc
}

/// Text for people: a header line, the message text of an interaction, then the fields.
pub fn event_text(event: &ReceivedEvent, payload_field: Option<&str>) -> String {
    let mut out = format!(
        "#{} {} (event {})\n",
        event.replay_id, event.topic, event.event_id
    );
    let doc = event_json(event, payload_field);
    if let Some(i) = doc.get("interactionEvent") {
        let text = i
            .pointer("/payload/entryPayload/abstractMessage/staticContent/text")
            .and_then(Value::as_str);
        let to = i
            .pointer("/recipient/subject")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let conversation = i
            .get("conversationIdentifier")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let kind = i
            .pointer("/payload/entryType")
            .and_then(Value::as_str)
            .unwrap_or("entry");
        match text {
            Some(t) => out.push_str(&format!(
                "  {kind} to {to} in conversation {conversation}: {t}\n"
            )),
            None => out.push_str(&format!(
                "  {kind} to {to} in conversation {conversation}\n"
            )),
        }
    }
    if let Some(fields) = event.fields.as_object() {
        for (k, v) in fields {
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("  {k}: {shown}\n"));
        }
    }
    out
}

/// Run the subscription, printing as events arrive.
pub async fn listen(ctx: &Context, args: &ListenArgs) -> Result<(), CliError> {
    let settings = partner::settings(ctx, args.env_file.as_deref())?;
    let replay = parse_replay(&args.replay)?;
    let endpoint = require(&settings, env::SF_PUB_SUB_ENDPOINT, None)?.to_string();
    let topic = match &args.topic {
        Some(t) => t.clone(),
        None => require(&settings, env::SF_PUB_SUB_TOPIC_NAME, Some("--topic"))?.to_string(),
    };
    let batch = settings
        .get(env::SF_PUB_SUB_EVENT_RECEIVE_LIMIT)
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let payload_field = settings
        .get(env::SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD)
        .map(str::to_string);
    let ca = partner::ca_pem(ctx, args.ca_cert.as_deref(), &endpoint)?;
    let pubsub = settings.pubsub(ca).map_err(partner::settings_error)?;
    let tokens = partner::tokens(&settings)?;
    // The SDK logs each resubscription after a broken stream (a stopped or lost instance).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BYOC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("byoc_client=warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let subscriber = Subscriber::connect(pubsub, tokens.pubsub)
        .await
        .map_err(|e| CliError::new(e.to_string()))?;
    let mut subscription = subscriber.subscribe(&topic, replay, batch);

    let wanted = args.count;
    let mut received = 0u64;
    let deadline = args
        .timeout
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    if wanted == Some(0) {
        return Ok(());
    }
    loop {
        let next = match deadline {
            Some(d) => match tokio::time::timeout_at(d, subscription.next()).await {
                Ok(n) => n,
                Err(_) => {
                    return match wanted {
                        Some(n) => Err(CliError::new(format!(
                            "received {received} of {n} events within {} s",
                            args.timeout.unwrap_or_default()
                        ))),
                        None => Ok(()),
                    };
                }
            },
            None => subscription.next().await,
        };
        match next.map_err(|e| CliError::new(format!("the subscription to {topic} failed: {e}")))? {
            Some(Delivery::Event(event)) => {
                received += 1;
                let mut stdout = std::io::stdout().lock();
                let written = match ctx.format() {
                    OutputFormat::Json => {
                        writeln!(stdout, "{}", event_json(&event, payload_field.as_deref()))
                    }
                    OutputFormat::Text | OutputFormat::Csv => {
                        write!(stdout, "{}", event_text(&event, payload_field.as_deref()))
                    }
                };
                // A closed stdout (`byoc listen | head -1`) ends the listener quietly.
                if written.and_then(|_| stdout.flush()).is_err() {
                    return Ok(());
                }
                if wanted.is_some_and(|n| received >= n) {
                    return Ok(());
                }
            }
            Some(Delivery::Keepalive { .. }) => {}
            None => {
                return Err(CliError::new(format!(
                    "the server ended the subscription to {topic}"
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_option() {
        assert_eq!(parse_replay("EARLIEST").ok(), Some(Replay::Earliest));
        assert_eq!(parse_replay("latest").ok(), Some(Replay::Latest));
        assert_eq!(parse_replay("42").ok(), Some(Replay::After(42)));
        assert!(parse_replay("soon").is_err());
    }
}
