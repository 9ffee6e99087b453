//! The OAuth 2.0 JWT Bearer grant: reading the assertion and deciding the grant, without IO.
//!
//! - [`parse_assertion`] reads a compact JWS ([RFC 7515](https://www.rfc-editor.org/rfc/rfc7515))
//!   defensively: a byte limit, three segments (five means an encrypted JWT, refused), strict
//!   base64url, JSON objects without duplicate members, `alg` exactly `RS256` (RFC 8725 §3.1), and
//!   the claims RFC 7523 §3 requires (`iss`, `sub`, `aud`, integer `exp`). Header members that name
//!   keys (`kid`, `jwk`, `jku`, `x5u`, `x5c`) are ignored: the key is always the app's certificate.
//! - [`decide`] applies Salesforce's checks in Salesforce's order — client, signature, audience,
//!   expiry, user, policy, scope — and answers either a [`Grant`] or a [`GrantRefusal`]: the
//!   exact Salesforce error plus byoc's diagnosis naming the setup step that fixes it.
//!
//! The signature itself is checked by the caller's [`SignatureVerifier`] (the server keeps parsed
//! keys cached); `now` is a parameter.

use std::collections::BTreeSet;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use byoc_proto::setup::{App, AppKind, Certificate, PermittedUsers, User};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// Assertions longer than this are refused before any decoding.
pub const MAX_ASSERTION_BYTES: usize = 16 * 1024;

/// The longest `iss` or `sub` that can name an app or a user (Salesforce usernames are at most
/// 80 characters, consumer keys under 100); longer ones name nothing.
pub const MAX_IDENTIFIER_CHARS: usize = 255;

/// Whether `value` could name a record: at most [`MAX_IDENTIFIER_CHARS`] characters and no
/// control characters (no username, consumer key or setup name has one, and PostgreSQL text
/// cannot even hold NUL). A value that fails names nothing, so the caller skips the lookup and
/// [`decide`] answers what Salesforce answers for an unknown client or user.
pub fn is_identifier(value: &str) -> bool {
    !value.chars().any(char::is_control) && value.chars().count() <= MAX_IDENTIFIER_CHARS
}

/// Strict mode: the furthest ahead `exp` may be.
pub const STRICT_MAX_EXP_AHEAD_MILLIS: i64 = 3 * 60 * 1000;

/// Strict mode: how far in the future `iat`/`nbf` (and `exp` beyond 3 minutes) may be, for clock
/// skew between the partner's machine and the org.
pub const STRICT_CLOCK_SKEW_MILLIS: i64 = 10 * 1000;

/// Access token lifetime when the app policy leaves the session timeout to the org (2 hours).
pub const DEFAULT_SESSION_TIMEOUT_MINUTES: u32 = 120;

/// The errors the token endpoint answers, each with Salesforce's exact `error` and
/// `error_description` (DESIGN.md §4, docs/fidelity.md "Token endpoint").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    /// `grant_type` is missing or not the JWT Bearer grant.
    UnsupportedGrantType,
    /// The request repeats a parameter (RFC 6749 §3.2).
    DuplicateParameter,
    /// Unparseable assertion, wrong `alg`, a required claim missing; strict-mode refusals.
    InvalidAssertion,
    /// `iss` is not the consumer key of an app with OAuth enabled.
    InvalidClientId,
    /// The signature does not verify with the app's certificate, or the app can't verify one.
    InvalidClientCredentials,
    InvalidAudience,
    Expired,
    /// `sub` is not a username of the org.
    UnknownUser,
    InactiveUser,
    /// *All users may self-authorize*: nobody approved the app for this user.
    NotApproved,
    /// Admin-approved, but neither the user's profile nor a permission set is assigned.
    NotAdminApproved,
    /// The app lacks the `refresh_token` scope.
    RefreshTokenScopeRequired,
    /// Client credentials: the flow is off or the app names no run-as user.
    NoClientCredentialsUser,
    /// Client credentials: none of the app's scopes is one the flow grants.
    NoValidScopes,
}

