//! The request inspector: the last calls to each host (token endpoint and identity, Interaction
//! API, Pub/Sub RPCs and deliveries, admin API), kept in a bounded ring buffer per instance,
//! with who called, what Salesforce answered and byoc's diagnosis; shown live in the console
//! (`/lightning/setup/RequestInspector/home`) and by `byoc inspect`.
//!
//! Recording never changes what a host answers: hosts hand a finished [`Call`] to
//! [`Inspector::record`], which masks nothing itself — callers pass request and response text
//! already masked (tokens, secrets, assertions); it truncates what is longer than
//! [`MAX_TEXT_BYTES`] so a caller's mistake can't grow the buffer.
//!
//! - [`mask`]: the masking of secrets in headers, forms, JSON and query strings.
//! - [`http`]: the middleware that records the login host's OAuth, identity and admin calls and
//!   the Interaction API's, without touching a byte of the answer.
//! - [`api`]: `GET /admin/v1/inspector/calls` (JSON, or NDJSON with `?follow=true`).
//!
//! Memory: at most [`PER_HOST`] calls per host, each with at most [`MAX_TEXT_BYTES`] of request
//! and of response text, so about 4 × 200 × 8 KiB = 6.4 MiB at worst.

pub mod api;
pub mod http;
pub mod mask;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

/// Calls kept per host.
pub const PER_HOST: usize = 200;
/// The most request (and response) text kept per call; longer text is cut at a character
/// boundary and ends with [`TRUNCATED`].
pub const MAX_TEXT_BYTES: usize = 4 * 1024;
/// What ends a cut text.
pub const TRUNCATED: &str = "\n… (truncated)";
/// Live viewers that fall this many calls behind skip ahead (they never hold the recorder up).
const LIVE_BACKLOG: usize = 256;

/// Which host a call reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Host {
    /// OAuth (token, revoke, introspect) and identity on the login host.
    Token,
    /// The Interaction API host.
    Interaction,
    /// The Pub/Sub gRPC host: RPCs and each delivery of events to a subscriber.
    PubSub,
    /// The admin API on the login host.
    Admin,
}

/// One finished call.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    /// When it started, epoch milliseconds.
    pub at: i64,
    pub host: Host,
    /// `POST /services/oauth2/token`, `Subscribe /event/Byoc_Outbound__e`, `Deliver 3 events`…
    pub operation: String,
    /// The calling app (name or consumer key), when known.
    pub app: Option<String>,
    /// The calling user's username, when known.
    pub user: Option<String>,
    /// HTTP status (`400`) or gRPC code name (`PERMISSION_DENIED`, `OK`).
    pub status: String,
    /// Salesforce's error code as the client saw it (`invalid_grant`, `INVALID_AUTH_CONTEXT`…).
    pub error_code: Option<String>,
    pub duration_micros: u64,
    /// byoc's diagnosis (the same words as `X-Byoc-Diagnosis` and Login History).
    pub diagnosis: Option<String>,
    /// The console page that fixes it.
    pub fix_href: Option<String>,
    /// The request and the response, secrets and tokens masked, bodies truncated.
    pub request: String,
    pub response: String,
}

impl Host {
    pub const ALL: [Host; 4] = [Host::Token, Host::Interaction, Host::PubSub, Host::Admin];

    fn index(self) -> usize {
        match self {
            Host::Token => 0,
            Host::Interaction => 1,
            Host::PubSub => 2,
            Host::Admin => 3,
        }
    }

    /// The wire name (`token`, `interaction`, `pubSub`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Host::Token => "token",
            Host::Interaction => "interaction",
            Host::PubSub => "pubSub",
            Host::Admin => "admin",
        }
    }

    /// What the console shows.
    pub fn label(self) -> &'static str {
        match self {
            Host::Token => "Token endpoint",
            Host::Interaction => "Interaction API",
            Host::PubSub => "Pub/Sub API",
            Host::Admin => "Admin API",
        }
    }

    /// A filter value: the wire name, case-insensitive (`pubsub` too).
    pub fn parse(s: &str) -> Option<Host> {
        let s = s.trim();
        Host::ALL.into_iter().find(|h| {
            h.as_str().eq_ignore_ascii_case(s)
                || (*h == Host::PubSub && s.eq_ignore_ascii_case("pubsub"))
        })
    }
}

