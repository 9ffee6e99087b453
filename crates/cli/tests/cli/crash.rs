//! `kill -9` during a burst of interactions loses nothing that got a 202: the real `byoc serve`
//! process, real HTTP, the SQLite file in its data dir; then a restart on the same data dir.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use byoc_client::settings::PartnerSettings;
use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_proto::files::OrgFile;
use serde_json::Value;

/// Start `byoc serve` on free ports (SQLite in `data_dir`) and wait for its ready line.
async fn serve(data_dir: &std::path::Path) -> (tokio::process::Child, OrgFile) {
    let instance = super::cluster::start_instance(data_dir, None, &[])
        .await
        .expect("byoc serve became ready");
    (instance.child, instance.org)
}

fn interaction(to: &str, from: &str, entry_id: &str) -> Value {
    super::cluster::text_interaction(to, from, entry_id, &format!("burst {entry_id}"))
}

#[tokio::test]
async fn kill_9_during_a_burst_loses_no_acknowledged_interaction() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, org) = serve(&data).await;
    let env = PartnerSettings::from_env_file(data.join("partner.env")).expect("partner.env");
    let get = |k: &str| {
        env.get(k)
            .unwrap_or_else(|| panic!("{k} in partner.env"))
            .to_string()
    };
    let bearer = JwtBearer::new(JwtBearerSettings {
        token_url: get("SF_AUTH_ENDPOINT"),
        consumer_key: get("SF_CONSUMER_KEY"),
        username: get("SF_SUBJECT"),
        audience: get("SF_AUDIENCE"),
        private_key_pem: get("SF_PRIVATE_KEY"),
    })
    .unwrap();
    let token = bearer.fetch().await.expect("token").access_token;

    let url = format!("{}/api/v1/interactions", get("SF_SCRT_INSTANCE_URL"));
    let address = get("CHANNEL_ADDRESS_IDENTIFIER");
    let ccd = get("SF_AUTHORIZATION_CONTEXT");
    let http = reqwest::Client::new();
    // (conversation, entry id) of every interaction answered 202.
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (http, url, token, address, ccd, org_id) = (
            http.clone(),
            url.clone(),
            token.clone(),
            address.clone(),
            ccd.clone(),
            org.org_id.clone(),
        );
        let (acknowledged, stop, sent) = (acknowledged.clone(), stop.clone(), sent.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let entry = format!("crash-{w}-{n}");
                let form = reqwest::multipart::Form::new().part(
                    "json",
                    reqwest::multipart::Part::text(
                        interaction(&address, &format!("end-user-{w}"), &entry).to_string(),
                    )
                    .mime_str("application/json")
                    .unwrap(),
                );
                let resp = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("OrgId", &org_id)
                    .header("AuthorizationContext", &ccd)
                    .header("RequestId", format!("req-{w}-{n}"))
                    .multipart(form)
                    .send()
                    .await;
                sent.fetch_add(1, Ordering::Relaxed);
                // After the kill, requests fail; only 202s count.
                let Ok(resp) = resp else { continue };
                if resp.status() == 202 {
                    if let Ok(body) = resp.json::<Value>().await {
                        if let Some(conversation) = body["conversationIdentifier"].as_str() {
                            acknowledged
                                .lock()
                                .unwrap()
                                .push((conversation.to_string(), entry));
                        }
                    }
                }
            }
        }));
    }
    // Let the burst run, then SIGKILL mid-flight.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.start_kill().expect("kill -9");
    child.wait().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!(
        "kill -9 burst: {} acknowledged of {} sent",
        acknowledged.len(),
        sent.load(Ordering::Relaxed)
    );
    assert!(
        acknowledged.len() > 20,
        "the burst got going: {} acknowledged of {} sent",
        acknowledged.len(),
        sent.load(Ordering::Relaxed)
    );

    // Restart on the same data dir: every acknowledged entry is there.
    let (mut child, org) = serve(&data).await;
    let admin = byoc_client::AdminClient::new(&org.login_url, &org.admin_token).unwrap();
    let conversations: HashSet<String> = acknowledged.iter().map(|(c, _)| c.clone()).collect();
    let mut stored: HashSet<String> = HashSet::new();
    for c in &conversations {
        let detail = admin
            .conversation(c)
            .await
            .expect("conversation after restart");
        stored.extend(detail.entries.into_iter().map(|e| e.id));
    }
    let lost: Vec<&String> = acknowledged
        .iter()
        .map(|(_, e)| e)
        .filter(|e| !stored.contains(*e))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged interactions lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
