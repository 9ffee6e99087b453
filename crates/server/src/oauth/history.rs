//! Login history: every token request becomes a [`LoginHistoryEntry`]. Requests hand entries to a
//! channel and move on; one flusher task writes whatever has queued in one transaction per batch,
//! lingering briefly after the first entry so a burst shares one transaction (a commit costs far
//! more than a row).
//! On shutdown the flusher keeps going until every sender is gone (the HTTP host has finished its
//! in-flight requests) or the drain deadline passes (`--drain-timeout`, [`crate::Flushers`]), then
//! writes whatever is queued: no attempt recorded before the stop is lost on a clean stop.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use byoc_core::SetupAction;
use byoc_proto::admin::RestError;
use byoc_proto::oauth::{LoginHistoryEntry, LoginHistoryQuery, LoginStatus};
use byoc_store::oauth::LoginHistoryFilter;
use byoc_store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::admin_api::{Acting, AdminState, ApiError};
use crate::setup_service::ServiceError;

/// Entries queued beyond this make requests wait for the flusher (backpressure, not loss).
const QUEUE: usize = 65_536;
/// At most this many rows per transaction.
const BATCH: usize = 1_024;
/// How long the flusher waits for more entries after the first before writing: under load the
/// rows of a burst share one transaction; an attempt is visible in the history this much later.
const LINGER: Duration = Duration::from_millis(20);
/// How long a batch waits for a database that is unavailable before its rows are given up.
const UNAVAILABLE_PATIENCE: Duration = Duration::from_secs(60);

/// Salesforce's *Login Type* for OAuth logins.
pub const LOGIN_TYPE: &str = "Remote Access 2.0";

#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<LoginHistoryEntry>,
}

impl Recorder {
    pub async fn record(&self, entry: LoginHistoryEntry) {
        if self.tx.send(entry).await.is_err() {
            tracing::warn!("login history: the flusher has stopped; an attempt was not recorded");
        }
    }
}

pub fn channel() -> (Recorder, mpsc::Receiver<LoginHistoryEntry>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (Recorder { tx }, rx)
}

/// A copy of `entry` every backend can store: control characters (NUL above all, which
/// PostgreSQL text cannot hold) become U+FFFD. The history is read by people; what an attacker
/// put in `sub` is still visible, just not as raw control bytes.
fn storable(mut entry: LoginHistoryEntry) -> LoginHistoryEntry {
    fn clean(s: &mut String) {
        if s.chars().any(char::is_control) {
            *s = s
                .chars()
                .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
                .collect();
        }
    }
    clean(&mut entry.username);
    clean(&mut entry.login_type);
    for s in [
        &mut entry.user_id,
        &mut entry.application,
        &mut entry.consumer_key,
        &mut entry.error,
        &mut entry.error_description,
        &mut entry.diagnosis,
        &mut entry.source_ip,
    ]
    .into_iter()
    .flatten()
    {
        clean(s);
    }
    entry
}

/// Write `batch`; while the database is unavailable, keep trying for up to
/// [`UNAVAILABLE_PATIENCE`] (5 s once the stop's `deadline` passed, so a stop stays bounded).
async fn write(store: &Store, batch: &[LoginHistoryEntry], deadline: &CancellationToken) {
    let batch: Vec<LoginHistoryEntry> = batch.iter().cloned().map(storable).collect();
    let mut delay = Duration::from_millis(100);
    let started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store.repo().record_logins(&batch).await {
            Ok(()) => return,
            // The database is away (restarting, a cut connection): keep the rows and try again
            // for up to UNAVAILABLE_PATIENCE; requests go on queueing meanwhile (QUEUE bounds it).
            Err(e)
                if e.is_unavailable()
                    && started.elapsed()
                        < if deadline.is_cancelled() {
                            Duration::from_secs(5)
                        } else {
                            UNAVAILABLE_PATIENCE
                        } =>
            {
                tracing::warn!(error = %e, attempt, rows = batch.len(), "login history write failed: the database is unavailable; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) if attempt < 5 && !e.is_unavailable() => {
                tracing::warn!(error = %e, attempt, rows = batch.len(), "login history write failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) if batch.len() == 1 => {
                tracing::error!(error = %e, username = %batch[0].username, "login history write failed; row dropped");
                return;
            }
            Err(e) => {
                // One row the database refuses must not cost the others: write them one by one
                // (once each: a database that is down was already given its retries).
                tracing::warn!(error = %e, rows = batch.len(), "login history batch failed; writing its rows one by one");
                for row in &batch {
                    if let Err(e) = store.repo().record_logins(std::slice::from_ref(row)).await {
                        tracing::error!(error = %e, username = %row.username, login_time = row.login_time, "login history write failed; row dropped");
                    }
                }
                return;
            }
        }
    }
}

/// The flusher task: runs until every sender is gone, or until `deadline` (the clean stop's
/// drain deadline passed, some request still holds a sender), writing what is queued either way.
pub async fn flush(
    store: Store,
    rx: &mut mpsc::Receiver<LoginHistoryEntry>,
    deadline: CancellationToken,
) -> anyhow::Result<()> {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                linger(rx, &mut batch).await;
                write(&store, &batch, &deadline).await;
                batch.clear();
            }
            _ = deadline.cancelled() => {
                // Something still holds a sender; write what is queued and stop.
                rx.close();
                while rx.recv_many(&mut batch, BATCH).await > 0 {
                    write(&store, &batch, &deadline).await;
                    batch.clear();
                }
                break;
            }
        }
    }
    Ok(())
}

