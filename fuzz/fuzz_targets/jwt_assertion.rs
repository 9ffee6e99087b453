//! The JWT Bearer assertion parser (`byoc_core::oauth::parse_assertion`): any input is either an
//! assertion or an `invalid_grant` refusal, never a panic, and what it reads is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let jwt = String::from_utf8_lossy(data);
    match byoc_core::oauth::parse_assertion(&jwt) {
        Ok(a) => {
            // The signing input is the first two segments exactly as sent.
            assert!(jwt.starts_with(&a.signing_input));
            assert!(!a.claims.aud.is_empty());
            let _ = byoc_core::oauth::is_identifier(&a.claims.sub);
        }
        Err(e) => assert_eq!(e.refusal.error.error(), "invalid_grant"),
    }
});
