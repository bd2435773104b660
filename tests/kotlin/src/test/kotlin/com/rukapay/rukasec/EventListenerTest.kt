package com.rukapay.rukasec

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/** A Kotlin `SecurityEventListener` called back from Rust's event thread. */
class EventListenerTest {
    @Test
    fun `the listener receives SELF_TEST_PASSED at construction, off the caller's thread`() {
        val listener = RecordingListener()
        val testThread = Thread.currentThread()
        RukaSec(listener).use { core ->
            assertTrue(listener.await(1), "no event within $WAIT_SECONDS s")
            val (event, thread) = listener.received.single()

            assertEquals(SecurityEventKind.SELF_TEST_PASSED, event.kind)
            assertEquals(Severity.INFO, event.severity)
            assertEquals(KAT_COUNT.toString(), event.details["tests"], "details: ${event.details}")
            // A plausible wall-clock time (after 2020-01-01, not in the far future).
            assertTrue(event.timestampMs > 1_577_836_800_000L, "timestamp: ${event.timestampMs}")
            assertTrue(event.timestampMs < System.currentTimeMillis().toLong() + 86_400_000L)

            // The Rust thread is called `rukasec-events`; JNA attaches it to the JVM under a
            // name of its own, so only "not the caller's thread" is asserted.
            println("listener thread: '${thread.name}' (daemon=${thread.isDaemon}), test thread: '${testThread.name}'")
            assertNotSame(testThread, thread, "delivered on the calling thread")
            assertTrue(thread.id != testThread.id)

            assertTrue(core.flushEvents(WAIT_MS))
            val stats = core.eventStats()
            assertEquals(EventStats(emitted = 1L, delivered = 1L, dropped = 0L, listenerFailures = 0L), stats)
        }
    }

    @Test
    fun `each selfTest call emits one more event`() {
        val listener = RecordingListener()
        RukaSec(listener).use { core ->
            repeat(3) { core.selfTest() }
            assertTrue(listener.await(4), "got ${listener.received.size} of 4 events")
            assertTrue(core.flushEvents(WAIT_MS))
            assertTrue(listener.events.all { it.kind == SecurityEventKind.SELF_TEST_PASSED })
            assertEquals(4L, core.eventStats().delivered)
        }
    }

    @Test
    fun `concurrent selfTest calls from many Kotlin threads deliver every event`() {
        val threads = 8
        val callsPerThread = 10
        val expected = 1 + threads * callsPerThread
        val latch = CountDownLatch(expected)
        val listener = object : RecordingListener() {
            override fun onEvent(event: SecurityEvent) {
                super.onEvent(event)
                latch.countDown()
            }
        }
        val testThread = Thread.currentThread()
        val pool = Executors.newFixedThreadPool(threads)
        try {
            RukaSec(listener).use { core ->
                val start = CountDownLatch(1)
                val callers = (1..threads).map {
                    pool.submit<List<SelfTestReport>> {
                        start.await()
                        List(callsPerThread) { core.selfTest() }
                    }
                }
                start.countDown()
                val reports = callers.flatMap { it.get(WAIT_SECONDS * 3, TimeUnit.SECONDS) }
                assertTrue(reports.all { it.passed && it.results.size == KAT_COUNT })

                assertTrue(latch.await(WAIT_SECONDS, TimeUnit.SECONDS), "missing ${latch.count} events")
                assertTrue(core.flushEvents(WAIT_MS), "flushEvents timed out")
                val stats = core.eventStats()
                val e = expected.toLong()
                assertEquals(EventStats(emitted = e, delivered = e, dropped = 0L, listenerFailures = 0L), stats)
                assertEquals(expected, listener.received.size)
                assertTrue(listener.received.none { it.thread === testThread })
            }
        } finally {
            pool.shutdownNow()
        }
    }

    @Test
    fun `a throwing listener is counted and delivery resumes with a good listener`() {
        val bad = ThrowingListener()
        RukaSec(bad).use { core ->
            core.selfTest()
            core.selfTest()
            assertTrue(core.flushEvents(WAIT_MS))
            val afterBad = core.eventStats()
            assertEquals(3, bad.calls)
            assertEquals(3L, afterBad.listenerFailures, "$afterBad")
            assertEquals(0L, afterBad.delivered, "$afterBad")

            val good = RecordingListener()
            core.setListener(good)
            core.selfTest()
            assertTrue(good.await(1), "no event after setListener(good)")
            assertTrue(core.flushEvents(WAIT_MS))
            val afterGood = core.eventStats()
            assertEquals(3L, afterGood.listenerFailures, "$afterGood")
            assertEquals(1L, afterGood.delivered, "$afterGood")
            assertEquals(4L, afterGood.emitted, "$afterGood")
            assertEquals(3, bad.calls, "the replaced listener was called again")
        }
    }

    @Test
    fun `a listener throwing any RukaSecException variant is counted as a failure`() {
        // Each variant is lowered by the generated code and read back by Rust.
        val variants: List<RukaSecException> = listOf(
            RukaSecException.InvalidInput("from Kotlin"),
            RukaSecException.CryptoUnavailable("from Kotlin"),
            RukaSecException.Callback("from Kotlin"),
            RukaSecException.Internal("from Kotlin"),
        )
        val next = AtomicInteger(0)
        val bad = ThrowingListener { variants[next.getAndIncrement() % variants.size] }
        RukaSec(bad).use { core ->
            repeat(variants.size - 1) { core.selfTest() }
            assertTrue(core.flushEvents(WAIT_MS))
            val stats = core.eventStats()
            assertEquals(variants.size, bad.calls)
            val n = variants.size.toLong()
            assertEquals(EventStats(emitted = n, delivered = 0L, dropped = 0L, listenerFailures = n), stats)
        }
        // The Kotlin face of the error enum: a sealed class whose message carries the reason.
        for (variant in variants) {
            val reason = when (variant) {
                is RukaSecException.InvalidInput -> variant.reason
                is RukaSecException.CryptoUnavailable -> variant.reason
                is RukaSecException.Callback -> variant.reason
                is RukaSecException.Internal -> variant.reason
            }
            assertEquals("reason=$reason", variant.message)
        }
    }

