//! Key wrappers implemented in Rust. The phone wrappers (Android Keystore, Secure Enclave) are
//! implemented in Kotlin and Swift through the bindings.

mod file_key;
#[cfg(feature = "keyring")]
mod keyring;
mod memory;

pub use file_key::FileKeyWrapper;
#[cfg(feature = "keyring")]
pub use keyring::KeyringKeyWrapper;
pub use memory::MemoryKeyWrapper;
