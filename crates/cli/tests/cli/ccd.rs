//! `byoc setup channel create --ccd DEVNAME`: a BYOC channel built on a Conversation Channel
//! Definition created through the Tooling API, then linked and shown as any channel's CCD.

use byoc_testkit::TestServer;
use serde_json::json;

use super::{byoc, fails, json, ok};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_is_built_on_a_ccd_created_through_the_tooling_api() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    let org = server.org();
    let created = reqwest::Client::new()
        .post(format!(
            "{}/services/data/v68.0/tooling/sobjects/ConversationChannelDefinition",
            org.login_url.trim_end_matches('/')
        ))
        .bearer_auth(&org.admin_token)
        .json(&json!({
            "FullName": "Cli_Chat",
            "Metadata": {
                "masterLabel": "CLI Chat",
                "customPlatformEvent": "Cli_Outbound__e",
                "customEventPayloadField": "Payload__c",
                "customEventTypeField": "EventType__c",
                "connectedAppType": "Customer"
            }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    // Before a channel exists, `ccd show` reads it and `ccd set` says to create the channel.
    let shown = ok(&byoc(data, &["setup", "ccd", "show", "Cli_Chat"]).await);
    assert!(shown.contains("Cli_Outbound__e"), "{shown}");
    let app = json(&ok(&byoc(
        data,
        &["--output", "json", "setup", "eca", "list"],
    )
    .await))[0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let err = fails(
        &byoc(data, &["setup", "ccd", "set", "Cli_Chat", "--app", &app]).await,
        1,
    );
    assert!(err.contains("--ccd Cli_Chat"), "{err}");
    // Owners come from the CCD: the options are usage errors with --ccd.
    fails(
        &byoc(
            data,
            &[
                "setup",
                "channel",
                "create",
                "--name",
                "CLI Chat",
                "--type",
                "byoc-messaging",
                "--address",
                "cli-1",
                "--ccd",
                "Cli_Chat",
                "--routing-owner",
                "partner",
            ],
        )
        .await,
        2,
    );

    let out = ok(&byoc(
        data,
        &[
            "setup",
            "channel",
            "create",
            "--name",
            "CLI Chat",
            "--type",
            "byoc-messaging",
            "--address",
            "cli-1",
            "--ccd",
            "Cli_Chat",
        ],
    )
    .await);
    assert!(
        out.contains("Conversation Channel Definition: Cli_Chat"),
        "{out}"
    );
    let channel = json(&ok(&byoc(
        data,
        &["--output", "json", "setup", "channel", "show", "CLI Chat"],
    )
    .await));
    let ccd = &channel["conversationChannelDefinition"];
    assert_eq!(ccd["customPlatformEvent"], "Cli_Outbound__e");
    assert!(ccd["id"].as_str().unwrap().starts_with("0Yd"));
    ok(&byoc(data, &["setup", "ccd", "set", "Cli_Chat", "--app", &app]).await);

    // One channel per CCD.
    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "channel",
                "create",
                "--name",
                "CLI Chat 2",
                "--type",
                "byoc-messaging",
                "--address",
                "cli-2",
                "--ccd",
                "Cli_Chat",
            ],
        )
        .await,
        1,
    );
    assert!(err.contains("already uses"), "{err}");
    server.stop().await.unwrap();
}

/// `byoc setup ccd update`: the sample CCD moves to a custom platform event with two fields;
/// a non-text field, an unknown CCD and an empty update are refused, and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccd_update_names_a_custom_event_and_its_fields() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    // The sample channel's CCD (what partner.env's SF_AUTHORIZATION_CONTEXT names).
    let ccd = "BYOC_Sample_Channel_CCD";
    ok(&byoc(
        data,
        &["setup", "platform-event", "create", "Acme_Outbound__e"],
    )
    .await);
    for (field, ty) in [
        ("Acme_Payload__c", "LongTextArea"),
        ("Acme_Kind__c", "Text"),
        ("Acme_Count__c", "Number"),
    ] {
        ok(&byoc(
            data,
            &[
                "setup",
                "platform-event",
                "field",
                "add",
                "Acme_Outbound__e",
                field,
                "--type",
                ty,
            ],
        )
        .await);
    }

    let update = |type_field: &'static str| {
        [
            "setup",
            "ccd",
            "update",
            ccd,
            "--platform-event",
            "Acme_Outbound__e",
            "--payload-field",
            "Acme_Payload__c",
            "--type-field",
            type_field,
        ]
    };
    let refused = fails(&byoc(data, &update("Acme_Count__c")).await, 1);
    assert!(
        refused.contains("Acme_Outbound__e.Acme_Count__c is a Number field"),
        "{refused}"
    );
    let shown = ok(&byoc(data, &["setup", "ccd", "show", ccd]).await);
    assert!(!shown.contains("Acme_Outbound__e"), "{shown}");

    let updated = json(&ok(&byoc(
        data,
        &[&["--output", "json"][..], &update("Acme_Kind__c")[..]].concat(),
    )
    .await));
    assert_eq!(updated["record"]["customPlatformEvent"], "Acme_Outbound__e");
    assert_eq!(updated["record"]["customEventTypeField"], "Acme_Kind__c");
    let shown = ok(&byoc(data, &["setup", "ccd", "show", ccd]).await);
    assert!(shown.contains("Acme_Outbound__e"), "{shown}");
    assert!(shown.contains("Acme_Kind__c"), "{shown}");

    let unknown = fails(
        &byoc(
            data,
            &["setup", "ccd", "update", "No_Such_CCD", "--label", "x"],
        )
        .await,
        1,
    );
    assert!(unknown.contains("doesn't exist"), "{unknown}");
    fails(&byoc(data, &["setup", "ccd", "update", ccd]).await, 2);
}
