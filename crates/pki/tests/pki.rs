//! Behaviour of byoc-pki as its callers see it: generation round trips, refusals with the
//! message a person needs, OpenSSL interop (fixtures), and the local CA chain verified by webpki.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration as StdDuration;

use byoc_pki::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

const RSA1024_CRT: &str = include_str!("fixtures/rsa1024.crt");
const RSA1024_PKCS1_KEY: &str = include_str!("fixtures/rsa1024.pkcs1.key");
const OPENSSL_CRT: &str = include_str!("fixtures/openssl2048.crt");
const OPENSSL_PKCS1_KEY: &str = include_str!("fixtures/openssl2048.pkcs1.key");
const OPENSSL_ENC_KEY: &str = include_str!("fixtures/openssl2048.enc.key");

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 15, 9, 26)
        .single()
        .expect("valid date")
}

fn der_of(pem: &str) -> Vec<u8> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("PEM");
    block.contents
}

#[test]
fn self_signed_round_trips_through_parse_certificate() {
    let pair = new_self_signed("byoc", 365, now()).expect("generate");
    assert!(pair
        .private_key_pem
        .starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(pair
        .certificate_pem
        .starts_with("-----BEGIN CERTIFICATE-----\n"));

    let info = parse_certificate(&pair.certificate_pem).expect("parse");
    assert_eq!(info.subject, "CN=byoc");
    assert_eq!(info.issuer, "CN=byoc");
    assert_eq!(info.key_bits, 2048);
    assert_eq!(info.not_before, now() - Duration::minutes(1));
    assert_eq!(info.not_after, now() + Duration::days(365));
    assert_eq!(info.pem, pair.certificate_pem);

    // 32 uppercase hex pairs joined by ':' as openssl prints them.
    let pairs: Vec<&str> = info.sha256_fingerprint.split(':').collect();
    assert_eq!(pairs.len(), 32, "{}", info.sha256_fingerprint);
    assert!(pairs.iter().all(|p| p.len() == 2
        && p.chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))));
    assert!(!info.serial_hex.is_empty());
    assert!(info
        .serial_hex
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));

    let key = parse_private_key(&pair.private_key_pem).expect("key");
    assert_eq!(key.bits, 2048);
    assert_eq!(key.pkcs8_pem, pair.private_key_pem);
    assert!(key_matches_certificate(&key, &info));

    let other = new_self_signed("other", 1, now()).expect("generate");
    let other_key = parse_private_key(&other.private_key_pem).expect("key");
    assert!(!key_matches_certificate(&other_key, &info));
}

#[test]
fn self_signed_refuses_zero_days_and_empty_cn() {
    assert!(matches!(
        new_self_signed("byoc", 0, now()),
        Err(PkiError::InvalidInput(_))
    ));
    assert!(matches!(
        new_self_signed(" ", 10, now()),
        Err(PkiError::InvalidInput(_))
    ));
}

