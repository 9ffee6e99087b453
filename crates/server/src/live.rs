//! The console's live feed: what changed in the org's conversations, pushed to browsers (and the
//! `byoc-bench live` clients) as Server-Sent Events, across every instance sharing a database.
//!
//! Wire contract (docs/console.md, "Live updates") — the agent console's script depends on it:
//!
//! - `GET /console/live` (console session cookie) answers `text/event-stream`. Each change is one
//!   event: `id: <seq>` (the feed's sequence number, gap-free and in commit order across
//!   instances), `event: <kind>`, `data: <one JSON object>` with at least `conversationId`.
//!   Kinds: `conversation` (entries, sessions, records or consent of a conversation changed; the
//!   client re-reads what it shows of it) and `delivered` (a platform event carrying an agent's
//!   action was delivered to a Pub/Sub subscriber: `entryId`, `replayId`, `topic`).
//! - A reconnect with `Last-Event-ID: N` (what `EventSource` sends by itself) first replays every
//!   event after N, then continues live; if N is older than the feed keeps, the first event is
//!   `event: reset` and the client reloads what it shows.
//! - A comment line (`: keep-alive`) every 15 s keeps proxies from closing an idle stream.
//!
//! How it works: the rows are written by the database transactions that make the changes
//! ([`byoc_store::live`]). One follower task per server reads the new rows once per wake-up —
//! after a local commit ([`crate::scrt::writer::GroupCommit::commits`]), on a `Feed` change
//! notice ([`byoc_store::notify`]: on PostgreSQL the `live_feed` trigger's `NOTIFY byoc_live`,
//! so another instance committed; a `Resync` after the listening connection came back), or every
//! [`POLL`] as a safety net — and
//! broadcasts them to this server's streams. A stream that falls behind the broadcast (a slow
//! client) reads what it missed from the database by its last seq, so it loses nothing, and
//! holds at most a few events in memory.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use byoc_core::Clock;
use byoc_store::live::{FeedRow, NewFeedRow};
use byoc_store::notify::{Channel, Notice};
use byoc_store::Store;
use tokio::sync::{broadcast, mpsc, watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::console::session::Refused;
use crate::console::{ConsoleSession, ConsoleState};

/// Events the broadcast keeps for streams that are a little behind; further behind, a stream
/// reads from the database.
const BROADCAST: usize = 1024;
/// Rows read from the database at a time (the follower's and a catching-up stream's pages).
const PAGE: i64 = 500;
/// The follower's safety poll (every instance's commits wake it through change notices; this
/// /// covers writers that raise none, e.g. another process writing the same SQLite file).
const POLL: Duration = Duration::from_secs(5);
/// A failed catch-up read's pause before the next try.
const RETRY: Duration = Duration::from_secs(1);
/// How often a stream sends a comment when idle.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Rows kept at most, whatever their age (the bench writes thousands a second).
const KEEP_ROWS: i64 = 1_000_000;
/// How long rows are kept.
const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// How often old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);
/// Deliveries waiting to be written before new ones are dropped (they only decorate the page).
const DELIVERY_QUEUE: usize = 4096;
/// Streams open at once on one server.
const MAX_STREAMS: usize = 4096;
/// Encoded events a stream buffers before it waits for its client.
const STREAM_BUFFER: usize = 32;

/// One delivery of a platform event to a Pub/Sub subscriber, as the Pub/Sub host reports it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub topic: String,
    pub replay_id: i64,
    pub event_id: String,
    /// Who subscribed: the app's name or consumer key, and the user.
    pub subscriber: String,
    pub at: i64,
}

/// One feed row as the streams send it.
#[derive(Debug)]
struct FeedEvent {
    seq: i64,
    /// The encoded SSE event.
    text: Bytes,
}

impl FeedEvent {
    fn of(row: &FeedRow) -> FeedEvent {
        FeedEvent {
            seq: row.seq,
            text: Bytes::from(encode(row.seq, &row.kind, &row.body)),
        }
    }
}

