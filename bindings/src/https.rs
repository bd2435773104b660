//! The pinned HTTPS-only client for the app: records mirrored with `From`, the client a newtype
//! forwarding to the core's.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use rukasec_core::Error;
use rukasec_core::monitor::RateLimit;
use rukasec_core::tls as core;
use rukasec_core::tls::redact::{RedactedBody, RedactedHeader, RedactedUrl};
use rukasec_core::vault::DataClass;

use crate::guard::{guard_future, guard_with};
use crate::numbers;
use crate::{
    AuthBoundDeviceKey, CredentialStore, DeviceKey, PinChecker, PinOutcome, PinPolicy,
    RateLimitMode, SignOptions, TlsError,
};

/// A fixed address for a host name (the certificate is still verified for the name).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HostAddress {
    /// The host name, as in the URL.
    pub host: String,
    /// `IP:port`, e.g. `127.0.0.1:8443` or `[::1]:443`.
    pub address: String,
}

/// How an [`HttpsClient`] behaves. Every field has a default: the production values.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HttpsClientOptions {
    /// Also accept TLS 1.2 (ECDHE with AEAD suites only). Off: TLS 1.3 only.
    #[uniffi(default = false)]
    pub allow_tls12: bool,
    /// Extra trust anchors (DER certificates) beside the platform's roots, for private PKI and
    /// tests.
    #[uniffi(default)]
    pub extra_roots_der: Vec<Vec<u8>>,
    /// Time allowed to open a connection (TCP and TLS handshake), in milliseconds.
    #[uniffi(default = 10000)]
    pub connect_timeout_ms: i64,
    /// Time allowed for a whole request, redirects and body included, in milliseconds.
    #[uniffi(default = 30000)]
    pub request_timeout_ms: i64,
    /// Largest response body accepted, in bytes.
    #[uniffi(default = 10485760)]
    pub max_response_bytes: i64,
    /// Redirects followed at most (each hop is pinned); 0 refuses every redirect.
    #[uniffi(default = 5)]
    pub max_redirects: i32,
    /// Fixed addresses for host names.
    #[uniffi(default)]
    pub resolve: Vec<HostAddress>,
    /// The app's id in pin-failure reports (`com.rukapay.app`).
    #[uniffi(default = "")]
    pub app_id: String,
    /// The app's version in pin-failure reports (`4.2.0`).
    #[uniffi(default = "")]
    pub app_version: String,
    /// Whether `sendWithCredential` takes a token of the credential's bucket (off: only the
    /// server's `Retry-After` pauses a credential). Other sends take no token.
    #[uniffi(default = true)]
    pub rate_limit_enabled: bool,
    /// Requests a credential may send at once from a full bucket (1 to 1,000,000).
    #[uniffi(default = 10)]
    pub rate_limit_capacity: i32,
    /// Tokens a credential's bucket gains per second (from one a day, 1/86400, to 1,000,000).
    #[uniffi(default = 5.0)]
    pub rate_limit_refill_per_second: f64,
}

impl TryFrom<HttpsClientOptions> for core::ClientOptions {
    type Error = Error;

