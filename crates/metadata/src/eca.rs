//! External Client Apps: five components per app, each its own file.
//!
//! | Type | Folder / suffix | byoc's file name |
//! |---|---|---|
//! | `ExternalClientApplication` | `externalClientApps/X.eca-meta.xml` | the app's API name |
//! | `ExtlClntAppOauthSettings` | `extlClntAppOauthSettings/X.ecaOauth-meta.xml` | `<api>_oauth` |
//! | `ExtlClntAppGlobalOauthSettings` | `extlClntAppGlobalOauthSets/X.ecaGlblOauth-meta.xml` | `<api>_glbloauth` |
//! | `ExtlClntAppOauthConfigurablePolicies` | `extlClntAppOauthPolicies/X.ecaOauthPlcy-meta.xml` | `<api>_oauthPlcy` |
//! | `ExtlClntAppConfigurablePolicies` | `extlClntAppPolicies/X.ecaPlcy-meta.xml` | `<api>_plcy` |
//!
//! The four plugin files name their app in `externalClientApplication`; their own names are free
//! (the `_oauth`… suffixes are what Setup generates). Elements are written in the order of
//! Salesforce's WSDL (alphabetical for these types).

use byoc_proto::setup::{
    App, AppKind, AppPolicies, Certificate, IpRelaxation, OAuthSettings, PermittedUsers,
};
use serde::{Deserialize, Serialize};

use crate::scopes;
use crate::xml::{bool_text, ns, opt, Ctx};

pub(crate) const ECA: &str = "ExternalClientApplication";
pub(crate) const OAUTH: &str = "ExtlClntAppOauthSettings";
pub(crate) const GLOBAL: &str = "ExtlClntAppGlobalOauthSettings";
pub(crate) const OAUTH_POLICIES: &str = "ExtlClntAppOauthConfigurablePolicies";
pub(crate) const POLICIES: &str = "ExtlClntAppConfigurablePolicies";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct EcaXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distribution_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_protected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct OauthXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comma_separated_oauth_scopes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_client_application: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct GlobalXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_client_application: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_client_credentials_flow_enabled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct OauthPoliciesXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_credentials_flow_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comma_separated_permission_set: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comma_separated_profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_client_application: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_relaxation_policy_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_client_credentials_flow_enabled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permitted_users_policy_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_timeout_in_minutes: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct PoliciesXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_client_application: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_enabled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_oauth_plugin_enabled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

/// `ipRelaxationPolicyType` values. `Enforce_RelaxRefresh` relaxes IP restrictions only for
/// refresh tokens, which byoc's flows don't use, so it reads as `Enforce` (and is written back so).
const IP_RELAXATION: &[(&str, IpRelaxation)] = &[
    ("Enforce", IpRelaxation::Enforce),
    ("Bypass_2factor", IpRelaxation::BypassUsingSecondFactor),
    ("Bypass", IpRelaxation::Relax),
    ("Enforce_RelaxRefresh", IpRelaxation::Enforce),
];

const PERMITTED_USERS: &[(&str, PermittedUsers)] = &[
    ("AllSelfAuthorized", PermittedUsers::AllSelfAuthorized),
    (
        "AdminApprovedPreAuthorized",
        PermittedUsers::AdminApprovedPreAuthorized,
    ),
];

/// `distributionState` values (`Packageable` is what some projects and older orgs say).
const DISTRIBUTION_STATES: &[(&str, &str)] = &[
    ("Local", "Local"),
    ("Packaged", "Packaged"),
    ("Packageable", "Packageable"),
    ("Managed", "Managed"),
    ("AutoInstalled", "AutoInstalled"),
];

fn ip_relaxation_name(ip: IpRelaxation) -> &'static str {
    match ip {
        IpRelaxation::Enforce => "Enforce",
        IpRelaxation::BypassUsingSecondFactor => "Bypass_2factor",
        IpRelaxation::Relax => "Bypass",
    }
}

fn permitted_users_name(p: PermittedUsers) -> &'static str {
    match p {
        PermittedUsers::AllSelfAuthorized => "AllSelfAuthorized",
        PermittedUsers::AdminApprovedPreAuthorized => "AdminApprovedPreAuthorized",
    }
}

