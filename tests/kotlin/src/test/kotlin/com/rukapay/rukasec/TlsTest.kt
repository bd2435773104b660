package com.rukapay.rukasec

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.PrivateKey
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.util.Base64

/**
 * `HttpsClient`, `PinPolicy`, `PinChecker` and `PolicyUpdater` through the generated bindings,
 * against the library's local HTTPS server (`TestTlsServer`, feature ffi-testing). Tests the
 * binding (records, objects, suspend calls, `TlsException` cases, events), not the pinning
 * logic, which the Rust suite covers.
 */
class TlsTest {
    @TempDir
    lateinit var dir: File

    private lateinit var listener: RecordingListener
    private lateinit var core: RukaSec
    private lateinit var server: TestTlsServer

    @BeforeEach
    fun start() {
        listener = RecordingListener()
        core = RukaSec(listener)
        server = TestTlsServer.start(false)
    }

    @AfterEach
    fun stop() {
        server.close()
        core.close()
    }

    private fun options(roots: List<ByteArray> = listOf(server.rootDer())) = HttpsClientOptions(
        extraRootsDer = roots,
        resolve = listOf(HostAddress(server.host(), server.address())),
        appId = "com.rukapay.tests",
    )

    /** An enforced pin set for the server's host: `pin` and a backup pin nobody has. */
    private fun policy(pin: String) =
        PinPolicy(listOf(DomainPin(pattern = server.host(), pins = listOf(pin, BACKUP_PIN))))

    private fun <T> await(block: suspend () -> T): T =
        runBlocking { withTimeout(WAIT_SECONDS * 1000) { block() } }

    private fun events(kind: SecurityEventKind): List<SecurityEvent> {
        assertTrue(core.flushEvents(WAIT_MS), "events not delivered within $WAIT_SECONDS s")
        return listener.events.filter { it.kind == kind }
    }

    @Test
    fun `a pinned request succeeds and every client method answers`() {
        core.httpsClient(options(), policy(server.leafPin())).use { client ->
            val response = await {
                client.send(HttpRequest("POST", server.url("/hello"), listOf(HttpHeader("x-test", "1")), byteArrayOf(1, 2)))
            }
            assertEquals(200, response.status.toInt())
            assertEquals("hello from the rukasec test server\n", response.body.decodeToString())
            assertEquals(server.url("/hello"), response.url)
            assertTrue(response.version.startsWith("HTTP/"), response.version)
            assertEquals(1, server.requestCount())

            // Response headers arrive as records; HSTS is recorded per host; no report is pending.
            val hsts = await { client.send(HttpRequest("GET", server.url("hsts"))) }
            assertTrue(hsts.headers.any { it.name == "strict-transport-security" && "max-age" in it.value }, "${hsts.headers}")
            assertEquals(listOf(server.host()), client.hstsHosts())
            assertEquals(0, await { client.flushReports() })

            // The policy in force, as records.
            val domain = client.policy().use { it.domains().single() }
            assertEquals(DomainPin(server.host(), false, listOf(server.leafPin(), BACKUP_PIN), null, true, null), domain)
        }
    }

    @Test
    fun `a server clock ten minutes behind is measured, reported and used for the server time`() {
        core.httpsClient(options(), policy(server.leafPin())).use { client ->
            assertEquals(null, client.clockSkewMs())
            repeat(3) { await { client.send(HttpRequest("GET", server.url("/date?offset=-600"))) } }
            val skew = client.clockSkewMs()!!
            assertTrue(skew in -602_000L..-598_000L, "$skew")
            val behind = System.currentTimeMillis() - client.serverTimeUnixMs()
            assertTrue(behind in 597_000L..603_000L, "$behind")
            val report = events(SecurityEventKind.CLOCK_SKEW_DETECTED).single()
            assertEquals(server.host(), report.details["host"])
            assertTrue(report.details["skew_s"]!!.toLong() in -602L..-598L, "${report.details}")
        }
    }

