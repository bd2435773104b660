package com.rukapay.rukasec

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.util.concurrent.ConcurrentLinkedQueue

/**
 * A device key that needs the user for each signature, through the binding: a Kotlin
 * `AuthBoundSigner` (a `suspend fun`, as BiometricPrompt with a `CryptoObject` around a
 * `Signature` is written) answering from a script, `PromptedSignature`, `AuthBoundDeviceKey`,
 * `HttpsClient.sendSignedAuthenticated`, and each `SignatureException` case of a prompt. The
 * policy (counting, lockout, allowed methods) is tested in Rust.
 */
class AuthBoundSigningTest {
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

    /** A JDK EC key whose every signature first "prompts": the next scripted outcome. */
    class ScriptedSigner(outcomes: List<AuthOutcome>) : AuthBoundSigner {
        val keys: KeyPair =
            KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
        private val script = ConcurrentLinkedQueue(outcomes)
        val requests = ConcurrentLinkedQueue<AuthRequest>()

        override fun publicKey(): ByteArray = keys.public.encoded

        override suspend fun sign(message: ByteArray, request: AuthRequest): PromptedSignature {
            requests.add(request)
            return when (val outcome = script.poll() ?: AuthOutcome.Cancelled) {
                is AuthOutcome.Success -> PromptedSignature.Signed(
                    outcome.method,
                    Signature.getInstance("SHA256withECDSA").run {
                        initSign(keys.private)
                        update(message)
                        sign()
                    },
                )
                else -> PromptedSignature.Refused(outcome)
            }
        }
    }

    private val strong = AuthOutcome.Success(AuthMethod.STRONG_BIOMETRIC)

    private fun request() = HttpRequest(
        "POST",
        "https://api.rukapay.test/v1/payments",
        listOf(HttpHeader("Content-Type", "application/json")),
        "{\"amount\":5000}".encodeToByteArray(),
    )

    private fun <T> await(block: suspend () -> T): T = runBlocking { withTimeout(WAIT_MS) { block() } }

    /** A gate of `policy` from a vault (the gate's counter lives there). */
    private fun <T> withGate(policy: UnlockPolicy = UnlockPolicy(), block: (UnlockGate) -> T): T =
        core.openVault(File(dir, "vault").path, AesGcmKeyWrapper()).use { vault ->
            vault.enableUnlock(policy, UnlockTest.ScriptedAuthenticator()).use(block)
        }

    @Test
    fun `a prompted signature verifies and the prompt asks for a strong biometric for Restricted`() {
        val signer = ScriptedSigner(listOf(strong, strong))
        withGate { gate ->
            AuthBoundDeviceKey(signer, gate).use { key ->
                assertEquals(signer.keys.public.encoded.toList(), key.publicKey().spkiDer.toList())
                val headers = await { key.signRequest(request(), SignOptions(keyId = "hw"), "Confirm the payment") }
                val signed = request().copy(
                    headers = request().headers + listOfNotNull(headers.contentDigest?.let { HttpHeader("Content-Digest", it) }) +
                        HttpHeader("Signature-Input", headers.signatureInput) + HttpHeader("Signature", headers.signature),
                )
                SignatureVerifier(mapOf("hw" to key.publicKey().sec1), VerifierOptions()).use {
                    assertEquals("hw", it.verify(signed).keyid)
                }
                val prompt = signer.requests.first()
                assertEquals(DataClass.RESTRICTED, prompt.dataClass)
                assertEquals(listOf(AuthMethod.STRONG_BIOMETRIC), prompt.allowed)
                assertEquals("Confirm the payment", prompt.reason)
                // Unlocked by the key's own prompt, within the Restricted window.
                assertTrue(gate.isUnlocked(DataClass.RESTRICTED))

                val proof = await { key.dpopProof("POST", "https://api.rukapay.test/token", null, null, "Sign in") }
                assertEquals(3, proof.split('.').size)
                assertEquals(2, signer.requests.size)
            }
        }
    }

