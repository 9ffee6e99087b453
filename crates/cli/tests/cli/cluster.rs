//! Several real `byoc serve` processes on one PostgreSQL database (issue 13): the harness the
//! multi-instance, lifecycle, database-fault and scale-out tests share.
//!
//! [`Cluster::start`] creates a fresh database ([`byoc_store::testing::postgres_url`]; `None`
//! and a printed SKIPPED line when there is no PostgreSQL and it is not required), then starts
//! the first instance (which bootstraps the org and the sample setup) and the others one after
//! another, each with its own data dir and free ports. The first instance's data dir holds the
//! sample key pair and `partner.env`.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use byoc_client::settings::PartnerSettings;
use byoc_proto::files::OrgFile;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::BYOC;

/// One running `byoc serve` process.
pub struct Instance {
    pub child: tokio::process::Child,
    pub org: OrgFile,
    pub data_dir: PathBuf,
    /// The extra `serve` arguments it was started with (kept for [`Cluster::restart`]).
    pub args: Vec<String>,
}

impl Instance {
    /// The partner settings of this instance's data dir (only the first instance has them).
    pub fn partner_env(&self) -> PartnerSettings {
        PartnerSettings::from_env_file(self.data_dir.join("partner.env")).expect("partner.env")
    }

    /// The process id (for `kill -9`).
    pub fn pid(&self) -> i32 {
        self.child.id().expect("running") as i32
    }
}

/// Start `byoc serve` on free ports with `data_dir`, `database_url` (None: SQLite in the data
/// dir) and `extra` serve arguments; wait (up to 60 s) for its ready line.
pub async fn start_instance(
    data_dir: &Path,
    database_url: Option<&str>,
    extra: &[&str],
) -> anyhow::Result<Instance> {
    let mut cmd = tokio::process::Command::new(BYOC);
    cmd.args(["--output", "json", "--data-dir"])
        .arg(data_dir)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--scrt-listen",
            "127.0.0.1:0",
            "--pubsub-listen",
            "127.0.0.1:0",
            "--https-listen",
            "127.0.0.1:0",
            "--scrt-https-listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env_remove("DATABASE_URL")
        .env(
            "BYOC_LOG",
            std::env::var("BYOC_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .map_err(|_| anyhow::anyhow!("byoc serve did not become ready in 60 s"))??
        .ok_or_else(|| anyhow::anyhow!("byoc serve exited before its ready line"))?;
    // Keep reading stdout so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let ready: Value = serde_json::from_str(&line)?;
    let org_file = ready["org_file"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the ready line names no org.json: {line}"))?;
    let org: OrgFile = serde_json::from_str(&std::fs::read_to_string(org_file)?)?;
    Ok(Instance {
        child,
        org,
        data_dir: data_dir.to_path_buf(),
        args: extra.iter().map(|s| s.to_string()).collect(),
    })
}

/// An Interaction API request body: one text message `text` from end user `from` to channel
/// address `to`, entry id `entry_id` (the form part `json` of `POST /api/v1/interactions`).
pub fn text_interaction(to: &str, from: &str, entry_id: &str, text: &str) -> Value {
    serde_json::json!({
        "to": to,
        "from": from,
        "interactions": [{
            "timestamp": 1_700_000_000_000i64,
            "interactionType": "EntryInteraction",
            "payload": {
                "id": entry_id,
                "entryType": "Message",
                "abstractMessage": {
                    "messageType": "StaticContentMessage",
                    "id": entry_id,
                    "staticContent": {"formatType": "Text", "text": text}
                }
            }
        }]
    })
}

/// N instances on one fresh PostgreSQL database.
pub struct Cluster {
    pub database_url: String,
    pub instances: Vec<Instance>,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// `n` instances, each started with `extra` serve arguments. `None` when PostgreSQL is not
    /// reachable (and `BYOC_REQUIRE_POSTGRES` is not 1): the caller returns, the skip is printed.
    pub async fn start(label: &str, n: usize, extra: &[&str]) -> Option<Cluster> {
        let database_url = byoc_store::testing::postgres_url(label).await?;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut instances = Vec::with_capacity(n);
        for i in 0..n {
            let data = dir.path().join(format!("instance-{i}"));
            instances.push(
                start_instance(&data, Some(&database_url), extra)
                    .await
                    .unwrap_or_else(|e| panic!("instance {i} of {label}: {e:#}")),
            );
        }
        Some(Cluster {
            database_url,
            instances,
            dir,
        })
    }

    pub fn get(&self, i: usize) -> &Instance {
        &self.instances[i]
    }

    /// `kill -9` instance `i` and reap it.
    pub async fn kill9(&mut self, i: usize) {
        let child = &mut self.instances[i].child;
        child.start_kill().expect("SIGKILL");
        let _ = child.wait().await;
    }

    /// SIGTERM instance `i`; its exit status once it stopped, or an error after `deadline`.
    pub async fn stop(
        &mut self,
        i: usize,
        deadline: Duration,
    ) -> anyhow::Result<std::process::ExitStatus> {
        let child = &mut self.instances[i].child;
        let pid = child
            .id()
            .ok_or_else(|| anyhow::anyhow!("already stopped"))?;
        // SAFETY-free: `kill(1)` rather than libc, so the tests need no unsafe code.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        Ok(tokio::time::timeout(deadline, child.wait()).await??)
    }

    /// Start instance `i` again on its data dir and the same database (after a stop or kill).
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        let (data, args) = (
            self.instances[i].data_dir.clone(),
            self.instances[i].args.clone(),
        );
        let extra: Vec<&str> = args.iter().map(String::as_str).collect();
        self.instances[i] = start_instance(&data, Some(&self.database_url), &extra).await?;
        Ok(())
    }
}

impl Cluster {
    /// Send SIGTERM to instance `i` and return at once (the drain runs while the caller acts);
    /// [`Cluster::wait`] reaps it.
    pub fn term(&self, i: usize) -> anyhow::Result<()> {
        let pid = self.instances[i].pid();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        Ok(())
    }

    /// Wait for instance `i` to exit; an error after `deadline`.
    pub async fn wait(
        &mut self,
        i: usize,
        deadline: Duration,
    ) -> anyhow::Result<std::process::ExitStatus> {
        Ok(tokio::time::timeout(deadline, self.instances[i].child.wait()).await??)
    }

    /// Both instances' CA certificates in one PEM (each instance has its own local CA until
    /// the CA lives in the database; a client of several instances trusts them all).
    pub fn ca_bundle(&self) -> String {
        let mut pems = Vec::new();
        for instance in &self.instances {
            let pem = std::fs::read_to_string(&instance.org.ca_cert).expect("ca.crt");
            if !pems.contains(&pem) {
                pems.push(pem);
            }
        }
        pems.concat()
    }
}
