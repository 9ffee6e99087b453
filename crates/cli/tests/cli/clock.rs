//! The org clock (`byoc clock`, docs/org-as-code.md "The org clock") against real `byoc serve`
//! processes: refused without `--allow-clock-control`; advance/set/real shown by every instance
//! on one PostgreSQL; an access token expires after advancing past its lifetime; advancing past a
//! certificate's expiry makes `byoc token` fail with Salesforce's error, explained in the login
//! history; retention purges events older than 72 hours by the org's time.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cluster::{start_instance, Cluster};
use super::{byoc, fails, json, ok, partner_cmd};

const HOUR_MS: i64 = 3_600_000;

/// `byoc clock ARGS --output json` against the server of `data`.
async fn clock(data: &Path, args: &[&str]) -> Value {
    let mut argv = vec!["--output", "json", "clock"];
    argv.extend(args);
    json(&ok(&byoc(data, &argv).await))
}

/// The `clock` object of `DATA/org.json` (`Value::Null` when absent).
fn org_json_clock(data: &Path) -> Value {
    let text = std::fs::read_to_string(data.join("org.json")).expect("org.json");
    json(&text)["clock"].clone()
}

/// `GET /admin/v1/clock` on `login_url`.
async fn clock_over_http(login_url: &str, admin_token: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{login_url}/admin/v1/clock"))
        .bearer_auth(admin_token)
        .send()
        .await
        .expect("GET /admin/v1/clock")
        .json()
        .await
        .expect("JSON")
}

fn millis(rfc3339: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().expect("a time"))
        .expect("RFC 3339")
        .timestamp_millis()
}

