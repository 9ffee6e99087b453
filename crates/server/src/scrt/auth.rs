//! The authorization chain of DESIGN.md §4, in order: token valid (10004) → scope
//! `interaction_api` (10003) → `OrgId` is the token's org (10016) → the CCD named by
//! `AuthorizationContext` exists (10026) → its linked app is the token's app (10005) → (per
//! operation, once the body is read) the channel address belongs to that CCD's channel
//! (10017/10001/10031).

use std::sync::Arc;

use axum::http::HeaderMap;
use byoc_core::interaction::{self as rules, ApiError, TokenGrant};
use byoc_proto::interaction::headers;
use byoc_proto::setup::{ConversationChannelDefinition, MessagingChannel};

use super::cache::Snapshot;
use super::ScrtState;

/// Checks a bearer token without a database round trip. The OAuth side's verifier implements
/// it; `None` means the token is not valid (expired, revoked, forged, another org's).
pub trait AccessTokenCheck: Send + Sync {
    fn check(&self, bearer: &str, now_ms: i64) -> Option<TokenGrant>;
}

/// Accepts no token: the Interaction API answers 10004 to everything. For a server built
/// without a token issuer.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefuseAllTokens;

impl AccessTokenCheck for RefuseAllTokens {
    fn check(&self, _bearer: &str, _now_ms: i64) -> Option<TokenGrant> {
        None
    }
}

/// A request that passed the header part of the chain.
pub struct Authorized {
    pub grant: TokenGrant,
    /// The channel of the CCD named by `AuthorizationContext`.
    pub channel: Arc<MessagingChannel>,
    pub snapshot: Arc<Snapshot>,
}

impl Authorized {
    pub fn ccd(&self) -> Option<&ConversationChannelDefinition> {
        self.channel.conversation_channel_definition.as_ref()
    }

    /// The last step: `address` (`to` / `channelAddressIdentifier`) is this CCD's channel.
    pub fn authorize_address(&self, address: &str) -> Result<(), ApiError> {
        rules::authorize_address(
            &self.channel,
            self.snapshot.by_address(address).map(|c| c.as_ref()),
        )
    }
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = header(headers, "authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl ScrtState {
    /// The chain up to the CCD's app, from the headers alone; also `AuthorizationContextType`
    /// (10093) and `RequestId` (10016).
    pub async fn authorize(&self, headers: &HeaderMap) -> Result<Authorized, ApiError> {
        let token = bearer(headers).ok_or_else(|| ApiError::new(10004))?;
        let grant = self
            .0
            .tokens
            .check(token, self.now())
            .ok_or_else(|| ApiError::new(10004))?;
        rules::check_grant(&grant, header(headers, headers::ORG_ID))?;
        let snapshot = self
            .0
            .cache
            .snapshot(self.now())
            .await
            .map_err(super::error::store_failure)?;
        let context = header(headers, headers::AUTHORIZATION_CONTEXT);
        let channel = context.and_then(|c| snapshot.by_ccd(c.trim())).cloned();
        rules::authorize_ccd(&grant, context, channel.as_deref())?;
        rules::check_context_type(header(headers, headers::AUTHORIZATION_CONTEXT_TYPE))?;
        match header(headers, headers::REQUEST_ID).map(str::trim) {
            Some(id) if !id.is_empty() => {}
            _ => return Err(ApiError::new(10016)),
        }
        let channel = channel.ok_or_else(|| ApiError::new(10026))?;
        Ok(Authorized {
            grant,
            channel,
            snapshot,
        })
    }
}

/// The OAuth side's sealed access tokens: a decryption and a revocation-set lookup, no database
/// (the Interaction API needs the ids, not the names).
impl AccessTokenCheck for crate::oauth::TokenVerifier {
    fn check(&self, bearer: &str, now_ms: i64) -> Option<TokenGrant> {
        let claims = self.verify_ids(bearer, now_ms).ok()?;
        Some(TokenGrant {
            org_id15: claims.org_id,
            user_id: claims.user_id,
            app_id: claims.app_id,
            scopes: claims.scopes,
        })
    }
}
