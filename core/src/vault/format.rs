//! Byte-exact encodings of the vault: identifiers, AADs, wrapped-key payloads and the account
//! state. docs/FORMAT.md describes the same bytes for an independent implementation; keep them
//! in step.
//!
//! `lp(x)` below is `u32 big-endian length of x ‖ x`.
//!
//! Format 2 differs from format 1 in three ways, each closing an attack on a copied or edited
//! database: the account tag is keyed (an id such as a phone number cannot be found by hashing
//! candidates), every item carries a write counter bound into its AAD, and each account keeps an
//! authenticated state over its live items (so a restored older row, a deleted or re-inserted
//! row, or an edited column is detected). The format-1 functions (`*_v1`) remain only to migrate
//! old accounts.

use crate::crypto::{Crypto, SHA256_LEN};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

use super::DataClass;

/// Format version of the schema, the AADs and the key payloads.
pub const FORMAT_VERSION: u8 = 2;
/// The previous format, read only to migrate accounts.
pub const FORMAT_VERSION_V1: u8 = 1;

/// An account as stored: `HMAC-SHA256(id key, "rukasec.vault.account.v2\0" ‖ account id)`.
pub type AccountTag = [u8; SHA256_LEN];

/// What a wrapped key is for; stored in `keys.purpose` and inside the wrapped payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyPurpose {
    /// HMAC key for item ids and namespace tags (and, derived from it, the state key).
    Index,
    /// AES key for item names.
    Names,
    /// The vault's id key: HMAC key of account tags (stored in `meta`, not in `keys`).
    Id,
    /// AES data-encryption key of a class.
    Data(DataClass),
    /// AES data-encryption key of a class, wrapped by the account's
    /// [`AuthBoundKeyWrapper`](super::AuthBoundKeyWrapper) under its own KEK
    /// ([`bound_kek_alias`]) instead of the account KEK: only the user opens it.
    BoundData(DataClass),
}

impl KeyPurpose {
    /// The purpose's code: 1 index, 2 names, 3 id key, 16 + class code for data keys, 32 +
    /// class code for bound data keys.
    pub fn code(self) -> u8 {
        match self {
            Self::Index => 1,
            Self::Names => 2,
            Self::Id => 3,
            Self::Data(class) => 16 + class.code(),
            Self::BoundData(class) => 32 + class.code(),
        }
    }

    /// The purpose of a code found in the `keys` table (the id key never is).
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Index),
            2 => Some(Self::Names),
            16..=19 => DataClass::from_code(code - 16).map(Self::Data),
            32..=35 => DataClass::from_code(code - 32).map(Self::BoundData),
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

/// The tag under which an account is stored: keyed with the vault's id key, so that the tag
/// (and the KEK alias made from it) reveals nothing about the id without the keystore.
pub fn account_tag(crypto: &Crypto, id_key: &SecretBytes, account: &str) -> AccountTag {
    let input = [b"rukasec.vault.account.v2\0".as_slice(), account.as_bytes()].concat();
    // Keyed hash: HMAC needs the id key's bytes.
    crypto.hmac_sha256(id_key.expose_secret(), &input)
}

/// Format 1's account tag, `SHA-256("rukasec.vault.account.v1\0" ‖ account id)`: only to find
/// accounts that still await migration.
pub fn account_tag_v1(crypto: &Crypto, account: &str) -> AccountTag {
    crypto.sha256(&[b"rukasec.vault.account.v1\0".as_slice(), account.as_bytes()].concat())
}

/// The keystore alias of an account's KEK of `version`:
/// `"rukasec.kek.v2." ‖ hex(account_tag[0..16]) ‖ "." ‖ decimal version`.
pub fn kek_alias(tag: &AccountTag, version: u32) -> String {
    format!("rukasec.kek.v2.{}.{version}", hex::encode(&tag[..16]))
}

/// What every [`bound_kek_alias`] starts with (a retired KEK with it is destroyed through the
/// bound wrapper, not the account's).
pub const BOUND_KEK_ALIAS_PREFIX: &str = "rukasec.bkek.v2.";

/// The alias, in the [`AuthBoundKeyWrapper`](super::AuthBoundKeyWrapper), of the KEK that wraps
/// version `version` of an account's bound data key of `class` (one KEK per version, so a
/// rotation destroys the old version's KEK): `"rukasec.bkek.v2." ‖ hex(account_tag[0..16]) ‖
/// "." ‖ decimal class code ‖ "." ‖ decimal version`.
pub fn bound_kek_alias(tag: &AccountTag, class: DataClass, version: u32) -> String {
    format!(
        "{BOUND_KEK_ALIAS_PREFIX}{}.{}.{version}",
        hex::encode(&tag[..16]),
        class.code()
    )
}

