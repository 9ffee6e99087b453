//! The agent's side of a conversation (`/admin/v1/conversations/{id}/replies|end|routing-requests`):
//! the data behind `byoc agent reply|end|route`.

use byoc_proto::outbound::{
    AgentAttachment, AgentReply, AgentReplySent, ConversationEnded, RoutingRequest,
    RoutingRequestSent,
};
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
        self.agent_send(
            conversation_id,
            &AgentReply {
                text: text.to_string(),
                attachment: None,
            },
        )
        .await
    }

    /// Answer with a file (and text, which may be empty).
    pub async fn agent_reply_with_attachment(
        &self,
        conversation_id: &str,
        text: &str,
        name: &str,
        mime_type: &str,
        content: &[u8],
    ) -> Result<AgentReplySent, ClientError> {
        use base64::Engine as _;
        self.agent_send(
            conversation_id,
            &AgentReply {
                text: text.to_string(),
                attachment: Some(AgentAttachment {
                    name: name.to_string(),
                    mime_type: mime_type.to_string(),
                    content_base64: base64::engine::general_purpose::STANDARD.encode(content),
                }),
            },
        )
        .await
    }

    /// `POST /admin/v1/conversations/{id}/replies` with any body (text, a file, or both).
    pub async fn agent_send(
        &self,
        conversation_id: &str,
        reply: &AgentReply,
    ) -> Result<AgentReplySent, ClientError> {
        self.send(
            Method::POST,
            &["conversations", conversation_id, "replies"],
            Some(reply),
        )
        .await
    }

    /// End the conversation's open messaging session as the acting user; byoc publishes a
    /// `SessionStatusChanged` entry.
    pub async fn agent_end(&self, conversation_id: &str) -> Result<ConversationEnded, ClientError> {
        self.send::<(), _>(
            Method::POST,
            &["conversations", conversation_id, "end"],
            None,
        )
        .await
    }

    /// Ask for the conversation to be routed (partner-routed CCDs only); byoc publishes a
    /// `RoutingRequested` event.
    pub async fn agent_request_routing(
        &self,
        conversation_id: &str,
        request: &RoutingRequest,
    ) -> Result<RoutingRequestSent, ClientError> {
        self.send(
            Method::POST,
            &["conversations", conversation_id, "routing-requests"],
            Some(request),
        )
        .await
    }
}
