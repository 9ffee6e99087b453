//! Custom platform events as setup objects (Setup > Platform Events): define an event, add,
//! change and remove its custom fields, delete it.
//!
//! The rules are Setup's and the Metadata API's (`CustomObject` with the `__e` suffix, its
//! `CustomField`s):
//! - API names: `Name__e` / `Name__c`, optionally with a namespace prefix (`acme__Name__e`); the
//!   name part begins with a letter, holds only letters, digits and single underscores, doesn't
//!   end with an underscore, and is at most 40 characters (Setup's *Object Name* / *Field Name*).
//!   Names are case-insensitive: `payload__c` and `Payload__c` are the same field.
//! - Labels and plural labels: at most 40 characters; a missing label is made from the API name
//!   (`Acme_Outbound__e` → `Acme Outbound`), a missing plural label is the label.
//! - Field types platform events allow: Text (length 1–255, default 255), Text Area (Long)
//!   (256–131,072, default 32,768; 2–50 visible lines, default 3; never required), Number
//!   (precision 1–18, default 18; scale 0–precision, default 0), Checkbox (default value `false`
//!   or `true`; never required), Date/Time, Date.
//! - New events are `HighVolume` (Salesforce stopped offering standard-volume events), published
//!   `PublishAfterCommit` unless asked otherwise.
//! - The API names of an event and of a field are fixed once created (CCDs and connectors name
//!   them).
//!
//! Who may: *Customize Application* ([`SetupAction::ManagePlatformEvents`]), as Setup requires
//! for custom objects. Whether a CCD still fits an event (its four fields exist and are text) is
//! checked by the caller, which has the CCDs: [`ccd_problem`]. A definition from elsewhere (a
//! metadata deploy) is checked whole with [`check_definition`].

use byoc_proto::admin::{CustomFieldInput, PlatformEventInput};
use byoc_proto::setup::{
    ConversationChannelDefinition, CustomField, FieldChange, FieldType, PlatformEventDefinition,
    PlatformEventType, PublishBehavior,
};

use super::{section, validate_chars, Outcome};
use crate::audit;
use crate::ids;
use crate::permissions::{Actor, SetupAction};
use crate::SetupError;

/// Setup's *Object Name* and *Field Name*: at most 40 characters (without the suffix and the
/// namespace prefix).
pub const MAX_NAME_CHARS: usize = 40;
/// Setup's *Label* and *Plural Label* of a custom object or field.
pub const MAX_LABEL_CHARS: usize = 40;
/// A custom object's or field's Description.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// A custom field's Help Text.
pub const MAX_HELP_TEXT_CHARS: usize = 510;
/// A namespace prefix.
pub const MAX_NAMESPACE_CHARS: usize = 15;
/// Text: 1 to 255 characters.
pub const MAX_TEXT_LENGTH: u32 = 255;
/// Text Area (Long): 256 to 131,072 characters.
pub const MIN_LONG_TEXT_LENGTH: u32 = 256;
pub const MAX_LONG_TEXT_LENGTH: u32 = 131_072;
/// Setup's default length of a new Text Area (Long).
pub const DEFAULT_LONG_TEXT_LENGTH: u32 = 32_768;
/// Number: at most 18 digits.
pub const MAX_PRECISION: u32 = 18;
/// The custom fields one platform event may have (byoc's limit; Salesforce's depends on the
/// edition).
pub const MAX_FIELDS: usize = 100;
/// The key prefix of custom object (and so platform event) definitions.
pub const CUSTOM_OBJECT_KEY_PREFIX: &str = "01I";

const NAME_RULE: &str = "can only contain underscores and alphanumeric characters. It must begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores";

