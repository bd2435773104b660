//! Certificate pins, pin policies, the pin checker for other TLS stacks, signed policy updates,
//! and the TLS area's error enum.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rukasec_core::tls as core;
use rukasec_core::{Error, TlsFailure};

use crate::guard::guard_with;
use crate::{RukaSecError, Vault, guard};

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

/// What can go wrong in a TLS, HTTPS or pin-policy call. Kotlin sees `TlsException`, Swift a
/// thrown `TlsError`. One case per cause of refusal, plus the core's generic ones. `reason` holds
/// fixed text and host names, never request or response content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TlsError {
    /// The verified chain matched none of the host's enforced pins (a `PinMismatch` event).
    #[error("pin-mismatch: {reason}")]
    PinMismatch {
        /// The host and the pattern whose pins did not match.
        reason: String,
    },
    /// The chain does not lead to a trusted root (unknown issuer, bad signature, not a CA).
    #[error("untrusted-certificate: {reason}")]
    UntrustedCertificate {
        /// What the verifier said.
        reason: String,
    },
    /// The certificate is not valid for the host name.
    #[error("hostname-mismatch: {reason}")]
    HostnameMismatch {
        /// What the verifier said.
        reason: String,
    },
    /// A certificate of the chain has expired or is not yet valid.
    #[error("expired-certificate: {reason}")]
    ExpiredCertificate {
        /// What the verifier said.
        reason: String,
    },
    /// A certificate of the chain is revoked.
    #[error("revoked-certificate: {reason}")]
    RevokedCertificate {
        /// What the verifier said.
        reason: String,
    },
    /// The server offered no protocol version the client accepts (TLS 1.3 only by default).
    #[error("protocol-version: {reason}")]
    ProtocolVersion {
        /// What the handshake said.
        reason: String,
    },
    /// The URL is not `https://`; no connection was made.
    #[error("insecure-scheme: {reason}")]
    InsecureScheme {
        /// The scheme refused, and whether the host sent HSTS.
        reason: String,
    },
    /// The TLS handshake failed for another reason (alert, no shared cipher suite).
    #[error("handshake: {reason}")]
    Handshake {
        /// What the handshake said.
        reason: String,
    },
    /// The connection could not be made (name resolution, refused, reset).
    #[error("connection: {reason}")]
    Connection {
        /// The host.
        reason: String,
    },
    /// The request did not complete in time.
    #[error("timeout: {reason}")]
    Timeout {
        /// The host.
        reason: String,
    },
    /// More redirects than allowed, or a redirect that is not `https://`.
    #[error("redirect: {reason}")]
    Redirect {
        /// Which of the two, and the host.
        reason: String,
    },
    /// The response body is larger than the client's limit.
    #[error("response-too-large: {reason}")]
    ResponseTooLarge {
        /// The limit.
        reason: String,
    },
    /// The server's HTTP was malformed.
    #[error("protocol: {reason}")]
    Protocol {
        /// The host.
        reason: String,
    },
    /// A signed pin-policy document failed signature verification (a `PinPolicyRejected`
    /// event).
    #[error("policy-signature: {reason}")]
    PolicySignature {
        /// A fixed explanation.
        reason: String,
    },
    /// A signed pin-policy document has a lower version than the installed one, or the same
    /// version with other content (a `PinPolicyRejected` event).
    #[error("policy-rollback: {reason}")]
    PolicyRollback {
        /// The versions.
        reason: String,
    },
    /// A signed pin-policy document has expired (a `PinPolicyRejected` event).
    #[error("policy-expired: {reason}")]
    PolicyExpired {
        /// A fixed explanation.
        reason: String,
    },
    /// The call was cancelled through its `Cancellation` (`HttpsClient.sendCancellable`) before
    /// it completed: nothing more was sent or read, the connection was closed. The Swift glue
    /// turns it into `CancellationError`.
    #[error("cancelled: {reason}")]
    Cancelled {
        /// A fixed explanation.
        reason: String,
    },
    /// `HttpsClient.sendSigned` could not sign the request (the device key failed, a covered
    /// header is missing, a bad component identifier); nothing was sent.
    #[error("signing: {reason}")]
    Signing {
        /// The signing failure's kind and reason (`signer-failed: ...`).
        reason: String,
    },
    /// `HttpsClient.sendWithCredential`: no credential has this id in the store (never
    /// stored, or revoked); nothing was sent.
    #[error("credential-not-found: {reason}")]
    CredentialNotFound {
        /// A fixed explanation.
        reason: String,
    },
    /// `HttpsClient.sendWithCredential`: the request's host matches none of the credential's
    /// host patterns (an IP address never does); nothing was sent.
    #[error("credential-host-mismatch: {reason}")]
    CredentialHostMismatch {
        /// A fixed explanation.
        reason: String,
    },
    /// `HttpsClient.sendWithCredential`: the credential's environment is not the one declared
    /// for the request's host (a sandbox key for a production host or the other way round, or
    /// an undeclared host); nothing was sent.
    #[error("credential-environment-mismatch: {reason}")]
    CredentialEnvironmentMismatch {
        /// The two environments.
        reason: String,
    },
    /// `HttpsClient.sendWithCredential`: the credential's vault needs the user and the unlock
    /// did not succeed (cancelled, failed, locked out, no method can prompt, the keystore key
    /// invalidated); nothing was sent.
    #[error("credential-locked: {reason}")]
    CredentialLocked {
        /// The unlock's cause (`the user cancelled authentication`, `authentication is locked
        /// out until ...`).
        reason: String,
    },
    /// `HttpsClient.sendWithCredential` in `Fail` mode: the credential's client-side bucket is
    /// empty, or the server paused it (429 / 503 with `Retry-After`); nothing was sent.
    #[error("rate-limited: {reason}")]
    RateLimited {
        /// The wait, in words.
        reason: String,
        /// How long until a request with this credential can go out, in milliseconds (> 0).
        retry_after_ms: i64,
    },
    /// The input could not be used: a malformed pin, pattern, policy (an enforced pin set needs
    /// a backup pin), URL, header, certificate or signed document.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What was wrong (never the content).
        reason: String,
    },
    /// The crypto self-test failed: TLS is refused.
    #[error("crypto unavailable: {reason}")]
    CryptoUnavailable {
        /// A fixed explanation.
        reason: String,
    },
    /// The policy store (file or vault), or the vault holding a credential, failed: disk,
    /// database, keystore or integrity.
    #[error("storage failed: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// A bug in RukaSec (including a caught Rust panic); `reason` says which.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

