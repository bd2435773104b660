//! The app's API credentials (keys and tokens for its API hosts) in the vault, and the
//! credentials area's error enum. The checks are the core's (`rukasec_core::monitor`): which
//! host a credential may go to, which environment a host is in, when a credential is due for
//! rotation. This module only converts.
//!
//! A secret crosses the boundary once, into `put` or `rotate`, as bytes: it is moved at once
//! into the core's wiped-on-drop [`SecretBytes`] (no copy is kept here), and no call hands it
//! back. It leaves only as the header of a request sent by `HttpsClient.sendWithCredential`.

use std::sync::Arc;
use std::time::Duration;

use rukasec_core::Error;
use rukasec_core::monitor as core;
use rukasec_core::secret::SecretBytes;
use rukasec_core::tls::HostPattern;

use crate::guard::guard_with;
use crate::{RukaSecError, Vault, numbers};

/// Seconds in a day: rotation periods cross the boundary in whole days.
const DAY_SECONDS: u64 = 86_400;

/// Which of the app's backends a credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Environment {
    /// Live customers and money.
    Production,
    /// The provider's test environment.
    Sandbox,
    /// Another named environment (`staging`, `uat`): 1 to 64 lowercase ASCII letters, digits,
    /// `-`, `_` and `.`, neither `production` nor `sandbox`.
    Other {
        /// The environment's name.
        name: String,
    },
}

impl From<Environment> for core::Environment {
    fn from(environment: Environment) -> Self {
        match environment {
            Environment::Production => Self::Production,
            Environment::Sandbox => Self::Sandbox,
            Environment::Other { name } => Self::Other(name),
        }
    }
}

impl From<core::Environment> for Environment {
    fn from(environment: core::Environment) -> Self {
        match environment {
            core::Environment::Production => Self::Production,
            core::Environment::Sandbox => Self::Sandbox,
            core::Environment::Other(name) => Self::Other { name },
        }
    }
}

/// How a credential goes into a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum AuthHeader {
    /// `Authorization: Bearer <secret>` (RFC 6750).
    Bearer,
    /// `<name>: <secret>`: a lowercase header name that the client's redaction treats as
    /// sensitive (containing `key`, `token`, `auth`, `secret`, `session` or `password`:
    /// `x-api-key`).
    Named {
        /// The header's name.
        name: String,
    },
}

impl From<AuthHeader> for core::AuthHeader {
    fn from(header: AuthHeader) -> Self {
        match header {
            AuthHeader::Bearer => Self::Bearer,
            AuthHeader::Named { name } => Self::Named(name),
        }
    }
}

impl From<core::AuthHeader> for AuthHeader {
    fn from(header: core::AuthHeader) -> Self {
        match header {
            core::AuthHeader::Bearer => Self::Bearer,
            core::AuthHeader::Named(name) => Self::Named { name },
        }
    }
}

/// What to store with a new credential. Kotlin:
/// `CredentialSpec(Environment.Production, listOf("api.rukapay.com"), AuthHeader.Bearer)`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CredentialSpec {
    /// The backend it belongs to.
    pub environment: Environment,
    /// The host patterns it may be sent to (1 to 64): `api.rukapay.com` (exact),
    /// `*.rukapay.com` (one label below), `**.rukapay.com` (the name and any depth below).
    pub hosts: Vec<String>,
    /// How it goes into a request.
    pub header: AuthHeader,
    /// A name for people (at most 256 bytes; not secret: it is listed and in events).
    #[uniffi(default = "")]
    pub label: String,
    /// Age in days at which it is due for rotation (1 to 3660).
    #[uniffi(default = 90)]
    pub rotate_after_days: i64,
}

impl TryFrom<CredentialSpec> for core::CredentialSpec {
    type Error = Error;

    fn try_from(spec: CredentialSpec) -> Result<Self, Error> {
        let days = numbers::non_negative(spec.rotate_after_days, "rotateAfterDays")?;
        Ok(Self {
            label: spec.label,
            environment: spec.environment.into(),
            hosts: patterns(&spec.hosts)?,
            header: spec.header.into(),
            // The core refuses zero and anything above ten years.
            rotate_after: Duration::from_secs(days.saturating_mul(DAY_SECONDS)),
        })
    }
}

fn patterns(hosts: &[String]) -> Result<Vec<HostPattern>, Error> {
    hosts
        .iter()
        .map(|host| HostPattern::parse(host, false))
        .collect()
}

/// A pattern as the app writes it: an exact name with the core's include-subdomains flag is
/// `**.name`, which covers the same hosts.
fn pattern_text(pattern: &HostPattern) -> String {
    if pattern.has_subdomains_flag() {
        format!("**.{pattern}")
    } else {
        pattern.to_string()
    }
}

