package com.rukapay.rukasec

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicInteger

/**
 * Unlocking through the binding: a Kotlin `Authenticator` (a `suspend fun`, as a BiometricPrompt
 * wrapper is written) answering from a script, the `UnlockPolicy` record, the `UnlockGate`
 * object, and each `VaultException` case of unlocking. The policy itself is tested in Rust.
 */
class UnlockTest {
    @TempDir
    lateinit var dir: File

    private lateinit var core: RukaSec
    private val wrapper = AesGcmKeyWrapper()

    @BeforeEach
    fun start() {
        core = RukaSec(null)
    }

    @AfterEach
    fun stop() {
        core.close()
    }

    /** Answers each prompt with the next outcome (then `fallback`), after `hold` completes. */
    class ScriptedAuthenticator(
        outcomes: List<AuthOutcome> = emptyList(),
        private val fallback: AuthOutcome = AuthOutcome.Cancelled,
        private val hold: CompletableDeferred<Unit>? = null,
    ) : Authenticator {
        private val script = ConcurrentLinkedQueue(outcomes)
        val requests = ConcurrentLinkedQueue<AuthRequest>()
        private val started = AtomicInteger()
        val prompts: Int get() = started.get()

        override suspend fun authenticate(request: AuthRequest): AuthOutcome {
            started.incrementAndGet()
            requests.add(request)
            hold?.await()
            return script.poll() ?: fallback
        }
    }

    private val strong = AuthOutcome.Success(AuthMethod.STRONG_BIOMETRIC)

    private fun vault(name: String = "vault") = core.openVault(File(dir, name).path, wrapper)

    private fun <T> await(block: suspend () -> T): T = runBlocking { withTimeout(WAIT_MS) { block() } }

    @Test
    fun `a Restricted item needs a prompt, which getAsync shows and a blocking get never does`() {
        val authenticator = ScriptedAuthenticator(fallback = strong)
        vault().use { vault ->
            vault.enableUnlock(UnlockPolicy(), authenticator).use { gate ->
                vault.put(ALICE, "wallet", "token", byteArrayOf(7), DataClass.RESTRICTED, null)
                vault.put(ALICE, "public", "banner", byteArrayOf(1), DataClass.PUBLIC, null)
                assertFalse(gate.isUnlocked(DataClass.RESTRICTED))
                assertThrows<VaultException.UserAuthenticationRequired> { vault.get(ALICE, "wallet", "token") }
                assertArrayEquals(byteArrayOf(1), vault.get(ALICE, "public", "banner"))
                assertEquals(0, authenticator.prompts)

                assertArrayEquals(byteArrayOf(7), await { vault.getAsync(ALICE, "wallet", "token") })
                val request = authenticator.requests.single()
                assertEquals(DataClass.RESTRICTED, request.dataClass)
                assertEquals(ALICE, request.account)
                assertEquals(listOf(AuthMethod.STRONG_BIOMETRIC), request.allowed)
                assertTrue(request.reason.isNotBlank())
                // Inside its window the blocking read works; after lock() it does not.
                assertArrayEquals(byteArrayOf(7), vault.get(ALICE, "wallet", "token"))
                gate.lock()
                assertThrows<VaultException.UserAuthenticationRequired> { vault.get(ALICE, "wallet", "token") }
            }
        }
    }

    @Test
    fun `cancel, failures and a lockout that a reopened vault keeps arrive as their cases`() {
        val authenticator = ScriptedAuthenticator(
            listOf(AuthOutcome.Cancelled) + List(5) { AuthOutcome.Failed },
            fallback = strong,
        )
        vault().use { vault ->
            vault.enableUnlock(UnlockPolicy(), authenticator).use { gate ->
                vault.put(ALICE, "ns", "secret", byteArrayOf(1), DataClass.CONFIDENTIAL, null)
                assertThrows<VaultException.UserCancelled> { await { vault.getAsync(ALICE, "ns", "secret") } }
                for (left in 4 downTo 1) {
                    val failed = assertThrows<VaultException.AuthenticationFailed> {
                        await { gate.unlock(DataClass.CONFIDENTIAL, ALICE, "Show history") }
                    }
                    assertEquals(left, failed.remainingAttempts)
                }
                val lockedOut = assertThrows<VaultException.LockedOut> { await { vault.getAsync(ALICE, "ns", "secret") } }
                assertTrue(lockedOut.untilUnixMs > System.currentTimeMillis())
                assertEquals(lockedOut.untilUnixMs, gate.lockedOutUntilMs())
            }
        }
        // A restarted app: the lockout is still there, and nothing prompts.
        val later = ScriptedAuthenticator(fallback = strong)
        vault().use { vault ->
            vault.enableUnlock(UnlockPolicy(), later).use {
                assertThrows<VaultException.LockedOut> { await { vault.getAsync(ALICE, "ns", "secret") } }
                assertEquals(0, later.prompts)
            }
        }
    }

