//! Request shape, headers, error decoding and the token retry, against a scripted peer.

use std::sync::Mutex;

use byoc_proto::interaction::{ConsentStatus, RoutingType};

use super::*;
use crate::testing::{serve, Reply};
use crate::token::TokenFuture;

/// Tokens `t0`, `t1`, ...: a new one after each invalidation, which it records.
#[derive(Default)]
struct CountingTokens {
    generation: Mutex<usize>,
    invalidated: Mutex<Vec<String>>,
}

impl AccessTokenSource for CountingTokens {
    fn access_token(&self) -> TokenFuture<'_, Result<String, TokenError>> {
        let n = *self.generation.lock().unwrap();
        Box::pin(async move { Ok(format!("t{n}")) })
    }

    fn invalidate<'a>(&'a self, access_token: &'a str) -> TokenFuture<'a, ()> {
        self.invalidated
            .lock()
            .unwrap()
            .push(access_token.to_string());
        *self.generation.lock().unwrap() += 1;
        Box::pin(async {})
    }
}

const ACCEPTED: &str = r#"{"conversationIdentifier":"c-1","id":"e-1","workItemIds":["0Mw000000000001"],"success":true}"#;

fn client(url: &str, tokens: Arc<CountingTokens>) -> InteractionClient {
    InteractionClient::new(
        InteractionSettings::new(url, "00D000000000001", "Sample_CCD"),
        tokens,
    )
    .unwrap()
}