impl Call {
    /// Whether the call failed: an HTTP status of 400 or more, or a gRPC code other than `OK`.
    pub fn failed(&self) -> bool {
        match self.status.parse::<u16>() {
            Ok(code) => code >= 400,
            Err(_) => !self.status.eq_ignore_ascii_case("OK"),
        }
    }
}

/// A kept call: the [`Call`] and its id (increasing, per instance).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    pub id: u64,
    #[serde(flatten)]
    pub call: Call,
}

/// Which calls a reader wants.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub host: Option<Host>,
    /// `Some(true)`: failed calls only; `Some(false)`: successful ones only.
    pub failed: Option<bool>,
    /// Case-insensitive text in the operation, caller, status, error code or diagnosis.
    pub text: Option<String>,
    /// Only calls with an id above this one.
    pub after: Option<u64>,
}

impl CallFilter {
    pub fn matches(&self, r: &Recorded) -> bool {
        if self.host.is_some_and(|h| h != r.call.host) {
            return false;
        }
        if self.failed.is_some_and(|f| f != r.call.failed()) {
            return false;
        }
        if self.after.is_some_and(|a| r.id <= a) {
            return false;
        }
        match self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            None => true,
            Some(t) => {
                let t = t.to_lowercase();
                let c = &r.call;
                [
                    Some(c.operation.as_str()),
                    c.app.as_deref(),
                    c.user.as_deref(),
                    Some(c.status.as_str()),
                    c.error_code.as_deref(),
                    c.diagnosis.as_deref(),
                ]
                .into_iter()
                .flatten()
                .any(|field| field.to_lowercase().contains(&t))
            }
        }
    }
}

struct Inner {
    rings: Mutex<[VecDeque<Arc<Recorded>>; 4]>,
    per_host: usize,
    next_id: AtomicU64,
    live: broadcast::Sender<Arc<Recorded>>,
    /// Cancelled when the server stops, so live viewers end and shutdown can finish.
    stop: tokio_util::sync::CancellationToken,
}

/// The calls this instance saw; cheap to clone.
#[derive(Clone)]
pub struct Inspector {
    inner: Arc<Inner>,
}

impl Default for Inspector {
    fn default() -> Inspector {
        Inspector::new()
    }
}

impl Inspector {
    pub fn new() -> Inspector {
        Inspector::with_capacity(PER_HOST)
    }

    /// Keeps `per_host` calls per host (at least one).
    pub fn with_capacity(per_host: usize) -> Inspector {
        let (live, _) = broadcast::channel(LIVE_BACKLOG);
        Inspector {
            inner: Arc::new(Inner {
                rings: Mutex::new(Default::default()),
                per_host: per_host.max(1),
                next_id: AtomicU64::new(1),
                live,
                stop: tokio_util::sync::CancellationToken::new(),
            }),
        }
    }

    /// Keep `call` (the oldest call of its host drops out when the buffer is full).
    pub fn record(&self, mut call: Call) {
        truncate_text(&mut call.request, MAX_TEXT_BYTES);
        truncate_text(&mut call.response, MAX_TEXT_BYTES);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let recorded = Arc::new(Recorded { id, call });
        if let Ok(mut rings) = self.inner.rings.lock() {
            let ring = &mut rings[recorded.call.host.index()];
            if ring.len() >= self.inner.per_host {
                ring.pop_front();
            }
            // Ids are taken before the lock: keep each ring in id order all the same.
            let at = ring.partition_point(|r| r.id < id);
            ring.insert(at, recorded.clone());
        }
        // No viewer is no error.
        let _ = self.inner.live.send(recorded);
    }