impl OAuthError {
    pub fn error(self) -> &'static str {
        match self {
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::DuplicateParameter | OAuthError::RefreshTokenScopeRequired => {
                "invalid_request"
            }
            OAuthError::InvalidAssertion
            | OAuthError::InvalidAudience
            | OAuthError::Expired
            | OAuthError::UnknownUser
            | OAuthError::InactiveUser
            | OAuthError::NotApproved
            | OAuthError::NoClientCredentialsUser
            | OAuthError::NoValidScopes => "invalid_grant",
            OAuthError::InvalidClientId => "invalid_client_id",
            OAuthError::InvalidClientCredentials => "invalid_client",
            OAuthError::NotAdminApproved => "invalid_app_access",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            OAuthError::UnsupportedGrantType => "grant type not supported",
            OAuthError::DuplicateParameter => "duplicate parameter",
            OAuthError::InvalidAssertion => "invalid assertion",
            OAuthError::InvalidClientId => "client identifier invalid",
            OAuthError::InvalidClientCredentials => "invalid client credentials",
            OAuthError::InvalidAudience => "audience is invalid",
            OAuthError::Expired => "expired authorization code",
            OAuthError::UnknownUser => "authentication failure",
            OAuthError::InactiveUser => "inactive user",
            OAuthError::NotApproved => "user hasn't approved this consumer",
            OAuthError::NotAdminApproved => "user is not admin approved to access this app",
            OAuthError::RefreshTokenScopeRequired => {
                "refresh_token scope is required and the connected app should be installed and preauthorized."
            }
            OAuthError::NoClientCredentialsUser => "no client credentials user enabled",
            OAuthError::NoValidScopes => "no valid scopes defined",
        }
    }
}

/// A refused grant: what Salesforce answers, and byoc's diagnosis (ASCII, one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRefusal {
    pub error: OAuthError,
    pub diagnosis: String,
}

impl GrantRefusal {
    pub fn new(error: OAuthError, diagnosis: impl Into<String>) -> GrantRefusal {
        GrantRefusal {
            error,
            diagnosis: diagnosis.into(),
        }
    }
}

impl fmt::Display for GrantRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.error.error(),
            self.error.description(),
            self.diagnosis
        )
    }
}

/// A parse failure, with whatever the assertion named before it failed (for the login history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionError {
    pub refusal: GrantRefusal,
    pub iss: Option<String>,
    pub sub: Option<String>,
}

/// The claims byoc reads; others are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionClaims {
    pub iss: String,
    /// `prn` when present (Salesforce: "If both are specified, prn is used"), else `sub`.
    pub sub: String,
    /// `aud` as a string, or every string of an array.
    pub aud: Vec<String>,
    /// Seconds since the epoch.
    pub exp: i64,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub jti: Option<String>,
}

/// A parsed, not yet verified, assertion.
#[derive(Clone, PartialEq, Eq)]
pub struct Assertion {
    /// `base64url(header) "." base64url(claims)`: what the signature covers.
    pub signing_input: String,
    /// The third segment, base64url.
    pub signature: String,
    pub claims: AssertionClaims,
}

// The assertion is a credential; keep it out of logs.
impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Assertion")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// A JSON object whose members are unique. `serde_json::Value` keeps the last of duplicates
/// silently, which would let two parsers disagree about one token (RFC 8725 §2.8 spirit).
struct UniqueObject(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueObject, A::Error> {
                let mut seen = BTreeSet::new();
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    if !seen.insert(k.clone()) {
                        return Err(serde::de::Error::custom(format!("duplicate member {k:?}")));
                    }
                    members.push((k, v));
                }
                Ok(UniqueObject(members))
            }
        }
        d.deserialize_map(V)
    }
}

impl UniqueObject {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| {
        format!("the assertion's {what} is not base64url without padding (RFC 7515 section 2)")
    })
}

