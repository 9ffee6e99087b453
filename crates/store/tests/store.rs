//! One suite, run against both backends, so SQLite and PostgreSQL cannot drift.

use byoc_proto::setup::*;
use byoc_store::{ChangeSet, Store, StoreError};

fn org() -> Org {
    Org {
        id: "00D5g000001AbCd".into(),
        id18: "00D5g000001AbCdEAY".into(),
        name: "Test Org".into(),
        my_domain: "test".into(),
        allow_connected_app_creation: false,
        created_at: 1,
    }
}

fn user(name: &str) -> User {
    User {
        id: format!("005{:0>12}", name.len()),
        id18: String::new(),
        username: name.into(),
        email: name.into(),
        profile: "Standard User".into(),
        permission_sets: vec![],
        is_active: true,
        created_at: 1,
    }
}

fn app(kind: AppKind, id: &str, name: &str, key: &str) -> App {
    App {
        id: id.into(),
        kind,
        name: name.into(),
        api_name: name.replace(' ', "_"),
        contact_email: "a@example.com".into(),
        description: String::new(),
        distribution_state: None,
        oauth: OAuthSettings {
            is_enabled: true,
            callback_urls: vec!["https://example.com/cb".into()],
            scopes: vec!["interaction_api".into()],
            jwt_bearer_enabled: false,
            client_credentials_enabled: false,
            consumer_key: key.into(),
            consumer_secret: None,
            certificate: None,
        },
        policies: AppPolicies::default(),
        read_only_reason: None,
        created_at: 1,
        updated_at: 1,
    }
}

fn entry(action: &str) -> AuditEntry {
    AuditEntry {
        created_date: 5,
        created_by: "admin@example.com".into(),
        section: "Test".into(),
        action: action.into(),
        changes: vec![FieldChange { field: "f".into(), old_value: None, new_value: Some("v".into()) }],
    }
}

