//! The endpoints Salesforce serves beside the token endpoint, in its shapes (docs/fidelity.md,
//! "Token endpoint"):
//!
//! - `POST|GET /services/oauth2/revoke` — 200 with an empty body; 400 `invalid_token` otherwise.
//! - `POST /services/oauth2/introspect` ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)) —
//!   the caller authenticates as a client (consumer key and secret, form or Basic) or with a valid
//!   access token of the org.
//! - `GET|POST /services/oauth2/userinfo` (OpenID Connect) and `GET /id/<org18>/<user18>` (the
//!   identity URL) — the bearer token (or `oauth_token`) must be valid; refusals answer
//!   Salesforce's plain-text `Bad_OAuth_Token` / `Bad_Id`.
//! - `GET /.well-known/openid-configuration` and `GET /id/keys` (empty: byoc issues no ID tokens).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use byoc_proto::oauth::{IdentityResponse, IdentityUrls, IntrospectionResponse, UserInfoResponse};
use byoc_proto::setup::User;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::token::identity_url_at;
use super::tokens::{AccessTokenClaims, TokenError};
use super::{
    bearer, form_params, json_body, param, plain_oauth_error, read_form, store_failure, FormError,
    OAuthState,
};

const API_VERSION: &str = "v62.0";

fn invalid_token() -> Response {
    plain_oauth_error(StatusCode::BAD_REQUEST, "invalid_token", "invalid token")
}

fn duplicate() -> Response {
    plain_oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "duplicate parameter",
    )
}

async fn revoke_token(state: &OAuthState, token: Option<&str>) -> Response {
    let s = &state.0;
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        return invalid_token();
    };
    let claims = match s.tokens.open(token) {
        Ok(c) => c,
        Err(_) => return invalid_token(),
    };
    let now = state.now();
    if claims.expires_at <= now {
        return invalid_token();
    }
    if let Err(e) = s
        .store
        .repo()
        .revoke_token(&claims.token_id, claims.expires_at, now)
        .await
    {
        return store_failure(&e);
    }
    // This instance refuses it at once; the others within a poll interval.
    s.tokens.add_revoked([claims.token_id]);
    StatusCode::OK.into_response()
}

/// A form body beyond [`super::MAX_FORM_BYTES`]: 413 in the OAuth error shape (byoc's choice;
/// docs/fidelity.md, "Request size limits").
fn too_large() -> Response {
    plain_oauth_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "request entity too large",
    )
}

fn form_refusal(e: FormError) -> Response {
    match e {
        FormError::TooLarge => too_large(),
        FormError::Duplicate => duplicate(),
    }
}

pub async fn revoke(State(state): State<OAuthState>, body: Body) -> Response {
    match read_form(body).await {
        Ok(params) => revoke_token(&state, param(&params, "token")).await,
        Err(e) => form_refusal(e),
    }
}

pub async fn revoke_get(State(state): State<OAuthState>, RawQuery(query): RawQuery) -> Response {
    match form_params(query.unwrap_or_default().as_bytes()) {
        Ok(params) => revoke_token(&state, param(&params, "token")).await,
        Err(_) => duplicate(),
    }
}

/// Client authentication for introspection: Basic or form `client_id`/`client_secret` of an app
/// of the org (secret compared in constant time), or a valid access token of the org.
async fn introspection_client(
    state: &OAuthState,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> bool {
    let s = &state.0;
    if let Some(token) = bearer(headers) {
        return state.check(token).await.is_ok();
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Basic"))
        .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_string(), secret.to_string()))
        });
    let (id, secret) = match basic {
        Some(pair) => pair,
        None => match (param(params, "client_id"), param(params, "client_secret")) {
            (Some(id), Some(secret)) => (id.to_string(), secret.to_string()),
            _ => return false,
        },
    };
    match s.directory.app_by_consumer_key(&id).await {
        Ok(Some(app)) => match &app.oauth.consumer_secret {
            Some(expected) => bool::from(expected.as_bytes().ct_eq(secret.as_bytes())),
            None => false,
        },
        _ => false,
    }
}

