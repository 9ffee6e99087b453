//! Read-only queries behind the REST API's sObjects (`MessagingEndUser`, `MessagingSession`,
//! `ConversationEntry`, `LoginHistory`): one statement per object, whatever the number of rows,
//! so a SOQL query over 10,000 conversation entries costs one round trip.
//!
//! Like [`crate::sql`], the SQL is written once in [`impl_sobject_repository!`] and expanded per
//! backend; the tables are those of the `0002_oauth` and `0003_conversations` migrations.

use async_trait::async_trait;
use sqlx::Row;

use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// A messaging end user with its creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndUserObject {
    pub id: String,
    pub channel_id: String,
    pub client_id: String,
    pub consent_status: Option<String>,
    pub created_at: i64,
}

/// A messaging session with its conversation's end user and channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionObject {
    pub id: String,
    pub conversation_id: String,
    pub end_user_id: String,
    pub channel_id: String,
    pub status: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// A conversation entry with its conversation's end user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryObject {
    /// The store's sequence number: the `Seq` field and the source of the record id.
    pub seq: i64,
    pub conversation_id: String,
    pub end_user_id: Option<String>,
    pub entry_id: String,
    pub session_id: Option<String>,
    pub entry_type: String,
    pub sender_role: String,
    pub sender_subject: String,
    pub client_timestamp: i64,
    pub server_timestamp: i64,
    pub text: Option<String>,
    pub message_type: Option<String>,
}

/// A login history row with its sequence number (the source of the record id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginObject {
    pub seq: i64,
    pub login_time: i64,
    pub username: String,
    pub user_id: Option<String>,
    pub application: Option<String>,
    pub login_type: String,
    pub status: String,
    pub error_description: Option<String>,
    pub source_ip: Option<String>,
}

/// Every row of one object, oldest first, at most `limit` (the newest `limit` when more exist).
#[async_trait]
pub trait SObjectRepository: Send + Sync {
    async fn end_user_objects(&self, limit: i64) -> Result<Vec<EndUserObject>, StoreError>;
    async fn session_objects(&self, limit: i64) -> Result<Vec<SessionObject>, StoreError>;
    async fn entry_objects(&self, limit: i64) -> Result<Vec<EntryObject>, StoreError>;
    /// The entries of the messaging sessions `sessions` (15-character ids) only, as
    /// [`SObjectRepository::entry_objects`] orders and caps them: what a SOQL query filtered on
    /// `ConversationId` needs, without reading every other conversation's entries.
    async fn entry_objects_in_sessions(
        &self,
        sessions: &[String],
        limit: i64,
    ) -> Result<Vec<EntryObject>, StoreError>;
    async fn login_objects(&self, limit: i64) -> Result<Vec<LoginObject>, StoreError>;
}

