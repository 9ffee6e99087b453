//! The SOQL lexer, built on winnow: identifiers, string literals with SOQL's escapes, numbers,
//! date and dateTime literals, operators and punctuation, each with its position for the
//! `ERROR at Row:R:Column:C` marker.

use winnow::combinator::{alt, eof, opt, preceded};
use winnow::prelude::*;
use winnow::token::{any, one_of, take_while};

use crate::ast::CompareOp;
use crate::error::{ErrorCode, SoqlError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tk {
    /// A name or keyword; its text is the token's span.
    Ident,
    /// A quoted string, unescaped, except `\%` and `\_`, which stay escaped for `LIKE`.
    Str(String),
    Int(i64),
    Dec(f64),
    /// Milliseconds since the epoch (UTC).
    DateTime(i64),
    /// Days since the epoch.
    Date(i32),
    Comma,
    LParen,
    RParen,
    Dot,
    Colon,
    Op(CompareOp),
    /// Any other character (`$`, `@`, `*`, `;`…): always an unexpected token.
    Other,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tk,
    /// Byte range in the query text.
    pub start: usize,
    pub end: usize,
    /// 1-based character position in the query text.
    pub pos: usize,
}

/// Why lexing stopped, before it is turned into Salesforce's text.
#[derive(Debug)]
pub(crate) struct LexError {
    pub pos: usize,
    pub kind: LexErrorKind,
}

#[derive(Debug)]
pub(crate) enum LexErrorKind {
    /// A string literal without its closing quote.
    Unterminated,
    /// `\z` and the like in a string literal: the literal's text and the sequence.
    BadEscape(String, String),
    InvalidDate(String),
    InvalidDateTime(String),
    /// A word starting with a digit that is no number or date.
    BadWord(String),
}

/// The tokens of `text`, ending with [`Tk::Eof`], or Salesforce's error.
pub(crate) fn lex(text: &str) -> Result<Vec<Token>, SoqlError> {
    tokens(text).map_err(|e| match e.kind {
        LexErrorKind::Unterminated => {
            SoqlError::new(ErrorCode::MalformedQuery, "unexpected token: '<EOF>'")
        }
        LexErrorKind::BadEscape(literal, seq) => SoqlError::at(
            ErrorCode::MalformedQuery,
            text,
            e.pos,
            &format!(
                "Invalid string literal '{literal}'. Illegal character sequence '{seq}' in string literal."
            ),
        ),
        LexErrorKind::InvalidDate(w) => SoqlError::at(
            ErrorCode::MalformedQuery,
            text,
            e.pos,
            &format!("Invalid date: {w}"),
        ),
        LexErrorKind::InvalidDateTime(w) => SoqlError::at(
            ErrorCode::MalformedQuery,
            text,
            e.pos,
            &format!("Invalid datetime: {w}"),
        ),
        LexErrorKind::BadWord(w) => SoqlError::at(
            ErrorCode::MalformedQuery,
            text,
            e.pos,
            &format!("unexpected token: '{w}'"),
        ),
    })
}

/// Token spans of `line` as char index ranges, for the marker's window; a line that does not
/// lex (a string cut by a line break) falls back to whitespace-separated words.
pub(crate) fn spans(line: &str) -> Vec<(usize, usize)> {
    let to_char = |byte: usize| line[..byte].chars().count();
    match tokens(line) {
        Ok(toks) => toks
            .iter()
            .filter(|t| t.kind != Tk::Eof)
            .map(|t| (t.pos - 1, to_char(t.end)))
            .collect(),
        Err(_) => {
            let mut out = vec![];
            let mut start = None;
            for (i, c) in line.chars().enumerate() {
                match (c.is_whitespace(), start) {
                    (false, None) => start = Some(i),
                    (true, Some(s)) => {
                        out.push((s, i));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = start {
                out.push((s, line.chars().count()));
            }
            out
        }
    }
}

fn tokens(text: &str) -> Result<Vec<Token>, LexError> {
    let mut input = text;
    let mut out = Vec::new();
    let mut chars_before = 0usize; // chars consumed so far
    let mut last_byte = 0usize;
    loop {
        let _ = take_while::<_, _, winnow::error::ContextError>(0.., char::is_whitespace)
            .parse_next(&mut input);
        let start = text.len() - input.len();
        chars_before += text[last_byte..start].chars().count();
        last_byte = start;
        let pos = chars_before + 1;
        if input.is_empty() {
            out.push(Token {
                kind: Tk::Eof,
                start,
                end: start,
                pos,
            });
            return Ok(out);
        }
        let kind = token(&mut input, pos)?;
        let end = text.len() - input.len();
        out.push(Token {
            kind,
            start,
            end,
            pos,
        });
    }
}

fn token(input: &mut &str, pos: usize) -> Result<Tk, LexError> {
    let first = input.chars().next().unwrap_or(' ');
    let second = input.chars().nth(1);
    if first == '\'' {
        return string(input, pos);
    }
    if first.is_ascii_digit()
        || (matches!(first, '-' | '+') && second.is_some_and(|c| c.is_ascii_digit()))
    {
        let word = numeric_word(input);
        return classify(word).map_err(|kind| LexError { pos, kind });
    }
    if first.is_ascii_alphabetic() || first == '_' {
        let _ = ident.parse_next(input);
        return Ok(Tk::Ident);
    }
    Ok(punct.parse_next(input).unwrap_or(Tk::Other))
}

fn punct(input: &mut &str) -> winnow::ModalResult<Tk> {
    alt((
        alt((
            "!=".value(Tk::Op(CompareOp::Ne)),
            "<>".value(Tk::Op(CompareOp::Ne)),
            "<=".value(Tk::Op(CompareOp::Le)),
            ">=".value(Tk::Op(CompareOp::Ge)),
            "=".value(Tk::Op(CompareOp::Eq)),
            "<".value(Tk::Op(CompareOp::Lt)),
            ">".value(Tk::Op(CompareOp::Gt)),
        )),
        alt((
            ",".value(Tk::Comma),
            "(".value(Tk::LParen),
            ")".value(Tk::RParen),
            ".".value(Tk::Dot),
            ":".value(Tk::Colon),
            any.value(Tk::Other),
        )),
    ))
    .parse_next(input)
}

fn ident<'i>(input: &mut &'i str) -> winnow::ModalResult<&'i str> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .parse_next(input)
}

/// A sign, a digit, then everything a number or dateTime literal may hold.
fn numeric_word<'i>(input: &mut &'i str) -> &'i str {
    let r: winnow::ModalResult<&str> = (
        opt(one_of(['-', '+'])),
        take_while(1.., |c: char| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | ':' | '.')
        }),
    )
        .take()
        .parse_next(input);
    r.unwrap_or_default()
}

