//! Running queries: filters, ordering, paging, counts, nested parent records.

mod common;

use byoc_soql::{execute, parse, plan, QueryOutput};
use common::*;
use serde_json::{json, Value as Json};

fn run(q: &str) -> QueryOutput {
    let schema = schema();
    let query = parse(q).unwrap_or_else(|e| panic!("{q}: {}", e.message));
    let plan = plan(&query, &schema).unwrap_or_else(|e| panic!("{q}: {}", e.message));
    execute(&plan, &dataset(), BASE).unwrap()
}

fn records(q: &str) -> Json {
    serde_json::from_str(&text(q)).unwrap()
}

/// The records as JSON text, with the serializer's key order.
fn text(q: &str) -> String {
    match run(q) {
        QueryOutput::Records(r) => serde_json::to_string(&r).unwrap(),
        QueryOutput::Count(n) => panic!("{q}: count {n}"),
    }
}

/// One field of every record, in order.
fn column(q: &str, field: &str) -> Vec<Json> {
    records(q)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].clone())
        .collect()
}

fn names(q: &str) -> Vec<String> {
    column(q, "Username")
        .into_iter()
        .map(|v| {
            v.as_str()
                .unwrap()
                .trim_end_matches("@byoc.test")
                .to_string()
        })
        .collect()
}

#[test]
fn records_have_attributes_first_and_fields_in_select_order() {
    assert_eq!(
        text("SELECT Username, Id, isactive FROM user WHERE Username = 'admin@byoc.test'"),
        format!(
            r#"[{{"attributes":{{"type":"User","url":"{BASE}/User/{U1}"}},"Username":"admin@byoc.test","Id":"{U1}","IsActive":true}}]"#
        )
    );
}

