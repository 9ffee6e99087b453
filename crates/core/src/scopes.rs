//! The OAuth scope catalogue of Setup: API names with the labels Setup shows.

/// One OAuth scope of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthScope {
    /// The name used in the `scope` parameter and token responses.
    pub api_name: &'static str,
    /// What Setup shows in *Selected OAuth Scopes*.
    pub label: &'static str,
}

/// Scopes Setup offers; several API names share one label (e.g. `refresh_token`, `offline_access`).
pub const CATALOGUE: &[OAuthScope] = &[
    OAuthScope {
        api_name: "interaction_api",
        label: "Access Interaction API resources (interaction_api)",
    },
    OAuthScope {
        api_name: "refresh_token",
        label: "Perform requests at any time (refresh_token, offline_access)",
    },
    OAuthScope {
        api_name: "offline_access",
        label: "Perform requests at any time (refresh_token, offline_access)",
    },
    OAuthScope {
        api_name: "api",
        label: "Manage user data via APIs (api)",
    },
    OAuthScope {
        api_name: "full",
        label: "Full access (full)",
    },
    OAuthScope {
        api_name: "web",
        label: "Manage user data via Web browsers (web)",
    },
    OAuthScope {
        api_name: "openid",
        label: "Access unique user identifiers (openid)",
    },
    OAuthScope {
        api_name: "id",
        label: "Access the identity URL service (id, profile, email, address, phone)",
    },
    OAuthScope {
        api_name: "profile",
        label: "Access the identity URL service (id, profile, email, address, phone)",
    },
    OAuthScope {
        api_name: "email",
        label: "Access the identity URL service (id, profile, email, address, phone)",
    },
    OAuthScope {
        api_name: "address",
        label: "Access the identity URL service (id, profile, email, address, phone)",
    },
    OAuthScope {
        api_name: "phone",
        label: "Access the identity URL service (id, profile, email, address, phone)",
    },
    OAuthScope {
        api_name: "chatter_api",
        label: "Access Connect REST API resources (chatter_api)",
    },
    OAuthScope {
        api_name: "custom_permissions",
        label: "Access custom permissions (custom_permissions)",
    },
    OAuthScope {
        api_name: "visualforce",
        label: "Manage user data via Web browsers (visualforce)",
    },
    OAuthScope {
        api_name: "lightning",
        label: "Access Lightning applications (lightning)",
    },
    OAuthScope {
        api_name: "content",
        label: "Access content resources (content)",
    },
    OAuthScope {
        api_name: "wave_api",
        label: "Access Analytics REST API resources (wave_api)",
    },
    OAuthScope {
        api_name: "pardot_api",
        label: "Access Pardot services (pardot_api)",
    },
    OAuthScope {
        api_name: "cdp_api",
        label: "Manage Data Cloud profile data (cdp_profile_api)",
    },
    OAuthScope {
        api_name: "sfap_api",
        label: "Access the Salesforce API Platform (sfap_api)",
    },
];

/// Look a scope up by API name (exact, as Salesforce's names are lowercase).
pub fn find(api_name: &str) -> Option<&'static OAuthScope> {
    CATALOGUE.iter().find(|s| s.api_name == api_name)
}
