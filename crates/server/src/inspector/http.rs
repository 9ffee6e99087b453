//! The middleware that records HTTP calls: on the login host the OAuth and identity endpoints
//! ([`Host::Token`]) and the admin API ([`Host::Admin`]; not the inspector's own route, not the
//! console), and every call to the Interaction API host ([`Host::Interaction`]).
//!
//! Fidelity first: the answer goes out exactly as the handler made it. The response's parts
//! are handed on untouched and its body is wrapped in [`Tee`], which passes every frame, the end
//! of stream and the size hint through unchanged (so `Content-Length` or chunked framing is
//! what it would have been) and keeps a copy of the first [`MAX_TEXT_BYTES`]. The request body
//! is wrapped the same way. The call is recorded when the response body is dropped (sent, or
//! the client went away), so a long or streamed answer costs a 4 KiB copy, never a buffer of it.
//!
//! Who called: the token endpoint puts a [`Caller`] in its response's extensions (never sent);
//! the admin API's `Acting` extractor fills the request's [`CallerSlot`]; otherwise the bearer
//! token is checked in memory (the same sealed-token check the hosts make, no database).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use byoc_core::Clock;
use byoc_proto::oauth::DIAGNOSIS_HEADER;

use super::{mask, Call, Host, Inspector, MAX_TEXT_BYTES};
use crate::oauth::OAuthState;

/// Who made a call, as a handler knows it. Put in a response's extensions (which never reach
/// the wire) or in the request's [`CallerSlot`].
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub app: Option<String>,
    pub user: Option<String>,
}

/// A request extension a handler or extractor fills with the caller it authenticated.
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(Arc<Mutex<Option<Caller>>>);

impl CallerSlot {
    pub fn set(&self, caller: Caller) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(caller);
        }
    }

    fn take(&self) -> Option<Caller> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

/// Note the caller of the request whose extensions these are, if it is being recorded.
pub fn note_caller(extensions: &axum::http::Extensions, caller: Caller) {
    if let Some(slot) = extensions.get::<CallerSlot>() {
        slot.set(caller);
    }
}

/// What the middleware needs; cheap to clone.
#[derive(Clone)]
pub struct Recording {
    pub inspector: Inspector,
    pub clock: Arc<dyn Clock>,
    /// The token verifier and app directory, for the caller of a bearer token.
    pub oauth: OAuthState,
}

/// Which login-host paths are recorded, and as which host.
pub fn login_host_of(path: &str) -> Option<Host> {
    if path.starts_with("/services/oauth2/")
        || path.starts_with("/services/Soap/")
        || path.starts_with("/id/")
        || path == "/.well-known/openid-configuration"
    {
        Some(Host::Token)
    } else if path.starts_with("/admin/v1/") && !path.starts_with("/admin/v1/inspector") {
        // The inspector's own route is left out: watching must not fill what is watched.
        Some(Host::Admin)
    } else {
        None
    }
}

/// The login host's middleware (`from_fn_with_state`).
pub async fn login_host(State(rec): State<Recording>, req: Request, next: Next) -> Response {
    match login_host_of(req.uri().path()) {
        Some(host) => record(rec, host, req, next).await,
        None => next.run(req).await,
    }
}

/// The Interaction API host's middleware: every call.
pub async fn interaction_host(State(rec): State<Recording>, req: Request, next: Next) -> Response {
    record(rec, Host::Interaction, req, next).await
}

