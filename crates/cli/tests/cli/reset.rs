//! `byoc reset` between two test runs (issue 14, docs/org-as-code.md "Reset"), against real
//! `byoc serve` processes: run 1 leaves conversations, platform events, logins, audit entries,
//! an extra user and app and a changed sample app; the reset (through the admin API or the CLI)
//! leaves no trace of it — run 2 sees none of that, the seed's setup is back, and `partner.env`
//! and run 1's access token still work. A Pub/Sub subscriber connected across the reset keeps
//! receiving, with replay ids still increasing. `--keep-setup` keeps the setup changes. On
//! SQLite (one instance) and on PostgreSQL (two instances: reset through B, A sees it).

use std::sync::Arc;
use std::time::Duration;

use byoc_client::interaction::InteractionClient;
use byoc_client::pubsub::{Replay, StaticToken, Subscriber, Subscription};
use byoc_client::settings::PartnerSettings;
use byoc_client::token::{JwtBearer, StaticAccessToken};
use byoc_client::AdminClient;
use byoc_proto::admin::{AppInput, InspectorQuery, NewUser};
use byoc_proto::files::partner_env as env;
use byoc_proto::oauth::LoginHistoryQuery;

use super::cluster::{start_instance, Cluster, Instance};
use super::{byoc, fails, json, ok};

const SAMPLE_APP: &str = "BYOC Sample App";
const EXTRA_APP: &str = "Run One App";

fn admin(instance: &Instance) -> AdminClient {
    AdminClient::new(&instance.org.login_url, &instance.org.admin_token).expect("admin client")
}

/// `partner.env` of the first instance (the one that set the org up), pointed at `to`.
fn partner(first: &Instance, to: &Instance) -> PartnerSettings {
    let mut s = first.partner_env();
    let org = &to.org;
    s.set(
        env::SF_AUTH_ENDPOINT,
        format!("{}/services/oauth2/token", org.login_url),
    );
    s.set(env::SF_INSTANCE_URL, org.instance_url.clone());
    s.set(env::SF_SCRT_INSTANCE_URL, org.scrt_url.clone());
    s.set(env::SF_PUB_SUB_ENDPOINT, org.pubsub_endpoint.clone());
    s
}

async fn token(settings: &PartnerSettings) -> String {
    JwtBearer::new(settings.jwt_bearer().expect("JWT settings"))
        .expect("key")
        .fetch()
        .await
        .expect("the JWT Bearer exchange with partner.env's settings")
        .access_token
}

/// The end user sends `text`; answers the conversation id.
async fn send(settings: &PartnerSettings, token: &str, text: &str) -> String {
    InteractionClient::new(
        settings.interaction().expect("settings"),
        Arc::new(StaticAccessToken(token.to_string())),
    )
    .expect("client")
    .send_text(
        settings.channel_address().unwrap(),
        settings.end_user().unwrap(),
        text,
    )
    .await
    .expect("the Interaction API takes the message")
    .conversation_identifier
}

