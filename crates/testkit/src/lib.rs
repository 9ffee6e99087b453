//! Spawn a real byoc server for tests: all three hosts on port 0 of 127.0.0.1, a temporary data
//! dir, SQLite by default or a fresh PostgreSQL database, and an admin client ready to use.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let server = byoc_testkit::TestServer::start().await?;
//! let org = server.admin().org().await?;
//! server.stop().await?;
//! # Ok(()) }
//! ```

pub mod proxy;

use std::path::{Path, PathBuf};

use byoc_client::AdminClient;
use byoc_proto::files::OrgFile;
use byoc_server::{Listeners, RunningServer, ServerConfig};

/// Options for [`TestServer::start_with`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `None`: SQLite in the data dir.
    pub database_url: Option<String>,
    /// Skip the sample setup.
    pub empty: bool,
    /// Reuse this data dir instead of a new temporary one (to test restarts).
    pub data_dir: Option<PathBuf>,
    /// Serve the token endpoint in `--strict` mode.
    pub strict: bool,
    /// Pub/Sub host settings (keepalive interval, ...).
    pub pubsub: byoc_server::pubsub::PubSubConfig,
}

/// One server per backend, each started with `options`: SQLite always, and PostgreSQL (a fresh
/// database) when [`byoc_store::testing::postgres_url`] finds a server. Suites run their checks
/// on every server returned, so the backends cannot drift.
pub async fn on_every_backend(label: &str, options: Options) -> anyhow::Result<Vec<TestServer>> {
    let mut out = vec![TestServer::start_with(options.clone()).await?];
    if let Some(url) = byoc_store::testing::postgres_url(label).await {
        out.push(
            TestServer::start_with(Options {
                database_url: Some(url),
                ..options
            })
            .await?,
        );
    }
    Ok(out)
}

pub struct TestServer {
    server: Option<RunningServer>,
    org: OrgFile,
    data_dir: PathBuf,
    database_url: Option<String>,
    strict: bool,
    pubsub: byoc_server::pubsub::PubSubConfig,
    // Kept so the directory lives as long as the server.
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A server with the sample setup on SQLite.
    pub async fn start() -> anyhow::Result<TestServer> {
        TestServer::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> anyhow::Result<TestServer> {
        let (temp, data_dir) = match options.data_dir {
            Some(dir) => (None, dir),
            None => {
                let t = tempfile::tempdir()?;
                let p = t.path().join("data");
                (Some(t), p)
            }
        };
        let any = "127.0.0.1:0".parse()?;
        let listeners = Listeners::bind_all(any, any, any, any, any).await?;
        let server = byoc_server::start(
            listeners,
            ServerConfig {
                data_dir: data_dir.clone(),
                database_url: options.database_url.clone(),
                empty: options.empty,
                strict: options.strict,
                accepted_audiences: Vec::new(),
                pubsub: options.pubsub.clone(),
                drain_timeout: byoc_server::DEFAULT_DRAIN_TIMEOUT,
                advertise: Default::default(),
                seed: None,
                allow_clock_control: false,
            },
        )
        .await?;
        let org = server.org_file().clone();
        Ok(TestServer {
            server: Some(server),
            org,
            data_dir,
            database_url: options.database_url,
            strict: options.strict,
            pubsub: options.pubsub,
            _temp: temp,
        })
    }

    pub fn org(&self) -> &OrgFile {
        &self.org
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The running server's store handle (`None` once stopped).
    pub fn store(&self) -> Option<&byoc_store::Store> {
        self.server.as_ref().map(|s| s.store())
    }

    /// `sqlite` or `postgres`, for messages.
    pub fn backend(&self) -> &'static str {
        if self.database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// An admin API client acting as the bootstrap admin.
    pub fn admin(&self) -> AdminClient {
        // The URL comes from org.json, which the server just wrote; it is always valid.
        AdminClient::new(&self.org.login_url, &self.org.admin_token)
            .unwrap_or_else(|e| panic!("admin client: {e}"))
    }

    /// Stop gracefully, keeping the data dir (and its temporary parent) for a restart.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(s) = self.server.take() {
            s.shutdown().await?;
        }
        Ok(())
    }

    /// Stop, then start again on the same data dir and database (new ports).
    pub async fn restart(mut self) -> anyhow::Result<TestServer> {
        if let Some(s) = self.server.take() {
            s.shutdown().await?;
        }
        let temp = self._temp.take();
        let mut again = TestServer::start_with(Options {
            database_url: self.database_url.clone(),
            empty: true,
            data_dir: Some(self.data_dir.clone()),
            strict: self.strict,
            pubsub: self.pubsub.clone(),
        })
        .await?;
        again._temp = temp;
        Ok(again)
    }
}
