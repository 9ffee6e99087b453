//! `byoc doctor`: walk the partner's whole chain with `partner.env` settings and print a
//! checklist, one line per step, with the fix for each failure:
//!
//! 1. the settings are all there;
//! 2. the private key parses;
//! 3. (byoc) the key matches the certificate the app holds — a real org does not show it, so
//!    there the token exchange is the check;
//! 4. the JWT Bearer token exchange succeeds (else Salesforce's error and byoc's diagnosis);
//! 5. the token carries `interaction_api`;
//! 6. the CCD named by `SF_AUTHORIZATION_CONTEXT` is linked to this app (byoc: read through the
//!    admin API; a real org: inferred from the Interaction API's answer to the probe, 10005);
//! 7. the channel address belongs to that CCD: a typing-stopped indicator from the end user is
//!    the probe (harmless: it shows nothing to an agent); 10001/10017 mean it does not;
//! 8. the Pub/Sub topic can be subscribed (`GetTopic` with the token).
//!
//! A step that needs an earlier one that failed is skipped, so exactly the broken step fails.
//! Against byoc each fix is the `byoc setup ...` command; against a real org, the Setup screen.
//! The target is byoc when `DATA/org.json` describes the org the settings point at.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use byoc_client::interaction::{codes, InteractionClient, InteractionError, Typing};
use byoc_client::pubsub::{Code, PubSubError, Subscriber};
use byoc_client::settings::PartnerSettings;
use byoc_client::token::{TokenError, TokenProvider};
use byoc_client::AdminClient;
use byoc_proto::files::{partner_env as env, OrgFile};
use byoc_proto::oauth::TokenResponse;
use byoc_proto::setup::{App, AppKind, MessagingChannel};
use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::output::{CliError, Output};
use crate::partner;
use crate::OutputFormat;

/// How long a network step may take before it counts as failed.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Exit status 0 when every step passes, 1 otherwise. With --output json: one document with every \
step (id, title, status pass|fail|skip, detail, diagnosis, fix).")]
pub struct DoctorArgs {
    /// partner.env-style settings [default: DATA/partner.env when it exists]
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// CA certificate (PEM) of the Pub/Sub endpoint [default: the org's local CA when
    /// SF_PUB_SUB_ENDPOINT is byoc's, else the public web PKI]
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// A step's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not checked: an earlier step it needs failed, or the target does not allow it.
    Skip,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    pub detail: String,
    /// byoc's diagnosis of a refused token request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    /// What to do: a `byoc setup ...` command (byoc) or the Setup screen (a real org).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Step {
    fn pass(id: &'static str, title: &'static str, detail: impl Into<String>) -> Step {
        Step {
            id,
            title,
            status: Status::Pass,
            detail: detail.into(),
            diagnosis: None,
            fix: None,
        }
    }

    fn fail(
        id: &'static str,
        title: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Step {
        Step {
            id,
            title,
            status: Status::Fail,
            detail: detail.into(),
            diagnosis: None,
            fix: Some(fix.into()),
        }
    }

    fn skip(id: &'static str, title: &'static str, detail: impl Into<String>) -> Step {
        Step {
            id,
            title,
            status: Status::Skip,
            detail: detail.into(),
            diagnosis: None,
            fix: None,
        }
    }
}

/// The whole checklist.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `byoc` or `salesforce`.
    pub target: &'static str,
    pub env_file: Option<String>,
    /// Every step passed (skips of steps a real org does not allow included).
    pub passed: bool,
    pub steps: Vec<Step>,
}

const SETTINGS: (&str, &str) = ("settings", "settings");
const KEY: (&str, &str) = ("key", "private key");
const CERTIFICATE: (&str, &str) = ("certificate", "key matches the app's certificate");
const TOKEN: (&str, &str) = ("token", "token exchange (JWT Bearer)");
const SCOPE: (&str, &str) = ("scope", "token carries interaction_api");
const CCD: (&str, &str) = ("ccd", "CCD linked to the app");
const ADDRESS: (&str, &str) = ("address", "channel address belongs to the CCD");
const PUBSUB: (&str, &str) = ("pubsub", "Pub/Sub topic can be subscribed");

/// The settings every step together needs.
const REQUIRED: &[&str] = &[
    env::SF_PRIVATE_KEY,
    env::SF_CONSUMER_KEY,
    env::SF_SUBJECT,
    env::SF_AUDIENCE,
    env::SF_AUTH_ENDPOINT,
    env::SF_INSTANCE_URL,
    env::SF_SCRT_INSTANCE_URL,
    env::SF_ORG_ID,
    env::SF_AUTHORIZATION_CONTEXT,
    env::CHANNEL_ADDRESS_IDENTIFIER,
    env::END_USER_CLIENT_IDENTIFIER,
    env::SF_PUB_SUB_ENDPOINT,
    env::SF_PUB_SUB_TOPIC_NAME,
];

/// What the checks run against.
enum Target {
    /// byoc, with its admin API to look behind the setup.
    Byoc {
        admin: Box<AdminClient>,
        org: Box<OrgFile>,
    },
    /// A real org (or a byoc whose org.json is not at hand): only what a partner can see.
    Salesforce,
}

