//! What a deploy would change: each component created, changed or left as it is, compared with
//! the org's current setup, and every problem that crosses components. Pure: the server reads
//! the org, this compares.
//!
//! - [`plan`]: current [`OrgSetup`] + incoming [`OrgSetup`] (+ the project's [`Files`], for file
//!   names) → [`Plan`]: the [`ComponentChange`]s and the [`DeployProblem`]s.
//! - `merged_*`: an incoming record as it would replace the stored one: what the files don't
//!   carry (record ids, dates, a consumer key or secret left out, the parsed certificate) is kept.
//!   The server builds the records it writes with the same functions, so the plan and the deploy
//!   agree on what changes.
//! - [`DeployResult`] / [`DeployMessage`]: the answer of `POST /admin/v1/metadata/deploy`, in the
//!   Metadata API's `DeployResult` shape (`success`, `details.componentSuccesses[]`,
//!   `details.componentFailures[]` with `componentType`, `fullName`, `fileName`, `problem`,
//!   `problemType`, `lineNumber`, `columnNumber`).
//!
//! Deploys create and update; they never delete (Salesforce deletes only what a
//! `destructiveChanges.xml` names, which byoc doesn't support: docs/metadata.md, "Deploying").
//!
//! Cross-component rules checked here (the per-record rules are byoc-core's, applied by the
//! server for the acting user):
//! - a component's full name appears once per type in the project;
//! - consumer keys are unique across the org's and the project's apps; app labels are unique per
//!   kind; channel addresses are unique across channels;
//! - a CCD's platform event exists in the org or the project, and its payload, type,
//!   channel-address and recipient fields are text fields of it; its linked app exists;
//! - app policies name existing profiles and permission sets; permission sets' object
//!   permissions name existing platform events;
//! - a channel keeps its CCD (a CCD's developer name is fixed once a channel uses it), and a CCD
//!   a channel uses can't be deployed as a standalone one.

use std::collections::{BTreeMap, BTreeSet};

use byoc_proto::setup::{
    App, AppKind, AppRef, ConversationChannelDefinition, FieldType, MessagingChannel,
    PermissionSet, PlatformEventDefinition,
};
use serde::{Deserialize, Serialize};

use crate::{DeployProblem, Files, OrgSetup, DEFAULT_PACKAGE_DIR};

/// Metadata API type names, as `componentType` reports them.
pub mod component_type {
    pub const EXTERNAL_CLIENT_APPLICATION: &str = "ExternalClientApplication";
    pub const CONNECTED_APP: &str = "ConnectedApp";
    pub const PERMISSION_SET: &str = "PermissionSet";
    pub const CUSTOM_OBJECT: &str = "CustomObject";
    pub const CUSTOM_FIELD: &str = "CustomField";
    pub const CONVERSATION_CHANNEL_DEFINITION: &str = "ConversationChannelDefinition";
    pub const MESSAGING_CHANNEL: &str = "MessagingChannel";
}
use component_type as ct;

/// One component's fate in a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentChange {
    /// Metadata type (`ExternalClientApplication`).
    pub component_type: String,
    pub full_name: String,
    /// The project file that carries it (relative to the project root).
    #[serde(default)]
    pub file_name: String,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Created,
    Changed,
    Unchanged,
}

impl Action {
    /// The `State` column of `sf project deploy start`.
    pub fn label(self) -> &'static str {
        match self {
            Action::Created => "Created",
            Action::Changed => "Changed",
            Action::Unchanged => "Unchanged",
        }
    }
}

/// What deploying a project would do: the changes if `problems` is empty, else nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<ComponentChange>,
    pub problems: Vec<DeployProblem>,
}

/// One entry of a `DeployResult`'s `componentSuccesses` or `componentFailures`: the Metadata
/// API's `DeployMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployMessage {
    pub component_type: String,
    pub full_name: String,
    pub file_name: String,
    pub success: bool,
    #[serde(default)]
    pub created: bool,
    #[serde(default)]
    pub changed: bool,
    #[serde(default)]
    pub deleted: bool,
    /// Set on failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// `Error` on failures (Salesforce also has `Warning`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_number: Option<u32>,
}

impl DeployMessage {
    pub fn success(change: &ComponentChange) -> DeployMessage {
        DeployMessage {
            component_type: change.component_type.clone(),
            full_name: change.full_name.clone(),
            file_name: change.file_name.clone(),
            success: true,
            created: change.action == Action::Created,
            changed: change.action == Action::Changed,
            deleted: false,
            problem: None,
            problem_type: None,
            line_number: None,
            column_number: None,
        }
    }

