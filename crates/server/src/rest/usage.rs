//! The org's API request count: the `api-usage=N/15000` of `Sforce-Limit-Info` and the
//! `DailyApiRequests` of `/limits`.
//!
//! Several instances on one database share one org, so the count is the org's, kept per UTC day
//! in the database ([`byoc_store::cursors::CursorRepository::add_api_usage`]). Counting a request
//! must not cost a database round trip: each instance counts in memory and a background task
//! ([`ApiUsage::run`]) adds the local count to the database about once a second and reads the
//! org's total back in the same statement. A request reports the org's total as of the last flush
//! plus this instance's requests since, so the count another instance answered shows up here
//! within about a second. byoc enforces no limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use byoc_core::Clock;
use byoc_store::Store;
use tokio_util::sync::CancellationToken;

/// How often the local count goes to the database (and the org's total comes back).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// This instance's view of the org's API request count.
#[derive(Debug, Default)]
pub struct ApiUsage {
    /// Requests answered here since the last flush.
    pending: AtomicU64,
    /// The org's total for the day as of the last flush (this instance's flushed requests in).
    org_total: AtomicU64,
    /// The highest count reported today: what a caller sees never goes down within a day (a
    /// request racing a flush could otherwise see the old total without its pending share).
    shown: AtomicU64,
}

impl ApiUsage {
    /// Count one request and answer the org's count with it.
    pub fn count(&self) -> u64 {
        let pending = self.pending.fetch_add(1, Ordering::AcqRel) + 1;
        let now = self.org_total.load(Ordering::Acquire) + pending;
        self.shown.fetch_max(now, Ordering::AcqRel).max(now)
    }

    /// The org's count as this instance knows it, without counting.
    pub fn current(&self) -> u64 {
        let now = self.org_total.load(Ordering::Acquire) + self.pending.load(Ordering::Acquire);
        self.shown.load(Ordering::Acquire).max(now)
    }

    /// Start the count over (the org was reset: `byoc reset` deleted the stored counts).
    pub fn forget(&self) {
        self.pending.store(0, Ordering::Release);
        self.org_total.store(0, Ordering::Release);
        self.shown.store(0, Ordering::Release);
    }

    /// Add the local count to `day`'s in the database and take the org's total from it. On a
    /// database error the count stays pending for the next flush.
    pub async fn flush(&self, store: &Store, day: &str) {
        let delta = self.pending.swap(0, Ordering::AcqRel);
        match store.repo().add_api_usage(day, delta as i64).await {
            Ok(total) => self
                .org_total
                .store(u64::try_from(total).unwrap_or(0), Ordering::Release),
            Err(e) => {
                self.pending.fetch_add(delta, Ordering::AcqRel);
                tracing::debug!(error = %e, "the API usage count could not be flushed; retrying");
            }
        }
    }

    /// Flush every [`FLUSH_EVERY`] until `shutdown`, and once more then. A new UTC day starts
    /// the count again, as Salesforce's daily allocation does.
    pub async fn run(
        self: Arc<Self>,
        store: Store,
        clock: Arc<dyn Clock>,
        shutdown: CancellationToken,
    ) {
        let mut day = utc_day(clock.now_millis());
        loop {
            let stop = tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => false,
                _ = shutdown.cancelled() => true,
            };
            let today = utc_day(clock.now_millis());
            if today != day {
                // Yesterday's last requests stay with yesterday; today's count starts over.
                self.flush(&store, &day).await;
                day = today;
                self.org_total.store(0, Ordering::Release);
                self.shown.store(0, Ordering::Release);
            }
            self.flush(&store, &day).await;
            if stop {
                return;
            }
        }
    }
}

/// `YYYY-MM-DD` (UTC) of a time in ms.
fn utc_day(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_adds_the_org_total_and_never_goes_down() {
        let usage = ApiUsage::default();
        assert_eq!(usage.count(), 1);
        assert_eq!(usage.count(), 2);
        // Another instance's 10 arrive with the flush of our 2.
        usage.pending.swap(0, Ordering::AcqRel);
        usage.org_total.store(12, Ordering::Release);
        assert_eq!(usage.current(), 12);
        assert_eq!(usage.count(), 13);
        // A flush racing a request: the old total without the pending share would go back.
        usage.pending.swap(0, Ordering::AcqRel);
        assert_eq!(usage.count(), 13);
        assert_eq!(utc_day(1_764_374_400_000), "2025-11-29");
    }
}
