//! The agent's side of a conversation. byoc has no Service Console, so an agent acts through the
//! admin API (`byoc agent reply|end|route`); each action is stored in the conversation, then
//! published as one platform event on the CCD's topic (docs/pubsub.md):
//!
//! - `POST /admin/v1/conversations/{id}/replies`: a `Message` entry (text and/or a file) in an
//!   `InteractionEvent`;
//! - `POST /admin/v1/conversations/{id}/end`: the messaging session ends, a
//!   `SessionStatusChanged` entry in an `InteractionEvent`;
//! - `POST /admin/v1/conversations/{id}/routing-requests`: for CCDs whose routing owner is
//!   Partner, a `RoutingRequested` event (a transfer or conference the partner routes).
//!
//! [`AgentService`] is also what the echo agent ([`super::echo`]) answers through.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use byoc_core::events::{self, AgentMessage, EventFields, OutboundAttachment, SessionEnded};
use byoc_core::interaction::MAX_ATTACHMENT_BYTES;
use byoc_core::{ids, Actor, SetupError};
use byoc_proto::interaction::{AppType, Participant, ParticipantRole};
use byoc_proto::outbound::{
    AgentAttachment, AgentReply, AgentReplySent, ConversationEnded, RoutingParameter,
    RoutingRequest, RoutingRequestSent, RoutingRequested, RoutingRequestedEvent,
};
use byoc_proto::setup::{ConversationChannelDefinition, Owner, User};
use byoc_store::conversations::{
    AttachmentRecord, Claim, ConversationRow, EntryRecord, EntryTarget, SessionChoice, SessionRow,
    WriteOp, WriteOutcome,
};
use byoc_store::StoreError;

use super::bus::{EventBus, Outgoing, PublishError, Topic};
use crate::admin_api::{Acting, AdminState, ApiError, Body};
use crate::scrt::writer::{GroupCommit, WriteError};
use crate::setup_service::ServiceError;

/// The longest agent message byoc accepts (Salesforce's messaging text limit).
pub const MAX_TEXT_CHARS: usize = 32_000;
/// A reply's JSON body: a 25 MB file in base64, and room for the rest.
const REPLY_BODY_LIMIT: usize = (MAX_ATTACHMENT_BYTES as usize).div_ceil(3) * 4 + 1024 * 1024;
/// The `interaction_records` kind under which routing requests are kept for
/// `byoc conversations show`.
pub const ROUTING_REQUEST_RECORD: &str = "routingRequested";

#[derive(Clone)]
pub struct AgentState {
    pub admin: AdminState,
    pub agents: AgentService,
}

/// The acting user, resolved as the admin API does, who may work conversations.
struct Agent(Actor);

impl FromRequestParts<AgentState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AgentState,
    ) -> Result<Self, Self::Rejection> {
        let Acting(actor) = Acting::from_request_parts(parts, &state.admin).await?;
        // Working a conversation needs the Messaging permission set license (docs/setup.md).
        actor.authorize(byoc_core::SetupAction::WorkConversations)?;
        Ok(Agent(actor))
    }
}

pub fn router(state: AgentState) -> Router {
    Router::new()
        .route(
            "/admin/v1/conversations/{id}/replies",
            post(reply).layer(DefaultBodyLimit::max(REPLY_BODY_LIMIT)),
        )
        .route("/admin/v1/conversations/{id}/end", post(end))
        .route(
            "/admin/v1/conversations/{id}/routing-requests",
            post(routing_request),
        )
        // The reply route's own limit (above) wins over this one.
        .layer(DefaultBodyLimit::max(crate::admin_api::ADMIN_JSON_LIMIT))
        .layer(axum::middleware::from_fn(
            crate::admin_api::refuse_control_characters,
        ))
        .with_state(state)
}

/// The `Idempotency-Key` header of an agent action (docs/admin-api.md).
struct IdempotencyKey(Option<String>);

