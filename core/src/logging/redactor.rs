//! The redactor: the second line of defence between a formatted log line and the app's logger.
//!
//! The first line is that the core never logs values, keys or item names (and that secret types
//! print only their type name). This one assumes that a value slipped through anyway (a
//! dependency's error text, a URL with a token, a developer's `debug!`) and removes what it can
//! recognise, replacing each with [`REDACTED`]:
//!
//! 1. **Registered secrets**: every occurrence of a value the app registered, as its raw text
//!    (when it is UTF-8) and as lowercase hex, uppercase hex, base64 (padded and unpadded) and
//!    base64url (unpadded).
//! 2. **Sensitive `key=value` / `key: value` / `"key": "value"` pairs**: the value of a key whose
//!    name (case and `-`/`_` ignored) is one of `authorization`, `proxy-authorization`, `dpop`,
//!    `cookie`, `set-cookie`, `password`, `passwd`, `passphrase`, `secret`, `token`, `api_key`,
//!    `apikey`, `x-api-key`, `private_key`, or ends with `token`, `secret`, `password` or
//!    `apikey` (`access_token`, `client_secret`, `x-auth-token`). A quoted value is redacted to
//!    its closing quote; the value of an HTTP credential header written `Name: value` up to the
//!    end of the line; any other unquoted value up to whitespace or one of ``&,;)}]"'<>``, and a
//!    value starting with an auth scheme (`Bearer x`) includes the credential after it.
//! 3. **Auth-scheme credentials**: `Bearer`, `Basic` or `DPoP` (any case, as a word), spaces,
//!    then a token68 run of at least 8 characters (`Bearer ey...` becomes `Bearer [redacted]`).
//! 4. **Long high-entropy runs**: a hex run of 32 or more characters with letters and digits and
//!    at least 10 distinct characters; a base64/base64url run of 32 or more characters with
//!    at least two each of upper case, lower case and digits, at least 12 distinct characters,
//!    a `/`-separated piece of at least 20 (a file path is kept) and a character class (digit,
//!    upper, lower, other) changing at every third character or more (a hex run: every fourth),
//!    as in random text and not in names like `parse_Header_Value_2`. A run starting `sha256/`
//!    is an SPKI pin, which is public, and is kept; so are UUIDs, words and numbers.
//!
//! Not constant time: redaction only decides what to hide, and a timing difference in it tells
//! nothing an attacker could not read from the (redacted) line itself. The redactor keeps one
//! copy of each registered value (wiped on unregister and drop); the encodings of rule 1 are
//! computed per line into buffers that are wiped after use, as are the intermediate texts.

use std::sync::{PoisonError, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::secret::{SecretBytes, SecretString};

/// What replaces every redacted value.
pub const REDACTED: &str = "[redacted]";

/// The shortest value that can be registered: shorter ones would redact ordinary text.
pub const MIN_SECRET_LEN: usize = 4;

/// Removes registered secrets, credentials and key-looking values from text (see the module
/// documentation for the exact rules). Safe to share between threads.
#[derive(Default)]
pub struct Redactor {
    secrets: RwLock<Vec<SecretBytes>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} registered)", self.registered())
    }
}

impl Redactor {
    /// An empty redactor (rules 2 to 4 only).
    pub fn new() -> Self {
        Self::default()
    }

    /// Redacts `secret` from every line from now on. Registering a value twice keeps one copy.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when it is shorter than [`MIN_SECRET_LEN`] bytes.
    pub fn register(&self, secret: &SecretBytes) -> Result<()> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::InvalidInput {
                reason: format!("a registered secret needs at least {MIN_SECRET_LEN} bytes"),
            });
        }
        let mut secrets = self.secrets.write().unwrap_or_else(PoisonError::into_inner);
        if !secrets.iter().any(|known| known == secret) {
            // Exposed to keep the one copy the redactor needs to find the value in text.
            secrets.push(SecretBytes::from_slice(secret.expose_secret()));
        }
        Ok(())
    }

    /// [`Self::register`] for a secret string (its UTF-8 bytes).
    ///
    /// # Errors
    /// As [`Self::register`].
    pub fn register_text(&self, secret: &SecretString) -> Result<()> {
        // Exposed to copy it into the redactor's one copy (wiped when `bytes` drops).
        let bytes = SecretBytes::from_slice(secret.expose_secret().as_bytes());
        self.register(&bytes)
    }

    /// Stops redacting `secret` specially (rules 2 to 4 still apply). Returns whether it was
    /// registered; its copy is wiped.
    pub fn unregister(&self, secret: &SecretBytes) -> bool {
        let mut secrets = self.secrets.write().unwrap_or_else(PoisonError::into_inner);
        let before = secrets.len();
        secrets.retain(|known| known != secret);
        secrets.len() != before
    }

    /// [`Self::unregister`] for a secret string.
    pub fn unregister_text(&self, secret: &SecretString) -> bool {
        // Exposed to compare it with the registered copies.
        let bytes = SecretBytes::from_slice(secret.expose_secret().as_bytes());
        self.unregister(&bytes)
    }

    /// How many values are registered.
    pub fn registered(&self) -> usize {
        self.secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// `text` with every rule applied.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        {
            let secrets = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
            for secret in secrets.iter() {
                for form in forms(secret) {
                    replace_wiping(&mut out, &form);
                }
            }
        }
        apply(&mut out, redact_pairs);
        apply(&mut out, redact_schemes);
        apply(&mut out, redact_runs);
        out
    }
}