impl From<Error> for TlsError {
    fn from(error: Error) -> Self {
        let reason = error.reason();
        match error {
            Error::Tls { failure, .. } => match failure {
                TlsFailure::PinMismatch => Self::PinMismatch { reason },
                TlsFailure::UntrustedCertificate => Self::UntrustedCertificate { reason },
                TlsFailure::HostnameMismatch => Self::HostnameMismatch { reason },
                TlsFailure::ExpiredCertificate => Self::ExpiredCertificate { reason },
                TlsFailure::RevokedCertificate => Self::RevokedCertificate { reason },
                TlsFailure::ProtocolVersion => Self::ProtocolVersion { reason },
                TlsFailure::InsecureScheme => Self::InsecureScheme { reason },
                TlsFailure::Handshake => Self::Handshake { reason },
                TlsFailure::Connection => Self::Connection { reason },
                TlsFailure::Timeout => Self::Timeout { reason },
                TlsFailure::Redirect => Self::Redirect { reason },
                TlsFailure::ResponseTooLarge => Self::ResponseTooLarge { reason },
                TlsFailure::Protocol => Self::Protocol { reason },
                TlsFailure::PolicySignature => Self::PolicySignature { reason },
                TlsFailure::PolicyRollback => Self::PolicyRollback { reason },
                TlsFailure::PolicyExpired => Self::PolicyExpired { reason },
                TlsFailure::Cancelled => Self::Cancelled { reason },
                // A cause this version of the bindings does not know: the core's text names it.
                _ => Self::Internal {
                    reason: error.to_string(),
                },
            },
            // A device key's prompt (`sendSignedAuthenticated`) ended without a signature.
            Error::Signature { .. }
            | Error::UserCancelled
            | Error::AuthenticationFailed { .. }
            | Error::LockedOut { .. }
            | Error::KeyInvalidated => Self::Signing {
                reason: error.to_string(),
            },
            Error::CredentialNotFound => Self::CredentialNotFound { reason },
            Error::CredentialHostMismatch => Self::CredentialHostMismatch { reason },
            Error::CredentialEnvironmentMismatch { .. } => {
                Self::CredentialEnvironmentMismatch { reason }
            }
            Error::RateLimited { retry_after } => {
                // Never 0: a wait shorter than a millisecond is reported as one.
                let ms = i64::try_from(retry_after.as_millis())
                    .unwrap_or(i64::MAX)
                    .max(1);
                Self::RateLimited {
                    reason: format!("retry after {ms} ms"),
                    retry_after_ms: ms,
                }
            }
            Error::InvalidInput { .. } => Self::InvalidInput { reason },
            Error::CryptoUnavailable => Self::CryptoUnavailable { reason },
            // The policy store (file or vault) failed; the core's text says how.
            Error::Storage { .. }
            | Error::Integrity
            | Error::KeyUnavailable
            | Error::KeyWrapper { .. }
            | Error::UserAuthenticationRequired => Self::Storage {
                reason: error.to_string(),
            },
            _ => Self::Internal {
                reason: error.to_string(),
            },
        }
    }
}

