//! The agent console (docs/console.md, "Agent Console"): the org's conversations, newest activity
//! first, and the agent's side of each — what Service Console gives a rep, for a partner who
//! wants to see and answer their own channel's messages.
//!
//! - `GET /lightning/o/Conversation/list`: the list, filtered by channel and status (one bounded
//!   query, [`byoc_store::conversations::ConversationRepository::conversation_list`]).
//! - `GET /lightning/r/Conversation/{id}/view`: the transcript as a person reads it, built from
//!   the admin API's [`crate::scrt::admin::conversation_detail`] (one reading of the tables), with
//!   the reply box, *End conversation* and, for partner-routed CCDs, *Request routing*.
//! - `GET …/{id}/transcript`: the page's live parts alone, which `agent-console.js` fetches when
//!   the live feed (`/console/live`) says the conversation changed.
//! - `GET …/{id}/attachments/{attachmentId}`: a file of the conversation, never as HTML.
//! - `POST …/{id}/reply|end|routing`: through [`crate::pubsub::agent::AgentService`] with the
//!   session's user, after the same permission check as the admin API; 303 back to the page, or
//!   the page again with the API's refusal and status.
//!
//! Reads need [`SetupAction::ReadConversations`] (as `GET /admin/v1/conversations/{id}`), actions
//! [`SetupAction::WorkConversations`] (as `POST /admin/v1/conversations/{id}/replies`).

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use byoc_core::interaction::MAX_ATTACHMENT_BYTES;
use byoc_core::SetupAction;
use byoc_proto::interaction::{ConversationDetail, EntryView, RecordView};
use byoc_proto::outbound::RoutingRequest;
use byoc_proto::setup::Owner;
use byoc_store::conversations::ConversationListFilter;
use serde::Deserialize;

use super::session::Refused;
use super::{page_with_status, path_segment, see_other, ConsoleSession, ConsoleState, Layout};
use super::{MultipartForm, PostedForm};
use crate::admin_api::ApiError;
use crate::pubsub::agent::{ReplyContent, ReplyFile, MAX_IDEMPOTENCY_KEY_CHARS};
use crate::setup_service::ServiceError;

const KEY: &str = "conversations";
const TITLE: &str = "Agent Console";
pub const LIST: &str = "/lightning/o/Conversation/list";
/// The most conversations the list shows (newest activity first).
pub const LIST_LIMIT: i64 = 100;
/// The most transcript lines a page shows (the newest).
pub const TRANSCRIPT_LIMIT: usize = 1000;
/// How long an end user's `TypingStartedIndicator` shows "typing…" without a later
/// `TypingStoppedIndicator` or message: channels resend it while the user keeps typing.
pub const TYPING_WINDOW_MILLIS: i64 = 10_000;
/// Image types shown inline; every other file is served as `application/octet-stream`.
pub const PREVIEW_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
/// The session statuses the list filters by.
const STATUSES: [&str; 3] = ["Active", "Inactive", "Ended"];
/// A reply form: a 25 MB file and room for the rest.
const REPLY_FORM_LIMIT: usize = MAX_ATTACHMENT_BYTES as usize + 1024 * 1024;
/// How much of a record's body the page shows.
const RECORD_BODY_CHARS: usize = 4000;
const PREVIEW_CHARS: usize = 80;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(LIST, get(list))
        .route("/lightning/r/Conversation/{id}/view", get(view))
        .route("/lightning/r/Conversation/{id}/transcript", get(transcript))
        .route(
            "/lightning/r/Conversation/{id}/attachments/{attachment}",
            get(attachment),
        )
        .route(
            "/lightning/r/Conversation/{id}/reply",
            post(reply).layer(DefaultBodyLimit::max(REPLY_FORM_LIMIT)),
        )
        .route("/lightning/r/Conversation/{id}/end", post(end))
        .route("/lightning/r/Conversation/{id}/routing", post(routing))
}

pub fn view_href(id: &str) -> String {
    format!("/lightning/r/Conversation/{}/view", path_segment(id))
}