#[tokio::test]
async fn interactions_go_as_multipart_with_every_header() {
    let (url, seen) = serve(|_, _| Reply::json(202, ACCEPTED)).await;
    let client = client(&url, Arc::default());
    let sent = client.send_text("addr", "user-1", "Hello").await.unwrap();
    assert_eq!(sent.conversation_identifier, "c-1");
    client
        .send_typing("addr", "user-1", Typing::Stopped)
        .await
        .unwrap();

    let seen = seen.lock().unwrap().clone();
    let first = &seen[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/api/v1/interactions");
    assert_eq!(first.header("authorization"), Some("Bearer t0"));
    assert_eq!(first.header("orgid"), Some("00D000000000001"));
    assert_eq!(first.header("authorizationcontext"), Some("Sample_CCD"));
    // The spec has no AuthorizationContextType on /interactions.
    assert_eq!(first.header("authorizationcontexttype"), None);
    let request_ids: Vec<&str> = seen
        .iter()
        .map(|s| s.header("requestid").unwrap())
        .collect();
    assert!(
        uuid::Uuid::parse_str(request_ids[0]).is_ok(),
        "{request_ids:?}"
    );
    assert_ne!(
        request_ids[0], request_ids[1],
        "a fresh RequestId per request"
    );
    assert!(first
        .header("content-type")
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    let body = first.body_text();
    assert!(body.contains("name=\"json\""), "{body}");
    assert!(body.contains(r#""text":"Hello""#), "{body}");
    assert!(
        body.contains(r#""interactionType":"EntryInteraction""#),
        "{body}"
    );
    assert!(seen[1].body_text().contains("TypingStoppedIndicator"));
}

#[tokio::test]
async fn attachments_go_as_a_file_part_with_their_length() {
    let (url, seen) = serve(|_, _| Reply::json(202, ACCEPTED)).await;
    let client = client(&url, Arc::default());
    let file = AttachmentFile::new("notes.pdf", b"%PDF-1.4".to_vec());
    assert_eq!(file.mime_type, "application/pdf");
    client
        .send_attachment("addr", "user-1", &file, Some("see attached"))
        .await
        .unwrap();
    let body = seen.lock().unwrap()[0].body_text();
    assert!(
        body.contains("name=\"attachments\"; filename=\"notes.pdf\""),
        "{body}"
    );
    assert!(body.contains("Content-Type: application/pdf"), "{body}");
    assert!(body.contains(r#""contentLength":8"#), "{body}");
    assert!(body.contains(r#""attachmentIndex":0"#), "{body}");
}

#[tokio::test]
async fn a_refused_token_is_replaced_once() {
    let (url, seen) = serve(|_, n| {
        if n == 0 {
            Reply::json(
                401,
                r#"{"code":10004,"message":"The supplied Authorization access token is not valid."}"#,
            )
        } else {
            Reply::json(202, ACCEPTED)
        }
    })
    .await;
    let tokens = Arc::new(CountingTokens::default());
    let client = client(&url, tokens.clone());
    client.send_text("addr", "u", "hi").await.unwrap();
    assert_eq!(*tokens.invalidated.lock().unwrap(), vec!["t0".to_string()]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("authorization"), Some("Bearer t1"));
    // The multipart body was sent again in full.
    assert!(seen[1].body_text().contains(r#""text":"hi""#));
}

#[tokio::test]
async fn a_second_refusal_and_other_codes_come_back_typed() {
    let (url, seen) = serve(|_, _| {
        Reply::json(
            401,
            r#"{"code":10004,"message":"The supplied Authorization access token is not valid."}"#,
        )
    })
    .await;
    let client = client(&url, Arc::default());
    let err = client.send_text("addr", "u", "hi").await.unwrap_err();
    assert_eq!(err.code(), Some(10004));
    assert_eq!(err.status(), Some(401));
    assert_eq!(seen.lock().unwrap().len(), 2, "one retry only");

    let (url, seen) =
        serve(|_, _| Reply::json(401, r#"{"code":10003,"message":"missing scope"}"#)).await;
    let err = client_for(&url)
        .send_text("addr", "u", "hi")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(codes::MISSING_SCOPE));
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "a missing scope is not retried"
    );
}

fn client_for(url: &str) -> InteractionClient {
    client(url, Arc::default())
}

#[tokio::test]
async fn error_details_and_uncoded_answers_are_decoded() {
    let (url, _) = serve(|_, _| {
        Reply::json(
            403,
            r#"{"success":false,"errorDetail":{"code":10022,"message":"consent is Salesforce's"}}"#,
        )
        .header(ERROR_ID_HEADER, "abc")
    })
    .await;
    let err = client_for(&url)
        .update_consent(&ConsentRequest {
            channel_address_identifier: "addr".into(),
            end_user_client_id: "u".into(),
            consent_status: ConsentStatus::ExplicitlyOptedIn,
        })
        .await
        .unwrap_err();
    match err {
        InteractionError::Api {
            status,
            code,
            error_id,
            request_id,
            ..
        } => {
            assert_eq!((status, code), (403, 10022));
            assert_eq!(error_id.as_deref(), Some("abc"));
            assert!(!request_id.is_empty());
        }
        other => panic!("{other:?}"),
    }

    let (url, _) = serve(|_, _| Reply::json(502, "bad gateway")).await;
    let err = client_for(&url).send_text("a", "u", "t").await.unwrap_err();
    assert!(
        matches!(err, InteractionError::Http { status: 502, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn json_operations_carry_the_context_type_where_the_spec_has_it() {
    let (url, seen) = serve(|s, _| {
        if s.path.ends_with("/route") {
            Reply::json(202, r#"{"success":true,"psrId":"0JR000000000001"}"#)
        } else {
            Reply::json(200, r#"{"success":true}"#)
        }
    })
    .await;
    let client = client_for(&format!("{url}/base"));
    let routed = client
        .route(&PostRouteRequest {
            conversation_identifier: "c-1".into(),
            routing_type: RoutingType::Initial,
            routing_info: None,
        })
        .await
        .unwrap();
    assert_eq!(routed.psr_id.as_deref(), Some("0JR000000000001"));
    client
        .update_consent(&ConsentRequest {
            channel_address_identifier: "addr".into(),
            end_user_client_id: "u".into(),
            consent_status: ConsentStatus::OptedOut,
        })
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].path, "/base/api/v1/route");
    assert_eq!(
        seen[0].header("authorizationcontexttype"),
        Some("ConversationChannelDefinition")
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&seen[0].body).unwrap(),
        serde_json::json!({"conversationIdentifier": "c-1", "routingType": "Initial"})
    );
    assert_eq!(seen[1].method, "PATCH");
    assert_eq!(seen[1].header("authorizationcontexttype"), None);
}
