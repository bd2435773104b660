//! RFC 4648 base32 for OTP secrets: a small strict decoder and the encoder for URIs.
//!
//! Strict, because a secret that decodes "somehow" yields codes that never match: every
//! character must be of the alphabet (`A`–`Z`, `2`–`7`, in either case), spaces are ignored
//! (secrets are shown in groups of four), `=` padding is optional but, when present, only at the
//! end and of the right amount, and the unused low bits of the last character must be zero (so
//! one secret has one spelling). The decoded bytes go straight into the [`SecretBytes`] (the
//! buffer is allocated once at its final size, so no copy is left behind by a reallocation).

use crate::error::{Error, Result};
use crate::secret::{SecretBytes, SecretString};

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Decodes a base32 secret (RFC 4648 §6): case-insensitive, spaces ignored, padding optional.
///
/// # Errors
/// [`Error::InvalidInput`] for a character outside the alphabet, misplaced or wrong padding, a
/// length no byte string encodes to, non-zero trailing bits, or an empty secret. The reason
/// never shows the input.
pub fn decode_base32(text: &str) -> Result<SecretBytes> {
    decode(text.as_bytes())
}

/// Encodes `secret` as upper-case base32 without padding (what `otpauth://` URIs carry).
pub fn encode_base32(secret: &SecretBytes) -> SecretString {
    // Exposed: encoding is the caller's request; the text is a secret too.
    let bytes = secret.expose_secret();
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer = 0_u16;
    let mut bits = 0_u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol((buffer >> bits) & 0x1f));
        }
        // Keep only the bits not yet written (at most 4).
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(symbol((buffer << (5 - bits)) & 0x1f));
    }
    SecretString::new(out)
}

fn symbol(index: u16) -> char {
    char::from(ALPHABET[usize::from(index & 0x1f)])
}

/// The value of one base32 character, either case.
fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

fn invalid(reason: &str) -> Error {
    Error::invalid_input(format!("the base32 secret is malformed: {reason}"))
}

/// The decoder behind [`decode_base32`], on bytes (the URI parser's decoded parameter).
pub(crate) fn decode(text: &[u8]) -> Result<SecretBytes> {
    let mut symbols = 0_usize;
    let mut padding = 0_usize;
    for &c in text {
        match c {
            b' ' => {}
            b'=' => padding += 1,
            _ if padding > 0 => return Err(invalid("padding inside the text")),
            _ if value(c).is_some() => symbols += 1,
            _ => return Err(invalid("a character outside the base32 alphabet")),
        }
    }
    if symbols == 0 {
        return Err(invalid("it is empty"));
    }
    // Characters in the last 8-character group, and what they decode to.
    let tail = symbols % 8;
    let tail_bytes = match tail {
        0 => 0,
        2 => 1,
        4 => 2,
        5 => 3,
        7 => 4,
        _ => return Err(invalid("its length matches no whole number of bytes")),
    };
    if padding != 0 && (tail == 0 || padding != 8 - tail) {
        return Err(invalid("wrong padding"));
    }
    let len = symbols / 8 * 5 + tail_bytes;
    let mut out = Vec::with_capacity(len);
    let mut buffer = 0_u16;
    let mut bits = 0_u32;
    for &c in text {
        let Some(v) = value(c) else { continue };
        buffer = (buffer << 5) | u16::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // The top 8 of the `bits + 8` buffered bits.
            out.push(((buffer >> bits) & 0xff) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    let trailing_zero = buffer == 0;
    let secret = SecretBytes::new(out);
    if !trailing_zero {
        return Err(invalid("non-zero unused bits at the end"));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> Vec<u8> {
        // Test: the decoded value is what is asserted.
        decode_base32(text).unwrap().expose_secret().to_vec()
    }

    #[test]
    fn rfc_4648_section_10_vectors() {
        for (plain, encoded) in [
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(decoded(encoded), plain.as_bytes(), "{encoded}");
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(decoded(unpadded), plain.as_bytes(), "{unpadded}");
            assert_eq!(decoded(&unpadded.to_lowercase()), plain.as_bytes());
            let secret = SecretBytes::from_slice(plain.as_bytes());
            // Test: the encoding is what is asserted.
            assert_eq!(encode_base32(&secret).expose_secret(), unpadded);
        }
        assert_eq!(decoded("MZXW 6YTB OI"), b"foobar");
    }

    #[test]
    fn malformed_text_is_refused_without_echoing_it() {
        for text in [
            "",
            "   ",
            "========",
            "MY=",
            "MY=======",
            "MZXW6YTB=",
            "M",
            "MZX",
            "MZXW6Y",
            "MZ=XQ",
            "MZXQ1",
            "MZXQ8",
            "MZXQ-",
            "MZ\u{e9}Q",
            "MZ\tXQ",
            "MZ\0XQ",
            "MZ",
            "MZXR",
        ] {
            let error = decode_base32(text).err();
            let Some(Error::InvalidInput { reason }) = error else {
                panic!("{text:?} decoded");
            };
            assert!(
                reason.starts_with("the base32 secret is malformed"),
                "{reason}"
            );
            if text.trim().len() > 2 {
                assert!(!reason.contains(text.trim()), "{reason}");
            }
        }
    }
}
