//! Conversation Channel Definitions as records of their own: created (as a partner's package or
//! the Tooling API does) before any channel uses them, changed, deleted while unused.
//!
//! The rules are the ones `byoc setup channel create` and `byoc setup ccd set` apply to the CCD
//! a channel carries: Salesforce's API-name shapes for the platform event (`__e`) and its fields
//! (`__c`), owners `Salesforce` or `Partner`, app type `Partner` or `Customer`. Field names in
//! errors are the Tooling API's (`CustomPlatformEvent`, …), which is where these commands come
//! from.

use byoc_proto::setup::{AppManagedBy, ConversationChannelDefinition, Owner};

use super::{require_text, section, Outcome};
use crate::audit;
use crate::ids;
use crate::permissions::{Actor, SetupAction};
use crate::SetupError;

/// Salesforce's `MasterLabel` of metadata records.
pub const MAX_MASTER_LABEL_CHARS: usize = 80;
/// Salesforce's `DeveloperName` of metadata records.
pub const MAX_DEVELOPER_NAME_CHARS: usize = 40;

/// The fields a create or an update sets; `None` leaves a field as it is (on create: its
/// default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CcdInput {
    pub developer_name: Option<String>,
    pub master_label: Option<String>,
    pub custom_platform_event: Option<String>,
    pub custom_event_payload_field: Option<String>,
    pub custom_event_type_field: Option<String>,
    pub custom_event_channel_address_id_field: Option<String>,
    pub custom_event_recipient_field: Option<String>,
    /// `Salesforce` or `Partner`.
    pub routing_owner: Option<String>,
    /// `Salesforce` or `Partner`.
    pub consent_owner: Option<String>,
    /// `Partner` or `Customer`.
    pub connected_app_type: Option<String>,
}

/// The fields a new CCD must have: what Salesforce answers `REQUIRED_FIELD_MISSING` for.
pub fn missing_required(input: &CcdInput) -> Vec<&'static str> {
    let mut missing = Vec::new();
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
    if blank(&input.developer_name) {
        missing.push("DeveloperName");
    }
    if blank(&input.master_label) {
        missing.push("MasterLabel");
    }
    if blank(&input.custom_platform_event) {
        missing.push("CustomPlatformEvent");
    }
    if blank(&input.custom_event_payload_field) {
        missing.push("CustomEventPayloadField");
    }
    if blank(&input.custom_event_type_field) {
        missing.push("CustomEventTypeField");
    }
    missing
}

/// A new standalone CCD (no channel yet). Defaults as Salesforce documents them:
/// `ConnectedAppType` Partner, `RoutingOwner` and `ConsentOwner` Salesforce; the channel
/// address and recipient fields default to the names of the public BYOC samples.
pub fn create_ccd(
    actor: &Actor,
    input: &CcdInput,
    id: String,
    now: i64,
) -> Result<Outcome<ConversationChannelDefinition>, SetupError> {
    actor.authorize(SetupAction::ManageMessagingChannels)?;
    if let Some(field) = missing_required(input).first() {
        return Err(SetupError::invalid(field, format!("{field} is required.")));
    }
    let blank = ConversationChannelDefinition {
        id,
        developer_name: String::new(),
        master_label: String::new(),
        custom_platform_event: String::new(),
        custom_event_payload_field: String::new(),
        custom_event_type_field: String::new(),
        custom_event_channel_address_id_field: super::DEFAULT_CHANNEL_ADDRESS_ID_FIELD.into(),
        custom_event_recipient_field: super::DEFAULT_RECIPIENT_FIELD.into(),
        routing_owner: Owner::Salesforce,
        consent_owner: Owner::Salesforce,
        connected_app_type: AppManagedBy::Partner,
        linked_app: None,
        created_at: now,
        last_modified_at: now,
    };
    let ccd = apply(&blank, input)?;
    let audit = vec![audit::entry(
        now,
        &actor.user.username,
        section::MESSAGING,
        format!(
            "Created Conversation Channel Definition {}",
            ccd.developer_name
        ),
        audit::created(&ccd),
    )];
    Ok(Outcome {
        record: ccd,
        audit,
        warnings: Vec::new(),
    })
}

