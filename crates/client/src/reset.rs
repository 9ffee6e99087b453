//! `POST /admin/v1/reset`: return the org to its seed, or empty its conversations and events
//! only (docs/org-as-code.md, "Reset").

use byoc_proto::admin::{ResetOutcome, ResetRequest};
use reqwest::Method;

use crate::{AdminClient, ClientError};

impl AdminClient {
    /// Reset the org: conversations, events, logs and the audit trail go; unless `keep_setup`,
    /// the setup goes back to the seed. Answers what was removed.
    pub async fn reset(&self, keep_setup: bool) -> Result<ResetOutcome, ClientError> {
        self.send(Method::POST, &["reset"], Some(&ResetRequest { keep_setup }))
            .await
    }
}
