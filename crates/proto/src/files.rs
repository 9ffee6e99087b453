//! Files in the data dir that other programs read.

use serde::{Deserialize, Serialize};

/// `DATA/org.json`, rewritten with the real bound addresses every time the server starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgFile {
    pub org_id: String,
    pub org_id_18: String,
    pub my_domain: String,
    pub login_url: String,
    pub instance_url: String,
    pub scrt_url: String,
    /// The login URL over HTTPS (certificate from the local CA, [`OrgFile::ca_cert`]); empty in
    /// an `org.json` written before byoc served HTTPS.
    #[serde(default)]
    pub login_url_https: String,
    /// The instance URL over HTTPS (the login/instance host's HTTPS port).
    #[serde(default)]
    pub instance_url_https: String,
    /// The Interaction API over HTTPS.
    #[serde(default)]
    pub scrt_url_https: String,
    /// `host:port` of the Pub/Sub API (gRPC over TLS).
    pub pubsub_endpoint: String,
    /// Path of the local CA certificate (PEM) that the Pub/Sub and HTTPS certificates chain to.
    pub ca_cert: String,
    pub admin_username: String,
    /// Bearer credential for the admin API, acting as `admin_username`.
    pub admin_token: String,
    /// The bootstrap admin's password for the console's login page, generated at first start.
    /// Left out once the admin has set another password (they know it) and on an instance that
    /// joined an org whose admin already had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<String>,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// The org clock when it is not real time (`byoc clock`, docs/org-as-code.md); absent on
    /// real time and in files written before the org clock existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<OrgFileClock>,
}

/// [`OrgFile::clock`]: how far the org's time is from real time, and the org's time when the
/// file was written (each instance rewrites the file when the clock moves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgFileClock {
    pub offset_millis: i64,
    /// RFC 3339 with milliseconds, UTC.
    pub now: String,
}

/// Variable names of `partner.env`, as Salesforce's public BYOC samples name them.
pub mod partner_env {
    pub const SF_CONSUMER_KEY: &str = "SF_CONSUMER_KEY";
    pub const SF_PRIVATE_KEY: &str = "SF_PRIVATE_KEY";
    pub const SF_AUDIENCE: &str = "SF_AUDIENCE";
    pub const SF_SUBJECT: &str = "SF_SUBJECT";
    pub const SF_AUTH_ENDPOINT: &str = "SF_AUTH_ENDPOINT";
    pub const SF_INSTANCE_URL: &str = "SF_INSTANCE_URL";
    pub const SF_SCRT_INSTANCE_URL: &str = "SF_SCRT_INSTANCE_URL";
    pub const SF_PUB_SUB_ENDPOINT: &str = "SF_PUB_SUB_ENDPOINT";
    pub const SF_PUB_SUB_TOPIC_NAME: &str = "SF_PUB_SUB_TOPIC_NAME";
    pub const SF_ORG_ID: &str = "SF_ORG_ID";
    pub const SF_AUTHORIZATION_CONTEXT: &str = "SF_AUTHORIZATION_CONTEXT";
    pub const CHANNEL_ADDRESS_IDENTIFIER: &str = "CHANNEL_ADDRESS_IDENTIFIER";
    pub const END_USER_CLIENT_IDENTIFIER: &str = "END_USER_CLIENT_IDENTIFIER";
    pub const SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD: &str = "SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD";
    pub const SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD: &str = "SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD";
    pub const SF_PUB_SUB_CUSTOM_EVENT_CHANNEL_ADDRESS_ID_FIELD: &str =
        "SF_PUB_SUB_CUSTOM_EVENT_CHANNEL_ADDRESS_ID_FIELD";
    pub const SF_PUB_SUB_CUSTOM_EVENT_RECIPIENT_FIELD: &str =
        "SF_PUB_SUB_CUSTOM_EVENT_RECIPIENT_FIELD";
    pub const SF_PUB_SUB_EVENT_RECEIVE_LIMIT: &str = "SF_PUB_SUB_EVENT_RECEIVE_LIMIT";
}