/// `id:`, `event:` and `data:` lines of one event. Data is one JSON line (serde never writes a
/// raw newline); any line break is replaced all the same, so a row can never split an event.
fn encode(seq: i64, kind: &str, data: &str) -> String {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    format!(
        "id: {seq}\nevent: {}\ndata: {}\n\n",
        clean(kind),
        clean(data)
    )
}

struct Inner {
    store: Store,
    events: broadcast::Sender<Arc<FeedEvent>>,
    /// The newest seq the follower broadcast.
    head: watch::Sender<i64>,
    /// Wakes the follower (a delivery row was written here).
    wake: Notify,
    deliveries: mpsc::Sender<Delivery>,
    /// Taken by [`LiveFeed::start`].
    delivery_rx: std::sync::Mutex<Option<mpsc::Receiver<Delivery>>>,
    /// Cancelled when the server stops: every stream ends, so shutdown is not held open.
    stop: CancellationToken,
    streams: Arc<Semaphore>,
    /// Bumped when the org was reset (`byoc reset`): every open stream sends `event: reset`,
    /// so browsers reload what they show (the conversations are gone).
    resets: watch::Sender<u64>,
}

/// The feed of this server; cheap to clone.
#[derive(Clone)]
pub struct LiveFeed {
    inner: Arc<Inner>,
}

impl LiveFeed {
    pub fn new(store: Store) -> LiveFeed {
        let (events, _) = broadcast::channel(BROADCAST);
        let (head, _) = watch::channel(0);
        let (deliveries, delivery_rx) = mpsc::channel(DELIVERY_QUEUE);
        LiveFeed {
            inner: Arc::new(Inner {
                store,
                events,
                head,
                wake: Notify::new(),
                deliveries,
                delivery_rx: std::sync::Mutex::new(Some(delivery_rx)),
                stop: CancellationToken::new(),
                streams: Arc::new(Semaphore::new(MAX_STREAMS)),
                resets: watch::channel(0).0,
            }),
        }
    }

    /// The org was reset: every open stream tells its client to reload (`event: reset`).
    pub fn org_reset(&self) {
        self.inner.resets.send_modify(|n| *n += 1);
    }

    /// Start the follower, the delivery writer and the pruner; they stop with `shutdown`.
    /// `commits` changes after every local conversation commit.
    pub async fn start(
        &self,
        commits: watch::Receiver<u64>,
        clock: Arc<dyn Clock>,
        shutdown: CancellationToken,
        tasks: &mut JoinSet<anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        // Subscribed before the head is read, so no commit after it goes unheard.
        let notices = self.inner.store.notices();
        // Streams opened from now on start at the head as it is now.
        let head = self.inner.store.repo().feed_bounds().await?.head;
        self.inner.head.send_replace(head);
        // Supervised (crate::supervise): a panic restarts them. The follower's first run uses
        // the notices subscribed above; a restart subscribes afresh and reads what it missed at
        // once, from the last seq it broadcast.
        let (me, stop) = (self.clone(), shutdown.clone());
        let first = Arc::new(std::sync::Mutex::new(Some(notices)));
        crate::supervise::spawn(tasks, "live feed follower", shutdown.clone(), move || {
            let (me, stop, commits) = (me.clone(), stop.clone(), commits.clone());
            let taken = first.lock().ok().and_then(|mut n| n.take());
            async move {
                let (last, notices) = match taken {
                    Some(n) => (head, n),
                    None => {
                        let n = me.inner.store.notices();
                        (me.read_new(me.head()).await, n)
                    }
                };
                me.follow(last, commits, notices, stop).await;
                me.inner.stop.cancel();
                Ok(())
            }
        });
        if let Some(rx) = self.take_delivery_rx() {
            // Behind a mutex so a restarted writer finds the same queue.
            let rx = Arc::new(tokio::sync::Mutex::new(rx));
            let (me, stop) = (self.clone(), shutdown.clone());
            crate::supervise::spawn(
                tasks,
                "live feed delivery writer",
                shutdown.clone(),
                move || {
                    let (me, stop, rx) = (me.clone(), stop.clone(), rx.clone());
                    async move {
                        let mut rx = rx.lock().await;
                        me.write_deliveries(&mut rx, stop).await;
                        Ok(())
                    }
                },
            );
        }
        let (store, stop) = (self.inner.store.clone(), shutdown.clone());
        crate::supervise::spawn(tasks, "live feed pruner", shutdown, move || {
            let (store, clock, stop) = (store.clone(), clock.clone(), stop.clone());
            async move {
                prune(store, clock, stop).await;
                Ok(())
            }
        });
        Ok(())
    }

