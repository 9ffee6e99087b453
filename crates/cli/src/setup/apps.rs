//! `byoc setup eca ...` and `byoc setup connected-app ...`: the OAuth apps a connector
//! authenticates as, their OAuth settings, certificate and policies.

use std::path::{Path, PathBuf};

use byoc_proto::admin::{AppInput, AssignmentChange, MigrateConnectedApp, PolicyInput, Saved};
use byoc_proto::setup::{App, AppKind, IpRelaxation, PermittedUsers};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};

use crate::context::Context;
use crate::output::{
    fields, io_message, list_or_none, rfc3339, table_or, yes_no, CliError, Output,
};

#[derive(Debug, Subcommand)]
pub enum EcaCommand {
    /// Create a local External Client App with its OAuth plugin; prints the consumer key
    Create(EcaCreateArgs),
    /// Change an External Client App's settings; only the flags given change
    Update(EcaUpdateArgs),
    /// Show an External Client App as Setup does: settings, OAuth, certificate, policies
    Show(AppName),
    /// List External Client Apps with their consumer keys
    List,
    /// Delete an External Client App (refused while a CCD still links it)
    Delete(AppName),
    /// Print the consumer key and secret (Setup's *Consumer Key and Secret*; audited)
    Secret(AppName),
    /// Change OAuth policies: Permitted Users, assigned profiles and permission sets, session
    /// timeout, the client credentials flow's run-as user
    Policies(PolicyArgs),
    /// Migrate a connected app to a new local External Client App; the connected app becomes
    /// read-only
    Migrate(MigrateArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConnectedAppCommand {
    /// Create a connected app (refused while the org disallows connected app creation, the
    /// Spring '26 default)
    Create(ConnectedAppCreateArgs),
    /// Change a connected app's settings; only the flags given change
    Update(ConnectedAppUpdateArgs),
    /// Show a connected app as Setup does: settings, OAuth, certificate, policies
    Show(AppName),
    /// List connected apps with their consumer keys
    List,
    /// Print the consumer key and secret (Setup's *Manage Consumer Details*; audited)
    Secret(AppName),
    /// Change OAuth policies (Permitted Users, session timeout, ...)
    Policies(PolicyArgs),
    /// Manage Profiles / Manage Permission Sets: who is pre-authorized when admin-approved
    Profiles(AssignmentArgs),
}

#[derive(Debug, Args)]
pub struct AppName {
    /// Name or API name of the app
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// The fields both kinds of app are created with.
#[derive(Debug, Args)]
pub struct AppCreateArgs {
    /// App name as shown in Setup; the API name is derived from it
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Contact email (required by Setup)
    #[arg(long, value_name = "E")]
    pub contact_email: String,
    /// Callback URL (repeatable or comma-separated); JWT Bearer never calls it but Setup requires
    /// one
    #[arg(
        long = "callback-url",
        value_name = "URL",
        value_delimiter = ',',
        required = true
    )]
    pub callback_urls: Vec<String>,
    /// OAuth scopes, comma-separated API names, e.g. interaction_api,refresh_token
    #[arg(long, value_name = "LIST", value_delimiter = ',', required = true)]
    pub scopes: Vec<String>,
    /// Description
    #[arg(long, value_name = "D")]
    pub description: Option<String>,
    /// X.509 certificate (PEM or DER) that verifies the connector's JWT assertions (Use digital
    /// signatures)
    #[arg(long, value_name = "FILE")]
    pub certificate: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EcaCreateArgs {
    #[command(flatten)]
    pub app: AppCreateArgs,
    /// Enable JWT Bearer Flow (needs --certificate)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub jwt_bearer: Option<bool>,
    /// Enable Client Credentials Flow (then name its run-as user: policies --run-as USERNAME)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub client_credentials: Option<bool>,
}

#[derive(Debug, Args)]
pub struct ConnectedAppCreateArgs {
    #[command(flatten)]
    pub app: AppCreateArgs,
}

/// The fields both kinds of app can change.
#[derive(Debug, Args)]
pub struct AppUpdateArgs {
    /// Name or API name of the app to change
    #[arg(value_name = "NAME")]
    pub app: String,
    /// New name shown in Setup (the API name never changes)
    #[arg(long = "name", value_name = "NEW_NAME")]
    pub rename: Option<String>,
    /// Contact email
    #[arg(long, value_name = "E")]
    pub contact_email: Option<String>,
    /// Description
    #[arg(long, value_name = "D")]
    pub description: Option<String>,
    /// Callback URLs, replacing the current ones (repeatable or comma-separated)
    #[arg(long = "callback-url", value_name = "URL", value_delimiter = ',')]
    pub callback_urls: Option<Vec<String>>,
    /// OAuth scopes, replacing the current ones (comma-separated API names)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
    /// Upload this certificate (PEM or DER) instead of the current one; '' removes it
    #[arg(long, value_name = "FILE")]
    pub certificate: Option<PathBuf>,
    /// Remove the certificate (Use digital signatures unchecked)
    #[arg(long, conflicts_with = "certificate")]
    pub remove_certificate: bool,
    /// Enable OAuth (true) or disable it (false): disabling revokes the app's access tokens on
    /// every host and instance within a second
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    pub oauth_enabled: Option<bool>,
}

#[derive(Debug, Args)]
pub struct EcaUpdateArgs {
    #[command(flatten)]
    pub app: AppUpdateArgs,
    /// Enable (true) or disable (false) JWT Bearer Flow
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub jwt_bearer: Option<bool>,
    /// Enable (true) or disable (false) Client Credentials Flow
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub client_credentials: Option<bool>,
}

#[derive(Debug, Args)]
pub struct ConnectedAppUpdateArgs {
    #[command(flatten)]
    pub app: AppUpdateArgs,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("policy").required(true).multiple(true)))]
