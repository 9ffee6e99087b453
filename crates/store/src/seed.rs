//! The org's seed and `byoc reset` (docs/org-as-code.md, "Reset").
//!
//! - [`SeedRepository::save_seed`]: keep the setup records as they are now as the org's seed
//!   (tables `seed_snapshot` and `seed_setup_objects`, migration `0013_seed`).
//! - [`SeedRepository::reset`]: in ONE transaction, delete what test runs leave behind
//!   (conversations and everything under them, platform events, the live feed, login history,
//!   the audit trail, query cursors, API usage, ...) and, unless `keep_setup`, put the setup
//!   records back as the seed has them. What stays: [`KEPT`].
//!
//! Every instance on the database hears of a reset: on PostgreSQL the transaction raises
//! `NOTIFY byoc_reset` (and the `setup_objects` triggers of migration `0010` raise
//! `byoc_setup` for the restored records); on SQLite [`crate::Store::reset`] announces both.
//! Replay ids never go back: `platform_event_topics` keeps each topic's last replay id, and
//! `live_feed_head` its last seq, so subscribers and live streams go on from where they were.
//!
//! Like [`crate::cursors`], the SQL is written once in [`impl_seed_repository!`] and expanded
//! per backend.

use async_trait::async_trait;
use byoc_proto::setup::AuditEntry;
use sqlx::Row;

use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// The setup kinds a seed snapshot leaves out and a reset never touches: the org row (its
/// settings are the org's, not a test's) and the admin credentials (every data dir's `org.json`
/// must keep working).
pub const UNSEEDED_KINDS: [&str; 2] = ["org", "admin_credential"];

/// The tables a reset empties, in the order it empties them, with the name its report uses.
/// Everything a test run leaves behind; see [`KEPT`] for what stays.
pub const EMPTIED: [(&str, &str); 15] = [
    ("conversation_attachments", "attachments"),
    ("conversation_entries", "conversationEntries"),
    ("messaging_sessions", "messagingSessions"),
    ("interaction_records", "interactionRecords"),
    ("conversations", "conversations"),
    ("messaging_end_users", "messagingEndUsers"),
    ("idempotency_keys", "idempotencyKeys"),
    ("platform_events", "platformEvents"),
    ("live_event_links", "liveEventLinks"),
    ("live_feed", "liveFeed"),
    ("login_history", "loginHistory"),
    ("setup_audit_trail", "auditTrail"),
    ("query_cursors", "queryCursors"),
    ("api_usage", "apiUsageDays"),
    ("used_assertion_ids", "usedAssertionIds"),
];

/// Tables a reset keeps, and why (docs/org-as-code.md lists them too).
pub const KEPT: [(&str, &str); 10] = [
    (
        "platform_event_topics",
        "each topic's last replay id: replay ids never go back",
    ),
    (
        "platform_event_schemas",
        "schemas by id: a client holding a schema id can still GetSchema it",
    ),
    (
        "live_feed_head",
        "the live feed's last seq: a console stream's Last-Event-ID stays valid",
    ),
    (
        "revoked_tokens",
        "a revoked token stays revoked until it expires",
    ),
    (
        "principal_revocations",
        "tokens of a deactivated user or a deleted app stay refused",
    ),
    ("server_keys", "the token sealing keys: tokens stay valid"),
    (
        "local_ca",
        "the org's CA: clients that pinned it keep working",
    ),
    (
        "user_passwords",
        "passwords of users the seed has (those of users the reset removed go)",
    ),
    (
        "console_sessions",
        "console sessions of users the seed has (those of removed users go)",
    ),
    ("seed_snapshot", "the seed itself"),
];

/// When and from what the seed was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedInfo {
    pub taken_at: i64,
    /// `sample`, `empty`, `project <dir>` or `existing` (an org from before seeds were kept).
    pub source: String,
}

/// A setup record a reset removed or put back: its kind (`user`, `external_client_app`, ...)
/// and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupRef {
    pub kind: String,
    pub name: String,
}