/// The longest idempotency key byoc keeps (a UUID is 36 characters).
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY) else {
            return Ok(IdempotencyKey(None));
        };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| {
                !k.is_empty()
                    && k.len() <= MAX_IDEMPOTENCY_KEY_CHARS
                    && k.chars().all(|c| c.is_ascii_graphic())
            })
            .ok_or_else(|| {
                ApiError::from(SetupError::invalid(
                    "Idempotency-Key",
                    format!("The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters."),
                ))
            })?;
        Ok(IdempotencyKey(Some(key.to_string())))
    }
}

/// The header that makes an agent action safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

async fn reply(
    State(s): State<AgentState>,
    Agent(actor): Agent,
    Path(id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    Body(input): Body<AgentReply>,
) -> Result<Response, ApiError> {
    let content = ReplyContent::from_request(input)?;
    let sent = s
        .agents
        .reply(&id, &actor.user, content, key.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(sent)).into_response())
}

async fn end(
    State(s): State<AgentState>,
    Agent(actor): Agent,
    Path(id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
) -> Result<Response, ApiError> {
    let ended = s.agents.end(&id, &actor.user, key.as_deref()).await?;
    Ok(Json(ended).into_response())
}

async fn routing_request(
    State(s): State<AgentState>,
    Agent(actor): Agent,
    Path(id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    Body(input): Body<RoutingRequest>,
) -> Result<Response, ApiError> {
    let sent = s
        .agents
        .request_routing(&id, &actor.user, &input, key.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(sent)).into_response())
}

/// An agent action's answer, kept with its idempotency key and given back to a retry.
trait Answer: serde::Serialize + serde::de::DeserializeOwned {
    /// The replay id is known only once the event is appended, inside the transaction.
    fn set_replay_id(&mut self, replay_id: u64);
}

impl Answer for AgentReplySent {
    fn set_replay_id(&mut self, replay_id: u64) {
        self.replay_id = replay_id;
    }
}

impl Answer for ConversationEnded {
    fn set_replay_id(&mut self, replay_id: u64) {
        self.replay_id = replay_id;
    }
}

impl Answer for RoutingRequestSent {
    fn set_replay_id(&mut self, replay_id: u64) {
        self.replay_id = replay_id;
    }
}

/// Which action an idempotency key belongs to: a key names one action on one conversation.
fn key_scope(action: &str, conversation_id: &str) -> String {
    format!("agent.{action}|{conversation_id}")
}

/// Why an agent action failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Refused(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ReplyError> for ApiError {
    fn from(e: ReplyError) -> ApiError {
        match e {
            ReplyError::Refused(e) => e.into(),
            ReplyError::Store(e) => ServiceError::Store(e).into(),
        }
    }
}

impl From<PublishError> for ReplyError {
    fn from(e: PublishError) -> ReplyError {
        match e {
            PublishError::Store(e) => ReplyError::Store(e),
            PublishError::Event(e) => ReplyError::Refused(SetupError::NotAllowed(format!(
                "The event can't be published: {e}"
            ))),
        }
    }
}

/// What an agent sends: text, a file, or both.
#[derive(Debug, Clone, Default)]
pub struct ReplyContent {
    pub text: String,
    pub file: Option<ReplyFile>,
}

#[derive(Debug, Clone)]
pub struct ReplyFile {
    pub name: String,
    pub mime_type: String,
    pub content: Vec<u8>,
}

impl ReplyContent {
    pub fn text(text: impl Into<String>) -> ReplyContent {
        ReplyContent {
            text: text.into(),
            file: None,
        }
    }

    /// Check and decode the admin API's body.
    pub fn from_request(input: AgentReply) -> Result<ReplyContent, SetupError> {
        let file = input.attachment.map(ReplyFile::from_request).transpose()?;
        let content = ReplyContent {
            text: input.text,
            file,
        };
        content.validate()?;
        Ok(content)
    }

    fn validate(&self) -> Result<(), SetupError> {
        if self.file.is_none() && self.text.trim().is_empty() {
            return Err(SetupError::invalid(
                "text",
                "The reply has neither text nor an attachment.",
            ));
        }
        if self.text.chars().count() > MAX_TEXT_CHARS {
            return Err(SetupError::invalid(
                "text",
                format!("The reply text is longer than {MAX_TEXT_CHARS} characters."),
            ));
        }
        Ok(())
    }
}

