package com.rukapay.rukasec.sample

import android.app.Activity
import android.app.Application
import android.os.Bundle
import androidx.fragment.app.FragmentActivity
import com.rukapay.rukasec.DeviceKey
import com.rukapay.rukasec.DomainPin
import com.rukapay.rukasec.LogLevel
import com.rukapay.rukasec.PinPolicy
import com.rukapay.rukasec.RukaSec
import com.rukapay.rukasec.RukaSecAndroid
import com.rukapay.rukasec.RukaSecException
import com.rukapay.rukasec.SignOptions
import com.rukapay.rukasec.UnlockGate
import com.rukapay.rukasec.Vault
import com.rukapay.rukasec.android.AndroidKeystoreKeyWrapper
import com.rukapay.rukasec.android.AndroidRollbackAnchorStore
import com.rukapay.rukasec.android.AndroidxPromptLauncher
import com.rukapay.rukasec.android.BiometricPromptAuthenticator
import com.rukapay.rukasec.android.KeystoreSigner
import com.rukapay.rukasec.android.LogcatLogger
import com.rukapay.rukasec.okhttp.RukaSecPinningInterceptor
import com.rukapay.rukasec.okhttp.RukaSecSigningInterceptor
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext
import okhttp3.OkHttpClient
import java.io.File
import java.lang.ref.WeakReference

/**
 * Holds what lives as long as the process: the core, the vault with its unlock gate, the device
 * key and the pinned, signing OkHttp client. The vault, key and client are made on first use,
 * off the main thread (SQLite and the keystore block).
 */
class SampleApplication : Application() {
    /** The core; its self-test ran when it was made. */
    lateinit var core: RukaSec
        private set

    /** The activity on screen, for the biometric prompt (null in the background). */
    @Volatile
    private var shown: WeakReference<FragmentActivity>? = null

    private val lock = Mutex()
    private var opened: OpenedVault? = null
    private var client: OkHttpClient? = null

    /** The vault and the gate in front of it. */
    class OpenedVault(val vault: Vault, val gate: UnlockGate)

    override fun onCreate() {
        super.onCreate()
        // First: the core's HTTPS client verifies certificates through Android's trust manager
        // (rustls-platform-verifier, over JNI) and needs the application context for that.
        RukaSecAndroid.initPlatformVerifier(this)
        core = RukaSec(null)
        try {
            core.setLogger(LogcatLogger(), LogLevel.INFO)
        } catch (_: RukaSecException) {
            // Another Rust logger in the process already: the core's lines go there.
        }
        registerActivityLifecycleCallbacks(ShownActivity())
    }

    /** Opens the vault (once): keys wrapped in AndroidKeyStore, rollback anchors in noBackupFilesDir. */
    suspend fun vault(): OpenedVault = lock.withLock {
        opened ?: withContext(Dispatchers.IO) {
            val vault = core.openVault(
                File(filesDir, "vault").path,
                AndroidKeystoreKeyWrapper(),
                AndroidRollbackAnchorStore(this@SampleApplication),
            )
            val prompts = BiometricPromptAuthenticator(AndroidxPromptLauncher { shown?.get() }, "RukaSec sample")
            OpenedVault(vault, vault.enableUnlock(SampleConfig.UNLOCK_POLICY, prompts))
        }.also { opened = it }
    }

    /**
     * The OkHttp client of the signed pinned call (once): requests signed with the keystore
     * device key (an application interceptor), each connection's verified chain checked
     * against the pins (a network interceptor: only those see the connection).
     */
    suspend fun apiClient(): OkHttpClient = lock.withLock {
        client ?: withContext(Dispatchers.IO) {
            val key = DeviceKey.platform(KeystoreSigner.getOrCreate(SampleConfig.DEVICE_KEY_ALIAS))
            // The server looks the key up by its JWK thumbprint, enrolled once (key.publicKey().jwk).
            val signOptions = SignOptions(keyId = key.publicKey().thumbprint)
            val policy = PinPolicy(
                listOf(DomainPin(pattern = SampleConfig.API_HOST, pins = SampleConfig.PINS, enforce = SampleConfig.ENFORCE_PINS)),
            )
            OkHttpClient.Builder()
                .addInterceptor(RukaSecSigningInterceptor(key, signOptions))
                .addNetworkInterceptor(RukaSecPinningInterceptor(core.pinChecker(policy, emptyList())))
                .build()
        }.also { client = it }
    }

    /** The app left the screen: the gate locks when its policy says so. */
    fun onBackground() {
        opened?.gate?.onAppBackground()
    }

    /** Tracks the started activity that BiometricPrompt attaches to. */
    private inner class ShownActivity : ActivityLifecycleCallbacks {
        override fun onActivityStarted(activity: Activity) {
            if (activity is FragmentActivity) shown = WeakReference(activity)
        }

        override fun onActivityStopped(activity: Activity) {
            if (shown?.get() === activity) shown = null
        }

        override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) = Unit
        override fun onActivityResumed(activity: Activity) = Unit
        override fun onActivityPaused(activity: Activity) = Unit
        override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) = Unit
        override fun onActivityDestroyed(activity: Activity) = Unit
    }
}
