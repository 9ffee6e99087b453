//! PostgreSQL's group commit in one round trip.
//!
//! The Interaction API's write batches ([`ConversationRepository::write_batch`]) are applied on
//! SQLite statement by statement in this process, which is cheap there (no network). Done the
//! same way on PostgreSQL, each interaction cost about six round trips to the server, and the
//! single group-commit writer waited for every one of them: ~3,000 durable interactions/s against
//! ~6,500 on SQLite (docs/benchmarks.md). So on PostgreSQL the whole batch goes to the server
//! as one statement, `SELECT byoc_write_batch($1::jsonb, $2::bytea[])`: the ops as one JSON
//! array, the attachment and event bytes beside it as a bytea array (referenced by 1-based
//! index, so they are not base64-inflated), and one JSON outcome per op comes back. The
//! PL/pgSQL function (migration `0009_write_batch_function`) applies exactly the semantics of
//! the in-process path (`write_batch_in_process`): savepointed units, claims, sessions,
//! duplicate entries, the outbox event with its link, the live feed rows.
//!
//! Why a server-side function rather than multi-row statements: the batch's ops depend on each
//! other (a unit's claim decides whether its ops run; an entry may go into a session created by
//! an op before it; duplicates are decided row by row) and units roll back alone, which a few
//! set-based statements cannot express without re-implementing the semantics twice; a function
//! keeps one op-by-op algorithm, mirrors the Rust path line for line, and costs one round trip
//! whatever the batch size. A single statement outside an explicit transaction is also its own
//! transaction, so a failed batch leaves nothing behind, and its error (a unique violation, a
//! lost connection) reaches the caller as the same [`sqlx::Error`] it always was.
//!
//! [`ConversationRepository::write_batch`]: crate::conversations::ConversationRepository::write_batch

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::conversations::{
    Claim, ConversationRow, EntryRecord, EntryTarget, Missing, SessionChoice, StoredEntry, WriteOp,
    WriteOutcome,
};
use crate::StoreError;

/// Apply `ops` in one transaction and one round trip; one outcome per op.
pub(crate) async fn write_batch(
    pool: &PgPool,
    ops: &[WriteOp],
) -> Result<Vec<WriteOutcome>, StoreError> {
    let mut blobs: Vec<&[u8]> = Vec::new();
    let encoded = ops
        .iter()
        .map(|op| encode(op, &mut blobs, true))
        .collect::<Result<Vec<_>, _>>()?;
    let json = serde_json::to_string(&encoded).map_err(|e| decode_error(format!("{e}")))?;
    let answer: String = sqlx::query_scalar("SELECT byoc_write_batch($1::jsonb, $2)::text")
        .bind(json)
        .bind(&blobs)
        .fetch_one(pool)
        .await?;
    let outcomes: Vec<Outcome> = serde_json::from_str(&answer)
        .map_err(|e| decode_error(format!("byoc_write_batch answered {e}")))?;
    if outcomes.len() != ops.len() {
        return Err(decode_error(format!(
            "byoc_write_batch answered {} outcomes for {} ops",
            outcomes.len(),
            ops.len()
        )));
    }
    outcomes.into_iter().map(Outcome::into_outcome).collect()
}

fn decode_error(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(message.into()))
}

/// One op as the function reads it (`p_op->>'...'`).
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op<'a> {
    Unit {
        claim: Option<ClaimJson<'a>>,
        ops: Vec<Op<'a>>,
        event: Option<EventJson<'a>>,
    },
    Append {
        target: Target<'a>,
        session: Session<'a>,
        entries: Vec<Entry<'a>>,
        now: i64,
    },
    Consent {
        channel_id: &'a str,
        client_id: &'a str,
        new_end_user_id: &'a str,
        status: &'a str,
        now: i64,
    },
    PutRecord {
        kind: &'a str,
        key: &'a str,
        conversation_id: Option<&'a str>,
        body: &'a str,
        now: i64,
    },
    SessionStatus {
        conversation_id: &'a str,
        session_id: Option<&'a str>,
        status: &'a str,
        ended_by: Option<&'a str>,
        now: i64,
    },
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ClaimJson<'a> {
    IdempotencyKey {
        scope: &'a str,
        key: &'a str,
        response: &'a str,
        now: i64,
    },
    Record {
        record_kind: &'a str,
        key: &'a str,
        conversation_id: Option<&'a str>,
        body: &'a str,
        held_when: &'a str,
        now: i64,
    },
}

