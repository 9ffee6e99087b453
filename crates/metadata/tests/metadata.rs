//! Round trips and Salesforce's documentation examples (tests/fixtures/README.md).

use std::path::Path;

use byoc_metadata::{parse, retrieve, DeployProblem, Files, OrgSetup, RetrieveOptions};
use byoc_proto::setup::{
    App, AppKind, AppManagedBy, AppPolicies, AppRef, Certificate, ChannelType,
    ConversationChannelDefinition, CustomField, FieldType, IpRelaxation, MessagingChannel,
    OAuthSettings, ObjectPermissions, Owner, PermissionSet, PermittedUsers,
    PlatformEventDefinition, PlatformEventType, PublishBehavior, UserPermission,
};
use proptest::prelude::*;

const PKG: &str = "force-app/main/default";

/// A base64 body standing in for a certificate (the crate doesn't decode X.509).
const CERT_BODY: &str = "MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0c0Zvck1ldGFkYXRhMAoGCCqGSM49BAMCMBIxEDAOBgNVBAMMB2J5b2MtY2EwHhcNMjYwMTAxMDAwMDAwWhcNMjcwMTAxMDAwMDAwWjASMRAwDgYDVQQDDAdieW9jLWNh";

fn pem() -> String {
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in CERT_BODY.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn eca(api: &str, label: &str) -> App {
    App {
        id: "0xI000000000001".into(),
        kind: AppKind::ExternalClientApp,
        name: label.into(),
        api_name: api.into(),
        contact_email: "admin@example.com".into(),
        description: "Partner connector's app: JWT Bearer & <pre-authorized> \"admins\"".into(),
        distribution_state: Some("Local".into()),
        oauth: OAuthSettings {
            is_enabled: true,
            callback_urls: vec![
                "https://login.salesforce.com/services/oauth2/callback".into(),
                "http://localhost:1717/OauthRedirect".into(),
            ],
            scopes: vec![
                "interaction_api".into(),
                "refresh_token".into(),
                "offline_access".into(),
            ],
            jwt_bearer_enabled: true,
            client_credentials_enabled: false,
            consumer_key: "3MVG9byocConsumerKeyForTests".into(),
            consumer_secret: Some("SECRET1234567890".into()),
            certificate: Some(Certificate {
                subject: "CN=connector".into(),
                issuer: "CN=connector".into(),
                serial_number: "01".into(),
                not_before: 1,
                not_after: 2,
                sha256_fingerprint: "ab".into(),
                key_bits: 2048,
                pem: pem(),
            }),
        },
        policies: AppPolicies {
            permitted_users: PermittedUsers::AdminApprovedPreAuthorized,
            profiles: vec!["System Administrator".into()],
            permission_sets: vec!["Connector_Users".into(), "Agents".into()],
            ip_relaxation: IpRelaxation::Relax,
            session_timeout_minutes: Some(60),
            run_as_username: None,
        },
        read_only_reason: None,
        created_at: 10,
        updated_at: 11,
    }
}

fn field(name: &str, label: &str, t: FieldType) -> CustomField {
    CustomField {
        full_name: name.into(),
        label: label.into(),
        field_type: t,
        length: None,
        precision: None,
        scale: None,
        visible_lines: None,
        required: false,
        default_value: None,
        description: String::new(),
        inline_help_text: String::new(),
    }
}

fn event(name: &str, fields: Vec<CustomField>) -> PlatformEventDefinition {
    PlatformEventDefinition {
        id: "01I000000000001".into(),
        full_name: name.into(),
        label: name.trim_end_matches("__e").replace('_', " "),
        plural_label: format!("{}s", name.trim_end_matches("__e")),
        description: String::new(),
        event_type: PlatformEventType::HighVolume,
        publish_behavior: PublishBehavior::PublishAfterCommit,
        deployment_status: "Deployed".into(),
        fields,
        created_at: 5,
        last_modified_at: 6,
    }
}

/// The setup of the issue's "done when": an ECA with a certificate, JWT Bearer and an
/// admin-approved policy with System Administrator; byoc's sample event and a partner's own event
/// with fields of other types.
fn sample() -> OrgSetup {
    let mut payload = field("Payload__c", "Payload", FieldType::LongTextArea);
    payload.length = Some(131072);
    payload.visible_lines = Some(3);
    let text = |n: &str, l: &str| {
        let mut f = field(n, l, FieldType::Text);
        f.length = Some(255);
        f
    };
    let byoc = event(
        "Byoc_Outbound__e",
        vec![
            payload.clone(),
            text("EventType__c", "Event Type"),
            text("ChannelAddressIdentifier__c", "Channel Address Identifier"),
            text("Recipient__c", "Recipient"),
        ],
    );
    let mut count = field("acme__Count__c", "Count", FieldType::Number);
    count.precision = Some(18);
    count.scale = Some(2);
    count.required = true;
    let mut urgent = field("acme__Urgent__c", "Urgent", FieldType::Checkbox);
    urgent.default_value = Some("false".into());
    urgent.description = "Set when the partner's customer waits".into();
    let mut sent = field("acme__Sent__c", "Sent", FieldType::DateTime);
    sent.inline_help_text = "When the partner sent it".into();
    let mut acme = event(
        "acme__Outbound__e",
        vec![
            {
                let mut p = payload;
                p.full_name = "acme__Payload__c".into();
                p
            },
            count,
            urgent,
            sent,
            field("acme__Day__c", "Day", FieldType::Date),
        ],
    );
    acme.description = "Acme's outbound event".into();
    acme.publish_behavior = PublishBehavior::PublishImmediately;
    let app = eca("Byoc_Sample_App", "byoc sample app");
    let mut legacy = eca("Legacy_Connector", "Legacy Connector");
    legacy.kind = AppKind::ConnectedApp;
    legacy.distribution_state = None;
    legacy.policies.ip_relaxation = IpRelaxation::BypassUsingSecondFactor;
    legacy.oauth.client_credentials_enabled = true;
    legacy.policies.run_as_username = Some("integration@example.com".into());
    legacy.oauth.scopes = vec!["api".into(), "refresh_token".into()];
    let mut unused = eca("No_OAuth", "No OAuth");
    unused.kind = AppKind::ConnectedApp;
    unused.distribution_state = None;
    unused.oauth.is_enabled = false;
    unused.oauth.certificate = None;
    unused.oauth.jwt_bearer_enabled = false;
    unused.oauth.consumer_key.clear();
    unused.oauth.consumer_secret = None;
    unused.oauth.callback_urls.clear();
    unused.oauth.scopes.clear();
    unused.policies = AppPolicies {
        profiles: vec!["Standard User".into()],
        ..Default::default()
    };
    let ccd = |dev: &str, event: &str, fields: [&str; 4], linked: Option<&App>| {
        ConversationChannelDefinition {
            id: "0Yd000000000001".into(),
            developer_name: dev.into(),
            master_label: format!("{dev} label"),
            custom_platform_event: event.into(),
            custom_event_payload_field: fields[0].into(),
            custom_event_type_field: fields[1].into(),
            custom_event_channel_address_id_field: fields[2].into(),
            custom_event_recipient_field: fields[3].into(),
            routing_owner: Owner::Salesforce,
            consent_owner: Owner::Salesforce,
            connected_app_type: if linked.is_some() {
                AppManagedBy::Customer
            } else {
                AppManagedBy::Partner
            },
            linked_app: linked.map(|a| AppRef {
                kind: a.kind,
                id: a.id.clone(),
                name: a.name.clone(),
                api_name: a.api_name.clone(),
            }),
            created_at: 1,
            last_modified_at: 2,
        }
    };
    let channel =
        |dev: &str, t: ChannelType, ccd: Option<ConversationChannelDefinition>| MessagingChannel {
            id: "0Mj000000000001".into(),
            name: dev.replace('_', " "),
            developer_name: dev.into(),
            channel_type: t,
            channel_address_identifier: format!("{dev}-address"),
            is_active: true,
            conversation_channel_definition: ccd,
            created_at: 3,
        };
    let sample_fields = [
        "Payload__c",
        "EventType__c",
        "ChannelAddressIdentifier__c",
        "Recipient__c",
    ];
    let acme_fields = [
        "acme__Payload__c",
        "acme__Type__c",
        "acme__Address__c",
        "acme__To__c",
    ];
    let mut ccaas = channel(
        "Acme_CCaaS",
        ChannelType::ByocCcaas,
        Some(ccd(
            "Acme_CCaaS_CCD",
            "acme__Outbound__e",
            acme_fields,
            None,
        )),
    );
    ccaas.is_active = false;
    if let Some(d) = ccaas.conversation_channel_definition.as_mut() {
        d.routing_owner = Owner::Partner;
        d.consent_owner = Owner::Partner;
    }
    OrgSetup {
        external_client_apps: vec![app.clone()],
        connected_apps: vec![legacy.clone(), unused],
        permission_sets: vec![PermissionSet {
            id: "0PS000000000001".into(),
            name: "Connector_Users".into(),
            label: "Connector Users".into(),
            permissions: vec![
                UserPermission::ViewSetup,
                UserPermission::CustomizeApplication,
            ],
            object_permissions: vec![
                ObjectPermissions {
                    object: "acme__Outbound__e".into(),
                    allow_read: true,
                    allow_create: true,
                },
                ObjectPermissions {
                    object: "Byoc_Outbound__e".into(),
                    allow_read: true,
                    allow_create: false,
                },
            ],
            created_at: 4,
        }],
        platform_events: vec![acme, byoc],
        channels: vec![
            channel(
                "Byoc_Sample_Channel",
                ChannelType::ByocMessaging,
                Some(ccd(
                    "Byoc_Sample_Channel_CCD",
                    "Byoc_Outbound__e",
                    sample_fields,
                    Some(&app),
                )),
            ),
            ccaas,
            channel("Support_WhatsApp", ChannelType::WhatsApp, None),
        ],
        standalone_ccds: vec![ccd(
            "Legacy_CCD",
            "Byoc_Outbound__e",
            sample_fields,
            Some(&legacy),
        )],
    }
}

/// What survives a retrieve and a deploy: ids, timestamps and what the deploy engine derives
/// (certificate details) cleared; lists in the order a retrieve writes them.
fn normalized(mut s: OrgSetup) -> OrgSetup {
    for a in s
        .external_client_apps
        .iter_mut()
        .chain(s.connected_apps.iter_mut())
    {
        a.id.clear();
        a.created_at = 0;
        a.updated_at = 0;
        a.oauth.consumer_secret = None;
        if let Some(c) = a.oauth.certificate.as_mut() {
            *c = Certificate {
                subject: String::new(),
                issuer: String::new(),
                serial_number: String::new(),
                not_before: 0,
                not_after: 0,
                sha256_fingerprint: String::new(),
                key_bits: 0,
                pem: c.pem.clone(),
            };
        }
        a.policies.profiles.sort();
        a.policies.permission_sets.sort();
    }
    s.connected_apps.sort_by(|a, b| a.api_name.cmp(&b.api_name));
    for p in &mut s.permission_sets {
        p.id.clear();
        p.created_at = 0;
        p.permissions.sort_by_key(|p| format!("{p:?}"));
        p.object_permissions.sort_by(|a, b| a.object.cmp(&b.object));
    }
    s.permission_sets.sort_by(|a, b| a.name.cmp(&b.name));
    let ccd = |c: &mut ConversationChannelDefinition| {
        c.id.clear();
        c.created_at = 0;
        c.last_modified_at = 0;
        if let Some(a) = c.linked_app.as_mut() {
            a.id.clear();
            a.name = a.api_name.clone();
        }
    };
    for c in &mut s.channels {
        c.id.clear();
        c.created_at = 0;
        if let Some(d) = c.conversation_channel_definition.as_mut() {
            ccd(d);
        }
    }
    s.channels
        .sort_by(|a, b| a.developer_name.cmp(&b.developer_name));
    s.standalone_ccds.iter_mut().for_each(ccd);
    s.standalone_ccds
        .sort_by(|a, b| a.developer_name.cmp(&b.developer_name));
    for e in &mut s.platform_events {
        e.id.clear();
        e.created_at = 0;
        e.last_modified_at = 0;
        e.fields.sort_by(|a, b| a.full_name.cmp(&b.full_name));
    }
    s.external_client_apps
        .sort_by(|a, b| a.api_name.cmp(&b.api_name));
    s.platform_events
        .sort_by(|a, b| a.full_name.cmp(&b.full_name));
    s
}

fn problems(r: Result<OrgSetup, Vec<DeployProblem>>) -> Vec<DeployProblem> {
    match r {
        Ok(s) => panic!("expected problems, parsed {s:#?}"),
        Err(p) => p,
    }
}

fn ok(r: Result<OrgSetup, Vec<DeployProblem>>) -> OrgSetup {
    match r {
        Ok(s) => s,
        Err(p) => panic!(
            "expected a clean parse, got:\n{}",
            p.iter().map(|p| format!("  {p}\n")).collect::<String>()
        ),
    }
}

/// A fixture directory as a project: every file under it, by relative path.
fn fixture(dir: &str) -> Files {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut files = Files::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    files
}

#[test]
fn retrieve_then_deploy_then_retrieve_gives_the_same_files() {
    let setup = sample();
    let first = retrieve(&setup, &RetrieveOptions::default());
    let parsed = ok(parse(&first));
    assert_eq!(parsed, normalized(setup.clone()));
    let second = retrieve(&parsed, &RetrieveOptions::default());
    assert_eq!(first, second);
    // With secrets too (the secret survives then).
    let opts = RetrieveOptions {
        include_secrets: true,
    };
    let with = retrieve(&setup, &opts);
    let again = retrieve(&ok(parse(&with)), &opts);
    assert_eq!(with, again);
}

#[test]
fn files_are_where_and_how_sf_writes_them() {
    let files = retrieve(&sample(), &RetrieveOptions::default());
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    for expected in [
        "sfdx-project.json",
        "force-app/main/default/externalClientApps/Byoc_Sample_App.eca-meta.xml",
        "force-app/main/default/extlClntAppOauthSettings/Byoc_Sample_App_oauth.ecaOauth-meta.xml",
        "force-app/main/default/extlClntAppGlobalOauthSets/Byoc_Sample_App_glbloauth.ecaGlblOauth-meta.xml",
        "force-app/main/default/extlClntAppOauthPolicies/Byoc_Sample_App_oauthPlcy.ecaOauthPlcy-meta.xml",
        "force-app/main/default/extlClntAppPolicies/Byoc_Sample_App_plcy.ecaPlcy-meta.xml",
        "force-app/main/default/objects/Byoc_Outbound__e/Byoc_Outbound__e.object-meta.xml",
        "force-app/main/default/objects/Byoc_Outbound__e/fields/Payload__c.field-meta.xml",
        "force-app/main/default/objects/acme__Outbound__e/fields/acme__Count__c.field-meta.xml",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:#?}");
    }
    for (path, text) in &files {
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{path}");
        if path.ends_with(".xml") {
            assert!(
                text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<"),
                "{path}"
            );
            assert!(
                text.lines()
                    .nth(1)
                    .unwrap()
                    .ends_with(" xmlns=\"http://soap.sforce.com/2006/04/metadata\">"),
                "{path}"
            );
        }
    }
    let project: serde_json::Value = serde_json::from_str(&files["sfdx-project.json"]).unwrap();
    assert_eq!(project["packageDirectories"][0]["path"], "force-app");

    let global = &files[&format!(
        "{PKG}/extlClntAppGlobalOauthSets/Byoc_Sample_App_glbloauth.ecaGlblOauth-meta.xml"
    )];
    assert_eq!(
        global.as_str(),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <callbackUrl>https://login.salesforce.com/services/oauth2/callback
http://localhost:1717/OauthRedirect</callbackUrl>
    <certificate>{CERT_BODY}</certificate>
    <consumerKey>3MVG9byocConsumerKeyForTests</consumerKey>
    <externalClientApplication>Byoc_Sample_App</externalClientApplication>
    <isClientCredentialsFlowEnabled>false</isClientCredentialsFlowEnabled>
    <label>Byoc_Sample_App_glbloauth</label>
</ExtlClntAppGlobalOauthSettings>
"#
        )
    );
    let policies = &files[&format!(
        "{PKG}/extlClntAppOauthPolicies/Byoc_Sample_App_oauthPlcy.ecaOauthPlcy-meta.xml"
    )];
    assert_eq!(
        policies.as_str(),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ExtlClntAppOauthConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata">
    <commaSeparatedPermissionSet>Agents,Connector_Users</commaSeparatedPermissionSet>
    <commaSeparatedProfile>System Administrator</commaSeparatedProfile>
    <externalClientApplication>Byoc_Sample_App</externalClientApplication>
    <ipRelaxationPolicyType>Bypass</ipRelaxationPolicyType>
    <isClientCredentialsFlowEnabled>false</isClientCredentialsFlowEnabled>
    <label>Byoc_Sample_App_oauthPlcy</label>
    <permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>
    <sessionTimeoutInMinutes>60</sessionTimeoutInMinutes>
</ExtlClntAppOauthConfigurablePolicies>
"#
    );
    let header = &files[&format!("{PKG}/externalClientApps/Byoc_Sample_App.eca-meta.xml")];
    // Special characters are escaped as Salesforce escapes them.
    assert!(header.contains(
        "<description>Partner connector&apos;s app: JWT Bearer &amp; &lt;pre-authorized&gt; &quot;admins&quot;</description>"
    ), "{header}");
    let oauth =
        &files[&format!("{PKG}/extlClntAppOauthSettings/Byoc_Sample_App_oauth.ecaOauth-meta.xml")];
    assert!(oauth.contains(
        "<commaSeparatedOauthScopes>Interaction, RefreshToken, OfflineAccess</commaSeparatedOauthScopes>"
    ), "{oauth}");
    let count =
        &files[&format!("{PKG}/objects/acme__Outbound__e/fields/acme__Count__c.field-meta.xml")];
    assert_eq!(
        count.as_str(),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>acme__Count__c</fullName>
    <externalId>false</externalId>
    <isFilteringDisabled>false</isFilteringDisabled>
    <isNameField>false</isNameField>
    <isSortingDisabled>false</isSortingDisabled>
    <label>Count</label>
    <precision>18</precision>
    <required>true</required>
    <scale>2</scale>
    <type>Number</type>
    <unique>false</unique>
</CustomField>
"#
    );
    let object =
        &files[&format!("{PKG}/objects/acme__Outbound__e/acme__Outbound__e.object-meta.xml")];
    assert_eq!(
        object.as_str(),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <deploymentStatus>Deployed</deploymentStatus>
    <description>Acme&apos;s outbound event</description>
    <eventType>HighVolume</eventType>
    <label>acme  Outbound</label>
    <pluralLabel>acme__Outbounds</pluralLabel>
    <publishBehavior>PublishImmediately</publishBehavior>
</CustomObject>
"#
    );
}

