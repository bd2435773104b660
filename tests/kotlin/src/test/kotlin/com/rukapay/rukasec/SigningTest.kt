package com.rukapay.rukasec

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.security.KeyFactory
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.security.spec.X509EncodedKeySpec
import java.util.Base64
import java.util.concurrent.atomic.AtomicInteger

/**
 * `DeviceKey`, `PlatformSigner`, `SignatureVerifier` and `HttpsClient.sendSigned` through the
 * generated bindings. Signatures made by the core are checked with the JDK, and a Kotlin
 * [PlatformSigner] backed by a JDK key signs through the core. Tests the binding (records,
 * objects, callbacks, `SignatureException` cases), not RFC 9421 itself, which the Rust suite
 * covers.
 */
class SigningTest {
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

    private fun request(body: ByteArray = "{\"amount\":42}".encodeToByteArray()) = HttpRequest(
        "POST",
        "https://api.rukapay.test/v1/payments?id=7",
        listOf(HttpHeader("Content-Type", "application/json"), HttpHeader("Authorization", "Bearer t0k3n")),
        body,
    )

    /** `request` with the signature headers added, as an app would send it. */
    private fun signed(request: HttpRequest, headers: SignedRequestHeaders): HttpRequest {
        val added = listOfNotNull(headers.contentDigest?.let { HttpHeader("Content-Digest", it) }) +
            HttpHeader("Signature-Input", headers.signatureInput) +
            HttpHeader("Signature", headers.signature)
        return request.copy(headers = request.headers + added)
    }

    private fun verifier(keys: Map<String, ByteArray>, options: VerifierOptions = VerifierOptions()) =
        SignatureVerifier(keys, options)

    /** The bytes of `sig1=:<base64>:`. */
    private fun signatureBytes(header: String, label: String = "sig1"): ByteArray {
        val prefix = "$label=:"
        assertTrue(header.startsWith(prefix) && header.endsWith(":"), header)
        return Base64.getDecoder().decode(header.removePrefix(prefix).removeSuffix(":"))
    }

    @Test
    fun `a core signature verifies with the JDK over signatureBase`() {
        DeviceKey.generate().use { key ->
            val public = key.publicKey()
            assertEquals(65, public.sec1.size)
            assertEquals(0x04.toByte(), public.sec1[0])
            assertTrue(public.spkiPem.startsWith("-----BEGIN PUBLIC KEY-----"), public.spkiPem)
            assertTrue(public.jwk.startsWith("{\"crv\":\"P-256\",\"kty\":\"EC\""), public.jwk)
            assertEquals(43, public.thumbprint.length, public.thumbprint)

            val headers = key.signRequest(request(), SignOptions(keyId = public.thumbprint))
            assertNotNull(headers.contentDigest)
            assertTrue(headers.contentDigest!!.startsWith("sha-256=:"), headers.contentDigest)
            assertTrue(headers.signatureInput.startsWith("sig1=("), headers.signatureInput)
            assertTrue("keyid=\"${public.thumbprint}\"" in headers.signatureInput, headers.signatureInput)
            assertTrue(headers.signatureBase.endsWith(headers.signatureInput.removePrefix("sig1=")), headers.signatureBase)
            assertTrue("\"@method\": POST\n" in headers.signatureBase, headers.signatureBase)

            val jdkKey = KeyFactory.getInstance("EC").generatePublic(X509EncodedKeySpec(public.spkiDer))
            val signature = signatureBytes(headers.signature)
            assertEquals(64, signature.size)
            val verifies = { base: String ->
                Signature.getInstance("SHA256withECDSAinP1363Format").run {
                    initVerify(jdkKey)
                    update(base.encodeToByteArray())
                    verify(signature)
                }
            }
            assertTrue(verifies(headers.signatureBase))
            assertFalse(verifies(headers.signatureBase.replace("POST", "PUT")))
        }
    }

