package com.rukapay.rukasec

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File

/**
 * `CredentialStore`, its records and `CredentialException` cases, and
 * `HttpsClient.sendWithCredential` against the local test server (its `TlsException` credential
 * and rate-limit cases, the Retry-After pause, the credential/rate events), through the generated
 * bindings. The checks themselves (host patterns, environments, the bucket's arithmetic) are
 * tested in Rust (core/tests/credentials.rs).
 */
class CredentialsTest {
    @TempDir
    lateinit var dir: File

    private lateinit var listener: RecordingListener
    private lateinit var core: RukaSec
    private lateinit var vault: Vault

    /** Every message and text a test saw, checked for the secret at the end of each test. */
    private val seen = mutableListOf<String>()

    @BeforeEach
    fun open() {
        listener = RecordingListener()
        core = RukaSec(listener)
        vault = core.openVault(File(dir, "vault").path, AesGcmKeyWrapper())
    }

    @AfterEach
    fun close() {
        assertTrue(core.flushEvents(WAIT_MS))
        seen += listener.events.map { "${it.kind} ${it.details}" }
        for (text in seen) assertFalse(CANARY in text, "the secret leaked into: $text")
        vault.close()
        core.close()
    }

    private fun store(environments: List<HostEnvironment> = ENVIRONMENTS, on: Vault = vault) =
        CredentialStore(on, ACCOUNT, environments)

    private fun events(kind: SecurityEventKind): List<SecurityEvent> {
        assertTrue(core.flushEvents(WAIT_MS), "events not delivered within $WAIT_SECONDS s")
        return listener.events.filter { it.kind == kind }
    }

    /** [assertThrows], keeping the error's message for the canary check. */
    private inline fun <reified T : Throwable> refused(noinline call: () -> Unit): T =
        assertThrows<T>(call).also { seen += "${it.message}" }

    private fun <T> await(block: suspend () -> T): T = runBlocking { withTimeout(WAIT_MS) { block() } }

    private fun production(hosts: List<String> = listOf("**.rukapay.test")) =
        CredentialSpec(Environment.Production, hosts, AuthHeader.Bearer, label = "payments (live)")

    private fun sandbox(hosts: List<String> = listOf("**.rukapay.test")) =
        CredentialSpec(Environment.Sandbox, hosts, AuthHeader.Named("x-api-key"), rotateAfterDays = 7L)

    @Test
    fun `put, list, metadata, rotate and revoke round-trip without the secret`() {
        store().use { store ->
            val before = System.currentTimeMillis() / 1000 * 1000
            val prod = store.put("payments-prod", CANARY.encodeToByteArray(), production())
            assertEquals("payments-prod", prod.id)
            assertEquals("payments (live)", prod.label)
            assertEquals(Environment.Production, prod.environment)
            assertEquals(listOf("**.rukapay.test"), prod.hosts)
            assertEquals(AuthHeader.Bearer, prod.header)
            assertEquals(90L, prod.rotateAfterDays)
            assertTrue(prod.createdAtUnixMs >= before && prod.createdAtUnixMs <= System.currentTimeMillis(), "$prod")
            val secret = SANDBOX_KEY.encodeToByteArray()
            store.put("payments-sandbox", secret, sandbox())
            secret.fill(0) // the caller's copy: wiping it changes nothing stored

            val listed = store.list()
            assertEquals(listOf("payments-prod", "payments-sandbox"), listed.map { it.id })
            assertEquals(prod, listed[0])
            assertEquals(AuthHeader.Named("x-api-key"), listed[1].header)
            assertEquals(7L, listed[1].rotateAfterDays)
            assertEquals(prod, store.metadata("payments-prod"))
            assertNull(store.metadata("missing"))
            seen += listed.map { it.toString() }
            assertTrue("payments-prod" in listed[0].toString(), "$listed")

            // Another store on the same vault and account sees them; another account does not.
            store().use { assertEquals(listed, it.list()) }
            CredentialStore(vault, "customer-2", ENVIRONMENTS).use { assertTrue(it.list().isEmpty()) }

            val rotated = store.rotate("payments-prod", "sk_live_rotated".encodeToByteArray())
            assertEquals(prod.copy(createdAtUnixMs = rotated.createdAtUnixMs), rotated)
            assertEquals(listOf<CredentialMetadata>(), store.checkRotation())
            refused<CredentialException.NotFound> { store.rotate("missing", "x".encodeToByteArray()) }

            assertTrue(store.revoke("payments-prod"))
            assertFalse(store.revoke("payments-prod"))
            assertNull(store.metadata("payments-prod"))
            assertEquals(listOf("payments-sandbox"), store.list().map { it.id })
            val gone = refused<CredentialException.NotFound> { store.checkUrl("payments-prod", "https://pay.rukapay.test/") }
            assertTrue(gone.reason.isNotEmpty())
        }
    }

