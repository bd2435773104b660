//! ECDSA P-256 with SHA-256: signing and verification, with IEEE P1363 (`r‖s`) signatures.
//!
//! P1363 is the form RFC 9421 (`ecdsa-p256-sha256`), JWS (ES256) and DPoP use, so it is the
//! only form these primitives produce. ASN.1 DER signatures (what Android Keystore, Apple's
//! Security framework and X.509 use) are accepted only through `der_signature_to_p1363`, a
//! strict DER reader (public as `signing::der_to_p1363`): one minimal encoding per signature, nothing trailing. A lenient (BER)
//! reader would let one signature have many encodings, which is how signature-malleability and
//! replay-cache bypasses start.
//!
//! The private key lives in [`P256SigningKey`], whose only ways out are signing (through the
//! [`Crypto`] token, so a failed self-test stops signing too) and an explicit PKCS#8 export as
//! [`SecretBytes`]. Signatures are deterministic (RFC 6979): no per-signature randomness that a
//! weak generator could turn into a key leak.

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};

use super::Crypto;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// Length of a P1363 P-256 signature (`r‖s`, 32 bytes each).
pub const P256_SIGNATURE_LEN: usize = 64;

/// Length of an uncompressed SEC1 P-256 public key (`0x04‖x‖y`).
pub const P256_PUBLIC_KEY_LEN: usize = 65;

/// Length of a P-256 scalar (the private key, and each of `r` and `s`).
const SCALAR_LEN: usize = 32;

/// How many random candidates [`Crypto::p256_generate`] tries before giving up. A random 32-byte
/// string is not a valid scalar (zero, or at least the group order) with probability about
/// 2^-32, so a second attempt is already a curiosity; 16 failures mean the generator is broken.
const GENERATE_ATTEMPTS: usize = 16;

/// A P-256 ECDSA private key: wiped on drop (p256's `SigningKey` zeroizes its scalar), never
/// printed. Sign with [`Crypto::p256_sha256_sign`].
pub struct P256SigningKey(SigningKey);

impl P256SigningKey {
    /// A key from its raw 32-byte scalar (the self-test's known key).
    pub(crate) fn from_scalar(scalar: &[u8]) -> Result<Self> {
        SigningKey::from_slice(scalar)
            .map(Self)
            .map_err(|_| Error::invalid_input("not a P-256 private scalar"))
    }

    /// A key from a PKCS#8 `PrivateKeyInfo` (DER).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `der` is not a P-256 PKCS#8 private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        SigningKey::from_pkcs8_der(der)
            .map(Self)
            .map_err(|_| Error::invalid_input("not a P-256 PKCS#8 private key (DER)"))
    }

    /// A key from a SEC1 `ECPrivateKey` (DER), the body of an `EC PRIVATE KEY` PEM block.
    /// An embedded public key must match the private key.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `der` is not a P-256 SEC1 private key.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self> {
        p256::SecretKey::from_sec1_der(der)
            .map(|secret| Self(SigningKey::from(&secret)))
            .map_err(|_| Error::invalid_input("not a P-256 SEC1 private key (DER)"))
    }

    /// The key as a PKCS#8 `PrivateKeyInfo` (DER), for storage and export.
    ///
    /// # Errors
    /// [`Error::Internal`] if encoding fails (it does not for a valid key).
    pub fn to_pkcs8_der(&self) -> Result<SecretBytes> {
        let document = self.0.to_pkcs8_der().map_err(|_| Error::Internal {
            reason: "a P-256 key could not be encoded as PKCS#8".to_owned(),
        })?;
        // `document` is a zeroizing `SecretDocument`; the copy goes straight into a secret type.
        Ok(SecretBytes::from_slice(document.as_bytes()))
    }

    /// The public key, uncompressed SEC1 (`0x04‖x‖y`).
    pub fn public_key_sec1(&self) -> [u8; P256_PUBLIC_KEY_LEN] {
        let point = self.0.verifying_key().to_sec1_point(false);
        let mut sec1 = [0u8; P256_PUBLIC_KEY_LEN];
        // An uncompressed P-256 point is always 65 bytes (a signing key's public point is never
        // the identity). Were it not, the all-zero array is returned, which no parser accepts
        // as a key, so the mistake surfaces as an error instead of a panic.
        if point.as_bytes().len() == P256_PUBLIC_KEY_LEN {
            sec1.copy_from_slice(point.as_bytes());
        }
        sec1
    }
}

impl std::fmt::Debug for P256SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P256SigningKey")
    }
}

impl Crypto {
    /// A new random P-256 private key from the OS generator.
    ///
    /// # Errors
    /// [`Error::Internal`] if the OS generator fails or keeps producing invalid scalars.
    pub fn p256_generate(&self) -> Result<P256SigningKey> {
        for _ in 0..GENERATE_ATTEMPTS {
            let candidate = self.random_secret(SCALAR_LEN)?;
            // The random bytes become the private scalar; p256 copies them into its own
            // zeroizing type and `candidate` is wiped when it drops.
            if let Ok(key) = SigningKey::from_slice(candidate.expose_secret()) {
                return Ok(P256SigningKey(key));
            }
        }
        Err(Error::Internal {
            reason: "the OS random generator produced no valid P-256 scalar".to_owned(),
        })
    }

