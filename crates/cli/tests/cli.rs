#![allow(clippy::disallowed_methods)] // tests and tools read the wall clock
//! The `byoc` binary against a real server (byoc-testkit, in this process) and, for `cert new`
//! and `serve`, on its own. One integration test binary for the whole crate.

use std::path::Path;
use std::process::Output;

use byoc_testkit::TestServer;
use serde_json::Value;

const BYOC: &str = env!("CARGO_BIN_EXE_byoc");

#[path = "cli/ccd.rs"]
mod ccd;
#[path = "cli/clock.rs"]
mod clock;
#[path = "cli/cluster.rs"]
mod cluster;
#[path = "cli/crash.rs"]
mod crash;
#[path = "cli/db_faults.rs"]
mod db_faults;
#[path = "cli/lifecycle.rs"]
mod lifecycle;
#[path = "cli/metadata.rs"]
mod metadata;
#[path = "cli/multi_instance.rs"]
mod multi_instance;
#[path = "cli/org_as_code.rs"]
mod org_as_code;
#[path = "cli/platform_events.rs"]
mod platform_events;
#[path = "cli/query.rs"]
mod query;
#[path = "cli/reset.rs"]
mod reset;
#[path = "cli/scale_out.rs"]
mod scale_out;

/// Run `byoc` with `args` against `data_dir`, without BYOC_* settings from the environment.
async fn byoc(data_dir: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(BYOC)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("BYOC_URL")
        .env_remove("BYOC_DATA_DIR")
        .env_remove("DATABASE_URL")
        .output()
        .await
        .expect("run byoc")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Assert success and return stdout.
#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "byoc failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// Assert exit code `code` and return stderr.
#[track_caller]
fn fails(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    stderr(out)
}

#[track_caller]
fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_setup_reads_back_in_text_and_json() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();

    let list = ok(&byoc(data, &["setup", "eca", "list"]).await);
    assert!(list.starts_with("Name"), "{list}");
    assert!(list.contains("3MVG9"), "{list}");

    // Every read command prints exactly one JSON document with --output json.
    for args in [
        vec!["setup", "eca", "list"],
        vec!["setup", "connected-app", "list"],
        vec!["setup", "user", "list"],
        vec!["setup", "permission-set", "list"],
        vec!["setup", "profile", "list"],
        vec!["setup", "org", "show"],
        vec!["setup", "channel", "list"],
        vec!["setup", "audit", "--limit", "2"],
        vec!["ca"],
    ] {
        let mut argv = args.clone();
        argv.extend(["--output", "json"]);
        let out = ok(&byoc(data, &argv).await);
        json(&out);
    }

    let apps = json(&ok(&byoc(
        data,
        &["--output", "json", "setup", "eca", "list"],
    )
    .await));
    let app = apps[0]["name"].as_str().unwrap().to_string();
    let show = ok(&byoc(data, &["setup", "eca", "show", &app]).await);
    for expected in [
        "API Name:",
        "Distribution State:  Local",
        "Access Interaction API resources (interaction_api)",
        "Enable JWT Bearer Flow:",
        "SHA-256 Fingerprint:",
        "Permitted Users:  Admin approved users are pre-authorized",
    ] {
        assert!(show.contains(expected), "missing {expected:?} in:\n{show}");
    }
    let audit = json(&ok(&byoc(
        data,
        &["setup", "audit", "--limit", "2", "--output", "json"],
    )
    .await));
    assert_eq!(audit.as_array().unwrap().len(), 2);

    let ca = ok(&byoc(data, &["ca", "--pem"]).await);
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    server.stop().await.unwrap();
}

