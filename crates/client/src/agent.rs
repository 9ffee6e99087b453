//! The agent's side of a conversation (`POST /admin/v1/conversations/{id}/replies`): the data
//! behind `byoc agent reply`.

use byoc_proto::outbound::{AgentReply, AgentReplySent};
use reqwest::Method;

use crate::{AdminClient, ClientError};

impl AdminClient {
    /// Answer in a conversation as the acting user; byoc stores the entry and publishes the
    /// outbound `InteractionEvent` on the CCD's platform event topic.
    pub async fn agent_reply(
        &self,
        conversation_id: &str,
        text: &str,
    ) -> Result<AgentReplySent, ClientError> {
        let body = AgentReply {
            text: text.to_string(),
        };
        self.send(
            Method::POST,
            &["conversations", conversation_id, "replies"],
            Some(&body),
        )
        .await
    }
}