    pub fn failure(problem: &DeployProblem) -> DeployMessage {
        DeployMessage {
            component_type: problem.component_type.clone(),
            full_name: problem.full_name.clone(),
            file_name: problem.file_name.clone(),
            success: false,
            created: false,
            changed: false,
            deleted: false,
            problem: Some(problem.problem.clone()),
            problem_type: Some("Error".into()),
            line_number: problem.line_number,
            column_number: problem.column_number,
        }
    }

    /// The component's state, as `sf project deploy start` labels it.
    pub fn state(&self) -> &'static str {
        match (self.success, self.created, self.changed) {
            (false, _, _) => "Failed",
            (true, true, _) => "Created",
            (true, false, true) => "Changed",
            (true, false, false) => "Unchanged",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployDetails {
    pub component_successes: Vec<DeployMessage>,
    pub component_failures: Vec<DeployMessage>,
}

/// The Metadata API's `DeployResult`, as `POST /admin/v1/metadata/deploy` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployResult {
    pub success: bool,
    /// `Succeeded` or `Failed`.
    pub status: String,
    /// A dry run (`checkOnly` in the Metadata API's `DeployOptions`).
    pub check_only: bool,
    pub done: bool,
    pub number_components_total: usize,
    pub number_components_deployed: usize,
    pub number_component_errors: usize,
    pub details: DeployDetails,
}

impl DeployResult {
    pub fn succeeded(check_only: bool, changes: &[ComponentChange]) -> DeployResult {
        DeployResult {
            success: true,
            status: "Succeeded".into(),
            check_only,
            done: true,
            number_components_total: changes.len(),
            number_components_deployed: changes.len(),
            number_component_errors: 0,
            details: DeployDetails {
                component_successes: changes.iter().map(DeployMessage::success).collect(),
                component_failures: vec![],
            },
        }
    }

    pub fn failed(check_only: bool, problems: &[DeployProblem]) -> DeployResult {
        DeployResult {
            success: false,
            status: "Failed".into(),
            check_only,
            done: true,
            number_components_total: problems.len(),
            number_components_deployed: 0,
            number_component_errors: problems.len(),
            details: DeployDetails {
                component_successes: vec![],
                component_failures: problems.iter().map(DeployMessage::failure).collect(),
            },
        }
    }
}

// ---- where a component lives in the project ------------------------------------------------

/// The folder and file suffix of each type in a DX project's package directory.
fn layout(component_type: &str) -> (&'static str, &'static str) {
    match component_type {
        ct::EXTERNAL_CLIENT_APPLICATION => ("externalClientApps", ".eca-meta.xml"),
        ct::CONNECTED_APP => ("connectedApps", ".connectedApp-meta.xml"),
        ct::PERMISSION_SET => ("permissionsets", ".permissionset-meta.xml"),
        ct::CUSTOM_OBJECT => ("objects", ".object-meta.xml"),
        ct::CUSTOM_FIELD => ("objects", ".field-meta.xml"),
        ct::CONVERSATION_CHANNEL_DEFINITION => (
            "conversationChannelDefinitions",
            ".ConversationChannelDefinition-meta.xml",
        ),
        _ => ("messagingChannels", ".messagingChannel-meta.xml"),
    }
}

/// The project file that carries a component: the one in the project whose folder and name
/// fit, else where `sf` would put it in the default package directory.
pub fn file_name(files: &Files, component_type: &str, full_name: &str) -> String {
    let (folder, suffix) = layout(component_type);
    let tail = match component_type {
        ct::CUSTOM_OBJECT => format!("{folder}/{full_name}/{full_name}{suffix}"),
        ct::CUSTOM_FIELD => {
            let (object, field) = full_name.split_once('.').unwrap_or((full_name, ""));
            format!("{folder}/{object}/fields/{field}{suffix}")
        }
        _ => format!("{folder}/{full_name}{suffix}"),
    };
    let wanted = format!("/{}", tail.to_lowercase());
    files
        .keys()
        .find(|path| format!("/{}", path.to_lowercase()).ends_with(&wanted))
        .cloned()
        .or_else(|| {
            // Another suffix for the same folder and name (e.g. an ECA's settings files).
            let prefix = format!("/{folder}/{}.", full_name.to_lowercase());
            files
                .keys()
                .find(|path| format!("/{}", path.to_lowercase()).contains(&prefix))
                .cloned()
        })
        .unwrap_or_else(|| format!("{DEFAULT_PACKAGE_DIR}/{tail}"))
}

/// Which of an External Client App's five files a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppPart {
    /// `externalClientApps/X.eca-meta.xml` (label, contact email, description).
    Header,
    /// `extlClntAppOauthSettings/X.ecaOauth-meta.xml` (scopes).
    OauthSettings,
    /// `extlClntAppGlobalOauthSets/X.ecaGlblOauth-meta.xml` (callback URLs, certificate,
    /// consumer key and secret).
    GlobalOauth,
    /// `extlClntAppOauthPolicies/X.ecaOauthPlcy-meta.xml` (permitted users, profiles,
    /// permission sets, run-as user, session timeout).
    OauthPolicies,
}

