//! Pub/Sub at a glance (Setup > Platform Events): the org's topics with the CCDs that publish on
//! them and their schemas, the stored events with their replay ids and decoded payloads, and the
//! Subscribe streams open on this instance with their pending counts and last delivery.
//!
//! - `GET /lightning/setup/EventObjects/home`: every topic, the newest events across topics, and
//!   every open subscription.
//! - `GET /lightning/setup/EventObjects/{event}/view` (`Byoc_Outbound__e`): one topic — its
//!   schema (fields with Avro types, the JSON as GetSchema returns it), all its stored events
//!   newest first in pages (`?before=<replay id>`), and its subscriptions.
//!
//! - `GET/POST /lightning/setup/EventObjects/new`: *New Platform Event* (label, object name,
//!   description, publish behavior); `GET/POST /lightning/setup/EventObjects/{event}/fields/new`:
//!   *New Custom Field* of a defined event (data type, label, field name and the type's
//!   attributes). Both need *Customize Application* and save through the setup service, as the
//!   admin API does; a refused save shows the admin API's message above the form as typed.
//!
//! Reads need *Read conversations* ([`SetupAction::ReadConversations`], what
//! `GET /admin/v1/conversations` needs): the payloads carry the conversations' messages. An
//! unknown or mangled event name in the path is a 404 page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use byoc_core::events::{self, EventSchema};
use byoc_core::{SetupAction, SetupError};
use byoc_proto::admin::{CustomFieldInput, PlatformEventInput};
use byoc_proto::setup::{CustomField, FieldType, PublishBehavior};
use byoc_store::events::StoredEvent;
use serde::Deserialize;
use serde_json::Value;

use super::{
    page, page_with_status, path_segment, refusal, refused_page, see_other, ConsoleSession,
    ConsoleState, Layout, PostedForm,
};
use crate::pubsub::bus::Topic;
use crate::pubsub::registry::ActiveSubscription;
use crate::setup_service::ServiceError;

const KEY: &str = "platform-events";
const TITLE: &str = "Platform Events";
pub const HOME: &str = "/lightning/setup/EventObjects/home";
/// Events on the home page (across topics, newest first).
const HOME_EVENTS: i64 = 20;
/// Events per page of a topic.
const PAGE_SIZE: i64 = 50;
/// The longest field value shown; the rest is cut (payloads can hold 32,000 characters).
const MAX_VALUE_CHARS: usize = 4_000;

/// Setup's *New Platform Event*.
pub const NEW_EVENT: &str = "/lightning/setup/EventObjects/new";

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(HOME, get(home))
        .route(NEW_EVENT, get(new_event_form).post(create_event))
        .route(
            "/lightning/setup/EventObjects/{event}/view",
            get(topic_page),
        )
        .route(
            "/lightning/setup/EventObjects/{event}/fields/new",
            get(new_field_form).post(create_field),
        )
}

/// A defined event's *New Custom Field* page.
pub fn new_field_href(event: &str) -> String {
    format!(
        "/lightning/setup/EventObjects/{}/fields/new",
        path_segment(event)
    )
}

/// A topic's page, by its platform event's name (`Byoc_Outbound__e`).
pub fn topic_href(topic: &str) -> String {
    let event = byoc_core::events::platform_event_of(topic).unwrap_or(topic);
    format!("/lightning/setup/EventObjects/{}/view", path_segment(event))
}

/// The refusal page, unless the user may read conversations.
fn refused_unless_reader(session: &ConsoleSession) -> Option<Response> {
    session
        .actor
        .authorize(SetupAction::ReadConversations)
        .err()
        .map(|e| refused_page(session, TITLE, KEY, e.into()))
}

/// Seconds matter for events: `2026-11-29 09:49:29 UTC`.
fn timestamp(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn cut(mut text: String) -> String {
    if let Some((at, _)) = text.char_indices().nth(MAX_VALUE_CHARS) {
        text.truncate(at);
        text.push('…');
    }
    text
}

// ---- topics and schemas -------------------------------------------------------------------

struct CcdRef {
    label: String,
    href: String,
}

struct TopicRow {
    name: String,
    href: String,
    ccds: Vec<CcdRef>,
    schema_id: String,
    /// `Payload__c: null | string`, for the list.
    fields: Vec<String>,
    latest: i64,
    retained: i64,
    subscriptions: usize,
}

struct FieldRow {
    name: String,
    avro_type: String,
    doc: String,
}

/// An Avro type as a person reads it: `long`, `null | string`.
fn avro_type(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(avro_type).collect::<Vec<_>>().join(" | "),
        Value::Object(o) => o
            .get("type")
            .map(avro_type)
            .unwrap_or_else(|| t.to_string()),
        other => other.to_string(),
    }
}