    @Test
    fun `a nonce is added by default, noNonce opts out, and the default verifier then refuses a POST`() {
        DeviceKey.generate().use { key ->
            val keys = mapOf("device-1" to key.publicKey().spkiDer)
            val withNonce = key.signRequest(request(), SignOptions(keyId = "device-1"))
            assertTrue(Regex(";nonce=\"[A-Za-z0-9_-]{22}\"").containsMatchIn(withNonce.signatureInput), withNonce.signatureInput)
            val without = key.signRequest(request(), SignOptions(keyId = "device-1", noNonce = true))
            assertFalse("nonce=" in without.signatureInput, without.signatureInput)
            verifier(keys).use { verifier ->
                assertEquals(22, verifier.verify(signed(request(), withNonce)).nonce?.length)
                assertThrows<SignatureException.Malformed> { verifier.verify(signed(request(), without)) }
            }
            verifier(keys, VerifierOptions(requireNonceForUnsafeMethods = false, replayCachePerKey = 10L)).use { lenient ->
                assertNull(lenient.verify(signed(request(), without)).nonce)
            }
        }
    }

    @Test
    fun `every SignOptions field reaches the signature`() {
        DeviceKey.generate().use { key ->
            val options = SignOptions(
                keyId = "device-1",
                label = "app",
                components = listOf("\"@method\"", "\"@path\"", "\"content-digest\"", "\"@query-param\";name=\"id\""),
                expiresInSeconds = 60L,
                nonce = "n-123",
                tag = "rukapay",
                sha512 = true,
            )
            val headers = key.signRequest(request(), options)
            assertTrue(headers.contentDigest!!.startsWith("sha-512=:"), headers.contentDigest)
            val input = headers.signatureInput
            assertTrue(input.startsWith("app=(\"@method\" \"@path\" \"content-digest\" \"@query-param\";name=\"id\");"), input)
            for (param in listOf("nonce=\"n-123\"", "tag=\"rukapay\"", "keyid=\"device-1\"", "expires=", "created=")) {
                assertTrue(param in input, "$param in $input")
            }
            assertEquals(64, signatureBytes(headers.signature, "app").size)

            val verified = verifier(mapOf("device-1" to key.publicKey().spkiDer), VerifierOptions(required = listOf("\"@method\"", "\"@path\""), label = "app", tag = "rukapay"))
                .use { it.verify(signed(request(), headers)) }
            assertEquals("app", verified.label)
            assertEquals("device-1", verified.keyid)
            assertEquals(listOf("\"@method\"", "\"@path\"", "\"content-digest\"", "\"@query-param\";name=\"id\""), verified.components)
            assertEquals(60L, verified.expires!! - verified.created!!)
            assertEquals("n-123", verified.nonce)
            assertEquals("rukapay", verified.tag)

            // Signing refusals come back as their SignatureException case.
            assertThrows<SignatureException.Malformed> { key.signRequest(request(), options.copy(components = listOf("@method"))) }
            assertThrows<SignatureException.ComponentNotInMessage> {
                key.signRequest(request(), options.copy(components = listOf("\"x-missing\"")))
            }
            assertThrows<SignatureException.InvalidInput> { key.signRequest(request(), options.copy(keyId = "")) }
            assertThrows<SignatureException.InvalidInput> { key.signRequest(request().copy(url = "/relative"), options) }
            val tampered = request().copy(headers = request().headers + HttpHeader("Content-Digest", "sha-256=:AAAA:"))
            assertThrows<SignatureException.DigestMismatch> { key.signRequest(tampered, options) }
        }
    }

    /** A platform key implemented with the JDK: `SHA256withECDSA` returns DER, as Android does. */
    private class JdkPlatformSigner(val keys: KeyPair = newKeyPair()) : PlatformSigner {
        val signs = AtomicInteger(0)

        override fun publicKey(): ByteArray = keys.public.encoded

        override fun sign(message: ByteArray): ByteArray {
            signs.incrementAndGet()
            return Signature.getInstance("SHA256withECDSA").run {
                initSign(keys.private)
                update(message)
                sign()
            }
        }
    }