impl From<RukaSecError> for TlsError {
    fn from(error: RukaSecError) -> Self {
        // Only a caught panic reaches here (see `guard_with`); keep its fixed reason.
        Self::Internal {
            reason: error.to_string(),
        }
    }
}

/// The pins of one host pattern. Kotlin: `DomainPin(pattern = ..., pins = listOf(...))`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DomainPin {
    /// `api.rukapay.com` (exact), `*.rukapay.com` (one label below), `**.rukapay.com` (the name
    /// and any depth below). Patterns on a public suffix are refused.
    pub pattern: String,
    /// With an exact pattern: also every name below it (TrustKit / Network Security Config).
    #[uniffi(default = false)]
    pub include_subdomains: bool,
    /// SPKI pins, `sha256/<base64>`; an enforced set needs at least two (a backup pin).
    pub pins: Vec<String>,
    /// When the pins stop applying, in milliseconds since the Unix epoch (`null`/`nil`: never);
    /// after it only normal certificate verification applies, with a `PinSetExpired` event.
    #[uniffi(default = None)]
    pub expires_unix_ms: Option<i64>,
    /// Whether a mismatch refuses the connection (`false`: report-only, an event and a report).
    #[uniffi(default = true)]
    pub enforce: bool,
    /// Where mismatch reports are POSTed (an `https://` URL), if anywhere.
    #[uniffi(default = None)]
    pub report_uri: Option<String>,
}

impl TryFrom<DomainPin> for core::DomainPolicy {
    type Error = Error;

    fn try_from(domain: DomainPin) -> Result<Self, Error> {
        let pins = domain
            .pins
            .iter()
            .map(|pin| pin.parse::<core::SpkiPin>())
            .collect::<Result<Vec<_>, _>>()?;
        let mut policy = Self::new(&domain.pattern, domain.include_subdomains, pins)?;
        if let Some(ms) = domain.expires_unix_ms {
            let ms = crate::numbers::non_negative(ms, "expiresUnixMs")?;
            let at = UNIX_EPOCH
                .checked_add(Duration::from_millis(ms))
                .ok_or_else(|| Error::InvalidInput {
                    reason: "a pin set's expiry is out of range".to_owned(),
                })?;
            policy = policy.with_expiry(at);
        }
        if !domain.enforce {
            policy = policy.report_only();
        }
        if let Some(uri) = &domain.report_uri {
            policy = policy.with_report_uri(uri)?;
        }
        Ok(policy)
    }
}

