//! `byoc conversations list|show`: what arrived through the Interaction API — conversations,
//! their messaging sessions, entries with sender, type, text, attachments and acknowledgement
//! state — read through the admin API.

use byoc_proto::interaction::{ConversationDetail, ConversationSummary, EntryView};
use clap::{Args, Subcommand};

use crate::context::Context;
use crate::output::{fields, rfc3339, table_or, CliError, Output};

#[derive(Debug, Subcommand)]
pub enum ConversationsCommand {
    /// Conversations (one per messaging end user and channel), most recent activity first
    List(ListArgs),
    /// One conversation: its messaging sessions (work items), entries and routing records
    Show(ShowArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// At most this many conversations
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// The conversation identifier (from `byoc conversations list` or the interactions answer)
    #[arg(value_name = "ID")]
    pub id: String,
}

pub async fn execute(ctx: &Context, command: ConversationsCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    match command {
        ConversationsCommand::List(args) => {
            let list = client
                .conversations(args.limit)
                .await
                .map_err(CliError::from)?;
            Output::new(&list, list_text(&list))
        }
        ConversationsCommand::Show(args) => {
            let detail = client
                .conversation(&args.id)
                .await
                .map_err(CliError::from)
                .map_err(|e| {
                    e.hint_if_not_found(
                        &args.id,
                        "`byoc conversations list` shows the conversations",
                    )
                })?;
            Output::new(&detail, show_text(&detail))
        }
    }
}

fn list_text(list: &[ConversationSummary]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.channel_address_identifier.clone(),
                c.end_user_client_id.clone(),
                c.messaging_session_id.clone().unwrap_or_else(|| "-".into()),
                c.entry_count.to_string(),
                rfc3339(c.updated_at),
            ]
        })
        .collect();
    table_or(
        "No conversations yet: send one with `byoc send --text hello`.\n",
        &[
            "Conversation",
            "Channel Address",
            "End User",
            "Messaging Session",
            "Entries",
            "Last Activity",
        ],
        &rows,
    )
}

fn entry_line(e: &EntryView) -> String {
    let sender = format!(
        "{} ({})",
        e.sender.subject.clone().unwrap_or_default(),
        e.sender.role.clone().unwrap_or_default()
    );
    let mut line = format!(
        "  {}  {:<22} {:<28} {}",
        rfc3339(e.server_timestamp),
        e.entry_type,
        sender,
        e.text.clone().unwrap_or_default()
    );
    if let Some(ack) = &e.acknowledgement {
        line.push_str(&format!("  [{ack}]"));
    }
    if let Some(acked) = &e.acknowledged_entry_id {
        line.push_str(&format!("  (acknowledges {acked})"));
    }
    line.push('\n');
    for a in &e.attachments {
        line.push_str(&format!(
            "      attachment {} {} ({}, {} bytes)\n",
            a.id, a.name, a.mime_type, a.size
        ));
    }
    line
}

fn show_text(d: &ConversationDetail) -> String {
    let c = &d.conversation;
    let mut out = format!("Conversation {}\n", c.id);
    out.push_str(&fields(
        2,
        &[
            ("Channel Address", c.channel_address_identifier.clone()),
            (
                "Conversation Channel Definition",
                c.conversation_channel_definition.clone(),
            ),
            (
                "End User",
                format!("{} ({})", c.end_user_client_id, c.end_user_id),
            ),
            (
                "Consent",
                c.consent_status.clone().unwrap_or_else(|| "-".into()),
            ),
            ("Created", rfc3339(c.created_at)),
        ],
    ));
    out.push_str("Messaging sessions\n");
    for s in &d.sessions {
        let ended = s.ended_at.map(rfc3339).unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "  {} ({})  {}  started {}  ended {}\n",
            s.id,
            s.id18,
            s.status,
            rfc3339(s.started_at),
            ended
        ));
    }
    out.push_str(&format!("Entries ({})\n", d.entries.len()));
    for e in &d.entries {
        out.push_str(&entry_line(e));
    }
    if !d.records.is_empty() {
        out.push_str("Routing and work records\n");
        for r in &d.records {
            out.push_str(&format!("  {} {}  {}\n", r.kind, r.key, r.body));
        }
    }
    out
}
