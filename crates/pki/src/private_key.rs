//! Reading RSA private keys (PKCS#8 or PKCS#1 PEM), and passphrase protection with PKCS#8 PBES2.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use pkcs8::der::Decode as _;

use crate::certificate::{modulus_bits, CertificateInfo, MIN_RSA_BITS};
use crate::{pem_io, PkiError};

/// aws-lc-rs handles RSA keys up to this size.
const MAX_RSA_BITS: u32 = 8192;

/// PBKDF2-HMAC-SHA256 iterations for [`encrypt_private_key`]: OWASP's 2023 figure. Costs about
/// half a second per encrypt or decrypt, paid once when a key is loaded.
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// An RSA private key read from PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub pkcs8_pem: String,
    /// Its public half as `RSAPublicKey` (PKCS#1) DER.
    pub rsa_public_key_pkcs1_der: Vec<u8>,
    /// RSA modulus size in bits.
    pub bits: u32,
}

// Hand-written so a stray `{:?}` in a log line never prints key material.
impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits)
            .field("pkcs8_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Read an RSA private key from PEM: PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`), and
/// return it re-encoded as PKCS#8 PEM with its PKCS#1 public key DER.
///
/// Encrypted keys are refused with a message asking for the passphrase (see
/// [`decrypt_private_key`]); certificates, non-RSA keys, keys under 2048 bits and garbage are
/// refused with a message saying which. In a file that also holds certificates (a combined
/// PEM), the one private key is taken and the certificates are ignored.
pub fn parse_private_key(pem: &str) -> Result<PrivateKey, PkiError> {
    let blocks = pem_io::blocks(pem)?;
    let Some(first) = blocks.first() else {
        return Err(PkiError::NotPemPrivateKey);
    };
    let keys: Vec<&pem::Pem> = blocks
        .iter()
        .filter(|b| pem_io::is_private_key_label(b.tag()))
        .collect();
    let block = match keys.as_slice() {
        [one] => *one,
        [] if blocks.iter().any(|b| b.tag() == "CERTIFICATE") => {
            return Err(PkiError::CertificateNotPrivateKey)
        }
        [] => {
            return Err(PkiError::UnexpectedPemBlock {
                found: first.tag().to_string(),
                expected: "a PRIVATE KEY or RSA PRIVATE KEY",
            })
        }
        many => return Err(PkiError::MultiplePrivateKeys { count: many.len() }),
    };
    match block.tag() {
        "PRIVATE KEY" => from_pkcs8_der(block.contents()),
        "RSA PRIVATE KEY" => {
            if block
                .headers()
                .get("Proc-Type")
                .is_some_and(|v| v.contains("ENCRYPTED"))
            {
                return Err(PkiError::LegacyEncryptedPrivateKey);
            }
            from_pkcs1_der(block.contents())
        }
        "ENCRYPTED PRIVATE KEY" => Err(PkiError::EncryptedPrivateKey),
        "EC PRIVATE KEY" => Err(PkiError::PrivateKeyNotRsa { found: "EC".into() }),
        "DSA PRIVATE KEY" => Err(PkiError::PrivateKeyNotRsa {
            found: "DSA".into(),
        }),
        "OPENSSH PRIVATE KEY" => Err(PkiError::PrivateKeyParse(
            "this is an OpenSSH key; give a PEM key (-----BEGIN PRIVATE KEY-----), e.g. from `byoc cert new`".into(),
        )),
        other => Err(PkiError::UnexpectedPemBlock {
            found: other.to_string(),
            expected: "a PRIVATE KEY or RSA PRIVATE KEY",
        }),
    }
}

/// Whether a private key and a certificate belong together (same RSA public key).
pub fn key_matches_certificate(key: &PrivateKey, cert: &CertificateInfo) -> bool {
    // Both sides are canonical DER (aws-lc-rs and pkcs1 encoders), so byte equality is key equality.
    key.rsa_public_key_pkcs1_der == cert.rsa_public_key_pkcs1_der
}

fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, PkiError> {
    let info = pkcs8::PrivateKeyInfo::from_der(der)
        .map_err(|e| PkiError::PrivateKeyParse(e.to_string()))?;
    let oid = info.algorithm.oid.to_string();
    // rsaEncryption; RSASSA-PSS keys are refused because RS256 is PKCS#1 v1.5.
    if oid != "1.2.840.113549.1.1.1" {
        return Err(PkiError::PrivateKeyNotRsa {
            found: key_algorithm_name(&oid),
        });
    }
    from_pkcs1_der(info.private_key)
}

fn from_pkcs1_der(der: &[u8]) -> Result<PrivateKey, PkiError> {
    // Sized first, so a small key gets "1024 bits" rather than aws-lc-rs's bare "TooSmall".
    let parsed = pkcs1::RsaPrivateKey::from_der(der)
        .map_err(|e| PkiError::PrivateKeyParse(e.to_string()))?;
    let bits = modulus_bits(parsed.modulus.as_bytes());
    if bits < MIN_RSA_BITS {
        return Err(PkiError::WeakPrivateKey { bits });
    }
    if bits > MAX_RSA_BITS {
        return Err(PkiError::PrivateKeyTooLarge { bits });
    }
    // aws-lc-rs checks the key's internal consistency (RSA_check_key) and gives the canonical encodings.
    let key_pair = RsaKeyPair::from_der(der)
        .map_err(|e| PkiError::PrivateKeyParse(format!("the RSA key is not valid ({e})")))?;
    let pkcs8: Pkcs8V1Der<'static> = key_pair
        .as_der()
        .map_err(|e| PkiError::PrivateKeyParse(format!("re-encoding as PKCS#8 failed ({e})")))?;
    Ok(PrivateKey {
        pkcs8_pem: pem_io::encode("PRIVATE KEY", pkcs8.as_ref()),
        rsa_public_key_pkcs1_der: key_pair.public_key().as_ref().to_vec(),
        bits,
    })
}

fn key_algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "EC".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS, which RS256 cannot use".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        other => format!("algorithm {other}"),
    }
}

