//! byoc's persistence.
//!
//! - [`SetupRepository`]: the repository trait for setup records and the audit trail. Records are
//!   kept as JSON bodies next to the keys they are found by (name, API name or CCD developer
//!   name, consumer key or channel address), unique per kind.
//! - [`sql`]: its two implementations, [`sql::SqliteStore`] (the default, one file, WAL) and
//!   [`sql::PostgresStore`] (several byoc instances on one database). Both are generated from one
//!   body of SQL by a macro, so they cannot drift; only the migrations
//!   (`migrations/{sqlite,postgres}`) differ, and they are embedded and applied at open.
//! - [`records`]: which keys each record type has ([`SetupRecord`]).
//! - [`Store`]: the handle the server uses, with typed lookups; [`Store::open`] picks the backend
//!   from the database URL and refuses unknown schemes.
//! - [`events::EventRepository`]: the platform event log (ordered per topic, replay ids,
//!   retention) behind the Pub/Sub API.
//! - [`oauth::OAuthRepository`]: the token-sealing key, revoked tokens, used assertion ids and
//!   the login history, for the OAuth endpoints.
//! - [`conversations::ConversationRepository`]: the Interaction API's conversations, entries,
//!   attachments and sessions, written in batches (group commit).
//! - [`console::ConsoleRepository`]: users' password hashes and the web console's sessions.
//! - [`live::LiveFeedRepository`]: the console's live feed (what changed, in commit order, across
//!   instances), written by the conversation batches themselves.
//! - [`sobjects::SObjectRepository`]: read-only listings behind the REST API's messaging objects
//!   and login history, one statement per object.
//! - [`pki::PkiRepository`]: the org's local CA, shared by every instance on the database.
//! - [`cursors::CursorRepository`]: the REST API's query cursors and daily API request count,
//!   kept for the org so every instance answers alike.
//! - [`seed::SeedRepository`]: the org's seed (its setup right after the first start) and
//!   `byoc reset`, one transaction; [`Store::reset`] tells every instance.
//! - [`notify`]: change notices across instances (PostgreSQL `LISTEN/NOTIFY`), so caches and
//!   streams are pushed, not polled.
//! - [`testing`]: a throwaway PostgreSQL database for tests.

pub mod clock;
pub mod console;
pub mod conversations;
pub mod cursors;
pub mod events;
pub mod live;
pub mod notify;
pub mod oauth;
mod pg_batch;
pub mod pki;
mod records;
pub mod seed;
pub mod sobjects;
pub mod sql;
pub mod testing;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use byoc_proto::setup::{
    App, AppKind, AuditEntry, ConversationChannelDefinition, MessagingChannel, Org, PermissionSet,
    PlatformEventDefinition, User,
};

pub use records::{Kind, SetupRecord};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (a race between two writers; the service checks first).
    #[error("a {kind} with the same {what} already exists")]
    Conflict {
        kind: &'static str,
        what: &'static str,
    },
    /// A record changed since it was read (another request or another instance wrote it first):
    /// nothing of the change set was applied.
    #[error("the {kind} {id} was changed by someone else since it was read")]
    Stale { kind: &'static str, id: String },
    /// The database URL is not one byoc can use.
    #[error("{0}")]
    BadUrl(String),
    /// A stored body could not be read back: the database was changed by something else.
    #[error("stored {kind} record {id} is unreadable: {source}")]
    Corrupt {
        kind: &'static str,
        id: String,
        source: serde_json::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database did not answer within byoc's own deadline for this step (a stalled
    /// connection: the server never saw the statement, or its answer never arrived).
    #[error("the database did not answer in time ({0})")]
    TimedOut(&'static str),
    /// The database is unavailable: another operation's failure, passed on to the requests
    /// that shared its transaction or waited behind it (the original error is logged once).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A reset to the seed was asked for, but no seed was ever taken (docs/org-as-code.md).
    #[error("this org has no seed to reset to (it is taken at the first start; start byoc once more to take it from the setup as it is, or reset with --keep-setup)")]
    NoSeed,
}

impl StoreError {
    /// The database is unreachable or not serving right now, as opposed to refusing this
    /// particular data: connection refused, reset or closed, no pooled connection within the
    /// acquire timeout, I/O and TLS errors, a server shutting down (57P01 `admin_shutdown`,
    /// 57P02 `crash_shutdown`) or starting (57P03 `cannot_connect_now`), class 08 connection
    /// exceptions, too many connections (53300), a statement cancelled by `statement_timeout`
    /// (57014) or a session ended by `idle_in_transaction_session_timeout` (25P03). Such a
    /// failure says nothing about the request: the same request may succeed in a moment, and
    /// every host answers it with its "try again later" (docs/scale-out.md, "When the database
    /// fails").
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::TimedOut(_) | StoreError::Unavailable(_) => true,
            StoreError::Database(e) => sqlx_unavailable(e),
            StoreError::Migrate(
                sqlx::migrate::MigrateError::Execute(e)
                | sqlx::migrate::MigrateError::ExecuteMigration(e, _),
            ) => sqlx_unavailable(e),
            _ => false,
        }
    }
}

fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        // The driver's "unexpected end of stream" and the like: the session is gone.
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_sqlstate(&code)),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs that mean "not now" rather than "not this".
fn unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57014" | "53300" | "25P03"
        )
}

/// A stored record before decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub kind: Kind,
    pub id: String,
    pub name_key: String,
    pub alt_key: Option<String>,
    pub lookup_key: Option<String>,
    pub body: String,
    pub updated_at: i64,
}

/// How to find one record of a kind.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Id(&'a str),
    /// Case-insensitive.
    Name(&'a str),
    /// Case-insensitive (API name, CCD developer name).
    AltKey(&'a str),
    /// Exact (consumer key, channel address).
    LookupKey(&'a str),
}

/// Writes that belong together; applied in one transaction or not at all.
#[derive(Debug, Default, Clone)]
pub struct ChangeSet {
    pub inserts: Vec<RawRecord>,
    pub updates: Vec<RawRecord>,
    /// Updates that apply only if the stored record is still the one read (optimistic
    /// concurrency). If any differs, the whole change set fails with [`StoreError::Stale`].
    pub checked_updates: Vec<CheckedUpdate>,
    pub deletes: Vec<(Kind, String)>,
    pub audit: Vec<AuditEntry>,
    /// Principal revocations (subject, revoked_at): see
    /// [`oauth::OAuthRepository::revoked_principals`].
    pub revocations: Vec<(String, i64)>,
    /// Password hashes to store (see [`console::ConsoleRepository::password_hash`]).
    pub passwords: Vec<console::PasswordChange>,
}

impl ChangeSet {
    pub fn new() -> ChangeSet {
        ChangeSet::default()
    }

    pub fn insert<T: SetupRecord>(mut self, record: &T) -> ChangeSet {
        self.inserts.push(record.to_raw());
        self
    }

    pub fn update<T: SetupRecord>(mut self, record: &T) -> ChangeSet {
        self.updates.push(record.to_raw());
        self
    }

    /// Replace `read` (as it was read) by `new`, unless someone changed it in between.
    pub fn update_from<T: SetupRecord>(mut self, read: &T, new: &T) -> ChangeSet {
        self.checked_updates.push(CheckedUpdate {
            record: new.to_raw(),
            read: read.to_raw().body,
            normalize: normalized_body::<T>,
        });
        self
    }

    pub fn delete<T: SetupRecord>(mut self, record: &T) -> ChangeSet {
        let raw = record.to_raw();
        self.deletes.push((raw.kind, raw.id));
        self
    }

    pub fn audit(mut self, entries: impl IntoIterator<Item = AuditEntry>) -> ChangeSet {
        self.audit.extend(entries);
        self
    }

    /// Refuse every access token of `subject` (a user id or an app id) issued at or before
    /// `revoked_at`, in the same transaction as the rest of the change.
    pub fn revoke_principal(mut self, subject: &str, revoked_at: i64) -> ChangeSet {
        self.revocations.push((subject.to_string(), revoked_at));
        self
    }

    /// Store `password_hash` (a PHC string) as the user's password, replacing the old one, in the
    /// same transaction as the rest of the change (its audit row).
    pub fn set_password(mut self, user_id: &str, password_hash: String, set_at: i64) -> ChangeSet {
        self.passwords.push(console::PasswordChange {
            user_id: user_id.to_string(),
            password_hash,
            set_at,
        });
        self
    }
}

/// Which page of a newest-first list to read, by the `seq` of a neighbouring page's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Page {
    /// The newest rows.
    #[default]
    First,
    /// The rows older than the row with this `seq` (the *Next* page).
    Before(i64),
    /// The rows newer than the row with this `seq` (the *Previous* page).
    After(i64),
}

impl Page {
    /// The `seq` bound and whether the rows sought are older than it.
    pub fn cursor(self) -> (i64, bool) {
        match self {
            Page::First => (i64::MAX, true),
            Page::Before(seq) => (seq, true),
            Page::After(seq) => (seq, false),
        }
    }
}

/// An update that applies only if the stored record is still the one read.
#[derive(Debug, Clone)]
pub struct CheckedUpdate {
    pub record: RawRecord,
    /// The record as read, serialized.
    pub read: String,
    /// A stored body as the typed record serializes it, so a body written by an older byoc
    /// (fewer fields, other order) compares equal to the same record read and written back.
    pub normalize: fn(&str) -> Option<String>,
}

fn normalized_body<T: SetupRecord>(body: &str) -> Option<String> {
    let record: T = serde_json::from_str(body).ok()?;
    Some(record.to_raw().body)
}

/// Setup records and the audit trail.
#[async_trait]
pub trait SetupRepository: Send + Sync {
    async fn find(&self, kind: Kind, by: Lookup<'_>) -> Result<Option<RawRecord>, StoreError>;
    async fn list(&self, kind: Kind) -> Result<Vec<RawRecord>, StoreError>;
    /// Apply the change set in one transaction. Updates and deletes of missing records are no-ops.
    async fn apply(&self, change: ChangeSet) -> Result<(), StoreError>;
    /// The newest `limit` audit entries, newest first.
    async fn audit_trail(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;

    /// One page of the audit trail, newest first, by keyset on its `seq` (see [`Page`]); each
    /// entry with its `seq`.
    async fn audit_trail_page(
        &self,
        page: Page,
        limit: i64,
    ) -> Result<Vec<(i64, AuditEntry)>, StoreError>;
}

/// All repositories of one backend.
#[async_trait]
pub trait Repositories:
    SetupRepository
    + oauth::OAuthRepository
    + conversations::ConversationRepository
    + events::EventRepository
    + console::ConsoleRepository
    + live::LiveFeedRepository
    + sobjects::SObjectRepository
    + pki::PkiRepository
    + clock::ClockRepository
    + cursors::CursorRepository
    + seed::SeedRepository
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// A trivial query within `timeout`.
    async fn ping(&self, timeout: std::time::Duration) -> Result<(), StoreError>;
}

/// The store handle: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    repo: Arc<dyn Repositories>,
    /// Bumped by every [`Store::apply`] through this handle (and its clones), so caches of
    /// setup records in this process see their own writes at once.
    generation: Arc<AtomicU64>,
    /// How many setup-record reads ([`Store::get`]/[`Store::all`]) went to the database through
    /// this handle: lets a test show that a path is served from memory.
    setup_reads: Arc<AtomicU64>,
    /// Change notices of this process and (on PostgreSQL) of every instance; see [`notify`].
    notices: tokio::sync::broadcast::Sender<notify::Notice>,
    /// PostgreSQL's `LISTEN` task, stopped when the last clone of this handle goes.
    _listener: Option<Arc<notify::ListenerTask>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.repo.backend())
            .finish()
    }
}

