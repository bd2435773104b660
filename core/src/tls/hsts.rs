//! HTTP Strict Transport Security (RFC 6797): which hosts told us to use HTTPS only.
//!
//! The client never speaks plain HTTP, so HSTS cannot upgrade anything here; what the record
//! gives is evidence. A refused `http://` URL for a host that sent HSTS says so in its error
//! (a bug in the app's URL building, not a server misconfiguration), and the app can list the
//! hosts (for its own WebView or native stack). Entries live in memory for their `max-age`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Hosts remembered at most (the oldest-expiring is dropped first).
const MAX_HOSTS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    expires: SystemTime,
    include_subdomains: bool,
}

/// The HSTS hosts seen by one client.
#[derive(Debug, Default)]
pub(crate) struct HstsStore {
    hosts: Mutex<HashMap<String, Entry>>,
}

impl HstsStore {
    /// Records a `Strict-Transport-Security` header received from `host` over HTTPS.
    /// Malformed headers are ignored (RFC 6797 §8.1); `max-age=0` forgets the host.
    pub(crate) fn record(&self, host: &str, header: &str, now: SystemTime) {
        if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
            return; // RFC 6797 §8.1: not for IP literals
        }
        let Some((max_age, include_subdomains)) = parse(header) else {
            return;
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let mut hosts = self.lock();
        if max_age == 0 {
            hosts.remove(&host);
            return;
        }
        hosts.retain(|_, entry| entry.expires > now);
        if hosts.len() >= MAX_HOSTS
            && !hosts.contains_key(&host)
            && let Some(first) = hosts
                .iter()
                .min_by_key(|(_, entry)| entry.expires)
                .map(|(name, _)| name.clone())
        {
            hosts.remove(&first);
        }
        let expires = now
            .checked_add(Duration::from_secs(max_age))
            .unwrap_or(now + Duration::from_secs(u64::from(u32::MAX)));
        hosts.insert(
            host,
            Entry {
                expires,
                include_subdomains,
            },
        );
    }

    /// Whether `host` (or a parent that included subdomains) is a known HSTS host.
    pub(crate) fn covers(&self, host: &str, now: SystemTime) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let hosts = self.lock();
        let live = |name: &str, exact: bool| {
            hosts
                .get(name)
                .is_some_and(|e| e.expires > now && (exact || e.include_subdomains))
        };
        if live(&host, true) {
            return true;
        }
        let mut rest = host.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if live(parent, false) {
                return true;
            }
            rest = parent;
        }
        false
    }

    /// The live HSTS hosts, sorted.
    pub(crate) fn hosts(&self, now: SystemTime) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, entry)| entry.expires > now)
            .map(|(name, _)| name.clone())
            .collect();
        hosts.sort();
        hosts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // The map stays valid whatever a panicking holder did.
        self.hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `max-age` (required, once) and `includeSubDomains`, per RFC 6797 §6.1.
fn parse(header: &str) -> Option<(u64, bool)> {
    let mut max_age = None;
    let mut include_subdomains = false;
    for directive in header.split(';') {
        let directive = directive.trim();
        if directive.is_empty() {
            continue;
        }
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("max-age") {
            if max_age.is_some() {
                return None;
            }
            max_age = Some(value?.parse::<u64>().ok()?);
        } else if name.eq_ignore_ascii_case("includesubdomains") {
            if value.is_some() || include_subdomains {
                return None;
            }
            include_subdomains = true;
        }
    }
    Some((max_age?, include_subdomains))
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: &str = "max-age=31536000";

    #[test]
    fn records_hosts_and_parents_with_subdomains() {
        let store = HstsStore::default();
        let now = SystemTime::now();
        store.record("API.rukapay.test.", YEAR, now);
        store.record("rukapay.test", "max-age=60; includeSubDomains", now);
        assert!(store.covers("api.rukapay.test", now));
        assert!(store.covers("a.b.rukapay.test", now));
        assert!(!store.covers("evilrukapay.test", now));
        assert!(!store.covers("rukapay.test", now + Duration::from_secs(61)));
        assert!(!store.covers("a.rukapay.test", now + Duration::from_secs(61)));
        assert_eq!(store.hosts(now), vec!["api.rukapay.test", "rukapay.test"]);
    }

    #[test]
    fn max_age_zero_forgets_and_malformed_headers_are_ignored() {
        let store = HstsStore::default();
        let now = SystemTime::now();
        store.record("pay.test", YEAR, now);
        store.record("pay.test", "max-age=0", now);
        assert!(!store.covers("pay.test", now));
        for bad in [
            "",
            "includeSubDomains",
            "max-age=abc",
            "max-age=1; max-age=2",
            "max-age",
        ] {
            store.record("bad.test", bad, now);
            assert!(!store.covers("bad.test", now), "{bad:?}");
        }
        store.record("127.0.0.1", YEAR, now);
        assert!(store.hosts(now).is_empty());
    }
}
