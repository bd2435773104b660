package com.rukapay.rukasec

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File

/**
 * `Totp`, `Hotp`, `parseOtpauthUri` and the vault calls for OTP enrolments through the
 * generated bindings: RFC 4226 and RFC 6238 known answers read at run time from the shared
 * vectors (`$RUKASEC_VECTORS`, else `../shared/vectors` beside the repository), replay refusal
 * through `lastUsedStep`, otpauth round trips, the vault round trip and its unlock gate, every
 * `OtpError` variant, and the secret and account kept out of `toString` and error reasons.
 */
class OtpTest {
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

    /** The flat JSON objects of the vector file, as maps of their string and number members. */
    private object Vectors {
        private val text: String by lazy {
            val dir = System.getenv("RUKASEC_VECTORS")?.takeIf { it.isNotBlank() }?.let(::File)
                ?: File(Fixtures.root, "../shared/vectors")
            val file = File(dir, "otp_rfc4226_rfc6238.json").canonicalFile
            check(file.isFile) { "missing $file: put the shared vectors beside the repository or set RUKASEC_VECTORS" }
            file.readText()
        }
        private val member = Regex("\"(\\w+)\"\\s*:\\s*(?:\"([^\"]*)\"|(-?\\d+))")

        private fun fields(obj: String): Map<String, String> =
            member.findAll(obj).associate { it.groupValues[1] to (it.groupValues[2].ifEmpty { it.groupValues[3] }) }

        private val objects: List<Map<String, String>> by lazy {
            Regex("\\{[^{}]*\\}").findAll(text).map { fields(it.value) }.toList()
        }

        val hotp: List<Map<String, String>> get() = objects.filter { "hotp" in it && "counter" in it }
        val totp: List<Map<String, String>> get() = objects.filter { "mode" in it && "totp" in it }
        val hotpSecretHex: String get() = Regex("\"hotp_rfc4226\".*?\"secret_hex\"\\s*:\\s*\"([0-9a-f]+)\"", RegexOption.DOT_MATCHES_ALL)
            .find(text)!!.groupValues[1]
        val seedsHex: Map<String, String> by lazy {
            fields(Regex("\"seeds_hex\"\\s*:\\s*(\\{[^{}]*\\})").find(text)!!.groupValues[1])
        }
    }

    private fun hex(text: String): ByteArray = text.chunked(2).map { it.toInt(16).toByte() }.toByteArray()

    private fun algorithm(mode: String) = when (mode) {
        "SHA1" -> OtpAlgorithm.SHA1
        "SHA256" -> OtpAlgorithm.SHA256
        "SHA512" -> OtpAlgorithm.SHA512
        else -> error("unknown mode $mode")
    }

    @Test
    fun `TOTP codes match RFC 6238 for every row and mode`() {
        val rows = Vectors.totp
        assertTrue(rows.count { it["mode"] == "SHA1" } >= 6, "too few SHA1 rows: $rows")
        assertTrue(rows.any { it["mode"] == "SHA256" } && rows.any { it["mode"] == "SHA512" })
        for (row in rows) {
            val mode = row.getValue("mode")
            val time = row.getValue("time").toLong()
            Totp(hex(Vectors.seedsHex.getValue(mode)), algorithm(mode), 8, 30).use { totp ->
                assertEquals(row["totp"], totp.codeAt(time), "$mode at $time")
                assertEquals(time / 30, totp.timeStep(time))
                assertEquals(algorithm(mode), totp.algorithm())
                assertEquals(8, totp.digits())
                assertEquals(30L, totp.periodSeconds())
                assertEquals(OtpVerdict.Accepted(time / 30), totp.verify(row.getValue("totp"), time, 0, null))
            }
        }
    }

