//! The byoc server: a local Salesforce org for Bring Your Own Channel.
//!
//! - [`start`] takes bound [`Listeners`] and a [`ServerConfig`] (by value, so one process can run
//!   many servers) and returns a [`RunningServer`] once `org.json` holds the real addresses.
//! - Three hosts: the login/instance host (admin API [`admin_api`], later OAuth and identity), the
//!   Interaction API host ([`scrt`]), and the Pub/Sub gRPC host over TLS ([`pubsub`]); the first
//!   two also over HTTPS on ports of their own ([`https`]).
//! - [`console`]: the web console (Setup's screens) on the login host; [`live`]: its live feed
//!   (`GET /console/live`, Server-Sent Events across instances).
//! - [`rest`]: Salesforce's REST API (`/services/data`: versions, SOQL, describe, sObjects, the
//!   Tooling API's CCDs); [`soap`]: the SOAP partner API's `login`.
//! - [`setup_service`]: loads records, runs `byoc-core`'s setup commands, writes the result in one
//!   transaction.
//! - [`bootstrap`]: first start (org, admin, credential, local CA, the seed's sample setup,
//!   `partner.env`). [`datadir`]: the files in the data dir.
//! - A clean stop ([`RunningServer::shutdown`]): drain up to `--drain-timeout`, then close what
//!   remains ([`drain`]) and flush the buffers ([`Flushers`]).
//! - [`health`]: `/health` and `/ready` for load balancers; [`supervise`]: background tasks
//!   restarted when they fail.

pub mod admin_api;
pub mod bootstrap;
pub mod console;
pub mod datadir;
pub mod drain;
pub mod health;
pub mod https;
pub mod inspector;
pub mod keep_alive;
pub mod live;
pub mod metadata_service;
pub mod oauth;
pub mod org_clock;
pub mod passwords;
pub mod public;
pub mod pubsub;
pub mod reset;
pub mod rest;
pub mod scrt;
pub mod seed;
pub mod setup_service;
pub mod soap;
pub mod supervise;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use byoc_core::Clock;
use byoc_proto::files::OrgFile;
use byoc_store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::datadir::DataDir;
use crate::setup_service::SetupService;

/// The wall clock; the only place the server reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now_millis(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// The base URLs a request's answers name (token responses' `instance_url` and `id`, SOAP
/// `serverUrl`…): the HTTPS listeners insert their `https://` URLs as a request extension; on
/// the plain-HTTP listeners it is absent and the configured URLs apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrls {
    pub login_url: String,
    pub instance_url: String,
}

/// Settings of one server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; `None` means `DATA/byoc.db`.
    pub database_url: Option<String>,
    /// Skip the sample setup on first start.
    pub empty: bool,
    /// `--strict`: the token endpoint also refuses what a careful partner never sends (exp more
    /// than 3 minutes ahead, reused jti, iat/nbf in the future, expired certificates).
    pub strict: bool,
    /// Accepted JWT `aud` values besides this server's login URL; empty means
    /// `https://login.salesforce.com` and `https://test.salesforce.com`.
    pub accepted_audiences: Vec<String>,
    /// The Pub/Sub host: keepalive interval, poll interval, event retention.
    pub pubsub: pubsub::PubSubConfig,
    /// `--drain-timeout`: how long a clean stop waits for in-flight requests and streams before
    /// it closes them (buffered writes such as the login history are flushed either way).
    pub drain_timeout: std::time::Duration,
    /// `--public-*`: the URLs clients reach this instance through when it sits behind a load
    /// balancer (written to `org.json`, named in token responses); unset ones come from the
    /// listeners' addresses.
    pub advertise: Advertise,
    /// `--seed DIR`: build the org from this DX project on first start instead of the sample
    /// setup (docs/org-as-code.md).
    pub seed: Option<PathBuf>,
    /// `--allow-clock-control`: `byoc clock` may move this org's clock.
    pub allow_clock_control: bool,
}

/// How long requests may take to leave once the drain deadline passed (each leaves at its next
/// await, so this only bounds a request stuck in blocking code).
const CUT_OFF: std::time::Duration = std::time::Duration::from_secs(1);

