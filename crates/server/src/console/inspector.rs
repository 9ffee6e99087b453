//! The request inspector's pages ([`crate::inspector`] holds the calls): the calls to each
//! host, newest first, with their diagnosis and the page that fixes it; a page per call with
//! the request and the response (masked, truncated); and the live stream the page's script
//! reads.
//!
//! - `GET /lightning/setup/RequestInspector/home?host=&status=&q=`: the table
//!   (`#inspector-calls`, one `tr[data-call-id]` per call) and, below it, the token failures
//!   Login History stores (they outlive this instance's buffer). Without JavaScript it is a
//!   plain page: reload for new calls.
//! - `GET /lightning/setup/RequestInspector/{id}`: one call.
//! - `GET /console/inspector/live`: Server-Sent Events, `event: call`, `id: <call id>`, `data:`
//!   the call as the admin API gives it; `Last-Event-ID` resumes from the buffer. 401 without a
//!   console session.
//!
//! Reads need what Login History needs (*Manage Users*), as `GET /admin/v1/inspector/calls`.

use std::convert::Infallible;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use byoc_core::SetupAction;
use byoc_proto::oauth::{LoginHistoryEntry, LoginStatus};
use byoc_store::oauth::LoginHistoryFilter;
use serde::Deserialize;

use super::{page, refused_page, ConsoleSession, ConsoleState, Layout};
use crate::inspector::api::{self as inspector_api, CallsQuery};
use crate::inspector::{CallFilter, Host, Recorded, PER_HOST};
use crate::setup_service::ServiceError;

const KEY: &str = "inspector";
const TITLE: &str = "Request Inspector";
pub const HOME: &str = "/lightning/setup/RequestInspector/home";
pub const LIVE: &str = "/console/inspector/live";
/// Rows the page shows.
const SHOWN: usize = 200;
/// Stored token failures shown below the table.
const STORED_FAILURES: i64 = 20;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(HOME, get(list))
        .route("/lightning/setup/RequestInspector/{id}", get(detail))
        .route(LIVE, get(live))
}

/// The page's filters, as text (a mangled link shows everything rather than an error page).
#[derive(Deserialize, Default)]
struct PageQuery {
    host: Option<String>,
    status: Option<String>,
    q: Option<String>,
}

/// One call as a row and as the detail page shows it.
pub struct Row {
    pub id: u64,
    pub time: String,
    pub host: &'static str,
    pub host_label: &'static str,
    pub app: String,
    pub user: String,
    pub operation: String,
    pub status: String,
    pub failed: bool,
    pub error_code: String,
    pub duration: String,
    pub diagnosis: String,
    pub fix_href: Option<String>,
    pub request: String,
    pub response: String,
}

/// `2026-01-01 12:00:00.123 UTC`.
pub fn time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
        .unwrap_or_default()
}

/// `0.42 ms`, `12.3 ms`, `1,204 ms`.
pub fn duration(micros: u64) -> String {
    let ms = micros as f64 / 1000.0;
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{} ms", micros / 1000)
    }
}

impl Row {
    fn new(r: &Recorded) -> Row {
        let c = &r.call;
        Row {
            id: r.id,
            time: time(c.at),
            host: c.host.as_str(),
            host_label: c.host.label(),
            app: c.app.clone().unwrap_or_default(),
            user: c.user.clone().unwrap_or_default(),
            operation: c.operation.clone(),
            status: c.status.clone(),
            failed: c.failed(),
            error_code: c.error_code.clone().unwrap_or_default(),
            duration: duration(c.duration_micros),
            diagnosis: c.diagnosis.clone().unwrap_or_default(),
            fix_href: c.fix_href.clone(),
            request: c.request.clone(),
            response: c.response.clone(),
        }
    }

    pub fn href(&self) -> String {
        format!("/lightning/setup/RequestInspector/{}", self.id)
    }
}

/// A token failure Login History stored.
struct Stored {
    time: String,
    username: String,
    application: String,
    error: String,
    diagnosis: String,
    fix_href: Option<String>,
}

impl Stored {
    fn new(e: LoginHistoryEntry) -> Stored {
        let fix_href = e.diagnosis.as_deref().and_then(|d| {
            super::history::fix_for(d, e.application.as_deref())
                .page
                .map(|(_, href)| href)
        });
        Stored {
            time: time(e.login_time),
            username: e.username,
            application: e.application.or(e.consumer_key).unwrap_or_default(),
            error: match (e.error, e.error_description) {
                (Some(error), Some(d)) => format!("{error}: {d}"),
                (Some(error), None) => error,
                _ => String::new(),
            },
            diagnosis: e.diagnosis.unwrap_or_default(),
            fix_href,
        }
    }
}