/// The text forms a registered value is looked for in, each wiped when dropped.
fn forms(secret: &SecretBytes) -> Vec<Zeroizing<String>> {
    // Exposed to build the encodings it may appear in (the buffers are wiped after the line).
    let bytes = secret.expose_secret();
    let mut forms = Vec::with_capacity(6);
    if let Ok(text) = std::str::from_utf8(bytes) {
        forms.push(Zeroizing::new(text.to_owned()));
    }
    let lower = Zeroizing::new(hex::encode(bytes));
    forms.push(Zeroizing::new(lower.to_ascii_uppercase()));
    forms.push(lower);
    forms.push(Zeroizing::new(STANDARD.encode(bytes)));
    forms.push(Zeroizing::new(STANDARD_NO_PAD.encode(bytes)));
    forms.push(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes)));
    forms
}

/// Replaces every `needle` in `text`, wiping the text it replaces.
fn replace_wiping(text: &mut String, needle: &str) {
    if !needle.is_empty() && text.contains(needle) {
        let replaced = text.replace(needle, REDACTED);
        text.zeroize();
        *text = replaced;
    }
}

/// Runs one rule over `text`: `rule` returns the spans (byte ranges at ASCII boundaries) to
/// replace, in order and not overlapping.
fn apply(text: &mut String, rule: fn(&[u8]) -> Vec<(usize, usize)>) {
    let spans = rule(text.as_bytes());
    if spans.is_empty() {
        return;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in spans {
        out.push_str(&text[last..start]);
        out.push_str(REDACTED);
        last = end;
    }
    out.push_str(&text[last..]);
    text.zeroize();
    *text = out;
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// HTTP headers whose whole value is a credential.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxyauthorization",
    "dpop",
    "cookie",
    "setcookie",
];

const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "xapikey",
    "privatekey",
];

const SENSITIVE_SUFFIXES: &[&str] = &["token", "secret", "password", "apikey"];

/// A key name with case, `-` and `_` dropped.
fn normalise(key: &[u8]) -> String {
    key.iter()
        .filter(|b| **b != b'-' && **b != b'_')
        .map(|b| b.to_ascii_lowercase() as char)
        .collect()
}

/// Whether a value under this key name is redacted (rule 2).
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    let key = normalise(key.as_bytes());
    CREDENTIAL_HEADERS.contains(&key.as_str())
        || SENSITIVE_KEYS.contains(&key.as_str())
        || SENSITIVE_SUFFIXES.iter().any(|s| key.ends_with(s))
}

/// Rule 2: values of sensitive pairs.
fn redact_pairs(b: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_key_char(b[i]) || (i > 0 && is_key_char(b[i - 1])) {
            i += 1;
            continue;
        }
        let key_start = i;
        let mut j = i;
        while j < b.len() && is_key_char(b[j]) {
            j += 1;
        }
        let key = &b[key_start..j];
        let Some((separator, value_start)) = separator_after(b, j) else {
            i = j;
            continue;
        };
        let name = normalise(key);
        let sensitive = std::str::from_utf8(key).is_ok_and(is_sensitive_key);
        if !sensitive {
            i = j;
            continue;
        }
        let header = separator == b':' && CREDENTIAL_HEADERS.contains(&name.as_str());
        match value_span(b, value_start, header) {
            Some((start, end)) => {
                spans.push((start, end));
                i = end.max(j);
            }
            None => i = j,
        }
    }
    spans
}

/// After a key ending at `j`: an optional closing quote, spaces, `=` or `:` (not `::`), spaces.
/// Returns the separator and where the value starts.
fn separator_after(b: &[u8], mut j: usize) -> Option<(u8, usize)> {
    if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
        j += 1;
    }
    while j < b.len() && b[j] == b' ' {
        j += 1;
    }
    let separator = *b.get(j)?;
    if separator != b'=' && separator != b':' {
        return None;
    }
    if separator == b':' && b.get(j + 1) == Some(&b':') {
        return None;
    }
    j += 1;
    while j < b.len() && b[j] == b' ' {
        j += 1;
    }
    Some((separator, j))
}

