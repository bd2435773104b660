package com.rukapay.rukasec

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

/**
 * Restricted data keys bound to user authentication in the keystore, through the binding: a
 * Kotlin `AuthBoundKeyWrapper` (a `suspend` unwrap, as BiometricPrompt with a `CryptoObject`
 * is written) answering from a script, `KeyAuthRequirement`, `PromptedUnwrap`,
 * `Vault.enableUnlockWithBoundKeys`, `hasBoundKey`, `unlockBound` and `getAsync` on a bound
 * account. The vault's rules for bound keys are tested in Rust (core/tests/bound_keys.rs).
 */
class BoundKeysTest {
    @TempDir
    lateinit var dir: File

    private lateinit var core: RukaSec

    @BeforeEach
    fun start() {
        core = RukaSec(null)
    }

    @AfterEach
    fun stop() {
        core.close()
    }

    /** A JVM AES-GCM keystore whose every unwrap first "prompts": the next scripted outcome. */
    class ScriptedBoundWrapper(outcomes: List<AuthOutcome>, private val invalidated: Boolean = false) : AuthBoundKeyWrapper {
        private val inner = AesGcmKeyWrapper()
        private val script = ConcurrentLinkedQueue(outcomes)
        val requirements = ConcurrentLinkedQueue<KeyAuthRequirement>()
        val prompts = ConcurrentLinkedQueue<AuthRequest>()

        override fun createKey(alias: String, requirement: KeyAuthRequirement) {
            requirements.add(requirement)
            inner.createKey(alias)
        }

        override fun wrap(alias: String, key: ByteArray): ByteArray = inner.wrap(alias, key)

        override suspend fun unwrap(alias: String, wrapped: ByteArray, request: AuthRequest): PromptedUnwrap {
            prompts.add(request)
            if (invalidated) throw thrownIntoRust(KeyWrapperException.KeyInvalidated())
            return when (val outcome = script.poll() ?: AuthOutcome.Cancelled) {
                is AuthOutcome.Success -> PromptedUnwrap.Unwrapped(outcome.method, inner.unwrap(alias, wrapped))
                else -> PromptedUnwrap.Refused(outcome)
            }
        }

        override fun deleteKey(alias: String) = inner.deleteKey(alias)
    }

    private val strong = AuthOutcome.Success(AuthMethod.STRONG_BIOMETRIC)

    private fun <T> await(block: suspend () -> T): T = runBlocking { withTimeout(WAIT_MS) { block() } }

    @Test
    fun `a bound Restricted item opens only through the keystore's own prompt`() {
        val bound = ScriptedBoundWrapper(listOf(strong, strong))
        val authenticator = UnlockTest.ScriptedAuthenticator(fallback = strong)
        core.openVault(File(dir, "vault").path, AesGcmKeyWrapper()).use { vault ->
            vault.enableUnlockWithBoundKeys(UnlockPolicy(), authenticator, bound).use { gate ->
                vault.put(ALICE, "wallet", "pin", byteArrayOf(4, 2), DataClass.RESTRICTED, null)
                assertTrue(vault.hasBoundKey(ALICE))
                assertFalse(vault.hasBoundKey("nobody"))
                val requirement = bound.requirements.single()
                assertEquals(KeyAuthRequirement(listOf(AuthMethod.STRONG_BIOMETRIC), 10), requirement)

                // An ordinary prompt opens the gate, not the keystore key.
                await { gate.unlock(DataClass.RESTRICTED, ALICE, "Show the PIN") }
                assertThrows<VaultException.UserAuthenticationRequired> { vault.get(ALICE, "wallet", "pin") }

                assertArrayEquals(byteArrayOf(4, 2), await { vault.getAsync(ALICE, "wallet", "pin") })
                val prompt = bound.prompts.single()
                assertEquals(DataClass.RESTRICTED, prompt.dataClass)
                assertEquals(ALICE, prompt.account)

                // unlockBound: the blocking reads work until the gate locks.
                gate.lock()
                assertThrows<VaultException.UserAuthenticationRequired> { vault.get(ALICE, "wallet", "pin") }
                await { vault.unlockBound(ALICE, "Show the PIN") }
                assertArrayEquals(byteArrayOf(4, 2), vault.get(ALICE, "wallet", "pin"))
                assertEquals(2, bound.prompts.size)
                gate.lock()
                assertThrows<VaultException.UserAuthenticationRequired> { vault.get(ALICE, "wallet", "pin") }
            }
            assertThrows<VaultException.InvalidInput> {
                vault.enableUnlockWithBoundKeys(UnlockPolicy(), authenticator, bound)
            }
        }
    }

    @Test
    fun `a cancelled prompt, an invalidated key and an unbound account are typed errors`() {
        val cancelling = ScriptedBoundWrapper(listOf(AuthOutcome.Cancelled))
        core.openVault(File(dir, "a").path, AesGcmKeyWrapper()).use { vault ->
            vault.enableUnlockWithBoundKeys(UnlockPolicy(), UnlockTest.ScriptedAuthenticator(), cancelling).use {
                vault.put(ALICE, "wallet", "pin", byteArrayOf(1), DataClass.RESTRICTED, null)
                assertThrows<VaultException.UserCancelled> { await { vault.getAsync(ALICE, "wallet", "pin") } }
                assertThrows<VaultException.InvalidInput> { await { vault.unlockBound("nobody", "Open") } }
            }
        }
        val invalidated = ScriptedBoundWrapper(emptyList(), invalidated = true)
        core.openVault(File(dir, "b").path, AesGcmKeyWrapper()).use { vault ->
            vault.enableUnlockWithBoundKeys(UnlockPolicy(), UnlockTest.ScriptedAuthenticator(), invalidated).use {
                vault.put(ALICE, "wallet", "pin", byteArrayOf(1), DataClass.RESTRICTED, null)
                assertThrows<VaultException.KeyInvalidated> { await { vault.unlockBound(ALICE, "Open") } }
            }
        }
    }

    @Test
    fun `PromptedUnwrap does not print the key`() {
        val printed = PromptedUnwrap.Unwrapped(AuthMethod.STRONG_BIOMETRIC, "canary-key-4111".encodeToByteArray()).toString()
        assertFalse("canary" in printed, printed)
    }

    private companion object {
        const val ALICE = "alice"
    }
}