fn parse_object(segment: &str, what: &str) -> Result<UniqueObject, String> {
    let bytes = decode_segment(segment, what)?;
    serde_json::from_slice::<UniqueObject>(&bytes).map_err(|e| {
        if e.to_string().contains("duplicate member") {
            format!("the assertion's {what} repeats a JSON member; each member must appear once")
        } else {
            format!("the assertion's {what} is not a JSON object")
        }
    })
}

/// A NumericDate: an integer number of seconds. Floats, strings and integers beyond i64 are refused.
fn numeric_date(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn invalid(
    diagnosis: impl Into<String>,
    iss: Option<String>,
    sub: Option<String>,
) -> AssertionError {
    AssertionError {
        refusal: GrantRefusal::new(OAuthError::InvalidAssertion, diagnosis),
        iss,
        sub,
    }
}

/// Read an assertion. Every failure is `invalid_grant` / `invalid assertion` with a diagnosis.
pub fn parse_assertion(jwt: &str) -> Result<Assertion, AssertionError> {
    if jwt.is_empty() {
        return Err(invalid(
            "the request has no assertion parameter; send assertion=<signed JWT>",
            None,
            None,
        ));
    }
    if jwt.len() > MAX_ASSERTION_BYTES {
        return Err(invalid(
            format!("the assertion is longer than {MAX_ASSERTION_BYTES} bytes"),
            None,
            None,
        ));
    }
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header_b64, claims_b64, signature] = parts.as_slice() else {
        let why = if parts.len() == 5 {
            "the assertion is an encrypted JWT (JWE, five segments); send a JWS signed with RS256"
                .to_string()
        } else {
            format!(
                "the assertion has {} segment(s); a signed JWT has three: header.claims.signature",
                parts.len()
            )
        };
        return Err(invalid(why, None, None));
    };
    let header = parse_object(header_b64, "header").map_err(|d| invalid(d, None, None))?;
    let claims = parse_object(claims_b64, "claims").map_err(|d| invalid(d, None, None))?;
    let str_claim = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    let iss = str_claim("iss");
    let sub = str_claim("prn").or_else(|| str_claim("sub"));
    let fail = |d: String| invalid(d, iss.clone(), sub.clone());

    match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(Value::String(alg)) => {
            let shown: String = alg
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(20)
                .collect();
            return Err(fail(format!(
                "the assertion's header says alg {shown:?}; Salesforce accepts only RS256"
            )));
        }
        _ => {
            return Err(fail(
                "the assertion's header has no alg; set alg to RS256".into(),
            ))
        }
    }
    if header.get("crit").is_some() {
        return Err(fail("the assertion's header has a crit member naming extensions byoc does not understand (RFC 7515 section 4.1.11)".into()));
    }
    if signature.is_empty() {
        return Err(fail(
            "the assertion has no signature; sign it with RS256".into(),
        ));
    }
    decode_segment(signature, "signature").map_err(fail)?;

    let Some(iss_value) = iss.clone() else {
        return Err(fail(
            "the assertion has no iss claim (string); set iss to the app's consumer key".into(),
        ));
    };
    let Some(sub_value) = sub.clone() else {
        return Err(fail(
            "the assertion has no sub claim (string); set sub to the username to log in as".into(),
        ));
    };
    let aud = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        _ => return Err(fail("the assertion has no aud claim (string); set aud to https://login.salesforce.com or the org's login URL".into())),
    };
    let exp = match claims.get("exp") {
        Some(v) => numeric_date(v).ok_or_else(|| fail("the assertion's exp is not an integer number of seconds since 1970".into()))?,
        None => return Err(fail("the assertion has no exp claim; set exp to a time a few minutes ahead, in seconds since 1970".into())),
    };
    let optional_date = |name: &str| -> Result<Option<i64>, AssertionError> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => numeric_date(v).map(Some).ok_or_else(|| {
                fail(format!(
                    "the assertion's {name} is not an integer number of seconds since 1970"
                ))
            }),
        }
    };
    let iat = optional_date("iat")?;
    let nbf = optional_date("nbf")?;
    let jti = match claims.get("jti") {
        None | Some(Value::Null) => None,
        Some(Value::String(j)) => Some(j.clone()),
        Some(_) => return Err(fail("the assertion's jti is not a string".into())),
    };
    Ok(Assertion {
        signing_input: format!("{header_b64}.{claims_b64}"),
        signature: signature.to_string(),
        claims: AssertionClaims {
            iss: iss_value,
            sub: sub_value,
            aud,
            exp,
            iat,
            nbf,
            jti,
        },
    })
}

