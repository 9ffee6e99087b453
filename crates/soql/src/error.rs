//! Query errors, with Salesforce's codes and message text.

/// `errorCode` of a REST error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    MalformedQuery,
    InvalidField,
    InvalidType,
    InvalidQueryFilterOperator,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedQuery => "MALFORMED_QUERY",
            ErrorCode::InvalidField => "INVALID_FIELD",
            ErrorCode::InvalidType => "INVALID_TYPE",
            ErrorCode::InvalidQueryFilterOperator => "INVALID_QUERY_FILTER_OPERATOR",
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
}
