//! `byoc token`: the partner side of the OAuth 2.0 JWT Bearer flow. Sign an assertion with the
//! partner's private key, post it to a token URL — byoc's or real Salesforce's — and print the
//! answer; on a refusal, Salesforce's `error` and `error_description` and, when the server is
//! byoc, its diagnosis (the `X-Byoc-Diagnosis` header).
//!
//! Settings are named as in `partner.env` (DESIGN.md §3). Each comes from, first to last: its
//! flag, the process environment, the env file (`--env-file`, default `DATA/partner.env` when it
//! exists).

use std::path::PathBuf;

use byoc_client::settings::{unescape_pem, PartnerSettings};
use byoc_client::token::{JwtBearer, JwtBearerSettings};
use byoc_proto::files::partner_env as env;
use byoc_proto::oauth::TokenResponse;
use clap::Args;

use crate::context::Context;
use crate::output::{fields, io_message, rfc3339, CliError, Output};
use crate::partner::{self, require, token_error};

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

/// The flow's settings: flags (clap already merged the environment into them) over the
/// environment over the env file; the token URL falls back to the org's login URL.
fn settings(ctx: &Context, args: &TokenArgs) -> Result<JwtBearerSettings, CliError> {
    let mut settings = partner::settings(ctx, args.env_file.as_deref())?;
    settings.set_opt(env::SF_CONSUMER_KEY, args.consumer_key.as_deref());
    settings.set_opt(env::SF_SUBJECT, args.subject.as_deref());
    settings.set_opt(env::SF_AUDIENCE, args.audience.as_deref());
    settings.set_opt(env::SF_AUTH_ENDPOINT, args.token_url.as_deref());
    let consumer_key = require(&settings, env::SF_CONSUMER_KEY, Some("--consumer-key"))?;
    let username = require(&settings, env::SF_SUBJECT, Some("--subject"))?;
    let audience = require(&settings, env::SF_AUDIENCE, Some("--audience"))?;
    let token_url = match settings.get(env::SF_AUTH_ENDPOINT) {
        Some(url) => url.to_string(),
        None => {
            let org = ctx.try_org_file().ok().flatten();
            format!(
                "{}/services/oauth2/token",
                ctx.url(org.as_ref()).trim_end_matches('/')
            )
        }
    };
    let private_key_pem = private_key(args, &settings)?;
    Ok(JwtBearerSettings {
        token_url,
        consumer_key: consumer_key.to_string(),
        username: username.to_string(),
        audience: audience.to_string(),
        private_key_pem,
    })
}

/// `--key-file`, else `SF_PRIVATE_KEY` from the environment or the file; decrypted with
/// `--passphrase-env` when encrypted.
fn private_key(args: &TokenArgs, settings: &PartnerSettings) -> Result<String, CliError> {
    let pem = match &args.key_file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            CliError::new(format!(
                "can't read the private key {}: {}",
                path.display(),
                io_message(&e)
            ))
        })?,
        None => unescape_pem(require(settings, env::SF_PRIVATE_KEY, Some("--key-file"))?),
    };
    decrypt_if_needed(pem, args.passphrase_env.as_deref())
}

/// An encrypted key (`BEGIN ENCRYPTED PRIVATE KEY`) decrypted with the passphrase in the
/// environment variable `passphrase_env`; any other key as is.
pub fn decrypt_if_needed(pem: String, passphrase_env: Option<&str>) -> Result<String, CliError> {
    if !pem.contains("ENCRYPTED PRIVATE KEY") {
        return Ok(pem);
    }
    let Some(var) = passphrase_env else {
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
