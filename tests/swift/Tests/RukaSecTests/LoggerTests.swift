// The `Logger` foreign protocol through the generated Swift: the level filter, redaction of
// registered secrets and bearer tokens before a line reaches Swift, a throwing logger counted
// and survived, removal, and the argument errors of the logging calls. Lines are written with
// `ffiTestingLog` (target `rukasec_ffi::testing`) and tagged per test, because the loggers of
// every core in the process see every line.

import Foundation
import XCTest

import RukaSec

/// Records every line and the thread it arrived on; throws `error` for the line after `failNext`.
final class CapturingLogger: Logger, @unchecked Sendable {
    private let lock = NSLock()
    private var received: [(record: LogRecord, thread: ThreadId)] = []
    private var failuresLeft = 0
    private let error: Error

    init(throwing error: Error = RukaSecError.Callback(reason: "logger broke")) {
        self.error = error
    }

    func failNext() { lock.lock(); failuresLeft = 1; lock.unlock() }

    func log(record: LogRecord) throws {
        let thread = ThreadId.current
        lock.lock()
        received.append((record, thread))
        let fail = failuresLeft > 0
        if fail { failuresLeft -= 1 }
        lock.unlock()
        if fail { throw thrownIntoRust(error) }
    }

    var records: [LogRecord] { lock.lock(); defer { lock.unlock() }; return received.map(\.record) }
    var threads: [ThreadId] { lock.lock(); defer { lock.unlock() }; return received.map(\.thread) }
    func tagged(_ tag: String) -> [LogRecord] { records.filter { $0.message.contains(tag) } }
}

final class LoggerTests: XCTestCase {
    private var core: RukaSec!

    override func setUpWithError() throws {
        core = try RukaSec(listener: nil)
    }

    override func tearDownWithError() throws {
        try core.setLogger(logger: nil, level: .error)
        core = nil
    }

    private func tag() -> String { "tag-" + UUID().uuidString.prefix(8) }

    func testLevelFilterPassesItsLevelAndAboveOffTheCallersThread() throws {
        let capture = CapturingLogger()
        try core.setLogger(logger: capture, level: .info)
        let tag = tag()
        let levels: [LogLevel] = [.error, .warn, .info, .debug, .trace]
        for level in levels { try ffiTestingLog(level: level, message: "\(tag) \(level)") }
        XCTAssertTrue(try core.flushLogs(timeoutMs: waitMs))

        let got = capture.tagged(tag)
        XCTAssertEqual(got.map(\.level), [.error, .warn, .info])
        XCTAssertEqual(got.map(\.message), ["\(tag) error", "\(tag) warn", "\(tag) info"])
        XCTAssertTrue(got.allSatisfy { $0.target == "rukasec_ffi::testing" }, "\(got.map(\.target))")
        let caller = ThreadId.current
        XCTAssertFalse(capture.threads.contains { $0.isSame(as: caller) }, "delivered on the caller's thread")
        // The core's own lines arrive too: installing the logger is one.
        XCTAssertTrue(capture.records.contains {
            $0.target.hasPrefix("rukasec_core") && $0.message.contains("logger installed")
        }, "no core line in \(capture.records)")
    }

