//! The SOQL engine (`byoc_soql::{parse, plan, execute}`) on any text: never a panic, every
//! refusal is one of Salesforce's codes with a message, and a marker is well formed.
#![no_main]

use byoc_soql::{Dataset, FieldDef, FieldType, ObjectDef, Row, Value};
use libfuzzer_sys::fuzz_target;

fn object(name: &str, fields: Vec<FieldDef>) -> ObjectDef {
    ObjectDef {
        name: name.into(),
        label: name.into(),
        label_plural: name.into(),
        key_prefix: None,
        custom: false,
        queryable: true,
        createable: false,
        updateable: false,
        deletable: false,
        fields,
    }
}

fn schema() -> Vec<ObjectDef> {
    vec![
        object(
            "User",
            vec![
                FieldDef::new("Id", "Id", FieldType::Id),
                FieldDef::new("Name", "Name", FieldType::String),
                FieldDef::new("IsActive", "Active", FieldType::Boolean),
                FieldDef::new("LoginCount__c", "Logins", FieldType::Int),
                FieldDef::new("Score__c", "Score", FieldType::Double),
                FieldDef::new("CreatedDate", "Created", FieldType::Datetime),
                FieldDef::new("Birthday__c", "Birthday", FieldType::Date),
                FieldDef::reference("ProfileId", "Profile", "Profile", "Profile"),
                FieldDef::reference("ManagerId", "Manager", "User", "Manager"),
            ],
        ),
        object(
            "Profile",
            vec![
                FieldDef::new("Id", "Id", FieldType::Id),
                FieldDef::new("Name", "Name", FieldType::String),
            ],
        ),
        object(
            "ConversationChannelDefinition",
            vec![
                FieldDef::new("Id", "Id", FieldType::Id),
                FieldDef::new("DeveloperName", "Name", FieldType::String),
                FieldDef::reference(
                    "ConversationVendorInfoId",
                    "Vendor",
                    "ConversationVendorInfo",
                    "ConversationVendorInfo",
                ),
            ],
        ),
        object(
            "ConversationVendorInfo",
            vec![
                FieldDef::new("Id", "Id", FieldType::Id),
                FieldDef::new("VendorType", "Type", FieldType::Picklist),
            ],
        ),
    ]
}

fn row(id: &str, values: &[(&str, Value)]) -> Row {
    Row {
        id: id.into(),
        values: values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

fn dataset() -> Dataset {
    let mut data = Dataset::default();
    data.rows.insert(
        "User".into(),
        vec![
            row(
                "005XX0000000001AAA",
                &[
                    ("Name", Value::String("Ada".into())),
                    ("IsActive", Value::Bool(true)),
                    ("LoginCount__c", Value::Int(3)),
                    ("ProfileId", Value::String("00eXX0000000001AAA".into())),
                    ("ManagerId", Value::String("005XX0000000002".into())),
                ],
            ),
            row(
                "005XX0000000002AAA",
                &[
                    ("Name", Value::String("ünï".into())),
                    ("Score__c", Value::Double(2.5)),
                ],
            ),
        ],
    );
    data.rows.insert(
        "Profile".into(),
        vec![row(
            "00eXX0000000001AAA",
            &[("Name", Value::String("Admin".into()))],
        )],
    );
    data
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let schema = schema();
    let result = byoc_soql::parse(&text)
        .and_then(|q| byoc_soql::plan(&q, &schema))
        .and_then(|p| byoc_soql::execute(&p, &dataset(), "/services/data/v66.0/sobjects"));
    if let Err(e) = result {
        assert!(!e.message.is_empty());
        assert!(!e.code.as_str().is_empty());
        if e.message.starts_with('\n') {
            assert!(e.message.contains("\nERROR at Row:"), "{}", e.message);
        }
    }
});
