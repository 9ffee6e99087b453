//! What a deploy would change: each component created, changed or left as it is, compared with
//! the org's current setup. Pure: the server reads the org, this compares.

use serde::{Deserialize, Serialize};

/// One component's fate in a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentChange {
    /// Metadata type (`ExternalClientApplication`).
    pub component_type: String,
    pub full_name: String,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Created,
    Changed,
    Unchanged,
}
