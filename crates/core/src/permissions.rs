//! Who may do what in Setup: built-in profiles, effective permissions, and the rule each setup
//! action needs.
//!
//! The rules for apps come from Salesforce's documentation (DESIGN.md §4): local External Client
//! Apps need *Create, edit, and delete External Client Apps*; connected apps need *Customize
//! Application* AND (*Modify All Data* OR *Manage Connected Apps*); changing a connected app's
//! profiles or permission sets needs *Customize Application* AND *Modify All Data* AND *Manage
//! Profiles and Permission Sets*. The rules for the other actions are byoc's closest match among
//! the permissions byoc models; `docs/setup.md` lists them.

use std::collections::BTreeSet;

use byoc_proto::setup::{ObjectPermissions, PermissionSet, Profile, User, UserPermission};

use crate::SetupError;

pub const SYSTEM_ADMINISTRATOR: &str = "System Administrator";
pub const STANDARD_USER: &str = "Standard User";

/// The built-in profiles. Ids are fixed so every instance sharing a database agrees on them.
pub fn builtin_profiles() -> Vec<Profile> {
    vec![
        Profile {
            id: "00e000000000001".into(),
            name: SYSTEM_ADMINISTRATOR.into(),
            permissions: UserPermission::ALL.to_vec(),
            // Read and Create on every platform event come with *Modify All Data*.
            object_permissions: vec![],
        },
        Profile {
            id: "00e000000000002".into(),
            name: STANDARD_USER.into(),
            permissions: vec![],
            // No access to custom platform events until a permission set grants it
            // (docs/setup.md: byoc's choice where Salesforce's default is not documented).
            object_permissions: vec![],
        },
    ]
}

/// The built-in profile with this name (case-insensitive, as Setup's lookups are).
pub fn find_profile(name: &str) -> Option<Profile> {
    builtin_profiles()
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// What a user may do with one platform event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventAccess {
    /// *Read*: subscribe, and GetTopic/GetSchema on the Pub/Sub API.
    pub read: bool,
    /// *Create*: publish.
    pub create: bool,
}

/// The user's access to the platform event `object` (e.g. `Byoc_Outbound__e`): the union of the
/// object permissions of their profile and assigned permission sets, as Salesforce combines
/// them. *Modify All Data* (System Administrator) overrides object permissions and grants both;
/// an inactive user has none.
pub fn event_access(user: &User, permission_sets: &[PermissionSet], object: &str) -> EventAccess {
    if !user.is_active {
        return EventAccess::default();
    }
    let assigned: Vec<&PermissionSet> = permission_sets
        .iter()
        .filter(|ps| {
            user.permission_sets
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&ps.name))
        })
        .collect();
    let profile = find_profile(&user.profile);
    let modify_all = profile
        .iter()
        .flat_map(|p| p.permissions.iter())
        .chain(assigned.iter().flat_map(|ps| ps.permissions.iter()))
        .any(|p| *p == UserPermission::ModifyAllData);
    if modify_all {
        return EventAccess {
            read: true,
            create: true,
        };
    }
    let mut access = EventAccess::default();
    let grants = profile
        .iter()
        .flat_map(|p| p.object_permissions.iter())
        .chain(assigned.iter().flat_map(|ps| ps.object_permissions.iter()))
        .filter(|op| op.object.eq_ignore_ascii_case(object));
    for op in grants {
        access.read |= op.allow_read;
        access.create |= op.allow_create;
    }
    access
}