async fn record(rec: Recording, host: Host, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let at = rec.clock.now_millis();
    let (mut parts, body) = req.into_parts();
    let operation = match parts.uri.query() {
        Some(q) => format!("{} {}?{}", parts.method, parts.uri.path(), mask::form(q)),
        None => format!("{} {}", parts.method, parts.uri.path()),
    };
    let request_head = head(&operation, &parts.headers);
    let request_type = content_type(&parts.headers);
    let bearer = parts.headers.get(header::AUTHORIZATION).cloned();
    let slot = CallerSlot::default();
    parts.extensions.insert(slot.clone());
    let request_copy = Arc::new(Mutex::new(Captured::default()));
    let body = Body::new(Tee {
        inner: body,
        copy: Some(request_copy.clone()),
        finish: None,
    });

    let response = next.run(Request::from_parts(parts, body)).await;

    let caller = match response.extensions().get::<Caller>().cloned() {
        Some(c) => c,
        None => {
            let noted = slot.take().unwrap_or_default();
            let from_token = match (&noted, bearer) {
                (Caller { app: Some(_), .. }, _) | (_, None) => Caller::default(),
                (_, Some(value)) => caller_of_token(&rec.oauth, &value).await,
            };
            Caller {
                app: noted.app.or(from_token.app),
                user: noted.user.or(from_token.user),
            }
        }
    };
    let status = response.status();
    let diagnosis = response
        .headers()
        .get(DIAGNOSIS_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (parts, body) = response.into_parts();
    let finish = Finish {
        inspector: rec.inspector,
        host,
        at,
        started,
        operation,
        caller,
        request_head,
        request_type,
        request_copy,
        status: status.as_u16(),
        response_head: head(&format!("HTTP {status}"), &parts.headers),
        response_type: content_type(&parts.headers),
        diagnosis,
    };
    Response::from_parts(
        parts,
        Body::new(Tee {
            inner: body,
            copy: Some(Arc::new(Mutex::new(Captured::default()))),
            finish: Some(finish),
        }),
    )
}

/// The user and app of a valid access token of this org.
async fn caller_of_token(oauth: &OAuthState, value: &HeaderValue) -> Caller {
    let Some(token) = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .map(|(_, t)| t.trim())
    else {
        return Caller::default();
    };
    let Ok(claims) = oauth.verify(token) else {
        return Caller::default();
    };
    let app = match oauth
        .0
        .directory
        .app_by_consumer_key(&claims.consumer_key)
        .await
    {
        Ok(Some(app)) => app.name.clone(),
        _ => claims.consumer_key,
    };
    Caller {
        app: Some(app),
        user: Some(claims.username),
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The first line and the headers, credentials masked.
fn head(first: &str, headers: &HeaderMap) -> String {
    let mut out = String::with_capacity(first.len() + 64 * headers.len());
    out.push_str(first);
    for (name, value) in headers {
        out.push('\n');
        out.push_str(name.as_str());
        out.push_str(": ");
        out.push_str(&mask::header(
            name.as_str(),
            &String::from_utf8_lossy(value.as_bytes()),
        ));
    }
    out
}

/// The first bytes of a body.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    cut: bool,
}

impl Captured {
    fn take(&mut self, data: &[u8]) {
        let room = MAX_TEXT_BYTES.saturating_sub(self.bytes.len());
        if data.len() > room {
            self.cut = true;
        }
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// The body as shown: masked per its content type, `(cut)` marked.
    fn shown(&self, content_type: &str) -> String {
        if self.bytes.is_empty() {
            return String::new();
        }
        let text = String::from_utf8_lossy(&self.bytes);
        let mut shown = if content_type.starts_with("application/x-www-form-urlencoded") {
            mask::form(&text)
        } else if content_type.contains("json") && !self.cut {
            mask::json(&text)
        } else {
            mask::text(&text)
        };
        if self.cut {
            shown.push_str(super::TRUNCATED);
        }
        shown
    }
}

/// A body passed through frame by frame, with a copy of its first bytes and, for the response,
/// the call recorded when it is dropped.
struct Tee {
    inner: Body,
    copy: Option<Arc<Mutex<Captured>>>,
    finish: Option<Finish>,
}

impl HttpBody for Tee {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let (Some(data), Some(copy)) = (frame.data_ref(), &self.copy) {
                if let Ok(mut c) = copy.lock() {
                    if !c.cut {
                        c.take(data);
                    }
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        if let (Some(finish), Some(copy)) = (self.finish.take(), self.copy.take()) {
            let response = copy.lock().map(|c| c.shown(&finish.response_type));
            let parsed_error = copy.lock().ok().and_then(|c| {
                (finish.status >= 400 && !c.cut)
                    .then(|| error_code(&c.bytes))
                    .flatten()
            });
            finish.record(response.unwrap_or_default(), parsed_error);
        }
    }
}

/// Everything known of a call but its response body.
struct Finish {
    inspector: Inspector,
    host: Host,
    at: i64,
    started: Instant,
    operation: String,
    caller: Caller,
    request_head: String,
    request_type: String,
    request_copy: Arc<Mutex<Captured>>,
    status: u16,
    response_head: String,
    response_type: String,
    diagnosis: Option<String>,
}

impl Finish {
    fn record(self, response_body: String, error_code: Option<String>) {
        let request_body = self
            .request_copy
            .lock()
            .map(|c| c.shown(&self.request_type))
            .unwrap_or_default();
        let (diagnosis, fix_href) = match (self.host, &self.diagnosis, &error_code) {
            (Host::Interaction, None, Some(code)) => {
                match code.parse::<u32>().ok().and_then(interaction_diagnosis) {
                    Some((d, key)) => (Some(d.to_string()), key.and_then(nav_href)),
                    None => (None, None),
                }
            }
            (_, Some(d), _) if self.status >= 400 => {
                let fix = crate::console::history::fix_for(d, self.caller.app.as_deref());
                (Some(d.clone()), fix.page.map(|(_, href)| href))
            }
            _ => (None, None),
        };
        let join = |head: String, body: String| {
            if body.is_empty() {
                head
            } else {
                format!("{head}\n\n{body}")
            }
        };
        self.inspector.record(Call {
            at: self.at,
            host: self.host,
            operation: self.operation,
            app: self.caller.app,
            user: self.caller.user,
            status: self.status.to_string(),
            error_code,
            duration_micros: u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX),
            diagnosis,
            fix_href,
            request: join(self.request_head, request_body),
            response: join(self.response_head, response_body),
        });
    }
}

/// Salesforce's error code in an error body: OAuth's `error`, the Interaction API's `code`, the
/// REST API's `errorCode` (also as the first entry of an array).
fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = match &value {
        serde_json::Value::Array(items) => items.first()?,
        other => other,
    };
    ["errorCode", "code", "error"]
        .iter()
        .find_map(|name| match object.get(name)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// byoc's diagnosis of the Interaction API's authorization-chain codes, and the key of the
/// Setup page where it is fixed.
fn interaction_diagnosis(code: u32) -> Option<(&'static str, Option<&'static str>)> {
    Some(match code {
        10004 => ("the bearer token is not a valid access token of this org (expired, revoked, from another org, or missing); get a new one with the JWT Bearer flow (byoc token)", Some("login-history")),
        10003 => ("the access token lacks the interaction_api scope; add *Access Interaction API resources (interaction_api)* to the app's OAuth scopes and get a new token", Some("eca-manager")),
        10016 => ("the OrgId header is missing or is not this org's 15-character id (Company Information shows it), or the RequestId header is missing", Some("company")),
        10026 => ("AuthorizationContext names no Conversation Channel Definition of this org; send the CCD's developer name (Messaging Settings shows it)", Some("messaging")),
        10005 => ("the Conversation Channel Definition in AuthorizationContext is not linked to the token's app; link it to the app (byoc setup ccd set CCD --app APP)", Some("messaging")),
        10017 => ("the channel address (to / channelAddressIdentifier) is no messaging channel of this org", Some("messaging")),
        10001 => ("the channel address belongs to another channel than the Conversation Channel Definition's", Some("messaging")),
        10031 => ("the messaging channel is inactive; activate it in Messaging Settings", Some("messaging")),
        10093 => ("AuthorizationContextType must be ConversationChannelDefinition (or left out)", None),
        _ => return None,
    })
}

fn nav_href(key: &str) -> Option<String> {
    crate::console::nav::SECTIONS
        .iter()
        .flat_map(|s| s.items.iter())
        .find(|i| i.key == key)
        .map(|i| i.href.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_code_is_found_in_each_shape() {
        assert_eq!(
            error_code(br#"{"error":"invalid_grant","error_description":"x"}"#).as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(
            error_code(br#"{"code":10026,"message":"m"}"#).as_deref(),
            Some("10026")
        );
        assert_eq!(
            error_code(br#"[{"message":"m","errorCode":"INVALID_SESSION_ID"}]"#).as_deref(),
            Some("INVALID_SESSION_ID")
        );
        assert_eq!(error_code(b"not json"), None);
    }

    #[test]
    fn which_login_host_paths_are_recorded() {
        assert_eq!(login_host_of("/services/oauth2/token"), Some(Host::Token));
        assert_eq!(login_host_of("/id/00D/005"), Some(Host::Token));
        assert_eq!(login_host_of("/services/Soap/u/68.0"), Some(Host::Token));
        assert_eq!(login_host_of("/admin/v1/users"), Some(Host::Admin));
        assert_eq!(login_host_of("/admin/v1/inspector/calls"), None);
        assert_eq!(login_host_of("/lightning/setup/SetupOneHome/home"), None);
        assert_eq!(login_host_of("/console/live"), None);
        for code in [10004, 10003, 10016, 10026, 10005, 10017, 10001, 10031] {
            let (_, key) = interaction_diagnosis(code).unwrap();
            assert!(nav_href(key.unwrap()).is_some(), "{code}");
        }
    }
}
