//! Rotating the access-token sealing key ([`super::tokens::SealingKey`]).
//!
//! - `GET /admin/v1/token-keys`: the key ids and their state (never the keys).
//! - `POST /admin/v1/token-keys/rotate`: store a new key that starts minting
//!   [`KEY_ACTIVATION_DELAY_MILLIS`] later, on every instance; tokens sealed with older keys stay
//!   valid until they expire. System Administrators only (the bootstrap credential acts as one);
//!   recorded in the setup audit trail.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use byoc_core::permissions::SYSTEM_ADMINISTRATOR;
use byoc_proto::admin::RestError;
use byoc_store::{ChangeSet, Store};
use serde::Serialize;

use super::tokens::KeyStatus;
use super::tokens::{SealingKey, FIRST_KEY_ID, KEY_ACTIVATION_DELAY_MILLIS, KID_LEN};
use crate::admin_api::{Acting, AdminState, ApiError};
use crate::setup_service::ServiceError;

/// The audit trail's section for key rotations (Setup has none; byoc's name).
pub const AUDIT_SECTION: &str = "Access Token Keys";

/// The sealing keys in the store, creating the first one on a fresh database when `create`.
pub async fn load(store: &Store, create: bool) -> anyhow::Result<Vec<SealingKey>> {
    if create {
        let secret = random::<32>()?;
        // Every instance offers a key under the same name; the first insert wins.
        store
            .repo()
            .server_key(
                &SealingKey::row_name(&FIRST_KEY_ID),
                &hex::encode(secret),
                0,
            )
            .await
            .map_err(|e| anyhow::anyhow!("can't store the access token sealing key: {e}"))?;
    }
    let rows = store
        .repo()
        .server_keys()
        .await
        .map_err(|e| anyhow::anyhow!("can't read the access token sealing keys: {e}"))?;
    Ok(rows
        .iter()
        .filter_map(|(name, key_hex, created_at)| SealingKey::from_row(name, key_hex, *created_at))
        .collect())
}

fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no randomness"))?;
    Ok(bytes)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyList {
    keys: Vec<KeyStatus>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rotated {
    key_id: String,
    active_from: i64,
    keys: Vec<KeyStatus>,
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(vec![RestError {
            message: "Only a System Administrator can list or rotate the access token keys.".into(),
            error_code: "INSUFFICIENT_ACCESS".into(),
            fields: vec![],
        }]),
    )
        .into_response()
}

fn failure(e: impl std::fmt::Display) -> Response {
    let error_id = uuid::Uuid::new_v4().simple().to_string();
    tracing::error!(error_id, error = %e, "token key rotation failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(vec![RestError {
            message: format!("An unexpected error occurred. Error id: {error_id}"),
            error_code: "UNKNOWN_EXCEPTION".into(),
            fields: vec![],
        }]),
    )
        .into_response()
}

pub async fn list(State(s): State<AdminState>, Acting(actor): Acting) -> Response {
    if actor.user.profile != SYSTEM_ADMINISTRATOR {
        return forbidden();
    }
    let Some(oauth) = &s.oauth else {
        return forbidden();
    };
    Json(KeyList {
        keys: oauth.0.tokens.key_status(oauth.now()),
    })
    .into_response()
}

pub async fn rotate(State(s): State<AdminState>, Acting(actor): Acting) -> Response {
    if actor.user.profile != SYSTEM_ADMINISTRATOR {
        return forbidden();
    }
    let Some(oauth) = &s.oauth else {
        return forbidden();
    };
    let store = s.setup.store();
    // A key id no stored key has (stored keys are never deleted, so none is ever reused).
    let taken: Vec<[u8; KID_LEN]> = match load(store, false).await {
        Ok(keys) => keys.iter().map(|k| k.kid).collect(),
        Err(e) => return failure(e),
    };
    let mut kid = None;
    for _ in 0..64 {
        match random::<KID_LEN>() {
            Ok(k) if !taken.contains(&k) => {
                kid = Some(k);
                break;
            }
            Ok(_) => {}
            Err(e) => return failure(e),
        }
    }
    let (kid, secret) = match (kid, random::<32>()) {
        (Some(k), Ok(s)) => (k, s),
        (None, _) => return failure("no free access token key id"),
        (_, Err(e)) => return failure(e),
    };
    let now = oauth.now();
    let active_from = now.saturating_add(KEY_ACTIVATION_DELAY_MILLIS);
    if let Err(e) = store
        .repo()
        .server_key(
            &SealingKey::row_name(&kid),
            &hex::encode(secret),
            active_from,
        )
        .await
    {
        return ApiError::from(ServiceError::from(e)).into_response();
    }
    let key_id = hex::encode(kid);
    let audit = byoc_core::audit::entry(
        now,
        &actor.user.username,
        AUDIT_SECTION,
        format!("Rotated the access token sealing key: key {key_id} mints from {active_from} (ms since the epoch); tokens of older keys stay valid until they expire"),
        Vec::new(),
    );
    if let Err(e) = store.apply(ChangeSet::new().audit([audit])).await {
        return ApiError::from(ServiceError::from(e)).into_response();
    }
    match load(store, false).await {
        Ok(keys) => oauth.0.tokens.set_keys(keys),
        Err(e) => return failure(e),
    }
    (
        StatusCode::CREATED,
        Json(Rotated {
            key_id,
            active_from,
            keys: oauth.0.tokens.key_status(now),
        }),
    )
        .into_response()
}
