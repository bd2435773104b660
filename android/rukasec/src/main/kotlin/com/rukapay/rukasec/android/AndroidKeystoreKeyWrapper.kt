package com.rukapay.rukasec.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyInfo
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import com.rukapay.rukasec.KeyWrapper
import com.rukapay.rukasec.KeyWrapperException
import java.nio.ByteBuffer
import java.security.GeneralSecurityException
import java.security.KeyStore
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.IllegalBlockSizeException
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.SecretKeyFactory
import javax.crypto.spec.GCMParameterSpec

/**
 * The vault's [KeyWrapper] on Android: one AES-256-GCM key-encryption key per alias inside
 * `AndroidKeyStore`, in StrongBox when the device has one (else the TEE), never exported.
 *
 * Why this shape:
 * - The vault's data keys are wrapped here, so a copy of the app's files (backup, rooted
 *   device, forensic image) is useless without this device's keystore.
 * - StrongBox is asked for first and [StrongBoxUnavailableException] falls back to the TEE: a
 *   key in the TEE is still better than none, and [isHardwareBacked] tells the core which it got.
 * - Android's keystore picks the GCM nonce itself (randomized encryption), so the wrapped form
 *   is `nonce (12) ‖ ciphertext ‖ tag (16)`, with the alias as AAD: a blob wrapped for one
 *   account does not open under another's key.
 * - Platform failures become the core's typed errors: an invalidated key (lock screen removed,
 *   key corrupted) is [KeyWrapperException.KeyInvalidated], a missing key
 *   [KeyWrapperException.KeyNotFound], a blob that does not open
 *   [KeyWrapperException.Rejected]. Messages never carry key material.
 *
 * Restricted data that must need the user's biometric each time uses
 * [AndroidKeystoreAuthBoundKeyWrapper] instead (see `Vault.enableUnlockWithBoundKeys`).
 *
 * @param preferStrongBox ask for StrongBox first (default); `false` goes straight to the TEE.
 * @param keyStoreProvider the JCA provider name; only tests change it.
 * @param securityLevel reads where a key lives ([KeyProperties.SECURITY_LEVEL_SOFTWARE] and the
 *   others); the default asks [KeyInfo]. Tests replace it: Robolectric has no keystore.
 */
class AndroidKeystoreKeyWrapper @JvmOverloads constructor(
    private val preferStrongBox: Boolean = true,
    private val keyStoreProvider: String = ANDROID_KEY_STORE,
    private val securityLevel: (SecretKey) -> Int = ::keystoreSecurityLevel,
) : KeyWrapper {

    private fun keyStore(): KeyStore = KeyStore.getInstance(keyStoreProvider).apply { load(null) }

    override fun createKey(alias: String) {
        mapKeystoreErrors {
            keyStore().deleteEntry(alias)  // createKey replaces; a fresh key per vault key.
            generateWithStrongBoxFallback(preferStrongBox, Build.VERSION.SDK_INT) { strongBox -> generate(alias, strongBox) }
        }
    }

    private fun generate(alias: String, strongBox: Boolean) {
        val spec = KeyGenParameterSpec.Builder(
            alias,
            KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT,
        )
            .setKeySize(AES_KEY_BITS)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setRandomizedEncryptionRequired(true)
            .apply { if (strongBox) setIsStrongBoxBacked(true) }
            .build()
        KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, keyStoreProvider).run {
            init(spec)
            generateKey()
        }
    }

    override fun wrap(alias: String, key: ByteArray): ByteArray = try {
        mapKeystoreErrors {
            val cipher = Cipher.getInstance(AES_GCM)
            cipher.init(Cipher.ENCRYPT_MODE, secretKey(alias))
            cipher.updateAAD(alias.toByteArray(Charsets.UTF_8))
            val sealed = cipher.doFinal(key)
            val nonce = cipher.iv
            if (nonce == null || nonce.size != GCM_NONCE_LEN) throw KeyWrapperException.Failed("unexpected GCM nonce")
            ByteBuffer.allocate(nonce.size + sealed.size).put(nonce).put(sealed).array()
        }
    } finally {
        key.fill(0)  // our copy of the data key; the core keeps its own.
    }

    override fun unwrap(alias: String, wrapped: ByteArray): ByteArray = mapKeystoreErrors {
        if (wrapped.size < GCM_NONCE_LEN + GCM_TAG_LEN) throw KeyWrapperException.Rejected()
        val cipher = Cipher.getInstance(AES_GCM)
        cipher.init(
            Cipher.DECRYPT_MODE,
            secretKey(alias),
            GCMParameterSpec(GCM_TAG_LEN * 8, wrapped, 0, GCM_NONCE_LEN),
        )
        cipher.updateAAD(alias.toByteArray(Charsets.UTF_8))
        try {
            cipher.doFinal(wrapped, GCM_NONCE_LEN, wrapped.size - GCM_NONCE_LEN)
        } catch (_: AEADBadTagException) {
            throw KeyWrapperException.Rejected()
        }
    }

    override fun deleteKey(alias: String) {
        mapKeystoreErrors { keyStore().deleteEntry(alias) }  // a missing alias is not an error
    }

    @Volatile
    private var hardwareBacked: Boolean? = null

    /**
     * Whether this wrapper's keys are in secure hardware (TEE or StrongBox): a probe key is made
     * the way [createKey] makes one, asked where it lives, and deleted. The answer is kept.
     */
    override fun isHardwareBacked(): Boolean = hardwareBacked ?: mapKeystoreErrors {
        createKey(PROBE_ALIAS)
        try {
            securityLevel(secretKey(PROBE_ALIAS)) in HARDWARE_LEVELS
        } finally {
            keyStore().deleteEntry(PROBE_ALIAS)
        }
    }.also { hardwareBacked = it }

    private fun secretKey(alias: String): SecretKey =
        keyStore().getKey(alias, null) as? SecretKey ?: throw KeyWrapperException.KeyNotFound()

    companion object {
        /** The platform provider's name. */
        const val ANDROID_KEY_STORE = "AndroidKeyStore"
        private const val AES_GCM = "AES/GCM/NoPadding"
        private const val AES_KEY_BITS = 256
        private const val GCM_NONCE_LEN = 12
        private const val GCM_TAG_LEN = 16
        private const val PROBE_ALIAS = "rukasec.hardware-probe"
        private val HARDWARE_LEVELS = setOf(
            KeyProperties.SECURITY_LEVEL_TRUSTED_ENVIRONMENT,
            KeyProperties.SECURITY_LEVEL_STRONGBOX,
        )
    }
}

