package com.rukapay.rukasec.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import com.rukapay.rukasec.PlatformSigner
import com.rukapay.rukasec.SignatureException
import java.security.GeneralSecurityException
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.ProviderException
import java.security.Signature
import java.security.spec.ECGenParameterSpec

/**
 * The device's request-signing key: an EC P-256 key made inside AndroidKeyStore (StrongBox when
 * present), serving as the core's [PlatformSigner] (`DeviceKey.platform(KeystoreSigner.getOrCreate(…))`).
 * The private key never leaves the keystore; the core builds the RFC 9421 signature base and
 * the DPoP proof, and this class only signs their bytes.
 *
 * Android returns ECDSA signatures as ASN.1 DER; [sign] hands the core the fixed-size `r ‖ s`
 * form (IEEE P1363, what RFC 9421 and JWS carry), converted by [EcdsaSignatures.derToP1363].
 */
class KeystoreSigner private constructor(
    private val alias: String,
    private val keyStoreProvider: String,
) : PlatformSigner {

    private fun keyStore(): KeyStore = KeyStore.getInstance(keyStoreProvider).apply { load(null) }

    /** The public key as SubjectPublicKeyInfo DER. */
    override fun publicKey(): ByteArray = signerErrors {
        keyStore().getCertificate(alias)?.publicKey?.encoded ?: throw SignatureException.SignerFailed("no key")
    }

    override fun sign(message: ByteArray): ByteArray = signerErrors {
        val key = keyStore().getKey(alias, null) as? PrivateKey ?: throw SignatureException.SignerFailed("no key")
        val der = Signature.getInstance(SHA256_WITH_ECDSA).run {
            initSign(key)
            update(message)
            sign()
        }
        EcdsaSignatures.derToP1363(der, P256_SCALAR_LEN)
    }

    /** Deletes the key: requests signed before stay verifiable only with the saved public key. */
    fun delete() {
        signerErrors { keyStore().deleteEntry(alias) }
    }

    companion object {
        private const val SHA256_WITH_ECDSA = "SHA256withECDSA"
        private const val P256_SCALAR_LEN = 32

        /**
         * The signer for [alias], generating its key on first use. [attestationChallenge], when
         * given, asks the keystore for an attestation certificate chain over the new key (the
         * server's nonce; see `KeyStore.getCertificateChain(alias)`).
         */
        @JvmStatic
        @JvmOverloads
        fun getOrCreate(
            alias: String,
            preferStrongBox: Boolean = true,
            attestationChallenge: ByteArray? = null,
            keyStoreProvider: String = AndroidKeystoreKeyWrapper.ANDROID_KEY_STORE,
        ): KeystoreSigner = signerErrors {
            val store = KeyStore.getInstance(keyStoreProvider).apply { load(null) }
            if (store.getKey(alias, null) !is PrivateKey) {
                generateWithStrongBoxFallback(preferStrongBox, Build.VERSION.SDK_INT) { strongBox ->
                    generate(alias, strongBox, attestationChallenge, keyStoreProvider)
                }
            }
            KeystoreSigner(alias, keyStoreProvider)
        }

        private fun generate(alias: String, strongBox: Boolean, challenge: ByteArray?, provider: String) {
            val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN or KeyProperties.PURPOSE_VERIFY)
                .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
                .setDigests(KeyProperties.DIGEST_SHA256)
                .apply {
                    if (strongBox) setIsStrongBoxBacked(true)
                    if (challenge != null) setAttestationChallenge(challenge)
                }
                .build()
            KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, provider).run {
                initialize(spec)
                generateKeyPair()
            }
        }

        /** Keystore failures as [SignatureException.SignerFailed], naming only the exception class. */
        private inline fun <T> signerErrors(block: () -> T): T = try {
            block()
        } catch (e: SignatureException) {
            throw e
        } catch (e: GeneralSecurityException) {
            throw SignatureException.SignerFailed("keystore: ${e.javaClass.simpleName}")
        } catch (e: java.io.IOException) {
            throw SignatureException.SignerFailed("keystore: ${e.javaClass.simpleName}")
        } catch (e: ProviderException) {
            throw SignatureException.SignerFailed("keystore: ${e.javaClass.simpleName}")
        } catch (e: IllegalArgumentException) {
            throw SignatureException.SignerFailed("signature: ${e.javaClass.simpleName}")
        }
    }
}

/** ECDSA signature encodings. */
object EcdsaSignatures {
    /**
     * The `r ‖ s` form (each [scalarLen] bytes, big-endian) of a DER `SEQUENCE { INTEGER r,
     * INTEGER s }`. Strict DER: minimal lengths and integers, positive values that fit, nothing
     * after the sequence. Throws [IllegalArgumentException] otherwise.
     */
    @JvmStatic
    fun derToP1363(der: ByteArray, scalarLen: Int): ByteArray {
        var at = 0
        fun byte(): Int {
            require(at < der.size) { "truncated" }
            return der[at++].toInt() and 0xff
        }
        fun length(): Int {
            val first = byte()
            if (first < 0x80) return first
            require(first == 0x81) { "length form" }  // a P-256/P-384 signature is < 256 bytes
            return byte().also { require(it >= 0x80) { "non-minimal length" } }
        }
        require(byte() == 0x30) { "not a sequence" }
        val sequenceLen = length()
        require(at + sequenceLen == der.size) { "sequence length" }
        val out = ByteArray(2 * scalarLen)
        for (index in 0 until 2) {
            require(byte() == 0x02) { "not an integer" }
            val len = length()
            require(len in 1..scalarLen + 1 && at + len <= der.size) { "integer length" }
            val start = at
            at += len
            require(der[start].toInt() and 0x80 == 0) { "negative integer" }
            if (len > 1) require(der[start].toInt() != 0 || der[start + 1].toInt() and 0x80 != 0) { "non-minimal integer" }
            val significant = if (der[start].toInt() == 0) len - 1 else len
            require(significant <= scalarLen) { "integer too large" }
            require(significant > 0) { "zero" }
            System.arraycopy(der, start + len - significant, out, (index + 1) * scalarLen - significant, significant)
        }
        require(at == der.size) { "trailing bytes" }
        return out
    }
}
