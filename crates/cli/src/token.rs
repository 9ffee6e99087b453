//! `byoc token`: the partner side of the OAuth 2.0 JWT Bearer flow. Sign an assertion with the
//! partner's private key, post it to a token URL — byoc's or real Salesforce's — and print the
//! answer; on a refusal, Salesforce's `error` and `error_description` and, when the server is
//! byoc, its diagnosis (the `X-Byoc-Diagnosis` header).
//!
//! Settings are named as in `partner.env` (DESIGN.md §3). Each comes from, first to last: its
//! flag, the process environment, the env file (`--env-file`, default `DATA/partner.env` when it
//! exists).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use byoc_client::token::{JwtBearer, JwtBearerSettings, TokenError};
use byoc_proto::admin::RestError;
use byoc_proto::files::partner_env as env;
use byoc_proto::oauth::TokenResponse;
use clap::Args;

use crate::context::Context;
use crate::output::{fields, io_message, rfc3339, CliError, Output};

/// Where a setting comes from, first to last: the flag, the environment variable, the env file.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Each setting is taken from, first to last: its flag, the environment variable of the same name, \
the env file. The env file is --env-file, or DATA/partner.env (written by `byoc serve`) when it \
exists; it holds KEY=\"value\" lines, with \\n escapes in double-quoted values.

The private key is --key-file, else SF_PRIVATE_KEY (the PEM itself, with real newlines or \\n \
escapes). An encrypted key (BEGIN ENCRYPTED PRIVATE KEY) needs --passphrase-env.

The token URL falls back to the org's login URL (--url, else DATA/org.json) followed by \
/services/oauth2/token.

Examples:
  byoc token                                   # the local org's sample app, from DATA/partner.env
  byoc token --env-file prod.env --output json # real Salesforce; prints the answer as sent")]
pub struct TokenArgs {
    /// The app's consumer key, the assertion's `iss`
    #[arg(long, env = env::SF_CONSUMER_KEY, value_name = "KEY")]
    pub consumer_key: Option<String>,

    /// The username to act as, the assertion's `sub`
    #[arg(long, alias = "username", env = env::SF_SUBJECT, value_name = "USERNAME")]
    pub subject: Option<String>,

    /// The assertion's `aud`: https://login.salesforce.com, https://test.salesforce.com, or the
    /// org's login URL
    #[arg(long, env = env::SF_AUDIENCE, value_name = "URL")]
    pub audience: Option<String>,

    /// The token endpoint, e.g. https://login.salesforce.com/services/oauth2/token
    #[arg(long, alias = "auth-endpoint", env = env::SF_AUTH_ENDPOINT, value_name = "URL")]
    pub token_url: Option<String>,

    /// The private key (PEM, PKCS#8 or PKCS#1 RSA) whose certificate the app holds [default:
    /// SF_PRIVATE_KEY]
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// The environment variable holding the passphrase of an encrypted private key
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,

    /// partner.env-style settings [default: DATA/partner.env when it exists]
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

pub async fn execute(ctx: &Context, args: &TokenArgs) -> Result<Output, CliError> {
    let settings = settings(ctx, args)?;
    let provider = JwtBearer::new(settings).map_err(token_error)?;
    let (token, json) = provider.fetch_with_json().await.map_err(token_error)?;
    Output::new(&json, token_text(&token))
}

/// The text rendering of a token response.
pub fn token_text(token: &TokenResponse) -> String {
    let mut rows = vec![
        ("Access Token", token.access_token.clone()),
        ("Token Type", token.token_type.clone()),
        ("Instance URL", token.instance_url.clone()),
        ("Scopes", token.scope.clone()),
        ("Identity URL", token.id.clone()),
    ];
    if !token.issued_at.is_empty() {
        let issued = match token.issued_at.parse::<i64>() {
            Ok(millis) => rfc3339(millis),
            Err(_) => token.issued_at.clone(),
        };
        rows.push(("Issued At", issued));
    }
    fields(0, &rows)
}

/// A refusal keeps Salesforce's words (`error: error_description`) and byoc's diagnosis apart,
/// so scripts can read each.
fn token_error(error: TokenError) -> CliError {
    match error {
        TokenError::Rejected {
            status,
            error,
            diagnosis,
        } => {
            let mut cli = CliError::new(format!(
                "the token endpoint refused (HTTP {status}): {}: {}",
                error.error, error.error_description
            ));
            cli.errors = vec![RestError {
                message: error.error_description,
                error_code: error.error,
                fields: Vec::new(),
            }];
            cli.diagnosis = diagnosis;
            cli
        }
        TokenError::Key(message) => CliError::new(message).with_hint(
            "the key must be the RSA private key (PEM) of the certificate uploaded to the app; \
             `byoc cert new` makes a pair",
        ),
        TokenError::Transport(message) | TokenError::Decode(message) => CliError::new(message),
    }
}

/// The flow's settings from the flags (clap already merged the environment into them), the env
/// file, and the org's login URL.
fn settings(ctx: &Context, args: &TokenArgs) -> Result<JwtBearerSettings, CliError> {
    let file = EnvFile::load(ctx, args.env_file.as_deref())?;
    let require = |flag: &Option<String>, name: &str, option: &str| -> Result<String, CliError> {
        flag.clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| file.get(name))
            .ok_or_else(|| file.missing(name, option))
    };
    let consumer_key = require(&args.consumer_key, env::SF_CONSUMER_KEY, "--consumer-key")?;
    let username = require(&args.subject, env::SF_SUBJECT, "--subject")?;
    let audience = require(&args.audience, env::SF_AUDIENCE, "--audience")?;
    let token_url = match args
        .token_url
        .clone()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| file.get(env::SF_AUTH_ENDPOINT))
    {
        Some(url) => url,
        None => {
            let org = ctx.try_org_file().ok().flatten();
            format!(
                "{}/services/oauth2/token",
                ctx.url(org.as_ref()).trim_end_matches('/')
            )
        }
    };
    let private_key_pem = private_key(args, &file)?;
    Ok(JwtBearerSettings {
        token_url: token_url.trim().to_string(),
        consumer_key: consumer_key.trim().to_string(),
        username: username.trim().to_string(),
        audience: audience.trim().to_string(),
        private_key_pem,
    })
}