pub async fn introspect(
    State(state): State<OAuthState>,
    public: Option<axum::Extension<crate::PublicUrls>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let params = match read_form(body).await {
        Ok(p) => p,
        Err(e) => return form_refusal(e),
    };
    if !introspection_client(&state, &headers, &params).await {
        return plain_oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "invalid client credentials",
        );
    }
    let s = &state.0;
    let checked = match param(&params, "token") {
        Some(t) => Some(state.check(t).await),
        None => None,
    };
    let answer = match checked {
        Some(Ok(c)) => {
            let sub = match s.directory.user(&c.username).await {
                Ok(Some(user)) => Some(identity_url_at(s.public_urls(public.as_ref()).0, s, &user)),
                _ => None,
            };
            IntrospectionResponse {
                active: true,
                scope: Some(c.scopes.join(" ")),
                client_id: Some(c.consumer_key.clone()),
                username: Some(c.username.clone()),
                sub,
                token_type: Some("access_token".into()),
                exp: Some(c.expires_at.div_euclid(1000)),
                iat: Some(c.issued_at.div_euclid(1000)),
                nbf: Some(c.issued_at.div_euclid(1000)),
            }
        }
        _ => IntrospectionResponse {
            active: false,
            scope: None,
            client_id: None,
            username: None,
            sub: None,
            token_type: None,
            exp: None,
            iat: None,
            nbf: None,
        },
    };
    let mut r = json_body(&answer);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

fn bad_token() -> Response {
    (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response()
}

fn bad_id() -> Response {
    (StatusCode::NOT_FOUND, "Bad_Id").into_response()
}

/// The caller's token: the `Authorization` header, or `oauth_token` / `access_token` in the query.
async fn caller(
    state: &OAuthState,
    headers: &HeaderMap,
    query: &Option<String>,
) -> Result<AccessTokenClaims, TokenError> {
    let from_query = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "oauth_token" || k == "access_token")
            .map(|(_, v)| v.into_owned())
    });
    match (bearer(headers), from_query) {
        (Some(t), _) => state.check(t).await,
        (None, Some(t)) => state.check(&t).await,
        (None, None) => Err(TokenError::Invalid),
    }
}

fn display_name(user: &User) -> String {
    user.username
        .split('@')
        .next()
        .unwrap_or(&user.username)
        .to_string()
}

fn urls(base: &str, user: &User) -> IdentityUrls {
    IdentityUrls {
        rest: format!("{base}/services/data/{API_VERSION}/"),
        sobjects: format!("{base}/services/data/{API_VERSION}/sobjects/"),
        query: format!("{base}/services/data/{API_VERSION}/query/"),
        profile: format!("{base}/{}", user.id),
        custom_domain: base.to_string(),
    }
}

pub async fn userinfo(
    State(state): State<OAuthState>,
    public: Option<axum::Extension<crate::PublicUrls>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Ok(claims) = caller(&state, &headers, &query).await else {
        return bad_token();
    };
    let s = &state.0;
    let user = match s.directory.user(&claims.username).await {
        Ok(Some(u)) => u,
        Ok(None) => return bad_token(),
        Err(e) => return store_failure(&e),
    };
    json_body(&UserInfoResponse {
        sub: identity_url_at(s.public_urls(public.as_ref()).0, s, &user),
        user_id: user.id.clone(),
        organization_id: s.org.id.clone(),
        preferred_username: user.username.clone(),
        nickname: display_name(&user),
        name: display_name(&user),
        email: user.email.clone(),
        email_verified: true,
        zoneinfo: "America/Los_Angeles".into(),
        active: user.is_active,
        user_type: "STANDARD".into(),
        language: "en_US".into(),
        locale: "en_US".into(),
        utc_offset: -28_800_000,
        is_app_installed: true,
    })
}

