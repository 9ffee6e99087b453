//! `byoc ca`: the local CA certificate a gRPC client trusts for the Pub/Sub listener.

use clap::Args;

use crate::context::Context;
use crate::output::{io_message, CliError, Output};

#[derive(Debug, Args)]
pub struct CaArgs {
    /// Print the CA certificate PEM instead of its path
    #[arg(long)]
    pub pem: bool,
}

pub fn execute(ctx: &Context, args: &CaArgs) -> Result<Output, CliError> {
    let org = ctx.org_file()?;
    let path = org.ca_cert;
    if !args.pem {
        let json = serde_json::json!({ "caCert": path });
        return Output::new(&json, format!("{path}\n"));
    }
    let pem = std::fs::read_to_string(&path).map_err(|e| {
        CliError::new(format!(
            "can't read the CA certificate {path}: {}",
            io_message(&e)
        ))
    })?;
    let json = serde_json::json!({ "caCert": path, "pem": pem });
    Output::new(&json, pem)
}
