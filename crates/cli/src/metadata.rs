//! `byoc metadata retrieve|deploy`: the org's setup as a Salesforce DX project, and a DX project
//! into the org (docs/metadata.md), through the admin API.
//!
//! - retrieve: `GET /admin/v1/metadata/retrieve`, then the files written under `--out`
//!   (directories created; a path that would land outside `--out` is refused before anything is
//!   written).
//! - deploy: the project read as `sf` reads it (`sfdx-project.json`'s `packageDirectories`, else
//!   `force-app`; only metadata files, `*-meta.xml`), `POST /admin/v1/metadata/deploy`, and the
//!   answer printed as `sf project deploy start` prints it: a `State | Name | Type | Path` table,
//!   or every component failure with its file, type, name and problem (exit code 1).

use std::path::{Component, Path, PathBuf};

use byoc_metadata::plan::{DeployMessage, DeployResult};
use byoc_metadata::Files;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::context::Context;
use crate::output::{io_message, table, CliError, Output};
use crate::OutputFormat;

#[derive(Debug, Subcommand)]
pub enum MetadataCommand {
    /// Write the org's setup as a DX project (sfdx-project.json, force-app/main/default/...)
    Retrieve(RetrieveArgs),
    /// Apply a DX project to the org: everything is checked first, then all of it is applied or
    /// none
    Deploy(DeployArgs),
}

#[derive(Debug, Args)]
pub struct RetrieveArgs {
    /// The project directory to write (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also write consumer secrets (never written unless asked)
    #[arg(long)]
    pub include_secrets: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The DX project directory (holding sfdx-project.json)
    #[arg(long, value_name = "DIR")]
    pub source: PathBuf,
    /// Check the project and print what would change; change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn execute(ctx: &Context, command: MetadataCommand) -> Result<Output, CliError> {
    match command {
        MetadataCommand::Retrieve(args) => retrieve(ctx, &args).await,
        MetadataCommand::Deploy(args) => deploy(ctx, &args).await,
    }
}

async fn retrieve(ctx: &Context, args: &RetrieveArgs) -> Result<Output, CliError> {
    let files = ctx
        .admin_client()?
        .retrieve_metadata(args.include_secrets)
        .await?;
    let written = write_project(&args.out, &files)?;
    let text = format!(
        "Retrieved {} file{} into {}{}\n",
        written.len(),
        if written.len() == 1 { "" } else { "s" },
        args.out.display(),
        if args.include_secrets {
            " (consumer secrets included: keep this directory private)"
        } else {
            ""
        }
    );
    Output::new(
        &json!({
            "out": args.out.display().to_string(),
            "files": written,
            "includeSecrets": args.include_secrets,
        }),
        text,
    )
}

/// A project path as a relative path under the output directory, or why it can't be one.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    if path.is_empty() || path.contains('\\') || path.contains('\0') {
        return None;
    }
    let mut out = PathBuf::new();
    for component in p.components() {
        match component {
            Component::Normal(c) => out.push(c),
            // `..`, `/`, `C:`, `.`: none belongs in a project path.
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Write `files` under `out`, creating directories; every path is checked before anything is
/// written, so a bad answer leaves the directory as it was.
fn write_project(out: &Path, files: &Files) -> Result<Vec<String>, CliError> {
    let mut targets = Vec::with_capacity(files.len());
    for (path, contents) in files {
        let relative = safe_relative(path).ok_or_else(|| {
            CliError::new(format!(
                "refusing to write {path:?}: it is not a relative path inside {}",
                out.display()
            ))
        })?;
        targets.push((path.clone(), out.join(relative), contents));
    }
    for (_, target, contents) in &targets {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::new(format!(
                    "can't create {}: {}",
                    parent.display(),
                    io_message(&e)
                ))
            })?;
        }
        std::fs::write(target, contents).map_err(|e| {
            CliError::new(format!(
                "can't write {}: {}",
                target.display(),
                io_message(&e)
            ))
        })?;
    }
    Ok(targets.into_iter().map(|(path, _, _)| path).collect())
}

/// A project's files as `sf` deploys them: `sfdx-project.json` and the metadata files
/// (`*-meta.xml`) under its package directories; anything else (READMEs, `.forceignore`, LWC
/// sources, Apex) is skipped. The same reading `byoc serve --seed DIR` does.
pub fn read_project(root: &Path) -> Result<Files, CliError> {
    byoc_server::seed::read_project(root).map_err(|message| {
        let missing = message.contains("has no sfdx-project.json");
        let error = CliError::new(message);
        if missing {
            error.with_hint(
                "`byoc metadata retrieve --out DIR` writes one, as `sf project generate` does",
            )
        } else {
            error
        }
    })
}