pub struct PolicyArgs {
    /// Name or API name of the app
    #[arg(value_name = "NAME")]
    pub app: String,
    /// Permitted Users
    #[arg(long, value_enum, value_name = "WHO", group = "policy")]
    pub permitted_users: Option<PermittedUsersArg>,
    /// Profile pre-authorized when admin-approved (repeatable; replaces the current ones; ''
    /// clears)
    #[arg(long = "profile", value_name = "P", group = "policy")]
    pub profiles: Option<Vec<String>>,
    /// Permission set pre-authorized when admin-approved (repeatable; replaces the current ones;
    /// '' clears)
    #[arg(long = "permission-set", value_name = "PS", group = "policy")]
    pub permission_sets: Option<Vec<String>>,
    /// IP Relaxation
    #[arg(long, value_enum, value_name = "MODE", group = "policy")]
    pub ip_relaxation: Option<IpRelaxationArg>,
    /// Session timeout: access token lifetime in minutes (the org default is 120)
    #[arg(long, value_name = "MINUTES", group = "policy", value_parser = clap::value_parser!(u32).range(1..))]
    pub session_timeout: Option<u32>,
    /// Client Credentials Flow › Run As: the user its access tokens act as ('' removes it)
    #[arg(long, value_name = "USERNAME", group = "policy")]
    pub run_as: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PermittedUsersArg {
    /// Admin approved users are pre-authorized (needed for JWT Bearer)
    AdminApproved,
    /// All users may self-authorize (the default)
    SelfAuthorize,
}

impl From<PermittedUsersArg> for PermittedUsers {
    fn from(value: PermittedUsersArg) -> PermittedUsers {
        match value {
            PermittedUsersArg::AdminApproved => PermittedUsers::AdminApprovedPreAuthorized,
            PermittedUsersArg::SelfAuthorize => PermittedUsers::AllSelfAuthorized,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IpRelaxationArg {
    /// Enforce IP restrictions
    Enforce,
    /// Relax IP restrictions with second factor
    BypassWithSecondFactor,
    /// Relax IP restrictions
    Relax,
}

impl From<IpRelaxationArg> for IpRelaxation {
    fn from(value: IpRelaxationArg) -> IpRelaxation {
        match value {
            IpRelaxationArg::Enforce => IpRelaxation::Enforce,
            IpRelaxationArg::BypassWithSecondFactor => IpRelaxation::BypassUsingSecondFactor,
            IpRelaxationArg::Relax => IpRelaxation::Relax,
        }
    }
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("assignment").required(true).multiple(true)))]
pub struct AssignmentArgs {
    /// Name or API name of the connected app
    #[arg(value_name = "NAME")]
    pub app: String,
    /// Profile to add (repeatable)
    #[arg(long = "add", value_name = "P", group = "assignment")]
    pub add_profiles: Vec<String>,
    /// Profile to remove (repeatable)
    #[arg(long = "remove", value_name = "P", group = "assignment")]
    pub remove_profiles: Vec<String>,
    /// Permission set to add (repeatable)
    #[arg(long = "add-permission-set", value_name = "PS", group = "assignment")]
    pub add_permission_sets: Vec<String>,
    /// Permission set to remove (repeatable)
    #[arg(
        long = "remove-permission-set",
        value_name = "PS",
        group = "assignment"
    )]
    pub remove_permission_sets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Name or API name of the connected app to migrate
    #[arg(long, value_name = "NAME")]
    pub from_connected_app: String,
}

