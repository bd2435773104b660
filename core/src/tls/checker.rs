//! Applying a pin policy to a verified chain: the one place that decides, for our own rustls
//! connections and for chains that OkHttp or URLSession verified.
//!
//! The order matters: the caller has already verified the chain the normal way (platform
//! verifier, or the native stack), so a pin can only narrow trust, never widen it. A mismatch
//! on an enforced domain is an error; on a report-only domain it is an event (and a report) and
//! the connection goes ahead. An expired pin set falls back to normal verification and says so,
//! so a forgotten policy degrades to what every other app does rather than bricking the app.

use std::sync::Arc;
use std::time::SystemTime;

use super::chain::{PathBuilder, leaf_pin};
use super::report::{PinReport, ReportDelivery, ReportSink};
use super::{DomainPolicy, PinPolicy, PinVerdict, SpkiPin};
use crate::crypto::Crypto;
use crate::error::{Error, Result, TlsFailure};
use crate::events::{EventBus, SecurityEvent, SecurityEventKind};

/// What a pin check found, when it did not refuse the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinOutcome {
    /// No domain of the policy covers the host: normal verification only.
    Unpinned,
    /// A certificate of the verified path matches one of the host's pins.
    Matched,
    /// The host's pin set has expired: normal verification only (a `PinSetExpired` event).
    Expired,
    /// No pin matched, but the host's pins are report-only: allowed, with a
    /// `PinMismatchReportOnly` event and a report when the policy has a report URL.
    ReportOnlyMismatch,
}

/// A pin policy ready to check chains.
pub struct PinChecker {
    policy: Arc<PinPolicy>,
    paths: PathBuilder,
    events: Arc<EventBus>,
    reports: Option<Arc<ReportSink>>,
    /// Set for a checker used alone (see [`HttpsClient::pin_checker`](super::HttpsClient::pin_checker)):
    /// who sends the reports it queues. A client's own checker has none: the client sends them.
    delivery: Option<Arc<dyn ReportDelivery>>,
}

impl std::fmt::Debug for PinChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinChecker")
            .field("policy", &self.policy)
            .field("sends_reports", &self.delivery.is_some())
            .finish_non_exhaustive()
    }
}

impl PinChecker {
    /// A checker of `policy`. `extra_roots` are the app's extra trust anchors (DER), used to
    /// end a path at a root the server does not send, so root pins work for them. It sends no
    /// pin-failure reports: for an app's own HTTP stack use
    /// [`HttpsClient::pin_checker`](super::HttpsClient::pin_checker) (or
    /// [`RukaSec::pin_checker`](crate::RukaSec::pin_checker)), which do.
    pub fn new(policy: PinPolicy, extra_roots: Vec<Vec<u8>>, events: Arc<EventBus>) -> Self {
        Self::with_reports(policy, extra_roots, events, None)
    }

    pub(crate) fn with_reports(
        policy: PinPolicy,
        extra_roots: Vec<Vec<u8>>,
        events: Arc<EventBus>,
        reports: Option<Arc<ReportSink>>,
    ) -> Self {
        Self {
            policy: Arc::new(policy),
            paths: PathBuilder::new(extra_roots),
            events,
            reports,
            delivery: None,
        }
    }

    /// This checker, with its queued reports sent by `delivery`.
    pub(crate) fn delivering_with(mut self, delivery: Arc<dyn ReportDelivery>) -> Self {
        self.delivery = Some(delivery);
        self
    }

    /// Sends the pin-failure reports this checker queued and not yet sent (identical ones at
    /// most once a day) and waits for them; returns how many went out. Reports are sent in the
    /// background anyway: this is for an app about to stop, and for tests. Blocks: call it off
    /// the main thread. A checker from [`PinChecker::new`] sends nothing and returns 0.
    pub fn flush_reports(&self) -> usize {
        self.delivery
            .as_ref()
            .map_or(0, |delivery| delivery.flush())
    }

    /// The policy this checker applies.
    pub fn policy(&self) -> &PinPolicy {
        &self.policy
    }

    /// Applies the policy to a chain another TLS stack has already verified for `host`
    /// (OkHttp's cleaned chain, URLSession's `SecTrust` chain): DER certificates, leaf first.
    ///
    /// `host` is normalised the way the policy's patterns are (see [`normalise_host`]): case,
    /// one trailing dot, a Unicode name (to its punycode A-label form) and a `:port` suffix never
    /// make a pinned host look unpinned; a host that cannot be normalised is an error.
    ///
    /// # Errors
    /// [`TlsFailure::PinMismatch`] when the host's pins are enforced and none matches;
    /// [`Error::InvalidInput`] for a host that is not a host name or IP literal, an empty chain
    /// or a leaf that is not a certificate; [`Error::CryptoUnavailable`] after a failed
    /// self-test.
    pub fn check_chain(&self, host: &str, chain_der: &[Vec<u8>]) -> Result<PinOutcome> {
        let host = normalise_host(host)?;
        let host = host.as_str();
        let crypto = Crypto::get()?;
        let (leaf, rest) = chain_der
            .split_first()
            .ok_or_else(|| Error::invalid_input("the certificate chain is empty"))?;
        if leaf_pin(&crypto, leaf).is_none() {
            return Err(Error::invalid_input(
                "the chain's first entry is not a DER certificate",
            ));
        }
        let rest: Vec<&[u8]> = rest.iter().map(Vec::as_slice).collect();
        self.check(&crypto, host, leaf, &rest, SystemTime::now())
    }

