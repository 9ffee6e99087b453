//! Requests and responses of byoc's admin API (`/admin/v1/...` on the login host).
//!
//! Salesforce's own setup is done in the Setup UI and the Metadata API; byoc exposes the same
//! actions as a small JSON API so that they can be scripted. Errors use the Salesforce REST error
//! shape: `[{"message": "...", "errorCode": "..."}]`.

use serde::{Deserialize, Serialize};

use crate::setup::{
    AppManagedBy, IpRelaxation, ObjectPermissions, Owner, PermittedUsers, UserPermission,
};

/// Header that makes the admin API act as another user of the org (like Setup's *Login As*).
pub const ACT_AS_HEADER: &str = "X-Byoc-As";

/// One entry of a Salesforce REST error response (the body is an array of these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestError {
    pub message: String,
    pub error_code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// A successful write, with the warnings Setup would have shown (e.g. on Permitted Users).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved<T> {
    pub record: T,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOrg {
    pub allow_connected_app_creation: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
    pub profile: String,
    #[serde(default)]
    pub permission_sets: Vec<String>,
    #[serde(default = "yes")]
    pub is_active: bool,
}

/// Change a user; fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUser {
    /// *Active*: `false` deactivates the user (their access tokens stop working).
    #[serde(default)]
    pub is_active: Option<bool>,
    /// *Profile*, by name (e.g. "Standard User"); you can't change your own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// *Permission Set Assignments*, by API name: replaces the user's assignments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_sets: Option<Vec<String>>,
}

/// `PUT /admin/v1/users/{username}/password`: the user's new password (Setup's *Set Password*).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPassword {
    pub password: String,
}

impl std::fmt::Debug for SetPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPassword")
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The answer of `POST /admin/v1/users/{username}/password/reset`: the generated temporary
/// password, shown this once (byoc sends no email).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReset {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReset")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewPermissionSet {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub permissions: Vec<UserPermission>,
    /// Read/Create on platform events, e.g. `{"object": "Byoc_Outbound__e", "allowRead": true}`.
    #[serde(default)]
    pub object_permissions: Vec<ObjectPermissions>,
}

/// `PATCH /admin/v1/permission-sets/{name}`: the fields given replace the stored ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatePermissionSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<UserPermission>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_permissions: Option<Vec<ObjectPermissions>>,
}

/// Create (all required fields set) or update (only the given fields change) an app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub callback_urls: Option<Vec<String>>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub jwt_bearer_enabled: Option<bool>,
    #[serde(default)]
    pub client_credentials_enabled: Option<bool>,
    /// *Enable OAuth*: `false` disables the app's OAuth (its access tokens stop working).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_enabled: Option<bool>,
    /// PEM of the certificate to upload; an empty string removes it.
    #[serde(default)]
    pub certificate_pem: Option<String>,
}

/// Change an app's OAuth policies; fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInput {
    #[serde(default)]
    pub permitted_users: Option<PermittedUsers>,
    /// Replaces the assigned profiles when given.
    #[serde(default)]
    pub profiles: Option<Vec<String>>,
    /// Replaces the assigned permission sets when given.
    #[serde(default)]
    pub permission_sets: Option<Vec<String>>,
    #[serde(default)]
    pub ip_relaxation: Option<IpRelaxation>,
    #[serde(default)]
    pub session_timeout_minutes: Option<u32>,
    /// *Client Credentials Flow › Run As*: a username; an empty string removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_username: Option<String>,
}

/// `POST /admin/v1/external-client-apps/{name}/consumer-details` (and `connected-apps`):
/// Setup's *Consumer Key and Secret*, recorded in the setup audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerDetails {
    pub consumer_key: String,
    pub consumer_secret: String,
}

/// `POST /admin/v1/permission-sets/{name}/assignments`: Setup's *Manage Assignments* on a
/// permission set — users to assign it to and users to remove it from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionSetAssignments {
    #[serde(default)]
    pub add_users: Vec<String>,
    #[serde(default)]
    pub remove_users: Vec<String>,
}

