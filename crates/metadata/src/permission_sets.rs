//! Permission sets: `permissionsets/<Name>.permissionset-meta.xml` (`PermissionSet`), with the
//! object permissions byoc models (Read and Create on platform events) and its user permissions.

use byoc_proto::setup::{ObjectPermissions, PermissionSet, UserPermission};
use serde::{Deserialize, Serialize};

use crate::xml::{bool_text, ns, Ctx};

pub(crate) const PERMISSION_SET: &str = "PermissionSet";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct PermissionSetXml {
    #[serde(rename = "@xmlns", skip_deserializing)]
    xmlns: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_activation_required: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    object_permissions: Vec<ObjectPermissionsXml>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    user_permissions: Vec<UserPermissionXml>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct ObjectPermissionsXml {
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_create: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_delete: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_edit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_read: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    modify_all_records: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    view_all_records: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct UserPermissionXml {
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// The Metadata API name of a user permission. `ManageProfilesPermissionsets` is Salesforce's
/// spelling; the others are byoc's names (Salesforce's own names for the ECA and connected app
/// permissions aren't published; *Messaging User* stands for a permission set license).
pub(crate) fn permission_name(p: UserPermission) -> &'static str {
    match p {
        UserPermission::ManageExternalClientApps => "ManageExternalClientApps",
        UserPermission::CustomizeApplication => "CustomizeApplication",
        UserPermission::ModifyAllData => "ModifyAllData",
        UserPermission::ManageConnectedApps => "ManageConnectedApps",
        UserPermission::ManageProfilesPermissionSets => "ManageProfilesPermissionsets",
        UserPermission::ViewSetup => "ViewSetup",
        UserPermission::MessagingUser => "MessagingUser",
    }
}

fn permission_from_name(name: &str) -> Option<UserPermission> {
    UserPermission::ALL
        .into_iter()
        .find(|p| permission_name(*p) == name || format!("{p:?}") == name)
}

pub(crate) fn write(ps: &PermissionSet) -> (String, String) {
    let mut objects: Vec<&ObjectPermissions> = ps.object_permissions.iter().collect();
    objects.sort_by(|a, b| a.object.cmp(&b.object));
    let mut perms: Vec<&str> = ps.permissions.iter().map(|p| permission_name(*p)).collect();
    perms.sort();
    perms.dedup();
    let x = PermissionSetXml {
        xmlns: ns(),
        has_activation_required: bool_text(false),
        label: Some(ps.label.clone()),
        object_permissions: objects
            .into_iter()
            .map(|o| ObjectPermissionsXml {
                allow_create: bool_text(o.allow_create),
                allow_delete: bool_text(false),
                allow_edit: bool_text(false),
                allow_read: bool_text(o.allow_read),
                modify_all_records: bool_text(false),
                object: Some(o.object.clone()),
                view_all_records: bool_text(false),
            })
            .collect(),
        user_permissions: perms
            .into_iter()
            .map(|n| UserPermissionXml {
                enabled: bool_text(true),
                name: Some(n.to_string()),
            })
            .collect(),
        ..Default::default()
    };
    (
        format!("permissionsets/{}.permissionset-meta.xml", ps.name),
        crate::xml::write(PERMISSION_SET, &x),
    )
}

pub(crate) fn parse(ctx: &mut Ctx<'_>) -> Option<PermissionSet> {
    let x: PermissionSetXml = crate::xml::read(ctx, PERMISSION_SET)?;
    ctx.check_full_name("fullName", &x.full_name);
    let label = ctx.required("label", &x.label);
    ctx.boolean("hasActivationRequired", &x.has_activation_required);
    let mut object_permissions: Vec<ObjectPermissions> = Vec::new();
    for o in &x.object_permissions {
        let Some(object) = ctx.required("objectPermissions.object", &o.object) else {
            continue;
        };
        let read = ctx.boolean("allowRead", &o.allow_read).unwrap_or(false);
        let create = ctx.boolean("allowCreate", &o.allow_create).unwrap_or(false);
        for (el, v) in [
            ("allowEdit", &o.allow_edit),
            ("allowDelete", &o.allow_delete),
            ("modifyAllRecords", &o.modify_all_records),
            ("viewAllRecords", &o.view_all_records),
        ] {
            ctx.boolean(el, v);
        }
        // byoc keeps object permissions on platform events only; others (Account…) are skipped.
        if !object.ends_with("__e") {
            continue;
        }
        if object_permissions.iter().any(|p| p.object == object) {
            ctx.at(
                "objectPermissions",
                format!("objectPermissions for {object} appear twice"),
            );
            continue;
        }
        object_permissions.push(ObjectPermissions {
            object,
            allow_read: read,
            allow_create: create,
        });
    }
    let mut permissions: Vec<UserPermission> = Vec::new();
    for u in &x.user_permissions {
        let Some(name) = ctx.required("userPermissions.name", &u.name) else {
            continue;
        };
        let enabled = ctx.boolean("enabled", &u.enabled).unwrap_or(false);
        // Salesforce has hundreds of user permissions; byoc models a few and skips the rest
        // (a real project's permission set carries many), so an unknown name isn't an error.
        if let Some(p) = permission_from_name(&name) {
            if enabled && !permissions.contains(&p) {
                permissions.push(p);
            }
        }
    }
    permissions.sort_by_key(|p| permission_name(*p));
    Some(PermissionSet {
        id: String::new(),
        name: ctx.full_name.clone(),
        label: label?,
        permissions,
        object_permissions,
        created_at: 0,
    })
}