#[test]
fn encrypt_decrypt_round_trip_and_wrong_passphrase() {
    let pair = new_self_signed("byoc", 30, now()).expect("generate");
    let encrypted =
        encrypt_private_key(&pair.private_key_pem, "s3cret passphrase").expect("encrypt");
    assert!(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    assert!(!encrypted.contains(pair.private_key_pem.lines().nth(1).expect("a line")));

    let decrypted = decrypt_private_key(&encrypted, "s3cret passphrase").expect("decrypt");
    assert_eq!(decrypted, pair.private_key_pem);

    assert_eq!(
        decrypt_private_key(&encrypted, "wrong"),
        Err(PkiError::WrongPassphrase)
    );
    let refused = parse_private_key(&encrypted).expect_err("encrypted");
    assert_eq!(refused, PkiError::EncryptedPrivateKey);
    assert!(refused.to_string().contains("passphrase"));

    assert_eq!(
        encrypt_private_key(&encrypted, "again"),
        Err(PkiError::AlreadyEncrypted)
    );
    assert!(matches!(
        encrypt_private_key(&pair.private_key_pem, ""),
        Err(PkiError::InvalidInput(_))
    ));
}

#[test]
fn openssl_fixtures_interoperate() {
    let info = parse_certificate(OPENSSL_CRT).expect("openssl certificate");
    // Values printed by `openssl x509 -noout -fingerprint -sha256 -serial` (see fixtures/README.md).
    assert_eq!(
        info.sha256_fingerprint,
        "8A:6A:95:55:14:08:90:14:78:B8:C9:EC:71:91:31:83:98:22:CF:16:9F:D4:24:0E:6C:2D:17:E1:83:E1:36:4A"
    );
    assert_eq!(info.serial_hex, "5794B0A8A2B01C9537AED5D0698193A9D8F243D5");
    assert_eq!(info.subject, "C=US, O=Example Partner, CN=partner.example");
    assert_eq!(info.key_bits, 2048);
    assert_eq!(
        info.not_after,
        Utc.with_ymd_and_hms(2126, 11, 3, 13, 41, 13)
            .single()
            .expect("date")
    );

    // PKCS#1 ("RSA PRIVATE KEY") is read and re-encoded as PKCS#8.
    let pkcs1 = parse_private_key(OPENSSL_PKCS1_KEY).expect("pkcs1 key");
    assert!(pkcs1.pkcs8_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(key_matches_certificate(&pkcs1, &info));

    // `openssl pkcs8 -topk8 -v2 aes-256-cbc` output decrypts to the same key.
    let decrypted = decrypt_private_key(OPENSSL_ENC_KEY, "correct-horse").expect("decrypt");
    let pkcs8 = parse_private_key(&decrypted).expect("pkcs8 key");
    assert_eq!(pkcs8, pkcs1);
    assert_eq!(
        decrypt_private_key(OPENSSL_ENC_KEY, "incorrect-horse"),
        Err(PkiError::WrongPassphrase)
    );

    // PKCS#1 input is accepted by encrypt too (converted to PKCS#8 first).
    let enc = encrypt_private_key(OPENSSL_PKCS1_KEY, "pw").expect("encrypt pkcs1");
    assert_eq!(
        decrypt_private_key(&enc, "pw").expect("decrypt"),
        pkcs1.pkcs8_pem
    );
}

#[test]
fn windows_line_endings_and_surrounding_text_are_accepted() {
    let crlf = OPENSSL_CRT.replace('\n', "\r\n");
    let with_text = format!("Bag Attributes\n  friendlyName: partner\n{crlf}\ntrailing notes\n");
    let info = parse_certificate(&with_text).expect("parse");
    assert_eq!(info.pem, OPENSSL_CRT);
}

#[test]
fn certificate_refusals_say_what_is_wrong() {
    let garbage = parse_certificate("hello, this is not a certificate").expect_err("garbage");
    assert_eq!(garbage, PkiError::NotPemCertificate);
    assert_eq!(
        garbage.to_string(),
        "the file is not PEM: expected -----BEGIN CERTIFICATE-----"
    );
    assert_eq!(parse_certificate(""), Err(PkiError::NotPemCertificate));

    let pair = new_self_signed("byoc", 30, now()).expect("generate");
    let key_as_cert = parse_certificate(&pair.private_key_pem).expect_err("key");
    assert_eq!(key_as_cert, PkiError::PrivateKeyNotCertificate);
    assert!(key_as_cert.to_string().contains("never the private key"));
    assert_eq!(
        parse_certificate(OPENSSL_PKCS1_KEY),
        Err(PkiError::PrivateKeyNotCertificate)
    );
    // Even bundled with the certificate, a key is refused rather than silently dropped.
    let bundle = format!("{}{}", pair.certificate_pem, pair.private_key_pem);
    assert_eq!(
        parse_certificate(&bundle),
        Err(PkiError::PrivateKeyNotCertificate)
    );

    let weak = parse_certificate(RSA1024_CRT).expect_err("1024");
    assert_eq!(weak, PkiError::WeakCertificateKey { bits: 1024 });
    assert_eq!(
        weak.to_string(),
        "the certificate's key is RSA 1024 bits; Salesforce requires RSA 2048 bits or more"
    );

    let ec = new_local_ca("Acme", now()).expect("ca");
    let not_rsa = parse_certificate(&ec.certificate_pem).expect_err("EC");
    assert_eq!(
        not_rsa,
        PkiError::CertificateKeyNotRsa { found: "EC".into() }
    );
    assert!(not_rsa.to_string().contains("RS256"));

    let two = format!("{}{}", pair.certificate_pem, OPENSSL_CRT);
    assert_eq!(
        parse_certificate(&two),
        Err(PkiError::MultipleCertificates { count: 2 })
    );

    let truncated: String = OPENSSL_CRT.lines().take(5).collect::<Vec<_>>().join("\n");
    assert!(matches!(
        parse_certificate(&truncated),
        Err(PkiError::MalformedPem(_))
    ));

    let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        parse_certificate(bad_base64),
        Err(PkiError::MalformedPem(_))
    ));

    let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        parse_certificate(not_der),
        Err(PkiError::CertificateParse(_))
    ));

    let csr = "-----BEGIN CERTIFICATE REQUEST-----\naGVsbG8=\n-----END CERTIFICATE REQUEST-----\n";
    assert!(matches!(
        parse_certificate(csr),
        Err(PkiError::UnexpectedPemBlock { .. })
    ));
}

