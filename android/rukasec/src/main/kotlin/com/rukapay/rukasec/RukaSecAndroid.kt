package com.rukapay.rukasec

import android.content.Context

/**
 * Android start-up for RukaSec. Call [initPlatformVerifier] once, from
 * `Application.onCreate`, before creating an `HttpsClient`: the core's TLS verifier asks
 * Android's `X509TrustManager` through JNI and needs the application context for it.
 */
object RukaSecAndroid {
    init {
        System.loadLibrary("rukasec_ffi")
    }

    /** Hands [context] (its application context is kept) to rustls-platform-verifier. */
    @JvmStatic
    external fun initPlatformVerifier(context: Context)
}
