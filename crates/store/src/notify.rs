//! Change notices: how every byoc instance on one database learns, at once, that another one
//! committed something it caches or streams (setup records, OAuth state, platform events, the
//! console's live feed).
//!
//! - On PostgreSQL, writers' transactions raise `NOTIFY` (statement-level triggers, so every
//!   write path is covered) and one dedicated `LISTEN` connection per process turns them into
//!   [`Notice::Changed`]. When that connection is lost and comes back, [`Notice::Resync`] tells
//!   every consumer to re-read (a catch-up read), so nothing committed while it was down is missed.
//! - On SQLite (one process), the store announces its own commits here.
//!
//! Consumers subscribe with [`crate::Store::notices`]; a receiver that lags is told
//! `RecvError::Lagged` and should treat it as [`Notice::Resync`].
//!
//! SKELETON (issue 13): the types are the contract; the listener is owned by the `notify` helper.

/// What kind of state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Setup records (apps, policies, users, channels, CCDs, permission sets, the org).
    Setup,
    /// OAuth state: revoked tokens and principals, token sealing keys.
    OAuth,
    /// Platform events: `detail` is the topic (e.g. `/event/Byoc_Outbound__e`).
    Events,
    /// The console's live feed (conversation changes).
    Feed,
}

/// One notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Something committed on `channel`; `detail` narrows it (the topic for events), or is empty.
    Changed { channel: Channel, detail: String },
    /// Notices may have been missed (the listening connection was re-established): re-read all.
    Resync,
}

/// How many notices a slow receiver may fall behind by before it is told it lagged.
pub const CAPACITY: usize = 4096;
