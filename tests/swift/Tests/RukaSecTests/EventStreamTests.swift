// Security monitoring through the generated Swift: `EventSubscription` (async `next`,
// `tryNext`, `missed`, `unsubscribe`) and the `AsyncStream` adapter of docs/INTEGRATION.md with
// several consumers, `Vault.eventJournal` with `JournalEntry`, and
// `RukaSec.enableAnomalyDetection` with `AnomalyRules` and `AnomalyDetector`. The rules and the
// journal's bounds are tested in Rust.

import Foundation
import XCTest

import RukaSec

/// RukaSec's events as an `AsyncStream` (the adapter docs/INTEGRATION.md gives apps).
func eventStream(_ core: RukaSec, capacity: Int32 = 256) throws -> AsyncStream<SecurityEvent> {
    let subscription = try core.subscribeEvents(capacity: capacity)
    return AsyncStream { continuation in
        let task = Task {
            while let event = (try? await subscription.next()) ?? nil { continuation.yield(event) }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            try? subscription.unsubscribe()
            task.cancel()
        }
    }
}

final class EventStreamTests: XCTestCase {
    private var dir: URL!
    private var core: RukaSec!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-events-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        core = try RukaSec(listener: nil)
        // The construction's selfTestPassed is delivered before any test subscribes.
        XCTAssertTrue(try core.flushEvents(timeoutMs: 10_000))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private static func first(_ n: Int, of stream: AsyncStream<SecurityEvent>) async -> [SecurityEventKind] {
        var kinds: [SecurityEventKind] = []
        for await event in stream {
            kinds.append(event.kind)
            if kinds.count == n { break }
        }
        return kinds
    }

    func testTwoStreamsEachGetEveryLaterEvent() async throws {
        let one = try eventStream(core)
        let two = try eventStream(core)
        for _ in 0..<3 { _ = try core.selfTest() }
        let kinds = try await withTimeout {
            async let a = EventStreamTests.first(3, of: one)
            async let b = EventStreamTests.first(3, of: two)
            return await [a, b]
        }
        XCTAssertEqual(kinds, [Array(repeating: .selfTestPassed, count: 3), Array(repeating: .selfTestPassed, count: 3)])
    }

    func testASubscriptionQueuesCountsWhatItLostAndEndsWhenUnsubscribed() async throws {
        let subscription = try core.subscribeEvents(capacity: 2)
        for _ in 0..<5 { _ = try core.selfTest() }
        XCTAssertTrue(try core.flushEvents(timeoutMs: 10_000))
        XCTAssertEqual(try subscription.missed(), 3)
        XCTAssertEqual(try subscription.tryNext()?.kind, .selfTestPassed)
        XCTAssertEqual(try subscription.tryNext()?.kind, .selfTestPassed)
        XCTAssertNil(try subscription.tryNext())
        let waiting = Task { try await subscription.next() }
        try await Task.sleep(nanoseconds: 50_000_000)
        XCTAssertFalse(try subscription.isClosed())
        try subscription.unsubscribe()
        let ended = try await withTimeout { try await waiting.value }
        XCTAssertNil(ended)
        XCTAssertTrue(try subscription.isClosed())
        assertInvalidInput(try core.subscribeEvents(capacity: -1), "a negative capacity")
    }

    func testTheVaultsJournalKeepsEventsUntilAcknowledged() throws {
        let vault = try core.openVault(dir: dir.path, wrapper: HandleKeyWrapper())
        let journal = try vault.eventJournal(capacity: 3)
        for _ in 0..<5 { _ = try core.selfTest() }
        XCTAssertTrue(try core.flushEvents(timeoutMs: 10_000))
        let entries = try journal.entries()
        XCTAssertEqual(entries.map(\.seq), [2, 3, 4])
        XCTAssertTrue(entries.allSatisfy { $0.event.kind == .selfTestPassed && $0.event.severity == .info })
        XCTAssertEqual(try journal.acknowledge(seq: 3), 2)
        XCTAssertEqual(try journal.entries().map(\.seq), [4])
        XCTAssertEqual(try journal.skipped(), 0)
        assertVaultError("InvalidInput", try journal.acknowledge(seq: -1))
        // The same journal again: nothing is recorded twice.
        let again = try vault.eventJournal(capacity: 100)
        _ = try core.selfTest()
        XCTAssertTrue(try core.flushEvents(timeoutMs: 10_000))
        XCTAssertEqual(try again.entries().map(\.seq), [4, 5])
        assertVaultError("InvalidInput", try vault.eventJournal(capacity: -5))
    }

    func testFailedUnlocksInABurstRaiseAnAlertAndBadRulesAreRefused() async throws {
        assertInvalidInput(try core.enableAnomalyDetection(rules: AnomalyRules(authFailureLimit: 0)), "a zero limit")
        let detector = try core.enableAnomalyDetection(rules: AnomalyRules(authFailureLimit: 2))
        try detector.recordRequest()
        let vault = try core.openVault(dir: dir.path, wrapper: HandleKeyWrapper())
        let gate = try vault.enableUnlock(policy: UnlockPolicy(), authenticator: ScriptedAuthenticator(fallback: .failed))
        let subscription = try core.subscribeEvents(capacity: 64)
        for _ in 0..<2 {
            await assertVaultErrorAsync("AuthenticationFailed") {
                try await gate.unlock(dataClass: .confidential, account: nil, reason: "Open")
            }
        }
        let alert = try await withTimeout { () async throws -> SecurityEvent? in
            while let event = try await subscription.next() {
                if event.kind == .authenticationFailureBurst { return event }
            }
            return nil
        }
        XCTAssertEqual(alert?.severity, .critical)
        XCTAssertEqual(alert?.details["failures"], "2")
    }
}
