//! Issue 14's "done when", tried as a new user would with the repo's example DX project
//! (`examples/acme-connector`: an External Client App with a certificate, JWT Bearer and an
//! admin-approved policy for System Administrator; a custom platform event `Acme_Outbound__e`
//! with two fields; a CCD naming them; a BYOC channel), against real `byoc serve` processes:
//!
//! - it deploys into a fresh (`--empty`) org; a connector configured with those names sends a
//!   message and receives the agent's reply decoded with the custom fields; retrieve gives the
//!   same files back; moving the org clock past the certificate's expiry makes the next token
//!   request fail with Salesforce's error, and `byoc clock real` makes it work again;
//! - `serve --seed` builds the org from it, and `byoc reset` between two test runs leaves no
//!   trace of the first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use byoc_proto::files::OrgFile;

use super::cluster::start_instance;
use super::{byoc, json, ok, stderr, BYOC};

/// The example project, from the repo.
fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme-connector")
}

/// Every file under `dir` except the connector's key pair (`keys/`), relative path → contents.
fn project_files(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            if rel == "keys" || rel == "README.md" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read_to_string(&path).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The consumer key the project's global OAuth settings carry (what the connector is given).
fn consumer_key(dir: &Path) -> String {
    let file = dir.join(
        "force-app/main/default/extlClntAppGlobalOauthSets/Acme_Connector_glbloauth.ecaGlblOauth-meta.xml",
    );
    let xml = std::fs::read_to_string(file).expect("global OAuth settings");
    let start = xml.find("<consumerKey>").expect("consumerKey") + "<consumerKey>".len();
    let end = xml[start..].find('<').expect("end of consumerKey") + start;
    xml[start..end].to_string()
}

/// A connector's settings for the example's names, pointed at `org`: the partner.env variables
/// Salesforce's public BYOC samples read.
fn connector_env(org: &OrgFile, dir: &Path, path: &Path) {
    let key = std::fs::read_to_string(example().join("keys/server.key")).expect("example key");
    let key = key.trim().replace('\n', "\\n");
    let env = format!(
        "SF_CONSUMER_KEY={consumer_key}\n\
         SF_PRIVATE_KEY=\"{key}\"\n\
         SF_AUDIENCE=https://login.salesforce.com\n\
         SF_SUBJECT={subject}\n\
         SF_AUTH_ENDPOINT={login}/services/oauth2/token\n\
         SF_INSTANCE_URL={instance}\n\
         SF_SCRT_INSTANCE_URL={scrt}\n\
         SF_PUB_SUB_ENDPOINT={pubsub}\n\
         SF_PUB_SUB_TOPIC_NAME=/event/Acme_Outbound__e\n\
         SF_ORG_ID={org_id}\n\
         SF_AUTHORIZATION_CONTEXT=Acme_Channel\n\
         CHANNEL_ADDRESS_IDENTIFIER=acme-support\n\
         END_USER_CLIENT_IDENTIFIER=customer-1\n\
         SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD=Acme_Payload__c\n\
         SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD=Acme_Kind__c\n",
        consumer_key = consumer_key(dir),
        subject = org.admin_username,
        login = org.login_url,
        instance = org.instance_url,
        scrt = org.scrt_url,
        pubsub = org.pubsub_endpoint,
        org_id = org.org_id,
    );
    std::fs::write(path, env).expect("write the connector's env file");
}

/// One round as the connector: subscribe, send as the end user, the agent replies; answers the
/// subscriber's output and the conversation id.
async fn round_trip(data: &Path, env: &Path, text: &str, reply: &str) -> (String, String) {
    let env = env.to_str().expect("utf-8 path");
    let listener = tokio::process::Command::new(BYOC)
        .arg("--data-dir")
        .arg(data)
        .args([
            "listen",
            "--env-file",
            env,
            "--count",
            "1",
            "--timeout",
            "60",
            // From the topic's start: the first event is this round's reply whenever the
            // subscription is made (after a reset, EARLIEST starts after it), so no race with
            // the publish, and a reply of an earlier run that survived a reset would show.
            "--replay",
            "earliest",
        ])
        .env_remove("BYOC_URL")
        .env_remove("BYOC_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("byoc listen");
    let sent = json(&ok(&byoc(
        data,
        &[
            "--output",
            "json",
            "send",
            "--env-file",
            env,
            "--text",
            text,
        ],
    )
    .await));
    let conversation = sent["conversationIdentifier"]
        .as_str()
        .unwrap_or_else(|| panic!("no conversation id in {sent}"))
        .to_string();
    ok(&byoc(
        data,
        &[
            "agent",
            "reply",
            "--conversation",
            &conversation,
            "--text",
            reply,
        ],
    )
    .await);
    let out = tokio::time::timeout(Duration::from_secs(90), listener.wait_with_output())
        .await
        .expect("byoc listen ends after one event")
        .expect("byoc listen output");
    assert!(
        out.status.success(),
        "byoc listen failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        conversation,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_project_deploys_talks_round_trips_and_its_certificate_expires_by_the_org_clock(
) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("org");
    let server = start_instance(&data, None, &["--empty", "--allow-clock-control"])
        .await
        .expect("byoc serve --empty");

    // The user's copy of the project.
    let source = tmp.path().join("acme-connector");
    for (rel, contents) in project_files(&example()) {
        let path = source.join(&rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("copy the example");
    }

    // A dry run changes nothing; the deploy creates every component.
    let src = source.to_str().expect("utf-8");
    let dry = ok(&byoc(&data, &["metadata", "deploy", "--source", src, "--dry-run"]).await);
    assert!(dry.contains("nothing was changed"), "{dry}");
    let apps = json(&ok(&byoc(
        &data,
        &["--output", "json", "setup", "eca", "list"],
    )
    .await));
    assert_eq!(apps.as_array().map(Vec::len), Some(0), "{apps}");
    let deployed = ok(&byoc(&data, &["metadata", "deploy", "--source", src]).await);
    for component in [
        "Acme_Connector",
        "Acme_Outbound__e",
        "Acme_Outbound__e.Acme_Payload__c",
        "Acme_Outbound__e.Acme_Kind__c",
        "Acme_Channel",
        "Acme_Messaging",
    ] {
        assert!(
            deployed
                .lines()
                .any(|l| l.starts_with("Created") && l.contains(component)),
            "{component} not created:\n{deployed}"
        );
    }

    // Retrieve gives the same files back.
    let back = tmp.path().join("retrieved");
    ok(&byoc(
        &data,
        &[
            "metadata",
            "retrieve",
            "--out",
            back.to_str().expect("utf-8"),
        ],
    )
    .await);
    let want = project_files(&source);
    let got = project_files(&back);
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "the retrieved project has other files"
    );
    for (rel, contents) in &want {
        assert_eq!(&got[rel], contents, "{rel} differs after the round trip");
    }

    // A connector configured with the project's names: the agent's reply arrives decoded with
    // the custom fields.
    let env = tmp.path().join("acme.env");
    connector_env(&server.org, &source, &env);
    let (events, conversation) = round_trip(&data, &env, "Where is my order?", "On its way").await;
    assert!(events.contains("/event/Acme_Outbound__e"), "{events}");
    assert!(events.contains("Acme_Kind__c: Interaction"), "{events}");
    let payload = events
        .lines()
        .find_map(|l| l.trim().strip_prefix("Acme_Payload__c: "))
        .unwrap_or_else(|| panic!("no payload field in:\n{events}"));
    let payload = json(payload);
    assert_eq!(payload["conversationIdentifier"], conversation.as_str());
    assert_eq!(payload["channelAddressIdentifier"], "acme-support");
    assert_eq!(
        payload["payload"]["entryPayload"]["abstractMessage"]["staticContent"]["text"],
        "On its way"
    );

    // The example's certificate is valid until 2036-11-26; past that by the org clock, the next
    // token request fails as Salesforce answers an assertion whose exp has passed.
    let env_arg = env.to_str().expect("utf-8");
    ok(&byoc(&data, &["token", "--env-file", env_arg]).await);
    ok(&byoc(&data, &["clock", "set", "2037-01-01T00:00:00Z"]).await);
    let refused = byoc(&data, &["token", "--env-file", env_arg]).await;
    assert!(!refused.status.success());
    let err = stderr(&refused);
    assert!(
        err.contains("invalid_grant: expired authorization code"),
        "{err}"
    );
    assert!(
        err.contains("certificate expired at 2036-11-26"),
        "the diagnosis names the expired certificate: {err}"
    );
    ok(&byoc(&data, &["clock", "real"]).await);
    ok(&byoc(&data, &["token", "--env-file", env_arg]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_seed_builds_the_example_and_reset_between_two_runs_leaves_no_trace_of_the_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("org");
    let example = example();
    let server = start_instance(&data, None, &["--seed", example.to_str().expect("utf-8")])
        .await
        .expect("byoc serve --seed examples/acme-connector");

    // The seeded org has the project's setup and nothing of the sample's.
    let apps = json(&ok(&byoc(
        &data,
        &["--output", "json", "setup", "eca", "list"],
    )
    .await));
    let names: Vec<&str> = apps
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["Acme Connector"]);

    let env = tmp.path().join("acme.env");
    connector_env(&server.org, &example, &env);

    // Run 1.
    let (events, first) = round_trip(&data, &env, "run one", "reply one").await;
    assert!(events.contains("Acme_Kind__c: Interaction"), "{events}");
    ok(&byoc(
        &data,
        &[
            "setup",
            "user",
            "create",
            "--username",
            "run.one@acme.example",
            "--profile",
            "Standard User",
        ],
    )
    .await);

    ok(&byoc(&data, &["reset"]).await);

    // No trace of run 1: its conversation, its user, its logins.
    let conversations = json(&ok(&byoc(
        &data,
        &["--output", "json", "conversations", "list"],
    )
    .await));
    assert_eq!(
        conversations.as_array().map(Vec::len),
        Some(0),
        "{conversations}"
    );
    let users = ok(&byoc(&data, &["setup", "user", "list"]).await);
    assert!(!users.contains("run.one@acme.example"), "{users}");
    let logins = json(&ok(&byoc(&data, &["--output", "json", "logins"]).await));
    assert_eq!(logins.as_array().map(Vec::len), Some(0), "{logins}");

    // Run 2 works the same from the seed, in a new conversation.
    let (events, second) = round_trip(&data, &env, "run two", "reply two").await;
    assert_ne!(first, second);
    assert!(events.contains("reply two"), "{events}");
    assert!(!events.contains("reply one"), "{events}");
}