    @Test
    fun `a sandbox key is refused for a production host and the reverse`() {
        store().use { store ->
            store.put("payments-prod", CANARY.encodeToByteArray(), production())
            store.put("payments-sandbox", SANDBOX_KEY.encodeToByteArray(), sandbox())
            val sandboxToProd = refused<CredentialException.EnvironmentMismatch> {
                store.checkUrl("payments-sandbox", "https://pay.rukapay.test/v1/charges")
            }
            assertEquals("a sandbox credential cannot be sent to a production host", sandboxToProd.reason)
            val prodToSandbox = refused<CredentialException.EnvironmentMismatch> {
                store.checkUrl("payments-prod", "https://api.sandbox.rukapay.test/v1/charges")
            }
            assertEquals("a production credential cannot be sent to a sandbox host", prodToSandbox.reason)
            assertEquals("payments-prod", store.checkUrl("payments-prod", "https://pay.rukapay.test/").id)
            assertEquals("payments-sandbox", store.checkUrl("payments-sandbox", "https://api.sandbox.rukapay.test/").id)
        }
        // An undeclared host refuses every credential; a named environment must match too.
        store().use { store ->
            store.put("partner", "pk_1".encodeToByteArray(), production(listOf("api.partner.example")))
            val undeclared = refused<CredentialException.EnvironmentMismatch> { store.checkUrl("partner", "https://api.partner.example/") }
            assertTrue("no declared environment" in undeclared.reason, undeclared.reason)
        }
        store(listOf(HostEnvironment("api.partner.example", Environment.Other("staging")))).use { staging ->
            refused<CredentialException.EnvironmentMismatch> { staging.checkUrl("partner", "https://api.partner.example/") }
            staging.put("partner-staging", "pk_2".encodeToByteArray(), CredentialSpec(Environment.Other("staging"), listOf("api.partner.example"), AuthHeader.Bearer))
            assertEquals(Environment.Other("staging"), staging.checkUrl("partner-staging", "https://api.partner.example/x").environment)
        }
    }

