//! The HTTPS-only client: reqwest on our rustls configuration.
//!
//! No HTTP code of our own: reqwest (hyper) does connection pooling, HTTP/2, redirects and
//! timeouts. What this module adds is the security contract around it:
//! - `https://` only, checked before any connection (an `http://` URL or redirect is refused);
//! - every connection, each redirect hop included, verified by the platform and then pinned;
//! - a response size limit, so a hostile server cannot exhaust the phone's memory;
//! - a new policy builds a new configuration and connection pool, so neither a pooled
//!   connection nor a resumed TLS session outlives the policy it was verified under;
//! - pin-failure reports sent through the pinned client, and HSTS hosts recorded;
//! - requests with an API credential ([`HttpsClient::send_with_credential`]): the credential's
//!   host and environment checked, a token of its rate limit taken, the server's `Retry-After`
//!   on 429 / 503 honoured for that credential, and 401 / 403 reported as events.
//!
//! Errors name their cause ([`TlsFailure`]) and carry host names and fixed text only, never
//! request or response content.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::time::{Duration, SystemTime};

use super::PinPolicy;
use super::checker::{PinChecker, PinOutcome};
use super::config::{TlsOptions, client_config};
use super::hsts::HstsStore;
use super::redact::{RedactedBody, RedactedHeaders, RedactedUrl};
use super::report::{ReportContext, ReportDelivery, ReportSink};
use super::verifier::{CryptoRefusedError, PinMismatchError, classify};
use crate::crypto::Crypto;
use crate::error::{Error, Result, TlsFailure};
use crate::events::{AnomalyDetector, EventBus, SecurityEvent, SecurityEventKind};
use crate::monitor::{
    ClockSkew, CredentialStore, RateLimit, RateLimitMode, RateLimiter, parse_retry_after,
};
use crate::redact::is_sensitive_header;
use crate::signing::{AuthBoundKey, RequestSigner, SignOptions, sign_request};
use crate::unlock::UnlockGrant;

/// How the client behaves; [`Default`] gives the production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// TLS versions and extra trust anchors.
    pub tls: TlsOptions,
    /// Time allowed to open a connection (TCP and TLS handshake).
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, redirects and body included.
    pub request_timeout: Duration,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: u64,
    /// Redirects followed at most (each hop is pinned); 0 refuses every redirect.
    pub max_redirects: usize,
    /// Keep connections open for reuse (on by default; off opens one connection per request).
    pub reuse_connections: bool,
    /// Fixed addresses for host names (tests, the demo, and apps that pin IPs too). The
    /// certificate is still verified for the host name.
    pub resolve: Vec<(String, SocketAddr)>,
    /// What pin-failure reports say about the app.
    pub report_context: ReportContext,
    /// The token bucket of each API credential ([`HttpsClient::send_with_credential`]; other
    /// sends take no token). `None`: no client-side limit, only the server's `Retry-After`.
    /// Default: 10 at once, then 5 a second.
    pub rate_limit: Option<RateLimit>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 10 * 1024 * 1024,
            max_redirects: 5,
            reuse_connections: true,
            resolve: Vec::new(),
            report_context: ReportContext::default(),
            rate_limit: Some(RateLimit::default()),
        }
    }
}

/// A request to send. `Debug` is redacted (see [`super::redact`]).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// An absolute `https://` URL.
    pub url: String,
    /// Header fields in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A `GET` of `url` without headers.
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: "GET".to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// A response received. `Debug` is redacted (see [`super::redact`]).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The URL of the final hop (after redirects).
    pub url: String,
    /// `HTTP/1.1`, `HTTP/2.0`.
    pub version: String,
    /// Header fields in order (values that are not UTF-8 are left out).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &RedactedUrl(&self.url))
            .field("headers", &RedactedHeaders(&self.headers))
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
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &RedactedBody(self.body.len()))
            .finish()
    }
}

/// An HTTPS client that verifies every connection with the platform and then the pin policy.
///
/// Cheap to share (`Arc` it); requests run concurrently over pooled connections. Needs a
/// tokio runtime to run its futures on.
pub struct HttpsClient {
    shared: Arc<Shared>,
}