/// `byoc open --print`: a frontdoor URL that logs a browser in as the admin (303 and a session
/// cookie), landing on `--path`; `byoc setup user password` sets and resets console passwords.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_prints_a_login_url_and_user_password_sets_and_resets() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    let printed = json(&ok(&byoc(
        data,
        &[
            "open",
            "--print",
            "--path",
            "/lightning/setup/ManageUsers/home",
            "--output",
            "json",
        ],
    )
    .await));
    let url = printed["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/secur/frontdoor.jsp?sid=",
            server.org().login_url
        )),
        "{url}"
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http.get(url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/lightning/setup/ManageUsers/home"
    );
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("sid="));
    let text = ok(&byoc(data, &["open", "--print"]).await);
    assert!(text.contains("/secur/frontdoor.jsp?sid="), "{text}");
    let err = fails(
        &byoc(
            data,
            &["open", "--print", "--path", "https://evil.example/"],
        )
        .await,
        2,
    );
    assert!(err.contains("--path"), "{err}");

    let admin = server.org().admin_username.clone();
    let err = fails(
        &byoc(
            data,
            &["setup", "user", "password", &admin, "--password", "short1"],
        )
        .await,
        1,
    );
    assert!(
        err.contains("Your password must be at least 8 characters long."),
        "{err}"
    );
    let out = ok(&byoc(
        data,
        &[
            "setup",
            "user",
            "password",
            &admin,
            "--password",
            "Sunny2day",
        ],
    )
    .await);
    assert_eq!(out, format!("Changed password for user {admin}.\n"));
    let reset = json(&ok(&byoc(
        data,
        &[
            "setup", "user", "password", &admin, "--reset", "--output", "json",
        ],
    )
    .await));
    assert_eq!(reset["username"], admin.as_str());
    assert!(reset["password"].as_str().unwrap().len() >= 8);
    fails(&byoc(data, &["setup", "user", "password", &admin]).await, 2);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_setup_from_scratch() {
    let server = TestServer::start_with(byoc_testkit::Options {
        empty: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let data = server.data_dir();
    let keys = data.join("keys");
    let keys_arg = keys.to_str().unwrap();
    ok(&byoc(data, &["cert", "new", "--out", keys_arg, "--cn", "acme"]).await);
    let crt = keys.join("server.crt");
    let crt_arg = crt.to_str().unwrap();

    let out = byoc(
        data,
        &[
            "setup",
            "eca",
            "create",
            "--name",
            "Acme Connector",
            "--contact-email",
            "ops@acme.example",
            "--callback-url",
            "https://acme.example/cb",
            "--scopes",
            "interaction_api,refresh_token",
            "--jwt-bearer",
            "--certificate",
            crt_arg,
        ],
    )
    .await;
    let text = ok(&out);
    assert!(text.contains("Consumer Key: 3MVG9"), "{text}");
    assert!(text.contains("Consumer Secret: "), "{text}");
    let secret_line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Consumer Secret: "))
            .map(str::to_string)
            .unwrap()
    };
    let created_secret = secret_line(&text);

    // The secret reads back later (audited), and the client credentials flow gets its run-as user.
    let out = byoc(data, &["setup", "eca", "secret", "Acme Connector"]).await;
    assert_eq!(secret_line(&ok(&out)), created_secret);
    let out = byoc(
        data,
        &[
            "setup",
            "eca",
            "update",
            "Acme Connector",
            "--client-credentials",
        ],
    )
    .await;
    assert!(ok(&out).contains("Enable Client Credentials Flow"));
    let out = byoc(
        data,
        &[
            "setup",
            "eca",
            "policies",
            "Acme Connector",
            "--run-as",
            "nobody@acme.example",
        ],
    )
    .await;
    assert!(fails(&out, 1).contains("nobody@acme.example"));
    let admin = server.org().admin_username.clone();
    let out = byoc(
        data,
        &[
            "setup",
            "eca",
            "policies",
            "Acme Connector",
            "--run-as",
            &admin,
        ],
    )
    .await;
    let text = ok(&out);
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("Run As:") && l.ends_with(&admin)),
        "{text}"
    );

    let out = byoc(
        data,
        &[
            "setup",
            "eca",
            "policies",
            "Acme Connector",
            "--permitted-users",
            "admin-approved",
            "--profile",
            "System Administrator",
        ],
    )
    .await;
    ok(&out);
    assert!(stderr(&out).starts_with("Warning: "), "{}", stderr(&out));

    let out = byoc(
        data,
        &[
            "setup",
            "channel",
            "create",
            "--name",
            "Acme Channel",
            "--type",
            "byoc-messaging",
            "--address",
            "acme-1",
            "--app-managed-by",
            "customer",
        ],
    )
    .await;
    let created = json(&ok(&byoc(
        data,
        &[
            "--output",
            "json",
            "setup",
            "channel",
            "show",
            "Acme Channel",
        ],
    )
    .await));
    let ccd = created["conversationChannelDefinition"]["developerName"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ok(&out).contains(&format!("Conversation Channel Definition: {ccd}")));

    ok(&byoc(
        data,
        &["setup", "ccd", "set", &ccd, "--app", "Acme Connector"],
    )
    .await);
    let shown = ok(&byoc(data, &["setup", "ccd", "show", &ccd]).await);
    assert!(
        shown.contains("Linked App:") && shown.contains("Acme Connector (Acme_Connector)"),
        "{shown}"
    );

    // The uploaded certificate is the one `cert new` wrote.
    let app = json(&ok(&byoc(
        data,
        &["setup", "eca", "show", "Acme_Connector", "--output", "json"],
    )
    .await));
    let info = byoc_pki::parse_certificate(&std::fs::read_to_string(&crt).unwrap()).unwrap();
    assert_eq!(
        app["oauth"]["certificate"]["sha256Fingerprint"].as_str(),
        Some(info.sha256_fingerprint.as_str())
    );

    // Linked apps can't be deleted; the refusal says why, on stderr, exit 1.
    let err = fails(
        &byoc(data, &["setup", "eca", "delete", "Acme Connector"]).await,
        1,
    );
    assert!(err.starts_with("error: "), "{err}");

    let audit = ok(&byoc(data, &["setup", "audit"]).await);
    assert!(audit.contains(" → "), "{audit}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acting_as_a_user_checks_their_permissions() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    ok(&byoc(
        data,
        &[
            "setup",
            "user",
            "create",
            "--username",
            "std@acme.example",
            "--profile",
            "Standard User",
        ],
    )
    .await);
    ok(&byoc(
        data,
        &[
            "setup",
            "permission-set",
            "create",
            "--name",
            "Eca_Managers",
            "--permission",
            "manage-external-client-apps",
        ],
    )
    .await);
    ok(&byoc(
        data,
        &[
            "setup",
            "user",
            "create",
            "--username",
            "mgr@acme.example",
            "--profile",
            "Standard User",
            "--permission-set",
            "Eca_Managers",
        ],
    )
    .await);
    let create = |who: &'static str, name: &'static str| {
        let data = data.to_path_buf();
        async move {
            byoc(
                &data,
                &[
                    "setup",
                    "eca",
                    "create",
                    "--as",
                    who,
                    "--name",
                    name,
                    "--contact-email",
                    "a@acme.example",
                    "--callback-url",
                    "https://a/cb",
                    "--scopes",
                    "interaction_api",
                ],
            )
            .await
        }
    };
    let err = fails(&create("std@acme.example", "Std App").await, 1);
    assert!(
        err.contains("Create, edit, and delete External Client Apps"),
        "{err}"
    );
    ok(&create("mgr@acme.example", "Mgr App").await);

    let err = fails(&create("ghost@acme.example", "Ghost App").await, 1);
    assert!(err.contains("--as names a user of the org"), "{err}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_sets_carry_object_permissions_on_platform_events() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    let created = ok(&byoc(
        data,
        &[
            "setup",
            "permission-set",
            "create",
            "--name",
            "Outbound_Listeners",
            "--object-permission",
            "Byoc_Outbound__e:read",
        ],
    )
    .await);
    assert!(created.contains("Byoc_Outbound__e: Read"), "{created}");
    let updated = ok(&byoc(
        data,
        &[
            "setup",
            "permission-set",
            "update",
            "Outbound_Listeners",
            "--object-permission",
            "Byoc_Outbound__e:read,create",
            "--output",
            "json",
        ],
    )
    .await);
    let record = &json(&updated)["record"];
    assert_eq!(
        record["objectPermissions"],
        serde_json::json!([{"object": "Byoc_Outbound__e", "allowRead": true, "allowCreate": true}]),
        "{updated}"
    );
    let list = ok(&byoc(data, &["setup", "permission-set", "list"]).await);
    assert!(list.contains("Byoc_Outbound__e: Read, Create"), "{list}");
    let audit = ok(&byoc(data, &["setup", "audit"]).await);
    assert!(
        audit.contains("objectPermissions.Byoc_Outbound__e") && audit.contains("Read, Create"),
        "{audit}"
    );

    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "permission-set",
                "update",
                "Outbound_Listeners",
                "--object-permission",
                "Byoc_Outbound__e:write",
            ],
        )
        .await,
        2,
    );
    assert!(err.contains("valid: read, create"), "{err}");
    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "permission-set",
                "update",
                "Outbound_Listeners",
                "--object-permission",
                "Account:read",
            ],
        )
        .await,
        1,
    );
    assert!(err.contains("platform event"), "{err}");
    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "permission-set",
                "update",
                "Nope",
                "--no-object-permissions",
            ],
        )
        .await,
        1,
    );
    assert!(err.contains("Nope"), "{err}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_apps_need_the_org_setting_and_migrate_to_an_eca() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    let args = [
        "setup",
        "connected-app",
        "create",
        "--name",
        "Legacy",
        "--contact-email",
        "a@acme.example",
        "--callback-url",
        "https://a/cb",
        "--scopes",
        "interaction_api,refresh_token",
    ];
    let err = fails(&byoc(data, &args).await, 1);
    assert!(err.contains("You can't create a connected app."), "{err}");

    // JSON mode: the error is a JSON object on stderr, nothing on stdout.
    let mut json_args = args.to_vec();
    json_args.extend(["--output", "json"]);
    let out = byoc(data, &json_args).await;
    let err = json(&fails(&out, 1));
    assert!(out.stdout.is_empty());
    assert_eq!(err["errors"][0]["errorCode"], "INSUFFICIENT_ACCESS");

    ok(&byoc(
        data,
        &[
            "setup",
            "org",
            "set",
            "--allow-connected-app-creation",
            "true",
        ],
    )
    .await);
    ok(&byoc(data, &args).await);
    ok(&byoc(
        data,
        &[
            "setup",
            "connected-app",
            "profiles",
            "Legacy",
            "--add",
            "System Administrator",
        ],
    )
    .await);
    let migrated = ok(&byoc(
        data,
        &["setup", "eca", "migrate", "--from-connected-app", "Legacy"],
    )
    .await);
    assert!(migrated.contains("read-only"), "{migrated}");
    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "connected-app",
                "update",
                "Legacy",
                "--description",
                "x",
            ],
        )
        .await,
        1,
    );
    assert!(err.contains("read-only"), "{err}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_inputs_get_clear_messages() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();

    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "channel",
                "create",
                "--name",
                "A",
                "--type",
                "telegram",
                "--address",
                "x",
            ],
        )
        .await,
        2,
    );
    assert!(err.contains("valid types: byoc-messaging"), "{err}");

    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "eca",
                "create",
                "--name",
                "A",
                "--contact-email",
                "a@b.example",
                "--callback-url",
                "https://a/cb",
                "--scopes",
                "interaction_api",
                "--certificate",
                "/nonexistent/server.crt",
            ],
        )
        .await,
        1,
    );
    assert!(
        err.contains("can't read certificate file /nonexistent/server.crt: No such file"),
        "{err}"
    );

    let err = fails(
        &byoc(data, &["setup", "eca", "show", "No Such App"]).await,
        1,
    );
    assert!(err.contains("byoc setup eca list"), "{err}");

    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "user",
                "create",
                "--username",
                "x@acme.example",
                "--profile",
                "Nobody",
            ],
        )
        .await,
        1,
    );
    assert!(err.contains("Nobody"), "{err}");

    let err = fails(
        &byoc(data, &["setup", "eca", "update", "No Such App"]).await,
        2,
    );
    assert!(err.contains("nothing to change"), "{err}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_org_or_a_server_the_message_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(&byoc(dir.path(), &["setup", "eca", "list"]).await, 1);
    assert!(
        err.contains("org.json not found): start one with `byoc serve`, or pass --data-dir"),
        "{err}"
    );

    // An org file whose server is gone: copy a real one, then point it at a closed port.
    let server = TestServer::start().await.unwrap();
    let mut org = server.org().clone();
    server.stop().await.unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    org.login_url = format!("http://127.0.0.1:{port}");
    std::fs::write(
        dir.path().join("org.json"),
        serde_json::to_string(&org).unwrap(),
    )
    .unwrap();
    let err = fails(&byoc(dir.path(), &["setup", "eca", "list"]).await, 1);
    assert!(
        err.contains(&format!(
            "can't reach byoc at {}: connection refused — is `byoc serve` running?",
            org.login_url
        )),
        "{err}"
    );
}

