package com.rukapay.rukasec

import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The records that carry credentials print redacted from Kotlin: `toString` (and so string
 * templates, loggers, crash reporters) of `HttpRequest`, `HttpResponse`, `HttpHeader`,
 * `VaultItem`, `SignedRequestHeaders` and `AuthRequest` never shows an `Authorization` or cookie
 * value, a query, a body, a vault value, the signature base, a prompt's reason or an account id. Canary values prove it; the kept parts prove
 * the text is still useful.
 */
class RedactionTest {
    private fun assertRedacted(printed: String, vararg canaries: String) {
        for (canary in canaries) assertFalse(printed.contains(canary), "$canary printed in: $printed")
    }

    private val request = HttpRequest(
        method = "POST",
        url = "https://api.rukapay.example/v1/payments?access_token=canary-query-1f3a",
        headers = listOf(
            HttpHeader("Authorization", "Bearer canary-bearer-77c2"),
            HttpHeader("Cookie", "session=canary-cookie-90ab"),
            HttpHeader("Content-Type", "application/json"),
        ),
        body = """{"pin":"canary-body-4e5d"}""".toByteArray(),
    )

    @Test
    fun `requests, responses and headers print no credential, query or body`() {
        val printed = request.toString()
        assertRedacted(printed, "canary-query-1f3a", "canary-bearer-77c2", "canary-cookie-90ab", "canary-body-4e5d")
        assertTrue(printed.contains("POST") && printed.contains("api.rukapay.example"), printed)
        assertTrue(printed.contains("application/json"), "a harmless header stays readable: $printed")
        assertRedacted("$request", "canary-bearer-77c2")

        val response = HttpResponse(
            status = 200,
            url = "https://api.rukapay.example/v1/balance?session=canary-query-1f3a",
            version = "HTTP/2.0",
            headers = listOf(HttpHeader("Set-Cookie", "sid=canary-cookie-90ab")),
            body = "canary-body-4e5d".toByteArray(),
        )
        assertRedacted(response.toString(), "canary-query-1f3a", "canary-cookie-90ab", "canary-body-4e5d")
        assertTrue(response.toString().contains("200"), response.toString())

        assertRedacted(HttpHeader("authorization", "Basic canary-basic-5a5a").toString(), "canary-basic-5a5a")
        // Records stay data classes: equality still compares every field.
        assertTrue(request == request.copy())
        assertFalse(request == request.copy(body = ByteArray(0)))
    }

    @Test
    fun `an authentication request prints no reason or account`() {
        val request = AuthRequest("Pay canary-payee-9d1e", "canary-account-256700", DataClass.RESTRICTED, listOf(AuthMethod.STRONG_BIOMETRIC))
        val printed = request.toString()
        assertRedacted(printed, "canary-payee-9d1e", "canary-account-256700")
        assertTrue(printed.contains("Restricted") && printed.contains("StrongBiometric"), printed)
    }

    @Test
    fun `vault items print the value's length only`() {
        val item = VaultItem("tokens", "refresh", "canary-vault-value-3c3c".toByteArray(), DataClass.RESTRICTED, null)
        val printed = item.toString()
        assertRedacted(printed, "canary-vault-value-3c3c")
        assertTrue(printed.contains("refresh") && printed.contains("23 bytes"), printed)
    }

    @Test
    fun `signed request headers print no signature base`() {
        DeviceKey.generate().use { key ->
            val headers = key.signRequest(request, SignOptions(keyId = "device-1"))
            assertTrue(headers.signatureBase.contains("canary-bearer-77c2"), "the base covers Authorization")
            val printed = headers.toString()
            assertRedacted(printed, "canary-bearer-77c2", "@signature-params")
            assertTrue(printed.contains(headers.signature), printed)
        }
    }
}
