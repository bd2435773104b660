//! Reading X.509 certificates (PEM bundles or DER) far enough to name and pin them.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::SpkiPin;
use crate::crypto::Crypto;
use crate::error::{Error, Result};

/// What `rukasec pin` shows of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The SPKI SHA-256 pin.
    pub pin: SpkiPin,
    /// The subject's distinguished name, RFC 4514 style (`CN=..., O=...`).
    pub subject: String,
    /// The certificate, DER-encoded.
    pub der: Vec<u8>,
}

/// Every certificate in `input`: a PEM text with one or more `CERTIFICATE` blocks (other blocks
/// are skipped), or one DER certificate.
///
/// # Errors
/// [`Error::InvalidInput`] for malformed PEM, a PEM text without certificates, or bytes that are
/// not a certificate.
pub fn parse_certificates(crypto: &Crypto, input: &[u8]) -> Result<Vec<CertificateSummary>> {
    if looks_like_pem(input) {
        let ders = CertificateDer::pem_slice_iter(input)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| Error::invalid_input("malformed PEM"))?;
        if ders.is_empty() {
            return Err(Error::invalid_input("no CERTIFICATE block in the PEM text"));
        }
        ders.iter()
            .map(|der| CertificateSummary::from_der(crypto, der))
            .collect()
    } else {
        Ok(vec![CertificateSummary::from_der(crypto, input)?])
    }
}

fn looks_like_pem(input: &[u8]) -> bool {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    input[start..].starts_with(b"-----BEGIN ")
}

impl CertificateSummary {
    /// Reads exactly one DER-encoded certificate.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for PEM text, bytes that are not a certificate, or bytes after it.
    pub fn from_der(crypto: &Crypto, der: &[u8]) -> Result<Self> {
        if looks_like_pem(der) {
            return Err(Error::invalid_input(
                "expected a DER certificate, got PEM text",
            ));
        }
        let (rest, certificate) = X509Certificate::from_der(der)
            .map_err(|_| Error::invalid_input("not a DER-encoded X.509 certificate"))?;
        if !rest.is_empty() {
            return Err(Error::invalid_input(
                "bytes after the end of the certificate",
            ));
        }
        Ok(Self {
            pin: SpkiPin::of_spki(crypto, certificate.tbs_certificate.subject_pki.raw),
            subject: certificate.subject().to_string(),
            der: der.to_vec(),
        })
    }
}
