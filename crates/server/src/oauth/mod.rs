//! The OAuth 2.0 side of the login host: the JWT Bearer token endpoint, access tokens, the
//! endpoints Salesforce serves beside it, and the login history.
//!
//! - [`token`]: `POST /services/oauth2/token` — thin: read the form, call `byoc_core::oauth`,
//!   mint the token, answer Salesforce's bytes, record the attempt.
//! - [`tokens`]: sealed access tokens and the [`TokenVerifier`] other hosts use (no database
//!   round trip per check).
//! - [`identity`]: revoke, introspect, userinfo, the identity URL, OpenID discovery.
//! - [`history`]: login history written in batches off the request path, and its admin route.
//! - [`directory`]: caches of apps, users and certificate keys.
//! - [`background`]: the poller that keeps this instance in step with others on the database.
//!
//! [`start`] builds the state and spawns the background tasks; [`router`] serves it.

pub mod background;
pub(crate) mod credentials;
pub mod directory;
pub mod history;
pub mod identity;
pub mod keys;
pub mod principals;
pub mod token;
pub mod tokens;

use std::sync::Arc;

use anyhow::Context;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use byoc_core::oauth::GrantRefusal;
use byoc_core::Clock;
use byoc_proto::oauth::{OAuthErrorBody, DIAGNOSIS_HEADER};
use byoc_proto::setup::Org;
use byoc_store::Store;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::admin_api::AdminState;
use crate::setup_service::SetupService;

pub use tokens::{AccessTokenClaims, TokenError, TokenVerifier};

/// Salesforce's production and sandbox login URLs: the audiences accepted by default.
pub const DEFAULT_AUDIENCES: [&str; 2] = [
    "https://login.salesforce.com",
    "https://test.salesforce.com",
];

/// Settings of the OAuth endpoints.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub org: Org,
    /// This server's login URL: the identity URLs' base, and always an accepted audience.
    pub login_url: String,
    pub instance_url: String,
    /// The login URL over HTTPS, also an accepted audience.
    pub login_url_https: Option<String>,
    /// Accepted `aud` values besides `login_url`; empty means [`DEFAULT_AUDIENCES`].
    pub accepted_audiences: Vec<String>,
    /// `--strict`: hold partners to RFC 7523's and RFC 8725's recommendations.
    pub strict: bool,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) org: Org,
    pub(crate) login_url: String,
    pub(crate) instance_url: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) strict: bool,
    pub(crate) directory: directory::Directory,
    pub(crate) keys: directory::KeyCache,
    pub(crate) tokens: Arc<TokenVerifier>,
    pub(crate) history: history::Recorder,
    pub(crate) setup: SetupService,
}

impl Inner {
    /// The login and instance URLs an answer names: the HTTPS listener's when the request came
    /// through it ([`crate::PublicUrls`]), else the plain ones.
    pub(crate) fn public_urls<'a>(
        &'a self,
        urls: Option<&'a axum::Extension<crate::PublicUrls>>,
    ) -> (&'a str, &'a str) {
        match urls {
            Some(axum::Extension(u)) => (&u.login_url, &u.instance_url),
            None => (&self.login_url, &self.instance_url),
        }
    }
}

/// Shared by every OAuth request; cheap to clone.
#[derive(Clone)]
pub struct OAuthState(pub(crate) Arc<Inner>);

impl OAuthState {
    /// The verifier for bearer tokens, for the Interaction API and Pub/Sub hosts.
    pub fn token_verifier(&self) -> Arc<TokenVerifier> {
        self.0.tokens.clone()
    }

    pub fn now(&self) -> i64 {
        self.0.clock.now_millis()
    }

    /// Check a bearer token now (names from memory only: see [`TokenVerifier::verify`]).
    pub fn verify(&self, bearer: &str) -> Result<AccessTokenClaims, TokenError> {
        self.0.tokens.verify(bearer, self.now())
    }

    /// Check a bearer token now, reading the name of a user or app this instance has not seen
    /// yet ([`TokenVerifier::verify_resolving`]).
    pub async fn check(&self, bearer: &str) -> Result<AccessTokenClaims, TokenError> {
        self.0.tokens.verify_resolving(bearer, self.now()).await
    }
}

/// The username an access token acts as, for the admin API: `Some` only for a valid, unexpired,
/// unrevoked token of this org.
pub async fn actor_username_from_access_token(state: &OAuthState, token: &str) -> Option<String> {
    state.check(token).await.ok().map(|c| c.username)
}