fn classify(word: &str) -> Result<Tk, LexErrorKind> {
    let digits = word.trim_start_matches(['-', '+']);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(match word.parse::<i64>() {
            Ok(i) => Tk::Int(i),
            Err(_) => Tk::Dec(word.parse::<f64>().unwrap_or(f64::INFINITY)),
        });
    }
    if is_decimal(digits) {
        if let Ok(d) = word.parse::<f64>() {
            return Ok(Tk::Dec(d));
        }
    }
    // Dates: `2026-01-01`; dateTimes: `2026-01-01T00:00:00Z`, `…00.000+0000`, `…00-05:00`.
    let looks_like_date = word.len() >= 5
        && word.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && word.as_bytes()[4] == b'-';
    if looks_like_date {
        let is_datetime = word.contains(['T', 't']);
        return match date_time.parse(word) {
            Ok((y, m, d, None)) => days_from_civil(y, m, d)
                .map(Tk::Date)
                .ok_or(LexErrorKind::InvalidDate(word.into())),
            Ok((y, m, d, Some(t))) => datetime_millis(y, m, d, t)
                .map(Tk::DateTime)
                .ok_or(LexErrorKind::InvalidDateTime(word.into())),
            Err(_) if is_datetime => Err(LexErrorKind::InvalidDateTime(word.into())),
            Err(_) => Err(LexErrorKind::InvalidDate(word.into())),
        };
    }
    Err(LexErrorKind::BadWord(word.into()))
}

