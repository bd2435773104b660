//! Exports that only the binding test suites call (feature `ffi-testing`, off in app builds).

use std::sync::Arc;

use rukasec_core::TlsFailure;
use rukasec_core::signing::{RequestSigner as _, SoftwareKey};
use rukasec_core::tls::test_server::{TestPki, TestServer, TestServerOptions, pin_of};

use crate::guard::guard_with;
use crate::{
    CredentialError, HttpHeader, HttpRequest, OtpError, RukaSecError, SignatureError, TlsError,
    VaultError, guard,
};

/// Writes `message` as a log line at `level` through the core's `tracing` subscriber (target
/// `rukasec_ffi::testing`), so the logger tests can put canary text into a line and see it
/// redacted on the way out.
#[uniffi::export]
pub fn ffi_testing_log(level: crate::LogLevel, message: String) -> Result<(), RukaSecError> {
    guard(|| {
        match level {
            crate::LogLevel::Error => tracing::error!("{message}"),
            crate::LogLevel::Warn => tracing::warn!("{message}"),
            crate::LogLevel::Info => tracing::info!("{message}"),
            crate::LogLevel::Debug => tracing::debug!("{message}"),
            crate::LogLevel::Trace => tracing::trace!("{message}"),
        }
        Ok::<_, RukaSecError>(())
    })
}

/// Panics inside a fallible call, to prove the app receives `RukaSecError::Internal`.
#[uniffi::export]
pub fn ffi_testing_panic() -> Result<(), RukaSecError> {
    guard(|| -> Result<(), RukaSecError> {
        #[allow(clippy::panic)]
        {
            panic!("deliberate panic for the binding tests") // invariant: test-only export
        }
    })
}

/// Panics inside a call whose errors are `TlsError`: the app receives `TlsError::Internal`.
#[uniffi::export]
pub fn ffi_testing_panic_in_tls_call() -> Result<(), TlsError> {
    guard_with(|| -> Result<(), TlsError> {
        #[allow(clippy::panic)]
        {
            panic!("deliberate panic for the binding tests") // invariant: test-only export
        }
    })
}

/// Panics inside a call whose errors are `VaultError`: the app receives `VaultError::Internal`.
#[uniffi::export]
pub fn ffi_testing_panic_in_vault_call() -> Result<(), VaultError> {
    guard_with(|| -> Result<(), VaultError> {
        #[allow(clippy::panic)]
        {
            panic!("deliberate panic for the binding tests") // invariant: test-only export
        }
    })
}

/// Panics inside a call whose errors are `SignatureError`: the app receives
/// `SignatureError::Internal`.
#[uniffi::export]
pub fn ffi_testing_panic_in_signature_call() -> Result<(), SignatureError> {
    guard_with(|| -> Result<(), SignatureError> {
        #[allow(clippy::panic)]
        {
            panic!("deliberate panic for the binding tests") // invariant: test-only export
        }
    })
}

/// Panics inside a call whose errors are `OtpError`: the app receives `OtpError::Internal`.
#[uniffi::export]
pub fn ffi_testing_panic_in_otp_call() -> Result<(), OtpError> {
    guard_with(|| -> Result<(), OtpError> {
        #[allow(clippy::panic)]
        {
            panic!("deliberate panic for the binding tests") // invariant: test-only export
        }
    })
}

/// Panics inside a call whose errors are `CredentialError`: the app receives
/// `CredentialError::Internal`.
#[uniffi::export]
pub fn ffi_testing_panic_in_credential_call() -> Result<(), CredentialError> {
    guard_with(|| -> Result<(), CredentialError> {
        #[allow(clippy::panic)]
        {
            panic!("deliberate panic for the binding tests") // invariant: test-only export
        }
    })
}

/// The error making or checking a code gives once the process-wide self-test has failed,
/// through the real mapping: `OtpError::CryptoUnavailable`. (OTP uses the process-wide crypto
/// gate, which `RukaSec.ffiTestingWithFailedSelfTest` does not touch, and failing it would
/// shut crypto off for every other test in the process.)
#[uniffi::export]
pub fn ffi_testing_otp_after_failed_self_test() -> Result<(), OtpError> {
    Err(OtpError::from(rukasec_core::Error::CryptoUnavailable))
}

/// The error a credential call gives once the process-wide self-test has failed (the vault's
/// calls check the gate), through the real mapping: `CredentialError::CryptoUnavailable`.
/// (Failing the real gate would shut crypto off for every other test in the process.)
#[uniffi::export]
pub fn ffi_testing_credentials_after_failed_self_test() -> Result<(), CredentialError> {
    Err(CredentialError::from(
        rukasec_core::Error::CryptoUnavailable,
    ))
}

/// The error a platform verifier's revocation check gives (Android's and Apple's check OCSP
/// and CRLs; the Linux verifier the host tests run on checks none), through the real mapping:
/// `TlsError::RevokedCertificate`.
#[uniffi::export]
pub fn ffi_testing_revoked_certificate() -> Result<(), TlsError> {
    Err(TlsError::from(rukasec_core::Error::Tls {
        failure: TlsFailure::RevokedCertificate,
        reason: "the certificate of pay.rukapay.test is revoked".to_owned(),
    }))
}

/// The error signing gives once the process-wide self-test has failed, through the real
/// mapping: `SignatureError::CryptoUnavailable`. (Failing the real gate would shut crypto off
/// for every other test in the process.)
#[uniffi::export]
pub fn ffi_testing_signing_after_failed_self_test() -> Result<(), SignatureError> {
    Err(SignatureError::from(rukasec_core::Error::CryptoUnavailable))
}

