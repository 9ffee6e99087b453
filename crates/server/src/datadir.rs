//! The data dir: `org.json`, `partner.env`, the local CA and the sample key pair.
//!
//! Files that hold secrets are created readable by the owner only (0600), and written through a
//! temporary file and a rename so a reader never sees half a file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

pub const ORG_FILE: &str = "org.json";
pub const PARTNER_ENV: &str = "partner.env";
pub const DATABASE_FILE: &str = "byoc.db";
pub const CA_CERT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
pub const SAMPLE_KEY: &str = "server.key";
pub const SAMPLE_CERT: &str = "server.crt";
/// The private key a `serve --seed` project held for its partner app's certificate (owner-only).
pub const SEED_KEY: &str = "seed.key";

#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Create the directory (owner-only) if needed.
    pub fn open(root: &Path) -> anyhow::Result<DataDir> {
        if !root.exists() {
            fs::create_dir_all(root)
                .with_context(|| format!("can't create the data dir {}", root.display()))?;
            fs::set_permissions(root, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("can't restrict the data dir {}", root.display()))?;
        }
        let root = root
            .canonicalize()
            .with_context(|| format!("can't open the data dir {}", root.display()))?;
        Ok(DataDir { root })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn read(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.path(name)).ok()
    }

    /// Create an empty owner-only file unless it exists.
    pub fn create_secret_file(&self, name: &str) -> anyhow::Result<()> {
        let path = self.path(name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e).with_context(|| format!("can't create {}", path.display())),
        }
    }

    /// Write a file atomically; `secret` files are 0600, others 0644.
    pub fn write(&self, name: &str, contents: &str, secret: bool) -> anyhow::Result<()> {
        let target = self.path(name);
        let tmp = self.path(&format!(".{name}.tmp"));
        let mode = if secret { 0o600 } else { 0o644 };
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| format!("can't write {}", tmp.display()))?;
        f.write_all(contents.as_bytes())
            .and_then(|_| f.sync_all())
            .with_context(|| format!("can't write {}", tmp.display()))?;
        fs::rename(&tmp, &target).with_context(|| format!("can't write {}", target.display()))?;
        Ok(())
    }
}

/// A `KEY="value"` line of a dotenv file, with `\n` escapes: the form Salesforce's BYOC samples
/// read their private key in.
pub fn env_line(key: &str, value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\r', "");
    format!("{key}=\"{escaped}\"\n")
}
