//! API credentials: keys and tokens the app sends to its API hosts, kept in the vault and
//! handed out only for a request they were made for.
//!
//! A credential is stored as two vault items of the app's account (docs/FORMAT.md §14):
//! the secret, class `Restricted`, in namespace [`NAMESPACE`]; and its metadata (label,
//! environment, host patterns, header, creation time, rotation period), class `Internal`, in
//! [`METADATA_NAMESPACE`], so the credentials can be listed, and a request checked, without
//! decrypting a secret.
//!
//! **Which URL a credential may go to.** Two independent checks, both fail closed:
//!
//! 1. the URL is `https://` and its host matches one of the credential's [`HostPattern`]s
//!    (an IP address never does), else [`Error::CredentialHostMismatch`];
//! 2. the host's environment, as the app declares it in [`HostEnvironments`] (the most
//!    specific matching pattern wins), is the credential's environment, else
//!    [`Error::CredentialEnvironmentMismatch`]. A host with no declared environment refuses
//!    every credential: a sandbox key never reaches a production host, nor a production key a
//!    sandbox host, even when a broad host pattern (`**.rukapay.com`) covers both.
//!
//! **No copy is kept.** Each [`CredentialStore::credential_for`] reads the vault, so the
//! `Restricted` class's unlock policy applies to every read (a gated vault needs a grant:
//! [`CredentialStore::credential_for_granted`]), and revoking deletes the only copy: the next
//! read finds nothing. The vault's key cache keeps a read cheap (one point read, one AES-GCM
//! open).
//!
//! **Rotation.** A credential older than its `rotate_after` (90 days by default) is due; the
//! first use of a due credential by a store, and every [`CredentialStore::check_rotation`],
//! emit a `CredentialRotationDue` event. Ages are measured on the vault's clock.
//!
//! The secret is a [`SecretBytes`]: it is in no `Debug`, error or event. Ids, labels,
//! environments and hosts are not secret (they go into events and lists): never put a key in
//! them.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, TlsFailure};
use crate::events::{SecurityEvent, SecurityEventKind};
use crate::host_pattern::HostPattern;
use crate::secret::SecretBytes;
use crate::unlock::UnlockGrant;
use crate::vault::{DataClass, PutItem, Vault};

/// The vault namespace of credential secrets (class `Restricted`).
pub const NAMESPACE: &str = "rukasec.credentials";
/// The vault namespace of credential metadata (class `Internal`).
pub const METADATA_NAMESPACE: &str = "rukasec.credentials.meta";
/// How old a credential may get before it is due for rotation, unless its spec says otherwise.
pub const DEFAULT_ROTATE_AFTER: Duration = Duration::from_secs(90 * 86_400);

/// Version of the stored metadata record.
const METADATA_VERSION: u8 = 1;
/// Longest credential id, in bytes.
const MAX_ID_LEN: usize = 128;
/// Longest label, in bytes.
const MAX_LABEL_LEN: usize = 256;
/// Longest name of an [`Environment::Other`], in bytes.
const MAX_ENVIRONMENT_LEN: usize = 64;
/// Most host patterns of one credential.
const MAX_HOSTS: usize = 64;
/// Longest secret, in bytes.
const MAX_SECRET_LEN: usize = 8192;
/// Longest header name, in bytes.
const MAX_HEADER_LEN: usize = 64;
/// Longest rotation period: ten years.
const MAX_ROTATE_AFTER: Duration = Duration::from_secs(10 * 366 * 86_400);
/// Largest stored metadata record read.
const MAX_METADATA_LEN: usize = 64 * 1024;

/// Which of the app's backends a credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Live customers and money.
    Production,
    /// The provider's test environment.
    Sandbox,
    /// Another named environment (`staging`, `uat`): 1 to 64 bytes of lowercase ASCII letters,
    /// digits, `-`, `_` and `.`, neither `production` nor `sandbox`.
    Other(String),
}

impl Environment {
    /// The name as stored and shown: `production`, `sandbox`, or `other:<name>`.
    pub fn as_str(&self) -> String {
        match self {
            Self::Production => "production".to_owned(),
            Self::Sandbox => "sandbox".to_owned(),
            Self::Other(name) => format!("other:{name}"),
        }
    }