    func testRegisteredSecretsAndBearerTokensNeverReachTheLogger() throws {
        let capture = CapturingLogger()
        try core.setLogger(logger: capture, level: .trace)
        let tag = tag()
        let canaryText = "canary-text-\(UUID().uuidString)"
        let canaryBytes = Data("canary-bytes-\(UUID().uuidString)".utf8)
        let bearer = "canary-bearer-\(UUID().uuidString)"
        try core.registerSecretText(secret: canaryText)
        try core.registerSecret(secret: canaryBytes)

        let base64 = canaryBytes.base64EncodedString()
        let hex = canaryBytes.map { String(format: "%02x", $0) }.joined()
        try ffiTestingLog(level: .info, message: "\(tag) text \(canaryText)")
        try ffiTestingLog(level: .warn, message: "\(tag) encoded \(base64) and \(hex)")
        try ffiTestingLog(level: .debug, message: "\(tag) header Authorization: Bearer \(bearer)")
        XCTAssertTrue(try core.flushLogs(timeoutMs: waitMs))

        let got = capture.tagged(tag)
        XCTAssertEqual(got.count, 3, "\(got)")
        let canaries = [canaryText, String(decoding: canaryBytes, as: UTF8.self), base64, hex, bearer]
        for record in got {
            for canary in canaries {
                XCTAssertFalse(record.message.contains(canary), "leaked in \(record)")
                XCTAssertFalse("\(record)".contains(canary), "leaked in description")
            }
            XCTAssertTrue(record.message.contains("[redacted]"), "not redacted: \(record)")
        }
        // The app's own text goes through the same rules.
        XCTAssertEqual(try core.redact(text: "pin \(canaryText) ok"), "pin [redacted] ok")

        XCTAssertTrue(try core.unregisterSecretText(secret: canaryText))
        XCTAssertFalse(try core.unregisterSecretText(secret: canaryText))
        XCTAssertTrue(try core.unregisterSecret(secret: canaryBytes))
        XCTAssertFalse(try core.unregisterSecret(secret: canaryBytes))
    }

    func testThrowingLoggerIsCountedAndDeliveryGoesOn() throws {
        // A Swift error (not a RukaSecError) and a RukaSecError take different paths through the
        // generated callback code: both must be counted.
        let thrown: [Error] = [AppListenerError(message: "app bug"), RukaSecError.Callback(reason: "logger broke")]
        for error in thrown {
            let capture = CapturingLogger(throwing: error)
            try core.setLogger(logger: capture, level: .info)
            XCTAssertTrue(try core.flushLogs(timeoutMs: waitMs))
            let before = try core.logStats()
            let tag = tag()
            capture.failNext()
            try ffiTestingLog(level: .error, message: "\(tag) first")
            try ffiTestingLog(level: .error, message: "\(tag) second")
            XCTAssertTrue(try core.flushLogs(timeoutMs: waitMs))

            XCTAssertEqual(capture.tagged(tag).map(\.message), ["\(tag) first", "\(tag) second"], "\(error)")
            let after = try core.logStats()
            XCTAssertGreaterThanOrEqual(after.loggerFailures, before.loggerFailures + 1, "\(error)")
            XCTAssertGreaterThanOrEqual(after.delivered, before.delivered + 1, "\(error)")
            XCTAssertGreaterThanOrEqual(after.emitted, before.emitted + 2, "\(error)")
        }
    }

    func testSetLoggerNilStopsDeliveryAndAReleasedCoresLoggerIsRemoved() throws {
        let first = CapturingLogger()
        try core.setLogger(logger: first, level: .info)
        try core.setLogger(logger: nil, level: .info)
        let second = CapturingLogger()
        do {
            let other = try RukaSec(listener: nil)
            try other.setLogger(logger: second, level: .info)
        }
        let tag = tag()
        try ffiTestingLog(level: .error, message: "\(tag) after removal")
        XCTAssertTrue(try core.flushLogs(timeoutMs: waitMs))
        XCTAssertEqual(first.tagged(tag), [])
        XCTAssertEqual(second.tagged(tag), [])
    }

    func testBadArgumentsAreInvalidInput() throws {
        for call in [
            { try self.core.registerSecret(secret: Data([1, 2, 3])) },
            { try self.core.registerSecretText(secret: "abc") },
            { _ = try self.core.flushLogs(timeoutMs: -1) },
        ] as [() throws -> Void] {
            XCTAssertThrowsError(try call()) { error in
                reached(error)
                guard case let .InvalidInput(reason)? = error as? RukaSecError else {
                    return XCTFail("expected RukaSecError.InvalidInput, got \(error)")
                }
                XCTAssertFalse(reason.isEmpty)
            }
        }
    }
}
