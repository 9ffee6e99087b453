//! What arrived, for people: `GET /admin/v1/conversations`, `GET /admin/v1/conversations/{id}`
//! (sessions, entries with attachments and acknowledgement state, routing records) and
//! `GET /admin/v1/attachments/{id}` (the bytes). Served on the login host, authorized like the
//! rest of the admin API.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::FromRequestParts;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use byoc_core::ids;
use byoc_core::{SetupAction, SetupError};
use byoc_proto::interaction::{
    AttachmentView, ConversationDetail, ConversationSummary, EntryView, Participant, RecordView,
    SessionView,
};
use byoc_store::conversations::ConversationRow;
use byoc_store::Store;
use serde::Deserialize;

use crate::admin_api::{Acting, AdminState, ApiError};
use crate::setup_service::ServiceError;

type ApiResult = Result<Response, ApiError>;

/// The acting user, who must be allowed to read conversations
/// ([`SetupAction::ReadConversations`]).
struct ConversationReader;

impl FromRequestParts<AdminState> for ConversationReader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let Acting(actor) = Acting::from_request_parts(parts, state).await?;
        actor.authorize(SetupAction::ReadConversations)?;
        Ok(ConversationReader)
    }
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/admin/v1/conversations", get(list))
        .route("/admin/v1/conversations/{id}", get(show))
        .route("/admin/v1/attachments/{id}", get(attachment))
        .layer(axum::middleware::from_fn(
            crate::admin_api::refuse_control_characters,
        ))
        .with_state(state)
}

fn store_error(e: byoc_store::StoreError) -> ApiError {
    ApiError::from(ServiceError::Store(e))
}

fn not_found(kind: &'static str, name: &str) -> ApiError {
    ApiError::from(SetupError::NotFound {
        kind,
        name: name.to_string(),
    })
}

async fn summary(store: &Store, c: ConversationRow) -> Result<ConversationSummary, ApiError> {
    let repo = store.repo();
    let sessions = repo.sessions(&c.id).await.map_err(store_error)?;
    let entry_count = repo.entry_count(&c.id).await.map_err(store_error)?;
    let current = sessions.first();
    Ok(ConversationSummary {
        messaging_session_id: current.map(|s| s.id.clone()),
        session_status: current.map(|s| s.status.clone()),
        id: c.id,
        channel_address_identifier: c.channel_address,
        conversation_channel_definition: c.ccd_developer_name,
        end_user_client_id: c.client_id,
        end_user_id: c.end_user_id,
        consent_status: c.consent_status,
        entry_count,
        created_at: c.created_at,
        updated_at: c.updated_at,
    })
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<i64>,
}

async fn list(
    State(s): State<AdminState>,
    _a: ConversationReader,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult {
    let limit = query
        .ok()
        .and_then(|Query(q)| q.limit)
        .unwrap_or(100)
        .clamp(1, 10_000);
    let store = s.setup.store();
    let rows = store
        .repo()
        .conversations(limit)
        .await
        .map_err(store_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(summary(store, row).await?);
    }
    Ok(Json(out).into_response())
}

/// Who may download an attachment: whoever may read conversations through the admin API, or the
/// partner the attachment's URL was sent to: an access token with `interaction_api` (and neither
/// `api` nor `full`) whose app is linked to the conversation's CCD, as the URL in an outbound
/// event is meant to be fetched with the connector's own token.
enum AttachmentReader {
    Admin,
    Partner { app_id: String },
}

impl FromRequestParts<AdminState> for AttachmentReader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        if let (Some(oauth), Some(token)) = (&state.oauth, crate::oauth::bearer(&parts.headers)) {
            if let Ok(claims) = oauth.verify(token) {
                if claims.has_scope("interaction_api")
                    && !claims.has_scope("api")
                    && !claims.has_scope("full")
                {
                    return Ok(AttachmentReader::Partner {
                        app_id: claims.app_id,
                    });
                }
            }
        }
        ConversationReader::from_request_parts(parts, state).await?;
        Ok(AttachmentReader::Admin)
    }
}

/// Whether `app_id` is the app linked to the CCD of the conversation.
async fn partner_may_read(
    store: &Store,
    conversation_id: &str,
    app_id: &str,
) -> Result<bool, ApiError> {
    let Some(conversation) = store
        .repo()
        .conversation(conversation_id)
        .await
        .map_err(store_error)?
    else {
        return Ok(false);
    };
    let channel = store
        .channel_by_ccd(&conversation.ccd_developer_name)
        .await
        .map_err(store_error)?;
    Ok(channel
        .and_then(|c| c.conversation_channel_definition)
        .and_then(|ccd| ccd.linked_app)
        .is_some_and(|app| app.id == app_id))
}

/// Read beats delivered: the highest acknowledgement an entry got.
fn stronger(current: Option<&str>, new: &str) -> bool {
    !matches!(
        (current, new),
        (Some("Read"), _) | (Some("Delivered"), "Delivered")
    )
}

async fn show(
    State(s): State<AdminState>,
    _a: ConversationReader,
    Path(id): Path<String>,
) -> ApiResult {
    let detail = conversation_detail(s.setup.store(), &id).await?;
    Ok(Json(detail).into_response())
}