/// The next event whose fields carry `text`, within 20 s; its replay id.
async fn heard(subscription: &mut Subscription, text: &str) -> u64 {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let event = subscription
                .next_event()
                .await
                .expect("the subscription keeps working")
                .expect("the stream ended");
            if event.fields.to_string().contains(text) {
                return event.replay_id;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no event carrying {text:?} within 20 s"))
}

async fn subscribe(first: &Instance, to: &Instance, token: &str, replay: Replay) -> Subscription {
    let settings = partner(first, to);
    let ca = std::fs::read_to_string(&to.org.ca_cert).unwrap();
    let topic = settings
        .get(env::SF_PUB_SUB_TOPIC_NAME)
        .unwrap()
        .to_string();
    Subscriber::connect(
        settings.pubsub(Some(ca)).unwrap(),
        Arc::new(StaticToken(token.to_string())),
    )
    .await
    .expect("Pub/Sub connects")
    .subscribe(&topic, replay, 10)
}

/// Run 1 on `a`, reset through `b`, run 2 on `a`: nothing of run 1 is left.
async fn two_runs_with_a_reset_between(a: &Instance, b: &Instance) {
    let settings = partner(a, a);
    let client = admin(a);
    let seed_app = client.external_client_app(SAMPLE_APP).await.unwrap();

    // ---- run 1 -------------------------------------------------------------------------
    let token1 = token(&settings).await;
    // The stream opens at the first read: from the earliest event (the org has none yet).
    let mut live = subscribe(a, a, &token1, Replay::Earliest).await;
    let conversation = send(&settings, &token1, "run 1: hello").await;
    client
        .agent_reply(&conversation, "run 1: agent reply")
        .await
        .unwrap();
    let replay1 = heard(&mut live, "run 1: agent reply").await;
    client
        .create_user(&NewUser {
            username: "run1.user@example.com".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    client
        .create_external_client_app(&AppInput {
            name: Some(EXTRA_APP.into()),
            contact_email: Some("run1@example.com".into()),
            callback_urls: Some(vec!["https://example.com/callback".into()]),
            scopes: Some(vec!["interaction_api".into()]),
            ..AppInput::default()
        })
        .await
        .unwrap();
    client
        .update_external_client_app(
            SAMPLE_APP,
            &AppInput {
                description: Some("changed by run 1".into()),
                ..AppInput::default()
            },
        )
        .await
        .unwrap();
    assert!(!client.conversations(None).await.unwrap().is_empty());
    let logins = client
        .login_history(&LoginHistoryQuery::default())
        .await
        .unwrap();
    assert!(!logins.is_empty(), "run 1 logged in");

    // ---- reset, through b ----------------------------------------------------------------
    let before_reset = chrono::Utc::now().timestamp_millis();
    let outcome = admin(b).reset(false).await.unwrap();
    assert!(!outcome.keep_setup);
    for what in [
        "conversations",
        "conversationEntries",
        "platformEvents",
        "loginHistory",
        "auditTrail",
        "messagingEndUsers",
    ] {
        assert!(
            outcome.removed.get(what).copied().unwrap_or(0) >= 1,
            "{what} removed: {outcome:?}"
        );
    }
    let removed: Vec<&str> = outcome
        .setup_removed
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(removed.contains(&"run1.user@example.com"), "{removed:?}");
    assert!(removed.contains(&EXTRA_APP), "{removed:?}");
    let restored: Vec<&str> = outcome
        .setup_restored
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(restored, [SAMPLE_APP], "{outcome:?}");
    assert_eq!(outcome.seed_source.as_deref(), Some("sample"));

    // ---- run 2, on a: no trace of run 1 ----------------------------------------------------
    assert!(client.conversations(None).await.unwrap().is_empty());
    let err = client.conversation(&conversation).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    let audit = client.audit(None).await.unwrap();
    assert_eq!(audit.len(), 1, "only the reset's own entry: {audit:?}");
    assert!(audit[0].action.starts_with("Reset the org"), "{audit:?}");
    // The login history is flushed in the background: give run 1's last attempts no chance to
    // land after the reset unseen.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logins = client
        .login_history(&LoginHistoryQuery::default())
        .await
        .unwrap();
    assert!(
        logins.iter().all(|l| l.login_time >= before_reset),
        "no login of run 1: {logins:?}"
    );
    // In memory: every instance's request inspector starts over (b reset, a heard it).
    // (The other instance hears of the reset by a change notice: allow it a moment.)
    for instance in [a, b] {
        let mut tries = 0;
        loop {
            let calls = admin(instance)
                .inspector_calls(&InspectorQuery::default())
                .await
                .unwrap();
            if calls.iter().all(|c| c.at >= before_reset) {
                break;
            }
            tries += 1;
            assert!(
                tries < 50,
                "the inspector of {} forgot run 1: {:?}",
                instance.org.login_url,
                calls.iter().map(|c| &c.operation).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The seed's setup is back: run 1's user and app are gone, the sample app as it was.
    let err = client.user("run1.user@example.com").await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    let err = client.external_client_app(EXTRA_APP).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert_eq!(
        client.external_client_app(SAMPLE_APP).await.unwrap(),
        seed_app
    );
    // Run 1's token and partner.env still work; the subscriber connected across the reset
    // keeps receiving, with replay ids going on from where they were.
    let conversation2 = send(&settings, &token1, "run 2: with run 1's token").await;
    assert_ne!(conversation2, conversation, "a new conversation");
    let token2 = token(&settings).await;
    send(&settings, &token2, "run 2: with a new token").await;
    client
        .agent_reply(&conversation2, "run 2: agent reply")
        .await
        .unwrap();
    let replay2 = heard(&mut live, "run 2: agent reply").await;
    assert!(
        replay2 > replay1,
        "replay ids never go back: {replay1} then {replay2}"
    );
    // A new subscriber from the earliest event sees run 2's only.
    let mut fresh = subscribe(a, b, &token2, Replay::Earliest).await;
    let first = tokio::time::timeout(Duration::from_secs(20), fresh.next_event())
        .await
        .expect("an event within 20 s")
        .unwrap()
        .expect("an event");
    assert!(
        first.fields.to_string().contains("run 2: agent reply"),
        "the earliest event is run 2's: {}",
        first.fields
    );
    assert_eq!(first.replay_id, replay2);
    let logins = client
        .login_history(&LoginHistoryQuery::default())
        .await
        .unwrap();
    assert!(
        logins.iter().any(|l| l.login_time >= before_reset),
        "run 2's login is there"
    );
}

/// `GET /console/live` as the admin, logged in through `byoc open --print`'s frontdoor URL.
async fn console_live(data: &std::path::Path, instance: &Instance) -> reqwest::Response {
    let printed = json(&ok(
        &byoc(data, &["open", "--print", "--output", "json"]).await
    ));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http
        .get(printed["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let res = http
        .get(format!("{}/console/live", instance.org.login_url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res
}

/// SQLite, one instance: two runs with `POST /admin/v1/reset` between them; then the CLI's
/// `byoc reset --keep-setup` and `byoc reset`, and who may reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_between_two_runs_leaves_no_trace_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let instance = start_instance(&data, None, &[]).await.unwrap();
    // The console's live stream, open across the reset: it tells the browser to reload.
    let mut live = console_live(&data, &instance).await;
    two_runs_with_a_reset_between(&instance, &instance).await;
    let said = tokio::time::timeout(Duration::from_secs(10), async {
        let mut text = String::new();
        while !text.contains("event: reset") {
            let chunk = live.chunk().await.unwrap().expect("the stream stays open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
    .await
    .expect("the console's live stream said `event: reset` within 10 s");
    assert!(
        said.contains("event: conversation"),
        "run 1 was live: {said}"
    );

    // --keep-setup: conversations and events go, a setup change stays.
    let client = admin(&instance);
    client
        .create_user(&NewUser {
            username: "kept.user@example.com".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    let settings = partner(&instance, &instance);
    send(&settings, &token(&settings).await, "before --keep-setup").await;
    let out = json(&ok(&byoc(
        &data,
        &["reset", "--keep-setup", "--output", "json"],
    )
    .await));
    assert_eq!(out["keepSetup"], true);
    assert!(
        out["removed"]["conversations"].as_u64().unwrap() >= 1,
        "{out}"
    );
    assert_eq!(out["setupRemoved"].as_array().unwrap().len(), 0, "{out}");
    assert!(client.conversations(None).await.unwrap().is_empty());
    client.user("kept.user@example.com").await.unwrap();

    // Who may: a Standard User can't (403, naming the permissions); text output names what went.
    let err = fails(
        &byoc(&data, &["--as", "kept.user@example.com", "reset"]).await,
        1,
    );
    assert!(err.contains("Modify All Data"), "{err}");
    send(&settings, &token(&settings).await, "before byoc reset").await;
    let text = ok(&byoc(&data, &["reset"]).await);
    assert!(text.contains("Reset the org to its seed (sample"), "{text}");
    assert!(text.contains("conversations"), "{text}");
    assert!(text.contains("kept.user@example.com"), "{text}");
    let err = client.user("kept.user@example.com").await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
}

/// PostgreSQL, two instances: run 1 on A, reset through B, run 2 on A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_through_one_instance_is_seen_by_the_other_on_postgres() {
    let Some(cluster) = Cluster::start("reset two instances", 2, &[]).await else {
        return;
    };
    two_runs_with_a_reset_between(cluster.get(0), cluster.get(1)).await;
}

/// The metadata files of a DX project dir, by relative path.
fn project_files(root: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    fn walk(
        root: &std::path::Path,
        dir: &std::path::Path,
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.to_string_lossy().ends_with("-meta.xml") {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                out.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// `byoc serve --seed project` on `data`, expected to stop by itself (a broken project).
async fn serve_once(data: &std::path::Path, project: &std::path::Path) -> std::process::Output {
    let run = tokio::process::Command::new(super::BYOC)
        .arg("--data-dir")
        .arg(data)
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
            "--seed",
        ])
        .arg(project)
        .env_remove("DATABASE_URL")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("a broken project stops the start at once")
        .unwrap()
}

/// `serve --seed DIR`: a project retrieved from the sample org (with the private key of its
/// app's certificate kept in the project, as `sf`'s JWT tutorials keep `server.key`) builds a
/// fresh org; a broken project stops the start with every problem and leaves nothing behind;
/// `byoc reset` returns the seeded org to the project's setup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_seed_builds_the_org_from_a_project_and_reset_returns_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = start_instance(&tmp.path().join("sample"), None, &[])
        .await
        .unwrap();
    let project = tmp.path().join("project");
    ok(&byoc(
        &sample.data_dir,
        &["metadata", "retrieve", "--out", project.to_str().unwrap()],
    )
    .await);
    std::fs::create_dir_all(project.join("keys")).unwrap();
    std::fs::copy(
        sample.data_dir.join("server.key"),
        project.join("keys/server.key"),
    )
    .unwrap();
    let files = project_files(&project);
    assert!(!files.is_empty(), "the sample org retrieves as a project");
    drop(sample);

    // A broken project: two problems, both named; the start fails and leaves no org.
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for (path, text) in &files {
        let target = bad.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    std::fs::copy(
        project.join("sfdx-project.json"),
        bad.join("sfdx-project.json"),
    )
    .unwrap();
    let broken: Vec<&String> = files.keys().take(2).collect();
    for path in &broken {
        std::fs::write(bad.join(path), "<?xml version=\"1.0\"?>\n<Broken>\n").unwrap();
    }
    let seeded_dir = tmp.path().join("seeded");
    let out = serve_once(&seeded_dir, &bad).await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "a broken project stops the start:\n{err}"
    );
    for path in &broken {
        let name = std::path::Path::new(path.as_str())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(err.contains(&name), "{name} named in:\n{err}");
    }
    assert!(!seeded_dir.join("org.json").exists(), "no org was made");
    // A problem across components (the CCD names an event the project doesn't define) is found
    // before the org exists too.
    let no_event = tmp.path().join("no-event");
    for (path, text) in files.iter().filter(|(p, _)| !p.contains("/objects/")) {
        let target = no_event.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    std::fs::copy(
        project.join("sfdx-project.json"),
        no_event.join("sfdx-project.json"),
    )
    .unwrap();
    let out = serve_once(&seeded_dir, &no_event).await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("Byoc_Outbound__e"), "{err}");
    assert!(!seeded_dir.join("org.json").exists(), "no org was made");

    // The good project on the same data dir: the org is the project's.
    let seeded = start_instance(&seeded_dir, None, &["--seed", project.to_str().unwrap()])
        .await
        .unwrap();
    assert!(
        !seeded_dir.join("server.key").exists(),
        "no sample setup in a seeded org"
    );
    let client = admin(&seeded);
    let seed_app = client.external_client_app(SAMPLE_APP).await.unwrap();
    let again = tmp.path().join("again");
    ok(&byoc(
        &seeded_dir,
        &["metadata", "retrieve", "--out", again.to_str().unwrap()],
    )
    .await);
    assert_eq!(
        project_files(&again),
        files,
        "the seeded org retrieves as the project"
    );

    // partner.env from the project's channel, CCD and app, with the key the project held: a
    // connector configured by it gets a token and sends a message.
    let env_text = std::fs::read_to_string(seeded_dir.join("partner.env")).unwrap();
    assert!(env_text.contains("SF_PRIVATE_KEY="), "{env_text}");
    assert!(
        env_text.contains(&seed_app.oauth.consumer_key),
        "{env_text}"
    );
    let settings = partner(&seeded, &seeded);
    let token1 = token(&settings).await;
    send(&settings, &token1, "hello to the seeded org").await;

    // byoc reset returns to the project's setup.
    client
        .create_user(&NewUser {
            username: "after.seed@example.com".into(),
            email: None,
            profile: "Standard User".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    let out = json(&ok(&byoc(&seeded_dir, &["reset", "--output", "json"]).await));
    assert!(
        out["seedSource"].as_str().unwrap().starts_with("project "),
        "{out}"
    );
    assert!(
        out["removed"]["conversations"].as_u64().unwrap() >= 1,
        "{out}"
    );
    let err = client.user("after.seed@example.com").await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert_eq!(
        client.external_client_app(SAMPLE_APP).await.unwrap(),
        seed_app
    );
    send(&settings, &token1, "hello again after the reset").await;

    // A later start ignores --seed (first start only): the org stays as it is.
    drop(seeded);
    let restarted = start_instance(&seeded_dir, None, &["--seed", bad.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(
        admin(&restarted)
            .external_client_app(SAMPLE_APP)
            .await
            .unwrap(),
        seed_app
    );
}
