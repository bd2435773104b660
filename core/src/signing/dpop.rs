//! DPoP proofs (RFC 9449): binding access tokens to the device key.
//!
//! A bearer token works for whoever holds it, so a token lifted from a log, a proxy or a
//! backup works from anywhere. With DPoP the authorisation server binds the token to the
//! device's public key, and every request carries a fresh proof, a JWS signed by that key over
//! the request's method and URL (and the token's hash): a stolen token is useless without the
//! key, and a stolen proof is useless for another request (the server checks `htm`, `htu`,
//! `iat`, a `jti` it has not seen and its own `nonce`).
//!
//! The proof is built here, in Rust, so every platform gets the same normalisation of `htu`
//! (RFC 9449 §4.2: the target URI without query and fragment; scheme and host lower-cased,
//! default port and dot segments removed, as RFC 3986 §6.2.2–6.2.3 syntax- and scheme-based
//! normalisation, which the server applies before comparing) and the same claims. Only the
//! public JWK goes into the header; the access token appears only as its SHA-256 (`ath`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::key::{PublicKeyInfo, RequestSigner};
use crate::crypto::Crypto;
use crate::error::{Error, Result, SignatureFailure};

/// Random bytes in a proof's `jti` (128 bits: unique without coordination).
const JTI_LEN: usize = 16;

/// What a DPoP proof is about: the request it will travel with.
#[derive(Clone, Copy)]
pub struct DpopOptions<'a> {
    /// The request's HTTP method (`htm`), exactly as sent (methods are case-sensitive).
    pub method: &'a str,
    /// The request's URL; `htu` is this without query and fragment, normalised.
    pub url: &'a str,
    /// The access token the request carries, if any: its SHA-256 becomes `ath`.
    pub access_token: Option<&'a str>,
    /// The server's latest `DPoP-Nonce`, if it sent one.
    pub nonce: Option<&'a str>,
}

impl fmt::Debug for DpopOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopOptions")
            .field("method", &self.method)
            .field("url", &self.url)
            // The access token is a credential: only whether there is one.
            .field("access_token", &self.access_token.map(|_| "<redacted>"))
            .field("nonce", &self.nonce)
            .finish()
    }
}

/// The JWT claims of a proof (RFC 9449 §4.2), in this order.
#[derive(Serialize)]
struct Claims<'a> {
    jti: String,
    htm: &'a str,
    htu: String,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

/// A DPoP proof JWT (JWS compact serialisation, ES256) for the request `options` describes,
/// signed by `signer` and issued at `now`: the value of the request's `DPoP` header.
///
/// Header `{"typ":"dpop+jwt","alg":"ES256","jwk":{..}}` with the public JWK only; claims `jti`
/// (16 random bytes, base64url), `htm`, `htu`, `iat` (Unix seconds), `ath` (base64url SHA-256
/// of the access token, when one is given) and `nonce` (when given).
///
/// # Errors
/// [`Error::InvalidInput`] when the method is not an HTTP token, the URL is not an absolute
/// `http(s)` URL without user information, the access token is empty, the nonce is not
/// RFC 9449 `NQCHAR`s, or `now` is before 1970; [`Error::Signature`] with
/// [`SignatureFailure::SignerFailed`] when the signer fails or returns a bad public key;
/// [`Error::CryptoUnavailable`].
pub fn dpop_proof(
    signer: &dyn RequestSigner,
    options: &DpopOptions<'_>,
    now: SystemTime,
) -> Result<String> {
    let prepared = prepare_dpop_proof(&signer.public_key_sec1()?, options, now)?;
    let signature = signer.sign_p1363(prepared.signing_input.as_bytes())?;
    Ok(prepared.finish(&signature))
}

/// A DPoP proof ready for its signature: what [`dpop_proof`] does before and after it asks the
/// key, split for keys that sign asynchronously ([`AuthBoundKey`](super::AuthBoundKey)). Sign
/// [`PreparedDpopProof::signing_input`] with ECDSA P-256 SHA-256, then
/// [`PreparedDpopProof::finish`].
#[derive(Debug, Clone)]
pub struct PreparedDpopProof {
    signing_input: String,
}

impl PreparedDpopProof {
    /// The JWS signing input (`base64url(header).base64url(claims)`): the bytes to sign.
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The proof JWT, with `signature` (P1363 `r‖s`) over the signing input.
    pub fn finish(self, signature: &[u8; 64]) -> String {
        format!(
            "{}.{}",
            self.signing_input,
            URL_SAFE_NO_PAD.encode(signature)
        )
    }
}

