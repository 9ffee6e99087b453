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
        changes: vec![FieldChange {
            field: "f".into(),
            old_value: None,
            new_value: Some("v".into()),
        }],
    }
}

async fn suite(store: Store) {
    // Empty store.
    assert!(store.org().await.unwrap().is_none());

    // Insert with audit in one change.
    store
        .apply(
            ChangeSet::new()
                .insert(&org())
                .insert(&user("Alice@Example.com"))
                .audit([entry("created")]),
        )
        .await
        .unwrap();
    assert_eq!(store.org().await.unwrap(), Some(org()));
    // Usernames are found case-insensitively.
    let alice = store
        .user("alice@example.COM")
        .await
        .unwrap()
        .expect("alice");
    assert_eq!(alice.username, "Alice@Example.com");
    assert_eq!(
        store.user_by_id(&alice.id).await.unwrap(),
        Some(alice.clone())
    );

    // A conflicting insert fails and leaves nothing behind, audit included.
    let err = store
        .apply(
            ChangeSet::new()
                .insert(&user("bob@example.com"))
                .insert(&user("ALICE@example.com"))
                .audit([entry("should vanish")]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(store.user("bob@example.com").await.unwrap().is_none());
    let trail = store.audit_trail(10).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, "created");
    assert_eq!(trail[0].changes.len(), 1);

    // Apps: lookups by name, API name, consumer key; kinds are separate namespaces.
    let eca = app(
        AppKind::ExternalClientApp,
        "0xI000000000001",
        "Acme App",
        "3MVG9key1",
    );
    let ca = app(
        AppKind::ConnectedApp,
        "0H4000000000001",
        "Legacy App",
        "3MVG9key2",
    );
    store
        .apply(ChangeSet::new().insert(&eca).insert(&ca))
        .await
        .unwrap();
    assert_eq!(
        store
            .app(AppKind::ExternalClientApp, "acme_app")
            .await
            .unwrap(),
        Some(eca.clone())
    );
    assert_eq!(store.any_app("Legacy App").await.unwrap(), Some(ca.clone()));
    assert_eq!(
        store.app_by_consumer_key("3MVG9key2").await.unwrap(),
        Some(ca.clone())
    );
    assert_eq!(
        store.app_by_consumer_key("3mvg9key2").await.unwrap(),
        None,
        "consumer keys are case-sensitive"
    );

    // Duplicate consumer key within a kind is refused.
    let dup = app(
        AppKind::ExternalClientApp,
        "0xI000000000002",
        "Other",
        "3MVG9key1",
    );
    assert!(matches!(
        store.apply(ChangeSet::new().insert(&dup)).await,
        Err(StoreError::Conflict { .. })
    ));

    // Migration shape: the ECA takes the consumer key once the connected app is read-only.
    let mut ro = ca.clone();
    ro.read_only_reason = Some("migrated".into());
    let migrated = app(
        AppKind::ExternalClientApp,
        "0xI000000000003",
        "Legacy App",
        "3MVG9key2",
    );
    store
        .apply(ChangeSet::new().update(&ro).insert(&migrated))
        .await
        .unwrap();
    assert_eq!(
        store
            .app_by_consumer_key("3MVG9key2")
            .await
            .unwrap()
            .map(|a| a.kind),
        Some(AppKind::ExternalClientApp)
    );
    assert_eq!(
        store.any_app("legacy app").await.unwrap().map(|a| a.kind),
        Some(AppKind::ExternalClientApp)
    );
    assert_eq!(
        store.apps(AppKind::ExternalClientApp).await.unwrap().len(),
        2
    );

    // Delete.
    store.apply(ChangeSet::new().delete(&eca)).await.unwrap();
    assert!(store
        .app(AppKind::ExternalClientApp, "Acme App")
        .await
        .unwrap()
        .is_none());

    // Channels by name, CCD developer name and address.
    let channel = MessagingChannel {
        id: "0Mj000000000001".into(),
        name: "Sample".into(),
        developer_name: "Sample".into(),
        channel_type: ChannelType::ByocMessaging,
        channel_address_identifier: "addr-1".into(),
        is_active: true,
        conversation_channel_definition: Some(ConversationChannelDefinition {
            id: "0Yd000000000001".into(),
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
            created_at: 1,
            last_modified_at: 1,
        }),
        created_at: 1,
    };
    store
        .apply(ChangeSet::new().insert(&channel))
        .await
        .unwrap();
    assert_eq!(
        store.channel_by_ccd("sample_ccd").await.unwrap(),
        Some(channel.clone())
    );
    assert_eq!(
        store.channel_by_address("addr-1").await.unwrap(),
        Some(channel.clone())
    );
    let mut other = channel.clone();
    other.id = "0Mj000000000002".into();
    other.name = "Other".into();
    other.conversation_channel_definition = None;
    assert!(
        matches!(
            store.apply(ChangeSet::new().insert(&other)).await,
            Err(StoreError::Conflict { what: "key", .. })
        ),
        "same address twice"
    );

    // Audit trail is newest first and limited.
    store
        .apply(ChangeSet::new().audit([entry("second"), entry("third")]))
        .await
        .unwrap();
    let trail = store.audit_trail(2).await.unwrap();
    assert_eq!(
        trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["third", "second"]
    );
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
    let Some(url) = byoc_store::testing::postgres_url("store suite").await else {
        return;
    };
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    suite(store).await;
    let again = Store::open(&url).await.unwrap();
    assert!(again.org().await.unwrap().is_some());
}

#[tokio::test]
async fn unknown_scheme_is_refused_clearly() {
    let err = Store::open("mysql://root:secret@localhost/db")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("unsupported database URL"), "{err}");
    assert!(
        err.contains("SQLite") && err.contains("PostgreSQL"),
        "{err}"
    );
    assert!(!err.contains("secret"), "password leaked: {err}");
}

// ---- the OAuth repository ---------------------------------------------------------------------

fn login(
    username: &str,
    app: &str,
    status: byoc_proto::oauth::LoginStatus,
    t: i64,
) -> byoc_proto::oauth::LoginHistoryEntry {
    byoc_proto::oauth::LoginHistoryEntry {
        login_time: t,
        username: username.into(),
        user_id: None,
        application: Some(app.into()),
        consumer_key: Some(format!("3MVG9{app}")),
        login_type: "Remote Access 2.0".into(),
        status,
        error: None,
        error_description: None,
        diagnosis: Some("why".into()),
        source_ip: Some("127.0.0.1".into()),
    }
}

