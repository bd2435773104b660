package com.rukapay.rukasec.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import okhttp3.tls.HeldCertificate
import java.nio.ByteBuffer
import java.security.AlgorithmParameters
import java.security.InvalidAlgorithmParameterException
import java.security.InvalidKeyException
import java.security.Key
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.KeyPairGeneratorSpi
import java.security.KeyStoreSpi
import java.security.PrivateKey
import java.security.Provider
import java.security.SecureRandom
import java.security.Security
import java.security.cert.Certificate
import java.security.spec.AlgorithmParameterSpec
import java.security.spec.ECGenParameterSpec
import java.security.spec.RSAKeyGenParameterSpec
import java.util.Collections
import java.util.Date
import java.util.Enumeration
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ConcurrentLinkedQueue
import javax.crypto.Cipher
import javax.crypto.CipherSpi
import javax.crypto.IllegalBlockSizeException
import javax.crypto.KeyGenerator
import javax.crypto.KeyGeneratorSpi
import javax.crypto.SecretKey

/**
 * A stand-in for Android's `AndroidKeyStore` JCA provider, for Robolectric (which has none).
 * It keeps what the real one enforces and the glue must cope with:
 * - keys are made only from a [KeyGenParameterSpec] (recorded in [attempts], so tests check the
 *   flags the glue asked for), StrongBox requests fail with [StrongBoxUnavailableException]
 *   unless [strongBoxAvailable];
 * - secret and RSA private keys are opaque handles (no encoding): only this provider's ciphers
 *   take them, as only the keystore can use a real keystore key;
 * - AES-GCM encryption refuses a caller's IV (randomized encryption), and picks its own;
 * - a key can be [invalidate]d (cipher init throws [KeyPermanentlyInvalidatedException]);
 * - an auth-bound key with a validity window needs a recent [userAuthenticated] at cipher init
 *   ([UserNotAuthenticatedException]); a per-use key (validity 0) needs its operation
 *   authorised through a prompt's CryptoObject ([userAuthenticated] with `boundOperations`)
 *   before `doFinal`, which otherwise throws [IllegalBlockSizeException] caused by
 *   [UserNotAuthenticatedException], as Android does.
 * EC keys are real JDK keys (signing needs no emulation); certificates are self-signed.
 */
object FakeAndroidKeyStore {
    const val NAME = "AndroidKeyStore"

    @Volatile
    var strongBoxAvailable = false

    /** Every spec a key generation was asked with, failed StrongBox attempts included. */
    val attempts = ConcurrentLinkedQueue<KeyGenParameterSpec>()

    internal class Entry(val spec: KeyGenParameterSpec, val key: Key, val certificate: Certificate?, val created: Date)

    internal val entries = ConcurrentHashMap<String, Entry>()
    private val invalidated = ConcurrentHashMap.newKeySet<String>()
    private val pendingOperations = ConcurrentLinkedQueue<FakeCipherSpi>()

    @Volatile
    private var authenticatedAtMs: Long? = null

    /** Installs the provider (once per JVM) and forgets every key and flag. */
    fun install() {
        if (Security.getProvider(NAME) == null) Security.addProvider(FakeProvider())
        strongBoxAvailable = false
        attempts.clear()
        entries.clear()
        invalidated.clear()
        pendingOperations.clear()
        authenticatedAtMs = null
    }

    fun aliases(): Set<String> = entries.keys.toSet()

    fun specOf(alias: String): KeyGenParameterSpec? = entries[alias]?.spec

    /** What Android does to auth-bound keys when the lock screen is removed or biometrics change. */
    fun invalidate(alias: String) {
        invalidated.add(alias)
    }

    /** The user authenticated now; with [boundOperations], the ciphers given to that prompt are authorised. */
    fun userAuthenticated(boundOperations: Boolean) {
        authenticatedAtMs = System.currentTimeMillis()
        if (boundOperations) {
            while (true) {
                val operation = pendingOperations.poll() ?: break
                operation.authorised = true
            }
        }
    }

    internal fun checkUsable(alias: String, spec: KeyGenParameterSpec) {
        if (alias in invalidated) throw KeyPermanentlyInvalidatedException()
        if (spec.isUserAuthenticationRequired && spec.userAuthenticationValidityDurationSeconds > 0) {
            val at = authenticatedAtMs ?: throw UserNotAuthenticatedException()
            if (System.currentTimeMillis() - at > spec.userAuthenticationValidityDurationSeconds * 1000L) {
                throw UserNotAuthenticatedException()
            }
        }
    }

    internal fun awaitAuthorisation(operation: FakeCipherSpi) {
        pendingOperations.add(operation)
    }

    internal fun generated(spec: KeyGenParameterSpec, key: Key, certificate: Certificate?) {
        attempts.add(spec)
        if (spec.isStrongBoxBacked && !strongBoxAvailable) throw StrongBoxUnavailableException()
        entries[spec.keystoreAlias] = Entry(spec, key, certificate, Date())
        invalidated.remove(spec.keystoreAlias)
    }
}

