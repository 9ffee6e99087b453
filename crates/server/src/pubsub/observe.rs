//! What the Pub/Sub service tells the request inspector about its calls: one
//! [`crate::inspector::Call`] per RPC (and per Subscribe start, end and delivery batch), with
//! the gRPC code name and the `error-code` trailer the client got.
//!
//! Nothing here touches what a client receives: calls are described from the request metadata
//! and the finished `Result`, after the service decided its answer. The access token is never
//! copied (only its length), and texts are truncated.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::auth::Grant;
use crate::inspector::{Call, Host};

/// Longest request or response text kept in a call.
const MAX_TEXT: usize = 2_000;
/// Longest operation kept (it holds the topic name the client sent).
const MAX_OPERATION: usize = 200;
/// App names remembered by consumer key before the cache starts over.
const MAX_APP_NAMES: usize = 256;

/// The gRPC status code as its canonical name (`PERMISSION_DENIED`), as clients print it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Salesforce's `error-code` trailer of a refusal, as the client saw it.
pub fn error_code(status: &Status) -> Option<String> {
    status
        .metadata()
        .get("error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn truncate(text: String) -> String {
    truncate_to(text, MAX_TEXT)
}

fn truncate_to(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// The auth metadata of a call, the token masked.
pub fn describe_metadata(metadata: &MetadataMap) -> String {
    let get = |name: &str| {
        metadata
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let token = match get("accesstoken") {
        Some(t) if !t.is_empty() => format!("****** ({} characters)", t.chars().count()),
        _ => "(missing)".to_string(),
    };
    let show = |v: Option<&str>| match v {
        Some(v) if !v.is_empty() => truncate(v.to_string()),
        _ => "(missing)".to_string(),
    };
    format!(
        "accesstoken: {token}\ninstanceurl: {}\ntenantid: {}",
        show(get("instanceurl")),
        show(get("tenantid"))
    )
}

/// byoc's words for a refusal and the console page that fixes it.
fn diagnosis(status: &Status) -> (Option<String>, Option<String>) {
    let message = status.message();
    let message = message
        .rsplit_once(" rpcId: ")
        .map(|(m, _)| m)
        .unwrap_or(message)
        .to_string();
    let fix = match status.code() {
        Code::PermissionDenied => Some("/lightning/setup/PermSets/home".to_string()),
        Code::NotFound if error_code(status).is_some_and(|c| c.contains("topic")) => {
            Some("/lightning/setup/LiveMessageSetup/home".to_string())
        }
        _ => None,
    };
    (Some(message), fix)
}

/// A call in progress: when it started and what was asked.
pub struct CallStart {
    pub at: i64,
    started: Instant,
    pub operation: String,
    request: String,
}

impl CallStart {
    pub fn new(at: i64, operation: String, request: String) -> CallStart {
        CallStart {
            at,
            started: Instant::now(),
            operation: truncate_to(operation, MAX_OPERATION),
            request: truncate(request),
        }
    }

    /// The finished call: `response` describes a success; a refusal is described by its status.
    pub fn finish(self, who: &Caller, outcome: Result<String, &Status>) -> Call {
        let duration_micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let (status, error_code, diagnosis, fix_href, response) = match outcome {
            Ok(response) => ("OK".to_string(), None, None, None, response),
            Err(s) => {
                let (d, fix) = diagnosis(s);
                let code = error_code(s);
                let response = format!(
                    "status: {}\nmessage: {}\nerror-code: {}",
                    code_name(s.code()),
                    s.message(),
                    code.as_deref().unwrap_or("(none)")
                );
                (code_name(s.code()).to_string(), code, d, fix, response)
            }
        };
        Call {
            at: self.at,
            host: Host::PubSub,
            operation: self.operation,
            app: who.app.clone(),
            user: who.user.clone(),
            status,
            error_code,
            duration_micros,
            diagnosis,
            fix_href,
            request: self.request,
            response: truncate(response),
        }
    }
}

/// Who made a call, as far as it is known (nothing before authentication succeeded).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub app: Option<String>,
    pub user: Option<String>,
}

/// App names by consumer key, so naming the caller costs a database query only the first time
/// an app calls (and again after this process changed setup records).
#[derive(Default)]
pub struct AppNames {
    names: Mutex<(u64, HashMap<String, String>)>,
}

impl AppNames {
    /// The caller of a granted call: the app's name (its consumer key if it has none any
    /// more) and the username.
    pub async fn caller(&self, store: &byoc_store::Store, grant: &Grant) -> Caller {
        let app = match &grant.consumer_key {
            Some(key) => Some(self.name(store, key).await),
            None => None,
        };
        Caller {
            app,
            user: Some(grant.username.clone()),
        }
    }

    async fn name(&self, store: &byoc_store::Store, consumer_key: &str) -> String {
        let generation = store.generation();
        if let Ok(names) = self.names.lock() {
            if names.0 == generation {
                if let Some(n) = names.1.get(consumer_key) {
                    return n.clone();
                }
            }
        }
        let name = match store.app_by_consumer_key(consumer_key).await {
            Ok(Some(app)) => app.name,
            _ => consumer_key.to_string(),
        };
        if let Ok(mut names) = self.names.lock() {
            if names.0 != generation || names.1.len() >= MAX_APP_NAMES {
                *names = (generation, HashMap::new());
            }
            names.1.insert(consumer_key.to_string(), name.clone());
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_described_by_its_code_trailer_and_message() {
        let status = super::super::errors::permission_denied(
            super::super::errors::SUBSCRIBE_NOT_AUTHORIZED,
            "Read",
            "/event/Byoc_Outbound__e",
            "subscribe to",
        );
        let call = CallStart::new(5, "Subscribe /event/Byoc_Outbound__e".into(), "x".into())
            .finish(&Caller::default(), Err(&status));
        assert_eq!(call.status, "PERMISSION_DENIED");
        assert_eq!(
            call.error_code.as_deref(),
            Some(super::super::errors::SUBSCRIBE_NOT_AUTHORIZED)
        );
        let diagnosis = call.diagnosis.unwrap();
        assert!(
            diagnosis.starts_with("Insufficient permissions"),
            "{diagnosis}"
        );
        assert!(!diagnosis.contains("rpcId"));
        assert_eq!(
            call.fix_href.as_deref(),
            Some("/lightning/setup/PermSets/home")
        );
        assert_eq!(call.host, Host::PubSub);
    }

    #[test]
    fn the_token_is_never_copied() {
        let mut m = MetadataMap::new();
        m.insert("accesstoken", "00Dxx!secret-token".parse().unwrap());
        m.insert("tenantid", "00D000000000001".parse().unwrap());
        let text = describe_metadata(&m);
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("18 characters"), "{text}");
        assert!(text.contains("instanceurl: (missing)"));
        assert!(text.contains("tenantid: 00D000000000001"));
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let t = truncate("é".repeat(MAX_TEXT));
        assert!(t.len() <= MAX_TEXT + '…'.len_utf8());
        assert!(t.ends_with('…'));
    }
}
