//! The setup service: loads what a setup command reads, runs the domain command, and writes its
//! records and audit entries in one transaction. The admin API (and the first-start seed) call
//! this; transports never touch the store for setup writes directly.

use std::sync::Arc;

use byoc_core::setup::{self, NewAppIds, Outcome};
use byoc_core::{ids, Actor, Clock, SetupError};
use byoc_proto::admin::{
    AppInput, AssignmentChange, CustomFieldInput, LinkApp, NewChannel, NewPermissionSet, NewUser,
    PlatformEventInput, PolicyInput, UpdateOrg, UpdatePermissionSet, UpdateUser,
};
use byoc_proto::setup::{
    App, AppKind, Certificate, ConversationChannelDefinition, MessagingChannel, Org, PermissionSet,
    PlatformEventDefinition, User,
};
use byoc_store::{ChangeSet, Store, StoreError};
use rand::RngCore;

/// Why a setup request failed: the domain refused it, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(StoreError),
    /// Someone else (another request, another instance) changed the record between our read
    /// and our write; nothing was written. Read it again and repeat the change.
    #[error("{0}")]
    Conflict(String),
    /// Something on our side failed that is neither the domain nor the store (hashing a
    /// password); logged and answered like a store failure.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            // A unique key taken between our check and our write: same answer as the check.
            StoreError::Conflict { kind, what } => ServiceError::Setup(SetupError::Duplicate(
                format!("A {kind} with this {what} already exists."),
            )),
            StoreError::Stale { kind, id } => ServiceError::Conflict(format!(
                "The {kind} {id} was modified by someone else after you read it. Get it again and repeat your change."
            )),
            other => ServiceError::Store(other),
        }
    }
}

/// A short digest of a permission set as stored: the version a console edit form carries, so
/// the save is refused if someone else changed the set after the form was shown.
pub fn permission_set_version(ps: &PermissionSet) -> String {
    use sha2::{Digest, Sha256};
    let body = serde_json::to_string(ps).unwrap_or_default();
    hex::encode(&Sha256::digest(body.as_bytes())[..12])
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// Random ids and credentials.
pub fn random_id(prefix: &str) -> String {
    let mut entropy = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut entropy);
    ids::new_id(prefix, &entropy)
}

fn new_app_ids(kind: AppKind) -> NewAppIds {
    let mut key = [0u8; 80];
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    rand::thread_rng().fill_bytes(&mut secret);
    let prefix = match kind {
        AppKind::ExternalClientApp => ids::prefix::EXTERNAL_CLIENT_APPLICATION,
        AppKind::ConnectedApp => ids::prefix::CONNECTED_APPLICATION,
    };
    NewAppIds {
        id: random_id(prefix),
        consumer_key: ids::consumer_key(&key),
        consumer_secret: ids::consumer_secret(&secret),
    }
}

/// Parse an uploaded certificate into what Setup shows.
pub fn parse_certificate(pem: &str) -> std::result::Result<Certificate, SetupError> {
    let info = byoc_pki::parse_certificate(pem)
        .map_err(|e| SetupError::invalid("certificate", e.to_string()))?;
    Ok(Certificate {
        subject: info.subject,
        issuer: info.issuer,
        serial_number: info.serial_hex,
        not_before: info.not_before.timestamp_millis(),
        not_after: info.not_after.timestamp_millis(),
        sha256_fingerprint: info.sha256_fingerprint,
        key_bits: info.key_bits,
        pem: info.pem,
    })
}

/// The answer for the Conversation Channel Definition of a channel that has none (not BYOC).
pub fn no_ccd(channel: &MessagingChannel) -> ServiceError {
    SetupError::NotAllowed(format!(
        "{} is a {} channel: only Bring Your Own Channel (Messaging) and Bring Your Own Channel for CCaaS channels have a Conversation Channel Definition.",
        channel.name,
        channel.channel_type.label()
    ))
    .into()
}

/// Tokens minted up to this long after a user is deactivated or an app disabled are refused too:
/// another instance's token endpoint may still see the old setup for one poll interval (500 ms).
pub const REVOCATION_MARGIN_MILLIS: i64 = 2_000;

/// The key prefix of `ConversationChannelDefinition` record ids (byoc's choice; docs/fidelity.md).
pub use byoc_proto::setup::CCD_KEY_PREFIX;

/// The 15-character form of a record id given as 15 or 18 characters (the 18-character form's
/// checksum must match, as Salesforce checks it); `None` for anything else.
pub fn id15(id: &str) -> Option<String> {
    match id.len() {
        15 => ids::to_18(id).map(|_| id.to_string()),
        18 => {
            let head = id.get(..15)?;
            (ids::to_18(head)?.eq_ignore_ascii_case(id)).then(|| head.to_string())
        }
        _ => None,
    }
}

/// A Conversation Channel Definition as a record: its id, its fields, its channel if any.
#[derive(Debug, Clone)]
pub struct CcdRecord {
    pub id: String,
    pub ccd: ConversationChannelDefinition,
    pub channel: Option<MessagingChannel>,
}

#[derive(Clone)]
pub struct SetupService {
    store: Store,
    clock: Arc<dyn Clock>,
    /// The token verifier of this instance, once the OAuth side exists: revocations written here
    /// take effect on this instance at once (other instances pick them up by polling).
    tokens: Arc<std::sync::OnceLock<Arc<crate::oauth::TokenVerifier>>>,
}

impl SetupService {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> SetupService {
        SetupService {
            store,
            clock,
            tokens: Arc::default(),
        }
    }

