//! What the partner commands (`token`, `send`, `listen`, `doctor`) share: their settings, read
//! with [`byoc_client::settings::PartnerSettings`] from, first to last, the command's flags, the
//! process environment, and the env file (`--env-file`, default `DATA/partner.env` when it
//! exists); the access token; the CA the Pub/Sub endpoint chains to; and how token refusals read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use byoc_client::pubsub::{StaticToken, TokenSource};
use byoc_client::settings::{PartnerSettings, SettingsError};
use byoc_client::token::{AccessTokenSource, StaticAccessToken, TokenError, TokenProvider};
use byoc_proto::admin::RestError;
use byoc_proto::files::partner_env as env;

use crate::context::Context;
use crate::output::{io_message, CliError};

/// The hint every missing setting gets.
pub const SETTINGS_HINT: &str =
    "`byoc serve` writes DATA/partner.env with every setting of its sample app";

/// The env file (an explicit one must exist; the default `DATA/partner.env` is used when it
/// does), with the process environment over it.
pub fn settings(ctx: &Context, env_file: Option<&Path>) -> Result<PartnerSettings, CliError> {
    let file = match env_file {
        Some(path) => PartnerSettings::from_env_file(path).map_err(settings_error)?,
        None => {
            let default = ctx.data_dir().join("partner.env");
            match PartnerSettings::from_env_file(&default) {
                Ok(s) => s,
                Err(SettingsError::Read { .. }) if !default.exists() => PartnerSettings::new(),
                Err(e) => return Err(settings_error(e)),
            }
        }
    };
    Ok(file.overlay(PartnerSettings::from_env()))
}

/// A settings problem, with the hint that fits it.
pub fn settings_error(error: SettingsError) -> CliError {
    match &error {
        SettingsError::Missing { name, file } => missing_message(name, None, file.as_deref()),
        SettingsError::Read { .. } | SettingsError::Syntax { .. } => {
            CliError::new(error.to_string())
        }
    }
}

/// `name`'s value, or an error naming every place it was looked for (`option` is the flag
/// that sets it, if any).
pub fn require<'a>(
    settings: &'a PartnerSettings,
    name: &str,
    option: Option<&str>,
) -> Result<&'a str, CliError> {
    settings
        .get(name)
        .ok_or_else(|| missing_message(name, option, settings.file()))
}

fn missing_message(name: &str, option: Option<&str>, file: Option<&Path>) -> CliError {
    let file = match file {
        Some(path) => format!("nor in {}", path.display()),
        None => "and there is no env file (--env-file; default DATA/partner.env)".to_string(),
    };
    let flag = option.map(|o| format!("no {o}, ")).unwrap_or_default();
    CliError::new(format!(
        "{name} is not set: {flag}no {name} in the environment, {file}"
    ))
    .with_hint(SETTINGS_HINT)
}

/// Where the partner commands get access tokens, for both APIs.
pub struct Tokens {
    /// For the Interaction API client.
    pub api: Arc<dyn AccessTokenSource>,
    /// For the Pub/Sub subscriber.
    pub pubsub: Arc<dyn TokenSource>,
}

/// The access token: `SF_ACCESS_TOKEN` as is, or the JWT Bearer flow with the partner's key,
/// cached and shared by both APIs.
pub fn tokens(settings: &PartnerSettings) -> Result<Tokens, CliError> {
    if let Some(token) = settings.access_token() {
        return Ok(Tokens {
            api: Arc::new(StaticAccessToken(token.to_string())),
            pubsub: Arc::new(StaticToken(token.to_string())),
        });
    }
    let provider =
        Arc::new(TokenProvider::from_settings(jwt_settings(settings)?).map_err(token_error)?);
    Ok(Tokens {
        api: provider.clone(),
        pubsub: provider,
    })
}

/// The JWT Bearer settings, each missing one named with where it was looked for.
pub fn jwt_settings(
    settings: &PartnerSettings,
) -> Result<byoc_client::token::JwtBearerSettings, CliError> {
    for (name, option) in [
        (env::SF_AUTH_ENDPOINT, "--token-url"),
        (env::SF_CONSUMER_KEY, "--consumer-key"),
        (env::SF_SUBJECT, "--subject"),
        (env::SF_AUDIENCE, "--audience"),
        (env::SF_PRIVATE_KEY, "--key-file"),
    ] {
        require(settings, name, Some(option))?;
    }
    settings.jwt_bearer().map_err(settings_error)
}

/// The CA to trust for the Pub/Sub endpoint: `explicit`, else the org's local CA when the
/// endpoint is the org's (`DATA/org.json`), else none (the public web PKI, as for Salesforce).
pub fn ca_pem(
    ctx: &Context,
    explicit: Option<&Path>,
    endpoint: &str,
) -> Result<Option<String>, CliError> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => ctx
            .try_org_file()
            .ok()
            .flatten()
            // A list of endpoints (instances of one org) counts when it names this one.
            .filter(|org| {
                endpoint
                    .split(',')
                    .any(|e| e.trim().trim_start_matches("https://") == org.pubsub_endpoint)
            })
            .map(|org| PathBuf::from(org.ca_cert)),
    };
    match path {
        Some(p) => std::fs::read_to_string(&p).map(Some).map_err(|e| {
            CliError::new(format!(
                "can't read the CA certificate {}: {}",
                p.display(),
                io_message(&e)
            ))
        }),
        None => Ok(None),
    }
}

/// A refusal keeps Salesforce's words (`error: error_description`) and byoc's diagnosis apart,
/// so scripts can read each.
pub fn token_error(error: TokenError) -> CliError {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_missing_setting_names_where_it_was_looked_for() {
        let settings = PartnerSettings::new();
        let error = require(&settings, env::SF_SUBJECT, Some("--subject")).unwrap_err();
        assert_eq!(
            error.message,
            "SF_SUBJECT is not set: no --subject, no SF_SUBJECT in the environment, and there \
             is no env file (--env-file; default DATA/partner.env)"
        );
        assert_eq!(error.hint.as_deref(), Some(SETTINGS_HINT));
    }
}
