//! Login history: every token request the org answered, with Salesforce's error and byoc's
//! diagnosis (`GET /admin/v1/login-history`, `docs/admin-api.md`).

use byoc_proto::oauth::{LoginHistoryEntry, LoginHistoryQuery};

use crate::{AdminClient, ClientError};

impl AdminClient {
    /// `GET /admin/v1/login-history?limit=&username=&app=&status=`: newest first. Filters left
    /// `None` are not sent; `limit` `None` takes the server's default (100). `app` is an app name
    /// (case-insensitive) or a consumer key; `status` is `Success` or `Failed`.
    pub async fn login_history(
        &self,
        query: &LoginHistoryQuery,
    ) -> Result<Vec<LoginHistoryEntry>, ClientError> {
        let limit = query.limit.map(|n| n.to_string());
        let pairs: Vec<(&str, &str)> = [
            ("limit", limit.as_deref()),
            ("username", query.username.as_deref()),
            ("app", query.app.as_deref()),
            ("status", query.status.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
        self.get(&["login-history"], &pairs).await
    }
}
