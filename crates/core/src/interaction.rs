//! The Interaction Service API's rules, without IO: the error-code catalogue, the authorization
//! chain, and the validation of every request body.
//!
//! Contracts: `specs/inbound-interaction-api.yaml` and `specs/interaction-api-error-codes.md`
//! (github.com/salesforce-misc/interaction-service-apis). The server parses JSON into
//! [`serde_json::Value`] and hands it here, so each missing or malformed field is answered with the
//! spec's own code instead of a parser message; unknown fields are ignored.
//!
//! - [`ApiError`]: a code with its exact message and the HTTP class byoc answers it with.
//! - [`TokenGrant`] and the `check_*`/`authorize_*` functions: the authorization chain, in order.
//! - `validate_*`: one function per operation, returning the typed request the server executes.

use std::collections::BTreeMap;

use byoc_proto::interaction::{
    AcknowledgementType, AgentAction, AgentWorkContextType, AgentWorkStatus, AppType, CancelReason,
    ConsentStatus, DataDirection, EntryType, FormatType, InteractionType, MessageType,
    MessagingSessionOperation, MessagingSessionOperationBy, Participant, ParticipantOperation,
    ParticipantRole, ProgressIndicatorType, RoutingType,
};
use byoc_proto::setup::{ConversationChannelDefinition, MessagingChannel};
use serde_json::{Map, Value};

use crate::ids;

/// The scope a token needs for every operation.
pub const REQUIRED_SCOPE: &str = "interaction_api";
/// 25 MB, the attachment limit of code 10008 (read as MiB).
pub const MAX_ATTACHMENT_BYTES: u64 = 25 * 1024 * 1024;
/// `AcknowledgementRequest.acknowledgements.maxItems`.
pub const MAX_ACKNOWLEDGEMENTS: usize = 25;
/// `AddConversationHistoryRequest.conversationEntries.maxItems`.
pub const MAX_HISTORY_ENTRIES: usize = 25;
/// `AddConversationHistoryRequest.conversationParticipants.maxItems`.
pub const MAX_HISTORY_PARTICIPANTS: usize = 3;
/// `GetConversationEntriesResponse.conversationEntries.maxItems`, also the default page.
pub const MAX_ENTRIES_PAGE: i64 = 20;
/// `InteractionRequestJson.from.maxLength`.
pub const MAX_FROM_LEN: usize = 255;
/// `maxLength` of `to`, `channelAddressIdentifier`, `conversationIdentifier`, `endUserClientId`.
pub const MAX_ID_LEN: usize = 240;

/// Key prefixes of the conversation records.
pub mod prefix {
    pub const MESSAGING_SESSION: &str = "0Mw";
    pub const MESSAGING_END_USER: &str = "0PA";
    pub const AGENT_WORK: &str = "0Bz";
    pub const PENDING_SERVICE_ROUTING: &str = "0JR";
    pub const QUEUE: &str = "00G";
}

/// Every code of `interaction-api-error-codes.md` with its text, verbatim.
const MESSAGES: &[(u32, &str)] = &[
    (10001, "The AuthorizationContext in the request isn't valid for the provided value in the \"to\"/\"channelAddressIdentifier\" field."),
    (10002, "The channel type for the provided \"to\"/\"channelAddressIdentifier\" field isn't valid."),
    (10003, "The supplied Authorization access token is missing the required Connected App scope. Required value: interaction_api."),
    (10004, "The supplied Authorization access token is not valid."),
    (10005, "The AuthorizationContext for the request isn't valid based on the supplied Authorization access token."),
    (10006, "The channel provider for the provided \"to\"/\"channelAddressIdentifier\" field isn't valid."),
    (10007, "The file ID field is empty."),
    (10008, "The file size exceeds the maximum limit of 25 MB."),
    (10009, "The file is empty or doesn’t exist."),
    (10010, "The interaction contentLength field is empty."),
    (10011, "The number of interactions of type AttachmentInteraction does not match the number of attachment files."),
    (10012, "Enter a valid workItemId for the MessagingSession ID."),
    (10013, "Enter either a capacityPercentage or a capacityWeight, but not both."),
    (10014, "Enter a capacity weight greater than or equal to 0."),
    (10015, "Enter a capacity percentage between 0 and 100, inclusive."),
    (10016, "Enter a valid header."),
    (10017, "The channelAddressIdentifier provided does not exist."),
    (10018, "The conversation identifier is not valid."),
    (10019, "The service is in read-only mode because an org migration is in progress. Try again later."),
    (10020, "The endUserClientId provided is not valid."),
    (10021, "Enter a valid Consent Status Enum value."),
    (10022, "Cannot update Consent Status where the Consent Owner of the channel is not set to Partner."),
    (10023, "Cannot update Consent Status where the SupportsKeywords of the channel is true."),
    (10024, "For Flow based Routing, flow ID and Fallback Queue ID are required fields."),
    (10025, "The conversation id isn't found based on channelAddressIdentifier and CUSTOM channel type."),
    (10026, "The conversation channel definition for the provided \"to\"/\"channelAddressIdentifier\" field is missing."),
    (10027, "The provided \"to\" field isn't valid."),
    (10028, "The provided \"from\" field isn't valid."),
    (10029, "The provided interaction list isn't valid."),
    (10030, "Specify either a flow or a queue to Route API."),
    (10031, "The channelAddressIdentifier provided is not active."),
    (10032, "Specified Queue ID is invalid."),
    (10033, "Should not pass in error message when routing result success."),
    (10034, "Error message missing when routing result false."),
    (10035, "The messaging channel is not a type of CUSTOM."),
    (10036, "The participant does not exist."),
    (10037, "The AppType provided is not supported."),
    (10038, "The Participant Role provided is not supported."),
    (10039, "Add participants to your conversation."),
    (10042, "Include one end user participant in the conversation."),
    (10043, "Invalid participant role. Specify a Chatbot or EndUser role for all participants."),
    (10044, "Include only one end user participant in the conversation."),
    (10045, "Provide a valid message entry format."),
    (10046, "Invalid clientTimestamp. Send messages within the allowed response time frame."),
    (10047, "Specified Message Type is invalid."),
    (10048, "Specified Format Type is invalid."),
    (10049, "Specified Message Type and Format Type combination is invalid."),
    (10050, "Specified custom integration is invalid."),
    (10051, "The file size (in bytes) of uploaded attachment is incorrect."),
    (10052, "The \"channelAddressIdentifier\" field set in post conversation request isn't valid."),
    (10053, "The \"participants\" field set in post conversation request is either invalid or empty."),
    (10054, "Invalid subject of participant in conversation request."),
    (10055, "Conversation precondition failed. Please retry."),
    (10056, "Conversation processing aborted. Please retry."),
    (10057, "Looks like you don't have access to the ConversationHistory API. Only Bring Your Own Channel for CCaaS partners can access them. Your Salesforce admin can help with that."),
    (10058, "Customer Error occurred."),
    (10059, "Interaction ID or Message ID is empty."),
    (10060, "Interaction ID and Message ID are mismatched."),
    (10061, "The StartTime provided for messaging session is invalid."),
    (10062, "Invalid message type. Only StaticContentMessage, ChoicesResponseMessage, and FormResponseMessage types are supported for messages sent from an end user."),
    (10063, "Your environment isn't ready to use the ConversationHistory API with a messaging session. Remove the messagingSession parameter from the payload."),
    (10064, "The EndTime provided for messaging session is invalid."),
    (10065, "Invalid end-user participant details. Conversations with end-users remain open and don't have a leftTime."),
    (10066, "Invalid chatbot participant details. leftTime is required for conversations with chatbots when the conversation is ended."),
    (10067, "Invalid joinedTime. Specify a joinedTime that is earlier than the leftTime."),
    (10068, "Invalid participant. The message isn't from an approved participant."),
    (10069, "Specify a valid channel address identifier or check your authorization configuration."),
    (10070, "Provide a channel address identifier that's configured with the specified authorization context."),
    (10071, "Session is not found."),
    (10072, "Specify a valid session ID."),
    (10073, "Invalid message ID. Provide a unique ID for each message entry."),
    (10074, "Invalid message timestamp. The message Timestamp must occur while the sender is in the conversation."),
    (10075, "Your Salesforce org isn't ready to use the Routing API with conferencing. Upgrade to the latest version or set the routingType to Initial or Transfer."),
    (10076, "Your Salesforce org isn't ready to use the Delete Route API with cancel reason. Upgrade to the latest version or remove cancelReason from the payload."),
    (10077, "Your Salesforce org isn't ready to use the Agent Work API with agent action as conference. Upgrade to the latest version or set the agentAction to Transfer."),
    (10078, "An error occurred due to an invalid payload parameter. Check the parameters and try again. For help, see Send Historical Conversation Entries."),
    (10082, "Invalid workId: Please provide a valid workId."),
    (10083, "Invalid context type: The context type provided is not supported or is invalid."),
    (10084, "Invalid botId: Please provide a valid botId."),
    (10085, "Invalid status: Please provide a valid status."),
    (10086, "The ExternalBotId is invalid."),
    (10087, "The AuthorizationContext in the request isn't valid for the given botId."),
    (10088, "The bot is inactive and can't be used for conversations."),
    (10089, "Invalid parameters passed to API."),
    (10090, "The StartTime provided to fetch Conversation Entries is invalid."),
    (10091, "Invalid EndTime. Provide an EndTime that is after the StartTime."),
    (10092, "Invalid Limit. Provide a value within the allowed range and try again."),
    (10093, "Invalid authorization context type."),
    (10094, "The request failed due to a timeout from a downstream service. Please try again later."),
    (10095, "The MIME type of the uploaded file cannot be determined. Please check the file and try again."),
    (10096, "The channel variable value length in routing attribute payload is larger than the maximum length configured in Messaging Channel setup page."),
    (10097, "Invalid operation. Please provide a valid operation for Participant API."),
    (10098, "The progressIndicatorCapability parameter can't be empty. Please provide a valid value or remove the parameter from the payload and try again."),
    (10099, "Org does not have correct permissions."),
    (10100, "A request body is required and can't be empty. Provide a valid payload and ensure data is included and correctly formatted."),
    (10101, "We found duplicate participants. Make sure each participant is unique and try again."),
    (10102, "Invalid operation type value for POST messaging session request."),
    (10103, "Invalid operationBy value for POST messaging session."),
    (10104, "No access to MessagingSession record."),
    (10105, "End User not found."),
    (10106, "Messaging Session ID is missing for Inactivate Messaging Session API."),
    (15102, "To use this API, enable Contact Center as a Service."),
    (15103, "The Messaging End User is not Fully Opted In"),
    (15104, "Messaging channel is not linked to any Contact Center"),
    (15105, "To use this API, add Partner Messaging to the user."),
    (15106, "Invalid User Id parameter"),
    (15107, "Enter a conversationId that matches a conversation linked to workItemId <workItemId>. conversationId <conversationId> doesn't match."),
    (15108, "No service channel was found for this messaging session."),
    (15109, "An active AgentWork record already exists with the same UserId and WorkItemId."),
    (15110, "Enter a valid workItemId <workItemId> for the MessagingSession ID."),
    (15111, "WorkItemId <workItemId> for the MessagingSession ID not found."),
    (15112, "The agent's status is not associated with the channel for this work."),
    (20002, "An error occured when retrieve conversation list based on endUserAddress."),
    (20003, "Empty interaction list in request."),
    (20004, "Pod not found error occurred when fetch Org perms."),
    (25005, "We couldn't find the Messaging End User for workItemId <workItemId>. Verify that the Messaging Session exists, then try again."),
    (25006, "We couldn't find the conversation for workItemId <workItemId>. Verify that the conversation exists, then try again."),
    (25007, "We couldn't find conversationId for workItemId <workItemId>. Verify that the conversation exists, then try again."),
    (500, "An internal server error occurred. Please contact Salesforce Support."),];

