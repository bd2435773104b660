// Callbacks: a SecurityEventListener implemented in Swift, called from Rust's event thread.

import Foundation
import XCTest

import RukaSec

final class ListenerTests: XCTestCase {
    func testConstructorEventArrivesOnARustThread() throws {
        let caller = ThreadId.current
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)

        XCTAssertTrue(listener.waitForEvents(1), "no event within \(waitSeconds) s")
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        let events = listener.events
        XCTAssertEqual(events.count, 1)
        guard let event = events.first, let thread = listener.threads.first else { return }
        XCTAssertEqual(event.kind, .selfTestPassed)
        XCTAssertEqual(event.severity, .info)
        XCTAssertEqual(event.details["tests"], String(katCount))
        XCTAssertGreaterThan(event.timestampMs, 0)
        XCTAssertFalse(thread.isSame(as: caller), "event delivered on the caller's thread \(caller)")
        XCTAssertEqual(try core.eventStats(), EventStats(emitted: 1, delivered: 1, dropped: 0, listenerFailures: 0))

        _ = try core.selfTest()
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        XCTAssertEqual(listener.events.count, 2)
        XCTAssertEqual(listener.events.last?.kind, .selfTestPassed)
        XCTAssertEqual(try core.eventStats(), EventStats(emitted: 2, delivered: 2, dropped: 0, listenerFailures: 0))
    }

    func testConcurrentSelfTestsDeliverEveryEvent() throws {
        let calls = 16
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)
        let errors = Locked<[Error]>([])
        let callers = Locked<[ThreadId]>([])

        DispatchQueue.concurrentPerform(iterations: calls) { _ in
            callers.with { $0.append(ThreadId.current) }
            do {
                let report = try core.selfTest()
                if !report.passed { throw AppListenerError(message: "self-test failed: \(report)") }
            } catch {
                errors.with { $0.append(error) }
            }
        }

        XCTAssertTrue(errors.get.isEmpty, "\(errors.get)")
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs), "events not flushed within \(waitSeconds) s")
        let expected = Int64(calls + 1) // + the constructor's event
        XCTAssertEqual(try core.eventStats(),
                       EventStats(emitted: expected, delivered: expected, dropped: 0, listenerFailures: 0))
        let events = listener.events
        XCTAssertEqual(events.count, calls + 1)
        XCTAssertTrue(events.allSatisfy { $0.kind == .selfTestPassed && $0.details["tests"] == String(katCount) })
        // No event ran on a thread that called into Rust.
        let callerThreads = callers.get + [ThreadId.current]
        for thread in listener.threads {
            XCTAssertFalse(callerThreads.contains { $0.isSame(as: thread) }, "event on caller thread \(thread)")
        }
    }

    func testThrowingListenerIsCountedAndReplaceable() throws {
        // A Swift error (not a RukaSecError) and a RukaSecError take different paths through the
        // generated callback code (unexpected error vs. declared error): both must be counted.
        let thrown: [Error] = [
            AppListenerError(message: "app bug"),
            RukaSecError.Callback(reason: "listener refused"),
        ]
        for error in thrown {
            let failing = ThrowingListener(throwing: error)
            let core = try RukaSec(listener: failing)
            _ = try core.selfTest()
            XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs), "\(error)")
            XCTAssertEqual(failing.calls, 2, "\(error)")
            XCTAssertEqual(try core.eventStats(),
                           EventStats(emitted: 2, delivered: 0, dropped: 0, listenerFailures: 2), "\(error)")

            let good = RecordingListener()
            try core.setListener(listener: good)
            _ = try core.selfTest()
            XCTAssertTrue(good.waitForEvents(1), "\(error): no event after setListener")
            XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
            XCTAssertEqual(good.events.map(\.kind), [.selfTestPassed], "\(error)")
            XCTAssertEqual(failing.calls, 2, "\(error): the replaced listener was called again")
            XCTAssertEqual(try core.eventStats(),
                           EventStats(emitted: 3, delivered: 1, dropped: 0, listenerFailures: 2), "\(error)")
        }
    }

    func testSetListenerNilStopsDelivery() throws {
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        try core.setListener(listener: nil)
        _ = try core.selfTest()
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        XCTAssertEqual(listener.events.count, 1)
        XCTAssertEqual(try core.eventStats(), EventStats(emitted: 2, delivered: 1, dropped: 0, listenerFailures: 0))
    }

    func testRustReleasesSwiftListeners() throws {
        // Replaced listener: Rust drops its reference, the generated code frees the Swift object.
        weak var replaced: RecordingListener?
        let core: RukaSec = try {
            let listener = RecordingListener()
            replaced = listener
            let core = try RukaSec(listener: listener)
            XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
            try core.setListener(listener: RecordingListener())
            _ = try core.selfTest()
            XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
            return core
        }()
        XCTAssertTrue(waitUntil { replaced == nil }, "replaced listener still alive after \(waitSeconds) s")

        // Dropped core: its event thread ends and releases the listener.
        weak var owned: RecordingListener?
        weak var droppedCore: RukaSec?
        do {
            let listener = RecordingListener()
            owned = listener
            let other = try RukaSec(listener: listener)
            droppedCore = other
            XCTAssertTrue(try other.flushEvents(timeoutMs: waitMs))
        }
        XCTAssertTrue(waitUntil { droppedCore == nil }, "RukaSec object still alive")
        XCTAssertTrue(waitUntil { owned == nil }, "listener of a dropped RukaSec still alive after \(waitSeconds) s")
        XCTAssertTrue(try core.isCryptoOperational())
    }
}

final class AsyncTests: XCTestCase {
    func testSelfTestAsync() async throws {
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)
        let report = try await withTimeout { try await core.selfTestAsync() }
        XCTAssertTrue(report.passed)
        XCTAssertEqual(report.results.count, katCount)
        XCTAssertTrue(report.results.allSatisfy(\.passed))
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        XCTAssertEqual(listener.events.count, 2)
    }

    func testConcurrentSelfTestAsyncInTaskGroup() async throws {
        let calls = 8
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)
        let reports = try await withTimeout {
            try await withThrowingTaskGroup(of: SelfTestReport.self) { group in
                for _ in 0..<calls {
                    group.addTask { try await core.selfTestAsync() }
                }
                var reports: [SelfTestReport] = []
                for try await report in group { reports.append(report) }
                return reports
            }
        }
        XCTAssertEqual(reports.count, calls)
        XCTAssertTrue(reports.allSatisfy { $0.passed && $0.results.count == katCount })
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        let expected = Int64(calls + 1)
        XCTAssertEqual(try core.eventStats(),
                       EventStats(emitted: expected, delivered: expected, dropped: 0, listenerFailures: 0))
        XCTAssertEqual(listener.events.count, calls + 1)
    }

    func testAsyncAndSyncCallsMix() async throws {
        let core = try RukaSec(listener: nil)
        let pending = Task { try await core.selfTestAsync() }
        let syncReport = try core.selfTest()
        let report = try await withTimeout { try await pending.value }
        XCTAssertEqual(report.results.map(\.name), syncReport.results.map(\.name))
    }
}