struct Shared {
    options: ClientOptions,
    events: Arc<EventBus>,
    stack: RwLock<Arc<Stack>>,
    hsts: HstsStore,
    reports: Arc<ReportSink>,
    /// Held while reports are being sent, so `flush_reports` also waits for a background send.
    flushing: tokio::sync::Mutex<()>,
    /// The port last requested per host, for reports (the pin check only sees the name).
    ports: Mutex<HashMap<String, u16>>,
    /// Token buckets and server pauses per credential id.
    limiter: RateLimiter,
    /// Told about every request sent, when attached.
    anomaly: std::sync::OnceLock<Arc<AnomalyDetector>>,
    /// This device's clock against the servers' `Date` headers.
    skew: ClockSkew,
}

/// One policy's configuration: the pin checker and the connection pool built on it.
struct Stack {
    checker: Arc<PinChecker>,
    http: reqwest::Client,
    /// The same, for signed requests: it refuses a redirect to another origin, so a signature,
    /// its `Content-Digest` and the body never reach a host they were not made for.
    signed_http: reqwest::Client,
}

/// A redirect refused by our policy, carried through reqwest to the error mapping.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRefused(&'static str);

impl HttpsClient {
    /// A client applying `policy`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when an extra trust anchor is unusable or, without extra
    /// anchors, the platform has no roots; [`Error::CryptoUnavailable`] after a failed
    /// self-test.
    pub fn new(options: ClientOptions, policy: PinPolicy, events: Arc<EventBus>) -> Result<Self> {
        Self::with_report_sink(options, policy, events, Arc::new(ReportSink::default()))
    }

    /// [`HttpsClient::new`], sending the reports queued in `reports`.
    fn with_report_sink(
        options: ClientOptions,
        policy: PinPolicy,
        events: Arc<EventBus>,
        reports: Arc<ReportSink>,
    ) -> Result<Self> {
        Crypto::get()?;
        let stack = build_stack(&options, policy, &events, &reports)?;
        let limiter = RateLimiter::new(options.rate_limit);
        Ok(Self {
            shared: Arc::new(Shared {
                limiter,
                options,
                events,
                stack: RwLock::new(Arc::new(stack)),
                hsts: HstsStore::default(),
                reports,
                flushing: tokio::sync::Mutex::new(()),
                ports: Mutex::new(HashMap::new()),
                anomaly: std::sync::OnceLock::new(),
                skew: ClockSkew::new(),
            }),
        })
    }

    /// How far this device's clock is from the servers' (server minus device, milliseconds),
    /// as measured from their `Date` headers (see [`ClockSkew`]); `None` before any response.
    pub fn clock_skew_ms(&self) -> Option<i64> {
        self.shared.skew.skew_ms()
    }

    /// The servers' time now: the device's clock corrected by [`HttpsClient::clock_skew_ms`].
    /// The `created` of the signatures this client makes, and the time to compute TOTP codes
    /// at (`otp::Totp::code_at`).
    pub fn server_now(&self) -> SystemTime {
        self.shared.skew.corrected(SystemTime::now())
    }

    /// Tells `detector` about every request this client sends from now on (its request-rate
    /// rule). A client has at most one; a second call keeps the first.
    pub fn set_anomaly_detector(&self, detector: Arc<AnomalyDetector>) {
        let _ = self.shared.anomaly.set(detector);
    }

    /// Replaces the pin policy. The next request uses a new TLS configuration and connection
    /// pool: pooled connections and resumable sessions of the old policy are dropped.
    ///
    /// # Errors
    /// As [`HttpsClient::new`].
    pub fn set_policy(&self, policy: PinPolicy) -> Result<()> {
        let stack = build_stack(
            &self.shared.options,
            policy,
            &self.shared.events,
            &self.shared.reports,
        )?;
        *self
            .shared
            .stack
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(stack);
        Ok(())
    }

    /// The policy in force.
    pub fn policy(&self) -> PinPolicy {
        self.shared.stack().checker.policy().clone()
    }

    /// Applies the policy to a chain that another TLS stack verified (see
    /// [`PinChecker::check_chain`]); reports go out with the next request or
    /// [`HttpsClient::flush_reports`].
    ///
    /// # Errors
    /// As [`PinChecker::check_chain`].
    pub fn check_chain(&self, host: &str, chain_der: &[Vec<u8>]) -> Result<PinOutcome> {
        self.shared.stack().checker.check_chain(host, chain_der)
    }