/// The grants the token endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523).
    JwtBearer,
    /// `client_credentials`: the app's consumer key and secret, as its run-as user.
    ClientCredentials,
    /// `password`: the username-password flow (consumer key and secret, username, password).
    Password,
}

const SERVED_GRANTS: &str =
    "urn:ietf:params:oauth:grant-type:jwt-bearer, client_credentials or password";

/// Read `grant_type`. Missing or another → `unsupported_grant_type`.
pub fn grant_type(grant_type: Option<&str>) -> Result<GrantType, GrantRefusal> {
    match grant_type {
        Some(g) if g == byoc_proto::oauth::JWT_BEARER_GRANT_TYPE => Ok(GrantType::JwtBearer),
        Some("client_credentials") => Ok(GrantType::ClientCredentials),
        Some("password") => Ok(GrantType::Password),
        Some(_) => Err(GrantRefusal::new(
            OAuthError::UnsupportedGrantType,
            format!("byoc serves the grant types {SERVED_GRANTS} (no authorization code, refresh token or device flow: it has no interactive login)"),
        )),
        None => Err(GrantRefusal::new(
            OAuthError::UnsupportedGrantType,
            format!("the request has no grant_type; send grant_type as a form parameter ({SERVED_GRANTS})"),
        )),
    }
}

/// Check that `grant_type` is the JWT Bearer grant. Missing or different → `unsupported_grant_type`.
pub fn check_grant_type(grant_type: Option<&str>) -> Result<(), GrantRefusal> {
    match self::grant_type(grant_type)? {
        GrantType::JwtBearer => Ok(()),
        _ => Err(GrantRefusal::new(
            OAuthError::UnsupportedGrantType,
            "expected the JWT Bearer grant",
        )),
    }
}

/// Compare a presented consumer secret with the stored one in constant time (the length of the
/// stored secret may leak; its content does not).
pub fn secret_matches(stored: Option<&str>, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    match stored {
        Some(stored) if !stored.is_empty() => {
            bool::from(stored.as_bytes().ct_eq(presented.as_bytes()))
        }
        _ => false,
    }
}

/// The client of a `client_credentials` or `password` request: an app with OAuth enabled whose
/// consumer secret is `secret`. Salesforce checks the client before anything else.
pub fn check_client<'a>(
    app: Option<&'a App>,
    client_id: &str,
    secret: Option<&str>,
) -> Result<&'a App, GrantRefusal> {
    let app = match app {
        Some(app) if app.oauth.is_enabled => app,
        Some(app) => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientId,
                format!("the app {} has OAuth disabled; enable its OAuth settings ({} update {} ...)", app.name, setup_command(app), quoted(&app.name)),
            ))
        }
        None if client_id.is_empty() => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientId,
                "the request has no client_id; send the app's consumer key as client_id (form) or as the user of HTTP Basic authentication",
            ))
        }
        None => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientId,
                "client_id is not the consumer key of any External Client App or connected app of this org (byoc setup eca list shows them)",
            ))
        }
    };
    match secret {
        None | Some("") => Err(GrantRefusal::new(
            OAuthError::InvalidClientCredentials,
            format!("the request has no client_secret; send the consumer secret of {} (form or HTTP Basic; byoc setup eca secret {} prints it)", app.name, quoted(&app.name)),
        )),
        Some(s) if secret_matches(app.oauth.consumer_secret.as_deref(), s) => Ok(app),
        Some(_) => Err(GrantRefusal::new(
            OAuthError::InvalidClientCredentials,
            format!("client_secret is not the consumer secret of {} (byoc setup eca secret {} prints it)", app.name, quoted(&app.name)),
        )),
    }
}

