//! A partner connector's settings, read from a `partner.env`-style file or the environment, with
//! the variable names of Salesforce's public BYOC samples (DESIGN.md §3,
//! [`byoc_proto::files::partner_env`]), so the same file drives byoc and a real org.
//!
//! ```no_run
//! # fn demo() -> Result<(), byoc_client::settings::SettingsError> {
//! use byoc_client::settings::PartnerSettings;
//! // The file `byoc serve` writes, with the process environment taking precedence.
//! let settings = PartnerSettings::from_env_file(".byoc/partner.env")?.overlay(PartnerSettings::from_env());
//! let jwt = settings.jwt_bearer()?;          // for token::JwtBearer / token::TokenProvider
//! let api = settings.interaction()?;         // for interaction::InteractionClient
//! let pubsub = settings.pubsub(None)?;       // for pubsub::Subscriber
//! # let _ = (jwt, api, pubsub); Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use byoc_proto::files::partner_env as env;

use crate::interaction::InteractionSettings;
use crate::pubsub::PubSubSettings;
use crate::token::JwtBearerSettings;

/// An access token to use as is instead of the JWT Bearer flow (not in the samples' files;
/// `byoc listen` and `byoc send` honour it).
pub const SF_ACCESS_TOKEN: &str = "SF_ACCESS_TOKEN";

/// Every variable [`PartnerSettings::from_env`] reads.
pub const ALL: &[&str] = &[
    env::SF_CONSUMER_KEY,
    env::SF_PRIVATE_KEY,
    env::SF_AUDIENCE,
    env::SF_SUBJECT,
    env::SF_AUTH_ENDPOINT,
    env::SF_INSTANCE_URL,
    env::SF_SCRT_INSTANCE_URL,
    env::SF_PUB_SUB_ENDPOINT,
    env::SF_PUB_SUB_TOPIC_NAME,
    env::SF_ORG_ID,
    env::SF_AUTHORIZATION_CONTEXT,
    env::CHANNEL_ADDRESS_IDENTIFIER,
    env::END_USER_CLIENT_IDENTIFIER,
    env::SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD,
    env::SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD,
    env::SF_PUB_SUB_CUSTOM_EVENT_CHANNEL_ADDRESS_ID_FIELD,
    env::SF_PUB_SUB_CUSTOM_EVENT_RECIPIENT_FIELD,
    env::SF_PUB_SUB_EVENT_RECEIVE_LIMIT,
    SF_ACCESS_TOKEN,
];

/// Why settings could not be read or are incomplete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("can't read the env file {}: {message}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A line of the file is not `KEY=value`.
    #[error("{}: {message}", .path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "env file".into()))]
    Syntax {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// The line and what is wrong with it.
        message: String,
    },
    /// A required variable is unset or empty; `file` is the env file that was read, if any.
    #[error("{name} is not set (environment{})", .file.as_ref().map(|p| format!(" or {}", p.display())).unwrap_or_default())]
    Missing {
        /// The variable.
        name: String,
        /// The env file read, if any.
        file: Option<PathBuf>,
    },
}

/// Settings by variable name, with where the file ones came from.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PartnerSettings {
    values: BTreeMap<String, String>,
    file: Option<PathBuf>,
}

