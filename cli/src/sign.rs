//! `rukasec sign`, `verify` and `dpop`: RFC 9421 request signatures (with RFC 9530
//! `Content-Digest`) and RFC 9449 DPoP proofs from the command line, with the core's code.
//!
//! Why: signer and verifier must build the same signature base byte for byte, and the quickest
//! way to find out why a server refuses the app's requests (or to build a server that accepts
//! them) is to sign and verify one request by hand with the very implementation the app runs.
//! `sign` prints the header lines to add to the request, `verify` checks a request as a server
//! would (the core's [`SignatureVerifier`]) and `dpop` prints a proof for a `DPoP` header.
//!
//! The request is described by its parts (`--method`, `--url`, `--header`..., `--body-file`),
//! not sent: combine with `fetch -H` or any client. A refused signature exits 7 with the
//! core's name of the cause as the error kind (`bad-signature`, `digest-mismatch`,
//! `signature-expired`, `replayed-nonce`, ...), so scripts can tell the causes apart.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Args, ValueEnum};
use rukasec_core::crypto::Crypto;
use rukasec_core::secret::SecretString;
use rukasec_core::signing::{
    Component, DigestAlgorithm, DpopOptions, SignOptions, SignatureVerifier, VerifiedSignature,
    VerifierOptions, dpop_proof, random_nonce, sign_request,
};
use rukasec_core::tls::HttpRequest;

use crate::failure::{Failure, USAGE};
use crate::fetch::parse_headers;
use crate::keys::{load_key, load_public_key};

/// The request a signature is made for or checked on (it is not sent).
#[derive(Args)]
pub struct RequestArgs {
    /// The request method, exactly as sent (`@method` is case-sensitive).
    #[arg(long, short = 'X', value_name = "METHOD")]
    method: String,
    /// The request's absolute URL, as sent (`@target-uri` is the URL without its fragment).
    #[arg(long, value_name = "URL")]
    url: String,
    /// A request header, 'Name: value'. Repeat for more.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// The request body is FILE's contents (none without it).
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
}

impl RequestArgs {
    /// The request the arguments describe (the body read from --body-file).
    fn to_request(&self) -> Result<HttpRequest, Failure> {
        let body = match &self.body_file {
            Some(file) => {
                std::fs::read(file).map_err(|e| Failure::from(e).context(file.display()))?
            }
            None => Vec::new(),
        };
        Ok(HttpRequest {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: parse_headers(&self.headers)?,
            body,
        })
    }
}

/// The `Content-Digest` algorithms, as command-line values.
#[derive(Clone, Copy, ValueEnum)]
enum Digest {
    /// SHA-256.
    #[value(name = "sha-256")]
    Sha256,
    /// SHA-512.
    #[value(name = "sha-512")]
    Sha512,
}

/// `rukasec sign --key KEY.pem --key-id ID --method M --url URL [options]`.
#[derive(Args)]
pub struct SignArgs {
    /// The signing key: PKCS#8 PEM (`keygen --out`) or SEC1 PEM (`openssl ecparam -genkey`),
    /// P-256, unencrypted.
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,
    /// The `keyid` parameter: how the server finds the public key (the key's JWK thumbprint,
    /// as `keygen --out` prints it, is a good choice).
    #[arg(long, value_name = "ID")]
    key_id: String,
    #[command(flatten)]
    request: RequestArgs,
    /// The covered components, comma-separated identifiers, e.g.
    /// `@method,@target-uri,content-digest,content-type` or `@query-param;name="id"`
    /// [default: @method, @target-uri, content-digest with a body, content-type and
    /// authorization when present].
    #[arg(long, value_name = "LIST")]
    components: Option<String>,
    /// Add `expires`, SECONDS after `created`.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    expires_in: Option<u64>,
    /// The `tag` parameter (an application-specific tag a server may require).
    #[arg(long, value_name = "TAG")]
    tag: Option<String>,
    /// The `nonce` parameter (a server remembering nonces refuses a replay). Without it and
    /// without --no-nonce, a fresh random one.
    #[arg(long, value_name = "NONCE", conflicts_with_all = ["random_nonce", "no_nonce"])]
    nonce: Option<String>,
    /// Add a fresh random `nonce` (16 bytes, base64url): the default, kept for scripts.
    #[arg(long, conflicts_with = "no_nonce")]
    random_nonce: bool,
    /// Send no `nonce` (a captured request can then be replayed until it expires; verifiers
    /// refuse methods other than GET, HEAD, OPTIONS and TRACE without one by default).
    #[arg(long)]
    no_nonce: bool,
    /// The signature's label in `Signature-Input` and `Signature`.
    #[arg(long, value_name = "LABEL", default_value = "sig1")]
    label: String,
    /// The `Content-Digest` algorithm, when the digest is made here (a `Content-Digest` header
    /// given with --header is checked against the body and covered as it is).
    #[arg(long, value_enum, default_value_t = Digest::Sha256)]
    digest: Digest,
}

