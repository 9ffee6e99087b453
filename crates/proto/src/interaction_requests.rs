//! Request bodies of the Interaction Service API (`specs/inbound-interaction-api.yaml`), typed
//! for clients: what the SDK (`byoc_client::interaction`) sends. Field names and discriminators
//! are the spec's; optional members are left out when `None`.
//!
//! The server does not deserialize these: it reads bodies leniently so that a missing or
//! malformed member gets the spec's error code (see `byoc_core::interaction`). The polymorphic
//! types of the spec (`AbstractEntry`, `AbstractMessage`, `AbstractStaticContent`,
//! `AbstractInteraction`) are enums tagged by the spec's discriminator; the ones a partner's end
//! user sends are typed, the rest carry their members as JSON ([`OtherMessage`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::interaction::{
    AcknowledgementType, AgentAction, AgentWorkContextType, AgentWorkStatus, CancelReason,
    ConsentStatus, DataDirection, MessagingSessionOperation, MessagingSessionOperationBy,
    Participant, ParticipantOperation, RoutingType,
};

// ---- entries --------------------------------------------------------------------------------

/// `AbstractEntry`, tagged by `entryType`: the entry types a partner may send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entryType")]
pub enum EntryPayload {
    /// `Message`.
    Message(MessageEntry),
    /// `TypingStartedIndicator`.
    TypingStartedIndicator(TypingIndicator),
    /// `TypingStoppedIndicator`.
    TypingStoppedIndicator(TypingIndicator),
    /// `MessageDeliveryFailed`: an agent's message could not be delivered to the end user.
    MessageDeliveryFailed(MessageDeliveryFailed),
}

impl EntryPayload {
    /// A `StaticContentMessage` with `Text` content; the entry and message share `id`.
    pub fn text(id: impl Into<String>, text: impl Into<String>) -> EntryPayload {
        let id = id.into();
        EntryPayload::Message(MessageEntry {
            id: id.clone(),
            abstract_message: AbstractMessage::StaticContentMessage(StaticContentMessage {
                id,
                static_content: StaticContent::Text(TextContent { text: text.into() }),
                in_reply_to_message_id: None,
            }),
        })
    }

    /// A `TypingStartedIndicator` at `timestamp` (epoch milliseconds).
    pub fn typing_started(id: impl Into<String>, timestamp: i64) -> EntryPayload {
        EntryPayload::TypingStartedIndicator(TypingIndicator {
            id: id.into(),
            timestamp,
        })
    }

    /// A `TypingStoppedIndicator` at `timestamp` (epoch milliseconds).
    pub fn typing_stopped(id: impl Into<String>, timestamp: i64) -> EntryPayload {
        EntryPayload::TypingStoppedIndicator(TypingIndicator {
            id: id.into(),
            timestamp,
        })
    }

    /// The entry's `id`.
    pub fn id(&self) -> &str {
        match self {
            EntryPayload::Message(m) => &m.id,
            EntryPayload::TypingStartedIndicator(t) | EntryPayload::TypingStoppedIndicator(t) => {
                &t.id
            }
            EntryPayload::MessageDeliveryFailed(f) => &f.id,
        }
    }
}

/// `Message`: an entry that carries an `AbstractMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageEntry {
    pub id: String,
    pub abstract_message: AbstractMessage,
}

/// `TypingStartedIndicator` / `TypingStoppedIndicator`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypingIndicator {
    pub id: String,
    /// Epoch milliseconds.
    pub timestamp: i64,
}

/// `MessageDeliveryFailed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDeliveryFailed {
    pub id: String,
    pub recipient: Participant,
    pub error_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_conversation_entry_identifier: Option<String>,
}

/// `AbstractMessage`, tagged by `messageType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "messageType")]
pub enum AbstractMessage {
    /// Non-interactive content: text, attachments, links.
    StaticContentMessage(StaticContentMessage),
    /// The end user's answer to a choices message.
    ChoicesResponseMessage(OtherMessage),
    /// The end user's answer to a form.
    FormResponseMessage(OtherMessage),
    /// A choices message (sent by agents and bots; allowed in conversation history).
    ChoicesMessage(OtherMessage),
    /// A form (sent by agents and bots; allowed in conversation history).
    FormMessage(OtherMessage),
}