async fn oauth_suite(store: Store) {
    use byoc_proto::oauth::LoginStatus::{Failed, Success};
    use byoc_store::oauth::LoginHistoryFilter;
    let repo = store.repo();

    // The first stored key wins, for every instance.
    let k1 = repo.server_key("seal", "aa", 1).await.unwrap();
    let k2 = repo.server_key("seal", "bb", 2).await.unwrap();
    assert_eq!((k1.as_str(), k2.as_str()), ("aa", "aa"));

    // Revocations: idempotent, windowed by time, expired ones left out and purged.
    repo.revoke_token("t1", 1_000, 100).await.unwrap();
    repo.revoke_token("t1", 1_000, 150).await.unwrap();
    repo.revoke_token("t2", 50, 200).await.unwrap();
    assert_eq!(repo.revoked_tokens(0, 60).await.unwrap(), ["t1"]);
    assert!(repo.revoked_tokens(101, 60).await.unwrap().is_empty());

    // Assertion ids: once per app.
    assert!(repo.use_assertion_id("app1", "j", 1_000).await.unwrap());
    assert!(!repo.use_assertion_id("app1", "j", 1_000).await.unwrap());
    assert!(repo.use_assertion_id("app2", "j", 1_000).await.unwrap());
    repo.purge_expired(5_000).await.unwrap();
    assert!(
        repo.use_assertion_id("app1", "j", 9_000).await.unwrap(),
        "purged ids can be used again"
    );
    assert!(repo.revoked_tokens(0, 0).await.unwrap().is_empty());

    // Login history: newest first, filters combine.
    repo.record_logins(&[]).await.unwrap();
    repo.record_logins(&[
        login("a@x.com", "App One", Success, 1),
        login("b@x.com", "App One", Failed, 2),
        login("A@x.com", "Two", Failed, 3),
    ])
    .await
    .unwrap();
    let all = repo
        .login_history(&LoginHistoryFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.login_time).collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert_eq!(all[2], login("a@x.com", "App One", Success, 1));
    let f = |username: Option<&str>, app: Option<&str>, status| LoginHistoryFilter {
        limit: 10,
        username: username.map(Into::into),
        app: app.map(Into::into),
        status,
    };
    let times = |v: Vec<byoc_proto::oauth::LoginHistoryEntry>| {
        v.iter().map(|e| e.login_time).collect::<Vec<_>>()
    };
    assert_eq!(
        times(
            repo.login_history(&f(Some("a@X.com"), None, None))
                .await
                .unwrap()
        ),
        [3, 1]
    );
    assert_eq!(
        times(
            repo.login_history(&f(None, Some("app one"), None))
                .await
                .unwrap()
        ),
        [2, 1]
    );
    assert_eq!(
        times(
            repo.login_history(&f(None, Some("3MVG9Two"), None))
                .await
                .unwrap()
        ),
        [3]
    );
    assert_eq!(
        times(
            repo.login_history(&f(Some("a@x.com"), None, Some(Failed)))
                .await
                .unwrap()
        ),
        [3]
    );
    assert_eq!(
        times(
            repo.login_history(&LoginHistoryFilter {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        [3]
    );

    // A large batch (several multi-row statements) lands whole, in one transaction.
    let batch: Vec<_> = (100..250)
        .map(|t| login("bulk@x.com", "Bulk", Success, t))
        .collect();
    repo.record_logins(&batch).await.unwrap();
    let bulk = repo
        .login_history(&LoginHistoryFilter {
            limit: 1000,
            username: Some("bulk@x.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(bulk.len(), 150);
    assert_eq!(
        bulk.last(),
        Some(&login("bulk@x.com", "Bulk", Success, 100))
    );

    // The setup fingerprint moves with every setup write.
    let before = repo.setup_fingerprint().await.unwrap();
    let generation = store.generation();
    store
        .apply(ChangeSet::new().insert(&user("fingerprint@x.com")))
        .await
        .unwrap();
    assert_ne!(repo.setup_fingerprint().await.unwrap(), before);
    // (On PostgreSQL the change notices of earlier writes may move it further.)
    assert!(store.generation() > generation);

    // Principal revocations commit with the setup change; the latest per subject wins.
    store
        .apply(
            ChangeSet::new()
                .update(&user("fingerprint@x.com"))
                .revoke_principal("005REVOKED00001", 2_000)
                .revoke_principal("0xIREVOKED00001", 1_000),
        )
        .await
        .unwrap();
    store
        .apply(ChangeSet::new().revoke_principal("005REVOKED00001", 1_500))
        .await
        .unwrap();
    let mut rows = repo.revoked_principals(0).await.unwrap();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("005REVOKED00001".to_string(), 2_000),
            ("0xIREVOKED00001".to_string(), 1_000)
        ]
    );
    assert_eq!(
        repo.revoked_principals(1_001).await.unwrap(),
        [("005REVOKED00001".to_string(), 2_000)]
    );
    // A change that fails writes no revocation.
    let dup = user("fingerprint@x.com");
    assert!(store
        .apply(
            ChangeSet::new()
                .insert(&dup)
                .revoke_principal("005ROLLEDBACK001", 9_000)
        )
        .await
        .is_err());
    assert!(repo.revoked_principals(9_000).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_oauth_repository() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("byoc.db").display()
    ))
    .await
    .unwrap();
    oauth_suite(store).await;
}

#[tokio::test]
async fn postgres_oauth_repository() {
    let Some(url) = byoc_store::testing::postgres_url("store OAuth suite").await else {
        return;
    };
    oauth_suite(Store::open(&url).await.unwrap()).await;
}

// ---- platform events (docs/pubsub.md) ----------------------------------------------------------

async fn events_suite(store: Store) {
    use byoc_store::events::{NewEvent, StoredSchema, TopicBounds};
    let repo = store.repo();
    let topic = "/event/Byoc_Outbound__e";
    let schema = StoredSchema {
        schema_id: "s1".into(),
        topic: topic.into(),
        schema_json: "{}".into(),
    };
    let event = |n: i64| NewEvent {
        event_id: format!("e{n}"),
        schema_id: "s1".into(),
        payload: vec![n as u8, 0, 255],
        created_at: n,
    };

    assert_eq!(
        repo.topic_bounds(topic).await.unwrap(),
        TopicBounds {
            latest: 0,
            oldest_retained: None
        }
    );
    assert_eq!(
        repo.append_events(topic, &schema, &[event(1), event(2)])
            .await
            .unwrap(),
        vec![1, 2]
    );
    assert_eq!(
        repo.append_events(topic, &schema, &[event(3)])
            .await
            .unwrap(),
        vec![3]
    );
    // Topics count independently.
    assert_eq!(
        repo.append_events("/event/Other__e", &schema, &[event(4)])
            .await
            .unwrap(),
        vec![1]
    );
    assert_eq!(
        repo.topic_bounds(topic).await.unwrap(),
        TopicBounds {
            latest: 3,
            oldest_retained: Some(1)
        }
    );

    let all = repo.read_events(topic, 0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.replay_id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(all[1].payload, vec![2, 0, 255]);
    assert_eq!(all[1].event_id, "e2");
    assert_eq!(repo.read_events(topic, 1, 1).await.unwrap()[0].replay_id, 2);
    assert!(repo.read_events(topic, 3, 10).await.unwrap().is_empty());

    // Concurrent appenders get distinct, gapless ids.
    let mut joins = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let schema = schema.clone();
        joins.push(tokio::spawn(async move {
            store
                .repo()
                .append_events(topic, &schema, &[event(10 + i)])
                .await
                .unwrap()
        }));
    }
    let mut ids: Vec<i64> = Vec::new();
    for j in joins {
        ids.extend(j.await.unwrap());
    }
    ids.sort();
    assert_eq!(ids, (4..12).collect::<Vec<_>>());

    // Retention drops old events but never reuses their ids.
    assert_eq!(repo.purge_events(3).await.unwrap(), 2);
    assert_eq!(
        repo.topic_bounds(topic).await.unwrap(),
        TopicBounds {
            latest: 11,
            oldest_retained: Some(3)
        }
    );

    assert_eq!(
        repo.event_schema("s1").await.unwrap().unwrap().schema_json,
        "{}"
    );
    assert!(repo.event_schema("nope").await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_event_repository() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("byoc.db").display()
    ))
    .await
    .unwrap();
    events_suite(store).await;
}

#[tokio::test]
async fn postgres_event_repository() {
    let Some(url) = byoc_store::testing::postgres_url("store events suite").await else {
        return;
    };
    events_suite(Store::open(&url).await.unwrap()).await;
}

// ---- writes that belong together ---------------------------------------------------------------

use byoc_store::conversations::{
    Claim, EntryRecord, EntryTarget, NewConversation, OutboxEvent, SessionChoice, WriteOp,
    WriteOutcome,
};
use byoc_store::events::{NewEvent, StoredSchema};
use sqlx::Connection as _;

/// A second, raw connection to the same database, to do what byoc never does (inject faults).
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Raw {
    async fn open(url: &str) -> Raw {
        if url.starts_with("sqlite") {
            Raw::Sqlite(sqlx::SqliteConnection::connect(url).await.unwrap())
        } else {
            Raw::Postgres(sqlx::PgConnection::connect(url).await.unwrap())
        }
    }

    async fn execute(&mut self, sql: &str) {
        match self {
            Raw::Sqlite(c) => sqlx::query(sql).execute(&mut *c).await.map(|_| ()),
            Raw::Postgres(c) => sqlx::query(sql).execute(&mut *c).await.map(|_| ()),
        }
        .unwrap();
    }
}

const TOPIC: &str = "/event/Outbox_Test__e";

fn agent_entry(entry_id: &str) -> EntryRecord {
    EntryRecord {
        entry_id: entry_id.into(),
        entry_type: "Message".into(),
        sender_app_type: "agent".into(),
        sender_subject: "005000000000001AAA".into(),
        sender_role: "Agent".into(),
        client_timestamp: 10,
        text: Some("hello".into()),
        message_type: Some("StaticContentMessage".into()),
        format_type: Some("Text".into()),
        acknowledged_entry_id: None,
        source: "agent".into(),
        payload: "{}".into(),
        attachment: None,
    }
}

fn append(client: &str, entry_id: &str) -> WriteOp {
    WriteOp::Append {
        target: EntryTarget::EndUser(NewConversation {
            channel_id: "0Mj000000000001".into(),
            channel_address: "address-1".into(),
            ccd_developer_name: "ccd".into(),
            client_id: client.into(),
            new_end_user_id: format!("0PA-{client}"),
            new_conversation_id: format!("conv-{client}"),
            routing_attributes: "{}".into(),
        }),
        session: SessionChoice::Current {
            new_session_id: format!("0Mw-{client}"),
        },
        entries: vec![agent_entry(entry_id)],
        now: 10,
    }
}

fn outbox_event(event_id: &str) -> OutboxEvent {
    OutboxEvent {
        topic: TOPIC.into(),
        schema: StoredSchema {
            schema_id: "schema-1".into(),
            topic: TOPIC.into(),
            schema_json: "{}".into(),
        },
        event: NewEvent {
            event_id: event_id.into(),
            schema_id: "schema-1".into(),
            payload: vec![1, 2, 3],
            created_at: 10,
        },
    }
}

async fn outbox_suite(store: Store, url: &str) {
    let repo = store.repo();
    let mut raw = Raw::open(url).await;

    // A fault inside the transaction, on the event insert: replay id 1 of the topic is taken
    // behind the counter's back, so the event's INSERT violates the primary key.
    let blob = match raw {
        Raw::Sqlite(_) => "X'00'",
        Raw::Postgres(_) => "decode('00', 'hex')",
    };
    raw.execute(&format!(
        "INSERT INTO platform_events (topic, replay_id, event_id, schema_id, payload, created_at) \
         VALUES ('{TOPIC}', 1, 'poison', 'schema-1', {blob}, 1)"
    ))
    .await;
    let unit = WriteOp::Unit {
        claim: None,
        ops: vec![append("alice", "entry-1")],
        event: Some(outbox_event("event-1")),
    };
    let failed = repo.write_batch(std::slice::from_ref(&unit)).await;
    assert!(
        failed.is_err(),
        "the poisoned event insert must fail the unit"
    );
    // Neither the entry (nor its conversation) nor the event: the unit is all or nothing.
    assert!(repo.conversation("conv-alice").await.unwrap().is_none());
    assert!(repo.conversations(10).await.unwrap().is_empty());
    let events = repo.read_events(TOPIC, 0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, "poison");

    // Without the fault, both commit, and the unit reports the event's replay id.
    raw.execute(&format!(
        "DELETE FROM platform_events WHERE topic = '{TOPIC}'"
    ))
    .await;
    let outcome = repo.write_batch(&[unit]).await.unwrap();
    let WriteOutcome::Unit {
        outcomes,
        replay_id,
    } = &outcome[0]
    else {
        panic!("{outcome:?}")
    };
    assert!(matches!(outcomes[0], WriteOutcome::Appended { .. }));
    assert_eq!(*replay_id, Some(1));
    assert_eq!(repo.entry_count("conv-alice").await.unwrap(), 1);
    let events = repo.read_events(TOPIC, 0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, "event-1");

    // A unit whose op finds its conversation missing writes nothing, not even its event.
    let missing = WriteOp::Unit {
        claim: None,
        ops: vec![
            WriteOp::PutRecord {
                kind: "k".into(),
                key: "before".into(),
                conversation_id: None,
                body: "{}".into(),
                now: 1,
            },
            WriteOp::Append {
                target: EntryTarget::Conversation("no-such-conversation".into()),
                session: SessionChoice::None,
                entries: vec![agent_entry("entry-x")],
                now: 11,
            },
        ],
        event: Some(outbox_event("event-x")),
    };
    let outcome = repo.write_batch(&[missing]).await.unwrap();
    assert!(outcome[0].is_not_found(), "{outcome:?}");
    assert!(repo.record("k", "before").await.unwrap().is_none());
    assert_eq!(repo.read_events(TOPIC, 0, 10).await.unwrap().len(), 1);

    // An idempotency key: the first unit applies and keeps its answer; a second one with the
    // same key (in the same batch or later) writes nothing and gets the answer and replay id.
    let keyed = |entry: &str, event: &str| WriteOp::Unit {
        claim: Some(Claim::IdempotencyKey {
            scope: "agent.reply|conv-alice".into(),
            key: "key-1".into(),
            response: format!("{{\"entry\":\"{entry}\"}}"),
            now: 12,
        }),
        ops: vec![WriteOp::Append {
            target: EntryTarget::Conversation("conv-alice".into()),
            session: SessionChoice::Current {
                new_session_id: "unused".into(),
            },
            entries: vec![agent_entry(entry)],
            now: 12,
        }],
        event: Some(outbox_event(event)),
    };
    let outcomes = repo
        .write_batch(&[keyed("entry-2", "event-2"), keyed("entry-3", "event-3")])
        .await
        .unwrap();
    assert!(
        matches!(
            outcomes[0],
            WriteOutcome::Unit {
                replay_id: Some(2),
                ..
            }
        ),
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes[1],
        WriteOutcome::Replayed {
            response: "{\"entry\":\"entry-2\"}".into(),
            replay_id: Some(2)
        }
    );
    let later = repo
        .write_batch(&[keyed("entry-4", "event-4")])
        .await
        .unwrap();
    assert_eq!(later[0], outcomes[1]);
    assert_eq!(repo.entry_count("conv-alice").await.unwrap(), 2);
    assert_eq!(repo.read_events(TOPIC, 0, 10).await.unwrap().len(), 2);
    assert_eq!(
        repo.idempotent_response("agent.reply|conv-alice", "key-1")
            .await
            .unwrap(),
        Some(("{\"entry\":\"entry-2\"}".to_string(), Some(2)))
    );
    assert!(repo
        .idempotent_response("agent.reply|conv-alice", "key-2")
        .await
        .unwrap()
        .is_none());

    // A claimed record: held while its body says so; the unit's other writes go with it.
    let claim = |work: &str| WriteOp::Unit {
        claim: Some(Claim::Record {
            kind: "agentWork".into(),
            key: "active|005|0Mw".into(),
            conversation_id: Some("conv-alice".into()),
            body: format!("{{\"active\":true,\"agentWorkId\":\"{work}\"}}"),
            held_when: "\"active\":true".into(),
            now: 13,
        }),
        ops: vec![WriteOp::PutRecord {
            kind: "agentWork".into(),
            key: work.into(),
            conversation_id: Some("conv-alice".into()),
            body: "{}".into(),
            now: 13,
        }],
        event: None,
    };
    let outcomes = repo
        .write_batch(&[claim("0Bz1"), claim("0Bz2")])
        .await
        .unwrap();
    assert!(
        matches!(outcomes[0], WriteOutcome::Unit { .. }),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[1], WriteOutcome::Held);
    assert!(repo.record("agentWork", "0Bz1").await.unwrap().is_some());
    assert!(repo.record("agentWork", "0Bz2").await.unwrap().is_none());
    // Released (as PATCH /agentWork does when the work closes), it can be claimed again.
    repo.write_batch(&[WriteOp::PutRecord {
        kind: "agentWork".into(),
        key: "active|005|0Mw".into(),
        conversation_id: Some("conv-alice".into()),
        body: "{\"active\":false,\"agentWorkId\":\"0Bz1\"}".into(),
        now: 14,
    }])
    .await
    .unwrap();
    let again = repo.write_batch(&[claim("0Bz3")]).await.unwrap();
    assert!(matches!(again[0], WriteOutcome::Unit { .. }), "{again:?}");
}

#[tokio::test]
async fn sqlite_outbox_and_claims() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
    outbox_suite(Store::open(&url).await.unwrap(), &url).await;
}

#[tokio::test]
async fn postgres_outbox_and_claims() {
    let Some(url) = byoc_store::testing::postgres_url("store outbox suite").await else {
        return;
    };
    outbox_suite(Store::open(&url).await.unwrap(), &url).await;
}

/// Optimistic concurrency: an update of a record as read fails, with nothing applied, when the
/// record changed since the read (here: written through another handle, as another instance
/// would).
async fn stale_update_suite(first: Store, second: Store) {
    let read = app(
        AppKind::ExternalClientApp,
        "0xa000000000001",
        "Racer",
        "key-racer",
    );
    first.apply(ChangeSet::new().insert(&read)).await.unwrap();
    let read = first
        .app(AppKind::ExternalClientApp, "Racer")
        .await
        .unwrap()
        .unwrap();

    // The other instance edits first.
    let mut theirs = read.clone();
    theirs.description = "theirs".into();
    theirs.updated_at = 2;
    second
        .apply(ChangeSet::new().update_from(&read, &theirs))
        .await
        .unwrap();

    // Ours was read before their edit: refused, and nothing of the change set is applied.
    let mut ours = read.clone();
    ours.contact_email = "ours@example.com".into();
    ours.updated_at = 3;
    let err = first
        .apply(
            ChangeSet::new()
                .update_from(&read, &ours)
                .insert(&user("bystander@example.com"))
                .audit([entry("lost race")]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err:?}");
    let stored = first
        .app(AppKind::ExternalClientApp, "Racer")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, theirs);
    assert!(first.user("bystander@example.com").await.unwrap().is_none());

    // Read again, the edit goes through.
    first
        .apply(ChangeSet::new().update_from(&stored, &ours))
        .await
        .unwrap();
    // A record deleted since the read is stale too.
    first.apply(ChangeSet::new().delete(&ours)).await.unwrap();
    let err = second
        .apply(ChangeSet::new().update_from(&ours, &theirs))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err:?}");
}