    @Test
    fun `HOTP codes match RFC 4226 Appendix D`() {
        val rows = Vectors.hotp
        assertEquals(10, rows.size, "$rows")
        Hotp(hex(Vectors.hotpSecretHex), OtpAlgorithm.SHA1).use { hotp ->
            assertEquals(OtpAlgorithm.SHA1, hotp.algorithm())
            assertEquals(6, hotp.digits())
            for (row in rows) {
                val counter = row.getValue("counter").toLong()
                assertEquals(row["hotp"], hotp.code(counter), "counter $counter")
            }
            // Look-ahead finds a later counter; the matched one is the new guard.
            assertEquals(OtpVerdict.Accepted(3), hotp.verify(rows[3].getValue("hotp"), 1, 5, 0))
            assertEquals(OtpVerdict.Replayed, hotp.verify(rows[3].getValue("hotp"), 1, 5, 3))
            assertEquals(OtpVerdict.Invalid, hotp.verify(rows[9].getValue("hotp"), 0, 2, null))
        }
    }

    @Test
    fun `a code of the last used step or an earlier one is Replayed, a later one Accepted`() {
        Totp.fromBase32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", OtpAlgorithm.SHA1).use { totp ->
            val now = 1_800_000_000L
            val code = totp.codeAt(now)
            assertEquals(6, code.length)
            val verdict = totp.verify(code, now, 1, null)
            val step = (verdict as OtpVerdict.Accepted).step
            assertEquals(totp.timeStep(now), step)
            // The app persisted `step`: the same code again is a replay, even inside the window.
            assertEquals(OtpVerdict.Replayed, totp.verify(code, now, 1, step))
            assertEquals(OtpVerdict.Replayed, totp.verify(code, now + 30, 1, step + 1))
            // The next step's code is fresh.
            val next = totp.codeAt(now + 30)
            assertEquals(OtpVerdict.Accepted(step + 1), totp.verify(next, now + 30, 1, step))
            // Outside the window, wrong, or malformed: Invalid.
            assertEquals(OtpVerdict.Invalid, totp.verify(code, now + 120, 1, null))
            assertEquals(OtpVerdict.Invalid, totp.verify("12345", now, 1, null))
            assertEquals(OtpVerdict.Invalid, totp.verify("abcdef", now, 1, null))
        }
    }

    @Test
    fun `otpauth URIs round trip through Totp, Hotp and parseOtpauthUri`() {
        val secret = "12345678901234567890".encodeToByteArray()
        Totp(secret, OtpAlgorithm.SHA256, 7, 60).use { totp ->
            val uri = totp.otpauthUri("alice@example.com", "Rukapay")
            assertEquals(
                "otpauth://totp/Rukapay:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" +
                    "&issuer=Rukapay&algorithm=SHA256&digits=7&period=60",
                uri,
            )
            val info = parseOtpauthUri(uri)
            assertEquals(OtpAuthInfo(OtpKind.Totp(60), OtpAlgorithm.SHA256, 7, "alice@example.com", "Rukapay"), info)
            Totp.fromOtpauthUri(uri).use { again ->
                assertEquals(totp.codeAt(1_234_567_890), again.codeAt(1_234_567_890))
                assertEquals(60L, again.periodSeconds())
                assertEquals(7, again.digits())
            }
            assertEquals(OtpKind.Totp(60), parseOtpauthUri(totp.otpauthUri("bob")).kind)
            assertNull(parseOtpauthUri(totp.otpauthUri("bob")).issuer)
        }
        Hotp.fromBase32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", OtpAlgorithm.SHA1, 6).use { hotp ->
            val uri = hotp.otpauthUri(5, "alice", "Rukapay")
            val info = parseOtpauthUri(uri)
            assertEquals(OtpKind.Hotp(5), info.kind)
            assertEquals("alice", info.account)
            Hotp.fromOtpauthUri(uri).use { again -> assertEquals(hotp.code(5), again.code(5)) }
            assertEquals("254676", hotp.code(5))
        }
    }

    @Test
    fun `enrolments round trip through the vault and a gated vault needs an unlock`() {
        val secret = "12345678901234567890".encodeToByteArray()
        core.openVault(File(dir, "vault").path, AesGcmKeyWrapper()).use { vault ->
            assertNull(loadTotp(vault, ALICE, "rukapay"))
            assertNull(loadOtpAuthInfo(vault, ALICE, "rukapay"))
            Totp(secret, OtpAlgorithm.SHA1).use { it.saveTo(vault, ALICE, "rukapay", "alice@example.com", "Rukapay") }
            Hotp(secret, OtpAlgorithm.SHA512, 8).use { it.saveTo(vault, ALICE, "bank", 42, "alice") }
            assertEquals(listOf("bank", "rukapay"), vault.list(ALICE, "rukasec.otp"))
            loadTotp(vault, ALICE, "rukapay")!!.use { totp -> assertEquals("94287082".takeLast(6), totp.codeAt(59)) }
            loadHotp(vault, ALICE, "bank")!!.use { hotp ->
                assertEquals(OtpAlgorithm.SHA512, hotp.algorithm())
                assertEquals(8, hotp.digits())
            }
            assertEquals(OtpAuthInfo(OtpKind.Hotp(42), OtpAlgorithm.SHA512, 8, "alice", null), loadOtpAuthInfo(vault, ALICE, "bank"))
            assertEquals("Rukapay", loadOtpAuthInfo(vault, ALICE, "rukapay")!!.issuer)
            // The other kind, or an empty label: the vault's InvalidInput.
            assertThrows<VaultException.InvalidInput> { loadHotp(vault, ALICE, "rukapay") }
            assertThrows<VaultException.InvalidInput> { loadTotp(vault, ALICE, "bank") }
            Totp(secret, OtpAlgorithm.SHA1).use { totp ->
                assertThrows<VaultException.InvalidInput> { totp.saveTo(vault, ALICE, "x", "", null) }
            }
            // A value in the namespace that is not an enrolment: Integrity.
            vault.put(ALICE, "rukasec.otp", "junk", "not a uri".encodeToByteArray(), DataClass.RESTRICTED, null)
            assertThrows<VaultException.Integrity> { loadTotp(vault, ALICE, "junk") }
            assertTrue(deleteOtpEnrolment(vault, ALICE, "bank"))
            assertFalse(deleteOtpEnrolment(vault, ALICE, "bank"))
            assertNull(loadHotp(vault, ALICE, "bank"))

            // With an unlock gate, a blocking load of the Restricted item needs an unlock first.
            val authenticator = UnlockTest.ScriptedAuthenticator(fallback = AuthOutcome.Success(AuthMethod.STRONG_BIOMETRIC))
            vault.enableUnlock(UnlockPolicy(), authenticator).use { gate ->
                assertThrows<VaultException.UserAuthenticationRequired> { loadTotp(vault, ALICE, "rukapay") }
                assertThrows<VaultException.UserAuthenticationRequired> { loadOtpAuthInfo(vault, ALICE, "rukapay") }
                runBlocking { withTimeout(WAIT_MS) { gate.unlock(DataClass.RESTRICTED, ALICE, "Show the code") } }
                loadTotp(vault, ALICE, "rukapay")!!.use { assertEquals(6, it.digits()) }
            }
        }
    }

    @Test
    fun `bad input throws OtpException InvalidInput naming the part, never the content`() {
        val secret = "12345678901234567890".encodeToByteArray()
        val reasons = listOf(
            assertThrows<OtpException.InvalidInput> { Totp(ByteArray(9), OtpAlgorithm.SHA1) },
            assertThrows<OtpException.InvalidInput> { Totp(secret, OtpAlgorithm.SHA1, 9) },
            assertThrows<OtpException.InvalidInput> { Totp(secret, OtpAlgorithm.SHA1, 6, 0) },
            assertThrows<OtpException.InvalidInput> { Totp(secret, OtpAlgorithm.SHA1, 6, -30) },
            assertThrows<OtpException.InvalidInput> { Totp.fromBase32("SECRET1!", OtpAlgorithm.SHA1) },
            assertThrows<OtpException.InvalidInput> { Totp.fromOtpauthUri("otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQ&counter=1") },
            assertThrows<OtpException.InvalidInput> { Hotp.fromOtpauthUri("otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQ") },
            assertThrows<OtpException.InvalidInput> { Hotp(secret, OtpAlgorithm.SHA1, 5) },
            assertThrows<OtpException.InvalidInput> { Hotp.fromBase32("not base32 at all", OtpAlgorithm.SHA1) },
            assertThrows<OtpException.InvalidInput> { parseOtpauthUri("otpauth://totp/alice%40example.com?secret=SECRETSECRETSECRET&period=x") },
            assertThrows<OtpException.InvalidInput> { parseOtpauthUri("https://example.com") },
        ).map { it.reason }
        Totp(secret, OtpAlgorithm.SHA1).use { totp ->
            assertThrows<OtpException.InvalidInput> { totp.codeAt(-1) }
            assertThrows<OtpException.InvalidInput> { totp.timeStep(-1) }
            assertThrows<OtpException.InvalidInput> { totp.verify("123456", 0, 11, null) }
            assertThrows<OtpException.InvalidInput> { totp.verify("123456", 0, 1, -1) }
            assertThrows<OtpException.InvalidInput> { totp.otpauthUri("", null) }
            assertThrows<OtpException.InvalidInput> { totp.otpauthUri("a:b", null) }
        }
        Hotp(secret, OtpAlgorithm.SHA1).use { hotp ->
            assertThrows<OtpException.InvalidInput> { hotp.code(-1) }
            assertThrows<OtpException.InvalidInput> { hotp.verify("123456", 0, 51, null) }
            assertThrows<OtpException.InvalidInput> { hotp.otpauthUri(-1, "alice", null) }
        }
        for (reason in reasons) {
            assertTrue(reason.isNotBlank())
            for (canary in listOf("SECRET", "alice", "example.com", "GEZDGNBV")) {
                assertFalse(reason.contains(canary), "$canary in: $reason")
            }
        }
    }

    @Test
    fun `CryptoUnavailable and Internal arrive as OtpException cases`() {
        val crypto = assertThrows<OtpException.CryptoUnavailable> { ffiTestingOtpAfterFailedSelfTest() }
        assertTrue(crypto.reason.contains("self-test"), crypto.reason)
        val internal = assertThrows<OtpException.Internal> { ffiTestingPanicInOtpCall() }
        assertTrue(internal.reason.contains("panic"), internal.reason)
        assertFalse(internal.reason.contains("deliberate"), internal.reason)
    }

    @Test
    fun `toString of OtpAuthInfo, verdicts and objects shows no secret, account or issuer`() {
        val canarySecret = "OTPCANARYSECRETQ"
        val uri = "otpauth://totp/Canaryissuer:canary.account%40example.com?secret=$canarySecret&issuer=Canaryissuer"
        val info = parseOtpauthUri(uri)
        assertEquals("canary.account@example.com", info.account)
        Totp.fromOtpauthUri(uri).use { totp ->
            val code = totp.codeAt(59)
            val printed = listOf(
                info.toString(), info.kind.toString(), totp.toString(),
                totp.verify(code, 59, 1, null).toString(),
            ).joinToString(" ")
            for (canary in listOf(canarySecret, "canary", "Canaryissuer", "example.com")) {
                assertFalse(printed.contains(canary, ignoreCase = true), "$canary in: $printed")
            }
            assertTrue(info.toString().contains("<26 bytes>"), info.toString())
            assertNotEquals(info, info.copy(account = "x"))
        }
    }

    private companion object {
        const val ALICE = "alice"
    }
}
