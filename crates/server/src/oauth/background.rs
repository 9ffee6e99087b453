//! Keeping this instance's OAuth state current with what any instance committed: the token ids
//! revoked, the users and apps whose tokens were revoked (deactivated, disabled, deleted), the
//! token sealing keys and the setup fingerprint (which decides when the token names and the
//! directory are read again).
//!
//! Pushed, not polled: the task waits on the store's change notices ([`byoc_store::notify`]) and
//! reads only what a notice names — `OAuth` notices name the table (`revoked_tokens`,
//! `principal_revocations`, `server_keys`), `Setup` notices make it compare the fingerprint. A
//! burst of notices is read once. On `Resync` (the LISTEN connection came back: notices may have
//! been missed) or a lagging receiver, it reads everything.
//!
//! A safety poll every [`SAFETY_POLL`] still reads everything: it covers writers that raise no
//! notice (another process writing the same SQLite file, e.g. `byoc` commands against a data
//! dir a server also uses) at a cost of four small queries per interval. Every minute it also
//! reloads the revoked set from scratch (dropping expired tokens) and purges expired rows.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use byoc_core::Clock;
use byoc_store::notify::{Channel, Notice};
use byoc_store::Store;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::Inner;

/// The fallback poll (see the module header for why it stays).
pub const SAFETY_POLL: Duration = Duration::from_secs(5);
/// Safety polls between two full reloads of the revoked set (one minute).
const FULL_RELOAD_EVERY: u32 = 12;
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

/// What to read again.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Reads {
    tokens: bool,
    principals: bool,
    keys: bool,
    setup: bool,
}

impl Reads {
    const ALL: Reads = Reads {
        tokens: true,
        principals: true,
        keys: true,
        setup: true,
    };

    fn add(&mut self, notice: &Notice) {
        match notice {
            Notice::Resync => *self = Reads::ALL,
            Notice::Changed {
                channel: Channel::OAuth,
                detail,
            } => match detail.as_str() {
                "revoked_tokens" => self.tokens = true,
                "principal_revocations" => self.principals = true,
                "server_keys" => self.keys = true,
                _ => {
                    self.tokens = true;
                    self.principals = true;
                    self.keys = true;
                }
            },
            Notice::Changed {
                channel: Channel::Setup,
                ..
            } => self.setup = true,
            Notice::Changed { .. } => {}
        }
    }

    fn any(&self) -> bool {
        *self != Reads::default()
    }
}

pub(crate) async fn poll(
    inner: Weak<Inner>,
    store: Store,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Subscribed before the first read below, so nothing committed after it goes unheard.
    let mut notices = Some(store.notices());
    let mut ticker = tokio::time::interval(SAFETY_POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = clock.now_millis();
    let mut until_reload: u32 = FULL_RELOAD_EVERY;
    // The fingerprint the token names were last loaded at (start loads them).
    let mut names_at = store.repo().setup_fingerprint().await.ok();
    let mut last_miss_reload: Option<std::time::Instant> = None;
    // The ticker's first tick is at once: everything is read once after subscribing.
    loop {
        // Only the verifier is held while waiting, not the state (see `start`).
        let Some(names) = inner.upgrade().map(|i| i.tokens.clone()) else {
            return Ok(());
        };
        let mut reads = Reads::default();
        let mut tick = false;
        let missed = {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = ticker.tick() => { tick = true; false }
                notice = next(&mut notices) => {
                    match notice {
                        Some(n) => reads.add(&n),
                        None => reads = Reads::ALL,
                    }
                    false
                }
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
            // A miss inside the gap is served at the next notice or tick.
            if last_miss_reload.is_none_or(|t| t.elapsed() >= MISS_RELOAD_GAP) {
                last_miss_reload = Some(std::time::Instant::now());
                reload_names(&inner, &store).await;
            } else {
                names_at = None;
            }
            continue;
        }
        // Everything else already waiting is served by the same reads.
        drain(&mut notices, &mut reads);
        if tick {
            reads = Reads::ALL;
        }
        if !reads.any() {
            continue;
        }
        let now = clock.now_millis();
        if tick {
            until_reload -= 1;
        }
        if tick && until_reload == 0 {
            until_reload = FULL_RELOAD_EVERY;
            if let Err(e) = store.repo().purge_expired(now).await {
                tracing::warn!(error = %e, "purging expired revocations failed");
            }
            if let Err(e) = load_revocations(&inner).await {
                tracing::warn!(error = %e, "reloading revocations failed");
            }
        } else if reads.tokens {
            match store
                .repo()
                .revoked_tokens(last - OVERLAP_MILLIS, now)
                .await
            {
                Ok(ids) if !ids.is_empty() => inner.tokens.add_revoked(ids),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reading revocations failed"),
            }
        }
        if reads.principals {
            // Users deactivated and apps disabled or deleted on any instance.
            match store.repo().revoked_principals(last - OVERLAP_MILLIS).await {
                Ok(rows) => inner.tokens.revoke_principals(rows),
                Err(e) => tracing::warn!(error = %e, "reading principal revocations failed"),
            }
        }
        if reads.keys {
            // Sealing keys rotated on any instance (a new key mints only after every instance
            // had time to read it here).
            match super::keys::load(&store, false).await {
                Ok(keys) => inner.tokens.set_keys(keys),
                Err(e) => tracing::warn!(error = %e, "reading the token sealing keys failed"),
            }
        }
        if reads.setup || names_at.is_none() {
            match store.repo().setup_fingerprint().await {
                Ok(fp) => {
                    if names_at.as_ref() != Some(&fp) {
                        reload_names(&inner, &store).await;
                        names_at = Some(fp);
                    }
                    inner.directory.observe_fingerprint(fp);
                }
                Err(e) => tracing::warn!(error = %e, "reading the setup fingerprint failed"),
            }
        }
        if reads.tokens && reads.principals {
            last = now;
        }
    }
}

/// The next notice; `None` when notices may have been missed (the receiver lagged). With no
/// more notices to come (the store is gone) it waits forever and the safety poll serves.
async fn next(notices: &mut Option<tokio::sync::broadcast::Receiver<Notice>>) -> Option<Notice> {
    let Some(rx) = notices else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(n) => Some(n),
        Err(RecvError::Lagged(_)) => None,
        Err(RecvError::Closed) => {
            *notices = None;
            std::future::pending().await
        }
    }
}

/// Fold the notices already waiting into `reads`.
fn drain(notices: &mut Option<tokio::sync::broadcast::Receiver<Notice>>, reads: &mut Reads) {
    let Some(rx) = notices else { return };
    loop {
        match rx.try_recv() {
            Ok(n) => reads.add(&n),
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => *reads = Reads::ALL,
            Err(_) => return,
        }
    }
}

/// Read every username and consumer key again (after a setup change, or a check that missed one).
async fn reload_names(inner: &Inner, store: &Store) {
    match super::principals::load_all(store).await {
        Ok(names) => inner.tokens.names().merge(names),
        Err(e) => tracing::warn!(error = %e, "reading the users and apps for access tokens failed"),
    }
}
