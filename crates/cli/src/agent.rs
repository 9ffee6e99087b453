//! `byoc agent reply`: the agent's side of a conversation. byoc has no Service Console, so this
//! is where an agent answers; the reply is published as the outbound platform event that
//! `byoc listen` (and any partner subscriber) receives.

use clap::{Args, Subcommand};

use crate::context::Context;
use crate::output::{CliError, Output};

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Answer in a conversation as an agent (the bootstrap admin, or --as USERNAME): stores the
    /// message and publishes it on the CCD's platform event topic
    Reply(ReplyArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ReplyArgs {
    /// The conversation identifier (see `byoc conversations list`)
    #[arg(long, value_name = "ID")]
    pub conversation: String,
    /// The message text
    #[arg(long, value_name = "TEXT")]
    pub text: String,
}

pub async fn execute(ctx: &Context, command: AgentCommand) -> Result<Output, CliError> {
    match command {
        AgentCommand::Reply(args) => {
            let client = ctx.admin_client()?;
            let sent = client
                .agent_reply(&args.conversation, &args.text)
                .await
                .map_err(CliError::from)
                .map_err(|e| {
                    e.hint_if_not_found(
                        &args.conversation,
                        "`byoc conversations list` shows the conversations",
                    )
                })?;
            let text = format!(
                "Sent entry {} in conversation {}\nPublished on {} with replay id {}\n",
                sent.entry_identifier,
                sent.conversation_identifier,
                sent.topic_name,
                sent.replay_id
            );
            Output::new(&sent, text)
        }
    }
}
