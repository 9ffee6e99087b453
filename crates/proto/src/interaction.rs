//! Wire types of the Interaction Service API (`specs/inbound-interaction-api.yaml`, from
//! github.com/salesforce-misc/interaction-service-apis) and of byoc's admin view of conversations.
//!
//! Requests are read leniently by the server (unknown fields ignored, every field optional here)
//! so a missing or malformed field gets the spec's error code rather than a parser message; the
//! rules live in `byoc_core::interaction`. Responses carry exactly the spec's field names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The headers of every Interaction API request, as the spec names them. HTTP header names are
/// case-insensitive, so these are only the canonical spelling.
pub mod headers {
    pub const ORG_ID: &str = "OrgId";
    pub const AUTHORIZATION_CONTEXT: &str = "AuthorizationContext";
    pub const AUTHORIZATION_CONTEXT_TYPE: &str = "AuthorizationContextType";
    pub const REQUEST_ID: &str = "RequestId";
}

/// The body of every refusal: `Error` in the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: u32,
    pub message: String,
}

/// Defines a string enum of the spec with its exact wire values.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// The variant with this exact wire value.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// `AppType`: unique identifiers for app services.
    AppType { Custom = "custom", Agent = "agent", Chatbot = "chatbot", Conversation = "conversation", LiveMessage = "live_message", IaMessage = "iamessage" }
);

wire_enum!(
    /// `ParticipantRole`.
    ParticipantRole { EndUser = "EndUser", Chatbot = "Chatbot", Agent = "Agent", Supervisor = "Supervisor", System = "System" }
);

wire_enum!(
    /// `EntryType`: the kinds of conversation entries.
    EntryType {
        Message = "Message",
        MessageDeliveryFailed = "MessageDeliveryFailed",
        TypingStartedIndicator = "TypingStartedIndicator",
        TypingStoppedIndicator = "TypingStoppedIndicator",
        DeliveryAcknowledgement = "DeliveryAcknowledgement",
        ReadAcknowledgement = "ReadAcknowledgement",
        RoutingWorkResult = "RoutingWorkResult",
        ParticipantChanged = "ParticipantChanged",
        RoutingResult = "RoutingResult",
        Note = "Note",
        FlagRaise = "FlagRaise",
        FlagLower = "FlagLower",
        EndUserConsentUpdated = "EndUserConsentUpdated",
        SessionStatusChanged = "SessionStatusChanged",
        ConsultConversationInfo = "ConsultConversationInfo",
    }
);

wire_enum!(
    /// `MessageType`: what a message does.
    MessageType {
        ChoicesMessage = "ChoicesMessage",
        ChoicesResponseMessage = "ChoicesResponseMessage",
        FormMessage = "FormMessage",
        FormResponseMessage = "FormResponseMessage",
        StaticContentMessage = "StaticContentMessage",
    }
);

wire_enum!(
    /// `FormatType`: how a message looks.
    FormatType {
        Attachments = "Attachments",
        RichLink = "RichLink",
        Media = "Media",
        Buttons = "Buttons",
        Carousel = "Carousel",
        QuickReplies = "QuickReplies",
        ListPicker = "ListPicker",
        Selections = "Selections",
        Links = "Links",
        TimePicker = "TimePicker",
        Application = "Application",
        Result = "Result",
        Inputs = "Inputs",
        WebView = "WebView",
        Text = "Text",
        ExperienceType = "ExperienceType",
        Flow = "Flow",
        MessageDefinition = "MessageDefinition",
    }
);

wire_enum!(
    /// `InteractionType`.
    InteractionType { EntryInteraction = "EntryInteraction", AttachmentInteraction = "AttachmentInteraction" }
);

wire_enum!(
    /// `ConsentEnum`: a messaging end user's consent status.
    ConsentStatus { OptedOut = "OptedOut", ImplicitlyOptedIn = "ImplicitlyOptedIn", ExplicitlyOptedIn = "ExplicitlyOptedIn", DoublyOptedIn = "DoublyOptedIn" }
);

wire_enum!(
    /// `AcknowledgementType`.
    AcknowledgementType { Read = "Read", Delivered = "Delivered" }
);

wire_enum!(
    /// `RoutingType`.
    RoutingType { Initial = "Initial", Transfer = "Transfer", Conference = "Conference" }
);

wire_enum!(
    /// `CancelReason`.
    CancelReason { Unknown = "Unknown", Unavailable = "Unavailable", Decline = "Decline", Cancel = "Cancel" }
);

wire_enum!(
    /// `AgentWorkStatus`.
    AgentWorkStatus { Accept = "Accept", Close = "Close", Decline = "Decline", Cancel = "Cancel" }
);

wire_enum!(
    /// `AgentWorkContextType`.
    AgentWorkContextType { Agent = "Agent", Chatbot = "Chatbot" }
);

wire_enum!(
    /// `AuthorizationContextType`. The header is compared case-insensitively.
    AuthorizationContextType {
        ConversationChannelDefinition = "ConversationChannelDefinition",
        EmbeddedMessagingChannel = "EmbeddedMessagingChannel",
        ExternalConversationParticipant = "ExternalConversationParticipant",
    }
);

wire_enum!(
    /// `MessagingSessionOperationType`.
    MessagingSessionOperation { End = "End", Inactivate = "Inactivate" }
);

wire_enum!(
    /// `MessagingSessionOperationByType`.
    MessagingSessionOperationBy { EndUser = "EndUser", System = "System" }
);

wire_enum!(
    /// `DataDirectionEnum`.
    DataDirection { FromStart = "FROM_START", FromEnd = "FROM_END" }
);

wire_enum!(
    /// `ParticipantOperationType`.
    ParticipantOperation { Remove = "Remove" }
);