/// Object permissions as entered, made canonical: platform events only (`…__e`), one entry per
/// object (case-insensitive, later entries merged in), *Create* bringing *Read* with it (Setup
/// checks Read when Create is checked), entries with no access dropped, sorted by object.
pub fn normalize_object_permissions(
    input: &[ObjectPermissions],
) -> Result<Vec<ObjectPermissions>, SetupError> {
    let mut out: Vec<ObjectPermissions> = Vec::new();
    for op in input {
        let object = op.object.trim();
        // `Name__e`, or with a namespace prefix `ns__Name__e` (a partner's packaged event).
        let valid = crate::setup::ccd::custom_name("objectPermissions", object, "__e").is_ok();
        if !valid {
            return Err(SetupError::invalid(
                "objectPermissions",
                format!("{object:?} isn't a platform event: object permissions in byoc apply to platform events, whose API names end in __e (e.g. Byoc_Outbound__e)."),
            ));
        }
        let (read, create) = (op.allow_read || op.allow_create, op.allow_create);
        match out
            .iter_mut()
            .find(|o| o.object.eq_ignore_ascii_case(object))
        {
            Some(o) => {
                o.allow_read |= read;
                o.allow_create |= create;
            }
            None => out.push(ObjectPermissions {
                object: object.to_string(),
                allow_read: read,
                allow_create: create,
            }),
        }
    }
    out.retain(|o| o.allow_read || o.allow_create);
    out.sort_by_key(|o| o.object.to_lowercase());
    Ok(out)
}

/// A permission expression: what an action needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Permission(UserPermission),
    All(Vec<Requirement>),
    Any(Vec<Requirement>),
}

impl Requirement {
    fn holds(&self, have: &BTreeSet<UserPermission>) -> bool {
        match self {
            Requirement::Permission(p) => have.contains(p),
            Requirement::All(rs) => rs.iter().all(|r| r.holds(have)),
            Requirement::Any(rs) => rs.iter().any(|r| r.holds(have)),
        }
    }

    /// The part of the requirement that is not met, in words, e.g.
    /// `Customize Application and (Modify All Data or Manage Connected Apps)`.
    fn missing(&self, have: &BTreeSet<UserPermission>, nested: bool) -> Option<String> {
        if self.holds(have) {
            return None;
        }
        let (parts, sep) = match self {
            Requirement::Permission(p) => return Some(format!("\"{}\"", p.label())),
            Requirement::All(rs) => (rs, " and "),
            Requirement::Any(rs) => (rs, " or "),
        };
        let failing: Vec<&Requirement> = parts.iter().filter(|r| !r.holds(have)).collect();
        if let [only] = failing.as_slice() {
            return only.missing(have, nested);
        }
        let parts: Vec<String> = failing
            .iter()
            .filter_map(|r| r.missing(have, true))
            .collect();
        let joined = parts.join(sep);
        Some(if nested && parts.len() > 1 {
            format!("({joined})")
        } else {
            joined
        })
    }
}

fn p(perm: UserPermission) -> Requirement {
    Requirement::Permission(perm)
}

/// The setup actions that are permission-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupAction {
    ManageUsers,
    ManagePermissionSets,
    ChangeOrgSettings,
    ManageExternalClientApps,
    ManageConnectedApps,
    ManageConnectedAppAccess,
    MigrateConnectedApp,
    ManageMessagingChannels,
    /// Define custom platform events and their fields (Setup > Platform Events).
    ManagePlatformEvents,
    /// Setup's *Login As* (the admin API's `X-Byoc-As`).
    LoginAs,
    /// Read Setup's records: org, profiles, users, permission sets, apps, channels, CCDs, the
    /// audit trail.
    ViewSetup,
    /// Read conversations, their entries and attachments.
    ReadConversations,
    /// Work a conversation as an agent: reply, end it, ask for routing.
    WorkConversations,
}

