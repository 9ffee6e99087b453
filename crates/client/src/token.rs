//! The partner side of the OAuth 2.0 JWT Bearer flow: sign an assertion with the private key whose
//! certificate the app holds, post it to a token URL (byoc's or real Salesforce's), and read the
//! answer ([RFC 7523](https://www.rfc-editor.org/rfc/rfc7523),
//! <https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_jwt_flow.htm>).
//!
//! [`TokenProvider`] wraps [`JwtBearer`] with a cache for long-running connectors: one token
//! shared by every caller, refreshed before it expires and after a refusal, one request in
//! flight at a time.
//!
//! ```no_run
//! # async fn demo(pem: &str) -> Result<(), byoc_client::token::TokenError> {
//! use byoc_client::token::{JwtBearer, JwtBearerSettings};
//! let provider = JwtBearer::new(JwtBearerSettings {
//!     token_url: "http://127.0.0.1:6101/services/oauth2/token".into(),
//!     consumer_key: "3MVG9...".into(),
//!     username: "admin@byoc-xxxxxx.example.com".into(),
//!     audience: "https://login.salesforce.com".into(),
//!     private_key_pem: pem.into(),
//! })?;
//! let token = provider.fetch().await?;
//! println!("{}", token.access_token);
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use byoc_proto::oauth::{OAuthErrorBody, TokenResponse, DIAGNOSIS_HEADER, JWT_BEARER_GRANT_TYPE};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize as _, Serialize};

/// How far ahead the assertion's `exp` is set: Salesforce's documented maximum, which also passes
/// byoc's `--strict` mode.
pub const ASSERTION_LIFETIME_SECS: i64 = 180;

/// What the flow needs; the names follow `partner.env` (`SF_TOKEN_URL` is `SF_AUTH_ENDPOINT`).
#[derive(Clone)]
pub struct JwtBearerSettings {
    /// e.g. `https://login.salesforce.com/services/oauth2/token`.
    pub token_url: String,
    /// `iss`: the app's consumer key (`SF_CONSUMER_KEY`).
    pub consumer_key: String,
    /// `sub`: the username to act as (`SF_SUBJECT`).
    pub username: String,
    /// `aud` (`SF_AUDIENCE`): `https://login.salesforce.com`, `https://test.salesforce.com`, or the
    /// org's login URL.
    pub audience: String,
    /// RSA private key, PKCS#8 or PKCS#1 PEM (`SF_PRIVATE_KEY`).
    pub private_key_pem: String,
}

impl fmt::Debug for JwtBearerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBearerSettings")
            .field("token_url", &self.token_url)
            .field("consumer_key", &self.consumer_key)
            .field("username", &self.username)
            .field("audience", &self.audience)
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

/// Why no token came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token endpoint refused: Salesforce's `error` and `error_description`, and byoc's
    /// diagnosis when the server is byoc.
    #[error("{}: {}{}", .error.error, .error.error_description, .diagnosis.as_deref().map(|d| format!(" (byoc: {d})")).unwrap_or_default())]
    Rejected {
        /// The HTTP status (400 for every refusal of the JWT Bearer flow).
        status: u16,
        /// Salesforce's `{error, error_description}`.
        error: OAuthErrorBody,
        /// byoc's `X-Byoc-Diagnosis`: the precise cause and the setup step that fixes it.
        diagnosis: Option<String>,
    },
    /// The private key can't sign RS256.
    #[error("can't sign the assertion: {0}")]
    Key(String),
    /// No answer: server down, wrong URL, timeout.
    #[error("{0}")]
    Transport(String),
    /// An answer that is not a token response nor an OAuth error.
    #[error("{0}")]
    Decode(String),
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: String,
}

/// A JWT Bearer token provider.
pub struct JwtBearer {
    http: reqwest::Client,
    settings: JwtBearerSettings,
    key: EncodingKey,
}

impl fmt::Debug for JwtBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBearer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn unique_jti(now_nanos: u128) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{now_nanos:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl JwtBearer {
    /// A provider for `settings`; fails when the private key is not an RSA key in PEM.
    pub fn new(settings: JwtBearerSettings) -> Result<JwtBearer, TokenError> {
        let key = EncodingKey::from_rsa_pem(settings.private_key_pem.as_bytes()).map_err(|e| {
            TokenError::Key(format!("the private key is not an RSA key in PEM ({e})"))
        })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("byoc-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TokenError::Transport(format!("can't set up the HTTP client: {e}")))?;
        Ok(JwtBearer {
            http,
            settings,
            key,
        })
    }

    /// The settings it signs and posts with.
    pub fn settings(&self) -> &JwtBearerSettings {
        &self.settings
    }

    /// A signed assertion valid from `now_secs` for [`ASSERTION_LIFETIME_SECS`].
    pub fn assertion_at(&self, now_secs: i64, jti: String) -> Result<String, TokenError> {
        let claims = Claims {
            iss: &self.settings.consumer_key,
            sub: &self.settings.username,
            aud: &self.settings.audience,
            exp: now_secs + ASSERTION_LIFETIME_SECS,
            iat: now_secs,
            jti,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| TokenError::Key(e.to_string()))
    }

    /// A signed assertion valid from now, with a fresh `jti`.
    // The partner's side signs with its own wall clock, as a connector does.
    #[allow(clippy::disallowed_methods)]
    pub fn assertion(&self) -> Result<String, TokenError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.assertion_at(now.as_secs() as i64, unique_jti(now.as_nanos()))
    }