async fn deploy(ctx: &Context, args: &DeployArgs) -> Result<Output, CliError> {
    let files = read_project(&args.source)?;
    let result = ctx
        .admin_client()?
        .deploy_metadata(&files, args.dry_run)
        .await?;
    if result.success {
        return Output::new(&result, success_text(&result));
    }
    // One JSON document on stdout either way; the error (and exit code 1) on stderr.
    if ctx.format() == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
    }
    Err(CliError::new(failure_text(&result, args.dry_run)))
}

fn success_text(result: &DeployResult) -> String {
    let messages = &result.details.component_successes;
    let count = |state: &str| messages.iter().filter(|m| m.state() == state).count();
    let summary = format!(
        "{} {} component{} ({} created, {} changed, {} unchanged)",
        if result.check_only {
            "Dry run: nothing was changed. Would deploy"
        } else {
            "Deployed"
        },
        messages.len(),
        if messages.len() == 1 { "" } else { "s" },
        count("Created"),
        count("Changed"),
        count("Unchanged"),
    );
    let rows: Vec<Vec<String>> = messages.iter().map(row).collect();
    if rows.is_empty() {
        return format!("{summary}\n");
    }
    format!(
        "{summary}\n\n{}",
        table(&["State", "Name", "Type", "Path"], &rows)
    )
}

fn row(m: &DeployMessage) -> Vec<String> {
    vec![
        m.state().to_string(),
        m.full_name.clone(),
        m.component_type.clone(),
        m.file_name.clone(),
    ]
}

fn failure_text(result: &DeployResult, dry_run: bool) -> String {
    let failures = &result.details.component_failures;
    let mut text = format!(
        "{} failed with {} problem{}; nothing was changed.\n\nComponent Failures [{}]",
        if dry_run { "The dry run" } else { "The deploy" },
        failures.len(),
        if failures.len() == 1 { "" } else { "s" },
        failures.len()
    );
    for f in failures {
        let position = match (f.line_number, f.column_number) {
            (Some(line), Some(column)) => format!(":{line}:{column}"),
            (Some(line), None) => format!(":{line}"),
            _ => String::new(),
        };
        text.push_str(&format!(
            "\n  {}{position}\n    {} {}: {}",
            f.file_name,
            f.component_type,
            f.full_name,
            f.problem.as_deref().unwrap_or("")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_paths_never_leave_the_output_directory() {
        for bad in [
            "../evil.xml",
            "/etc/passwd",
            "a/../../b",
            "",
            "./x",
            "a\\..\\b",
            "a\0b",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad:?}");
        }
        assert_eq!(
            safe_relative("force-app/main/default/x.eca-meta.xml"),
            Some(PathBuf::from("force-app/main/default/x.eca-meta.xml"))
        );
    }

    #[test]
    fn a_bad_path_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("byoc-retrieve-{}", std::process::id()));
        let files: Files = [
            ("a/ok-meta.xml".to_string(), "x".to_string()),
            ("../escape.xml".to_string(), "x".to_string()),
        ]
        .into();
        let err = write_project(&dir, &files).unwrap_err();
        assert!(err.message.contains("../escape.xml"), "{err}");
        assert!(!dir.join("a/ok-meta.xml").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_metadata_files_of_the_package_directories_are_read() {
        let root = std::env::temp_dir().join(format!("byoc-project-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("pkg/main/default/externalClientApps")).unwrap();
        std::fs::create_dir_all(root.join("other")).unwrap();
        std::fs::write(
            root.join("sfdx-project.json"),
            r#"{"packageDirectories":[{"path":"pkg","default":true}]}"#,
        )
        .unwrap();
        std::fs::write(
            root.join("pkg/main/default/externalClientApps/A.eca-meta.xml"),
            "<x/>",
        )
        .unwrap();
        std::fs::write(root.join("pkg/README.md"), "hi").unwrap();
        std::fs::write(root.join("other/B.eca-meta.xml"), "<y/>").unwrap();
        let files = read_project(&root).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            [
                "pkg/main/default/externalClientApps/A.eca-meta.xml",
                "sfdx-project.json"
            ]
        );
        std::fs::write(root.join("sfdx-project.json"), "{nope").unwrap();
        let err = read_project(&root).unwrap_err();
        assert!(err.message.contains("is not valid JSON"), "{err}");
        std::fs::remove_file(root.join("sfdx-project.json")).unwrap();
        let err = read_project(&root).unwrap_err();
        assert!(err.message.contains("has no sfdx-project.json"), "{err}");
        let _ = std::fs::remove_dir_all(&root);
        let err = read_project(&root).unwrap_err();
        assert!(err.message.contains("doesn't exist"), "{err}");
    }
}