/// The project file of an app that carries `part`: for an ECA, the settings or policies file
/// whose `externalClientApplication` names it (any file name deploys); a connected app is one
/// file.
pub fn app_file_name(files: &Files, kind: AppKind, api_name: &str, part: AppPart) -> String {
    let header = || match kind {
        AppKind::ExternalClientApp => file_name(files, ct::EXTERNAL_CLIENT_APPLICATION, api_name),
        AppKind::ConnectedApp => file_name(files, ct::CONNECTED_APP, api_name),
    };
    let (folder, suffix) = match (kind, part) {
        (AppKind::ConnectedApp, _) | (_, AppPart::Header) => return header(),
        (_, AppPart::OauthSettings) => ("extlClntAppOauthSettings", ".ecaOauth-meta.xml"),
        (_, AppPart::GlobalOauth) => ("extlClntAppGlobalOauthSets", ".ecaGlblOauth-meta.xml"),
        (_, AppPart::OauthPolicies) => ("extlClntAppOauthPolicies", ".ecaOauthPlcy-meta.xml"),
    };
    let element = format!("<externalClientApplication>{api_name}</externalClientApplication>");
    files
        .iter()
        .find(|(path, contents)| {
            format!("/{path}").contains(&format!("/{folder}/"))
                && path.ends_with(suffix)
                && contents.contains(&element)
        })
        .map(|(path, _)| path.clone())
        .unwrap_or_else(header)
}

// ---- merging an incoming record into the stored one ----------------------------------------

fn same_pem(a: &str, b: &str) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    squash(a) == squash(b)
}

/// `incoming` as it would replace `existing`: the record id, kind, API name (fixed at creation),
/// dates, distribution state, read-only reason, a consumer key or secret the files leave out,
/// and the parsed certificate when the PEM is the same are the stored ones.
pub fn merged_app(existing: &App, incoming: &App) -> App {
    let mut app = incoming.clone();
    app.id = existing.id.clone();
    app.kind = existing.kind;
    app.api_name = existing.api_name.clone();
    app.created_at = existing.created_at;
    app.updated_at = existing.updated_at;
    app.read_only_reason = existing.read_only_reason.clone();
    if app.distribution_state.is_none() {
        app.distribution_state = existing.distribution_state.clone();
    }
    if app.oauth.consumer_key.trim().is_empty() {
        app.oauth.consumer_key = existing.oauth.consumer_key.clone();
    }
    if app.oauth.consumer_secret.is_none() {
        app.oauth.consumer_secret = existing.oauth.consumer_secret.clone();
    }
    if let (Some(old), Some(new)) = (&existing.oauth.certificate, &incoming.oauth.certificate) {
        if same_pem(&old.pem, &new.pem) {
            app.oauth.certificate = existing.oauth.certificate.clone();
        }
    }
    app
}

/// Permissions sorted and deduplicated, object permissions in byoc-core's normal form, the label
/// defaulting to the name: the form the store keeps.
pub fn normalized_permission_set(ps: &PermissionSet) -> PermissionSet {
    let mut ps = ps.clone();
    ps.permissions.sort();
    ps.permissions.dedup();
    if let Ok(ops) = byoc_core::permissions::normalize_object_permissions(&ps.object_permissions) {
        ps.object_permissions = ops;
    }
    if ps.label.trim().is_empty() {
        ps.label = ps.name.clone();
    }
    ps
}