    /// Trade a fresh assertion for an access token.
    pub async fn fetch(&self) -> Result<TokenResponse, TokenError> {
        let assertion = self.assertion()?;
        exchange(&self.http, &self.settings.token_url, &assertion).await
    }

    /// [`JwtBearer::fetch`], also returning the answer's JSON exactly as the server sent it.
    pub async fn fetch_with_json(&self) -> Result<(TokenResponse, serde_json::Value), TokenError> {
        let assertion = self.assertion()?;
        exchange_with_json(&self.http, &self.settings.token_url, &assertion).await
    }
}

/// Post an assertion to a token URL and read the answer.
pub async fn exchange(
    http: &reqwest::Client,
    token_url: &str,
    assertion: &str,
) -> Result<TokenResponse, TokenError> {
    exchange_with_json(http, token_url, assertion)
        .await
        .map(|(token, _)| token)
}

/// [`exchange`], also returning the answer's JSON as sent (members [`TokenResponse`] does not
/// name included), for callers that print it.
pub async fn exchange_with_json(
    http: &reqwest::Client,
    token_url: &str,
    assertion: &str,
) -> Result<(TokenResponse, serde_json::Value), TokenError> {
    let response = http
        .post(token_url)
        .form(&[
            ("grant_type", JWT_BEARER_GRANT_TYPE),
            ("assertion", assertion),
        ])
        .send()
        .await
        .map_err(|e| TokenError::Transport(format!("can't reach {token_url}: {e}")))?;
    let status = response.status();
    let diagnosis = response
        .headers()
        .get(DIAGNOSIS_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .bytes()
        .await
        .map_err(|e| TokenError::Transport(format!("reading the answer of {token_url}: {e}")))?;
    if status.is_success() {
        let not_a_token = |e: serde_json::Error| {
            TokenError::Decode(format!(
                "{token_url} answered {status} but not a token response: {e}"
            ))
        };
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(not_a_token)?;
        let token = TokenResponse::deserialize(&json).map_err(not_a_token)?;
        return Ok((token, json));
    }
    match serde_json::from_slice::<OAuthErrorBody>(&body) {
        Ok(error) => Err(TokenError::Rejected {
            status: status.as_u16(),
            error,
            diagnosis,
        }),
        Err(_) => {
            let snippet: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            Err(TokenError::Decode(format!(
                "{token_url} answered {status}: {snippet}"
            )))
        }
    }
}

// ---- caching ----------------------------------------------------------------------------------

/// How long a token is used when the token response does not say how long it lives (the JWT
/// Bearer response has no `expires_in`): well inside Salesforce's default session timeout of two
/// hours.
pub const DEFAULT_REFRESH_AFTER: Duration = Duration::from_secs(100 * 60);

/// How long before a known expiry a token is refreshed, at most.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// A boxed future of the token traits (object-safe async).
pub type TokenFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a client gets its access token: [`TokenProvider`] (JWT Bearer, cached) or
/// [`StaticAccessToken`].
pub trait AccessTokenSource: Send + Sync {
    /// A token to send now.
    fn access_token(&self) -> TokenFuture<'_, Result<String, TokenError>>;
    /// The server refused `access_token` (HTTP 401, Interaction API code 10004): forget it, so
    /// the next [`AccessTokenSource::access_token`] gets a new one.
    fn invalidate<'a>(&'a self, access_token: &'a str) -> TokenFuture<'a, ()>;
}

/// A fixed access token (or session id), e.g. `SF_ACCESS_TOKEN`; never refreshed.
#[derive(Clone)]
pub struct StaticAccessToken(pub String);

impl fmt::Debug for StaticAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticAccessToken(<redacted>)")
    }
}

impl AccessTokenSource for StaticAccessToken {
    fn access_token(&self) -> TokenFuture<'_, Result<String, TokenError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }

    fn invalidate<'a>(&'a self, _access_token: &'a str) -> TokenFuture<'a, ()> {
        Box::pin(async {})
    }
}

struct CachedToken {
    token: TokenResponse,
    refresh_at: Instant,
}

#[derive(Default)]
struct CacheState {
    current: Option<CachedToken>,
    /// The last failed fetch and when it ended: callers that were already waiting get it
    /// instead of each trying again.
    last_failure: Option<(Instant, TokenError)>,
    fetches: u64,
}