    @Test
    fun `each way a prompt ends without a signature is its own SignatureException`() {
        val signer = ScriptedSigner(
            listOf(
                AuthOutcome.Cancelled,
                AuthOutcome.Failed,
                AuthOutcome.KeyInvalidated,
                AuthOutcome.NotEnrolled,
                AuthOutcome.Success(AuthMethod.DEVICE_CREDENTIAL),
                AuthOutcome.LockedOut(1_900_000_000_000),
            ),
        )
        withGate(UnlockPolicy(maxFailures = 3)) { gate ->
            AuthBoundDeviceKey(signer, gate).use { key ->
                val sign = { runBlocking { withTimeout(WAIT_MS) { key.signRequest(request(), SignOptions(keyId = "hw"), "Pay") } } }
                assertThrows<SignatureException.UserCancelled> { sign() }
                val failed = assertThrows<SignatureException.AuthenticationFailed> { sign() }
                assertEquals(2, failed.remainingAttempts)
                assertThrows<SignatureException.KeyInvalidated> { sign() }
                assertThrows<SignatureException.UserAuthenticationRequired> { sign() }
                // The passcode does not count for Restricted by default: the signature is discarded.
                assertThrows<SignatureException.UserAuthenticationRequired> { sign() }
                val locked = assertThrows<SignatureException.LockedOut> { sign() }
                assertEquals(1_900_000_000_000, locked.untilUnixMs)
                assertEquals(6, signer.requests.size)
            }
        }
    }

    @Test
    fun `a signer that throws is SignerFailed without its text`() {
        val throwing = object : AuthBoundSigner {
            val inner = ScriptedSigner(emptyList())
            override fun publicKey(): ByteArray = inner.publicKey()
            override suspend fun sign(message: ByteArray, request: AuthRequest): PromptedSignature =
                throw IllegalStateException("keystore canary 4111")
        }
        val noKey = object : AuthBoundSigner {
            override fun publicKey(): ByteArray = throw IllegalStateException("no key canary 4111")
            override suspend fun sign(message: ByteArray, request: AuthRequest): PromptedSignature =
                PromptedSignature.Refused(AuthOutcome.Unavailable)
        }
        withGate { gate ->
            assertThrows<SignatureException.SignerFailed> { AuthBoundDeviceKey(noKey, gate) }
            AuthBoundDeviceKey(throwing, gate).use { key ->
                val error = assertThrows<SignatureException.SignerFailed> {
                    await { key.dpopProof("GET", "https://api.rukapay.test/", null, null, "Sign in") }
                }
                assertTrue("4111" !in error.reason, error.reason)
            }
        }
    }

    @Test
    fun `sendSignedAuthenticated sends after a prompt and nothing when the prompt is cancelled`() {
        TestTlsServer.start(false).use { server ->
            val options = HttpsClientOptions(
                extraRootsDer = listOf(server.rootDer()),
                resolve = listOf(HostAddress(server.host(), server.address())),
            )
            val policy = PinPolicy(listOf(DomainPin(pattern = server.host(), pins = listOf(server.leafPin(), TlsTest.BACKUP_PIN))))
            val signer = ScriptedSigner(listOf(strong, AuthOutcome.Cancelled))
            core.httpsClient(options, policy).use { client ->
                withGate { gate ->
                    AuthBoundDeviceKey(signer, gate).use { key ->
                        val response = await {
                            client.sendSignedAuthenticated(request().copy(url = server.url("/hello")), key, SignOptions(keyId = "hw"), "Pay")
                        }
                        assertEquals(200, response.status.toInt())
                        SignatureVerifier(mapOf("hw" to key.publicKey().sec1), VerifierOptions()).use {
                            assertEquals("hw", it.verify(server.lastRequest()!!).keyid)
                        }
                        val error = assertThrows<TlsException.Signing> {
                            await { client.sendSignedAuthenticated(request().copy(url = server.url("/hello")), key, SignOptions(keyId = "hw"), "Pay") }
                        }
                        assertTrue("cancelled" in error.reason, error.reason)
                        assertEquals(1, server.requestCount())
                    }
                }
            }
        }
    }
}