/// Everything [`dpop_proof`] does before it asks the key, for the key whose uncompressed SEC1
/// public key is `public_key_sec1`.
///
/// # Errors
/// As [`dpop_proof`], but for the key's.
pub fn prepare_dpop_proof(
    public_key_sec1: &[u8],
    options: &DpopOptions<'_>,
    now: SystemTime,
) -> Result<PreparedDpopProof> {
    let crypto = Crypto::get()?;
    check_method(options.method)?;
    let htu = target_uri(options.url)?;
    if let Some(nonce) = options.nonce {
        check_nonce(nonce)?;
    }
    let iat = now
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::invalid_input("a DPoP proof's time is before 1970"))?
        .as_secs();
    let ath = match options.access_token {
        Some("") => return Err(Error::invalid_input("an access token is not empty")),
        Some(token) => Some(URL_SAFE_NO_PAD.encode(crypto.sha256(token.as_bytes()))),
        None => None,
    };
    let jwk = PublicKeyInfo::from_sec1(public_key_sec1)
        .map_err(|error| match error {
            Error::InvalidInput { .. } => Error::signature(
                SignatureFailure::SignerFailed,
                "the signer's public key is not a SEC1 P-256 point",
            ),
            other => other,
        })?
        .jwk;
    // `jwk` is our own canonical JSON object, so it can be embedded as is.
    let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#);
    let claims = Claims {
        jti: URL_SAFE_NO_PAD.encode(crypto.random_array::<JTI_LEN>()?),
        htm: options.method,
        htu,
        iat,
        ath,
        nonce: options.nonce,
    };
    let claims = serde_json::to_string(&claims).map_err(|_| Error::Internal {
        reason: "DPoP claims could not be serialised".to_owned(),
    })?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    Ok(PreparedDpopProof { signing_input })
}

/// Refuses a method that is not an RFC 9110 token.
fn check_method(method: &str) -> Result<()> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if method.is_empty() || !method.bytes().all(tchar) {
        return Err(Error::invalid_input(
            "an HTTP method is a non-empty RFC 9110 token",
        ));
    }
    Ok(())
}

/// Refuses a nonce that is not `1*NQCHAR` (RFC 9449 §8: `%x21 / %x23-5B / %x5D-7E`).
fn check_nonce(nonce: &str) -> Result<()> {
    let nqchar = |b: u8| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e);
    if nonce.is_empty() || !nonce.bytes().all(nqchar) {
        return Err(Error::invalid_input(
            "a DPoP nonce is 1 or more visible ASCII characters other than '\"' and '\\'",
        ));
    }
    Ok(())
}

/// `url` without query and fragment, normalised (RFC 9449 §4.2 `htu`).
fn target_uri(url: &str) -> Result<String> {
    let mut parsed = url::Url::parse(url)
        .map_err(|_| Error::invalid_input("a DPoP proof's URL is not an absolute URL"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(Error::invalid_input(
            "a DPoP proof's URL is http:// or https://",
        ));
    }
    // RFC 9110 §4.2.4: user information is never part of a target URI (and would put a
    // password into a header).
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid_input(
            "a DPoP proof's URL has no user information",
        ));
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    Ok(parsed.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    #[test]
    fn target_uri_is_normalised_without_query_and_fragment() {
        let cases = [
            (
                "https://server.example.com/token",
                "https://server.example.com/token",
            ),
            (
                "https://server.example.com/token?a=b#c",
                "https://server.example.com/token",
            ),
            (
                "HTTPS://Server.Example.COM:443/a/../b/./c",
                "https://server.example.com/b/c",
            ),
            ("https://server.example.com", "https://server.example.com/"),
            (
                "https://server.example.com:8443/x#frag",
                "https://server.example.com:8443/x",
            ),
            ("http://localhost:80/p?q", "http://localhost/p"),
        ];
        for (url, htu) in cases {
            assert_eq!(target_uri(url).unwrap(), htu, "{url}");
        }
        for url in [
            "",
            "/relative",
            "ftp://server.example.com/",
            "https://user:pw@server.example.com/",
            "https://user@server.example.com/",
            "data:text/plain,hi",
        ] {
            assert!(
                matches!(target_uri(url), Err(Error::InvalidInput { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn methods_and_nonces_are_checked() {
        for method in ["GET", "POST", "M-SEARCH", "patch"] {
            check_method(method).unwrap();
        }
        for method in ["", "GET ", "GE\"T", "GET\n", "ПОСТ"] {
            assert!(check_method(method).is_err(), "{method:?}");
        }
        check_nonce("eyJ7S_zG.eyJH0-Z.HX4w-7v").unwrap();
        for nonce in ["", "a b", "a\"b", "a\\b", "a\nb", "é"] {
            assert!(check_nonce(nonce).is_err(), "{nonce:?}");
        }
    }

    #[test]
    fn debug_of_options_hides_the_access_token() {
        let options = DpopOptions {
            method: "GET",
            url: "https://api.example.com/",
            access_token: Some("CANARY-token-7f3a9c"),
            nonce: None,
        };
        let printed = format!("{options:?}");
        assert!(!printed.contains("CANARY"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }
}
