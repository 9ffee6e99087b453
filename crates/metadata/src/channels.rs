//! Conversation Channel Definitions and messaging channels.
//!
//! - `conversationChannelDefinitions/<DeveloperName>.ConversationChannelDefinition-meta.xml`
//!   (`ConversationChannelDefinition`, API 60.0+). The suffix is spelled with a capital C, as the
//!   reference page gives it: the `sf` CLI doesn't recognise the lower-case spelling (byoc reads
//!   both). Field names are written `Event__e.Field__c`, the form a working BYOC project deploys;
//!   bare `Field__c` is read too.
//! - `messagingChannels/<DeveloperName>.messagingChannel-meta.xml` (`MessagingChannel`, API 55.0+;
//!   `messagingChannelType` `Custom` = BYOC, API 61.0+). Salesforce's type describes Embedded
//!   Service, Voice and BYOC channels and has no element for a BYOC channel's address, its CCD or
//!   whether it is active; byoc adds those (see docs/metadata.md), so these files are byoc's
//!   reading of the type rather than files a real org would take as they are.

use byoc_proto::setup::{
    AppKind, AppManagedBy, AppRef, ChannelType, ConversationChannelDefinition, MessagingChannel,
    Owner,
};
use serde::{Deserialize, Serialize};

use crate::xml::{bool_text, ns, opt, Ctx};

pub(crate) const CCD: &str = "ConversationChannelDefinition";
pub(crate) const CHANNEL: &str = "MessagingChannel";

/// byoc's defaults for the two fields Salesforce's CCD metadata doesn't have (the Tooling API's
/// defaults, docs/rest-api.md): left out of the file when the CCD uses them.
pub(crate) const DEFAULT_CHANNEL_ADDRESS_FIELD: &str = "ChannelAddressIdentifier__c";
pub(crate) const DEFAULT_RECIPIENT_FIELD: &str = "Recipient__c";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct CcdXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connected_app_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consent_owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_event_channel_address_id_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_event_payload_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_event_recipient_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_event_type_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_platform_event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    developer_name: Option<String>,
    /// byoc: the API name of the customer's connected app linked to the CCD.
    #[serde(skip_serializing_if = "Option::is_none")]
    linked_connected_app: Option<String>,
    /// byoc: the API name of the customer's External Client App linked to the CCD.
    #[serde(skip_serializing_if = "Option::is_none")]
    linked_external_client_app: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    master_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    routing_owner: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct ChannelXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    /// byoc (MessagingChannel object's `ChannelAddressIdentifier`).
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_address_identifier: Option<String>,
    /// byoc (MessagingChannel object's `ChannelDefinition`): the CCD's developer name.
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_definition: Option<String>,
    /// byoc: the channel type as Messaging Settings names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_type: Option<String>,
    /// byoc (MessagingChannel object's `IsActive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    is_active: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    master_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messaging_channel_type: Option<String>,
}

const OWNERS: &[(&str, Owner)] = &[
    ("Salesforce", Owner::Salesforce),
    ("Partner", Owner::Partner),
];
const APP_TYPES: &[(&str, AppManagedBy)] = &[
    ("Partner", AppManagedBy::Partner),
    ("Customer", AppManagedBy::Customer),
];

fn owner_name(o: Owner) -> &'static str {
    match o {
        Owner::Salesforce => "Salesforce",
        Owner::Partner => "Partner",
    }
}

fn app_type_name(a: AppManagedBy) -> &'static str {
    match a {
        AppManagedBy::Partner => "Partner",
        AppManagedBy::Customer => "Customer",
    }
}

fn channel_type_name(t: ChannelType) -> String {
    format!("{t:?}")
}

/// `messagingChannelType` for a channel type, where Salesforce's type covers it.
fn messaging_channel_type(t: ChannelType) -> Option<&'static str> {
    match t {
        ChannelType::ByocMessaging | ChannelType::ByocCcaas => Some("Custom"),
        ChannelType::EnhancedWebChat | ChannelType::EnhancedInAppChat => Some("EmbeddedMessaging"),
        // "Third-party Messaging channels in Salesforce, such as WhatsApp and Facebook Messenger,
        // don't use this metadata type."
        _ => None,
    }
}

