//! Salesforce DX source format ↔ byoc's setup model. No IO: a project is a map of paths
//! (relative to the project root, `/`-separated) to file contents; the CLI and the server read
//! and write the files.
//!
//! - [`OrgSetup`]: the components a project carries, as byoc's setup records
//!   (`byoc_proto::setup`). Parsed records have empty ids and zero timestamps where the files
//!   don't carry them; the deploy engine (`byoc-server`'s `metadata_service`) fills them in.
//! - [`retrieve`]: an org's setup → the files of a DX project (`sfdx-project.json`,
//!   `force-app/main/default/...`), each with the element names, order and namespace of
//!   Salesforce's Metadata API.
//! - [`parse`]: a DX project's files → [`OrgSetup`], or every problem found, each naming the file,
//!   the component type, its full name and the problem, as a Salesforce deploy reports them.
//! - [`plan`]: what deploying a project into an org would change (the `--dry-run` answer).
//!
//! docs/metadata.md describes the formats and the choices made where Salesforce's docs are silent.

use std::collections::BTreeMap;

use byoc_proto::setup::{
    App, ConversationChannelDefinition, MessagingChannel, PermissionSet, PlatformEventDefinition,
};
use serde::{Deserialize, Serialize};

mod channels;
mod connected_app;
mod eca;
mod events;
mod parse;
mod permission_sets;
pub mod plan;
mod scopes;
mod xml;

/// A DX project: relative path → contents.
pub type Files = BTreeMap<String, String>;

/// The Metadata API namespace every metadata file's root element is in.
pub const METADATA_NAMESPACE: &str = "http://soap.sforce.com/2006/04/metadata";

/// Where a DX project keeps its source.
pub const DEFAULT_PACKAGE_DIR: &str = "force-app/main/default";

/// The setup components a DX project carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgSetup {
    /// External Client Apps with their OAuth settings and policies (five files each).
    pub external_client_apps: Vec<App>,
    /// Connected apps (`connectedApps/*.connectedApp-meta.xml`), profile and permission set
    /// assignments included.
    pub connected_apps: Vec<App>,
    /// Permission sets with their object permissions.
    pub permission_sets: Vec<PermissionSet>,
    /// Custom platform events with their fields (`objects/<Name>__e/`).
    pub platform_events: Vec<PlatformEventDefinition>,
    /// Messaging channels with the CCD each uses.
    pub channels: Vec<MessagingChannel>,
    /// Conversation Channel Definitions no channel uses.
    pub standalone_ccds: Vec<ConversationChannelDefinition>,
}

/// How to write a project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetrieveOptions {
    /// Write consumer secrets (never written unless asked).
    pub include_secrets: bool,
}

/// One problem a deploy reports: Salesforce's `DeployMessage` (`fileName`, `componentType`,
/// `fullName`, `problem`, `lineNumber`, `columnNumber`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployProblem {
    /// Relative path in the project (`force-app/main/default/externalClientApps/Acme.eca-meta.xml`).
    pub file_name: String,
    /// Metadata type (`ExternalClientApplication`).
    pub component_type: String,
    /// The component's full name (`Acme`).
    pub full_name: String,
    pub problem: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_number: Option<u32>,
}

impl std::fmt::Display for DeployProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({}",
            self.component_type, self.full_name, self.file_name
        )?;
        if let Some(line) = self.line_number {
            write!(f, ":{line}")?;
            if let Some(column) = self.column_number {
                write!(f, ":{column}")?;
            }
        }
        write!(f, "): {}", self.problem)
    }
}

/// The `sourceApiVersion` retrieved projects declare: every type written here exists in it
/// (`MessagingChannel`'s `Custom` channel type needs 61.0; ECA policies files 60.0).
pub const SOURCE_API_VERSION: &str = "64.0";

/// An org's setup as a DX project's files: `sfdx-project.json` and one or more files per
/// component under [`DEFAULT_PACKAGE_DIR`]. The same setup always gives the same bytes.
pub fn retrieve(setup: &OrgSetup, options: &RetrieveOptions) -> Files {
    let mut files = Files::new();
    files.insert("sfdx-project.json".into(), sfdx_project());
    let mut put = |list: Vec<(String, String)>| {
        for (path, contents) in list {
            files.insert(format!("{DEFAULT_PACKAGE_DIR}/{path}"), contents);
        }
    };
    for app in &setup.external_client_apps {
        put(eca::write(app, options.include_secrets));
    }
    for app in &setup.connected_apps {
        put(vec![connected_app::write(app, options.include_secrets)]);
    }
    for ps in &setup.permission_sets {
        put(vec![permission_sets::write(ps)]);
    }
    for event in &setup.platform_events {
        put(events::write(event));
    }
    for channel in &setup.channels {
        put(vec![channels::write_channel(channel)]);
        if let Some(ccd) = &channel.conversation_channel_definition {
            put(vec![channels::write_ccd(ccd)]);
        }
    }
    for ccd in &setup.standalone_ccds {
        put(vec![channels::write_ccd(ccd)]);
    }
    files
}

/// `sfdx-project.json` as `sf project generate` writes it (2-space indented JSON).
fn sfdx_project() -> String {
    let project = serde_json::json!({
        "packageDirectories": [{ "path": "force-app", "default": true }],
        "name": "byoc",
        "namespace": "",
        "sfdcLoginUrl": "https://login.salesforce.com",
        "sourceApiVersion": SOURCE_API_VERSION,
    });
    let mut s = serde_json::to_string_pretty(&project).unwrap_or_default();
    s.push('\n');
    s
}

/// A DX project's components, or every problem found in it. Files this crate doesn't know
/// (other metadata types, `sfdx-project.json`, README files) are skipped.
pub fn parse(files: &Files) -> Result<OrgSetup, Vec<DeployProblem>> {
    parse::parse(files)
}
