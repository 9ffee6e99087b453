//! `POST /services/oauth2/token`: the OAuth 2.0 JWT Bearer flow
//! ([RFC 7523](https://www.rfc-editor.org/rfc/rfc7523),
//! <https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_jwt_flow.htm>), and
//! the client credentials and username-password flows ([`credentials`](super::credentials)).
//!
//! Order: repeated parameters → `grant_type` → parse the assertion → the domain decision
//! (client, signature, audience, expiry, user, policy, scope) → strict `jti` → mint. Every
//! attempt is recorded in the login history; refusals carry byoc's diagnosis in
//! `X-Byoc-Diagnosis`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use byoc_core::oauth::{self, GrantRefusal, GrantRequest, GrantType, OAuthError};
use byoc_proto::oauth::{LoginHistoryEntry, LoginStatus, TokenResponse};
use byoc_proto::setup::{App, User};

use super::history::LOGIN_TYPE;
use super::tokens::AccessTokenClaims;
use super::{form_params, json_body, oauth_error, param, store_failure, Inner, OAuthState};

/// Request bodies beyond this are refused (an assertion is at most 16 KiB).
const MAX_BODY_BYTES: usize = super::MAX_FORM_BYTES;

pub(crate) struct Attempt {
    pub(crate) username: String,
    pub(crate) consumer_key: Option<String>,
    pub(crate) app: Option<std::sync::Arc<App>>,
    pub(crate) user: Option<std::sync::Arc<User>>,
    pub(crate) source_ip: Option<String>,
}

impl Attempt {
    fn entry(&self, now: i64, refusal: Option<&GrantRefusal>) -> LoginHistoryEntry {
        LoginHistoryEntry {
            login_time: now,
            username: self.username.clone(),
            user_id: self.user.as_ref().map(|u| u.id.clone()),
            application: self.app.as_ref().map(|a| a.name.clone()),
            consumer_key: self.consumer_key.clone(),
            login_type: LOGIN_TYPE.into(),
            status: if refusal.is_some() {
                LoginStatus::Failed
            } else {
                LoginStatus::Success
            },
            error: refusal.map(|r| r.error.error().to_string()),
            error_description: refusal.map(|r| r.error.description().to_string()),
            diagnosis: refusal.map(|r| r.diagnosis.clone()),
            source_ip: self.source_ip.clone(),
        }
    }
}

/// The client address a proxy in front of byoc reports, if any (byoc itself listens on loopback).
pub(crate) fn source_ip(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("x-forwarded-for")?.to_str().ok()?;
    let first = v.split(',').next()?.trim();
    (!first.is_empty() && first.len() <= 64).then(|| first.to_string())
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

pub async fn token(
    State(state): State<OAuthState>,
    urls: Option<axum::Extension<crate::PublicUrls>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let s = &state.0;
    let now = s.clock.now_millis();
    let mut attempt = Attempt {
        username: String::new(),
        consumer_key: None,
        app: None,
        user: None,
        source_ip: source_ip(&headers),
    };
    let outcome = grant(
        s,
        s.public_urls(urls.as_ref()),
        body,
        &headers,
        now,
        &mut attempt,
    )
    .await;
    let mut response = match outcome {
        Ok(response) => {
            s.history.record(attempt.entry(now, None)).await;
            response
        }
        Err(Refused::Grant(mut refusal)) => {
            // A moved org clock explains many refusals (exp judged by the org's time, a
            // certificate expired by it): say so, in the login history and the header.
            let not_after = attempt
                .app
                .as_ref()
                .and_then(|a| a.oauth.certificate.as_ref())
                .map(|c| c.not_after);
            if let Some(note) =
                crate::org_clock::OrgClock::refusal_note(s.clock.as_ref(), not_after)
            {
                let end = if refusal.diagnosis.ends_with(['.', '!', '?']) {
                    " "
                } else {
                    ". "
                };
                refusal.diagnosis = format!("{}{end}{note}", refusal.diagnosis);
            }
            s.history.record(attempt.entry(now, Some(&refusal))).await;
            oauth_error(StatusCode::BAD_REQUEST, &refusal)
        }
        Err(Refused::Internal(response)) => response,
    };
    // Who asked, for the request inspector: an extension, never sent.
    response
        .extensions_mut()
        .insert(crate::inspector::http::Caller {
            app: attempt
                .app
                .as_ref()
                .map(|a| a.name.clone())
                .or(attempt.consumer_key.clone()),
            user: (!attempt.username.is_empty()).then(|| attempt.username.clone()),
        });
    response
}

pub(crate) enum Refused {
    Grant(GrantRefusal),
    /// A failure of byoc itself (store down), already rendered.
    Internal(Response),
}

impl From<GrantRefusal> for Refused {
    fn from(r: GrantRefusal) -> Refused {
        Refused::Grant(r)
    }
}

async fn grant(
    s: &Inner,
    urls: (&str, &str),
    body: Body,
    headers: &HeaderMap,
    now: i64,
    attempt: &mut Attempt,
) -> Result<Response, Refused> {
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return Err(GrantRefusal::new(
                OAuthError::InvalidAssertion,
                format!("the request body is larger than {MAX_BODY_BYTES} bytes or unreadable"),
            )
            .into())
        }
    };
    let params = form_params(&bytes).map_err(|name| {
        let shown: String = name.chars().filter(|c| c.is_ascii_graphic()).take(40).collect();
        GrantRefusal::new(OAuthError::DuplicateParameter, format!("the parameter {shown:?} appears more than once; send each parameter once (RFC 6749 section 3.2)"))
    })?;
    match oauth::grant_type(param(&params, "grant_type"))? {
        GrantType::JwtBearer => {}
        GrantType::ClientCredentials => {
            return super::credentials::client_credentials(s, urls, &params, headers, now, attempt)
                .await
        }
        GrantType::Password => {
            return super::credentials::password(s, urls, &params, headers, now, attempt).await
        }
    }

    let assertion = match oauth::parse_assertion(param(&params, "assertion").unwrap_or("")) {
        Ok(a) => a,
        Err(e) => {
            attempt.username = truncate(e.sub.as_deref().unwrap_or(""), 255);
            if let Some(iss) = &e.iss {
                attempt.consumer_key = Some(truncate(iss, 255));
                if oauth::is_identifier(iss) {
                    attempt.app = s.directory.app_by_consumer_key(iss).await.ok().flatten();
                }
            }
            return Err(e.refusal.into());
        }
    };
    let claims = &assertion.claims;
    attempt.username = truncate(&claims.sub, 255);
    attempt.consumer_key = Some(truncate(&claims.iss, 255));
    // A value that can name no record (control characters, over-long) is not looked up: it is
    // an unknown client or user, answered as such by the decision, never a database error.
    if oauth::is_identifier(&claims.iss) {
        attempt.app = s
            .directory
            .app_by_consumer_key(&claims.iss)
            .await
            .map_err(|e| Refused::Internal(store_failure(&e)))?;
    }
    if oauth::is_identifier(&claims.sub) {
        attempt.user = s
            .directory
            .user(&claims.sub)
            .await
            .map_err(|e| Refused::Internal(store_failure(&e)))?;
    }

    let request = GrantRequest {
        assertion: &assertion,
        app: attempt.app.as_deref(),
        user: attempt.user.as_deref(),
        accepted_audiences: &s.audiences,
        now_millis: now,
        strict: s.strict,
    };
    let granted = oauth::decide(&request, &s.keys)?;
    let (Some(app), Some(user)) = (attempt.app.clone(), attempt.user.clone()) else {
        // decide() refuses without an app and a user; this is unreachable in practice.
        return Err(GrantRefusal::new(
            OAuthError::InvalidAssertion,
            "the app or user vanished during the request",
        )
        .into());
    };

    if let Some(jti) = &granted.jti_to_record {
        // Kept until the assertion expires (strict mode caps that at about 3 minutes).
        let keep_until = claims.exp.saturating_mul(1000);
        match s
            .store
            .repo()
            .use_assertion_id(&app.id, jti, keep_until)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Err(oauth::jti_reused(jti).into()),
            Err(e) => return Err(Refused::Internal(store_failure(&e))),
        }
    }

    success(s, urls, &app, &user, &granted)
}

