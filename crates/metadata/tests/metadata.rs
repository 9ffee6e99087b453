//! Round trips and Salesforce's documentation examples (tests/fixtures/README.md).