fn attachment_href(conversation: &str, attachment: &str) -> String {
    format!(
        "/lightning/r/Conversation/{}/attachments/{}",
        path_segment(conversation),
        path_segment(attachment)
    )
}

/// Whether `id` can name a record at all. Anything else is not found without asking the
/// database (PostgreSQL refuses text with NUL, which would otherwise be a 500).
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && !id.chars().any(char::is_control)
}

fn not_found(kind: &'static str, name: &str) -> ApiError {
    ApiError::from(byoc_core::SetupError::NotFound {
        kind,
        name: name.to_string(),
    })
}

fn store_refusal(e: byoc_store::StoreError) -> ApiError {
    ApiError::from(ServiceError::Store(e))
}

/// `YYYY-MM-DD HH:MM:SS UTC`, to the second (a transcript reads by seconds).
fn time_of(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn iso_time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}

#[derive(Template)]
#[template(path = "console/agent/refused.html")]
struct RefusedPage {
    l: Layout,
    message: String,
    back: &'static str,
}

/// A page showing only the API's refusal, with its status.
fn refused(session: &ConsoleSession, title: &str, e: ApiError) -> Response {
    refused_with(session, title, e.status(), e.message().to_string())
}

fn refused_with(
    session: &ConsoleSession,
    title: &str,
    status: StatusCode,
    message: String,
) -> Response {
    page_with_status(
        status,
        &RefusedPage {
            l: Layout::new(session, title, KEY),
            message,
            back: LIST,
        },
    )
}

// ---- the list -----------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ListQuery {
    channel: Option<String>,
    status: Option<String>,
}

struct ListRow {
    id: String,
    href: String,
    channel: String,
    end_user: String,
    status: String,
    last_activity: String,
    last_activity_iso: String,
    preview: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/agent/list.html")]
struct ListPage {
    l: Layout,
    action: &'static str,
    channels: Vec<Choice>,
    statuses: Vec<Choice>,
    rows: Vec<ListRow>,
    limit: i64,
    error: Option<String>,
}

async fn list(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ReadConversations) {
        return refused(&session, TITLE, e.into());
    }
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let wanted_channel = q.channel.as_deref().map(str::trim).unwrap_or("");
    let wanted_status = q.status.as_deref().map(str::trim).unwrap_or("");
    let store = state.setup.store();
    let channels = match store.channels().await {
        Ok(c) => c,
        Err(e) => return refused(&session, TITLE, store_refusal(e)),
    };
    let mut error = None;
    let channel_id = if wanted_channel.is_empty() {
        None
    } else {
        match channels
            .iter()
            .find(|c| c.developer_name == wanted_channel || c.id == wanted_channel)
        {
            Some(c) => Some(c.id.clone()),
            None => {
                error = Some(format!("There is no messaging channel {wanted_channel:?}."));
                None
            }
        }
    };
    let session_status = if wanted_status.is_empty() {
        None
    } else if let Some(s) = STATUSES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(wanted_status))
    {
        Some(s.to_string())
    } else {
        error = Some(format!(
            "status must be Active, Inactive or Ended, not {wanted_status:?}"
        ));
        None
    };
    let rows = if error.is_some() {
        Vec::new()
    } else {
        let filter = ConversationListFilter {
            channel_id,
            session_status,
            limit: LIST_LIMIT,
        };
        match store.repo().conversation_list(&filter).await {
            Ok(rows) => rows,
            Err(e) => return refused(&session, TITLE, store_refusal(e)),
        }
    };
    let channel_names: HashMap<&str, &str> = channels
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let rows = rows
        .into_iter()
        .map(|r| {
            let c = r.conversation;
            let preview = match (&r.last_message_role, &r.last_message_text) {
                (None, _) => String::new(),
                (Some(role), text) => {
                    let text = text
                        .as_deref()
                        .filter(|t| !t.trim().is_empty())
                        .unwrap_or("(attachment)");
                    let who = if role == "EndUser" { "" } else { "Agent: " };
                    format!("{who}{}", shorten(text, PREVIEW_CHARS))
                }
            };
            ListRow {
                href: view_href(&c.id),
                channel: channel_names
                    .get(c.channel_id.as_str())
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| c.ccd_developer_name.clone()),
                end_user: c.client_id,
                status: r.session_status.unwrap_or_default(),
                last_activity: time_of(c.updated_at),
                last_activity_iso: iso_time(c.updated_at),
                preview,
                id: c.id,
            }
        })
        .collect();
    let mut channel_choices = vec![Choice {
        value: String::new(),
        label: "All".into(),
        selected: wanted_channel.is_empty(),
    }];
    channel_choices.extend(channels.iter().map(|c| Choice {
        value: c.developer_name.clone(),
        label: c.name.clone(),
        selected: c.developer_name == wanted_channel || c.id == wanted_channel,
    }));
    let mut status_choices = vec![Choice {
        value: String::new(),
        label: "All".into(),
        selected: wanted_status.is_empty(),
    }];
    status_choices.extend(STATUSES.iter().map(|s| Choice {
        value: s.to_string(),
        label: s.to_string(),
        selected: s.eq_ignore_ascii_case(wanted_status),
    }));
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page_with_status(
        status,
        &ListPage {
            l: Layout::new(&session, TITLE, KEY),
            action: LIST,
            channels: channel_choices,
            statuses: status_choices,
            rows,
            limit: LIST_LIMIT,
            error,
        },
    )
}

