//! The certificates a pin may match: the path the server's certificate was verified along.
//!
//! Why not simply every certificate the server presented? Because the presented list is the
//! attacker's to choose. Someone holding a certificate mis-issued for our host by any trusted CA
//! can append our pinned intermediate (a public certificate) to their chain; a pin check over
//! "any presented certificate" would then pass. So a pin may only match a certificate that is
//! on the signature path from the leaf: the leaf itself, each presented certificate whose key
//! signed the previous one, and, when the app configured extra trust anchors, the anchor whose
//! key signed the last one.
//!
//! What this allows on each platform (the platform verifiers do not hand back the path they
//! built): leaf and intermediate pins work everywhere; a root pin works when the root is one of
//! the app's extra trust anchors, or when the server sends the root in its chain. A public
//! root that the server does not send cannot be pinned (pin its intermediate instead).
//!
//! Cost: a leaf pin needs no signature check at all. Walking further checks one signature per
//! link, so a verified path is cached by the hash of the presented chain: the path is a
//! property of the bytes alone (validity dates and trust are the platform verifier's job and
//! are checked on every handshake).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use x509_parser::prelude::{FromDer, X509Certificate};

use super::SpkiPin;
use crate::crypto::{Crypto, SHA256_LEN};

/// Longest path followed; real chains have two to four certificates.
const MAX_PATH: usize = 8;
/// Verified paths remembered (one per distinct chain a server presented).
const CACHE_ENTRIES: usize = 64;

/// The pin of a DER certificate's key, or `None` when the bytes are not a certificate.
pub(crate) fn leaf_pin(crypto: &Crypto, der: &[u8]) -> Option<SpkiPin> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(SpkiPin::of_spki(
        crypto,
        cert.tbs_certificate.subject_pki.raw,
    ))
}

/// Extra trust anchors with a cache of verified paths.
pub(crate) struct PathBuilder {
    anchors: Vec<Vec<u8>>,
    cache: Mutex<PathCache>,
}

#[derive(Default)]
struct PathCache {
    paths: HashMap<[u8; SHA256_LEN], Vec<SpkiPin>>,
    order: VecDeque<[u8; SHA256_LEN]>,
}

impl PathBuilder {
    /// A builder that may end paths at `anchors` (DER certificates; unparsable ones are
    /// ignored here, they were refused when the configuration was built).
    pub(crate) fn new(anchors: Vec<Vec<u8>>) -> Self {
        Self {
            anchors,
            cache: Mutex::new(PathCache::default()),
        }
    }

    /// The pins of the signature path from `leaf` through `presented` (any order) to an
    /// anchor, leaf first. Certificates that are not on the path are left out.
    pub(crate) fn path_pins(
        &self,
        crypto: &Crypto,
        leaf: &[u8],
        presented: &[&[u8]],
    ) -> Vec<SpkiPin> {
        let key = chain_hash(crypto, leaf, presented);
        if let Some(pins) = self.lock().paths.get(&key) {
            return pins.clone();
        }
        let pins = self.build(crypto, leaf, presented);
        let mut cache = self.lock();
        if !cache.paths.contains_key(&key) {
            if cache.order.len() >= CACHE_ENTRIES
                && let Some(oldest) = cache.order.pop_front()
            {
                cache.paths.remove(&oldest);
            }
            cache.order.push_back(key);
            cache.paths.insert(key, pins.clone());
        }
        pins
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PathCache> {
        // A panic while holding the lock leaves at worst a partial cache entry list: still a
        // valid cache, so the poison is ignored.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn build(&self, crypto: &Crypto, leaf: &[u8], presented: &[&[u8]]) -> Vec<SpkiPin> {
        let Ok((_, leaf)) = X509Certificate::from_der(leaf) else {
            return Vec::new();
        };
        let presented: Vec<X509Certificate<'_>> =
            presented.iter().filter_map(|der| parse(der)).collect();
        let anchors: Vec<X509Certificate<'_>> =
            self.anchors.iter().filter_map(|der| parse(der)).collect();

        let pin = |cert: &X509Certificate<'_>| {
            SpkiPin::of_spki(crypto, cert.tbs_certificate.subject_pki.raw)
        };
        let mut pins = vec![pin(&leaf)];
        let mut used = vec![false; presented.len()];
        let mut current = &leaf;
        while pins.len() < MAX_PATH && !is_self_signed(current) {
            let next = presented
                .iter()
                .enumerate()
                .find(|(index, candidate)| !used[*index] && signed_by(current, candidate));
            if let Some((index, issuer)) = next {
                used[index] = true;
                pins.push(pin(issuer));
                current = issuer;
                continue;
            }
            if let Some(anchor) = anchors.iter().find(|anchor| signed_by(current, anchor)) {
                let anchor_pin = pin(anchor);
                if !pins.contains(&anchor_pin) {
                    pins.push(anchor_pin);
                }
            }
            break;
        }
        pins
    }
}

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    X509Certificate::from_der(der).ok().map(|(_, cert)| cert)
}

fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    cert.subject() == cert.issuer() && cert.verify_signature(None).is_ok()
}

fn signed_by(child: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    child.issuer() == issuer.subject() && child.verify_signature(Some(issuer.public_key())).is_ok()
}

fn chain_hash(crypto: &Crypto, leaf: &[u8], presented: &[&[u8]]) -> [u8; SHA256_LEN] {
    let mut framed =
        Vec::with_capacity(leaf.len() + presented.iter().map(|c| c.len() + 8).sum::<usize>() + 8);
    for der in std::iter::once(&leaf).chain(presented) {
        framed.extend_from_slice(&(der.len() as u64).to_be_bytes());
        framed.extend_from_slice(der);
    }
    crypto.sha256(&framed)
}
