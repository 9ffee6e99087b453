//! Query errors, with Salesforce's codes and message text.
//!
//! Most of Salesforce's query errors carry a marker: the query's row around the error, a caret
//! under it and `ERROR at Row:R:Column:C` (1-based), then the text. [`marked`] builds it.

/// `errorCode` of a REST error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    MalformedQuery,
    InvalidField,
    InvalidType,
    InvalidQueryFilterOperator,
    /// `OFFSET` above 2,000.
    NumberOutsideValidRange,
    /// WHERE nested deeper than byoc follows.
    QueryTooComplicated,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedQuery => "MALFORMED_QUERY",
            ErrorCode::InvalidField => "INVALID_FIELD",
            ErrorCode::InvalidType => "INVALID_TYPE",
            ErrorCode::InvalidQueryFilterOperator => "INVALID_QUERY_FILTER_OPERATOR",
            ErrorCode::NumberOutsideValidRange => "NUMBER_OUTSIDE_VALID_RANGE",
            ErrorCode::QueryTooComplicated => "QUERY_TOO_COMPLICATED",
        }
    }
}

/// A refused query: the REST API answers `[{"message", "errorCode"}]` with HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SoqlError {
    pub code: ErrorCode,
    /// Salesforce's text, e.g. for `INVALID_FIELD`:
    /// `"\nSELECT Bogus FROM User\n       ^\nERROR at Row:1:Column:8\nNo such column 'Bogus' on entity 'User'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."`
    pub message: String,
}

impl SoqlError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> SoqlError {
        SoqlError {
            code,
            message: message.into(),
        }
    }

    /// An error with the position marker: `position` is the 1-based character position in `text`
    /// of the token at fault.
    pub fn at(code: ErrorCode, text: &str, position: usize, message: &str) -> SoqlError {
        SoqlError::new(code, marked(text, position, message))
    }
}

/// How many characters of the row Salesforce shows before and after the error's column.
const BEFORE: usize = 30;
const AFTER: usize = 35;

/// `"\n{excerpt}\n{caret}\nERROR at Row:R:Column:C\n{message}"`. The excerpt is the error's row;
/// a long row is cut, as Salesforce does, to about 30 characters before the column and 35 from it,
/// widened to whole tokens.
pub fn marked(text: &str, position: usize, message: &str) -> String {
    let position = position.max(1);
    // Row and column of the position (rows split at '\n').
    let mut row = 1;
    let mut line_start_char = 0; // char index where the row starts
    let mut line_start_byte = 0;
    for (i, (byte, c)) in text.char_indices().enumerate() {
        if i + 1 >= position {
            break;
        }
        if c == '\n' {
            row += 1;
            line_start_char = i + 1;
            line_start_byte = byte + 1;
        }
    }
    let column = position - line_start_char;
    let line = text[line_start_byte..]
        .split('\n')
        .next()
        .unwrap_or("")
        .trim_end_matches('\r');
    let chars: Vec<char> = line.chars().collect();
    let col0 = (column - 1).min(chars.len());
    // Token spans of this row, in char indexes, to widen the window to whole tokens.
    let spans = crate::lex::spans(line);
    let mut start = col0.saturating_sub(BEFORE);
    if start > 0 {
        if let Some(&(s, _)) = spans.iter().find(|&&(s, e)| s <= start && start < e) {
            start = s;
        } else {
            while start < col0 && chars[start].is_whitespace() {
                start += 1;
            }
        }
    }
    let mut end = (col0 + AFTER).min(chars.len());
    if let Some(&(_, e)) = spans.iter().find(|&&(s, e)| s < end && end < e) {
        end = e;
    }
    let excerpt: String = chars[start..end.max(start)].iter().collect();
    let caret = " ".repeat(col0 - start);
    format!(
        "\n{}\n{caret}^\nERROR at Row:{row}:Column:{column}\n{message}",
        excerpt.trim_end()
    )
}