/// *Manage Profiles* / *Manage Permission Sets* on a connected app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentChange {
    #[serde(default)]
    pub add_profiles: Vec<String>,
    #[serde(default)]
    pub remove_profiles: Vec<String>,
    #[serde(default)]
    pub add_permission_sets: Vec<String>,
    #[serde(default)]
    pub remove_permission_sets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrateConnectedApp {
    pub from_connected_app: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewChannel {
    pub name: String,
    /// A `ChannelType` value or its command-line name (`byoc-messaging`, ...).
    pub channel_type: String,
    pub channel_address_identifier: String,
    #[serde(default)]
    pub app_managed_by: Option<AppManagedBy>,
    /// Defaults: Salesforce for BYOC Messaging, Partner for BYOC CCaaS.
    #[serde(default)]
    pub routing_owner: Option<Owner>,
    #[serde(default)]
    pub consent_owner: Option<Owner>,
    /// Build the channel on this existing Conversation Channel Definition (developer name; one
    /// created through the Tooling API and used by no channel yet) instead of creating one.
    #[serde(default)]
    pub conversation_channel_definition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkApp {
    /// Name or API name of the ECA or connected app.
    pub app: String,
}

/// `PATCH /admin/v1/ccds/{developerName}`: the CCD's platform event, the event fields it fills,
/// its label and owners (Setup's *Edit* of a Conversation Channel Definition; the Tooling API's
/// update). Fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCcd {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_label: Option<String>,
    /// `Name__e`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_platform_event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_event_payload_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_event_type_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_event_channel_address_id_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_event_recipient_field: Option<String>,
    /// `Salesforce` or `Partner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_owner: Option<String>,
    /// `Salesforce` or `Partner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_owner: Option<String>,
}

/// One access-token sealing key (`GET /admin/v1/token-keys`): its id, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenKey {
    /// 8 hex digits, also the first 4 bytes of every token the key sealed.
    pub key_id: String,
    /// When it starts (or started) minting, ms since the epoch.
    pub active_from: i64,
    /// `pending`, `current` or `retired`.
    pub state: String,
    /// For a retired key: when its tokens stop being accepted.
    #[serde(default)]
    pub verifies_until: Option<i64>,
}

/// `GET /admin/v1/token-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenKeys {
    pub keys: Vec<TokenKey>,
}

/// `POST /admin/v1/token-keys/rotate` (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedTokenKey {
    pub key_id: String,
    pub active_from: i64,
    pub keys: Vec<TokenKey>,
}

/// One call the request inspector kept (`GET /admin/v1/inspector/calls`): the host it reached,
/// who called, what was answered, and byoc's diagnosis of a failure. Request and response are
/// text with tokens, assertions, secrets and passwords masked and bodies cut at 4 KiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectedCall {
    /// Increasing per server instance.
    pub id: u64,
    /// When the call started, epoch milliseconds.
    pub at: i64,
    /// `token`, `interaction`, `pubSub` or `admin`.
    pub host: String,
    /// `POST /services/oauth2/token`, `Subscribe /event/...`.
    pub operation: String,
    #[serde(default)]
    pub app: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    /// HTTP status (`400`) or gRPC code name (`OK`, `PERMISSION_DENIED`).
    pub status: String,
    /// Salesforce's error code as the client saw it (`invalid_grant`, `10026`...).
    #[serde(default)]
    pub error_code: Option<String>,
    pub duration_micros: u64,
    #[serde(default)]
    pub diagnosis: Option<String>,
    /// The console page that fixes it (a path on the login host).
    #[serde(default)]
    pub fix_href: Option<String>,
    #[serde(default)]
    pub request: String,
    #[serde(default)]
    pub response: String,
}