    @Test
    fun `a pin mismatch throws PinMismatch, emits PIN_MISMATCH, and setPolicy recovers`() {
        core.httpsClient(options(), policy(OTHER_PIN)).use { client ->
            val error = assertThrows<TlsException.PinMismatch> { await { client.send(HttpRequest("GET", server.url("/"))) } }
            assertTrue(server.host() in error.reason, error.reason)
            assertEquals(0, server.requestCount())
            val event = events(SecurityEventKind.PIN_MISMATCH).single()
            assertEquals(Severity.ERROR, event.severity)
            assertEquals(server.host(), event.details["host"])
            assertEquals("true", event.details["enforced"])

            // A TlsException is a Kotlin exception like any other.
            val caught: TlsException = assertThrows { await { client.send(HttpRequest("GET", server.url("/"))) } }
            assertTrue(caught is TlsException.PinMismatch)

            client.setPolicy(policy(server.intermediatePin()))
            assertEquals(200, await { client.send(HttpRequest("GET", server.url("/"))) }.status.toInt())
        }
    }

    @Test
    fun `an untrusted server throws UntrustedCertificate with TLS_VERIFICATION_FAILED`() {
        TestTlsServer.start(false).use { stranger ->
            // Trusts another test root than the one that issued the server's chain.
            core.httpsClient(options(listOf(stranger.rootDer())), PinPolicy(emptyList())).use { client ->
                assertThrows<TlsException.UntrustedCertificate> { await { client.send(HttpRequest("GET", server.url("/"))) } }
            }
        }
        val event = events(SecurityEventKind.TLS_VERIFICATION_FAILED).single()
        assertEquals(server.host(), event.details["host"])
        assertEquals("untrusted-certificate", event.details["failure"])
    }

    @Test
    fun `a TLS 1_2 server throws ProtocolVersion unless allowTls12`() {
        TestTlsServer.start(true).use { tls12 ->
            val options = HttpsClientOptions(
                extraRootsDer = listOf(tls12.rootDer()),
                resolve = listOf(HostAddress(tls12.host(), tls12.address())),
            )
            val pinned = PinPolicy(listOf(DomainPin(pattern = tls12.host(), pins = listOf(tls12.rootPin(), BACKUP_PIN))))
            core.httpsClient(options, pinned).use { client ->
                assertThrows<TlsException.ProtocolVersion> { await { client.send(HttpRequest("GET", tls12.url("/"))) } }
            }
            core.httpsClient(options.copy(allowTls12 = true), pinned).use { client ->
                assertEquals(200, await { client.send(HttpRequest("GET", tls12.url("/"))) }.status.toInt())
            }
            assertEquals(1, tls12.requestCount())
        }
    }

    @Test
    fun `http URLs throw InsecureScheme before any connection`() {
        core.httpsClient(options(), policy(server.leafPin())).use { client ->
            val url = "http://${server.host()}:${server.port()}/"
            val error = assertThrows<TlsException.InsecureScheme> { await { client.send(HttpRequest("GET", url)) } }
            assertTrue("http" in error.reason, error.reason)
            assertThrows<TlsException.InvalidInput> { await { client.send(HttpRequest("GET", "not a url")) } }
        }
        assertEquals(0, server.requestCount())
    }

