//! The console's Messaging Settings, Company Information, Certificate Helper and Setup Checklist
//! pages over HTTP, as a browser without JavaScript uses them; each write is checked through the
//! admin API, each refusal against the API's own message.

use byoc_proto::admin::NewChannel;
use byoc_proto::setup::AppManagedBy;
use byoc_testkit::TestServer;
use reqwest::StatusCode;

use crate::console::Console;

const MESSAGING: &str = "/lightning/setup/LiveMessageSetup/home";
const NEW_CHANNEL: &str = "/lightning/setup/LiveMessageSetup/new";
const COMPANY: &str = "/lightning/setup/CompanyProfileInfo/home";

/// Page text as a person reads it: askama escapes quotes and ampersands.
fn text(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the input named `name` on the page.
fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(text(&html[start..end]))
}

#[tokio::test]
async fn messaging_settings_create_a_channel_and_link_its_ccd_with_the_apis_rules() {
    let server = TestServer::start().await.unwrap();
    let api = server.admin();
    let mut c = Console::admin(&server).await;

    // The list shows the sample channel with Setup's columns.
    let p = c.get(MESSAGING).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    for col in [
        "Channel Name",
        "Channel Type",
        "Channel Address Identifier",
        "Conversation Channel Definition",
        "Active",
    ] {
        assert!(p.body.contains(&format!(">{col}</th>")), "{col}");
    }
    assert!(p.body.contains("BYOC Sample Channel"), "{}", p.body);
    assert!(p.body.contains(">New Channel</button>"));

    // New Channel: saved, then the channel's page (303), as the API sees it.
    let p = c
        .submit(
            NEW_CHANNEL,
            NEW_CHANNEL,
            &[
                ("name", "Acme Chat"),
                ("channelType", "byoc-messaging"),
                ("channelAddressIdentifier", "acme-chat-address"),
                ("appManagedBy", "customer"),
                ("routingOwner", ""),
                ("consentOwner", ""),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let channel_page = p.location.clone().unwrap();
    assert_eq!(
        channel_page,
        "/lightning/setup/LiveMessageSetup/Acme%20Chat/view"
    );
    let created = api.channel("Acme Chat").await.unwrap();
    let ccd = created.conversation_channel_definition.clone().unwrap();
    assert_eq!(created.channel_address_identifier, "acme-chat-address");
    assert!(ccd.linked_app.is_none());

    // A refused create (the address is taken) keeps what was typed and shows the API's message.
    let refused_by_api = api
        .create_channel(&NewChannel {
            name: "Other Chat".into(),
            channel_type: "byoc-ccaas".into(),
            channel_address_identifier: "acme-chat-address".into(),
            app_managed_by: None,
            routing_owner: None,
            consent_owner: None,
        })
        .await
        .unwrap_err();
    let p = c
        .submit(
            NEW_CHANNEL,
            NEW_CHANNEL,
            &[
                ("name", "Other Chat"),
                ("channelType", "byoc-ccaas"),
                ("channelAddressIdentifier", "acme-chat-address"),
                ("appManagedBy", "partner"),
                ("routingOwner", "partner"),
                ("consentOwner", "salesforce"),
            ],
        )
        .await;
    assert_eq!(p.status.as_u16(), refused_by_api.status().unwrap());
    let body = text(&p.body);
    assert!(
        body.contains(&format!("role=\"alert\">{refused_by_api}</div>")),
        "{body}"
    );
    assert_eq!(input_value(&p.body, "name").as_deref(), Some("Other Chat"));
    assert_eq!(
        input_value(&p.body, "channelAddressIdentifier").as_deref(),
        Some("acme-chat-address")
    );
    assert!(p.body.contains("<option value=\"byoc-ccaas\" selected>"));
    assert!(p
        .body
        .contains("<option value=\"partner\" selected>Partner: the partner"));
    assert!(api.channel("Other Chat").await.is_err(), "nothing saved");

    // The channel's page: CCD fields and the button (customer-managed).
    let p = c.get(&channel_page).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains(&ccd.developer_name));
    assert!(p.body.contains("Byoc_Outbound__e"));
    assert!(p
        .body
        .contains(">Manage Conversation Channel Definition</button>"));

    // Manage Conversation Channel Definition: choose the sample ECA, save, the API shows the link.
    let form = "/lightning/setup/LiveMessageSetup/Acme%20Chat/ccd";
    let p = c.get(form).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("<optgroup label=\"External Client Apps\">"));
    assert!(p.body.contains(">BYOC Sample App</option>"));
    let sample = api.external_client_app("BYOC Sample App").await.unwrap();
    let p = c.submit(form, form, &[("app", &sample.api_name)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some(channel_page.as_str()));
    let linked = api
        .conversation_channel_definition(&ccd.developer_name)
        .await
        .unwrap();
    assert_eq!(linked.linked_app.unwrap().id, sample.id);
    let p = c.get(&channel_page).await;
    assert!(p
        .body
        .contains(">BYOC Sample App (External Client App)</a>"));

    // An unknown app: the API's not-found message, the choice kept.
    let p = c.submit(form, form, &[("app", "No Such App")]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(
        p.body
            .contains("External Client App or connected app No Such App doesn&#39;t exist."),
        "{}",
        p.body
    );

    // A partner-managed CCD: no button; the page says why, in the API's words.
    api.create_channel(&NewChannel {
        name: "Partner Chat".into(),
        channel_type: "byoc-ccaas".into(),
        channel_address_identifier: "partner-chat-address".into(),
        app_managed_by: Some(AppManagedBy::Partner),
        routing_owner: None,
        consent_owner: None,
    })
    .await
    .unwrap();
    let partner_ccd = api
        .channel("Partner Chat")
        .await
        .unwrap()
        .conversation_channel_definition
        .unwrap();
    let api_refusal = api
        .link_conversation_channel_definition_app(
            &partner_ccd.developer_name,
            &byoc_proto::admin::LinkApp {
                app: "BYOC Sample App".into(),
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(api_refusal.contains("partner-managed"), "{api_refusal}");
    let p = c
        .get("/lightning/setup/LiveMessageSetup/Partner%20Chat/view")
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p
        .body
        .contains("Manage Conversation Channel Definition</button>"));
    assert!(text(&p.body).contains(&api_refusal), "{}", p.body);
    // Going to the form anyway, or posting it, is refused the same way.
    let ccd_form = "/lightning/setup/LiveMessageSetup/Partner%20Chat/ccd";
    let p = c.get(ccd_form).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(text(&p.body).contains(&api_refusal));
    let p = c
        .submit(MESSAGING, ccd_form, &[("app", &sample.api_name)])
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(text(&p.body).contains(&api_refusal));

    // The audit trail has the console's changes, by the console's user.
    let audit = api.audit(Some(20)).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action.contains("Acme Chat") && e.created_by == server.org().admin_username));

    server.stop().await.unwrap();
}

#[tokio::test]
async fn company_information_shows_both_org_ids_and_where_settings_change() {
    let server = TestServer::start().await.unwrap();
    let org = server.org().clone();
    let mut c = Console::admin(&server).await;
    let p = c.get(COMPANY).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(org.org_id.len(), 15);
    assert_eq!(org.org_id_18.len(), 18);
    assert!(p
        .body
        .contains(&format!("<code id=\"org-id-15\">{}</code>", org.org_id)));
    assert!(p
        .body
        .contains(&format!("<code id=\"org-id-18\">{}</code>", org.org_id_18)));
    assert!(p.body.contains(&org.login_url));
    assert!(p.body.contains("Allow creation of connected apps"));
    assert!(p
        .body
        .contains("href=\"/lightning/setup/ExternalClientAppSettings/home\""));

    server.stop().await.unwrap();
}