/// Scopes the client credentials flow never grants (Salesforce drops them, Winter '26).
const NOT_FOR_CLIENT_CREDENTIALS: [&str; 3] = ["full", "refresh_token", "offline_access"];

/// Decide a `client_credentials` grant for a checked client: the flow enabled, a run-as user
/// named and active, at least one scope the flow grants. `run_as` is the user the app's policy
/// names, looked up by the caller.
pub fn decide_client_credentials(
    app: &App,
    run_as: Option<&User>,
    now_millis: i64,
) -> Result<Grant, GrantRefusal> {
    if !app.oauth.client_credentials_enabled {
        return Err(GrantRefusal::new(
            OAuthError::NoClientCredentialsUser,
            format!("the client credentials flow is not enabled on {}; enable it and name a run-as user ({} update {} --client-credentials true, then {} policies {} --run-as USERNAME)", app.name, setup_command(app), quoted(&app.name), setup_command(app), quoted(&app.name)),
        ));
    }
    let Some(name) = app.policies.run_as_username.as_deref() else {
        return Err(GrantRefusal::new(
            OAuthError::NoClientCredentialsUser,
            format!("the app {} names no run-as user for the client credentials flow; set one ({} policies {} --run-as USERNAME)", app.name, setup_command(app), quoted(&app.name)),
        ));
    };
    match run_as {
        Some(u) if u.is_active => {}
        Some(u) => {
            return Err(GrantRefusal::new(
                OAuthError::NoClientCredentialsUser,
                format!("the run-as user {} of {} is inactive; reactivate it or name another ({} policies {} --run-as USERNAME)", u.username, app.name, setup_command(app), quoted(&app.name)),
            ))
        }
        None => {
            return Err(GrantRefusal::new(
                OAuthError::NoClientCredentialsUser,
                format!("the run-as user {name} of {} no longer exists; name another ({} policies {} --run-as USERNAME)", app.name, setup_command(app), quoted(&app.name)),
            ))
        }
    }
    let scopes: Vec<String> = app
        .oauth
        .scopes
        .iter()
        .filter(|s| !NOT_FOR_CLIENT_CREDENTIALS.contains(&s.as_str()))
        .cloned()
        .collect();
    if scopes.is_empty() {
        return Err(GrantRefusal::new(
            OAuthError::NoValidScopes,
            format!("the client credentials flow grants none of the scopes of {} ({}): full, refresh_token and offline_access are never granted; add api or interaction_api ({} update {} --scopes ...)", app.name, app.oauth.scopes.join(", "), setup_command(app), quoted(&app.name)),
        ));
    }
    Ok(lifetime(app, scopes, now_millis))
}

/// Decide a `password` grant for a checked client and a user whose password matched (the caller
/// checks the password, which costs a hash): Permitted Users as for every OAuth flow.
pub fn decide_password(app: &App, user: &User, now_millis: i64) -> Result<Grant, GrantRefusal> {
    if app.policies.permitted_users == PermittedUsers::AdminApprovedPreAuthorized {
        check_admin_approved(app, user)?;
    }
    Ok(lifetime(app, app.oauth.scopes.clone(), now_millis))
}

fn lifetime(app: &App, scopes: Vec<String>, now: i64) -> Grant {
    let minutes = app
        .policies
        .session_timeout_minutes
        .unwrap_or(DEFAULT_SESSION_TIMEOUT_MINUTES);
    Grant {
        scopes,
        issued_at_millis: now,
        expires_at_millis: now.saturating_add(i64::from(minutes) * 60_000),
        jti_to_record: None,
    }
}

