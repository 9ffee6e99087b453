//! The SOQL parser: recursive descent over the tokens of [`crate::lex`] (a winnow lexer).
//!
//! Grammar (keywords case-insensitive):
//!
//! ```text
//! query     = SELECT items FROM name [WHERE cond] [ORDER BY order {, order}] [LIMIT int] [OFFSET int]
//! items     = COUNT() | item {, item}
//! item      = path | COUNT(path) [alias]
//! path      = name {. name}
//! cond      = unary {AND unary} | unary {OR unary}      (AND and OR never mix at one level)
//! unary     = NOT unary | ( cond ) | path op value | path [NOT] IN ( value {, value} )
//! op        = = | != | <> | < | <= | > | >= | LIKE
//! value     = 'string' | int | decimal | true | false | null | date | dateTime
//! order     = path [ASC | DESC] [NULLS FIRST | NULLS LAST]
//! ```
//!
//! Errors carry Salesforce's text (`unexpected token: 'X'` with the position marker, or
//! `unexpected token: '<EOF>'` without one); valid SOQL that byoc does not run (GROUP BY,
//! subqueries, date functions…) is `MALFORMED_QUERY` naming the feature.

use crate::ast::{CompareOp, Condition, FieldPath, Literal, OrderBy, Query, SelectItem};
use crate::error::{ErrorCode, SoqlError};
use crate::lex::{lex, Tk, Token};

/// Salesforce's cap on `OFFSET`.
pub const MAX_OFFSET: u64 = 2000;

/// How deep parentheses and `NOT` may nest in WHERE: deeper is `QUERY_TOO_COMPLICATED`, so
/// attacker input cannot exhaust the stack.
pub const MAX_NESTING: usize = 100;

/// Parse `text` (already URL-decoded).
pub fn parse(text: &str) -> Result<Query, SoqlError> {
    let toks = lex(text)?;
    let mut p = Parser {
        text,
        toks,
        i: 0,
        depth: 0,
    };
    p.query()
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    i: usize,
    /// Current nesting of parentheses and NOT in WHERE.
    depth: usize,
}

/// Clauses of valid SOQL that byoc does not run.
const UNSUPPORTED_CLAUSES: &[&str] = &[
    "WITH", "GROUP", "HAVING", "FOR", "USING", "UPDATE", "ALL", "TYPEOF",
];

/// SOQL's reserved keywords: never a field name.
const RESERVED: &[&str] = &[
    "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST",
    "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH",
];