pub fn merged_permission_set(existing: &PermissionSet, incoming: &PermissionSet) -> PermissionSet {
    let mut ps = normalized_permission_set(incoming);
    ps.id = existing.id.clone();
    ps.name = existing.name.clone();
    ps.created_at = existing.created_at;
    ps
}

pub fn merged_platform_event(
    existing: &PlatformEventDefinition,
    incoming: &PlatformEventDefinition,
) -> PlatformEventDefinition {
    let mut e = incoming.clone();
    e.id = existing.id.clone();
    e.full_name = existing.full_name.clone();
    e.created_at = existing.created_at;
    e.last_modified_at = existing.last_modified_at;
    // Fields the org has and the project leaves out stay: deploys never delete.
    for old in &existing.fields {
        if !e
            .fields
            .iter()
            .any(|f| f.full_name.eq_ignore_ascii_case(&old.full_name))
        {
            e.fields.push(old.clone());
        }
    }
    e
}

/// A CCD as it would replace `existing` (its linked app compared by [`same_link`], not here).
pub fn merged_ccd(
    existing: &ConversationChannelDefinition,
    incoming: &ConversationChannelDefinition,
) -> ConversationChannelDefinition {
    let mut c = incoming.clone();
    c.id = existing.id.clone();
    c.created_at = existing.created_at;
    c.last_modified_at = existing.last_modified_at;
    c
}

/// A channel as it would replace `existing` (its CCD merged by [`merged_ccd`]).
pub fn merged_channel(
    existing: &MessagingChannel,
    incoming: &MessagingChannel,
) -> MessagingChannel {
    let mut c = incoming.clone();
    c.id = existing.id.clone();
    c.developer_name = existing.developer_name.clone();
    c.created_at = existing.created_at;
    c.conversation_channel_definition = match (
        &existing.conversation_channel_definition,
        &incoming.conversation_channel_definition,
    ) {
        (Some(old), Some(new)) => Some(merged_ccd(old, new)),
        (_, new) => new.clone(),
    };
    c
}

/// Two links name the same app: same API name (case-insensitive) and kind.
pub fn same_link(a: &Option<AppRef>, b: &Option<AppRef>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.kind == b.kind && a.api_name.eq_ignore_ascii_case(&b.api_name),
        _ => false,
    }
}

fn same_ccd(a: &ConversationChannelDefinition, b: &ConversationChannelDefinition) -> bool {
    let unlinked = |c: &ConversationChannelDefinition| ConversationChannelDefinition {
        linked_app: None,
        ..c.clone()
    };
    unlinked(a) == unlinked(b) && same_link(&a.linked_app, &b.linked_app)
}

fn channel_fields(c: &MessagingChannel) -> MessagingChannel {
    MessagingChannel {
        conversation_channel_definition: None,
        ..c.clone()
    }
}

// ---- the plan --------------------------------------------------------------------------------

/// Everything the org and the project define, for reference checks.
struct Names<'a> {
    events: BTreeMap<String, &'a PlatformEventDefinition>,
    permission_sets: BTreeSet<String>,
    apps: Vec<&'a App>,
}

impl<'a> Names<'a> {
    fn new(current: &'a OrgSetup, incoming: &'a OrgSetup) -> Names<'a> {
        let mut events = BTreeMap::new();
        // The project's definitions win over the org's: they are what the org will have.
        for e in current
            .platform_events
            .iter()
            .chain(&incoming.platform_events)
        {
            events.insert(e.full_name.to_lowercase(), e);
        }
        let permission_sets = current
            .permission_sets
            .iter()
            .chain(&incoming.permission_sets)
            .map(|p| p.name.to_lowercase())
            .collect();
        let apps = incoming
            .external_client_apps
            .iter()
            .chain(&incoming.connected_apps)
            .chain(&current.external_client_apps)
            .chain(&current.connected_apps)
            .collect();
        Names {
            events,
            permission_sets,
            apps,
        }
    }

    /// The app a CCD's link names: by API name (then label), its kind first.
    fn app(&self, link: &AppRef) -> Option<&'a App> {
        let fits = |a: &App| {
            a.api_name.eq_ignore_ascii_case(&link.api_name)
                || (!link.name.is_empty() && a.name.eq_ignore_ascii_case(&link.name))
                || (link.api_name.is_empty() && a.api_name.eq_ignore_ascii_case(&link.name))
        };
        self.apps
            .iter()
            .find(|a| a.kind == link.kind && fits(a))
            .or_else(|| self.apps.iter().find(|a| fits(a)))
            .copied()
    }
}