    /// Parses [`Environment::as_str`]'s form.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for any other text.
    pub fn parse(text: &str) -> Result<Self> {
        let environment = match text {
            "production" => Self::Production,
            "sandbox" => Self::Sandbox,
            other => match other.strip_prefix("other:") {
                Some(name) => Self::Other(name.to_owned()),
                None => return Err(Error::invalid_input("an environment name is not known")),
            },
        };
        environment.check()?;
        Ok(environment)
    }

    fn check(&self) -> Result<()> {
        let Self::Other(name) = self else {
            return Ok(());
        };
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b);
        if name.is_empty()
            || name.len() > MAX_ENVIRONMENT_LEN
            || !name.bytes().all(allowed)
            || name == "production"
            || name == "sandbox"
        {
            return Err(Error::invalid_input(
                "an environment name must be 1 to 64 lowercase letters, digits, '-', '_' or '.' \
                 (and not production or sandbox)",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// How a credential goes into a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthHeader {
    /// `Authorization: Bearer <secret>` (RFC 6750).
    Bearer,
    /// `<name>: <secret>`, a lowercase header name that the client's redaction treats as
    /// sensitive (one containing `key`, `token`, `auth`, `secret`, ...: `x-api-key`).
    Named(String),
}

impl AuthHeader {
    /// The header's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Bearer => "authorization",
            Self::Named(name) => name,
        }
    }

    /// Stored form: `bearer` or `header:<name>`.
    fn encode(&self) -> String {
        match self {
            Self::Bearer => "bearer".to_owned(),
            Self::Named(name) => format!("header:{name}"),
        }
    }

    fn decode(text: &str) -> Result<Self> {
        let header = match text {
            "bearer" => Self::Bearer,
            other => match other.strip_prefix("header:") {
                Some(name) => Self::Named(name.to_owned()),
                None => return Err(Error::invalid_input("a credential header is not known")),
            },
        };
        header.check()?;
        Ok(header)
    }

    fn check(&self) -> Result<()> {
        let Self::Named(name) = self else {
            return Ok(());
        };
        let token = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        if name.is_empty() || name.len() > MAX_HEADER_LEN || !name.bytes().all(token) {
            return Err(Error::invalid_input(
                "a credential header name must be 1 to 64 lowercase letters, digits or '-'",
            ));
        }
        if !crate::redact::is_sensitive_header(name) {
            return Err(Error::invalid_input(
                "a credential header name must be one the client redacts (containing key, \
                 token, auth, secret, session or password)",
            ));
        }
        Ok(())
    }
}

/// What to store with a new credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSpec {
    /// A name for people (at most 256 bytes; not secret: it is listed).
    pub label: String,
    /// The backend it belongs to.
    pub environment: Environment,
    /// The hosts it may be sent to (1 to 64 patterns).
    pub hosts: Vec<HostPattern>,
    /// How it goes into a request.
    pub header: AuthHeader,
    /// Age at which it is due for rotation (1 second to 10 years).
    pub rotate_after: Duration,
}

impl CredentialSpec {
    /// A spec with no label, a bearer header and the default rotation period.
    pub fn new(environment: Environment, hosts: Vec<HostPattern>) -> Self {
        Self {
            label: String::new(),
            environment,
            hosts,
            header: AuthHeader::Bearer,
            rotate_after: DEFAULT_ROTATE_AFTER,
        }
    }

    fn check(&self) -> Result<()> {
        if self.label.len() > MAX_LABEL_LEN || self.label.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                "a credential label must be at most 256 bytes without control characters",
            ));
        }
        self.environment.check()?;
        if self.hosts.is_empty() || self.hosts.len() > MAX_HOSTS {
            return Err(Error::invalid_input(
                "a credential needs 1 to 64 host patterns",
            ));
        }
        self.header.check()?;
        if self.rotate_after.is_zero() || self.rotate_after > MAX_ROTATE_AFTER {
            return Err(Error::invalid_input(
                "a credential's rotation period must be from 1 second to 10 years",
            ));
        }
        Ok(())
    }
}