#[tokio::test]
async fn sqlite_stale_updates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
    stale_update_suite(
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn postgres_stale_updates_are_refused() {
    let Some(url) = byoc_store::testing::postgres_url("store stale update").await else {
        return;
    };
    stale_update_suite(
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    )
    .await;
}

// ---- the console repository ------------------------------------------------------------------

async fn console_suite(store: Store, url: &str) {
    use byoc_store::console::ConsoleSessionRow;
    let repo = store.repo();

    // Passwords: none until set; set with the audit row in one change; a new one replaces it.
    assert_eq!(repo.password_hash("005A").await.unwrap(), None);
    store
        .apply(
            ChangeSet::new()
                .set_password("005A", "$argon2id$one".into(), 10)
                .audit([entry("Changed password for user a")]),
        )
        .await
        .unwrap();
    assert_eq!(
        repo.password_hash("005A").await.unwrap().as_deref(),
        Some("$argon2id$one")
    );
    store
        .apply(ChangeSet::new().set_password("005A", "$argon2id$two".into(), 11))
        .await
        .unwrap();
    assert_eq!(
        repo.password_hash("005A").await.unwrap().as_deref(),
        Some("$argon2id$two")
    );
    assert_eq!(repo.password_hash("005B").await.unwrap(), None);
    // A failing change stores no password.
    let failed = store
        .apply(
            ChangeSet::new()
                .set_password("005B", "$argon2id$lost".into(), 12)
                .insert(&org())
                .insert(&org()),
        )
        .await;
    assert!(failed.is_err());
    assert_eq!(repo.password_hash("005B").await.unwrap(), None);

    // Sessions: found by hash until they expire, Login As kept, deleted on logout.
    let session = |hash: &str, expires_at| ConsoleSessionRow {
        session_hash: hash.into(),
        username: "as@example.com".into(),
        real_username: Some("admin@example.com".into()),
        csrf: "c".into(),
        created_at: 100,
        expires_at,
    };
    repo.create_console_session(&session("h1", 1_000), 100)
        .await
        .unwrap();
    repo.create_console_session(&session("h2", 2_000), 100)
        .await
        .unwrap();
    assert_eq!(
        repo.console_session("h1", 999).await.unwrap(),
        Some(session("h1", 1_000))
    );
    assert_eq!(repo.console_session("h1", 1_000).await.unwrap(), None);
    assert_eq!(repo.console_session("nope", 0).await.unwrap(), None);
    // Sessions survive reopening the database.
    let again = Store::open(url).await.unwrap();
    assert_eq!(
        again.repo().console_session("h2", 500).await.unwrap(),
        Some(session("h2", 2_000))
    );
    repo.delete_console_session("h2").await.unwrap();
    repo.delete_console_session("h2").await.unwrap();
    assert_eq!(repo.console_session("h2", 500).await.unwrap(), None);
    // Creating a session purges the expired ones.
    repo.create_console_session(&session("h3", 9_000), 5_000)
        .await
        .unwrap();
    assert_eq!(repo.console_session("h1", 0).await.unwrap(), None);
}

#[tokio::test]
async fn sqlite_console_repository() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
    let store = Store::open(&url).await.unwrap();
    console_suite(store, &url).await;
}

