//! What the web console keeps: users' password hashes and console sessions.
//!
//! Like [`crate::oauth`], the SQL is written once in [`impl_console_repository!`] and expanded per
//! backend; the tables come from the `0007_console_logins` migrations. Passwords are written with
//! their audit row through [`crate::ChangeSet::set_password`]; only reads are here.

use async_trait::async_trait;
use sqlx::Row;

use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// A console session as stored: the cookie's value appears only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRow {
    /// SHA-256 (hex) of the session id.
    pub session_hash: String,
    /// The user the console acts as.
    pub username: String,
    /// The administrator behind a *Login As* session.
    pub real_username: Option<String>,
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A password hash to store for a user, replacing any earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChange {
    pub user_id: String,
    /// A PHC string (`$argon2id$...`).
    pub password_hash: String,
    pub set_at: i64,
}

#[async_trait]
pub trait ConsoleRepository: Send + Sync {
    /// The stored password hash of a user, if a password was ever set.
    async fn password_hash(&self, user_id: &str) -> Result<Option<String>, StoreError>;

    /// Store a new session, forgetting sessions that expired before `now` on the way.
    async fn create_console_session(
        &self,
        session: &ConsoleSessionRow,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The session whose id hashes to `session_hash`, if it expires after `now`.
    async fn console_session(
        &self,
        session_hash: &str,
        now: i64,
    ) -> Result<Option<ConsoleSessionRow>, StoreError>;

    /// End a session (idempotent).
    async fn delete_console_session(&self, session_hash: &str) -> Result<(), StoreError>;
}

macro_rules! impl_console_repository {
    ($store:ty) => {
        #[async_trait]
        impl ConsoleRepository for $store {
            async fn password_hash(&self, user_id: &str) -> Result<Option<String>, StoreError> {
                let hash: Option<String> = sqlx::query_scalar(
                    "SELECT password_hash FROM user_passwords WHERE user_id = $1",
                )
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(hash)
            }

            async fn create_console_session(
                &self,
                s: &ConsoleSessionRow,
                now: i64,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO console_sessions \
                     (session_hash, username, real_username, csrf, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&s.session_hash)
                .bind(&s.username)
                .bind(&s.real_username)
                .bind(&s.csrf)
                .bind(s.created_at)
                .bind(s.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn console_session(
                &self,
                session_hash: &str,
                now: i64,
            ) -> Result<Option<ConsoleSessionRow>, StoreError> {
                let row = sqlx::query(
                    "SELECT session_hash, username, real_username, csrf, created_at, expires_at \
                     FROM console_sessions WHERE session_hash = $1 AND expires_at > $2",
                )
                .bind(session_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                Ok(Some(ConsoleSessionRow {
                    session_hash: row.try_get("session_hash")?,
                    username: row.try_get("username")?,
                    real_username: row.try_get("real_username")?,
                    csrf: row.try_get("csrf")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                }))
            }

            async fn delete_console_session(&self, session_hash: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM console_sessions WHERE session_hash = $1")
                    .bind(session_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

impl_console_repository!(SqliteStore);
impl_console_repository!(PostgresStore);
