//! Setup > Messaging Settings: the channels list, *New Channel*, a channel's page with its
//! Conversation Channel Definition, and *Manage Conversation Channel Definition* (the help page
//! also calls it *Modify Conversation Channel Definition*), where the customer picks the External
//! Client App or connected app the CCD authorizes.
//!
//! Reads need what the admin API's reads need (*View Setup and Configuration*); writes go through
//! [`SetupService::create_channel`](crate::setup_service::SetupService::create_channel) and
//! [`SetupService::link_ccd`](crate::setup_service::SetupService::link_ccd) as the session's user.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use byoc_core::SetupAction;
use byoc_proto::admin::{LinkApp, NewChannel};
use byoc_proto::setup::{
    App, AppKind, AppManagedBy, ChannelType, ConversationChannelDefinition, MessagingChannel, Owner,
};

use super::{
    page, page_with_status, path_segment, refusal, refused_page, see_other, ConsoleSession,
    ConsoleState, Layout, PostedForm,
};
use crate::setup_service::{no_ccd, ServiceError};

const KEY: &str = "messaging";
const TITLE: &str = "Messaging Settings";
pub const HOME: &str = "/lightning/setup/LiveMessageSetup/home";
pub const NEW: &str = "/lightning/setup/LiveMessageSetup/new";

/// A channel's page.
pub fn channel_href(name: &str) -> String {
    format!(
        "/lightning/setup/LiveMessageSetup/{}/view",
        path_segment(name)
    )
}

/// *Manage Conversation Channel Definition* of a channel.
pub fn ccd_href(name: &str) -> String {
    format!(
        "/lightning/setup/LiveMessageSetup/{}/ccd",
        path_segment(name)
    )
}

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(HOME, get(list))
        .route(NEW, get(new_form).post(create))
        .route("/lightning/setup/LiveMessageSetup/{name}/view", get(show))
        .route(
            "/lightning/setup/LiveMessageSetup/{name}/ccd",
            get(ccd_form).post(link),
        )
}

/// Refuses a read the admin API would refuse, with its message.
#[allow(clippy::result_large_err)]
fn may_view(session: &ConsoleSession, title: &str) -> Result<(), Response> {
    session
        .actor
        .authorize(SetupAction::ViewSetup)
        .map_err(|e| refused_page(session, title, KEY, e.into()))
}

/// The channel named in the path. No channel's name holds a control character, and PostgreSQL
/// can't even compare text with NUL, so such a name is "not found" before any lookup (as the
/// admin API answers it on every backend).
async fn channel_named(state: &ConsoleState, name: &str) -> Result<MessagingChannel, ServiceError> {
    if name.chars().any(char::is_control) {
        return Err(byoc_core::SetupError::NotFound {
            kind: "Messaging channel",
            name: name.escape_debug().to_string(),
        }
        .into());
    }
    state.setup.channel(name).await
}

/// `yyyy-mm-dd hh:mm UTC` for a time in milliseconds since the epoch.
pub fn date_time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn owner(o: Owner) -> &'static str {
    match o {
        Owner::Salesforce => "Salesforce",
        Owner::Partner => "Partner",
    }
}

fn managed_by(m: AppManagedBy) -> &'static str {
    match m {
        AppManagedBy::Customer => "Customer",
        AppManagedBy::Partner => "Partner",
    }
}

// ---- list ----------------------------------------------------------------------------------

struct Row {
    name: String,
    href: String,
    developer_name: String,
    channel_type: &'static str,
    address: String,
    ccd: String,
    linked_app: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "console/org/messaging_list.html")]
struct ListPage {
    l: Layout,
    rows: Vec<Row>,
    new_href: &'static str,
}

async fn list(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Err(r) = may_view(&session, TITLE) {
        return r;
    }
    let channels = match state.setup.store().channels().await {
        Ok(c) => c,
        Err(e) => return refused_page(&session, TITLE, KEY, ServiceError::from(e)),
    };
    let rows = channels
        .iter()
        .map(|c| {
            let ccd = c.conversation_channel_definition.as_ref();
            Row {
                name: c.name.clone(),
                href: channel_href(&c.name),
                developer_name: c.developer_name.clone(),
                channel_type: c.channel_type.label(),
                address: c.channel_address_identifier.clone(),
                ccd: ccd.map(|d| d.developer_name.clone()).unwrap_or_default(),
                linked_app: ccd
                    .and_then(|d| d.linked_app.as_ref())
                    .map(|a| a.name.clone())
                    .unwrap_or_default(),
                active: c.is_active,
            }
        })
        .collect();
    page(&ListPage {
        l: Layout::new(&session, TITLE, KEY),
        rows,
        new_href: NEW,
    })
}

// ---- New Channel ---------------------------------------------------------------------------

/// What the *New Channel* form holds (kept as typed when the save is refused).
#[derive(Default)]
struct ChannelForm {
    name: String,
    channel_type: String,
    address: String,
    app_managed_by: String,
    routing_owner: String,
    consent_owner: String,
}

