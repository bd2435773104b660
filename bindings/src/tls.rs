//! Certificate pins.

use rukasec_core::tls as core;

use crate::{RukaSecError, guard};

/// A certificate's subject and SPKI pin.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CertificateSummary {
    /// The SPKI SHA-256 pin, `sha256/<base64>`.
    pub pin: String,
    /// The subject's distinguished name (`CN=..., O=...`).
    pub subject: String,
    /// The certificate, DER-encoded.
    pub der: Vec<u8>,
}

impl From<core::CertificateSummary> for CertificateSummary {
    fn from(summary: core::CertificateSummary) -> Self {
        Self {
            pin: summary.pin.to_string(),
            subject: summary.subject,
            der: summary.der,
        }
    }
}

/// The SPKI SHA-256 pin (`sha256/<base64>`) of a DER-encoded X.509 certificate.
#[uniffi::export]
pub fn spki_sha256_pin(cert_der: Vec<u8>) -> Result<String, RukaSecError> {
    guard(|| core::spki_sha256_pin(&cert_der).map(|pin| pin.to_string()))
}
