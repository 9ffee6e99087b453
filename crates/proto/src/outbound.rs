//! The outbound side of BYOC: what Salesforce publishes on a CCD's custom platform event when an
//! agent answers, as `specs/outbound-custom-event-payload.yaml` (the `InteractionEvent` schema)
//! shapes it. The payload field of the platform event carries an [`InteractionEvent`] as JSON.

use serde::{Deserialize, Serialize};

use crate::interaction::Participant;

/// The value of the CCD's event type field for an [`InteractionEvent`].
pub const INTERACTION_EVENT_TYPE: &str = "Interaction";
/// The value of the CCD's event type field for a [`RoutingRequested`] event.
pub const ROUTING_REQUESTED_EVENT_TYPE: &str = "RoutingRequested";

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

/// `RoutingRequested` of the outbound spec: published for CCDs whose `routingOwner` is
/// `Partner` when an agent asks for the conversation to be routed (a transfer or a conference);
/// the partner's routing system answers through `/route`, `/agentWork` and `/routingResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRequested {
    pub channel_address_identifier: String,
    pub recipient: Participant,
    pub payload: RoutingRequestedEvent,
}

/// `RoutingRequestedEvent` of the outbound spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRequestedEvent {
    pub conversation_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_parameters: Option<RoutingParameter>,
    /// `Initial`, `Transfer` or `Conference` (the spec's `RoutingType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_type: Option<String>,
    /// The messaging session being routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_record_id: Option<String>,
}

/// `RoutingParameter` of the outbound spec: the destination the agent picked. byoc fills the
/// destination fields and `isTransfer`; the other fields of the spec are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingParameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_transfer: Option<bool>,
}

/// `POST /admin/v1/conversations/{id}/replies`: the agent's answer in a conversation, text, a
/// file, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentReply {
    /// May be empty when an attachment is sent.
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AgentAttachment>,
}

/// A file the agent sends (at most 25 MB), base64 in the JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentAttachment {
    pub name: String,
    pub mime_type: String,
    /// The bytes, standard base64 with padding.
    pub content_base64: String,
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
    /// The stored attachment's id, when the reply carried one (its bytes are at
    /// `GET /admin/v1/attachments/{id}`, the `url` of the event's attachment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
}

/// The answer to `POST /admin/v1/conversations/{id}/end`: the messaging session ended by the
/// agent, the `SessionStatusChanged` entry written and the platform event that carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationEnded {
    pub conversation_identifier: String,
    pub messaging_session_id: String,
    pub entry_identifier: String,
    pub topic_name: String,
    pub replay_id: u64,
    pub event: InteractionEvent,
}

/// `POST /admin/v1/conversations/{id}/routing-requests`: the agent asks for the conversation to
/// be routed elsewhere (CCDs with `routingOwner` `Partner` only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRequest {
    /// `Transfer` (default), `Conference` or `Initial`, compared case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    /// A user of the org, by username or id; the event carries the 18-character id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
}

/// The answer to a routing request: the `RoutingRequested` event published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRequestSent {
    pub conversation_identifier: String,
    pub topic_name: String,
    pub replay_id: u64,
    pub event: RoutingRequested,
}