/// Check an API name with its suffix (`__e` or `__c`): `Name__e` or `ns__Name__e`.
pub fn check_api_name(
    field: &'static str,
    what: &str,
    value: &str,
    suffix: &str,
) -> Result<String, SetupError> {
    let v = value.trim();
    let example = if suffix == "__e" {
        "Acme_Outbound__e"
    } else {
        "Payload__c"
    };
    let Some(stem) = v.strip_suffix(suffix) else {
        return Err(SetupError::invalid(
            field,
            format!("The {what} {v:?} must end in {suffix}, such as {example}."),
        ));
    };
    let (namespace, base) = match stem.split_once("__") {
        Some((ns, base)) => (Some(ns), base),
        None => (None, stem),
    };
    if let Some(ns) = namespace {
        if !ids::is_valid_api_name(ns) || ns.len() > MAX_NAMESPACE_CHARS {
            return Err(SetupError::invalid(
                field,
                format!("The namespace prefix {ns:?} of {v:?} isn't valid: it {NAME_RULE}, and has at most {MAX_NAMESPACE_CHARS} characters."),
            ));
        }
    }
    if !ids::is_valid_api_name(base) {
        return Err(SetupError::invalid(
            field,
            format!("The {what} {v:?} isn't valid: the name before {suffix} {NAME_RULE}."),
        ));
    }
    if base.len() > MAX_NAME_CHARS {
        return Err(SetupError::invalid(
            field,
            format!(
                "The {what} {v:?} is too long: the name before {suffix} can have at most {MAX_NAME_CHARS} characters."
            ),
        ));
    }
    Ok(v.to_string())
}

/// `Acme_Outbound__e` → `Acme Outbound` (a namespace prefix is left out).
fn label_from(name: &str, suffix: &str) -> String {
    let stem = name.strip_suffix(suffix).unwrap_or(name);
    let base = stem.split_once("__").map_or(stem, |(_, b)| b);
    let label = base.replace('_', " ");
    label.chars().take(MAX_LABEL_CHARS).collect()
}

fn label(field: &'static str, what: &str, value: &str) -> Result<String, SetupError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(SetupError::invalid(field, format!("{what} is required.")));
    }
    validate_chars(field, what, v, MAX_LABEL_CHARS, false)?;
    Ok(v.to_string())
}

fn description(
    field: &'static str,
    what: &str,
    value: &str,
    max: usize,
) -> Result<String, SetupError> {
    validate_chars(field, what, value, max, true)?;
    Ok(value.to_string())
}

/// A new platform event, with the fields the input lists.
pub fn create_platform_event(
    actor: &Actor,
    input: &PlatformEventInput,
    id: String,
    now: i64,
) -> Result<Outcome<PlatformEventDefinition>, SetupError> {
    actor.authorize(SetupAction::ManagePlatformEvents)?;
    let Some(name) = input.full_name.as_deref().filter(|n| !n.trim().is_empty()) else {
        return Err(SetupError::invalid(
            "fullName",
            "fullName is required: the event's API name, such as Acme_Outbound__e.",
        ));
    };
    let full_name = check_api_name("fullName", "platform event API name", name, "__e")?;
    if input.event_type == Some(PlatformEventType::StandardVolume) {
        return Err(SetupError::invalid(
            "eventType",
            "New platform events are high volume: Salesforce no longer creates standard-volume platform events (eventType HighVolume).",
        ));
    }
    let blank = PlatformEventDefinition {
        id,
        label: label_from(&full_name, "__e"),
        plural_label: String::new(),
        full_name,
        description: String::new(),
        event_type: PlatformEventType::HighVolume,
        publish_behavior: PublishBehavior::PublishAfterCommit,
        deployment_status: "Deployed".into(),
        fields: Vec::new(),
        created_at: now,
        last_modified_at: now,
    };
    let mut event = apply_event(&blank, input)?;
    if input.plural_label.is_none() {
        event.plural_label = event.label.clone();
    }
    for f in input.fields.iter().flatten() {
        let field = new_field(&event, f)?;
        event.fields.push(field);
    }
    check_field_count(&event)?;
    let audit = vec![audit::entry(
        now,
        &actor.user.username,
        section::CUSTOM_OBJECTS,
        format!("Created custom object: {}", event.full_name),
        audit::created(&event),
    )];
    Ok(Outcome::new(event, audit))
}

