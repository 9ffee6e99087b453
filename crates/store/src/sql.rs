//! The SQLite and PostgreSQL implementations of the repositories.
//!
//! The SQL is written once, with `$n` placeholders that both drivers accept, inside
//! [`impl_repositories!`], which is expanded once per backend. Connection setup and migrations are
//! per backend.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use byoc_proto::setup::AuditEntry;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, Row, SqlitePool};

use crate::{ChangeSet, Kind, Lookup, RawRecord, Repositories, SetupRepository, StoreError};

/// SQLite, the default: one file, WAL journal, `synchronous=FULL`, a busy timeout so concurrent
/// writers wait.
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::BadUrl(format!("bad SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A 202 means on disk: in WAL mode FULL syncs the WAL at every commit, so a commit
            // survives an OS crash or power loss, not only a process crash (NORMAL syncs only at
            // checkpoints and can lose the last commits). The fsync is paid once per
            // transaction, and conversation writes go through the group-commit writer, so
            // concurrent requests share it (docs/benchmarks.md has the cost).
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

/// PostgreSQL, for several byoc instances sharing one org.
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

/// How long a request waits for a pooled PostgreSQL connection (including opening a new one and
/// the liveness ping of an idle one) before it fails with [`StoreError::is_unavailable`]: a
/// database that is down makes requests fail within this, not hang (docs/scale-out.md, "When the
/// database fails").
pub const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// The server cancels any statement running longer than this (`statement_timeout`), and ends a
/// session idle inside a transaction for longer than [`PG_IDLE_IN_TRANSACTION_TIMEOUT`]: a
/// stuck statement or an abandoned transaction can't hold locks (and the group-commit writer)
/// for ever.
pub const PG_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
pub const PG_IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the start waits for its first PostgreSQL session.
pub const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An idle pooled connection older than this is closed rather than reused: after a failover
/// the pool does not keep sessions to a server that is gone.
const PG_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

impl PostgresStore {
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::BadUrl(format!("bad PostgreSQL URL {:?}: {e}", crate::redact(url)))
        })?;
        // Migrations run on a session of their own without the statement timeout: one that
        // rewrites a large table may take longer than any request should.
        let migrate_options = options.clone().options([("statement_timeout", "0")]);
        let options = options
            // A commit returns only once its WAL record is flushed on the server, whatever the
            // server, database or role default says (`synchronous_commit = off` would answer
            // before the flush and lose the last commits in a server crash). Set at connection
            // start, so every pooled session has it.
            .options([
                ("synchronous_commit", "on".to_string()),
                (
                    "statement_timeout",
                    PG_STATEMENT_TIMEOUT.as_millis().to_string(),
                ),
                (
                    "idle_in_transaction_session_timeout",
                    PG_IDLE_IN_TRANSACTION_TIMEOUT.as_millis().to_string(),
                ),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(PG_ACQUIRE_TIMEOUT)
            .idle_timeout(PG_IDLE_TIMEOUT)
            // A pooled connection is pinged before it is handed out, so a session the server
            // ended (restart, pg_terminate_backend, a cut connection) is replaced instead of
            // failing the request that drew it; the ping counts against the acquire timeout.
            .test_before_acquire(true)
            .connect_lazy_with(options);
        // Bounded: a server that accepts the connection and never answers fails the start
        // instead of hanging it.
        let mut migrator_conn = tokio::time::timeout(PG_CONNECT_TIMEOUT, migrate_options.connect())
            .await
            .map_err(|_| StoreError::TimedOut("connecting to PostgreSQL"))??;
        // Several instances may start at once: migrations take an advisory lock in sqlx.
        sqlx::migrate!("migrations/postgres")
            .run(&mut migrator_conn)
            .await?;
        let _ = sqlx::Connection::close(migrator_conn).await;
        Ok(PostgresStore { pool })
    }
}

async fn ping<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    timeout: Duration,
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let query = async {
        let mut conn = pool.acquire().await?;
        sqlx::Executor::execute(&mut *conn, "SELECT 1").await?;
        Ok::<(), StoreError>(())
    };
    match tokio::time::timeout(timeout, query).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::TimedOut("the readiness query")),
    }
}

fn map_write_error(e: sqlx::Error, kind: Kind) -> StoreError {
    if let Some(db) = e.as_database_error() {
        if db.is_unique_violation() {
            let msg = format!("{} {}", db.message(), db.constraint().unwrap_or(""));
            let what = if msg.contains("lookup") {
                "key"
            } else if msg.contains("alt") {
                "API name"
            } else {
                "name"
            };
            return StoreError::Conflict {
                kind: kind.label(),
                what,
            };
        }
    }
    StoreError::Database(e)
}

