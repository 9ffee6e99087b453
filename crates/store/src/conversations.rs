//! The Interaction Service API's conversations: messaging end users, conversations, messaging
//! sessions, conversation entries with their attachments (bytes in the database), and keyed
//! records for consent-free side data (routing, agent work, participants, capabilities).
//!
//! Writes come as [`WriteOp`]s and are applied by [`ConversationRepository::write_batch`], many in
//! one transaction: the server's group-commit writer collects concurrent requests and commits
//! them together, which is what makes durable interactions cheap on SQLite. Every op is
//! idempotent where the API needs it: an entry id already stored in its conversation is reported
//! as a duplicate (with what was stored) instead of failing the batch.
//!
//! Like [`crate::sql`], the SQL is written once in [`impl_conversation_repository!`] and expanded
//! per backend; the tables come from the `0003_conversations` migrations.

use async_trait::async_trait;
use sqlx::Row;

use crate::events::{NewEvent, StoredSchema};
use crate::live::{EventLink, Touched};
use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// A new end user's conversation, used when the end user has none yet.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub channel_id: String,
    pub channel_address: String,
    pub ccd_developer_name: String,
    /// The end user's client identifier (`from`, `endUserClientId`, the participant subject).
    pub client_id: String,
    /// Used only if the end user is new.
    pub new_end_user_id: String,
    /// Used only if the conversation is new.
    pub new_conversation_id: String,
    /// JSON object of routing attributes, kept from the first contact.
    pub routing_attributes: String,
}

/// Which conversation entries go to.
#[derive(Debug, Clone)]
pub enum EntryTarget {
    /// The end user's conversation on the channel, created on first contact.
    EndUser(NewConversation),
    /// An existing conversation by its identifier.
    Conversation(String),
}

/// Which messaging session entries belong to.
#[derive(Debug, Clone)]
pub enum SessionChoice {
    /// The conversation's current session; a new one (with this id) if there is none or the last
    /// one ended. An inactive session becomes active again.
    Current { new_session_id: String },
    /// A new session with the given times (conversation history).
    Establish {
        session_id: String,
        started_at: i64,
        ended_at: Option<i64>,
    },
    /// An existing session of the conversation.
    Attach(String),
    /// No session: the entries are not part of one.
    None,
}

/// An attachment's bytes and metadata.
#[derive(Debug, Clone)]
pub struct AttachmentRecord {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    pub content: Vec<u8>,
}

/// One conversation entry to store.
#[derive(Debug, Clone)]
pub struct EntryRecord {
    pub entry_id: String,
    pub entry_type: String,
    pub sender_app_type: String,
    pub sender_subject: String,
    pub sender_role: String,
    pub client_timestamp: i64,
    pub text: Option<String>,
    pub message_type: Option<String>,
    pub format_type: Option<String>,
    pub acknowledged_entry_id: Option<String>,
    /// Which operation stored it (`interactions`, `conversationEntry`, ...).
    pub source: String,
    /// The entry payload as JSON text.
    pub payload: String,
    pub attachment: Option<AttachmentRecord>,
}

/// A platform event appended in the same transaction as the writes it announces: the event log is
/// the outbox, so no crash leaves a stored entry whose event is lost, or an event whose entry is.
/// Subscribers of this process are woken after the commit; others poll the log.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub topic: String,
    pub schema: StoredSchema,
    pub event: NewEvent,
}

/// What a [`WriteOp::Unit`] must be first to take; if it is taken, the unit writes nothing.
#[derive(Debug, Clone)]
pub enum Claim {
    /// An idempotency key, unique per scope: the first unit with it applies and keeps `response`
    /// (and the replay id of its event); a later one writes nothing and gets those back.
    IdempotencyKey {
        scope: String,
        key: String,
        response: String,
        now: i64,
    },
    /// A keyed record (inserted or replaced by the claim) whose stored body must not contain
    /// `held_when` — e.g. an active agent work. `held_when` is matched with SQL `LIKE`, so it
    /// must not contain `%` or `_`.
    Record {
        kind: String,
        key: String,
        conversation_id: Option<String>,
        body: String,
        held_when: String,
        now: i64,
    },
}

/// A write, applied with others in one transaction.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Writes that stand or fall together (a savepoint inside the batch's transaction): the
    /// claim first, then the ops, then the event. If the claim is taken, or an op finds its
    /// conversation or session missing, nothing of the unit is written.
    Unit {
        claim: Option<Claim>,
        ops: Vec<WriteOp>,
        event: Option<OutboxEvent>,
    },
    /// Store entries (possibly none: establishing a conversation) in a conversation.
    Append {
        target: EntryTarget,
        session: SessionChoice,
        entries: Vec<EntryRecord>,
        now: i64,
    },
    /// Set an end user's consent status, creating the end user if needed.
    Consent {
        channel_id: String,
        client_id: String,
        new_end_user_id: String,
        status: String,
        now: i64,
    },
    /// Insert or replace a keyed record.
    PutRecord {
        kind: String,
        key: String,
        conversation_id: Option<String>,
        body: String,
        now: i64,
    },
    /// Change a session's status (`Ended`, `Inactive`); `session_id: None` means the current one.
    SessionStatus {
        conversation_id: String,
        session_id: Option<String>,
        status: String,
        ended_by: Option<String>,
        now: i64,
    },
}

