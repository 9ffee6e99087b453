//! A Pub/Sub API subscriber that works against byoc and real Salesforce
//! (<https://developer.salesforce.com/docs/platform/pub-sub-api/overview>).
//!
//! - connects over TLS, trusting a CA file (byoc's `org.json` `ca_cert`) or, without one, the
//!   public web PKI roots (real Salesforce);
//! - sends the `accesstoken`, `instanceurl` and `tenantid` metadata with every call;
//! - subscribes with flow control: asks for `batch` events and asks again when the server says
//!   nothing is pending;
//! - decodes each payload (one raw Avro datum) with the writer's schema from `GetSchema`, cached
//!   by schema id;
//! - when the stream breaks, reconnects and resumes after the last replay id it handed out
//!   (CUSTOM), refreshing the token first when the server said the token was the problem;
//! - the endpoint may be a comma-separated list (`host1:7443,host2:7443`: several byoc instances
//!   on one database, docs/scale-out.md): a broken stream resubscribes at the next one, from its
//!   last replay id, so an instance that stops or dies costs no event. Each resubscription is
//!   logged (`tracing`, warn) with the endpoints and the replay id it resumes after.
//!
//! ```no_run
//! # async fn demo() -> Result<(), byoc_client::pubsub::PubSubError> {
//! use byoc_client::pubsub::{PubSubSettings, Replay, StaticToken, Subscriber};
//! let settings = PubSubSettings {
//!     endpoint: "127.0.0.1:7443".into(),
//!     ca_cert_pem: Some(std::fs::read_to_string(".byoc/ca.crt").unwrap_or_default()),
//!     instance_url: "http://127.0.0.1:6101".into(),
//!     tenant_id: "00D...".into(),
//! };
//! let subscriber = Subscriber::connect(settings, std::sync::Arc::new(StaticToken("00D...!...".into()))).await?;
//! let mut subscription = subscriber.subscribe("/event/Byoc_Outbound__e", Replay::Latest, 100);
//! while let Some(event) = subscription.next_event().await? {
//!     println!("{} {}", event.replay_id, event.fields);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apache_avro::Schema;
use byoc_pubsub_proto::v1::pub_sub_client::PubSubClient;
use byoc_pubsub_proto::v1::{
    FetchRequest, FetchResponse, ReplayPreset, SchemaRequest, TopicInfo, TopicRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status, Streaming};

/// The gRPC status codes of [`PubSubError::Status`].
pub use tonic::Code;

use crate::token::JwtBearer;

/// The `error-code` trailer value of an authentication failure.
pub const AUTH_ERROR_CODE: &str = "sfdc.platform.eventbus.grpc.service.auth.error";
/// The `error-code` trailer value of a replay id the server will not resume from.
pub const REPLAY_ID_CORRUPTED_CODE: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
/// The most events a subscription may have requested and not yet received.
pub const MAX_BATCH: i32 = 100;
/// Reconnect attempts after a broken stream before giving up.
const MAX_RECONNECTS: u32 = 5;

/// Why a Pub/Sub call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PubSubError {
    /// Unusable settings (endpoint, CA, header values).
    #[error("bad Pub/Sub settings: {0}")]
    Settings(String),
    #[error("can't reach the Pub/Sub API at {endpoint}: {message}")]
    /// The server could not be reached.
    Connect {
        /// `SF_PUB_SUB_ENDPOINT`.
        endpoint: String,
        /// Why.
        message: String,
    },
    /// The server refused the call; `error_code` is Salesforce's `error-code` trailer.
    #[error("{code:?}: {message}{}", .error_code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default())]
    Status {
        /// The gRPC status code.
        code: Code,
        /// The status message.
        message: String,
        /// The `error-code` trailer.
        error_code: Option<String>,
    },
    /// No access token to send.
    #[error("can't get an access token: {0}")]
    Token(String),
    #[error("can't decode event {replay_id}: {message}")]
    /// An event whose payload does not decode with its schema.
    Decode {
        /// The event's replay id.
        replay_id: u64,
        /// Why.
        message: String,
    },
}

impl PubSubError {
    fn from_status(status: &Status) -> PubSubError {
        PubSubError::Status {
            code: status.code(),
            message: status.message().to_string(),
            error_code: status
                .metadata()
                .get("error-code")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }
    }

    /// Salesforce's `error-code` trailer, if the server sent one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            PubSubError::Status { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }

    fn is_auth(&self) -> bool {
        matches!(
            self,
            PubSubError::Status {
                code: Code::Unauthenticated,
                ..
            }
        ) || self.error_code() == Some(AUTH_ERROR_CODE)
    }