    @Test
    fun `concurrent async reads share one prompt and its cancellation`() {
        val release = CompletableDeferred<Unit>()
        val authenticator = ScriptedAuthenticator(fallback = AuthOutcome.Cancelled, hold = release)
        vault().use { vault ->
            vault.enableUnlock(UnlockPolicy(), authenticator).use {
                repeat(5) { i -> vault.put(ALICE, "ns", "item$i", byteArrayOf(i.toByte()), DataClass.CONFIDENTIAL, null) }
                val outcomes = await {
                    kotlinx.coroutines.coroutineScope {
                        val reads = (0 until 5).map { i ->
                            async { runCatching { vault.getAsync(ALICE, "ns", "item$i") }.exceptionOrNull() }
                        }
                        while (authenticator.prompts == 0) delay(5)
                        delay(100) // every read has joined the prompt in flight
                        release.complete(Unit)
                        reads.awaitAll()
                    }
                }
                outcomes.forEach { assertTrue(it is VaultException.UserCancelled, "got $it") }
                assertEquals(1, authenticator.prompts)
            }
        }
    }

    @Test
    fun `cancelling the coroutine of a read cancels its prompt, and the next read prompts again`() {
        val cancelled = CompletableDeferred<Unit>()
        val calls = AtomicInteger()
        val authenticator = object : Authenticator {
            override suspend fun authenticate(request: AuthRequest): AuthOutcome {
                if (calls.incrementAndGet() == 1) {
                    try {
                        kotlinx.coroutines.awaitCancellation() // the user looks at the prompt forever
                    } finally {
                        cancelled.complete(Unit) // RukaSec dropped the wait: the prompt is dismissed
                    }
                }
                return strong
            }
        }
        vault().use { vault ->
            vault.enableUnlock(UnlockPolicy(), authenticator).use {
                vault.put(ALICE, "ns", "secret", byteArrayOf(5), DataClass.CONFIDENTIAL, null)
                await {
                    kotlinx.coroutines.coroutineScope {
                        val read = async { vault.getAsync(ALICE, "ns", "secret") }
                        while (calls.get() == 0) delay(5)
                        read.cancel()
                        cancelled.await()
                    }
                }
                assertArrayEquals(byteArrayOf(5), await { vault.getAsync(ALICE, "ns", "secret") })
                assertEquals(2, calls.get())
            }
        }
    }

    @Test
    fun `background locking, invalidated keys and unusable policies`() {
        val authenticator = ScriptedAuthenticator(
            listOf(AuthOutcome.Success(AuthMethod.DEVICE_CREDENTIAL), AuthOutcome.KeyInvalidated),
            fallback = AuthOutcome.Unavailable,
        )
        vault().use { vault ->
            assertThrows<VaultException.InvalidInput> { vault.enableUnlock(UnlockPolicy(maxFailures = 0), authenticator) }
            vault.enableUnlock(UnlockPolicy(), authenticator).use { gate ->
                assertThrows<VaultException.InvalidInput> { vault.enableUnlock(UnlockPolicy(), authenticator) }
                await { gate.unlock(DataClass.CONFIDENTIAL, null, "Open") }
                assertTrue(gate.isUnlocked(DataClass.CONFIDENTIAL))
                gate.onAppBackground()
                assertFalse(gate.isUnlocked(DataClass.CONFIDENTIAL))
                assertTrue(gate.isUnlocked(DataClass.INTERNAL), "Internal stays open after the first unlock")
                assertThrows<VaultException.KeyInvalidated> { await { gate.unlock(DataClass.RESTRICTED, ALICE, "Pay") } }
                // No prompt can run: the app must let the user authenticate another way.
                assertThrows<VaultException.UserAuthenticationRequired> { await { gate.unlock(DataClass.RESTRICTED, ALICE, "Pay") } }
            }
        }
    }

    @Test
    fun `an authenticator that throws counts as unavailable, without its text, and the gate stays usable`() {
        val throwing = object : Authenticator {
            override suspend fun authenticate(request: AuthRequest): AuthOutcome = throw IllegalStateException("prompt bug 4111")
        }
        vault().use { vault ->
            vault.enableUnlock(UnlockPolicy(), throwing).use { gate ->
                repeat(2) {
                    val error = assertThrows<VaultException.UserAuthenticationRequired> {
                        await { gate.unlock(DataClass.CONFIDENTIAL, null, "Open") }
                    }
                    assertFalse("4111" in error.reason, error.reason)
                }
                assertFalse(gate.isUnlocked(DataClass.CONFIDENTIAL))
            }
        }
    }

    @Test
    fun `a device key in a gated vault needs the Restricted unlock first`() {
        val authenticator = ScriptedAuthenticator(fallback = strong)
        vault().use { vault ->
            DeviceKey.loadOrCreate(vault, ALICE).close() // created before the gate: writes need none
            vault.enableUnlock(UnlockPolicy(), authenticator).use { gate ->
                assertThrows<SignatureException.UserAuthenticationRequired> { DeviceKey.loadOrCreate(vault, ALICE) }
                await { gate.unlock(DataClass.RESTRICTED, ALICE, "Sign in") }
                DeviceKey.loadOrCreate(vault, ALICE).use { assertTrue(it.publicKey().spkiDer.isNotEmpty()) }
                assertEquals(1, authenticator.prompts)
            }
        }
    }

    @Test
    fun `a keystore key the platform invalidated is KeyInvalidated`() {
        val invalidated = ThrowingKeyWrapper { KeyWrapperException.KeyInvalidated() }
        core.openVault(File(dir, "invalidated").path, invalidated).use { vault ->
            assertThrows<VaultException.KeyInvalidated> { vault.put(ALICE, "ns", "v", byteArrayOf(1), DataClass.RESTRICTED, null) }
        }
    }

    companion object {
        const val ALICE = "alice"
    }
}