#[test]
fn the_consumer_secret_is_written_only_when_asked() {
    let without = retrieve(&sample(), &RetrieveOptions::default());
    assert!(without.values().all(|t| !t.contains("SECRET1234567890")));
    assert!(without.values().all(|t| !t.contains("consumerSecret")));
    let with = retrieve(
        &sample(),
        &RetrieveOptions {
            include_secrets: true,
        },
    );
    let global = &with[&format!(
        "{PKG}/extlClntAppGlobalOauthSets/Byoc_Sample_App_glbloauth.ecaGlblOauth-meta.xml"
    )];
    assert!(global.contains("<consumerSecret>SECRET1234567890</consumerSecret>"));
    let parsed = ok(parse(&with));
    assert_eq!(
        parsed.external_client_apps[0]
            .oauth
            .consumer_secret
            .as_deref(),
        Some("SECRET1234567890")
    );
}

#[test]
fn an_empty_org_is_an_empty_project() {
    let files = retrieve(&OrgSetup::default(), &RetrieveOptions::default());
    assert_eq!(files.keys().collect::<Vec<_>>(), vec!["sfdx-project.json"]);
    assert_eq!(ok(parse(&files)), OrgSetup::default());
}

#[test]
fn the_docs_external_client_app_examples_deploy_as_they_are() {
    let s = ok(parse(&fixture("eca-docs")));
    assert_eq!(s.external_client_apps.len(), 1);
    let a = &s.external_client_apps[0];
    assert_eq!(a.api_name, "myeca");
    assert_eq!(a.name, "myeca");
    assert_eq!(a.contact_email, "johndoe@example.com");
    assert_eq!(a.description, "Test external client app");
    assert_eq!(a.distribution_state.as_deref(), Some("Local"));
    assert_eq!(a.oauth.scopes, vec!["id", "web"]);
    assert_eq!(a.oauth.callback_urls, vec!["https://www.example.com"]);
    assert!(a.oauth.is_enabled);
    assert!(!a.oauth.jwt_bearer_enabled);
    assert_eq!(a.policies, AppPolicies::default());

    // The help article's global OAuth settings (consumer key and secret) with the same header.
    let mut files = fixture("eca-help");
    files.extend(
        fixture("eca-docs")
            .into_iter()
            .filter(|(p, _)| p.contains("externalClientApps/")),
    );
    let s = ok(parse(&files));
    let a = &s.external_client_apps[0];
    assert_eq!(
        a.oauth.consumer_key,
        "YOUR_EXTERNAL_CLIENT_APP_OAUTH_CONSUMER_KEY"
    );
    assert_eq!(
        a.oauth.consumer_secret.as_deref(),
        Some("YOUR_EXTERNAL_CLIENT_APP_OAUTH_CONSUMER_SECRET")
    );
}