    @Test
    fun `checkChain from Kotlin matches, refuses and reports unpinned hosts`() {
        val chain = server.chainDer()
        core.pinChecker(policy(server.rootPin()), listOf(server.rootDer())).use { checker ->
            assertEquals(PinOutcome.MATCHED, checker.checkChain(server.host(), chain))
            assertEquals(PinOutcome.UNPINNED, checker.checkChain("other.rukapay.test", chain))
            assertThrows<TlsException.InvalidInput> { checker.checkChain(server.host(), emptyList()) }
        }
        core.pinChecker(policy(OTHER_PIN), emptyList()).use { checker ->
            assertThrows<TlsException.PinMismatch> { checker.checkChain(server.host(), chain) }
        }
        val reportOnly = PinPolicy(listOf(DomainPin(pattern = "**.rukapay.test", pins = listOf(OTHER_PIN), enforce = false)))
        core.httpsClient(options(), reportOnly).use { client ->
            assertEquals(PinOutcome.REPORT_ONLY_MISMATCH, client.checkChain(server.host(), chain))
        }
        val expired = PinPolicy(listOf(DomainPin(server.host(), false, listOf(OTHER_PIN, BACKUP_PIN), 1_000L, true, null)))
        core.pinChecker(expired, emptyList()).use { assertEquals(PinOutcome.EXPIRED, it.checkChain(server.host(), chain)) }

        assertEquals(1, events(SecurityEventKind.PIN_MISMATCH).size)
        assertEquals("false", events(SecurityEventKind.PIN_MISMATCH_REPORT_ONLY).single().details["enforced"])
        assertEquals(server.host(), events(SecurityEventKind.PIN_SET_EXPIRED).single().details["host"])
        assertEquals(listOf("UNPINNED", "MATCHED", "EXPIRED", "REPORT_ONLY_MISMATCH"), PinOutcome.entries.map { it.name })
    }

    @Test
    fun `each failure the test server can cause arrives as its own TlsException case`() {
        val pinned = policy(server.leafPin())
        val deadPort = java.net.ServerSocket(0).use { it.localPort }
        val base = options().copy(
            resolve = listOf(
                HostAddress(server.host(), server.address()),
                HostAddress("wrong.rukapay.test", server.address()),
                HostAddress("down.rukapay.test", "127.0.0.1:$deadPort"),
            ),
        )
        core.httpsClient(base, pinned).use { client ->
            // The certificate is for the server's host only.
            assertThrows<TlsException.HostnameMismatch> {
                await { client.send(HttpRequest("GET", "https://wrong.rukapay.test:${server.port()}/")) }
            }
            assertThrows<TlsException.Connection> {
                await { client.send(HttpRequest("GET", "https://down.rukapay.test:$deadPort/")) }
            }
            // A redirect to plain HTTP is never followed.
            assertThrows<TlsException.Redirect> {
                await { client.send(HttpRequest("GET", server.url("/redirect?to=http://example.com/&status=302"))) }
            }
        }
        core.httpsClient(base.copy(maxResponseBytes = 100L), pinned).use { client ->
            assertThrows<TlsException.ResponseTooLarge> {
                await { client.send(HttpRequest("GET", server.url("/big?bytes=100000"))) }
            }
        }
        // A whole request (handshake included) cannot finish in a millisecond.
        core.httpsClient(base.copy(requestTimeoutMs = 1L), pinned).use { client ->
            assertThrows<TlsException.Timeout> {
                await { client.send(HttpRequest("GET", server.url("/big?bytes=10000000"))) }
            }
        }
        // Negative numbers are refused before anything is built.
        assertThrows<TlsException.InvalidInput> { core.httpsClient(base.copy(maxRedirects = -1), pinned) }
    }

