package com.rukapay.rukasec.okhttp

import com.rukapay.rukasec.DeviceKeyInterface
import com.rukapay.rukasec.HttpHeader
import com.rukapay.rukasec.HttpRequest
import com.rukapay.rukasec.SignOptions
import com.rukapay.rukasec.SignatureException
import okhttp3.Interceptor
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import okhttp3.Response
import okio.Buffer
import java.io.IOException

/**
 * Signs every request of an `OkHttpClient` with the device key (RFC 9421 `Signature-Input` and
 * `Signature`, RFC 9530 `Content-Digest` over the body), through the core.
 *
 * Add it as an *application* interceptor (`addInterceptor`), after any interceptor that changes
 * the request: what is signed is the request as it leaves this interceptor. The body is read
 * once and sent as the exact bytes signed, and the body's `Content-Type` is set as a header
 * first so the signature covers the type the server will see. One-shot and duplex bodies cannot
 * be read twice and are refused.
 *
 * Failures are [RukaSecSigningException] (an [IOException], so OkHttp delivers them to the
 * call's `onFailure` / `execute` like a network error) with the core's reason, never the request.
 *
 * @param key the device key (`DeviceKey.platform(KeystoreSigner.getOrCreate(…))`).
 * @param options the key id and components for a request; the default signs the core's default set.
 */
class RukaSecSigningInterceptor(
    private val key: DeviceKeyInterface,
    private val options: (Request) -> SignOptions,
) : Interceptor {

    /** Signs every request with [options] as given. */
    constructor(key: DeviceKeyInterface, options: SignOptions) : this(key, { options })

    override fun intercept(chain: Interceptor.Chain): Response {
        val original = chain.request()
        val body = original.body
        if (body != null && (body.isOneShot() || body.isDuplex())) {
            throw RukaSecSigningException("a one-shot or duplex body cannot be signed")
        }
        val bytes = body?.let { Buffer().also(it::writeTo).readByteArray() }
        val builder = original.newBuilder()
        body?.contentType()?.let { builder.header("Content-Type", it.toString()) }
        if (body != null) builder.method(original.method, bytes!!.toRequestBody(body.contentType()))
        val toSign = builder.build()

        val headers = toSign.headers.map { (name, value) -> HttpHeader(name, value) }
        val signed = try {
            key.signRequest(
                HttpRequest(toSign.method, toSign.url.toString(), headers, bytes ?: ByteArray(0)),
                options(toSign),
            )
        } catch (e: SignatureException) {
            throw RukaSecSigningException(e.message ?: e.javaClass.simpleName, e)
        }
        val out = toSign.newBuilder()
        signed.contentDigest?.let { out.header("Content-Digest", it) }
        out.header("Signature-Input", signed.signatureInput)
        out.header("Signature", signed.signature)
        return chain.proceed(out.build())
    }
}

/** A request the core could not sign; [message] is the core's reason. */
class RukaSecSigningException(message: String, cause: Throwable? = null) : IOException(message, cause)