    fn take_delivery_rx(&self) -> Option<mpsc::Receiver<Delivery>> {
        self.inner
            .delivery_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// The newest seq this server has broadcast.
    pub fn head(&self) -> i64 {
        *self.inner.head.borrow()
    }

    /// The Pub/Sub host delivered `delivery` to a subscriber. Never waits: written by a small
    /// task in batches; if that falls far behind, deliveries are dropped (they only decorate the
    /// agent's page) with a warning.
    pub fn note_delivery(&self, delivery: Delivery) {
        if let Err(mpsc::error::TrySendError::Full(d)) = self.inner.deliveries.try_send(delivery) {
            tracing::warn!(topic = %d.topic, replay_id = d.replay_id, "live feed: delivery queue full; a delivery is not shown");
        }
    }

    /// The follower: reads new rows once per wake-up and broadcasts them.
    async fn follow(
        &self,
        mut last: i64,
        mut commits: watch::Receiver<u64>,
        mut notices: broadcast::Receiver<Notice>,
        stop: CancellationToken,
    ) {
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut writer_running = true;
        let mut notices_open = true;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = commits.changed(), if writer_running => {
                    // The writer stopped (shutdown): keep polling until told to stop.
                    writer_running = changed.is_ok();
                }
                notice = notices.recv(), if notices_open => match notice {
                    // Another instance (or this one) committed feed rows up to `head`.
                    Ok(Notice::Changed { channel: Channel::Feed, detail }) => {
                        if detail.parse::<i64>().is_ok_and(|head| head <= last) {
                            continue;
                        }
                    }
                    Ok(Notice::Changed { .. }) => continue,
                    // Notices may have been missed: read what is there.
                    Ok(Notice::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => notices_open = false,
                },
                _ = self.inner.wake.notified() => {}
                _ = poll.tick() => {}
            }
            last = self.read_new(last).await;
        }
    }