pub(crate) fn write_ccd(c: &ConversationChannelDefinition) -> (String, String) {
    let event = &c.custom_platform_event;
    let qualified = |f: &str| format!("{event}.{f}");
    let non_default = |f: &str, default: &str| (f != default).then(|| qualified(f));
    let (eca, ca) = match &c.linked_app {
        Some(a) if a.kind == AppKind::ExternalClientApp => (opt(&a.api_name), None),
        Some(a) => (None, opt(&a.api_name)),
        None => (None, None),
    };
    let x = CcdXml {
        xmlns: ns(),
        connected_app_type: Some(app_type_name(c.connected_app_type).into()),
        consent_owner: Some(owner_name(c.consent_owner).into()),
        custom_event_channel_address_id_field: non_default(
            &c.custom_event_channel_address_id_field,
            DEFAULT_CHANNEL_ADDRESS_FIELD,
        ),
        custom_event_payload_field: Some(qualified(&c.custom_event_payload_field)),
        custom_event_recipient_field: non_default(
            &c.custom_event_recipient_field,
            DEFAULT_RECIPIENT_FIELD,
        ),
        custom_event_type_field: Some(qualified(&c.custom_event_type_field)),
        custom_platform_event: Some(event.clone()),
        developer_name: Some(c.developer_name.clone()),
        linked_connected_app: ca,
        linked_external_client_app: eca,
        master_label: Some(c.master_label.clone()),
        routing_owner: Some(owner_name(c.routing_owner).into()),
        ..Default::default()
    };
    (
        format!(
            "conversationChannelDefinitions/{}.ConversationChannelDefinition-meta.xml",
            c.developer_name
        ),
        crate::xml::write(CCD, &x),
    )
}

pub(crate) fn write_channel(c: &MessagingChannel) -> (String, String) {
    let x = ChannelXml {
        xmlns: ns(),
        channel_address_identifier: opt(&c.channel_address_identifier),
        channel_definition: c
            .conversation_channel_definition
            .as_ref()
            .map(|d| d.developer_name.clone()),
        channel_type: Some(channel_type_name(c.channel_type)),
        is_active: bool_text(c.is_active),
        master_label: Some(c.name.clone()),
        messaging_channel_type: messaging_channel_type(c.channel_type).map(String::from),
        ..Default::default()
    };
    (
        format!(
            "messagingChannels/{}.messagingChannel-meta.xml",
            c.developer_name
        ),
        crate::xml::write(CHANNEL, &x),
    )
}

/// A CCD field element: `Event__e.Field__c` or `Field__c`, as the bare field name.
fn field_name(ctx: &mut Ctx<'_>, element: &str, event: Option<&str>, value: String) -> String {
    match value.rsplit_once('.') {
        Some((prefix, field)) => {
            if let Some(event) = event {
                if !prefix.eq_ignore_ascii_case(event) {
                    ctx.at(
                        element,
                        format!(
                            "{element} names {value}, a field of {prefix}, but customPlatformEvent is {event}"
                        ),
                    );
                }
            }
            field.to_string()
        }
        None => value,
    }
}

