package com.rukapay.rukasec

import java.nio.ByteBuffer
import java.security.SecureRandom
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicInteger
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * A [KeyWrapper] for the host JVM that stands in for Android Keystore: one random AES-256 key
 * per alias, kept in memory, wrapping with AES-256-GCM.
 *
 * On Android the same class would keep its keys in `AndroidKeyStore` instead of a map:
 * `createKey` would run `KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES,
 * "AndroidKeyStore")` initialised with a `KeyGenParameterSpec.Builder(alias,
 * PURPOSE_ENCRYPT or PURPOSE_DECRYPT)` (GCM block mode, no padding, 256-bit key, optionally
 * `setIsStrongBoxBacked(true)` and user-authentication requirements), `deleteKey` would be
 * `KeyStore.deleteEntry(alias)`, and the key would never leave the keystore. The wire format
 * below (IV ‖ ciphertext ‖ tag) is what such a wrapper would produce too; note that Android
 * Keystore generates the IV itself (`cipher.iv` after `init`), which is why it is stored.
 *
 * Format of a wrapped key: 12-byte random IV ‖ AES-GCM ciphertext ‖ 16-byte tag, with the
 * alias (UTF-8) as AAD, so a blob wrapped under one alias does not unwrap under another.
 *
 * Thread-safe: keys live in a [ConcurrentHashMap] and every call uses its own [Cipher]. It
 * records the aliases it created and deleted for assertions. Plaintext keys received by [wrap]
 * are wiped after use; the plaintext returned by [unwrap] is handed to UniFFI, which copies it
 * to Rust, so it cannot be wiped here.
 */
open class AesGcmKeyWrapper(private val hardwareBacked: Boolean = false) : KeyWrapper {
    private val keys = ConcurrentHashMap<String, SecretKey>()
    private val random = SecureRandom()

    /** Every alias passed to [createKey], in call order. */
    val created = ConcurrentLinkedQueue<String>()

    /** Every alias passed to [deleteKey], in call order (also for aliases that did not exist). */
    val deleted = ConcurrentLinkedQueue<String>()

    private val wrapCounter = AtomicInteger()
    private val unwrapCounter = AtomicInteger()
    private val hardwareQueries = AtomicInteger()

    val wrapCalls: Int get() = wrapCounter.get()
    val unwrapCalls: Int get() = unwrapCounter.get()
    val isHardwareBackedCalls: Int get() = hardwareQueries.get()

    /** The aliases that currently hold a key. */
    val aliases: Set<String> get() = keys.keys.toSet()

    fun hasKey(alias: String): Boolean = keys.containsKey(alias)

    override fun createKey(alias: String) {
        val generator = KeyGenerator.getInstance("AES")
        generator.init(256, random)
        keys[alias] = generator.generateKey()
        created.add(alias)
    }

    override fun wrap(alias: String, key: ByteArray): ByteArray {
        wrapCounter.incrementAndGet()
        try {
            val kek = keys[alias] ?: throw thrownIntoRust(KeyWrapperException.KeyNotFound())
            val iv = ByteArray(IV_LEN).also(random::nextBytes)
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, kek, GCMParameterSpec(TAG_BITS, iv))
            cipher.updateAAD(alias.toByteArray(Charsets.UTF_8))
            val sealed = cipher.doFinal(key)
            return ByteBuffer.allocate(iv.size + sealed.size).put(iv).put(sealed).array()
        } finally {
            key.fill(0)
        }
    }

    override fun unwrap(alias: String, wrapped: ByteArray): ByteArray {
        unwrapCounter.incrementAndGet()
        val kek = keys[alias] ?: throw thrownIntoRust(KeyWrapperException.KeyNotFound())
        if (wrapped.size < IV_LEN + TAG_BITS / 8) throw thrownIntoRust(KeyWrapperException.Rejected())
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, kek, GCMParameterSpec(TAG_BITS, wrapped, 0, IV_LEN))
        cipher.updateAAD(alias.toByteArray(Charsets.UTF_8))
        return try {
            cipher.doFinal(wrapped, IV_LEN, wrapped.size - IV_LEN)
        } catch (_: AEADBadTagException) {
            throw thrownIntoRust(KeyWrapperException.Rejected())
        }
    }

    override fun deleteKey(alias: String) {
        keys.remove(alias)
        deleted.add(alias)
    }

    override fun isHardwareBacked(): Boolean {
        hardwareQueries.incrementAndGet()
        return hardwareBacked
    }

    companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_LEN = 12
        const val TAG_BITS = 128
    }
}
