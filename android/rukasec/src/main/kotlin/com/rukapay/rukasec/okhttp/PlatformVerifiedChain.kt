package com.rukapay.rukasec.okhttp

import android.net.http.X509TrustManagerExtensions
import java.security.KeyStore
import java.security.cert.CertificateException
import java.security.cert.X509Certificate
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509TrustManager

/** [VerifiedChain] through Android's `X509TrustManagerExtensions`. */
object PlatformVerifiedChain {
    /**
     * The system's default trust manager (user and MDM trust settings and the app's network
     * security config included), asked through [X509TrustManagerExtensions] for the chain it
     * built and trusts for the host.
     */
    @JvmStatic
    fun forDefaultTrustManager(): VerifiedChain {
        val factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm())
        factory.init(null as KeyStore?)
        val trustManager = factory.trustManagers.filterIsInstance<X509TrustManager>().firstOrNull()
            ?: throw IllegalStateException("no X509TrustManager")
        return forTrustManager(trustManager)
    }

    /** The same with [trustManager] (it must be the platform's, or one that wraps it). */
    @JvmStatic
    fun forTrustManager(trustManager: X509TrustManager): VerifiedChain {
        val extensions = X509TrustManagerExtensions(trustManager)
        return VerifiedChain { presented, authType, host ->
            try {
                extensions.checkServerTrusted(presented.toTypedArray(), authType, host)
            } catch (e: CertificateException) {
                throw e
            } catch (e: IllegalArgumentException) {
                throw CertificateException("rejected", e)
            }
        }
    }
}
