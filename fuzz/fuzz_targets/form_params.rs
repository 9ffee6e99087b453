//! The OAuth endpoints' form parser (`byoc_server::oauth::form_params`): never a panic, and a
//! body it accepts has no repeated name.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = byoc_server::oauth::form_params(data) {
        let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a repeated parameter was accepted");
    }
});