#[tokio::test]
async fn postgres_console_repository() {
    let Some(url) = byoc_store::testing::postgres_url("console repository").await else {
        return;
    };
    let store = Store::open(&url).await.unwrap();
    console_suite(store, &url).await;
}

// ---- the console's live feed ---------------------------------------------------------------------

use byoc_store::live::{FeedBounds, NewFeedRow};

fn data(row: &byoc_store::live::FeedRow) -> serde_json::Value {
    serde_json::from_str(&row.body).unwrap()
}

async fn live_suite(store: Store, url: &str) {
    let repo = store.repo();
    assert_eq!(
        repo.feed_bounds().await.unwrap(),
        FeedBounds {
            head: 0,
            oldest: None
        }
    );

    // One row per conversation the batch touched, in order, kinds merged.
    repo.write_batch(&[
        append("alice", "e1"),
        append("alice", "e2"),
        append("bob", "e3"),
    ])
    .await
    .unwrap();
    let rows = repo.feed_after(0, 100).await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].seq, rows[1].seq), (1, 2));
    assert_eq!(rows[0].kind, "conversation");
    assert_eq!(rows[0].conversation_id, "conv-alice");
    assert_eq!(
        data(&rows[0]),
        serde_json::json!({"conversationId": "conv-alice", "channelId": "0Mj000000000001",
            "kinds": ["session", "entry"], "at": 10})
    );
    assert_eq!(data(&rows[1])["conversationId"], "conv-bob");

    // A retry that stores nothing new, and units that roll back, add nothing.
    repo.write_batch(&[append("alice", "e1")]).await.unwrap();
    let missing = WriteOp::Unit {
        claim: None,
        ops: vec![
            WriteOp::PutRecord {
                kind: "agentWork".into(),
                key: "w1".into(),
                conversation_id: Some("conv-bob".into()),
                body: "{}".into(),
                now: 11,
            },
            WriteOp::SessionStatus {
                conversation_id: "no-such-conversation".into(),
                session_id: None,
                status: "Ended".into(),
                ended_by: None,
                now: 11,
            },
        ],
        event: None,
    };
    let out = repo.write_batch(&[missing]).await.unwrap();
    assert!(out[0].is_not_found(), "{out:?}");
    assert_eq!(repo.feed_bounds().await.unwrap().head, 2);

    // A failed batch writes no feed row either (the same transaction).
    let mut raw = Raw::open(url).await;
    let blob = match raw {
        Raw::Sqlite(_) => "X'00'",
        Raw::Postgres(_) => "decode('00', 'hex')",
    };
    raw.execute(&format!(
        "INSERT INTO platform_events (topic, replay_id, event_id, schema_id, payload, created_at) \
         VALUES ('{TOPIC}', 1, 'poison', 'schema-1', {blob}, 1)"
    ))
    .await;
    let unit = WriteOp::Unit {
        claim: None,
        ops: vec![append("carol", "e4")],
        event: Some(outbox_event("event-4")),
    };
    assert!(repo.write_batch(std::slice::from_ref(&unit)).await.is_err());
    assert_eq!(repo.feed_bounds().await.unwrap().head, 2);
    raw.execute(&format!(
        "DELETE FROM platform_events WHERE topic = '{TOPIC}'"
    ))
    .await;

    // A unit with an event: its row, and the link from the event to the conversation and entry.
    let out = repo.write_batch(&[unit]).await.unwrap();
    let WriteOutcome::Unit {
        replay_id: Some(replay_id),
        ..
    } = out[0]
    else {
        panic!("{out:?}")
    };
    let link = repo.event_link(TOPIC, replay_id).await.unwrap().unwrap();
    assert_eq!(link.conversation_id, "conv-carol");
    assert_eq!(link.entry_id.as_deref(), Some("e4"));
    assert!(repo
        .event_link(TOPIC, replay_id + 1)
        .await
        .unwrap()
        .is_none());
    let rows = repo.feed_after(2, 100).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].seq, rows[0].conversation_id.as_str()),
        (3, "conv-carol")
    );

    // Records, session changes and consent: channel looked up, kinds named.
    repo.write_batch(&[
        WriteOp::PutRecord {
            kind: "agentWork".into(),
            key: "w1".into(),
            conversation_id: Some("conv-bob".into()),
            body: "{}".into(),
            now: 12,
        },
        WriteOp::SessionStatus {
            conversation_id: "conv-alice".into(),
            session_id: None,
            status: "Ended".into(),
            ended_by: Some("agent".into()),
            now: 12,
        },
        WriteOp::Consent {
            channel_id: "0Mj000000000001".into(),
            client_id: "bob".into(),
            new_end_user_id: "0PA-unused".into(),
            status: "OptedOut".into(),
            now: 13,
        },
    ])
    .await
    .unwrap();
    let rows = repo.feed_after(3, 100).await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        data(&rows[0]),
        serde_json::json!({"conversationId": "conv-bob", "channelId": "0Mj000000000001",
            "kinds": ["record", "consent"], "at": 13})
    );
    assert_eq!(data(&rows[1])["kinds"], serde_json::json!(["session"]));

    // Rows appended by the server (deliveries), and reads by page.
    let head = repo
        .append_feed(&[
            NewFeedRow {
                kind: "delivered".into(),
                conversation_id: "conv-carol".into(),
                body: "{\"conversationId\":\"conv-carol\"}".into(),
                created_at: 20,
            },
            NewFeedRow {
                kind: "delivered".into(),
                conversation_id: "conv-carol".into(),
                body: "{}".into(),
                created_at: 21,
            },
        ])
        .await
        .unwrap();
    assert_eq!(head, 7);
    assert_eq!(repo.append_feed(&[]).await.unwrap(), 7);
    let all = repo.feed_after(0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6, 7]
    );
    let page = repo.feed_after(5, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!((page[0].seq, page[0].kind.as_str()), (6, "delivered"));

    // Pruning by age, then by count; the head stays.
    assert_eq!(repo.prune_feed(12, 1000).await.unwrap(), 3);
    let bounds = repo.feed_bounds().await.unwrap();
    assert_eq!(
        bounds,
        FeedBounds {
            head: 7,
            oldest: Some(4)
        }
    );
    assert!(bounds.can_resume_after(3) && !bounds.can_resume_after(2));
    assert_eq!(repo.prune_feed(0, 1).await.unwrap(), 3);
    assert_eq!(repo.feed_after(0, 100).await.unwrap().len(), 1);
    // The event's link was as old as the rows pruned by age.
    assert!(repo.event_link(TOPIC, replay_id).await.unwrap().is_none());
    repo.prune_feed(i64::MAX, 1000).await.unwrap();
    let empty = repo.feed_bounds().await.unwrap();
    assert_eq!(
        empty,
        FeedBounds {
            head: 7,
            oldest: None
        }
    );
    assert!(empty.can_resume_after(7) && !empty.can_resume_after(6));
}

#[tokio::test]
async fn sqlite_live_feed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
    let store = Store::open(&url).await.unwrap();
    assert!(store.repo().feed_listener().await.unwrap().is_none());
    live_suite(store, &url).await;
}

#[tokio::test]
async fn postgres_live_feed() {
    let Some(url) = byoc_store::testing::postgres_url("store live feed suite").await else {
        return;
    };
    live_suite(Store::open(&url).await.unwrap(), &url).await;
}

/// Two handles on one PostgreSQL (two instances): writers race, seqs stay gap-free, and each
/// commit is announced to the other's listener.
#[tokio::test]
async fn postgres_live_feed_across_instances() {
    let Some(url) = byoc_store::testing::postgres_url("store live feed across instances").await
    else {
        return;
    };
    let a = Store::open(&url).await.unwrap();
    let b = Store::open(&url).await.unwrap();
    let mut listener = b.repo().feed_listener().await.unwrap().unwrap();
    a.repo().write_batch(&[append("first", "x")]).await.unwrap();
    assert_eq!(listener.recv().await.unwrap(), Some(1));

    let mut writers = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        writers.spawn(async move {
            store
                .repo()
                .write_batch(&[append(&format!("c{i}"), "x")])
                .await
                .unwrap();
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let rows = a.repo().feed_after(0, 1000).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=41).collect::<Vec<_>>()
    );
    let mut conversations: Vec<_> = rows.iter().map(|r| r.conversation_id.clone()).collect();
    conversations.sort();
    conversations.dedup();
    assert_eq!(conversations.len(), 41);
}

// ---- one batch script, every backend and path -------------------------------------------------
//
// PostgreSQL applies a write batch with a server-side function (one round trip), SQLite statement
// by statement in process. The same script of batches runs through SQLite, PostgreSQL's function
// and PostgreSQL's in-process path (kept as the reference), and everything they answer and store
// is compared: outcomes, errors (by kind), rows, events, event links and live feed rows.

