package com.rukapay.rukasec.android

import androidx.test.platform.app.InstrumentationRegistry
import com.rukapay.rukasec.DomainPin
import com.rukapay.rukasec.HttpRequest
import com.rukapay.rukasec.HttpsClientOptions
import com.rukapay.rukasec.PinPolicy
import com.rukapay.rukasec.RukaSec
import com.rukapay.rukasec.RukaSecAndroid
import com.rukapay.rukasec.TlsException
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test

/**
 * The core's own HTTPS client on a device: the JNI path into rustls-platform-verifier
 * ([RukaSecAndroid.initPlatformVerifier], then Android's trust manager verifying
 * www.google.com's chain), then the pin policy. Needs the internet ([NeedsNetwork]).
 */
@NeedsNetwork
class PinnedHttpsDeviceTest {
    private lateinit var core: RukaSec

    @Before
    fun start() {
        // Idempotent: the verifier keeps the first context.
        RukaSecAndroid.initPlatformVerifier(InstrumentationRegistry.getInstrumentation().targetContext)
        core = RukaSec(null)
    }

    @After
    fun stop() {
        core.close()
    }

    private fun <T> send(enforce: Boolean, block: (Result<com.rukapay.rukasec.HttpResponse>) -> T): T {
        val policy = PinPolicy(listOf(DomainPin(pattern = HOST, pins = WRONG_PINS, enforce = enforce)))
        return policy.use {
            core.httpsClient(HttpsClientOptions(appId = "com.rukapay.rukasec.test"), policy).use { client ->
                block(runCatching { runBlocking { withTimeout(TIMEOUT_MS) { client.send(HttpRequest("GET", URL)) } } })
            }
        }
    }

    @Test
    fun aWrongPinIsRefusedAfterThePlatformTrustedTheChain() = send(enforce = true) { result ->
        when (val error = result.exceptionOrNull()) {
            // A PinMismatch (not UntrustedCertificate) also shows the platform verifier accepted
            // the chain: the pins are checked only on a chain the platform trusts.
            is TlsException.PinMismatch -> assertTrue(error.reason.contains(HOST))
            null -> fail("the request went through with wrong pins")
            else -> throw AssertionError("expected PinMismatch, got ${error.javaClass.name}: ${error.message}", error)
        }
    }

    @Test
    fun reportOnlyLetsTheSameRequestThrough() = send(enforce = false) { result ->
        val response = result.getOrElse { throw AssertionError("report-only request failed: ${it.javaClass.name}: ${it.message}", it) }
        assertTrue("status ${response.status}", response.status in 200..399)
    }

    private companion object {
        const val HOST = "www.google.com"
        const val URL = "https://www.google.com/"
        const val TIMEOUT_MS = 30_000L
        // Two well-formed pins of no real key (an enforced set needs a backup pin).
        val WRONG_PINS = listOf(
            "sha256/b3RoZXIta2V5LW5vYm9keS1oYXMtMDAwMDAwMDAwMDA=",
            "sha256/YmFja3VwLWtleS1rZXB0LW9mZmxpbmUtMDAwMDAwMDA=",
        )
    }
}