#[test]
fn the_docs_oauth_policies_example_is_reported_with_the_line_of_its_broken_tag() {
    let mut files = fixture("broken-docs");
    files.extend(fixture("eca-docs"));
    let p = problems(parse(&files));
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(
        p[0].file_name,
        "force-app/main/default/extlClntAppOauthPolicies/myecapolicy.ecaOauthPlcy-meta.xml"
    );
    assert_eq!(p[0].component_type, "ExtlClntAppOauthConfigurablePolicies");
    assert_eq!(p[0].full_name, "myecapolicy");
    assert_eq!(p[0].line_number, Some(21), "{}", p[0]);
    assert!(p[0].problem.contains("malformed"), "{}", p[0]);

    // Fixed (the closing tag named as it opens), it deploys, with its policies.
    let path = "force-app/main/default/extlClntAppOauthPolicies/myecapolicy.ecaOauthPlcy-meta.xml";
    let fixed = files[path].replace("</namedUserJwtSessionTimeout>", "</namedUserJwtTimeout>");
    files.insert(path.into(), fixed);
    let s = ok(parse(&files));
    let pol = &s.external_client_apps[0].policies;
    assert_eq!(
        pol.permitted_users,
        PermittedUsers::AdminApprovedPreAuthorized
    );
    assert_eq!(pol.permission_sets, vec!["PermSetExample"]);
    assert_eq!(pol.ip_relaxation, IpRelaxation::Enforce);
    assert_eq!(pol.session_timeout_minutes, Some(1));
}