pub async fn eca(ctx: &Context, command: EcaCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    let kind = AppKind::ExternalClientApp;
    match command {
        EcaCommand::Create(args) => {
            let mut input = create_input(args.app)?;
            input.jwt_bearer_enabled = args.jwt_bearer;
            input.client_credentials_enabled = args.client_credentials;
            let saved = client.create_external_client_app(&input).await?;
            created(&saved)
        }
        EcaCommand::Update(args) => {
            let (name, mut input) = update_input(args.app)?;
            if args.jwt_bearer.is_some() {
                input.jwt_bearer_enabled = args.jwt_bearer;
            }
            if args.client_credentials.is_some() {
                input.client_credentials_enabled = args.client_credentials;
            }
            ensure_changes(&input, "--jwt-bearer, --client-credentials, ")?;
            let saved = client
                .update_external_client_app(&name, &input)
                .await
                .map_err(|e| not_found(e, kind, &name))?;
            updated(&saved)
        }
        EcaCommand::Show(AppName { name }) => {
            let app = client
                .external_client_app(&name)
                .await
                .map_err(|e| not_found(e, kind, &name))?;
            Output::new(&app, app_text(&app))
        }
        EcaCommand::List => {
            let apps = client.external_client_apps().await?;
            Output::new(&apps, apps_table(&apps))
        }
        EcaCommand::Delete(AppName { name }) => {
            client
                .delete_external_client_app(&name)
                .await
                .map_err(|e| not_found(e, kind, &name))?;
            let json = serde_json::json!({ "deleted": { "kind": kind, "name": name } });
            Output::new(&json, format!("Deleted External Client App {name}.\n"))
        }
        EcaCommand::Secret(AppName { name }) => secret(&client, kind, &name).await,
        EcaCommand::Policies(args) => {
            let (name, input) = policy_input(args);
            let saved = client
                .update_external_client_app_policies(&name, &input)
                .await
                .map_err(|e| not_found(e, kind, &name))?;
            updated(&saved)
        }
        EcaCommand::Migrate(args) => {
            let saved = client
                .migrate_connected_app(&MigrateConnectedApp {
                    from_connected_app: args.from_connected_app.clone(),
                })
                .await
                .map_err(|e| not_found(e, AppKind::ConnectedApp, &args.from_connected_app))?;
            let app = &saved.record;
            let text = format!(
                "Migrated connected app {} to External Client App {} (API name {}); the \
                 connected app is now read-only.\nConsumer Key: {}\n",
                args.from_connected_app, app.name, app.api_name, app.oauth.consumer_key
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
    }
}

pub async fn connected_app(
    ctx: &Context,
    command: ConnectedAppCommand,
) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    let kind = AppKind::ConnectedApp;
    match command {
        ConnectedAppCommand::Create(args) => {
            let input = create_input(args.app)?;
            let saved = client.create_connected_app(&input).await?;
            created(&saved)
        }
        ConnectedAppCommand::Update(args) => {
            let (name, input) = update_input(args.app)?;
            ensure_changes(&input, "")?;
            let saved = client
                .update_connected_app(&name, &input)
                .await
                .map_err(|e| not_found(e, kind, &name))?;
            updated(&saved)
        }
        ConnectedAppCommand::Show(AppName { name }) => {
            let app = client
                .connected_app(&name)
                .await
                .map_err(|e| not_found(e, kind, &name))?;
            Output::new(&app, app_text(&app))
        }
        ConnectedAppCommand::List => {
            let apps = client.connected_apps().await?;
            Output::new(&apps, apps_table(&apps))
        }
        ConnectedAppCommand::Secret(AppName { name }) => secret(&client, kind, &name).await,
        ConnectedAppCommand::Policies(args) => {
            let (name, input) = policy_input(args);
            let saved = client
                .update_connected_app_policies(&name, &input)
                .await
                .map_err(|e| not_found(e, kind, &name))?;
            updated(&saved)
        }
        ConnectedAppCommand::Profiles(args) => {
            let change = AssignmentChange {
                add_profiles: non_empty(args.add_profiles),
                remove_profiles: non_empty(args.remove_profiles),
                add_permission_sets: non_empty(args.add_permission_sets),
                remove_permission_sets: non_empty(args.remove_permission_sets),
            };
            let saved = client
                .change_connected_app_assignments(&args.app, &change)
                .await
                .map_err(|e| not_found(e, kind, &args.app))?;
            updated(&saved)
        }
    }
}

fn not_found(error: byoc_client::ClientError, kind: AppKind, name: &str) -> CliError {
    let list = match kind {
        AppKind::ExternalClientApp => "byoc setup eca list",
        AppKind::ConnectedApp => "byoc setup connected-app list",
    };
    CliError::from(error).hint_if_not_found(
        name,
        format!(
            "list the {}s and their API names with `{list}`",
            kind.label()
        ),
    )
}

fn create_input(args: AppCreateArgs) -> Result<AppInput, CliError> {
    let certificate_pem = match &args.certificate {
        Some(path) if path.as_os_str().is_empty() => return Err(CliError::usage(
            "--certificate needs a file (the certificate, e.g. server.crt from `byoc cert new`)",
        )),
        Some(path) => Some(read_certificate(path)?),
        None => None,
    };
    Ok(AppInput {
        name: Some(args.name),
        contact_email: Some(args.contact_email),
        description: args.description,
        callback_urls: Some(non_empty(args.callback_urls)),
        scopes: Some(scope_list(args.scopes)),
        jwt_bearer_enabled: None,
        client_credentials_enabled: None,
        oauth_enabled: None,
        certificate_pem,
    })
}

fn update_input(args: AppUpdateArgs) -> Result<(String, AppInput), CliError> {
    let certificate_pem = match &args.certificate {
        _ if args.remove_certificate => Some(String::new()),
        Some(path) if path.as_os_str().is_empty() => Some(String::new()),
        Some(path) => Some(read_certificate(path)?),
        None => None,
    };
    let input = AppInput {
        name: args.rename,
        contact_email: args.contact_email,
        description: args.description,
        callback_urls: args.callback_urls.map(non_empty),
        scopes: args.scopes.map(scope_list),
        jwt_bearer_enabled: None,
        client_credentials_enabled: None,
        oauth_enabled: args.oauth_enabled,
        certificate_pem,
    };
    Ok((args.app, input))
}

fn ensure_changes(input: &AppInput, extra_flags: &str) -> Result<(), CliError> {
    if *input == AppInput::default() {
        return Err(CliError::usage(format!(
            "nothing to change: give at least one of --name, --contact-email, --description, \
             --callback-url, --scopes, {extra_flags}--certificate, --remove-certificate"
        )));
    }
    Ok(())
}

async fn secret(
    client: &byoc_client::AdminClient,
    kind: AppKind,
    name: &str,
) -> Result<Output, CliError> {
    let details = client
        .consumer_details(kind, name)
        .await
        .map_err(|e| not_found(e, kind, name))?;
    let text = format!(
        "Consumer Key: {}\nConsumer Secret: {}\n",
        details.consumer_key, details.consumer_secret
    );
    Output::new(&details, text)
}

fn policy_input(args: PolicyArgs) -> (String, PolicyInput) {
    let input = PolicyInput {
        permitted_users: args.permitted_users.map(PermittedUsers::from),
        profiles: args.profiles.map(non_empty),
        permission_sets: args.permission_sets.map(non_empty),
        ip_relaxation: args.ip_relaxation.map(IpRelaxation::from),
        session_timeout_minutes: args.session_timeout,
        run_as_username: args.run_as,
    };
    (args.app, input)
}

/// Trimmed values without the empty ones (`--profile ''` means "none").
fn non_empty(values: Vec<String>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Scope names from `a,b c`: split on commas (clap did) and whitespace, without repeats.
pub fn scope_list(values: Vec<String>) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in values.iter().flat_map(|v| v.split_whitespace()) {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    scopes
}

/// The certificate file as PEM, checked before upload so a wrong file is named clearly.
pub fn read_certificate(path: &Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path).map_err(|e| {
        CliError::new(format!(
            "can't read certificate file {}: {}",
            path.display(),
            io_message(&e)
        ))
    })?;
    // A DER certificate (`.cer`) starts with a SEQUENCE tag; anything else should be PEM.
    let parsed = if bytes.first() == Some(&0x30) {
        byoc_pki::parse_certificate_der(&bytes)
    } else {
        byoc_pki::parse_certificate(&String::from_utf8_lossy(&bytes))
    };
    parsed
        .map(|info| info.pem)
        .map_err(|e| CliError::new(format!("certificate file {}: {e}", path.display())))
}

fn created(saved: &Saved<App>) -> Result<Output, CliError> {
    let app = &saved.record;
    let mut text = format!(
        "Created {} {} (API name {}).\nConsumer Key: {}\n",
        app.kind.label(),
        app.name,
        app.api_name,
        app.oauth.consumer_key
    );
    if let Some(secret) = &app.oauth.consumer_secret {
        text.push_str(&format!(
            "Consumer Secret: {secret}\n  (for the client credentials and username-password flows; \
             byoc setup {} secret NAME prints it again)\n",
            match app.kind {
                AppKind::ExternalClientApp => "eca",
                AppKind::ConnectedApp => "connected-app",
            }
        ));
    }
    if app.policies.permitted_users == PermittedUsers::AllSelfAuthorized {
        let command = match app.kind {
            AppKind::ExternalClientApp => "eca",
            AppKind::ConnectedApp => "connected-app",
        };
        text.push_str(&format!(
            "Next: JWT Bearer needs pre-authorized users: byoc setup {command} policies {} \
             --permitted-users admin-approved --profile 'System Administrator'\n",
            shell_quote(&app.name)
        ));
    }
    Ok(Output::new(saved, text)?.with_warnings(&saved.warnings))
}

fn updated(saved: &Saved<App>) -> Result<Output, CliError> {
    let app = &saved.record;
    let text = format!(
        "Updated {} {}.\n{}",
        app.kind.label(),
        app.name,
        app_text(app)
    );
    Ok(Output::new(saved, text)?.with_warnings(&saved.warnings))
}

fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@/:".contains(c))
    {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

fn apps_table(apps: &[App]) -> String {
    let rows: Vec<Vec<String>> = apps
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                a.api_name.clone(),
                a.oauth.consumer_key.clone(),
            ]
        })
        .collect();
    table_or("No apps yet.", &["Name", "API Name", "Consumer Key"], &rows)
}

