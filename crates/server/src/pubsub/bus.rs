//! The event bus: which topics the org has (one per defined platform event, and one per event a
//! CCD names that has no definition), and
//! publishing to them — a durable append to the store's event log, then a wake-up of this
//! process's subscribers of that topic.
//!
//! Events appended by another instance sharing the PostgreSQL database wake them too:
//! [`EventBus::follow_notices`] turns the store's `Events` change notices (raised by the
//! database at the other instance's commit, naming the topic; [`byoc_store::notify`]) into the
//! same wake-up, and a `Resync` (the listening connection came back) or a lagging receiver wakes
//! every topic, so each subscriber re-reads the log from its position and misses nothing. The
//! subscribers' own slow re-read ([`super::service::DEFAULT_POLL_INTERVAL`]) is only a safety
//! net.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use byoc_core::events::{self, EventError, EventFields, EventSchema};
use byoc_core::Clock;
use byoc_proto::setup::{ConversationChannelDefinition, PlatformEventDefinition};
use byoc_store::conversations::OutboxEvent;
use byoc_store::events::{NewEvent, StoredSchema};
use byoc_store::notify::{Channel, Notice};
use byoc_store::{Store, StoreError};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A topic of this org.
#[derive(Debug, Clone)]
pub struct Topic {
    /// `/event/<Name>__e`, as the CCD spells the event.
    pub name: String,
    pub schema: EventSchema,
    /// The CCDs that publish on it.
    pub ccds: Vec<ConversationChannelDefinition>,
    /// The event's definition (Setup > Platform Events); `None` for an event only CCDs name.
    pub definition: Option<PlatformEventDefinition>,
}

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One event to publish on a topic.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub event_id: String,
    pub fields: EventFields,
}

pub struct EventBus {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Per topic, the newest replay id this process appended; subscribers wait on changes.
    heads: Mutex<HashMap<String, watch::Sender<i64>>>,
    /// The store's change notices, subscribed at creation (so none committed after it is
    /// missed) and taken by the first run of [`EventBus::follow_notices`].
    notices: Mutex<Option<broadcast::Receiver<Notice>>>,
    /// The org's topics as last read, with the store generation they were read at. Every setup
    /// change bumps the generation (this instance's writes at once, other instances' through
    /// their change notices), so the next lookup reads again; until then publishing, GetTopic
    /// and GetSchema neither read the setup nor rebuild Avro schemas per call.
    topics_cache: Mutex<Option<(u64, Vec<Topic>)>>,
}

impl EventBus {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> EventBus {
        let notices = store.notices();
        EventBus {
            store,
            clock,
            heads: Mutex::new(HashMap::new()),
            notices: Mutex::new(Some(notices)),
            topics_cache: Mutex::new(None),
        }
    }

