//! Metadata deploy and retrieve (docs/metadata.md): a DX project in, all or nothing; the org's
//! setup out as a DX project.
//!
//! - `GET /admin/v1/metadata/retrieve[?includeSecrets=true]`: the org's setup as files
//!   (`{"files": {path: contents}}`, `byoc_metadata::retrieve`). Needs *View Setup and
//!   Configuration*; consumer secrets only when asked, by a user who may manage the apps, and the
//!   audit trail records that they were read.
//! - `POST /admin/v1/metadata/deploy[?dryRun=true]` with `{"files": {...}}`: validated whole, then
//!   applied in one store transaction; the answer is the Metadata API's `DeployResult` (200 when
//!   it succeeded, 400 with `success: false` and every `componentFailures` entry when it didn't).
//!
//! [`deploy`] is also what `byoc serve --seed DIR` builds the org with on first start.
//!
//! How a deploy works: [`read_org`] reads the org into an [`OrgSetup`]; `byoc_metadata::parse`
//! reads the project; `byoc_metadata::plan::plan` compares them and checks what crosses
//! components; then each created or changed component goes through the same byoc-core command
//! a single Setup change uses (permission for the acting user, field rules, audit entries), and
//! every problem of every component is collected. Only when there is none is the one
//! [`ChangeSet`] applied. New records get ids, new apps a consumer key and secret unless the files
//! carry them; existing records keep their ids, keys, secrets and dates.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use byoc_core::setup::{self, ccd::CcdInput, NewAppIds, Outcome};
use byoc_core::{audit, ids, Actor, SetupAction, SetupError};
use byoc_metadata::plan::{self, component_type as ct, Action, ComponentChange, DeployResult};
use byoc_metadata::{DeployProblem, Files, OrgSetup, RetrieveOptions};
use byoc_proto::admin::{
    AppInput, CustomFieldInput, NewChannel, NewPermissionSet, PlatformEventInput, PolicyInput,
    UpdatePermissionSet,
};
use byoc_proto::setup::{
    App, AppKind, AppRef, AuditEntry, Certificate, ConversationChannelDefinition, CustomField,
    MessagingChannel, Org, PermissionSet, PlatformEventDefinition,
};
use byoc_store::ChangeSet;
use serde::{Deserialize, Serialize};

use crate::admin_api::{Acting, AdminState, ApiError, Body, SetupViewer};
use crate::setup_service::{
    parse_certificate, random_id, ServiceError, SetupService, CCD_KEY_PREFIX,
    REVOCATION_MARGIN_MILLIS,
};

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
    #[error("the deploy failed with {} problem(s): {}", .0.len(), join(.0))]
    Problems(Vec<DeployProblem>),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

