//! Keys and certificates for byoc.
//!
//! - [`parse_certificate`] / [`CertificateInfo`]: validate the certificate uploaded to an External
//!   Client App or connected app (one PEM certificate, RSA >= 2048 bits) and read what Setup shows.
//! - [`parse_private_key`] / [`PrivateKey`], [`key_matches_certificate`]: read a partner's RSA key
//!   (PKCS#8 or PKCS#1) and check it belongs to a certificate.
//! - [`encrypt_private_key`] / [`decrypt_private_key`]: PKCS#8 PBES2 passphrase protection.
//! - [`new_self_signed`] / [`SelfSigned`]: `byoc cert new`, the openssl steps of Salesforce's docs.
//! - [`new_local_ca`] / [`LocalCa`], [`issue_server_certificate`] / [`ServerCertificate`]: the
//!   data dir's CA and the Pub/Sub listener's TLS certificate.
//!
//! Parsing is x509-parser, pkcs1 and pkcs8; generation and signing are rcgen over aws-lc-rs. Nothing
//! reads the clock: functions that need "now" take it.

mod certificate;
mod error;
mod generate;
mod pem_io;
mod private_key;
mod time_io;

pub use certificate::{parse_certificate, parse_certificate_der, CertificateInfo};
pub use error::PkiError;
pub use generate::{
    issue_server_certificate, new_local_ca, new_self_signed, LocalCa, SelfSigned, ServerCertificate,
};
pub use private_key::{
    decrypt_private_key, encrypt_private_key, key_matches_certificate, parse_private_key,
    PrivateKey, PBKDF2_ITERATIONS,
};
