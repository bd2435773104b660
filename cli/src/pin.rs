//! `rukasec pin FILE...` and `rukasec pin --connect HOST:PORT`: the pins to put in a policy.
//!
//! From files, every certificate of each PEM bundle or DER file. From a server, the chain it
//! presents in a real handshake, with the negotiated protocol and the platform's verdict on the
//! chain. The handshake completes whatever the verdict (exit 0), because the point is to learn
//! the pins, including those of a server the platform does not trust yet (a private PKI before
//! its root is given with `--ca`); `trusted: no (<kind>: <message>)` says why it would be
//! refused. Only a server that cannot be reached or completes no handshake fails (exit 6).
//! Nothing but the handshake is sent.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rukasec_core::tls::{CertificateSummary, TlsOptions, probe_chain};
use rukasec_core::{Error, RukaSec};

use crate::failure::{Failure, USAGE};

/// `rukasec pin FILE...` or `rukasec pin --connect HOST:PORT [options]`.
#[derive(Args)]
pub struct PinArgs {
    /// Certificate files: PEM with one or more certificates, or one DER certificate.
    #[arg(required_unless_present = "connect", conflicts_with = "connect")]
    files: Vec<PathBuf>,
    /// Connect to HOST:PORT (`[v6addr]:PORT` for IPv6; PORT 443 when left out) and show the
    /// chain the server presents, the protocol and whether the platform trusts the chain.
    #[arg(long, value_name = "HOST:PORT")]
    connect: Option<String>,
    /// With --connect: extra trust anchors for the verdict, a PEM bundle (or one DER
    /// certificate). Repeat for more files.
    #[arg(long = "ca", value_name = "PEM", requires = "connect")]
    ca: Vec<PathBuf>,
    /// With --connect: connect to ADDR (an IP address, or ADDR:PORT) instead of resolving
    /// HOST; the chain is still verified for HOST.
    #[arg(long, value_name = "ADDR", requires = "connect")]
    resolve: Option<String>,
    /// With --connect: also accept TLS 1.2 (TLS 1.3 only without it).
    #[arg(long, requires = "connect")]
    allow_tls12: bool,
    /// With --connect: give up after SECONDS.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    timeout: u64,
}

/// Runs `rukasec pin`.
pub fn run(args: PinArgs, out: &mut impl Write) -> Result<(), Failure> {
    let core = RukaSec::new(None);
    let Some(connect) = &args.connect else {
        return files(&core, &args.files, out);
    };
    let (host, port) = parse_host_port(connect)?;
    let connect_to = args
        .resolve
        .as_deref()
        .map(|addr| parse_addr(addr, port))
        .transpose()?;
    let mut extra_roots = Vec::new();
    for file in &args.ca {
        extra_roots.extend(crate::fetch::read_certificates(&core, file)?);
    }
    let options = TlsOptions {
        allow_tls12: args.allow_tls12,
        extra_roots,
        ..TlsOptions::default()
    };
    let probe = probe_chain(
        &host,
        port,
        connect_to,
        &options,
        Duration::from_secs(args.timeout),
    )?;
    for certificate in &probe.certificates {
        print(certificate, out)?;
    }
    // `TLSv1_3` -> `TLSv1.3`.
    writeln!(out, "protocol: {}", probe.protocol.replace('_', "."))?;
    match probe.verification {
        Ok(()) => writeln!(out, "trusted: yes")?,
        Err(Error::Tls { failure, reason }) => {
            writeln!(out, "trusted: no ({}: {reason})", failure.as_str())?;
        }
        Err(other) => writeln!(out, "trusted: no ({})", Failure::from(other))?,
    }
    Ok(())
}

/// Prints `sha256/<base64>  <subject>` for every certificate of every file, in order.
fn files(core: &RukaSec, files: &[PathBuf], out: &mut impl Write) -> Result<(), Failure> {
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| Failure::from(e).context(file.display()))?;
        let certificates = core
            .certificates(&bytes)
            .map_err(|e| Failure::from(e).context(file.display()))?;
        for certificate in &certificates {
            print(certificate, out)?;
        }
    }
    Ok(())
}

fn print(certificate: &CertificateSummary, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}  {}", certificate.pin, certificate.subject)
}

/// `host:port`, `[v6]:port`, or a bare host (port 443).
fn parse_host_port(text: &str) -> Result<(String, u16), Failure> {
    let bad = || Failure::new(USAGE, format!("--connect {text}: expected HOST:PORT"));
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port = match port {
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(bad)?,
        None => 443,
    };
    Ok((host.to_owned(), port))
}

/// `--resolve`: an IP address (the --connect port) or an IP address and port.
fn parse_addr(text: &str, port: u16) -> Result<SocketAddr, Failure> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, port))
        .map_err(|_| {
            Failure::new(
                USAGE,
                format!("--resolve {text}: expected an IP address (or ADDR:PORT)"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_forms() {
        let ok = |text: &str| parse_host_port(text).unwrap();
        assert_eq!(
            ok("pay.rukapay.test:8443"),
            ("pay.rukapay.test".into(), 8443)
        );
        assert_eq!(ok("pay.rukapay.test"), ("pay.rukapay.test".into(), 443));
        assert_eq!(ok("[::1]:8443"), ("::1".into(), 8443));
        assert_eq!(ok("[::1]"), ("::1".into(), 443));
        for bad in [
            "",
            ":443",
            "host:",
            "host:0",
            "host:x",
            "[::1",
            "[::1]8443",
            "a:b:c",
        ] {
            let failure = parse_host_port(bad).unwrap_err();
            assert_eq!(failure.exit_code(), 2, "{bad}");
        }
        assert_eq!(
            parse_addr("127.0.0.1", 8443).unwrap(),
            "127.0.0.1:8443".parse().unwrap()
        );
        assert_eq!(
            parse_addr("[::1]:9", 8443).unwrap(),
            "[::1]:9".parse().unwrap()
        );
        assert_eq!(parse_addr("::1", 7).unwrap(), "[::1]:7".parse().unwrap());
        assert!(parse_addr("localhost", 1).is_err());
    }
}