/// The message of a code, verbatim from the table; placeholders such as `<workItemId>` left in.
pub fn message(code: u32) -> &'static str {
    MESSAGES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, m)| *m)
        .unwrap_or("An internal server error occurred. Please contact Salesforce Support.")
}

/// How byoc answers a code over HTTP (the sources do not pin statuses; docs/interaction-api.md
/// lists the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 401: the token is not valid or lacks the scope.
    Unauthorized,
    /// 403: the request is authenticated but not allowed.
    Forbidden,
    /// 404: a record the request names does not exist.
    NotFound,
    /// 400: the request is malformed.
    BadRequest,
    /// 503: a dependency (the database) is unavailable; retrying later can succeed.
    Unavailable,
    /// 500: byoc failed.
    Internal,
}

/// A refusal: the spec's code, its message and the HTTP class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: u32,
    pub message: String,
    pub class: ErrorClass,
}

impl ApiError {
    /// The code with its table message and default class.
    pub fn new(code: u32) -> ApiError {
        ApiError {
            code,
            message: message(code).to_string(),
            class: default_class(code),
        }
    }

    /// The code, answered with another class than its default.
    pub fn with_class(code: u32, class: ErrorClass) -> ApiError {
        ApiError {
            class,
            ..ApiError::new(code)
        }
    }

    /// A code whose message names the work item (15110, 15111, 25005..25007).
    pub fn work_item(code: u32, work_item_id: &str) -> ApiError {
        let mut e = ApiError::new(code);
        e.message = e.message.replace("<workItemId>", work_item_id);
        e
    }

    /// 15107: the work item belongs to another conversation.
    pub fn conversation_mismatch(work_item_id: &str, conversation_id: &str) -> ApiError {
        let mut e = ApiError::work_item(15107, work_item_id);
        e.message = e.message.replace("<conversationId>", conversation_id);
        e
    }

    /// Code 500: byoc failed (the detail is logged under an id, never sent).
    pub fn internal() -> ApiError {
        ApiError::new(500)
    }

    /// 10094: the database did not answer in time.
    pub fn unavailable() -> ApiError {
        ApiError::new(10094)
    }
}

fn default_class(code: u32) -> ErrorClass {
    match code {
        10003 | 10004 => ErrorClass::Unauthorized,
        10001 | 10005 | 10022 | 10023 | 10057 | 10087 | 10099 | 10104 | 15102 | 15105 => {
            ErrorClass::Forbidden
        }
        10017 | 10018 | 10025 | 10026 | 10036 | 10071 | 10105 | 15111 | 25005 | 25006 | 25007 => {
            ErrorClass::NotFound
        }
        10019 | 10094 => ErrorClass::Unavailable,
        500 => ErrorClass::Internal,
        _ => ErrorClass::BadRequest,
    }
}

// ---- authorization ------------------------------------------------------------------------------

/// What a valid access token grants: the org, the user, the app that obtained it, its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// 15-character org id (`00D...`).
    pub org_id15: String,
    pub user_id: String,
    /// The id of the External Client App or connected app the token was issued to.
    pub app_id: String,
    pub scopes: Vec<String>,
}

/// Same record id, whichever of the 15/18-character forms each side uses.
pub fn same_id(a: &str, b: &str) -> bool {
    match (a.get(..15), b.get(..15)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Steps 2 and 3 of the chain: the token has `interaction_api` (10003), and the `OrgId` header is
/// the token's org in its 15-character form (10016: missing, malformed or 18 characters → 400; a
/// well-formed id of another org → 403).
pub fn check_grant(grant: &TokenGrant, org_id_header: Option<&str>) -> Result<(), ApiError> {
    if !grant.scopes.iter().any(|s| s == REQUIRED_SCOPE) {
        return Err(ApiError::new(10003));
    }
    let org = org_id_header.map(str::trim).unwrap_or("");
    if org.len() != 15 || !org.starts_with("00D") || !is_record_id(org) {
        return Err(ApiError::new(10016));
    }
    if org != grant.org_id15 {
        return Err(ApiError::with_class(10016, ErrorClass::Forbidden));
    }
    Ok(())
}

/// `AuthorizationContextType`, compared case-insensitively. byoc authorizes by Conversation
/// Channel Definition only; an absent header means that (real clients omit it).
pub fn check_context_type(value: Option<&str>) -> Result<(), ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(()),
        Some(v) if v.eq_ignore_ascii_case("ConversationChannelDefinition") => Ok(()),
        Some(_) => Err(ApiError::new(10093)),
    }
}