/// `rukasec verify --public-key PUB.pem --method M --url URL --header ... [options]`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The signer's public key: SubjectPublicKeyInfo, PEM (`keygen --public-out`) or DER.
    #[arg(long, value_name = "PUB.pem")]
    public_key: PathBuf,
    /// Accept only signatures whose `keyid` is ID (without it, any `keyid` names the key).
    #[arg(long, value_name = "ID")]
    key_id: Option<String>,
    #[command(flatten)]
    request: RequestArgs,
    /// Oldest accepted signature: `created` at most SECONDS ago (plus the clock skew).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    max_age: u64,
    /// Clock difference tolerated between signer and verifier.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    clock_skew: u64,
    /// Check only the signature with this label (the first that verifies without it).
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// Accept only signatures with this `tag`.
    #[arg(long, value_name = "TAG")]
    tag: Option<String>,
    /// Refuse a signature without a `nonce`. (Each run starts with no nonce seen, so a replay
    /// is only caught by a verifier that lives across requests, as a server's does.)
    #[arg(long)]
    require_nonce: bool,
    /// Accept a signature without a `nonce` on a method that is not safe (by default only GET,
    /// HEAD, OPTIONS and TRACE may come without one).
    #[arg(long, conflicts_with = "require_nonce")]
    allow_no_nonce: bool,
}

/// `rukasec dpop --key KEY.pem --method M --url URL [options]`.
#[derive(Args)]
pub struct DpopArgs {
    /// The signing key, as for `sign --key`.
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,
    /// The request method (`htm`).
    #[arg(long, short = 'X', value_name = "METHOD")]
    method: String,
    /// The request URL (`htu` is it without query and fragment).
    #[arg(long, value_name = "URL")]
    url: String,
    /// The access token the request carries (`ath` is its SHA-256). Visible to other local
    /// users in the process list: prefer --access-token-file.
    #[arg(long, value_name = "TOKEN", conflicts_with = "access_token_file")]
    access_token: Option<String>,
    /// Read the access token from FILE (one line; the line break is not part of it).
    #[arg(long, value_name = "FILE")]
    access_token_file: Option<PathBuf>,
    /// The server's latest `DPoP-Nonce`.
    #[arg(long, value_name = "NONCE")]
    nonce: Option<String>,
}

/// Runs `rukasec sign`: the header lines to add, `Name: value` each.
pub fn sign(args: SignArgs, out: &mut impl Write) -> Result<(), Failure> {
    let crypto = Crypto::get()?;
    let key = load_key(&args.key)?;
    let request = args.request.to_request()?;
    let mut options = SignOptions::new(args.key_id);
    options.label = args.label;
    options.components = args
        .components
        .as_deref()
        .map(parse_components)
        .transpose()?;
    options.expires_in = args.expires_in.map(Duration::from_secs);
    options.tag = args.tag;
    options.nonce = if args.random_nonce {
        Some(random_nonce(&crypto)?)
    } else {
        args.nonce
    };
    options.no_nonce = args.no_nonce;
    options.digest = match args.digest {
        Digest::Sha256 => DigestAlgorithm::Sha256,
        Digest::Sha512 => DigestAlgorithm::Sha512,
    };
    let signed = sign_request(&crypto, &key, &request, &options, SystemTime::now())?;
    if let Some(digest) = &signed.content_digest {
        writeln!(out, "Content-Digest: {digest}")?;
    }
    writeln!(out, "Signature-Input: {}", signed.signature_input)?;
    writeln!(out, "Signature: {}", signed.signature)?;
    Ok(())
}