impl Target {
    fn is_byoc(&self) -> bool {
        matches!(self, Target::Byoc { .. })
    }
}

/// Names go into shell commands single-quoted.
fn quoted(name: &str) -> String {
    format!("'{}'", name.replace('\'', "'\\''"))
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/')
}

/// byoc when `DATA/org.json` describes the org the settings point at.
fn target(ctx: &Context, settings: &PartnerSettings) -> Target {
    let Some(org) = ctx.try_org_file().ok().flatten() else {
        return Target::Salesforce;
    };
    let get = |name| settings.get(name).unwrap_or_default();
    let ours = get(env::SF_AUTH_ENDPOINT).starts_with(org.login_url.trim_end_matches('/'))
        || same_url(get(env::SF_SCRT_INSTANCE_URL), &org.scrt_url)
        || same_url(get(env::SF_INSTANCE_URL), &org.instance_url)
        || get(env::SF_PUB_SUB_ENDPOINT).trim_start_matches("https://") == org.pubsub_endpoint;
    if !ours {
        return Target::Salesforce;
    }
    match ctx.admin_client() {
        Ok(admin) => Target::Byoc {
            admin: Box::new(admin),
            org: Box::new(org),
        },
        Err(_) => Target::Salesforce,
    }
}

/// Collects steps and shows each as it is decided.
struct Checklist<'a> {
    steps: Vec<Step>,
    on_step: &'a mut dyn FnMut(&Step),
}

impl Checklist<'_> {
    fn record(&mut self, step: Step) -> Status {
        (self.on_step)(&step);
        let status = step.status;
        self.steps.push(step);
        status
    }

    fn skip_rest(&mut self, steps: &[(&'static str, &'static str)], why: &str) {
        for (id, title) in steps {
            self.record(Step::skip(id, title, why));
        }
    }
}