    /// Worth reconnecting for: the connection or the server went away, not a refusal.
    fn is_transient(&self) -> bool {
        matches!(
            self,
            PubSubError::Status {
                code: Code::Unavailable
                    | Code::Unknown
                    | Code::Internal
                    | Code::Cancelled
                    | Code::DeadlineExceeded,
                ..
            }
        )
    }
}

/// Where the Pub/Sub API is and who we are (the names follow `partner.env`).
#[derive(Debug, Clone)]
pub struct PubSubSettings {
    /// `SF_PUB_SUB_ENDPOINT`: `host:port` or `https://host:port`; byoc's SDK also takes a
    /// comma-separated list of them (instances of one org), tried in turn when a stream breaks.
    pub endpoint: String,
    /// PEM of the CA to trust (byoc's local CA); `None` trusts the public web PKI.
    pub ca_cert_pem: Option<String>,
    /// `SF_INSTANCE_URL`, sent as `instanceurl`.
    pub instance_url: String,
    /// `SF_ORG_ID`, sent as `tenantid`.
    pub tenant_id: String,
}

/// The future [`TokenSource::access_token`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<String, PubSubError>> + Send + 'a>>;

/// Where access tokens come from. `refresh` asks for a new one (the last one was refused).
pub trait TokenSource: Send + Sync {
    /// A token to send; `refresh` when the last one was refused.
    fn access_token(&self, refresh: bool) -> TokenFuture<'_>;
}

/// A fixed access token (or session id).
pub struct StaticToken(pub String);

impl TokenSource for StaticToken {
    fn access_token(&self, _refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
}

/// Tokens from the JWT Bearer flow, fetched once and again when refused.
pub struct JwtBearerTokens {
    provider: JwtBearer,
    current: tokio::sync::Mutex<Option<String>>,
}

impl JwtBearerTokens {
    /// Tokens of `provider` (see also [`crate::token::TokenProvider`], which also refreshes
    /// before expiry and shares one request among concurrent callers).
    pub fn new(provider: JwtBearer) -> JwtBearerTokens {
        JwtBearerTokens {
            provider,
            current: tokio::sync::Mutex::new(None),
        }
    }
}

impl TokenSource for JwtBearerTokens {
    fn access_token(&self, refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move {
            let mut current = self.current.lock().await;
            if let (Some(token), false) = (current.as_ref(), refresh) {
                return Ok(token.clone());
            }
            let token = self
                .provider
                .fetch()
                .await
                .map_err(|e| PubSubError::Token(e.to_string()))?
                .access_token;
            *current = Some(token.clone());
            Ok(token)
        })
    }
}

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// New events only.
    Latest,
    /// Every retained event.
    Earliest,
    /// The events after this replay id.
    After(u64),
}

/// One decoded event.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// The topic it came from.
    pub topic: String,
    /// The replay id as a number (on the wire: 8 bytes, big-endian).
    pub replay_id: u64,
    /// The raw replay id bytes, for servers whose ids are not 8 bytes.
    pub replay_id_bytes: Vec<u8>,
    /// The event's UUID.
    pub event_id: String,
    /// The writer's schema id.
    pub schema_id: String,
    /// The Avro record as JSON; `["null","string"]` unions become a string or `null`.
    pub fields: serde_json::Value,
}

/// A connection to the Pub/Sub API.
#[derive(Clone)]
pub struct Subscriber {
    /// One client per endpoint of the list (usually one).
    endpoints: Arc<Vec<(String, PubSubClient<Channel>)>>,
    /// The endpoint calls go to; moves on when a stream breaks.
    current: Arc<AtomicUsize>,
    settings: PubSubSettings,
    tokens: Arc<dyn TokenSource>,
    schemas: Arc<Mutex<HashMap<String, Arc<Schema>>>>,
}

fn endpoint_uri(endpoint: &str) -> String {
    if endpoint.starts_with("https://") || endpoint.starts_with("http://") {
        endpoint.to_string()
    } else {
        format!("https://{endpoint}")
    }
}

