//! Durations as people type them for `byoc clock advance` (docs/org-as-code.md, "The org
//! clock"): a number and a unit, repeated — `90s`, `15m`, `3h`, `2d`, `1w`, `1h30m`, `500ms` —
//! optionally after a `-` (move back). And the other way: an offset shown as `+3h`,
//! `-1d 2h 5m`.

/// The longest move one `advance` may make (about 1000 years): far beyond any test's need, and
/// far from the limits of the arithmetic and of calendar dates.
pub const MAX_DURATION_MILLIS: i64 = 1000 * 366 * 86_400_000;

const UNITS: [(&str, i64); 6] = [
    ("ms", 1),
    ("s", 1000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 7 * 86_400_000),
];

/// Parse a duration into milliseconds. The error says what was wrong and what is accepted.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let help = "use a number and a unit, repeated: 90s, 15m, 3h, 2d, 1w, 1h30m (ms, s, m, h, d, w), with a leading - to move back";
    let trimmed = text.trim();
    let (negative, rest) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    if rest.is_empty() {
        return Err(format!("{:?} is not a duration: {help}", shown(text)));
    }
    let mut total: i64 = 0;
    let mut chars = rest.char_indices().peekable();
    while chars.peek().is_some() {
        let start = chars.peek().map(|(i, _)| *i).unwrap_or(0);
        let mut end = start;
        while let Some((i, c)) = chars.peek().copied() {
            if c.is_ascii_digit() {
                end = i + 1;
                chars.next();
            } else {
                break;
            }
        }
        if end == start {
            return Err(format!(
                "{:?} is not a duration (a number must come before each unit): {help}",
                shown(text)
            ));
        }
        let unit_start = end;
        let mut unit_end = end;
        while let Some((i, c)) = chars.peek().copied() {
            if c.is_ascii_alphabetic() {
                unit_end = i + 1;
                chars.next();
            } else {
                break;
            }
        }
        let unit = &rest[unit_start..unit_end];
        let Some((_, factor)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(if unit.is_empty() {
                format!(
                    "{:?} is not a duration (a unit must follow each number): {help}",
                    shown(text)
                )
            } else {
                format!(
                    "{:?} is not a duration (unknown unit {:?}): {help}",
                    shown(text),
                    shown(unit)
                )
            });
        };
        let amount = rest[start..end]
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(*factor))
            .and_then(|n| total.checked_add(n))
            .filter(|n| *n <= MAX_DURATION_MILLIS);
        match amount {
            Some(n) => total = n,
            None => {
                return Err(format!(
                    "{:?} is too long: the clock moves at most 1000 years at a time",
                    shown(text)
                ))
            }
        }
    }
    Ok(if negative { -total } else { total })
}

/// An offset for people: `+3h`, `-2d 4h`, `+1h 30m 15s`, `+250ms`, `0s`.
pub fn format_offset(millis: i64) -> String {
    if millis == 0 {
        return "0s".to_string();
    }
    let sign = if millis < 0 { '-' } else { '+' };
    let mut rest = millis.unsigned_abs();
    let mut parts = Vec::new();
    for (name, factor) in [
        ("d", 86_400_000u64),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        let n = rest / factor;
        rest %= factor;
        if n > 0 {
            parts.push(format!("{n}{name}"));
        }
    }
    format!("{sign}{}", parts.join(" "))
}

/// What an error message shows of user input: printable, at most 40 characters.
fn shown(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_people_type() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("15m"), Ok(900_000));
        assert_eq!(parse_duration("3h"), Ok(10_800_000));
        assert_eq!(parse_duration("2d"), Ok(172_800_000));
        assert_eq!(parse_duration("1w"), Ok(604_800_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration(" 500ms "), Ok(500));
        assert_eq!(parse_duration("-1d"), Ok(-86_400_000));
        assert_eq!(parse_duration("+73h"), Ok(73 * 3_600_000));
        assert_eq!(parse_duration("0s"), Ok(0));
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        for (text, says) in [
            ("", "is not a duration"),
            ("3", "a unit must follow"),
            ("h", "a number must come before"),
            ("3x", "unknown unit \"x\""),
            ("3 h", "a unit must follow"),
            ("1.5h", "a unit must follow"),
            ("99999999999999999999d", "too long"),
            ("1001y", "unknown unit"),
            ("400000d", "too long"),
            ("--3h", "a number must come before"),
        ] {
            let e = parse_duration(text).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
            assert!(e.contains("90s") || e.contains("1000 years"), "{e}");
        }
    }

    #[test]
    fn offsets_read_back() {
        assert_eq!(format_offset(0), "0s");
        assert_eq!(format_offset(10_800_000), "+3h");
        assert_eq!(format_offset(-(2 * 86_400_000 + 4 * 3_600_000)), "-2d 4h");
        assert_eq!(format_offset(5_415_250), "+1h 30m 15s 250ms");
        assert_eq!(format_offset(i64::MIN).chars().next(), Some('-'));
    }
}
