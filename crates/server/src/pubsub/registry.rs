//! The open Subscribe streams of this process, for Pub/Sub at a glance
//! (`/lightning/setup/EventObjects/home`): who subscribed to which topic from where, how many
//! events they asked for and have not received yet, and what they were last sent.
//!
//! A stream registers when its first `FetchRequest` was accepted and holds a [`Registration`];
//! dropping it (the stream's task ends for any reason: the client cancelled, an error, shutdown)
//! removes the entry, so the list never shows a stream that is gone. Updates take one short
//! lock per delivery batch or flow-control request, never per event. The registry is bounded:
//! beyond [`MAX_LISTED`] streams, new ones are served but not listed (the page says how many).
//!
//! Each instance lists its own streams: on PostgreSQL with several instances, each page shows
//! the subscribers connected to that instance.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The most streams listed at once.
pub const MAX_LISTED: usize = 10_000;

/// One open subscription, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSubscription {
    /// Unique within this process (`data-subscription-id` on the page).
    pub id: u64,
    /// `Subscribe` (ManagedSubscribe is not served).
    pub rpc: &'static str,
    /// `/event/Byoc_Outbound__e`.
    pub topic: String,
    /// The name of the app the access token was issued to (`None` for a session id).
    pub app: Option<String>,
    /// The token's user.
    pub user: String,
    /// The client's address, when the transport knows it.
    pub peer: Option<String>,
    /// Epoch milliseconds.
    pub started_at: i64,
    /// Events requested (`num_requested`) and not yet delivered.
    pub pending: i32,
    /// The replay id of the last event delivered on this stream.
    pub last_replay_id: Option<i64>,
    /// When the last event was delivered, epoch milliseconds.
    pub last_delivery_at: Option<i64>,
    /// Events delivered on this stream.
    pub delivered: u64,
}

impl ActiveSubscription {
    /// "App (user)", or the user for a session id: the subscriber as the inspector and the live
    /// feed name it.
    pub fn subscriber(&self) -> String {
        subscriber(self.app.as_deref(), &self.user)
    }
}

/// How a subscriber is named: the app and the user.
pub fn subscriber(app: Option<&str>, user: &str) -> String {
    match app {
        Some(app) => format!("{app} ({user})"),
        None => user.to_string(),
    }
}

#[derive(Default)]
struct Shared {
    streams: Mutex<HashMap<u64, ActiveSubscription>>,
    next_id: AtomicU64,
    /// Streams open but not listed because the registry was full.
    unlisted: AtomicU64,
}

/// The registry of one Pub/Sub service; cheap to clone.
#[derive(Clone, Default)]
pub struct Subscriptions {
    shared: Arc<Shared>,
}

impl Subscriptions {
    pub fn new() -> Subscriptions {
        Subscriptions::default()
    }

    /// List `entry` (its `id` is assigned here) until the returned guard drops.
    pub fn register(&self, mut entry: ActiveSubscription) -> Registration {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        entry.id = id;
        let listed = match self.shared.streams.lock() {
            Ok(mut streams) if streams.len() < MAX_LISTED => {
                streams.insert(id, entry);
                true
            }
            _ => {
                self.shared.unlisted.fetch_add(1, Ordering::Relaxed);
                false
            }
        };
        Registration {
            shared: self.shared.clone(),
            id,
            listed,
        }
    }

    /// The open streams, oldest first.
    pub fn list(&self) -> Vec<ActiveSubscription> {
        let mut out: Vec<ActiveSubscription> = match self.shared.streams.lock() {
            Ok(streams) => streams.values().cloned().collect(),
            Err(_) => vec![],
        };
        out.sort_by_key(|s| s.id);
        out
    }

    /// Open streams that are not listed (the registry was full when they started).
    pub fn unlisted(&self) -> u64 {
        self.shared.unlisted.load(Ordering::Relaxed)
    }
}

/// A listed stream; dropping it removes the entry.
pub struct Registration {
    shared: Arc<Shared>,
    id: u64,
    listed: bool,
}

impl Registration {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The client asked for more events (or flow control changed): the new pending count.
    pub fn set_pending(&self, pending: i32) {
        self.update(|s| s.pending = pending);
    }

    /// A batch of `count` events up to `last_replay_id` went to the client at `at`.
    pub fn delivered(&self, count: usize, last_replay_id: i64, pending: i32, at: i64) {
        self.update(|s| {
            s.delivered = s.delivered.saturating_add(count as u64);
            s.last_replay_id = Some(last_replay_id);
            s.last_delivery_at = Some(at);
            s.pending = pending;
        });
    }

    fn update(&self, f: impl FnOnce(&mut ActiveSubscription)) {
        if !self.listed {
            return;
        }
        if let Ok(mut streams) = self.shared.streams.lock() {
            if let Some(s) = streams.get_mut(&self.id) {
                f(s);
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.listed {
            self.shared.unlisted.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        // A poisoned lock still holds the map: remove the entry either way.
        let mut streams = match self.shared.streams.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        streams.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(topic: &str) -> ActiveSubscription {
        ActiveSubscription {
            id: 0,
            rpc: "Subscribe",
            topic: topic.into(),
            app: Some("Acme".into()),
            user: "agent@example.com".into(),
            peer: None,
            started_at: 1,
            pending: 10,
            last_replay_id: None,
            last_delivery_at: None,
            delivered: 0,
        }
    }

    #[test]
    fn a_stream_is_listed_while_its_guard_lives_and_updates_show() {
        let registry = Subscriptions::new();
        let a = registry.register(entry("/event/A__e"));
        let b = registry.register(entry("/event/B__e"));
        assert_ne!(a.id(), b.id());
        a.delivered(3, 7, 7, 42);
        b.set_pending(100);
        let list = registry.list();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].id, a.id());
        assert_eq!(
            (
                list[0].delivered,
                list[0].last_replay_id,
                list[0].pending,
                list[0].last_delivery_at
            ),
            (3, Some(7), 7, Some(42))
        );
        assert_eq!(list[1].pending, 100);
        assert_eq!(list[0].subscriber(), "Acme (agent@example.com)");
        drop(a);
        let list = registry.list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].topic, "/event/B__e");
        drop(b);
        assert!(registry.list().is_empty());
    }

    #[test]
    fn beyond_the_bound_streams_are_counted_not_listed() {
        let registry = Subscriptions::new();
        let guards: Vec<Registration> = (0..MAX_LISTED)
            .map(|_| registry.register(entry("/event/A__e")))
            .collect();
        let extra = registry.register(entry("/event/A__e"));
        extra.set_pending(5);
        assert_eq!(registry.list().len(), MAX_LISTED);
        assert_eq!(registry.unlisted(), 1);
        drop(extra);
        assert_eq!(registry.unlisted(), 0);
        drop(guards);
        assert!(registry.list().is_empty());
    }
}
