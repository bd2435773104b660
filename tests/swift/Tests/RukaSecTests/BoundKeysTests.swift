// Restricted data keys bound to user authentication in the keystore, through the generated
// Swift: a Swift `AuthBoundKeyWrapper` (an `async` unwrap, as a Secure Enclave key with
// `.biometryCurrentSet` is opened with an `LAContext`) answering from a script,
// `KeyAuthRequirement`, `PromptedUnwrap`, `Vault.enableUnlockWithBoundKeys`, `hasBoundKey`,
// `unlockBound` and `getAsync` on a bound account. The vault's rules for bound keys are tested
// in Rust (core/tests/bound_keys.rs).

import Foundation
import XCTest

import RukaSec

/// A keystore (handles in memory) whose every unwrap first "prompts": the next scripted outcome.
final class ScriptedBoundWrapper: AuthBoundKeyWrapper, @unchecked Sendable {
    private let inner = HandleKeyWrapper()
    private let lock = NSLock()
    private var script: [AuthOutcome]
    private let invalidated: Bool
    private(set) var requirements: [KeyAuthRequirement] = []
    private(set) var prompts: [AuthRequest] = []

    init(_ script: [AuthOutcome], invalidated: Bool = false) {
        self.script = script
        self.invalidated = invalidated
    }

    func createKey(alias: String, requirement: KeyAuthRequirement) throws {
        lock.lock()
        requirements.append(requirement)
        lock.unlock()
        try inner.createKey(alias: alias)
    }

    func wrap(alias: String, key: Data) throws -> Data {
        try inner.wrap(alias: alias, key: key)
    }

    private func next(_ request: AuthRequest) -> AuthOutcome {
        lock.lock()
        defer { lock.unlock() }
        prompts.append(request)
        return script.isEmpty ? .cancelled : script.removeFirst()
    }

    func unwrap(alias: String, wrapped: Data, request: AuthRequest) async throws -> PromptedUnwrap {
        let outcome = next(request)
        if invalidated { throw thrownIntoRust(KeyWrapperError.KeyInvalidated) }
        if case let .success(method) = outcome {
            return .unwrapped(method: method, key: try inner.unwrap(alias: alias, wrapped: wrapped))
        }
        return .refused(outcome: outcome)
    }

    func deleteKey(alias: String) throws {
        try inner.deleteKey(alias: alias)
    }
}

final class BoundKeysTests: XCTestCase {
    private let alice = "alice"
    private let strong = AuthOutcome.success(method: .strongBiometric)
    private var dir: URL!
    private var core: RukaSec!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-bound-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        core = try RukaSec(listener: nil)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func vault(_ name: String) throws -> Vault {
        try core.openVault(dir: dir.appendingPathComponent(name).path, wrapper: HandleKeyWrapper())
    }

    func testABoundRestrictedItemOpensOnlyThroughTheKeystoresOwnPrompt() async throws {
        let bound = ScriptedBoundWrapper([strong, strong])
        let authenticator = ScriptedAuthenticator(fallback: strong)
        let vault = try vault("a")
        let gate = try vault.enableUnlockWithBoundKeys(policy: UnlockPolicy(), authenticator: authenticator, boundWrapper: bound)
        try vault.put(account: alice, namespace: "wallet", name: "pin", value: Data([4, 2]), dataClass: .restricted, ttlSeconds: nil)
        XCTAssertTrue(try vault.hasBoundKey(account: alice))
        XCTAssertFalse(try vault.hasBoundKey(account: "nobody"))
        XCTAssertEqual(bound.requirements, [KeyAuthRequirement(methods: [.strongBiometric], validitySeconds: 10)])

        // An ordinary prompt opens the gate, not the keystore key.
        let account = alice
        try await withTimeout { try await gate.unlock(dataClass: .restricted, account: account, reason: "Show the PIN") }
        assertVaultError("UserAuthenticationRequired", try vault.get(account: alice, namespace: "wallet", name: "pin"))

        let value = try await withTimeout { try await vault.getAsync(account: account, namespace: "wallet", name: "pin") }
        XCTAssertEqual(value, Data([4, 2]))
        XCTAssertEqual(bound.prompts.count, 1)
        XCTAssertEqual(bound.prompts.first?.dataClass, .restricted)
        XCTAssertEqual(bound.prompts.first?.account, alice)

        try gate.lock()
        assertVaultError("UserAuthenticationRequired", try vault.get(account: alice, namespace: "wallet", name: "pin"))
        try await withTimeout { try await vault.unlockBound(account: account, reason: "Show the PIN") }
        XCTAssertEqual(try vault.get(account: alice, namespace: "wallet", name: "pin"), Data([4, 2]))
        XCTAssertEqual(bound.prompts.count, 2)
        assertVaultError("InvalidInput", try vault.enableUnlockWithBoundKeys(policy: UnlockPolicy(), authenticator: authenticator, boundWrapper: bound))
    }

    func testACancelledPromptAnInvalidatedKeyAndAnUnboundAccountAreTypedErrors() async throws {
        let account = alice
        let first = try vault("a")
        _ = try first.enableUnlockWithBoundKeys(policy: UnlockPolicy(), authenticator: ScriptedAuthenticator(), boundWrapper: ScriptedBoundWrapper([.cancelled]))
        try first.put(account: alice, namespace: "wallet", name: "pin", value: Data([1]), dataClass: .restricted, ttlSeconds: nil)
        await assertVaultErrorAsync("UserCancelled") { _ = try await first.getAsync(account: account, namespace: "wallet", name: "pin") }
        await assertVaultErrorAsync("InvalidInput") { try await first.unlockBound(account: "nobody", reason: "Open") }

        let second = try vault("b")
        _ = try second.enableUnlockWithBoundKeys(policy: UnlockPolicy(), authenticator: ScriptedAuthenticator(),
                                                 boundWrapper: ScriptedBoundWrapper([], invalidated: true))
        try second.put(account: alice, namespace: "wallet", name: "pin", value: Data([1]), dataClass: .restricted, ttlSeconds: nil)
        await assertVaultErrorAsync("KeyInvalidated") { try await second.unlockBound(account: account, reason: "Open") }
    }

    func testPromptedUnwrapDoesNotPrintTheKey() {
        let printed = "\(PromptedUnwrap.unwrapped(method: .strongBiometric, key: Data("canary-key-4111".utf8)))"
        XCTAssertFalse(printed.contains("canary"), printed)
    }
}
