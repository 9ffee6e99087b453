//! A client of the Interaction Service API (`specs/inbound-interaction-api.yaml`, under
//! `/api/v1` of `SF_SCRT_INSTANCE_URL`), for byoc and real Salesforce alike.
//!
//! - every operation as a typed method, with the request bodies of
//!   [`byoc_proto::interaction_requests`] and the responses of [`byoc_proto::interaction`];
//!   `POST /interactions` and `POST /attachment` go as multipart (`json` part, `attachments`
//!   file), the rest as JSON;
//! - the headers filled in: `Authorization: Bearer`, `OrgId`, `AuthorizationContext`, a fresh
//!   UUID `RequestId` per request, and `AuthorizationContextType` on the operations whose spec
//!   has it;
//! - refusals as [`InteractionError::Api`] with Salesforce's `{code, message}`
//!   (`specs/interaction-api-error-codes.md`);
//! - one retry with a new token after code 10004 or an HTTP 401 (the token expired or was
//!   revoked): the token source is told to drop the refused token first.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use byoc_client::interaction::InteractionClient;
//! use byoc_client::settings::PartnerSettings;
//! use byoc_client::token::TokenProvider;
//!
//! let settings = PartnerSettings::from_env_file(".byoc/partner.env")?;
//! let tokens = Arc::new(TokenProvider::from_settings(settings.jwt_bearer()?)?);
//! let client = InteractionClient::new(settings.interaction()?, tokens)?;
//! let sent = client
//!     .send_text(settings.channel_address()?, settings.end_user()?, "Hello from the SDK")
//!     .await?;
//! println!("conversation {} entry {}", sent.conversation_identifier, sent.id);
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use byoc_proto::interaction::headers::{
    AUTHORIZATION_CONTEXT, AUTHORIZATION_CONTEXT_TYPE, ORG_ID, REQUEST_ID,
};
use byoc_proto::interaction::{
    AddConversationHistoryResponse, AgentWorkResponse, AuthorizationContextType,
    GetConversationEntriesResponse, PostAttachmentResponse, PostConversationResponse,
    PostInteractionResponse, PostMessagingSessionResponse, PostRouteResponse, SuccessResponse,
};
use byoc_proto::interaction_requests::{
    AcknowledgementRequest, AddConversationHistoryRequest, AgentWorkRequest, AttachmentInteraction,
    CapabilitiesRequest, ConsentRequest, DeleteRouteRequest, EntryPayload,
    GetConversationEntriesRequest, Interaction, InteractionRequest, PatchAgentWorkRequest,
    PostAttachmentRequest, PostConversationEntryRequest, PostConversationRequest,
    PostMessagingSessionRequest, PostParticipantRequest, PostRouteRequest, RoutingResultRequest,
};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::token::{AccessTokenSource, TokenError};

/// Interaction API error codes a client acts on (`specs/interaction-api-error-codes.md`).
pub mod codes {
    /// The `AuthorizationContext` isn't valid for the `to` / `channelAddressIdentifier`: the
    /// address belongs to another CCD's channel.
    pub const ADDRESS_NOT_IN_CONTEXT: u32 = 10001;
    /// The access token lacks the `interaction_api` scope.
    pub const MISSING_SCOPE: u32 = 10003;
    /// The access token is not valid (expired, revoked, another org's).
    pub const INVALID_TOKEN: u32 = 10004;
    /// The `AuthorizationContext` (CCD) is not linked to the token's app.
    pub const CONTEXT_NOT_AUTHORIZED: u32 = 10005;
    /// A header is missing or malformed (e.g. an 18-character `OrgId`).
    pub const INVALID_HEADER: u32 = 10016;
    /// The `channelAddressIdentifier` does not exist.
    pub const UNKNOWN_ADDRESS: u32 = 10017;
    /// The conversation identifier is not valid.
    pub const UNKNOWN_CONVERSATION: u32 = 10018;
    /// The CCD named by `AuthorizationContext` does not exist.
    pub const UNKNOWN_CONTEXT: u32 = 10026;
    /// The channel is not active.
    pub const INACTIVE_ADDRESS: u32 = 10031;
}