// Hand-written: the private key and any access token stay out of logs.
impl fmt::Debug for PartnerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: BTreeMap<&str, &str> = self
            .values
            .iter()
            .map(|(k, v)| {
                let secret = k == env::SF_PRIVATE_KEY || k == SF_ACCESS_TOKEN;
                (k.as_str(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("PartnerSettings")
            .field("values", &shown)
            .field("file", &self.file)
            .finish()
    }
}

impl PartnerSettings {
    /// No settings.
    pub fn new() -> PartnerSettings {
        PartnerSettings::default()
    }

    /// The variables of a `partner.env`-style file (see [`parse_env_file`]).
    pub fn from_env_file(path: impl AsRef<Path>) -> Result<PartnerSettings, SettingsError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Read {
            path: path.to_path_buf(),
            message: io_words(&e),
        })?;
        let mut settings = PartnerSettings::parse(&text).map_err(|e| match e {
            SettingsError::Syntax { message, .. } => SettingsError::Syntax {
                path: Some(path.to_path_buf()),
                message,
            },
            other => other,
        })?;
        settings.file = Some(path.to_path_buf());
        Ok(settings)
    }

    /// The variables of `partner.env`-style text.
    pub fn parse(text: &str) -> Result<PartnerSettings, SettingsError> {
        let values = parse_env_file(text)
            .map_err(|message| SettingsError::Syntax {
                path: None,
                message,
            })?
            .into_iter()
            .collect();
        Ok(PartnerSettings { values, file: None })
    }

    /// The variables of [`ALL`] that the process environment sets (non-empty).
    pub fn from_env() -> PartnerSettings {
        let values = ALL
            .iter()
            .filter_map(|name| {
                let value = std::env::var(name).ok()?;
                (!value.trim().is_empty()).then(|| (name.to_string(), value))
            })
            .collect();
        PartnerSettings { values, file: None }
    }

    /// `self` with `over`'s values replacing its own (e.g. the environment over a file).
    pub fn overlay(mut self, over: PartnerSettings) -> PartnerSettings {
        self.values.extend(over.values);
        if over.file.is_some() {
            self.file = over.file;
        }
        self
    }

    /// Set one variable (a command-line flag, say); an empty value is ignored.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if !value.trim().is_empty() {
            self.values.insert(name.to_string(), value);
        }
    }

    /// [`PartnerSettings::set`] for `Some` values.
    pub fn set_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.set(name, v);
        }
    }

    /// The env file the settings were read from, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// A variable's value, trimmed; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A variable's value, or [`SettingsError::Missing`].
    pub fn require(&self, name: &str) -> Result<&str, SettingsError> {
        self.get(name).ok_or_else(|| SettingsError::Missing {
            name: name.to_string(),
            file: self.file.clone(),
        })
    }

    /// `SF_PRIVATE_KEY` as PEM: a key exported into a shell from `partner.env` keeps its `\n`
    /// escapes, which are undone here.
    pub fn private_key_pem(&self) -> Result<String, SettingsError> {
        let raw = self.require(env::SF_PRIVATE_KEY)?;
        Ok(unescape_pem(raw))
    }

    /// The JWT Bearer settings: `SF_AUTH_ENDPOINT`, `SF_CONSUMER_KEY`, `SF_SUBJECT`,
    /// `SF_AUDIENCE`, `SF_PRIVATE_KEY`.
    pub fn jwt_bearer(&self) -> Result<JwtBearerSettings, SettingsError> {
        Ok(JwtBearerSettings {
            token_url: self.require(env::SF_AUTH_ENDPOINT)?.to_string(),
            consumer_key: self.require(env::SF_CONSUMER_KEY)?.to_string(),
            username: self.require(env::SF_SUBJECT)?.to_string(),
            audience: self.require(env::SF_AUDIENCE)?.to_string(),
            private_key_pem: self.private_key_pem()?,
        })
    }

    /// The Interaction API settings: `SF_SCRT_INSTANCE_URL`, `SF_ORG_ID`,
    /// `SF_AUTHORIZATION_CONTEXT`.
    pub fn interaction(&self) -> Result<InteractionSettings, SettingsError> {
        Ok(InteractionSettings::new(
            self.require(env::SF_SCRT_INSTANCE_URL)?,
            self.require(env::SF_ORG_ID)?,
            self.require(env::SF_AUTHORIZATION_CONTEXT)?,
        ))
    }

    /// The Pub/Sub settings: `SF_PUB_SUB_ENDPOINT`, `SF_INSTANCE_URL`, `SF_ORG_ID`; `ca_cert_pem`
    /// is the CA to trust (byoc's local CA), `None` for the public web PKI.
    pub fn pubsub(&self, ca_cert_pem: Option<String>) -> Result<PubSubSettings, SettingsError> {
        Ok(PubSubSettings {
            endpoint: self.require(env::SF_PUB_SUB_ENDPOINT)?.to_string(),
            ca_cert_pem,
            instance_url: self.require(env::SF_INSTANCE_URL)?.to_string(),
            tenant_id: self.require(env::SF_ORG_ID)?.to_string(),
        })
    }

    /// `CHANNEL_ADDRESS_IDENTIFIER`: where inbound interactions go (`to`).
    pub fn channel_address(&self) -> Result<&str, SettingsError> {
        self.require(env::CHANNEL_ADDRESS_IDENTIFIER)
    }

    /// `END_USER_CLIENT_IDENTIFIER`: who sends them (`from`).
    pub fn end_user(&self) -> Result<&str, SettingsError> {
        self.require(env::END_USER_CLIENT_IDENTIFIER)
    }

    /// `SF_ACCESS_TOKEN`, when set.
    pub fn access_token(&self) -> Option<&str> {
        self.get(SF_ACCESS_TOKEN)
    }
}

/// A PEM with `\n` escapes in place of newlines (one line, as `partner.env` stores it) turned
/// back into PEM; text that already has newlines is returned as is.
pub fn unescape_pem(raw: &str) -> String {
    if raw.contains('\n') {
        raw.to_string()
    } else {
        raw.replace("\\n", "\n")
    }
}

fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// `KEY=value` lines as `partner.env` and the Salesforce samples' `.env` files write them:
/// blank lines and `#` comments skipped, an optional `export ` prefix; double-quoted values take
/// the escapes `\n`, `\r`, `\t`, `\"`, `\\`, `\$` and may span lines (a PEM pasted as is);
/// single-quoted values are literal; unquoted values end at ` #`. Later keys win.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, raw)) = lines.next() {
        let number = index + 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else {
            return Err(format!("line {number}: expected KEY=value"));
        };
        let key = key.trim();
        let valid_key = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid_key {
            return Err(format!("line {number}: {key:?} is not a variable name"));
        }
        let rest = rest.trim_start();
        let value = if let Some(body) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut current = body.to_string();
            loop {
                match unescape_until_quote(&current, &mut value) {
                    Some(after) => {
                        let after = after.trim();
                        if !(after.is_empty() || after.starts_with('#')) {
                            return Err(format!(
                                "line {number}: unexpected text after the closing quote of {key}"
                            ));
                        }
                        break;
                    }
                    None => match lines.next() {
                        Some((_, next)) => {
                            value.push('\n');
                            current = next.to_string();
                        }
                        None => {
                            return Err(format!(
                                "line {number}: the double quote that opens {key}'s value is \
                                 never closed"
                            ))
                        }
                    },
                }
            }
            value
        } else if let Some(body) = rest.strip_prefix('\'') {
            let Some((value, after)) = body.split_once('\'') else {
                return Err(format!(
                    "line {number}: the single quote that opens {key}'s value is never closed"
                ));
            };
            let after = after.trim();
            if !(after.is_empty() || after.starts_with('#')) {
                return Err(format!(
                    "line {number}: unexpected text after the closing quote of {key}"
                ));
            }
            value.to_string()
        } else {
            let value = match rest.find(" #") {
                Some(p) => &rest[..p],
                None => rest,
            };
            value.trim().to_string()
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// Append `text` to `value` up to the first unescaped `"`, resolving escapes; `Some(rest after
/// the quote)`, or `None` when the line ends first.
fn unescape_until_quote<'a>(text: &'a str, value: &mut String) -> Option<&'a str> {
    let mut chars = text.char_indices();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => return Some(chars.as_str()),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 't')) => value.push('\t'),
                Some((_, e @ ('"' | '\\' | '$' | '\''))) => value.push(e),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parsed(text: &str) -> HashMap<String, String> {
        parse_env_file(text).unwrap().into_iter().collect()
    }

    #[test]
    fn partner_env_lines_round_trip() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIIE\"x\\y\n-----END PRIVATE KEY-----\n";
        let escaped = key
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let text = format!(
            "# comment\n\nSF_PRIVATE_KEY=\"{escaped}\"\nexport SF_SUBJECT=admin@example.com # who\nSF_AUDIENCE='https://login.salesforce.com'\n"
        );
        let v = parsed(&text);
        assert_eq!(v["SF_PRIVATE_KEY"], key);
        assert_eq!(v["SF_SUBJECT"], "admin@example.com");
        assert_eq!(v["SF_AUDIENCE"], "https://login.salesforce.com");
    }

    #[test]
    fn the_samples_forms_are_read() {
        let vars = parsed("# c\nA=1\nB=\"x\\ny\"\nexport C='z'\n\nD=\"q\\\"r\"\n");
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "x\ny");
        assert_eq!(vars["C"], "z");
        assert_eq!(vars["D"], "q\"r");
    }

    #[test]
    fn double_quoted_values_may_span_lines() {
        let v = parsed("K=\"line one\nline two\"\nNEXT=1\n");
        assert_eq!(v["K"], "line one\nline two");
        assert_eq!(v["NEXT"], "1");
    }

    #[test]
    fn malformed_lines_name_their_line() {
        assert!(parse_env_file("A=1\njust words\n")
            .unwrap_err()
            .starts_with("line 2:"));
        assert!(parse_env_file("A=\"open\n")
            .unwrap_err()
            .contains("never closed"));
        assert!(parse_env_file("A=\"x\" y\n")
            .unwrap_err()
            .contains("after the closing quote"));
        assert!(parse_env_file("1A=x\n")
            .unwrap_err()
            .contains("not a variable name"));
    }

    #[test]
    fn overlays_win_and_blanks_do_not_count() {
        let file =
            PartnerSettings::parse("SF_ORG_ID=00Dfile\nSF_SUBJECT=a@b\nSF_AUDIENCE=\n").unwrap();
        let mut over = PartnerSettings::new();
        over.set("SF_ORG_ID", "00Denv");
        over.set("SF_SUBJECT", "  ");
        let s = file.overlay(over);
        assert_eq!(s.get("SF_ORG_ID"), Some("00Denv"));
        assert_eq!(s.get("SF_SUBJECT"), Some("a@b"));
        assert_eq!(s.get("SF_AUDIENCE"), None);
        assert_eq!(
            s.require("SF_AUDIENCE").unwrap_err().to_string(),
            "SF_AUDIENCE is not set (environment)"
        );
    }

    #[test]
    fn escaped_keys_become_pem_and_stay_out_of_debug() {
        let s = PartnerSettings::parse("SF_PRIVATE_KEY=\"a\\\\nb\"\n").unwrap();
        // The file held a literal backslash-n (as a shell export keeps it).
        assert_eq!(s.get("SF_PRIVATE_KEY"), Some("a\\nb"));
        assert_eq!(s.private_key_pem().unwrap(), "a\nb");
        assert!(!format!("{s:?}").contains("a\\nb"));
    }

    #[test]
    fn a_missing_file_says_so() {
        let err = PartnerSettings::from_env_file("/nonexistent/partner.env").unwrap_err();
        assert_eq!(
            err.to_string(),
            "can't read the env file /nonexistent/partner.env: no such file"
        );
    }
}
