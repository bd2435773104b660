//! Pin policies: which pins apply to which hosts, until when, and whether a mismatch blocks.
//!
//! A [`PinPolicy`] is a list of [`DomainPolicy`] entries, each a [`HostPattern`] with its pin set.
//! It is decided here, in plain data, so the TLS verifier, the CLI and the signed-update path all
//! ask the same question the same way: [`PinPolicy::evaluate`] gives a [`PinVerdict`] for a host
//! and the pins of its verified chain.
//!
//! The rules are the ones pinning deployments learnt the hard way (TrustKit, Android Network
//! Security Config, the HPKP RFC 7469):
//!
//! - an enforced pin set needs at least two distinct pins, so a backup key kept offline can take
//!   over when the main one is lost or compromised, instead of the app bricking itself;
//! - a pin set can expire: after its date only normal certificate verification applies, so an
//!   app that was never updated degrades to plain TLS rather than to no connection at all;
//! - a pin set can be report-only, to roll pins out and watch before enforcing them;
//! - when several patterns match a host, the most specific one decides (an exact name beats a
//!   wildcard; a nearer parent beats a farther one). This differs from OkHttp, where any match
//!   is enough: with one winner, a narrower entry can override a broad one (for example a
//!   report-only entry for a host that is moving to a new key).
//!
//! Policies are also read from JSON (docs/FORMAT.md, "Pin policy document"): strictly (unknown
//! fields are errors), with size limits, and without ever panicking on what arrives. Pins are
//! public values, so nothing here needs constant time.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{HostPattern, SpkiPin};
use crate::error::{Error, Result};

/// Largest policy JSON document, in bytes.
pub(crate) const MAX_POLICY_JSON_LEN: usize = 256 * 1024;
/// Most domains in a policy.
const MAX_DOMAINS: usize = 1000;
/// Most pins per domain.
const MAX_PINS: usize = 64;
/// Longest report URI, in bytes (before and after normalisation).
const MAX_REPORT_URI_LEN: usize = 2048;

/// The pins of one host pattern, with their expiry, enforcement and report URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainPolicy {
    pattern: HostPattern,
    pins: Vec<SpkiPin>,
    expires: Option<SystemTime>,
    enforce: bool,
    report_uri: Option<String>,
}

impl DomainPolicy {
    /// An enforced pin set for `pattern` (see [`HostPattern::parse`]), without expiry or report
    /// URI. The pin count rules (two for an enforced set) are checked when the domain joins a
    /// [`PinPolicy`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed pattern, more than 64 pins, or a pin given twice.
    pub fn new(
        pattern: &str,
        include_subdomains: bool,
        pins: impl IntoIterator<Item = SpkiPin>,
    ) -> Result<Self> {
        let pattern = HostPattern::parse(pattern, include_subdomains)?;
        let pins: Vec<SpkiPin> = pins.into_iter().take(MAX_PINS + 1).collect();
        let domain = Self {
            pattern,
            pins,
            expires: None,
            enforce: true,
            report_uri: None,
        };
        domain.check_pin_list()?;
        Ok(domain)
    }

    /// The same pin set, applying until `at` (from `at` on, [`PinPolicy::evaluate`] says
    /// [`PinVerdict::Expired`]).
    #[must_use]
    pub fn with_expiry(mut self, at: SystemTime) -> Self {
        self.expires = Some(at);
        self
    }

    /// The same pin set, report-only: a mismatch is reported but does not block.
    #[must_use]
    pub fn report_only(mut self) -> Self {
        self.enforce = false;
        self
    }

    /// The same pin set, reporting mismatches to `uri`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless `uri` is an absolute `https://` URL with a host, without
    /// credentials, of at most 2048 bytes.
    pub fn with_report_uri(mut self, uri: &str) -> Result<Self> {
        self.report_uri = Some(check_report_uri(uri)?);
        Ok(self)
    }

    /// The host pattern.
    pub fn pattern(&self) -> &HostPattern {
        &self.pattern
    }

    /// The pins, in the order given.
    pub fn pins(&self) -> &[SpkiPin] {
        &self.pins
    }

    /// When the pin set stops applying, if ever.
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    /// Whether a mismatch blocks the connection (`false`: report-only).
    pub fn is_enforced(&self) -> bool {
        self.enforce
    }

    /// Where mismatches are reported (normalised URL), if anywhere.
    pub fn report_uri(&self) -> Option<&str> {
        self.report_uri.as_deref()
    }

    /// A description of the domain for error reasons: its pattern (host names are not secret).
    fn label(&self) -> String {
        if self.pattern.has_subdomains_flag() {
            format!("\"{}\" (with subdomains)", self.pattern)
        } else {
            format!("\"{}\"", self.pattern)
        }
    }

    /// At most [`MAX_PINS`] pins, none twice.
    fn check_pin_list(&self) -> Result<()> {
        if self.pins.len() > MAX_PINS {
            return Err(Error::invalid_input(format!(
                "domain {}: more than {MAX_PINS} pins",
                self.label()
            )));
        }
        let mut seen = HashSet::with_capacity(self.pins.len());
        for (index, pin) in self.pins.iter().enumerate() {
            if !seen.insert(pin) {
                return Err(Error::invalid_input(format!(
                    "domain {}: pin {} is a duplicate",
                    self.label(),
                    index + 1
                )));
            }
        }
        Ok(())
    }