/// Ids in the path may be 15 or 18 characters; Salesforce compares the 18-character forms.
fn same_id(path_id: &str, id15: &str, id18: &str) -> bool {
    match path_id.len() {
        15 => path_id == id15,
        18 => path_id.eq_ignore_ascii_case(id18) && byoc_core::ids::is_valid_id(path_id),
        _ => false,
    }
}

pub async fn identity(
    State(state): State<OAuthState>,
    public: Option<axum::Extension<crate::PublicUrls>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Path((org, user_id)): Path<(String, String)>,
) -> Response {
    let Ok(claims) = caller(&state, &headers, &query).await else {
        return bad_token();
    };
    let s = &state.0;
    if !same_id(&org, &s.org.id, &s.org.id18) {
        return bad_id();
    }
    // Any valid token of the org may read the identity of a user of the org, as in Salesforce.
    let id15 = if user_id.len() >= 15 {
        user_id.get(..15).unwrap_or("")
    } else {
        ""
    };
    let user = match s.store.user_by_id(id15).await {
        Ok(Some(u)) if same_id(&user_id, &u.id, &u.id18) => u,
        Ok(_) => return bad_id(),
        Err(e) => return store_failure(&e),
    };
    json_body(&IdentityResponse {
        id: identity_url_at(s.public_urls(public.as_ref()).0, s, &user),
        asserted_user: user.id == claims.user_id,
        user_id: user.id.clone(),
        organization_id: s.org.id.clone(),
        username: user.username.clone(),
        nick_name: display_name(&user),
        display_name: display_name(&user),
        email: user.email.clone(),
        email_verified: true,
        first_name: None,
        last_name: display_name(&user),
        timezone: "America/Los_Angeles".into(),
        active: user.is_active,
        user_type: "STANDARD".into(),
        language: "en_US".into(),
        locale: "en_US".into(),
        utc_offset: -28_800_000,
        urls: urls(s.public_urls(public.as_ref()).1, &user),
        is_app_installed: true,
    })
}

pub async fn keys() -> Response {
    json_body(&json!({ "keys": [] }))
}

/// OpenID discovery, listing only what byoc serves: no authorization endpoint (byoc has no
/// interactive login), so no response types; the JWT Bearer grant only; and the claims userinfo
/// returns. Members OpenID Connect Discovery requires stay, truthfully (`id_token_signing_alg_values_supported`
/// names the algorithm byoc would sign with; it issues no ID tokens, so `/id/keys` is empty).
pub async fn openid_configuration(
    State(state): State<OAuthState>,
    public: Option<axum::Extension<crate::PublicUrls>>,
) -> Response {
    let base = state.0.public_urls(public.as_ref()).0;
    json_body(&json!({
        "issuer": base,
        "token_endpoint": format!("{base}/services/oauth2/token"),
        "revocation_endpoint": format!("{base}/services/oauth2/revoke"),
        "userinfo_endpoint": format!("{base}/services/oauth2/userinfo"),
        "jwks_uri": format!("{base}/id/keys"),
        "introspection_endpoint": format!("{base}/services/oauth2/introspect"),
        "scopes_supported": ["id", "api", "web", "full", "chatter_api", "visualforce", "refresh_token", "openid", "profile", "email", "address", "phone", "offline_access", "custom_permissions", "wave_api", "eclair_api", "interaction_api"],
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        // The JWT Bearer grant authenticates the client by the assertion's signature; the client
        // credentials and username-password grants by the consumer secret (form or Basic).
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": [byoc_proto::oauth::JWT_BEARER_GRANT_TYPE, "client_credentials", "password"],
        "claims_supported": ["active", "email", "email_verified", "is_app_installed", "language", "locale", "name", "nickname", "organization_id", "preferred_username", "sub", "user_id", "user_type", "utc_offset", "zoneinfo"]
    }))
}