/// The link a CCD should carry: the app it names, as found in the org or the project (record id
/// empty for an app the deploy creates).
pub fn resolve_link(current: &OrgSetup, incoming: &OrgSetup, link: &AppRef) -> Option<AppRef> {
    Names::new(current, incoming).app(link).map(|a| AppRef {
        kind: a.kind,
        id: a.id.clone(),
        name: a.name.clone(),
        api_name: a.api_name.clone(),
    })
}

struct Planner<'a> {
    files: &'a Files,
    plan: Plan,
}

impl Planner<'_> {
    fn change(&mut self, component_type: &str, full_name: &str, action: Action) {
        self.plan.changes.push(ComponentChange {
            component_type: component_type.into(),
            full_name: full_name.into(),
            file_name: file_name(self.files, component_type, full_name),
            action,
        });
    }

    fn problem(&mut self, component_type: &str, full_name: &str, problem: String) {
        let file_name = file_name(self.files, component_type, full_name);
        self.problem_in(file_name, component_type, full_name, problem);
    }

    fn problem_in(
        &mut self,
        file_name: String,
        component_type: &str,
        full_name: &str,
        problem: String,
    ) {
        let p = DeployProblem {
            file_name,
            component_type: component_type.into(),
            full_name: full_name.into(),
            problem,
            line_number: None,
            column_number: None,
        };
        if !self.plan.problems.contains(&p) {
            self.plan.problems.push(p);
        }
    }

    /// Each full name once per type in the project.
    fn unique<'n>(&mut self, component_type: &str, names: impl IntoIterator<Item = &'n str>) {
        let mut seen = BTreeSet::new();
        for name in names {
            if !seen.insert(name.to_lowercase()) {
                self.problem(
                    component_type,
                    name,
                    format!("Duplicate name: the project defines the {component_type} {name} more than once."),
                );
            }
        }
    }
}

/// Compare the org's setup with a project's: what each component's deploy would do, and every
/// problem that crosses components. `files` gives the problems and changes their file names.
pub fn plan(current: &OrgSetup, incoming: &OrgSetup, files: &Files) -> Plan {
    let mut p = Planner {
        files,
        plan: Plan::default(),
    };
    let names = Names::new(current, incoming);

    // Apps.
    for (kind, ty, incoming_apps, current_apps) in [
        (
            AppKind::ExternalClientApp,
            ct::EXTERNAL_CLIENT_APPLICATION,
            &incoming.external_client_apps,
            &current.external_client_apps,
        ),
        (
            AppKind::ConnectedApp,
            ct::CONNECTED_APP,
            &incoming.connected_apps,
            &current.connected_apps,
        ),
    ] {
        p.unique(ty, incoming_apps.iter().map(|a| a.api_name.as_str()));
        let mut labels = BTreeSet::new();
        for app in incoming_apps {
            let existing = current_apps
                .iter()
                .find(|a| a.api_name.eq_ignore_ascii_case(&app.api_name));
            if !labels.insert(app.name.trim().to_lowercase()) {
                p.problem(
                    ty,
                    &app.api_name,
                    format!(
                        "Duplicate value: the project has another {} labeled {}.",
                        kind.label(),
                        app.name
                    ),
                );
            }
            if let Some(other) = current_apps.iter().find(|a| {
                a.name.eq_ignore_ascii_case(app.name.trim())
                    && Some(a.id.as_str()) != existing.map(|e| e.id.as_str())
            }) {
                p.problem(
                    ty,
                    &app.api_name,
                    format!(
                        "Duplicate value: the {} {} ({}) in the org already has the label {}.",
                        kind.label(),
                        other.api_name,
                        other.name,
                        app.name
                    ),
                );
            }
            check_app_references(&mut p, &names, ty, app);
            let action = match existing {
                None => Action::Created,
                Some(e) if merged_app(e, app) == *e => Action::Unchanged,
                Some(_) => Action::Changed,
            };
            p.change(ty, &app.api_name, action);
        }
    }
    check_consumer_keys(&mut p, current, incoming);

    // Permission sets.
    p.unique(
        ct::PERMISSION_SET,
        incoming.permission_sets.iter().map(|s| s.name.as_str()),
    );
    for ps in &incoming.permission_sets {
        for op in &ps.object_permissions {
            if !names.events.contains_key(&op.object.trim().to_lowercase()) {
                p.problem(
                    ct::PERMISSION_SET,
                    &ps.name,
                    format!(
                        "In field: object - no CustomObject named {} found",
                        op.object
                    ),
                );
            }
        }
        let existing = current
            .permission_sets
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&ps.name));
        let action = match existing {
            None => Action::Created,
            Some(e) if merged_permission_set(e, ps) == normalized_permission_set(e) => {
                Action::Unchanged
            }
            Some(_) => Action::Changed,
        };
        p.change(ct::PERMISSION_SET, &ps.name, action);
    }

    // Platform events and their fields.
    p.unique(
        ct::CUSTOM_OBJECT,
        incoming
            .platform_events
            .iter()
            .map(|e| e.full_name.as_str()),
    );
    for event in &incoming.platform_events {
        let existing = current
            .platform_events
            .iter()
            .find(|e| e.full_name.eq_ignore_ascii_case(&event.full_name));
        let event_only = |e: &PlatformEventDefinition| PlatformEventDefinition {
            fields: vec![],
            ..e.clone()
        };
        let action = match existing {
            None => Action::Created,
            Some(e) if event_only(&merged_platform_event(e, event)) == event_only(e) => {
                Action::Unchanged
            }
            Some(_) => Action::Changed,
        };
        p.change(ct::CUSTOM_OBJECT, &event.full_name, action);
        let field_names: Vec<String> = event
            .fields
            .iter()
            .map(|f| format!("{}.{}", event.full_name, f.full_name))
            .collect();
        p.unique(ct::CUSTOM_FIELD, field_names.iter().map(String::as_str));
        for field in &event.fields {
            let old = existing.and_then(|e| {
                e.fields
                    .iter()
                    .find(|f| f.full_name.eq_ignore_ascii_case(&field.full_name))
            });
            let action = match old {
                None => Action::Created,
                Some(old) if old == field => Action::Unchanged,
                Some(_) => Action::Changed,
            };
            p.change(
                ct::CUSTOM_FIELD,
                &format!("{}.{}", event.full_name, field.full_name),
                action,
            );
        }
        // Fields the org has and the project leaves out stay (deploys never delete).
    }

    // Channels and CCDs.
    plan_channels(&mut p, &names, current, incoming);
    check_org_ccds(&mut p, current, incoming);
    p.plan
}