    @Test
    fun `a Kotlin PlatformSigner signs through the core and the core verifier accepts it`() {
        val jdk = JdkPlatformSigner()
        DeviceKey.platform(jdk).use { key ->
            assertArrayEquals(jdk.keys.public.encoded, key.publicKey().spkiDer)
            val headers = key.signRequest(request(), SignOptions(keyId = "hw"))
            assertEquals(1, jdk.signs.get())
            // The DER from the JDK became a 64-byte P1363 signature.
            assertEquals(64, signatureBytes(headers.signature).size)

            // The verifier takes SEC1 as well as SPKI.
            verifier(mapOf("hw" to key.publicKey().sec1)).use { verifier ->
                val verified = verifier.verify(signed(request(), headers))
                assertEquals("hw", verified.keyid)
                assertEquals("sig1", verified.label)
                assertTrue("\"@method\"" in verified.components, "${verified.components}")
            }

            val proof = key.dpopProof("POST", "https://api.rukapay.test/token", null, null)
            assertEquals(3, proof.split('.').size)
            assertEquals(2, jdk.signs.get())
        }
    }

    @Test
    fun `a PlatformSigner that throws or returns garbage gives SignerFailed without its text`() {
        val throwing = object : PlatformSigner {
            val keys = newKeyPair()
            override fun publicKey(): ByteArray = keys.public.encoded
            override fun sign(message: ByteArray): ByteArray = throw IllegalStateException("card 4111111111111111")
        }
        DeviceKey.platform(throwing).use { key ->
            val error = assertThrows<SignatureException.SignerFailed> { key.signRequest(request(), SignOptions(keyId = "hw")) }
            assertFalse("4111" in error.reason, error.reason)
            assertThrows<SignatureException.SignerFailed> { key.dpopProof("GET", "https://api.rukapay.test/", null, null) }
        }

        // A SignatureException thrown by the app is not forwarded either.
        val refusing = object : PlatformSigner {
            val keys = newKeyPair()
            override fun publicKey(): ByteArray = keys.public.encoded
            override fun sign(message: ByteArray): ByteArray = throw thrownIntoRust(SignatureException.UnknownKey("user 4111 cancelled"))
        }
        DeviceKey.platform(refusing).use { key ->
            val error = assertThrows<SignatureException.SignerFailed> { key.signRequest(request(), SignOptions(keyId = "hw")) }
            assertFalse("4111" in error.reason, error.reason)
        }

        val garbage = object : PlatformSigner {
            val keys = newKeyPair()
            override fun publicKey(): ByteArray = keys.public.encoded
            override fun sign(message: ByteArray): ByteArray = ByteArray(70) { 7 }
        }
        DeviceKey.platform(garbage).use { key ->
            assertThrows<SignatureException.SignerFailed> { key.signRequest(request(), SignOptions(keyId = "hw")) }
        }

        // A valid signature by another key does not verify with the public key: refused too.
        val otherKey = JdkPlatformSigner()
        val wrongKey = object : PlatformSigner {
            override fun publicKey(): ByteArray = newKeyPair().public.encoded
            override fun sign(message: ByteArray): ByteArray = otherKey.sign(message)
        }
        DeviceKey.platform(wrongKey).use { key ->
            assertThrows<SignatureException.SignerFailed> { key.signRequest(request(), SignOptions(keyId = "hw")) }
        }

        // The public key is read once, by `platform`: failures there are SignerFailed as well.
        val noKey = object : PlatformSigner {
            override fun publicKey(): ByteArray = throw RuntimeException("keystore locked")
            override fun sign(message: ByteArray): ByteArray = ByteArray(0)
        }
        assertThrows<SignatureException.SignerFailed> { DeviceKey.platform(noKey) }
        val notP256 = object : PlatformSigner {
            override fun publicKey(): ByteArray = byteArrayOf(1, 2, 3)
            override fun sign(message: ByteArray): ByteArray = ByteArray(0)
        }
        assertThrows<SignatureException.SignerFailed> { DeviceKey.platform(notP256) }
    }

