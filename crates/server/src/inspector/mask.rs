//! Masking secrets before a call is kept: the inspector shows what a partner sent and got, but
//! never a credential someone could reuse (an access or refresh token, the JWT assertion, a
//! consumer secret, a password, the admin credential, a private key, a session cookie).
//!
//! A secret keeps a short prefix when it is long enough that the prefix says nothing (an
//! assertion starts `eyJhbG`, every access token `00D`), so a partner can still tell which
//! value was sent: `eyJhbG…****`. Short values become `****`.

/// Names (lower case, `_` and `-` removed) whose values are secrets, in forms, JSON and queries.
const SECRET_NAMES: &[&str] = &[
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "token",
    "admintoken",
    "assertion",
    "clientassertion",
    "clientsecret",
    "consumersecret",
    "secret",
    "password",
    "newpassword",
    "adminpassword",
    "privatekey",
    "code",
    "sid",
    "sessionid",
    "csrf",
];

/// Headers whose values are credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Whether a parameter or member name holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_NAMES.contains(&folded.as_str())
}

/// A secret value as shown: a six-character prefix and `…****` for values of 16 characters or
/// more, `****` otherwise (empty stays empty).
pub fn secret(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    if value.chars().count() >= 16 {
        let head: String = value.chars().take(6).collect();
        format!("{head}…****")
    } else {
        "****".to_string()
    }
}

/// A header value as shown: credentials masked (the scheme of `Authorization` kept).
pub fn header(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if SECRET_HEADERS.contains(&lower.as_str()) {
        if lower.ends_with("authorization") {
            if let Some((scheme, rest)) = value.trim().split_once(' ') {
                return format!("{scheme} {}", secret(rest.trim()));
            }
        }
        return secret(value);
    }
    if lower.contains("token") || lower.contains("secret") || lower.contains("password") {
        return secret(value);
    }
    value.to_string()
}