/// The org's CCDs the project leaves out must still fit an event the project changes (a field
/// retyped to Number would break their outbound events): byoc-core's rule, reported against
/// the event.
fn check_org_ccds(p: &mut Planner<'_>, current: &OrgSetup, incoming: &OrgSetup) {
    let in_project: BTreeSet<String> = incoming
        .channels
        .iter()
        .filter_map(|c| c.conversation_channel_definition.as_ref())
        .chain(&incoming.standalone_ccds)
        .map(|c| c.developer_name.to_lowercase())
        .collect();
    let org_ccds = current
        .channels
        .iter()
        .filter_map(|c| c.conversation_channel_definition.as_ref())
        .chain(&current.standalone_ccds)
        .filter(|c| !in_project.contains(&c.developer_name.to_lowercase()));
    for ccd in org_ccds {
        let Some(event) = incoming
            .platform_events
            .iter()
            .find(|e| e.full_name.eq_ignore_ascii_case(&ccd.custom_platform_event))
        else {
            continue;
        };
        let after = match current
            .platform_events
            .iter()
            .find(|e| e.full_name.eq_ignore_ascii_case(&event.full_name))
        {
            Some(old) => merged_platform_event(old, event),
            None => event.clone(),
        };
        if let Some(problem) = byoc_core::setup::platform_events::ccd_problem(&after, ccd) {
            p.problem(ct::CUSTOM_OBJECT, &event.full_name, problem);
        }
    }
}

/// Profiles, permission sets and the run-as user an app's policies name.
fn check_app_references(p: &mut Planner<'_>, names: &Names<'_>, ty: &str, app: &App) {
    let file = app_file_name(p.files, app.kind, &app.api_name, AppPart::OauthPolicies);
    for profile in &app.policies.profiles {
        if byoc_core::permissions::find_profile(profile).is_none() {
            p.problem_in(
                file.clone(),
                ty,
                &app.api_name,
                format!("In field: profileName - no Profile named {profile} found"),
            );
        }
    }
    for set in &app.policies.permission_sets {
        if !names.permission_sets.contains(&set.to_lowercase()) {
            p.problem_in(
                file.clone(),
                ty,
                &app.api_name,
                format!("In field: permissionSetName - no PermissionSet named {set} found"),
            );
        }
    }
}