#[test]
fn the_docs_platform_event_examples_deploy_as_they_are() {
    let s = ok(parse(&fixture("events-docs")));
    let names: Vec<&str> = s
        .platform_events
        .iter()
        .map(|e| e.full_name.as_str())
        .collect();
    assert_eq!(names, vec!["DemoPlatformEvent__e", "Low_Ink__e"]);
    let ink = &s.platform_events[1];
    assert_eq!(ink.label, "Low Ink");
    assert_eq!(ink.event_type, PlatformEventType::HighVolume);
    assert_eq!(ink.publish_behavior, PublishBehavior::PublishAfterCommit);
    let f: Vec<(&str, FieldType)> = ink
        .fields
        .iter()
        .map(|f| (f.full_name.as_str(), f.field_type))
        .collect();
    assert_eq!(
        f,
        vec![
            ("Ink_Percentage__c", FieldType::Number),
            ("Printer_Model__c", FieldType::Text),
            ("Serial_Number__c", FieldType::Text)
        ]
    );
    assert_eq!(
        (ink.fields[0].precision, ink.fields[0].scale),
        (Some(18), Some(2))
    );
    assert_eq!(ink.fields[1].length, Some(20));
    // No publishBehavior: Salesforce's default.
    assert_eq!(
        s.platform_events[0].publish_behavior,
        PublishBehavior::PublishImmediately
    );
    // Written back in source format and read again, it is the same event.
    let files = retrieve(&s, &RetrieveOptions::default());
    assert!(files.contains_key(&format!(
        "{PKG}/objects/Low_Ink__e/fields/Serial_Number__c.field-meta.xml"
    )));
    assert_eq!(ok(parse(&files)), s);
}

