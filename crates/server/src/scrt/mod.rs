//! The Interaction API host (`SF_SCRT_INSTANCE_URL`): every operation of
//! `specs/inbound-interaction-api.yaml` under `/api/v1`, behind the authorization chain.
//!
//! - [`auth`]: the [`AccessTokenCheck`] seam (the OAuth side's token verifier plugs in here) and
//!   the chain token → scope → `OrgId` → CCD → app → channel address.
//! - [`cache`]: channels and CCDs by name and address in memory, so the hot path reads no setup
//!   record from the database.
//! - [`writer`]: group commit — every write is queued to one task that commits a batch per
//!   transaction and answers each request only after its batch committed.
//! - [`handlers`]: one thin handler per operation: authorize, validate with
//!   `byoc_core::interaction`, write through the writer, answer the spec's shape.
//! - [`body`]: lenient request bodies (JSON on GET/DELETE, multipart parts in any order).
//! - [`error`]: the one place that turns codes into HTTP statuses and `{code, message}` bodies.
//! - [`admin`]: `/admin/v1/conversations` on the login host.

pub mod admin;
pub mod auth;
pub mod body;
pub mod cache;
pub mod error;
pub mod handlers;
pub mod writer;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{patch, post};
use axum::Router;
use byoc_core::interaction::MAX_ATTACHMENT_BYTES;
use byoc_core::Clock;
use byoc_store::Store;

pub use auth::{AccessTokenCheck, RefuseAllTokens};
pub use byoc_core::interaction::TokenGrant;

/// Room for the `json` part and multipart framing beside a 25 MB file.
const MULTIPART_LIMIT: usize = MAX_ATTACHMENT_BYTES as usize + 1024 * 1024;
/// Every JSON operation's body limit.
const JSON_LIMIT: usize = body::MAX_JSON_BODY;

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) tokens: Arc<dyn AccessTokenCheck>,
    pub(crate) cache: cache::SetupCache,
    pub(crate) writer: writer::GroupCommit,
}

/// Shared by every Interaction API request; cheap to clone.
#[derive(Clone)]
pub struct ScrtState(pub(crate) Arc<Inner>);

impl ScrtState {
    /// Spawns the group-commit writer, which stops once every clone of the state (and so the
    /// router) is dropped, after committing what was queued. Must run inside a tokio runtime.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        tokens: Arc<dyn AccessTokenCheck>,
    ) -> ScrtState {
        let writer = writer::GroupCommit::spawn(store.clone());
        let cache = cache::SetupCache::new(store.clone());
        ScrtState(Arc::new(Inner {
            store,
            clock,
            tokens,
            cache,
            writer,
        }))
    }

    pub fn now(&self) -> i64 {
        self.0.clock.now_millis()
    }

    /// The conversation writer, for the agent's side to write through too.
    pub fn writer(&self) -> writer::GroupCommit {
        self.0.writer.clone()
    }

    /// End users' messages as they commit (the seam the echo agent listens on).
    pub fn committed_messages(&self) -> tokio::sync::broadcast::Receiver<writer::CommittedMessage> {
        self.0.writer.committed_messages()
    }
}

/// The Interaction API host's routes; unknown paths answer 404 with a coded body.
pub fn router(state: ScrtState) -> Router {
    let multipart = Router::new()
        .route("/api/v1/interactions", post(handlers::post_interactions))
        .route("/api/v1/attachment", post(handlers::post_attachment))
        .layer(DefaultBodyLimit::max(MULTIPART_LIMIT));
    let json = Router::new()
        .route("/api/v1/conversation", post(handlers::post_conversation))
        .route(
            "/api/v1/conversationEntry",
            post(handlers::post_conversation_entry).get(handlers::get_conversation_entries),
        )
        .route(
            "/api/v1/conversationHistory",
            post(handlers::post_conversation_history),
        )
        .route(
            "/api/v1/acknowledgement",
            post(handlers::post_acknowledgement),
        )
        .route("/api/v1/participant", post(handlers::post_participant))
        .route(
            "/api/v1/route",
            post(handlers::post_route).delete(handlers::delete_route),
        )
        .route("/api/v1/routingResult", post(handlers::post_routing_result))
        .route(
            "/api/v1/agentWork",
            post(handlers::post_agent_work).patch(handlers::patch_agent_work),
        )
        .route("/api/v1/consent", patch(handlers::patch_consent))
        .route("/api/v1/capabilities", patch(handlers::patch_capabilities))
        .route(
            "/api/v1/messagingSession",
            post(handlers::post_messaging_session),
        )
        .layer(DefaultBodyLimit::max(JSON_LIMIT));
    multipart
        .merge(json)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

pub use admin::router as admin_router;
