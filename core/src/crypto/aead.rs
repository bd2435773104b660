//! AES-256-GCM with 96-bit nonces.
//!
//! Only 96-bit nonces: other lengths go through GHASH to derive the counter block, which makes
//! nonce collisions harder to reason about, and NIST SP 800-38D recommends 96 bits. The tag is
//! always the full 128 bits and is checked in constant time before any plaintext is released.

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Crypto;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// Nonce length of AES-256-GCM in RukaSec (96 bits).
pub const AES_256_GCM_NONCE_LEN: usize = 12;
/// Tag length of AES-256-GCM (128 bits), appended to the ciphertext.
pub const AES_256_GCM_TAG_LEN: usize = 16;

/// An AES-256 key: wiped on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Aes256GcmKey([u8; 32]);

impl Aes256GcmKey {
    /// A key from exactly 32 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `bytes` is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid_input("an AES-256 key is 32 bytes"))?;
        Ok(Self(key))
    }
}

impl std::fmt::Debug for Aes256GcmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aes256GcmKey")
    }
}

impl Crypto {
    /// Encrypts `plaintext`, returning `ciphertext ‖ tag`.
    ///
    /// The caller guarantees that `nonce` is never reused with the same key.
    pub fn aes256gcm_seal(
        &self,
        key: &Aes256GcmKey,
        nonce: &[u8; AES_256_GCM_NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let mut buffer = Vec::with_capacity(plaintext.len() + AES_256_GCM_TAG_LEN);
        buffer.extend_from_slice(plaintext);
        cipher(key)
            .encrypt_in_place(&(*nonce).into(), aad, &mut buffer)
            // Only fails for inputs longer than GCM's limit (64 GiB).
            .map_err(|_| Error::invalid_input("plaintext too long for AES-GCM"))?;
        Ok(buffer)
    }

    /// Decrypts `ciphertext ‖ tag`. Any failure (short input, wrong key, nonce, AAD, tampered
    /// bytes) is the same opaque [`Error::Crypto`].
    pub fn aes256gcm_open(
        &self,
        key: &Aes256GcmKey,
        nonce: &[u8; AES_256_GCM_NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<SecretBytes> {
        if sealed.len() < AES_256_GCM_TAG_LEN {
            return Err(Error::Crypto);
        }
        let mut plain = sealed.to_vec();
        match cipher(key).decrypt_in_place(&(*nonce).into(), aad, &mut plain) {
            Ok(()) => Ok(SecretBytes::new(plain)),
            Err(_) => {
                // The tag is checked before decryption, so `plain` holds no plaintext; wiped anyway.
                plain.zeroize();
                Err(Error::Crypto)
            }
        }
    }
}

fn cipher(key: &Aes256GcmKey) -> Aes256Gcm {
    Aes256Gcm::new(&key.0.into())
}
