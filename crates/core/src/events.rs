//! Platform events: topics, their Avro schemas, replay ids, and the outbound `InteractionEvent`.
//!
//! Each CCD's `customPlatformEvent` (e.g. `Byoc_Outbound__e`) is a topic `/event/<Name>__e`
//! ([Pub/Sub API topics](https://developer.salesforce.com/docs/platform/pub-sub-api/guide/supported-topics.html)).
//! Its schema is an Avro record in namespace `com.sforce.eventbus` with the standard fields
//! `CreatedDate` (long, epoch ms) and `CreatedById` (string), then the custom fields of every CCD
//! that names this event, each `["null","string"]` with default `null`. The schema id is derived
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
use byoc_proto::setup::ConversationChannelDefinition;
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

/// The schema of one platform event topic.
#[derive(Debug, Clone)]
pub struct EventSchema {
    event_name: String,
    custom_fields: Vec<String>,
    schema: Schema,
    json: String,
    id: String,
}

impl EventSchema {
    /// The schema of `platform_event` with these custom fields (order and duplicates don't
    /// matter: fields are sorted by name).
    pub fn new(
        platform_event: &str,
        custom_fields: impl IntoIterator<Item = String>,
    ) -> Result<EventSchema, EventError> {
        if !valid_event_name(platform_event) {
            return Err(EventError::InvalidEventName(platform_event.to_string()));
        }
        let mut fields: Vec<String> = custom_fields.into_iter().collect();
        fields.sort();
        fields.dedup();
        if let Some(bad) = fields
            .iter()
            .find(|f| !valid_field_name(f) || *f == CREATED_DATE || *f == CREATED_BY_ID)
        {
            return Err(EventError::Schema {
                event: platform_event.into(),
                message: format!("{bad:?} is not a usable custom field name"),
            });
        }
        let mut json_fields = vec![
            serde_json::json!({"name": CREATED_DATE, "type": "long", "doc": "CreatedDate:DateTime"}),
            serde_json::json!({"name": CREATED_BY_ID, "type": "string", "doc": "CreatedBy:EntityId"}),
        ];
        for f in &fields {
            json_fields.push(serde_json::json!({"name": f, "type": ["null", "string"], "doc": "Data:Text", "default": null}));
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
            custom_fields: fields,
            schema,
            json,
            id,
        })
    }

    /// The schema of a topic whose event is named by these CCDs (all CCDs naming the same event
    /// share one topic, so its fields are the union of theirs).
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

    pub fn custom_fields(&self) -> &[String] {
        &self.custom_fields
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

    /// One raw Avro datum of this schema.
    pub fn encode(&self, event: &EventFields) -> Result<Vec<u8>, EventError> {
        if let Some(unknown) = event
            .fields
            .keys()
            .find(|k| !self.custom_fields.contains(k))
        {
            return Err(EventError::UnknownField(unknown.clone()));
        }
        let mut record = vec![
            (CREATED_DATE.to_string(), Value::Long(event.created_date)),
            (
                CREATED_BY_ID.to_string(),
                Value::String(event.created_by_id.clone()),
            ),
        ];
        for f in &self.custom_fields {
            let value = match event.fields.get(f).cloned().flatten() {
                Some(s) => Value::Union(1, Box::new(Value::String(s))),
                None => Value::Union(0, Box::new(Value::Null)),
            };
            record.push((f.clone(), value));
        }
        apache_avro::to_avro_datum(&self.schema, Value::Record(record))
            .map_err(|e| EventError::Payload(e.to_string()))
    }

    /// Read one raw Avro datum of this schema; the whole payload must be that datum.
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
                    let v = match *inner {
                        Value::String(s) => Some(s),
                        _ => None,
                    };
                    out.fields.insert(name, v);
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

/// The values of one platform event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFields {
    pub created_date: i64,
    pub created_by_id: String,
    /// Custom fields by API name; `None` is Avro `null`.
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
