//! The Pub/Sub API host: `eventbus.v1.PubSub` over gRPC with TLS from byoc's local CA
//! (docs/pubsub.md).
//!
//! - [`service`]: GetTopic, GetSchema, Subscribe (replay presets, flow control, keepalives),
//!   Publish and PublishStream.
//! - [`bus`]: the org's topics (one per CCD `customPlatformEvent`) and publishing: a durable
//!   append to the store's event log, then a wake-up of this process's subscribers.
//! - [`auth`]: the `accesstoken`/`instanceurl`/`tenantid` metadata, behind the
//!   [`auth::AccessTokenCheck`] seam.
//! - [`agent`]: the agent's side (replies, ending a session, routing requests), each published
//!   as an outbound event.
//! - [`echo`]: the optional echo agent (`byoc serve --echo-agent`), answering every inbound
//!   end-user message through [`agent::AgentService`].
//! - [`errors`]: statuses with Salesforce's `error-code` trailer.
//! - [`registry`]: the open Subscribe streams of this process (Pub/Sub at a glance).
//! - [`observe`]: each call as the request inspector shows it (gRPC code, `error-code`).

pub mod access;
pub mod agent;
pub mod auth;
pub mod bus;
pub mod echo;
pub mod errors;
pub mod observe;
pub mod registry;
pub mod service;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use byoc_core::Clock;
use byoc_pubsub_proto::v1::pub_sub_server::PubSubServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Identity, Server, ServerTlsConfig};

pub use service::PubSubService;

/// Settings of the Pub/Sub host.
#[derive(Debug, Clone)]
pub struct PubSubConfig {
    /// An idle subscription gets a keepalive `FetchResponse` this often (Salesforce: 270 s).
    pub keepalive: Duration,
    /// Idle subscriptions re-read the log this often even without a wake-up (a safety net: every
    /// instance's events wake them through change notices).
    pub poll_interval: Duration,
    /// Events are kept this long for replay (Salesforce: 72 hours).
    pub retention: Duration,
    /// `--echo-agent`: answer every inbound end-user message (off by default).
    pub echo_agent: Option<echo::EchoAgentConfig>,
}

impl Default for PubSubConfig {
    fn default() -> PubSubConfig {
        PubSubConfig {
            keepalive: Duration::from_secs(270),
            poll_interval: service::DEFAULT_POLL_INTERVAL,
            retention: Duration::from_millis(
                u64::try_from(byoc_core::events::RETENTION_MILLIS).unwrap_or(u64::MAX),
            ),
            echo_agent: None,
        }
    }
}

/// A server certificate for this start, for `localhost`, the loopback addresses, the bound
/// address and the public hosts of `--public-*`, signed by the local CA.
pub fn tls_identity(
    ca: &byoc_pki::LocalCa,
    bound: SocketAddr,
    public: &crate::public::TlsHosts,
    clock: &dyn Clock,
) -> anyhow::Result<Identity> {
    // The local CA may only vouch for loopback names (its name constraints): a listener bound
    // to another address is still reached as localhost.
    let (dns, ips) = crate::https::subject_alt_names(&[bound], public);
    let now = chrono::DateTime::from_timestamp_millis(clock.now_millis()).unwrap_or_default();
    let cert = byoc_pki::issue_server_certificate(ca, &dns, &ips, now)
        .context("can't issue the Pub/Sub TLS certificate")?;
    // Clients verify the chain up to the CA, so the CA goes after the leaf.
    let chain = format!("{}{}", cert.certificate_pem, ca.certificate_pem);
    Ok(Identity::from_pem(chain, cert.private_key_pem))
}

/// Serve the Pub/Sub API on `listener` until `shutdown`; open subscriptions end with
/// `UNAVAILABLE` so clients resubscribe elsewhere or later.
/// Serve the Pub/Sub API on every listener (one port, IPv4 and IPv6 loopback) until `shutdown`.
pub async fn serve(
    listeners: Vec<TcpListener>,
    identity: Identity,
    service: PubSubService,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    Server::builder()
        .tls_config(ServerTlsConfig::new().identity(identity))
        .context("bad Pub/Sub TLS configuration")?
        .add_service(PubSubServer::new(service))
        .serve_with_incoming_shutdown(
            futures::stream::select_all(listeners.into_iter().map(TcpListenerStream::new)),
            async move { shutdown.cancelled().await },
        )
        .await
        .context("the Pub/Sub host failed")
}