impl ReplyFile {
    fn from_request(a: AgentAttachment) -> Result<ReplyFile, SetupError> {
        let (name, mime_type) = Self::name_and_type(&a.name, &a.mime_type)?;
        let content = base64::engine::general_purpose::STANDARD
            .decode(a.content_base64.trim())
            .map_err(|_| {
                SetupError::invalid(
                    "attachment.contentBase64",
                    "The attachment content is not standard base64.",
                )
            })?;
        Self::sized(name, mime_type, content)
    }

    /// A file as the agent sends it from the console's upload, with the admin API's checks: a
    /// plain file name, a `type/subtype` MIME type, at most 25 MB.
    pub fn new(name: &str, mime_type: &str, content: Vec<u8>) -> Result<ReplyFile, SetupError> {
        let (name, mime_type) = Self::name_and_type(name, mime_type)?;
        Self::sized(name, mime_type, content)
    }

    fn name_and_type(name: &str, mime_type: &str) -> Result<(String, String), SetupError> {
        let name = name.trim().to_string();
        if name.is_empty()
            || name.chars().count() > 255
            || name
                .chars()
                .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            return Err(SetupError::invalid(
                "attachment.name",
                "The attachment needs a file name (at most 255 characters, no path).",
            ));
        }
        let normalized = mime_type.trim().to_ascii_lowercase();
        let well_formed = normalized.len() <= 255
            && normalized
                .split_once('/')
                .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty() && !s.contains('/'))
            && !normalized
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(SetupError::invalid(
                "attachment.mimeType",
                format!("{mime_type:?} is not a MIME type (type/subtype)."),
            ));
        }
        Ok((name, normalized))
    }

    fn sized(name: String, mime_type: String, content: Vec<u8>) -> Result<ReplyFile, SetupError> {
        if content.len() as u64 > MAX_ATTACHMENT_BYTES {
            return Err(SetupError::invalid(
                "attachment.contentBase64",
                "The attachment is larger than 25 MB.",
            ));
        }
        Ok(ReplyFile {
            name,
            mime_type,
            content,
        })
    }
}

/// A conversation with the CCD and topic its events go to.
struct Target {
    conversation: ConversationRow,
    ccd: ConversationChannelDefinition,
    topic: Topic,
}

/// The session an agent action applies to: the newest, unless it ended.
fn open_session(sessions: Vec<SessionRow>) -> Option<SessionRow> {
    sessions.into_iter().next().filter(|s| s.status != "Ended")
}

fn agent_id18(agent: &User) -> String {
    ids::to_18(&agent.id).unwrap_or_else(|| agent.id.clone())
}

fn not_found(id: &str) -> SetupError {
    SetupError::NotFound {
        kind: "Conversation",
        name: id.to_string(),
    }
}

fn replay_u64(replay_id: Option<i64>) -> u64 {
    replay_id
        .and_then(|r| u64::try_from(r).ok())
        .unwrap_or_default()
}

/// The agent's actions, shared by the admin API and the echo agent.
#[derive(Clone)]
pub struct AgentService {
    bus: Arc<EventBus>,
    /// The Interaction API's group-commit writer: the one writer of conversations, so agent
    /// entries never race end users' (SQLite allows one write transaction at a time).
    writer: GroupCommit,
    /// Attachment URLs in events point at this host's `GET /admin/v1/attachments/{id}`.
    instance_url: String,
}

impl AgentService {
    pub fn new(
        bus: Arc<EventBus>,
        writer: GroupCommit,
        instance_url: impl Into<String>,
    ) -> AgentService {
        AgentService {
            bus,
            writer,
            instance_url: instance_url.into(),
        }
    }

    pub fn bus(&self) -> &Arc<EventBus> {
        &self.bus
    }

