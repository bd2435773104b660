//! `rukasec demo`, the main job: each capability of the core, step by step, on data the demo
//! makes itself (nothing is read from or sent to the outside).
//!
//! Steps so far: start the core with an event listener (self-test), then make a certificate
//! chain (root, intermediate, leaf), pin every certificate, read the chain back as a PEM
//! bundle and check the pins agree, and propose a pin set with a backup key; then the
//! encrypted vault (`demo_vault.rs`); then pinned TLS against a local HTTPS server
//! (`demo_tls.rs`); signed requests (`demo_signing.rs`); unlocking: a policy per class, a
//! cancelled prompt, an unlock, a lockout (`demo_unlock.rs`); API hygiene: TOTP, credentials
//! per environment, rate limits, alerts, clock skew, the event journal (`demo_hygiene.rs`).

use std::io::Write;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, SignatureAlgorithm,
};
use rukasec_core::RukaSec;
use rukasec_core::events::EventStats;

use crate::events::EventLog;
use crate::failure::Failure;
use crate::self_test::print_report;

/// One certificate of the demo chain.
struct Issued {
    role: &'static str,
    pem: String,
    der: Vec<u8>,
}

pub fn run(out: &mut impl Write) -> Result<(), Failure> {
    writeln!(out, "RukaSec {} demo", env!("CARGO_PKG_VERSION"))?;

    writeln!(
        out,
        "\n[1] start the core: crypto self-test (known-answer tests)"
    )?;
    let log = Arc::new(EventLog::default());
    let core = RukaSec::new(Some(log.clone()));
    print_report(&core.self_test(), out)?;
    log.print_new(&core, out)?;
    if !core.is_crypto_operational() {
        return Err(Failure::new(
            "crypto-unavailable",
            "the self-test failed; stopping",
        ));
    }

    writeln!(
        out,
        "\n[2] certificate pins (SPKI SHA-256) of a generated chain"
    )?;
    let chain = make_chain()
        .map_err(|e| Failure::new("internal", format!("making the demo chain: {e}")))?;
    for issued in &chain {
        let pin = core.spki_sha256_pin(&issued.der)?;
        writeln!(out, "  {:<12} {pin}", issued.role)?;
    }
    let bundle: String = chain.iter().map(|c| c.pem.as_str()).collect();
    let from_bundle = core.certificates(bundle.as_bytes())?;
    let agree = from_bundle.len() == chain.len()
        && from_bundle
            .iter()
            .zip(&chain)
            .all(|(summary, issued)| summary.der == issued.der);
    for summary in &from_bundle {
        writeln!(out, "  bundle: {}  {}", summary.pin, summary.subject)?;
    }
    if !agree {
        return Err(Failure::new(
            "internal",
            "the PEM bundle did not read back as the chain",
        ));
    }
    writeln!(
        out,
        "  the PEM bundle reads back as the same {} certificates",
        chain.len()
    )?;

    let backup = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|e| Failure::new("internal", format!("backup key: {e}")))?;
    let backup_cert = CertificateParams::new(vec!["backup.rukapay.test".to_owned()])
        .and_then(|params| params.self_signed(&backup))
        .map_err(|e| Failure::new("internal", format!("backup certificate: {e}")))?;
    let intermediate_pin = core.spki_sha256_pin(&chain[1].der)?;
    let backup_pin = core.spki_sha256_pin(backup_cert.der())?;
    writeln!(
        out,
        "  proposed pin set for api.rukapay.test (pin the intermediate, keep a backup key offline):"
    )?;
    writeln!(out, "    primary {intermediate_pin}")?;
    writeln!(out, "    backup  {backup_pin}")?;
    log.print_new(&core, out)?;

    writeln!(
        out,
        "\n[3] encrypted vault: keys per account and class, AES-256-GCM, crypto-shredding"
    )?;
    crate::demo_vault::run(&core, out)?;
    log.print_new(&core, out)?;

    writeln!(
        out,
        "\n[4] pinned TLS: the core's HTTPS client against a local server with a generated chain"
    )?;
    crate::demo_tls::run(&core, &log, out)?;
    log.print_new(&core, out)?;

    writeln!(
        out,
        "\n[5] request signing: a device key signs API requests (RFC 9421 + RFC 9530 \
         Content-Digest), the server verifies; DPoP (RFC 9449)"
    )?;
    crate::demo_signing::run(&core, &log, out)?;
    log.print_new(&core, out)?;

    writeln!(
        out,
        "\n[6] unlocking: a policy per data class, the app's prompt, a lockout after failed \
         attempts"
    )?;
    let unlock_stats = crate::demo_unlock::run(&log, out)?;
    log.print_new(&core, out)?;

    writeln!(
        out,
        "\n[7] API hygiene: TOTP, credentials per environment, rate limits and Retry-After, \
         failed-authentication alerts, clock skew, the event journal"
    )?;
    crate::demo_hygiene::run(&core, &log, out)?;
    log.print_new(&core, out)?;

    // The unlock step's events went through a bus of its own (see demo_unlock.rs).
    let core_stats = core.events().stats();
    let stats = EventStats {
        emitted: core_stats.emitted + unlock_stats.emitted,
        delivered: core_stats.delivered + unlock_stats.delivered,
        dropped: core_stats.dropped + unlock_stats.dropped,
        listener_failures: core_stats.listener_failures + unlock_stats.listener_failures,
    };
    writeln!(
        out,
        "\nevents: {} emitted, {} delivered, {} dropped, {} listener failures",
        stats.emitted, stats.delivered, stats.dropped, stats.listener_failures
    )?;
    writeln!(out, "demo: ok")?;
    Ok(())
}

/// Root CA (P-384), intermediate CA (P-256), leaf for `api.rukapay.test` (P-256).
fn make_chain() -> Result<Vec<Issued>, rcgen::Error> {
    let root = CertifiedIssuer::self_signed(
        ca_params("Rukapay Demo Root CA")?,
        KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?,
    )?;
    let intermediate = CertifiedIssuer::signed_by(
        ca_params("Rukapay Demo Issuing CA")?,
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
        &root,
    )?;
    let leaf_key = key(&PKCS_ECDSA_P256_SHA256)?;
    let mut leaf_params = CertificateParams::new(vec!["api.rukapay.test".to_owned()])?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "api.rukapay.test");
    let leaf = leaf_params.signed_by(&leaf_key, &intermediate)?;
    Ok(vec![
        Issued {
            role: "leaf",
            pem: leaf.pem(),
            der: leaf.der().to_vec(),
        },
        Issued {
            role: "intermediate",
            pem: intermediate.pem(),
            der: intermediate.der().to_vec(),
        },
        Issued {
            role: "root",
            pem: root.pem(),
            der: root.der().to_vec(),
        },
    ])
}

fn key(algorithm: &'static SignatureAlgorithm) -> Result<KeyPair, rcgen::Error> {
    KeyPair::generate_for(algorithm)
}

fn ca_params(common_name: &str) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Rukapay Demo");
    Ok(params)
}
