//! A way to run several instances (issue 13, item 6): `scripts/scale-out` starts three real
//! `byoc serve` processes on one PostgreSQL database behind HAProxy, and the partner toolkit
//! (`byoc doctor`, `send`, `listen`) works through the balancer; instances starting at once
//! agree on one local CA (it lives in the database); `--public-*` values are checked.
//!
//! The HAProxy test is skipped with a printed SKIPPED line when `haproxy` is not installed,
//! unless `BYOC_REQUIRE_HAPROXY=1` (CI sets it).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::cluster::start_instance;
use super::{fails, json, ok, partner_cmd, BYOC};

/// Whether HAProxy can run here; panics when it cannot but `BYOC_REQUIRE_HAPROXY=1`.
fn haproxy_available(test: &str) -> bool {
    let found = std::process::Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("BYOC_REQUIRE_HAPROXY").as_deref() != Ok("1"),
            "BYOC_REQUIRE_HAPROXY=1 but haproxy is not installed (apt-get install haproxy)"
        );
        eprintln!("SKIPPED (haproxy): {test}: haproxy is not installed (apt-get install haproxy)");
    }
    found
}

/// `n` ports that were free a moment ago (bound to port 0, then released).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

/// The running script; dropping it (a failed assertion) stops it with SIGTERM, so its instances
/// and HAProxy stop too rather than outliving the test.
struct ScaleOut {
    child: tokio::process::Child,
}

impl ScaleOut {
    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGTERM, then its exit status (within `deadline`).
    async fn stop(mut self, deadline: Duration) -> std::process::ExitStatus {
        let pid = self.pid().expect("running");
        sigterm(pid);
        tokio::time::timeout(deadline, self.child.wait())
            .await
            .expect("scripts/scale-out stopped within the deadline")
            .expect("wait")
    }
}

impl Drop for ScaleOut {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            sigterm(pid);
            for _ in 0..300 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn sigterm(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

/// `show stat` on HAProxy's stats socket: for `backend`, how many requests or connections each
/// server (instance) took.
fn sessions_per_instance(socket: &Path, backend: &str) -> Vec<(String, u64)> {
    stat(socket, backend, "stot")
        .into_iter()
        .map(|(server, n)| (server, n.parse().unwrap_or(0)))
        .collect()
}

/// Column `column` of `show stat` for each server (instance) of `backend`.
fn stat(socket: &Path, backend: &str, column: &str) -> Vec<(String, String)> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("stats socket");
    stream.write_all(b"show stat\n").expect("write");
    let mut csv = String::new();
    stream.read_to_string(&mut csv).expect("read");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("a header")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let at = header.iter().position(|h| *h == column).expect(column);
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > at && f[0] == backend && f[1].starts_with('i'))
        .map(|f| (f[1].to_string(), f[at].to_string()))
        .collect()
}

#[track_caller]
fn served_by_several(socket: &Path, backend: &str) -> Vec<(String, u64)> {
    let counts = sessions_per_instance(socket, backend);
    assert_eq!(counts.len(), 3, "{backend}: {counts:?}");
    let busy = counts.iter().filter(|(_, n)| *n > 0).count();
    assert!(
        busy >= 2,
        "{backend}: requests landed on {busy} instance(s) only: {counts:?}"
    );
    counts
}

