//! `byoc metadata retrieve|deploy` against real `byoc serve` processes (SQLite data dirs): the
//! sample org retrieved, deployed into a fresh `--empty` org and retrieved again gives the same
//! files; a broken project changes nothing and names every problem; a dry run changes nothing;
//! wrong inputs get clear errors.

use std::collections::BTreeMap;
use std::path::Path;

use super::cluster::{start_instance, Instance};
use super::{byoc, fails, json, ok};

/// Every file under `dir`, relative path → contents.
fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                out.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

async fn sample_and_empty(tmp: &Path) -> (Instance, Instance) {
    let sample = start_instance(&tmp.join("sample"), None, &[])
        .await
        .unwrap();
    let empty = start_instance(&tmp.join("empty"), None, &["--empty"])
        .await
        .unwrap();
    (sample, empty)
}

async fn retrieve(data: &Path, out: &Path) -> BTreeMap<String, String> {
    let text = ok(&byoc(
        data,
        &["metadata", "retrieve", "--out", out.to_str().unwrap()],
    )
    .await);
    let files = read_tree(out);
    let plural = if files.len() == 1 { "" } else { "s" };
    assert!(
        text.contains(&format!("Retrieved {} file{plural} into", files.len())),
        "{text}"
    );
    files
}

/// The file of `files` whose path ends with `suffix`.
fn find<'a>(files: &'a BTreeMap<String, String>, suffix: &str) -> &'a str {
    files
        .keys()
        .find(|k| k.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} in {:?}", files.keys().collect::<Vec<_>>()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieve_deploy_into_an_empty_org_and_retrieve_again_gives_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (sample, empty) = sample_and_empty(tmp.path()).await;
    let first = retrieve(&sample.data_dir, &tmp.path().join("p1")).await;
    assert!(
        first.contains_key("sfdx-project.json"),
        "{:?}",
        first.keys()
    );
    // The sample: its ECA (certificate, JWT Bearer, admin-approved policy), its platform event
    // with its fields, its channel and the CCD naming both.
    for suffix in [
        ".eca-meta.xml",
        ".ecaGlblOauth-meta.xml",
        ".ecaOauthPlcy-meta.xml",
        "objects/Byoc_Outbound__e/Byoc_Outbound__e.object-meta.xml",
        "fields/Payload__c.field-meta.xml",
        ".messagingChannel-meta.xml",
        ".ConversationChannelDefinition-meta.xml",
    ] {
        find(&first, suffix);
    }
    // Secrets are left out unless asked.
    let secret_free = first.values().all(|f| !f.contains("consumerSecret>"));
    assert!(
        secret_free,
        "a consumer secret was written without --include-secrets"
    );

    // Dry run first: the plan, nothing written.
    let before = retrieve(&empty.data_dir, &tmp.path().join("before")).await;
    let p1 = tmp.path().join("p1");
    let dry = ok(&byoc(
        &empty.data_dir,
        &[
            "metadata",
            "deploy",
            "--source",
            p1.to_str().unwrap(),
            "--dry-run",
        ],
    )
    .await);
    assert!(dry.starts_with("Dry run: nothing was changed."), "{dry}");
    assert!(dry.contains("State") && dry.contains("Created"), "{dry}");
    assert_eq!(
        retrieve(&empty.data_dir, &tmp.path().join("after-dry")).await,
        before,
        "a dry run changed the org"
    );

    // The deploy, then the same files back.
    let deployed = ok(&byoc(
        &empty.data_dir,
        &["metadata", "deploy", "--source", p1.to_str().unwrap()],
    )
    .await);
    assert!(deployed.starts_with("Deployed "), "{deployed}");
    for column in ["State", "Name", "Type", "Path"] {
        assert!(deployed.contains(column), "{deployed}");
    }
    assert!(deployed.contains("ExternalClientApplication"), "{deployed}");
    let second = retrieve(&empty.data_dir, &tmp.path().join("p2")).await;
    assert_eq!(
        second, first,
        "retrieve → deploy → retrieve changed the files"
    );

    // Deploying it again changes nothing, and says so in one JSON document.
    let again = json(&ok(&byoc(
        &empty.data_dir,
        &[
            "--output",
            "json",
            "metadata",
            "deploy",
            "--source",
            p1.to_str().unwrap(),
        ],
    )
    .await));
    assert_eq!(again["success"], true);
    let successes = again["details"]["componentSuccesses"].as_array().unwrap();
    assert!(!successes.is_empty());
    for s in successes {
        assert_eq!(
            (&s["created"], &s["changed"]),
            (&false.into(), &false.into()),
            "{s}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_project_changes_nothing_and_names_every_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let (sample, empty) = sample_and_empty(tmp.path()).await;
    let project = tmp.path().join("broken");
    let files = retrieve(&sample.data_dir, &project).await;
    // Two problems in two components: a CCD naming an event nobody defines, an app assigned
    // to a profile that doesn't exist.
    let ccd = find(&files, ".ConversationChannelDefinition-meta.xml").to_string();
    let event = files[&ccd]
        .split("<customPlatformEvent>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the CCD names its event")
        .to_string();
    std::fs::write(
        project.join(&ccd),
        files[&ccd].replace(&event, "Nobody_Defines__e"),
    )
    .unwrap();
    let policy = files
        .iter()
        .find(|(k, v)| k.ends_with(".ecaOauthPlcy-meta.xml") && v.contains("System Administrator"))
        .map(|(k, _)| k.clone())
        .expect("a file assigns System Administrator");
    std::fs::write(
        project.join(&policy),
        files[&policy].replace("System Administrator", "No Such Profile"),
    )
    .unwrap();
    let before = retrieve(&empty.data_dir, &tmp.path().join("before")).await;
    let out = byoc(
        &empty.data_dir,
        &["metadata", "deploy", "--source", project.to_str().unwrap()],
    )
    .await;
    let err = fails(&out, 1);
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(err.contains(&ccd), "the CCD's file is named:\n{err}");
    assert!(err.contains("Nobody_Defines__e"), "{err}");
    assert!(err.contains(&policy), "the policy file is named:\n{err}");
    assert!(err.contains("No Such Profile"), "{err}");
    assert!(err.contains("ConversationChannelDefinition"), "{err}");
    // JSON: one DeployResult document on stdout, with every failure.
    let out = byoc(
        &empty.data_dir,
        &[
            "--output",
            "json",
            "metadata",
            "deploy",
            "--source",
            project.to_str().unwrap(),
        ],
    )
    .await;
    fails(&out, 1);
    let result = json(&super::stdout(&out));
    assert_eq!(result["success"], false);
    let failures = result["details"]["componentFailures"].as_array().unwrap();
    assert!(failures.len() >= 2, "{result}");
    for f in failures {
        assert_eq!(f["problemType"], "Error", "{f}");
        for key in ["componentType", "fullName", "fileName", "problem"] {
            assert!(f[key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {f}");
        }
    }
    assert_eq!(
        retrieve(&empty.data_dir, &tmp.path().join("after")).await,
        before,
        "a failed deploy changed the org"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_inputs_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = start_instance(&tmp.path().join("empty"), None, &["--empty"])
        .await
        .unwrap();
    let data = &empty.data_dir;
    let missing = tmp.path().join("missing");
    let err = fails(
        &byoc(
            data,
            &["metadata", "deploy", "--source", missing.to_str().unwrap()],
        )
        .await,
        1,
    );
    assert!(err.contains("doesn't exist"), "{err}");

    let bare = tmp.path().join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    let err = fails(
        &byoc(
            data,
            &["metadata", "deploy", "--source", bare.to_str().unwrap()],
        )
        .await,
        1,
    );
    assert!(err.contains("has no sfdx-project.json"), "{err}");

    // Malformed XML: the file is named, with the line.
    let project = tmp.path().join("malformed");
    let dir = project.join("force-app/main/default/externalClientApps");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        project.join("sfdx-project.json"),
        r#"{"packageDirectories":[{"path":"force-app","default":true}],"sourceApiVersion":"64.0"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("Broken.eca-meta.xml"),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ExternalClientApplication xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n    <label>Broken</label>\n    <contactEmail>a@example.com</oops>\n</ExternalClientApplication>\n",
    )
    .unwrap();
    let before = retrieve(data, &tmp.path().join("before")).await;
    let err = fails(
        &byoc(
            data,
            &["metadata", "deploy", "--source", project.to_str().unwrap()],
        )
        .await,
        1,
    );
    assert!(
        err.contains("force-app/main/default/externalClientApps/Broken.eca-meta.xml"),
        "{err}"
    );
    assert_eq!(retrieve(data, &tmp.path().join("after")).await, before);

    // Retrieve refuses nothing sane, and writes into a new nested directory.
    let nested = tmp.path().join("a/b/c");
    retrieve(data, &nested).await;
    assert!(nested.join("sfdx-project.json").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_secrets_only_when_asked_audited_and_only_for_who_may() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = start_instance(&tmp.path().join("sample"), None, &[])
        .await
        .unwrap();
    let data = &sample.data_dir;
    let plain = retrieve(data, &tmp.path().join("plain")).await;
    assert!(plain.values().all(|f| !f.contains("<consumerSecret>")));
    let out = tmp.path().join("secret");
    let text = ok(&byoc(
        data,
        &[
            "metadata",
            "retrieve",
            "--out",
            out.to_str().unwrap(),
            "--include-secrets",
        ],
    )
    .await);
    assert!(text.contains("consumer secrets included"), "{text}");
    let with = read_tree(&out);
    let global = find(&with, ".ecaGlblOauth-meta.xml");
    assert!(
        with[global].contains("<consumerSecret>"),
        "{}",
        with[global]
    );
    let audit = ok(&byoc(data, &["setup", "audit", "--limit", "5"]).await);
    assert!(
        audit.contains("Retrieved the org's metadata with consumer secrets"),
        "{audit}"
    );
    // A user without "View Setup and Configuration" gets neither.
    ok(&byoc(
        data,
        &[
            "setup",
            "user",
            "create",
            "--username",
            "viewer@example.com",
            "--profile",
            "Standard User",
        ],
    )
    .await);
    let refused = tmp.path().join("refused");
    let err = fails(
        &byoc(
            data,
            &[
                "--as",
                "viewer@example.com",
                "metadata",
                "retrieve",
                "--out",
                refused.to_str().unwrap(),
            ],
        )
        .await,
        1,
    );
    assert!(err.contains("View Setup and Configuration"), "{err}");
    assert!(!refused.exists(), "nothing is written when the org refuses");
}
