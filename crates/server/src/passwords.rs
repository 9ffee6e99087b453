//! Users' passwords: Argon2id hashes with the crate's default parameters, stored as PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$...`). Hashing and checking cost tens of milliseconds of CPU
//! on purpose, so both run on the blocking pool, never on the async runtime's threads.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rand::Rng;

/// The PHC string of `password`, with a random salt.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password)).await?
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Whether `password` matches `stored` (a PHC string). Without a stored hash (no such user, no
/// password set) a hash of nothing in particular is checked instead, so the answer takes as long
/// either way and does not tell which usernames exist.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let result = tokio::task::spawn_blocking(move || {
        let (phc, real) = match &stored {
            Some(s) => (s.as_str(), true),
            None => (decoy(), false),
        };
        let Ok(parsed) = PasswordHash::new(phc) else {
            tracing::warn!("a stored password hash is not a PHC string; the login is refused");
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && real
    })
    .await;
    result.unwrap_or(false)
}

/// A hash to check against when there is none: made once per process.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_now("byoc decoy password 0").unwrap_or_default())
}

/// A temporary password for *Reset Password*: 12 characters from letters and digits without the
/// look-alikes (0/O, 1/l/I), always with both letters and digits, so it meets the default policy.
pub fn temporary() -> String {
    const LETTERS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = rand::thread_rng();
    loop {
        let password: String = (0..12)
            .map(|_| {
                let pool = if rng.gen_range(0..4) == 0 {
                    DIGITS
                } else {
                    LETTERS
                };
                pool[rng.gen_range(0..pool.len())] as char
            })
            .collect();
        if byoc_core::setup::check_password(&password).is_ok() {
            return password;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_checks_its_password_only() {
        let h = hash("Sunny2day".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("Sunny2day".into(), Some(h.clone())).await);
        assert!(!verify("sunny2day".into(), Some(h)).await);
        assert!(!verify("byoc decoy password 0".into(), None).await);
        assert!(!verify("x".into(), Some("not a phc string".into())).await);
    }

    #[test]
    fn temporary_passwords_meet_the_policy_and_differ() {
        let a = temporary();
        assert_eq!(a.len(), 12);
        assert!(byoc_core::setup::check_password(&a).is_ok());
        assert_ne!(a, temporary());
    }
}