/// A clean stop's default drain deadline (`--drain-timeout`).
pub const DEFAULT_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The public addresses of an instance behind a load balancer (`docs/scale-out.md`). Each is
/// optional; the listener's own address is used for one left unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertise {
    /// `--public-login-url`: the login and instance host, e.g. `http://127.0.0.1:6101`.
    pub login_url: Option<String>,
    /// `--public-scrt-url`: the Interaction API host.
    pub scrt_url: Option<String>,
    /// `--public-pubsub-endpoint`: the Pub/Sub API, `HOST:PORT`.
    pub pubsub_endpoint: Option<String>,
    /// `--public-login-https-url`: the login and instance host over HTTPS.
    pub login_https_url: Option<String>,
    /// `--public-scrt-https-url`: the Interaction API host over HTTPS.
    pub scrt_https_url: Option<String>,
}

/// The bound sockets. The caller binds them (port 0 picks one), so tests never race for ports.
pub struct Listeners {
    pub login: TcpListener,
    pub scrt: TcpListener,
    pub pubsub: TcpListener,
    /// The login/instance host over HTTPS (`--https-listen`).
    pub login_https: TcpListener,
    /// The Interaction API host over HTTPS (`--scrt-https-listen`).
    pub scrt_https: TcpListener,
    /// `[::1]` on the Pub/Sub port when `pubsub` is `127.0.0.1`: gRPC clients given
    /// `localhost:PORT` often try IPv6 first (Node's grpc-js does), and should find byoc there too.
    pub pubsub_ipv6_loopback: Option<TcpListener>,
}

impl Listeners {
    /// The plain listeners at these addresses; the HTTPS ones on a free port of the login and
    /// Interaction API hosts' addresses.
    pub async fn bind(
        login: SocketAddr,
        scrt: SocketAddr,
        pubsub: SocketAddr,
    ) -> anyhow::Result<Listeners> {
        Listeners::bind_all(
            login,
            scrt,
            pubsub,
            SocketAddr::new(login.ip(), 0),
            SocketAddr::new(scrt.ip(), 0),
        )
        .await
    }

    /// Every listener at the address given.
    pub async fn bind_all(
        login: SocketAddr,
        scrt: SocketAddr,
        pubsub: SocketAddr,
        login_https: SocketAddr,
        scrt_https: SocketAddr,
    ) -> anyhow::Result<Listeners> {
        let bind = |addr: SocketAddr, what: &'static str| async move {
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("can't listen on {addr} ({what})"))
        };
        let pubsub_v4 = bind(pubsub, "Pub/Sub API host, --pubsub-listen").await?;
        // Best effort: a machine without IPv6 still serves on 127.0.0.1.
        let pubsub_ipv6_loopback = match pubsub_v4.local_addr()? {
            SocketAddr::V4(v4) if v4.ip().is_loopback() => {
                TcpListener::bind((std::net::Ipv6Addr::LOCALHOST, v4.port()))
                    .await
                    .ok()
            }
            _ => None,
        };
        Ok(Listeners {
            login: bind(login, "login and instance host, --listen").await?,
            scrt: bind(scrt, "Interaction API host, --scrt-listen").await?,
            pubsub: pubsub_v4,
            pubsub_ipv6_loopback,
            login_https: bind(
                login_https,
                "login and instance host over HTTPS, --https-listen",
            )
            .await?,
            scrt_https: bind(
                scrt_https,
                "Interaction API host over HTTPS, --scrt-https-listen",
            )
            .await?,
        })
    }
}

/// The tasks that hold buffered writes (the login history): a clean stop lets them finish
/// after the hosts, and even when the drain deadline passed they write what is queued before
/// the process exits.
pub struct Flushers {
    tasks: JoinSet<anyhow::Result<()>>,
    /// Cancelled when the hosts are done or the drain deadline passed: write what is queued, stop.
    deadline: CancellationToken,
}

impl Flushers {
    fn new() -> Flushers {
        Flushers {
            tasks: JoinSet::new(),
            deadline: CancellationToken::new(),
        }
    }

