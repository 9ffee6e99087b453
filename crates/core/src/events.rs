//! Platform events: topics, their Avro schemas, replay ids, and the outbound `InteractionEvent`.
//!
//! Each CCD's `customPlatformEvent` (e.g. `Byoc_Outbound__e`) is a topic `/event/<Name>__e`
//! ([Pub/Sub API topics](https://developer.salesforce.com/docs/platform/pub-sub-api/guide/supported-topics.html)).
//! Its schema is an Avro record in namespace `com.sforce.eventbus` with the standard fields
//! `CreatedDate` (long, epoch ms) and `CreatedById` (string), then the event's custom fields,
//! each a `["null", T]` union with default `null`:
//! - a defined event (Setup > Platform Events, [`PlatformEventDefinition`]): its fields in the
//!   order they were defined, T per type as Salesforce maps them ([`avro_type`]: Text and Long
//!   Text Area `string`, Number `double`, Checkbox `boolean`, Date/Time and Date `long`);
//! - an event a CCD names that nobody defined (an org from before definitions existed): the
//!   custom fields of every CCD naming it, sorted by name, all `string` — byte for byte the
//!   schema byoc always gave it, so its schema id doesn't change.
//!
//! The schema id is derived
//! from the schema's Avro Parsing Canonical Form, so the same fields always give the same id and
//! any change of fields gives a new one, as in Salesforce.
//!
//! Payloads are single raw Avro datums (binary encoding, no container file, no header), which is
//! what the Pub/Sub API carries in `ProducerEvent.payload`.

use std::collections::BTreeMap;

use apache_avro::types::Value;
use apache_avro::Schema;
use base64::Engine;
use byoc_proto::interaction::{AppType, Participant, ParticipantRole};
use byoc_proto::outbound::{
    ConversationEntry, InteractionEvent, RoutingRequested, INTERACTION_EVENT_TYPE,
    ROUTING_REQUESTED_EVENT_TYPE,
};
use byoc_proto::setup::{
    ConversationChannelDefinition, CustomField, FieldType, PlatformEventDefinition,
};
use sha2::{Digest, Sha256};

/// The Avro namespace of every platform event schema.
pub const NAMESPACE: &str = "com.sforce.eventbus";
/// Topic names of custom platform events start with this.
pub const TOPIC_PREFIX: &str = "/event/";
/// `CreatedDate`: when the event was published, epoch milliseconds.
pub const CREATED_DATE: &str = "CreatedDate";
/// `CreatedById`: the user who published it (18-character id).
pub const CREATED_BY_ID: &str = "CreatedById";
/// How long events are kept for replay: 72 hours, as Salesforce documents for high-volume
/// platform events.
pub const RETENTION_MILLIS: i64 = 72 * 60 * 60 * 1000;
/// At most this many events may be requested and not yet delivered on one subscription.
pub const MAX_PENDING_REQUESTED: i32 = 100;
/// Replay ids are 8 bytes, big-endian.
pub const REPLAY_ID_LEN: usize = 8;
/// The most one Avro decode may allocate: Salesforce's largest platform event message (1 MB).
/// apache-avro allocates a string's or array's claimed length before reading it (its default cap
/// is 512 MiB), so without this a few bytes claiming a huge string cost that much memory each.
pub const MAX_AVRO_ALLOCATION_BYTES: usize = 1024 * 1024;

/// Cap apache-avro's allocations at [`MAX_AVRO_ALLOCATION_BYTES`] for this process. The setting
/// is process-wide and the first call wins, so it runs before every decode (a `OnceLock` read
/// after the first time) and the server calls it at start.
pub fn limit_avro_allocations() {
    apache_avro::util::max_allocation_bytes(MAX_AVRO_ALLOCATION_BYTES);
}

/// Why an event, a schema or a topic name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("{0} is not a custom platform event name (expected Name__e)")]
    InvalidEventName(String),
    #[error("the schema of {event} can't be built: {message}")]
    Schema { event: String, message: String },
    #[error("the payload is not a single Avro datum of the topic's schema: {0}")]
    Payload(String),
    #[error("the payload has {0} bytes after the Avro datum")]
    TrailingBytes(usize),
    #[error("the event has no field {0}")]
    UnknownField(String),
    /// Salesforce: `REQUIRED_FIELD_MISSING`.
    #[error("Required fields are missing: [{0}]")]
    RequiredFieldsMissing(String),
    /// A value that doesn't fit its field's type or length.
    #[error("{field}: {message}")]
    InvalidValue { field: String, message: String },
}

/// `/event/<Name>__e` for a custom platform event API name.
pub fn topic_name(platform_event: &str) -> String {
    format!("{TOPIC_PREFIX}{platform_event}")
}