// The refusal is rare and cheap to move compared with the request (clippy's size lint).
#[allow(clippy::result_large_err)]
/// The token response of every flow: the access token of `user` through `app` with the granted
/// scopes, `Cache-Control: no-store`, no refresh token.
/// `(login_url, instance_url)` are the URLs the request came through ([`Inner::public_urls`]).
pub(crate) fn success(
    s: &Inner,
    (login_url, instance_url): (&str, &str),
    app: &App,
    user: &User,
    granted: &oauth::Grant,
) -> Result<Response, Refused> {
    let mut token_id = [0u8; 16];
    aws_lc_rs::rand::fill(&mut token_id)
        .map_err(|_| Refused::Internal(StatusCode::INTERNAL_SERVER_ERROR.into_response()))?;
    let access = AccessTokenClaims {
        token_id: hex::encode(token_id),
        org_id: s.org.id.clone(),
        user_id: user.id.clone(),
        username: user.username.clone(),
        app_id: app.id.clone(),
        consumer_key: app.oauth.consumer_key.clone(),
        scopes: granted.scopes.clone(),
        issued_at: granted.issued_at_millis,
        expires_at: granted.expires_at_millis,
    };
    let access_token = s.tokens.mint(&access).map_err(|e| {
        tracing::error!(error = %e, "minting an access token failed");
        Refused::Internal(StatusCode::INTERNAL_SERVER_ERROR.into_response())
    })?;
    let id = identity_url_at(login_url, s, user);
    let issued_at = granted.issued_at_millis.to_string();
    let response = TokenResponse {
        access_token,
        signature: signature(
            app.oauth.consumer_secret.as_deref().unwrap_or(""),
            &id,
            &issued_at,
        ),
        scope: granted.scopes.join(" "),
        instance_url: instance_url.to_string(),
        id,
        token_type: "Bearer".into(),
        issued_at,
    };
    let mut r = json_body(&response);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `<login_url>/id/<orgId18>/<userId18>`, on the login URL the request came through (the HTTPS
/// one, [`crate::PublicUrls`], or the plain one).
pub(crate) fn identity_url_at(login_url: &str, s: &Inner, user: &User) -> String {
    format!("{login_url}/id/{}/{}", s.org.id18, user.id18)
}

/// Salesforce's `signature`: Base64 HMAC-SHA256 over `id + issued_at`, keyed by the consumer
/// secret, so the client can check the response came from the org that knows its secret.
pub(crate) fn signature(consumer_secret: &str, id: &str, issued_at: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, consumer_secret.as_bytes());
    let mut message = String::with_capacity(id.len() + issued_at.len());
    message.push_str(id);
    message.push_str(issued_at);
    STANDARD.encode(aws_lc_rs::hmac::sign(&key, message.as_bytes()).as_ref())
}