impl InspectedCall {
    /// An HTTP status of 400 or more, or a gRPC code other than `OK`.
    pub fn failed(&self) -> bool {
        match self.status.parse::<u16>() {
            Ok(code) => code >= 400,
            Err(_) => !self.status.eq_ignore_ascii_case("OK"),
        }
    }
}

/// Filters of `GET /admin/v1/inspector/calls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectorQuery {
    /// `token`, `interaction`, `pubsub` or `admin`.
    #[serde(default)]
    pub host: Option<String>,
    /// Failed calls only.
    #[serde(default)]
    pub failed: bool,
    /// Text in the operation, caller, status, error code or diagnosis.
    #[serde(default)]
    pub q: Option<String>,
    /// At most this many (1..=1000; the server's default is 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `POST /admin/v1/reset` (docs/org-as-code.md, "Reset"). An empty body is `keepSetup: false`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetRequest {
    /// Keep the setup as it is now: empty conversations, events and logs only.
    #[serde(default)]
    pub keep_setup: bool,
}

/// A setup record a reset removed or put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetComponent {
    /// The record's kind as the store names it: `user`, `permission_set`,
    /// `external_client_app`, `connected_app`, `messaging_channel`,
    /// `conversation_channel_definition`, `platform_event`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

/// The answer of `POST /admin/v1/reset`: what went, with counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOutcome {
    pub keep_setup: bool,
    /// Rows deleted, by what they were (`conversations`, `conversationEntries`, `platformEvents`,
    /// `loginHistory`, `auditTrail`, ...), zeros included.
    pub removed: std::collections::BTreeMap<String, u64>,
    /// Setup records the seed doesn't have, deleted (empty with `keepSetup`).
    pub setup_removed: Vec<ResetComponent>,
    /// Seed records changed or deleted since, put back as the seed has them.
    pub setup_restored: Vec<ResetComponent>,
    /// When the seed was taken (ms since the epoch) and from what (`sample`, `empty`,
    /// `project DIR`, `existing`); absent when the org has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_taken_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_source: Option<String>,
}

/// `GET /admin/v1/clock` and the answer of `POST /admin/v1/clock`: the org's time
/// (docs/org-as-code.md, "The org clock").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgClockState {
    /// The org's time now, RFC 3339 with milliseconds, UTC (`2027-01-01T00:00:00.000Z`).
    pub now: String,
    /// How far the org's time is from real time (negative: behind).
    pub offset_millis: i64,
    /// Whether the org runs on real time (`offsetMillis` 0).
    pub real: bool,
    /// When (real time, RFC 3339) the clock was last moved; absent on real time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_at: Option<String>,
}

/// `POST /admin/v1/clock`: exactly one of the three.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveOrgClock {
    /// Move forward by a duration (`90s`, `15m`, `3h`, `2d`, `1h30m`; `-1h` moves back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance: Option<String>,
    /// Set the org's time to this RFC 3339 time; it runs on from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
    /// `true`: back to real time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real: Option<bool>,
}

/// Create or change a custom platform event (Setup > Platform Events > New Platform Event):
/// `POST /admin/v1/platform-events`, `PATCH /admin/v1/platform-events/{name}`. `None` leaves a
/// field as it is (on create: its default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformEventInput {
    /// API name, `Name__e` (`ns__Name__e` with a namespace); required on create, fixed after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plural_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<crate::setup::PlatformEventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_behavior: Option<crate::setup::PublishBehavior>,
    /// Create only: custom fields to add with the event, in this order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<CustomFieldInput>>,
}

/// Add or change a custom field of a platform event (Setup > Platform Events > the event >
/// Custom Fields & Relationships > New): `POST /admin/v1/platform-events/{name}/fields`,
/// `PATCH /admin/v1/platform-events/{name}/fields/{field}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldInput {
    /// API name, `Name__c`; required on add, fixed after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `Text`, `LongTextArea`, `Number`, `Checkbox`, `DateTime` or `Date`; required on add.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub field_type: Option<crate::setup::FieldType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_lines: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_help_text: Option<String>,
}