/// What the Interaction API said to the typing indicator.
enum Probe {
    Accepted(String),
    Refused(InteractionError),
    NotSent(&'static str),
}

/// Run every check; `on_step` sees each step as soon as it is decided.
pub async fn run(
    ctx: &Context,
    args: &DoctorArgs,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Report, CliError> {
    let settings = partner::settings(ctx, args.env_file.as_deref())?;
    let target = target(ctx, &settings);
    let mut list = Checklist {
        steps: Vec::new(),
        on_step,
    };
    check(ctx, args, &settings, &target, &mut list).await;
    let passed = list.steps.iter().all(|s| s.status != Status::Fail);
    Ok(Report {
        target: if target.is_byoc() {
            "byoc"
        } else {
            "salesforce"
        },
        env_file: settings.file().map(|p| p.display().to_string()),
        passed,
        steps: list.steps,
    })
}

async fn check(
    ctx: &Context,
    args: &DoctorArgs,
    settings: &PartnerSettings,
    target: &Target,
    list: &mut Checklist<'_>,
) {
    let byoc = target.is_byoc();
    let rest_after_settings = [KEY, CERTIFICATE, TOKEN, SCOPE, CCD, ADDRESS, PUBSUB];

    // 1. Settings.
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|n| settings.get(n).is_none())
        .collect();
    let source = match settings.file() {
        Some(p) => format!("{} and the environment", p.display()),
        None => "the environment (no env file)".to_string(),
    };
    if !missing.is_empty() {
        let fix = if byoc || settings.file().is_none() {
            "`byoc serve` writes DATA/partner.env with every setting of its sample app; pass \
             another file with --env-file"
        } else {
            "add them to the env file (--env-file) or the environment, named as in \
             Salesforce's BYOC samples"
        };
        list.record(Step::fail(
            SETTINGS.0,
            SETTINGS.1,
            format!("{} not set in {source}", missing.join(", ")),
            fix,
        ));
        list.skip_rest(&rest_after_settings, "needs the settings");
        return;
    }
    let target_words = match target {
        Target::Byoc { org, .. } => format!("byoc org {} at {}", org.org_id, org.login_url),
        Target::Salesforce => "Salesforce".to_string(),
    };
    list.record(Step::pass(
        SETTINGS.0,
        SETTINGS.1,
        format!("from {source}, against {target_words}"),
    ));

    // 2. The private key.
    let pem = settings.private_key_pem().unwrap_or_default();
    let key = match byoc_pki::parse_private_key(&pem) {
        Ok(key) => {
            list.record(Step::pass(
                KEY.0,
                KEY.1,
                format!("SF_PRIVATE_KEY is an RSA {}-bit key", key.bits),
            ));
            key
        }
        Err(e) => {
            list.record(Step::fail(
                KEY.0,
                KEY.1,
                format!("SF_PRIVATE_KEY: {e}"),
                "SF_PRIVATE_KEY must be the unencrypted RSA private key (PEM) whose certificate \
                 the app holds; `byoc cert new --out keys` makes a key pair",
            ));
            list.skip_rest(&rest_after_settings[1..], "needs a usable private key");
            return;
        }
    };

    // 3. The certificate the app holds (byoc only).
    let consumer_key = settings.get(env::SF_CONSUMER_KEY).unwrap_or_default();
    let app = match target {
        Target::Byoc { admin, .. } => match app_by_consumer_key(admin, consumer_key).await {
            Err(e) => {
                list.record(Step::fail(
                    CERTIFICATE.0,
                    CERTIFICATE.1,
                    format!("can't read the apps through the admin API: {e}"),
                    "is `byoc serve` running with this data dir (--data-dir)?",
                ));
                None
            }
            Ok(None) => {
                list.record(Step::fail(
                    CERTIFICATE.0,
                    CERTIFICATE.1,
                    format!(
                        "no External Client App or connected app of this org has the consumer \
                         key SF_CONSUMER_KEY={consumer_key}"
                    ),
                    "set SF_CONSUMER_KEY to the app's consumer key (`byoc setup eca list` shows \
                     them)",
                ));
                None
            }
            Ok(Some(app)) => {
                certificate_step(list, &app, &key);
                Some(app)
            }
        },
        Target::Salesforce => {
            list.record(Step::skip(
                CERTIFICATE.0,
                CERTIFICATE.1,
                "a real org does not show the app's certificate to partners; the token \
                 exchange checks the pair",
            ));
            None
        }
    };
    let certificate_ok = list.steps.last().is_some_and(|s| s.status != Status::Fail);

    // 4. The token exchange.
    let jwt = match settings.jwt_bearer() {
        Ok(jwt) => jwt,
        Err(e) => {
            list.record(Step::fail(
                TOKEN.0,
                TOKEN.1,
                e.to_string(),
                partner::SETTINGS_HINT,
            ));
            list.skip_rest(&[SCOPE, CCD, ADDRESS, PUBSUB], "needs an access token");
            return;
        }
    };
    let token_url = jwt.token_url.clone();
    let provider = match TokenProvider::from_settings(jwt) {
        Ok(p) => std::sync::Arc::new(p),
        Err(e) => {
            list.record(Step::fail(
                TOKEN.0,
                TOKEN.1,
                e.to_string(),
                "SF_PRIVATE_KEY must be an RSA private key in PEM",
            ));
            list.skip_rest(&[SCOPE, CCD, ADDRESS, PUBSUB], "needs an access token");
            return;
        }
    };
    let token: Option<TokenResponse> = if !certificate_ok {
        list.record(Step::skip(
            TOKEN.0,
            TOKEN.1,
            "the exchange can't succeed until the app holds the certificate of this key",
        ));
        None
    } else {
        match tokio::time::timeout(STEP_TIMEOUT, provider.token()).await {
            Ok(Ok(token)) => {
                list.record(Step::pass(
                    TOKEN.0,
                    TOKEN.1,
                    format!(
                        "{token_url} issued a token for {}",
                        settings.get(env::SF_SUBJECT).unwrap_or_default()
                    ),
                ));
                Some(token)
            }
            Ok(Err(e)) => {
                list.record(token_failure(e, &token_url, byoc));
                None
            }
            Err(_) => {
                list.record(Step::fail(
                    TOKEN.0,
                    TOKEN.1,
                    format!(
                        "{token_url} did not answer within {} s",
                        STEP_TIMEOUT.as_secs()
                    ),
                    "check SF_AUTH_ENDPOINT and that the org is reachable",
                ));
                None
            }
        }
    };

    // 5. The scope.
    let scope_ok = match &token {
        None => {
            list.record(Step::skip(SCOPE.0, SCOPE.1, "needs an access token"));
            false
        }
        Some(t) if t.scope.split_whitespace().any(|s| s == "interaction_api") => {
            list.record(Step::pass(SCOPE.0, SCOPE.1, format!("scopes: {}", t.scope)));
            true
        }
        Some(t) => {
            let fix = match &app {
                Some(app) => format!(
                    "{} update {} --scopes {}",
                    setup_command(app.kind),
                    quoted(&app.name),
                    with_scope(&app.oauth.scopes, "interaction_api")
                ),
                None if byoc => "byoc setup eca update NAME --scopes \
                                 interaction_api,refresh_token,offline_access"
                    .to_string(),
                None => "Setup > External Client App Manager > the app > Edit Settings > OAuth \
                         Settings > Selected OAuth Scopes: add Access Interaction API resources \
                         (interaction_api)"
                    .to_string(),
            };
            list.record(Step::fail(
                SCOPE.0,
                SCOPE.1,
                format!("the token's scopes are {:?}", t.scope),
                fix,
            ));
            false
        }
    };

    // The probe: a typing-stopped indicator from the end user to the channel address.
    let probe = if scope_ok {
        send_probe(settings, provider.clone()).await
    } else {
        Probe::NotSent("needs a token with interaction_api")
    };

    // 6. The CCD link.
    let context = settings
        .get(env::SF_AUTHORIZATION_CONTEXT)
        .unwrap_or_default();
    let ccd_channel = match target {
        Target::Byoc { admin, .. } => {
            byoc_ccd_step(list, admin, context, app.as_ref(), &probe).await
        }
        Target::Salesforce => {
            salesforce_ccd_step(list, context, &probe);
            None
        }
    };
    let ccd_ok = list.steps.last().is_some_and(|s| s.status != Status::Fail);

    // 7. The channel address.
    let address = settings
        .get(env::CHANNEL_ADDRESS_IDENTIFIER)
        .unwrap_or_default();
    address_step(
        list,
        address,
        context,
        ccd_ok,
        ccd_channel.as_ref(),
        &probe,
        byoc,
    );

    // 8. Pub/Sub.
    if token.is_none() {
        list.record(Step::skip(PUBSUB.0, PUBSUB.1, "needs an access token"));
    } else {
        pubsub_step(ctx, args, settings, provider, target, list).await;
    }
}

fn setup_command(kind: AppKind) -> &'static str {
    match kind {
        AppKind::ExternalClientApp => "byoc setup eca",
        AppKind::ConnectedApp => "byoc setup connected-app",
    }
}