#[tokio::test]
async fn cert_new_writes_a_private_key_and_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("new/keys");
    let out = out_dir.to_str().unwrap();
    let text = ok(&byoc(
        dir.path(),
        &["cert", "new", "--out", out, "--cn", "acme", "--days", "30"],
    )
    .await);
    assert!(text.contains("Subject:              CN=acme"), "{text}");
    assert!(text.contains("SHA-256 Fingerprint:"), "{text}");
    assert!(text.contains("--certificate"), "{text}");

    let key = std::fs::read_to_string(out_dir.join("server.key")).unwrap();
    let crt = std::fs::read_to_string(out_dir.join("server.crt")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
    let parsed = byoc_pki::parse_private_key(&key).unwrap();
    let info = byoc_pki::parse_certificate(&crt).unwrap();
    assert!(byoc_pki::key_matches_certificate(&parsed, &info));
    assert_eq!(info.subject, "CN=acme");
    assert_eq!((info.not_after - info.not_before).num_days(), 30);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(out_dir.join("server.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // No silent overwrite; --force replaces both files.
    let err = fails(&byoc(dir.path(), &["cert", "new", "--out", out]).await, 1);
    assert!(
        err.contains("already exist") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("server.key")).unwrap(),
        key
    );
    let again = json(&ok(&byoc(
        dir.path(),
        &["cert", "new", "--out", out, "--force", "--output", "json"],
    )
    .await));
    assert_eq!(again["subject"], "CN=byoc");
    assert_ne!(
        std::fs::read_to_string(out_dir.join("server.key")).unwrap(),
        key
    );
}

#[tokio::test]
async fn cert_new_encrypts_the_key_with_a_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keys");
    let out_arg = out.to_str().unwrap();
    let out_from_env = tokio::process::Command::new(BYOC)
        .args([
            "cert",
            "new",
            "--out",
            out_arg,
            "--passphrase-env",
            "BYOC_TEST_PASSPHRASE",
        ])
        .env("BYOC_TEST_PASSPHRASE", "correct horse")
        .output()
        .await
        .unwrap();
    ok(&out_from_env);
    let key = std::fs::read_to_string(out.join("server.key")).unwrap();
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{key}"
    );
    let plain = byoc_pki::decrypt_private_key(&key, "correct horse").unwrap();
    byoc_pki::parse_private_key(&plain).unwrap();

    // From a file: the first line is the passphrase.
    let file = dir.path().join("passphrase.txt");
    std::fs::write(&file, "from a file\n").unwrap();
    let out2 = dir.path().join("keys2");
    ok(&byoc(
        dir.path(),
        &[
            "cert",
            "new",
            "--out",
            out2.to_str().unwrap(),
            "--passphrase-file",
            file.to_str().unwrap(),
        ],
    )
    .await);
    let key2 = std::fs::read_to_string(out2.join("server.key")).unwrap();
    byoc_pki::decrypt_private_key(&key2, "from a file").unwrap();

    let err = fails(
        &byoc(
            dir.path(),
            &[
                "cert",
                "new",
                "--out",
                out_arg,
                "--force",
                "--passphrase-env",
                "BYOC_TEST_UNSET_VARIABLE",
            ],
        )
        .await,
        1,
    );
    assert!(err.contains("BYOC_TEST_UNSET_VARIABLE is not set"), "{err}");
}