    /// A checker of this client's policy for chains that the app's own HTTP stack verified
    /// (OkHttp, URLSession), which sends its pin-failure reports like the client does: queued
    /// by [`PinChecker::check_chain`] into this client's report queue (so identical reports go
    /// out at most once a day between the two), then POSTed by a thread of the checker's own,
    /// started on the first report and stopped when the checker is dropped, so a check never
    /// waits for the network. That thread sends through a pinned client of its own made with
    /// this client's options (its [`ReportContext`], resolver, timeouts): a connection pool is
    /// tied to the runtime that made its connections, and the thread's runtime runs only while
    /// it sends. A later [`HttpsClient::set_policy`] does not change the checker: make a new one.
    pub fn pin_checker(&self) -> PinChecker {
        Self::reporting_pin_checker(
            self.shared.options.clone(),
            self.shared.stack().checker.policy().clone(),
            Arc::clone(&self.shared.events),
            Arc::clone(&self.shared.reports),
        )
    }

    /// A checker of `policy` whose reports, queued in `reports`, go out through a client with
    /// `options` made on the first report: a checker never fails, or waits, for want of the
    /// platform's roots or the network (a client that cannot be made is a `PinReportFailed`
    /// event, and the reports stay queued, bounded, for the next try).
    pub(crate) fn reporting_pin_checker(
        options: ClientOptions,
        policy: PinPolicy,
        events: Arc<EventBus>,
        reports: Arc<ReportSink>,
    ) -> PinChecker {
        let checker = PinChecker::with_reports(
            policy.clone(),
            options.tls.extra_roots.clone(),
            Arc::clone(&events),
            Some(Arc::clone(&reports)),
        );
        let build = move || {
            let client = Self::with_report_sink(
                options.clone(),
                policy.clone(),
                Arc::clone(&events),
                Arc::clone(&reports),
            );
            if let Err(error) = &client {
                events.emit(
                    SecurityEvent::new(SecurityEventKind::PinReportFailed)
                        .with_detail("failure", failure_name(error)),
                );
            }
            client
        };
        checker.delivering_with(Arc::new(ReportWorker::new(Box::new(build))))
    }

    /// The hosts that sent `Strict-Transport-Security` and are still within its `max-age`.
    pub fn hsts_hosts(&self) -> Vec<String> {
        self.shared.hsts.hosts(SystemTime::now())
    }

