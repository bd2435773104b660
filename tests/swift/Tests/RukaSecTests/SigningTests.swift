// Request signing through the generated Swift: `DeviceKey`, a `PlatformSigner` implemented in
// Swift and called back from Rust, `SignatureVerifier`, DPoP proofs, `HttpsClient.sendSigned`,
// and the `SignatureError` cases. Linux Swift has no CryptoKit or Secure Enclave, so the Swift
// platform signer delegates its cryptography to `TestSoftwareSigner` (feature ffi-testing), as an
// iOS app's signer delegates to `SecKeyCreateSignature`. The Rust tests cover RFC 9421 itself;
// these check the binding.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import RukaSec

extension SignatureError {
    /// The case's name and reason (an exhaustive switch: a case added or renamed in Rust fails
    /// to compile here).
    var nameAndReason: (name: String, reason: String) {
        switch self {
        case let .Malformed(reason): return ("Malformed", reason)
        case let .MissingComponent(reason): return ("MissingComponent", reason)
        case let .ComponentNotInMessage(reason): return ("ComponentNotInMessage", reason)
        case let .UnsupportedAlgorithm(reason): return ("UnsupportedAlgorithm", reason)
        case let .UnknownKey(reason): return ("UnknownKey", reason)
        case let .BadSignature(reason): return ("BadSignature", reason)
        case let .Expired(reason): return ("Expired", reason)
        case let .NotYetValid(reason): return ("NotYetValid", reason)
        case let .Replayed(reason): return ("Replayed", reason)
        case let .DigestMismatch(reason): return ("DigestMismatch", reason)
        case let .SignerFailed(reason): return ("SignerFailed", reason)
        case let .UserAuthenticationRequired(reason): return ("UserAuthenticationRequired", reason)
        case let .UserCancelled(reason): return ("UserCancelled", reason)
        case let .AuthenticationFailed(reason, _): return ("AuthenticationFailed", reason)
        case let .LockedOut(reason, _): return ("LockedOut", reason)
        case let .KeyInvalidated(reason): return ("KeyInvalidated", reason)
        case let .InvalidInput(reason): return ("InvalidInput", reason)
        case let .CryptoUnavailable(reason): return ("CryptoUnavailable", reason)
        case let .Storage(reason): return ("Storage", reason)
        case let .Internal(reason): return ("Internal", reason)
        }
    }
}

/// Asserts that `expression` throws the `SignatureError` case `expected` with a non-empty reason;
/// returns the reason.
@discardableResult
func assertSignatureError<T>(
    _ expected: String,
    _ expression: @autoclosure () throws -> T,
    file: StaticString = #filePath,
    line: UInt = #line,
    function: String = #function
) -> String? {
    var thrown: String?
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        reached(error, file: file, function: function)
        guard let (name, reason) = (error as? SignatureError)?.nameAndReason, name == expected else {
            XCTFail("expected SignatureError.\(expected), got \(type(of: error)): \(error)", file: file, line: line)
            return
        }
        XCTAssertFalse(reason.isEmpty, "empty reason", file: file, line: line)
        thrown = reason
    }
    return thrown
}

/// An app error that is not a `SignatureError`, as a keystore wrapper might throw.
struct KeystoreFailure: Error {
    let message: String
}

/// A platform key implemented in Swift. Its key lives in a `TestSoftwareSigner` (standing in for
/// the Secure Enclave); `mode` injects the faults a real keystore shows.
final class SwiftPlatformSigner: PlatformSigner, @unchecked Sendable {
    enum Mode {
        /// Signs correctly, returning raw `r‖s` and the public key as SubjectPublicKeyInfo.
        case good
        /// As `good`, with the public key as uncompressed SEC1 (what `SecKeyCopyExternalRepresentation` gives).
        case sec1
        /// `sign` throws an app error.
        case throwing
        /// `sign` throws a `SignatureError` of the app's choosing.
        case throwingSignatureError
        /// `sign` returns bytes that are no signature.
        case garbage
        /// `publicKey` throws.
        case noPublicKey
    }