    /// Broadcast every row after `last`; returns the new last seq.
    async fn read_new(&self, mut last: i64) -> i64 {
        loop {
            let rows = match self.inner.store.repo().feed_after(last, PAGE).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "live feed: reading new rows failed");
                    return last;
                }
            };
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= PAGE;
            for row in &rows {
                last = row.seq;
                // No stream listening: nothing to tell.
                let _ = self.inner.events.send(Arc::new(FeedEvent::of(row)));
            }
            self.inner.head.send_if_modified(|h| {
                let moved = *h != last;
                *h = last;
                moved
            });
            if !full {
                return last;
            }
        }
    }

    /// Write noted deliveries as `delivered` rows, a batch per transaction. On `stop`, what is
    /// already queued is still written (a clean stop flushes its buffers).
    async fn write_deliveries(&self, rx: &mut mpsc::Receiver<Delivery>, stop: CancellationToken) {
        let mut batch = Vec::with_capacity(256);
        let mut stopping = false;
        loop {
            let n = tokio::select! {
                n = rx.recv_many(&mut batch, 256) => n,
                _ = stop.cancelled(), if !stopping => {
                    // No more come in; the queued ones are received, then `recv_many` gives 0.
                    stopping = true;
                    rx.close();
                    continue;
                }
            };
            if n == 0 {
                return;
            }
            let mut rows = Vec::with_capacity(batch.len());
            for d in batch.drain(..) {
                match self
                    .inner
                    .store
                    .repo()
                    .event_link(&d.topic, d.replay_id)
                    .await
                {
                    Ok(Some(link)) => rows.push(NewFeedRow {
                        kind: "delivered".to_string(),
                        body: serde_json::json!({
                            "conversationId": link.conversation_id,
                            "entryId": link.entry_id,
                            "replayId": d.replay_id,
                            "topic": d.topic,
                            "subscriber": d.subscriber,
                            "at": d.at,
                        })
                        .to_string(),
                        conversation_id: link.conversation_id,
                        created_at: d.at,
                    }),
                    // An event no write unit appended (a partner's own publish): no
                    // conversation to show it on.
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "live feed: looking up a delivered event failed")
                    }
                }
            }
            if rows.is_empty() {
                continue;
            }
            match self.inner.store.repo().append_feed(&rows).await {
                Ok(_) => self.inner.wake.notify_one(),
                Err(e) => tracing::warn!(error = %e, "live feed: writing deliveries failed"),
            }
        }
    }
}

/// Prune rows older than [`RETENTION_MS`] (and beyond [`KEEP_ROWS`]) every [`PRUNE_EVERY`].
async fn prune(store: Store, clock: Arc<dyn Clock>, stop: CancellationToken) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.cancelled() => return,
        }
        let before = clock.now_millis() - RETENTION_MS;
        match store.repo().prune_feed(before, KEEP_ROWS).await {
            Ok(n) if n > 0 => tracing::debug!(rows = n, "live feed pruned"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "live feed: pruning failed"),
        }
    }
}

/// `GET /console/live`.
pub fn routes() -> Router<ConsoleState> {
    Router::new().route("/console/live", get(stream))
}

