//! RFC 9530 `Content-Digest`: a hash of the message content, carried in a header.
//!
//! Why: an RFC 9421 signature covers header fields and parts of the request line, never the
//! body itself. Covering a `Content-Digest` header binds the body to the signature at the cost
//! of one hash, so a proxy or middlebox that rewrites the body is caught by the digest check.
//!
//! Only `sha-256` and `sha-512` are computed or checked. RFC 9530 marks the others in its
//! registry (`md5`, `sha`, `unixsum`, ...) as insecure or deprecated, so a field carrying only
//! those is refused as having no usable digest, and they are ignored next to a supported one.
//! The field is an RFC 8941 dictionary, parsed and serialised with `sfv`.
//!
//! Digests are compared with ordinary equality, not in constant time: a digest of public data
//! carries no secret. The body and the field both come from the sender, who can compute the
//! right digest without any help; a timing difference could only tell an attacker how much of a
//! digest of their own body they got right, which they already know.

use sfv::{BareItem, DictSerializer, Dictionary, KeyRef, ListEntry, Parser, Version};

use crate::crypto::Crypto;
use crate::error::{Error, Result, SignatureFailure};

/// A digest algorithm of RFC 9530's registry that RukaSec computes and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DigestAlgorithm {
    /// `sha-256` (the default).
    #[default]
    Sha256,
    /// `sha-512`.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm's key in the `Content-Digest` dictionary (`sha-256`, `sha-512`).
    pub fn as_str(self) -> &'static str {
        self.key().as_str()
    }

    /// The algorithm named by a `Content-Digest` key, if it is one RukaSec supports.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha-256" => Some(Self::Sha256),
            "sha-512" => Some(Self::Sha512),
            _ => None,
        }
    }

    fn key(self) -> &'static KeyRef {
        const SHA256: &KeyRef = KeyRef::constant("sha-256");
        const SHA512: &KeyRef = KeyRef::constant("sha-512");
        match self {
            Self::Sha256 => SHA256,
            Self::Sha512 => SHA512,
        }
    }

    fn digest(self, crypto: &Crypto, content: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => crypto.sha256(content).to_vec(),
            Self::Sha512 => crypto.sha512(content).to_vec(),
        }
    }
}

/// The `Content-Digest` field value for `body` with each of `algorithms`, in order and without
/// repeats, e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`. An empty list means
/// `[Sha256]`.
pub fn content_digest(crypto: &Crypto, body: &[u8], algorithms: &[DigestAlgorithm]) -> String {
    let algorithms = if algorithms.is_empty() {
        &[DigestAlgorithm::Sha256][..]
    } else {
        algorithms
    };
    let mut serializer = DictSerializer::new();
    let mut done: Vec<DigestAlgorithm> = Vec::with_capacity(algorithms.len());
    for &algorithm in algorithms {
        if done.contains(&algorithm) {
            continue;
        }
        done.push(algorithm);
        let digest = algorithm.digest(crypto, body);
        serializer.bare_item(algorithm.key(), digest.as_slice());
    }
    // At least one member was written, so the serializer has output.
    serializer.finish().unwrap_or_default()
}