use byoc_store::conversations::{AttachmentRecord, Missing};
use byoc_store::sql::PostgresStore;

fn end_user(client: &str) -> EntryTarget {
    EntryTarget::EndUser(NewConversation {
        channel_id: "0Mj000000000001".into(),
        channel_address: "address-1".into(),
        ccd_developer_name: "ccd".into(),
        client_id: client.into(),
        new_end_user_id: format!("0PA-{client}"),
        new_conversation_id: format!("conv-{client}"),
        routing_attributes: "{\"k\":\"v\"}".into(),
    })
}

fn end_user_entry(entry_id: &str, text: &str) -> EntryRecord {
    EntryRecord {
        sender_role: "EndUser".into(),
        sender_app_type: "custom".into(),
        text: Some(text.into()),
        source: "interactions".into(),
        payload: format!("{{\"id\":\"{entry_id}\",\"quote\":\"\\\"é\\n\"}}"),
        ..agent_entry(entry_id)
    }
}

fn with_attachment(mut e: EntryRecord, id: &str, bytes: &[u8]) -> EntryRecord {
    e.attachment = Some(AttachmentRecord {
        id: id.into(),
        name: format!("{id}.bin"),
        mime_type: "application/octet-stream".into(),
        content: bytes.to_vec(),
    });
    e.text = None;
    e
}

fn put(kind: &str, key: &str, conversation: Option<&str>, now: i64) -> WriteOp {
    WriteOp::PutRecord {
        kind: kind.into(),
        key: key.into(),
        conversation_id: conversation.map(str::to_string),
        body: format!("{{\"key\":\"{key}\"}}"),
        now,
    }
}

fn status(conversation: &str, session: Option<&str>, status: &str, now: i64) -> WriteOp {
    WriteOp::SessionStatus {
        conversation_id: conversation.into(),
        session_id: session.map(str::to_string),
        status: status.into(),
        ended_by: (status == "Ended").then(|| "agent-1".to_string()),
        now,
    }
}

fn to_conversation(
    id: &str,
    session: SessionChoice,
    entries: Vec<EntryRecord>,
    now: i64,
) -> WriteOp {
    WriteOp::Append {
        target: EntryTarget::Conversation(id.into()),
        session,
        entries,
        now,
    }
}

fn keyed_reply(key: &str, entry_id: &str, event_id: &str, now: i64) -> WriteOp {
    WriteOp::Unit {
        claim: Some(Claim::IdempotencyKey {
            scope: "agent.reply|conv-alice".into(),
            key: key.into(),
            response: format!("{{\"entryId\":\"{entry_id}\"}}"),
            now,
        }),
        ops: vec![to_conversation(
            "conv-alice",
            SessionChoice::Current {
                new_session_id: format!("0Mw-unused-{entry_id}"),
            },
            vec![agent_entry(entry_id)],
            now,
        )],
        event: Some(outbox_event(event_id)),
    }
}

fn work_claim(work: &str, now: i64) -> WriteOp {
    WriteOp::Unit {
        claim: Some(Claim::Record {
            kind: "agentWork".into(),
            key: "active|005|conv-bob".into(),
            conversation_id: Some("conv-bob".into()),
            body: format!("{{\"active\":true,\"agentWorkId\":\"{work}\"}}"),
            held_when: "\"active\":true".into(),
            now,
        }),
        ops: vec![put("agentWork", work, Some("conv-bob"), now)],
        event: None,
    }
}

/// Where a script's batches go.
enum Path {
    Repository(Store),
    /// PostgreSQL's statement-by-statement path, the function's reference.
    PostgresInProcess(Store, PostgresStore),
}

impl Path {
    fn store(&self) -> &Store {
        match self {
            Path::Repository(s) | Path::PostgresInProcess(s, _) => s,
        }
    }

    async fn write(&self, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, StoreError> {
        match self {
            Path::Repository(s) => s.repo().write_batch(ops).await,
            Path::PostgresInProcess(_, pg) => pg.write_batch_in_process(ops).await,
        }
    }
}

/// An error as the script records it: its kind, not its backend-specific text.
fn error_kind(e: &StoreError) -> String {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            "unique violation".into()
        }
        StoreError::Database(sqlx::Error::Protocol(p)) => format!("protocol: {p}"),
        other => format!("other: {other}"),
    }
}

/// Run the script; returns its transcript (every answer, then every stored row).
async fn batch_script(path: &Path) -> Vec<String> {
    let mut log = Vec::new();
    let batches: Vec<(&str, Vec<WriteOp>)> = vec![
        (
            "first contacts, duplicates and misses",
            vec![
                WriteOp::Append {
                    target: end_user("alice"),
                    session: SessionChoice::Current {
                        new_session_id: "0Mw-alice-1".into(),
                    },
                    entries: vec![end_user_entry("a1", "hello"), end_user_entry("a2", "again")],
                    now: 100,
                },
                // A retry in the same batch: a duplicate, answered with the stored session.
                WriteOp::Append {
                    target: end_user("alice"),
                    session: SessionChoice::Current {
                        new_session_id: "0Mw-alice-x".into(),
                    },
                    entries: vec![end_user_entry("a1", "hello")],
                    now: 101,
                },
                WriteOp::Append {
                    target: end_user("bob"),
                    session: SessionChoice::Current {
                        new_session_id: "0Mw-bob-1".into(),
                    },
                    entries: vec![with_attachment(
                        end_user_entry("b1", ""),
                        "att-1",
                        &[0, 1, 2, 255],
                    )],
                    now: 102,
                },
                WriteOp::Consent {
                    channel_id: "0Mj000000000001".into(),
                    client_id: "alice".into(),
                    new_end_user_id: "0PA-unused".into(),
                    status: "OptedIn".into(),
                    now: 103,
                },
                put("routing", "r-alice", Some("conv-alice"), 104),
                put("capabilities", "global", None, 104),
                put("routing", "r-ghost", Some("conv-ghost"), 104),
                status("conv-nobody", None, "Ended", 105),
                to_conversation(
                    "conv-nobody",
                    SessionChoice::None,
                    vec![agent_entry("n1")],
                    105,
                ),
                // Carol's conversation is created even though the session is missing: no unit.
                WriteOp::Append {
                    target: end_user("carol"),
                    session: SessionChoice::Attach("0Mw-nope".into()),
                    entries: vec![end_user_entry("c1", "lost")],
                    now: 106,
                },
            ],
        ),
        (
            "units: idempotency keys, claims, refusals, events",
            vec![
                keyed_reply("k1", "r1", "ev-1", 200),
                keyed_reply("k1", "r2", "ev-2", 201),
                // Refused (a missing conversation) after a good op: nothing of it stays.
                WriteOp::Unit {
                    claim: Some(Claim::IdempotencyKey {
                        scope: "agent.reply|conv-alice".into(),
                        key: "k2".into(),
                        response: "{}".into(),
                        now: 202,
                    }),
                    ops: vec![
                        put("routing", "r-refused", Some("conv-alice"), 202),
                        to_conversation(
                            "conv-missing",
                            SessionChoice::None,
                            vec![agent_entry("m1")],
                            202,
                        ),
                        put("routing", "r-after", Some("conv-bob"), 202),
                    ],
                    event: Some(outbox_event("ev-refused")),
                },
                work_claim("0Bz1", 203),
                work_claim("0Bz2", 204),
                // A unit with an event but no conversation: no event link.
                WriteOp::Unit {
                    claim: None,
                    ops: vec![put("agentWork", "loose", None, 205)],
                    event: Some(outbox_event("ev-loose")),
                },
                // A unit whose entry is a duplicate: the event links no entry.
                WriteOp::Unit {
                    claim: None,
                    ops: vec![to_conversation(
                        "conv-alice",
                        SessionChoice::None,
                        vec![agent_entry("r1")],
                        206,
                    )],
                    event: Some(outbox_event("ev-dup")),
                },
                // The same key claimed again after the refused unit: free, it was rolled back.
                keyed_reply("k2", "r3", "ev-3", 207),
            ],
        ),
        (
            "sessions",
            vec![
                status("conv-alice", None, "Inactive", 300),
                WriteOp::Append {
                    target: end_user("alice"),
                    session: SessionChoice::Current {
                        new_session_id: "0Mw-alice-2".into(),
                    },
                    entries: vec![end_user_entry("a3", "back")],
                    now: 301,
                },
                status("conv-alice", Some("0Mw-alice-1"), "Ended", 302),
                WriteOp::Append {
                    target: end_user("alice"),
                    session: SessionChoice::Current {
                        new_session_id: "0Mw-alice-3".into(),
                    },
                    entries: vec![end_user_entry("a4", "new session")],
                    now: 303,
                },
                status("conv-bob", Some("0Mw-alice-3"), "Ended", 304),
                to_conversation(
                    "conv-bob",
                    SessionChoice::Establish {
                        session_id: "0Mw-bob-history".into(),
                        started_at: 10,
                        ended_at: Some(20),
                    },
                    vec![agent_entry("bh1")],
                    305,
                ),
                to_conversation(
                    "conv-bob",
                    SessionChoice::Attach("0Mw-bob-history".into()),
                    vec![agent_entry("bh2")],
                    306,
                ),
                // Establishing (looking up) a conversation without entries.
                to_conversation("conv-bob", SessionChoice::None, vec![], 307),
                // Duplicates only: no entry touch, the stored session answers.
                WriteOp::Append {
                    target: end_user("alice"),
                    session: SessionChoice::Current {
                        new_session_id: "0Mw-alice-4".into(),
                    },
                    entries: vec![end_user_entry("a1", "hello")],
                    now: 308,
                },
                // An end user known from consent alone gets a conversation on first contact.
                WriteOp::Consent {
                    channel_id: "0Mj000000000001".into(),
                    client_id: "dave".into(),
                    new_end_user_id: "0PA-dave".into(),
                    status: "OptedOut".into(),
                    now: 309,
                },
                WriteOp::Append {
                    target: end_user("dave"),
                    session: SessionChoice::Current {
                        new_session_id: "0Mw-dave-1".into(),
                    },
                    entries: vec![end_user_entry("d1", "hi")],
                    now: 310,
                },
            ],
        ),
        (
            "a failing batch leaves nothing (an attachment id taken)",
            vec![
                WriteOp::Append {
                    target: end_user("erin"),
                    session: SessionChoice::Current {
                        new_session_id: "0Mw-erin-1".into(),
                    },
                    entries: vec![end_user_entry("e1", "first")],
                    now: 400,
                },
                keyed_reply("k3", "r4", "ev-4", 400),
                WriteOp::Append {
                    target: end_user("erin"),
                    session: SessionChoice::Current {
                        new_session_id: "0Mw-erin-1".into(),
                    },
                    entries: vec![with_attachment(end_user_entry("e2", ""), "att-1", &[9])],
                    now: 401,
                },
            ],
        ),
        (
            "a unit inside a unit is refused",
            vec![
                put("routing", "r-nested", None, 500),
                WriteOp::Unit {
                    claim: None,
                    ops: vec![WriteOp::Unit {
                        claim: None,
                        ops: vec![],
                        event: None,
                    }],
                    event: None,
                },
            ],
        ),
        ("an empty batch", vec![]),
    ];
    for (name, ops) in &batches {
        match path.write(ops).await {
            Ok(outcomes) => {
                assert_eq!(outcomes.len(), ops.len(), "{name}");
                for o in outcomes {
                    log.push(format!("{name}: {o:?}"));
                }
            }
            Err(e) => log.push(format!("{name}: error, {}", error_kind(&e))),
        }
    }

    let repo = path.store().repo();
    for c in repo.conversations(100).await.unwrap() {
        log.push(format!("conversation {c:?}"));
        for s in repo.sessions(&c.id).await.unwrap() {
            log.push(format!("  session {s:?}"));
        }
        for mut e in repo.entries(&c.id).await.unwrap() {
            // Sequences are not transactional on PostgreSQL: a failed batch uses some up.
            e.seq = 0;
            log.push(format!("  entry {e:?}"));
        }
        for a in repo.attachments(&c.id).await.unwrap() {
            let bytes = repo
                .attachment_content(&a.id)
                .await
                .unwrap()
                .map(|(_, b)| b);
            log.push(format!("  attachment {a:?} {bytes:?}"));
        }
        for r in repo.records_of(&c.id).await.unwrap() {
            log.push(format!("  record {r:?}"));
        }
        let u = repo.end_user(&c.channel_id, &c.client_id).await.unwrap();
        log.push(format!("  end user {u:?}"));
    }
    for (kind, key) in [
        ("capabilities", "global"),
        ("routing", "r-ghost"),
        ("routing", "r-refused"),
        ("routing", "r-after"),
        ("routing", "r-nested"),
        ("agentWork", "loose"),
        ("agentWork", "active|005|conv-bob"),
        ("agentWork", "0Bz2"),
    ] {
        log.push(format!(
            "record {kind}/{key}: {:?}",
            repo.record(kind, key).await.unwrap()
        ));
    }
    for key in ["k1", "k2", "k3"] {
        let kept = repo
            .idempotent_response("agent.reply|conv-alice", key)
            .await
            .unwrap();
        log.push(format!("idempotency key {key}: {kept:?}"));
    }
    for client in ["dave", "erin"] {
        let u = repo.end_user("0Mj000000000001", client).await.unwrap();
        log.push(format!("end user {client}: {u:?}"));
    }
    for e in repo.read_events(TOPIC, 0, 100).await.unwrap() {
        let link = repo.event_link(TOPIC, e.replay_id).await.unwrap();
        log.push(format!("event {e:?} link {link:?}"));
    }
    log.push(format!(
        "schema {:?}",
        repo.event_schema("schema-1").await.unwrap()
    ));
    log.push(format!("feed {:?}", repo.feed_bounds().await.unwrap()));
    for row in repo.feed_after(0, 1000).await.unwrap() {
        log.push(format!("feed {row:?}"));
    }
    log
}