/// Steps 4 and 5: `AuthorizationContext` names a CCD (10026 when none has that developer name;
/// 10016 when the header is missing) whose linked app is the token's app (10005). `channel` is the
/// channel whose CCD has that developer name, if any.
pub fn authorize_ccd<'a>(
    grant: &TokenGrant,
    context: Option<&str>,
    channel: Option<&'a MessagingChannel>,
) -> Result<&'a ConversationChannelDefinition, ApiError> {
    let context = context.map(str::trim).unwrap_or("");
    if context.is_empty() {
        return Err(ApiError::new(10016));
    }
    let ccd = channel
        .and_then(|c| c.conversation_channel_definition.as_ref())
        .ok_or_else(|| ApiError::new(10026))?;
    match &ccd.linked_app {
        Some(app) if same_id(&app.id, &grant.app_id) => Ok(ccd),
        _ => Err(ApiError::new(10005)),
    }
}

/// Step 6: the `to`/`channelAddressIdentifier` is a channel (10017), that channel is the
/// authorized CCD's (10001), and it is active (10031).
pub fn authorize_address(
    ccd_channel: &MessagingChannel,
    address_channel: Option<&MessagingChannel>,
) -> Result<(), ApiError> {
    let channel = address_channel.ok_or_else(|| ApiError::new(10017))?;
    if channel.id != ccd_channel.id {
        return Err(ApiError::new(10001));
    }
    if !channel.is_active {
        return Err(ApiError::new(10031));
    }
    Ok(())
}

// ---- reading JSON -------------------------------------------------------------------------------

fn obj(v: &Value, code: u32) -> Result<&Map<String, Value>, ApiError> {
    v.as_object().ok_or_else(|| ApiError::new(code))
}

fn opt_str<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

/// A required non-empty string of at most `max` characters.
fn req_str(o: &Map<String, Value>, key: &str, max: usize, code: u32) -> Result<String, ApiError> {
    match o.get(key).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() && s.chars().count() <= max => Ok(s.to_string()),
        _ => Err(ApiError::new(code)),
    }
}

/// An integer, also accepted as a string of digits (acknowledgement timestamps are strings).
fn int_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn opt_int(o: &Map<String, Value>, key: &str, code: u32) -> Result<Option<i64>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => int_value(v).map(Some).ok_or_else(|| ApiError::new(code)),
    }
}

fn opt_bool(o: &Map<String, Value>, key: &str, code: u32) -> Result<Option<bool>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::new(code)),
    }
}

fn opt_f64(o: &Map<String, Value>, key: &str, code: u32) -> Result<Option<f64>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| ApiError::new(code)),
    }
}

/// A `{string: string}` map (`routingAttributes`); numbers and booleans are taken as their text.
fn string_map(o: &Map<String, Value>, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    match o.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => continue,
                    _ => return Err(ApiError::new(10089)),
                };
                out.insert(k.clone(), text);
            }
        }
        Some(_) => return Err(ApiError::new(10089)),
    }
    Ok(out)
}

/// A 15- or 18-character record id. Only ASCII is looked at further: `ids::is_valid_id` slices
/// at byte 15, which must not land inside a multi-byte character of attacker input.
fn is_record_id(s: &str) -> bool {
    s.is_ascii() && ids::is_valid_id(s)
}

/// PostgreSQL cannot store NUL in text, and no Salesforce field carries one: refuse such input
/// before it reaches the store.
pub fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(contains_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// A participant with all three fields valid: `appType` (10037), `role` (10038), `subject`
/// (10054).
pub fn participant(v: &Value) -> Result<Participant, ApiError> {
    let o = obj(v, 10089)?;
    let app_type = opt_str(o, "appType")
        .and_then(AppType::parse)
        .ok_or_else(|| ApiError::new(10037))?;
    let role = opt_str(o, "role")
        .and_then(ParticipantRole::parse)
        .ok_or_else(|| ApiError::new(10038))?;
    let subject = req_str(o, "subject", MAX_FROM_LEN, 10054)?;
    Ok(Participant::new(app_type, &subject, role))
}

fn role_of(p: &Participant) -> Option<ParticipantRole> {
    p.role.as_deref().and_then(ParticipantRole::parse)
}

fn conversation_identifier(o: &Map<String, Value>) -> Result<String, ApiError> {
    req_str(o, "conversationIdentifier", MAX_ID_LEN, 10018)
}

fn channel_address(o: &Map<String, Value>, code: u32) -> Result<String, ApiError> {
    req_str(o, "channelAddressIdentifier", MAX_ID_LEN, code)
}

/// A 15- or 18-character messaging session id (`0Mw`), as its 15-character form (10012).
pub fn work_item_id(v: Option<&Value>) -> Result<String, ApiError> {
    let s = v.and_then(Value::as_str).map(str::trim).unwrap_or("");
    if (s.len() == 15 || s.len() == 18)
        && s.starts_with(prefix::MESSAGING_SESSION)
        && is_record_id(s)
    {
        Ok(s[..15].to_string())
    } else {
        Err(ApiError::new(10012))
    }
}

// ---- conversation entries -----------------------------------------------------------------------

/// Who may send an entry, which decides what it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryOrigin {
    /// An end user's message through `POST /interactions`: messages, typing indicators and
    /// delivery failures; messages only of the types an end user sends (10062).
    EndUserInteraction,
    /// A partner posting through `conversationEntry` or `conversationHistory`: any entry type.
    Partner,
}

/// A conversation entry ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub entry_id: String,
    pub entry_type: EntryType,
    pub sender: Participant,
    pub client_timestamp: i64,
    pub text: Option<String>,
    pub message_type: Option<MessageType>,
    pub format_type: Option<FormatType>,
    pub acknowledged_entry_id: Option<String>,
    /// The `AbstractEntry` as sent (or as byoc builds it for attachments).
    pub payload: Value,
}

/// What the payload of an entry says about itself.
#[derive(Debug, Clone, PartialEq)]
struct EntryFacts {
    id: String,
    entry_type: EntryType,
    text: Option<String>,
    message_type: Option<MessageType>,
    format_type: Option<FormatType>,
    acknowledged: Option<String>,
}

fn format_type_of(o: &Map<String, Value>, allowed: &[FormatType]) -> Result<FormatType, ApiError> {
    let f = opt_str(o, "formatType")
        .and_then(FormatType::parse)
        .ok_or_else(|| ApiError::new(10048))?;
    if allowed.contains(&f) {
        Ok(f)
    } else {
        Err(ApiError::new(10049))
    }
}

fn non_empty_array<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    code: u32,
) -> Result<&'a Vec<Value>, ApiError> {
    match o.get(key).and_then(Value::as_array) {
        Some(a) if !a.is_empty() => Ok(a),
        _ => Err(ApiError::new(code)),
    }
}

