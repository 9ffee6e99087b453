//! `byoc cert new`: the partner's RSA key and self-signed certificate, replacing the openssl steps
//! of Salesforce's JWT Bearer docs.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::output::{fields, io_message, CliError, Output};

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Create an RSA 2048 key and a self-signed certificate, as Salesforce's docs do with
    /// openssl: the certificate goes to the app (--certificate), the key stays with the connector
    New(CertNewArgs),
}

#[derive(Debug, Args)]
pub struct CertNewArgs {
    /// Directory for server.key and server.crt (created if needed)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Common name (CN) of the certificate's subject
    #[arg(long, value_name = "NAME", default_value = "byoc")]
    pub cn: String,
    /// Days the certificate is valid
    #[arg(long, value_name = "N", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..))]
    pub days: u32,
    /// Encrypt the key with the passphrase held in this environment variable
    #[arg(long, value_name = "VAR", conflicts_with = "passphrase_file")]
    pub passphrase_env: Option<String>,
    /// Encrypt the key with the passphrase in this file (first line)
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Overwrite existing server.key and server.crt
    #[arg(long)]
    pub force: bool,
}

pub fn execute(command: CertCommand) -> Result<Output, CliError> {
    match command {
        CertCommand::New(args) => new(&args),
    }
}

fn passphrase(args: &CertNewArgs) -> Result<Option<String>, CliError> {
    let passphrase = if let Some(var) = &args.passphrase_env {
        std::env::var(var).map_err(|_| {
            CliError::new(format!(
                "environment variable {var} is not set: --passphrase-env names the variable \
                 that holds the passphrase"
            ))
        })?
    } else if let Some(path) = &args.passphrase_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::new(format!(
                "can't read passphrase file {}: {}",
                path.display(),
                io_message(&e)
            ))
        })?;
        text.lines().next().unwrap_or_default().to_string()
    } else {
        return Ok(None);
    };
    if passphrase.is_empty() {
        return Err(CliError::new(
            "the passphrase is empty; choose a non-empty passphrase",
        ));
    }
    Ok(Some(passphrase))
}

fn new(args: &CertNewArgs) -> Result<Output, CliError> {
    let passphrase = passphrase(args)?;
    let key_path = args.out.join("server.key");
    let cert_path = args.out.join("server.crt");
    if !args.force {
        let existing: Vec<String> = [&key_path, &cert_path]
            .iter()
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(CliError::new(format!(
                "{} already exist{}: pass --force to overwrite (an app that has the old \
                 certificate will then refuse the new key)",
                existing.join(" and "),
                if existing.len() == 1 { "s" } else { "" }
            )));
        }
    }
    std::fs::create_dir_all(&args.out).map_err(|e| {
        CliError::new(format!(
            "can't create directory {}: {}",
            args.out.display(),
            io_message(&e)
        ))
    })?;

    // A certificate is valid from the moment the partner makes it: the wall clock is the input.
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    let pair = byoc_pki::new_self_signed(&args.cn, args.days, now)
        .map_err(|e| CliError::new(format!("can't create the key pair: {e}")))?;
    let info = byoc_pki::parse_certificate(&pair.certificate_pem)
        .map_err(|e| CliError::new(format!("the new certificate does not read back: {e}")))?;
    let key_pem = match &passphrase {
        Some(passphrase) => byoc_pki::encrypt_private_key(&pair.private_key_pem, passphrase)
            .map_err(|e| CliError::new(format!("can't encrypt the key: {e}")))?,
        None => pair.private_key_pem.clone(),
    };
    write_file(&key_path, &key_pem, 0o600, args.force)?;
    write_file(&cert_path, &pair.certificate_pem, 0o644, args.force)?;

    let not_before = info
        .not_before
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let not_after = info
        .not_after
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let json = serde_json::json!({
        "privateKey": key_path,
        "certificate": cert_path,
        "encrypted": passphrase.is_some(),
        "subject": info.subject,
        "issuer": info.issuer,
        "serialNumber": info.serial_hex,
        "notBefore": not_before,
        "notAfter": not_after,
        "sha256Fingerprint": info.sha256_fingerprint,
        "keyBits": info.key_bits,
    });
    let key_kind = if passphrase.is_some() {
        "RSA 2048, PKCS#8, encrypted with the passphrase"
    } else {
        "RSA 2048, PKCS#8, unencrypted"
    };
    let mut text = format!(
        "Wrote {} ({key_kind}): keep it with the connector (SF_PRIVATE_KEY), never upload it\n\
         Wrote {}\n",
        key_path.display(),
        cert_path.display()
    );
    text.push_str(&fields(
        2,
        &[
            ("Subject", info.subject.clone()),
            ("Valid", format!("{not_before} to {not_after}")),
            ("SHA-256 Fingerprint", info.sha256_fingerprint.clone()),
        ],
    ));
    text.push_str(&format!(
        "Next: upload {crt} with `byoc setup eca create ... --certificate {crt}`\n",
        crt = cert_path.display()
    ));
    Output::new(&json, text)
}

/// Write `contents` to `path` with `mode` (on Unix); without `overwrite`, refuse an existing file
/// even if it appeared since the check.
fn write_file(path: &Path, contents: &str, mode: u32, overwrite: bool) -> Result<(), CliError> {
    let failed = |e: std::io::Error| {
        CliError::new(format!(
            "can't write {}: {}",
            path.display(),
            io_message(&e)
        ))
    };
    let mut options = OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    let mut file = options.open(path).map_err(failed)?;
    // `mode` applies only to a new file; an overwritten one keeps its old permissions otherwise.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(failed)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(contents.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}
