// A device key that needs the user for each signature, through the generated Swift: a Swift
// `AuthBoundSigner` (an `async` method, as a Secure Enclave key with `.biometryCurrentSet` is
// signed with an `LAContext`) answering from a script, `PromptedSignature`,
// `AuthBoundDeviceKey`, `HttpsClient.sendSignedAuthenticated`, and each `SignatureError` case of
// a prompt. The policy (counting, lockout, allowed methods) is tested in Rust.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import RukaSec

/// A software key (standing in for the Secure Enclave) whose every signature first "prompts":
/// the next scripted outcome.
final class ScriptedAuthBoundSigner: AuthBoundSigner, @unchecked Sendable {
    let key: TestSoftwareSigner
    private let lock = NSLock()
    private var script: [AuthOutcome]
    private var seen: [AuthRequest] = []

    init(_ script: [AuthOutcome]) throws {
        key = try TestSoftwareSigner.generate()
        self.script = script
    }

    var requests: [AuthRequest] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }

    private func next(_ request: AuthRequest) -> AuthOutcome {
        lock.lock()
        defer { lock.unlock() }
        seen.append(request)
        return script.isEmpty ? .cancelled : script.removeFirst()
    }

    func publicKey() throws -> Data {
        key.sec1()
    }

    func sign(message: Data, request: AuthRequest) async throws -> PromptedSignature {
        switch next(request) {
        case let .success(method):
            return .signed(method: method, signature: try key.sign(message: message))
        case let other:
            return .refused(outcome: other)
        }
    }
}

/// Its key cannot be read, or its signing throws an app error.
final class BrokenAuthBoundSigner: AuthBoundSigner, @unchecked Sendable {
    let key: TestSoftwareSigner
    let publicKeyWorks: Bool

    init(publicKeyWorks: Bool) throws {
        key = try TestSoftwareSigner.generate()
        self.publicKeyWorks = publicKeyWorks
    }

    func publicKey() throws -> Data {
        guard publicKeyWorks else { throw KeystoreFailure(message: "no key canary 4111") }
        return key.spkiDer()
    }

    func sign(message: Data, request: AuthRequest) async throws -> PromptedSignature {
        throw KeystoreFailure(message: "keystore canary 4111")
    }
}

final class AuthBoundSigningTests: XCTestCase {
    /// The test server's peer may close a TLS connection mid-write: ignore SIGPIPE, as an app
    /// host does (see `TlsTests.setUp`).
    override class func setUp() {
        super.setUp()
        signal(SIGPIPE, SIG_IGN)
    }

    private var dir: URL!
    private var core: RukaSec!
    private let strong = AuthOutcome.success(method: .strongBiometric)
    private let payment = HttpRequest(method: "POST", url: "https://api.rukapay.test/v1/payments",
                                      headers: [HttpHeader(name: "Content-Type", value: "application/json")],
                                      body: Data("{\"amount\":5000}".utf8))