/// The message part of a `Message` entry: its type, format and the text worth showing.
fn validate_message(
    m: &Value,
    origin: EntryOrigin,
) -> Result<(MessageType, FormatType, Option<String>), ApiError> {
    let m = obj(m, 10045)?;
    match opt_str(m, "id").map(str::trim) {
        Some(id) if !id.is_empty() => {}
        _ => return Err(ApiError::new(10059)),
    }
    let message_type = opt_str(m, "messageType")
        .and_then(MessageType::parse)
        .ok_or_else(|| ApiError::new(10047))?;
    if origin == EntryOrigin::EndUserInteraction
        && !matches!(
            message_type,
            MessageType::StaticContentMessage
                | MessageType::ChoicesResponseMessage
                | MessageType::FormResponseMessage
        )
    {
        return Err(ApiError::new(10062));
    }
    let (content_key, allowed): (&str, &[FormatType]) = match message_type {
        MessageType::StaticContentMessage => (
            "staticContent",
            &[
                FormatType::Text,
                FormatType::Links,
                FormatType::ExperienceType,
                FormatType::Attachments,
            ],
        ),
        MessageType::ChoicesResponseMessage => ("choicesResponse", &[FormatType::Selections]),
        MessageType::FormResponseMessage => {
            ("formResponse", &[FormatType::Inputs, FormatType::Result])
        }
        MessageType::ChoicesMessage => (
            "choices",
            &[
                FormatType::Buttons,
                FormatType::Carousel,
                FormatType::QuickReplies,
                FormatType::ListPicker,
                FormatType::TimePicker,
                FormatType::MessageDefinition,
            ],
        ),
        MessageType::FormMessage => ("form", &[FormatType::Inputs, FormatType::MessageDefinition]),
    };
    let content = m.get(content_key).ok_or_else(|| ApiError::new(10045))?;
    let content = obj(content, 10045)?;
    let format = format_type_of(content, allowed)?;
    let text = match format {
        FormatType::Text => match content.get("text") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => return Err(ApiError::new(10045)),
        },
        FormatType::Attachments => {
            non_empty_array(content, "attachments", 10045)?;
            opt_str(content, "text").map(str::to_string)
        }
        FormatType::Links => {
            let links = non_empty_array(content, "links", 10045)?;
            links
                .first()
                .and_then(|l| l.get("url"))
                .and_then(Value::as_str)
                .map(str::to_string)
        }
        FormatType::Selections => {
            let options = non_empty_array(content, "selectedOptions", 10045)?;
            let titles: Vec<&str> = options
                .iter()
                .filter_map(|o| {
                    o.get("optionTitle")
                        .and_then(|t| t.get("title"))
                        .and_then(Value::as_str)
                        .or_else(|| o.get("optionIdentifier").and_then(Value::as_str))
                })
                .collect();
            (!titles.is_empty()).then(|| titles.join(", "))
        }
        FormatType::Buttons | FormatType::QuickReplies => content
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    };
    Ok((message_type, format, text))
}

fn validate_entry_payload(p: &Value, origin: EntryOrigin) -> Result<EntryFacts, ApiError> {
    let o = obj(p, 10045)?;
    let id = match opt_str(o, "id").map(str::trim) {
        Some(id) if !id.is_empty() && id.chars().count() <= MAX_ID_LEN => id.to_string(),
        _ => return Err(ApiError::new(10059)),
    };
    let entry_type = opt_str(o, "entryType")
        .and_then(EntryType::parse)
        .ok_or_else(|| ApiError::new(10045))?;
    let mut facts = EntryFacts {
        id,
        entry_type,
        text: None,
        message_type: None,
        format_type: None,
        acknowledged: None,
    };
    if origin == EntryOrigin::EndUserInteraction
        && !matches!(
            entry_type,
            EntryType::Message
                | EntryType::MessageDeliveryFailed
                | EntryType::TypingStartedIndicator
                | EntryType::TypingStoppedIndicator
        )
    {
        return Err(ApiError::new(10045));
    }
    match entry_type {
        EntryType::Message | EntryType::Note => {
            let m = o
                .get("abstractMessage")
                .ok_or_else(|| ApiError::new(10045))?;
            let (mt, ft, text) = validate_message(m, origin)?;
            facts.message_type = Some(mt);
            facts.format_type = Some(ft);
            facts.text = text;
        }
        EntryType::MessageDeliveryFailed => {
            let recipient = o.get("recipient").ok_or_else(|| ApiError::new(10045))?;
            obj(recipient, 10045)?;
            match o.get("errorCode") {
                Some(Value::String(_)) => {}
                _ => return Err(ApiError::new(10045)),
            }
            facts.text = opt_str(o, "errorMessage").map(str::to_string);
            facts.acknowledged =
                opt_str(o, "failedConversationEntryIdentifier").map(str::to_string);
        }
        EntryType::DeliveryAcknowledgement | EntryType::ReadAcknowledgement => {
            let acked = req_str(
                o,
                "acknowledgedConversationEntryIdentifier",
                MAX_ID_LEN,
                10045,
            )?;
            facts.acknowledged = Some(acked);
        }
        EntryType::TypingStartedIndicator | EntryType::TypingStoppedIndicator => {
            opt_int(o, "timestamp", 10046)?;
        }
        _ => {}
    }
    Ok(facts)
}

/// `timestamp`/`clientTimestamp`: a positive integer of milliseconds (10046).
fn client_timestamp(o: &Map<String, Value>, key: &str) -> Result<i64, ApiError> {
    match opt_int(o, key, 10046)? {
        Some(t) if t > 0 => Ok(t),
        _ => Err(ApiError::new(10046)),
    }
}

// ---- POST /interactions -------------------------------------------------------------------------

/// An uploaded file as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    pub size: u64,
    pub file_name: Option<String>,
    pub mime_type: String,
}

/// The attachment of an `AttachmentInteraction`, to be stored with the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentSpec {
    pub attachment_id: String,
    pub name: String,
    pub mime_type: String,
    pub size: u64,
}

/// A valid `POST /interactions` request.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidInteraction {
    pub from: String,
    pub to: String,
    pub routing_attributes: BTreeMap<String, String>,
    pub entry: NewEntry,
    pub attachment: Option<AttachmentSpec>,
}

/// `to` (10027) and `from` (10028) of the `json` part, checked first: the address must be
/// authorized before the rest of the body is looked at.
pub fn interaction_addresses(json: &Value) -> Result<(String, String), ApiError> {
    let o = obj(json, 10089)?;
    let to = req_str(o, "to", MAX_ID_LEN, 10027)?;
    let from = req_str(o, "from", MAX_FROM_LEN, 10028)?;
    Ok((to, from))
}