    let key: TestSoftwareSigner
    let mode: Mode
    private let lock = NSLock()
    private var signed: [Data] = []

    init(_ mode: Mode = .good, key: TestSoftwareSigner? = nil) throws {
        self.key = try key ?? TestSoftwareSigner.generate()
        self.mode = mode
    }

    func publicKey() throws -> Data {
        switch mode {
        case .noPublicKey: throw KeystoreFailure(message: "keychain locked 4111")
        case .sec1: return key.sec1()
        default: return key.spkiDer()
        }
    }

    func sign(message: Data) throws -> Data {
        lock.lock()
        signed.append(message)
        lock.unlock()
        switch mode {
        case .throwing: throw KeystoreFailure(message: "card 4111111111111111")
        case .throwingSignatureError: throw thrownIntoRust(SignatureError.UnknownKey(reason: "user 4111 cancelled"))
        case .garbage: return Data(repeating: 7, count: 70)
        default: return try key.sign(message: message)
        }
    }

    var messages: [Data] {
        lock.lock()
        defer { lock.unlock() }
        return signed
    }
}

final class SigningTests: XCTestCase {
    override func setUp() {
        super.setUp()
        signal(SIGPIPE, SIG_IGN)
    }

    let body = Data("{\"amount\":42}".utf8)

    var request: HttpRequest {
        HttpRequest(method: "POST", url: "https://api.rukapay.test/v1/payments?id=7",
                    headers: [HttpHeader(name: "Content-Type", value: "application/json"),
                              HttpHeader(name: "Authorization", value: "Bearer t0k3n")],
                    body: body)
    }

    /// `request` with the signature headers added.
    func signed(_ request: HttpRequest, _ headers: SignedRequestHeaders) -> HttpRequest {
        var out = request
        if let digest = headers.contentDigest { out.headers.append(HttpHeader(name: "Content-Digest", value: digest)) }
        out.headers.append(HttpHeader(name: "Signature-Input", value: headers.signatureInput))
        out.headers.append(HttpHeader(name: "Signature", value: headers.signature))
        return out
    }

    func makeVerifier(_ keys: [String: Data], _ options: VerifierOptions = VerifierOptions()) throws -> SignatureVerifier {
        try SignatureVerifier(keys: keys, options: options)
    }

