//! The setup checklist of the help page ("Set Up and Configure Your Own OAuth App for Bring Your
//! Own Channel"), decided from the records alone: for one channel, one app and one integration
//! user, each step is done or not, with what is wrong and which Setup page fixes it.
//!
//! These are the checks `byoc doctor` makes that need no network and no private key: the app's
//! OAuth settings and certificate, its scopes, its Permitted Users policy and the profiles or
//! permission sets assigned to it, the CCD link, the channel address, and the user's access to
//! the CCD's platform event. The token exchange itself stays `byoc doctor`'s (it needs the key).
//! The rules mirror [`crate::oauth::decide`] so a checklist that is all done ends in a token.

use byoc_proto::setup::{
    App, AppKind, AppManagedBy, MessagingChannel, Org, PermissionSet, PermittedUsers, User,
};

use crate::permissions::event_access;

/// A step's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Done,
    NotDone,
    /// Worth knowing, not in the way of a token (e.g. connected app creation is off for new apps).
    Note,
}

/// The Setup page that fixes a step; the console turns it into a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// The Certificate Helper (step 1 of the help page).
    Certificate,
    /// The app's settings (OAuth, callback URL, scopes, JWT Bearer flow, certificate): *Edit*.
    AppSettings { kind: AppKind, api_name: String },
    /// The app's policies (Permitted Users, profiles, permission sets).
    AppPolicies { kind: AppKind, api_name: String },
    /// Migrate a read-only or legacy connected app to an External Client App.
    Migrate { api_name: String },
    /// The channel's page, with its Conversation Channel Definition section.
    Channel { name: String },
    /// *Manage Conversation Channel Definition* of the channel.
    LinkCcd { channel: String },
    /// The user's page (activate, profile, permission sets).
    User { username: String },
    /// Permission Sets (object permissions on the platform event).
    PermissionSets,
    /// External Client App Settings (the org's *Allow creation of connected apps*).
    OrgSettings,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: &'static str,
    /// The step as the help page words it.
    pub title: &'static str,
    pub status: Status,
    /// What was found (and, when not done, what is wrong).
    pub detail: String,
    /// Where to fix it (set when not done).
    pub fix: Option<Fix>,
}

/// Everything the checklist reads.
pub struct Input<'a> {
    pub org: &'a Org,
    pub channel: &'a MessagingChannel,
    pub app: &'a App,
    /// The integration user (the JWT's `sub`), if one was chosen and exists.
    pub user: Option<&'a User>,
    /// Every permission set of the org (the user's are picked by name).
    pub permission_sets: &'a [PermissionSet],
    pub now_millis: i64,
}

/// What Setup calls the scope pair the JWT Bearer flow needs.
pub const INTERACTION_SCOPE: &str = "Access Interaction API resources (interaction_api)";
pub const REFRESH_SCOPE: &str = "Perform requests at any time (refresh_token, offline_access)";

fn step(id: &'static str, title: &'static str, done: bool, detail: String, fix: Fix) -> Step {
    Step {
        id,
        title,
        status: if done { Status::Done } else { Status::NotDone },
        detail,
        fix: (!done).then_some(fix),
    }
}