/// The platform event API name of a topic name (`/event/Byoc_Outbound__e` → `Byoc_Outbound__e`).
pub fn platform_event_of(topic: &str) -> Option<&str> {
    let name = topic.strip_prefix(TOPIC_PREFIX)?;
    valid_event_name(name).then_some(name)
}

fn valid_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_event_name(name: &str) -> bool {
    name.len() > 3 && name.ends_with("__e") && valid_field_name(name)
}

/// A replay id: the position of an event in its topic, 1 for the first event; 0 means "before
/// the first event". On the wire it is 8 bytes, big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReplayId(pub u64);

impl ReplayId {
    pub fn to_bytes(self) -> Vec<u8> {
        self.0.to_be_bytes().to_vec()
    }

    /// `None` for anything but exactly 8 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<ReplayId> {
        let array: [u8; REPLAY_ID_LEN] = bytes.try_into().ok()?;
        Some(ReplayId(u64::from_be_bytes(array)))
    }
}

/// The custom fields a CCD asks its platform event to have.
pub fn ccd_fields(ccd: &ConversationChannelDefinition) -> Vec<String> {
    [
        &ccd.custom_event_payload_field,
        &ccd.custom_event_type_field,
        &ccd.custom_event_channel_address_id_field,
        &ccd.custom_event_recipient_field,
    ]
    .into_iter()
    .filter(|f| !f.is_empty())
    .cloned()
    .collect()
}

/// One custom field of a topic's schema: its API name, its type, and what a value must satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaField {
    pub name: String,
    pub field_type: FieldType,
    /// Text and Long Text Area: the most characters a value may have (`None`: no limit, the
    /// schema of an event without a definition).
    pub length: Option<u32>,
    /// A published event must carry a value (Setup's *Required*).
    pub required: bool,
}

impl SchemaField {
    /// A text field without limits: what the schema of an undefined event has.
    fn text(name: &str) -> SchemaField {
        SchemaField {
            name: name.to_string(),
            field_type: FieldType::Text,
            length: None,
            required: false,
        }
    }

    fn of(field: &CustomField) -> SchemaField {
        SchemaField {
            name: field.full_name.clone(),
            field_type: field.field_type,
            length: match field.field_type {
                FieldType::Text | FieldType::LongTextArea => field.length,
                _ => None,
            },
            required: field.required && field.field_type != FieldType::Checkbox,
        }
    }
}

/// The Avro type of a custom field's value (inside the `["null", T]` union every custom field
/// has), as Salesforce's Pub/Sub API schemas give it: Text and Long Text Area `string`, Number
/// `double`, Checkbox `boolean`, Date/Time and Date `long` (epoch milliseconds; a Date is the
/// midnight UTC of its day).
pub fn avro_type(t: FieldType) -> &'static str {
    match t {
        FieldType::Text | FieldType::LongTextArea => "string",
        FieldType::Number => "double",
        FieldType::Checkbox => "boolean",
        FieldType::DateTime | FieldType::Date => "long",
    }
}

/// The `doc` of a custom field in the schema: `Data:<type>`. Salesforce appends the field's id
/// (`Data:Text:00N...`); byoc's fields have none (docs/pubsub.md). Long Text Area is `Data:Text`
/// as well: what Salesforce writes for a custom Long Text Area isn't documented.
fn field_doc(t: FieldType) -> &'static str {
    match t {
        FieldType::Text | FieldType::LongTextArea => "Data:Text",
        FieldType::Number => "Data:Double",
        FieldType::Checkbox => "Data:Boolean",
        FieldType::DateTime => "Data:DateTime",
        FieldType::Date => "Data:DateOnly",
    }
}

/// The field type a schema's field was written for, from its `doc` and Avro type (to read
/// schemas stored with old events).
fn field_type_of(avro: &str, doc: &str) -> Option<FieldType> {
    let kind = doc.split(':').nth(1).unwrap_or("");
    Some(match (avro, kind) {
        ("string", _) => FieldType::Text,
        ("double", _) => FieldType::Number,
        ("boolean", _) => FieldType::Checkbox,
        ("long", "DateOnly") => FieldType::Date,
        ("long", _) => FieldType::DateTime,
        _ => return None,
    })
}

/// The schema of one platform event topic.
#[derive(Debug, Clone)]
pub struct EventSchema {
    event_name: String,
    fields: Vec<SchemaField>,
    custom_fields: Vec<String>,
    schema: Schema,
    json: String,
    id: String,
}

impl EventSchema {
    /// The schema of an event without a definition: these custom fields, all text, sorted by
    /// name (order and duplicates don't matter). What byoc gave every event before platform
    /// events were setup objects, and still gives an event a CCD names but nobody defined.
    pub fn new(
        platform_event: &str,
        custom_fields: impl IntoIterator<Item = String>,
    ) -> Result<EventSchema, EventError> {
        let mut names: Vec<String> = custom_fields.into_iter().collect();
        names.sort();
        names.dedup();
        EventSchema::build(
            platform_event,
            names.iter().map(|n| SchemaField::text(n)).collect(),
        )
    }