/// Change an event's labels, description, publish behavior.
pub fn update_platform_event(
    actor: &Actor,
    old: &PlatformEventDefinition,
    input: &PlatformEventInput,
    now: i64,
) -> Result<Outcome<PlatformEventDefinition>, SetupError> {
    actor.authorize(SetupAction::ManagePlatformEvents)?;
    if let Some(name) = &input.full_name {
        if !name.trim().eq_ignore_ascii_case(&old.full_name) {
            return Err(SetupError::NotAllowed(format!(
                "The API name of {} can't be changed: CCDs and connectors name it. Create another platform event instead.",
                old.full_name
            )));
        }
    }
    if input.fields.is_some() {
        return Err(SetupError::invalid(
            "fields",
            "Fields are added and changed one at a time: POST /admin/v1/platform-events/{name}/fields.",
        ));
    }
    if input.event_type == Some(PlatformEventType::StandardVolume)
        && old.event_type != PlatformEventType::StandardVolume
    {
        return Err(SetupError::invalid(
            "eventType",
            "A high-volume platform event can't become standard volume.",
        ));
    }
    let mut event = apply_event(old, input)?;
    let changes = audit::diff(old, &event);
    if changes.is_empty() {
        return Ok(Outcome::new(old.clone(), Vec::new()));
    }
    event.last_modified_at = now;
    let audit = audit::changed(
        now,
        &actor.user.username,
        section::CUSTOM_OBJECTS,
        format!("Changed custom object: {}", event.full_name),
        changes,
    );
    Ok(Outcome::new(event, audit))
}

/// Delete an event. The caller refuses first if a CCD names it.
pub fn delete_platform_event(
    actor: &Actor,
    old: &PlatformEventDefinition,
    now: i64,
) -> Result<Outcome<PlatformEventDefinition>, SetupError> {
    actor.authorize(SetupAction::ManagePlatformEvents)?;
    let audit = vec![audit::entry(
        now,
        &actor.user.username,
        section::CUSTOM_OBJECTS,
        format!("Deleted custom object: {}", old.full_name),
        vec![FieldChange {
            field: "fullName".into(),
            old_value: Some(old.full_name.clone()),
            new_value: None,
        }],
    )];
    Ok(Outcome::new(old.clone(), audit))
}

/// Add a custom field at the end of the event's fields (and so of its schema).
pub fn add_field(
    actor: &Actor,
    old: &PlatformEventDefinition,
    input: &CustomFieldInput,
    now: i64,
) -> Result<Outcome<PlatformEventDefinition>, SetupError> {
    actor.authorize(SetupAction::ManagePlatformEvents)?;
    let field = new_field(old, input)?;
    let mut event = old.clone();
    let audit = vec![audit::entry(
        now,
        &actor.user.username,
        section::CUSTOM_OBJECTS,
        format!(
            "Created custom field {} ({}) on {}",
            field.full_name,
            field.field_type.label(),
            old.full_name
        ),
        audit::created(&field),
    )];
    event.fields.push(field);
    check_field_count(&event)?;
    event.last_modified_at = now;
    Ok(Outcome::new(event, audit))
}

/// Change a custom field (its API name stays). The caller checks that CCDs naming it still fit.
pub fn update_field(
    actor: &Actor,
    old: &PlatformEventDefinition,
    field_name: &str,
    input: &CustomFieldInput,
    now: i64,
) -> Result<Outcome<PlatformEventDefinition>, SetupError> {
    actor.authorize(SetupAction::ManagePlatformEvents)?;
    let index = field_index(old, field_name)?;
    let current = &old.fields[index];
    if let Some(name) = &input.full_name {
        if !name.trim().eq_ignore_ascii_case(&current.full_name) {
            return Err(SetupError::NotAllowed(format!(
                "The API name of {}.{} can't be changed: CCDs and connectors name it. Add another field instead.",
                old.full_name, current.full_name
            )));
        }
    }
    let changed = apply_field(
        current,
        input,
        input.field_type.unwrap_or(current.field_type),
    )?;
    let changes = audit::diff(current, &changed);
    if changes.is_empty() {
        return Ok(Outcome::new(old.clone(), Vec::new()));
    }
    let audit = audit::changed(
        now,
        &actor.user.username,
        section::CUSTOM_OBJECTS,
        format!(
            "Changed custom field {} on {}",
            changed.full_name, old.full_name
        ),
        changes,
    );
    let mut event = old.clone();
    event.fields[index] = changed;
    event.last_modified_at = now;
    Ok(Outcome::new(event, audit))
}

/// Remove a custom field. The caller refuses first if a CCD names it.
pub fn delete_field(
    actor: &Actor,
    old: &PlatformEventDefinition,
    field_name: &str,
    now: i64,
) -> Result<Outcome<PlatformEventDefinition>, SetupError> {
    actor.authorize(SetupAction::ManagePlatformEvents)?;
    let index = field_index(old, field_name)?;
    let mut event = old.clone();
    let gone = event.fields.remove(index);
    event.last_modified_at = now;
    let audit = vec![audit::entry(
        now,
        &actor.user.username,
        section::CUSTOM_OBJECTS,
        format!(
            "Deleted custom field {} on {}",
            gone.full_name, old.full_name
        ),
        vec![FieldChange {
            field: "fullName".into(),
            old_value: Some(gone.full_name.clone()),
            new_value: None,
        }],
    )];
    Ok(Outcome::new(event, audit))
}