macro_rules! impl_sobject_repository {
    ($store:ty) => {
        #[async_trait]
        impl SObjectRepository for $store {
            async fn end_user_objects(&self, limit: i64) -> Result<Vec<EndUserObject>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, channel_id, client_id, consent_status, created_at FROM ( \
                     SELECT * FROM messaging_end_users ORDER BY created_at DESC, id DESC LIMIT $1) t \
                     ORDER BY created_at, id",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(EndUserObject {
                            id: row.try_get("id")?,
                            channel_id: row.try_get("channel_id")?,
                            client_id: row.try_get("client_id")?,
                            consent_status: row.try_get("consent_status")?,
                            created_at: row.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            async fn session_objects(&self, limit: i64) -> Result<Vec<SessionObject>, StoreError> {
                let rows = sqlx::query(
                    "SELECT s.id, s.conversation_id, c.end_user_id, c.channel_id, s.status, \
                     s.started_at, s.ended_at FROM ( \
                     SELECT * FROM messaging_sessions ORDER BY started_at DESC, id DESC LIMIT $1) s \
                     JOIN conversations c ON c.id = s.conversation_id \
                     ORDER BY s.started_at, s.id",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(SessionObject {
                            id: row.try_get("id")?,
                            conversation_id: row.try_get("conversation_id")?,
                            end_user_id: row.try_get("end_user_id")?,
                            channel_id: row.try_get("channel_id")?,
                            status: row.try_get("status")?,
                            started_at: row.try_get("started_at")?,
                            ended_at: row.try_get("ended_at")?,
                        })
                    })
                    .collect()
            }

            async fn entry_objects(&self, limit: i64) -> Result<Vec<EntryObject>, StoreError> {
                let rows = sqlx::query(
                    "SELECT e.seq, e.conversation_id, c.end_user_id, e.entry_id, e.session_id, \
                     e.entry_type, e.sender_role, e.sender_subject, e.client_timestamp, \
                     e.server_timestamp, e.text, e.message_type FROM ( \
                     SELECT * FROM conversation_entries ORDER BY seq DESC LIMIT $1) e \
                     LEFT JOIN conversations c ON c.id = e.conversation_id \
                     ORDER BY e.seq",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(entry_object).collect()
            }

            async fn entry_objects_in_sessions(
                &self,
                sessions: &[String],
                limit: i64,
            ) -> Result<Vec<EntryObject>, StoreError> {
                if sessions.is_empty() {
                    return Ok(vec![]);
                }
                // One placeholder per session id, then the limit: numbered in the order they
                // appear, which both backends bind by.
                let placeholders: Vec<String> =
                    (1..=sessions.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT e.seq, e.conversation_id, c.end_user_id, e.entry_id, e.session_id, \
                     e.entry_type, e.sender_role, e.sender_subject, e.client_timestamp, \
                     e.server_timestamp, e.text, e.message_type FROM ( \
                     SELECT * FROM conversation_entries WHERE session_id IN ({}) \
                     ORDER BY seq DESC LIMIT ${}) e \
                     LEFT JOIN conversations c ON c.id = e.conversation_id \
                     ORDER BY e.seq",
                    placeholders.join(", "),
                    sessions.len() + 1
                );
                let mut query = sqlx::query(&sql);
                for session in sessions {
                    query = query.bind(session);
                }
                let rows = query.bind(limit).fetch_all(&self.pool).await?;
                rows.iter().map(entry_object).collect()
            }

            async fn login_objects(&self, limit: i64) -> Result<Vec<LoginObject>, StoreError> {
                let rows = sqlx::query(
                    "SELECT seq, login_time, username, user_id, application, login_type, status, \
                     error_description, source_ip FROM ( \
                     SELECT * FROM login_history ORDER BY seq DESC LIMIT $1) h ORDER BY seq",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(LoginObject {
                            seq: row.try_get("seq")?,
                            login_time: row.try_get("login_time")?,
                            username: row.try_get("username")?,
                            user_id: row.try_get("user_id")?,
                            application: row.try_get("application")?,
                            login_type: row.try_get("login_type")?,
                            status: row.try_get("status")?,
                            error_description: row.try_get("error_description")?,
                            source_ip: row.try_get("source_ip")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

/// A row of the entry statements above (both backends' rows read the same way).
fn entry_object<R>(row: &R) -> Result<EntryObject, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(EntryObject {
        seq: row.try_get("seq")?,
        conversation_id: row.try_get("conversation_id")?,
        end_user_id: row.try_get("end_user_id")?,
        entry_id: row.try_get("entry_id")?,
        session_id: row.try_get("session_id")?,
        entry_type: row.try_get("entry_type")?,
        sender_role: row.try_get("sender_role")?,
        sender_subject: row.try_get("sender_subject")?,
        client_timestamp: row.try_get("client_timestamp")?,
        server_timestamp: row.try_get("server_timestamp")?,
        text: row.try_get("text")?,
        message_type: row.try_get("message_type")?,
    })
}

impl_sobject_repository!(SqliteStore);
impl_sobject_repository!(PostgresStore);