/// What the script must have done, whichever path ran it (so the comparison cannot pass with
/// every path equally wrong).
fn check_script(log: &[String]) {
    let joined = log.join("\n");
    let has = |needle: &str| {
        assert!(
            log.iter().any(|l| l.contains(needle)),
            "missing {needle:?} in\n{joined}"
        )
    };
    has("first contacts, duplicates and misses: Appended { conversation: ConversationRow { id: \"conv-alice\"");
    has("StoredEntry { entry_id: \"a1\", session_id: Some(\"0Mw-alice-1\"), duplicate: true }");
    has(&format!(
        "first contacts, duplicates and misses: {:?}",
        WriteOutcome::NotFound(Missing::Conversation)
    ));
    has(&format!(
        "first contacts, duplicates and misses: {:?}",
        WriteOutcome::NotFound(Missing::Session)
    ));
    has("Replayed { response: \"{\\\"entryId\\\":\\\"r1\\\"}\", replay_id: Some(1) }");
    has("units: idempotency keys, claims, refusals, events: Held");
    has("a failing batch leaves nothing (an attachment id taken): error, unique violation");
    has("a unit inside a unit is refused: error, protocol: a write unit cannot nest another");
    has("record routing/r-refused: None");
    has("record routing/r-nested: None");
    has("idempotency key k3: None");
    has("end user erin: None");
    has("attachment AttachmentMeta { id: \"att-1\"");
    has("[0, 1, 2, 255]");
    has("idempotency key k2: Some((\"{\\\"entryId\\\":\\\"r3\\\"}\", Some(4)))");
    has("link Some(EventLink { conversation_id: \"conv-alice\", entry_id: Some(\"r1\") })");
    // A unit that only repeated an entry touched no conversation: its event carries none.
    has("\"ev-dup\", schema_id: \"schema-1\", payload: [1, 2, 3], created_at: 10 } link None");
    has("event_id: \"ev-loose\"");
    has("\\\"kinds\\\":[\\\"session\\\",\\\"entry\\\",\\\"consent\\\",\\\"record\\\"]");
    has("\\\"channelId\\\":null,\\\"conversationId\\\":\\\"conv-ghost\\\"");
    has("session SessionRow { id: \"0Mw-alice-3\", conversation_id: \"conv-alice\", status: \"Active\"");
    has("session SessionRow { id: \"0Mw-alice-1\", conversation_id: \"conv-alice\", status: \"Ended\", started_at: 100, ended_at: Some(302) }");
    assert!(!joined.contains("ev-refused"), "{joined}");
    assert!(!joined.contains("conv-erin"), "{joined}");
    // Every feed body is what serde_json writes for its value (the Rust path's bytes).
    for line in log.iter().filter(|l| l.starts_with("feed FeedRow")) {
        let body = line
            .split("body: \"")
            .nth(1)
            .unwrap()
            .split("\", created_at")
            .next()
            .unwrap();
        let body = body.replace("\\\"", "\"");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value.to_string(), body);
    }
}

#[tokio::test]
async fn write_batches_answer_and_store_the_same_on_every_backend_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
    let sqlite = batch_script(&Path::Repository(Store::open(&url).await.unwrap())).await;
    check_script(&sqlite);

    let Some(url) = byoc_store::testing::postgres_url("batch script, server-side function").await
    else {
        return;
    };
    let function = batch_script(&Path::Repository(Store::open(&url).await.unwrap())).await;
    let Some(url) = byoc_store::testing::postgres_url("batch script, in process").await else {
        return;
    };
    let in_process = batch_script(&Path::PostgresInProcess(
        Store::open(&url).await.unwrap(),
        PostgresStore::open(&url).await.unwrap(),
    ))
    .await;
    for (name, log) in [
        ("PostgreSQL function", &function),
        ("PostgreSQL in process", &in_process),
    ] {
        for (i, (a, b)) in sqlite.iter().zip(log.iter()).enumerate() {
            assert_eq!(a, b, "line {i}: SQLite vs {name}");
        }
        assert_eq!(sqlite.len(), log.len(), "SQLite vs {name}");
    }
}

// ---- change notices (byoc_store::notify) --------------------------------------------------------

use byoc_store::notify::{Channel, Notice};

/// The next notice `want` accepts, skipping others; a generous bound, not a timing assertion.
async fn expect_notice(
    rx: &mut tokio::sync::broadcast::Receiver<Notice>,
    what: &str,
    want: impl Fn(&Notice) -> bool,
) -> Notice {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let next = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} notice within 15 s"));
        match next {
            Ok(n) if want(&n) => return n,
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("notices ended: {e}"),
        }
    }
}

fn changed(channel: Channel, detail: &str) -> impl Fn(&Notice) -> bool + '_ {
    move |n| matches!(n, Notice::Changed { channel: c, detail: d } if *c == channel && d == detail)
}

fn notice_schema(topic: &str) -> StoredSchema {
    StoredSchema {
        schema_id: "notice-schema".into(),
        topic: topic.into(),
        schema_json: "{}".into(),
    }
}

