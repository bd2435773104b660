package com.rukapay.rukasec.android

import android.security.keystore.KeyProperties
import androidx.biometric.BiometricPrompt
import com.rukapay.rukasec.AuthMethod
import com.rukapay.rukasec.AuthOutcome
import com.rukapay.rukasec.AuthRequest
import com.rukapay.rukasec.DataClass
import com.rukapay.rukasec.KeyAuthRequirement
import com.rukapay.rukasec.KeyWrapperException
import com.rukapay.rukasec.PromptedUnwrap
import com.rukapay.rukasec.UnlockPolicy
import com.rukapay.rukasec.VaultException
import com.rukapay.rukasec.android.FakePromptLauncher.Answer
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner

/**
 * [AndroidKeystoreAuthBoundKeyWrapper]: Restricted data keys under an auth-bound keystore key,
 * opened by a prompt bound to the decrypting cipher (per-use keys) or after it (time-bound).
 */
@RunWith(RobolectricTestRunner::class)
class AuthBoundKeyWrapperTest : KeystoreTestBase() {
    private val request = AuthRequest("Show the PIN", "alice", DataClass.RESTRICTED, listOf(AuthMethod.STRONG_BIOMETRIC))
    private val key = ByteArray(32) { it.toByte() }

    private fun wrapper(launcher: FakePromptLauncher, sdkInt: Int = 35) =
        AndroidKeystoreAuthBoundKeyWrapper(BiometricPromptAuthenticator(launcher, "RukaPay"), sdkInt = sdkInt)

    @Test
    fun `a per-use key wraps without a prompt and unwraps through a prompt bound to its cipher`() {
        val launcher = FakePromptLauncher(listOf(Answer.Biometric, Answer.Error(BiometricPrompt.ERROR_USER_CANCELED)))
        val bound = wrapper(launcher)
        bound.createKey("bound.alice", KeyAuthRequirement(listOf(AuthMethod.STRONG_BIOMETRIC), 0))
        val wrapped = bound.wrap("bound.alice", key.copyOf())
        assertTrue(launcher.specs.isEmpty())
        assertEquals(256, wrapped.size)

        val opened = await { bound.unwrap("bound.alice", wrapped, request) } as PromptedUnwrap.Unwrapped
        assertArrayEquals(key, opened.key)
        assertEquals(AuthMethod.STRONG_BIOMETRIC, opened.method)
        assertNotNull("the prompt was bound to the cipher", launcher.cryptoObjects.single()?.cipher)

        val refused = await { bound.unwrap("bound.alice", wrapped, request) }
        assertEquals(PromptedUnwrap.Refused(AuthOutcome.Cancelled), refused)
    }

    @Test
    fun `without the prompt's authorisation the keystore does not decrypt`() {
        // A launcher that reports success without binding the cipher (as a broken glue would).
        val unbound = object : PromptLauncher by FakePromptLauncher() {
            override fun launch(spec: PromptSpec, crypto: BiometricPrompt.CryptoObject?, onResult: (PromptResult) -> Unit): PromptCancellation {
                onResult(PromptResult.Succeeded(BiometricPrompt.AUTHENTICATION_RESULT_TYPE_BIOMETRIC, crypto))
                return PromptCancellation {}
            }
        }
        val bound = AndroidKeystoreAuthBoundKeyWrapper(BiometricPromptAuthenticator(unbound, "t"))
        bound.createKey("k", KeyAuthRequirement(listOf(AuthMethod.STRONG_BIOMETRIC), 0))
        val wrapped = bound.wrap("k", key.copyOf())
        assertThrows(KeyWrapperException.UserAuthenticationRequired::class.java) { await { bound.unwrap("k", wrapped, request) } }
    }

    @Test
    fun `a time-bound key is prompted for first, then opened`() {
        val launcher = FakePromptLauncher(listOf(Answer.Biometric))
        val bound = wrapper(launcher)
        bound.createKey("k", KeyAuthRequirement(listOf(AuthMethod.STRONG_BIOMETRIC), 10))
        val wrapped = bound.wrap("k", key.copyOf())
        val opened = await { bound.unwrap("k", wrapped, request) } as PromptedUnwrap.Unwrapped
        assertArrayEquals(key, opened.key)
        assertNull("no CryptoObject before the user authenticated", launcher.cryptoObjects.single())
    }