macro_rules! impl_repositories {
    ($store:ty, $row:ty, $backend:literal, $begin:literal, $lock:literal) => {
        impl $store {
            fn raw(row: &$row) -> Result<RawRecord, StoreError> {
                let kind: String = row.try_get("kind")?;
                Ok(RawRecord {
                    kind: Kind::parse(&kind).ok_or_else(|| {
                        StoreError::Database(sqlx::Error::Decode(
                            format!("unknown record kind {kind:?}").into(),
                        ))
                    })?,
                    id: row.try_get("id")?,
                    name_key: row.try_get("name_key")?,
                    alt_key: row.try_get("alt_key")?,
                    lookup_key: row.try_get("lookup_key")?,
                    body: row.try_get("body")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }
        }

        #[async_trait]
        impl SetupRepository for $store {
            async fn find(&self, kind: Kind, by: Lookup<'_>) -> Result<Option<RawRecord>, StoreError> {
                let (column, value) = match by {
                    Lookup::Id(v) => ("id", v.to_string()),
                    Lookup::Name(v) => ("name_key", v.to_lowercase()),
                    Lookup::AltKey(v) => ("alt_key", v.to_lowercase()),
                    Lookup::LookupKey(v) => ("lookup_key", v.to_string()),
                };
                let sql = format!(
                    "SELECT kind, id, name_key, alt_key, lookup_key, body, updated_at \
                     FROM setup_objects WHERE kind = $1 AND {column} = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(kind.as_str())
                    .bind(value)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::raw).transpose()
            }

            async fn list(&self, kind: Kind) -> Result<Vec<RawRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT kind, id, name_key, alt_key, lookup_key, body, updated_at \
                     FROM setup_objects WHERE kind = $1 ORDER BY name_key",
                )
                .bind(kind.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::raw).collect()
            }

            async fn apply(&self, change: ChangeSet) -> Result<(), StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                for (kind, id) in &change.deletes {
                    sqlx::query("DELETE FROM setup_objects WHERE kind = $1 AND id = $2")
                        .bind(kind.as_str())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                for r in &change.updates {
                    sqlx::query(
                        "UPDATE setup_objects SET name_key = $3, alt_key = $4, lookup_key = $5, \
                         body = $6, updated_at = $7 WHERE kind = $1 AND id = $2",
                    )
                    .bind(r.kind.as_str())
                    .bind(&r.id)
                    .bind(&r.name_key)
                    .bind(&r.alt_key)
                    .bind(&r.lookup_key)
                    .bind(&r.body)
                    .bind(r.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| map_write_error(e, r.kind))?;
                }
                for c in &change.checked_updates {
                    let r = &c.record;
                    // Compare-and-swap: the stored record must still be the one read. The row is
                    // locked while compared (FOR UPDATE on PostgreSQL, where a concurrent writer
                    // makes this wait for its commit and then read what it wrote; SQLite's
                    // IMMEDIATE transaction holds the write lock), so no edit slips in between.
                    let stored: Option<String> = sqlx::query_scalar(concat!(
                        "SELECT body FROM setup_objects WHERE kind = $1 AND id = $2",
                        $lock
                    ))
                    .bind(r.kind.as_str())
                    .bind(&r.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if stored.as_deref().and_then(c.normalize).as_deref() != Some(c.read.as_str()) {
                        return Err(StoreError::Stale { kind: r.kind.label(), id: r.id.clone() });
                    }
                    sqlx::query(
                        "UPDATE setup_objects SET name_key = $3, alt_key = $4, lookup_key = $5, \
                         body = $6, updated_at = $7 WHERE kind = $1 AND id = $2",
                    )
                    .bind(r.kind.as_str())
                    .bind(&r.id)
                    .bind(&r.name_key)
                    .bind(&r.alt_key)
                    .bind(&r.lookup_key)
                    .bind(&r.body)
                    .bind(r.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| map_write_error(e, r.kind))?;
                }
                for r in &change.inserts {
                    sqlx::query(
                        "INSERT INTO setup_objects (kind, id, name_key, alt_key, lookup_key, body, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(r.kind.as_str())
                    .bind(&r.id)
                    .bind(&r.name_key)
                    .bind(&r.alt_key)
                    .bind(&r.lookup_key)
                    .bind(&r.body)
                    .bind(r.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| map_write_error(e, r.kind))?;
                }
                for a in &change.audit {
                    let body = serde_json::to_string(&a.changes).unwrap_or_else(|_| "[]".into());
                    sqlx::query(
                        "INSERT INTO setup_audit_trail (created_date, created_by, section, action, body) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(a.created_date)
                    .bind(&a.created_by)
                    .bind(&a.section)
                    .bind(&a.action)
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
                }
                for (subject, revoked_at) in &change.revocations {
                    // The latest revocation of a subject wins.
                    sqlx::query(
                        "INSERT INTO principal_revocations (subject, revoked_at) VALUES ($1, $2) \
                         ON CONFLICT (subject) DO UPDATE SET revoked_at = CASE \
                         WHEN excluded.revoked_at > principal_revocations.revoked_at \
                         THEN excluded.revoked_at ELSE principal_revocations.revoked_at END",
                    )
                    .bind(subject)
                    .bind(revoked_at)
                    .execute(&mut *tx)
                    .await?;
                }
                for p in &change.passwords {
                    sqlx::query(
                        "INSERT INTO user_passwords (user_id, password_hash, set_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, \
                         set_at = excluded.set_at",
                    )
                    .bind(&p.user_id)
                    .bind(&p.password_hash)
                    .bind(p.set_at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn audit_trail_page(&self, page: crate::Page, limit: i64) -> Result<Vec<(i64, AuditEntry)>, StoreError> {
                let (cursor, older) = page.cursor();
                let sql = format!(
                    "SELECT seq, created_date, created_by, section, action, body FROM setup_audit_trail \
                     WHERE seq {} $1 ORDER BY seq {} LIMIT $2",
                    if older { "<" } else { ">" },
                    if older { "DESC" } else { "ASC" },
                );
                let rows = sqlx::query(&sql).bind(cursor).bind(limit).fetch_all(&self.pool).await?;
                let mut out = rows
                    .iter()
                    .map(|row| {
                        let body: String = row.try_get("body")?;
                        Ok((
                            row.try_get::<i64, _>("seq")?,
                            AuditEntry {
                                created_date: row.try_get("created_date")?,
                                created_by: row.try_get("created_by")?,
                                section: row.try_get("section")?,
                                action: row.try_get("action")?,
                                changes: serde_json::from_str(&body).unwrap_or_default(),
                            },
                        ))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                if !older {
                    out.reverse();
                }
                Ok(out)
            }

            async fn audit_trail(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
                let rows = sqlx::query(
                    "SELECT created_date, created_by, section, action, body FROM setup_audit_trail \
                     ORDER BY seq DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let body: String = row.try_get("body")?;
                        Ok(AuditEntry {
                            created_date: row.try_get("created_date")?,
                            created_by: row.try_get("created_by")?,
                            section: row.try_get("section")?,
                            action: row.try_get("action")?,
                            changes: serde_json::from_str(&body).unwrap_or_default(),
                        })
                    })
                    .collect()
            }
        }

        #[async_trait]
        impl Repositories for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
                ping(&self.pool, timeout).await
            }
        }
    };
}

// SQLite takes the write lock up front (a deferred transaction that reads before it writes fails
// with SQLITE_BUSY if another connection committed in between); PostgreSQL locks the rows it
// compares.
impl_repositories!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    "sqlite",
    "BEGIN IMMEDIATE",
    ""
);
impl_repositories!(
    PostgresStore,
    sqlx::postgres::PgRow,
    "postgres",
    "BEGIN",
    " FOR UPDATE"
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pooled SQLite connection syncs the WAL at each commit (`PRAGMA synchronous` 2 is
    /// FULL): hold as many connections as the pool gives, so none is left unchecked.
    #[tokio::test]
    async fn every_sqlite_connection_runs_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let mut held = Vec::new();
        for _ in 0..store.pool.options().get_max_connections() {
            held.push(store.pool.acquire().await.unwrap());
        }
        for conn in &mut held {
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(level, 2, "PRAGMA synchronous: 2 is FULL");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
        }
    }

    /// A database whose default is `synchronous_commit = off` still gets flushed commits from
    /// byoc: every session sets it back on.
    #[tokio::test]
    async fn every_postgres_session_commits_synchronously_whatever_the_database_default() {
        let Some(url) = crate::testing::postgres_url("synchronous_commit").await else {
            return;
        };
        let name = url::Url::parse(&url)
            .unwrap()
            .path()
            .trim_start_matches('/')
            .to_string();
        let admin = std::env::var("BYOC_TEST_POSTGRES")
            .unwrap_or_else(|_| crate::testing::DEFAULT_ADMIN_URL.to_string());
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap();
        sqlx::Executor::execute(
            &mut conn,
            format!("ALTER DATABASE {name} SET synchronous_commit = off").as_str(),
        )
        .await
        .unwrap();
        let store = PostgresStore::open(&url).await.unwrap();
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(store.pool.acquire().await.unwrap());
        }
        for conn in &mut held {
            let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(setting, "on");
        }
        // The database default really is off: a plain session sees it.
        let mut url = url::Url::parse(&url).unwrap();
        url.set_query(None);
        let mut plain = <sqlx::PgConnection as sqlx::Connection>::connect(url.as_str())
            .await
            .unwrap();
        let default: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&mut plain)
            .await
            .unwrap();
        assert_eq!(default, "off");
    }
}