wire_enum!(
    /// `SessionStatus`.
    SessionStatus { Active = "Active", Ended = "Ended", Waiting = "Waiting", New = "New", Consent = "Consent", Inactive = "Inactive", Error = "Error", Paused = "Paused" }
);

wire_enum!(
    /// `AgentActionEnum`.
    AgentAction { Transfer = "Transfer", Conference = "Conference" }
);

wire_enum!(
    /// `ProgressIndicatorType`.
    ProgressIndicatorType { ProgressUpdateIndicator = "ProgressUpdateIndicator" }
);

/// `Participant`. Every field is optional on input so the server can answer a missing one with
/// its code; responses always fill all three.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Participant {
    pub fn new(app_type: AppType, subject: &str, role: ParticipantRole) -> Participant {
        Participant {
            app_type: Some(app_type.as_str().into()),
            subject: Some(subject.into()),
            role: Some(role.as_str().into()),
        }
    }
}

// ---- responses ----------------------------------------------------------------------------------

/// `PostInteractionResponse` (202 of `POST /interactions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostInteractionResponse {
    pub conversation_identifier: String,
    /// The conversation entry id of the interaction.
    pub id: String,
    /// The messaging session (15-character id) the entry belongs to.
    pub work_item_ids: Vec<String>,
    pub success: bool,
}

/// `PostConversationResponse` (202 of `POST /conversation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostConversationResponse {
    pub conversation_identifier: String,
    pub messaging_session_id: String,
    pub success: bool,
}

/// `AddConversationHistoryResponse` (202 of `POST /conversationHistory`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddConversationHistoryResponse {
    pub success: bool,
    pub conversation_identifier: String,
    pub messaging_session_id: String,
}

/// `{ "success": bool }`: `PostConversationEntryResponse`, `AcknowledgementResponse`,
/// `DeleteRouteResponse`, and the success form of the responses that also carry `errorDetail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuccessResponse {
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<ErrorBody>,
}

impl SuccessResponse {
    pub fn ok() -> SuccessResponse {
        SuccessResponse {
            success: true,
            error_detail: None,
        }
    }
}

/// `ConversationEntryResponse`: one entry of `GET /conversationEntry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationEntryResponse {
    pub client_timestamp: i64,
    pub sender: Participant,
    /// The `AbstractEntry` as it was sent (or, for attachments, as byoc recorded it).
    pub entry_payload: serde_json::Value,
}

/// `GetConversationEntriesResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConversationEntriesResponse {
    pub success: bool,
    pub conversation_entries: Vec<ConversationEntryResponse>,
}

/// `PostRouteResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostRouteResponse {
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psr_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_item_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_not_routing: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context_param_map: BTreeMap<String, String>,
}

/// `RoutingContext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingContext {
    pub conversation_identifier: String,
    pub routing_type: String,
    pub routing_correlation_id: String,
}

/// `AgentWorkDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentWorkDetails {
    pub exist_psr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_percentage: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_weight: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psr_id: Option<String>,
    pub routing_context: RoutingContext,
}

/// `AgentWorkResponse` (202 of `POST /agentWork`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentWorkResponse {
    pub id: String,
    pub agent_work_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_work_details: Option<AgentWorkDetails>,
    pub success: bool,
}

/// `PostMessagingSessionResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostMessagingSessionResponse {
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
}

/// byoc's `POST /attachment` answer (the operation is not in the published spec; see
/// docs/interaction-api.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostAttachmentResponse {
    pub success: bool,
    pub conversation_identifier: String,
    /// The conversation entry that carries the attachment.
    pub id: String,
    pub attachment_id: String,
}

// ---- admin view (`/admin/v1/conversations`) ---------------------------------------------------

/// One conversation in `GET /admin/v1/conversations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    /// The conversation identifier (a UUID).
    pub id: String,
    pub channel_address_identifier: String,
    pub conversation_channel_definition: String,
    /// The messaging end user's client identifier (`from`).
    pub end_user_client_id: String,
    /// The messaging end user record id (`0PA...`).
    pub end_user_id: String,
    /// The current messaging session (`0Mw...`, 15 characters).
    pub messaging_session_id: Option<String>,
    pub session_status: Option<String>,
    pub consent_status: Option<String>,
    pub entry_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An attachment's metadata; the bytes stay in the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    pub size: i64,
}

/// One conversation entry in `GET /admin/v1/conversations/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryView {
    pub id: String,
    pub entry_type: String,
    pub sender: Participant,
    pub messaging_session_id: Option<String>,
    pub client_timestamp: i64,
    pub server_timestamp: i64,
    pub text: Option<String>,
    pub message_type: Option<String>,
    pub format_type: Option<String>,
    /// For acknowledgement entries: the entry they acknowledge.
    pub acknowledged_entry_id: Option<String>,
    pub attachments: Vec<AttachmentView>,
    /// `Read`, `Delivered` or `None` (not yet acknowledged): the highest acknowledgement this
    /// entry got.
    pub acknowledgement: Option<String>,
    /// Which operation stored it: `interactions`, `conversationEntry`, `conversationHistory`,
    /// `acknowledgement`, `attachment`.
    pub source: String,
    pub payload: serde_json::Value,
}

/// A messaging session of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub id18: String,
    pub status: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// A routing or agent-work record of a conversation (route, routing result, agent work,
/// participant change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub kind: String,
    pub key: String,
    pub body: serde_json::Value,
    pub updated_at: i64,
}

/// `GET /admin/v1/conversations/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetail {
    pub conversation: ConversationSummary,
    pub sessions: Vec<SessionView>,
    pub entries: Vec<EntryView>,
    pub records: Vec<RecordView>,
}
