//! OAuth 2.0 and identity wire types: the token endpoint's answers, introspection, the identity
//! URL, OpenID discovery, and byoc's login history.
//!
//! Field order matters where Salesforce's documentation shows it (serde keeps declaration order):
//! the token response is `access_token, signature, scope, instance_url, id, token_type,
//! issued_at`, as in the JWT Bearer flow documentation
//! (<https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_jwt_flow.htm>).

use serde::{Deserialize, Serialize};

use crate::setup::EpochMillis;

/// `grant_type` of the JWT Bearer flow ([RFC 7523 §2.1](https://www.rfc-editor.org/rfc/rfc7523#section-2.1)).
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Response header carrying byoc's diagnosis of a refused request (ASCII only).
pub const DIAGNOSIS_HEADER: &str = "X-Byoc-Diagnosis";

/// A successful token response (HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// `<orgId15>!<opaque>`.
    pub access_token: String,
    /// Base64 HMAC-SHA256 of `id + issued_at`, keyed by the app's consumer secret. Salesforce's
    /// JWT Bearer documentation shows answers without it, so a client accepts its absence.
    #[serde(default)]
    pub signature: String,
    /// Space-separated scope names.
    pub scope: String,
    pub instance_url: String,
    /// The identity URL, `<login_url>/id/<orgId18>/<userId18>`.
    pub id: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Milliseconds since the epoch, as a string (absent from some Salesforce answers, as
    /// `signature`).
    #[serde(default)]
    pub issued_at: String,
}

/// An OAuth error body ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)),
/// as Salesforce sends it: exactly these two members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: String,
}

/// `POST /services/oauth2/introspect` ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)), in
/// Salesforce's shape. An inactive token answers `{"active": false}` only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The identity URL of the token's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `access_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Links of the identity URL's `urls` member (the ones byoc can fill meaningfully).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityUrls {
    pub rest: String,
    pub sobjects: String,
    pub query: String,
    pub profile: String,
    pub custom_domain: String,
}

/// The identity URL's answer (`GET /id/<org18>/<user18>`), a subset of Salesforce's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityResponse {
    pub id: String,
    pub asserted_user: bool,
    pub user_id: String,
    pub organization_id: String,
    pub username: String,
    pub nick_name: String,
    pub display_name: String,
    pub email: String,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: String,
    pub timezone: String,
    pub active: bool,
    pub user_type: String,
    pub language: String,
    pub locale: String,
    #[serde(rename = "utcOffset")]
    pub utc_offset: i64,
    pub urls: IdentityUrls,
    pub is_app_installed: bool,
}

/// `GET /services/oauth2/userinfo` (OpenID Connect UserInfo), a subset of Salesforce's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfoResponse {
    pub sub: String,
    pub user_id: String,
    pub organization_id: String,
    pub preferred_username: String,
    pub nickname: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub zoneinfo: String,
    pub active: bool,
    pub user_type: String,
    pub language: String,
    pub locale: String,
    #[serde(rename = "utcOffset")]
    pub utc_offset: i64,
    pub is_app_installed: bool,
}

/// Whether a login attempt succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginStatus {
    Success,
    Failed,
}

impl LoginStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginStatus::Success => "Success",
            LoginStatus::Failed => "Failed",
        }
    }

    /// Case-insensitive.
    pub fn parse(s: &str) -> Option<LoginStatus> {
        [LoginStatus::Success, LoginStatus::Failed]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

/// One row of byoc's login history (Salesforce's *Login History*, plus byoc's diagnosis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginHistoryEntry {
    pub login_time: EpochMillis,
    /// The `sub` (or `prn`) of the assertion, as sent; empty when the assertion had none.
    pub username: String,
    /// The user's id when the username is a user of the org.
    pub user_id: Option<String>,
    /// The app's name when the consumer key is known.
    pub application: Option<String>,
    /// The `iss` of the assertion, as sent.
    pub consumer_key: Option<String>,
    /// Salesforce's login type for OAuth logins: `Remote Access 2.0`.
    pub login_type: String,
    pub status: LoginStatus,
    /// Salesforce's `error` for a refusal.
    pub error: Option<String>,
    /// Salesforce's `error_description` for a refusal.
    pub error_description: Option<String>,
    /// byoc's precise cause and the setup step that fixes it.
    pub diagnosis: Option<String>,
    pub source_ip: Option<String>,
}

/// Filters of `GET /admin/v1/login-history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginHistoryQuery {
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub username: Option<String>,
    /// App name (case-insensitive) or consumer key.
    #[serde(default)]
    pub app: Option<String>,
    /// `Success` or `Failed`.
    #[serde(default)]
    pub status: Option<String>,
}