    /// Let this service's revocations reach `tokens` at once.
    pub fn attach_token_verifier(&self, tokens: Arc<crate::oauth::TokenVerifier>) {
        let _ = self.tokens.set(tokens);
    }

    /// Apply a change that revokes principals, then tell this instance's verifier.
    pub(crate) async fn apply_revoking(&self, change: ChangeSet) -> Result<()> {
        let revocations = change.revocations.clone();
        self.store.apply(change).await?;
        if let Some(tokens) = self.tokens.get() {
            tokens.revoke_principals(revocations);
        }
        Ok(())
    }

    /// Record one act-as request in the setup audit trail (Setup's *Login As*).
    pub async fn record_login_as(&self, real: &str, target: &str) -> Result<()> {
        let entry = setup::login_as_entry(real, target, self.now());
        self.store.apply(ChangeSet::new().audit([entry])).await?;
        Ok(())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The org's clock this service reads.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    async fn commit<T>(&self, outcome: &Outcome<T>, change: ChangeSet) -> Result<()> {
        self.store
            .apply(change.audit(outcome.audit.iter().cloned()))
            .await?;
        Ok(())
    }

    /// The acting user, with the permissions of their profile and permission sets.
    pub async fn actor(&self, username: &str) -> Result<Actor> {
        let user = self.user(username).await?;
        let sets = self.store.permission_sets().await?;
        Ok(Actor::new(user, &sets))
    }

    pub async fn org(&self) -> Result<Org> {
        self.store.org().await?.ok_or_else(|| {
            SetupError::NotFound {
                kind: "Org",
                name: "(not created yet)".into(),
            }
            .into()
        })
    }

    pub async fn update_org(&self, actor: &Actor, input: &UpdateOrg) -> Result<Outcome<Org>> {
        let org = self.org().await?;
        let out = setup::update_org(actor, &org, input, self.now())?;
        self.commit(&out, ChangeSet::new().update_from(&org, &out.record))
            .await?;
        Ok(out)
    }

    // ---- users and permission sets

    pub async fn user(&self, username: &str) -> Result<User> {
        // No username holds a control character, and PostgreSQL can't even compare text with
        // NUL: such a name is not found, before any lookup, on every backend.
        if username.chars().any(char::is_control) {
            return Err(SetupError::NotFound {
                kind: "User",
                name: username.escape_debug().to_string(),
            }
            .into());
        }
        self.store.user(username).await?.ok_or_else(|| {
            SetupError::NotFound {
                kind: "User",
                name: username.into(),
            }
            .into()
        })
    }

    pub async fn create_user(&self, actor: &Actor, input: &NewUser) -> Result<Outcome<User>> {
        let sets = self.store.permission_sets().await?;
        let out = setup::create_user(
            actor,
            input,
            &sets,
            random_id(ids::prefix::USER),
            self.now(),
        )?;
        if self.store.user(&out.record.username).await?.is_some() {
            return Err(SetupError::Duplicate(format!(
                "The username {} is already in use.",
                out.record.username
            ))
            .into());
        }
        self.commit(&out, ChangeSet::new().insert(&out.record))
            .await?;
        Ok(out)
    }

    /// Change a user; deactivating one revokes their access tokens on every instance.
    pub async fn update_user(
        &self,
        actor: &Actor,
        username: &str,
        input: &UpdateUser,
    ) -> Result<Outcome<User>> {
        let user = self.user(username).await?;
        let sets = self.store.permission_sets().await?;
        let out = setup::update_user(actor, &user, input, &sets, self.now())?;
        let mut change = ChangeSet::new()
            .update_from(&user, &out.record)
            .audit(out.audit.iter().cloned());
        if user.is_active && !out.record.is_active {
            change = change.revoke_principal(&user.id, self.now() + REVOCATION_MARGIN_MILLIS);
        }
        self.apply_revoking(change).await?;
        Ok(out)
    }

    /// Setup's *Set Password*: `password` becomes the user's password (Salesforce's default
    /// policy), hashed with Argon2id; audited as "Changed password for user X".
    pub async fn set_password(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
    ) -> Result<Outcome<User>> {
        let user = self.user(username).await?;
        let audit = setup::password_change(actor, &user, false, self.now())?;
        setup::check_password(password)?;
        self.store_password(user, password.to_string(), audit).await
    }

    /// Setup's *Reset Password*: a generated temporary password replaces the user's password;
    /// returned this once. Audited as "Reset password for user X".
    pub async fn reset_password(
        &self,
        actor: &Actor,
        username: &str,
    ) -> Result<(Outcome<User>, String)> {
        let user = self.user(username).await?;
        let audit = setup::password_change(actor, &user, true, self.now())?;
        let password = crate::passwords::temporary();
        let out = self.store_password(user, password.clone(), audit).await?;
        Ok((out, password))
    }

