// API credentials through the generated Swift: `CredentialStore`, its records and each
// `CredentialError` case, and `HttpsClient.sendWithCredential` against the library's local HTTPS
// server (its `TlsError` credential and rate-limit cases, the Retry-After pause, the credential
// and rate events reaching a Swift listener). The checks themselves are tested in Rust
// (core/tests/credentials.rs); these check the binding.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import RukaSec

extension CredentialError {
    /// The case's name and reason (an exhaustive switch: a case added or renamed in Rust fails
    /// to compile here).
    var nameAndReason: (name: String, reason: String) {
        switch self {
        case let .NotFound(reason): return ("NotFound", reason)
        case let .HostMismatch(reason): return ("HostMismatch", reason)
        case let .EnvironmentMismatch(reason): return ("EnvironmentMismatch", reason)
        case let .InvalidInput(reason): return ("InvalidInput", reason)
        case let .UserAuthenticationRequired(reason): return ("UserAuthenticationRequired", reason)
        case let .Storage(reason): return ("Storage", reason)
        case let .CryptoUnavailable(reason): return ("CryptoUnavailable", reason)
        case let .Internal(reason): return ("Internal", reason)
        }
    }
}

final class CredentialsTests: XCTestCase {
    static let account = "customer-1"
    static let canary = "CANARY-sk_live_9f2c7e-do-not-log"
    static let sandboxKey = "sk_test_5b1d"
    static let backupPin = "sha256/YmFja3VwLWtleS1rZXB0LW9mZmxpbmUtMDAwMDAwMDA="
    /// `**.rukapay.test` (the test server's pay.rukapay.test) is production, its sandbox
    /// subtree sandbox.
    static let environments = [
        HostEnvironment(pattern: "**.rukapay.test", environment: .production),
        HostEnvironment(pattern: "**.sandbox.rukapay.test", environment: .sandbox),
    ]

    private var dir: URL!
    private var listener: RecordingListener!
    private var core: RukaSec!
    private var vault: Vault!
    /// Every message and text a test saw, checked for the secret after each test.
    private let seen = Locked<[String]>([])

    override func setUpWithError() throws {
        try super.setUpWithError()
        signal(SIGPIPE, SIG_IGN)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-credentials-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        listener = RecordingListener()
        core = try RukaSec(listener: listener)
        vault = try core.openVault(dir: dir.appendingPathComponent("vault").path, wrapper: HandleKeyWrapper())
    }

    override func tearDownWithError() throws {
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        let texts = seen.get + listener.events.map { "\($0.kind) \($0.details)" }
        for text in texts {
            XCTAssertFalse(text.contains(Self.canary), "the secret leaked into: \(text)")
        }
        vault = nil
        core = nil
        try? FileManager.default.removeItem(at: dir)
        try super.tearDownWithError()
    }

    private func store(_ environments: [HostEnvironment] = CredentialsTests.environments, on: Vault? = nil) throws -> CredentialStore {
        try CredentialStore(vault: on ?? vault, account: Self.account, environments: environments)
    }

    private func production(_ hosts: [String] = ["**.rukapay.test"]) -> CredentialSpec {
        CredentialSpec(environment: .production, hosts: hosts, header: .bearer, label: "payments (live)")
    }

    private func sandbox(_ hosts: [String] = ["**.rukapay.test"]) -> CredentialSpec {
        CredentialSpec(environment: .sandbox, hosts: hosts, header: .named(name: "x-api-key"), rotateAfterDays: 7)
    }

    private func events(_ kind: SecurityEventKind) throws -> [SecurityEvent] {
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        return listener.events.filter { $0.kind == kind }
    }

    /// Asserts that `body` throws the `CredentialError` case `expected`; returns its reason.
    @discardableResult
    private func assertCredentialError<T>(
        _ expected: String,
        file: StaticString = #filePath,
        line: UInt = #line,
        function: String = #function,
        _ body: () throws -> T
    ) -> String? {
        do {
            let value = try body()
            XCTFail("expected CredentialError.\(expected), got \(value)", file: file, line: line)
        } catch {
            reached(error, file: file, function: function)
            seen.with { $0.append("\(error) \(error.localizedDescription)") }
            guard let (name, reason) = (error as? CredentialError)?.nameAndReason, name == expected else {
                XCTFail("expected CredentialError.\(expected), got \(type(of: error)): \(error)", file: file, line: line)
                return nil
            }
            XCTAssertFalse(reason.isEmpty, "empty reason", file: file, line: line)
            return reason
        }
        return nil
    }

