package com.rukapay.rukasec.android

import android.os.Build
import androidx.biometric.BiometricManager
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_WEAK
import androidx.biometric.BiometricManager.Authenticators.DEVICE_CREDENTIAL
import androidx.biometric.BiometricPrompt
import com.rukapay.rukasec.AuthMethod
import com.rukapay.rukasec.AuthOutcome
import com.rukapay.rukasec.AuthRequest
import com.rukapay.rukasec.Authenticator
import kotlinx.coroutines.suspendCancellableCoroutine
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.coroutines.resume

/**
 * The core's [Authenticator] on Android: one `BiometricPrompt` per request, with the methods
 * the core's policy allows and nothing else.
 *
 * The core decides *whether* to ask (timeouts, failure counting, lockout); this class only asks
 * and reports how it ended, mapping AndroidX's results to [AuthOutcome]:
 * - success: the method is reported conservatively, since Android says only "biometric" or
 *   "device credential": a biometric counts as [AuthMethod.STRONG_BIOMETRIC] only when the
 *   prompt allowed Class 3 biometrics alone;
 * - user cancel, negative button, system cancel, timeout: [AuthOutcome.Cancelled];
 * - too many attempts: [AuthOutcome.LockedOut] (30 s for Android's temporary lockout, no end
 *   for the permanent one);
 * - nothing enrolled: [AuthOutcome.NotEnrolled]; no hardware, hardware busy or a pending
 *   security update: [AuthOutcome.Unavailable]; anything else: [AuthOutcome.Failed].
 * A cancelled coroutine (the screen went away) cancels the prompt.
 *
 * The prompt itself runs through a [PromptLauncher] so the mapping is testable without a
 * device: [AndroidxPromptLauncher] is the real one, bound to the activity showing the prompt.
 *
 * @param launcher shows the prompt.
 * @param title the prompt's title (the request's `reason` becomes its description).
 * @param cancelLabel the button text when no device credential is allowed (AndroidX requires one).
 * @param sdkInt the platform's API level; only tests change it.
 * @param clock milliseconds since the epoch, for lockout ends; only tests change it.
 */