    async fn target(&self, id: &str) -> Result<Target, ReplyError> {
        let store = self.bus.store();
        let conversation = store
            .repo()
            .conversation(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let channel = store
            .channel_by_ccd(&conversation.ccd_developer_name)
            .await?;
        let Some(ccd) = channel.and_then(|c| c.conversation_channel_definition) else {
            return Err(SetupError::NotAllowed(format!(
                "The conversation's channel definition {} no longer exists.",
                conversation.ccd_developer_name
            ))
            .into());
        };
        let Some(topic) = self.bus.topic_of_ccd(&ccd).await? else {
            return Err(SetupError::NotAllowed(format!(
                "The platform event {} of {} has no topic.",
                ccd.custom_platform_event, ccd.developer_name
            ))
            .into());
        };
        Ok(Target {
            conversation,
            ccd,
            topic,
        })
    }

    /// The answer kept for this key, if the action was done before with it.
    async fn replayed<T: Answer>(
        &self,
        action: &str,
        id: &str,
        key: Option<&str>,
    ) -> Result<Option<T>, ReplyError> {
        let Some(key) = key else {
            return Ok(None);
        };
        let kept = self
            .bus
            .store()
            .repo()
            .idempotent_response(&key_scope(action, id), key)
            .await?;
        kept.map(|(response, replay_id)| Self::decode(&response, replay_id))
            .transpose()
    }

    fn decode<T: Answer>(response: &str, replay_id: Option<i64>) -> Result<T, ReplyError> {
        let mut answer: T = serde_json::from_str(response).map_err(|e| {
            ReplyError::Store(StoreError::Corrupt {
                kind: "idempotency key",
                id: String::new(),
                source: e,
            })
        })?;
        answer.set_replay_id(replay_u64(replay_id));
        Ok(answer)
    }

    /// Commit `ops` and the event carrying them as one unit through the group-commit writer
    /// (the event log is the outbox: both or neither), with the idempotency key if any; then
    /// wake this process's subscribers. A retry with a used key gets the first answer back.
    #[allow(clippy::too_many_arguments)]
    async fn commit<T: Answer>(
        &self,
        id: &str,
        action: &str,
        key: Option<&str>,
        ops: Vec<WriteOp>,
        topic: &Topic,
        created_by_id: String,
        mut fields: std::collections::BTreeMap<String, Option<String>>,
        mut answer: T,
    ) -> Result<T, ReplyError> {
        // An event without the CCD's (default-named) channel-address or recipient field doesn't
        // carry them (`byoc_core::setup::platform_events::optional_ccd_field`); the payload and
        // type fields it must have, so encoding still refuses an event that lacks those.
        let ccd_roles = topic.ccds.iter().flat_map(|c| {
            [
                (
                    "customEventChannelAddressIdField",
                    c.custom_event_channel_address_id_field.as_str(),
                ),
                (
                    "customEventRecipientField",
                    c.custom_event_recipient_field.as_str(),
                ),
            ]
        });
        let droppable: Vec<String> = ccd_roles
            .filter(|(role, name)| {
                byoc_core::setup::platform_events::optional_ccd_field(role, name)
                    && !topic
                        .schema
                        .custom_fields()
                        .iter()
                        .any(|f| f.eq_ignore_ascii_case(name))
            })
            .map(|(_, name)| name.to_string())
            .collect();
        fields.retain(|name, _| !droppable.contains(name));
        let outgoing = Outgoing {
            event_id: uuid::Uuid::new_v4().to_string(),
            fields: EventFields {
                created_date: self.bus.now(),
                created_by_id,
                fields,
            },
        };
        let event = self.bus.outbox_event(topic, &outgoing)?;
        let claim = match key {
            Some(key) => Some(Claim::IdempotencyKey {
                scope: key_scope(action, id),
                key: key.to_string(),
                response: serde_json::to_string(&answer).map_err(|e| {
                    ReplyError::Refused(SetupError::NotAllowed(format!(
                        "The answer can't be kept: {e}"
                    )))
                })?,
                now: self.bus.now(),
            }),
            None => None,
        };
        let unit = WriteOp::Unit {
            claim,
            ops,
            event: Some(event),
        };
        let outcome = self.writer.submit(unit).await.map_err(|e| match e {
            WriteError::Store(e) => ReplyError::Store(e),
            WriteError::Stopped => ReplyError::Refused(SetupError::NotAllowed(
                "The server is shutting down.".into(),
            )),
        })?;
        match outcome {
            WriteOutcome::Unit {
                outcomes,
                replay_id,
            } => {
                if outcomes.iter().any(WriteOutcome::is_not_found) {
                    return Err(not_found(id).into());
                }
                if let Some(replay_id) = replay_id {
                    self.bus.committed(&topic.name, replay_id);
                }
                answer.set_replay_id(replay_u64(replay_id));
                Ok(answer)
            }
            WriteOutcome::Replayed {
                response,
                replay_id,
            } => Self::decode(&response, replay_id),
            _ => Err(not_found(id).into()),
        }
    }

    /// Store the agent's message in conversation `id` (its current messaging session, a new one
    /// if it ended) and publish it on the CCD's topic.
    pub async fn reply(
        &self,
        id: &str,
        agent: &User,
        content: ReplyContent,
        idempotency_key: Option<&str>,
    ) -> Result<AgentReplySent, ReplyError> {
        content.validate()?;
        if let Some(kept) = self.replayed("reply", id, idempotency_key).await? {
            return Ok(kept);
        }
        let Target {
            conversation,
            ccd,
            topic,
        } = self.target(id).await?;

        let now = self.bus.now();
        let entry_id = uuid::Uuid::new_v4().to_string();
        let message_id = uuid::Uuid::new_v4().to_string();
        let agent_id18 = agent_id18(agent);
        let attachment = content.file.map(|f| AttachmentRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name: f.name,
            mime_type: f.mime_type,
            content: f.content,
        });
        let outbound: Vec<OutboundAttachment> = attachment
            .iter()
            .map(|a| OutboundAttachment {
                id: a.id.clone(),
                name: a.name.clone(),
                mime_type: a.mime_type.clone(),
                url: format!(
                    "{}/admin/v1/attachments/{}",
                    self.instance_url.trim_end_matches('/'),
                    a.id
                ),
            })
            .collect();
        let event = events::agent_message_event(&AgentMessage {
            conversation_identifier: &conversation.id,
            channel_address_identifier: &conversation.channel_address,
            end_user_subject: &conversation.client_id,
            agent_subject: &agent_id18,
            agent_display_name: &agent.username,
            entry_identifier: &entry_id,
            message_identifier: &message_id,
            text: &content.text,
            attachments: &outbound,
            now,
        });

        let attachment_id = attachment.as_ref().map(|a| a.id.clone());
        let entry = EntryRecord {
            entry_id: entry_id.clone(),
            entry_type: "Message".into(),
            sender_app_type: AppType::Agent.as_str().into(),
            sender_subject: agent_id18.clone(),
            sender_role: ParticipantRole::Agent.as_str().into(),
            client_timestamp: now,
            text: (!content.text.is_empty()).then(|| content.text.clone()),
            message_type: Some("StaticContentMessage".into()),
            format_type: Some(
                if attachment.is_some() {
                    "Attachments"
                } else {
                    "Text"
                }
                .into(),
            ),
            acknowledged_entry_id: None,
            source: "agent".into(),
            payload: event.payload.entry_payload.to_string(),
            attachment,
        };
        let op = WriteOp::Append {
            target: EntryTarget::Conversation(conversation.id.clone()),
            session: SessionChoice::Current {
                new_session_id: crate::setup_service::random_id(
                    byoc_core::interaction::prefix::MESSAGING_SESSION,
                ),
            },
            entries: vec![entry],
            now,
        };
        let fields = events::interaction_event_fields(&ccd, &event).map_err(PublishError::from)?;
        let answer = AgentReplySent {
            conversation_identifier: conversation.id,
            entry_identifier: entry_id,
            topic_name: topic.name.clone(),
            replay_id: 0,
            event,
            attachment_id,
        };
        self.commit(
            id,
            "reply",
            idempotency_key,
            vec![op],
            &topic,
            agent_id18,
            fields,
            answer,
        )
        .await
    }

