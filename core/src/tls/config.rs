//! The rustls client configuration: ring, TLS 1.3 only unless TLS 1.2 is asked for, and the
//! pinning verifier.
//!
//! TLS 1.3 gives forward secrecy and AEAD by construction. TLS 1.2 is an explicit opt-in for
//! servers that cannot move yet, and even then only ECDHE key exchange with AEAD ciphers is
//! offered (no static RSA, no CBC). One configuration holds one session cache, so building a
//! new configuration when the policy changes also forgets every resumable session: no resumed
//! session can skip a pin that was added since.

use std::sync::Arc;

use rustls::crypto::{CryptoProvider, ring};
use rustls::{ClientConfig, SupportedCipherSuite};

use super::checker::PinChecker;
use super::verifier::PinningVerifier;
use crate::error::{Error, Result};
use crate::events::EventBus;

/// How the TLS layer is set up (independent of the pin policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// Also accept TLS 1.2 (ECDHE + AEAD suites only). Off by default: TLS 1.3 only.
    pub allow_tls12: bool,
    /// Extra trust anchors (DER certificates) for tests and private PKI, trusted beside the
    /// platform's roots. Root pins work for chains that end at one of these.
    pub extra_roots: Vec<Vec<u8>>,
    /// Resume TLS sessions (on by default; off only to measure full handshakes).
    pub resumption: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            allow_tls12: false,
            extra_roots: Vec::new(),
            resumption: true,
        }
    }
}

/// The crypto provider: ring, restricted to the suites we allow.
pub(crate) fn provider(allow_tls12: bool) -> Arc<CryptoProvider> {
    let base = ring::default_provider();
    let cipher_suites = base
        .cipher_suites
        .iter()
        .copied()
        .filter(|suite| allowed_suite(*suite, allow_tls12))
        .collect();
    Arc::new(CryptoProvider {
        cipher_suites,
        ..base
    })
}

fn allowed_suite(suite: SupportedCipherSuite, allow_tls12: bool) -> bool {
    match suite {
        SupportedCipherSuite::Tls13(_) => true,
        SupportedCipherSuite::Tls12(_) => {
            // ring's TLS 1.2 suites are all ECDHE with AES-GCM or ChaCha20-Poly1305 today;
            // the name check keeps it so if a provider ever adds others.
            let name = format!("{:?}", suite.suite());
            allow_tls12
                && name.starts_with("TLS_ECDHE_")
                && (name.contains("_GCM_") || name.contains("CHACHA20_POLY1305"))
        }
    }
}

/// A client configuration that verifies with the platform and then `checker`'s pins.
pub(crate) fn client_config(
    options: &TlsOptions,
    checker: Arc<PinChecker>,
    events: Arc<EventBus>,
) -> Result<ClientConfig> {
    let provider = provider(options.allow_tls12);
    let versions: &[&rustls::SupportedProtocolVersion] = if options.allow_tls12 {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let verifier =
        PinningVerifier::pinning(Arc::clone(&provider), &options.extra_roots, checker, events)?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|_| Error::invalid_input("the TLS protocol versions are not supported"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if !options.resumption {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls13_only_unless_asked_and_then_only_ecdhe_aead() {
        let tls13_only = provider(false);
        assert!(
            tls13_only
                .cipher_suites
                .iter()
                .all(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
        );
        let with_tls12 = provider(true);
        let tls12: Vec<String> = with_tls12
            .cipher_suites
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert!(!tls12.is_empty());
        for name in &tls12 {
            assert!(name.starts_with("TLS_ECDHE_"), "{name}");
            assert!(
                name.contains("_GCM_") || name.contains("CHACHA20"),
                "{name}"
            );
        }
    }
}
