//! Salesforce's REST API (`/services/data`) as byoc serves it: versions and query results.
//!
//! Errors use [`crate::admin::RestError`] (`[{"message","errorCode","fields"}]`).

use serde::{Deserialize, Serialize};

/// The API versions byoc serves, oldest first, with their release labels: 31.0 (Summer '14), the
/// oldest Salesforce still serves since it retired 21.0–30.0 in Summer '25, up to the current
/// release, 68.0 (Winter '27). Stock clients pin old defaults (jsforce 3 uses 50.0), so every
/// version a real org answers is answered here too.
pub const API_VERSIONS: [(&str, &str); 38] = [
    ("31.0", "Summer '14"),
    ("32.0", "Winter '15"),
    ("33.0", "Spring '15"),
    ("34.0", "Summer '15"),
    ("35.0", "Winter '16"),
    ("36.0", "Spring '16"),
    ("37.0", "Summer '16"),
    ("38.0", "Winter '17"),
    ("39.0", "Spring '17"),
    ("40.0", "Summer '17"),
    ("41.0", "Winter '18"),
    ("42.0", "Spring '18"),
    ("43.0", "Summer '18"),
    ("44.0", "Winter '19"),
    ("45.0", "Spring '19"),
    ("46.0", "Summer '19"),
    ("47.0", "Winter '20"),
    ("48.0", "Spring '20"),
    ("49.0", "Summer '20"),
    ("50.0", "Winter '21"),
    ("51.0", "Spring '21"),
    ("52.0", "Summer '21"),
    ("53.0", "Winter '22"),
    ("54.0", "Spring '22"),
    ("55.0", "Summer '22"),
    ("56.0", "Winter '23"),
    ("57.0", "Spring '23"),
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