    /// Run a flusher until the stop (it watches [`Flushers::deadline`]).
    pub fn spawn(
        &mut self,
        task: impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        self.tasks.spawn(task);
    }

    /// Cancelled when a flusher must write what it holds and stop.
    pub fn deadline(&self) -> CancellationToken {
        self.deadline.clone()
    }
}

/// A started server. Dropping it does not stop it; call [`RunningServer::shutdown`].
pub struct RunningServer {
    org_file: OrgFile,
    data_dir: PathBuf,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
    flushers: Flushers,
    /// Every HTTP request passes it; closed when the drain deadline passes.
    gate: drain::Gate,
    /// `--drain-timeout`.
    drain_timeout: std::time::Duration,
    /// Cancelled to end the drain at once (a second signal): see [`RunningServer::hurry`].
    hurry: CancellationToken,
    /// The server's store handle, for tests that count its setup reads.
    store: Store,
}

impl RunningServer {
    /// The store handle every host of this server uses ([`Store::setup_reads`] counts what
    /// went to the database through it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn org_file(&self) -> &OrgFile {
        &self.org_file
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// A handle that, cancelled, makes a running [`RunningServer::shutdown`] stop waiting for
    /// in-flight requests at once, as if the drain deadline had passed (`byoc serve`: a second
    /// SIGINT/SIGTERM).
    pub fn hurry(&self) -> CancellationToken {
        self.hurry.clone()
    }

    /// A clean stop within the configured drain deadline (`--drain-timeout`); see
    /// [`RunningServer::shutdown_within`].
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let drain = self.drain_timeout;
        self.shutdown_within(drain).await
    }

    /// A clean stop: stop accepting connections at once (the listening sockets close, so a load
    /// balancer's next attempt is refused and goes elsewhere), end Pub/Sub streams with
    /// `UNAVAILABLE` (clients resubscribe from their last replay id, here later or on another
    /// instance), let in-flight HTTP requests finish for up to `drain`, then write every buffered
    /// login attempt and return. When `drain` passes first, what is still open is closed (the
    /// requests get no answer) and the buffers are written all the same.
    pub async fn shutdown_within(mut self, drain: std::time::Duration) -> anyhow::Result<()> {
        let started = tokio::time::Instant::now();
        self.shutdown.cancel();
        tracing::info!(
            drain_timeout_s = drain.as_secs_f64(),
            "stopping: no new connections; in-flight requests may finish until the drain deadline"
        );
        let mut result = Ok(());
        let mut keep = |joined: Result<anyhow::Result<()>, tokio::task::JoinError>| match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(e) if e.is_cancelled() => {}
            Err(e) => result = Err(anyhow::anyhow!("a server task failed: {e}")),
        };
        let deadline = tokio::time::sleep(drain);
        tokio::pin!(deadline);
        let drained = loop {
            tokio::select! {
                biased;
                joined = self.tasks.join_next() => match joined {
                    Some(joined) => keep(joined),
                    None => break true,
                },
                _ = &mut deadline => break false,
                _ = self.hurry.cancelled() => break false,
            }
        };
        if !drained {
            tracing::warn!(
                after_s = started.elapsed().as_secs_f64(),
                tasks = self.tasks.len(),
                "the drain deadline passed: closing the requests and streams still open"
            );
            // Requests still running are cut off (503, no answer they were waiting for); once
            // none is inside, every attempt that was answered is in the flushers' queues.
            self.gate.close();
            if tokio::time::timeout(CUT_OFF, self.gate.wait_empty())
                .await
                .is_err()
            {
                tracing::warn!(
                    requests = self.gate.inside(),
                    "requests still running after the cut-off"
                );
            }
            // The hosts stop here; connections they had handed to their own tasks end with the
            // process.
            self.tasks.abort_all();
            while let Some(joined) = self.tasks.join_next().await {
                keep(joined);
            }
        }
        // Every buffer writes what it holds.
        self.flushers.deadline.cancel();
        while let Some(joined) = self.flushers.tasks.join_next().await {
            keep(joined);
        }
        tracing::info!(
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            drained,
            "stopped; buffered writes flushed"
        );
        result
    }
}

