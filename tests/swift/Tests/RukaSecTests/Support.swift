// Fixtures, Swift listeners and bounded waits shared by the binding tests.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import RukaSec

/// How many known-answer tests the power-on self-test runs.
let katCount = 8

/// Every wait in these tests gives up after this long, so a bug fails a test instead of hanging.
let waitSeconds: Double = 10
let waitMs: Int64 = 10_000

// MARK: - Fixtures

enum Fixtures {
    /// The repository root: `$RUKASEC_ROOT` (set by scripts/test-swift.sh), else found from this
    /// file's path (tests/swift/Tests/RukaSecTests/Support.swift).
    static let root: URL = {
        if let env = ProcessInfo.processInfo.environment["RUKASEC_ROOT"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true)
        }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url = url.deletingLastPathComponent() }
        return url
    }()

    static func url(_ name: String) -> URL {
        root.appendingPathComponent("tests/fixtures").appendingPathComponent(name)
    }

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: url(name))
    }

    /// `pins.txt`: `FILE sha256/...` per line, computed with openssl.
    static func pins() throws -> [String: String] {
        let text = try String(contentsOf: url("pins.txt"), encoding: .utf8)
        var pins: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 2 else { continue }
            pins[String(fields[0])] = String(fields[1])
        }
        return pins
    }

    static func pin(_ file: String) throws -> String {
        let pin = try pins()[file]
        return try XCTUnwrap(pin, "pins.txt has no line for \(file)")
    }
}

// MARK: - Threads

/// The calling thread's pthread id and name.
struct ThreadId: Sendable, CustomStringConvertible {
    let id: pthread_t
    let name: String

    static var current: ThreadId {
        // pthread_getname_np is not visible from Swift's Glibc module: ask the kernel (Linux).
        let comm = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
        let name = comm?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        return ThreadId(id: pthread_self(), name: name)
    }

    func isSame(as other: ThreadId) -> Bool {
        pthread_equal(id, other.id) != 0
    }

    var description: String { "\(name) (\(id))" }
}

// MARK: - Locks and waits

/// A value guarded by an `NSLock`.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func with<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var get: Value { with { $0 } }
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func waitUntil(seconds: Double = waitSeconds, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() >= deadline { return false }
        usleep(5_000)
    }
    return true
}

struct TimedOut: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "timed out after \(seconds) s" }
}

/// Runs `operation`, throwing `TimedOut` when it has not finished after `seconds` (it is left
/// running: an FFI future cannot be abandoned, but the test must not hang on it).
func withTimeout<T: Sendable>(
    seconds: Double = waitSeconds,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let settled = Locked(false)
    let claim: @Sendable () -> Bool = {
        settled.with { done in
            if done { return false }
            done = true
            return true
        }
    }
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let work = Task {
            do {
                let value = try await operation()
                if claim() { continuation.resume(returning: value) }
            } catch {
                if claim() { continuation.resume(throwing: error) }
            }
        }
        Task {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            if claim() {
                work.cancel()
                continuation.resume(throwing: TimedOut(seconds: seconds))
            }
        }
    }
}

// MARK: - Listeners implemented in Swift

/// Records every event and the thread it arrived on.
final class RecordingListener: SecurityEventListener, @unchecked Sendable {
    private let lock = NSLock()
    private var received: [(event: SecurityEvent, thread: ThreadId)] = []

    func onEvent(event: SecurityEvent) throws {
        let thread = ThreadId.current
        lock.lock()
        defer { lock.unlock() }
        received.append((event, thread))
    }

    var events: [SecurityEvent] {
        lock.lock()
        defer { lock.unlock() }
        return received.map(\.event)
    }

    var threads: [ThreadId] {
        lock.lock()
        defer { lock.unlock() }
        return received.map(\.thread)
    }

    /// Waits (bounded) until at least `count` events arrived.
    func waitForEvents(_ count: Int) -> Bool {
        waitUntil { self.events.count >= count }
    }
}

/// An error that is not a `RukaSecError`, as an app's listener might throw.
struct AppListenerError: Error {
    let message: String
}

/// Throws on every event, counting the calls.
final class ThrowingListener: SecurityEventListener, @unchecked Sendable {
    private let lock = NSLock()
    private var callCount = 0
    private let error: Error

    init(throwing error: Error) { self.error = error }

    func onEvent(event: SecurityEvent) throws {
        lock.lock()
        callCount += 1
        lock.unlock()
        throw thrownIntoRust(error)
    }

    var calls: Int {
        lock.lock()
        defer { lock.unlock() }
        return callCount
    }
}

// MARK: - Error matching

/// Asserts that `expression` throws `RukaSecError.InvalidInput` with a non-empty reason.
func assertInvalidInput<T>(
    _ expression: @autoclosure () throws -> T,
    _ message: String,
    file: StaticString = #filePath,
    line: UInt = #line,
    function: String = #function
) {
    XCTAssertThrowsError(try expression(), message, file: file, line: line) { error in
        reached(error, file: file, function: function)
        guard case let RukaSecError.InvalidInput(reason) = error else {
            XCTFail("\(message): expected RukaSecError.InvalidInput, got \(type(of: error)): \(error)",
                    file: file, line: line)
            return
        }
        XCTAssertFalse(reason.isEmpty, "\(message): empty reason", file: file, line: line)
        XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains(reason) ?? false,
                      "\(message): errorDescription does not carry the reason", file: file, line: line)
    }
}
