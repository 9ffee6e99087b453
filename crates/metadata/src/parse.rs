//! A project's files → [`OrgSetup`]: which file is which component (by folder and suffix, as
//! the `sf` CLI infers types), each file read on its own, then the pieces put together (an ECA's
//! plugin files into its app, fields into their event), collecting every problem on the way.

use std::collections::{BTreeMap, BTreeSet};

use byoc_proto::setup::{
    App, ConversationChannelDefinition, CustomField, MessagingChannel, PermissionSet,
    PlatformEventDefinition,
};

use crate::channels::{self, CCD, CHANNEL};
use crate::connected_app::{self, CONNECTED_APP};
use crate::eca::{self, Plugin};
use crate::events;
use crate::permission_sets::{self, PERMISSION_SET};
use crate::xml::Ctx;
use crate::{DeployProblem, Files, OrgSetup};

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Component type and its full name.
    Component(&'static str, String),
    /// A platform event's field: (object, field).
    Field(String, String),
}

/// (folder, suffix, component type): the source-format files this crate reads. The suffix is
/// also accepted without `-meta.xml` (the Metadata API's zip format names files so).
const TYPES: &[(&str, &str, &str)] = &[
    ("externalClientApps", "eca", eca::ECA),
    ("extlClntAppOauthSettings", "ecaOauth", eca::OAUTH),
    ("extlClntAppGlobalOauthSets", "ecaGlblOauth", eca::GLOBAL),
    (
        "extlClntAppOauthPolicies",
        "ecaOauthPlcy",
        eca::OAUTH_POLICIES,
    ),
    ("extlClntAppPolicies", "ecaPlcy", eca::POLICIES),
    ("connectedApps", "connectedApp", CONNECTED_APP),
    ("permissionsets", "permissionset", PERMISSION_SET),
    (
        "conversationChannelDefinitions",
        "ConversationChannelDefinition",
        CCD,
    ),
    // The lower-case spelling, which the sf CLI doesn't recognise; byoc is lenient.
    (
        "conversationChannelDefinitions",
        "conversationChannelDefinition",
        CCD,
    ),
    ("messagingChannels", "messagingChannel", CHANNEL),
];

/// The component a path holds, if this crate reads it.
pub(crate) fn classify(path: &str) -> Option<Kind> {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    let (file, dirs) = parts.split_last()?;
    let file = file.strip_suffix("-meta.xml").unwrap_or(file);
    let (base, suffix) = file.rsplit_once('.')?;
    if base.is_empty() {
        return None;
    }
    let dir = dirs.last().copied().unwrap_or("");
    for (folder, sfx, ty) in TYPES {
        if dir == *folder && suffix == *sfx {
            return Some(Kind::Component(ty, base.to_string()));
        }
    }
    // objects/<Name>__e/<Name>__e.object-meta.xml, objects/<Name>__e.object (zip format), and
    // objects/<Name>__e/fields/<Field>.field-meta.xml. Only platform events.
    let is_event = |name: &str| name.ends_with("__e");
    match (suffix, dirs) {
        ("object", [.., "objects", obj]) if *obj == base && is_event(base) => {
            Some(Kind::Component(events::OBJECT, base.to_string()))
        }
        ("object", [.., "objects"]) if is_event(base) => {
            Some(Kind::Component(events::OBJECT, base.to_string()))
        }
        ("field", [.., "objects", obj, "fields"]) if is_event(obj) => {
            Some(Kind::Field(obj.to_string(), base.to_string()))
        }
        _ => None,
    }
}