/// What a write found missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Conversation,
    Session,
}

/// An entry as stored: `duplicate` when the entry id was already in the conversation (then
/// `session_id` is the stored one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub entry_id: String,
    pub session_id: Option<String>,
    pub duplicate: bool,
}

/// The outcome of one [`WriteOp`].
// Outcomes live only until they are answered; boxing the conversation would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    Appended {
        conversation: ConversationRow,
        session_id: Option<String>,
        entries: Vec<StoredEntry>,
    },
    Done,
    NotFound(Missing),
    /// A [`WriteOp::Unit`] applied (or, if any of `outcomes` is `NotFound`, rolled back);
    /// `replay_id` is its event's.
    Unit {
        outcomes: Vec<WriteOutcome>,
        replay_id: Option<i64>,
    },
    /// A [`WriteOp::Unit`] whose idempotency key was used before: nothing written; the first
    /// answer and its event's replay id.
    Replayed {
        response: String,
        replay_id: Option<i64>,
    },
    /// A [`WriteOp::Unit`] whose claimed record is held: nothing written.
    Held,
}

impl WriteOutcome {
    /// Whether this outcome (or one inside a unit) found something missing.
    pub fn is_not_found(&self) -> bool {
        match self {
            WriteOutcome::NotFound(_) => true,
            WriteOutcome::Unit { outcomes, .. } => outcomes.iter().any(WriteOutcome::is_not_found),
            _ => false,
        }
    }
}

/// A conversation with its end user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRow {
    pub id: String,
    pub end_user_id: String,
    pub client_id: String,
    pub channel_id: String,
    pub channel_address: String,
    pub ccd_developer_name: String,
    pub routing_attributes: String,
    pub consent_status: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub conversation_id: String,
    pub status: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    pub seq: i64,
    pub conversation_id: String,
    pub entry_id: String,
    pub session_id: Option<String>,
    pub entry_type: String,
    pub sender_app_type: String,
    pub sender_subject: String,
    pub sender_role: String,
    pub client_timestamp: i64,
    pub server_timestamp: i64,
    pub text: Option<String>,
    pub message_type: Option<String>,
    pub format_type: Option<String>,
    pub acknowledged_entry_id: Option<String>,
    pub source: String,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub id: String,
    pub conversation_id: String,
    pub entry_id: String,
    pub name: String,
    pub mime_type: String,
    pub size: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndUserRow {
    pub id: String,
    pub channel_id: String,
    pub client_id: String,
    pub consent_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    pub kind: String,
    pub key: String,
    pub conversation_id: Option<String>,
    pub body: String,
    pub updated_at: i64,
}

/// A page of entries by client timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPage {
    pub start_time: i64,
    pub end_time: i64,
    pub limit: i64,
    /// Oldest first (`FROM_START`) or newest first (`FROM_END`).
    pub newest_first: bool,
}

/// Which conversations the agent console lists ([`ConversationRepository::conversation_list`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationListFilter {
    /// Only this messaging channel's (its 15-character id).
    pub channel_id: Option<String>,
    /// Only those whose newest messaging session has this status (`Active`, `Inactive`,
    /// `Ended`).
    pub session_status: Option<String>,
    pub limit: i64,
}

/// A conversation as the agent console's list shows it: the row, its newest session's status and
/// its last message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationListRow {
    pub conversation: ConversationRow,
    pub session_status: Option<String>,
    /// The text of the newest `Message` entry (`None` for a file without text, or no message).
    pub last_message_text: Option<String>,
    /// Who sent the newest `Message` entry (`EndUser`, `Agent`, ...), if there is one.
    pub last_message_role: Option<String>,
}

