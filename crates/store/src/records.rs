//! Which keys each setup record is stored and found under.

use byoc_proto::setup::{
    App, AppKind, ConversationChannelDefinition, MessagingChannel, Org, PermissionSet,
    PlatformEventDefinition, User,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::{RawRecord, StoreError};

/// The one org row's name key.
pub(crate) const ORG_NAME_KEY: &str = "org";

/// Kinds of setup records; the string is the `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Org,
    User,
    PermissionSet,
    ExternalClientApp,
    ConnectedApp,
    Channel,
    AdminCredential,
    /// A Conversation Channel Definition no channel uses yet (created through the Tooling API);
    /// a channel's CCD lives in the channel's record.
    StandaloneCcd,
    /// A custom platform event's definition and fields (Setup > Platform Events).
    PlatformEvent,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Org,
        Kind::User,
        Kind::PermissionSet,
        Kind::ExternalClientApp,
        Kind::ConnectedApp,
        Kind::Channel,
        Kind::AdminCredential,
        Kind::StandaloneCcd,
        Kind::PlatformEvent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Org => "org",
            Kind::User => "user",
            Kind::PermissionSet => "permission_set",
            Kind::ExternalClientApp => "external_client_app",
            Kind::ConnectedApp => "connected_app",
            Kind::Channel => "messaging_channel",
            Kind::AdminCredential => "admin_credential",
            Kind::StandaloneCcd => "conversation_channel_definition",
            Kind::PlatformEvent => "platform_event",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn for_app(kind: AppKind) -> Kind {
        match kind {
            AppKind::ExternalClientApp => Kind::ExternalClientApp,
            AppKind::ConnectedApp => Kind::ConnectedApp,
        }
    }

    /// What the unique keys mean for this kind, for conflict messages.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Org => "org",
            Kind::User => "user",
            Kind::PermissionSet => "permission set",
            Kind::ExternalClientApp => "External Client App",
            Kind::ConnectedApp => "connected app",
            Kind::Channel => "messaging channel",
            Kind::AdminCredential => "admin credential",
            Kind::StandaloneCcd => "Conversation Channel Definition",
            Kind::PlatformEvent => "platform event",
        }
    }
}

/// The keys a record is found by.
pub struct Keys {
    pub name: String,
    pub alt: Option<String>,
    pub lookup: Option<String>,
}

/// A setup record the store can keep.
pub trait SetupRecord: Serialize + DeserializeOwned {
    fn kind(&self) -> Kind;
    fn id(&self) -> &str;
    fn keys(&self) -> Keys;
    fn updated_at(&self) -> i64;

    fn to_raw(&self) -> RawRecord {
        let keys = self.keys();
        RawRecord {
            kind: self.kind(),
            id: self.id().to_string(),
            name_key: keys.name.to_lowercase(),
            alt_key: keys.alt.map(|k| k.to_lowercase()),
            lookup_key: keys.lookup,
            // Serializing these plain structs cannot fail; an empty body would be caught on read.
            body: serde_json::to_string(self).unwrap_or_default(),
            updated_at: self.updated_at(),
        }
    }

    fn from_raw(raw: &RawRecord) -> Result<Self, StoreError> {
        serde_json::from_str(&raw.body).map_err(|source| StoreError::Corrupt {
            kind: raw.kind.label(),
            id: raw.id.clone(),
            source,
        })
    }
}

impl SetupRecord for Org {
    fn kind(&self) -> Kind {
        Kind::Org
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn keys(&self) -> Keys {
        Keys {
            name: ORG_NAME_KEY.into(),
            alt: None,
            lookup: None,
        }
    }
    fn updated_at(&self) -> i64 {
        self.created_at
    }
}

impl SetupRecord for User {
    fn kind(&self) -> Kind {
        Kind::User
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn keys(&self) -> Keys {
        Keys {
            name: self.username.clone(),
            alt: None,
            lookup: None,
        }
    }
    fn updated_at(&self) -> i64 {
        self.created_at
    }
}

impl SetupRecord for PermissionSet {
    fn kind(&self) -> Kind {
        Kind::PermissionSet
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn keys(&self) -> Keys {
        Keys {
            name: self.name.clone(),
            alt: None,
            lookup: None,
        }
    }
    fn updated_at(&self) -> i64 {
        self.created_at
    }
}

impl SetupRecord for App {
    fn kind(&self) -> Kind {
        Kind::for_app(self.kind)
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn keys(&self) -> Keys {
        Keys {
            name: self.name.clone(),
            alt: Some(self.api_name.clone()),
            // A read-only (migrated) connected app no longer answers to its consumer key: the
            // External Client App made from it does.
            lookup: self
                .read_only_reason
                .is_none()
                .then(|| self.oauth.consumer_key.clone()),
        }
    }
    fn updated_at(&self) -> i64 {
        self.updated_at
    }
}

impl SetupRecord for MessagingChannel {
    fn kind(&self) -> Kind {
        Kind::Channel
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn keys(&self) -> Keys {
        Keys {
            name: self.name.clone(),
            alt: self
                .conversation_channel_definition
                .as_ref()
                .map(|c| c.developer_name.clone()),
            lookup: Some(self.channel_address_identifier.clone()),
        }
    }
    fn updated_at(&self) -> i64 {
        self.created_at
    }
}

impl SetupRecord for ConversationChannelDefinition {
    fn kind(&self) -> Kind {
        Kind::StandaloneCcd
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn keys(&self) -> Keys {
        Keys {
            name: self.developer_name.clone(),
            alt: None,
            lookup: None,
        }
    }
    fn updated_at(&self) -> i64 {
        self.last_modified_at
    }
}

impl SetupRecord for PlatformEventDefinition {
    fn kind(&self) -> Kind {
        Kind::PlatformEvent
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn keys(&self) -> Keys {
        Keys {
            name: self.full_name.clone(),
            alt: None,
            lookup: None,
        }
    }
    fn updated_at(&self) -> i64 {
        self.last_modified_at
    }
}

/// An admin API credential: only its SHA-256 digest is stored; the token itself lives in the
/// data dir's `org.json` of the instance that minted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminCredential {
    pub digest: String,
    pub username: String,
    pub created_at: i64,
}

impl SetupRecord for AdminCredential {
    fn kind(&self) -> Kind {
        Kind::AdminCredential
    }
    fn id(&self) -> &str {
        &self.digest
    }
    fn keys(&self) -> Keys {
        Keys {
            name: self.digest.clone(),
            alt: None,
            lookup: None,
        }
    }
    fn updated_at(&self) -> i64 {
        self.created_at
    }
}
