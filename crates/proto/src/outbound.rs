//! The outbound side of BYOC: what Salesforce publishes on a CCD's custom platform event when an
//! agent answers, as `specs/outbound-custom-event-payload.yaml` (the `InteractionEvent` schema)
//! shapes it. The payload field of the platform event carries an [`InteractionEvent`] as JSON.

use serde::{Deserialize, Serialize};

use crate::interaction::Participant;

/// The value of the CCD's event type field for an [`InteractionEvent`].
pub const INTERACTION_EVENT_TYPE: &str = "Interaction";

/// `InteractionEvent`: one conversation entry addressed to one participant (the end user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionEvent {
    pub conversation_identifier: String,
    pub channel_address_identifier: String,
    /// `{appType: "custom", subject: <end user client id>, role: "EndUser"}`.
    pub recipient: Participant,
    pub payload: ConversationEntry,
}

/// `ConversationEntry` of the outbound spec. `entryPayload` is the entry itself (an
/// `AbstractEntry` subtype such as `Message`), kept as JSON so every entry type of the spec fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_display_name: Option<String>,
    pub identifier: String,
    pub entry_type: String,
    pub entry_payload: serde_json::Value,
    pub sender: Participant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<serde_json::Value>,
    pub transcripted_timestamp: i64,
    pub client_timestamp: i64,
    pub client_duration: i64,
}

/// `POST /admin/v1/conversations/{id}/replies`: the agent's answer in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentReply {
    pub text: String,
}

/// The answer to an agent reply: the entry written and the platform event that carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentReplySent {
    pub conversation_identifier: String,
    pub entry_identifier: String,
    /// `/event/<customPlatformEvent>`.
    pub topic_name: String,
    /// The event's replay id as a decimal number (the 8 bytes are big-endian).
    pub replay_id: u64,
    pub event: InteractionEvent,
}