#[derive(Template)]
#[template(path = "console/inspector/list.html")]
struct ListPage {
    l: Layout,
    rows: Vec<Row>,
    stored: Vec<Stored>,
    show_stored: bool,
    hosts: Vec<(&'static str, &'static str)>,
    host: String,
    status: String,
    q: String,
    action: &'static str,
    live: &'static str,
    history: &'static str,
    per_host: usize,
    error: Option<String>,
}

async fn list(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ManageUsers) {
        return refused_page(&session, TITLE, KEY, e.into());
    }
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let host = q.host.clone().unwrap_or_default().trim().to_string();
    let status = q.status.clone().unwrap_or_default().trim().to_lowercase();
    let text = q.q.clone().unwrap_or_default().trim().to_string();
    // The admin API's checks and words for the same filters.
    let query = CallsQuery {
        host: Some(host.clone()),
        status: Some(status.clone()),
        q: Some(text.clone()),
        ..CallsQuery::default()
    };
    let (filter, error) = match query.check() {
        Ok(w) => (w.filter, None),
        Err(message) => (CallFilter::default(), Some(message)),
    };
    let rows: Vec<Row> = state
        .org
        .inspector
        .calls(&filter, SHOWN)
        .iter()
        .map(|r| Row::new(r))
        .collect();
    let show_stored =
        matches!(filter.host, None | Some(Host::Token)) && filter.failed != Some(false);
    let stored = if show_stored {
        let history = LoginHistoryFilter {
            limit: STORED_FAILURES,
            username: None,
            app: None,
            status: Some(LoginStatus::Failed),
        };
        match state.setup.store().repo().login_history(&history).await {
            Ok(rows) => rows.into_iter().map(Stored::new).collect(),
            Err(e) => return refused_page(&session, TITLE, KEY, ServiceError::from(e)),
        }
    } else {
        Vec::new()
    };
    page(&ListPage {
        l: Layout::new(&session, TITLE, KEY),
        rows,
        stored,
        show_stored,
        hosts: Host::ALL.iter().map(|h| (h.as_str(), h.label())).collect(),
        host: filter
            .host
            .map(|h| h.as_str().to_string())
            .unwrap_or_default(),
        status: match filter.failed {
            Some(true) => "failed".into(),
            Some(false) => "ok".into(),
            None => String::new(),
        },
        q: text,
        action: HOME,
        live: LIVE,
        history: super::history::HOME,
        per_host: PER_HOST,
        error,
    })
}

#[derive(Template)]
#[template(path = "console/inspector/detail.html")]
struct DetailPage {
    l: Layout,
    r: Row,
    back: &'static str,
}

async fn detail(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ManageUsers) {
        return refused_page(&session, TITLE, KEY, e.into());
    }
    let call = id
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|id| state.org.inspector.call(id));
    let Some(call) = call else {
        let gone = byoc_core::SetupError::NotFound {
            kind: "Call",
            name: format!("{id} (this instance keeps the last {PER_HOST} calls per host)"),
        };
        return refused_page(&session, TITLE, KEY, gone.into());
    };
    let r = Row::new(&call);
    page(&DetailPage {
        l: Layout::new(&session, format!("Call {}: {}", r.id, r.operation), KEY),
        r,
        back: HOME,
    })
}

/// The live stream. A missing or expired session gets 401 (an `EventSource` can't follow a
/// redirect to the login page usefully).
async fn live(
    State(state): State<ConsoleState>,
    mut parts: axum::http::request::Parts,
) -> Response {
    let unauthorized = |message: &'static str| {
        (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message,
        )
            .into_response()
    };
    let Ok(session) = ConsoleSession::from_request_parts(&mut parts, &state).await else {
        return unauthorized("Log in to the console first.");
    };
    if session.actor.authorize(SetupAction::ManageUsers).is_err() {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "You need Manage Users to see the request inspector.",
        )
            .into_response();
    }
    let resume = last_event_id(&parts.headers, parts.uri.query());
    let filter = CallFilter {
        after: resume,
        ..CallFilter::default()
    };
    // Resuming replays what the buffer still holds after that id; a new viewer starts now.
    let backlog = if resume.is_some() { PER_HOST * 4 } else { 0 };
    let events = futures::StreamExt::filter_map(
        inspector_api::follow(state.org.inspector.clone(), filter, backlog),
        |item| async move {
            let call = item?;
            let data = serde_json::to_string(&*call).ok()?;
            Some(Ok::<_, Infallible>(
                Event::default()
                    .event("call")
                    .id(call.id.to_string())
                    .data(data),
            ))
        },
    );
    Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(inspector_api::KEEP_ALIVE)
                .text("keep-alive"),
        )
        .into_response()
}

/// `Last-Event-ID` (an `EventSource` reconnecting) or `?lastEventId=` (a script reconnecting).
fn last_event_id(headers: &HeaderMap, query: Option<&str>) -> Option<u64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| {
            url::form_urlencoded::parse(query?.as_bytes())
                .find(|(k, _)| k == "lastEventId")
                .and_then(|(_, v)| v.trim().parse().ok())
        })
}