    @Test
    fun `verifier refusals come back as their SignatureException case`() {
        DeviceKey.generate().use { key ->
            val headers = key.signRequest(request(), SignOptions(keyId = "k1", nonce = "once"))
            val good = signed(request(), headers)
            verifier(mapOf("k1" to key.publicKey().spkiDer)).use { verifier ->
                // An altered header that the signature covers.
                val altered = good.copy(headers = good.headers.map {
                    if (it.name == "Authorization") it.copy(value = "Bearer other") else it
                })
                assertThrows<SignatureException.BadSignature> { verifier.verify(altered) }
                // An altered body: the digest no longer matches.
                assertThrows<SignatureException.DigestMismatch> { verifier.verify(good.copy(body = "{\"amount\":9999}".encodeToByteArray())) }
                // No signature at all.
                assertThrows<SignatureException.MissingComponent> { verifier.verify(request()) }
                // A Signature header that is not a structured field.
                val garbled = good.copy(headers = good.headers.map {
                    if (it.name == "Signature") it.copy(value = "sig1=not-base64") else it
                })
                assertThrows<SignatureException.Malformed> { verifier.verify(garbled) }

                // Parameters checked before the signature: another algorithm, a future `created`.
                fun withInput(edit: (String) -> String) = good.copy(headers = good.headers.map {
                    if (it.name == "Signature-Input") it.copy(value = edit(it.value)) else it
                })
                val otherAlgorithm = withInput { it.replace(Regex(";alg=\"[^\"]*\""), "") + ";alg=\"rsa-pss-sha512\"" }
                assertThrows<SignatureException.UnsupportedAlgorithm> { verifier.verify(otherAlgorithm) }
                val inAnHour = System.currentTimeMillis() / 1000 + 3600
                val fromTheFuture = withInput { it.replace(Regex(";created=[0-9]+"), ";created=$inAnHour") }
                assertThrows<SignatureException.NotYetValid> { verifier.verify(fromTheFuture) }

                // The original verifies once; its nonce then counts as seen.
                assertEquals("once", verifier.verify(good).nonce)
                assertThrows<SignatureException.Replayed> { verifier.verify(good) }
            }
            verifier(mapOf("someone-else" to key.publicKey().spkiDer)).use { verifier ->
                assertThrows<SignatureException.UnknownKey> { verifier.verify(good) }
            }
            // A required component the signature does not cover.
            verifier(mapOf("k1" to key.publicKey().spkiDer), VerifierOptions(required = listOf("\"x-request-id\""))).use { verifier ->
                assertThrows<SignatureException.MissingComponent> { verifier.verify(good) }
            }
            // Already expired for a verifier that accepts nothing older than 0 s, with no skew.
            val expiring = signed(request(), key.signRequest(request(), SignOptions(keyId = "k1", expiresInSeconds = 0L)))
            verifier(mapOf("k1" to key.publicKey().spkiDer), VerifierOptions(maxAgeSeconds = 0L, clockSkewSeconds = 0L)).use { verifier ->
                Thread.sleep(1100)
                assertThrows<SignatureException.Expired> { verifier.verify(expiring) }
            }
        }
        // Keys and options are checked when the verifier is made.
        assertThrows<SignatureException.InvalidInput> { verifier(mapOf("k" to byteArrayOf(0x30, 1, 2))) }
        assertThrows<SignatureException.InvalidInput> { verifier(mapOf("k" to byteArrayOf(0x04, 1, 2))) }
        assertThrows<SignatureException.Malformed> { verifier(emptyMap(), VerifierOptions(required = listOf("not quoted"))) }
        // PEM is accepted as well.
        DeviceKey.generate().use { key -> verifier(mapOf("k" to key.publicKey().spkiPem.encodeToByteArray())).close() }
    }

    @Test
    fun `dpopProof is a three-part ES256 JWT of type dpop+jwt`() {
        DeviceKey.generate().use { key ->
            val proof = key.dpopProof("POST", "https://api.rukapay.test/token?x=1#frag", "access-token", "server-nonce")
            val parts = proof.split('.')
            assertEquals(3, parts.size)
            val decode = { part: String -> Base64.getUrlDecoder().decode(part).decodeToString() }
            val header = decode(parts[0])
            assertTrue("\"typ\":\"dpop+jwt\"" in header, header)
            assertTrue("\"alg\":\"ES256\"" in header, header)
            assertTrue(key.publicKey().jwk.removePrefix("{").removeSuffix("}") in header, header)
            val claims = decode(parts[1])
            assertTrue("\"htm\":\"POST\"" in claims, claims)
            assertTrue("\"htu\":\"https://api.rukapay.test/token\"" in claims, claims)
            assertTrue("\"ath\":" in claims && "\"nonce\":\"server-nonce\"" in claims, claims)
            assertFalse("access-token" in claims, claims)
            assertEquals(64, Base64.getUrlDecoder().decode(parts[2]).size)

            val noToken = decode(key.dpopProof("GET", "https://api.rukapay.test/", null, null).split('.')[1])
            assertFalse("\"ath\"" in noToken || "\"nonce\"" in noToken, noToken)

            assertThrows<SignatureException.InvalidInput> { key.dpopProof("GET", "not a url", null, null) }
            assertThrows<SignatureException.InvalidInput> { key.dpopProof("G ET", "https://api.rukapay.test/", null, null) }
            assertThrows<SignatureException.InvalidInput> { key.dpopProof("GET", "https://api.rukapay.test/", "", null) }
        }
    }