    /// Signs `message` (hashed with SHA-256) with `key`: a deterministic (RFC 6979) P1363
    /// signature `r‖s`.
    ///
    /// # Errors
    /// [`Error::Crypto`] if signing fails (only for a nonce that RFC 6979 makes practically
    /// impossible).
    pub fn p256_sha256_sign(
        &self,
        key: &P256SigningKey,
        message: &[u8],
    ) -> Result<[u8; P256_SIGNATURE_LEN]> {
        let signature: Signature = key.0.try_sign(message).map_err(|_| Error::Crypto)?;
        Ok(signature.to_bytes().into())
    }

    /// Verifies a P1363 signature over `message` with a SEC1-encoded P-256 public key.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the public key is not a valid SEC1 P-256 point;
    /// [`Error::Crypto`] when the signature is malformed or does not verify.
    pub fn p256_sha256_verify(
        &self,
        public_key_sec1: &[u8],
        message: &[u8],
        signature_p1363: &[u8],
    ) -> Result<()> {
        let key = VerifyingKey::from_sec1_bytes(public_key_sec1)
            .map_err(|_| Error::invalid_input("not a SEC1-encoded P-256 public key"))?;
        if signature_p1363.len() != P256_SIGNATURE_LEN {
            return Err(Error::Crypto);
        }
        let signature = Signature::from_slice(signature_p1363).map_err(|_| Error::Crypto)?;
        key.verify(message, &signature).map_err(|_| Error::Crypto)
    }

    /// Verifies an ASN.1 DER signature (`SEQUENCE { r INTEGER, s INTEGER }`) over `message`
    /// with a SEC1-encoded P-256 public key. The DER must be strict: minimal lengths and
    /// integers, no negative or oversized integers, nothing trailing (as
    /// [`signing::der_to_p1363`](crate::signing::der_to_p1363) reads it).
    ///
    /// # Errors
    /// As [`Crypto::p256_sha256_verify`]; a signature that is not strict DER is
    /// [`Error::Crypto`].
    pub fn p256_sha256_verify_der(
        &self,
        public_key_sec1: &[u8],
        message: &[u8],
        signature_der: &[u8],
    ) -> Result<()> {
        let Some(signature) = der_signature_to_p1363(signature_der) else {
            // Check the key anyway, so a bad key is reported as such whatever the signature.
            VerifyingKey::from_sec1_bytes(public_key_sec1)
                .map_err(|_| Error::invalid_input("not a SEC1-encoded P-256 public key"))?;
            return Err(Error::Crypto);
        };
        self.p256_sha256_verify(public_key_sec1, message, &signature)
    }
}