/// Admin-approved: the user's profile or one of their permission sets is assigned to the app.
fn check_admin_approved(app: &App, user: &User) -> Result<(), GrantRefusal> {
    let profile_ok = app
        .policies
        .profiles
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&user.profile));
    let set_ok = app.policies.permission_sets.iter().any(|ps| {
        user.permission_sets
            .iter()
            .any(|u| u.eq_ignore_ascii_case(ps))
    });
    if profile_ok || set_ok {
        return Ok(());
    }
    let fix = match app.kind {
        AppKind::ExternalClientApp => format!(
            "byoc setup eca policies {} --permitted-users admin-approved --profile {}",
            quoted(&app.name),
            quoted(&user.profile)
        ),
        AppKind::ConnectedApp => format!(
            "byoc setup connected-app profiles {} --add {}",
            quoted(&app.name),
            quoted(&user.profile)
        ),
    };
    Err(GrantRefusal::new(
        OAuthError::NotAdminApproved,
        format!(
            "the app is admin-approved but the user's profile {} and permission sets [{}] are not assigned to it; assign the profile ({fix})",
            quoted(&user.profile),
            user.permission_sets.join(", ")
        ),
    ))
}

/// What checking the assertion's signature against the app's certificate found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureOutcome {
    Valid,
    Invalid,
    /// The certificate's key can't verify RS256 (unreadable stored certificate).
    UnusableKey,
}

/// Checks an RS256 signature with an app's certificate; the server's implementation caches keys.
pub trait SignatureVerifier {
    fn verify(
        &self,
        app: &App,
        certificate: &Certificate,
        assertion: &Assertion,
    ) -> SignatureOutcome;
}

/// Everything the decision reads, loaded by the caller.
pub struct GrantRequest<'a> {
    pub assertion: &'a Assertion,
    /// The app whose consumer key is `iss`, if any.
    pub app: Option<&'a App>,
    /// The user named by `sub`, if any.
    pub user: Option<&'a User>,
    /// Accepted `aud` values (compared without a trailing `/`, ASCII case-insensitively).
    pub accepted_audiences: &'a [String],
    pub now_millis: i64,
    pub strict: bool,
}

/// A granted access: what the token carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub scopes: Vec<String>,
    pub issued_at_millis: i64,
    pub expires_at_millis: i64,
    /// Strict mode: the `jti` to record as used (until the assertion's `exp`).
    pub jti_to_record: Option<String>,
}

/// `byoc setup eca` or `byoc setup connected-app`.
fn setup_command(app: &App) -> &'static str {
    match app.kind {
        AppKind::ExternalClientApp => "byoc setup eca",
        AppKind::ConnectedApp => "byoc setup connected-app",
    }
}

/// Names go into shell commands single-quoted.
fn quoted(name: &str) -> String {
    format!("'{}'", name.replace('\'', "'\\''"))
}

fn normalize_audience(a: &str) -> String {
    a.trim_end_matches('/').to_ascii_lowercase()
}

fn seconds_to_millis(s: i64) -> i64 {
    s.saturating_mul(1000)
}

fn format_time(millis: i64) -> String {
    // Seconds since the epoch keep the domain free of calendar code; the header stays ASCII.
    format!("{} (epoch seconds)", millis.div_euclid(1000))
}