fn with_scope(scopes: &[String], scope: &str) -> String {
    let mut all: Vec<String> = scopes.to_vec();
    for s in [scope, "refresh_token", "offline_access"] {
        if !all.iter().any(|x| x == s) {
            all.push(s.to_string());
        }
    }
    all.join(",")
}

async fn app_by_consumer_key(
    admin: &AdminClient,
    consumer_key: &str,
) -> Result<Option<App>, byoc_client::ClientError> {
    let mut apps = admin.external_client_apps().await?;
    apps.extend(admin.connected_apps().await?);
    Ok(apps
        .into_iter()
        .find(|a| a.oauth.consumer_key == consumer_key))
}

fn certificate_step(list: &mut Checklist<'_>, app: &App, key: &byoc_pki::PrivateKey) {
    let fix = format!(
        "{} update {} --certificate server.crt (the certificate of SF_PRIVATE_KEY; `byoc cert \
         new --out DIR` makes a new pair)",
        setup_command(app.kind),
        quoted(&app.name)
    );
    let Some(stored) = &app.oauth.certificate else {
        let fix = match app.kind {
            AppKind::ExternalClientApp => format!(
                "byoc setup eca update {} --jwt-bearer --certificate server.crt",
                quoted(&app.name)
            ),
            AppKind::ConnectedApp => fix,
        };
        list.record(Step::fail(
            CERTIFICATE.0,
            CERTIFICATE.1,
            format!("{} holds no certificate", app.name),
            fix,
        ));
        return;
    };
    match byoc_pki::parse_certificate(&stored.pem) {
        Ok(cert) if byoc_pki::key_matches_certificate(key, &cert) => {
            list.record(Step::pass(
                CERTIFICATE.0,
                CERTIFICATE.1,
                format!(
                    "the key matches the certificate of {} (SHA-256 {})",
                    quoted(&app.name),
                    stored.sha256_fingerprint
                ),
            ));
        }
        Ok(_) => {
            list.record(Step::fail(
                CERTIFICATE.0,
                CERTIFICATE.1,
                format!(
                    "SF_PRIVATE_KEY is not the key of the certificate {} holds (SHA-256 {})",
                    quoted(&app.name),
                    stored.sha256_fingerprint
                ),
                fix,
            ));
        }
        Err(e) => {
            list.record(Step::fail(
                CERTIFICATE.0,
                CERTIFICATE.1,
                format!(
                    "the certificate {} holds can't be read: {e}",
                    quoted(&app.name)
                ),
                fix,
            ));
        }
    }
}

/// The command in a byoc diagnosis (`... (byoc setup eca policies ...)`), if it names one.
fn command_in(diagnosis: &str) -> Option<String> {
    let start = diagnosis.find("(byoc ")?;
    let inner = &diagnosis[start + 1..];
    // Up to the parenthesis that closes this one, not the last of the text: a diagnosis may go
    // on after the command (the org clock's note, for one).
    let mut depth = 0usize;
    let mut end = inner.len();
    for (i, c) in inner.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = i;
                break;
            }
            ')' => depth -= 1,
            _ => {}
        }
    }
    Some(inner[..end].trim().to_string())
}

fn token_failure(error: TokenError, token_url: &str, byoc: bool) -> Step {
    match error {
        TokenError::Rejected {
            status,
            error,
            diagnosis,
        } => {
            let fix = match &diagnosis {
                Some(d) => command_in(d).unwrap_or_else(|| d.clone()),
                None => salesforce_token_fix(&error.error, &error.error_description, byoc),
            };
            Step {
                diagnosis,
                ..Step::fail(
                    TOKEN.0,
                    TOKEN.1,
                    format!(
                        "{token_url} refused (HTTP {status}): {}: {}",
                        error.error, error.error_description
                    ),
                    fix,
                )
            }
        }
        TokenError::Key(message) => Step::fail(
            TOKEN.0,
            TOKEN.1,
            message,
            "SF_PRIVATE_KEY must be an RSA private key in PEM",
        ),
        TokenError::Transport(message) | TokenError::Decode(message) => Step::fail(
            TOKEN.0,
            TOKEN.1,
            message,
            if byoc {
                "check SF_AUTH_ENDPOINT; is `byoc serve` running?"
            } else {
                "check SF_AUTH_ENDPOINT (https://login.salesforce.com/services/oauth2/token, or \
                 https://test.salesforce.com/... for a sandbox)"
            },
        ),
    }
}