    /// The schema of a defined platform event: its custom fields in the order they were defined
    /// (as Salesforce lists them), each with its type's Avro mapping.
    pub fn from_definition(
        definition: &PlatformEventDefinition,
    ) -> Result<EventSchema, EventError> {
        EventSchema::build(
            &definition.full_name,
            definition.fields.iter().map(SchemaField::of).collect(),
        )
    }

    /// A schema as `GetSchema` returned it (stored with the events written with it): the event
    /// name and the fields with their types, read back from the JSON.
    pub fn from_json(json: &str) -> Result<EventSchema, EventError> {
        let bad = |message: &str| EventError::Schema {
            event: "?".into(),
            message: message.into(),
        };
        let doc: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
        let name = doc
            .get("name")
            .and_then(|n| n.as_str())
            .ok_or_else(|| bad("no record name"))?;
        let mut fields = Vec::new();
        for f in doc
            .get("fields")
            .and_then(|f| f.as_array())
            .ok_or_else(|| bad("no fields"))?
        {
            let field_name = f.get("name").and_then(|n| n.as_str()).unwrap_or("");
            if field_name == CREATED_DATE || field_name == CREATED_BY_ID {
                continue;
            }
            let avro = f
                .get("type")
                .and_then(|t| t.as_array())
                .and_then(|u| u.get(1))
                .and_then(|t| t.as_str())
                .unwrap_or("");
            let doc = f.get("doc").and_then(|d| d.as_str()).unwrap_or("");
            let field_type = field_type_of(avro, doc)
                .ok_or_else(|| bad(&format!("field {field_name} has an unknown type")))?;
            fields.push(SchemaField {
                name: field_name.to_string(),
                field_type,
                length: None,
                required: false,
            });
        }
        EventSchema::build(name, fields)
    }

    fn build(platform_event: &str, fields: Vec<SchemaField>) -> Result<EventSchema, EventError> {
        if !valid_event_name(platform_event) {
            return Err(EventError::InvalidEventName(platform_event.to_string()));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(bad) = fields.iter().find(|f| {
            !valid_field_name(&f.name)
                || f.name == CREATED_DATE
                || f.name == CREATED_BY_ID
                || !seen.insert(f.name.to_ascii_lowercase())
        }) {
            return Err(EventError::Schema {
                event: platform_event.into(),
                message: format!("{:?} is not a usable custom field name", bad.name),
            });
        }
        let mut json_fields = vec![
            serde_json::json!({"name": CREATED_DATE, "type": "long", "doc": "CreatedDate:DateTime"}),
            serde_json::json!({"name": CREATED_BY_ID, "type": "string", "doc": "CreatedBy:EntityId"}),
        ];
        for f in &fields {
            json_fields.push(serde_json::json!({
                "name": f.name,
                "type": ["null", avro_type(f.field_type)],
                "doc": field_doc(f.field_type),
                "default": null,
            }));
        }
        let doc = serde_json::json!({
            "type": "record",
            "name": platform_event,
            "namespace": NAMESPACE,
            "fields": json_fields,
        });
        let json = doc.to_string();
        let schema = Schema::parse_str(&json).map_err(|e| EventError::Schema {
            event: platform_event.into(),
            message: e.to_string(),
        })?;
        // 16 bytes of SHA-256 over the Parsing Canonical Form, base64url: 22 characters, the
        // length of Salesforce's schema ids.
        let digest = Sha256::digest(schema.canonical_form().as_bytes());
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
        Ok(EventSchema {
            event_name: platform_event.to_string(),
            custom_fields: fields.iter().map(|f| f.name.clone()).collect(),
            fields,
            schema,
            json,
            id,
        })
    }

    /// The schema of a topic whose event is named by these CCDs but has no definition (all
    /// CCDs naming the same event share one topic, so its fields are the union of theirs).
    pub fn for_ccds<'a>(
        platform_event: &str,
        ccds: impl IntoIterator<Item = &'a ConversationChannelDefinition>,
    ) -> Result<EventSchema, EventError> {
        EventSchema::new(platform_event, ccds.into_iter().flat_map(ccd_fields))
    }

    pub fn event_name(&self) -> &str {
        &self.event_name
    }

    pub fn topic_name(&self) -> String {
        topic_name(&self.event_name)
    }

    /// The custom fields' API names, in schema order.
    pub fn custom_fields(&self) -> &[String] {
        &self.custom_fields
    }

    /// The custom fields with their types, in schema order.
    pub fn fields(&self) -> &[SchemaField] {
        &self.fields
    }

    /// A custom field by API name (exact, as the schema spells it).
    pub fn field(&self, name: &str) -> Option<&SchemaField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The schema as `GetSchema` returns it.
    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn avro(&self) -> &Schema {
        &self.schema
    }

