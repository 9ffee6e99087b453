//! `byoc setup platform-event ...`: custom platform events and their fields (Setup > Platform
//! Events), through the admin API.
//!
//! - `create NAME [--label L] [--plural-label P] [--description D] [--publish-behavior B]`
//! - `list`, `show NAME` (fields with their types, and the Avro schema GetSchema answers),
//!   `delete NAME`
//! - `field add NAME FIELD --type T [--label L] [--length N] [--precision N] [--scale N]
//!   [--visible-lines N] [--required] [--default-value V] [--description D]`,
//!   `field update NAME FIELD [same flags]`, `field delete NAME FIELD`

use byoc_core::events::{avro_type, EventSchema};
use byoc_proto::admin::{CustomFieldInput, PlatformEventInput};
use byoc_proto::setup::{CustomField, FieldType, PlatformEventDefinition, PublishBehavior};
use clap::{Args, Subcommand, ValueEnum};

use crate::context::Context;
use crate::output::{fields, rfc3339, table_or, CliError, Output};

#[derive(Debug, Subcommand)]
pub enum PlatformEventCommand {
    /// Define a custom platform event (API name Name__e, or ns__Name__e with a namespace)
    Create(CreateArgs),
    /// List the org's custom platform events
    List,
    /// Show a platform event: its fields with their types and the Avro schema of its topic
    Show {
        /// API name (Acme_Outbound__e)
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Change a platform event's labels, description or publish behavior
    Update(UpdateArgs),
    /// Delete a platform event no CCD names
    Delete {
        /// API name
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Custom fields of a platform event
    #[command(subcommand)]
    Field(FieldCommand),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// API name: Name__e, or ns__Name__e with a namespace prefix
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub details: EventDetails,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// API name (fixed once created)
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub details: EventDetails,
}

#[derive(Debug, Args)]
pub struct EventDetails {
    /// Label [default on create: made from the API name]
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
    /// Plural label [default on create: the label]
    #[arg(long, value_name = "LABEL")]
    pub plural_label: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// When events are published from a transaction [default on create: after-commit]
    #[arg(long, value_enum, value_name = "WHEN")]
    pub publish_behavior: Option<PublishBehaviorArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PublishBehaviorArg {
    /// Publish After Commit
    AfterCommit,
    /// Publish Immediately
    Immediately,
}

impl From<PublishBehaviorArg> for PublishBehavior {
    fn from(value: PublishBehaviorArg) -> PublishBehavior {
        match value {
            PublishBehaviorArg::AfterCommit => PublishBehavior::PublishAfterCommit,
            PublishBehaviorArg::Immediately => PublishBehavior::PublishImmediately,
        }
    }
}

impl EventDetails {
    fn input(self, name: Option<String>) -> PlatformEventInput {
        PlatformEventInput {
            full_name: name,
            label: self.label,
            plural_label: self.plural_label,
            description: self.description,
            event_type: None,
            publish_behavior: self.publish_behavior.map(Into::into),
            fields: None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum FieldCommand {
    /// Add a custom field (it goes last in the event's schema)
    Add(FieldAddArgs),
    /// Change a custom field (its API name is fixed)
    Update(FieldUpdateArgs),
    /// Delete a custom field no CCD names
    Delete {
        /// The event's API name
        #[arg(value_name = "EVENT")]
        event: String,
        /// The field's API name
        #[arg(value_name = "FIELD")]
        field: String,
    },
}

#[derive(Debug, Args)]
pub struct FieldAddArgs {
    /// The event's API name
    #[arg(value_name = "EVENT")]
    pub event: String,
    /// The field's API name: Name__c, or ns__Name__c
    #[arg(value_name = "FIELD")]
    pub field: String,
    /// Text, LongTextArea, Number, Checkbox, DateTime or Date
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_field_type)]
    pub field_type: FieldType,
    #[command(flatten)]
    pub details: FieldDetails,
}

#[derive(Debug, Args)]
pub struct FieldUpdateArgs {
    /// The event's API name
    #[arg(value_name = "EVENT")]
    pub event: String,
    /// The field's API name
    #[arg(value_name = "FIELD")]
    pub field: String,
    /// A new type: Text, LongTextArea, Number, Checkbox, DateTime or Date
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_field_type)]
    pub field_type: Option<FieldType>,
    #[command(flatten)]
    pub details: FieldDetails,
}

#[derive(Debug, Args)]
pub struct FieldDetails {
    /// Field label [default on add: made from the API name]
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
    /// Text: 1-255 [255]; LongTextArea: 256-131072 [32768]
    #[arg(long, value_name = "N")]
    pub length: Option<u32>,
    /// Number: total digits, 1-18 [18]
    #[arg(long, value_name = "N")]
    pub precision: Option<u32>,
    /// Number: digits after the decimal point [0]
    #[arg(long, value_name = "N")]
    pub scale: Option<u32>,
    /// LongTextArea: lines of the edit box, 2-50 [3]
    #[arg(long, value_name = "N")]
    pub visible_lines: Option<u32>,
    /// A published event must have a value (not for Checkbox)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub required: Option<bool>,
    /// Checkbox: true or false [false]
    #[arg(long, value_name = "VALUE")]
    pub default_value: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Help text shown beside the field
    #[arg(long, value_name = "TEXT")]
    pub help_text: Option<String>,
}

impl FieldDetails {
    fn input(self, name: Option<String>, field_type: Option<FieldType>) -> CustomFieldInput {
        CustomFieldInput {
            full_name: name,
            label: self.label,
            field_type,
            length: self.length,
            precision: self.precision,
            scale: self.scale,
            visible_lines: self.visible_lines,
            required: self.required,
            default_value: self.default_value,
            description: self.description,
            inline_help_text: self.help_text,
        }
    }
}

/// `--type` values: the Metadata API's names (`LongTextArea`), case-insensitive, or Setup's
/// labels without spaces and punctuation (`DateTime`, `TextAreaLong`).
pub fn parse_field_type(value: &str) -> Result<FieldType, String> {
    let squashed: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    FieldType::parse(&squashed)
        .or_else(|| {
            FieldType::ALL.into_iter().find(|t| {
                t.label()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .eq_ignore_ascii_case(&squashed)
            })
        })
        .ok_or_else(|| {
            format!(
                "unknown field type '{value}'; platform event fields are {}",
                FieldType::ALL.map(FieldType::as_str).join(", ")
            )
        })
}

const HINT: &str = "List the org's platform events with `byoc setup platform-event list`.";

pub async fn execute(ctx: &Context, command: PlatformEventCommand) -> Result<Output, CliError> {
    let client = ctx.admin_client()?;
    let not_found = |name: &str| {
        let name = name.to_string();
        move |e: byoc_client::ClientError| CliError::from(e).hint_if_not_found(&name, HINT)
    };
    match command {
        PlatformEventCommand::Create(args) => {
            let saved = client
                .create_platform_event(&args.details.input(Some(args.name)))
                .await?;
            let text = format!("Created platform event.\n{}", event_text(&saved.record));
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        PlatformEventCommand::List => {
            let events = client.platform_events().await?;
            let rows: Vec<Vec<String>> = events
                .iter()
                .map(|e| {
                    vec![
                        e.full_name.clone(),
                        e.label.clone(),
                        e.fields.len().to_string(),
                        format!("/event/{}", e.full_name),
                    ]
                })
                .collect();
            let text = table_or(
                "No custom platform events.",
                &["API NAME", "LABEL", "FIELDS", "TOPIC"],
                &rows,
            );
            Output::new(&events, text)
        }
        PlatformEventCommand::Show { name } => {
            let event = client
                .platform_event(&name)
                .await
                .map_err(not_found(&name))?;
            Output::new(&event, event_text(&event))
        }
        PlatformEventCommand::Update(args) => {
            let saved = client
                .update_platform_event(&args.name, &args.details.input(None))
                .await
                .map_err(not_found(&args.name))?;
            let text = format!("Updated platform event.\n{}", event_text(&saved.record));
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        PlatformEventCommand::Delete { name } => {
            client
                .delete_platform_event(&name)
                .await
                .map_err(not_found(&name))?;
            Output::new(
                &serde_json::json!({ "deleted": name }),
                format!("Deleted platform event {name}."),
            )
        }
        PlatformEventCommand::Field(FieldCommand::Add(args)) => {
            let input = args
                .details
                .input(Some(args.field.clone()), Some(args.field_type));
            let saved = client
                .add_platform_event_field(&args.event, &input)
                .await
                .map_err(not_found(&args.event))?;
            let text = format!(
                "Added field {} to {}.\n{}",
                args.field,
                saved.record.full_name,
                event_text(&saved.record)
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        PlatformEventCommand::Field(FieldCommand::Update(args)) => {
            let input = args.details.input(None, args.field_type);
            let saved = client
                .update_platform_event_field(&args.event, &args.field, &input)
                .await
                .map_err(not_found(&args.event))?;
            let text = format!(
                "Updated field {} of {}.\n{}",
                args.field,
                saved.record.full_name,
                event_text(&saved.record)
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
        PlatformEventCommand::Field(FieldCommand::Delete { event, field }) => {
            let saved = client
                .delete_platform_event_field(&event, &field)
                .await
                .map_err(not_found(&event))?;
            let text = format!(
                "Deleted field {field} of {}.\n{}",
                saved.record.full_name,
                event_text(&saved.record)
            );
            Ok(Output::new(&saved, text)?.with_warnings(&saved.warnings))
        }
    }
}

/// What a field's type allows, in Setup's words: `Text(255)`, `Number(6, 2)`.
fn type_text(f: &CustomField) -> String {
    match f.field_type {
        FieldType::Text | FieldType::LongTextArea => {
            format!("{}({})", f.field_type.label(), f.length.unwrap_or_default())
        }
        FieldType::Number => format!(
            "Number({}, {})",
            f.precision.unwrap_or_default(),
            f.scale.unwrap_or_default()
        ),
        FieldType::Checkbox => format!(
            "Checkbox (default {})",
            f.default_value.as_deref().unwrap_or("false")
        ),
        t => t.label().to_string(),
    }
}

fn event_text(e: &PlatformEventDefinition) -> String {
    let mut out = format!("Platform Event: {}\n", e.full_name);
    out.push_str(&fields(
        2,
        &[
            ("ID", e.id.clone()),
            ("Label", e.label.clone()),
            ("Plural Label", e.plural_label.clone()),
            ("Description", e.description.clone()),
            ("Event Type", format!("{:?}", e.event_type)),
            ("Publish Behavior", format!("{:?}", e.publish_behavior)),
            ("Topic", format!("/event/{}", e.full_name)),
            ("Created", rfc3339(e.created_at)),
            ("Last Modified", rfc3339(e.last_modified_at)),
        ],
    ));
    let rows: Vec<Vec<String>> = e
        .fields
        .iter()
        .map(|f| {
            vec![
                f.full_name.clone(),
                f.label.clone(),
                type_text(f),
                format!("[\"null\",\"{}\"]", avro_type(f.field_type)),
                if f.required { "yes" } else { "" }.to_string(),
            ]
        })
        .collect();
    out.push_str("Custom Fields\n");
    out.push_str(&table_or(
        "  (none)",
        &["API NAME", "LABEL", "TYPE", "AVRO", "REQUIRED"],
        &rows,
    ));
    if let Ok(schema) = EventSchema::from_definition(e) {
        out.push_str(&format!("Schema ID: {}\n", schema.id()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_types_parse_by_metadata_name_or_setup_label() {
        assert_eq!(
            parse_field_type("longtextarea"),
            Ok(FieldType::LongTextArea)
        );
        assert_eq!(
            parse_field_type("Text Area (Long)"),
            Ok(FieldType::LongTextArea)
        );
        assert_eq!(parse_field_type("Date/Time"), Ok(FieldType::DateTime));
        assert_eq!(parse_field_type("Checkbox"), Ok(FieldType::Checkbox));
        let err = parse_field_type("Picklist").unwrap_err();
        for t in FieldType::ALL {
            assert!(err.contains(t.as_str()), "{err}");
        }
    }
}
