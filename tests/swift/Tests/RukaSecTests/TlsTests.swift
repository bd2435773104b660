// The pinned HTTPS client, pin policies and the pin checker through the generated Swift, against
// the library's local HTTPS server (`TestTlsServer`, feature ffi-testing): async calls, records,
// `TlsError` cases and the pin events reaching a Swift listener. The Rust tests cover the pinning
// logic; these check the binding. (Installing a signed policy update is tested from Kotlin only:
// Linux Swift has no CryptoKit to sign with; here the updater's refusals are.)

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import RukaSec

extension TlsError {
    /// The case's name and reason (an exhaustive switch: a case added or renamed in Rust fails
    /// to compile here).
    var nameAndReason: (name: String, reason: String) {
        switch self {
        case let .PinMismatch(reason): return ("PinMismatch", reason)
        case let .UntrustedCertificate(reason): return ("UntrustedCertificate", reason)
        case let .HostnameMismatch(reason): return ("HostnameMismatch", reason)
        case let .ExpiredCertificate(reason): return ("ExpiredCertificate", reason)
        case let .RevokedCertificate(reason): return ("RevokedCertificate", reason)
        case let .ProtocolVersion(reason): return ("ProtocolVersion", reason)
        case let .InsecureScheme(reason): return ("InsecureScheme", reason)
        case let .Handshake(reason): return ("Handshake", reason)
        case let .Connection(reason): return ("Connection", reason)
        case let .Timeout(reason): return ("Timeout", reason)
        case let .Redirect(reason): return ("Redirect", reason)
        case let .ResponseTooLarge(reason): return ("ResponseTooLarge", reason)
        case let .Protocol(reason): return ("Protocol", reason)
        case let .PolicySignature(reason): return ("PolicySignature", reason)
        case let .PolicyRollback(reason): return ("PolicyRollback", reason)
        case let .PolicyExpired(reason): return ("PolicyExpired", reason)
        case let .Cancelled(reason): return ("Cancelled", reason)
        case let .Signing(reason): return ("Signing", reason)
        case let .CredentialNotFound(reason): return ("CredentialNotFound", reason)
        case let .CredentialHostMismatch(reason): return ("CredentialHostMismatch", reason)
        case let .CredentialEnvironmentMismatch(reason): return ("CredentialEnvironmentMismatch", reason)
        case let .CredentialLocked(reason): return ("CredentialLocked", reason)
        case let .RateLimited(reason, _): return ("RateLimited", reason)
        case let .InvalidInput(reason): return ("InvalidInput", reason)
        case let .CryptoUnavailable(reason): return ("CryptoUnavailable", reason)
        case let .Storage(reason): return ("Storage", reason)
        case let .Internal(reason): return ("Internal", reason)
        }
    }
}

/// The case name and reason of a thrown `TlsError`; nil for other errors.
func tlsCase(_ error: Error, file: StaticString = #filePath, function: String = #function) -> (name: String, reason: String)? {
    reached(error, file: file, function: function)
    return (error as? TlsError)?.nameAndReason
}

/// Asserts that `operation` throws the `TlsError` case `expected` with a non-empty reason;
/// returns the reason.
@discardableResult
func assertTlsError<T: Sendable>(
    _ expected: String,
    file: StaticString = #filePath,
    line: UInt = #line,
    function: String = #function,
    _ operation: @escaping @Sendable () async throws -> T
) async -> String? {
    do {
        let value = try await withTimeout { try await operation() }
        XCTFail("expected TlsError.\(expected), got \(value)", file: file, line: line)
    } catch {
        guard let (name, reason) = tlsCase(error, file: file, function: function), name == expected else {
            XCTFail("expected TlsError.\(expected), got \(type(of: error)): \(error)", file: file, line: line)
            return nil
        }
        XCTAssertFalse(reason.isEmpty, "empty reason", file: file, line: line)
        return reason
    }
    return nil
}

final class TlsTests: XCTestCase {
    /// A peer closing a TLS connection mid-write raises SIGPIPE, which kills a process that has
    /// not ignored it. Rust programs, the JVM (so Android apps) and Apple's sockets (SO_NOSIGPIPE)
    /// never see it; a plain Linux test process must ignore it itself, as an app host does.
    override class func setUp() {
        super.setUp()
        signal(SIGPIPE, SIG_IGN)
    }