class BiometricPromptAuthenticator @JvmOverloads constructor(
    private val launcher: PromptLauncher,
    private val title: String,
    private val cancelLabel: String = "Cancel",
    private val sdkInt: Int = Build.VERSION.SDK_INT,
    private val clock: () -> Long = System::currentTimeMillis,
) : Authenticator {

    override suspend fun authenticate(request: AuthRequest): AuthOutcome =
        prompt(request, crypto = null).outcome

    /**
     * Shows a prompt for [request], bound to [crypto] when a keystore operation needs the
     * authentication (a per-use key). The [PromptOutcome.crypto] of a success is the object to
     * finish the operation with.
     */
    suspend fun prompt(request: AuthRequest, crypto: BiometricPrompt.CryptoObject?): PromptOutcome {
        val authenticators = authenticatorsFor(request.allowed, sdkInt, bound = crypto != null)
            ?: return PromptOutcome(AuthOutcome.Unavailable, null)
        when (launcher.canAuthenticate(authenticators)) {
            BiometricManager.BIOMETRIC_SUCCESS -> Unit
            BiometricManager.BIOMETRIC_ERROR_NONE_ENROLLED -> return PromptOutcome(AuthOutcome.NotEnrolled, null)
            else -> return PromptOutcome(AuthOutcome.Unavailable, null)
        }
        val spec = PromptSpec(
            title = title,
            description = request.reason,
            allowedAuthenticators = authenticators,
            // AndroidX forbids a negative button when the device credential is allowed.
            negativeButtonText = if (authenticators and DEVICE_CREDENTIAL != 0) null else cancelLabel,
        )
        return suspendCancellableCoroutine { continuation ->
            val done = AtomicBoolean(false)
            val cancel = launcher.launch(spec, crypto) { result ->
                // AndroidX may report an error after a success or after our own cancel: first wins.
                if (done.compareAndSet(false, true) && continuation.isActive) {
                    continuation.resume(outcomeOf(result, request.allowed))
                }
            }
            continuation.invokeOnCancellation {
                if (done.compareAndSet(false, true)) cancel.cancel()
            }
        }
    }

    private fun outcomeOf(result: PromptResult, allowed: List<AuthMethod>): PromptOutcome = when (result) {
        is PromptResult.Succeeded -> PromptOutcome(AuthOutcome.Success(methodOf(result.authenticationType, allowed)), result.crypto)
        is PromptResult.Error -> PromptOutcome(errorOutcome(result.code), null)
    }

    private fun errorOutcome(code: Int): AuthOutcome = when (code) {
        BiometricPrompt.ERROR_USER_CANCELED,
        BiometricPrompt.ERROR_NEGATIVE_BUTTON,
        BiometricPrompt.ERROR_CANCELED,
        BiometricPrompt.ERROR_TIMEOUT,
        -> AuthOutcome.Cancelled
        BiometricPrompt.ERROR_LOCKOUT -> AuthOutcome.LockedOut(clock() + TEMPORARY_LOCKOUT_MS)
        BiometricPrompt.ERROR_LOCKOUT_PERMANENT -> AuthOutcome.LockedOut(null)
        BiometricPrompt.ERROR_NO_BIOMETRICS,
        BiometricPrompt.ERROR_NO_DEVICE_CREDENTIAL,
        -> AuthOutcome.NotEnrolled
        BiometricPrompt.ERROR_HW_UNAVAILABLE,
        BiometricPrompt.ERROR_HW_NOT_PRESENT,
        BiometricPrompt.ERROR_SECURITY_UPDATE_REQUIRED,
        BiometricPrompt.ERROR_NO_SPACE,
        -> AuthOutcome.Unavailable
        else -> AuthOutcome.Failed
    }

    companion object {
        /** Android's temporary biometric lockout (after five failures) lasts 30 seconds. */
        const val TEMPORARY_LOCKOUT_MS = 30_000L

        /**
         * The AndroidX authenticator flags for the core's [allowed] methods on API [sdkInt],
         * or `null` when that API level cannot show such a prompt. Below API 30 AndroidX cannot
         * combine a Class 3 biometric with the device credential, nor allow the credential
         * alone, nor bind a credential prompt to a key: the credential is then left out (or,
         * alone, unavailable), never silently widened to a weaker biometric.
         */
        @JvmStatic
        fun authenticatorsFor(allowed: List<AuthMethod>, sdkInt: Int, bound: Boolean): Int? {
            var flags = 0
            if (AuthMethod.ANY_BIOMETRIC in allowed) flags = flags or BIOMETRIC_WEAK
            if (AuthMethod.STRONG_BIOMETRIC in allowed) flags = flags or BIOMETRIC_STRONG
            // A key bound to the prompt (CryptoObject) needs a Class 3 biometric.
            if (bound && flags != 0) flags = BIOMETRIC_STRONG
            if (AuthMethod.DEVICE_CREDENTIAL in allowed) {
                // BIOMETRIC_WEAK includes the Class 3 bits: "weak" here means "any biometric".
                val credentialWorks = sdkInt >= Build.VERSION_CODES.R || (!bound && flags == BIOMETRIC_WEAK)
                if (credentialWorks) flags = flags or DEVICE_CREDENTIAL
            }
            return if (flags == 0) null else flags
        }

        /** The method to report for a success of [authenticationType] when [allowed] were offered. */
        @JvmStatic
        fun methodOf(authenticationType: Int, allowed: List<AuthMethod>): AuthMethod {
            val biometric = if (AuthMethod.ANY_BIOMETRIC in allowed || AuthMethod.STRONG_BIOMETRIC !in allowed) {
                AuthMethod.ANY_BIOMETRIC
            } else {
                AuthMethod.STRONG_BIOMETRIC
            }
            return when (authenticationType) {
                BiometricPrompt.AUTHENTICATION_RESULT_TYPE_BIOMETRIC -> biometric
                BiometricPrompt.AUTHENTICATION_RESULT_TYPE_DEVICE_CREDENTIAL -> AuthMethod.DEVICE_CREDENTIAL
                // Unknown (API < 30 with the credential allowed): the weakest method offered.
                else -> if (AuthMethod.DEVICE_CREDENTIAL in allowed) AuthMethod.DEVICE_CREDENTIAL else biometric
            }
        }
    }
}

/** How a prompt ended: the core's outcome and, for a bound success, the authorised crypto object. */
class PromptOutcome(val outcome: AuthOutcome, val crypto: BiometricPrompt.CryptoObject?)

/** What a [PromptLauncher] shows. */
data class PromptSpec(
    val title: String,
    val description: String,
    /** `BiometricManager.Authenticators` flags. */
    val allowedAuthenticators: Int,
    /** The cancel button's text; `null` when the device credential is allowed. */
    val negativeButtonText: String?,
)

/** How a launched prompt ended, in AndroidX's terms. */
sealed class PromptResult {
    /** `onAuthenticationSucceeded`: `BiometricPrompt.AUTHENTICATION_RESULT_TYPE_*` and the crypto object. */
    class Succeeded(val authenticationType: Int, val crypto: BiometricPrompt.CryptoObject?) : PromptResult()

    /** `onAuthenticationError`: a `BiometricPrompt.ERROR_*` code. */
    class Error(val code: Int) : PromptResult()
}

/** Cancels a launched prompt. */
fun interface PromptCancellation {
    fun cancel()
}

/** Shows biometric prompts: [AndroidxPromptLauncher] on a device, a fake in tests. */
interface PromptLauncher {
    /** `BiometricManager.canAuthenticate(authenticators)`. */
    fun canAuthenticate(authenticators: Int): Int

    /**
     * Shows [spec] (bound to [crypto] when not null) and calls [onResult] exactly once with how
     * it ended; single failed attempts (the prompt stays up) are not reported.
     */
    fun launch(spec: PromptSpec, crypto: BiometricPrompt.CryptoObject?, onResult: (PromptResult) -> Unit): PromptCancellation
}