/** Where an AndroidKeyStore key lives, from its [KeyInfo] (API 31+; `isInsideSecureHardware` before). */
internal fun keystoreSecurityLevel(key: SecretKey): Int {
    val info = SecretKeyFactory.getInstance(key.algorithm, AndroidKeystoreKeyWrapper.ANDROID_KEY_STORE)
        .getKeySpec(key, KeyInfo::class.java) as KeyInfo
    return if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
        info.securityLevel
    } else {
        @Suppress("DEPRECATION")
        if (info.isInsideSecureHardware) KeyProperties.SECURITY_LEVEL_TRUSTED_ENVIRONMENT else KeyProperties.SECURITY_LEVEL_SOFTWARE
    }
}

/**
 * Makes a keystore key with [generate], in StrongBox first when [preferStrongBox] and the API
 * level has it (28+), else (or when the device has none: [StrongBoxUnavailableException]) in
 * the TEE. A key in the TEE is better than none; `KeyInfo` tells later where it went.
 */
internal inline fun generateWithStrongBoxFallback(preferStrongBox: Boolean, sdkInt: Int, generate: (strongBox: Boolean) -> Unit) {
    if (preferStrongBox && sdkInt >= Build.VERSION_CODES.P) {
        try {
            generate(true)
            return
        } catch (_: StrongBoxUnavailableException) {
            // No StrongBox on this device: the TEE below.
        }
    }
    generate(false)
}

/**
 * Runs a keystore operation, turning the platform's exceptions into the core's
 * [KeyWrapperException]s. Only the exception's class name reaches the `reason` (never its
 * message, which some vendors fill with key details).
 */
internal inline fun <T> mapKeystoreErrors(block: () -> T): T = try {
    block()
} catch (e: KeyWrapperException) {
    throw e
} catch (_: KeyPermanentlyInvalidatedException) {
    throw KeyWrapperException.KeyInvalidated()
} catch (_: UserNotAuthenticatedException) {
    throw KeyWrapperException.UserAuthenticationRequired()
} catch (e: IllegalBlockSizeException) {
    // How Android reports a keystore operation it refused at doFinal: the reason is the cause.
    throw when (e.cause) {
        is UserNotAuthenticatedException -> KeyWrapperException.UserAuthenticationRequired()
        is KeyPermanentlyInvalidatedException -> KeyWrapperException.KeyInvalidated()
        else -> KeyWrapperException.Failed("keystore: ${(e.cause ?: e).javaClass.simpleName}")
    }
} catch (e: GeneralSecurityException) {
    throw KeyWrapperException.Failed("keystore: ${e.javaClass.simpleName}")
} catch (e: java.io.IOException) {
    throw KeyWrapperException.Failed("keystore: ${e.javaClass.simpleName}")
} catch (e: java.security.ProviderException) {
    // StrongBox and Keymaster failures surface as ProviderException (a RuntimeException).
    throw KeyWrapperException.Failed("keystore: ${e.javaClass.simpleName}")
} catch (e: IllegalStateException) {
    throw KeyWrapperException.Failed("keystore: ${e.javaClass.simpleName}")
}
