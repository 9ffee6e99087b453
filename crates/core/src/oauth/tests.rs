//! The grant decision with a pinned clock and a fake signature check.

use byoc_proto::setup::{AppPolicies, Certificate, IpRelaxation, OAuthSettings};
use serde_json::json;

use super::*;

const NOW: i64 = 1_750_000_000_000;
const KEY: &str = "3MVG9consumerkey";

fn b64(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn jwt(header: serde_json::Value, claims: serde_json::Value) -> String {
    format!(
        "{}.{}.{}",
        b64(&header),
        b64(&claims),
        URL_SAFE_NO_PAD.encode(b"sig")
    )
}

fn claims() -> serde_json::Value {
    json!({"iss": KEY, "sub": "admin@example.com", "aud": "https://login.salesforce.com", "exp": NOW / 1000 + 120})
}

fn good() -> String {
    jwt(json!({"alg": "RS256"}), claims())
}

fn cert() -> Certificate {
    Certificate {
        subject: "CN=x".into(),
        issuer: "CN=x".into(),
        serial_number: "01".into(),
        not_before: NOW - 1000,
        not_after: NOW + 86_400_000,
        sha256_fingerprint: "AA:BB".into(),
        key_bits: 2048,
        pem: String::new(),
    }
}

fn app() -> App {
    App {
        id: "0xI000000000001".into(),
        kind: AppKind::ExternalClientApp,
        name: "BYOC Sample App".into(),
        api_name: "BYOC_Sample_App".into(),
        contact_email: "a@example.com".into(),
        description: String::new(),
        distribution_state: Some("Local".into()),
        oauth: OAuthSettings {
            is_enabled: true,
            callback_urls: vec![],
            scopes: vec![
                "interaction_api".into(),
                "refresh_token".into(),
                "offline_access".into(),
            ],
            jwt_bearer_enabled: true,
            client_credentials_enabled: false,
            consumer_key: KEY.into(),
            consumer_secret: Some("SECRET".into()),
            certificate: Some(cert()),
        },
        policies: AppPolicies {
            permitted_users: PermittedUsers::AdminApprovedPreAuthorized,
            profiles: vec!["System Administrator".into()],
            permission_sets: vec![],
            ip_relaxation: IpRelaxation::Enforce,
            session_timeout_minutes: None,
            run_as_username: None,
        },
        read_only_reason: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn user() -> User {
    User {
        id: "005000000000001".into(),
        id18: "005000000000001AAA".into(),
        username: "admin@example.com".into(),
        email: "admin@example.com".into(),
        profile: "System Administrator".into(),
        permission_sets: vec![],
        is_active: true,
        created_at: 0,
    }
}

struct Fake(SignatureOutcome);
impl SignatureVerifier for Fake {
    fn verify(&self, _: &App, _: &Certificate, _: &Assertion) -> SignatureOutcome {
        self.0
    }
}

fn audiences() -> Vec<String> {
    vec![
        "https://login.salesforce.com".into(),
        "https://test.salesforce.com".into(),
        "http://127.0.0.1:6101".into(),
    ]
}

fn run(
    token: &str,
    app: Option<&App>,
    user: Option<&User>,
    strict: bool,
    sig: SignatureOutcome,
) -> Result<Grant, GrantRefusal> {
    let assertion = parse_assertion(token).map_err(|e| e.refusal)?;
    let aud = audiences();
    decide(
        &GrantRequest {
            assertion: &assertion,
            app,
            user,
            accepted_audiences: &aud,
            now_millis: NOW,
            strict,
        },
        &Fake(sig),
    )
}

fn refused(r: Result<Grant, GrantRefusal>) -> (OAuthError, String) {
    let e = r.expect_err("expected a refusal");
    (e.error, e.diagnosis)
}

#[test]
fn grant_with_the_seed_setup() {
    let g = run(
        &good(),
        Some(&app()),
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    )
    .unwrap();
    assert_eq!(
        g.scopes,
        ["interaction_api", "refresh_token", "offline_access"]
    );
    assert_eq!(g.issued_at_millis, NOW);
    assert_eq!(g.expires_at_millis, NOW + 120 * 60_000);
    assert_eq!(g.jti_to_record, None);
}

#[test]
fn session_timeout_sets_the_lifetime() {
    let mut a = app();
    a.policies.session_timeout_minutes = Some(15);
    let g = run(
        &good(),
        Some(&a),
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    )
    .unwrap();
    assert_eq!(g.expires_at_millis, NOW + 15 * 60_000);
}

#[test]
fn error_strings_are_salesforce_s() {
    let rows = [
        (OAuthError::UnsupportedGrantType, "unsupported_grant_type", "grant type not supported"),
        (OAuthError::InvalidAssertion, "invalid_grant", "invalid assertion"),
        (OAuthError::InvalidClientId, "invalid_client_id", "client identifier invalid"),
        (OAuthError::InvalidClientCredentials, "invalid_client", "invalid client credentials"),
        (OAuthError::InvalidAudience, "invalid_grant", "audience is invalid"),
        (OAuthError::Expired, "invalid_grant", "expired authorization code"),
        (OAuthError::NotApproved, "invalid_grant", "user hasn't approved this consumer"),
        (OAuthError::NotAdminApproved, "invalid_app_access", "user is not admin approved to access this app"),
        (
            OAuthError::RefreshTokenScopeRequired,
            "invalid_request",
            "refresh_token scope is required and the connected app should be installed and preauthorized.",
        ),
    ];
    for (e, error, description) in rows {
        assert_eq!((e.error(), e.description()), (error, description));
    }
}

#[test]
fn grant_type() {
    assert!(check_grant_type(Some("urn:ietf:params:oauth:grant-type:jwt-bearer")).is_ok());
    assert_eq!(
        check_grant_type(Some("password")).unwrap_err().error,
        OAuthError::UnsupportedGrantType
    );
    assert_eq!(
        check_grant_type(None).unwrap_err().error,
        OAuthError::UnsupportedGrantType
    );
}

#[test]
fn malformed_assertions_are_invalid_assertion() {
    let h = b64(&json!({"alg": "RS256"}));
    let c = b64(&claims());
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "no assertion"),
        ("x".repeat(MAX_ASSERTION_BYTES + 1), "longer than"),
        (format!("{h}.{c}"), "2 segment"),
        (format!("{h}.{c}.a.b.c"), "JWE"),
        (format!("{h}.{c}.sig.x"), "4 segment"),
        (format!("{h}!.{c}.c2ln"), "base64url"),
        (format!("{h}=.{c}.c2ln"), "base64url"),
        (format!("{h}.{c}.c2l*"), "base64url"),
        (format!("{h}.{c}."), "no signature"),
        (
            format!("{}.{c}.c2ln", URL_SAFE_NO_PAD.encode(b"[1,2]")),
            "not a JSON object",
        ),
        (
            format!(
                "{}.{c}.c2ln",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","alg":"none"}"#)
            ),
            "repeats a JSON member",
        ),
        (
            format!(
                "{h}.{}.c2ln",
                URL_SAFE_NO_PAD.encode(br#"{"iss":"a","sub":"b","aud":"c","exp":1,"exp":2}"#)
            ),
            "repeats",
        ),
        (jwt(json!({"alg": "none"}), claims()), "\"none\""),
        (jwt(json!({"alg": "HS256"}), claims()), "\"HS256\""),
        (jwt(json!({"alg": "RS512"}), claims()), "only RS256"),
        (jwt(json!({"typ": "JWT"}), claims()), "no alg"),
        (jwt(json!({"alg": ["RS256"]}), claims()), "no alg"),
        (
            jwt(json!({"alg": "RS256", "crit": ["exp"]}), claims()),
            "crit",
        ),
    ];
    for (token, needle) in cases {
        let e = parse_assertion(&token).expect_err(needle);
        assert_eq!(e.refusal.error, OAuthError::InvalidAssertion, "{needle}");
        assert!(
            e.refusal.diagnosis.contains(needle),
            "{needle}: {}",
            e.refusal.diagnosis
        );
    }
}

#[test]
fn claims_are_required_and_typed() {
    let mut cases = Vec::new();
    for missing in ["iss", "sub", "aud", "exp"] {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(missing);
        cases.push((c, format!("no {missing}")));
    }
    let mut c = claims();
    c["exp"] = json!(1.75e9);
    cases.push((c, "exp is not an integer".into()));
    let mut c = claims();
    c["exp"] = json!("1750000000");
    cases.push((c, "exp is not an integer".into()));
    let mut c = claims();
    c["exp"] = serde_json::from_str("99999999999999999999999").unwrap();
    cases.push((c, "exp is not an integer".into()));
    let mut c = claims();
    c["iat"] = json!(1e300);
    cases.push((c, "iat is not an integer".into()));
    let mut c = claims();
    c["jti"] = json!(5);
    cases.push((c, "jti is not a string".into()));
    let mut c = claims();
    c["aud"] = json!([]);
    cases.push((c, "no aud".into()));
    let mut c = claims();
    c["iss"] = json!(42);
    cases.push((c, "no iss".into()));
    for (c, needle) in cases {
        let e = parse_assertion(&jwt(json!({"alg": "RS256"}), c)).expect_err(&needle);
        assert_eq!(e.refusal.error, OAuthError::InvalidAssertion);
        assert!(
            e.refusal.diagnosis.contains(&needle),
            "{needle}: {}",
            e.refusal.diagnosis
        );
    }
}

#[test]
fn key_headers_are_ignored_and_prn_wins() {
    let token = jwt(
        json!({"alg": "RS256", "kid": "x", "jwk": {"kty": "RSA"}, "jku": "https://evil.example/keys", "x5u": "https://evil.example/c", "x5c": ["AAAA"], "typ": "JWT"}),
        json!({"iss": KEY, "sub": "other@example.com", "prn": "admin@example.com", "aud": ["x", "https://login.salesforce.com/"], "exp": NOW / 1000 + 60, "iat": 1, "jti": "j"}),
    );
    let a = parse_assertion(&token).unwrap();
    assert_eq!(a.claims.sub, "admin@example.com");
    assert_eq!(a.claims.jti.as_deref(), Some("j"));
    assert!(run(
        &token,
        Some(&app()),
        Some(&user()),
        false,
        SignatureOutcome::Valid
    )
    .is_ok());
}

#[test]
fn parse_failures_keep_iss_and_sub_for_the_login_history() {
    let e = parse_assertion(&jwt(json!({"alg": "HS256"}), claims())).unwrap_err();
    assert_eq!(e.iss.as_deref(), Some(KEY));
    assert_eq!(e.sub.as_deref(), Some("admin@example.com"));
}

#[test]
fn unknown_or_disabled_client() {
    let (e, d) = refused(run(
        &good(),
        None,
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    ));
    assert_eq!(e, OAuthError::InvalidClientId);
    assert!(d.contains("consumer key"), "{d}");
    let mut a = app();
    a.oauth.is_enabled = false;
    assert_eq!(
        refused(run(
            &good(),
            Some(&a),
            Some(&user()),
            false,
            SignatureOutcome::Valid
        ))
        .0,
        OAuthError::InvalidClientId
    );
}

#[test]
fn flow_disabled_or_no_certificate_is_invalid_client() {
    let mut a = app();
    a.oauth.jwt_bearer_enabled = false;
    let (e, d) = refused(run(
        &good(),
        Some(&a),
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    ));
    assert_eq!(e, OAuthError::InvalidClientCredentials);
    assert!(d.contains("--jwt-bearer --certificate"), "{d}");

    let mut ca = app();
    ca.kind = AppKind::ConnectedApp;
    ca.oauth.certificate = None;
    ca.oauth.jwt_bearer_enabled = false;
    let (e, d) = refused(run(
        &good(),
        Some(&ca),
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    ));
    assert_eq!(e, OAuthError::InvalidClientCredentials);
    assert!(
        d.contains("byoc setup connected-app update 'BYOC Sample App' --certificate"),
        "{d}"
    );
}

#[test]
fn wrong_signature() {
    let (e, d) = refused(run(
        &good(),
        Some(&app()),
        Some(&user()),
        false,
        SignatureOutcome::Invalid,
    ));
    assert_eq!(e, OAuthError::InvalidClientCredentials);
    assert!(d.contains("AA:BB"), "{d}");
    assert_eq!(
        refused(run(
            &good(),
            Some(&app()),
            Some(&user()),
            false,
            SignatureOutcome::UnusableKey
        ))
        .0,
        OAuthError::InvalidClientCredentials
    );
}

#[test]
fn signature_is_checked_before_audience_and_expiry() {
    let mut c = claims();
    c["aud"] = json!("https://evil.example");
    c["exp"] = json!(1);
    let t = jwt(json!({"alg": "RS256"}), c);
    assert_eq!(
        refused(run(
            &t,
            Some(&app()),
            Some(&user()),
            false,
            SignatureOutcome::Invalid
        ))
        .0,
        OAuthError::InvalidClientCredentials
    );
    // Audience before expiry.
    assert_eq!(
        refused(run(
            &t,
            Some(&app()),
            Some(&user()),
            false,
            SignatureOutcome::Valid
        ))
        .0,
        OAuthError::InvalidAudience
    );
}

#[test]
fn audience() {
    for ok in [
        "https://login.salesforce.com",
        "https://TEST.salesforce.com/",
        "http://127.0.0.1:6101",
    ] {
        let mut c = claims();
        c["aud"] = json!(ok);
        assert!(
            run(
                &jwt(json!({"alg": "RS256"}), c),
                Some(&app()),
                Some(&user()),
                false,
                SignatureOutcome::Valid
            )
            .is_ok(),
            "{ok}"
        );
    }
    let mut c = claims();
    c["aud"] = json!("https://login.salesforce.com.evil.example");
    let (e, d) = refused(run(
        &jwt(json!({"alg": "RS256"}), c),
        Some(&app()),
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    ));
    assert_eq!(e, OAuthError::InvalidAudience);
    assert!(d.contains("https://test.salesforce.com"), "{d}");
}

#[test]
fn expiry_at_the_boundary() {
    for (exp, ok) in [
        (NOW / 1000, false),
        (NOW / 1000 - 1, false),
        (NOW / 1000 + 1, true),
        (i64::MIN, false),
        (i64::MAX, true),
    ] {
        let mut c = claims();
        c["exp"] = json!(exp);
        let r = run(
            &jwt(json!({"alg": "RS256"}), c),
            Some(&app()),
            Some(&user()),
            false,
            SignatureOutcome::Valid,
        );
        assert_eq!(r.is_ok(), ok, "exp {exp}: {r:?}");
        if !ok {
            assert_eq!(r.unwrap_err().error, OAuthError::Expired);
        }
    }
}

#[test]
fn users() {
    let (e, d) = refused(run(
        &good(),
        Some(&app()),
        None,
        false,
        SignatureOutcome::Valid,
    ));
    assert_eq!(e, OAuthError::UnknownUser);
    assert_eq!(
        (e.error(), e.description()),
        ("invalid_grant", "authentication failure")
    );
    assert!(d.contains("admin@example.com"), "{d}");
    let mut u = user();
    u.is_active = false;
    let (e, _) = refused(run(
        &good(),
        Some(&app()),
        Some(&u),
        false,
        SignatureOutcome::Valid,
    ));
    assert_eq!(
        (e.error(), e.description()),
        ("invalid_grant", "inactive user")
    );
}

#[test]
fn policies() {
    let mut a = app();
    a.policies.permitted_users = PermittedUsers::AllSelfAuthorized;
    let (e, d) = refused(run(
        &good(),
        Some(&a),
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    ));
    assert_eq!(e, OAuthError::NotApproved);
    assert_eq!(
        d,
        "the app's Permitted Users policy is *All users may self-authorize* and the JWT Bearer flow has no prior approval; set it to *Admin approved users are pre-authorized* and assign the user's profile (byoc setup eca policies 'BYOC Sample App' --permitted-users admin-approved --profile 'System Administrator')"
    );

    let mut a = app();
    a.policies.profiles = vec!["Standard User".into()];
    let (e, d) = refused(run(
        &good(),
        Some(&a),
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    ));
    assert_eq!(e, OAuthError::NotAdminApproved);
    assert!(d.contains("--profile 'System Administrator'"), "{d}");

    // A permission set assigned to the app admits its holders.
    a.policies.permission_sets = vec!["Byoc_Integration".into()];
    let mut u = user();
    u.permission_sets = vec!["byoc_integration".into()];
    assert!(run(&good(), Some(&a), Some(&u), false, SignatureOutcome::Valid).is_ok());

    a.kind = AppKind::ConnectedApp;
    let (_, d) = refused(run(
        &good(),
        Some(&a),
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    ));
    assert!(
        d.contains(
            "byoc setup connected-app profiles 'BYOC Sample App' --add 'System Administrator'"
        ),
        "{d}"
    );
}

#[test]
fn refresh_token_scope() {
    let mut a = app();
    a.oauth.scopes = vec!["interaction_api".into()];
    let (e, d) = refused(run(
        &good(),
        Some(&a),
        Some(&user()),
        false,
        SignatureOutcome::Valid,
    ));
    assert_eq!(e, OAuthError::RefreshTokenScopeRequired);
    assert!(
        d.contains("--scopes interaction_api,refresh_token,offline_access"),
        "{d}"
    );
    a.oauth.scopes = vec!["interaction_api".into(), "offline_access".into()];
    assert!(run(
        &good(),
        Some(&a),
        Some(&user()),
        false,
        SignatureOutcome::Valid
    )
    .is_ok());
}

#[test]
fn parity_is_lenient() {
    // Far-future exp, future iat/nbf, no jti, expired certificate: all accepted by default.
    let mut c = claims();
    c["exp"] = json!(NOW / 1000 + 10 * 365 * 86_400);
    c["iat"] = json!(NOW / 1000 + 3600);
    c["nbf"] = json!(NOW / 1000 + 3600);
    let mut a = app();
    if let Some(cert) = a.oauth.certificate.as_mut() {
        cert.not_after = NOW - 1;
    }
    assert!(run(
        &jwt(json!({"alg": "RS256"}), c),
        Some(&a),
        Some(&user()),
        false,
        SignatureOutcome::Valid
    )
    .is_ok());
}

#[test]
fn strict_mode() {
    let strict = |c: serde_json::Value, a: &App| {
        run(
            &jwt(json!({"alg": "RS256"}), c),
            Some(a),
            Some(&user()),
            true,
            SignatureOutcome::Valid,
        )
    };
    let mut base = claims();
    base["jti"] = json!("abc");
    let g = strict(base.clone(), &app()).unwrap();
    assert_eq!(g.jti_to_record.as_deref(), Some("abc"));

    let mut c = base.clone();
    c["exp"] = json!(NOW / 1000 + 181 + 10);
    let (e, d) = refused(strict(c, &app()));
    assert_eq!(e, OAuthError::InvalidAssertion);
    assert!(d.contains("3 minutes"), "{d}");
    let mut c = base.clone();
    c["exp"] = json!(NOW / 1000 + 180);
    assert!(strict(c, &app()).is_ok());

    for claim in ["iat", "nbf"] {
        let mut c = base.clone();
        c[claim] = json!(NOW / 1000 + 11);
        let (e, d) = refused(strict(c, &app()));
        assert_eq!(e, OAuthError::InvalidAssertion);
        assert!(d.contains(claim), "{d}");
        let mut c = base.clone();
        c[claim] = json!(NOW / 1000 + 5);
        assert!(strict(c, &app()).is_ok(), "{claim} within skew");
    }

    let mut c = base.clone();
    c.as_object_mut().unwrap().remove("jti");
    assert!(refused(strict(c, &app())).1.contains("no jti"));

    let mut a = app();
    if let Some(cert) = a.oauth.certificate.as_mut() {
        cert.not_after = NOW - 1;
    }
    let (e, d) = refused(strict(base.clone(), &a));
    assert_eq!(e, OAuthError::InvalidClientCredentials);
    assert!(d.contains("strict mode: the certificate"), "{d}");

    assert_eq!(jti_reused("abc").error, OAuthError::InvalidAssertion);
}

#[test]
fn header_safe_is_printable_ascii() {
    assert_eq!(header_safe("caf\u{e9} \u{2014} ok\n"), "caf? ? ok?");
}

// ---- property tests: attacker input never panics and only ever gets a 4xx-class refusal --------

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Any outcome of parse + decide is a grant or one of the token endpoint's 400 refusals.
    fn check(token: &str) {
        match parse_assertion(token) {
            Err(e) => assert_eq!(e.refusal.error, OAuthError::InvalidAssertion),
            Ok(a) => {
                let aud = audiences();
                for strict in [false, true] {
                    let r = decide(
                        &GrantRequest {
                            assertion: &a,
                            app: Some(&app()),
                            user: Some(&user()),
                            accepted_audiences: &aud,
                            now_millis: NOW,
                            strict,
                        },
                        &Fake(SignatureOutcome::Valid),
                    );
                    if let Err(refusal) = r {
                        assert!(!refusal.error.error().is_empty());
                        assert!(header_safe(&refusal.diagnosis).is_ascii());
                    }
                }
            }
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            ".{0,40}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..8)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn claim_set() -> impl Strategy<Value = serde_json::Value> {
        let name = prop_oneof![
            Just("iss"),
            Just("sub"),
            Just("prn"),
            Just("aud"),
            Just("exp"),
            Just("iat"),
            Just("nbf"),
            Just("jti"),
            Just("x")
        ];
        prop::collection::vec((name, json_value()), 0..10).prop_map(|pairs| {
            let mut m = serde_json::Map::new();
            for (k, v) in pairs {
                m.insert(k.to_string(), v);
            }
            // Keep the well-formed core most of the time, so decide() gets exercised.
            m.entry("iss").or_insert(json!(KEY));
            m.entry("sub").or_insert(json!("admin@example.com"));
            serde_json::Value::Object(m)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text(s in ".{0,300}") {
            check(&s);
        }

        #[test]
        fn arbitrary_segments(a in prop::collection::vec(any::<u8>(), 0..200), b in prop::collection::vec(any::<u8>(), 0..200), c in prop::collection::vec(any::<u8>(), 0..64)) {
            check(&format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(a), URL_SAFE_NO_PAD.encode(b), URL_SAFE_NO_PAD.encode(c)));
        }

        #[test]
        fn arbitrary_json(header in json_value(), claims in claim_set()) {
            check(&jwt(header, claims.clone()));
            check(&jwt(json!({"alg": "RS256"}), claims));
        }

        #[test]
        fn mutated_good_token(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8)) {
            let mut bytes = good().into_bytes();
            for (at, byte, op) in edits {
                let i = at.index(bytes.len() + 1);
                match op {
                    0 if i < bytes.len() => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ if i < bytes.len() => { bytes.remove(i); }
                    _ => {}
                }
            }
            check(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn oversized_and_deep_inputs() {
        check(&"a.".repeat(MAX_ASSERTION_BYTES));
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        check(&format!(
            "{}.{}.c2ln",
            b64(&json!({"alg": "RS256"})),
            URL_SAFE_NO_PAD.encode(deep)
        ));
    }
}

/// Every file of the fuzz corpus (`fuzz/corpus/jwt_assertion`, seeds and whatever fuzzing found
/// and was kept) goes through the parser on stable, so CI exercises it without nightly.
#[test]
fn the_fuzz_corpus_parses_without_panicking() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/jwt_assertion");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the fuzz corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("corpus file");
        let jwt = String::from_utf8_lossy(&bytes);
        if let Err(e) = parse_assertion(&jwt) {
            assert_eq!(e.refusal.error.error(), "invalid_grant");
        }
        n += 1;
    }
    assert!(n > 0, "no corpus in {}", dir.display());
}
