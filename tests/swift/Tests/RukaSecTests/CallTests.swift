// Plain calls, the RukaSec object and the errors it throws, as the generated Swift exposes them.
// These tests check the binding (lowering, lifting, error mapping), not the crypto: the Rust
// tests cover that.

import Foundation
import XCTest

import RukaSec

final class FunctionTests: XCTestCase {
    func testVersionIsNotEmpty() throws {
        let version = try rukasecVersion()
        XCTAssertFalse(version.isEmpty)
        XCTAssertEqual(version, try rukasecVersion())
    }

    func testTopLevelPinOfDerMatchesOpenssl() throws {
        let der = try Fixtures.data("ec-p256.der")
        XCTAssertEqual(try spkiSha256Pin(certDer: der), try Fixtures.pin("ec-p256.pem"))
    }

    func testTopLevelPinRejectsGarbageEmptyAndPem() throws {
        assertInvalidInput(try spkiSha256Pin(certDer: Data([0xde, 0xad, 0xbe, 0xef])), "garbage")
        assertInvalidInput(try spkiSha256Pin(certDer: Data()), "empty input")
        assertInvalidInput(try spkiSha256Pin(certDer: try Fixtures.data("ec-p256.pem")), "PEM text")
    }
}

final class ObjectTests: XCTestCase {
    func testWithoutListener() throws {
        let core = try RukaSec(listener: nil)
        XCTAssertTrue(try core.isCryptoOperational())
        let report = try core.selfTest()
        XCTAssertTrue(report.passed)
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        // Constructor and selfTest each emit an event; with no listener nobody receives them.
        XCTAssertEqual(try core.eventStats(), EventStats(emitted: 2, delivered: 0, dropped: 0, listenerFailures: 0))
    }

    func testSelfTestReportHasFourPassingResults() throws {
        let core = try RukaSec(listener: RecordingListener())
        let report = try core.selfTest()
        XCTAssertTrue(report.passed)
        XCTAssertEqual(report.results.count, katCount)
        XCTAssertTrue(report.results.allSatisfy(\.passed), "\(report.results)")
        XCTAssertTrue(report.results.allSatisfy { !$0.name.isEmpty }, "\(report.results)")
        XCTAssertEqual(Set(report.results.map(\.name)).count, katCount, "KAT names are not distinct")
        XCTAssertTrue(try core.isCryptoOperational())
    }

    func testMethodPinMatchesOpensslAndTopLevelFunction() throws {
        let core = try RukaSec(listener: nil)
        let der = try Fixtures.data("ec-p256.der")
        let pin = try core.spkiSha256Pin(certDer: der)
        XCTAssertEqual(pin, try Fixtures.pin("ec-p256.pem"))
        XCTAssertEqual(pin, try spkiSha256Pin(certDer: der))
        assertInvalidInput(try core.spkiSha256Pin(certDer: Data("not a certificate".utf8)), "garbage")
        assertInvalidInput(try core.spkiSha256Pin(certDer: try Fixtures.data("ec-p256.pem")), "PEM text")
    }

    func testCertificatesOfBundle() throws {
        let core = try RukaSec(listener: nil)
        let summaries = try core.certificates(pemOrDer: try Fixtures.data("bundle.pem"))
        XCTAssertEqual(summaries.count, 2)
        guard summaries.count == 2 else { return }
        let (ec, rsa) = (summaries[0], summaries[1])

        XCTAssertEqual(ec.pin, try Fixtures.pin("ec-p256.pem"))
        XCTAssertEqual(rsa.pin, try Fixtures.pin("rsa-2048.pem"))
        XCTAssertTrue(ec.subject.contains("CN=api.rukapay.test"), ec.subject)
        XCTAssertTrue(rsa.subject.contains("CN=rsa.rukapay.test"), rsa.subject)
        // Bytes survive the round trip: the first certificate's DER is the DER fixture.
        XCTAssertEqual(ec.der, try Fixtures.data("ec-p256.der"))
        XCTAssertEqual(try core.spkiSha256Pin(certDer: rsa.der), rsa.pin)
    }

    func testCertificatesOfDer() throws {
        let core = try RukaSec(listener: nil)
        let summaries = try core.certificates(pemOrDer: try Fixtures.data("ec-p256.der"))
        XCTAssertEqual(summaries.map(\.pin), [try Fixtures.pin("ec-p256.pem")])
    }

    func testCertificatesRejectsInputWithoutCertificate() throws {
        let core = try RukaSec(listener: nil)
        // The EC fixture's public key: valid PEM, but no certificate in it.
        let key = Data("""
            -----BEGIN PUBLIC KEY-----
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZtf0kHuPTbpwWAomt76QTIIPG+Gw
            wARXx+9SF9dtGtrBX6CwJ3Q0HVgjQGv33WIXAG0Jx+M5yKSq1zDmEFOsJw==
            -----END PUBLIC KEY-----

            """.utf8)
        assertInvalidInput(try core.certificates(pemOrDer: key), "PEM without certificate")
        assertInvalidInput(try core.certificates(pemOrDer: Data([0x00, 0x01, 0x02])), "garbage")
        // The object is still usable after throwing.
        XCTAssertEqual(try core.certificates(pemOrDer: try Fixtures.data("bundle.pem")).count, 2)
    }
}

final class PanicTests: XCTestCase {
    func testRustPanicArrivesAsInternalError() throws {
        for _ in 0..<3 {
            XCTAssertThrowsError(try ffiTestingPanic()) { error in
                reached(error)
                guard case let RukaSecError.Internal(reason) = error else {
                    XCTFail("expected RukaSecError.Internal, got \(type(of: error)): \(error)")
                    return
                }
                XCTAssertFalse(reason.isEmpty)
            }
        }
        // The library works afterwards.
        XCTAssertFalse(try rukasecVersion().isEmpty)
        let listener = RecordingListener()
        let core = try RukaSec(listener: listener)
        XCTAssertTrue(try core.selfTest().passed)
        XCTAssertEqual(try core.spkiSha256Pin(certDer: try Fixtures.data("ec-p256.der")),
                       try Fixtures.pin("ec-p256.pem"))
        XCTAssertTrue(try core.flushEvents(timeoutMs: waitMs))
        XCTAssertEqual(listener.events.count, 2)
    }
}
