//! What a command runs against: the data dir, its `org.json`, and the admin client built from
//! them and the global flags.

use std::path::{Path, PathBuf};

use byoc_client::AdminClient;
use byoc_proto::files::OrgFile;

use crate::output::{io_message, CliError};
use crate::{GlobalArgs, OutputFormat};

/// Where the org is looked for when neither `--url` nor `DATA/org.json` says.
pub const DEFAULT_URL: &str = "http://127.0.0.1:6101";

/// The global flags of one invocation, and what they point to.
#[derive(Debug, Clone)]
pub struct Context {
    pub global: GlobalArgs,
}

impl Context {
    pub fn new(global: GlobalArgs) -> Context {
        Context { global }
    }

    pub fn format(&self) -> OutputFormat {
        self.global.output
    }

    pub fn data_dir(&self) -> &Path {
        &self.global.data_dir
    }

    pub fn org_file_path(&self) -> PathBuf {
        self.global.data_dir.join("org.json")
    }

    /// `DATA/org.json`, or `None` when there is none yet.
    pub fn try_org_file(&self) -> Result<Option<OrgFile>, CliError> {
        let path = self.org_file_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CliError::new(format!(
                    "can't read {}: {}",
                    path.display(),
                    io_message(&e)
                )))
            }
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            CliError::new(format!(
                "{} is not an org file byoc can read: {e}",
                path.display()
            ))
            .with_hint("`byoc serve` rewrites it at start; is this data dir from another version?")
        })
    }

    /// `DATA/org.json`, which the admin commands need for the admin credential.
    pub fn org_file(&self) -> Result<OrgFile, CliError> {
        self.try_org_file()?.ok_or_else(|| {
            CliError::new(format!(
                "no org in {} ({} not found): start one with `byoc serve`, or pass --data-dir",
                self.data_dir().display(),
                self.org_file_path().display()
            ))
        })
    }

    /// `--url` (or `BYOC_URL`) when given, else the org file's `login_url`, else the default.
    pub fn url(&self, org: Option<&OrgFile>) -> String {
        match (&self.global.url, org) {
            (Some(url), _) => url.clone(),
            (None, Some(org)) => org.login_url.clone(),
            (None, None) => DEFAULT_URL.to_string(),
        }
    }

    /// A client of the admin API, acting as the bootstrap admin or as `--as USERNAME`.
    pub fn admin_client(&self) -> Result<AdminClient, CliError> {
        let org = self.org_file()?;
        let url = self.url(Some(&org));
        let client = AdminClient::new(&url, &org.admin_token)?;
        Ok(client.act_as(self.global.act_as.as_deref()))
    }
}