/// Response header in which byoc returns the id under which it logged a server-side failure.
pub const ERROR_ID_HEADER: &str = "X-Byoc-Error-Id";

/// How long one request may take; attachments of 25 MB included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_SNIPPET_CHARS: usize = 300;

/// Where the Interaction API is and what every request is authorized by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionSettings {
    /// `SF_SCRT_INSTANCE_URL`, e.g. `http://127.0.0.1:8085` or
    /// `https://<my-domain>.my.salesforce-scrt.com`.
    pub scrt_url: String,
    /// `SF_ORG_ID`: the 15-character org id (`OrgId` header).
    pub org_id: String,
    /// `SF_AUTHORIZATION_CONTEXT`: the CCD developer name (`AuthorizationContext` header).
    pub authorization_context: String,
    /// Sent as `AuthorizationContextType` on the operations whose spec has the header;
    /// `None` never sends it.
    pub authorization_context_type: Option<AuthorizationContextType>,
}

impl InteractionSettings {
    /// Settings with `AuthorizationContextType: ConversationChannelDefinition`.
    pub fn new(scrt_url: &str, org_id: &str, authorization_context: &str) -> InteractionSettings {
        InteractionSettings {
            scrt_url: scrt_url.to_string(),
            org_id: org_id.to_string(),
            authorization_context: authorization_context.to_string(),
            authorization_context_type: Some(
                AuthorizationContextType::ConversationChannelDefinition,
            ),
        }
    }
}

/// Why an Interaction API call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteractionError {
    /// The API refused with Salesforce's `{code, message}`.
    #[error("{message} (code {code}, HTTP {status})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The Interaction API error code, e.g. 10004.
        code: u32,
        /// The code's message.
        message: String,
        /// The `RequestId` the request carried (to quote to support).
        request_id: String,
        /// byoc's `X-Byoc-Error-Id`, when the server logged a failure.
        error_id: Option<String>,
    },
    /// An error status without the `{code, message}` body (a proxy, a different server).
    #[error("HTTP {status} from {url}: {body}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The request URL.
        url: String,
        /// The start of the body.
        body: String,
    },
    /// No access token to send.
    #[error("can't get an access token: {0}")]
    Token(#[from] TokenError),
    /// No answer: server down, wrong URL, timeout.
    #[error("{0}")]
    Transport(String),
    /// A success status with a body that is not the operation's response.
    #[error("{0}")]
    Decode(String),
    /// Unusable settings or input (a bad URL, an unreadable attachment).
    #[error("{0}")]
    Invalid(String),
}

