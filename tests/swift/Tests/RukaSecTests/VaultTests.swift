// The vault through the generated Swift: a KeyWrapper implemented in Swift (TestKeyWrappers.swift)
// called back from Rust, values and records crossing the boundary, VaultError mapping, and the
// vault's security events reaching a Swift listener. The Rust tests cover the crypto and the
// file format; these check the binding.

import Foundation
import XCTest

import RukaSec

// MARK: - Error matching

extension VaultError {
    /// The case's name, for messages and comparisons.
    var caseName: String {
        switch self {
        case .InvalidInput: return "InvalidInput"
        case .Integrity: return "Integrity"
        case .KeyUnavailable: return "KeyUnavailable"
        case .UserAuthenticationRequired: return "UserAuthenticationRequired"
        case .UserCancelled: return "UserCancelled"
        case .AuthenticationFailed: return "AuthenticationFailed"
        case .LockedOut: return "LockedOut"
        case .KeyInvalidated: return "KeyInvalidated"
        case .Keystore: return "Keystore"
        case .Storage: return "Storage"
        case .CryptoUnavailable: return "CryptoUnavailable"
        case .Internal: return "Internal"
        }
    }

    var reason: String {
        switch self {
        case let .InvalidInput(reason), let .Integrity(reason), let .KeyUnavailable(reason),
             let .UserAuthenticationRequired(reason), let .UserCancelled(reason),
             let .AuthenticationFailed(reason, _), let .LockedOut(reason, _), let .KeyInvalidated(reason),
             let .Keystore(reason), let .Storage(reason), let .CryptoUnavailable(reason),
             let .Internal(reason):
            return reason
        }
    }
}

/// Asserts that `expression` throws the `VaultError` case named `expected` with a non-empty
/// reason that `errorDescription` carries; returns the error (nil after a failure).
@discardableResult
func assertVaultError<T>(
    _ expected: String,
    _ expression: @autoclosure () throws -> T,
    _ message: String = "",
    file: StaticString = #filePath,
    line: UInt = #line,
    function: String = #function
) -> VaultError? {
    var thrown: VaultError?
    XCTAssertThrowsError(try expression(), message, file: file, line: line) { error in
        reached(error, file: file, function: function)
        guard let error = error as? VaultError else {
            XCTFail("\(message): expected VaultError.\(expected), got \(type(of: error)): \(error)",
                    file: file, line: line)
            return
        }
        guard error.caseName == expected else {
            XCTFail("\(message): expected VaultError.\(expected), got \(error)", file: file, line: line)
            return
        }
        XCTAssertFalse(error.reason.isEmpty, "\(message): empty reason", file: file, line: line)
        // The generated errorDescription is `String(reflecting: self)`: the reason appears as a
        // Swift string literal, escaped (KeyUnavailable's "account's" reads "account\'s").
        XCTAssertTrue(error.errorDescription?.contains(String(reflecting: error.reason)) ?? false,
                      "\(message): errorDescription does not carry the reason", file: file, line: line)
        thrown = error
    }
    return thrown
}

// MARK: - Tests

final class VaultTests: XCTestCase {
    private static let classes: [DataClass] = [.public, .internal, .confidential, .restricted]

    private var dir: URL!
    private var listener: RecordingListener!
    private var core: RukaSec!

    override func setUpWithError() throws {
        try super.setUpWithError()
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("rukasec-vault-\(UUID().uuidString)", isDirectory: true)
        listener = RecordingListener()
        core = try RukaSec(listener: listener)
    }

    override func tearDownWithError() throws {
        core = nil
        listener = nil
        if let dir, FileManager.default.fileExists(atPath: dir.path) {
            try FileManager.default.removeItem(at: dir)
        }
        dir = nil
        try super.tearDownWithError()
    }

    private func openVault(_ wrapper: KeyWrapper) throws -> Vault {
        try core.openVault(dir: dir.path, wrapper: wrapper)
    }

    /// A vault in its own subdirectory: a vault belongs to the keystore that holds its id key, so
    /// a test with another wrapper needs another vault.
    private func openVault(_ wrapper: KeyWrapper, in subdirectory: String) throws -> Vault {
        try core.openVault(dir: dir.appendingPathComponent(subdirectory).path, wrapper: wrapper)
    }