    /// Sends `request` and reads the whole response (up to the size limit).
    ///
    /// # Errors
    /// [`Error::Tls`] naming the cause: [`TlsFailure::InsecureScheme`] for a URL that is not
    /// `https://` (no connection is made), pin mismatch, untrusted / expired / wrong-name
    /// certificate, protocol version, timeout, redirect, response too large, connection.
    /// [`Error::InvalidInput`] for a malformed URL, method or header.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        self.send_on(request, Pool::Plain, None).await
    }

    /// Sends `request` with API credential `id` of `credentials` (see
    /// [`crate::monitor::CredentialStore`]):
    ///
    /// 1. a token of the credential's bucket is taken ([`ClientOptions::rate_limit`]; a
    ///    credential the server paused has none until the pause ends): in
    ///    [`RateLimitMode::Wait`] this waits (dropping the future while it waits takes nothing),
    ///    in [`RateLimitMode::Fail`] it fails at once (a `RateLimited` event);
    /// 2. the credential is read from the vault (on tokio's blocking pool, with `grant` when the
    ///    vault's unlock gate wants one) after its host and environment checks;
    /// 3. its header (`Authorization: Bearer …` or its own) replaces any of that name and the
    ///    request goes out like [`HttpsClient::send_signed`]'s: a redirect to another origin is
    ///    refused, so the credential never reaches a host it was not checked for.
    ///
    /// A 429 or 503 response with a valid `Retry-After` (seconds or an HTTP-date, at most an
    /// hour) pauses the credential until then (a `RateLimited` event) and is returned as it came;
    /// 401 and 403 are returned too, with an `AuthenticationRejected` event. A token taken is
    /// spent even when a later step fails.
    ///
    /// # Errors
    /// [`Error::RateLimited`]; as [`crate::monitor::CredentialStore::credential_for`]
    /// (`CredentialNotFound`, `CredentialHostMismatch`, `CredentialEnvironmentMismatch`, ...);
    /// otherwise as [`HttpsClient::send`].
    pub async fn send_with_credential(
        &self,
        mut request: HttpRequest,
        credentials: &CredentialStore,
        id: &str,
        mode: RateLimitMode,
        grant: Option<UnlockGrant>,
    ) -> Result<HttpResponse> {
        if let Err(error) = self.shared.limiter.acquire(id, mode).await {
            if let Error::RateLimited { retry_after } = &error {
                self.shared.events.emit(
                    SecurityEvent::new(SecurityEventKind::RateLimited)
                        .with_detail("credential", id)
                        .with_detail("outcome", "refused")
                        .with_detail("retry_after_ms", retry_after.as_millis().to_string()),
                );
            }
            return Err(error);
        }
        let store = credentials.clone();
        let (key, url) = (id.to_owned(), request.url.clone());
        let credential = tokio::task::spawn_blocking(move || match &grant {
            Some(grant) => store.credential_for_granted(grant, &key, &url),
            None => store.credential_for(&key, &url),
        })
        .await
        .map_err(|_| Error::Internal {
            reason: "the credential read did not finish".to_owned(),
        })??;
        let (name, value) = credential.header();
        drop(credential);
        request
            .headers
            .retain(|(existing, _)| !existing.eq_ignore_ascii_case(&name));
        request.headers.push((name, value));
        self.send_on(request, Pool::Signed, Some(id)).await
    }

    /// The token buckets and server pauses of the credentials sent with
    /// [`HttpsClient::send_with_credential`].
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.shared.limiter
    }

    async fn send_on(
        &self,
        request: HttpRequest,
        pool: Pool,
        credential: Option<&str>,
    ) -> Result<HttpResponse> {
        let started = std::time::Instant::now();
        tracing::debug!(
            method = %request.method,
            url = ?RedactedUrl(&request.url),
            signed = matches!(pool, Pool::Signed),
            "request started"
        );
        let result = self.shared.send(request, pool).await;
        let elapsed_ms = started.elapsed().as_millis();
        match &result {
            Ok(response) => {
                tracing::info!(
                    status = response.status,
                    url = ?RedactedUrl(&response.url),
                    elapsed_ms,
                    "request finished"
                );
                self.shared.observe(response, credential);
            }
            Err(Error::Tls { failure, .. }) => tracing::warn!(
                failure = failure.as_str(),
                elapsed_ms,
                "request failed (TLS or connection)"
            ),
            Err(_) => tracing::warn!(elapsed_ms, "request failed"),
        }
        if self.shared.reports.has_pending()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let shared = Arc::clone(&self.shared);
            runtime.spawn(async move { shared.flush_reports().await });
        }
        result
    }

    /// Signs `request` on the way out (RFC 9421 with an RFC 9530 `Content-Digest`, see
    /// [`sign_request`]) with the device key `signer`, then sends it as [`HttpsClient::send`].
    /// A redirect to the same origin (scheme, host and port) is followed; a redirect of a signed
    /// request to another origin is refused ([`TlsFailure::Redirect`]) before anything is sent
    /// there, so the signature, `Content-Digest`, body and `Authorization` never leave for a host
    /// they were not made for.
    ///
    /// # Errors
    /// [`Error::Signature`] when signing fails; otherwise as [`HttpsClient::send`].
    pub async fn send_signed(
        &self,
        mut request: HttpRequest,
        signer: &dyn RequestSigner,
        options: &SignOptions,
    ) -> Result<HttpResponse> {
        let crypto = Crypto::get()?;
        sign_request(&crypto, signer, &request, options, self.server_now())?.apply(&mut request);
        self.send_on(request, Pool::Signed, None).await
    }

    /// [`HttpsClient::send_signed`] with a device key that needs the user for each signature
    /// ([`AuthBoundKey`]): prompts once for `reason`, then sends. Nothing is sent when the
    /// prompt does not end in a signature.
    ///
    /// # Errors
    /// As [`AuthBoundKey::sign_request`]; otherwise as [`HttpsClient::send`].
    pub async fn send_signed_authenticated(
        &self,
        mut request: HttpRequest,
        key: &AuthBoundKey,
        options: &SignOptions,
        reason: &str,
    ) -> Result<HttpResponse> {
        key.sign_request(&request, options, self.server_now(), reason)
            .await?
            .apply(&mut request);
        self.send_on(request, Pool::Signed, None).await
    }

    /// Sends the pin-failure reports waiting to go out (identical ones at most once a day),
    /// after waiting for a send already under way (`send` starts one in the background).
    /// Returns how many this call sent.
    pub async fn flush_reports(&self) -> usize {
        self.shared.flush_reports().await
    }
}