#[derive(Serialize)]
struct EventJson<'a> {
    topic: &'a str,
    schema_id: &'a str,
    schema_topic: &'a str,
    schema_json: &'a str,
    event_id: &'a str,
    event_schema_id: &'a str,
    payload_blob: usize,
    created_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Target<'a> {
    Conversation(&'a str),
    EndUser {
        channel_id: &'a str,
        channel_address: &'a str,
        ccd_developer_name: &'a str,
        client_id: &'a str,
        new_end_user_id: &'a str,
        new_conversation_id: &'a str,
        routing_attributes: &'a str,
    },
}

#[derive(Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum Session<'a> {
    Current {
        id: &'a str,
    },
    Establish {
        id: &'a str,
        started_at: i64,
        ended_at: Option<i64>,
    },
    Attach {
        id: &'a str,
    },
    None,
}

#[derive(Serialize)]
struct Entry<'a> {
    entry_id: &'a str,
    entry_type: &'a str,
    sender_app_type: &'a str,
    sender_subject: &'a str,
    sender_role: &'a str,
    client_timestamp: i64,
    text: Option<&'a str>,
    message_type: Option<&'a str>,
    format_type: Option<&'a str>,
    acknowledged_entry_id: Option<&'a str>,
    source: &'a str,
    payload: &'a str,
    attachment: Option<AttachmentJson<'a>>,
}

#[derive(Serialize)]
struct AttachmentJson<'a> {
    id: &'a str,
    name: &'a str,
    mime_type: &'a str,
    blob: usize,
}

/// `bytes` appended to `blobs`; its 1-based index (PostgreSQL arrays start at 1).
fn blob<'a>(blobs: &mut Vec<&'a [u8]>, bytes: &'a [u8]) -> usize {
    blobs.push(bytes);
    blobs.len()
}

fn encode<'a>(
    op: &'a WriteOp,
    blobs: &mut Vec<&'a [u8]>,
    top_level: bool,
) -> Result<Op<'a>, StoreError> {
    Ok(match op {
        WriteOp::Unit { claim, ops, event } => {
            if !top_level {
                // As the in-process path answers.
                return Err(StoreError::Database(sqlx::Error::Protocol(
                    "a write unit cannot nest another".into(),
                )));
            }
            let claim = claim.as_ref().map(|c| match c {
                Claim::IdempotencyKey {
                    scope,
                    key,
                    response,
                    now,
                } => ClaimJson::IdempotencyKey {
                    scope,
                    key,
                    response,
                    now: *now,
                },
                Claim::Record {
                    kind,
                    key,
                    conversation_id,
                    body,
                    held_when,
                    now,
                } => ClaimJson::Record {
                    record_kind: kind,
                    key,
                    conversation_id: conversation_id.as_deref(),
                    body,
                    held_when,
                    now: *now,
                },
            });
            let ops = ops
                .iter()
                .map(|op| encode(op, blobs, false))
                .collect::<Result<Vec<_>, _>>()?;
            let event = event.as_ref().map(|e| EventJson {
                topic: &e.topic,
                schema_id: &e.schema.schema_id,
                schema_topic: &e.schema.topic,
                schema_json: &e.schema.schema_json,
                event_id: &e.event.event_id,
                event_schema_id: &e.event.schema_id,
                payload_blob: blob(blobs, &e.event.payload),
                created_at: e.event.created_at,
            });
            Op::Unit { claim, ops, event }
        }
        WriteOp::Append {
            target,
            session,
            entries,
            now,
        } => Op::Append {
            target: match target {
                EntryTarget::Conversation(id) => Target::Conversation(id),
                EntryTarget::EndUser(n) => Target::EndUser {
                    channel_id: &n.channel_id,
                    channel_address: &n.channel_address,
                    ccd_developer_name: &n.ccd_developer_name,
                    client_id: &n.client_id,
                    new_end_user_id: &n.new_end_user_id,
                    new_conversation_id: &n.new_conversation_id,
                    routing_attributes: &n.routing_attributes,
                },
            },
            session: match session {
                SessionChoice::Current { new_session_id } => {
                    Session::Current { id: new_session_id }
                }
                SessionChoice::Establish {
                    session_id,
                    started_at,
                    ended_at,
                } => Session::Establish {
                    id: session_id,
                    started_at: *started_at,
                    ended_at: *ended_at,
                },
                SessionChoice::Attach(id) => Session::Attach { id },
                SessionChoice::None => Session::None,
            },
            entries: entries.iter().map(|e| entry(e, blobs)).collect(),
            now: *now,
        },
        WriteOp::Consent {
            channel_id,
            client_id,
            new_end_user_id,
            status,
            now,
        } => Op::Consent {
            channel_id,
            client_id,
            new_end_user_id,
            status,
            now: *now,
        },
        WriteOp::PutRecord {
            kind,
            key,
            conversation_id,
            body,
            now,
        } => Op::PutRecord {
            kind,
            key,
            conversation_id: conversation_id.as_deref(),
            body,
            now: *now,
        },
        WriteOp::SessionStatus {
            conversation_id,
            session_id,
            status,
            ended_by,
            now,
        } => Op::SessionStatus {
            conversation_id,
            session_id: session_id.as_deref(),
            status,
            ended_by: ended_by.as_deref(),
            now: *now,
        },
    })
}

