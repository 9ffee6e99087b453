//! `byoc setup ...`: the setup an admin does in Salesforce's Setup UI, through the admin API.
//!
//! - this module: the command enum, users, permission sets, profiles, org settings, the audit trail;
//! - [`apps`]: External Client Apps and connected apps;
//! - [`channels`]: messaging channels and Conversation Channel Definitions.

pub mod apps;
pub mod channels;
pub mod platform_events;

use byoc_proto::admin::{NewPermissionSet, NewUser, UpdateOrg, UpdatePermissionSet, UpdateUser};
use byoc_proto::setup::{
    AuditEntry, ObjectPermissions, Org, PermissionSet, Profile, User, UserPermission,
};
use clap::{Args, Subcommand};

use crate::context::Context;
use crate::output::{fields, list_or_none, rfc3339, table, table_or, yes_no, CliError, Output};

pub use apps::{ConnectedAppCommand, EcaCommand};
pub use channels::{CcdCommand, ChannelCommand};

#[derive(Debug, Subcommand)]
pub enum SetupCommand {
    /// Users: the org's users; a JWT Bearer assertion's `sub` names one (Setup > Users)
    #[command(subcommand)]
    User(UserCommand),

    /// Permission Sets: user permissions granted beside the profile's (Setup > Permission Sets)
    #[command(subcommand)]
    PermissionSet(PermissionSetCommand),

    /// Profiles: the built-in profiles that give users their base permissions (Setup > Profiles)
    #[command(subcommand)]
    Profile(ProfileCommand),

    /// Org settings, e.g. whether connected apps may still be created (Setup > External Client
    /// App Settings)
    #[command(subcommand)]
    Org(OrgCommand),

    /// External Client App: the OAuth app a partner's connector authenticates as (Setup >
    /// External Client App Manager)
    #[command(subcommand)]
    Eca(EcaCommand),

    /// Connected App: the legacy OAuth app, before External Client Apps (Setup > App Manager)
    #[command(subcommand)]
    ConnectedApp(ConnectedAppCommand),

    /// Messaging channels: where conversations arrive; BYOC channels carry a Conversation Channel
    /// Definition (Setup > Messaging Settings)
    #[command(subcommand)]
    Channel(ChannelCommand),

    /// Conversation Channel Definition (CCD): ties a BYOC channel to its platform event and to
    /// the app allowed to call the Interaction API for it
    #[command(subcommand)]
    Ccd(CcdCommand),

    /// Platform events: custom platform events and their fields; a CCD names the event its
    /// agent replies are published on (Setup > Platform Events)
    #[command(subcommand)]
    PlatformEvent(platform_events::PlatformEventCommand),

    /// Setup audit trail: who changed what in Setup, newest first (Setup > View Setup Audit
    /// Trail)
    Audit(AuditArgs),

    /// The keys that seal access tokens: list them, or rotate to a new one (byoc only; System
    /// Administrators)
    #[command(subcommand)]
    TokenKeys(TokenKeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenKeysCommand {
    /// The key ids and their state (pending, current, retired); never the keys
    List,
    /// Store a new key that mints on every instance about 2 s later; tokens sealed with older
    /// keys stay valid until they expire
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a profile and permission sets (Setup > Users > New User)
    Create(UserCreateArgs),
    /// List the org's users
    List,
    /// Show one user: profile, permission sets, active
    Show {
        /// Username (an email-style login name)
        username: String,
    },
    /// Change a user: `--active false` deactivates them, which revokes their access tokens on
    /// every host and instance within a second (Setup > Users > Edit > Active); `--profile`
    /// changes their profile
    Update(UserUpdateArgs),
    /// Set a user's console password (Setup > Users > Set Password: at least 8 characters, letters
    /// and numbers) or `--reset` it to a generated temporary password, printed once
    Password(UserPasswordArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["password", "reset"])))]
pub struct UserPasswordArgs {
    /// Username (an email-style login name)
    #[arg(value_name = "USERNAME")]
    pub username: String,
    /// The new password
    #[arg(long, value_name = "P")]
    pub password: Option<String>,
    /// Generate a temporary password and print it (Setup's Reset Password)
    #[arg(long)]
    pub reset: bool,
}