/// Change a CCD's fields. `used_by` names the channel that uses it: its developer name is then
/// fixed (the channel's conversations and the connector's `AuthorizationContext` name it).
pub fn update_ccd(
    actor: &Actor,
    old: &ConversationChannelDefinition,
    input: &CcdInput,
    used_by: Option<&str>,
    now: i64,
) -> Result<Outcome<ConversationChannelDefinition>, SetupError> {
    actor.authorize(SetupAction::ManageMessagingChannels)?;
    let mut new = apply(old, input)?;
    if let Some(channel) = used_by {
        if !new.developer_name.eq_ignore_ascii_case(&old.developer_name) {
            return Err(SetupError::invalid(
                "DeveloperName",
                format!(
                    "The messaging channel {channel} uses the Conversation Channel Definition {}: its DeveloperName can't change.",
                    old.developer_name
                ),
            ));
        }
    }
    if new.connected_app_type == AppManagedBy::Partner && new.linked_app.is_some() {
        // A partner-managed CCD authorizes the partner's packaged app, never the customer's.
        new.linked_app = None;
    }
    let mut changes = audit::diff(old, &new);
    if changes.is_empty() {
        return Ok(Outcome {
            record: old.clone(),
            audit: Vec::new(),
            warnings: Vec::new(),
        });
    }
    new.last_modified_at = now;
    changes.retain(|c| c.field != "lastModifiedAt");
    let audit = audit::changed(
        now,
        &actor.user.username,
        section::MESSAGING,
        format!(
            "Changed Conversation Channel Definition {}",
            old.developer_name
        ),
        changes,
    );
    Ok(Outcome {
        record: new,
        audit,
        warnings: Vec::new(),
    })
}

/// Delete a CCD no channel uses (the caller refuses a used one, naming the channel).
pub fn delete_ccd(
    actor: &Actor,
    old: &ConversationChannelDefinition,
    now: i64,
) -> Result<Outcome<ConversationChannelDefinition>, SetupError> {
    actor.authorize(SetupAction::ManageMessagingChannels)?;
    let audit = vec![audit::entry(
        now,
        &actor.user.username,
        section::MESSAGING,
        format!(
            "Deleted Conversation Channel Definition {}",
            old.developer_name
        ),
        deleted_fields(old),
    )];
    Ok(Outcome {
        record: old.clone(),
        audit,
        warnings: Vec::new(),
    })
}

/// The audit trail of a deletion names what went: the developer name and platform event.
fn deleted_fields(old: &ConversationChannelDefinition) -> Vec<byoc_proto::setup::FieldChange> {
    [
        ("developerName", &old.developer_name),
        ("customPlatformEvent", &old.custom_platform_event),
    ]
    .into_iter()
    .map(|(field, value)| byoc_proto::setup::FieldChange {
        field: field.into(),
        old_value: Some(value.clone()),
        new_value: None,
    })
    .collect()
}

