use serde_json::json;

use super::*;

fn grant() -> TokenGrant {
    TokenGrant {
        org_id15: "00D000000000062".into(),
        user_id: "005000000000001".into(),
        app_id: "0xI000000000001".into(),
        scopes: vec!["interaction_api".into()],
    }
}

fn text_interaction() -> Value {
    json!({
        "to": "addr", "from": "user-1",
        "interactions": [{
            "timestamp": 1688190840000i64,
            "interactionType": "EntryInteraction",
            "payload": {"id": "e1", "entryType": "Message", "abstractMessage": {"id": "e1", "messageType": "StaticContentMessage", "staticContent": {"formatType": "Text", "text": "hi"}}}
        }]
    })
}

#[test]
fn messages_are_verbatim_and_placeholders_filled() {
    assert_eq!(
        message(10004),
        "The supplied Authorization access token is not valid."
    );
    assert_eq!(message(10009), "The file is empty or doesn’t exist.");
    let e = ApiError::conversation_mismatch("0Mw000000000001", "c-1");
    assert_eq!(e.message, "Enter a conversationId that matches a conversation linked to workItemId 0Mw000000000001. conversationId c-1 doesn't match.");
    assert_eq!(ApiError::new(10003).class, ErrorClass::Unauthorized);
    assert_eq!(ApiError::new(10026).class, ErrorClass::NotFound);
    assert_eq!(ApiError::new(10005).class, ErrorClass::Forbidden);
    assert_eq!(ApiError::new(10029).class, ErrorClass::BadRequest);
}

#[test]
fn org_header_rules() {
    let g = grant();
    assert_eq!(check_grant(&g, Some("00D000000000062")), Ok(()));
    assert_eq!(
        check_grant(&g, Some("00D000000000062EAA"))
            .unwrap_err()
            .code,
        10016
    );
    assert_eq!(check_grant(&g, None).unwrap_err().code, 10016);
    assert_eq!(check_grant(&g, Some("garbage")).unwrap_err().code, 10016);
    let other = check_grant(&g, Some("00D000000000063")).unwrap_err();
    assert_eq!((other.code, other.class), (10016, ErrorClass::Forbidden));
    let no_scope = TokenGrant {
        scopes: vec!["refresh_token".into()],
        ..g
    };
    assert_eq!(
        check_grant(&no_scope, Some("00D000000000062"))
            .unwrap_err()
            .code,
        10003
    );
}

#[test]
fn context_type_is_case_insensitive() {
    assert!(check_context_type(None).is_ok());
    assert!(check_context_type(Some("conversationchanneldefinition")).is_ok());
    assert_eq!(check_context_type(Some("Bogus")).unwrap_err().code, 10093);
}

#[test]
fn text_interaction_is_valid() {
    let v = validate_interaction(&text_interaction(), &[], "a").expect("valid");
    assert_eq!(v.entry.entry_id, "e1");
    assert_eq!(v.entry.text.as_deref(), Some("hi"));
    assert_eq!(v.entry.sender.role.as_deref(), Some("EndUser"));
}

#[test]
fn interaction_codes() {
    let code = |v: Value| validate_interaction(&v, &[], "a").unwrap_err().code;
    let mut v = text_interaction();
    v["from"] = json!("");
    assert_eq!(code(v), 10028);
    let mut v = text_interaction();
    v.as_object_mut().map(|o| o.remove("to"));
    assert_eq!(code(v), 10027);
    let mut v = text_interaction();
    v["interactions"] = json!([]);
    assert_eq!(code(v), 20003);
    let mut v = text_interaction();
    let one = v["interactions"][0].clone();
    v["interactions"] = json!([one.clone(), one]);
    assert_eq!(code(v), 10029);
    let mut v = text_interaction();
    v["interactions"][0]["payload"]["abstractMessage"]["messageType"] = json!("ChoicesMessage");
    assert_eq!(code(v), 10062);
    let mut v = text_interaction();
    v["interactions"][0]["payload"]["abstractMessage"]["messageType"] = json!("Nope");
    assert_eq!(code(v), 10047);
    let mut v = text_interaction();
    v["interactions"][0]["payload"]["abstractMessage"]["staticContent"]["formatType"] =
        json!("Buttons");
    assert_eq!(code(v), 10049);
    let mut v = text_interaction();
    v["interactions"][0]["payload"]["abstractMessage"]["staticContent"]["formatType"] =
        json!("Nope");
    assert_eq!(code(v), 10048);
    let mut v = text_interaction();
    v["interactions"][0]["payload"]["id"] = json!("");
    assert_eq!(code(v), 10059);
    let file = FileFacts {
        size: 3,
        file_name: None,
        mime_type: "text/plain".into(),
    };
    assert_eq!(
        validate_interaction(&text_interaction(), &[file], "a")
            .unwrap_err()
            .code,
        10011
    );
}