#[derive(Debug, Args)]
pub struct UserUpdateArgs {
    /// Username (an email-style login name)
    #[arg(value_name = "USERNAME")]
    pub username: String,
    /// Active (true) or deactivated (false)
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set, required_unless_present = "profile")]
    pub active: Option<bool>,
    /// Profile name, e.g. "Standard User" (you can't change your own)
    #[arg(long, value_name = "P")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct UserCreateArgs {
    /// Username: the login name, email-style; what a JWT's `sub` holds
    #[arg(long, value_name = "U")]
    pub username: String,
    /// Profile name, e.g. "System Administrator" or "Standard User"
    #[arg(long, value_name = "P")]
    pub profile: String,
    /// Permission set to assign (repeatable)
    #[arg(long = "permission-set", value_name = "NAME")]
    pub permission_sets: Vec<String>,
    /// Create the user deactivated (Active unchecked)
    #[arg(long)]
    pub inactive: bool,
    /// Email address [default: the username]
    #[arg(long, value_name = "E")]
    pub email: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PermissionSetCommand {
    /// Create a permission set with user permissions and object permissions on platform events
    Create(PermissionSetCreateArgs),
    /// Edit a permission set: the options given replace its label, user permissions or object
    /// permissions (users who have it assigned get the change at once)
    Update(PermissionSetUpdateArgs),
    /// List the org's permission sets and their permissions
    List,
}

#[derive(Debug, Args)]
pub struct PermissionSetUpdateArgs {
    /// API name of the permission set
    pub name: String,
    /// New label
    #[arg(long, value_name = "L")]
    pub label: Option<String>,
    /// User permission (repeatable): replaces the set's user permissions
    #[arg(long = "permission", value_name = "PERM", value_parser = parse_permission)]
    pub permissions: Vec<UserPermission>,
    /// Remove every user permission
    #[arg(long, conflicts_with = "permissions")]
    pub no_permissions: bool,
    /// Object permission on a platform event, EVENT:ACCESS with ACCESS read, create or
    /// read,create (repeatable): replaces the set's object permissions
    #[arg(long = "object-permission", value_name = "EVENT:ACCESS", value_parser = parse_object_permission)]
    pub object_permissions: Vec<ObjectPermissions>,
    /// Remove every object permission
    #[arg(long, conflicts_with = "object_permissions")]
    pub no_object_permissions: bool,
}

#[derive(Debug, Args)]
pub struct PermissionSetCreateArgs {
    /// API name of the permission set
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Label shown in Setup [default: the name]
    #[arg(long, value_name = "L")]
    pub label: Option<String>,
    /// User permission to grant (repeatable): manage-external-client-apps,
    /// customize-application, modify-all-data, manage-connected-apps,
    /// manage-profiles-permission-sets, view-setup, messaging-user
    #[arg(long = "permission", value_name = "PERM", value_parser = parse_permission)]
    pub permissions: Vec<UserPermission>,
    /// Object permission on a platform event (repeatable): EVENT:ACCESS, ACCESS being read,
    /// create or read,create, e.g. Byoc_Outbound__e:read,create. Read lets a user subscribe on
    /// the Pub/Sub API, Create lets them publish
    #[arg(long = "object-permission", value_name = "EVENT:ACCESS", value_parser = parse_object_permission)]
    pub object_permissions: Vec<ObjectPermissions>,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the built-in profiles and their permissions
    List,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Change org settings
    Set(OrgSetArgs),
    /// Show the org: id, My Domain, settings
    Show,
}

#[derive(Debug, Args)]
pub struct OrgSetArgs {
    /// Allow creation of connected apps: false is the Spring '26 default; true stands for
    /// Salesforce Support having enabled it
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    pub allow_connected_app_creation: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// How many entries, newest first [default: 100]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
}

/// `--permission` values: the command-line names of [`UserPermission`].
pub fn parse_permission(value: &str) -> Result<UserPermission, String> {
    UserPermission::from_cli_name(value.trim()).ok_or_else(|| {
        let valid: Vec<String> = UserPermission::ALL
            .iter()
            .map(|p| format!("{} ({})", p.cli_name(), p.label()))
            .collect();
        format!(
            "unknown permission '{value}'; valid permissions: {}",
            valid.join(", ")
        )
    })
}

