//! Custom platform events: `CustomObject` components whose name ends `__e`.
//!
//! Source format: `objects/<Name>__e/<Name>__e.object-meta.xml` and one
//! `objects/<Name>__e/fields/<Field>__c.field-meta.xml` per field. Fields nested in the object
//! file (`<fields>`, the Metadata API's own zip format, which many examples use) are read too.
//! Objects that aren't platform events (`__c`, standard objects) are skipped, as are their fields.

use byoc_proto::setup::{
    CustomField, FieldType, PlatformEventDefinition, PlatformEventType, PublishBehavior,
};
use serde::{Deserialize, Serialize};

use crate::xml::{bool_text, ns, opt, Ctx};

pub(crate) const OBJECT: &str = "CustomObject";
pub(crate) const FIELD: &str = "CustomField";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct ObjectXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deployment_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type: Option<String>,
    /// Only read (Metadata API format); source format keeps fields in their own files.
    #[serde(skip_serializing)]
    fields: Vec<FieldXml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plural_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    publish_behavior: Option<String>,
}

/// A field, in its own file (root `CustomField`) or nested in the object file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct FieldXml {
    #[serde(
        rename = "@xmlns",
        skip_deserializing,
        skip_serializing_if = "String::is_empty"
    )]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inline_help_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_filtering_disabled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_name_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_sorting_disabled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    precision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    field_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unique: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visible_lines: Option<String>,
}

const EVENT_TYPES: &[(&str, PlatformEventType)] = &[
    ("HighVolume", PlatformEventType::HighVolume),
    ("StandardVolume", PlatformEventType::StandardVolume),
];

const PUBLISH_BEHAVIORS: &[(&str, PublishBehavior)] = &[
    ("PublishAfterCommit", PublishBehavior::PublishAfterCommit),
    ("PublishImmediately", PublishBehavior::PublishImmediately),
];

const DEPLOYMENT_STATUSES: &[(&str, &str)] =
    &[("Deployed", "Deployed"), ("InDevelopment", "InDevelopment")];

fn event_type_name(t: PlatformEventType) -> &'static str {
    match t {
        PlatformEventType::HighVolume => "HighVolume",
        PlatformEventType::StandardVolume => "StandardVolume",
    }
}

fn publish_behavior_name(b: PublishBehavior) -> &'static str {
    match b {
        PublishBehavior::PublishAfterCommit => "PublishAfterCommit",
        PublishBehavior::PublishImmediately => "PublishImmediately",
    }
}

/// The object file and one file per field.
pub(crate) fn write(e: &PlatformEventDefinition) -> Vec<(String, String)> {
    let name = &e.full_name;
    let object = ObjectXml {
        xmlns: ns(),
        deployment_status: Some(if e.deployment_status.is_empty() {
            "Deployed".into()
        } else {
            e.deployment_status.clone()
        }),
        description: opt(&e.description),
        event_type: Some(event_type_name(e.event_type).into()),
        label: Some(e.label.clone()),
        plural_label: Some(e.plural_label.clone()),
        publish_behavior: Some(publish_behavior_name(e.publish_behavior).into()),
        ..Default::default()
    };
    let mut files = vec![(
        format!("objects/{name}/{name}.object-meta.xml"),
        crate::xml::write(OBJECT, &object),
    )];
    for f in &e.fields {
        files.push((
            format!("objects/{name}/fields/{}.field-meta.xml", f.full_name),
            crate::xml::write(FIELD, &field_xml(f)),
        ));
    }
    files
}

/// A field as `sf project retrieve` writes a platform event's field: `fullName` first, then the
/// elements in WSDL (alphabetical) order, with the flags Salesforce always writes for them.
fn field_xml(f: &CustomField) -> FieldXml {
    let t = f.field_type;
    let is = |types: &[FieldType]| types.contains(&t);
    FieldXml {
        xmlns: ns(),
        full_name: Some(f.full_name.clone()),
        default_value: f.default_value.clone(),
        description: opt(&f.description),
        external_id: bool_text(false),
        inline_help_text: opt(&f.inline_help_text),
        is_filtering_disabled: bool_text(false),
        is_name_field: bool_text(false),
        is_sorting_disabled: bool_text(false),
        label: Some(f.label.clone()),
        length: f.length.map(|n| n.to_string()),
        precision: f.precision.map(|n| n.to_string()),
        // A checkbox is never "required" (it is always true or false); a long text area can't be.
        required: (!is(&[FieldType::Checkbox, FieldType::LongTextArea]))
            .then(|| f.required.to_string()),
        scale: f.scale.map(|n| n.to_string()),
        field_type: Some(t.as_str().into()),
        unique: is(&[FieldType::Text, FieldType::Number]).then(|| "false".into()),
        visible_lines: f.visible_lines.map(|n| n.to_string()),
    }
}

