package com.rukapay.rukasec.okhttp

import com.rukapay.rukasec.DomainPin
import com.rukapay.rukasec.PinPolicy
import com.rukapay.rukasec.RukaSec
import com.rukapay.rukasec.TlsException
import okhttp3.Request
import okhttp3.tls.HeldCertificate
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import javax.net.ssl.SSLPeerUnverifiedException

/**
 * [RukaSecPinningInterceptor] on real TLS over loopback, with the platform's chain taken
 * through android's own `X509TrustManagerExtensions` ([PlatformVerifiedChain.forTrustManager])
 * and the pins checked by the core's `PinChecker` through the bindings. OkHttp itself cleans the
 * handshake's chain to the trust anchor (on Android through the same extensions), so a root pin
 * matches with either chain; what the interceptor's own verification adds is shown by the
 * refusal of a chain the platform side does not trust.
 */
@RunWith(RobolectricTestRunner::class)
class PinningInterceptorTest {
    private lateinit var core: RukaSec
    private lateinit var tls: LoopbackTls

    @Before
    fun start() {
        core = RukaSec(null)
        tls = LoopbackTls()
    }

    @After
    fun stop() {
        tls.close()
        core.close()
    }

    private fun interceptor(pins: List<String>, enforce: Boolean = true, trusted: HeldCertificate = tls.root) =
        RukaSecPinningInterceptor(
            core.pinChecker(
                PinPolicy(listOf(DomainPin(pattern = LoopbackTls.HOST, pins = pins, enforce = enforce))),
                // No extra roots: the checker completes nothing itself, the platform's chain is all it sees.
                emptyList(),
            ),
            PlatformVerifiedChain.forTrustManager(ChainBuildingTrustManager(trusted.certificate)),
        )

    private fun get(interceptor: RukaSecPinningInterceptor, url: okhttp3.HttpUrl = tls.url("/v1/balance")) =
        tls.client(network = listOf(interceptor)).newCall(Request.Builder().url(url).build()).execute()

    @Test
    fun `a pin on the root matches though the server sends only its leaf`() {
        tls.enqueueOk("balance")
        get(interceptor(listOf(LoopbackTls.pinOf(tls.root.certificate), BACKUP_PIN))).use { response ->
            assertEquals(200, response.code)
            assertEquals("balance", response.body.string())
        }
        assertEquals(1, tls.server.requestCount)
    }

    @Test
    fun `an enforced mismatch fails the call as SSLPeerUnverifiedException before any request is sent`() {
        tls.enqueueOk()
        val error = assertThrows(RukaSecPinningException::class.java) {
            get(interceptor(listOf(OTHER_PIN, BACKUP_PIN)))
        }
        assertTrue(error is SSLPeerUnverifiedException)
        assertTrue(error.cause is TlsException.PinMismatch)
        assertEquals(0, tls.server.requestCount)
    }

    @Test
    fun `a report-only mismatch lets the request through`() {
        tls.enqueueOk()
        get(interceptor(listOf(OTHER_PIN, BACKUP_PIN), enforce = false)).use { assertEquals(200, it.code) }
        assertEquals(1, tls.server.requestCount)
    }

    @Test
    fun `a chain the platform does not trust is refused even when the pins would match`() {
        tls.enqueueOk()
        val stranger = HeldCertificate.Builder().certificateAuthority(0).commonName("stranger").build()
        val pins = listOf(LoopbackTls.pinOf(tls.root.certificate), BACKUP_PIN)
        val error = assertThrows(RukaSecPinningException::class.java) { get(interceptor(pins, trusted = stranger)) }
        assertTrue(error.message!!.contains("does not trust"))
        assertEquals(0, tls.server.requestCount)
    }

    @Test
    fun `plain HTTP is refused`() {
        val pins = listOf(LoopbackTls.pinOf(tls.root.certificate), BACKUP_PIN)
        val http = tls.url("/v1/balance").newBuilder().scheme("http").build()
        assertThrows(RukaSecPinningException::class.java) { get(interceptor(pins), http) }
        assertEquals(0, tls.server.requestCount)
    }

    companion object {
        private const val OTHER_PIN = "sha256/b3RoZXIta2V5LW5vYm9keS1oYXMtMDAwMDAwMDAwMDA="
        private const val BACKUP_PIN = "sha256/YmFja3VwLWtleS1rZXB0LW9mZmxpbmUtMDAwMDAwMDA="
    }
}