/// Build the OAuth state (loading or creating the shared sealing key), spawn the poller on
/// `tasks` (it stops with `shutdown`) and the login-history flusher on `flushers` (it stops once
/// the HTTP hosts are done or the drain deadline passed, after writing every recorded attempt).
pub async fn start(
    config: OAuthConfig,
    store: Store,
    clock: Arc<dyn Clock>,
    setup: SetupService,
    shutdown: CancellationToken,
    tasks: &mut JoinSet<anyhow::Result<()>>,
    flushers: &mut crate::Flushers,
) -> anyhow::Result<OAuthState> {
    let tokens = Arc::new(TokenVerifier::with_keys(
        keys::load(&store, true).await?,
        &config.org.id,
    )?);
    // Users deactivated and apps disabled here are refused here at once.
    setup.attach_token_verifier(tokens.clone());
    // Tokens carry ids; the names they resolve to are kept in memory (oauth::principals).
    tokens.attach_store(store.clone());
    let fingerprint = store
        .repo()
        .setup_fingerprint()
        .await
        .context("can't read the setup tables")?;

    let mut audiences: Vec<String> = if config.accepted_audiences.is_empty() {
        DEFAULT_AUDIENCES.iter().map(|s| s.to_string()).collect()
    } else {
        config.accepted_audiences.clone()
    };
    audiences.push(config.login_url.clone());
    audiences.extend(config.login_url_https.clone());

    let (recorder, receiver) = history::channel();
    let deadline = flushers.deadline();
    // Supervised (crate::supervise): a panic restarts the flusher on the same queue.
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let history_store = store.clone();
    let supervisor_deadline = deadline.clone();
    flushers.spawn(async move {
        crate::supervise::supervise("login-history flusher", supervisor_deadline, move || {
            let (store, receiver, deadline) =
                (history_store.clone(), receiver.clone(), deadline.clone());
            async move {
                let mut receiver = receiver.lock().await;
                history::flush(store, &mut receiver, deadline).await
            }
        })
        .await;
        Ok(())
    });

    let inner = Arc::new(Inner {
        directory: directory::Directory::new(store.clone(), fingerprint),
        keys: directory::KeyCache::default(),
        store: store.clone(),
        clock: clock.clone(),
        org: config.org,
        login_url: config.login_url,
        instance_url: config.instance_url,
        audiences,
        strict: config.strict,
        tokens,
        history: recorder,
        setup,
    });
    background::load_revocations(&inner).await?;
    inner.tokens.names().merge(
        principals::load_all(&store)
            .await
            .context("can't read the users and apps")?,
    );
    // The poller holds a weak reference, so the state (and the history sender in it) goes away
    // when the HTTP host stops, which is what lets the flusher finish.
    // Supervised: a panic in the poller restarts it instead of leaving revocations unseen.
    let weak = Arc::downgrade(&inner);
    let stop = shutdown.clone();
    crate::supervise::spawn(tasks, "OAuth revocation poller", shutdown, move || {
        background::poll(weak.clone(), store.clone(), clock.clone(), stop.clone())
    });
    Ok(OAuthState(inner))
}

/// The OAuth, identity and login-history routes for the login host.
pub fn router(state: OAuthState) -> Router {
    let admin = AdminState::new(state.0.setup.clone(), Some(state.clone()));
    Router::new()
        .route("/services/oauth2/token", post(token::token))
        .route(
            "/services/oauth2/revoke",
            post(identity::revoke).get(identity::revoke_get),
        )
        .route("/services/oauth2/introspect", post(identity::introspect))
        .route(
            "/services/oauth2/userinfo",
            get(identity::userinfo).post(identity::userinfo),
        )
        .route(
            "/id/{org}/{user}",
            get(identity::identity).post(identity::identity),
        )
        .route("/id/keys", get(identity::keys))
        .route(
            "/.well-known/openid-configuration",
            get(identity::openid_configuration),
        )
        .with_state(state)
        .merge(
            Router::new()
                .route("/admin/v1/login-history", get(history::list))
                .route("/admin/v1/token-keys", get(keys::list))
                .route("/admin/v1/token-keys/rotate", post(keys::rotate))
                .layer(axum::middleware::from_fn(
                    crate::admin_api::refuse_control_characters,
                ))
                .with_state(admin),
        )
}

