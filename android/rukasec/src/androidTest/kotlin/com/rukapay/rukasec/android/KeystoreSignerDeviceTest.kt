package com.rukapay.rukasec.android

import com.rukapay.rukasec.DeviceKey
import com.rukapay.rukasec.HttpHeader
import com.rukapay.rukasec.HttpRequest
import com.rukapay.rukasec.SignOptions
import com.rukapay.rukasec.SignatureException
import com.rukapay.rukasec.SignatureVerifier
import com.rukapay.rukasec.VerifierOptions
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Test

/**
 * [KeystoreSigner] with a real AndroidKeyStore P-256 key: the core signs a request through it
 * (RFC 9421, the keystore's DER signature turned into r ‖ s) and the core's verifier accepts
 * the result with the key's public half.
 */
class KeystoreSignerDeviceTest {
    private val alias = "rukasec.device-test.signer.${System.nanoTime()}"
    private var signer: KeystoreSigner? = null

    @After
    fun deleteKey() {
        signer?.delete()
    }

    private fun request() = HttpRequest(
        method = "POST",
        url = "https://api.rukapay.test/v1/transfers?id=7",
        headers = listOf(HttpHeader("Content-Type", "application/json")),
        body = """{"amount":"1000"}""".toByteArray(),
    )

    @Test
    fun aKeystoreKeySignsRequestsTheCoreVerifies() {
        val signer = KeystoreSigner.getOrCreate(alias).also { signer = it }
        DeviceKey.platform(signer).use { key ->
            val headers = key.signRequest(request(), SignOptions(keyId = "device-1"))
            val signed = request().copy(
                headers = request().headers +
                    listOfNotNull(headers.contentDigest?.let { HttpHeader("Content-Digest", it) }) +
                    HttpHeader("Signature-Input", headers.signatureInput) +
                    HttpHeader("Signature", headers.signature),
            )
            SignatureVerifier(mapOf("device-1" to key.publicKey().spkiDer), VerifierOptions()).use { verifier ->
                assertEquals("device-1", verifier.verify(signed).keyid)
                assertThrows(SignatureException::class.java) { verifier.verify(signed.copy(body = "{}".toByteArray())) }
            }
            // A DPoP proof is a compact JWS (three parts), signed by the same keystore key.
            assertEquals(3, key.dpopProof("POST", "https://api.rukapay.test/token", null, null).split('.').size)
        }
    }
}
