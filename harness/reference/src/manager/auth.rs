//! Challenge and response: each side proves it knows the key without sending it.
//!
//! A proof is HMAC-SHA256 over a role label and the other side's fresh 32-byte challenge. The
//! label differs for the two directions, so a proof one side made can never be replayed as the
//! other side's.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub(crate) const CHALLENGE_LEN: usize = 32;
pub(crate) const PROOF_LEN: usize = 32;
/// The length of a generated key.
pub(crate) const KEY_LEN: usize = 32;

/// Who makes a proof.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    Client,
    Server,
}

impl Role {
    fn label(self) -> &'static [u8] {
        match self {
            Role::Client => b"procthread-manager client proof\0",
            Role::Server => b"procthread-manager server proof\0",
        }
    }
}

pub(crate) fn random<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut c = [0u8; N];
    getrandom::fill(&mut c).map_err(|e| std::io::Error::other(format!("no random numbers: {e}")))?;
    Ok(c)
}

fn mac(key: &[u8], role: Role, challenge: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(role.label());
    mac.update(challenge);
    mac
}

pub(crate) fn prove(key: &[u8], role: Role, challenge: &[u8]) -> Vec<u8> {
    mac(key, role, challenge).finalize().into_bytes().to_vec()
}

/// Constant-time check of a proof.
pub(crate) fn verify(key: &[u8], role: Role, challenge: &[u8], proof: &[u8]) -> bool {
    mac(key, role, challenge).verify_slice(proof).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_key_verifies_wrong_key_and_other_role_do_not() {
        let c = random::<CHALLENGE_LEN>().expect("random");
        let proof = prove(b"abc", Role::Client, &c);
        assert_eq!(proof.len(), PROOF_LEN);
        assert!(verify(b"abc", Role::Client, &c, &proof));
        assert!(!verify(b"abc", Role::Server, &c, &proof), "a client's proof is no server's proof");
        assert!(!verify(b"abd", Role::Client, &c, &proof));
        assert!(!verify(b"abc", Role::Client, &c, &[]));
        assert_ne!(random::<CHALLENGE_LEN>().expect("random"), c, "challenges are fresh");
    }
}