/// The P1363 form (`r‖s`, each left-padded to 32 bytes) of a strict ASN.1 DER ECDSA P-256
/// signature, or `None` when `der` is not one.
///
/// Strict means: a `SEQUENCE` with a short-form length (a P-256 signature is at most 72 bytes,
/// so the long form is never minimal) holding exactly two `INTEGER`s and nothing after it;
/// each integer non-empty, non-negative, minimally encoded (a leading zero only before a byte
/// with its top bit set) and at most 32 bytes of value. Whether `r` and `s` lie in `[1, n-1]`
/// is left to verification.
pub(crate) fn der_signature_to_p1363(der: &[u8]) -> Option<[u8; P256_SIGNATURE_LEN]> {
    let (&tag, rest) = der.split_first()?;
    let (&len, content) = rest.split_first()?;
    // Short-form length only, and it must cover exactly the rest of the input.
    if tag != 0x30 || len >= 0x80 || usize::from(len) != content.len() {
        return None;
    }
    let (r, rest) = der_unsigned_integer(content)?;
    let (s, rest) = der_unsigned_integer(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = [0u8; P256_SIGNATURE_LEN];
    out.get_mut(SCALAR_LEN - r.len()..SCALAR_LEN)?
        .copy_from_slice(r);
    out.get_mut(P256_SIGNATURE_LEN - s.len()..)?
        .copy_from_slice(s);
    Some(out)
}

/// One strict DER `INTEGER` at the start of `input`: its value without the sign byte (at most
/// 32 bytes) and what follows it.
fn der_unsigned_integer(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len, rest) = rest.split_first()?;
    // Short form only: an integer of a P-256 signature is at most 33 bytes.
    if tag != 0x02 || len >= 0x80 || len == 0 {
        return None;
    }
    let (value, rest) = rest.split_at_checked(usize::from(len))?;
    let value = match value {
        // Negative.
        [first, ..] if first & 0x80 != 0 => return None,
        // A leading zero is allowed only to keep the next byte's top bit from meaning negative.
        [0, next, ..] if next & 0x80 == 0 => return None,
        [0, unsigned @ ..] if !unsigned.is_empty() => unsigned,
        other => other,
    };
    (value.len() <= SCALAR_LEN).then_some((value, rest))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use hex_literal::hex;

    use super::*;

    /// RFC 6979, appendix A.2.5: the P-256 private key.
    const RFC6979_KEY: [u8; 32] =
        hex!("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");

    fn rfc6979_key() -> P256SigningKey {
        P256SigningKey(SigningKey::from_slice(&RFC6979_KEY).unwrap())
    }

    #[test]
    fn signing_matches_rfc_6979() {
        // RFC 6979, A.2.5, "With SHA-256, message = "sample"" (deterministic k).
        const SIGNATURE: [u8; 64] = hex!(
            "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
            "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
        );
        let crypto = Crypto::get().unwrap();
        let key = rfc6979_key();
        assert_eq!(crypto.p256_sha256_sign(&key, b"sample").unwrap(), SIGNATURE);
        assert_eq!(
            key.public_key_sec1(),
            hex!(
                "04"
                "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
            )
        );
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        let crypto = Crypto::get().unwrap();
        let key = crypto.p256_generate().unwrap();
        let other = crypto.p256_generate().unwrap();
        assert_ne!(key.public_key_sec1(), other.public_key_sec1());
        let signature = crypto.p256_sha256_sign(&key, b"message").unwrap();
        let public = key.public_key_sec1();
        crypto
            .p256_sha256_verify(&public, b"message", &signature)
            .unwrap();
        assert_eq!(
            crypto.p256_sha256_verify(&public, b"messagf", &signature),
            Err(Error::Crypto)
        );
        let der = Signature::from_slice(&signature).unwrap().to_der();
        crypto
            .p256_sha256_verify_der(&public, b"message", der.as_bytes())
            .unwrap();
    }

    #[test]
    fn pkcs8_round_trip_and_sec1_import() {
        let key = rfc6979_key();
        let der = key.to_pkcs8_der().unwrap();
        // Test: the exported DER is parsed back.
        let again = P256SigningKey::from_pkcs8_der(der.expose_secret()).unwrap();
        assert_eq!(again.public_key_sec1(), key.public_key_sec1());
        let sec1 = p256::SecretKey::from_slice(&RFC6979_KEY)
            .unwrap()
            .to_sec1_der()
            .unwrap();
        let from_sec1 = P256SigningKey::from_sec1_der(&sec1).unwrap();
        assert_eq!(from_sec1.public_key_sec1(), key.public_key_sec1());
        assert!(P256SigningKey::from_pkcs8_der(&sec1).is_err());
        // Test: a PKCS#8 document is not SEC1.
        assert!(P256SigningKey::from_sec1_der(der.expose_secret()).is_err());
        assert!(P256SigningKey::from_pkcs8_der(b"").is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let printed = format!("{:?}", rfc6979_key());
        assert_eq!(printed, "P256SigningKey");
    }

    #[test]
    fn strict_der_accepts_minimal_encodings() {
        // r = 1, s = 0x80 (needs the sign byte).
        let der = hex!("300702010102020080");
        let raw = der_signature_to_p1363(&der).unwrap();
        assert_eq!(raw[31], 1);
        assert_eq!(raw[63], 0x80);
        assert!(raw[..31].iter().chain(&raw[32..63]).all(|b| *b == 0));
        // 33-byte integers with a sign byte.
        let mut full = vec![0x30, 0x46, 0x02, 0x21, 0x00];
        full.extend([0xff; 32]);
        full.extend([0x02, 0x21, 0x00]);
        full.extend([0xfe; 32]);
        let raw = der_signature_to_p1363(&full).unwrap();
        assert_eq!(&raw[..32], &[0xff; 32]);
        assert_eq!(&raw[32..], &[0xfe; 32]);
    }

    #[test]
    fn strict_der_rejects_everything_else() {
        let cases: &[(&str, &[u8])] = &[
            ("empty", &[]),
            ("not a sequence", &hex!("3106020101020101")),
            ("trailing byte", &hex!("300602010102010100")),
            ("length too long", &hex!("3007020101020101")),
            ("length too short", &hex!("3005020101020101")),
            ("long-form length", &hex!("308106020101020101")),
            ("negative r", &hex!("3006020181020101")),
            ("non-minimal r", &hex!("300702020001020101")),
            ("empty r", &hex!("30050200020101")),
            ("one integer", &hex!("3003020101")),
            ("three integers", &hex!("3009020101020101020101")),
            ("wrong inner tag", &hex!("3006030101020101")),
            ("bytes after s inside", &hex!("30080201010201010000")),
            ("long-form integer", &hex!("300702810101020101")),
        ];
        for (name, der) in cases {
            assert!(der_signature_to_p1363(der).is_none(), "{name}");
        }
        // 33 bytes of value (no sign byte) is too big for P-256.
        let mut big = vec![0x30, 0x26, 0x02, 0x21, 0x01];
        big.extend([0u8; 32]);
        big.extend([0x02, 0x01, 0x01]);
        assert!(der_signature_to_p1363(&big).is_none());
    }
}
