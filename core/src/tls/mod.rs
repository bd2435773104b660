//! TLS: certificate pinning inside rustls, the HTTPS-only client, and signed pin-policy updates.
//!
//! A pin is the SHA-256 of a certificate's SubjectPublicKeyInfo (RFC 7469 style), written
//! `sha256/<base64>`. Pinning the key rather than the certificate survives re-issuance with the
//! same key, and the backup pin of a pin set names a key kept offline for the day the main one
//! must be replaced.

mod cancellation;
mod certificate;
mod chain;
mod checker;
mod client;
mod config;
mod hsts;
mod pin;
mod policy;
mod probe;
/// Redacted `Debug` for HTTP messages: requests and responses carry bearer tokens, cookies,
/// DPoP proofs, signatures and bodies, and a `{:?}` in a log line or a panic message must not
/// copy them out. (Defined in a neutral module below `tls/` and `monitor/`, which both use it.)
pub mod redact {
    pub use crate::redact::{
        RedactedBody, RedactedHeader, RedactedHeaders, RedactedUrl, is_sensitive_header,
    };
}
mod report;
mod signed_policy;
#[cfg(feature = "test-server")]
pub mod test_server;
mod verifier;

pub use crate::host_pattern::HostPattern;
pub use cancellation::Cancellation;
pub use certificate::{CertificateSummary, parse_certificates};
pub use checker::{PinChecker, PinOutcome, normalise_host};
pub use client::{ClientOptions, HttpRequest, HttpResponse, HttpsClient};
pub use config::TlsOptions;

pub use pin::{SpkiPin, spki_sha256_pin};
pub use policy::{DomainPolicy, PinPolicy, PinPolicyBuilder, PinVerdict};
pub use probe::{ChainProbe, probe_chain};
pub use report::ReportContext;
pub use signed_policy::{
    FilePolicyStore, PolicyStore, PolicyUpdater, SignedPolicy, SignedPolicyVerifier,
    VaultPolicyStore,
};
