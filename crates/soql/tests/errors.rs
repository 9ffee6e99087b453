//! Refused queries: Salesforce's error codes and exact texts.

mod common;

use byoc_soql::{parse, plan, ErrorCode, SoqlError};
use common::*;

fn err(q: &str) -> SoqlError {
    let schema = schema();
    match parse(q).and_then(|query| plan(&query, &schema)) {
        Ok(_) => panic!("{q}: accepted"),
        Err(e) => e,
    }
}

fn check(q: &str, code: ErrorCode, message: &str) {
    let e = err(q);
    assert_eq!((e.code, e.message.as_str()), (code, message), "{q}");
}

const FIELD_HINT: &str = "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

#[test]
fn unknown_field() {
    check(
        "SELECT Bogus FROM User",
        ErrorCode::InvalidField,
        &format!("\nSELECT Bogus FROM User\n       ^\nERROR at Row:1:Column:8\nNo such column 'Bogus' on entity 'User'. {FIELD_HINT}"),
    );
    check(
        "SELECT Id FROM User WHERE Nope__c = 1",
        ErrorCode::InvalidField,
        &format!("\nSELECT Id FROM User WHERE Nope__c = 1\n                          ^\nERROR at Row:1:Column:27\nNo such column 'Nope__c' on entity 'User'. {FIELD_HINT}"),
    );
    // The entity is the parent's for a relationship path; the marker is at the path.
    check(
        "SELECT Id, Profile.Bogus FROM User",
        ErrorCode::InvalidField,
        &format!("\nSELECT Id, Profile.Bogus FROM User\n           ^\nERROR at Row:1:Column:12\nNo such column 'Bogus' on entity 'Profile'. {FIELD_HINT}"),
    );
    check(
        "SELECT Id FROM User ORDER BY Bogus",
        ErrorCode::InvalidField,
        &format!("\nSELECT Id FROM User ORDER BY Bogus\n                             ^\nERROR at Row:1:Column:30\nNo such column 'Bogus' on entity 'User'. {FIELD_HINT}"),
    );
}

#[test]
fn unknown_field_on_a_later_row() {
    check(
        "SELECT Id\nFROM User\nWHERE Nope__c = 1",
        ErrorCode::InvalidField,
        &format!("\nWHERE Nope__c = 1\n      ^\nERROR at Row:3:Column:7\nNo such column 'Nope__c' on entity 'User'. {FIELD_HINT}"),
    );
}

#[test]
fn long_rows_are_cut_around_the_error() {
    let q = "SELECT Id, Username, Name, IsActive, LoginCount__c, Score__c, CreatedDate, Bogus__c, Birthday__c, ProfileId, ManagerId FROM User";
    check(
        q,
        ErrorCode::InvalidField,
        &format!("\nLoginCount__c, Score__c, CreatedDate, Bogus__c, Birthday__c, ProfileId, ManagerId\n                                      ^\nERROR at Row:1:Column:76\nNo such column 'Bogus__c' on entity 'User'. {FIELD_HINT}"),
    );
}

#[test]
fn unknown_object() {
    check(
        "SELECT Id FROM Foo",
        ErrorCode::InvalidType,
        "\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
    );
}

#[test]
fn unknown_relationship() {
    check(
        "SELECT Id, Owner.Name FROM User",
        ErrorCode::InvalidField,
        "\nSELECT Id, Owner.Name FROM User\n           ^\nERROR at Row:1:Column:12\nDidn't understand relationship 'Owner' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
    );
    // A reference field's own name is no relationship.
    let e = err("SELECT ProfileId.Name FROM User");
    assert!(e.message.ends_with("Didn't understand relationship 'ProfileId' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."));
}