fn join(problems: &[DeployProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The largest project `POST /admin/v1/metadata/deploy` reads: the JSON of a DX project with
/// hundreds of components (a component's files are a few KiB).
pub const DEPLOY_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The org's setup as the components a DX project carries.
pub async fn read_org(setup: &SetupService) -> Result<OrgSetup, ServiceError> {
    let store = setup.store();
    Ok(OrgSetup {
        external_client_apps: store.apps(AppKind::ExternalClientApp).await?,
        connected_apps: store.apps(AppKind::ConnectedApp).await?,
        permission_sets: store.permission_sets().await?,
        platform_events: store.platform_events().await?,
        channels: store.channels().await?,
        standalone_ccds: store.standalone_ccds().await?,
    })
}

/// The org's setup as a DX project's files. Consumer secrets only with `include_secrets`, for a
/// user who may manage every kind of app the org has (Setup's *Manage Consumer Details*), and
/// recorded in the setup audit trail.
pub async fn retrieve(
    setup: &SetupService,
    actor: &Actor,
    include_secrets: bool,
) -> Result<Files, ServiceError> {
    actor.authorize(SetupAction::ViewSetup)?;
    let mut org = read_org(setup).await?;
    if include_secrets {
        if !org.external_client_apps.is_empty() {
            actor.authorize(SetupAction::ManageExternalClientApps)?;
        }
        if !org.connected_apps.is_empty() {
            actor.authorize(SetupAction::ManageConnectedApps)?;
        }
        let entry = audit::entry(
            setup.now(),
            &actor.user.username,
            setup::section::EXTERNAL_CLIENT_APPS,
            "Retrieved the org's metadata with consumer secrets",
            vec![],
        );
        setup.store().apply(ChangeSet::new().audit([entry])).await?;
    } else {
        // Never written unless asked, whatever the writer does with them.
        for app in org
            .external_client_apps
            .iter_mut()
            .chain(org.connected_apps.iter_mut())
        {
            app.oauth.consumer_secret = None;
        }
    }
    Ok(byoc_metadata::retrieve(
        &org,
        &RetrieveOptions { include_secrets },
    ))
}

/// Deploy a DX project's files into the org as `actor`, all or nothing.
pub async fn deploy(
    setup: &SetupService,
    actor: &Actor,
    files: &Files,
    options: &DeployOptions,
) -> Result<DeployOutcome, DeployFailure> {
    let incoming = byoc_metadata::parse(files).map_err(DeployFailure::Problems)?;
    deploy_setup(setup, actor, &incoming, files, options).await
}

/// [`deploy`] of a parsed project (`files` name the components' files in problems and changes).
pub async fn deploy_setup(
    setup: &SetupService,
    actor: &Actor,
    incoming: &OrgSetup,
    files: &Files,
    options: &DeployOptions,
) -> Result<DeployOutcome, DeployFailure> {
    let current = read_org(setup).await?;
    let plan = plan::plan(&current, incoming, files);
    let org = setup.org().await?;
    let users: BTreeSet<String> = setup
        .store()
        .users()
        .await
        .map_err(ServiceError::from)?
        .into_iter()
        .map(|u| u.username.to_lowercase())
        .collect();
    let mut b = Builder {
        actor,
        now: setup.now(),
        org: &org,
        files,
        current: &current,
        users,
        problems: plan.problems.clone(),
        change: ChangeSet::new(),
        audit: Vec::new(),
        no_op: BTreeSet::new(),
        sets: current.permission_sets.clone(),
        apps: Vec::new(),
        renamed: BTreeMap::new(),
        written_channels: BTreeSet::new(),
    };
    b.permission_sets(incoming);
    b.platform_events(incoming);
    b.apps(incoming);
    b.channels(incoming);
    b.standalone_ccds(incoming);
    b.relink_renamed_apps();
    if !b.problems.is_empty() {
        return Err(DeployFailure::Problems(b.problems));
    }
    let changes: Vec<ComponentChange> = plan
        .changes
        .into_iter()
        .map(|mut c| {
            if b.no_op
                .contains(&(c.component_type.clone(), c.full_name.to_lowercase()))
            {
                c.action = Action::Unchanged;
            }
            c
        })
        .collect();
    if !options.dry_run {
        let change = b.change.audit(b.audit);
        setup.apply_revoking(change).await?;
    }
    Ok(DeployOutcome {
        dry_run: options.dry_run,
        changes,
    })
}

/// Builds the records a deploy writes, component by component, collecting every problem.
struct Builder<'a> {
    actor: &'a Actor,
    now: i64,
    org: &'a Org,
    files: &'a Files,
    current: &'a OrgSetup,
    /// Usernames of the org (lowercase), for run-as users.
    users: BTreeSet<String>,
    problems: Vec<DeployProblem>,
    change: ChangeSet,
    audit: Vec<AuditEntry>,
    /// Components the plan called changed that the org's rules left as they are.
    no_op: BTreeSet<(String, String)>,
    /// Permission sets after the deploy.
    sets: Vec<PermissionSet>,
    /// Apps after the deploy (the project's and the org's).
    apps: Vec<App>,
    /// App id → new label, for CCD links of channels the project doesn't carry.
    renamed: BTreeMap<String, String>,
    /// Channel ids this deploy writes.
    written_channels: BTreeSet<String>,
}

impl Builder<'_> {
    fn problem(&mut self, component_type: &str, full_name: &str, problem: impl Into<String>) {
        let p = DeployProblem {
            file_name: plan::file_name(self.files, component_type, full_name),
            component_type: component_type.into(),
            full_name: full_name.into(),
            problem: problem.into(),
            line_number: None,
            column_number: None,
        };
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    /// A problem of an app, in the file that carries `part` of it.
    fn app_problem(
        &mut self,
        ty: &str,
        app: &App,
        part: plan::AppPart,
        problem: impl Into<String>,
    ) {
        let kind = match ty {
            ct::CONNECTED_APP => AppKind::ConnectedApp,
            _ => AppKind::ExternalClientApp,
        };
        let p = DeployProblem {
            file_name: plan::app_file_name(self.files, kind, &app.api_name, part),
            component_type: ty.into(),
            full_name: app.api_name.clone(),
            problem: problem.into(),
            line_number: None,
            column_number: None,
        };
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    /// An app command's record, or its refusal as the app's problem, in the file that carries
    /// the field the refusal names.
    fn app_ok<T>(
        &mut self,
        ty: &str,
        app: &App,
        policies: bool,
        r: Result<Outcome<T>, SetupError>,
    ) -> Option<T> {
        match r {
            Ok(out) => {
                self.audit.extend(out.audit);
                Some(out.record)
            }
            // The plan named profiles and permission sets that don't exist, in Salesforce's words.
            Err(SetupError::NotFound {
                kind: "Profile" | "Permission set",
                ..
            }) if policies => None,
            Err(e) => {
                let part = match &e {
                    _ if policies => plan::AppPart::OauthPolicies,
                    SetupError::InvalidField {
                        field: "callbackUrls" | "certificate",
                        ..
                    } => plan::AppPart::GlobalOauth,
                    SetupError::InvalidField {
                        field: "scopes", ..
                    } => plan::AppPart::OauthSettings,
                    _ => plan::AppPart::Header,
                };
                self.app_problem(ty, app, part, e.to_string());
                None
            }
        }
    }

    /// The record of a byoc-core command, or its refusal as the component's problem.
    fn ok<T>(
        &mut self,
        component_type: &str,
        full_name: &str,
        r: Result<Outcome<T>, SetupError>,
    ) -> Option<T> {
        match r {
            Ok(out) => {
                self.audit.extend(out.audit);
                Some(out.record)
            }
            Err(e) => {
                self.problem(component_type, full_name, e.to_string());
                None
            }
        }
    }

    fn unchanged(&mut self, component_type: &str, full_name: &str) {
        self.no_op
            .insert((component_type.to_string(), full_name.to_lowercase()));
    }

    // ---- permission sets

    fn permission_sets(&mut self, incoming: &OrgSetup) {
        let ty = ct::PERMISSION_SET;
        for ps in &incoming.permission_sets {
            let existing = self
                .current
                .permission_sets
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(&ps.name))
                .cloned();
            match existing {
                None => {
                    let input = NewPermissionSet {
                        name: ps.name.clone(),
                        label: Some(ps.label.clone()),
                        permissions: ps.permissions.clone(),
                        object_permissions: ps.object_permissions.clone(),
                    };
                    let id = random_id(ids::prefix::PERMISSION_SET);
                    let r = setup::create_permission_set(self.actor, &input, id, self.now);
                    if let Some(record) = self.ok(ty, &ps.name, r) {
                        self.change = std::mem::take(&mut self.change).insert(&record);
                        self.sets.push(record);
                    }
                }
                Some(old) => {
                    if plan::merged_permission_set(&old, ps)
                        == plan::normalized_permission_set(&old)
                    {
                        continue;
                    }
                    let input = UpdatePermissionSet {
                        label: Some(ps.label.clone()).filter(|l| !l.trim().is_empty()),
                        permissions: Some(ps.permissions.clone()),
                        object_permissions: Some(ps.object_permissions.clone()),
                    };
                    let r = setup::update_permission_set(self.actor, &old, &input, self.now);
                    if let Some(record) = self.ok(ty, &ps.name, r) {
                        if record == old {
                            self.unchanged(ty, &ps.name);
                            continue;
                        }
                        self.change = std::mem::take(&mut self.change).update_from(&old, &record);
                        if let Some(slot) = self.sets.iter_mut().find(|s| s.id == record.id) {
                            *slot = record;
                        }
                    }
                }
            }
        }
    }

    // ---- platform events

    fn platform_events(&mut self, incoming: &OrgSetup) {
        use setup::platform_events as pe;
        let ty = ct::CUSTOM_OBJECT;
        let field_input = |f: &CustomField| CustomFieldInput {
            full_name: Some(f.full_name.clone()),
            label: Some(f.label.clone()),
            field_type: Some(f.field_type),
            length: f.length,
            precision: f.precision,
            scale: f.scale,
            visible_lines: f.visible_lines,
            required: Some(f.required),
            default_value: f.default_value.clone(),
            description: Some(f.description.clone()),
            inline_help_text: Some(f.inline_help_text.clone()),
        };
        for event in &incoming.platform_events {
            let name = event.full_name.as_str();
            let input = PlatformEventInput {
                full_name: Some(event.full_name.clone()),
                label: Some(event.label.clone()),
                plural_label: Some(event.plural_label.clone()),
                description: Some(event.description.clone()),
                event_type: Some(event.event_type),
                publish_behavior: Some(event.publish_behavior),
                fields: None,
            };
            let existing = self
                .current
                .platform_events
                .iter()
                .find(|e| e.full_name.eq_ignore_ascii_case(name));
            // Setup > Platform Events' rules (byoc-core), field by field so each problem names
            // its field.
            let (old, mut record) = match existing {
                None => {
                    let input = PlatformEventInput {
                        fields: Some(vec![]),
                        ..input
                    };
                    let id = random_id(pe::CUSTOM_OBJECT_KEY_PREFIX);
                    let r = pe::create_platform_event(self.actor, &input, id, self.now);
                    let Some(record) = self.ok(ty, name, r) else {
                        continue;
                    };
                    (None, record)
                }
                Some(old) => {
                    if plan::merged_platform_event(old, event) == *old {
                        continue;
                    }
                    let header = PlatformEventInput {
                        full_name: None,
                        ..input
                    };
                    let r = pe::update_platform_event(self.actor, old, &header, self.now);
                    let Some(record) = self.ok(ty, name, r) else {
                        continue;
                    };
                    (Some(old), record)
                }
            };
            record.deployment_status = event.deployment_status.clone();
            let mut failed = false;
            for f in &event.fields {
                let field_name = format!("{name}.{}", f.full_name);
                let before = record
                    .fields
                    .iter()
                    .find(|o| o.full_name.eq_ignore_ascii_case(&f.full_name))
                    .cloned();
                let r = match &before {
                    Some(b) if b == f => continue,
                    Some(_) => pe::update_field(
                        self.actor,
                        &record,
                        &f.full_name,
                        &field_input(f),
                        self.now,
                    ),
                    None => pe::add_field(self.actor, &record, &field_input(f), self.now),
                };
                match self.ok(ct::CUSTOM_FIELD, &field_name, r) {
                    Some(next) => record = next,
                    None => failed = true,
                }
            }
            if failed {
                continue;
            }
            // A field the rules left as the org has it (the file left a default out) is unchanged.
            for f in &event.fields {
                let same = |e: &PlatformEventDefinition| {
                    e.fields
                        .iter()
                        .find(|o| o.full_name.eq_ignore_ascii_case(&f.full_name))
                        .cloned()
                };
                if old.is_some_and(|old| same(old).is_some() && same(old) == same(&record)) {
                    self.unchanged(ct::CUSTOM_FIELD, &format!("{name}.{}", f.full_name));
                }
            }
            match old {
                None => {
                    // One entry for the event as deployed, fields included.
                    if let Some(entry) = self
                        .audit
                        .iter_mut()
                        .rev()
                        .find(|e| e.action.ends_with(name) && e.action.starts_with("Created"))
                    {
                        entry.changes = audit::created(&record);
                    }
                    self.change = std::mem::take(&mut self.change).insert(&record);
                }
                Some(old) if record == *old => self.unchanged(ty, name),
                Some(old) => {
                    self.change = std::mem::take(&mut self.change).update_from(old, &record);
                }
            }
        }
    }

    // ---- apps

    fn certificate(&mut self, ty: &str, name: &str, app: &App) -> Result<Option<Certificate>, ()> {
        match &app.oauth.certificate {
            None => Ok(None),
            Some(c) => match parse_certificate(&c.pem) {
                Ok(parsed) => Ok(Some(parsed)),
                Err(e) => {
                    let _ = name;
                    self.app_problem(ty, app, plan::AppPart::GlobalOauth, e.to_string());
                    Err(())
                }
            },
        }
    }

    fn apps(&mut self, incoming: &OrgSetup) {
        self.apps = self
            .current
            .external_client_apps
            .iter()
            .chain(&self.current.connected_apps)
            .cloned()
            .collect();
        for (ty, list) in [
            (
                ct::EXTERNAL_CLIENT_APPLICATION,
                &incoming.external_client_apps,
            ),
            (ct::CONNECTED_APP, &incoming.connected_apps),
        ] {
            for app in list {
                self.app(ty, app);
            }
        }
    }

    fn app(&mut self, ty: &str, app: &App) {
        let name = app.api_name.as_str();
        let kind = match ty {
            ct::CONNECTED_APP => AppKind::ConnectedApp,
            _ => AppKind::ExternalClientApp,
        };
        let existing = self
            .apps
            .iter()
            .find(|a| a.kind == kind && a.api_name.eq_ignore_ascii_case(name))
            .cloned();
        if let Some(secret) = &app.oauth.consumer_secret {
            if secret.trim().is_empty()
                || secret.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                self.app_problem(ty, app, plan::AppPart::GlobalOauth, "In field: consumerSecret - the consumer secret can't be empty or contain spaces or control characters.");
            }
        }
        if existing.is_some()
            && plan::merged_app(existing.as_ref().unwrap(), app) == *existing.as_ref().unwrap()
        {
            return;
        }
        let input = AppInput {
            name: Some(app.name.clone()),
            contact_email: Some(app.contact_email.clone()),
            description: Some(app.description.clone()),
            callback_urls: Some(app.oauth.callback_urls.clone()),
            scopes: Some(app.oauth.scopes.clone()),
            jwt_bearer_enabled: Some(app.oauth.jwt_bearer_enabled),
            client_credentials_enabled: Some(app.oauth.client_credentials_enabled),
            oauth_enabled: Some(app.oauth.is_enabled),
            certificate_pem: None,
        };
        let record = match &existing {
            None => {
                if !ids::is_valid_api_name(name) {
                    self.problem(ty, name, format!("The API name {name:?} is not valid: use letters, digits and single underscores, starting with a letter."));
                    return;
                }
                let Ok(certificate) = self.certificate(ty, name, app) else {
                    return;
                };
                let prefix = match kind {
                    AppKind::ExternalClientApp => ids::prefix::EXTERNAL_CLIENT_APPLICATION,
                    AppKind::ConnectedApp => ids::prefix::CONNECTED_APPLICATION,
                };
                let generated = new_credentials();
                let new_ids = NewAppIds {
                    id: random_id(prefix),
                    consumer_key: Some(app.oauth.consumer_key.trim().to_string())
                        .filter(|k| !k.is_empty())
                        .unwrap_or(generated.0),
                    consumer_secret: app.oauth.consumer_secret.clone().unwrap_or(generated.1),
                };
                let r = setup::create_app(
                    self.actor,
                    self.org,
                    kind,
                    &input,
                    certificate,
                    new_ids,
                    self.now,
                );
                let Some(mut record) = self.app_ok(ty, app, false, r) else {
                    return;
                };
                // The API name is the file's, not one derived from the label.
                record.api_name = name.to_string();
                record
            }
            Some(old) => {
                let same_certificate =
                    plan::merged_app(old, app).oauth.certificate == old.oauth.certificate;
                let certificate = if same_certificate {
                    None
                } else {
                    let Ok(c) = self.certificate(ty, name, app) else {
                        return;
                    };
                    Some(c)
                };
                let r = setup::update_app(self.actor, old, &input, certificate, self.now);
                let Some(mut record) = self.app_ok(ty, app, false, r) else {
                    return;
                };
                if !app.oauth.consumer_key.trim().is_empty() {
                    record.oauth.consumer_key = app.oauth.consumer_key.trim().to_string();
                }
                if let Some(secret) = &app.oauth.consumer_secret {
                    record.oauth.consumer_secret = Some(secret.clone());
                }
                record
            }
        };
        // The policies, through the same command as Setup's *Edit Policies*.
        let run_as = app.policies.run_as_username.clone().unwrap_or_default();
        if !run_as.trim().is_empty() && !self.users.contains(&run_as.trim().to_lowercase()) {
            self.app_problem(
                ty,
                app,
                plan::AppPart::OauthPolicies,
                format!("In field: runAsUsername - no User named {run_as} found"),
            );
            return;
        }
        let policies = PolicyInput {
            permitted_users: Some(app.policies.permitted_users),
            profiles: Some(app.policies.profiles.clone()),
            permission_sets: Some(app.policies.permission_sets.clone()),
            ip_relaxation: Some(app.policies.ip_relaxation),
            session_timeout_minutes: app.policies.session_timeout_minutes,
            run_as_username: Some(run_as),
        };
        let unchanged_policies = existing
            .as_ref()
            .is_some_and(|old| old.policies == app.policies);
        let mut record = if unchanged_policies {
            record
        } else {
            let r = setup::set_policies(self.actor, &record, &policies, &self.sets, self.now).map(
                |mut out| {
                    // Creating an app is one audit entry; its policies are part of it.
                    if existing.is_none() {
                        out.audit.clear();
                    }
                    out
                },
            );
            let Some(record) = self.app_ok(ty, app, true, r) else {
                return;
            };
            record
        };
        record.policies.session_timeout_minutes = app.policies.session_timeout_minutes;
        match &existing {
            None => {
                if let Some(entry) = self
                    .audit
                    .iter_mut()
                    .rev()
                    .find(|e| e.action.ends_with(&format!(" {}", record.name)))
                {
                    // The creation entry lists the app as created, policies included.
                    entry.changes = audit::created(&record);
                }
                self.change = std::mem::take(&mut self.change).insert(&record);
                self.apps.push(record);
            }
            Some(old) => {
                let mut compare = record.clone();
                compare.updated_at = old.updated_at;
                if compare == *old {
                    self.unchanged(ty, name);
                    return;
                }
                let mut change = std::mem::take(&mut self.change).update_from(old, &record);
                // Disabling OAuth revokes the app's access tokens on every instance.
                if old.oauth.is_enabled && !record.oauth.is_enabled {
                    change = change.revoke_principal(&old.id, self.now + REVOCATION_MARGIN_MILLIS);
                }
                self.change = change;
                if old.name != record.name {
                    self.renamed.insert(old.id.clone(), record.name.clone());
                }
                if let Some(slot) = self.apps.iter_mut().find(|a| a.id == old.id) {
                    *slot = record;
                }
            }
        }
    }

    /// The app a CCD's link names, among the apps after the deploy.
    fn linked_app(&self, link: &AppRef) -> Option<&App> {
        let fits = |a: &App| {
            a.api_name.eq_ignore_ascii_case(&link.api_name)
                || (!link.name.is_empty() && a.name.eq_ignore_ascii_case(&link.name))
                || (link.api_name.is_empty() && a.api_name.eq_ignore_ascii_case(&link.name))
        };
        self.apps
            .iter()
            .find(|a| a.kind == link.kind && fits(a))
            .or_else(|| self.apps.iter().find(|a| fits(a)))
    }

    // ---- channels and CCDs

    /// The CCD's fields validated by the Tooling API's rules (byoc-core's `ccd` commands), with
    /// `old`'s id and dates when it exists.
    fn ccd_fields(
        &mut self,
        ccd: &ConversationChannelDefinition,
        old: Option<&ConversationChannelDefinition>,
        used_by: Option<&str>,
        new_id: impl FnOnce() -> String,
    ) -> Option<ConversationChannelDefinition> {
        let ty = ct::CONVERSATION_CHANNEL_DEFINITION;
        let name = ccd.developer_name.as_str();
        let input = CcdInput {
            developer_name: Some(ccd.developer_name.clone()),
            master_label: Some(ccd.master_label.clone()),
            custom_platform_event: Some(ccd.custom_platform_event.clone()),
            custom_event_payload_field: Some(ccd.custom_event_payload_field.clone()),
            custom_event_type_field: Some(ccd.custom_event_type_field.clone()),
            custom_event_channel_address_id_field: Some(
                ccd.custom_event_channel_address_id_field.clone(),
            ),
            custom_event_recipient_field: Some(ccd.custom_event_recipient_field.clone()),
            routing_owner: Some(format!("{:?}", ccd.routing_owner)),
            consent_owner: Some(format!("{:?}", ccd.consent_owner)),
            connected_app_type: Some(format!("{:?}", ccd.connected_app_type)),
        };
        let r = match old {
            Some(old) => setup::ccd::update_ccd(self.actor, old, &input, used_by, self.now),
            None => setup::ccd::create_ccd(self.actor, &input, new_id(), self.now),
        };
        let mut record = self.ok(ty, name, r)?;
        // The link: the app the file names, as the org will have it.
        let link = match &ccd.linked_app {
            None => None,
            Some(link) => match self.linked_app(link) {
                // Missing apps are the plan's problem already.
                None => return None,
                Some(app) => {
                    if let Some(reason) = &app.read_only_reason {
                        let problem = format!(
                            "{} {} is read-only ({reason}) Link the External Client App instead.",
                            app.kind.label(),
                            app.name
                        );
                        self.problem(ty, name, problem);
                        return None;
                    }
                    Some(AppRef {
                        kind: app.kind,
                        id: app.id.clone(),
                        name: app.name.clone(),
                        api_name: app.api_name.clone(),
                    })
                }
            },
        };
        if link.is_some() && record.connected_app_type == byoc_proto::setup::AppManagedBy::Partner {
            self.problem(ty, name, setup::partner_managed(&record).to_string());
            return None;
        }
        let relinked = !plan::same_link(&record.linked_app, &link)
            || record
                .linked_app
                .as_ref()
                .zip(link.as_ref())
                .is_some_and(|(a, b)| a.name != b.name || a.id != b.id);
        if relinked {
            let old_link = record.linked_app.clone();
            record.linked_app = link;
            if old.is_some() {
                self.audit.extend(audit::changed(
                    self.now,
                    &self.actor.user.username,
                    setup::section::MESSAGING,
                    format!(
                        "Linked the Conversation Channel Definition {} to {}",
                        record.developer_name,
                        record
                            .linked_app
                            .as_ref()
                            .map(|a| format!("{} {}", a.kind.label(), a.name))
                            .unwrap_or_else(|| "no app".into())
                    ),
                    audit::diff(&old_link, &record.linked_app),
                ));
                record.last_modified_at = self.now;
            }
        }
        if old.is_none() {
            if let Some(entry) = self.audit.iter_mut().rev().find(|e| {
                e.action
                    == format!(
                        "Created Conversation Channel Definition {}",
                        record.developer_name
                    )
            }) {
                entry.changes = audit::created(&record);
            }
        }
        Some(record)
    }

    fn channels(&mut self, incoming: &OrgSetup) {
        let ty = ct::MESSAGING_CHANNEL;
        for channel in &incoming.channels {
            let name = channel.developer_name.as_str();
            let existing = self
                .current
                .channels
                .iter()
                .find(|c| c.developer_name.eq_ignore_ascii_case(name))
                .cloned();
            // The channel's own fields, checked by the rules of Setup's *New Channel*.
            let validate = NewChannel {
                name: channel.name.clone(),
                channel_type: format!("{:?}", channel.channel_type),
                channel_address_identifier: channel.channel_address_identifier.clone(),
                ..NewChannel::default()
            };
            let id = existing
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_else(|| random_id(ids::prefix::MESSAGING_CHANNEL));
            let r = setup::create_channel(self.actor, &validate, None, id, self.now);
            let Some(mut record) = self.ok(ty, name, r) else {
                continue;
            };
            if !ids::is_valid_api_name(name) {
                self.problem(ty, name, format!("The developer name {name:?} is not valid: use letters, digits and single underscores, starting with a letter."));
                continue;
            }
            record.developer_name = name.to_string();
            record.is_active = channel.is_active;
            if let Some(old) = &existing {
                if old.channel_type != channel.channel_type {
                    self.problem(
                        ty,
                        name,
                        format!(
                            "The channel type of the messaging channel {} can't change ({} → {}).",
                            old.developer_name,
                            old.channel_type.label(),
                            channel.channel_type.label()
                        ),
                    );
                    continue;
                }
                record.created_at = old.created_at;
            }
            // Its CCD.
            let mut taken_over = None;
            record.conversation_channel_definition = match &channel.conversation_channel_definition
            {
                None => None,
                Some(ccd) => {
                    let old_ccd = match &existing {
                        Some(e) => e.conversation_channel_definition.clone(),
                        None => {
                            taken_over = self
                                .current
                                .standalone_ccds
                                .iter()
                                .find(|c| {
                                    c.developer_name.eq_ignore_ascii_case(&ccd.developer_name)
                                })
                                .cloned();
                            taken_over.clone()
                        }
                    };
                    let used_by = existing.as_ref().map(|c| c.name.clone());
                    let channel_id = record.id.clone();
                    match self.ccd_fields(ccd, old_ccd.as_ref(), used_by.as_deref(), || {
                        byoc_proto::setup::ccd_id_for_channel(&channel_id)
                    }) {
                        Some(c) => Some(c),
                        None => continue,
                    }
                }
            };
            match &existing {
                None => {
                    // The creation entry of create_channel lists the channel as deployed.
                    if let Some(entry) = self.audit.iter_mut().rev().find(|e| {
                        e.action
                            .ends_with(&format!("messaging channel {}", record.name))
                    }) {
                        entry.changes = audit::created(&record);
                    }
                    let mut change = std::mem::take(&mut self.change).insert(&record);
                    if let Some(standalone) = &taken_over {
                        change = change.delete(standalone);
                    }
                    self.change = change;
                }
                Some(old) => {
                    // create_channel's entry was only the check: this is a change.
                    if let Some(i) = self.audit.iter().rposition(|e| {
                        e.action
                            .ends_with(&format!("messaging channel {}", record.name))
                    }) {
                        self.audit.remove(i);
                    }
                    if record == *old {
                        self.unchanged(ty, name);
                        continue;
                    }
                    let fields = |c: &MessagingChannel| MessagingChannel {
                        conversation_channel_definition: None,
                        ..c.clone()
                    };
                    if fields(&record) != fields(old) {
                        self.audit.extend(audit::changed(
                            self.now,
                            &self.actor.user.username,
                            setup::section::MESSAGING,
                            format!("Changed messaging channel {}", old.name),
                            audit::diff(&fields(old), &fields(&record)),
                        ));
                    }
                    self.change = std::mem::take(&mut self.change).update_from(old, &record);
                    self.written_channels.insert(old.id.clone());
                }
            }
        }
    }

    fn standalone_ccds(&mut self, incoming: &OrgSetup) {
        for ccd in &incoming.standalone_ccds {
            let used = self.current.channels.iter().any(|c| {
                c.conversation_channel_definition
                    .as_ref()
                    .is_some_and(|d| d.developer_name.eq_ignore_ascii_case(&ccd.developer_name))
            });
            if used {
                // The plan named the problem, or the project carries the channel.
                continue;
            }
            let old = self
                .current
                .standalone_ccds
                .iter()
                .find(|c| c.developer_name.eq_ignore_ascii_case(&ccd.developer_name))
                .cloned();
            let Some(record) =
                self.ccd_fields(ccd, old.as_ref(), None, || random_id(CCD_KEY_PREFIX))
            else {
                continue;
            };
            match &old {
                None => self.change = std::mem::take(&mut self.change).insert(&record),
                Some(old) if record == *old => {
                    self.unchanged(ct::CONVERSATION_CHANNEL_DEFINITION, &ccd.developer_name)
                }
                Some(old) => {
                    self.change = std::mem::take(&mut self.change).update_from(old, &record)
                }
            }
        }
    }

    /// Channels the project leaves out still show the new label of an app the deploy renamed.
    fn relink_renamed_apps(&mut self) {
        if self.renamed.is_empty() {
            return;
        }
        for read in &self.current.channels {
            if self.written_channels.contains(&read.id) {
                continue;
            }
            let mut channel = read.clone();
            let Some(link) = channel
                .conversation_channel_definition
                .as_mut()
                .and_then(|c| c.linked_app.as_mut())
            else {
                continue;
            };
            if let Some(name) = self.renamed.get(&link.id) {
                link.name = name.clone();
                self.change = std::mem::take(&mut self.change).update_from(read, &channel);
            }
        }
    }
}