impl From<&core::DomainPolicy> for DomainPin {
    fn from(domain: &core::DomainPolicy) -> Self {
        let pattern = domain.pattern().to_string();
        Self {
            include_subdomains: domain.pattern().has_subdomains_flag(),
            pattern,
            pins: domain.pins().iter().map(ToString::to_string).collect(),
            expires_unix_ms: domain.expires().map(unix_ms),
            enforce: domain.is_enforced(),
            report_uri: domain.report_uri().map(str::to_owned),
        }
    }
}

fn unix_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

/// Which pins apply to which hosts. Immutable and validated: an enforced pin set needs two
/// pins, two domains may not cover the same hosts, patterns on public suffixes are refused.
#[derive(uniffi::Object)]
pub struct PinPolicy(pub(crate) core::PinPolicy);

#[uniffi::export]
impl PinPolicy {
    /// A policy of `domains`, in that order (an empty list pins nothing).
    #[uniffi::constructor]
    pub fn new(domains: Vec<DomainPin>) -> Result<Arc<Self>, TlsError> {
        guard_with(|| {
            domains
                .into_iter()
                .map(core::DomainPolicy::try_from)
                .collect::<Result<Vec<_>, _>>()
                .and_then(core::PinPolicy::new)
                .map(|policy| Arc::new(Self(policy)))
        })
    }

    /// A policy from its JSON document (docs/FORMAT.md, "Pin policy document"); strict:
    /// unknown fields are refused.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>, TlsError> {
        guard_with(|| core::PinPolicy::from_json(&json).map(|policy| Arc::new(Self(policy))))
    }

    /// The policy as a JSON document that `fromJson` reads back as the same policy.
    pub fn to_json(&self) -> Result<String, TlsError> {
        guard_with(|| Ok::<_, Error>(self.0.to_json()))
    }

    /// The domains, in order.
    pub fn domains(&self) -> Result<Vec<DomainPin>, TlsError> {
        guard_with(|| Ok::<_, Error>(self.0.domains().iter().map(Into::into).collect()))
    }
}

/// What a pin check found when it did not refuse the chain (a refusal throws
/// `TlsError.PinMismatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PinOutcome {
    /// No domain of the policy covers the host: normal verification only.
    Unpinned,
    /// A certificate of the verified path matches one of the host's pins.
    Matched,
    /// The host's pin set has expired: normal verification only (a `PinSetExpired` event).
    Expired,
    /// No pin matched, but the host's pins are report-only: allowed, with a
    /// `PinMismatchReportOnly` event.
    ReportOnlyMismatch,
}

impl TryFrom<core::PinOutcome> for PinOutcome {
    type Error = Error;

    fn try_from(outcome: core::PinOutcome) -> Result<Self, Error> {
        match outcome {
            core::PinOutcome::Unpinned => Ok(Self::Unpinned),
            core::PinOutcome::Matched => Ok(Self::Matched),
            core::PinOutcome::Expired => Ok(Self::Expired),
            core::PinOutcome::ReportOnlyMismatch => Ok(Self::ReportOnlyMismatch),
            // Never guess "allowed" for an outcome the bindings do not know.
            other => Err(Error::Internal {
                reason: format!("a pin outcome the bindings do not know: {other:?}"),
            }),
        }
    }
}

/// Applies a pin policy to chains that another TLS stack (OkHttp, URLSession) has already
/// verified. Created by `RukaSec.pinChecker` or `HttpsClient.pinChecker`; its events go to that
/// core's listener, and its pin-failure reports are sent in the background like a client's.
#[derive(uniffi::Object)]
pub struct PinChecker(pub(crate) Arc<core::PinChecker>);