#[test]
fn malformed_queries() {
    check(
        "SELECT Id FROM User WHERE",
        ErrorCode::MalformedQuery,
        "unexpected token: '<EOF>'",
    );
    check(
        "invalid",
        ErrorCode::MalformedQuery,
        "unexpected token: 'invalid'",
    );
    check("", ErrorCode::MalformedQuery, "unexpected token: '<EOF>'");
    check(
        "SELECT Id, FROM User",
        ErrorCode::MalformedQuery,
        "\nSELECT Id, FROM User\n           ^\nERROR at Row:1:Column:12\nunexpected token: 'FROM'",
    );
    check(
        "SELECT FROM User",
        ErrorCode::MalformedQuery,
        "\nSELECT FROM User\n       ^\nERROR at Row:1:Column:8\nunexpected token: 'SELECT FROM'",
    );
    check(
        "SELECT Id FROM User WHERE Name = 'x' AND Username = 'y' OR IsActive = true",
        ErrorCode::MalformedQuery,
        "\nName = 'x' AND Username = 'y' OR IsActive = true\n                              ^\nERROR at Row:1:Column:57\nunexpected token: 'OR'",
    );
    check(
        "SELECT Id FROM User WHERE Name = 'x' OR Name = 'y' AND IsActive = true",
        ErrorCode::MalformedQuery,
        "\nWHERE Name = 'x' OR Name = 'y' AND IsActive = true\n                               ^\nERROR at Row:1:Column:52\nunexpected token: 'AND'",
    );
    check(
        "SELECT Id FROM User WHERE Id IN ()",
        ErrorCode::MalformedQuery,
        "\nSELECT Id FROM User WHERE Id IN ()\n                          ^\nERROR at Row:1:Column:27\nunexpected token: 'Id IN ()'",
    );
    check(
        "SELECT Id FROM User WHERE LIMIT 5",
        ErrorCode::MalformedQuery,
        "\nSELECT Id FROM User WHERE LIMIT 5\n                          ^\nERROR at Row:1:Column:27\nunexpected token: 'LIMIT'",
    );
    check(
        "SELECT Id, Profile.Name.In FROM User",
        ErrorCode::MalformedQuery,
        "\nSELECT Id, Profile.Name.In FROM User\n                        ^\nERROR at Row:1:Column:25\nunexpected token: 'In'",
    );
    check(
        "SELECT Id FROM User LIMIT x",
        ErrorCode::MalformedQuery,
        "\nSELECT Id FROM User LIMIT x\n                          ^\nERROR at Row:1:Column:27\nunexpected token: 'x'",
    );
    check(
        "SELECT Id FROM User WHERE Email = liam.carter@example.com",
        ErrorCode::MalformedQuery,
        "\nUser WHERE Email = liam.carter@example.com\n                              ^\nERROR at Row:1:Column:46\nunexpected token: '@'",
    );
    check(
        "SELECT Id FROM User WHERE Name = Foo",
        ErrorCode::MalformedQuery,
        "\nSELECT Id FROM User WHERE Name = Foo\n                                 ^\nERROR at Row:1:Column:34\nunexpected token: 'Foo'",
    );
}

#[test]
fn offset_is_capped_at_2000() {
    check(
        "SELECT Id FROM User OFFSET 2001",
        ErrorCode::NumberOutsideValidRange,
        "Maximum SOQL offset allowed is 2000",
    );
    assert_eq!(
        ErrorCode::NumberOutsideValidRange.as_str(),
        "NUMBER_OUTSIDE_VALID_RANGE"
    );
}

#[test]
fn invalid_ids() {
    check(
        "SELECT Id FROM User WHERE Id = 'ZZZ'",
        ErrorCode::InvalidQueryFilterOperator,
        "\nSELECT Id FROM User WHERE Id = 'ZZZ'\n                          ^\nERROR at Row:1:Column:27\ninvalid ID field: ZZZ",
    );
    let e = err("SELECT Id FROM User WHERE ProfileId IN ('00eXX0000000001AAA', 'xyz')");
    assert_eq!(e.code, ErrorCode::InvalidQueryFilterOperator);
    assert!(
        e.message.ends_with("\ninvalid ID field: xyz"),
        "{}",
        e.message
    );
    assert_eq!(
        ErrorCode::InvalidQueryFilterOperator.as_str(),
        "INVALID_QUERY_FILTER_OPERATOR"
    );
}

