package com.rukapay.rukasec

import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File
import com.rukapay.rukasec.docs.securityEvents

/**
 * Security monitoring through the binding: `EventSubscription` (suspend `next`, `tryNext`,
 * `missed`, `unsubscribe`) and the `Flow` adapter of docs/INTEGRATION.md with several collectors,
 * `Vault.eventJournal` with `JournalEntry`, and `RukaSec.enableAnomalyDetection` with
 * `AnomalyRules` and `AnomalyDetector`. The rules and the journal's bounds are tested in Rust.
 */
class EventStreamTest {
    @TempDir
    lateinit var dir: File

    private lateinit var core: RukaSec

    @BeforeEach
    fun start() {
        core = RukaSec(null)
        // The construction's SELF_TEST_PASSED is delivered before any test subscribes.
        assertTrue(core.flushEvents(WAIT_MS))
    }

    @AfterEach
    fun stop() {
        core.close()
    }

    private fun <T> await(block: suspend () -> T): T = runBlocking { withTimeout(WAIT_MS) { block() } }

    @Test
    fun `two Flow collectors each get every later event, in order`() {
        val kinds = await {
            kotlinx.coroutines.coroutineScope {
                val first = async(start = CoroutineStart.UNDISPATCHED) { core.securityEvents().take(3).toList() }
                val second = async(start = CoroutineStart.UNDISPATCHED) { core.securityEvents().take(3).toList() }
                repeat(3) { core.selfTest() }
                listOf(first.await(), second.await())
            }
        }
        for (events in kinds) {
            assertEquals(List(3) { SecurityEventKind.SELF_TEST_PASSED }, events.map { it.kind })
            assertTrue(events.zipWithNext().all { (a, b) -> a.timestampMs <= b.timestampMs })
        }
    }

    @Test
    fun `a subscription queues, counts what it lost, and ends on close`() {
        core.subscribeEvents(2).use { subscription ->
            repeat(5) { core.selfTest() }
            assertTrue(core.flushEvents(WAIT_MS))
            assertEquals(3L, subscription.missed())
            assertEquals(SecurityEventKind.SELF_TEST_PASSED, subscription.tryNext()?.kind)
            assertEquals(SecurityEventKind.SELF_TEST_PASSED, subscription.tryNext()?.kind)
            assertNull(subscription.tryNext())
            // A waiting next() ends when the subscription closes.
            val ended = await {
                kotlinx.coroutines.coroutineScope {
                    val waiting = async { subscription.next() }
                    delay(50)
                    assertFalse(subscription.isClosed())
                    subscription.unsubscribe()
                    waiting.await()
                }
            }
            assertNull(ended)
            assertTrue(subscription.isClosed())
        }
        assertThrows<RukaSecException.InvalidInput> { core.subscribeEvents(-1) }
    }

    @Test
    fun `the vault's journal keeps events for upload until acknowledged`() {
        core.openVault(File(dir, "vault").path, AesGcmKeyWrapper()).use { vault ->
            vault.eventJournal(3).use { journal ->
                repeat(5) { core.selfTest() }
                assertTrue(core.flushEvents(WAIT_MS))
                val entries = journal.entries()
                assertEquals(listOf(2L, 3L, 4L), entries.map { it.seq })
                assertTrue(entries.all { it.event.kind == SecurityEventKind.SELF_TEST_PASSED && it.event.severity == Severity.INFO })
                assertEquals(2, journal.acknowledge(3))
                assertEquals(listOf(4L), journal.entries().map { it.seq })
                assertEquals(0L, journal.skipped())
                assertThrows<VaultException.InvalidInput> { journal.acknowledge(-1) }
            }
            // The same journal: a second call does not record twice.
            vault.eventJournal(100).use { again ->
                core.selfTest()
                assertTrue(core.flushEvents(WAIT_MS))
                assertEquals(listOf(4L, 5L), again.entries().map { it.seq })
            }
            assertThrows<VaultException.InvalidInput> { vault.eventJournal(-5) }
        }
    }

    @Test
    fun `failed unlocks in a burst raise AUTHENTICATION_FAILURE_BURST, and bad rules are refused`() {
        assertThrows<RukaSecException.InvalidInput> { core.enableAnomalyDetection(AnomalyRules(authFailureLimit = 0)) }
        core.enableAnomalyDetection(AnomalyRules(authFailureLimit = 2)).use { detector ->
            detector.recordRequest()
            core.openVault(File(dir, "vault").path, AesGcmKeyWrapper()).use { vault ->
                val failing = UnlockTest.ScriptedAuthenticator(fallback = AuthOutcome.Failed)
                vault.enableUnlock(UnlockPolicy(), failing).use { gate ->
                    core.subscribeEvents(64).use { subscription ->
                        repeat(2) {
                            assertThrows<VaultException.AuthenticationFailed> {
                                await { gate.unlock(DataClass.CONFIDENTIAL, null, "Open") }
                            }
                        }
                        val alert = await {
                            var event = subscription.next()
                            while (event != null && event.kind != SecurityEventKind.AUTHENTICATION_FAILURE_BURST) event = subscription.next()
                            event
                        }!!
                        assertEquals(Severity.CRITICAL, alert.severity)
                        assertEquals("2", alert.details["failures"])
                    }
                }
            }
        }
    }
}