/// Passphrase-protect a PKCS#8 key: PBES2 with PBKDF2-HMAC-SHA256 ([`PBKDF2_ITERATIONS`]) and
/// AES-256-CBC, the scheme OpenSSL, Java, Node and Python all read, in
/// `-----BEGIN ENCRYPTED PRIVATE KEY-----` PEM.
///
/// Takes a `PRIVATE KEY` (any algorithm) or an `RSA PRIVATE KEY` (converted to PKCS#8 first).
pub fn encrypt_private_key(private_key_pem: &str, passphrase: &str) -> Result<String, PkiError> {
    if passphrase.is_empty() {
        return Err(PkiError::InvalidInput(
            "the passphrase is empty; choose a non-empty passphrase".into(),
        ));
    }
    let blocks = pem_io::blocks(private_key_pem)?;
    let keys: Vec<&pem::Pem> = blocks
        .iter()
        .filter(|b| pem_io::is_private_key_label(b.tag()))
        .collect();
    let pkcs8_der: Vec<u8> = match keys.as_slice() {
        [one] if one.tag() == "PRIVATE KEY" => one.contents().to_vec(),
        [one] if one.tag() == "ENCRYPTED PRIVATE KEY" => return Err(PkiError::AlreadyEncrypted),
        // PKCS#1, or a refusal worded by the key reader.
        _ => {
            let key = parse_private_key(private_key_pem)?;
            let block =
                pem::parse(&key.pkcs8_pem).map_err(|e| PkiError::PrivateKeyParse(e.to_string()))?;
            block.into_contents()
        }
    };
    let info = pkcs8::PrivateKeyInfo::from_der(&pkcs8_der)
        .map_err(|e| PkiError::PrivateKeyParse(e.to_string()))?;

    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|e| PkiError::generation("a salt", e))?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|e| PkiError::generation("an IV", e))?;
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
            .map_err(|e| PkiError::generation("PBES2 parameters", e))?;
    let doc = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| PkiError::generation("the encrypted key", e))?;
    let der: &[u8] = doc.as_bytes();
    Ok(pem_io::encode("ENCRYPTED PRIVATE KEY", der))
}

/// Decrypt a `-----BEGIN ENCRYPTED PRIVATE KEY-----` PEM (PKCS#8 PBES2, as written by
/// [`encrypt_private_key`] or `openssl pkcs8 -topk8`) back to unencrypted PKCS#8 PEM.
pub fn decrypt_private_key(encrypted_pem: &str, passphrase: &str) -> Result<String, PkiError> {
    let blocks = pem_io::blocks(encrypted_pem)?;
    if blocks.is_empty() {
        return Err(PkiError::NotPemPrivateKey);
    }
    let block = match blocks
        .iter()
        .filter(|b| pem_io::is_private_key_label(b.tag()))
        .collect::<Vec<_>>()
        .as_slice()
    {
        [one] if one.tag() == "ENCRYPTED PRIVATE KEY" => *one,
        [one] => {
            return Err(PkiError::UnexpectedPemBlock {
                found: one.tag().to_string(),
                expected: "an ENCRYPTED PRIVATE KEY",
            })
        }
        [] if blocks.iter().any(|b| b.tag() == "CERTIFICATE") => {
            return Err(PkiError::CertificateNotPrivateKey)
        }
        [] => {
            return Err(PkiError::UnexpectedPemBlock {
                found: blocks
                    .first()
                    .map(|b| b.tag().to_string())
                    .unwrap_or_default(),
                expected: "an ENCRYPTED PRIVATE KEY",
            })
        }
        many => return Err(PkiError::MultiplePrivateKeys { count: many.len() }),
    };
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::from_der(block.contents())
        .map_err(|e| PkiError::EncryptedKeyParse(e.to_string()))?;
    // Once the structure parsed, a failure is a bad padding or garbage plaintext: the passphrase.
    let doc = encrypted
        .decrypt(passphrase.as_bytes())
        .map_err(|e| match e {
            // PBES1, an unknown cipher or KDF: no passphrase would help.
            pkcs8::Error::EncryptedPrivateKey(
                pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. }
                | pkcs8::pkcs5::Error::AlgorithmParametersInvalid { .. }
                | pkcs8::pkcs5::Error::NoPbes1CryptSupport,
            ) => PkiError::EncryptedKeyParse(e.to_string()),
            // A bad padding (pkcs5 reports it as "encryption failed") or a garbled plaintext.
            _ => PkiError::WrongPassphrase,
        })?;
    // A wrong passphrase can yield valid padding by chance; the plaintext must also be a key.
    pkcs8::PrivateKeyInfo::from_der(doc.as_bytes()).map_err(|_| PkiError::WrongPassphrase)?;
    Ok(pem_io::encode("PRIVATE KEY", doc.as_bytes()))
}
