//! What the OAuth endpoints keep: the shared token-sealing key, revoked tokens, used assertion
//! ids (strict mode) and the login history.
//!
//! Like [`crate::sql`], the SQL is written once in [`impl_oauth_repository!`] and expanded per
//! backend; the tables come from the `0002_oauth` migrations.

use async_trait::async_trait;
use byoc_proto::oauth::{LoginHistoryEntry, LoginStatus};
use sqlx::Row;

use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// Filters for [`OAuthRepository::login_history`]; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct LoginHistoryFilter {
    /// At most this many rows, newest first.
    pub limit: i64,
    /// Case-insensitive.
    pub username: Option<String>,
    /// App name (case-insensitive) or consumer key (exact).
    pub app: Option<String>,
    pub status: Option<LoginStatus>,
}

/// A cheap summary of the setup tables that changes whenever a setup record does, so that
/// caches of setup records can tell when another instance changed something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetupFingerprint {
    pub records: i64,
    pub last_update: i64,
    pub last_audit: i64,
}

#[async_trait]
pub trait OAuthRepository: Send + Sync {
    /// The key stored under `name`, storing `candidate` first if there is none. Every instance
    /// sharing the database gets the same key, whoever stored it first.
    async fn server_key(
        &self,
        name: &str,
        candidate_hex: &str,
        now: i64,
    ) -> Result<String, StoreError>;

    /// Every row of `server_keys`: name, key (hex), created_at.
    async fn server_keys(&self) -> Result<Vec<(String, String, i64)>, StoreError>;

