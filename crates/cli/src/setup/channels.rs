//! `byoc setup channel ...` and `byoc setup ccd ...`: messaging channels and the Conversation
//! Channel Definitions of BYOC channels.

use byoc_proto::admin::{LinkApp, NewChannel};
use byoc_proto::setup::{
    AppManagedBy, ChannelType, ConversationChannelDefinition, MessagingChannel, Owner,
};
use clap::{Args, Subcommand, ValueEnum};

use crate::context::Context;
use crate::output::{fields, rfc3339, table_or, yes_no, CliError, Output};

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Create a messaging channel; BYOC types get a CCD whose developer name is printed
    Create(ChannelCreateArgs),
    /// List messaging channels with their types, addresses and CCDs
    List,
    /// Show a messaging channel and its CCD
    Show {
        /// Channel name
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ChannelCreateArgs {
    /// Channel name
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Channel type: byoc-messaging, byoc-ccaas, enhanced-web-chat, enhanced-in-app-chat,
    /// whatsapp, sms, facebook-messenger, apple-messages, line
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_channel_type)]
    pub channel_type: ChannelType,
    /// Channel address identifier (`channelAddressIdentifier` in the Interaction API)
    #[arg(long, value_name = "ADDR")]
    pub address: String,
    /// Who manages the app the CCD authorizes: customer (link your own ECA or connected app) or
    /// partner (the partner's packaged app)
    #[arg(long, value_enum, value_name = "WHO")]
    pub app_managed_by: Option<AppManagedByArg>,
    /// Who owns routing [default: salesforce for byoc-messaging, partner for byoc-ccaas]
    #[arg(long, value_enum, value_name = "OWNER")]
    pub routing_owner: Option<OwnerArg>,
    /// Who owns consent [default: salesforce for byoc-messaging, partner for byoc-ccaas]
    #[arg(long, value_enum, value_name = "OWNER")]
    pub consent_owner: Option<OwnerArg>,
    /// Build the channel on this existing CCD (developer name; one created through the Tooling
    /// API that no channel uses yet) instead of creating one; it brings its app type and owners
    #[arg(long, value_name = "DEVNAME", conflicts_with_all = ["app_managed_by", "routing_owner", "consent_owner"])]
    pub ccd: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CcdCommand {
    /// Link an External Client App or connected app to a customer-managed CCD
    Set {
        /// CCD developer name (a channel name is accepted too)
        #[arg(value_name = "DEVNAME")]
        developer_name: String,
        /// Name or API name of the External Client App or connected app
        #[arg(long, value_name = "NAME")]
        app: String,
    },
    /// Change a CCD's platform event and the event fields it fills (Setup's Edit of the
    /// definition); the event must have them as Text or Text Area (Long) fields
    Update {
        /// CCD developer name (a channel name is accepted too)
        #[arg(value_name = "DEVNAME")]
        developer_name: String,
        /// The custom platform event its agent replies are published on, Name__e
        #[arg(long, value_name = "EVENT")]
        platform_event: Option<String>,
        /// The event field that carries the payload (the InteractionEvent JSON)
        #[arg(long, value_name = "FIELD")]
        payload_field: Option<String>,
        /// The event field that carries the event type (`Interaction`)
        #[arg(long, value_name = "FIELD")]
        type_field: Option<String>,
        /// The event field that carries the channel address (optional on the event when left
        /// at ChannelAddressIdentifier__c)
        #[arg(long, value_name = "FIELD")]
        channel_address_field: Option<String>,
        /// The event field that carries the recipient (optional on the event when left at
        /// Recipient__c)
        #[arg(long, value_name = "FIELD")]
        recipient_field: Option<String>,
        /// Label shown in Setup
        #[arg(long, value_name = "LABEL")]
        label: Option<String>,
    },
    /// Show a CCD: platform event, event fields, owners, linked app
    Show {
        /// CCD developer name (a channel name is accepted too)
        #[arg(value_name = "DEVNAME")]
        developer_name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppManagedByArg {
    /// The customer links their own External Client App or connected app
    Customer,
    /// The partner's packaged app; the customer can't change it
    Partner,
}

impl From<AppManagedByArg> for AppManagedBy {
    fn from(value: AppManagedByArg) -> AppManagedBy {
        match value {
            AppManagedByArg::Customer => AppManagedBy::Customer,
            AppManagedByArg::Partner => AppManagedBy::Partner,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OwnerArg {
    Salesforce,
    Partner,
}

impl From<OwnerArg> for Owner {
    fn from(value: OwnerArg) -> Owner {
        match value {
            OwnerArg::Salesforce => Owner::Salesforce,
            OwnerArg::Partner => Owner::Partner,
        }
    }
}

/// `--type` values: the command-line names of [`ChannelType`].
pub fn parse_channel_type(value: &str) -> Result<ChannelType, String> {
    ChannelType::from_cli_name(value.trim()).ok_or_else(|| {
        let valid: Vec<&str> = ChannelType::ALL.iter().map(|t| t.cli_name()).collect();
        format!(
            "unknown channel type '{value}'; valid types: {}",
            valid.join(", ")
        )
    })
}

pub async fn channel(ctx: &Context, command: ChannelCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    match command {
        ChannelCommand::Create(args) => {
            let saved = client
                .create_channel(&NewChannel {
                    name: args.name,
                    channel_type: args.channel_type.cli_name().to_string(),
                    channel_address_identifier: args.address,
                    app_managed_by: args.app_managed_by.map(AppManagedBy::from),
                    routing_owner: args.routing_owner.map(Owner::from),
                    consent_owner: args.consent_owner.map(Owner::from),
                    conversation_channel_definition: args.ccd,
                })
                .await?;
            let ch = &saved.record;
            let mut text = format!(
                "Created messaging channel {} ({}), address {}.\n",
                ch.name,
                ch.channel_type.label(),
                ch.channel_address_identifier
            );
            match &ch.conversation_channel_definition {
                Some(ccd) => {
                    text.push_str(&format!(
                        "Conversation Channel Definition: {}\n",
                        ccd.developer_name
                    ));
                    if ccd.connected_app_type == AppManagedBy::Customer {
                        text.push_str(&format!(
                            "Next: link your app: byoc setup ccd set {} --app NAME\n",
                            ccd.developer_name
                        ));
                    }
                }
                None => text
                    .push_str("No Conversation Channel Definition: only BYOC channels have one.\n"),
            }
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        ChannelCommand::List => {
            let channels = client.channels().await?;
            let rows: Vec<Vec<String>> = channels
                .iter()
                .map(|ch| {
                    vec![
                        ch.name.clone(),
                        ch.channel_type.cli_name().to_string(),
                        ch.channel_address_identifier.clone(),
                        ch.conversation_channel_definition
                            .as_ref()
                            .map(|c| c.developer_name.clone())
                            .unwrap_or_else(|| "-".into()),
                        ch.conversation_channel_definition
                            .as_ref()
                            .and_then(|c| c.linked_app.as_ref())
                            .map(|a| a.name.clone())
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            let text = table_or(
                "No messaging channels yet.",
                &["Name", "Type", "Address", "CCD", "Linked App"],
                &rows,
            );
            Output::new(&channels, text)
        }
        ChannelCommand::Show { name } => {
            let channel = client.channel(&name).await.map_err(|e| {
                CliError::from(e)
                    .hint_if_not_found(&name, "list channels with `byoc setup channel list`")
            })?;
            Output::new(&channel, channel_text(&channel))
        }
    }
}

pub async fn ccd(ctx: &Context, command: CcdCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    let hint = "list channels and their CCDs with `byoc setup channel list`";
    match command {
        CcdCommand::Set {
            developer_name,
            app,
        } => {
            let saved = client
                .link_conversation_channel_definition_app(&developer_name, &LinkApp { app })
                .await
                .map_err(|e| CliError::from(e).hint_if_not_found(&developer_name, hint))?;
            let text = format!(
                "Updated messaging channel.\n{}",
                channel_text(&saved.record)
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        CcdCommand::Update {
            developer_name,
            platform_event,
            payload_field,
            type_field,
            channel_address_field,
            recipient_field,
            label,
        } => {
            let update = byoc_proto::admin::UpdateCcd {
                master_label: label,
                custom_platform_event: platform_event,
                custom_event_payload_field: payload_field,
                custom_event_type_field: type_field,
                custom_event_channel_address_id_field: channel_address_field,
                custom_event_recipient_field: recipient_field,
                routing_owner: None,
                consent_owner: None,
            };
            if update == byoc_proto::admin::UpdateCcd::default() {
                return Err(CliError::usage(
                    "nothing to change: give --platform-event, --payload-field, --type-field, --channel-address-field, --recipient-field or --label",
                ));
            }
            let saved = client
                .update_conversation_channel_definition(&developer_name, &update)
                .await
                .map_err(|e| CliError::from(e).hint_if_not_found(&developer_name, hint))?;
            let text = format!(
                "Updated Conversation Channel Definition {}.\n{}",
                saved.record.developer_name,
                ccd_fields(2, &saved.record)
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        CcdCommand::Show { developer_name } => {
            let ccd = client
                .conversation_channel_definition(&developer_name)
                .await
                .map_err(|e| CliError::from(e).hint_if_not_found(&developer_name, hint))?;
            let text = format!(
                "Conversation Channel Definition: {}\n{}",
                ccd.developer_name,
                ccd_fields(2, &ccd)
            );
            Output::new(&ccd, text)
        }
    }
}

fn owner(value: Owner) -> String {
    format!("{value:?}")
}

fn ccd_fields(indent: usize, ccd: &ConversationChannelDefinition) -> String {
    fields(
        indent,
        &[
            ("Developer Name", ccd.developer_name.clone()),
            ("Master Label", ccd.master_label.clone()),
            ("Custom Platform Event", ccd.custom_platform_event.clone()),
            ("Payload Field", ccd.custom_event_payload_field.clone()),
            ("Type Field", ccd.custom_event_type_field.clone()),
            (
                "Channel Address Id Field",
                ccd.custom_event_channel_address_id_field.clone(),
            ),
            ("Recipient Field", ccd.custom_event_recipient_field.clone()),
            ("Routing Owner", owner(ccd.routing_owner)),
            ("Consent Owner", owner(ccd.consent_owner)),
            (
                "Connected App Type",
                format!("{:?}", ccd.connected_app_type),
            ),
            (
                "Linked App",
                match &ccd.linked_app {
                    Some(app) => format!("{} {} ({})", app.kind.label(), app.name, app.api_name),
                    None => "(none)".to_string(),
                },
            ),
        ],
    )
}

fn channel_text(ch: &MessagingChannel) -> String {
    let mut out = format!("Messaging Channel: {}\n", ch.name);
    out.push_str(&fields(
        2,
        &[
            ("Developer Name", ch.developer_name.clone()),
            ("ID", ch.id.clone()),
            ("Type", ch.channel_type.label().to_string()),
            ("Channel Address", ch.channel_address_identifier.clone()),
            ("Active", yes_no(ch.is_active)),
            ("Created", rfc3339(ch.created_at)),
        ],
    ));
    match &ch.conversation_channel_definition {
        Some(ccd) => {
            out.push_str("Conversation Channel Definition\n");
            out.push_str(&ccd_fields(2, ccd));
        }
        None => out.push_str("Conversation Channel Definition: (none; not a BYOC channel)\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_types_parse_by_cli_name_and_unknown_ones_list_the_valid() {
        assert_eq!(parse_channel_type("byoc-ccaas"), Ok(ChannelType::ByocCcaas));
        let err = parse_channel_type("telegram").unwrap_err();
        for t in ChannelType::ALL {
            assert!(err.contains(t.cli_name()), "{err}");
        }
    }
}