/// What a reset did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResetReport {
    /// Rows deleted per table, by the names of [`EMPTIED`] (plus `userPasswords` and
    /// `consoleSessions` of users no longer there), zeros included.
    pub removed: Vec<(&'static str, u64)>,
    /// Setup records that were not in the seed, deleted.
    pub setup_removed: Vec<SetupRef>,
    /// Seed records that were changed or deleted since, put back.
    pub setup_restored: Vec<SetupRef>,
}

#[async_trait]
pub trait SeedRepository: Send + Sync {
    /// Keep the setup records as they are now as the seed. `replace`: over any snapshot already
    /// there (the first start's own instance); otherwise only if none is there yet. Answers
    /// whether this call wrote the snapshot.
    async fn save_seed(
        &self,
        taken_at: i64,
        source: &str,
        replace: bool,
    ) -> Result<bool, StoreError>;

    /// The seed, if one was taken.
    async fn seed_info(&self) -> Result<Option<SeedInfo>, StoreError>;

    /// Reset the org in one transaction (see the module doc), then write `audit` as the audit
    /// trail's only entry. Without a seed, a reset that is not `keep_setup` changes nothing and
    /// fails with [`StoreError::NoSeed`].
    async fn reset(&self, keep_setup: bool, audit: &AuditEntry) -> Result<ResetReport, StoreError>;
}

/// A record's display name from its stored body: the username, name or developer name.
fn display_name(name_key: &str, body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    ["username", "fullName", "name", "developerName"]
        .iter()
        .find_map(|k| value.get(*k).and_then(|v| v.as_str()).map(str::to_string))
        .unwrap_or_else(|| name_key.to_string())
}