    /// End the conversation's open messaging session as the agent: the session becomes `Ended`
    /// and a `SessionStatusChanged` entry is stored with it (one transaction), then published.
    pub async fn end(
        &self,
        id: &str,
        agent: &User,
        idempotency_key: Option<&str>,
    ) -> Result<ConversationEnded, ReplyError> {
        if let Some(kept) = self.replayed("end", id, idempotency_key).await? {
            return Ok(kept);
        }
        let Target {
            conversation,
            ccd,
            topic,
        } = self.target(id).await?;
        let sessions = self.bus.store().repo().sessions(&conversation.id).await?;
        let Some(session) = open_session(sessions) else {
            return Err(SetupError::NotAllowed(format!(
                "The conversation {id} has no open messaging session to end."
            ))
            .into());
        };
        let now = self.bus.now();
        let entry_id = uuid::Uuid::new_v4().to_string();
        let agent_id18 = agent_id18(agent);
        let event = events::session_ended_event(&SessionEnded {
            conversation_identifier: &conversation.id,
            channel_address_identifier: &conversation.channel_address,
            end_user_subject: &conversation.client_id,
            agent_subject: &agent_id18,
            agent_display_name: &agent.username,
            entry_identifier: &entry_id,
            session_id: &session.id,
            previous_status: &session.status,
            session_start_time: session.started_at,
            now,
        });
        let entry = EntryRecord {
            entry_id: entry_id.clone(),
            entry_type: "SessionStatusChanged".into(),
            sender_app_type: AppType::Agent.as_str().into(),
            sender_subject: agent_id18.clone(),
            sender_role: ParticipantRole::Agent.as_str().into(),
            client_timestamp: now,
            text: None,
            message_type: None,
            format_type: None,
            acknowledged_entry_id: None,
            source: "agent".into(),
            payload: event.payload.entry_payload.to_string(),
            attachment: None,
        };
        let ops = vec![
            WriteOp::Append {
                target: EntryTarget::Conversation(conversation.id.clone()),
                session: SessionChoice::Attach(session.id.clone()),
                entries: vec![entry],
                now,
            },
            WriteOp::SessionStatus {
                conversation_id: conversation.id.clone(),
                session_id: Some(session.id.clone()),
                status: "Ended".into(),
                ended_by: Some(ParticipantRole::Agent.as_str().into()),
                now,
            },
        ];
        let fields = events::interaction_event_fields(&ccd, &event).map_err(PublishError::from)?;
        let answer = ConversationEnded {
            conversation_identifier: conversation.id,
            messaging_session_id: session.id,
            entry_identifier: entry_id,
            topic_name: topic.name.clone(),
            replay_id: 0,
            event,
        };
        self.commit(
            id,
            "end",
            idempotency_key,
            ops,
            &topic,
            agent_id18,
            fields,
            answer,
        )
        .await
    }