impl PinChecker {
    /// A checker of `policy` for `rukasec`.
    pub(crate) fn create(
        rukasec: &rukasec_core::RukaSec,
        policy: &PinPolicy,
        extra_roots_der: Vec<Vec<u8>>,
    ) -> Result<Arc<Self>, TlsError> {
        guard_with(|| {
            rukasec
                .pin_checker(policy.0.clone(), extra_roots_der)
                .map(|checker| Arc::new(Self(Arc::new(checker))))
        })
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl PinChecker {
    /// Checks `chain_der` (DER certificates, leaf first, as the platform verified them) for
    /// `host`. Throws `PinMismatch` when the host's pins are enforced and none matches, and
    /// `InvalidInput` for an empty chain or a leaf that is not a certificate.
    pub fn check_chain(
        &self,
        host: String,
        chain_der: Vec<Vec<u8>>,
    ) -> Result<PinOutcome, TlsError> {
        guard_with(|| {
            self.0
                .check_chain(&host, &chain_der)
                .and_then(PinOutcome::try_from)
        })
    }

    /// Sends the pin-failure reports this checker queued (identical ones at most once a day)
    /// and waits for them; returns how many went out. They are sent in the background anyway:
    /// this is for an app about to stop. `suspend` in Kotlin, `async` in Swift.
    pub async fn flush_reports(&self) -> Result<i32, TlsError> {
        let checker = Arc::clone(&self.0);
        let sent = tokio::task::spawn_blocking(move || {
            guard_with::<_, Error, TlsError>(|| Ok(checker.flush_reports()))
        })
        .await
        .map_err(|_| TlsError::Internal {
            reason: "the report task did not complete".to_owned(),
        })??;
        Ok(crate::numbers::int(sent))
    }
}

/// Installs signed pin-policy documents (JWS, ES256; docs/FORMAT.md, "Signed pin-policy
/// update"): verifies them, refuses rollback and expired documents, keeps the installed one.
/// Created by `RukaSec.policyUpdater` or `RukaSec.policyUpdaterInVault`; its events
/// (`PinPolicyUpdated`, `PinPolicyRejected`) go to that core's listener. Calls block on disk:
/// make them off the main thread.
#[derive(uniffi::Object)]
pub struct PolicyUpdater(core::PolicyUpdater);

impl PolicyUpdater {
    /// An updater of `rukasec` trusting `public_keys` and keeping documents in `store`.
    pub(crate) fn create(
        rukasec: &rukasec_core::RukaSec,
        public_keys: &[Vec<u8>],
        store: Arc<dyn core::PolicyStore>,
    ) -> Result<Arc<Self>, TlsError> {
        guard_with(|| {
            let keys: Vec<&[u8]> = public_keys.iter().map(Vec::as_slice).collect();
            let verifier = core::SignedPolicyVerifier::new(&keys)?;
            rukasec
                .policy_updater(verifier, store)
                .map(|updater| Arc::new(Self(updater)))
        })
    }

    /// [`PolicyUpdater::create`] keeping documents in the file `path`.
    pub(crate) fn in_file(
        rukasec: &rukasec_core::RukaSec,
        public_keys: &[Vec<u8>],
        path: &str,
    ) -> Result<Arc<Self>, TlsError> {
        let store = Arc::new(core::FilePolicyStore::new(Path::new(path)));
        Self::create(rukasec, public_keys, store)
    }

    /// [`PolicyUpdater::create`] keeping documents in `vault` under `account`.
    pub(crate) fn in_vault(
        rukasec: &rukasec_core::RukaSec,
        public_keys: &[Vec<u8>],
        vault: &Vault,
        account: &str,
    ) -> Result<Arc<Self>, TlsError> {
        let store = Arc::new(core::VaultPolicyStore::new(Arc::clone(&vault.0), account));
        Self::create(rukasec, public_keys, store)
    }
}

#[uniffi::export]
impl PolicyUpdater {
    /// Verifies and installs `document` (JWS compact). Returns its policy. Throws
    /// `PolicySignature`, `PolicyExpired`, `PolicyRollback` (a version not above the installed
    /// one), `InvalidInput` (malformed), or `Internal` when the store fails.
    pub fn apply(&self, document: String) -> Result<Arc<PinPolicy>, TlsError> {
        guard_with(|| {
            self.0
                .apply(&document, SystemTime::now())
                .map(|signed| Arc::new(PinPolicy(signed.policy)))
        })
    }

    /// The installed policy, re-verified; `null`/`nil` when there is none, or it has expired or
    /// no longer verifies (with a `PinPolicyRejected` event).
    pub fn installed(&self) -> Result<Option<Arc<PinPolicy>>, TlsError> {
        guard_with(|| {
            self.0
                .installed(SystemTime::now())
                .map(|signed| signed.map(|signed| Arc::new(PinPolicy(signed.policy))))
        })
    }

    /// The version of the installed policy, under the same conditions as `installed`.
    pub fn installed_version(&self) -> Result<Option<i64>, TlsError> {
        guard_with(|| {
            self.0
                .installed(SystemTime::now())
                .map(|signed| signed.map(|signed| crate::numbers::long(signed.version)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN_A: &str = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const PIN_B: &str = "sha256/AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    fn tls(failure: TlsFailure) -> TlsError {
        TlsError::from(Error::Tls {
            failure,
            reason: "r".to_owned(),
        })
    }

    #[test]
    fn every_tls_failure_maps_to_its_variant_with_its_reason() {
        let reason = || "r".to_owned();
        let cases = [
            (
                TlsFailure::PinMismatch,
                TlsError::PinMismatch { reason: reason() },
            ),
            (
                TlsFailure::UntrustedCertificate,
                TlsError::UntrustedCertificate { reason: reason() },
            ),
            (
                TlsFailure::HostnameMismatch,
                TlsError::HostnameMismatch { reason: reason() },
            ),
            (
                TlsFailure::ExpiredCertificate,
                TlsError::ExpiredCertificate { reason: reason() },
            ),
            (
                TlsFailure::RevokedCertificate,
                TlsError::RevokedCertificate { reason: reason() },
            ),
            (
                TlsFailure::ProtocolVersion,
                TlsError::ProtocolVersion { reason: reason() },
            ),
            (
                TlsFailure::InsecureScheme,
                TlsError::InsecureScheme { reason: reason() },
            ),
            (
                TlsFailure::Handshake,
                TlsError::Handshake { reason: reason() },
            ),
            (
                TlsFailure::Connection,
                TlsError::Connection { reason: reason() },
            ),
            (TlsFailure::Timeout, TlsError::Timeout { reason: reason() }),
            (
                TlsFailure::Redirect,
                TlsError::Redirect { reason: reason() },
            ),
            (
                TlsFailure::ResponseTooLarge,
                TlsError::ResponseTooLarge { reason: reason() },
            ),
            (
                TlsFailure::Protocol,
                TlsError::Protocol { reason: reason() },
            ),
            (
                TlsFailure::PolicySignature,
                TlsError::PolicySignature { reason: reason() },
            ),
            (
                TlsFailure::PolicyRollback,
                TlsError::PolicyRollback { reason: reason() },
            ),
            (
                TlsFailure::PolicyExpired,
                TlsError::PolicyExpired { reason: reason() },
            ),
            (
                TlsFailure::Cancelled,
                TlsError::Cancelled { reason: reason() },
            ),
        ];
        for (failure, expected) in cases {
            let mapped = tls(failure);
            // The public message starts with the core's stable name of the cause.
            assert!(mapped.to_string().starts_with(failure.as_str()), "{mapped}");
            assert_eq!(mapped, expected, "{failure:?}");
        }
    }

    #[test]
    fn other_core_errors_map_to_the_generic_variants() {
        assert_eq!(
            TlsError::from(Error::InvalidInput {
                reason: "bad pin".to_owned()
            }),
            TlsError::InvalidInput {
                reason: "bad pin".to_owned()
            }
        );
        assert!(matches!(
            TlsError::from(Error::CryptoUnavailable),
            TlsError::CryptoUnavailable { reason } if reason.contains("self-test")
        ));
        for error in [
            Error::Storage {
                reason: "disk full".to_owned(),
            },
            Error::Integrity,
            Error::KeyUnavailable,
        ] {
            let text = error.to_string();
            assert_eq!(TlsError::from(error), TlsError::Storage { reason: text });
        }
        let bug = Error::Internal {
            reason: "bug".to_owned(),
        };
        let text = bug.to_string();
        assert_eq!(TlsError::from(bug), TlsError::Internal { reason: text });
        let panic = guard_with(|| -> Result<(), Error> {
            #[allow(clippy::panic)]
            {
                panic!("detail 42")
            }
        });
        assert!(matches!(panic, Err(TlsError::Internal { reason }) if !reason.contains("42")));
    }

    #[test]
    fn credential_and_rate_limit_errors_have_their_variants() {
        assert!(matches!(
            TlsError::from(Error::CredentialNotFound),
            TlsError::CredentialNotFound { reason } if !reason.is_empty()
        ));
        assert!(matches!(
            TlsError::from(Error::CredentialHostMismatch),
            TlsError::CredentialHostMismatch { .. }
        ));
        assert!(matches!(
            TlsError::from(Error::CredentialEnvironmentMismatch {
                reason: "e".to_owned()
            }),
            TlsError::CredentialEnvironmentMismatch { reason } if reason == "e"
        ));
        assert_eq!(
            TlsError::from(Error::RateLimited {
                retry_after: std::time::Duration::from_millis(1500)
            }),
            TlsError::RateLimited {
                reason: "retry after 1500 ms".to_owned(),
                retry_after_ms: 1500
            }
        );
        assert!(matches!(
            TlsError::from(Error::RateLimited {
                retry_after: std::time::Duration::from_micros(10)
            }),
            TlsError::RateLimited {
                retry_after_ms: 1,
                ..
            }
        ));
    }

    #[test]
    fn a_domain_pin_round_trips_through_the_core_policy() {
        let domains = vec![
            DomainPin {
                pattern: "api.rukapay.com".to_owned(),
                include_subdomains: true,
                pins: vec![PIN_A.to_owned(), PIN_B.to_owned()],
                expires_unix_ms: Some(1_830_211_200_000),
                enforce: true,
                report_uri: Some("https://reports.rukapay.com/pins".to_owned()),
            },
            DomainPin {
                pattern: "**.rukapay.net".to_owned(),
                include_subdomains: false,
                pins: vec![PIN_A.to_owned()],
                expires_unix_ms: None,
                enforce: false,
                report_uri: None,
            },
        ];
        let policy = PinPolicy::new(domains.clone()).unwrap();
        assert_eq!(policy.domains().unwrap(), domains);
        let again = PinPolicy::from_json(policy.to_json().unwrap()).unwrap();
        assert_eq!(again.domains().unwrap(), domains);
    }

    #[test]
    fn bad_domains_are_invalid_input() {
        let one_pin = DomainPin {
            pattern: "api.rukapay.com".to_owned(),
            include_subdomains: false,
            pins: vec![PIN_A.to_owned()],
            expires_unix_ms: None,
            enforce: true,
            report_uri: None,
        };
        assert!(matches!(
            PinPolicy::new(vec![one_pin.clone()]),
            Err(TlsError::InvalidInput { .. })
        ));
        let bad_pin = DomainPin {
            pins: vec!["sha1/nope".to_owned(), PIN_B.to_owned()],
            ..one_pin.clone()
        };
        assert!(matches!(
            PinPolicy::new(vec![bad_pin]),
            Err(TlsError::InvalidInput { .. })
        ));
        let far_future = DomainPin {
            pins: vec![PIN_A.to_owned(), PIN_B.to_owned()],
            expires_unix_ms: Some(i64::MAX),
            ..one_pin
        };
        assert!(matches!(
            PinPolicy::new(vec![far_future]),
            Err(TlsError::InvalidInput { .. })
        ));
    }

    #[test]
    fn every_pin_outcome_has_a_mirror() {
        for (core_outcome, outcome) in [
            (core::PinOutcome::Unpinned, PinOutcome::Unpinned),
            (core::PinOutcome::Matched, PinOutcome::Matched),
            (core::PinOutcome::Expired, PinOutcome::Expired),
            (
                core::PinOutcome::ReportOnlyMismatch,
                PinOutcome::ReportOnlyMismatch,
            ),
        ] {
            assert_eq!(PinOutcome::try_from(core_outcome), Ok(outcome));
        }
    }
}