/// Everything of conversation `id` as people read it (`GET /admin/v1/conversations/{id}`, and
/// the agent console's transcript): sessions, entries with their attachments and the highest
/// acknowledgement each got, and the routing and agent-work records. The caller checked
/// [`SetupAction::ReadConversations`].
pub async fn conversation_detail(store: &Store, id: &str) -> Result<ConversationDetail, ApiError> {
    let repo = store.repo();
    let row = repo
        .conversation(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| not_found("Conversation", id))?;
    let sessions = repo.sessions(&row.id).await.map_err(store_error)?;
    let entries = repo.entries(&row.id).await.map_err(store_error)?;
    let attachments = repo.attachments(&row.id).await.map_err(store_error)?;
    let records = repo.records_of(&row.id).await.map_err(store_error)?;

    let mut acks: HashMap<String, String> = HashMap::new();
    for e in &entries {
        let level = match e.entry_type.as_str() {
            "ReadAcknowledgement" => "Read",
            "DeliveryAcknowledgement" => "Delivered",
            _ => continue,
        };
        if let Some(target) = &e.acknowledged_entry_id {
            if stronger(acks.get(target).map(String::as_str), level) {
                acks.insert(target.clone(), level.to_string());
            }
        }
    }
    let entries = entries
        .into_iter()
        .map(|e| EntryView {
            attachments: attachments
                .iter()
                .filter(|a| a.entry_id == e.entry_id)
                .map(|a| AttachmentView {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    mime_type: a.mime_type.clone(),
                    size: a.size,
                })
                .collect(),
            acknowledgement: acks.get(&e.entry_id).cloned(),
            sender: Participant {
                app_type: Some(e.sender_app_type),
                subject: Some(e.sender_subject),
                role: Some(e.sender_role),
            },
            payload: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
            id: e.entry_id,
            entry_type: e.entry_type,
            messaging_session_id: e.session_id,
            client_timestamp: e.client_timestamp,
            server_timestamp: e.server_timestamp,
            text: e.text,
            message_type: e.message_type,
            format_type: e.format_type,
            acknowledged_entry_id: e.acknowledged_entry_id,
            source: e.source,
        })
        .collect();
    let sessions = sessions
        .into_iter()
        .map(|x| SessionView {
            id18: ids::to_18(&x.id).unwrap_or_default(),
            id: x.id,
            status: x.status,
            started_at: x.started_at,
            ended_at: x.ended_at,
        })
        .collect();
    let records = records
        .into_iter()
        .filter(|r| !r.key.starts_with("active|"))
        .map(|r| RecordView {
            body: serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null),
            kind: r.kind,
            key: r.key,
            updated_at: r.updated_at,
        })
        .collect();
    let conversation = summary(store, row).await?;
    Ok(ConversationDetail {
        conversation,
        sessions,
        entries,
        records,
    })
}

async fn attachment(
    State(s): State<AdminState>,
    reader: AttachmentReader,
    Path(id): Path<String>,
) -> ApiResult {
    let found = s
        .setup
        .store()
        .repo()
        .attachment_content(&id)
        .await
        .map_err(store_error)?;
    let (meta, bytes) = found.ok_or_else(|| not_found("Attachment", &id))?;
    if let AttachmentReader::Partner { app_id } = reader {
        // Only the app the conversation's events go to; others learn nothing, not even that the
        // attachment exists.
        if !partner_may_read(s.setup.store(), &meta.conversation_id, &app_id).await? {
            return Err(not_found("Attachment", &id));
        }
    }
    let content_type = HeaderValue::from_str(&meta.mime_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    // An end user's file is never rendered from the login host (where the admin credential's
    // pages live): always a download, never sniffed into another type, and sandboxed with no
    // sources should a browser render it anyway.
    headers.insert(header::CONTENT_DISPOSITION, content_disposition(&meta.name));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(response)
}

/// `attachment; filename="<ASCII fallback>"` plus, for names that are not plain ASCII,
/// `filename*=UTF-8''<percent-encoded>` (RFC 6266 §4.3, RFC 8187). The fallback keeps only
/// printable ASCII other than `"` and `\`, so the name can never end the quoted string or
/// start another header; the extended form encodes every byte outside RFC 8187's `attr-char`.
pub(crate) fn content_disposition(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let fallback = if fallback.trim().is_empty() {
        "attachment".to_string()
    } else {
        fallback
    };
    let mut value = format!("attachment; filename=\"{fallback}\"");
    if !name.is_empty() && fallback != name {
        value.push_str("; filename*=UTF-8''");
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                value.push(b as char);
            } else {
                value.push_str(&format!("%{b:02X}"));
            }
        }
    }
    // Only printable ASCII went in, so this cannot fail; the fallback keeps the header anyway.
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn plain_names_are_quoted_as_they_are() {
        assert_eq!(
            content_disposition("photo 1.png"),
            "attachment; filename=\"photo 1.png\""
        );
    }

    #[test]
    fn quotes_line_breaks_and_non_ascii_cannot_escape_the_header() {
        let v = content_disposition("a\"b\\c\r\nSet-Cookie: x=1;é.txt");
        assert_eq!(
            v,
            "attachment; filename=\"a_b_c__Set-Cookie: x=1;_.txt\"; filename*=UTF-8''a%22b%5Cc%0D%0ASet-Cookie%3A%20x%3D1%3B%C3%A9.txt"
        );
    }

    #[test]
    fn an_empty_name_still_downloads() {
        assert_eq!(
            content_disposition(""),
            "attachment; filename=\"attachment\""
        );
    }
}
