//! `byoc clock show|advance|set|real`: the org clock every instance reads (docs/org-as-code.md),
//! through the admin API; moving it needs `serve --allow-clock-control`.

use clap::Subcommand;

use crate::context::Context;
use crate::output::{CliError, Output};

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Print the org's time and how far it is from real time
    Show,
    /// Move the clock forward by a duration: 90s, 15m, 3h, 2d, 1h30m
    Advance {
        #[arg(value_name = "DURATION")]
        duration: String,
    },
    /// Set the clock to a time (RFC 3339, e.g. 2027-01-01T00:00:00Z); it runs on from there
    Set {
        #[arg(value_name = "TIME")]
        time: String,
    },
    /// Back to real time
    Real,
}

pub async fn execute(ctx: &Context, command: ClockCommand) -> Result<Output, CliError> {
    let _ = (ctx, command);
    Err(CliError::new("byoc clock is not built yet"))
}
