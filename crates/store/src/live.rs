//! The console's live feed: an ordered log of "something changed" rows that the server pushes to
//! browsers as Server-Sent Events (docs/console.md, "Live updates").
//!
//! - Conversation rows are written by [`crate::conversations::ConversationRepository::write_batch`]
//!   inside the batch's own transaction: one row per conversation the batch touched (kinds
//!   merged), after everything else, so a change and its feed row commit together or not at all.
//! - Delivery rows ([`LiveFeedRepository::append_feed`]) are written by the server when the
//!   Pub/Sub host delivered an event; [`LiveFeedRepository::event_link`] says which conversation
//!   and agent entry the event carries (recorded when a write unit appended the event).
//! - Seqs come from the one-row `live_feed_head`, bumped just before commit: the row lock orders
//!   writers (across instances on PostgreSQL), so seqs are gap-free and in commit order. On
//!   PostgreSQL the new head is also sent with `pg_notify('byoc_live', head)`, delivered at commit,
//!   so every instance's follower wakes at once ([`LiveFeedRepository::feed_listener`]).
//!
//! Like [`crate::sql`], the SQL is written once in [`impl_live_feed_repository!`] and expanded per
//! backend; the tables come from the `0008_live_feed` migrations.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;

use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// The PostgreSQL channel the feed's head is announced on.
pub const CHANNEL: &str = "byoc_live";

/// A feed row to append; its seq is assigned by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedRow {
    /// The SSE event name (`conversation`, `delivered`).
    pub kind: String,
    pub conversation_id: String,
    /// The event's data: one JSON object.
    pub body: String,
    pub created_at: i64,
}

/// A stored feed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    pub seq: i64,
    pub kind: String,
    pub conversation_id: String,
    pub body: String,
    pub created_at: i64,
}

/// Where the feed stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedBounds {
    /// The newest seq ever assigned (0: none yet).
    pub head: i64,
    /// The oldest seq still kept, if any row is.
    pub oldest: Option<i64>,
}

impl FeedBounds {
    /// Whether every row after `after` is still kept (so a client that saw `after` can catch up
    /// without a gap). An `after` beyond the head is not (the database was replaced).
    pub fn can_resume_after(&self, after: i64) -> bool {
        if after > self.head || after < 0 {
            return false;
        }
        if after == self.head {
            return true;
        }
        self.oldest.is_some_and(|oldest| oldest <= after + 1)
    }
}

/// The conversation and agent entry a platform event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLink {
    pub conversation_id: String,
    pub entry_id: Option<String>,
}

/// Wakes when another writer (any instance) committed feed rows; PostgreSQL only.
pub struct FeedListener {
    inner: sqlx::postgres::PgListener,
}

impl FeedListener {
    /// The next announced head; `Ok(None)` when the connection was lost and re-established
    /// (announcements may have been missed: read from the database to catch up).
    pub async fn recv(&mut self) -> Result<Option<i64>, StoreError> {
        match self.inner.try_recv().await? {
            Some(n) => Ok(Some(n.payload().parse().unwrap_or(0))),
            None => Ok(None),
        }
    }
}

#[async_trait]
pub trait LiveFeedRepository: Send + Sync {
    /// Append rows in one transaction (seqs in order); returns the new head.
    async fn append_feed(&self, rows: &[NewFeedRow]) -> Result<i64, StoreError>;

    /// Up to `limit` rows with a seq above `after`, oldest first.
    async fn feed_after(&self, after: i64, limit: i64) -> Result<Vec<FeedRow>, StoreError>;

    async fn feed_bounds(&self) -> Result<FeedBounds, StoreError>;

    /// Forget rows created before `before` (epoch ms), and all but the newest `keep` rows;
    /// returns how many went. Event links older than `before` go too.
    async fn prune_feed(&self, before: i64, keep: i64) -> Result<u64, StoreError>;

    /// What the event `replay_id` of `topic` carries, if a write unit appended it.
    async fn event_link(
        &self,
        topic: &str,
        replay_id: i64,
    ) -> Result<Option<EventLink>, StoreError>;

    /// A listener for other writers' commits (PostgreSQL); `None` on SQLite, where every writer
    /// is in this process.
    async fn feed_listener(&self) -> Result<Option<FeedListener>, StoreError>;
}

/// What a write batch changed, per conversation, collected as its ops apply and written as feed
/// rows just before the batch commits.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    list: Vec<Touch>,
    index: HashMap<String, usize>,
}

#[derive(Debug)]
pub(crate) struct Touch {
    pub(crate) conversation_id: String,
    pub(crate) channel_id: Option<String>,
    /// `entry`, `session`, `record`, `consent`, `conversation`; each once, in first-seen order.
    pub(crate) kinds: Vec<&'static str>,
    pub(crate) at: i64,
}

