//! The rustls certificate verifier: the platform's verdict first, then the pin policy.
//!
//! Normal verification is the platform's (rustls-platform-verifier: Android's
//! `X509TrustManager`, Apple's `SecTrust`, webpki with the system roots elsewhere), so user-
//! and MDM-installed trust, revocation and Certificate Transparency policy stay the platform's.
//! The pins run only on a chain the platform accepted, which means a pin can narrow trust but
//! never widen it: a pinned self-signed certificate is still refused.
//!
//! Extra trust anchors (tests, private PKI) join the platform's roots where the platform
//! verifier allows it; on Android, where it does not, a chain the platform refuses as
//! untrusted is tried against the extra anchors alone with webpki.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use super::checker::PinChecker;
use crate::crypto::Crypto;
use crate::error::{Error, Result, TlsFailure};
use crate::events::{EventBus, SecurityEvent, SecurityEventKind};

/// A pin mismatch, carried through rustls and the HTTP stack to the client's error mapping.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct PinMismatchError(pub(crate) String);

/// Crypto was refused (failed self-test) during a handshake.
#[derive(Debug, thiserror::Error)]
#[error("crypto unavailable")]
pub(crate) struct CryptoRefusedError;

/// The platform's verifier, plus on Android the extra anchors' own verifier.
pub(crate) struct PlatformTrust {
    platform: Arc<dyn ServerCertVerifier>,
    /// Android only: the extra anchors, tried when the platform does not know the issuer.
    extra: Option<Arc<dyn ServerCertVerifier>>,
}

impl PlatformTrust {
    pub(crate) fn new(provider: Arc<CryptoProvider>, extra_roots: &[Vec<u8>]) -> Result<Self> {
        let roots = extra_roots
            .iter()
            .map(|der| CertificateDer::from(der.clone()));
        let (platform, extra) = platform_verifier(provider, roots)?;
        Ok(Self { platform, extra })
    }

    /// The platform's verdict on a chain for `server_name`.
    fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let verdict = self.platform.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match (&verdict, &self.extra) {
            (
                Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
                Some(extra),
            ) => extra
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map(|_| ()),
            _ => verdict.map(|_| ()),
        }
    }
}

/// What happens after the platform's verdict: the pin check, or (for `pin --connect`) only
/// recording the chain.
pub(crate) trait AfterPlatform: Send + Sync {
    /// The final verdict, given the platform's.
    fn decide(
        &self,
        platform: Result<(), rustls::Error>,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error>;
}

/// A rustls verifier: the platform's verdict, then `after`. Handshake signatures are the
/// platform verifier's to check.
pub(crate) struct TrustVerifier<A> {
    trust: PlatformTrust,
    after: A,
}

impl<A> TrustVerifier<A> {
    pub(crate) fn new(trust: PlatformTrust, after: A) -> Self {
        Self { trust, after }
    }

    pub(crate) fn after(&self) -> &A {
        &self.after
    }
}

impl<A> std::fmt::Debug for TrustVerifier<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustVerifier")
            .field("extra_anchors", &self.trust.extra.is_some())
            .finish_non_exhaustive()
    }
}

/// Pins after the platform: the client's verifier.
pub(crate) struct Pins {
    checker: Arc<PinChecker>,
    events: Arc<EventBus>,
}

/// The client's verifier: platform verification, then pins.
pub(crate) type PinningVerifier = TrustVerifier<Pins>;

impl PinningVerifier {
    pub(crate) fn pinning(
        provider: Arc<CryptoProvider>,
        extra_roots: &[Vec<u8>],
        checker: Arc<PinChecker>,
        events: Arc<EventBus>,
    ) -> Result<Self> {
        Ok(Self::new(
            PlatformTrust::new(provider, extra_roots)?,
            Pins { checker, events },
        ))
    }
}

impl AfterPlatform for Pins {
    fn decide(
        &self,
        platform: Result<(), rustls::Error>,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let host = server_name.to_str();
        if let Err(error) = platform {
            self.events.emit(
                SecurityEvent::new(SecurityEventKind::TlsVerificationFailed)
                    .with_detail("host", host.as_ref())
                    .with_detail("failure", classify(&error).as_str()),
            );
            return Err(error);
        }
        let crypto = Crypto::get().map_err(|_| other(CryptoRefusedError))?;
        let intermediates: Vec<&[u8]> = intermediates.iter().map(|c| c.as_ref()).collect();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_secs());
        match self
            .checker
            .check(&crypto, &host, end_entity, &intermediates, now)
        {
            Ok(_) => Ok(()),
            Err(error) => Err(other(PinMismatchError(error.reason()))),
        }
    }
}

/// The platform verifier, and on Android the extra anchors' own verifier.
pub(crate) type Verifiers = (
    Arc<dyn ServerCertVerifier>,
    Option<Arc<dyn ServerCertVerifier>>,
);

#[cfg(not(target_os = "android"))]
fn platform_verifier(
    provider: Arc<CryptoProvider>,
    roots: impl Iterator<Item = CertificateDer<'static>>,
) -> Result<Verifiers> {
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider)
        .map_err(|_| {
            Error::invalid_input(
                "the trust anchors could not be loaded (platform roots or extra roots)",
            )
        })?;
    Ok((Arc::new(verifier), None))
}

#[cfg(target_os = "android")]
fn platform_verifier(
    provider: Arc<CryptoProvider>,
    roots: impl Iterator<Item = CertificateDer<'static>>,
) -> Result<Verifiers> {
    let platform = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
        .map_err(|_| Error::invalid_input("the platform verifier is not initialised"))?;
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root).map_err(|_| {
            Error::invalid_input("an extra trust anchor is not a usable CA certificate")
        })?;
    }
    let extra: Option<Arc<dyn ServerCertVerifier>> = if store.is_empty() {
        None
    } else {
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
                .build()
                .map_err(|_| Error::invalid_input("the extra trust anchors are unusable"))?;
        Some(verifier)
    };
    Ok((Arc::new(platform), extra))
}

impl<A: AfterPlatform> ServerCertVerifier for TrustVerifier<A> {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let platform =
            self.trust
                .verify(end_entity, intermediates, server_name, ocsp_response, now);
        self.after
            .decide(platform, end_entity, intermediates, server_name, now)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.trust
            .platform
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.trust
            .platform
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.trust.platform.supported_verify_schemes()
    }
}

fn other(error: impl std::error::Error + Send + Sync + 'static) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(error))))
}

/// The cause of a rustls error, as the client and events name it.
pub(crate) fn classify(error: &rustls::Error) -> TlsFailure {
    use rustls::{AlertDescription, PeerIncompatible};
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::Other(OtherError(inner)) if inner.is::<PinMismatchError>() => {
                TlsFailure::PinMismatch
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsFailure::HostnameMismatch
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => TlsFailure::ExpiredCertificate,
            CertificateError::Revoked => TlsFailure::RevokedCertificate,
            _ => TlsFailure::UntrustedCertificate,
        },
        rustls::Error::AlertReceived(AlertDescription::ProtocolVersion)
        | rustls::Error::PeerIncompatible(
            PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled
            | PeerIncompatible::Tls13RequiredForQuic
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::ServerDoesNotSupportTls12Or13,
        ) => TlsFailure::ProtocolVersion,
        _ => TlsFailure::Handshake,
    }
}