macro_rules! impl_seed_repository {
    ($store:ty, $backend:literal, $begin:literal) => {
        #[async_trait]
        impl SeedRepository for $store {
            async fn save_seed(
                &self,
                taken_at: i64,
                source: &str,
                replace: bool,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                if replace {
                    sqlx::query("DELETE FROM seed_snapshot").execute(&mut *tx).await?;
                }
                // Instances starting at once: the second waits for the first's row and then
                // inserts nothing.
                let inserted = sqlx::query(
                    "INSERT INTO seed_snapshot (id, taken_at, source) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(taken_at)
                .bind(source)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM seed_setup_objects").execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO seed_setup_objects \
                     (kind, id, name_key, alt_key, lookup_key, body, updated_at) \
                     SELECT kind, id, name_key, alt_key, lookup_key, body, updated_at \
                     FROM setup_objects WHERE kind <> $1 AND kind <> $2",
                )
                .bind(UNSEEDED_KINDS[0])
                .bind(UNSEEDED_KINDS[1])
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn seed_info(&self) -> Result<Option<SeedInfo>, StoreError> {
                let row = sqlx::query("SELECT taken_at, source FROM seed_snapshot WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| {
                    Ok(SeedInfo {
                        taken_at: r.try_get("taken_at")?,
                        source: r.try_get("source")?,
                    })
                })
                .transpose()
            }

            async fn reset(
                &self,
                keep_setup: bool,
                audit: &AuditEntry,
            ) -> Result<ResetReport, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                if $backend == "postgres" {
                    // A large org (a benchmark's millions of entries) may take longer to delete
                    // than a request's statement timeout; a reset is asked for on purpose.
                    sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *tx).await?;
                }
                let mut report = ResetReport::default();
                if !keep_setup {
                    let seeded: Option<i64> =
                        sqlx::query_scalar("SELECT taken_at FROM seed_snapshot WHERE id = 1")
                            .fetch_optional(&mut *tx)
                            .await?;
                    if seeded.is_none() {
                        return Err(StoreError::NoSeed);
                    }
                    // Records the seed doesn't have (by kind and id) go.
                    let extra = sqlx::query(
                        "SELECT kind, name_key, body FROM setup_objects s \
                         WHERE kind <> $1 AND kind <> $2 AND NOT EXISTS \
                         (SELECT 1 FROM seed_setup_objects e WHERE e.kind = s.kind AND e.id = s.id) \
                         ORDER BY kind, name_key",
                    )
                    .bind(UNSEEDED_KINDS[0])
                    .bind(UNSEEDED_KINDS[1])
                    .fetch_all(&mut *tx)
                    .await?;
                    for row in &extra {
                        report.setup_removed.push(SetupRef {
                            kind: row.try_get("kind")?,
                            name: display_name(&row.try_get::<String, _>("name_key")?, &row.try_get::<String, _>("body")?),
                        });
                    }
                    // Seed records missing or changed come back.
                    let changed = sqlx::query(
                        "SELECT kind, name_key, body FROM seed_setup_objects e WHERE NOT EXISTS \
                         (SELECT 1 FROM setup_objects s WHERE s.kind = e.kind AND s.id = e.id \
                          AND s.body = e.body) ORDER BY kind, name_key",
                    )
                    .fetch_all(&mut *tx)
                    .await?;
                    for row in &changed {
                        report.setup_restored.push(SetupRef {
                            kind: row.try_get("kind")?,
                            name: display_name(&row.try_get::<String, _>("name_key")?, &row.try_get::<String, _>("body")?),
                        });
                    }
                    // Only rows that differ are touched, so an unchanged setup raises no
                    // setup notice and no cache is dropped for nothing.
                    sqlx::query(
                        "DELETE FROM setup_objects WHERE kind <> $1 AND kind <> $2 AND NOT EXISTS \
                         (SELECT 1 FROM seed_setup_objects e WHERE e.kind = setup_objects.kind \
                          AND e.id = setup_objects.id AND e.body = setup_objects.body)",
                    )
                    .bind(UNSEEDED_KINDS[0])
                    .bind(UNSEEDED_KINDS[1])
                    .execute(&mut *tx)
                    .await?;
                    // What remains is a subset of the seed, which was consistent: no unique
                    // key can collide.
                    sqlx::query(
                        "INSERT INTO setup_objects \
                         (kind, id, name_key, alt_key, lookup_key, body, updated_at) \
                         SELECT kind, id, name_key, alt_key, lookup_key, body, updated_at \
                         FROM seed_setup_objects e WHERE NOT EXISTS \
                         (SELECT 1 FROM setup_objects s WHERE s.kind = e.kind AND s.id = e.id)",
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                for (table, name) in EMPTIED {
                    let n = sqlx::query(&format!("DELETE FROM {table}"))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    report.removed.push((name, n));
                }
                // Passwords and console sessions of users no longer there (none with
                // keep_setup, which removes no user).
                let n = sqlx::query(
                    "DELETE FROM user_passwords WHERE user_id NOT IN \
                     (SELECT id FROM setup_objects WHERE kind = 'user')",
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                report.removed.push(("userPasswords", n));
                let n = sqlx::query(
                    "DELETE FROM console_sessions WHERE LOWER(username) NOT IN \
                     (SELECT name_key FROM setup_objects WHERE kind = 'user') \
                     OR (real_username IS NOT NULL AND LOWER(real_username) NOT IN \
                     (SELECT name_key FROM setup_objects WHERE kind = 'user'))",
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                report.removed.push(("consoleSessions", n));
                let body = serde_json::to_string(&audit.changes).unwrap_or_else(|_| "[]".into());
                sqlx::query(
                    "INSERT INTO setup_audit_trail (created_date, created_by, section, action, body) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(audit.created_date)
                .bind(&audit.created_by)
                .bind(&audit.section)
                .bind(&audit.action)
                .bind(body)
                .execute(&mut *tx)
                .await?;
                if $backend == "postgres" {
                    // Delivered at commit to every instance (never for a rolled-back reset).
                    sqlx::query("SELECT pg_notify('byoc_reset', '')")
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(report)
            }
        }
    };
}

impl_seed_repository!(SqliteStore, "sqlite", "BEGIN IMMEDIATE");
impl_seed_repository!(PostgresStore, "postgres", "BEGIN");
