package com.rukapay.rukasec

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File

/**
 * The error cases no ordinary call on a healthy host can cause, reached through the test-only
 * exports (feature ffi-testing): a core whose self-test failed, a Rust panic inside each area's
 * calls, and the two causes only a phone's platform can produce. Each arrives as its own
 * exception class with its reason, as an app would catch it.
 */
class ErrorCasesTest {
    @TempDir
    lateinit var dir: File

    @Test
    fun `a core whose self-test failed refuses with each area's CryptoUnavailable`() {
        val listener = RecordingListener()
        RukaSec.ffiTestingWithFailedSelfTest(listener).use { core ->
            assertFalse(core.isCryptoOperational())
            val pin = assertThrows<RukaSecException.CryptoUnavailable> { core.spkiSha256Pin(Fixtures.bytes("ec-p256.der")) }
            assertTrue("self-test" in pin.reason, pin.reason)
            assertThrows<VaultException.CryptoUnavailable> { core.openVault(File(dir, "vault").path, AesGcmKeyWrapper()) }
            assertThrows<TlsException.CryptoUnavailable> {
                core.httpsClient(HttpsClientOptions(), PinPolicy(emptyList()))
            }
            assertTrue(core.flushEvents(WAIT_MS))
            val refused = listener.events.filter { it.kind == SecurityEventKind.CRYPTO_REFUSED }.map { it.details["operation"] }
            assertEquals(listOf("spki_sha256_pin", "open_vault", "https_client"), refused)
        }
        // The process-wide gate is untouched: a new core works.
        RukaSec(null).use { assertTrue(it.isCryptoOperational()) }
    }

    @Test
    fun `signing after a failed self-test is SignatureException CryptoUnavailable`() {
        val error = assertThrows<SignatureException.CryptoUnavailable> { ffiTestingSigningAfterFailedSelfTest() }
        assertTrue("self-test" in error.reason, error.reason)
    }

    @Test
    fun `a revoked certificate is TlsException RevokedCertificate`() {
        val error = assertThrows<TlsException.RevokedCertificate> { ffiTestingRevokedCertificate() }
        assertTrue("revoked" in error.reason, error.reason)
    }

    @Test
    fun `a Rust panic in each area's call arrives as that area's Internal`() {
        val reasons = listOf(
            assertThrows<TlsException.Internal> { ffiTestingPanicInTlsCall() }.reason,
            assertThrows<VaultException.Internal> { ffiTestingPanicInVaultCall() }.reason,
            assertThrows<SignatureException.Internal> { ffiTestingPanicInSignatureCall() }.reason,
        )
        for (reason in reasons) {
            assertTrue(reason.isNotBlank())
            assertFalse("deliberate" in reason, "the panic message crossed the boundary: $reason")
        }
    }
}
