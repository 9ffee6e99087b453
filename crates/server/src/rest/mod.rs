//! Salesforce's REST API on the login/instance host (`/services/data`), the part a BYOC connector
//! and stock Salesforce clients call (docs/rest-api.md lists every call and how byoc differs).
//!
//! - this module: [`RestState`], the router, `GET /services/data/` (versions) and
//!   `GET /services/data/vXX.X/` (resources), the `Sforce-Limit-Info` header, the version check.
//! - [`objects`]: the sObject catalog — each object's describe ([`byoc_soql::ObjectDef`]) for the
//!   acting user, and its rows loaded from the store.
//! - [`query`]: `/query`, `/queryAll`, `/tooling/query` with `nextRecordsUrl` paging.
//! - [`sobjects`]: describe global, describe, a record by id, publishing a platform event.
//! - [`tooling`]: the Tooling API's `ConversationChannelDefinition` create/read/update/delete.
//!
//! Who may call: as the admin API ([`crate::admin_api::Acting`]): an access token or session id
//! with the `api` or `full` scope in `Authorization: Bearer|OAuth`, or the bootstrap credential;
//! errors in REST shape ([`crate::admin_api::ApiError`]).

pub mod objects;
pub mod query;
pub mod sobjects;
pub mod tooling;

use axum::Router;

use crate::admin_api::AdminState;

/// Shared by every REST request; cheap to clone.
#[derive(Clone)]
pub struct RestState {
    pub admin: AdminState,
    pub oauth: crate::oauth::OAuthState,
    /// Publishing platform events (`POST /sobjects/{Event__e}`) and their describe.
    pub pubsub: crate::pubsub::PubSubService,
    pub bus: std::sync::Arc<crate::pubsub::bus::EventBus>,
    /// Query cursors for `nextRecordsUrl` (in memory, per instance).
    pub cursors: query::Cursors,
}

/// The REST routes (`/services/data/...`).
pub fn router(state: RestState) -> Router {
    Router::new()
        .merge(query::router(state.clone()))
        .merge(sobjects::router(state.clone()))
        .merge(tooling::router(state))
}
