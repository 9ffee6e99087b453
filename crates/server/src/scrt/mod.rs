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
/// Upload bytes the multipart routes hold at once, across all requests. Each request claims
/// its `Content-Length` (a chunked one claims the route's limit) before its body is read and
/// keeps the claim until it is answered, so small requests pass freely while at most about five
/// 25 MB uploads are read, buffered and committed at a time; the rest wait their turn with their
/// bodies unread (in the sockets' buffers, not in byoc's memory).
pub const UPLOAD_BUDGET_BYTES: usize = 128 * 1024 * 1024;
/// The budget's unit: permits are KiB, so the whole budget fits a semaphore's `u32`.
const BUDGET_UNIT: usize = 1024;

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
        .layer(DefaultBodyLimit::max(MULTIPART_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            UploadBudget {
                bytes: Arc::new(tokio::sync::Semaphore::new(
                    UPLOAD_BUDGET_BYTES / BUDGET_UNIT,
                )),
                scrt: state.clone(),
            },
            upload_budget,
        ));
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

#[derive(Clone)]
struct UploadBudget {
    bytes: Arc<tokio::sync::Semaphore>,
    scrt: ScrtState,
}

/// Waits until the request's share of [`UPLOAD_BUDGET_BYTES`] is free, and holds it until the
/// request is answered. Only requests that pass the header part of the authorization chain
/// claim any: the others are refused before their body is read, and must not be able to hold
/// the budget (a slow client claiming 26 MB) against the partners.
async fn upload_budget(
    axum::extract::State(budget): axum::extract::State<UploadBudget>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if budget.scrt.authorize(req.headers()).await.is_err() {
        return next.run(req).await;
    }
    let claimed = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(MULTIPART_LIMIT)
        .min(MULTIPART_LIMIT);
    let units = u32::try_from(claimed.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX);
    // The semaphore is never closed, so acquiring only waits.
    let _claim = budget.bytes.acquire_many(units).await;
    next.run(req).await
}

pub use admin::router as admin_router;