    /// [assertTlsError], keeping the error's text for the canary check.
    @discardableResult
    private func assertSendError<T: Sendable>(
        _ expected: String,
        file: StaticString = #filePath,
        line: UInt = #line,
        function: String = #function,
        _ operation: @escaping @Sendable () async throws -> T
    ) async -> String? {
        let reason = await assertTlsError(expected, file: file, line: line, function: function, operation)
        seen.with { $0.append(reason ?? "") }
        return reason
    }

    private func client(_ server: TestTlsServer, _ options: HttpsClientOptions = HttpsClientOptions()) throws -> HttpsClient {
        var pinned = options
        pinned.extraRootsDer = [server.rootDer()]
        pinned.resolve = [HostAddress(host: server.host(), address: server.address())]
        let policy = try PinPolicy(domains: [DomainPin(pattern: server.host(), pins: [server.leafPin(), Self.backupPin])])
        return try core.httpsClient(options: pinned, policy: policy)
    }

    private func get(_ server: TestTlsServer, _ path: String = "/hello") -> HttpRequest {
        HttpRequest(method: "GET", url: server.url(path: path))
    }

    func testPutListMetadataRotateAndRevokeRoundTripWithoutTheSecret() throws {
        let store = try self.store()
        let before = Int64(Date().timeIntervalSince1970) * 1000
        let prod = try store.put(id: "payments-prod", secret: Data(Self.canary.utf8), spec: production())
        XCTAssertEqual(prod.id, "payments-prod")
        XCTAssertEqual(prod.label, "payments (live)")
        XCTAssertEqual(prod.environment, .production)
        XCTAssertEqual(prod.hosts, ["**.rukapay.test"])
        XCTAssertEqual(prod.header, .bearer)
        XCTAssertEqual(prod.rotateAfterDays, 90)
        XCTAssertGreaterThanOrEqual(prod.createdAtUnixMs, before)
        _ = try store.put(id: "payments-sandbox", secret: Data(Self.sandboxKey.utf8), spec: sandbox())

        let listed = try store.list()
        XCTAssertEqual(listed.map(\.id), ["payments-prod", "payments-sandbox"])
        XCTAssertEqual(listed[0], prod)
        XCTAssertEqual(listed[1].header, .named(name: "x-api-key"))
        XCTAssertEqual(listed[1].rotateAfterDays, 7)
        XCTAssertEqual(try store.metadata(id: "payments-prod"), prod)
        XCTAssertNil(try store.metadata(id: "missing"))
        let described = listed.map { String(describing: $0) }
        seen.with { $0 += described }
        XCTAssertTrue(described[0].contains("payments-prod"), described[0])

        XCTAssertEqual(try self.store().list(), listed)
        XCTAssertEqual(try CredentialStore(vault: vault, account: "customer-2", environments: Self.environments).list(), [])

        let rotated = try store.rotate(id: "payments-prod", secret: Data("sk_live_rotated".utf8))
        var expected = prod
        expected.createdAtUnixMs = rotated.createdAtUnixMs
        XCTAssertEqual(rotated, expected)
        XCTAssertEqual(try store.checkRotation(), [])
        assertCredentialError("NotFound") { try store.rotate(id: "missing", secret: Data("x".utf8)) }

        XCTAssertTrue(try store.revoke(id: "payments-prod"))
        XCTAssertFalse(try store.revoke(id: "payments-prod"))
        XCTAssertNil(try store.metadata(id: "payments-prod"))
        XCTAssertEqual(try store.list().map(\.id), ["payments-sandbox"])
        assertCredentialError("NotFound") { try store.checkUrl(id: "payments-prod", url: "https://pay.rukapay.test/") }
    }

