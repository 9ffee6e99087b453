//! The sObject catalog: which objects the acting user may query and describe, their fields
//! (Salesforce's API names), and their rows loaded from the store.
//!
//! Who sees what (docs/rest-api.md "The objects"):
//! - `Organization`, `User`, `Profile`: every user, as in Salesforce.
//! - setup objects (`PermissionSet`, `PermissionSetAssignment`, `ObjectPermissions`,
//!   `ConnectedApplication`, `ExternalClientApplication`, `MessagingChannel`,
//!   `ContactCenterChannel`, `LoginHistory`, `SetupAuditTrail`, `ConversationChannelDefinition`,
//!   `ConversationVendorInfo`): *View Setup and Configuration*.
//! - messaging objects (`MessagingEndUser`, `MessagingSession`, `ConversationEntry`): *Messaging
//!   User* or *View Setup and Configuration*.
//! - each platform event (describe only, not queryable): *Read* or *Create* on it.
//!
//! An object the user may not see is absent: a query on it gets `INVALID_TYPE`, its describe
//! `NOT_FOUND`. Rows are loaded per object with one store call each ([`load`]), only for the
//! objects a query needs.

use std::collections::HashMap;

use byoc_core::events::EventSchema;
use byoc_core::ids;
use byoc_core::permissions::{builtin_profiles, event_access};
use byoc_core::{Actor, SetupAction};
use byoc_proto::setup::FieldType as DefinedType;
use byoc_proto::setup::{
    AppKind, ChannelType, PermissionSet, PermittedUsers, PlatformEventDefinition, UserPermission,
};
use byoc_soql::{Dataset, FieldDef, FieldType, ObjectDef, Row, Value};
use sha2::{Digest, Sha256};

use super::RestState;
use crate::admin_api::ApiError;
use crate::setup_service::ServiceError;

/// The most rows of one object a query sees (the newest ones): bounds the memory of a query.
pub const MAX_ROWS: i64 = 50_000;

/// Which catalog: `/query` (the data API) or `/tooling/query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Data,
    Tooling,
}

/// Who may see an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Everyone,
    Setup,
    Messaging,
}

/// What the acting user may see.
#[derive(Debug, Clone, Copy)]
pub struct Visibility {
    view_setup: bool,
    messaging: bool,
}

impl Visibility {
    pub fn of(actor: &Actor) -> Visibility {
        let view_setup = actor.authorize(SetupAction::ViewSetup).is_ok();
        let messaging = actor.user.is_active
            && (view_setup || actor.permissions.contains(&UserPermission::MessagingUser));
        Visibility {
            view_setup,
            messaging,
        }
    }

    fn allows(self, rule: Rule) -> bool {
        match rule {
            Rule::Everyone => true,
            Rule::Setup => self.view_setup,
            Rule::Messaging => self.messaging,
        }
    }
}

pub(crate) fn store_error(e: byoc_store::StoreError) -> ApiError {
    ServiceError::Store(e).into()
}

fn object(name: &str, label: &str, plural: &str, prefix: &str, fields: Vec<FieldDef>) -> ObjectDef {
    ObjectDef {
        name: name.into(),
        label: label.into(),
        label_plural: plural.into(),
        key_prefix: Some(prefix.into()),
        custom: false,
        queryable: true,
        createable: false,
        updateable: false,
        deletable: false,
        fields,
    }
}

fn f(name: &str, label: &str, t: FieldType) -> FieldDef {
    FieldDef::new(name, label, t)
}

fn reference(name: &str, label: &str, target: &str, relationship: &str) -> FieldDef {
    FieldDef::reference(name, label, target, relationship)
}

fn picklist(name: &str, label: &str, values: &[&str]) -> FieldDef {
    FieldDef {
        picklist_values: values.iter().map(|v| v.to_string()).collect(),
        ..f(name, label, FieldType::Picklist)
    }
}

/// A lookup with no relationship name in Salesforce's describe (e.g. `LoginHistory.UserId`).
fn plain_reference(name: &str, label: &str, target: &str) -> FieldDef {
    FieldDef {
        reference_to: vec![target.into()],
        ..f(name, label, FieldType::Reference)
    }
}

fn id_field(label: &str) -> FieldDef {
    f("Id", label, FieldType::Id)
}

fn created_date() -> FieldDef {
    f("CreatedDate", "Created Date", FieldType::Datetime)
}

/// `Permissions…` checkboxes of profiles and permission sets, for the permissions byoc models.
const PERMISSION_FIELDS: [(&str, &str, UserPermission); 5] = [
    (
        "PermissionsModifyAllData",
        "Modify All Data",
        UserPermission::ModifyAllData,
    ),
    (
        "PermissionsViewSetup",
        "View Setup and Configuration",
        UserPermission::ViewSetup,
    ),
    (
        "PermissionsCustomizeApplication",
        "Customize Application",
        UserPermission::CustomizeApplication,
    ),
    (
        "PermissionsManageProfilesPermissionsets",
        "Manage Profiles and Permission Sets",
        UserPermission::ManageProfilesPermissionSets,
    ),
    (
        "PermissionsManageExternalConnectedApps",
        "Create, edit, and delete External Client Apps",
        UserPermission::ManageExternalClientApps,
    ),
];

