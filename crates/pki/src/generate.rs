//! Making keys and certificates with rcgen: the partner's self-signed RSA pair (what Salesforce's
//! docs do with openssl), and byoc's local CA with the TLS server certificates it signs.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, PublicKeyData as _, SanType, SerialNumber,
};
use x509_parser::der_parser::asn1_rs::Tag;

use crate::{pem_io, time_io, PkiError};

/// Certificates start a minute in the past so a peer whose clock lags a little accepts them.
const BACKDATE: Duration = Duration::minutes(1);
/// Lifetime of the local CA.
const CA_DAYS: u32 = 3650;
/// Lifetime of a TLS server certificate.
const SERVER_DAYS: u32 = 365;

/// A new RSA key and the self-signed certificate for it.
#[derive(Clone, PartialEq, Eq)]
pub struct SelfSigned {
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), what `server.key` holds.
    pub private_key_pem: String,
    /// The X.509 certificate PEM, what `server.crt` holds and Setup takes.
    pub certificate_pem: String,
}

/// The local CA that byoc creates in its data dir on first start; the Pub/Sub TLS listener's
/// certificate chains to it.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalCa {
    /// The CA certificate PEM, handed to clients as their trust root.
    pub certificate_pem: String,
    /// The CA's PKCS#8 private key PEM (ECDSA P-256).
    pub private_key_pem: String,
}

/// A TLS server certificate signed by the [`LocalCa`].
#[derive(Clone, PartialEq, Eq)]
pub struct ServerCertificate {
    /// The leaf certificate PEM (the CA certificate is not appended).
    pub certificate_pem: String,
    /// The leaf's PKCS#8 private key PEM (ECDSA P-256).
    pub private_key_pem: String,
}

// Hand-written Debug impls so a stray `{:?}` never prints a private key.
macro_rules! redacted_debug {
    ($t:ident) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("certificate_pem", &self.certificate_pem)
                    .field("private_key_pem", &"<redacted>")
                    .finish()
            }
        }
    };
}
redacted_debug!(SelfSigned);
redacted_debug!(LocalCa);
redacted_debug!(ServerCertificate);

/// A new RSA-2048 key (PKCS#8 PEM) and a self-signed X.509 certificate for it (subject
/// `CN=<common_name>`, SHA256withRSA, valid from `now` - 1 minute until `now` + `days` days, as
/// `openssl req -x509 -days` would set it), replacing the openssl steps in Salesforce's docs.
pub fn new_self_signed(
    common_name: &str,
    days: u32,
    now: DateTime<Utc>,
) -> Result<SelfSigned, PkiError> {
    if common_name.trim().is_empty() {
        return Err(PkiError::InvalidInput(
            "the common name (CN) is empty".into(),
        ));
    }
    if days == 0 {
        return Err(PkiError::InvalidInput(
            "the certificate must be valid for at least 1 day".into(),
        ));
    }
    // rcgen generates RSA keys through aws-lc-rs (2048 bits for this algorithm).
    let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .map_err(|e| PkiError::generation("an RSA key", e))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.not_before = time_io::to_offset(backdated(now)?)?;
    params.not_after = time_io::to_offset(time_io::add_days(now, days)?)?;
    params.serial_number = Some(random_serial()?);
    let cert = params
        .self_signed(&key)
        .map_err(|e| PkiError::generation("the certificate", e))?;
    Ok(SelfSigned {
        private_key_pem: key.serialize_pem(),
        certificate_pem: cert.pem(),
    })
}

/// The names the local CA may vouch for: `localhost` (and, by RFC 5280's rule, every name under
/// it), `127.0.0.0/8` and `::1`. The CA's key sits in a data dir and clients are told to trust its
/// certificate; constrained, that trust cannot be turned against any other site.
fn loopback_only() -> NameConstraints {
    NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 0], 8)),
            GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(
                std::net::Ipv6Addr::LOCALHOST.octets(),
                128,
            )),
        ],
        excluded_subtrees: Vec::new(),
    }
}

