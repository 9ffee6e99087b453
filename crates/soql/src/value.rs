//! Field values and their JSON form.

/// A field value in a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    String(String),
    /// Milliseconds since the epoch; JSON `"2026-11-29T13:04:35.000+0000"` as Salesforce writes it.
    DateTime(i64),
    /// Days since the epoch; JSON `"2026-11-29"`.
    Date(i32),
}

impl Value {
    /// The JSON Salesforce's REST API gives for this value.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Double(d) => serde_json::Number::from_f64(*d)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => s.clone().into(),
            Value::DateTime(ms) => format_datetime(*ms).into(),
            Value::Date(days) => format_date(*days).into(),
        }
    }
}

/// `2026-11-29T13:04:35.000+0000` (UTC), Salesforce's REST form of a dateTime.
pub fn format_datetime(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let ms_of_day = millis.rem_euclid(86_400_000);
    let (h, m, s, ms) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    format!(
        "{}T{h:02}:{m:02}:{s:02}.{ms:03}+0000",
        format_date(days as i32)
    )
}

/// `2026-11-29`: a civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn format_date(days: i32) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_written_as_salesforce_does() {
        assert_eq!(format_datetime(0), "1970-01-01T00:00:00.000+0000");
        assert_eq!(
            format_datetime(1_795_957_475_123),
            "2026-11-29T13:04:35.123+0000"
        );
        assert_eq!(format_date(-1), "1969-12-31");
    }
}