/// `--object-permission` values: `Byoc_Outbound__e:read,create`.
pub fn parse_object_permission(value: &str) -> Result<ObjectPermissions, String> {
    let usage = || {
        format!("'{value}' isn't EVENT:ACCESS; use e.g. Byoc_Outbound__e:read or Byoc_Outbound__e:read,create")
    };
    let (object, access) = value.split_once(':').ok_or_else(usage)?;
    let mut op = ObjectPermissions {
        object: object.trim().to_string(),
        allow_read: false,
        allow_create: false,
    };
    if op.object.is_empty() {
        return Err(usage());
    }
    for a in access.split(',').map(str::trim) {
        match a.to_ascii_lowercase().as_str() {
            "read" => op.allow_read = true,
            "create" => op.allow_create = true,
            _ => {
                return Err(format!(
                    "unknown object access '{a}' in '{value}'; valid: read, create"
                ))
            }
        }
    }
    Ok(op)
}

pub async fn execute(ctx: &Context, command: SetupCommand) -> Result<Output, CliError> {
    let result = dispatch(ctx, command).await;
    match (&ctx.global.act_as, result) {
        (Some(username), Err(error)) => Err(error.hint_if_not_found(
            username,
            "--as names a user of the org; list them with `byoc setup user list`",
        )),
        (_, result) => result,
    }
}

async fn dispatch(ctx: &Context, command: SetupCommand) -> Result<Output, CliError> {
    match command {
        SetupCommand::User(command) => user(ctx, command).await,
        SetupCommand::PermissionSet(command) => permission_set(ctx, command).await,
        SetupCommand::Profile(ProfileCommand::List) => profiles(ctx).await,
        SetupCommand::Org(command) => org(ctx, command).await,
        SetupCommand::Eca(command) => apps::eca(ctx, command).await,
        SetupCommand::ConnectedApp(command) => apps::connected_app(ctx, command).await,
        SetupCommand::Channel(command) => channels::channel(ctx, command).await,
        SetupCommand::Ccd(command) => channels::ccd(ctx, command).await,
        SetupCommand::PlatformEvent(command) => platform_events::execute(ctx, command).await,
        SetupCommand::Audit(args) => audit(ctx, &args).await,
        SetupCommand::TokenKeys(command) => token_keys(ctx, command).await,
    }
}