#[test]
fn expired_certificates_are_accepted() {
    let long_ago = Utc
        .with_ymd_and_hms(2001, 1, 1, 0, 0, 0)
        .single()
        .expect("date");
    let pair = new_self_signed("old", 1, long_ago).expect("generate");
    let info = parse_certificate(&pair.certificate_pem).expect("expired but accepted");
    assert!(info.not_after < now());
}

#[test]
fn private_key_refusals_say_what_is_wrong() {
    assert_eq!(
        parse_private_key("not a key"),
        Err(PkiError::NotPemPrivateKey)
    );
    assert_eq!(
        parse_private_key(OPENSSL_CRT),
        Err(PkiError::CertificateNotPrivateKey)
    );
    assert_eq!(
        parse_private_key(RSA1024_PKCS1_KEY),
        Err(PkiError::WeakPrivateKey { bits: 1024 })
    );
    let ca = new_local_ca("Acme", now()).expect("ca");
    assert_eq!(
        parse_private_key(&ca.private_key_pem),
        Err(PkiError::PrivateKeyNotRsa { found: "EC".into() })
    );
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\naGVsbG8=\n-----END RSA PRIVATE KEY-----\n";
    assert_eq!(
        parse_private_key(legacy),
        Err(PkiError::LegacyEncryptedPrivateKey)
    );
    // A combined file (certificate + key) yields the key.
    let combined = format!("{OPENSSL_CRT}{OPENSSL_PKCS1_KEY}");
    assert_eq!(parse_private_key(&combined).expect("combined").bits, 2048);
}

#[test]
fn private_key_debug_does_not_leak() {
    let key = parse_private_key(OPENSSL_PKCS1_KEY).expect("key");
    let shown = format!("{key:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    let ca = new_local_ca("Acme", now()).expect("ca");
    assert!(!format!("{ca:?}").contains("PRIVATE KEY"));
}

#[test]
fn local_ca_signs_a_server_certificate_that_webpki_accepts() {
    let ca = new_local_ca("Acme Org", now()).expect("ca");
    let dns = vec!["localhost".to_string()];
    let ips = [IpAddr::V4(Ipv4Addr::LOCALHOST), "::1".parse().expect("ip")];
    let server = issue_server_certificate(&ca, &dns, &ips, now()).expect("server cert");

    let ca_der = der_of(&ca.certificate_pem);
    let leaf_der = der_of(&server.certificate_pem);
    let (_, ca_x509) = x509_parser::parse_x509_certificate(&ca_der).expect("ca parses");
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf_der).expect("leaf parses");

    assert_eq!(
        ca_x509.subject().to_string(),
        "CN=byoc local CA (Acme Org), O=byoc"
    );
    assert!(ca_x509.is_ca());
    assert_eq!(
        ca_x509.validity().not_after.timestamp(),
        (now() + Duration::days(3650)).timestamp()
    );
    // Byte equality is what path building uses.
    assert_eq!(leaf.issuer().as_raw(), ca_x509.subject().as_raw());
    assert!(!leaf.is_ca());
    assert_eq!(
        leaf.validity().not_after.timestamp(),
        (now() + Duration::days(365)).timestamp()
    );
    assert!(server
        .private_key_pem
        .starts_with("-----BEGIN PRIVATE KEY-----\n"));

    let anchor_der = CertificateDer::from(ca_der.as_slice());
    let anchor = webpki::anchor_from_trusted_cert(&anchor_der).expect("anchor");
    let leaf_cert_der = CertificateDer::from(leaf_der.as_slice());
    let ee = webpki::EndEntityCert::try_from(&leaf_cert_der).expect("end entity");
    let at = UnixTime::since_unix_epoch(StdDuration::from_secs(
        u64::try_from(now().timestamp()).expect("positive"),
    ));
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &[],
        at,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .expect("chain verifies");
    for name in [
        ServerName::try_from("localhost").expect("name"),
        ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into()),
        ServerName::IpAddress("::1".parse::<IpAddr>().expect("ip").into()),
    ] {
        ee.verify_is_valid_for_subject_name(&name)
            .expect("name matches");
    }
    assert!(ee
        .verify_is_valid_for_subject_name(&ServerName::try_from("example.com").expect("name"))
        .is_err());
}