impl Store {
    /// Open (creating if needed) the database at `url` and apply the migrations.
    /// `sqlite://PATH` or `sqlite:PATH`, `postgres://...` or `postgresql://...`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let scheme = url
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        let repo: Arc<dyn Repositories> = match scheme.as_str() {
            "sqlite" => Arc::new(sql::SqliteStore::open(url).await?),
            "postgres" | "postgresql" => {
                let pg = sql::PostgresStore::open(url).await?;
                // Every server on this database hears every other one's commits.
                let options = (*pg.pool.connect_options()).clone();
                let mut store = Store::from_repositories(Arc::new(pg));
                let listener = notify::start_listener(options, store.hub()).await?;
                store._listener = Some(Arc::new(listener));
                return Ok(store);
            }
            _ => {
                return Err(StoreError::BadUrl(format!(
                    "unsupported database URL {:?}: byoc stores data in SQLite (sqlite://PATH) or PostgreSQL (postgres://USER@HOST:PORT/DB)",
                    redact(url)
                )))
            }
        };
        Ok(Store::from_repositories(repo))
    }

    /// Wrap an already opened repository.
    pub fn from_repositories(repo: Arc<dyn Repositories>) -> Store {
        Store {
            repo,
            generation: Arc::new(AtomicU64::new(0)),
            setup_reads: Arc::new(AtomicU64::new(0)),
            notices: tokio::sync::broadcast::channel(notify::CAPACITY).0,
            _listener: None,
        }
    }

    fn hub(&self) -> notify::Hub {
        notify::Hub {
            sender: self.notices.clone(),
            generation: self.generation.clone(),
        }
    }

    /// Announce a commit of this process on SQLite, where this process is the only writer (on
    /// PostgreSQL the database's triggers announce every commit to every instance, this one
    /// included, so this does nothing there). Call it after the commit.
    pub fn announce(&self, channel: notify::Channel, detail: &str) {
        if self.repo.backend() == "sqlite" {
            let _ = self.notices.send(notify::Notice::Changed {
                channel,
                detail: detail.to_string(),
            });
        }
    }

    /// Subscribe to change notices ([`notify`]).
    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<notify::Notice> {
        self.notices.subscribe()
    }

    /// Moves with every change set this process applied ([`Store::apply`]) and, on PostgreSQL,
    /// with every setup change another instance committed (and every [`notify::Notice::Resync`]):
    /// a cache read under one generation is stale once it moved.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// How many setup-record lookups and listings this handle (and its clones) sent to the
    /// database.
    pub fn setup_reads(&self) -> u64 {
        self.setup_reads.load(Ordering::Acquire)
    }

    pub fn backend(&self) -> &'static str {
        self.repo.backend()
    }

    pub fn repo(&self) -> &dyn Repositories {
        self.repo.as_ref()
    }

    async fn get<T: SetupRecord>(
        &self,
        kind: Kind,
        by: Lookup<'_>,
    ) -> Result<Option<T>, StoreError> {
        // No record's key holds NUL (setup text refuses control characters), and PostgreSQL
        // can't even compare text with one: such a key names nothing on every backend, without
        // asking the database.
        let (Lookup::Id(key) | Lookup::Name(key) | Lookup::AltKey(key) | Lookup::LookupKey(key)) =
            by;
        if key.contains('\0') {
            return Ok(None);
        }
        self.setup_reads.fetch_add(1, Ordering::AcqRel);
        match deadline("a setup lookup", self.repo.find(kind, by)).await? {
            Some(raw) => Ok(Some(T::from_raw(&raw)?)),
            None => Ok(None),
        }
    }

    async fn all<T: SetupRecord>(&self, kind: Kind) -> Result<Vec<T>, StoreError> {
        self.setup_reads.fetch_add(1, Ordering::AcqRel);
        deadline("a setup listing", self.repo.list(kind))
            .await?
            .iter()
            .map(T::from_raw)
            .collect()
    }

    pub async fn org(&self) -> Result<Option<Org>, StoreError> {
        self.get(Kind::Org, Lookup::Name(records::ORG_NAME_KEY))
            .await
    }

    pub async fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.get(Kind::User, Lookup::Name(username)).await
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.get(Kind::User, Lookup::Id(id)).await
    }

    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.all(Kind::User).await
    }

    pub async fn permission_set(&self, name: &str) -> Result<Option<PermissionSet>, StoreError> {
        self.get(Kind::PermissionSet, Lookup::Name(name)).await
    }

    pub async fn permission_sets(&self) -> Result<Vec<PermissionSet>, StoreError> {
        self.all(Kind::PermissionSet).await
    }

    /// An app of the given kind by name or API name (case-insensitive).
    pub async fn app(&self, kind: AppKind, name: &str) -> Result<Option<App>, StoreError> {
        let k = Kind::for_app(kind);
        match self.get(k, Lookup::Name(name)).await? {
            Some(app) => Ok(Some(app)),
            None => self.get(k, Lookup::AltKey(name)).await,
        }
    }

    /// An app of either kind by name or API name; an External Client App wins over a connected
    /// app of the same name (the connected app it was migrated from).
    pub async fn any_app(&self, name: &str) -> Result<Option<App>, StoreError> {
        match self.app(AppKind::ExternalClientApp, name).await? {
            Some(app) => Ok(Some(app)),
            None => self.app(AppKind::ConnectedApp, name).await,
        }
    }

    /// The app that answers to this consumer key (a migrated connected app no longer does).
    pub async fn app_by_consumer_key(&self, consumer_key: &str) -> Result<Option<App>, StoreError> {
        for kind in [AppKind::ExternalClientApp, AppKind::ConnectedApp] {
            if let Some(app) = self
                .get(Kind::for_app(kind), Lookup::LookupKey(consumer_key))
                .await?
            {
                return Ok(Some(app));
            }
        }
        Ok(None)
    }

    pub async fn apps(&self, kind: AppKind) -> Result<Vec<App>, StoreError> {
        self.all(Kind::for_app(kind)).await
    }

    pub async fn channel(&self, name: &str) -> Result<Option<MessagingChannel>, StoreError> {
        self.get(Kind::Channel, Lookup::Name(name)).await
    }

    pub async fn channel_by_ccd(
        &self,
        developer_name: &str,
    ) -> Result<Option<MessagingChannel>, StoreError> {
        self.get(Kind::Channel, Lookup::AltKey(developer_name))
            .await
    }

    pub async fn channel_by_address(
        &self,
        address: &str,
    ) -> Result<Option<MessagingChannel>, StoreError> {
        self.get(Kind::Channel, Lookup::LookupKey(address)).await
    }

    pub async fn channels(&self) -> Result<Vec<MessagingChannel>, StoreError> {
        self.all(Kind::Channel).await
    }

    /// A Conversation Channel Definition no channel uses yet, by developer name.
    pub async fn standalone_ccd(
        &self,
        developer_name: &str,
    ) -> Result<Option<ConversationChannelDefinition>, StoreError> {
        self.get(Kind::StandaloneCcd, Lookup::Name(developer_name))
            .await
    }

    /// A Conversation Channel Definition no channel uses yet, by its 15-character id.
    pub async fn standalone_ccd_by_id(
        &self,
        id: &str,
    ) -> Result<Option<ConversationChannelDefinition>, StoreError> {
        self.get(Kind::StandaloneCcd, Lookup::Id(id)).await
    }

    /// Every Conversation Channel Definition no channel uses yet.
    pub async fn standalone_ccds(&self) -> Result<Vec<ConversationChannelDefinition>, StoreError> {
        self.all(Kind::StandaloneCcd).await
    }

    /// A custom platform event's definition, by API name (`Acme_Outbound__e`, case-insensitive).
    pub async fn platform_event(
        &self,
        full_name: &str,
    ) -> Result<Option<PlatformEventDefinition>, StoreError> {
        self.get(Kind::PlatformEvent, Lookup::Name(full_name)).await
    }

    /// Every custom platform event's definition.
    pub async fn platform_events(&self) -> Result<Vec<PlatformEventDefinition>, StoreError> {
        self.all(Kind::PlatformEvent).await
    }

    /// The username an admin credential (by its SHA-256 hex digest) acts as.
    pub async fn admin_credential(
        &self,
        digest: &str,
    ) -> Result<Option<records::AdminCredential>, StoreError> {
        self.get(Kind::AdminCredential, Lookup::Name(digest)).await
    }

    /// Every admin credential (by digest), for callers that keep them in memory.
    pub async fn admin_credentials(&self) -> Result<Vec<records::AdminCredential>, StoreError> {
        self.all(Kind::AdminCredential).await
    }

    pub async fn apply(&self, change: ChangeSet) -> Result<(), StoreError> {
        let revokes = !change.revocations.is_empty();
        let result = self.repo.apply(change).await;
        self.generation.fetch_add(1, Ordering::AcqRel);
        if result.is_ok() {
            self.announce(notify::Channel::Setup, "");
            if revokes {
                self.announce(notify::Channel::OAuth, "principal_revocations");
            }
        }
        result
    }

    /// Keep the setup as it is now as the org's seed ([`seed::SeedRepository::save_seed`]).
    pub async fn save_seed(
        &self,
        taken_at: i64,
        source: &str,
        replace: bool,
    ) -> Result<bool, StoreError> {
        self.repo.save_seed(taken_at, source, replace).await
    }

    /// Reset the org ([`seed::SeedRepository::reset`]) and tell every instance: this process's
    /// setup caches move on at once; on SQLite the commit is announced here (`Setup` and
    /// `Reset`), on PostgreSQL the transaction's own notifications reach every instance.
    pub async fn reset(
        &self,
        keep_setup: bool,
        audit: &AuditEntry,
    ) -> Result<seed::ResetReport, StoreError> {
        let result = self.repo.reset(keep_setup, audit).await;
        self.generation.fetch_add(1, Ordering::AcqRel);
        if result.is_ok() {
            self.announce(notify::Channel::Setup, "");
            self.announce(notify::Channel::Reset, "");
        }
        result
    }

    pub async fn audit_trail(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        self.repo.audit_trail(limit).await
    }

    /// Whether the database answers a trivial query within `timeout` (`/ready`).
    pub async fn ping(&self, timeout: std::time::Duration) -> Result<(), StoreError> {
        self.repo.ping(timeout).await
    }
}

pub use records::AdminCredential;

/// The longest a setup read through [`Store`] may take before it fails with
/// [`StoreError::TimedOut`]: a connection that stalls mid-query (the server never answers, no
/// error ever comes) must not hold the request, or a cache reload every request waits for, for
/// ever. Longer than PostgreSQL's `statement_timeout`, so a slow query is normally cancelled by
/// the server first.
pub const READ_DEADLINE: std::time::Duration = std::time::Duration::from_secs(6);

async fn deadline<T>(
    what: &'static str,
    read: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(READ_DEADLINE, read).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::TimedOut(what)),
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