/// The span of a value starting at `start` (see rule 2); `None` when it is empty.
fn value_span(b: &[u8], start: usize, header: bool) -> Option<(usize, usize)> {
    let first = *b.get(start)?;
    if b[start..].starts_with(REDACTED.as_bytes()) {
        return None;
    }
    if first == b'"' || first == b'\'' {
        let mut k = start + 1;
        while k < b.len() && b[k] != first {
            k += if b[k] == b'\\' { 2 } else { 1 };
        }
        let end = k.min(b.len());
        return (end > start + 1).then_some((start + 1, end));
    }
    let end = if header {
        b[start..]
            .iter()
            .position(|c| *c == b'\n' || *c == b'\r')
            .map_or(b.len(), |p| start + p)
    } else {
        let word_end = unquoted_end(b, start);
        match scheme_credential(b, start) {
            Some((_, credential_end)) if word_end < credential_end => credential_end,
            _ => word_end,
        }
    };
    (end > start).then_some((start, end))
}

fn unquoted_end(b: &[u8], start: usize) -> usize {
    b[start..]
        .iter()
        .position(|c| c.is_ascii_whitespace() || b"&,;)}]\"'<>".contains(c))
        .map_or(b.len(), |p| start + p)
}

const SCHEMES: &[&[u8]] = &[b"bearer", b"basic", b"dpop"];
const MIN_SCHEME_CREDENTIAL: usize = 8;

fn is_token68(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
}

/// At `i`: an auth scheme word, spaces and a credential of at least 8 token68 characters
/// (with its `=` padding). Returns the credential's span.
fn scheme_credential(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0 && b[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let scheme = SCHEMES.iter().find(|scheme| {
        b.len() >= i + scheme.len() && b[i..i + scheme.len()].eq_ignore_ascii_case(scheme)
    })?;
    let mut k = i + scheme.len();
    let spaces = k;
    while k < b.len() && b[k] == b' ' {
        k += 1;
    }
    if k == spaces {
        return None;
    }
    let start = k;
    while k < b.len() && is_token68(b[k]) {
        k += 1;
    }
    if k - start < MIN_SCHEME_CREDENTIAL {
        return None;
    }
    while k < b.len() && b[k] == b'=' {
        k += 1;
    }
    Some((start, k))
}

/// Rule 3: credentials after an auth scheme.
fn redact_schemes(b: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match scheme_credential(b, i) {
            Some((start, end)) => {
                spans.push((start, end));
                i = end;
            }
            None => i += 1,
        }
    }
    spans
}

const MIN_RUN: usize = 32;

fn is_run_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"+/_-".contains(&c)
}

/// Rule 4: long hex and base64 runs that look random.
fn redact_runs(b: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_run_char(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_run_char(b[i]) {
            i += 1;
        }
        let mut end = i;
        while end < b.len() && b[end] == b'=' {
            end += 1;
        }
        let run = &b[start..i];
        if looks_random(run)
            && !(start >= 7 && b[start - 7..start].eq_ignore_ascii_case(b"sha256/"))
        {
            spans.push((start, end));
        }
        i = end.max(i);
    }
    spans
}

fn distinct(run: &[u8]) -> usize {
    let mut seen = [false; 256];
    run.iter().for_each(|c| seen[usize::from(*c)] = true);
    seen.iter().filter(|s| **s).count()
}

/// How often the character class (digit, upper, lower, other) changes along `run`: about
/// two thirds of the time in random base64, half in random hex, rarely in words and names.
fn class_changes(run: &[u8]) -> usize {
    let class = |c: &u8| match c {
        b'0'..=b'9' => 0,
        b'A'..=b'Z' => 1,
        b'a'..=b'z' => 2,
        _ => 3,
    };
    run.windows(2)
        .filter(|pair| class(&pair[0]) != class(&pair[1]))
        .count()
}