// ---- the transcript -----------------------------------------------------------------------------

struct AttachmentLine {
    name: String,
    href: String,
    download_href: String,
    size: String,
    image: bool,
}

/// One line of the transcript: a message, a delivery failure, an event, or a session's start or
/// end.
struct Line {
    id: String,
    entry_type: String,
    /// `entry-end-user`, `entry-agent`, `entry-failure`, `entry-event` or `entry-session`.
    class: &'static str,
    who: String,
    time: String,
    time_iso: String,
    text: Option<String>,
    attachments: Vec<AttachmentLine>,
    /// An agent message's state: `Sent`, `Delivered`, `Read` or `Delivery failed`.
    status: Option<&'static str>,
}

struct RecordLine {
    label: String,
    key: String,
    updated: String,
    body: String,
}

struct Fact {
    label: &'static str,
    value: String,
}

/// What the live feed refreshes: the facts, the typing indicator, the transcript and the records.
struct Transcript {
    conversation_id: String,
    end_user: String,
    facts: Vec<Fact>,
    lines: Vec<Line>,
    /// Lines left out at the top (older than [`TRANSCRIPT_LIMIT`] lines).
    older: usize,
    records: Vec<RecordLine>,
    typing: bool,
    /// When "typing…" goes away by itself (epoch ms), and the server's clock now.
    typing_until: i64,
    now: i64,
}