    /// The agent asks for the conversation's open session to be routed (a transfer, a
    /// conference, or initial routing): for a CCD whose routing owner is Partner, byoc publishes
    /// a `RoutingRequested` event for the partner's routing system and keeps the request with
    /// the conversation's records.
    pub async fn request_routing(
        &self,
        id: &str,
        agent: &User,
        request: &RoutingRequest,
        idempotency_key: Option<&str>,
    ) -> Result<RoutingRequestSent, ReplyError> {
        if let Some(kept) = self.replayed("route", id, idempotency_key).await? {
            return Ok(kept);
        }
        let routing_type = match request.routing_type.as_deref().map(str::trim) {
            None | Some("") => "Transfer",
            Some(t) if t.eq_ignore_ascii_case("transfer") => "Transfer",
            Some(t) if t.eq_ignore_ascii_case("conference") => "Conference",
            Some(t) if t.eq_ignore_ascii_case("initial") => "Initial",
            Some(other) => {
                return Err(SetupError::invalid(
                    "routingType",
                    format!("{other:?} is not a routing type: Initial, Transfer or Conference."),
                )
                .into())
            }
        };
        let destination =
            |field: &'static str, v: &Option<String>| -> Result<Option<String>, SetupError> {
                match v.as_deref().map(str::trim) {
                    None | Some("") => Ok(None),
                    Some(v) if v.len() > 255 || v.chars().any(char::is_whitespace) => Err(
                        SetupError::invalid(field, format!("{v:?} is not an identifier.")),
                    ),
                    Some(v) => Ok(Some(v.to_string())),
                }
            };
        let queue_id = destination("queueId", &request.queue_id)?;
        let flow_id = destination("flowId", &request.flow_id)?;
        let user_id = match destination("user", &request.user)? {
            Some(u) => Some(self.active_user_id(&u).await?),
            None => None,
        };
        if routing_type != "Initial" && queue_id.is_none() && user_id.is_none() && flow_id.is_none()
        {
            return Err(SetupError::invalid(
                "queueId",
                format!("A {routing_type} needs a destination: a queue, a user or a flow."),
            )
            .into());
        }

