package com.rukapay.rukasec.android

import android.os.Handler
import android.os.Looper
import androidx.biometric.BiometricManager
import androidx.biometric.BiometricPrompt
import androidx.core.content.ContextCompat
import androidx.fragment.app.FragmentActivity

/**
 * The real [PromptLauncher]: AndroidX `BiometricPrompt` on the activity [activity] returns
 * (the one in front when the core asks; `null` when the app is in the background, which
 * ends the request as [BiometricPrompt.ERROR_CANCELED] instead of showing nothing forever).
 * BiometricPrompt must be created and shown on the main thread; this class posts there.
 */
class AndroidxPromptLauncher(private val activity: () -> FragmentActivity?) : PromptLauncher {
    private val main = Handler(Looper.getMainLooper())

    override fun canAuthenticate(authenticators: Int): Int {
        val context = activity() ?: return BiometricManager.BIOMETRIC_ERROR_HW_UNAVAILABLE
        return BiometricManager.from(context).canAuthenticate(authenticators)
    }

    override fun launch(
        spec: PromptSpec,
        crypto: BiometricPrompt.CryptoObject?,
        onResult: (PromptResult) -> Unit,
    ): PromptCancellation {
        var prompt: BiometricPrompt? = null
        main.post {
            val host = activity()
            if (host == null || host.isFinishing) {
                onResult(PromptResult.Error(BiometricPrompt.ERROR_CANCELED))
                return@post
            }
            val callback = object : BiometricPrompt.AuthenticationCallback() {
                override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                    onResult(PromptResult.Succeeded(result.authenticationType, result.cryptoObject ?: crypto))
                }

                override fun onAuthenticationError(errorCode: Int, errString: CharSequence) {
                    onResult(PromptResult.Error(errorCode))
                }
                // onAuthenticationFailed: one attempt did not match; the prompt stays up.
            }
            val info = BiometricPrompt.PromptInfo.Builder()
                .setTitle(spec.title)
                .setDescription(spec.description)
                .setAllowedAuthenticators(spec.allowedAuthenticators)
                .apply { spec.negativeButtonText?.let(::setNegativeButtonText) }
                .build()
            prompt = BiometricPrompt(host, ContextCompat.getMainExecutor(host), callback).also {
                if (crypto != null) it.authenticate(info, crypto) else it.authenticate(info)
            }
        }
        return PromptCancellation { main.post { prompt?.cancelAuthentication() } }
    }
}
