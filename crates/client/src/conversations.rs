//! What arrived through the Interaction API, as the admin API shows it (`/admin/v1/conversations`):
//! the data behind `byoc conversations list` and `byoc conversations show ID`.

use byoc_proto::interaction::{ConversationDetail, ConversationSummary};
use reqwest::Method;

use crate::{api_error, AdminClient, ClientError};

/// An attachment's bytes and declared type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentContent {
    /// The stored MIME type.
    pub mime_type: String,
    /// The content.
    pub bytes: Vec<u8>,
}

impl AdminClient {
    /// `GET /admin/v1/conversations?limit=N`: newest activity first; `None` takes the server's
    /// default (100).
    pub async fn conversations(
        &self,
        limit: Option<u32>,
    ) -> Result<Vec<ConversationSummary>, ClientError> {
        let limit = limit.map(|n| n.to_string());
        let query: Vec<(&str, &str)> = limit.iter().map(|n| ("limit", n.as_str())).collect();
        self.get(&["conversations"], &query).await
    }

    /// `GET /admin/v1/conversations/{id}`: sessions, entries (with attachments and
    /// acknowledgement state) and routing records.
    pub async fn conversation(&self, id: &str) -> Result<ConversationDetail, ClientError> {
        self.get(&["conversations", id], &[]).await
    }

    /// `GET /admin/v1/attachments/{id}`: an attachment's bytes.
    pub async fn attachment(&self, id: &str) -> Result<AttachmentContent, ClientError> {
        let response = self
            .execute(self.request(Method::GET, self.admin_url(&["attachments", id])))
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(api_error(status, response).await);
        }
        let mime_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(format!("reading attachment {id}: {e}")))?;
        Ok(AttachmentContent {
            mime_type,
            bytes: bytes.to_vec(),
        })
    }
}
