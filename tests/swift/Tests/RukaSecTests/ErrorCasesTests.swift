// The error cases no ordinary call on a healthy host can cause, reached through the test-only
// exports (feature ffi-testing): a core whose self-test failed, a Rust panic inside each area's
// calls, and the two causes only a phone's platform can produce. Each arrives as its own case
// with its reason, as an app would catch it.

import Foundation
import XCTest

import RukaSec

final class ErrorCasesTests: XCTestCase {
    func testACoreWhoseSelfTestFailedRefusesWithEachAreasCryptoUnavailable() throws {
        let listener = RecordingListener()
        let core = try RukaSec.ffiTestingWithFailedSelfTest(listener: listener)
        XCTAssertFalse(try core.isCryptoOperational())
        XCTAssertThrowsError(try core.spkiSha256Pin(certDer: Fixtures.data("ec-p256.der"))) { error in
            reached(error)
            guard case let RukaSecError.CryptoUnavailable(reason) = error else {
                return XCTFail("expected RukaSecError.CryptoUnavailable, got \(error)")
            }
            XCTAssertTrue(reason.contains("self-test"), reason)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rukasec-failed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        assertVaultError("CryptoUnavailable", try core.openVault(dir: dir.path, wrapper: HandleKeyWrapper()))
        XCTAssertThrowsError(try core.httpsClient(options: HttpsClientOptions(), policy: PinPolicy(domains: []))) { error in
            XCTAssertEqual(tlsCase(error)?.name, "CryptoUnavailable", "\(error)")
        }
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        XCTAssertEqual(listener.events.filter { $0.kind == .cryptoRefused }.map { $0.details["operation"] },
                       ["spki_sha256_pin", "open_vault", "https_client"])
        // The process-wide gate is untouched: a new core works.
        XCTAssertTrue(try RukaSec(listener: nil).isCryptoOperational())
    }

    func testSigningAfterAFailedSelfTestIsCryptoUnavailable() {
        let reason = assertSignatureError("CryptoUnavailable", try ffiTestingSigningAfterFailedSelfTest())
        XCTAssertTrue(reason?.contains("self-test") ?? false, "\(String(describing: reason))")
    }

    func testARevokedCertificateIsItsOwnCase() {
        XCTAssertThrowsError(try ffiTestingRevokedCertificate()) { error in
            XCTAssertEqual(tlsCase(error)?.name, "RevokedCertificate", "\(error)")
        }
    }

    func testARustPanicInEachAreasCallArrivesAsThatAreasInternal() {
        XCTAssertThrowsError(try ffiTestingPanicInTlsCall()) { error in
            XCTAssertEqual(tlsCase(error)?.name, "Internal", "\(error)")
            XCTAssertFalse("\(error)".contains("deliberate"), "\(error)")
        }
        assertVaultError("Internal", try ffiTestingPanicInVaultCall())
        let reason = assertSignatureError("Internal", try ffiTestingPanicInSignatureCall())
        XCTAssertFalse(reason?.contains("deliberate") ?? true, "\(String(describing: reason))")
    }
}
