//! SHA-256, SHA-512, HMAC-SHA256, and HMAC-SHA-1 / HMAC-SHA512 for one-time passwords.
//!
//! SHA-512 is here only for RFC 9530 `Content-Digest` (`sha-512`, the algorithm RFC 9421's
//! examples use); everything RukaSec itself hashes or authenticates uses SHA-256.
//! HMAC-SHA-1 and HMAC-SHA512 are here only for HOTP/TOTP (RFC 4226/6238), whose issuers choose
//! the algorithm (most choose SHA-1; HMAC-SHA-1 stays a sound PRF despite SHA-1's collisions).

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::Crypto;

/// Length of a SHA-256 digest (and of an untruncated HMAC-SHA256 tag).
pub const SHA256_LEN: usize = 32;

/// Length of a SHA-512 digest (and of an HMAC-SHA512 tag).
pub const SHA512_LEN: usize = 64;

/// Length of an HMAC-SHA-1 tag.
pub const SHA1_LEN: usize = 20;

/// Shortest truncated HMAC-SHA256 tag accepted by [`Crypto::hmac_sha256_verify`] (NIST SP
/// 800-107 advises at least 64 bits; RukaSec asks for 128).
const MIN_TAG_LEN: usize = 16;

type HmacSha256 = hmac::Hmac<Sha256>;
type HmacSha1 = hmac::Hmac<sha1::Sha1>;
type HmacSha512 = hmac::Hmac<Sha512>;

impl Crypto {
    /// SHA-256 of `data`.
    pub fn sha256(&self, data: &[u8]) -> [u8; SHA256_LEN] {
        Sha256::digest(data).into()
    }

    /// SHA-512 of `data`.
    pub fn sha512(&self, data: &[u8]) -> [u8; SHA512_LEN] {
        Sha512::digest(data).into()
    }

    /// HMAC-SHA256 of `data` under `key`.
    pub fn hmac_sha256(&self, key: &[u8], data: &[u8]) -> [u8; SHA256_LEN] {
        let mut mac = new_hmac::<HmacSha256>(key);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC-SHA256 of `data` under `key`, compared in constant time.
    /// `tag` may be truncated (leftmost bytes) down to 16 bytes; shorter tags never verify.
    pub fn hmac_sha256_verify(&self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        if tag.len() < MIN_TAG_LEN || tag.len() > SHA256_LEN {
            return false;
        }
        let mut mac = new_hmac::<HmacSha256>(key);
        mac.update(data);
        mac.verify_truncated_left(tag).is_ok()
    }

    /// HMAC-SHA-1 of `data` under `key`. Only for HOTP/TOTP (RFC 4226/6238).
    pub fn hmac_sha1(&self, key: &[u8], data: &[u8]) -> [u8; SHA1_LEN] {
        let mut mac = new_hmac::<HmacSha1>(key);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// HMAC-SHA512 of `data` under `key`. Only for HOTP/TOTP (RFC 6238's SHA-512 mode).
    pub fn hmac_sha512(&self, key: &[u8], data: &[u8]) -> [u8; SHA512_LEN] {
        let mut mac = new_hmac::<HmacSha512>(key);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

fn new_hmac<M: KeyInit>(key: &[u8]) -> M {
    #[allow(clippy::expect_used)]
    M::new_from_slice(key).expect("HMAC takes keys of any length") // invariant: RFC 2104 hashes long keys and pads short ones
}

#[cfg(test)]
mod tests {
    use hex_literal::hex;

    use super::*;

    #[test]
    fn sha512_matches_fips_180_2() {
        // FIPS 180-2, appendix C.1: SHA-512("abc").
        const ABC: [u8; SHA512_LEN] = hex!(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        let crypto = Crypto::for_self_test();
        assert_eq!(crypto.sha512(b"abc"), ABC);
        assert_ne!(crypto.sha512(b"abd"), ABC);
    }

    #[test]
    fn hmac_accepts_keys_longer_than_a_block() {
        // RFC 2202 test case 6 (HMAC-SHA-1) and RFC 4231 test case 6 (HMAC-SHA512): an 80- and
        // a 131-byte key, hashed first (RFC 2104).
        let crypto = Crypto::for_self_test();
        assert_eq!(
            crypto.hmac_sha1(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            hex!("aa4ae5e15272d00e95705637ce8a3b55ed402112")
        );
        assert_eq!(
            crypto.hmac_sha512(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            hex!(
                "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
            )
        );
    }
}
