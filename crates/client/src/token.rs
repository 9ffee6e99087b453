//! The partner side of the OAuth 2.0 JWT Bearer flow: sign an assertion with the private key whose
//! certificate the app holds, post it to a token URL (byoc's or real Salesforce's), and read the
//! answer ([RFC 7523](https://www.rfc-editor.org/rfc/rfc7523),
//! <https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_jwt_flow.htm>).
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
        status: u16,
        error: OAuthErrorBody,
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