/// What a [`TestTlsServer`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TestServerKind {
    /// TLS 1.3 and 1.2, a valid chain.
    Normal,
    /// TLS 1.2 only.
    Tls12Only,
    /// A leaf that expired in 2021.
    ExpiredLeaf,
    /// TLS 1.2 only, demanding a client certificate the client does not have: the server
    /// aborts the handshake.
    ClientCertificateRequired,
}

/// A local HTTPS server on `127.0.0.1` with its own generated root, intermediate and leaf (for
/// `pay.rukapay.test`), so the binding tests can make real pinned requests. Stops when
/// destroyed (`close()` in Kotlin, the last reference in Swift).
#[derive(uniffi::Object)]
pub struct TestTlsServer {
    server: TestServer,
    host: String,
    root_der: Vec<u8>,
    leaf_pin: String,
    intermediate_pin: String,
    root_pin: String,
}

#[uniffi::export]
impl TestTlsServer {
    /// Generates a PKI and starts a server on a free port; `tls12_only` serves TLS 1.2 only.
    #[uniffi::constructor]
    pub fn start(tls12_only: bool) -> Result<Arc<Self>, RukaSecError> {
        Self::start_kind(if tls12_only {
            TestServerKind::Tls12Only
        } else {
            TestServerKind::Normal
        })
    }

    /// Generates a PKI and starts a server of `kind` on a free port.
    #[uniffi::constructor]
    pub fn start_kind(kind: TestServerKind) -> Result<Arc<Self>, RukaSecError> {
        guard(|| {
            let pki = TestPki::new()?;
            let options = TestServerOptions {
                tls12_only: matches!(
                    kind,
                    TestServerKind::Tls12Only | TestServerKind::ClientCertificateRequired
                ),
                expired: kind == TestServerKind::ExpiredLeaf,
                client_auth: kind == TestServerKind::ClientCertificateRequired,
                ..TestServerOptions::default()
            };
            let host = options.hosts.first().cloned().unwrap_or_default();
            let server = TestServer::start(&pki, options)?;
            let chain = server.chain_der();
            let pin = |der: Option<&Vec<u8>>| {
                pin_of(der.map_or(&[][..], Vec::as_slice)).map(|pin| pin.to_string())
            };
            Ok::<_, rukasec_core::Error>(Arc::new(Self {
                host,
                leaf_pin: pin(chain.first())?,
                intermediate_pin: pin(chain.get(1))?,
                root_pin: pin(Some(&pki.root_der()))?,
                root_der: pki.root_der(),
                server,
            }))
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> i32 {
        i32::from(self.server.addr().port())
    }

    /// `127.0.0.1:PORT`, for `HttpsClientOptions.resolve`.
    pub fn address(&self) -> String {
        self.server.addr().to_string()
    }

    /// The host name its leaf is for: `pay.rukapay.test`.
    pub fn host(&self) -> String {
        self.host.clone()
    }

    /// The test root, DER (the client's extra trust anchor).
    pub fn root_der(&self) -> Vec<u8> {
        self.root_der.clone()
    }

    /// The chain it sends, leaf first, DER.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        self.server.chain_der()
    }

    /// The leaf's SPKI pin.
    pub fn leaf_pin(&self) -> String {
        self.leaf_pin.clone()
    }

    /// The intermediate's SPKI pin.
    pub fn intermediate_pin(&self) -> String {
        self.intermediate_pin.clone()
    }

    /// The root's SPKI pin.
    pub fn root_pin(&self) -> String {
        self.root_pin.clone()
    }

    /// `https://pay.rukapay.test:PORT/<path>` (one leading `/` of `path` is dropped).
    pub fn url(&self, path: String) -> String {
        let path = path.strip_prefix('/').unwrap_or(&path);
        format!("https://{}:{}/{path}", self.host, self.port())
    }

    /// The last request it received, as a request record with its full `https://` URL (so a
    /// `SignatureVerifier` can check what arrived); `null`/`nil` before the first.
    pub fn last_request(&self) -> Option<HttpRequest> {
        self.server.requests().pop().map(|seen| HttpRequest {
            url: format!("https://{}:{}{}", self.host, self.port(), seen.target),
            method: seen.method,
            headers: seen
                .headers
                .into_iter()
                .map(|(name, value)| HttpHeader { name, value })
                .collect(),
            body: seen.body,
        })
    }

    /// Requests it has received (handshakes refused by the client do not count).
    pub fn request_count(&self) -> i32 {
        i32::try_from(self.server.requests().len()).unwrap_or(i32::MAX)
    }
}

/// A software P-256 key with the calls a platform keystore offers, for binding tests on hosts
/// without one (Swift on Linux has no CryptoKit): a Swift or Kotlin `PlatformSigner` delegates
/// to it.
#[derive(uniffi::Object)]
pub struct TestSoftwareSigner(SoftwareKey);

#[uniffi::export]
impl TestSoftwareSigner {
    /// A new random key.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<Self>, SignatureError> {
        guard_with(|| SoftwareKey::generate().map(|key| Arc::new(Self(key))))
    }

    /// The public key, SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> Vec<u8> {
        self.0.public_key().spki_der
    }

    /// The public key, uncompressed SEC1.
    pub fn sec1(&self) -> Vec<u8> {
        self.0.public_key().sec1
    }

    /// An ECDSA P-256 SHA-256 signature of `message`, raw `r‖s` (64 bytes).
    pub fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, SignatureError> {
        guard_with(|| self.0.sign_p1363(&message).map(Vec::from))
    }
}