/// The Setup screen that fixes a token refusal of a real org.
fn salesforce_token_fix(error: &str, description: &str, byoc: bool) -> String {
    let app = "Setup > External Client App Manager > the app";
    let fix = match (error, description) {
        ("invalid_client_id", _) => format!(
            "set SF_CONSUMER_KEY to the app's consumer key ({app} > Settings > OAuth Settings > \
             Consumer Key and Secret)"
        ),
        ("invalid_client", _) => format!(
            "upload the certificate of SF_PRIVATE_KEY and enable the JWT Bearer flow ({app} > \
             Edit Settings > OAuth Settings > Enable JWT Bearer Flow)"
        ),
        ("invalid_app_access", _) => format!(
            "assign SF_SUBJECT's profile to the app ({app} > Policies > App Policies > Select \
             Profiles, e.g. System Administrator)"
        ),
        ("invalid_request", d) if d.contains("refresh_token") => format!(
            "add the scope Perform requests at any time (refresh_token, offline_access) ({app} \
             > Edit Settings > OAuth Settings > Selected OAuth Scopes)"
        ),
        ("invalid_grant", "user hasn't approved this consumer") => format!(
            "set Permitted Users to Admin approved users are pre-authorized ({app} > Policies \
             > OAuth Policies > Plugin Policies)"
        ),
        ("invalid_grant", "audience is invalid") => "set SF_AUDIENCE to \
            https://login.salesforce.com (production) or https://test.salesforce.com (sandbox)"
            .to_string(),
        ("invalid_grant", "expired authorization code") => {
            "check this machine's clock: the assertion's exp was already past".to_string()
        }
        ("invalid_grant", _) => {
            "set SF_SUBJECT to the username of an active user of the org".to_string()
        }
        _ => format!("see Setup > Login History for the attempt ({error}: {description})"),
    };
    if byoc {
        format!("{fix}; `byoc logins` shows byoc's diagnosis")
    } else {
        fix
    }
}

async fn send_probe(settings: &PartnerSettings, provider: std::sync::Arc<TokenProvider>) -> Probe {
    let Ok(api) = settings.interaction() else {
        return Probe::NotSent("needs the Interaction API settings");
    };
    let Ok(client) = InteractionClient::new(api, provider) else {
        return Probe::NotSent("SF_SCRT_INSTANCE_URL is not a URL");
    };
    let to = settings
        .get(env::CHANNEL_ADDRESS_IDENTIFIER)
        .unwrap_or_default();
    let from = settings
        .get(env::END_USER_CLIENT_IDENTIFIER)
        .unwrap_or_default();
    match tokio::time::timeout(STEP_TIMEOUT, client.send_typing(to, from, Typing::Stopped)).await {
        Ok(Ok(sent)) => Probe::Accepted(sent.conversation_identifier),
        Ok(Err(e)) => Probe::Refused(e),
        Err(_) => Probe::Refused(InteractionError::Transport(format!(
            "the Interaction API did not answer within {} s",
            STEP_TIMEOUT.as_secs()
        ))),
    }
}

fn probe_code(probe: &Probe) -> Option<u32> {
    match probe {
        Probe::Refused(e) => e.code(),
        _ => None,
    }
}

/// byoc: the CCD as the admin API shows it, confirmed by the probe. Returns the CCD's channel.
async fn byoc_ccd_step(
    list: &mut Checklist<'_>,
    admin: &AdminClient,
    context: &str,
    app: Option<&App>,
    probe: &Probe,
) -> Option<MessagingChannel> {
    let channels = match admin.channels().await {
        Ok(c) => c,
        Err(e) => {
            list.record(Step::fail(
                CCD.0,
                CCD.1,
                format!("can't read the channels through the admin API: {e}"),
                "is `byoc serve` running with this data dir (--data-dir)?",
            ));
            return None;
        }
    };
    let found = channels.into_iter().find_map(|c| {
        let ccd = c.conversation_channel_definition.clone()?;
        ccd.developer_name
            .eq_ignore_ascii_case(context)
            .then_some((c, ccd))
    });
    let Some((channel, ccd)) = found else {
        list.record(Step::fail(
            CCD.0,
            CCD.1,
            format!(
                "no Conversation Channel Definition is named SF_AUTHORIZATION_CONTEXT={context}"
            ),
            "set SF_AUTHORIZATION_CONTEXT to the CCD developer name of your BYOC channel \
             (`byoc setup channel list`; `byoc setup channel create ... --type byoc-messaging` \
             prints it)",
        ));
        return None;
    };
    let Some(app) = app else {
        list.record(Step::skip(
            CCD.0,
            CCD.1,
            "needs the app of SF_CONSUMER_KEY (see above)",
        ));
        return Some(channel);
    };
    let link_fix = format!(
        "byoc setup ccd set {} --app {}",
        ccd.developer_name,
        quoted(&app.name)
    );
    match &ccd.linked_app {
        Some(linked) if linked.id == app.id || linked.name == app.name => {
            if probe_code(probe) == Some(codes::CONTEXT_NOT_AUTHORIZED) {
                list.record(Step::fail(
                    CCD.0,
                    CCD.1,
                    format!(
                        "{} is linked to {}, but the Interaction API refused the context: {}",
                        ccd.developer_name,
                        quoted(&app.name),
                        probe_message(probe)
                    ),
                    link_fix,
                ));
            } else {
                list.record(Step::pass(
                    CCD.0,
                    CCD.1,
                    format!(
                        "{} (channel {}) is linked to {}",
                        ccd.developer_name,
                        quoted(&channel.name),
                        quoted(&app.name)
                    ),
                ));
            }
        }
        Some(other) => {
            list.record(Step::fail(
                CCD.0,
                CCD.1,
                format!(
                    "{} is linked to {}, not to {} (the app of SF_CONSUMER_KEY)",
                    ccd.developer_name,
                    quoted(&other.name),
                    quoted(&app.name)
                ),
                link_fix,
            ));
        }
        None => {
            list.record(Step::fail(
                CCD.0,
                CCD.1,
                format!("{} is linked to no app", ccd.developer_name),
                link_fix,
            ));
        }
    }
    Some(channel)
}