/// Setup's labels for the selected scopes, in order, each label once.
fn scope_labels(scopes: &[String]) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for scope in scopes {
        let label = match byoc_core::scopes::find(scope) {
            Some(s) => s.label.to_string(),
            None => scope.clone(),
        };
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels
}

fn ip_relaxation_label(value: IpRelaxation) -> &'static str {
    match value {
        IpRelaxation::Enforce => "Enforce IP restrictions",
        IpRelaxation::BypassUsingSecondFactor => "Relax IP restrictions with second factor",
        IpRelaxation::Relax => "Relax IP restrictions",
    }
}

/// An app as Setup shows it.
pub fn app_text(app: &App) -> String {
    let mut out = format!("{}: {}\n", app.kind.label(), app.name);
    let mut basics = vec![
        ("API Name", app.api_name.clone()),
        ("ID", app.id.clone()),
        ("Contact Email", app.contact_email.clone()),
        ("Description", app.description.clone()),
    ];
    if let Some(state) = &app.distribution_state {
        basics.push(("Distribution State", state.clone()));
    }
    if let Some(reason) = &app.read_only_reason {
        basics.push(("Read-only", reason.clone()));
    }
    basics.push(("Created", rfc3339(app.created_at)));
    basics.push(("Last Modified", rfc3339(app.updated_at)));
    out.push_str(&fields(2, &basics));

    let oauth = &app.oauth;
    out.push_str("OAuth Settings\n");
    out.push_str(&fields(
        2,
        &[
            ("Enable OAuth", yes_no(oauth.is_enabled)),
            ("Consumer Key", oauth.consumer_key.clone()),
            ("Callback URLs", list_or_none(&oauth.callback_urls)),
            ("Enable JWT Bearer Flow", yes_no(oauth.jwt_bearer_enabled)),
            (
                "Enable Client Credentials Flow",
                yes_no(oauth.client_credentials_enabled),
            ),
        ],
    ));
    out.push_str("  Selected OAuth Scopes:\n");
    let labels = scope_labels(&oauth.scopes);
    if labels.is_empty() {
        out.push_str("    (none)\n");
    }
    for label in labels {
        out.push_str(&format!("    {label}\n"));
    }
    match &oauth.certificate {
        None => out.push_str("  Certificate (Use digital signatures): (none)\n"),
        Some(cert) => {
            out.push_str("  Certificate (Use digital signatures):\n");
            out.push_str(&fields(
                4,
                &[
                    ("Subject", cert.subject.clone()),
                    ("Issuer", cert.issuer.clone()),
                    ("Serial Number", cert.serial_number.clone()),
                    (
                        "Valid",
                        format!(
                            "{} to {}",
                            rfc3339(cert.not_before),
                            rfc3339(cert.not_after)
                        ),
                    ),
                    ("SHA-256 Fingerprint", cert.sha256_fingerprint.clone()),
                    ("Key", format!("RSA {} bits", cert.key_bits)),
                ],
            ));
        }
    }

    let policies = &app.policies;
    out.push_str("OAuth Policies\n");
    out.push_str(&fields(
        2,
        &[
            (
                "Permitted Users",
                policies.permitted_users.label().to_string(),
            ),
            ("Profiles", list_or_none(&policies.profiles)),
            ("Permission Sets", list_or_none(&policies.permission_sets)),
            (
                "IP Relaxation",
                ip_relaxation_label(policies.ip_relaxation).to_string(),
            ),
            (
                "Session Timeout",
                match policies.session_timeout_minutes {
                    Some(minutes) => format!("{minutes} minutes"),
                    None => "org default (120 minutes)".to_string(),
                },
            ),
            (
                "Run As",
                policies
                    .run_as_username
                    .clone()
                    .unwrap_or_else(|| "(none)".to_string()),
            ),
        ],
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_on_commas_and_spaces_without_repeats() {
        assert_eq!(
            scope_list(vec![
                "interaction_api".into(),
                " refresh_token offline_access".into(),
                "interaction_api".into(),
                "".into()
            ]),
            vec!["interaction_api", "refresh_token", "offline_access"]
        );
    }

    #[test]
    fn shared_scope_labels_show_once() {
        let labels = scope_labels(&[
            "refresh_token".into(),
            "offline_access".into(),
            "custom_thing".into(),
        ]);
        assert_eq!(
            labels,
            vec![
                "Perform requests at any time (refresh_token, offline_access)",
                "custom_thing"
            ]
        );
    }

    #[test]
    fn a_missing_certificate_file_is_named() {
        let err = read_certificate(Path::new("/nonexistent/server.crt")).unwrap_err();
        assert_eq!(
            err.message,
            "can't read certificate file /nonexistent/server.crt: No such file or directory"
        );
    }

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn a_private_key_is_refused_as_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let pair = byoc_pki::new_self_signed("t", 1, chrono::Utc::now()).unwrap();
        let key = dir.path().join("server.key");
        std::fs::write(&key, &pair.private_key_pem).unwrap();
        let err = read_certificate(&key).unwrap_err();
        assert!(
            err.message.contains("private key, not a certificate"),
            "{err}"
        );
        let crt = dir.path().join("server.crt");
        std::fs::write(&crt, &pair.certificate_pem).unwrap();
        assert!(read_certificate(&crt)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn names_are_quoted_for_the_shell_when_needed() {
        assert_eq!(shell_quote("Acme"), "Acme");
        assert_eq!(shell_quote("Acme Connector"), "'Acme Connector'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