fn real_now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_clock_is_refused_unless_the_server_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_instance(&data, None, &[]).await.unwrap();

    let shown = clock(&data, &["show"]).await;
    assert_eq!(shown["real"], true, "{shown}");
    assert_eq!(shown["offsetMillis"], 0, "{shown}");
    assert!(
        (millis(&shown["now"]) - real_now()).abs() < 60_000,
        "{shown}"
    );

    for args in [
        vec!["clock", "advance", "3h"],
        vec!["clock", "set", "2027-01-01T00:00:00Z"],
        vec!["clock", "real"],
    ] {
        let err = fails(&byoc(&data, &args).await, 1);
        assert!(
            err.contains("FUNCTIONALITY_NOT_ENABLED") || err.contains("not enabled"),
            "{err}"
        );
        assert!(err.contains("--allow-clock-control"), "{err}");
    }
    // The admin API's answer, in Salesforce's REST error shape.
    let (status, body) = post_clock(&server.org, r#"{"advance":"3h"}"#).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body[0]["errorCode"], "FUNCTIONALITY_NOT_ENABLED", "{body}");
    assert!(
        body[0]["message"]
            .as_str()
            .unwrap()
            .contains("--allow-clock-control"),
        "{body}"
    );

    // Nothing changed.
    let shown = clock(&data, &["show"]).await;
    assert_eq!(shown["offsetMillis"], 0, "{shown}");
    assert_eq!(org_json_clock(&data), Value::Null);

    // Bad input is a usage error, before any request.
    let err = fails(&byoc(&data, &["clock", "advance", "3 hours"]).await, 2);
    assert!(
        err.contains("not a duration") && err.contains("1h30m"),
        "{err}"
    );
    let err = fails(&byoc(&data, &["clock", "set", "tomorrow"]).await, 2);
    assert!(
        err.contains("RFC 3339") && err.contains("2027-01-01T00:00:00Z"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advance_set_and_real_and_an_access_token_outlives_its_lifetime_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_instance(&data, None, &["--allow-clock-control"])
        .await
        .unwrap();
    let login = server.org.login_url.clone();

    // A token from the sample app works now.
    let token = json(&ok(
        &partner_cmd(&data, &["token", "--output", "json"]).await
    ));
    let access = token["access_token"].as_str().unwrap().to_string();
    let userinfo = |access: String| {
        let login = login.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{login}/services/oauth2/userinfo"))
                .bearer_auth(access)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(userinfo(access.clone()).await, 200);

    // Advance 1h: the token (2 hours) still works; org.json shows the clock.
    let moved = clock(&data, &["advance", "1h"]).await;
    assert_eq!(moved["offsetMillis"], HOUR_MS, "{moved}");
    assert_eq!(moved["real"], false, "{moved}");
    assert!(
        (millis(&moved["now"]) - real_now() - HOUR_MS).abs() < 60_000,
        "{moved}"
    );
    assert_eq!(userinfo(access.clone()).await, 200);
    let text = ok(&byoc(&data, &["clock", "show"]).await);
    assert!(text.contains("+1h from real time"), "{text}");
    let file = wait_for(|| {
        let c = org_json_clock(&data);
        (c["offsetMillis"] == HOUR_MS).then_some(c)
    })
    .await;
    assert!(
        (millis(&file["now"]) - real_now() - HOUR_MS).abs() < 60_000,
        "{file}"
    );

    // The console's header shows the org's time on every page.
    let header = console_header(&login, &server.org.admin_token).await;
    assert!(header.contains("Org clock: "), "{header}");
    assert!(header.contains("(+1h)"), "{header}");

    // Another 1h30m: past the token's lifetime, it is refused (userinfo's answer to a bad
    // token is Salesforce's 403 Bad_OAuth_Token).
    let moved = clock(&data, &["advance", "1h30m"]).await;
    assert_eq!(moved["offsetMillis"], HOUR_MS * 5 / 2, "{moved}");
    assert_eq!(userinfo(access.clone()).await, 403);

    // Bad bodies: 400 with what is accepted, never a 500; nothing moves.
    for (body, code, says) in [
        (
            r#"{"advance":"3 parsecs"}"#,
            "INVALID_FIELD",
            "not a duration",
        ),
        (r#"{"advance":"400000d"}"#, "INVALID_FIELD", "1000 years"),
        (r#"{"set":"yesterday"}"#, "INVALID_FIELD", "RFC 3339"),
        (
            r#"{"set":"10000-01-01T00:00:00Z"}"#,
            "INVALID_FIELD",
            "RFC 3339",
        ),
        (
            r#"{"set":"1969-12-31T23:59:59Z"}"#,
            "INVALID_FIELD",
            "1970 to 9999",
        ),
        (r#"{"real":false}"#, "INVALID_FIELD", "only true"),
        (
            r#"{"advance":"1h","real":true}"#,
            "INVALID_FIELD",
            "exactly one",
        ),
        (r#"{}"#, "INVALID_FIELD", "exactly one"),
        (
            r#"{"advance":"1h","later":1}"#,
            "JSON_PARSER_ERROR",
            "later",
        ),
        (r#"not json"#, "JSON_PARSER_ERROR", ""),
    ] {
        let (status, answer) = post_clock(&server.org, body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer[0]["errorCode"], code, "{body}: {answer}");
        assert!(
            answer[0]["message"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    assert_eq!(
        clock(&data, &["show"]).await["offsetMillis"],
        HOUR_MS * 5 / 2
    );

    // Set: the clock shows that time and runs on from there.
    let set = clock(&data, &["set", "2027-01-01T00:00:00Z"]).await;
    let target = millis(&Value::from("2027-01-01T00:00:00Z"));
    assert!((millis(&set["now"]) - target).abs() < 5_000, "{set}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = clock(&data, &["show"]).await;
    assert!(millis(&later["now"]) >= target + 1000, "{later}");

    // Backwards is allowed too.
    let back = clock(&data, &["advance", "-1d"]).await;
    assert!(
        (millis(&back["now"]) - (target - 24 * HOUR_MS)).abs() < 60_000,
        "{back}"
    );

    // Real: no offset, no clock in org.json; a new token works again.
    let real = clock(&data, &["real"]).await;
    assert_eq!(real["real"], true, "{real}");
    assert_eq!(real["offsetMillis"], 0, "{real}");
    wait_for(|| (org_json_clock(&data) == Value::Null).then_some(())).await;
    let token = json(&ok(
        &partner_cmd(&data, &["token", "--output", "json"]).await
    ));
    assert_eq!(
        userinfo(token["access_token"].as_str().unwrap().to_string()).await,
        200
    );

    // Every move is in the setup audit trail.
    let audit = ok(&byoc(&data, &["setup", "audit", "--limit", "10"]).await);
    for action in [
        "Advanced the org clock by +1h",
        "Set the org clock to 2027-01-01T00:00:00.000Z",
        "Returned the org clock to real time",
    ] {
        assert!(audit.contains(action), "{action:?} missing in:\n{audit}");
    }

    // Only Modify All Data may move it.
    ok(&byoc(
        &data,
        &[
            "setup",
            "user",
            "create",
            "--username",
            "std@clock.example",
            "--profile",
            "Standard User",
        ],
    )
    .await);
    let err = fails(
        &byoc(
            &data,
            &["--as", "std@clock.example", "clock", "advance", "1h"],
        )
        .await,
        1,
    );
    assert!(err.contains("Modify All Data"), "{err}");
    assert_eq!(clock(&data, &["show"]).await["offsetMillis"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgresql_see_each_others_moves() {
    let Some(cluster) = Cluster::start("clock_moves", 2, &["--allow-clock-control"]).await else {
        return;
    };
    let (a, b) = (cluster.get(0), cluster.get(1));

    for (mover, watcher, args, offset) in [
        (a, b, vec!["advance", "2d"], Some(48 * HOUR_MS)),
        (b, a, vec!["set", "2030-06-01T12:00:00Z"], None),
        (a, b, vec!["real"], Some(0)),
    ] {
        let moved = clock(&mover.data_dir, &args).await;
        let expected = offset.unwrap_or(moved["offsetMillis"].as_i64().unwrap());
        let started = Instant::now();
        loop {
            let seen = clock_over_http(&watcher.org.login_url, &watcher.org.admin_token).await;
            if seen["offsetMillis"] == expected {
                break;
            }
            // A generous bound, not a timing assertion: the notice takes milliseconds; the
            // test only must not hang when it never comes (a shared, loaded CI machine).
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{args:?}: the other instance still shows {seen} after 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "clock {args:?}: the other instance followed in {} ms",
            started.elapsed().as_millis()
        );
        // And its org.json follows.
        wait_for(|| {
            let c = org_json_clock(&watcher.data_dir);
            let offset = if c.is_null() {
                0
            } else {
                c["offsetMillis"].as_i64()?
            };
            (offset == expected).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_expired_by_the_org_clock_refuses_the_token_as_salesforce_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _server = start_instance(&data, None, &["--allow-clock-control"])
        .await
        .unwrap();
    let keys = dir.path().join("keys");
    ok(&byoc(
        &data,
        &[
            "cert",
            "new",
            "--out",
            keys.to_str().unwrap(),
            "--cn",
            "acme",
            "--days",
            "1",
        ],
    )
    .await);
    let created = json(&ok(&byoc(
        &data,
        &[
            "--output",
            "json",
            "setup",
            "eca",
            "create",
            "--name",
            "Short Lived",
            "--contact-email",
            "ops@acme.example",
            "--callback-url",
            "https://acme.example/cb",
            "--scopes",
            "interaction_api,refresh_token,offline_access",
            "--jwt-bearer",
            "--certificate",
            keys.join("server.crt").to_str().unwrap(),
        ],
    )
    .await));
    let consumer_key = find_consumer_key(&created);
    ok(&byoc(
        &data,
        &[
            "setup",
            "eca",
            "policies",
            "Short Lived",
            "--permitted-users",
            "admin-approved",
            "--profile",
            "System Administrator",
        ],
    )
    .await);
    let key_file = keys.join("server.key");
    let token_args = [
        "token",
        "--consumer-key",
        &consumer_key,
        "--key-file",
        key_file.to_str().unwrap(),
    ];
    ok(&partner_cmd(&data, &token_args).await);

    // Two days on, the certificate has expired by the org's time, and the partner's assertion
    // (signed with real time, exp a few minutes ahead) is expired too: Salesforce's error.
    clock(&data, &["advance", "2d"]).await;
    let err = fails(&partner_cmd(&data, &token_args).await, 1);
    assert!(err.contains("invalid_grant"), "{err}");
    assert!(err.contains("expired authorization code"), "{err}");
    assert!(err.contains("org clock was moved"), "{err}");

    // The login history is written in batches: wait for the refusal to land.
    let started = Instant::now();
    let logins = loop {
        let logins = json(&ok(&byoc(
            &data,
            &[
                "--output",
                "json",
                "logins",
                "--app",
                "Short Lived",
                "--status",
                "failure",
            ],
        )
        .await));
        if logins.as_array().is_some_and(|a| !a.is_empty()) {
            break logins;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no failed login recorded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let diagnosis = logins[0]["diagnosis"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        logins[0]["errorDescription"], "expired authorization code",
        "{logins}"
    );
    assert!(diagnosis.contains("org clock was moved"), "{diagnosis}");
    assert!(diagnosis.contains("+2d from real time"), "{diagnosis}");
    assert!(diagnosis.contains("certificate expired at"), "{diagnosis}");
    assert!(diagnosis.contains("byoc clock real"), "{diagnosis}");

    // byoc doctor names the way back as the fix.
    let doctor = partner_cmd(&data, &["doctor"]).await;
    assert!(!doctor.status.success());
    let report = format!("{}{}", super::stdout(&doctor), super::stderr(&doctor));
    assert!(report.contains("byoc clock real"), "{report}");

    // Back to real time: the same request works again.
    clock(&data, &["real"]).await;
    ok(&partner_cmd(&data, &token_args).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_refuses_the_certificate_expired_by_the_org_clock() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _server = start_instance(&data, None, &["--allow-clock-control", "--strict"])
        .await
        .unwrap();
    let keys = dir.path().join("keys");
    ok(&byoc(
        &data,
        &[
            "cert",
            "new",
            "--out",
            keys.to_str().unwrap(),
            "--days",
            "1",
        ],
    )
    .await);
    ok(&byoc(
        &data,
        &[
            "setup",
            "eca",
            "update",
            &sample_app(&data).await,
            "--jwt-bearer",
            "--certificate",
            keys.join("server.crt").to_str().unwrap(),
        ],
    )
    .await);
    let key_file = keys.join("server.key");
    let token_args = ["token", "--key-file", key_file.to_str().unwrap()];
    ok(&partner_cmd(&data, &token_args).await);
    // 1 day and 1 hour on the certificate expired by the org clock, while the assertion's
    // exp is judged... by the org clock too, so it is the certificate strict mode names first.
    clock(&data, &["advance", "25h"]).await;
    let err = fails(&partner_cmd(&data, &token_args).await, 1);
    assert!(err.contains("invalid_client"), "{err}");
    assert!(err.contains("strict mode: the certificate"), "{err}");
    assert!(err.contains("certificate expired at"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_older_than_retention_by_the_org_clock_are_purged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _server = start_instance(&data, None, &["--allow-clock-control"])
        .await
        .unwrap();
    let sent = json(&ok(&partner_cmd(
        &data,
        &["send", "--text", "hello", "--output", "json"],
    )
    .await));
    let conversation = sent["conversationIdentifier"].as_str().unwrap().to_string();
    ok(&byoc(
        &data,
        &[
            "agent",
            "reply",
            "--conversation",
            &conversation,
            "--text",
            "hi",
        ],
    )
    .await);
    let topic = "/event/Byoc_Outbound__e";
    let store = byoc_store::Store::open(&format!("sqlite://{}", data.join("byoc.db").display()))
        .await
        .unwrap();
    let retained = || async {
        store
            .repo()
            .read_events(topic, -1, 100)
            .await
            .unwrap()
            .len()
    };
    assert_eq!(retained().await, 1);

    // 71 hours on the event is kept (72 hours of retention)...
    clock(&data, &["advance", "71h"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(retained().await, 1);
    // ...and at 73 hours it is gone, at once, without waiting for the hourly purge.
    clock(&data, &["advance", "2h"]).await;
    let started = Instant::now();
    while retained().await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the event is still retained"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `POST /admin/v1/clock` with `body` as the admin: the status and the JSON answer.
async fn post_clock(org: &byoc_proto::files::OrgFile, body: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/admin/v1/clock", org.login_url))
        .bearer_auth(&org.admin_token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The console's home page, logged in through `frontdoor.jsp` with the admin credential, up to
/// the end of its header.
async fn console_header(login_url: &str, admin_token: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let front = client
        .get(format!("{login_url}/secur/frontdoor.jsp"))
        .query(&[("sid", admin_token)])
        .send()
        .await
        .unwrap();
    let cookie = front
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sid="))
        .and_then(|c| c.split(';').next())
        .expect("a sid cookie")
        .to_string();
    let page = client
        .get(format!("{login_url}/lightning/setup/SetupOneHome/home"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let end = html.find("</header>").expect("a header");
    html[..end].to_string()
}

/// Poll `check` for up to 10 seconds.
async fn wait_for<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The consumer key in `setup eca create --output json`'s answer.
fn find_consumer_key(created: &Value) -> String {
    for path in [
        &["record", "oauth", "consumerKey"][..],
        &["oauth", "consumerKey"][..],
        &["consumerKey"][..],
    ] {
        let mut v = created;
        for p in path {
            v = &v[*p];
        }
        if let Some(key) = v.as_str() {
            return key.to_string();
        }
    }
    panic!("no consumer key in {created}");
}

/// The name of the sample app (the first External Client App).
async fn sample_app(data: &Path) -> String {
    let apps = json(&ok(&byoc(
        data,
        &["--output", "json", "setup", "eca", "list"],
    )
    .await));
    apps[0]["name"].as_str().unwrap().to_string()
}