    /// Pins of keys that no server here has.
    let backupPin = "sha256/YmFja3VwLWtleS1rZXB0LW9mZmxpbmUtMDAwMDAwMDA="
    let otherPin = "sha256/b3RoZXIta2V5LW5vYm9keS1oYXMtMDAwMDAwMDAwMDA="

    func options(_ server: TestTlsServer) -> HttpsClientOptions {
        HttpsClientOptions(
            extraRootsDer: [server.rootDer()],
            resolve: [HostAddress(host: server.host(), address: server.address())]
        )
    }

    /// An enforced pin set for the server's host: `pin` and a backup pin nobody has.
    func policy(_ server: TestTlsServer, pin: String) throws -> PinPolicy {
        try PinPolicy(domains: [DomainPin(pattern: server.host(), pins: [pin, backupPin])])
    }

    func testPinnedRequestSucceeds() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let core = try RukaSec(listener: nil)
        let client = try core.httpsClient(options: options(server), policy: policy(server, pin: server.leafPin()))

        let request = HttpRequest(method: "POST", url: server.url(path: "/hello"),
                                  headers: [HttpHeader(name: "x-test", value: "1")], body: Data([1, 2]))
        let response = try await withTimeout { try await client.send(request: request) }
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "hello from the rukasec test server\n")
        XCTAssertEqual(response.url, server.url(path: "hello"))
        XCTAssertTrue(response.version.hasPrefix("HTTP/"), response.version)
        XCTAssertEqual(server.requestCount(), 1)

        let hsts = try await withTimeout { try await client.send(request: HttpRequest(method: "GET", url: server.url(path: "hsts"))) }
        XCTAssertTrue(hsts.headers.contains { $0.name == "strict-transport-security" }, "\(hsts.headers)")
        XCTAssertEqual(try client.hstsHosts(), [server.host()])
        let sent = try await client.flushReports()
        XCTAssertEqual(sent, 0)
        XCTAssertEqual(try client.policy().domains(),
                       [DomainPin(pattern: server.host(), includeSubdomains: false, pins: [server.leafPin(), backupPin],
                                  expiresUnixMs: nil, enforce: true, reportUri: nil)])
    }

    func testAServerClockTenMinutesBehindIsMeasuredReportedAndUsed() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let core = try RukaSec(listener: nil)
        let client = try core.httpsClient(options: options(server), policy: policy(server, pin: server.leafPin()))
        XCTAssertNil(try client.clockSkewMs())
        let subscription = try core.subscribeEvents(capacity: 16)
        let request = HttpRequest(method: "GET", url: server.url(path: "/date?offset=-600"))
        for _ in 0..<3 { _ = try await withTimeout { try await client.send(request: request) } }
        let skew = try XCTUnwrap(try client.clockSkewMs())
        XCTAssertTrue((-602_000 ... -598_000).contains(skew), "\(skew)")
        let behind = Int64(Date().timeIntervalSince1970 * 1000) - (try client.serverTimeUnixMs())
        XCTAssertTrue((597_000 ... 603_000).contains(behind), "\(behind)")
        let report = try await withTimeout { () async throws -> SecurityEvent? in
            while let event = try await subscription.next() {
                if event.kind == .clockSkewDetected { return event }
            }
            return nil
        }
        XCTAssertEqual(report?.details["host"], server.host())
    }

    func testPinMismatchThrowsAndReachesTheListener() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)
        let client = try core.httpsClient(options: options(server), policy: policy(server, pin: otherPin))
        let url = server.url(path: "/")

        let reason = await assertTlsError("PinMismatch") {
            try await client.send(request: HttpRequest(method: "GET", url: url))
        }
        XCTAssertTrue(reason?.contains(server.host()) ?? false, "\(reason ?? "")")
        XCTAssertEqual(server.requestCount(), 0)
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        let mismatches = listener.events.filter { $0.kind == .pinMismatch }
        XCTAssertEqual(mismatches.count, 1)
        XCTAssertEqual(mismatches.first?.severity, .error)
        XCTAssertEqual(mismatches.first?.details["host"], server.host())

        // A new policy applies to the next request.
        try client.setPolicy(policy: policy(server, pin: server.intermediatePin()))
        let response = try await withTimeout { try await client.send(request: HttpRequest(method: "GET", url: url)) }
        XCTAssertEqual(response.status, 200)
    }

    func testCheckChainMatchesAndRefuses() throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)
        let chain = server.chainDer()
        XCTAssertEqual(chain.count, 2)

        let checker = try core.pinChecker(policy: policy(server, pin: server.rootPin()), extraRootsDer: [server.rootDer()])
        XCTAssertEqual(try checker.checkChain(host: server.host(), chainDer: chain), .matched)
        XCTAssertEqual(try checker.checkChain(host: "other.rukapay.test", chainDer: chain), .unpinned)

        let strict = try core.pinChecker(policy: policy(server, pin: otherPin), extraRootsDer: [])
        XCTAssertThrowsError(try strict.checkChain(host: server.host(), chainDer: chain)) { error in
            XCTAssertEqual(tlsCase(error)?.name, "PinMismatch", "\(error)")
        }
        XCTAssertThrowsError(try strict.checkChain(host: server.host(), chainDer: [])) { error in
            XCTAssertEqual(tlsCase(error)?.name, "InvalidInput", "\(error)")
        }
        let client = try core.httpsClient(options: options(server), policy: policy(server, pin: server.leafPin()))
        XCTAssertEqual(try client.checkChain(host: server.host(), chainDer: chain), .matched)

        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        XCTAssertEqual(listener.events.filter { $0.kind == .pinMismatch }.map { $0.details["host"] }, [server.host()])
    }

    func testEachFailureTheTestServerCanCauseIsItsOwnCase() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let core = try RukaSec(listener: nil)
        let pinned = try policy(server, pin: server.leafPin())
        // A port with nothing listening any more: another server's, stopped.
        var stopped: TestTlsServer? = try TestTlsServer.start(tls12Only: false)
        let deadPort = stopped!.port()
        stopped = nil
        XCTAssertNil(stopped)
        let resolve = [
            HostAddress(host: server.host(), address: server.address()),
            HostAddress(host: "wrong.rukapay.test", address: server.address()),
            HostAddress(host: "down.rukapay.test", address: "127.0.0.1:\(deadPort)"),
        ]
        func options(maxResponseBytes: Int64 = 10_485_760, requestTimeoutMs: Int64 = 30000) -> HttpsClientOptions {
            HttpsClientOptions(extraRootsDer: [server.rootDer()], requestTimeoutMs: requestTimeoutMs,
                               maxResponseBytes: maxResponseBytes, resolve: resolve)
        }
        let client = try core.httpsClient(options: options(), policy: pinned)
        await assertTlsError("HostnameMismatch") {
            try await client.send(request: HttpRequest(method: "GET", url: "https://wrong.rukapay.test:\(server.port())/"))
        }
        await assertTlsError("Connection") {
            try await client.send(request: HttpRequest(method: "GET", url: "https://down.rukapay.test:\(deadPort)/"))
        }
        await assertTlsError("Redirect") {
            try await client.send(request: HttpRequest(method: "GET",
                                                       url: server.url(path: "/redirect?to=http://example.com/&status=302")))
        }
        let small = try core.httpsClient(options: options(maxResponseBytes: 100), policy: pinned)
        await assertTlsError("ResponseTooLarge") {
            try await small.send(request: HttpRequest(method: "GET", url: server.url(path: "/big?bytes=100000")))
        }
        let hasty = try core.httpsClient(options: options(requestTimeoutMs: 1), policy: pinned)
        await assertTlsError("Timeout") {
            try await hasty.send(request: HttpRequest(method: "GET", url: server.url(path: "/big?bytes=10000000")))
        }
        XCTAssertThrowsError(try core.httpsClient(options: options(requestTimeoutMs: -1), policy: pinned)) { error in
            XCTAssertEqual(tlsCase(error)?.name, "InvalidInput", "\(error)")
        }
    }

    func testServerRefusalsAndCutOffBodiesAreTheirOwnCases() async throws {
        let core = try RukaSec(listener: nil)
        func client(_ server: TestTlsServer, extraRoots: [Data]? = nil, allowTls12: Bool = false) throws -> HttpsClient {
            try core.httpsClient(
                options: HttpsClientOptions(allowTls12: allowTls12, extraRootsDer: extraRoots ?? [server.rootDer()],
                                            resolve: [HostAddress(host: server.host(), address: server.address())]),
                policy: policy(server, pin: server.leafPin()))
        }
        let expired = try TestTlsServer.startKind(kind: .expiredLeaf)
        let toExpired = try client(expired)
        await assertTlsError("ExpiredCertificate") { try await toExpired.send(request: HttpRequest(method: "GET", url: expired.url(path: "/"))) }

        let demanding = try TestTlsServer.startKind(kind: .clientCertificateRequired)
        let toDemanding = try client(demanding, allowTls12: true)
        await assertTlsError("Handshake") { try await toDemanding.send(request: HttpRequest(method: "GET", url: demanding.url(path: "/"))) }
        XCTAssertEqual(demanding.requestCount(), 0)

        let tls12 = try TestTlsServer.start(tls12Only: true)
        let toTls12 = try client(tls12)
        await assertTlsError("ProtocolVersion") { try await toTls12.send(request: HttpRequest(method: "GET", url: tls12.url(path: "/"))) }

        let server = try TestTlsServer.start(tls12Only: false)
        // Trusting another server's root: the chain does not lead to a trusted anchor.
        let untrusting = try client(server, extraRoots: [expired.rootDer()])
        await assertTlsError("UntrustedCertificate") { try await untrusting.send(request: HttpRequest(method: "GET", url: server.url(path: "/"))) }
        let toServer = try client(server)
        await assertTlsError("Protocol") { try await toServer.send(request: HttpRequest(method: "GET", url: server.url(path: "/truncated"))) }
    }

    func testPolicyUpdaterRefusesRollbackAndExpiryAndAnUnreadableStore() throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let core = try RukaSec(listener: nil)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let signer = try TestSoftwareSigner.generate()
        let b64 = { (data: Data) in
            data.base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        func signed(version: Int, expires: String = "2099-01-01T00:00:00Z") throws -> String {
            let payload = #"{"version":\#(version),"expires":"\#(expires)","domains":[{"pattern":"\#(server.host())","pins":["\#(server.leafPin())","\#(backupPin)"]}]}"#
            let input = b64(Data(#"{"alg":"ES256","typ":"rukasec-pin-policy+jwt"}"#.utf8)) + "." + b64(Data(payload.utf8))
            return input + "." + b64(try signer.sign(message: Data(input.utf8)))
        }
        let updater = try core.policyUpdater(publicKeys: [signer.spkiDer()], storePath: dir.appendingPathComponent("pin-policy.jws").path)
        XCTAssertEqual(try updater.apply(document: signed(version: 3)).domains().first?.pattern, server.host())
        XCTAssertEqual(try updater.installedVersion(), 3)
        XCTAssertThrowsError(try updater.apply(document: signed(version: 2))) { error in
            XCTAssertEqual(tlsCase(error)?.name, "PolicyRollback", "\(error)")
        }
        XCTAssertThrowsError(try updater.apply(document: signed(version: 4, expires: "2020-01-01T00:00:00Z"))) { error in
            XCTAssertEqual(tlsCase(error)?.name, "PolicyExpired", "\(error)")
        }
        XCTAssertEqual(try updater.installedVersion(), 3)

        // A store path below a regular file cannot be read: Storage, not "nothing installed".
        let plain = dir.appendingPathComponent("plain")
        try Data("not a directory".utf8).write(to: plain)
        let blocked = try core.policyUpdater(publicKeys: [signer.spkiDer()], storePath: plain.appendingPathComponent("pin-policy.jws").path)
        XCTAssertThrowsError(try blocked.installedVersion()) { error in
            XCTAssertEqual(tlsCase(error)?.name, "Storage", "\(error)")
        }
    }

    func testPinCheckerUsedAloneSendsItsReports() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)
        let reportOnly = try PinPolicy(domains: [
            DomainPin(pattern: server.host(), includeSubdomains: false, pins: [otherPin],
                      expiresUnixMs: nil, enforce: false, reportUri: server.url(path: "/report")),
        ])
        let checker = try core.httpsClient(options: options(server), policy: reportOnly).pinChecker()
        XCTAssertEqual(try checker.checkChain(host: server.host(), chainDer: server.chainDer()), .reportOnlyMismatch)
        _ = try await checker.flushReports()
        let report = try XCTUnwrap(server.lastRequest())
        XCTAssertEqual(report.method, "POST")
        XCTAssertTrue(report.url.hasSuffix("/report"), report.url)
        let body = String(decoding: report.body, as: UTF8.self)
        XCTAssertTrue(body.contains("\"hostname\":\"\(server.host())\""), body)
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        XCTAssertFalse(listener.events.filter { $0.kind == .pinReportSent }.isEmpty)
    }

    func testHttpUrlThrowsInsecureScheme() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let core = try RukaSec(listener: nil)
        let client = try core.httpsClient(options: options(server), policy: policy(server, pin: server.leafPin()))
        let url = "http://\(server.host()):\(server.port())/"
        await assertTlsError("InsecureScheme") { try await client.send(request: HttpRequest(method: "GET", url: url)) }
        await assertTlsError("InvalidInput") { try await client.send(request: HttpRequest(method: "GET", url: "not a url")) }
        XCTAssertEqual(server.requestCount(), 0)
    }

    func testPolicyUpdaterRefusesDocumentsItCannotVerify() throws {
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = dir.appendingPathComponent("pin-policy.jws").path
        // The EC fixture's public key (a P-256 SubjectPublicKeyInfo, PEM); nobody here has its
        // private key, so no document verifies.
        let key = Data("""
            -----BEGIN PUBLIC KEY-----
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZtf0kHuPTbpwWAomt76QTIIPG+Gw
            wARXx+9SF9dtGtrBX6CwJ3Q0HVgjQGv33WIXAG0Jx+M5yKSq1zDmEFOsJw==
            -----END PUBLIC KEY-----

            """.utf8)
        let updater = try core.policyUpdater(publicKeys: [key], storePath: store)
        XCTAssertNil(try updater.installed())
        XCTAssertNil(try updater.installedVersion())

        let b64 = { (text: String) in
            Data(text.utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let forged = b64(#"{"alg":"ES256","typ":"rukasec-pin-policy+jwt"}"#) + "." +
            b64(#"{"version":9,"expires":"2099-01-01T00:00:00Z","domains":[]}"#) + "." +
            String(repeating: "A", count: 86) // 64 zero bytes: a well-formed, wrong signature
        XCTAssertThrowsError(try updater.apply(document: forged)) { error in
            XCTAssertEqual(tlsCase(error)?.name, "PolicySignature", "\(error)")
        }
        XCTAssertThrowsError(try updater.apply(document: "only.two")) { error in
            XCTAssertEqual(tlsCase(error)?.name, "InvalidInput", "\(error)")
        }
        XCTAssertNil(try updater.installedVersion())
        XCTAssertThrowsError(try core.policyUpdater(publicKeys: [Data([1, 2, 3])], storePath: store)) { error in
            XCTAssertEqual(tlsCase(error)?.name, "InvalidInput", "\(error)")
        }

        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        XCTAssertEqual(listener.events.filter { $0.kind == .pinPolicyRejected }.map { $0.details["failure"] },
                       ["policy-signature", "malformed"])
    }

    func testInvalidPoliciesThrowInvalidInputAndJsonRoundTrips() throws {
        let single = DomainPin(pattern: "api.rukapay.com", pins: [otherPin])
        XCTAssertThrowsError(try PinPolicy(domains: [single])) { error in
            XCTAssertEqual(tlsCase(error)?.name, "InvalidInput", "\(error)")
            XCTAssertTrue(tlsCase(error)?.reason.contains("backup") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try PinPolicy.fromJson(json: "{\"domains\": [], \"extra\": 1}")) { error in
            XCTAssertEqual(tlsCase(error)?.name, "InvalidInput", "\(error)")
        }
        XCTAssertThrowsError(try PinPolicy(domains: [DomainPin(pattern: "api.rukapay.com", pins: ["sha1/x", otherPin])])) { error in
            XCTAssertEqual(tlsCase(error)?.name, "InvalidInput", "\(error)")
        }

        let domains = [
            DomainPin(pattern: "api.rukapay.com", includeSubdomains: true, pins: [otherPin, backupPin],
                      expiresUnixMs: 4_102_444_800_000, enforce: true, reportUri: "https://reports.rukapay.com/pins"),
            DomainPin(pattern: "*.cdn.rukapay.com", pins: [otherPin], enforce: false),
        ]
        let policy = try PinPolicy(domains: domains)
        XCTAssertEqual(try policy.domains(), domains)
        let again = try PinPolicy.fromJson(json: policy.toJson())
        XCTAssertEqual(try again.domains(), domains)
        XCTAssertEqual(try again.toJson(), try policy.toJson())
    }
}