/// `--key-file`, else `SF_PRIVATE_KEY` from the environment or the file; decrypted with
/// `--passphrase-env` when encrypted.
fn private_key(args: &TokenArgs, file: &EnvFile) -> Result<String, CliError> {
    let pem = match &args.key_file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            CliError::new(format!(
                "can't read the private key {}: {}",
                path.display(),
                io_message(&e)
            ))
        })?,
        None => std::env::var(env::SF_PRIVATE_KEY)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| file.get(env::SF_PRIVATE_KEY))
            .ok_or_else(|| file.missing(env::SF_PRIVATE_KEY, "--key-file"))?,
    };
    // A key exported into the shell from partner.env keeps its `\n` escapes.
    let pem = if pem.contains('\n') {
        pem
    } else {
        pem.replace("\\n", "\n")
    };
    if !pem.contains("ENCRYPTED PRIVATE KEY") {
        return Ok(pem);
    }
    let Some(var) = &args.passphrase_env else {
        return Err(CliError::new("the private key is encrypted").with_hint(
            "pass --passphrase-env VAR, naming the environment variable that holds its passphrase",
        ));
    };
    let passphrase = std::env::var(var).map_err(|_| {
        CliError::new(format!(
            "environment variable {var} is not set: --passphrase-env names the variable that \
             holds the passphrase"
        ))
    })?;
    byoc_pki::decrypt_private_key(&pem, &passphrase)
        .map_err(|e| CliError::new(format!("can't decrypt the private key: {e}")))
}

/// The env file's settings, and where they came from (for messages).
struct EnvFile {
    path: Option<PathBuf>,
    values: HashMap<String, String>,
}

impl EnvFile {
    /// `explicit` must exist; the default `DATA/partner.env` is used only when it does.
    fn load(ctx: &Context, explicit: Option<&Path>) -> Result<EnvFile, CliError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => ctx.data_dir().join("partner.env"),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if explicit.is_none() && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(EnvFile {
                    path: None,
                    values: HashMap::new(),
                })
            }
            Err(e) => {
                return Err(CliError::new(format!(
                    "can't read the env file {}: {}",
                    path.display(),
                    io_message(&e)
                )))
            }
        };
        let values = parse_env_file(&text)
            .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?
            .into_iter()
            .collect();
        Ok(EnvFile {
            path: Some(path),
            values,
        })
    }

    fn get(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    }

    fn missing(&self, name: &str, option: &str) -> CliError {
        let file = match &self.path {
            Some(path) => format!("nor in {}", path.display()),
            None => "and there is no env file (--env-file; default DATA/partner.env)".to_string(),
        };
        CliError::new(format!(
            "{name} is not set: no {option}, no {name} in the environment, {file}"
        ))
        .with_hint("`byoc serve` writes DATA/partner.env with every setting of its sample app")
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
    fn refusals_keep_salesforce_words_and_the_diagnosis_apart() {
        let error = token_error(TokenError::Rejected {
            status: 400,
            error: byoc_proto::oauth::OAuthErrorBody {
                error: "invalid_grant".into(),
                error_description: "user hasn't approved this consumer".into(),
            },
            diagnosis: Some("set Permitted Users".into()),
        });
        assert!(error
            .message
            .ends_with("invalid_grant: user hasn't approved this consumer"));
        assert_eq!(error.errors[0].error_code, "invalid_grant");
        assert_eq!(error.diagnosis.as_deref(), Some("set Permitted Users"));
        let json = crate::output::error_json(&error);
        assert_eq!(json["diagnosis"], "set Permitted Users");
    }
}