fn permission_fields() -> impl Iterator<Item = FieldDef> {
    PERMISSION_FIELDS
        .iter()
        .map(|(name, label, _)| f(name, label, FieldType::Boolean))
}

/// Every standard object byoc serves on `/query`, with who may see it.
fn standard_objects() -> Vec<(Rule, ObjectDef)> {
    use FieldType::*;
    vec![
        (
            Rule::Everyone,
            object(
                "Organization",
                "Organization",
                "Organizations",
                ids::prefix::ORGANIZATION,
                vec![
                    id_field("Organization ID"),
                    f("Name", "Name", String),
                    f("OrganizationType", "Edition", Picklist),
                    f("InstanceName", "Instance Name", String),
                    f("IsSandbox", "Is Sandbox", Boolean),
                    f("NamespacePrefix", "Namespace Prefix", String),
                    f("LanguageLocaleKey", "Locale", Picklist),
                    f("TimeZoneSidKey", "Default Time Zone", Picklist),
                    created_date(),
                ],
            ),
        ),
        (
            Rule::Everyone,
            object(
                "User",
                "User",
                "Users",
                ids::prefix::USER,
                vec![
                    id_field("User ID"),
                    f("Username", "Username", String),
                    f("Name", "Full Name", String),
                    f("Email", "Email", Email),
                    f("IsActive", "Active", Boolean),
                    reference("ProfileId", "Profile ID", "Profile", "Profile"),
                    picklist("UserType", "User Type", &["Standard"]),
                    created_date(),
                ],
            ),
        ),
        (
            Rule::Everyone,
            object(
                "Profile",
                "Profile",
                "Profiles",
                ids::prefix::PROFILE,
                [
                    id_field("Profile ID"),
                    f("Name", "Name", String),
                    picklist("UserType", "User Type", &["Standard"]),
                ]
                .into_iter()
                .chain(permission_fields())
                .collect(),
            ),
        ),
        (
            Rule::Setup,
            object(
                "PermissionSet",
                "Permission Set",
                "Permission Sets",
                ids::prefix::PERMISSION_SET,
                [
                    id_field("Permission Set ID"),
                    f("Name", "Name", String),
                    f("Label", "Label", String),
                    f("IsOwnedByProfile", "Is Owned By Profile", Boolean),
                    reference("ProfileId", "Profile ID", "Profile", "Profile"),
                    created_date(),
                ]
                .into_iter()
                .chain(permission_fields())
                .collect(),
            ),
        ),
        (
            Rule::Setup,
            object(
                "PermissionSetAssignment",
                "Permission Set Assignment",
                "Permission Set Assignments",
                PERMISSION_SET_ASSIGNMENT,
                vec![
                    id_field("Permission Set Assignment ID"),
                    reference("AssigneeId", "Assignee ID", "User", "Assignee"),
                    reference(
                        "PermissionSetId",
                        "Permission Set ID",
                        "PermissionSet",
                        "PermissionSet",
                    ),
                    f("IsActive", "Is Active", Boolean),
                ],
            ),
        ),
        (
            Rule::Setup,
            object(
                "ObjectPermissions",
                "Object Permissions",
                "Object Permissions",
                OBJECT_PERMISSIONS,
                vec![
                    id_field("Object Permissions ID"),
                    reference("ParentId", "Parent ID", "PermissionSet", "Parent"),
                    f("SobjectType", "Sobject Type Name", Picklist),
                    f("PermissionsRead", "Read", Boolean),
                    f("PermissionsCreate", "Create", Boolean),
                    f("PermissionsEdit", "Edit", Boolean),
                    f("PermissionsDelete", "Delete", Boolean),
                    f("PermissionsViewAllRecords", "View All", Boolean),
                    f("PermissionsModifyAllRecords", "Modify All", Boolean),
                ],
            ),
        ),
        (
            Rule::Setup,
            object(
                "ConnectedApplication",
                "Connected App",
                "Connected Apps",
                ids::prefix::CONNECTED_APPLICATION,
                vec![
                    id_field("Connected App ID"),
                    f("Name", "Connected App Name", String),
                    f(
                        "OptionsAllowAdminApprovedUsersOnly",
                        "Admin Approved Users Only",
                        Boolean,
                    ),
                    created_date(),
                    f("LastModifiedDate", "Last Modified Date", Datetime),
                ],
            ),
        ),
        (
            Rule::Setup,
            object(
                "ExternalClientApplication",
                "External Client App",
                "External Client Apps",
                ids::prefix::EXTERNAL_CLIENT_APPLICATION,
                vec![
                    id_field("External Client App ID"),
                    f("DeveloperName", "API Name", String),
                    f("MasterLabel", "External Client App Name", String),
                    f("Description", "Description", Textarea),
                    f("ContactEmail", "Contact Email", Email),
                    picklist(
                        "DistributionState",
                        "Distribution State",
                        &["Local", "Packaged"],
                    ),
                    created_date(),
                    f("LastModifiedDate", "Last Modified Date", Datetime),
                ],
            ),
        ),
        (
            Rule::Setup,
            object(
                "MessagingChannel",
                "Messaging Channel",
                "Messaging Channels",
                ids::prefix::MESSAGING_CHANNEL,
                vec![
                    id_field("Messaging Channel ID"),
                    f("DeveloperName", "Channel Developer Name", String),
                    f("MasterLabel", "Channel Name", String),
                    picklist("MessageType", "Message Type", &MESSAGE_TYPES),
                    f("MessagingPlatformKey", "Platform Key", String),
                    f("IsActive", "Active", Boolean),
                    reference(
                        "ChannelDefinitionId",
                        "Channel Definition ID",
                        "ConversationChannelDefinition",
                        "ChannelDefinition",
                    ),
                    created_date(),
                ],
            ),
        ),
        (
            Rule::Setup,
            object(
                "ContactCenterChannel",
                "Contact Center Channel",
                "Contact Center Channels",
                CONTACT_CENTER_CHANNEL,
                vec![
                    id_field("Contact Center Channel ID"),
                    f("Name", "Name", String),
                    f("InternalName", "Internal Name", String),
                    reference("ChannelId", "Channel ID", "MessagingChannel", "Channel"),
                    created_date(),
                ],
            ),
        ),
        (
            Rule::Messaging,
            object(
                "MessagingEndUser",
                "Messaging User",
                "Messaging Users",
                MESSAGING_END_USER,
                vec![
                    id_field("Messaging User ID"),
                    f("Name", "Messaging User Name", String),
                    reference(
                        "MessagingChannelId",
                        "Messaging Channel ID",
                        "MessagingChannel",
                        "MessagingChannel",
                    ),
                    f("MessagingPlatformKey", "Messaging Platform Key", String),
                    picklist("MessageType", "Message Type", &MESSAGE_TYPES),
                    picklist(
                        "MessagingConsentStatus",
                        "Consent Status",
                        &["ImplicitlyOptedIn", "ExplicitlyOptedIn", "OptedOut"],
                    ),
                    created_date(),
                ],
            ),
        ),
        (
            Rule::Messaging,
            object(
                "MessagingSession",
                "Messaging Session",
                "Messaging Sessions",
                MESSAGING_SESSION,
                vec![
                    id_field("Messaging Session ID"),
                    reference(
                        "MessagingEndUserId",
                        "Messaging User ID",
                        "MessagingEndUser",
                        "MessagingEndUser",
                    ),
                    reference(
                        "MessagingChannelId",
                        "Messaging Channel ID",
                        "MessagingChannel",
                        "MessagingChannel",
                    ),
                    picklist(
                        "Status",
                        "Status",
                        &["New", "Waiting", "Active", "Inactive", "Ended", "Error"],
                    ),
                    f("StartTime", "Start Time", Datetime),
                    f("EndTime", "End Time", Datetime),
                    f("ConversationIdentifier", "Conversation Identifier", String),
                    created_date(),
                ],
            ),
        ),
        (
            Rule::Messaging,
            object(
                "ConversationEntry",
                "Conversation Entry",
                "Conversation Entries",
                CONVERSATION_ENTRY,
                vec![
                    id_field("Conversation Entry ID"),
                    reference(
                        "ConversationId",
                        "Conversation ID",
                        "MessagingSession",
                        "Conversation",
                    ),
                    FieldDef {
                        reference_to: vec!["MessagingEndUser".into(), "User".into()],
                        relationship_name: Some("Actor".into()),
                        ..f("ActorId", "Actor ID", Reference)
                    },
                    f("ActorName", "Actor Name", String),
                    picklist(
                        "ActorType",
                        "Actor Type",
                        &["Agent", "Bot", "EndUser", "Supervisor", "System"],
                    ),
                    f("EntryType", "Entry Type", Picklist),
                    f("Message", "Message", Textarea),
                    f("MessageIdentifier", "Message Identifier", String),
                    f("EntryTime", "Entry Start Time", Datetime),
                    f("ClientTimestamp", "ClientTimestamp", Datetime),
                    f("Seq", "Sequence", Int),
                    created_date(),
                ],
            ),
        ),
        (
            Rule::Setup,
            object(
                "LoginHistory",
                "Login History",
                "Login History",
                LOGIN_HISTORY,
                vec![
                    id_field("Login History ID"),
                    plain_reference("UserId", "User ID", "User"),
                    f("LoginTime", "Login Time", Datetime),
                    picklist("LoginType", "Login Type", &["Remote Access 2.0"]),
                    f("Status", "Status", String),
                    f("Application", "Application", String),
                    f("SourceIp", "Source IP", String),
                    f("Browser", "Browser", String),
                    f("Platform", "Platform", String),
                ],
            ),
        ),
        (
            Rule::Setup,
            object(
                "SetupAuditTrail",
                "Audit Trail",
                "Audit Trails",
                SETUP_AUDIT_TRAIL,
                vec![
                    id_field("Setup Audit Trail ID"),
                    f("Action", "Action", String),
                    f("Section", "Section", String),
                    f("Display", "Display", String),
                    reference("CreatedById", "User ID", "User", "CreatedBy"),
                    created_date(),
                ],
            ),
        ),
    ]
}

