// The vault's `async` forms from Swift: the keystore and SQLite run on a Rust worker thread, not
// on the thread of the task that awaits them, and they return and throw what the blocking forms
// do.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import RukaSec

/// A keystore whose `wrap` records the thread it runs on (and otherwise is `HandleKeyWrapper`).
final class ThreadRecordingKeyWrapper: KeyWrapper, @unchecked Sendable {
    private let inner = HandleKeyWrapper()
    private let lock = NSLock()
    private var wrapThreads: [pthread_t] = []
    var recording = false

    var threads: [pthread_t] { lock.lock(); defer { lock.unlock() }; return wrapThreads }

    func createKey(alias: String) throws { try inner.createKey(alias: alias) }
    func wrap(alias: String, key: Data) throws -> Data {
        if recording { lock.lock(); wrapThreads.append(pthread_self()); lock.unlock() }
        return try inner.wrap(alias: alias, key: key)
    }
    func unwrap(alias: String, wrapped: Data) throws -> Data { try inner.unwrap(alias: alias, wrapped: wrapped) }
    func deleteKey(alias: String) throws { try inner.deleteKey(alias: alias) }
    func isHardwareBacked() throws -> Bool { false }
}

final class VaultAsyncTests: XCTestCase {
    let account = "async@example.test"
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-vault-async-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testAsyncFormsRunTheKeystoreOffTheCallersThread() async throws {
        let core = try RukaSec(listener: nil)
        let wrapper = ThreadRecordingKeyWrapper()
        let vault = try core.openVault(dir: dir.path, wrapper: wrapper)
        wrapper.recording = true
        // The call into Rust starts on this thread; the blocking form would run the keystore on it.
        let caller = pthread_self()
        try await vault.putAsync(account: account, namespace: "tokens", name: "refresh", value: Data("r1".utf8),
                                 dataClass: .restricted, ttlSeconds: nil)
        wrapper.recording = false
        XCTAssertFalse(wrapper.threads.isEmpty, "the keystore was not called")
        XCTAssertFalse(wrapper.threads.contains { pthread_equal($0, caller) != 0 }, "the keystore ran on the caller's thread")

        // The blocking form, for contrast, runs it right here: the check above can fail.
        wrapper.recording = true
        let here = pthread_self()
        try vault.put(account: "other@example.test", namespace: "tokens", name: "x", value: Data("1".utf8),
                      dataClass: .restricted, ttlSeconds: nil)
        wrapper.recording = false
        XCTAssertTrue(wrapper.threads.contains { pthread_equal($0, here) != 0 })
    }

    func testEveryAsyncFormReturnsWhatTheBlockingFormDoes() async throws {
        let core = try RukaSec(listener: nil)
        let vault = try core.openVault(dir: dir.path, wrapper: HandleKeyWrapper())
        try await vault.putAsync(account: account, namespace: "ns", name: "a", value: Data([1, 2, 3]),
                                 dataClass: .confidential, ttlSeconds: nil)
        try await vault.putBatchAsync(account: account, items: [
            VaultItem(namespace: "ns", name: "b", value: Data([4]), dataClass: .internal, ttlSeconds: nil),
        ])
        let a = try await vault.getAsync(account: account, namespace: "ns", name: "a")
        XCTAssertEqual(a, Data([1, 2, 3]))
        let missing = try await vault.getAsync(account: account, namespace: "ns", name: "missing")
        XCTAssertNil(missing)
        let containsB = try await vault.containsAsync(account: account, namespace: "ns", name: "b")
        XCTAssertTrue(containsB)
        let names = try await vault.listAsync(account: account, namespace: "ns")
        XCTAssertEqual(names, ["a", "b"])
        try await vault.rotateKekAsync(account: account)
        let report = try await vault.rotateDekAsync(account: account, dataClass: .confidential)
        XCTAssertTrue(report.complete)
        let deleted = try await vault.deleteAsync(account: account, namespace: "ns", name: "a")
        XCTAssertTrue(deleted)
        let purged = try await vault.purgeExpiredAsync()
        XCTAssertEqual(purged, 0)
        let reset = try await vault.resetAccountAsync(account: account)
        XCTAssertTrue(reset)
        try await vault.putAsync(account: account, namespace: "ns", name: "c", value: Data([5]),
                                 dataClass: .public, ttlSeconds: nil)
        let existed = try await vault.deleteAccountAsync(account: account)
        XCTAssertTrue(existed)
        let has = try await vault.hasAccountAsync(account: account)
        XCTAssertFalse(has)
        do {
            _ = try await vault.getAsync(account: account, namespace: "ns", name: "")
            XCTFail("an empty name was accepted")
        } catch let error as VaultError {
            reached(error)
            guard case .InvalidInput = error else { return XCTFail("\(error)") }
        }
        // Numbers are signed at the boundary (Java can call them); a negative one is refused.
        do {
            try await vault.putAsync(account: account, namespace: "ns", name: "n", value: Data([1]),
                                     dataClass: .public, ttlSeconds: -1)
            XCTFail("a negative ttl was accepted")
        } catch let error as VaultError {
            reached(error)
            guard case let .InvalidInput(reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reason, "ttlSeconds must not be negative")
        }
    }
}
