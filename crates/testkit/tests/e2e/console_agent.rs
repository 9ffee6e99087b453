//! The agent console over real HTTP, as a browser without JavaScript uses it: an end user's
//! messages sent with the SDK appear in the list and the transcript; the agent's reply posted
//! through the form is stored and published (a Pub/Sub subscriber built on the SDK receives it);
//! *End conversation*; attachments served with safe headers; refusals as the admin API's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use byoc_client::interaction::{AttachmentFile, InteractionClient, InteractionSettings, Typing};
use byoc_client::pubsub::{PubSubSettings, Replay, StaticToken, Subscriber};
use byoc_client::token::{JwtBearer, JwtBearerSettings, StaticAccessToken};
use byoc_proto::interaction::{AcknowledgementType, AppType, Participant, ParticipantRole};
use byoc_proto::interaction_requests::{Acknowledgement, AcknowledgementRequest};
use byoc_testkit::TestServer;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;

use crate::console::{Console, Page};

const LIST: &str = "/lightning/o/Conversation/list";
const TOPIC: &str = "/event/Byoc_Outbound__e";
/// The smallest PNG there is (1×1), as an end user's photo.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xff, 0xff, 0x3f,
    0x00, 0x05, 0xfe, 0x02, 0xfe, 0xa7, 0x35, 0x81, 0x84, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

fn view(id: &str) -> String {
    format!("/lightning/r/Conversation/{id}/view")
}

fn partner_env(server: &TestServer) -> HashMap<String, String> {
    let text = std::fs::read_to_string(server.data_dir().join("partner.env")).expect("partner.env");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('"').replace("\\n", "\n"),
            )
        })
        .collect()
}

/// The partner's side: an access token of the sample app and the SDK's Interaction API client.
struct Partner {
    token: String,
    client: InteractionClient,
    address: String,
}

impl Partner {
    async fn new(server: &TestServer) -> Partner {
        let env = partner_env(server);
        let token = JwtBearer::new(JwtBearerSettings {
            token_url: env["SF_AUTH_ENDPOINT"].clone(),
            consumer_key: env["SF_CONSUMER_KEY"].clone(),
            username: env["SF_SUBJECT"].clone(),
            audience: env["SF_AUDIENCE"].clone(),
            private_key_pem: env["SF_PRIVATE_KEY"].clone(),
        })
        .expect("provider")
        .fetch()
        .await
        .expect("token")
        .access_token;
        let client = InteractionClient::new(
            InteractionSettings::new(
                &server.org().scrt_url,
                &server.org().org_id,
                &env["SF_AUTHORIZATION_CONTEXT"],
            ),
            Arc::new(StaticAccessToken(token.clone())),
        )
        .expect("client");
        Partner {
            token,
            client,
            address: env["CHANNEL_ADDRESS_IDENTIFIER"].clone(),
        }
    }

    async fn send(&self, from: &str, text: &str) -> String {
        self.client
            .send_text(&self.address, from, text)
            .await
            .expect("send")
            .conversation_identifier
    }
}

/// The HTML's text with the entities askama writes turned back.
fn text(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `<li>` of the transcript entry `id`.
fn entry<'a>(page: &'a Page, id: &str) -> &'a str {
    let marker = format!("data-entry-id=\"{id}\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no entry {id}: {}", page.body));
    let start = page.body[..at].rfind("<li").expect("li");
    let end = page.body[at..].find("</li>").expect("end of li") + at;
    &page.body[start..end]
}

async fn reply_form(
    c: &mut Console,
    id: &str,
    text: &str,
    file: Option<(&str, &str, &[u8])>,
) -> Page {
    let token = c.get(&view(id)).await.csrf();
    let mut form = Form::new()
        .text("_csrf", token)
        .text("text", text.to_string());
    if let Some((name, mime, bytes)) = file {
        form = form.part(
            "file",
            Part::bytes(bytes.to_vec())
                .file_name(name.to_string())
                .mime_str(mime)
                .expect("mime"),
        );
    }
    c.post_multipart(&format!("/lightning/r/Conversation/{id}/reply"), form)
        .await
}

