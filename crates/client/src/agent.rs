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

    /// A reply's file, its content base64-encoded as the admin API takes it.
    pub fn agent_attachment(name: &str, mime_type: &str, content: &[u8]) -> AgentAttachment {
        use base64::Engine as _;
        AgentAttachment {
            name: name.to_string(),
            mime_type: mime_type.to_string(),
            content_base64: base64::engine::general_purpose::STANDARD.encode(content),
        }
    }

    /// `POST /admin/v1/conversations/{id}/replies` with any body (text, a file, or both).
    pub async fn agent_send(
        &self,
        conversation_id: &str,
        reply: &AgentReply,
    ) -> Result<AgentReplySent, ClientError> {
        self.agent_send_keyed(conversation_id, reply, None).await
    }

    /// [`AdminClient::agent_send`] with an idempotency key (`Idempotency-Key`): a retry with the
    /// same key stores nothing twice and gets the first answer (same entry, same replay id).
    pub async fn agent_send_keyed(
        &self,
        conversation_id: &str,
        reply: &AgentReply,
        idempotency_key: Option<&str>,
    ) -> Result<AgentReplySent, ClientError> {
        self.send_keyed(
            Method::POST,
            &["conversations", conversation_id, "replies"],
            Some(reply),
            idempotency_key,
        )
        .await
    }

    /// End the conversation's open messaging session as the acting user; byoc publishes a
    /// `SessionStatusChanged` entry.
    pub async fn agent_end(&self, conversation_id: &str) -> Result<ConversationEnded, ClientError> {
        self.agent_end_keyed(conversation_id, None).await
    }

    /// [`AdminClient::agent_end`] with an idempotency key: a retry with the same key gets the
    /// first answer instead of "no open messaging session".
    pub async fn agent_end_keyed(
        &self,
        conversation_id: &str,
        idempotency_key: Option<&str>,
    ) -> Result<ConversationEnded, ClientError> {
        self.send_keyed::<(), _>(
            Method::POST,
            &["conversations", conversation_id, "end"],
            None,
            idempotency_key,
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
        self.agent_request_routing_keyed(conversation_id, request, None)
            .await
    }

    /// [`AdminClient::agent_request_routing`] with an idempotency key.
    pub async fn agent_request_routing_keyed(
        &self,
        conversation_id: &str,
        request: &RoutingRequest,
        idempotency_key: Option<&str>,
    ) -> Result<RoutingRequestSent, ClientError> {
        self.send_keyed(
            Method::POST,
            &["conversations", conversation_id, "routing-requests"],
            Some(request),
            idempotency_key,
        )
        .await
    }
}
