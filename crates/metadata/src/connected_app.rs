//! Connected apps: `connectedApps/<Api>.connectedApp-meta.xml` (`ConnectedApp`), OAuth settings
//! in `oauthConfig`, policies in `oauthPolicy` and `sessionPolicy`, and the profiles and
//! permission sets an admin-approved app is assigned to in `profileName` / `permissionSetName`
//! (API 46.0+) — where Salesforce expresses a profile's connected app access in metadata.

use byoc_proto::setup::{App, AppKind, AppPolicies, IpRelaxation, OAuthSettings, PermittedUsers};
use serde::{Deserialize, Serialize};

use crate::eca::{certificate, parse_scopes, pem_body, sorted, split_lines};
use crate::scopes;
use crate::xml::{bool_text, ns, opt, Ctx};

pub(crate) const CONNECTED_APP: &str = "ConnectedApp";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct ConnectedAppXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth_config: Option<OauthConfigXml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth_policy: Option<OauthPolicyXml>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    permission_set_name: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profile_name: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_policy: Option<SessionPolicyXml>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct OauthConfigXml {
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_admin_approved: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_client_credential_enabled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth_client_credential_user: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct OauthPolicyXml {
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_relaxation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token_policy: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct SessionPolicyXml {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_timeout: Option<String>,
}

/// `ConnectedAppOauthPolicy.ipRelaxation` values (upper case, unlike the ECA's).
const IP_RELAXATION: &[(&str, IpRelaxation)] = &[
    ("ENFORCE", IpRelaxation::Enforce),
    ("BYPASS_2FACTOR", IpRelaxation::BypassUsingSecondFactor),
    ("BYPASS", IpRelaxation::Relax),
    ("ENFORCE_RELAXREFRESH", IpRelaxation::Enforce),
];

fn ip_name(ip: IpRelaxation) -> &'static str {
    match ip {
        IpRelaxation::Enforce => "ENFORCE",
        IpRelaxation::BypassUsingSecondFactor => "BYPASS_2FACTOR",
        IpRelaxation::Relax => "BYPASS",
    }
}

pub(crate) fn write(app: &App, include_secrets: bool) -> (String, String) {
    let o = &app.oauth;
    let p = &app.policies;
    let admin_approved = p.permitted_users == PermittedUsers::AdminApprovedPreAuthorized;
    let oauth_config = o.is_enabled.then(|| OauthConfigXml {
        callback_url: opt(&o.callback_urls.join("\n")),
        certificate: o.certificate.as_ref().and_then(|c| opt(&pem_body(&c.pem))),
        consumer_key: opt(&o.consumer_key),
        consumer_secret: if include_secrets {
            o.consumer_secret.as_deref().and_then(opt)
        } else {
            None
        },
        is_admin_approved: bool_text(admin_approved),
        is_client_credential_enabled: bool_text(o.client_credentials_enabled),
        oauth_client_credential_user: p.run_as_username.as_deref().and_then(opt),
        scopes: o.scopes.iter().map(|s| scopes::to_metadata(s)).collect(),
    });
    let x = ConnectedAppXml {
        xmlns: ns(),
        contact_email: opt(&app.contact_email),
        description: opt(&app.description),
        label: Some(app.name.clone()),
        oauth_policy: o.is_enabled.then(|| OauthPolicyXml {
            ip_relaxation: Some(ip_name(p.ip_relaxation).into()),
            // byoc issues no refresh tokens; Salesforce's default policy.
            refresh_token_policy: Some("infinite".into()),
        }),
        oauth_config,
        permission_set_name: sorted(&p.permission_sets),
        profile_name: sorted(&p.profiles),
        session_policy: p.session_timeout_minutes.map(|m| SessionPolicyXml {
            session_timeout: Some(m.to_string()),
        }),
        ..Default::default()
    };
    (
        format!("connectedApps/{}.connectedApp-meta.xml", app.api_name),
        crate::xml::write(CONNECTED_APP, &x),
    )
}

pub(crate) fn parse(ctx: &mut Ctx<'_>) -> Option<App> {
    let x: ConnectedAppXml = crate::xml::read(ctx, CONNECTED_APP)?;
    ctx.check_full_name("fullName", &x.full_name);
    let label = ctx.required("label", &x.label);
    let contact_email = ctx.required("contactEmail", &x.contact_email);
    // OAuth is enabled when the app has OAuth settings at all.
    let oauth_enabled = x.oauth_config.is_some();
    let c = x.oauth_config.unwrap_or_default();
    let policy = x.oauth_policy.unwrap_or_default();
    let admin_approved = ctx
        .boolean("isAdminApproved", &c.is_admin_approved)
        .unwrap_or(false);
    let client_credentials = ctx
        .boolean("isClientCredentialEnabled", &c.is_client_credential_enabled)
        .unwrap_or(false);
    let certificate = certificate(ctx, &c.certificate);
    let scopes = parse_scopes(ctx, "scopes", &c.scopes);
    let ip_relaxation = ctx
        .enumeration(
            "ipRelaxation",
            "ConnectedAppIpRelaxation",
            &policy.ip_relaxation,
            IP_RELAXATION,
        )
        .unwrap_or_default();
    let session_timeout_minutes = x
        .session_policy
        .as_ref()
        .and_then(|s| ctx.int("sessionTimeout", &s.session_timeout));
    // An empty <profileName></profileName> removes every profile (ConnectedApp reference).
    let names = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    Some(App {
        id: String::new(),
        kind: AppKind::ConnectedApp,
        name: label?,
        api_name: ctx.full_name.clone(),
        contact_email: contact_email?,
        description: x.description.unwrap_or_default().trim().to_string(),
        distribution_state: None,
        oauth: OAuthSettings {
            is_enabled: oauth_enabled,
            callback_urls: split_lines(&c.callback_url),
            scopes,
            // *Use digital signatures* is what JWT Bearer needs on a connected app.
            jwt_bearer_enabled: certificate.is_some(),
            client_credentials_enabled: client_credentials,
            consumer_key: c.consumer_key.unwrap_or_default().trim().to_string(),
            consumer_secret: c
                .consumer_secret
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            certificate,
        },
        policies: AppPolicies {
            permitted_users: if admin_approved {
                PermittedUsers::AdminApprovedPreAuthorized
            } else {
                PermittedUsers::AllSelfAuthorized
            },
            profiles: names(&x.profile_name),
            permission_sets: names(&x.permission_set_name),
            ip_relaxation,
            session_timeout_minutes,
            run_as_username: c
                .oauth_client_credential_user
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        },
        read_only_reason: None,
        created_at: 0,
        updated_at: 0,
    })
}
