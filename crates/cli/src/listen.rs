//! `byoc listen`: subscribe to the CCD's platform event topic with `partner.env` settings and
//! print each event, decoded with the topic's schema (text, or one JSON document per line with
//! `--output json`). Works against byoc (trusting its local CA) and real Salesforce.
//!
//! Settings come from the environment first, then `--env-file` (default `DATA/partner.env`):
//! `SF_PUB_SUB_ENDPOINT`, `SF_PUB_SUB_TOPIC_NAME`, `SF_ORG_ID`, `SF_INSTANCE_URL`, and for the
//! access token either `SF_ACCESS_TOKEN` or the JWT Bearer settings (`SF_AUTH_ENDPOINT`,
//! `SF_CONSUMER_KEY`, `SF_SUBJECT`, `SF_AUDIENCE`, `SF_PRIVATE_KEY`).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use byoc_client::pubsub::{
    Delivery, JwtBearerTokens, PubSubSettings, ReceivedEvent, Replay, StaticToken, Subscriber,
    TokenSource,
};
use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_proto::files::partner_env as env;
use clap::Args;
use serde_json::{json, Value};

use crate::context::Context;
use crate::output::{io_message, CliError};
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

/// `KEY=VALUE` lines; values may be double-quoted with `\n`, `\"` and `\\` escapes.
pub fn parse_env_file(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(quoted) => {
                let mut s = String::with_capacity(quoted.len());
                let mut chars = quoted.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        match chars.next() {
                            Some('n') => s.push('\n'),
                            Some(other) => s.push(other),
                            None => s.push('\\'),
                        }
                    } else {
                        s.push(c);
                    }
                }
                s
            }
            None => value.trim_matches('\'').to_string(),
        };
        out.insert(key.trim().to_string(), value);
    }
    out
}

/// Settings by name: the process environment wins over the file.
struct Settings {
    file: HashMap<String, String>,
}

impl Settings {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| self.file.get(name).cloned().filter(|v| !v.is_empty()))
    }

    fn require(&self, name: &str) -> Result<String, CliError> {
        self.get(name).ok_or_else(|| {
            CliError::new(format!("{name} is not set (environment or --env-file)"))
                .with_hint("`byoc serve` writes DATA/partner.env with every setting")
        })
    }
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

/// The access token: `SF_ACCESS_TOKEN`, or the JWT Bearer flow with the partner's key.
fn token_source(settings: &Settings) -> Result<Arc<dyn TokenSource>, CliError> {
    if let Some(token) = settings.get("SF_ACCESS_TOKEN") {
        return Ok(Arc::new(StaticToken(token)));
    }
    let provider = JwtBearer::new(JwtBearerSettings {
        token_url: settings.require(env::SF_AUTH_ENDPOINT)?,
        consumer_key: settings.require(env::SF_CONSUMER_KEY)?,
        username: settings.require(env::SF_SUBJECT)?,
        audience: settings.require(env::SF_AUDIENCE)?,
        // A key sourced into the shell from partner.env keeps its `\n` escapes.
        private_key_pem: settings.require(env::SF_PRIVATE_KEY).map(|k| {
            if k.contains('\n') {
                k
            } else {
                k.replace("\\n", "\n")
            }
        })?,
    })
    .map_err(|e| CliError::new(format!("can't use the JWT Bearer settings: {e}")))?;
    Ok(Arc::new(JwtBearerTokens::new(provider)))
}

/// The CA to trust: `--ca-cert`, else the org's local CA when the endpoint is the org's.
fn ca_pem(ctx: &Context, args: &ListenArgs, endpoint: &str) -> Result<Option<String>, CliError> {
    let path = match &args.ca_cert {
        Some(p) => Some(p.clone()),
        None => ctx
            .try_org_file()
            .ok()
            .flatten()
            .filter(|org| endpoint.trim_start_matches("https://") == org.pubsub_endpoint)
            .map(|org| PathBuf::from(org.ca_cert)),
    };
    match path {
        Some(p) => std::fs::read_to_string(&p).map(Some).map_err(|e| {
            CliError::new(format!(
                "can't read the CA certificate {}: {}",
                p.display(),
                io_message(&e)
            ))
        }),
        None => Ok(None),
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
    let env_path = args
        .env_file
        .clone()
        .unwrap_or_else(|| ctx.data_dir().join("partner.env"));
    let file = match std::fs::read_to_string(&env_path) {
        Ok(text) => parse_env_file(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.env_file.is_none() => {
            HashMap::new()
        }
        Err(e) => {
            return Err(CliError::new(format!(
                "can't read {}: {}",
                env_path.display(),
                io_message(&e)
            )))
        }
    };
    let settings = Settings { file };
    let replay = parse_replay(&args.replay)?;
    let endpoint = settings.require(env::SF_PUB_SUB_ENDPOINT)?;
    let topic = match &args.topic {
        Some(t) => t.clone(),
        None => settings.require(env::SF_PUB_SUB_TOPIC_NAME)?,
    };
    let batch = settings
        .get(env::SF_PUB_SUB_EVENT_RECEIVE_LIMIT)
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let payload_field = settings.get(env::SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD);
    let pubsub = PubSubSettings {
        ca_cert_pem: ca_pem(ctx, args, &endpoint)?,
        endpoint,
        instance_url: settings.require(env::SF_INSTANCE_URL)?,
        tenant_id: settings.require(env::SF_ORG_ID)?,
    };
    let subscriber = Subscriber::connect(pubsub, token_source(&settings)?)
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
                    OutputFormat::Text => {
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
    fn env_files_are_read_like_the_samples_write_them() {
        let vars = parse_env_file("# c\nA=1\nB=\"x\\ny\"\nexport C='z'\n\nD=\"q\\\"r\"\n");
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "x\ny");
        assert_eq!(vars["C"], "z");
        assert_eq!(vars["D"], "q\"r");
    }

    #[test]
    fn replay_option() {
        assert_eq!(parse_replay("EARLIEST").ok(), Some(Replay::Earliest));
        assert_eq!(parse_replay("latest").ok(), Some(Replay::Latest));
        assert_eq!(parse_replay("42").ok(), Some(Replay::After(42)));
        assert!(parse_replay("soon").is_err());
    }
}