/// What is known about a stored credential, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialMetadata {
    /// Its id in the store.
    pub id: String,
    /// A name for people.
    pub label: String,
    /// The backend it belongs to.
    pub environment: Environment,
    /// The hosts it may be sent to.
    pub hosts: Vec<HostPattern>,
    /// How it goes into a request.
    pub header: AuthHeader,
    /// When it was stored or last rotated (Unix seconds, the vault's clock).
    pub created_at: i64,
    /// Age at which it is due for rotation.
    pub rotate_after: Duration,
}

impl CredentialMetadata {
    /// Its age at `now` (Unix seconds); zero for a creation time in the future.
    pub fn age(&self, now: i64) -> Duration {
        Duration::from_secs(u64::try_from(now.saturating_sub(self.created_at)).unwrap_or(0))
    }

    /// Whether it is older than its rotation period at `now`.
    pub fn rotation_due(&self, now: i64) -> bool {
        self.age(now) > self.rotate_after
    }

    /// Whether `host` matches one of its host patterns.
    pub fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|pattern| pattern.matches(host))
    }
}

/// A credential read for one request: its metadata and secret. `Debug` shows the metadata
/// only; the secret is wiped when this is dropped.
pub struct Credential {
    metadata: CredentialMetadata,
    secret: SecretBytes,
}

impl Credential {
    /// What is known about it.
    pub fn metadata(&self) -> &CredentialMetadata {
        &self.metadata
    }

    /// The secret (printable ASCII, checked when stored).
    pub fn secret(&self) -> &SecretBytes {
        &self.secret
    }

    /// The header field that carries it: (`authorization`, `Bearer <secret>`) or
    /// (`<name>`, `<secret>`). The value is a plain `String` because it goes into a request.
    pub fn header(&self) -> (String, String) {
        // Exposed to build the one header that sends it; the secret is printable ASCII.
        let secret = String::from_utf8_lossy(self.secret.expose_secret());
        match &self.metadata.header {
            AuthHeader::Bearer => ("authorization".to_owned(), format!("Bearer {secret}")),
            AuthHeader::Named(name) => (name.clone(), secret.into_owned()),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("metadata", &self.metadata)
            .field("secret", &self.secret)
            .finish()
    }
}

/// Which environment each of the app's API hosts belongs to. The most specific matching
/// pattern decides (as in a pin policy: an exact name, then the nearest wildcard); patterns as
/// specific as each other that disagree leave the host undeclared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostEnvironments {
    entries: Vec<(HostPattern, Environment)>,
}

impl HostEnvironments {
    /// No host declared (every credential is refused).
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares the hosts of `pattern` to be in `environment`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid [`Environment::Other`] name, or a pattern
    /// covering the same hosts as one already declared for another environment.
    pub fn declare(mut self, pattern: HostPattern, environment: Environment) -> Result<Self> {
        environment.check()?;
        if self
            .entries
            .iter()
            .any(|(known, env)| known.coverage() == pattern.coverage() && *env != environment)
        {
            return Err(Error::invalid_input(
                "a host pattern is declared for two environments",
            ));
        }
        self.entries.push((pattern, environment));
        Ok(self)
    }

    /// The environment of `host`, if declared.
    pub fn environment_of(&self, host: &str) -> Option<&Environment> {
        let matching = || {
            self.entries
                .iter()
                .filter(|(pattern, _)| pattern.matches(host))
        };
        let best = matching().map(|(pattern, _)| pattern.specificity()).max()?;
        let mut chosen = matching()
            .filter(|(pattern, _)| pattern.specificity() == best)
            .map(|(_, environment)| environment);
        let first = chosen.next()?;
        chosen.all(|other| other == first).then_some(first)
    }

    /// The declared patterns and their environments, in declaration order.
    pub fn entries(&self) -> &[(HostPattern, Environment)] {
        &self.entries
    }
}

/// The app's API credentials in one vault account. Cheap to clone (shared state); safe from
/// many threads. Every call blocks on the vault: call it off the main thread.
#[derive(Clone)]
pub struct CredentialStore {
    inner: Arc<Inner>,
}