#[test]
fn every_problem_is_reported_with_its_file_type_and_name() {
    let mut files = retrieve(&sample(), &RetrieveOptions::default());
    let header = format!("{PKG}/externalClientApps/Byoc_Sample_App.eca-meta.xml");
    let policies =
        format!("{PKG}/extlClntAppOauthPolicies/Byoc_Sample_App_oauthPlcy.ecaOauthPlcy-meta.xml");
    let object = format!("{PKG}/objects/Byoc_Outbound__e/Byoc_Outbound__e.object-meta.xml");
    let field = format!("{PKG}/objects/acme__Outbound__e/fields/acme__Count__c.field-meta.xml");
    let edit = |files: &mut Files, path: &str, from: &str, to: &str| {
        let t = files[path].replace(from, to);
        assert_ne!(t, files[path], "{from} not in {path}");
        files.insert(path.to_string(), t);
    };
    // Header: no label, and a bad boolean.
    edit(
        &mut files,
        &header,
        "    <label>byoc sample app</label>\n",
        "",
    );
    edit(
        &mut files,
        &header,
        "<isProtected>false",
        "<isProtected>maybe",
    );
    // Policies: an unknown enum value and a bad integer.
    edit(
        &mut files,
        &policies,
        "AdminApprovedPreAuthorized",
        "AdminsOnly",
    );
    edit(&mut files, &policies, ">60<", ">an hour<");
    // Object: fullName disagreeing with the file name.
    edit(
        &mut files,
        &object,
        "<deploymentStatus>",
        "<fullName>Other__e</fullName>\n    <deploymentStatus>",
    );
    // Field: an unsupported type.
    edit(
        &mut files,
        &field,
        "<type>Number</type>",
        "<type>Picklist</type>",
    );
    // A file that isn't XML at all.
    files.insert(
        format!("{PKG}/extlClntAppPolicies/Broken.ecaPlcy-meta.xml"),
        "not xml".into(),
    );
    // Something this crate doesn't read: skipped.
    files.insert(
        format!("{PKG}/classes/Foo.cls-meta.xml"),
        "<ApexClass/>".into(),
    );

    let p = problems(parse(&files));
    let find = |ty: &str, name: &str, words: &str| {
        p.iter()
            .find(|x| x.component_type == ty && x.full_name == name && x.problem.contains(words))
            .unwrap_or_else(|| panic!("no {ty} {name} problem with {words:?} in {p:#?}"))
    };
    let label = find("ExternalClientApplication", "Byoc_Sample_App", "label");
    assert_eq!(label.file_name, header);
    let b = find("ExternalClientApplication", "Byoc_Sample_App", "maybe");
    assert_eq!(b.line_number, Some(6), "{b}");
    let e = find(
        "ExtlClntAppOauthConfigurablePolicies",
        "Byoc_Sample_App_oauthPlcy",
        "'AdminsOnly' is not a valid value for the enum 'PermittedUsersPolicyType'",
    );
    assert_eq!(e.file_name, policies);
    assert!(e.problem.contains("AdminApprovedPreAuthorized"), "{e}");
    find(
        "ExtlClntAppOauthConfigurablePolicies",
        "Byoc_Sample_App_oauthPlcy",
        "'an hour' is not valid for the type xsd:int",
    );
    find("CustomObject", "Byoc_Outbound__e", "Other__e");
    let f = find(
        "CustomField",
        "acme__Outbound__e.acme__Count__c",
        "Picklist",
    );
    assert_eq!(f.file_name, field);
    let x = find("ExtlClntAppConfigurablePolicies", "Broken", "malformed");
    assert_eq!(x.line_number, Some(1));
    // The plugin files of the app whose header failed are not blamed for it.
    assert_eq!(p.len(), 7, "{p:#?}");
    // Displayed as a deploy names them.
    assert!(b.to_string().starts_with(&format!(
        "ExternalClientApplication Byoc_Sample_App ({header}:6:"
    )));
}

