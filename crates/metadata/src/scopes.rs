//! OAuth scopes: byoc keeps the names a token's `scope` carries (`interaction_api`,
//! `refresh_token`); metadata files use the `ConnectedAppOauthAccessScope` names (`Interaction`,
//! `RefreshToken`), in `commaSeparatedOauthScopes` (ECA) and `<scopes>` (connected app).

/// (metadata name, OAuth scope name). Each of byoc's scopes has exactly one metadata name, so
/// a scope survives a retrieve and a deploy unchanged.
const SCOPES: &[(&str, &str)] = &[
    ("Interaction", "interaction_api"),
    ("RefreshToken", "refresh_token"),
    ("OfflineAccess", "offline_access"),
    ("Api", "api"),
    ("Full", "full"),
    ("Web", "web"),
    ("OpenID", "openid"),
    ("Basic", "id"),
    ("Profile", "profile"),
    ("Email", "email"),
    ("Address", "address"),
    ("Phone", "phone"),
    ("Chatter", "chatter_api"),
    ("CustomPermissions", "custom_permissions"),
    ("CustomApplications", "visualforce"),
    ("Lightning", "lightning"),
    ("Content", "content"),
    ("Wave", "wave_api"),
    ("Pardot", "pardot_api"),
    ("CDPProfile", "cdp_api"),
    ("SFApiPlatform", "sfap_api"),
];

/// The metadata name of an OAuth scope; a scope byoc doesn't know keeps its own name.
pub(crate) fn to_metadata(scope: &str) -> String {
    SCOPES
        .iter()
        .find(|(_, oauth)| *oauth == scope)
        .map(|(meta, _)| meta.to_string())
        .unwrap_or_else(|| scope.to_string())
}

/// The OAuth scope of a metadata name. Names are matched case-insensitively (hand-written files
/// say `api` as often as `Api`), and the OAuth names themselves are accepted too.
pub(crate) fn from_metadata(name: &str) -> Option<&'static str> {
    SCOPES
        .iter()
        .find(|(meta, oauth)| meta.eq_ignore_ascii_case(name) || oauth.eq_ignore_ascii_case(name))
        .map(|(_, oauth)| *oauth)
}

/// The metadata names, for error messages.
pub(crate) fn metadata_names() -> String {
    SCOPES
        .iter()
        .map(|(m, _)| *m)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_maps_both_ways() {
        for (meta, oauth) in SCOPES {
            assert_eq!(to_metadata(oauth), *meta);
            assert_eq!(from_metadata(meta), Some(*oauth));
            assert_eq!(from_metadata(&meta.to_lowercase()), Some(*oauth));
        }
        assert_eq!(from_metadata("Eclair"), None);
    }
}