    func testASandboxKeyIsRefusedForAProductionHostAndTheReverse() throws {
        let store = try self.store()
        _ = try store.put(id: "payments-prod", secret: Data(Self.canary.utf8), spec: production())
        _ = try store.put(id: "payments-sandbox", secret: Data(Self.sandboxKey.utf8), spec: sandbox())
        XCTAssertEqual(assertCredentialError("EnvironmentMismatch") {
            try store.checkUrl(id: "payments-sandbox", url: "https://pay.rukapay.test/v1/charges")
        }, "a sandbox credential cannot be sent to a production host")
        XCTAssertEqual(assertCredentialError("EnvironmentMismatch") {
            try store.checkUrl(id: "payments-prod", url: "https://api.sandbox.rukapay.test/v1/charges")
        }, "a production credential cannot be sent to a sandbox host")
        XCTAssertEqual(try store.checkUrl(id: "payments-prod", url: "https://pay.rukapay.test/").id, "payments-prod")
        XCTAssertEqual(try store.checkUrl(id: "payments-sandbox", url: "https://api.sandbox.rukapay.test/").id, "payments-sandbox")

        _ = try store.put(id: "partner", secret: Data("pk_1".utf8), spec: production(["api.partner.example"]))
        let undeclared = assertCredentialError("EnvironmentMismatch") { try store.checkUrl(id: "partner", url: "https://api.partner.example/") }
        XCTAssertTrue(undeclared?.contains("no declared environment") ?? false, undeclared ?? "")
        let staging = try self.store([HostEnvironment(pattern: "api.partner.example", environment: .other(name: "staging"))])
        assertCredentialError("EnvironmentMismatch") { try staging.checkUrl(id: "partner", url: "https://api.partner.example/") }
        _ = try staging.put(id: "partner-staging", secret: Data("pk_2".utf8),
                            spec: CredentialSpec(environment: .other(name: "staging"), hosts: ["api.partner.example"], header: .bearer))
        XCTAssertEqual(try staging.checkUrl(id: "partner-staging", url: "https://api.partner.example/x").environment, .other(name: "staging"))
    }

    func testHostsOutsideTheCredentialInsecureUrlsAndBadInputAreRefused() throws {
        let store = try self.store()
        _ = try store.put(id: "payments", secret: Data(Self.canary.utf8), spec: production(["pay.rukapay.test"]))
        for url in ["https://api.rukapay.test/", "https://pay.rukapay.test.evil.example/", "https://127.0.0.1/"] {
            assertCredentialError("HostMismatch") { try store.checkUrl(id: "payments", url: url) }
        }
        assertCredentialError("InvalidInput") { try store.checkUrl(id: "payments", url: "http://pay.rukapay.test/") }
        assertCredentialError("InvalidInput") { try store.checkUrl(id: "payments", url: "not a url") }

        let key = Data("x".utf8)
        var badHeader = production()
        badHeader.header = .named(name: "x-request-id")
        var badEnvironment = production()
        badEnvironment.environment = .other(name: "Prod")
        var zeroDays = production()
        zeroDays.rotateAfterDays = 0  // the core has no "due now": at least a day here
        var negativeDays = production()
        negativeDays.rotateAfterDays = -1
        let cases: [(String, Data, CredentialSpec)] = [
            ("a/b", key, production()), ("k", Data(), production()), ("k", Data("has space".utf8), production()),
            ("k", key, production([])), ("k", key, production(["*.com"])), ("k", key, badHeader),
            ("k", key, badEnvironment), ("k", key, zeroDays), ("k", key, negativeDays),
        ]
        for (id, secret, spec) in cases {
            assertCredentialError("InvalidInput") { try store.put(id: id, secret: secret, spec: spec) }
        }
        XCTAssertEqual(try store.list().map(\.id), ["payments"])
        assertCredentialError("InvalidInput") {
            try self.store([HostEnvironment(pattern: "**.rukapay.test", environment: .production),
                            HostEnvironment(pattern: "**.rukapay.test", environment: .sandbox)])
        }
        assertCredentialError("InvalidInput") { try self.store([HostEnvironment(pattern: "*.com", environment: .production)]) }
    }

    func testAGatedVaultNeedsAnUnlockAndABrokenRecordIsStorage() async throws {
        _ = try self.store().put(id: "payments", secret: Data(Self.canary.utf8), spec: production())
        let authenticator = ScriptedAuthenticator(fallback: .success(method: .strongBiometric))
        let gate = try vault.enableUnlock(policy: UnlockPolicy(), authenticator: authenticator)
        let store = try self.store()
        // The metadata is Internal: readable after the first unlock since start; no prompt here.
        assertCredentialError("UserAuthenticationRequired") { try store.list() }
        assertCredentialError("UserAuthenticationRequired") { try store.checkUrl(id: "payments", url: "https://pay.rukapay.test/") }
        XCTAssertEqual(authenticator.requests.count, 0)
        try await withTimeout { try await gate.unlock(dataClass: .internal, account: Self.account, reason: "List the API keys") }
        XCTAssertEqual(try store.list().map(\.id), ["payments"])

        let plain = try core.openVault(dir: dir.appendingPathComponent("plain").path, wrapper: HandleKeyWrapper())
        try plain.put(account: Self.account, namespace: "rukasec.credentials.meta", name: "broken", value: Data([1, 2, 3]),
                      dataClass: .internal, ttlSeconds: nil)
        let broken = try self.store(on: plain)
        let reason = assertCredentialError("Storage") { try broken.metadata(id: "broken") }
        XCTAssertTrue(reason?.contains("integrity") ?? false, reason ?? "")
        assertCredentialError("Storage") { try broken.list() }
        XCTAssertEqual(Set(try events(.vaultIntegrityFailure).map { $0.details["what"] }), ["credential_metadata"])
    }