    /// Every rule a domain of a policy must follow.
    fn validate(&self) -> Result<()> {
        self.check_pin_list()?;
        if self.pins.is_empty() {
            return Err(Error::invalid_input(format!(
                "domain {}: has no pins",
                self.label()
            )));
        }
        if self.enforce && self.pins.len() < 2 {
            return Err(Error::invalid_input(format!(
                "domain {}: an enforced pin set needs at least two distinct pins (a backup pin)",
                self.label()
            )));
        }
        if self
            .expires
            .is_some_and(|expires| !(UNIX_EPOCH..=date::latest()).contains(&expires))
        {
            return Err(Error::invalid_input(format!(
                "domain {}: the expiry is outside 1970-01-01 to 9999-12-31",
                self.label()
            )));
        }
        if let Some(uri) = &self.report_uri {
            check_report_uri(uri)?;
        }
        Ok(())
    }
}

/// The pin sets of every pinned host. Immutable; build it with [`PinPolicy::builder`],
/// [`PinPolicy::new`] or [`PinPolicy::from_json`], which all validate it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PinPolicy {
    domains: Vec<DomainPolicy>,
}

/// Builds a [`PinPolicy`] one domain at a time.
#[derive(Debug, Clone, Default)]
pub struct PinPolicyBuilder {
    domains: Vec<DomainPolicy>,
}

impl PinPolicyBuilder {
    /// Adds a domain.
    #[must_use]
    pub fn domain(mut self, domain: DomainPolicy) -> Self {
        self.domains.push(domain);
        self
    }

    /// The policy.
    ///
    /// # Errors
    /// As [`PinPolicy::new`].
    pub fn build(self) -> Result<PinPolicy> {
        PinPolicy::new(self.domains)
    }
}

/// What a policy says about a host and its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinVerdict<'a> {
    /// No pattern matches the host: only normal certificate verification applies.
    Unpinned,
    /// The host's pin set expired at or before the time asked about: only normal certificate
    /// verification applies.
    Expired(&'a DomainPolicy),
    /// A pin of the chain is in the host's pin set.
    Matched(&'a DomainPolicy),
    /// No pin of the chain is in the host's pin set. Whether that blocks is
    /// [`DomainPolicy::is_enforced`].
    Mismatch(&'a DomainPolicy),
}

impl PinPolicy {
    /// A policy pinning nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A builder.
    pub fn builder() -> PinPolicyBuilder {
        PinPolicyBuilder::default()
    }

    /// A policy of `domains`, in that order.
    ///
    /// # Errors
    /// [`Error::InvalidInput`], naming the domain and the problem, when: there are more than
    /// 1000 domains; a domain has no pins, more than 64, or a duplicate; an enforced domain has
    /// fewer than two pins; an expiry is outside 1970–9999; or two domains cover the same hosts
    /// (the same pattern, or `**.x` next to `x` with include_subdomains).
    pub fn new(domains: Vec<DomainPolicy>) -> Result<Self> {
        if domains.len() > MAX_DOMAINS {
            return Err(Error::invalid_input(format!(
                "a pin policy has {} domains (at most {MAX_DOMAINS})",
                domains.len()
            )));
        }
        let mut coverage = HashSet::with_capacity(domains.len());
        for domain in &domains {
            domain.validate()?;
            if !coverage.insert(domain.pattern.coverage()) {
                return Err(Error::invalid_input(format!(
                    "domain {}: another domain covers the same hosts",
                    domain.label()
                )));
            }
        }
        Ok(Self { domains })
    }

    /// Reads a policy from its JSON document (docs/FORMAT.md, "Pin policy document"). The
    /// top-level `version` and `expires` of signed documents are accepted and checked for form,
    /// but a plain policy does not use them.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the text is larger than 256 KiB, is not JSON of the
    /// documented shape (unknown fields included), has a malformed pin, date or URI, or breaks a
    /// rule of [`PinPolicy::new`]. Never panics, whatever the input.
    pub fn from_json(text: &str) -> Result<Self> {
        parse_document(text).map(|document| document.policy)
    }

    /// The policy as a JSON document that [`PinPolicy::from_json`] reads back as an equal
    /// policy. Expiries at midnight UTC are written as the date before (the last day the pins
    /// apply), others in RFC 3339.
    pub fn to_json(&self) -> String {
        let document = DocumentJson {
            version: None,
            expires: None,
            domains: self
                .domains
                .iter()
                .map(|domain| DomainJson {
                    pattern: domain.pattern.to_string(),
                    include_subdomains: domain.pattern.has_subdomains_flag(),
                    pins: domain.pins.iter().map(ToString::to_string).collect(),
                    expires: domain.expires.map(date::format_expiry),
                    enforce: domain.enforce,
                    report_uri: domain.report_uri.clone(),
                })
                .collect(),
        };
        #[allow(clippy::expect_used)]
        serde_json::to_string_pretty(&document)
            // invariant: plain derived structs of strings, booleans, numbers and vectors, with no
            // maps and no custom Serialize, always serialise.
            .expect("a pin policy always serialises to JSON")
    }

    /// The domains, in the order given.
    pub fn domains(&self) -> &[DomainPolicy] {
        &self.domains
    }

    /// The most specific domain whose pattern matches `host` (see
    /// [`HostPattern::matches`]): an exact pattern first, then the nearest parent.
    pub fn find(&self, host: &str) -> Option<&DomainPolicy> {
        self.domains
            .iter()
            .filter(|domain| domain.pattern.matches(host))
            .max_by_key(|domain| domain.pattern.specificity())
    }

    /// The verdict for a connection to `host` whose verified chain has the pins `chain`, at
    /// `now`.
    pub fn evaluate(&self, host: &str, chain: &[SpkiPin], now: SystemTime) -> PinVerdict<'_> {
        let Some(domain) = self.find(host) else {
            return PinVerdict::Unpinned;
        };
        if domain.expires.is_some_and(|expires| expires <= now) {
            return PinVerdict::Expired(domain);
        }
        // Plain comparison: pins are hashes of public keys, public values with nothing to leak
        // through timing.
        if chain.iter().any(|pin| domain.pins.contains(pin)) {
            PinVerdict::Matched(domain)
        } else {
            PinVerdict::Mismatch(domain)
        }
    }
}

/// A parsed policy document with the top-level fields signed documents use.
pub(crate) struct PolicyDocument {
    /// The policy.
    pub(crate) policy: PinPolicy,
    /// The top-level `version`, if present.
    pub(crate) version: Option<u64>,
    /// The top-level `expires`, if present.
    pub(crate) expires: Option<SystemTime>,
}

/// Parses and validates a policy JSON document.
pub(crate) fn parse_document(text: &str) -> Result<PolicyDocument> {
    if text.len() > MAX_POLICY_JSON_LEN {
        return Err(Error::invalid_input(format!(
            "a pin policy document is {} bytes (at most {MAX_POLICY_JSON_LEN})",
            text.len()
        )));
    }
    let document: DocumentJson = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    if document.domains.len() > MAX_DOMAINS {
        return Err(Error::invalid_input(format!(
            "a pin policy has {} domains (at most {MAX_DOMAINS})",
            document.domains.len()
        )));
    }
    let expires = document
        .expires
        .as_deref()
        .map(|text| {
            date::parse_rfc3339(text)
                .map_err(|reason| Error::invalid_input(format!("the policy's expires: {reason}")))
        })
        .transpose()?;
    let domains = document
        .domains
        .into_iter()
        .enumerate()
        .map(|(index, domain)| domain.into_policy(index + 1))
        .collect::<Result<Vec<_>>>()?;
    Ok(PolicyDocument {
        policy: PinPolicy::new(domains)?,
        version: document.version,
        expires,
    })
}

/// The JSON document (docs/FORMAT.md).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    domains: Vec<DomainJson>,
}