/// Checks a `Content-Digest` field value against `body`.
///
/// At least one supported algorithm (`sha-256`, `sha-512`) must be present, and every
/// supported one present must match; other algorithms are ignored. Parameters on members are
/// ignored (RFC 9530 defines none).
///
/// # Errors
/// [`Error::Signature`] with [`SignatureFailure::Malformed`] when the value is not an RFC 8941
/// dictionary or a supported member is not a byte sequence; with
/// [`SignatureFailure::DigestMismatch`] when a supported digest does not match the body or no
/// supported algorithm is present.
pub fn verify_content_digest(crypto: &Crypto, header_value: &str, body: &[u8]) -> Result<()> {
    let dictionary: Dictionary = Parser::new(header_value)
        .with_version(Version::Rfc8941)
        .parse()
        .map_err(|_| malformed("the Content-Digest field is not a structured-field dictionary"))?;
    let mut checked = 0usize;
    for (key, member) in &dictionary {
        let Some(algorithm) = DigestAlgorithm::from_name(key.as_str()) else {
            continue;
        };
        let expected = match member {
            ListEntry::Item(item) => match &item.bare_item {
                BareItem::ByteSequence(bytes) => bytes,
                _ => return Err(not_bytes(algorithm)),
            },
            ListEntry::InnerList(_) => return Err(not_bytes(algorithm)),
        };
        if algorithm.digest(crypto, body) != *expected {
            return Err(Error::signature(
                SignatureFailure::DigestMismatch,
                format!(
                    "the Content-Digest {} does not match the body",
                    algorithm.as_str()
                ),
            ));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(Error::signature(
            SignatureFailure::DigestMismatch,
            "the Content-Digest field has no sha-256 or sha-512 digest",
        ));
    }
    Ok(())
}

fn not_bytes(algorithm: DigestAlgorithm) -> Error {
    malformed(format!(
        "the Content-Digest {} member is not a byte sequence",
        algorithm.as_str()
    ))
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::signature(SignatureFailure::Malformed, reason)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    const HELLO: &[u8] = br#"{"hello": "world"}"#;

    fn crypto() -> Crypto {
        Crypto::get().unwrap()
    }

    fn failure(result: Result<()>) -> SignatureFailure {
        match result {
            Err(Error::Signature { failure, .. }) => failure,
            other => panic!("expected a signature error, got {other:?}"),
        }
    }

    #[test]
    fn digests_match_rfc_9530_appendix_d() {
        let crypto = crypto();
        assert_eq!(
            content_digest(&crypto, HELLO, &[DigestAlgorithm::Sha256]),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(
            content_digest(&crypto, HELLO, &[DigestAlgorithm::Sha512]),
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        );
        assert_eq!(
            content_digest(&crypto, HELLO, &[]),
            content_digest(&crypto, HELLO, &[DigestAlgorithm::Sha256])
        );
        let both = content_digest(
            &crypto,
            HELLO,
            &[
                DigestAlgorithm::Sha512,
                DigestAlgorithm::Sha256,
                DigestAlgorithm::Sha512,
            ],
        );
        assert!(both.starts_with("sha-512=:"));
        assert_eq!(both.matches("sha-").count(), 2);
        verify_content_digest(&crypto, &both, HELLO).unwrap();
    }

    #[test]
    fn verification_accepts_matches_and_ignores_unknown_algorithms() {
        let crypto = crypto();
        let sha256 = content_digest(&crypto, HELLO, &[DigestAlgorithm::Sha256]);
        verify_content_digest(&crypto, &sha256, HELLO).unwrap();
        verify_content_digest(&crypto, &format!("md5=:AAAA:, {sha256}, x=1"), HELLO).unwrap();
        // Parameters on a member are ignored.
        verify_content_digest(&crypto, &format!("{sha256};p=1"), HELLO).unwrap();
        // Empty content has a digest too (RFC 9530 B.2).
        verify_content_digest(
            &crypto,
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
            b"",
        )
        .unwrap();
    }

    #[test]
    fn verification_refuses_mismatches() {
        let crypto = crypto();
        let sha256 = content_digest(&crypto, HELLO, &[DigestAlgorithm::Sha256]);
        let sha512 = content_digest(&crypto, HELLO, &[DigestAlgorithm::Sha512]);
        let other = content_digest(&crypto, b"other", &[DigestAlgorithm::Sha512]);
        let cases = [
            (sha256.clone(), b"{\"hello\": \"world!\"}".as_slice()),
            (format!("{sha256}, {other}"), HELLO),
            (format!("{other}, {sha256}"), HELLO),
            ("sha-256=:AAAA:".to_owned(), HELLO),
            ("sha-256=::".to_owned(), HELLO),
            ("md5=:Sd/dVLAcvNLSq16eXua5uQ==:".to_owned(), HELLO),
            ("unknown=1".to_owned(), HELLO),
        ];
        for (value, body) in cases {
            assert_eq!(
                failure(verify_content_digest(&crypto, &value, body)),
                SignatureFailure::DigestMismatch,
                "{value}"
            );
        }
        verify_content_digest(&crypto, &format!("{sha256}, {sha512}"), HELLO).unwrap();
    }

    #[test]
    fn verification_refuses_malformed_fields_without_echoing_them() {
        let crypto = crypto();
        let cases = [
            "",
            " ",
            "sha-256",
            "sha-256=\"abc\"",
            "sha-256=(:AAAA:)",
            "sha-256=:not base64!:",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,",
            "sha-256=@1",
            "\u{0}\u{ff}",
        ];
        for value in cases {
            let result = verify_content_digest(&crypto, value, HELLO);
            let failure = failure(result.clone());
            assert!(
                matches!(
                    failure,
                    SignatureFailure::Malformed | SignatureFailure::DigestMismatch
                ),
                "{value:?}: {failure:?}"
            );
            let reason = result.unwrap_err().reason();
            assert!(!reason.contains("X48E9"), "{reason}");
        }
        assert_eq!(
            failure(verify_content_digest(&crypto, "sha-256=1", HELLO)),
            SignatureFailure::Malformed
        );
        assert_eq!(
            failure(verify_content_digest(&crypto, "sha-256", HELLO)),
            SignatureFailure::Malformed
        );
    }

    #[test]
    fn algorithm_names_round_trip() {
        for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
            assert_eq!(
                DigestAlgorithm::from_name(algorithm.as_str()),
                Some(algorithm)
            );
        }
        assert_eq!(DigestAlgorithm::from_name("SHA-256"), None);
        assert_eq!(DigestAlgorithm::default(), DigestAlgorithm::Sha256);
    }
}