/// `StaticContentMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaticContentMessage {
    pub id: String,
    pub static_content: StaticContent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to_message_id: Option<String>,
}

/// A message type whose members the SDK does not model: `id` plus the spec's members as JSON
/// (e.g. `choicesResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherMessage {
    pub id: String,
    #[serde(flatten)]
    pub members: Map<String, Value>,
}

/// `AbstractStaticContent`, tagged by `formatType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "formatType")]
pub enum StaticContent {
    /// `StaticContentText`.
    Text(TextContent),
    /// `StaticContentAttachments`: files already uploaded, with optional text.
    Attachments(AttachmentsContent),
    /// `StaticContentLinks`.
    Links(LinksContent),
}

/// `StaticContentText`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextContent {
    pub text: String,
}

/// `StaticContentAttachments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentsContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// `Attachment`: a file reachable at `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
}

/// `StaticContentLinks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinksContent {
    pub links: Vec<Link>,
}

/// `Link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub url: String,
}

// ---- POST /interactions -----------------------------------------------------------------------

/// `InteractionRequestJson`: the `json` part of `POST /interactions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionRequest {
    /// The end user's client identifier (`END_USER_CLIENT_IDENTIFIER`).
    pub from: String,
    /// The channel address identifier (`CHANNEL_ADDRESS_IDENTIFIER`).
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_attributes: Option<BTreeMap<String, String>>,
    /// Exactly one interaction.
    pub interactions: Vec<Interaction>,
}

impl InteractionRequest {
    /// One interaction from the end user `from` to the channel address `to`.
    pub fn new(
        to: impl Into<String>,
        from: impl Into<String>,
        interaction: Interaction,
    ) -> InteractionRequest {
        InteractionRequest {
            from: from.into(),
            to: to.into(),
            routing_attributes: None,
            interactions: vec![interaction],
        }
    }
}

/// `AbstractInteraction`, tagged by `interactionType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "interactionType")]
pub enum Interaction {
    /// A conversation entry (message, typing indicator, ...).
    EntryInteraction(EntryInteraction),
    /// A file, sent as the request's `attachments` part.
    AttachmentInteraction(AttachmentInteraction),
}

impl Interaction {
    /// An `EntryInteraction` at `timestamp` (epoch milliseconds).
    pub fn entry(timestamp: i64, payload: EntryPayload) -> Interaction {
        Interaction::EntryInteraction(EntryInteraction { timestamp, payload })
    }
}

/// `EntryInteraction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryInteraction {
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub payload: EntryPayload,
}

/// `AttachmentInteraction`: describes the file part at `attachmentIndex`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentInteraction {
    /// Epoch milliseconds.
    pub timestamp: i64,
    /// The conversation entry id the file becomes.
    pub id: String,
    /// Index of the file among the request's `attachments` parts (0: one file per request).
    pub attachment_index: u32,
    /// The file's size in bytes.
    pub content_length: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

// ---- POST /attachment (byoc extension) ------------------------------------------------------

/// The `postAttachmentRequestJson` part of byoc's `POST /attachment` (not in the published spec;
/// see docs/interaction-api.md).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostAttachmentRequest {
    pub conversation_identifier: String,
    /// The conversation entry id the file becomes.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Participant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_timestamp: Option<i64>,
}

// ---- conversations and entries ----------------------------------------------------------------

/// `PostConversationRequest`: establish a conversation with an end user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostConversationRequest {
    pub channel_address_identifier: String,
    /// Exactly one: the end user.
    pub participants: Vec<Participant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_attributes: Option<BTreeMap<String, String>>,
}

/// `PostConversationEntryRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostConversationEntryRequest {
    pub conversation_identifier: String,
    pub sender: Participant,
    /// Exactly one.
    pub conversation_entries: Vec<ConversationEntryRequest>,
}

