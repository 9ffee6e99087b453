//! `byoc metadata retrieve|deploy`: the org's setup as a Salesforce DX project, and a DX project
//! into the org (docs/metadata.md), through the admin API.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::context::Context;
use crate::output::{CliError, Output};

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
    let _ = (ctx, command);
    Err(CliError::new("byoc metadata is not built yet"))
}