struct Choice {
    value: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "console/org/messaging_new.html")]
struct NewPage {
    l: Layout,
    f: ChannelForm,
    types: Vec<Choice>,
    error: Option<String>,
    action: &'static str,
    cancel: &'static str,
}

fn types() -> Vec<Choice> {
    ChannelType::ALL
        .iter()
        .map(|t| Choice {
            value: t.cli_name(),
            label: t.label(),
        })
        .collect()
}

fn new_page(session: &ConsoleSession, f: ChannelForm, error: Option<String>) -> NewPage {
    NewPage {
        l: Layout::new(session, "New Channel", KEY),
        f,
        types: types(),
        error,
        action: NEW,
        cancel: HOME,
    }
}

async fn new_form(session: ConsoleSession) -> Response {
    if let Err(r) = may_view(&session, "New Channel") {
        return r;
    }
    let f = ChannelForm {
        channel_type: ChannelType::ByocMessaging.cli_name().into(),
        app_managed_by: "customer".into(),
        ..ChannelForm::default()
    };
    page(&new_page(&session, f, None))
}

fn parse_owner(v: &str) -> Option<Owner> {
    match v {
        "salesforce" => Some(Owner::Salesforce),
        "partner" => Some(Owner::Partner),
        _ => None,
    }
}

async fn create(State(state): State<ConsoleState>, form: PostedForm) -> Response {
    let f = ChannelForm {
        name: form.get("name").to_string(),
        channel_type: form.get("channelType").to_string(),
        address: form.get("channelAddressIdentifier").to_string(),
        app_managed_by: form.get("appManagedBy").to_string(),
        routing_owner: form.get("routingOwner").to_string(),
        consent_owner: form.get("consentOwner").to_string(),
    };
    let is_byoc = ChannelType::from_cli_name(&f.channel_type).is_some_and(|t| t.is_byoc());
    // The CCD fields only mean something for BYOC types; the form shows them for every type
    // (no script needed), so they are ignored for the others, as Setup hides them.
    let input = NewChannel {
        name: f.name.clone(),
        channel_type: f.channel_type.clone(),
        channel_address_identifier: f.address.clone(),
        app_managed_by: match (is_byoc, f.app_managed_by.as_str()) {
            (true, "partner") => Some(AppManagedBy::Partner),
            (true, "customer") => Some(AppManagedBy::Customer),
            _ => None,
        },
        routing_owner: parse_owner(&f.routing_owner).filter(|_| is_byoc),
        consent_owner: parse_owner(&f.consent_owner).filter(|_| is_byoc),
        conversation_channel_definition: None,
    };
    match state
        .setup
        .create_channel(&form.session.actor, &input)
        .await
    {
        Ok(out) => see_other(&channel_href(&out.record.name)),
        Err(e) => {
            let (status, message) = refusal(e);
            page_with_status(status, &new_page(&form.session, f, Some(message)))
        }
    }
}

// ---- a channel's page ----------------------------------------------------------------------

struct CcdView {
    d: ConversationChannelDefinition,
    routing_owner: &'static str,
    consent_owner: &'static str,
    managed_by: &'static str,
    linked_app: Option<(String, String)>,
    /// The button shows only for a customer-managed CCD.
    manage_href: Option<String>,
    /// Why a partner-managed CCD can't be changed: the API's refusal.
    partner_message: Option<String>,
}

#[derive(Template)]
#[template(path = "console/org/messaging_channel.html")]
struct ChannelPage {
    l: Layout,
    c: MessagingChannel,
    channel_type: &'static str,
    created: String,
    ccd: Option<CcdView>,
    home: &'static str,
    /// The Setup Checklist for this channel.
    checklist_href: String,
}

/// The console page of an app the CCD names.
pub fn app_href(kind: AppKind, api_name: &str) -> String {
    match kind {
        AppKind::ExternalClientApp => super::apps::app_href(api_name),
        AppKind::ConnectedApp => super::connected_apps::app_href(api_name),
    }
}

fn ccd_view(c: &MessagingChannel) -> Option<CcdView> {
    let d = c.conversation_channel_definition.clone()?;
    let partner = d.connected_app_type == AppManagedBy::Partner;
    let partner_message = partner.then(|| refusal(byoc_core::setup::partner_managed(&d).into()).1);
    Some(CcdView {
        routing_owner: owner(d.routing_owner),
        consent_owner: owner(d.consent_owner),
        managed_by: managed_by(d.connected_app_type),
        linked_app: d.linked_app.as_ref().map(|a| {
            (
                format!("{} ({})", a.name, a.kind.label()),
                app_href(a.kind, &a.api_name),
            )
        }),
        manage_href: (!partner).then(|| ccd_href(&c.name)),
        partner_message,
        d,
    })
}