    @Test
    fun `loadOrCreate keeps one key per account in the vault, and PEM keys import`() {
        core.openVault(File(dir, "vault").apply { mkdirs() }.path, AesGcmKeyWrapper()).use { vault ->
            val first = DeviceKey.loadOrCreate(vault, "alice").use { it.publicKey() }
            val again = DeviceKey.loadOrCreate(vault, "alice").use { it.publicKey() }
            assertEquals(first.thumbprint, again.thumbprint)
            // (A Kotlin data class compares ByteArray fields by identity: compare the bytes.)
            assertArrayEquals(first.spkiDer, again.spkiDer)
            val bob = DeviceKey.loadOrCreate(vault, "bob").use { it.publicKey() }
            assertFalse(bob.thumbprint == first.thumbprint)
            assertTrue(vault.contains("alice", "rukasec.signing", "device-key"))

            // Corrupt bytes where the key should be: a storage failure, not a new key.
            vault.put("carol", "rukasec.signing", "device-key", byteArrayOf(1, 2, 3), DataClass.RESTRICTED, null)
            assertThrows<SignatureException.Storage> { DeviceKey.loadOrCreate(vault, "carol") }
        }

        // A PKCS#8 key made by the JDK imports with the same public key.
        val keys = newKeyPair()
        val pem = "-----BEGIN PRIVATE KEY-----\n" +
            Base64.getMimeEncoder(64, "\n".toByteArray()).encodeToString(keys.private.encoded) +
            "\n-----END PRIVATE KEY-----\n"
        DeviceKey.fromPkcs8Pem(pem).use { key -> assertArrayEquals(keys.public.encoded, key.publicKey().spkiDer) }
        val error = assertThrows<SignatureException.InvalidInput> { DeviceKey.fromPkcs8Pem("-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n") }
        assertFalse("QUJD" in error.reason, error.reason)
    }

    @Test
    fun `sendSigned signs on the way out and the server sees a signature the verifier accepts`() {
        TestTlsServer.start(false).use { server ->
            val options = HttpsClientOptions(
                extraRootsDer = listOf(server.rootDer()),
                resolve = listOf(HostAddress(server.host(), server.address())),
            )
            val policy = PinPolicy(listOf(DomainPin(pattern = server.host(), pins = listOf(server.leafPin(), TlsTest.BACKUP_PIN))))
            core.httpsClient(options, policy).use { client ->
                DeviceKey.generate().use { key ->
                    assertNull(server.lastRequest())
                    val response = runBlocking {
                        withTimeout(WAIT_SECONDS * 1000) {
                            client.sendSigned(request().copy(url = server.url("/hello")), key, SignOptions(keyId = "k1"))
                        }
                    }
                    assertEquals(200, response.status.toInt())
                    val seen = server.lastRequest()!!
                    assertTrue(seen.headers.any { it.name == "signature-input" }, "${seen.headers}")
                    assertTrue(seen.headers.any { it.name == "content-digest" }, "${seen.headers}")
                    verifier(mapOf("k1" to key.publicKey().spkiDer)).use { assertEquals("k1", it.verify(seen).keyid) }

                    // A signing failure is TlsException.Signing, and nothing is sent.
                    val error = assertThrows<TlsException.Signing> {
                        runBlocking {
                            client.sendSigned(
                                HttpRequest("GET", server.url("/hello")),
                                key,
                                SignOptions(keyId = "k1", components = listOf("\"x-missing\"")),
                            )
                        }
                    }
                    assertTrue(error.reason.startsWith("component-not-in-message"), error.reason)
                    assertEquals(1, server.requestCount())
                }
            }
        }
    }

    private companion object {
        fun newKeyPair(): KeyPair =
            KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
    }
}