    /// The check itself; `leaf` and `intermediates` as the server presented them.
    pub(crate) fn check(
        &self,
        crypto: &Crypto,
        host: &str,
        leaf: &[u8],
        intermediates: &[&[u8]],
        now: SystemTime,
    ) -> Result<PinOutcome> {
        let Some(domain) = self.policy.find(host) else {
            return Ok(PinOutcome::Unpinned);
        };
        // A leaf pin needs no signature check; walk the path only when it does not match.
        let leaf_only: Vec<SpkiPin> = leaf_pin(crypto, leaf).into_iter().collect();
        let path = match self.policy.evaluate(host, &leaf_only, now) {
            PinVerdict::Matched(_) => return Ok(PinOutcome::Matched),
            PinVerdict::Unpinned => return Ok(PinOutcome::Unpinned),
            PinVerdict::Expired(domain) => {
                self.expired(host, domain);
                return Ok(PinOutcome::Expired);
            }
            PinVerdict::Mismatch(_) => self.paths.path_pins(crypto, leaf, intermediates),
        };
        match self.policy.evaluate(host, &path, now) {
            PinVerdict::Matched(_) => Ok(PinOutcome::Matched),
            PinVerdict::Unpinned => Ok(PinOutcome::Unpinned),
            PinVerdict::Expired(domain) => {
                self.expired(host, domain);
                Ok(PinOutcome::Expired)
            }
            PinVerdict::Mismatch(matched) => {
                debug_assert_eq!(matched, domain);
                self.mismatch(host, matched, &path, leaf, intermediates, now)
            }
        }
    }

    fn expired(&self, host: &str, domain: &DomainPolicy) {
        let expired_at = domain
            .expires()
            .map_or_else(String::new, super::policy::date::format_rfc3339);
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::PinSetExpired)
                .with_detail("host", host)
                .with_detail("pattern", domain.pattern().to_string())
                .with_detail("expired_at", expired_at),
        );
    }

    fn mismatch(
        &self,
        host: &str,
        domain: &DomainPolicy,
        path: &[SpkiPin],
        leaf: &[u8],
        intermediates: &[&[u8]],
        now: SystemTime,
    ) -> Result<PinOutcome> {
        let enforced = domain.is_enforced();
        let kind = if enforced {
            SecurityEventKind::PinMismatch
        } else {
            SecurityEventKind::PinMismatchReportOnly
        };
        let presented: Vec<String> = path.iter().map(ToString::to_string).collect();
        self.events.emit(
            SecurityEvent::new(kind)
                .with_detail("host", host)
                .with_detail("pattern", domain.pattern().to_string())
                .with_detail("presented", presented.join(","))
                .with_detail("enforced", enforced.to_string()),
        );
        if let (Some(sink), Some(uri)) = (&self.reports, domain.report_uri()) {
            sink.submit(PinReport::new(host, domain, uri, leaf, intermediates, now));
            if let Some(delivery) = &self.delivery {
                delivery.queued();
            }
        }
        if enforced {
            Err(Error::tls(
                TlsFailure::PinMismatch,
                format!(
                    "the certificate chain of {host} matches none of the pins for {}",
                    domain.pattern()
                ),
            ))
        } else {
            Ok(PinOutcome::ReportOnlyMismatch)
        }
    }
}

/// The host as the pin policy compares it: an ASCII lowercase name without a trailing dot (a
/// Unicode name converted to punycode by IDNA, UTS #46, as browsers and URL parsers do), or an
/// IP literal. A `:port` suffix (`host:443`, `[::1]:443`) is dropped: pins belong to a name, not
/// to a port. Apps pass what their HTTP stack calls the host, and stacks differ in exactly
/// these ways; a host the policy would otherwise not recognise must not pass as unpinned.
///
/// # Errors
/// [`Error::InvalidInput`] when it is empty, has a port that is not a number, or is not a valid
/// host name or IP literal.
pub fn normalise_host(host: &str) -> Result<String> {
    let invalid = || Error::invalid_input("the host is not a host name or IP literal");
    let host = host.trim();
    // A port: after the last ':' of a name or IPv4 address, or after "]" of an IPv6 literal.
    let without_port = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') || name.ends_with(']') => {
            if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            name
        }
        _ => host,
    };
    let name = without_port.strip_suffix('.').unwrap_or(without_port);
    if name.is_empty() || name.ends_with('.') {
        return Err(invalid());
    }
    // A bare IPv6 literal (no brackets) is kept as it is: it never matches a pattern.
    if name.contains(':') && !name.starts_with('[') {
        return match name.parse::<std::net::Ipv6Addr>() {
            Ok(address) => Ok(address.to_string()),
            Err(_) => Err(invalid()),
        };
    }
    match url::Host::parse(name).map_err(|_| invalid())? {
        url::Host::Domain(domain) if domain.split('.').any(str::is_empty) => Err(invalid()),
        url::Host::Domain(domain) => Ok(domain),
        url::Host::Ipv4(address) => Ok(address.to_string()),
        url::Host::Ipv6(address) => Ok(address.to_string()),
    }
}