impl SetupAction {
    pub fn describe(self) -> &'static str {
        match self {
            SetupAction::ManageUsers => "manage users",
            SetupAction::ManagePermissionSets => "manage permission sets",
            SetupAction::ChangeOrgSettings => "change org settings",
            SetupAction::ManageExternalClientApps => "create, edit, or delete External Client Apps",
            SetupAction::ManageConnectedApps => "create or edit connected apps",
            SetupAction::ManageConnectedAppAccess => {
                "change which profiles and permission sets can use a connected app"
            }
            SetupAction::MigrateConnectedApp => "migrate a connected app to an External Client App",
            SetupAction::ManageMessagingChannels => "manage messaging channels",
            SetupAction::ManagePlatformEvents => "create, edit, or delete platform events",
            SetupAction::LoginAs => "log in as another user",
            SetupAction::ViewSetup => "view setup and configuration",
            SetupAction::ReadConversations => "read conversations",
            SetupAction::WorkConversations => "work conversations as an agent",
        }
    }

    pub fn requirement(self) -> Requirement {
        use UserPermission::*;
        match self {
            SetupAction::ManageExternalClientApps => p(ManageExternalClientApps),
            SetupAction::ManageConnectedApps => Requirement::All(vec![
                p(CustomizeApplication),
                Requirement::Any(vec![p(ModifyAllData), p(ManageConnectedApps)]),
            ]),
            SetupAction::ManageConnectedAppAccess => Requirement::All(vec![
                p(CustomizeApplication),
                p(ModifyAllData),
                p(ManageProfilesPermissionSets),
            ]),
            SetupAction::MigrateConnectedApp => Requirement::All(vec![
                p(ManageExternalClientApps),
                p(CustomizeApplication),
                Requirement::Any(vec![p(ModifyAllData), p(ManageConnectedApps)]),
            ]),
            SetupAction::ManageUsers | SetupAction::ManagePermissionSets => {
                p(ManageProfilesPermissionSets)
            }
            SetupAction::ChangeOrgSettings => {
                Requirement::All(vec![p(CustomizeApplication), p(ModifyAllData)])
            }
            SetupAction::ManageMessagingChannels => p(CustomizeApplication),
            // Custom objects, and so platform events, need Customize Application in Setup.
            SetupAction::ManagePlatformEvents => p(CustomizeApplication),
            // Salesforce: *Login As* needs Modify All Data and Manage Users (which byoc models
            // as Manage Profiles and Permission Sets), with "Administrators Can Log in as Any
            // User" on.
            SetupAction::LoginAs => {
                Requirement::All(vec![p(ModifyAllData), p(ManageProfilesPermissionSets)])
            }
            SetupAction::ViewSetup => p(ViewSetup),
            // Agents read the sessions they work; otherwise reading every conversation is
            // "View All Data", which Modify All Data implies.
            SetupAction::ReadConversations => {
                Requirement::Any(vec![p(MessagingUser), p(ModifyAllData)])
            }
            SetupAction::WorkConversations => p(MessagingUser),
        }
    }
}

/// The user acting in Setup, with the permissions their profile and permission sets grant.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub permissions: BTreeSet<UserPermission>,
}