/// Every step, in the help page's order.
pub fn check(input: &Input<'_>) -> Vec<Step> {
    let app = input.app;
    let kind = app.kind;
    let settings = || Fix::AppSettings {
        kind,
        api_name: app.api_name.clone(),
    };
    let policies = || Fix::AppPolicies {
        kind,
        api_name: app.api_name.clone(),
    };
    let mut steps = Vec::new();

    // The app: OAuth enabled, editable, Local for an ECA.
    let (ok, detail, fix) = if let Some(reason) = &app.read_only_reason {
        (
            false,
            format!(
                "{} {} is read-only ({reason}); use the External Client App it was migrated to.",
                kind.label(),
                app.name
            ),
            Fix::Migrate {
                api_name: app.api_name.clone(),
            },
        )
    } else if !app.oauth.is_enabled {
        (
            false,
            format!(
                "{} {} has OAuth disabled: select Enable OAuth.",
                kind.label(),
                app.name
            ),
            settings(),
        )
    } else if kind == AppKind::ExternalClientApp
        && app.distribution_state.as_deref() != Some("Local")
    {
        (
            false,
            format!(
                "Distribution State is {}, not Local.",
                app.distribution_state.as_deref().unwrap_or("(none)")
            ),
            settings(),
        )
    } else {
        (
            true,
            format!("{} {} exists with OAuth enabled.", kind.label(), app.name),
            settings(),
        )
    };
    steps.push(step(
        "app",
        "Create the app and select Enable OAuth",
        ok,
        detail,
        fix,
    ));

    // Callback URL.
    let ok = !app.oauth.callback_urls.is_empty();
    steps.push(step(
        "callback",
        "Add a callback URL",
        ok,
        if ok {
            format!("Callback URL: {}.", app.oauth.callback_urls.join(", "))
        } else {
            "No callback URL: add one (we recommend https://login.salesforce.com to start with)."
                .into()
        },
        settings(),
    ));

    // Scopes.
    let has = |s: &str| app.oauth.scopes.iter().any(|x| x == s);
    let interaction = has("interaction_api");
    let refresh = has("refresh_token") || has("offline_access");
    let missing: Vec<&str> = [
        (!interaction).then_some(INTERACTION_SCOPE),
        (!refresh).then_some(REFRESH_SCOPE),
    ]
    .into_iter()
    .flatten()
    .collect();
    steps.push(step(
        "scopes",
        "Add the OAuth scopes interaction_api and refresh_token, offline_access",
        missing.is_empty(),
        if missing.is_empty() {
            format!("Selected OAuth Scopes: {}.", app.oauth.scopes.join(", "))
        } else {
            format!(
                "Missing from Selected OAuth Scopes: {}.",
                missing.join("; ")
            )
        },
        settings(),
    ));

    // JWT Bearer flow and the certificate (Use digital signatures on a connected app).
    let (ok, detail) = match (&app.oauth.certificate, app.oauth.jwt_bearer_enabled) {
        (_, false) if kind == AppKind::ExternalClientApp => {
            (false, "Enable JWT Bearer Flow is not selected.".to_string())
        }
        (None, _) => (
            false,
            match kind {
                AppKind::ExternalClientApp => "No certificate is uploaded for the JWT Bearer flow.",
                AppKind::ConnectedApp => {
                    "Use digital signatures has no certificate: upload the certificate file."
                }
            }
            .to_string(),
        ),
        (Some(_), false) => (
            false,
            "The JWT Bearer flow is not enabled for this app.".to_string(),
        ),
        (Some(cert), true) if input.now_millis > cert.not_after => (
            false,
            format!(
                "The certificate ({}) has expired: create a new one and upload it.",
                cert.subject
            ),
        ),
        (Some(cert), true) if input.now_millis < cert.not_before => (
            false,
            format!(
                "The certificate ({}) is not valid yet: check the clock of the machine that made it.",
                cert.subject
            ),
        ),
        (Some(cert), true) => (
            true,
            format!(
                "Certificate {} ({}-bit RSA, SHA-256 {}).",
                cert.subject, cert.key_bits, cert.sha256_fingerprint
            ),
        ),
    };
    steps.push(step(
        "jwt",
        match kind {
            AppKind::ExternalClientApp => {
                "Select Enable JWT Bearer Flow and upload your self-signed certificate"
            }
            AppKind::ConnectedApp => "Select Use digital signatures and upload the certificate",
        },
        ok,
        detail,
        settings(),
    ));

    // Permitted Users.
    let admin_approved = app.policies.permitted_users == PermittedUsers::AdminApprovedPreAuthorized;
    steps.push(step(
        "permitted-users",
        "Set Permitted Users to Admin approved users are pre-authorized",
        admin_approved,
        format!("Permitted Users: {}.", app.policies.permitted_users.label()),
        policies(),
    ));

    // The user's profile or one of their permission sets on the app.
    let assignment = match input.user {
        None => step(
            "profile",
            "Add the integration user's profile (e.g. System Administrator)",
            false,
            "Choose the integration user (the JWT's subject) to check.".into(),
            policies(),
        ),
        Some(user) if !user.is_active => step(
            "profile",
            "Add the integration user's profile (e.g. System Administrator)",
            false,
            format!("The user {} is inactive.", user.username),
            Fix::User {
                username: user.username.clone(),
            },
        ),
        Some(user) => {
            let profile_ok = app
                .policies
                .profiles
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&user.profile));
            let set = app.policies.permission_sets.iter().find(|ps| {
                user.permission_sets
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(ps))
            });
            let (ok, detail) = if profile_ok {
                (
                    true,
                    format!(
                        "The profile {} of {} is assigned.",
                        user.profile, user.username
                    ),
                )
            } else if let Some(set) = set {
                (
                    true,
                    format!("The permission set {set} of {} is assigned.", user.username),
                )
            } else {
                (
                    false,
                    format!(
                        "Neither the profile {} of {} nor any of their permission sets is assigned to the app (profiles: {}).",
                        user.profile,
                        user.username,
                        if app.policies.profiles.is_empty() {
                            "none".to_string()
                        } else {
                            app.policies.profiles.join(", ")
                        }
                    ),
                )
            };
            step(
                "profile",
                "Add the integration user's profile (e.g. System Administrator)",
                ok,
                detail,
                policies(),
            )
        }
    };
    steps.push(assignment);

    // The CCD link.
    let channel = input.channel;
    let ccd_title = "Update the Conversation Channel Definition with your app";
    let ccd_step = match &channel.conversation_channel_definition {
        None => step(
            "ccd",
            ccd_title,
            false,
            format!(
                "{} is a {} channel: it has no Conversation Channel Definition. Choose a Bring Your Own Channel channel.",
                channel.name,
                channel.channel_type.label()
            ),
            Fix::Channel {
                name: channel.name.clone(),
            },
        ),
        Some(ccd) => {
            let linked = ccd
                .linked_app
                .as_ref()
                .is_some_and(|l| l.kind == kind && l.id == app.id);
            let partner = ccd.connected_app_type == AppManagedBy::Partner;
            let detail = match (&ccd.linked_app, linked, partner) {
                (_, true, _) => format!("{} is linked to {}.", ccd.developer_name, app.name),
                (_, false, true) => format!(
                    "{} is partner-managed: the partner's app authorizes it, so your app can't be linked. Choose a customer-managed channel, or use the partner's app.",
                    ccd.developer_name
                ),
                (Some(other), false, false) => format!(
                    "{} is linked to {} {}, not to {}.",
                    ccd.developer_name,
                    other.kind.label(),
                    other.name,
                    app.name
                ),
                (None, false, false) => format!("{} is linked to no app.", ccd.developer_name),
            };
            step(
                "ccd",
                ccd_title,
                linked,
                detail,
                if partner {
                    Fix::Channel {
                        name: channel.name.clone(),
                    }
                } else {
                    Fix::LinkCcd {
                        channel: channel.name.clone(),
                    }
                },
            )
        }
    };
    steps.push(ccd_step);

    // The channel address.
    let address = channel.channel_address_identifier.trim();
    let (ok, detail) = if address.is_empty() {
        (false, "The channel has no channel address.".to_string())
    } else if !channel.is_active {
        (false, format!("The channel of {address} is not active."))
    } else {
        (true, format!("Channel address {address}, active."))
    };
    steps.push(step(
        "address",
        "The channel has an active channel address",
        ok,
        detail,
        Fix::Channel {
            name: channel.name.clone(),
        },
    ));

    // Pub/Sub: Read on the CCD's platform event.
    if let Some(ccd) = &channel.conversation_channel_definition {
        let event = &ccd.custom_platform_event;
        let title = "The integration user can read the platform event (Pub/Sub API)";
        let s = match input.user {
            None => step(
                "pubsub",
                title,
                false,
                "Choose the integration user to check.".into(),
                Fix::PermissionSets,
            ),
            Some(user) => {
                let access = event_access(user, input.permission_sets, event);
                step(
                    "pubsub",
                    title,
                    access.read,
                    if access.read {
                        format!("{} has Read on {event}.", user.username)
                    } else {
                        format!(
                            "{} has no Read on {event}: give their profile or a permission set of theirs Read on it.",
                            user.username
                        )
                    },
                    Fix::PermissionSets,
                )
            }
        };
        steps.push(s);
    }

    // Connected apps: the Spring '26 setting.
    if kind == AppKind::ConnectedApp {
        steps.push(if input.org.allow_connected_app_creation {
            Step {
                id: "connected-app-creation",
                title: "Connected app creation is enabled (Spring '26)",
                status: Status::Done,
                detail: "This org allows creating connected apps.".into(),
                fix: None,
            }
        } else {
            Step {
                id: "connected-app-creation",
                title: "Connected app creation is enabled (Spring '26)",
                status: Status::Note,
                detail: "This org doesn't allow creating connected apps; this one still works. We recommend an External Client App instead (migrate it).".into(),
                fix: Some(Fix::Migrate {
                    api_name: app.api_name.clone(),
                }),
            }
        });
    }
    steps
}