struct Inner {
    vault: Arc<Vault>,
    account: String,
    environments: HostEnvironments,
    /// Credentials whose rotation-due event went out on use (once per store until rotated).
    warned: Mutex<HashSet<String>>,
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialStore")
            .field("environments", &self.inner.environments)
            .finish_non_exhaustive()
    }
}

/// The metadata record as stored (docs/FORMAT.md §14).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredMetadata {
    v: u8,
    label: String,
    environment: String,
    hosts: Vec<StoredHost>,
    header: String,
    created_at: i64,
    rotate_after: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredHost {
    pattern: String,
    include_subdomains: bool,
}

impl CredentialStore {
    /// The credentials of `account` in `vault`, checked against the hosts' `environments`.
    pub fn new(
        vault: Arc<Vault>,
        account: impl Into<String>,
        environments: HostEnvironments,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                vault,
                account: account.into(),
                environments,
                warned: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// The hosts' environments this store checks against.
    pub fn environments(&self) -> &HostEnvironments {
        &self.inner.environments
    }

    /// Stores `secret` as credential `id` (replacing one with that id), created now. Both items
    /// are written in one transaction.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an id that is not 1 to 128 ASCII letters, digits, `-`, `_`
    /// or `.`; a secret that is not 1 to 8192 bytes of printable ASCII (it goes into a header);
    /// a spec out of range (see [`CredentialSpec`]); as [`Vault::put_batch`].
    pub fn put(
        &self,
        id: &str,
        secret: SecretBytes,
        spec: CredentialSpec,
    ) -> Result<CredentialMetadata> {
        check_id(id)?;
        check_secret(&secret)?;
        spec.check()?;
        let metadata = CredentialMetadata {
            id: id.to_owned(),
            label: spec.label,
            environment: spec.environment,
            hosts: spec.hosts,
            header: spec.header,
            created_at: self.inner.vault.now(),
            rotate_after: spec.rotate_after,
        };
        self.write(&metadata, secret)?;
        Ok(metadata)
    }

    /// Replaces the secret of credential `id`, keeping its metadata, and starts its age again.
    ///
    /// # Errors
    /// [`Error::CredentialNotFound`]; otherwise as [`CredentialStore::put`].
    pub fn rotate(&self, id: &str, secret: SecretBytes) -> Result<CredentialMetadata> {
        check_id(id)?;
        check_secret(&secret)?;
        let mut metadata = self.metadata(id)?.ok_or(Error::CredentialNotFound)?;
        metadata.created_at = self.inner.vault.now();
        self.write(&metadata, secret)?;
        self.warned().remove(id);
        Ok(metadata)
    }

    /// Deletes credential `id`: its secret, then its metadata (no copy is kept elsewhere).
    /// Returns whether anything was there. Interrupted between the two, a second call finishes.
    ///
    /// # Errors
    /// As [`Vault::delete`].
    pub fn revoke(&self, id: &str) -> Result<bool> {
        check_id(id)?;
        let vault = &self.inner.vault;
        let account = &self.inner.account;
        let secret = vault.delete(account, NAMESPACE, id)?;
        let metadata = vault.delete(account, METADATA_NAMESPACE, id)?;
        self.warned().remove(id);
        Ok(secret || metadata)
    }

    /// The metadata of credential `id`, if stored.
    ///
    /// # Errors
    /// [`Error::Integrity`] for a record that is not the format of docs/FORMAT.md §14; as
    /// [`Vault::get`].
    pub fn metadata(&self, id: &str) -> Result<Option<CredentialMetadata>> {
        check_id(id)?;
        let Some(bytes) = self
            .inner
            .vault
            .get(&self.inner.account, METADATA_NAMESPACE, id)?
        else {
            return Ok(None);
        };
        // Not secret: the metadata record is stored under the vault's sealing for integrity.
        self.decode(id, bytes.expose_secret()).map(Some)
    }

    /// The metadata of every stored credential, by id.
    ///
    /// # Errors
    /// As [`CredentialStore::metadata`] and [`Vault::list`].
    pub fn list(&self) -> Result<Vec<CredentialMetadata>> {
        let ids = self
            .inner
            .vault
            .list(&self.inner.account, METADATA_NAMESPACE)?;
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(metadata) = self.metadata(&id)? {
                all.push(metadata);
            }
        }
        Ok(all)
    }