/// What is known about a stored credential, without its secret. Nothing in it is secret
/// (ids, labels, environments and hosts are listed and go into events), so Kotlin's `toString`
/// and Swift's `description` print it all.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CredentialMetadata {
    /// Its id in the store.
    pub id: String,
    /// A name for people.
    pub label: String,
    /// The backend it belongs to.
    pub environment: Environment,
    /// The host patterns it may be sent to.
    pub hosts: Vec<String>,
    /// How it goes into a request.
    pub header: AuthHeader,
    /// When it was stored or last rotated, in milliseconds since the Unix epoch (the vault's
    /// clock, whole seconds).
    pub created_at_unix_ms: i64,
    /// Age in days at which it is due for rotation (whole days, rounded down).
    pub rotate_after_days: i64,
}

impl From<core::CredentialMetadata> for CredentialMetadata {
    fn from(metadata: core::CredentialMetadata) -> Self {
        Self {
            hosts: metadata.hosts.iter().map(pattern_text).collect(),
            id: metadata.id,
            label: metadata.label,
            environment: metadata.environment.into(),
            header: metadata.header.into(),
            created_at_unix_ms: metadata.created_at.saturating_mul(1000),
            rotate_after_days: numbers::long(metadata.rotate_after.as_secs() / DAY_SECONDS),
        }
    }
}

/// One declaration of which environment a host pattern's hosts are in. The most specific
/// matching pattern decides; a host no pattern covers refuses every credential.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HostEnvironment {
    /// A host pattern, as in [`CredentialSpec::hosts`].
    pub pattern: String,
    /// The environment of its hosts.
    pub environment: Environment,
}

/// What a [`crate::HttpsClient`] does when a credential has no token (or the server paused it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum RateLimitMode {
    /// Wait (suspended, not blocking a thread) until a token is there, then send.
    Wait,
    /// Throw `TlsError.RateLimited` at once, with the wait in `retryAfterMs`.
    Fail,
}

impl From<RateLimitMode> for core::RateLimitMode {
    fn from(mode: RateLimitMode) -> Self {
        match mode {
            RateLimitMode::Wait => Self::Wait,
            RateLimitMode::Fail => Self::Fail,
        }
    }
}

/// What can go wrong in a `CredentialStore` call. Kotlin sees `CredentialException`, Swift a
/// thrown `CredentialError`. `reason` never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CredentialError {
    /// No credential has this id in the account (never stored, or revoked).
    #[error("credential-not-found: {reason}")]
    NotFound {
        /// A fixed explanation.
        reason: String,
    },
    /// The URL's host matches none of the credential's host patterns (an IP address never
    /// does).
    #[error("credential-host-mismatch: {reason}")]
    HostMismatch {
        /// A fixed explanation.
        reason: String,
    },
    /// The credential's environment is not the one declared for the URL's host (a sandbox key
    /// for a production host or the other way round, or a host with no declared environment).
    #[error("credential-environment-mismatch: {reason}")]
    EnvironmentMismatch {
        /// The two environments.
        reason: String,
    },
    /// The input could not be used: an id, secret (1 to 8192 bytes of printable ASCII without
    /// spaces), label, host pattern, environment name, header name, rotation period or URL (a
    /// credential goes to `https://` URLs only), or two declarations of the same hosts.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What was wrong (never the content).
        reason: String,
    },
    /// The vault's unlock gate needs the user first (the metadata is Internal, the secret
    /// Restricted), or unlocking is locked out, or the keystore needs the user. These calls
    /// never prompt: `UnlockGate.unlock`, then call again.
    #[error("user-authentication-required: {reason}")]
    UserAuthenticationRequired {
        /// Which of the causes.
        reason: String,
    },
    /// The vault failed: disk, database, keystore, a stored record that failed authentication
    /// or is not a credential record, a key that is gone. `reason` names the cause.
    #[error("storage failed: {reason}")]
    Storage {
        /// The vault's cause (`integrity failure: ...`, `key unavailable: ...`).
        reason: String,
    },
    /// The crypto self-test failed: the vault is refused.
    #[error("crypto unavailable: {reason}")]
    CryptoUnavailable {
        /// A fixed explanation.
        reason: String,
    },
    /// A bug in RukaSec, including a caught Rust panic.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

