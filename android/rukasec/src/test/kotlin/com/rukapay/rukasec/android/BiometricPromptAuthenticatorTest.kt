package com.rukapay.rukasec.android

import androidx.biometric.BiometricManager
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_WEAK
import androidx.biometric.BiometricManager.Authenticators.DEVICE_CREDENTIAL
import androidx.biometric.BiometricPrompt
import com.rukapay.rukasec.AuthMethod
import com.rukapay.rukasec.AuthOutcome
import com.rukapay.rukasec.AuthRequest
import com.rukapay.rukasec.DataClass
import com.rukapay.rukasec.UnlockPolicy
import com.rukapay.rukasec.VaultException
import com.rukapay.rukasec.android.FakePromptLauncher.Answer
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import java.util.concurrent.TimeUnit

/**
 * [BiometricPromptAuthenticator]: how AndroidX's results become the core's [AuthOutcome]s, which
 * authenticators a request allows, cancellation, and the authenticator as the vault's unlock
 * prompt through the bindings.
 */
@RunWith(RobolectricTestRunner::class)
class BiometricPromptAuthenticatorTest : KeystoreTestBase() {
    private fun request(vararg allowed: AuthMethod) =
        AuthRequest("Confirm the transfer", "alice", DataClass.RESTRICTED, allowed.toList())

    private fun outcome(answer: Answer, vararg allowed: AuthMethod = arrayOf(AuthMethod.STRONG_BIOMETRIC), now: Long = 1_000L): AuthOutcome {
        val authenticator = BiometricPromptAuthenticator(FakePromptLauncher(listOf(answer)), "RukaPay", clock = { now })
        return await { authenticator.authenticate(request(*allowed)) }
    }

    @Test
    fun `a success reports the method, conservatively`() {
        assertEquals(AuthOutcome.Success(AuthMethod.STRONG_BIOMETRIC), outcome(Answer.Biometric))
        assertEquals(
            AuthOutcome.Success(AuthMethod.ANY_BIOMETRIC),
            outcome(Answer.Biometric, AuthMethod.STRONG_BIOMETRIC, AuthMethod.ANY_BIOMETRIC),
        )
        assertEquals(
            AuthOutcome.Success(AuthMethod.DEVICE_CREDENTIAL),
            outcome(Answer.Credential, AuthMethod.STRONG_BIOMETRIC, AuthMethod.DEVICE_CREDENTIAL),
        )
        // Unknown type (API < 30 with the credential allowed): the weakest method offered.
        assertEquals(AuthMethod.DEVICE_CREDENTIAL, BiometricPromptAuthenticator.methodOf(-1, listOf(AuthMethod.STRONG_BIOMETRIC, AuthMethod.DEVICE_CREDENTIAL)))
        assertEquals(AuthMethod.STRONG_BIOMETRIC, BiometricPromptAuthenticator.methodOf(-1, listOf(AuthMethod.STRONG_BIOMETRIC)))
    }

    @Test
    fun `AndroidX error codes become cancel, lockout, not enrolled, unavailable or failed`() {
        val expected = mapOf(
            BiometricPrompt.ERROR_USER_CANCELED to AuthOutcome.Cancelled,
            BiometricPrompt.ERROR_NEGATIVE_BUTTON to AuthOutcome.Cancelled,
            BiometricPrompt.ERROR_CANCELED to AuthOutcome.Cancelled,
            BiometricPrompt.ERROR_TIMEOUT to AuthOutcome.Cancelled,
            BiometricPrompt.ERROR_LOCKOUT to AuthOutcome.LockedOut(1_000L + BiometricPromptAuthenticator.TEMPORARY_LOCKOUT_MS),
            BiometricPrompt.ERROR_LOCKOUT_PERMANENT to AuthOutcome.LockedOut(null),
            BiometricPrompt.ERROR_NO_BIOMETRICS to AuthOutcome.NotEnrolled,
            BiometricPrompt.ERROR_NO_DEVICE_CREDENTIAL to AuthOutcome.NotEnrolled,
            BiometricPrompt.ERROR_HW_UNAVAILABLE to AuthOutcome.Unavailable,
            BiometricPrompt.ERROR_HW_NOT_PRESENT to AuthOutcome.Unavailable,
            BiometricPrompt.ERROR_SECURITY_UPDATE_REQUIRED to AuthOutcome.Unavailable,
            BiometricPrompt.ERROR_UNABLE_TO_PROCESS to AuthOutcome.Failed,
            BiometricPrompt.ERROR_VENDOR to AuthOutcome.Failed,
        )
        for ((code, outcome) in expected) assertEquals("code $code", outcome, outcome(Answer.Error(code)))
    }

