// Unlocking through the generated Swift: a Swift `Authenticator` (an `async` method, as an
// LAContext wrapper is written) answering from a script, the `UnlockPolicy` record, the
// `UnlockGate` object, and each `VaultError` case of unlocking. The policy itself is tested
// in Rust.

import Foundation
import XCTest

import RukaSec

/// Answers each prompt with the next outcome (then `fallback`), after `hold` opens.
final class ScriptedAuthenticator: Authenticator, @unchecked Sendable {
    private let lock = NSLock()
    private var script: [AuthOutcome]
    private let fallback: AuthOutcome
    private var held: Bool
    private var seen: [AuthRequest] = []

    init(_ script: [AuthOutcome] = [], fallback: AuthOutcome = .cancelled, held: Bool = false) {
        self.script = script
        self.fallback = fallback
        self.held = held
    }

    var requests: [AuthRequest] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }

    func release() {
        lock.lock()
        held = false
        lock.unlock()
    }

    private func isHeld() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return held
    }

    private func next(_ request: AuthRequest) -> AuthOutcome {
        lock.lock()
        defer { lock.unlock() }
        seen.append(request)
        return script.isEmpty ? fallback : script.removeFirst()
    }

    func authenticate(request: AuthRequest) async throws -> AuthOutcome {
        let outcome = next(request)
        while isHeld() {
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return outcome
    }
}

/// Throws from the prompt, as a buggy app's wrapper might.
final class ThrowingAuthenticator: Authenticator, @unchecked Sendable {
    func authenticate(request: AuthRequest) async throws -> AuthOutcome {
        throw AppListenerError(message: "prompt bug 4111")
    }
}

/// Asserts that `operation` throws the `VaultError` case `expected`; returns the error.
@discardableResult
func assertVaultErrorAsync(
    _ expected: String,
    file: StaticString = #filePath,
    line: UInt = #line,
    function: String = #function,
    _ operation: @escaping @Sendable () async throws -> Void
) async -> VaultError? {
    do {
        try await withTimeout { try await operation() }
        XCTFail("expected VaultError.\(expected), got no error", file: file, line: line)
    } catch {
        reached(error, file: file, function: function)
        guard let error = error as? VaultError, error.caseName == expected else {
            XCTFail("expected VaultError.\(expected), got \(type(of: error)): \(error)", file: file, line: line)
            return nil
        }
        return error
    }
    return nil
}

final class UnlockTests: XCTestCase {
    private let alice = "alice"
    private let strong = AuthOutcome.success(method: .strongBiometric)
    private var dir: URL!
    private var core: RukaSec!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-unlock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        core = try RukaSec(listener: nil)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func vault(_ wrapper: KeyWrapper = HandleKeyWrapper()) throws -> Vault {
        try core.openVault(dir: dir.path, wrapper: wrapper)
    }

    func testARestrictedItemNeedsAPromptThatOnlyTheAsyncReadShows() async throws {
        let authenticator = ScriptedAuthenticator(fallback: strong)
        let vault = try vault()
        let gate = try vault.enableUnlock(policy: UnlockPolicy(), authenticator: authenticator)
        try vault.put(account: alice, namespace: "wallet", name: "token", value: Data([7]), dataClass: .restricted, ttlSeconds: nil)
        XCTAssertFalse(try gate.isUnlocked(dataClass: .restricted))
        assertVaultError("UserAuthenticationRequired", try vault.get(account: alice, namespace: "wallet", name: "token"))
        XCTAssertTrue(authenticator.requests.isEmpty)

        let account = alice
        let value = try await withTimeout { try await vault.getAsync(account: account, namespace: "wallet", name: "token") }
        XCTAssertEqual(value, Data([7]))
        let request = try XCTUnwrap(authenticator.requests.first)
        XCTAssertEqual(authenticator.requests.count, 1)
        XCTAssertEqual(request.dataClass, .restricted)
        XCTAssertEqual(request.account, alice)
        XCTAssertEqual(request.allowed, [.strongBiometric])
        XCTAssertEqual(try vault.get(account: alice, namespace: "wallet", name: "token"), Data([7]))
        try gate.lock()
        assertVaultError("UserAuthenticationRequired", try vault.get(account: alice, namespace: "wallet", name: "token"))
    }

    func testCancelFailuresAndALockoutThatAReopenedVaultKeeps() async throws {
        let authenticator = ScriptedAuthenticator([.cancelled] + Array(repeating: AuthOutcome.failed, count: 5), fallback: strong)
        let wrapper = HandleKeyWrapper()
        do {
            let vault = try vault(wrapper)
            let gate = try vault.enableUnlock(policy: UnlockPolicy(), authenticator: authenticator)
            try vault.put(account: alice, namespace: "ns", name: "secret", value: Data([1]), dataClass: .confidential, ttlSeconds: nil)
            let account = alice
            await assertVaultErrorAsync("UserCancelled") { _ = try await vault.getAsync(account: account, namespace: "ns", name: "secret") }
            for left in stride(from: Int32(4), through: 1, by: -1) {
                let error = await assertVaultErrorAsync("AuthenticationFailed") {
                    try await gate.unlock(dataClass: .confidential, account: account, reason: "Show history")
                }
                guard case let .AuthenticationFailed(_, remaining)? = error else { return XCTFail("\(String(describing: error))") }
                XCTAssertEqual(remaining, left)
            }
            let error = await assertVaultErrorAsync("LockedOut") { _ = try await vault.getAsync(account: account, namespace: "ns", name: "secret") }
            guard case let .LockedOut(_, until)? = error else { return XCTFail("\(String(describing: error))") }
            XCTAssertGreaterThan(until, Int64(Date().timeIntervalSince1970 * 1000))
            XCTAssertEqual(try gate.lockedOutUntilMs(), until)
        }
        // A restarted app: still locked out, and nothing prompts.
        let later = ScriptedAuthenticator(fallback: strong)
        let vault = try vault(wrapper)
        _ = try vault.enableUnlock(policy: UnlockPolicy(), authenticator: later)
        let account = alice
        await assertVaultErrorAsync("LockedOut") { _ = try await vault.getAsync(account: account, namespace: "ns", name: "secret") }
        XCTAssertTrue(later.requests.isEmpty)
    }

