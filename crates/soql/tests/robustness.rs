//! Attacker input never panics: arbitrary text, token soup, deep nesting, the fuzz corpus.

mod common;

use byoc_soql::{execute, parse, plan, ErrorCode, SoqlError};
use common::*;
use proptest::prelude::*;

/// Parse, plan and run `q`; an error must be well formed.
fn run(q: &str) -> Result<(), SoqlError> {
    let schema = schema();
    let result = parse(q)
        .and_then(|query| plan(&query, &schema))
        .and_then(|p| execute(&p, &dataset(), BASE).map(|_| ()));
    if let Err(e) = &result {
        assert!(!e.message.is_empty(), "{q}");
        if e.message.starts_with('\n') {
            assert!(e.message.contains("\nERROR at Row:"), "{q}: {}", e.message);
            assert!(!e.message.contains("Column:0\n"), "{q}: {}", e.message);
        }
    }
    result
}

const WORDS: &[&str] = &[
    "SELECT",
    "select",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "COUNT",
    "GROUP",
    "null",
    "true",
    "FALSE",
    "User",
    "Profile",
    "ConversationChannelDefinition",
    "ConversationVendorInfo",
    "Id",
    "Name",
    "IsActive",
    "LoginCount__c",
    "Score__c",
    "CreatedDate",
    "Birthday__c",
    "ProfileId",
    "Profile",
    "Manager",
    "ConversationVendorInfo",
    "VendorType",
    "DeveloperName",
    "Description",
    "Bogus",
    ".",
    ",",
    "(",
    ")",
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    ":",
    "'a%'",
    "'x\\'y'",
    "'\\u00e9'",
    "'005XX0000000001AAA'",
    "'00eXX0000000002'",
    "'bad'",
    "5",
    "-1",
    "2.5",
    "2026-01-01",
    "2026-01-01T00:00:00Z",
    "2026-13-01",
    "2001",
    "0",
    "\n",
    "'",
    "\\",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(q in "\\PC{0,200}") {
        let _ = run(&q);
    }

    #[test]
    fn token_soup_never_panics(words in prop::collection::vec(prop::sample::select(WORDS), 0..40)) {
        let _ = run(&words.join(" "));
    }

    #[test]
    fn queries_with_a_prefix_never_panic(
        select in prop::collection::vec(prop::sample::select(WORDS), 1..6),
        rest in prop::collection::vec(prop::sample::select(WORDS), 0..30),
    ) {
        let q = format!("SELECT {} FROM User WHERE {}", select.join(", "), rest.join(" "));
        let _ = run(&q);
        let q = format!("SELECT Id FROM User {}", rest.join(" "));
        let _ = run(&q);
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    for q in [
        format!(
            "SELECT Id FROM User WHERE {}Name = 'x'",
            "(".repeat(100_000)
        ),
        format!(
            "SELECT Id FROM User WHERE {}Name = 'x'",
            "NOT ".repeat(100_000)
        ),
    ] {
        let e = run(&q).unwrap_err();
        assert_eq!(e.code, ErrorCode::QueryTooComplicated);
        assert_eq!(e.code.as_str(), "QUERY_TOO_COMPLICATED");
        assert_eq!(
            e.message,
            "Query is either selecting too many fields or the filter conditions are too complicated."
        );
    }
    // Within the limit it runs.
    let q = format!(
        "SELECT Id FROM User WHERE {}Name = 'bob builder'{}",
        "(".repeat(99),
        ")".repeat(99)
    );
    run(&q).unwrap();
}

#[test]
fn long_chains_run() {
    let chain = (0..20_000)
        .map(|i| format!("LoginCount__c = {i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    run(&format!("SELECT Id FROM User WHERE {chain}")).unwrap();
    let fields = vec!["Name"; 5000].join(", ");
    let e = run(&format!("SELECT {fields} FROM User")).unwrap_err();
    assert_eq!(e.message, "duplicate field selected: Name");
}

#[test]
fn the_fuzz_corpus_runs_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/soql");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the fuzz corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("corpus file");
        let _ = run(&String::from_utf8_lossy(&bytes));
        n += 1;
    }
    assert!(n > 0, "no corpus in {}", dir.display());
}
