//! A local HTTPS server with a generated PKI (root, intermediate, leaf), for the core's TLS
//! tests, the benchmarks, the CLI demo and the bindings' test exports (feature `test-server`).
//!
//! It is real TLS (rustls with ring, hyper for HTTP/1.1 and HTTP/2), so the client under test
//! runs exactly the code an app runs; only the trust anchor is the test root, handed to the
//! client as an extra root. Never built into an app.
//!
//! Routes: `/redirect?to=URL[&status=307]` (302 or the status given), `/hsts` (sends `Strict-Transport-Security`),
//! `/big?bytes=N` (N bytes), `/truncated` (promises 1000 bytes, sends 9, ends the connection),
//! `/status/CODE[?retry-after=VALUE]` (that status, 200 to 599, with `Retry-After: VALUE`
//! percent-decoded, so `Sun,%2006%20Nov%201994%2008:49:37%20GMT` sends an HTTP-date),
//! anything else 200 with a short text. Every request is recorded,
//! and an optional handler may answer instead.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::sync::oneshot;

use super::SpkiPin;
use crate::crypto::Crypto;
use crate::error::{Error, Result};

type Body = http_body_util::Full<Bytes>;

/// A generated root and intermediate CA that issue leaf certificates.
pub struct TestPki {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf certificate and its key.
pub struct TestLeaf {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its PKCS#8 private key, DER.
    pub key_pkcs8: Vec<u8>,
}

/// A request the server received. `Debug` is redacted like [`super::HttpRequest`]'s.
#[derive(Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// The method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for SeenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use super::redact::{RedactedBody, RedactedHeaders, RedactedUrl};
        f.debug_struct("SeenRequest")
            .field("method", &self.method)
            .field("target", &RedactedUrl(&self.target))
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &RedactedBody(self.body.len()))
            .finish()
    }
}

/// Answers a request instead of the built-in routes: `Some((status, body))`, or `None` to
/// fall through to them.
pub type TestHandler = Arc<dyn Fn(&SeenRequest) -> Option<(u16, Vec<u8>)> + Send + Sync>;

/// What to serve.
#[derive(Clone)]
pub struct TestServerOptions {
    /// The leaf's DNS names.
    pub hosts: Vec<String>,
    /// Serve TLS 1.2 only (to prove the client refuses it by default).
    pub tls12_only: bool,
    /// Serve a leaf that expired in 2021.
    pub expired: bool,
    /// Also send the root certificate in the chain.
    pub send_root: bool,
    /// Demand a client certificate issued under the test root (the client has none, so the
    /// server aborts the handshake with an alert).
    pub client_auth: bool,
    /// Answers requests before the built-in routes.
    pub handler: Option<TestHandler>,
}

impl Default for TestServerOptions {
    fn default() -> Self {
        Self {
            hosts: vec!["pay.rukapay.test".to_owned()],
            tls12_only: false,
            expired: false,
            send_root: false,
            client_auth: false,
            handler: None,
        }
    }
}

/// A running server; stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    chain: Vec<Vec<u8>>,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

fn failed(what: &str) -> Error {
    Error::Internal {
        reason: format!("test server: {what}"),
    }
}

impl TestPki {
    /// A new root ("RukaSec Test Root") and intermediate, P-256.
    ///
    /// # Errors
    /// [`Error::Internal`] if certificate generation fails.
    pub fn new() -> Result<Self> {
        let root = CertifiedIssuer::self_signed(ca_params("RukaSec Test Root"), key()?)
            .map_err(|_| failed("root"))?;
        let intermediate =
            CertifiedIssuer::signed_by(ca_params("RukaSec Test Intermediate"), key()?, &root)
                .map_err(|_| failed("intermediate"))?;
        Ok(Self { root, intermediate })
    }

    /// The root certificate, DER (the client's extra trust anchor).
    pub fn root_der(&self) -> Vec<u8> {
        self.root.der().to_vec()
    }

    /// The intermediate certificate, DER.
    pub fn intermediate_der(&self) -> Vec<u8> {
        self.intermediate.der().to_vec()
    }

    /// Issues a leaf for `hosts` from the intermediate; `expired` makes it valid 2020–2021.
    ///
    /// # Errors
    /// [`Error::Internal`] if certificate generation fails.
    pub fn leaf(&self, hosts: &[String], expired: bool) -> Result<TestLeaf> {
        let mut params = CertificateParams::new(hosts.to_vec()).map_err(|_| failed("names"))?;
        params.distinguished_name.push(
            DnType::CommonName,
            hosts.first().cloned().unwrap_or_default(),
        );
        if expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = key()?;
        let cert = params
            .signed_by(&key, &self.intermediate)
            .map_err(|_| failed("leaf"))?;
        Ok(TestLeaf {
            der: cert.der().to_vec(),
            key_pkcs8: key.serialize_der(),
        })
    }
}

fn key() -> Result<KeyPair> {
    KeyPair::generate().map_err(|_| failed("key"))
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params
}

