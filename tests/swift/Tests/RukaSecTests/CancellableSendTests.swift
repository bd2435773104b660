// `Cancellation` and `HttpsClient.sendCancellable` / `sendSignedCancellable` through the generated
// Swift: a handle cancelled before the call stops it with `TlsError.Cancelled`, one never
// cancelled lets it complete as `send`. (Cancelling a running call from a Swift `Task` is tested
// with the glue's `perform` in the RukaSecKit tests.)

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import RukaSec

final class CancellableSendTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        signal(SIGPIPE, SIG_IGN)
    }

    func testACancelledHandleStopsTheCallAndAnUncancelledOneLetsItComplete() async throws {
        let server = try TestTlsServer.start(tls12Only: false)
        let core = try RukaSec(listener: nil)
        let options = HttpsClientOptions(
            extraRootsDer: [server.rootDer()],
            resolve: [HostAddress(host: server.host(), address: server.address())]
        )
        let client = try core.httpsClient(options: options, policy: PinPolicy(domains: []))
        let request = HttpRequest(method: "GET", url: server.url(path: "/"))

        let fresh = try Cancellation()
        XCTAssertFalse(try fresh.isCancelled())
        let response = try await client.sendCancellable(request: request, cancellation: fresh)
        XCTAssertEqual(response.status, 200)

        let cancelled = try Cancellation()
        try cancelled.cancel()
        try cancelled.cancel() // idempotent
        XCTAssertTrue(try cancelled.isCancelled())
        await assertTlsError("Cancelled") {
            try await client.sendCancellable(request: request, cancellation: cancelled)
        }
        let key = try DeviceKey.generate()
        await assertTlsError("Cancelled") {
            try await client.sendSignedCancellable(
                request: request, key: key, options: SignOptions(keyId: "k"), cancellation: cancelled)
        }
    }
}