fn is_decimal(s: &str) -> bool {
    let mut parts = s.splitn(2, '.');
    let (a, b) = (parts.next().unwrap_or(""), parts.next());
    match b {
        Some(b) => {
            (!a.is_empty() || !b.is_empty())
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Time of day: hours, minutes, seconds, milliseconds, and the zone's offset in minutes.
type TimeOfDay = (u32, u32, u32, u32, i32);

fn n_digits(n: usize) -> impl FnMut(&mut &str) -> winnow::ModalResult<u32> {
    move |input: &mut &str| {
        take_while(n..=n, |c: char| c.is_ascii_digit())
            .try_map(str::parse::<u32>)
            .parse_next(input)
    }
}

fn date_time(input: &mut &str) -> winnow::ModalResult<(i32, u32, u32, Option<TimeOfDay>)> {
    let y = n_digits(4).parse_next(input)?;
    let (_, m, _, d) = ('-', n_digits(2), '-', n_digits(2)).parse_next(input)?;
    let time = opt(preceded(one_of(['T', 't']), time_of_day)).parse_next(input)?;
    eof.parse_next(input)?;
    Ok((y as i32, m, d, time))
}

fn time_of_day(input: &mut &str) -> winnow::ModalResult<TimeOfDay> {
    let (h, _, mi, _, s) = (n_digits(2), ':', n_digits(2), ':', n_digits(2)).parse_next(input)?;
    let ms = opt(preceded(
        '.',
        take_while(1..=3, |c: char| c.is_ascii_digit()).map(|f: &str| {
            let v: u32 = f.parse().unwrap_or(0);
            v * 10u32.pow(3 - f.len() as u32)
        }),
    ))
    .parse_next(input)?
    .unwrap_or(0);
    let zone = alt((
        one_of(['Z', 'z']).value(0i32),
        (one_of(['+', '-']), n_digits(2), opt(':'), n_digits(2)).verify_map(|(sign, zh, _, zm)| {
            if zh > 23 || zm > 59 {
                return None;
            }
            let minutes = (zh * 60 + zm) as i32;
            Some(if sign == '-' { -minutes } else { minutes })
        }),
    ))
    .parse_next(input)?;
    Ok((h, mi, s, ms, zone))
}

/// Days since 1970-01-01 of a valid civil date (Howard Hinnant's algorithm), or `None`.
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> Option<i32> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d == 0 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe - 719_468).ok()
}

fn datetime_millis(y: i32, m: u32, d: u32, (h, mi, s, ms, zone): TimeOfDay) -> Option<i64> {
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = i64::from(days_from_civil(y, m, d)?);
    let local = days * 86_400_000
        + i64::from(h) * 3_600_000
        + i64::from(mi) * 60_000
        + i64::from(s) * 1000
        + i64::from(ms);
    Some(local - i64::from(zone) * 60_000)
}

/// A quoted string: `'…'` with `\' \" \\ \n \r \t \b \f \uXXXX`; `\%` and `\_` are kept escaped
/// (they mean a literal `%` or `_` in `LIKE`).
fn string(input: &mut &str, pos: usize) -> Result<Tk, LexError> {
    let whole = *input;
    let mut chars = whole.char_indices().skip(1);
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => {
                *input = &whole[i + 1..];
                return Ok(Tk::Str(out));
            }
            '\\' => {
                let Some((j, e)) = chars.next() else {
                    break;
                };
                match e {
                    '\'' | '"' | '\\' => out.push(e),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    '%' | '_' => {
                        out.push('\\');
                        out.push(e);
                    }
                    'u' => {
                        let hex = whole.get(j + 1..j + 5).unwrap_or("");
                        let decoded = (hex.len() == 4
                            && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                        .and_then(char::from_u32);
                        match decoded {
                            Some(ch) => {
                                out.push(ch);
                                for _ in 0..4 {
                                    chars.next();
                                }
                            }
                            None => return Err(bad_escape(whole, pos, "\\u")),
                        }
                    }
                    other => return Err(bad_escape(whole, pos, &format!("\\{other}"))),
                }
            }
            other => out.push(other),
        }
    }
    Err(LexError {
        pos,
        kind: LexErrorKind::Unterminated,
    })
}

fn bad_escape(whole: &str, pos: usize, seq: &str) -> LexError {
    // The literal as written, up to its closing quote (or the end).
    let mut end = whole.len();
    let mut escaped = false;
    for (i, c) in whole.char_indices().skip(1) {
        match (c, escaped) {
            ('\\', false) => escaped = true,
            ('\'', false) => {
                end = i;
                break;
            }
            _ => escaped = false,
        }
    }
    LexError {
        pos,
        kind: LexErrorKind::BadEscape(whole[1..end].to_string(), seq.to_string()),
    }
}