/** An opaque keystore secret key. */
class FakeSecretKey(val alias: String, internal val real: SecretKey) : SecretKey {
    override fun getAlgorithm(): String = real.algorithm
    override fun getFormat(): String? = null
    override fun getEncoded(): ByteArray? = null
}

/** An opaque keystore private key. */
class FakePrivateKey(val alias: String, internal val real: PrivateKey) : PrivateKey {
    override fun getAlgorithm(): String = real.algorithm
    override fun getFormat(): String? = null
    override fun getEncoded(): ByteArray? = null
}

private class FakeProvider : Provider(FakeAndroidKeyStore.NAME, "1.0", "test stand-in for AndroidKeyStore") {
    init {
        put("KeyStore.AndroidKeyStore", FakeKeyStoreSpi::class.java.name)
        put("KeyGenerator.AES", FakeAesKeyGenerator::class.java.name)
        put("KeyPairGenerator.EC", FakeEcKeyPairGenerator::class.java.name)
        put("KeyPairGenerator.RSA", FakeRsaKeyPairGenerator::class.java.name)
        put("Cipher.AES/GCM/NoPadding", FakeAesGcmCipher::class.java.name)
        put("Cipher.RSA/ECB/OAEPPadding", FakeRsaOaepCipher::class.java.name)
    }
}

class FakeKeyStoreSpi : KeyStoreSpi() {
    private val entries get() = FakeAndroidKeyStore.entries
    override fun engineGetKey(alias: String, password: CharArray?): Key? = entries[alias]?.key
    override fun engineGetCertificateChain(alias: String): Array<Certificate>? =
        entries[alias]?.certificate?.let { arrayOf(it) }
    override fun engineGetCertificate(alias: String): Certificate? = entries[alias]?.certificate
    override fun engineGetCreationDate(alias: String): Date? = entries[alias]?.created
    override fun engineSetKeyEntry(alias: String, key: Key, password: CharArray?, chain: Array<out Certificate>?) =
        throw UnsupportedOperationException("keys are generated inside the keystore")
    override fun engineSetKeyEntry(alias: String, key: ByteArray, chain: Array<out Certificate>?) =
        throw UnsupportedOperationException("keys are generated inside the keystore")
    override fun engineSetCertificateEntry(alias: String, cert: Certificate) = throw UnsupportedOperationException()
    override fun engineDeleteEntry(alias: String) {
        entries.remove(alias)
    }
    override fun engineAliases(): Enumeration<String> = Collections.enumeration(entries.keys.toList())
    override fun engineContainsAlias(alias: String): Boolean = entries.containsKey(alias)
    override fun engineSize(): Int = entries.size
    override fun engineIsKeyEntry(alias: String): Boolean = entries.containsKey(alias)
    override fun engineIsCertificateEntry(alias: String): Boolean = false
    override fun engineGetCertificateAlias(cert: Certificate): String? =
        entries.entries.firstOrNull { it.value.certificate == cert }?.key
    override fun engineStore(stream: java.io.OutputStream?, password: CharArray?) = throw UnsupportedOperationException()
    override fun engineLoad(stream: java.io.InputStream?, password: CharArray?) {
        require(stream == null) { "AndroidKeyStore loads from nothing" }
    }
}

class FakeAesKeyGenerator : KeyGeneratorSpi() {
    private var spec: KeyGenParameterSpec? = null
    override fun engineInit(random: SecureRandom?) = throw IllegalStateException("a KeyGenParameterSpec is required")
    override fun engineInit(keysize: Int, random: SecureRandom?) = throw IllegalStateException("a KeyGenParameterSpec is required")
    override fun engineInit(params: AlgorithmParameterSpec?, random: SecureRandom?) {
        spec = params as? KeyGenParameterSpec ?: throw InvalidAlgorithmParameterException("a KeyGenParameterSpec is required")
    }
    override fun engineGenerateKey(): SecretKey {
        val spec = spec ?: throw IllegalStateException("not initialised")
        val real = KeyGenerator.getInstance("AES", "SunJCE").apply { init(spec.keySize) }.generateKey()
        return FakeSecretKey(spec.keystoreAlias, real).also { FakeAndroidKeyStore.generated(spec, it, null) }
    }
}

