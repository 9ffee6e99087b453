//! Conversions between chrono (the workspace's clock type) and what rcgen / x509-parser use.
//! X.509 validity has one-second resolution, so sub-second parts are dropped.

use chrono::{DateTime, Utc};

use crate::PkiError;

pub(crate) fn to_offset(t: DateTime<Utc>) -> Result<time::OffsetDateTime, PkiError> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(|_| {
        PkiError::InvalidInput(format!("the date {t} cannot be written in a certificate"))
    })
}

pub(crate) fn from_asn1(t: x509_parser::time::ASN1Time) -> Result<DateTime<Utc>, PkiError> {
    DateTime::from_timestamp(t.timestamp(), 0)
        .ok_or_else(|| PkiError::CertificateParse(format!("the validity date {t} is out of range")))
}

/// `now + days`, refusing overflow instead of wrapping.
pub(crate) fn add_days(now: DateTime<Utc>, days: u32) -> Result<DateTime<Utc>, PkiError> {
    chrono::Duration::try_days(i64::from(days))
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| PkiError::InvalidInput(format!("{days} days is too far in the future")))
}
