//! The poller: every [`POLL_INTERVAL`] it reads the token ids revoked on any instance, the users
//! and apps whose tokens were revoked (deactivated, disabled, deleted), and the setup
//! fingerprint, so this instance refuses revoked tokens and drops stale setup caches within about
//! half a second of a change made elsewhere. Every minute it also reloads the revoked set
//! from scratch (dropping expired tokens) and purges expired rows.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use byoc_core::Clock;
use byoc_store::Store;
use tokio_util::sync::CancellationToken;

use super::Inner;

pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
const FULL_RELOAD_EVERY: u32 = 120;
/// The shortest time between two reloads of the token names caused by checks that missed one.
const MISS_RELOAD_GAP: Duration = Duration::from_millis(100);
/// Revocations are read again for this long after they were written, so rows committed late (or
/// by an instance whose clock lags) are not missed.
const OVERLAP_MILLIS: i64 = 30_000;

/// Load every unexpired revocation (at start).
pub(crate) async fn load_revocations(inner: &Inner) -> anyhow::Result<()> {
    let now = inner.clock.now_millis();
    let ids = inner.store.repo().revoked_tokens(0, now).await?;
    inner
        .tokens
        .replace_revoked(ids.into_iter().collect::<HashSet<_>>());
    inner
        .tokens
        .revoke_principals(inner.store.repo().revoked_principals(i64::MIN).await?);
    Ok(())
}

pub(crate) async fn poll(
    inner: Weak<Inner>,
    store: Store,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = clock.now_millis();
    let mut until_reload: u32 = FULL_RELOAD_EVERY;
    // The fingerprint the token names were last loaded at (start loads them).
    let mut names_at = store.repo().setup_fingerprint().await.ok();
    let mut last_miss_reload: Option<std::time::Instant> = None;
    loop {
        // Only the verifier is held while waiting, not the state (see `start`).
        let Some(names) = inner.upgrade().map(|i| i.tokens.clone()) else {
            return Ok(());
        };
        let missed = {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = ticker.tick() => false,
                // A token named a user or app not known here: load the names now.
                _ = names.names().wait_missed() => true,
            }
        };
        let Some(inner) = inner.upgrade() else {
            return Ok(());
        };
        if missed {
            // At most one miss-driven reload per MISS_RELOAD_GAP: a token whose user the store
            // no longer has can't make this instance read the users in a loop.
            // A miss inside the gap is served at the next tick.
            if last_miss_reload.is_none_or(|t| t.elapsed() >= MISS_RELOAD_GAP) {
                last_miss_reload = Some(std::time::Instant::now());
                reload_names(&inner, &store).await;
            } else {
                names_at = None;
            }
            continue;
        }
        let now = clock.now_millis();
        until_reload -= 1;
        if until_reload == 0 {
            until_reload = FULL_RELOAD_EVERY;
            if let Err(e) = store.repo().purge_expired(now).await {
                tracing::warn!(error = %e, "purging expired revocations failed");
            }
            if let Err(e) = load_revocations(&inner).await {
                tracing::warn!(error = %e, "reloading revocations failed");
            }
        } else {
            match store
                .repo()
                .revoked_tokens(last - OVERLAP_MILLIS, now)
                .await
            {
                Ok(ids) if !ids.is_empty() => inner.tokens.add_revoked(ids),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "polling revocations failed"),
            }
        }
        // Users deactivated and apps disabled or deleted on any instance.
        match store.repo().revoked_principals(last - OVERLAP_MILLIS).await {
            Ok(rows) => inner.tokens.revoke_principals(rows),
            Err(e) => tracing::warn!(error = %e, "polling principal revocations failed"),
        }
        // Sealing keys rotated on any instance (a new key mints only after every instance had
        // time to read it here).
        match super::keys::load(&store, false).await {
            Ok(keys) => inner.tokens.set_keys(keys),
            Err(e) => tracing::warn!(error = %e, "polling the token sealing keys failed"),
        }
        match store.repo().setup_fingerprint().await {
            Ok(fp) => {
                if names_at.as_ref() != Some(&fp) {
                    reload_names(&inner, &store).await;
                    names_at = Some(fp);
                }
                inner.directory.observe_fingerprint(fp);
            }
            Err(e) => tracing::warn!(error = %e, "polling the setup fingerprint failed"),
        }
        last = now;
    }
}

/// Read every username and consumer key again (after a setup change, or a check that missed one).
async fn reload_names(inner: &Inner, store: &Store) {
    match super::principals::load_all(store).await {
        Ok(names) => inner.tokens.names().merge(names),
        Err(e) => tracing::warn!(error = %e, "reading the users and apps for access tokens failed"),
    }
}