/// The whole `json` part with the uploaded files. `attachment_id` names the stored attachment if
/// the interaction is an `AttachmentInteraction`.
pub fn validate_interaction(
    json: &Value,
    files: &[FileFacts],
    attachment_id: &str,
) -> Result<ValidInteraction, ApiError> {
    let (to, from) = interaction_addresses(json)?;
    let o = obj(json, 10089)?;
    let routing_attributes = string_map(o, "routingAttributes")?;
    let list = o
        .get("interactions")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::new(10029))?;
    let interaction = match list.as_slice() {
        [] => return Err(ApiError::new(20003)),
        [one] => obj(one, 10029)?,
        _ => return Err(ApiError::new(10029)),
    };
    let kind = opt_str(interaction, "interactionType")
        .and_then(InteractionType::parse)
        .ok_or_else(|| ApiError::new(10029))?;
    let timestamp = client_timestamp(interaction, "timestamp")?;
    let sender = Participant::new(AppType::Custom, &from, ParticipantRole::EndUser);
    match kind {
        InteractionType::EntryInteraction => {
            if !files.is_empty() {
                return Err(ApiError::new(10011));
            }
            let payload = interaction
                .get("payload")
                .ok_or_else(|| ApiError::new(10045))?;
            let facts = validate_entry_payload(payload, EntryOrigin::EndUserInteraction)?;
            Ok(ValidInteraction {
                from,
                to,
                routing_attributes,
                entry: NewEntry {
                    entry_id: facts.id,
                    entry_type: facts.entry_type,
                    sender,
                    client_timestamp: timestamp,
                    text: facts.text,
                    message_type: facts.message_type,
                    format_type: facts.format_type,
                    acknowledged_entry_id: facts.acknowledged,
                    payload: payload.clone(),
                },
                attachment: None,
            })
        }
        InteractionType::AttachmentInteraction => {
            let index = opt_int(interaction, "attachmentIndex", 10011)?
                .ok_or_else(|| ApiError::new(10011))?;
            let file = match (files, index) {
                ([file], 0) => file,
                _ => return Err(ApiError::new(10011)),
            };
            if file.size == 0 {
                return Err(ApiError::new(10009));
            }
            if file.size > MAX_ATTACHMENT_BYTES {
                return Err(ApiError::new(10008));
            }
            let entry_id = match opt_str(interaction, "id").map(str::trim) {
                Some(id) if !id.is_empty() && id.chars().count() <= MAX_ID_LEN => id.to_string(),
                _ => return Err(ApiError::new(10007)),
            };
            let content_length = opt_int(interaction, "contentLength", 10010)?
                .ok_or_else(|| ApiError::new(10010))?;
            if u64::try_from(content_length).ok() != Some(file.size) {
                return Err(ApiError::new(10051));
            }
            let text = match interaction.get("text") {
                Some(Value::String(s)) => Some(s.clone()),
                None | Some(Value::Null) => None,
                Some(_) => return Err(ApiError::new(10045)),
            };
            let name = file
                .file_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("attachment-{entry_id}"));
            let attachment = AttachmentSpec {
                attachment_id: attachment_id.to_string(),
                name,
                mime_type: file.mime_type.clone(),
                size: file.size,
            };
            let payload = attachment_entry_payload(&entry_id, text.as_deref(), &attachment);
            Ok(ValidInteraction {
                from,
                to,
                routing_attributes,
                entry: NewEntry {
                    entry_id,
                    entry_type: EntryType::Message,
                    sender,
                    client_timestamp: timestamp,
                    text,
                    message_type: Some(MessageType::StaticContentMessage),
                    format_type: Some(FormatType::Attachments),
                    acknowledged_entry_id: None,
                    payload,
                },
                attachment: Some(attachment),
            })
        }
    }
}

/// Where the admin API serves an attachment's bytes.
pub fn attachment_url(attachment_id: &str) -> String {
    format!("/admin/v1/attachments/{attachment_id}")
}

/// The `Message` entry an attachment becomes: a `StaticContentMessage` in the `Attachments`
/// format, as Salesforce shows one to the agent.
pub fn attachment_entry_payload(entry_id: &str, text: Option<&str>, a: &AttachmentSpec) -> Value {
    let mut content = serde_json::json!({
        "formatType": "Attachments",
        "attachments": [{
            "id": a.attachment_id,
            "name": a.name,
            "mimeType": a.mime_type,
            "url": attachment_url(&a.attachment_id),
        }],
    });
    if let (Some(t), Some(map)) = (text, content.as_object_mut()) {
        map.insert("text".into(), Value::String(t.to_string()));
    }
    serde_json::json!({
        "id": entry_id,
        "entryType": "Message",
        "abstractMessage": {
            "id": entry_id,
            "messageType": "StaticContentMessage",
            "staticContent": content,
        },
    })
}

// ---- POST /attachment (byoc extension) -----------------------------------------------------------

/// A valid `POST /attachment` request (`postAttachmentRequestJson` + one `attachments` file).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidAttachment {
    pub conversation_identifier: String,
    pub entry: NewEntry,
    pub attachment: AttachmentSpec,
}

pub fn attachment_conversation(json: &Value) -> Result<String, ApiError> {
    conversation_identifier(obj(json, 10089)?)
}

pub fn validate_attachment(
    json: &Value,
    files: &[FileFacts],
    attachment_id: &str,
    now: i64,
) -> Result<ValidAttachment, ApiError> {
    let o = obj(json, 10089)?;
    let conversation_identifier = conversation_identifier(o)?;
    let file = match files {
        [file] => file,
        _ => return Err(ApiError::new(10011)),
    };
    if file.size == 0 {
        return Err(ApiError::new(10009));
    }
    if file.size > MAX_ATTACHMENT_BYTES {
        return Err(ApiError::new(10008));
    }
    let entry_id = match opt_str(o, "id").map(str::trim) {
        Some(id) if !id.is_empty() && id.chars().count() <= MAX_ID_LEN => id.to_string(),
        _ => return Err(ApiError::new(10007)),
    };
    if let Some(len) = opt_int(o, "contentLength", 10010)? {
        if u64::try_from(len).ok() != Some(file.size) {
            return Err(ApiError::new(10051));
        }
    }
    let sender = match o.get("sender") {
        Some(v) if !v.is_null() => participant(v)?,
        _ => Participant::new(AppType::Custom, "unknown", ParticipantRole::EndUser),
    };
    let client_timestamp = match opt_int(o, "clientTimestamp", 10046)? {
        Some(t) if t > 0 => t,
        Some(_) => return Err(ApiError::new(10046)),
        None => now,
    };
    let text = opt_str(o, "text").map(str::to_string);
    let name = file
        .file_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("attachment-{entry_id}"));
    let attachment = AttachmentSpec {
        attachment_id: attachment_id.to_string(),
        name,
        mime_type: file.mime_type.clone(),
        size: file.size,
    };
    let payload = attachment_entry_payload(&entry_id, text.as_deref(), &attachment);
    Ok(ValidAttachment {
        conversation_identifier,
        entry: NewEntry {
            entry_id,
            entry_type: EntryType::Message,
            sender,
            client_timestamp,
            text,
            message_type: Some(MessageType::StaticContentMessage),
            format_type: Some(FormatType::Attachments),
            acknowledged_entry_id: None,
            payload,
        },
        attachment,
    })
}

// ---- POST /conversation -------------------------------------------------------------------------

/// A valid `POST /conversation`: the end user to establish a conversation with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidConversation {
    pub channel_address: String,
    pub end_user_client_id: String,
    pub routing_attributes: BTreeMap<String, String>,
}

pub fn conversation_address(json: &Value) -> Result<String, ApiError> {
    channel_address(obj(json, 10089)?, 10052)
}

pub fn validate_conversation(json: &Value) -> Result<ValidConversation, ApiError> {
    let o = obj(json, 10089)?;
    let channel_address = channel_address(o, 10052)?;
    let participants = o
        .get("participants")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::new(10053))?;
    let p = match participants.as_slice() {
        [] => return Err(ApiError::new(10053)),
        [one] => participant(one)?,
        _ => return Err(ApiError::new(10044)),
    };
    if role_of(&p) != Some(ParticipantRole::EndUser) {
        return Err(ApiError::new(10042));
    }
    let routing_attributes = string_map(o, "routingAttributes")?;
    Ok(ValidConversation {
        channel_address,
        end_user_client_id: p.subject.unwrap_or_default(),
        routing_attributes,
    })
}

// ---- POST /conversationEntry --------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct ValidEntries {
    pub conversation_identifier: String,
    pub entries: Vec<NewEntry>,
}

pub fn entry_conversation(json: &Value) -> Result<String, ApiError> {
    conversation_identifier(obj(json, 10089)?)
}

pub fn validate_conversation_entry(json: &Value) -> Result<ValidEntries, ApiError> {
    let o = obj(json, 10089)?;
    let conversation_identifier = conversation_identifier(o)?;
    let sender = participant(o.get("sender").ok_or_else(|| ApiError::new(10089))?)?;
    let list = o
        .get("conversationEntries")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::new(10045))?;
    let entry = match list.as_slice() {
        [one] => obj(one, 10045)?,
        _ => return Err(ApiError::new(10089)),
    };
    let client_timestamp = client_timestamp(entry, "clientTimestamp")?;
    let payload = entry
        .get("entryPayload")
        .ok_or_else(|| ApiError::new(10045))?;
    let facts = validate_entry_payload(payload, EntryOrigin::Partner)?;
    Ok(ValidEntries {
        conversation_identifier,
        entries: vec![NewEntry {
            entry_id: facts.id,
            entry_type: facts.entry_type,
            sender,
            client_timestamp,
            text: facts.text,
            message_type: facts.message_type,
            format_type: facts.format_type,
            acknowledged_entry_id: facts.acknowledged,
            payload: payload.clone(),
        }],
    })
}

