//! Looking at the chain a server presents, for `rukasec pin --connect`: what to pin.
//!
//! The handshake completes whatever the chain (so an untrusted or mismatched server can still
//! be inspected), but the platform's verdict is reported beside the pins, and no application
//! data is ever sent on the connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::config::{TlsOptions, provider};
use super::verifier::{AfterPlatform, PlatformTrust, TrustVerifier, classify};
use super::{CertificateSummary, parse_certificates};
use crate::crypto::Crypto;
use crate::error::{Error, Result, TlsFailure};

/// What a server presented.
#[derive(Debug)]
pub struct ChainProbe {
    /// The presented certificates, leaf first, with their pins.
    pub certificates: Vec<CertificateSummary>,
    /// The platform's verdict on the chain for the host name (`Ok` when trusted).
    pub verification: Result<()>,
    /// The negotiated protocol version (`TLSv1_3`).
    pub protocol: String,
}

/// Connects to `host:port` (or `connect_to`, verifying for `host`), completes a handshake and
/// returns the presented chain.
///
/// # Errors
/// [`Error::Tls`] when no connection or handshake is possible; [`Error::InvalidInput`] for a
/// host that is not a DNS name or IP address.
pub fn probe_chain(
    host: &str,
    port: u16,
    connect_to: Option<SocketAddr>,
    options: &TlsOptions,
    timeout: Duration,
) -> Result<ChainProbe> {
    let crypto = Crypto::get()?;
    let provider = provider(options.allow_tls12);
    let verifier = Arc::new(TrustVerifier::new(
        PlatformTrust::new(Arc::clone(&provider), &options.extra_roots)?,
        Recorder::default(),
    ));
    let versions: &[&rustls::SupportedProtocolVersion] = if options.allow_tls12 {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|_| Error::invalid_input("the TLS protocol versions are not supported"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&verifier) as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| Error::invalid_input("the host is not a DNS name or IP address"))?;
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|_| Error::invalid_input("the TLS connection could not be set up"))?;

    let connect_failed =
        |what: &str| Error::tls(TlsFailure::Connection, format!("{what} ({host}:{port})"));
    let address = match connect_to {
        Some(address) => address,
        None => (host, port)
            .to_socket_addrs()
            .map_err(|_| connect_failed("the host name could not be resolved"))?
            .next()
            .ok_or_else(|| connect_failed("the host name has no address"))?,
    };
    let mut socket = TcpStream::connect_timeout(&address, timeout)
        .map_err(|_| connect_failed("the connection failed"))?;
    socket
        .set_read_timeout(Some(timeout))
        .and_then(|()| socket.set_write_timeout(Some(timeout)))
        .map_err(|_| connect_failed("the socket could not be configured"))?;
    while connection.is_handshaking() {
        if let Err(error) = connection.complete_io(&mut socket) {
            let failure = error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .map_or(TlsFailure::Connection, classify);
            return Err(Error::tls(
                failure,
                format!("the handshake failed: {error} ({host}:{port})"),
            ));
        }
    }
    let protocol = connection
        .protocol_version()
        .map_or_else(String::new, |version| format!("{version:?}"));
    // Close politely; nothing else is sent.
    connection.send_close_notify();
    let _ = connection.complete_io(&mut socket);
    let _ = socket.flush();
    let _ = socket.read(&mut [0u8; 1]);

    let (chain, verdict) = verifier
        .after()
        .seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .ok_or_else(|| Error::tls(TlsFailure::Handshake, "the server sent no certificate"))?;
    let mut certificates = Vec::with_capacity(chain.len());
    for der in &chain {
        certificates.extend(parse_certificates(&crypto, der)?);
    }
    let verification =
        verdict.map_err(|error| Error::tls(classify(&error), format!("{error} ({host})")));
    Ok(ChainProbe {
        certificates,
        verification,
        protocol,
    })
}

/// The presented chain (DER, leaf first) and the platform's verdict on it.
type Seen = (Vec<Vec<u8>>, std::result::Result<(), rustls::Error>);

/// Records the chain and the platform's verdict, and lets the handshake finish.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Option<Seen>>,
}

impl AfterPlatform for Recorder {
    fn decide(
        &self,
        platform: std::result::Result<(), rustls::Error>,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _now: UnixTime,
    ) -> std::result::Result<(), rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|cert| cert.to_vec())
            .collect();
        *self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((chain, platform));
        Ok(())
    }
}