    @Test
    fun `hosts outside the credential, insecure URLs and bad input are refused`() {
        store().use { store ->
            store.put("payments", CANARY.encodeToByteArray(), production(listOf("pay.rukapay.test")))
            for (url in listOf("https://api.rukapay.test/", "https://pay.rukapay.test.evil.example/", "https://127.0.0.1/")) {
                refused<CredentialException.HostMismatch> { store.checkUrl("payments", url) }
            }
            refused<CredentialException.InvalidInput> { store.checkUrl("payments", "http://pay.rukapay.test/") }
            refused<CredentialException.InvalidInput> { store.checkUrl("payments", "not a url") }

            val key = "x".encodeToByteArray()
            refused<CredentialException.InvalidInput> { store.put("a/b", key, production()) }
            refused<CredentialException.InvalidInput> { store.put("k", ByteArray(0), production()) }
            refused<CredentialException.InvalidInput> { store.put("k", "has space".encodeToByteArray(), production()) }
            refused<CredentialException.InvalidInput> { store.put("k", key, production(emptyList())) }
            refused<CredentialException.InvalidInput> { store.put("k", key, production(listOf("*.com"))) }
            refused<CredentialException.InvalidInput> { store.put("k", key, production().copy(header = AuthHeader.Named("x-request-id"))) }
            refused<CredentialException.InvalidInput> { store.put("k", key, production().copy(environment = Environment.Other("Prod"))) }
            // The core has no "due now": a rotation period is at least a day here.
            refused<CredentialException.InvalidInput> { store.put("k", key, production().copy(rotateAfterDays = 0L)) }
            refused<CredentialException.InvalidInput> { store.put("k", key, production().copy(rotateAfterDays = -1L)) }
            assertEquals(listOf("payments"), store.list().map { it.id })
        }
        refused<CredentialException.InvalidInput> {
            store(listOf(HostEnvironment("**.rukapay.test", Environment.Production), HostEnvironment("**.rukapay.test", Environment.Sandbox)))
        }
        refused<CredentialException.InvalidInput> { store(listOf(HostEnvironment("*.com", Environment.Production))) }
    }

    @Test
    fun `a gated vault needs an unlock, and a broken record is Storage`() {
        store().use { it.put("payments", CANARY.encodeToByteArray(), production()) }
        val authenticator = UnlockTest.ScriptedAuthenticator(fallback = AuthOutcome.Success(AuthMethod.STRONG_BIOMETRIC))
        vault.enableUnlock(UnlockPolicy(), authenticator).use { gate ->
            store().use { store ->
                // The metadata is Internal: readable after the first unlock since start, and
                // these calls never prompt.
                refused<CredentialException.UserAuthenticationRequired> { store.list() }
                refused<CredentialException.UserAuthenticationRequired> { store.checkUrl("payments", "https://pay.rukapay.test/") }
                assertEquals(0, authenticator.prompts)
                await { gate.unlock(DataClass.INTERNAL, ACCOUNT, "List the API keys") }
                assertEquals(listOf("payments"), store.list().map { it.id })
            }
        }

        core.openVault(File(dir, "plain").path, AesGcmKeyWrapper()).use { plain ->
            plain.put(ACCOUNT, "rukasec.credentials.meta", "broken", byteArrayOf(1, 2, 3), DataClass.INTERNAL, null)
            store(on = plain).use { store ->
                val error = refused<CredentialException.Storage> { store.metadata("broken") }
                assertTrue("integrity" in error.reason, error.reason)
                refused<CredentialException.Storage> { store.list() }
            }
        }
        assertEquals(listOf("credential_metadata"), events(SecurityEventKind.VAULT_INTEGRITY_FAILURE).map { it.details["what"] }.distinct())
    }

    @Test
    fun `the causes a healthy host cannot produce arrive as their cases`() {
        val crypto = refused<CredentialException.CryptoUnavailable> { ffiTestingCredentialsAfterFailedSelfTest() }
        assertTrue("self-test" in crypto.reason, crypto.reason)
        val panic = refused<CredentialException.Internal> { ffiTestingPanicInCredentialCall() }
        assertFalse("deliberate" in panic.reason, panic.reason)
    }

