//! `byoc reset [--keep-setup]`: return the running org to its seed, or empty its conversations
//! and events only (docs/org-as-code.md), through the admin API.

use clap::Args;

use crate::context::Context;
use crate::output::{CliError, Output};

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Keep the setup as it is now; delete conversations, events and logs only
    #[arg(long)]
    pub keep_setup: bool,
}

pub async fn execute(ctx: &Context, args: &ResetArgs) -> Result<Output, CliError> {
    let _ = (ctx, args);
    Err(CliError::new("byoc reset is not built yet"))
}
