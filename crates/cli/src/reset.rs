//! `byoc reset [--keep-setup]`: return the running org to its seed, or empty its conversations
//! and events only (docs/org-as-code.md), through the admin API (`POST /admin/v1/reset`).
//! Prints what was removed, with counts, and which setup records were removed or put back.

use byoc_proto::admin::{ResetComponent, ResetOutcome};
use clap::Args;

use crate::context::Context;
use crate::output::{rfc3339, table, CliError, Output};

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Keep the setup as it is now; delete conversations, events and logs only
    #[arg(long)]
    pub keep_setup: bool,
}

pub async fn execute(ctx: &Context, args: &ResetArgs) -> Result<Output, CliError> {
    let outcome = ctx.admin_client()?.reset(args.keep_setup).await?;
    Output::new(&outcome, reset_text(&outcome))
}

/// The counts that are not zero, then the setup records removed and put back.
pub fn reset_text(o: &ResetOutcome) -> String {
    let mut out = if o.keep_setup {
        "Reset the org; the setup was kept.\n".to_string()
    } else {
        match (&o.seed_source, o.seed_taken_at) {
            (Some(source), Some(at)) => {
                format!(
                    "Reset the org to its seed ({source}, taken {}).\n",
                    rfc3339(at)
                )
            }
            _ => "Reset the org to its seed.\n".to_string(),
        }
    };
    let rows: Vec<Vec<String>> = o
        .removed
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(what, n)| vec![what.clone(), n.to_string()])
        .collect();
    if rows.is_empty() {
        out.push_str("Nothing to delete: no conversations, events or logs.\n");
    } else {
        out.push_str("\nDeleted:\n");
        out.push_str(&table(&["What", "Rows"], &rows));
    }
    let components = |title: &str, list: &[ResetComponent], out: &mut String| {
        if list.is_empty() {
            return;
        }
        out.push_str(&format!("\n{title}:\n"));
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|c| vec![c.kind.clone(), c.name.clone()])
            .collect();
        out.push_str(&table(&["Type", "Name"], &rows));
    };
    components(
        "Setup records not in the seed, removed",
        &o.setup_removed,
        &mut out,
    );
    components(
        "Setup records put back as the seed has them",
        &o.setup_restored,
        &mut out,
    );
    out
}
