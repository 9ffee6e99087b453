//! `eventbus.v1.PubSub`: GetTopic, GetSchema, Subscribe, Publish, PublishStream
//! (<https://developer.salesforce.com/docs/platform/pub-sub-api/references/methods/subscribe-rpc.html>).
//! ManagedSubscribe (beta) answers `UNIMPLEMENTED`.
//!
//! Every call is also told to the request inspector ([`super::observe`]) and every open
//! Subscribe stream is listed in [`super::registry`]; each delivery batch is reported to the
//! console's live feed. None of that changes what a client receives.

use std::sync::Arc;
use std::time::Duration;

use byoc_core::events::{ReplayId, MAX_PENDING_REQUESTED};
use byoc_core::ids;
use byoc_core::permissions::EventAccess;
use byoc_pubsub_proto::v1::pub_sub_server::PubSub;
use byoc_pubsub_proto::v1::{
    self as pb, ConsumerEvent, FetchRequest, FetchResponse, ProducerEvent, PublishRequest,
    PublishResponse, PublishResult, ReplayPreset, SchemaInfo, SchemaRequest, TopicInfo,
    TopicRequest,
};
use byoc_store::events::NewEvent;
use futures::Stream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status, Streaming};

use super::access::SetupCache;
use super::auth::{authenticate, AccessTokenCheck, Grant};
use super::bus::{EventBus, Topic};
use super::errors;
use super::observe::{self, AppNames, CallStart, Caller};
use super::registry::{self, ActiveSubscription, Registration, Subscriptions};
use super::PubSubConfig;
use crate::inspector::Call;

type BoxStream<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Stay under the 4 MB default message limit of gRPC clients.
const MAX_RESPONSE_BYTES: usize = 3 * 1024 * 1024;

/// The Pub/Sub service of one org.
#[derive(Clone)]
pub struct PubSubService {
    inner: Arc<Inner>,
}

struct Inner {
    bus: Arc<EventBus>,
    tokens: Arc<dyn AccessTokenCheck>,
    /// Users and permission sets, for the object permission checks.
    setup: Arc<SetupCache>,
    org_id: String,
    org_id18: String,
    config: PubSubConfig,
    /// The console's live feed and the request inspector.
    observers: super::Observers,
    /// The open Subscribe streams, for Pub/Sub at a glance.
    subscriptions: Subscriptions,
    /// Callers' app names, for the inspector and the subscription list.
    app_names: AppNames,
    shutdown: CancellationToken,
}

fn rpc_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn replay_bytes(id: i64) -> Vec<u8> {
    ReplayId(u64::try_from(id).unwrap_or(0)).to_bytes()
}