impl Touched {
    pub(crate) fn touch(
        &mut self,
        conversation_id: &str,
        channel_id: Option<&str>,
        kind: &'static str,
        at: i64,
    ) {
        let i = match self.index.get(conversation_id) {
            Some(&i) => i,
            None => {
                self.list.push(Touch {
                    conversation_id: conversation_id.to_string(),
                    channel_id: None,
                    kinds: Vec::new(),
                    at,
                });
                self.index
                    .insert(conversation_id.to_string(), self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let t = &mut self.list[i];
        if t.channel_id.is_none() {
            t.channel_id = channel_id.map(str::to_string);
        }
        if !t.kinds.contains(&kind) {
            t.kinds.push(kind);
        }
        t.at = t.at.max(at);
    }

    /// Take over what a committed unit (savepoint) touched.
    pub(crate) fn merge(&mut self, other: Touched) {
        for t in other.list {
            for kind in &t.kinds {
                self.touch(&t.conversation_id, t.channel_id.as_deref(), kind, t.at);
            }
        }
    }

    pub(crate) fn first_conversation(&self) -> Option<&str> {
        self.list.first().map(|t| t.conversation_id.as_str())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn into_list(self) -> Vec<Touch> {
        self.list
    }
}

/// The `conversation` event's data.
pub(crate) fn conversation_body(t: &Touch) -> String {
    serde_json::json!({
        "conversationId": t.conversation_id,
        "channelId": t.channel_id,
        "kinds": t.kinds,
        "at": t.at,
    })
    .to_string()
}

/// Rows per INSERT statement (5 parameters each, well under both drivers' limits).
pub(crate) const ROWS_PER_INSERT: usize = 400;

/// `INSERT INTO live_feed ... VALUES ($1..$5), ($6..$10), ...` for `n` rows.
pub(crate) fn insert_sql(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO live_feed (seq, kind, conversation_id, body, created_at) VALUES ",
    );
    for i in 0..n {
        let b = i * 5;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ));
    }
    sql
}

macro_rules! impl_live_feed_repository {
    ($store:ty, $row:ty, $db:ty, $notify:expr, $listener:expr) => {
        impl $store {
            fn feed_row(row: &$row) -> Result<FeedRow, StoreError> {
                Ok(FeedRow {
                    seq: row.try_get("seq")?,
                    kind: row.try_get("kind")?,
                    conversation_id: row.try_get("conversation_id")?,
                    body: row.try_get("body")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            /// Append `rows` inside the caller's transaction, as late as possible before its
            /// commit (the head row stays locked until then); returns the new head, or `None`
            /// when there was nothing to append.
            pub(crate) async fn tx_append_feed(
                tx: &mut sqlx::Transaction<'_, $db>,
                rows: &[NewFeedRow],
            ) -> Result<Option<i64>, StoreError> {
                if rows.is_empty() {
                    return Ok(None);
                }
                let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
                let head: i64 = sqlx::query_scalar(
                    "UPDATE live_feed_head SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq",
                )
                .bind(count)
                .fetch_one(&mut **tx)
                .await?;
                let mut seq = head - count + 1;
                for chunk in rows.chunks(ROWS_PER_INSERT) {
                    let sql = insert_sql(chunk.len());
                    let mut q = sqlx::query(&sql);
                    for r in chunk {
                        q = q.bind(seq).bind(&r.kind).bind(&r.conversation_id).bind(&r.body).bind(r.created_at);
                        seq += 1;
                    }
                    q.execute(&mut **tx).await?;
                }
                let notify: &str = $notify;
                if !notify.is_empty() {
                    sqlx::query(notify).bind(head.to_string()).execute(&mut **tx).await?;
                }
                Ok(Some(head))
            }

            /// The feed rows of what a batch touched: channel ids looked up for conversations
            /// only known by id (records, session changes), then appended.
            pub(crate) async fn tx_feed_touched(
                tx: &mut sqlx::Transaction<'_, $db>,
                touched: Touched,
            ) -> Result<(), StoreError> {
                if touched.is_empty() {
                    return Ok(());
                }
                let mut rows = Vec::new();
                for mut t in touched.into_list() {
                    if t.channel_id.is_none() {
                        t.channel_id = sqlx::query_scalar("SELECT channel_id FROM conversations WHERE id = $1")
                            .bind(&t.conversation_id)
                            .fetch_optional(&mut **tx)
                            .await?;
                    }
                    rows.push(NewFeedRow {
                        kind: "conversation".to_string(),
                        body: conversation_body(&t),
                        conversation_id: t.conversation_id,
                        created_at: t.at,
                    });
                }
                Self::tx_append_feed(tx, &rows).await?;
                Ok(())
            }

            /// Remember which conversation (and agent entry) the event `replay_id` of `topic`
            /// carries.
            pub(crate) async fn tx_link_event(
                tx: &mut sqlx::Transaction<'_, $db>,
                topic: &str,
                replay_id: i64,
                link: &EventLink,
                now: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO live_event_links (topic, replay_id, conversation_id, entry_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (topic, replay_id) DO NOTHING",
                )
                .bind(topic)
                .bind(replay_id)
                .bind(&link.conversation_id)
                .bind(&link.entry_id)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl LiveFeedRepository for $store {
            async fn append_feed(&self, rows: &[NewFeedRow]) -> Result<i64, StoreError> {
                let mut tx = self.pool.begin().await?;
                let head = Self::tx_append_feed(&mut tx, rows).await?;
                let head = match head {
                    Some(h) => h,
                    None => sqlx::query_scalar("SELECT last_seq FROM live_feed_head WHERE id = 1")
                        .fetch_one(&mut *tx)
                        .await?,
                };
                tx.commit().await?;
                Ok(head)
            }

            async fn feed_after(&self, after: i64, limit: i64) -> Result<Vec<FeedRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT seq, kind, conversation_id, body, created_at FROM live_feed \
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::feed_row).collect()
            }

            async fn feed_bounds(&self) -> Result<FeedBounds, StoreError> {
                let row = sqlx::query(
                    "SELECT (SELECT last_seq FROM live_feed_head WHERE id = 1) AS head, \
                     (SELECT MIN(seq) FROM live_feed) AS oldest",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(FeedBounds {
                    head: row.try_get::<Option<i64>, _>("head")?.unwrap_or(0),
                    oldest: row.try_get("oldest")?,
                })
            }

            async fn prune_feed(&self, before: i64, keep: i64) -> Result<u64, StoreError> {
                let head: i64 = sqlx::query_scalar("SELECT last_seq FROM live_feed_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?;
                let done = sqlx::query("DELETE FROM live_feed WHERE created_at < $1 OR seq <= $2")
                    .bind(before)
                    .bind(head.saturating_sub(keep.max(0)))
                    .execute(&self.pool)
                    .await?;
                sqlx::query("DELETE FROM live_event_links WHERE created_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn event_link(&self, topic: &str, replay_id: i64) -> Result<Option<EventLink>, StoreError> {
                let row = sqlx::query(
                    "SELECT conversation_id, entry_id FROM live_event_links WHERE topic = $1 AND replay_id = $2",
                )
                .bind(topic)
                .bind(replay_id)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(r) => Ok(Some(EventLink {
                        conversation_id: r.try_get("conversation_id")?,
                        entry_id: r.try_get("entry_id")?,
                    })),
                    None => Ok(None),
                }
            }

            async fn feed_listener(&self) -> Result<Option<FeedListener>, StoreError> {
                $listener(self).await
            }
        }
    };
}

async fn no_listener(_: &SqliteStore) -> Result<Option<FeedListener>, StoreError> {
    Ok(None)
}

async fn pg_listener(store: &PostgresStore) -> Result<Option<FeedListener>, StoreError> {
    let mut inner = sqlx::postgres::PgListener::connect_with(&store.pool).await?;
    inner.listen(CHANNEL).await?;
    Ok(Some(FeedListener { inner }))
}

impl_live_feed_repository!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    sqlx::Sqlite,
    "",
    no_listener
);
impl_live_feed_repository!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Postgres,
    // The `live_feed_insert_notify` trigger (migration 0010) announces the head on `byoc_live`.
    "",
    pg_listener
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_points() {
        let b = FeedBounds {
            head: 10,
            oldest: Some(5),
        };
        assert!(b.can_resume_after(10));
        assert!(b.can_resume_after(4));
        assert!(b.can_resume_after(7));
        assert!(!b.can_resume_after(3));
        assert!(!b.can_resume_after(11));
        assert!(!b.can_resume_after(-1));
        let empty = FeedBounds {
            head: 10,
            oldest: None,
        };
        assert!(empty.can_resume_after(10));
        assert!(!empty.can_resume_after(9));
        assert!(FeedBounds::default().can_resume_after(0));
    }

    #[test]
    fn touches_merge_per_conversation() {
        let mut t = Touched::default();
        t.touch("c1", Some("ch"), "entry", 5);
        t.touch("c2", None, "record", 3);
        t.touch("c1", None, "entry", 7);
        t.touch("c1", None, "session", 6);
        let mut unit = Touched::default();
        unit.touch("c2", Some("ch2"), "session", 9);
        t.merge(unit);
        let list = t.into_list();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].kinds, vec!["entry", "session"]);
        assert_eq!(list[0].at, 7);
        assert_eq!(list[0].channel_id.as_deref(), Some("ch"));
        assert_eq!(list[1].kinds, vec!["record", "session"]);
        assert_eq!(list[1].channel_id.as_deref(), Some("ch2"));
        assert_eq!(list[1].at, 9);
        assert_eq!(
            insert_sql(2),
            "INSERT INTO live_feed (seq, kind, conversation_id, body, created_at) VALUES ($1, $2, $3, $4, $5),($6, $7, $8, $9, $10)"
        );
    }
}
