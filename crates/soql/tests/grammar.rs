//! The syntax tree each grammar feature parses to.

use byoc_soql::ast::{CompareOp, Condition, FieldPath, Literal, OrderBy, SelectItem};
use byoc_soql::parse;

fn path(parts: &[&str], column: usize) -> FieldPath {
    FieldPath {
        parts: parts.iter().map(|p| p.to_string()).collect(),
        column,
    }
}

fn condition(q: &str) -> Condition {
    parse(q)
        .unwrap_or_else(|e| panic!("{q}: {}", e.message))
        .condition
        .unwrap()
}

fn literal(value: &str) -> Literal {
    match condition(&format!("SELECT Id FROM X WHERE F = {value}")) {
        Condition::Compare { value, .. } => value,
        other => panic!("{other:?}"),
    }
}

#[test]
fn select_from_with_positions_and_case_insensitive_keywords() {
    let q =
        parse("select Id, ConversationVendorInfo.VendorType, a.b.c.d.e.f from Thing__c").unwrap();
    assert_eq!(
        q.select,
        [
            SelectItem::Field(path(&["Id"], 8)),
            SelectItem::Field(path(&["ConversationVendorInfo", "VendorType"], 12)),
            SelectItem::Field(path(&["a", "b", "c", "d", "e", "f"], 47)),
        ]
    );
    assert_eq!((q.from.as_str(), q.from_column), ("Thing__c", 64));
    assert_eq!(
        q.text,
        "select Id, ConversationVendorInfo.VendorType, a.b.c.d.e.f from Thing__c"
    );
    let q = parse("SeLeCt  Name\n  FrOm\tUser").unwrap();
    assert_eq!(q.select, [SelectItem::Field(path(&["Name"], 9))]);
    assert_eq!(q.from_column, 21);
}

#[test]
fn counts_and_aliases() {
    assert_eq!(
        parse("SELECT COUNT() FROM User").unwrap().select,
        [SelectItem::CountAll]
    );
    assert_eq!(
        parse("SELECT count ( ) FROM User").unwrap().select,
        [SelectItem::CountAll]
    );
    assert_eq!(
        parse("SELECT COUNT(Id), COUNT(Profile.Name) n FROM User")
            .unwrap()
            .select,
        [
            SelectItem::Count {
                field: path(&["Id"], 14),
                alias: None
            },
            SelectItem::Count {
                field: path(&["Profile", "Name"], 25),
                alias: Some("n".into())
            },
        ]
    );
    // `Count` without parentheses is a field.
    assert_eq!(
        parse("SELECT Count FROM X").unwrap().select,
        [SelectItem::Field(path(&["Count"], 8))]
    );
}

#[test]
fn comparison_operators() {
    for (text, op) in [
        ("=", CompareOp::Eq),
        ("!=", CompareOp::Ne),
        ("<>", CompareOp::Ne),
        ("<", CompareOp::Lt),
        ("<=", CompareOp::Le),
        (">", CompareOp::Gt),
        (">=", CompareOp::Ge),
        ("like", CompareOp::Like),
        ("LIKE", CompareOp::Like),
    ] {
        assert_eq!(
            condition(&format!("SELECT Id FROM X WHERE Name {text} 'a'")),
            Condition::Compare {
                field: path(&["Name"], 24),
                op,
                value: Literal::String("a".into())
            },
            "{text}"
        );
    }
    // No spaces needed around symbols.
    assert_eq!(
        condition("SELECT Id FROM X WHERE N>=5"),
        Condition::Compare {
            field: path(&["N"], 24),
            op: CompareOp::Ge,
            value: Literal::Int(5)
        }
    );
}

#[test]
fn in_and_not_in() {
    assert_eq!(
        condition("SELECT Id FROM X WHERE Name IN ('a', 'b')"),
        Condition::In {
            field: path(&["Name"], 24),
            negated: false,
            values: vec![Literal::String("a".into()), Literal::String("b".into())]
        }
    );
    assert_eq!(
        condition("SELECT Id FROM X WHERE N not in (1,2.5,null)"),
        Condition::In {
            field: path(&["N"], 24),
            negated: true,
            values: vec![Literal::Int(1), Literal::Double(2.5), Literal::Null]
        }
    );
}

#[test]
fn and_or_not_parentheses() {
    let c = condition("SELECT Id FROM X WHERE (A = 1 OR B = 2) AND NOT C = 3 AND D = 4");
    let Condition::And(l, r) = c else { panic!() };
    assert!(matches!(*l, Condition::Or(..)), "{l:?}");
    let Condition::And(c3, d4) = *r else { panic!() };
    assert!(matches!(*c3, Condition::Not(_)));
    assert!(matches!(*d4, Condition::Compare { .. }));
    // A long chain is a balanced tree, not a deep one.
    let chain = (0..1000)
        .map(|i| format!("F{i} = 1"))
        .collect::<Vec<_>>()
        .join(" OR ");
    fn depth(c: &Condition) -> usize {
        match c {
            Condition::And(a, b) | Condition::Or(a, b) => 1 + depth(a).max(depth(b)),
            Condition::Not(a) => 1 + depth(a),
            _ => 0,
        }
    }
    assert_eq!(
        depth(&condition(&format!("SELECT Id FROM X WHERE {chain}"))),
        10
    );
}

