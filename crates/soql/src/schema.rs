//! The objects and fields a query is checked against, as `describe` shows them.
//!
//! The server builds these (crates/server/src/rest/objects.rs) for the acting user: an object
//! the user may not see is simply absent, so a query on it gets `INVALID_TYPE` as in Salesforce.

use serde::Serialize;

/// A field's `type` in describe results (`soapType` follows from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Id,
    Reference,
    String,
    Textarea,
    Picklist,
    Email,
    Url,
    Boolean,
    Int,
    Double,
    Datetime,
    Date,
}

impl FieldType {
    /// The describe `soapType` (`tns:ID`, `xsd:string`, `xsd:boolean`, `xsd:int`, `xsd:double`,
    /// `xsd:dateTime`, `xsd:date`).
    pub fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Int => "xsd:int",
            FieldType::Double => "xsd:double",
            FieldType::Datetime => "xsd:dateTime",
            FieldType::Date => "xsd:date",
            _ => "xsd:string",
        }
    }
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// API name, canonical case (`VendorType`, `Payload__c`).
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    pub nillable: bool,
    pub custom: bool,
    /// Text length for string-like fields (0 otherwise).
    pub length: u32,
    pub filterable: bool,
    pub sortable: bool,
    /// For `Reference` fields: the object(s) it points to (`ConversationVendorInfo`).
    pub reference_to: Vec<String>,
    /// For `Reference` fields: the name used in a relationship path (`ConversationVendorInfo`
    /// for the field `ConversationVendorInfoId`).
    pub relationship_name: Option<String>,
    /// Picklist values, for describe.
    pub picklist_values: Vec<String>,
    pub createable: bool,
    pub updateable: bool,
}

impl FieldDef {
    /// A read-only, filterable, sortable field with no relationship.
    pub fn new(name: &str, label: &str, field_type: FieldType) -> FieldDef {
        FieldDef {
            name: name.to_string(),
            label: label.to_string(),
            field_type,
            nillable: !matches!(field_type, FieldType::Id | FieldType::Boolean),
            custom: name.ends_with("__c"),
            length: match field_type {
                FieldType::Id | FieldType::Reference => 18,
                FieldType::String | FieldType::Picklist | FieldType::Email | FieldType::Url => 255,
                FieldType::Textarea => 131_072,
                _ => 0,
            },
            filterable: true,
            sortable: !matches!(field_type, FieldType::Textarea),
            reference_to: vec![],
            relationship_name: None,
            picklist_values: vec![],
            createable: false,
            updateable: false,
        }
    }

    /// A lookup to `target` reachable in queries as `relationship.Field`.
    pub fn reference(name: &str, label: &str, target: &str, relationship: &str) -> FieldDef {
        FieldDef {
            reference_to: vec![target.to_string()],
            relationship_name: Some(relationship.to_string()),
            ..FieldDef::new(name, label, FieldType::Reference)
        }
    }
}

/// One sObject type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDef {
    /// API name, canonical case (`ConversationChannelDefinition`, `Byoc_Outbound__e`).
    pub name: String,
    pub label: String,
    pub label_plural: String,
    /// The 3-character id prefix (`keyPrefix`), if records have ids.
    pub key_prefix: Option<String>,
    pub custom: bool,
    pub queryable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    pub fields: Vec<FieldDef>,
}

impl ObjectDef {
    /// The field named `name`, compared case-insensitively as SOQL does.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The reference field whose relationship name is `relationship` (case-insensitive).
    pub fn relationship(&self, relationship: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| {
            f.relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(relationship))
        })
    }
}

/// The objects a query may name.
pub trait Schema {
    /// The object named `name` (case-insensitive), if the caller may query it.
    fn object(&self, name: &str) -> Option<&ObjectDef>;
}

impl Schema for [ObjectDef] {
    fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }
}

impl Schema for Vec<ObjectDef> {
    fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.as_slice().object(name)
    }
}