    /// One raw Avro datum of this schema. Values are given in their text form (see
    /// [`EventFields::fields`]) and converted to each field's Avro type; a value that doesn't
    /// fit its field (not a number, too long, a required field left empty) is refused, naming
    /// the field.
    pub fn encode(&self, event: &EventFields) -> Result<Vec<u8>, EventError> {
        if let Some(unknown) = event
            .fields
            .keys()
            .find(|k| !self.custom_fields.contains(k))
        {
            return Err(EventError::UnknownField(unknown.clone()));
        }
        let missing: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required && event.fields.get(&f.name).is_none_or(Option::is_none))
            .map(|f| f.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(EventError::RequiredFieldsMissing(missing.join(", ")));
        }
        let mut record = vec![
            (CREATED_DATE.to_string(), Value::Long(event.created_date)),
            (
                CREATED_BY_ID.to_string(),
                Value::String(event.created_by_id.clone()),
            ),
        ];
        for f in &self.fields {
            let value = match event.fields.get(&f.name).cloned().flatten() {
                Some(text) => Value::Union(1, Box::new(to_avro(f, text)?)),
                None => Value::Union(0, Box::new(Value::Null)),
            };
            record.push((f.name.clone(), value));
        }
        apache_avro::to_avro_datum(&self.schema, Value::Record(record))
            .map_err(|e| EventError::Payload(e.to_string()))
    }

    /// Read one raw Avro datum of this schema; the whole payload must be that datum. Values
    /// come back in their text form (see [`EventFields::fields`]).
    pub fn decode(&self, payload: &[u8]) -> Result<EventFields, EventError> {
        limit_avro_allocations();
        let mut reader = payload;
        let value = apache_avro::from_avro_datum(&self.schema, &mut reader, None)
            .map_err(|e| EventError::Payload(e.to_string()))?;
        if !reader.is_empty() {
            return Err(EventError::TrailingBytes(reader.len()));
        }
        let Value::Record(record) = value else {
            return Err(EventError::Payload("not a record".into()));
        };
        let mut out = EventFields::default();
        for (name, value) in record {
            match (name.as_str(), value) {
                (CREATED_DATE, Value::Long(v)) => out.created_date = v,
                (CREATED_BY_ID, Value::String(v)) => out.created_by_id = v,
                (_, Value::Union(_, inner)) => {
                    let text = from_avro(&name, *inner)?;
                    out.fields.insert(name, text);
                }
                (other, _) => {
                    return Err(EventError::Payload(format!(
                        "field {other} has an unexpected type"
                    )))
                }
            }
        }
        Ok(out)
    }
}

/// A field's value from its text form: Number a decimal number, Checkbox `true`/`false`,
/// Date/Time RFC 3339 (`2026-01-31T12:00:00.000Z`) or epoch milliseconds, Date `2026-01-31` or
/// epoch milliseconds.
fn to_avro(field: &SchemaField, text: String) -> Result<Value, EventError> {
    let bad = |what: &str| EventError::InvalidValue {
        field: field.name.clone(),
        message: format!("{text:?} is not {what}"),
    };
    Ok(match field.field_type {
        FieldType::Text | FieldType::LongTextArea => {
            if let Some(max) = field.length {
                let n = text.chars().count();
                if n > max as usize {
                    return Err(EventError::InvalidValue {
                        field: field.name.clone(),
                        message: format!("data value too large: {n} characters (max length={max})"),
                    });
                }
            }
            Value::String(text)
        }
        FieldType::Number => match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Value::Double(n),
            _ => return Err(bad("a number")),
        },
        FieldType::Checkbox => match text.trim() {
            t if t.eq_ignore_ascii_case("true") => Value::Boolean(true),
            t if t.eq_ignore_ascii_case("false") => Value::Boolean(false),
            _ => return Err(bad("true or false")),
        },
        FieldType::DateTime => {
            let t = text.trim();
            match t.parse::<i64>() {
                Ok(ms) => Value::Long(ms),
                Err(_) => chrono::DateTime::parse_from_rfc3339(t)
                    .map(|d| Value::Long(d.timestamp_millis()))
                    .map_err(|_| bad("a date/time (RFC 3339, such as 2026-01-31T12:00:00Z)"))?,
            }
        }
        FieldType::Date => {
            let t = text.trim();
            match t.parse::<i64>() {
                Ok(ms) => Value::Long(ms),
                Err(_) => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| Value::Long(d.and_utc().timestamp_millis()))
                    .ok_or_else(|| bad("a date (such as 2026-01-31)"))?,
            }
        }
    })
}

/// The text form of a field's value: strings as they are, numbers as Rust writes an `f64`
/// (which reads back to the same number), booleans `true`/`false`, longs as epoch
/// milliseconds.
fn from_avro(name: &str, value: Value) -> Result<Option<String>, EventError> {
    Ok(match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Double(d) => Some(d.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        Value::Long(l) => Some(l.to_string()),
        _ => {
            return Err(EventError::Payload(format!(
                "field {name} has an unexpected type"
            )))
        }
    })
}