fn probe_message(probe: &Probe) -> String {
    match probe {
        Probe::Accepted(c) => format!("accepted (conversation {c})"),
        Probe::Refused(e) => e.to_string(),
        Probe::NotSent(why) => format!("not sent ({why})"),
    }
}

/// A real org: the CCD link as the probe's answer shows it.
fn salesforce_ccd_step(list: &mut Checklist<'_>, context: &str, probe: &Probe) {
    let messaging = "Setup > Messaging Settings > your BYOC channel";
    match probe {
        Probe::NotSent(why) => {
            list.record(Step::skip(CCD.0, CCD.1, *why));
        }
        Probe::Refused(e) if e.code() == Some(codes::CONTEXT_NOT_AUTHORIZED) => {
            list.record(Step::fail(
                CCD.0,
                CCD.1,
                format!("the Interaction API refused {context} for this app's token: {e}"),
                format!(
                    "link the CCD to the app ({messaging} > Conversation Channel Definition > \
                     Modify Conversation Channel Definition); a partner-managed CCD names the \
                     partner's packaged app"
                ),
            ));
        }
        Probe::Refused(e) if e.code() == Some(codes::UNKNOWN_CONTEXT) => {
            list.record(Step::fail(
                CCD.0,
                CCD.1,
                format!("the Interaction API knows no CCD {context}: {e}"),
                format!(
                    "set SF_AUTHORIZATION_CONTEXT to the CCD's developer name ({messaging} > \
                     Conversation Channel Definition)"
                ),
            ));
        }
        Probe::Accepted(_) => {
            list.record(Step::pass(
                CCD.0,
                CCD.1,
                format!("the Interaction API accepted {context} for this app's token"),
            ));
        }
        Probe::Refused(e)
            if matches!(
                e.code(),
                Some(
                    codes::ADDRESS_NOT_IN_CONTEXT
                        | codes::UNKNOWN_ADDRESS
                        | codes::INACTIVE_ADDRESS
                )
            ) =>
        {
            // The chain checks the CCD and its app before the address.
            list.record(Step::pass(
                CCD.0,
                CCD.1,
                format!("the Interaction API accepted {context} for this app's token"),
            ));
        }
        Probe::Refused(_) => {
            list.record(Step::skip(
                CCD.0,
                CCD.1,
                "the probe failed before the CCD check (see the next step)",
            ));
        }
    }
}

fn address_step(
    list: &mut Checklist<'_>,
    address: &str,
    context: &str,
    ccd_ok: bool,
    ccd_channel: Option<&MessagingChannel>,
    probe: &Probe,
    byoc: bool,
) {
    let right = ccd_channel.map(|c| {
        format!(
            "set CHANNEL_ADDRESS_IDENTIFIER to {} (the address of {}, the channel of {context})",
            c.channel_address_identifier,
            quoted(&c.name)
        )
    });
    let setup_fix = |fallback: &str| -> String {
        right.clone().unwrap_or_else(|| {
            if byoc {
                format!("{fallback} (`byoc setup channel list` shows the addresses)")
            } else {
                format!(
                    "{fallback} (Setup > Messaging Settings > the channel of the CCD: its \
                     channel address identifier)"
                )
            }
        })
    };
    match probe {
        Probe::NotSent(why) => {
            list.record(Step::skip(ADDRESS.0, ADDRESS.1, *why));
        }
        _ if !ccd_ok => {
            list.record(Step::skip(ADDRESS.0, ADDRESS.1, "needs the CCD link"));
        }
        Probe::Accepted(conversation) => {
            list.record(Step::pass(
                ADDRESS.0,
                ADDRESS.1,
                format!(
                    "a typing indicator to {address} was accepted (conversation {conversation})"
                ),
            ));
        }
        Probe::Refused(e) => {
            let (detail, fix) = match e.code() {
                Some(codes::ADDRESS_NOT_IN_CONTEXT) => (
                    format!("{address} is the address of a channel that is not {context}'s: {e}"),
                    setup_fix("set CHANNEL_ADDRESS_IDENTIFIER to the address of the CCD's channel"),
                ),
                Some(codes::UNKNOWN_ADDRESS) => (
                    format!("no channel has the address {address}: {e}"),
                    setup_fix("set CHANNEL_ADDRESS_IDENTIFIER to the address of the CCD's channel"),
                ),
                Some(codes::INACTIVE_ADDRESS) => (
                    format!("the channel of {address} is not active: {e}"),
                    if byoc {
                        "activate the channel".to_string()
                    } else {
                        "activate the channel (Setup > Messaging Settings)".to_string()
                    },
                ),
                Some(codes::INVALID_HEADER) => (
                    format!("a header was refused: {e}"),
                    "set SF_ORG_ID to the 15-character org id".to_string(),
                ),
                _ => (
                    format!("the typing indicator was refused: {e}"),
                    "check SF_SCRT_INSTANCE_URL, END_USER_CLIENT_IDENTIFIER and \
                     CHANNEL_ADDRESS_IDENTIFIER"
                        .to_string(),
                ),
            };
            list.record(Step::fail(ADDRESS.0, ADDRESS.1, detail, fix));
        }
    }
}