async fn user(ctx: &Context, command: UserCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    match command {
        UserCommand::Create(args) => {
            let saved = client
                .create_user(&NewUser {
                    username: args.username,
                    email: args.email,
                    profile: args.profile,
                    permission_sets: args.permission_sets,
                    is_active: !args.inactive,
                })
                .await?;
            let u = &saved.record;
            let text = format!(
                "Created user {} ({}, profile {}{}).\n",
                u.username,
                u.id,
                u.profile,
                if u.is_active { "" } else { ", inactive" }
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        UserCommand::List => {
            let users = client.users().await?;
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.username.clone(),
                        u.profile.clone(),
                        list_or_none(&u.permission_sets),
                        yes_no(u.is_active),
                    ]
                })
                .collect();
            let text = table(&["Username", "Profile", "Permission Sets", "Active"], &rows);
            Output::new(&users, text)
        }
        UserCommand::Update(args) => {
            let saved = client
                .update_user(
                    &args.username,
                    &UpdateUser {
                        is_active: args.active,
                        profile: args.profile.clone(),
                        permission_sets: None,
                    },
                )
                .await
                .map_err(|e| {
                    CliError::from(e)
                        .hint_if_not_found(&args.username, "list users with `byoc setup user list`")
                })?;
            let u = &saved.record;
            let text = format!(
                "Updated user {} (profile: {}, active: {}).\n",
                u.username,
                u.profile,
                yes_no(u.is_active)
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        UserCommand::Password(args) => {
            let hint = |e| {
                CliError::from(e)
                    .hint_if_not_found(&args.username, "list users with `byoc setup user list`")
            };
            match &args.password {
                Some(password) if !args.reset => {
                    client
                        .set_password(&args.username, password)
                        .await
                        .map_err(hint)?;
                    let done = serde_json::json!({ "username": args.username });
                    Output::new(
                        &done,
                        format!("Changed password for user {}.\n", args.username),
                    )
                }
                _ => {
                    let reset = client.reset_password(&args.username).await.map_err(hint)?;
                    let text = format!(
                        "Reset password for user {}. Temporary password (shown once): {}\n",
                        reset.username, reset.password
                    );
                    Output::new(&reset, text)
                }
            }
        }
        UserCommand::Show { username } => {
            let user = client.user(&username).await.map_err(|e| {
                CliError::from(e)
                    .hint_if_not_found(&username, "list users with `byoc setup user list`")
            })?;
            let text = user_text(&user);
            Output::new(&user, text)
        }
    }
}

fn user_text(u: &User) -> String {
    fields(
        0,
        &[
            ("Username", u.username.clone()),
            ("User ID", format!("{} ({})", u.id, u.id18)),
            ("Email", u.email.clone()),
            ("Profile", u.profile.clone()),
            ("Permission Sets", list_or_none(&u.permission_sets)),
            ("Active", yes_no(u.is_active)),
            ("Created", rfc3339(u.created_at)),
        ],
    )
}

async fn permission_set(ctx: &Context, command: PermissionSetCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    match command {
        PermissionSetCommand::Create(args) => {
            let saved = client
                .create_permission_set(&NewPermissionSet {
                    name: args.name,
                    label: args.label,
                    permissions: args.permissions,
                    object_permissions: args.object_permissions,
                })
                .await?;
            let ps = &saved.record;
            let text = format!(
                "Created permission set {} ({}): {}; {}\n",
                ps.name,
                ps.id,
                permission_labels(&ps.permissions),
                object_permission_labels(&ps.object_permissions)
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        PermissionSetCommand::Update(args) => {
            let change = UpdatePermissionSet {
                label: args.label,
                permissions: (args.no_permissions || !args.permissions.is_empty())
                    .then_some(args.permissions),
                object_permissions: (args.no_object_permissions
                    || !args.object_permissions.is_empty())
                .then_some(args.object_permissions),
            };
            let saved = client
                .update_permission_set(&args.name, &change)
                .await
                .map_err(|e| {
                    CliError::from(e).hint_if_not_found(
                        &args.name,
                        "list permission sets with `byoc setup permission-set list`",
                    )
                })?;
            let ps = &saved.record;
            let text = format!(
                "Updated permission set {} ({}): {}; {}\n",
                ps.name,
                ps.id,
                permission_labels(&ps.permissions),
                object_permission_labels(&ps.object_permissions)
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        PermissionSetCommand::List => {
            let sets = client.permission_sets().await?;
            Output::new(&sets, permission_sets_text(&sets))
        }
    }
}

fn permission_labels(permissions: &[UserPermission]) -> String {
    let labels: Vec<String> = permissions.iter().map(|p| p.label().to_string()).collect();
    if labels.is_empty() {
        "no permissions".to_string()
    } else {
        labels.join(", ")
    }
}

/// `Byoc_Outbound__e: Read, Create`, or `no object permissions`.
fn object_permission_labels(object_permissions: &[ObjectPermissions]) -> String {
    if object_permissions.is_empty() {
        return "no object permissions".to_string();
    }
    object_permissions
        .iter()
        .map(|o| format!("{}: {}", o.object, o.access_label()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn permission_sets_text(sets: &[PermissionSet]) -> String {
    let rows: Vec<Vec<String>> = sets
        .iter()
        .map(|ps| {
            vec![
                ps.name.clone(),
                ps.label.clone(),
                permission_labels(&ps.permissions),
                object_permission_labels(&ps.object_permissions),
            ]
        })
        .collect();
    table_or(
        "No permission sets yet.",
        &["Name", "Label", "Permissions", "Object Permissions"],
        &rows,
    )
}

async fn profiles(ctx: &Context) -> Result<Output, CliError> {
    let profiles = ctx.admin_client()?.profiles().await?;
    Output::new(&profiles, profiles_text(&profiles))
}

fn profiles_text(profiles: &[Profile]) -> String {
    let rows: Vec<Vec<String>> = profiles
        .iter()
        .map(|p| vec![p.name.clone(), permission_labels(&p.permissions)])
        .collect();
    table(&["Profile", "Permissions"], &rows)
}

async fn org(ctx: &Context, command: OrgCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    match command {
        OrgCommand::Set(args) => {
            let saved = client
                .update_org(&UpdateOrg {
                    allow_connected_app_creation: Some(args.allow_connected_app_creation),
                })
                .await?;
            let text = format!("Updated the org.\n{}", org_text(&saved.record));
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        OrgCommand::Show => {
            let org = client.org().await?;
            Output::new(&org, org_text(&org))
        }
    }
}

fn org_text(org: &Org) -> String {
    fields(
        0,
        &[
            ("Organization Name", org.name.clone()),
            ("Organization ID", format!("{} ({})", org.id, org.id18)),
            ("My Domain", org.my_domain.clone()),
            (
                "Allow creation of connected apps",
                yes_no(org.allow_connected_app_creation),
            ),
            ("Created", rfc3339(org.created_at)),
        ],
    )
}

async fn token_keys(ctx: &Context, command: TokenKeysCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    match command {
        TokenKeysCommand::List => {
            let keys = client.token_keys().await?;
            Output::new(&keys, token_keys_text(&keys.keys))
        }
        TokenKeysCommand::Rotate => {
            let rotated = client.rotate_token_keys().await?;
            let text = format!(
                "New access token key {} mints from {}; tokens of older keys stay valid until they expire.\n{}",
                rotated.key_id,
                rfc3339(rotated.active_from),
                token_keys_text(&rotated.keys)
            );
            Output::new(&rotated, text)
        }
    }
}

fn token_keys_text(keys: &[byoc_proto::admin::TokenKey]) -> String {
    let mut out = String::new();
    for key in keys {
        out.push_str(&format!(
            "{}  {:<8}  active from {}{}\n",
            key.key_id,
            key.state,
            rfc3339(key.active_from),
            key.verifies_until
                .map(|t| format!(", verifies until {}", rfc3339(t)))
                .unwrap_or_default()
        ));
    }
    out
}

async fn audit(ctx: &Context, args: &AuditArgs) -> Result<Output, CliError> {
    let entries = ctx.admin_client()?.audit(args.limit).await?;
    Output::new(&entries, audit_text(&entries))
}

pub fn audit_text(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return "No setup changes yet.\n".to_string();
    }
    let mut out = String::new();
    for entry in entries {
        out.push_str(&format!(
            "{}  {}  {}  {}\n",
            rfc3339(entry.created_date),
            entry.created_by,
            entry.section,
            entry.action
        ));
        for change in &entry.changes {
            out.push_str(&format!(
                "    {}: {} → {}\n",
                change.field,
                change.old_value.as_deref().unwrap_or("(empty)"),
                change.new_value.as_deref().unwrap_or("(empty)")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use byoc_proto::setup::FieldChange;

    #[test]
    fn permissions_parse_by_cli_name_and_unknown_ones_list_the_valid() {
        assert_eq!(
            parse_permission("modify-all-data"),
            Ok(UserPermission::ModifyAllData)
        );
        let err = parse_permission("root").unwrap_err();
        for p in UserPermission::ALL {
            assert!(err.contains(p.cli_name()), "{err}");
        }
    }

    #[test]
    fn audit_text_shows_changes_old_to_new() {
        let text = audit_text(&[AuditEntry {
            created_date: 1_767_225_600_000,
            created_by: "admin@byoc.example".into(),
            section: "External Client App Manager".into(),
            action: "Changed OAuth policies of Acme".into(),
            changes: vec![FieldChange {
                field: "permittedUsers".into(),
                old_value: Some("AllSelfAuthorized".into()),
                new_value: Some("AdminApprovedPreAuthorized".into()),
            }],
        }]);
        assert_eq!(
            text,
            "2026-01-01T00:00:00Z  admin@byoc.example  External Client App Manager  Changed OAuth policies of Acme\n    permittedUsers: AllSelfAuthorized → AdminApprovedPreAuthorized\n"
        );
    }
}