const PERMISSION_SET_ASSIGNMENT: &str = "0Pa";
const OBJECT_PERMISSIONS: &str = "110";
/// byoc's choice (Salesforce's prefix is not documented): docs/rest-api.md.
const CONTACT_CENTER_CHANNEL: &str = "0Zy";
const MESSAGING_END_USER: &str = "0PA";
const MESSAGING_SESSION: &str = "0Mw";
/// byoc's choice (Salesforce's prefix is not documented): docs/rest-api.md.
const CONVERSATION_ENTRY: &str = "0XZ";
const LOGIN_HISTORY: &str = "0Ya";
const SETUP_AUDIT_TRAIL: &str = "0Ym";
/// Platform events' key prefix in byoc (each event has its own in Salesforce).
pub const PLATFORM_EVENT: &str = "e00";

const MESSAGE_TYPES: [&str; 7] = [
    "Custom",
    "EmbeddedMessaging",
    "WhatsApp",
    "Text",
    "Facebook",
    "AppleBusinessChat",
    "Line",
];

/// `MessagingChannel.MessageType` of a channel type.
fn message_type(t: ChannelType) -> &'static str {
    match t {
        ChannelType::ByocMessaging | ChannelType::ByocCcaas => "Custom",
        ChannelType::EnhancedWebChat | ChannelType::EnhancedInAppChat => "EmbeddedMessaging",
        ChannelType::WhatsApp => "WhatsApp",
        ChannelType::Sms => "Text",
        ChannelType::FacebookMessenger => "Facebook",
        ChannelType::AppleMessagesForBusiness => "AppleBusinessChat",
        ChannelType::Line => "Line",
    }
}