/// The five files of one app: (relative path under the package directory, contents).
pub(crate) fn write(app: &App, include_secrets: bool) -> Vec<(String, String)> {
    let api = &app.api_name;
    let o = &app.oauth;
    let p = &app.policies;
    let header = EcaXml {
        xmlns: ns(),
        contact_email: opt(&app.contact_email),
        description: opt(&app.description),
        distribution_state: Some(
            app.distribution_state
                .clone()
                .unwrap_or_else(|| "Local".into()),
        ),
        is_protected: bool_text(false),
        label: Some(app.name.clone()),
        ..Default::default()
    };
    let oauth_name = format!("{api}_oauth");
    let oauth = OauthXml {
        xmlns: ns(),
        comma_separated_oauth_scopes: opt(&o
            .scopes
            .iter()
            .map(|s| scopes::to_metadata(s))
            .collect::<Vec<_>>()
            .join(", ")),
        external_client_application: Some(api.clone()),
        label: Some(oauth_name.clone()),
        ..Default::default()
    };
    let global_name = format!("{api}_glbloauth");
    let global = GlobalXml {
        xmlns: ns(),
        callback_url: opt(&o.callback_urls.join("\n")),
        certificate: o.certificate.as_ref().and_then(|c| opt(&pem_body(&c.pem))),
        consumer_key: opt(&o.consumer_key),
        consumer_secret: if include_secrets {
            o.consumer_secret.as_deref().and_then(opt)
        } else {
            None
        },
        external_client_application: Some(api.clone()),
        is_client_credentials_flow_enabled: bool_text(o.client_credentials_enabled),
        label: Some(global_name.clone()),
        ..Default::default()
    };
    let policies_name = format!("{api}_oauthPlcy");
    let oauth_policies = OauthPoliciesXml {
        xmlns: ns(),
        client_credentials_flow_user: p.run_as_username.as_deref().and_then(opt),
        comma_separated_permission_set: opt(&sorted(&p.permission_sets).join(",")),
        comma_separated_profile: opt(&sorted(&p.profiles).join(",")),
        external_client_application: Some(api.clone()),
        ip_relaxation_policy_type: Some(ip_relaxation_name(p.ip_relaxation).into()),
        is_client_credentials_flow_enabled: bool_text(o.client_credentials_enabled),
        label: Some(policies_name.clone()),
        permitted_users_policy_type: Some(permitted_users_name(p.permitted_users).into()),
        session_timeout_in_minutes: p.session_timeout_minutes.map(|m| m.to_string()),
        ..Default::default()
    };
    let plcy_name = format!("{api}_plcy");
    let app_policies = PoliciesXml {
        xmlns: ns(),
        external_client_application: Some(api.clone()),
        is_enabled: bool_text(true),
        is_oauth_plugin_enabled: bool_text(o.is_enabled),
        label: Some(plcy_name.clone()),
        ..Default::default()
    };
    vec![
        (
            format!("externalClientApps/{api}.eca-meta.xml"),
            crate::xml::write(ECA, &header),
        ),
        (
            format!("extlClntAppOauthSettings/{oauth_name}.ecaOauth-meta.xml"),
            crate::xml::write(OAUTH, &oauth),
        ),
        (
            format!("extlClntAppGlobalOauthSets/{global_name}.ecaGlblOauth-meta.xml"),
            crate::xml::write(GLOBAL, &global),
        ),
        (
            format!("extlClntAppOauthPolicies/{policies_name}.ecaOauthPlcy-meta.xml"),
            crate::xml::write(OAUTH_POLICIES, &oauth_policies),
        ),
        (
            format!("extlClntAppPolicies/{plcy_name}.ecaPlcy-meta.xml"),
            crate::xml::write(POLICIES, &app_policies),
        ),
    ]
}

pub(crate) fn sorted(names: &[String]) -> Vec<String> {
    let mut v = names.to_vec();
    v.sort();
    v.dedup();
    v
}

/// A comma-separated list, trimmed, without empty items.
pub(crate) fn split_list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Callback URLs: Setup keeps several, one a line, in one element.
pub(crate) fn split_lines(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The base64 body of a PEM certificate, on one line (what metadata files carry).
pub(crate) fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.split_whitespace())
        .collect()
}

