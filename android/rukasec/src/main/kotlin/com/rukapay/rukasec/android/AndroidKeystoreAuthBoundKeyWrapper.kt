package com.rukapay.rukasec.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import androidx.biometric.BiometricPrompt
import com.rukapay.rukasec.AuthBoundKeyWrapper
import com.rukapay.rukasec.AuthMethod
import com.rukapay.rukasec.AuthOutcome
import com.rukapay.rukasec.AuthRequest
import com.rukapay.rukasec.KeyAuthRequirement
import com.rukapay.rukasec.KeyWrapperException
import com.rukapay.rukasec.PromptedUnwrap
import java.security.KeyFactory
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.spec.MGF1ParameterSpec
import java.security.spec.RSAKeyGenParameterSpec
import java.security.spec.X509EncodedKeySpec
import javax.crypto.BadPaddingException
import javax.crypto.Cipher
import javax.crypto.IllegalBlockSizeException
import javax.crypto.spec.OAEPParameterSpec
import javax.crypto.spec.PSource

/**
 * The vault's [AuthBoundKeyWrapper] on Android: Restricted data keys wrapped under an
 * AndroidKeyStore RSA key that decrypts only after the user authenticated (biometric, or the
 * device credential where the policy allows it).
 *
 * Why RSA-OAEP and not AES: the core wraps a new account's key without a prompt, and an
 * auth-bound AES key needs the user for encryption too. Encrypting with the public half needs
 * no prompt and no keystore call; decrypting needs the private half, which never leaves the
 * keystore (StrongBox when present) and works only for an authenticated user: for a per-use
 * key (`validitySeconds` 0) the `Cipher` is handed to `BiometricPrompt` as its `CryptoObject`,
 * so one authentication opens exactly one key; a time-bound key (the policy's window) is
 * prompted for first and then used, as Android allows it only after a recent authentication. The key is invalidated when a new biometric is
 * enrolled; the core then sees [KeyWrapperException.KeyInvalidated] and asks the user to
 * re-authenticate the account another way.
 *
 * OAEP uses SHA-256 with MGF1-SHA-1: the MGF1 digest every Android keystore version supports.
 *
 * @param prompts shows the prompts; its title and launcher are the app's.
 */
class AndroidKeystoreAuthBoundKeyWrapper @JvmOverloads constructor(
    private val prompts: BiometricPromptAuthenticator,
    private val preferStrongBox: Boolean = true,
    private val keyStoreProvider: String = AndroidKeystoreKeyWrapper.ANDROID_KEY_STORE,
    private val sdkInt: Int = Build.VERSION.SDK_INT,
) : AuthBoundKeyWrapper {

    private fun keyStore(): KeyStore = KeyStore.getInstance(keyStoreProvider).apply { load(null) }

    override fun createKey(alias: String, requirement: KeyAuthRequirement) {
        if (requirement.methods.isEmpty() || requirement.validitySeconds < 0) {
            throw KeyWrapperException.Failed("no authentication method for a bound key")
        }
        mapKeystoreErrors {
            keyStore().deleteEntry(alias)
            generateWithStrongBoxFallback(preferStrongBox, sdkInt) { strongBox -> generate(alias, requirement, strongBox) }
        }
    }

    private fun generate(alias: String, requirement: KeyAuthRequirement, strongBox: Boolean) {
        val biometric = requirement.methods.any { it != AuthMethod.DEVICE_CREDENTIAL }
        val builder = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_DECRYPT)
            .setAlgorithmParameterSpec(RSAKeyGenParameterSpec(RSA_BITS, RSAKeyGenParameterSpec.F4))
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_RSA_OAEP)
            .setDigests(KeyProperties.DIGEST_SHA256)
            .setUserAuthenticationRequired(true)
            .setInvalidatedByBiometricEnrollment(biometric)
        if (sdkInt >= Build.VERSION_CODES.R) {
            var types = 0
            if (biometric) types = types or KeyProperties.AUTH_BIOMETRIC_STRONG
            if (AuthMethod.DEVICE_CREDENTIAL in requirement.methods) types = types or KeyProperties.AUTH_DEVICE_CREDENTIAL
            builder.setUserAuthenticationParameters(requirement.validitySeconds.toInt(), types)
        } else {
            @Suppress("DEPRECATION")
            builder.setUserAuthenticationValidityDurationSeconds(
                if (requirement.validitySeconds == 0L) -1 else requirement.validitySeconds.toInt(),
            )
        }
        if (strongBox) builder.setIsStrongBoxBacked(true)
        KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_RSA, keyStoreProvider).run {
            initialize(builder.build())
            generateKeyPair()
        }
    }

    override fun wrap(alias: String, key: ByteArray): ByteArray = try {
        mapKeystoreErrors {
            val certificate = keyStore().getCertificate(alias) ?: throw KeyWrapperException.KeyNotFound()
            // A software copy of the public key: encryption needs neither the keystore nor the user.
            val publicKey = KeyFactory.getInstance(KeyProperties.KEY_ALGORITHM_RSA)
                .generatePublic(X509EncodedKeySpec(certificate.publicKey.encoded))
            Cipher.getInstance(RSA_OAEP).run {
                init(Cipher.ENCRYPT_MODE, publicKey, OAEP)
                doFinal(key)
            }
        }
    } finally {
        key.fill(0)
    }

    override suspend fun unwrap(alias: String, wrapped: ByteArray, request: AuthRequest): PromptedUnwrap {
        val privateKey = mapKeystoreErrors {
            keyStore().getKey(alias, null) as? PrivateKey ?: throw KeyWrapperException.KeyNotFound()
        }
        // A per-use key initialises now and is authorised by a prompt bound to this cipher. A
        // time-bound key outside its window refuses to initialise: prompt first, then init.
        val early = try {
            mapKeystoreErrors { decryptor(privateKey) }
        } catch (_: KeyWrapperException.UserAuthenticationRequired) {
            null
        }
        val shown = prompts.prompt(request, early?.let { BiometricPrompt.CryptoObject(it) })
        val success = shown.outcome as? AuthOutcome.Success ?: return PromptedUnwrap.Refused(shown.outcome)
        // The authorised operation is the cipher given to the prompt (AndroidX hands the same object back).
        val cipher = shown.crypto?.cipher ?: early ?: mapKeystoreErrors { decryptor(privateKey) }
        val key = mapKeystoreErrors {
            try {
                cipher.doFinal(wrapped)
            } catch (_: BadPaddingException) {
                throw KeyWrapperException.Rejected()
            } catch (e: IllegalBlockSizeException) {
                // Without a cause: input that is no RSA block of this key. With one: the keystore
                // refused the operation, mapped by mapKeystoreErrors.
                if (e.cause == null) throw KeyWrapperException.Rejected()
                throw e
            }
        }
        return PromptedUnwrap.Unwrapped(success.method, key)
    }

    private fun decryptor(privateKey: PrivateKey): Cipher =
        Cipher.getInstance(RSA_OAEP).apply { init(Cipher.DECRYPT_MODE, privateKey, OAEP) }

    override fun deleteKey(alias: String) {
        mapKeystoreErrors { keyStore().deleteEntry(alias) }
    }

    private companion object {
        const val RSA_BITS = 2048
        const val RSA_OAEP = "RSA/ECB/OAEPPadding"
        val OAEP = OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA1, PSource.PSpecified.DEFAULT)
    }
}
