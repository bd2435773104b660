//! Cryptographic primitives, reachable only after the power-on self-test passed.
//!
//! Every primitive is a method of [`Crypto`], a zero-sized capability that only the
//! [`selftest`](crate::selftest) gate hands out. So code cannot encrypt, hash or verify without
//! having asked the gate first, and when the self-test failed the whole core refuses crypto
//! (FIPS 140-3 style error state), not just the paths someone remembered to guard.
//!
//! The primitives are thin wrappers over RustCrypto (`aes-gcm`, `sha2`, `hmac`, `p256`) with the
//! shapes RukaSec needs: AES-256-GCM with 96-bit nonces only, HMAC-SHA256 with constant-time
//! verification, ECDSA P-256/SHA-256 with IEEE P1363 (`r‖s`) signatures, and HMAC-SHA-1 /
//! HMAC-SHA512 for one-time passwords only (`sha1` is a dependency for nothing else).

mod aead;
mod digest;
mod ecdsa;
mod random;

pub use aead::{AES_256_GCM_NONCE_LEN, AES_256_GCM_TAG_LEN, Aes256GcmKey};
pub use digest::{SHA1_LEN, SHA256_LEN, SHA512_LEN};
pub(crate) use ecdsa::der_signature_to_p1363;
pub use ecdsa::{P256_PUBLIC_KEY_LEN, P256_SIGNATURE_LEN, P256SigningKey};

/// Permission to use the cryptographic primitives, proof that the self-test passed.
///
/// Obtain one with [`Crypto::get`]. It is `Copy` and free to pass around.
#[derive(Debug, Clone, Copy)]
pub struct Crypto {
    _gate_passed: (),
}

impl Crypto {
    /// The primitives, if the process-wide self-test passed (it runs on first use).
    ///
    /// # Errors
    /// [`Error::CryptoUnavailable`](crate::Error::CryptoUnavailable) when the self-test failed.
    pub fn get() -> crate::Result<Self> {
        crate::selftest::global_gate().crypto()
    }

    /// Only the self-test itself may use the primitives before it has passed.
    pub(crate) const fn for_self_test() -> Self {
        Self { _gate_passed: () }
    }
}

#[cfg(test)]
mod tests {
    /// Compiles only when `T` wipes its secret state on drop.
    fn assert_zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}

    #[test]
    fn key_schedules_and_mac_states_are_wiped_on_drop() {
        // A compile-time proof: without the crates' `zeroize` features (core/Cargo.toml) these
        // types do not implement `ZeroizeOnDrop` and this test does not build.
        assert_zeroize_on_drop::<aes_gcm::Aes256Gcm>();
        assert_zeroize_on_drop::<aes_gcm::aes::Aes256>();
        // hmac 0.13 declares no marker, but its whole keyed state is two hash cores (the inner
        // and outer pads absorbed), wiped by their own drop with sha2's `zeroize`.
        assert_zeroize_on_drop::<<sha2::Sha256 as hmac::digest::block_api::CoreProxy>::Core>();
        assert_zeroize_on_drop::<<sha2::Sha512 as hmac::digest::block_api::CoreProxy>::Core>();
        assert_zeroize_on_drop::<sha2::Sha256>();
        assert_zeroize_on_drop::<<sha1::Sha1 as hmac::digest::block_api::CoreProxy>::Core>();
        assert_zeroize_on_drop::<p256::ecdsa::SigningKey>();
    }
}