impl From<Error> for CredentialError {
    fn from(error: Error) -> Self {
        let reason = error.reason();
        match error {
            Error::CredentialNotFound => Self::NotFound { reason },
            Error::CredentialHostMismatch => Self::HostMismatch { reason },
            Error::CredentialEnvironmentMismatch { .. } => Self::EnvironmentMismatch { reason },
            // `checkUrl` with a URL that is not `https://` (`insecure-scheme`).
            Error::InvalidInput { .. } | Error::Tls { .. } => Self::InvalidInput { reason },
            Error::UserAuthenticationRequired | Error::LockedOut { .. } => {
                Self::UserAuthenticationRequired {
                    reason: error.to_string(),
                }
            }
            Error::Storage { .. }
            | Error::Integrity
            | Error::Crypto
            | Error::KeyUnavailable
            | Error::KeyWrapper { .. }
            | Error::KeyInvalidated => Self::Storage {
                reason: error.to_string(),
            },
            Error::CryptoUnavailable => Self::CryptoUnavailable { reason },
            _ => Self::Internal {
                reason: error.to_string(),
            },
        }
    }
}

impl From<RukaSecError> for CredentialError {
    fn from(error: RukaSecError) -> Self {
        // Only a caught panic reaches here (see `guard_with`); keep its fixed reason.
        Self::Internal {
            reason: error.to_string(),
        }
    }
}

/// The app's API credentials in one account of a vault, each checked against the request's
/// host and the host's environment before it is handed to a request. Nothing is kept in this
/// object: every call reads the vault (so revoking deletes the only copy, and the vault's
/// unlock gate applies). Calls block on the vault: make them off the main thread.
#[derive(uniffi::Object)]
pub struct CredentialStore {
    pub(crate) store: core::CredentialStore,
    /// The vault, for its unlock gate (`HttpsClient.sendWithCredential`).
    pub(crate) vault: Arc<rukasec_core::vault::Vault>,
    pub(crate) account: String,
}

#[uniffi::export]
impl CredentialStore {
    /// The credentials of `account` in `vault`; `environments` declares which environment the
    /// app's API hosts are in (a host none covers refuses every credential). Throws
    /// `InvalidInput` for a bad pattern or environment name, or two declarations of the same
    /// hosts for different environments.
    #[uniffi::constructor]
    pub fn new(
        vault: Arc<Vault>,
        account: String,
        environments: Vec<HostEnvironment>,
    ) -> Result<Arc<Self>, CredentialError> {
        guard_with(|| {
            let declared = environments.into_iter().try_fold(
                core::HostEnvironments::new(),
                |declared, entry| {
                    let pattern = HostPattern::parse(&entry.pattern, false)?;
                    declared.declare(pattern, entry.environment.into())
                },
            )?;
            let vault = Arc::clone(&vault.0);
            Ok::<_, Error>(Arc::new(Self {
                store: core::CredentialStore::new(Arc::clone(&vault), account.clone(), declared),
                vault,
                account,
            }))
        })
    }

    /// Stores `secret` as credential `id` (replacing one with that id), created now. The bytes
    /// are moved into a wiped-on-drop buffer at once; wipe your own copy (`fill(0)`,
    /// `resetBytes`). Throws `InvalidInput` for a bad id, secret or spec.
    pub fn put(
        &self,
        id: String,
        secret: Vec<u8>,
        spec: CredentialSpec,
    ) -> Result<CredentialMetadata, CredentialError> {
        let secret = SecretBytes::new(secret);
        guard_with(|| {
            let spec = core::CredentialSpec::try_from(spec)?;
            self.store
                .put(&id, secret, spec)
                .map(CredentialMetadata::from)
        })
    }

    /// Replaces the secret of credential `id`, keeping its metadata, and starts its age again.
    /// Throws `NotFound` when there is none.
    pub fn rotate(
        &self,
        id: String,
        secret: Vec<u8>,
    ) -> Result<CredentialMetadata, CredentialError> {
        let secret = SecretBytes::new(secret);
        guard_with(|| self.store.rotate(&id, secret).map(CredentialMetadata::from))
    }

    /// Deletes credential `id` (its secret and metadata); returns whether it was there.
    pub fn revoke(&self, id: String) -> Result<bool, CredentialError> {
        guard_with(|| self.store.revoke(&id))
    }

    /// The metadata of credential `id`, or `null`/`nil` when none is stored.
    pub fn metadata(&self, id: String) -> Result<Option<CredentialMetadata>, CredentialError> {
        guard_with(|| {
            self.store
                .metadata(&id)
                .map(|metadata| metadata.map(CredentialMetadata::from))
        })
    }

    /// The metadata of every stored credential, sorted by id.
    pub fn list(&self) -> Result<Vec<CredentialMetadata>, CredentialError> {
        guard_with(|| {
            self.store
                .list()
                .map(|all| all.into_iter().map(CredentialMetadata::from).collect())
        })
    }