/// Decide a JWT Bearer grant, in Salesforce's order of checks.
pub fn decide(
    req: &GrantRequest<'_>,
    verifier: &dyn SignatureVerifier,
) -> Result<Grant, GrantRefusal> {
    let claims = &req.assertion.claims;
    let now = req.now_millis;

    // iss: an app with OAuth enabled.
    let app = match req.app {
        Some(app) if app.oauth.is_enabled => app,
        Some(app) => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientId,
                format!("the app {} has OAuth disabled; enable its OAuth settings ({} update {} ...)", app.name, setup_command(app), quoted(&app.name)),
            ))
        }
        None if !is_identifier(&claims.iss) => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientId,
                format!("iss contains a control character or is longer than {MAX_IDENTIFIER_CHARS} characters, so it is no consumer key; set iss to the app's consumer key (byoc setup eca list shows them)"),
            ))
        }
        None => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientId,
                "iss is not the consumer key of any External Client App or connected app of this org; set iss to the app's consumer key (byoc setup eca list shows them)",
            ))
        }
    };

    // The app must be able to verify a JWT: flow enabled, certificate uploaded.
    let certificate = match (&app.oauth.certificate, app.oauth.jwt_bearer_enabled, app.kind) {
        (Some(cert), true, _) => cert,
        (_, false, AppKind::ExternalClientApp) => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientCredentials,
                format!(
                    "the JWT Bearer flow is not enabled on the External Client App {}; enable it with the certificate that matches the signing key (byoc setup eca update {} --jwt-bearer --certificate server.crt)",
                    app.name,
                    quoted(&app.name)
                ),
            ))
        }
        _ => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientCredentials,
                format!(
                    "the app {} has no certificate (Use digital signatures); upload the certificate that matches the signing key ({} update {} --certificate server.crt)",
                    app.name,
                    setup_command(app),
                    quoted(&app.name)
                ),
            ))
        }
    };

    // Signature.
    match verifier.verify(app, certificate, req.assertion) {
        SignatureOutcome::Valid => {}
        SignatureOutcome::Invalid => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientCredentials,
                format!(
                    "the assertion's signature does not verify with the certificate of {} (SHA-256 {}); sign with the private key of that certificate, or upload the certificate of your key ({} update {} --certificate server.crt)",
                    app.name,
                    certificate.sha256_fingerprint,
                    setup_command(app),
                    quoted(&app.name)
                ),
            ))
        }
        SignatureOutcome::UnusableKey => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidClientCredentials,
                format!(
                    "the certificate stored for {} can't verify RS256 signatures; upload it again ({} update {} --certificate server.crt)",
                    app.name,
                    setup_command(app),
                    quoted(&app.name)
                ),
            ))
        }
    }
    if req.strict && (now > certificate.not_after || now < certificate.not_before) {
        return Err(GrantRefusal::new(
            OAuthError::InvalidClientCredentials,
            format!(
                "strict mode: the certificate of {} is valid only from {} to {}; create a new one (byoc cert new --out DIR) and upload it ({} update {} --certificate DIR/server.crt)",
                app.name,
                format_time(certificate.not_before),
                format_time(certificate.not_after),
                setup_command(app),
                quoted(&app.name)
            ),
        ));
    }

    // aud.
    let accepted: Vec<String> = req
        .accepted_audiences
        .iter()
        .map(|a| normalize_audience(a))
        .collect();
    if !claims
        .aud
        .iter()
        .any(|a| accepted.contains(&normalize_audience(a)))
    {
        let shown: String = claims
            .aud
            .join(", ")
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .take(200)
            .collect();
        return Err(GrantRefusal::new(
            OAuthError::InvalidAudience,
            format!(
                "aud is {shown:?}; set aud to one of the accepted login URLs: {}",
                req.accepted_audiences.join(", ")
            ),
        ));
    }

    // exp.
    let exp = seconds_to_millis(claims.exp);
    if exp <= now {
        return Err(GrantRefusal::new(
            OAuthError::Expired,
            format!("the assertion expired: exp is {} and now is {}; set exp a few minutes ahead when you sign", format_time(exp), format_time(now)),
        ));
    }
    if req.strict {
        if exp > now.saturating_add(STRICT_MAX_EXP_AHEAD_MILLIS + STRICT_CLOCK_SKEW_MILLIS) {
            return Err(GrantRefusal::new(
                OAuthError::InvalidAssertion,
                format!("strict mode: exp is {}, more than 3 minutes after now ({}); set exp at most 3 minutes ahead", format_time(exp), format_time(now)),
            ));
        }
        for (name, value) in [("iat", claims.iat), ("nbf", claims.nbf)] {
            if let Some(v) = value {
                if seconds_to_millis(v) > now.saturating_add(STRICT_CLOCK_SKEW_MILLIS) {
                    return Err(GrantRefusal::new(
                        OAuthError::InvalidAssertion,
                        format!("strict mode: {name} is {}, in the future (now is {}); check the signing machine's clock", format_time(seconds_to_millis(v)), format_time(now)),
                    ));
                }
            }
        }
        if claims.jti.as_deref().is_none_or(str::is_empty) {
            return Err(GrantRefusal::new(
                OAuthError::InvalidAssertion,
                "strict mode: the assertion has no jti; give every assertion a unique jti (RFC 7519 section 4.1.7)",
            ));
        }
    }

    // sub: an active user of the org.
    let user = match req.user {
        Some(u) if u.is_active => u,
        Some(u) => {
            return Err(GrantRefusal::new(
                OAuthError::InactiveUser,
                format!(
                    "the user {} is inactive; log in as an active user or reactivate this one",
                    u.username
                ),
            ))
        }
        None if !is_identifier(&claims.sub) => {
            return Err(GrantRefusal::new(
                OAuthError::UnknownUser,
                format!("sub contains a control character or is longer than {MAX_IDENTIFIER_CHARS} characters, so it is no username; set sub to an existing username"),
            ));
        }
        None => {
            let shown: String = claims
                .sub
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(100)
                .collect();
            return Err(GrantRefusal::new(
                OAuthError::UnknownUser,
                format!("sub {shown:?} is not a username of this org; set sub to an existing username (byoc setup user create --username U --profile P creates one)"),
            ));
        }
    };

    // Policy.
    match app.policies.permitted_users {
        PermittedUsers::AllSelfAuthorized => {
            return Err(GrantRefusal::new(
                OAuthError::NotApproved,
                format!(
                    "the app's Permitted Users policy is *{}* and the JWT Bearer flow has no prior approval; set it to *{}* and assign the user's profile ({} policies {} --permitted-users admin-approved --profile {})",
                    PermittedUsers::AllSelfAuthorized.label(),
                    PermittedUsers::AdminApprovedPreAuthorized.label(),
                    setup_command(app),
                    quoted(&app.name),
                    quoted(&user.profile)
                ),
            ))
        }
        PermittedUsers::AdminApprovedPreAuthorized => check_admin_approved(app, user)?,
    }

    // Scope.
    if !app
        .oauth
        .scopes
        .iter()
        .any(|s| s == "refresh_token" || s == "offline_access")
    {
        let mut wanted = app.oauth.scopes.clone();
        wanted.push("refresh_token".into());
        wanted.push("offline_access".into());
        return Err(GrantRefusal::new(
            OAuthError::RefreshTokenScopeRequired,
            format!(
                "the app lacks the scope *Perform requests at any time (refresh_token, offline_access)*; add it ({} update {} --scopes {})",
                setup_command(app),
                quoted(&app.name),
                wanted.join(",")
            ),
        ));
    }

    let minutes = app
        .policies
        .session_timeout_minutes
        .unwrap_or(DEFAULT_SESSION_TIMEOUT_MINUTES);
    Ok(Grant {
        scopes: app.oauth.scopes.clone(),
        issued_at_millis: now,
        expires_at_millis: now.saturating_add(i64::from(minutes) * 60_000),
        jti_to_record: if req.strict { claims.jti.clone() } else { None },
    })
}

/// The strict-mode refusal for a `jti` seen before.
pub fn jti_reused(jti: &str) -> GrantRefusal {
    let shown: String = jti
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect();
    GrantRefusal::new(
        OAuthError::InvalidAssertion,
        format!("strict mode: jti {shown:?} was already used; give every assertion a new jti"),
    )
}

/// The diagnosis with anything outside printable ASCII replaced, fit for an HTTP header.
pub fn header_safe(diagnosis: &str) -> String {
    diagnosis
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests;