    /// Wake the subscribers of each topic another instance (or this one) appended to, until
    /// `shutdown`; every subscriber on a resync or when notices were missed.
    pub async fn follow_notices(
        self: Arc<Self>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        // The first run takes the receiver subscribed at creation; a restart (the task is
        // supervised) subscribes afresh and wakes every topic, since notices sent while no task
        // listened are gone: the subscribers' catch-up read covers them.
        let taken = self.notices.lock().ok().and_then(|mut n| n.take());
        let mut notices = match taken {
            Some(n) => n,
            None => {
                let n = self.store.notices();
                self.wake(None);
                n
            }
        };
        loop {
            let notice = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                n = notices.recv() => n,
            };
            match notice {
                Ok(Notice::Changed {
                    channel: Channel::Events,
                    detail,
                }) => self.wake(Some(&detail)),
                Ok(Notice::Changed { .. }) => {}
                Ok(Notice::Resync) | Err(RecvError::Lagged(_)) => self.wake(None),
                Err(RecvError::Closed) => return Ok(()),
            }
        }
    }

    /// Make the subscribers of `topic` (all topics: `None`) read the log again.
    fn wake(&self, topic: Option<&str>) {
        if let Ok(heads) = self.heads.lock() {
            match topic {
                Some(t) => {
                    if let Some(sender) = heads.get(t) {
                        sender.send_modify(|_| {});
                    }
                }
                None => heads.values().for_each(|s| s.send_modify(|_| {})),
            }
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Every topic of the org: each defined platform event (its schema follows the definition),
    /// and each event a CCD names that has no definition (an org from before definitions
    /// existed: the CCDs' fields, all text, as byoc always gave it).
    pub async fn topics(&self) -> Result<Vec<Topic>, StoreError> {
        // Read before the setup: a change committed meanwhile bumps it past what is cached.
        let generation = self.store.generation();
        if let Some((cached_at, topics)) =
            &*self.topics_cache.lock().unwrap_or_else(|e| e.into_inner())
        {
            if *cached_at == generation {
                return Ok(topics.clone());
            }
        }
        let topics = self.read_topics().await?;
        *self.topics_cache.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((generation, topics.clone()));
        Ok(topics)
    }

    async fn read_topics(&self) -> Result<Vec<Topic>, StoreError> {
        let mut by_event: BTreeMap<String, Vec<ConversationChannelDefinition>> = BTreeMap::new();
        for channel in self.store.channels().await? {
            if let Some(ccd) = channel.conversation_channel_definition {
                by_event
                    .entry(ccd.custom_platform_event.to_ascii_lowercase())
                    .or_default()
                    .push(ccd);
            }
        }
        let mut definitions = self.store.platform_events().await?;
        definitions.sort_by(|a, b| a.full_name.cmp(&b.full_name));
        let mut out = Vec::new();
        for definition in definitions {
            let ccds = by_event
                .remove(&definition.full_name.to_ascii_lowercase())
                .unwrap_or_default();
            match EventSchema::from_definition(&definition) {
                Ok(schema) => out.push(Topic {
                    name: events::topic_name(&definition.full_name),
                    schema,
                    ccds,
                    definition: Some(definition),
                }),
                Err(e) => {
                    tracing::warn!(event = definition.full_name, error = %e, "a platform event definition gives no usable schema; it gets no topic")
                }
            }
        }
        for (_, ccds) in by_event {
            let event = ccds[0].custom_platform_event.clone();
            match EventSchema::for_ccds(&event, &ccds) {
                Ok(schema) => out.push(Topic {
                    name: events::topic_name(&event),
                    schema,
                    ccds,
                    definition: None,
                }),
                Err(e) => {
                    tracing::warn!(event, error = %e, "a CCD names an unusable platform event; it gets no topic")
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The topic with this name; the `/event/` prefix is required, the event name is matched
    /// case-insensitively (Salesforce API names are).
    pub async fn topic(&self, topic_name: &str) -> Result<Option<Topic>, StoreError> {
        let Some(wanted) = topic_name.strip_prefix(events::TOPIC_PREFIX) else {
            return Ok(None);
        };
        Ok(self
            .topics()
            .await?
            .into_iter()
            .find(|t| t.schema.event_name().eq_ignore_ascii_case(wanted)))
    }

    /// The topic a CCD publishes on.
    pub async fn topic_of_ccd(
        &self,
        ccd: &ConversationChannelDefinition,
    ) -> Result<Option<Topic>, StoreError> {
        self.topic(&events::topic_name(&ccd.custom_platform_event))
            .await
    }

    /// Encode, append durably, then wake this process's subscribers. Returns the replay ids.
    pub async fn publish(
        &self,
        topic: &Topic,
        outgoing: &[Outgoing],
    ) -> Result<Vec<i64>, PublishError> {
        let now = self.now();
        let mut rows = Vec::with_capacity(outgoing.len());
        for o in outgoing {
            rows.push(NewEvent {
                event_id: o.event_id.clone(),
                schema_id: topic.schema.id().to_string(),
                payload: topic.schema.encode(&o.fields)?,
                created_at: now,
            });
        }
        self.append(topic, &rows).await
    }

    /// One event encoded for the outbox: appended by the conversation writer in the same
    /// transaction as the entry it carries ([`byoc_store::conversations::WriteOp::Unit`]); call
    /// [`EventBus::committed`] with its replay id once that committed.
    pub fn outbox_event(
        &self,
        topic: &Topic,
        outgoing: &Outgoing,
    ) -> Result<OutboxEvent, PublishError> {
        Ok(OutboxEvent {
            topic: topic.name.clone(),
            schema: StoredSchema {
                schema_id: topic.schema.id().to_string(),
                topic: topic.name.clone(),
                schema_json: topic.schema.json().to_string(),
            },
            event: NewEvent {
                event_id: outgoing.event_id.clone(),
                schema_id: topic.schema.id().to_string(),
                payload: topic.schema.encode(&outgoing.fields)?,
                created_at: self.now(),
            },
        })
    }

    /// An outbox event committed with this replay id: wake this process's subscribers (others
    /// find it when they poll the log).
    pub fn committed(&self, topic: &str, replay_id: i64) {
        self.notify(topic, replay_id);
        self.store.announce(Channel::Events, topic);
    }

    /// Append already encoded payloads (validated by the caller) and wake subscribers.
    pub async fn append(&self, topic: &Topic, rows: &[NewEvent]) -> Result<Vec<i64>, PublishError> {
        let schema = StoredSchema {
            schema_id: topic.schema.id().to_string(),
            topic: topic.name.clone(),
            schema_json: topic.schema.json().to_string(),
        };
        let ids = self
            .store
            .repo()
            .append_events(&topic.name, &schema, rows)
            .await?;
        if let Some(last) = ids.last() {
            self.notify(&topic.name, *last);
            self.store.announce(Channel::Events, &topic.name);
        }
        Ok(ids)
    }

    fn notify(&self, topic: &str, head: i64) {
        if let Ok(mut heads) = self.heads.lock() {
            let sender = heads
                .entry(topic.to_string())
                .or_insert_with(|| watch::channel(0).0);
            sender.send_if_modified(|current| {
                if head > *current {
                    *current = head;
                    true
                } else {
                    false
                }
            });
        }
    }

    /// Changes of this process's head of a topic.
    pub fn watch(&self, topic: &str) -> watch::Receiver<i64> {
        match self.heads.lock() {
            Ok(mut heads) => heads
                .entry(topic.to_string())
                .or_insert_with(|| watch::channel(0).0)
                .subscribe(),
            // A poisoned lock only means a panic elsewhere; polling still delivers.
            Err(_) => watch::channel(0).1,
        }
    }

    /// Forget events older than the retention period.
    pub async fn purge(&self, retention_ms: i64) -> Result<u64, StoreError> {
        self.store
            .repo()
            .purge_events(self.now() - retention_ms)
            .await
    }
}
