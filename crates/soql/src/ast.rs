//! The syntax tree of a SOQL query. Positions (`column`) are 1-based character positions in the
//! query text: the column itself for a one-line query; for a query over several lines the
//! `ERROR at Row:R:Column:C` marker derives the row and column from [`Query::text`].

/// A field path as written: `Name`, `ConversationVendorInfo.VendorType`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPath {
    pub parts: Vec<String>,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Field(FieldPath),
    /// `COUNT()`: the answer is only `totalSize`.
    CountAll,
    /// `COUNT(Id)` / `COUNT(Id) total`.
    Count {
        field: FieldPath,
        alias: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    String(String),
    /// A dateTime literal (`2026-01-01T00:00:00Z`), milliseconds since the epoch, UTC.
    DateTime(i64),
    /// A date literal (`2026-01-01`), days since the epoch.
    Date(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare {
        field: FieldPath,
        op: CompareOp,
        value: Literal,
    },
    In {
        field: FieldPath,
        negated: bool,
        values: Vec<Literal>,
    },
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub field: FieldPath,
    pub descending: bool,
    /// `NULLS FIRST` / `NULLS LAST`; `None` means Salesforce's default (nulls first ascending).
    pub nulls_last: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: String,
    pub from_column: usize,
    pub condition: Option<Condition>,
    pub order_by: Vec<OrderBy>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    /// The query as written, for the position marker of errors found after parsing.
    pub text: String,
}