/// The values of one platform event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFields {
    pub created_date: i64,
    pub created_by_id: String,
    /// Custom fields by API name, each in its text form (`None` is Avro `null`): what the REST
    /// API's JSON and Setup show. [`EventSchema::encode`] converts them to the field's Avro
    /// type; [`EventSchema::decode`] gives numbers as decimal text, checkboxes `true`/`false`,
    /// dates and date/times as epoch milliseconds.
    pub fields: BTreeMap<String, Option<String>>,
}

/// An agent's message, as the entry of an [`InteractionEvent`]: text, files, or both.
#[derive(Debug, Clone)]
pub struct AgentMessage<'a> {
    pub conversation_identifier: &'a str,
    pub channel_address_identifier: &'a str,
    /// The end user's client identifier (the `from` of their interactions).
    pub end_user_subject: &'a str,
    /// The agent (a user id).
    pub agent_subject: &'a str,
    pub agent_display_name: &'a str,
    pub entry_identifier: &'a str,
    pub message_identifier: &'a str,
    /// May be empty when there are attachments.
    pub text: &'a str,
    pub attachments: &'a [OutboundAttachment],
    pub now: i64,
}

/// A file of an agent's message: the spec's `Attachment` (`id`, `name`, `mimeType`, `url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundAttachment {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    /// Where the partner downloads the bytes.
    pub url: String,
}

/// The agent as the sender of an outbound entry, and the end user as its recipient.
struct Parties {
    sender: Participant,
    recipient: Participant,
}

impl Parties {
    fn new(end_user_subject: &str, agent_subject: &str) -> Parties {
        Parties {
            sender: Participant::new(AppType::Agent, agent_subject, ParticipantRole::Agent),
            recipient: Participant::new(
                AppType::Custom,
                end_user_subject,
                ParticipantRole::EndUser,
            ),
        }
    }

    fn event(
        self,
        conversation_identifier: &str,
        channel_address_identifier: &str,
        entry: OutboundEntry<'_>,
    ) -> InteractionEvent {
        InteractionEvent {
            conversation_identifier: conversation_identifier.to_string(),
            channel_address_identifier: channel_address_identifier.to_string(),
            recipient: self.recipient.clone(),
            payload: ConversationEntry {
                sender_display_name: Some(entry.sender_display_name.to_string()),
                identifier: entry.identifier.to_string(),
                entry_type: entry.entry_type.into(),
                entry_payload: entry.entry_payload,
                sender: self.sender,
                recipients: Some(serde_json::json!({ "primary": [self.recipient] })),
                transcripted_timestamp: entry.now,
                client_timestamp: entry.now,
                client_duration: 0,
            },
        }
    }
}

struct OutboundEntry<'a> {
    identifier: &'a str,
    entry_type: &'static str,
    entry_payload: serde_json::Value,
    sender_display_name: &'a str,
    now: i64,
}

/// The `InteractionEvent` for an agent's message (`outbound-custom-event-payload.yaml`): a
/// `Message` entry holding a `StaticContentMessage`, sent by the agent to the end user. Text
/// alone is `formatType` `Text`; with files it is `Attachments` (`StaticContentAttachments`:
/// the files, and the text when there is one).
pub fn agent_message_event(m: &AgentMessage<'_>) -> InteractionEvent {
    let static_content = if m.attachments.is_empty() {
        serde_json::json!({"formatType": "Text", "text": m.text})
    } else {
        let files: Vec<serde_json::Value> = m
            .attachments
            .iter()
            .map(|a| {
                serde_json::json!({"id": a.id, "name": a.name, "mimeType": a.mime_type, "url": a.url})
            })
            .collect();
        let mut content = serde_json::json!({"formatType": "Attachments", "attachments": files});
        if !m.text.is_empty() {
            content["text"] = serde_json::Value::String(m.text.to_string());
        }
        content
    };
    let entry_payload = serde_json::json!({
        "entryType": "Message",
        "id": m.entry_identifier,
        "abstractMessage": {
            "messageType": "StaticContentMessage",
            "id": m.message_identifier,
            "staticContent": static_content,
        },
    });
    Parties::new(m.end_user_subject, m.agent_subject).event(
        m.conversation_identifier,
        m.channel_address_identifier,
        OutboundEntry {
            identifier: m.entry_identifier,
            entry_type: "Message",
            entry_payload,
            sender_display_name: m.agent_display_name,
            now: m.now,
        },
    )
}