fn entry<'a>(e: &'a EntryRecord, blobs: &mut Vec<&'a [u8]>) -> Entry<'a> {
    Entry {
        entry_id: &e.entry_id,
        entry_type: &e.entry_type,
        sender_app_type: &e.sender_app_type,
        sender_subject: &e.sender_subject,
        sender_role: &e.sender_role,
        client_timestamp: e.client_timestamp,
        text: e.text.as_deref(),
        message_type: e.message_type.as_deref(),
        format_type: e.format_type.as_deref(),
        acknowledged_entry_id: e.acknowledged_entry_id.as_deref(),
        source: &e.source,
        payload: &e.payload,
        attachment: e.attachment.as_ref().map(|a| AttachmentJson {
            id: &a.id,
            name: &a.name,
            mime_type: &a.mime_type,
            blob: blob(blobs, &a.content),
        }),
    }
}

/// One outcome as the function writes it.
// Decoded once and turned into a [`WriteOutcome`] at once (which has the same shape).
#[allow(clippy::large_enum_variant)]
#[derive(Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Outcome {
    Appended {
        conversation: Conversation,
        session_id: Option<String>,
        /// `[entry id, session id, duplicate]`.
        entries: Vec<(String, Option<String>, bool)>,
    },
    Done,
    NotFound {
        missing: String,
    },
    Unit {
        outcomes: Vec<Outcome>,
        replay_id: Option<i64>,
    },
    Replayed {
        response: String,
        replay_id: Option<i64>,
    },
    Held,
}

#[derive(Deserialize)]
struct Conversation {
    id: String,
    end_user_id: String,
    client_id: String,
    channel_id: String,
    channel_address: String,
    ccd_developer_name: String,
    routing_attributes: String,
    consent_status: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl Outcome {
    fn into_outcome(self) -> Result<WriteOutcome, StoreError> {
        Ok(match self {
            Outcome::Appended {
                conversation: c,
                session_id,
                entries,
            } => WriteOutcome::Appended {
                conversation: ConversationRow {
                    id: c.id,
                    end_user_id: c.end_user_id,
                    client_id: c.client_id,
                    channel_id: c.channel_id,
                    channel_address: c.channel_address,
                    ccd_developer_name: c.ccd_developer_name,
                    routing_attributes: c.routing_attributes,
                    consent_status: c.consent_status,
                    created_at: c.created_at,
                    updated_at: c.updated_at,
                },
                session_id,
                entries: entries
                    .into_iter()
                    .map(|(entry_id, session_id, duplicate)| StoredEntry {
                        entry_id,
                        session_id,
                        duplicate,
                    })
                    .collect(),
            },
            Outcome::Done => WriteOutcome::Done,
            Outcome::NotFound { missing } => WriteOutcome::NotFound(match missing.as_str() {
                "conversation" => Missing::Conversation,
                "session" => Missing::Session,
                other => return Err(decode_error(format!("unknown missing {other:?}"))),
            }),
            Outcome::Unit {
                outcomes,
                replay_id,
            } => WriteOutcome::Unit {
                outcomes: outcomes
                    .into_iter()
                    .map(Outcome::into_outcome)
                    .collect::<Result<_, _>>()?,
                replay_id,
            },
            Outcome::Replayed {
                response,
                replay_id,
            } => WriteOutcome::Replayed {
                response,
                replay_id,
            },
            Outcome::Held => WriteOutcome::Held,
        })
    }
}