    @Test
    fun `sendWithCredential puts the header on the request and refuses the wrong credential before sending`() {
        TestTlsServer.start(false).use { server ->
            client(server).use { client ->
                store().use { store ->
                    store.put("payments-prod", CANARY.encodeToByteArray(), production())
                    store.put("payments-sandbox", SANDBOX_KEY.encodeToByteArray(), sandbox())
                    store.put("other-host", "ok_1".encodeToByteArray(), production(listOf("api.rukapay.test")))
                    store.put("api-key", "ak_1".encodeToByteArray(), production().copy(header = AuthHeader.Named("x-api-key")))

                    val request = HttpRequest("GET", server.url("/hello"), listOf(HttpHeader("Authorization", "Bearer stale")))
                    val response = await { client.sendWithCredential(request, store, "payments-prod", RateLimitMode.FAIL, "Pay") }
                    assertEquals(200, response.status)
                    val seenByServer = server.lastRequest()!!
                    assertEquals(listOf("Bearer $CANARY"), seenByServer.headers.filter { it.name == "authorization" }.map { it.value })
                    assertFalse(CANARY in seenByServer.toString(), "$seenByServer")
                    await { client.sendWithCredential(HttpRequest("GET", server.url("/hello")), store, "api-key", RateLimitMode.WAIT, "Pay") }
                    assertEquals(listOf("ak_1"), server.lastRequest()!!.headers.filter { it.name == "x-api-key" }.map { it.value })

                    val sent = server.requestCount()
                    fun send(id: String, url: String = server.url("/hello")) {
                        runBlocking { client.sendWithCredential(HttpRequest("GET", url), store, id, RateLimitMode.FAIL, "Pay") }
                    }
                    refused<TlsException.CredentialNotFound> { send("missing") }
                    refused<TlsException.CredentialHostMismatch> { send("other-host") }
                    val mismatch = refused<TlsException.CredentialEnvironmentMismatch> { send("payments-sandbox") }
                    assertEquals("a sandbox credential cannot be sent to a production host", mismatch.reason)
                    refused<TlsException.InsecureScheme> { send("payments-prod", "http://pay.rukapay.test/") }
                    assertEquals(sent, server.requestCount(), "a refused credential went out")

                    // A 401 is returned as it came, with an event naming the credential.
                    val rejected = await { client.sendWithCredential(HttpRequest("GET", server.url("/status/401")), store, "payments-prod", RateLimitMode.FAIL, "Pay") }
                    assertEquals(401, rejected.status)
                    val event = events(SecurityEventKind.AUTHENTICATION_REJECTED).single()
                    assertEquals("payments-prod", event.details["credential"])
                    assertEquals("401", event.details["status"])
                }
            }
        }
    }

    @Test
    fun `over the limit Fail mode throws RateLimited, Wait mode waits`() {
        TestTlsServer.start(false).use { server ->
            store().use { store ->
                store.put("payments-prod", CANARY.encodeToByteArray(), production())
                client(server, HttpsClientOptions(rateLimitCapacity = 2, rateLimitRefillPerSecond = 0.01)).use { client ->
                    val send = { mode: RateLimitMode ->
                        runBlocking { client.sendWithCredential(HttpRequest("GET", server.url("/hello")), store, "payments-prod", mode, "Pay") }
                    }
                    assertEquals(200, send(RateLimitMode.FAIL).status)
                    assertEquals(200, send(RateLimitMode.FAIL).status)
                    val limited = refused<TlsException.RateLimited> { send(RateLimitMode.FAIL) }
                    assertTrue(limited.retryAfterMs > 0, "${limited.retryAfterMs}")
                    assertEquals("retry after ${limited.retryAfterMs} ms", limited.reason)
                    assertEquals(2, server.requestCount())
                    val event = events(SecurityEventKind.RATE_LIMITED).single()
                    assertEquals("refused", event.details["outcome"])
                    assertEquals("payments-prod", event.details["credential"])
                }
                client(server, HttpsClientOptions(rateLimitCapacity = 1, rateLimitRefillPerSecond = 20.0)).use { client ->
                    repeat(3) {
                        await { client.sendWithCredential(HttpRequest("GET", server.url("/hello")), store, "payments-prod", RateLimitMode.WAIT, "Pay") }
                    }
                }
                client(server, HttpsClientOptions(rateLimitEnabled = false)).use { client ->
                    repeat(3) {
                        await { client.sendWithCredential(HttpRequest("GET", server.url("/hello")), store, "payments-prod", RateLimitMode.FAIL, "Pay") }
                    }
                }
                refused<TlsException.InvalidInput> { client(server, HttpsClientOptions(rateLimitCapacity = 0)) }
            }
        }
    }