/// Whether nothing is left to do.
pub fn all_done(steps: &[Step]) -> bool {
    steps.iter().all(|s| s.status != Status::NotDone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use byoc_proto::setup::{
        AppPolicies, AppRef, Certificate, ChannelType, ConversationChannelDefinition,
        OAuthSettings, ObjectPermissions, Owner,
    };

    const NOW: i64 = 1_800_000_000_000;

    fn org() -> Org {
        Org {
            id: "00D000000000001".into(),
            id18: "00D000000000001AAA".into(),
            name: "Org".into(),
            my_domain: "org".into(),
            allow_connected_app_creation: false,
            created_at: 0,
        }
    }

    fn app(kind: AppKind) -> App {
        App {
            id: "0xI000000000001".into(),
            kind,
            name: "Acme".into(),
            api_name: "Acme".into(),
            contact_email: "a@example.com".into(),
            description: String::new(),
            distribution_state: (kind == AppKind::ExternalClientApp).then(|| "Local".into()),
            oauth: OAuthSettings {
                is_enabled: true,
                callback_urls: vec!["https://login.salesforce.com".into()],
                scopes: vec![
                    "interaction_api".into(),
                    "refresh_token".into(),
                    "offline_access".into(),
                ],
                jwt_bearer_enabled: true,
                client_credentials_enabled: false,
                consumer_key: "key".into(),
                consumer_secret: None,
                certificate: Some(Certificate {
                    subject: "CN=acme".into(),
                    issuer: "CN=acme".into(),
                    serial_number: "01".into(),
                    not_before: NOW - 1000,
                    not_after: NOW + 1000,
                    sha256_fingerprint: "AB".into(),
                    key_bits: 2048,
                    pem: String::new(),
                }),
            },
            policies: AppPolicies {
                permitted_users: PermittedUsers::AdminApprovedPreAuthorized,
                profiles: vec!["System Administrator".into()],
                ..AppPolicies::default()
            },
            read_only_reason: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn channel(app: &App, managed: AppManagedBy) -> MessagingChannel {
        MessagingChannel {
            id: "0Mj000000000001".into(),
            name: "Chan".into(),
            developer_name: "Chan".into(),
            channel_type: ChannelType::ByocMessaging,
            channel_address_identifier: "addr".into(),
            is_active: true,
            conversation_channel_definition: Some(ConversationChannelDefinition {
                id: "0Yd000000000001".into(),
                developer_name: "Chan_CCD".into(),
                master_label: "Chan CCD".into(),
                custom_platform_event: "Byoc_Outbound__e".into(),
                custom_event_payload_field: "Payload__c".into(),
                custom_event_type_field: "Type__c".into(),
                custom_event_channel_address_id_field: "Address__c".into(),
                custom_event_recipient_field: "Recipient__c".into(),
                routing_owner: Owner::Salesforce,
                consent_owner: Owner::Salesforce,
                connected_app_type: managed,
                linked_app: Some(AppRef {
                    kind: app.kind,
                    id: app.id.clone(),
                    name: app.name.clone(),
                    api_name: app.api_name.clone(),
                }),
                created_at: 0,
                last_modified_at: 0,
            }),
            created_at: 0,
        }
    }

    fn user(profile: &str, sets: &[&str]) -> User {
        User {
            id: "005000000000001".into(),
            id18: "005000000000001AAA".into(),
            username: "u@example.com".into(),
            email: "u@example.com".into(),
            profile: profile.into(),
            permission_sets: sets.iter().map(|s| s.to_string()).collect(),
            is_active: true,
            created_at: 0,
        }
    }

    fn run(
        app: &App,
        channel: &MessagingChannel,
        user: Option<&User>,
        sets: &[PermissionSet],
    ) -> Vec<Step> {
        check(&Input {
            org: &org(),
            channel,
            app,
            user,
            permission_sets: sets,
            now_millis: NOW,
        })
    }

    fn status<'a>(steps: &'a [Step], id: &str) -> &'a Step {
        steps.iter().find(|s| s.id == id).expect(id)
    }

    #[test]
    fn the_sample_setup_is_all_done() {
        let a = app(AppKind::ExternalClientApp);
        let c = channel(&a, AppManagedBy::Customer);
        let u = user("System Administrator", &[]);
        let steps = run(&a, &c, Some(&u), &[]);
        assert!(all_done(&steps), "{steps:#?}");
        assert_eq!(steps.len(), 9);
        assert!(steps.iter().all(|s| s.fix.is_none()));
    }

    #[test]
    fn each_broken_step_is_not_done_with_its_fix() {
        let good = app(AppKind::ExternalClientApp);
        let c = channel(&good, AppManagedBy::Customer);
        let admin = user("System Administrator", &[]);
        let policies = Fix::AppPolicies {
            kind: AppKind::ExternalClientApp,
            api_name: "Acme".into(),
        };

        let mut a = good.clone();
        a.policies.profiles.clear();
        let steps = run(&a, &c, Some(&admin), &[]);
        let s = status(&steps, "profile");
        assert_eq!(s.status, Status::NotDone);
        assert_eq!(s.fix.as_ref(), Some(&policies));
        assert!(s.detail.contains("System Administrator"), "{}", s.detail);
        assert_eq!(
            steps.iter().filter(|s| s.status == Status::NotDone).count(),
            1
        );

        let mut a = good.clone();
        a.oauth.scopes = vec!["interaction_api".into()];
        let s = run(&a, &c, Some(&admin), &[]);
        assert!(status(&s, "scopes").detail.contains(REFRESH_SCOPE));

        let mut a = good.clone();
        a.oauth.jwt_bearer_enabled = false;
        assert_eq!(
            status(&run(&a, &c, Some(&admin), &[]), "jwt").status,
            Status::NotDone
        );

        let mut a = good.clone();
        if let Some(cert) = a.oauth.certificate.as_mut() {
            cert.not_after = NOW - 1;
        }
        let s = run(&a, &c, Some(&admin), &[]);
        assert!(status(&s, "jwt").detail.contains("expired"));

        let mut a = good.clone();
        a.policies.permitted_users = PermittedUsers::AllSelfAuthorized;
        let s = run(&a, &c, Some(&admin), &[]);
        assert_eq!(status(&s, "permitted-users").fix.as_ref(), Some(&policies));

        // Another app linked; then a partner-managed CCD.
        let mut other = good.clone();
        other.id = "0xI000000000002".into();
        let s = run(&other, &c, Some(&admin), &[]);
        assert_eq!(
            status(&s, "ccd").fix,
            Some(Fix::LinkCcd {
                channel: "Chan".into()
            })
        );
        let p = channel(&good, AppManagedBy::Partner);
        let s = run(&other, &p, Some(&admin), &[]);
        assert!(status(&s, "ccd").detail.contains("partner-managed"));
        assert_eq!(
            status(&s, "ccd").fix,
            Some(Fix::Channel {
                name: "Chan".into()
            })
        );

        let mut inactive = c.clone();
        inactive.is_active = false;
        let s = run(&good, &inactive, Some(&admin), &[]);
        assert_eq!(status(&s, "address").status, Status::NotDone);

        assert_eq!(
            status(&run(&good, &c, None, &[]), "profile").status,
            Status::NotDone
        );
    }

    #[test]
    fn a_standard_user_needs_the_profile_or_a_permission_set_and_read_on_the_event() {
        let mut a = app(AppKind::ExternalClientApp);
        let c = channel(&a, AppManagedBy::Customer);
        let u = user("Standard User", &["Connector"]);
        let steps = run(&a, &c, Some(&u), &[]);
        assert_eq!(status(&steps, "profile").status, Status::NotDone);
        assert_eq!(status(&steps, "pubsub").status, Status::NotDone);
        a.policies.permission_sets = vec!["connector".into()];
        let set = PermissionSet {
            id: "0PS000000000001".into(),
            name: "Connector".into(),
            label: "Connector".into(),
            permissions: vec![],
            object_permissions: vec![ObjectPermissions {
                object: "Byoc_Outbound__e".into(),
                allow_read: true,
                allow_create: false,
            }],
            created_at: 0,
        };
        let steps = run(&a, &c, Some(&u), &[set]);
        assert!(all_done(&steps), "{steps:#?}");
    }

    #[test]
    fn connected_apps_note_the_spring_26_setting_without_failing() {
        let mut a = app(AppKind::ConnectedApp);
        a.id = "0H4000000000001".into();
        let c = channel(&a, AppManagedBy::Customer);
        let u = user("System Administrator", &[]);
        let steps = run(&a, &c, Some(&u), &[]);
        assert_eq!(
            status(&steps, "connected-app-creation").status,
            Status::Note
        );
        assert!(all_done(&steps), "{steps:#?}");
        a.read_only_reason = Some("migrated".into());
        let steps = run(&a, &c, Some(&u), &[]);
        assert_eq!(
            status(&steps, "app").fix,
            Some(Fix::Migrate {
                api_name: "Acme".into()
            })
        );
    }
}
