package com.rukapay.rukasec.android

import android.util.Log
import com.rukapay.rukasec.LogLevel
import com.rukapay.rukasec.SecurityEventKind
import com.rukapay.rukasec.ffiTestingLog
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.shadows.ShadowLog
import java.util.UUID

/**
 * `LogcatLogger` and `RukaSec.securityEvents()` on Robolectric's `android.util.Log` (ShadowLog)
 * and the real bindings: the core's lines reach Logcat under the logger's tag at the mapped
 * priority, filtered by level and already redacted; the Flow delivers the core's events to a
 * collector and ends its subscription when the collector is cancelled.
 */
@RunWith(RobolectricTestRunner::class)
class LogcatLoggerAndEventsTest : KeystoreTestBase() {
    private val tag = "RukaSecTest"

    /** The messages this test wrote (every core's logger sees every line), with their priority. */
    private fun logged(marker: String) =
        ShadowLog.getLogsForTag(tag).filter { marker in it.msg }.map { it.type to it.msg }

    @Test
    fun `core lines reach Logcat under the tag at the mapped priority and above the level`() {
        core.setLogger(LogcatLogger(tag), LogLevel.INFO)
        val marker = "marker-" + UUID.randomUUID()
        for (level in LogLevel.values()) ffiTestingLog(level, "$marker ${level.name}")
        assertTrue(core.flushLogs(WAIT_MS))

        assertEquals(
            listOf(Log.ERROR to "ERROR", Log.WARN to "WARN", Log.INFO to "INFO"),
            logged(marker).map { (priority, message) -> priority to message.substringAfterLast(' ') },
        )
        // The line names where it came from: `target: message`.
        assertTrue(logged(marker).all { it.second.startsWith("rukasec_ffi::testing: ") })
        assertEquals(Log.VERBOSE, LogcatLogger.priorityOf(LogLevel.TRACE))
        assertEquals(Log.DEBUG, LogcatLogger.priorityOf(LogLevel.DEBUG))

        // Removed: nothing more reaches Logcat.
        core.setLogger(null, LogLevel.INFO)
        val after = "after-" + UUID.randomUUID()
        ffiTestingLog(LogLevel.ERROR, after)
        assertTrue(core.flushLogs(WAIT_MS))
        assertTrue(logged(after).isEmpty())
    }

    @Test
    fun `a registered secret never reaches Logcat`() {
        core.setLogger(LogcatLogger(tag), LogLevel.TRACE)
        val marker = "marker-" + UUID.randomUUID()
        val canary = "canary-" + UUID.randomUUID()
        core.registerSecretText(canary)
        ffiTestingLog(LogLevel.WARN, "$marker the token is $canary")
        assertTrue(core.flushLogs(WAIT_MS))

        val lines = logged(marker)
        assertEquals(1, lines.size)
        assertFalse(lines.single().second.contains(canary))
        assertFalse(ShadowLog.getLogs().any { canary in it.msg })
    }

    @Test
    fun `securityEvents delivers the core's events and a cancelled collector ends its subscription`() {
        val kinds = await {
            coroutineScope {
                // Undispatched: the flow has subscribed and waits in next() before events are made.
                val collected = async(start = CoroutineStart.UNDISPATCHED) {
                    core.securityEvents(capacity = 8).take(2).toList().map { it.kind }
                }
                repeat(2) { core.selfTest() }
                collected.await()
            }
        }
        assertEquals(List(2) { SecurityEventKind.SELF_TEST_PASSED }, kinds)

        // A collector waiting for an event that never comes ends when its scope is cancelled
        // (bounded by await's timeout: a next() that ignored cancellation would hang here).
        await {
            coroutineScope {
                val waiting = launch(start = CoroutineStart.UNDISPATCHED) { core.securityEvents().collect { } }
                waiting.cancel()
                waiting.join()
                assertTrue(waiting.isCancelled)
            }
        }
    }
}