impl PubSubService {
    // Each part is a distinct piece of the server; a struct for them would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        bus: Arc<EventBus>,
        tokens: Arc<dyn AccessTokenCheck>,
        setup: Arc<SetupCache>,
        org_id: String,
        org_id18: String,
        config: PubSubConfig,
        observers: super::Observers,
        shutdown: CancellationToken,
    ) -> PubSubService {
        PubSubService {
            inner: Arc::new(Inner {
                bus,
                tokens,
                setup,
                org_id,
                org_id18,
                config,
                observers,
                subscriptions: Subscriptions::new(),
                app_names: AppNames::default(),
                shutdown,
            }),
        }
    }

    /// The Subscribe streams open on this instance, oldest first.
    pub fn subscriptions(&self) -> Vec<ActiveSubscription> {
        self.inner.subscriptions.list()
    }

    /// Open streams the list leaves out (more than [`registry::MAX_LISTED`] were open).
    pub fn unlisted_subscriptions(&self) -> u64 {
        self.inner.subscriptions.unlisted()
    }

    /// The start of a call for the inspector: its operation and auth metadata (token masked).
    fn call_start<T>(&self, request: &Request<T>, operation: String, detail: String) -> CallStart {
        let mut text = observe::describe_metadata(request.metadata());
        if !detail.is_empty() {
            text.push('\n');
            text.push_str(&detail);
        }
        CallStart::new(self.inner.bus.now(), operation, text)
    }

    fn record(&self, call: Call) {
        self.inner.observers.inspector.record(call);
    }

    async fn caller(&self, grant: &Grant) -> Caller {
        self.inner
            .app_names
            .caller(self.inner.bus.store(), grant)
            .await
    }

    async fn auth<T>(&self, request: &Request<T>) -> Result<Grant, Status> {
        let i = &self.inner;
        authenticate(
            request.metadata(),
            i.tokens.as_ref(),
            &i.org_id,
            &i.org_id18,
            i.bus.now(),
        )
        .await
    }

    /// What the token's user may do with the platform event named `event` (`Byoc_Outbound__e`).
    async fn access(&self, grant: &Grant, event: &str) -> Result<EventAccess, Status> {
        self.inner
            .setup
            .event_access(grant, event)
            .await
            .map_err(|e| errors::store_failure(&e))
    }

    /// Refuse unless the user has *Read* on the topic's platform event.
    async fn require_read(
        &self,
        grant: &Grant,
        topic: &Topic,
        error_code: &str,
        action: &str,
    ) -> Result<EventAccess, Status> {
        let access = self.access(grant, topic.schema.event_name()).await?;
        if !access.read {
            return Err(errors::permission_denied(
                error_code,
                "Read",
                &topic.name,
                action,
            ));
        }
        Ok(access)
    }

    /// Refuse unless the user has *Create* on the topic's platform event.
    async fn require_create(&self, grant: &Grant, topic: &Topic) -> Result<(), Status> {
        if !self.access(grant, topic.schema.event_name()).await?.create {
            return Err(errors::permission_denied(
                errors::PUBLISH_NOT_AUTHORIZED,
                "Create",
                &topic.name,
                "publish to",
            ));
        }
        Ok(())
    }

    async fn topic(&self, name: &str) -> Result<Topic, Status> {
        match self.inner.bus.topic(name).await {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(errors::topic_not_found(name)),
            Err(e) => Err(errors::store_failure(&e)),
        }
    }

    /// Validate and publish one request's events; each event gets its own result.
    async fn publish_request(
        &self,
        grant: &Grant,
        topic: &Topic,
        events: Vec<ProducerEvent>,
    ) -> Result<Vec<PublishResult>, Status> {
        let now = self.inner.bus.now();
        let created_by = ids::to_18(&grant.user_id).unwrap_or_else(|| grant.user_id.clone());
        let mut results: Vec<PublishResult> = Vec::with_capacity(events.len());
        let mut accepted: Vec<(usize, NewEvent)> = Vec::new();
        for event in events {
            let correlation_key = if event.id.is_empty() {
                uuid::Uuid::new_v4().to_string()
            } else {
                event.id.clone()
            };
            let refused = |msg: String| PublishResult {
                replay_id: vec![],
                error: Some(pb::Error {
                    code: pb::ErrorCode::Publish as i32,
                    msg,
                }),
                correlation_key: correlation_key.clone(),
            };
            if event.schema_id != topic.schema.id() {
                results.push(refused(format!(
                    "schema id {:?} is not the current schema of {} ({})",
                    event.schema_id,
                    topic.name,
                    topic.schema.id()
                )));
                continue;
            }
            match topic.schema.decode(&event.payload) {
                Ok(mut fields) => {
                    // Salesforce sets the system fields itself, whatever the publisher sent.
                    fields.created_date = now;
                    fields.created_by_id = created_by.clone();
                    match topic.schema.encode(&fields) {
                        Ok(payload) => {
                            accepted.push((
                                results.len(),
                                NewEvent {
                                    event_id: correlation_key.clone(),
                                    schema_id: topic.schema.id().to_string(),
                                    payload,
                                    created_at: now,
                                },
                            ));
                            results.push(PublishResult {
                                replay_id: vec![],
                                error: None,
                                correlation_key,
                            });
                        }
                        Err(e) => results.push(refused(e.to_string())),
                    }
                }
                Err(e) => results.push(refused(e.to_string())),
            }
        }
        let rows: Vec<NewEvent> = accepted.iter().map(|(_, e)| e.clone()).collect();
        let ids = match self.inner.bus.append(topic, &rows).await {
            Ok(ids) => ids,
            Err(super::bus::PublishError::Store(e)) => return Err(errors::store_failure(&e)),
            Err(e) => {
                return Err(errors::invalid_argument(
                    errors::PUBLISH_INVALID,
                    e.to_string(),
                ))
            }
        };
        for ((index, _), id) in accepted.iter().zip(ids) {
            if let Some(r) = results.get_mut(*index) {
                r.replay_id = replay_bytes(id);
            }
        }
        Ok(results)
    }
}

