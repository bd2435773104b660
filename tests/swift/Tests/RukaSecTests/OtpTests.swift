// One-time passwords through the generated Swift: `Totp`, `Hotp`, `parseOtpauthUri` and the
// vault calls for OTP enrolments. RFC 4226 and RFC 6238 known answers are read at run time from
// the shared vectors (`$RUKASEC_VECTORS`, which scripts/test-swift.sh mounts into the chroot,
// else `../shared/vectors` beside the repository); then replay refusal through `lastUsedStep`,
// otpauth round trips, the vault round trip and its unlock gate, every `OtpError` case, and
// the secret and account kept out of `description` and error reasons.

import Foundation
import XCTest

import RukaSec

/// Asserts that `expression` throws the `OtpError` case named `expected`; returns its reason.
@discardableResult
func assertOtpError<T>(
    _ expected: String,
    _ expression: @autoclosure () throws -> T,
    file: StaticString = #filePath,
    line: UInt = #line,
    function: String = #function
) -> String {
    var reason = ""
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        reached(error, file: file, function: function)
        switch (expected, error as? OtpError) {
        case let ("InvalidInput", .InvalidInput(text)?), let ("CryptoUnavailable", .CryptoUnavailable(text)?),
             let ("Internal", .Internal(text)?):
            reason = text
        default:
            XCTFail("expected OtpError.\(expected), got \(type(of: error)): \(error)", file: file, line: line)
        }
    }
    XCTAssertFalse(reason.isEmpty, "empty reason", file: file, line: line)
    return reason
}

