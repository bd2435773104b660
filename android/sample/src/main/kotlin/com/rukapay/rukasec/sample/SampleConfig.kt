package com.rukapay.rukasec.sample

import com.rukapay.rukasec.UnlockPolicy

/** What the sample talks to and how it locks; an app puts its own values here. */
object SampleConfig {
    /** The signed pinned call's target. Replace it with an endpoint of your API. */
    const val API_URL = "https://www.google.com/generate_204"

    /** The host [PINS] apply to (a DomainPin pattern). */
    const val API_HOST = "www.google.com"

    /**
     * SPKI pins of [API_HOST], a main one and a backup (an enforced set needs two). These are
     * placeholders that match nothing: get real ones with `rukasec pin --connect HOST:443`
     * and set [ENFORCE_PINS]. Until then the call runs report-only: it goes through and the
     * mismatch arrives as a security event on screen.
     */
    val PINS = listOf(
        "sha256/b3RoZXIta2V5LW5vYm9keS1oYXMtMDAwMDAwMDAwMDA=",
        "sha256/YmFja3VwLWtleS1rZXB0LW9mZmxpbmUtMDAwMDAwMDA=",
    )

    /** `false`: report-only (see [PINS]); `true` once [PINS] are the server's. */
    const val ENFORCE_PINS = false

    /** The vault account, namespace and item the sample uses. */
    const val ACCOUNT = "sample-user"
    const val NAMESPACE = "sample"
    const val SECRET_NAME = "secret"

    /** The AndroidKeyStore alias of the request-signing key. */
    const val DEVICE_KEY_ALIAS = "rukasec.sample.device-key"

    /**
     * The core's default unlock policy, except that Restricted data also opens with the device
     * credential: an emulator often has a PIN and no enrolled fingerprint. A payments app
     * keeps the default (a strong biometric).
     */
    val UNLOCK_POLICY = UnlockPolicy(restrictedAllowsDeviceCredential = true)
}