    @Test
    fun `canAuthenticate answers before any prompt is shown`() {
        val none = FakePromptLauncher(availability = BiometricManager.BIOMETRIC_ERROR_NONE_ENROLLED)
        assertEquals(AuthOutcome.NotEnrolled, await { BiometricPromptAuthenticator(none, "t").authenticate(request(AuthMethod.STRONG_BIOMETRIC)) })
        val noHardware = FakePromptLauncher(availability = BiometricManager.BIOMETRIC_ERROR_NO_HARDWARE)
        assertEquals(AuthOutcome.Unavailable, await { BiometricPromptAuthenticator(noHardware, "t").authenticate(request(AuthMethod.STRONG_BIOMETRIC)) })
        assertTrue(none.specs.isEmpty() && noHardware.specs.isEmpty())
        assertEquals(listOf(BIOMETRIC_STRONG), none.checked.toList())
    }

    @Test
    fun `the prompt allows exactly the requested methods, with a cancel button only without the credential`() {
        val launcher = FakePromptLauncher()
        val authenticator = BiometricPromptAuthenticator(launcher, "RukaPay", cancelLabel = "Not now", sdkInt = 35)
        await { authenticator.authenticate(request(AuthMethod.STRONG_BIOMETRIC)) }
        await { authenticator.authenticate(request(AuthMethod.STRONG_BIOMETRIC, AuthMethod.DEVICE_CREDENTIAL)) }
        val (strong, withCredential) = launcher.specs.toList()
        assertEquals(PromptSpec("RukaPay", "Confirm the transfer", BIOMETRIC_STRONG, "Not now"), strong)
        assertEquals(BIOMETRIC_STRONG or DEVICE_CREDENTIAL, withCredential.allowedAuthenticators)
        assertNull(withCredential.negativeButtonText)
    }

    @Test
    fun `below API 30 the credential is dropped where AndroidX cannot combine it, never widened`() {
        fun flags(sdk: Int, bound: Boolean, vararg allowed: AuthMethod) =
            BiometricPromptAuthenticator.authenticatorsFor(allowed.toList(), sdk, bound)
        assertEquals(BIOMETRIC_STRONG or DEVICE_CREDENTIAL, flags(30, false, AuthMethod.STRONG_BIOMETRIC, AuthMethod.DEVICE_CREDENTIAL))
        assertEquals(BIOMETRIC_STRONG, flags(29, false, AuthMethod.STRONG_BIOMETRIC, AuthMethod.DEVICE_CREDENTIAL))
        assertEquals(BIOMETRIC_WEAK or DEVICE_CREDENTIAL, flags(28, false, AuthMethod.ANY_BIOMETRIC, AuthMethod.DEVICE_CREDENTIAL))
        assertEquals(DEVICE_CREDENTIAL, flags(30, false, AuthMethod.DEVICE_CREDENTIAL))
        assertNull(flags(29, false, AuthMethod.DEVICE_CREDENTIAL))
        // A prompt bound to a key needs a Class 3 biometric.
        assertEquals(BIOMETRIC_STRONG, flags(35, true, AuthMethod.ANY_BIOMETRIC))
        assertEquals(BIOMETRIC_STRONG, flags(29, true, AuthMethod.STRONG_BIOMETRIC, AuthMethod.DEVICE_CREDENTIAL))
        assertNull(flags(35, false))

        val launcher = FakePromptLauncher()
        val old = BiometricPromptAuthenticator(launcher, "t", sdkInt = 29)
        assertEquals(AuthOutcome.Unavailable, await { old.authenticate(request(AuthMethod.DEVICE_CREDENTIAL)) })
        assertTrue(launcher.specs.isEmpty())
    }

    @Test
    fun `cancelling the waiting coroutine cancels the prompt, once`() {
        val launcher = FakePromptLauncher(listOf(null))  // the prompt stays up
        val authenticator = BiometricPromptAuthenticator(launcher, "t")
        runBlocking {
            val waiting = async(Dispatchers.Default) { authenticator.authenticate(request(AuthMethod.STRONG_BIOMETRIC)) }
            assertTrue(launcher.shown.await(10, TimeUnit.SECONDS))
            waiting.cancel()
            runCatching { waiting.await() }
        }
        assertEquals(1, launcher.cancellations)
    }

    @Test
    fun `as the vault's unlock prompt, a success opens Restricted data and a cancel does not`() {
        val launcher = FakePromptLauncher(listOf(Answer.Error(BiometricPrompt.ERROR_USER_CANCELED), Answer.Biometric))
        val authenticator = BiometricPromptAuthenticator(launcher, "RukaPay")
        core.openVault(temp.newFolder("vault").path, AndroidKeystoreKeyWrapper()).use { vault ->
            vault.enableUnlock(UnlockPolicy(), authenticator).use { gate ->
                vault.put("alice", "wallet", "pin", byteArrayOf(4, 2), DataClass.RESTRICTED, null)
                assertThrows(VaultException.UserCancelled::class.java) { await { vault.getAsync("alice", "wallet", "pin") } }
                assertArrayEquals(byteArrayOf(4, 2), await { vault.getAsync("alice", "wallet", "pin") })
                assertTrue(gate.isUnlocked(DataClass.RESTRICTED))
                val spec = launcher.specs.last()
                assertEquals(BIOMETRIC_STRONG, spec.allowedAuthenticators)
                assertTrue(spec.description.isNotBlank())
            }
        }
    }
}