fn check_consumer_keys(p: &mut Planner<'_>, current: &OrgSetup, incoming: &OrgSetup) {
    let mut seen: BTreeMap<&str, (&str, AppKind)> = BTreeMap::new();
    for app in incoming
        .external_client_apps
        .iter()
        .chain(&incoming.connected_apps)
    {
        let key = app.oauth.consumer_key.trim();
        if key.is_empty() {
            continue;
        }
        let ty = match app.kind {
            AppKind::ExternalClientApp => ct::EXTERNAL_CLIENT_APPLICATION,
            AppKind::ConnectedApp => ct::CONNECTED_APP,
        };
        let file = app_file_name(p.files, app.kind, &app.api_name, AppPart::GlobalOauth);
        if let Some((other, _)) = seen.insert(key, (&app.api_name, app.kind)) {
            p.problem_in(
                file.clone(),
                ty,
                &app.api_name,
                format!("Duplicate value: the consumer key of {} is also the consumer key of {other} in the project.", app.api_name),
            );
        }
        // An org app of another name (or kind) with this key: two apps can't share one.
        if let Some(other) = current
            .external_client_apps
            .iter()
            .chain(&current.connected_apps)
            .find(|o| {
                o.oauth.consumer_key == key
                    && !(o.kind == app.kind && o.api_name.eq_ignore_ascii_case(&app.api_name))
            })
        {
            p.problem_in(
                file,
                ty,
                &app.api_name,
                format!(
                    "Duplicate value: the consumer key of {} belongs to the {} {} in the org.",
                    app.api_name,
                    other.kind.label(),
                    other.api_name
                ),
            );
        }
    }
}

fn check_ccd_references(
    p: &mut Planner<'_>,
    names: &Names<'_>,
    ccd: &ConversationChannelDefinition,
) {
    let ty = ct::CONVERSATION_CHANNEL_DEFINITION;
    let name = ccd.developer_name.as_str();
    match names.events.get(&ccd.custom_platform_event.to_lowercase()) {
        None => p.problem(
            ty,
            name,
            format!(
                "In field: customPlatformEvent - no CustomObject named {} found",
                ccd.custom_platform_event
            ),
        ),
        Some(event) => {
            for (element, field) in [
                ("customEventPayloadField", &ccd.custom_event_payload_field),
                ("customEventTypeField", &ccd.custom_event_type_field),
                (
                    "customEventChannelAddressIdField",
                    &ccd.custom_event_channel_address_id_field,
                ),
                (
                    "customEventRecipientField",
                    &ccd.custom_event_recipient_field,
                ),
            ] {
                if field.trim().is_empty() {
                    continue;
                }
                match event
                    .fields
                    .iter()
                    .find(|f| f.full_name.eq_ignore_ascii_case(field))
                {
                    None if byoc_core::setup::platform_events::optional_ccd_field(
                        element, field,
                    ) => {}
                    None => p.problem(
                        ty,
                        name,
                        format!(
                            "In field: {element} - no CustomField named {}.{field} found",
                            event.full_name
                        ),
                    ),
                    Some(f) if !matches!(f.field_type, FieldType::Text | FieldType::LongTextArea) => {
                        p.problem(
                            ty,
                            name,
                            format!(
                                "In field: {element} - {}.{field} is a {} field; the Conversation Channel Definition needs a Text or Text Area (Long) field.",
                                event.full_name,
                                f.field_type.label()
                            ),
                        )
                    }
                    Some(_) => {}
                }
            }
        }
    }
    if let Some(link) = &ccd.linked_app {
        if names.app(link).is_none() {
            let shown = if link.api_name.is_empty() {
                &link.name
            } else {
                &link.api_name
            };
            p.problem(
                ty,
                name,
                format!("In field: connectedApp - no ExternalClientApplication or ConnectedApp named {shown} found"),
            );
        }
    }
}