/// A certificate element (PEM, or its bare base64 body) as a [`Certificate`] with only `pem`
/// filled in: this crate doesn't decode X.509; the deploy engine fills in subject, issuer,
/// validity and fingerprint (and refuses a certificate it can't decode).
pub(crate) fn certificate(ctx: &mut Ctx<'_>, value: &Option<String>) -> Option<Certificate> {
    let text = value.as_deref()?.trim();
    if text.is_empty() {
        return None;
    }
    let body = pem_body(text);
    let base64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    if body.is_empty() || !body.bytes().all(base64) {
        ctx.at(
            "certificate",
            "The certificate isn't a PEM-encoded X.509 certificate",
        );
        return None;
    }
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    Some(Certificate {
        subject: String::new(),
        issuer: String::new(),
        serial_number: String::new(),
        not_before: 0,
        not_after: 0,
        sha256_fingerprint: String::new(),
        key_bits: 0,
        pem,
    })
}

/// Scopes in a metadata list, as OAuth scope names, or problems for the unknown ones.
pub(crate) fn parse_scopes(ctx: &mut Ctx<'_>, element: &str, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        match scopes::from_metadata(name) {
            Some(s) => {
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_string());
                }
            }
            None => ctx.at(
                element,
                format!(
                    "'{name}' is not a valid value for the enum 'ConnectedAppOauthAccessScope' ({element}) that byoc supports; valid values: {}",
                    scopes::metadata_names()
                ),
            ),
        }
    }
    out
}

/// The header file → an app with default OAuth settings and policies (the other files fill them).
pub(crate) fn parse_header(ctx: &mut Ctx<'_>) -> Option<App> {
    let x: EcaXml = crate::xml::read(ctx, ECA)?;
    ctx.check_full_name("fullName", &x.full_name);
    let label = ctx.required("label", &x.label);
    let distribution_state = ctx
        .enumeration(
            "distributionState",
            "ExtlClntAppDistState",
            &x.distribution_state,
            DISTRIBUTION_STATES,
        )
        .unwrap_or("Local");
    ctx.boolean("isProtected", &x.is_protected);
    Some(App {
        id: String::new(),
        kind: AppKind::ExternalClientApp,
        name: label?,
        api_name: ctx.full_name.clone(),
        contact_email: x.contact_email.unwrap_or_default().trim().to_string(),
        description: x.description.unwrap_or_default().trim().to_string(),
        distribution_state: Some(distribution_state.to_string()),
        oauth: OAuthSettings {
            is_enabled: false,
            callback_urls: Vec::new(),
            scopes: Vec::new(),
            jwt_bearer_enabled: false,
            client_credentials_enabled: false,
            consumer_key: String::new(),
            consumer_secret: None,
            certificate: None,
        },
        policies: AppPolicies::default(),
        read_only_reason: None,
        created_at: 0,
        updated_at: 0,
    })
}

/// What a plugin file says about its app; applied once every file is read.
pub(crate) enum Plugin {
    Oauth {
        scopes: Vec<String>,
    },
    Global {
        callback_urls: Vec<String>,
        certificate: Option<Certificate>,
        consumer_key: String,
        consumer_secret: Option<String>,
        client_credentials: Option<bool>,
    },
    OauthPolicies {
        policies: AppPolicies,
        client_credentials: Option<bool>,
    },
    Policies {
        oauth_enabled: bool,
    },
}

impl Plugin {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Plugin::Oauth { .. } => OAUTH,
            Plugin::Global { .. } => GLOBAL,
            Plugin::OauthPolicies { .. } => OAUTH_POLICIES,
            Plugin::Policies { .. } => POLICIES,
        }
    }

    /// Fills in the app's settings from this file.
    pub(crate) fn apply(self, app: &mut App) {
        match self {
            Plugin::Oauth { scopes } => app.oauth.scopes = scopes,
            Plugin::Global {
                callback_urls,
                certificate,
                consumer_key,
                consumer_secret,
                client_credentials,
            } => {
                app.oauth.callback_urls = callback_urls;
                // "When provided, it enables the JWT Bearer flow" (ExtlClntAppGlobalOauthSettings).
                app.oauth.jwt_bearer_enabled = certificate.is_some();
                app.oauth.certificate = certificate;
                app.oauth.consumer_key = consumer_key;
                app.oauth.consumer_secret = consumer_secret;
                if let Some(cc) = client_credentials {
                    app.oauth.client_credentials_enabled |= cc;
                }
            }
            Plugin::OauthPolicies {
                policies,
                client_credentials,
            } => {
                app.policies = policies;
                if let Some(cc) = client_credentials {
                    app.oauth.client_credentials_enabled |= cc;
                }
            }
            Plugin::Policies { oauth_enabled } => app.oauth.is_enabled = oauth_enabled,
        }
    }
}