#[test]
fn parent_relationships_nest_records_or_null() {
    let q = "SELECT DeveloperName, ConversationVendorInfo.VendorType, ConversationVendorInfo.DeveloperName FROM ConversationChannelDefinition ORDER BY DeveloperName";
    let r = records(q);
    assert_eq!(
        r,
        json!([
            {
                "attributes": {"type": "ConversationChannelDefinition", "url": format!("{BASE}/ConversationChannelDefinition/0ZxXX0000000001AAA")},
                "DeveloperName": "Acme_Channel",
                "ConversationVendorInfo": {
                    "attributes": {"type": "ConversationVendorInfo", "url": format!("{BASE}/ConversationVendorInfo/0ZyXX0000000001AAA")},
                    "VendorType": "BYOC",
                    "DeveloperName": "Acme"
                }
            },
            {
                "attributes": {"type": "ConversationChannelDefinition", "url": format!("{BASE}/ConversationChannelDefinition/0ZxXX0000000002AAA")},
                "DeveloperName": "Orphan",
                "ConversationVendorInfo": null
            }
        ])
    );
    // Key order inside the nested record follows the select list.
    assert!(text(q).contains(r#""VendorType":"BYOC","DeveloperName":"Acme""#));
}

#[test]
fn multi_level_paths_and_15_char_lookups() {
    let r = records("SELECT Username, Manager.Manager.Username, Profile.Name FROM User WHERE Manager.Manager.Username != null");
    assert_eq!(r.as_array().unwrap().len(), 1);
    assert_eq!(r[0]["Username"], "carol@byoc.test");
    assert_eq!(r[0]["Manager"]["Manager"]["Username"], "admin@byoc.test");
    assert_eq!(r[0]["Manager"]["attributes"]["type"], "User");
    // ProfileId stored as a 15-character id still finds its parent.
    assert_eq!(r[0]["Profile"]["Name"], "Agent");
}

#[test]
fn string_comparisons_are_case_insensitive() {
    assert_eq!(
        names("SELECT Username FROM User WHERE Name = 'BOB BUILDER'"),
        ["bob"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Name > 'b' ORDER BY Name"),
        ["bob", "carol"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Name IN ('ada admin', 'x')"),
        ["admin"]
    );
}

#[test]
fn like_is_case_insensitive_with_escapes() {
    assert_eq!(
        names("SELECT Username FROM User WHERE Name LIKE 'a%'"),
        ["admin"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Name LIKE '%B%'"),
        ["bob"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Name LIKE 'carol\\_100\\%'"),
        ["carol"]
    );
    assert!(names("SELECT Username FROM User WHERE Name LIKE 'carol\\_10\\%'").is_empty());
    assert_eq!(
        names("SELECT Username FROM User WHERE Username LIKE '_ob@%'"),
        ["bob"]
    );
}

#[test]
fn null_comparisons_and_empty_strings() {
    assert_eq!(
        names("SELECT Username FROM User WHERE Name = null"),
        ["dan"]
    );
    // An empty string is written as null too.
    assert_eq!(
        column("SELECT Name FROM User WHERE Username LIKE 'dan%'", "Name"),
        [Json::Null]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE ProfileId = NULL"),
        ["dan"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Name != null"),
        ["admin", "bob", "carol"]
    );
    // `!=` and NOT IN include nulls, as in SOQL.
    assert_eq!(
        names("SELECT Username FROM User WHERE Name != 'ada admin'"),
        ["bob", "carol", "dan"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE ManagerId NOT IN ('005XX0000000001')"),
        ["admin", "carol", "dan"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE ManagerId IN ('005XX0000000001', null)"),
        ["admin", "bob", "dan"]
    );
    assert!(
        names("SELECT Username FROM User WHERE LoginCount__c < 100 AND Name = null").is_empty()
    );
}

#[test]
fn ids_match_by_15_char_prefix_case_sensitively() {
    assert_eq!(
        names("SELECT Username FROM User WHERE Id = '005XX0000000002'"),
        ["bob"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Id = '005XX0000000002AAA'"),
        ["bob"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Id = '005XX0000000002ZZZ'"),
        ["bob"]
    );
    assert!(names("SELECT Username FROM User WHERE Id = '005xx0000000002AAA'").is_empty());
    assert_eq!(
        names(
            "SELECT Username FROM User WHERE ProfileId IN ('00eXX0000000002AAA') ORDER BY Username"
        ),
        ["bob", "carol"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Id >= '005XX0000000003'"),
        ["carol", "dan"]
    );
}

#[test]
fn numbers_booleans_and_dates() {
    assert_eq!(
        names("SELECT Username FROM User WHERE LoginCount__c >= 7"),
        ["admin", "carol"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE LoginCount__c < 7.5 AND LoginCount__c > -1"),
        ["bob", "carol"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Score__c = 1.5"),
        ["admin"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE IsActive = false"),
        ["bob"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE IsActive = TRUE AND LoginCount__c != null"),
        ["admin", "carol"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE CreatedDate = 2026-01-01T00:00:00Z"),
        ["admin"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE CreatedDate > 2026-01-01T00:00:00.000+0000"),
        ["bob"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE CreatedDate < 2026-01-01T01:00:00+01:00"),
        Vec::<String>::new()
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE CreatedDate <= 2026-01-01T01:00:00+01:00"),
        ["admin"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Birthday__c = 1970-01-01"),
        ["admin"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE Birthday__c > 1969-12-31"),
        ["admin"]
    );
}

#[test]
fn and_or_not_and_parentheses() {
    assert_eq!(
        names("SELECT Username FROM User WHERE (IsActive = true AND LoginCount__c > 5) OR Name LIKE 'bob%'"),
        ["admin", "bob", "carol"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE IsActive = true AND (LoginCount__c > 8 OR Name LIKE 'car%')"),
        ["admin", "carol"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE NOT IsActive = true"),
        ["bob"]
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE NOT (IsActive = true OR LoginCount__c = 3)"),
        Vec::<String>::new()
    );
    assert_eq!(
        names("SELECT Username FROM User WHERE IsActive = true AND NOT Name LIKE 'a%' AND LoginCount__c != null"),
        ["carol"]
    );
}

#[test]
fn order_by_directions_nulls_and_stability() {
    assert_eq!(
        names("SELECT Username FROM User ORDER BY LoginCount__c"),
        ["dan", "bob", "carol", "admin"]
    );
    assert_eq!(
        names("SELECT Username FROM User ORDER BY LoginCount__c DESC"),
        ["admin", "carol", "bob", "dan"]
    );
    assert_eq!(
        names("SELECT Username FROM User ORDER BY LoginCount__c ASC NULLS LAST"),
        ["bob", "carol", "admin", "dan"]
    );
    assert_eq!(
        names("SELECT Username FROM User ORDER BY LoginCount__c DESC NULLS FIRST"),
        ["dan", "admin", "carol", "bob"]
    );
    // Ties keep the rows' order (stable); a second key breaks them.
    assert_eq!(
        names("SELECT Username FROM User ORDER BY IsActive"),
        ["bob", "admin", "carol", "dan"]
    );
    assert_eq!(
        names("SELECT Username FROM User ORDER BY IsActive DESC, Username DESC"),
        ["dan", "carol", "admin", "bob"]
    );
    // Text sorts case-insensitively; through a relationship too.
    assert_eq!(
        names("SELECT Username FROM User ORDER BY Name DESC"),
        ["carol", "bob", "admin", "dan"]
    );
    assert_eq!(
        names("SELECT Username FROM User ORDER BY Profile.Name, Username"),
        ["dan", "bob", "carol", "admin"]
    );
}

#[test]
fn limit_and_offset() {
    assert_eq!(
        names("SELECT Username FROM User ORDER BY Username LIMIT 2"),
        ["admin", "bob"]
    );
    assert_eq!(
        names("SELECT Username FROM User ORDER BY Username LIMIT 2 OFFSET 1"),
        ["bob", "carol"]
    );
    assert_eq!(
        names("SELECT Username FROM User ORDER BY Username OFFSET 3"),
        ["dan"]
    );
    assert!(names("SELECT Username FROM User OFFSET 2000").is_empty());
    assert!(names("SELECT Username FROM User LIMIT 0").is_empty());
}

#[test]
fn count_all_is_a_count() {
    assert_eq!(run("SELECT COUNT() FROM User"), QueryOutput::Count(4));
    assert_eq!(
        run("select count() from user where IsActive = true"),
        QueryOutput::Count(3)
    );
    assert_eq!(
        run("SELECT COUNT() FROM User LIMIT 2"),
        QueryOutput::Count(2)
    );
    assert_eq!(
        run("SELECT COUNT() FROM User OFFSET 3"),
        QueryOutput::Count(1)
    );
}

#[test]
fn count_field_is_one_aggregate_result() {
    let r = records("SELECT COUNT(Id) FROM User");
    assert_eq!(
        r,
        json!([{"attributes": {"type": "AggregateResult"}, "expr0": 4}])
    );
    assert_eq!(
        text(
            "SELECT COUNT(Id) total, COUNT(ManagerId), COUNT(Name) FROM User WHERE IsActive = true"
        ),
        r#"[{"attributes":{"type":"AggregateResult"},"total":3,"expr0":1,"expr1":2}]"#
    );
    let r = records("SELECT COUNT(Profile.Name) n FROM User");
    assert_eq!(r[0]["n"], 3);
}

#[test]
fn rows_missing_or_keyed_in_another_case() {
    let schema = schema();
    let q = parse("SELECT Id FROM Profile").unwrap();
    let p = plan(&q, &schema).unwrap();
    assert_eq!(p.objects(), ["Profile"]);
    assert_eq!(
        execute(&p, &Default::default(), BASE).unwrap(),
        QueryOutput::Records(vec![])
    );
    let mut data = dataset();
    let rows = data.rows.remove("Profile").unwrap();
    data.rows.insert("profile".into(), rows);
    let QueryOutput::Records(r) = execute(&p, &data, BASE).unwrap() else {
        panic!()
    };
    assert_eq!(r.len(), 2);
}

#[test]
fn plan_lists_parents_once() {
    let schema = schema();
    let q = parse("SELECT Profile.Name, Manager.Profile.Name, Manager.Name FROM User").unwrap();
    let p = plan(&q, &schema).unwrap();
    assert_eq!(p.objects(), ["User", "Profile"]);
    assert_eq!(p.parents.len(), 2);
    let q = parse("SELECT DeveloperName, ConversationVendorInfo.VendorType FROM ConversationChannelDefinition").unwrap();
    let p = plan(&q, &schema).unwrap();
    assert_eq!(
        p.objects(),
        ["ConversationChannelDefinition", "ConversationVendorInfo"]
    );
    assert!(!p.is_count_only());
}

#[test]
fn ten_thousand_rows() {
    // Not timed: checks the shape of a large run (the bench measures speed).
    let schema = schema();
    let mut data = dataset();
    let users: Vec<_> = (0..10_000)
        .map(|i| {
            row(
                &format!("005XX{i:010}AAA"),
                &[
                    ("Username", s(&format!("user{i}@byoc.test"))),
                    ("Name", s(&format!("User {i}"))),
                    ("IsActive", byoc_soql::Value::Bool(i % 2 == 0)),
                    ("LoginCount__c", byoc_soql::Value::Int(i % 100)),
                    ("ProfileId", s(ADMIN)),
                ],
            )
        })
        .collect();
    data.rows.insert("User".into(), users);
    let q = parse("SELECT Id, Name, Profile.Name FROM User WHERE IsActive = true AND Name LIKE 'user 1%' ORDER BY LoginCount__c DESC, Name LIMIT 50").unwrap();
    let p = plan(&q, &schema).unwrap();
    let QueryOutput::Records(r) = execute(&p, &data, BASE).unwrap() else {
        panic!()
    };
    assert_eq!(r.len(), 50);
    let json: Json = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(json[0]["Name"], "User 1098");
    assert_eq!(json[0]["Profile"]["Name"], "System Administrator");
}

#[test]
fn required_values_name_what_a_store_may_load_and_never_more_than_the_filter_allows() {
    let schema = schema();
    let required = |q: &str| {
        let query = parse(q).unwrap_or_else(|e| panic!("{q}: {}", e.message));
        plan(&query, &schema)
            .unwrap_or_else(|e| panic!("{q}: {}", e.message))
            .required_values("ProfileId")
    };
    let p = "00e000000000001";
    assert_eq!(
        required(&format!("SELECT Id FROM User WHERE ProfileId = '{p}'")),
        Some(vec![p.to_string()])
    );
    assert_eq!(
        required(&format!(
            "SELECT Id FROM User WHERE IsActive = true AND (ProfileId IN ('{p}') AND Name != 'x')"
        )),
        Some(vec![p.to_string()])
    );
    // Anything that could let another value through is no restriction at all.
    for q in [
        "SELECT Id FROM User".to_string(),
        format!("SELECT Id FROM User WHERE ProfileId = '{p}' OR Name = 'x'"),
        format!("SELECT Id FROM User WHERE NOT ProfileId = '{p}'"),
        format!("SELECT Id FROM User WHERE ProfileId NOT IN ('{p}')"),
        format!("SELECT Id FROM User WHERE ProfileId != '{p}'"),
        "SELECT Id FROM User WHERE ProfileId = null".to_string(),
        "SELECT Id FROM User WHERE Manager.ProfileId = '00e000000000001'".to_string(),
    ] {
        assert_eq!(required(&q), None, "{q}");
    }
}