/// Words Salesforce reads as date literals (`TODAY`, `LAST_N_DAYS:7`…).
fn is_date_literal(word: &str) -> bool {
    let w = word.to_ascii_uppercase();
    matches!(w.as_str(), "YESTERDAY" | "TODAY" | "TOMORROW")
        || ["LAST_", "THIS_", "NEXT_", "N_"]
            .iter()
            .any(|p| w.starts_with(p))
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.i + n).min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn word(&self, t: &Token) -> &'a str {
        &self.text[t.start..t.end]
    }

    /// The current token is the keyword `kw`.
    fn at_kw(&self, kw: &str) -> bool {
        let t = self.peek();
        t.kind == Tk::Ident && self.word(t).eq_ignore_ascii_case(kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.at_kw(kw);
        if yes {
            self.bump();
        }
        yes
    }

    fn unexpected(&self, t: &Token) -> SoqlError {
        if t.kind == Tk::Eof {
            return SoqlError::new(ErrorCode::MalformedQuery, "unexpected token: '<EOF>'");
        }
        self.malformed(t.pos, &format!("unexpected token: '{}'", self.word(t)))
    }

    fn malformed(&self, pos: usize, message: &str) -> SoqlError {
        SoqlError::at(ErrorCode::MalformedQuery, self.text, pos, message)
    }

    fn unsupported(&self, t: &Token, what: &str) -> SoqlError {
        self.malformed(t.pos, &format!("{what} is not supported by byoc"))
    }

    fn expect(&mut self, kind: Tk) -> Result<Token, SoqlError> {
        if self.peek().kind == kind {
            Ok(self.bump())
        } else {
            Err(self.unexpected(self.peek()))
        }
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        if !self.eat_kw("SELECT") {
            // Salesforce names the first token without a marker: `unexpected token: 'invalid'`.
            let t = self.peek();
            return Err(SoqlError::new(
                ErrorCode::MalformedQuery,
                if t.kind == Tk::Eof {
                    "unexpected token: '<EOF>'".to_string()
                } else {
                    format!("unexpected token: '{}'", self.word(t))
                },
            ));
        }
        let select = self.select_items()?;
        if !self.eat_kw("FROM") {
            return Err(self.unexpected(self.peek()));
        }
        let from_tok = self.peek().clone();
        if from_tok.kind != Tk::Ident {
            return Err(self.unexpected(&from_tok));
        }
        self.bump();
        let mut query = Query {
            select,
            from: self.word(&from_tok).to_string(),
            from_column: from_tok.pos,
            condition: None,
            order_by: vec![],
            limit: None,
            offset: None,
            text: self.text.to_string(),
        };
        let t = self.peek();
        let is_clause = ["WHERE", "ORDER", "LIMIT", "OFFSET"]
            .iter()
            .chain(UNSUPPORTED_CLAUSES)
            .any(|k| self.word(t).eq_ignore_ascii_case(k));
        if t.kind == Tk::Ident && !is_clause {
            return Err(self.unsupported(t, "An object alias"));
        }
        if self.eat_kw("WHERE") {
            query.condition = Some(self.condition()?);
        }
        self.refuse_unsupported_clause()?;
        if self.at_kw("ORDER") {
            self.bump();
            if !self.eat_kw("BY") {
                return Err(self.unexpected(self.peek()));
            }
            loop {
                query.order_by.push(self.order_item()?);
                if self.peek().kind != Tk::Comma {
                    break;
                }
                self.bump();
            }
        }
        self.refuse_unsupported_clause()?;
        if self.eat_kw("LIMIT") {
            query.limit = Some(self.count_value()?);
        }
        if self.at_kw("OFFSET") {
            self.bump();
            let n = self.count_value()?;
            if n > MAX_OFFSET {
                return Err(SoqlError::new(
                    ErrorCode::NumberOutsideValidRange,
                    format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
                ));
            }
            query.offset = Some(n);
        }
        self.refuse_unsupported_clause()?;
        let t = self.peek();
        if t.kind != Tk::Eof {
            return Err(self.unexpected(t));
        }
        Ok(query)
    }

    fn refuse_unsupported_clause(&self) -> Result<(), SoqlError> {
        let t = self.peek();
        if t.kind == Tk::Ident {
            let w = self.word(t).to_ascii_uppercase();
            if UNSUPPORTED_CLAUSES.contains(&w.as_str()) {
                let what = match w.as_str() {
                    "GROUP" => "GROUP BY".to_string(),
                    "FOR" => "FOR VIEW / FOR REFERENCE / FOR UPDATE".to_string(),
                    "USING" => "USING SCOPE".to_string(),
                    "ALL" => "ALL ROWS".to_string(),
                    _ => w,
                };
                return Err(self.unsupported(t, &what));
            }
        }
        Ok(())
    }

    /// A LIMIT or OFFSET value: a non-negative integer.
    fn count_value(&mut self) -> Result<u64, SoqlError> {
        let t = self.peek().clone();
        match t.kind {
            Tk::Int(n) if n >= 0 && self.word(&t).starts_with(|c: char| c.is_ascii_digit()) => {
                self.bump();
                Ok(n as u64)
            }
            Tk::Colon => Err(self.malformed(t.pos, "Bind variables only allowed in Apex code")),
            _ => Err(self.unexpected(&t)),
        }
    }

    fn select_items(&mut self) -> Result<Vec<SelectItem>, SoqlError> {
        if self.at_kw("FROM") {
            // Salesforce (since Summer '24) names both words.
            let t = self.peek();
            return Err(self.malformed(t.pos, "unexpected token: 'SELECT FROM'"));
        }
        let mut items = vec![];
        loop {
            let t = self.peek().clone();
            let next = self.peek_at(1).kind.clone();
            match (&t.kind, next) {
                (Tk::Ident, Tk::LParen) => {
                    let name = self.word(&t).to_ascii_uppercase();
                    if name != "COUNT" {
                        return Err(self.unsupported(&t, &format!("{}()", self.word(&t))));
                    }
                    self.bump();
                    self.bump();
                    if self.peek().kind == Tk::RParen {
                        let close = self.bump();
                        // COUNT() stands alone: anything after it is unexpected.
                        if !items.is_empty() {
                            return Err(self.unexpected(&close));
                        }
                        if self.peek().kind == Tk::Comma {
                            return Err(self.unexpected(self.peek()));
                        }
                        items.push(SelectItem::CountAll);
                        return Ok(items);
                    }
                    let field = self.path()?;
                    self.expect(Tk::RParen)?;
                    let alias = if self.is_name(self.peek()) {
                        let a = self.bump();
                        Some(self.word(&a).to_string())
                    } else {
                        None
                    };
                    items.push(SelectItem::Count { field, alias });
                }
                (Tk::LParen, _) => return Err(self.unsupported(&t, "A subquery")),
                (Tk::Ident, _) if self.word(&t).eq_ignore_ascii_case("TYPEOF") => {
                    return Err(self.unsupported(&t, "TYPEOF"))
                }
                (Tk::Ident, _) if self.word(&t).eq_ignore_ascii_case("FROM") => {
                    return Err(self.unexpected(&t))
                }
                (Tk::Ident, _) => items.push(SelectItem::Field(self.path()?)),
                _ => return Err(self.unexpected(&t)),
            }
            if self.peek().kind != Tk::Comma {
                return Ok(items);
            }
            self.bump();
        }
    }

    /// A name that may be part of a field path: an identifier that is no reserved keyword.
    fn is_name(&self, t: &Token) -> bool {
        t.kind == Tk::Ident
            && !RESERVED
                .iter()
                .any(|k| self.word(t).eq_ignore_ascii_case(k))
    }

    fn path(&mut self) -> Result<FieldPath, SoqlError> {
        let first = self.peek().clone();
        if !self.is_name(&first) {
            return Err(self.unexpected(&first));
        }
        self.bump();
        let mut parts = vec![self.word(&first).to_string()];
        while self.peek().kind == Tk::Dot {
            self.bump();
            let t = self.peek().clone();
            if !self.is_name(&t) {
                return Err(self.unexpected(&t));
            }
            self.bump();
            parts.push(self.word(&t).to_string());
        }
        Ok(FieldPath {
            parts,
            column: first.pos,
        })
    }

    fn order_item(&mut self) -> Result<OrderBy, SoqlError> {
        let t = self.peek().clone();
        if t.kind == Tk::Ident && self.peek_at(1).kind == Tk::LParen {
            return Err(self.unsupported(&t, &format!("{}() in ORDER BY", self.word(&t))));
        }
        let field = self.path()?;
        let descending = if self.eat_kw("DESC") {
            true
        } else {
            self.eat_kw("ASC");
            false
        };
        let nulls_last = if self.eat_kw("NULLS") {
            if self.eat_kw("FIRST") {
                Some(false)
            } else if self.eat_kw("LAST") {
                Some(true)
            } else {
                return Err(self.unexpected(self.peek()));
            }
        } else {
            None
        };
        Ok(OrderBy {
            field,
            descending,
            nulls_last,
        })
    }

    /// `a AND b AND c` or `a OR b OR c`; a second kind of operator at the same level is an
    /// unexpected token, as in Salesforce. A chain is built as a balanced tree (AND and OR are
    /// associative), so a long chain never makes deep recursion later.
    fn condition(&mut self) -> Result<Condition, SoqlError> {
        let mut operands = vec![self.unary()?];
        let mut level_op: Option<bool> = None; // Some(true) = AND
        loop {
            let is_and = if self.at_kw("AND") {
                true
            } else if self.at_kw("OR") {
                false
            } else {
                break;
            };
            if level_op.is_some_and(|op| op != is_and) {
                return Err(self.unexpected(self.peek()));
            }
            level_op = Some(is_and);
            self.bump();
            operands.push(self.unary()?);
        }
        balanced(operands, level_op.unwrap_or(true)).ok_or_else(|| self.unexpected(self.peek()))
    }

    fn unary(&mut self) -> Result<Condition, SoqlError> {
        let nests = self.at_kw("NOT") || self.peek().kind == Tk::LParen;
        if nests {
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err(SoqlError::new(
                    ErrorCode::QueryTooComplicated,
                    "Query is either selecting too many fields or the filter conditions are too complicated.",
                ));
            }
        }
        let result = self.unary_inner();
        if nests {
            self.depth -= 1;
        }
        result
    }

    fn unary_inner(&mut self) -> Result<Condition, SoqlError> {
        if self.eat_kw("NOT") {
            return Ok(Condition::Not(Box::new(self.unary()?)));
        }
        if self.peek().kind == Tk::LParen {
            self.bump();
            let inner = self.condition()?;
            self.expect(Tk::RParen)?;
            return Ok(inner);
        }
        let t = self.peek().clone();
        if t.kind == Tk::Ident && self.peek_at(1).kind == Tk::LParen {
            return Err(self.unsupported(&t, &format!("{}() in WHERE", self.word(&t))));
        }
        let field = self.path()?;
        let op_tok = self.peek().clone();
        match op_tok.kind {
            Tk::Op(op) => {
                self.bump();
                let value = self.value()?;
                Ok(Condition::Compare { field, op, value })
            }
            Tk::Ident => {
                let w = self.word(&op_tok).to_ascii_uppercase();
                match w.as_str() {
                    "LIKE" => {
                        self.bump();
                        let value = self.value()?;
                        Ok(Condition::Compare {
                            field,
                            op: CompareOp::Like,
                            value,
                        })
                    }
                    "IN" => {
                        self.bump();
                        self.in_list(field, false)
                    }
                    "NOT"
                        if self.peek_at(1).kind == Tk::Ident
                            && self.word(self.peek_at(1)).eq_ignore_ascii_case("IN") =>
                    {
                        self.bump();
                        self.bump();
                        self.in_list(field, true)
                    }
                    "INCLUDES" | "EXCLUDES" => Err(self.unsupported(&op_tok, &w)),
                    _ => Err(self.unexpected(&op_tok)),
                }
            }
            _ => Err(self.unexpected(&op_tok)),
        }
    }

    fn in_list(&mut self, field: FieldPath, negated: bool) -> Result<Condition, SoqlError> {
        let open = self.expect(Tk::LParen)?;
        if self.at_kw("SELECT") {
            return Err(self.unsupported(self.peek(), "A semi-join (IN with a subquery)"));
        }
        if self.peek().kind == Tk::RParen {
            // Salesforce (since Summer '24) quotes the whole expression: 'ParentId IN ()'.
            let close = self.bump();
            let start = self
                .toks
                .iter()
                .find(|t| t.pos == field.column)
                .map(|t| t.start);
            let expr = &self.text[start.unwrap_or(open.start)..close.end];
            return Err(self.malformed(field.column, &format!("unexpected token: '{expr}'")));
        }
        let mut values = vec![self.value()?];
        while self.peek().kind == Tk::Comma {
            self.bump();
            values.push(self.value()?);
        }
        self.expect(Tk::RParen)?;
        Ok(Condition::In {
            field,
            negated,
            values,
        })
    }

    fn value(&mut self) -> Result<Literal, SoqlError> {
        let t = self.peek().clone();
        let lit = match &t.kind {
            Tk::Str(s) => Literal::String(s.clone()),
            Tk::Int(i) => Literal::Int(*i),
            Tk::Dec(d) => Literal::Double(*d),
            Tk::DateTime(ms) => Literal::DateTime(*ms),
            Tk::Date(days) => Literal::Date(*days),
            Tk::Ident => {
                let w = self.word(&t);
                if w.eq_ignore_ascii_case("null") {
                    Literal::Null
                } else if w.eq_ignore_ascii_case("true") {
                    Literal::Bool(true)
                } else if w.eq_ignore_ascii_case("false") {
                    Literal::Bool(false)
                } else if is_date_literal(w) {
                    return Err(self.unsupported(&t, &format!("The date literal {w}")));
                } else {
                    // An unquoted value such as `liam.carter@example.com`: Salesforce reads the
                    // dotted name and stops at the stray character ('@').
                    let mut n = 1;
                    while self.peek_at(n).kind == Tk::Dot && self.peek_at(n + 1).kind == Tk::Ident {
                        n += 2;
                    }
                    let after = self.peek_at(n);
                    if after.kind == Tk::Other {
                        return Err(self.unexpected(after));
                    }
                    return Err(self.unexpected(&t));
                }
            }
            Tk::Colon => {
                return Err(self.malformed(t.pos, "Bind variables only allowed in Apex code"))
            }
            _ => return Err(self.unexpected(&t)),
        };
        self.bump();
        Ok(lit)
    }
}

/// `operands` joined by AND (or OR) as a balanced tree; `None` if there are none.
fn balanced(mut operands: Vec<Condition>, and: bool) -> Option<Condition> {
    if operands.len() <= 1 {
        return operands.pop();
    }
    let right = operands.split_off(operands.len() / 2);
    let (l, r) = (balanced(operands, and)?, balanced(right, and)?);
    Some(if and {
        Condition::And(Box::new(l), Box::new(r))
    } else {
        Condition::Or(Box::new(l), Box::new(r))
    })
}