    fn try_from(options: HttpsClientOptions) -> Result<Self, Error> {
        let resolve = options
            .resolve
            .into_iter()
            .map(|entry| {
                entry
                    .address
                    .parse::<SocketAddr>()
                    .map(|addr| (entry.host, addr))
                    .map_err(|_| Error::InvalidInput {
                        reason: "a resolve address is not IP:port".to_owned(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let defaults = Self::default();
        let rate_limit = if options.rate_limit_enabled {
            Some(RateLimit::new(
                numbers::non_negative_i32(options.rate_limit_capacity, "rateLimitCapacity")?,
                options.rate_limit_refill_per_second,
            )?)
        } else {
            None
        };
        Ok(Self {
            rate_limit,
            tls: core::TlsOptions {
                allow_tls12: options.allow_tls12,
                extra_roots: options.extra_roots_der,
                ..defaults.tls
            },
            connect_timeout: numbers::millis(options.connect_timeout_ms, "connectTimeoutMs")?,
            request_timeout: numbers::millis(options.request_timeout_ms, "requestTimeoutMs")?,
            max_response_bytes: numbers::non_negative(
                options.max_response_bytes,
                "maxResponseBytes",
            )?,
            max_redirects: usize::try_from(numbers::non_negative_i32(
                options.max_redirects,
                "maxRedirects",
            )?)
            .unwrap_or(usize::MAX),
            resolve,
            report_context: core::ReportContext {
                app_id: options.app_id,
                app_version: options.app_version,
            },
            ..defaults
        })
    }
}

/// One header field. Rust `Debug`, Kotlin `toString` and Swift `description`/`debugDescription` redact the value of credential headers.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct HttpHeader {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
}

impl fmt::Debug for HttpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&RedactedHeader(&self.name, &self.value), f)
    }
}

display_as_redacted_debug!(HttpHeader, HttpRequest, HttpResponse);

fn headers_from(headers: Vec<(String, String)>) -> Vec<HttpHeader> {
    headers
        .into_iter()
        .map(|(name, value)| HttpHeader { name, value })
        .collect()
}

/// A request to send. Rust `Debug`, Kotlin `toString` and Swift `description`/`debugDescription` are redacted (credential headers, query, body).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// An absolute `https://` URL (anything else throws `InsecureScheme`).
    pub url: String,
    /// Header fields in order; a name may repeat.
    #[uniffi(default)]
    pub headers: Vec<HttpHeader>,
    /// The body (empty for none).
    #[uniffi(default)]
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &RedactedUrl(&self.url))
            .field("headers", &self.headers)
            .field("body", &RedactedBody(self.body.len()))
            .finish()
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("url", &RedactedUrl(&self.url))
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("body", &RedactedBody(self.body.len()))
            .finish()
    }
}

impl From<HttpRequest> for core::HttpRequest {
    fn from(request: HttpRequest) -> Self {
        Self {
            method: request.method,
            url: request.url,
            headers: request
                .headers
                .into_iter()
                .map(|header| (header.name, header.value))
                .collect(),
            body: request.body,
        }
    }
}

/// A response received. Rust `Debug`, Kotlin `toString` and Swift `description`/`debugDescription` are redacted (credential headers, body).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct HttpResponse {
    /// The status code.
    pub status: i32,
    /// The URL of the final hop (after redirects).
    pub url: String,
    /// `HTTP/1.1`, `HTTP/2.0`.
    pub version: String,
    /// Header fields in order (values that are not UTF-8 are left out).
    pub headers: Vec<HttpHeader>,
    /// The body.
    pub body: Vec<u8>,
}

impl From<core::HttpResponse> for HttpResponse {
    fn from(response: core::HttpResponse) -> Self {
        Self {
            status: i32::from(response.status),
            url: response.url,
            version: response.version,
            headers: headers_from(response.headers),
            body: response.body,
        }
    }
}

/// A handle that cancels the calls carrying it (`HttpsClient.sendCancellable`,
/// `sendSignedCancellable`): `cancel()` from any thread ends them at once with
/// `TlsError.Cancelled`, closing their connection; a call given a handle already cancelled does
/// not start. Swift needs it because UniFFI's Swift code awaits a Rust call to its end even when
/// the `Task` is cancelled; the Swift glue (`HttpsClient.perform`) calls `cancel()` from
/// `withTaskCancellationHandler`. Kotlin's coroutines cancel the Rust call without it. One
/// handle per call: once cancelled it stays cancelled.
#[derive(uniffi::Object)]
pub struct Cancellation(core::Cancellation);

#[uniffi::export]
impl Cancellation {
    /// A handle not yet cancelled.
    #[uniffi::constructor]
    pub fn new() -> Result<Arc<Self>, TlsError> {
        guard_with(|| Ok::<_, Error>(Arc::new(Self(core::Cancellation::new()))))
    }

