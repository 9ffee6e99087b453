//! The byoc domain: a Salesforce org's setup for Bring Your Own Channel, without IO.
//!
//! - [`ids`]: record ids (15/18 characters), API names, consumer key and secret formats.
//! - [`interaction`]: the Interaction Service API's error codes, authorization chain and request
//!   validation.
//! - [`permissions`]: built-in profiles, effective permissions and what each setup action needs.
//! - [`scopes`]: the OAuth scope catalogue of Setup.
//! - [`setup`]: the setup commands — each checks permissions, validates input, and returns the
//!   new records plus the audit-trail entries to write with them, in one unit.
//! - [`oauth`]: the JWT Bearer grant: reading the assertion and deciding the grant.
//! - [`events`]: platform events: topics, Avro schemas and ids, replay ids, the outbound
//!   `InteractionEvent` of an agent reply.
//! - [`audit`]: field-by-field diffs for the setup audit trail.
//! - [`checklist`]: the help page's setup steps, done or not, for a channel, app and user.
//! - [`Clock`]: time is an input; the server passes the system clock, tests pass a fixed one.
//!
//! Record shapes live in `byoc_proto::setup`; this crate holds the rules. The server loads the
//! records a command needs, calls it, and persists what it returns in one transaction.

pub mod audit;
pub mod checklist;
pub mod duration;
pub mod events;
pub mod ids;
pub mod interaction;
pub mod oauth;
pub mod permissions;
pub mod scopes;
pub mod setup;

pub use permissions::{Actor, SetupAction};

/// The current time, in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now_millis(&self) -> i64;

    /// How far this clock is from real time (the org clock moved with `byoc clock`); 0 for a
    /// clock that is not an org clock.
    fn offset_millis(&self) -> i64 {
        0
    }

    /// When (real time, epoch ms) the org clock was last moved; `None` for real time.
    fn moved_at_millis(&self) -> Option<i64> {
        None
    }
}

/// A clock that always says the same time, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_millis(&self) -> i64 {
        self.0
    }
}

/// Why a setup command was refused. Each message is meant for a person: it says what is wrong
/// and, where there is one, what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The acting user lacks a permission (Salesforce: `INSUFFICIENT_ACCESS`).
    #[error("{0}")]
    InsufficientAccess(String),
    /// The org forbids creating connected apps (the Spring '26 rule).
    #[error("You can't create a connected app. To enable connected app creation, contact Salesforce Customer Support.")]
    ConnectedAppCreationDisabled,
    /// A record that the command names does not exist.
    #[error("{kind} {name} doesn't exist.")]
    NotFound { kind: &'static str, name: String },
    /// A record with the same unique name exists.
    #[error("{0}")]
    Duplicate(String),
    /// A field value is not acceptable.
    #[error("{message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// The record can't be changed now (read-only, in use, wrong kind of channel...).
    #[error("{0}")]
    NotAllowed(String),
}

impl SetupError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> SetupError {
        SetupError::InvalidField {
            field,
            message: message.into(),
        }
    }

    /// The Salesforce REST `errorCode` for this error.
    pub fn error_code(&self) -> &'static str {
        match self {
            SetupError::InsufficientAccess(_) => "INSUFFICIENT_ACCESS",
            SetupError::ConnectedAppCreationDisabled => "INSUFFICIENT_ACCESS",
            SetupError::NotFound { .. } => "NOT_FOUND",
            SetupError::Duplicate(_) => "DUPLICATE_VALUE",
            SetupError::InvalidField { .. } => "FIELD_INTEGRITY_EXCEPTION",
            SetupError::NotAllowed(_) => "INVALID_OPERATION",
        }
    }
}