#[test]
fn operators_and_literal_types() {
    check(
        "SELECT Id FROM User WHERE Id LIKE '005%'",
        ErrorCode::InvalidQueryFilterOperator,
        "\nSELECT Id FROM User WHERE Id LIKE '005%'\n                          ^\nERROR at Row:1:Column:27\ninvalid operator on id field",
    );
    let cases = [
        ("IsActive LIKE 'x'", ErrorCode::InvalidQueryFilterOperator, "invalid operator on boolean field"),
        ("LoginCount__c LIKE '1%'", ErrorCode::InvalidQueryFilterOperator, "invalid operator on int field"),
        ("CreatedDate LIKE '2026%'", ErrorCode::InvalidQueryFilterOperator, "invalid operator on datetime field"),
        ("IsActive > false", ErrorCode::InvalidQueryFilterOperator, "invalid operator on boolean field"),
        ("IsActive = 'true'", ErrorCode::InvalidField, "value of filter criterion for field 'IsActive' must be of type boolean and should not be enclosed in quotes"),
        ("CreatedDate > '2026-01-01'", ErrorCode::InvalidField, "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"),
        ("CreatedDate > 2026-01-01", ErrorCode::InvalidField, "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"),
        ("Birthday__c = 2026-01-01T00:00:00Z", ErrorCode::InvalidField, "value of filter criterion for field 'Birthday__c' must be of type date and should not be enclosed in quotes"),
        ("Score__c = '1.5'", ErrorCode::InvalidField, "value of filter criterion for field 'Score__c' must be of type double and should not be enclosed in quotes"),
        ("LoginCount__c IN (1, '2')", ErrorCode::InvalidField, "value of filter criterion for field 'LoginCount__c' must be of type int and should not be enclosed in quotes"),
        ("Name = 5", ErrorCode::InvalidField, "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
        ("Name LIKE 5", ErrorCode::InvalidField, "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
        ("Id = 5", ErrorCode::InvalidField, "value of filter criterion for field 'Id' must be of type id and should be enclosed in quotes"),
        ("Description = 'x'", ErrorCode::InvalidField, "field 'Description' can not be filtered in query call"),
    ];
    for (cond, code, text) in cases {
        let q = format!("SELECT Id FROM User WHERE {cond}");
        let e = err(&q);
        assert_eq!(e.code, code, "{q}");
        assert!(
            e.message.starts_with(&format!(
                "\n{q}\n                          ^\nERROR at Row:1:Column:27\n"
            )),
            "{q}: {}",
            e.message
        );
        assert!(
            e.message.ends_with(&format!("\n{text}")),
            "{q}: {}",
            e.message
        );
    }
}

#[test]
fn not_sortable() {
    let schema = {
        let mut s = schema();
        s[0].fields
            .iter_mut()
            .find(|f| f.name == "Description")
            .unwrap()
            .sortable = false;
        s
    };
    let e = parse("SELECT Id FROM User ORDER BY Description")
        .and_then(|q| plan(&q, &schema))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidField);
    assert!(e
        .message
        .ends_with("\nfield 'Description' can not be sorted in a query call"));
}

#[test]
fn aggregates() {
    check(
        "SELECT COUNT(Id), Name FROM User",
        ErrorCode::MalformedQuery,
        "\nSELECT COUNT(Id), Name FROM User\n                  ^\nERROR at Row:1:Column:19\nField must be grouped or aggregated: Name",
    );
    check(
        "SELECT COUNT(), Name FROM User",
        ErrorCode::MalformedQuery,
        "\nSELECT COUNT(), Name FROM User\n              ^\nERROR at Row:1:Column:15\nunexpected token: ','",
    );
    check(
        "SELECT Name, COUNT() FROM User",
        ErrorCode::MalformedQuery,
        "\nSELECT Name, COUNT() FROM User\n                   ^\nERROR at Row:1:Column:20\nunexpected token: ')'",
    );
    check(
        "SELECT COUNT() FROM User ORDER BY Name",
        ErrorCode::MalformedQuery,
        "\nSELECT COUNT() FROM User ORDER BY Name\n                                  ^\nERROR at Row:1:Column:35\nOrdered field must be grouped or aggregated: Name",
    );
    check(
        "SELECT COUNT(Bogus) FROM User",
        ErrorCode::InvalidField,
        &format!("\nSELECT COUNT(Bogus) FROM User\n             ^\nERROR at Row:1:Column:14\nNo such column 'Bogus' on entity 'User'. {FIELD_HINT}"),
    );
}

#[test]
fn duplicate_fields() {
    check(
        "SELECT Id, Name, id FROM User",
        ErrorCode::InvalidField,
        "duplicate field selected: id",
    );
    check(
        "SELECT Profile.Name, profile.NAME FROM User",
        ErrorCode::InvalidField,
        "duplicate field selected: profile.NAME",
    );
}

#[test]
fn string_literals() {
    check(
        r"SELECT Id FROM User WHERE Name = 'a\zb'",
        ErrorCode::MalformedQuery,
        "\nSELECT Id FROM User WHERE Name = 'a\\zb'\n                                 ^\nERROR at Row:1:Column:34\nInvalid string literal 'a\\zb'. Illegal character sequence '\\z' in string literal.",
    );
    check(
        "SELECT Id FROM User WHERE Name = 'abc",
        ErrorCode::MalformedQuery,
        "unexpected token: '<EOF>'",
    );
}

#[test]
fn bad_dates() {
    let e = err("SELECT Id FROM User WHERE CreatedDate > 2020-52-12t12:12:00-05:00");
    assert_eq!(e.code, ErrorCode::MalformedQuery);
    assert!(
        e.message
            .ends_with("\nInvalid datetime: 2020-52-12t12:12:00-05:00"),
        "{}",
        e.message
    );
    let e = err("SELECT Id FROM User WHERE CreatedDate > 2020-12-12t12:12:00-25:00");
    assert!(
        e.message
            .ends_with("\nInvalid datetime: 2020-12-12t12:12:00-25:00"),
        "{}",
        e.message
    );
    let e = err("SELECT Id FROM User WHERE Birthday__c = 2026-02-30");
    assert!(
        e.message.ends_with("\nInvalid date: 2026-02-30"),
        "{}",
        e.message
    );
}

#[test]
fn unsupported_soql_is_malformed_with_its_name() {
    let cases = [
        (
            "SELECT Name, COUNT(Id) FROM User GROUP BY Name",
            "GROUP BY is not supported by byoc",
        ),
        (
            "SELECT Id, (SELECT Id FROM Users) FROM Profile",
            "A subquery is not supported by byoc",
        ),
        (
            "SELECT Id FROM User FOR UPDATE",
            "FOR VIEW / FOR REFERENCE / FOR UPDATE is not supported by byoc",
        ),
        (
            "SELECT Id FROM User WITH SECURITY_ENFORCED",
            "WITH is not supported by byoc",
        ),
        (
            "SELECT TYPEOF Owner WHEN User THEN Name END FROM User",
            "TYPEOF is not supported by byoc",
        ),
        (
            "SELECT Id FROM User WHERE CreatedDate = TODAY",
            "The date literal TODAY is not supported by byoc",
        ),
        (
            "SELECT Id FROM User WHERE CreatedDate = LAST_N_DAYS:7",
            "The date literal LAST_N_DAYS is not supported by byoc",
        ),
        (
            "SELECT MAX(LoginCount__c) FROM User",
            "MAX() is not supported by byoc",
        ),
        (
            "SELECT Id FROM User WHERE CALENDAR_YEAR(CreatedDate) = 2026",
            "CALENDAR_YEAR() in WHERE is not supported by byoc",
        ),
        (
            "SELECT Id FROM User WHERE Id IN (SELECT ManagerId FROM User)",
            "A semi-join (IN with a subquery) is not supported by byoc",
        ),
        (
            "SELECT Id FROM User WHERE Name = :name",
            "Bind variables only allowed in Apex code",
        ),
    ];
    for (q, text) in cases {
        let e = err(q);
        assert_eq!(e.code, ErrorCode::MalformedQuery, "{q}");
        assert!(
            e.message.ends_with(&format!("\n{text}")),
            "{q}: {}",
            e.message
        );
        assert!(
            e.message.contains("ERROR at Row:1:Column:"),
            "{q}: {}",
            e.message
        );
    }
}

#[test]
fn relationship_paths_stop_at_five_levels() {
    let q = "SELECT Manager.Manager.Manager.Manager.Manager.Name FROM User";
    assert!(parse(q).and_then(|p| plan(&p, &schema())).is_ok());
    let e = err("SELECT Manager.Manager.Manager.Manager.Manager.Manager.Name FROM User");
    assert_eq!(e.code, ErrorCode::MalformedQuery);
    assert!(e.message.ends_with("\nA field path can have at most 5 relationships: Manager.Manager.Manager.Manager.Manager.Manager.Name"));
}

#[test]
fn columns_count_characters_not_bytes() {
    check(
        "SELECT Id FROM User WHERE Name = 'ééé' AND Bogus = 1",
        ErrorCode::InvalidField,
        &format!("\nFROM User WHERE Name = 'ééé' AND Bogus = 1\n{}^\nERROR at Row:1:Column:44\nNo such column 'Bogus' on entity 'User'. {FIELD_HINT}", " ".repeat(33)),
    );
}

#[test]
fn markers_never_panic_on_odd_positions() {
    for (text, pos) in [
        ("", 1),
        ("", 0),
        ("a", 5),
        ("a\n\nb", 3),
        ("é\r\nx", 4),
        ("'abc\ndef'", 7),
    ] {
        let m = byoc_soql::error::marked(text, pos, "x");
        assert!(
            m.contains("\nERROR at Row:") && m.ends_with("\nx"),
            "{text:?} {pos}: {m:?}"
        );
    }
    assert_eq!(
        byoc_soql::error::marked("a\n\nb", 4, "x"),
        "\nb\n^\nERROR at Row:3:Column:1\nx"
    );
}