/// Format 1's KEK alias (`rukasec.kek.v1.…`), to destroy every KEK a migrated account had.
pub fn kek_alias_v1(tag: &AccountTag, version: u32) -> String {
    format!("rukasec.kek.v1.{}.{version}", hex::encode(&tag[..16]))
}

/// The alias of the KEK that wraps copy `copy` of the vault's id key:
/// `"rukasec.idk.v2." ‖ hex(vault_id[0..16]) ‖ "." ‖ decimal copy`. Random per vault, so two
/// vaults sharing one keystore never replace each other's key.
pub fn id_kek_alias(vault_id: &[u8; 32], copy: u32) -> String {
    format!("rukasec.idk.v2.{}.{copy}", hex::encode(&vault_id[..16]))
}

/// The name of an account's rollback anchor in the keystore (see
/// [`KeyWrapper::store_anchor`](super::KeyWrapper::store_anchor)):
/// `"rukasec.anchor.v2." ‖ hex(account_tag[0..16])`.
pub fn anchor_name(tag: &AccountTag) -> String {
    format!("rukasec.anchor.v2.{}", hex::encode(&tag[..16]))
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

/// The account's state key: `HMAC-SHA256(index key, "rukasec.vault.state-key.v2\0")`.
pub fn state_key(crypto: &Crypto, index_key: &SecretBytes) -> SecretBytes {
    // Key derivation: HMAC needs the index key's bytes.
    let mut key = crypto.hmac_sha256(index_key.expose_secret(), b"rukasec.vault.state-key.v2\0");
    let secret = SecretBytes::from_slice(&key);
    zeroize::Zeroize::zeroize(&mut key);
    secret
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
    /// The item's write counter (format 2; ignored by [`value_aad_v1`]).
    pub counter: u64,
}

/// `"rukasec.vault.value.v2\0" ‖ 0x02 ‖ account tag (32) ‖ lp(namespace) ‖ lp(name) ‖ class code
/// (1) ‖ key version (u32 BE) ‖ expires_at (i64 BE) ‖ counter (u64 BE)`.
pub fn value_aad(context: &ValueContext<'_>) -> Vec<u8> {
    let mut aad = b"rukasec.vault.value.v2\0".to_vec();
    aad.push(FORMAT_VERSION);
    push_value_context(&mut aad, context);
    aad.extend_from_slice(&context.counter.to_be_bytes());
    aad
}

/// Format 1's value AAD (no counter), to migrate old accounts.
pub fn value_aad_v1(context: &ValueContext<'_>) -> Vec<u8> {
    let mut aad = b"rukasec.vault.value.v1\0".to_vec();
    aad.push(FORMAT_VERSION_V1);
    push_value_context(&mut aad, context);
    aad
}

fn push_value_context(aad: &mut Vec<u8>, context: &ValueContext<'_>) {
    aad.extend_from_slice(context.account);
    lp(aad, context.namespace.as_bytes());
    lp(aad, context.name.as_bytes());
    aad.push(context.class.code());
    aad.extend_from_slice(&context.key_version.to_be_bytes());
    aad.extend_from_slice(&context.expires_at.to_be_bytes());
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

/// `"rukasec.vault.name.v1\0" ‖ format version (1) ‖ account tag (32) ‖ item id (32)`; the
/// label is unchanged in format 2, the version byte is the format's.
pub fn name_aad(version: u8, account: &AccountTag, item_id: &[u8; 32]) -> Vec<u8> {
    let mut aad = b"rukasec.vault.name.v1\0".to_vec();
    aad.push(version);
    aad.extend_from_slice(account);
    aad.extend_from_slice(item_id);
    aad
}

const KEY_MAGIC: &[u8; 4] = b"RKSK";
const KEY_HEADER_LEN: usize = 4 + 1 + 1 + 4 + 32;
const KEY_LEN: usize = 32;

/// What the key wrapper encrypts for a stored key: `"RKSK" ‖ format version (1) ‖ purpose (1)
/// ‖ key version (u32 BE) ‖ owner (32) ‖ key (32)`. The owner is the account tag (or, for the id
/// key, the vault id). The header ties a wrapped key to its row, so swapping wrapped keys between
/// rows, classes, accounts or vaults is detected after unwrapping.
pub fn key_payload(
    format_version: u8,
    owner: &[u8; 32],
    purpose: KeyPurpose,
    version: u32,
    key: &SecretBytes,
) -> SecretBytes {
    let mut payload = Vec::with_capacity(KEY_HEADER_LEN + KEY_LEN);
    payload.extend_from_slice(KEY_MAGIC);
    payload.push(format_version);
    payload.push(purpose.code());
    payload.extend_from_slice(&version.to_be_bytes());
    payload.extend_from_slice(owner);
    // Wrapping: the key joins its payload, itself a secret.
    payload.extend_from_slice(key.expose_secret());
    SecretBytes::new(payload)
}

/// The key inside an unwrapped payload, after checking its header names this row.
///
/// # Errors
/// [`Error::Integrity`] when the header does not match.
pub fn key_from_payload(
    format_version: u8,
    payload: &SecretBytes,
    owner: &[u8; 32],
    purpose: KeyPurpose,
    version: u32,
) -> Result<SecretBytes> {
    // Unwrapping: the header is checked and the key copied out of its payload.
    let bytes = payload.expose_secret();
    let expected = &key_payload(
        format_version,
        owner,
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

/// The canary wrapped next to each copy of the vault's id key (meta `id_canary.N`):
/// `"rukasec.vault.id-canary.v2\0" ‖ vault id`. A wrapper that unwraps it to anything else holds
/// another key under the copy's alias (KeyUnavailable), which tells that apart from a wrapped id
/// key that opens to a bad payload (tampering).
pub fn id_canary(vault_id: &[u8; 32]) -> SecretBytes {
    SecretBytes::new([b"rukasec.vault.id-canary.v2\0".as_slice(), vault_id].concat())
}

/// The canary wrapped under every KEK: `"rukasec.vault.canary.v1\0" ‖ account tag`. If it does
/// not unwrap to this, the keystore holds another key than the one the account was written with.
pub fn canary(account: &AccountTag) -> SecretBytes {
    SecretBytes::new([b"rukasec.vault.canary.v1\0".as_slice(), account].concat())
}

/// The columns of an `items` row that its state element covers (all but the value, which its
/// AEAD binds to the same counter).
pub struct ElementInput<'a> {
    /// `item_id`.
    pub item_id: &'a [u8; 32],
    /// `namespace_tag`.
    pub namespace_tag: &'a [u8; 32],
    /// `class`.
    pub class: u8,
    /// `key_version`.
    pub key_version: u32,
    /// `expires_at`.
    pub expires_at: i64,
    /// `counter`.
    pub counter: u64,
    /// The name envelope.
    pub name: &'a [u8],
}

/// An item's element of the account state: `HMAC-SHA256(state key, "rukasec.vault.element.v2\0"
/// ‖ item_id ‖ namespace_tag ‖ class (1) ‖ key_version (u32 BE) ‖ expires_at (i64 BE) ‖ counter
/// (u64 BE) ‖ SHA-256(name envelope))`.
pub fn element(crypto: &Crypto, state_key: &SecretBytes, row: &ElementInput<'_>) -> [u8; 32] {
    let mut input = Vec::with_capacity(25 + 32 + 32 + 1 + 4 + 8 + 8 + 32);
    input.extend_from_slice(b"rukasec.vault.element.v2\0");
    input.extend_from_slice(row.item_id);
    input.extend_from_slice(row.namespace_tag);
    input.push(row.class);
    input.extend_from_slice(&row.key_version.to_be_bytes());
    input.extend_from_slice(&row.expires_at.to_be_bytes());
    input.extend_from_slice(&row.counter.to_be_bytes());
    input.extend_from_slice(&crypto.sha256(row.name));
    // Keyed hash: HMAC needs the state key's bytes.
    crypto.hmac_sha256(state_key.expose_secret(), &input)
}

/// Adds `b` to `a` modulo 2^256 (both big-endian): the multiset hash's union.
pub fn sum_add(a: &mut [u8; 32], b: &[u8; 32]) {
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let total = u16::from(a[i]) + u16::from(b[i]) + carry;
        a[i] = total.to_be_bytes()[1];
        carry = total >> 8;
    }
}

/// Subtracts `b` from `a` modulo 2^256 (both big-endian): removes an element.
pub fn sum_sub(a: &mut [u8; 32], b: &[u8; 32]) {
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut total = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = 0;
        if total < 0 {
            total += 256;
            borrow = 1;
        }
        a[i] = total.to_be_bytes()[1];
    }
}

/// An account's authenticated state over its live items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    /// Writes so far (puts, deletes, re-encryptions); each written row takes the new value as
    /// its counter. Never decreases: the rollback anchor is this number.
    pub write_counter: u64,
    /// Live rows (expired but unpurged ones included).
    pub item_count: u64,
    /// The sum modulo 2^256 of the rows' elements.
    pub sum: [u8; 32],
}