fn size_label(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn event_label(entry_type: &str) -> &str {
    match entry_type {
        "RoutingWorkResult" => "Routing work result",
        "ParticipantChanged" => "Participant changed",
        "RoutingResult" => "Routing result",
        "Note" => "Note",
        "FlagRaise" => "Flag raised",
        "FlagLower" => "Flag lowered",
        "EndUserConsentUpdated" => "Consent updated",
        "ConsultConversationInfo" => "Consult conversation info",
        "SessionStatusChanged" => "Session status changed",
        other => other,
    }
}

fn record_label(kind: &str) -> &str {
    match kind {
        "route" => "Route",
        "routingResult" => "Routing result",
        "agentWork" => "Agent work",
        "participant" => "Participant",
        "capabilities" => "Channel capabilities",
        crate::pubsub::agent::ROUTING_REQUEST_RECORD => "Routing requested",
        other => other,
    }
}

/// Whether the end user is typing at `now`: their newest typing indicator is a start, no message
/// of theirs came after it, and it is younger than [`TYPING_WINDOW_MILLIS`]. Returns when it
/// stops showing.
fn typing_until(entries: &[EntryView], now: i64) -> Option<i64> {
    let mut since = None;
    for e in entries {
        if e.sender.role.as_deref() != Some("EndUser") {
            continue;
        }
        match e.entry_type.as_str() {
            "TypingStartedIndicator" => since = Some(e.server_timestamp),
            "TypingStoppedIndicator" | "Message" | "MessageDeliveryFailed" => since = None,
            _ => {}
        }
    }
    since
        .map(|t| t + TYPING_WINDOW_MILLIS)
        .filter(|until| *until > now)
}

fn transcript_of(
    detail: ConversationDetail,
    usernames: &HashMap<String, String>,
    channel_name: Option<String>,
    now: i64,
) -> Transcript {
    let c = &detail.conversation;
    let conversation_id = c.id.clone();
    let end_user = c.end_user_client_id.clone();
    let failed: HashSet<&str> = detail
        .entries
        .iter()
        .filter(|e| e.entry_type == "MessageDeliveryFailed")
        .filter_map(|e| e.acknowledged_entry_id.as_deref())
        .collect();
    let session_changes: HashSet<&str> = detail
        .entries
        .iter()
        .filter(|e| e.entry_type == "SessionStatusChanged")
        .filter_map(|e| e.messaging_session_id.as_deref())
        .collect();
    let who = |e: &EntryView| -> String {
        match e.sender.role.as_deref() {
            Some("EndUser") => end_user.clone(),
            role => {
                let subject = e.sender.subject.clone().unwrap_or_default();
                let name = subject
                    .get(..15)
                    .and_then(|id15| usernames.get(id15))
                    .cloned()
                    .unwrap_or(subject);
                match role {
                    Some("Agent") | None => name,
                    Some(r) => format!("{name} ({r})"),
                }
            }
        }
    };

    // Sessions oldest first, placed before the first entry at or after their start.
    let mut sessions: Vec<_> = detail.sessions.iter().collect();
    sessions.sort_by_key(|s| (s.started_at, s.id.clone()));
    let mut starts = sessions.iter().peekable();
    let mut ends: Vec<_> = sessions
        .iter()
        .filter(|s| s.status != "Active" && !session_changes.contains(s.id.as_str()))
        .filter_map(|s| s.ended_at.map(|t| (t, *s)))
        .collect();
    ends.sort_by_key(|(t, s)| (*t, s.id.clone()));
    let mut ends = ends.into_iter().peekable();
    let session_start = |s: &byoc_proto::interaction::SessionView| Line {
        id: format!("session-{}-started", s.id),
        entry_type: "SessionStarted".into(),
        class: "entry-session",
        who: String::new(),
        time: time_of(s.started_at),
        time_iso: iso_time(s.started_at),
        text: Some(format!("Messaging session {} started", s.id18)),
        attachments: vec![],
        status: None,
    };
    let session_end = |t: i64, s: &byoc_proto::interaction::SessionView| Line {
        id: format!("session-{}-ended", s.id),
        entry_type: "SessionEnded".into(),
        class: "entry-session",
        who: String::new(),
        time: time_of(t),
        time_iso: iso_time(t),
        text: Some(format!(
            "Messaging session {} {}",
            s.id18,
            if s.status == "Ended" {
                "ended".to_string()
            } else {
                format!("is {}", s.status)
            }
        )),
        attachments: vec![],
        status: None,
    };

    let mut lines = Vec::new();
    for e in &detail.entries {
        while let Some(s) = starts.next_if(|s| s.started_at <= e.server_timestamp) {
            lines.push(session_start(s));
        }
        while let Some((t, s)) = ends.next_if(|(t, _)| *t < e.server_timestamp) {
            lines.push(session_end(t, s));
        }
        let end_user_sent = e.sender.role.as_deref() == Some("EndUser");
        let (class, text, status) = match e.entry_type.as_str() {
            // Not lines: typing shows in the indicator, acknowledgements on the message.
            "TypingStartedIndicator"
            | "TypingStoppedIndicator"
            | "DeliveryAcknowledgement"
            | "ReadAcknowledgement" => continue,
            "Message" if end_user_sent => ("entry-end-user", e.text.clone(), None),
            "Message" => {
                let status = if failed.contains(e.id.as_str()) {
                    "Delivery failed"
                } else {
                    match e.acknowledgement.as_deref() {
                        Some("Read") => "Read",
                        Some("Delivered") => "Delivered",
                        _ => "Sent",
                    }
                };
                ("entry-agent", e.text.clone(), Some(status))
            }
            "MessageDeliveryFailed" => {
                let code = e.payload["errorCode"].as_str().unwrap_or("").to_string();
                let mut text = format!("Delivery failed: {code}");
                if let Some(m) = e.text.as_deref().filter(|m| !m.is_empty()) {
                    text.push_str(&format!(" — {m}"));
                }
                ("entry-failure", Some(text), None)
            }
            "SessionStatusChanged" => {
                let text = match e.sender.role.as_deref() {
                    Some("Agent") => "The agent ended the conversation".to_string(),
                    Some("EndUser") => "The end user ended the conversation".to_string(),
                    _ => "The messaging session's status changed".to_string(),
                };
                ("entry-event", Some(text), None)
            }
            other => {
                let label = event_label(other);
                let text = match e.text.as_deref().filter(|t| !t.is_empty()) {
                    Some(t) => format!("{label}: {t}"),
                    None => label.to_string(),
                };
                ("entry-event", Some(text), None)
            }
        };
        lines.push(Line {
            id: e.id.clone(),
            entry_type: e.entry_type.clone(),
            class,
            who: who(e),
            time: time_of(e.server_timestamp),
            time_iso: iso_time(e.server_timestamp),
            text: text.filter(|t| !t.is_empty()),
            attachments: e
                .attachments
                .iter()
                .map(|a| {
                    let href = attachment_href(&conversation_id, &a.id);
                    AttachmentLine {
                        name: a.name.clone(),
                        download_href: format!("{href}?download=1"),
                        href,
                        size: size_label(a.size),
                        image: PREVIEW_TYPES.contains(&a.mime_type.as_str()),
                    }
                })
                .collect(),
            status,
        });
    }
    lines.extend(starts.map(|s| session_start(s)));
    lines.extend(ends.map(|(t, s)| session_end(t, s)));
    let older = lines.len().saturating_sub(TRANSCRIPT_LIMIT);
    lines.drain(..older);

    let records = detail
        .records
        .iter()
        .map(|r: &RecordView| RecordLine {
            label: record_label(&r.kind).to_string(),
            key: r.key.clone(),
            updated: time_of(r.updated_at),
            body: shorten(
                &serde_json::to_string_pretty(&r.body).unwrap_or_default(),
                RECORD_BODY_CHARS,
            ),
        })
        .collect();

    let current = detail.sessions.first();
    let facts = vec![
        Fact {
            label: "Channel",
            value: channel_name.unwrap_or_else(|| c.conversation_channel_definition.clone()),
        },
        Fact {
            label: "Channel Address Identifier",
            value: c.channel_address_identifier.clone(),
        },
        Fact {
            label: "Conversation Channel Definition",
            value: c.conversation_channel_definition.clone(),
        },
        Fact {
            label: "End User",
            value: c.end_user_client_id.clone(),
        },
        Fact {
            label: "Messaging End User",
            value: c.end_user_id.clone(),
        },
        Fact {
            label: "Consent Status",
            value: c.consent_status.clone().unwrap_or_else(|| "Not set".into()),
        },
        Fact {
            label: "Messaging Session",
            value: current
                .map(|s| format!("{} ({})", s.id18, s.status))
                .unwrap_or_else(|| "None".into()),
        },
        Fact {
            label: "Started",
            value: time_of(c.created_at),
        },
        Fact {
            label: "Last Activity",
            value: time_of(c.updated_at),
        },
        Fact {
            label: "Entries",
            value: c.entry_count.to_string(),
        },
        Fact {
            label: "Conversation Identifier",
            value: c.id.clone(),
        },
    ];
    let typing = typing_until(&detail.entries, now);
    Transcript {
        conversation_id,
        end_user,
        facts,
        lines,
        older,
        records,
        typing: typing.is_some(),
        typing_until: typing.unwrap_or(0),
        now,
    }
}

/// The transcript of conversation `id`, if the session may read it.
async fn load(
    state: &ConsoleState,
    session: &ConsoleSession,
    id: &str,
) -> Result<(Transcript, bool), ApiError> {
    session
        .actor
        .authorize(SetupAction::ReadConversations)
        .map_err(ApiError::from)?;
    if !plausible_id(id) {
        return Err(not_found("Conversation", id));
    }
    let store = state.setup.store();
    let detail = crate::scrt::admin::conversation_detail(store, id).await?;
    let channel = store
        .channel_by_ccd(&detail.conversation.conversation_channel_definition)
        .await
        .map_err(store_refusal)?;
    let partner_routed = channel
        .as_ref()
        .and_then(|c| c.conversation_channel_definition.as_ref())
        .is_some_and(|ccd| ccd.routing_owner == Owner::Partner);
    let usernames = store
        .users()
        .await
        .map_err(store_refusal)?
        .into_iter()
        .map(|u| (u.id.chars().take(15).collect::<String>(), u.username))
        .collect();
    let now = state.oauth.now();
    Ok((
        transcript_of(detail, &usernames, channel.map(|c| c.name), now),
        partner_routed,
    ))
}

/// What the agent typed, given back with a refusal.
#[derive(Default)]
struct Typed {
    text: String,
    routing_type: String,
    queue_id: String,
    user: String,
    flow_id: String,
}

#[derive(Template)]
#[template(path = "console/agent/conversation.html")]
struct ConversationPage {
    l: Layout,
    list: &'static str,
    t: Transcript,
    partner_routed: bool,
    reply_action: String,
    end_action: String,
    routing_action: String,
    transcript_href: String,
    idempotency_key: String,
    error: Option<String>,
    typed: Typed,
}

#[derive(Template)]
#[template(path = "console/agent/live_parts.html")]
struct LiveParts {
    t: Transcript,
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn render_conversation(
    state: &ConsoleState,
    session: &ConsoleSession,
    id: &str,
    status: StatusCode,
    error: Option<String>,
    typed: Typed,
) -> Response {
    let title = "Conversation";
    match load(state, session, id).await {
        Ok((t, partner_routed)) => {
            let base = format!("/lightning/r/Conversation/{}", path_segment(id));
            page_with_status(
                status,
                &ConversationPage {
                    l: Layout::new(session, format!("Conversation with {}", t.end_user), KEY),
                    list: LIST,
                    partner_routed,
                    reply_action: format!("{base}/reply"),
                    end_action: format!("{base}/end"),
                    routing_action: format!("{base}/routing"),
                    transcript_href: format!("{base}/transcript"),
                    idempotency_key: new_key(),
                    t,
                    error,
                    typed,
                },
            )
        }
        // The action's own refusal wins over the page's (e.g. a user who may neither read nor
        // work conversations is told about the action they tried).
        Err(e) => match error {
            Some(message) => refused_with(session, title, status, message),
            None => refused(session, title, e),
        },
    }
}

async fn view(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Response {
    render_conversation(
        &state,
        &session,
        &id,
        StatusCode::OK,
        None,
        Typed::default(),
    )
    .await
}

/// The page's live parts (facts, typing indicator, transcript, records) for `agent-console.js`.
async fn transcript(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Response {
    match load(&state, &session, &id).await {
        Ok((t, _)) => page_with_status(StatusCode::OK, &LiveParts { t }),
        Err(e) => (
            e.status(),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            e.message().to_string(),
        )
            .into_response(),
    }
}

#[derive(Deserialize, Default)]
struct AttachmentQuery {
    download: Option<String>,
}

/// A file of the conversation. The same permission as `GET /admin/v1/attachments/{id}` for a
/// console user; only the conversation's own attachments; never served as something a browser
/// renders as a page: images of [`PREVIEW_TYPES`] as themselves (inline unless `?download`),
/// everything else as `application/octet-stream` and a download.
async fn attachment(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path((id, attachment_id)): Path<(String, String)>,
    q: Result<Query<AttachmentQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ReadConversations) {
        return refused(&session, "Attachment", e.into());
    }
    if !plausible_id(&id) || !plausible_id(&attachment_id) {
        return refused(
            &session,
            "Attachment",
            not_found("Attachment", &attachment_id),
        );
    }
    let found = match state
        .setup
        .store()
        .repo()
        .attachment_content(&attachment_id)
        .await
    {
        Ok(f) => f,
        Err(e) => return refused(&session, "Attachment", store_refusal(e)),
    };
    let Some((meta, bytes)) = found.filter(|(m, _)| m.conversation_id == id) else {
        return refused(
            &session,
            "Attachment",
            not_found("Attachment", &attachment_id),
        );
    };
    let download = q.map(|Query(q)| q).unwrap_or_default().download.is_some();
    let image = PREVIEW_TYPES.contains(&meta.mime_type.as_str());
    let content_type = if image {
        HeaderValue::from_str(&meta.mime_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"))
    } else {
        HeaderValue::from_static("application/octet-stream")
    };
    let attachment = crate::scrt::admin::content_disposition(&meta.name);
    let disposition = if image && !download {
        attachment
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("attachment"))
            .and_then(|rest| HeaderValue::from_str(&format!("inline{rest}")).ok())
            .unwrap_or(attachment)
    } else {
        attachment
    };
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

// ---- the agent's actions ------------------------------------------------------------------------

/// Whether the script asked (`Accept: application/json`): then the answer is JSON, not a page.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The form's idempotency key, if it is one the admin API would take.
fn idempotency_key(value: &str) -> Option<&str> {
    Some(value).filter(|k| {
        !k.is_empty()
            && k.len() <= MAX_IDEMPOTENCY_KEY_CHARS
            && k.chars().all(|c| c.is_ascii_graphic())
    })
}

/// How an action ends: JSON for the script, 303 back to the conversation, or the page again
/// with the API's refusal.
async fn answer<T: serde::Serialize>(
    state: &ConsoleState,
    session: &ConsoleSession,
    id: &str,
    json: bool,
    outcome: Result<T, ApiError>,
    typed: Typed,
) -> Response {
    match outcome {
        Ok(done) if json => (StatusCode::CREATED, Json(done)).into_response(),
        Ok(_) => see_other(&view_href(id)),
        Err(e) if json => (
            e.status(),
            Json(serde_json::json!({ "message": e.message() })),
        )
            .into_response(),
        Err(e) => {
            render_conversation(
                state,
                session,
                id,
                e.status(),
                Some(e.message().to_string()),
                typed,
            )
            .await
        }
    }
}

fn may_work(session: &ConsoleSession) -> Result<(), ApiError> {
    session
        .actor
        .authorize(SetupAction::WorkConversations)
        .map_err(ApiError::from)
}

/// Every agent action's first checks: the user may work conversations, and `id` could be one
/// (anything else is the API's 404 without a database read).
fn may_act_on(session: &ConsoleSession, id: &str) -> Result<(), ApiError> {
    may_work(session)?;
    if !plausible_id(id) {
        return Err(not_found("Conversation", id));
    }
    Ok(())
}

async fn reply(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<MultipartForm, Refused>,
) -> Response {
    let form = match form {
        Ok(f) => f,
        Err(Refused::TooLarge) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "The attachment is larger than 25 MB.",
            )
                .into_response()
        }
        Err(r) => return r.into_response(),
    };
    let json = wants_json(&headers);
    let typed = Typed {
        text: form.get("text").to_string(),
        ..Typed::default()
    };
    let outcome = async {
        may_act_on(&form.session, &id)?;
        let file = match form.file("file") {
            Some(f) => {
                let mime_type = f
                    .content_type
                    .as_deref()
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or("application/octet-stream");
                Some(ReplyFile::new(&f.file_name, mime_type, f.bytes.clone())?)
            }
            None => None,
        };
        let content = ReplyContent {
            // A form sends every line break of a textarea as CRLF (HTML's form encoding); the
            // message the agent typed has LF, as `byoc agent reply --text` sends it.
            text: form.get("text").replace("\r\n", "\n"),
            file,
        };
        let key = idempotency_key(form.get("idempotency_key"));
        Ok::<_, ApiError>(
            state
                .org
                .agents
                .reply(&id, &form.session.actor.user, content, key)
                .await?,
        )
    }
    .await;
    answer(&state, &form.session, &id, json, outcome, typed).await
}

async fn end(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: PostedForm,
) -> Response {
    let json = wants_json(&headers);
    let outcome = async {
        may_act_on(&form.session, &id)?;
        let key = idempotency_key(form.get("idempotency_key"));
        Ok::<_, ApiError>(
            state
                .org
                .agents
                .end(&id, &form.session.actor.user, key)
                .await?,
        )
    }
    .await;
    answer(&state, &form.session, &id, json, outcome, Typed::default()).await
}

async fn routing(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: PostedForm,
) -> Response {
    let json = wants_json(&headers);
    let some = |name: &str| Some(form.get(name).to_string()).filter(|v| !v.is_empty());
    let request = RoutingRequest {
        routing_type: some("routingType"),
        queue_id: some("queueId"),
        user: some("user"),
        flow_id: some("flowId"),
    };
    let typed = Typed {
        routing_type: form.get("routingType").to_string(),
        queue_id: form.get("queueId").to_string(),
        user: form.get("user").to_string(),
        flow_id: form.get("flowId").to_string(),
        text: String::new(),
    };
    let outcome = async {
        may_act_on(&form.session, &id)?;
        let key = idempotency_key(form.get("idempotency_key"));
        Ok::<_, ApiError>(
            state
                .org
                .agents
                .request_routing(&id, &form.session.actor.user, &request, key)
                .await?,
        )
    }
    .await;
    answer(&state, &form.session, &id, json, outcome, typed).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use byoc_proto::interaction::Participant;

    fn entry(entry_type: &str, role: &str, at: i64) -> EntryView {
        EntryView {
            id: format!("{entry_type}-{at}"),
            entry_type: entry_type.into(),
            sender: Participant {
                app_type: None,
                subject: Some("u".into()),
                role: Some(role.into()),
            },
            messaging_session_id: None,
            client_timestamp: at,
            server_timestamp: at,
            text: None,
            message_type: None,
            format_type: None,
            acknowledged_entry_id: None,
            attachments: vec![],
            acknowledgement: None,
            source: "interactions".into(),
            payload: serde_json::Value::Null,
        }
    }

    #[test]
    fn typing_shows_until_a_stop_a_message_or_the_window_passes() {
        let started = vec![entry("TypingStartedIndicator", "EndUser", 1_000)];
        assert_eq!(
            typing_until(&started, 1_500),
            Some(1_000 + TYPING_WINDOW_MILLIS)
        );
        assert_eq!(typing_until(&started, 1_000 + TYPING_WINDOW_MILLIS), None);
        let mut stopped = started.clone();
        stopped.push(entry("TypingStoppedIndicator", "EndUser", 1_200));
        assert_eq!(typing_until(&stopped, 1_500), None);
        let mut sent = started.clone();
        sent.push(entry("Message", "EndUser", 1_300));
        assert_eq!(typing_until(&sent, 1_500), None);
        // The agent's message does not stop the end user's typing.
        let mut answered = started;
        answered.push(entry("Message", "Agent", 1_300));
        assert!(typing_until(&answered, 1_500).is_some());
    }

    #[test]
    fn hostile_ids_are_not_looked_up() {
        assert!(plausible_id("0a1b2c3d-aaaa-bbbb-cccc-000000000000"));
        assert!(!plausible_id(""));
        assert!(!plausible_id("a\0b"));
        assert!(!plausible_id(&"x".repeat(256)));
    }
}
