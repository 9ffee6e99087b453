//! The agent's side of a conversation. byoc has no Service Console, so an agent's answer comes
//! from the admin API (`POST /admin/v1/conversations/{id}/replies`, `byoc agent reply`): the
//! reply is stored as a conversation entry, then published as one platform event on the CCD's
//! topic carrying the outbound `InteractionEvent` (docs/pubsub.md).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use byoc_core::events::{self, AgentMessage, EventFields};
use byoc_core::{ids, Actor, SetupError};
use byoc_proto::outbound::{AgentReply, AgentReplySent};
use byoc_proto::setup::User;
use byoc_store::conversations::{EntryRecord, EntryTarget, SessionChoice, WriteOp, WriteOutcome};
use byoc_store::StoreError;

use super::bus::{EventBus, Outgoing, PublishError};
use crate::admin_api::{Acting, AdminState, ApiError, Body};
use crate::setup_service::ServiceError;

/// The longest agent message byoc accepts (Salesforce's messaging text limit).
pub const MAX_TEXT_CHARS: usize = 32_000;

#[derive(Clone)]
pub struct AgentState {
    pub admin: AdminState,
    pub bus: Arc<EventBus>,
}

/// The acting user, resolved as the admin API does.
struct Agent(Actor);

impl FromRequestParts<AgentState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AgentState,
    ) -> Result<Self, Self::Rejection> {
        let Acting(actor) = Acting::from_request_parts(parts, &state.admin).await?;
        Ok(Agent(actor))
    }
}

pub fn router(state: AgentState) -> Router {
    Router::new()
        .route("/admin/v1/conversations/{id}/replies", post(reply))
        .with_state(state)
}

async fn reply(
    State(s): State<AgentState>,
    Agent(actor): Agent,
    Path(id): Path<String>,
    Body(input): Body<AgentReply>,
) -> Result<Response, ApiError> {
    let sent = send_reply(&s.bus, &id, &actor.user, &input.text).await?;
    Ok((StatusCode::CREATED, Json(sent)).into_response())
}

/// Why an agent reply failed.
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
                "The reply can't be published: {e}"
            ))),
        }
    }
}

/// Store `text` as the agent's message in conversation `id` and publish it on the CCD's topic.
pub async fn send_reply(
    bus: &EventBus,
    id: &str,
    agent: &User,
    text: &str,
) -> Result<AgentReplySent, ReplyError> {
    if text.trim().is_empty() {
        return Err(SetupError::invalid("text", "The reply text is empty.").into());
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(SetupError::invalid(
            "text",
            format!("The reply text is longer than {MAX_TEXT_CHARS} characters."),
        )
        .into());
    }
    let store = bus.store();
    let not_found = || SetupError::NotFound {
        kind: "Conversation",
        name: id.to_string(),
    };
    let conversation = store.repo().conversation(id).await?.ok_or_else(not_found)?;
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
    let Some(topic) = bus.topic_of_ccd(&ccd).await? else {
        return Err(SetupError::NotAllowed(format!(
            "The platform event {} of {} has no topic.",
            ccd.custom_platform_event, ccd.developer_name
        ))
        .into());
    };

    let now = bus.now();
    let entry_id = uuid::Uuid::new_v4().to_string();
    let message_id = uuid::Uuid::new_v4().to_string();
    let agent_id18 = ids::to_18(&agent.id).unwrap_or_else(|| agent.id.clone());
    let event = events::agent_message_event(&AgentMessage {
        conversation_identifier: &conversation.id,
        channel_address_identifier: &conversation.channel_address,
        end_user_subject: &conversation.client_id,
        agent_subject: &agent_id18,
        agent_display_name: &agent.username,
        entry_identifier: &entry_id,
        message_identifier: &message_id,
        text,
        now,
    });

    // The entry first, so an event never names an entry the conversation lacks.
    let entry = EntryRecord {
        entry_id: entry_id.clone(),
        entry_type: "Message".into(),
        sender_app_type: "agent".into(),
        sender_subject: agent_id18.clone(),
        sender_role: "Agent".into(),
        client_timestamp: now,
        text: Some(text.to_string()),
        message_type: Some("StaticContentMessage".into()),
        format_type: Some("Text".into()),
        acknowledged_entry_id: None,
        source: "agent".into(),
        payload: event.payload.entry_payload.to_string(),
        attachment: None,
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
    match store.repo().write_batch(&[op]).await?.into_iter().next() {
        Some(WriteOutcome::NotFound(_)) | None => return Err(not_found().into()),
        Some(_) => {}
    }

    let fields = events::interaction_event_fields(&ccd, &event).map_err(PublishError::from)?;
    let outgoing = Outgoing {
        event_id: uuid::Uuid::new_v4().to_string(),
        fields: EventFields {
            created_date: now,
            created_by_id: agent_id18,
            fields,
        },
    };
    let replay_ids = bus.publish(&topic, &[outgoing]).await?;
    let replay_id = replay_ids
        .first()
        .copied()
        .and_then(|r| u64::try_from(r).ok())
        .unwrap_or_default();
    Ok(AgentReplySent {
        conversation_identifier: conversation.id,
        entry_identifier: entry_id,
        topic_name: topic.name,
        replay_id,
        event,
    })
}
