//! Host patterns: which host names a pin set (or an API credential) applies to.
//!
//! A neutral module below `tls/` and `monitor/`, which both use it; its public path is
//! `tls::HostPattern`.
//!
//! A pin set names the hosts it protects. Writing every host out is brittle (a new API host
//! silently goes unpinned), so patterns are allowed, with OkHttp `CertificatePinner`'s meaning,
//! which Android developers already know, plus the "include subdomains" flag of TrustKit and
//! Android's Network Security Config:
//!
//! | pattern | matches | does not match |
//! | --- | --- | --- |
//! | `api.rukapay.com` | `api.rukapay.com` | `rukapay.com`, `v2.api.rukapay.com` |
//! | `api.rukapay.com` + include_subdomains | `api.rukapay.com`, `v2.api.rukapay.com`, `a.b.api.rukapay.com` | `rukapay.com` |
//! | `*.rukapay.com` | `api.rukapay.com` | `rukapay.com`, `v2.api.rukapay.com` |
//! | `**.rukapay.com` | `rukapay.com`, `api.rukapay.com`, `v2.api.rukapay.com` | `evilrukapay.com` |
//!
//! (`**.` matches the parent itself, as OkHttp documents: "any number of prefixes … including no
//! prefix at all".) Matching is case-insensitive and ignores one trailing dot; IP literals never
//! match (pins are for names: an app that connects by address has no pattern to pin).
//!
//! Patterns are refused rather than guessed at when they are malformed or too broad: a wildcard
//! anywhere but as the whole left-most label, an IP address, a wildcard over a single label, and
//! any pattern whose hosts sit on a public suffix (`*.com`, `**.co.ug`, `github.io`). A pin set
//! over a public suffix would pin strangers' sites (or, pinned wrongly, break them); it is never
//! what was meant. The public suffix list is the `psl` crate's compiled-in copy of Mozilla's list,
//! both its ICANN and its private section (so `*.github.io` is refused too).

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};

/// Longest host name (RFC 1035: 255 octets on the wire, 253 as text without the trailing dot).
const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// Which hosts a pattern's name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// Exactly the name.
    Exact,
    /// The name and every name below it, at any depth (include_subdomains).
    Subtree,
    /// `*.name`: exactly one label below the name.
    OneLabel,
    /// `**.name`: the name and every name below it, at any depth.
    AnyDepth,
}

/// A host name pattern of a pin set: an exact name, `*.parent`, `**.parent`, or a name with its
/// subdomains. See the module documentation for the matching table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern {
    kind: Kind,
    /// Lowercase, without trailing dot; for wildcards the parent (what follows `*.` / `**.`).
    name: String,
}

impl HostPattern {
    /// Parses a pattern: `api.rukapay.com` (exact), `*.rukapay.com` (exactly one extra label),
    /// `**.rukapay.com` (the parent and any depth below it, as OkHttp). With
    /// `include_subdomains`, an exact pattern covers the host and any depth below it
    /// (TrustKit / Android Network Security Config meaning).
    ///
    /// Letters may be in any case (stored in lowercase); one trailing dot is ignored.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the pattern is empty, is not an ASCII host name (LDH labels of
    /// 1 to 63 characters, at most 253 in all; internationalised names go in punycode, `xn--`),
    /// has a wildcard anywhere but as the whole left-most label, is an IP address, is a wildcard
    /// over a single label, lies on a public suffix, or combines a wildcard with
    /// `include_subdomains` (ambiguous: write `**.` instead).
    pub fn parse(text: &str, include_subdomains: bool) -> Result<Self> {
        if text.is_empty() {
            return Err(Error::invalid_input("a host pattern is empty"));
        }
        if !text.is_ascii() {
            return Err(Error::invalid_input(
                "a host pattern has non-ASCII characters (write internationalised names in punycode, xn--)",
            ));
        }
        if looks_like_ip(text) {
            return Err(Error::invalid_input(
                "a host pattern is an IP address (only host names can be pinned by pattern)",
            ));
        }
        let lower = text.to_ascii_lowercase();
        let lower = lower.strip_suffix('.').unwrap_or(&lower);
        let (kind, name) = if let Some(parent) = lower.strip_prefix("**.") {
            (Kind::AnyDepth, parent)
        } else if let Some(parent) = lower.strip_prefix("*.") {
            (Kind::OneLabel, parent)
        } else if include_subdomains {
            (Kind::Subtree, lower)
        } else {
            (Kind::Exact, lower)
        };
        if name.contains('*') {
            return Err(Error::invalid_input(
                "a host pattern may only have a wildcard as its whole left-most label (`*.` or `**.`)",
            ));
        }
        let wildcard = matches!(kind, Kind::OneLabel | Kind::AnyDepth);
        if wildcard && include_subdomains {
            return Err(Error::invalid_input(format!(
                "host pattern \"{lower}\": include_subdomains with a wildcard is ambiguous (use `**.` alone)"
            )));
        }
        check_name(name)?;
        if looks_like_ip(name) || last_label_is_numeric(name) {
            return Err(Error::invalid_input(
                "a host pattern ends in a number: IP addresses cannot be pinned by pattern",
            ));
        }
        if is_public_suffix(name) {
            return Err(Error::invalid_input(if wildcard {
                format!(
                    "host pattern \"{lower}\": its parent \"{name}\" is a public suffix, so it would match unrelated sites"
                )
            } else {
                format!(
                    "host pattern \"{lower}\": \"{name}\" is a public suffix, not a host that can be pinned"
                )
            }));
        }
        if wildcard && !name.contains('.') {
            return Err(Error::invalid_input(format!(
                "host pattern \"{lower}\": a wildcard needs a parent of at least two labels"
            )));
        }
        Ok(Self {
            kind,
            name: name.to_owned(),
        })
    }

