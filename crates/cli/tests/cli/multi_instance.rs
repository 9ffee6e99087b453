//! Every feature across instances (issue 13, item 1): two or three real `byoc serve` processes on
//! one PostgreSQL database ([`super::cluster`]), a client of one instance using what another one
//! issued or changed.
//!
//! - a token from instance A works on B (Interaction API, REST), a SOAP session too;
//! - a setup change made on A is in force on B — apps (JWT disabled, scopes, deleted), policies
//!   (permitted users, profiles), the CCD's link, revocations (token revoke, user deactivation).
//!   Each delay is measured from A's answer to the first request B answers the new way, printed
//!   (`propagation …`), and bounded generously (5 s: a hang, not a target);
//! - an agent reply published on A reaches a Pub/Sub subscriber connected to B;
//! - `--strict`: one assertion sent at once to three instances is accepted exactly once;
//! - the login history and the setup audit trail hold what every instance did;
//! - a console session from A works on B;
//! - a `nextRecordsUrl` from A reads on at B, and the `api-usage` count is the org's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use byoc_client::interaction::{InteractionClient, InteractionError};
use byoc_client::settings::PartnerSettings;
use byoc_client::token::{JwtBearer, StaticAccessToken, TokenError};
use byoc_client::AdminClient;
use byoc_proto::admin::{AppInput, LinkApp, NewPermissionSet, NewUser, PolicyInput, UpdateUser};
use byoc_proto::files::partner_env as env;
use byoc_proto::oauth::LoginHistoryQuery;
use byoc_proto::setup::PermittedUsers;
use serde_json::Value;

use super::cluster::{Cluster, Instance};

/// How long a change may take to be in force on another instance before the test calls it a
/// hang. The target is 1 s (measured and printed here; the LISTEN/NOTIFY work owns it).
const BOUND: Duration = Duration::from_secs(5);
const SAMPLE_APP: &str = "BYOC Sample App";

/// Instance 0's partner settings, pointed at instance `i`'s URLs.
fn partner(cluster: &Cluster, i: usize) -> PartnerSettings {
    let mut s = cluster.get(0).partner_env();
    let org = &cluster.get(i).org;
    s.set(
        env::SF_AUTH_ENDPOINT,
        format!("{}/services/oauth2/token", org.login_url),
    );
    s.set(env::SF_INSTANCE_URL, org.instance_url.clone());
    s.set(env::SF_SCRT_INSTANCE_URL, org.scrt_url.clone());
    s.set(env::SF_PUB_SUB_ENDPOINT, org.pubsub_endpoint.clone());
    s
}

/// A JWT Bearer exchange at instance `i`, as `subject` (default: the sample's) with the app of
/// `consumer_key` (default: the sample app).
async fn exchange(
    cluster: &Cluster,
    i: usize,
    subject: Option<&str>,
    consumer_key: Option<&str>,
) -> Result<String, TokenError> {
    let mut settings = partner(cluster, i).jwt_bearer().expect("JWT settings");
    if let Some(s) = subject {
        settings.username = s.to_string();
    }
    if let Some(k) = consumer_key {
        settings.consumer_key = k.to_string();
    }
    Ok(JwtBearer::new(settings)
        .expect("key")
        .fetch()
        .await?
        .access_token)
}

/// The OAuth error code of a refused exchange (panics on a transport error: a hang or a crash is
/// not a refusal).
fn refusal(result: &Result<String, TokenError>) -> Option<String> {
    match result {
        Ok(_) => None,
        Err(TokenError::Rejected { error, .. }) => {
            Some(format!("{}: {}", error.error, error.error_description))
        }
        Err(e) => panic!("the token endpoint did not answer: {e}"),
    }
}

fn admin(instance: &Instance) -> AdminClient {
    AdminClient::new(&instance.org.login_url, &instance.org.admin_token).expect("admin client")
}