    /// Cancels every call carrying this handle, now and later. Idempotent.
    pub fn cancel(&self) -> Result<(), TlsError> {
        guard_with(|| {
            self.0.cancel();
            Ok::<_, Error>(())
        })
    }

    /// Whether `cancel()` was called.
    pub fn is_cancelled(&self) -> Result<bool, TlsError> {
        guard_with(|| Ok::<_, Error>(self.0.is_cancelled()))
    }
}

/// An HTTPS-only client that verifies every connection with the platform, then the pin policy.
/// Created by `RukaSec.httpsClient`; its pin and TLS events go to that core's listener. Safe to
/// share; requests run concurrently over pooled connections.
#[derive(uniffi::Object)]
pub struct HttpsClient(Arc<core::HttpsClient>);

impl HttpsClient {
    /// A client of `rukasec` with `options` applying `policy`.
    pub(crate) fn create(
        rukasec: &rukasec_core::RukaSec,
        options: HttpsClientOptions,
        policy: &PinPolicy,
    ) -> Result<Arc<Self>, TlsError> {
        guard_with(|| {
            let options = core::ClientOptions::try_from(options)?;
            rukasec
                .https_client(options, policy.0.clone())
                .map(|client| Arc::new(Self(Arc::new(client))))
        })
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl HttpsClient {
    /// Sends `request` and reads the whole response: `suspend` in Kotlin, `async` in Swift.
    /// Throws the `TlsError` case naming the cause (`InsecureScheme` before any connection,
    /// `PinMismatch`, `UntrustedCertificate`, `Timeout`, ...), or `InvalidInput` for a malformed
    /// URL, method or header. Cancelling the call drops the request.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TlsError> {
        guard_future(async { self.0.send(request.into()).await.map(HttpResponse::from) }).await
    }

    /// Signs `request` with `key` (RFC 9421 with a `Content-Digest`, as `DeviceKey.signRequest`)
    /// and sends it as `send`: `suspend` in Kotlin, `async` in Swift. Throws `TlsError.Signing`
    /// when signing fails (nothing is sent), otherwise as `send`.
    pub async fn send_signed(
        &self,
        request: HttpRequest,
        key: Arc<DeviceKey>,
        options: SignOptions,
    ) -> Result<HttpResponse, TlsError> {
        guard_future(async {
            let options = rukasec_core::signing::SignOptions::try_from(options)?;
            self.0
                .send_signed(request.into(), key.signer(), &options)
                .await
                .map(HttpResponse::from)
        })
        .await
    }

    /// `send` that ends with `TlsError.Cancelled` as soon as `cancellation` is cancelled (the
    /// request's connection closed, nothing more sent or read), and does not start when it
    /// already is. For Swift, whose `Task` cancellation does not reach a Rust call otherwise.
    pub async fn send_cancellable(
        &self,
        request: HttpRequest,
        cancellation: Arc<Cancellation>,
    ) -> Result<HttpResponse, TlsError> {
        guard_future(
            cancellation
                .0
                .run(async { self.0.send(request.into()).await.map(HttpResponse::from) }),
        )
        .await
    }

    /// `sendSigned` that ends as `sendCancellable` does when `cancellation` is cancelled; a
    /// handle already cancelled stops it before signing.
    pub async fn send_signed_cancellable(
        &self,
        request: HttpRequest,
        key: Arc<DeviceKey>,
        options: SignOptions,
        cancellation: Arc<Cancellation>,
    ) -> Result<HttpResponse, TlsError> {
        guard_future(cancellation.0.run(async {
            let options = rukasec_core::signing::SignOptions::try_from(options)?;
            self.0
                .send_signed(request.into(), key.signer(), &options)
                .await
                .map(HttpResponse::from)
        }))
        .await
    }

    /// Signs `request` with `key` after one prompt showing `reason` (as
    /// `AuthBoundDeviceKey.signRequest`) and sends it as `send`. Throws `TlsError.Signing` when
    /// the prompt did not end in a signature or signing failed (nothing is sent; its text names
    /// the cause: `user-cancelled`, `locked-out`, ...), otherwise as `send`. For the typed
    /// cause, sign with the key first and send the request with `send`.
    pub async fn send_signed_authenticated(
        &self,
        request: HttpRequest,
        key: Arc<AuthBoundDeviceKey>,
        options: SignOptions,
        reason: String,
    ) -> Result<HttpResponse, TlsError> {
        guard_future(async {
            let options =
                rukasec_core::signing::SignOptions::try_from(options).map_err(TlsError::from)?;
            self.0
                .send_signed_authenticated(request.into(), &key.0, &options, &reason)
                .await
                .map(HttpResponse::from)
                .map_err(|error| match error {
                    // The key's prompt, not the policy store: a signing failure here.
                    Error::UserAuthenticationRequired => TlsError::Signing {
                        reason: error.to_string(),
                    },
                    other => TlsError::from(other),
                })
        })
        .await
    }

    /// How far this device's clock is from the servers' (server minus device, milliseconds),
    /// measured from the `Date` headers of this client's responses (the median of the last
    /// five); `null`/`nil` before the first response.
    pub fn clock_skew_ms(&self) -> Result<Option<i64>, TlsError> {
        guard_with(|| Ok::<_, Error>(self.0.clock_skew_ms()))
    }

    /// The servers' time now, Unix milliseconds: the device's clock corrected by
    /// `clockSkewMs`. Signatures this client makes are `created` at it; compute TOTP codes at
    /// it too (`Totp.codeAt(serverTimeUnixMs() / 1000)`).
    pub fn server_time_unix_ms(&self) -> Result<i64, TlsError> {
        guard_with(|| {
            let since = self
                .0
                .server_now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            Ok::<_, Error>(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
        })
    }

    /// Sends `request` with credential `id` of `store`: `suspend` in Kotlin, `async` in Swift.
    ///
    /// 1. When the store's vault has an unlock gate, its `Restricted` class is unlocked first,
    ///    as `Vault.getAsync` does: at once when it is open, else through one prompt showing
    ///    `reason` (a policy with `restrictedWindowSeconds = 0` prompts for each send). This
    ///    comes before the rate limit, so a `Fail`-mode send over the limit may prompt first.
    /// 2. A token of the credential's bucket is taken (`HttpsClientOptions.rateLimit*`; a
    ///    credential the server paused has none until the pause ends): `Wait` suspends until
    ///    there is one (cancelling the call takes nothing), `Fail` throws `RateLimited`.
    /// 3. The credential is read after its host and environment checks, and its header
    ///    (`Authorization: Bearer ...` or its own) replaces any header of that name; a
    ///    redirect to another origin is refused (`Redirect`), so it never reaches a host it was
    ///    not checked for.
    ///
    /// A 429 or 503 with a valid `Retry-After` (at most an hour) is returned as it came and
    /// pauses the credential (a `RateLimited` event); 401 and 403 are returned with an
    /// `AuthenticationRejected` event. Throws `CredentialNotFound`, `CredentialHostMismatch`,
    /// `CredentialEnvironmentMismatch`, `CredentialLocked` (the unlock failed), `RateLimited`,
    /// `Storage` (the vault), otherwise as `send`.
    pub async fn send_with_credential(
        &self,
        request: HttpRequest,
        store: Arc<CredentialStore>,
        id: String,
        mode: RateLimitMode,
        reason: String,
    ) -> Result<HttpResponse, TlsError> {
        guard_future(async {
            let grant = match store.vault.unlock_gate().cloned() {
                Some(gate) => Some(
                    gate.unlock(DataClass::Restricted, Some(&store.account), &reason)
                        .await
                        .map_err(credential_error)?,
                ),
                None => None,
            };
            self.0
                .send_with_credential(request.into(), &store.store, &id, mode.into(), grant)
                .await
                .map(HttpResponse::from)
                .map_err(credential_error)
        })
        .await
    }

    /// Replaces the pin policy; the next request uses new connections verified under it.
    pub fn set_policy(&self, policy: Arc<PinPolicy>) -> Result<(), TlsError> {
        guard_with(|| self.0.set_policy(policy.0.clone()))
    }

    /// The policy in force.
    pub fn policy(&self) -> Result<Arc<PinPolicy>, TlsError> {
        guard_with(|| Ok::<_, Error>(Arc::new(PinPolicy(self.0.policy()))))
    }

    /// Applies the policy to a chain another TLS stack verified (see `PinChecker.checkChain`);
    /// reports go out with the next request or `flushReports`.
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

    /// A checker of this client's policy for the app's own HTTP stack (OkHttp, URLSession),
    /// sending its pin-failure reports through this client (with its `reportContext`) in the
    /// background. A later `setPolicy` does not change it: make a new one.
    pub fn pin_checker(&self) -> Result<Arc<PinChecker>, TlsError> {
        guard_with(|| Ok::<_, Error>(Arc::new(PinChecker(Arc::new(self.0.pin_checker())))))
    }

    /// The hosts that sent `Strict-Transport-Security` and are still within its `max-age`.
    pub fn hsts_hosts(&self) -> Result<Vec<String>, TlsError> {
        guard_with(|| Ok::<_, Error>(self.0.hsts_hosts()))
    }

    /// Sends the pin-failure reports waiting to go out (identical ones at most once a day);
    /// returns how many were sent. `suspend` in Kotlin, `async` in Swift.
    pub async fn flush_reports(&self) -> Result<i32, TlsError> {
        guard_future(async {
            let sent = self.0.flush_reports().await;
            Ok::<_, Error>(numbers::int(sent))
        })
        .await
    }
}

/// A failure of `send_with_credential`: the user-authentication causes are the credential's
/// unlock (not signing, not the policy store).
fn credential_error(error: Error) -> TlsError {
    match error {
        Error::UserAuthenticationRequired
        | Error::UserCancelled
        | Error::AuthenticationFailed { .. }
        | Error::LockedOut { .. }
        | Error::KeyInvalidated => TlsError::CredentialLocked {
            reason: error.to_string(),
        },
        other => TlsError::from(other),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The record with the values of its `#[uniffi(default)]`s.
    fn uniffi_defaults() -> HttpsClientOptions {
        HttpsClientOptions {
            allow_tls12: false,
            extra_roots_der: vec![],
            connect_timeout_ms: 10000,
            request_timeout_ms: 30000,
            max_response_bytes: 10485760,
            max_redirects: 5,
            resolve: vec![],
            app_id: String::new(),
            app_version: String::new(),
            rate_limit_enabled: true,
            rate_limit_capacity: 10,
            rate_limit_refill_per_second: 5.0,
        }
    }

    #[test]
    fn the_foreign_defaults_are_the_core_defaults() {
        assert_eq!(
            core::ClientOptions::try_from(uniffi_defaults()),
            Ok(core::ClientOptions::default())
        );
    }

    #[test]
    fn every_option_reaches_the_core() {
        let options = HttpsClientOptions {
            allow_tls12: true,
            extra_roots_der: vec![vec![1, 2, 3]],
            connect_timeout_ms: 1500,
            request_timeout_ms: 2500,
            max_response_bytes: 77,
            max_redirects: 0,
            resolve: vec![HostAddress {
                host: "pay.rukapay.test".to_owned(),
                address: "127.0.0.1:8443".to_owned(),
            }],
            app_id: "com.rukapay.app".to_owned(),
            app_version: "4.2.0".to_owned(),
            rate_limit_enabled: true,
            rate_limit_capacity: 3,
            rate_limit_refill_per_second: 0.5,
        };
        let core = core::ClientOptions::try_from(options).unwrap();
        assert!(core.tls.allow_tls12);
        assert_eq!(core.tls.extra_roots, vec![vec![1, 2, 3]]);
        assert_eq!(core.connect_timeout, Duration::from_millis(1500));
        assert_eq!(core.request_timeout, Duration::from_millis(2500));
        assert_eq!(core.max_response_bytes, 77);
        assert_eq!(core.max_redirects, 0);
        assert_eq!(
            core.resolve,
            vec![(
                "pay.rukapay.test".to_owned(),
                "127.0.0.1:8443".parse().unwrap()
            )]
        );
        assert_eq!(core.report_context.app_id, "com.rukapay.app");
        assert_eq!(core.report_context.app_version, "4.2.0");
        let limit = core.rate_limit.unwrap();
        assert_eq!(limit.capacity(), 3);
        assert!((limit.refill_per_second() - 0.5).abs() < 1e-9);
        let off = HttpsClientOptions {
            rate_limit_enabled: false,
            ..uniffi_defaults()
        };
        assert_eq!(core::ClientOptions::try_from(off).unwrap().rate_limit, None);
        for (capacity, refill) in [(0, 5.0), (-1, 5.0), (10, 0.0), (10, f64::NAN)] {
            let bad = HttpsClientOptions {
                rate_limit_capacity: capacity,
                rate_limit_refill_per_second: refill,
                ..uniffi_defaults()
            };
            assert!(matches!(
                core::ClientOptions::try_from(bad).map_err(TlsError::from),
                Err(TlsError::InvalidInput { .. })
            ));
        }

        let bad = HttpsClientOptions {
            resolve: vec![HostAddress {
                host: "pay.rukapay.test".to_owned(),
                address: "localhost".to_owned(),
            }],
            ..uniffi_defaults()
        };
        assert!(matches!(
            core::ClientOptions::try_from(bad).map_err(TlsError::from),
            Err(TlsError::InvalidInput { .. })
        ));
    }

    #[test]
    fn requests_and_responses_keep_header_order_and_repeats() {
        let request = core::HttpRequest::from(HttpRequest {
            method: "POST".to_owned(),
            url: "https://pay.rukapay.test/".to_owned(),
            headers: vec![
                HttpHeader {
                    name: "a".to_owned(),
                    value: "1".to_owned(),
                },
                HttpHeader {
                    name: "a".to_owned(),
                    value: "2".to_owned(),
                },
            ],
            body: vec![9],
        });
        assert_eq!(
            request.headers,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("a".to_owned(), "2".to_owned())
            ]
        );
        let response = HttpResponse::from(core::HttpResponse {
            status: 201,
            url: "https://pay.rukapay.test/x".to_owned(),
            version: "HTTP/2.0".to_owned(),
            headers: request.headers.clone(),
            body: vec![1],
        });
        assert_eq!(response.headers[1].value, "2");
        assert_eq!(response.status, 201);
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn records_print_no_credentials_or_bodies_in_rust() {
        let canary = "canary-b41d";
        let header = |name: &str| HttpHeader {
            name: name.to_owned(),
            value: format!("Bearer {canary}"),
        };
        let request = HttpRequest {
            method: "POST".to_owned(),
            url: format!("https://api.rukapay.test/x?k={canary}"),
            headers: vec![header("Authorization"), header("Cookie")],
            body: canary.as_bytes().to_vec(),
        };
        let response = HttpResponse {
            status: 401,
            url: "https://api.rukapay.test/x".to_owned(),
            version: "HTTP/1.1".to_owned(),
            headers: vec![header("Set-Cookie")],
            body: canary.as_bytes().to_vec(),
        };
        let item = crate::VaultItem {
            namespace: "tokens".to_owned(),
            name: "refresh".to_owned(),
            value: canary.as_bytes().to_vec(),
            data_class: crate::DataClass::Restricted,
            ttl_seconds: None,
        };
        for printed in [
            format!("{request:?}"),
            format!("{response:?}"),
            format!("{item:?}"),
        ] {
            assert!(!printed.contains(canary), "{printed}");
        }
    }
}
