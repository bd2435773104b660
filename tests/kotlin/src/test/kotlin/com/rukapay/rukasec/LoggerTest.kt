package com.rukapay.rukasec

import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.util.Base64
import java.util.UUID
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger

/**
 * The `Logger` foreign trait through the generated bindings: the level filter, redaction of
 * registered secrets and bearer tokens before a line reaches Kotlin, a throwing logger counted
 * and survived, removal, and the argument errors of the logging calls. Lines are written with
 * `ffiTestingLog` (target `rukasec_ffi::testing`) and tagged per test, because the loggers of
 * every core in the process see every line.
 */
class LoggerTest {
    private lateinit var core: RukaSec

    @BeforeEach
    fun start() {
        core = RukaSec(null)
    }

    @AfterEach
    fun stop() {
        core.setLogger(null, LogLevel.ERROR)
        core.close()
    }

    private open class Capture : Logger {
        val records = CopyOnWriteArrayList<LogRecord>()
        val threads = CopyOnWriteArrayList<Thread>()

        override fun log(record: LogRecord) {
            records += record
            threads += Thread.currentThread()
        }

        fun tagged(tag: String) = records.filter { tag in it.message }
    }

    private fun tag() = "tag-" + UUID.randomUUID().toString().take(8)

    @Test
    fun `lines at and above the level reach the logger off the caller's thread, others do not`() {
        val capture = Capture()
        core.setLogger(capture, LogLevel.INFO)
        val tag = tag()
        for (level in LogLevel.values()) ffiTestingLog(level, "$tag ${level.name}")
        assertTrue(core.flushLogs(WAIT_MS))

        val got = capture.tagged(tag)
        assertEquals(listOf(LogLevel.ERROR, LogLevel.WARN, LogLevel.INFO), got.map { it.level })
        assertEquals(listOf("$tag ERROR", "$tag WARN", "$tag INFO"), got.map { it.message })
        assertTrue(got.all { it.target == "rukasec_ffi::testing" }, "targets: ${got.map { it.target }}")
        assertFalse(Thread.currentThread() in capture.threads, "delivered on the caller's thread")
        // The core's own lines arrive too: installing the logger is one.
        assertTrue(
            capture.records.any { it.target.startsWith("rukasec_core") && "logger installed" in it.message },
            "no core line in ${capture.records}",
        )
    }

    @Test
    fun `registered secrets, bearer tokens and API keys never reach the logger`() {
        val capture = Capture()
        core.setLogger(capture, LogLevel.TRACE)
        val tag = tag()
        val canaryText = "canary-text-" + UUID.randomUUID()
        val canaryBytes = "canary-bytes-${UUID.randomUUID()}".toByteArray()
        val bearer = "canary-bearer-" + UUID.randomUUID()
        core.registerSecretText(canaryText)
        core.registerSecret(canaryBytes)

        val base64 = Base64.getEncoder().encodeToString(canaryBytes)
        val hex = canaryBytes.joinToString("") { "%02x".format(it) }
        ffiTestingLog(LogLevel.INFO, "$tag text $canaryText")
        ffiTestingLog(LogLevel.WARN, "$tag encoded $base64 and $hex")
        ffiTestingLog(LogLevel.DEBUG, "$tag header Authorization: Bearer $bearer")
        assertTrue(core.flushLogs(WAIT_MS))

        val got = capture.tagged(tag)
        assertEquals(3, got.size, "lines: $got")
        for (record in got) {
            for (canary in listOf(canaryText, String(canaryBytes), base64, hex, bearer)) {
                assertFalse(canary in record.message, "leaked in $record")
                assertFalse(canary in record.toString(), "leaked in toString")
            }
            assertTrue("[redacted]" in record.message, "not redacted: $record")
        }
        // The app's own text goes through the same rules.
        assertEquals("pin $REDACTED ok", core.redact("pin $canaryText ok"))

        assertTrue(core.unregisterSecretText(canaryText))
        assertFalse(core.unregisterSecretText(canaryText))
        assertTrue(core.unregisterSecret(canaryBytes))
        assertFalse(core.unregisterSecret(canaryBytes))
    }

    @Test
    fun `a throwing logger is counted and delivery goes on`() {
        val calls = AtomicInteger()
        val throwing = object : Capture() {
            override fun log(record: LogRecord) {
                super.log(record)
                if (calls.incrementAndGet() == 1) throw thrownIntoRust(RukaSecException.Callback("logger broke"))
            }
        }
        core.setLogger(throwing, LogLevel.INFO)
        val tag = tag()
        assertTrue(core.flushLogs(WAIT_MS))
        val before = core.logStats()
        calls.set(0)
        ffiTestingLog(LogLevel.ERROR, "$tag first")
        ffiTestingLog(LogLevel.ERROR, "$tag second")
        assertTrue(core.flushLogs(WAIT_MS))

        assertEquals(listOf("$tag first", "$tag second"), throwing.tagged(tag).map { it.message })
        val after = core.logStats()
        assertTrue(after.loggerFailures >= before.loggerFailures + 1, "stats: $before -> $after")
        assertTrue(after.delivered >= before.delivered + 1, "stats: $before -> $after")
        assertTrue(after.emitted >= before.emitted + 2, "stats: $before -> $after")
    }

    @Test
    fun `setLogger null stops delivery and a released core's logger is removed`() {
        val first = Capture()
        core.setLogger(first, LogLevel.INFO)
        core.setLogger(null, LogLevel.INFO)
        val other = RukaSec(null)
        val second = Capture()
        other.setLogger(second, LogLevel.INFO)
        other.close()
        val tag = tag()
        ffiTestingLog(LogLevel.ERROR, "$tag after removal")
        assertTrue(core.flushLogs(WAIT_MS))
        assertEquals(emptyList<LogRecord>(), first.tagged(tag))
        assertEquals(emptyList<LogRecord>(), second.tagged(tag))
    }

    @Test
    fun `bad arguments are InvalidInput`() {
        val short = assertThrows<RukaSecException.InvalidInput> { core.registerSecret(byteArrayOf(1, 2, 3)) }
        assertTrue(short.reason.isNotBlank())
        assertThrows<RukaSecException.InvalidInput> { core.registerSecretText("abc") }
        assertThrows<RukaSecException.InvalidInput> { core.flushLogs(-1) }
    }

    private companion object {
        const val WAIT_MS = 10_000L
        const val REDACTED = "[redacted]"
    }
}
