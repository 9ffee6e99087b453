//! What the REST API keeps for the whole org rather than per instance, so that several byoc
//! instances on one database answer alike (issue 13): open query cursors (`nextRecordsUrl`) and
//! the daily API request count behind `Sforce-Limit-Info`.
//!
//! Like [`crate::console`], the SQL is written once in [`impl_cursor_repository!`] and expanded per
//! backend; the tables come from the `0011_query_cursors` migrations. The rules (how many
//! cursors, how long they live) are the server's (`byoc_server::rest::query`); the store applies
//! the bounds it is given.

use async_trait::async_trait;
use sqlx::Row;

use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// A query cursor to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQueryCursor {
    /// The locator's id (`01g…`, 18 characters).
    pub id: String,
    /// The user who ran the query: only they may read on.
    pub owner: String,
    /// The URL the cursor's `nextRecordsUrl`s start with (`/services/data/v68.0/query`).
    pub base: String,
    /// Every record of the answer, one compact JSON object a line, in order.
    pub records: String,
    /// How many records (lines) `records` holds.
    pub total: i64,
}

/// A stored cursor, as [`CursorRepository::query_cursor`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryCursorRow {
    pub base: String,
    /// One compact JSON object a line.
    pub records: String,
    pub total: i64,
}

#[async_trait]
pub trait CursorRepository: Send + Sync {
    /// Store a cursor used at `now` (ms). On the way, forget cursors last used at or before
    /// `idle_before`, then the least recently used ones beyond `max` (the new one included).
    async fn open_query_cursor(
        &self,
        cursor: &NewQueryCursor,
        now: i64,
        idle_before: i64,
        max: i64,
    ) -> Result<(), StoreError>;

    /// The cursor `id` if it belongs to `owner` and was used after `idle_before`; marks it used
    /// at `now`.
    async fn query_cursor(
        &self,
        id: &str,
        owner: &str,
        now: i64,
        idle_before: i64,
    ) -> Result<Option<QueryCursorRow>, StoreError>;

    /// Add `delta` API requests to `day`'s count (`YYYY-MM-DD`, UTC) and answer the day's total
    /// (`delta` 0 only reads it).
    async fn add_api_usage(&self, day: &str, delta: i64) -> Result<i64, StoreError>;
}

macro_rules! impl_cursor_repository {
    ($store:ty) => {
        #[async_trait]
        impl CursorRepository for $store {
            async fn open_query_cursor(
                &self,
                c: &NewQueryCursor,
                now: i64,
                idle_before: i64,
                max: i64,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("DELETE FROM query_cursors WHERE used_at <= $1")
                    .bind(idle_before)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO query_cursors \
                     (id, owner, base, records, total, created_at, used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&c.id)
                .bind(&c.owner)
                .bind(&c.base)
                .bind(&c.records)
                .bind(c.total)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                // The least recently used beyond `max` go (ties: the older one first). LIMIT
                // before OFFSET: SQLite takes no OFFSET alone.
                sqlx::query(
                    "DELETE FROM query_cursors WHERE id IN (SELECT id FROM query_cursors \
                     ORDER BY used_at DESC, created_at DESC, id LIMIT 1000000 OFFSET $1)",
                )
                .bind(max.max(1))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn query_cursor(
                &self,
                id: &str,
                owner: &str,
                now: i64,
                idle_before: i64,
            ) -> Result<Option<QueryCursorRow>, StoreError> {
                // One round trip: the read marks the cursor used.
                let row = sqlx::query(
                    "UPDATE query_cursors SET used_at = $1 \
                     WHERE id = $2 AND owner = $3 AND used_at > $4 \
                     RETURNING base, records, total",
                )
                .bind(now)
                .bind(id)
                .bind(owner)
                .bind(idle_before)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                Ok(Some(QueryCursorRow {
                    base: row.try_get("base")?,
                    records: row.try_get("records")?,
                    total: row.try_get("total")?,
                }))
            }

            async fn add_api_usage(&self, day: &str, delta: i64) -> Result<i64, StoreError> {
                if delta == 0 {
                    let total: Option<i64> =
                        sqlx::query_scalar("SELECT requests FROM api_usage WHERE day = $1")
                            .bind(day)
                            .fetch_optional(&self.pool)
                            .await?;
                    return Ok(total.unwrap_or(0));
                }
                let total: i64 = sqlx::query_scalar(
                    "INSERT INTO api_usage (day, requests) VALUES ($1, $2) \
                     ON CONFLICT (day) DO UPDATE SET requests = api_usage.requests + excluded.requests \
                     RETURNING requests",
                )
                .bind(day)
                .bind(delta)
                .fetch_one(&self.pool)
                .await?;
                Ok(total)
            }
        }
    };
}

impl_cursor_repository!(SqliteStore);
impl_cursor_repository!(PostgresStore);