/// `ConversationEntryRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationEntryRequest {
    /// Epoch milliseconds.
    pub client_timestamp: i64,
    pub entry_payload: EntryPayload,
}

/// `GetConversationEntriesRequest` (sent as the JSON body of a GET, as the spec has it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConversationEntriesRequest {
    pub conversation_identifier: String,
    /// Epoch milliseconds.
    pub start_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// 1..=20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<DataDirection>,
}

/// `AddConversationHistoryRequest` (BYOC for CCaaS channels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddConversationHistoryRequest {
    pub channel_address_identifier: String,
    pub conversation_participants: Vec<ConversationParticipant>,
    pub conversation_entries: Vec<ConversationEntryHistory>,
    /// `AbstractMessagingSession` (`EstablishMessagingSession` / `AttachMessagingSession`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_session: Option<Value>,
}

/// `ConversationParticipant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationParticipant {
    pub participant: Participant,
    /// Epoch milliseconds.
    pub joined_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `ConversationEntryHistory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationEntryHistory {
    /// Epoch milliseconds.
    pub client_timestamp: i64,
    pub sender: Participant,
    pub entry_payload: EntryPayload,
}

// ---- acknowledgements, participants -----------------------------------------------------------

/// `AcknowledgementRequest`: 1 to 25 read/delivered receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcknowledgementRequest {
    pub conversation_identifier: String,
    pub sender: Participant,
    pub acknowledgements: Vec<Acknowledgement>,
}

/// `Acknowledgement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Acknowledgement {
    /// Epoch milliseconds; a string in the spec.
    pub acknowledgement_timestamp: String,
    pub acknowledgement_type: AcknowledgementType,
    /// The entry being acknowledged.
    pub acknowledged_conversation_entry_identifier: String,
    /// The id of the acknowledgement entry this creates (the spec's spelling, without the `e`).
    pub acknowledgment_created_conversation_entry_identifier: String,
}

impl Acknowledgement {
    pub fn new(
        kind: AcknowledgementType,
        acknowledged_entry: impl Into<String>,
        created_entry: impl Into<String>,
        timestamp: i64,
    ) -> Acknowledgement {
        Acknowledgement {
            acknowledgement_timestamp: timestamp.to_string(),
            acknowledgement_type: kind,
            acknowledged_conversation_entry_identifier: acknowledged_entry.into(),
            acknowledgment_created_conversation_entry_identifier: created_entry.into(),
        }
    }
}

/// `PostParticipantRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostParticipantRequest {
    pub conversation_identifier: String,
    /// Exactly one.
    pub participants: Vec<Participant>,
    pub operation: ParticipantOperation,
}

// ---- routing and agent work -------------------------------------------------------------------

/// `PostRouteRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostRouteRequest {
    pub conversation_identifier: String,
    pub routing_type: RoutingType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_info: Option<RoutingInfo>,
}

/// `RoutingInfo`: a queue or a flow, and routing attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_attributes: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowInfo>,
}

/// `FlowInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
    /// The fallback queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
}

/// `DeleteRouteRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRouteRequest {
    pub conversation_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<CancelReason>,
}

/// `RoutingResultRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingResultRequest {
    pub conversation_identifier: String,
    /// 15 characters.
    pub work_item_id: String,
    pub success: bool,
    pub externally_routed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_type: Option<RoutingType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// `AgentWorkRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentWorkRequest {
    /// Salesforce user id or external user id.
    pub user_id: String,
    /// 15 characters.
    pub work_item_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_percentage: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_weight: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_action_visibilities: Option<Vec<AgentActionVisibility>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_context: Option<crate::interaction::RoutingContext>,
}

/// `AgentActionVisibilityItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentActionVisibility {
    pub agent_action: AgentAction,
    pub visible: bool,
}

/// `PatchAgentWorkRequest` (`UserAgentWork`, or `BotAgentWork` with `workItemId` and `botId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchAgentWorkRequest {
    pub work_id: String,
    pub context_type: AgentWorkContextType,
    pub status: AgentWorkStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_item_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
}

// ---- consent, capabilities, sessions ----------------------------------------------------------