// ---- GET /conversationEntry ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryQuery {
    pub conversation_identifier: String,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub limit: i64,
    pub direction: DataDirection,
}

pub fn validate_entry_query(json: &Value) -> Result<EntryQuery, ApiError> {
    let o = obj(json, 10089)?;
    let conversation_identifier = conversation_identifier(o)?;
    let start_time = match opt_int(o, "startTime", 10090)? {
        Some(t) if t >= 0 => t,
        _ => return Err(ApiError::new(10090)),
    };
    let end_time = opt_int(o, "endTime", 10091)?;
    if end_time.is_some_and(|e| e < start_time) {
        return Err(ApiError::new(10091));
    }
    let limit = match opt_int(o, "limit", 10092)? {
        None => MAX_ENTRIES_PAGE,
        Some(l) if (1..=MAX_ENTRIES_PAGE).contains(&l) => l,
        Some(_) => return Err(ApiError::new(10092)),
    };
    let direction = match o.get("direction") {
        None | Some(Value::Null) => DataDirection::FromStart,
        Some(v) => v
            .as_str()
            .and_then(DataDirection::parse)
            .ok_or_else(|| ApiError::new(10089))?,
    };
    Ok(EntryQuery {
        conversation_identifier,
        start_time,
        end_time,
        limit,
        direction,
    })
}

// ---- POST /conversationHistory ------------------------------------------------------------------

/// How the history's messaging session is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistorySession {
    /// No `messagingSession`: the conversation's current session (created if needed).
    Current,
    /// `EstablishMessagingSession`: a new session with these times.
    Establish {
        start_time: i64,
        end_time: Option<i64>,
    },
    /// `AttachMessagingSession`: an existing session of the conversation.
    Attach { session_id: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidHistory {
    pub channel_address: String,
    pub end_user_client_id: String,
    pub entries: Vec<NewEntry>,
    pub session: HistorySession,
}

pub fn history_address(json: &Value) -> Result<String, ApiError> {
    channel_address(obj(json, 10089)?, 10078)
}

pub fn validate_history(json: &Value) -> Result<ValidHistory, ApiError> {
    let o = obj(json, 10089)?;
    let channel_address = channel_address(o, 10078)?;
    let participants = o
        .get("conversationParticipants")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::new(10078))?;
    if participants.is_empty() || participants.len() > MAX_HISTORY_PARTICIPANTS {
        return Err(ApiError::new(10078));
    }
    // (participant, joined, left)
    let mut people: Vec<(Participant, i64, Option<i64>)> = Vec::new();
    for p in participants {
        let po = obj(p, 10078)?;
        let who = participant(po.get("participant").ok_or_else(|| ApiError::new(10078))?)?;
        let joined = opt_int(po, "joinedTime", 10078)?.ok_or_else(|| ApiError::new(10078))?;
        let left = opt_int(po, "leftTime", 10078)?;
        match role_of(&who) {
            Some(ParticipantRole::EndUser) if left.is_some() => return Err(ApiError::new(10065)),
            Some(ParticipantRole::EndUser | ParticipantRole::Chatbot) => {}
            _ => return Err(ApiError::new(10043)),
        }
        if left.is_some_and(|l| l < joined) {
            return Err(ApiError::new(10067));
        }
        if people.iter().any(|(q, _, _)| q == &who) {
            return Err(ApiError::new(10101));
        }
        people.push((who, joined, left));
    }
    let end_users: Vec<&Participant> = people
        .iter()
        .map(|(p, _, _)| p)
        .filter(|p| role_of(p) == Some(ParticipantRole::EndUser))
        .collect();
    let end_user = match end_users.as_slice() {
        [] => return Err(ApiError::new(10042)),
        [one] => one.subject.clone().unwrap_or_default(),
        _ => return Err(ApiError::new(10044)),
    };
    let list = o
        .get("conversationEntries")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::new(10078))?;
    if list.is_empty() || list.len() > MAX_HISTORY_ENTRIES {
        return Err(ApiError::new(10078));
    }
    let mut entries: Vec<NewEntry> = Vec::with_capacity(list.len());
    for e in list {
        let eo = obj(e, 10078)?;
        let client_timestamp = client_timestamp(eo, "clientTimestamp")?;
        let sender = participant(eo.get("sender").ok_or_else(|| ApiError::new(10078))?)?;
        let (_, joined, left) = people
            .iter()
            .find(|(p, _, _)| p == &sender)
            .ok_or_else(|| ApiError::new(10068))?;
        if client_timestamp < *joined || left.is_some_and(|l| client_timestamp > l) {
            return Err(ApiError::new(10074));
        }
        let payload = eo.get("entryPayload").ok_or_else(|| ApiError::new(10078))?;
        let facts = validate_entry_payload(payload, EntryOrigin::Partner)?;
        if entries.iter().any(|x| x.entry_id == facts.id) {
            return Err(ApiError::new(10073));
        }
        entries.push(NewEntry {
            entry_id: facts.id,
            entry_type: facts.entry_type,
            sender,
            client_timestamp,
            text: facts.text,
            message_type: facts.message_type,
            format_type: facts.format_type,
            acknowledged_entry_id: facts.acknowledged,
            payload: payload.clone(),
        });
    }
    let session = match o.get("messagingSession") {
        None | Some(Value::Null) => HistorySession::Current,
        Some(s) => {
            let so = obj(s, 10078)?;
            let payload = so
                .get("payload")
                .and_then(Value::as_object)
                .ok_or_else(|| ApiError::new(10078))?;
            match opt_str(so, "messagingSessionRequestType") {
                Some("EstablishMessagingSession") => {
                    let start_time = match opt_int(payload, "startTime", 10061)? {
                        Some(t) if t > 0 => t,
                        _ => return Err(ApiError::new(10061)),
                    };
                    let end_time = opt_int(payload, "endTime", 10064)?;
                    if end_time.is_some_and(|e| e < start_time) {
                        return Err(ApiError::new(10064));
                    }
                    HistorySession::Establish {
                        start_time,
                        end_time,
                    }
                }
                Some("AttachMessagingSession") => {
                    let id = opt_str(payload, "sessionId").map(str::trim).unwrap_or("");
                    if !(id.len() == 15 || id.len() == 18)
                        || !id.starts_with(prefix::MESSAGING_SESSION)
                        || !is_record_id(id)
                    {
                        return Err(ApiError::new(10072));
                    }
                    HistorySession::Attach {
                        session_id: id[..15].to_string(),
                    }
                }
                _ => return Err(ApiError::new(10078)),
            }
        }
    };
    Ok(ValidHistory {
        channel_address,
        end_user_client_id: end_user,
        entries,
        session,
    })
}

// ---- POST /acknowledgement ----------------------------------------------------------------------