/// A caching JWT Bearer token provider: one token shared by every caller, fetched again before
/// it expires and after the server refused it ([`TokenProvider::invalidate`]), with a single
/// request in flight however many callers wait.
///
/// The lifetime is the token response's `expires_in` when the server sends one, else
/// [`DEFAULT_REFRESH_AFTER`] (Salesforce's JWT Bearer response says nothing about it; the
/// session timeout is an app policy).
///
/// ```no_run
/// # async fn demo(settings: byoc_client::token::JwtBearerSettings) -> Result<(), byoc_client::token::TokenError> {
/// use byoc_client::token::TokenProvider;
/// let tokens = std::sync::Arc::new(TokenProvider::from_settings(settings)?);
/// let token = tokens.access_token().await?;   // fetched
/// let again = tokens.access_token().await?;   // cached
/// assert_eq!(token, again);
/// tokens.invalidate(&token).await;            // after a 401: the next call fetches
/// # Ok(()) }
/// ```
pub struct TokenProvider {
    bearer: JwtBearer,
    refresh_after: Duration,
    // A tokio mutex held across the fetch: that is the single flight.
    state: tokio::sync::Mutex<CacheState>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("bearer", &self.bearer)
            .field("refresh_after", &self.refresh_after)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    /// Cache the tokens of `bearer`.
    pub fn new(bearer: JwtBearer) -> TokenProvider {
        TokenProvider {
            bearer,
            refresh_after: DEFAULT_REFRESH_AFTER,
            state: tokio::sync::Mutex::new(CacheState::default()),
        }
    }

    /// [`JwtBearer::new`] then [`TokenProvider::new`].
    pub fn from_settings(settings: JwtBearerSettings) -> Result<TokenProvider, TokenError> {
        Ok(TokenProvider::new(JwtBearer::new(settings)?))
    }

    /// Use a token this long when the response does not say (default
    /// [`DEFAULT_REFRESH_AFTER`]); e.g. the app's session timeout minus a margin.
    pub fn with_refresh_after(mut self, refresh_after: Duration) -> TokenProvider {
        self.refresh_after = refresh_after;
        self
    }

    /// The underlying flow.
    pub fn bearer(&self) -> &JwtBearer {
        &self.bearer
    }

    /// The current token response, fetching one when there is none or it is due for refresh.
    pub async fn token(&self) -> Result<TokenResponse, TokenError> {
        let asked_at = Instant::now();
        let mut state = self.state.lock().await;
        if let Some(cached) = &state.current {
            if Instant::now() < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        if let Some((failed_at, error)) = &state.last_failure {
            if *failed_at >= asked_at {
                return Err(error.clone());
            }
        }
        state.fetches += 1;
        match self.bearer.fetch_with_json().await {
            Ok((token, json)) => {
                let lifetime = expires_in(&json)
                    .map(|d| d.saturating_sub(EXPIRY_MARGIN.min(d / 10)))
                    .unwrap_or(self.refresh_after);
                state.current = Some(CachedToken {
                    token: token.clone(),
                    refresh_at: Instant::now() + lifetime,
                });
                state.last_failure = None;
                Ok(token)
            }
            Err(error) => {
                state.current = None;
                state.last_failure = Some((Instant::now(), error.clone()));
                Err(error)
            }
        }
    }

    /// The current access token (see [`TokenProvider::token`]).
    pub async fn access_token(&self) -> Result<String, TokenError> {
        self.token().await.map(|t| t.access_token)
    }

    /// Forget `access_token` if it is still the cached one (a refusal of an older token does not
    /// throw away a newer one).
    pub async fn invalidate(&self, access_token: &str) {
        let mut state = self.state.lock().await;
        let stale = state
            .current
            .as_ref()
            .is_some_and(|c| c.token.access_token == access_token);
        if stale {
            state.current = None;
        }
    }

    /// How many times a token was requested from the server (for tests and metrics).
    pub async fn fetch_count(&self) -> u64 {
        self.state.lock().await.fetches
    }

    async fn invalidate_current(&self) {
        self.state.lock().await.current = None;
    }
}

impl AccessTokenSource for TokenProvider {
    fn access_token(&self) -> TokenFuture<'_, Result<String, TokenError>> {
        Box::pin(TokenProvider::access_token(self))
    }

    fn invalidate<'a>(&'a self, access_token: &'a str) -> TokenFuture<'a, ()> {
        Box::pin(TokenProvider::invalidate(self, access_token))
    }
}

impl crate::pubsub::TokenSource for TokenProvider {
    fn access_token(&self, refresh: bool) -> crate::pubsub::TokenFuture<'_> {
        Box::pin(async move {
            if refresh {
                self.invalidate_current().await;
            }
            TokenProvider::access_token(self)
                .await
                .map_err(|e| crate::pubsub::PubSubError::Token(e.to_string()))
        })
    }
}

/// `expires_in` (seconds, number or string) of a token response, when present and positive.
fn expires_in(json: &serde_json::Value) -> Option<Duration> {
    let v = json.get("expires_in")?;
    let secs = v
        .as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))?;
    (secs > 0).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests;
