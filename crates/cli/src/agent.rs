//! `byoc agent reply|end|route`: the agent's side of a conversation. byoc has no Service
//! Console, so this is where an agent answers (text or a file), ends the messaging session, or
//! asks a partner-routed conversation to be transferred; each is published as the outbound
//! platform event that `byoc listen` (and any partner subscriber) receives.

use std::path::PathBuf;

use byoc_proto::outbound::{AgentReply, RoutingRequest};
use clap::{Args, Subcommand, ValueEnum};

use crate::context::Context;
use crate::output::{CliError, Output};

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Answer in a conversation as an agent (the bootstrap admin, or --as USERNAME): stores the
    /// message and publishes it on the CCD's platform event topic
    Reply(ReplyArgs),
    /// End the conversation's messaging session as the agent: publishes a SessionStatusChanged
    /// entry (sessionStatus Ended)
    End(EndArgs),
    /// Ask for the conversation to be routed (CCDs whose routing owner is Partner): publishes a
    /// RoutingRequested event for the partner's routing system
    Route(RouteArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ReplyArgs {
    /// The conversation identifier (see `byoc conversations list`)
    #[arg(long, value_name = "ID")]
    pub conversation: String,
    /// The message text (optional with --attachment)
    #[arg(long, value_name = "TEXT", required_unless_present = "attachment")]
    pub text: Option<String>,
    /// Send this file (at most 25 MB); the event carries its name, MIME type and download URL
    #[arg(long, value_name = "FILE")]
    pub attachment: Option<PathBuf>,
    /// The attachment's MIME type [default: guessed from the file name]
    #[arg(long, value_name = "TYPE", requires = "attachment")]
    pub mime_type: Option<String>,
    /// Make a retry safe: a second call with the same key stores nothing twice and prints the
    /// first answer (same entry, same replay id). Any string up to 255 visible ASCII characters,
    /// e.g. a UUID
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct EndArgs {
    /// The conversation identifier (see `byoc conversations list`)
    #[arg(long, value_name = "ID")]
    pub conversation: String,
    /// Make a retry safe: a second call with the same key stores nothing twice and prints the
    /// first answer (same entry, same replay id). Any string up to 255 visible ASCII characters,
    /// e.g. a UUID
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoutingTypeArg {
    Transfer,
    Conference,
    Initial,
}

#[derive(Debug, Clone, Args)]
pub struct RouteArgs {
    /// The conversation identifier (see `byoc conversations list`)
    #[arg(long, value_name = "ID")]
    pub conversation: String,
    /// The spec's routingType
    #[arg(
        long = "type",
        value_enum,
        value_name = "TYPE",
        default_value = "transfer"
    )]
    pub routing_type: RoutingTypeArg,
    /// Destination: an Omni-Channel queue id
    #[arg(long, value_name = "ID")]
    pub queue: Option<String>,
    /// Destination: a user of the org (username or id)
    #[arg(long, value_name = "USERNAME")]
    pub user: Option<String>,
    /// Destination: an Omni-Channel flow id
    #[arg(long, value_name = "ID")]
    pub flow: Option<String>,
    /// Make a retry safe: a second call with the same key stores nothing twice and prints the
    /// first answer (same entry, same replay id). Any string up to 255 visible ASCII characters,
    /// e.g. a UUID
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
}

fn hint(e: CliError, conversation: &str) -> CliError {
    e.hint_if_not_found(
        conversation,
        "`byoc conversations list` shows the conversations",
    )
}

pub async fn execute(ctx: &Context, command: AgentCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    match command {
        AgentCommand::Reply(args) => {
            let text = args.text.clone().unwrap_or_default();
            let key = args.idempotency_key.as_deref();
            let sent = match &args.attachment {
                None => {
                    client
                        .agent_send_keyed(
                            &args.conversation,
                            &AgentReply {
                                text: text.clone(),
                                attachment: None,
                            },
                            key,
                        )
                        .await
                }
                Some(path) => {
                    let content = std::fs::read(path).map_err(|e| {
                        CliError::new(format!("can't read {}: {e}", path.display()))
                    })?;
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let mime_type = args.mime_type.clone().unwrap_or_else(|| {
                        byoc_client::interaction::guess_mime_type(&name).to_string()
                    });
                    client
                        .agent_send_keyed(
                            &args.conversation,
                            &AgentReply {
                                text: text.clone(),
                                attachment: Some(byoc_client::AdminClient::agent_attachment(
                                    &name, &mime_type, &content,
                                )),
                            },
                            key,
                        )
                        .await
                }
            }
            .map_err(CliError::from)
            .map_err(|e| hint(e, &args.conversation))?;
            let mut text = format!(
                "Sent entry {} in conversation {}\n",
                sent.entry_identifier, sent.conversation_identifier
            );
            if let Some(id) = &sent.attachment_id {
                text.push_str(&format!("Attachment {id}\n"));
            }
            text.push_str(&format!(
                "Published on {} with replay id {}\n",
                sent.topic_name, sent.replay_id
            ));
            Output::new(&sent, text)
        }
        AgentCommand::End(args) => {
            let ended = client
                .agent_end_keyed(&args.conversation, args.idempotency_key.as_deref())
                .await
                .map_err(CliError::from)
                .map_err(|e| hint(e, &args.conversation))?;
            let text = format!(
                "Ended messaging session {} of conversation {}\nPublished on {} with replay id {}\n",
                ended.messaging_session_id,
                ended.conversation_identifier,
                ended.topic_name,
                ended.replay_id
            );
            Output::new(&ended, text)
        }
        AgentCommand::Route(args) => {
            let routing_type = match args.routing_type {
                RoutingTypeArg::Transfer => "Transfer",
                RoutingTypeArg::Conference => "Conference",
                RoutingTypeArg::Initial => "Initial",
            };
            let request = RoutingRequest {
                routing_type: Some(routing_type.into()),
                queue_id: args.queue.clone(),
                user: args.user.clone(),
                flow_id: args.flow.clone(),
            };
            let sent = client
                .agent_request_routing_keyed(
                    &args.conversation,
                    &request,
                    args.idempotency_key.as_deref(),
                )
                .await
                .map_err(CliError::from)
                .map_err(|e| hint(e, &args.conversation))?;
            let text = format!(
                "Requested {} routing of conversation {}\nPublished RoutingRequested on {} with replay id {}\n",
                routing_type, sent.conversation_identifier, sent.topic_name, sent.replay_id
            );
            Output::new(&sent, text)
        }
    }
}