#[async_trait]
pub trait ConversationRepository: Send + Sync {
    /// Apply the ops in one transaction, in order; one outcome per op. A database error fails
    /// the whole batch (nothing is written) and the caller may retry ops one by one.
    async fn write_batch(&self, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, StoreError>;
    async fn conversation(&self, id: &str) -> Result<Option<ConversationRow>, StoreError>;
    /// Newest activity first.
    async fn conversations(&self, limit: i64) -> Result<Vec<ConversationRow>, StoreError>;
    async fn entry_count(&self, conversation_id: &str) -> Result<i64, StoreError>;
    /// Newest first.
    async fn sessions(&self, conversation_id: &str) -> Result<Vec<SessionRow>, StoreError>;
    async fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError>;
    /// Every entry in the order stored.
    async fn entries(&self, conversation_id: &str) -> Result<Vec<EntryRow>, StoreError>;
    async fn entry_page(
        &self,
        conversation_id: &str,
        page: EntryPage,
    ) -> Result<Vec<EntryRow>, StoreError>;
    async fn attachments(&self, conversation_id: &str) -> Result<Vec<AttachmentMeta>, StoreError>;
    async fn attachment_content(
        &self,
        id: &str,
    ) -> Result<Option<(AttachmentMeta, Vec<u8>)>, StoreError>;
    async fn end_user(
        &self,
        channel_id: &str,
        client_id: &str,
    ) -> Result<Option<EndUserRow>, StoreError>;
    async fn record(&self, kind: &str, key: &str) -> Result<Option<RecordRow>, StoreError>;
    /// The answer kept for an idempotency key, and its event's replay id.
    async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<(String, Option<i64>)>, StoreError>;
    async fn records_of(&self, conversation_id: &str) -> Result<Vec<RecordRow>, StoreError>;
    /// Newest activity first, filtered, at most `filter.limit` (one query).
    async fn conversation_list(
        &self,
        filter: &ConversationListFilter,
    ) -> Result<Vec<ConversationListRow>, StoreError>;
}

const CONVERSATION_COLUMNS: &str =
    "c.id, c.end_user_id, u.client_id, c.channel_id, c.channel_address, c.ccd_developer_name, \
     c.routing_attributes, u.consent_status, c.created_at, c.updated_at \
     FROM conversations c JOIN messaging_end_users u ON u.id = c.end_user_id";
/// [`CONVERSATION_COLUMNS`] in two halves, for a query that selects more.
const CONVERSATION_COLUMNS_ONLY: &str =
    "c.id, c.end_user_id, u.client_id, c.channel_id, c.channel_address, c.ccd_developer_name, \
     c.routing_attributes, u.consent_status, c.created_at, c.updated_at";
const CONVERSATION_FROM: &str =
    "FROM conversations c JOIN messaging_end_users u ON u.id = c.end_user_id";

const ENTRY_COLUMNS: &str = "seq, conversation_id, entry_id, session_id, entry_type, sender_app_type, sender_subject, \
     sender_role, client_timestamp, server_timestamp, text, message_type, format_type, acknowledged_entry_id, source, payload \
     FROM conversation_entries";

macro_rules! impl_conversation_repository {
    ($store:ty, $row:ty, $db:ty, $begin:expr, $write_batch:expr) => {
        impl $store {
            fn conversation_row(row: &$row) -> Result<ConversationRow, StoreError> {
                Ok(ConversationRow {
                    id: row.try_get("id")?,
                    end_user_id: row.try_get("end_user_id")?,
                    client_id: row.try_get("client_id")?,
                    channel_id: row.try_get("channel_id")?,
                    channel_address: row.try_get("channel_address")?,
                    ccd_developer_name: row.try_get("ccd_developer_name")?,
                    routing_attributes: row.try_get("routing_attributes")?,
                    consent_status: row.try_get("consent_status")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn session_row(row: &$row) -> Result<SessionRow, StoreError> {
                Ok(SessionRow {
                    id: row.try_get("id")?,
                    conversation_id: row.try_get("conversation_id")?,
                    status: row.try_get("status")?,
                    started_at: row.try_get("started_at")?,
                    ended_at: row.try_get("ended_at")?,
                })
            }

            fn entry_row(row: &$row) -> Result<EntryRow, StoreError> {
                Ok(EntryRow {
                    seq: row.try_get("seq")?,
                    conversation_id: row.try_get("conversation_id")?,
                    entry_id: row.try_get("entry_id")?,
                    session_id: row.try_get("session_id")?,
                    entry_type: row.try_get("entry_type")?,
                    sender_app_type: row.try_get("sender_app_type")?,
                    sender_subject: row.try_get("sender_subject")?,
                    sender_role: row.try_get("sender_role")?,
                    client_timestamp: row.try_get("client_timestamp")?,
                    server_timestamp: row.try_get("server_timestamp")?,
                    text: row.try_get("text")?,
                    message_type: row.try_get("message_type")?,
                    format_type: row.try_get("format_type")?,
                    acknowledged_entry_id: row.try_get("acknowledged_entry_id")?,
                    source: row.try_get("source")?,
                    payload: row.try_get("payload")?,
                })
            }

            fn attachment_meta(row: &$row) -> Result<AttachmentMeta, StoreError> {
                Ok(AttachmentMeta {
                    id: row.try_get("id")?,
                    conversation_id: row.try_get("conversation_id")?,
                    entry_id: row.try_get("entry_id")?,
                    name: row.try_get("name")?,
                    mime_type: row.try_get("mime_type")?,
                    size: row.try_get("size")?,
                })
            }

            fn record_row(row: &$row) -> Result<RecordRow, StoreError> {
                Ok(RecordRow {
                    kind: row.try_get("kind")?,
                    key: row.try_get("record_key")?,
                    conversation_id: row.try_get("conversation_id")?,
                    body: row.try_get("body")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            async fn tx_conversation(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: &str,
            ) -> Result<Option<ConversationRow>, StoreError> {
                let row = sqlx::query(&format!("SELECT {CONVERSATION_COLUMNS} WHERE c.id = $1"))
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
                row.as_ref().map(Self::conversation_row).transpose()
            }

            /// The end user and their conversation, created if missing.
            async fn tx_ensure_conversation(
                tx: &mut sqlx::Transaction<'_, $db>,
                new: &NewConversation,
                now: i64,
            ) -> Result<ConversationRow, StoreError> {
                sqlx::query(
                    "INSERT INTO messaging_end_users (id, channel_id, client_id, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (channel_id, client_id) DO NOTHING",
                )
                .bind(&new.new_end_user_id)
                .bind(&new.channel_id)
                .bind(&new.client_id)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                let end_user_id: String =
                    sqlx::query("SELECT id FROM messaging_end_users WHERE channel_id = $1 AND client_id = $2")
                        .bind(&new.channel_id)
                        .bind(&new.client_id)
                        .fetch_one(&mut **tx)
                        .await?
                        .try_get("id")?;
                sqlx::query(
                    "INSERT INTO conversations (id, end_user_id, channel_id, channel_address, ccd_developer_name, \
                     routing_attributes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                     ON CONFLICT (end_user_id) DO NOTHING",
                )
                .bind(&new.new_conversation_id)
                .bind(&end_user_id)
                .bind(&new.channel_id)
                .bind(&new.channel_address)
                .bind(&new.ccd_developer_name)
                .bind(&new.routing_attributes)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                let row = sqlx::query(&format!("SELECT {CONVERSATION_COLUMNS} WHERE c.end_user_id = $1"))
                    .bind(&end_user_id)
                    .fetch_one(&mut **tx)
                    .await?;
                Self::conversation_row(&row)
            }

            async fn tx_latest_session(
                tx: &mut sqlx::Transaction<'_, $db>,
                conversation_id: &str,
            ) -> Result<Option<SessionRow>, StoreError> {
                let row = sqlx::query(
                    "SELECT id, conversation_id, status, started_at, ended_at FROM messaging_sessions \
                     WHERE conversation_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1",
                )
                .bind(conversation_id)
                .fetch_optional(&mut **tx)
                .await?;
                row.as_ref().map(Self::session_row).transpose()
            }

            async fn tx_insert_session(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: &str,
                conversation_id: &str,
                status: &str,
                started_at: i64,
                ended_at: Option<i64>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO messaging_sessions (id, conversation_id, status, started_at, ended_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(conversation_id)
                .bind(status)
                .bind(started_at)
                .bind(ended_at)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn tx_append(
                tx: &mut sqlx::Transaction<'_, $db>,
                target: &EntryTarget,
                session: &SessionChoice,
                entries: &[EntryRecord],
                now: i64,
                touched: &mut Touched,
            ) -> Result<WriteOutcome, StoreError> {
                let conversation = match target {
                    EntryTarget::EndUser(new) => Self::tx_ensure_conversation(tx, new, now).await?,
                    EntryTarget::Conversation(id) => match Self::tx_conversation(tx, id).await? {
                        Some(c) => c,
                        None => return Ok(WriteOutcome::NotFound(Missing::Conversation)),
                    },
                };
                let session_id = match session {
                    SessionChoice::None => None,
                    SessionChoice::Current { new_session_id } => {
                        match Self::tx_latest_session(tx, &conversation.id).await? {
                            Some(s) if s.status == "Ended" => {
                                Self::tx_insert_session(tx, new_session_id, &conversation.id, "Active", now, None).await?;
                                touched.touch(&conversation.id, Some(&conversation.channel_id), "session", now);
                                Some(new_session_id.clone())
                            }
                            Some(s) => {
                                if s.status == "Inactive" {
                                    sqlx::query("UPDATE messaging_sessions SET status = 'Active' WHERE id = $1")
                                        .bind(&s.id)
                                        .execute(&mut **tx)
                                        .await?;
                                    touched.touch(&conversation.id, Some(&conversation.channel_id), "session", now);
                                }
                                Some(s.id)
                            }
                            None => {
                                Self::tx_insert_session(tx, new_session_id, &conversation.id, "Active", now, None).await?;
                                touched.touch(&conversation.id, Some(&conversation.channel_id), "session", now);
                                Some(new_session_id.clone())
                            }
                        }
                    }
                    SessionChoice::Establish { session_id, started_at, ended_at } => {
                        let status = if ended_at.is_some() { "Ended" } else { "Active" };
                        Self::tx_insert_session(tx, session_id, &conversation.id, status, *started_at, *ended_at).await?;
                        touched.touch(&conversation.id, Some(&conversation.channel_id), "session", now);
                        Some(session_id.clone())
                    }
                    SessionChoice::Attach(id) => {
                        let found = sqlx::query("SELECT id FROM messaging_sessions WHERE id = $1 AND conversation_id = $2")
                            .bind(id)
                            .bind(&conversation.id)
                            .fetch_optional(&mut **tx)
                            .await?;
                        if found.is_none() {
                            return Ok(WriteOutcome::NotFound(Missing::Session));
                        }
                        Some(id.clone())
                    }
                };
                let mut stored = Vec::with_capacity(entries.len());
                for e in entries {
                    let inserted = sqlx::query(
                        "INSERT INTO conversation_entries (conversation_id, entry_id, session_id, entry_type, sender_app_type, \
                         sender_subject, sender_role, client_timestamp, server_timestamp, text, message_type, format_type, \
                         acknowledged_entry_id, source, payload) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                         ON CONFLICT (conversation_id, entry_id) DO NOTHING",
                    )
                    .bind(&conversation.id)
                    .bind(&e.entry_id)
                    .bind(&session_id)
                    .bind(&e.entry_type)
                    .bind(&e.sender_app_type)
                    .bind(&e.sender_subject)
                    .bind(&e.sender_role)
                    .bind(e.client_timestamp)
                    .bind(now)
                    .bind(&e.text)
                    .bind(&e.message_type)
                    .bind(&e.format_type)
                    .bind(&e.acknowledged_entry_id)
                    .bind(&e.source)
                    .bind(&e.payload)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected();
                    if inserted == 0 {
                        let prior: Option<String> =
                            sqlx::query("SELECT session_id FROM conversation_entries WHERE conversation_id = $1 AND entry_id = $2")
                                .bind(&conversation.id)
                                .bind(&e.entry_id)
                                .fetch_one(&mut **tx)
                                .await?
                                .try_get("session_id")?;
                        stored.push(StoredEntry { entry_id: e.entry_id.clone(), session_id: prior, duplicate: true });
                        continue;
                    }
                    if let Some(a) = &e.attachment {
                        sqlx::query(
                            "INSERT INTO conversation_attachments (id, conversation_id, entry_id, name, mime_type, size, content, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(&a.id)
                        .bind(&conversation.id)
                        .bind(&e.entry_id)
                        .bind(&a.name)
                        .bind(&a.mime_type)
                        .bind(i64::try_from(a.content.len()).unwrap_or(i64::MAX))
                        .bind(&a.content)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    }
                    stored.push(StoredEntry { entry_id: e.entry_id.clone(), session_id: session_id.clone(), duplicate: false });
                }
                if stored.iter().any(|s| !s.duplicate) {
                    sqlx::query("UPDATE conversations SET updated_at = $2 WHERE id = $1")
                        .bind(&conversation.id)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    touched.touch(&conversation.id, Some(&conversation.channel_id), "entry", now);
                } else if entries.is_empty() {
                    // Establishing (or looking up) a conversation without entries.
                    touched.touch(&conversation.id, Some(&conversation.channel_id), "conversation", now);
                }
                // A duplicate-only retry answers with the session the entry was stored in.
                let answer_session = match stored.first() {
                    Some(first) if first.duplicate => first.session_id.clone(),
                    _ => session_id,
                };
                Ok(WriteOutcome::Appended { conversation, session_id: answer_session, entries: stored })
            }

            async fn tx_apply(tx: &mut sqlx::Transaction<'_, $db>, op: &WriteOp, touched: &mut Touched) -> Result<WriteOutcome, StoreError> {
                match op {
                    WriteOp::Unit { claim, ops, event } => Self::tx_unit(tx, claim.as_ref(), ops, event.as_ref(), touched).await,
                    other => Self::tx_apply_one(tx, other, touched).await,
                }
            }

            /// A unit inside a savepoint, so that what it wrote goes if it is refused, without
            /// touching the other ops of the batch.
            async fn tx_unit(
                tx: &mut sqlx::Transaction<'_, $db>,
                claim: Option<&Claim>,
                ops: &[WriteOp],
                event: Option<&OutboxEvent>,
                touched: &mut Touched,
            ) -> Result<WriteOutcome, StoreError> {
                // What the unit touches counts only if its savepoint commits.
                let mut mine = Touched::default();
                let mut sp = sqlx::Connection::begin(&mut **tx).await?;
                match claim {
                    None => {}
                    Some(Claim::IdempotencyKey { scope, key, response, now }) => {
                        // On PostgreSQL a concurrent holder of the same key makes this wait for its
                        // commit, then do nothing: the key is taken once, across instances.
                        let inserted = sqlx::query(
                            "INSERT INTO idempotency_keys (scope, idem_key, response, replay_id, created_at) \
                             VALUES ($1, $2, $3, NULL, $4) ON CONFLICT (scope, idem_key) DO NOTHING",
                        )
                        .bind(scope)
                        .bind(key)
                        .bind(response)
                        .bind(*now)
                        .execute(&mut *sp)
                        .await?
                        .rows_affected();
                        if inserted == 0 {
                            let row = sqlx::query("SELECT response, replay_id FROM idempotency_keys WHERE scope = $1 AND idem_key = $2")
                                .bind(scope)
                                .bind(key)
                                .fetch_one(&mut *sp)
                                .await?;
                            let replayed = WriteOutcome::Replayed { response: row.try_get("response")?, replay_id: row.try_get("replay_id")? };
                            sp.rollback().await?;
                            return Ok(replayed);
                        }
                    }
                    Some(Claim::Record { kind, key, conversation_id, body, held_when, now }) => {
                        // Insert, or replace unless held; a concurrent claimer on PostgreSQL waits
                        // for the first one's commit and then sees its row.
                        let taken = sqlx::query(
                            "INSERT INTO interaction_records (kind, record_key, conversation_id, body, updated_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, record_key) DO UPDATE \
                             SET conversation_id = excluded.conversation_id, body = excluded.body, updated_at = excluded.updated_at \
                             WHERE interaction_records.body NOT LIKE $6",
                        )
                        .bind(kind)
                        .bind(key)
                        .bind(conversation_id)
                        .bind(body)
                        .bind(*now)
                        .bind(format!("%{held_when}%"))
                        .execute(&mut *sp)
                        .await?
                        .rows_affected();
                        if taken == 0 {
                            sp.rollback().await?;
                            return Ok(WriteOutcome::Held);
                        }
                        if let Some(c) = conversation_id {
                            mine.touch(c, None, "record", *now);
                        }
                    }
                }
                let mut outcomes = Vec::with_capacity(ops.len());
                for op in ops {
                    outcomes.push(Self::tx_apply_one(&mut sp, op, &mut mine).await?);
                }
                if outcomes.iter().any(WriteOutcome::is_not_found) {
                    sp.rollback().await?;
                    return Ok(WriteOutcome::Unit { outcomes, replay_id: None });
                }
                let mut replay_id = None;
                if let Some(e) = event {
                    let ids = Self::tx_append_events(&mut sp, &e.topic, &e.schema, std::slice::from_ref(&e.event)).await?;
                    replay_id = ids.first().copied();
                    // The live feed shows a delivery of this event on the conversation (and the
                    // agent entry) it carries.
                    let entry_id = outcomes.iter().find_map(|o| match o {
                        WriteOutcome::Appended { entries, .. } => entries.iter().find(|s| !s.duplicate).map(|s| s.entry_id.clone()),
                        _ => None,
                    });
                    if let (Some(replay_id), Some(conversation_id)) = (replay_id, mine.first_conversation()) {
                        let link = EventLink { conversation_id: conversation_id.to_string(), entry_id };
                        Self::tx_link_event(&mut sp, &e.topic, replay_id, &link, e.event.created_at).await?;
                    }
                    if let Some(Claim::IdempotencyKey { scope, key, .. }) = claim {
                        sqlx::query("UPDATE idempotency_keys SET replay_id = $3 WHERE scope = $1 AND idem_key = $2")
                            .bind(scope)
                            .bind(key)
                            .bind(replay_id)
                            .execute(&mut *sp)
                            .await?;
                    }
                }
                sp.commit().await?;
                touched.merge(mine);
                Ok(WriteOutcome::Unit { outcomes, replay_id })
            }

            async fn tx_apply_one(tx: &mut sqlx::Transaction<'_, $db>, op: &WriteOp, touched: &mut Touched) -> Result<WriteOutcome, StoreError> {
                match op {
                    WriteOp::Unit { .. } => Err(StoreError::Database(sqlx::Error::Protocol(
                        "a write unit cannot nest another".into(),
                    ))),
                    WriteOp::Append { target, session, entries, now } => {
                        Self::tx_append(tx, target, session, entries, *now, touched).await
                    }
                    WriteOp::Consent { channel_id, client_id, new_end_user_id, status, now } => {
                        sqlx::query(
                            "INSERT INTO messaging_end_users (id, channel_id, client_id, consent_status, consent_updated_at, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (channel_id, client_id) DO UPDATE \
                             SET consent_status = excluded.consent_status, consent_updated_at = excluded.consent_updated_at",
                        )
                        .bind(new_end_user_id)
                        .bind(channel_id)
                        .bind(client_id)
                        .bind(status)
                        .bind(*now)
                        .execute(&mut **tx)
                        .await?;
                        let conversation: Option<String> = sqlx::query_scalar(
                            "SELECT c.id FROM conversations c JOIN messaging_end_users u ON u.id = c.end_user_id \
                             WHERE u.channel_id = $1 AND u.client_id = $2",
                        )
                        .bind(channel_id)
                        .bind(client_id)
                        .fetch_optional(&mut **tx)
                        .await?;
                        if let Some(c) = conversation {
                            touched.touch(&c, Some(channel_id), "consent", *now);
                        }
                        Ok(WriteOutcome::Done)
                    }
                    WriteOp::PutRecord { kind, key, conversation_id, body, now } => {
                        sqlx::query(
                            "INSERT INTO interaction_records (kind, record_key, conversation_id, body, updated_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, record_key) DO UPDATE \
                             SET conversation_id = excluded.conversation_id, body = excluded.body, updated_at = excluded.updated_at",
                        )
                        .bind(kind)
                        .bind(key)
                        .bind(conversation_id)
                        .bind(body)
                        .bind(*now)
                        .execute(&mut **tx)
                        .await?;
                        if let Some(c) = conversation_id {
                            touched.touch(c, None, "record", *now);
                        }
                        Ok(WriteOutcome::Done)
                    }
                    WriteOp::SessionStatus { conversation_id, session_id, status, ended_by, now } => {
                        let target = match session_id {
                            Some(id) => id.clone(),
                            None => match Self::tx_latest_session(tx, conversation_id).await? {
                                Some(s) => s.id,
                                None => return Ok(WriteOutcome::NotFound(Missing::Session)),
                            },
                        };
                        let ended_at = (status == "Ended").then_some(*now);
                        let changed = sqlx::query(
                            "UPDATE messaging_sessions SET status = $3, ended_at = COALESCE($4, ended_at), ended_by = COALESCE($5, ended_by) \
                             WHERE id = $1 AND conversation_id = $2",
                        )
                        .bind(&target)
                        .bind(conversation_id)
                        .bind(status)
                        .bind(ended_at)
                        .bind(ended_by)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected();
                        if changed == 0 {
                            return Ok(WriteOutcome::NotFound(Missing::Session));
                        }
                        sqlx::query("UPDATE conversations SET updated_at = $2 WHERE id = $1")
                            .bind(conversation_id)
                            .bind(*now)
                            .execute(&mut **tx)
                            .await?;
                        touched.touch(conversation_id, None, "session", *now);
                        Ok(WriteOutcome::Done)
                    }
                }
            }
        }

        impl $store {
            /// Apply `ops` statement by statement from this process, in one transaction: SQLite's
            /// path. On PostgreSQL [`ConversationRepository::write_batch`] uses the server-side
            /// function instead ([`crate::pg_batch`]), which must behave exactly like this; this
            /// stays callable there as the reference the function is tested against.
            pub async fn write_batch_in_process(&self, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let mut out = Vec::with_capacity(ops.len());
                let mut touched = Touched::default();
                for op in ops {
                    out.push(Self::tx_apply(&mut tx, op, &mut touched).await?);
                }
                // Last, so the feed's head row is locked only for the commit itself.
                Self::tx_feed_touched(&mut tx, touched).await?;
                tx.commit().await?;
                Ok(out)
            }
        }

        #[async_trait]
        impl ConversationRepository for $store {
            async fn write_batch(&self, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, StoreError> {
                $write_batch(self, ops).await
            }

            async fn conversation(&self, id: &str) -> Result<Option<ConversationRow>, StoreError> {
                let row = sqlx::query(&format!("SELECT {CONVERSATION_COLUMNS} WHERE c.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::conversation_row).transpose()
            }

            async fn conversations(&self, limit: i64) -> Result<Vec<ConversationRow>, StoreError> {
                let rows = sqlx::query(&format!("SELECT {CONVERSATION_COLUMNS} ORDER BY c.updated_at DESC, c.id LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::conversation_row).collect()
            }

            async fn entry_count(&self, conversation_id: &str) -> Result<i64, StoreError> {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM conversation_entries WHERE conversation_id = $1")
                    .bind(conversation_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get("n")?)
            }

            async fn sessions(&self, conversation_id: &str) -> Result<Vec<SessionRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, conversation_id, status, started_at, ended_at FROM messaging_sessions \
                     WHERE conversation_id = $1 ORDER BY started_at DESC, id DESC",
                )
                .bind(conversation_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::session_row).collect()
            }

            async fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
                let row = sqlx::query("SELECT id, conversation_id, status, started_at, ended_at FROM messaging_sessions WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::session_row).transpose()
            }

            async fn entries(&self, conversation_id: &str) -> Result<Vec<EntryRow>, StoreError> {
                let rows = sqlx::query(&format!("SELECT {ENTRY_COLUMNS} WHERE conversation_id = $1 ORDER BY seq"))
                    .bind(conversation_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::entry_row).collect()
            }

            async fn entry_page(&self, conversation_id: &str, page: EntryPage) -> Result<Vec<EntryRow>, StoreError> {
                let order = if page.newest_first { "client_timestamp DESC, seq DESC" } else { "client_timestamp, seq" };
                let rows = sqlx::query(&format!(
                    "SELECT {ENTRY_COLUMNS} WHERE conversation_id = $1 AND client_timestamp >= $2 AND client_timestamp <= $3 \
                     ORDER BY {order} LIMIT $4"
                ))
                .bind(conversation_id)
                .bind(page.start_time)
                .bind(page.end_time)
                .bind(page.limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::entry_row).collect()
            }

            async fn attachments(&self, conversation_id: &str) -> Result<Vec<AttachmentMeta>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, conversation_id, entry_id, name, mime_type, size FROM conversation_attachments \
                     WHERE conversation_id = $1 ORDER BY created_at, id",
                )
                .bind(conversation_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::attachment_meta).collect()
            }

            async fn attachment_content(&self, id: &str) -> Result<Option<(AttachmentMeta, Vec<u8>)>, StoreError> {
                let row = sqlx::query(
                    "SELECT id, conversation_id, entry_id, name, mime_type, size, content FROM conversation_attachments WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(row) => Ok(Some((Self::attachment_meta(&row)?, row.try_get("content")?))),
                    None => Ok(None),
                }
            }

            async fn end_user(&self, channel_id: &str, client_id: &str) -> Result<Option<EndUserRow>, StoreError> {
                let row = sqlx::query(
                    "SELECT id, channel_id, client_id, consent_status FROM messaging_end_users WHERE channel_id = $1 AND client_id = $2",
                )
                .bind(channel_id)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(row) => Ok(Some(EndUserRow {
                        id: row.try_get("id")?,
                        channel_id: row.try_get("channel_id")?,
                        client_id: row.try_get("client_id")?,
                        consent_status: row.try_get("consent_status")?,
                    })),
                    None => Ok(None),
                }
            }

            async fn record(&self, kind: &str, key: &str) -> Result<Option<RecordRow>, StoreError> {
                let row = sqlx::query(
                    "SELECT kind, record_key, conversation_id, body, updated_at FROM interaction_records WHERE kind = $1 AND record_key = $2",
                )
                .bind(kind)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::record_row).transpose()
            }

            async fn idempotent_response(&self, scope: &str, key: &str) -> Result<Option<(String, Option<i64>)>, StoreError> {
                let row = sqlx::query("SELECT response, replay_id FROM idempotency_keys WHERE scope = $1 AND idem_key = $2")
                    .bind(scope)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(row) => Ok(Some((row.try_get("response")?, row.try_get("replay_id")?))),
                    None => Ok(None),
                }
            }

            async fn records_of(&self, conversation_id: &str) -> Result<Vec<RecordRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT kind, record_key, conversation_id, body, updated_at FROM interaction_records \
                     WHERE conversation_id = $1 ORDER BY updated_at, kind, record_key",
                )
                .bind(conversation_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::record_row).collect()
            }

            async fn conversation_list(&self, filter: &ConversationListFilter) -> Result<Vec<ConversationListRow>, StoreError> {
                const STATUS: &str = "(SELECT s.status FROM messaging_sessions s WHERE s.conversation_id = c.id \
                     ORDER BY s.started_at DESC, s.id DESC LIMIT 1)";
                const LAST: &str = "FROM conversation_entries e WHERE e.conversation_id = c.id AND e.entry_type = 'Message' \
                     ORDER BY e.seq DESC LIMIT 1";
                let mut conditions = Vec::new();
                let mut n = 0;
                if filter.channel_id.is_some() {
                    n += 1;
                    conditions.push(format!("c.channel_id = ${n}"));
                }
                if filter.session_status.is_some() {
                    n += 1;
                    conditions.push(format!("{STATUS} = ${n}"));
                }
                let where_clause = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
                let sql = format!(
                    "SELECT {CONVERSATION_COLUMNS_ONLY}, {STATUS} AS session_status, \
                     (SELECT e.text {LAST}) AS last_text, (SELECT e.sender_role {LAST}) AS last_role \
                     {CONVERSATION_FROM}{where_clause} ORDER BY c.updated_at DESC, c.id LIMIT ${}",
                    n + 1
                );
                let mut q = sqlx::query(&sql);
                if let Some(c) = &filter.channel_id {
                    q = q.bind(c);
                }
                if let Some(s) = &filter.session_status {
                    q = q.bind(s);
                }
                let rows = q.bind(filter.limit).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|row| {
                        Ok(ConversationListRow {
                            conversation: Self::conversation_row(row)?,
                            session_status: row.try_get("session_status")?,
                            last_message_text: row.try_get("last_text")?,
                            last_message_role: row.try_get("last_role")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

// SQLite: take the write lock up front. A deferred transaction that reads first and then
// writes fails with SQLITE_BUSY (no waiting) when another connection committed in between,
// e.g. an event append beside the group-commit writer. Batches are applied in process: SQLite
// has no round trips to save.
impl_conversation_repository!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    sqlx::Sqlite,
    "BEGIN IMMEDIATE",
    SqliteStore::write_batch_in_process
);
// PostgreSQL: one statement per batch, the server-side function (crate::pg_batch).
impl_conversation_repository!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Postgres,
    "BEGIN",
    postgres_write_batch
);

async fn postgres_write_batch(
    store: &PostgresStore,
    ops: &[WriteOp],
) -> Result<Vec<WriteOutcome>, StoreError> {
    if statement_by_statement() {
        return store.write_batch_in_process(ops).await;
    }
    crate::pg_batch::write_batch(&store.pool, ops).await
}

/// `BYOC_PG_BATCH=statements` (read at every batch) makes PostgreSQL batches go statement by
/// statement again, as before the server-side function: only so a benchmark can measure both in
/// one run (docs/benchmarks.md); both paths answer and store the same (the store tests check it).
fn statement_by_statement() -> bool {
    std::env::var_os("BYOC_PG_BATCH").is_some_and(|v| v == "statements")
}
