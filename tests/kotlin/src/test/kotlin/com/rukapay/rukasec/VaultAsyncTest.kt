package com.rukapay.rukasec

import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

private const val ACCOUNT = "async@example.test"

/**
 * The vault's `suspend` forms: they run SQLite and the keystore off the caller's thread (the
 * point of them on Android's main thread), return what the blocking forms return, and throw the
 * same `VaultException`s.
 */
class VaultAsyncTest {
    @TempDir
    lateinit var dir: File

    /** A keystore whose `wrap` can be held until released, recording the threads it ran on. */
    private class GatedKeyWrapper : AesGcmKeyWrapper() {
        @Volatile var gated = false
        val entered = CountDownLatch(1)
        val release = CountDownLatch(1)
        val threads = ConcurrentLinkedQueue<Thread>()

        override fun wrap(alias: String, key: ByteArray): ByteArray {
            if (gated) {
                threads.add(Thread.currentThread())
                entered.countDown()
                check(release.await(WAIT_SECONDS, TimeUnit.SECONDS)) { "never released" }
            }
            return super.wrap(alias, key)
        }
    }

    @Test
    fun `putAsync waits in the keystore without blocking the caller's thread`() {
        val wrapper = GatedKeyWrapper()
        RukaSec(null).use { core ->
            core.openVault(dir.absolutePath, wrapper).use { vault ->
                wrapper.gated = true
                // runBlocking has one thread. A put that blocked it inside the keystore would
                // keep the releasing coroutine below from ever running: the test would time out.
                runBlocking {
                    val caller = Thread.currentThread()
                    val put = async {
                        vault.putAsync(ACCOUNT, "tokens", "refresh", "r1".toByteArray(), DataClass.RESTRICTED, null)
                    }
                    launch {
                        while (wrapper.entered.count > 0) yield()
                        assertFalse(wrapper.threads.contains(caller), "the keystore ran on the caller's thread")
                        wrapper.release.countDown()
                    }
                    withTimeout(WAIT_SECONDS * 1000) { put.await() }
                }
                wrapper.gated = false
                assertTrue(wrapper.threads.isNotEmpty(), "the gate was never reached")
                assertArrayEquals("r1".toByteArray(), vault.get(ACCOUNT, "tokens", "refresh"))
            }
        }
    }

    @Test
    fun `every async form returns what the blocking form does`() {
        RukaSec(null).use { core ->
            core.openVault(dir.absolutePath, AesGcmKeyWrapper()).use { vault ->
                runBlocking {
                    withTimeout(WAIT_SECONDS * 1000) {
                        vault.putAsync(ACCOUNT, "ns", "a", byteArrayOf(1, 2, 3), DataClass.CONFIDENTIAL, null)
                        vault.putBatchAsync(
                            ACCOUNT,
                            listOf(VaultItem("ns", "b", byteArrayOf(4), DataClass.INTERNAL, null)),
                        )
                        assertArrayEquals(byteArrayOf(1, 2, 3), vault.getAsync(ACCOUNT, "ns", "a"))
                        assertNull(vault.getAsync(ACCOUNT, "ns", "missing"))
                        assertTrue(vault.containsAsync(ACCOUNT, "ns", "b"))
                        assertEquals(listOf("a", "b"), vault.listAsync(ACCOUNT, "ns"))
                        assertTrue(vault.hasAccountAsync(ACCOUNT))
                        vault.rotateKekAsync(ACCOUNT)
                        val report = vault.rotateDekAsync(ACCOUNT, DataClass.CONFIDENTIAL)
                        assertTrue(report.complete)
                        assertEquals(1L, report.reencrypted)
                        assertArrayEquals(byteArrayOf(1, 2, 3), vault.getAsync(ACCOUNT, "ns", "a"))
                        assertTrue(vault.deleteAsync(ACCOUNT, "ns", "a"))
                        assertFalse(vault.deleteAsync(ACCOUNT, "ns", "a"))
                        assertEquals(0L, vault.purgeExpiredAsync())
                        assertTrue(vault.resetAccountAsync(ACCOUNT))
                        assertFalse(vault.containsAsync(ACCOUNT, "ns", "b"))
                        vault.putAsync(ACCOUNT, "ns", "c", byteArrayOf(5), DataClass.PUBLIC, null)
                        assertTrue(vault.deleteAccountAsync(ACCOUNT))
                        assertFalse(vault.hasAccountAsync(ACCOUNT))
                    }
                }
            }
        }
    }

    @Test
    fun `async forms throw the blocking forms' errors`() {
        RukaSec(null).use { core ->
            core.openVault(dir.absolutePath, AesGcmKeyWrapper()).use { vault ->
                assertThrows<VaultException.InvalidInput> {
                    runBlocking { vault.getAsync(ACCOUNT, "ns", "") }
                }
                // Numbers are signed at the boundary (Java can call them); negative is refused.
                val negative = assertThrows<VaultException.InvalidInput> {
                    runBlocking { vault.putAsync(ACCOUNT, "ns", "n", byteArrayOf(1), DataClass.PUBLIC, -1L) }
                }
                assertEquals("ttlSeconds must not be negative", negative.reason)
            }
        }
    }
}