/// A plugin file → the app it names and what it says, or `None` (problems in `ctx`).
pub(crate) fn parse_plugin(ctx: &mut Ctx<'_>) -> Option<(String, Plugin)> {
    match ctx.component_type {
        OAUTH => {
            let x: OauthXml = crate::xml::read(ctx, OAUTH)?;
            ctx.check_full_name("fullName", &x.full_name);
            let app = ctx.required("externalClientApplication", &x.external_client_application);
            let scopes = parse_scopes(
                ctx,
                "commaSeparatedOauthScopes",
                &split_list(&x.comma_separated_oauth_scopes),
            );
            Some((app?, Plugin::Oauth { scopes }))
        }
        GLOBAL => {
            let x: GlobalXml = crate::xml::read(ctx, GLOBAL)?;
            ctx.check_full_name("fullName", &x.full_name);
            let app = ctx.required("externalClientApplication", &x.external_client_application);
            let certificate = certificate(ctx, &x.certificate);
            let client_credentials = ctx.boolean(
                "isClientCredentialsFlowEnabled",
                &x.is_client_credentials_flow_enabled,
            );
            Some((
                app?,
                Plugin::Global {
                    callback_urls: split_lines(&x.callback_url),
                    certificate,
                    consumer_key: x.consumer_key.unwrap_or_default().trim().to_string(),
                    consumer_secret: x
                        .consumer_secret
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                    client_credentials,
                },
            ))
        }
        OAUTH_POLICIES => {
            let x: OauthPoliciesXml = crate::xml::read(ctx, OAUTH_POLICIES)?;
            ctx.check_full_name("fullName", &x.full_name);
            let app = ctx.required("externalClientApplication", &x.external_client_application);
            let permitted_users = ctx
                .enumeration(
                    "permittedUsersPolicyType",
                    "PermittedUsersPolicyType",
                    &x.permitted_users_policy_type,
                    PERMITTED_USERS,
                )
                .unwrap_or_default();
            let ip_relaxation = ctx
                .enumeration(
                    "ipRelaxationPolicyType",
                    "IpRelaxationPolicyType",
                    &x.ip_relaxation_policy_type,
                    IP_RELAXATION,
                )
                .unwrap_or_default();
            let session_timeout_minutes =
                ctx.int("sessionTimeoutInMinutes", &x.session_timeout_in_minutes);
            let client_credentials = ctx.boolean(
                "isClientCredentialsFlowEnabled",
                &x.is_client_credentials_flow_enabled,
            );
            Some((
                app?,
                Plugin::OauthPolicies {
                    policies: AppPolicies {
                        permitted_users,
                        profiles: split_list(&x.comma_separated_profile),
                        permission_sets: split_list(&x.comma_separated_permission_set),
                        ip_relaxation,
                        session_timeout_minutes,
                        run_as_username: x
                            .client_credentials_flow_user
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty()),
                    },
                    client_credentials,
                },
            ))
        }
        _ => {
            let x: PoliciesXml = crate::xml::read(ctx, POLICIES)?;
            ctx.check_full_name("fullName", &x.full_name);
            let app = ctx.required("externalClientApplication", &x.external_client_application);
            // isEnabled turns every plugin off when false; isOauthPluginEnabled the OAuth one.
            let all = ctx.boolean("isEnabled", &x.is_enabled).unwrap_or(true);
            let oauth = ctx
                .boolean("isOauthPluginEnabled", &x.is_oauth_plugin_enabled)
                .unwrap_or(true);
            Some((
                app?,
                Plugin::Policies {
                    oauth_enabled: all && oauth,
                },
            ))
        }
    }
}