    func testConcurrentAsyncReadsShareOnePromptAndItsCancellation() async throws {
        let authenticator = ScriptedAuthenticator(fallback: .cancelled, held: true)
        let vault = try vault()
        _ = try vault.enableUnlock(policy: UnlockPolicy(), authenticator: authenticator)
        for i in 0..<5 {
            try vault.put(account: alice, namespace: "ns", name: "item\(i)", value: Data([UInt8(i)]), dataClass: .confidential, ttlSeconds: nil)
        }
        let account = alice
        let names = try await withTimeout {
            try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<5 {
                    group.addTask {
                        do {
                            _ = try await vault.getAsync(account: account, namespace: "ns", name: "item\(i)")
                            return "no error"
                        } catch let error as VaultError {
                            reached(error)
                            return error.caseName
                        }
                    }
                }
                while authenticator.requests.isEmpty { try await Task.sleep(nanoseconds: 5_000_000) }
                try await Task.sleep(nanoseconds: 100_000_000) // every read has joined the prompt
                authenticator.release()
                var names: [String] = []
                for try await name in group { names.append(name) }
                return names
            }
        }
        XCTAssertEqual(names, Array(repeating: "UserCancelled", count: 5))
        XCTAssertEqual(authenticator.requests.count, 1)
    }

    func testBackgroundLockingInvalidatedKeysAndUnusablePolicies() async throws {
        let authenticator = ScriptedAuthenticator([.success(method: .deviceCredential), .keyInvalidated], fallback: .unavailable)
        let vault = try vault()
        assertVaultError("InvalidInput", try vault.enableUnlock(policy: UnlockPolicy(maxFailures: 0), authenticator: authenticator))
        let gate = try vault.enableUnlock(policy: UnlockPolicy(), authenticator: authenticator)
        assertVaultError("InvalidInput", try vault.enableUnlock(policy: UnlockPolicy(), authenticator: authenticator))
        try await withTimeout { try await gate.unlock(dataClass: .confidential, account: nil, reason: "Open") }
        XCTAssertTrue(try gate.isUnlocked(dataClass: .confidential))
        try gate.onAppBackground()
        XCTAssertFalse(try gate.isUnlocked(dataClass: .confidential))
        XCTAssertTrue(try gate.isUnlocked(dataClass: .internal))
        let account = alice
        await assertVaultErrorAsync("KeyInvalidated") { try await gate.unlock(dataClass: .restricted, account: account, reason: "Pay") }
        await assertVaultErrorAsync("UserAuthenticationRequired") { try await gate.unlock(dataClass: .restricted, account: account, reason: "Pay") }
    }

    func testAnAuthenticatorThatThrowsCountsAsUnavailable() async throws {
        let vault = try vault()
        let gate = try vault.enableUnlock(policy: UnlockPolicy(), authenticator: ThrowingAuthenticator())
        let error = await assertVaultErrorAsync("UserAuthenticationRequired") {
            try await gate.unlock(dataClass: .confidential, account: nil, reason: "Open")
        }
        XCTAssertFalse(error?.reason.contains("4111") ?? true)
    }

    func testADeviceKeyInAGatedVaultNeedsTheRestrictedUnlockFirst() async throws {
        let authenticator = ScriptedAuthenticator(fallback: strong)
        let vault = try vault()
        _ = try DeviceKey.loadOrCreate(vault: vault, account: alice) // created before the gate
        let gate = try vault.enableUnlock(policy: UnlockPolicy(), authenticator: authenticator)
        assertSignatureError("UserAuthenticationRequired", try DeviceKey.loadOrCreate(vault: vault, account: alice))
        let account = alice
        try await withTimeout { try await gate.unlock(dataClass: .restricted, account: account, reason: "Sign in") }
        XCTAssertFalse(try DeviceKey.loadOrCreate(vault: vault, account: alice).publicKey().spkiDer.isEmpty)
        XCTAssertEqual(authenticator.requests.count, 1)
    }

    func testAKeystoreKeyThePlatformInvalidatedIsKeyInvalidated() throws {
        let wrapper = FaultyKeyWrapper(fault: .throwing(KeyWrapperError.KeyInvalidated))
        let vault = try vault(wrapper)
        assertVaultError("KeyInvalidated", try vault.put(account: alice, namespace: "ns", name: "v", value: Data([1]),
                                                         dataClass: .restricted, ttlSeconds: nil))
    }
}