fn plan_channels(p: &mut Planner<'_>, names: &Names<'_>, current: &OrgSetup, incoming: &OrgSetup) {
    let ccd_ty = ct::CONVERSATION_CHANNEL_DEFINITION;
    let chan_ty = ct::MESSAGING_CHANNEL;
    p.unique(
        chan_ty,
        incoming.channels.iter().map(|c| c.developer_name.as_str()),
    );
    p.unique(
        ccd_ty,
        incoming
            .channels
            .iter()
            .filter_map(|c| c.conversation_channel_definition.as_ref())
            .chain(&incoming.standalone_ccds)
            .map(|c| c.developer_name.as_str()),
    );
    let org_channel_of_ccd = |dev: &str| {
        current.channels.iter().find(|c| {
            c.conversation_channel_definition
                .as_ref()
                .is_some_and(|d| d.developer_name.eq_ignore_ascii_case(dev))
        })
    };
    let mut addresses: BTreeMap<String, &str> = BTreeMap::new();
    for channel in &incoming.channels {
        let name = channel.developer_name.as_str();
        let existing = current
            .channels
            .iter()
            .find(|c| c.developer_name.eq_ignore_ascii_case(name));
        let address = channel.channel_address_identifier.trim();
        if let Some(other) = addresses.insert(address.to_string(), name) {
            p.problem(chan_ty, name, format!("Duplicate value: the channel address {address} is also used by the messaging channel {other} in the project."));
        }
        if let Some(other) = current.channels.iter().find(|c| {
            c.channel_address_identifier == address
                && Some(c.id.as_str()) != existing.map(|e| e.id.as_str())
        }) {
            p.problem(chan_ty, name, format!("Duplicate value: the channel address {address} is already used by the messaging channel {} in the org.", other.developer_name));
        }
        if channel.conversation_channel_definition.is_some() != channel.channel_type.is_byoc() {
            p.problem(chan_ty, name, match &channel.conversation_channel_definition {
                Some(_) => format!("{} channels have no Conversation Channel Definition; only BYOC channels are built on one.", channel.channel_type.label()),
                None => format!("A {} channel needs a Conversation Channel Definition.", channel.channel_type.label()),
            });
        }
        let channel_action = match existing {
            None => Action::Created,
            Some(e) if channel_fields(&merged_channel(e, channel)) == channel_fields(e) => {
                Action::Unchanged
            }
            Some(_) => Action::Changed,
        };
        p.change(chan_ty, name, channel_action);
        let Some(ccd) = &channel.conversation_channel_definition else {
            continue;
        };
        check_ccd_references(p, names, ccd);
        let dev = ccd.developer_name.as_str();
        let old_ccd = match existing {
            Some(e) => match &e.conversation_channel_definition {
                Some(old) if !old.developer_name.eq_ignore_ascii_case(dev) => {
                    p.problem(ccd_ty, dev, format!("The messaging channel {name} uses the Conversation Channel Definition {}: its DeveloperName can't change.", old.developer_name));
                    continue;
                }
                old => old.as_ref(),
            },
            None => {
                if let Some(other) = org_channel_of_ccd(dev) {
                    p.problem(ccd_ty, dev, format!("The messaging channel {} already uses the Conversation Channel Definition {dev}: a Conversation Channel Definition serves one channel.", other.developer_name));
                    continue;
                }
                // A new channel built on a standalone CCD of the org takes it over.
                current
                    .standalone_ccds
                    .iter()
                    .find(|c| c.developer_name.eq_ignore_ascii_case(dev))
            }
        };
        let action = match old_ccd {
            None => Action::Created,
            Some(old) if same_ccd(&merged_ccd(old, ccd), old) => Action::Unchanged,
            Some(_) => Action::Changed,
        };
        p.change(ccd_ty, dev, action);
    }
    for ccd in &incoming.standalone_ccds {
        let dev = ccd.developer_name.as_str();
        check_ccd_references(p, names, ccd);
        if let Some(channel) = org_channel_of_ccd(dev) {
            let in_project = incoming.channels.iter().any(|c| {
                c.developer_name
                    .eq_ignore_ascii_case(&channel.developer_name)
            });
            if !in_project {
                p.problem(ccd_ty, dev, format!("The messaging channel {} uses the Conversation Channel Definition {dev}; deploy it with its channel.", channel.developer_name));
            }
            continue;
        }
        let existing = current
            .standalone_ccds
            .iter()
            .find(|c| c.developer_name.eq_ignore_ascii_case(dev));
        let action = match existing {
            None => Action::Created,
            Some(old) if same_ccd(&merged_ccd(old, ccd), old) => Action::Unchanged,
            Some(_) => Action::Changed,
        };
        p.change(ccd_ty, dev, action);
    }
}

#[cfg(test)]
mod tests;