    /// The kept calls that match, newest first, at most `limit`.
    pub fn calls(&self, filter: &CallFilter, limit: usize) -> Vec<Arc<Recorded>> {
        let Ok(rings) = self.inner.rings.lock() else {
            return Vec::new();
        };
        let mut out: Vec<Arc<Recorded>> = rings
            .iter()
            .flat_map(|ring| ring.iter().rev().filter(|r| filter.matches(r)).take(limit))
            .cloned()
            .collect();
        drop(rings);
        out.sort_unstable_by_key(|r| std::cmp::Reverse(r.id));
        out.truncate(limit);
        out
    }

    /// One kept call.
    pub fn call(&self, id: u64) -> Option<Arc<Recorded>> {
        let rings = self.inner.rings.lock().ok()?;
        rings
            .iter()
            .find_map(|ring| ring.iter().find(|r| r.id == id).cloned())
    }

    /// Forget every kept call (the org was reset: `byoc reset`). Ids go on increasing.
    pub fn clear(&self) {
        if let Ok(mut rings) = self.inner.rings.lock() {
            rings.iter_mut().for_each(VecDeque::clear);
        }
    }

    /// End every live viewer (the server is stopping).
    pub fn stop(&self) {
        self.inner.stop.cancel();
    }

    /// Cancelled by [`Inspector::stop`].
    pub fn stopping(&self) -> tokio_util::sync::CancellationToken {
        self.inner.stop.clone()
    }

    /// Every call recorded from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Recorded>> {
        self.inner.live.subscribe()
    }
}

/// Cut `text` to at most `max` bytes (at a character boundary, [`TRUNCATED`] included).
pub fn truncate_text(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max.saturating_sub(TRUNCATED.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(TRUNCATED);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(host: Host, status: &str, request: String) -> Call {
        Call {
            at: 1,
            host,
            operation: "POST /services/oauth2/token".into(),
            app: Some("Acme".into()),
            user: None,
            status: status.into(),
            error_code: None,
            duration_micros: 5,
            diagnosis: None,
            fix_href: None,
            request,
            response: String::new(),
        }
    }

    #[test]
    fn each_host_keeps_its_last_calls_and_text_is_bounded() {
        let inspector = Inspector::with_capacity(3);
        for i in 0..10 {
            inspector.record(call(Host::Token, "400", format!("t{i}")));
        }
        inspector.record(call(Host::Admin, "200", "é".repeat(10_000)));
        let all = inspector.calls(&CallFilter::default(), 100);
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].call.host, Host::Admin);
        assert!(all[0].call.request.len() <= MAX_TEXT_BYTES);
        assert!(all[0].call.request.ends_with(TRUNCATED));
        let tokens: Vec<&str> = all[1..].iter().map(|r| r.call.request.as_str()).collect();
        assert_eq!(tokens, ["t9", "t8", "t7"]);
        let failed = CallFilter {
            failed: Some(true),
            ..CallFilter::default()
        };
        assert_eq!(inspector.calls(&failed, 100).len(), 3);
        let text = CallFilter {
            text: Some("ACME".into()),
            host: Some(Host::Admin),
            ..CallFilter::default()
        };
        assert_eq!(inspector.calls(&text, 100).len(), 1);
        assert_eq!(inspector.calls(&CallFilter::default(), 2).len(), 2);
        assert!(inspector.call(all[1].id).is_some());
        assert!(inspector.call(1).is_none());
    }

    #[test]
    fn grpc_codes_and_http_statuses_tell_failure() {
        assert!(!call(Host::PubSub, "OK", String::new()).failed());
        assert!(call(Host::PubSub, "PERMISSION_DENIED", String::new()).failed());
        assert!(!call(Host::Token, "302", String::new()).failed());
        assert!(call(Host::Token, "401", String::new()).failed());
        assert_eq!(Host::parse("pubsub"), Some(Host::PubSub));
        assert_eq!(Host::parse("Interaction"), Some(Host::Interaction));
        assert_eq!(Host::parse("nope"), None);
    }
}