/// The SPKI pin of a DER certificate (test convenience).
///
/// # Errors
/// As [`super::spki_sha256_pin`].
pub fn pin_of(der: &[u8]) -> Result<SpkiPin> {
    let _ = Crypto::get()?;
    super::spki_sha256_pin(der)
}

impl TestServer {
    /// Starts a server on `127.0.0.1` (a free port) with a fresh leaf from `pki`.
    ///
    /// # Errors
    /// [`Error::Internal`] when the certificate, socket or runtime cannot be set up.
    pub fn start(pki: &TestPki, options: TestServerOptions) -> Result<Self> {
        let leaf = pki.leaf(&options.hosts, options.expired)?;
        let mut chain = vec![leaf.der.clone(), pki.intermediate_der()];
        if options.send_root {
            chain.push(pki.root_der());
        }
        let versions: &[&rustls::SupportedProtocolVersion] = if options.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .map_err(|_| failed("versions"))?;
        let builder = if options.client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from(pki.root_der()))
                .map_err(|_| failed("client roots"))?;
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|_| failed("client verifier"))?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(
                chain.iter().cloned().map(CertificateDer::from).collect(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_pkcs8)),
            )
            .map_err(|_| failed("server config"))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|_| failed("bind"))?;
        listener
            .set_nonblocking(true)
            .map_err(|_| failed("socket"))?;
        let addr = listener.local_addr().map_err(|_| failed("socket"))?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|_| failed("runtime"))?;
        let state = Arc::new(State {
            seen: Arc::clone(&seen),
            handler: options.handler,
        });
        let thread = std::thread::Builder::new()
            .name("rukasec-test-server".to_owned())
            .spawn(move || runtime.block_on(serve(listener, acceptor, state, stopped)))
            .map_err(|_| failed("thread"))?;
        Ok(Self {
            addr,
            chain,
            seen,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The chain it sends (leaf first), DER.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        self.chain.clone()
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct State {
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    handler: Option<TestHandler>,
}

async fn serve(
    listener: std::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
    mut stopped: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((socket, _)) = accepted else { continue };
        let _ = socket.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            // A handshake the client refuses (pin mismatch, TLS 1.2) ends here, as it should.
            let Ok(tls) = acceptor.accept(socket).await else {
                return;
            };
            let service = service_fn(move |request| respond(Arc::clone(&state), request));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

async fn respond(
    state: Arc<State>,
    request: Request<Incoming>,
) -> std::result::Result<Response<Body>, Infallible> {
    use http_body_util::BodyExt as _;
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes().to_vec())
        .unwrap_or_default();
    let seen = SeenRequest {
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string),
        headers: parts
            .headers
            .iter()
            .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_owned())))
            .collect(),
        body,
    };
    state
        .seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(seen.clone());
    if let Some((status, body)) = state.handler.as_ref().and_then(|handler| handler(&seen)) {
        return Ok(reply(status, body, &[]));
    }
    let (path, query) = seen
        .target
        .split_once('?')
        .unwrap_or((seen.target.as_str(), ""));
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    Ok(match path {
        "/redirect" => {
            let to = param("to").unwrap_or_default();
            // `status=307` keeps the method and body (RFC 9110 §15.4.8); 302 by default.
            let status = param("status").and_then(|s| s.parse().ok()).unwrap_or(302);
            reply(status, Vec::new(), &[("location", to.as_str())])
        }
        "/hsts" => reply(
            200,
            b"hsts\n".to_vec(),
            &[(
                "strict-transport-security",
                "max-age=31536000; includeSubDomains",
            )],
        ),
        "/big" => {
            let bytes = param("bytes")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0usize);
            reply(200, vec![b'x'; bytes.min(64 << 20)], &[])
        }
        status if status.starts_with("/status/") => {
            let code = status["/status/".len()..]
                .parse::<u16>()
                .ok()
                .filter(|code| (200..=599).contains(code))
                .unwrap_or(400);
            let retry_after = param("retry-after").map(|value| percent_decode(&value));
            let headers: Vec<(&str, &str)> = retry_after
                .iter()
                .map(|value| ("retry-after", value.as_str()))
                .collect();
            reply(code, format!("status {code}\n").into_bytes(), &headers)
        }
        // A server whose clock is `offset` seconds (signed) from this machine's.
        "/date" => {
            let offset = param("offset")
                .and_then(|value| value.parse::<i64>().ok())
                .unwrap_or(0);
            let now = std::time::SystemTime::now();
            let at = if offset >= 0 {
                now + std::time::Duration::from_secs(offset.unsigned_abs())
            } else {
                now - std::time::Duration::from_secs(offset.unsigned_abs())
            };
            let date = httpdate::fmt_http_date(at);
            reply(200, b"dated\n".to_vec(), &[("date", date.as_str())])
        }
        // Promises more than it sends: the connection ends inside the body.
        "/truncated" => reply(200, b"only part".to_vec(), &[("content-length", "1000")]),
        _ => reply(200, b"hello from the rukasec test server\n".to_vec(), &[]),
    })
}

/// `%XX` escapes decoded (anything malformed kept as it is), for query parameters.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reply(status: u16, body: Vec<u8>, headers: &[(&str, &str)]) -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
