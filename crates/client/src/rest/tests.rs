//! The REST client against a scripted peer: request shape, paging, the cap, error decoding.

use super::*;
use crate::testing::{serve, Reply};

fn page(records: &[&str], next: Option<&str>, total: u64) -> String {
    let next = next
        .map(|n| format!(r#","nextRecordsUrl":"{n}""#))
        .unwrap_or_default();
    format!(
        r#"{{"totalSize":{total},"done":{}{next},"records":[{}]}}"#,
        next.is_empty(),
        records.join(",")
    )
}

const R1: &str = r#"{"attributes":{"type":"ConversationChannelDefinition","url":"/services/data/v68.0/sobjects/ConversationChannelDefinition/0Z5000000000001AAA"},"DeveloperName":"Sample","ConversationVendorInfo":{"attributes":{"type":"ConversationVendorInfo"},"VendorType":"BYOC"}}"#;

#[tokio::test]
async fn a_query_sends_the_token_the_version_and_the_soql_and_follows_next_records_url() {
    let (url, seen) = serve(|seen, index| match index {
        0 => {
            assert!(
                seen.path.starts_with("/services/data/v68.0/query?q="),
                "{}",
                seen.path
            );
            Reply::json(
                200,
                page(&[R1], Some("/services/data/v68.0/query/01gX-1"), 2),
            )
        }
        1 => {
            assert_eq!(seen.path, "/services/data/v68.0/query/01gX-1");
            Reply::json(200, page(&[R1], None, 2))
        }
        _ => Reply::json(500, "[]"),
    })
    .await;
    let rest = RestClient::new(&url, "00D!tok").unwrap();
    let soql = "SELECT DeveloperName, ConversationVendorInfo.VendorType FROM ConversationChannelDefinition WHERE DeveloperName LIKE 'S%'";
    let result = rest.query(soql).await.unwrap();
    assert_eq!(result.total_size, 2);
    assert!(result.done);
    assert_eq!(result.next_records_url, None);
    assert_eq!(result.records.len(), 2);
    assert_eq!(
        result.records[1]["ConversationVendorInfo"]["VendorType"],
        "BYOC"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("authorization"), Some("Bearer 00D!tok"));
    assert_eq!(seen[0].header("x-byoc-as"), None);
    assert_eq!(seen[0].header("sforce-query-options"), None);
    // The query string decodes back to the SOQL as written.
    let full = Url::parse(&format!("http://x{}", seen[0].path)).unwrap();
    let q: Vec<(String, String)> = full.query_pairs().into_owned().collect();
    assert_eq!(q, [("q".to_string(), soql.to_string())]);
}

#[tokio::test]
async fn query_all_tooling_version_batch_size_and_act_as_shape_the_request() {
    let (url, seen) = serve(|_, _| Reply::json(200, page(&[], None, 0))).await;
    let rest = RestClient::new(&format!("{url}/"), "t")
        .unwrap()
        .api_version("v62.0")
        .batch_size(Some(200))
        .act_as(Some("agent@example.com"));
    rest.query_all("SELECT Id FROM User").await.unwrap();
    rest.tooling_query("SELECT Id FROM ConversationChannelDefinition")
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen[0]
        .path
        .starts_with("/services/data/v62.0/queryAll?q=SELECT+Id+FROM+User"));
    assert!(seen[1]
        .path
        .starts_with("/services/data/v62.0/tooling/query?q="));
    assert_eq!(
        seen[0].header("sforce-query-options"),
        Some("batchSize=200")
    );
    assert_eq!(seen[0].header("x-byoc-as"), Some("agent@example.com"));
}

#[tokio::test]
async fn the_cap_stops_the_walk_and_keeps_where_to_go_on() {
    let (url, seen) = serve(|_, index| {
        let next = format!("/services/data/v68.0/query/01gX-{}", index + 1);
        Reply::json(200, page(&[R1, R1], Some(&next), 100))
    })
    .await;
    let rest = RestClient::new(&url, "t").unwrap().max_records(3);
    let result = rest.query("SELECT Id FROM X").await.unwrap();
    assert_eq!(result.records.len(), 4);
    assert!(!result.done);
    assert_eq!(
        result.next_records_url.as_deref(),
        Some("/services/data/v68.0/query/01gX-2")
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn pages_keep_select_order_and_query_as_types_records() {
    let (url, _) = serve(|_, _| Reply::json(200, page(&[R1], None, 1))).await;
    let rest = RestClient::new(&url, "t").unwrap();
    let mut pages = rest.pages(QueryKind::Query, "SELECT …");
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(
        first.ordered[0].columns(),
        ["DeveloperName", "ConversationVendorInfo.VendorType"]
    );
    assert!(pages.next().await.unwrap().is_none());

    #[derive(serde::Deserialize)]
    struct Ccd {
        #[serde(rename = "DeveloperName")]
        developer_name: String,
    }
    let ccds: Vec<Ccd> = rest.query_as("SELECT DeveloperName FROM X").await.unwrap();
    assert_eq!(ccds[0].developer_name, "Sample");
}

#[tokio::test]
async fn salesforce_errors_keep_their_code_and_message() {
    let body = r#"[{"message":"\nSELECT Nope FROM User\n       ^\nERROR at Row:1:Column:8\nNo such column 'Nope' on entity 'User'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.","errorCode":"INVALID_FIELD"}]"#;
    let (url, _) = serve(move |_, _| Reply::json(400, body)).await;
    let rest = RestClient::new(&url, "t").unwrap();
    let err = rest.query("SELECT Nope FROM User").await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.has_error_code("INVALID_FIELD"));
    assert!(err.to_string().contains("ERROR at Row:1:Column:8"), "{err}");
}

#[tokio::test]
async fn a_next_records_url_elsewhere_is_not_followed() {
    let (url, seen) = serve(|_, _| {
        Reply::json(
            200,
            page(
                &[R1],
                Some("https://evil.example/services/data/v68.0/query/x"),
                2,
            ),
        )
    })
    .await;
    let rest = RestClient::new(&url, "t").unwrap();
    let err = rest.query("SELECT Id FROM X").await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
    assert!(err.to_string().contains("not following"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn not_done_without_a_next_url_and_non_json_answers_are_decode_errors() {
    let (url, _) = serve(|_, index| match index {
        0 => Reply::json(200, r#"{"totalSize":3,"done":false,"records":[]}"#),
        _ => Reply::json(200, "<html>hi</html>"),
    })
    .await;
    let rest = RestClient::new(&url, "t").unwrap();
    let err = rest.query("SELECT Id FROM X").await.unwrap_err();
    assert!(
        err.to_string().contains("without a nextRecordsUrl"),
        "{err}"
    );
    let err = rest.query("SELECT Id FROM X").await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
}
