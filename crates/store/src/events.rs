//! The platform event log: per topic, an ordered, durable list of events with replay ids 1, 2,
//! 3, ... (the Pub/Sub API sends them as 8 bytes big-endian), kept for a retention period.
//!
//! Replay ids come from a per-topic counter row updated inside the appending transaction: the
//! row lock orders concurrent appenders (also across instances on one PostgreSQL), so ids are
//! gapless and a reader that saw id N will never later see a new id below N commit.
//!
//! Like [`crate::sql`], the SQL is written once in [`impl_event_repository!`] and expanded per
//! backend; the tables come from the `0004_platform_events` migrations.

use async_trait::async_trait;
use sqlx::Row;

use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// An event to append; its replay id is assigned by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's UUID (`ProducerEvent.id`).
    pub event_id: String,
    pub schema_id: String,
    /// One raw Avro datum.
    pub payload: Vec<u8>,
    pub created_at: i64,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub replay_id: i64,
    pub event_id: String,
    pub schema_id: String,
    pub payload: Vec<u8>,
    pub created_at: i64,
}

/// Where a topic's log stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicBounds {
    /// The newest replay id ever assigned (0: none yet).
    pub latest: i64,
    /// The oldest replay id still retained, if any event is.
    pub oldest_retained: Option<i64>,
}

/// A schema some event was written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchema {
    pub schema_id: String,
    pub topic: String,
    pub schema_json: String,
}

#[async_trait]
pub trait EventRepository: Send + Sync {
    /// Append events to a topic in one transaction; returns their replay ids, in order. The
    /// schema is recorded (once per id) with them.
    async fn append_events(
        &self,
        topic: &str,
        schema: &StoredSchema,
        events: &[NewEvent],
    ) -> Result<Vec<i64>, StoreError>;

    /// Up to `limit` events of a topic with a replay id above `after`, oldest first.
    async fn read_events(
        &self,
        topic: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    async fn topic_bounds(&self, topic: &str) -> Result<TopicBounds, StoreError>;

    /// Forget events created before `before` (epoch ms); returns how many went.
    async fn purge_events(&self, before: i64) -> Result<u64, StoreError>;

    async fn event_schema(&self, schema_id: &str) -> Result<Option<StoredSchema>, StoreError>;
}

macro_rules! impl_event_repository {
    ($store:ty, $row:ty, $db:ty) => {
        impl $store {
            fn event_row(row: &$row) -> Result<StoredEvent, StoreError> {
                Ok(StoredEvent {
                    replay_id: row.try_get("replay_id")?,
                    event_id: row.try_get("event_id")?,
                    schema_id: row.try_get("schema_id")?,
                    payload: row.try_get("payload")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            /// Append inside the caller's transaction (also the conversation writer's, so an agent
            /// action's entry and its event commit together: the event log is the outbox).
            pub(crate) async fn tx_append_events(
                tx: &mut sqlx::Transaction<'_, $db>,
                topic: &str,
                schema: &StoredSchema,
                events: &[NewEvent],
            ) -> Result<Vec<i64>, StoreError> {
                if events.is_empty() {
                    return Ok(vec![]);
                }
                let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
                let now = events.iter().map(|e| e.created_at).max().unwrap_or_default();
                sqlx::query(
                    "INSERT INTO platform_event_topics (topic, last_replay_id) VALUES ($1, 0) \
                     ON CONFLICT (topic) DO NOTHING",
                )
                .bind(topic)
                .execute(&mut **tx)
                .await?;
                let last: i64 = sqlx::query_scalar(
                    "UPDATE platform_event_topics SET last_replay_id = last_replay_id + $2 \
                     WHERE topic = $1 RETURNING last_replay_id",
                )
                .bind(topic)
                .bind(count)
                .fetch_one(&mut **tx)
                .await?;
                let first = last - count + 1;
                let mut ids = Vec::with_capacity(events.len());
                for (offset, e) in (0i64..).zip(events) {
                    let replay_id = first + offset;
                    sqlx::query(
                        "INSERT INTO platform_events (topic, replay_id, event_id, schema_id, payload, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(topic)
                    .bind(replay_id)
                    .bind(&e.event_id)
                    .bind(&e.schema_id)
                    .bind(&e.payload)
                    .bind(e.created_at)
                    .execute(&mut **tx)
                    .await?;
                    ids.push(replay_id);
                }
                sqlx::query(
                    "INSERT INTO platform_event_schemas (schema_id, topic, schema_json, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (schema_id) DO NOTHING",
                )
                .bind(&schema.schema_id)
                .bind(&schema.topic)
                .bind(&schema.schema_json)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(ids)
            }
        }

        #[async_trait]
        impl EventRepository for $store {
            async fn append_events(&self, topic: &str, schema: &StoredSchema, events: &[NewEvent]) -> Result<Vec<i64>, StoreError> {
                if events.is_empty() {
                    return Ok(vec![]);
                }
                let mut tx = self.pool.begin().await?;
                let ids = Self::tx_append_events(&mut tx, topic, schema, events).await?;
                tx.commit().await?;
                Ok(ids)
            }

            async fn read_events(&self, topic: &str, after: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
                let rows = sqlx::query(
                    "SELECT replay_id, event_id, schema_id, payload, created_at FROM platform_events \
                     WHERE topic = $1 AND replay_id > $2 ORDER BY replay_id LIMIT $3",
                )
                .bind(topic)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::event_row).collect()
            }

            async fn topic_bounds(&self, topic: &str) -> Result<TopicBounds, StoreError> {
                let row = sqlx::query(
                    "SELECT COALESCE((SELECT last_replay_id FROM platform_event_topics WHERE topic = $1), 0) AS latest, \
                     (SELECT MIN(replay_id) FROM platform_events WHERE topic = $1) AS oldest",
                )
                .bind(topic)
                .fetch_one(&self.pool)
                .await?;
                Ok(TopicBounds { latest: row.try_get("latest")?, oldest_retained: row.try_get("oldest")? })
            }

            async fn purge_events(&self, before: i64) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM platform_events WHERE created_at < $1").bind(before).execute(&self.pool).await?;
                Ok(done.rows_affected())
            }

            async fn event_schema(&self, schema_id: &str) -> Result<Option<StoredSchema>, StoreError> {
                let row = sqlx::query("SELECT schema_id, topic, schema_json FROM platform_event_schemas WHERE schema_id = $1")
                    .bind(schema_id)
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(r) => Ok(Some(StoredSchema {
                        schema_id: r.try_get("schema_id")?,
                        topic: r.try_get("topic")?,
                        schema_json: r.try_get("schema_json")?,
                    })),
                    None => Ok(None),
                }
            }
        }
    };
}

impl_event_repository!(SqliteStore, sqlx::sqlite::SqliteRow, sqlx::Sqlite);
impl_event_repository!(PostgresStore, sqlx::postgres::PgRow, sqlx::Postgres);
