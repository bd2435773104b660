//! ECDSA P-256 with SHA-256: verification of IEEE P1363 (`r‖s`) signatures.
//!
//! P1363 is the form RFC 9421 (`ecdsa-p256-sha256`), JWS (ES256) and DPoP use. Signing lives
//! with the device key in `signing/`; the self-test and verifiers only need this.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};

use super::Crypto;
use crate::error::{Error, Result};

/// Length of a P1363 P-256 signature (`r‖s`, 32 bytes each).
const P1363_SIGNATURE_LEN: usize = 64;

impl Crypto {
    /// Verifies a P1363 signature over `message` with a SEC1-encoded P-256 public key.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the public key is not a valid SEC1 P-256 point;
    /// [`Error::Crypto`] when the signature is malformed or does not verify.
    pub fn p256_sha256_verify(
        &self,
        public_key_sec1: &[u8],
        message: &[u8],
        signature_p1363: &[u8],
    ) -> Result<()> {
        let key = VerifyingKey::from_sec1_bytes(public_key_sec1)
            .map_err(|_| Error::invalid_input("not a SEC1-encoded P-256 public key"))?;
        if signature_p1363.len() != P1363_SIGNATURE_LEN {
            return Err(Error::Crypto);
        }
        let signature = Signature::from_slice(signature_p1363).map_err(|_| Error::Crypto)?;
        key.verify(message, &signature).map_err(|_| Error::Crypto)
    }
}