    @Test
    fun `key flags follow the requirement`() {
        val bound = wrapper(FakePromptLauncher())
        bound.createKey("k", KeyAuthRequirement(listOf(AuthMethod.STRONG_BIOMETRIC, AuthMethod.DEVICE_CREDENTIAL), 10))
        val spec = FakeAndroidKeyStore.specOf("k")!!
        assertEquals(KeyProperties.PURPOSE_DECRYPT, spec.purposes)
        assertArrayEquals(arrayOf(KeyProperties.ENCRYPTION_PADDING_RSA_OAEP), spec.encryptionPaddings)
        assertArrayEquals(arrayOf(KeyProperties.DIGEST_SHA256), spec.digests)
        assertTrue(spec.isUserAuthenticationRequired)
        assertEquals(10, spec.userAuthenticationValidityDurationSeconds)
        assertEquals(KeyProperties.AUTH_BIOMETRIC_STRONG or KeyProperties.AUTH_DEVICE_CREDENTIAL, spec.userAuthenticationType)
        assertTrue(spec.isInvalidatedByBiometricEnrollment)
        assertFalse(spec.isStrongBoxBacked)  // no StrongBox here: the TEE attempt is the one kept
        assertTrue(FakeAndroidKeyStore.attempts.first().isStrongBoxBacked)

        bound.createKey("credential-only", KeyAuthRequirement(listOf(AuthMethod.DEVICE_CREDENTIAL), 0))
        assertFalse(FakeAndroidKeyStore.specOf("credential-only")!!.isInvalidatedByBiometricEnrollment)
        assertThrows(KeyWrapperException.Failed::class.java) { bound.createKey("none", KeyAuthRequirement(emptyList(), 0)) }
    }

    @Test
    fun `invalidated, missing and garbled keys are their KeyWrapperException cases`() {
        val bound = wrapper(FakePromptLauncher())
        bound.createKey("k", KeyAuthRequirement(listOf(AuthMethod.STRONG_BIOMETRIC), 0))
        val wrapped = bound.wrap("k", key.copyOf())
        assertThrows(KeyWrapperException.Rejected::class.java) {
            await { bound.unwrap("k", wrapped.copyOf().also { it[100] = (it[100].toInt() xor 1).toByte() }, request) }
        }
        FakeAndroidKeyStore.invalidate("k")
        assertThrows(KeyWrapperException.KeyInvalidated::class.java) { await { bound.unwrap("k", wrapped, request) } }
        bound.deleteKey("k")
        bound.deleteKey("k")
        assertThrows(KeyWrapperException.KeyNotFound::class.java) { await { bound.unwrap("k", wrapped, request) } }
        assertThrows(KeyWrapperException.KeyNotFound::class.java) { bound.wrap("k", key.copyOf()) }
    }

    @Test
    fun `a vault with bound keys reads Restricted data through the Android keystore and prompt`() {
        val launcher = FakePromptLauncher(fallback = Answer.Biometric)
        val authenticator = BiometricPromptAuthenticator(launcher, "RukaPay")
        val bound = AndroidKeystoreAuthBoundKeyWrapper(authenticator)
        core.openVault(temp.newFolder("vault").path, AndroidKeystoreKeyWrapper()).use { vault ->
            vault.enableUnlockWithBoundKeys(UnlockPolicy(), authenticator, bound).use {
                vault.put("alice", "wallet", "pin", byteArrayOf(4, 2), DataClass.RESTRICTED, null)
                assertTrue(vault.hasBoundKey("alice"))
                assertThrows(VaultException.UserAuthenticationRequired::class.java) { vault.get("alice", "wallet", "pin") }
                assertArrayEquals(byteArrayOf(4, 2), await { vault.getAsync("alice", "wallet", "pin") })
                assertTrue(launcher.specs.isNotEmpty())
            }
        }
    }
}