#[test]
fn server_certificate_never_outlives_its_ca_and_needs_a_name() {
    let ca = new_local_ca("Acme", now()).expect("ca");
    let late = now() + Duration::days(3600);
    let server =
        issue_server_certificate(&ca, &["localhost".into()], &[], late).expect("server cert");
    let leaf_der = der_of(&server.certificate_pem);
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf_der).expect("leaf");
    assert_eq!(
        leaf.validity().not_after.timestamp(),
        (now() + Duration::days(3650)).timestamp()
    );

    assert!(matches!(
        issue_server_certificate(&ca, &[], &[], now()),
        Err(PkiError::InvalidInput(_))
    ));
    assert!(matches!(
        issue_server_certificate(&ca, &["bad name\u{e9}".into()], &[], now()),
        Err(PkiError::InvalidInput(_))
    ));

    let other = new_local_ca("Other", now()).expect("ca");
    let mismatched = LocalCa {
        certificate_pem: ca.certificate_pem.clone(),
        private_key_pem: other.private_key_pem.clone(),
    };
    assert!(matches!(
        issue_server_certificate(&mismatched, &["localhost".into()], &[], now()),
        Err(PkiError::LocalCa(_))
    ));
}

/// The local CA is name-constrained to loopback (issue 9, item 6): a critical NameConstraints
/// extension permits `localhost`, 127.0.0.0/8 and ::1 only, so a leaf it signed for any other
/// name fails verification even though the CA is trusted.
#[test]
fn local_ca_is_name_constrained_to_loopback() {
    use x509_parser::extensions::{GeneralName, ParsedExtension};

    let ca = new_local_ca("Acme Org", now()).expect("ca");
    assert!(ca.is_loopback_constrained());
    let ca_der = der_of(&ca.certificate_pem);
    let (_, ca_x509) = x509_parser::parse_x509_certificate(&ca_der).expect("ca parses");
    let ext = ca_x509
        .extensions()
        .iter()
        .find(|e| matches!(e.parsed_extension(), ParsedExtension::NameConstraints(_)))
        .expect("a NameConstraints extension");
    assert!(ext.critical, "NameConstraints must be critical");
    let ParsedExtension::NameConstraints(nc) = ext.parsed_extension() else {
        unreachable!()
    };
    assert!(nc.excluded_subtrees.is_none());
    let permitted: Vec<String> = nc
        .permitted_subtrees
        .as_ref()
        .expect("permitted subtrees")
        .iter()
        .map(|s| match &s.base {
            GeneralName::DNSName(n) => format!("dns:{n}"),
            GeneralName::IPAddress(b) => format!("ip:{}", hex::encode(b)),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        permitted,
        [
            "dns:localhost".to_string(),
            "ip:7f000000ff000000".to_string(),
            format!("ip:{}{}", "0".repeat(31) + "1", "f".repeat(32)),
        ]
    );

    let anchor_der = CertificateDer::from(ca_der.as_slice());
    let anchor = webpki::anchor_from_trusted_cert(&anchor_der).expect("anchor");
    let at = UnixTime::since_unix_epoch(StdDuration::from_secs(
        u64::try_from(now().timestamp()).expect("positive"),
    ));
    let verify = |dns: &[&str], ips: &[IpAddr]| {
        let dns: Vec<String> = dns.iter().map(|s| s.to_string()).collect();
        let leaf = issue_server_certificate(&ca, &dns, ips, now()).expect("leaf");
        let leaf_der = der_of(&leaf.certificate_pem);
        let leaf_cert_der = CertificateDer::from(leaf_der.as_slice());
        let ee = webpki::EndEntityCert::try_from(&leaf_cert_der).expect("end entity");
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            std::slice::from_ref(&anchor),
            &[],
            at,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
    };
    let v6_loopback: IpAddr = "::1".parse().expect("ip");
    verify(
        &["localhost", "pubsub.localhost"],
        &[IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), v6_loopback],
    )
    .expect("loopback names verify");
    for (dns, ips) in [
        (&["example.com"][..], &[][..]),
        (&["localhost.example.com"][..], &[][..]),
        (
            &["localhost"][..],
            &[IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))][..],
        ),
        (&[][..], &["2001:db8::1".parse::<IpAddr>().expect("ip")][..]),
    ] {
        assert!(
            verify(dns, ips).is_err(),
            "a leaf for {dns:?} {ips:?} must not verify under the loopback-only CA"
        );
    }
}

#[test]
fn a_ca_without_name_constraints_is_recognised() {
    let ca = new_local_ca("Acme", now()).expect("ca");
    // A self-signed certificate that is not the constrained CA.
    let pair = new_self_signed("old-ca", 30, now()).expect("pair");
    let old = LocalCa {
        certificate_pem: pair.certificate_pem,
        private_key_pem: ca.private_key_pem.clone(),
    };
    assert!(!old.is_loopback_constrained());
    assert!(ca.is_loopback_constrained());
}