/// The Interaction API of instance `i` with a fixed token.
fn interaction(cluster: &Cluster, i: usize, token: &str) -> InteractionClient {
    InteractionClient::new(
        partner(cluster, i).interaction().expect("settings"),
        Arc::new(StaticAccessToken(token.to_string())),
    )
    .expect("client")
}

/// A typing indicator on instance `i`: `Ok` or the Interaction API's error code.
async fn typing(cluster: &Cluster, i: usize, token: &str) -> Result<(), u32> {
    let s = partner(cluster, i);
    let client = interaction(cluster, i, token);
    match client
        .send_typing(
            s.channel_address().expect("address"),
            s.end_user().expect("end user"),
            byoc_client::interaction::Typing::Started,
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e @ InteractionError::Api { .. }) => Err(e.code().unwrap_or(0)),
        Err(e) => panic!("the Interaction API did not answer: {e}"),
    }
}

/// Poll `check` every 20 ms until it is true; the time it took, printed; panics after [`BOUND`].
async fn in_force<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            let took = start.elapsed();
            println!("propagation {what}: {} ms", took.as_millis());
            return took;
        }
        assert!(
            start.elapsed() < BOUND,
            "{what}: not in force on the other instance after {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn restore_policy() -> PolicyInput {
    PolicyInput {
        permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
        profiles: Some(vec!["System Administrator".into()]),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_setup_changes_cross_instances() {
    let Some(cluster) = Cluster::start("multi tokens setup", 2, &[]).await else {
        return;
    };
    let (a, b) = (cluster.get(0), cluster.get(1));
    let admin_a = admin(a);
    let mut delays = vec![];

    // A token from A works on B's Interaction API, and B's on A's.
    let token_a = exchange(&cluster, 0, None, None)
        .await
        .expect("token from A");
    let token_b = exchange(&cluster, 1, None, None)
        .await
        .expect("token from B");
    assert_eq!(typing(&cluster, 1, &token_a).await, Ok(()));
    assert_eq!(typing(&cluster, 0, &token_b).await, Ok(()));

    // A SOAP session from A works on B's REST API.
    let sid = soap_login(a).await;
    let (status, _, body) =
        rest_get(b, &sid, "/services/data/v68.0/query?q=SELECT+Id+FROM+User").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["totalSize"].as_u64().unwrap() >= 1, "{body}");

    // JWT Bearer disabled on A: B refuses the exchange; enabled again: B grants it.
    let jwt = |on: bool| AppInput {
        jwt_bearer_enabled: Some(on),
        ..Default::default()
    };
    admin_a
        .update_external_client_app(SAMPLE_APP, &jwt(false))
        .await
        .unwrap();
    delays.push(
        in_force("app JWT Bearer disabled", || async {
            refusal(&exchange(&cluster, 1, None, None).await).is_some()
        })
        .await,
    );
    admin_a
        .update_external_client_app(SAMPLE_APP, &jwt(true))
        .await
        .unwrap();
    delays.push(
        in_force("app JWT Bearer enabled again", || async {
            exchange(&cluster, 1, None, None).await.is_ok()
        })
        .await,
    );

    // Scopes: without refresh_token the JWT Bearer grant is refused (as `byoc doctor` shows).
    let scopes = |list: &[&str]| AppInput {
        scopes: Some(list.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    admin_a
        .update_external_client_app(SAMPLE_APP, &scopes(&["interaction_api"]))
        .await
        .unwrap();
    delays.push(
        in_force("app scopes changed", || async {
            refusal(&exchange(&cluster, 1, None, None).await)
                .is_some_and(|e| e.starts_with("invalid_request"))
        })
        .await,
    );
    admin_a
        .update_external_client_app(
            SAMPLE_APP,
            &scopes(&["interaction_api", "refresh_token", "offline_access"]),
        )
        .await
        .unwrap();
    in_force("app scopes restored", || async {
        exchange(&cluster, 1, None, None).await.is_ok()
    })
    .await;

    // Policies: self-authorize, then no profile.
    admin_a
        .update_external_client_app_policies(
            SAMPLE_APP,
            &PolicyInput {
                permitted_users: Some(PermittedUsers::AllSelfAuthorized),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    delays.push(
        in_force("policy permitted users", || async {
            refusal(&exchange(&cluster, 1, None, None).await)
                .is_some_and(|e| e.contains("user hasn't approved this consumer"))
        })
        .await,
    );
    admin_a
        .update_external_client_app_policies(SAMPLE_APP, &restore_policy())
        .await
        .unwrap();
    in_force("policy restored", || async {
        exchange(&cluster, 1, None, None).await.is_ok()
    })
    .await;
    admin_a
        .update_external_client_app_policies(
            SAMPLE_APP,
            &PolicyInput {
                profiles: Some(vec![]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    delays.push(
        in_force("policy profiles removed", || async {
            refusal(&exchange(&cluster, 1, None, None).await)
                .is_some_and(|e| e.starts_with("invalid_app_access"))
        })
        .await,
    );
    admin_a
        .update_external_client_app_policies(SAMPLE_APP, &restore_policy())
        .await
        .unwrap();
    in_force("profiles restored", || async {
        exchange(&cluster, 1, None, None).await.is_ok()
    })
    .await;

    // The CCD linked to another app on A: B refuses the sample app's token for that context.
    let ccd = cluster
        .get(0)
        .partner_env()
        .get(env::SF_AUTHORIZATION_CONTEXT)
        .unwrap()
        .to_string();
    let cert = std::fs::read_to_string(a.data_dir.join("server.crt")).unwrap();
    let second = admin_a
        .create_external_client_app(&AppInput {
            name: Some("Second App".into()),
            contact_email: Some("dev@second.example".into()),
            callback_urls: Some(vec!["https://second.example/callback".into()]),
            scopes: Some(vec![
                "interaction_api".into(),
                "refresh_token".into(),
                "offline_access".into(),
            ]),
            jwt_bearer_enabled: Some(true),
            certificate_pem: Some(cert),
            ..Default::default()
        })
        .await
        .unwrap()
        .record;
    admin_a
        .update_external_client_app_policies("Second App", &restore_policy())
        .await
        .unwrap();
    let second_key = second.oauth.consumer_key.clone();
    let token = exchange(&cluster, 0, None, None).await.unwrap();
    assert_eq!(typing(&cluster, 1, &token).await, Ok(()));
    admin_a
        .link_conversation_channel_definition_app(
            &ccd,
            &LinkApp {
                app: "Second App".into(),
            },
        )
        .await
        .unwrap();
    delays.push(
        in_force("CCD linked to another app", || async {
            typing(&cluster, 1, &token).await.is_err()
        })
        .await,
    );
    let refused = typing(&cluster, 1, &token).await;
    admin_a
        .link_conversation_channel_definition_app(
            &ccd,
            &LinkApp {
                app: SAMPLE_APP.into(),
            },
        )
        .await
        .unwrap();
    in_force("CCD linked back", || async {
        typing(&cluster, 1, &token).await.is_ok()
    })
    .await;
    println!("CCD relinked: the sample app's token on B got code {refused:?}");

    // The second app deleted on A: B no longer grants it tokens.
    exchange(&cluster, 1, None, Some(&second_key))
        .await
        .expect("the second app's token on B");
    admin_a
        .delete_external_client_app("Second App")
        .await
        .unwrap();
    delays.push(
        in_force("app deleted", || async {
            refusal(&exchange(&cluster, 1, None, Some(&second_key)).await).is_some()
        })
        .await,
    );

    // A token revoked on A is refused on B.
    let token = exchange(&cluster, 1, None, None).await.unwrap();
    assert_eq!(typing(&cluster, 1, &token).await, Ok(()));
    let revoked = reqwest::Client::new()
        .post(format!("{}/services/oauth2/revoke", a.org.login_url))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    delays.push(
        in_force("token revoked", || async {
            typing(&cluster, 1, &token).await == Err(10004)
        })
        .await,
    );

    // A user deactivated on A: their token is refused on B, and B grants them no new one.
    admin_a
        .create_user(&NewUser {
            username: "agent@multi.example".into(),
            email: None,
            profile: "System Administrator".into(),
            permission_sets: vec![],
            is_active: true,
        })
        .await
        .unwrap();
    let user = "agent@multi.example";
    let user_token =
        in_force_value(|| async { exchange(&cluster, 1, Some(user), None).await.ok() }).await;
    assert_eq!(typing(&cluster, 1, &user_token).await, Ok(()));
    admin_a
        .update_user(
            user,
            &UpdateUser {
                is_active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    delays.push(
        in_force("user deactivated (their token)", || async {
            typing(&cluster, 1, &user_token).await == Err(10004)
        })
        .await,
    );
    delays.push(
        in_force("user deactivated (token exchange)", || async {
            refusal(&exchange(&cluster, 1, Some(user), None).await).is_some()
        })
        .await,
    );

    let max = delays.iter().max().unwrap();
    println!(
        "propagation: {} changes, slowest {} ms, median {} ms",
        delays.len(),
        max.as_millis(),
        {
            let mut d = delays.clone();
            d.sort();
            d[d.len() / 2].as_millis()
        }
    );
}

/// Poll until `f` gives a value (a user just created on another instance), up to [`BOUND`].
async fn in_force_value<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < BOUND, "nothing after {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SOAP partner login as the org's admin at `instance`: the session id.
async fn soap_login(instance: &Instance) -> String {
    let password = instance
        .org
        .admin_password
        .clone()
        .expect("the first instance's org.json has the admin password");
    let body = format!(
        "<env:Envelope xmlns:env=\"http://schemas.xmlsoap.org/soap/envelope/\"><env:Body>\
         <login xmlns=\"urn:partner.soap.sforce.com\"><username>{}</username>\
         <password>{password}</password></login></env:Body></env:Envelope>",
        instance.org.admin_username
    );
    let text = reqwest::Client::new()
        .post(format!("{}/services/Soap/u/68.0", instance.org.login_url))
        .header("Content-Type", "text/xml; charset=UTF-8")
        .header("SOAPAction", "login")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = text.find("<sessionId>").expect(&text) + "<sessionId>".len();
    let end = text[start..].find("</sessionId>").unwrap() + start;
    text[start..end].to_string()
}

/// GET `path` on `instance`'s REST API with `token`: status, `Sforce-Limit-Info`, body.
async fn rest_get(instance: &Instance, token: &str, path: &str) -> (u16, Option<String>, Value) {
    rest_get_batch(instance, token, path, None).await
}

async fn rest_get_batch(
    instance: &Instance,
    token: &str,
    path: &str,
    batch: Option<u32>,
) -> (u16, Option<String>, Value) {
    let mut r = reqwest::Client::new()
        .get(format!("{}{path}", instance.org.instance_url))
        .bearer_auth(token);
    if let Some(n) = batch {
        r = r.header("Sforce-Query-Options", format!("batchSize={n}"));
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let limit = res
        .headers()
        .get("sforce-limit-info")
        .map(|v| v.to_str().unwrap().to_string());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, limit, body)
}

fn api_usage(limit: &Option<String>) -> u64 {
    let v = limit.as_deref().expect("Sforce-Limit-Info");
    v.strip_prefix("api-usage=")
        .and_then(|v| v.strip_suffix("/15000"))
        .unwrap_or_else(|| panic!("{v}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_sessions_cursors_and_usage_are_the_orgs() {
    let Some(cluster) = Cluster::start("multi records", 2, &[]).await else {
        return;
    };
    let (a, b) = (cluster.get(0), cluster.get(1));

    // The audit trail: changes made through each instance, visible from both.
    for (i, instance) in [a, b].iter().enumerate() {
        admin(instance)
            .create_permission_set(&NewPermissionSet {
                name: format!("Made_On_{i}"),
                label: None,
                permissions: vec![],
                object_permissions: vec![],
            })
            .await
            .unwrap();
    }
    for instance in [a, b] {
        let trail = admin(instance).audit(Some(50)).await.unwrap();
        for name in ["Made_On_0", "Made_On_1"] {
            assert!(
                trail.iter().any(|e| e.action.contains(name)),
                "{name} missing from the audit trail of {}",
                instance.org.login_url
            );
        }
    }

    // The login history: token requests answered by each instance (flushed in batches off the
    // request path), all of them visible from both.
    let query = LoginHistoryQuery {
        limit: Some(1000),
        ..Default::default()
    };
    let before = admin(a).login_history(&query).await.unwrap().len();
    for i in [0, 1, 0, 1, 1] {
        exchange(&cluster, i, None, None).await.unwrap();
    }
    exchange(&cluster, 0, Some("nobody@multi.example"), None)
        .await
        .unwrap_err();
    for (i, instance) in [a, b].iter().enumerate() {
        in_force(
            &format!("login history complete on instance {i}"),
            || async {
                let history = admin(instance).login_history(&query).await.unwrap();
                history.len() >= before + 6
            },
        )
        .await;
    }
    let history = admin(b).login_history(&query).await.unwrap();
    assert_eq!(history.len(), before + 6);

    // A console session from A (frontdoor with the admin credential) works on B.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let printed = super::json(&super::ok(
        &super::byoc(&a.data_dir, &["open", "--print", "--output", "json"]).await,
    ));
    let res = http
        .get(printed["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    let sid = cookie.split(';').next().unwrap().to_string();
    let page = format!("{}/lightning/setup/ManageUsers/home", b.org.login_url);
    let res = http.get(&page).header("Cookie", &sid).send().await.unwrap();
    assert_eq!(res.status(), 200, "A's console session on B");
    let anonymous = http.get(&page).send().await.unwrap();
    assert_ne!(anonymous.status(), 200, "B's console without a session");

    // Query cursors: more than one batch of the audit trail; page 1 from A, the rest from B
    // (and back), every record once.
    for i in 0..400 {
        admin(a)
            .create_permission_set(&NewPermissionSet {
                name: format!("Paging_{i}"),
                label: None,
                permissions: vec![],
                object_permissions: vec![],
            })
            .await
            .unwrap();
    }
    let token = &a.org.admin_token;
    let q =
        "/services/data/v68.0/query?q=SELECT+Id,Action+FROM+SetupAuditTrail+ORDER+BY+CreatedDate";
    let (status, _, mut page) = rest_get_batch(a, token, q, Some(200)).await;
    assert_eq!(status, 200, "{page}");
    let total = page["totalSize"].as_u64().unwrap() as usize;
    assert!(total > 400, "{total}");
    let mut ids = std::collections::HashSet::new();
    let mut on = 0;
    loop {
        for r in page["records"].as_array().unwrap() {
            assert!(ids.insert(r["Id"].as_str().unwrap().to_string()));
        }
        if page["done"] == true {
            break;
        }
        on = 1 - on;
        let next = page["nextRecordsUrl"].as_str().unwrap().to_string();
        let (status, _, body) = rest_get_batch(cluster.get(on), token, &next, Some(200)).await;
        assert_eq!(status, 200, "{next} on instance {on}: {body}");
        page = body;
    }
    assert_eq!(ids.len(), total);
    // Someone else's locator is refused on either instance.
    let (_, _, first) = rest_get_batch(a, token, q, Some(200)).await;
    let next = first["nextRecordsUrl"].as_str().unwrap();
    let sid = soap_login(a).await;
    let (status, _, body) = rest_get(b, &sid, next).await;
    assert_eq!(status, 200, "the same user through a session: {body}");
    let (status, _, body) = rest_get(
        b,
        &b.org.admin_token,
        "/services/data/v68.0/query/01gAAAAAAAAAAAAAAA-200",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body[0]["errorCode"], "INVALID_QUERY_LOCATOR");

    // The API usage count is the org's: once both have flushed, B counts A's calls.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut n_a = 0;
    for _ in 0..40 {
        let (status, limit, _) = rest_get(a, token, "/services/data/v68.0/").await;
        assert_eq!(status, 200);
        n_a = api_usage(&limit);
    }
    let mut b_calls = 0;
    let took = in_force("API usage of A counted on B", || {
        b_calls += 1;
        let expected = n_a + b_calls;
        async move {
            let (_, limit, _) = rest_get(b, token, "/services/data/v68.0/").await;
            api_usage(&limit) == expected
        }
    })
    .await;
    assert!(took < BOUND);
    let (_, _, limits) = rest_get(b, token, "/services/data/v68.0/limits").await;
    assert_eq!(
        limits["DailyApiRequests"]["Remaining"].as_u64().unwrap(),
        15000 - (n_a + b_calls + 1),
        "{limits}"
    );
}

/// `--strict`: one assertion sent at the same moment to three instances is accepted by exactly
/// one; the others answer Salesforce's refusal of a replayed assertion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_jti_replay_is_refused_across_instances() {
    let Some(cluster) = Cluster::start("multi strict jti", 3, &["--strict"]).await else {
        return;
    };
    let bearer = JwtBearer::new(partner(&cluster, 0).jwt_bearer().unwrap()).unwrap();
    for round in 0..5 {
        let assertion = bearer.assertion().unwrap();
        let http = reqwest::Client::new();
        let sends = (0..3).map(|i| {
            let (http, assertion) = (http.clone(), assertion.clone());
            let url = format!("{}/services/oauth2/token", cluster.get(i).org.login_url);
            async move {
                let res = http
                    .post(url)
                    .form(&[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                        ("assertion", assertion.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            }
        });
        let handles: Vec<_> = sends.map(tokio::spawn).collect();
        let mut answers = vec![];
        for h in handles {
            answers.push(h.await.unwrap());
        }
        let granted = answers.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(granted, 1, "round {round}: {answers:?}");
        for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(*status, 400, "{body}");
            assert_eq!(body["error"], "invalid_grant", "{body}");
            assert_eq!(body["error_description"], "invalid assertion", "{body}");
        }
    }
}

/// An agent reply published through A reaches a Pub/Sub subscriber connected to B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reply_on_a_reaches_a_subscriber_on_b() {
    use byoc_client::pubsub::{Replay, StaticToken, Subscriber};
    let Some(cluster) = Cluster::start("multi pubsub", 2, &[]).await else {
        return;
    };
    let (a, b) = (cluster.get(0), cluster.get(1));
    let token = exchange(&cluster, 1, None, None).await.unwrap();
    let settings_b = partner(&cluster, 1);
    let ca = std::fs::read_to_string(&b.org.ca_cert).unwrap();
    let subscriber = Subscriber::connect(
        settings_b.pubsub(Some(ca)).unwrap(),
        Arc::new(StaticToken(token.clone())),
    )
    .await
    .unwrap();
    let topic = settings_b
        .get(env::SF_PUB_SUB_TOPIC_NAME)
        .unwrap()
        .to_string();
    let mut subscription = subscriber.subscribe(&topic, Replay::Earliest, 10);

    // The end user writes through A; the agent answers through A.
    let sent = interaction(&cluster, 0, &token)
        .send_text(
            settings_b.channel_address().unwrap(),
            settings_b.end_user().unwrap(),
            "hello from the end user",
        )
        .await
        .unwrap();
    let text = format!("reply through A at {:?}", Instant::now());
    let replied_at = Instant::now();
    admin(a)
        .agent_reply(&sent.conversation_identifier, &text)
        .await
        .unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let event = subscription
                .next_event()
                .await
                .unwrap()
                .expect("the stream ended");
            if event.fields.to_string().contains(&text) {
                return event;
            }
        }
    })
    .await
    .expect("the reply reached B's subscriber within 20 s");
    println!(
        "agent reply on A -> event on B's subscriber: {} ms",
        replied_at.elapsed().as_millis()
    );
    assert!(heard
        .fields
        .to_string()
        .contains(&sent.conversation_identifier));
}
