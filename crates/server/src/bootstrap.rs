//! First start: the org, its bootstrap admin and credential, the local CA, and the sample setup.
//!
//! The sample setup walks the seed's steps (DESIGN.md §1) through the same setup service the
//! admin API uses, as the bootstrap admin, so the audit trail shows them like any admin's work.

use anyhow::Context;
use byoc_core::ids;
use byoc_core::permissions::SYSTEM_ADMINISTRATOR;
use byoc_core::Clock;
use byoc_proto::admin::{
    AppInput, CustomFieldInput, LinkApp, NewChannel, PlatformEventInput, PolicyInput,
};
use byoc_proto::files::{partner_env as env, OrgFile};
use byoc_proto::setup::{AppKind, AppManagedBy, FieldType, Org, PermittedUsers, User};
use byoc_store::{AdminCredential, ChangeSet, Store, StoreError};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::datadir::{self, DataDir};
use crate::setup_service::{random_id, SetupService};

pub const SAMPLE_APP: &str = "BYOC Sample App";
pub const SAMPLE_CHANNEL: &str = "BYOC Sample Channel";
pub const SAMPLE_ADDRESS: &str = "byoc-sample-channel-address";
pub const SAMPLE_END_USER: &str = "byoc-sample-end-user";
pub const SAMPLE_CALLBACK: &str = "https://login.salesforce.com/services/oauth2/success";
/// The audience the partner's JWT names; Salesforce's production login URL, as the samples use.
pub const SAMPLE_AUDIENCE: &str = "https://login.salesforce.com";

fn now_utc(clock: &dyn Clock) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(clock.now_millis()).unwrap_or_default()
}

/// The org, creating it with its bootstrap admin on first start. Returns the org and whether this
/// call created it. Safe when several instances share a PostgreSQL database and start at once.
pub async fn ensure_org(store: &Store, clock: &dyn Clock) -> anyhow::Result<(Org, bool)> {
    if let Some(org) = store.org().await? {
        return Ok((org, false));
    }
    let id = random_id(ids::prefix::ORGANIZATION);
    let id18 = ids::to_18(&id).context("generated org id is malformed")?;
    let my_domain = format!("byoc-{}", id[9..].to_lowercase());
    let now = clock.now_millis();
    let org = Org {
        id: id.clone(),
        id18,
        name: "byoc Developer Edition".into(),
        my_domain: my_domain.clone(),
        allow_connected_app_creation: false,
        created_at: now,
    };
    let admin_id = random_id(ids::prefix::USER);
    let admin = User {
        id18: ids::to_18(&admin_id).unwrap_or_default(),
        id: admin_id,
        username: format!("admin@{my_domain}.example.com"),
        email: format!("admin@{my_domain}.example.com"),
        profile: SYSTEM_ADMINISTRATOR.into(),
        permission_sets: vec![],
        is_active: true,
        created_at: now,
    };
    let audit = byoc_core::audit::entry(
        now,
        &admin.username,
        byoc_core::setup::section::COMPANY,
        format!("Created org {} ({})", org.name, org.id),
        vec![],
    );
    match store
        .apply(ChangeSet::new().insert(&org).insert(&admin).audit([audit]))
        .await
    {
        Ok(()) => Ok((org, true)),
        // Another instance created it first.
        Err(StoreError::Conflict { .. }) => Ok((
            store
                .org()
                .await?
                .context("org vanished after a conflict")?,
            false,
        )),
        Err(e) => Err(e.into()),
    }
}

/// The bootstrap admin: the oldest active System Administrator.
pub async fn bootstrap_admin(store: &Store) -> anyhow::Result<User> {
    store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.is_active && u.profile == SYSTEM_ADMINISTRATOR)
        .min_by_key(|u| u.created_at)
        .context("the org has no active System Administrator")
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The admin credential of this data dir: the one in `org.json` if the store still knows it,
/// otherwise a new one (e.g. a second instance joining a shared PostgreSQL org).
pub async fn admin_credential(
    store: &Store,
    data: &DataDir,
    org: &Org,
    admin: &User,
    clock: &dyn Clock,
) -> anyhow::Result<String> {
    if let Some(existing) = data
        .read(datadir::ORG_FILE)
        .and_then(|s| serde_json::from_str::<OrgFile>(&s).ok())
    {
        if existing.org_id == org.id
            && store
                .admin_credential(&digest(&existing.admin_token))
                .await?
                .is_some()
        {
            return Ok(existing.admin_token);
        }
    }
    let mut secret = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut secret);
    let token = format!(
        "{}!{}",
        org.id,
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret)
    );
    let credential = AdminCredential {
        digest: digest(&token),
        username: admin.username.clone(),
        created_at: clock.now_millis(),
    };
    store.apply(ChangeSet::new().insert(&credential)).await?;
    Ok(token)
}

