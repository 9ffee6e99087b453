//! The one error type of the crate. Messages are written for the person who picked the file,
//! so they say what was found and what to give instead.

/// Why a key or certificate was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// No PEM block at all where a certificate was expected.
    #[error("the file is not PEM: expected -----BEGIN CERTIFICATE-----")]
    NotPemCertificate,

    /// No PEM block at all where a private key was expected.
    #[error(
        "the file is not PEM: expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----"
    )]
    NotPemPrivateKey,

    /// Something looked like PEM but its armour or base64 is broken.
    #[error("the file is not valid PEM: {0}")]
    MalformedPem(String),

    /// A private key was given where a certificate belongs (the classic upload mistake).
    #[error(
        "this is a private key, not a certificate: upload the certificate (server.crt), never the private key"
    )]
    PrivateKeyNotCertificate,

    /// A certificate was given where a private key belongs.
    #[error("this is a certificate, not a private key: give the private key (server.key)")]
    CertificateNotPrivateKey,

    /// PEM, but of some other kind (a CSR, a public key, ...).
    #[error("the PEM holds a {found} block; expected {expected}")]
    UnexpectedPemBlock {
        /// The label that was found, e.g. `CERTIFICATE REQUEST`.
        found: String,
        /// What was expected, in words.
        expected: &'static str,
    },

    /// A bundle or chain where exactly one certificate belongs.
    #[error("the PEM holds more than one certificate ({count}); upload exactly one")]
    MultipleCertificates {
        /// How many CERTIFICATE blocks there were.
        count: usize,
    },

    /// More than one private key in one file.
    #[error("the PEM holds more than one private key ({count}); give exactly one")]
    MultiplePrivateKeys {
        /// How many key blocks there were.
        count: usize,
    },

    /// The certificate's RSA key is too small for Salesforce.
    #[error("the certificate's key is RSA {bits} bits; Salesforce requires RSA 2048 bits or more")]
    WeakCertificateKey {
        /// Modulus size in bits.
        bits: u32,
    },

    /// The certificate's key is not RSA.
    #[error(
        "the certificate's key is not RSA (found {found}); the JWT Bearer flow here uses RS256 and needs an RSA key"
    )]
    CertificateKeyNotRsa {
        /// The key algorithm found, e.g. `EC`.
        found: String,
    },

    /// The private key is RSA but smaller than 2048 bits.
    #[error("the private key is RSA {bits} bits; Salesforce requires RSA 2048 bits or more")]
    WeakPrivateKey {
        /// Modulus size in bits.
        bits: u32,
    },

    /// The private key is RSA but larger than aws-lc-rs handles.
    #[error("the private key is RSA {bits} bits; keys larger than 8192 bits are not supported")]
    PrivateKeyTooLarge {
        /// Modulus size in bits.
        bits: u32,
    },

    /// The private key is not RSA.
    #[error(
        "the private key is not RSA (found {found}); the JWT Bearer flow here uses RS256 and needs an RSA key"
    )]
    PrivateKeyNotRsa {
        /// The key algorithm found, e.g. `EC`.
        found: String,
    },

    /// The certificate's DER did not parse.
    #[error("the certificate could not be parsed: {0}")]
    CertificateParse(String),

    /// The private key's DER did not parse or the key is inconsistent.
    #[error("the private key could not be parsed: {0}")]
    PrivateKeyParse(String),

    /// A PKCS#8 encrypted key was given without a passphrase.
    #[error(
        "the private key is encrypted (-----BEGIN ENCRYPTED PRIVATE KEY-----): give its passphrase to decrypt it"
    )]
    EncryptedPrivateKey,

    /// An OpenSSL "traditional" encrypted key (`Proc-Type: 4,ENCRYPTED`); that format uses MD5-based
    /// key derivation, which is not supported here.
    #[error(
        "the private key is encrypted in the legacy OpenSSL format (Proc-Type: 4,ENCRYPTED), which is not supported; convert it with `openssl pkcs8 -topk8 -in KEY -out key.p8` and give its passphrase"
    )]
    LegacyEncryptedPrivateKey,

    /// `encrypt_private_key` was given a key that is already encrypted.
    #[error("the private key is already encrypted")]
    AlreadyEncrypted,

    /// Decryption failed: nearly always the wrong passphrase.
    #[error("wrong passphrase: the private key could not be decrypted")]
    WrongPassphrase,

    /// The encrypted key uses a scheme this crate cannot decrypt.
    #[error("the encrypted private key could not be read: {0}")]
    EncryptedKeyParse(String),

    /// A caller-supplied argument is unusable (empty passphrase, zero days, no SAN, ...).
    #[error("{0}")]
    InvalidInput(String),

    /// The local CA's certificate or key is unusable or they do not belong together.
    #[error("the local CA is unusable: {0}")]
    LocalCa(String),

    /// Key or certificate generation failed inside the crypto library.
    #[error("could not generate {what}: {detail}")]
    Generation {
        /// What was being generated.
        what: &'static str,
        /// The library's message.
        detail: String,
    },
}

impl PkiError {
    pub(crate) fn generation(what: &'static str, detail: impl std::fmt::Display) -> Self {
        PkiError::Generation {
            what,
            detail: detail.to_string(),
        }
    }
}