    /// Record a revoked token (idempotent).
    async fn revoke_token(
        &self,
        token_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Ids of tokens revoked at or after `revoked_since` that expire after `now`.
    async fn revoked_tokens(&self, revoked_since: i64, now: i64)
        -> Result<Vec<String>, StoreError>;

    /// Record an assertion id as used; `false` when it was used before (atomic: a unique insert).
    async fn use_assertion_id(
        &self,
        app_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError>;

    /// Forget revoked tokens and used assertion ids that expired before `now`.
    async fn purge_expired(&self, now: i64) -> Result<(), StoreError>;

    /// Append login history rows in one transaction.
    async fn record_logins(&self, entries: &[LoginHistoryEntry]) -> Result<(), StoreError>;

    /// Login history, newest first.
    async fn login_history(
        &self,
        filter: &LoginHistoryFilter,
    ) -> Result<Vec<LoginHistoryEntry>, StoreError>;

    /// One page of the login history for the console (keyset pagination on the row's `seq`, the
    /// primary key, so a deep page costs what the first does): at most `filter.limit` rows with
    /// `seq < before` (newest first) or, for the page before, `seq > after` (also returned
    /// newest first). Each row comes with its `seq`, the cursor of the neighbouring pages.
    async fn login_history_page(
        &self,
        filter: &LoginHistoryFilter,
        page: crate::Page,
    ) -> Result<Vec<(i64, LoginHistoryEntry)>, StoreError>;

    async fn setup_fingerprint(&self) -> Result<SetupFingerprint, StoreError>;

    /// Principal revocations (subject: a user id or an app id; the time up to which its tokens
    /// are refused) with `revoked_at >= since`. Written by [`crate::ChangeSet::revoke_principal`].
    async fn revoked_principals(&self, since: i64) -> Result<Vec<(String, i64)>, StoreError>;
}

/// Whether a login-history filter can match no row because it holds NUL: rows are stored with
/// control characters replaced, and PostgreSQL can't even compare text with NUL, so such a
/// filter is answered (with nothing) without asking the database.
fn filter_names_nothing(filter: &LoginHistoryFilter) -> bool {
    [&filter.username, &filter.app]
        .into_iter()
        .flatten()
        .any(|v| v.contains('\0'))
}

fn status_of(s: &str) -> LoginStatus {
    LoginStatus::parse(s).unwrap_or(LoginStatus::Failed)
}

macro_rules! impl_oauth_repository {
    ($store:ty, $row:ty) => {
        impl $store {
            fn login_row(row: &$row) -> Result<LoginHistoryEntry, StoreError> {
                let status: String = row.try_get("status")?;
                Ok(LoginHistoryEntry {
                    login_time: row.try_get("login_time")?,
                    username: row.try_get("username")?,
                    user_id: row.try_get("user_id")?,
                    application: row.try_get("application")?,
                    consumer_key: row.try_get("consumer_key")?,
                    login_type: row.try_get("login_type")?,
                    status: status_of(&status),
                    error: row.try_get("error")?,
                    error_description: row.try_get("error_description")?,
                    diagnosis: row.try_get("diagnosis")?,
                    source_ip: row.try_get("source_ip")?,
                })
            }
        }

        #[async_trait]
        impl OAuthRepository for $store {
            async fn server_key(&self, name: &str, candidate_hex: &str, now: i64) -> Result<String, StoreError> {
                sqlx::query(
                    "INSERT INTO server_keys (name, key_hex, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(candidate_hex)
                .bind(now)
                .execute(&self.pool)
                .await?;
                let key: String = sqlx::query_scalar("SELECT key_hex FROM server_keys WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(key)
            }

            async fn server_keys(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
                let rows = sqlx::query("SELECT name, key_hex, created_at FROM server_keys ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("name")?, row.try_get("key_hex")?, row.try_get("created_at")?)))
                    .collect()
            }

            async fn revoke_token(&self, token_id: &str, expires_at: i64, now: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO revoked_tokens (token_id, expires_at, revoked_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (token_id) DO NOTHING",
                )
                .bind(token_id)
                .bind(expires_at)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn revoked_tokens(&self, revoked_since: i64, now: i64) -> Result<Vec<String>, StoreError> {
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT token_id FROM revoked_tokens WHERE revoked_at >= $1 AND expires_at > $2",
                )
                .bind(revoked_since)
                .bind(now)
                .fetch_all(&self.pool)
                .await?;
                Ok(ids)
            }

            async fn use_assertion_id(&self, app_id: &str, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO used_assertion_ids (app_id, jti, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (app_id, jti) DO NOTHING",
                )
                .bind(app_id)
                .bind(jti)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn purge_expired(&self, now: i64) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM revoked_tokens WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
                sqlx::query("DELETE FROM used_assertion_ids WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
                Ok(())
            }

            async fn record_logins(&self, entries: &[LoginHistoryEntry]) -> Result<(), StoreError> {
                if entries.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await?;
                // Many rows per statement: each statement is a round trip to the driver (SQLite's
                // worker thread), which under load cost as much as the grant's signature check.
                // 64 rows x 11 parameters stays far below both backends' parameter limits.
                for chunk in entries.chunks(64) {
                    let mut insert = sqlx::QueryBuilder::<<$row as sqlx::Row>::Database>::new(
                        "INSERT INTO login_history (login_time, username, user_id, application, consumer_key, \
                         login_type, status, error, error_description, diagnosis, source_ip) ",
                    );
                    insert.push_values(chunk, |mut row, e| {
                        row.push_bind(e.login_time)
                            .push_bind(&e.username)
                            .push_bind(&e.user_id)
                            .push_bind(&e.application)
                            .push_bind(&e.consumer_key)
                            .push_bind(&e.login_type)
                            .push_bind(e.status.as_str())
                            .push_bind(&e.error)
                            .push_bind(&e.error_description)
                            .push_bind(&e.diagnosis)
                            .push_bind(&e.source_ip);
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn login_history(&self, filter: &LoginHistoryFilter) -> Result<Vec<LoginHistoryEntry>, StoreError> {
                if filter_names_nothing(filter) {
                    return Ok(Vec::new());
                }
                // NULL parameters switch a filter off, so one statement serves every combination.
                let rows = sqlx::query(
                    "SELECT login_time, username, user_id, application, consumer_key, login_type, status, \
                     error, error_description, diagnosis, source_ip FROM login_history \
                     WHERE ($1 IS NULL OR LOWER(username) = $1) \
                     AND ($2 IS NULL OR LOWER(application) = LOWER($2) OR consumer_key = $2) \
                     AND ($3 IS NULL OR status = $3) \
                     ORDER BY seq DESC LIMIT $4",
                )
                .bind(filter.username.as_ref().map(|u| u.to_lowercase()))
                .bind(filter.app.as_ref())
                .bind(filter.status.map(LoginStatus::as_str))
                .bind(filter.limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::login_row).collect()
            }

            async fn login_history_page(
                &self,
                filter: &LoginHistoryFilter,
                page: crate::Page,
            ) -> Result<Vec<(i64, LoginHistoryEntry)>, StoreError> {
                if filter_names_nothing(filter) {
                    return Ok(Vec::new());
                }
                let (cursor, older) = page.cursor();
                let sql = format!(
                    "SELECT seq, login_time, username, user_id, application, consumer_key, login_type, status, \
                     error, error_description, diagnosis, source_ip FROM login_history \
                     WHERE ($1 IS NULL OR LOWER(username) = $1) \
                     AND ($2 IS NULL OR LOWER(application) = LOWER($2) OR consumer_key = $2) \
                     AND ($3 IS NULL OR status = $3) \
                     AND seq {} $4 ORDER BY seq {} LIMIT $5",
                    if older { "<" } else { ">" },
                    if older { "DESC" } else { "ASC" },
                );
                let rows = sqlx::query(&sql)
                    .bind(filter.username.as_ref().map(|u| u.to_lowercase()))
                    .bind(filter.app.as_ref())
                    .bind(filter.status.map(LoginStatus::as_str))
                    .bind(cursor)
                    .bind(filter.limit)
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = rows
                    .iter()
                    .map(|row| Ok((row.try_get::<i64, _>("seq")?, Self::login_row(row)?)))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                if !older {
                    out.reverse();
                }
                Ok(out)
            }

            async fn setup_fingerprint(&self) -> Result<SetupFingerprint, StoreError> {
                let row = sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM setup_objects) AS records, \
                     (SELECT COALESCE(MAX(updated_at), 0) FROM setup_objects) AS last_update, \
                     (SELECT COALESCE(MAX(seq), 0) FROM setup_audit_trail) AS last_audit",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(SetupFingerprint {
                    records: row.try_get("records")?,
                    last_update: row.try_get("last_update")?,
                    last_audit: row.try_get("last_audit")?,
                })
            }

            async fn revoked_principals(&self, since: i64) -> Result<Vec<(String, i64)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT subject, revoked_at FROM principal_revocations WHERE revoked_at >= $1",
                )
                .bind(since)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("subject")?, row.try_get("revoked_at")?)))
                    .collect()
            }
        }
    };
}

impl_oauth_repository!(SqliteStore, sqlx::sqlite::SqliteRow);
impl_oauth_repository!(PostgresStore, sqlx::postgres::PgRow);
