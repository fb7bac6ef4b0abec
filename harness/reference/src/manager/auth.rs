//! Challenge and response: each side proves it knows the key without sending it.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub(crate) const CHALLENGE_LEN: usize = 32;

pub(crate) fn challenge() -> std::io::Result<Vec<u8>> {
    let mut c = vec![0u8; CHALLENGE_LEN];
    getrandom::fill(&mut c).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(c)
}

fn mac(key: &[u8], challenge: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(challenge);
    mac
}

pub(crate) fn answer(key: &[u8], challenge: &[u8]) -> Vec<u8> {
    mac(key, challenge).finalize().into_bytes().to_vec()
}

/// Constant-time check of an answer.
pub(crate) fn verify(key: &[u8], challenge: &[u8], response: &[u8]) -> bool {
    mac(key, challenge).verify_slice(response).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_key_verifies_wrong_key_does_not() {
        let c = challenge().expect("random");
        assert_eq!(c.len(), CHALLENGE_LEN);
        assert!(verify(b"abc", &c, &answer(b"abc", &c)));
        assert!(!verify(b"abc", &c, &answer(b"abd", &c)));
        assert!(!verify(b"abc", &c, &[]));
        assert_ne!(challenge().expect("random"), c, "challenges are fresh");
    }
}
