//! A minimal BYOC connector built on the SDK: every line typed on stdin goes to Salesforce (or
//! byoc) as the end user's inbound message, and every agent reply published on the CCD's
//! platform event topic is printed on stdout.
//!
//! ```sh
//! cargo run -p byoc -- serve                                    # shell 1: the local org
//! cargo run -p byoc-client --example relay -- .byoc/partner.env # shell 2: type, press Enter
//! # shell 3: answer as the agent, in the conversation the relay printed on stderr
//! cargo run -p byoc -- agent reply --conversation ID --text "Hi, how can I help?"
//! ```
//!
//! The same file shape drives a real org: point the argument (or the environment, which wins)
//! at your `partner.env`. Against byoc the Pub/Sub TLS certificate chains to byoc's local CA,
//! read from the `org.json` next to the env file (or `BYOC_CA_CERT`); without either, the public
//! web PKI is trusted, as for Salesforce.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use byoc_client::interaction::InteractionClient;
use byoc_client::pubsub::{Replay, Subscriber};
use byoc_client::settings::PartnerSettings;
use byoc_client::token::TokenProvider;
use byoc_proto::files::partner_env as env;
use byoc_proto::outbound::InteractionEvent;
use tokio::io::{AsyncBufReadExt, BufReader};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("relay: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), AnyError> {
    let env_file = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".byoc/partner.env"));
    let settings = PartnerSettings::from_env_file(&env_file)?.overlay(PartnerSettings::from_env());

    // One token provider for both APIs: fetched once, refreshed when due or refused.
    let tokens = Arc::new(TokenProvider::from_settings(settings.jwt_bearer()?)?);
    let api = InteractionClient::new(settings.interaction()?, tokens.clone())?;
    let to = settings.channel_address()?.to_string();
    let from = settings.end_user()?.to_string();

    let subscriber = Subscriber::connect(settings.pubsub(ca_cert(&env_file)?)?, tokens).await?;
    let topic = settings.require(env::SF_PUB_SUB_TOPIC_NAME)?.to_string();
    let payload_field = settings
        .get(env::SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD)
        .unwrap_or("Payload__c")
        .to_string();
    let mut replies = subscriber.subscribe(&topic, Replay::Latest, 100);

    eprintln!("relay: {from} -> {to}; type a message and press Enter (Ctrl-C to stop)");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            line = lines.next_line(), if stdin_open => match line? {
                Some(text) if !text.trim().is_empty() => {
                    match api.send_text(&to, &from, &text).await {
                        Ok(sent) => eprintln!(
                            "relay: sent entry {} in conversation {}",
                            sent.id, sent.conversation_identifier
                        ),
                        Err(e) => eprintln!("relay: not sent: {e}"),
                    }
                }
                Some(_) => {}
                None => stdin_open = false,
            },
            event = replies.next_event() => {
                let Some(event) = event? else {
                    return Err("the server ended the subscription".into());
                };
                let Some(json) = event.fields.get(&payload_field).and_then(|v| v.as_str()) else {
                    continue;
                };
                let Ok(reply) = serde_json::from_str::<InteractionEvent>(json) else {
                    continue;
                };
                if reply.recipient.subject.as_deref() != Some(from.as_str()) {
                    continue;
                }
                let text = reply
                    .payload
                    .entry_payload
                    .pointer("/abstractMessage/staticContent/text")
                    .and_then(|t| t.as_str())
                    .unwrap_or("(a message without text)");
                println!("{text}");
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// `BYOC_CA_CERT`, else the local CA named by the `org.json` beside the env file.
fn ca_cert(env_file: &Path) -> Result<Option<String>, AnyError> {
    if let Some(path) = std::env::var_os("BYOC_CA_CERT") {
        return Ok(Some(std::fs::read_to_string(path)?));
    }
    let org_json = env_file
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("org.json");
    let Ok(text) = std::fs::read_to_string(org_json) else {
        return Ok(None);
    };
    let org: serde_json::Value = serde_json::from_str(&text)?;
    match org.get("ca_cert").and_then(|v| v.as_str()) {
        Some(path) => Ok(Some(std::fs::read_to_string(path)?)),
        None => Ok(None),
    }
}