async fn pubsub_step(
    ctx: &Context,
    args: &DoctorArgs,
    settings: &PartnerSettings,
    provider: std::sync::Arc<TokenProvider>,
    target: &Target,
    list: &mut Checklist<'_>,
) {
    let endpoint = settings
        .get(env::SF_PUB_SUB_ENDPOINT)
        .unwrap_or_default()
        .to_string();
    let topic = settings
        .get(env::SF_PUB_SUB_TOPIC_NAME)
        .unwrap_or_default()
        .to_string();
    let endpoint_fix = match target {
        Target::Byoc { org, .. } => format!(
            "set SF_PUB_SUB_ENDPOINT to {} (org.json pubsub_endpoint); is `byoc serve` running?",
            org.pubsub_endpoint
        ),
        Target::Salesforce => {
            "set SF_PUB_SUB_ENDPOINT to api.pubsub.salesforce.com:7443".to_string()
        }
    };
    let ca = match partner::ca_pem(ctx, args.ca_cert.as_deref(), &endpoint) {
        Ok(ca) => ca,
        Err(e) => {
            list.record(Step::fail(
                PUBSUB.0,
                PUBSUB.1,
                e.message,
                "pass the CA certificate of the Pub/Sub endpoint with --ca-cert",
            ));
            return;
        }
    };
    let outcome = async {
        let pubsub = settings
            .pubsub(ca)
            .map_err(|e| PubSubError::Settings(e.to_string()))?;
        let subscriber = Subscriber::connect(pubsub, provider).await?;
        subscriber.topic(&topic).await
    };
    match tokio::time::timeout(STEP_TIMEOUT, outcome).await {
        Ok(Ok(info)) if info.can_subscribe => {
            list.record(Step::pass(
                PUBSUB.0,
                PUBSUB.1,
                format!("{topic} at {endpoint} (schema {})", info.schema_id),
            ));
        }
        Ok(Ok(_)) => {
            list.record(Step::fail(
                PUBSUB.0,
                PUBSUB.1,
                format!("{topic} exists but this user may not subscribe to it"),
                "give SF_SUBJECT's profile read access to the platform event",
            ));
        }
        Ok(Err(e)) => {
            let fix = match &e {
                PubSubError::Status {
                    code: Code::NotFound,
                    ..
                }
                | PubSubError::Status {
                    code: Code::InvalidArgument,
                    ..
                } => "set SF_PUB_SUB_TOPIC_NAME to /event/<the CCD's custom platform event> \
                      (e.g. /event/Byoc_Outbound__e)"
                    .to_string(),
                PubSubError::Status {
                    code: Code::Unauthenticated | Code::PermissionDenied,
                    ..
                } => "check SF_INSTANCE_URL and SF_ORG_ID (sent as instanceurl and tenantid)"
                    .to_string(),
                PubSubError::Connect { message, .. }
                    if message.contains("certificate") || message.contains("Issuer") =>
                {
                    "the endpoint's TLS certificate is not trusted: pass its CA with --ca-cert \
                     (byoc: DATA/ca.crt, or `byoc ca --pem`)"
                        .to_string()
                }
                _ => endpoint_fix,
            };
            list.record(Step::fail(
                PUBSUB.0,
                PUBSUB.1,
                format!("GetTopic {topic}: {e}"),
                fix,
            ));
        }
        Err(_) => {
            list.record(Step::fail(
                PUBSUB.0,
                PUBSUB.1,
                format!(
                    "{endpoint} did not answer within {} s",
                    STEP_TIMEOUT.as_secs()
                ),
                endpoint_fix,
            ));
        }
    }
}

// ---- rendering ------------------------------------------------------------------------------

/// How the checklist marks each status.
struct Marks {
    pass: &'static str,
    fail: &'static str,
    skip: &'static str,
}

fn marks(terminal: bool) -> Marks {
    let color = terminal && std::env::var_os("NO_COLOR").is_none();
    match (terminal, color) {
        (true, true) => Marks {
            pass: "\x1b[32m✓\x1b[0m",
            fail: "\x1b[31m✗\x1b[0m",
            skip: "\x1b[2m-\x1b[0m",
        },
        (true, false) => Marks {
            pass: "✓",
            fail: "✗",
            skip: "-",
        },
        _ => Marks {
            pass: "[ok]",
            fail: "[FAIL]",
            skip: "[skip]",
        },
    }
}

