//! Redacted `Debug` for HTTP messages: requests and responses carry bearer tokens, cookies,
//! DPoP proofs, signatures and bodies, and a `{:?}` in a log line or a panic message must not
//! copy them out. Header names and sizes are kept (they are what a developer debugging needs);
//! the values of sensitive headers, the query string and bodies are replaced by their length.
//!
//! A neutral module below `tls/` and `monitor/` (a credential's header must be one redacted
//! here); its public path is `tls::redact`.

use std::fmt;

/// Headers whose values are credentials or bind to them.
const SENSITIVE: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "dpop",
    "signature",
    "x-api-key",
];

/// Name fragments that mark a custom header as secret-bearing (`x-auth-token`, `x-session-id`).
const SENSITIVE_FRAGMENTS: &[&str] = &["token", "secret", "key", "auth", "session", "password"];

/// Whether the value of header `name` is printed redacted.
pub fn is_sensitive_header(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    SENSITIVE.contains(&name.as_str())
        || SENSITIVE_FRAGMENTS
            .iter()
            .any(|fragment| name.contains(fragment))
}

/// One header, its value redacted when sensitive.
pub struct RedactedHeader<'a>(pub &'a str, pub &'a str);

impl fmt::Debug for RedactedHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(name, value) = self;
        if is_sensitive_header(name) {
            write!(f, "{name:?}: <redacted, {} bytes>", value.len())
        } else {
            write!(f, "{name:?}: {value:?}")
        }
    }
}

/// A header list, each value redacted when sensitive.
pub struct RedactedHeaders<'a>(pub &'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|(name, value)| RedactedHeader(name, value)),
            )
            .finish()
    }
}

/// A URL without its query (which may hold tokens) or fragment.
pub struct RedactedUrl<'a>(pub &'a str);

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_once(['?', '#']) {
            Some((base, rest)) => write!(f, "{base:?} + <redacted, {} bytes>", rest.len() + 1),
            None => write!(f, "{:?}", self.0),
        }
    }
}

/// A body: its length only.
pub struct RedactedBody(pub usize);

impl fmt::Debug for RedactedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

#[cfg(test)]
mod tests {
    use crate::tls::{HttpRequest, HttpResponse};

    const CANARY: &str = "canary-7f3a9";

    #[test]
    fn requests_and_responses_print_no_credential_query_or_body() {
        let request = HttpRequest {
            method: "POST".to_owned(),
            url: format!("https://api.rukapay.test/pay?token={CANARY}"),
            headers: vec![
                ("Authorization".to_owned(), format!("Bearer {CANARY}")),
                ("Cookie".to_owned(), format!("s={CANARY}")),
                ("DPoP".to_owned(), CANARY.to_owned()),
                ("Signature".to_owned(), format!("sig1=:{CANARY}:")),
                ("X-Auth-Token".to_owned(), CANARY.to_owned()),
                ("Content-Type".to_owned(), "application/json".to_owned()),
            ],
            body: CANARY.as_bytes().to_vec(),
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains(CANARY), "{printed}");
        for kept in [
            "POST",
            "https://api.rukapay.test/pay",
            "Authorization",
            "application/json",
        ] {
            assert!(printed.contains(kept), "{kept} in {printed}");
        }
        let response = HttpResponse {
            status: 200,
            url: format!("https://api.rukapay.test/next#{CANARY}"),
            version: "HTTP/2.0".to_owned(),
            headers: vec![("Set-Cookie".to_owned(), format!("s={CANARY}"))],
            body: CANARY.as_bytes().to_vec(),
        };
        let printed = format!("{response:?}");
        assert!(!printed.contains(CANARY), "{printed}");
        assert!(
            printed.contains("200") && printed.contains("Set-Cookie"),
            "{printed}"
        );
    }
}