#[tokio::test]
async fn an_sdk_message_shows_in_the_list_and_transcript_and_the_reply_form_publishes() {
    let servers = byoc_testkit::on_every_backend("console agent", Default::default())
        .await
        .expect("servers");
    for server in servers {
        agent_console(server).await;
    }
}

async fn agent_console(server: TestServer) {
    let backend = server.backend();
    let p = Partner::new(&server).await;
    let from = "console-end-user";
    let id = p.send(from, "Hello from the SDK <b>not bold</b>").await;
    let photo = p
        .client
        .send_attachment(
            &p.address,
            from,
            &AttachmentFile::new("photo.png", PNG.to_vec()).with_mime_type("image/png"),
            Some("my photo"),
        )
        .await
        .expect("photo");
    assert_eq!(photo.conversation_identifier, id);
    let page_file = p
        .client
        .send_attachment(
            &p.address,
            from,
            &AttachmentFile::new("page.html", b"<script>alert(1)</script>".to_vec())
                .with_mime_type("text/html"),
            None,
        )
        .await
        .expect("html file");
    p.client
        .send_typing(&p.address, from, Typing::Started)
        .await
        .expect("typing");
    p.client
        .send_typing(&p.address, from, Typing::Stopped)
        .await
        .expect("typing stopped");
    let api = server.admin();

    // The list: the conversation, newest first, with its channel, status and last message.
    let mut c = Console::admin(&server).await;
    let list = c.get(LIST).await;
    assert_eq!(list.status, StatusCode::OK, "{backend}: {}", list.body);
    assert!(list.body.contains("<table id=\"conversation-list\""));
    let row_marker = format!("<tr data-conversation-id=\"{id}\">");
    assert!(list.body.contains(&row_marker), "{backend}: {}", list.body);
    assert!(list.body.contains(&format!("href=\"{}\"", view(&id))));
    assert!(list.body.contains("BYOC Sample Channel"), "{}", list.body);
    // The newest message is the HTML file, which has no text.
    assert!(list.body.contains("(attachment)"), "{}", list.body);
    // Filters: status and channel, by the channel's API name; an unknown one is an error.
    let active = c.get(&format!("{LIST}?status=Active")).await;
    assert!(active.body.contains(&row_marker));
    let ended = c.get(&format!("{LIST}?status=Ended")).await;
    assert!(!ended.body.contains(&row_marker));
    let channel = api.channels().await.expect("channels")[0]
        .developer_name
        .clone();
    let by_channel = c.get(&format!("{LIST}?channel={channel}")).await;
    assert!(by_channel.body.contains(&row_marker), "{}", by_channel.body);
    let unknown = c.get(&format!("{LIST}?channel=nope&status=x")).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(!unknown.body.contains(&row_marker));
    assert!(unknown.body.contains("role=\"alert\""));
    let nul = c.get(&format!("{LIST}?channel=%00&status=%00")).await;
    assert_eq!(nul.status, StatusCode::BAD_REQUEST, "{}", nul.body);

    // The transcript: the text (escaped), the image previewed, the file as a download link,
    // typing not a line and not showing once stopped, the session's start.
    let detail = api.conversation(&id).await.expect("detail");
    let first = detail
        .entries
        .iter()
        .find(|e| e.entry_type == "Message")
        .expect("first message");
    let page = c.get(&view(&id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<ol id=\"transcript\""));
    let li = entry(&page, &first.id);
    assert!(li.contains("entry-end-user"), "{li}");
    assert!(li.contains("data-entry-type=\"Message\""), "{li}");
    assert!(
        li.contains("Hello from the SDK &lt;b&gt;not bold&lt;/b&gt;")
            || li.contains("Hello from the SDK &#60;b&#62;not bold&#60;/b&#62;"),
        "{li}"
    );
    let png = detail
        .entries
        .iter()
        .flat_map(|e| e.attachments.iter())
        .find(|a| a.name == "photo.png")
        .expect("png attachment");
    let html = detail
        .entries
        .iter()
        .flat_map(|e| e.attachments.iter())
        .find(|a| a.name == "page.html")
        .expect("html attachment");
    let png_href = format!("/lightning/r/Conversation/{id}/attachments/{}", png.id);
    let html_href = format!("/lightning/r/Conversation/{id}/attachments/{}", html.id);
    assert!(
        page.body
            .contains(&format!("<img src=\"{png_href}\" alt=\"photo.png\">")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<a href=\"{html_href}\" download>page.html</a>")),
        "{}",
        page.body
    );
    assert!(text(&page.body).contains("my photo"));
    assert!(!page
        .body
        .contains("data-entry-type=\"TypingStartedIndicator\""));
    assert!(page.body.contains("data-entry-type=\"SessionStarted\""));
    assert!(page.body.contains("id=\"typing-indicator\""));
    assert!(
        page.body.contains("data-now=")
            && page.body.contains(" hidden>console-end-user is typing…"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"live-announcer\""));
    assert!(page.body.contains("role=\"log\" aria-live=\"polite\""));
    assert!(page
        .body
        .contains("<form id=\"reply-form\" method=\"post\""));
    assert!(page.body.contains(">End conversation</button>"));
    // The sample CCD is routed by Salesforce: no routing form.
    assert!(!page.body.contains("id=\"routing-form\""));
    // The fragment the script fetches carries the same transcript.
    let parts = c
        .get(&format!("/lightning/r/Conversation/{id}/transcript"))
        .await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(parts
        .body
        .contains(&format!("data-entry-id=\"{}\"", first.id)));
    assert!(parts.body.contains("id=\"conversation-facts\""));
    assert!(!parts.body.contains("<html"));

    // Attachments: an allowed image as itself, inline (or a download when asked); anything else
    // as bytes to download, never as HTML; never sniffed.
    let img = c.get(&png_href).await;
    assert_eq!(img.status, StatusCode::OK);
    assert_eq!(img.headers["content-type"], "image/png");
    assert_eq!(
        img.headers["content-disposition"],
        "inline; filename=\"photo.png\""
    );
    assert_eq!(img.headers["x-content-type-options"], "nosniff");
    let bytes = reqwest::Client::new()
        .get(format!("{}{png_href}", c.base))
        .header("Cookie", format!("sid={}", c.sid.clone().unwrap()))
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(&bytes[..], PNG);
    let download = c.get(&format!("{png_href}?download=1")).await;
    assert_eq!(
        download.headers["content-disposition"],
        "attachment; filename=\"photo.png\""
    );
    let file = c.get(&html_href).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers["content-type"], "application/octet-stream");
    assert_eq!(
        file.headers["content-disposition"],
        "attachment; filename=\"page.html\""
    );
    assert_eq!(file.headers["x-content-type-options"], "nosniff");
    assert_eq!(file.body, "<script>alert(1)</script>");
    assert_eq!(page_file.conversation_identifier, id);
    // Another conversation's path, or no such attachment: not found.
    let other = p.send("someone-else", "hi").await;
    let p404 = c
        .get(&format!(
            "/lightning/r/Conversation/{other}/attachments/{}",
            png.id
        ))
        .await;
    assert_eq!(p404.status, StatusCode::NOT_FOUND);
    for hostile in ["nope", "%00", "..%2F..%2Fetc", &"x".repeat(300)] {
        let p = c
            .get(&format!(
                "/lightning/r/Conversation/{id}/attachments/{hostile}"
            ))
            .await;
        assert_eq!(
            p.status,
            StatusCode::NOT_FOUND,
            "{backend} {hostile}: {}",
            p.body
        );
    }

    // The reply form: text and a file, stored as the agent's entry and published as a platform
    // event a Pub/Sub subscriber receives.
    let sent = reply_form(
        &mut c,
        &id,
        "Hi from the console",
        Some(("answer.txt", "text/plain", b"the answer")),
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(sent.location.as_deref(), Some(view(&id).as_str()));
    let detail = api.conversation(&id).await.expect("detail");
    let reply = detail
        .entries
        .iter()
        .find(|e| e.text.as_deref() == Some("Hi from the console"))
        .expect("the reply is stored");
    assert_eq!(reply.sender.role.as_deref(), Some("Agent"));
    assert_eq!(reply.attachments.len(), 1);
    assert_eq!(reply.attachments[0].name, "answer.txt");
    assert_eq!(reply.attachments[0].mime_type, "text/plain");
    let settings = PubSubSettings {
        endpoint: server.org().pubsub_endpoint.clone(),
        ca_cert_pem: Some(std::fs::read_to_string(&server.org().ca_cert).expect("ca")),
        instance_url: server.org().instance_url.clone(),
        tenant_id: server.org().org_id.clone(),
    };
    let subscriber = Subscriber::connect(settings, Arc::new(StaticToken(p.token.clone())))
        .await
        .expect("connect");
    let mut subscription = subscriber.subscribe(TOPIC, Replay::Earliest, 10);
    // A guard against a hang, not a timing assertion.
    let published = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let event = subscription
                .next_event()
                .await
                .expect("event")
                .expect("stream open");
            let payload = event.fields["Payload__c"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if payload.contains(&reply.id) {
                return payload;
            }
        }
    })
    .await
    .expect("the reply's event");
    assert!(published.contains("Hi from the console"), "{published}");
    assert!(published.contains("answer.txt"), "{published}");

    // The page shows it as the agent's, sent; the end user's read receipt makes it Read.
    let page = c.get(&view(&id)).await;
    let li = entry(&page, &reply.id);
    assert!(li.contains("entry-agent"), "{li}");
    assert!(li.contains("<span class=\"entry-ack\">Sent</span>"), "{li}");
    assert!(li.contains("answer.txt"), "{li}");
    p.client
        .acknowledge(&AcknowledgementRequest {
            conversation_identifier: id.clone(),
            sender: Participant::new(AppType::Custom, from, ParticipantRole::EndUser),
            acknowledgements: vec![Acknowledgement::new(
                AcknowledgementType::Read,
                reply.id.clone(),
                byoc_client::interaction::new_id(),
                byoc_client::interaction::now_millis(),
            )],
        })
        .await
        .expect("read receipt");
    let page = c.get(&view(&id)).await;
    assert!(
        entry(&page, &reply.id).contains("<span class=\"entry-ack\">Read</span>"),
        "{}",
        entry(&page, &reply.id)
    );

    // The script's way: Accept: application/json gets the API's answer instead of a redirect.
    let token = page.csrf();
    let req = c
        .request(
            reqwest::Method::POST,
            &format!("/lightning/r/Conversation/{id}/reply"),
        )
        .header("Accept", "application/json")
        .multipart(
            Form::new()
                .text("_csrf", token.clone())
                .text("text", "by fetch"),
        );
    let json = c.send(req).await;
    assert_eq!(json.status, StatusCode::CREATED, "{}", json.body);
    let answer: serde_json::Value = serde_json::from_str(&json.body).expect("json");
    assert!(answer["entryIdentifier"].as_str().is_some(), "{answer}");
    // An empty reply is refused with the API's message, on the page, the status kept.
    let empty = reply_form(&mut c, &id, "   ", None).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.body);
    assert!(
        text(&empty.body)
            .contains("role=\"alert\">The reply has neither text nor an attachment.</div>"),
        "{}",
        empty.body
    );

    // Hostile conversation ids: not found, never a 500.
    for hostile in ["no-such-conversation", "%00", "a%0Ab", &"y".repeat(300)] {
        let p = c.get(&view(hostile)).await;
        assert_eq!(
            p.status,
            StatusCode::NOT_FOUND,
            "{backend} {hostile}: {}",
            p.body
        );
        let p = c
            .get(&format!("/lightning/r/Conversation/{hostile}/transcript"))
            .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{backend} {hostile}");
    }
    let token = c.get(LIST).await.csrf();
    let p = c
        .post_multipart(
            "/lightning/r/Conversation/no-such-conversation/reply",
            Form::new().text("_csrf", token.clone()).text("text", "hi"),
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.body);
    let p = c
        .post(
            "/lightning/r/Conversation/%00/end",
            &[("_csrf", token.as_str())],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.body);

    // End conversation: the session ends, the page says so, the list filters it as Ended.
    let p = c
        .submit(
            &view(&id),
            &format!("/lightning/r/Conversation/{id}/end"),
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = c.get(&view(&id)).await;
    assert!(
        text(&page.body).contains("The agent ended the conversation"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("data-entry-type=\"SessionStatusChanged\""));
    let ended = c.get(&format!("{LIST}?status=Ended")).await;
    assert!(ended.body.contains(&row_marker), "{}", ended.body);
    // Ending it again is refused as the API refuses it, with its status and words.
    let api_refusal = api.agent_end(&id).await.expect_err("no open session");
    let p = c
        .submit(
            &view(&id),
            &format!("/lightning/r/Conversation/{id}/end"),
            &[],
        )
        .await;
    assert_eq!(p.status.as_u16(), api_refusal.status().unwrap());
    assert!(
        text(&p.body).contains(&format!("role=\"alert\">{api_refusal}</div>")),
        "{api_refusal}: {}",
        p.body
    );

    server.stop().await.expect("stop");
}

#[tokio::test]
async fn a_user_without_the_messaging_permission_gets_the_apis_refusal() {
    let server = TestServer::start().await.expect("server");
    let p = Partner::new(&server).await;
    let id = p.send("refused-end-user", "hello").await;
    let mut std = crate::console_org::console_as(&server, "std-agent@example.com", vec![]).await;
    let org = server.org().clone();
    let as_std = byoc_client::AdminClient::new(&org.login_url, &org.admin_token)
        .expect("client")
        .act_as(Some("std-agent@example.com"));

    let read_refusal = as_std.conversation(&id).await.expect_err("read refused");
    for path in [
        LIST.to_string(),
        view(&id),
        format!("/lightning/r/Conversation/{id}/transcript"),
    ] {
        let page = std.get(&path).await;
        assert_eq!(
            page.status.as_u16(),
            read_refusal.status().unwrap(),
            "{path}"
        );
        assert!(!page.body.contains("data-conversation-id"), "{path}");
        if !path.ends_with("/transcript") {
            assert!(
                text(&page.body).contains(&format!("role=\"alert\">{read_refusal}</div>")),
                "{path}: {}",
                page.body
            );
        }
    }

    let work_refusal = as_std
        .agent_reply(&id, "not allowed")
        .await
        .expect_err("reply refused");
    let token = std.get(LIST).await.csrf();
    let page = std
        .post_multipart(
            &format!("/lightning/r/Conversation/{id}/reply"),
            Form::new()
                .text("_csrf", token.clone())
                .text("text", "not allowed"),
        )
        .await;
    assert_eq!(
        page.status.as_u16(),
        work_refusal.status().unwrap(),
        "{}",
        page.body
    );
    assert!(
        text(&page.body).contains(&format!("role=\"alert\">{work_refusal}</div>")),
        "{}",
        page.body
    );
    let page = std
        .post(
            &format!("/lightning/r/Conversation/{id}/end"),
            &[("_csrf", token.as_str())],
        )
        .await;
    assert_eq!(page.status.as_u16(), work_refusal.status().unwrap());
    // Nothing was stored or ended.
    let detail = server.admin().conversation(&id).await.expect("detail");
    assert!(detail
        .entries
        .iter()
        .all(|e| e.text.as_deref() != Some("not allowed")));
    assert_eq!(
        detail.conversation.session_status.as_deref(),
        Some("Active")
    );
    // Without the session's CSRF token, nothing happens at all.
    let mut admin = Console::admin(&server).await;
    let page = admin
        .post_multipart(
            &format!("/lightning/r/Conversation/{id}/reply"),
            Form::new().text("_csrf", "wrong").text("text", "forged"),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    server.stop().await.expect("stop");
}
