package com.rukapay.rukasec.android

import androidx.biometric.BiometricManager
import androidx.biometric.BiometricPrompt
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicInteger

/**
 * A [PromptLauncher] answering from a script, as AndroidX would: each prompt takes the next
 * answer (a success of an authentication type, or an error code); `null` leaves the prompt up
 * until it is cancelled. A success tells [FakeAndroidKeyStore] the user authenticated, and, for a
 * prompt bound to a CryptoObject, that its cipher is authorised.
 */
class FakePromptLauncher(
    answers: List<Answer?> = emptyList(),
    private val fallback: Answer? = Answer.Biometric,
    @Volatile var availability: Int = BiometricManager.BIOMETRIC_SUCCESS,
) : PromptLauncher {
    sealed class Answer {
        object Biometric : Answer()
        object Credential : Answer()
        class Error(val code: Int) : Answer()
    }

    private val script = ConcurrentLinkedQueue(answers.map { Holder(it) })
    private class Holder(val answer: Answer?)

    val specs = ConcurrentLinkedQueue<PromptSpec>()
    val cryptoObjects: MutableList<BiometricPrompt.CryptoObject?> = java.util.Collections.synchronizedList(mutableListOf())
    val checked = ConcurrentLinkedQueue<Int>()
    private val cancelCount = AtomicInteger()
    val cancellations: Int get() = cancelCount.get()
    val shown = CountDownLatch(1)

    override fun canAuthenticate(authenticators: Int): Int {
        checked.add(authenticators)
        return availability
    }

    override fun launch(spec: PromptSpec, crypto: BiometricPrompt.CryptoObject?, onResult: (PromptResult) -> Unit): PromptCancellation {
        specs.add(spec)
        cryptoObjects.add(crypto)
        shown.countDown()
        val answer = if (script.isEmpty()) fallback else script.poll()?.answer
        when (answer) {
            null -> Unit  // stays up
            Answer.Biometric, Answer.Credential -> {
                FakeAndroidKeyStore.userAuthenticated(boundOperations = crypto != null)
                val type = if (answer == Answer.Biometric) {
                    BiometricPrompt.AUTHENTICATION_RESULT_TYPE_BIOMETRIC
                } else {
                    BiometricPrompt.AUTHENTICATION_RESULT_TYPE_DEVICE_CREDENTIAL
                }
                // Robolectric's BiometricPrompt hands back no CryptoObject; a device hands back the one given.
                onResult(PromptResult.Succeeded(type, crypto))
            }
            is Answer.Error -> onResult(PromptResult.Error(answer.code))
        }
        return PromptCancellation {
            cancelCount.incrementAndGet()
            // AndroidX reports ERROR_CANCELED after cancelAuthentication(); the authenticator ignores it.
            onResult(PromptResult.Error(BiometricPrompt.ERROR_CANCELED))
        }
    }
}
