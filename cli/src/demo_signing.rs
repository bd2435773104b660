//! The demo's request-signing step: a device key signs API requests (RFC 9421 with an RFC 9530
//! `Content-Digest`), a server verifies them, and a DPoP proof (RFC 9449) binds a token to the
//! same key.
//!
//! Why it is shown against a server and not just printed: a signature only means something
//! through the check on the other side. The local [`TestServer`] (the same pinned-TLS set-up as
//! step [4]) answers every request by running the core's [`SignatureVerifier`] on what it
//! actually received, with the device's public key enrolled under its JWK thumbprint and nonces
//! required: a signed POST passes (200), the same POST with its body changed after signing is
//! refused (`digest-mismatch`), a signature by another key under the device's keyid is refused
//! (`bad-signature`), and the first POST sent again unchanged is refused (`replayed-nonce`).
//! Every outcome is checked; an unexpected one stops the demo.

use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rukasec_core::crypto::Crypto;
use rukasec_core::signing::{
    DpopOptions, SignOptions, SignatureVerifier, SoftwareKey, VerifierOptions, dpop_proof,
    random_nonce, sign_request,
};
use rukasec_core::tls::test_server::{
    SeenRequest, TestHandler, TestPki, TestServer, TestServerOptions,
};
use rukasec_core::tls::{ClientOptions, HttpRequest, HttpResponse, TlsOptions};
use rukasec_core::{Error, RukaSec};

use crate::demo_tls::{pinned, spare_pin};
use crate::events::EventLog;
use crate::failure::{Failure, INTERNAL};
use crate::fetch::{runtime, status_line};

/// The name the server's certificate is issued for.
const HOST: &str = "pay.rukapay.test";
/// The API the demo calls.
const PATH: &str = "/v1/payments";
/// The payment the device signs.
const BODY: &str = r#"{"amount":"100.00","currency":"EUR","to":"acct-42"}"#;
/// The same payment after a proxy "adjusted" it.
const TAMPERED_BODY: &str = r#"{"amount":"10000.00","currency":"EUR","to":"acct-66"}"#;
/// The access token the DPoP proof is bound to (`ath`).
const ACCESS_TOKEN: &str = "demo-access-token";