    @Test
    fun `a 429 with Retry-After pauses the credential`() {
        TestTlsServer.start(false).use { server ->
            store().use { store ->
                store.put("payments-prod", CANARY.encodeToByteArray(), production())
                client(server).use { client ->
                    val throttled = await {
                        client.sendWithCredential(HttpRequest("GET", server.url("/status/429?retry-after=30")), store, "payments-prod", RateLimitMode.FAIL, "Pay")
                    }
                    assertEquals(429, throttled.status)
                    val paused = refused<TlsException.RateLimited> {
                        runBlocking { client.sendWithCredential(HttpRequest("GET", server.url("/hello")), store, "payments-prod", RateLimitMode.FAIL, "Pay") }
                    }
                    assertTrue(paused.retryAfterMs in 25_000L..30_000L, "${paused.retryAfterMs}")
                    assertEquals(1, server.requestCount())
                    val outcomes = events(SecurityEventKind.RATE_LIMITED).map { it.details["outcome"] to it.details["status"] }
                    assertEquals(listOf("paused" to "429", "refused" to null), outcomes)
                }
            }
        }
    }

    @Test
    fun `through a gated vault the send unlocks Restricted first, and a cancelled prompt is CredentialLocked`() {
        store().use { it.put("payments-prod", CANARY.encodeToByteArray(), production()) }
        val authenticator = UnlockTest.ScriptedAuthenticator(
            listOf(AuthOutcome.Cancelled),
            fallback = AuthOutcome.Success(AuthMethod.STRONG_BIOMETRIC),
        )
        TestTlsServer.start(false).use { server ->
            vault.enableUnlock(UnlockPolicy(restrictedWindowSeconds = 0L), authenticator).use {
                store().use { store ->
                    client(server).use { client ->
                        val send = {
                            runBlocking { client.sendWithCredential(HttpRequest("GET", server.url("/hello")), store, "payments-prod", RateLimitMode.WAIT, "Authorize the payment") }
                        }
                        val locked = refused<TlsException.CredentialLocked> { send() }
                        assertTrue("cancelled" in locked.reason, locked.reason)
                        assertEquals(0, server.requestCount())
                        // Each send with a per-use policy prompts once.
                        assertEquals(200, send().status)
                        assertEquals(200, send().status)
                        assertEquals(3, authenticator.prompts)
                        assertEquals(listOf("Authorize the payment"), authenticator.requests.map { it.reason }.distinct())
                        assertEquals(listOf(DataClass.RESTRICTED), authenticator.requests.map { it.dataClass }.distinct())
                        assertEquals(listOf("Bearer $CANARY"), server.lastRequest()!!.headers.filter { it.name == "authorization" }.map { it.value })
                    }
                }
            }
        }
    }

    private fun client(server: TestTlsServer, options: HttpsClientOptions = HttpsClientOptions()): HttpsClient {
        val pinned = options.copy(
            extraRootsDer = listOf(server.rootDer()),
            resolve = listOf(HostAddress(server.host(), server.address())),
        )
        val policy = PinPolicy(listOf(DomainPin(pattern = server.host(), pins = listOf(server.leafPin(), TlsTest.BACKUP_PIN))))
        return core.httpsClient(pinned, policy)
    }

    companion object {
        const val ACCOUNT = "customer-1"
        const val CANARY = "CANARY-sk_live_9f2c7e-do-not-log"
        const val SANDBOX_KEY = "sk_test_5b1d"

        /** `**.rukapay.test` (the test server's pay.rukapay.test) is production, its sandbox subtree sandbox. */
        val ENVIRONMENTS = listOf(
            HostEnvironment("**.rukapay.test", Environment.Production),
            HostEnvironment("**.sandbox.rukapay.test", Environment.Sandbox),
        )
    }
}
