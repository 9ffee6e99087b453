//! Salesforce record ids, API names and OAuth credentials formats.
//!
//! Ids are 15 characters, case-sensitive, and start with the object's key prefix; the 18-character
//! form appends a 3-character checksum that makes it case-insensitive. Randomness is an input
//! (`entropy`), so this module stays pure and testable.

/// Key prefixes of the objects byoc stores.
pub mod prefix {
    pub const ORGANIZATION: &str = "00D";
    pub const USER: &str = "005";
    pub const PROFILE: &str = "00e";
    pub const PERMISSION_SET: &str = "0PS";
    pub const CONNECTED_APPLICATION: &str = "0H4";
    /// Not documented publicly; byoc's choice (see docs/fidelity.md).
    pub const EXTERNAL_CLIENT_APPLICATION: &str = "0xI";
    pub const MESSAGING_CHANNEL: &str = "0Mj";
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CHECKSUM_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// A new 15-character id: the 3-character prefix, then 12 base-62 characters from `entropy`.
pub fn new_id(prefix: &str, entropy: &[u8; 12]) -> String {
    let mut id = String::with_capacity(15);
    id.push_str(prefix);
    for b in entropy {
        id.push(BASE62[(*b as usize) % BASE62.len()] as char);
    }
    id
}

/// The 18-character form of a 15-character id; `None` if `id15` is not 15 ASCII alphanumerics.
pub fn to_18(id15: &str) -> Option<String> {
    if id15.len() != 15 || !id15.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let bytes = id15.as_bytes();
    let mut out = String::with_capacity(18);
    out.push_str(id15);
    for chunk in bytes.chunks(5) {
        let mut bits = 0usize;
        for (i, b) in chunk.iter().enumerate() {
            if b.is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        out.push(CHECKSUM_ALPHABET[bits] as char);
    }
    Some(out)
}

/// Whether `s` looks like a valid 15- or 18-character id (the 18 form must carry the right checksum).
pub fn is_valid_id(s: &str) -> bool {
    match s.len() {
        15 => to_18(s).is_some(),
        18 if s.is_ascii() => to_18(&s[..15])
            .is_some_and(|full| full.eq_ignore_ascii_case(s) && full[15..] == s[15..]),
        _ => false,
    }
}

/// An API name derived from a label, as Setup fills it in: runs of characters other than ASCII
/// letters and digits become one `_`, leading/trailing `_` are dropped, a leading digit gets an
/// `X` in front.
pub fn api_name_from_label(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'X');
    }
    out
}

/// Salesforce's API names (and permission set labels) are at most 80 characters.
pub const MAX_API_NAME_CHARS: usize = 80;

/// Salesforce's rule for API names: starts with a letter, only letters, digits and single
/// underscores, does not end with an underscore, at most 80 characters.
pub fn is_valid_api_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_API_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

const CONSUMER_KEY_ALPHABET: &[u8] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._";

/// A consumer key in Salesforce's shape: `3MVG9` and 80 more characters from `[A-Za-z0-9._]`.
pub fn consumer_key(entropy: &[u8; 80]) -> String {
    let mut key = String::from("3MVG9");
    for b in entropy {
        key.push(CONSUMER_KEY_ALPHABET[(*b as usize) % CONSUMER_KEY_ALPHABET.len()] as char);
    }
    key
}

/// A consumer secret in Salesforce's shape: 64 uppercase hex digits.
pub fn consumer_secret(entropy: &[u8; 32]) -> String {
    entropy.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_char_checksum_matches_salesforce_examples() {
        // Known pairs from Salesforce documentation and orgs.
        assert_eq!(
            to_18("001A0000006Vm9r").as_deref(),
            Some("001A0000006Vm9rIAC")
        );
        assert_eq!(
            to_18("00D000000000062").as_deref(),
            Some("00D000000000062EAA")
        );
        assert_eq!(
            to_18("aaaaaaaaaaaaaaa").as_deref(),
            Some("aaaaaaaaaaaaaaaAAA")
        );
        assert_eq!(
            to_18("AAAAAAAAAAAAAAA").as_deref(),
            Some("AAAAAAAAAAAAAAA555")
        );
        assert_eq!(to_18("short"), None);
        assert_eq!(to_18("00D00000000006-"), None);
    }

    #[test]
    fn id_validation() {
        assert!(is_valid_id("001A0000006Vm9r"));
        assert!(is_valid_id("001A0000006Vm9rIAC"));
        assert!(!is_valid_id("001A0000006Vm9rAAA"));
        assert!(!is_valid_id("001A0000006Vm9"));
        // 18 bytes but not 18 ASCII characters: refused, not a panic on a char boundary.
        assert!(!is_valid_id("0Mw00000000000é00"));
    }

    #[test]
    fn new_ids_have_prefix_and_length() {
        let id = new_id(prefix::ORGANIZATION, &[7u8; 12]);
        assert_eq!(id.len(), 15);
        assert!(id.starts_with("00D"));
        assert!(to_18(&id).is_some());
    }

    #[test]
    fn api_names() {
        assert_eq!(api_name_from_label("Acme BYOC App"), "Acme_BYOC_App");
        assert_eq!(api_name_from_label("  my -- app!! "), "my_app");
        assert_eq!(api_name_from_label("3rd party"), "X3rd_party");
        assert!(is_valid_api_name("Acme_App"));
        assert!(!is_valid_api_name("Acme__App"));
        assert!(!is_valid_api_name("_Acme"));
        assert!(!is_valid_api_name("Acme_"));
        assert!(!is_valid_api_name("1Acme"));
    }

    #[test]
    fn credentials_shape() {
        let key = consumer_key(&[200u8; 80]);
        assert!(key.starts_with("3MVG9"));
        assert_eq!(key.len(), 85);
        let secret = consumer_secret(&[0xAB; 32]);
        assert_eq!(secret.len(), 64);
        assert!(secret
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    }
}
