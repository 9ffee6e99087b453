//! The plan against `OrgSetup` values: what's created, changed, unchanged, and the problems that
//! cross components.

use byoc_proto::setup::{
    App, AppKind, AppManagedBy, AppPolicies, AppRef, ChannelType, ConversationChannelDefinition,
    CustomField, FieldType, MessagingChannel, OAuthSettings, ObjectPermissions, Owner,
    PermissionSet, PermittedUsers, PlatformEventDefinition, PlatformEventType, PublishBehavior,
    UserPermission,
};

use super::*;

fn field(name: &str, field_type: FieldType) -> CustomField {
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

fn event(name: &str) -> PlatformEventDefinition {
    PlatformEventDefinition {
        id: String::new(),
        full_name: name.into(),
        label: "Outbound".into(),
        plural_label: "Outbounds".into(),
        description: String::new(),
        event_type: PlatformEventType::HighVolume,
        publish_behavior: PublishBehavior::PublishAfterCommit,
        deployment_status: "Deployed".into(),
        fields: vec![
            field("Payload__c", FieldType::LongTextArea),
            field("EventType__c", FieldType::Text),
            field("ChannelAddressIdentifier__c", FieldType::Text),
            field("Recipient__c", FieldType::Text),
            field("Count__c", FieldType::Number),
        ],
        created_at: 0,
        last_modified_at: 0,
    }
}

fn eca(name: &str) -> App {
    App {
        id: String::new(),
        kind: AppKind::ExternalClientApp,
        name: name.into(),
        api_name: name.into(),
        contact_email: "admin@example.com".into(),
        description: String::new(),
        distribution_state: Some("Local".into()),
        oauth: OAuthSettings {
            is_enabled: true,
            callback_urls: vec!["https://example.com/cb".into()],
            scopes: vec!["interaction_api".into(), "refresh_token".into()],
            jwt_bearer_enabled: false,
            client_credentials_enabled: false,
            consumer_key: String::new(),
            consumer_secret: None,
            certificate: None,
        },
        policies: AppPolicies {
            permitted_users: PermittedUsers::AdminApprovedPreAuthorized,
            profiles: vec!["System Administrator".into()],
            ..AppPolicies::default()
        },
        read_only_reason: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn ccd(name: &str, event: &str, app: Option<&str>) -> ConversationChannelDefinition {
    ConversationChannelDefinition {
        id: String::new(),
        developer_name: name.into(),
        master_label: name.into(),
        custom_platform_event: event.into(),
        custom_event_payload_field: "Payload__c".into(),
        custom_event_type_field: "EventType__c".into(),
        custom_event_channel_address_id_field: "ChannelAddressIdentifier__c".into(),
        custom_event_recipient_field: "Recipient__c".into(),
        routing_owner: Owner::Salesforce,
        consent_owner: Owner::Salesforce,
        connected_app_type: AppManagedBy::Customer,
        linked_app: app.map(|a| AppRef {
            kind: AppKind::ExternalClientApp,
            id: String::new(),
            name: String::new(),
            api_name: a.into(),
        }),
        created_at: 0,
        last_modified_at: 0,
    }
}

fn channel(name: &str, address: &str, ccd: ConversationChannelDefinition) -> MessagingChannel {
    MessagingChannel {
        id: String::new(),
        name: name.into(),
        developer_name: name.into(),
        channel_type: ChannelType::ByocMessaging,
        channel_address_identifier: address.into(),
        is_active: true,
        conversation_channel_definition: Some(ccd),
        created_at: 0,
    }
}

fn permission_set(name: &str, object: &str) -> PermissionSet {
    PermissionSet {
        id: String::new(),
        name: name.into(),
        label: name.into(),
        permissions: vec![UserPermission::MessagingUser],
        object_permissions: vec![ObjectPermissions {
            object: object.into(),
            allow_read: true,
            allow_create: false,
        }],
        created_at: 0,
    }
}

/// A project as a new user writes it: an ECA, a custom event, a permission set and a channel
/// whose CCD names both.
fn project() -> OrgSetup {
    OrgSetup {
        external_client_apps: vec![eca("Acme_Connector")],
        connected_apps: vec![],
        permission_sets: vec![permission_set("Acme_Agents", "acme__Outbound__e")],
        platform_events: vec![event("acme__Outbound__e")],
        channels: vec![channel(
            "Acme_Channel",
            "acme-1",
            ccd("Acme_CCD", "acme__Outbound__e", Some("Acme_Connector")),
        )],
        standalone_ccds: vec![],
    }
}

/// The org after the project was deployed: ids, dates, generated keys.
fn deployed(mut org: OrgSetup) -> OrgSetup {
    for (i, app) in org.external_client_apps.iter_mut().enumerate() {
        app.id = format!("0xI00000000000{i}");
        app.oauth.consumer_key = format!("3MVG9key{i}");
        app.oauth.consumer_secret = Some(format!("secret{i}"));
        app.created_at = 5;
        app.updated_at = 6;
    }
    for ps in &mut org.permission_sets {
        ps.id = "0PS000000000001".into();
        ps.created_at = 5;
    }
    for e in &mut org.platform_events {
        e.id = "01I000000000001".into();
        e.created_at = 5;
        e.last_modified_at = 6;
    }
    for c in &mut org.channels {
        c.id = "0Mj000000000001".into();
        c.created_at = 5;
        let d = c.conversation_channel_definition.as_mut().unwrap();
        d.id = "0Yd000000000001".into();
        d.created_at = 5;
        d.last_modified_at = 6;
        let link = d.linked_app.as_mut().unwrap();
        link.id = "0xI000000000000".into();
        link.name = "Acme_Connector".into();
    }
    org
}

fn actions(plan: &Plan) -> Vec<(String, String, Action)> {
    plan.changes
        .iter()
        .map(|c| (c.component_type.clone(), c.full_name.clone(), c.action))
        .collect()
}

fn problems(plan: &Plan) -> Vec<String> {
    plan.problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn into_an_empty_org_everything_is_created() {
    let plan = plan(&OrgSetup::default(), &project(), &Files::new());
    assert_eq!(problems(&plan), Vec::<String>::new());
    let created: Vec<_> = actions(&plan)
        .into_iter()
        .map(|(t, n, a)| {
            assert_eq!(a, Action::Created, "{t} {n}");
            format!("{t} {n}")
        })
        .collect();
    assert_eq!(
        created,
        [
            "ExternalClientApplication Acme_Connector",
            "PermissionSet Acme_Agents",
            "CustomObject acme__Outbound__e",
            "CustomField acme__Outbound__e.Payload__c",
            "CustomField acme__Outbound__e.EventType__c",
            "CustomField acme__Outbound__e.ChannelAddressIdentifier__c",
            "CustomField acme__Outbound__e.Recipient__c",
            "CustomField acme__Outbound__e.Count__c",
            "MessagingChannel Acme_Channel",
            "ConversationChannelDefinition Acme_CCD",
        ]
    );
}

#[test]
fn deploying_the_same_project_again_changes_nothing() {
    let org = deployed(project());
    let plan = plan(&org, &project(), &Files::new());
    assert!(plan.problems.is_empty(), "{:?}", problems(&plan));
    for (t, n, a) in actions(&plan) {
        assert_eq!(a, Action::Unchanged, "{t} {n}");
    }
}

#[test]
fn an_edit_is_changed_and_only_there() {
    let org = deployed(project());
    let mut edited = project();
    edited.external_client_apps[0].description = "new".into();
    edited.platform_events[0].fields[4].label = "How many".into();
    edited.channels[0]
        .conversation_channel_definition
        .as_mut()
        .unwrap()
        .master_label = "Relabeled".into();
    let plan = plan(&org, &edited, &Files::new());
    let changed: Vec<String> = actions(&plan)
        .into_iter()
        .filter(|(_, _, a)| *a != Action::Unchanged)
        .map(|(t, n, a)| format!("{} {t} {n}", a.label()))
        .collect();
    assert_eq!(
        changed,
        [
            "Changed ExternalClientApplication Acme_Connector",
            "Changed CustomField acme__Outbound__e.Count__c",
            "Changed ConversationChannelDefinition Acme_CCD",
        ]
    );
}

#[test]
fn a_consumer_key_or_secret_in_the_files_counts_and_a_missing_one_keeps_the_org_s() {
    let org = deployed(project());
    let mut with_key = project();
    with_key.external_client_apps[0].oauth.consumer_key = "3MVG9key0".into();
    assert_eq!(
        plan(&org, &with_key, &Files::new()).changes[0].action,
        Action::Unchanged
    );
    with_key.external_client_apps[0].oauth.consumer_key = "3MVG9other".into();
    assert_eq!(
        plan(&org, &with_key, &Files::new()).changes[0].action,
        Action::Changed
    );
    let merged = merged_app(
        &org.external_client_apps[0],
        &project().external_client_apps[0],
    );
    assert_eq!(merged.oauth.consumer_key, "3MVG9key0");
    assert_eq!(merged.oauth.consumer_secret.as_deref(), Some("secret0"));
    assert_eq!(merged.id, "0xI000000000000");
}

#[test]
fn every_broken_reference_is_named() {
    let mut broken = project();
    broken.platform_events.clear();
    broken.external_client_apps[0].policies.profiles = vec!["Nobody".into()];
    broken.external_client_apps[0].policies.permission_sets = vec!["Missing_Set".into()];
    broken.channels[0]
        .conversation_channel_definition
        .as_mut()
        .unwrap()
        .linked_app
        .as_mut()
        .unwrap()
        .api_name = "Ghost_App".into();
    let files: Files = [(
        "force-app/main/default/permissionsets/Acme_Agents.permissionset-meta.xml".to_string(),
        String::new(),
    )]
    .into();
    let plan = plan(&OrgSetup::default(), &broken, &files);
    assert_eq!(
        problems(&plan),
        [
            "ExternalClientApplication Acme_Connector (force-app/main/default/externalClientApps/Acme_Connector.eca-meta.xml): In field: profileName - no Profile named Nobody found",
            "ExternalClientApplication Acme_Connector (force-app/main/default/externalClientApps/Acme_Connector.eca-meta.xml): In field: permissionSetName - no PermissionSet named Missing_Set found",
            "PermissionSet Acme_Agents (force-app/main/default/permissionsets/Acme_Agents.permissionset-meta.xml): In field: object - no CustomObject named acme__Outbound__e found",
            "ConversationChannelDefinition Acme_CCD (force-app/main/default/conversationChannelDefinitions/Acme_CCD.ConversationChannelDefinition-meta.xml): In field: customPlatformEvent - no CustomObject named acme__Outbound__e found",
            "ConversationChannelDefinition Acme_CCD (force-app/main/default/conversationChannelDefinitions/Acme_CCD.ConversationChannelDefinition-meta.xml): In field: connectedApp - no ExternalClientApplication or ConnectedApp named Ghost_App found",
        ]
    );
}

#[test]
fn references_to_what_the_org_already_has_are_fine() {
    let org = deployed(project());
    let only_channel = OrgSetup {
        channels: vec![channel(
            "Second",
            "acme-2",
            ccd("Second_CCD", "acme__Outbound__e", Some("Acme_Connector")),
        )],
        permission_sets: vec![permission_set("More", "acme__Outbound__e")],
        ..OrgSetup::default()
    };
    let plan = plan(&org, &only_channel, &Files::new());
    assert!(plan.problems.is_empty(), "{:?}", problems(&plan));
}

#[test]
fn a_ccd_field_must_be_a_text_field_of_its_event() {
    let mut p = project();
    let d = p.channels[0]
        .conversation_channel_definition
        .as_mut()
        .unwrap();
    d.custom_event_payload_field = "Count__c".into();
    d.custom_event_recipient_field = "Nope__c".into();
    let plan = plan(&OrgSetup::default(), &p, &Files::new());
    let found = problems(&plan);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("customEventPayloadField - acme__Outbound__e.Count__c is a Number field"),
        "{found:?}"
    );
    assert!(found[1].contains("In field: customEventRecipientField - no CustomField named acme__Outbound__e.Nope__c found"), "{found:?}");
}

#[test]
fn duplicates_in_the_project_and_against_the_org_are_refused() {
    let org = deployed(project());
    let mut p = project();
    let mut twin = eca("Acme_Twin");
    twin.oauth.consumer_key = "3MVG9key0".into(); // the org's Acme_Connector key
    p.external_client_apps.push(twin);
    p.external_client_apps.push(eca("Acme_Connector"));
    p.channels.push(channel(
        "Other",
        "acme-1",
        ccd("Other_CCD", "acme__Outbound__e", None),
    ));
    let plan = plan(&org, &p, &Files::new());
    let found = problems(&plan).join("\n");
    assert!(found.contains("ExternalClientApplication Acme_Connector (force-app/main/default/externalClientApps/Acme_Connector.eca-meta.xml): Duplicate name"), "{found}");
    assert!(found.contains("ExternalClientApplication Acme_Twin (force-app/main/default/externalClientApps/Acme_Twin.eca-meta.xml): Duplicate value: the consumer key of Acme_Twin belongs to the External Client App Acme_Connector in the org."), "{found}");
    assert!(found.contains("MessagingChannel Other (force-app/main/default/messagingChannels/Other.messagingChannel-meta.xml): Duplicate value: the channel address acme-1 is also used by the messaging channel Acme_Channel in the project."), "{found}");
    assert!(found.contains("the channel address acme-1 is already used by the messaging channel Acme_Channel in the org"), "{found}");
}

#[test]
fn a_channel_keeps_its_ccd() {
    let org = deployed(project());
    let mut p = project();
    p.channels[0]
        .conversation_channel_definition
        .as_mut()
        .unwrap()
        .developer_name = "Renamed_CCD".into();
    let plan = plan(&org, &p, &Files::new());
    assert_eq!(
        problems(&plan),
        ["ConversationChannelDefinition Renamed_CCD (force-app/main/default/conversationChannelDefinitions/Renamed_CCD.ConversationChannelDefinition-meta.xml): The messaging channel Acme_Channel uses the Conversation Channel Definition Acme_CCD: its DeveloperName can't change."]
    );
}

#[test]
fn file_names_come_from_the_project_when_it_has_them() {
    let files: Files = [
        ("sfdx-project.json".to_string(), String::new()),
        (
            "pkg/main/default/externalClientApps/Acme_Connector.eca-meta.xml".to_string(),
            String::new(),
        ),
        (
            "pkg/main/default/objects/acme__Outbound__e/fields/Count__c.field-meta.xml".to_string(),
            String::new(),
        ),
    ]
    .into();
    assert_eq!(
        file_name(&files, ct::EXTERNAL_CLIENT_APPLICATION, "Acme_Connector"),
        "pkg/main/default/externalClientApps/Acme_Connector.eca-meta.xml"
    );
    assert_eq!(
        file_name(&files, ct::CUSTOM_FIELD, "acme__Outbound__e.Count__c"),
        "pkg/main/default/objects/acme__Outbound__e/fields/Count__c.field-meta.xml"
    );
    assert_eq!(
        file_name(&files, ct::CUSTOM_OBJECT, "acme__Outbound__e"),
        "force-app/main/default/objects/acme__Outbound__e/acme__Outbound__e.object-meta.xml"
    );
}

#[test]
fn the_deploy_result_has_the_metadata_api_shape() {
    let plan = plan(&OrgSetup::default(), &project(), &Files::new());
    let ok = serde_json::to_value(DeployResult::succeeded(true, &plan.changes)).unwrap();
    assert_eq!(ok["success"], true);
    assert_eq!(ok["checkOnly"], true);
    assert_eq!(ok["details"]["componentSuccesses"][0]["created"], true);
    assert_eq!(
        ok["details"]["componentSuccesses"][0]["componentType"],
        "ExternalClientApplication"
    );
    let problem = DeployProblem {
        file_name: "f.xml".into(),
        component_type: "CustomObject".into(),
        full_name: "X__e".into(),
        problem: "bad".into(),
        line_number: Some(3),
        column_number: Some(7),
    };
    let failed = serde_json::to_value(DeployResult::failed(false, &[problem])).unwrap();
    assert_eq!(failed["success"], false);
    assert_eq!(failed["status"], "Failed");
    let f = &failed["details"]["componentFailures"][0];
    assert_eq!(
        (
            &f["fileName"],
            &f["fullName"],
            &f["problem"],
            &f["problemType"],
            &f["lineNumber"],
            &f["columnNumber"]
        ),
        (
            &serde_json::json!("f.xml"),
            &serde_json::json!("X__e"),
            &serde_json::json!("bad"),
            &serde_json::json!("Error"),
            &serde_json::json!(3),
            &serde_json::json!(7)
        )
    );
}

#[test]
fn an_event_change_that_breaks_an_org_ccd_is_refused() {
    let org = deployed(project());
    let mut retyped = OrgSetup {
        platform_events: project().platform_events,
        ..OrgSetup::default()
    };
    retyped.platform_events[0].fields[1].field_type = FieldType::Number;
    let plan = plan(&org, &retyped, &Files::new());
    let found = problems(&plan);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("CustomObject acme__Outbound__e (force-app/main/default/objects/acme__Outbound__e/acme__Outbound__e.object-meta.xml): The Conversation Channel Definition Acme_CCD names EventType__c"),
        "{found:?}"
    );
    // With its CCD in the project, the CCD's own check names it instead.
    let mut both = project();
    both.platform_events[0].fields[1].field_type = FieldType::Number;
    let found = problems(&plan_fn(&org, &both));
    assert!(
        found
            .iter()
            .all(|p| p.starts_with("ConversationChannelDefinition Acme_CCD")),
        "{found:?}"
    );
}

fn plan_fn(current: &OrgSetup, incoming: &OrgSetup) -> Plan {
    plan(current, incoming, &Files::new())
}