pub fn validate_acknowledgements(json: &Value) -> Result<ValidEntries, ApiError> {
    let o = obj(json, 10089)?;
    let conversation_identifier = conversation_identifier(o)?;
    let sender = participant(o.get("sender").ok_or_else(|| ApiError::new(10089))?)?;
    let list = o
        .get("acknowledgements")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::new(10089))?;
    if list.is_empty() || list.len() > MAX_ACKNOWLEDGEMENTS {
        return Err(ApiError::new(10089));
    }
    let mut entries: Vec<NewEntry> = Vec::with_capacity(list.len());
    for a in list {
        let ao = obj(a, 10089)?;
        let kind = opt_str(ao, "acknowledgementType")
            .and_then(AcknowledgementType::parse)
            .ok_or_else(|| ApiError::new(10089))?;
        let acked = req_str(
            ao,
            "acknowledgedConversationEntryIdentifier",
            MAX_ID_LEN,
            10059,
        )?;
        let created = req_str(
            ao,
            "acknowledgmentCreatedConversationEntryIdentifier",
            MAX_ID_LEN,
            10059,
        )?;
        let timestamp = match ao.get("acknowledgementTimestamp").and_then(int_value) {
            Some(t) if t > 0 => t,
            _ => return Err(ApiError::new(10046)),
        };
        if entries.iter().any(|e| e.entry_id == created) {
            return Err(ApiError::new(10073));
        }
        let entry_type = match kind {
            AcknowledgementType::Read => EntryType::ReadAcknowledgement,
            AcknowledgementType::Delivered => EntryType::DeliveryAcknowledgement,
        };
        let payload = serde_json::json!({
            "id": created,
            "entryType": entry_type.as_str(),
            "recipient": sender,
            "acknowledgedConversationEntryIdentifier": acked,
            "acknowledgementTimestamp": timestamp,
        });
        entries.push(NewEntry {
            entry_id: created,
            entry_type,
            sender: sender.clone(),
            client_timestamp: timestamp,
            text: None,
            message_type: None,
            format_type: None,
            acknowledged_entry_id: Some(acked),
            payload,
        });
    }
    Ok(ValidEntries {
        conversation_identifier,
        entries,
    })
}

// ---- POST /participant --------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidParticipantChange {
    pub conversation_identifier: String,
    pub participant: Participant,
    pub operation: ParticipantOperation,
}

pub fn validate_participant_change(json: &Value) -> Result<ValidParticipantChange, ApiError> {
    let o = obj(json, 10089)?;
    let conversation_identifier = conversation_identifier(o)?;
    let operation = opt_str(o, "operation")
        .and_then(ParticipantOperation::parse)
        .ok_or_else(|| ApiError::new(10097))?;
    let list = o
        .get("participants")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::new(10039))?;
    let participant = match list.as_slice() {
        [] => return Err(ApiError::new(10039)),
        [one] => participant(one)?,
        _ => return Err(ApiError::new(10089)),
    };
    Ok(ValidParticipantChange {
        conversation_identifier,
        participant,
        operation,
    })
}

// ---- POST/DELETE /route, POST /routingResult ----------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRoute {
    pub conversation_identifier: String,
    pub routing_type: RoutingType,
    pub queue_id: Option<String>,
    pub flow_id: Option<String>,
    pub fallback_queue_id: Option<String>,
    pub routing_attributes: BTreeMap<String, String>,
}

fn queue_id(v: Option<&str>) -> Result<Option<String>, ApiError> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(q) if q.starts_with(prefix::QUEUE) && is_record_id(q) => Ok(Some(q.to_string())),
        Some(_) => Err(ApiError::new(10032)),
    }
}

pub fn validate_route(json: &Value) -> Result<ValidRoute, ApiError> {
    let o = obj(json, 10089)?;
    let conversation_identifier = conversation_identifier(o)?;
    let routing_type = opt_str(o, "routingType")
        .and_then(RoutingType::parse)
        .ok_or_else(|| ApiError::new(10089))?;
    let mut route = ValidRoute {
        conversation_identifier,
        routing_type,
        queue_id: None,
        flow_id: None,
        fallback_queue_id: None,
        routing_attributes: BTreeMap::new(),
    };
    match o.get("routingInfo") {
        None | Some(Value::Null) => {}
        Some(info) => {
            let info = obj(info, 10089)?;
            route.routing_attributes = string_map(info, "routingAttributes")?;
            route.queue_id = queue_id(opt_str(info, "queueId"))?;
            match info.get("flow") {
                None | Some(Value::Null) => {}
                Some(flow) => {
                    let flow = obj(flow, 10024)?;
                    if route.queue_id.is_some() {
                        return Err(ApiError::new(10030));
                    }
                    let flow_id = opt_str(flow, "flowId")
                        .map(str::trim)
                        .filter(|s| !s.is_empty());
                    let fallback = queue_id(opt_str(flow, "queueId"))?;
                    match (flow_id, fallback) {
                        (Some(f), Some(q)) => {
                            route.flow_id = Some(f.to_string());
                            route.fallback_queue_id = Some(q);
                        }
                        _ => return Err(ApiError::new(10024)),
                    }
                }
            }
        }
    }
    Ok(route)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDeleteRoute {
    pub conversation_identifier: String,
    pub cancel_reason: Option<CancelReason>,
}

pub fn validate_delete_route(json: &Value) -> Result<ValidDeleteRoute, ApiError> {
    let o = obj(json, 10089)?;
    let conversation_identifier = conversation_identifier(o)?;
    let cancel_reason = match o.get("cancelReason") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(CancelReason::parse)
                .ok_or_else(|| ApiError::new(10089))?,
        ),
    };
    Ok(ValidDeleteRoute {
        conversation_identifier,
        cancel_reason,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRoutingResult {
    pub conversation_identifier: String,
    pub work_item_id: String,
    pub success: bool,
    pub externally_routed: bool,
    pub error_message: Option<String>,
    pub routing_type: Option<RoutingType>,
}

pub fn validate_routing_result(json: &Value) -> Result<ValidRoutingResult, ApiError> {
    let o = obj(json, 10089)?;
    let conversation_identifier = conversation_identifier(o)?;
    let work_item_id = work_item_id(o.get("workItemId"))?;
    let success = opt_bool(o, "success", 10089)?.ok_or_else(|| ApiError::new(10089))?;
    let externally_routed =
        opt_bool(o, "externallyRouted", 10089)?.ok_or_else(|| ApiError::new(10089))?;
    let error_message = opt_str(o, "errorMessage")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    match (success, &error_message) {
        (true, Some(_)) => return Err(ApiError::new(10033)),
        (false, None) => return Err(ApiError::new(10034)),
        _ => {}
    }
    let routing_type = match o.get("routingType") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(RoutingType::parse)
                .ok_or_else(|| ApiError::new(10089))?,
        ),
    };
    Ok(ValidRoutingResult {
        conversation_identifier,
        work_item_id,
        success,
        externally_routed,
        error_message,
        routing_type,
    })
}

// ---- POST/PATCH /agentWork ----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct ValidAgentWork {
    pub user_id: String,
    pub work_item_id: String,
    pub capacity_weight: Option<f64>,
    pub capacity_percentage: Option<f64>,
    pub routing_type: Option<RoutingType>,
    pub routing_correlation_id: Option<String>,
    pub conversation_identifier: Option<String>,
}