async fn suite(store: Store) {
    // Empty store.
    assert!(store.org().await.unwrap().is_none());

    // Insert with audit in one change.
    store.apply(ChangeSet::new().insert(&org()).insert(&user("Alice@Example.com")).audit([entry("created")])).await.unwrap();
    assert_eq!(store.org().await.unwrap(), Some(org()));
    // Usernames are found case-insensitively.
    let alice = store.user("alice@example.COM").await.unwrap().expect("alice");
    assert_eq!(alice.username, "Alice@Example.com");
    assert_eq!(store.user_by_id(&alice.id).await.unwrap(), Some(alice.clone()));

    // A conflicting insert fails and leaves nothing behind, audit included.
    let err = store
        .apply(ChangeSet::new().insert(&user("bob@example.com")).insert(&user("ALICE@example.com")).audit([entry("should vanish")]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(store.user("bob@example.com").await.unwrap().is_none());
    let trail = store.audit_trail(10).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, "created");
    assert_eq!(trail[0].changes.len(), 1);

    // Apps: lookups by name, API name, consumer key; kinds are separate namespaces.
    let eca = app(AppKind::ExternalClientApp, "0xI000000000001", "Acme App", "3MVG9key1");
    let ca = app(AppKind::ConnectedApp, "0H4000000000001", "Legacy App", "3MVG9key2");
    store.apply(ChangeSet::new().insert(&eca).insert(&ca)).await.unwrap();
    assert_eq!(store.app(AppKind::ExternalClientApp, "acme_app").await.unwrap(), Some(eca.clone()));
    assert_eq!(store.any_app("Legacy App").await.unwrap(), Some(ca.clone()));
    assert_eq!(store.app_by_consumer_key("3MVG9key2").await.unwrap(), Some(ca.clone()));
    assert_eq!(store.app_by_consumer_key("3mvg9key2").await.unwrap(), None, "consumer keys are case-sensitive");

    // Duplicate consumer key within a kind is refused.
    let dup = app(AppKind::ExternalClientApp, "0xI000000000002", "Other", "3MVG9key1");
    assert!(matches!(store.apply(ChangeSet::new().insert(&dup)).await, Err(StoreError::Conflict { .. })));

    // Migration shape: the ECA takes the consumer key once the connected app is read-only.
    let mut ro = ca.clone();
    ro.read_only_reason = Some("migrated".into());
    let migrated = app(AppKind::ExternalClientApp, "0xI000000000003", "Legacy App", "3MVG9key2");
    store.apply(ChangeSet::new().update(&ro).insert(&migrated)).await.unwrap();
    assert_eq!(store.app_by_consumer_key("3MVG9key2").await.unwrap().map(|a| a.kind), Some(AppKind::ExternalClientApp));
    assert_eq!(store.any_app("legacy app").await.unwrap().map(|a| a.kind), Some(AppKind::ExternalClientApp));
    assert_eq!(store.apps(AppKind::ExternalClientApp).await.unwrap().len(), 2);

    // Delete.
    store.apply(ChangeSet::new().delete(&eca)).await.unwrap();
    assert!(store.app(AppKind::ExternalClientApp, "Acme App").await.unwrap().is_none());

    // Channels by name, CCD developer name and address.
    let channel = MessagingChannel {
        id: "0Mj000000000001".into(),
        name: "Sample".into(),
        developer_name: "Sample".into(),
        channel_type: ChannelType::ByocMessaging,
        channel_address_identifier: "addr-1".into(),
        is_active: true,
        conversation_channel_definition: Some(ConversationChannelDefinition {
            developer_name: "Sample_CCD".into(),
            master_label: "Sample CCD".into(),
            custom_platform_event: "Byoc_Outbound__e".into(),
            custom_event_payload_field: "Payload__c".into(),
            custom_event_type_field: "EventType__c".into(),
            custom_event_channel_address_id_field: "ChannelAddressIdentifier__c".into(),
            custom_event_recipient_field: "Recipient__c".into(),
            routing_owner: Owner::Salesforce,
            consent_owner: Owner::Salesforce,
            connected_app_type: AppManagedBy::Customer,
            linked_app: None,
        }),
        created_at: 1,
    };
    store.apply(ChangeSet::new().insert(&channel)).await.unwrap();
    assert_eq!(store.channel_by_ccd("sample_ccd").await.unwrap(), Some(channel.clone()));
    assert_eq!(store.channel_by_address("addr-1").await.unwrap(), Some(channel.clone()));
    let mut other = channel.clone();
    other.id = "0Mj000000000002".into();
    other.name = "Other".into();
    other.conversation_channel_definition = None;
    assert!(matches!(store.apply(ChangeSet::new().insert(&other)).await, Err(StoreError::Conflict { what: "key", .. })), "same address twice");

    // Audit trail is newest first and limited.
    store.apply(ChangeSet::new().audit([entry("second"), entry("third")])).await.unwrap();
    let trail = store.audit_trail(2).await.unwrap();
    assert_eq!(trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["third", "second"]);
}

#[tokio::test]
async fn sqlite_backend() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    suite(store).await;
    // Data survives reopening.
    let again = Store::open(&url).await.unwrap();
    assert!(again.org().await.unwrap().is_some());
}

#[tokio::test]
async fn postgres_backend() {
    let Some(url) = byoc_store::testing::postgres_url("store suite").await else { return };
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    suite(store).await;
    let again = Store::open(&url).await.unwrap();
    assert!(again.org().await.unwrap().is_some());
}

#[tokio::test]
async fn unknown_scheme_is_refused_clearly() {
    let err = Store::open("mysql://root:secret@localhost/db").await.unwrap_err().to_string();
    assert!(err.contains("unsupported database URL"), "{err}");
    assert!(err.contains("SQLite") && err.contains("PostgreSQL"), "{err}");
    assert!(!err.contains("secret"), "password leaked: {err}");
}