impl InteractionError {
    /// The Interaction API error code of an [`InteractionError::Api`] error.
    pub fn code(&self) -> Option<u32> {
        match self {
            InteractionError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            InteractionError::Api { status, .. } | InteractionError::Http { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// The refused token is worth replacing: code 10004, or a 401 that is not about the scope.
    fn is_invalid_token(&self) -> bool {
        self.code() == Some(codes::INVALID_TOKEN)
            || (self.status() == Some(401) && self.code() != Some(codes::MISSING_SCOPE))
    }
}

/// A file to send with `POST /interactions` or `POST /attachment`.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    /// The file name the part carries.
    pub file_name: String,
    /// The part's `Content-Type`.
    pub mime_type: String,
    /// The content.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for AttachmentFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentFile")
            .field("file_name", &self.file_name)
            .field("mime_type", &self.mime_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl AttachmentFile {
    /// A file from memory; the MIME type is guessed from the name.
    pub fn new(file_name: impl Into<String>, bytes: Vec<u8>) -> AttachmentFile {
        let file_name = file_name.into();
        AttachmentFile {
            mime_type: guess_mime_type(&file_name).to_string(),
            file_name,
            bytes,
        }
    }

    /// Read a file; its name and a MIME type guessed from the extension go with it.
    pub async fn from_path(path: impl AsRef<Path>) -> Result<AttachmentFile, InteractionError> {
        let path = path.as_ref();
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            InteractionError::Invalid(format!("can't read {}: {e}", path.display()))
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "attachment".to_string());
        Ok(AttachmentFile::new(name, bytes))
    }

    /// Replace the guessed MIME type.
    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> AttachmentFile {
        self.mime_type = mime_type.into();
        self
    }
}

/// A MIME type for common file extensions; `application/octet-stream` otherwise.
pub fn guess_mime_type(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// Which typing indicator to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Typing {
    /// `TypingStartedIndicator`.
    Started,
    /// `TypingStoppedIndicator`.
    Stopped,
}

/// How an operation is called.
struct Operation {
    method: Method,
    path: &'static str,
    /// The spec lists `AuthorizationContextType` for this operation.
    context_type: bool,
}

impl Operation {
    const fn new(method: Method, path: &'static str, context_type: bool) -> Operation {
        Operation {
            method,
            path,
            context_type,
        }
    }
}

/// A request body that can be sent again (for the retry after a refused token).
enum Body {
    Json(Vec<u8>),
    Multipart(Vec<FilePart>),
}

struct FilePart {
    name: &'static str,
    bytes: Vec<u8>,
    file_name: Option<String>,
    mime_type: String,
}

/// A client of one org's Interaction API, authorized by one CCD.
#[derive(Clone)]
pub struct InteractionClient {
    http: reqwest::Client,
    base_url: Url,
    settings: InteractionSettings,
    tokens: Arc<dyn AccessTokenSource>,
}

impl fmt::Debug for InteractionClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InteractionClient")
            .field("base_url", &self.base_url.as_str())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Epoch milliseconds now (the partner's wall clock, for `timestamp` fields).
#[allow(clippy::disallowed_methods)]
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A fresh UUID, the form entry ids and `RequestId`s take.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl InteractionClient {
    /// A client for `settings`, taking access tokens from `tokens` (a
    /// [`crate::token::TokenProvider`] or a [`crate::token::StaticAccessToken`]).
    pub fn new(
        settings: InteractionSettings,
        tokens: Arc<dyn AccessTokenSource>,
    ) -> Result<InteractionClient, InteractionError> {
        let mut base_url = Url::parse(settings.scrt_url.trim()).map_err(|e| {
            InteractionError::Invalid(format!(
                "the Interaction API URL {:?} is not a URL: {e}",
                settings.scrt_url
            ))
        })?;
        if base_url.cannot_be_a_base() || !matches!(base_url.scheme(), "http" | "https") {
            return Err(InteractionError::Invalid(format!(
                "the Interaction API URL {:?} must be an http(s) URL",
                settings.scrt_url
            )));
        }
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("byoc-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                InteractionError::Transport(format!("can't set up the HTTP client: {e}"))
            })?;
        Ok(InteractionClient {
            http,
            base_url,
            settings,
            tokens,
        })
    }

    /// The settings requests are made with.
    pub fn settings(&self) -> &InteractionSettings {
        &self.settings
    }

    // ---- POST /interactions ---------------------------------------------------------------------

    /// `POST /interactions`: one interaction, and the file its `AttachmentInteraction` describes.
    pub async fn send_interaction(
        &self,
        request: &InteractionRequest,
        attachment: Option<&AttachmentFile>,
    ) -> Result<PostInteractionResponse, InteractionError> {
        let mut parts = vec![FilePart {
            name: "json",
            bytes: to_json(request)?,
            file_name: None,
            mime_type: "application/json".into(),
        }];
        if let Some(file) = attachment {
            parts.push(FilePart {
                name: "attachments",
                bytes: file.bytes.clone(),
                file_name: Some(file.file_name.clone()),
                mime_type: file.mime_type.clone(),
            });
        }
        self.call(
            Operation::new(Method::POST, "interactions", false),
            Body::Multipart(parts),
        )
        .await
    }

    /// A text message from the end user `from` to the channel address `to`, with a new entry id.
    pub async fn send_text(
        &self,
        to: &str,
        from: &str,
        text: &str,
    ) -> Result<PostInteractionResponse, InteractionError> {
        let now = now_millis();
        let request = InteractionRequest::new(
            to,
            from,
            Interaction::entry(now, EntryPayload::text(new_id(), text)),
        );
        self.send_interaction(&request, None).await
    }

    /// A typing indicator from the end user `from` to the channel address `to`.
    pub async fn send_typing(
        &self,
        to: &str,
        from: &str,
        typing: Typing,
    ) -> Result<PostInteractionResponse, InteractionError> {
        let now = now_millis();
        let payload = match typing {
            Typing::Started => EntryPayload::typing_started(new_id(), now),
            Typing::Stopped => EntryPayload::typing_stopped(new_id(), now),
        };
        let request = InteractionRequest::new(to, from, Interaction::entry(now, payload));
        self.send_interaction(&request, None).await
    }

    /// A file (with optional text) from the end user `from` to the channel address `to`, as an
    /// `AttachmentInteraction` with a new entry id.
    pub async fn send_attachment(
        &self,
        to: &str,
        from: &str,
        file: &AttachmentFile,
        text: Option<&str>,
    ) -> Result<PostInteractionResponse, InteractionError> {
        let interaction = Interaction::AttachmentInteraction(AttachmentInteraction {
            timestamp: now_millis(),
            id: new_id(),
            attachment_index: 0,
            content_length: file.bytes.len() as u64,
            text: text.map(str::to_string),
        });
        let request = InteractionRequest::new(to, from, interaction);
        self.send_interaction(&request, Some(file)).await
    }

    /// `POST /attachment` (byoc's extension, see docs/interaction-api.md): a file into an
    /// existing conversation.
    pub async fn post_attachment(
        &self,
        request: &PostAttachmentRequest,
        file: &AttachmentFile,
    ) -> Result<PostAttachmentResponse, InteractionError> {
        let parts = vec![
            FilePart {
                name: "postAttachmentRequestJson",
                bytes: to_json(request)?,
                file_name: None,
                mime_type: "application/json".into(),
            },
            FilePart {
                name: "attachments",
                bytes: file.bytes.clone(),
                file_name: Some(file.file_name.clone()),
                mime_type: file.mime_type.clone(),
            },
        ];
        self.call(
            Operation::new(Method::POST, "attachment", false),
            Body::Multipart(parts),
        )
        .await
    }

    // ---- conversations and entries --------------------------------------------------------------

    /// `POST /conversation`: establish a conversation with an end user.
    pub async fn establish_conversation(
        &self,
        request: &PostConversationRequest,
    ) -> Result<PostConversationResponse, InteractionError> {
        self.json(Operation::new(Method::POST, "conversation", false), request)
            .await
    }

    /// `POST /conversationEntry`: add an entry to a conversation.
    pub async fn post_conversation_entry(
        &self,
        request: &PostConversationEntryRequest,
    ) -> Result<SuccessResponse, InteractionError> {
        self.json(
            Operation::new(Method::POST, "conversationEntry", true),
            request,
        )
        .await
    }

    /// `GET /conversationEntry` (with the request as its JSON body, as the spec has it).
    pub async fn conversation_entries(
        &self,
        request: &GetConversationEntriesRequest,
    ) -> Result<GetConversationEntriesResponse, InteractionError> {
        self.json(
            Operation::new(Method::GET, "conversationEntry", true),
            request,
        )
        .await
    }

    /// `POST /conversationHistory` (BYOC for CCaaS).
    pub async fn add_conversation_history(
        &self,
        request: &AddConversationHistoryRequest,
    ) -> Result<AddConversationHistoryResponse, InteractionError> {
        self.json(
            Operation::new(Method::POST, "conversationHistory", true),
            request,
        )
        .await
    }

    /// `POST /acknowledgement`: read and delivery receipts.
    pub async fn acknowledge(
        &self,
        request: &AcknowledgementRequest,
    ) -> Result<SuccessResponse, InteractionError> {
        self.json(
            Operation::new(Method::POST, "acknowledgement", false),
            request,
        )
        .await
    }

    /// `POST /participant`: remove a participant from a conversation.
    pub async fn change_participant(
        &self,
        request: &PostParticipantRequest,
    ) -> Result<SuccessResponse, InteractionError> {
        self.json(Operation::new(Method::POST, "participant", false), request)
            .await
    }

    // ---- routing and agent work -----------------------------------------------------------------

    /// `POST /route`: ask Salesforce to route the conversation.
    pub async fn route(
        &self,
        request: &PostRouteRequest,
    ) -> Result<PostRouteResponse, InteractionError> {
        self.json(Operation::new(Method::POST, "route", true), request)
            .await
    }

    /// `DELETE /route`: cancel the pending route.
    pub async fn delete_route(
        &self,
        request: &DeleteRouteRequest,
    ) -> Result<SuccessResponse, InteractionError> {
        self.json(Operation::new(Method::DELETE, "route", false), request)
            .await
    }

    /// `POST /routingResult`: the result of routing done by the partner.
    pub async fn routing_result(
        &self,
        request: &RoutingResultRequest,
    ) -> Result<SuccessResponse, InteractionError> {
        self.json(
            Operation::new(Method::POST, "routingResult", false),
            request,
        )
        .await
    }

    /// `POST /agentWork`: assign the work item to an agent.
    pub async fn create_agent_work(
        &self,
        request: &AgentWorkRequest,
    ) -> Result<AgentWorkResponse, InteractionError> {
        self.json(Operation::new(Method::POST, "agentWork", false), request)
            .await
    }

    /// `PATCH /agentWork`: accept, close, decline or cancel an agent work.
    pub async fn update_agent_work(
        &self,
        request: &PatchAgentWorkRequest,
    ) -> Result<SuccessResponse, InteractionError> {
        self.json(Operation::new(Method::PATCH, "agentWork", true), request)
            .await
    }

    // ---- consent, capabilities, sessions --------------------------------------------------------

    /// `PATCH /consent`: the end user's consent status.
    pub async fn update_consent(
        &self,
        request: &ConsentRequest,
    ) -> Result<SuccessResponse, InteractionError> {
        self.json(Operation::new(Method::PATCH, "consent", false), request)
            .await
    }

    /// `PATCH /capabilities`: register what the channel can render.
    pub async fn register_capabilities(
        &self,
        request: &CapabilitiesRequest,
    ) -> Result<SuccessResponse, InteractionError> {
        self.json(Operation::new(Method::PATCH, "capabilities", true), request)
            .await
    }

    /// `POST /messagingSession`: end or inactivate a messaging session.
    pub async fn messaging_session(
        &self,
        request: &PostMessagingSessionRequest,
    ) -> Result<PostMessagingSessionResponse, InteractionError> {
        self.json(
            Operation::new(Method::POST, "messagingSession", false),
            request,
        )
        .await
    }

    // ---- plumbing -------------------------------------------------------------------------------

    /// The URL of `/api/v1/<path>`.
    pub fn operation_url(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["api", "v1", path]);
        }
        url
    }

    async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        operation: Operation,
        request: &B,
    ) -> Result<T, InteractionError> {
        self.call(operation, Body::Json(to_json(request)?)).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        operation: Operation,
        body: Body,
    ) -> Result<T, InteractionError> {
        let url = self.operation_url(operation.path);
        let mut retried = false;
        loop {
            let token = self.tokens.access_token().await?;
            let request_id = new_id();
            let mut request = self
                .http
                .request(operation.method.clone(), url.clone())
                .bearer_auth(&token)
                .header(ORG_ID, &self.settings.org_id)
                .header(AUTHORIZATION_CONTEXT, &self.settings.authorization_context)
                .header(REQUEST_ID, &request_id);
            if operation.context_type {
                if let Some(kind) = self.settings.authorization_context_type {
                    request = request.header(AUTHORIZATION_CONTEXT_TYPE, kind.as_str());
                }
            }
            request = match &body {
                Body::Json(bytes) => request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(bytes.clone()),
                Body::Multipart(parts) => request.multipart(form(parts)?),
            };
            let outcome = match request.send().await {
                Ok(response) => read(response, &request_id).await,
                Err(e) => Err(transport_error(&url, &e)),
            };
            match outcome {
                Err(e) if !retried && e.is_invalid_token() => {
                    self.tokens.invalidate(&token).await;
                    retried = true;
                }
                other => return other,
            }
        }
    }
}