/// An object file: the event (fields nested in the file included), or `None` with problems.
pub(crate) fn parse_object(ctx: &mut Ctx<'_>) -> Option<PlatformEventDefinition> {
    let x: ObjectXml = crate::xml::read(ctx, OBJECT)?;
    ctx.check_full_name("fullName", &x.full_name);
    let label = ctx.required("label", &x.label);
    let plural_label = ctx.required("pluralLabel", &x.plural_label);
    // New events are high volume; Setup no longer creates standard-volume ones.
    let event_type = ctx
        .enumeration("eventType", "PlatformEventType", &x.event_type, EVENT_TYPES)
        .unwrap_or(PlatformEventType::HighVolume);
    // Salesforce's default when the element is left out.
    let publish_behavior = ctx
        .enumeration(
            "publishBehavior",
            "PlatformEventPublishBehavior",
            &x.publish_behavior,
            PUBLISH_BEHAVIORS,
        )
        .unwrap_or(PublishBehavior::PublishImmediately);
    let deployment_status = ctx
        .enumeration(
            "deploymentStatus",
            "DeploymentStatus",
            &x.deployment_status,
            DEPLOYMENT_STATUSES,
        )
        .unwrap_or("Deployed");
    let mut fields = Vec::new();
    for f in &x.fields {
        match f.full_name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => {
                if let Some(field) = field(ctx, name, f) {
                    fields.push(field);
                }
            }
            _ => ctx.at("fields", "Required field is missing: fields.fullName"),
        }
    }
    Some(PlatformEventDefinition {
        id: String::new(),
        full_name: ctx.full_name.clone(),
        label: label?,
        plural_label: plural_label?,
        description: x.description.unwrap_or_default().trim().to_string(),
        event_type,
        publish_behavior,
        deployment_status: deployment_status.to_string(),
        fields,
        created_at: 0,
        last_modified_at: 0,
    })
}

/// A field file (`ctx.full_name` is the field's name); `None` with problems.
pub(crate) fn parse_field(ctx: &mut Ctx<'_>, object: &str) -> Option<CustomField> {
    let mut x: FieldXml = crate::xml::read(ctx, FIELD)?;
    // A field's full name is also written `Object__e.Field__c` (the Metadata API's own form).
    if let Some(declared) = x.full_name.as_deref() {
        if let Some((obj, field)) = declared.trim().split_once('.') {
            if obj == object {
                x.full_name = Some(field.to_string());
            }
        }
    }
    ctx.check_full_name("fullName", &x.full_name);
    let name = ctx.full_name.clone();
    field(ctx, &name, &x)
}

fn field(ctx: &mut Ctx<'_>, name: &str, x: &FieldXml) -> Option<CustomField> {
    let label = ctx.required("label", &x.label);
    let type_name = ctx.required("type", &x.field_type);
    let field_type = type_name.as_deref().and_then(|t| match FieldType::parse(t) {
        Some(ft) => Some(ft),
        None => {
            let known: Vec<&str> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
            ctx.at(
                "type",
                format!(
                    "Field {name}: '{t}' is not a field type byoc supports on platform events; supported: {}",
                    known.join(", ")
                ),
            );
            None
        }
    });
    let length = ctx.int("length", &x.length);
    let precision = ctx.int("precision", &x.precision);
    let scale = ctx.int("scale", &x.scale);
    let visible_lines = ctx.int("visibleLines", &x.visible_lines);
    let required = ctx.boolean("required", &x.required).unwrap_or(false);
    // Generated or fixed for platform event fields: read so a bad value is still reported.
    for (el, v) in [
        ("externalId", &x.external_id),
        ("isFilteringDisabled", &x.is_filtering_disabled),
        ("isNameField", &x.is_name_field),
        ("isSortingDisabled", &x.is_sorting_disabled),
        ("unique", &x.unique),
    ] {
        ctx.boolean(el, v);
    }
    Some(CustomField {
        full_name: name.to_string(),
        label: label?,
        field_type: field_type?,
        length,
        precision,
        scale,
        visible_lines,
        required,
        default_value: x
            .default_value
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
        description: x.description.clone().unwrap_or_default().trim().to_string(),
        inline_help_text: x
            .inline_help_text
            .clone()
            .unwrap_or_default()
            .trim()
            .to_string(),
    })
}
