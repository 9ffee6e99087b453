//! One handler per operation of the spec. Each: authorize from the headers, read the body,
//! authorize the channel address or conversation it names, validate with
//! `byoc_core::interaction`, write through the group-commit writer, answer the spec's shape.

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use byoc_core::ids;
use byoc_core::interaction::{
    self as rules, prefix, ApiError, ErrorClass, HistorySession, NewEntry,
};
use byoc_proto::interaction::{
    AddConversationHistoryResponse, AgentWorkContextType, AgentWorkDetails, AgentWorkResponse,
    AgentWorkStatus, ConversationEntryResponse, DataDirection, GetConversationEntriesResponse,
    MessagingSessionOperation, Participant, ParticipantRole, PostAttachmentResponse,
    PostConversationResponse, PostInteractionResponse, PostMessagingSessionResponse,
    PostRouteResponse, RoutingContext, SuccessResponse,
};
use byoc_proto::setup::ChannelType;
use byoc_store::conversations::{
    AttachmentRecord, Claim, ConversationRow, EntryPage, EntryRecord, EntryTarget, Missing,
    NewConversation, SessionChoice, WriteOp, WriteOutcome,
};
use serde_json::{json, Value};

use super::auth::Authorized;
use super::body::{read_json, read_multipart, Upload};
use super::error::{store_refusal, Refusal, Shape};
use super::ScrtState;

type Answer = Result<Response, Refusal>;

/// Record kinds of `interaction_records`.
pub mod kind {
    pub const ROUTE: &str = "route";
    pub const ROUTING_RESULT: &str = "routingResult";
    pub const AGENT_WORK: &str = "agentWork";
    pub const PARTICIPANT: &str = "participant";
    pub const CAPABILITIES: &str = "capabilities";
}