#[test]
fn string_literals_and_escapes() {
    assert_eq!(literal(r"'it\'s'"), Literal::String("it's".into()));
    assert_eq!(
        literal(r#"'\" \\ \n \r \t \b \f \u00e9 \u0041'"#),
        Literal::String("\" \\ \n \r \t \u{8} \u{c} é A".into())
    );
    // \% and \_ stay escaped for LIKE.
    assert_eq!(literal(r"'100\%\_'"), Literal::String(r"100\%\_".into()));
    assert_eq!(literal("''"), Literal::String(String::new()));
    assert_eq!(literal("'ünïcödé ✓'"), Literal::String("ünïcödé ✓".into()));
}

#[test]
fn number_boolean_null_literals() {
    assert_eq!(literal("42"), Literal::Int(42));
    assert_eq!(literal("-42"), Literal::Int(-42));
    assert_eq!(literal("+7"), Literal::Int(7));
    assert_eq!(literal("3.25"), Literal::Double(3.25));
    assert_eq!(literal("-0.5"), Literal::Double(-0.5));
    assert_eq!(literal("TRUE"), Literal::Bool(true));
    assert_eq!(literal("false"), Literal::Bool(false));
    assert_eq!(literal("NULL"), Literal::Null);
    assert_eq!(literal("null"), Literal::Null);
}

#[test]
fn date_and_datetime_literals() {
    const JAN_1_2026: i64 = 1_767_225_600_000;
    assert_eq!(literal("2026-01-01"), Literal::Date(20454));
    assert_eq!(literal("1970-01-01"), Literal::Date(0));
    assert_eq!(literal("1969-12-31"), Literal::Date(-1));
    assert_eq!(
        literal("2026-01-01T00:00:00Z"),
        Literal::DateTime(JAN_1_2026)
    );
    assert_eq!(
        literal("2026-01-01T00:00:00.000+0000"),
        Literal::DateTime(JAN_1_2026)
    );
    assert_eq!(
        literal("2026-01-01T00:00:00.5Z"),
        Literal::DateTime(JAN_1_2026 + 500)
    );
    assert_eq!(
        literal("2026-01-01t01:00:00+01:00"),
        Literal::DateTime(JAN_1_2026)
    );
    assert_eq!(
        literal("2025-12-31T19:00:00-05:00"),
        Literal::DateTime(JAN_1_2026)
    );
    assert_eq!(literal("2024-02-29"), Literal::Date(19782));
}

#[test]
fn order_by_limit_offset() {
    let q = parse(
        "SELECT Id FROM X ORDER BY A, B.C desc, D asc nulls last, E NULLS FIRST LIMIT 10 OFFSET 20",
    )
    .unwrap();
    assert_eq!(
        q.order_by,
        [
            OrderBy {
                field: path(&["A"], 27),
                descending: false,
                nulls_last: None
            },
            OrderBy {
                field: path(&["B", "C"], 30),
                descending: true,
                nulls_last: None
            },
            OrderBy {
                field: path(&["D"], 40),
                descending: false,
                nulls_last: Some(true)
            },
            OrderBy {
                field: path(&["E"], 58),
                descending: false,
                nulls_last: Some(false)
            },
        ]
    );
    assert_eq!((q.limit, q.offset), (Some(10), Some(20)));
    let q = parse("SELECT Id FROM X WHERE A = 1 LIMIT 5").unwrap();
    assert_eq!((q.limit, q.offset), (Some(5), None));
    assert_eq!(
        parse("SELECT Id FROM X OFFSET 2000").unwrap().offset,
        Some(2000)
    );
}

#[test]
fn clauses_keep_their_order() {
    for q in [
        "SELECT Id FROM X LIMIT 1 WHERE A = 1",
        "SELECT Id FROM X ORDER BY A WHERE A = 1",
        "SELECT Id FROM X OFFSET 1 LIMIT 1",
        "SELECT Id FROM X LIMIT 1 ORDER BY A",
        "SELECT Id FROM X ORDER A",
        "SELECT Id FROM X LIMIT -1",
        "SELECT Id FROM X LIMIT 1.5",
        "SELECT Id FROM X WHERE A = 1 ;",
        "SELECT * FROM X",
        "SELECT Id FROM X, Y",
        "SELECT Id Name FROM X",
        "SELECT Id FROM X WHERE A = B",
        "SELECT Id FROM X WHERE (A = 1",
        "SELECT Id FROM X WHERE A = 1)",
        "SELECT Id FROM X ORDER BY A NULLS",
    ] {
        let e = parse(q).unwrap_err();
        assert_eq!(e.code.as_str(), "MALFORMED_QUERY", "{q}");
        assert!(
            e.message.contains("unexpected token: '"),
            "{q}: {}",
            e.message
        );
    }
}
