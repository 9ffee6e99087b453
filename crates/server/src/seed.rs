//! `byoc serve --seed DIR` (docs/org-as-code.md, "Start from a project"): on first start, build
//! the org from a Salesforce DX project instead of the sample setup.
//!
//! - [`read_project`]: the project's metadata files (`sfdx-project.json`, then every `*-meta.xml`
//!   under the package directories it names), as `sf project deploy` picks them.
//! - [`check_project`]: the project parsed and planned against an empty org before anything is
//!   written, so a project with problems stops the start with all of them and leaves no org
//!   behind.
//! - [`deploy_project`]: the project deployed as the bootstrap admin through
//!   [`crate::metadata_service::deploy`] (all or nothing), and a private key the project holds
//!   for its app's certificate kept in the data dir.
//! - [`write_partner_env`]: `partner.env` from the seeded org's first BYOC channel (by name)
//!   whose CCD names an app: that app's consumer key, the CCD's event and field names.

use std::path::{Component, Path};

use anyhow::Context;
use byoc_metadata::{DeployProblem, Files};
use byoc_proto::files::{partner_env as env, OrgFile};
use byoc_proto::setup::{ChannelType, User};
use byoc_store::Store;

use crate::datadir::{self, DataDir};
use crate::metadata_service::{DeployFailure, DeployOptions};
use crate::setup_service::SetupService;

/// A metadata file larger than this is refused (no setup component comes near it).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Files with a private key the project may hold for its app's certificate (`sf`'s JWT
/// tutorials keep `server.key` in the project or a `keys`/`certs` folder).
const KEY_SUFFIXES: [&str; 2] = [".key", ".pem"];
/// How deep the private-key search goes below the project root.
const KEY_SEARCH_DEPTH: usize = 3;

/// A DX project's metadata files, by path relative to its root (`/`-separated):
/// `sfdx-project.json`, then every `*-meta.xml` under the package directories it names
/// (`packageDirectories[].path`; `force-app` when it names none). Other files (READMEs, Apex,
/// LWC) are skipped; symbolic links are not followed.
pub fn read_project(root: &Path) -> Result<Files, String> {
    if !root.is_dir() {
        return Err(format!(
            "the project directory {} doesn't exist",
            root.display()
        ));
    }
    let project_file = root.join("sfdx-project.json");
    let text = std::fs::read_to_string(&project_file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{} has no sfdx-project.json: it is not a Salesforce DX project",
            root.display()
        ),
        _ => format!("can't read {}: {e}", project_file.display()),
    })?;
    let project: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", project_file.display()))?;
    let mut dirs: Vec<String> = project["packageDirectories"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| d["path"].as_str())
                .map(|p| p.trim_matches('/').to_string())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    // No packageDirectories: `sf` falls back to force-app, and so does byoc.
    let named = !dirs.is_empty();
    if !named {
        dirs.push("force-app".into());
    }
    let mut files = Files::new();
    files.insert("sfdx-project.json".into(), text);
    for dir in &dirs {
        let relative = Path::new(dir);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!(
                "{}: the package directory {dir:?} is not a relative path inside the project",
                project_file.display()
            ));
        }
        let path = root.join(relative);
        if !path.is_dir() {
            return Err(if named {
                format!(
                    "the package directory {dir} that sfdx-project.json names doesn't exist in {}",
                    root.display()
                )
            } else {
                format!(
                    "sfdx-project.json names no packageDirectories and the default one, force-app, doesn't exist in {}",
                    root.display()
                )
            });
        }
        collect(root, &path, &mut files)?;
    }
    Ok(files)
}

fn collect(root: &Path, dir: &Path, files: &mut Files) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("can't read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| format!("can't read {}: {e}", path.display()))?;
        if kind.is_dir() {
            collect(root, &path, files)?;
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        if !kind.is_file() || !name.ends_with("-meta.xml") {
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .map_err(|_| format!("{} is outside the project", path.display()))?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect::<Vec<_>>()
            .join("/");
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if size > MAX_FILE_BYTES {
            return Err(format!(
                "{relative} is {size} bytes: more than a metadata file of byoc's types can be ({MAX_FILE_BYTES} at most)"
            ));
        }
        let bytes =
            std::fs::read(&path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            format!("{relative} is not UTF-8 text: metadata files are XML in UTF-8")
        })?;
        files.insert(relative, text);
    }
    Ok(())
}

/// Every problem, one a line, as the start reports them.
pub fn describe(dir: &Path, problems: &[DeployProblem]) -> String {
    let mut out = format!(
        "the project {} can't be deployed ({} problem{}; nothing was created):",
        dir.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str(&format!("\n  - {p}"));
    }
    out
}

/// Read and parse the project before the org exists: a project with problems stops the start
/// with every one of them, and nothing is written.
pub fn check_project(dir: &Path) -> anyhow::Result<Files> {
    let files = read_project(dir).map_err(|e| anyhow::anyhow!("--seed: {e}"))?;
    let incoming = match byoc_metadata::parse(&files) {
        Ok(incoming) => incoming,
        Err(problems) => anyhow::bail!("--seed: {}", describe(dir, &problems)),
    };
    // What crosses components (a CCD's event and app, a policy's permission sets) checked
    // against the empty org the project will go into.
    let plan = byoc_metadata::plan::plan(&byoc_metadata::OrgSetup::default(), &incoming, &files);
    if !plan.problems.is_empty() {
        anyhow::bail!("--seed: {}", describe(dir, &plan.problems));
    }
    Ok(files)
}

