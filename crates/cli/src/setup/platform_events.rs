//! `byoc setup platform-event ...`: custom platform events and their fields (Setup > Platform
//! Events), through the admin API.

use clap::Subcommand;

use crate::context::Context;
use crate::output::{CliError, Output};

#[derive(Debug, Subcommand)]
pub enum PlatformEventCommand {
    /// List the org's custom platform events
    List,
}

pub async fn execute(ctx: &Context, command: PlatformEventCommand) -> Result<Output, CliError> {
    let _ = (ctx, command);
    Err(CliError::new("byoc setup platform-event is not built yet"))
}