/// `ConsentRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentRequest {
    pub channel_address_identifier: String,
    pub end_user_client_id: String,
    pub consent_status: ConsentStatus,
}

/// `CapabilitiesRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilitiesRequest {
    pub capabilities: Capabilities,
}

/// `Capabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// An `AppType` wire value, e.g. `custom`.
    pub app_type: String,
    pub channel_capabilities: Vec<ChannelCapabilities>,
}

/// `ChannelCapabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelCapabilities {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_type: Option<String>,
    /// `AbstractCustomIntegration` (`CustomChannelIntegration` / `CustomBotIntegration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_integration: Option<Value>,
    pub message_type_capabilities: Vec<MessageTypeCapabilities>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_indicator_type_capabilities: Option<Vec<ProgressIndicatorTypeCapabilities>>,
}

/// `MessageTypeCapabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageTypeCapabilities {
    /// A `MessageType` wire value.
    pub message_type: String,
    pub format_type_capabilities: Vec<FormatTypeCapabilities>,
}

/// `FormatTypeCapabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormatTypeCapabilities {
    /// A `FormatType` wire value.
    pub format_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability_field_restriction: Option<Vec<Value>>,
}

/// `ProgressIndicatorTypeCapabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressIndicatorTypeCapabilities {
    /// A `ProgressIndicatorType` wire value.
    pub progress_indicator_type: String,
    pub format_type_capabilities: Vec<FormatTypeCapabilities>,
}

/// `PostMessagingSessionRequest`: end or inactivate a messaging session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostMessagingSessionRequest {
    pub channel_address_identifier: String,
    pub conversation_identifier: String,
    pub end_user_client_id: String,
    pub operation: MessagingSessionOperation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_by: Option<MessagingSessionOperationBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_text_interaction_has_the_spec_shape() {
        let request = InteractionRequest::new(
            "addr",
            "user",
            Interaction::entry(5, EntryPayload::text("e1", "Hello")),
        );
        assert_eq!(
            serde_json::to_value(&request).ok(),
            Some(json!({
                "from": "user", "to": "addr",
                "interactions": [{
                    "interactionType": "EntryInteraction", "timestamp": 5,
                    "payload": {"entryType": "Message", "id": "e1", "abstractMessage": {
                        "messageType": "StaticContentMessage", "id": "e1",
                        "staticContent": {"formatType": "Text", "text": "Hello"}}}
                }]
            }))
        );
    }

    #[test]
    fn typing_and_attachment_interactions_have_the_spec_shape() {
        let typing = Interaction::entry(7, EntryPayload::typing_stopped("t1", 7));
        assert_eq!(
            serde_json::to_value(&typing).ok(),
            Some(
                json!({"interactionType": "EntryInteraction", "timestamp": 7,
                "payload": {"entryType": "TypingStoppedIndicator", "id": "t1", "timestamp": 7}})
            )
        );
        let file = Interaction::AttachmentInteraction(AttachmentInteraction {
            timestamp: 9,
            id: "f1".into(),
            attachment_index: 0,
            content_length: 3,
            text: None,
        });
        assert_eq!(
            serde_json::to_value(&file).ok(),
            Some(
                json!({"interactionType": "AttachmentInteraction", "timestamp": 9, "id": "f1",
                "attachmentIndex": 0, "contentLength": 3})
            )
        );
    }

    #[test]
    fn other_messages_keep_their_members_and_round_trip() {
        let wire = json!({"entryType": "Message", "id": "e", "abstractMessage": {
            "messageType": "ChoicesResponseMessage", "id": "m",
            "choicesResponse": {"formatType": "Selections", "selectedOptions": []}}});
        let parsed: Result<EntryPayload, _> = serde_json::from_value(wire.clone());
        let parsed = parsed.ok();
        assert!(
            matches!(&parsed, Some(EntryPayload::Message(m)) if matches!(&m.abstract_message, AbstractMessage::ChoicesResponseMessage(o) if o.id == "m"))
        );
        assert_eq!(
            parsed.and_then(|p| serde_json::to_value(p).ok()),
            Some(wire)
        );
    }
}
