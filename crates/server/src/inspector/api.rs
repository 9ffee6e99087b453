//! `GET /admin/v1/inspector/calls`: the kept calls as JSON, newest first; with `?follow=true`
//! an NDJSON stream (one call a line) of the last `limit` calls, oldest first, then each new
//! call as it is recorded, and an empty line every 15 s so a dead connection is noticed.
//!
//! Query: `host` (`token`, `interaction`, `pubsub`, `admin`), `status` (`ok` or `failed`;
//! `failed=true` means `status=failed`), `q` (text in the operation, caller, status, error code
//! or diagnosis), `after` (only calls with a larger id), `limit` (1..=1000, default 100).
//! Needs what reading Login History needs (*Manage Users*).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use byoc_core::SetupAction;
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::{CallFilter, Host, Inspector, Recorded};
use crate::admin_api::{Acting, AdminState, ApiError};

/// Calls a reader gets when it does not say.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
/// How often an idle follower hears from the server.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn router(admin: AdminState, inspector: Inspector) -> Router {
    Router::new()
        .route("/admin/v1/inspector/calls", get(calls))
        .layer(axum::middleware::from_fn(
            crate::admin_api::refuse_control_characters,
        ))
        .layer(Extension(inspector))
        .with_state(admin)
}

/// The query, as text, so a bad value gets a clear refusal instead of an extractor's error.
#[derive(Debug, Default, Deserialize)]
pub struct CallsQuery {
    pub host: Option<String>,
    pub status: Option<String>,
    pub failed: Option<String>,
    pub q: Option<String>,
    pub after: Option<String>,
    pub limit: Option<String>,
    pub follow: Option<String>,
}

/// A checked query.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub filter: CallFilter,
    pub limit: usize,
    pub follow: bool,
}

fn flag(name: &str, v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(format!("{name} must be true or false, not {v:?}")),
    }
}

impl CallsQuery {
    /// The filter, or the message saying which parameter is wrong.
    pub fn check(&self) -> Result<Wanted, String> {
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let host = match nonempty(&self.host) {
            None => None,
            Some(h) => Some(Host::parse(&h).ok_or_else(|| {
                format!("host must be token, interaction, pubsub or admin, not {h:?}")
            })?),
        };
        let mut failed = match nonempty(&self.status).map(|s| s.to_ascii_lowercase()) {
            None => None,
            Some(s) if s == "failed" || s == "failure" => Some(true),
            Some(s) if s == "ok" || s == "success" => Some(false),
            Some(s) => return Err(format!("status must be ok or failed, not {s:?}")),
        };
        if let Some(f) = nonempty(&self.failed) {
            if flag("failed", &f)? {
                failed = Some(true);
            }
        }
        let after = match nonempty(&self.after) {
            None => None,
            Some(a) => Some(
                a.parse::<u64>()
                    .map_err(|_| format!("after must be a call id, not {a:?}"))?,
            ),
        };
        let limit = match nonempty(&self.limit) {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(format!(
                        "limit must be a number from 1 to {MAX_LIMIT}, not {l:?}"
                    ))
                }
            },
        };
        let follow = match nonempty(&self.follow) {
            None => false,
            Some(f) => flag("follow", &f)?,
        };
        Ok(Wanted {
            filter: CallFilter {
                host,
                failed,
                text: nonempty(&self.q),
                after,
            },
            limit,
            follow,
        })
    }
}

async fn calls(
    State(_admin): State<AdminState>,
    Extension(inspector): Extension<Inspector>,
    Acting(actor): Acting,
    query: Result<Query<CallsQuery>, QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return bad_query(e.body_text()),
    };
    if let Err(e) = actor.authorize(SetupAction::ManageUsers) {
        return ApiError::from(e).into_response();
    }
    let wanted = match q.check() {
        Ok(w) => w,
        Err(message) => return bad_query(message),
    };
    if !wanted.follow {
        let calls = inspector.calls(&wanted.filter, wanted.limit);
        let calls: Vec<&Recorded> = calls.iter().map(|c| &**c).collect();
        return Json(calls).into_response();
    }
    let lines = futures::StreamExt::map(follow(inspector, wanted.filter, wanted.limit), |item| {
        let mut line = match item {
            Some(call) => serde_json::to_vec(&*call).unwrap_or_default(),
            None => Vec::new(),
        };
        line.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(line))
    });
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(lines),
    )
        .into_response()
}

fn bad_query(message: String) -> Response {
    ApiError::new(StatusCode::BAD_REQUEST, "MALFORMED_QUERY", message).into_response()
}

struct Following {
    backlog: VecDeque<Arc<Recorded>>,
    live: broadcast::Receiver<Arc<Recorded>>,
    filter: CallFilter,
    /// The last id sent: live calls at or below it were in the backlog.
    sent: u64,
    stop: tokio_util::sync::CancellationToken,
}

/// The last `backlog` matching calls (oldest first), then every new matching call; `None` items
/// are keep-alive ticks ([`KEEP_ALIVE`] without a call). Ends when the server stops.
pub fn follow(
    inspector: Inspector,
    filter: CallFilter,
    backlog: usize,
) -> impl Stream<Item = Option<Arc<Recorded>>> + Send + 'static {
    // Subscribe before reading the backlog, so nothing falls between the two.
    let live = inspector.subscribe();
    let mut old: Vec<Arc<Recorded>> = if backlog == 0 {
        Vec::new()
    } else {
        inspector.calls(&filter, backlog)
    };
    old.reverse();
    let state = Following {
        backlog: old.into(),
        live,
        filter,
        sent: 0,
        stop: inspector.stopping(),
    };
    futures::stream::unfold(state, |mut s| async move {
        if let Some(call) = s.backlog.pop_front() {
            s.sent = call.id;
            return Some((Some(call), s));
        }
        loop {
            let next = tokio::select! {
                _ = s.stop.cancelled() => return None,
                r = tokio::time::timeout(KEEP_ALIVE, s.live.recv()) => r,
            };
            match next {
                Err(_) => return Some((None, s)),
                Ok(Ok(call)) => {
                    if call.id > s.sent && s.filter.matches(&call) {
                        s.sent = call.id;
                        return Some((Some(call), s));
                    }
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_named() {
        let q = CallsQuery {
            host: Some("dns".into()),
            ..CallsQuery::default()
        };
        assert!(q.check().unwrap_err().contains("host must be"));
        let q = CallsQuery {
            limit: Some("0".into()),
            ..CallsQuery::default()
        };
        assert!(q.check().unwrap_err().contains("limit must be"));
        let q = CallsQuery {
            host: Some("PubSub".into()),
            failed: Some("true".into()),
            follow: Some("true".into()),
            ..CallsQuery::default()
        };
        let w = q.check().unwrap();
        assert_eq!(w.filter.host, Some(Host::PubSub));
        assert_eq!(w.filter.failed, Some(true));
        assert!(w.follow);
        assert_eq!(w.limit, DEFAULT_LIMIT);
    }
}