fn notice_event(n: i64) -> NewEvent {
    NewEvent {
        event_id: format!("notice-{n}"),
        schema_id: "notice-schema".into(),
        payload: vec![1, 2, 3],
        created_at: n,
    }
}

/// On SQLite the store announces its own setup commits (and principal revocations), after they
/// committed; a failed change announces nothing.
#[tokio::test]
async fn sqlite_store_announces_its_own_commits() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
    let store = Store::open(&url).await.unwrap();
    let mut rx = store.notices();
    store
        .apply(ChangeSet::new().insert(&user("notice@x.com")))
        .await
        .unwrap();
    assert_eq!(
        rx.try_recv().unwrap(),
        Notice::Changed {
            channel: Channel::Setup,
            detail: String::new()
        }
    );
    assert!(rx.try_recv().is_err(), "one commit, one notice");
    store
        .apply(
            ChangeSet::new()
                .update(&user("notice@x.com"))
                .revoke_principal("005NOTICE000001", 5),
        )
        .await
        .unwrap();
    expect_notice(&mut rx, "setup", changed(Channel::Setup, "")).await;
    expect_notice(
        &mut rx,
        "principal revocation",
        changed(Channel::OAuth, "principal_revocations"),
    )
    .await;
    // A name taken: the change fails and says nothing.
    let mut twin = user("notice@x.com");
    twin.id = "005TWIN00000001".into();
    assert!(store.apply(ChangeSet::new().insert(&twin)).await.is_err());
    assert!(rx.try_recv().is_err());
}

/// Two handles on one PostgreSQL (two instances): what one commits reaches the other's notices
/// through the triggers — setup records, revoked tokens, sealing keys, events by topic, feed rows
/// — and a setup notice moves the other's generation, so its caches drop what they held.
#[tokio::test]
async fn postgres_commits_are_announced_to_every_instance() {
    let Some(url) = byoc_store::testing::postgres_url("store change notices").await else {
        return;
    };
    let a = Store::open(&url).await.unwrap();
    let b = Store::open(&url).await.unwrap();
    let mut rx = b.notices();

    let generation = b.generation();
    a.apply(ChangeSet::new().insert(&user("remote@x.com")))
        .await
        .unwrap();
    expect_notice(&mut rx, "setup", changed(Channel::Setup, "")).await;
    assert!(b.generation() > generation, "b's caches must see a's write");

    a.repo().revoke_token("tok-1", i64::MAX, 1).await.unwrap();
    expect_notice(
        &mut rx,
        "revoked token",
        changed(Channel::OAuth, "revoked_tokens"),
    )
    .await;
    a.repo().server_key("notice-key", "00ff", 1).await.unwrap();
    expect_notice(
        &mut rx,
        "sealing key",
        changed(Channel::OAuth, "server_keys"),
    )
    .await;

    let topic = "/event/Notice_A__e";
    a.repo()
        .append_events(
            topic,
            &notice_schema(topic),
            &[notice_event(1), notice_event(2)],
        )
        .await
        .unwrap();
    expect_notice(&mut rx, "event", changed(Channel::Events, topic)).await;

    // The conversation batch (the outbox path) is covered too: its feed rows are announced
    // with the new head.
    a.repo()
        .write_batch(&[append("notice-c", "x")])
        .await
        .unwrap();
    let head = a.repo().feed_bounds().await.unwrap().head;
    expect_notice(&mut rx, "feed", changed(Channel::Feed, &head.to_string())).await;
}

/// The listening connection is killed (`pg_terminate_backend` on this test's own database):
/// the store connects again by itself and says `Resync`, and a consumer's catch-up read then
/// finds what was committed while nobody listened; notices flow again afterwards.
#[tokio::test]
async fn postgres_lost_listener_resyncs_and_nothing_is_missed() {
    let Some(url) = byoc_store::testing::postgres_url("store notices resync").await else {
        return;
    };
    let a = Store::open(&url).await.unwrap();
    let b = Store::open(&url).await.unwrap();
    let mut rx = b.notices();
    let topic = "/event/Notice_B__e";
    a.repo()
        .append_events(topic, &notice_schema(topic), &[notice_event(1)])
        .await
        .unwrap();
    expect_notice(&mut rx, "event", changed(Channel::Events, topic)).await;
    let seen = 1;

    // Kill every LISTEN connection of this database (a's and b's), then write at once.
    let killed = byoc_store::testing::terminate_listeners(&url)
        .await
        .unwrap();
    assert!(killed >= 2, "a's and b's LISTEN connections: {killed}");
    a.repo()
        .append_events(topic, &notice_schema(topic), &[notice_event(2)])
        .await
        .unwrap();

    expect_notice(&mut rx, "resync", |n| *n == Notice::Resync).await;
    // The catch-up read a subscriber does on Resync: from its position, everything is there.
    let missed = b.repo().read_events(topic, seen, 100).await.unwrap();
    assert_eq!(
        missed
            .iter()
            .map(|e| e.event_id.as_str())
            .collect::<Vec<_>>(),
        vec!["notice-2"]
    );

    // Listening again: the next commit is announced.
    a.repo()
        .append_events(topic, &notice_schema(topic), &[notice_event(3)])
        .await
        .unwrap();
    expect_notice(
        &mut rx,
        "event after the reconnect",
        changed(Channel::Events, topic),
    )
    .await;
}

// ---- the local CA (issue 13) -------------------------------------------------------------------

/// Two handles on one database (two instances) each offer a CA at once: both get the same one
/// back, the first stored; later offers change nothing.
async fn local_ca_suite(url: &str) {
    use byoc_store::pki::StoredCa;
    let (a, b) = (
        Store::open(url).await.unwrap(),
        Store::open(url).await.unwrap(),
    );
    assert_eq!(a.repo().local_ca().await.unwrap(), None);
    let offer = |n: i64| StoredCa {
        certificate_pem: format!("cert {n}"),
        private_key_pem: format!("key {n}"),
        created_at: n,
    };
    let (one, two) = (offer(1), offer(2));
    let (first, second) = tokio::join!(
        a.repo().local_ca_or_insert(&one),
        b.repo().local_ca_or_insert(&two)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first, second);
    assert!(first == offer(1) || first == offer(2), "{first:?}");
    assert_eq!(a.repo().local_ca_or_insert(&offer(3)).await.unwrap(), first);
    assert_eq!(b.repo().local_ca().await.unwrap(), Some(first.clone()));
    // The key never reaches a Debug line.
    assert!(!format!("{first:?}").contains("key"));
}

#[tokio::test]
async fn sqlite_local_ca_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    local_ca_suite(&format!(
        "sqlite://{}",
        dir.path().join("byoc.db").display()
    ))
    .await;
}

#[tokio::test]
async fn postgres_local_ca_is_stored_once() {
    let Some(url) = byoc_store::testing::postgres_url("local ca").await else {
        return;
    };
    local_ca_suite(&url).await;
}

// ---- REST query cursors and the API usage count (issue 13) -------------------------------------

async fn cursors_suite(store: Store) {
    use byoc_store::cursors::NewQueryCursor;
    let repo = store.repo();
    let cursor = |id: &str, owner: &str| NewQueryCursor {
        id: id.into(),
        owner: owner.into(),
        base: "/services/data/v68.0/query".into(),
        records: "{\"a\":1}\n{\"a\":2}".into(),
        total: 2,
    };
    // Owned, marked used on every read, gone once idle.
    repo.open_query_cursor(&cursor("01gA", "005A"), 1_000, 0, 3)
        .await
        .unwrap();
    let row = repo
        .query_cursor("01gA", "005A", 2_000, 500)
        .await
        .unwrap()
        .expect("the owner reads it");
    assert_eq!(
        (row.base.as_str(), row.records.as_str(), row.total),
        ("/services/data/v68.0/query", "{\"a\":1}\n{\"a\":2}", 2)
    );
    assert!(repo
        .query_cursor("01gA", "005B", 2_000, 500)
        .await
        .unwrap()
        .is_none());
    assert!(repo
        .query_cursor("01gNope", "005A", 2_000, 500)
        .await
        .unwrap()
        .is_none());
    // Used at 2000: still there after an idle bound of 1999, not of 2000.
    assert!(repo
        .query_cursor("01gA", "005A", 3_000, 1_999)
        .await
        .unwrap()
        .is_some());
    assert!(repo
        .query_cursor("01gA", "005A", 4_000, 3_000)
        .await
        .unwrap()
        .is_none());
    // At most `max`: the least recently used goes first.
    for (i, id) in ["01gB", "01gC", "01gD"].iter().enumerate() {
        repo.open_query_cursor(&cursor(id, "005A"), 10_000 + i as i64, 0, 3)
            .await
            .unwrap();
    }
    repo.query_cursor("01gB", "005A", 20_000, 0).await.unwrap();
    repo.open_query_cursor(&cursor("01gE", "005A"), 20_001, 0, 3)
        .await
        .unwrap();
    let mut left = vec![];
    for id in ["01gB", "01gC", "01gD", "01gE"] {
        if repo
            .query_cursor(id, "005A", 20_002, 0)
            .await
            .unwrap()
            .is_some()
        {
            left.push(id);
        }
    }
    assert_eq!(left, ["01gB", "01gD", "01gE"]);

    // The API usage count adds up per day.
    assert_eq!(repo.add_api_usage("2026-11-29", 0).await.unwrap(), 0);
    assert_eq!(repo.add_api_usage("2026-11-29", 5).await.unwrap(), 5);
    assert_eq!(repo.add_api_usage("2026-11-29", 3).await.unwrap(), 8);
    assert_eq!(repo.add_api_usage("2026-11-29", 0).await.unwrap(), 8);
    assert_eq!(repo.add_api_usage("2026-11-30", 1).await.unwrap(), 1);
}