/// One domain of the JSON document.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainJson {
    pattern: String,
    #[serde(default)]
    include_subdomains: bool,
    pins: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(default = "enforce_by_default")]
    enforce: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    report_uri: Option<String>,
}

fn enforce_by_default() -> bool {
    true
}

impl DomainJson {
    /// The domain; `position` (1-based) names it in errors while its pattern is unknown.
    fn into_policy(self, position: usize) -> Result<DomainPolicy> {
        let in_domain =
            |error: Error| Error::invalid_input(format!("domain {position}: {}", error.reason()));
        let pattern =
            HostPattern::parse(&self.pattern, self.include_subdomains).map_err(in_domain)?;
        if self.pins.len() > MAX_PINS {
            return Err(Error::invalid_input(format!(
                "domain {position} (\"{pattern}\"): more than {MAX_PINS} pins"
            )));
        }
        let pins = self
            .pins
            .iter()
            .enumerate()
            .map(|(index, text)| {
                text.parse::<SpkiPin>().map_err(|error| {
                    Error::invalid_input(format!(
                        "domain {position} (\"{pattern}\"): pin {}: {}",
                        index + 1,
                        error.reason()
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut domain = DomainPolicy {
            pattern,
            pins,
            expires: None,
            enforce: self.enforce,
            report_uri: None,
        };
        if let Some(text) = &self.expires {
            let at = date::parse_expiry(text).map_err(|reason| {
                Error::invalid_input(format!("domain {}: expires: {reason}", domain.label()))
            })?;
            domain.expires = Some(at);
        }
        if let Some(uri) = &self.report_uri {
            domain.report_uri = Some(check_report_uri(uri).map_err(|error| {
                Error::invalid_input(format!("domain {}: {}", domain.label(), error.reason()))
            })?);
        }
        Ok(domain)
    }
}

/// A JSON error described by its place and kind, never by the input's text (serde_json's own
/// messages quote the offending value).
fn json_error(error: &serde_json::Error) -> Error {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Syntax => "is not valid JSON".to_owned(),
        Category::Eof => "ends too early".to_owned(),
        Category::Io => "could not be read".to_owned(),
        Category::Data => {
            let message = error.to_string();
            // `missing field` and `duplicate field` name one of this module's own fields.
            if message.starts_with("missing field") || message.starts_with("duplicate field") {
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or("has a missing or repeated field");
                format!("has a {message}")
            } else if message.starts_with("unknown field") {
                "has an unknown field".to_owned()
            } else {
                "has a value of the wrong type or range".to_owned()
            }
        }
    };
    Error::invalid_input(format!(
        "the pin policy JSON {what} (line {}, column {})",
        error.line(),
        error.column()
    ))
}

/// The normalised form of a report URI: absolute `https://` with a host, no credentials, at
/// most [`MAX_REPORT_URI_LEN`] bytes before and after normalisation.
fn check_report_uri(uri: &str) -> Result<String> {
    if uri.len() > MAX_REPORT_URI_LEN {
        return Err(Error::invalid_input(format!(
            "a report URI is {} bytes (at most {MAX_REPORT_URI_LEN})",
            uri.len()
        )));
    }
    let url = url::Url::parse(uri)
        .map_err(|_| Error::invalid_input("a report URI is not an absolute URL"))?;
    if url.scheme() != "https" {
        return Err(Error::invalid_input("a report URI must be https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid_input("a report URI has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_input(
            "a report URI must not carry credentials",
        ));
    }
    let normalised = String::from(url);
    if normalised.len() > MAX_REPORT_URI_LEN {
        return Err(Error::invalid_input(format!(
            "a report URI is longer than {MAX_REPORT_URI_LEN} bytes once normalised"
        )));
    }
    Ok(normalised)
}

/// Dates and RFC 3339 times in UTC, written out here rather than pulling in a date crate: the
/// policy needs only days-from-civil arithmetic, years 1970 to 9999, and no time zones.
pub(crate) mod date {
    use super::{Duration, SystemTime, UNIX_EPOCH};

    const SECONDS_PER_DAY: u64 = 86_400;
    const FIRST_YEAR: i64 = 1970;
    const LAST_YEAR: i64 = 9999;

    /// The end of the last day that can be written: 10000-01-01T00:00:00Z.
    pub(crate) fn latest() -> SystemTime {
        let days = days_from_civil(LAST_YEAR + 1, 1, 1);
        UNIX_EPOCH + Duration::from_secs(days.unsigned_abs() * SECONDS_PER_DAY)
    }

    /// A domain's `expires`: a date `YYYY-MM-DD` (the pins apply through that UTC day, so the
    /// expiry is the next midnight) or an RFC 3339 UTC time.
    pub(crate) fn parse_expiry(text: &str) -> Result<SystemTime, String> {
        if text.len() == 10 {
            let (year, month, day) = parse_date(text.as_bytes())?;
            let next_midnight = (days_from_civil(year, month, day) + 1).unsigned_abs();
            Ok(UNIX_EPOCH + Duration::from_secs(next_midnight * SECONDS_PER_DAY))
        } else {
            parse_rfc3339(text)
        }
    }

    /// An RFC 3339 time in UTC: `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (`T`/`Z` in either case,
    /// `+00:00` for `Z`, up to nine fraction digits, no leap second).
    pub(crate) fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
        let bytes = text.as_bytes();
        const SHAPE: &str =
            "not a date (YYYY-MM-DD) or an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)";
        let (date, rest) = (bytes.get(..10), bytes.get(10..));
        let (Some(date), Some(rest)) = (date, rest) else {
            return Err(SHAPE.to_owned());
        };
        let (year, month, day) = parse_date(date)?;
        let [separator, h1, h2, b':', m1, m2, b':', s1, s2, rest @ ..] = rest else {
            return Err(SHAPE.to_owned());
        };
        if !matches!(separator, b'T' | b't') {
            return Err(SHAPE.to_owned());
        }
        let hour = two_digits(*h1, *h2).ok_or(SHAPE)?;
        let minute = two_digits(*m1, *m2).ok_or(SHAPE)?;
        let second = two_digits(*s1, *s2).ok_or(SHAPE)?;
        if hour > 23 || minute > 59 || second > 59 {
            return Err(
                "the time of day is out of range (leap seconds are not accepted)".to_owned(),
            );
        }
        let (nanos, zone) = match rest {
            [b'.', fraction @ ..] => {
                let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
                if digits == 0 || digits > 9 {
                    return Err("a fraction of a second has 1 to 9 digits".to_owned());
                }
                let (digits, zone) = fraction.split_at_checked(digits).unwrap_or((fraction, &[]));
                (scale_fraction(digits), zone)
            }
            zone => (0, zone),
        };
        if !matches!(zone, b"Z" | b"z" | b"+00:00") {
            return Err("the time must be in UTC (ending in Z)".to_owned());
        }
        let days = days_from_civil(year, month, day).unsigned_abs();
        let seconds = days * SECONDS_PER_DAY
            + u64::from(hour) * 3600
            + u64::from(minute) * 60
            + u64::from(second);
        Ok(UNIX_EPOCH + Duration::new(seconds, nanos))
    }

    /// Nanoseconds from one to nine fraction digits.
    fn scale_fraction(digits: &[u8]) -> u32 {
        let mut nanos: u32 = 0;
        for index in 0..9 {
            let digit = digits
                .get(index)
                .map_or(0, |d| u32::from(d.saturating_sub(b'0')));
            nanos = nanos * 10 + digit;
        }
        nanos
    }

    /// `YYYY-MM-DD`, a real calendar date in 1970..=9999.
    fn parse_date(bytes: &[u8]) -> Result<(i64, u32, u32), String> {
        const SHAPE: &str = "not a date of the form YYYY-MM-DD";
        let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = bytes else {
            return Err(SHAPE.to_owned());
        };
        let year = i64::from(two_digits(*y1, *y2).ok_or(SHAPE)?) * 100
            + i64::from(two_digits(*y3, *y4).ok_or(SHAPE)?);
        let month = two_digits(*m1, *m2).ok_or(SHAPE)?;
        let day = two_digits(*d1, *d2).ok_or(SHAPE)?;
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(format!("the year is outside {FIRST_YEAR} to {LAST_YEAR}"));
        }
        if !(1..=12).contains(&month) {
            return Err("the month is not 01 to 12".to_owned());
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err("the day does not exist in that month".to_owned());
        }
        Ok((year, month, day))
    }

    fn two_digits(tens: u8, ones: u8) -> Option<u32> {
        (tens.is_ascii_digit() && ones.is_ascii_digit())
            .then(|| u32::from(tens - b'0') * 10 + u32::from(ones - b'0'))
    }

    fn is_leap(year: i64) -> bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    fn days_in_month(year: i64, month: u32) -> u32 {
        match month {
            2 if is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
    /// `days_from_civil`).
    pub(super) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
        let year = if month <= 2 { year - 1 } else { year };
        let era = year.div_euclid(400);
        let year_of_era = year.rem_euclid(400);
        let month = i64::from(month);
        let day_of_year =
            (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        // Both are in range by construction (1..=31 and 1..=12).
        (
            year,
            u32::try_from(month).unwrap_or(1),
            u32::try_from(day).unwrap_or(1),
        )
    }

    /// A domain expiry for the JSON document: midnight UTC after 1970-01-01 as the date before
    /// (the last day the pins apply), any other time in RFC 3339 with as many fraction digits
    /// as needed. The time must be in 1970..=10000-01-01 (the policy checks it).
    pub(crate) fn format_expiry(at: SystemTime) -> String {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = since.as_secs();
        let nanos = since.subsec_nanos();
        let days = i64::try_from(seconds / SECONDS_PER_DAY).unwrap_or(0);
        let of_day = seconds % SECONDS_PER_DAY;
        if of_day == 0 && nanos == 0 && days > 0 {
            let (year, month, day) = civil_from_days(days - 1);
            return format!("{year:04}-{month:02}-{day:02}");
        }
        format_rfc3339(at)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (fraction digits only as needed).
    pub(crate) fn format_rfc3339(at: SystemTime) -> String {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = since.as_secs();
        let days = i64::try_from(seconds / SECONDS_PER_DAY).unwrap_or(0);
        let of_day = seconds % SECONDS_PER_DAY;
        let (year, month, day) = civil_from_days(days);
        let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
        let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
        let nanos = since.subsec_nanos();
        if nanos != 0 {
            let fraction = format!("{nanos:09}");
            text.push('.');
            text.push_str(fraction.trim_end_matches('0'));
        }
        text.push('Z');
        text
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn pin(n: u8) -> SpkiPin {
        format!("sha256/{}", STANDARD.encode([n; 32]))
            .parse()
            .unwrap()
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn reason(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::InvalidInput { reason }) => reason,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    fn domain(pattern: &str, pins: &[u8]) -> DomainPolicy {
        DomainPolicy::new(pattern, false, pins.iter().map(|&n| pin(n))).unwrap()
    }

    #[test]
    fn an_enforced_domain_needs_a_backup_pin() {
        let single = domain("api.rukapay.com", &[1]);
        let error = reason(PinPolicy::new(vec![single.clone()]));
        assert!(
            error.contains("api.rukapay.com") && error.contains("two"),
            "{error}"
        );
        assert!(PinPolicy::new(vec![single.clone().report_only()]).is_ok());
        assert!(PinPolicy::new(vec![domain("api.rukapay.com", &[1, 2])]).is_ok());
        let none = domain("api.rukapay.com", &[]).report_only();
        assert!(reason(PinPolicy::new(vec![none])).contains("no pins"));
    }

    #[test]
    fn duplicate_pins_are_refused() {
        let error = reason(DomainPolicy::new(
            "api.rukapay.com",
            false,
            [pin(1), pin(2), pin(1)],
        ));
        assert!(
            error.contains("pin 3") && error.contains("duplicate"),
            "{error}"
        );
        let error = reason(PinPolicy::from_json(&format!(
            r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{}","{}"]}}]}}"#,
            pin(1),
            pin(1)
        )));
        assert!(error.contains("duplicate"), "{error}");
        let too_many = DomainPolicy::new("api.rukapay.com", false, (0..=64).map(pin));
        assert!(reason(too_many).contains("more than 64"));
        assert!(DomainPolicy::new("api.rukapay.com", false, (0..64).map(pin)).is_ok());
    }

    #[test]
    fn two_domains_covering_the_same_hosts_are_refused() {
        for (a, a_sub, b, b_sub) in [
            ("api.rukapay.com", false, "API.rukapay.com.", false),
            ("*.rukapay.com", false, "*.rukapay.com", false),
            ("**.rukapay.com", false, "rukapay.com", true),
        ] {
            let first = DomainPolicy::new(a, a_sub, [pin(1), pin(2)]).unwrap();
            let second = DomainPolicy::new(b, b_sub, [pin(3), pin(4)]).unwrap();
            let error = reason(PinPolicy::builder().domain(first).domain(second).build());
            assert!(error.contains("same hosts"), "{error}");
        }
        // An exact name next to the same name with its subdomains is two different sets.
        let policy = PinPolicy::builder()
            .domain(domain("rukapay.com", &[1, 2]))
            .domain(DomainPolicy::new("rukapay.com", true, [pin(3), pin(4)]).unwrap())
            .domain(domain("*.rukapay.com", &[5, 6]))
            .build()
            .unwrap();
        assert_eq!(policy.domains().len(), 3);
    }

    #[test]
    fn find_picks_the_most_specific_pattern() {
        let policy = PinPolicy::builder()
            .domain(domain("**.rukapay.com", &[1, 2]))
            .domain(domain("*.rukapay.com", &[3, 4]))
            .domain(DomainPolicy::new("api.rukapay.com", true, [pin(5), pin(6)]).unwrap())
            .domain(domain("v2.api.rukapay.com", &[7, 8]))
            .domain(domain("*.api.rukapay.com", &[9, 10]))
            .build()
            .unwrap();
        let found = |host: &str| policy.find(host).map(|d| d.pins()[0]);
        assert_eq!(found("rukapay.com"), Some(pin(1)));
        assert_eq!(found("www.rukapay.com"), Some(pin(3)));
        assert_eq!(found("api.rukapay.com"), Some(pin(5)));
        assert_eq!(found("API.RUKAPAY.COM."), Some(pin(5)));
        assert_eq!(found("v2.api.rukapay.com"), Some(pin(7)));
        assert_eq!(found("v3.api.rukapay.com"), Some(pin(9)));
        assert_eq!(found("a.v3.api.rukapay.com"), Some(pin(5)));
        assert_eq!(found("a.b.rukapay.com"), Some(pin(1)));
        assert_eq!(found("evilrukapay.com"), None);
        assert_eq!(found("rukapay.com.evil.com"), None);
        assert_eq!(found("1.2.3.4"), None);
        assert_eq!(PinPolicy::empty().find("rukapay.com"), None);
    }

    #[test]
    fn evaluate_gives_each_verdict_and_expires_at_the_boundary() {
        let expiry = at(1_814_400_000);
        let policy = PinPolicy::builder()
            .domain(domain("api.rukapay.com", &[1, 2]).with_expiry(expiry))
            .domain(domain("*.rukapay.com", &[3]).report_only())
            .build()
            .unwrap();
        let before = expiry - Duration::from_nanos(1);
        let api = &policy.domains()[0];
        assert_eq!(
            policy.evaluate("other.example", &[pin(1)], before),
            PinVerdict::Unpinned
        );
        assert_eq!(
            policy.evaluate("api.rukapay.com", &[pin(9), pin(2)], before),
            PinVerdict::Matched(api)
        );
        assert_eq!(
            policy.evaluate("api.rukapay.com", &[pin(9), pin(3)], before),
            PinVerdict::Mismatch(api)
        );
        assert_eq!(
            policy.evaluate("api.rukapay.com", &[], before),
            PinVerdict::Mismatch(api)
        );
        assert_eq!(
            policy.evaluate("api.rukapay.com", &[pin(1)], expiry),
            PinVerdict::Expired(api)
        );
        assert_eq!(
            policy.evaluate(
                "api.rukapay.com",
                &[pin(9)],
                expiry + Duration::from_secs(1)
            ),
            PinVerdict::Expired(api)
        );
        let PinVerdict::Mismatch(www) = policy.evaluate("www.rukapay.com", &[pin(1)], before)
        else {
            panic!("expected a mismatch");
        };
        assert!(!www.is_enforced());
        assert!(api.is_enforced());
    }

    #[test]
    fn json_round_trips_every_field() {
        let text = format!(
            r#"{{
              "version": 7,
              "expires": "2027-12-31T23:59:59Z",
              "domains": [
                {{ "pattern": "api.rukapay.com", "include_subdomains": true,
                   "pins": ["{p1}", "{p2}"], "expires": "2027-06-30",
                   "report_uri": "https://REPORTS.rukapay.com/pins?x=1" }},
                {{ "pattern": "*.cdn.rukapay.com", "pins": ["{p3}"], "enforce": false,
                   "expires": "2027-06-30T12:00:00.25Z" }},
                {{ "pattern": "**.rukapay.co.ug", "pins": ["{p1}", "{p3}"], "expires": null }}
              ]
            }}"#,
            p1 = pin(1),
            p2 = pin(2),
            p3 = pin(3)
        );
        let policy = PinPolicy::from_json(&text).unwrap();
        let [api, cdn, ug] = policy.domains() else {
            panic!("three domains");
        };
        assert_eq!(api.pattern().to_string(), "api.rukapay.com");
        assert!(api.pattern().includes_subdomains());
        assert_eq!(api.pins(), &[pin(1), pin(2)]);
        assert_eq!(api.expires(), Some(at(1_814_400_000)));
        assert_eq!(
            api.report_uri(),
            Some("https://reports.rukapay.com/pins?x=1")
        );
        assert!(api.is_enforced());
        assert!(!cdn.is_enforced());
        assert_eq!(
            cdn.expires(),
            Some(at(1_814_356_800) + Duration::from_millis(250))
        );
        assert_eq!(ug.expires(), None);
        assert!(ug.pattern().includes_subdomains());

        let json = policy.to_json();
        assert!(json.contains("\"2027-06-30\""), "{json}");
        assert!(json.contains("\"2027-06-30T12:00:00.25Z\""), "{json}");
        assert!(!json.contains("version"), "{json}");
        assert_eq!(PinPolicy::from_json(&json).unwrap(), policy);
        assert_eq!(
            PinPolicy::from_json(&PinPolicy::empty().to_json()).unwrap(),
            PinPolicy::empty()
        );

        // Built in code with odd expiries: still round-trips.
        let odd = PinPolicy::builder()
            .domain(domain("a.rukapay.com", &[1, 2]).with_expiry(UNIX_EPOCH))
            .domain(domain("b.rukapay.com", &[1, 2]).with_expiry(date::latest()))
            .domain(domain("c.rukapay.com", &[1, 2]).with_expiry(at(86_400)))
            .domain(domain("d.rukapay.com", &[1, 2]).with_expiry(at(5) + Duration::from_nanos(1)))
            .build()
            .unwrap();
        let json = odd.to_json();
        assert!(json.contains("\"1970-01-01T00:00:00Z\""), "{json}");
        assert!(json.contains("\"9999-12-31\""), "{json}");
        assert!(json.contains("\"1970-01-01\""), "{json}");
        assert!(
            json.contains("\"1970-01-01T00:00:05.000000001Z\""),
            "{json}"
        );
        assert_eq!(PinPolicy::from_json(&json).unwrap(), odd);
        let too_late =
            domain("a.rukapay.com", &[1, 2]).with_expiry(date::latest() + Duration::from_nanos(1));
        assert!(reason(PinPolicy::new(vec![too_late])).contains("outside"));
    }

    #[test]
    fn bad_json_is_refused_with_a_reason_and_never_panics() {
        let p = pin(1).to_string();
        let q = pin(2).to_string();
        let ok_domain = format!(r#"{{"pattern":"api.rukapay.com","pins":["{p}","{q}"]}}"#);
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "ends too early"),
            ("not json".into(), "not valid JSON"),
            ("[]".into(), "wrong type"),
            ("{}".into(), "missing field `domains`"),
            (r#"{"domains":"SECRETVALUE"}"#.into(), "wrong type"),
            (r#"{"domains":[],"SECRETFIELD":1}"#.into(), "unknown field"),
            (
                format!(r#"{{"domains":[{ok_domain}],"domains":[]}}"#),
                "duplicate field `domains`",
            ),
            (
                format!(r#"{{"domains":[{ok_domain}], "version": -1}}"#),
                "wrong type",
            ),
            (
                format!(r#"{{"domains":[{ok_domain}], "version": "1"}}"#),
                "wrong type",
            ),
            (
                format!(r#"{{"domains":[{ok_domain}], "expires": "2027-06-30"}}"#),
                "expires",
            ),
            (
                r#"{"domains":[{"pattern":"api.rukapay.com","pins":["SECRETVALUE"]}]}"#.into(),
                "pin 1",
            ),
            (
                format!(
                    r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{p}","sha1/AAAA"]}}]}}"#
                ),
                "pin 2",
            ),
            (
                format!(
                    r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{p}","{q}"],"color":"red"}}]}}"#
                ),
                "unknown field",
            ),
            (
                format!(r#"{{"domains":[{{"pattern":"*.com","pins":["{p}","{q}"]}}]}}"#),
                "domain 1: host pattern \"*.com\"",
            ),
            (
                format!(
                    r#"{{"domains":[{ok_domain},{{"pattern":"SECRET VALUE","pins":["{p}","{q}"]}}]}}"#
                ),
                "domain 2",
            ),
            (
                format!(
                    r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{p}","{q}"],"enforce":null}}]}}"#
                ),
                "wrong type",
            ),
            (
                format!(
                    r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{p}","{q}"],"report_uri":"http://r.rukapay.com"}}]}}"#
                ),
                "https",
            ),
            (
                format!(
                    r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{p}","{q}"],"report_uri":"/relative"}}]}}"#
                ),
                "absolute",
            ),
            (
                format!(
                    r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{p}","{q}"],"report_uri":"https://user:SECRET@r.rukapay.com"}}]}}"#
                ),
                "credentials",
            ),
            (
                format!(r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{p}"]}}]}}"#),
                "two distinct pins",
            ),
            (
                format!(r#"{{"domains":[{ok_domain},{ok_domain}]}}"#),
                "same hosts",
            ),
        ];
        for (text, expected) in &cases {
            let error = reason(PinPolicy::from_json(text));
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("SECRET"), "{text}: {error}");
        }
        for (date, expected) in [
            ("2027-02-29", "day does not exist"),
            ("2027-02-30", "day does not exist"),
            ("2027-04-31", "day does not exist"),
            ("2027-13-01", "month"),
            ("2027-00-10", "month"),
            ("1969-12-31", "year"),
            ("2027-6-30", "RFC 3339"),
            ("27-06-30", "RFC 3339"),
            ("2027/06/30", "YYYY-MM-DD"),
            ("２０２７-06-30", "date"),
            ("2027-06-30T24:00:00Z", "out of range"),
            ("2027-06-30T23:59:60Z", "leap"),
            ("2027-06-30T12:00:00", "UTC"),
            ("2027-06-30T12:00:00+02:00", "UTC"),
            ("2027-06-30T12:00:00.Z", "fraction"),
            ("2027-06-30T12:00:00.1234567890Z", "fraction"),
            ("2027-06-30 12:00:00Z", "RFC 3339"),
            ("", "RFC 3339"),
        ] {
            let text = format!(
                r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{p}","{q}"],"expires":"{date}"}}]}}"#
            );
            let error = reason(PinPolicy::from_json(&text));
            assert!(
                error.contains(expected) && error.contains("expires"),
                "{date}: {error}"
            );
        }
        for good in [
            "2028-02-29",
            "2000-02-29",
            "2027-06-30t12:00:00z",
            "2027-06-30T12:00:00+00:00",
            "2027-06-30T12:00:00.123456789Z",
            "9999-12-31T23:59:59.999999999Z",
            "1970-01-01T00:00:00Z",
        ] {
            let text = format!(
                r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":["{p}","{q}"],"expires":"{good}"}}]}}"#
            );
            let policy = PinPolicy::from_json(&text).unwrap();
            assert_eq!(
                PinPolicy::from_json(&policy.to_json()).unwrap(),
                policy,
                "{good}"
            );
        }
    }

    #[test]
    fn size_limits_are_enforced() {
        let p = pin(1).to_string();
        let q = pin(2).to_string();
        let big = format!(r#"{{"domains":[]}}{}"#, " ".repeat(MAX_POLICY_JSON_LEN));
        assert!(reason(PinPolicy::from_json(&big)).contains("bytes"));
        let domains: Vec<String> = (0..=MAX_DOMAINS)
            .map(|i| format!(r#"{{"pattern":"h{i}.rukapay.com","pins":["{p}","{q}"]}}"#))
            .collect();
        let many = format!(r#"{{"domains":[{}]}}"#, domains.join(","));
        assert!(many.len() < MAX_POLICY_JSON_LEN);
        assert!(reason(PinPolicy::from_json(&many)).contains("1001 domains"));
        let just_enough = format!(r#"{{"domains":[{}]}}"#, domains[..MAX_DOMAINS].join(","));
        assert_eq!(
            PinPolicy::from_json(&just_enough).unwrap().domains().len(),
            MAX_DOMAINS
        );
        let pins: Vec<String> = (0..=64u8).map(|n| format!("\"{}\"", pin(n))).collect();
        let text = format!(
            r#"{{"domains":[{{"pattern":"api.rukapay.com","pins":[{}]}}]}}"#,
            pins.join(",")
        );
        assert!(reason(PinPolicy::from_json(&text)).contains("more than 64"));
        // Deep nesting hits serde_json's recursion limit, not the stack.
        let deep = format!(
            r#"{{"domains":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(PinPolicy::from_json(&deep[..MAX_POLICY_JSON_LEN.min(deep.len())]).is_err());
        let deep = format!(
            r#"{{"domains":{}{}}}"#,
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        assert!(PinPolicy::from_json(&deep).is_err());
    }

    #[test]
    fn report_uris_are_https_and_normalised() {
        let base = domain("api.rukapay.com", &[1, 2]);
        let with = base
            .clone()
            .with_report_uri("https://Reports.RukaPay.com:443/a/../pins")
            .unwrap();
        assert_eq!(with.report_uri(), Some("https://reports.rukapay.com/pins"));
        for bad in [
            "http://reports.rukapay.com/",
            "reports.rukapay.com/pins",
            "https://",
            "https://u:p@reports.rukapay.com/",
            "file:///etc/passwd",
            "",
        ] {
            assert!(base.clone().with_report_uri(bad).is_err(), "{bad}");
        }
        let long = format!(
            "https://reports.rukapay.com/{}",
            "a".repeat(MAX_REPORT_URI_LEN)
        );
        assert!(base.with_report_uri(&long).is_err());
    }

    #[test]
    fn civil_date_arithmetic_round_trips() {
        for (text, seconds) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2027-06-30T12:00:00Z", 1_814_356_800),
            ("2028-03-01T00:00:00Z", 1_835_481_600),
            ("9999-12-31T00:00:00Z", 253_402_214_400),
        ] {
            assert_eq!(date::parse_rfc3339(text).unwrap(), at(seconds), "{text}");
            assert_eq!(date::format_rfc3339(at(seconds)), text);
        }
        // Every day from 1970 to 9999 converts back; every 97th also formats and parses back.
        for day in 0..=2_932_896_i64 {
            let (year, month, dom) = date::civil_from_days(day);
            assert_eq!(date::days_from_civil(year, month, dom), day);
            if day % 97 == 0 {
                let time = at(day.unsigned_abs() * 86_400 + 3_661);
                assert_eq!(
                    date::parse_rfc3339(&date::format_rfc3339(time)).unwrap(),
                    time
                );
            }
        }
        assert_eq!(date::civil_from_days(2_932_896), (9999, 12, 31));
    }

    #[test]
    fn the_fuzz_corpus_never_panics() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/pin_policy");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(policy) = PinPolicy::from_json(&text) {
                assert_eq!(PinPolicy::from_json(&policy.to_json()).unwrap(), policy);
            }
            seen += 1;
        }
        assert!(seen >= 3, "{} has {seen} seeds", dir.display());
    }
}