fn replay_number(bytes: &[u8]) -> u64 {
    // Salesforce's replay ids are opaque; byoc's are 8 bytes big-endian. Shorter ones are read
    // as big-endian numbers too, longer ones by their last 8 bytes.
    let tail = &bytes[bytes.len().saturating_sub(8)..];
    tail.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

impl Subscriber {
    /// Connect (lazily: the first call opens the connection).
    pub async fn connect(
        settings: PubSubSettings,
        tokens: Arc<dyn TokenSource>,
    ) -> Result<Subscriber, PubSubError> {
        let mut endpoints = Vec::new();
        for name in settings
            .endpoint
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let mut tls = ClientTlsConfig::new();
            tls = match &settings.ca_cert_pem {
                Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
                None => tls.with_webpki_roots(),
            };
            let endpoint = Endpoint::from_shared(endpoint_uri(name))
                .map_err(|e| PubSubError::Settings(format!("bad endpoint {name:?}: {e}")))?
                .tls_config(tls)
                .map_err(|e| PubSubError::Settings(format!("bad TLS settings: {e}")))?
                .connect_timeout(Duration::from_secs(10))
                .http2_keep_alive_interval(Duration::from_secs(60))
                .keep_alive_while_idle(true);
            let channel = endpoint.connect_lazy();
            let grpc = PubSubClient::new(channel).max_decoding_message_size(16 * 1024 * 1024);
            endpoints.push((name.to_string(), grpc));
        }
        if endpoints.is_empty() {
            return Err(PubSubError::Settings(format!(
                "bad endpoint {:?}: expected host:port",
                settings.endpoint
            )));
        }
        Ok(Subscriber {
            endpoints: Arc::new(endpoints),
            current: Arc::new(AtomicUsize::new(0)),
            settings,
            tokens,
            schemas: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The endpoint calls go to now (one of the list).
    pub fn endpoint(&self) -> &str {
        &self.endpoints[self.current.load(Ordering::Relaxed) % self.endpoints.len()].0
    }

    fn grpc(&self) -> PubSubClient<Channel> {
        self.endpoints[self.current.load(Ordering::Relaxed) % self.endpoints.len()]
            .1
            .clone()
    }

    /// After a broken stream: the next endpoint of the list (the same one when there is one).
    fn move_on(&self) -> &str {
        if self.endpoints.len() > 1 {
            self.current.fetch_add(1, Ordering::Relaxed);
        }
        self.endpoint()
    }

    fn request<T>(&self, message: T, token: &str) -> Result<Request<T>, PubSubError> {
        let mut request = Request::new(message);
        let value = |v: &str, what: &str| {
            MetadataValue::try_from(v)
                .map_err(|_| PubSubError::Settings(format!("{what} is not a valid header value")))
        };
        let md = request.metadata_mut();
        md.insert("accesstoken", value(token, "the access token")?);
        md.insert(
            "instanceurl",
            value(&self.settings.instance_url, "the instance URL")?,
        );
        md.insert("tenantid", value(&self.settings.tenant_id, "the org id")?);
        Ok(request)
    }

    /// Run a unary call, retrying once with a fresh token after an authentication failure.
    async fn unary<T: Clone, R, F, Fut>(&self, message: T, call: F) -> Result<R, PubSubError>
    where
        F: Fn(PubSubClient<Channel>, Request<T>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R>, Status>>,
    {
        let mut refresh = false;
        loop {
            let token = self.tokens.access_token(refresh).await?;
            match call(self.grpc(), self.request(message.clone(), &token)?).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(status) => {
                    let e = PubSubError::from_status(&status);
                    if e.is_auth() && !refresh {
                        refresh = true;
                        continue;
                    }
                    return Err(self.connect_error(e));
                }
            }
        }
    }

    fn connect_error(&self, e: PubSubError) -> PubSubError {
        match e {
            PubSubError::Status {
                code: Code::Unavailable,
                message,
                error_code: None,
            } => PubSubError::Connect {
                endpoint: self.endpoint().to_string(),
                message,
            },
            other => other,
        }
    }

    /// `GetTopic`.
    pub async fn topic(&self, topic_name: &str) -> Result<TopicInfo, PubSubError> {
        self.unary(
            TopicRequest {
                topic_name: topic_name.to_string(),
            },
            |mut c, r| async move { c.get_topic(r).await },
        )
        .await
    }

    /// `GetSchema`: the schema JSON, parsed and cached by id.
    pub async fn schema(&self, schema_id: &str) -> Result<Arc<Schema>, PubSubError> {
        if let Some(s) = self
            .schemas
            .lock()
            .ok()
            .and_then(|m| m.get(schema_id).cloned())
        {
            return Ok(s);
        }
        let info = self
            .unary(
                SchemaRequest {
                    schema_id: schema_id.to_string(),
                },
                |mut c, r| async move { c.get_schema(r).await },
            )
            .await?;
        let schema = Arc::new(Schema::parse_str(&info.schema_json).map_err(|e| {
            PubSubError::Settings(format!(
                "the server sent an unusable schema {schema_id}: {e}"
            ))
        })?);
        if let Ok(mut m) = self.schemas.lock() {
            m.insert(schema_id.to_string(), schema.clone());
        }
        Ok(schema)
    }

    /// Decode one payload: a single raw Avro datum of the writer's schema.
    pub async fn decode(
        &self,
        topic: &str,
        replay_id_bytes: Vec<u8>,
        event: byoc_pubsub_proto::v1::ProducerEvent,
    ) -> Result<ReceivedEvent, PubSubError> {
        let replay_id = replay_number(&replay_id_bytes);
        let schema = self.schema(&event.schema_id).await?;
        let mut reader = event.payload.as_slice();
        let value = apache_avro::from_avro_datum(&schema, &mut reader, None).map_err(|e| {
            PubSubError::Decode {
                replay_id,
                message: e.to_string(),
            }
        })?;
        let fields = serde_json::Value::try_from(value).map_err(|e| PubSubError::Decode {
            replay_id,
            message: e.to_string(),
        })?;
        Ok(ReceivedEvent {
            topic: topic.to_string(),
            replay_id,
            replay_id_bytes,
            event_id: event.id,
            schema_id: event.schema_id,
            fields,
        })
    }

    /// Subscribe to `topic_name` from `replay`, asking for `batch` events at a time (1..=100).
    pub fn subscribe(&self, topic_name: &str, replay: Replay, batch: i32) -> Subscription {
        Subscription {
            subscriber: self.clone(),
            topic: topic_name.to_string(),
            start: replay,
            last_replay: None,
            batch: batch.clamp(1, MAX_BATCH),
            stream: None,
            buffered: std::collections::VecDeque::new(),
            reconnects: 0,
            resubscribed: 0,
            last_break: None,
            refresh_token: false,
            auth_retried: false,
        }
    }
}

/// What a subscription stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// An event.
    Event(ReceivedEvent),
    /// A keepalive: no events, the subscription's position as the server sees it.
    Keepalive {
        /// The newest replay id of the topic.
        latest_replay_id: Vec<u8>,
        /// Events requested and not yet delivered.
        pending_num_requested: i32,
    },
}

struct OpenStream {
    requests: mpsc::Sender<FetchRequest>,
    responses: Streaming<FetchResponse>,
}

/// A running subscription; call [`Subscription::next`] in a loop.
pub struct Subscription {
    subscriber: Subscriber,
    topic: String,
    start: Replay,
    /// The replay id of the last event handed out: where a reconnect resumes.
    last_replay: Option<Vec<u8>>,
    batch: i32,
    stream: Option<OpenStream>,
    buffered: std::collections::VecDeque<Delivery>,
    reconnects: u32,
    /// Resubscriptions after a broken stream, in all.
    resubscribed: u64,
    /// Why the stream last broke.
    last_break: Option<PubSubError>,
    refresh_token: bool,
    auth_retried: bool,
}

impl Subscription {
    async fn open(&mut self) -> Result<OpenStream, PubSubError> {
        let token = self
            .subscriber
            .tokens
            .access_token(self.refresh_token)
            .await?;
        self.refresh_token = false;
        let (tx, rx) = mpsc::channel(8);
        let (preset, replay_id) = match (&self.last_replay, self.start) {
            (Some(id), _) => (ReplayPreset::Custom, id.clone()),
            (None, Replay::Latest) => (ReplayPreset::Latest, vec![]),
            (None, Replay::Earliest) => (ReplayPreset::Earliest, vec![]),
            (None, Replay::After(n)) => (ReplayPreset::Custom, n.to_be_bytes().to_vec()),
        };
        let first = FetchRequest {
            topic_name: self.topic.clone(),
            replay_preset: preset as i32,
            replay_id,
            num_requested: self.batch,
            auth_refresh: String::new(),
        };
        tx.send(first)
            .await
            .map_err(|_| PubSubError::Settings("the request stream closed".into()))?;
        let request = self.subscriber.request(ReceiverStream::new(rx), &token)?;
        let mut grpc = self.subscriber.grpc();
        let responses = grpc
            .subscribe(request)
            .await
            .map_err(|s| self.subscriber.connect_error(PubSubError::from_status(&s)))?
            .into_inner();
        Ok(OpenStream {
            requests: tx,
            responses,
        })
    }

    /// The next event or keepalive; `Ok(None)` when the server ended the stream cleanly.
    /// Transient failures reconnect (resuming after the last event handed out); refusals end
    /// the subscription with an error.
    pub async fn next(&mut self) -> Result<Option<Delivery>, PubSubError> {
        loop {
            if let Some(d) = self.buffered.pop_front() {
                if let Delivery::Event(e) = &d {
                    self.last_replay = Some(e.replay_id_bytes.clone());
                }
                return Ok(Some(d));
            }
            if self.stream.is_none() {
                match self.open().await {
                    Ok(s) => self.stream = Some(s),
                    Err(e) => {
                        self.retry_or_fail(e).await?;
                        continue;
                    }
                }
            }
            let Some(stream) = self.stream.as_mut() else {
                continue;
            };
            match stream.responses.message().await {
                Ok(Some(response)) => {
                    self.reconnects = 0;
                    self.auth_retried = false;
                    if response.pending_num_requested == 0 {
                        // Ask for more before handing these out, so the server never idles.
                        let more = FetchRequest {
                            topic_name: self.topic.clone(),
                            num_requested: self.batch,
                            ..FetchRequest::default()
                        };
                        let _ = stream.requests.send(more).await;
                    }
                    if response.events.is_empty() {
                        self.buffered.push_back(Delivery::Keepalive {
                            latest_replay_id: response.latest_replay_id,
                            pending_num_requested: response.pending_num_requested,
                        });
                    }
                    for consumer in response.events {
                        let Some(event) = consumer.event else {
                            continue;
                        };
                        let decoded = self
                            .subscriber
                            .decode(&self.topic, consumer.replay_id, event)
                            .await?;
                        self.buffered.push_back(Delivery::Event(decoded));
                    }
                }
                Ok(None) => {
                    self.stream = None;
                    return Ok(None);
                }
                Err(status) => {
                    self.stream = None;
                    self.retry_or_fail(PubSubError::from_status(&status))
                        .await?;
                }
            }
        }
    }

    /// The next event, skipping keepalives.
    pub async fn next_event(&mut self) -> Result<Option<ReceivedEvent>, PubSubError> {
        loop {
            match self.next().await? {
                Some(Delivery::Event(e)) => return Ok(Some(e)),
                Some(Delivery::Keepalive { .. }) => continue,
                None => return Ok(None),
            }
        }
    }

    /// The replay id of the last event handed out.
    pub fn last_replay_id(&self) -> Option<&[u8]> {
        self.last_replay.as_deref()
    }

    /// The endpoint the subscription uses now.
    pub fn endpoint(&self) -> &str {
        self.subscriber.endpoint()
    }

    /// How many times the subscription resubscribed after a broken stream.
    pub fn resubscribed(&self) -> u64 {
        self.resubscribed
    }

    /// Why the stream last broke (`UNAVAILABLE` "The server is shutting down…" from an
    /// instance that stopped, a connection error from one that died).
    pub fn last_break(&self) -> Option<&PubSubError> {
        self.last_break.as_ref()
    }

    async fn retry_or_fail(&mut self, e: PubSubError) -> Result<(), PubSubError> {
        let retry = if e.is_auth() {
            // One fresh token per failure streak.
            let first = !self.auth_retried;
            self.auth_retried = true;
            self.refresh_token = true;
            first
        } else {
            e.is_transient() || matches!(e, PubSubError::Connect { .. })
        };
        if !retry || self.reconnects >= MAX_RECONNECTS {
            return Err(e);
        }
        self.reconnects += 1;
        self.resubscribed += 1;
        let from = self.subscriber.endpoint().to_string();
        // An authentication failure retries where it was; anything else tries the next instance.
        let to = if e.is_auth() {
            from.clone()
        } else {
            self.subscriber.move_on().to_string()
        };
        let backoff = Duration::from_millis(200u64.saturating_mul(1 << self.reconnects.min(6)));
        let after = match (&self.last_replay, self.start) {
            (Some(id), _) => format!("after replay id {}", replay_number(id)),
            (None, Replay::After(n)) => format!("after replay id {n}"),
            (None, Replay::Latest) => "from the latest event (none received yet)".to_string(),
            (None, Replay::Earliest) => "from the earliest event (none received yet)".to_string(),
        };
        tracing::warn!(
            topic = %self.topic,
            from = %from,
            to = %to,
            attempt = self.reconnects,
            of = MAX_RECONNECTS,
            "Pub/Sub stream broke ({e}); resubscribing at {to} in {} ms, {after}",
            backoff.as_millis()
        );
        self.last_break = Some(e);
        tokio::time::sleep(backoff).await;
        Ok(())
    }
}
