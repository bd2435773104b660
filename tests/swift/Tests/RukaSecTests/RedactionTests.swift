// The records that carry credentials print redacted from Swift: `description` and
// `debugDescription` (so `print`, string interpolation, `String(reflecting:)`, os_log) of
// `HttpRequest`, `HttpResponse`, `HttpHeader`, `VaultItem` and `SignedRequestHeaders` never show an
// `Authorization` or cookie value, a query, a body, a vault value or the signature base.

import Foundation
import XCTest

import RukaSec

final class RedactionTests: XCTestCase {
    let canaries = ["canary-query-1f3a", "canary-bearer-77c2", "canary-cookie-90ab", "canary-body-4e5d"]

    var request: HttpRequest {
        HttpRequest(
            method: "POST",
            url: "https://api.rukapay.example/v1/payments?access_token=canary-query-1f3a",
            headers: [
                HttpHeader(name: "Authorization", value: "Bearer canary-bearer-77c2"),
                HttpHeader(name: "Cookie", value: "session=canary-cookie-90ab"),
                HttpHeader(name: "Content-Type", value: "application/json"),
            ],
            body: Data(#"{"pin":"canary-body-4e5d"}"#.utf8)
        )
    }

    func assertRedacted(_ printed: String, _ canaries: [String], file: StaticString = #filePath, line: UInt = #line) {
        for canary in canaries {
            XCTAssertFalse(printed.contains(canary), "\(canary) printed in: \(printed)", file: file, line: line)
        }
    }

    /// Every way Swift turns a value into text.
    func renderings<T>(_ value: T) -> [String] {
        [String(describing: value), String(reflecting: value), "\(value)"]
    }

    func testRequestsResponsesAndHeadersPrintNoCredentialQueryOrBody() {
        for printed in renderings(request) {
            assertRedacted(printed, canaries)
            XCTAssertTrue(printed.contains("POST") && printed.contains("api.rukapay.example"), printed)
            XCTAssertTrue(printed.contains("application/json"), printed)
        }
        let response = HttpResponse(
            status: 200,
            url: "https://api.rukapay.example/v1/balance?session=canary-query-1f3a",
            version: "HTTP/2.0",
            headers: [HttpHeader(name: "Set-Cookie", value: "sid=canary-cookie-90ab")],
            body: Data("canary-body-4e5d".utf8)
        )
        for printed in renderings(response) {
            assertRedacted(printed, canaries)
            XCTAssertTrue(printed.contains("200"), printed)
        }
        for printed in renderings(HttpHeader(name: "authorization", value: "Basic canary-basic-5a5a")) {
            assertRedacted(printed, ["canary-basic-5a5a"])
        }
        XCTAssertEqual(request, request, "records keep their equality")
    }

    func testAnAuthenticationRequestPrintsNoReasonOrAccount() {
        let request = AuthRequest(reason: "Pay canary-payee-9d1e", account: "canary-account-256700",
                                  dataClass: .restricted, allowed: [.strongBiometric])
        for printed in renderings(request) {
            assertRedacted(printed, ["canary-payee-9d1e", "canary-account-256700"])
            XCTAssertTrue(printed.contains("Restricted") && printed.contains("StrongBiometric"), printed)
        }
    }

    func testVaultItemsPrintTheValueLengthOnly() {
        let item = VaultItem(namespace: "tokens", name: "refresh", value: Data("canary-vault-value-3c3c".utf8),
                             dataClass: .restricted, ttlSeconds: nil)
        for printed in renderings(item) {
            assertRedacted(printed, ["canary-vault-value-3c3c"])
            XCTAssertTrue(printed.contains("refresh") && printed.contains("23 bytes"), printed)
        }
    }

    func testSignedRequestHeadersPrintNoSignatureBase() throws {
        let key = try DeviceKey.generate()
        let headers = try key.signRequest(request: request, options: SignOptions(keyId: "device-1"))
        XCTAssertTrue(headers.signatureBase.contains("canary-bearer-77c2"), "the base covers Authorization")
        for printed in renderings(headers) {
            assertRedacted(printed, ["canary-bearer-77c2", "@signature-params"])
            XCTAssertTrue(printed.contains(headers.signature), printed)
        }
    }
}
