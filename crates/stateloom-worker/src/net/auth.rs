//! The shared-secret challenge: each side proves it knows the secret by a keyed hash of the
//! other side's fresh random challenge. The secret itself never travels.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Which side computes the proof: the two proofs of one handshake differ.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    Client,
    Host,
}

impl Side {
    fn label(self) -> &'static [u8] {
        match self {
            Side::Client => b"stateloom-worker client proof",
            Side::Host => b"stateloom-worker host proof",
        }
    }
}

/// The proof `side` gives: HMAC-SHA256 over the label, both challenges and the session.
pub(crate) fn proof(
    secret: &[u8],
    side: Side,
    client_nonce: &[u8; 16],
    host_nonce: &[u8; 16],
    session: u128,
) -> [u8; 32] {
    mac(secret, side, client_nonce, host_nonce, session)
        .finalize()
        .into_bytes()
        .into()
}

/// Whether `claimed` is the proof `side` should give, compared in constant time.
pub(crate) fn verify(
    secret: &[u8],
    side: Side,
    client_nonce: &[u8; 16],
    host_nonce: &[u8; 16],
    session: u128,
    claimed: &[u8; 32],
) -> bool {
    mac(secret, side, client_nonce, host_nonce, session)
        .verify_slice(claimed)
        .is_ok()
}

fn mac(
    secret: &[u8],
    side: Side,
    client_nonce: &[u8; 16],
    host_nonce: &[u8; 16],
    session: u128,
) -> HmacSha256 {
    // HMAC takes a key of any length.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(side.label());
    mac.update(client_nonce);
    mac.update(host_nonce);
    mac.update(&session.to_be_bytes());
    mac
}

/// Sixteen random bytes from the operating system.
pub(crate) fn nonce() -> std::io::Result<[u8; 16]> {
    let mut bytes = [0; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes)
}

/// A random session id.
pub(crate) fn session_id() -> std::io::Result<u128> {
    let mut bytes = [0; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(u128::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_depend_on_secret_side_and_challenges() {
        let (c, h) = ([1; 16], [2; 16]);
        let client = proof(b"secret", Side::Client, &c, &h, 7);
        assert!(verify(b"secret", Side::Client, &c, &h, 7, &client));
        assert!(!verify(b"other", Side::Client, &c, &h, 7, &client));
        assert!(!verify(b"secret", Side::Host, &c, &h, 7, &client));
        assert!(!verify(b"secret", Side::Client, &h, &c, 7, &client));
        assert!(!verify(b"secret", Side::Client, &c, &h, 8, &client));
    }
}
