//! A small schema and dataset shared by the SOQL tests.
#![allow(dead_code)]

use byoc_soql::{Dataset, FieldDef, FieldType, ObjectDef, Row, Value};

pub const BASE: &str = "/services/data/v66.0/sobjects";

fn object(name: &str, prefix: &str, fields: Vec<FieldDef>) -> ObjectDef {
    ObjectDef {
        name: name.into(),
        label: name.into(),
        label_plural: format!("{name}s"),
        key_prefix: Some(prefix.into()),
        custom: false,
        queryable: true,
        createable: false,
        updateable: false,
        deletable: false,
        fields,
    }
}

pub fn schema() -> Vec<ObjectDef> {
    let mut description = FieldDef::new("Description", "Description", FieldType::Textarea);
    description.filterable = false;
    vec![
        object(
            "User",
            "005",
            vec![
                FieldDef::new("Id", "User ID", FieldType::Id),
                FieldDef::new("Username", "Username", FieldType::String),
                FieldDef::new("Name", "Full Name", FieldType::String),
                FieldDef::new("IsActive", "Active", FieldType::Boolean),
                FieldDef::new("LoginCount__c", "Logins", FieldType::Int),
                FieldDef::new("Score__c", "Score", FieldType::Double),
                FieldDef::new("CreatedDate", "Created Date", FieldType::Datetime),
                FieldDef::new("Birthday__c", "Birthday", FieldType::Date),
                FieldDef::reference("ProfileId", "Profile ID", "Profile", "Profile"),
                FieldDef::reference("ManagerId", "Manager ID", "User", "Manager"),
                description,
            ],
        ),
        object(
            "Profile",
            "00e",
            vec![
                FieldDef::new("Id", "Profile ID", FieldType::Id),
                FieldDef::new("Name", "Name", FieldType::String),
            ],
        ),
        object(
            "ConversationChannelDefinition",
            "0Zx",
            vec![
                FieldDef::new("Id", "Id", FieldType::Id),
                FieldDef::new("DeveloperName", "Developer Name", FieldType::String),
                FieldDef::reference(
                    "ConversationVendorInfoId",
                    "Vendor Info",
                    "ConversationVendorInfo",
                    "ConversationVendorInfo",
                ),
            ],
        ),
        object(
            "ConversationVendorInfo",
            "0Zy",
            vec![
                FieldDef::new("Id", "Id", FieldType::Id),
                FieldDef::new("DeveloperName", "Developer Name", FieldType::String),
                FieldDef::new("VendorType", "Vendor Type", FieldType::Picklist),
            ],
        ),
    ]
}

pub fn row(id: &str, values: &[(&str, Value)]) -> Row {
    Row {
        id: id.into(),
        values: values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .chain(std::iter::once((
                "Id".to_string(),
                Value::String(id.into()),
            )))
            .collect(),
    }
}

pub fn s(v: &str) -> Value {
    Value::String(v.into())
}

pub const ADMIN: &str = "00eXX0000000001AAA";
pub const AGENT: &str = "00eXX0000000002AAA";
pub const U1: &str = "005XX0000000001AAA";
pub const U2: &str = "005XX0000000002AAA";
pub const U3: &str = "005XX0000000003AAA";
pub const U4: &str = "005XX0000000004AAA";

pub fn dataset() -> Dataset {
    let mut data = Dataset::default();
    data.rows.insert(
        "Profile".into(),
        vec![
            row(ADMIN, &[("Name", s("System Administrator"))]),
            row(AGENT, &[("Name", s("Agent"))]),
        ],
    );
    data.rows.insert(
        "User".into(),
        vec![
            row(
                U1,
                &[
                    ("Username", s("admin@byoc.test")),
                    ("Name", s("Ada Admin")),
                    ("IsActive", Value::Bool(true)),
                    ("LoginCount__c", Value::Int(10)),
                    ("Score__c", Value::Double(1.5)),
                    ("CreatedDate", Value::DateTime(1_767_225_600_000)), // 2026-01-01T00:00:00Z
                    ("Birthday__c", Value::Date(0)),
                    ("ProfileId", s(ADMIN)),
                ],
            ),
            row(
                U2,
                &[
                    ("Username", s("bob@byoc.test")),
                    ("Name", s("bob builder")),
                    ("IsActive", Value::Bool(false)),
                    ("LoginCount__c", Value::Int(3)),
                    ("CreatedDate", Value::DateTime(1_767_312_000_000)), // 2026-01-02
                    ("ProfileId", s(AGENT)),
                    ("ManagerId", s(U1)),
                ],
            ),
            row(
                U3,
                &[
                    ("Username", s("carol@byoc.test")),
                    ("Name", s("Carol_100%")),
                    ("IsActive", Value::Bool(true)),
                    ("LoginCount__c", Value::Int(7)),
                    ("ProfileId", s(&AGENT[..15])),
                    ("ManagerId", s(U2)),
                ],
            ),
            row(
                U4,
                &[
                    ("Username", s("dan@byoc.test")),
                    ("Name", s("")),
                    ("IsActive", Value::Bool(true)),
                    ("ProfileId", Value::Null),
                ],
            ),
        ],
    );
    data.rows.insert(
        "ConversationVendorInfo".into(),
        vec![row(
            "0ZyXX0000000001AAA",
            &[("DeveloperName", s("Acme")), ("VendorType", s("BYOC"))],
        )],
    );
    data.rows.insert(
        "ConversationChannelDefinition".into(),
        vec![
            row(
                "0ZxXX0000000001AAA",
                &[
                    ("DeveloperName", s("Acme_Channel")),
                    ("ConversationVendorInfoId", s("0ZyXX0000000001AAA")),
                ],
            ),
            row(
                "0ZxXX0000000002AAA",
                &[
                    ("DeveloperName", s("Orphan")),
                    ("ConversationVendorInfoId", Value::Null),
                ],
            ),
        ],
    );
    data
}
