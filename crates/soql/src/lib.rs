//! SOQL as Salesforce's REST API runs it, over rows the caller supplies. No IO.
//!
//! - [`schema`]: what a query is checked against — objects and fields as `describe` shows them
//!   ([`ObjectDef`], [`FieldDef`], [`FieldType`]), behind the [`Schema`] trait.
//! - [`value`]: field values ([`Value`]) and their JSON form (dates as Salesforce writes them).
//! - [`error`]: [`SoqlError`] — `MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`… with
//!   Salesforce's message text, including the `ERROR at Row:1:Column:N` marker.
//! - [`ast`] / [`parse`]: the query's syntax tree and the parser: a winnow lexer (`lex`) and
//!   recursive descent over its tokens.
//! - [`plan`]: a parsed query checked against a [`Schema`] (objects, fields, relationships,
//!   literal types) and compiled: the filter (`filter`), sort keys and the records' shape.
//! - [`eval`]: a [`Plan`] run over a [`Dataset`]: filter, order, offset/limit, count, shape each
//!   record with `attributes {type, url}` in select order.
//!
//! The server loads the rows ([`Plan::objects`] says which objects it needs); paging into
//! `nextRecordsUrl` batches is the server's job too.

pub mod ast;
pub mod error;
pub mod eval;
mod filter;
mod lex;
pub mod parse;
pub mod plan;
pub mod schema;
pub mod value;

pub use error::{ErrorCode, SoqlError};
pub use eval::{execute, Dataset, OutputRecord, QueryOutput, Row};
pub use parse::parse;
pub use plan::{plan, Plan};
pub use schema::{FieldDef, FieldType, ObjectDef, Schema};
pub use value::Value;