/// Makes the client a reporting checker's reports go through (on the worker's thread).
type ClientFactory = Box<dyn Fn() -> Result<HttpsClient> + Send + Sync>;

/// Sends a standalone checker's reports through its client, on one thread with a runtime of
/// its own (the app's thread running the check may have no runtime, and a connection pool must
/// stay on the runtime that made its connections).
struct ReportWorker {
    /// Taken by the thread when it starts.
    client: Mutex<Option<ClientFactory>>,
    /// Wakes the thread; `Some` asks it to answer with the number sent. `None` until the
    /// first report, and again if the thread could not be started.
    wake: Mutex<Option<mpsc::Sender<Option<mpsc::Sender<usize>>>>>,
}

impl ReportWorker {
    fn new(client: ClientFactory) -> Self {
        Self {
            client: Mutex::new(Some(client)),
            wake: Mutex::new(None),
        }
    }

    /// Sends `message` to the thread, starting it first when needed. False when no thread can
    /// run (the reports stay queued for the next try; the events still record each mismatch).
    fn send(&self, message: Option<mpsc::Sender<usize>>) -> bool {
        let mut wake = lock(&self.wake);
        if wake.is_none() {
            *wake = self.start();
        }
        let delivered = wake
            .as_ref()
            .is_some_and(|sender| sender.send(message).is_ok());
        if !delivered {
            *wake = None;
        }
        delivered
    }

    fn start(&self) -> Option<mpsc::Sender<Option<mpsc::Sender<usize>>>> {
        // One thread per checker: a thread that could not start leaves no factory to retry.
        let factory = lock(&self.client).take()?;
        let (sender, receiver) = mpsc::channel::<Option<mpsc::Sender<usize>>>();
        std::thread::Builder::new()
            .name("rukasec-pin-reports".to_owned())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                let mut client = None;
                // Ends when the checker (the only sender) is dropped.
                while let Ok(reply) = receiver.recv() {
                    if client.is_none() {
                        client = factory().ok();
                    }
                    let sent = client
                        .as_ref()
                        .map_or(0, |client| runtime.block_on(client.flush_reports()));
                    if let Some(reply) = reply {
                        // The waiting caller may have given up: nothing to do then.
                        let _ = reply.send(sent);
                    }
                }
            })
            .ok()
            .map(|_| sender)
    }
}

impl ReportDelivery for ReportWorker {
    fn queued(&self) {
        self.send(None);
    }

    fn flush(&self) -> usize {
        let (reply, answer) = mpsc::channel();
        if !self.send(Some(reply)) {
            return 0;
        }
        answer.recv().unwrap_or(0)
    }
}

fn build_stack(
    options: &ClientOptions,
    policy: PinPolicy,
    events: &Arc<EventBus>,
    reports: &Arc<ReportSink>,
) -> Result<Stack> {
    let checker = Arc::new(PinChecker::with_reports(
        policy,
        options.tls.extra_roots.clone(),
        Arc::clone(events),
        Some(Arc::clone(reports)),
    ));
    let config = client_config(&options.tls, Arc::clone(&checker), Arc::clone(events))?;
    let http = http_client(options, config.clone(), false)?;
    let signed_http = http_client(options, config, true)?;
    Ok(Stack {
        checker,
        http,
        signed_http,
    })
}

/// Which connection pool a request goes through.
#[derive(Clone, Copy)]
enum Pool {
    Plain,
    Signed,
}