abstract class FakeKeyPairGenerator(private val algorithm: String) : KeyPairGeneratorSpi() {
    private var spec: KeyGenParameterSpec? = null
    override fun initialize(keysize: Int, random: SecureRandom?) = throw IllegalStateException("a KeyGenParameterSpec is required")
    override fun initialize(params: AlgorithmParameterSpec?, random: SecureRandom?) {
        spec = params as? KeyGenParameterSpec ?: throw InvalidAlgorithmParameterException("a KeyGenParameterSpec is required")
    }
    override fun generateKeyPair(): KeyPair {
        val spec = spec ?: throw IllegalStateException("not initialised")
        val generator = KeyPairGenerator.getInstance(algorithm)
        when (val parameters = spec.algorithmParameterSpec) {
            is ECGenParameterSpec, is RSAKeyGenParameterSpec -> generator.initialize(parameters)
            else -> generator.initialize(if (algorithm == "EC") 256 else 2048)
        }
        val real = generator.generateKeyPair()
        val certificate = HeldCertificate.Builder().keyPair(real).commonName(spec.keystoreAlias)
            .apply { if (algorithm == "RSA") rsa2048() else ecdsa256() }
            .build().certificate
        // Signing keys stay real JDK keys; decryption keys are opaque, as the glue must treat them.
        val private: PrivateKey = if (algorithm == "RSA") FakePrivateKey(spec.keystoreAlias, real.private) else real.private
        FakeAndroidKeyStore.generated(spec, private, certificate)
        return KeyPair(real.public, private)
    }
}

class FakeEcKeyPairGenerator : FakeKeyPairGenerator("EC")
class FakeRsaKeyPairGenerator : FakeKeyPairGenerator("RSA")

abstract class FakeCipherSpi(private val transformation: String) : CipherSpi() {
    private var real: Cipher? = null
    private var perUse = false

    @Volatile
    internal var authorised = false

    private fun cipher(): Cipher = real ?: throw IllegalStateException("not initialised")

    private fun unwrapKey(key: Key?): Pair<String, Key> = when (key) {
        is FakeSecretKey -> key.alias to key.real
        is FakePrivateKey -> key.alias to key.real
        else -> throw InvalidKeyException("not a keystore key")
    }

    private fun begin(opmode: Int, key: Key?, params: AlgorithmParameterSpec?, random: SecureRandom?) {
        val (alias, realKey) = unwrapKey(key)
        val entry = FakeAndroidKeyStore.entries[alias] ?: throw InvalidKeyException("deleted key")
        FakeAndroidKeyStore.checkUsable(alias, entry.spec)
        val encrypting = opmode == Cipher.ENCRYPT_MODE
        if (encrypting && params != null && entry.spec.isRandomizedEncryptionRequired && transformation.startsWith("AES")) {
            throw InvalidAlgorithmParameterException("Caller-provided IV not permitted")
        }
        val cipher = Cipher.getInstance(transformation, "SunJCE")
        if (params == null) cipher.init(opmode, realKey, random ?: SecureRandom()) else cipher.init(opmode, realKey, params, random ?: SecureRandom())
        real = cipher
        authorised = false
        perUse = entry.spec.isUserAuthenticationRequired && entry.spec.userAuthenticationValidityDurationSeconds <= 0
        if (perUse) FakeAndroidKeyStore.awaitAuthorisation(this)
    }

    override fun engineSetMode(mode: String?) = Unit
    override fun engineSetPadding(padding: String?) = Unit
    override fun engineGetBlockSize(): Int = real?.blockSize ?: 16
    override fun engineGetOutputSize(inputLen: Int): Int = cipher().getOutputSize(inputLen)
    override fun engineGetIV(): ByteArray? = real?.iv
    override fun engineGetParameters(): AlgorithmParameters? = real?.parameters
    override fun engineInit(opmode: Int, key: Key?, random: SecureRandom?) = begin(opmode, key, null, random)
    override fun engineInit(opmode: Int, key: Key?, params: AlgorithmParameterSpec?, random: SecureRandom?) =
        begin(opmode, key, params, random)
    override fun engineInit(opmode: Int, key: Key?, params: AlgorithmParameters?, random: SecureRandom?) =
        begin(opmode, key, params?.getParameterSpec(AlgorithmParameterSpec::class.java), random)
    override fun engineUpdate(input: ByteArray?, offset: Int, len: Int): ByteArray? = cipher().update(input, offset, len)
    override fun engineUpdate(input: ByteArray?, offset: Int, len: Int, output: ByteArray?, outputOffset: Int): Int =
        cipher().update(input, offset, len, output, outputOffset)
    override fun engineUpdateAAD(src: ByteArray?, offset: Int, len: Int) = cipher().updateAAD(src, offset, len)
    override fun engineUpdateAAD(src: ByteBuffer?) = cipher().updateAAD(src)

    private fun checkAuthorised() {
        if (perUse && !authorised) throw IllegalBlockSizeException().apply { initCause(UserNotAuthenticatedException()) }
    }

    override fun engineDoFinal(input: ByteArray?, offset: Int, len: Int): ByteArray {
        checkAuthorised()
        return cipher().doFinal(input ?: ByteArray(0), offset, len).also { if (perUse) authorised = false }
    }
    override fun engineDoFinal(input: ByteArray?, offset: Int, len: Int, output: ByteArray?, outputOffset: Int): Int {
        checkAuthorised()
        return cipher().doFinal(input ?: ByteArray(0), offset, len, output, outputOffset).also { if (perUse) authorised = false }
    }
}

class FakeAesGcmCipher : FakeCipherSpi("AES/GCM/NoPadding")
class FakeRsaOaepCipher : FakeCipherSpi("RSA/ECB/OAEPPadding")
