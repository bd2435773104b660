//! SPKI SHA-256 pins.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::crypto::{Crypto, SHA256_LEN};
use crate::error::{Error, Result};

const PREFIX: &str = "sha256/";

/// The SHA-256 of a SubjectPublicKeyInfo, shown as `sha256/<base64>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpkiPin([u8; SHA256_LEN]);

impl SpkiPin {
    /// The pin of a DER-encoded SubjectPublicKeyInfo.
    pub fn of_spki(crypto: &Crypto, spki_der: &[u8]) -> Self {
        Self(crypto.sha256(spki_der))
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; SHA256_LEN] {
        &self.0
    }
}

impl fmt::Display for SpkiPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", STANDARD.encode(self.0))
    }
}

impl FromStr for SpkiPin {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let encoded = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| Error::invalid_input("a pin starts with \"sha256/\""))?;
        let digest = STANDARD
            .decode(encoded)
            .map_err(|_| Error::invalid_input("a pin's digest is standard base64"))?;
        let digest: [u8; SHA256_LEN] = digest
            .try_into()
            .map_err(|_| Error::invalid_input("a pin's digest is 32 bytes"))?;
        Ok(Self(digest))
    }
}

/// The SPKI SHA-256 pin of a DER-encoded X.509 certificate (any key type).
///
/// # Errors
/// [`Error::CryptoUnavailable`] when the self-test failed; [`Error::InvalidInput`] when
/// `cert_der` is not exactly one DER certificate.
pub fn spki_sha256_pin(cert_der: &[u8]) -> Result<SpkiPin> {
    let crypto = Crypto::get()?;
    super::CertificateSummary::from_der(&crypto, cert_der).map(|summary| summary.pin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let crypto = Crypto::get().unwrap();
        let pin = SpkiPin::of_spki(&crypto, b"not really an SPKI");
        let text = pin.to_string();
        assert!(text.starts_with("sha256/"));
        assert_eq!(text.len(), "sha256/".len() + 44);
        assert_eq!(text.parse::<SpkiPin>().unwrap(), pin);
    }

    #[test]
    fn parse_rejects_malformed_pins() {
        for bad in [
            "",
            "sha256/",
            "sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "sha256/not base64!",
            "sha256/AAAA",
            "SHA256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ] {
            assert!(bad.parse::<SpkiPin>().is_err(), "{bad}");
        }
        // SHA-256 of the empty string, a well-formed pin.
        assert!(
            "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
                .parse::<SpkiPin>()
                .is_ok()
        );
    }
}
