//! The echo agent (`byoc serve --echo-agent [--echo-delay-ms N]`): answers every inbound
//! end-user message with `echo: <text>`, as the bootstrap admin, through the same
//! [`AgentService::reply`] as `byoc agent reply` — so each answer is a stored entry and one
//! platform event, and partners can load- and soak-test their connector without a person in
//! the loop.
//!
//! Messages arrive from the Interaction API's group-commit writer once committed
//! ([`crate::scrt::writer::CommittedMessage`]). Each is answered after the configured delay by one
//! of [`LANES`] workers, chosen by conversation, so answers within a conversation keep the order
//! of the messages while conversations proceed in parallel.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use byoc_proto::setup::User;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::agent::{AgentService, ReplyContent, MAX_TEXT_CHARS};
use crate::scrt::writer::CommittedMessage;

/// Workers answering in parallel. Each answer waits for its entry's group commit and then for
/// its event's append; many lanes let those waits overlap (8 lanes answered ~470/s on 2 cores,
/// 32 lanes ~1,150/s).
pub const LANES: usize = 32;
/// Messages waiting in one lane before the dispatcher waits.
const LANE_QUEUE: usize = 4096;
/// What each answer starts with.
pub const PREFIX: &str = "echo: ";

/// `--echo-agent` settings.
#[derive(Debug, Clone, Default)]
pub struct EchoAgentConfig {
    /// How long after the message committed the answer is sent (`--echo-delay-ms`).
    pub delay: Duration,
}

/// The answer to `message`: `echo: <text>` (the file's name when it has no text), within the
/// agent text limit.
pub fn echo_text(message: &CommittedMessage) -> String {
    let said = match (&message.text, &message.attachment_name) {
        (Some(text), _) if !text.trim().is_empty() => text.clone(),
        (_, Some(name)) => format!("[{name}]"),
        _ => String::new(),
    };
    format!("{PREFIX}{said}")
        .chars()
        .take(MAX_TEXT_CHARS)
        .collect()
}

fn lane_of(conversation_id: &str) -> usize {
    let mut h = DefaultHasher::new();
    conversation_id.hash(&mut h);
    usize::try_from(h.finish() % LANES as u64).unwrap_or(0)
}

/// Answer messages from `inbound` until `shutdown`; answers already due finish first.
pub async fn run(
    agents: AgentService,
    agent: User,
    mut inbound: broadcast::Receiver<CommittedMessage>,
    config: EchoAgentConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    tracing::info!(delay_ms = config.delay.as_millis() as u64, agent = %agent.username, "echo agent on");
    let mut workers = JoinSet::new();
    let mut lanes = Vec::with_capacity(LANES);
    for _ in 0..LANES {
        let (tx, rx) = mpsc::channel(LANE_QUEUE);
        lanes.push(tx);
        workers.spawn(lane(agents.clone(), agent.clone(), rx, shutdown.clone()));
    }
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = inbound.recv() => m,
        };
        match message {
            Ok(m) => {
                let due = Instant::now() + config.delay;
                let Some(lane) = lanes.get(lane_of(&m.conversation_id)) else {
                    continue;
                };
                if lane.send((due, m)).await.is_err() {
                    break;
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "the echo agent fell behind; some messages get no echo"
                );
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
    drop(lanes);
    while workers.join_next().await.is_some() {}
    Ok(())
}

async fn lane(
    agents: AgentService,
    agent: User,
    mut queue: mpsc::Receiver<(Instant, CommittedMessage)>,
    shutdown: CancellationToken,
) {
    while let Some((due, message)) = queue.recv().await {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(due) => {}
        }
        let content = ReplyContent::text(echo_text(&message));
        if let Err(e) = agents
            .reply(&message.conversation_id, &agent, content, None)
            .await
        {
            tracing::warn!(conversation = %message.conversation_id, entry = %message.entry_id, error = %e, "the echo agent could not answer");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: Option<&str>, attachment: Option<&str>) -> CommittedMessage {
        CommittedMessage {
            conversation_id: "c".into(),
            entry_id: "e".into(),
            end_user: "u".into(),
            text: text.map(str::to_string),
            attachment_name: attachment.map(str::to_string),
        }
    }

    #[test]
    fn echoes_the_text_or_the_file_name() {
        assert_eq!(echo_text(&message(Some("hi"), None)), "echo: hi");
        assert_eq!(echo_text(&message(None, Some("a.png"))), "echo: [a.png]");
        assert_eq!(echo_text(&message(None, None)), "echo: ");
        let long = "x".repeat(MAX_TEXT_CHARS);
        assert_eq!(
            echo_text(&message(Some(&long), None)).chars().count(),
            MAX_TEXT_CHARS
        );
    }

    #[test]
    fn a_conversation_keeps_its_lane() {
        assert_eq!(lane_of("abc"), lane_of("abc"));
        assert!(lane_of("xyz") < LANES);
    }
}
