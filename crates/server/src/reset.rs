//! `byoc reset [--keep-setup]` (docs/org-as-code.md): return a running org to its seed — the
//! setup it was built with on first start (the sample setup, or `serve --seed DIR`) — or, with
//! `--keep-setup`, empty conversations and events only. One transaction; every instance on the
//! database drops what it cached.
//!
//! - `POST /admin/v1/reset` (`{"keepSetup": bool}`; an empty body is `false`): [`reset`].
//!   Who may: a user with *Customize Application* and *Modify All Data* (System Administrator),
//!   as for the org's own settings; the bootstrap admin credential acts as such a user.
//! - [`take_seed`]: the seed snapshot at start ([`crate::start`]).
//! - [`follow`]: what each instance keeps in memory of the org's activity (the request
//!   inspector, the API request count) starts over when any instance resets the org, and the
//!   console's live streams send `event: reset` so browsers reload. Setup caches
//!   need nothing of their own: they follow the store's generation, which the restored records'
//!   change notices move; Pub/Sub subscribers keep their position (replay ids never go back).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use byoc_core::{Actor, Clock, SetupAction, SetupError};
use byoc_proto::admin::{ResetComponent, ResetOutcome, ResetRequest};
use byoc_store::notify::{Channel, Notice};
use byoc_store::seed::ResetReport;
use byoc_store::{Store, StoreError};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::admin_api::{Acting, AdminState, ApiError};
use crate::setup_service::{ServiceError, SetupService};

/// The admin API routes of this module (merged into [`crate::admin_api::router`]).
pub fn admin_routes() -> Router<AdminState> {
    Router::new().route("/admin/v1/reset", post(reset_route))
}

async fn reset_route(
    State(s): State<AdminState>,
    Acting(actor): Acting,
    body: Bytes,
) -> Result<Response, ApiError> {
    // An empty body (or `{}`) resets to the seed.
    let request: ResetRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResetRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "JSON_PARSER_ERROR",
                format!("The body must be {{\"keepSetup\": true|false}}: {e}"),
            )
        })?
    };
    let outcome = reset(&s.setup, &actor, request.keep_setup).await?;
    Ok((StatusCode::OK, Json(outcome)).into_response())
}

/// Who may reset: *Customize Application* and *Modify All Data*, what changing the org's own
/// settings takes (a reset deletes every conversation and puts the setup back).
fn authorize(actor: &Actor) -> Result<(), SetupError> {
    actor
        .authorize(SetupAction::ChangeOrgSettings)
        .map_err(|_| {
            SetupError::InsufficientAccess(format!(
                "User {} can't reset the org: it takes the permissions \"Customize Application\" and \"Modify All Data\" (the System Administrator profile has both).",
                actor.user.username
            ))
        })
}

/// Reset the org as `actor` (see the module doc) and answer what went.
pub async fn reset(
    setup: &SetupService,
    actor: &Actor,
    keep_setup: bool,
) -> Result<ResetOutcome, ServiceError> {
    authorize(actor)?;
    let store = setup.store();
    let now = setup.clock().now_millis();
    let action = if keep_setup {
        "Reset the org: deleted conversations, events, login history and the audit trail; kept the setup"
    } else {
        "Reset the org to its seed: deleted conversations, events, login history and the audit trail; put the setup back as the seed has it"
    };
    let audit = byoc_core::audit::entry(
        now,
        &actor.user.username,
        byoc_core::setup::section::COMPANY,
        action,
        vec![],
    );
    let report = store.reset(keep_setup, &audit).await.map_err(|e| match e {
        StoreError::NoSeed => ServiceError::Setup(SetupError::NotAllowed(e.to_string())),
        e => ServiceError::Store(e),
    })?;
    let seed = store.repo().seed_info().await?;
    tracing::info!(
        keep_setup,
        by = %actor.user.username,
        setup_removed = report.setup_removed.len(),
        setup_restored = report.setup_restored.len(),
        "the org was reset"
    );
    Ok(outcome(keep_setup, report, seed))
}

fn outcome(
    keep_setup: bool,
    report: ResetReport,
    seed: Option<byoc_store::seed::SeedInfo>,
) -> ResetOutcome {
    let component = |r: byoc_store::seed::SetupRef| ResetComponent {
        kind: r.kind,
        name: r.name,
    };
    ResetOutcome {
        keep_setup,
        removed: report
            .removed
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect(),
        setup_removed: report.setup_removed.into_iter().map(component).collect(),
        setup_restored: report.setup_restored.into_iter().map(component).collect(),
        seed_taken_at: seed.as_ref().map(|s| s.taken_at),
        seed_source: seed.map(|s| s.source),
    }
}

/// Keep the setup as it is now as the org's seed, at start: `created` (this start made the org
/// and set it up) replaces any snapshot another instance took meanwhile; a later start takes one
/// only if there is none (an org from before seeds were kept: its setup as this start finds it).
pub async fn take_seed(
    store: &Store,
    clock: &dyn Clock,
    created: bool,
    source: &str,
) -> anyhow::Result<()> {
    let source = if created { source } else { "existing" };
    if store.save_seed(clock.now_millis(), source, created).await? && !created {
        tracing::info!(
            "this org had no seed (it was made before byoc kept one): its setup as it is now is the seed `byoc reset` returns to"
        );
    }
    Ok(())
}

/// What this instance keeps in memory of the org's activity, emptied when the org is reset.
#[derive(Clone)]
pub struct Forgetful {
    pub inspector: crate::inspector::Inspector,
    pub usage: std::sync::Arc<crate::rest::usage::ApiUsage>,
    /// The console's live streams: told to reload.
    pub live: crate::live::LiveFeed,
}

/// Until `shutdown`: empty [`Forgetful`] whenever any instance resets the org (the `Reset`
/// change notice: PostgreSQL's `byoc_reset`, or this process's own announcement on SQLite).
pub async fn follow(
    store: Store,
    forget: Forgetful,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut notices = store.notices();
    loop {
        let notice = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            n = notices.recv() => n,
        };
        match notice {
            Ok(Notice::Changed {
                channel: Channel::Reset,
                ..
            }) => {
                forget.inspector.clear();
                forget.usage.forget();
                forget.live.org_reset();
                tracing::info!("the org was reset: this instance's request inspector and API request count start over; console live streams reload");
            }
            // A missed notice can't be told apart from a reset that didn't happen; the
            // inspector's and the count's own limits bound what a missed one leaves.
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return Ok(()),
        }
    }
}
