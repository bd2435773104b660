//! Randomness from the operating system's CSPRNG (getrandom(2), SecRandomCopyBytes, ...).

use super::Crypto;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

impl Crypto {
    /// `N` random bytes, for nonces and other public values.
    ///
    /// # Errors
    /// [`Error::Internal`] if the OS generator fails (it does not on supported platforms).
    pub fn random_array<const N: usize>(&self) -> Result<[u8; N]> {
        let mut bytes = [0u8; N];
        getrandom::fill(&mut bytes).map_err(|_| Error::Internal {
            reason: "the OS random generator failed".to_owned(),
        })?;
        Ok(bytes)
    }

    /// A new random secret of `len` bytes (keys).
    ///
    /// # Errors
    /// As [`Crypto::random_array`].
    pub fn random_secret(&self, len: usize) -> Result<SecretBytes> {
        let mut bytes = vec![0u8; len];
        getrandom::fill(&mut bytes).map_err(|_| Error::Internal {
            reason: "the OS random generator failed".to_owned(),
        })?;
        Ok(SecretBytes::new(bytes))
    }
}