    /// Whether `host` is one of the pattern's hosts. Case-insensitive; one trailing dot is
    /// ignored; IP literals (`1.2.3.4`, `::1`, `[::1]`) never match.
    pub fn matches(&self, host: &str) -> bool {
        if looks_like_ip(host) {
            return false;
        }
        let host = host.to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        match self.kind {
            Kind::Exact => host == self.name,
            Kind::Subtree | Kind::AnyDepth => host == self.name || self.prefix_of(host).is_some(),
            Kind::OneLabel => self
                .prefix_of(host)
                .is_some_and(|prefix| !prefix.contains('.')),
        }
    }

    /// The labels `host` (lowercase, no trailing dot) has in front of the pattern's name, when
    /// it is strictly below it: `v2.api` for `v2.api.rukapay.com` under `rukapay.com`.
    fn prefix_of<'h>(&self, host: &'h str) -> Option<&'h str> {
        host.strip_suffix(self.name.as_str())?
            .strip_suffix('.')
            .filter(|prefix| !prefix.is_empty())
    }

    /// Whether the pattern covers names below its name at any depth (`**.` and
    /// include_subdomains).
    pub fn includes_subdomains(&self) -> bool {
        matches!(self.kind, Kind::Subtree | Kind::AnyDepth)
    }

    /// Whether the pattern was parsed with `include_subdomains` (an exact name with its
    /// subdomains), as opposed to `**.`, which covers the same hosts.
    pub fn has_subdomains_flag(&self) -> bool {
        self.kind == Kind::Subtree
    }

    /// Ordering key: when several patterns match a host, the greatest key is the most specific.
    ///
    /// Every pattern matching a host has a name that is the host or a parent of it, so a longer
    /// name is closer to the host; at equal length an exact pattern beats `*.`, which beats
    /// `**.` and include_subdomains (those two cover the same hosts, and a policy refuses to hold
    /// both). So an exact pattern always wins, then the nearest parent.
    pub(crate) fn specificity(&self) -> impl Ord + use<> {
        let rank: u8 = match self.kind {
            Kind::Exact => 3,
            Kind::OneLabel => 2,
            Kind::Subtree | Kind::AnyDepth => 1,
        };
        (self.name.split('.').count(), rank)
    }

    /// The set of hosts the pattern covers, as a comparable key: `**.x` and `x` with
    /// include_subdomains cover the same hosts and have the same key.
    pub(crate) fn coverage(&self) -> (&str, u8) {
        let shape = match self.kind {
            Kind::Exact => 0,
            Kind::OneLabel => 1,
            Kind::Subtree | Kind::AnyDepth => 2,
        };
        (&self.name, shape)
    }
}

impl fmt::Display for HostPattern {
    /// The pattern as parsed (lowercase, no trailing dot), without the include_subdomains flag.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Exact | Kind::Subtree => f.write_str(&self.name),
            Kind::OneLabel => write!(f, "*.{}", self.name),
            Kind::AnyDepth => write!(f, "**.{}", self.name),
        }
    }
}

