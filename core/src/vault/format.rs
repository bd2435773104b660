//! Byte-exact encodings of the vault: identifiers, AADs and wrapped-key payloads.
//! docs/FORMAT.md describes the same bytes for an independent implementation; keep them in step.
//!
//! `lp(x)` below is `u32 big-endian length of x ‖ x`.

use crate::crypto::{Crypto, SHA256_LEN};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

use super::DataClass;

/// Format version of the schema, the AADs and the key payloads.
pub const FORMAT_VERSION: u8 = 1;

/// An account as stored: `SHA-256("rukasec.vault.account.v1\0" ‖ account id (UTF-8))`.
pub type AccountTag = [u8; SHA256_LEN];

/// What a wrapped key is for; stored in `keys.purpose` and inside the wrapped payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyPurpose {
    /// HMAC key for item ids and namespace tags.
    Index,
    /// AES key for item names.
    Names,
    /// AES data-encryption key of a class.
    Data(DataClass),
}

impl KeyPurpose {
    /// The purpose's code: 1 index, 2 names, 16 + class code for data keys.
    pub fn code(self) -> u8 {
        match self {
            Self::Index => 1,
            Self::Names => 2,
            Self::Data(class) => 16 + class.code(),
        }
    }

    /// The purpose of a code.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Index),
            2 => Some(Self::Names),
            16..=19 => DataClass::from_code(code - 16).map(Self::Data),
            _ => None,
        }
    }
}

fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths are bounded by the vault's input limits (far below 4 GiB).
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The tag under which an account is stored.
pub fn account_tag(crypto: &Crypto, account: &str) -> AccountTag {
    crypto.sha256(&[b"rukasec.vault.account.v1\0".as_slice(), account.as_bytes()].concat())
}

/// The keystore alias of an account's KEK of `version`:
/// `"rukasec.kek.v1." ‖ hex(account_tag[0..16]) ‖ "." ‖ decimal version`.
pub fn kek_alias(tag: &AccountTag, version: u32) -> String {
    format!("rukasec.kek.v1.{}.{version}", hex::encode(&tag[..16]))
}

/// `HMAC-SHA256(index key, "rukasec.vault.item.v1\0" ‖ lp(namespace) ‖ lp(name))`.
pub fn item_id(crypto: &Crypto, index_key: &SecretBytes, namespace: &str, name: &str) -> [u8; 32] {
    let mut input = b"rukasec.vault.item.v1\0".to_vec();
    lp(&mut input, namespace.as_bytes());
    lp(&mut input, name.as_bytes());
    // Keyed hash: HMAC needs the index key's bytes.
    crypto.hmac_sha256(index_key.expose_secret(), &input)
}

/// `HMAC-SHA256(index key, "rukasec.vault.namespace.v1\0" ‖ lp(namespace))`.
pub fn namespace_tag(crypto: &Crypto, index_key: &SecretBytes, namespace: &str) -> [u8; 32] {
    let mut input = b"rukasec.vault.namespace.v1\0".to_vec();
    lp(&mut input, namespace.as_bytes());
    // Keyed hash: HMAC needs the index key's bytes.
    crypto.hmac_sha256(index_key.expose_secret(), &input)
}

/// What a value's AAD binds.
pub struct ValueContext<'a> {
    /// The account.
    pub account: &'a AccountTag,
    /// The item's namespace.
    pub namespace: &'a str,
    /// The item's name.
    pub name: &'a str,
    /// The item's class.
    pub class: DataClass,
    /// The version of the class's data key that encrypts it.
    pub key_version: u32,
    /// Expiry in Unix seconds, 0 for never.
    pub expires_at: i64,
}

/// `"rukasec.vault.value.v1\0" ‖ format version (1 byte) ‖ account tag (32) ‖ lp(namespace) ‖
/// lp(name) ‖ class code (1) ‖ key version (u32 BE) ‖ expires_at (i64 BE)`.
pub fn value_aad(context: &ValueContext<'_>) -> Vec<u8> {
    let mut aad = b"rukasec.vault.value.v1\0".to_vec();
    aad.push(FORMAT_VERSION);
    aad.extend_from_slice(context.account);
    lp(&mut aad, context.namespace.as_bytes());
    lp(&mut aad, context.name.as_bytes());
    aad.push(context.class.code());
    aad.extend_from_slice(&context.key_version.to_be_bytes());
    aad.extend_from_slice(&context.expires_at.to_be_bytes());
    aad
}

