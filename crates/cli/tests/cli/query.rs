//! `byoc query`: SOQL through the REST API as the org's admin or with a token, printed as a
//! table like `sf data query`, as JSON (every page) or as CSV; refusals with Salesforce's error.

use super::{byoc, fails};

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