    func testSignAndVerifyRoundTrip() throws {
        let key = try DeviceKey.generate()
        let publicKey = try key.publicKey()
        XCTAssertEqual(publicKey.sec1.count, 65)
        XCTAssertTrue(publicKey.spkiPem.hasPrefix("-----BEGIN PUBLIC KEY-----"), publicKey.spkiPem)
        XCTAssertTrue(publicKey.jwk.hasPrefix("{\"crv\":\"P-256\",\"kty\":\"EC\""), publicKey.jwk)
        XCTAssertEqual(publicKey.thumbprint.count, 43)

        let headers = try key.signRequest(request: request, options: SignOptions(keyId: publicKey.thumbprint))
        XCTAssertTrue(headers.contentDigest?.hasPrefix("sha-256=:") ?? false, "\(String(describing: headers.contentDigest))")
        XCTAssertTrue(headers.signatureInput.hasPrefix("sig1=("), headers.signatureInput)
        XCTAssertTrue(headers.signature.hasPrefix("sig1=:"), headers.signature)
        XCTAssertTrue(headers.signatureBase.contains("\"@method\": POST\n"), headers.signatureBase)

        let verifier = try makeVerifier([publicKey.thumbprint: publicKey.spkiDer])
        let verified = try verifier.verify(request: signed(request, headers))
        XCTAssertEqual(verified.label, "sig1")
        XCTAssertEqual(verified.keyid, publicKey.thumbprint)
        XCTAssertTrue(verified.components.contains("\"@method\""), "\(verified.components)")
        XCTAssertNotNil(verified.created)
        XCTAssertNil(verified.expires)
        XCTAssertEqual(verified.nonce?.count, 22, "a random nonce by default")

        // Opting out: the default verifier refuses a POST without a nonce; a lenient one accepts.
        let bare = try key.signRequest(request: request, options: SignOptions(keyId: publicKey.thumbprint, noNonce: true))
        XCTAssertFalse(bare.signatureInput.contains("nonce="), bare.signatureInput)
        assertSignatureError("Malformed", try verifier.verify(request: signed(request, bare)))
        let lenient = try makeVerifier([publicKey.thumbprint: publicKey.spkiDer],
                                       VerifierOptions(requireNonceForUnsafeMethods: false, replayCachePerKey: 10))
        XCTAssertNil(try lenient.verify(request: signed(request, bare)).nonce)

        // Every option crosses; the verifier's options too.
        let options = SignOptions(keyId: "device-1", label: "app", components: ["\"@method\"", "\"@path\"", "\"content-digest\""],
                                  expiresInSeconds: 60, nonce: "n-1", tag: "rukapay", sha512: true)
        let custom = try key.signRequest(request: request, options: options)
        XCTAssertTrue(custom.contentDigest?.hasPrefix("sha-512=:") ?? false)
        let strict = try makeVerifier(["device-1": publicKey.sec1],
                                       VerifierOptions(required: ["\"@method\"", "\"@path\""], requireNonce: true,
                                                       label: "app", tag: "rukapay"))
        let checked = try strict.verify(request: signed(request, custom))
        XCTAssertEqual(checked.label, "app")
        XCTAssertEqual(checked.components, ["\"@method\"", "\"@path\"", "\"content-digest\""])
        XCTAssertEqual(checked.nonce, "n-1")
        XCTAssertEqual(checked.tag, "rukapay")
        XCTAssertEqual((checked.expires ?? 0) - (checked.created ?? 0), 60)
        assertSignatureError("Replayed", try strict.verify(request: signed(request, custom)))
    }

