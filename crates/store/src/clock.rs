//! The org clock's offset (`org_clock`, migration 0014): the org's time is real time plus this
//! offset, one row shared by every instance on the database (docs/org-as-code.md, "The org
//! clock"). On PostgreSQL every write raises `byoc_clock` ([`crate::notify::Channel::Clock`]);
//! on SQLite the server announces its own writes ([`crate::Store::announce`]).
//!
//! Like [`crate::pki`], the SQL is written once in [`impl_clock_repository!`] and expanded per
//! backend.

use async_trait::async_trait;
use sqlx::Row;

use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// The stored clock: how far the org's time is from real time, and when (real time) it was
/// last moved. [`StoredClock::REAL`] when nobody moved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoredClock {
    pub offset_millis: i64,
    pub moved_at: i64,
}

impl StoredClock {
    /// Real time: no offset, never moved.
    pub const REAL: StoredClock = StoredClock {
        offset_millis: 0,
        moved_at: 0,
    };
}

#[async_trait]
pub trait ClockRepository: Send + Sync {
    /// The stored clock ([`StoredClock::REAL`] when there is no row).
    async fn org_clock(&self) -> Result<StoredClock, StoreError>;

    /// Store `offset_millis` as the org clock's offset.
    async fn set_org_clock(
        &self,
        offset_millis: i64,
        moved_at: i64,
    ) -> Result<StoredClock, StoreError>;

    /// Add `delta_millis` to the offset in one statement (two admins advancing at once both
    /// count), unless the new offset would leave `[min_offset, max_offset]`: then nothing
    /// changes and the answer is `None`.
    async fn advance_org_clock(
        &self,
        delta_millis: i64,
        min_offset: i64,
        max_offset: i64,
        moved_at: i64,
    ) -> Result<Option<StoredClock>, StoreError>;
}

macro_rules! impl_clock_repository {
    ($store:ty) => {
        #[async_trait]
        impl ClockRepository for $store {
            async fn org_clock(&self) -> Result<StoredClock, StoreError> {
                let row =
                    sqlx::query("SELECT offset_millis, moved_at FROM org_clock WHERE id = 1")
                        .fetch_optional(&self.pool)
                        .await?;
                match row {
                    Some(row) => Ok(StoredClock {
                        offset_millis: row.try_get("offset_millis")?,
                        moved_at: row.try_get("moved_at")?,
                    }),
                    None => Ok(StoredClock::REAL),
                }
            }

            async fn set_org_clock(
                &self,
                offset_millis: i64,
                moved_at: i64,
            ) -> Result<StoredClock, StoreError> {
                sqlx::query(
                    "INSERT INTO org_clock (id, offset_millis, moved_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET offset_millis = excluded.offset_millis, \
                     moved_at = excluded.moved_at",
                )
                .bind(offset_millis)
                .bind(moved_at)
                .execute(&self.pool)
                .await?;
                Ok(StoredClock {
                    offset_millis,
                    moved_at,
                })
            }

            async fn advance_org_clock(
                &self,
                delta_millis: i64,
                min_offset: i64,
                max_offset: i64,
                moved_at: i64,
            ) -> Result<Option<StoredClock>, StoreError> {
                if !(min_offset..=max_offset).contains(&delta_millis) {
                    // Also the answer for a first move (no row yet) out of range.
                    let current = self.org_clock().await?;
                    if current.offset_millis.checked_add(delta_millis).is_none_or(|o| {
                        !(min_offset..=max_offset).contains(&o)
                    }) {
                        return Ok(None);
                    }
                }
                // The bounds keep the sum far from i64's limits (callers pass bounds of
                // thousands of years, and the delta was checked against them above or is
                // within them).
                let row = sqlx::query(
                    "INSERT INTO org_clock (id, offset_millis, moved_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET offset_millis = org_clock.offset_millis + $1, \
                     moved_at = $2 \
                     WHERE org_clock.offset_millis + $1 BETWEEN $3 AND $4 \
                     RETURNING offset_millis, moved_at",
                )
                .bind(delta_millis)
                .bind(moved_at)
                .bind(min_offset)
                .bind(max_offset)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    Ok(StoredClock {
                        offset_millis: row.try_get("offset_millis")?,
                        moved_at: row.try_get("moved_at")?,
                    })
                })
                .transpose()
            }
        }
    };
}

impl_clock_repository!(SqliteStore);
impl_clock_repository!(PostgresStore);
