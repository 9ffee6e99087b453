//! A micro check of parse + plan + execute over 10,000 rows (no assertions on time):
//! `cargo run -p byoc-soql --example micro` prints the mean time per query for a few shapes.

use std::time::Instant;

use byoc_soql::{execute, parse, plan, Dataset, FieldDef, FieldType, ObjectDef, Row, Value};

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

fn main() {
    let schema = vec![
        object(
            "ConversationEntry",
            vec![
                FieldDef::new("Id", "Id", FieldType::Id),
                FieldDef::new("Message", "Message", FieldType::String),
                FieldDef::new("EntryType", "Type", FieldType::Picklist),
                FieldDef::new("Seq", "Seq", FieldType::Int),
                FieldDef::new("EntryTime", "Time", FieldType::Datetime),
                FieldDef::reference(
                    "ConversationId",
                    "Conversation",
                    "MessagingSession",
                    "Conversation",
                ),
            ],
        ),
        object(
            "MessagingSession",
            vec![
                FieldDef::new("Id", "Id", FieldType::Id),
                FieldDef::new("Name", "Name", FieldType::String),
            ],
        ),
    ];
    let mut data = Dataset::default();
    let sessions: Vec<Row> = (0..100)
        .map(|i| Row {
            id: format!("0MwXX{i:010}AAA"),
            values: [("Name".to_string(), Value::String(format!("Session {i}")))].into(),
        })
        .collect();
    let entries: Vec<Row> = (0..10_000)
        .map(|i| Row {
            id: format!("0XeXX{i:010}AAA"),
            values: [
                (
                    "Message".to_string(),
                    Value::String(format!("Hello number {i} from the customer")),
                ),
                (
                    "EntryType".to_string(),
                    Value::String(if i % 3 == 0 { "Text" } else { "Event" }.into()),
                ),
                ("Seq".to_string(), Value::Int(i)),
                (
                    "EntryTime".to_string(),
                    Value::DateTime(1_767_225_600_000 + i * 1000),
                ),
                (
                    "ConversationId".to_string(),
                    Value::String(format!("0MwXX{:010}AAA", i % 100)),
                ),
            ]
            .into(),
        })
        .collect();
    data.rows.insert("MessagingSession".into(), sessions);
    data.rows.insert("ConversationEntry".into(), entries);
    for q in [
        "SELECT COUNT() FROM ConversationEntry",
        "SELECT COUNT() FROM ConversationEntry WHERE EntryType = 'text'",
        "SELECT COUNT() FROM ConversationEntry WHERE Message LIKE '%number 9%'",
        "SELECT Id FROM ConversationEntry ORDER BY Message LIMIT 1",
        "SELECT Id, Message FROM ConversationEntry WHERE EntryType = 'text' LIMIT 2000",
        "SELECT Id, Message, Conversation.Name FROM ConversationEntry WHERE Message LIKE '%number 9%' ORDER BY EntryTime DESC LIMIT 200",
        "SELECT Id FROM ConversationEntry WHERE Conversation.Name = 'session 7' AND Seq > 100 ORDER BY Message",
        "SELECT Id, Message, EntryType, Seq, EntryTime, Conversation.Name FROM ConversationEntry",
    ] {
        let n = 20;
        let start = Instant::now();
        let mut size = 0;
        for _ in 0..n {
            let p = plan(&parse(q).unwrap(), &schema).unwrap();
            size = match execute(&p, &data, "/services/data/v66.0/sobjects").unwrap() {
                byoc_soql::QueryOutput::Count(c) => c,
                byoc_soql::QueryOutput::Records(r) => r.len(),
            };
        }
        println!("{:>8.2} ms  {size:>5} rows  {q}", start.elapsed().as_secs_f64() * 1000.0 / f64::from(n));
    }
}
