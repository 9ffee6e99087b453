//! Change notices: how every byoc instance on one database learns, at once, that another one
//! committed something it caches or streams (setup records, OAuth state, platform events, the
//! console's live feed).
//!
//! - On PostgreSQL, writers' transactions raise `NOTIFY` (statement-level triggers, so every
//!   write path is covered) and one dedicated `LISTEN` connection per process turns them into
//!   [`Notice::Changed`]. When that connection is lost and comes back, [`Notice::Resync`] tells
//!   every consumer to re-read (a catch-up read), so nothing committed while it was down is missed.
//! - On SQLite (one process), the store announces its own commits here.
//!
//! Consumers subscribe with [`crate::Store::notices`]; a receiver that lags is told
//! `RecvError::Lagged` and should treat it as [`Notice::Resync`].
//!
//! Every setup notice (and every resync) also bumps [`crate::Store::generation`], so the
//! in-memory caches keyed on it drop what another instance changed without subscribing.
//!
//! The listener checks a quiet connection every [`IDLE_CHECK`] with a query, so a connection
//! cut without a FIN is found out too; reconnects back off from [`MIN_BACKOFF`] to
//! [`MAX_BACKOFF`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::broadcast;

/// What kind of state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Setup records (apps, policies, users, channels, CCDs, permission sets, the org).
    Setup,
    /// OAuth state: revoked tokens and principals, token sealing keys.
    OAuth,
    /// Platform events: `detail` is the topic (e.g. `/event/Byoc_Outbound__e`).
    Events,
    /// The console's live feed (conversation changes).
    Feed,
    /// The org clock (`byoc clock`, migration `0014_org_clock`): its offset changed.
    Clock,
    /// The org was reset (`byoc reset`, [`crate::seed`]): conversations, events, logs are gone;
    /// in-memory copies of them (the request inspector, API usage counts) start over.
    Reset,
}

/// One notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Something committed on `channel`; `detail` narrows it (the topic for events), or is empty.
    Changed { channel: Channel, detail: String },
    /// Notices may have been missed (the listening connection was re-established): re-read all.
    Resync,
}

/// How many notices a slow receiver may fall behind by before it is told it lagged.
pub const CAPACITY: usize = 4096;

/// The PostgreSQL channels (migration `0010_change_notices`) and what each carries.
pub const PG_CHANNELS: [(&str, Channel); 6] = [
    ("byoc_setup", Channel::Setup),
    ("byoc_oauth", Channel::OAuth),
    ("byoc_events", Channel::Events),
    ("byoc_live", Channel::Feed),
    ("byoc_clock", Channel::Clock),
    ("byoc_reset", Channel::Reset),
];

/// How long the listening connection may be silent before it is checked with a query: a
/// connection cut without a FIN (a dead peer, a stalled proxy) is noticed within this plus
/// [`PING_TIMEOUT`], not never.
pub const IDLE_CHECK: Duration = Duration::from_secs(10);
/// How long the check may take before the connection is given up and made again.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait before connecting again after a failure; doubled per failure up to
/// [`MAX_BACKOFF`], back to this after a success.
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where notices go: the broadcast every consumer subscribes to, and the store's generation,
/// bumped for every setup change (and every resync), so caches keyed on
/// [`crate::Store::generation`] drop what another instance changed.
#[derive(Clone)]
pub(crate) struct Hub {
    pub(crate) sender: broadcast::Sender<Notice>,
    pub(crate) generation: Arc<AtomicU64>,
}

impl Hub {
    pub(crate) fn send(&self, notice: Notice) {
        if matches!(
            notice,
            Notice::Resync
                | Notice::Changed {
                    channel: Channel::Setup,
                    ..
                }
        ) {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        // No receiver is fine: nobody caches anything yet.
        let _ = self.sender.send(notice);
    }
}

/// Aborts the listener task when the last clone of the store is dropped, closing its connection.
pub(crate) struct ListenerTask(tokio::task::AbortHandle);

impl Drop for ListenerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The notice a PostgreSQL notification stands for (`None` for a channel byoc doesn't use).
pub fn notice_of(channel: &str, payload: &str) -> Option<Notice> {
    let (_, channel) = PG_CHANNELS.iter().find(|(name, _)| *name == channel)?;
    Some(Notice::Changed {
        channel: *channel,
        detail: payload.to_string(),
    })
}

/// One `LISTEN` connection on every channel, on a pool of its own (one connection, made afresh
/// for every attempt), so it neither takes a slot of the store's pool nor inherits a broken one.
async fn connect(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(PING_TIMEOUT)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    // A lost connection comes back as `Ok(None)` at once; reconnecting is ours (with backoff,
    // followed by a resync).
    listener.eager_reconnect(false);
    listener
        .listen_all(PG_CHANNELS.iter().map(|(name, _)| *name))
        .await?;
    Ok(listener)
}

/// Connect the listener now (so `Store::open` fails clearly if it can't), then keep it
/// listening in a task until the store is dropped.
pub(crate) async fn start_listener(
    options: PgConnectOptions,
    hub: Hub,
) -> Result<ListenerTask, sqlx::Error> {
    let first = connect(&options).await?;
    let task = tokio::spawn(listen(options, hub, first));
    Ok(ListenerTask(task.abort_handle()))
}

async fn listen(options: PgConnectOptions, hub: Hub, first: PgListener) {
    let mut listener = Some(first);
    let mut backoff = MIN_BACKOFF;
    loop {
        let mut current = match listener.take() {
            Some(l) => l,
            None => match tokio::time::timeout(MAX_BACKOFF * 2, connect(&options)).await {
                Ok(Ok(l)) => {
                    tracing::info!("change notices: listening again; every consumer re-reads");
                    backoff = MIN_BACKOFF;
                    // Anything committed while no connection listened was not heard: re-read.
                    hub.send(Notice::Resync);
                    l
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "change notices: can't LISTEN; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
                Err(_) => {
                    tracing::warn!(retry_in = ?backoff, "change notices: connecting timed out; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        receive(&mut current, &hub).await;
        // Lost: the old connection is dropped (its pool with it) and a new one is made.
        drop(current);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Turn notifications into notices until the connection is lost.
async fn receive(listener: &mut PgListener, hub: &Hub) {
    loop {
        match tokio::time::timeout(IDLE_CHECK, listener.try_recv()).await {
            Ok(Ok(Some(n))) => {
                if let Some(notice) = notice_of(n.channel(), n.payload()) {
                    hub.send(notice);
                }
            }
            Ok(Ok(None)) => {
                tracing::warn!("change notices: the LISTEN connection was lost; reconnecting");
                return;
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "change notices: the LISTEN connection failed; reconnecting");
                return;
            }
            Err(_) => {
                // Quiet for a while: make sure the connection is still there.
                let ping = sqlx::query("SELECT 1").execute(&mut *listener);
                match tokio::time::timeout(PING_TIMEOUT, ping).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "change notices: the LISTEN connection failed its check; reconnecting");
                        return;
                    }
                    Err(_) => {
                        tracing::warn!(
                            "change notices: the LISTEN connection stalled; reconnecting"
                        );
                        return;
                    }
                }
            }
        }
    }
}