/// The plaintext of a name envelope: `lp(namespace) ‖ name`.
pub fn name_plaintext(namespace: &str, name: &str) -> Vec<u8> {
    let mut plain = Vec::with_capacity(4 + namespace.len() + name.len());
    lp(&mut plain, namespace.as_bytes());
    plain.extend_from_slice(name.as_bytes());
    plain
}

/// Splits a name envelope's plaintext into `(namespace, name)`.
///
/// # Errors
/// [`Error::Integrity`] when it is malformed.
pub fn parse_name_plaintext(plain: &[u8]) -> Result<(String, String)> {
    let len_bytes: [u8; 4] = plain
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(Error::Integrity)?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| Error::Integrity)?;
    let namespace = plain.get(4..4 + len).ok_or(Error::Integrity)?;
    let name = plain.get(4 + len..).ok_or(Error::Integrity)?;
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| Error::Integrity);
    Ok((text(namespace)?, text(name)?))
}

/// `"rukasec.vault.name.v1\0" ‖ format version (1) ‖ account tag (32) ‖ item id (32)`.
pub fn name_aad(account: &AccountTag, item_id: &[u8; 32]) -> Vec<u8> {
    let mut aad = b"rukasec.vault.name.v1\0".to_vec();
    aad.push(FORMAT_VERSION);
    aad.extend_from_slice(account);
    aad.extend_from_slice(item_id);
    aad
}

const KEY_MAGIC: &[u8; 4] = b"RKSK";
const KEY_HEADER_LEN: usize = 4 + 1 + 1 + 4 + 32;
const KEY_LEN: usize = 32;

/// What the key wrapper encrypts for a stored key: `"RKSK" ‖ format version (1) ‖ purpose (1)
/// ‖ key version (u32 BE) ‖ account tag (32) ‖ key (32)`. The header ties a wrapped key to its
/// row, so swapping wrapped keys between rows, classes or accounts is detected after unwrapping.
pub fn key_payload(
    account: &AccountTag,
    purpose: KeyPurpose,
    version: u32,
    key: &SecretBytes,
) -> SecretBytes {
    let mut payload = Vec::with_capacity(KEY_HEADER_LEN + KEY_LEN);
    payload.extend_from_slice(KEY_MAGIC);
    payload.push(FORMAT_VERSION);
    payload.push(purpose.code());
    payload.extend_from_slice(&version.to_be_bytes());
    payload.extend_from_slice(account);
    // Wrapping: the key joins its payload, itself a secret.
    payload.extend_from_slice(key.expose_secret());
    SecretBytes::new(payload)
}

/// The key inside an unwrapped payload, after checking its header names this row.
///
/// # Errors
/// [`Error::Integrity`] when the header does not match.
pub fn key_from_payload(
    payload: &SecretBytes,
    account: &AccountTag,
    purpose: KeyPurpose,
    version: u32,
) -> Result<SecretBytes> {
    // Unwrapping: the header is checked and the key copied out of its payload.
    let bytes = payload.expose_secret();
    let expected = &key_payload(
        account,
        purpose,
        version,
        &SecretBytes::new(vec![0; KEY_LEN]),
    );
    if bytes.len() != KEY_HEADER_LEN + KEY_LEN
        // Comparing the public header only (the zero key part of `expected` is not compared).
        || bytes[..KEY_HEADER_LEN] != expected.expose_secret()[..KEY_HEADER_LEN]
    {
        return Err(Error::Integrity);
    }
    Ok(SecretBytes::from_slice(&bytes[KEY_HEADER_LEN..]))
}

/// The canary wrapped under every KEK: `"rukasec.vault.canary.v1\0" ‖ account tag`. If it does
/// not unwrap to this, the keystore holds another key than the one the account was written with.
pub fn canary(account: &AccountTag) -> SecretBytes {
    SecretBytes::new([b"rukasec.vault.canary.v1\0".as_slice(), account].concat())
}