/// The describe of a platform event: Salesforce's standard fields and the event's custom fields
/// with their types (Text `string`, Text Area (Long) `textarea`, Number `double`, Checkbox
/// `boolean`, Date/Time `datetime`, Date `date`); labels from the definition when there is one.
pub fn event_object(
    schema: &EventSchema,
    definition: Option<&PlatformEventDefinition>,
    createable: bool,
) -> ObjectDef {
    let name = schema.event_name();
    let label = definition
        .map(|d| d.label.clone())
        .unwrap_or_else(|| name.trim_end_matches("__e").replace('_', " "));
    let label_plural = definition
        .map(|d| d.plural_label.clone())
        .unwrap_or_else(|| label.clone());
    let mut fields = vec![
        FieldDef {
            nillable: true,
            ..f("ReplayId", "Replay ID", FieldType::String)
        },
        created_date(),
        reference("CreatedById", "Created By ID", "User", "CreatedBy"),
        f("EventUuid", "Event UUID", FieldType::String),
    ];
    for custom in schema.fields() {
        let defined = definition.and_then(|d| {
            d.fields
                .iter()
                .find(|f| f.full_name.eq_ignore_ascii_case(&custom.name))
        });
        let field_label = defined
            .map(|d| d.label.clone())
            .unwrap_or_else(|| custom.name.trim_end_matches("__c").replace('_', " "));
        let (t, length) = match custom.field_type {
            // An undefined event's fields have no length: byoc described them as long text.
            DefinedType::Text if custom.length.is_some() => (FieldType::String, custom.length),
            DefinedType::Text | DefinedType::LongTextArea => (FieldType::Textarea, custom.length),
            DefinedType::Number => (FieldType::Double, None),
            DefinedType::Checkbox => (FieldType::Boolean, None),
            DefinedType::DateTime => (FieldType::Datetime, None),
            DefinedType::Date => (FieldType::Date, None),
        };
        let mut def = FieldDef {
            createable,
            filterable: false,
            sortable: false,
            ..f(&custom.name, &field_label, t)
        };
        if let Some(n) = length {
            def.length = n;
        }
        // A required field can't be published empty: describe says so, as Salesforce's does.
        if custom.required {
            def.nillable = false;
        }
        fields.push(def);
    }
    ObjectDef {
        name: name.into(),
        label,
        label_plural,
        key_prefix: Some(PLATFORM_EVENT.into()),
        custom: true,
        queryable: false,
        createable,
        updateable: false,
        deletable: false,
        fields,
    }
}

