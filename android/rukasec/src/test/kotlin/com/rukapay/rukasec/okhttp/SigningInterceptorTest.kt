package com.rukapay.rukasec.okhttp

import com.rukapay.rukasec.DeviceKey
import com.rukapay.rukasec.HttpHeader
import com.rukapay.rukasec.HttpRequest
import com.rukapay.rukasec.SignOptions
import com.rukapay.rukasec.SignatureException
import com.rukapay.rukasec.SignatureVerifier
import com.rukapay.rukasec.VerifierOptions
import mockwebserver3.RecordedRequest
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.Request
import okhttp3.RequestBody
import okhttp3.RequestBody.Companion.toRequestBody
import okio.BufferedSink
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import java.io.IOException
import java.util.concurrent.TimeUnit

/**
 * [RukaSecSigningInterceptor] on real TLS over loopback: what the server receives verifies with
 * the core's `SignatureVerifier`, and refusals arrive as [RukaSecSigningException] with nothing sent.
 */
@RunWith(RobolectricTestRunner::class)
class SigningInterceptorTest {
    private lateinit var key: DeviceKey
    private lateinit var tls: LoopbackTls

    @Before
    fun start() {
        key = DeviceKey.generate()
        tls = LoopbackTls()
    }

    @After
    fun stop() {
        tls.close()
        key.close()
    }

    private fun call(request: Request, options: SignOptions = SignOptions(keyId = "device-1")) =
        tls.client(application = listOf(RukaSecSigningInterceptor(key, options))).newCall(request).execute()

    /** The request as the server received it, in the core's terms. */
    private fun received(recorded: RecordedRequest) = HttpRequest(
        recorded.method,
        recorded.url.toString(),
        recorded.headers.map { (name, value) -> HttpHeader(name, value) },
        recorded.body?.toByteArray() ?: ByteArray(0),
    )

    private fun verifier() = SignatureVerifier(mapOf("device-1" to key.publicKey().spkiDer), VerifierOptions())

    private fun take() = tls.server.takeRequest(10, TimeUnit.SECONDS) ?: throw AssertionError("no request arrived")

    @Test
    fun `a signed POST verifies at the server and a changed body does not`() {
        tls.enqueueOk()
        val body = """{"amount":"1000"}""".toRequestBody("application/json".toMediaType())
        call(Request.Builder().url(tls.url("/v1/transfers?id=7")).post(body).build()).use { assertEquals(200, it.code) }
        val recorded = take()
        assertTrue(recorded.headers["Content-Digest"]!!.startsWith("sha-256=:"))
        assertTrue(recorded.headers["Signature-Input"]!!.contains("\"content-type\""))
        val request = received(recorded)
        verifier().use { verifier ->
            assertEquals("device-1", verifier.verify(request).keyid)
            assertThrows(SignatureException::class.java) { verifier.verify(request.copy(body = "{}".toByteArray())) }
        }
    }

    @Test
    fun `a GET is signed without a Content-Digest`() {
        tls.enqueueOk()
        call(Request.Builder().url(tls.url("/v1/balance")).build()).use { assertEquals(200, it.code) }
        val recorded = take()
        assertNull(recorded.headers["Content-Digest"])
        verifier().use { assertEquals("device-1", it.verify(received(recorded)).keyid) }
    }

    @Test
    fun `a one-shot body is refused before anything is sent`() {
        val oneShot = object : RequestBody() {
            override fun contentType() = "application/json".toMediaType()
            override fun isOneShot() = true
            override fun writeTo(sink: BufferedSink) {
                sink.writeUtf8("{}")
            }
        }
        val error = assertThrows(RukaSecSigningException::class.java) {
            call(Request.Builder().url(tls.url("/v1/upload")).post(oneShot).build())
        }
        assertTrue(error is IOException)
        assertEquals(0, tls.server.requestCount)
    }

    @Test
    fun `a core refusal is a RukaSecSigningException without the request's headers in it`() {
        val token = "Bearer canary-7f3a9c2e51"
        val request = Request.Builder().url(tls.url("/v1/balance")).header("Authorization", token).build()
        val error = assertThrows(RukaSecSigningException::class.java) { call(request, SignOptions(keyId = "")) }
        assertTrue(error.cause is SignatureException.InvalidInput)
        assertFalse(error.message.orEmpty().contains("canary-7f3a9c2e51"))
        assertEquals(0, tls.server.requestCount)
    }
}