fn looks_random(run: &[u8]) -> bool {
    if run.len() < MIN_RUN
        || run
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"sha256/"))
    {
        return false;
    }
    let hex = run.split(|c| !c.is_ascii_hexdigit()).any(|piece| {
        piece.len() >= MIN_RUN
            && piece.iter().any(u8::is_ascii_digit)
            && piece.iter().any(u8::is_ascii_alphabetic)
            && distinct(piece) >= 10
            && class_changes(piece) * 4 >= piece.len()
    });
    if hex {
        return true;
    }
    let count = |test: fn(&u8) -> bool| run.iter().filter(|c| test(c)).count();
    let longest_piece = run
        .split(|c| *c == b'/')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    count(u8::is_ascii_digit) >= 2
        && count(u8::is_ascii_uppercase) >= 2
        && count(u8::is_ascii_lowercase) >= 2
        && distinct(run) >= 12
        && longest_piece >= 20
        && class_changes(run) * 3 >= run.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        Redactor::new().redact(text)
    }

    #[test]
    fn registered_secrets_are_removed_in_every_encoding() {
        let redactor = Redactor::new();
        let secret = SecretBytes::from_slice(b"canary-4f9e-value");
        redactor.register(&secret).unwrap();
        redactor.register(&secret).unwrap();
        assert_eq!(redactor.registered(), 1);
        // Test: building the encodings the redactor must find is the point.
        let raw = secret.expose_secret();
        let line = format!(
            "a canary-4f9e-value b {} c {} d {} e {}",
            hex::encode(raw),
            hex::encode_upper(raw),
            STANDARD.encode(raw),
            URL_SAFE_NO_PAD.encode(raw)
        );
        let out = redactor.redact(&line);
        assert_eq!(
            out,
            "a [redacted] b [redacted] c [redacted] d [redacted] e [redacted]"
        );
        assert!(redactor.unregister(&secret));
        assert!(!redactor.unregister(&secret));
        assert_eq!(
            redactor.redact("a canary-4f9e-value"),
            "a canary-4f9e-value"
        );
        assert!(matches!(
            redactor.register(&SecretBytes::from_slice(b"abc")),
            Err(Error::InvalidInput { .. })
        ));
        let text = SecretString::new("pass-phrase-xyz".to_owned());
        redactor.register_text(&text).unwrap();
        assert_eq!(redactor.redact("[pass-phrase-xyz]"), "[[redacted]]");
        assert!(redactor.unregister_text(&text));
        assert!(!format!("{redactor:?}").contains("pass"));
    }

    #[test]
    fn bearer_and_header_credentials_are_removed() {
        for (line, expected) in [
            (
                "Authorization: Bearer eyJhbGciOi.J9.abc",
                "Authorization: [redacted]",
            ),
            (
                "sent with bearer abcdefgh12345678== ok",
                "sent with bearer [redacted] ok",
            ),
            ("DPoP: eyJ0eXAiOiJkcG9w.x.y\nnext", "DPoP: [redacted]\nnext"),
            (
                "authorization=Bearer abcdefgh123 status=200",
                "authorization=[redacted] status=200",
            ),
            (
                r#"{"Authorization": "DPoP tok.en-123456"}"#,
                r#"{"Authorization": "[redacted]"}"#,
            ),
            ("Cookie: s=1; t=2", "Cookie: [redacted]"),
            ("Basic dXNlcjpwYXNzd29yZA==", "Basic [redacted]"),
        ] {
            assert_eq!(redact(line), expected, "{line}");
        }
    }

    #[test]
    fn sensitive_pairs_are_removed() {
        for (line, expected) in [
            (
                "GET /x?api_key=k123&page=2",
                "GET /x?api_key=[redacted]&page=2",
            ),
            (
                r#"{"apiKey":"abc","amount":5}"#,
                r#"{"apiKey":"[redacted]","amount":5}"#,
            ),
            ("x-api-key: zz9, next", "x-api-key: [redacted], next"),
            (
                "password='hunter2' user=me",
                "password='[redacted]' user=me",
            ),
            (
                "access_token=a.b.c; refresh-token: r1",
                "access_token=[redacted]; refresh-token: [redacted]",
            ),
            ("client_secret = s3", "client_secret = [redacted]"),
            ("token=t", "token=[redacted]"),
        ] {
            assert_eq!(redact(line), expected, "{line}");
        }
    }

    #[test]
    fn long_random_runs_are_removed() {
        let hex_key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(redact(&format!("key {hex_key}.")), "key [redacted].");
        let b64 = "q83vEjRWeJq8nN7wEjRWeJq8Xy01ZkLmPq==";
        assert_eq!(redact(&format!("k {b64} end")), "k [redacted] end");
        let url_safe = "AbCdEf_0123456789-GhIjKlMnOpQrStUvWx";
        assert_eq!(redact(url_safe), REDACTED);
    }

    #[test]
    fn pins_words_paths_and_ids_are_kept() {
        for line in [
            "pin sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= matched",
            "pin-set=sha256/Y9mvm0exBk1JoQ57f9Vm28jKo5lFm/woKcVxrYxu80o=",
            "request finished: method=GET status=200 host=pay.rukapay.test",
            "the token expired; a new token is needed",
            "Bearer token missing",
            "DPoP proofs created",
            "file /Users/Developer/Library/Caches/RukaSec2/vault.db",
            "id 550e8400-e29b-41d4-a716-446655440000",
            "counted 12345678901234567890123456789012345 items",
            "target rukasec_core::tls::client: ok",
            "supercalifragilisticexpialidocious_and_Friends_2",
        ] {
            assert_eq!(redact(line), line);
        }
    }

    #[test]
    fn non_ascii_text_survives() {
        let line = "paiement réussi — token=ça.va ✓";
        assert_eq!(redact(line), "paiement réussi — token=[redacted] ✓");
    }
}