/// A messaging session the agent ended.
#[derive(Debug, Clone)]
pub struct SessionEnded<'a> {
    pub conversation_identifier: &'a str,
    pub channel_address_identifier: &'a str,
    pub end_user_subject: &'a str,
    pub agent_subject: &'a str,
    pub agent_display_name: &'a str,
    pub entry_identifier: &'a str,
    pub session_id: &'a str,
    /// The status before (`Active`, `Inactive`, ...).
    pub previous_status: &'a str,
    pub session_start_time: i64,
    pub now: i64,
}

/// The `InteractionEvent` for the end of a messaging session: a `SessionStatusChanged` entry
/// (`sessionStatus` `Ended`, `sessionEndedByRole` `Agent`) from the agent to the end user.
pub fn session_ended_event(m: &SessionEnded<'_>) -> InteractionEvent {
    let entry_payload = serde_json::json!({
        "entryType": "SessionStatusChanged",
        "id": m.entry_identifier,
        "conversationIdentifier": m.conversation_identifier,
        "channelAddressIdentifier": m.channel_address_identifier,
        "sessionId": m.session_id,
        "sessionStatus": "Ended",
        "sessionStatusPrev": m.previous_status,
        "sessionStartTime": m.session_start_time,
        "sessionEndTime": m.now,
        "sessionEndedByRole": ParticipantRole::Agent.as_str(),
    });
    Parties::new(m.end_user_subject, m.agent_subject).event(
        m.conversation_identifier,
        m.channel_address_identifier,
        OutboundEntry {
            identifier: m.entry_identifier,
            entry_type: "SessionStatusChanged",
            entry_payload,
            sender_display_name: m.agent_display_name,
            now: m.now,
        },
    )
}

/// The custom fields of a platform event on a CCD's topic: the type field, the payload field
/// (the event's JSON), the channel address field and the recipient field (the recipient
/// participant's JSON, which older BYOC connectors read).
fn event_fields(
    ccd: &ConversationChannelDefinition,
    event_type: &str,
    payload: &impl serde::Serialize,
    channel_address_identifier: &str,
    recipient: &Participant,
) -> Result<BTreeMap<String, Option<String>>, EventError> {
    let json = serde_json::to_string(payload).map_err(|e| EventError::Payload(e.to_string()))?;
    let recipient =
        serde_json::to_string(recipient).map_err(|e| EventError::Payload(e.to_string()))?;
    let mut fields = BTreeMap::new();
    let mut set = |name: &str, value: String| {
        if !name.is_empty() {
            fields.insert(name.to_string(), Some(value));
        }
    };
    set(&ccd.custom_event_type_field, event_type.to_string());
    set(&ccd.custom_event_payload_field, json);
    set(
        &ccd.custom_event_channel_address_id_field,
        channel_address_identifier.to_string(),
    );
    set(&ccd.custom_event_recipient_field, recipient);
    Ok(fields)
}

/// The custom fields of the platform event that carries an [`InteractionEvent`]: type field
/// `Interaction`, payload field the event's JSON.
pub fn interaction_event_fields(
    ccd: &ConversationChannelDefinition,
    event: &InteractionEvent,
) -> Result<BTreeMap<String, Option<String>>, EventError> {
    event_fields(
        ccd,
        INTERACTION_EVENT_TYPE,
        event,
        &event.channel_address_identifier,
        &event.recipient,
    )
}