/// The bootstrap admin's console password for `org.json`: the one already there while it is
/// still the admin's password; a generated one when the admin has none (first start, or an org
/// made before byoc had passwords); `None` when the admin has set their own since.
pub async fn admin_password(
    setup: &SetupService,
    data: &DataDir,
    org: &Org,
    admin: &User,
    clock: &dyn Clock,
) -> anyhow::Result<Option<String>> {
    let stored = setup.store().repo().password_hash(&admin.id).await?;
    let written = data
        .read(datadir::ORG_FILE)
        .and_then(|s| serde_json::from_str::<OrgFile>(&s).ok())
        .filter(|f| f.org_id == org.id && f.admin_username == admin.username)
        .and_then(|f| f.admin_password);
    if stored.is_some() {
        return Ok(match written {
            Some(p) if crate::passwords::verify(p.clone(), stored).await => Some(p),
            _ => None,
        });
    }
    let password = crate::passwords::temporary();
    let hash = crate::passwords::hash(password.clone()).await?;
    setup
        .store()
        .apply(ChangeSet::new().set_password(&admin.id, hash, clock.now_millis()))
        .await?;
    Ok(Some(password))
}

/// The org's local CA, kept in the database so every instance sharing it presents certificates
/// from one CA (docs/scale-out.md), created on first start.
///
/// - The database holds one already: it is used (another instance, or an earlier start, made it).
/// - It holds none: a data dir's CA from before the CA moved to the database (`ca.crt` and
///   `ca.key`) is moved in, else a new one is made; it is inserted only if still absent and read
///   back, so instances starting at once agree on whichever was inserted first.
/// - `ca.crt` is (re)written into the data dir as a copy for clients (`byoc ca`, `org.json`'s
///   `ca_cert`); `ca.key` is removed from the data dir once the database holds the CA.
///
/// A CA made by an older byoc, without the loopback-only name constraints, is not moved in but
/// replaced by a new one: clients that pinned it take the new `ca.crt` (`byoc ca`).
pub async fn local_ca(
    store: &Store,
    data: &DataDir,
    org: &Org,
    clock: &dyn Clock,
) -> anyhow::Result<byoc_pki::LocalCa> {
    let stored = match store.repo().local_ca().await? {
        Some(stored) => stored,
        None => {
            let candidate = match data_dir_ca(data) {
                Some(ca) => {
                    tracing::info!(
                        "moving the local CA of the data dir ({}, {}) into the database",
                        datadir::CA_CERT,
                        datadir::CA_KEY
                    );
                    ca
                }
                None => byoc_pki::new_local_ca(&org.my_domain, now_utc(clock))
                    .context("can't create the local CA")?,
            };
            store
                .repo()
                .local_ca_or_insert(&byoc_store::pki::StoredCa {
                    certificate_pem: candidate.certificate_pem,
                    private_key_pem: candidate.private_key_pem,
                    created_at: clock.now_millis(),
                })
                .await?
        }
    };
    let ca = byoc_pki::LocalCa {
        certificate_pem: stored.certificate_pem,
        private_key_pem: stored.private_key_pem,
    };
    if !ca.is_loopback_constrained() {
        // byoc only stores constrained CAs; this one was put there by something else.
        anyhow::bail!(
            "the local CA in the database (table local_ca) is not name-constrained to loopback names; \
             byoc refuses to serve certificates from it (delete that row and byoc makes a new CA at the next start)"
        );
    }
    if data.read(datadir::CA_CERT).as_deref() != Some(ca.certificate_pem.as_str()) {
        if data.read(datadir::CA_CERT).is_some() {
            tracing::warn!(
                "the data dir's {} is not the org's CA (the database holds another); replacing the copy: clients that pinned the old one need the new {} (byoc ca)",
                datadir::CA_CERT,
                datadir::CA_CERT
            );
        }
        data.write(datadir::CA_CERT, &ca.certificate_pem, false)?;
    }
    // The key lives in the database now; a copy on disk would only be one more place to leak it.
    let key = data.path(datadir::CA_KEY);
    if key.exists() {
        std::fs::remove_file(&key).with_context(|| {
            format!(
                "can't remove {} (the CA key is in the database now)",
                key.display()
            )
        })?;
    }
    Ok(ca)
}

