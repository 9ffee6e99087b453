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

use byoc_store::Store;

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

/// The feed of this server; cheap to clone.
#[derive(Clone)]
pub struct LiveFeed {
    #[allow(dead_code)]
    store: Store,
}

impl LiveFeed {
    pub fn new(store: Store) -> LiveFeed {
        LiveFeed { store }
    }

    /// The Pub/Sub host delivered `delivery` to a subscriber.
    pub fn note_delivery(&self, _delivery: Delivery) {}
}
