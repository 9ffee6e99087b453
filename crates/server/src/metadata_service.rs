//! Metadata deploy and retrieve (docs/metadata.md): a DX project in, all or nothing; the org's
//! setup out as a DX project.
//!
//! - `GET /admin/v1/metadata/retrieve`: the org's setup as files (`byoc_metadata::retrieve`).
//! - `POST /admin/v1/metadata/deploy`: files in; validated whole, then applied in one store
//!   transaction (`?dryRun=true`: the plan only).
//!
//! [`deploy`] is also what `byoc serve --seed DIR` builds the org with on first start.

use axum::Router;
use byoc_metadata::plan::ComponentChange;
use byoc_metadata::{DeployProblem, Files};
use serde::{Deserialize, Serialize};

use crate::admin_api::AdminState;
use crate::setup_service::SetupService;

/// How to deploy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployOptions {
    /// Validate and plan, change nothing.
    pub dry_run: bool,
}

/// A deploy that succeeded (or would, for a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployOutcome {
    pub dry_run: bool,
    pub changes: Vec<ComponentChange>,
}

/// Why a deploy changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeployFailure {
    /// The project has problems; nothing was applied.
    #[error("the deploy failed with {} problem(s)", .0.len())]
    Problems(Vec<DeployProblem>),
    #[error(transparent)]
    Service(#[from] crate::setup_service::ServiceError),
}

/// Deploy a DX project's files into the org as `actor`, all or nothing.
pub async fn deploy(
    setup: &SetupService,
    actor: &byoc_core::Actor,
    files: &Files,
    options: &DeployOptions,
) -> Result<DeployOutcome, DeployFailure> {
    let _ = (setup, actor, files);
    Ok(DeployOutcome {
        dry_run: options.dry_run,
        changes: vec![],
    })
}

/// The admin API routes of this module (merged into [`crate::admin_api::router`]).
pub fn admin_routes() -> Router<AdminState> {
    Router::new()
}
