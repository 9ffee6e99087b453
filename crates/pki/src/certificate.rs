//! Reading and validating an uploaded X.509 certificate (the ECA / connected app "digital
//! signature" certificate that verifies JWT Bearer assertions).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use x509_parser::objects::{oid2sn, oid_registry};
use x509_parser::public_key::PublicKey;

use crate::{pem_io, time_io, PkiError};

/// Salesforce refuses RSA keys below this size.
pub(crate) const MIN_RSA_BITS: u32 = 2048;

/// Metadata of a validated X.509 certificate, as Setup shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Subject name in certificate order, e.g. `C=US, O=Example, CN=byoc`.
    pub subject: String,
    /// Issuer name, same format (equal to `subject` for a self-signed certificate).
    pub issuer: String,
    /// Serial number as uppercase hex without separators or sign padding, as `openssl x509 -serial` prints it.
    pub serial_hex: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// SHA-256 over the DER, uppercase hex pairs separated by `:` (as `openssl x509 -fingerprint -sha256` prints).
    pub sha256_fingerprint: String,
    /// RSA modulus size in bits.
    pub key_bits: u32,
    /// The `RSAPublicKey` (PKCS#1) DER, usable with `jsonwebtoken::DecodingKey::from_rsa_der`.
    pub rsa_public_key_pkcs1_der: Vec<u8>,
    /// The normalized single-certificate PEM (LF line endings, no surrounding text).
    pub pem: String,
}

/// Parse and validate an uploaded certificate: exactly one PEM `CERTIFICATE` block with an RSA
/// key of at least 2048 bits.
///
/// Garbage, private keys (any `PRIVATE KEY` PEM label, even next to a certificate), several
/// certificates, non-RSA and smaller keys are refused. Other PEM blocks beside the one
/// certificate (a CSR, say) are ignored. Expired certificates are accepted, as Salesforce
/// accepts them; callers decide. The signature is not checked: an uploaded certificate is a
/// container for a public key, whoever signed it.
pub fn parse_certificate(pem: &str) -> Result<CertificateInfo, PkiError> {
    let blocks = pem_io::blocks(pem)?;
    let Some(first) = blocks.first() else {
        return Err(PkiError::NotPemCertificate);
    };
    // Checked before anything else: a key must never be accepted, not even in a bundle.
    if blocks.iter().any(|b| pem_io::is_private_key_label(b.tag())) {
        return Err(PkiError::PrivateKeyNotCertificate);
    }
    let certs: Vec<&pem::Pem> = blocks.iter().filter(|b| b.tag() == "CERTIFICATE").collect();
    match certs.as_slice() {
        [one] => certificate_info_from_der(one.contents()),
        [] => Err(PkiError::UnexpectedPemBlock {
            found: first.tag().to_string(),
            expected: "a CERTIFICATE",
        }),
        many => Err(PkiError::MultipleCertificates { count: many.len() }),
    }
}

/// [`parse_certificate`] for a DER certificate (e.g. from a TLS handshake or a `.cer` file).
pub fn parse_certificate_der(der: &[u8]) -> Result<CertificateInfo, PkiError> {
    certificate_info_from_der(der)
}

fn certificate_info_from_der(der: &[u8]) -> Result<CertificateInfo, PkiError> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| PkiError::CertificateParse(e.to_string()))?;
    if !rest.is_empty() {
        return Err(PkiError::CertificateParse(
            "unexpected bytes after the certificate".into(),
        ));
    }
    let tbs = &cert.tbs_certificate;
    let spki = &tbs.subject_pki;
    let parsed = spki
        .parsed()
        .map_err(|e| PkiError::CertificateParse(format!("the public key: {e}")))?;
    if !matches!(parsed, PublicKey::RSA(_)) {
        let found = match parsed {
            PublicKey::EC(_) => "EC".to_string(),
            PublicKey::DSA(_) => "DSA".to_string(),
            PublicKey::GostR3410(_) | PublicKey::GostR3410_2012(_) => "GOST".to_string(),
            _ => oid2sn(&spki.algorithm.algorithm, oid_registry())
                .map(str::to_string)
                .unwrap_or_else(|_| spki.algorithm.algorithm.to_id_string()),
        };
        return Err(PkiError::CertificateKeyNotRsa { found });
    }
    // Re-encoded through pkcs1 so the bytes are canonical DER and compare equal to the public
    // half of the matching private key, whoever wrote the certificate.
    let rsa = pkcs1::RsaPublicKey::try_from(spki.subject_public_key.data.as_ref())
        .map_err(|e| PkiError::CertificateParse(format!("the RSA public key: {e}")))?;
    let key_bits = modulus_bits(rsa.modulus.as_bytes());
    if key_bits < MIN_RSA_BITS {
        return Err(PkiError::WeakCertificateKey { bits: key_bits });
    }
    let rsa_public_key_pkcs1_der = pkcs1::der::Encode::to_der(&rsa)
        .map_err(|e| PkiError::CertificateParse(format!("the RSA public key: {e}")))?;

    let name = |n: &x509_parser::x509::X509Name<'_>| {
        n.to_string_with_registry(oid_registry())
            .map_err(|e| PkiError::CertificateParse(format!("a name: {e}")))
    };
    Ok(CertificateInfo {
        subject: name(&tbs.subject)?,
        issuer: name(&tbs.issuer)?,
        serial_hex: serial_hex(tbs.raw_serial()),
        not_before: time_io::from_asn1(tbs.validity.not_before)?,
        not_after: time_io::from_asn1(tbs.validity.not_after)?,
        sha256_fingerprint: fingerprint(&Sha256::digest(der)),
        key_bits,
        rsa_public_key_pkcs1_der,
        pem: pem_io::encode("CERTIFICATE", der),
    })
}

/// Exact bit length of a big-endian unsigned integer (leading zero bytes ignored).
pub(crate) fn modulus_bits(be: &[u8]) -> u32 {
    let significant: &[u8] = match be.iter().position(|&b| b != 0) {
        Some(i) => &be[i..],
        None => &[],
    };
    match significant.first() {
        Some(&top) => {
            let rest = u32::try_from(significant.len() - 1).unwrap_or(u32::MAX / 16);
            rest.saturating_mul(8)
                .saturating_add(8 - top.leading_zeros())
        }
        None => 0,
    }
}

fn serial_hex(raw: &[u8]) -> String {
    // DER adds a 00 byte to keep a serial positive; openssl does not print it.
    let start = raw
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode_upper(&raw[start..])
}

fn fingerprint(digest: &[u8]) -> String {
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_counts_exactly() {
        assert_eq!(modulus_bits(&[]), 0);
        assert_eq!(modulus_bits(&[0, 0]), 0);
        assert_eq!(modulus_bits(&[1]), 1);
        assert_eq!(modulus_bits(&[0, 0x80, 0]), 16);
        assert_eq!(modulus_bits(&[0x7f, 0, 0]), 23);
    }

    #[test]
    fn serial_hex_drops_sign_padding() {
        assert_eq!(serial_hex(&[0x00, 0x80, 0x01]), "8001");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[0x0a]), "0A");
    }
}