    /// Credential `id` for a request to `url`, after both checks of the module documentation.
    /// A credential due for rotation is still handed out (with a `CredentialRotationDue`
    /// event, once per store until rotated).
    ///
    /// # Errors
    /// [`Error::CredentialNotFound`]; [`Error::CredentialHostMismatch`];
    /// [`Error::CredentialEnvironmentMismatch`]; [`Error::Tls`] with
    /// [`TlsFailure::InsecureScheme`] for a URL that is not `https://`; [`Error::InvalidInput`]
    /// for a malformed URL; as [`Vault::get`] (a gated vault: `UserAuthenticationRequired`).
    pub fn credential_for(&self, id: &str, url: &str) -> Result<Credential> {
        self.read_for(id, url, None)
    }

    /// [`CredentialStore::credential_for`] with the grant of an unlock, for a vault whose
    /// unlock gate wants a fresh authentication for each `Restricted` read.
    ///
    /// # Errors
    /// As [`CredentialStore::credential_for`].
    pub fn credential_for_granted(
        &self,
        grant: &UnlockGrant,
        id: &str,
        url: &str,
    ) -> Result<Credential> {
        self.read_for(id, url, Some(grant))
    }

    /// Checks that credential `id` may be sent to `url` (both checks), without reading its
    /// secret.
    ///
    /// # Errors
    /// As [`CredentialStore::credential_for`].
    pub fn check_url(&self, id: &str, url: &str) -> Result<CredentialMetadata> {
        let metadata = self.metadata(id)?.ok_or(Error::CredentialNotFound)?;
        self.authorise(&metadata, url)?;
        Ok(metadata)
    }

    /// The credentials due for rotation now (the vault's clock), each reported by a
    /// `CredentialRotationDue` event.
    ///
    /// # Errors
    /// As [`CredentialStore::list`].
    pub fn check_rotation(&self) -> Result<Vec<CredentialMetadata>> {
        let now = self.inner.vault.now();
        let due: Vec<_> = self
            .list()?
            .into_iter()
            .filter(|metadata| metadata.rotation_due(now))
            .collect();
        for metadata in &due {
            self.report_rotation_due(metadata, now);
        }
        Ok(due)
    }

    fn read_for(&self, id: &str, url: &str, grant: Option<&UnlockGrant>) -> Result<Credential> {
        let metadata = self.check_url(id, url)?;
        let vault = &self.inner.vault;
        let account = &self.inner.account;
        let secret = match grant {
            Some(grant) => vault.get_granted(grant, account, NAMESPACE, id)?,
            None => vault.get(account, NAMESPACE, id)?,
        }
        .ok_or(Error::CredentialNotFound)?;
        check_secret(&secret).map_err(|_| self.integrity_failure("credential_secret"))?;
        let now = vault.now();
        if metadata.rotation_due(now) && self.warned().insert(id.to_owned()) {
            self.report_rotation_due(&metadata, now);
        }
        Ok(Credential { metadata, secret })
    }

    /// Both checks of the module documentation.
    fn authorise(&self, metadata: &CredentialMetadata, url: &str) -> Result<()> {
        let url = url::Url::parse(url)
            .map_err(|_| Error::invalid_input("the URL is not an absolute URL"))?;
        if url.scheme() != "https" {
            return Err(Error::tls(
                TlsFailure::InsecureScheme,
                "a credential is only sent to https:// URLs",
            ));
        }
        let host = match url.host() {
            Some(url::Host::Domain(domain)) => domain.to_owned(),
            // An IP address matches no host pattern.
            Some(_) => return Err(Error::CredentialHostMismatch),
            None => return Err(Error::invalid_input("the URL has no host")),
        };
        if !metadata.allows_host(&host) {
            return Err(Error::CredentialHostMismatch);
        }
        match self.inner.environments.environment_of(&host) {
            Some(environment) if *environment == metadata.environment => Ok(()),
            Some(environment) => Err(Error::CredentialEnvironmentMismatch {
                reason: format!(
                    "a {} credential cannot be sent to a {environment} host",
                    metadata.environment
                ),
            }),
            None => Err(Error::CredentialEnvironmentMismatch {
                reason: format!(
                    "a {} credential cannot be sent to a host with no declared environment",
                    metadata.environment
                ),
            }),
        }
    }

