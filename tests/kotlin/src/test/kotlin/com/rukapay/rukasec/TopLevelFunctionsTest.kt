package com.rukapay.rukasec

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Plain exported functions: no object, no callback. */
class TopLevelFunctionsTest {
    @Test
    fun `rukasecVersion is a semver string`() {
        val version = rukasecVersion()
        assertTrue(
            Regex("""^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$""").matches(version),
            "not semver: '$version'",
        )
    }

    @Test
    fun `spkiSha256Pin of the EC DER fixture equals the openssl pin`() {
        assertEquals(Fixtures.ecPin, spkiSha256Pin(Fixtures.bytes("ec-p256.der")))
    }

    @Test
    fun `spkiSha256Pin agrees with the JDK for the EC certificate`() {
        val der = Fixtures.bytes("ec-p256.der")
        assertEquals(jcaPin(der), spkiSha256Pin(der))
    }

    @Test
    fun `spkiSha256Pin of garbage throws InvalidInput with a reason`() {
        val error = assertThrows<RukaSecException.InvalidInput> {
            spkiSha256Pin(byteArrayOf(0x00, 0x01, 0x02, 0x7f, -1))
        }
        assertTrue(error.reason.isNotBlank(), "empty reason")
        assertEquals("reason=${error.reason}", error.message)
    }

    @Test
    fun `spkiSha256Pin of an empty array throws InvalidInput`() {
        assertThrows<RukaSecException.InvalidInput> { spkiSha256Pin(ByteArray(0)) }
    }

    @Test
    fun `a Rust panic arrives as RukaSecException Internal and the library keeps working`() {
        val first = assertThrows<RukaSecException.Internal> { ffiTestingPanic() }
        assertTrue(first.reason.isNotBlank(), "empty reason")
        // The panic message itself stays in Rust (stderr), the app gets a fixed reason.
        assertTrue("deliberate" !in first.reason, "panic message leaked: ${first.reason}")
        // It is an ordinary, catchable RukaSecException (the sealed base class).
        val second = assertThrows<RukaSecException> { ffiTestingPanic() }
        assertTrue(second is RukaSecException.Internal)
        assertEquals(first.reason, (second as RukaSecException.Internal).reason)

        // Nothing was poisoned: plain calls, objects and callbacks still work.
        assertEquals(Fixtures.ecPin, spkiSha256Pin(Fixtures.bytes("ec-p256.der")))
        val listener = RecordingListener()
        RukaSec(listener).use { core ->
            assertTrue(core.selfTest().passed)
            assertTrue(listener.await(2), "events after a panic did not arrive")
        }
    }
}
