//! # rukasec-core
//!
//! All of RukaSec's logic: no UniFFI, no JNI. The `rukasec-ffi` crate wraps this for Kotlin
//! and Swift; the `rukasec` CLI uses it directly.
#![forbid(unsafe_code)]

pub mod crypto;
pub mod error;
pub mod events;
mod host_pattern;
pub mod logging;
pub mod monitor;
pub mod otp;
mod redact;
mod rukasec;
pub mod secret;
pub mod selftest;
pub mod signing;
pub mod tls;
pub mod unlock;
pub mod vault;

pub use error::{Error, Result, SignatureFailure, TlsFailure};
pub use rukasec::RukaSec;

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The Rust examples of docs/INTEGRATION.md (a server verifying signed requests), compiled and
/// run as doctests; its Kotlin and Swift examples run in the binding suites
/// (scripts/doc_examples.py).
#[doc = include_str!("../../docs/INTEGRATION.md")]
#[cfg(doctest)]
pub struct IntegrationDoctests;