impl Actor {
    /// `permission_sets` are the user's assigned permission sets, already loaded.
    pub fn new(user: User, permission_sets: &[PermissionSet]) -> Actor {
        let mut permissions: BTreeSet<UserPermission> = find_profile(&user.profile)
            .map(|p| p.permissions.into_iter().collect())
            .unwrap_or_default();
        for ps in permission_sets {
            if user
                .permission_sets
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&ps.name))
            {
                permissions.extend(ps.permissions.iter().copied());
            }
        }
        Actor { user, permissions }
    }

    /// Refuse the action, naming what is missing, unless the actor may do it.
    pub fn authorize(&self, action: SetupAction) -> Result<(), SetupError> {
        if !self.user.is_active {
            return Err(SetupError::InsufficientAccess(format!(
                "User {} is inactive and can't {}.",
                self.user.username,
                action.describe()
            )));
        }
        match action.requirement().missing(&self.permissions, false) {
            None => Ok(()),
            Some(missing) => Err(SetupError::InsufficientAccess(format!(
                "User {} can't {}: missing the user permission {}.",
                self.user.username,
                action.describe(),
                missing
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn set(name: &str, perms: &[UserPermission]) -> PermissionSet {
        PermissionSet {
            id: "0PS000000000001".into(),
            name: name.into(),
            label: name.into(),
            permissions: perms.to_vec(),
            object_permissions: vec![],
            created_at: 0,
        }
    }

    #[test]
    fn system_administrator_may_do_everything() {
        let admin = Actor::new(user(SYSTEM_ADMINISTRATOR, &[]), &[]);
        for action in [
            SetupAction::ManageUsers,
            SetupAction::ManageExternalClientApps,
            SetupAction::ManageConnectedApps,
            SetupAction::ManageConnectedAppAccess,
            SetupAction::MigrateConnectedApp,
            SetupAction::ChangeOrgSettings,
        ] {
            assert!(admin.authorize(action).is_ok(), "{action:?}");
        }
    }

    #[test]
    fn refusal_names_what_is_missing() {
        let std = Actor::new(user(STANDARD_USER, &[]), &[]);
        let err = std
            .authorize(SetupAction::ManageConnectedApps)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "\"Customize Application\" and (\"Modify All Data\" or \"Manage Connected Apps\")"
            ),
            "{err}"
        );

        let ps = set("CA", &[UserPermission::CustomizeApplication]);
        let partial = Actor::new(user(STANDARD_USER, &["CA"]), &[ps]);
        let err = partial
            .authorize(SetupAction::ManageConnectedApps)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("permission \"Modify All Data\" or \"Manage Connected Apps\"."),
            "{err}"
        );
        assert!(!err.contains("Customize Application"), "{err}");
    }

    #[test]
    fn login_as_reads_and_agent_work_need_their_permissions() {
        let admin = Actor::new(user(SYSTEM_ADMINISTRATOR, &[]), &[]);
        for action in [
            SetupAction::LoginAs,
            SetupAction::ViewSetup,
            SetupAction::ReadConversations,
            SetupAction::WorkConversations,
        ] {
            assert!(admin.authorize(action).is_ok(), "{action:?}");
        }
        let std = Actor::new(user(STANDARD_USER, &[]), &[]);
        let err = std.authorize(SetupAction::LoginAs).unwrap_err().to_string();
        assert!(
            err.contains("\"Modify All Data\" and \"Manage Profiles and Permission Sets\""),
            "{err}"
        );
        let err = std
            .authorize(SetupAction::ViewSetup)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"View Setup and Configuration\""), "{err}");
        // An agent: the Messaging licence lets them read and work conversations, nothing else.
        let ps = set("Agents", &[UserPermission::MessagingUser]);
        let agent = Actor::new(user(STANDARD_USER, &["Agents"]), &[ps]);
        assert!(agent.authorize(SetupAction::ReadConversations).is_ok());
        assert!(agent.authorize(SetupAction::WorkConversations).is_ok());
        assert!(agent.authorize(SetupAction::ViewSetup).is_err());
        assert!(agent.authorize(SetupAction::LoginAs).is_err());
        // Modify All Data reads every conversation but is no agent.
        let ps = set("Mad", &[UserPermission::ModifyAllData]);
        let mad = Actor::new(user(STANDARD_USER, &["Mad"]), &[ps]);
        assert!(mad.authorize(SetupAction::ReadConversations).is_ok());
        let err = mad
            .authorize(SetupAction::WorkConversations)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"Messaging User\""), "{err}");
    }

    #[test]
    fn deactivating_is_audited_and_never_yourself() {
        use byoc_proto::admin::UpdateUser;
        let admin = Actor::new(user(SYSTEM_ADMINISTRATOR, &[]), &[]);
        let mut other = user(STANDARD_USER, &[]);
        other.id = "005000000000002".into();
        other.username = "o@example.com".into();
        let off = UpdateUser {
            is_active: Some(false),
            ..UpdateUser::default()
        };
        let out = crate::setup::update_user(&admin, &other, &off, &[], 5).unwrap();
        assert!(!out.record.is_active);
        assert_eq!(out.audit[0].action, "Deactivated user o@example.com");
        let same = crate::setup::update_user(&admin, &out.record, &off, &[], 6).unwrap();
        assert!(same.audit.is_empty(), "no change, no audit row");
        let err = crate::setup::update_user(&admin, &admin.user, &off, &[], 7).unwrap_err();
        assert!(matches!(err, SetupError::NotAllowed(_)), "{err}");
        let std = Actor::new(other, &[]);
        assert!(matches!(
            crate::setup::update_user(&std, &admin.user, &off, &[], 8),
            Err(SetupError::InsufficientAccess(_))
        ));
    }

    #[test]
    fn permission_set_grants() {
        let ps = set(
            "Apps",
            &[
                UserPermission::CustomizeApplication,
                UserPermission::ManageConnectedApps,
            ],
        );
        let actor = Actor::new(user(STANDARD_USER, &["apps"]), &[ps]);
        assert!(actor.authorize(SetupAction::ManageConnectedApps).is_ok());
        let err = actor
            .authorize(SetupAction::ManageConnectedAppAccess)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"Modify All Data\" and \"Manage Profiles and Permission Sets\""),
            "{err}"
        );
    }

    fn reader(name: &str, object: &str, create: bool) -> PermissionSet {
        let mut ps = set(name, &[]);
        ps.object_permissions = vec![ObjectPermissions {
            object: object.into(),
            allow_read: true,
            allow_create: create,
        }];
        ps
    }

    #[test]
    fn event_access_comes_from_modify_all_data_or_object_permissions() {
        const EVENT: &str = "Byoc_Outbound__e";
        let both = EventAccess {
            read: true,
            create: true,
        };
        assert_eq!(
            event_access(&user(SYSTEM_ADMINISTRATOR, &[]), &[], EVENT),
            both
        );
        assert_eq!(
            event_access(&user(STANDARD_USER, &[]), &[], EVENT),
            EventAccess::default()
        );
        let sets = [
            reader("Readers", EVENT, false),
            reader("Other", "Other__e", true),
            set("Mad", &[UserPermission::ModifyAllData]),
        ];
        let read_only = EventAccess {
            read: true,
            create: false,
        };
        // Assigned by name, case-insensitively; an unassigned set grants nothing.
        assert_eq!(
            event_access(
                &user(STANDARD_USER, &["readers"]),
                &sets,
                "byoc_outbound__e"
            ),
            read_only
        );
        assert_eq!(
            event_access(&user(STANDARD_USER, &["Other"]), &sets, EVENT),
            EventAccess::default()
        );
        assert_eq!(
            event_access(&user(STANDARD_USER, &["Mad"]), &sets, EVENT),
            both
        );
        let mut inactive = user(SYSTEM_ADMINISTRATOR, &[]);
        inactive.is_active = false;
        assert_eq!(
            event_access(&inactive, &sets, EVENT),
            EventAccess::default()
        );
    }

    #[test]
    fn object_permissions_are_normalized() {
        let op = |o: &str, r: bool, c: bool| ObjectPermissions {
            object: o.into(),
            allow_read: r,
            allow_create: c,
        };
        let out = normalize_object_permissions(&[
            op("Zeta__e", false, false),
            op("Byoc_Outbound__e", false, true),
            op("byoc_outbound__e", true, false),
            op("Alpha__e", true, false),
        ])
        .unwrap();
        assert_eq!(
            out,
            vec![
                op("Alpha__e", true, false),
                op("Byoc_Outbound__e", true, true)
            ]
        );
        for bad in ["Account", "__e", "Bad Name__e", ""] {
            let err = normalize_object_permissions(&[op(bad, true, false)]).unwrap_err();
            assert!(err.to_string().contains("platform event"), "{err}");
        }
    }
}