#[tokio::test]
async fn sqlite_cursors_and_api_usage() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("byoc.db").display()
    ))
    .await
    .unwrap();
    cursors_suite(store).await;
}

#[tokio::test]
async fn postgres_cursors_and_api_usage() {
    let Some(url) = byoc_store::testing::postgres_url("store cursors suite").await else {
        return;
    };
    cursors_suite(Store::open(&url).await.unwrap()).await;
}

/// The org clock's offset (migration 0014): absent means real time; `advance` adds in one
/// statement and refuses (changing nothing) what would leave the bounds; `set` replaces.
async fn clock_suite(store: Store) {
    use byoc_store::clock::StoredClock;
    let repo = store.repo();
    assert_eq!(repo.org_clock().await.unwrap(), StoredClock::REAL);
    // A first move out of bounds stores nothing.
    assert_eq!(
        repo.advance_org_clock(5_000, -100, 1_000, 7).await.unwrap(),
        None
    );
    assert_eq!(repo.org_clock().await.unwrap(), StoredClock::REAL);
    let first = repo.advance_org_clock(600, -100, 1_000, 7).await.unwrap();
    assert_eq!(
        first,
        Some(StoredClock {
            offset_millis: 600,
            moved_at: 7
        })
    );
    let second = repo.advance_org_clock(300, -100, 1_000, 8).await.unwrap();
    assert_eq!(second.map(|c| c.offset_millis), Some(900));
    // 900 + 300 is past 1000: refused, the stored offset and time stay.
    assert_eq!(
        repo.advance_org_clock(300, -100, 1_000, 9).await.unwrap(),
        None
    );
    assert_eq!(
        repo.org_clock().await.unwrap(),
        StoredClock {
            offset_millis: 900,
            moved_at: 8
        }
    );
    // Backwards, within bounds; and a large step back that lands within them.
    let back = repo.advance_org_clock(-950, -100, 1_000, 10).await.unwrap();
    assert_eq!(back.map(|c| c.offset_millis), Some(-50));
    repo.set_org_clock(4_000, 11).await.unwrap();
    let landed = repo
        .advance_org_clock(-3_500, -100, 1_000, 12)
        .await
        .unwrap();
    assert_eq!(landed.map(|c| c.offset_millis), Some(500));
    repo.set_org_clock(0, 13).await.unwrap();
    assert_eq!(repo.org_clock().await.unwrap().offset_millis, 0);
}

#[tokio::test]
async fn sqlite_org_clock() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
    clock_suite(Store::open(&url).await.unwrap()).await;
}

/// On PostgreSQL every move is also announced to every instance (`byoc_clock`).
#[tokio::test]
async fn postgres_org_clock_and_its_notices() {
    let Some(url) = byoc_store::testing::postgres_url("store org clock").await else {
        return;
    };
    let a = Store::open(&url).await.unwrap();
    let b = Store::open(&url).await.unwrap();
    let mut rx = b.notices();
    clock_suite(a.clone()).await;
    let mut clock_notices = 0;
    while let Ok(Ok(notice)) =
        tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv()).await
    {
        if matches!(
            notice,
            byoc_store::notify::Notice::Changed {
                channel: byoc_store::notify::Channel::Clock,
                ..
            }
        ) {
            clock_notices += 1;
            // One per write that changed the row (three advances, two sets, one more advance);
            // the refused advances change nothing and stay silent.
            if clock_notices == 6 {
                break;
            }
        }
    }
    assert_eq!(clock_notices, 6, "one notice per move that changed the row");
    // None more: the refused advances stayed silent.
    while let Ok(Ok(notice)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), rx.recv()).await
    {
        assert!(
            !matches!(
                notice,
                byoc_store::notify::Notice::Changed {
                    channel: byoc_store::notify::Channel::Clock,
                    ..
                }
            ),
            "a refused move was announced"
        );
    }

    let _ = a.repo().advance_org_clock(1, -100, 1_000, 1).await.unwrap();
    assert_eq!(b.repo().org_clock().await.unwrap().offset_millis, 1);
}

// ---- the seed and reset -----------------------------------------------------------------------

/// `save_seed` keeps the setup (never over another start's unless replacing), `reset` puts it
/// back and empties the run's records in one go, keeping replay ids, and every handle on the
/// database hears it (`second`: another instance's handle).
async fn seed_suite(store: Store, second: Store) {
    use byoc_store::events::{NewEvent, StoredSchema};
    use byoc_store::notify::{Channel, Notice};
    let repo = store.repo();
    let topic = "/event/Byoc_Outbound__e";
    let schema = StoredSchema {
        schema_id: "s1".into(),
        topic: topic.into(),
        schema_json: "{}".into(),
    };
    let event = |n: i64| NewEvent {
        event_id: format!("e{n}"),
        schema_id: "s1".into(),
        payload: vec![n as u8],
        created_at: n,
    };
    let seed_app = app(
        AppKind::ExternalClientApp,
        "0xS000000000001",
        "Seed App",
        "3MVGseed",
    );
    store
        .apply(
            ChangeSet::new()
                .insert(&org())
                .insert(&user("admin@example.com"))
                .insert(&seed_app)
                .audit([entry("created")]),
        )
        .await
        .unwrap();

    // Without a seed, a reset to it changes nothing.
    let err = store.reset(false, &entry("reset")).await.unwrap_err();
    assert!(matches!(err, StoreError::NoSeed), "{err}");
    assert_eq!(store.audit_trail(10).await.unwrap().len(), 1);

    assert!(store.save_seed(10, "sample", false).await.unwrap());
    // Another start finds one and keeps it.
    assert!(!store.save_seed(11, "existing", false).await.unwrap());
    assert_eq!(repo.seed_info().await.unwrap().unwrap().source, "sample");

    // A run: a new user and app, the seed app changed, events, logins, audit entries.
    let mut changed = seed_app.clone();
    changed.description = "changed by the run".into();
    store
        .apply(
            ChangeSet::new()
                .insert(&user("run@example.com"))
                .insert(&app(
                    AppKind::ExternalClientApp,
                    "0xS000000000002",
                    "Run App",
                    "3MVGrun",
                ))
                .update(&changed)
                .audit([entry("run")]),
        )
        .await
        .unwrap();
    assert_eq!(
        repo.append_events(topic, &schema, &[event(1), event(2)])
            .await
            .unwrap(),
        vec![1, 2]
    );
    repo.record_logins(&[login(
        "run@example.com",
        "Run App",
        byoc_proto::oauth::LoginStatus::Success,
        5,
    )])
    .await
    .unwrap();

    let mut heard = second.notices();
    let report = store.reset(false, &entry("Reset the org")).await.unwrap();
    let removed = |what: &str| report.removed.iter().find(|(k, _)| *k == what).unwrap().1;
    assert_eq!(removed("platformEvents"), 2);
    assert_eq!(removed("loginHistory"), 1);
    assert_eq!(removed("auditTrail"), 2);
    let names = |list: &[byoc_store::seed::SetupRef]| -> Vec<String> {
        list.iter().map(|r| r.name.clone()).collect()
    };
    assert_eq!(names(&report.setup_removed), ["Run App", "run@example.com"]);
    assert_eq!(names(&report.setup_restored), ["Seed App"]);

    // The seed's setup, the org untouched; only the reset's own audit entry.
    let users: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(users, ["admin@example.com"]);
    assert_eq!(
        store.apps(AppKind::ExternalClientApp).await.unwrap(),
        std::slice::from_ref(&seed_app)
    );
    assert!(store.org().await.unwrap().is_some());
    let audit = store.audit_trail(10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "Reset the org");
    // Replay ids go on from where they were.
    assert_eq!(
        repo.append_events(topic, &schema, &[event(3)])
            .await
            .unwrap(),
        vec![3]
    );

    // The other handle hears the reset.
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match heard.recv().await {
                Ok(Notice::Changed {
                    channel: Channel::Reset,
                    ..
                }) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    })
    .await;
    if store.backend() == "postgres" {
        assert_eq!(got, Ok(true), "the other instance heard byoc_reset");
    }

    // --keep-setup: a new user stays; events go.
    store
        .apply(ChangeSet::new().insert(&user("kept@example.com")))
        .await
        .unwrap();
    let report = store
        .reset(true, &entry("Reset, setup kept"))
        .await
        .unwrap();
    assert!(report.setup_removed.is_empty() && report.setup_restored.is_empty());
    assert!(store.user("kept@example.com").await.unwrap().is_some());
    assert_eq!(
        report
            .removed
            .iter()
            .find(|(k, _)| *k == "platformEvents")
            .unwrap()
            .1,
        1
    );

    // Replacing the seed (the first start's own instance).
    assert!(store.save_seed(20, "project /x", true).await.unwrap());
    store.reset(false, &entry("again")).await.unwrap();
    assert!(store.user("kept@example.com").await.unwrap().is_some());
}

#[tokio::test]
async fn sqlite_seed_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("byoc.db").display());
    let store = Store::open(&url).await.unwrap();
    seed_suite(store.clone(), store).await;
}

#[tokio::test]
async fn postgres_seed_and_reset() {
    let Some(url) = byoc_store::testing::postgres_url("store seed suite").await else {
        return;
    };
    let (first, second) = (
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    );
    seed_suite(first, second).await;
}
