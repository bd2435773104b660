package com.rukapay.rukasec.okhttp

import com.rukapay.rukasec.PinCheckerInterface
import com.rukapay.rukasec.TlsException
import okhttp3.Interceptor
import okhttp3.Response
import java.security.cert.CertificateException
import java.security.cert.X509Certificate
import javax.net.ssl.SSLPeerUnverifiedException

/**
 * Checks the core's pin policy on every connection an `OkHttpClient` makes, on the chain the
 * platform verified: `X509TrustManagerExtensions.checkServerTrusted(chain, authType, host)` on
 * Android returns the chain the system built to a trusted root (the root the pins may name),
 * not the certificates the server sent; [PinCheckerInterface.checkChain] then matches pins,
 * with the policy's backup pins, expiry, report-only mode and subdomain rules, and sends its
 * events and reports like the core's own client.
 *
 * Add it as a *network* interceptor (`addNetworkInterceptor`): only those see the connection.
 * A mismatch (or a chain the platform does not trust) closes nothing by itself but fails the
 * call with [RukaSecPinningException], an `SSLPeerUnverifiedException`, so apps that already
 * handle OkHttp's own `CertificatePinner` failures handle this one too; no request byte
 * beyond the TLS handshake reached the server.
 *
 * Plain HTTP is refused ([RukaSecPinningException]): the platform is HTTPS only.
 *
 * @param checker from `RukaSec.pinChecker(policy, extraRoots)`.
 * @param verifiedChain the platform's verified chain for a handshake; on Android
 *   [PlatformVerifiedChain.forDefaultTrustManager]. Tests pass their own.
 */
class RukaSecPinningInterceptor(
    private val checker: PinCheckerInterface,
    private val verifiedChain: VerifiedChain = PlatformVerifiedChain.forDefaultTrustManager(),
) : Interceptor {

    override fun intercept(chain: Interceptor.Chain): Response {
        val request = chain.request()
        if (!request.url.isHttps) throw RukaSecPinningException("plain HTTP is refused")
        val handshake = chain.connection()?.handshake()
            ?: throw RukaSecPinningException("no TLS handshake for this connection")
        val presented = handshake.peerCertificates.filterIsInstance<X509Certificate>()
        if (presented.isEmpty()) throw RukaSecPinningException("the server sent no certificate")
        val host = request.url.host
        val verified = try {
            verifiedChain.verify(presented, authTypeOf(presented.first()), host)
        } catch (_: CertificateException) {
            throw RukaSecPinningException("the platform does not trust the chain for $host")
        }
        // Every PinOutcome lets the request go (unpinned, matched, an expired pin set, a
        // report-only mismatch, which the checker reports); an enforced mismatch throws.
        try {
            checker.checkChain(host, verified.map { it.encoded })
        } catch (e: TlsException) {
            throw RukaSecPinningException(e.message ?: e.javaClass.simpleName, e)
        }
        return chain.proceed(request)
    }

    private fun authTypeOf(leaf: X509Certificate): String = when (leaf.publicKey.algorithm) {
        "EC" -> "ECDHE_ECDSA"
        "RSA" -> "ECDHE_RSA"
        else -> leaf.publicKey.algorithm
    }
}

/** The platform's verification of a presented chain: returns the chain it built (leaf first). */
fun interface VerifiedChain {
    /** Throws [CertificateException] when the platform does not trust [presented] for [host]. */
    fun verify(presented: List<X509Certificate>, authType: String, host: String): List<X509Certificate>
}

/** A pin check that failed; [message] is the core's reason (no certificate bytes). */
class RukaSecPinningException(message: String, cause: Throwable? = null) : SSLPeerUnverifiedException(message) {
    init {
        if (cause != null) initCause(cause)
    }
}