/// A new local CA: ECDSA P-256, subject `CN=byoc local CA (<org_name>)`, valid 10 years from
/// `now` (backdated a minute), CA with path length 0 (it signs leaf certificates only), with a
/// critical NameConstraints extension permitting loopback names and addresses only.
pub fn new_local_ca(org_name: &str, now: DateTime<Utc>) -> Result<LocalCa, PkiError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| PkiError::generation("the CA key", e))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("byoc local CA ({org_name})"));
    params
        .distinguished_name
        .push(DnType::OrganizationName, "byoc");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.name_constraints = Some(loopback_only());
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = time_io::to_offset(backdated(now)?)?;
    params.not_after = time_io::to_offset(time_io::add_days(now, CA_DAYS)?)?;
    params.serial_number = Some(random_serial()?);
    let cert = params
        .self_signed(&key)
        .map_err(|e| PkiError::generation("the CA certificate", e))?;
    Ok(LocalCa {
        certificate_pem: cert.pem(),
        private_key_pem: key.serialize_pem(),
    })
}

impl LocalCa {
    /// Whether the CA certificate carries the critical loopback-only name constraints that
    /// [`new_local_ca`] sets (CAs made by older byoc versions do not).
    pub fn is_loopback_constrained(&self) -> bool {
        let Ok(blocks) = pem_io::blocks(&self.certificate_pem) else {
            return false;
        };
        let Some(block) = blocks.into_iter().find(|b| b.tag() == "CERTIFICATE") else {
            return false;
        };
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(block.contents()) else {
            return false;
        };
        use x509_parser::extensions::GeneralName;
        let Ok(Some(ext)) = cert.name_constraints() else {
            return false;
        };
        let Some(permitted) = ext.value.permitted_subtrees.as_ref() else {
            return false;
        };
        let mut v6 = std::net::Ipv6Addr::LOCALHOST.octets().to_vec();
        v6.extend([0xff; 16]);
        let expected: [(bool, &[u8]); 3] = [
            (true, b"localhost"),
            (false, &[127, 0, 0, 0, 255, 0, 0, 0]),
            (false, &v6),
        ];
        let seen: Vec<(bool, &[u8])> = permitted
            .iter()
            .filter_map(|subtree| match &subtree.base {
                GeneralName::DNSName(name) => Some((true, name.as_bytes())),
                GeneralName::IPAddress(bytes) => Some((false, *bytes)),
                _ => None,
            })
            .collect();
        ext.critical
            && ext.value.excluded_subtrees.is_none()
            && permitted.len() == expected.len()
            && seen == expected
    }
}

/// A TLS server certificate signed by `ca`, for the given DNS names and IP addresses (as
/// subjectAltNames; at least one is required), valid from `now` - 1 minute for 1 year but never
/// past the CA's own expiry. The key is a fresh ECDSA P-256 key.
pub fn issue_server_certificate(
    ca: &LocalCa,
    dns_names: &[String],
    ips: &[IpAddr],
    now: DateTime<Utc>,
) -> Result<ServerCertificate, PkiError> {
    if dns_names.is_empty() && ips.is_empty() {
        return Err(PkiError::InvalidInput(
            "a server certificate needs at least one DNS name or IP address".into(),
        ));
    }
    let (issuer, ca_not_after) = load_issuer(ca)?;

    let mut sans = Vec::with_capacity(dns_names.len() + ips.len());
    for name in dns_names {
        let ia5 = rcgen::string::Ia5String::try_from(name.as_str()).map_err(|e| {
            PkiError::InvalidInput(format!("{name:?} is not a valid DNS name ({e})"))
        })?;
        sans.push(SanType::DnsName(ia5));
    }
    sans.extend(ips.iter().copied().map(SanType::IpAddress));

    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    let cn = dns_names
        .first()
        .cloned()
        .or_else(|| ips.first().map(IpAddr::to_string))
        .unwrap_or_default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = time_io::to_offset(backdated(now)?)?;
    let wanted_end = time_io::add_days(now, SERVER_DAYS)?;
    params.not_after = time_io::to_offset(wanted_end.min(ca_not_after))?;
    params.serial_number = Some(random_serial()?);

    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| PkiError::generation("the server key", e))?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| PkiError::generation("the server certificate", e))?;
    Ok(ServerCertificate {
        certificate_pem: cert.pem(),
        private_key_pem: key.serialize_pem(),
    })
}