/// A data dir's own CA from before the CA moved to the database, if it is loopback-constrained.
fn data_dir_ca(data: &DataDir) -> Option<byoc_pki::LocalCa> {
    let (cert, key) = (data.read(datadir::CA_CERT)?, data.read(datadir::CA_KEY)?);
    let existing = byoc_pki::LocalCa {
        certificate_pem: cert,
        private_key_pem: key,
    };
    if existing.is_loopback_constrained() {
        return Some(existing);
    }
    tracing::warn!(
        "the local CA in the data dir is not name-constrained to loopback; replacing it (clients that pinned it need the new {})",
        datadir::CA_CERT
    );
    None
}

/// The sample platform event: `Byoc_Outbound__e` with the four fields the public BYOC samples
/// name, defined in name order so that its schema is byte for byte the one byoc gave the sample
/// event before platform events were setup objects (same schema id). The payload and recipient
/// carry JSON, so they are Text Area (Long); the type and channel address are short Text.
pub fn sample_platform_event() -> PlatformEventInput {
    use byoc_core::setup as s;
    let field =
        |name: &str, field_type: FieldType, length: u32, description: &str| CustomFieldInput {
            full_name: Some(name.into()),
            field_type: Some(field_type),
            length: Some(length),
            description: Some(description.into()),
            ..CustomFieldInput::default()
        };
    PlatformEventInput {
        full_name: Some(s::DEFAULT_PLATFORM_EVENT.into()),
        label: Some("Byoc Outbound".into()),
        plural_label: Some("Byoc Outbound".into()),
        description: Some(
            "Agent replies and routing requests of the BYOC sample channel, as its CCD names them."
                .into(),
        ),
        fields: Some(vec![
            field(
                s::DEFAULT_CHANNEL_ADDRESS_ID_FIELD,
                FieldType::Text,
                255,
                "The channel address the event is for.",
            ),
            field(
                s::DEFAULT_EVENT_TYPE_FIELD,
                FieldType::Text,
                255,
                "Interaction or RoutingRequested.",
            ),
            field(
                s::DEFAULT_PAYLOAD_FIELD,
                FieldType::LongTextArea,
                131_072,
                "The event's JSON (InteractionEvent or RoutingRequested).",
            ),
            field(
                s::DEFAULT_RECIPIENT_FIELD,
                FieldType::LongTextArea,
                32_768,
                "The recipient participant's JSON.",
            ),
        ]),
        ..PlatformEventInput::default()
    }
}

/// The seed's setup steps, as the bootstrap admin: key pair, ECA with JWT Bearer and both
/// scopes, admin-approved policy with System Administrator, the sample platform event, a BYOC
/// Messaging channel whose customer-managed CCD (naming that event) is linked to the ECA.
pub async fn seed_sample(
    setup: &SetupService,
    data: &DataDir,
    admin: &User,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    let actor = setup.actor(&admin.username).await?;
    // Step 1: RSA key pair and self-signed certificate.
    let pair = byoc_pki::new_self_signed("byoc-sample", 3650, now_utc(clock))
        .context("can't create the sample key pair")?;
    data.write(datadir::SAMPLE_KEY, &pair.private_key_pem, true)?;
    data.write(datadir::SAMPLE_CERT, &pair.certificate_pem, false)?;
    // Step 2: the External Client App.
    let input = AppInput {
        name: Some(SAMPLE_APP.into()),
        contact_email: Some(admin.email.clone()),
        description: Some(
            "Sample app created by byoc's first start: JWT Bearer flow for a BYOC connector."
                .into(),
        ),
        callback_urls: Some(vec![SAMPLE_CALLBACK.into()]),
        scopes: Some(vec![
            "interaction_api".into(),
            "refresh_token".into(),
            "offline_access".into(),
        ]),
        jwt_bearer_enabled: Some(true),
        client_credentials_enabled: None,
        oauth_enabled: None,
        certificate_pem: Some(pair.certificate_pem.clone()),
    };
    setup
        .create_app(&actor, AppKind::ExternalClientApp, &input)
        .await?;
    // Step 3: admin-approved, System Administrator assigned.
    let policy = PolicyInput {
        permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
        profiles: Some(vec![SYSTEM_ADMINISTRATOR.into()]),
        ..PolicyInput::default()
    };
    setup
        .set_policies(&actor, AppKind::ExternalClientApp, SAMPLE_APP, &policy)
        .await?;
    // Step 4: the platform event the CCD publishes agent replies on.
    setup
        .create_platform_event(&actor, &sample_platform_event())
        .await?;
    // Step 5: the BYOC channel and its customer-managed CCD, linked to the app.
    let channel = NewChannel {
        name: SAMPLE_CHANNEL.into(),
        channel_type: "byoc-messaging".into(),
        channel_address_identifier: SAMPLE_ADDRESS.into(),
        app_managed_by: Some(AppManagedBy::Customer),
        routing_owner: None,
        consent_owner: None,
        conversation_channel_definition: None,
    };
    let created = setup.create_channel(&actor, &channel).await?;
    let ccd = created
        .record
        .conversation_channel_definition
        .context("a BYOC channel has a CCD")?;
    setup
        .link_ccd(
            &actor,
            &ccd.developer_name,
            &LinkApp {
                app: SAMPLE_APP.into(),
            },
        )
        .await?;
    Ok(())
}