pub(crate) fn parse(files: &Files) -> Result<OrgSetup, Vec<DeployProblem>> {
    let mut problems = Vec::new();
    let mut ecas: BTreeMap<String, (String, App)> = BTreeMap::new();
    let mut plugins: Vec<(String, String, String, Plugin)> = Vec::new();
    let mut objects: BTreeMap<String, (String, PlatformEventDefinition)> = BTreeMap::new();
    let mut fields: Vec<(String, String, CustomField)> = Vec::new();
    let mut connected_apps: BTreeMap<String, App> = BTreeMap::new();
    let mut permission_sets: BTreeMap<String, PermissionSet> = BTreeMap::new();
    let mut ccds: BTreeMap<String, (String, ConversationChannelDefinition)> = BTreeMap::new();
    let mut channels: BTreeMap<String, (String, MessagingChannel, Option<String>)> =
        BTreeMap::new();
    // Components whose own file has problems: their plugin files and fields aren't blamed for
    // the component's absence.
    let mut failed: BTreeSet<String> = BTreeSet::new();

    for (path, text) in files {
        let Some(kind) = classify(path) else { continue };
        match kind {
            Kind::Component(ty, name) => {
                let mut ctx = Ctx::new(path, text, ty, &name);
                match ty {
                    eca::ECA => {
                        if let Some(app) = eca::parse_header(&mut ctx) {
                            if ecas.contains_key(&name) {
                                ctx.problem(format!(
                                    "The project has more than one {ty} named {name}"
                                ));
                            } else if ctx.ok() {
                                ecas.insert(name.clone(), (path.clone(), app));
                            }
                        }
                    }
                    eca::OAUTH | eca::GLOBAL | eca::OAUTH_POLICIES | eca::POLICIES => {
                        if let Some((app, plugin)) = eca::parse_plugin(&mut ctx) {
                            if ctx.ok() {
                                plugins.push((path.clone(), name.clone(), app, plugin));
                            }
                        }
                    }
                    events::OBJECT => {
                        if let Some(event) = events::parse_object(&mut ctx) {
                            if objects.contains_key(&name) {
                                ctx.problem(format!(
                                    "The project has more than one {ty} named {name}"
                                ));
                            } else if ctx.ok() {
                                objects.insert(name.clone(), (path.clone(), event));
                            }
                        }
                    }
                    CONNECTED_APP => {
                        if let Some(app) = connected_app::parse(&mut ctx) {
                            insert_once(&mut ctx, &mut connected_apps, &name, app);
                        }
                    }
                    PERMISSION_SET => {
                        if let Some(ps) = permission_sets::parse(&mut ctx) {
                            insert_once(&mut ctx, &mut permission_sets, &name, ps);
                        }
                    }
                    CCD => {
                        if let Some(ccd) = channels::parse_ccd(&mut ctx) {
                            insert_once(&mut ctx, &mut ccds, &name, (path.clone(), ccd));
                        }
                    }
                    CHANNEL => {
                        if let Some((channel, ccd)) = channels::parse_channel(&mut ctx) {
                            insert_once(
                                &mut ctx,
                                &mut channels,
                                &name,
                                (path.clone(), channel, ccd),
                            );
                        }
                    }
                    _ => {}
                }
                if !ctx.ok() && matches!(ty, eca::ECA | events::OBJECT | CCD) {
                    failed.insert(name.clone());
                }
                problems.append(&mut ctx.problems);
            }
            Kind::Field(object, field) => {
                // A field's full name is `Object.Field`, as a deploy names it.
                let mut ctx = Ctx::new(path, text, events::FIELD, &field);
                if let Some(f) = events::parse_field(&mut ctx, &object) {
                    if ctx.ok() {
                        fields.push((path.clone(), object.clone(), f));
                    }
                }
                for mut p in ctx.problems {
                    p.full_name = format!("{object}.{}", p.full_name);
                    problems.push(p);
                }
            }
        }
    }

    // Plugin files into their apps.
    let mut seen: BTreeMap<(String, &'static str), String> = BTreeMap::new();
    let mut has_policies: Vec<String> = Vec::new();
    let mut has_oauth: Vec<String> = Vec::new();
    for (path, name, app_name, plugin) in plugins {
        let ty = plugin.type_name();
        let problem = |problem: String| DeployProblem {
            file_name: path.clone(),
            component_type: ty.to_string(),
            full_name: name.clone(),
            problem,
            line_number: None,
            column_number: None,
        };
        let Some((_, app)) = ecas.get_mut(&app_name) else {
            if failed.contains(&app_name) {
                continue;
            }
            problems.push(problem(format!(
                "externalClientApplication names {app_name}, which isn't in the project: \
                 byoc deploys an External Client App together with its \
                 externalClientApps/{app_name}.eca-meta.xml"
            )));
            continue;
        };
        if let Some(other) = seen.get(&(app_name.clone(), ty)) {
            problems.push(problem(format!(
                "The External Client App {app_name} already has a {ty} in {other}"
            )));
            continue;
        }
        seen.insert((app_name.clone(), ty), path.clone());
        match plugin {
            Plugin::Policies { .. } => has_policies.push(app_name.clone()),
            Plugin::Oauth { .. } | Plugin::Global { .. } => has_oauth.push(app_name.clone()),
            Plugin::OauthPolicies { .. } => {}
        }
        plugin.apply(app);
    }
    for (name, (_, app)) in ecas.iter_mut() {
        // Without a policies file, the OAuth plugin is on when its settings are there.
        if !has_policies.contains(name) {
            app.oauth.is_enabled = has_oauth.contains(name);
        }
    }

    // Fields into their events.
    for (path, object, field) in fields {
        let Some((_, event)) = objects.get_mut(&object) else {
            if failed.contains(&object) {
                continue;
            }
            problems.push(DeployProblem {
                file_name: path,
                component_type: events::FIELD.into(),
                full_name: format!("{object}.{}", field.full_name),
                problem: format!(
                    "The platform event {object} isn't in the project: byoc deploys a field \
                     together with its objects/{object}/{object}.object-meta.xml"
                ),
                line_number: None,
                column_number: None,
            });
            continue;
        };
        if event.fields.iter().any(|f| f.full_name == field.full_name) {
            problems.push(DeployProblem {
                file_name: path,
                component_type: events::FIELD.into(),
                full_name: format!("{object}.{}", field.full_name),
                problem: format!("The field is defined twice for {object}"),
                line_number: None,
                column_number: None,
            });
            continue;
        }
        event.fields.push(field);
    }

    // Channels take their CCD; the CCDs no channel names stay standalone.
    let mut used_by: BTreeMap<String, String> = BTreeMap::new();
    let mut out_channels = Vec::new();
    for (name, (path, mut channel, ccd_name)) in channels {
        if let Some(ccd_name) = ccd_name {
            let problem = |problem: String| DeployProblem {
                file_name: path.clone(),
                component_type: CHANNEL.into(),
                full_name: name.clone(),
                problem,
                line_number: None,
                column_number: None,
            };
            if let Some(other) = used_by.get(&ccd_name) {
                problems.push(problem(format!(
                    "The Conversation Channel Definition {ccd_name} is already the channel {other}'s: a definition serves one channel"
                )));
            } else if let Some((_, ccd)) = ccds.get(&ccd_name) {
                channel.conversation_channel_definition = Some(ccd.clone());
                used_by.insert(ccd_name, name.clone());
            } else if !failed.contains(&ccd_name) {
                problems.push(problem(format!(
                    "channelDefinition names {ccd_name}, which isn't in the project: byoc deploys a channel together with conversationChannelDefinitions/{ccd_name}.ConversationChannelDefinition-meta.xml"
                )));
            }
        }
        out_channels.push(channel);
    }
    ccds.retain(|name, _| !used_by.contains_key(name));

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(OrgSetup {
        external_client_apps: ecas.into_values().map(|(_, a)| a).collect(),
        connected_apps: connected_apps.into_values().collect(),
        permission_sets: permission_sets.into_values().collect(),
        platform_events: objects.into_values().map(|(_, e)| e).collect(),
        channels: out_channels,
        standalone_ccds: ccds.into_values().map(|(_, c)| c).collect(),
    })
}

/// Keeps a parsed component under its name unless its file had problems or the name is taken
/// (two package directories may both define it).
fn insert_once<T>(ctx: &mut Ctx<'_>, map: &mut BTreeMap<String, T>, name: &str, value: T) {
    if map.contains_key(name) {
        ctx.problem(format!(
            "The project has more than one {} named {name}",
            ctx.component_type
        ));
    } else if ctx.ok() {
        map.insert(name.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified_by_folder_and_suffix() {
        let c = |p: &str| classify(p);
        assert_eq!(
            c("force-app/main/default/externalClientApps/Acme.eca-meta.xml"),
            Some(Kind::Component(eca::ECA, "Acme".into()))
        );
        assert_eq!(
            c("src/extlClntAppGlobalOauthSets/Acme_glbloauth.ecaGlblOauth"),
            Some(Kind::Component(eca::GLOBAL, "Acme_glbloauth".into()))
        );
        assert_eq!(
            c("force-app/main/default/objects/Out__e/Out__e.object-meta.xml"),
            Some(Kind::Component(events::OBJECT, "Out__e".into()))
        );
        assert_eq!(
            c("force-app\\main\\default\\objects\\Out__e\\fields\\P__c.field-meta.xml"),
            Some(Kind::Field("Out__e".into(), "P__c".into()))
        );
        // Not platform events, not metadata, wrong folder: skipped.
        assert_eq!(
            c("force-app/main/default/objects/Account/Account.object-meta.xml"),
            None
        );
        assert_eq!(
            c("force-app/main/default/objects/A__c/fields/B__c.field-meta.xml"),
            None
        );
        assert_eq!(c("README.md"), None);
        assert_eq!(c("force-app/main/default/classes/Acme.eca-meta.xml"), None);
        assert_eq!(c("externalClientApps/.eca-meta.xml"), None);
    }
}