/// `old` with the input's fields applied and validated.
fn apply(
    old: &ConversationChannelDefinition,
    input: &CcdInput,
) -> Result<ConversationChannelDefinition, SetupError> {
    let mut ccd = old.clone();
    if let Some(v) = &input.developer_name {
        let v = v.trim();
        if !ids::is_valid_api_name(v) || v.len() > MAX_DEVELOPER_NAME_CHARS {
            return Err(SetupError::invalid(
                "DeveloperName",
                format!("The DeveloperName {v:?} is not valid: it can contain only underscores and alphanumeric characters, must begin with a letter, not include spaces, not end with an underscore, not contain two consecutive underscores, and be at most {MAX_DEVELOPER_NAME_CHARS} characters."),
            ));
        }
        ccd.developer_name = v.to_string();
    }
    if let Some(v) = &input.master_label {
        let v = v.trim();
        require_text("MasterLabel", "MasterLabel", v)?;
        if v.chars().count() > MAX_MASTER_LABEL_CHARS {
            return Err(SetupError::invalid(
                "MasterLabel",
                format!("MasterLabel can be at most {MAX_MASTER_LABEL_CHARS} characters."),
            ));
        }
        ccd.master_label = v.to_string();
    }
    if let Some(v) = &input.custom_platform_event {
        ccd.custom_platform_event = custom_name("CustomPlatformEvent", v, "__e")?;
    }
    let fields: [(&'static str, &Option<String>, &mut String); 4] = [
        (
            "CustomEventPayloadField",
            &input.custom_event_payload_field,
            &mut ccd.custom_event_payload_field,
        ),
        (
            "CustomEventTypeField",
            &input.custom_event_type_field,
            &mut ccd.custom_event_type_field,
        ),
        (
            "CustomEventChannelAddressIdField",
            &input.custom_event_channel_address_id_field,
            &mut ccd.custom_event_channel_address_id_field,
        ),
        (
            "CustomEventRecipientField",
            &input.custom_event_recipient_field,
            &mut ccd.custom_event_recipient_field,
        ),
    ];
    for (field, value, slot) in fields {
        if let Some(v) = value {
            *slot = custom_name(field, v, "__c")?;
        }
    }
    if let Some(v) = &input.routing_owner {
        ccd.routing_owner = owner("RoutingOwner", v)?;
    }
    if let Some(v) = &input.consent_owner {
        ccd.consent_owner = owner("ConsentOwner", v)?;
    }
    if let Some(v) = &input.connected_app_type {
        ccd.connected_app_type = match v.trim() {
            "Partner" => AppManagedBy::Partner,
            "Customer" => AppManagedBy::Customer,
            other => {
                return Err(SetupError::invalid(
                    "ConnectedAppType",
                    format!("bad value for restricted picklist field: {other} (ConnectedAppType is Partner or Customer)"),
                ))
            }
        };
    }
    Ok(ccd)
}

fn owner(field: &'static str, value: &str) -> Result<Owner, SetupError> {
    match value.trim() {
        "Salesforce" => Ok(Owner::Salesforce),
        "Partner" => Ok(Owner::Partner),
        other => Err(SetupError::invalid(
            field,
            format!("bad value for restricted picklist field: {other} ({field} is Salesforce or Partner)"),
        )),
    }
}

/// A custom platform event or field API name: `Name__e` / `Name__c`, optionally with a
/// namespace prefix (`ns__Name__e`), as Setup shows them.
pub fn custom_name(field: &'static str, value: &str, suffix: &str) -> Result<String, SetupError> {
    let v = value.trim();
    let kind = if suffix == "__e" {
        "a platform event API name"
    } else {
        "a custom field API name"
    };
    let valid = v.strip_suffix(suffix).is_some_and(|stem| {
        let base = match stem.split_once("__") {
            Some((ns, base)) => ids::is_valid_api_name(ns).then_some(base),
            None => Some(stem),
        };
        base.is_some_and(ids::is_valid_api_name)
    });
    if valid {
        Ok(v.to_string())
    } else {
        Err(SetupError::invalid(
            field,
            format!(
                "{field} must be {kind} ending in {suffix}, such as {}; got {v:?}.",
                example(suffix)
            ),
        ))
    }
}

fn example(suffix: &str) -> &'static str {
    if suffix == "__e" {
        super::DEFAULT_PLATFORM_EVENT
    } else {
        super::DEFAULT_PAYLOAD_FIELD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_names_need_their_suffix_and_an_api_name() {
        assert!(custom_name("F", "Byoc_Outbound__e", "__e").is_ok());
        assert!(custom_name("F", "ns__Byoc_Outbound__e", "__e").is_ok());
        assert!(custom_name("F", "Payload__c", "__c").is_ok());
        for bad in [
            "Byoc_Outbound",
            "Byoc_Outbound__c",
            "__e",
            "a b__e",
            "x___e",
            "1x__e",
        ] {
            assert!(custom_name("F", bad, "__e").is_err(), "{bad}");
        }
    }

    #[test]
    fn required_fields_are_listed_in_order() {
        let input = CcdInput {
            developer_name: Some("X".into()),
            custom_platform_event: Some(" ".into()),
            ..CcdInput::default()
        };
        assert_eq!(
            missing_required(&input),
            [
                "MasterLabel",
                "CustomPlatformEvent",
                "CustomEventPayloadField",
                "CustomEventTypeField"
            ]
        );
    }
}
