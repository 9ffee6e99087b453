//! Salesforce's REST API (`/services/data`) as byoc serves it: versions and query results.
//!
//! Errors use [`crate::admin::RestError`] (`[{"message","errorCode","fields"}]`).

use serde::{Deserialize, Serialize};

/// The API versions byoc serves, oldest first, with their release labels: 58.0 (Summer '23) up to
/// the current release, 68.0 (Winter '27).
pub const API_VERSIONS: [(&str, &str); 11] = [
    ("58.0", "Summer '23"),
    ("59.0", "Winter '24"),
    ("60.0", "Spring '24"),
    ("61.0", "Summer '24"),
    ("62.0", "Winter '25"),
    ("63.0", "Spring '25"),
    ("64.0", "Summer '25"),
    ("65.0", "Winter '26"),
    ("66.0", "Spring '26"),
    ("67.0", "Summer '26"),
    ("68.0", "Winter '27"),
];

/// The newest version: what the SDK and CLI use by default.
pub const CURRENT_API_VERSION: &str = "68.0";

/// One entry of `GET /services/data/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiVersion {
    pub label: String,
    pub url: String,
    pub version: String,
}

/// `GET /services/data/vXX.X/query?q=…` (and `/queryAll`, `/tooling/query`). `records` stay
/// JSON: their fields depend on the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    pub total_size: u64,
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_records_url: Option<String>,
    pub records: Vec<serde_json::Value>,
}

/// `POST /sobjects/{Type}` and the Tooling API's create: `{"id","success","errors"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveResult {
    pub id: String,
    pub success: bool,
    pub errors: Vec<serde_json::Value>,
}