/// The variables of a `partner.env` for `channel`'s CCD and its linked `app`, named as
/// Salesforce's public BYOC samples name them (DESIGN.md §3); `SF_PRIVATE_KEY` only when the key
/// is known. The sample setup's file and a `--seed` project's both come from here.
pub fn partner_env_vars(
    org: &OrgFile,
    app: &byoc_proto::setup::App,
    channel: &byoc_proto::setup::MessagingChannel,
    ccd: &byoc_proto::setup::ConversationChannelDefinition,
    private_key: Option<String>,
) -> Vec<(&'static str, String)> {
    let mut vars = vec![(env::SF_CONSUMER_KEY, app.oauth.consumer_key.clone())];
    if let Some(key) = private_key {
        vars.push((env::SF_PRIVATE_KEY, key));
    }
    vars.extend([
        (env::SF_AUDIENCE, SAMPLE_AUDIENCE.to_string()),
        (env::SF_SUBJECT, org.admin_username.clone()),
        (
            env::SF_AUTH_ENDPOINT,
            format!("{}/services/oauth2/token", org.login_url),
        ),
        (env::SF_INSTANCE_URL, org.instance_url.clone()),
        (env::SF_SCRT_INSTANCE_URL, org.scrt_url.clone()),
        (env::SF_PUB_SUB_ENDPOINT, org.pubsub_endpoint.clone()),
        (
            env::SF_PUB_SUB_TOPIC_NAME,
            format!("/event/{}", ccd.custom_platform_event),
        ),
        (env::SF_ORG_ID, org.org_id.clone()),
        (env::SF_AUTHORIZATION_CONTEXT, ccd.developer_name.clone()),
        (
            env::CHANNEL_ADDRESS_IDENTIFIER,
            channel.channel_address_identifier.clone(),
        ),
        (env::END_USER_CLIENT_IDENTIFIER, SAMPLE_END_USER.to_string()),
        (
            env::SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD,
            ccd.custom_event_payload_field.clone(),
        ),
        (
            env::SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD,
            ccd.custom_event_type_field.clone(),
        ),
        (
            env::SF_PUB_SUB_CUSTOM_EVENT_CHANNEL_ADDRESS_ID_FIELD,
            ccd.custom_event_channel_address_id_field.clone(),
        ),
        (
            env::SF_PUB_SUB_CUSTOM_EVENT_RECIPIENT_FIELD,
            ccd.custom_event_recipient_field.clone(),
        ),
        (env::SF_PUB_SUB_EVENT_RECEIVE_LIMIT, "100".to_string()),
    ]);
    vars
}

/// `partner.env` for the sample setup, when this data dir holds its private key and the sample
/// records still exist. Rewritten at every start so the addresses stay current.
pub async fn write_partner_env(
    store: &Store,
    data: &DataDir,
    org: &OrgFile,
) -> anyhow::Result<bool> {
    let Some(key) = data.read(datadir::SAMPLE_KEY) else {
        return Ok(false);
    };
    let Some(app) = store.app(AppKind::ExternalClientApp, SAMPLE_APP).await? else {
        return Ok(false);
    };
    let Some(channel) = store.channel(SAMPLE_CHANNEL).await? else {
        return Ok(false);
    };
    let Some(ccd) = channel.conversation_channel_definition.clone() else {
        return Ok(false);
    };
    let vars = partner_env_vars(org, &app, &channel, &ccd, Some(key));
    let mut out = String::from("# Written by `byoc serve`: the settings a BYOC partner connector needs, named as in\n# Salesforce's public BYOC samples. Rewritten at every start.\n");
    for (k, v) in vars {
        out.push_str(&datadir::env_line(k, &v));
    }
    data.write(datadir::PARTNER_ENV, &out, true)?;
    Ok(true)
}