/// A reqwest client on `config`; with `same_origin_only`, a redirect to another origin is
/// refused.
fn http_client(
    options: &ClientOptions,
    config: rustls::ClientConfig,
    same_origin_only: bool,
) -> Result<reqwest::Client> {
    let max_redirects = options.max_redirects;
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        let first = attempt.previous().first().map(reqwest::Url::origin);
        if attempt.url().scheme() != "https" {
            attempt.error(RedirectRefused("a redirect to a URL that is not https://"))
        } else if attempt.previous().len() > max_redirects {
            attempt.error(RedirectRefused("too many redirects"))
        } else if same_origin_only && first.is_none_or(|first| first != attempt.url().origin()) {
            attempt.error(RedirectRefused(
                "a redirect of a signed request to another origin",
            ))
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .https_only(true)
        .redirect(redirects)
        .connect_timeout(options.connect_timeout)
        .timeout(options.request_timeout)
        .user_agent(concat!("rukasec/", env!("CARGO_PKG_VERSION")));
    if !options.reuse_connections {
        builder = builder.pool_max_idle_per_host(0);
    }
    for (host, addr) in &options.resolve {
        builder = builder.resolve(host, *addr);
    }
    builder
        .build()
        .map_err(|_| Error::invalid_input("the HTTP client could not be built"))
}

impl Shared {
    fn stack(&self) -> Arc<Stack> {
        Arc::clone(
            &self
                .stack
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    async fn send(&self, request: HttpRequest, pool: Pool) -> Result<HttpResponse> {
        let url = reqwest::Url::parse(&request.url)
            .map_err(|_| Error::invalid_input("the URL is not an absolute URL"))?;
        let host = url
            .host_str()
            .ok_or_else(|| Error::invalid_input("the URL has no host"))?
            .to_owned();
        if url.scheme() != "https" {
            let hsts = if self.hsts.covers(&host, SystemTime::now()) {
                " (and the host requires HTTPS: HSTS)"
            } else {
                ""
            };
            return Err(Error::tls(
                TlsFailure::InsecureScheme,
                format!(
                    "only https:// URLs are allowed, got {}://{hsts}",
                    url.scheme()
                ),
            ));
        }
        if let Some(port) = url.port_or_known_default() {
            let mut ports = lock(&self.ports);
            if ports.len() > 256 {
                ports.clear();
            }
            ports.insert(host.clone(), port);
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| Error::invalid_input("the HTTP method is not a valid token"))?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::invalid_input("a header name is not a valid token"))?;
            let mut value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| Error::invalid_input("a header value has forbidden characters"))?;
            // Kept out of HTTP/2's header compression table (and hyper's Debug).
            value.set_sensitive(is_sensitive_header(name.as_str()));
            headers.append(name, value);
        }
        if let Some(detector) = self.anomaly.get() {
            detector.record_request();
        }
        let stack = self.stack();
        let http = match pool {
            Pool::Plain => &stack.http,
            Pool::Signed => &stack.signed_http,
        };
        let mut builder = http.request(method, url).headers(headers);
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let mut response = builder.send().await.map_err(|e| map_error(&e, &host))?;

        let limit = self.options.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(too_large(limit));
        }
        let final_url = response.url().to_string();
        if let (Some(final_host), Some(header)) = (
            response.url().host_str(),
            response
                .headers()
                .get(reqwest::header::STRICT_TRANSPORT_SECURITY),
        ) && let Ok(header) = header.to_str()
        {
            self.hsts.record(final_host, header, SystemTime::now());
        }
        let status = response.status().as_u16();
        let version = format!("{:?}", response.version());
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| map_error(&e, &host))? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            url: final_url,
            version,
            headers,
            body,
        })
    }

    /// Events for what the response says about the credential or token it carried: 401 / 403
    /// (`AuthenticationRejected`), and for a credential a 429 / 503 with `Retry-After`, which
    /// pauses it (`RateLimited`).
    fn observe(&self, response: &HttpResponse, credential: Option<&str>) {
        let host = reqwest::Url::parse(&response.url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        if let Some(date) = response
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("date"))
            .map(|(_, value)| value)
            && let Some(update) = self.skew.observe(date, SystemTime::now())
            && update.report
        {
            self.events.emit(
                SecurityEvent::new(SecurityEventKind::ClockSkewDetected)
                    .with_detail("skew_s", (update.skew_ms / 1_000).to_string())
                    .with_detail("host", host.clone()),
            );
        }
        match response.status {
            401 | 403 => {
                let mut event = SecurityEvent::new(SecurityEventKind::AuthenticationRejected)
                    .with_detail("host", host)
                    .with_detail("status", response.status.to_string());
                if let Some(id) = credential {
                    event = event.with_detail("credential", id);
                }
                self.events.emit(event);
            }
            429 | 503 => {
                let Some(id) = credential else { return };
                let now = SystemTime::now();
                // A repeated header: the longest valid delay (each capped) is honoured.
                let Some(delay) = response
                    .headers
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
                    .filter_map(|(_, value)| parse_retry_after(value, now))
                    .max()
                    .filter(|delay| !delay.is_zero())
                else {
                    return;
                };
                self.limiter.pause(id, delay);
                self.events.emit(
                    SecurityEvent::new(SecurityEventKind::RateLimited)
                        .with_detail("credential", id)
                        .with_detail("outcome", "paused")
                        .with_detail("retry_after_ms", delay.as_millis().to_string())
                        .with_detail("status", response.status.to_string())
                        .with_detail("host", host),
                );
            }
            _ => {}
        }
    }

    async fn flush_reports(&self) -> usize {
        let Ok(crypto) = Crypto::get() else {
            return 0;
        };
        let _flushing = self.flushing.lock().await;
        let mut sent = 0;
        for report in self.reports.take() {
            let port = lock(&self.ports).get(report.host()).copied().unwrap_or(443);
            let context = &self.options.report_context;
            let now = SystemTime::now();
            if self
                .reports
                .suppress(&crypto, &report.to_json(context, port, false), now)
            {
                continue;
            }
            let request = HttpRequest {
                method: "POST".to_owned(),
                url: report.uri.clone(),
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: report.to_json(context, port, true).into_bytes(),
            };
            let event = match self.send(request, Pool::Plain).await {
                Ok(response) => {
                    sent += 1;
                    SecurityEvent::new(SecurityEventKind::PinReportSent)
                        .with_detail("host", report.host())
                        .with_detail("status", response.status.to_string())
                }
                Err(error) => SecurityEvent::new(SecurityEventKind::PinReportFailed)
                    .with_detail("host", report.host())
                    .with_detail("failure", failure_name(&error)),
            };
            self.events.emit(event);
        }
        sent
    }
}