/// An `application/x-www-form-urlencoded` body or a query string, decoded for reading, with
/// secret parameters masked.
pub fn form(text: &str) -> String {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| {
            if is_secret_name(&k) {
                format!("{k}={}", secret(&v))
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A JSON body with the values of secret members masked (at any depth). Text that is not JSON
/// (a body cut short) goes through [`text`] instead.
pub fn json(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut value) => {
            mask_value(&mut value);
            serde_json::to_string(&value).unwrap_or_default()
        }
        Err(_) => text(body),
    }
}

fn mask_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(members) => {
            for (name, v) in members.iter_mut() {
                if is_secret_name(name) {
                    if let serde_json::Value::String(s) = v {
                        *s = secret(s);
                    } else if !v.is_null() {
                        *v = serde_json::Value::String("****".into());
                    }
                } else {
                    mask_value(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_value),
        serde_json::Value::String(s) if s.contains("PRIVATE KEY-----") => *s = text(s),
        _ => {}
    }
}

/// Any other text (a truncated JSON body, a multipart body): `"name": "value"` and
/// `name=value` pairs with a secret name are masked, and PEM private keys removed.
pub fn text(body: &str) -> String {
    let mut out = private_keys(body);
    for quoted in [true, false] {
        out = pairs(&out, quoted);
    }
    xml_elements(&out)
}

/// Mask the text of XML elements with a secret local name, whatever their prefix: a SOAP
/// `login`'s `<n1:password>` and its answer's `<sessionId>`. A scan, not a parse, so a body cut
/// short (or not XML at all) is masked as far as it goes.
fn xml_elements(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            break;
        };
        let tag = &after[..close];
        out.push_str(&rest[..open + 1 + close + 1]);
        rest = &after[close + 1..];
        if tag.starts_with('/')
            || tag.ends_with('/')
            || tag.starts_with('?')
            || tag.starts_with('!')
        {
            continue;
        }
        let name = tag.split(|c: char| c.is_whitespace()).next().unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        if !is_secret_name(local) {
            continue;
        }
        let end = rest.find('<').unwrap_or(rest.len());
        out.push_str(&secret(&rest[..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Replace every `-----BEGIN … PRIVATE KEY-----` block (or its start, when cut) with a marker.
fn private_keys(body: &str) -> String {
    const BEGIN: &str = "-----BEGIN";
    const END: &str = "-----END";
    const DASHES: &str = "-----";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let label = after.find(DASHES).map(|e| &after[..e]).unwrap_or(after);
        if !label.contains("PRIVATE KEY") {
            out.push_str(&rest[..start + BEGIN.len()]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..start]);
        out.push_str("(private key, masked)");
        rest = match after.find(END) {
            Some(e) => {
                let tail = &after[e + END.len()..];
                tail.find(DASHES)
                    .map(|d| &tail[d + DASHES.len()..])
                    .unwrap_or("")
            }
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Mask the values of `"name": "value"` (quoted) or `name=value` (unquoted) pairs with a secret
/// name.
fn pairs(body: &str, quoted: bool) -> String {
    let sep = if quoted { ':' } else { '=' };
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    let bytes = body.as_bytes();
    while i < body.len() {
        let Some(pos) = body[i..].find(sep).map(|p| p + i) else {
            break;
        };
        // The name before the separator.
        let before = &body[i..pos];
        let name = if quoted {
            let trimmed = before.trim_end();
            trimmed.strip_suffix('"').and_then(|t| {
                let open = t.rfind('"')?;
                Some(&t[open + 1..])
            })
        } else {
            let start = before
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
                .map(|(p, c)| p + c.len_utf8())
                .unwrap_or(0);
            Some(&before[start..])
        };
        out.push_str(&body[i..=pos]);
        i = pos + 1;
        if !name.is_some_and(is_secret_name) {
            continue;
        }
        if quoted {
            // Skip spaces, then a quoted value.
            let ws = body[i..].len() - body[i..].trim_start().len();
            out.push_str(&body[i..i + ws]);
            i += ws;
            if bytes.get(i) != Some(&b'"') {
                continue;
            }
            out.push('"');
            i += 1;
            let mut end = i;
            while end < body.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            let mut end = end.min(body.len());
            while !body.is_char_boundary(end) {
                end += 1;
            }
            out.push_str(&secret(&body[i..end]));
            i = end;
        } else {
            let end = body[i..]
                .find(|c: char| c == '&' || c.is_whitespace())
                .map(|p| p + i)
                .unwrap_or(body.len());
            out.push_str(&secret(&body[i..end]));
            i = end;
        }
    }
    if i < body.len() {
        out.push_str(&body[i..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrZXkifQ.c2lnbmF0dXJlLXZhbHVl";

    #[test]
    fn forms_keep_names_and_mask_secret_values() {
        let shown = form(&format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={ASSERTION}&client_secret=abc"
        ));
        assert_eq!(
            shown,
            "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=eyJhbG…****&client_secret=****"
        );
    }

    #[test]
    fn json_members_are_masked_at_any_depth() {
        let shown = json(
            r#"{"access_token":"00D000000000001!AQ4AQHc8ssdfsdfsdf","nested":[{"consumerSecret":"S3CR3T"}],"scope":"api"}"#,
        );
        assert!(!shown.contains("AQ4AQ"), "{shown}");
        assert!(!shown.contains("S3CR3T"), "{shown}");
        assert!(shown.contains(r#""access_token":"00D000…****""#), "{shown}");
        assert!(shown.contains(r#""scope":"api""#), "{shown}");
    }

    #[test]
    fn cut_json_and_other_text_is_masked_too() {
        let shown = json(&format!(r#"{{"scope":"api","access_token" : "{ASSERTION}"#));
        assert!(!shown.contains(ASSERTION), "{shown}");
        let shown = text(&format!("x=1&assertion={ASSERTION} tail"));
        assert_eq!(shown, "x=1&assertion=eyJhbG…**** tail");
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\nafter";
        let shown = text(&format!("key: {pem}"));
        assert_eq!(shown, "key: (private key, masked)\nafter");
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert_eq!(text(cert), cert);
    }

    #[test]
    fn credentials_in_headers_are_masked() {
        assert_eq!(
            header("Authorization", "Bearer 00D000000000001!AQ4AQHc8ssdf"),
            "Bearer 00D000…****"
        );
        assert_eq!(header("Cookie", "sid=abc"), "****");
        assert_eq!(header("Content-Type", "text/plain"), "text/plain");
    }

    #[test]
    fn xml_secrets_are_masked_whatever_the_prefix() {
        let shown = text(
            r#"<?xml version="1.0"?><env:Envelope><env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>a@b.c</n1:username><n1:password>hunter2</n1:password></n1:login></env:Body></env:Envelope>"#,
        );
        assert!(shown.contains("<n1:password>****</n1:password>"), "{shown}");
        assert!(
            shown.contains("<n1:username>a@b.c</n1:username>"),
            "{shown}"
        );
        let shown = text("<result><sessionId>00D000000000001!AQ4AQHc8ssdfsdfsdf</sessionId><userId>005</userId></result>");
        assert!(
            shown.contains("<sessionId>00D000…****</sessionId>"),
            "{shown}"
        );
        // Cut short inside the secret.
        assert_eq!(text("<password>hunter2"), "<password>****");
    }
}