/// Rebuild an rcgen issuer from the CA's PEM files (as stored in the data dir).
///
/// rcgen can do this itself only with its `x509-parser` feature, which pulls a second
/// x509-parser major version; so the subject is copied here with the workspace's x509-parser,
/// keeping each attribute's string type so the leaf's issuer name is byte-identical to the CA's
/// subject (path building compares names byte for byte).
fn load_issuer(ca: &LocalCa) -> Result<(Issuer<'static, KeyPair>, DateTime<Utc>), PkiError> {
    let key = KeyPair::from_pem(&ca.private_key_pem)
        .map_err(|e| PkiError::LocalCa(format!("its private key cannot be read ({e})")))?;
    let block = pem_io::blocks(&ca.certificate_pem)?
        .into_iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .ok_or_else(|| PkiError::LocalCa("its certificate PEM holds no CERTIFICATE".into()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(block.contents())
        .map_err(|e| PkiError::LocalCa(format!("its certificate cannot be parsed ({e})")))?;
    if cert.tbs_certificate.subject_pki.raw != key.subject_public_key_info().as_slice() {
        return Err(PkiError::LocalCa(
            "its private key does not belong to its certificate".into(),
        ));
    }
    if !cert.is_ca() {
        return Err(PkiError::LocalCa(
            "its certificate is not a CA certificate".into(),
        ));
    }

    let mut dn = DistinguishedName::new();
    for rdn in cert.subject().iter() {
        for attr in rdn.iter() {
            let oid: Vec<u64> = attr
                .attr_type()
                .iter()
                .ok_or_else(|| PkiError::LocalCa("a subject attribute has an odd OID".into()))?
                .collect();
            dn.push(dn_type(&oid), dn_value(attr.attr_value())?);
        }
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    // The same method new_local_ca used for the CA's subject key identifier, so the leaf's
    // authority key identifier matches it.
    params.key_identifier_method = rcgen::KeyIdMethod::Sha256;
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let not_after = time_io::from_asn1(cert.validity().not_after)?;
    Ok((Issuer::new(params, key), not_after))
}

fn dn_type(oid: &[u64]) -> DnType {
    match oid {
        [2, 5, 4, 3] => DnType::CommonName,
        [2, 5, 4, 6] => DnType::CountryName,
        [2, 5, 4, 7] => DnType::LocalityName,
        [2, 5, 4, 8] => DnType::StateOrProvinceName,
        [2, 5, 4, 10] => DnType::OrganizationName,
        [2, 5, 4, 11] => DnType::OrganizationalUnitName,
        other => DnType::CustomDnType(other.to_vec()),
    }
}

fn dn_value(any: &x509_parser::der_parser::asn1_rs::Any<'_>) -> Result<DnValue, PkiError> {
    let bad = |what: &str| PkiError::LocalCa(format!("a subject attribute is not valid {what}"));
    let text = || std::str::from_utf8(any.data).map_err(|_| bad("text"));
    Ok(match any.header.tag() {
        Tag::Utf8String => DnValue::Utf8String(text()?.to_string()),
        Tag::PrintableString => {
            DnValue::PrintableString(text()?.try_into().map_err(|_| bad("PrintableString"))?)
        }
        Tag::Ia5String => DnValue::Ia5String(text()?.try_into().map_err(|_| bad("IA5String"))?),
        Tag::T61String => {
            DnValue::TeletexString(text()?.try_into().map_err(|_| bad("TeletexString"))?)
        }
        Tag::BmpString => DnValue::BmpString(
            rcgen::string::BmpString::from_utf16be(any.data.to_vec())
                .map_err(|_| bad("BMPString"))?,
        ),
        Tag::UniversalString => DnValue::UniversalString(
            rcgen::string::UniversalString::from_utf32be(any.data.to_vec())
                .map_err(|_| bad("UniversalString"))?,
        ),
        _ => return Err(bad("string type")),
    })
}

/// `now` - [`BACKDATE`], refusing underflow (chrono's `-` would panic).
fn backdated(now: DateTime<Utc>) -> Result<DateTime<Utc>, PkiError> {
    now.checked_sub_signed(BACKDATE)
        .ok_or_else(|| PkiError::InvalidInput(format!("the date {now} is out of range")))
}

/// 128 random bits, positive: serials must be unique per issuer and unpredictable (CA/B Forum
/// asks for 64+ bits of entropy).
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|e| PkiError::generation("a serial number", e))?;
    bytes[0] &= 0x7f;
    Ok(SerialNumber::from_slice(&bytes))
}
