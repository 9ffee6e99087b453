//! The SOQL parser. (Skeleton: the soql helper replaces this with a parser built on a parser
//! library.)

use crate::ast::Query;
use crate::error::{ErrorCode, SoqlError};

/// Parse `text` (already URL-decoded).
pub fn parse(text: &str) -> Result<Query, SoqlError> {
    Err(SoqlError::new(
        ErrorCode::MalformedQuery,
        format!(
            "unexpected token: '{}'",
            text.split_whitespace().next().unwrap_or("")
        ),
    ))
}