/// Add what arrives within [`LINGER`] to `batch`, up to [`BATCH`] rows.
async fn linger(rx: &mut mpsc::Receiver<LoginHistoryEntry>, batch: &mut Vec<LoginHistoryEntry>) {
    let deadline = tokio::time::sleep(LINGER);
    tokio::pin!(deadline);
    while batch.len() < BATCH {
        tokio::select! {
            n = rx.recv_many(batch, BATCH - batch.len()) => {
                if n == 0 {
                    // Every sender is gone: write what we have; the loop then stops.
                    return;
                }
            }
            _ = &mut deadline => return,
        }
    }
}

fn bad_query(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(vec![RestError {
            message,
            error_code: "MALFORMED_QUERY".into(),
            fields: vec![],
        }]),
    )
        .into_response()
}

/// `GET /admin/v1/login-history?limit=&username=&app=&status=`, newest first. Needs the
/// permission Setup's Login History needs (*Manage Users*, which byoc maps to *Manage Profiles
/// and Permission Sets*).
pub async fn list(
    State(s): State<AdminState>,
    Acting(actor): Acting,
    query: Result<Query<LoginHistoryQuery>, QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return bad_query(e.body_text()),
    };
    if let Err(e) = actor.authorize(SetupAction::ManageUsers) {
        return ApiError::from(e).into_response();
    }
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match LoginStatus::parse(s) {
            Some(v) => Some(v),
            None => return bad_query(format!("status must be Success or Failed, not {s:?}")),
        },
    };
    let filter = LoginHistoryFilter {
        limit: q.limit.unwrap_or(100).clamp(1, 10_000),
        username: q.username.filter(|u| !u.trim().is_empty()),
        app: q.app.filter(|a| !a.trim().is_empty()),
        status,
    };
    match s.setup.store().repo().login_history(&filter).await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => ApiError::from(ServiceError::from(e)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(username: &str) -> LoginHistoryEntry {
        LoginHistoryEntry {
            login_time: 1,
            username: username.into(),
            user_id: None,
            application: None,
            consumer_key: Some(format!("key\0of {username}")),
            login_type: LOGIN_TYPE.into(),
            status: LoginStatus::Failed,
            error: Some("invalid_grant".into()),
            error_description: Some("authentication failure".into()),
            diagnosis: None,
            source_ip: None,
        }
    }

    async fn stores() -> Vec<Store> {
        let path = std::env::temp_dir().join(format!(
            "byoc-history-{}-{}.db",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let mut out = vec![Store::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap()];
        if let Some(url) = byoc_store::testing::postgres_url("history NUL row").await {
            out.push(Store::open(&url).await.unwrap());
        }
        out
    }

    /// A NUL in one attempt's `sub` (PostgreSQL text can't hold it) costs neither that row nor
    /// the rest of its batch, on either backend.
    #[tokio::test]
    async fn a_row_with_nul_costs_no_other_row() {
        for store in stores().await {
            let batch = vec![
                entry("before@example.com"),
                entry("evil\0@example.com"),
                entry("after@example.com"),
            ];
            write(&store, &batch, &CancellationToken::new()).await;
            let rows = store
                .repo()
                .login_history(&LoginHistoryFilter {
                    limit: 100,
                    username: None,
                    app: None,
                    status: None,
                })
                .await
                .unwrap();
            let mut names: Vec<&str> = rows.iter().map(|r| r.username.as_str()).collect();
            names.sort();
            assert_eq!(
                names,
                [
                    "after@example.com",
                    "before@example.com",
                    "evil\u{FFFD}@example.com"
                ],
                "{}",
                store.backend()
            );
            assert!(rows
                .iter()
                .all(|r| !r.consumer_key.as_deref().unwrap_or("").contains('\0')));
        }
    }
}
