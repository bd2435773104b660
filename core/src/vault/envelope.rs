//! The encrypted envelope: one layout for every ciphertext the vault writes.
//!
//! ```text
//! envelope = version (1 byte, 0x01) ‖ nonce (12 bytes, random) ‖ AES-256-GCM(ciphertext ‖ tag (16 bytes))
//! ```
//!
//! A fresh random 96-bit nonce per write: with at most 2^32 writes per key (NIST SP 800-38D's
//! bound for random nonces) the chance of a repeat stays below 2^-32; a data-encryption key is
//! rotated long before. The AAD is the caller's (see [`super::format`]) and is not stored.

use crate::crypto::{AES_256_GCM_NONCE_LEN, AES_256_GCM_TAG_LEN, Aes256GcmKey, Crypto};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// The envelope version this code writes and reads.
pub const ENVELOPE_VERSION: u8 = 1;

const HEADER_LEN: usize = 1 + AES_256_GCM_NONCE_LEN;

/// Encrypts `plaintext` into a new envelope.
pub fn seal(crypto: &Crypto, key: &Aes256GcmKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let nonce: [u8; AES_256_GCM_NONCE_LEN] = crypto.random_array()?;
    let sealed = crypto.aes256gcm_seal(key, &nonce, aad, plaintext)?;
    let mut envelope = Vec::with_capacity(HEADER_LEN + sealed.len());
    envelope.push(ENVELOPE_VERSION);
    envelope.extend_from_slice(&nonce);
    envelope.extend_from_slice(&sealed);
    Ok(envelope)
}

/// Opens an envelope. Every failure (unknown version, short input, wrong key or AAD, tampered
/// bytes) is the same [`Error::Crypto`].
pub fn open(
    crypto: &Crypto,
    key: &Aes256GcmKey,
    aad: &[u8],
    envelope: &[u8],
) -> Result<SecretBytes> {
    if envelope.len() < HEADER_LEN + AES_256_GCM_TAG_LEN || envelope[0] != ENVELOPE_VERSION {
        return Err(Error::Crypto);
    }
    let (header, sealed) = envelope.split_at(HEADER_LEN);
    let nonce: [u8; AES_256_GCM_NONCE_LEN] = header[1..].try_into().map_err(|_| Error::Crypto)?;
    crypto.aes256gcm_open(key, &nonce, aad, sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Aes256GcmKey {
        Aes256GcmKey::from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let crypto = Crypto::get().unwrap();
        let a = seal(&crypto, &key(1), b"aad", b"value").unwrap();
        let b = seal(&crypto, &key(1), b"aad", b"value").unwrap();
        assert_ne!(a[1..13], b[1..13], "nonces repeat");
        assert_eq!(a.len(), 1 + 12 + 5 + 16);
        // Test: reading back the plaintext is the assertion.
        assert_eq!(
            open(&crypto, &key(1), b"aad", &a).unwrap().expose_secret(),
            b"value"
        );
    }

    #[test]
    fn every_tampered_byte_key_or_aad_fails_opaquely() {
        let crypto = Crypto::get().unwrap();
        let envelope = seal(&crypto, &key(1), b"aad", b"value").unwrap();
        for i in 0..envelope.len() {
            let mut tampered = envelope.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                open(&crypto, &key(1), b"aad", &tampered).unwrap_err(),
                Error::Crypto,
                "byte {i}"
            );
        }
        assert_eq!(
            open(&crypto, &key(2), b"aad", &envelope).unwrap_err(),
            Error::Crypto
        );
        assert_eq!(
            open(&crypto, &key(1), b"aaD", &envelope).unwrap_err(),
            Error::Crypto
        );
        assert_eq!(
            open(&crypto, &key(1), b"aad", &envelope[..20]).unwrap_err(),
            Error::Crypto
        );
        assert_eq!(
            open(&crypto, &key(1), b"aad", &[]).unwrap_err(),
            Error::Crypto
        );
    }
}