#[test]
fn plugin_files_and_fields_need_their_component_in_the_project() {
    let mut files = retrieve(&sample(), &RetrieveOptions::default());
    files.retain(|p, _| {
        !p.ends_with("Byoc_Sample_App.eca-meta.xml")
            && !p.ends_with("/Byoc_Outbound__e.object-meta.xml")
    });
    let p = problems(parse(&files));
    assert_eq!(
        p.iter()
            .filter(|x| x
                .problem
                .contains("Byoc_Sample_App, which isn't in the project"))
            .count(),
        4,
        "{p:#?}"
    );
    assert_eq!(
        p.iter()
            .filter(|x| x.component_type == "CustomField"
                && x.problem.contains("Byoc_Outbound__e isn't in the project"))
            .count(),
        4,
        "{p:#?}"
    );
}

#[test]
fn unknown_elements_and_types_are_skipped() {
    let mut files = retrieve(&sample(), &RetrieveOptions::default());
    let header = format!("{PKG}/externalClientApps/Byoc_Sample_App.eca-meta.xml");
    let t = files[&header].replace(
        "<label>",
        "<logoUrl>https://logo.example.com</logoUrl>\n    <orgScopedExternalApp>00D:X</orgScopedExternalApp>\n    <label>",
    );
    files.insert(header, t);
    files.insert(
        format!("{PKG}/objects/Account/Account.object-meta.xml"),
        "<CustomObject/>".into(),
    );
    files.insert(format!("{PKG}/lwc/x/x.js"), "export default 1;".into());
    // A field file may give its full name with the object's.
    let day = format!("{PKG}/objects/acme__Outbound__e/fields/acme__Day__c.field-meta.xml");
    let t = files[&day].replace(
        "<fullName>acme__Day__c<",
        "<fullName>acme__Outbound__e.acme__Day__c<",
    );
    files.insert(day, t);
    files.insert("README.md".into(), "# project".into());
    assert_eq!(ok(parse(&files)), normalized(sample()));
}

/// Each file the crate reads, with arbitrary contents or cut anywhere, gives problems or a
/// setup, never a panic.
fn known_paths() -> Vec<String> {
    retrieve(&sample(), &RetrieveOptions::default())
        .into_keys()
        .filter(|p| p.ends_with(".xml"))
        .collect()
}