    func testTheCausesAHealthyHostCannotProduceArriveAsTheirCases() {
        let crypto = assertCredentialError("CryptoUnavailable") { try ffiTestingCredentialsAfterFailedSelfTest() }
        XCTAssertTrue(crypto?.contains("self-test") ?? false, crypto ?? "")
        let panic = assertCredentialError("Internal") { try ffiTestingPanicInCredentialCall() }
        XCTAssertFalse(panic?.contains("deliberate") ?? true, panic ?? "")
    }

    func testSendWithCredentialPutsTheHeaderOnAndRefusesTheWrongCredentialBeforeSending() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let client = try self.client(server)
        let store = try self.store()
        _ = try store.put(id: "payments-prod", secret: Data(Self.canary.utf8), spec: production())
        _ = try store.put(id: "payments-sandbox", secret: Data(Self.sandboxKey.utf8), spec: sandbox())
        _ = try store.put(id: "other-host", secret: Data("ok_1".utf8), spec: production(["api.rukapay.test"]))
        var apiKey = production()
        apiKey.header = .named(name: "x-api-key")
        _ = try store.put(id: "api-key", secret: Data("ak_1".utf8), spec: apiKey)

        var request = get(server)
        request.headers = [HttpHeader(name: "Authorization", value: "Bearer stale")]
        let outgoing = request
        let response = try await withTimeout {
            try await client.sendWithCredential(request: outgoing, store: store, id: "payments-prod", mode: .fail, reason: "Pay")
        }
        XCTAssertEqual(response.status, 200)
        let seenByServer = try XCTUnwrap(server.lastRequest())
        XCTAssertEqual(seenByServer.headers.filter { $0.name == "authorization" }.map(\.value), ["Bearer \(Self.canary)"])
        let plain = get(server)
        _ = try await withTimeout {
            try await client.sendWithCredential(request: plain, store: store, id: "api-key", mode: .wait, reason: "Pay")
        }
        XCTAssertEqual(try XCTUnwrap(server.lastRequest()).headers.filter { $0.name == "x-api-key" }.map(\.value), ["ak_1"])

        let sent = server.requestCount()
        await assertSendError("CredentialNotFound") {
            try await client.sendWithCredential(request: plain, store: store, id: "missing", mode: .fail, reason: "Pay")
        }
        await assertSendError("CredentialHostMismatch") {
            try await client.sendWithCredential(request: plain, store: store, id: "other-host", mode: .fail, reason: "Pay")
        }
        let mismatch = await assertSendError("CredentialEnvironmentMismatch") {
            try await client.sendWithCredential(request: plain, store: store, id: "payments-sandbox", mode: .fail, reason: "Pay")
        }
        XCTAssertEqual(mismatch, "a sandbox credential cannot be sent to a production host")
        let insecure = HttpRequest(method: "GET", url: "http://pay.rukapay.test/")
        await assertSendError("InsecureScheme") {
            try await client.sendWithCredential(request: insecure, store: store, id: "payments-prod", mode: .fail, reason: "Pay")
        }
        XCTAssertEqual(server.requestCount(), sent, "a refused credential went out")

