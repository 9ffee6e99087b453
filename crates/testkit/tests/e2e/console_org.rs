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
    let servers = byoc_testkit::on_every_backend("console messaging", Default::default())
        .await
        .unwrap();
    for server in servers {
        messaging_settings(server).await;
    }
}

async fn messaging_settings(server: TestServer) {
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
            conversation_channel_definition: None,
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
        conversation_channel_definition: None,
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

    // A channel without a CCD: its page says so, and the form answers as the API does.
    api.create_channel(&NewChannel {
        name: "Web Chat".into(),
        channel_type: "enhanced-web-chat".into(),
        channel_address_identifier: "web-chat-address".into(),
        app_managed_by: None,
        routing_owner: None,
        consent_owner: None,
        conversation_channel_definition: None,
    })
    .await
    .unwrap();
    let p = c
        .get("/lightning/setup/LiveMessageSetup/Web%20Chat/view")
        .await;
    assert!(p
        .body
        .contains("Enhanced Web Chat channels have no Conversation Channel Definition"));
    assert!(!p
        .body
        .contains("Manage Conversation Channel Definition</button>"));
    let api_refusal = api
        .conversation_channel_definition("Web Chat")
        .await
        .unwrap_err();
    let p = c
        .get("/lightning/setup/LiveMessageSetup/Web%20Chat/ccd")
        .await;
    assert_eq!(p.status.as_u16(), api_refusal.status().unwrap());
    assert!(
        text(&p.body).contains(&api_refusal.to_string()),
        "{}",
        p.body
    );

    // Names that can't exist are not found, on every backend, before any lookup.
    for path in [
        "/lightning/setup/LiveMessageSetup/a%00b/view",
        "/lightning/setup/LiveMessageSetup/a%00b/ccd",
        "/lightning/setup/LiveMessageSetup/nope/view",
    ] {
        assert_eq!(c.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let p = c
        .submit(
            MESSAGING,
            "/lightning/setup/LiveMessageSetup/a%00b/ccd",
            &[("app", "x")],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);

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

const CERTIFICATE: &str = "/lightning/setup/ByocCertificate/home";
const CHECKLIST: &str = "/lightning/setup/ByocChecklist/home";

/// The text of the `<textarea id="{id}">` on the page.
fn textarea(html: &str, id: &str) -> String {
    let open = format!("<textarea id=\"{id}\"");
    let start = html.find(&open).expect(id);
    let start = html[start..].find('>').unwrap() + start + 1;
    let end = html[start..].find("</textarea>").unwrap() + start;
    text(&html[start..end])
}

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn the_certificate_helper_answers_a_matching_pair_once_and_keeps_nothing() {
    let server = TestServer::start().await.unwrap();
    let mut c = Console::admin(&server).await;
    let p = c.get(CERTIFICATE).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p
        .body
        .contains("byoc cert new --out keys --cn byoc --days 365"));
    assert!(p.body.contains("openssl req -x509 -newkey rsa:2048"));
    let audit_before = server.admin().audit(Some(1000)).await.unwrap().len();
    let files_before = files(server.data_dir());

    let p = c
        .submit(
            CERTIFICATE,
            CERTIFICATE,
            &[("cn", "Acme Connector"), ("days", "30")],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.headers["cache-control"], "no-store");
    let key_pem = textarea(&p.body, "private-key-pem");
    let cert_pem = textarea(&p.body, "certificate-pem");
    let key = byoc_pki::parse_private_key(&key_pem).unwrap();
    let cert = byoc_pki::parse_certificate(&cert_pem).unwrap();
    assert!(byoc_pki::key_matches_certificate(&key, &cert));
    assert_eq!(cert.subject, "CN=Acme Connector");
    assert_eq!(cert.key_bits, 2048);
    let days = (cert.not_after - cert.not_before).num_days();
    assert!((30..=31).contains(&days), "{days}");
    // The downloads are the same PEMs, as data: URLs the CSP allows no script for.
    assert!(p.body.contains("download=\"server.key\""));
    assert!(p.body.contains("download=\"server.crt\""));
    assert!(p
        .body
        .contains("href=\"data:application/x-pem-file;base64,"));
    // The commands beside the form follow what was typed.
    assert!(text(&p.body).contains("byoc cert new --out keys --cn 'Acme Connector' --days 30"));

    // Nothing was stored: no audit entry, no new file, and no file holds the key.
    assert_eq!(
        server.admin().audit(Some(1000)).await.unwrap().len(),
        audit_before
    );
    assert_eq!(files(server.data_dir()), files_before);
    let key_body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .take(3)
        .collect();
    for f in files(server.data_dir()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&key_body[..60]),
            "{} holds the key",
            f.display()
        );
    }

    // A bad validity is refused with the values kept; without the CSRF token nothing happens.
    let p = c
        .submit(CERTIFICATE, CERTIFICATE, &[("cn", "Acme"), ("days", "0")])
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p
        .body
        .contains("role=\"alert\">Valid for (days) must be a whole number"));
    assert_eq!(input_value(&p.body, "cn").as_deref(), Some("Acme"));
    assert!(!p.body.contains("private-key-pem"));
    let p = c.post(CERTIFICATE, &[("cn", "x"), ("days", "1")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_checklist_is_all_done_on_the_sample_setup_and_links_the_fix_of_a_broken_step() {
    let servers = byoc_testkit::on_every_backend("console checklist", Default::default())
        .await
        .unwrap();
    for server in servers {
        checklist(server).await;
    }
}

async fn checklist(server: TestServer) {
    let api = server.admin();
    let mut c = Console::admin(&server).await;

    // Defaults: the BYOC channel, the app its CCD names, the logged-in user.
    let p = c.get(CHECKLIST).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body
            .contains("All steps are done for BYOC Sample Channel with BYOC Sample App."),
        "{}",
        p.body
    );
    assert!(!p.body.contains("Not done"), "{}", p.body);
    assert!(p.body.matches("<strong>Done</strong>").count() >= 9);

    // Break a step: take the profile off the app's policy.
    let app = api.external_client_app("BYOC Sample App").await.unwrap();
    api.update_external_client_app_policies(
        "BYOC Sample App",
        &byoc_proto::admin::PolicyInput {
            profiles: Some(vec![]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = format!(
        "{CHECKLIST}?channel=BYOC+Sample+Channel&app=ExternalClientApp%3A{}&user={}",
        app.api_name,
        server.org().admin_username
    );
    let p = c.get(&url).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("1 step is not done."), "{}", p.body);
    let body = text(&p.body);
    let failed = body
        .split("<li class=\"card\">")
        .find(|s| s.contains("Not done"))
        .unwrap();
    assert!(
        failed.contains("Add the integration user's profile"),
        "{failed}"
    );
    assert!(failed.contains("System Administrator"), "{failed}");
    assert!(
        failed.contains(&format!(
            "<a href=\"/lightning/setup/ManageExternalClientApplication/{}/policies/edit\">Edit Policies</a>",
            app.api_name
        )),
        "{failed}"
    );
    assert!(failed.contains("<span aria-hidden=\"true\">✗</span>"));
    // The link leads to the page that fixes it.
    let fix = format!(
        "/lightning/setup/ManageExternalClientApplication/{}/policies/edit",
        app.api_name
    );
    assert_eq!(c.get(&fix).await.status, StatusCode::OK);

    // A bare connected app: several steps not done, and every fix link opens a page.
    api.update_org(&byoc_proto::admin::UpdateOrg {
        allow_connected_app_creation: Some(true),
    })
    .await
    .unwrap();
    let ca = api
        .create_connected_app(&byoc_proto::admin::AppInput {
            name: Some("Legacy Connector".into()),
            contact_email: Some("dev@example.com".into()),
            callback_urls: Some(vec!["https://login.salesforce.com".into()]),
            scopes: Some(vec!["interaction_api".into()]),
            ..Default::default()
        })
        .await
        .unwrap()
        .record;
    let p = c
        .get(&format!(
            "{CHECKLIST}?channel=BYOC+Sample+Channel&app=ConnectedApp%3A{}",
            ca.api_name
        ))
        .await;
    assert_eq!(p.status, StatusCode::OK);
    let body = text(&p.body);
    assert!(body.contains("steps are not done."), "{body}");
    for needle in [
        "Select Use digital signatures and upload the certificate",
        ">Manage Profiles</a>",
        ">Manage Conversation Channel Definition</a>",
        ">Certificate Helper</a>",
        "Perform requests at any time (refresh_token, offline_access)",
    ] {
        assert!(body.contains(needle), "{needle}: {body}");
    }
    let hrefs: Vec<String> = body
        .split("Fix it: ")
        .skip(1)
        .flat_map(|s| {
            let end = s.find("</p>").unwrap_or(s.len());
            s[..end]
                .split("href=\"")
                .skip(1)
                .map(|h| h[..h.find('"').unwrap()].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(hrefs.len() >= 5, "{hrefs:?}");
    for href in hrefs {
        assert_eq!(c.get(&href).await.status, StatusCode::OK, "{href}");
    }

    // A non-BYOC channel has no CCD to link.
    api.create_channel(&NewChannel {
        name: "Web".into(),
        channel_type: "enhanced-web-chat".into(),
        channel_address_identifier: "web-address".into(),
        app_managed_by: None,
        routing_owner: None,
        consent_owner: None,
        conversation_channel_definition: None,
    })
    .await
    .unwrap();
    let p = c.get(&format!("{CHECKLIST}?channel=Web")).await;
    assert!(text(&p.body).contains("it has no Conversation Channel Definition"));
    // Unknown choices are not an error.
    let p = c
        .get(&format!("{CHECKLIST}?channel=nope&app=x&user=%00"))
        .await;
    assert_eq!(p.status, StatusCode::OK);

    server.stop().await.unwrap();
}

/// A console session for `username` (a Standard User), through `frontdoor.jsp` with an access
/// token that has the `web` scope, as Salesforce's frontdoor takes one.
pub(crate) async fn console_as(
    server: &TestServer,
    username: &str,
    permission_sets: Vec<String>,
) -> Console {
    use byoc_client::token::{JwtBearer, JwtBearerSettings};
    use byoc_proto::admin::{AppInput, NewUser, PolicyInput};
    use byoc_proto::setup::PermittedUsers;
    let api = server.admin();
    api.create_user(&NewUser {
        username: username.into(),
        email: None,
        profile: "Standard User".into(),
        permission_sets,
        is_active: true,
    })
    .await
    .unwrap();
    #[allow(clippy::disallowed_methods)] // the certificate must be valid now, on the wall clock
    let now = chrono::Utc::now();
    let pair = byoc_pki::new_self_signed("console", 1, now).unwrap();
    let app = format!("Console {}", username.replace(['@', '.'], " "));
    let saved = api
        .create_external_client_app(&AppInput {
            name: Some(app.clone()),
            contact_email: Some("dev@example.com".into()),
            callback_urls: Some(vec!["https://login.salesforce.com".into()]),
            scopes: Some(vec!["web".into(), "refresh_token".into()]),
            jwt_bearer_enabled: Some(true),
            certificate_pem: Some(pair.certificate_pem.clone()),
            ..AppInput::default()
        })
        .await
        .unwrap();
    api.update_external_client_app_policies(
        &app,
        &PolicyInput {
            permitted_users: Some(PermittedUsers::AdminApprovedPreAuthorized),
            profiles: Some(vec!["Standard User".into()]),
            ..PolicyInput::default()
        },
    )
    .await
    .unwrap();
    let token = JwtBearer::new(JwtBearerSettings {
        token_url: format!("{}/services/oauth2/token", server.org().login_url),
        consumer_key: saved.record.oauth.consumer_key,
        username: username.into(),
        audience: "https://login.salesforce.com".into(),
        private_key_pem: pair.private_key_pem,
    })
    .unwrap()
    .fetch()
    .await
    .unwrap()
    .access_token;
    let mut c = Console::new(server);
    let p = c.get(&format!("/secur/frontdoor.jsp?sid={token}")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(c.sid.is_some());
    c
}

#[tokio::test]
async fn pages_refuse_what_the_api_refuses_with_its_message() {
    let server = TestServer::start().await.unwrap();
    let api = server.admin();
    let org = server.org().clone();

    // No View Setup and Configuration: every read of these pages is refused as the API's read.
    let mut std = console_as(&server, "std@example.com", vec![]).await;
    let as_std = byoc_client::AdminClient::new(&org.login_url, &org.admin_token)
        .unwrap()
        .act_as(Some("std@example.com"));
    let api_refusal = as_std.channels().await.unwrap_err();
    for page in [MESSAGING, NEW_CHANNEL, COMPANY, CHECKLIST] {
        let p = std.get(page).await;
        assert_eq!(p.status.as_u16(), api_refusal.status().unwrap(), "{page}");
        assert!(
            text(&p.body).contains(&format!("role=\"alert\">{api_refusal}</div>")),
            "{page}: {}",
            p.body
        );
    }
    // The Certificate Helper reads nothing of the org: open to every user.
    assert_eq!(std.get(CERTIFICATE).await.status, StatusCode::OK);

    // View Setup but not Customize Application: the form shows, the save is refused with the
    // API's message and the typed values kept.
    api.create_permission_set(&byoc_proto::admin::NewPermissionSet {
        name: "Viewer".into(),
        label: None,
        permissions: vec![byoc_proto::setup::UserPermission::ViewSetup],
        object_permissions: vec![],
    })
    .await
    .unwrap();
    let mut viewer = console_as(&server, "viewer@example.com", vec!["Viewer".into()]).await;
    let fields = [
        ("name", "Viewer Chat"),
        ("channelType", "byoc-messaging"),
        ("channelAddressIdentifier", "viewer-address"),
        ("appManagedBy", "customer"),
    ];
    let api_refusal = byoc_client::AdminClient::new(&org.login_url, &org.admin_token)
        .unwrap()
        .act_as(Some("viewer@example.com"))
        .create_channel(&NewChannel {
            name: "Viewer Chat".into(),
            channel_type: "byoc-messaging".into(),
            channel_address_identifier: "viewer-address".into(),
            app_managed_by: None,
            routing_owner: None,
            consent_owner: None,
            conversation_channel_definition: None,
        })
        .await
        .unwrap_err();
    let p = viewer.submit(NEW_CHANNEL, NEW_CHANNEL, &fields).await;
    assert_eq!(p.status.as_u16(), api_refusal.status().unwrap());
    assert!(
        text(&p.body).contains(&format!("role=\"alert\">{api_refusal}</div>")),
        "{}",
        p.body
    );
    assert_eq!(input_value(&p.body, "name").as_deref(), Some("Viewer Chat"));
    assert_eq!(
        input_value(&p.body, "channelAddressIdentifier").as_deref(),
        Some("viewer-address")
    );
    // And the CCD link: refused, the choice kept.
    let form = "/lightning/setup/LiveMessageSetup/BYOC%20Sample%20Channel/ccd";
    let p = viewer
        .submit(form, form, &[("app", "BYOC_Sample_App")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(
        text(&p.body).contains("can't manage messaging channels"),
        "{}",
        p.body
    );
    assert!(api
        .channels()
        .await
        .unwrap()
        .iter()
        .all(|c| c.name != "Viewer Chat"));

    server.stop().await.unwrap();
}
