//! The org's setup as a Salesforce DX project, and a DX project into the org
//! (`/admin/v1/metadata/...`, docs/metadata.md): what `byoc metadata retrieve|deploy` call.
//!
//! A project is [`Files`]: relative path → contents. A deploy answers the Metadata API's
//! [`DeployResult`] whether it succeeded or not: check [`DeployResult::success`]; a failed one
//! lists every problem in `details.componentFailures` and changed nothing.

use byoc_metadata::plan::DeployResult;
use byoc_metadata::Files;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::{decode, AdminClient, ClientError};

#[derive(Serialize, Deserialize)]
struct ProjectFiles {
    files: Files,
}

impl AdminClient {
    /// `GET /admin/v1/metadata/retrieve[?includeSecrets=true]`: the org's setup as a DX
    /// project's files. Consumer secrets only with `include_secrets` (recorded in the setup
    /// audit trail).
    pub async fn retrieve_metadata(&self, include_secrets: bool) -> Result<Files, ClientError> {
        let query: &[(&str, &str)] = if include_secrets {
            &[("includeSecrets", "true")]
        } else {
            &[]
        };
        let project: ProjectFiles = self.get(&["metadata", "retrieve"], query).await?;
        Ok(project.files)
    }

    /// `POST /admin/v1/metadata/deploy[?dryRun=true]`: deploy a DX project's files, all or
    /// nothing. `Ok` with `success: false` when the project has problems (nothing changed);
    /// `Err` when the request itself failed (credentials, transport, a body too large).
    pub async fn deploy_metadata(
        &self,
        files: &Files,
        dry_run: bool,
    ) -> Result<DeployResult, ClientError> {
        let mut url = self.admin_url(&["metadata", "deploy"]);
        if dry_run {
            url.query_pairs_mut().append_pair("dryRun", "true");
        }
        let body = ProjectFiles {
            files: files.clone(),
        };
        let response = self
            .execute(self.request(Method::POST, url).json(&body))
            .await?;
        let status = response.status();
        if status != StatusCode::BAD_REQUEST {
            return decode(response).await;
        }
        // A failed deploy is a DeployResult too; any other 400 is a REST error.
        let bytes = response.bytes().await.unwrap_or_default();
        match serde_json::from_slice::<DeployResult>(&bytes) {
            Ok(result) => Ok(result),
            Err(_) => Err(ClientError::Api {
                status: status.as_u16(),
                errors: crate::rest_errors(status, &bytes),
            }),
        }
    }
}
