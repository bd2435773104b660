//! TLS benchmarks on loopback against the local test server (rustls + hyper, TLS 1.3, P-256
//! chain of three): what pinning costs, what resumption and connection reuse save, and how the
//! client compares with curl doing the same 100 GETs.
//!
//! `cargo bench -p rukasec-core --bench tls` (about 3 minutes on 2 cores, plus the build);
//! results and targets are in docs/PERFORMANCE.md ("Pinned TLS"). Under `cargo test` every
//! benchmark runs once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use rukasec_core::events::EventBus;
use rukasec_core::tls::test_server::{TestPki, TestServer, TestServerOptions, pin_of};
use rukasec_core::tls::{
    ClientOptions, DomainPolicy, HttpRequest, HttpsClient, PinChecker, PinPolicy, SpkiPin,
    TlsOptions,
};

const HOST: &str = "pay.rukapay.test";
const GETS: usize = 100;

struct Bench {
    pki: TestPki,
    server: TestServer,
    runtime: tokio::runtime::Runtime,
    events: Arc<EventBus>,
}

impl Bench {
    fn url(&self) -> String {
        format!("https://{HOST}:{}/", self.server.addr().port())
    }

    fn client(&self, policy: PinPolicy, reuse: bool, resumption: bool) -> HttpsClient {
        let options = ClientOptions {
            tls: TlsOptions {
                extra_roots: vec![self.pki.root_der()],
                resumption,
                ..TlsOptions::default()
            },
            reuse_connections: reuse,
            resolve: vec![(HOST.to_owned(), self.server.addr())],
            ..ClientOptions::default()
        };
        HttpsClient::new(options, policy, self.events.clone()).unwrap()
    }

    fn get(&self, client: &HttpsClient) {
        let response = self
            .runtime
            .block_on(client.send(HttpRequest::get(self.url())))
            .unwrap();
        assert_eq!(response.status, 200);
        black_box(response);
    }

    fn gets(&self, client: &HttpsClient, count: usize) {
        self.runtime.block_on(async {
            for _ in 0..count {
                let response = client.send(HttpRequest::get(self.url())).await.unwrap();
                assert_eq!(response.status, 200);
            }
        });
    }
}

fn backup() -> SpkiPin {
    format!("sha256/{}A=", "B".repeat(42)).parse().unwrap()
}

fn pinned(pin: SpkiPin) -> PinPolicy {
    PinPolicy::new(vec![
        DomainPolicy::new(HOST, false, [pin, backup()]).unwrap(),
    ])
    .unwrap()
}

fn main() {
    let pki = TestPki::new().unwrap();
    let server = TestServer::start(&pki, TestServerOptions::default()).unwrap();
    let bench = Bench {
        pki,
        server,
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        events: Arc::new(EventBus::new(None)),
    };
    let leaf = pin_of(&bench.server.chain_der()[0]).unwrap();
    let intermediate = pin_of(&bench.pki.intermediate_der()).unwrap();

    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    // One new connection per GET: a full handshake each time (no session to resume).
    let mut full = criterion.benchmark_group("handshake+GET");
    for (label, policy) in [
        ("full, unpinned", PinPolicy::empty()),
        ("full, leaf pin", pinned(leaf)),
        ("full, intermediate pin", pinned(intermediate)),
    ] {
        let client = bench.client(policy, false, false);
        full.bench_function(label, |b| b.iter(|| bench.get(&client)));
    }
    let resumed = bench.client(pinned(leaf), false, true);
    full.bench_function("resumed, leaf pin", |b| b.iter(|| bench.get(&resumed)));
    full.finish();

    // The pin check alone, on the chain the server sends (the intermediate pin walks the
    // signature path; its result is cached per chain).
    let chain = bench.server.chain_der();
    let mut check = criterion.benchmark_group("pin check");
    for (label, pin) in [("leaf pin", leaf), ("intermediate pin", intermediate)] {
        let checker = PinChecker::new(pinned(pin), vec![], bench.events.clone());
        check.bench_function(label, |b| {
            b.iter(|| black_box(checker.check_chain(HOST, &chain).unwrap()));
        });
    }
    // The first handshake with a chain: the path is walked (one ECDSA verification per link).
    check.bench_function("intermediate pin, uncached path", |b| {
        b.iter_batched(
            || PinChecker::new(pinned(intermediate), vec![], bench.events.clone()),
            |checker| black_box(checker.check_chain(HOST, &chain).unwrap()),
            criterion::BatchSize::SmallInput,
        );
    });
    check.finish();

    let mut many = criterion.benchmark_group("100 GETs");
    many.sample_size(10);
    let reused = bench.client(pinned(leaf), true, true);
    many.bench_function("one connection", |b| b.iter(|| bench.gets(&reused, GETS)));
    let fresh = bench.client(pinned(leaf), false, true);
    many.bench_function("100 connections (resumed)", |b| {
        b.iter(|| bench.gets(&fresh, GETS));
    });
    if curl_available() {
        let root =
            std::env::temp_dir().join(format!("rukasec-bench-root-{}.der", std::process::id()));
        std::fs::write(&root, bench.pki.root_der()).unwrap();
        let root_pem = root.with_extension("pem");
        let status = Command::new("openssl")
            .args(["x509", "-inform", "DER", "-in"])
            .arg(&root)
            .arg("-out")
            .arg(&root_pem)
            .status();
        if status.is_ok_and(|s| s.success()) {
            many.bench_function("curl, one connection", |b| {
                b.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        total += curl_gets(&bench, &root_pem);
                    }
                    total
                });
            });
        }
        let _ = std::fs::remove_file(&root);
        let _ = std::fs::remove_file(&root_pem);
    }
    many.finish();
    criterion.final_summary();
}

fn curl_available() -> bool {
    Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// curl fetching the URL 100 times in one process (it reuses one connection), TLS 1.3 only.
fn curl_gets(bench: &Bench, ca: &std::path::Path) -> Duration {
    let port = bench.server.addr().port();
    let url = bench.url();
    let mut command = Command::new("curl");
    command
        .args(["--silent", "--fail", "--tlsv1.3"])
        .stdout(std::process::Stdio::null())
        .arg("--cacert")
        .arg(ca)
        .arg("--resolve")
        .arg(format!("{HOST}:{port}:127.0.0.1"));
    for _ in 0..GETS {
        command.arg(&url);
    }
    let started = Instant::now();
    let status = command.status().unwrap();
    let elapsed = started.elapsed();
    assert!(status.success(), "curl failed");
    elapsed
}