#[test]
fn attachment_interaction_codes() {
    let att = |len: Value, index: Value| json!({"to": "a", "from": "u", "interactions": [{"timestamp": 5, "interactionType": "AttachmentInteraction", "id": "f1", "attachmentIndex": index, "contentLength": len}]});
    let file = |size| FileFacts {
        size,
        file_name: Some("a.txt".into()),
        mime_type: "text/plain".into(),
    };
    let ok = validate_interaction(&att(json!(3), json!(0)), &[file(3)], "att1").expect("valid");
    assert_eq!(ok.attachment.as_ref().map(|a| a.size), Some(3));
    assert_eq!(
        ok.entry.payload["abstractMessage"]["staticContent"]["attachments"][0]["id"],
        "att1"
    );
    assert_eq!(
        validate_interaction(&att(json!(3), json!(0)), &[], "x")
            .unwrap_err()
            .code,
        10011
    );
    assert_eq!(
        validate_interaction(&att(json!(3), json!(1)), &[file(3)], "x")
            .unwrap_err()
            .code,
        10011
    );
    assert_eq!(
        validate_interaction(&att(json!(0), json!(0)), &[file(0)], "x")
            .unwrap_err()
            .code,
        10009
    );
    assert_eq!(
        validate_interaction(&att(json!(4), json!(0)), &[file(3)], "x")
            .unwrap_err()
            .code,
        10051
    );
    assert_eq!(
        validate_interaction(&att(Value::Null, json!(0)), &[file(3)], "x")
            .unwrap_err()
            .code,
        10010
    );
    assert_eq!(
        validate_interaction(
            &att(json!(1), json!(0)),
            &[file(MAX_ATTACHMENT_BYTES + 1)],
            "x"
        )
        .unwrap_err()
        .code,
        10008
    );
}

#[test]
fn acknowledgements_limits() {
    let ack = |i: usize| json!({"acknowledgementTimestamp": "1688190840000", "acknowledgementType": "Read", "acknowledgedConversationEntryIdentifier": "e1", "acknowledgmentCreatedConversationEntryIdentifier": format!("a{i}")});
    let req = |n: usize| json!({"conversationIdentifier": "c", "sender": {"appType": "custom", "subject": "u", "role": "EndUser"}, "acknowledgements": (0..n).map(ack).collect::<Vec<_>>()});
    assert_eq!(
        validate_acknowledgements(&req(25))
            .expect("25 ok")
            .entries
            .len(),
        25
    );
    assert_eq!(validate_acknowledgements(&req(26)).unwrap_err().code, 10089);
    assert_eq!(validate_acknowledgements(&req(0)).unwrap_err().code, 10089);
}

#[test]
fn agent_work_capacity_rules() {
    let base = json!({"userId": "005000000000001", "workItemId": "0Mw000000000001"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    assert!(validate_agent_work(&base).is_ok());
    let mut both = with("capacityWeight", json!(1));
    both["capacityPercentage"] = json!(10);
    assert_eq!(validate_agent_work(&both).unwrap_err().code, 10013);
    assert_eq!(
        validate_agent_work(&with("capacityWeight", json!(-1)))
            .unwrap_err()
            .code,
        10014
    );
    assert_eq!(
        validate_agent_work(&with("capacityPercentage", json!(101)))
            .unwrap_err()
            .code,
        10015
    );
    assert_eq!(
        validate_agent_work(&with("workItemId", json!("0Mw123")))
            .unwrap_err()
            .code,
        10012
    );
}

#[test]
fn routing_result_rules() {
    let r = |success: bool, msg: Option<&str>| {
        let mut v = json!({"conversationIdentifier": "c", "workItemId": "0Mw000000000001", "success": success, "externallyRouted": false});
        if let Some(m) = msg {
            v["errorMessage"] = json!(m);
        }
        validate_routing_result(&v)
    };
    assert!(r(true, None).is_ok());
    assert_eq!(r(true, Some("x")).unwrap_err().code, 10033);
    assert_eq!(r(false, None).unwrap_err().code, 10034);
}

#[test]
fn nul_is_detected() {
    assert!(contains_nul(&json!({"a": ["x\u{0}"]})));
    assert!(!contains_nul(&json!({"a": ["x"]})));
}

#[test]
fn multibyte_ids_are_refused_not_sliced() {
    // 18 bytes with a two-byte character across byte 15.
    let id = "0Mw00000000000\u{e9}00";
    assert_eq!(id.len(), 18);
    assert_eq!(work_item_id(Some(&json!(id))).unwrap_err().code, 10012);
    let patch = json!({"workId": id, "contextType": "Agent", "status": "Close"});
    assert_eq!(validate_agent_work_update(&patch).unwrap_err().code, 10082);
}
