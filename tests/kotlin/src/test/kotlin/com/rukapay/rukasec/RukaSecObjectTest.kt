package com.rukapay.rukasec

import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test

/** The `RukaSec` object: constructor, methods, records, errors, lifetime. */
class RukaSecObjectTest {
    private lateinit var core: RukaSec

    @BeforeEach
    fun create() {
        core = RukaSec(null)
    }

    @AfterEach
    fun destroy() {
        core.close()
    }

    @Test
    fun `selfTest returns a passing report with four named results`() {
        val report = core.selfTest()
        assertTrue(report.passed)
        assertEquals(KAT_COUNT, report.results.size, "results: ${report.results}")
        report.results.forEach { result ->
            assertTrue(result.passed, "failed: $result")
            assertTrue(result.name.isNotBlank(), "unnamed result: $result")
        }
        assertEquals(KAT_COUNT, report.results.map { it.name }.toSet().size, "duplicate names")
        // A record is a Kotlin data class: value equality, copy.
        assertEquals(report, report.copy())
        assertNotEquals(report, report.copy(passed = false))
    }

    @Test
    fun `isCryptoOperational is true after a passing self-test`() {
        assertTrue(core.isCryptoOperational())
    }

    @Test
    fun `spkiSha256Pin method matches pins txt, the top-level function and the JDK`() {
        val der = Fixtures.bytes("ec-p256.der")
        val pin = core.spkiSha256Pin(der)
        assertEquals(Fixtures.ecPin, pin)
        assertEquals(spkiSha256Pin(der), pin)
        assertEquals(jcaPin(der), pin)
    }

    @Test
    fun `certificates of the bundle returns both certificates in order`() {
        val summaries = core.certificates(Fixtures.bytes("bundle.pem"))
        assertEquals(2, summaries.size, "summaries: $summaries")
        val (ec, rsa) = summaries

        assertEquals(Fixtures.ecPin, ec.pin)
        assertTrue("api.rukapay.test" in ec.subject, "EC subject: ${ec.subject}")
        assertEquals(Fixtures.rsaPin, rsa.pin)
        assertTrue("rsa.rukapay.test" in rsa.subject, "RSA subject: ${rsa.subject}")

        // The DER handed back is the certificate itself: Rust's pin, the JDK's pin of that DER
        // and openssl's pin all agree.
        assertEquals(ec.pin, jcaPin(ec.der))
        assertEquals(rsa.pin, jcaPin(rsa.der))
        assertArrayEquals(Fixtures.bytes("ec-p256.der"), ec.der)
    }

    @Test
    fun `pins of the single PEM fixtures agree with the JDK`() {
        for (name in listOf("ec-p256.pem", "rsa-2048.pem")) {
            val pem = Fixtures.bytes(name)
            val summaries = core.certificates(pem)
            assertEquals(1, summaries.size, "$name: $summaries")
            assertEquals(Fixtures.pin(name), summaries[0].pin, name)
            assertEquals(jcaPin(pem), summaries[0].pin, name)
            assertEquals(summaries[0].pin, core.spkiSha256Pin(summaries[0].der), name)
        }
    }

    @Test
    fun `certificates accepts a single DER certificate`() {
        val der = Fixtures.bytes("ec-p256.der")
        val summaries = core.certificates(der)
        assertEquals(1, summaries.size)
        assertEquals(Fixtures.ecPin, summaries[0].pin)
        assertArrayEquals(der, summaries[0].der)
    }

    @Test
    fun `garbage bytes throw InvalidInput with a reason`() {
        val garbage = ByteArray(64) { (it * 37 + 11).toByte() }
        val pinError = assertThrows<RukaSecException.InvalidInput> { core.spkiSha256Pin(garbage) }
        assertTrue(pinError.reason.isNotBlank())
        val listError = assertThrows<RukaSecException.InvalidInput> { core.certificates(garbage) }
        assertTrue(listError.reason.isNotBlank())
    }

    @Test
    fun `PEM text passed to spkiSha256Pin throws InvalidInput`() {
        val error = assertThrows<RukaSecException.InvalidInput> {
            core.spkiSha256Pin(Fixtures.bytes("ec-p256.pem"))
        }
        assertTrue(error.reason.isNotBlank())
    }

    @Test
    fun `PEM without a CERTIFICATE block throws InvalidInput`() {
        val pem = """
            -----BEGIN PUBLIC KEY-----
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAAAAAAAAAAAAAAAAAAAAAAAAAAAA
            AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==
            -----END PUBLIC KEY-----
        """.trimIndent().toByteArray()
        val error = assertThrows<RukaSecException.InvalidInput> { core.certificates(pem) }
        assertTrue(error.reason.isNotBlank())
    }

    @Test
    fun `errors are RukaSecException subclasses that keep the object usable`() {
        val error: RukaSecException = assertThrows { core.spkiSha256Pin(ByteArray(3)) }
        assertTrue(error is RukaSecException.InvalidInput, "got $error")
        assertEquals(Fixtures.ecPin, core.spkiSha256Pin(Fixtures.bytes("ec-p256.der")))
    }

    @Test
    fun `a Rust panic does not break an existing object`() {
        assertThrows<RukaSecException.Internal> { ffiTestingPanic() }
        assertTrue(core.selfTest().passed)
        assertTrue(core.isCryptoOperational())
    }

    @Test
    fun `eventStats without listener counts emitted events but delivers none`() {
        core.selfTest()
        assertTrue(core.flushEvents(WAIT_MS))
        val stats = core.eventStats()
        assertEquals(2L, stats.emitted, "construction + selfTest: $stats")
        assertEquals(0L, stats.delivered, "$stats")
        assertEquals(0L, stats.dropped, "$stats")
        assertEquals(0L, stats.listenerFailures, "$stats")
    }

    @Test
    fun `use closes the object and later calls throw IllegalStateException`() {
        val closed = RukaSec(null)
        val pin = closed.use { it.spkiSha256Pin(Fixtures.bytes("ec-p256.der")) }
        assertEquals(Fixtures.ecPin, pin)
        assertTrue(closed.uniffiIsDestroyed)

        // Documented by the generated code: calls after destroy() fail in Kotlin, before Rust.
        val error = assertThrows<IllegalStateException> { closed.selfTest() }
        assertTrue("destroyed" in (error.message ?: ""), "message: ${error.message}")
        assertThrows<IllegalStateException> { closed.eventStats() }
        // close()/destroy() are idempotent.
        closed.close()
        closed.destroy()
    }

    @Test
    fun `many objects can be created and destroyed`() {
        repeat(20) {
            RukaSec(RecordingListener()).use { assertFalse(it.uniffiIsDestroyed) }
        }
        assertFalse(core.uniffiIsDestroyed)
        assertTrue(core.selfTest().passed)
    }
}
