//! `byoc`: see the library (`byoc::Cli`) for the commands.

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    byoc::run(byoc::Cli::parse()).await
}
