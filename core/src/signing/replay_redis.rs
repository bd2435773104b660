//! A [`ReplayStore`] in Redis, shared by every instance of a server fleet (feature `redis`).
//!
//! Why Redis: it is what fleets already run for shared, expiring state, and `SET key 1 NX PX
//! ttl` is exactly the primitive a replay store needs: insert-if-absent and expiry in one atomic
//! command, so two instances checking the same nonce at the same moment cannot both accept it.
//!
//! Keys are `prefix` followed by the hex SHA-256 of the key id (length-prefixed, 4 bytes
//! big-endian) and the nonce: fixed-size keys whatever the client sends, no `(keyid, nonce)`
//! pair colliding with another, and neither value readable by someone browsing the Redis.
//!
//! Failing closed:
//! - a connection that cannot be made, a command that times out or an unexpected reply is
//!   [`ReplayStoreUnavailable`], and the verifier refuses the request;
//! - a Redis that may evict keys under memory pressure (`maxmemory-policy` other than
//!   `noeviction`: every nonce key has an expiry, so even the `volatile-*` policies evict them)
//!   would forget nonces and let them replay: each new connection asks `CONFIG GET
//!   maxmemory-policy` and refuses any answer but `noeviction`. A managed Redis that forbids
//!   `CONFIG` is trusted on its operator's word (the refusal is not an error).
//!
//! The connection string may hold a password: it never reaches an error, an event or `Debug`.
//! TLS to Redis (`rediss://`) is not compiled in; run the store on a private network or a
//! loopback/UNIX socket, or ask for the `tls-rustls` feature of the `redis` crate.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::replay::{NonceVerdict, ReplayStore, ReplayStoreUnavailable};
use crate::error::{Error, Result};

/// Idle connections kept for reuse; more concurrent verifications open (and then drop) more.
const MAX_IDLE_CONNECTIONS: usize = 16;

/// Nonces in a Redis server shared by a fleet of verifiers.
pub struct RedisReplayStore {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    idle: Mutex<Vec<redis::Connection>>,
}

impl fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its connection info holds the password.
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisReplayStore {
    /// A store on the Redis at `url` (`redis://[user:password@]host:port[/db]` or
    /// `redis+unix:///path`), naming its keys `prefix…` (for example `"rukasec:nonce:"`; one
    /// prefix per environment), with `timeout` for connecting and for each command. Connects
    /// lazily: an unreachable server is reported by the first verification, as a refusal.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `url` is not a Redis URL or `timeout` is zero.
    pub fn open(url: &str, prefix: &str, timeout: Duration) -> Result<Self> {
        if timeout.is_zero() {
            return Err(Error::invalid_input("the Redis timeout must not be zero"));
        }
        // The URL is not in the message: it may hold a password.
        let client = redis::Client::open(url)
            .map_err(|_| Error::invalid_input("not a Redis URL (redis:// or redis+unix://)"))?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The Redis key remembering `nonce` for `keyid`.
    fn key(&self, keyid: &str, nonce: &str) -> String {
        let mut hash = Sha256::new();
        // Invariant: a key id longer than 4 GiB cannot be in a parsed HTTP header; saturating
        // keeps the encoding injective for every id that can reach here.
        let len = u32::try_from(keyid.len()).unwrap_or(u32::MAX);
        hash.update(len.to_be_bytes());
        hash.update(keyid.as_bytes());
        hash.update(nonce.as_bytes());
        format!("{}{}", self.prefix, hex::encode(hash.finalize()))
    }

    fn take_connection(&self) -> std::result::Result<redis::Connection, ReplayStoreUnavailable> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(connection) => Ok(connection),
            None => self.connect(),
        }
    }

    fn give_back(&self, connection: redis::Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(connection);
        }
    }

    fn connect(&self) -> std::result::Result<redis::Connection, ReplayStoreUnavailable> {
        let unavailable = |_| ReplayStoreUnavailable::new("cannot connect to the Redis server");
        let mut connection = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(unavailable)?;
        connection
            .set_read_timeout(Some(self.timeout))
            .map_err(unavailable)?;
        connection
            .set_write_timeout(Some(self.timeout))
            .map_err(unavailable)?;
        let policy: redis::RedisResult<Vec<String>> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query(&mut connection);
        match policy {
            Ok(reply) => match reply.as_slice() {
                [_, policy] if policy == "noeviction" => {}
                [_, _] => {
                    return Err(ReplayStoreUnavailable::new(
                        "the Redis server may evict nonces (maxmemory-policy is not noeviction)",
                    ));
                }
                _ => {
                    return Err(ReplayStoreUnavailable::new(
                        "unexpected reply to CONFIG GET maxmemory-policy",
                    ));
                }
            },
            // Dropped or timed out: the server is not answering.
            Err(error) if error.is_io_error() || error.is_timeout() => {
                return Err(ReplayStoreUnavailable::new(
                    "the Redis server did not answer",
                ));
            }
            // CONFIG refused (ACL, renamed command on a managed service): trusted as
            // configured by its operator, as the module documentation says.
            Err(_) => {}
        }
        Ok(connection)
    }

    /// One `SET key 1 NX PX ttl` on `connection`.
    fn set_if_absent(
        connection: &mut redis::Connection,
        key: &str,
        ttl_ms: u64,
    ) -> redis::RedisResult<Option<String>> {
        redis::cmd("SET")
            .arg(key)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query(connection)
    }
}

impl ReplayStore for RedisReplayStore {
    fn check_and_remember(
        &self,
        keyid: &str,
        nonce: &str,
        valid_until: u64,
        now: u64,
    ) -> std::result::Result<NonceVerdict, ReplayStoreUnavailable> {
        let key = self.key(keyid, nonce);
        // `valid_until` is inclusive: the nonce must outlive that whole second.
        let ttl_ms = valid_until
            .saturating_sub(now)
            .saturating_add(1)
            .saturating_mul(1000);
        // One retry on a fresh connection when a pooled one turns out to be dead (the server
        // restarted, an idle timeout). Retrying is safe: if the first SET did land and only its
        // reply was lost, the retry answers "seen" and the request is refused, never accepted
        // twice.
        for attempt in 0..2 {
            let mut connection = self.take_connection()?;
            match Self::set_if_absent(&mut connection, &key, ttl_ms) {
                Ok(reply) => {
                    self.give_back(connection);
                    return match reply.as_deref() {
                        Some("OK") => Ok(NonceVerdict::Fresh),
                        None => Ok(NonceVerdict::Seen),
                        Some(_) => Err(ReplayStoreUnavailable::new(
                            "unexpected reply to SET NX from the Redis server",
                        )),
                    };
                }
                Err(error) if attempt == 0 && error.is_connection_dropped() => {}
                Err(error) if error.is_timeout() => {
                    return Err(ReplayStoreUnavailable::new(
                        "the Redis server did not answer in time",
                    ));
                }
                Err(_) => {
                    return Err(ReplayStoreUnavailable::new(
                        "the Redis server refused or failed the command",
                    ));
                }
            }
        }
        Err(ReplayStoreUnavailable::new(
            "the Redis server did not answer",
        ))
    }
}
