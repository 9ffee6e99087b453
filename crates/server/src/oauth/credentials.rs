//! The token endpoint's flows that authenticate the client with its consumer secret:
//! `grant_type=client_credentials` (a token for the app's run-as user,
//! <https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_client_credentials_flow.htm>)
//! and `grant_type=password` (the username-password flow,
//! <https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_username_password_flow.htm>).
//!
//! The client comes from `client_id`/`client_secret` form parameters or HTTP Basic
//! authentication (RFC 6749 §2.3.1); the secret is compared in constant time. Checks in
//! Salesforce's order: client, then user (password flow) or run-as user, then policy. The
//! decisions are `byoc_core::oauth`'s; this module loads what they read and answers.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use byoc_core::oauth::{self, GrantRefusal, OAuthError};

use super::token::{success, truncate, Attempt, Refused};
use super::{param, store_failure, Inner};

/// `client_id` and `client_secret` from the form, else from `Authorization: Basic`.
fn client_credentials_of(
    params: &[(String, String)],
    headers: &HeaderMap,
) -> (String, Option<String>) {
    if let Some(id) = param(params, "client_id") {
        return (
            id.to_string(),
            param(params, "client_secret").map(str::to_string),
        );
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Basic"))
        .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match basic.as_deref().and_then(|pair| pair.split_once(':')) {
        // RFC 6749 §2.3.1: each part is form-urlencoded before it is joined.
        Some((id, secret)) => (form_decoded(id), Some(form_decoded(secret))),
        None => (
            String::new(),
            param(params, "client_secret").map(str::to_string),
        ),
    }
}

fn form_decoded(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Look up and check the client; records it in the attempt.
#[allow(clippy::result_large_err)]
async fn client(
    s: &Inner,
    params: &[(String, String)],
    headers: &HeaderMap,
    attempt: &mut Attempt,
) -> Result<std::sync::Arc<byoc_proto::setup::App>, Refused> {
    let (client_id, secret) = client_credentials_of(params, headers);
    attempt.consumer_key = (!client_id.is_empty()).then(|| truncate(&client_id, 255));
    if !client_id.is_empty() && oauth::is_identifier(&client_id) {
        attempt.app = s
            .directory
            .app_by_consumer_key(&client_id)
            .await
            .map_err(|e| Refused::Internal(store_failure(&e)))?;
    }
    oauth::check_client(attempt.app.as_deref(), &client_id, secret.as_deref())?;
    attempt
        .app
        .clone()
        .ok_or_else(|| GrantRefusal::new(OAuthError::InvalidClientId, "the app vanished").into())
}

#[allow(clippy::result_large_err)]
pub(crate) async fn client_credentials(
    s: &Inner,
    urls: (&str, &str),
    params: &[(String, String)],
    headers: &HeaderMap,
    now: i64,
    attempt: &mut Attempt,
) -> Result<Response, Refused> {
    let app = client(s, params, headers, attempt).await?;
    if let Some(run_as) = app.policies.run_as_username.as_deref() {
        attempt.username = run_as.to_string();
        attempt.user = s
            .directory
            .user(run_as)
            .await
            .map_err(|e| Refused::Internal(store_failure(&e)))?;
    }
    let granted = oauth::decide_client_credentials(&app, attempt.user.as_deref(), now)?;
    let Some(user) = attempt.user.clone() else {
        return Err(GrantRefusal::new(
            OAuthError::NoClientCredentialsUser,
            "the run-as user vanished",
        )
        .into());
    };
    success(s, urls, &app, &user, &granted)
}

#[allow(clippy::result_large_err)]
pub(crate) async fn password(
    s: &Inner,
    urls: (&str, &str),
    params: &[(String, String)],
    headers: &HeaderMap,
    now: i64,
    attempt: &mut Attempt,
) -> Result<Response, Refused> {
    let app = client(s, params, headers, attempt).await?;
    let username = param(params, "username").unwrap_or("");
    let password = param(params, "password").unwrap_or("");
    attempt.username = truncate(username, 255);
    let failure = |diagnosis: String| GrantRefusal::new(OAuthError::UnknownUser, diagnosis);
    if username.is_empty() {
        return Err(failure(
            "the request has no username; send username and password as form parameters".into(),
        )
        .into());
    }
    if !oauth::is_identifier(username) {
        return Err(failure("the username contains a control character or is longer than 255 characters, so it names no user".into()).into());
    }
    attempt.user = s
        .directory
        .user(username)
        .await
        .map_err(|e| Refused::Internal(store_failure(&e)))?;
    // Always hash, known user or not, so the answer's timing does not tell which exist.
    let checked = s
        .setup
        .check_password(username, password)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password check failed");
            Refused::Internal(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        })?;
    let Some(user) = attempt.user.clone().filter(|_| checked.is_some()) else {
        let diagnosis = match attempt.user.as_deref() {
            None => {
                let shown: String = username.chars().filter(|c| c.is_ascii_graphic()).take(100).collect();
                format!("{shown:?} is not a username of this org (byoc setup user list shows them)")
            }
            Some(u) if !u.is_active => format!("the user {} is inactive; log in as an active user or reactivate this one", u.username),
            Some(u) => format!("wrong password for {} (or none set); byoc has no security tokens, send the password alone (byoc setup user password {} sets one)", u.username, u.username),
        };
        return Err(failure(diagnosis).into());
    };
    let granted = oauth::decide_password(&app, &user, now)?;
    success(s, urls, &app, &user, &granted)
}