        let Target {
            conversation,
            ccd,
            topic,
        } = self.target(id).await?;
        if ccd.routing_owner != Owner::Partner {
            return Err(SetupError::NotAllowed(format!(
                "{} has routing owner Salesforce: Salesforce routes its conversations, so no RoutingRequested event is published. RoutingRequested is for CCDs whose routing owner is Partner (e.g. a byoc-ccaas channel).",
                ccd.developer_name
            ))
            .into());
        }
        let sessions = self.bus.store().repo().sessions(&conversation.id).await?;
        let Some(session) = open_session(sessions) else {
            return Err(SetupError::NotAllowed(format!(
                "The conversation {id} has no open messaging session to route."
            ))
            .into());
        };
        let event = RoutingRequested {
            channel_address_identifier: conversation.channel_address.clone(),
            recipient: Participant::new(
                AppType::Custom,
                &conversation.client_id,
                ParticipantRole::EndUser,
            ),
            payload: RoutingRequestedEvent {
                conversation_identifier: conversation.id.clone(),
                routing_parameters: Some(RoutingParameter {
                    queue_id,
                    user_id,
                    flow_id,
                    is_transfer: Some(routing_type == "Transfer"),
                }),
                routing_type: Some(routing_type.to_string()),
                work_record_id: Some(session.id.clone()),
            },
        };
        let now = self.bus.now();
        let record = WriteOp::PutRecord {
            kind: ROUTING_REQUEST_RECORD.into(),
            key: uuid::Uuid::new_v4().to_string(),
            conversation_id: Some(conversation.id.clone()),
            body: serde_json::to_string(&event).unwrap_or_default(),
            now,
        };
        let fields = events::routing_requested_fields(&ccd, &event).map_err(PublishError::from)?;
        let answer = RoutingRequestSent {
            conversation_identifier: conversation.id,
            topic_name: topic.name.clone(),
            replay_id: 0,
            event,
        };
        self.commit(
            id,
            "route",
            idempotency_key,
            vec![record],
            &topic,
            agent_id18(agent),
            fields,
            answer,
        )
        .await
    }

    /// The 18-character id of an active user named by username or id.
    async fn active_user_id(&self, name: &str) -> Result<String, ReplyError> {
        let store = self.bus.store();
        let mut user = store.user(name).await?;
        if let (None, Some(id15)) = (&user, name.get(..15).filter(|_| ids::is_valid_id(name))) {
            user = store.user_by_id(id15).await?;
        }
        match user {
            Some(u) if u.is_active => Ok(agent_id18(&u)),
            Some(u) => Err(SetupError::NotAllowed(format!(
                "The user {} is inactive and can't take routed work.",
                u.username
            ))
            .into()),
            None => Err(SetupError::NotFound {
                kind: "User",
                name: name.to_string(),
            }
            .into()),
        }
    }
}
