//! Key wrappers implemented in Rust. The phone wrappers (Android Keystore, Secure Enclave) are
//! implemented in Kotlin and Swift through the bindings.

mod file_key;
mod memory;

pub use file_key::FileKeyWrapper;
pub use memory::MemoryKeyWrapper;