/// The fields of an Avro record schema (JSON), in order.
fn schema_fields(json: &str) -> Vec<FieldRow> {
    let Ok(doc) = serde_json::from_str::<Value>(json) else {
        return vec![];
    };
    doc.get("fields")
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .map(|f| FieldRow {
                    name: f
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    avro_type: f.get("type").map(avro_type).unwrap_or_default(),
                    doc: f
                        .get("doc")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The channel of each CCD (developer name → channel name), for links to the CCD's page.
async fn channels_by_ccd(state: &ConsoleState) -> Result<HashMap<String, String>, ServiceError> {
    Ok(state
        .org
        .bus
        .store()
        .channels()
        .await
        .map_err(ServiceError::from)?
        .into_iter()
        .filter_map(|c| {
            c.conversation_channel_definition
                .map(|ccd| (ccd.developer_name, c.name))
        })
        .collect())
}

fn ccd_refs(t: &Topic, channels: &HashMap<String, String>) -> Vec<CcdRef> {
    t.ccds
        .iter()
        .map(|c| CcdRef {
            label: c.developer_name.clone(),
            href: channels
                .get(&c.developer_name)
                .map(|name| super::messaging::ccd_href(name))
                .unwrap_or_else(|| super::messaging::HOME.to_string()),
        })
        .collect()
}

// ---- stored events ------------------------------------------------------------------------

struct FieldValue {
    name: String,
    value: String,
    /// A JSON value, shown pretty-printed in a block.
    block: bool,
}

struct EventRow {
    topic: String,
    topic_href: String,
    replay_id: i64,
    event_id: String,
    created: String,
    created_by: String,
    schema_id: String,
    fields: Vec<FieldValue>,
    /// What the event carries, in a few words (`Message: Hi!`).
    summary: Option<String>,
    /// The conversation it belongs to, if the payload names one.
    conversation: Option<(String, String)>,
    /// Why the payload could not be decoded.
    error: Option<String>,
}

/// Decoders by schema id: the topic's current schema, and schemas events were written with
/// before the CCDs changed (rebuilt from the stored schema JSON; `None` if that fails).
struct Decoders {
    by_id: HashMap<String, Option<EventSchema>>,
}

impl Decoders {
    fn new(topics: &[Topic]) -> Decoders {
        Decoders {
            by_id: topics
                .iter()
                .map(|t| (t.schema.id().to_string(), Some(t.schema.clone())))
                .collect(),
        }
    }

    async fn get(&mut self, state: &ConsoleState, schema_id: &str) -> Option<&EventSchema> {
        if !self.by_id.contains_key(schema_id) {
            let rebuilt = match state.org.bus.store().repo().event_schema(schema_id).await {
                Ok(Some(stored)) => rebuild_schema(&stored.schema_json, schema_id),
                _ => None,
            };
            self.by_id.insert(schema_id.to_string(), rebuilt);
        }
        self.by_id.get(schema_id).and_then(Option::as_ref)
    }
}

/// A stored schema read back (event name, fields and their types); used only if it is the
/// same schema (same id).
fn rebuild_schema(json: &str, schema_id: &str) -> Option<EventSchema> {
    EventSchema::from_json(json)
        .ok()
        .filter(|s| s.id() == schema_id)
}

/// What an interaction or routing event carries, from its JSON payload field.
fn summarize(value: &Value) -> (Option<String>, Option<String>) {
    let conversation = value
        .get("conversationIdentifier")
        .and_then(Value::as_str)
        .map(str::to_string);
    let payload = value.get("payload");
    let entry_type = payload
        .and_then(|p| p.get("entryType"))
        .and_then(Value::as_str);
    let text = payload
        .and_then(|p| p.pointer("/entryPayload/abstractMessage/staticContent/text"))
        .and_then(Value::as_str);
    let summary = match (entry_type, text) {
        (Some(t), Some(text)) => Some(format!("{t}: {text}")),
        (Some(t), None) => Some(t.to_string()),
        (None, _) => value
            .get("eventType")
            .or_else(|| value.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    (summary.map(cut), conversation)
}

async fn event_row(
    state: &ConsoleState,
    decoders: &mut Decoders,
    topic: &str,
    e: StoredEvent,
) -> EventRow {
    let mut row = EventRow {
        topic: topic.to_string(),
        topic_href: topic_href(topic),
        replay_id: e.replay_id,
        event_id: e.event_id,
        created: timestamp(e.created_at),
        created_by: String::new(),
        schema_id: e.schema_id.clone(),
        fields: vec![],
        summary: None,
        conversation: None,
        error: None,
    };
    let Some(schema) = decoders.get(state, &e.schema_id).await else {
        row.error = Some(format!(
            "written with schema {}, which byoc can't read any more ({} bytes)",
            e.schema_id,
            e.payload.len()
        ));
        return row;
    };
    match schema.decode(&e.payload) {
        Ok(fields) => {
            row.created_by = fields.created_by_id;
            for (name, value) in fields.fields {
                let Some(value) = value else {
                    row.fields.push(FieldValue {
                        name,
                        value: "null".into(),
                        block: false,
                    });
                    continue;
                };
                let json = value
                    .starts_with('{')
                    .then(|| serde_json::from_str::<Value>(&value).ok())
                    .flatten();
                match json {
                    Some(json) => {
                        if row.summary.is_none() {
                            let (summary, conversation) = summarize(&json);
                            row.summary = summary;
                            row.conversation = conversation.map(|id| {
                                let href =
                                    format!("/lightning/r/Conversation/{}/view", path_segment(&id));
                                (id, href)
                            });
                        }
                        let pretty = serde_json::to_string_pretty(&json).unwrap_or(value);
                        row.fields.push(FieldValue {
                            name,
                            value: cut(pretty),
                            block: true,
                        });
                    }
                    None => row.fields.push(FieldValue {
                        name,
                        value: cut(value),
                        block: false,
                    }),
                }
            }
        }
        Err(err) => row.error = Some(format!("the payload does not decode: {err}")),
    }
    row
}

/// Up to `limit` events of `topic` with a replay id below `before`, newest first. Replay ids
/// of a topic are gapless (the store assigns them from a counter in the appending
/// transaction), so the window `[before - limit, before)` holds them; purged ones are simply
/// missing.
async fn events_before(
    state: &ConsoleState,
    topic: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, ServiceError> {
    let after = before.saturating_sub(limit).saturating_sub(1).max(0);
    let mut events = state
        .org
        .bus
        .store()
        .repo()
        .read_events(topic, after, limit)
        .await
        .map_err(ServiceError::from)?;
    events.retain(|e| e.replay_id < before);
    events.reverse();
    Ok(events)
}

// ---- subscriptions ------------------------------------------------------------------------

struct SubscriptionRow {
    id: u64,
    topic: String,
    topic_href: String,
    app: String,
    user: String,
    peer: String,
    started: String,
    pending: i32,
    last_replay_id: String,
    last_delivery: String,
    delivered: u64,
}

impl SubscriptionRow {
    fn new(s: ActiveSubscription) -> SubscriptionRow {
        SubscriptionRow {
            id: s.id,
            topic_href: topic_href(&s.topic),
            topic: s.topic,
            app: s.app.unwrap_or_else(|| "(session id)".into()),
            user: s.user,
            peer: s.peer.unwrap_or_default(),
            started: timestamp(s.started_at),
            pending: s.pending,
            last_replay_id: s
                .last_replay_id
                .map(|r| r.to_string())
                .unwrap_or_else(|| "—".into()),
            last_delivery: s
                .last_delivery_at
                .map(timestamp)
                .unwrap_or_else(|| "—".into()),
            delivered: s.delivered,
        }
    }
}

// ---- pages --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/platform_events/home.html")]
struct HomePage {
    l: Layout,
    new_event: &'static str,
    topics: Vec<TopicRow>,
    events: Vec<EventRow>,
    subscriptions: Vec<SubscriptionRow>,
    unlisted: u64,
    show_topic: bool,
}

async fn home(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Some(r) = refused_unless_reader(&session) {
        return r;
    }
    match home_page(&state, &session).await {
        Ok(p) => page(&p),
        Err(e) => refused_page(&session, TITLE, KEY, e),
    }
}

async fn home_page(
    state: &ConsoleState,
    session: &ConsoleSession,
) -> Result<HomePage, ServiceError> {
    let topics = state.org.bus.topics().await.map_err(ServiceError::from)?;
    let channels = channels_by_ccd(state).await?;
    let subscriptions = state.org.pubsub.subscriptions();
    let mut decoders = Decoders::new(&topics);
    let mut rows = Vec::with_capacity(topics.len());
    let mut newest: Vec<(String, StoredEvent)> = Vec::new();
    for t in &topics {
        let bounds = state
            .org
            .bus
            .store()
            .repo()
            .topic_bounds(&t.name)
            .await
            .map_err(ServiceError::from)?;
        for e in events_before(state, &t.name, bounds.latest.saturating_add(1), HOME_EVENTS).await?
        {
            newest.push((t.name.clone(), e));
        }
        rows.push(TopicRow {
            name: t.name.clone(),
            href: topic_href(&t.name),
            ccds: ccd_refs(t, &channels),
            schema_id: t.schema.id().to_string(),
            fields: schema_fields(t.schema.json())
                .into_iter()
                .map(|f| format!("{}: {}", f.name, f.avro_type))
                .collect(),
            latest: bounds.latest,
            retained: bounds
                .oldest_retained
                .map(|o| bounds.latest - o + 1)
                .unwrap_or(0),
            subscriptions: subscriptions.iter().filter(|s| s.topic == t.name).count(),
        });
    }
    // Newest first across topics: by creation time, then replay id.
    newest.sort_by_key(|(_, e)| std::cmp::Reverse((e.created_at, e.replay_id)));
    newest.truncate(usize::try_from(HOME_EVENTS).unwrap_or(20));
    let mut events = Vec::with_capacity(newest.len());
    for (topic, e) in newest {
        events.push(event_row(state, &mut decoders, &topic, e).await);
    }
    Ok(HomePage {
        l: Layout::new(session, TITLE, KEY),
        new_event: NEW_EVENT,
        show_topic: true,
        topics: rows,
        events,
        subscriptions: subscriptions
            .into_iter()
            .map(SubscriptionRow::new)
            .collect(),
        unlisted: state.org.pubsub.unlisted_subscriptions(),
    })
}

#[derive(Deserialize, Default)]
struct TopicQuery {
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "console/platform_events/topic.html")]
struct TopicPage {
    l: Layout,
    home: &'static str,
    /// A defined event's *New Custom Field* page (`None`: only CCDs name the event).
    new_field: Option<String>,
    /// A defined event's custom fields: API name, label, Setup's type (`Text(255)`).
    defined_fields: Vec<(String, String, String)>,
    name: String,
    schema_id: String,
    schema_json: String,
    ccds: Vec<CcdRef>,
    fields: Vec<FieldRow>,
    latest: i64,
    oldest: Option<i64>,
    events: Vec<EventRow>,
    subscriptions: Vec<SubscriptionRow>,
    show_topic: bool,
    newer: Option<String>,
    older: Option<String>,
}

fn not_found(session: &ConsoleSession, name: &str) -> Response {
    refused_page(
        session,
        TITLE,
        KEY,
        SetupError::NotFound {
            kind: "Platform event",
            name: name.escape_debug().to_string(),
        }
        .into(),
    )
}

async fn topic_page(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    event: Result<Path<String>, PathRejection>,
    q: Result<Query<TopicQuery>, QueryRejection>,
) -> Response {
    if let Some(r) = refused_unless_reader(&session) {
        return r;
    }
    let Ok(Path(event)) = event else {
        return not_found(&session, "");
    };
    // Matched in memory against the org's topics: nothing from the path reaches the database.
    let topic = match state
        .org
        .bus
        .topic(&format!("{}{event}", byoc_core::events::TOPIC_PREFIX))
        .await
    {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(&session, &event),
        Err(e) => return refused_page(&session, TITLE, KEY, ServiceError::from(e)),
    };
    let q = q.map(|Query(q)| q).unwrap_or_default();
    match topic_view(&state, &session, topic, &q).await {
        Ok(p) => page(&p),
        Err(e) => refused_page(&session, TITLE, KEY, e),
    }
}

async fn topic_view(
    state: &ConsoleState,
    session: &ConsoleSession,
    topic: Topic,
    q: &TopicQuery,
) -> Result<TopicPage, ServiceError> {
    let bounds = state
        .org
        .bus
        .store()
        .repo()
        .topic_bounds(&topic.name)
        .await
        .map_err(ServiceError::from)?;
    let first = bounds.latest.saturating_add(1);
    // A cursor outside the log shows the newest page.
    let before = q
        .before
        .as_deref()
        .and_then(|b| b.trim().parse::<i64>().ok())
        .filter(|b| *b > 0 && *b < first)
        .unwrap_or(first);
    let stored = events_before(state, &topic.name, before, PAGE_SIZE).await?;
    let href = topic_href(&topic.name);
    let page_link = |before: i64| {
        if before >= first {
            href.clone()
        } else {
            format!("{href}?before={before}")
        }
    };
    let newer = (before < first).then(|| page_link(before.saturating_add(PAGE_SIZE)));
    let oldest_shown = stored.last().map(|e| e.replay_id);
    let older = match (oldest_shown, bounds.oldest_retained) {
        (Some(shown), Some(oldest)) if shown > oldest => Some(page_link(shown)),
        _ => None,
    };
    let mut decoders = Decoders::new(std::slice::from_ref(&topic));
    let mut events = Vec::with_capacity(stored.len());
    for e in stored {
        events.push(event_row(state, &mut decoders, &topic.name, e).await);
    }
    let subscriptions = state
        .org
        .pubsub
        .subscriptions()
        .into_iter()
        .filter(|s| s.topic == topic.name)
        .map(SubscriptionRow::new)
        .collect();
    let schema_json = serde_json::from_str::<Value>(topic.schema.json())
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| topic.schema.json().to_string());
    let defined_fields = topic
        .definition
        .iter()
        .flat_map(|d| d.fields.iter())
        .map(|f| (f.full_name.clone(), f.label.clone(), type_text(f)))
        .collect();
    Ok(TopicPage {
        l: Layout::new(session, topic.schema.event_name().to_string(), KEY),
        home: HOME,
        new_field: topic
            .definition
            .as_ref()
            .map(|d| new_field_href(&d.full_name)),
        defined_fields,
        ccds: ccd_refs(&topic, &channels_by_ccd(state).await?),
        fields: schema_fields(topic.schema.json()),
        schema_id: topic.schema.id().to_string(),
        schema_json,
        name: topic.name,
        latest: bounds.latest,
        oldest: bounds.oldest_retained,
        events,
        subscriptions,
        show_topic: false,
        newer,
        older,
    })
}

/// A field's type as Setup lists it: `Text(255)`, `Number(6, 2)`, `Text Area (Long)(32768)`.
fn type_text(f: &CustomField) -> String {
    match f.field_type {
        FieldType::Text | FieldType::LongTextArea => {
            format!("{}({})", f.field_type.label(), f.length.unwrap_or_default())
        }
        FieldType::Number => format!(
            "Number({}, {})",
            f.precision.unwrap_or_default(),
            f.scale.unwrap_or_default()
        ),
        t => t.label().to_string(),
    }
}

// ---- New Platform Event / New Custom Field ------------------------------------------------

/// The forms need *Customize Application*: without it the page says so.
#[allow(clippy::result_large_err)]
fn may_define(session: &ConsoleSession, title: &str) -> Result<(), Response> {
    session
        .actor
        .authorize(SetupAction::ManagePlatformEvents)
        .map_err(|e| refused_page(session, title, KEY, e.into()))
}

#[derive(Template)]
#[template(path = "console/platform_events/new_event.html")]
struct NewEventPage {
    l: Layout,
    label: String,
    plural_label: String,
    api_name: String,
    description: String,
    publish_behavior: String,
    error: Option<String>,
    action: &'static str,
    cancel: &'static str,
}

const NEW_EVENT_TITLE: &str = "New Platform Event";

async fn new_event_form(session: ConsoleSession) -> Response {
    if let Err(r) = may_define(&session, NEW_EVENT_TITLE) {
        return r;
    }
    page(&NewEventPage {
        l: Layout::new(&session, NEW_EVENT_TITLE, KEY),
        label: String::new(),
        plural_label: String::new(),
        api_name: String::new(),
        description: String::new(),
        publish_behavior: "PublishAfterCommit".into(),
        error: None,
        action: NEW_EVENT,
        cancel: HOME,
    })
}

/// Optional text: `None` when the form field was left empty.
fn given(form: &PostedForm, name: &str) -> Option<String> {
    Some(form.get(name).to_string()).filter(|v| !v.is_empty())
}

async fn create_event(State(state): State<ConsoleState>, form: PostedForm) -> Response {
    let api_name = form.get("api_name").to_string();
    let full_name = if api_name.ends_with("__e") || api_name.is_empty() {
        api_name.clone()
    } else {
        format!("{api_name}__e")
    };
    let publish_behavior = match form.get("publish_behavior") {
        "PublishImmediately" => PublishBehavior::PublishImmediately,
        _ => PublishBehavior::PublishAfterCommit,
    };
    let input = PlatformEventInput {
        full_name: Some(full_name),
        label: given(&form, "label"),
        plural_label: given(&form, "plural_label"),
        description: given(&form, "description"),
        event_type: None,
        publish_behavior: Some(publish_behavior),
        fields: None,
    };
    match state
        .setup
        .create_platform_event(&form.session.actor, &input)
        .await
    {
        Ok(out) => see_other(&topic_href(&events::topic_name(&out.record.full_name))),
        Err(e) => {
            let (status, message) = refusal(e);
            page_with_status(
                status,
                &NewEventPage {
                    l: Layout::new(&form.session, NEW_EVENT_TITLE, KEY),
                    label: form.get("label").to_string(),
                    plural_label: form.get("plural_label").to_string(),
                    api_name,
                    description: form.get("description").to_string(),
                    publish_behavior: form.get("publish_behavior").to_string(),
                    error: Some(message),
                    action: NEW_EVENT,
                    cancel: HOME,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "console/platform_events/new_field.html")]
struct NewFieldPage {
    l: Layout,
    home: &'static str,
    event: String,
    /// (value, label) of each type platform event fields may have.
    types: Vec<(&'static str, &'static str)>,
    field_type: String,
    label: String,
    api_name: String,
    length: String,
    visible_lines: String,
    precision: String,
    scale: String,
    default_value: String,
    required: bool,
    description: String,
    error: Option<String>,
    action: String,
    cancel: String,
}

const NEW_FIELD_TITLE: &str = "New Custom Field";

impl NewFieldPage {
    fn blank(session: &ConsoleSession, event: &str) -> NewFieldPage {
        NewFieldPage {
            l: Layout::new(session, NEW_FIELD_TITLE, KEY),
            home: HOME,
            event: event.to_string(),
            types: FieldType::ALL.map(|t| (t.as_str(), t.label())).to_vec(),
            field_type: FieldType::Text.as_str().into(),
            label: String::new(),
            api_name: String::new(),
            length: String::new(),
            visible_lines: String::new(),
            precision: String::new(),
            scale: String::new(),
            default_value: String::new(),
            required: false,
            description: String::new(),
            error: None,
            action: new_field_href(event),
            cancel: topic_href(&events::topic_name(event)),
        }
    }
}

async fn new_field_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(event)) = path else {
        return not_found(&session, "?");
    };
    if let Err(r) = may_define(&session, NEW_FIELD_TITLE) {
        return r;
    }
    if event.chars().any(char::is_control) {
        return not_found(&session, &event.escape_debug().to_string());
    }
    match state.setup.platform_event(&event).await {
        Ok(d) => page(&NewFieldPage::blank(&session, &d.full_name)),
        Err(e) => refused_page(&session, NEW_FIELD_TITLE, KEY, e),
    }
}

async fn create_field(
    State(state): State<ConsoleState>,
    path: Result<Path<String>, PathRejection>,
    form: PostedForm,
) -> Response {
    let Ok(Path(event)) = path else {
        return not_found(&form.session, "?");
    };
    if event.chars().any(char::is_control) {
        return not_found(&form.session, &event.escape_debug().to_string());
    }
    let api_name = form.get("api_name").to_string();
    let full_name = if api_name.ends_with("__c") || api_name.is_empty() {
        api_name.clone()
    } else {
        format!("{api_name}__c")
    };
    let number = |name: &str| -> Result<Option<u32>, String> {
        match form.get(name) {
            "" => Ok(None),
            v => v
                .parse::<u32>()
                .map(Some)
                .map_err(|_| format!("{name} must be a whole number; got {v:?}.")),
        }
    };
    let mut page_for = NewFieldPage::blank(&form.session, &event);
    page_for.field_type = form.get("type").to_string();
    page_for.label = form.get("label").to_string();
    page_for.api_name = api_name;
    page_for.length = form.get("length").to_string();
    page_for.visible_lines = form.get("visible_lines").to_string();
    page_for.precision = form.get("precision").to_string();
    page_for.scale = form.get("scale").to_string();
    page_for.default_value = form.get("default_value").to_string();
    page_for.required = form.checked("required");
    page_for.description = form.get("description").to_string();
    let parsed = (|| -> Result<CustomFieldInput, String> {
        let field_type = FieldType::parse(form.get("type")).ok_or_else(|| {
            format!(
                "Data Type must be one of {}.",
                FieldType::ALL.map(FieldType::label).join(", ")
            )
        })?;
        Ok(CustomFieldInput {
            full_name: Some(full_name),
            label: given(&form, "label"),
            field_type: Some(field_type),
            length: number("length")?,
            precision: number("precision")?,
            scale: number("scale")?,
            visible_lines: number("visible_lines")?,
            required: Some(form.checked("required")),
            default_value: given(&form, "default_value"),
            description: given(&form, "description"),
            inline_help_text: None,
        })
    })();
    let input = match parsed {
        Ok(input) => input,
        Err(message) => {
            page_for.error = Some(message);
            return page_with_status(axum::http::StatusCode::BAD_REQUEST, &page_for);
        }
    };
    match state
        .setup
        .add_platform_event_field(&form.session.actor, &event, &input)
        .await
    {
        Ok(out) => see_other(&topic_href(&events::topic_name(&out.record.full_name))),
        Err(e) => {
            let (status, message) = refusal(e);
            page_for.error = Some(message);
            page_with_status(status, &page_for)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avro_types_read_as_people_write_them() {
        let s = EventSchema::new("Byoc_Outbound__e", ["Payload__c".to_string()]).unwrap();
        let fields = schema_fields(s.json());
        let shown: Vec<(String, String)> =
            fields.into_iter().map(|f| (f.name, f.avro_type)).collect();
        assert_eq!(
            shown,
            vec![
                ("CreatedDate".to_string(), "long".to_string()),
                ("CreatedById".to_string(), "string".to_string()),
                ("Payload__c".to_string(), "null | string".to_string()),
            ]
        );
    }

    #[test]
    fn a_stored_schema_is_rebuilt_only_if_it_is_the_same() {
        let s = EventSchema::new("Old__e", ["A__c".to_string(), "B__c".to_string()]).unwrap();
        let rebuilt = rebuild_schema(s.json(), s.id()).expect("rebuilt");
        assert_eq!(rebuilt.id(), s.id());
        assert!(rebuild_schema(s.json(), "another-id").is_none());
        assert!(rebuild_schema("not json", s.id()).is_none());
    }

    #[test]
    fn a_message_event_is_summarized_with_its_text_and_conversation() {
        let v = serde_json::json!({
            "conversationIdentifier": "c-1",
            "payload": {"entryType": "Message", "entryPayload": {"abstractMessage": {"staticContent": {"text": "Hi!"}}}}
        });
        assert_eq!(
            summarize(&v),
            (Some("Message: Hi!".to_string()), Some("c-1".to_string()))
        );
        assert_eq!(summarize(&serde_json::json!({"x": 1})), (None, None));
    }

    #[test]
    fn topic_pages_are_named_by_their_event() {
        assert_eq!(
            topic_href("/event/Byoc_Outbound__e"),
            "/lightning/setup/EventObjects/Byoc_Outbound__e/view"
        );
        assert_eq!(
            cut("é".repeat(MAX_VALUE_CHARS + 3)).chars().count(),
            MAX_VALUE_CHARS + 1
        );
    }
}