    /// The events of `kind` received so far, after flushing the stream.
    private func events(_ kind: SecurityEventKind, file: StaticString = #filePath, line: UInt = #line)
        -> [SecurityEvent]
    {
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs), "events not flushed within \(waitSeconds) s",
                      file: file, line: line)
        return listener.events.filter { $0.kind == kind }
    }

    // MARK: Values

    func testBinaryRoundTripInEachClass() throws {
        let wrapper = HandleKeyWrapper()
        let vault = try openVault(wrapper)
        var allBytes = Data(0...255)
        allBytes.append(contentsOf: (0...255).reversed())
        let values: [DataClass: Data] = [
            .public: allBytes,
            .internal: Data(count: 1000), // zeros
            .confidential: randomBytes(64 * 1024),
            .restricted: Data(), // empty: a value, not a missing one
        ]
        for dataClass in Self.classes {
            try vault.put(account: "alice", namespace: "roundtrip", name: "\(dataClass)",
                          value: values[dataClass]!, dataClass: dataClass, ttlSeconds: nil)
        }
        // Non-ASCII namespace and name survive in both directions.
        let unicodeNamespace = "profile/é"
        let unicodeName = "ключ 🔑"
        try vault.put(account: "alice", namespace: unicodeNamespace, name: unicodeName,
                      value: allBytes, dataClass: .confidential, ttlSeconds: nil)

        for dataClass in Self.classes {
            XCTAssertEqual(try vault.get(account: "alice", namespace: "roundtrip", name: "\(dataClass)"),
                           values[dataClass], "\(dataClass)")
        }
        XCTAssertEqual(try vault.list(account: "alice", namespace: unicodeNamespace), [unicodeName])
        XCTAssertEqual(try vault.get(account: "alice", namespace: unicodeNamespace, name: unicodeName), allBytes)

        // A second put replaces the value; the same name in another namespace is another item.
        try vault.put(account: "alice", namespace: "roundtrip", name: "\(DataClass.public)",
                      value: Data("replaced".utf8), dataClass: .internal, ttlSeconds: nil)
        try vault.put(account: "alice", namespace: "elsewhere", name: "\(DataClass.public)",
                      value: Data("other".utf8), dataClass: .public, ttlSeconds: nil)
        XCTAssertEqual(try vault.get(account: "alice", namespace: "roundtrip", name: "\(DataClass.public)"),
                       Data("replaced".utf8))
        XCTAssertEqual(try vault.get(account: "alice", namespace: "elsewhere", name: "\(DataClass.public)"),
                       Data("other".utf8))

        // One KEK for the account and the vault's id key, made through the Swift wrapper, named
        // as docs/FORMAT.md says.
        let aliases = wrapper.createdKeks
        XCTAssertEqual(aliases.count, 1, "\(wrapper.created)")
        let alias = try XCTUnwrap(aliases.first)
        XCTAssertTrue(alias.hasSuffix(".1") && alias.count == "rukasec.kek.v2.".count + 32 + 2, alias)
        let idKeys = wrapper.createdIdKeys
        XCTAssertEqual(idKeys.count, 1, "\(wrapper.created)")
        XCTAssertEqual(wrapper.created.count, 2, "\(wrapper.created)")
        XCTAssertEqual(wrapper.aliases, (idKeys + [alias]).sorted())
        XCTAssertTrue(wrapper.deleted.isEmpty)

        // Another vault on the same directory has no cached keys: it unwraps them through Swift.
        let unwrapsBefore = wrapper.unwrapCalls
        let reopened = try openVault(wrapper)
        for dataClass in Self.classes {
            XCTAssertEqual(try reopened.get(account: "alice", namespace: "roundtrip", name: "\(dataClass)"),
                           dataClass == .public ? Data("replaced".utf8) : values[dataClass], "\(dataClass)")
        }
        XCTAssertGreaterThan(wrapper.unwrapCalls, unwrapsBefore)
        XCTAssertEqual(wrapper.created.count, 2, "reading created a key")
    }

    func testIsHardwareBackedAsksTheAppsWrapper() throws {
        XCTAssertFalse(try openVault(HandleKeyWrapper()).isHardwareBacked())
        XCTAssertTrue(try openVault(HandleKeyWrapper(hardwareBacked: true)).isHardwareBacked())
    }

    func testMissingValuesAreNil() throws {
        let wrapper = HandleKeyWrapper()
        let vault = try openVault(wrapper)
        // An account that does not exist: nothing, and no key is made for it.
        XCTAssertNil(try vault.get(account: "nobody", namespace: "ns", name: "x"))
        XCTAssertFalse(try vault.contains(account: "nobody", namespace: "ns", name: "x"))
        XCTAssertEqual(try vault.list(account: "nobody", namespace: "ns"), [])
        XCTAssertFalse(try vault.delete(account: "nobody", namespace: "ns", name: "x"))
        XCTAssertTrue(wrapper.created.isEmpty, "\(wrapper.created)")

        try vault.put(account: "alice", namespace: "ns", name: "x", value: Data([1]), dataClass: .internal,
                      ttlSeconds: nil)
        XCTAssertNil(try vault.get(account: "alice", namespace: "ns", name: "y"))
        XCTAssertNil(try vault.get(account: "alice", namespace: "other", name: "x"))
        XCTAssertNil(try vault.get(account: "bob", namespace: "ns", name: "x"))
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "x"), Data([1]))
    }

    func testListContainsDelete() throws {
        let vault = try openVault(HandleKeyWrapper())
        for name in ["c", "a", "b"] {
            try vault.put(account: "alice", namespace: "ns1", name: name, value: Data(name.utf8),
                          dataClass: .confidential, ttlSeconds: nil)
        }
        try vault.put(account: "alice", namespace: "ns2", name: "x", value: Data([0]), dataClass: .public,
                      ttlSeconds: nil)

        XCTAssertEqual(try vault.list(account: "alice", namespace: "ns1"), ["a", "b", "c"])
        XCTAssertEqual(try vault.list(account: "alice", namespace: "ns2"), ["x"])
        XCTAssertEqual(try vault.list(account: "alice", namespace: "ns3"), [])
        XCTAssertEqual(try vault.list(account: "bob", namespace: "ns1"), [])
        XCTAssertTrue(try vault.contains(account: "alice", namespace: "ns1", name: "b"))
        XCTAssertFalse(try vault.contains(account: "alice", namespace: "ns2", name: "b"))

        XCTAssertTrue(try vault.delete(account: "alice", namespace: "ns1", name: "b"))
        XCTAssertFalse(try vault.delete(account: "alice", namespace: "ns1", name: "b"))
        XCTAssertFalse(try vault.contains(account: "alice", namespace: "ns1", name: "b"))
        XCTAssertNil(try vault.get(account: "alice", namespace: "ns1", name: "b"))
        XCTAssertEqual(try vault.list(account: "alice", namespace: "ns1"), ["a", "c"])
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns1", name: "c"), Data("c".utf8))
    }

    func testPutBatchOfHundred() throws {
        let vault = try openVault(HandleKeyWrapper())
        let items = (0..<100).map { i in
            VaultItem(namespace: "batch", name: String(format: "item-%03d", i), value: randomBytes(1 + i),
                      dataClass: Self.classes[i % Self.classes.count], ttlSeconds: i % 10 == 0 ? 3600 : nil)
        }
        try vault.putBatch(account: "alice", items: items.shuffled())

        XCTAssertEqual(try vault.list(account: "alice", namespace: "batch"), items.map(\.name))
        for item in items {
            XCTAssertEqual(try vault.get(account: "alice", namespace: "batch", name: item.name), item.value,
                           item.name)
        }

        // All or none: one invalid item and nothing of the batch is stored.
        let mixed = [
            VaultItem(namespace: "atomic", name: "good", value: Data([1]), dataClass: .public, ttlSeconds: nil),
            VaultItem(namespace: "atomic", name: "", value: Data([2]), dataClass: .public, ttlSeconds: nil),
        ]
        assertVaultError("InvalidInput", try vault.putBatch(account: "alice", items: mixed), "empty name in batch")
        XCTAssertEqual(try vault.list(account: "alice", namespace: "atomic"), [])
        XCTAssertNil(try vault.get(account: "alice", namespace: "atomic", name: "good"))

        // An empty batch is fine.
        try vault.putBatch(account: "alice", items: [])
        XCTAssertEqual(try vault.list(account: "alice", namespace: "batch").count, 100)
    }

    // MARK: Rotation and disposal

    func testRotateDekReportsAndKeepsValuesReadable() throws {
        let wrapper = HandleKeyWrapper()
        let vault = try openVault(wrapper)
        var expected: [String: Data] = [:]
        for i in 0..<10 {
            let name = "conf-\(i)"
            expected[name] = randomBytes(32 + i)
            try vault.put(account: "alice", namespace: "ns", name: name, value: expected[name]!,
                          dataClass: .confidential, ttlSeconds: nil)
        }
        for i in 0..<3 {
            let name = "pub-\(i)"
            expected[name] = randomBytes(16)
            try vault.put(account: "alice", namespace: "ns", name: name, value: expected[name]!,
                          dataClass: .public, ttlSeconds: nil)
        }

        XCTAssertEqual(try vault.rotateDek(account: "alice", dataClass: .confidential),
                       RotationReport(activeVersion: 2, reencrypted: 10, complete: true))
        XCTAssertEqual(try vault.rotateDek(account: "alice", dataClass: .confidential),
                       RotationReport(activeVersion: 3, reencrypted: 10, complete: true))
        XCTAssertEqual(try vault.rotateDek(account: "alice", dataClass: .restricted),
                       RotationReport(activeVersion: 2, reencrypted: 0, complete: true))

        for (name, value) in expected {
            XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: name), value, name)
        }
        // New writes use the new key, and a fresh vault reads everything.
        try vault.put(account: "alice", namespace: "ns", name: "after", value: Data("after".utf8),
                      dataClass: .confidential, ttlSeconds: nil)
        let reopened = try openVault(wrapper)
        for (name, value) in expected {
            XCTAssertEqual(try reopened.get(account: "alice", namespace: "ns", name: name), value, name)
        }
        XCTAssertEqual(try reopened.get(account: "alice", namespace: "ns", name: "after"), Data("after".utf8))
        // The data key changed, the KEK did not.
        XCTAssertEqual(wrapper.createdKeks.count, 1)

        let rotated = events(.vaultKeyRotated)
        XCTAssertEqual(rotated.map { $0.details["key"] }, ["dek", "dek", "dek"])
        XCTAssertEqual(rotated.map { $0.details["class"] }, ["confidential", "confidential", "restricted"])
        XCTAssertEqual(rotated.map { $0.details["version"] }, ["2", "3", "2"])
        XCTAssertTrue(rotated.allSatisfy { $0.severity == .info })

        assertVaultError("InvalidInput", try vault.rotateDek(account: "nobody", dataClass: .public), "no account")
    }

    func testRotateKekReplacesTheWrapperKey() throws {
        let wrapper = HandleKeyWrapper()
        let vault = try openVault(wrapper)
        let value = randomBytes(100)
        try vault.put(account: "alice", namespace: "ns", name: "secret", value: value, dataClass: .restricted,
                      ttlSeconds: nil)
        let oldAlias = try XCTUnwrap(wrapper.createdKeks.first)
        let oldKekId = wrapper.kekId(oldAlias)

        try vault.rotateKek(account: "alice")

        let created = wrapper.createdKeks
        XCTAssertEqual(created.count, 2, "\(created)")
        let newAlias = try XCTUnwrap(created.last)
        XCTAssertNotEqual(newAlias, oldAlias)
        XCTAssertTrue(newAlias.hasSuffix(".2"), newAlias)
        XCTAssertEqual(newAlias.dropLast(2), oldAlias.dropLast(2), "same account prefix")
        XCTAssertEqual(wrapper.deleted, [oldAlias])
        XCTAssertEqual(wrapper.kekAliases, [newAlias])
        XCTAssertEqual(wrapper.aliases, (wrapper.createdIdKeys + [newAlias]).sorted(), "the id key stays")
        XCTAssertNotNil(wrapper.kekId(newAlias))
        XCTAssertNotEqual(wrapper.kekId(newAlias), oldKekId)

        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "secret"), value)
        // Everything was re-wrapped: a fresh vault opens it with only the new key in the store.
        XCTAssertEqual(try openVault(wrapper).get(account: "alice", namespace: "ns", name: "secret"), value)

        let rotated = events(.vaultKeyRotated)
        XCTAssertEqual(rotated.count, 1)
        XCTAssertEqual(rotated.first?.details["key"], "kek")
        XCTAssertEqual(rotated.first?.details["old_kek_destroyed"], "true")

        assertVaultError("InvalidInput", try vault.rotateKek(account: "nobody"), "no account")
    }

    func testDeleteAccountShredsOnlyThatAccount() throws {
        let wrapper = HandleKeyWrapper()
        let vault = try openVault(wrapper)
        try vault.put(account: "alice", namespace: "ns", name: "a", value: Data("alice".utf8),
                      dataClass: .confidential, ttlSeconds: nil)
        let aliceAlias = try XCTUnwrap(wrapper.createdKeks.last)
        try vault.put(account: "bob", namespace: "ns", name: "b", value: Data("bob".utf8),
                      dataClass: .confidential, ttlSeconds: nil)
        let bobAlias = try XCTUnwrap(wrapper.createdKeks.last)
        XCTAssertNotEqual(aliceAlias, bobAlias)

        XCTAssertTrue(try vault.deleteAccount(account: "alice"))

        XCTAssertEqual(wrapper.deleted, [aliceAlias])
        XCTAssertEqual(wrapper.kekAliases, [bobAlias])
        XCTAssertNil(try vault.get(account: "alice", namespace: "ns", name: "a"))
        XCTAssertFalse(try vault.contains(account: "alice", namespace: "ns", name: "a"))
        XCTAssertEqual(try vault.list(account: "alice", namespace: "ns"), [])
        XCTAssertEqual(try vault.get(account: "bob", namespace: "ns", name: "b"), Data("bob".utf8))
        XCTAssertEqual(try openVault(wrapper).get(account: "bob", namespace: "ns", name: "b"), Data("bob".utf8))
        XCTAssertFalse(try vault.deleteAccount(account: "alice"), "deleted twice")

        let deleted = events(.vaultAccountDeleted)
        XCTAssertEqual(deleted.map { $0.details["mode"] }, ["delete"])
        XCTAssertEqual(deleted.first?.severity, .info)

        // The account can start again, under a new KEK.
        try vault.put(account: "alice", namespace: "ns", name: "a", value: Data("again".utf8),
                      dataClass: .confidential, ttlSeconds: nil)
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "a"), Data("again".utf8))
        XCTAssertEqual(wrapper.createdKeks.count, 3)
    }

    // MARK: Error mapping

    func testInvalidInput() throws {
        let wrapper = HandleKeyWrapper()
        let vault = try openVault(wrapper)
        let value = Data([1, 2, 3])
        assertVaultError("InvalidInput", try vault.put(account: "alice", namespace: "ns", name: "", value: value,
                                                       dataClass: .public, ttlSeconds: nil), "put, empty name")
        assertVaultError("InvalidInput", try vault.get(account: "alice", namespace: "ns", name: ""), "get, empty name")
        assertVaultError("InvalidInput", try vault.contains(account: "alice", namespace: "ns", name: ""),
                         "contains, empty name")
        assertVaultError("InvalidInput", try vault.delete(account: "alice", namespace: "ns", name: ""),
                         "delete, empty name")
        assertVaultError("InvalidInput", try vault.put(account: "", namespace: "ns", name: "x", value: value,
                                                       dataClass: .public, ttlSeconds: nil), "put, empty account")
        assertVaultError("InvalidInput", try vault.list(account: "", namespace: "ns"), "list, empty account")
        assertVaultError("InvalidInput", try vault.deleteAccount(account: ""), "deleteAccount, empty account")
        let long = String(repeating: "n", count: 1025)
        assertVaultError("InvalidInput", try vault.put(account: "alice", namespace: "ns", name: long, value: value,
                                                       dataClass: .public, ttlSeconds: nil), "put, 1025-byte name")
        // Bytes, not characters: 513 two-byte characters are too long.
        let longUtf8 = String(repeating: "é", count: 513)
        assertVaultError("InvalidInput", try vault.put(account: "alice", namespace: "ns", name: longUtf8,
                                                       value: value, dataClass: .public, ttlSeconds: nil),
                         "put, 1026-byte name")

        // Nothing was created, and the vault works afterwards.
        XCTAssertTrue(wrapper.created.isEmpty, "\(wrapper.created)")
        let longest = String(repeating: "n", count: 1024)
        try vault.put(account: "alice", namespace: "ns", name: longest, value: value, dataClass: .public,
                      ttlSeconds: nil)
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: longest), value)
    }

    func testKeyDeletedBehindTheVaultsBackIsKeyUnavailableUntilReset() throws {
        let wrapper = HandleKeyWrapper()
        let first = try openVault(wrapper)
        try first.put(account: "alice", namespace: "ns", name: "old", value: Data("old".utf8),
                      dataClass: .restricted, ttlSeconds: nil)
        try first.put(account: "bob", namespace: "ns", name: "b", value: Data("bob".utf8),
                      dataClass: .restricted, ttlSeconds: nil)
        let aliceAlias = try XCTUnwrap(wrapper.createdKeks.first)

        // The keystore loses alice's key (wiped, restored on another device).
        try wrapper.deleteKey(alias: aliceAlias)

        let vault = try openVault(wrapper)
        assertVaultError("KeyUnavailable", try vault.get(account: "alice", namespace: "ns", name: "old"), "get")
        assertVaultError("KeyUnavailable", try vault.put(account: "alice", namespace: "ns", name: "new",
                                                         value: Data([1]), dataClass: .public, ttlSeconds: nil), "put")
        assertVaultError("KeyUnavailable", try vault.list(account: "alice", namespace: "ns"), "list")
        // Other accounts are not affected.
        XCTAssertEqual(try vault.get(account: "bob", namespace: "ns", name: "b"), Data("bob".utf8))

        let unavailable = events(.vaultKeyUnavailable)
        XCTAssertGreaterThanOrEqual(unavailable.count, 1)
        XCTAssertTrue(unavailable.allSatisfy { $0.details["cause"] == "kek_missing" }, "\(unavailable)")
        XCTAssertTrue(unavailable.allSatisfy { $0.severity == .error }, "\(unavailable)")

        // resetAccount starts the account again: the old data is gone, new puts work.
        XCTAssertTrue(try vault.resetAccount(account: "alice"))
        XCTAssertEqual(events(.vaultAccountDeleted).map { $0.details["mode"] }, ["reset"])
        XCTAssertNil(try vault.get(account: "alice", namespace: "ns", name: "old"))
        try vault.put(account: "alice", namespace: "ns", name: "new", value: Data("new".utf8),
                      dataClass: .restricted, ttlSeconds: nil)
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "new"), Data("new".utf8))
        XCTAssertEqual(try vault.list(account: "alice", namespace: "ns"), ["new"])
        XCTAssertEqual(try openVault(wrapper).get(account: "alice", namespace: "ns", name: "new"),
                       Data("new".utf8))
        XCTAssertFalse(try vault.resetAccount(account: "nobody"))
    }

    func testKeyReplacedBehindTheVaultsBackIsWrongKek() throws {
        let wrapper = HandleKeyWrapper()
        try openVault(wrapper).put(account: "alice", namespace: "ns", name: "x", value: Data("x".utf8),
                                   dataClass: .internal, ttlSeconds: nil)
        let alias = try XCTUnwrap(wrapper.createdKeks.first)

        // A new key under the same alias (biometric re-enrolment): it opens none of the old handles.
        try wrapper.createKey(alias: alias)
        assertVaultError("KeyUnavailable", try openVault(wrapper).get(account: "alice", namespace: "ns", name: "x"),
                         "replaced key")

        // A wrapper that unwraps to random bytes: the canary shows it is the wrong key.
        let inner = HandleKeyWrapper()
        let garbling = FaultyKeyWrapper(inner: inner)
        try openVault(garbling, in: "garbling").put(account: "bob", namespace: "ns", name: "y", value: Data("y".utf8),
                                    dataClass: .internal, ttlSeconds: nil)
        garbling.fault = .randomUnwrap(count: 74)
        assertVaultError("KeyUnavailable", try openVault(garbling, in: "garbling").get(account: "bob", namespace: "ns", name: "y"),
                         "random unwrap")

        let causes = events(.vaultKeyUnavailable).map { $0.details["cause"] }
        XCTAssertEqual(causes, ["wrong_kek", "wrong_kek"])
    }

    func testRandomUnwrapOnFreshVaultIsIntegrity() throws {
        let inner = HandleKeyWrapper()
        let wrapper = FaultyKeyWrapper(inner: inner, fault: .randomUnwrap(count: 74))
        let vault = try openVault(wrapper)
        let value = Data("value".utf8)
        // Creating an account only wraps; reading uses the keys it just made.
        try vault.put(account: "alice", namespace: "ns", name: "x", value: value, dataClass: .confidential,
                      ttlSeconds: nil)
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "x"), value)

        // Rotating the KEK unwraps every key: 74 random bytes are not a key payload.
        assertVaultError("Integrity", try vault.rotateKek(account: "alice"), "rotateKek")
        var integrity = events(.vaultIntegrityFailure)
        XCTAssertEqual(integrity.map { $0.details["what"] }, ["wrapped_key"])
        XCTAssertEqual(integrity.first?.severity, .critical)

        // A fresh vault whose wrapper passes the canary but garbles the 74-byte key payloads.
        wrapper.fault = .randomUnwrapOfLength(count: 74)
        assertVaultError("Integrity", try openVault(wrapper).get(account: "alice", namespace: "ns", name: "x"),
                         "garbled keys")
        integrity = events(.vaultIntegrityFailure)
        XCTAssertEqual(integrity.map { $0.details["what"] }, ["wrapped_key", "wrapped_key"])
        XCTAssertTrue(events(.vaultKeyUnavailable).isEmpty)

        // Nothing was damaged: with the fault gone the value reads again.
        wrapper.fault = .none
        XCTAssertEqual(try openVault(wrapper).get(account: "alice", namespace: "ns", name: "x"), value)
    }

    func testKeyWrapperErrorsAreKeystoreOrUserAuthenticationRequired() throws {
        // UserAuthenticationRequired is its own case, not a keystore failure: the app prompts
        // the user and calls again.
        let thrown: [(KeyWrapperError, String, String)] = [
            (.Failed(reason: "hsm offline"), "Keystore", "hsm offline"),
            (.UserAuthenticationRequired, "UserAuthenticationRequired", "authenticate"),
        ]
        for (error, expected, fragment) in thrown {
            let wrapper = FaultyKeyWrapper(fault: .throwing(error))
            let vault = try openVault(wrapper, in: "fresh-\(expected)")
            let account = "fresh-\(error)"
            let mapped = assertVaultError(expected, try vault.put(account: account, namespace: "ns", name: "x",
                                                                       value: Data([1]), dataClass: .public,
                                                                       ttlSeconds: nil), "\(error)")
            XCTAssertTrue(mapped?.reason.contains(fragment) ?? false, "\(String(describing: mapped))")
            // Nothing half-made: with the keystore back, the account is created normally.
            wrapper.fault = .none
            try vault.put(account: account, namespace: "ns", name: "x", value: Data([1]), dataClass: .public,
                          ttlSeconds: nil)
            XCTAssertEqual(try vault.get(account: account, namespace: "ns", name: "x"), Data([1]))
        }

        // An existing account: loading its keys, and deleting it, fail with the keystore.
        let wrapper = FaultyKeyWrapper()
        try openVault(wrapper, in: "existing").put(account: "alice", namespace: "ns", name: "x", value: Data("x".utf8),
                                   dataClass: .restricted, ttlSeconds: nil)
        wrapper.fault = .throwing(KeyWrapperError.Failed(reason: "hsm offline"))
        let vault = try openVault(wrapper, in: "existing")
        let onLoad = assertVaultError("Keystore", try vault.get(account: "alice", namespace: "ns", name: "x"),
                                      "get")
        XCTAssertTrue(onLoad?.reason.contains("hsm offline") ?? false, "\(String(describing: onLoad))")
        assertVaultError("Keystore", try vault.deleteAccount(account: "alice"), "deleteAccount")
        XCTAssertTrue(events(.vaultKeyUnavailable).isEmpty, "a keystore failure is not a lost key")
        XCTAssertTrue(events(.vaultAccountDeleted).isEmpty)
        wrapper.fault = .none
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "x"), Data("x".utf8),
                       "deleteAccount deleted data although the keystore failed")
    }

    func testNonKeyWrapperSwiftErrorIsKeystore() throws {
        // Not a declared error: the generated code passes it to Rust as an unexpected error.
        let appError = AppKeystoreError(message: "keychain item 4711 locked")
        let wrapper = FaultyKeyWrapper(fault: .throwing(appError))
        let vault = try openVault(wrapper)
        let mapped = assertVaultError("Keystore", try vault.put(account: "alice", namespace: "ns", name: "x",
                                                                   value: Data([1]), dataClass: .public,
                                                                   ttlSeconds: nil), "put")
        // The app's message stays in the app: the reason is fixed text.
        XCTAssertFalse(mapped?.reason.contains(appError.message) ?? true, "\(String(describing: mapped))")

        // On an existing account too, and the vault recovers once the wrapper does.
        wrapper.fault = .none
        try vault.put(account: "alice", namespace: "ns", name: "x", value: Data([1]), dataClass: .public,
                      ttlSeconds: nil)
        wrapper.fault = .throwing(appError)
        let reopened = try openVault(wrapper)
        assertVaultError("Keystore", try reopened.get(account: "alice", namespace: "ns", name: "x"), "get")
        wrapper.fault = .none
        XCTAssertEqual(try reopened.get(account: "alice", namespace: "ns", name: "x"), Data([1]))
    }

    func testOpenVaultOnAFileIsStorage() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("not-a-directory")
        try Data("x".utf8).write(to: file)
        assertVaultError("Storage", try core.openVault(dir: file.path, wrapper: HandleKeyWrapper()), "file")
    }

    // MARK: Expiry

    func testTtlExpiresAndPurgeCountsIt() throws {
        let vault = try openVault(HandleKeyWrapper())
        try vault.put(account: "alice", namespace: "ns", name: "short", value: Data("s".utf8), dataClass: .internal,
                      ttlSeconds: 1)
        try vault.put(account: "alice", namespace: "ns", name: "long", value: Data("l".utf8), dataClass: .internal,
                      ttlSeconds: 3600)
        try vault.put(account: "alice", namespace: "ns", name: "forever", value: Data("f".utf8),
                      dataClass: .internal, ttlSeconds: nil)
        try vault.putBatch(account: "bob", items: [
            VaultItem(namespace: "ns", name: "short", value: Data("b".utf8), dataClass: .public, ttlSeconds: 1),
        ])
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "short"), Data("s".utf8))
        XCTAssertEqual(try vault.list(account: "alice", namespace: "ns"), ["forever", "long", "short"])

        Thread.sleep(forTimeInterval: 2.1)

        XCTAssertNil(try vault.get(account: "alice", namespace: "ns", name: "short"))
        XCTAssertFalse(try vault.contains(account: "alice", namespace: "ns", name: "short"))
        XCTAssertNil(try vault.get(account: "bob", namespace: "ns", name: "short"))
        XCTAssertEqual(try vault.list(account: "alice", namespace: "ns"), ["forever", "long"])
        XCTAssertEqual(try vault.purgeExpired(), 2)
        XCTAssertEqual(try vault.purgeExpired(), 0)
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "long"), Data("l".utf8))
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "forever"), Data("f".utf8))
    }

    // MARK: Threads

    func testConcurrentUseFromManyThreads() throws {
        let wrapper = HandleKeyWrapper()
        let vault = try openVault(wrapper)
        let threads = 8
        let perThread = 20
        let errors = Locked<[String]>([])

        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let account = "account-\(t % 2)"
            let namespace = "thread-\(t)"
            do {
                for i in 0..<perThread {
                    let name = "item-\(i)"
                    let value = Data("\(t)/\(i)".utf8) + randomBytes(i)
                    try vault.put(account: account, namespace: namespace, name: name, value: value,
                                  dataClass: Self.classes[i % Self.classes.count], ttlSeconds: nil)
                    let read = try vault.get(account: account, namespace: namespace, name: name)
                    if read != value { errors.with { $0.append("\(namespace)/\(name): read back \(String(describing: read))") } }
                }
                let listed = try vault.list(account: account, namespace: namespace)
                if listed.count != perThread { errors.with { $0.append("\(namespace): listed \(listed.count)") } }
            } catch {
                errors.with { $0.append("\(namespace): \(error)") }
            }
        }

        XCTAssertEqual(errors.get, [])
        // One KEK per account and one id key, however many threads raced to create them.
        XCTAssertEqual(wrapper.createdKeks.count, 2, "\(wrapper.created)")
        XCTAssertEqual(wrapper.createdIdKeys.count, 1, "\(wrapper.created)")
        let reopened = try openVault(wrapper)
        for t in 0..<threads {
            XCTAssertEqual(try reopened.list(account: "account-\(t % 2)", namespace: "thread-\(t)").count, perThread)
        }
    }

    // MARK: Rollback anchors

    func testRollbackAnchorStoreRefusesARestoredCopyOfTheWholeVault() throws {
        let wrapper = HandleKeyWrapper()
        let anchors = MemoryAnchorStore()
        let database = dir.appendingPathComponent("vault.sqlite3")
        do {
            let vault = try core.openVault(dir: dir.path, wrapper: wrapper, anchors: anchors)
            try vault.put(account: "alice", namespace: "wallet", name: "balance", value: Data("1000".utf8),
                          dataClass: .confidential, ttlSeconds: nil)
        }
        let backup = try Data(contentsOf: database)
        do {
            let vault = try core.openVault(dir: dir.path, wrapper: wrapper, anchors: anchors)
            try vault.put(account: "alice", namespace: "wallet", name: "balance", value: Data("0".utf8),
                          dataClass: .confidential, ttlSeconds: nil)
        }
        let names = anchors.names
        XCTAssertEqual(names.count, 1, "one anchor per account: \(names)")
        XCTAssertTrue(names.allSatisfy { $0.hasPrefix("rukasec.anchor.v2.") }, "\(names)")

        // The app's files restored from a backup; the anchor lives outside them.
        for suffix in ["-wal", "-shm"] {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("vault.sqlite3\(suffix)"))
        }
        try backup.write(to: database)
        let restored = try core.openVault(dir: dir.path, wrapper: wrapper, anchors: anchors)
        assertVaultError("Integrity", try restored.get(account: "alice", namespace: "wallet", name: "balance"),
                         "restored backup")
        XCTAssertEqual(events(.vaultIntegrityFailure).map { $0.details["what"] }, ["rollback"])

        // Resetting the account through the vault deletes its anchor too.
        XCTAssertTrue(try restored.resetAccount(account: "alice"))
        XCTAssertTrue(anchors.names.isEmpty, "\(anchors.names)")
    }

    func testRollbackAnchorStoreErrorsAreKeystoreOnReadAndAnEventOnWrite() throws {
        let wrapper = HandleKeyWrapper()
        let anchors = MemoryAnchorStore()
        try core.openVault(dir: dir.path, wrapper: wrapper, anchors: anchors)
            .put(account: "alice", namespace: "ns", name: "x", value: Data([1]), dataClass: .public, ttlSeconds: nil)

        anchors.failLoad.with { $0 = true }
        let error = assertVaultError("Keystore", try core.openVault(dir: dir.path, wrapper: wrapper, anchors: anchors)
            .get(account: "alice", namespace: "ns", name: "x"), "load fails")
        XCTAssertTrue(error?.reason.contains("anchor store offline") ?? false, "\(String(describing: error))")

        // Storing fails: the write stands, and an event says the anchor is behind.
        anchors.failLoad.with { $0 = false }
        anchors.failStore.with { $0 = true }
        let vault = try core.openVault(dir: dir.path, wrapper: wrapper, anchors: anchors)
        try vault.put(account: "alice", namespace: "ns", name: "x", value: Data([2]), dataClass: .public, ttlSeconds: nil)
        XCTAssertEqual(try vault.get(account: "alice", namespace: "ns", name: "x"), Data([2]))
        XCTAssertTrue(events(.vaultKeyUnavailable).contains { $0.details["cause"] == "anchor_not_stored" })
    }
}

/// A `RollbackAnchorStore` in memory (an app keeps it in the Keychain, `ThisDeviceOnly`).
final class MemoryAnchorStore: RollbackAnchorStore, @unchecked Sendable {
    private let values = Locked<[String: Int64]>([:])
    let failLoad = Locked(false)
    let failStore = Locked(false)

    var names: [String] { values.get.keys.sorted() }

    func load(name: String) throws -> Int64? {
        if failLoad.get { throw thrownIntoRust(KeyWrapperError.Failed(reason: "anchor store offline")) }
        return values.get[name]
    }

    func store(name: String, value: Int64) throws {
        if failStore.get { throw thrownIntoRust(KeyWrapperError.Failed(reason: "anchor store offline")) }
        values.with { $0[name] = value }
    }

    func delete(name: String) throws {
        values.with { $0[name] = nil }
    }
}
