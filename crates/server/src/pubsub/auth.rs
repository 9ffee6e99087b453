//! Who is calling: the `accesstoken`, `instanceurl` and `tenantid` metadata of a Pub/Sub call
//! (<https://developer.salesforce.com/docs/platform/pub-sub-api/guide/supported-auth.html>).
//!
//! Token checking sits behind [`AccessTokenCheck`], so the Pub/Sub host does not depend on how
//! tokens are made. byoc chains two checks: the OAuth access tokens of the token endpoint
//! ([`crate::oauth::tokens::TokenVerifier`], no database round trip), then the admin credential
//! of `org.json`, which stands for the bootstrap admin's session id (Salesforce accepts a
//! session id as `accesstoken`).

use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::metadata::MetadataMap;
use tonic::Status;

use super::access::SetupCache;
use super::errors;
use crate::oauth::tokens::TokenVerifier;

/// What a valid access token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// 15 characters.
    pub org_id: String,
    pub user_id: String,
    /// The app that obtained the token; `None` for a session id.
    pub app_id: Option<String>,
    pub scopes: Vec<String>,
    /// The user's username, for the request inspector and the subscription list.
    pub username: String,
    /// The consumer key of the app that obtained the token; `None` for a session id.
    pub consumer_key: Option<String>,
}

/// Checks an access token at a point in time.
#[async_trait]
pub trait AccessTokenCheck: Send + Sync {
    async fn check(&self, token: &str, now_ms: i64) -> Option<Grant>;

    /// Changes whenever a token may have been revoked since, so open subscriptions check theirs
    /// again; `None` when this check never revokes.
    fn revocation_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

#[async_trait]
impl AccessTokenCheck for TokenVerifier {
    async fn check(&self, token: &str, now_ms: i64) -> Option<Grant> {
        let claims = self.verify_resolving(token, now_ms).await.ok()?;
        Some(Grant {
            org_id: claims.org_id,
            user_id: claims.user_id,
            app_id: Some(claims.app_id),
            scopes: claims.scopes,
            username: claims.username,
            consumer_key: Some(claims.consumer_key),
        })
    }

    fn revocation_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(TokenVerifier::revocation_changes(self))
    }
}

/// The admin credential as a session id of the user it acts as. Credentials are looked up in the
/// in-memory [`SetupCache`], so a token that is neither an access token nor an admin credential
/// costs no database query.
pub struct AdminCredentialCheck {
    pub setup: Arc<SetupCache>,
}

#[async_trait]
impl AccessTokenCheck for AdminCredentialCheck {
    async fn check(&self, token: &str, _now_ms: i64) -> Option<Grant> {
        let digest = hex::encode(Sha256::digest(token.as_bytes()));
        let snapshot = self.setup.snapshot().await.ok()?;
        let (stored, username) = snapshot.admin_credential(&digest)?;
        if !bool::from(stored.as_bytes().ct_eq(digest.as_bytes())) {
            return None;
        }
        let user = snapshot.user_by_username(username)?;
        if !user.is_active {
            return None;
        }
        Some(Grant {
            org_id: snapshot.org_id.clone()?,
            user_id: user.id.clone(),
            app_id: None,
            scopes: vec!["full".into()],
            username: user.username.clone(),
            consumer_key: None,
        })
    }
}

/// The first check that accepts the token wins.
pub struct FirstOf(pub Vec<Arc<dyn AccessTokenCheck>>);

#[async_trait]
impl AccessTokenCheck for FirstOf {
    async fn check(&self, token: &str, now_ms: i64) -> Option<Grant> {
        for check in &self.0 {
            if let Some(grant) = check.check(token, now_ms).await {
                return Some(grant);
            }
        }
        None
    }

    fn revocation_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.0.iter().find_map(|c| c.revocation_changes())
    }
}

fn header<'a>(metadata: &'a MetadataMap, name: &str) -> Option<&'a str> {
    // gRPC metadata keys travel lowercased (HTTP/2), so `AccessToken` from a client arrives as
    // `accesstoken`; `get` looks up the lowercase name.
    metadata
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Authenticate a call against this org. Every refusal is `UNAUTHENTICATED` with the
/// `sfdc.platform.eventbus.grpc.service.auth.error` trailer.
pub async fn authenticate(
    metadata: &MetadataMap,
    check: &dyn AccessTokenCheck,
    org_id: &str,
    org_id18: &str,
    now_ms: i64,
) -> Result<Grant, Status> {
    let token = header(metadata, "accesstoken")
        .ok_or_else(|| errors::unauthenticated("the accesstoken header is missing"))?;
    header(metadata, "instanceurl")
        .ok_or_else(|| errors::unauthenticated("the instanceurl header is missing"))?;
    let tenant = header(metadata, "tenantid")
        .ok_or_else(|| errors::unauthenticated("the tenantid header is missing"))?;
    if tenant != org_id && !tenant.eq_ignore_ascii_case(org_id18) {
        return Err(errors::unauthenticated("tenantid is not this org's id"));
    }
    let grant = check.check(token, now_ms).await.ok_or_else(|| {
        errors::unauthenticated("the access token is invalid, expired or revoked")
    })?;
    if grant.org_id != org_id {
        return Err(errors::unauthenticated(
            "the access token belongs to another org",
        ));
    }
    Ok(grant)
}