fn to_json<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>, InteractionError> {
    serde_json::to_vec(body)
        .map_err(|e| InteractionError::Invalid(format!("can't encode the request: {e}")))
}

fn form(parts: &[FilePart]) -> Result<Form, InteractionError> {
    let mut form = Form::new();
    for p in parts {
        let mut part = Part::bytes(p.bytes.clone());
        if let Some(name) = &p.file_name {
            part = part.file_name(name.clone());
        }
        let part = part.mime_str(&p.mime_type).map_err(|e| {
            InteractionError::Invalid(format!("{:?} is not a MIME type: {e}", p.mime_type))
        })?;
        form = form.part(p.name, part);
    }
    Ok(form)
}

/// `{code, message}` at the top or, for `consent`/`capabilities`/`acknowledgement`, in
/// `errorDetail`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorAnswer {
    code: Option<u32>,
    message: Option<String>,
    error_detail: Option<byoc_proto::interaction::ErrorBody>,
}

async fn read<T: DeserializeOwned>(
    response: reqwest::Response,
    request_id: &str,
) -> Result<T, InteractionError> {
    let status = response.status();
    let url = response.url().to_string();
    let error_id = response
        .headers()
        .get(ERROR_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.map_err(|e| {
        InteractionError::Transport(format!("reading the answer of {url}: {}", root_cause(&e)))
    })?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| {
            InteractionError::Decode(format!(
                "unexpected answer from {url} (HTTP {status}): {e}; body: {}",
                snippet(&bytes)
            ))
        });
    }
    let coded = serde_json::from_slice::<ErrorAnswer>(&bytes)
        .ok()
        .and_then(|a| match (a.code, a.message, a.error_detail) {
            (Some(code), Some(message), _) => Some((code, message)),
            (_, _, Some(detail)) => Some((detail.code, detail.message)),
            _ => None,
        });
    match coded {
        Some((code, message)) => Err(InteractionError::Api {
            status: status.as_u16(),
            code,
            message,
            request_id: request_id.to_string(),
            error_id,
        }),
        None => Err(InteractionError::Http {
            status: status.as_u16(),
            url,
            body: snippet(&bytes),
        }),
    }
}

fn transport_error(url: &Url, error: &reqwest::Error) -> InteractionError {
    let target = url.origin().ascii_serialization();
    let cause = root_cause(error);
    InteractionError::Transport(if error.is_timeout() {
        format!("the Interaction API at {target} did not answer in time")
    } else if error.is_connect() {
        format!("can't reach the Interaction API at {target}: {cause}")
    } else {
        format!("request to the Interaction API at {target} failed: {cause}")
    })
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() > BODY_SNIPPET_CHARS {
        let cut: String = text.chars().take(BODY_SNIPPET_CHARS).collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests;
