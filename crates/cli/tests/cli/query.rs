//! `byoc query`: SOQL through the REST API as the org's admin or with a token, printed as a
//! table like `sf data query`, as JSON (every page) or as CSV; refusals with Salesforce's error.

use byoc_testkit::TestServer;

use super::{byoc, fails, json, ok};

#[tokio::test]
async fn query_flags_that_make_no_sense_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    // csv is a format of `byoc query` only.
    let err = fails(
        &byoc(dir.path(), &["setup", "eca", "list", "--output", "csv"]).await,
        2,
    );
    assert!(err.contains("--output csv is for `byoc query`"), "{err}");
    // --as needs the admin credential.
    let err = fails(
        &byoc(
            dir.path(),
            &[
                "query",
                "SELECT Id FROM User",
                "--access-token",
                "00D!x",
                "--as",
                "u@example.com",
            ],
        )
        .await,
        2,
    );
    assert!(
        err.contains("--as acts as a user with the admin credential"),
        "{err}"
    );
    // --tooling and --all are different endpoints.
    let err = fails(
        &byoc(
            dir.path(),
            &["query", "SELECT Id FROM User", "--tooling", "--all"],
        )
        .await,
        2,
    );
    assert!(err.contains("cannot be used with"), "{err}");
    // Without an org file the admin credential is missing, and the message says so.
    let err = fails(
        &byoc(dir.path(), &["query", "SELECT Id FROM User"]).await,
        1,
    );
    assert!(err.contains("org.json not found"), "{err}");
}

/// The sample CCD's developer name, from the `partner.env` the server wrote.
fn sample_ccd(data: &std::path::Path) -> String {
    let env = std::fs::read_to_string(data.join("partner.env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix("SF_AUTHORIZATION_CONTEXT="))
        .unwrap()
        .trim_matches('"')
        .to_string()
}

const CCD_SOQL: &str =
    "SELECT DeveloperName, ConversationVendorInfo.VendorType FROM ConversationChannelDefinition";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_prints_the_ccd_as_a_table_json_and_csv() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();
    let ccd = sample_ccd(data);

    let text = ok(&byoc(data, &["query", CCD_SOQL]).await);
    let lines: Vec<&str> = text.lines().collect();
    let width = ccd.len().max("DeveloperName".len());
    assert_eq!(
        lines,
        [
            format!(
                " {:<width$}  ConversationVendorInfo.VendorType",
                "DeveloperName"
            ),
            format!(" {}  {}", "─".repeat(width), "─".repeat(33)),
            format!(" {ccd:<width$}  BringYourOwnChannel"),
            "Total number of records retrieved: 1.".to_string(),
        ],
        "{text}"
    );

    // JSON: the query result, the fields in select order after `attributes`.
    let raw = ok(&byoc(data, &["query", CCD_SOQL, "--output", "json"]).await);
    let doc = json(&raw);
    assert_eq!(doc["totalSize"], 1);
    assert_eq!(doc["done"], true);
    let record = &doc["records"][0];
    assert_eq!(
        record["attributes"]["type"],
        "ConversationChannelDefinition"
    );
    assert_eq!(
        record["ConversationVendorInfo"]["VendorType"],
        "BringYourOwnChannel"
    );
    let at = |needle: &str| {
        raw.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {raw}"))
    };
    assert!(at("\"attributes\"") < at("\"DeveloperName\""), "{raw}");
    assert!(
        at("\"DeveloperName\"") < at("\"ConversationVendorInfo\""),
        "{raw}"
    );

    let csv = ok(&byoc(data, &["query", CCD_SOQL, "--output", "csv"]).await);
    assert_eq!(
        csv,
        format!("DeveloperName,ConversationVendorInfo.VendorType\n{ccd},BringYourOwnChannel\n")
    );

    // COUNT() answers no rows, only totalSize; the Tooling API sees the CCD too.
    let count = ok(&byoc(
        data,
        &["query", "SELECT COUNT() FROM ConversationChannelDefinition"],
    )
    .await);
    assert_eq!(count, "Total number of records retrieved: 1.\n");
    let tooling = ok(&byoc(
        data,
        &[
            "query",
            "--tooling",
            "SELECT DeveloperName FROM ConversationChannelDefinition",
            "--output",
            "csv",
        ],
    )
    .await);
    assert_eq!(tooling, format!("DeveloperName\n{ccd}\n"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_refusals_carry_salesforce_s_error_with_its_marker() {
    let server = TestServer::start().await.unwrap();
    let data = server.data_dir();

    let err = fails(&byoc(data, &["query", "SELECT Nope FROM User"]).await, 1);
    assert!(
        err.starts_with(
            "error: INVALID_FIELD:\nSELECT Nope FROM User\n       ^\nERROR at Row:1:Column:8\n\
             No such column 'Nope' on entity 'User'."
        ),
        "{err}"
    );
    let err = fails(
        &byoc(
            data,
            &["query", "SELECT Id FROM User", "--api-version", "20.0"],
        )
        .await,
        1,
    );
    assert!(
        err.contains("NOT_FOUND: The requested resource does not exist"),
        "{err}"
    );
    // JSON mode: the entries as sent.
    let err = fails(
        &byoc(data, &["query", "SELECT FROM User", "--output", "json"]).await,
        1,
    );
    let doc = json(&err);
    assert_eq!(doc["errors"][0]["errorCode"], "MALFORMED_QUERY", "{err}");

    // A user without View Setup and Configuration does not see the CCD object.
    ok(&byoc(
        data,
        &[
            "setup",
            "user",
            "create",
            "--username",
            "std@acme.example",
            "--profile",
            "Standard User",
        ],
    )
    .await);
    let err = fails(
        &byoc(data, &["query", CCD_SOQL, "--as", "std@acme.example"]).await,
        1,
    );
    assert!(err.contains("INVALID_TYPE:"), "{err}");

    // A token without the api scope (the sample app's: interaction_api) is not for REST.
    let token = json(&ok(&byoc(data, &["token", "--output", "json"]).await));
    let token = token["access_token"].as_str().unwrap().to_string();
    let err = fails(
        &byoc(
            data,
            &["query", "SELECT Id FROM User", "--access-token", &token],
        )
        .await,
        1,
    );
    assert!(
        err.contains("INVALID_SESSION_ID: This session is not valid for use with the REST API"),
        "{err}"
    );
    assert!(err.contains("hint: the access token was refused"), "{err}");
    server.stop().await.unwrap();
}
