//! The deploy engine against a real store (SQLite in a temp dir), with projects given as
//! `OrgSetup` values: all or nothing, ids and keys, permissions, audit entries, dry runs.

use std::sync::Arc;

use byoc_core::{Clock, FixedClock};
use byoc_proto::setup::{
    AppManagedBy, AppPolicies, ChannelType, CustomField, FieldType, OAuthSettings,
    ObjectPermissions, Owner, PermittedUsers, PlatformEventDefinition, PlatformEventType,
    PublishBehavior, UserPermission,
};
use byoc_store::Store;

use super::*;

struct Org {
    setup: SetupService,
    admin: Actor,
    dir: std::path::PathBuf,
}

impl Drop for Org {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn empty_org() -> Org {
    let dir = std::env::temp_dir().join(format!("byoc-deploy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("byoc.db").display());
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(1_700_000_000_000));
    let setup = SetupService::new(Store::open(&url).await.unwrap(), clock.clone());
    crate::bootstrap::ensure_org(setup.store(), clock.as_ref())
        .await
        .unwrap();
    let admin = crate::bootstrap::bootstrap_admin(setup.store())
        .await
        .unwrap();
    let admin = setup.actor(&admin.username).await.unwrap();
    Org { setup, admin, dir }
}

fn text(name: &str, field_type: FieldType) -> CustomField {
    CustomField {
        full_name: name.into(),
        label: name.trim_end_matches("__c").into(),
        field_type,
        length: (field_type == FieldType::Text).then_some(255),
        precision: None,
        scale: None,
        visible_lines: None,
        required: false,
        default_value: None,
        description: String::new(),
        inline_help_text: String::new(),
    }
}

/// One certificate for every project of this test binary, so a project deployed twice is the
/// same project.
fn certificate_pem() -> String {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PEM.get_or_init(|| {
        byoc_pki::new_self_signed(
            "deploy-test",
            3650,
            chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap(),
        )
        .unwrap()
        .certificate_pem
    })
    .clone()
}

/// An ECA with a certificate and JWT Bearer, admin-approved for System Administrator and a
/// permission set; a custom event with its fields; a BYOC channel whose CCD names both.
fn project() -> OrgSetup {
    let pem = certificate_pem();
    OrgSetup {
        external_client_apps: vec![App {
            id: String::new(),
            kind: AppKind::ExternalClientApp,
            name: "Acme Connector".into(),
            api_name: "Acme_Connector".into(),
            contact_email: "admin@example.com".into(),
            description: "deployed".into(),
            distribution_state: Some("Local".into()),
            oauth: OAuthSettings {
                is_enabled: true,
                callback_urls: vec!["https://example.com/cb".into()],
                scopes: vec!["interaction_api".into(), "refresh_token".into()],
                jwt_bearer_enabled: true,
                client_credentials_enabled: false,
                consumer_key: String::new(),
                consumer_secret: None,
                certificate: Some(Certificate {
                    subject: String::new(),
                    issuer: String::new(),
                    serial_number: String::new(),
                    not_before: 0,
                    not_after: 0,
                    sha256_fingerprint: String::new(),
                    key_bits: 0,
                    pem,
                }),
            },
            policies: AppPolicies {
                permitted_users: PermittedUsers::AdminApprovedPreAuthorized,
                profiles: vec!["System Administrator".into()],
                permission_sets: vec!["Acme_Agents".into()],
                ..AppPolicies::default()
            },
            read_only_reason: None,
            created_at: 0,
            updated_at: 0,
        }],
        connected_apps: vec![],
        permission_sets: vec![PermissionSet {
            id: String::new(),
            name: "Acme_Agents".into(),
            label: "Acme Agents".into(),
            permissions: vec![UserPermission::MessagingUser],
            object_permissions: vec![ObjectPermissions {
                object: "acme__Outbound__e".into(),
                allow_read: true,
                allow_create: true,
            }],
            created_at: 0,
        }],
        platform_events: vec![PlatformEventDefinition {
            id: String::new(),
            full_name: "acme__Outbound__e".into(),
            label: "Outbound".into(),
            plural_label: "Outbounds".into(),
            description: String::new(),
            event_type: PlatformEventType::HighVolume,
            publish_behavior: PublishBehavior::PublishAfterCommit,
            deployment_status: "Deployed".into(),
            fields: vec![
                text("acme__Payload__c", FieldType::LongTextArea),
                text("acme__Type__c", FieldType::Text),
                text("acme__Address__c", FieldType::Text),
                text("acme__Recipient__c", FieldType::Text),
            ],
            created_at: 0,
            last_modified_at: 0,
        }],
        channels: vec![MessagingChannel {
            id: String::new(),
            name: "Acme Channel".into(),
            developer_name: "Acme_Channel".into(),
            channel_type: ChannelType::ByocMessaging,
            channel_address_identifier: "acme-address".into(),
            is_active: true,
            conversation_channel_definition: Some(ConversationChannelDefinition {
                id: String::new(),
                developer_name: "Acme_CCD".into(),
                master_label: "Acme CCD".into(),
                custom_platform_event: "acme__Outbound__e".into(),
                custom_event_payload_field: "acme__Payload__c".into(),
                custom_event_type_field: "acme__Type__c".into(),
                custom_event_channel_address_id_field: "acme__Address__c".into(),
                custom_event_recipient_field: "acme__Recipient__c".into(),
                routing_owner: Owner::Salesforce,
                consent_owner: Owner::Salesforce,
                connected_app_type: AppManagedBy::Customer,
                linked_app: Some(AppRef {
                    kind: AppKind::ExternalClientApp,
                    id: String::new(),
                    name: String::new(),
                    api_name: "Acme_Connector".into(),
                }),
                created_at: 0,
                last_modified_at: 0,
            }),
            created_at: 0,
        }],
        standalone_ccds: vec![],
    }
}

async fn run(
    org: &Org,
    actor: &Actor,
    p: &OrgSetup,
    dry_run: bool,
) -> Result<DeployOutcome, DeployFailure> {
    deploy_setup(
        &org.setup,
        actor,
        p,
        &Files::new(),
        &DeployOptions { dry_run },
    )
    .await
}

fn problems(e: DeployFailure) -> Vec<String> {
    match e {
        DeployFailure::Problems(p) => p.iter().map(ToString::to_string).collect(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_project_deploys_into_an_empty_org_and_again_changes_nothing() {
    let org = empty_org().await;
    let out = run(&org, &org.admin, &project(), false).await.unwrap();
    assert!(
        out.changes.iter().all(|c| c.action == Action::Created),
        "{out:?}"
    );
    let read = read_org(&org.setup).await.unwrap();
    let app = &read.external_client_apps[0];
    assert_eq!(app.api_name, "Acme_Connector");
    assert!(
        app.id.starts_with("0xI") && app.id.len() == 15,
        "{}",
        app.id
    );
    assert!(
        app.oauth.consumer_key.starts_with("3MVG9"),
        "{}",
        app.oauth.consumer_key
    );
    assert!(app.oauth.consumer_secret.is_some());
    let cert = app.oauth.certificate.as_ref().unwrap();
    assert_eq!(
        cert.key_bits, 2048,
        "the certificate is parsed as Setup parses it"
    );
    assert_eq!(app.policies.permission_sets, ["Acme_Agents"]);
    let ccd = read.channels[0]
        .conversation_channel_definition
        .as_ref()
        .unwrap();
    let link = ccd.linked_app.as_ref().unwrap();
    assert_eq!(
        (link.id.as_str(), link.name.as_str()),
        (app.id.as_str(), "Acme Connector")
    );
    assert_eq!(read.platform_events[0].fields.len(), 4);
    let audit = org.setup.store().audit_trail(100).await.unwrap();
    for wanted in [
        "Created External Client App Acme Connector",
        "Created permission set Acme_Agents",
        "Created custom object: acme__Outbound__e",
        "Created Bring Your Own Channel (Messaging) messaging channel Acme Channel",
    ] {
        assert!(
            audit.iter().any(|e| e.action == wanted),
            "{wanted}: {audit:#?}"
        );
    }
    // The same project again: nothing changes, nothing is recorded, keys stay.
    let again = run(&org, &org.admin, &project(), false).await.unwrap();
    assert!(
        again.changes.iter().all(|c| c.action == Action::Unchanged),
        "{again:?}"
    );
    assert_eq!(
        org.setup.store().audit_trail(100).await.unwrap().len(),
        audit.len()
    );
    assert_eq!(read_org(&org.setup).await.unwrap(), read);
}

#[tokio::test]
async fn an_edit_changes_the_record_and_keeps_its_id_key_and_secret() {
    let org = empty_org().await;
    run(&org, &org.admin, &project(), false).await.unwrap();
    let before = read_org(&org.setup).await.unwrap();
    let mut edited = project();
    edited.external_client_apps[0].name = "Acme Connector 2".into();
    let out = run(&org, &org.admin, &edited, false).await.unwrap();
    let changed: Vec<_> = out
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| format!("{} {}", c.component_type, c.full_name))
        .collect();
    assert_eq!(changed, ["ExternalClientApplication Acme_Connector"]);
    let after = read_org(&org.setup).await.unwrap();
    let (old, new) = (
        &before.external_client_apps[0],
        &after.external_client_apps[0],
    );
    assert_eq!(new.name, "Acme Connector 2");
    assert_eq!(
        (&new.id, &new.oauth.consumer_key, &new.oauth.consumer_secret),
        (&old.id, &old.oauth.consumer_key, &old.oauth.consumer_secret)
    );
    // The CCD shows the new label.
    let link = after.channels[0]
        .conversation_channel_definition
        .as_ref()
        .unwrap()
        .linked_app
        .clone()
        .unwrap();
    assert_eq!(link.name, "Acme Connector 2");
}

#[tokio::test]
async fn a_broken_project_changes_nothing_and_names_every_problem() {
    let org = empty_org().await;
    let mut broken = project();
    broken.external_client_apps[0].oauth.callback_urls = vec!["http://example.com/plain".into()];
    broken.external_client_apps[0].policies.profiles = vec!["Nobody".into()];
    broken.external_client_apps[0]
        .oauth
        .certificate
        .as_mut()
        .unwrap()
        .pem = "not a certificate".into();
    broken.platform_events[0].fields.remove(3);
    broken.channels[0].channel_address_identifier = "has spaces".into();
    let audit_before = org.setup.store().audit_trail(1000).await.unwrap().len();
    let found = problems(run(&org, &org.admin, &broken, false).await.unwrap_err());
    let all = found.join("\n");
    for wanted in [
        "ExternalClientApplication Acme_Connector (force-app/main/default/externalClientApps/Acme_Connector.eca-meta.xml): In field: profileName - no Profile named Nobody found",
        "ConversationChannelDefinition Acme_CCD (force-app/main/default/conversationChannelDefinitions/Acme_CCD.ConversationChannelDefinition-meta.xml): In field: customEventRecipientField - no CustomField named acme__Outbound__e.acme__Recipient__c found",
        "MessagingChannel Acme_Channel (force-app/main/default/messagingChannels/Acme_Channel.messagingChannel-meta.xml): The channel address identifier can't contain spaces",
    ] {
        assert!(all.contains(wanted), "missing {wanted:?} in\n{all}");
    }
    assert!(
        all.contains("ExternalClientApplication Acme_Connector")
            && all.to_lowercase().contains("certificate"),
        "{all}"
    );
    // Nothing at all was written.
    assert_eq!(read_org(&org.setup).await.unwrap(), OrgSetup::default());
    assert_eq!(
        org.setup.store().audit_trail(1000).await.unwrap().len(),
        audit_before
    );
}

#[tokio::test]
async fn a_dry_run_plans_and_writes_nothing() {
    let org = empty_org().await;
    let out = run(&org, &org.admin, &project(), true).await.unwrap();
    assert!(out.dry_run);
    assert!(out.changes.iter().any(|c| c.action == Action::Created));
    assert_eq!(read_org(&org.setup).await.unwrap(), OrgSetup::default());
}

#[tokio::test]
async fn a_user_without_the_permissions_is_refused_for_each_component() {
    let org = empty_org().await;
    org.setup
        .create_user(
            &org.admin,
            &byoc_proto::admin::NewUser {
                username: "standard@example.com".into(),
                email: None,
                profile: "Standard User".into(),
                permission_sets: vec![],
                is_active: true,
            },
        )
        .await
        .unwrap();
    let standard = org.setup.actor("standard@example.com").await.unwrap();
    let found = problems(run(&org, &standard, &project(), false).await.unwrap_err());
    let all = found.join("\n");
    for ty in [
        "ExternalClientApplication",
        "PermissionSet",
        "CustomObject",
        "MessagingChannel",
    ] {
        assert!(found.iter().any(|p| p.starts_with(ty)), "{ty}: {all}");
    }
    assert!(
        all.contains("Create, edit, and delete External Client Apps"),
        "{all}"
    );
    assert_eq!(read_org(&org.setup).await.unwrap(), OrgSetup::default());
}

#[tokio::test]
async fn consumer_key_and_secret_from_the_files_are_kept() {
    let org = empty_org().await;
    let mut p = project();
    p.external_client_apps[0].oauth.consumer_key = "3MVG9fromTheFiles".into();
    p.external_client_apps[0].oauth.consumer_secret = Some("SECRET123".into());
    run(&org, &org.admin, &p, false).await.unwrap();
    let app = &read_org(&org.setup).await.unwrap().external_client_apps[0];
    assert_eq!(app.oauth.consumer_key, "3MVG9fromTheFiles");
    assert_eq!(app.oauth.consumer_secret.as_deref(), Some("SECRET123"));
    // Retrieve leaves the secret out unless asked.
    let out = retrieve(&org.setup, &org.admin, false).await.unwrap();
    assert!(!out.values().any(|f| f.contains("SECRET123")));
}

/// A project directory of `crates/metadata/tests/fixtures` (Salesforce's published examples).
fn fixture(dir: &str) -> Files {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../metadata/tests/fixtures")
        .join(dir);
    let mut files = Files::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let relative = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(relative, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    files
}

/// Salesforce's own examples for these types deploy into an empty org as they are (the broken
/// one is refused, naming its file and line), and deploying them again changes nothing.
#[tokio::test]
async fn the_metadata_api_documentation_examples_deploy_as_they_are() {
    // The help article's global OAuth settings file (consumer key and secret) goes with the
    // reference pages' app header and OAuth settings (its scopes: Setup refuses OAuth without
    // one).
    let mut eca_help = fixture("eca-help");
    eca_help.extend(fixture("eca-docs").into_iter().filter(|(p, _)| {
        p.contains("externalClientApps/") || p.contains("extlClntAppOauthSettings/")
    }));
    for (dir, files) in [
        ("eca-docs", fixture("eca-docs")),
        ("eca-help", eca_help),
        ("events-docs", fixture("events-docs")),
    ] {
        let org = empty_org().await;
        let out = deploy(&org.setup, &org.admin, &files, &DeployOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert!(
            out.changes.iter().all(|c| c.action == Action::Created),
            "{dir}: {out:?}"
        );
        let again = deploy(&org.setup, &org.admin, &files, &DeployOptions::default())
            .await
            .unwrap();
        assert!(
            again.changes.iter().all(|c| c.action == Action::Unchanged),
            "{dir}: {again:?}"
        );
    }
    let org = empty_org().await;
    let found = problems(
        deploy(
            &org.setup,
            &org.admin,
            &fixture("broken-docs"),
            &DeployOptions::default(),
        )
        .await
        .unwrap_err(),
    );
    assert!(
        found[0].contains("myecapolicy.ecaOauthPlcy-meta.xml:"),
        "{found:?}"
    );
}