        let unauthorized = get(server, "/status/401")
        let rejected = try await withTimeout {
            try await client.sendWithCredential(request: unauthorized, store: store, id: "payments-prod", mode: .fail, reason: "Pay")
        }
        XCTAssertEqual(rejected.status, 401)
        let event = try XCTUnwrap(try events(.authenticationRejected).first)
        XCTAssertEqual(event.details["credential"], "payments-prod")
        XCTAssertEqual(event.details["status"], "401")
    }

    func testOverTheLimitFailModeThrowsRateLimitedAndWaitModeWaits() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let store = try self.store()
        _ = try store.put(id: "payments-prod", secret: Data(Self.canary.utf8), spec: production())
        let request = get(server)
        let strict = try self.client(server, HttpsClientOptions(rateLimitCapacity: 2, rateLimitRefillPerSecond: 0.01))
        for _ in 0..<2 {
            let response = try await withTimeout {
                try await strict.sendWithCredential(request: request, store: store, id: "payments-prod", mode: .fail, reason: "Pay")
            }
            XCTAssertEqual(response.status, 200)
        }
        do {
            _ = try await withTimeout {
                try await strict.sendWithCredential(request: request, store: store, id: "payments-prod", mode: .fail, reason: "Pay")
            }
            XCTFail("expected TlsError.RateLimited")
        } catch {
            reached(error)
            guard case let TlsError.RateLimited(reason, retryAfterMs) = error else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(retryAfterMs, 0)
            XCTAssertEqual(reason, "retry after \(retryAfterMs) ms")
        }
        XCTAssertEqual(server.requestCount(), 2)
        let event = try XCTUnwrap(try events(.rateLimited).first)
        XCTAssertEqual(event.details["outcome"], "refused")
        XCTAssertEqual(event.details["credential"], "payments-prod")

        let waiting = try self.client(server, HttpsClientOptions(rateLimitCapacity: 1, rateLimitRefillPerSecond: 20))
        let unlimited = try self.client(server, HttpsClientOptions(rateLimitEnabled: false))
        for _ in 0..<3 {
            _ = try await withTimeout {
                try await waiting.sendWithCredential(request: request, store: store, id: "payments-prod", mode: .wait, reason: "Pay")
            }
            _ = try await withTimeout {
                try await unlimited.sendWithCredential(request: request, store: store, id: "payments-prod", mode: .fail, reason: "Pay")
            }
        }
        XCTAssertThrowsError(try self.client(server, HttpsClientOptions(rateLimitCapacity: 0))) { error in
            reached(error)
            XCTAssertEqual((error as? TlsError)?.nameAndReason.name, "InvalidInput")
        }
    }

    func testA429WithRetryAfterPausesTheCredential() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let store = try self.store()
        _ = try store.put(id: "payments-prod", secret: Data(Self.canary.utf8), spec: production())
        let client = try self.client(server)
        let throttle = get(server, "/status/429?retry-after=30")
        let throttled = try await withTimeout {
            try await client.sendWithCredential(request: throttle, store: store, id: "payments-prod", mode: .fail, reason: "Pay")
        }
        XCTAssertEqual(throttled.status, 429)
        let request = get(server)
        do {
            _ = try await withTimeout {
                try await client.sendWithCredential(request: request, store: store, id: "payments-prod", mode: .fail, reason: "Pay")
            }
            XCTFail("expected TlsError.RateLimited")
        } catch {
            reached(error)
            guard case let TlsError.RateLimited(_, retryAfterMs) = error else { return XCTFail("\(error)") }
            XCTAssertTrue((25_000...30_000).contains(retryAfterMs), "\(retryAfterMs)")
        }
        XCTAssertEqual(server.requestCount(), 1)
        let outcomes = try events(.rateLimited).map { [$0.details["outcome"] ?? "-", $0.details["status"] ?? "-"] }
        XCTAssertEqual(outcomes, [["paused", "429"], ["refused", "-"]])
    }

    func testThroughAGatedVaultTheSendUnlocksRestrictedFirstAndACancelIsCredentialLocked() async throws {
        _ = try self.store().put(id: "payments-prod", secret: Data(Self.canary.utf8), spec: production())
        let authenticator = ScriptedAuthenticator([.cancelled], fallback: .success(method: .strongBiometric))
        _ = try vault.enableUnlock(policy: UnlockPolicy(restrictedWindowSeconds: 0), authenticator: authenticator)
        let server = try TestTlsServer.start(tls12Only: false)
        let store = try self.store()
        let client = try self.client(server)
        let request = get(server)
        let locked = await assertSendError("CredentialLocked") {
            try await client.sendWithCredential(request: request, store: store, id: "payments-prod", mode: .wait,
                                                reason: "Authorize the payment")
        }
        XCTAssertTrue(locked?.contains("cancelled") ?? false, locked ?? "")
        XCTAssertEqual(server.requestCount(), 0)
        for _ in 0..<2 {
            let response = try await withTimeout {
                try await client.sendWithCredential(request: request, store: store, id: "payments-prod", mode: .wait,
                                                    reason: "Authorize the payment")
            }
            XCTAssertEqual(response.status, 200)
        }
        XCTAssertEqual(authenticator.requests.count, 3)
        XCTAssertEqual(Set(authenticator.requests.map(\.reason)), ["Authorize the payment"])
        XCTAssertEqual(Set(authenticator.requests.map(\.dataClass)), [.restricted])
        XCTAssertEqual(try XCTUnwrap(server.lastRequest()).headers.filter { $0.name == "authorization" }.map(\.value),
                       ["Bearer \(Self.canary)"])
    }
}