    fn write(&self, metadata: &CredentialMetadata, secret: SecretBytes) -> Result<()> {
        let record = StoredMetadata {
            v: METADATA_VERSION,
            label: metadata.label.clone(),
            environment: metadata.environment.as_str(),
            hosts: metadata
                .hosts
                .iter()
                .map(|pattern| StoredHost {
                    pattern: pattern.to_string(),
                    include_subdomains: pattern.has_subdomains_flag(),
                })
                .collect(),
            header: metadata.header.encode(),
            created_at: metadata.created_at,
            rotate_after: metadata.rotate_after.as_secs(),
        };
        let encoded = serde_json::to_vec(&record).map_err(|_| Error::Internal {
            reason: "credential metadata could not be encoded".to_owned(),
        })?;
        self.inner.vault.put_batch(
            &self.inner.account,
            &[
                PutItem {
                    namespace: NAMESPACE.to_owned(),
                    name: metadata.id.clone(),
                    value: secret,
                    class: DataClass::Restricted,
                    ttl: None,
                },
                PutItem {
                    namespace: METADATA_NAMESPACE.to_owned(),
                    name: metadata.id.clone(),
                    value: SecretBytes::new(encoded),
                    class: DataClass::Internal,
                    ttl: None,
                },
            ],
        )
    }

    /// Parses a stored record; any deviation from the format is an integrity failure.
    fn decode(&self, id: &str, bytes: &[u8]) -> Result<CredentialMetadata> {
        let bad = || self.integrity_failure("credential_metadata");
        if bytes.len() > MAX_METADATA_LEN {
            return Err(bad());
        }
        let record: StoredMetadata = serde_json::from_slice(bytes).map_err(|_| bad())?;
        if record.v != METADATA_VERSION || record.hosts.is_empty() || record.hosts.len() > MAX_HOSTS
        {
            return Err(bad());
        }
        let hosts = record
            .hosts
            .iter()
            .map(|host| HostPattern::parse(&host.pattern, host.include_subdomains))
            .collect::<Result<Vec<_>>>()
            .map_err(|_| bad())?;
        let spec = CredentialSpec {
            label: record.label,
            environment: Environment::parse(&record.environment).map_err(|_| bad())?,
            hosts,
            header: AuthHeader::decode(&record.header).map_err(|_| bad())?,
            rotate_after: Duration::from_secs(record.rotate_after),
        };
        spec.check().map_err(|_| bad())?;
        Ok(CredentialMetadata {
            id: id.to_owned(),
            label: spec.label,
            environment: spec.environment,
            hosts: spec.hosts,
            header: spec.header,
            created_at: record.created_at,
            rotate_after: spec.rotate_after,
        })
    }

    fn integrity_failure(&self, what: &'static str) -> Error {
        self.inner.vault.events().emit(
            SecurityEvent::new(SecurityEventKind::VaultIntegrityFailure).with_detail("what", what),
        );
        Error::Integrity
    }

    fn report_rotation_due(&self, metadata: &CredentialMetadata, now: i64) {
        self.inner.vault.events().emit(
            SecurityEvent::new(SecurityEventKind::CredentialRotationDue)
                .with_detail("credential", metadata.id.clone())
                .with_detail("environment", metadata.environment.as_str())
                .with_detail(
                    "age_days",
                    (metadata.age(now).as_secs() / 86_400).to_string(),
                )
                .with_detail(
                    "rotate_after_days",
                    (metadata.rotate_after.as_secs() / 86_400).to_string(),
                ),
        );
    }