/// Check a whole definition as it comes from elsewhere (a metadata deploy) against the rules the
/// commands apply: the event's API name and labels, each field's name, type attributes and
/// uniqueness, the number of fields. The first problem, as the commands would word it.
pub fn check_definition(event: &PlatformEventDefinition) -> Result<(), SetupError> {
    check_api_name(
        "fullName",
        "platform event API name",
        &event.full_name,
        "__e",
    )?;
    label("label", "Label", &event.label)?;
    label("pluralLabel", "Plural Label", &event.plural_label)?;
    description(
        "description",
        "Description",
        &event.description,
        MAX_DESCRIPTION_CHARS,
    )?;
    let mut seen: Vec<String> = Vec::new();
    for f in &event.fields {
        check_api_name("fullName", "custom field API name", &f.full_name, "__c")?;
        let lower = f.full_name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(SetupError::Duplicate(format!(
                "The platform event {} already has a field named {}.",
                event.full_name, f.full_name
            )));
        }
        seen.push(lower);
        label("label", "Field Label", &f.label)?;
        description(
            "description",
            "Description",
            &f.description,
            MAX_DESCRIPTION_CHARS,
        )?;
        description(
            "inlineHelpText",
            "Help Text",
            &f.inline_help_text,
            MAX_HELP_TEXT_CHARS,
        )?;
        apply_field(f, &CustomFieldInput::default(), f.field_type)?;
    }
    check_field_count(event)
}

/// The index of a field by API name (case-insensitive).
pub fn field_index(event: &PlatformEventDefinition, field_name: &str) -> Result<usize, SetupError> {
    event
        .fields
        .iter()
        .position(|f| f.full_name.eq_ignore_ascii_case(field_name.trim()))
        .ok_or_else(|| SetupError::NotFound {
            kind: "Custom field",
            name: format!("{}.{}", event.full_name, field_name.trim()),
        })
}

/// What keeps `ccd` from publishing on `event`: one of its four fields is not a field of the
/// event, or is not a text field (the payload, type, channel address and recipient are text).
/// `None` when it fits.
/// Whether a CCD's field for `role` may be missing from its event: the channel-address and
/// recipient fields are byoc's additions (Salesforce's CCD names only the payload and type
/// fields), so left at their default names (`ChannelAddressIdentifier__c`, `Recipient__c`) on an
/// event without such fields, the event simply doesn't carry them. A name other than the
/// default must exist.
pub fn optional_ccd_field(role: &str, name: &str) -> bool {
    match role {
        "customEventChannelAddressIdField" => {
            name.eq_ignore_ascii_case(super::DEFAULT_CHANNEL_ADDRESS_ID_FIELD)
        }
        "customEventRecipientField" => name.eq_ignore_ascii_case(super::DEFAULT_RECIPIENT_FIELD),
        _ => false,
    }
}

pub fn ccd_problem(
    event: &PlatformEventDefinition,
    ccd: &ConversationChannelDefinition,
) -> Option<String> {
    let named = [
        ("customEventPayloadField", &ccd.custom_event_payload_field),
        ("customEventTypeField", &ccd.custom_event_type_field),
        (
            "customEventChannelAddressIdField",
            &ccd.custom_event_channel_address_id_field,
        ),
        (
            "customEventRecipientField",
            &ccd.custom_event_recipient_field,
        ),
    ];
    for (role, name) in named {
        if name.is_empty() {
            continue;
        }
        match event
            .fields
            .iter()
            .find(|f| f.full_name.eq_ignore_ascii_case(name))
        {
            None if optional_ccd_field(role, name) => {}
            None => {
                return Some(format!(
                    "The Conversation Channel Definition {} names {name} as its {role}, but the platform event {} has no field {name}. Add it (byoc setup platform-event field add {} {name} --type LongTextArea) or name one of its text fields.",
                    ccd.developer_name, event.full_name, event.full_name
                ))
            }
            Some(f) if !matches!(f.field_type, FieldType::Text | FieldType::LongTextArea) => {
                return Some(format!(
                    "The Conversation Channel Definition {} names {name} as its {role}, but {}.{name} is a {} field: it must be Text or Text Area (Long).",
                    ccd.developer_name,
                    event.full_name,
                    f.field_type.label()
                ))
            }
            Some(_) => {}
        }
    }
    None
}