/// A consumer key and secret for a new app whose files carry none.
fn new_credentials() -> (String, String) {
    use rand::RngCore;
    let mut key = [0u8; 80];
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    rand::thread_rng().fill_bytes(&mut secret);
    (ids::consumer_key(&key), ids::consumer_secret(&secret))
}

// ---- admin API -------------------------------------------------------------------------------

/// The body of both routes: a project's files, path → contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectFiles {
    pub files: Files,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetrieveQuery {
    #[serde(default)]
    include_secrets: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeployQuery {
    #[serde(default)]
    dry_run: Option<String>,
}

/// `true`/`false` (any case) or absent; anything else is refused rather than guessed.
fn flag(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value.map(str::trim) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v.is_empty() => Ok(false),
        Some(v) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_FILTER_OPERATOR",
            format!("{name} must be true or false, not {v:?}."),
        )),
    }
}

/// The admin API routes of this module (merged into [`crate::admin_api::router`]).
pub fn admin_routes() -> Router<AdminState> {
    Router::new()
        .route("/admin/v1/metadata/retrieve", get(retrieve_route))
        .route(
            "/admin/v1/metadata/deploy",
            post(deploy_route).layer(DefaultBodyLimit::max(DEPLOY_BODY_LIMIT)),
        )
}

async fn retrieve_route(
    State(s): State<AdminState>,
    SetupViewer(actor): SetupViewer,
    Query(q): Query<RetrieveQuery>,
) -> Result<Response, ApiError> {
    let include_secrets = flag("includeSecrets", q.include_secrets.as_deref())?;
    let files = retrieve(&s.setup, &actor, include_secrets).await?;
    Ok(Json(ProjectFiles { files }).into_response())
}

async fn deploy_route(
    State(s): State<AdminState>,
    Acting(actor): Acting,
    Query(q): Query<DeployQuery>,
    Body(body): Body<ProjectFiles>,
) -> Result<Response, ApiError> {
    let dry_run = flag("dryRun", q.dry_run.as_deref())?;
    match deploy(&s.setup, &actor, &body.files, &DeployOptions { dry_run }).await {
        Ok(out) => Ok(Json(DeployResult::succeeded(dry_run, &out.changes)).into_response()),
        Err(DeployFailure::Problems(problems)) => Ok((
            StatusCode::BAD_REQUEST,
            Json(DeployResult::failed(dry_run, &problems)),
        )
            .into_response()),
        Err(DeployFailure::Service(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
