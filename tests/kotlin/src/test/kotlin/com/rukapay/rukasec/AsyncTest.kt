package com.rukapay.rukasec

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** `suspend fun selfTestAsync()`: a Rust future (tokio) driven from Kotlin coroutines. */
class AsyncTest {
    @Test
    fun `selfTestAsync passes and emits an event`() {
        val listener = RecordingListener()
        RukaSec(listener).use { core ->
            val report = runBlocking { withTimeout(WAIT_SECONDS * 1000) { core.selfTestAsync() } }
            assertTrue(report.passed)
            assertEquals(KAT_COUNT, report.results.size)
            assertTrue(report.results.all { it.passed })
            assertTrue(listener.await(2), "got ${listener.received.size} of 2 events")
        }
    }

    @Test
    fun `concurrent selfTestAsync calls on one thread and on a thread pool`() {
        val calls = 16
        val listener = RecordingListener()
        RukaSec(listener).use { core ->
            // All on runBlocking's single thread: the futures run concurrently in Rust.
            val onOneThread = runBlocking {
                withTimeout(WAIT_SECONDS * 1000) {
                    List(calls) { async { core.selfTestAsync() } }.awaitAll()
                }
            }
            // On Dispatchers.Default, mixed with blocking calls.
            val onPool = runBlocking(Dispatchers.Default) {
                withTimeout(WAIT_SECONDS * 1000) {
                    List(calls) { i -> async { if (i % 2 == 0) core.selfTestAsync() else core.selfTest() } }
                        .awaitAll()
                }
            }
            assertEquals(calls * 2, onOneThread.size + onPool.size)
            assertTrue((onOneThread + onPool).all { it.passed && it.results.size == KAT_COUNT })

            val expected = 1 + 2 * calls
            assertTrue(listener.await(expected), "got ${listener.received.size} of $expected events")
            assertTrue(core.flushEvents(WAIT_MS))
            assertEquals(expected.toLong(), core.eventStats().delivered)
        }
    }

    @Test
    fun `cancelled selfTestAsync calls leave the object usable`() {
        val listener = RecordingListener()
        RukaSec(listener).use { core ->
            runBlocking(Dispatchers.Default) {
                val calls = List(8) { async { core.selfTestAsync() } }
                calls.forEach { it.cancel() }
                // Whether each call finished or was cancelled first does not matter here.
                calls.forEach { runCatching { it.await() } }
            }
            val report = runBlocking { withTimeout(WAIT_SECONDS * 1000) { core.selfTestAsync() } }
            assertTrue(report.passed)
            // A cancelled call may still run its (blocking) self-test in Rust, even now: wait
            // until whatever was emitted is delivered.
            val deadline = System.nanoTime() + WAIT_SECONDS * 1_000_000_000
            var stats: EventStats
            do {
                assertTrue(core.flushEvents(WAIT_MS))
                stats = core.eventStats()
            } while (stats.emitted != stats.delivered && System.nanoTime() < deadline)
            assertEquals(stats.emitted, stats.delivered, "$stats")
            assertTrue(stats.emitted >= 2L, "$stats")
            assertEquals(0L, stats.listenerFailures, "$stats")
        }
    }

    @Test
    fun `selfTestAsync after close throws IllegalStateException`() {
        val core = RukaSec(null)
        core.close()
        assertThrows<IllegalStateException> { runBlocking { core.selfTestAsync() } }
    }
}
