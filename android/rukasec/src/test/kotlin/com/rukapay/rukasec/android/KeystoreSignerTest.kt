package com.rukapay.rukasec.android

import android.security.keystore.KeyProperties
import com.rukapay.rukasec.DeviceKey
import com.rukapay.rukasec.HttpHeader
import com.rukapay.rukasec.HttpRequest
import com.rukapay.rukasec.SignOptions
import com.rukapay.rukasec.SignatureException
import com.rukapay.rukasec.SignatureVerifier
import com.rukapay.rukasec.VerifierOptions
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import java.math.BigInteger
import java.security.KeyFactory
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.security.spec.X509EncodedKeySpec

/** [KeystoreSigner] and [EcdsaSignatures] against the stand-in keystore, through the core's signer and verifier. */
@RunWith(RobolectricTestRunner::class)
class KeystoreSignerTest {
    @Before
    fun start() {
        FakeAndroidKeyStore.install()
    }

    private fun request() = HttpRequest(
        method = "POST",
        url = "https://api.rukapay.test/v1/transfers?id=7",
        headers = listOf(HttpHeader("Content-Type", "application/json")),
        body = """{"amount":"1000"}""".toByteArray(),
    )

    @Test
    fun `a keystore P-256 key signs requests that the core's verifier accepts`() {
        val signer = KeystoreSigner.getOrCreate("rukasec.device-key")
        DeviceKey.platform(signer).use { key ->
            assertArrayEquals(signer.publicKey(), key.publicKey().spkiDer)
            val headers = key.signRequest(request(), SignOptions(keyId = "device-1"))
            val signed = request().copy(
                headers = request().headers + listOfNotNull(headers.contentDigest?.let { HttpHeader("Content-Digest", it) }) +
                    HttpHeader("Signature-Input", headers.signatureInput) + HttpHeader("Signature", headers.signature),
            )
            SignatureVerifier(mapOf("device-1" to key.publicKey().spkiDer), VerifierOptions()).use { verifier ->
                assertEquals("device-1", verifier.verify(signed).keyid)
                // Another body does not verify.
                assertThrows(SignatureException::class.java) { verifier.verify(signed.copy(body = "{}".toByteArray())) }
            }
            assertEquals(3, key.dpopProof("POST", "https://api.rukapay.test/token", null, null).split('.').size)
        }
    }

    @Test
    fun `sign returns r and s of 32 bytes each, and the JDK verifies them`() {
        val signer = KeystoreSigner.getOrCreate("k")
        val publicKey = KeyFactory.getInstance("EC").generatePublic(X509EncodedKeySpec(signer.publicKey()))
        repeat(20) {
            val message = "message $it".toByteArray()
            val p1363 = signer.sign(message)
            assertEquals(64, p1363.size)
            val verifier = Signature.getInstance("SHA256withECDSAinP1363Format").apply {
                initVerify(publicKey)
                update(message)
            }
            assertTrue(verifier.verify(p1363))
        }
    }

    @Test
    fun `the key is an EC P-256 signing key with SHA-256, StrongBox first, an attestation challenge when asked`() {
        KeystoreSigner.getOrCreate("k", attestationChallenge = byteArrayOf(1, 2, 3))
        val (strongBox, tee) = FakeAndroidKeyStore.attempts.toList()
        assertTrue(strongBox.isStrongBoxBacked)
        assertFalse(tee.isStrongBoxBacked)
        assertEquals(KeyProperties.PURPOSE_SIGN or KeyProperties.PURPOSE_VERIFY, tee.purposes)
        assertArrayEquals(arrayOf(KeyProperties.DIGEST_SHA256), tee.digests)
        assertEquals("secp256r1", (tee.algorithmParameterSpec as ECGenParameterSpec).name)
        assertArrayEquals(byteArrayOf(1, 2, 3), tee.attestationChallenge)

        // The same alias again: the existing key, no new generation.
        val before = KeystoreSigner.getOrCreate("k").publicKey()
        assertEquals(2, FakeAndroidKeyStore.attempts.size)
        assertArrayEquals(before, KeystoreSigner.getOrCreate("k").publicKey())
        assertNull(KeystoreSigner.getOrCreate("k2", preferStrongBox = false).let { FakeAndroidKeyStore.specOf("k2")?.attestationChallenge })
    }

    @Test
    fun `a deleted key fails as SignerFailed, through the core too`() {
        val signer = KeystoreSigner.getOrCreate("k")
        DeviceKey.platform(signer).use { key ->
            signer.delete()
            assertThrows(SignatureException.SignerFailed::class.java) { signer.sign(byteArrayOf(1)) }
            assertThrows(SignatureException.SignerFailed::class.java) { key.signRequest(request(), SignOptions(keyId = "d")) }
        }
        assertThrows(SignatureException.SignerFailed::class.java) { signer.publicKey() }
    }

    @Test
    fun `DER to P1363 keeps the integers and pads them, for JDK signatures of every length`() {
        val keys = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
        val lengths = mutableSetOf<Int>()
        repeat(300) {
            val der = Signature.getInstance("SHA256withECDSA").run {
                initSign(keys.private)
                update(byteArrayOf(it.toByte()))
                sign()
            }
            lengths += der.size
            val raw = EcdsaSignatures.derToP1363(der, 32)
            val (r, s) = derIntegers(der)
            assertEquals(r, BigInteger(1, raw.copyOfRange(0, 32)))
            assertEquals(s, BigInteger(1, raw.copyOfRange(32, 64)))
        }
        assertTrue("short and long encodings seen: $lengths", lengths.size > 1)
    }

    @Test
    fun `DER to P1363 refuses what is not one strict DER signature`() {
        fun der(vararg bytes: Int) = ByteArray(bytes.size) { bytes[it].toByte() }
        val good = der(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02)
        assertArrayEquals(ByteArray(31) + byteArrayOf(1) + ByteArray(31) + byteArrayOf(2), EcdsaSignatures.derToP1363(good, 32))
        val bad = listOf(
            der(),
            der(0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02),  // SET, not SEQUENCE
            der(0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02),  // length beyond the end
            good + byteArrayOf(0),  // trailing byte
            der(0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x02),  // negative r
            der(0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x02),  // non-minimal r
            der(0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x02),  // r = 0
            der(0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02),  // non-minimal length
            der(0x30, 0x03, 0x02, 0x01, 0x01),  // s missing
            byteArrayOf(0x30, 0x25, 0x02, 0x21, 0x01) + ByteArray(32) + byteArrayOf(0x02, 0x01, 0x01),  // r of 33 bytes
        )
        for (input in bad) {
            assertThrows(input.joinToString(" ") { "%02x".format(it) }, IllegalArgumentException::class.java) {
                EcdsaSignatures.derToP1363(input, 32)
            }
        }
    }

    private fun derIntegers(der: ByteArray): Pair<BigInteger, BigInteger> {
        var at = if (der[1].toInt() and 0x80 != 0) 3 else 2
        fun integer(): BigInteger {
            check(der[at].toInt() == 0x02)
            val len = der[at + 1].toInt()
            val value = BigInteger(der.copyOfRange(at + 2, at + 2 + len))
            at += 2 + len
            return value
        }
        return integer() to integer()
    }
}