/// The custom fields of the platform event that carries a [`RoutingRequested`]: type field
/// `RoutingRequested`, payload field the event's JSON.
pub fn routing_requested_fields(
    ccd: &ConversationChannelDefinition,
    event: &RoutingRequested,
) -> Result<BTreeMap<String, Option<String>>, EventError> {
    event_fields(
        ccd,
        ROUTING_REQUESTED_EVENT_TYPE,
        event,
        &event.channel_address_identifier,
        &event.recipient,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> EventSchema {
        EventSchema::new(
            "Byoc_Outbound__e",
            ["Payload__c".to_string(), "EventType__c".to_string()],
        )
        .expect("schema")
    }

    #[test]
    fn topic_names() {
        assert_eq!(topic_name("Byoc_Outbound__e"), "/event/Byoc_Outbound__e");
        assert_eq!(
            platform_event_of("/event/Byoc_Outbound__e"),
            Some("Byoc_Outbound__e")
        );
        assert_eq!(platform_event_of("/event/Account"), None);
        assert_eq!(platform_event_of("/data/AccountChangeEvent"), None);
    }

    #[test]
    fn replay_ids_are_eight_big_endian_bytes() {
        assert_eq!(ReplayId(258).to_bytes(), vec![0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(
            ReplayId::from_bytes(&[0, 0, 0, 0, 0, 0, 1, 2]),
            Some(ReplayId(258))
        );
        assert_eq!(ReplayId::from_bytes(&[1, 2]), None);
        assert_eq!(ReplayId::from_bytes(&[0; 9]), None);
    }

    #[test]
    fn schema_id_is_stable_and_field_order_free() {
        let a = schema();
        let b = EventSchema::new(
            "Byoc_Outbound__e",
            [
                "EventType__c".to_string(),
                "Payload__c".to_string(),
                "Payload__c".to_string(),
            ],
        )
        .expect("schema");
        assert_eq!(a.id(), b.id());
        assert_eq!(a.id().len(), 22);
        let c = EventSchema::new("Byoc_Outbound__e", ["EventType__c".to_string()]).expect("schema");
        assert_ne!(a.id(), c.id());
        let json: serde_json::Value = serde_json::from_str(a.json()).expect("json");
        assert_eq!(json["namespace"], NAMESPACE);
        assert_eq!(json["fields"][0]["type"], "long");
        assert_eq!(
            json["fields"][2]["type"],
            serde_json::json!(["null", "string"])
        );
    }

    #[test]
    fn encode_decode_round_trip() {
        let s = schema();
        let mut fields = BTreeMap::new();
        fields.insert("Payload__c".to_string(), Some("{\"a\":1}".to_string()));
        let event = EventFields {
            created_date: 1_700_000_000_000,
            created_by_id: "005000000000001AAA".into(),
            fields,
        };
        let bytes = s.encode(&event).expect("encode");
        let back = s.decode(&bytes).expect("decode");
        assert_eq!(back.created_date, event.created_date);
        assert_eq!(
            back.fields.get("Payload__c"),
            Some(&Some("{\"a\":1}".to_string()))
        );
        assert_eq!(back.fields.get("EventType__c"), Some(&None));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(s.decode(&longer), Err(EventError::TrailingBytes(1)));
        assert!(s.decode(&bytes[..3]).is_err());
    }

    /// A payload of a few bytes that claims a string of 2 MiB, or of 2^60 bytes, is refused by
    /// the allocation cap before anything is allocated.
    #[test]
    fn claimed_lengths_beyond_the_cap_are_refused_unallocated() {
        let s = schema();
        for claimed in [2i64 * 1024 * 1024, 1i64 << 60] {
            // CreatedDate (long 0), then CreatedById's length, zig-zag varint encoded.
            let mut payload = vec![0u8];
            let mut n = ((claimed << 1) ^ (claimed >> 63)) as u64;
            while n >= 0x80 {
                payload.push((n as u8) | 0x80);
                n >>= 7;
            }
            payload.push(n as u8);
            payload.extend_from_slice(b"abc");
            match s.decode(&payload) {
                Err(EventError::Payload(m)) => {
                    assert!(m.contains(&MAX_AVRO_ALLOCATION_BYTES.to_string()), "{m}")
                }
                other => panic!("{claimed}: {other:?}"),
            }
        }
    }

    fn definition() -> PlatformEventDefinition {
        let f = |name: &str, t: FieldType, length: Option<u32>, required: bool| CustomField {
            full_name: name.into(),
            label: name.into(),
            field_type: t,
            length,
            precision: None,
            scale: None,
            visible_lines: None,
            required,
            default_value: None,
            description: String::new(),
            inline_help_text: String::new(),
        };
        PlatformEventDefinition {
            id: "01I000000000001".into(),
            full_name: "acme__Order__e".into(),
            label: "Order".into(),
            plural_label: "Orders".into(),
            description: String::new(),
            event_type: byoc_proto::setup::PlatformEventType::HighVolume,
            publish_behavior: byoc_proto::setup::PublishBehavior::PublishAfterCommit,
            deployment_status: "Deployed".into(),
            fields: vec![
                f("Order_Number__c", FieldType::Text, Some(5), true),
                f("Amount__c", FieldType::Number, None, false),
                f("Shipped__c", FieldType::Checkbox, None, false),
                f("At__c", FieldType::DateTime, None, false),
                f("Due__c", FieldType::Date, None, false),
                f("Notes__c", FieldType::LongTextArea, Some(1000), false),
            ],
            created_at: 0,
            last_modified_at: 0,
        }
    }

    #[test]
    fn a_defined_event_has_typed_nullable_fields_in_definition_order() {
        let s = EventSchema::from_definition(&definition()).expect("schema");
        let json: serde_json::Value = serde_json::from_str(s.json()).expect("json");
        let fields: Vec<(String, serde_json::Value, String)> = json["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap_or("").to_string(),
                    f["type"].clone(),
                    f["doc"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let expect = |n: &str, t: &str, d: &str| {
            (n.to_string(), serde_json::json!(["null", t]), d.to_string())
        };
        assert_eq!(
            fields[2..],
            [
                expect("Order_Number__c", "string", "Data:Text"),
                expect("Amount__c", "double", "Data:Double"),
                expect("Shipped__c", "boolean", "Data:Boolean"),
                expect("At__c", "long", "Data:DateTime"),
                expect("Due__c", "long", "Data:DateOnly"),
                expect("Notes__c", "string", "Data:Text"),
            ]
        );
        assert_eq!(json["fields"][0]["type"], "long");
        // Read back from its JSON (events stored with it), the schema is the same.
        let back = EventSchema::from_json(s.json()).expect("from json");
        assert_eq!(back.id(), s.id());
        assert_eq!(back.json(), s.json());
        // Another order is another schema.
        let mut swapped = definition();
        swapped.fields.swap(1, 2);
        assert_ne!(
            EventSchema::from_definition(&swapped).expect("schema").id(),
            s.id()
        );
    }

    #[test]
    fn typed_values_round_trip_and_bad_ones_are_refused() {
        let s = EventSchema::from_definition(&definition()).expect("schema");
        let event = |values: &[(&str, &str)]| EventFields {
            created_date: 1,
            created_by_id: "005".into(),
            fields: values
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
        };
        let ok = event(&[
            ("Order_Number__c", "A-1"),
            ("Amount__c", "12.5"),
            ("Shipped__c", "TRUE"),
            ("At__c", "2026-01-31T12:00:00.250Z"),
            ("Due__c", "2026-01-31"),
        ]);
        let back = s.decode(&s.encode(&ok).expect("encode")).expect("decode");
        let get = |k: &str| back.fields.get(k).cloned().flatten();
        assert_eq!(get("Amount__c").as_deref(), Some("12.5"));
        assert_eq!(get("Shipped__c").as_deref(), Some("true"));
        assert_eq!(get("At__c").as_deref(), Some("1769860800250"));
        assert_eq!(get("Due__c").as_deref(), Some("1769817600000"));
        assert_eq!(get("Notes__c"), None);
        // Decoded values encode to the same bytes (what Publish does with a partner's event).
        assert_eq!(
            s.encode(&back).expect("again"),
            s.encode(&ok).expect("encode")
        );
        for (values, expected) in [
            (
                vec![("Order_Number__c", "A-1"), ("Amount__c", "lots")],
                "Amount__c",
            ),
            (
                vec![("Order_Number__c", "A-1"), ("Shipped__c", "yes")],
                "true or false",
            ),
            (
                vec![("Order_Number__c", "A-1"), ("At__c", "tomorrow")],
                "RFC 3339",
            ),
            (
                vec![("Order_Number__c", "A-1"), ("Due__c", "2026-02-30")],
                "a date",
            ),
            (
                vec![("Order_Number__c", "A-1"), ("Amount__c", "NaN")],
                "a number",
            ),
            (vec![("Order_Number__c", "ABCDEF")], "max length=5"),
            (
                vec![("Amount__c", "1")],
                "Required fields are missing: [Order_Number__c]",
            ),
        ] {
            let err = s.encode(&event(&values)).expect_err(expected);
            assert!(err.to_string().contains(expected), "{err} / {expected}");
        }
    }

    #[test]
    fn the_undefined_schema_is_what_byoc_always_gave() {
        let s = EventSchema::new(
            "Byoc_Outbound__e",
            ["Payload__c".to_string(), "EventType__c".to_string()],
        )
        .expect("schema");
        assert_eq!(
            s.json(),
            r#"{"fields":[{"doc":"CreatedDate:DateTime","name":"CreatedDate","type":"long"},{"doc":"CreatedBy:EntityId","name":"CreatedById","type":"string"},{"default":null,"doc":"Data:Text","name":"EventType__c","type":["null","string"]},{"default":null,"doc":"Data:Text","name":"Payload__c","type":["null","string"]}],"name":"Byoc_Outbound__e","namespace":"com.sforce.eventbus","type":"record"}"#
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut fields = BTreeMap::new();
        fields.insert("Nope__c".to_string(), None);
        let event = EventFields {
            created_date: 0,
            created_by_id: String::new(),
            fields,
        };
        assert_eq!(
            schema().encode(&event),
            Err(EventError::UnknownField("Nope__c".into()))
        );
    }

    #[test]
    fn agent_message_follows_the_outbound_spec() {
        let event = agent_message_event(&AgentMessage {
            conversation_identifier: "conv",
            channel_address_identifier: "addr",
            end_user_subject: "user-1",
            agent_subject: "005xx",
            agent_display_name: "Agent",
            entry_identifier: "e1",
            message_identifier: "m1",
            text: "hello",
            attachments: &[],
            now: 5,
        });
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(
            json["recipient"],
            serde_json::json!({"appType": "custom", "subject": "user-1", "role": "EndUser"})
        );
        assert_eq!(json["payload"]["sender"]["role"], "Agent");
        assert_eq!(
            json["payload"]["entryPayload"]["abstractMessage"]["staticContent"]["text"],
            "hello"
        );
        for required in [
            "entryPayload",
            "identifier",
            "sender",
            "clientTimestamp",
            "clientDuration",
            "transcriptedTimestamp",
            "entryType",
        ] {
            assert!(json["payload"].get(required).is_some(), "{required}");
        }
    }
}
