//! `byoc open`: the web console in the browser, logged in as the bootstrap admin, as Salesforce
//! CLI's `org open` does — through `frontdoor.jsp` with the admin credential of `org.json`.

use clap::Args;

use crate::context::Context;
use crate::output::{CliError, Output};

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Print the URL instead of opening a browser (it logs in whoever opens it: keep it private)
    #[arg(long)]
    pub print: bool,
    /// The console page to land on, e.g. /lightning/setup/ManageUsers/home
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
}

/// The program that opens a URL in the user's browser on this system.
fn opener() -> &'static str {
    if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    }
}

/// `<login_url>/secur/frontdoor.jsp?sid=<admin credential>[&retURL=<path>]`.
pub fn frontdoor_url(login_url: &str, sid: &str, path: Option<&str>) -> Result<String, CliError> {
    let mut url = url::Url::parse(login_url.trim_end_matches('/'))
        .map_err(|e| CliError::new(format!("invalid byoc URL '{login_url}': {e}")))?;
    url.set_path("/secur/frontdoor.jsp");
    {
        let mut q = url.query_pairs_mut();
        q.clear().append_pair("sid", sid);
        if let Some(p) = path.filter(|p| !p.is_empty()) {
            q.append_pair("retURL", p);
        }
    }
    Ok(url.to_string())
}

pub fn execute(ctx: &Context, args: &OpenArgs) -> Result<Output, CliError> {
    if let Some(p) = &args.path {
        if !p.starts_with('/') || p.starts_with("//") {
            return Err(CliError::usage(format!(
                "--path {p:?} must be a path of the console, starting with / (e.g. /lightning/setup/ManageUsers/home)"
            )));
        }
    }
    let org = ctx.org_file()?;
    let url = frontdoor_url(&ctx.url(Some(&org)), &org.admin_token, args.path.as_deref())?;
    if !args.print {
        let spawned = std::process::Command::new(opener())
            .arg(&url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if spawned.is_ok() {
            let json = serde_json::json!({ "opened": true, "username": org.admin_username });
            return Output::new(
                &json,
                format!(
                    "Opened the console in your browser as {}.\n",
                    org.admin_username
                ),
            );
        }
    }
    // Printed on request, or when no browser opener exists (a server, a container).
    let json = serde_json::json!({ "opened": false, "url": url, "username": org.admin_username });
    Output::new(&json, format!("{url}\n"))
}