/// Length of an encoded state: version, counter, count, sum, MAC.
pub const STATE_LEN: usize = 1 + 8 + 8 + 32 + 32;

impl AccountState {
    /// The state of an account without items.
    pub fn empty() -> Self {
        Self {
            write_counter: 0,
            item_count: 0,
            sum: [0; 32],
        }
    }

    fn mac_input(&self, account: &AccountTag) -> Vec<u8> {
        let mut input = b"rukasec.vault.state.v2\0".to_vec();
        input.extend_from_slice(account);
        input.extend_from_slice(&self.write_counter.to_be_bytes());
        input.extend_from_slice(&self.item_count.to_be_bytes());
        input.extend_from_slice(&self.sum);
        input
    }

    /// `0x02 ‖ write_counter (u64 BE) ‖ item_count (u64 BE) ‖ sum (32) ‖ HMAC-SHA256(state key,
    /// "rukasec.vault.state.v2\0" ‖ account tag ‖ write_counter ‖ item_count ‖ sum)`.
    pub fn encode(
        &self,
        crypto: &Crypto,
        state_key: &SecretBytes,
        account: &AccountTag,
    ) -> Vec<u8> {
        // MAC: needs the state key's bytes.
        let mac = crypto.hmac_sha256(state_key.expose_secret(), &self.mac_input(account));
        let mut out = Vec::with_capacity(STATE_LEN);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.write_counter.to_be_bytes());
        out.extend_from_slice(&self.item_count.to_be_bytes());
        out.extend_from_slice(&self.sum);
        out.extend_from_slice(&mac);
        out
    }

    /// Parses and authenticates an encoded state (MAC compared in constant time).
    ///
    /// # Errors
    /// [`Error::Integrity`] when it is malformed or its MAC does not verify.
    pub fn decode(
        crypto: &Crypto,
        state_key: &SecretBytes,
        account: &AccountTag,
        bytes: &[u8],
    ) -> Result<Self> {
        if bytes.len() != STATE_LEN || bytes[0] != FORMAT_VERSION {
            return Err(Error::Integrity);
        }
        let u64_at = |at: usize| -> Result<u64> {
            let raw: [u8; 8] = bytes[at..at + 8].try_into().map_err(|_| Error::Integrity)?;
            Ok(u64::from_be_bytes(raw))
        };
        let mut sum = [0; 32];
        sum.copy_from_slice(&bytes[17..49]);
        let state = Self {
            write_counter: u64_at(1)?,
            item_count: u64_at(9)?,
            sum,
        };
        // MAC check: needs the state key's bytes.
        if !crypto.hmac_sha256_verify(
            state_key.expose_secret(),
            &state.mac_input(account),
            &bytes[49..],
        ) {
            return Err(Error::Integrity);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_add_and_subtract_with_carries_modulo_2_256() {
        let mut a = [0xff; 32];
        let mut one = [0; 32];
        one[31] = 1;
        sum_add(&mut a, &one);
        assert_eq!(a, [0; 32], "wraps around");
        sum_sub(&mut a, &one);
        assert_eq!(a, [0xff; 32]);
        let crypto = Crypto::get().unwrap();
        let (x, y) = (crypto.sha256(b"x"), crypto.sha256(b"y"));
        let mut s = [0; 32];
        sum_add(&mut s, &x);
        sum_add(&mut s, &y);
        sum_sub(&mut s, &x);
        assert_eq!(s, y, "order does not matter");
    }

    #[test]
    fn states_round_trip_and_refuse_any_edit() {
        let crypto = Crypto::get().unwrap();
        let key = SecretBytes::from_slice(&[9; 32]);
        let tag = [4; 32];
        let state = AccountState {
            write_counter: 7,
            item_count: 3,
            sum: [5; 32],
        };
        let bytes = state.encode(&crypto, &key, &tag);
        assert_eq!(bytes.len(), STATE_LEN);
        assert_eq!(
            AccountState::decode(&crypto, &key, &tag, &bytes).unwrap(),
            state
        );
        for i in 0..bytes.len() {
            let mut edited = bytes.clone();
            edited[i] ^= 1;
            assert!(
                AccountState::decode(&crypto, &key, &tag, &edited).is_err(),
                "byte {i}"
            );
        }
        assert!(
            AccountState::decode(&crypto, &key, &[5; 32], &bytes).is_err(),
            "other account"
        );
    }
}