    async fn store_password(
        &self,
        user: User,
        password: String,
        audit: Vec<byoc_proto::setup::AuditEntry>,
    ) -> Result<Outcome<User>> {
        let hash = crate::passwords::hash(password)
            .await
            .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))?;
        self.store
            .apply(
                ChangeSet::new()
                    .set_password(&user.id, hash, self.now())
                    .audit(audit.iter().cloned()),
            )
            .await?;
        Ok(Outcome {
            record: user,
            audit,
            warnings: Vec::new(),
        })
    }

    /// The user `username` names when `password` is theirs and they are active; `None` for a
    /// wrong username or password or an inactive user alike (the login page never says which).
    /// An unknown username costs the same hash check as a known one.
    pub async fn check_password(&self, username: &str, password: &str) -> Result<Option<User>> {
        let user = match self.user(username).await {
            Ok(u) => Some(u),
            Err(ServiceError::Setup(SetupError::NotFound { .. })) => None,
            Err(e) => return Err(e),
        };
        let hash = match &user {
            Some(u) => self.store.repo().password_hash(&u.id).await?,
            None => None,
        };
        let matches = crate::passwords::verify(password.to_string(), hash).await;
        Ok(user.filter(|u| matches && u.is_active))
    }

    pub async fn create_permission_set(
        &self,
        actor: &Actor,
        input: &NewPermissionSet,
    ) -> Result<Outcome<PermissionSet>> {
        let out = setup::create_permission_set(
            actor,
            input,
            random_id(ids::prefix::PERMISSION_SET),
            self.now(),
        )?;
        if self.store.permission_set(&out.record.name).await?.is_some() {
            return Err(SetupError::Duplicate(format!(
                "A permission set with the API name {} already exists.",
                out.record.name
            ))
            .into());
        }
        self.commit(&out, ChangeSet::new().insert(&out.record))
            .await?;
        Ok(out)
    }

    pub async fn permission_set(&self, name: &str) -> Result<PermissionSet> {
        self.store.permission_set(name).await?.ok_or_else(|| {
            SetupError::NotFound {
                kind: "Permission set",
                name: name.into(),
            }
            .into()
        })
    }

    pub async fn update_permission_set(
        &self,
        actor: &Actor,
        name: &str,
        input: &UpdatePermissionSet,
    ) -> Result<Outcome<PermissionSet>> {
        self.update_permission_set_if(actor, name, input, None)
            .await
    }

    /// [`Self::update_permission_set`], refused with a conflict when the stored permission set
    /// is no longer `expected` (the version the caller showed its user: the console's edit
    /// forms) — and, either way, when another writer changes it between this read and the write.
    pub async fn update_permission_set_if(
        &self,
        actor: &Actor,
        name: &str,
        input: &UpdatePermissionSet,
        expected: Option<&str>,
    ) -> Result<Outcome<PermissionSet>> {
        let old = self.permission_set(name).await?;
        if expected.is_some_and(|v| v != permission_set_version(&old)) {
            return Err(ServiceError::Conflict(format!(
                "The permission set {} was modified by someone else after you read it. Get it again and repeat your change.",
                old.name
            )));
        }
        let out = setup::update_permission_set(actor, &old, input, self.now())?;
        if out.record != old {
            self.commit(&out, ChangeSet::new().update_from(&old, &out.record))
                .await?;
        }
        Ok(out)
    }

    /// Assign a permission set to users and remove it from others (Setup's *Manage
    /// Assignments*), all or nothing; each user's record changes only if it is still as read.
    pub async fn change_permission_set_assignments(
        &self,
        actor: &Actor,
        name: &str,
        input: &byoc_proto::admin::PermissionSetAssignments,
    ) -> Result<Outcome<PermissionSet>> {
        let ps = self.permission_set(name).await?;
        let mut change = ChangeSet::new();
        let mut audit = Vec::new();
        let now = self.now();
        for (usernames, assign) in [(&input.add_users, true), (&input.remove_users, false)] {
            for username in usernames {
                let user = self.user(username.trim()).await?;
                let out = setup::set_permission_set_assignment(actor, &ps, &user, assign, now)?;
                if out.record != user {
                    change = change.update_from(&user, &out.record);
                    audit.extend(out.audit);
                }
            }
        }
        if !audit.is_empty() {
            self.store
                .apply(change.audit(audit.iter().cloned()))
                .await?;
        }
        Ok(Outcome {
            record: ps,
            audit,
            warnings: vec![],
        })
    }

    // ---- apps

    pub async fn app(&self, kind: AppKind, name: &str) -> Result<App> {
        self.store.app(kind, name).await?.ok_or_else(|| {
            SetupError::NotFound {
                kind: kind.label(),
                name: name.into(),
            }
            .into()
        })
    }

    async fn check_app_names_free(&self, kind: AppKind, app: &App) -> Result<()> {
        if let Some(other) = self.store.app(kind, &app.name).await? {
            if other.id != app.id {
                return Err(SetupError::Duplicate(format!(
                    "An {} named {} already exists.",
                    kind.label(),
                    app.name
                ))
                .into());
            }
        }
        if let Some(other) = self.store.app(kind, &app.api_name).await? {
            if other.id != app.id {
                return Err(SetupError::Duplicate(format!(
                    "An {} with the API name {} already exists.",
                    kind.label(),
                    app.api_name
                ))
                .into());
            }
        }
        Ok(())
    }

    fn certificate_input(
        input: &AppInput,
    ) -> std::result::Result<Option<Option<Certificate>>, SetupError> {
        match input.certificate_pem.as_deref() {
            None => Ok(None),
            Some(pem) if pem.trim().is_empty() => Ok(Some(None)),
            Some(pem) => Ok(Some(Some(parse_certificate(pem)?))),
        }
    }

    pub async fn create_app(
        &self,
        actor: &Actor,
        kind: AppKind,
        input: &AppInput,
    ) -> Result<Outcome<App>> {
        let org = self.org().await?;
        // Permission and org gate come first, so a refused user learns nothing about the input.
        actor.authorize(match kind {
            AppKind::ExternalClientApp => byoc_core::SetupAction::ManageExternalClientApps,
            AppKind::ConnectedApp => byoc_core::SetupAction::ManageConnectedApps,
        })?;
        let certificate = Self::certificate_input(input)?.flatten();
        let out = setup::create_app(
            actor,
            &org,
            kind,
            input,
            certificate,
            new_app_ids(kind),
            self.now(),
        )?;
        self.check_app_names_free(kind, &out.record).await?;
        self.commit(&out, ChangeSet::new().insert(&out.record))
            .await?;
        Ok(out)
    }

    pub async fn update_app(
        &self,
        actor: &Actor,
        kind: AppKind,
        name: &str,
        input: &AppInput,
    ) -> Result<Outcome<App>> {
        let app = self.app(kind, name).await?;
        let certificate = Self::certificate_input(input)?;
        let out = setup::update_app(actor, &app, input, certificate, self.now())?;
        self.check_app_names_free(kind, &out.record).await?;
        // CCDs show the linked app's name: keep them in step when it changes.
        let mut change = ChangeSet::new().update_from(&app, &out.record);
        if out.record.name != app.name {
            for read in self.store.channels().await? {
                let mut channel = read.clone();
                if let Some(link) = channel
                    .conversation_channel_definition
                    .as_mut()
                    .and_then(|c| c.linked_app.as_mut())
                {
                    if link.id == app.id {
                        link.name = out.record.name.clone();
                        change = change.update_from(&read, &channel);
                    }
                }
            }
        }
        // Disabling OAuth revokes the app's access tokens on every instance.
        if app.oauth.is_enabled && !out.record.oauth.is_enabled {
            change = change.revoke_principal(&app.id, self.now() + REVOCATION_MARGIN_MILLIS);
        }
        self.apply_revoking(change.audit(out.audit.iter().cloned()))
            .await?;
        Ok(out)
    }

    pub async fn delete_app(&self, actor: &Actor, kind: AppKind, name: &str) -> Result<()> {
        let app = self.app(kind, name).await?;
        let channels = self.store.channels().await?;
        let audit = setup::delete_app(actor, &app, &channels, self.now())?;
        // The app's access tokens die with it, on every instance.
        self.apply_revoking(
            ChangeSet::new()
                .delete(&app)
                .audit(audit)
                .revoke_principal(&app.id, self.now() + REVOCATION_MARGIN_MILLIS),
        )
        .await?;
        Ok(())
    }

    pub async fn set_policies(
        &self,
        actor: &Actor,
        kind: AppKind,
        name: &str,
        input: &PolicyInput,
    ) -> Result<Outcome<App>> {
        let app = self.app(kind, name).await?;
        let sets = self.store.permission_sets().await?;
        // The run-as user must exist; it is stored as the user's own username.
        let mut input = input.clone();
        if let Some(run_as) = input.run_as_username.as_deref().map(str::trim) {
            if !run_as.is_empty() {
                let user = self.user(run_as).await.map_err(|e| match e {
                    ServiceError::Setup(SetupError::NotFound { .. }) => {
                        ServiceError::Setup(SetupError::invalid(
                            "runAsUsername",
                            format!("No user with the username {run_as} exists."),
                        ))
                    }
                    e => e,
                })?;
                input.run_as_username = Some(user.username);
            }
        }
        let out = setup::set_policies(actor, &app, &input, &sets, self.now())?;
        self.commit(&out, ChangeSet::new().update_from(&app, &out.record))
            .await?;
        Ok(out)
    }

    pub async fn change_assignments(
        &self,
        actor: &Actor,
        kind: AppKind,
        name: &str,
        input: &AssignmentChange,
    ) -> Result<Outcome<App>> {
        let app = self.app(kind, name).await?;
        let sets = self.store.permission_sets().await?;
        let out = setup::change_assignments(actor, &app, input, &sets, self.now())?;
        self.commit(&out, ChangeSet::new().update_from(&app, &out.record))
            .await?;
        Ok(out)
    }

    /// Setup's *Consumer Key and Secret* (*Manage Consumer Details* on a connected app): the app
    /// with its consumer secret, for a user who may edit it, recorded in the setup audit trail.
    /// The admin API never shows the secret after creation; this is the console's explicit step.
    pub async fn reveal_consumer_details(
        &self,
        actor: &Actor,
        kind: AppKind,
        name: &str,
    ) -> Result<App> {
        // Permission first, so a refused user learns nothing about which apps exist.
        let (action, section) = match kind {
            AppKind::ExternalClientApp => (
                byoc_core::SetupAction::ManageExternalClientApps,
                setup::section::EXTERNAL_CLIENT_APPS,
            ),
            AppKind::ConnectedApp => (
                byoc_core::SetupAction::ManageConnectedApps,
                setup::section::CONNECTED_APPS,
            ),
        };
        actor.authorize(action)?;
        let app = self.app(kind, name).await?;
        let entry = byoc_core::audit::entry(
            self.now(),
            &actor.user.username,
            section,
            format!(
                "Viewed the consumer key and secret of {} {}",
                kind.label(),
                app.name
            ),
            vec![],
        );
        self.store.apply(ChangeSet::new().audit([entry])).await?;
        Ok(app)
    }

    pub async fn migrate_connected_app(&self, actor: &Actor, name: &str) -> Result<Outcome<App>> {
        let connected_app = self.app(AppKind::ConnectedApp, name).await?;
        let channels = self.store.channels().await?;
        let out = setup::migrate_connected_app(
            actor,
            &connected_app,
            &channels,
            random_id(ids::prefix::EXTERNAL_CLIENT_APPLICATION),
            self.now(),
        )?;
        let m = &out.record;
        self.check_app_names_free(AppKind::ExternalClientApp, &m.external_client_app)
            .await?;
        // The connected app gives up its consumer key before the ECA takes it.
        let mut change = ChangeSet::new()
            .update_from(&connected_app, &m.connected_app)
            .insert(&m.external_client_app);
        for c in &m.relinked_channels {
            change = match channels.iter().find(|read| read.id == c.id) {
                Some(read) => change.update_from(read, c),
                None => change.update(c),
            };
        }
        self.store
            .apply(change.audit(out.audit.iter().cloned()))
            .await?;
        Ok(Outcome {
            record: m.external_client_app.clone(),
            audit: out.audit.clone(),
            warnings: out.warnings.clone(),
        })
    }

    // ---- channels and CCDs

    pub async fn channel(&self, name: &str) -> Result<MessagingChannel> {
        self.store.channel(name).await?.ok_or_else(|| {
            SetupError::NotFound {
                kind: "Messaging channel",
                name: name.into(),
            }
            .into()
        })
    }

    pub async fn create_channel(
        &self,
        actor: &Actor,
        input: &NewChannel,
    ) -> Result<Outcome<MessagingChannel>> {
        // A channel built on a standalone CCD takes it over: the CCD record moves into the
        // channel's record (keeping its id) in the same transaction.
        let existing = match &input.conversation_channel_definition {
            Some(name) => Some(self.unused_ccd(name).await?),
            None => None,
        };
        let out = setup::create_channel(
            actor,
            input,
            existing.as_ref(),
            random_id(ids::prefix::MESSAGING_CHANNEL),
            self.now(),
        )?;
        let c = &out.record;
        if self.store.channel(&c.name).await?.is_some() {
            return Err(SetupError::Duplicate(format!(
                "A messaging channel named {} already exists.",
                c.name
            ))
            .into());
        }
        if let Some(other) = self
            .store
            .channel_by_address(&c.channel_address_identifier)
            .await?
        {
            return Err(SetupError::Duplicate(format!(
                "The channel address {} is already used by the messaging channel {}.",
                c.channel_address_identifier, other.name
            ))
            .into());
        }
        if let Some(ccd) = &c.conversation_channel_definition {
            self.check_ccd_fits(ccd).await?;
        }
        let mut change = ChangeSet::new().insert(&out.record);
        match (&existing, &c.conversation_channel_definition) {
            (Some(standalone), _) => change = change.delete(standalone),
            (None, Some(ccd)) => self.check_ccd_name_free(&ccd.developer_name).await?,
            (None, None) => {}
        }
        self.commit(&out, change).await?;
        Ok(out)
    }

    /// The standalone CCD a new channel is to be built on: it exists and no channel uses it.
    async fn unused_ccd(&self, developer_name: &str) -> Result<ConversationChannelDefinition> {
        if let Some(ccd) = self.store.standalone_ccd(developer_name.trim()).await? {
            return Ok(ccd);
        }
        if let Some(c) = self.store.channel_by_ccd(developer_name.trim()).await? {
            return Err(SetupError::NotAllowed(format!(
                "The messaging channel {} already uses the Conversation Channel Definition {developer_name}: a Conversation Channel Definition serves one channel. Create another one (POST /services/data/vXX.X/tooling/sobjects/ConversationChannelDefinition).",
                c.name
            ))
            .into());
        }
        Err(SetupError::NotFound {
            kind: "Conversation Channel Definition",
            name: developer_name.into(),
        }
        .into())
    }

    /// Refuse a CCD developer name another CCD (standalone or a channel's) has.
    async fn check_ccd_name_free(&self, developer_name: &str) -> Result<()> {
        if self.store.channel_by_ccd(developer_name).await?.is_some()
            || self.store.standalone_ccd(developer_name).await?.is_some()
        {
            return Err(SetupError::Duplicate(format!(
                "A Conversation Channel Definition named {developer_name} already exists."
            ))
            .into());
        }
        Ok(())
    }

    /// The channel of a CCD developer name; a channel name also resolves, so that asking for the
    /// CCD of a non-BYOC channel can be answered with why it has none.
    async fn channel_for_ccd(&self, developer_name: &str) -> Result<MessagingChannel> {
        if let Some(c) = self.store.channel_by_ccd(developer_name).await? {
            return Ok(c);
        }
        if let Some(c) = self.store.channel(developer_name).await? {
            return Ok(c);
        }
        Err(SetupError::NotFound {
            kind: "Conversation Channel Definition",
            name: developer_name.into(),
        }
        .into())
    }

    /// Every Conversation Channel Definition with its record id and the channel it belongs to
    /// (`None` for a CCD created through the Tooling API and not yet used by a channel), oldest
    /// first. What the REST API's `ConversationChannelDefinition` object and the Tooling API read.
    pub async fn ccd_records(&self) -> Result<Vec<CcdRecord>> {
        let mut records: Vec<CcdRecord> = self
            .store
            .channels()
            .await?
            .into_iter()
            .filter_map(|channel| {
                let ccd = channel.conversation_channel_definition.clone()?;
                Some(CcdRecord {
                    id: ccd.id.clone(),
                    ccd,
                    channel: Some(channel),
                })
            })
            .collect();
        records.extend(
            self.store
                .standalone_ccds()
                .await?
                .into_iter()
                .map(|ccd| CcdRecord {
                    id: ccd.id.clone(),
                    ccd,
                    channel: None,
                }),
        );
        records.sort_by(|a, b| (a.ccd.created_at, &a.id).cmp(&(b.ccd.created_at, &b.id)));
        Ok(records)
    }

    /// One CCD record by its 15- or 18-character id.
    pub async fn ccd_record(&self, id: &str) -> Result<CcdRecord> {
        let id15 = id15(id.trim());
        if let Some(id15) = id15 {
            if let Some(ccd) = self.store.standalone_ccd_by_id(&id15).await? {
                return Ok(CcdRecord {
                    id: ccd.id.clone(),
                    ccd,
                    channel: None,
                });
            }
            if let Some(r) = self.ccd_records().await?.into_iter().find(|r| r.id == id15) {
                return Ok(r);
            }
        }
        Err(SetupError::NotFound {
            kind: "Conversation Channel Definition",
            name: id.into(),
        }
        .into())
    }

    /// A new CCD that no channel uses yet (what the Tooling API's create makes).
    pub async fn create_ccd(
        &self,
        actor: &Actor,
        input: &setup::ccd::CcdInput,
    ) -> Result<Outcome<CcdRecord>> {
        let out = setup::ccd::create_ccd(actor, input, random_id(CCD_KEY_PREFIX), self.now())?;
        self.check_ccd_name_free(&out.record.developer_name).await?;
        self.check_ccd_fits(&out.record).await?;
        self.commit(&out, ChangeSet::new().insert(&out.record))
            .await?;
        Ok(Outcome {
            record: CcdRecord {
                id: out.record.id.clone(),
                ccd: out.record,
                channel: None,
            },
            audit: out.audit,
            warnings: out.warnings,
        })
    }

    /// Change a CCD's fields, wherever it lives (its own record, or its channel's).
    pub async fn update_ccd(
        &self,
        actor: &Actor,
        id: &str,
        input: &setup::ccd::CcdInput,
    ) -> Result<Outcome<CcdRecord>> {
        let record = self.ccd_record(id).await?;
        let used_by = record.channel.as_ref().map(|c| c.name.as_str());
        let out = setup::ccd::update_ccd(actor, &record.ccd, input, used_by, self.now())?;
        let new = out.record.clone();
        if out.audit.is_empty() {
            return Ok(Outcome {
                record,
                audit: Vec::new(),
                warnings: Vec::new(),
            });
        }
        if !new
            .developer_name
            .eq_ignore_ascii_case(&record.ccd.developer_name)
        {
            self.check_ccd_name_free(&new.developer_name).await?;
        }
        self.check_ccd_fits(&new).await?;
        let (change, channel) = match &record.channel {
            Some(channel) => {
                let mut updated = channel.clone();
                updated.conversation_channel_definition = Some(new.clone());
                (
                    ChangeSet::new().update_from(channel, &updated),
                    Some(updated),
                )
            }
            None => (ChangeSet::new().update_from(&record.ccd, &new), None),
        };
        self.commit(&out, change).await?;
        Ok(Outcome {
            record: CcdRecord {
                id: new.id.clone(),
                ccd: new,
                channel,
            },
            audit: out.audit,
            warnings: out.warnings,
        })
    }

    /// Change a CCD's event, fields, label or owners, found by developer name (the admin API's
    /// `PATCH /admin/v1/ccds/{developerName}`); the same rules as the Tooling API's update.
    pub async fn update_ccd_by_name(
        &self,
        actor: &Actor,
        developer_name: &str,
        input: &byoc_proto::admin::UpdateCcd,
    ) -> Result<Outcome<ConversationChannelDefinition>> {
        let ccd = self.ccd(developer_name).await?;
        let input = setup::ccd::CcdInput {
            developer_name: None,
            master_label: input.master_label.clone(),
            custom_platform_event: input.custom_platform_event.clone(),
            custom_event_payload_field: input.custom_event_payload_field.clone(),
            custom_event_type_field: input.custom_event_type_field.clone(),
            custom_event_channel_address_id_field: input
                .custom_event_channel_address_id_field
                .clone(),
            custom_event_recipient_field: input.custom_event_recipient_field.clone(),
            routing_owner: input.routing_owner.clone(),
            consent_owner: input.consent_owner.clone(),
            connected_app_type: None,
        };
        let out = self.update_ccd(actor, &ccd.id, &input).await?;
        Ok(Outcome {
            record: out.record.ccd,
            audit: out.audit,
            warnings: out.warnings,
        })
    }

    /// Delete a CCD no channel uses; one a channel uses is refused, naming the channel.
    pub async fn delete_ccd(&self, actor: &Actor, id: &str) -> Result<Outcome<CcdRecord>> {
        let record = self.ccd_record(id).await?;
        actor.authorize(byoc_core::SetupAction::ManageMessagingChannels)?;
        if let Some(channel) = &record.channel {
            return Err(SetupError::NotAllowed(format!(
                "The Conversation Channel Definition {} is used by the messaging channel {}; it can't be deleted while a channel uses it.",
                record.ccd.developer_name, channel.name
            ))
            .into());
        }
        let out = setup::ccd::delete_ccd(actor, &record.ccd, self.now())?;
        self.commit(&out, ChangeSet::new().delete(&record.ccd))
            .await?;
        Ok(Outcome {
            record,
            audit: out.audit,
            warnings: out.warnings,
        })
    }

    pub async fn ccd(&self, developer_name: &str) -> Result<ConversationChannelDefinition> {
        if let Some(ccd) = self.store.standalone_ccd(developer_name).await? {
            return Ok(ccd);
        }
        let channel = self.channel_for_ccd(developer_name).await?;
        match channel.conversation_channel_definition {
            Some(ccd) => Ok(ccd),
            None => Err(no_ccd(&channel)),
        }
    }

    /// Link the customer's app to a CCD (*Modify Conversation Channel Definition*, which Setup
    /// offers on the channel's page: a CCD no channel uses yet is refused, saying so).
    pub async fn link_ccd(
        &self,
        actor: &Actor,
        developer_name: &str,
        input: &LinkApp,
    ) -> Result<Outcome<MessagingChannel>> {
        actor.authorize(byoc_core::SetupAction::ManageMessagingChannels)?;
        if let Some(ccd) = self.store.standalone_ccd(developer_name).await? {
            return Err(SetupError::NotAllowed(format!(
                "The Conversation Channel Definition {0} has no messaging channel yet, and Setup links an app on the channel's page: create the channel first (byoc setup channel create --name NAME --type byoc-messaging --address ADDR --ccd {0}), then link the app.",
                ccd.developer_name
            ))
            .into());
        }
        let channel = self.channel_for_ccd(developer_name).await?;
        let app = self.app_to_link(&input.app).await?;
        let out = setup::link_ccd(actor, &channel, &app, self.now())?;
        self.commit(&out, ChangeSet::new().update_from(&channel, &out.record))
            .await?;
        Ok(out)
    }

    /// Refuse a CCD whose platform event is defined but lacks its fields, or has them with a
    /// type other than text. A CCD naming an event nobody defined is accepted: its topic gets
    /// the all-text schema made from the CCDs (docs/org-as-code.md).
    async fn check_ccd_fits(&self, ccd: &ConversationChannelDefinition) -> Result<()> {
        if let Some(event) = self
            .store
            .platform_event(&ccd.custom_platform_event)
            .await?
        {
            if let Some(problem) = setup::platform_events::ccd_problem(&event, ccd) {
                return Err(SetupError::invalid("customPlatformEvent", problem).into());
            }
        }
        Ok(())
    }

    /// Every CCD (a channel's or standalone) that names this platform event.
    async fn ccds_naming(&self, event: &str) -> Result<Vec<ConversationChannelDefinition>> {
        Ok(self
            .ccd_records()
            .await?
            .into_iter()
            .map(|r| r.ccd)
            .filter(|c| c.custom_platform_event.eq_ignore_ascii_case(event))
            .collect())
    }

    /// Refuse a changed definition that a CCD naming it no longer fits.
    async fn check_ccds_fit(&self, event: &PlatformEventDefinition) -> Result<()> {
        for ccd in self.ccds_naming(&event.full_name).await? {
            if let Some(problem) = setup::platform_events::ccd_problem(event, &ccd) {
                return Err(SetupError::NotAllowed(problem).into());
            }
        }
        Ok(())
    }

    pub async fn platform_events(&self) -> Result<Vec<PlatformEventDefinition>> {
        let mut all = self.store.platform_events().await?;
        all.sort_by_key(|e| e.full_name.to_lowercase());
        Ok(all)
    }

    pub async fn platform_event(&self, name: &str) -> Result<PlatformEventDefinition> {
        self.store
            .platform_event(name.trim())
            .await?
            .ok_or_else(|| {
                SetupError::NotFound {
                    kind: "Platform event",
                    name: name.trim().into(),
                }
                .into()
            })
    }

    /// Define a custom platform event (with the fields the input lists).
    pub async fn create_platform_event(
        &self,
        actor: &Actor,
        input: &PlatformEventInput,
    ) -> Result<Outcome<PlatformEventDefinition>> {
        let out = setup::platform_events::create_platform_event(
            actor,
            input,
            random_id(setup::platform_events::CUSTOM_OBJECT_KEY_PREFIX),
            self.now(),
        )?;
        if let Some(existing) = self.store.platform_event(&out.record.full_name).await? {
            return Err(SetupError::Duplicate(format!(
                "A platform event named {} already exists.",
                existing.full_name
            ))
            .into());
        }
        self.check_ccds_fit(&out.record).await?;
        self.commit(&out, ChangeSet::new().insert(&out.record))
            .await?;
        Ok(out)
    }

    pub async fn update_platform_event(
        &self,
        actor: &Actor,
        name: &str,
        input: &PlatformEventInput,
    ) -> Result<Outcome<PlatformEventDefinition>> {
        let old = self.platform_event(name).await?;
        let out = setup::platform_events::update_platform_event(actor, &old, input, self.now())?;
        self.save_platform_event(&old, out).await
    }

    /// Delete a platform event no CCD names; one a CCD names is refused, naming the CCD.
    pub async fn delete_platform_event(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<Outcome<PlatformEventDefinition>> {
        let old = self.platform_event(name).await?;
        actor.authorize(byoc_core::SetupAction::ManagePlatformEvents)?;
        if let Some(ccd) = self.ccds_naming(&old.full_name).await?.first() {
            return Err(SetupError::NotAllowed(format!(
                "The platform event {} is used by the Conversation Channel Definition {}; it can't be deleted while a CCD names it.",
                old.full_name, ccd.developer_name
            ))
            .into());
        }
        let out = setup::platform_events::delete_platform_event(actor, &old, self.now())?;
        self.commit(&out, ChangeSet::new().delete(&old)).await?;
        Ok(out)
    }

    pub async fn add_platform_event_field(
        &self,
        actor: &Actor,
        name: &str,
        input: &CustomFieldInput,
    ) -> Result<Outcome<PlatformEventDefinition>> {
        let old = self.platform_event(name).await?;
        let out = setup::platform_events::add_field(actor, &old, input, self.now())?;
        self.save_platform_event(&old, out).await
    }

    pub async fn update_platform_event_field(
        &self,
        actor: &Actor,
        name: &str,
        field: &str,
        input: &CustomFieldInput,
    ) -> Result<Outcome<PlatformEventDefinition>> {
        let old = self.platform_event(name).await?;
        let out = setup::platform_events::update_field(actor, &old, field, input, self.now())?;
        self.save_platform_event(&old, out).await
    }

    /// Remove a field no CCD names; one a CCD names is refused, naming the CCD.
    pub async fn delete_platform_event_field(
        &self,
        actor: &Actor,
        name: &str,
        field: &str,
    ) -> Result<Outcome<PlatformEventDefinition>> {
        let old = self.platform_event(name).await?;
        let out = setup::platform_events::delete_field(actor, &old, field, self.now())?;
        self.save_platform_event(&old, out).await
    }

    /// Write a changed definition, unless nothing changed or a CCD naming it no longer fits.
    async fn save_platform_event(
        &self,
        old: &PlatformEventDefinition,
        out: Outcome<PlatformEventDefinition>,
    ) -> Result<Outcome<PlatformEventDefinition>> {
        if out.audit.is_empty() {
            return Ok(out);
        }
        self.check_ccds_fit(&out.record).await?;
        self.commit(&out, ChangeSet::new().update_from(old, &out.record))
            .await?;
        Ok(out)
    }

    async fn app_to_link(&self, name: &str) -> Result<App> {
        Ok(self
            .store
            .any_app(name)
            .await?
            .ok_or_else(|| SetupError::NotFound {
                kind: "External Client App or connected app",
                name: name.to_string(),
            })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use byoc_core::FixedClock;

    /// Two instances (two services on two store handles of one database) race edits of one app:
    /// each edit either lands or is refused with a conflict, and no landed edit is silently
    /// undone by the other.
    async fn race(url: &str) {
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(1_700_000_000_000));
        let one = SetupService::new(Store::open(url).await.unwrap(), clock.clone());
        let two = SetupService::new(Store::open(url).await.unwrap(), clock.clone());
        crate::bootstrap::ensure_org(one.store(), clock.as_ref())
            .await
            .unwrap();
        let admin = crate::bootstrap::bootstrap_admin(one.store())
            .await
            .unwrap();
        let actor = one.actor(&admin.username).await.unwrap();
        let created = AppInput {
            name: Some("Racer".into()),
            contact_email: Some("start@example.com".into()),
            callback_urls: Some(vec!["https://example.com/cb".into()]),
            scopes: Some(vec!["interaction_api".into()]),
            ..AppInput::default()
        };
        one.create_app(&actor, AppKind::ExternalClientApp, &created)
            .await
            .unwrap();
        let mut conflicts = 0;
        for round in 0..20 {
            let description = format!("description {round}");
            let email = format!("round{round}@example.com");
            let by_one = AppInput {
                description: Some(description.clone()),
                ..AppInput::default()
            };
            let by_two = AppInput {
                contact_email: Some(email.clone()),
                ..AppInput::default()
            };
            let (a, b) = tokio::join!(
                one.update_app(&actor, AppKind::ExternalClientApp, "Racer", &by_one),
                two.update_app(&actor, AppKind::ExternalClientApp, "Racer", &by_two),
            );
            for r in [&a, &b] {
                if let Err(e) = r {
                    assert!(matches!(e, ServiceError::Conflict(_)), "{e:?}");
                    conflicts += 1;
                }
            }
            assert!(a.is_ok() || b.is_ok(), "one of two racers always wins");
            let stored = one.app(AppKind::ExternalClientApp, "Racer").await.unwrap();
            // Every edit that was answered OK is in the stored record.
            assert_eq!(
                stored.description == description,
                a.is_ok(),
                "round {round}"
            );
            assert_eq!(stored.contact_email == email, b.is_ok(), "round {round}");
        }
        // The conflict says what happened (and is not a store failure).
        let stale = one.app(AppKind::ExternalClientApp, "Racer").await.unwrap();
        two.update_app(
            &actor,
            AppKind::ExternalClientApp,
            "Racer",
            &AppInput {
                description: Some("moved on".into()),
                ..AppInput::default()
            },
        )
        .await
        .unwrap();
        let mut mine = stale.clone();
        mine.description = "late".into();
        let err = ServiceError::from(
            one.store()
                .apply(ChangeSet::new().update_from(&stale, &mine))
                .await
                .unwrap_err(),
        );
        assert!(
            matches!(&err, ServiceError::Conflict(m) if m.contains("modified by someone else")),
            "{err:?}"
        );
        eprintln!("{conflicts} conflicts in 20 rounds");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_setup_edits_on_one_sqlite_file_never_overwrite_silently() {
        let dir = std::env::temp_dir().join(format!("byoc-race-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        race(&format!("sqlite://{}", dir.join("byoc.db").display())).await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_setup_edits_on_one_postgres_database_never_overwrite_silently() {
        let Some(url) = byoc_store::testing::postgres_url("setup edit race").await else {
            return;
        };
        race(&url).await;
    }
}