#[derive(Debug, serde::Deserialize)]
struct ResumeQuery {
    #[serde(rename = "lastEventId")]
    last_event_id: Option<String>,
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn stream(
    State(state): State<ConsoleState>,
    session: Result<ConsoleSession, Refused>,
    query: Result<Query<ResumeQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let session = match session {
        Ok(s) => s,
        Err(Refused::Login { .. }) => {
            return plain(
                StatusCode::UNAUTHORIZED,
                "Log in to the console first: the live feed needs a console session.",
            )
        }
        Err(other) => return other.into_response(),
    };
    if session
        .actor
        .authorize(byoc_core::SetupAction::ReadConversations)
        .is_err()
    {
        return plain(
            StatusCode::FORBIDDEN,
            "You don't have the permissions to read conversations, so the live feed is not yours to see.",
        );
    }
    // The header (EventSource's own reconnect) wins over the query (a script's reconnect).
    let asked = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("?").trim().to_string())
        .or_else(|| {
            query
                .ok()
                .and_then(|Query(q)| q.last_event_id)
                .map(|v| v.trim().to_string())
        })
        .filter(|v| !v.is_empty());
    let resume =
        match asked.map(|v| v.parse::<i64>()) {
            None => None,
            Some(Ok(n)) if n >= 0 => Some(n),
            Some(_) => return plain(
                StatusCode::BAD_REQUEST,
                "Last-Event-ID (or lastEventId) must be an event id of this feed: a whole number.",
            ),
        };
    let feed = state.org.live.clone();
    let Ok(permit) = feed.inner.streams.clone().try_acquire_owned() else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many live streams are open on this server; try again later.",
        );
    };
    // Subscribe before deciding where to start, so nothing broadcast in between is missed.
    let events = feed.inner.events.subscribe();
    let head = feed.head();
    let (start, reset) = match resume {
        None => (head, false),
        Some(n) => match feed.inner.store.repo().feed_bounds().await {
            Ok(bounds) if bounds.can_resume_after(n) => (n, false),
            // Older than the feed keeps (or from another database): start over at the head.
            Ok(_) => (head, true),
            Err(e) => {
                tracing::error!(error = %e, "live feed: reading its bounds failed");
                return plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The live feed can't be read right now; try again.",
                );
            }
        },
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(STREAM_BUFFER);
    let client = Client {
        resets: feed.inner.resets.subscribe(),
        feed: feed.clone(),
        events,
        last: start,
        tx,
    };
    tokio::spawn(async move {
        let _permit = permit;
        client.run(reset).await;
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Proxies (nginx) must pass events through at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// One open stream.
struct Client {
    feed: LiveFeed,
    events: broadcast::Receiver<Arc<FeedEvent>>,
    /// [`LiveFeed::org_reset`]'s changes.
    resets: watch::Receiver<u64>,
    /// The newest seq sent (or the start point).
    last: i64,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
}

impl Client {
    async fn send(&self, bytes: Bytes) -> bool {
        self.tx.send(Ok(bytes)).await.is_ok()
    }

    async fn run(mut self, reset: bool) {
        // Opened: EventSource needs no first byte, but proxies and scripts see the stream live.
        let hello = if reset {
            encode(self.last, "reset", "{}")
        } else {
            ": live\n\n".to_string()
        };
        if !self.send(Bytes::from(hello)).await {
            return;
        }
        let stop = self.feed.inner.stop.clone();
        let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
        keep_alive.reset();
        loop {
            // Behind the follower with nothing left in the broadcast (a resume, or dropped
            // broadcasts): read from the database. While the broadcast still holds events, they
            // are taken from it: the follower moves the head right after broadcasting, so a
            // stream that is merely busy must not turn every batch into a database read.
            let head = self.feed.head();
            if self.last < head && self.events.is_empty() && !self.catch_up(head).await {
                return;
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.tx.closed() => return,
                changed = self.resets.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let head = self.feed.head();
                    if !self.reset(head).await {
                        return;
                    }
                }
                _ = keep_alive.tick() => {
                    if !self.send(Bytes::from_static(b": keep-alive\n\n")).await {
                        return;
                    }
                }
                got = self.events.recv() => match got {
                    // Older than `last`: already sent.
                    Ok(event) if event.seq > self.last => {
                        // A gap (broadcasts dropped): what is in between is in the database.
                        if event.seq > self.last + 1 && !self.catch_up(event.seq - 1).await {
                            return;
                        }
                        if event.seq == self.last + 1 {
                            if !self.send(event.text.clone()).await {
                                return;
                            }
                            self.last = event.seq;
                        }
                        keep_alive.reset();
                    }
                    Ok(_) => {}
                    // Fell behind the broadcast: the next turn reads from the database.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    }

    /// Send every row up to `upto` (a seq the follower has read, so committed) from the
    /// database; false once the client left.
    async fn catch_up(&mut self, upto: i64) -> bool {
        while self.last < upto {
            let rows = match self
                .feed
                .inner
                .store
                .repo()
                .feed_after(self.last, PAGE)
                .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "live feed: a stream's catch-up read failed");
                    // Try again shortly rather than spin.
                    tokio::time::sleep(RETRY).await;
                    return !self.tx.is_closed();
                }
            };
            for row in rows.iter().take_while(|r| r.seq <= upto) {
                if row.seq != self.last + 1 {
                    return self.reset(upto).await;
                }
                if !self.send(FeedEvent::of(row).text).await {
                    return false;
                }
                self.last = row.seq;
            }
            if rows.is_empty() {
                return self.reset(upto).await;
            }
        }
        true
    }

    /// Rows this stream still had to send were pruned under it: the client must reload.
    async fn reset(&mut self, upto: i64) -> bool {
        self.last = upto.max(self.feed.head());
        self.send(Bytes::from(encode(self.last, "reset", "{}")))
            .await
    }
}