    /// Checks that credential `id` may be sent to `url` (its host patterns, then the host's
    /// environment) without reading its secret; returns its metadata. Throws `NotFound`,
    /// `HostMismatch`, `EnvironmentMismatch`, or `InvalidInput` for a URL that is not an
    /// absolute `https://` URL.
    pub fn check_url(
        &self,
        id: String,
        url: String,
    ) -> Result<CredentialMetadata, CredentialError> {
        guard_with(|| {
            self.store
                .check_url(&id, &url)
                .map(CredentialMetadata::from)
        })
    }

    /// The credentials older than their rotation period (the vault's clock), each also reported
    /// by a `CredentialRotationDue` event.
    pub fn check_rotation(&self) -> Result<Vec<CredentialMetadata>, CredentialError> {
        guard_with(|| {
            self.store
                .check_rotation()
                .map(|due| due.into_iter().map(CredentialMetadata::from).collect())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;

    fn spec() -> CredentialSpec {
        CredentialSpec {
            environment: Environment::Sandbox,
            hosts: vec!["api.rukapay.com".to_owned(), "**.rukapay.net".to_owned()],
            header: AuthHeader::Named {
                name: "x-api-key".to_owned(),
            },
            label: "payments".to_owned(),
            rotate_after_days: 90,
        }
    }

    #[test]
    fn the_default_rotation_period_is_the_cores() {
        let core = core::CredentialSpec::try_from(spec()).unwrap();
        assert_eq!(core.rotate_after, core::DEFAULT_ROTATE_AFTER);
        assert_eq!(core.environment, core::Environment::Sandbox);
        assert_eq!(core.header, core::AuthHeader::Named("x-api-key".to_owned()));
        assert_eq!(core.hosts.len(), 2);
        assert!(matches!(
            core::CredentialSpec::try_from(CredentialSpec {
                rotate_after_days: -1,
                ..spec()
            })
            .map_err(CredentialError::from),
            Err(CredentialError::InvalidInput { .. })
        ));
        assert!(matches!(
            core::CredentialSpec::try_from(CredentialSpec {
                hosts: vec!["*.com".to_owned()],
                ..spec()
            })
            .map_err(CredentialError::from),
            Err(CredentialError::InvalidInput { .. })
        ));
    }

    #[test]
    fn enums_and_metadata_mirror_the_core() {
        for environment in [
            Environment::Production,
            Environment::Sandbox,
            Environment::Other {
                name: "uat".to_owned(),
            },
        ] {
            let core: core::Environment = environment.clone().into();
            assert_eq!(Environment::from(core), environment);
        }
        let metadata = CredentialMetadata::from(core::CredentialMetadata {
            id: "k".to_owned(),
            label: "l".to_owned(),
            environment: core::Environment::Production,
            hosts: vec![
                HostPattern::parse("api.rukapay.com", true).unwrap(),
                HostPattern::parse("*.rukapay.com", false).unwrap(),
            ],
            header: core::AuthHeader::Bearer,
            created_at: 1_800_000_000,
            rotate_after: Duration::from_secs(7 * DAY_SECONDS + 5),
        });
        assert_eq!(metadata.hosts, ["**.api.rukapay.com", "*.rukapay.com"]);
        assert_eq!(metadata.created_at_unix_ms, 1_800_000_000_000);
        assert_eq!(metadata.rotate_after_days, 7);
        assert_eq!(metadata.header, AuthHeader::Bearer);
    }

    #[test]
    fn core_errors_map_to_their_variant() {
        assert!(matches!(
            CredentialError::from(Error::CredentialNotFound),
            CredentialError::NotFound { reason } if !reason.is_empty()
        ));
        assert!(matches!(
            CredentialError::from(Error::CredentialHostMismatch),
            CredentialError::HostMismatch { .. }
        ));
        assert_eq!(
            CredentialError::from(Error::CredentialEnvironmentMismatch {
                reason: "a sandbox credential cannot be sent to a production host".to_owned()
            }),
            CredentialError::EnvironmentMismatch {
                reason: "a sandbox credential cannot be sent to a production host".to_owned()
            }
        );
        assert!(matches!(
            CredentialError::from(Error::LockedOut { until_unix_ms: 7 }),
            CredentialError::UserAuthenticationRequired { reason } if reason.contains('7')
        ));
        for error in [
            Error::Integrity,
            Error::KeyUnavailable,
            Error::KeyInvalidated,
        ] {
            let text = error.to_string();
            assert_eq!(
                CredentialError::from(error),
                CredentialError::Storage { reason: text }
            );
        }
        assert!(matches!(
            CredentialError::from(Error::CryptoUnavailable),
            CredentialError::CryptoUnavailable { .. }
        ));
    }
}
