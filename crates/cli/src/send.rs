//! `byoc send`: the end user's side of a conversation, as a partner connector sends it — a text
//! message, a file or a typing indicator posted to the Interaction API (`POST /interactions`)
//! with `partner.env` settings, against byoc or real Salesforce. Prints the conversation
//! identifier and the entry id (`--output json`: the API's answer as is).

use std::path::PathBuf;

use byoc_client::interaction::{
    codes, AttachmentFile, InteractionClient, InteractionError, Typing,
};
use byoc_proto::admin::RestError;
use byoc_proto::files::partner_env as env;
use clap::{Args, ValueEnum};

use crate::context::Context;
use crate::output::{fields, CliError, Output};
use crate::partner::{self, require};

#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true).args(["text", "attachment", "typing"]))]
#[command(after_help = "\
Settings (as in partner.env): SF_SCRT_INSTANCE_URL, SF_ORG_ID, SF_AUTHORIZATION_CONTEXT, \
CHANNEL_ADDRESS_IDENTIFIER, END_USER_CLIENT_IDENTIFIER, and the token settings of `byoc token` \
(or SF_ACCESS_TOKEN). Each is taken from its flag, else the environment, else the env file \
(--env-file, default DATA/partner.env).

Examples:
  byoc send --text 'Hello'                       # the sample end user to the sample channel
  byoc send --attachment receipt.pdf --text 'Here it is'
  byoc send --typing start
  byoc send --text 'Hi' --from customer-42 --env-file prod.env --output json")]
pub struct SendArgs {
    /// The message text (with --attachment, the text that goes with the file)
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,

    /// A file to send as an attachment (at most 25 MB)
    #[arg(long, value_name = "FILE")]
    pub attachment: Option<PathBuf>,

    /// Send a typing indicator instead of a message
    #[arg(long, value_enum, value_name = "start|stop", conflicts_with_all = ["text", "attachment"])]
    pub typing: Option<TypingArg>,

    /// The channel address identifier [default: CHANNEL_ADDRESS_IDENTIFIER]
    #[arg(long, value_name = "ADDR")]
    pub to: Option<String>,

    /// The end user's client identifier [default: END_USER_CLIENT_IDENTIFIER]
    #[arg(long, value_name = "END_USER")]
    pub from: Option<String>,

    /// partner.env-style settings [default: DATA/partner.env when it exists]
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

/// `--typing start|stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypingArg {
    Start,
    Stop,
}

pub async fn execute(ctx: &Context, args: &SendArgs) -> Result<Output, CliError> {
    let mut settings = partner::settings(ctx, args.env_file.as_deref())?;
    settings.set_opt(env::CHANNEL_ADDRESS_IDENTIFIER, args.to.as_deref());
    settings.set_opt(env::END_USER_CLIENT_IDENTIFIER, args.from.as_deref());
    let to = require(&settings, env::CHANNEL_ADDRESS_IDENTIFIER, Some("--to"))?.to_string();
    let from = require(&settings, env::END_USER_CLIENT_IDENTIFIER, Some("--from"))?.to_string();
    for name in [
        env::SF_SCRT_INSTANCE_URL,
        env::SF_ORG_ID,
        env::SF_AUTHORIZATION_CONTEXT,
    ] {
        require(&settings, name, None)?;
    }
    let api_settings = settings.interaction().map_err(partner::settings_error)?;
    let file = match &args.attachment {
        Some(path) => Some(
            AttachmentFile::from_path(path)
                .await
                .map_err(|e| CliError::new(e.to_string()))?,
        ),
        None => None,
    };
    let tokens = partner::tokens(&settings)?;
    let client = InteractionClient::new(api_settings, tokens.api).map_err(api_error)?;

    let (kind, sent) = match (args.typing, &file) {
        (Some(typing), _) => {
            let typing = match typing {
                TypingArg::Start => Typing::Started,
                TypingArg::Stop => Typing::Stopped,
            };
            let label = match typing {
                Typing::Started => "typing started indicator",
                Typing::Stopped => "typing stopped indicator",
            };
            (label, client.send_typing(&to, &from, typing).await)
        }
        (None, Some(file)) => (
            "attachment",
            client
                .send_attachment(&to, &from, file, args.text.as_deref())
                .await,
        ),
        (None, None) => {
            let text = args.text.as_deref().unwrap_or_default();
            ("message", client.send_text(&to, &from, text).await)
        }
    };
    let sent = sent.map_err(api_error)?;
    let mut rows = vec![
        ("Conversation", sent.conversation_identifier.clone()),
        ("Entry", sent.id.clone()),
    ];
    if !sent.work_item_ids.is_empty() {
        rows.push(("Work Item", sent.work_item_ids.join(", ")));
    }
    let text = format!("Sent {kind} from {from} to {to}\n{}", fields(0, &rows));
    Output::new(&sent, text)
}

/// An Interaction API failure: Salesforce's code and message, and what to check.
pub fn api_error(error: InteractionError) -> CliError {
    match error {
        InteractionError::Api {
            status,
            code,
            message,
            request_id,
            error_id,
        } => {
            let mut cli = CliError::new(format!(
                "the Interaction API refused (HTTP {status}, code {code}): {message}"
            ));
            cli.errors = vec![RestError {
                message,
                error_code: code.to_string(),
                fields: Vec::new(),
            }];
            let hint = match code {
                codes::INVALID_TOKEN => Some("the access token was refused twice; `byoc token` shows whether the JWT Bearer flow works".to_string()),
                codes::MISSING_SCOPE => Some("the app needs the scope interaction_api; `byoc doctor` names the fix".to_string()),
                codes::CONTEXT_NOT_AUTHORIZED | codes::UNKNOWN_CONTEXT => Some(
                    "SF_AUTHORIZATION_CONTEXT must name a CCD linked to the app of SF_CONSUMER_KEY; `byoc doctor` names the fix".to_string(),
                ),
                codes::ADDRESS_NOT_IN_CONTEXT | codes::UNKNOWN_ADDRESS | codes::INACTIVE_ADDRESS => Some(
                    "--to / CHANNEL_ADDRESS_IDENTIFIER must be the address of the CCD's channel; `byoc doctor` names the fix".to_string(),
                ),
                codes::INVALID_HEADER => Some("SF_ORG_ID must be the 15-character org id".to_string()),
                _ => None,
            };
            let reference = match error_id {
                Some(id) => format!(" (RequestId {request_id}, byoc error id {id})"),
                None => format!(" (RequestId {request_id})"),
            };
            cli.message.push_str(&reference);
            match hint {
                Some(h) => cli.with_hint(h),
                None => cli,
            }
        }
        InteractionError::Token(e) => partner::token_error(e),
        other => CliError::new(other.to_string()),
    }
}