/// A CCD file. The linked app's id and label are left for the deploy engine (it knows the org's
/// apps); `name` carries the API name until then.
pub(crate) fn parse_ccd(ctx: &mut Ctx<'_>) -> Option<ConversationChannelDefinition> {
    let x: CcdXml = crate::xml::read(ctx, CCD)?;
    ctx.check_full_name("fullName", &x.full_name);
    ctx.check_full_name("developerName", &x.developer_name);
    let master_label = ctx.required("masterLabel", &x.master_label);
    let event = ctx.required("customPlatformEvent", &x.custom_platform_event);
    let payload = ctx.required("customEventPayloadField", &x.custom_event_payload_field);
    let type_field = ctx.required("customEventTypeField", &x.custom_event_type_field);
    let ev = event.as_deref();
    let payload = payload.map(|v| field_name(ctx, "customEventPayloadField", ev, v));
    let type_field = type_field.map(|v| field_name(ctx, "customEventTypeField", ev, v));
    let optional = |ctx: &mut Ctx<'_>, el: &str, v: &Option<String>, default: &str| match v
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => field_name(ctx, el, ev, s.to_string()),
        None => default.to_string(),
    };
    let address = optional(
        ctx,
        "customEventChannelAddressIdField",
        &x.custom_event_channel_address_id_field,
        DEFAULT_CHANNEL_ADDRESS_FIELD,
    );
    let recipient = optional(
        ctx,
        "customEventRecipientField",
        &x.custom_event_recipient_field,
        DEFAULT_RECIPIENT_FIELD,
    );
    // Salesforce's defaults when left out.
    let routing_owner = ctx
        .enumeration("routingOwner", "RoutingOwner", &x.routing_owner, OWNERS)
        .unwrap_or(Owner::Salesforce);
    let consent_owner = ctx
        .enumeration("consentOwner", "ConsentOwner", &x.consent_owner, OWNERS)
        .unwrap_or(Owner::Salesforce);
    let connected_app_type = ctx
        .enumeration(
            "connectedAppType",
            "CustomChannelConnectedAppType",
            &x.connected_app_type,
            APP_TYPES,
        )
        .unwrap_or(AppManagedBy::Partner);
    let trimmed = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let linked_app = match (
        trimmed(&x.linked_external_client_app),
        trimmed(&x.linked_connected_app),
    ) {
        (Some(_), Some(_)) => {
            ctx.at(
                "linkedExternalClientApp",
                "A Conversation Channel Definition links one app: linkedExternalClientApp or linkedConnectedApp, not both",
            );
            None
        }
        (Some(a), None) => Some(app_ref(AppKind::ExternalClientApp, a)),
        (None, Some(a)) => Some(app_ref(AppKind::ConnectedApp, a)),
        (None, None) => None,
    };
    if linked_app.is_some() && connected_app_type == AppManagedBy::Partner {
        ctx.at(
            "connectedAppType",
            "A linked customer app needs connectedAppType Customer",
        );
    }
    Some(ConversationChannelDefinition {
        id: String::new(),
        developer_name: ctx.full_name.clone(),
        master_label: master_label?,
        custom_platform_event: event?,
        custom_event_payload_field: payload?,
        custom_event_type_field: type_field?,
        custom_event_channel_address_id_field: address,
        custom_event_recipient_field: recipient,
        routing_owner,
        consent_owner,
        connected_app_type,
        linked_app,
        created_at: 0,
        last_modified_at: 0,
    })
}

fn app_ref(kind: AppKind, api_name: String) -> AppRef {
    AppRef {
        kind,
        id: String::new(),
        name: api_name.clone(),
        api_name,
    }
}

/// A channel file: the channel (without its CCD, which [`crate::parse`] attaches) and the
/// developer name of the CCD it names.
pub(crate) fn parse_channel(ctx: &mut Ctx<'_>) -> Option<(MessagingChannel, Option<String>)> {
    let x: ChannelXml = crate::xml::read(ctx, CHANNEL)?;
    ctx.check_full_name("fullName", &x.full_name);
    let label = ctx.required("masterLabel", &x.master_label);
    let from_messaging_type = ctx.enumeration(
        "messagingChannelType",
        "MessagingChannelType",
        &x.messaging_channel_type,
        &[
            ("Custom", Some(ChannelType::ByocMessaging)),
            ("EmbeddedMessaging", Some(ChannelType::EnhancedWebChat)),
            ("Voice", None),
        ],
    );
    let byoc_types: Vec<(String, ChannelType)> = ChannelType::ALL
        .into_iter()
        .map(|t| (channel_type_name(t), t))
        .collect();
    let byoc_types: Vec<(&str, ChannelType)> =
        byoc_types.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let from_byoc_type =
        ctx.enumeration("channelType", "ChannelType", &x.channel_type, &byoc_types);
    let channel_type = match (from_byoc_type, from_messaging_type) {
        (Some(t), _) => Some(t),
        (None, Some(Some(t))) => Some(t),
        (None, Some(None)) => {
            ctx.at(
                "messagingChannelType",
                "byoc doesn't emulate Service Cloud Voice channels",
            );
            None
        }
        (None, None) => {
            if x.channel_type.is_none() && x.messaging_channel_type.is_none() {
                ctx.problem("Required field is missing: messagingChannelType");
            }
            None
        }
    };
    let is_active = ctx.boolean("isActive", &x.is_active).unwrap_or(true);
    let ccd = x
        .channel_definition
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from);
    let channel_type = channel_type?;
    if ccd.is_some() && !channel_type.is_byoc() {
        ctx.at(
            "channelDefinition",
            "Only Bring Your Own Channel channels have a Conversation Channel Definition",
        );
    }
    Some((
        MessagingChannel {
            id: String::new(),
            name: label?,
            developer_name: ctx.full_name.clone(),
            channel_type,
            channel_address_identifier: x
                .channel_address_identifier
                .unwrap_or_default()
                .trim()
                .to_string(),
            is_active,
            conversation_channel_definition: None,
            created_at: 0,
        },
        ccd,
    ))
}