fn new_id(key_prefix: &str) -> String {
    ids::new_id(key_prefix, &rand::random::<[u8; 12]>())
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn accepted<T: serde::Serialize>(body: T) -> Response {
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

fn ok<T: serde::Serialize>(body: T) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

fn entry_record(e: &NewEntry, source: &str, attachment: Option<AttachmentRecord>) -> EntryRecord {
    EntryRecord {
        entry_id: e.entry_id.clone(),
        entry_type: e.entry_type.as_str().to_string(),
        sender_app_type: e.sender.app_type.clone().unwrap_or_default(),
        sender_subject: e.sender.subject.clone().unwrap_or_default(),
        sender_role: e.sender.role.clone().unwrap_or_default(),
        client_timestamp: e.client_timestamp,
        text: e.text.clone(),
        message_type: e.message_type.map(|m| m.as_str().to_string()),
        format_type: e.format_type.map(|f| f.as_str().to_string()),
        acknowledged_entry_id: e.acknowledged_entry_id.clone(),
        source: source.to_string(),
        payload: e.payload.to_string(),
        attachment,
    }
}

fn new_conversation(
    auth: &Authorized,
    client_id: &str,
    routing_attributes: &BTreeMap<String, String>,
) -> NewConversation {
    NewConversation {
        channel_id: auth.channel.id.clone(),
        channel_address: auth.channel.channel_address_identifier.clone(),
        ccd_developer_name: auth
            .ccd()
            .map(|c| c.developer_name.clone())
            .unwrap_or_default(),
        client_id: client_id.to_string(),
        new_end_user_id: new_id(prefix::MESSAGING_END_USER),
        new_conversation_id: new_uuid(),
        routing_attributes: serde_json::to_string(routing_attributes)
            .unwrap_or_else(|_| "{}".into()),
    }
}

fn current_session() -> SessionChoice {
    SessionChoice::Current {
        new_session_id: new_id(prefix::MESSAGING_SESSION),
    }
}

/// The attachment's bytes, taken from the uploads.
fn attachment_record(
    spec: &rules::AttachmentSpec,
    uploads: &mut Vec<Upload>,
) -> Option<AttachmentRecord> {
    let upload = uploads.pop()?;
    Some(AttachmentRecord {
        id: spec.attachment_id.clone(),
        name: spec.name.clone(),
        mime_type: spec.mime_type.clone(),
        content: upload.content,
    })
}

impl ScrtState {
    async fn write(&self, op: WriteOp) -> Result<WriteOutcome, Refusal> {
        Ok(self.0.writer.submit(op).await?)
    }

    /// A conversation of the authorized CCD's channel (10018 for any other, so identifiers of
    /// other channels' conversations reveal nothing).
    async fn conversation_for(
        &self,
        auth: &Authorized,
        id: &str,
    ) -> Result<ConversationRow, Refusal> {
        match self
            .0
            .store
            .repo()
            .conversation(id)
            .await
            .map_err(store_refusal)?
        {
            Some(c) if c.channel_id == auth.channel.id => Ok(c),
            _ => Err(ApiError::new(10018).into()),
        }
    }

    /// Append entries and return the conversation, session and stored entries.
    async fn append(
        &self,
        target: EntryTarget,
        session: SessionChoice,
        entries: Vec<EntryRecord>,
    ) -> Result<
        (
            ConversationRow,
            Option<String>,
            Vec<byoc_store::conversations::StoredEntry>,
        ),
        Refusal,
    > {
        let now = self.now();
        match self
            .write(WriteOp::Append {
                target,
                session,
                entries,
                now,
            })
            .await?
        {
            WriteOutcome::Appended {
                conversation,
                session_id,
                entries,
            } => Ok((conversation, session_id, entries)),
            WriteOutcome::NotFound(Missing::Conversation) => Err(ApiError::new(10018).into()),
            WriteOutcome::NotFound(Missing::Session) => Err(ApiError::new(10071).into()),
            _ => Err(ApiError::internal().into()),
        }
    }

    async fn put_record(
        &self,
        kind: &str,
        key: &str,
        conversation_id: Option<&str>,
        body: Value,
    ) -> Result<(), Refusal> {
        let now = self.now();
        self.write(WriteOp::PutRecord {
            kind: kind.into(),
            key: key.into(),
            conversation_id: conversation_id.map(str::to_string),
            body: body.to_string(),
            now,
        })
        .await?;
        Ok(())
    }

    /// Participants other than the end user join a conversation by posting to it.
    async fn note_participants(
        &self,
        conversation: &ConversationRow,
        entries: &[NewEntry],
    ) -> Result<(), Refusal> {
        let mut seen: Vec<&Participant> = Vec::new();
        for e in entries {
            if e.sender.role.as_deref() == Some(ParticipantRole::EndUser.as_str())
                || seen.contains(&&e.sender)
            {
                continue;
            }
            seen.push(&e.sender);
            let key = participant_key(&conversation.id, &e.sender);
            self.put_record(
                kind::PARTICIPANT,
                &key,
                Some(&conversation.id),
                json!({"participant": e.sender, "active": true}),
            )
            .await?;
        }
        Ok(())
    }
}

fn participant_key(conversation_id: &str, p: &Participant) -> String {
    format!(
        "{conversation_id}|{}|{}",
        p.role.as_deref().unwrap_or(""),
        p.subject.as_deref().unwrap_or("")
    )
}

// ---- POST /interactions -------------------------------------------------------------------------

pub async fn post_interactions(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let (json, mut uploads) = read_multipart(req, "json").await?;
    let (to, _from) = rules::interaction_addresses(&json)?;
    auth.authorize_address(&to)?;
    let files: Vec<_> = uploads.iter().map(|u| u.facts.clone()).collect();
    let valid = rules::validate_interaction(&json, &files, &new_uuid())?;
    let attachment = valid
        .attachment
        .as_ref()
        .and_then(|a| attachment_record(a, &mut uploads));
    let target = EntryTarget::EndUser(new_conversation(
        &auth,
        &valid.from,
        &valid.routing_attributes,
    ));
    let record = entry_record(&valid.entry, "interactions", attachment);
    let (conversation, session_id, _) = s.append(target, current_session(), vec![record]).await?;
    Ok(accepted(PostInteractionResponse {
        conversation_identifier: conversation.id,
        id: valid.entry.entry_id,
        work_item_ids: session_id.into_iter().collect(),
        success: true,
    }))
}

// ---- POST /attachment (byoc extension) ----------------------------------------------------------

pub async fn post_attachment(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let (json, mut uploads) = read_multipart(req, "postAttachmentRequestJson").await?;
    let conversation_id = rules::attachment_conversation(&json)?;
    let conversation = s.conversation_for(&auth, &conversation_id).await?;
    let files: Vec<_> = uploads.iter().map(|u| u.facts.clone()).collect();
    let valid = rules::validate_attachment(&json, &files, &new_uuid(), s.now())?;
    let attachment = attachment_record(&valid.attachment, &mut uploads);
    let record = entry_record(&valid.entry, "attachment", attachment);
    let (conversation, _, stored) = s
        .append(
            EntryTarget::Conversation(conversation.id),
            current_session(),
            vec![record],
        )
        .await?;
    // A retry answers with the attachment stored the first time.
    let mut attachment_id = valid.attachment.attachment_id.clone();
    if stored.first().is_some_and(|e| e.duplicate) {
        let metas =
            s.0.store
                .repo()
                .attachments(&conversation.id)
                .await
                .map_err(store_refusal)?;
        if let Some(m) = metas.iter().find(|m| m.entry_id == valid.entry.entry_id) {
            attachment_id = m.id.clone();
        }
    }
    Ok(accepted(PostAttachmentResponse {
        success: true,
        conversation_identifier: conversation.id,
        id: valid.entry.entry_id,
        attachment_id,
    }))
}

// ---- POST /conversation -------------------------------------------------------------------------

pub async fn post_conversation(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let address = rules::conversation_address(&json)?;
    auth.authorize_address(&address)?;
    let valid = rules::validate_conversation(&json)?;
    let target = EntryTarget::EndUser(new_conversation(
        &auth,
        &valid.end_user_client_id,
        &valid.routing_attributes,
    ));
    let (conversation, session_id, _) = s.append(target, current_session(), Vec::new()).await?;
    Ok(accepted(PostConversationResponse {
        conversation_identifier: conversation.id,
        messaging_session_id: session_id.unwrap_or_default(),
        success: true,
    }))
}

// ---- POST/GET /conversationEntry ----------------------------------------------------------------

pub async fn post_conversation_entry(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let conversation_id = rules::entry_conversation(&json)?;
    let conversation = s.conversation_for(&auth, &conversation_id).await?;
    let valid = rules::validate_conversation_entry(&json)?;
    let records = valid
        .entries
        .iter()
        .map(|e| entry_record(e, "conversationEntry", None))
        .collect();
    s.append(
        EntryTarget::Conversation(conversation.id.clone()),
        current_session(),
        records,
    )
    .await?;
    s.note_participants(&conversation, &valid.entries).await?;
    Ok(accepted(SuccessResponse::ok()))
}

pub async fn get_conversation_entries(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let conversation_id = rules::entry_conversation(&json)?;
    let conversation = s.conversation_for(&auth, &conversation_id).await?;
    let query = rules::validate_entry_query(&json)?;
    let page = EntryPage {
        start_time: query.start_time,
        end_time: query.end_time.unwrap_or(i64::MAX),
        limit: query.limit,
        newest_first: query.direction == DataDirection::FromEnd,
    };
    let rows =
        s.0.store
            .repo()
            .entry_page(&conversation.id, page)
            .await
            .map_err(store_refusal)?;
    let conversation_entries = rows
        .into_iter()
        .map(|r| ConversationEntryResponse {
            client_timestamp: r.client_timestamp,
            sender: Participant {
                app_type: Some(r.sender_app_type),
                subject: Some(r.sender_subject),
                role: Some(r.sender_role),
            },
            entry_payload: serde_json::from_str(&r.payload).unwrap_or(Value::Null),
        })
        .collect();
    Ok(ok(GetConversationEntriesResponse {
        success: true,
        conversation_entries,
    }))
}

// ---- POST /conversationHistory ------------------------------------------------------------------

pub async fn post_conversation_history(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let address = rules::history_address(&json)?;
    auth.authorize_address(&address)?;
    // Only Bring Your Own Channel for CCaaS channels may add history.
    if auth.channel.channel_type != ChannelType::ByocCcaas {
        return Err(ApiError::new(10057).into());
    }
    let valid = rules::validate_history(&json)?;
    let session = match &valid.session {
        HistorySession::Current => current_session(),
        HistorySession::Establish {
            start_time,
            end_time,
        } => SessionChoice::Establish {
            session_id: new_id(prefix::MESSAGING_SESSION),
            started_at: *start_time,
            ended_at: *end_time,
        },
        HistorySession::Attach { session_id } => SessionChoice::Attach(session_id.clone()),
    };
    let target = EntryTarget::EndUser(new_conversation(
        &auth,
        &valid.end_user_client_id,
        &BTreeMap::new(),
    ));
    let records = valid
        .entries
        .iter()
        .map(|e| entry_record(e, "conversationHistory", None))
        .collect();
    let (conversation, session_id, _) = s.append(target, session, records).await?;
    s.note_participants(&conversation, &valid.entries).await?;
    Ok(accepted(AddConversationHistoryResponse {
        success: true,
        conversation_identifier: conversation.id,
        messaging_session_id: session_id.unwrap_or_default(),
    }))
}

// ---- POST /acknowledgement ----------------------------------------------------------------------

pub async fn post_acknowledgement(State(s): State<ScrtState>, req: Request) -> Answer {
    acknowledgement(s, req)
        .await
        .map_err(|r| r.shaped(Shape::WithSuccess))
}

async fn acknowledgement(s: ScrtState, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let conversation_id = rules::entry_conversation(&json)?;
    let conversation = s.conversation_for(&auth, &conversation_id).await?;
    let valid = rules::validate_acknowledgements(&json)?;
    let records = valid
        .entries
        .iter()
        .map(|e| entry_record(e, "acknowledgement", None))
        .collect();
    s.append(
        EntryTarget::Conversation(conversation.id),
        SessionChoice::None,
        records,
    )
    .await?;
    Ok(ok(SuccessResponse::ok()))
}

// ---- POST /participant --------------------------------------------------------------------------

pub async fn post_participant(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let valid = rules::validate_participant_change(&json)?;
    let conversation = s
        .conversation_for(&auth, &valid.conversation_identifier)
        .await?;
    if valid.participant.role.as_deref() == Some(ParticipantRole::EndUser.as_str()) {
        // The end user stays in the conversation; only others can be removed.
        return Err(ApiError::new(10038).into());
    }
    let key = participant_key(&conversation.id, &valid.participant);
    let active =
        s.0.store
            .repo()
            .record(kind::PARTICIPANT, &key)
            .await
            .map_err(store_refusal)?
            .and_then(|r| serde_json::from_str::<Value>(&r.body).ok())
            .is_some_and(|b| b.get("active") == Some(&Value::Bool(true)));
    if !active {
        return Err(ApiError::new(10036).into());
    }
    s.put_record(
        kind::PARTICIPANT,
        &key,
        Some(&conversation.id),
        json!({"participant": valid.participant, "active": false, "removedAt": s.now()}),
    )
    .await?;
    Ok(ok(SuccessResponse::ok()))
}

// ---- POST/DELETE /route, POST /routingResult ----------------------------------------------------

async fn current_session_id(
    s: &ScrtState,
    conversation_id: &str,
) -> Result<Option<String>, Refusal> {
    let sessions =
        s.0.store
            .repo()
            .sessions(conversation_id)
            .await
            .map_err(store_refusal)?;
    Ok(sessions
        .into_iter()
        .find(|x| x.status != "Ended")
        .map(|x| x.id))
}

pub async fn post_route(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let valid = rules::validate_route(&json)?;
    let conversation = s
        .conversation_for(&auth, &valid.conversation_identifier)
        .await?;
    let work_item_id = current_session_id(&s, &conversation.id).await?;
    let Some(work_item_id) = work_item_id else {
        return Ok(accepted(PostRouteResponse {
            success: false,
            routing_correlation_id: None,
            psr_id: None,
            work_item_id: None,
            reason_for_not_routing: Some(
                "The conversation has no active messaging session.".into(),
            ),
            context_param_map: BTreeMap::new(),
        }));
    };
    let psr_id = new_id(prefix::PENDING_SERVICE_ROUTING);
    let correlation = new_uuid();
    let mut context = BTreeMap::new();
    if let Some(q) = valid.queue_id.as_ref().or(valid.fallback_queue_id.as_ref()) {
        context.insert("queueId".to_string(), q.clone());
    }
    if let Some(f) = &valid.flow_id {
        context.insert("flowId".to_string(), f.clone());
    }
    s.put_record(
        kind::ROUTE,
        &conversation.id,
        Some(&conversation.id),
        json!({
            "status": "Open",
            "psrId": psr_id,
            "routingCorrelationId": correlation,
            "routingType": valid.routing_type.as_str(),
            "workItemId": work_item_id,
            "queueId": valid.queue_id,
            "flowId": valid.flow_id,
            "fallbackQueueId": valid.fallback_queue_id,
            "routingAttributes": valid.routing_attributes,
        }),
    )
    .await?;
    Ok(accepted(PostRouteResponse {
        success: true,
        routing_correlation_id: Some(correlation),
        psr_id: Some(psr_id),
        work_item_id: Some(work_item_id),
        reason_for_not_routing: None,
        context_param_map: context,
    }))
}

pub async fn delete_route(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let valid = rules::validate_delete_route(&json)?;
    let conversation = s
        .conversation_for(&auth, &valid.conversation_identifier)
        .await?;
    let route =
        s.0.store
            .repo()
            .record(kind::ROUTE, &conversation.id)
            .await
            .map_err(store_refusal)?;
    let mut body = match route.and_then(|r| serde_json::from_str::<Value>(&r.body).ok()) {
        Some(b) if b.get("status").and_then(Value::as_str) == Some("Open") => b,
        _ => {
            return Ok(accepted(SuccessResponse {
                success: false,
                error_detail: None,
            }))
        }
    };
    if let Some(o) = body.as_object_mut() {
        o.insert("status".into(), json!("Cancelled"));
        o.insert(
            "cancelReason".into(),
            json!(valid.cancel_reason.map(|c| c.as_str())),
        );
    }
    s.put_record(kind::ROUTE, &conversation.id, Some(&conversation.id), body)
        .await?;
    Ok(accepted(SuccessResponse::ok()))
}

/// The session a work item names, which must be a session of `conversation` (15111 / 15107).
async fn work_item_of(
    s: &ScrtState,
    work_item_id: &str,
    conversation: &ConversationRow,
) -> Result<(), Refusal> {
    match s
        .0
        .store
        .repo()
        .session(work_item_id)
        .await
        .map_err(store_refusal)?
    {
        None => Err(ApiError::work_item(15111, work_item_id).into()),
        Some(session) if session.conversation_id != conversation.id => {
            Err(ApiError::conversation_mismatch(work_item_id, &conversation.id).into())
        }
        Some(_) => Ok(()),
    }
}

pub async fn post_routing_result(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let valid = rules::validate_routing_result(&json)?;
    let conversation = s
        .conversation_for(&auth, &valid.conversation_identifier)
        .await?;
    work_item_of(&s, &valid.work_item_id, &conversation).await?;
    s.put_record(
        kind::ROUTING_RESULT,
        &format!("{}|{}", conversation.id, valid.work_item_id),
        Some(&conversation.id),
        json!({
            "workItemId": valid.work_item_id,
            "success": valid.success,
            "externallyRouted": valid.externally_routed,
            "errorMessage": valid.error_message,
            "routingType": valid.routing_type.map(|r| r.as_str()),
        }),
    )
    .await?;
    Ok(accepted(SuccessResponse::ok()))
}

// ---- POST/PATCH /agentWork ----------------------------------------------------------------------

/// What an active work's marker record body contains (`{"active":true,...}`, as serde_json
/// writes it); the marker of a closed, declined or canceled work has `"active":false`.
const ACTIVE_MARKER: &str = "\"active\":true";

pub async fn post_agent_work(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let valid = rules::validate_agent_work(&json)?;
    let session =
        s.0.store
            .repo()
            .session(&valid.work_item_id)
            .await
            .map_err(store_refusal)?;
    let Some(session) = session else {
        return Err(ApiError::work_item(15111, &valid.work_item_id).into());
    };
    let conversation = match s.conversation_for(&auth, &session.conversation_id).await {
        Ok(c) => c,
        Err(_) => return Err(ApiError::work_item(15111, &valid.work_item_id).into()),
    };
    if let Some(asked) = &valid.conversation_identifier {
        if asked != &conversation.id {
            return Err(ApiError::conversation_mismatch(&valid.work_item_id, asked).into());
        }
    }
    let active_key = format!("active|{}|{}", valid.user_id, valid.work_item_id);
    let agent_work_id = new_id(prefix::AGENT_WORK);
    let route =
        s.0.store
            .repo()
            .record(kind::ROUTE, &conversation.id)
            .await
            .map_err(store_refusal)?;
    let route: Option<Value> = route.and_then(|r| serde_json::from_str(&r.body).ok());
    let psr_id = route
        .as_ref()
        .and_then(|r| r.get("psrId"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let routing_type = valid
        .routing_type
        .map(|r| r.as_str().to_string())
        .or_else(|| {
            route
                .as_ref()
                .and_then(|r| r.get("routingType"))
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let correlation = valid.routing_correlation_id.clone().or_else(|| {
        route
            .as_ref()
            .and_then(|r| r.get("routingCorrelationId"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    // The "already active" check and the writes are one unit: the active marker is claimed in
    // the same transaction as the work is stored, so of two concurrent calls (also on two
    // instances sharing PostgreSQL) exactly one wins and the other gets 15109.
    let now = s.now();
    let claimed = s
        .write(WriteOp::Unit {
            claim: Some(Claim::Record {
                kind: kind::AGENT_WORK.into(),
                key: active_key,
                conversation_id: Some(conversation.id.clone()),
                body: json!({"active": true, "agentWorkId": agent_work_id}).to_string(),
                held_when: ACTIVE_MARKER.into(),
                now,
            }),
            ops: vec![WriteOp::PutRecord {
                kind: kind::AGENT_WORK.into(),
                key: agent_work_id.clone(),
                conversation_id: Some(conversation.id.clone()),
                body: json!({
                    "userId": valid.user_id,
                    "workItemId": valid.work_item_id,
                    "status": "Assigned",
                    "capacityWeight": valid.capacity_weight,
                    "capacityPercentage": valid.capacity_percentage,
                    "psrId": psr_id,
                })
                .to_string(),
                now,
            }],
            event: None,
        })
        .await?;
    if matches!(claimed, WriteOutcome::Held) {
        return Err(ApiError::new(15109).into());
    }
    let details = match (routing_type, correlation) {
        (Some(routing_type), Some(routing_correlation_id)) => Some(AgentWorkDetails {
            exist_psr: psr_id.is_some(),
            capacity_percentage: valid.capacity_percentage,
            capacity_weight: valid.capacity_weight,
            psr_id,
            routing_context: RoutingContext {
                conversation_identifier: conversation.id.clone(),
                routing_type,
                routing_correlation_id,
            },
        }),
        _ => None,
    };
    Ok(accepted(AgentWorkResponse {
        id: new_uuid(),
        agent_work_id,
        agent_work_details: details,
        success: true,
    }))
}

pub async fn patch_agent_work(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let valid = rules::validate_agent_work_update(&json)?;
    let record =
        s.0.store
            .repo()
            .record(kind::AGENT_WORK, &valid.work_id)
            .await
            .map_err(store_refusal)?;
    let Some(record) = record else {
        return Err(ApiError::with_class(10082, ErrorClass::NotFound).into());
    };
    let conversation_id = record.conversation_id.clone().unwrap_or_default();
    // Another CCD's work is as good as missing.
    if s.conversation_for(&auth, &conversation_id).await.is_err() {
        return Err(ApiError::with_class(10082, ErrorClass::NotFound).into());
    }
    let mut body: Value = serde_json::from_str(&record.body).unwrap_or_else(|_| json!({}));
    let work_item = body
        .get("workItemId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let user = body
        .get("userId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let (AgentWorkContextType::Chatbot, Some(asked)) = (valid.context_type, &valid.work_item_id)
    {
        if asked != &work_item {
            return Err(ApiError::work_item(15110, asked).into());
        }
    }
    let status = match valid.status {
        AgentWorkStatus::Accept => "Opened",
        AgentWorkStatus::Close => "Closed",
        AgentWorkStatus::Decline => "Declined",
        AgentWorkStatus::Cancel => "Canceled",
    };
    if let Some(o) = body.as_object_mut() {
        o.insert("status".into(), json!(status));
        o.insert("contextType".into(), json!(valid.context_type.as_str()));
        if let Some(bot) = &valid.bot_id {
            o.insert("botId".into(), json!(bot));
        }
    }
    s.put_record(
        kind::AGENT_WORK,
        &valid.work_id,
        Some(&conversation_id),
        body,
    )
    .await?;
    if valid.status != AgentWorkStatus::Accept {
        let active_key = format!("active|{user}|{work_item}");
        s.put_record(
            kind::AGENT_WORK,
            &active_key,
            Some(&conversation_id),
            json!({"active": false, "agentWorkId": valid.work_id}),
        )
        .await?;
    }
    Ok(accepted(SuccessResponse::ok()))
}

// ---- PATCH /consent -----------------------------------------------------------------------------

pub async fn patch_consent(State(s): State<ScrtState>, req: Request) -> Answer {
    consent(s, req)
        .await
        .map_err(|r| r.shaped(Shape::WithSuccess))
}

async fn consent(s: ScrtState, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let address = rules::consent_address(&json)?;
    auth.authorize_address(&address)?;
    let ccd = auth.ccd().ok_or_else(|| ApiError::new(10026))?;
    let valid = rules::validate_consent(&json, ccd)?;
    let now = s.now();
    s.write(WriteOp::Consent {
        channel_id: auth.channel.id.clone(),
        client_id: valid.end_user_client_id,
        new_end_user_id: new_id(prefix::MESSAGING_END_USER),
        status: valid.status.as_str().to_string(),
        now,
    })
    .await?;
    Ok(ok(SuccessResponse::ok()))
}

// ---- PATCH /capabilities ------------------------------------------------------------------------

pub async fn patch_capabilities(State(s): State<ScrtState>, req: Request) -> Answer {
    capabilities(s, req)
        .await
        .map_err(|r| r.shaped(Shape::WithSuccess))
}

async fn capabilities(s: ScrtState, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let ccd = auth.ccd().ok_or_else(|| ApiError::new(10026))?;
    let caps = rules::validate_capabilities(&json, &ccd.developer_name)?;
    s.put_record(
        kind::CAPABILITIES,
        &ccd.developer_name.to_lowercase(),
        None,
        caps,
    )
    .await?;
    Ok(ok(SuccessResponse::ok()))
}

// ---- POST /messagingSession ---------------------------------------------------------------------

pub async fn post_messaging_session(State(s): State<ScrtState>, req: Request) -> Answer {
    let auth = s.authorize(req.headers()).await?;
    let json = read_json(req).await?;
    let address = rules::session_address(&json)?;
    auth.authorize_address(&address)?;
    let valid = rules::validate_session_operation(&json)?;
    let end_user =
        s.0.store
            .repo()
            .end_user(&auth.channel.id, &valid.end_user_client_id)
            .await
            .map_err(store_refusal)?;
    if end_user.is_none() {
        return Err(ApiError::new(10105).into());
    }
    let conversation = s
        .conversation_for(&auth, &valid.conversation_identifier)
        .await?;
    if conversation.client_id != valid.end_user_client_id {
        return Err(ApiError::new(10018).into());
    }
    let status = match valid.operation {
        MessagingSessionOperation::End => "Ended",
        MessagingSessionOperation::Inactivate => "Inactive",
    };
    let now = s.now();
    let outcome = s
        .write(WriteOp::SessionStatus {
            conversation_id: conversation.id,
            session_id: valid.session_id,
            status: status.into(),
            ended_by: Some(valid.operation_by.as_str().to_string()),
            now,
        })
        .await?;
    match outcome {
        WriteOutcome::NotFound(_) => Err(ApiError::new(10071).into()),
        _ => Ok(ok(PostMessagingSessionResponse {
            success: true,
            error_reason: None,
        })),
    }
}