fn failure_name(error: &Error) -> String {
    match error {
        Error::Tls { failure, .. } => failure.as_str().to_owned(),
        other => other.reason(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded map stays valid whatever a panicking holder did.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn too_large(limit: u64) -> Error {
    Error::tls(
        TlsFailure::ResponseTooLarge,
        format!("the response body is larger than the limit of {limit} bytes"),
    )
}

/// Names the cause of a reqwest error by looking for our own and rustls's errors inside it.
fn map_error(error: &reqwest::Error, host: &str) -> Error {
    // `io::Error::source` skips the error it wraps, so wrapped errors are opened explicitly.
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![error];
    let mut visited = 0;
    while let Some(current) = pending.pop() {
        visited += 1;
        if visited > 32 {
            break;
        }
        if let Some(found) = from_known(current, host) {
            return found;
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            pending.push(inner);
        }
        if let Some(next) = current.source() {
            pending.push(next);
        }
    }
    let (failure, what) = if error.is_timeout() {
        (TlsFailure::Timeout, "the request timed out")
    } else if error.is_redirect() {
        (TlsFailure::Redirect, "the redirect was refused")
    } else if error.is_connect() {
        (TlsFailure::Connection, "the connection failed")
    } else {
        (TlsFailure::Protocol, "the server's response was malformed")
    };
    Error::tls(failure, format!("{what} (request to {host})"))
}

fn from_known(error: &(dyn std::error::Error + 'static), host: &str) -> Option<Error> {
    if let Some(rustls_error) = error.downcast_ref::<rustls::Error>() {
        if let rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) =
            rustls_error
        {
            if let Some(mismatch) = other.0.downcast_ref::<PinMismatchError>() {
                return Some(Error::tls(TlsFailure::PinMismatch, mismatch.0.clone()));
            }
            if other.0.is::<CryptoRefusedError>() {
                return Some(Error::CryptoUnavailable);
            }
        }
        let failure = classify(rustls_error);
        return Some(Error::tls(
            failure,
            format!("{rustls_error} (request to {host})"),
        ));
    }
    if let Some(mismatch) = error.downcast_ref::<PinMismatchError>() {
        return Some(Error::tls(TlsFailure::PinMismatch, mismatch.0.clone()));
    }
    if let Some(refused) = error.downcast_ref::<RedirectRefused>() {
        return Some(Error::tls(
            TlsFailure::Redirect,
            format!("{refused} (request to {host})"),
        ));
    }
    None
}