    @Test
    fun `the enums mirror the Rust enums`() {
        assertEquals(
            listOf(
                "SELF_TEST_PASSED", "SELF_TEST_FAILED", "CRYPTO_REFUSED",
                "VAULT_INTEGRITY_FAILURE", "VAULT_KEY_UNAVAILABLE", "VAULT_KEY_ROTATED", "VAULT_ACCOUNT_DELETED",
                "PIN_MISMATCH", "PIN_MISMATCH_REPORT_ONLY", "PIN_SET_EXPIRED", "TLS_VERIFICATION_FAILED",
                "PIN_POLICY_UPDATED", "PIN_POLICY_REJECTED", "PIN_REPORT_SENT", "PIN_REPORT_FAILED",
                "UNLOCK_SUCCEEDED", "UNLOCK_FAILED", "UNLOCK_CANCELLED", "UNLOCK_LOCKED_OUT",
                "UNLOCK_COUNTER_TAMPERED", "VAULT_LOCKED", "VAULT_KEY_INVALIDATED",
                "AUTHENTICATION_FAILURE_BURST", "REQUEST_RATE_ANOMALY", "CLOCK_SKEW_DETECTED",
                "CREDENTIAL_ROTATION_DUE", "RATE_LIMITED", "AUTHENTICATION_REJECTED",
                "OTHER",
            ),
            SecurityEventKind.entries.map { it.name },
        )
        assertEquals(listOf("INFO", "WARNING", "ERROR", "CRITICAL"), Severity.entries.map { it.name })
    }

    @Test
    fun `a listener that throws sometimes does not stop delivery`() {
        val seen = RecordingListener()
        val n = AtomicInteger(0)
        val flaky = object : SecurityEventListener {
            override fun onEvent(event: SecurityEvent) {
                seen.onEvent(event)
                if (n.getAndIncrement() % 2 == 0) throw IllegalStateException("every other event")
            }
        }
        RukaSec(flaky).use { core ->
            repeat(5) { core.selfTest() }
            assertTrue(seen.await(6))
            assertTrue(core.flushEvents(WAIT_MS))
            val stats = core.eventStats()
            assertEquals(EventStats(emitted = 6L, delivered = 3L, dropped = 0L, listenerFailures = 3L), stats)
        }
    }

    /**
     * Characterizes a gap of the generated code: its callback glue catches `kotlin.Exception`
     * only. A `Throwable` that is not an Exception (an `Error`, e.g. a failed JUnit assertion)
     * escapes to JNA, which logs it and returns "success" to Rust: the event counts as delivered,
     * not as a listener failure. Delivery still goes on. If this test starts failing, UniFFI (or
     * RukaSec) now reports such errors: update the expectation.
     */
    @Test
    fun `a listener throwing an Error is counted as delivered, not as a failure`() {
        val seen = RecordingListener()
        val erroring = object : SecurityEventListener {
            override fun onEvent(event: SecurityEvent) {
                seen.onEvent(event)
                throw AssertionError("deliberate Error thrown by a test listener")
            }
        }
        RukaSec(erroring).use { core ->
            core.selfTest()
            assertTrue(seen.await(2))
            assertTrue(core.flushEvents(WAIT_MS))
            assertEquals(EventStats(emitted = 2L, delivered = 2L, dropped = 0L, listenerFailures = 0L), core.eventStats())
            // The delivery thread survived: a good listener gets the next event.
            val good = RecordingListener()
            core.setListener(good)
            core.selfTest()
            assertTrue(good.await(1))
        }
    }

    @Test
    fun `setListener replaces and removes the listener`() {
        val first = RecordingListener()
        val second = RecordingListener()
        RukaSec(first).use { core ->
            assertTrue(first.await(1))
            core.setListener(second)
            core.selfTest()
            assertTrue(second.await(1))
            core.setListener(null)
            core.selfTest()
            assertTrue(core.flushEvents(WAIT_MS))
            assertEquals(1, first.received.size)
            assertEquals(1, second.received.size)
            val stats = core.eventStats()
            assertEquals(3L, stats.emitted, "$stats")
            assertEquals(2L, stats.delivered, "$stats")

            // A listener set later on an object created without one.
            core.setListener(first)
            core.selfTest()
            assertTrue(first.await(1))
        }
        RukaSec(null).use { core ->
            // Queued events go to whichever listener is set when they are delivered: let the
            // construction event go (to no listener) first.
            assertTrue(core.flushEvents(WAIT_MS))
            val late = RecordingListener()
            core.setListener(late)
            core.selfTest()
            assertTrue(late.await(1))
            assertEquals(SecurityEventKind.SELF_TEST_PASSED, late.events.single().kind)
        }
    }

    @Test
    fun `one listener can serve several objects`() {
        val shared = RecordingListener()
        RukaSec(shared).use { a ->
            RukaSec(shared).use { b ->
                a.selfTest()
                b.selfTest()
                assertTrue(shared.await(4), "got ${shared.received.size} of 4 events")
                assertTrue(a.flushEvents(WAIT_MS) && b.flushEvents(WAIT_MS))
                assertEquals(2L, a.eventStats().delivered)
                assertEquals(2L, b.eventStats().delivered)
            }
        }
    }
}