async fn show(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = may_view(&session, TITLE) {
        return r;
    }
    let c = match channel_named(&state, &name).await {
        Ok(c) => c,
        Err(e) => return refused_page(&session, TITLE, KEY, e),
    };
    page(&ChannelPage {
        l: Layout::new(&session, c.name.clone(), KEY),
        channel_type: c.channel_type.label(),
        created: date_time(c.created_at),
        ccd: ccd_view(&c),
        checklist_href: format!(
            "{}?{}",
            super::checklist::HOME,
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("channel", &c.name)
                .finish()
        ),
        c,
        home: HOME,
    })
}

// ---- Manage Conversation Channel Definition -------------------------------------------------

struct AppOption {
    value: String,
    label: String,
    /// A read-only (migrated) connected app: shown, not choosable.
    disabled: bool,
}

#[derive(Template)]
#[template(path = "console/org/messaging_ccd.html")]
struct CcdPage {
    l: Layout,
    channel: String,
    developer_name: String,
    ecas: Vec<AppOption>,
    connected_apps: Vec<AppOption>,
    selected: String,
    error: Option<String>,
    action: String,
    cancel: String,
}

fn options(apps: &[App]) -> Vec<AppOption> {
    let mut out: Vec<AppOption> = apps
        .iter()
        .map(|a| AppOption {
            value: a.api_name.clone(),
            label: match &a.read_only_reason {
                Some(r) => format!("{} (read-only: {r})", a.name),
                None => a.name.clone(),
            },
            disabled: a.read_only_reason.is_some(),
        })
        .collect();
    out.sort_by_key(|o| o.label.to_lowercase());
    out
}

async fn ccd_page(
    state: &ConsoleState,
    session: &ConsoleSession,
    c: &MessagingChannel,
    selected: String,
    error: Option<String>,
) -> Result<CcdPage, ServiceError> {
    let store = state.setup.store();
    let ecas = store.apps(AppKind::ExternalClientApp).await?;
    let cas = store.apps(AppKind::ConnectedApp).await?;
    let developer_name = c
        .conversation_channel_definition
        .as_ref()
        .map(|d| d.developer_name.clone())
        .unwrap_or_default();
    Ok(CcdPage {
        l: Layout::new(session, "Manage Conversation Channel Definition", KEY),
        channel: c.name.clone(),
        developer_name,
        ecas: options(&ecas),
        connected_apps: options(&cas),
        selected,
        error,
        action: ccd_href(&c.name),
        cancel: channel_href(&c.name),
    })
}

/// The CCD of channel `name`, or the page that says why there is none to manage (not a BYOC
/// channel; partner-managed — the API's own refusal text).
async fn manageable(
    state: &ConsoleState,
    session: &ConsoleSession,
    name: &str,
) -> Result<MessagingChannel, Response> {
    let title = "Manage Conversation Channel Definition";
    let c = channel_named(state, name)
        .await
        .map_err(|e| refused_page(session, title, KEY, e))?;
    match &c.conversation_channel_definition {
        // The API's answer for the CCD of a channel that has none.
        None => Err(refused_page(session, title, KEY, no_ccd(&c))),
        Some(d) if d.connected_app_type == AppManagedBy::Partner => Err(refused_page(
            session,
            title,
            KEY,
            byoc_core::setup::partner_managed(d).into(),
        )),
        Some(_) => Ok(c),
    }
}

async fn ccd_form(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = may_view(&session, "Manage Conversation Channel Definition") {
        return r;
    }
    let c = match manageable(&state, &session, &name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let selected = c
        .conversation_channel_definition
        .as_ref()
        .and_then(|d| d.linked_app.as_ref())
        .map(|a| a.api_name.clone())
        .unwrap_or_default();
    match ccd_page(&state, &session, &c, selected, None).await {
        Ok(p) => page(&p),
        Err(e) => refused_page(&session, TITLE, KEY, e),
    }
}

async fn link(
    State(state): State<ConsoleState>,
    Path(name): Path<String>,
    form: PostedForm,
) -> Response {
    let session = &form.session;
    let app = form.get("app").to_string();
    // The channel page's name resolves the CCD too (SetupService::link_ccd accepts either); a
    // partner-managed CCD is refused there with the API's message.
    let c = match channel_named(&state, &name).await {
        Ok(c) => c,
        Err(e) => return refused_page(session, "Manage Conversation Channel Definition", KEY, e),
    };
    let target = c
        .conversation_channel_definition
        .as_ref()
        .map(|d| d.developer_name.clone())
        .unwrap_or_else(|| c.name.clone());
    let result = if app.is_empty() {
        Err(ServiceError::Setup(byoc_core::SetupError::invalid(
            "app",
            "Select the External Client App or connected app you created.",
        )))
    } else {
        state
            .setup
            .link_ccd(&session.actor, &target, &LinkApp { app: app.clone() })
            .await
    };
    match result {
        Ok(_) => see_other(&channel_href(&c.name)),
        Err(e) => {
            let (status, message) = refusal(e);
            match ccd_page(&state, session, &c, app, Some(message.clone())).await {
                Ok(p) => page_with_status(status, &p),
                Err(_) => page_with_status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &super::RefusedPage {
                        l: Layout::new(session, TITLE, KEY),
                        message,
                    },
                ),
            }
        }
    }
}