    override func setUpWithError() throws {
        // sendSignedAuthenticated talks to the test server: a plain Linux process must ignore
        // SIGPIPE itself (docs/ARCHITECTURE.md, SIGPIPE). It runs before the other TLS tests.
        signal(SIGPIPE, SIG_IGN)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-authbound-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        core = try RukaSec(listener: nil)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// A gate of `policy` from a vault (the gate's counter lives there).
    private func gate(_ policy: UnlockPolicy = UnlockPolicy()) throws -> (Vault, UnlockGate) {
        let vault = try core.openVault(dir: dir.path, wrapper: HandleKeyWrapper())
        return (vault, try vault.enableUnlock(policy: policy, authenticator: ScriptedAuthenticator()))
    }

    private func signed(_ request: HttpRequest, _ headers: SignedRequestHeaders) -> HttpRequest {
        var out = request
        if let digest = headers.contentDigest { out.headers.append(HttpHeader(name: "Content-Digest", value: digest)) }
        out.headers.append(HttpHeader(name: "Signature-Input", value: headers.signatureInput))
        out.headers.append(HttpHeader(name: "Signature", value: headers.signature))
        return out
    }

    /// Signs `payment` with `key`, expecting the `SignatureError` case `expected`.
    @discardableResult
    private func expectSignatureError(_ expected: String, _ key: AuthBoundDeviceKey, line: UInt = #line) async -> SignatureError? {
        let payment = payment
        do {
            _ = try await withTimeout { try await key.signRequest(request: payment, options: SignOptions(keyId: "hw"), reason: "Pay") }
            XCTFail("expected SignatureError.\(expected)", line: line)
        } catch {
            reached(error)
            guard let error = error as? SignatureError else { XCTFail("\(error)", line: line); return nil }
            let name = Mirror(reflecting: error).children.first?.label ?? "\(error)"
            XCTAssertEqual(name, expected, "\(error)", line: line)
            return error
        }
        return nil
    }

    func testAPromptedSignatureVerifiesAndAsksForAStrongBiometricForRestricted() async throws {
        let signer = try ScriptedAuthBoundSigner([strong, strong])
        let (vault, gate) = try gate()
        _ = vault
        let key = try AuthBoundDeviceKey(signer: signer, gate: gate)
        XCTAssertEqual(try key.publicKey().sec1, signer.key.sec1())
        let payment = payment
        let headers = try await withTimeout {
            try await key.signRequest(request: payment, options: SignOptions(keyId: "hw"), reason: "Confirm the payment")
        }
        let verifier = try SignatureVerifier(keys: ["hw": try key.publicKey().spkiDer], options: VerifierOptions())
        XCTAssertEqual(try verifier.verify(request: signed(payment, headers)).keyid, "hw")
        let prompt = try XCTUnwrap(signer.requests.first)
        XCTAssertEqual(prompt.dataClass, .restricted)
        XCTAssertEqual(prompt.allowed, [.strongBiometric])
        XCTAssertEqual(prompt.reason, "Confirm the payment")
        XCTAssertTrue(try gate.isUnlocked(dataClass: .restricted))

        let proof = try await withTimeout {
            try await key.dpopProof(method: "POST", url: "https://api.rukapay.test/token", accessToken: nil, nonce: nil, reason: "Sign in")
        }
        XCTAssertEqual(proof.split(separator: ".").count, 3)
        XCTAssertEqual(signer.requests.count, 2)
    }

    func testEachWayAPromptEndsWithoutASignatureIsItsOwnError() async throws {
        let signer = try ScriptedAuthBoundSigner([
            .cancelled, .failed, .keyInvalidated, .notEnrolled,
            .success(method: .deviceCredential), .lockedOut(untilUnixMs: 1_900_000_000_000),
        ])
        let (vault, gate) = try gate(UnlockPolicy(maxFailures: 3))
        _ = vault
        let key = try AuthBoundDeviceKey(signer: signer, gate: gate)
        await expectSignatureError("UserCancelled", key)
        let failed = await expectSignatureError("AuthenticationFailed", key)
        guard case let .AuthenticationFailed(_, remaining)? = failed else { return XCTFail("\(String(describing: failed))") }
        XCTAssertEqual(remaining, 2)
        await expectSignatureError("KeyInvalidated", key)
        await expectSignatureError("UserAuthenticationRequired", key)
        // The passcode does not count for Restricted by default: the signature is discarded.
        await expectSignatureError("UserAuthenticationRequired", key)
        let locked = await expectSignatureError("LockedOut", key)
        guard case let .LockedOut(_, until)? = locked else { return XCTFail("\(String(describing: locked))") }
        XCTAssertEqual(until, 1_900_000_000_000)
        XCTAssertEqual(signer.requests.count, 6)
    }

    func testASignerThatThrowsIsSignerFailedWithoutItsText() async throws {
        let (vault, gate) = try gate()
        _ = vault
        assertSignatureError("SignerFailed", try AuthBoundDeviceKey(signer: BrokenAuthBoundSigner(publicKeyWorks: false), gate: gate))
        let key = try AuthBoundDeviceKey(signer: BrokenAuthBoundSigner(publicKeyWorks: true), gate: gate)
        let error = await expectSignatureError("SignerFailed", key)
        XCTAssertFalse("\(String(describing: error))".contains("4111"))
    }

    func testSendSignedAuthenticatedSendsAfterAPromptAndNothingWhenCancelled() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let options = HttpsClientOptions(extraRootsDer: [server.rootDer()],
                                         resolve: [HostAddress(host: server.host(), address: server.address())])
        let policy = try PinPolicy(domains: [DomainPin(pattern: server.host(),
                                                       pins: [server.leafPin(), "sha256/YmFja3VwLWtleS1rZXB0LW9mZmxpbmUtMDAwMDAwMDA="])])
        let client = try core.httpsClient(options: options, policy: policy)
        let (vault, gate) = try gate()
        _ = vault
        let key = try AuthBoundDeviceKey(signer: ScriptedAuthBoundSigner([strong, .cancelled]), gate: gate)
        var outgoing = payment
        outgoing.url = server.url(path: "/hello")
        let sending = outgoing
        let response = try await withTimeout {
            try await client.sendSignedAuthenticated(request: sending, key: key, options: SignOptions(keyId: "hw"), reason: "Pay")
        }
        XCTAssertEqual(response.status, 200)
        let verifier = try SignatureVerifier(keys: ["hw": try key.publicKey().sec1], options: VerifierOptions())
        XCTAssertEqual(try verifier.verify(request: XCTUnwrap(server.lastRequest())).keyid, "hw")
        do {
            _ = try await withTimeout {
                try await client.sendSignedAuthenticated(request: sending, key: key, options: SignOptions(keyId: "hw"), reason: "Pay")
            }
            XCTFail("expected TlsError.Signing")
        } catch let error as TlsError {
            reached(error)
            guard case let .Signing(reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("cancelled"), reason)
        }
        XCTAssertEqual(server.requestCount(), 1)
    }
}