    fn warned(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A set of ids stays valid whatever a panicking holder did.
        self.inner
            .warned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn check_id(id: &str) -> Result<()> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-_.".contains(&b);
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(allowed) {
        return Err(Error::invalid_input(
            "a credential id must be 1 to 128 ASCII letters, digits, '-', '_' or '.'",
        ));
    }
    Ok(())
}

fn check_secret(secret: &SecretBytes) -> Result<()> {
    // Checked, not copied: only the bytes' range is looked at.
    let bytes = secret.expose_secret();
    if bytes.is_empty()
        || bytes.len() > MAX_SECRET_LEN
        || !bytes.iter().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::invalid_input(
            "a credential secret must be 1 to 8192 bytes of printable ASCII without spaces",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> HostPattern {
        HostPattern::parse(text, false).unwrap()
    }

    #[test]
    fn environments_round_trip_and_bad_names_are_refused() {
        for environment in [
            Environment::Production,
            Environment::Sandbox,
            Environment::Other("staging-2".to_owned()),
        ] {
            assert_eq!(
                Environment::parse(&environment.as_str()).unwrap(),
                environment
            );
        }
        for bad in [
            "Production",
            "other:",
            "other:UAT",
            "other:production",
            "other:a b",
            "live",
        ] {
            assert!(Environment::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_most_specific_declaration_decides() {
        let environments = HostEnvironments::new()
            .declare(pattern("**.rukapay.com"), Environment::Production)
            .unwrap()
            .declare(pattern("*.sandbox.rukapay.com"), Environment::Sandbox)
            .unwrap()
            .declare(
                pattern("api.sandbox.rukapay.com"),
                Environment::Other("uat".to_owned()),
            )
            .unwrap();
        let of = |host| environments.environment_of(host).cloned();
        assert_eq!(of("api.rukapay.com"), Some(Environment::Production));
        assert_eq!(of("rukapay.com"), Some(Environment::Production));
        assert_eq!(of("pay.sandbox.rukapay.com"), Some(Environment::Sandbox));
        assert_eq!(
            of("API.sandbox.rukapay.com."),
            Some(Environment::Other("uat".to_owned()))
        );
        assert_eq!(of("rukapay.org"), None);
        assert!(
            HostEnvironments::new()
                .declare(pattern("**.rukapay.com"), Environment::Production)
                .unwrap()
                .declare(
                    HostPattern::parse("rukapay.com", true).unwrap(),
                    Environment::Sandbox
                )
                .is_err()
        );
    }

    #[test]
    fn named_headers_must_be_redacted_ones() {
        assert!(AuthHeader::Named("x-api-key".to_owned()).check().is_ok());
        assert!(
            AuthHeader::Named("x-client-token".to_owned())
                .check()
                .is_ok()
        );
        for bad in ["x-request-id", "X-Api-Key", "", "x api key", "x-api-key:"] {
            assert!(AuthHeader::Named(bad.to_owned()).check().is_err(), "{bad}");
        }
        assert_eq!(
            AuthHeader::decode(&AuthHeader::Named("x-api-key".to_owned()).encode()).unwrap(),
            AuthHeader::Named("x-api-key".to_owned())
        );
    }

    #[test]
    fn ids_and_secrets_are_checked() {
        assert!(check_id("payments-prod_v2.1").is_ok());
        for bad in ["", "a/b", "a b", "ключ", &"a".repeat(129)] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert!(check_secret(&SecretBytes::from_slice(b"sk_live_abc")).is_ok());
        for bad in [&b""[..], b"with space", b"new\nline", b"\xff"] {
            assert!(check_secret(&SecretBytes::from_slice(bad)).is_err());
        }
    }

    #[test]
    fn age_and_rotation_due() {
        let metadata = CredentialMetadata {
            id: "k".to_owned(),
            label: String::new(),
            environment: Environment::Sandbox,
            hosts: vec![pattern("api.rukapay.com")],
            header: AuthHeader::Bearer,
            created_at: 1000,
            rotate_after: Duration::from_secs(100),
        };
        assert_eq!(metadata.age(900), Duration::ZERO);
        assert!(!metadata.rotation_due(1100));
        assert!(metadata.rotation_due(1101));
    }
}