#[test]
fn truncated_and_corrupted_files_never_panic() {
    let files = retrieve(&sample(), &RetrieveOptions::default());
    for (path, text) in files.iter().filter(|(p, _)| p.ends_with(".xml")) {
        for cut in 0..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let mut f = files.clone();
            f.insert(path.clone(), text[..cut].to_string());
            let _ = parse(&f);
        }
        for (i, _) in text.char_indices().step_by(7) {
            let mut t = text.clone();
            t.replace_range(i..=i, "<");
            let mut f = files.clone();
            f.insert(path.clone(), t);
            let _ = parse(&f);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn garbage_never_panics(which in 0usize..20, text in "\\PC*") {
        let paths = known_paths();
        let mut files = retrieve(&sample(), &RetrieveOptions::default());
        files.insert(paths[which % paths.len()].clone(), text);
        let _ = parse(&files);
    }

    #[test]
    fn xml_shaped_garbage_never_panics(
        which in 0usize..20,
        text in "(<[a-zA-Z]{1,12}( xmlns=\"[a-z:/.]{0,20}\")?>|</[a-zA-Z]{1,12}>|[a-z &;<>'\"]{0,8}|<!--|-->|<!\\[CDATA\\[|\\]\\]>|<\\?xml version=\"1.0\"\\?>){0,30}"
    ) {
        let paths = known_paths();
        let mut files = retrieve(&sample(), &RetrieveOptions::default());
        files.insert(paths[which % paths.len()].clone(), text);
        let _ = parse(&files);
    }
}

#[test]
fn channels_ccds_connected_apps_and_permission_sets_are_written_as_salesforce_names_them() {
    let files = retrieve(&sample(), &RetrieveOptions::default());
    let ccd = &files[&format!(
        "{PKG}/conversationChannelDefinitions/Byoc_Sample_Channel_CCD.ConversationChannelDefinition-meta.xml"
    )];
    assert_eq!(
        ccd.as_str(),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ConversationChannelDefinition xmlns="http://soap.sforce.com/2006/04/metadata">
    <connectedAppType>Customer</connectedAppType>
    <consentOwner>Salesforce</consentOwner>
    <customEventPayloadField>Byoc_Outbound__e.Payload__c</customEventPayloadField>
    <customEventTypeField>Byoc_Outbound__e.EventType__c</customEventTypeField>
    <customPlatformEvent>Byoc_Outbound__e</customPlatformEvent>
    <developerName>Byoc_Sample_Channel_CCD</developerName>
    <linkedExternalClientApp>Byoc_Sample_App</linkedExternalClientApp>
    <masterLabel>Byoc_Sample_Channel_CCD label</masterLabel>
    <routingOwner>Salesforce</routingOwner>
</ConversationChannelDefinition>
"#
    );
    // byoc's two extra fields appear only when they aren't byoc's defaults.
    let acme = &files[&format!(
        "{PKG}/conversationChannelDefinitions/Acme_CCaaS_CCD.ConversationChannelDefinition-meta.xml"
    )];
    assert!(acme.contains(
        "<customEventChannelAddressIdField>acme__Outbound__e.acme__Address__c</customEventChannelAddressIdField>"
    ));
    assert!(acme.contains(
        "<customEventRecipientField>acme__Outbound__e.acme__To__c</customEventRecipientField>"
    ));
    let channel =
        &files[&format!("{PKG}/messagingChannels/Byoc_Sample_Channel.messagingChannel-meta.xml")];
    assert_eq!(
        channel.as_str(),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<MessagingChannel xmlns="http://soap.sforce.com/2006/04/metadata">
    <channelAddressIdentifier>Byoc_Sample_Channel-address</channelAddressIdentifier>
    <channelDefinition>Byoc_Sample_Channel_CCD</channelDefinition>
    <channelType>ByocMessaging</channelType>
    <isActive>true</isActive>
    <masterLabel>Byoc Sample Channel</masterLabel>
    <messagingChannelType>Custom</messagingChannelType>
</MessagingChannel>
"#
    );
    let whatsapp =
        &files[&format!("{PKG}/messagingChannels/Support_WhatsApp.messagingChannel-meta.xml")];
    assert!(!whatsapp.contains("messagingChannelType"), "{whatsapp}");
    let legacy = &files[&format!("{PKG}/connectedApps/Legacy_Connector.connectedApp-meta.xml")];
    for part in [
        "    <label>Legacy Connector</label>\n    <oauthConfig>\n",
        "        <isAdminApproved>true</isAdminApproved>\n",
        "        <scopes>Api</scopes>\n        <scopes>RefreshToken</scopes>\n    </oauthConfig>\n",
        "        <ipRelaxation>BYPASS_2FACTOR</ipRelaxation>\n",
        "    <permissionSetName>Agents</permissionSetName>\n    <permissionSetName>Connector_Users</permissionSetName>\n    <profileName>System Administrator</profileName>\n",
        "    <sessionPolicy>\n        <sessionTimeout>60</sessionTimeout>\n    </sessionPolicy>\n</ConnectedApp>\n",
    ] {
        assert!(legacy.contains(part), "{part:?} not in {legacy}");
    }
    let no_oauth = &files[&format!("{PKG}/connectedApps/No_OAuth.connectedApp-meta.xml")];
    assert!(!no_oauth.contains("oauthConfig"), "{no_oauth}");
    let ps = &files[&format!("{PKG}/permissionsets/Connector_Users.permissionset-meta.xml")];
    assert!(ps.contains(
        "    <objectPermissions>\n        <allowCreate>false</allowCreate>\n        <allowDelete>false</allowDelete>\n        <allowEdit>false</allowEdit>\n        <allowRead>true</allowRead>\n        <modifyAllRecords>false</modifyAllRecords>\n        <object>Byoc_Outbound__e</object>\n        <viewAllRecords>false</viewAllRecords>\n    </objectPermissions>\n"
    ), "{ps}");
    assert!(ps.contains(
        "    <userPermissions>\n        <enabled>true</enabled>\n        <name>CustomizeApplication</name>\n    </userPermissions>\n    <userPermissions>\n        <enabled>true</enabled>\n        <name>ViewSetup</name>\n    </userPermissions>\n</PermissionSet>\n"
    ), "{ps}");
}

/// A hand-written BYOC project as partners write them: a CCD with bare or qualified field names
/// (the lower-case suffix too), a permission set with many permissions byoc doesn't model.
#[test]
fn hand_written_byoc_files_deploy() {
    let mut files = Files::new();
    files.insert(
        format!("{PKG}/conversationChannelDefinitions/BYOC_ChannelDefinition1.conversationChannelDefinition-meta.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ConversationChannelDefinition xmlns="http://soap.sforce.com/2006/04/metadata">
    <connectedAppType>Customer</connectedAppType>
    <consentOwner>Salesforce</consentOwner>
    <customPlatformEvent>Telegram_Message_Event__e</customPlatformEvent>
    <customEventTypeField>Telegram_Message_Event__e.EventType__c</customEventTypeField>
    <customEventPayloadField>Payload__c</customEventPayloadField>
    <developerName>BYOC_ChannelDefinition1</developerName>
    <masterLabel>Telegram BYOC Channel Definition</masterLabel>
    <routingOwner>Salesforce</routingOwner>
    <connectedAppOauthLink>00D000000000001:3MVG9</connectedAppOauthLink>
</ConversationChannelDefinition>
"#
        .into(),
    );
    files.insert(
        format!("{PKG}/permissionsets/Telegram_Integration.permissionset-meta.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <description>Integration user</description>
    <hasActivationRequired>false</hasActivationRequired>
    <label>Telegram Integration</label>
    <objectPermissions>
        <allowCreate>false</allowCreate>
        <allowDelete>false</allowDelete>
        <allowEdit>false</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>false</modifyAllRecords>
        <object>Case</object>
        <viewAllRecords>false</viewAllRecords>
    </objectPermissions>
    <objectPermissions>
        <allowCreate>true</allowCreate>
        <allowRead>true</allowRead>
        <object>Telegram_Message_Event__e</object>
    </objectPermissions>
    <userPermissions>
        <enabled>true</enabled>
        <name>ApiEnabled</name>
    </userPermissions>
    <userPermissions>
        <enabled>true</enabled>
        <name>ManageProfilesPermissionsets</name>
    </userPermissions>
    <userPermissions>
        <enabled>false</enabled>
        <name>ModifyAllData</name>
    </userPermissions>
</PermissionSet>
"#
        .into(),
    );
    let s = ok(parse(&files));
    let ccd = &s.standalone_ccds[0];
    assert_eq!(ccd.developer_name, "BYOC_ChannelDefinition1");
    assert_eq!(ccd.custom_event_type_field, "EventType__c");
    assert_eq!(ccd.custom_event_payload_field, "Payload__c");
    assert_eq!(
        ccd.custom_event_channel_address_id_field,
        "ChannelAddressIdentifier__c"
    );
    assert_eq!(ccd.connected_app_type, AppManagedBy::Customer);
    assert_eq!(ccd.linked_app, None);
    let ps = &s.permission_sets[0];
    assert_eq!(
        ps.permissions,
        vec![UserPermission::ManageProfilesPermissionSets]
    );
    assert_eq!(
        ps.object_permissions,
        vec![ObjectPermissions {
            object: "Telegram_Message_Event__e".into(),
            allow_read: true,
            allow_create: true
        }]
    );
}

#[test]
fn channel_and_ccd_problems_name_the_file_and_component() {
    let mut files = retrieve(&sample(), &RetrieveOptions::default());
    let ccd = format!(
        "{PKG}/conversationChannelDefinitions/Acme_CCaaS_CCD.ConversationChannelDefinition-meta.xml"
    );
    let legacy_ccd = format!(
        "{PKG}/conversationChannelDefinitions/Legacy_CCD.ConversationChannelDefinition-meta.xml"
    );
    let channel = format!("{PKG}/messagingChannels/Support_WhatsApp.messagingChannel-meta.xml");
    let legacy = format!("{PKG}/connectedApps/Legacy_Connector.connectedApp-meta.xml");
    let edit = |files: &mut Files, path: &str, from: &str, to: &str| {
        let t = files[path].replace(from, to);
        assert_ne!(t, files[path], "{from} not in {path}");
        files.insert(path.to_string(), t);
    };
    edit(
        &mut files,
        &ccd,
        "acme__Outbound__e.acme__Type__c",
        "Other__e.acme__Type__c",
    );
    edit(
        &mut files,
        &ccd,
        "<routingOwner>Partner",
        "<routingOwner>Nobody",
    );
    edit(
        &mut files,
        &legacy_ccd,
        "<developerName>Legacy_CCD<",
        "<developerName>Renamed<",
    );
    edit(
        &mut files,
        &channel,
        "<channelType>WhatsApp",
        "<channelType>Telegram",
    );
    edit(
        &mut files,
        &legacy,
        "<scopes>Api</scopes>",
        "<scopes>Eclair</scopes>",
    );
    edit(
        &mut files,
        &legacy,
        "<ipRelaxation>BYPASS_2FACTOR",
        "<ipRelaxation>Bypass",
    );
    // A second channel naming a CCD another channel has.
    let second = files
        [&format!("{PKG}/messagingChannels/Byoc_Sample_Channel.messagingChannel-meta.xml")]
        .clone();
    files.insert(
        format!("{PKG}/messagingChannels/Sample_Copy.messagingChannel-meta.xml"),
        second,
    );
    // A channel naming a CCD that isn't there.
    files.insert(
        format!("{PKG}/messagingChannels/Lost.messagingChannel-meta.xml"),
        files[&format!("{PKG}/messagingChannels/Acme_CCaaS.messagingChannel-meta.xml")]
            .replace("Acme_CCaaS_CCD", "Missing_CCD"),
    );
    let p = problems(parse(&files));
    let find = |ty: &str, name: &str, words: &str| {
        p.iter()
            .find(|x| x.component_type == ty && x.full_name == name && x.problem.contains(words))
            .unwrap_or_else(|| panic!("no {ty} {name} problem with {words:?} in {p:#?}"))
    };
    let f = find(
        "ConversationChannelDefinition",
        "Acme_CCaaS_CCD",
        "Other__e",
    );
    assert_eq!(f.file_name, ccd);
    assert_eq!(f.line_number, Some(8));
    find(
        "ConversationChannelDefinition",
        "Acme_CCaaS_CCD",
        "'Nobody' is not a valid value for the enum 'RoutingOwner'",
    );
    find("ConversationChannelDefinition", "Legacy_CCD", "Renamed");
    find(
        "MessagingChannel",
        "Support_WhatsApp",
        "'Telegram' is not a valid value",
    );
    find("ConnectedApp", "Legacy_Connector", "'Eclair'");
    find(
        "ConnectedApp",
        "Legacy_Connector",
        "'Bypass' is not a valid value for the enum 'ConnectedAppIpRelaxation'",
    );
    // Channels are read in name order: the first one keeps the definition.
    find(
        "MessagingChannel",
        "Sample_Copy",
        "already the channel Byoc_Sample_Channel's",
    );
    find(
        "MessagingChannel",
        "Lost",
        "Missing_CCD, which isn't in the project",
    );
    // The channel whose CCD file is broken (Acme_CCaaS) isn't blamed for it.
    assert!(!p.iter().any(|x| x.full_name == "Acme_CCaaS"), "{p:#?}");
    assert_eq!(p.len(), 8, "{p:#?}");
}

#[test]
fn deep_nesting_and_byte_order_marks_are_handled() {
    let mut files = retrieve(&sample(), &RetrieveOptions::default());
    let header = format!("{PKG}/externalClientApps/Byoc_Sample_App.eca-meta.xml");
    // Editors on Windows save a byte order mark: still the same app.
    let with_bom = format!("\u{feff}{}", files[&header]);
    files.insert(header.clone(), with_bom);
    assert_eq!(ok(parse(&files)), normalized(sample()));
    // 200 000 nested unknown elements, and nested inside a known one: problems or skipped, no
    // stack overflow.
    let depth = 200_000;
    let deep = format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth));
    for (from, to) in [
        ("<label>", format!("{deep}<label>")),
        ("<label>byoc sample app", format!("<label>{deep}")),
    ] {
        let t = files[&header].replace(from, &to);
        let mut f = files.clone();
        f.insert(header.clone(), t);
        let _ = parse(&f);
    }
}