/// Every object the actor may see in `api`'s catalog: queryable objects and, on the data API,
/// the platform events they may read or publish.
pub async fn catalog(
    state: &RestState,
    actor: &Actor,
    api: Api,
) -> Result<Vec<ObjectDef>, ApiError> {
    let vis = Visibility::of(actor);
    let mut out = Vec::new();
    if api == Api::Data {
        out.extend(
            standard_objects()
                .into_iter()
                .filter(|(rule, _)| vis.allows(*rule))
                .map(|(_, o)| o),
        );
    }
    if vis.allows(Rule::Setup) {
        out.push(super::tooling::ccd_object());
        out.push(super::tooling::vendor_info_object());
    }
    if api == Api::Data && actor.user.is_active {
        let topics = state.bus.topics().await.map_err(store_error)?;
        if !topics.is_empty() {
            let sets = state
                .admin
                .setup
                .store()
                .permission_sets()
                .await
                .map_err(store_error)?;
            for topic in topics {
                let name = topic.schema.event_name();
                let access = event_access(&actor.user, &sets, name);
                if access.read || access.create {
                    out.push(event_object(
                        &topic.schema,
                        topic.definition.as_ref(),
                        access.create,
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The 18-character form of a 15-character id (other strings as they are).
pub fn id18(id: &str) -> String {
    ids::to_18(id).unwrap_or_else(|| id.to_string())
}

/// A stable 15-character id for a row byoc keys by number (`0XZ` + the number in base 62).
pub fn seq_id(prefix: &str, seq: i64) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = seq.max(0) as u64;
    let mut digits = [b'0'; 12];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let mut id = prefix.to_string();
    id.push_str(std::str::from_utf8(&digits).unwrap_or("000000000000"));
    id18(&id)
}

/// A stable id for a row byoc derives from others (an assignment from its user and set).
fn derived_id(prefix: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let mut entropy = [0u8; 12];
    entropy.copy_from_slice(&digest[..12]);
    id18(&ids::new_id(prefix, &entropy))
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn opt(v: Option<&str>) -> Value {
    v.map(s).unwrap_or(Value::Null)
}

/// The messaging sessions (15-character ids) a `ConversationEntry` query is limited to by its
/// `ConversationId = …` or `ConversationId IN (…)` term, if it has one of at most 100 values.
/// A value that is not an id matches no entry, and is dropped (the plan has already refused
/// malformed id literals).
fn entry_sessions(plan: Option<&byoc_soql::Plan>) -> Option<Vec<String>> {
    let plan = plan.filter(|p| p.object.name == "ConversationEntry")?;
    let values = plan.required_values("ConversationId")?;
    if values.len() > 100 {
        return None;
    }
    Some(
        values
            .iter()
            .filter(|v| byoc_core::ids::is_valid_id(v))
            .map(|v| v[..15].to_string())
            .collect(),
    )
}

fn id_value(id: &str) -> Value {
    Value::String(id18(id))
}

fn row<const N: usize>(id: String, values: [(&str, Value); N]) -> Row {
    let mut map: HashMap<String, Value> = HashMap::with_capacity(N + 1);
    map.insert("Id".into(), Value::String(id.clone()));
    for (k, v) in values {
        map.insert(k.to_string(), v);
    }
    Row { id, values: map }
}

fn permission_values(perms: &[UserPermission]) -> impl Iterator<Item = (&'static str, Value)> + '_ {
    PERMISSION_FIELDS
        .iter()
        .map(move |(name, _, p)| (*name, Value::Bool(perms.contains(p))))
}

fn with_values(mut r: Row, extra: impl Iterator<Item = (&'static str, Value)>) -> Row {
    for (k, v) in extra {
        r.values.insert(k.into(), v);
    }
    r
}

/// The rows of `objects` (canonical names from [`byoc_soql::Plan::objects`]); one store call per
/// object, so the cost does not grow with round trips. With the query's `plan`, a
/// `ConversationEntry` query filtered on `ConversationId` reads only those conversations'
/// entries ([`byoc_soql::Plan::required_values`]; the whole filter still runs on what is read).
pub async fn load(
    state: &RestState,
    objects: &[&str],
    plan: Option<&byoc_soql::Plan>,
) -> Result<Dataset, ApiError> {
    let store = state.admin.setup.store();
    let mut data = Dataset::default();
    let mut ccds_loaded = false;
    for &name in objects {
        if data.rows.contains_key(name) {
            continue;
        }
        let rows: Vec<Row> = match name {
            "Organization" => {
                let org = state.admin.setup.org().await?;
                vec![row(
                    id18(&org.id),
                    [
                        ("Name", s(&org.name)),
                        ("OrganizationType", s("Developer Edition")),
                        ("InstanceName", s("BYOC")),
                        ("IsSandbox", Value::Bool(false)),
                        ("NamespacePrefix", Value::Null),
                        ("LanguageLocaleKey", s("en_US")),
                        ("TimeZoneSidKey", s("GMT")),
                        ("CreatedDate", Value::DateTime(org.created_at)),
                    ],
                )]
            }
            "User" => {
                let profiles = builtin_profiles();
                store
                    .users()
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(|u| {
                        let profile = profiles
                            .iter()
                            .find(|p| p.name.eq_ignore_ascii_case(&u.profile))
                            .map(|p| id18(&p.id));
                        row(
                            id18(&u.id),
                            [
                                ("Username", s(&u.username)),
                                ("Name", s(&u.username)),
                                ("Email", s(&u.email)),
                                ("IsActive", Value::Bool(u.is_active)),
                                ("ProfileId", opt(profile.as_deref())),
                                ("UserType", s("Standard")),
                                ("CreatedDate", Value::DateTime(u.created_at)),
                            ],
                        )
                    })
                    .collect()
            }
            "Profile" => builtin_profiles()
                .iter()
                .map(|p| {
                    with_values(
                        row(
                            id18(&p.id),
                            [("Name", s(&p.name)), ("UserType", s("Standard"))],
                        ),
                        permission_values(&p.permissions),
                    )
                })
                .collect(),
            "PermissionSet" => permission_sets(state)
                .await?
                .iter()
                .map(|ps| {
                    with_values(
                        row(
                            id18(&ps.id),
                            [
                                ("Name", s(&ps.name)),
                                ("Label", s(&ps.label)),
                                ("IsOwnedByProfile", Value::Bool(false)),
                                ("ProfileId", Value::Null),
                                ("CreatedDate", Value::DateTime(ps.created_at)),
                            ],
                        ),
                        permission_values(&ps.permissions),
                    )
                })
                .collect(),
            "PermissionSetAssignment" => {
                let sets = permission_sets(state).await?;
                let mut rows = Vec::new();
                for u in store.users().await.map_err(store_error)? {
                    for name in &u.permission_sets {
                        if let Some(ps) = sets.iter().find(|p| p.name.eq_ignore_ascii_case(name)) {
                            rows.push(row(
                                derived_id(PERMISSION_SET_ASSIGNMENT, &[&u.id, &ps.id]),
                                [
                                    ("AssigneeId", id_value(&u.id)),
                                    ("PermissionSetId", id_value(&ps.id)),
                                    ("IsActive", Value::Bool(u.is_active)),
                                ],
                            ));
                        }
                    }
                }
                rows
            }
            "ObjectPermissions" => {
                let mut rows = Vec::new();
                for ps in permission_sets(state).await? {
                    for op in &ps.object_permissions {
                        rows.push(row(
                            derived_id(OBJECT_PERMISSIONS, &[&ps.id, &op.object]),
                            [
                                ("ParentId", id_value(&ps.id)),
                                ("SobjectType", s(&op.object)),
                                ("PermissionsRead", Value::Bool(op.allow_read)),
                                ("PermissionsCreate", Value::Bool(op.allow_create)),
                                ("PermissionsEdit", Value::Bool(false)),
                                ("PermissionsDelete", Value::Bool(false)),
                                ("PermissionsViewAllRecords", Value::Bool(false)),
                                ("PermissionsModifyAllRecords", Value::Bool(false)),
                            ],
                        ));
                    }
                }
                rows
            }
            "ConnectedApplication" => store
                .apps(AppKind::ConnectedApp)
                .await
                .map_err(store_error)?
                .iter()
                .map(|a| {
                    row(
                        id18(&a.id),
                        [
                            ("Name", s(&a.name)),
                            (
                                "OptionsAllowAdminApprovedUsersOnly",
                                Value::Bool(matches!(
                                    a.policies.permitted_users,
                                    PermittedUsers::AdminApprovedPreAuthorized
                                )),
                            ),
                            ("CreatedDate", Value::DateTime(a.created_at)),
                            ("LastModifiedDate", Value::DateTime(a.updated_at)),
                        ],
                    )
                })
                .collect(),
            "ExternalClientApplication" => store
                .apps(AppKind::ExternalClientApp)
                .await
                .map_err(store_error)?
                .iter()
                .map(|a| {
                    row(
                        id18(&a.id),
                        [
                            ("DeveloperName", s(&a.api_name)),
                            ("MasterLabel", s(&a.name)),
                            ("Description", s(&a.description)),
                            ("ContactEmail", s(&a.contact_email)),
                            (
                                "DistributionState",
                                s(a.distribution_state.as_deref().unwrap_or("Local")),
                            ),
                            ("CreatedDate", Value::DateTime(a.created_at)),
                            ("LastModifiedDate", Value::DateTime(a.updated_at)),
                        ],
                    )
                })
                .collect(),
            "MessagingChannel" | "ContactCenterChannel" => {
                let channels = store.channels().await.map_err(store_error)?;
                let ccds = state.admin.setup.ccd_records().await?;
                let ccd_id = |dev: &str| {
                    ccds.iter()
                        .find(|c| c.ccd.developer_name.eq_ignore_ascii_case(dev))
                        .map(|c| id18(&c.id))
                };
                if name == "MessagingChannel" {
                    channels
                        .iter()
                        .map(|c| {
                            let ccd = c
                                .conversation_channel_definition
                                .as_ref()
                                .and_then(|d| ccd_id(&d.developer_name));
                            row(
                                id18(&c.id),
                                [
                                    ("DeveloperName", s(&c.developer_name)),
                                    ("MasterLabel", s(&c.name)),
                                    ("MessageType", s(message_type(c.channel_type))),
                                    ("MessagingPlatformKey", s(&c.channel_address_identifier)),
                                    ("IsActive", Value::Bool(c.is_active)),
                                    ("ChannelDefinitionId", opt(ccd.as_deref())),
                                    ("CreatedDate", Value::DateTime(c.created_at)),
                                ],
                            )
                        })
                        .collect()
                } else {
                    channels
                        .iter()
                        .filter(|c| c.channel_type == ChannelType::ByocCcaas)
                        .map(|c| {
                            row(
                                derived_id(CONTACT_CENTER_CHANNEL, &[&c.id]),
                                [
                                    ("Name", s(&c.name)),
                                    ("InternalName", s(&c.developer_name)),
                                    ("ChannelId", id_value(&c.id)),
                                    ("CreatedDate", Value::DateTime(c.created_at)),
                                ],
                            )
                        })
                        .collect()
                }
            }
            "MessagingEndUser" => {
                let channels = store.channels().await.map_err(store_error)?;
                let types: HashMap<&str, ChannelType> = channels
                    .iter()
                    .map(|c| (c.id.as_str(), c.channel_type))
                    .collect();
                store
                    .repo()
                    .end_user_objects(MAX_ROWS)
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(|u| {
                        let mt = types.get(u.channel_id.as_str()).map(|t| message_type(*t));
                        row(
                            id18(&u.id),
                            [
                                ("Name", s(&u.client_id)),
                                ("MessagingChannelId", id_value(&u.channel_id)),
                                ("MessagingPlatformKey", s(&u.client_id)),
                                ("MessageType", opt(mt)),
                                ("MessagingConsentStatus", opt(u.consent_status.as_deref())),
                                ("CreatedDate", Value::DateTime(u.created_at)),
                            ],
                        )
                    })
                    .collect()
            }
            "MessagingSession" => store
                .repo()
                .session_objects(MAX_ROWS)
                .await
                .map_err(store_error)?
                .iter()
                .map(|m| {
                    row(
                        id18(&m.id),
                        [
                            ("MessagingEndUserId", id_value(&m.end_user_id)),
                            ("MessagingChannelId", id_value(&m.channel_id)),
                            ("Status", s(&m.status)),
                            ("StartTime", Value::DateTime(m.started_at)),
                            (
                                "EndTime",
                                m.ended_at.map(Value::DateTime).unwrap_or(Value::Null),
                            ),
                            ("ConversationIdentifier", s(&m.conversation_id)),
                            ("CreatedDate", Value::DateTime(m.started_at)),
                        ],
                    )
                })
                .collect(),
            "ConversationEntry" => match entry_sessions(plan) {
                Some(sessions) => store
                    .repo()
                    .entry_objects_in_sessions(&sessions, MAX_ROWS)
                    .await
                    .map_err(store_error)?,
                None => store
                    .repo()
                    .entry_objects(MAX_ROWS)
                    .await
                    .map_err(store_error)?,
            }
            .iter()
            .map(|e| {
                let actor_type = match e.sender_role.as_str() {
                    "Chatbot" => "Bot",
                    other => other,
                };
                let actor_id = match (actor_type, &e.end_user_id) {
                    ("EndUser", Some(id)) => id_value(id),
                    _ => Value::Null,
                };
                let entry_type = match e.entry_type.as_str() {
                    "Message" => "Text",
                    other => other,
                };
                row(
                    seq_id(CONVERSATION_ENTRY, e.seq),
                    [
                        (
                            "ConversationId",
                            e.session_id.as_deref().map(id_value).unwrap_or(Value::Null),
                        ),
                        ("ActorId", actor_id),
                        ("ActorName", s(&e.sender_subject)),
                        ("ActorType", s(actor_type)),
                        ("EntryType", s(entry_type)),
                        ("Message", opt(e.text.as_deref())),
                        ("MessageIdentifier", s(&e.entry_id)),
                        ("EntryTime", Value::DateTime(e.server_timestamp)),
                        ("ClientTimestamp", Value::DateTime(e.client_timestamp)),
                        ("Seq", Value::Int(e.seq)),
                        ("CreatedDate", Value::DateTime(e.server_timestamp)),
                    ],
                )
            })
            .collect(),
            "LoginHistory" => store
                .repo()
                .login_objects(MAX_ROWS)
                .await
                .map_err(store_error)?
                .iter()
                .map(|l| {
                    let status = if l.status.eq_ignore_ascii_case("success") {
                        "Success".to_string()
                    } else {
                        l.error_description
                            .clone()
                            .unwrap_or_else(|| l.status.clone())
                    };
                    row(
                        seq_id(LOGIN_HISTORY, l.seq),
                        [
                            (
                                "UserId",
                                l.user_id.as_deref().map(id_value).unwrap_or(Value::Null),
                            ),
                            ("LoginTime", Value::DateTime(l.login_time)),
                            ("LoginType", s(&l.login_type)),
                            ("Status", Value::String(status)),
                            ("Application", opt(l.application.as_deref())),
                            ("SourceIp", opt(l.source_ip.as_deref())),
                            ("Browser", s("Unknown")),
                            ("Platform", s("Unknown")),
                        ],
                    )
                })
                .collect(),
            "SetupAuditTrail" => {
                let users: HashMap<String, String> = store
                    .users()
                    .await
                    .map_err(store_error)?
                    .into_iter()
                    .map(|u| (u.username.to_lowercase(), id18(&u.id)))
                    .collect();
                let mut entries = store
                    .repo()
                    .audit_trail_page(byoc_store::Page::First, MAX_ROWS)
                    .await
                    .map_err(store_error)?;
                entries.reverse();
                entries
                    .iter()
                    .map(|(seq, a)| {
                        row(
                            seq_id(SETUP_AUDIT_TRAIL, *seq),
                            [
                                ("Action", s(&a.action)),
                                ("Section", s(&a.section)),
                                ("Display", s(&a.action)),
                                (
                                    "CreatedById",
                                    opt(users
                                        .get(&a.created_by.to_lowercase())
                                        .map(String::as_str)),
                                ),
                                ("CreatedDate", Value::DateTime(a.created_date)),
                            ],
                        )
                    })
                    .collect()
            }
            "ConversationChannelDefinition" | "ConversationVendorInfo" => {
                if !ccds_loaded {
                    let records = state.admin.setup.ccd_records().await?;
                    super::tooling::ccd_rows(&records, &mut data);
                    // The contract is 18-character ids; make sure of it (no-op on 18).
                    for object in ["ConversationChannelDefinition", "ConversationVendorInfo"] {
                        for r in data.rows.get_mut(object).into_iter().flatten() {
                            r.id = id18(&r.id);
                            for (field, value) in r.values.iter_mut() {
                                if let (true, Value::String(v)) =
                                    (field.ends_with("Id"), &mut *value)
                                {
                                    *v = id18(v);
                                }
                            }
                        }
                    }
                    ccds_loaded = true;
                }
                continue;
            }
            // Platform events and unknown names have no rows.
            _ => Vec::new(),
        };
        data.rows.insert(name.to_string(), rows);
    }
    Ok(data)
}

async fn permission_sets(state: &RestState) -> Result<Vec<PermissionSet>, ApiError> {
    state
        .admin
        .setup
        .store()
        .permission_sets()
        .await
        .map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_valid_and_18_characters() {
        let a = seq_id(CONVERSATION_ENTRY, 12345);
        assert_eq!(a, seq_id(CONVERSATION_ENTRY, 12345));
        assert_ne!(a, seq_id(CONVERSATION_ENTRY, 12346));
        assert!(a.starts_with("0XZ") && ids::is_valid_id(&a), "{a}");
        let b = derived_id(PERMISSION_SET_ASSIGNMENT, &["005x", "0PSy"]);
        assert_eq!(b, derived_id(PERMISSION_SET_ASSIGNMENT, &["005x", "0PSy"]));
        assert_ne!(b, derived_id(PERMISSION_SET_ASSIGNMENT, &["005x0", "PSy"]));
        assert!(ids::is_valid_id(&b), "{b}");
    }

    #[test]
    fn every_object_has_an_id_field_and_unique_field_names() {
        for (_, o) in standard_objects() {
            assert_eq!(o.fields[0].name, "Id", "{}", o.name);
            let mut names: Vec<_> = o.fields.iter().map(|f| f.name.to_lowercase()).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), o.fields.len(), "{}", o.name);
            for f in o.fields.iter().filter(|f| f.relationship_name.is_some()) {
                assert_eq!(f.field_type, FieldType::Reference, "{}.{}", o.name, f.name);
            }
        }
    }
}