/// Deploy the project into the new org as the bootstrap admin (all or nothing), then keep in
/// the data dir a private key the project holds for the partner app's certificate.
pub async fn deploy_project(
    setup: &SetupService,
    data: &DataDir,
    admin: &User,
    dir: &Path,
    files: &Files,
) -> anyhow::Result<()> {
    let actor = setup.actor(&admin.username).await?;
    match crate::metadata_service::deploy(setup, &actor, files, &DeployOptions::default()).await
    {
        Ok(outcome) => {
            tracing::info!(
                project = %dir.display(),
                components = outcome.changes.len(),
                "the org was built from the seed project"
            );
        }
        // Checked before the org existed, so this is rare (a rule only the deploy applies).
        Err(DeployFailure::Problems(problems)) => anyhow::bail!(
            "--seed: {}\nThe org exists now without this setup: remove the data dir (or the database) and start again.",
            describe(dir, &problems).replace("; nothing was created", "")
        ),
        Err(DeployFailure::Service(e)) => {
            return Err(anyhow::Error::new(e).context(format!(
                "--seed: deploying the project {} failed",
                dir.display()
            )))
        }
    }
    if let Some((_, app)) = partner_setup(setup.store()).await? {
        if let Some(cert) = app.oauth.certificate.as_ref() {
            if let Some(key) = find_private_key(dir, &cert.pem) {
                data.write(datadir::SEED_KEY, &key, true)?;
                tracing::info!(
                    app = %app.name,
                    key = %data.path(datadir::SEED_KEY).display(),
                    "the seed project holds the private key of the app's certificate: partner.env names it"
                );
            }
        }
    }
    Ok(())
}

/// The first BYOC channel (by name) whose CCD names an app, and that app.
async fn partner_setup(
    store: &Store,
) -> anyhow::Result<Option<(byoc_proto::setup::MessagingChannel, byoc_proto::setup::App)>> {
    let mut channels = store.channels().await?;
    channels.sort_by(|a, b| a.name.cmp(&b.name));
    for channel in channels {
        if !matches!(
            channel.channel_type,
            ChannelType::ByocMessaging | ChannelType::ByocCcaas
        ) {
            continue;
        }
        let Some(link) = channel
            .conversation_channel_definition
            .as_ref()
            .and_then(|c| c.linked_app.clone())
        else {
            continue;
        };
        if let Some(app) = store.app(link.kind, &link.name).await? {
            return Ok(Some((channel, app)));
        }
    }
    Ok(None)
}

/// A PEM private key under `dir` (at most [`KEY_SEARCH_DEPTH`] levels, hidden folders and
/// `node_modules` skipped) whose public key is the certificate's.
pub fn find_private_key(dir: &Path, certificate_pem: &str) -> Option<String> {
    let cert = byoc_pki::parse_certificate(certificate_pem).ok()?;
    let mut found = None;
    search_keys(dir, KEY_SEARCH_DEPTH, &mut |pem| {
        let matches = byoc_pki::parse_private_key(pem)
            .map(|key| byoc_pki::key_matches_certificate(&key, &cert))
            .unwrap_or(false);
        if matches {
            found = Some(pem.to_string());
        }
        matches
    });
    found
}

/// Call `check` with each candidate key file's text until it answers true.
fn search_keys(dir: &Path, depth: usize, check: &mut dyn FnMut(&str) -> bool) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_string();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth > 0
                && !name.starts_with('.')
                && name != "node_modules"
                && search_keys(&entry.path(), depth - 1, check)
            {
                return true;
            }
            continue;
        }
        let small = entry
            .metadata()
            .map(|m| m.len() < 64 * 1024)
            .unwrap_or(false);
        if kind.is_file() && small && KEY_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                if text.contains("PRIVATE KEY") && check(&text) {
                    return true;
                }
            }
        }
    }
    false
}

/// `partner.env` for an org built from a project (`serve --seed`): the first BYOC channel (by
/// name) whose CCD names an app. `SF_PRIVATE_KEY` only when the data dir holds the key the
/// project had for that app's certificate ([`deploy_project`]); otherwise the connector brings
/// its own. Rewritten at every start so the addresses stay current; `false` when the org has no
/// such channel.
pub async fn write_partner_env(
    store: &Store,
    data: &DataDir,
    org: &OrgFile,
) -> anyhow::Result<bool> {
    let Some((channel, app)) = partner_setup(store).await? else {
        return Ok(false);
    };
    let ccd = channel
        .conversation_channel_definition
        .clone()
        .context("a BYOC channel with a linked app has a CCD")?;
    let key = data.read(datadir::SEED_KEY).filter(|pem| {
        app.oauth
            .certificate
            .as_ref()
            .and_then(|c| byoc_pki::parse_certificate(&c.pem).ok())
            .zip(byoc_pki::parse_private_key(pem).ok())
            .is_some_and(|(cert, key)| byoc_pki::key_matches_certificate(&key, &cert))
    });
    let vars = crate::bootstrap::partner_env_vars(org, &app, &channel, &ccd, key);
    let mut out = format!(
        "# Written by `byoc serve`: the settings a BYOC partner connector needs, named as in\n\
         # Salesforce's public BYOC samples, for the channel {} of the seed project, its CCD {} and\n\
         # the app {}. Rewritten at every start.\n",
        channel.name, ccd.developer_name, app.name
    );
    if !vars.iter().any(|(k, _)| *k == env::SF_PRIVATE_KEY) {
        out.push_str(
            "# No SF_PRIVATE_KEY: the project held no private key for the app's certificate; add\n\
             # SF_PRIVATE_KEY=\"...\" (or pass --key-file) with the key your connector signs with.\n",
        );
    }
    for (k, v) in vars {
        out.push_str(&datadir::env_line(k, &v));
    }
    data.write(datadir::PARTNER_ENV, &out, true)?;
    Ok(true)
}