    func testVerifierRefusalsAreTheirCases() throws {
        let key = try DeviceKey.generate()
        let good = signed(request, try key.signRequest(request: request, options: SignOptions(keyId: "k1")))
        let verifier = try makeVerifier(["k1": key.publicKey().spkiDer])
        var altered = good
        altered.headers = good.headers.map {
            $0.name == "Authorization" ? HttpHeader(name: $0.name, value: "Bearer other") : $0
        }
        assertSignatureError("BadSignature", try verifier.verify(request: altered))
        var otherBody = good
        otherBody.body = Data("{\"amount\":9999}".utf8)
        assertSignatureError("DigestMismatch", try verifier.verify(request: otherBody))
        assertSignatureError("MissingComponent", try verifier.verify(request: request))
        assertSignatureError("UnknownKey", try makeVerifier(["k2": key.publicKey().spkiDer]).verify(request: good))
        // Parameters checked before the signature: another algorithm, `created` in the future
        // or long past.
        func withInput(_ edit: (String) -> String) -> HttpRequest {
            var edited = good
            edited.headers = good.headers.map {
                $0.name == "Signature-Input" ? HttpHeader(name: $0.name, value: edit($0.value)) : $0
            }
            return edited
        }
        func replacingCreated(_ input: String, with created: Int) -> String {
            input.replacingOccurrences(of: #";created=[0-9]+"#, with: ";created=\(created)", options: .regularExpression)
        }
        let otherAlgorithm = withInput {
            $0.replacingOccurrences(of: #";alg="[^"]*""#, with: "", options: .regularExpression) + #";alg="rsa-pss-sha512""#
        }
        assertSignatureError("UnsupportedAlgorithm", try verifier.verify(request: otherAlgorithm))
        let now = Int(Date().timeIntervalSince1970)
        assertSignatureError("NotYetValid", try verifier.verify(request: withInput { replacingCreated($0, with: now + 3600) }))
        assertSignatureError("Expired", try verifier.verify(request: withInput { replacingCreated($0, with: now - 86400) }))
        XCTAssertEqual(try verifier.verify(request: good).keyid, "k1")

        // Signing and construction refusals.
        assertSignatureError("Malformed", try key.signRequest(request: request, options: SignOptions(keyId: "k", components: ["@method"])))
        assertSignatureError("ComponentNotInMessage",
                             try key.signRequest(request: request, options: SignOptions(keyId: "k", components: ["\"x-missing\""])))
        assertSignatureError("InvalidInput", try key.signRequest(request: request, options: SignOptions(keyId: "")))
        assertSignatureError("InvalidInput", try makeVerifier(["k": Data([0x04, 1, 2])]))
        assertSignatureError("InvalidInput", try DeviceKey.fromPkcs8Pem(pem: "not a key"))
    }

    func testSwiftPlatformSignerSignsThroughTheCore() throws {
        for mode in [SwiftPlatformSigner.Mode.good, .sec1] {
            let signer = try SwiftPlatformSigner(mode)
            let key = try DeviceKey.platform(signer: signer)
            XCTAssertEqual(try key.publicKey().spkiDer, signer.key.spkiDer())
            XCTAssertEqual(try key.publicKey().sec1, signer.key.sec1())

            let headers = try key.signRequest(request: request, options: SignOptions(keyId: "hw"))
            XCTAssertEqual(signer.messages, [Data(headers.signatureBase.utf8)])
            let verified = try makeVerifier(["hw": signer.key.spkiDer()]).verify(request: signed(request, headers))
            XCTAssertEqual(verified.keyid, "hw")

            let proof = try key.dpopProof(method: "GET", url: "https://api.rukapay.test/", accessToken: nil, nonce: nil)
            XCTAssertEqual(proof.split(separator: ".").count, 3)
            XCTAssertEqual(signer.messages.count, 2)
        }
    }

    func testFailingSwiftSignerGivesSignerFailedWithoutItsText() throws {
        for mode in [SwiftPlatformSigner.Mode.throwing, .throwingSignatureError, .garbage] {
            let key = try DeviceKey.platform(signer: SwiftPlatformSigner(mode))
            let reason = assertSignatureError("SignerFailed", try key.signRequest(request: request, options: SignOptions(keyId: "hw")))
            XCTAssertFalse(reason?.contains("4111") ?? false, "\(mode): \(reason ?? "")")
            assertSignatureError("SignerFailed",
                                 try key.dpopProof(method: "GET", url: "https://api.rukapay.test/", accessToken: nil, nonce: nil))
        }
        // A valid signature by another key does not verify with the public key it gave.
        let other = try TestSoftwareSigner.generate()
        let liar = SwiftPlatformSignerWithForeignKey(publicFrom: try TestSoftwareSigner.generate(), signWith: other)
        assertSignatureError("SignerFailed", try DeviceKey.platform(signer: liar).signRequest(request: request, options: SignOptions(keyId: "hw")))

        let reason = assertSignatureError("SignerFailed", try DeviceKey.platform(signer: SwiftPlatformSigner(.noPublicKey)))
        XCTAssertFalse(reason?.contains("4111") ?? false, reason ?? "")
    }

    func testDpopProofShape() throws {
        let key = try DeviceKey.generate()
        let proof = try key.dpopProof(method: "POST", url: "https://api.rukapay.test/token?x=1", accessToken: "access-token",
                                      nonce: "server-nonce")
        let parts = proof.split(separator: ".").map(String.init)
        XCTAssertEqual(parts.count, 3)
        let header = try XCTUnwrap(base64url(parts[0]).flatMap { String(data: $0, encoding: .utf8) })
        XCTAssertTrue(header.contains("\"typ\":\"dpop+jwt\""), header)
        XCTAssertTrue(header.contains("\"alg\":\"ES256\""), header)
        XCTAssertTrue(header.contains(try key.publicKey().jwk), header)
        let claims = try XCTUnwrap(base64url(parts[1]).flatMap { String(data: $0, encoding: .utf8) })
        XCTAssertTrue(claims.contains("\"htm\":\"POST\""), claims)
        XCTAssertTrue(claims.contains("\"htu\":\"https://api.rukapay.test/token\""), claims)
        XCTAssertTrue(claims.contains("\"ath\":") && claims.contains("\"nonce\":\"server-nonce\""), claims)
        XCTAssertEqual(base64url(parts[2])?.count, 64)
        assertSignatureError("InvalidInput", try key.dpopProof(method: "GET", url: "not a url", accessToken: nil, nonce: nil))
    }

    func testLoadOrCreateInAVault() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-signing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let core = try RukaSec(listener: nil)
        let vault = try core.openVault(dir: dir.path, wrapper: HandleKeyWrapper())
        let first = try DeviceKey.loadOrCreate(vault: vault, account: "alice").publicKey()
        let again = try DeviceKey.loadOrCreate(vault: vault, account: "alice").publicKey()
        XCTAssertEqual(first, again)
        XCTAssertNotEqual(try DeviceKey.loadOrCreate(vault: vault, account: "bob").publicKey().thumbprint, first.thumbprint)
        try vault.put(account: "carol", namespace: "rukasec.signing", name: "device-key", value: Data([1, 2, 3]),
                      dataClass: .restricted, ttlSeconds: nil)
        assertSignatureError("Storage", try DeviceKey.loadOrCreate(vault: vault, account: "carol"))
    }

    func testSendSignedReachesTheServerSigned() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let core = try RukaSec(listener: nil)
        let options = HttpsClientOptions(extraRootsDer: [server.rootDer()],
                                         resolve: [HostAddress(host: server.host(), address: server.address())])
        let policy = try PinPolicy(domains: [DomainPin(pattern: server.host(),
                                                       pins: [server.leafPin(), "sha256/YmFja3VwLWtleS1rZXB0LW9mZmxpbmUtMDAwMDAwMDA="])])
        let client = try core.httpsClient(options: options, policy: policy)
        let key = try DeviceKey.generate()
        var outgoing = request
        outgoing.url = server.url(path: "/hello")
        let sending = outgoing
        let response = try await withTimeout { try await client.sendSigned(request: sending, key: key, options: SignOptions(keyId: "k1")) }
        XCTAssertEqual(response.status, 200)
        let seen = try XCTUnwrap(server.lastRequest())
        XCTAssertEqual(try makeVerifier(["k1": key.publicKey().spkiDer]).verify(request: seen).keyid, "k1")

        do {
            _ = try await withTimeout {
                try await client.sendSigned(request: sending, key: key, options: SignOptions(keyId: "k1", components: ["\"x-missing\""]))
            }
            XCTFail("expected TlsError.Signing")
        } catch let error as TlsError {
            reached(error)
            guard case let .Signing(reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.hasPrefix("component-not-in-message"), reason)
        }
        XCTAssertEqual(server.requestCount(), 1)
    }
}

/// Reports one key's public half and signs with another: what a wrong keystore alias does.
final class SwiftPlatformSignerWithForeignKey: PlatformSigner, @unchecked Sendable {
    let publicFrom: TestSoftwareSigner
    let signWith: TestSoftwareSigner

    init(publicFrom: TestSoftwareSigner, signWith: TestSoftwareSigner) {
        self.publicFrom = publicFrom
        self.signWith = signWith
    }

    func publicKey() throws -> Data { publicFrom.spkiDer() }
    func sign(message: Data) throws -> Data { try signWith.sign(message: message) }
}

/// Decodes base64url without padding.
func base64url(_ text: String) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64.append("=") }
    return Data(base64Encoded: base64)
}