/// scripts/scale-out as a new user runs it: three instances behind HAProxy; doctor, send,
/// an agent reply and listen through the balancer; requests spread over the instances; one CA
/// for all; Ctrl-C (SIGTERM) stops everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_toolkit_works_through_haproxy_in_front_of_three_instances() {
    let test = "the_partner_toolkit_works_through_haproxy_in_front_of_three_instances";
    if !haproxy_available(test) {
        return;
    }
    let Some(database_url) = byoc_store::testing::postgres_url("scale out").await else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("lb");
    let ports = free_ports(5);
    let (login, scrt, pubsub, https, scrt_https) =
        (ports[0], ports[1], ports[2], ports[3], ports[4]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/scale-out");
    let mut child = tokio::process::Command::new("bash")
        .arg(&script)
        .arg("--dir")
        .arg(&dir)
        .args(["--database-url", &database_url, "--byoc", BYOC])
        .args(["--login-port", &login.to_string()])
        .args(["--scrt-port", &scrt.to_string()])
        .args(["--pubsub-port", &pubsub.to_string()])
        .args(["--https-port", &https.to_string()])
        .args(["--scrt-https-port", &scrt_https.to_string()])
        .env("BYOC_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("run scripts/scale-out");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let lb = ScaleOut { child };
    let mut printed = String::new();
    tokio::time::timeout(Duration::from_secs(180), async {
        while let Some(line) = lines.next_line().await.expect("stdout") {
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with("scale-out is ready") {
                return;
            }
        }
        panic!("scripts/scale-out ended before it was ready:\n{printed}");
    })
    .await
    .unwrap_or_else(|_| panic!("scripts/scale-out not ready in 180 s:\n{printed}"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    for expected in [
        format!("http://127.0.0.1:{login}"),
        format!("127.0.0.1:{pubsub}"),
        "instance-3".to_string(),
        "haproxy".to_string(),
    ] {
        assert!(printed.contains(&expected), "{expected} in:\n{printed}");
    }

    // Every instance passes its health check (GET /ready answered 200: L7OK) on every backend
    // (checks run every second; a few seconds is generous).
    let socket = dir.join("haproxy.sock");
    for backend in ["login", "scrt", "pubsub", "login_https", "scrt_https"] {
        let mut checks = Vec::new();
        for _ in 0..100 {
            checks = stat(&socket, backend, "check_status");
            if checks.len() == 3 && checks.iter().all(|(_, s)| s == "L7OK") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            checks.len() == 3 && checks.iter().all(|(_, s)| s == "L7OK"),
            "{backend}: {checks:?}"
        );
    }

    // The balancer's files name the balancer.
    let org: Value = json(&std::fs::read_to_string(dir.join("org.json")).unwrap());
    assert_eq!(org["login_url"], format!("http://127.0.0.1:{login}"));
    assert_eq!(org["scrt_url"], format!("http://127.0.0.1:{scrt}"));
    assert_eq!(org["pubsub_endpoint"], format!("127.0.0.1:{pubsub}"));
    assert_eq!(org["login_url_https"], format!("https://127.0.0.1:{https}"));
    assert_eq!(
        org["scrt_url_https"],
        format!("https://127.0.0.1:{scrt_https}")
    );
    assert_eq!(org["ca_cert"], dir.join("ca.crt").display().to_string());
    let env = std::fs::read_to_string(dir.join("partner.env")).unwrap();
    assert!(
        env.contains(&format!(
            "SF_AUTH_ENDPOINT=\"http://127.0.0.1:{login}/services/oauth2/token\""
        )) && env.contains(&format!("SF_PUB_SUB_ENDPOINT=\"127.0.0.1:{pubsub}\"")),
        "{env}"
    );

    // One CA for all three instances, from the database: the data dirs hold copies, no key.
    let ca = std::fs::read_to_string(dir.join("ca.crt")).unwrap();
    for n in 1..=3 {
        let data = dir.join(format!("instance-{n}"));
        assert_eq!(std::fs::read_to_string(data.join("ca.crt")).unwrap(), ca);
        assert!(!data.join("ca.key").exists());
    }

    // The partner toolkit through the balancer.
    let doctor = ok(&partner_cmd(&dir, &["doctor"]).await);
    assert!(doctor.contains("All checks passed"), "{doctor}");
    let token = json(&ok(&partner_cmd(&dir, &["token", "--output", "json"]).await));
    assert_eq!(
        token["instance_url"],
        format!("http://127.0.0.1:{login}"),
        "{token}"
    );
    // A SOAP login through the balancer: serverUrl names the balancer, whichever instance
    // answered.
    let soap = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{login}/services/Soap/u/68.0"))
        .header("content-type", "text/xml; charset=UTF-8")
        .header("SOAPAction", "login")
        .body(format!(
            r#"<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>
<n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>{}</n1:username><n1:password>{}</n1:password></n1:login>
</env:Body></env:Envelope>"#,
            org["admin_username"].as_str().unwrap(),
            org["admin_password"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(soap.status(), 200);
    let soap = soap.text().await.unwrap();
    assert!(
        soap.contains(&format!(
            "<serverUrl>http://127.0.0.1:{login}/services/Soap/u/68.0/"
        )),
        "{soap}"
    );
    let sent = json(&ok(&partner_cmd(
        &dir,
        &[
            "send",
            "--text",
            "Hello through the balancer",
            "--output",
            "json",
        ],
    )
    .await));
    let conversation = sent["conversationIdentifier"].as_str().unwrap().to_string();
    ok(&partner_cmd(
        &dir,
        &[
            "agent",
            "reply",
            "--conversation",
            &conversation,
            "--text",
            "Answered by one of three",
        ],
    )
    .await);
    let heard = ok(&partner_cmd(
        &dir,
        &[
            "listen",
            "--replay",
            "earliest",
            "--count",
            "1",
            "--timeout",
            "30",
            "--output",
            "json",
        ],
    )
    .await);
    let event = json(heard.lines().next().unwrap());
    assert_eq!(
        event["interactionEvent"]["conversationIdentifier"],
        conversation.as_str()
    );

    // HTTPS through the balancer (TLS passed through): each new connection may reach another
    // instance, and every one presents a certificate from the one CA.
    for _ in 0..4 {
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
            .build()
            .unwrap();
        let r = client
            .get(format!("https://127.0.0.1:{https}/services/data/"))
            .send()
            .await
            .expect("HTTPS through the balancer");
        assert_eq!(r.status(), 200);
    }
    // A few more plain requests, so that round robin has gone around.
    let http = reqwest::Client::new();
    for _ in 0..4 {
        let r = http
            .get(format!("http://127.0.0.1:{login}/services/data/"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    // The balancer's own count: requests landed on more than one instance.
    let login_counts = served_by_several(&socket, "login");
    let scrt_counts = served_by_several(&socket, "scrt");
    let https_counts = served_by_several(&socket, "login_https");
    eprintln!("sessions per instance: login {login_counts:?}, scrt {scrt_counts:?}, login_https {https_counts:?}, pubsub {:?}", sessions_per_instance(&socket, "pubsub"));

    // Ctrl-C (SIGTERM): everything stops, the balancer's port is closed.
    let status = lb.stop(Duration::from_secs(60)).await;
    assert!(status.success(), "{status:?}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", login)).is_err(),
        "the balancer still listens"
    );
}

/// Two instances starting at the same moment on a fresh database agree on one local CA: the
/// certificate each copies into its data dir is the same, and each one's Pub/Sub TLS chains to
/// the other's copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_starting_at_once_agree_on_one_ca() {
    let Some(url) = byoc_store::testing::postgres_url("one CA").await else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let (a, b) = (temp.path().join("a"), temp.path().join("b"));
    let (a, b) = tokio::join!(
        start_instance(&a, Some(&url), &[]),
        start_instance(&b, Some(&url), &[])
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let ca_a = std::fs::read_to_string(a.data_dir.join("ca.crt")).unwrap();
    let ca_b = std::fs::read_to_string(b.data_dir.join("ca.crt")).unwrap();
    assert_eq!(ca_a, ca_b);
    for (instance, other_ca) in [(&a, &ca_b), (&b, &ca_a)] {
        assert!(!instance.data_dir.join("ca.key").exists());
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(other_ca.as_bytes()).unwrap())
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let resp = http
            .post(format!(
                "https://{}/eventbus.v1.PubSub/GetTopic",
                instance.org.pubsub_endpoint
            ))
            .header("content-type", "application/grpc")
            .body(vec![0u8; 5])
            .send()
            .await
            .expect("TLS handshake with the shared CA");
        assert!(resp.headers().contains_key("grpc-status"));
    }
}

/// `--public-*`: what an instance names when set (org.json, partner.env, the token response on
/// its plain listener), and a clear usage error (exit 2, the flag named) for what is not a URL
/// with a scheme and a host, or HOST:PORT for Pub/Sub.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_urls_are_named_everywhere_and_checked() {
    let temp = tempfile::tempdir().unwrap();
    for (flag, bad, expected) in [
        (
            "--public-login-url",
            "lb.example:6101",
            "--public-login-url",
        ),
        (
            "--public-scrt-url",
            "http://lb.example/scrt",
            "only scheme, host and port",
        ),
        (
            "--public-pubsub-endpoint",
            "https://lb.example:7443",
            "HOST:PORT",
        ),
        ("--public-pubsub-endpoint", "lb.example", "HOST:PORT"),
        (
            "--public-login-https-url",
            "http://lb.example:6102",
            "https",
        ),
    ] {
        let out = tokio::process::Command::new(BYOC)
            .arg("--data-dir")
            .arg(temp.path().join("refused"))
            .args(["serve", "--listen", "127.0.0.1:0", flag, bad])
            .env_remove("DATABASE_URL")
            .output()
            .await
            .unwrap();
        let err = fails(&out, 2);
        assert!(
            err.contains(flag) && err.contains(expected),
            "{flag} {bad}: {err}"
        );
    }

    // SQLite is enough to see what one instance names.
    let data = temp.path().join("named");
    let instance = start_instance(
        &data,
        None,
        &[
            "--public-login-url",
            "http://localhost:16101/",
            "--public-scrt-url",
            "http://localhost:18085",
            "--public-pubsub-endpoint",
            "byoc.localhost:17443",
            "--public-login-https-url",
            "https://localhost:16102",
            "--public-scrt-https-url",
            "https://localhost:18086",
        ],
    )
    .await
    .unwrap();
    let org = &instance.org;
    assert_eq!(org.login_url, "http://localhost:16101");
    assert_eq!(org.instance_url, "http://localhost:16101");
    assert_eq!(org.scrt_url, "http://localhost:18085");
    assert_eq!(org.pubsub_endpoint, "byoc.localhost:17443");
    assert_eq!(org.login_url_https, "https://localhost:16102");
    assert_eq!(org.instance_url_https, "https://localhost:16102");
    assert_eq!(org.scrt_url_https, "https://localhost:18086");
    let env = instance.partner_env();
    assert_eq!(
        env.get("SF_AUTH_ENDPOINT"),
        Some("http://localhost:16101/services/oauth2/token")
    );
    assert_eq!(env.get("SF_INSTANCE_URL"), Some("http://localhost:16101"));
    assert_eq!(env.get("SF_PUB_SUB_ENDPOINT"), Some("byoc.localhost:17443"));
}