/// One step as text: the mark and title line, then the diagnosis and fix, indented.
pub fn step_text(step: &Step, terminal: bool) -> String {
    let m = marks(terminal);
    let mark = match step.status {
        Status::Pass => m.pass,
        Status::Fail => m.fail,
        Status::Skip => m.skip,
    };
    let mut out = format!("{mark} {}: {}\n", step.title, step.detail);
    let indent = if terminal { "  " } else { "       " };
    if let Some(d) = &step.diagnosis {
        out.push_str(&format!("{indent}byoc diagnosis: {d}\n"));
    }
    if let Some(fix) = &step.fix {
        out.push_str(&format!("{indent}fix: {fix}\n"));
    }
    out
}

/// The closing line.
pub fn summary(report: &Report) -> String {
    let failed = report
        .steps
        .iter()
        .filter(|s| s.status == Status::Fail)
        .count();
    let passed = report
        .steps
        .iter()
        .filter(|s| s.status == Status::Pass)
        .count();
    if failed == 0 {
        let skipped = report.steps.len() - passed;
        if skipped == 0 {
            format!("All checks passed ({passed} of {}).\n", report.steps.len())
        } else {
            format!(
                "All checks passed ({passed} passed, {skipped} not possible against this target).\n"
            )
        }
    } else {
        format!(
            "{failed} check{} failed; fix {} and run `byoc doctor` again.\n",
            if failed == 1 { "" } else { "s" },
            if failed == 1 { "it" } else { "the first" }
        )
    }
}

/// `byoc doctor` for [`crate::execute`]: the report as the command's output.
pub async fn execute(ctx: &Context, args: &DoctorArgs) -> Result<Output, CliError> {
    let report = run(ctx, args, &mut |_| {}).await?;
    let mut text: String = report.steps.iter().map(|s| step_text(s, false)).collect();
    text.push_str(&summary(&report));
    Output::new(&report, text)
}

/// `byoc doctor` for [`crate::run`]: text steps print as they are decided; exit 1 unless every
/// step passed.
pub async fn run_and_print(ctx: &Context, args: &DoctorArgs) -> Result<bool, CliError> {
    let format = ctx.format();
    let terminal = std::io::stdout().is_terminal();
    let mut print_step = |step: &Step| {
        if format != OutputFormat::Json {
            let mut stdout = std::io::stdout().lock();
            let _ = write!(stdout, "{}", step_text(step, terminal));
            let _ = stdout.flush();
        }
    };
    let report = run(ctx, args, &mut print_step).await?;
    let mut stdout = std::io::stdout().lock();
    match format {
        OutputFormat::Text | OutputFormat::Csv => {
            let _ = write!(stdout, "{}", summary(&report));
        }
        OutputFormat::Json => {
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            let _ = writeln!(stdout, "{text}");
        }
    }
    Ok(report.passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_of_a_diagnosis_is_the_fix() {
        let d = "the app's Permitted Users policy is *All users may self-authorize*; set it to \
                 *Admin approved users are pre-authorized* and assign the user's profile (byoc \
                 setup eca policies 'BYOC Sample App' --permitted-users admin-approved --profile \
                 'System Administrator')";
        assert_eq!(
            command_in(d).as_deref(),
            Some("byoc setup eca policies 'BYOC Sample App' --permitted-users admin-approved --profile 'System Administrator'")
        );
        assert_eq!(command_in("no command here"), None);
        // Text after the command (the org clock's note) is not part of it.
        assert_eq!(
            command_in("upload it (byoc setup eca update 'A (test)' --certificate x.crt). The org clock was moved (+2d); to go back to real time (byoc clock real).").as_deref(),
            Some("byoc setup eca update 'A (test)' --certificate x.crt")
        );
        assert_eq!(
            command_in("the assertion expired; set exp ahead. The org clock was moved to T (+2d from real time); to go back to real time (byoc clock real).").as_deref(),
            Some("byoc clock real")
        );
    }

    #[test]
    fn steps_render_with_ascii_marks_off_a_terminal() {
        let step = Step::fail("token", "token exchange (JWT Bearer)", "refused", "do this");
        assert_eq!(
            step_text(&step, false),
            "[FAIL] token exchange (JWT Bearer): refused\n       fix: do this\n"
        );
        let ok = Step::pass("key", "private key", "fine");
        assert_eq!(step_text(&ok, false), "[ok] private key: fine\n");
    }

    #[test]
    fn real_org_refusals_name_the_setup_screen() {
        let fix =
            salesforce_token_fix("invalid_grant", "user hasn't approved this consumer", false);
        assert!(
            fix.contains("Admin approved users are pre-authorized"),
            "{fix}"
        );
        assert!(fix.contains("Setup > External Client App Manager"), "{fix}");
        let fix = salesforce_token_fix(
            "invalid_request",
            "refresh_token scope is required and the connected app should be installed and preauthorized.",
            false,
        );
        assert!(fix.contains("refresh_token, offline_access"), "{fix}");
    }
}
