//! The compiled WHERE clause and SOQL's comparison rules: text compares case-insensitively
//! (`=`, `<`, `LIKE`), ids by their 15-character prefix case-sensitively, `!=` and `NOT IN`
//! include nulls, and an empty string is null.

use std::cmp::Ordering;

use crate::ast::CompareOp;
use crate::schema::FieldType;
use crate::value::Value;

/// A borrowed view of a field's value, without allocating per row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum V<'r> {
    Null,
    Str(&'r str),
    Bool(bool),
    Number(f64),
    DateTime(i64),
    Date(i32),
}

impl<'r> V<'r> {
    pub fn of(value: &'r Value) -> V<'r> {
        match value {
            Value::Null => V::Null,
            Value::String(s) if s.is_empty() => V::Null,
            Value::String(s) => V::Str(s),
            Value::Bool(b) => V::Bool(*b),
            Value::Int(i) => V::Number(*i as f64),
            Value::Double(d) => V::Number(*d),
            Value::DateTime(ms) => V::DateTime(*ms),
            Value::Date(d) => V::Date(*d),
        }
    }
}

/// A literal, checked and normalised for its field's type at plan time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Text(String),
    /// The first 15 characters of an id.
    Id(String),
    Bool(bool),
    Number(f64),
    DateTime(i64),
    Date(i32),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    /// `= null` (true) or `!= null` (false).
    IsNull(bool),
    Cmp(CompareOp, Operand),
    Like(LikePattern),
    In {
        values: Vec<Operand>,
        has_null: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Test {
        path: crate::plan::Resolved,
        test: Test,
    },
}

impl Test {
    pub fn matches(&self, field_type: FieldType, v: V<'_>) -> bool {
        match self {
            Test::IsNull(want_null) => (v == V::Null) == *want_null,
            Test::Cmp(op, operand) => {
                let ord = compare(field_type, v, operand);
                match op {
                    CompareOp::Eq => ord == Some(Ordering::Equal),
                    // SOQL's `!=` includes records whose field is null.
                    CompareOp::Ne => ord != Some(Ordering::Equal),
                    CompareOp::Lt => ord == Some(Ordering::Less),
                    CompareOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                    CompareOp::Gt => ord == Some(Ordering::Greater),
                    CompareOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                    CompareOp::Like => false,
                }
            }
            Test::Like(p) => match v {
                V::Str(s) => p.matches(s),
                _ => false,
            },
            Test::In { values, has_null } => {
                if v == V::Null {
                    return *has_null;
                }
                values
                    .iter()
                    .any(|o| compare(field_type, v, o) == Some(Ordering::Equal))
            }
        }
    }
}

/// The field's value against a literal; `None` when the value is null or of another type.
fn compare(field_type: FieldType, v: V<'_>, operand: &Operand) -> Option<Ordering> {
    match (v, operand) {
        (V::Str(s), Operand::Id(id)) => Some(id15(s).cmp(id.as_str())),
        (V::Str(s), Operand::Text(t)) => Some(cmp_ci(s, t)),
        (V::Bool(b), Operand::Bool(o)) => Some(b.cmp(o)),
        (V::Number(n), Operand::Number(o)) => n.partial_cmp(o),
        (V::DateTime(a), Operand::DateTime(b)) => Some(a.cmp(b)),
        (V::Date(a), Operand::Date(b)) => Some(a.cmp(b)),
        // A datetime stored for a date field (or the reverse) still compares by day.
        (V::DateTime(a), Operand::Date(b)) if field_type == FieldType::Date => {
            Some(a.div_euclid(86_400_000).cmp(&i64::from(*b)))
        }
        _ => None,
    }
}

/// The 15-character, case-sensitive part of an id.
pub(crate) fn id15(s: &str) -> &str {
    s.get(..15).unwrap_or(s)
}

/// Case-insensitive ordering of two strings, without allocating.
pub(crate) fn cmp_ci(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        for (x, y) in a.iter().zip(b) {
            match x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()) {
                Ordering::Equal => continue,
                other => return other,
            }
        }
        return a.len().cmp(&b.len());
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

/// Two values of one field, for ORDER BY (both non-null).
pub(crate) fn cmp_values(field_type: FieldType, a: V<'_>, b: V<'_>) -> Ordering {
    match (a, b) {
        (V::Str(x), V::Str(y)) => match field_type {
            FieldType::Id | FieldType::Reference => x.cmp(y),
            _ => cmp_ci(x, y),
        },
        (V::Bool(x), V::Bool(y)) => x.cmp(&y),
        (V::Number(x), V::Number(y)) => x.total_cmp(&y),
        (V::DateTime(x), V::DateTime(y)) => x.cmp(&y),
        (V::Date(x), V::Date(y)) => x.cmp(&y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(v: V<'_>) -> u8 {
    match v {
        V::Null => 0,
        V::Bool(_) => 1,
        V::Number(_) => 2,
        V::Date(_) => 3,
        V::DateTime(_) => 4,
        V::Str(_) => 5,
    }
}

/// A `LIKE` pattern: `%` any run, `_` one character, `\%` and `\_` literal; case-insensitive.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LikePattern {
    parts: Vec<LikePart>,
    ascii: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LikePart {
    Any,
    One,
    /// A lower-cased character.
    Char(char),
}

fn lower(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

impl LikePattern {
    pub fn new(pattern: &str) -> LikePattern {
        let mut parts = vec![];
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    if parts.last() != Some(&LikePart::Any) {
                        parts.push(LikePart::Any);
                    }
                }
                '_' => parts.push(LikePart::One),
                '\\' if matches!(chars.peek(), Some('%' | '_')) => {
                    let e = chars.next().unwrap_or('\\');
                    parts.push(LikePart::Char(e));
                }
                c => parts.push(LikePart::Char(lower(c))),
            }
        }
        let ascii = parts.iter().all(|p| match p {
            LikePart::Char(c) => c.is_ascii(),
            _ => true,
        });
        LikePattern { parts, ascii }
    }

    pub fn matches(&self, s: &str) -> bool {
        if self.ascii && s.is_ascii() {
            let bytes = s.as_bytes();
            self.match_with(bytes.len(), |i| char::from(bytes[i].to_ascii_lowercase()))
        } else {
            let chars: Vec<char> = s.chars().map(lower).collect();
            self.match_with(chars.len(), |i| chars[i])
        }
    }

    /// Wildcard matching with one backtrack point per `%` (linear in practice, O(n·m) worst).
    fn match_with(&self, len: usize, at: impl Fn(usize) -> char) -> bool {
        let p = &self.parts;
        let (mut pi, mut si) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while si < len {
            match p.get(pi) {
                Some(LikePart::One) => {
                    pi += 1;
                    si += 1;
                }
                Some(LikePart::Char(c)) if *c == at(si) => {
                    pi += 1;
                    si += 1;
                }
                Some(LikePart::Any) => {
                    star = Some((pi, si));
                    pi += 1;
                }
                _ => match star {
                    Some((sp, ss)) => {
                        pi = sp + 1;
                        si = ss + 1;
                        star = Some((sp, ss + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi.min(p.len())..].iter().all(|x| *x == LikePart::Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let m = |p: &str, s: &str| LikePattern::new(p).matches(s);
        assert!(m("appl%", "Appleton"));
        assert!(m("appl%", "APPL"));
        assert!(!m("appl%", "Bappl"));
        assert!(m("appl_%", "Apple"));
        assert!(!m("appl_%", "Appl"));
        assert!(m("%a%b%", "xxAyyBzz"));
        assert!(!m("%a%b%", "xxByyAzz"));
        assert!(m("100\\%", "100%"));
        assert!(!m("100\\%", "1000"));
        assert!(m("a\\_b", "a_b"));
        assert!(!m("a\\_b", "axb"));
        assert!(m("%", ""));
        assert!(!m("_", ""));
        assert!(m("ÉCOLE%", "école normale"));
        assert!(m("", ""));
        assert!(!m("", "x"));
    }

    #[test]
    fn case_insensitive_ordering() {
        assert_eq!(cmp_ci("abc", "ABC"), Ordering::Equal);
        assert_eq!(cmp_ci("abc", "ABD"), Ordering::Less);
        assert_eq!(cmp_ci("Ab", "a"), Ordering::Greater);
        assert_eq!(cmp_ci("Éa", "éA"), Ordering::Equal);
    }
}