/// Checks a lowercase name without trailing dot: LDH labels of 1 to 63 characters, not starting
/// or ending with a hyphen, at most 253 characters in all.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid_input("a host pattern has no host name"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid_input(format!(
            "a host pattern's name is {} characters long (at most {MAX_NAME_LEN})",
            name.len()
        )));
    }
    for (index, label) in name.split('.').enumerate() {
        let position = index + 1;
        if label.is_empty() {
            return Err(Error::invalid_input(format!(
                "a host pattern's label {position} is empty"
            )));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(Error::invalid_input(format!(
                "a host pattern's label {position} is {} characters long (at most {MAX_LABEL_LEN})",
                label.len()
            )));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::invalid_input(format!(
                "a host pattern's label {position} has characters other than letters, digits and hyphens"
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(Error::invalid_input(format!(
                "a host pattern's label {position} starts or ends with a hyphen"
            )));
        }
    }
    Ok(())
}

/// Whether `text` is an IPv4 or IPv6 literal, with or without brackets or a trailing dot.
fn looks_like_ip(text: &str) -> bool {
    let text = text.strip_suffix('.').unwrap_or(text);
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(text);
    unbracketed.parse::<IpAddr>().is_ok()
}

/// Whether the last label is a number (decimal, or `0x` hex as URL parsers read IPv4 parts): no
/// top-level domain is, so such a name is an address in disguise (`1.2.3.4`, `*.0x7f`).
fn last_label_is_numeric(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let digits = last.strip_prefix("0x").unwrap_or(last);
    last.bytes().all(|b| b.is_ascii_digit())
        || (last.starts_with("0x") && digits.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `name` is itself on the public suffix list (ICANN or private section).
fn is_public_suffix(name: &str) -> bool {
    psl::suffix(name.as_bytes())
        .is_some_and(|suffix| suffix.is_known() && suffix.trim().as_bytes() == name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str, include_subdomains: bool) -> HostPattern {
        HostPattern::parse(text, include_subdomains).unwrap()
    }

    /// Hosts every table below is checked against.
    const HOSTS: &[&str] = &[
        "rukapay.com",
        "api.rukapay.com",
        "v2.api.rukapay.com",
        "a.b.c.rukapay.com",
        "evilrukapay.com",
        "api.evilrukapay.com",
        "rukapay.com.evil.com",
        "api.rukapay.com.evil.com",
        "rukapay.co",
        "com",
        "API.RukaPay.COM",
        "api.rukapay.com.",
        "RUKAPAY.COM.",
        ".rukapay.com",
        "1.2.3.4",
        "::1",
        "[::1]",
        "",
    ];

    fn check_table(pattern: &HostPattern, matching: &[&str]) {
        for host in HOSTS {
            assert_eq!(
                pattern.matches(host),
                matching.contains(host),
                "{pattern} (subdomains {}) vs {host:?}",
                pattern.includes_subdomains()
            );
        }
    }

    #[test]
    fn exact_pattern_matches_only_the_host() {
        let exact = pattern("rukapay.com", false);
        assert!(!exact.includes_subdomains());
        check_table(&exact, &["rukapay.com", "RUKAPAY.COM."]);
        let exact = pattern("api.rukapay.com", false);
        check_table(
            &exact,
            &["api.rukapay.com", "API.RukaPay.COM", "api.rukapay.com."],
        );
    }

    #[test]
    fn one_label_wildcard_matches_exactly_one_extra_label() {
        let one = pattern("*.rukapay.com", false);
        assert!(!one.includes_subdomains());
        check_table(
            &one,
            &["api.rukapay.com", "API.RukaPay.COM", "api.rukapay.com."],
        );
    }

    #[test]
    fn double_wildcard_matches_the_parent_and_any_depth_like_okhttp() {
        let any = pattern("**.rukapay.com", false);
        assert!(any.includes_subdomains());
        check_table(
            &any,
            &[
                "rukapay.com",
                "api.rukapay.com",
                "v2.api.rukapay.com",
                "a.b.c.rukapay.com",
                "API.RukaPay.COM",
                "api.rukapay.com.",
                "RUKAPAY.COM.",
            ],
        );
    }

    #[test]
    fn include_subdomains_matches_the_host_and_any_depth_below_it() {
        let subtree = pattern("api.rukapay.com", true);
        assert!(subtree.includes_subdomains());
        check_table(
            &subtree,
            &[
                "api.rukapay.com",
                "v2.api.rukapay.com",
                "API.RukaPay.COM",
                "api.rukapay.com.",
            ],
        );
        let subtree = pattern("rukapay.com", true);
        check_table(
            &subtree,
            &[
                "rukapay.com",
                "api.rukapay.com",
                "v2.api.rukapay.com",
                "a.b.c.rukapay.com",
                "API.RukaPay.COM",
                "api.rukapay.com.",
                "RUKAPAY.COM.",
            ],
        );
    }

    #[test]
    fn patterns_are_normalised_and_displayed_without_the_flag() {
        assert_eq!(
            pattern("API.RukaPay.com.", false).to_string(),
            "api.rukapay.com"
        );
        assert_eq!(pattern("*.RukaPay.com", false).to_string(), "*.rukapay.com");
        assert_eq!(
            pattern("**.rukapay.com", false).to_string(),
            "**.rukapay.com"
        );
        assert_eq!(pattern("rukapay.com", true).to_string(), "rukapay.com");
        assert_eq!(
            pattern("API.rukapay.com", false),
            pattern("api.rukapay.com.", false)
        );
        assert_ne!(pattern("rukapay.com", true), pattern("rukapay.com", false));
        assert_eq!(
            pattern("rukapay.com", true).coverage(),
            pattern("**.rukapay.com", false).coverage()
        );
        // Punycode labels are plain LDH labels.
        assert!(pattern("xn--80ak6aa92e.com", false).matches("XN--80AK6AA92E.COM"));
        // Single-label exact names (not on the list) are allowed: local test hosts.
        assert!(pattern("localhost", false).matches("localhost"));
    }

    #[test]
    fn public_suffixes_are_refused() {
        for (text, subdomains) in [
            ("*.com", false),
            ("**.com", false),
            ("**.co.ug", false),
            ("*.co.ug", false),
            ("co.ug", true),
            ("co.ug", false),
            ("com", false),
            ("com", true),
            ("COM.", false),
            ("*.github.io", false),
            ("github.io", false),
            ("*.s3.amazonaws.com", false),
        ] {
            let error = HostPattern::parse(text, subdomains).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidInput { reason } if reason.contains("public suffix")),
                "{text} {subdomains}: {error}"
            );
        }
        // A registrable name under a public suffix is fine.
        assert!(HostPattern::parse("*.rukapay.co.ug", false).is_ok());
        assert!(HostPattern::parse("rukapay.co.ug", true).is_ok());
        assert!(HostPattern::parse("rukapay.github.io", false).is_ok());
    }

    #[test]
    fn ip_addresses_are_refused() {
        for text in [
            "1.2.3.4",
            "1.2.3.4.",
            "[::1]",
            "::1",
            "[2001:db8::1]",
            "2001:db8::1",
            "*.2.3.4",
            "**.0x7f",
            "api.rukapay.123",
            "::ffff:1.2.3.4",
        ] {
            assert!(
                matches!(
                    HostPattern::parse(text, false),
                    Err(Error::InvalidInput { .. })
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_patterns_are_refused() {
        let long_label = format!("{}.rukapay.com", "a".repeat(64));
        let long_name = format!("{}rukapay.com", "abcdefghi.".repeat(25));
        for (text, subdomains) in [
            ("", false),
            (".", false),
            ("*", false),
            ("**", false),
            ("*.", false),
            ("a*.rukapay.com", false),
            ("*a.rukapay.com", false),
            ("x.*.rukapay.com", false),
            ("api.*", false),
            ("***.rukapay.com", false),
            ("*.*.rukapay.com", false),
            ("**.*.rukapay.com", false),
            ("*.rukapay.com", true),
            ("**.rukapay.com", true),
            ("*.localhost", false),
            ("**.internal", false),
            ("api..rukapay.com", false),
            (".rukapay.com", false),
            ("rukapay.com..", false),
            ("api_x.rukapay.com", false),
            ("api rukapay.com", false),
            ("-api.rukapay.com", false),
            ("api-.rukapay.com", false),
            ("bücher.de", false),
            ("api.rukapay.com/path", false),
            ("https://api.rukapay.com", false),
            (long_label.as_str(), false),
            (long_name.as_str(), false),
        ] {
            assert!(
                matches!(
                    HostPattern::parse(text, subdomains),
                    Err(Error::InvalidInput { .. })
                ),
                "{text:?} {subdomains}"
            );
        }
        let at_limit = format!("{}rukapay.com", "abcdefgh.".repeat(26));
        assert_eq!(at_limit.len(), 245);
        assert!(HostPattern::parse(&at_limit, false).is_ok());
    }

    #[test]
    fn error_reasons_do_not_echo_malformed_input() {
        let error = HostPattern::parse("secret\u{7}value.rukapay.com", false).unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn specificity_prefers_exact_then_the_nearest_parent() {
        let host = "v2.api.rukapay.com";
        let mut candidates = [
            pattern("**.rukapay.com", false),
            pattern("*.api.rukapay.com", false),
            pattern("api.rukapay.com", true),
            pattern("v2.api.rukapay.com", false),
            pattern("**.api.rukapay.com", false),
            pattern("v2.api.rukapay.com", true),
        ];
        assert!(candidates.iter().all(|p| p.matches(host)));
        candidates.sort_by_key(|p| std::cmp::Reverse(p.specificity()));
        let order: Vec<String> = candidates
            .iter()
            .map(|p| format!("{p}{}", if p.kind == Kind::Subtree { "+" } else { "" }))
            .collect();
        assert_eq!(order[0], "v2.api.rukapay.com");
        assert_eq!(order[1], "v2.api.rukapay.com+");
        assert_eq!(order[2], "*.api.rukapay.com");
        assert!(order[3] == "api.rukapay.com+" || order[3] == "**.api.rukapay.com");
        assert_eq!(order[5], "**.rukapay.com");
    }
}