fn check_field_count(event: &PlatformEventDefinition) -> Result<(), SetupError> {
    if event.fields.len() > MAX_FIELDS {
        return Err(SetupError::NotAllowed(format!(
            "{} would have {} custom fields; a platform event can have at most {MAX_FIELDS}.",
            event.full_name,
            event.fields.len()
        )));
    }
    Ok(())
}

/// `old` with the input's event-level values applied and checked.
fn apply_event(
    old: &PlatformEventDefinition,
    input: &PlatformEventInput,
) -> Result<PlatformEventDefinition, SetupError> {
    let mut event = old.clone();
    if let Some(v) = &input.label {
        event.label = label("label", "Label", v)?;
    }
    if let Some(v) = &input.plural_label {
        event.plural_label = label("pluralLabel", "Plural Label", v)?;
    }
    if let Some(v) = &input.description {
        event.description = description("description", "Description", v, MAX_DESCRIPTION_CHARS)?;
    }
    if let Some(v) = input.event_type {
        event.event_type = v;
    }
    if let Some(v) = input.publish_behavior {
        event.publish_behavior = v;
    }
    Ok(event)
}

/// A new field for `event` from the input: name and type required, the rest defaulted.
fn new_field(
    event: &PlatformEventDefinition,
    input: &CustomFieldInput,
) -> Result<CustomField, SetupError> {
    let Some(name) = input.full_name.as_deref().filter(|n| !n.trim().is_empty()) else {
        return Err(SetupError::invalid(
            "fullName",
            "fullName is required: the field's API name, such as Payload__c.",
        ));
    };
    let full_name = check_api_name("fullName", "custom field API name", name, "__c")?;
    if let Some(other) = event
        .fields
        .iter()
        .find(|f| f.full_name.eq_ignore_ascii_case(&full_name))
    {
        return Err(SetupError::Duplicate(format!(
            "The platform event {} already has a field named {}.",
            event.full_name, other.full_name
        )));
    }
    let Some(field_type) = input.field_type else {
        return Err(SetupError::invalid(
            "type",
            format!(
                "type is required: one of {}.",
                FieldType::ALL.map(FieldType::as_str).join(", ")
            ),
        ));
    };
    let blank = CustomField {
        label: label_from(&full_name, "__c"),
        full_name,
        field_type,
        length: None,
        precision: None,
        scale: None,
        visible_lines: None,
        required: false,
        default_value: None,
        description: String::new(),
        inline_help_text: String::new(),
    };
    apply_field(&blank, input, field_type)
}