/// Runs the step; the caller prints the security events.
pub fn run(core: &RukaSec, log: &EventLog, out: &mut impl Write) -> Result<(), Failure> {
    let crypto = Crypto::get()?;
    let device = SoftwareKey::generate()?;
    let public = device.public_key();
    let keyid = public.thumbprint.clone();
    writeln!(
        out,
        "  device key: P-256 (software here; the platform keystore on a phone), JWK thumbprint \
         (RFC 7638, the keyid) {keyid}"
    )?;

    // The server: verifies what it receives with the enrolled public key. It needs its own
    // origin to rebuild `@target-uri`, known only once it listens.
    let enrolled_id = keyid.clone();
    let enrolled_key = public.sec1.clone();
    let resolver = move |id: &str| (id == enrolled_id.as_str()).then(|| enrolled_key.clone());
    let verifier = Arc::new(SignatureVerifier::new(
        Arc::new(resolver),
        VerifierOptions {
            require_nonce: true,
            ..VerifierOptions::default()
        },
    ));
    let origin = Arc::new(OnceLock::new());
    let handler: TestHandler = {
        let origin = Arc::clone(&origin);
        Arc::new(move |seen: &SeenRequest| Some(answer(&verifier, origin.get(), seen)))
    };
    let pki = TestPki::new()?;
    let server = TestServer::start(
        &pki,
        TestServerOptions {
            hosts: vec![HOST.to_owned()],
            handler: Some(handler),
            ..TestServerOptions::default()
        },
    )?;
    let base = format!("https://{HOST}:{}", server.addr().port());
    origin
        .set(base.clone())
        .map_err(|_| failed("the server's origin was set twice"))?;
    writeln!(
        out,
        "  server: {HOST} on {}, verifies every request (keyid -> the enrolled key; @method, \
         @target-uri and content-digest covered; at most 300 s old; nonce required, remembered)",
        server.addr()
    )?;

    let leaf = server
        .chain_der()
        .first()
        .cloned()
        .ok_or_else(|| failed("the server sent no certificate"))?;
    let policy = pinned(
        &[core.spki_sha256_pin(&leaf)?, spare_pin(core, "backup")?],
        true,
    )?;
    let options = ClientOptions {
        tls: TlsOptions {
            extra_roots: vec![pki.root_der()],
            ..TlsOptions::default()
        },
        resolve: vec![(HOST.to_owned(), server.addr())],
        ..ClientOptions::default()
    };
    let client = core.https_client(options, policy)?;
    let runtime = runtime()?;
    let send = |request: &HttpRequest| runtime.block_on(client.send(request.clone()));

    let url = format!("{base}{PATH}");
    let request = HttpRequest {
        method: "POST".to_owned(),
        url: url.clone(),
        headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
        body: BODY.as_bytes().to_vec(),
    };
    let mut sign_options = SignOptions::new(keyid.clone());
    sign_options.nonce = Some(random_nonce(&crypto)?);
    sign_options.expires_in = Some(Duration::from_secs(60));
    let signed = sign_request(&crypto, &device, &request, &sign_options, SystemTime::now())?;
    let mut sent = request.clone();
    signed.apply(&mut sent);
    writeln!(out, "  POST {url} {BODY}, signed (pinned TLS as in [4]):")?;
    for (name, value) in sent.headers.iter().skip(request.headers.len()) {
        writeln!(out, "    {name}: {value}")?;
    }
    let response = send(&sent)?;
    expect(&response, 200, "signature valid: keyid=")?;
    writeln!(out, "    -> {}", outcome(&response))?;
    log.print_new(core, out)?;

    let mut tampered = sent.clone();
    tampered.body = TAMPERED_BODY.as_bytes().to_vec();
    let response = send(&tampered)?;
    expect(&response, 401, "digest-mismatch: ")?;
    writeln!(
        out,
        "  the same request, body changed after signing to {TAMPERED_BODY}:\n    -> {}",
        outcome(&response)
    )?;

    let thief = SoftwareKey::generate()?;
    let mut thief_options = SignOptions::new(keyid.clone());
    thief_options.nonce = Some(random_nonce(&crypto)?);
    let forged = sign_request(&crypto, &thief, &request, &thief_options, SystemTime::now())?;
    let mut impostor = request.clone();
    forged.apply(&mut impostor);
    let response = send(&impostor)?;
    expect(&response, 401, "bad-signature: ")?;
    writeln!(
        out,
        "  the same payment signed by another key under the device's keyid:\n    -> {}",
        outcome(&response)
    )?;

    let response = send(&sent)?;
    expect(&response, 401, "replayed-nonce: ")?;
    writeln!(
        out,
        "  the first request sent again, unchanged (a replay):\n    -> {}",
        outcome(&response)
    )?;
    log.print_new(core, out)?;

    let served = server.requests().len();
    if served != 4 {
        return Err(failed(&format!(
            "the server saw {served} requests, expected 4"
        )));
    }

    let proof = dpop_proof(
        &device,
        &DpopOptions {
            method: "POST",
            url: &url,
            access_token: Some(ACCESS_TOKEN),
            nonce: None,
        },
        SystemTime::now(),
    )?;
    let parts: Vec<&str> = proof.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err(failed("the DPoP proof is not three base64url parts"));
    };
    let header = decode_json(header)?;
    let claims = decode_json(claims)?;
    let signature_len = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| failed("the DPoP signature is not base64url"))?
        .len();
    if !header.contains(&public.jwk) {
        return Err(failed("the DPoP header does not carry the device's JWK"));
    }
    writeln!(
        out,
        "  DPoP proof for POST {url}, bound to an access token ({} characters; header and \
         claims decoded):",
        proof.len()
    )?;
    writeln!(out, "    header: {header}")?;
    writeln!(out, "    claims: {claims}")?;
    writeln!(
        out,
        "    signature: {signature_len} bytes (ES256 r||s) by the device key; the header's jwk \
         is the device key (thumbprint {keyid})"
    )?;
    Ok(())
}

/// The server's answer: 200 when the signature verifies, 401 with the failure's kind when not.
fn answer(
    verifier: &SignatureVerifier,
    origin: Option<&String>,
    seen: &SeenRequest,
) -> (u16, Vec<u8>) {
    let Some(origin) = origin else {
        return (503, b"not ready".to_vec());
    };
    let request = HttpRequest {
        method: seen.method.clone(),
        url: format!("{origin}{}", seen.target),
        headers: seen.headers.clone(),
        body: seen.body.clone(),
    };
    let verified =
        Crypto::get().and_then(|crypto| verifier.verify(&crypto, &request, SystemTime::now()));
    match verified {
        Ok(verified) => (
            200,
            format!("signature valid: keyid={}", verified.keyid).into_bytes(),
        ),
        Err(Error::Signature { failure, reason }) => {
            (401, format!("{}: {reason}", failure.as_str()).into_bytes())
        }
        Err(other) => (400, other.to_string().into_bytes()),
    }
}

/// Checks the response's status and the start of its body.
fn expect(response: &HttpResponse, status: u16, body_prefix: &str) -> Result<(), Failure> {
    if response.status == status && response.body.starts_with(body_prefix.as_bytes()) {
        return Ok(());
    }
    Err(failed(&format!(
        "expected {status} \"{body_prefix}...\", got {}",
        outcome(response)
    )))
}

/// `HTTP/2.0 200 OK "body"`.
fn outcome(response: &HttpResponse) -> String {
    format!(
        "{} \"{}\"",
        status_line(response),
        String::from_utf8_lossy(&response.body).trim_end()
    )
}

/// A base64url part of the proof, as the JSON text it encodes.
fn decode_json(part: &str) -> Result<String, Failure> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| failed("a DPoP part is not base64url"))?;
    String::from_utf8(bytes).map_err(|_| failed("a DPoP part is not UTF-8 JSON"))
}

/// An unexpected outcome, which stops the demo.
fn failed(what: &str) -> Failure {
    Failure::new(INTERNAL, format!("signing demo: {what}"))
}