/// `byoc serve` as a process: ready line on stdout, admin commands work, SIGTERM exits 0; neither
/// the ready line nor the logs (at debug level) show the admin credential or an access token.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_until_sigterm() {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = tokio::process::Command::new(BYOC)
        .arg("--data-dir")
        .arg(&data)
        .args([
            "serve",
            "--output",
            "json",
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
            "--strict",
            "--audience",
            "https://partner.example",
        ])
        .env_remove("DATABASE_URL")
        .env("BYOC_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all).await;
        all
    });
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("serve did not get ready within 60 s")
        .unwrap()
        .expect("serve closed stdout");
    let ready = json(&ready);
    let org: byoc_proto::files::OrgFile =
        serde_json::from_str(&std::fs::read_to_string(data.join("org.json")).unwrap()).unwrap();
    assert!(org.org_id.starts_with("00D"));
    assert_eq!(ready["org_id"], org.org_id.as_str());
    assert_eq!(ready["login_url"], org.login_url.as_str());
    assert_eq!(
        ready["org_file"],
        data.join("org.json").display().to_string().as_str()
    );
    assert!(ready.get("admin_token").is_none(), "{ready}");
    assert!(ready.get("admin_password").is_none(), "{ready}");
    assert!(data.join("partner.env").exists());
    // Secrets that must never reach stdout or the logs.
    let mut secrets = vec![org.admin_token.clone()];

    // The admin commands find the server through org.json's login_url.
    let shown = json(&ok(&byoc(
        &data,
        &["setup", "org", "show", "--output", "json"],
    )
    .await));
    assert_eq!(shown["id"], org.org_id.as_str());

    // --audience adds an accepted `aud`; Salesforce's login URLs stay accepted.
    for audience in ["https://partner.example", "https://login.salesforce.com"] {
        let granted = json(&ok(&partner(
            &data,
            &["token", "--audience", audience, "--output", "json"],
            &[],
        )
        .await));
        let access_token = granted["access_token"].as_str().unwrap().to_string();
        // Use it, so a request carrying it passes through the server's logging.
        let me = reqwest::Client::new()
            .get(format!("{}/services/oauth2/userinfo", org.login_url))
            .bearer_auth(&access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        secrets.push(access_token);
    }
    let refused = fails(
        &partner(
            &data,
            &["token", "--audience", "https://other.example"],
            &[],
        )
        .await,
        1,
    );
    assert!(
        refused.contains("invalid_grant: audience is invalid"),
        "{refused}"
    );

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("serve did not stop within 30 s after SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push_str(&line);
    }
    let logs = logs.await.unwrap();
    assert!(
        logs.contains("byoc ready"),
        "the logs were captured: {logs}"
    );
    let password = org
        .admin_password
        .clone()
        .expect("org.json has admin_password");
    for (what, text) in [
        ("ready line", ready.to_string()),
        ("stdout", rest.clone()),
        ("logs", logs.clone()),
    ] {
        assert!(
            !text.contains(&password),
            "the admin password appears in the {what}:\n{text}"
        );
    }
    for secret in &secrets {
        // The part after the org id is the secret one.
        let sealed = secret.split_once('!').map_or(secret.as_str(), |(_, s)| s);
        assert!(sealed.len() > 20);
        for (what, text) in [
            ("ready line", ready.to_string()),
            ("stdout", rest.clone()),
            ("logs", logs.clone()),
        ] {
            assert!(
                !text.contains(sealed),
                "a secret appears in the {what}:\n{text}"
            );
        }
    }
}