/// Purge events past the retention period now and then every hour, until `shutdown`.
pub async fn retention(
    bus: Arc<bus::EventBus>,
    retention: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    loop {
        match bus.purge(retention_ms).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                events = n,
                "purged platform events past the retention period"
            ),
            Err(e) => tracing::warn!(error = %e, "purging old platform events failed; will retry"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// What the agent's side needs from the rest of the server.
/// Who else hears of what the Pub/Sub host does: the console's live feed (deliveries) and the
/// request inspector (RPCs).
#[derive(Clone)]
pub struct Observers {
    pub live: crate::live::LiveFeed,
    pub inspector: crate::inspector::Inspector,
}

pub struct AgentSide {
    /// The conversation writer (the Interaction API's group commit) agent entries go through.
    pub conversations: crate::scrt::writer::GroupCommit,
    /// Where events point for attachments (`<instance_url>/admin/v1/attachments/{id}`).
    pub instance_url: String,
}

/// The Pub/Sub host of one server: its event bus and gRPC service, built before the hosts start
/// so the login host can mount the agent API on the same bus.
pub struct Host {
    pub bus: Arc<bus::EventBus>,
    /// Users, permission sets and admin credentials in memory, for the checks of every call.
    pub setup: Arc<access::SetupCache>,
    pub service: PubSubService,
    pub agents: agent::AgentService,
    retention: Duration,
    echo_agent: Option<echo::EchoAgentConfig>,
    shutdown: CancellationToken,
}

impl Host {
    /// Access tokens are checked by the OAuth verifier, then as the admin credential (a session
    /// id of the bootstrap admin).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: byoc_store::Store,
        clock: Arc<dyn Clock>,
        verifier: Arc<crate::oauth::tokens::TokenVerifier>,
        org: &byoc_proto::setup::Org,
        agent_side: AgentSide,
        config: PubSubConfig,
        observers: Observers,
        shutdown: CancellationToken,
    ) -> Host {
        let bus = Arc::new(bus::EventBus::new(store.clone(), clock));
        let setup = Arc::new(access::SetupCache::new(store));
        let verifier: Arc<dyn auth::AccessTokenCheck> = verifier;
        let admin: Arc<dyn auth::AccessTokenCheck> = Arc::new(auth::AdminCredentialCheck {
            setup: setup.clone(),
        });
        let tokens: Arc<dyn auth::AccessTokenCheck> =
            Arc::new(auth::FirstOf(vec![verifier, admin]));
        let retention = config.retention;
        let echo_agent = config.echo_agent.clone();
        let agents = agent::AgentService::new(
            bus.clone(),
            agent_side.conversations,
            agent_side.instance_url,
        );
        let service = PubSubService::new(
            bus.clone(),
            tokens,
            setup.clone(),
            org.id.clone(),
            org.id18.clone(),
            config,
            observers,
            shutdown.clone(),
        );
        Host {
            bus,
            setup,
            service,
            agents,
            retention,
            echo_agent,
            shutdown,
        }
    }

    /// The agent's routes (`/admin/v1/conversations/{id}/replies|end|routing-requests`), for
    /// the login host.
    pub fn agent_router(&self, admin: crate::admin_api::AdminState) -> axum::Router {
        agent::router(agent::AgentState {
            admin,
            agents: self.agents.clone(),
        })
    }

    /// With `echo_agent` configured, answer every message in `inbound` as `agent`, until
    /// shutdown; otherwise nothing.
    pub fn start_echo_agent(
        &self,
        agent: byoc_proto::setup::User,
        inbound: tokio::sync::broadcast::Receiver<crate::scrt::writer::CommittedMessage>,
        tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>,
    ) {
        if let Some(config) = &self.echo_agent {
            tasks.spawn(echo::run(
                self.agents.clone(),
                agent,
                inbound,
                config.clone(),
                self.shutdown.clone(),
            ));
        }
    }

    /// Serve gRPC on `listener` and run the retention purge, both until shutdown.
    pub fn spawn(
        self,
        listeners: Vec<TcpListener>,
        identity: Identity,
        tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>,
    ) {
        tasks.spawn(serve(
            listeners,
            identity,
            self.service,
            self.shutdown.clone(),
        ));
        let (bus, stop) = (self.bus.clone(), self.shutdown.clone());
        crate::supervise::spawn(
            tasks,
            "Pub/Sub change-notice follower",
            self.shutdown.clone(),
            move || bus.clone().follow_notices(stop.clone()),
        );
        // Supervised: restarted if they fail or panic (crate::supervise).
        let (setup, stop) = (self.setup, self.shutdown.clone());
        crate::supervise::spawn(
            tasks,
            "Pub/Sub access poller",
            self.shutdown.clone(),
            move || access::poll(setup.clone(), stop.clone()),
        );
        let (bus, keep, stop) = (self.bus, self.retention, self.shutdown.clone());
        crate::supervise::spawn(tasks, "Pub/Sub retention purge", self.shutdown, move || {
            retention(bus.clone(), keep, stop.clone())
        });
    }
}