/// What [`PubSubService::publish_fields`] refused.
#[derive(Debug)]
pub enum PublishFieldsError {
    /// No topic has this platform event.
    UnknownEvent,
    /// A field the event's schema does not have.
    UnknownField(String),
    /// Refused as Publish would refuse it (no *Create* on the event, a store failure...).
    Refused(Status),
}

impl PubSubService {
    /// Publish one `event` (`Byoc_Outbound__e`) with these custom field values as `grant`'s
    /// user, under Publish's rules (*Create* on the event; the system fields set by byoc): the
    /// REST API's `POST /sobjects/{Event__e}`. Returns the event's replay id.
    pub async fn publish_fields(
        &self,
        grant: &Grant,
        event: &str,
        fields: std::collections::BTreeMap<String, Option<String>>,
    ) -> Result<i64, PublishFieldsError> {
        let topic = match self
            .inner
            .bus
            .topic(&byoc_core::events::topic_name(event))
            .await
        {
            Ok(Some(t)) => t,
            Ok(None) => return Err(PublishFieldsError::UnknownEvent),
            Err(e) => return Err(PublishFieldsError::Refused(errors::store_failure(&e))),
        };
        if let Some(unknown) = fields
            .keys()
            .find(|k| !topic.schema.custom_fields().contains(k))
        {
            return Err(PublishFieldsError::UnknownField(unknown.clone()));
        }
        self.require_create(grant, &topic)
            .await
            .map_err(PublishFieldsError::Refused)?;
        let payload = topic
            .schema
            .encode(&byoc_core::events::EventFields {
                created_date: 0,
                created_by_id: String::new(),
                fields,
            })
            .map_err(|e| {
                PublishFieldsError::Refused(errors::invalid_argument(
                    errors::PUBLISH_INVALID,
                    e.to_string(),
                ))
            })?;
        let event = ProducerEvent {
            id: rpc_id(),
            schema_id: topic.schema.id().to_string(),
            payload,
            headers: vec![],
        };
        let results = self
            .publish_request(grant, &topic, vec![event])
            .await
            .map_err(PublishFieldsError::Refused)?;
        match results.into_iter().next() {
            Some(PublishResult {
                error: None,
                replay_id,
                ..
            }) => Ok(ReplayId::from_bytes(&replay_id)
                .map(|r| i64::try_from(r.0).unwrap_or(i64::MAX))
                .unwrap_or(0)),
            Some(PublishResult { error: Some(e), .. }) => Err(PublishFieldsError::Refused(
                errors::invalid_argument(errors::PUBLISH_INVALID, e.msg),
            )),
            None => Err(PublishFieldsError::Refused(Status::internal("no result"))),
        }
    }
}

#[tonic::async_trait]
impl PubSub for PubSubService {
    async fn get_topic(
        &self,
        request: Request<TopicRequest>,
    ) -> Result<Response<TopicInfo>, Status> {
        let name = &request.get_ref().topic_name;
        let call = self.call_start(
            &request,
            format!("GetTopic {name}"),
            format!("topic_name: {name:?}"),
        );
        let mut caller = Caller::default();
        let result = self.get_topic_rpc(request, &mut caller).await;
        self.record(call.finish(
            &caller,
            result.as_ref().map(|r| {
                let r = r.get_ref();
                format!(
                    "topic_name: {}\nschema_id: {}\ncan_subscribe: {}\ncan_publish: {}",
                    r.topic_name, r.schema_id, r.can_subscribe, r.can_publish
                )
            }),
        ));
        result
    }

    async fn get_schema(
        &self,
        request: Request<SchemaRequest>,
    ) -> Result<Response<SchemaInfo>, Status> {
        let id = &request.get_ref().schema_id;
        let call = self.call_start(
            &request,
            format!("GetSchema {id}"),
            format!("schema_id: {id:?}"),
        );
        let mut caller = Caller::default();
        let result = self.get_schema_rpc(request, &mut caller).await;
        self.record(call.finish(
            &caller,
            result.as_ref().map(|r| {
                let r = r.get_ref();
                format!(
                    "schema_id: {}\nschema_json: {} characters",
                    r.schema_id,
                    r.schema_json.chars().count()
                )
            }),
        ));
        result
    }