/// Runs `rukasec verify`: `valid: ...` on success, a signature failure (exit 7) otherwise.
pub fn verify(args: VerifyArgs, out: &mut impl Write) -> Result<(), Failure> {
    let crypto = Crypto::get()?;
    let public = load_public_key(&args.public_key)?;
    let request = args.request.to_request()?;
    let sec1 = public.sec1;
    let expected = args.key_id;
    let resolver = move |keyid: &str| {
        expected
            .as_deref()
            .is_none_or(|expected| expected == keyid)
            .then(|| sec1.clone())
    };
    let options = VerifierOptions {
        max_age: Duration::from_secs(args.max_age),
        clock_skew: Duration::from_secs(args.clock_skew),
        label: args.label,
        tag: args.tag,
        require_nonce: args.require_nonce,
        require_nonce_for_unsafe_methods: !args.allow_no_nonce,
        ..VerifierOptions::default()
    };
    let verifier = SignatureVerifier::new(Arc::new(resolver), options);
    let verified = verifier.verify(&crypto, &request, SystemTime::now())?;
    writeln!(out, "{}", describe(&verified))?;
    Ok(())
}

/// `valid: label=sig1, keyid=..., covered=("@method" ...)`, then the optional parameters.
fn describe(verified: &VerifiedSignature) -> String {
    let covered: Vec<String> = verified
        .components
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut line = format!(
        "valid: label={}, keyid={}, covered=({})",
        verified.label,
        verified.keyid,
        covered.join(" ")
    );
    for (name, value) in [
        ("created", verified.created.map(|v| v.to_string())),
        ("expires", verified.expires.map(|v| v.to_string())),
        ("nonce", verified.nonce.clone()),
        ("tag", verified.tag.clone()),
    ] {
        if let Some(value) = value {
            line.push_str(&format!(", {name}={value}"));
        }
    }
    line
}

/// Runs `rukasec dpop`: the proof, one line.
pub fn dpop(args: DpopArgs, out: &mut impl Write) -> Result<(), Failure> {
    let key = load_key(&args.key)?;
    let token = match (&args.access_token, &args.access_token_file) {
        (Some(token), _) => Some(SecretString::new(token.clone())),
        (None, Some(file)) => Some(SecretString::new(
            std::fs::read_to_string(file).map_err(|e| Failure::from(e).context(file.display()))?,
        )),
        (None, None) => None,
    };
    let options = DpopOptions {
        method: &args.method,
        url: &args.url,
        // The proof carries the token's hash (`ath`), so the hash needs the token.
        access_token: token
            .as_ref()
            .map(|token| token.expose_secret().trim_end_matches(['\r', '\n'])),
        nonce: args.nonce.as_deref(),
    };
    let proof = dpop_proof(&key, &options, SystemTime::now())?;
    writeln!(out, "{proof}")?;
    Ok(())
}

/// `--components`: comma-separated component identifiers. An entry may be written bare
/// (`@method`, `Content-Type`, `@query-param;name="id"`; the name is lowercased and quoted) or
/// as in `Signature-Input` (`"@method"`). Commas inside quotes do not separate.
fn parse_components(list: &str) -> Result<Vec<Component>, Failure> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in list.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                entries.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    entries.push(current);
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(Failure::new(
                    USAGE,
                    "--components: an empty entry (expected identifiers separated by commas)",
                ));
            }
            let identifier = if entry.starts_with('"') {
                entry.to_owned()
            } else {
                let (name, params) = entry.split_at(entry.find(';').unwrap_or(entry.len()));
                format!("\"{}\"{params}", name.trim().to_ascii_lowercase())
            };
            Component::parse(&identifier)
                .map_err(|e| Failure::new(USAGE, format!("--components: {entry}: {}", e.reason())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    #[test]
    fn component_lists_parse_bare_or_quoted() {
        let parsed =
            parse_components("@method, @target-uri,Content-Digest,\"content-type\"").unwrap();
        assert_eq!(
            parsed,
            vec![
                Component::Method,
                Component::TargetUri,
                Component::header("content-digest").unwrap(),
                Component::header("content-type").unwrap(),
            ]
        );
        let parsed = parse_components("@query-param;name=\"a,b\",@authority").unwrap();
        assert_eq!(
            parsed,
            vec![
                Component::QueryParam("a,b".to_owned()),
                Component::Authority
            ]
        );
        assert_eq!(
            parse_components("\"@query-param\";name=\"id\"").unwrap(),
            vec![Component::query_param("id")]
        );
        for bad in [
            "",
            "@method,",
            "@bogus",
            "@query-param",
            "bad header",
            "@method;sf",
        ] {
            let failure = parse_components(bad).unwrap_err();
            assert_eq!(failure.exit_code(), 2, "{bad}: {failure}");
        }
    }
}