/// An OAuth error answer: HTTP 400 (or `status`), `Cache-Control: no-store`, Salesforce's JSON
/// body, and byoc's diagnosis in [`DIAGNOSIS_HEADER`].
pub(crate) fn oauth_error(status: StatusCode, refusal: &GrantRefusal) -> Response {
    let body = OAuthErrorBody {
        error: refusal.error.error().into(),
        error_description: refusal.error.description().into(),
    };
    let mut response = (status, json_body(&body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&byoc_core::oauth::header_safe(&refusal.diagnosis)) {
        headers.insert(DIAGNOSIS_HEADER, v);
    }
    response
}

/// A plain OAuth error body with no diagnosis (endpoints other than the token endpoint).
pub(crate) fn plain_oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = OAuthErrorBody {
        error: error.into(),
        error_description: description.into(),
    };
    let mut response = (status, json_body(&body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// JSON with Salesforce's content type.
pub(crate) fn json_body<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json;charset=UTF-8"),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Log a store failure under an id and answer Salesforce's generic error, never the cause.
pub(crate) fn store_failure(e: &byoc_store::StoreError) -> Response {
    let error_id = uuid::Uuid::new_v4().simple().to_string();
    tracing::error!(error_id, error = %e, "OAuth endpoint store failure");
    // The same body either way (Salesforce's answer to a request it failed to serve, which
    // clients already treat as "retry"); a database that is unavailable makes it a 503, so load
    // balancers and clients see it is transient (docs/scale-out.md, "When the database fails").
    let status = if e.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let mut r = plain_oauth_error(status, "unknown_error", "retry your request");
    if let Ok(v) = HeaderValue::from_str(&format!("store failure, error id {error_id}")) {
        r.headers_mut().insert(DIAGNOSIS_HEADER, v);
    }
    r
}

/// The largest form body the OAuth endpoints read: an assertion is at most 16 KiB
/// ([`byoc_core::oauth::MAX_ASSERTION_BYTES`]), a token far less, so this leaves room and no more.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Form parameters, refusing repeats (RFC 6749 §3.2: parameters MUST NOT be included more than
/// once). `Err` names the repeated parameter.
///
/// One pass with a set of the names seen, so the work is linear in the input: a body of a
/// hundred thousand distinct names costs a hundred thousand set lookups, never their square.
/// Public so the fuzz target (`fuzz/`) and the corpus test call exactly this.
pub fn form_params(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut seen: std::collections::HashSet<std::borrow::Cow<'_, str>> =
        std::collections::HashSet::new();
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if seen.contains(&k) {
            return Err(k.into_owned());
        }
        out.push((k.clone().into_owned(), v.into_owned()));
        seen.insert(k);
    }
    Ok(out)
}

/// Why a form body was not read.
pub(crate) enum FormError {
    /// Longer than [`MAX_FORM_BYTES`] (or the connection broke while reading it).
    TooLarge,
    /// A parameter appears twice.
    Duplicate,
}

/// Read a form body of at most [`MAX_FORM_BYTES`] and parse it with [`form_params`].
pub(crate) async fn read_form(body: axum::body::Body) -> Result<Vec<(String, String)>, FormError> {
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| FormError::TooLarge)?;
    form_params(&bytes).map_err(|_| FormError::Duplicate)
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The bearer token of an `Authorization` header.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("Bearer") || scheme.eq_ignore_ascii_case("OAuth"))
        .then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::form_params;

    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .expect("the fuzz corpus")
            .map(|e| std::fs::read(e.expect("entry").path()).expect("corpus file"))
            .collect();
        assert!(!files.is_empty(), "no corpus in {}", dir.display());
        files
    }

    #[test]
    fn repeats_are_refused_and_named() {
        assert_eq!(
            form_params(b"a=1&b=2").unwrap(),
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(form_params(b"a=1&b=2&a%3D=3&a=4"), Err("a".to_string()));
        // The same name written two ways is the same parameter.
        assert_eq!(form_params(b"t%6Fken=1&token=2"), Err("token".to_string()));
    }

    /// 2 MB of 200,000 distinct names (what one request to /services/oauth2/revoke could carry
    /// before it was bounded) parses: one set lookup per name. The quadratic scan this replaced
    /// made some 2 * 10^10 comparisons here. The timeout only keeps a regression from hanging
    /// the suite; it is no speed assertion.
    #[test]
    fn two_hundred_thousand_distinct_names_parse() {
        let body: String = (0..200_000)
            .map(|i| format!("p{i:07}"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(body.len() >= 1_600_000);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(form_params(body.as_bytes()).map(|p| p.len()));
        });
        let parsed = rx
            .recv_timeout(std::time::Duration::from_secs(300))
            .expect("the form parser hung");
        assert_eq!(parsed, Ok(200_000));
    }

    /// The fuzz corpus of `fuzz/fuzz_targets/form_params.rs`, on stable.
    #[test]
    fn the_form_corpus_parses_without_panicking() {
        for body in corpus("form_params") {
            if let Ok(params) = form_params(&body) {
                let mut names: Vec<&String> = params.iter().map(|(k, _)| k).collect();
                let n = names.len();
                names.sort();
                names.dedup();
                assert_eq!(names.len(), n);
            }
        }
    }

    /// The fuzz corpus of `fuzz/fuzz_targets/multipart.rs` (first line: the content type), on
    /// stable.
    #[tokio::test]
    async fn the_multipart_corpus_reads_without_panicking() {
        for data in corpus("multipart") {
            let (content_type, body) = match data.iter().position(|b| *b == b'\n') {
                Some(i) => (data[..i].to_vec(), data[i + 1..].to_vec()),
                None => (Vec::new(), data),
            };
            let content_type = if content_type.is_empty() {
                b"multipart/form-data; boundary=b".to_vec()
            } else {
                content_type
            };
            let Ok(request) = axum::http::Request::builder()
                .method("POST")
                .uri("/api/v1/interactions")
                .header("content-type", content_type)
                .body(axum::body::Body::from(body))
            else {
                continue;
            };
            if let Ok((_, files)) = crate::scrt::body::read_multipart(request, "json").await {
                for f in files {
                    assert_eq!(f.facts.size, f.content.len() as u64);
                }
            }
        }
    }
}