/// The URL clients use for a bound address: a wildcard bind is reached on loopback.
fn public_addr(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".parse().unwrap_or(ip),
        ip if ip.is_unspecified() => "::1".parse().unwrap_or(ip),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port()).to_string()
}

/// Open the store, bootstrap the org on first start, start the three hosts, write `org.json`.
pub async fn start(listeners: Listeners, config: ServerConfig) -> anyhow::Result<RunningServer> {
    install_crypto_provider();
    // Before any Avro is decoded in this process: published payloads can't make it allocate more.
    byoc_core::events::limit_avro_allocations();
    // The machine's clock, for what must not move with the org (TLS certificates, which clients
    // check against their own clocks); everything org-visible reads the org clock below.
    let real_clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let data = DataDir::open(&config.data_dir)?;
    let database_url = match config.database_url.clone() {
        Some(url) => url,
        None => {
            // The database holds consumer secrets: create it owner-only (SQLite gives its -wal and
            // -shm files the same mode).
            data.create_secret_file(datadir::DATABASE_FILE)?;
            format!("sqlite://{}", data.path(datadir::DATABASE_FILE).display())
        }
    };
    // A database that is unreachable at start fails the start at once, with a message saying
    // so (docs/scale-out.md, "When the database fails"): a supervisor (systemd, a container
    // runtime, the load balancer's health checks) decides when to try again.
    let store = match Store::open(&database_url).await {
        Ok(store) => store,
        Err(e) => {
            let url = byoc_store::redact(&database_url);
            let what = if e.is_unavailable() {
                format!("can't open the database {url}: it is not reachable (byoc serve does not wait for it; start byoc again once the database answers)")
            } else {
                format!("can't open the database {url}")
            };
            return Err(anyhow::Error::new(e).context(what));
        }
    };
    let org_clock = Arc::new(
        org_clock::OrgClock::load(&store, real_clock.clone())
            .await
            .context("can't read the org clock")?,
    );
    let clock: Arc<dyn Clock> = org_clock.clone();
    if !org_clock.is_real() {
        tracing::warn!(
            now = %org_clock::rfc3339(clock.now_millis()),
            offset = %byoc_core::duration::format_offset(clock.offset_millis()),
            "the org clock is not real time (byoc clock real returns it)"
        );
    }
    let setup = SetupService::new(store.clone(), clock.clone());

    // `--seed DIR`: the project is read and checked before the org exists, so a project with
    // problems stops the start with all of them and leaves nothing behind.
    let seed_files = match &config.seed {
        Some(dir) if store.org().await?.is_none() => Some(seed::check_project(dir)?),
        Some(dir) => {
            tracing::warn!(project = %dir.display(), "--seed is ignored: the org exists already (it applies to the first start only; byoc reset returns the org to its seed)");
            None
        }
        None => None,
    };
    let (org, created) = bootstrap::ensure_org(&store, clock.as_ref()).await?;
    let admin = bootstrap::bootstrap_admin(&store).await?;
    if created {
        match (&config.seed, &seed_files) {
            (Some(dir), Some(files)) => {
                seed::deploy_project(&setup, &data, &admin, dir, files).await?
            }
            _ if !config.empty => bootstrap::seed_sample(&setup, &data, &admin, clock.as_ref())
                .await
                .context("the sample setup failed")?,
            _ => {}
        }
    }
    let admin_token =
        bootstrap::admin_credential(&store, &data, &org, &admin, clock.as_ref()).await?;
    let admin_password =
        bootstrap::admin_password(&setup, &data, &org, &admin, clock.as_ref()).await?;
    let ca = bootstrap::local_ca(&store, &data, &org, real_clock.as_ref()).await?;
    // The setup as the first start left it is what `byoc reset` returns to.
    reset::take_seed(&store, clock.as_ref(), created, &seed_source(&config))
        .await
        .context("can't keep the org's seed")?;

    let login_addr = listeners.login.local_addr()?;
    let scrt_addr = listeners.scrt.local_addr()?;
    let pubsub_addr = listeners.pubsub.local_addr()?;
    let login_https_addr = listeners.login_https.local_addr()?;
    let scrt_https_addr = listeners.scrt_https.local_addr()?;
    // Behind a load balancer, every URL this instance names is the balancer's (`--public-*`).
    let advertise = config.advertise.validate()?;
    let own_login_url = format!("http://{}", public_addr(login_addr));
    let own_login_url_https = format!("https://{}", public_addr(login_https_addr));
    let login_url = advertise
        .login_url
        .clone()
        .unwrap_or_else(|| own_login_url.clone());
    let login_url_https = advertise
        .login_https_url
        .clone()
        .unwrap_or_else(|| own_login_url_https.clone());
    let org_file = OrgFile {
        org_id: org.id.clone(),
        org_id_18: org.id18.clone(),
        my_domain: org.my_domain.clone(),
        login_url: login_url.clone(),
        instance_url: login_url,
        scrt_url: advertise
            .scrt_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", public_addr(scrt_addr))),
        login_url_https: login_url_https.clone(),
        instance_url_https: login_url_https,
        scrt_url_https: advertise
            .scrt_https_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", public_addr(scrt_https_addr))),
        pubsub_endpoint: advertise
            .pubsub_endpoint
            .clone()
            .unwrap_or_else(|| public_addr(pubsub_addr)),
        ca_cert: data.path(datadir::CA_CERT).display().to_string(),
        admin_username: admin.username.clone(),
        admin_token,
        admin_password,
        database: store.backend().to_string(),
        clock: org_clock.org_file_clock(),
    };

    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut flushers = Flushers::new();
    let gate = drain::Gate::default();
    let oauth_config = oauth::OAuthConfig {
        org: org.clone(),
        login_url: org_file.login_url.clone(),
        instance_url: org_file.instance_url.clone(),
        login_url_https: Some(org_file.login_url_https.clone()),
        accepted_audiences: audiences(
            &config.accepted_audiences,
            [own_login_url, own_login_url_https]
                .into_iter()
                .filter(|own| *own != org_file.login_url && *own != org_file.login_url_https),
        ),
        strict: config.strict,
    };
    let oauth = oauth::start(
        oauth_config,
        store.clone(),
        clock.clone(),
        setup.clone(),
        shutdown.clone(),
        &mut tasks,
        &mut flushers,
    )
    .await?;
    let live = live::LiveFeed::new(store.clone());
    let inspector = inspector::Inspector::new();
    let scrt_state = scrt::ScrtState::new(store.clone(), clock.clone(), oauth.token_verifier());
    live.start(
        scrt_state.writer().commits(),
        clock.clone(),
        shutdown.clone(),
        &mut tasks,
    )
    .await
    .context("the live feed could not start")?;
    let pubsub_host = pubsub::Host::new(
        store.clone(),
        clock.clone(),
        oauth.token_verifier(),
        &org,
        pubsub::AgentSide {
            conversations: scrt_state.writer(),
            instance_url: org_file.instance_url.clone(),
        },
        config.pubsub.clone(),
        pubsub::Observers {
            live: live.clone(),
            inspector: inspector.clone(),
        },
        shutdown.clone(),
    );
    pubsub_host.start_echo_agent(admin.clone(), scrt_state.committed_messages(), &mut tasks);

    let admin_state = admin_api::AdminState::new(setup.clone(), Some(oauth.clone()));
    // The request inspector's recorder on the login and Interaction API hosts; its live
    // viewers end when the server stops.
    let recording = inspector::http::Recording {
        inspector: inspector.clone(),
        clock: clock.clone(),
        oauth: oauth.clone(),
    };
    {
        let (inspector, shutdown) = (inspector.clone(), shutdown.clone());
        tasks.spawn(async move {
            shutdown.cancelled().await;
            inspector.stop();
            Ok(())
        });
    }
    // The org's API request count: counted here, flushed to the database beside the server.
    let usage = std::sync::Arc::new(rest::usage::ApiUsage::default());
    {
        let (usage, store, clock, shutdown) = (
            usage.clone(),
            store.clone(),
            clock.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            usage.run(store, clock, shutdown).await;
            Ok(())
        });
    }
    // When any instance resets the org, what this one keeps in memory of it starts over.
    tasks.spawn(reset::follow(
        store.clone(),
        reset::Forgetful {
            inspector: inspector.clone(),
            usage: usage.clone(),
            live: live.clone(),
        },
        shutdown.clone(),
    ));
    let login_router = Router::new()
        .merge(admin_api::router(admin_state.clone()))
        .merge(inspector::api::router(
            admin_state.clone(),
            inspector.clone(),
        ))
        .merge(scrt::admin_router(admin_state.clone()))
        .merge(pubsub_host.agent_router(admin_state))
        .merge(oauth::router(oauth.clone()))
        .merge(soap::router(oauth.clone()))
        .merge(rest::router(rest::RestState {
            usage: usage.clone(),
            admin: admin_api::AdminState::new(setup.clone(), Some(oauth.clone())),
            oauth: oauth.clone(),
            pubsub: pubsub_host.service.clone(),
            bus: pubsub_host.bus.clone(),
            cursors: rest::query::Cursors::new(store.clone(), clock.clone()),
        }))
        .merge(console::router(console::ConsoleState::new(
            setup.clone(),
            oauth,
            console::ConsoleParts {
                agents: pubsub_host.agents.clone(),
                bus: pubsub_host.bus.clone(),
                pubsub: pubsub_host.service.clone(),
                live,
                inspector,
            },
        )))
        .fallback(admin_api::not_found)
        .layer(axum::Extension(org_clock::ClockControl {
            clock: org_clock.clone(),
            allowed: config.allow_clock_control,
        }))
        .layer(axum::middleware::from_fn_with_state(
            recording.clone(),
            inspector::http::login_host,
        ))
        // After the inspector's layer: load balancers' checks are not recorded.
        .merge(health::router(store.clone(), shutdown.clone()));
    let scrt_router = scrt::router(scrt_state)
        .layer(axum::middleware::from_fn_with_state(
            recording,
            inspector::http::interaction_host,
        ))
        .merge(health::router(store.clone(), shutdown.clone()));
    // The same routers over HTTPS; their answers name the https URLs.
    let https_urls = axum::Extension(PublicUrls {
        login_url: org_file.login_url_https.clone(),
        instance_url: org_file.instance_url_https.clone(),
    });
    let (public_hosts, outside) = advertise.tls_hosts();
    if !outside.is_empty() {
        tracing::warn!(
            hosts = %outside.join(", "),
            "the local CA may only vouch for loopback names, so the TLS certificates leave these public hosts out: a load balancer in front of the Pub/Sub and HTTPS ports must terminate TLS with a certificate of its own (docs/scale-out.md)"
        );
    }
    let tls = https::server_config(
        &ca,
        &[login_https_addr, scrt_https_addr],
        &public_hosts,
        real_clock.as_ref(),
    )?;
    tasks.spawn(serve_https(
        https::TlsListener::spawn(
            listeners.login_https,
            tls.clone(),
            shutdown.clone(),
            "login",
        )?,
        login_router.clone().layer(https_urls.clone()),
        shutdown.clone(),
        gate.clone(),
        "login (HTTPS)",
    ));
    tasks.spawn(serve_https(
        https::TlsListener::spawn(
            listeners.scrt_https,
            tls,
            shutdown.clone(),
            "Interaction API",
        )?,
        scrt_router.clone().layer(https_urls),
        shutdown.clone(),
        gate.clone(),
        "Interaction API (HTTPS)",
    ));
    tasks.spawn(serve_http(
        listeners.login,
        login_router,
        shutdown.clone(),
        gate.clone(),
        "login",
    ));
    tasks.spawn(serve_http(
        listeners.scrt,
        scrt_router,
        shutdown.clone(),
        gate.clone(),
        "Interaction API",
    ));
    let tls = pubsub::tls_identity(&ca, pubsub_addr, &public_hosts, real_clock.as_ref())?;
    let pubsub_listeners = std::iter::once(listeners.pubsub)
        .chain(listeners.pubsub_ipv6_loopback)
        .collect();
    pubsub_host.spawn(pubsub_listeners, tls, &mut tasks);

    // org.json is rewritten with the real addresses before we report ready.
    data.write(
        datadir::ORG_FILE,
        &serde_json::to_string_pretty(&org_file)?,
        true,
    )?;
    if !bootstrap::write_partner_env(&store, &data, &org_file).await?
        && store
            .repo()
            .seed_info()
            .await?
            .is_some_and(|s| s.source.starts_with("project "))
    {
        seed::write_partner_env(&store, &data, &org_file).await?;
    }
    // The org clock: every instance follows moves made through any of them, and rewrites its
    // org.json when the clock moved.
    {
        let (clock, db, stop) = (org_clock.clone(), store.clone(), shutdown.clone());
        supervise::spawn(&mut tasks, "org clock", shutdown.clone(), move || {
            org_clock::follow(clock.clone(), db.clone(), stop.clone())
        });
        let (clock, db, stop, data, file, retention) = (
            org_clock.clone(),
            store.clone(),
            shutdown.clone(),
            data.clone(),
            org_file.clone(),
            config.pubsub.retention,
        );
        supervise::spawn(&mut tasks, "org clock moves", shutdown.clone(), move || {
            org_clock::on_moves(
                clock.clone(),
                db.clone(),
                data.clone(),
                file.clone(),
                retention,
                stop.clone(),
            )
        });
    }
    tracing::info!(login = %org_file.login_url, scrt = %org_file.scrt_url, login_https = %org_file.login_url_https, scrt_https = %org_file.scrt_url_https, pubsub = %org_file.pubsub_endpoint, org = %org_file.org_id, database = store.backend(), "byoc ready");

    Ok(RunningServer {
        org_file,
        data_dir: data.root().to_path_buf(),
        shutdown,
        tasks,
        flushers,
        gate,
        drain_timeout: config.drain_timeout,
        hurry: CancellationToken::new(),
        store,
    })
}

