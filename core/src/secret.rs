//! Types for secret values.
//!
//! A secret is a key, a password, a token, a seed: anything whose disclosure would let someone
//! act as the customer or read their data. Secrets get their own types so that the compiler keeps
//! them out of places where they could leak:
//!
//! - no `Display`, and a `Debug` that prints only the type name, so `{:?}` in a log line, an
//!   error or a panic message cannot show the value;
//! - the bytes are reachable only through `expose_secret()`; every call site carries a comment
//!   saying why the value must leave its wrapper there, which makes leaks easy to review (grep);
//! - the memory is wiped when the value is dropped (`ZeroizeOnDrop`);
//! - equality runs in constant time, so comparing a guess against a secret does not reveal how
//!   many leading bytes matched;
//! - no `Clone`: a copy is a second place to wipe, so copying is an explicit `expose_secret()`.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret bytes: wiped on drop, redacted in `Debug`, compared in constant time.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes` without copying them.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copies `bytes` into a new secret. The caller stays responsible for wiping its own copy.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The number of bytes. The length of a secret is not itself treated as secret.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The secret bytes. Every call site must carry a comment saying why the value has to leave
    /// its wrapper there.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes")
    }
}

impl ConstantTimeEq for SecretBytes {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // Lengths are compared in variable time (they are not secret); contents in constant time.
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SecretBytes {}

/// A secret UTF-8 string (password, passphrase, API key): wiped on drop, redacted in `Debug`,
/// compared in constant time.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretString(String);

impl SecretString {
    /// Takes ownership of `value` without copying it.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret text. Every call site must carry a comment saying why the value has to leave
    /// its wrapper there.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString")
    }
}

impl ConstantTimeEq for SecretString {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.as_bytes().ct_eq(other.0.as_bytes())
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SecretString {}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "CANARY-7f3a9c-do-not-log";

    #[test]
    fn debug_shows_only_the_type_name() {
        let bytes = SecretBytes::from_slice(CANARY.as_bytes());
        let text = SecretString::new(CANARY.to_owned());
        let printed = format!("{bytes:?} {text:?} {bytes:#?} {:?}", Some(&bytes));
        assert!(!printed.contains(CANARY), "{printed}");
        assert!(!printed.contains("7f3a9c"), "{printed}");
        assert_eq!(format!("{bytes:?}"), "SecretBytes");
        assert_eq!(format!("{text:?}"), "SecretString");
    }

    #[test]
    fn debug_does_not_show_bytes_in_any_notation() {
        let bytes = SecretBytes::new(vec![0xde, 0xad, 0xbe, 0xef]);
        let printed = format!("{bytes:?}{bytes:x?}{bytes:#?}");
        for needle in ["222", "173", "de", "ad", "be", "ef", "DE"] {
            assert!(!printed.contains(needle), "{needle} in {printed}");
        }
    }

    #[test]
    fn equality_compares_contents_and_lengths() {
        let a = SecretBytes::from_slice(b"same secret");
        assert_eq!(a, SecretBytes::from_slice(b"same secret"));
        assert_ne!(a, SecretBytes::from_slice(b"same secreT"));
        assert_ne!(a, SecretBytes::from_slice(b"same secre"));
        assert_ne!(a, SecretBytes::from_slice(b""));
        assert_eq!(
            SecretString::from("pw".to_owned()),
            SecretString::from("pw".to_owned())
        );
        assert_ne!(
            SecretString::from("pw".to_owned()),
            SecretString::from("pW".to_owned())
        );
    }

    #[test]
    fn zeroize_wipes_the_value() {
        let mut secret = SecretBytes::from_slice(CANARY.as_bytes());
        secret.zeroize();
        assert!(secret.expose_secret().iter().all(|b| *b == 0));
        let mut text = SecretString::new(CANARY.to_owned());
        text.zeroize();
        assert!(!text.expose_secret().contains("CANARY"));
    }

    #[test]
    fn expose_returns_the_value() {
        let secret = SecretBytes::from(vec![1, 2, 3]);
        // Test: reading back the value is what this asserts.
        assert_eq!(secret.expose_secret(), &[1, 2, 3]);
        assert_eq!(secret.len(), 3);
        assert!(!secret.is_empty());
    }
}
