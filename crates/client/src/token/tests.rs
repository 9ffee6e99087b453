//! The caching provider against a scripted token endpoint.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::testing::{serve, Reply};

const KEY: &str = include_str!("../../../pki/tests/fixtures/openssl2048.pkcs1.key");

fn token_json(n: usize, extra: &str) -> String {
    format!(
        r#"{{"access_token":"00D000000000001!tok{n}","scope":"interaction_api refresh_token","instance_url":"http://i","id":"http://i/id/x/y","token_type":"Bearer","issued_at":"1"{extra}}}"#
    )
}

fn provider(url: &str) -> TokenProvider {
    TokenProvider::from_settings(JwtBearerSettings {
        token_url: format!("{url}/services/oauth2/token"),
        consumer_key: "3MVG9test".into(),
        username: "admin@example.com".into(),
        audience: "https://login.salesforce.com".into(),
        private_key_pem: KEY.into(),
    })
    .unwrap()
}

#[tokio::test]
async fn many_callers_share_one_request() {
    let (url, seen) =
        serve(|_, n| Reply::json(200, token_json(n, "")).after(Duration::from_millis(150))).await;
    let tokens = Arc::new(provider(&url));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.access_token().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), "00D000000000001!tok0");
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(tokens.fetch_count().await, 1);
    let form = seen.lock().unwrap()[0].body_text();
    assert!(form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"));
}

#[tokio::test]
async fn invalidate_fetches_again_but_only_for_the_current_token() {
    let (url, seen) = serve(|_, n| Reply::json(200, token_json(n, ""))).await;
    let tokens = provider(&url);
    let first = tokens.access_token().await.unwrap();
    tokens.invalidate("some older token").await;
    assert_eq!(tokens.access_token().await.unwrap(), first);
    tokens.invalidate(&first).await;
    let second = tokens.access_token().await.unwrap();
    assert_eq!(second, "00D000000000001!tok1");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire() {
    let (url, seen) = serve(|_, n| Reply::json(200, token_json(n, ""))).await;
    let tokens = provider(&url).with_refresh_after(Duration::from_millis(100));
    tokens.access_token().await.unwrap();
    tokens.access_token().await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(tokens.access_token().await.unwrap(), "00D000000000001!tok1");
}

#[tokio::test]
async fn a_known_lifetime_wins_over_the_default() {
    let (url, seen) = serve(|_, n| Reply::json(200, token_json(n, r#","expires_in":"1""#))).await;
    let tokens = provider(&url);
    tokens.access_token().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    tokens.access_token().await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn refusals_are_typed_and_shared_by_the_callers_waiting() {
    let (url, seen) = serve(|_, _| {
        Reply::json(
            400,
            r#"{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}"#,
        )
        .header("X-Byoc-Diagnosis", "set Permitted Users")
        .after(Duration::from_millis(150))
    })
    .await;
    let tokens = Arc::new(provider(&url));
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.token().await })
        })
        .collect();
    for call in calls {
        match call.await.unwrap() {
            Err(TokenError::Rejected {
                status,
                error,
                diagnosis,
            }) => {
                assert_eq!(status, 400);
                assert_eq!(error.error, "invalid_grant");
                assert_eq!(diagnosis.as_deref(), Some("set Permitted Users"));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
    // A later call tries again.
    assert!(tokens.token().await.is_err());
    assert_eq!(seen.lock().unwrap().len(), 2);
}