pub fn validate_agent_work(json: &Value) -> Result<ValidAgentWork, ApiError> {
    let o = obj(json, 10089)?;
    let user_id = req_str(o, "userId", MAX_ID_LEN, 15106)?;
    let work_item_id = work_item_id(o.get("workItemId"))?;
    let capacity_weight = opt_f64(o, "capacityWeight", 10014)?;
    let capacity_percentage = opt_f64(o, "capacityPercentage", 10015)?;
    if capacity_weight.is_some() && capacity_percentage.is_some() {
        return Err(ApiError::new(10013));
    }
    if capacity_weight.is_some_and(|w| w < 0.0) {
        return Err(ApiError::new(10014));
    }
    if capacity_percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
        return Err(ApiError::new(10015));
    }
    if let Some(list) = o.get("agentActionVisibilities") {
        let list = list.as_array().ok_or_else(|| ApiError::new(10089))?;
        for item in list {
            let io = obj(item, 10089)?;
            opt_str(io, "agentAction")
                .and_then(AgentAction::parse)
                .ok_or_else(|| ApiError::new(10089))?;
            opt_bool(io, "visible", 10089)?.ok_or_else(|| ApiError::new(10089))?;
        }
    }
    let (mut routing_type, mut routing_correlation_id, mut conversation_identifier) =
        (None, None, None);
    if let Some(ctx) = o.get("routingContext").filter(|v| !v.is_null()) {
        let co = obj(ctx, 10089)?;
        conversation_identifier = Some(req_str(co, "conversationIdentifier", MAX_ID_LEN, 10018)?);
        routing_type = Some(
            opt_str(co, "routingType")
                .and_then(RoutingType::parse)
                .ok_or_else(|| ApiError::new(10089))?,
        );
        routing_correlation_id = Some(req_str(co, "routingCorrelationId", MAX_ID_LEN, 10089)?);
    }
    Ok(ValidAgentWork {
        user_id,
        work_item_id,
        capacity_weight,
        capacity_percentage,
        routing_type,
        routing_correlation_id,
        conversation_identifier,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAgentWorkUpdate {
    pub work_id: String,
    pub context_type: AgentWorkContextType,
    pub status: AgentWorkStatus,
    pub work_item_id: Option<String>,
    pub bot_id: Option<String>,
}

pub fn validate_agent_work_update(json: &Value) -> Result<ValidAgentWorkUpdate, ApiError> {
    let o = obj(json, 10089)?;
    let work_id = opt_str(o, "workId").map(str::trim).unwrap_or("");
    if !(work_id.len() == 15 || work_id.len() == 18) || !is_record_id(work_id) {
        return Err(ApiError::new(10082));
    }
    let context_type = opt_str(o, "contextType")
        .and_then(AgentWorkContextType::parse)
        .ok_or_else(|| ApiError::new(10083))?;
    let status = opt_str(o, "status")
        .and_then(AgentWorkStatus::parse)
        .ok_or_else(|| ApiError::new(10085))?;
    let (mut work_item, mut bot_id) = (None, None);
    if context_type == AgentWorkContextType::Chatbot {
        work_item = Some(work_item_id(o.get("workItemId"))?);
        bot_id = Some(req_str(o, "botId", MAX_ID_LEN, 10084)?);
    }
    Ok(ValidAgentWorkUpdate {
        work_id: work_id[..15].to_string(),
        context_type,
        status,
        work_item_id: work_item,
        bot_id,
    })
}

// ---- PATCH /consent -----------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidConsent {
    pub channel_address: String,
    pub end_user_client_id: String,
    pub status: ConsentStatus,
}

pub fn consent_address(json: &Value) -> Result<String, ApiError> {
    channel_address(obj(json, 10089)?, 10017)
}

pub fn validate_consent(
    json: &Value,
    ccd: &ConversationChannelDefinition,
) -> Result<ValidConsent, ApiError> {
    let o = obj(json, 10089)?;
    let channel_address = channel_address(o, 10017)?;
    let end_user_client_id = req_str(o, "endUserClientId", MAX_ID_LEN, 10020)?;
    let status = opt_str(o, "consentStatus")
        .and_then(ConsentStatus::parse)
        .ok_or_else(|| ApiError::new(10021))?;
    if ccd.consent_owner != byoc_proto::setup::Owner::Partner {
        return Err(ApiError::new(10022));
    }
    Ok(ValidConsent {
        channel_address,
        end_user_client_id,
        status,
    })
}

// ---- PATCH /capabilities ------------------------------------------------------------------------

/// Checks a `CapabilitiesRequest` against the authorizing CCD; the stored form is the
/// `capabilities` object as sent.
pub fn validate_capabilities(json: &Value, ccd_developer_name: &str) -> Result<Value, ApiError> {
    let o = obj(json, 10089)?;
    let caps = o.get("capabilities").ok_or_else(|| ApiError::new(10089))?;
    let co = obj(caps, 10089)?;
    opt_str(co, "appType")
        .and_then(AppType::parse)
        .ok_or_else(|| ApiError::new(10037))?;
    let channels = non_empty_array(co, "channelCapabilities", 10089)?;
    for ch in channels {
        let cho = obj(ch, 10089)?;
        if let Some(t) = cho.get("channelType").filter(|v| !v.is_null()) {
            if t.as_str() != Some("custom") {
                return Err(ApiError::new(10035));
            }
        }
        if let Some(ci) = cho.get("customIntegration").filter(|v| !v.is_null()) {
            let cio = obj(ci, 10050)?;
            match opt_str(cio, "customIntegrationType") {
                Some("CustomChannelIntegration") => {
                    let dev = opt_str(cio, "conversationChannelDefinitionDevName").unwrap_or("");
                    if !dev.eq_ignore_ascii_case(ccd_developer_name)
                        || opt_str(cio, "integrationNamespace").is_none()
                    {
                        return Err(ApiError::new(10050));
                    }
                }
                Some("CustomBotIntegration") => {
                    if opt_str(cio, "extConvParticipantIntegDefDevName").is_none()
                        || opt_str(cio, "integrationNamespace").is_none()
                    {
                        return Err(ApiError::new(10050));
                    }
                }
                _ => return Err(ApiError::new(10050)),
            }
        }
        for mt in non_empty_array(cho, "messageTypeCapabilities", 10089)? {
            let mto = obj(mt, 10089)?;
            opt_str(mto, "messageType")
                .and_then(MessageType::parse)
                .ok_or_else(|| ApiError::new(10047))?;
            for ft in non_empty_array(mto, "formatTypeCapabilities", 10089)? {
                let fto = obj(ft, 10089)?;
                opt_str(fto, "formatType")
                    .and_then(FormatType::parse)
                    .ok_or_else(|| ApiError::new(10048))?;
            }
        }
        if let Some(list) = cho
            .get("progressIndicatorTypeCapabilities")
            .filter(|v| !v.is_null())
        {
            let list = list.as_array().ok_or_else(|| ApiError::new(10098))?;
            for pi in list {
                let pio = obj(pi, 10098)?;
                opt_str(pio, "progressIndicatorType")
                    .and_then(ProgressIndicatorType::parse)
                    .ok_or_else(|| ApiError::new(10098))?;
                let formats = pio
                    .get("formatTypeCapabilities")
                    .and_then(Value::as_array)
                    .ok_or_else(|| ApiError::new(10098))?;
                for ft in formats {
                    let fto = obj(ft, 10098)?;
                    opt_str(fto, "formatType")
                        .and_then(FormatType::parse)
                        .ok_or_else(|| ApiError::new(10048))?;
                }
            }
        }
    }
    Ok(caps.clone())
}

// ---- POST /messagingSession ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSessionOperation {
    pub channel_address: String,
    pub end_user_client_id: String,
    pub conversation_identifier: String,
    pub session_id: Option<String>,
    pub operation: MessagingSessionOperation,
    pub operation_by: MessagingSessionOperationBy,
}

pub fn session_address(json: &Value) -> Result<String, ApiError> {
    channel_address(obj(json, 10089)?, 10017)
}

pub fn validate_session_operation(json: &Value) -> Result<ValidSessionOperation, ApiError> {
    let o = obj(json, 10089)?;
    let channel_address = channel_address(o, 10017)?;
    let end_user_client_id = req_str(o, "endUserClientId", MAX_ID_LEN, 10020)?;
    let conversation_identifier = conversation_identifier(o)?;
    let operation = opt_str(o, "operation")
        .and_then(MessagingSessionOperation::parse)
        .ok_or_else(|| ApiError::new(10102))?;
    let operation_by = match o.get("operationBy") {
        None | Some(Value::Null) => MessagingSessionOperationBy::System,
        Some(v) => v
            .as_str()
            .and_then(MessagingSessionOperationBy::parse)
            .ok_or_else(|| ApiError::new(10103))?,
    };
    let session_id = match opt_str(o, "sessionId")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s)
            if (s.len() == 15 || s.len() == 18)
                && s.starts_with(prefix::MESSAGING_SESSION)
                && is_record_id(s) =>
        {
            Some(s[..15].to_string())
        }
        Some(_) => return Err(ApiError::new(10072)),
    };
    if operation == MessagingSessionOperation::Inactivate && session_id.is_none() {
        return Err(ApiError::new(10106));
    }
    Ok(ValidSessionOperation {
        channel_address,
        end_user_client_id,
        conversation_identifier,
        session_id,
        operation,
        operation_by,
    })
}

#[cfg(test)]
mod tests;