/// What the seed is taken from, in words (`seed_snapshot.source`).
fn seed_source(config: &ServerConfig) -> String {
    match (&config.seed, config.empty) {
        (Some(dir), _) => format!("project {}", dir.display()),
        (None, true) => "empty".into(),
        (None, false) => "sample".into(),
    }
}

/// The JWT `aud` values accepted besides the (public) login URLs: the configured ones (Salesforce's
/// two login URLs when none are), and this instance's own listener URLs when `--public-*` names
/// others, so a client talking to the instance directly is not refused either.
fn audiences(configured: &[String], own: impl Iterator<Item = String>) -> Vec<String> {
    let own: Vec<String> = own.collect();
    if own.is_empty() {
        return configured.to_vec();
    }
    let mut all: Vec<String> = if configured.is_empty() {
        oauth::DEFAULT_AUDIENCES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        configured.to_vec()
    };
    all.extend(own);
    all
}

/// rustls is built with two providers in this workspace (aws-lc-rs here, ring inside reqwest), so
/// the process default must be named; aws-lc-rs is the one byoc's crypto uses. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

async fn serve_http(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    gate: drain::Gate,
    what: &'static str,
) -> anyhow::Result<()> {
    // Outermost, so every route, the fallback and any body-limit layer inside it are covered.
    let router = router
        .layer(axum::middleware::from_fn(keep_alive::finish_request_body))
        .layer(axum::middleware::from_fn_with_state(gate, drain::gate));
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .with_context(|| format!("the {what} host failed"))
}

async fn serve_https(
    listener: https::TlsListener,
    router: Router,
    shutdown: CancellationToken,
    gate: drain::Gate,
    what: &'static str,
) -> anyhow::Result<()> {
    let router = router
        .layer(axum::middleware::from_fn(keep_alive::finish_request_body))
        .layer(axum::middleware::from_fn_with_state(gate, drain::gate));
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .with_context(|| format!("the {what} host failed"))
}
