// KeyWrapper implementations in Swift for the vault tests: a keystore stand-in and a decorator
// that injects the faults a real keystore shows (errors, wrong bytes).

import Foundation

import RukaSec

/// `count` random bytes.
func randomBytes(_ count: Int) -> Data {
    var generator = SystemRandomNumberGenerator()
    return Data((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
}

/// A keystore stand-in that keeps the key material itself, as a Keychain or Secure
/// Enclave-backed store would: `wrap` hands back an opaque random handle, and only this object
/// can turn the handle back into the key.
///
/// The iOS app's real wrapper does real cryptography: it wraps keys with ECIES under a Secure
/// Enclave key (`SecKeyCreateEncryptedData`, `.eciesEncryptionCofactorVariableIVX963SHA256AESGCM`)
/// or with AES-GCM under a key kept in the Keychain, so the wrapped bytes on disk are useless
/// without the device. Swift on Linux has neither CryptoKit nor the Security framework, so this
/// one does no cryptography at all: it only exercises the binding (the calls, their arguments
/// and results, and the errors the vault expects: `KeyNotFound` for an unknown alias, `Rejected`
/// for bytes the key did not produce).
///
/// Per alias it keeps a random 16-byte "KEK id" (a new one on every `createKey`, as a keystore
/// makes a new key) and the keys wrapped under that KEK, by handle. Thread-safe; records every
/// alias created and deleted.
final class HandleKeyWrapper: KeyWrapper, @unchecked Sendable {
    private struct Kek {
        let id: Data
        var wrapped: [Data: Data] = [:] // handle -> key bytes
    }

    private let lock = NSLock()
    private var keks: [String: Kek] = [:]
    private var createdAliases: [String] = []
    private var deletedAliases: [String] = []
    private var unwraps = 0
    private let hardwareBacked: Bool

    init(hardwareBacked: Bool = false) {
        self.hardwareBacked = hardwareBacked
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: KeyWrapper

    func createKey(alias: String) throws {
        locked {
            keks[alias] = Kek(id: randomBytes(16)) // replaces any key (and its wrapped keys)
            createdAliases.append(alias)
        }
    }

    func wrap(alias: String, key: Data) throws -> Data {
        try locked {
            guard keks[alias] != nil else { throw thrownIntoRust(KeyWrapperError.KeyNotFound) }
            let handle = randomBytes(16)
            keks[alias]!.wrapped[handle] = key
            return handle
        }
    }

    func unwrap(alias: String, wrapped: Data) throws -> Data {
        try locked {
            unwraps += 1
            guard let kek = keks[alias] else { throw thrownIntoRust(KeyWrapperError.KeyNotFound) }
            guard let key = kek.wrapped[wrapped] else { throw thrownIntoRust(KeyWrapperError.Rejected) }
            return key
        }
    }

    func deleteKey(alias: String) throws {
        locked {
            keks[alias] = nil // a missing key is not an error
            deletedAliases.append(alias)
        }
    }

    func isHardwareBacked() -> Bool { hardwareBacked }

    // MARK: What the tests inspect

    /// Every alias passed to `createKey`, in order.
    var created: [String] { locked { createdAliases } }
    /// Every alias passed to `deleteKey`, in order.
    var deleted: [String] { locked { deletedAliases } }
    /// The aliases that hold a key now, sorted.
    var aliases: [String] { locked { keks.keys.sorted() } }
    /// Alias prefixes of docs/FORMAT.md (format 2): accounts' KEKs, and the vault's id key (whose
    /// alias comes from the vault id, one per vault).
    static let kekPrefix = "rukasec.kek.v2."
    static let idKeyPrefix = "rukasec.idk.v2."
    /// The account KEK aliases passed to `createKey`, in order.
    var createdKeks: [String] { created.filter { $0.hasPrefix(Self.kekPrefix) } }
    /// The id-key aliases passed to `createKey`, in order.
    var createdIdKeys: [String] { created.filter { $0.hasPrefix(Self.idKeyPrefix) } }
    /// The account KEK aliases that hold a key now, sorted.
    var kekAliases: [String] { aliases.filter { $0.hasPrefix(Self.kekPrefix) } }
    /// The KEK id under `alias`, nil when there is no key.
    func kekId(_ alias: String) -> Data? { locked { keks[alias]?.id } }
    /// How many keys are wrapped under `alias` (0 when there is no key).
    func wrappedCount(_ alias: String) -> Int { locked { keks[alias]?.wrapped.count ?? 0 } }
    /// How many times `unwrap` was called.
    var unwrapCalls: Int { locked { unwraps } }
}

/// An error that is not a `KeyWrapperError`, as an app's keystore code might throw.
struct AppKeystoreError: Error, CustomStringConvertible {
    let message: String
    var description: String { "AppKeystoreError: \(message)" }
}

/// A `HandleKeyWrapper` with a fault switched on and off by the test.
final class FaultyKeyWrapper: KeyWrapper, @unchecked Sendable {
    enum Fault {
        /// Every call is passed to the inner wrapper.
        case none
        /// Every call (except `isHardwareBacked`) throws this error.
        case throwing(Error)
        /// `unwrap` returns this many random bytes instead of the key, for every key.
        case randomUnwrap(count: Int)
        /// `unwrap` returns random bytes of the same length when the real result is `count`
        /// bytes long, else the real result. The vault's key payloads are 74 bytes
        /// ("RKSK", version, purpose, key version, account tag, key) and its canary 56, so
        /// `count: 74` garbles the keys but lets the KEK check pass.
        case randomUnwrapOfLength(count: Int)
    }

    let inner: HandleKeyWrapper
    private let current: Locked<Fault>

    init(inner: HandleKeyWrapper = HandleKeyWrapper(), fault: Fault = .none) {
        self.inner = inner
        self.current = Locked(fault)
    }

    var fault: Fault {
        get { current.get }
        set { current.with { $0 = newValue } }
    }

    private func check() throws {
        if case let .throwing(error) = fault { throw thrownIntoRust(error) }
    }

    func createKey(alias: String) throws {
        try check()
        try inner.createKey(alias: alias)
    }

    func wrap(alias: String, key: Data) throws -> Data {
        try check()
        return try inner.wrap(alias: alias, key: key)
    }

    func unwrap(alias: String, wrapped: Data) throws -> Data {
        try check()
        let key = try inner.unwrap(alias: alias, wrapped: wrapped)
        switch fault {
        case let .randomUnwrap(count):
            return randomBytes(count)
        case let .randomUnwrapOfLength(count) where key.count == count:
            return randomBytes(count)
        default:
            return key
        }
    }

    func deleteKey(alias: String) throws {
        try check()
        try inner.deleteKey(alias: alias)
    }

    func isHardwareBacked() -> Bool { inner.isHardwareBacked() }
}
