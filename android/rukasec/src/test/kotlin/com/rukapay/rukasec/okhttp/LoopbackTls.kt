package com.rukapay.rukasec.okhttp

import mockwebserver3.MockResponse
import mockwebserver3.MockWebServer
import okhttp3.Dns
import okhttp3.HttpUrl
import okhttp3.Interceptor
import okhttp3.OkHttpClient
import okhttp3.tls.HandshakeCertificates
import okhttp3.tls.HeldCertificate
import java.net.InetAddress
import java.security.MessageDigest
import java.security.cert.X509Certificate
import java.util.Base64
import javax.net.ssl.X509TrustManager

/**
 * A real TLS server on loopback (MockWebServer) for [HOST], with a leaf signed by [root]; the
 * server sends only the leaf, so a pin on the root can match only through the chain the
 * platform side built. Tests close it.
 */
class LoopbackTls : AutoCloseable {
    val root: HeldCertificate = HeldCertificate.Builder()
        .certificateAuthority(0)
        .commonName("RukaSec test root")
        .build()
    private val leaf: HeldCertificate = HeldCertificate.Builder()
        .signedBy(root)
        .commonName(HOST)
        .addSubjectAlternativeName(HOST)
        .build()
    val server = MockWebServer()

    init {
        server.useHttps(HandshakeCertificates.Builder().heldCertificate(leaf).build().sslSocketFactory())
        server.start(InetAddress.getLoopbackAddress(), 0)
    }

    fun url(path: String): HttpUrl = server.url(path).newBuilder().host(HOST).build()

    fun enqueueOk(body: String = "ok") {
        server.enqueue(MockResponse.Builder().code(200).body(body).build())
    }

    /**
     * An OkHttp client that trusts [root] for the handshake and resolves [HOST] to loopback, with
     * [application] and [network] interceptors.
     */
    fun client(application: List<Interceptor> = emptyList(), network: List<Interceptor> = emptyList()): OkHttpClient {
        val trust = HandshakeCertificates.Builder().addTrustedCertificate(root.certificate).build()
        return OkHttpClient.Builder()
            .dns(Dns { listOf(InetAddress.getLoopbackAddress()) })
            .sslSocketFactory(trust.sslSocketFactory(), trust.trustManager)
            .apply { application.forEach(::addInterceptor) }
            .apply { network.forEach(::addNetworkInterceptor) }
            .build()
    }

    override fun close() {
        server.close()
    }

    companion object {
        const val HOST = "api.rukapay.test"

        /** `sha256/<base64>` of a certificate's SPKI, the pin format of the core's policies. */
        fun pinOf(certificate: X509Certificate): String =
            "sha256/" + Base64.getEncoder().encodeToString(
                MessageDigest.getInstance("SHA-256").digest(certificate.publicKey.encoded),
            )
    }
}

/**
 * A trust manager with the duck-typed `checkServerTrusted(chain, authType, host)` that
 * android's `X509TrustManagerExtensions` calls on trust managers that are not Conscrypt's:
 * it checks the chain against [anchors] and returns it completed to the anchor, as the
 * platform does.
 */
class ChainBuildingTrustManager(vararg anchors: X509Certificate) : X509TrustManager {
    private val anchors = anchors.toList()
    private val delegate: X509TrustManager = HandshakeCertificates.Builder()
        .apply { anchors.forEach(::addTrustedCertificate) }
        .build()
        .trustManager

    override fun checkClientTrusted(chain: Array<X509Certificate>, authType: String) =
        delegate.checkClientTrusted(chain, authType)

    override fun checkServerTrusted(chain: Array<X509Certificate>, authType: String) =
        delegate.checkServerTrusted(chain, authType)

    override fun getAcceptedIssuers(): Array<X509Certificate> = delegate.acceptedIssuers

    /** Called by reflection from `X509TrustManagerExtensions.checkServerTrusted`. */
    fun checkServerTrusted(chain: Array<X509Certificate>, authType: String, host: String): List<X509Certificate> {
        delegate.checkServerTrusted(chain, authType)
        val last = chain.last()
        val anchor = anchors.firstOrNull { it.subjectX500Principal == last.issuerX500Principal && it != last }
        return chain.toList() + listOfNotNull(anchor)
    }
}