/// The partner settings `byoc token` reads from the environment.
const PARTNER_VARS: [&str; 6] = [
    "SF_CONSUMER_KEY",
    "SF_PRIVATE_KEY",
    "SF_SUBJECT",
    "SF_AUDIENCE",
    "SF_AUTH_ENDPOINT",
    "BYOC_TEST_PASSPHRASE",
];

/// [`byoc`] with exactly `env` of the partner settings in the environment.
async fn partner(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(BYOC);
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("BYOC_URL")
        .env_remove("BYOC_DATA_DIR");
    for var in PARTNER_VARS {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().await.expect("run byoc")
}

/// The login history, once the server has flushed at least `n` attempts (it writes in batches
/// off the request path).
async fn logins_json(data: &Path, args: &[&str], n: usize) -> Vec<Value> {
    let mut argv = vec!["logins", "--output", "json"];
    argv.extend(args);
    for _ in 0..100 {
        let entries = json(&ok(&byoc(data, &argv).await));
        let entries = entries.as_array().unwrap().clone();
        if entries.len() >= n {
            return entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the login history did not reach {n} entries for {args:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_trades_the_sample_assertion_and_logins_explain_a_refusal() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    let org = server.org().clone();
    let env_file = data.join("partner.env");
    let env_arg = env_file.to_str().unwrap();

    // Text: the token and what it is for.
    let text = ok(&partner(data, &["token", "--env-file", env_arg], &[]).await);
    for expected in [
        format!("Access Token:  {}!", org.org_id),
        "Token Type:    Bearer".to_string(),
        format!("Instance URL:  {}", org.instance_url),
        "interaction_api".to_string(),
        format!("Identity URL:  {}/id/{}/005", org.login_url, org.org_id_18),
        "Issued At:".to_string(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }

    // JSON: the token response as the server sent it.
    let answer = json(&ok(&partner(
        data,
        &["token", "--env-file", env_arg, "--output", "json"],
        &[],
    )
    .await));
    let members: Vec<&str> = answer
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ];
    expected.sort_unstable();
    let mut sorted = members.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected, "{answer}");
    assert!(answer["access_token"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}!", org.org_id)));
    assert_eq!(answer["token_type"], "Bearer");

    // Flags win over the environment, which wins over the file.
    let bogus = [("SF_AUDIENCE", "https://bogus.example")];
    let refused = fails(&partner(data, &["token"], &bogus).await, 1);
    assert!(
        refused.contains("invalid_grant: audience is invalid"),
        "{refused}"
    );
    ok(&partner(
        data,
        &["token", "--audience", "https://login.salesforce.com"],
        &bogus,
    )
    .await);

    // Settings without any env file: flags and variables only, an encrypted key file.
    let key = std::fs::read_to_string(data.join("server.key")).unwrap();
    let encrypted = byoc_pki::encrypt_private_key(&key, "correct horse").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let key_file = elsewhere.path().join("server.key");
    std::fs::write(&key_file, encrypted).unwrap();
    let entries = std::fs::read_to_string(&env_file).unwrap();
    let setting = |name: &str| -> String {
        let line = entries
            .lines()
            .find(|l| l.starts_with(&format!("{name}=")))
            .unwrap();
        line[name.len() + 1..].trim_matches('"').to_string()
    };
    let (consumer_key, subject, token_url) = (
        setting("SF_CONSUMER_KEY"),
        setting("SF_SUBJECT"),
        setting("SF_AUTH_ENDPOINT"),
    );
    let no_org = elsewhere.path().join("no-data");
    let env = [
        ("SF_CONSUMER_KEY", consumer_key.as_str()),
        ("SF_SUBJECT", subject.as_str()),
        ("SF_AUDIENCE", "https://login.salesforce.com"),
        ("SF_AUTH_ENDPOINT", token_url.as_str()),
    ];
    let key_arg = key_file.to_str().unwrap();
    let locked = fails(
        &partner(&no_org, &["token", "--key-file", key_arg], &env).await,
        1,
    );
    assert!(locked.contains("the private key is encrypted"), "{locked}");
    assert!(locked.contains("--passphrase-env"), "{locked}");
    let mut with_passphrase = env.to_vec();
    with_passphrase.push(("BYOC_TEST_PASSPHRASE", "correct horse"));
    ok(&partner(
        &no_org,
        &[
            "token",
            "--key-file",
            key_arg,
            "--passphrase-env",
            "BYOC_TEST_PASSPHRASE",
        ],
        &with_passphrase,
    )
    .await);
    let missing = fails(&partner(&no_org, &["token"], &env).await, 1);
    assert!(missing.contains("SF_PRIVATE_KEY is not set"), "{missing}");

    // A wrong policy: Salesforce's refusal, and byoc's diagnosis naming the fix.
    server
        .admin()
        .update_external_client_app_policies(
            "BYOC Sample App",
            &byoc_proto::admin::PolicyInput {
                permitted_users: Some(byoc_proto::setup::PermittedUsers::AllSelfAuthorized),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let out = partner(data, &["token"], &[]).await;
    let refused = fails(&out, 1);
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(
        refused.contains("invalid_grant: user hasn't approved this consumer"),
        "{refused}"
    );
    let diagnosis = refused
        .lines()
        .find_map(|l| l.strip_prefix("byoc diagnosis: "))
        .unwrap_or_else(|| panic!("no diagnosis in:\n{refused}"));
    assert!(
        diagnosis.contains("Admin approved users are pre-authorized"),
        "{diagnosis}"
    );
    let out = partner(data, &["token", "--output", "json"], &[]).await;
    let error = json(&fails(&out, 1));
    assert_eq!(error["errors"][0]["errorCode"], "invalid_grant");
    assert_eq!(
        error["errors"][0]["message"],
        "user hasn't approved this consumer"
    );
    assert_eq!(error["diagnosis"], diagnosis);

    // The login history: newest first, the refusals with their diagnosis. Successes so far: 2
    // sample tokens, the flag override, the encrypted key; failures: the bogus audience and the
    // two policy refusals.
    let all = logins_json(data, &[], 7).await;
    assert_eq!(all.len(), 7, "{all:?}");
    assert_eq!(all[0]["status"], "Failed");
    assert_eq!(all[0]["error"], "invalid_grant");
    assert_eq!(
        all[0]["errorDescription"],
        "user hasn't approved this consumer"
    );
    assert_eq!(all[0]["diagnosis"], diagnosis);
    assert_eq!(all[0]["application"], "BYOC Sample App");
    assert_eq!(all[0]["username"], subject.as_str());
    assert_eq!(all[6]["status"], "Success");
    assert!(all[6]["diagnosis"].is_null());

    let failures = logins_json(data, &["--status", "failure"], 3).await;
    assert_eq!(failures.len(), 3);
    assert!(failures.iter().all(|e| e["status"] == "Failed"));
    let successes = logins_json(data, &["--status", "success", "--limit", "2"], 2).await;
    assert_eq!(successes.len(), 2);
    assert!(successes.iter().all(|e| e["status"] == "Success"));
    assert_eq!(
        logins_json(
            data,
            &["--app", "byoc sample app", "--username", &subject],
            7
        )
        .await
        .len(),
        7
    );

    let text = ok(&byoc(data, &["logins", "--limit", "2"]).await);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Time"), "{text}");
    assert!(
        lines[1].ends_with("Failed  invalid_grant: user hasn't approved this consumer"),
        "{text}"
    );
    assert_eq!(lines[2], format!("    {diagnosis}"), "{text}");
    assert!(
        lines[1].contains(&subject) && lines[1].contains("BYOC Sample App"),
        "{text}"
    );
    let none = ok(&byoc(data, &["logins", "--username", "nobody@example.com"]).await);
    assert_eq!(none, "No login attempts yet.\n");

    server.stop().await.unwrap();
}

// ---- partner toolkit: send, doctor -------------------------------------------------------------

/// `byoc` with none of the partner settings in the environment: only DATA/partner.env (or
/// `--env-file`) counts.
async fn partner_cmd(data_dir: &Path, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(BYOC);
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("BYOC_URL")
        .env_remove("BYOC_DATA_DIR")
        .env_remove("NO_COLOR");
    for var in byoc_client::settings::ALL {
        command.env_remove(var);
    }
    command.output().await.expect("run byoc")
}

/// The value of `KEY=` in DATA/partner.env.
fn partner_setting(data: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(data.join("partner.env")).unwrap();
    let settings = byoc_client::settings::PartnerSettings::parse(&text).unwrap();
    settings.get(name).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_posts_as_the_end_user_and_listen_hears_the_agent() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();

    // Text: what was sent, the conversation and the entry.
    let text = ok(&partner_cmd(data, &["send", "--text", "Hello from the CLI"]).await);
    assert!(
        text.starts_with("Sent message from byoc-sample-end-user to byoc-sample-channel-address\n"),
        "{text}"
    );
    let conversation = text
        .lines()
        .find_map(|l| l.strip_prefix("Conversation:"))
        .unwrap_or_else(|| panic!("no conversation in:\n{text}"))
        .trim()
        .to_string();
    assert!(text.contains("Entry:"), "{text}");

    // JSON: the API's answer as is; the same end user stays in the same conversation.
    let sent = json(&ok(&partner_cmd(
        data,
        &["send", "--text", "Second message", "--output", "json"],
    )
    .await));
    assert_eq!(sent["conversationIdentifier"], conversation.as_str());
    assert_eq!(sent["success"], true);
    let entry = sent["id"].as_str().unwrap().to_string();

    // A typing indicator, and a file with text.
    ok(&partner_cmd(data, &["send", "--typing", "start"]).await);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipt.txt");
    std::fs::write(&file, "total: 42").unwrap();
    let with_file = json(&ok(&partner_cmd(
        data,
        &[
            "send",
            "--attachment",
            file.to_str().unwrap(),
            "--text",
            "here it is",
            "--output",
            "json",
        ],
    )
    .await));
    let detail = server.admin().conversation(&conversation).await.unwrap();
    let texts: Vec<Option<&str>> = detail.entries.iter().map(|e| e.text.as_deref()).collect();
    assert!(texts.contains(&Some("Hello from the CLI")), "{texts:?}");
    assert!(detail.entries.iter().any(|e| e.id == entry));
    let attached = detail
        .entries
        .iter()
        .find(|e| e.id == with_file["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(attached.attachments[0].name, "receipt.txt");
    assert_eq!(attached.attachments[0].mime_type, "text/plain");
    assert!(detail
        .entries
        .iter()
        .any(|e| e.entry_type == "TypingStartedIndicator"));

    // Another end user, another conversation; a wrong address is Salesforce's refusal.
    let other = json(&ok(&partner_cmd(
        data,
        &[
            "send",
            "--text",
            "hi",
            "--from",
            "someone-else",
            "--output",
            "json",
        ],
    )
    .await));
    assert_ne!(other["conversationIdentifier"], conversation.as_str());
    let refused = fails(
        &partner_cmd(data, &["send", "--text", "hi", "--to", "no-such-address"]).await,
        1,
    );
    assert!(refused.contains("code 10017"), "{refused}");
    assert!(refused.contains("CHANNEL_ADDRESS_IDENTIFIER"), "{refused}");
    let usage = fails(&partner_cmd(data, &["send"]).await, 2);
    assert!(usage.contains("--text"), "{usage}");

    // The agent answers; the partner's subscriber hears it.
    ok(&byoc(
        data,
        &[
            "agent",
            "reply",
            "--conversation",
            &conversation,
            "--text",
            "Hi, how can I help?",
        ],
    )
    .await);
    let heard = ok(&partner_cmd(
        data,
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
    assert_eq!(
        event["interactionEvent"]["payload"]["entryPayload"]["abstractMessage"]["staticContent"]
            ["text"],
        "Hi, how can I help?"
    );
    server.stop().await.unwrap();
}

/// Run `byoc doctor --output json`, expecting exactly one failed step, `id`; return it.
async fn doctor_fails_at(data: &Path, id: &str) -> Value {
    let out = partner_cmd(data, &["doctor", "--output", "json"]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    let report = json(&stdout(&out));
    assert_eq!(report["passed"], false);
    let failed: Vec<&Value> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "fail")
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "exactly one failed step expected: {report:#}"
    );
    assert_eq!(failed[0]["id"], id, "{report:#}");
    failed[0].clone()
}

#[track_caller]
fn fix_of(step: &Value) -> String {
    step["fix"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_on_the_sample_and_names_the_one_broken_step() {
    use byoc_proto::admin::{AppInput, LinkApp, PolicyInput};
    use byoc_proto::setup::PermittedUsers;

    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    let admin = server.admin();
    let app = "BYOC Sample App";
    let ccd = partner_setting(data, "SF_AUTHORIZATION_CONTEXT");

    // The sample passes: one line per step, all ok, exit 0.
    let text = ok(&partner_cmd(data, &["doctor"]).await);
    let marks: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| &l[..l.find(']').unwrap() + 1])
        .collect();
    assert_eq!(marks, vec!["[ok]"; 8], "{text}");
    for expected in [
        "[ok] private key: SF_PRIVATE_KEY is an RSA 2048-bit key",
        "[ok] key matches the app's certificate: the key matches the certificate of 'BYOC Sample App'",
        "[ok] token carries interaction_api",
        "[ok] CCD linked to the app:",
        "[ok] channel address belongs to the CCD: a typing indicator to byoc-sample-channel-address was accepted",
        "[ok] Pub/Sub topic can be subscribed: /event/",
        "All checks passed (8 of 8).",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let report = json(&ok(
        &partner_cmd(data, &["doctor", "--output", "json"]).await
    ));
    assert_eq!(report["passed"], true);
    assert_eq!(report["target"], "byoc");
    let ids: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "settings",
            "key",
            "certificate",
            "token",
            "scope",
            "ccd",
            "address",
            "pubsub"
        ]
    );

    let restore_policy = PolicyInput {
        permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
        profiles: Some(vec!["System Administrator".into()]),
        ..Default::default()
    };

    // 1. Policy back to self-authorize: the token exchange fails, with Salesforce's words,
    //    byoc's diagnosis and the command that fixes it.
    admin
        .update_external_client_app_policies(
            app,
            &PolicyInput {
                permitted_users: Some(PermittedUsers::AllSelfAuthorized),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let step = doctor_fails_at(data, "token").await;
    assert!(
        step["detail"]
            .as_str()
            .unwrap()
            .contains("invalid_grant: user hasn't approved this consumer"),
        "{step}"
    );
    assert!(step["diagnosis"]
        .as_str()
        .unwrap()
        .contains("Admin approved users are pre-authorized"));
    assert_eq!(
        fix_of(&step),
        "byoc setup eca policies 'BYOC Sample App' --permitted-users admin-approved --profile 'System Administrator'"
    );
    let out = partner_cmd(data, &["doctor"]).await;
    let text = fails(&out, 1);
    let text = format!("{}{text}", stdout(&out));
    assert!(
        text.contains("[FAIL] token exchange (JWT Bearer):")
            && text.contains("fix: byoc setup eca policies 'BYOC Sample App'"),
        "{text}"
    );
    admin
        .update_external_client_app_policies(app, &restore_policy)
        .await
        .unwrap();

    // 2. The profile no longer assigned.
    admin
        .update_external_client_app_policies(
            app,
            &PolicyInput {
                profiles: Some(vec![]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let step = doctor_fails_at(data, "token").await;
    assert!(step["detail"]
        .as_str()
        .unwrap()
        .contains("invalid_app_access"));
    assert!(
        fix_of(&step).contains("--profile 'System Administrator'"),
        "{step}"
    );
    admin
        .update_external_client_app_policies(app, &restore_policy)
        .await
        .unwrap();

    // 3. The refresh_token scope removed.
    let scopes = |list: &[&str]| AppInput {
        scopes: Some(list.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    admin
        .update_external_client_app(app, &scopes(&["interaction_api"]))
        .await
        .unwrap();
    let step = doctor_fails_at(data, "token").await;
    assert!(step["detail"].as_str().unwrap().contains("invalid_request"));
    assert_eq!(
        fix_of(&step),
        "byoc setup eca update 'BYOC Sample App' --scopes interaction_api,refresh_token,offline_access"
    );
    admin
        .update_external_client_app(
            app,
            &scopes(&["interaction_api", "refresh_token", "offline_access"]),
        )
        .await
        .unwrap();

    // 4. The CCD linked to another app.
    let other = byoc_pki::new_self_signed("other", 30, chrono::Utc::now()).unwrap();
    admin
        .create_external_client_app(&AppInput {
            name: Some("Other App".into()),
            contact_email: Some("dev@other.example".into()),
            callback_urls: Some(vec!["https://other.example/callback".into()]),
            scopes: Some(vec!["interaction_api".into(), "refresh_token".into()]),
            jwt_bearer_enabled: Some(true),
            certificate_pem: Some(other.certificate_pem.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .link_conversation_channel_definition_app(
            &ccd,
            &LinkApp {
                app: "Other App".into(),
            },
        )
        .await
        .unwrap();
    let step = doctor_fails_at(data, "ccd").await;
    assert!(
        step["detail"].as_str().unwrap().contains("'Other App'"),
        "{step}"
    );
    assert_eq!(
        fix_of(&step),
        format!("byoc setup ccd set {ccd} --app 'BYOC Sample App'")
    );
    admin
        .link_conversation_channel_definition_app(&ccd, &LinkApp { app: app.into() })
        .await
        .unwrap();

    // 5. The app's certificate replaced by another.
    admin
        .update_external_client_app(
            app,
            &AppInput {
                certificate_pem: Some(other.certificate_pem.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let step = doctor_fails_at(data, "certificate").await;
    assert!(
        fix_of(&step).starts_with("byoc setup eca update 'BYOC Sample App' --certificate "),
        "{step}"
    );
    let sample_cert = std::fs::read_to_string(data.join("server.crt")).unwrap();
    admin
        .update_external_client_app(
            app,
            &AppInput {
                certificate_pem: Some(sample_cert),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // Everything restored: all pass again.
    ok(&partner_cmd(data, &["doctor"]).await);

    // A channel address of another CCD's channel: the probe names the right one.
    admin
        .create_channel(&byoc_proto::admin::NewChannel {
            name: "Second Channel".into(),
            channel_type: "byoc-messaging".into(),
            channel_address_identifier: "second-address".into(),
            app_managed_by: None,
            routing_owner: None,
            consent_owner: None,
            conversation_channel_definition: None,
        })
        .await
        .unwrap();
    let env_file = data.join("second.env");
    let original = std::fs::read_to_string(data.join("partner.env")).unwrap();
    std::fs::write(
        &env_file,
        original.replace(
            "CHANNEL_ADDRESS_IDENTIFIER=\"byoc-sample-channel-address\"",
            "CHANNEL_ADDRESS_IDENTIFIER=\"second-address\"",
        ),
    )
    .unwrap();
    let out = partner_cmd(
        data,
        &[
            "doctor",
            "--output",
            "json",
            "--env-file",
            env_file.to_str().unwrap(),
        ],
    )
    .await;
    let report = json(&stdout(&out));
    let address = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "address")
        .unwrap()
        .clone();
    assert_eq!(address["status"], "fail", "{report:#}");
    assert!(
        fix_of(&address).contains("set CHANNEL_ADDRESS_IDENTIFIER to byoc-sample-channel-address"),
        "{address}"
    );
    server.stop().await.unwrap();
}

/// `byoc setup token-keys rotate` and `list` (issue 9, item 6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_token_keys_rotate_and_list() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    let rotated = json(&ok(&byoc(
        data,
        &["setup", "token-keys", "rotate", "--output", "json"],
    )
    .await));
    let kid = rotated["keyId"].as_str().unwrap().to_string();
    assert_eq!(kid.len(), 4, "{rotated}");
    let listed = json(&ok(&byoc(
        data,
        &["setup", "token-keys", "list", "--output", "json"],
    )
    .await));
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{listed}");
    assert!(keys.iter().any(|k| k["keyId"] == kid.as_str()), "{listed}");
    let text = ok(&byoc(data, &["setup", "token-keys", "list"]).await);
    assert!(text.contains(&kid), "{text}");
    server.stop().await.unwrap();
}

/// `byoc inspect` (issue 11, item 3): a refused token request, in JSON one object a line with
/// Salesforce's error code, byoc's diagnosis and the fix; in text with the diagnosis and the fix
/// URL under the call; the assertion never whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_prints_a_refused_token_request_with_its_diagnosis() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    let login = server.org().login_url.clone();
    let assertion = "eyJhbGciOiJSUzI1NiJ9.eyJub3QiOiJzaWduZWQifQ.bm90LWEtc2lnbmF0dXJl";
    let r = reqwest::Client::new()
        .post(format!("{login}/services/oauth2/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Something on another host, which --host leaves out.
    ok(&byoc(data, &["setup", "eca", "list"]).await);

    let out = ok(&byoc(
        data,
        &["inspect", "--host", "token", "--failed", "--output", "json"],
    )
    .await);
    let lines: Vec<Value> = out.lines().map(json).collect();
    assert_eq!(lines.len(), 1, "{out}");
    let call = &lines[0];
    assert_eq!(call["host"], "token", "{call}");
    assert_eq!(call["operation"], "POST /services/oauth2/token");
    assert_eq!(call["status"], "400");
    assert_eq!(call["errorCode"], "invalid_grant");
    let diagnosis = call["diagnosis"].as_str().unwrap();
    assert!(!diagnosis.is_empty());
    assert!(!out.contains(assertion), "{out}");
    assert!(!out.contains("bm90LWEtc2lnbmF0dXJl"), "{out}");

    let all = ok(&byoc(data, &["inspect", "--output", "json"]).await);
    assert!(all.lines().count() >= 2, "{all}");
    assert!(all.lines().map(json).any(|c| c["host"] == "admin"), "{all}");

    let text = ok(&byoc(data, &["inspect", "--host", "token"]).await);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Time"), "{text}");
    assert!(lines[1].contains("POST /services/oauth2/token"), "{text}");
    assert!(lines[1].contains("invalid_grant"), "{text}");
    assert_eq!(lines[2], format!("    {diagnosis}"), "{text}");
    server.stop().await.unwrap();
}