/// `old` with the input applied, as a field of `field_type`: the attributes that type has are
/// kept or defaulted and checked, the others dropped.
fn apply_field(
    old: &CustomField,
    input: &CustomFieldInput,
    field_type: FieldType,
) -> Result<CustomField, SetupError> {
    let mut f = old.clone();
    let retyped = field_type != old.field_type;
    f.field_type = field_type;
    if let Some(v) = &input.label {
        f.label = label("label", "Field Label", v)?;
    }
    if let Some(v) = &input.description {
        f.description = description("description", "Description", v, MAX_DESCRIPTION_CHARS)?;
    }
    if let Some(v) = &input.inline_help_text {
        f.inline_help_text = description("inlineHelpText", "Help Text", v, MAX_HELP_TEXT_CHARS)?;
    }
    if let Some(v) = input.required {
        f.required = v;
    }
    // What the old type had and the new one doesn't mean anything for goes.
    let pick = |new: Option<u32>, old: Option<u32>| new.or(if retyped { None } else { old });
    let length = pick(input.length, old.length);
    let precision = pick(input.precision, old.precision);
    let scale = pick(input.scale, old.scale);
    let visible_lines = pick(input.visible_lines, old.visible_lines);
    let default_value = input.default_value.clone().or(if retyped {
        None
    } else {
        old.default_value.clone()
    });
    f.length = None;
    f.precision = None;
    f.scale = None;
    f.visible_lines = None;
    f.default_value = None;
    let not_for = |attr: &'static str| {
        SetupError::invalid(
            attr,
            format!("{attr} doesn't apply to a {} field.", field_type.label()),
        )
    };
    let name = &f.full_name;
    match field_type {
        FieldType::Text => {
            let n = length.unwrap_or(MAX_TEXT_LENGTH);
            if !(1..=MAX_TEXT_LENGTH).contains(&n) {
                return Err(SetupError::invalid(
                    "length",
                    format!("The length of the Text field {name} must be from 1 to {MAX_TEXT_LENGTH}; got {n}. Use Text Area (Long) for longer values."),
                ));
            }
            f.length = Some(n);
        }
        FieldType::LongTextArea => {
            let n = length.unwrap_or(DEFAULT_LONG_TEXT_LENGTH);
            if !(MIN_LONG_TEXT_LENGTH..=MAX_LONG_TEXT_LENGTH).contains(&n) {
                return Err(SetupError::invalid(
                    "length",
                    format!("The length of the Text Area (Long) field {name} must be from {MIN_LONG_TEXT_LENGTH} to {MAX_LONG_TEXT_LENGTH}; got {n}."),
                ));
            }
            let lines = visible_lines.unwrap_or(3);
            if !(2..=50).contains(&lines) {
                return Err(SetupError::invalid(
                    "visibleLines",
                    format!("The visible lines of {name} must be from 2 to 50; got {lines}."),
                ));
            }
            f.length = Some(n);
            f.visible_lines = Some(lines);
        }
        FieldType::Number => {
            let p = precision.unwrap_or(MAX_PRECISION);
            let s = scale.unwrap_or(0);
            if !(1..=MAX_PRECISION).contains(&p) {
                return Err(SetupError::invalid(
                    "precision",
                    format!("The precision of the Number field {name} must be from 1 to {MAX_PRECISION}; got {p}."),
                ));
            }
            if s > p {
                return Err(SetupError::invalid(
                    "scale",
                    format!("The scale of {name} ({s} decimal places) can't be more than its precision ({p} digits)."),
                ));
            }
            f.precision = Some(p);
            f.scale = Some(s);
        }
        FieldType::Checkbox => {
            let d = default_value.as_deref().unwrap_or("false").trim();
            f.default_value = Some(match d {
                d if d.eq_ignore_ascii_case("true") => "true".into(),
                d if d.eq_ignore_ascii_case("false") => "false".into(),
                other => {
                    return Err(SetupError::invalid(
                        "defaultValue",
                        format!("The default value of the Checkbox field {name} is true or false; got {other:?}."),
                    ))
                }
            });
            if f.required {
                return Err(SetupError::invalid(
                    "required",
                    format!(
                        "A Checkbox field ({name}) can't be required: it is always true or false."
                    ),
                ));
            }
        }
        FieldType::DateTime | FieldType::Date => {}
    }
    if f.required && field_type == FieldType::LongTextArea {
        return Err(SetupError::invalid(
            "required",
            format!("A Text Area (Long) field ({name}) can't be required."),
        ));
    }
    // Attributes given explicitly for a type that has none of them are an error, not ignored.
    let has = |attr: &str| match field_type {
        FieldType::Text => attr == "length",
        FieldType::LongTextArea => attr == "length" || attr == "visibleLines",
        FieldType::Number => attr == "precision" || attr == "scale",
        FieldType::Checkbox => attr == "defaultValue",
        FieldType::DateTime | FieldType::Date => false,
    };
    for (attr, given) in [
        ("length", input.length.is_some()),
        ("precision", input.precision.is_some()),
        ("scale", input.scale.is_some()),
        ("visibleLines", input.visible_lines.is_some()),
        ("defaultValue", input.default_value.is_some()),
    ] {
        if given && !has(attr) {
            return Err(not_for(attr));
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use byoc_proto::setup::{User, UserPermission};

    fn actor(permissions: &[UserPermission]) -> Actor {
        Actor {
            user: User {
                id: "005000000000001".into(),
                id18: "005000000000001AAA".into(),
                username: "admin@example.com".into(),
                email: "admin@example.com".into(),
                profile: "Standard User".into(),
                permission_sets: vec![],
                is_active: true,
                created_at: 0,
            },
            permissions: permissions.iter().copied().collect(),
        }
    }

    fn admin() -> Actor {
        actor(&[UserPermission::CustomizeApplication])
    }

    fn field(name: &str, t: FieldType) -> CustomFieldInput {
        CustomFieldInput {
            full_name: Some(name.into()),
            field_type: Some(t),
            ..CustomFieldInput::default()
        }
    }

    fn event(fields: Vec<CustomFieldInput>) -> PlatformEventDefinition {
        create_platform_event(
            &admin(),
            &PlatformEventInput {
                full_name: Some("acme__Outbound__e".into()),
                fields: Some(fields),
                ..PlatformEventInput::default()
            },
            "01I000000000001".into(),
            5,
        )
        .expect("create")
        .record
    }

    #[test]
    fn names_follow_setup_rules() {
        for good in ["Acme_Outbound__e", "acme__Outbound__e", "A1__e"] {
            assert!(check_api_name("f", "x", good, "__e").is_ok(), "{good}");
        }
        let forty = "A".repeat(40);
        let forty_one = "A".repeat(41);
        assert!(check_api_name("f", "x", &format!("{forty}__c"), "__c").is_ok());
        for bad in [
            "Outbound".to_string(),
            "Outbound__c".into(),
            "1Outbound__e".into(),
            "Out__bound__x__e".into(),
            "Outbound___e".into(),
            "Out bound__e".into(),
            "_Outbound__e".into(),
            format!("{forty_one}__e"),
            "abcdefghijklmnop__Outbound__e".into(),
        ] {
            let err = check_api_name("f", "x", &bad, "__e").expect_err(&bad);
            assert!(matches!(err, SetupError::InvalidField { .. }), "{bad}");
        }
    }

    #[test]
    fn a_new_event_gets_setup_defaults() {
        let e = event(vec![
            field("Payload__c", FieldType::LongTextArea),
            field("Amount__c", FieldType::Number),
            field("Urgent__c", FieldType::Checkbox),
        ]);
        assert_eq!(e.label, "Outbound");
        assert_eq!(e.plural_label, "Outbound");
        assert_eq!(e.event_type, PlatformEventType::HighVolume);
        assert_eq!(e.publish_behavior, PublishBehavior::PublishAfterCommit);
        assert_eq!(e.fields[0].length, Some(DEFAULT_LONG_TEXT_LENGTH));
        assert_eq!(e.fields[0].visible_lines, Some(3));
        assert_eq!(
            (e.fields[1].precision, e.fields[1].scale),
            (Some(18), Some(0))
        );
        assert_eq!(e.fields[2].default_value.as_deref(), Some("false"));
        assert_eq!(e.fields[2].label, "Urgent");
    }

    #[test]
    fn bad_fields_are_refused_with_reasons() {
        let cases: Vec<(CustomFieldInput, &str)> = vec![
            (
                CustomFieldInput {
                    length: Some(256),
                    ..field("A__c", FieldType::Text)
                },
                "from 1 to 255",
            ),
            (
                CustomFieldInput {
                    length: Some(200),
                    ..field("A__c", FieldType::LongTextArea)
                },
                "from 256 to 131072",
            ),
            (
                CustomFieldInput {
                    precision: Some(19),
                    ..field("A__c", FieldType::Number)
                },
                "from 1 to 18",
            ),
            (
                CustomFieldInput {
                    precision: Some(4),
                    scale: Some(5),
                    ..field("A__c", FieldType::Number)
                },
                "can't be more than its precision",
            ),
            (
                CustomFieldInput {
                    length: Some(10),
                    ..field("A__c", FieldType::Checkbox)
                },
                "length doesn't apply to a Checkbox field",
            ),
            (
                CustomFieldInput {
                    required: Some(true),
                    ..field("A__c", FieldType::Checkbox)
                },
                "can't be required",
            ),
            (
                CustomFieldInput {
                    field_type: None,
                    ..field("A__c", FieldType::Text)
                },
                "type is required",
            ),
            (field("A__e", FieldType::Text), "must end in __c"),
        ];
        for (input, expected) in cases {
            let err = create_platform_event(
                &admin(),
                &PlatformEventInput {
                    full_name: Some("E__e".into()),
                    fields: Some(vec![input]),
                    ..PlatformEventInput::default()
                },
                "01I000000000001".into(),
                5,
            )
            .expect_err(expected);
            assert!(err.to_string().contains(expected), "{err} / {expected}");
        }
    }

    #[test]
    fn whole_definitions_are_checked_like_the_commands_check_them() {
        let good = event(vec![
            field("Payload__c", FieldType::LongTextArea),
            field("Amount__c", FieldType::Number),
        ]);
        assert_eq!(check_definition(&good), Ok(()));
        let mut bad = good.clone();
        bad.fields[1].scale = Some(40);
        assert!(check_definition(&bad).is_err());
        let mut bad = good.clone();
        bad.fields[0].required = true;
        let err = check_definition(&bad).expect_err("required long text");
        assert!(err.to_string().contains("can't be required"), "{err}");
        let mut bad = good.clone();
        bad.fields[1].full_name = "PAYLOAD__c".into();
        assert!(matches!(
            check_definition(&bad),
            Err(SetupError::Duplicate(_))
        ));
        let mut bad = good;
        bad.full_name = "Not An Event".into();
        assert!(check_definition(&bad).is_err());
    }

    #[test]
    fn fields_are_unique_case_insensitively() {
        let e = event(vec![field("Payload__c", FieldType::Text)]);
        let err = add_field(&admin(), &e, &field("PAYLOAD__c", FieldType::Text), 6)
            .expect_err("duplicate");
        assert!(matches!(err, SetupError::Duplicate(_)), "{err}");
    }

    #[test]
    fn customize_application_is_required() {
        let err = create_platform_event(
            &actor(&[]),
            &PlatformEventInput {
                full_name: Some("E__e".into()),
                ..PlatformEventInput::default()
            },
            "01I000000000001".into(),
            5,
        )
        .expect_err("refused");
        assert!(matches!(err, SetupError::InsufficientAccess(_)));
        assert!(err.to_string().contains("Customize Application"), "{err}");
    }

    #[test]
    fn api_names_are_fixed_and_other_changes_are_audited() {
        let e = event(vec![field("Payload__c", FieldType::Text)]);
        let rename = CustomFieldInput {
            full_name: Some("Other__c".into()),
            ..CustomFieldInput::default()
        };
        assert!(update_field(&admin(), &e, "Payload__c", &rename, 6).is_err());
        let longer = CustomFieldInput {
            field_type: Some(FieldType::LongTextArea),
            length: Some(1000),
            ..CustomFieldInput::default()
        };
        let out = update_field(&admin(), &e, "payload__c", &longer, 6).expect("update");
        assert_eq!(out.record.fields[0].field_type, FieldType::LongTextArea);
        assert_eq!(out.record.fields[0].visible_lines, Some(3));
        assert_eq!(out.audit.len(), 1);
        let same = update_field(&admin(), &out.record, "Payload__c", &longer, 7).expect("same");
        assert!(same.audit.is_empty());
        let gone = delete_field(&admin(), &out.record, "PAYLOAD__C", 8).expect("delete");
        assert!(gone.record.fields.is_empty());
    }

    #[test]
    fn ccds_must_name_text_fields_of_the_event() {
        let e = event(vec![
            field("Payload__c", FieldType::LongTextArea),
            field("Type__c", FieldType::Text),
            field("Amount__c", FieldType::Number),
        ]);
        let mut ccd = ConversationChannelDefinition {
            id: "0Rz".into(),
            developer_name: "Acme".into(),
            master_label: "Acme".into(),
            custom_platform_event: e.full_name.clone(),
            custom_event_payload_field: "payload__c".into(),
            custom_event_type_field: "Type__c".into(),
            custom_event_channel_address_id_field: String::new(),
            custom_event_recipient_field: String::new(),
            routing_owner: byoc_proto::setup::Owner::Salesforce,
            consent_owner: byoc_proto::setup::Owner::Salesforce,
            connected_app_type: byoc_proto::setup::AppManagedBy::Customer,
            linked_app: None,
            created_at: 0,
            last_modified_at: 0,
        };
        assert_eq!(ccd_problem(&e, &ccd), None);
        ccd.custom_event_type_field = "Amount__c".into();
        let p = ccd_problem(&e, &ccd).expect("number");
        assert!(p.contains("Number"), "{p}");
        ccd.custom_event_type_field = "Missing__c".into();
        let p = ccd_problem(&e, &ccd).expect("missing");
        assert!(p.contains("has no field Missing__c"), "{p}");
    }
}
