//! TLS: certificate pinning (and, with later work, the pin policy engine inside rustls and the
//! HTTPS-only client).
//!
//! A pin is the SHA-256 of a certificate's SubjectPublicKeyInfo (RFC 7469 style), written
//! `sha256/<base64>`. Pinning the key rather than the certificate survives re-issuance with the
//! same key, and the backup pin of a pin set names a key kept offline for the day the main one
//! must be replaced.

mod certificate;
mod pin;

pub use certificate::{CertificateSummary, parse_certificates};
pub use pin::{SpkiPin, spki_sha256_pin};