final class OtpTests: XCTestCase {
    private let alice = "alice"
    private let rfcSecret = Data("12345678901234567890".utf8)
    private var dir: URL!
    private var core: RukaSec!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-otp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        core = try RukaSec(listener: nil)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// The parsed vector file.
    private func vectors() throws -> [String: Any] {
        let env = ProcessInfo.processInfo.environment["RUKASEC_VECTORS"] ?? ""
        let folder = env.isEmpty ? Fixtures.root.appendingPathComponent("../shared/vectors") : URL(fileURLWithPath: env)
        let url = folder.appendingPathComponent("otp_rfc4226_rfc6238.json")
        let data = try Data(contentsOf: url)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func hex(_ text: String) -> Data {
        var data = Data()
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            data.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return data
    }

    private func algorithm(_ mode: String) -> OtpAlgorithm {
        switch mode {
        case "SHA256": return .sha256
        case "SHA512": return .sha512
        default: return .sha1
        }
    }

    func testTotpCodesMatchRfc6238ForEveryRowAndMode() throws {
        let table = try XCTUnwrap(try vectors()["totp_rfc6238"] as? [String: Any])
        let seeds = try XCTUnwrap(table["seeds_hex"] as? [String: String])
        let rows = try XCTUnwrap(table["vectors"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(rows.filter { $0["mode"] as? String == "SHA1" }.count, 6)
        XCTAssertTrue(rows.contains { $0["mode"] as? String == "SHA256" })
        XCTAssertTrue(rows.contains { $0["mode"] as? String == "SHA512" })
        for row in rows {
            let mode = try XCTUnwrap(row["mode"] as? String)
            let time = try XCTUnwrap((row["time"] as? NSNumber)?.int64Value)
            let expected = try XCTUnwrap(row["totp"] as? String)
            let totp = try Totp(secret: hex(try XCTUnwrap(seeds[mode])), algorithm: algorithm(mode), digits: 8, periodSeconds: 30)
            XCTAssertEqual(try totp.codeAt(unixSeconds: time), expected, "\(mode) at \(time)")
            XCTAssertEqual(try totp.timeStep(unixSeconds: time), time / 30)
            XCTAssertEqual(try totp.algorithm(), algorithm(mode))
            XCTAssertEqual(try totp.digits(), 8)
            XCTAssertEqual(try totp.periodSeconds(), 30)
            XCTAssertEqual(try totp.verify(code: expected, atUnixSeconds: time, window: 0, lastUsedStep: nil),
                           .accepted(step: time / 30))
        }
    }

    func testHotpCodesMatchRfc4226AppendixD() throws {
        let table = try XCTUnwrap(try vectors()["hotp_rfc4226"] as? [String: Any])
        let rows = try XCTUnwrap(table["vectors"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 10)
        let hotp = try Hotp(secret: hex(try XCTUnwrap(table["secret_hex"] as? String)), algorithm: .sha1)
        XCTAssertEqual(try hotp.algorithm(), .sha1)
        XCTAssertEqual(try hotp.digits(), 6)
        var codes: [String] = []
        for row in rows {
            let counter = try XCTUnwrap((row["counter"] as? NSNumber)?.int64Value)
            let expected = try XCTUnwrap(row["hotp"] as? String)
            XCTAssertEqual(try hotp.code(counter: counter), expected, "counter \(counter)")
            codes.append(expected)
        }
        XCTAssertEqual(try hotp.verify(code: codes[3], counter: 1, lookAhead: 5, lastUsedStep: 0), .accepted(step: 3))
        XCTAssertEqual(try hotp.verify(code: codes[3], counter: 1, lookAhead: 5, lastUsedStep: 3), .replayed)
        XCTAssertEqual(try hotp.verify(code: codes[9], counter: 0, lookAhead: 2, lastUsedStep: nil), .invalid)
    }

    func testACodeOfTheLastUsedStepIsReplayedAndALaterOneAccepted() throws {
        let totp = try Totp.fromBase32(secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", algorithm: .sha1)
        let now: Int64 = 1_800_000_000
        let code = try totp.codeAt(unixSeconds: now)
        XCTAssertEqual(code.count, 6)
        guard case let .accepted(step) = try totp.verify(code: code, atUnixSeconds: now, window: 1, lastUsedStep: nil) else {
            return XCTFail("not accepted")
        }
        XCTAssertEqual(step, try totp.timeStep(unixSeconds: now))
        XCTAssertEqual(try totp.verify(code: code, atUnixSeconds: now, window: 1, lastUsedStep: step), .replayed)
        XCTAssertEqual(try totp.verify(code: code, atUnixSeconds: now + 30, window: 1, lastUsedStep: step + 1), .replayed)
        let next = try totp.codeAt(unixSeconds: now + 30)
        XCTAssertEqual(try totp.verify(code: next, atUnixSeconds: now + 30, window: 1, lastUsedStep: step), .accepted(step: step + 1))
        XCTAssertEqual(try totp.verify(code: code, atUnixSeconds: now + 120, window: 1, lastUsedStep: nil), .invalid)
        XCTAssertEqual(try totp.verify(code: "12345", atUnixSeconds: now, window: 1, lastUsedStep: nil), .invalid)
    }

    func testOtpauthUrisRoundTripThroughTotpHotpAndParse() throws {
        let totp = try Totp(secret: rfcSecret, algorithm: .sha256, digits: 7, periodSeconds: 60)
        let uri = try totp.otpauthUri(account: "alice@example.com", issuer: "Rukapay")
        XCTAssertEqual(uri, "otpauth://totp/Rukapay:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                       + "&issuer=Rukapay&algorithm=SHA256&digits=7&period=60")
        let info = try parseOtpauthUri(uri: uri)
        XCTAssertEqual(info, OtpAuthInfo(kind: .totp(periodSeconds: 60), algorithm: .sha256, digits: 7,
                                         account: "alice@example.com", issuer: "Rukapay"))
        let again = try Totp.fromOtpauthUri(uri: uri)
        XCTAssertEqual(try again.codeAt(unixSeconds: 1_234_567_890), try totp.codeAt(unixSeconds: 1_234_567_890))
        XCTAssertEqual(try again.periodSeconds(), 60)
        XCTAssertNil(try parseOtpauthUri(uri: try totp.otpauthUri(account: "bob")).issuer)

        let hotp = try Hotp.fromBase32(secret: "gezd gnbv gy3t qojq gezd gnbv gy3t qojq", algorithm: .sha1, digits: 6)
        let hotpUri = try hotp.otpauthUri(counter: 5, account: "alice", issuer: "Rukapay")
        XCTAssertEqual(try parseOtpauthUri(uri: hotpUri).kind, .hotp(counter: 5))
        XCTAssertEqual(try Hotp.fromOtpauthUri(uri: hotpUri).code(counter: 5), "254676")
        XCTAssertEqual(try hotp.code(counter: 5), "254676")
    }

    func testEnrolmentsRoundTripThroughTheVaultAndAGatedVaultNeedsAnUnlock() async throws {
        let vault = try core.openVault(dir: dir.path, wrapper: HandleKeyWrapper())
        XCTAssertNil(try loadTotp(vault: vault, account: alice, name: "rukapay"))
        XCTAssertNil(try loadOtpAuthInfo(vault: vault, account: alice, name: "rukapay"))
        try Totp(secret: rfcSecret, algorithm: .sha1)
            .saveTo(vault: vault, account: alice, name: "rukapay", label: "alice@example.com", issuer: "Rukapay")
        try Hotp(secret: rfcSecret, algorithm: .sha512, digits: 8)
            .saveTo(vault: vault, account: alice, name: "bank", counter: 42, label: "alice")
        XCTAssertEqual(try vault.list(account: alice, namespace: "rukasec.otp"), ["bank", "rukapay"])
        XCTAssertEqual(try XCTUnwrap(try loadTotp(vault: vault, account: alice, name: "rukapay")).codeAt(unixSeconds: 59), "287082")
        let hotp = try XCTUnwrap(try loadHotp(vault: vault, account: alice, name: "bank"))
        XCTAssertEqual(try hotp.algorithm(), .sha512)
        XCTAssertEqual(try loadOtpAuthInfo(vault: vault, account: alice, name: "bank"),
                       OtpAuthInfo(kind: .hotp(counter: 42), algorithm: .sha512, digits: 8, account: "alice", issuer: nil))
        assertVaultError("InvalidInput", try loadHotp(vault: vault, account: alice, name: "rukapay"))
        assertVaultError("InvalidInput", try loadTotp(vault: vault, account: alice, name: "bank"))
        assertVaultError("InvalidInput", try Totp(secret: rfcSecret, algorithm: .sha1)
            .saveTo(vault: vault, account: alice, name: "x", label: "", issuer: nil))
        try vault.put(account: alice, namespace: "rukasec.otp", name: "junk", value: Data("not a uri".utf8),
                      dataClass: .restricted, ttlSeconds: nil)
        assertVaultError("Integrity", try loadTotp(vault: vault, account: alice, name: "junk"))
        XCTAssertTrue(try deleteOtpEnrolment(vault: vault, account: alice, name: "bank"))
        XCTAssertFalse(try deleteOtpEnrolment(vault: vault, account: alice, name: "bank"))
        XCTAssertNil(try loadHotp(vault: vault, account: alice, name: "bank"))

        let gate = try vault.enableUnlock(policy: UnlockPolicy(),
                                          authenticator: ScriptedAuthenticator(fallback: .success(method: .strongBiometric)))
        assertVaultError("UserAuthenticationRequired", try loadTotp(vault: vault, account: alice, name: "rukapay"))
        assertVaultError("UserAuthenticationRequired", try loadOtpAuthInfo(vault: vault, account: alice, name: "rukapay"))
        let account = alice
        try await withTimeout { try await gate.unlock(dataClass: .restricted, account: account, reason: "Show the code") }
        XCTAssertEqual(try XCTUnwrap(try loadTotp(vault: vault, account: alice, name: "rukapay")).digits(), 6)
    }

    func testBadInputThrowsInvalidInputNamingThePartNeverTheContent() throws {
        let reasons = [
            assertOtpError("InvalidInput", try Totp(secret: Data(count: 9), algorithm: .sha1)),
            assertOtpError("InvalidInput", try Totp(secret: rfcSecret, algorithm: .sha1, digits: 9)),
            assertOtpError("InvalidInput", try Totp(secret: rfcSecret, algorithm: .sha1, digits: 6, periodSeconds: 0)),
            assertOtpError("InvalidInput", try Totp(secret: rfcSecret, algorithm: .sha1, digits: 6, periodSeconds: -30)),
            assertOtpError("InvalidInput", try Totp.fromBase32(secret: "SECRET1!", algorithm: .sha1)),
            assertOtpError("InvalidInput", try Totp.fromOtpauthUri(uri: "otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQ&counter=1")),
            assertOtpError("InvalidInput", try Hotp.fromOtpauthUri(uri: "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQ")),
            assertOtpError("InvalidInput", try Hotp(secret: rfcSecret, algorithm: .sha1, digits: 5)),
            assertOtpError("InvalidInput", try Hotp.fromBase32(secret: "not base32 at all", algorithm: .sha1)),
            assertOtpError("InvalidInput", try parseOtpauthUri(uri: "https://example.com")),
        ]
        let totp = try Totp(secret: rfcSecret, algorithm: .sha1)
        assertOtpError("InvalidInput", try totp.codeAt(unixSeconds: -1))
        assertOtpError("InvalidInput", try totp.timeStep(unixSeconds: -1))
        assertOtpError("InvalidInput", try totp.verify(code: "123456", atUnixSeconds: 0, window: 11, lastUsedStep: nil))
        assertOtpError("InvalidInput", try totp.verify(code: "123456", atUnixSeconds: 0, window: 1, lastUsedStep: -1))
        assertOtpError("InvalidInput", try totp.otpauthUri(account: "", issuer: nil))
        let hotp = try Hotp(secret: rfcSecret, algorithm: .sha1)
        assertOtpError("InvalidInput", try hotp.code(counter: -1))
        assertOtpError("InvalidInput", try hotp.verify(code: "123456", counter: 0, lookAhead: 51, lastUsedStep: nil))
        assertOtpError("InvalidInput", try hotp.otpauthUri(counter: -1, account: "alice", issuer: nil))
        for reason in reasons {
            for canary in ["SECRET", "alice", "example.com", "GEZDGNBV"] {
                XCTAssertFalse(reason.contains(canary), "\(canary) in: \(reason)")
            }
        }
    }

    func testCryptoUnavailableAndInternalArriveAsOtpErrorCases() {
        XCTAssertTrue(assertOtpError("CryptoUnavailable", try ffiTestingOtpAfterFailedSelfTest()).contains("self-test"))
        let panicReason = assertOtpError("Internal", try ffiTestingPanicInOtpCall())
        XCTAssertTrue(panicReason.contains("panic"), panicReason)
        XCTAssertFalse(panicReason.contains("deliberate"), panicReason)
    }

    func testDescriptionsShowNoSecretAccountOrIssuer() throws {
        let canarySecret = "OTPCANARYSECRETQ"
        let uri = "otpauth://totp/Canaryissuer:canary.account%40example.com?secret=\(canarySecret)&issuer=Canaryissuer"
        let info = try parseOtpauthUri(uri: uri)
        XCTAssertEqual(info.account, "canary.account@example.com")
        let totp = try Totp.fromOtpauthUri(uri: uri)
        let verdict = try totp.verify(code: try totp.codeAt(unixSeconds: 59), atUnixSeconds: 59, window: 1, lastUsedStep: nil)
        let printed = [info.description, info.debugDescription, "\(info)", String(reflecting: info),
                       "\(info.kind)", "\(verdict)", "\(totp)"].joined(separator: " ")
        for canary in [canarySecret, "canary", "Canaryissuer", "example.com"] {
            XCTAssertFalse(printed.lowercased().contains(canary.lowercased()), "\(canary) in: \(printed)")
        }
        XCTAssertTrue(info.description.contains("<26 bytes>"), info.description)
    }
}