    async fn subscribe(
        &self,
        request: Request<Streaming<FetchRequest>>,
    ) -> Result<Response<BoxStream<FetchResponse>>, Status> {
        // Subscribed before the check, so no revocation after it goes unnoticed.
        let revocations = self.inner.tokens.revocation_changes();
        // The stream's topic comes with its first FetchRequest; the inspector hears of the
        // subscription then (or now, if authentication refuses it).
        let metadata = observe::describe_metadata(request.metadata());
        let grant = match self.auth(&request).await {
            Ok(g) => g,
            Err(status) => {
                let call = CallStart::new(self.inner.bus.now(), "Subscribe".into(), metadata);
                self.record(call.finish(&Caller::default(), Err(&status)));
                return Err(status);
            }
        };
        let peer = request.remote_addr().map(|a| a.to_string());
        // Kept to check again when something is revoked: the stream ends with the auth error.
        let token = request
            .metadata()
            .get("accesstoken")
            .and_then(|v| v.to_str().ok())
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(4);
        let service = self.clone();
        tokio::spawn(async move {
            // Named in the task, so naming the app never delays the answer.
            let caller = service.caller(&grant).await;
            let stream = Opened {
                grant: &grant,
                caller: &caller,
                peer,
                metadata,
            };
            if let Err(status) = service
                .run_subscription(stream, inbound, &tx, token, revocations)
                .await
            {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        let r = request.get_ref();
        let call = self.call_start(
            &request,
            format!("Publish {}", r.topic_name),
            format!("topic_name: {:?}\nevents: {}", r.topic_name, r.events.len()),
        );
        let mut caller = Caller::default();
        let result = self.publish_rpc(request, &mut caller).await;
        self.record(call.finish(
            &caller,
            result.as_ref().map(|r| describe_publish(r.get_ref())),
        ));
        result
    }

    async fn publish_stream(
        &self,
        request: Request<Streaming<PublishRequest>>,
    ) -> Result<Response<BoxStream<PublishResponse>>, Status> {
        self.publish_stream_rpc(request).await
    }

    async fn managed_subscribe(
        &self,
        request: Request<Streaming<pb::ManagedFetchRequest>>,
    ) -> Result<Response<BoxStream<pb::ManagedFetchResponse>>, Status> {
        // Not served (beta); the answer is the generated stub's, the inspector hears of it.
        let status = Status::unimplemented("Not yet implemented");
        let call = self.call_start(&request, "ManagedSubscribe".into(), String::new());
        self.record(call.finish(&Caller::default(), Err(&status)));
        Err(status)
    }
}

/// What a Publish answer said, for the inspector.
fn describe_publish(r: &PublishResponse) -> String {
    let accepted: Vec<String> = r
        .results
        .iter()
        .filter(|x| x.error.is_none())
        .filter_map(|x| ReplayId::from_bytes(&x.replay_id).map(|id| id.0.to_string()))
        .collect();
    let refused: Vec<String> = r
        .results
        .iter()
        .filter_map(|x| x.error.as_ref().map(|e| e.msg.clone()))
        .collect();
    let mut text = format!(
        "{} accepted (replay ids {})",
        accepted.len(),
        if accepted.is_empty() {
            "none".to_string()
        } else {
            accepted.join(", ")
        }
    );
    if !refused.is_empty() {
        text.push_str(&format!(
            "\n{} refused: {}",
            refused.len(),
            refused.join("; ")
        ));
    }
    text
}

/// Who opened a Subscribe stream, for its calls and its listing.
struct Opened<'a> {
    grant: &'a Grant,
    caller: &'a Caller,
    peer: Option<String>,
    /// The call's auth metadata, token masked.
    metadata: String,
}

impl PubSubService {
    async fn get_topic_rpc(
        &self,
        request: Request<TopicRequest>,
        caller: &mut Caller,
    ) -> Result<Response<TopicInfo>, Status> {
        let grant = self.auth(&request).await?;
        *caller = self.caller(&grant).await;
        let topic = self.topic(&request.get_ref().topic_name).await?;
        let access = self
            .require_read(&grant, &topic, errors::TOPIC_NOT_AUTHORIZED, "describe")
            .await?;
        Ok(Response::new(TopicInfo {
            topic_name: topic.name.clone(),
            tenant_guid: self.inner.org_id18.clone(),
            can_publish: access.create,
            can_subscribe: access.read,
            schema_id: topic.schema.id().to_string(),
            rpc_id: rpc_id(),
        }))
    }

    async fn get_schema_rpc(
        &self,
        request: Request<SchemaRequest>,
        caller: &mut Caller,
    ) -> Result<Response<SchemaInfo>, Status> {
        let grant = self.auth(&request).await?;
        *caller = self.caller(&grant).await;
        let wanted = request.get_ref().schema_id.clone();
        let topics = self
            .inner
            .bus
            .topics()
            .await
            .map_err(|e| errors::store_failure(&e))?;
        if let Some(t) = topics.iter().find(|t| t.schema.id() == wanted) {
            self.require_read(
                &grant,
                t,
                errors::SCHEMA_NOT_AUTHORIZED,
                "read the schema of",
            )
            .await?;
            return Ok(Response::new(SchemaInfo {
                schema_json: t.schema.json().to_string(),
                schema_id: wanted,
                rpc_id: rpc_id(),
            }));
        }
        // A schema that events were written with before the CCDs changed.
        match self.inner.bus.store().repo().event_schema(&wanted).await {
            Ok(Some(s)) => {
                let event = s
                    .topic
                    .strip_prefix(byoc_core::events::TOPIC_PREFIX)
                    .unwrap_or(&s.topic);
                if !self.access(&grant, event).await?.read {
                    return Err(errors::permission_denied(
                        errors::SCHEMA_NOT_AUTHORIZED,
                        "Read",
                        &s.topic,
                        "read the schema of",
                    ));
                }
                Ok(Response::new(SchemaInfo {
                    schema_json: s.schema_json,
                    schema_id: wanted,
                    rpc_id: rpc_id(),
                }))
            }
            Ok(None) => Err(errors::status(
                Code::NotFound,
                errors::SCHEMA_NOT_FOUND,
                format!("Schema {wanted} doesn't exist."),
            )),
            Err(e) => Err(errors::store_failure(&e)),
        }
    }

    async fn publish_rpc(
        &self,
        request: Request<PublishRequest>,
        caller: &mut Caller,
    ) -> Result<Response<PublishResponse>, Status> {
        let grant = self.auth(&request).await?;
        *caller = self.caller(&grant).await;
        let req = request.into_inner();
        let topic = self.topic(&req.topic_name).await?;
        self.require_create(&grant, &topic).await?;
        if req.events.is_empty() {
            return Err(errors::invalid_argument(
                errors::PUBLISH_INVALID,
                "A publish request needs at least one event.",
            ));
        }
        let results = self.publish_request(&grant, &topic, req.events).await?;
        Ok(Response::new(PublishResponse {
            results,
            schema_id: topic.schema.id().to_string(),
            rpc_id: rpc_id(),
        }))
    }

    async fn publish_stream_rpc(
        &self,
        request: Request<Streaming<PublishRequest>>,
    ) -> Result<Response<BoxStream<PublishResponse>>, Status> {
        let metadata = observe::describe_metadata(request.metadata());
        let grant = match self.auth(&request).await {
            Ok(g) => g,
            Err(status) => {
                let call = CallStart::new(self.inner.bus.now(), "PublishStream".into(), metadata);
                self.record(call.finish(&Caller::default(), Err(&status)));
                return Err(status);
            }
        };
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(4);
        let service = self.clone();
        tokio::spawn(async move {
            let caller = service.caller(&grant).await;
            let mut topic: Option<Topic> = None;
            loop {
                let next = tokio::select! {
                    _ = service.inner.shutdown.cancelled() => break,
                    next = inbound.next() => next,
                };
                let req = match next {
                    Some(Ok(r)) => r,
                    Some(Err(_)) | None => break,
                };
                // One inspector call per request of the stream, with the answer it got.
                let call = CallStart::new(
                    service.inner.bus.now(),
                    format!("PublishStream {}", req.topic_name),
                    format!(
                        "{metadata}\ntopic_name: {:?}\nevents: {}",
                        req.topic_name,
                        req.events.len()
                    ),
                );
                let record = |outcome: Result<String, &Status>| {
                    service.record(call.finish(&caller, outcome));
                };
                let current = match &topic {
                    Some(t)
                        if req.topic_name.is_empty()
                            || t.schema.event_name().eq_ignore_ascii_case(
                                req.topic_name
                                    .trim_start_matches(byoc_core::events::TOPIC_PREFIX),
                            ) =>
                    {
                        t.clone()
                    }
                    Some(t) => {
                        let msg = format!(
                            "The topic name {:?} differs from the stream's topic {}.",
                            req.topic_name, t.name
                        );
                        let status = errors::invalid_argument(errors::TOPIC_CHANGED, msg);
                        record(Err(&status));
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                    None => match service.topic(&req.topic_name).await {
                        Ok(t) => {
                            if let Err(status) = service.require_create(&grant, &t).await {
                                record(Err(&status));
                                let _ = tx.send(Err(status)).await;
                                break;
                            }
                            topic = Some(t.clone());
                            t
                        }
                        Err(status) => {
                            record(Err(&status));
                            let _ = tx.send(Err(status)).await;
                            break;
                        }
                    },
                };
                let answer = match service.publish_request(&grant, &current, req.events).await {
                    Ok(results) => Ok(PublishResponse {
                        results,
                        schema_id: current.schema.id().to_string(),
                        rpc_id: rpc_id(),
                    }),
                    Err(status) => Err(status),
                };
                record(answer.as_ref().map(describe_publish));
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Where a subscription stands.
struct Subscription {
    topic: Topic,
    /// The replay id of the last event delivered (or skipped by the preset).
    cursor: i64,
    /// Requested and not yet delivered.
    pending: i32,
}

fn add_requested(pending: i32, requested: i32) -> Result<i32, Status> {
    if requested < 0 {
        return Err(errors::invalid_argument(
            errors::REQUESTED_EVENTS_INVALID,
            format!("num_requested must not be negative, got {requested}."),
        ));
    }
    Ok(pending.saturating_add(requested).min(MAX_PENDING_REQUESTED))
}

impl PubSubService {
    async fn start_position(
        &self,
        grant: &Grant,
        first: &FetchRequest,
    ) -> Result<Subscription, Status> {
        let topic = self.topic(&first.topic_name).await?;
        self.require_read(
            grant,
            &topic,
            errors::SUBSCRIBE_NOT_AUTHORIZED,
            "subscribe to",
        )
        .await?;
        let bounds = self
            .inner
            .bus
            .store()
            .repo()
            .topic_bounds(&topic.name)
            .await
            .map_err(|e| errors::store_failure(&e))?;
        let cursor = match ReplayPreset::try_from(first.replay_preset) {
            Ok(ReplayPreset::Latest) => bounds.latest,
            Ok(ReplayPreset::Earliest) => bounds
                .oldest_retained
                .map(|o| o - 1)
                .unwrap_or(bounds.latest),
            Ok(ReplayPreset::Custom) => {
                if first.replay_id.is_empty() {
                    return Err(errors::invalid_argument(
                        errors::REPLAY_ID_VALIDATION_FAILED,
                        "The Replay ID validation failed: CUSTOM needs a replay_id.",
                    ));
                }
                let corrupted = || {
                    errors::invalid_argument(errors::REPLAY_ID_CORRUPTED, "The Replay ID validation failed. Ensure that the Replay ID is valid and within the retention window.")
                };
                let id = ReplayId::from_bytes(&first.replay_id)
                    .and_then(|r| i64::try_from(r.0).ok())
                    .ok_or_else(corrupted)?;
                // Resuming needs every event after `id` still retained.
                let oldest = bounds.oldest_retained.unwrap_or(bounds.latest + 1);
                if id > bounds.latest || id + 1 < oldest {
                    return Err(corrupted());
                }
                id
            }
            Err(_) => {
                return Err(errors::invalid_argument(
                    errors::REPLAY_ID_VALIDATION_FAILED,
                    format!("Unknown replay_preset {}.", first.replay_preset),
                ))
            }
        };
        Ok(Subscription {
            topic,
            cursor,
            pending: add_requested(0, first.num_requested)?,
        })
    }

    fn same_topic(sub: &Subscription, name: &str) -> bool {
        name.is_empty()
            || name
                .strip_prefix(byoc_core::events::TOPIC_PREFIX)
                .is_some_and(|n| n.eq_ignore_ascii_case(sub.topic.schema.event_name()))
    }

    /// Serve one Subscribe stream until the client goes away, the server shuts down or an
    /// error ends it (returned, to be sent as the stream's status).
    async fn run_subscription(
        &self,
        stream: Opened<'_>,
        mut inbound: Streaming<FetchRequest>,
        tx: &mpsc::Sender<Result<FetchResponse, Status>>,
        token: String,
        revocations: Option<tokio::sync::watch::Receiver<u64>>,
    ) -> Result<(), Status> {
        let first = tokio::select! {
            _ = self.inner.shutdown.cancelled() => return Err(Status::unavailable("The server is shutting down.")),
            first = inbound.next() => match first {
                Some(Ok(f)) => f,
                Some(Err(_)) | None => return Ok(()),
            },
        };
        let operation = format!("Subscribe {}", first.topic_name);
        let request = format!(
            "{}\ntopic_name: {:?}\nreplay_preset: {}\nreplay_id: {}\nnum_requested: {}",
            stream.metadata,
            first.topic_name,
            ReplayPreset::try_from(first.replay_preset)
                .map(|p| p.as_str_name().to_string())
                .unwrap_or_else(|_| first.replay_preset.to_string()),
            ReplayId::from_bytes(&first.replay_id)
                .map(|r| r.0.to_string())
                .unwrap_or_else(|| format!("({} bytes)", first.replay_id.len())),
            first.num_requested
        );
        let start = CallStart::new(self.inner.bus.now(), operation.clone(), request.clone());
        let sub = match self.start_position(stream.grant, &first).await {
            Ok(sub) => sub,
            Err(status) => {
                self.record(start.finish(stream.caller, Err(&status)));
                return Err(status);
            }
        };
        self.record(start.finish(
            stream.caller,
            Ok(format!(
                "subscribed after replay id {}; {} requested",
                sub.cursor, sub.pending
            )),
        ));
        // Listed while this function runs: the guard drops however the stream ends.
        let registration = self.inner.subscriptions.register(ActiveSubscription {
            id: 0,
            rpc: "Subscribe",
            topic: sub.topic.name.clone(),
            app: stream.caller.app.clone(),
            user: stream.grant.username.clone(),
            peer: stream.peer.clone(),
            started_at: self.inner.bus.now(),
            pending: sub.pending,
            last_replay_id: None,
            last_delivery_at: None,
            delivered: 0,
        });
        let end = CallStart::new(self.inner.bus.now(), format!("{operation} ended"), request);
        let subscriber = registry::subscriber(stream.caller.app.as_deref(), &stream.grant.username);
        let outcome = self
            .serve_subscription(
                Serving {
                    caller: stream.caller,
                    subscriber: &subscriber,
                    registration: &registration,
                },
                sub,
                inbound,
                tx,
                token,
                revocations,
            )
            .await;
        let mut call = end.finish(
            stream.caller,
            outcome
                .as_ref()
                .map(|()| "the client closed the stream".to_string()),
        );
        if outcome.is_ok() {
            // Nothing was sent: the client went away.
            call.status = observe::code_name(Code::Cancelled).to_string();
        }
        self.record(call);
        outcome
    }

    /// Deliver what a listed subscription asks for, until it ends.
    async fn serve_subscription(
        &self,
        serving: Serving<'_>,
        mut sub: Subscription,
        mut inbound: Streaming<FetchRequest>,
        tx: &mpsc::Sender<Result<FetchResponse, Status>>,
        token: String,
        mut revocations: Option<tokio::sync::watch::Receiver<u64>>,
    ) -> Result<(), Status> {
        let mut heads = self.inner.bus.watch(&sub.topic.name);
        let mut heads_open = true;
        let mut inbound_open = true;
        let keepalive = self.inner.config.keepalive;
        let mut last_sent = Instant::now();
        loop {
            if sub.pending > 0 {
                let read_at = self.inner.bus.now();
                let started = std::time::Instant::now();
                let batch = self
                    .inner
                    .bus
                    .store()
                    .repo()
                    .read_events(&sub.topic.name, sub.cursor, i64::from(sub.pending))
                    .await
                    .map_err(|e| errors::store_failure(&e))?;
                if !batch.is_empty() {
                    let mut events = Vec::with_capacity(batch.len());
                    // (replay id, event id) of each event sent, for the live feed.
                    let mut sent = Vec::with_capacity(batch.len());
                    let mut bytes = 0usize;
                    for e in batch {
                        bytes += e.payload.len() + 64;
                        if !events.is_empty() && bytes > MAX_RESPONSE_BYTES {
                            break;
                        }
                        sub.cursor = e.replay_id;
                        sent.push((e.replay_id, e.event_id.clone()));
                        events.push(ConsumerEvent {
                            event: Some(ProducerEvent {
                                id: e.event_id,
                                schema_id: e.schema_id,
                                payload: e.payload,
                                headers: vec![],
                            }),
                            replay_id: replay_bytes(e.replay_id),
                        });
                    }
                    sub.pending -= i32::try_from(events.len()).unwrap_or(sub.pending);
                    let response = FetchResponse {
                        events,
                        latest_replay_id: replay_bytes(sub.cursor),
                        rpc_id: rpc_id(),
                        pending_num_requested: sub.pending,
                    };
                    // Listed before the client can see the batch, so the page never lags it.
                    serving.registration.delivered(
                        sent.len(),
                        sub.cursor,
                        sub.pending,
                        self.inner.bus.now(),
                    );
                    if tx.send(Ok(response)).await.is_err() {
                        return Ok(());
                    }
                    last_sent = Instant::now();
                    self.delivered(&serving, &sub, sent, bytes, (read_at, started));
                    continue;
                }
            }
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => {
                    return Err(errors::status(Code::Unavailable, errors::SERVICE_UNAVAILABLE, "The server is shutting down; subscribe again to resume."));
                }
                _ = tx.closed() => return Ok(()),
                changed = revoked(&mut revocations) => {
                    if !changed {
                        revocations = None;
                    } else if self.inner.tokens.check(&token, self.inner.bus.now()).await.is_none() {
                        // The user was deactivated, the app disabled or deleted, or the token
                        // revoked: end the stream as a refused call would be.
                        return Err(errors::unauthenticated("the access token is invalid, expired or revoked"));
                    }
                }
                next = inbound.next(), if inbound_open => match next {
                    Some(Ok(req)) => {
                        if !Self::same_topic(&sub, &req.topic_name) {
                            return Err(errors::invalid_argument(errors::TOPIC_CHANGED, format!("The topic name {:?} differs from the subscription's topic {}. Subscribe again to change topics.", req.topic_name, sub.topic.name)));
                        }
                        sub.pending = add_requested(sub.pending, req.num_requested)?;
                        serving.registration.set_pending(sub.pending);
                    }
                    // The client closed its side (or broke it): keep serving what it asked for.
                    Some(Err(_)) | None => inbound_open = false,
                },
                changed = heads.changed(), if heads_open => {
                    if changed.is_err() {
                        heads_open = false;
                    }
                }
                _ = tokio::time::sleep(self.inner.config.poll_interval) => {}
                _ = tokio::time::sleep_until(last_sent + keepalive) => {
                    let response = FetchResponse { events: vec![], latest_replay_id: replay_bytes(sub.cursor), rpc_id: rpc_id(), pending_num_requested: sub.pending };
                    if tx.send(Ok(response)).await.is_err() {
                        return Ok(());
                    }
                    last_sent = Instant::now();
                }
            }
        }
    }
}

/// A listed subscription being served.
struct Serving<'a> {
    caller: &'a Caller,
    /// "App (user)".
    subscriber: &'a str,
    registration: &'a Registration,
}

impl PubSubService {
    /// A batch went to the subscriber: tell the live feed of each event and the inspector of
    /// the batch (one call per batch).
    fn delivered(
        &self,
        serving: &Serving<'_>,
        sub: &Subscription,
        sent: Vec<(i64, String)>,
        bytes: usize,
        (at, started): (i64, std::time::Instant),
    ) {
        let now = self.inner.bus.now();
        let count = sent.len();
        let first = sent.first().map(|s| s.0).unwrap_or(sub.cursor);
        for (replay_id, event_id) in sent {
            self.inner
                .observers
                .live
                .note_delivery(crate::live::Delivery {
                    topic: sub.topic.name.clone(),
                    replay_id,
                    event_id,
                    subscriber: serving.subscriber.to_string(),
                    at: now,
                });
        }
        self.record(Call {
            at,
            host: crate::inspector::Host::PubSub,
            operation: format!(
                "Deliver {count} event{} to {}",
                if count == 1 { "" } else { "s" },
                serving.subscriber
            ),
            app: serving.caller.app.clone(),
            user: serving.caller.user.clone(),
            status: observe::code_name(Code::Ok).to_string(),
            error_code: None,
            duration_micros: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            diagnosis: None,
            fix_href: None,
            request: format!(
                "topic: {}\nreplay ids: {first}..={}\nsubscription: {}",
                sub.topic.name,
                sub.cursor,
                serving.registration.id()
            ),
            response: format!(
                "FetchResponse: {count} events, about {bytes} bytes\nlatest_replay_id: {}\npending_num_requested: {}",
                sub.cursor, sub.pending
            ),
        });
    }
}

/// Wait for the next revocation anywhere; `false` when no more can come.
async fn revoked(changes: &mut Option<tokio::sync::watch::Receiver<u64>>) -> bool {
    match changes {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// How long an idle subscription waits before re-reading the log even without a wake-up. Events
/// of every instance wake it at once ([`super::bus::EventBus::follow_notices`]); this is a
/// safety net for writers that raise no notice (another process appending to the same SQLite
/// file), so it is slow.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
