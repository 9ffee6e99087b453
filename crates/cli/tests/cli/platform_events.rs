//! `byoc setup platform-event ...`: define a custom platform event and its fields from the
//! command line, read them back in text and JSON, and see bad input refused with a clear message
//! and a non-zero exit.

use byoc_testkit::TestServer;

use super::{byoc, fails, json, ok};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_event_and_its_fields_from_the_command_line() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();

    // The sample org's event is listed.
    let list = ok(&byoc(data, &["setup", "platform-event", "list"]).await);
    assert!(list.contains("Byoc_Outbound__e"), "{list}");
    assert!(list.contains("/event/Byoc_Outbound__e"), "{list}");

    let created = ok(&byoc(
        data,
        &[
            "setup",
            "platform-event",
            "create",
            "acme__Outbound__e",
            "--label",
            "Acme Outbound",
        ],
    )
    .await);
    assert!(created.contains("Created platform event."), "{created}");
    assert!(created.contains("HighVolume"), "{created}");
    for (field, args) in [
        ("acme__Payload__c", vec!["--type", "LongTextArea"]),
        ("acme__Type__c", vec!["--type", "Text", "--length", "40"]),
        (
            "acme__Priority__c",
            vec!["--type", "Number", "--precision", "6", "--scale", "2"],
        ),
        ("acme__Urgent__c", vec!["--type", "checkbox"]),
        ("acme__Due__c", vec!["--type", "Date/Time", "--required"]),
    ] {
        let mut argv = vec![
            "setup",
            "platform-event",
            "field",
            "add",
            "acme__Outbound__e",
            field,
        ];
        argv.extend(args);
        ok(&byoc(data, &argv).await);
    }
    let show = ok(&byoc(
        data,
        &["setup", "platform-event", "show", "ACME__outbound__e"],
    )
    .await);
    for expected in [
        "Platform Event: acme__Outbound__e",
        "Text Area (Long)(32768)",
        "Text(40)",
        "Number(6, 2)",
        "Checkbox (default false)",
        "[\"null\",\"double\"]",
        "[\"null\",\"boolean\"]",
        "[\"null\",\"long\"]",
        "Schema ID:",
    ] {
        assert!(show.contains(expected), "missing {expected:?} in:\n{show}");
    }
    let shown = json(&ok(&byoc(
        data,
        &[
            "--output",
            "json",
            "setup",
            "platform-event",
            "show",
            "acme__Outbound__e",
        ],
    )
    .await));
    let names: Vec<&str> = shown["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fullName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "acme__Payload__c",
            "acme__Type__c",
            "acme__Priority__c",
            "acme__Urgent__c",
            "acme__Due__c"
        ]
    );
    assert_eq!(shown["fields"][4]["type"], "DateTime");
    assert_eq!(shown["fields"][4]["required"], true);

    // Bad input: a clear message, exit 1, nothing changed.
    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "platform-event",
                "field",
                "add",
                "acme__Outbound__e",
                "Bad",
                "--type",
                "Text",
            ],
        )
        .await,
        1,
    );
    assert!(err.contains("must end in __c"), "{err}");
    let err = fails(
        &byoc(
            data,
            &[
                "setup",
                "platform-event",
                "field",
                "add",
                "acme__Outbound__e",
                "X__c",
                "--type",
                "Picklist",
            ],
        )
        .await,
        2,
    );
    assert!(err.contains("unknown field type 'Picklist'"), "{err}");
    let err = fails(
        &byoc(
            data,
            &["setup", "platform-event", "delete", "Byoc_Outbound__e"],
        )
        .await,
        1,
    );
    assert!(
        err.contains("BYOC_Sample_Channel") || err.contains("Conversation Channel Definition"),
        "{err}"
    );
    let err = fails(
        &byoc(data, &["setup", "platform-event", "show", "Nope__e"]).await,
        1,
    );
    assert!(err.contains("Nope__e"), "{err}");

    // Field and event deletion.
    let out = ok(&byoc(
        data,
        &[
            "setup",
            "platform-event",
            "field",
            "delete",
            "acme__Outbound__e",
            "acme__Urgent__c",
        ],
    )
    .await);
    assert!(!out.contains("acme__Urgent__c  "), "{out}");
    ok(&byoc(
        data,
        &["setup", "platform-event", "delete", "acme__Outbound__e"],
    )
    .await);
    let list = ok(&byoc(data, &["setup", "platform-event", "list"]).await);
    assert!(!list.contains("acme__Outbound__e"), "{list}");
    let audit = ok(&byoc(data, &["setup", "audit", "--limit", "20"]).await);
    assert!(
        audit.contains("Deleted custom object: acme__Outbound__e"),
        "{audit}"
    );
    server.stop().await.unwrap();
}