    @Test
    fun `a Cancellation ends a stalled sendCancellable, and a cancelled one never connects`() {
        // A listener that accepts and never answers: the TLS handshake stalls until the client's
        // 60 s timeout, so only the cancellation can end the call early.
        java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()).use { silent ->
            val accepted = java.util.concurrent.LinkedBlockingQueue<java.net.Socket>()
            val acceptor = Thread {
                runCatching { while (true) accepted.add(silent.accept()) }
            }.apply { isDaemon = true; start() }
            val stalled = options().copy(
                resolve = listOf(HostAddress("stalled.rukapay.test", "127.0.0.1:${silent.localPort}")),
                requestTimeoutMs = 60_000L,
            )
            val url = "https://stalled.rukapay.test:${silent.localPort}/"
            core.httpsClient(stalled, PinPolicy(emptyList())).use { client ->
                Cancellation().use { cancellation ->
                    val started = System.nanoTime()
                    val call = java.util.concurrent.CompletableFuture.supplyAsync {
                        runCatching { runBlocking { client.sendCancellable(HttpRequest("GET", url), cancellation) } }
                    }
                    // Cancel once the request is really under way (its connection accepted).
                    val socket = accepted.poll(WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)
                    assertNotNull(socket, "the client never connected")
                    assertTrue(!cancellation.isCancelled())
                    cancellation.cancel()
                    cancellation.cancel() // idempotent
                    assertTrue(cancellation.isCancelled())
                    val failure = call.get(WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS).exceptionOrNull()
                    assertTrue(failure is TlsException.Cancelled, "got $failure")
                    ErrorReach.record(failure as TlsException.Cancelled)
                    val elapsedMs = (System.nanoTime() - started) / 1_000_000
                    assertTrue(elapsedMs < 60_000L, "the call ran into the client timeout")
                    socket?.close()
                }
                // A handle already cancelled stops the call before signing or connecting.
                Cancellation().use { cancelled ->
                    cancelled.cancel()
                    DeviceKey.generate().use { key ->
                        assertThrows<TlsException.Cancelled> {
                            await { client.sendSignedCancellable(HttpRequest("GET", url), key, SignOptions(keyId = "k"), cancelled) }
                        }
                    }
                }
                assertNull(accepted.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS), "a cancelled call connected")
            }
            silent.close()
            acceptor.join(WAIT_SECONDS * 1000)
        }
        // Without cancelling, the same call completes as send does.
        Cancellation().use { unused ->
            core.httpsClient(options(), policy(server.leafPin())).use { client ->
                val response = await { client.sendCancellable(HttpRequest("GET", server.url("/hello")), unused) }
                assertEquals(200, response.status.toInt())
            }
        }
    }

    @Test
    fun `an expired leaf, a demanded client certificate and a cut-off body arrive as their cases`() {
        fun client(server: TestTlsServer, allowTls12: Boolean = false) = core.httpsClient(
            HttpsClientOptions(
                extraRootsDer = listOf(server.rootDer()),
                resolve = listOf(HostAddress(server.host(), server.address())),
                allowTls12 = allowTls12,
            ),
            PinPolicy(listOf(DomainPin(pattern = server.host(), pins = listOf(server.leafPin(), BACKUP_PIN)))),
        )
        TestTlsServer.startKind(TestServerKind.EXPIRED_LEAF).use { expired ->
            client(expired).use { assertThrows<TlsException.ExpiredCertificate> { await { it.send(HttpRequest("GET", expired.url("/"))) } } }
        }
        TestTlsServer.startKind(TestServerKind.CLIENT_CERTIFICATE_REQUIRED).use { demanding ->
            client(demanding, allowTls12 = true).use {
                assertThrows<TlsException.Handshake> { await { it.send(HttpRequest("GET", demanding.url("/"))) } }
            }
            assertEquals(0, demanding.requestCount())
        }
        client(server).use { assertThrows<TlsException.Protocol> { await { it.send(HttpRequest("GET", server.url("/truncated"))) } } }
    }

    @Test
    fun `a policy store path the updater cannot read is Storage`() {
        val plain = File(dir, "plain").apply { writeText("not a directory") }
        val keys = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
        core.policyUpdater(listOf(keys.public.encoded), File(plain, "pin-policy.jws").path).use { updater ->
            val error = assertThrows<TlsException.Storage> { updater.installedVersion() }
            assertTrue(error.reason.isNotBlank())
        }
    }

    @Test
    fun `a PinChecker used alone sends its pin-failure reports`() {
        val reportOnly = PinPolicy(
            listOf(DomainPin(server.host(), false, listOf(OTHER_PIN), null, false, server.url("/report"))),
        )
        // The client only lends its options (report context, resolver): closed, the checker
        // still sends.
        val checker = core.httpsClient(options(), reportOnly).use { it.pinChecker() }
        checker.use {
            assertEquals(PinOutcome.REPORT_ONLY_MISMATCH, it.checkChain(server.host(), server.chainDer()))
            await { it.flushReports() }
        }
        val report = server.lastRequest()
        assertNotNull(report, "the checker sent no report")
        report!!
        assertEquals("POST", report.method)
        assertTrue(report.url.endsWith("/report"), report.url)
        val body = String(report.body)
        assertTrue(body.contains("\"hostname\":\"${server.host()}\""), body)
        assertTrue(body.contains("\"app-bundle-id\":\"com.rukapay.tests\""), body)
        assertTrue(events(SecurityEventKind.PIN_REPORT_SENT).isNotEmpty())
    }

    @Test
    fun `invalid policies and options throw InvalidInput`() {
        val single = DomainPin(pattern = "api.rukapay.com", pins = listOf(OTHER_PIN))
        val error = assertThrows<TlsException.InvalidInput> { PinPolicy(listOf(single)) }
        assertTrue("backup" in error.reason, error.reason)
        assertThrows<TlsException.InvalidInput> { PinPolicy(listOf(single.copy(pins = listOf("sha1/abc", OTHER_PIN)))) }
        assertThrows<TlsException.InvalidInput> { PinPolicy(listOf(single.copy(pattern = "*.com", pins = listOf(OTHER_PIN, BACKUP_PIN)))) }
        assertThrows<TlsException.InvalidInput> { PinPolicy.fromJson("{\"domains\": [], \"extra\": 1}") }
        assertThrows<TlsException.InvalidInput> { PinPolicy.fromJson("not json") }
        assertThrows<TlsException.InvalidInput> {
            core.httpsClient(options().copy(resolve = listOf(HostAddress(server.host(), "localhost"))), PinPolicy(emptyList()))
        }
        // Report-only sets may have one pin.
        PinPolicy(listOf(single.copy(enforce = false))).close()
    }

    @Test
    fun `PinPolicy fromJson and toJson round trip through the records`() {
        val json = """
            {"domains": [
              {"pattern": "api.rukapay.com", "include_subdomains": true, "pins": ["$OTHER_PIN", "$BACKUP_PIN"],
               "expires": "2099-12-31", "report_uri": "https://reports.rukapay.com/pins"},
              {"pattern": "*.cdn.rukapay.com", "pins": ["$OTHER_PIN"], "enforce": false}
            ]}
        """.trimIndent()
        val policy = PinPolicy.fromJson(json)
        val domains = policy.domains()
        assertEquals(
            DomainPin("api.rukapay.com", true, listOf(OTHER_PIN, BACKUP_PIN), 4_102_444_800_000L, true, "https://reports.rukapay.com/pins"),
            domains[0],
        )
        assertEquals(DomainPin(pattern = "*.cdn.rukapay.com", pins = listOf(OTHER_PIN), enforce = false), domains[1])
        PinPolicy.fromJson(policy.toJson()).use { assertEquals(domains, it.domains()) }
        PinPolicy(domains).use { assertEquals(policy.toJson(), it.toJson()) }
        policy.close()
    }

    @Test
    fun `PolicyUpdater installs a signed policy and refuses rollback, tampering and expiry`() {
        val keys = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
        val store = File(dir, "pin-policy.jws")
        core.policyUpdater(listOf(keys.public.encoded), store.path).use { updater ->
            assertNull(updater.installed())
            assertNull(updater.installedVersion())

            val installed = updater.apply(signedPolicy(keys, version = 3))
            assertEquals(listOf(server.leafPin(), BACKUP_PIN), installed.domains().single().pins)
            assertEquals(3L, updater.installedVersion())
            assertEquals(installed.domains(), updater.installed()?.domains())
            assertTrue(store.isFile)

            assertThrows<TlsException.PolicyRollback> { updater.apply(signedPolicy(keys, version = 2)) }
            val good = signedPolicy(keys, version = 4)
            val i = good.lastIndexOf('.') + 10 // a character inside the signature
            val tampered = good.substring(0, i) + (if (good[i] == 'A') 'B' else 'A') + good.substring(i + 1)
            assertThrows<TlsException.PolicySignature> { updater.apply(tampered) }
            assertThrows<TlsException.PolicyExpired> { updater.apply(signedPolicy(keys, version = 5, expires = "2020-01-01T00:00:00Z")) }
            assertThrows<TlsException.InvalidInput> { updater.apply("only.two") }
            assertEquals(3L, updater.installedVersion())

            // The installed policy drives a client.
            core.httpsClient(options(), installed).use { client ->
                assertEquals(200, await { client.send(HttpRequest("GET", server.url("/"))) }.status.toInt())
            }
        }
        assertEquals("3", events(SecurityEventKind.PIN_POLICY_UPDATED).single().details["version"])
        assertEquals(
            listOf("policy-rollback", "policy-signature", "policy-expired", "malformed"),
            events(SecurityEventKind.PIN_POLICY_REJECTED).map { it.details["failure"] },
        )
        // A key that is not a P-256 SubjectPublicKeyInfo.
        assertThrows<TlsException.InvalidInput> { core.policyUpdater(listOf(byteArrayOf(1, 2, 3)), store.path) }
    }

    @Test
    fun `PolicyUpdater keeps its document in a vault`() {
        val keys = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
        core.openVault(File(dir, "vault").apply { mkdirs() }.path, AesGcmKeyWrapper()).use { vault ->
            core.policyUpdaterInVault(listOf(keys.public.encoded), vault, "device").use { updater ->
                updater.apply(signedPolicy(keys, version = 7)).close()
                assertEquals(7L, updater.installedVersion())
            }
            assertNotNull(vault.get("device", "rukasec.tls", "pin-policy"))
            // A new updater on the same vault sees the installed document.
            core.policyUpdaterInVault(listOf(keys.public.encoded), vault, "device").use { again ->
                assertEquals(7L, again.installedVersion())
                assertThrows<TlsException.PolicyRollback> { again.apply(signedPolicy(keys, version = 6)) }
            }
        }
    }

    /** A JWS (ES256) of a policy pinning the server's leaf, signed with `keys` by the JDK. */
    private fun signedPolicy(keys: KeyPair, version: Int, expires: String = "2099-01-01T00:00:00Z"): String {
        val payload = """{"version":$version,"expires":"$expires","domains":[""" +
            """{"pattern":"${server.host()}","pins":["${server.leafPin()}","$BACKUP_PIN"]}]}"""
        return jws(keys.private, """{"alg":"ES256","typ":"rukasec-pin-policy+jwt","kid":"test"}""", payload)
    }

    private fun jws(key: PrivateKey, header: String, payload: String): String {
        val b64 = Base64.getUrlEncoder().withoutPadding()
        val input = b64.encodeToString(header.toByteArray()) + "." + b64.encodeToString(payload.toByteArray())
        val signature = Signature.getInstance("SHA256withECDSAinP1363Format").run {
            initSign(key)
            update(input.toByteArray())
            sign()
        }
        return input + "." + b64.encodeToString(signature)
    }

    companion object {
        /** Pins of keys that no server here has (SHA-256 digests of nothing in particular). */
        const val BACKUP_PIN = "sha256/YmFja3VwLWtleS1rZXB0LW9mZmxpbmUtMDAwMDAwMDA="
        const val OTHER_PIN = "sha256/b3RoZXIta2V5LW5vYm9keS1oYXMtMDAwMDAwMDAwMDA="
    }
}
