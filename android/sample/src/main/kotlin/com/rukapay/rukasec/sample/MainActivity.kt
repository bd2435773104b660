package com.rukapay.rukasec.sample

import android.os.Bundle
import android.view.ViewGroup.LayoutParams.MATCH_PARENT
import android.view.ViewGroup.LayoutParams.WRAP_CONTENT
import android.widget.Button
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import com.rukapay.rukasec.DataClass
import com.rukapay.rukasec.SignatureException
import com.rukapay.rukasec.TlsException
import com.rukapay.rukasec.VaultException
import com.rukapay.rukasec.android.securityEvents
import com.rukapay.rukasec.okhttp.RukaSecPinningException
import com.rukapay.rukasec.okhttp.RukaSecSigningException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import okhttp3.Request
import java.io.IOException
import java.security.SecureRandom

/**
 * The sample's one screen: three buttons and a log. Each button runs on the main thread's
 * coroutine scope; the blocking parts (keystore, SQLite, the network) run on Dispatchers.IO.
 */
class MainActivity : AppCompatActivity() {
    private val scope: CoroutineScope = MainScope()
    private lateinit var log: TextView
    private val app get() = application as SampleApplication

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        log = TextView(this).apply { setTextIsSelectable(true) }
        val column = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            val padding = (16 * resources.displayMetrics.density).toInt()
            setPadding(padding, padding, padding, padding)
            addView(button("Unlock") { unlock() })
            addView(button("Store a secret") { storeSecret() })
            addView(button("Signed pinned call") { signedPinnedCall() })
            addView(log, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        }
        setContentView(ScrollView(this).apply { addView(column) })

        // The core's security events (pin mismatches, unlocks, self-test) as they happen.
        scope.launch {
            app.core.securityEvents().collect { event -> show("event: ${event.kind} (${event.severity}) ${event.details}") }
        }
    }

    override fun onStop() {
        super.onStop()
        if (!isChangingConfigurations) app.onBackground()
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    /** Opens Restricted data through one prompt (BiometricPromptAuthenticator, via the core's gate). */
    private suspend fun unlock() {
        val gate = app.vault().gate
        try {
            gate.unlock(DataClass.RESTRICTED, SampleConfig.ACCOUNT, "Unlock the sample's secrets")
            show("unlocked: restricted=${gate.isUnlocked(DataClass.RESTRICTED)}")
        } catch (e: VaultException) {
            show("not unlocked: ${e.javaClass.simpleName} (${e.message})")
        }
    }

    /** Stores a fresh random secret as Restricted and reads it back (the read prompts when locked). */
    private suspend fun storeSecret() {
        val vault = app.vault().vault
        val secret = ByteArray(32).also(SecureRandom()::nextBytes)
        try {
            vault.putAsync(SampleConfig.ACCOUNT, SampleConfig.NAMESPACE, SampleConfig.SECRET_NAME, secret.copyOf(), DataClass.RESTRICTED, null)
            val back = vault.getAsync(SampleConfig.ACCOUNT, SampleConfig.NAMESPACE, SampleConfig.SECRET_NAME)
            val hardware = withContext(Dispatchers.IO) { vault.isHardwareBacked() }
            // The value itself is never shown: only whether it came back intact.
            show("stored ${secret.size} bytes, read back ${if (back.contentEquals(secret)) "identical" else "DIFFERENT"}; keystore in hardware: $hardware")
            back?.fill(0)
        } catch (e: VaultException) {
            show("vault: ${e.javaClass.simpleName} (${e.message})")
        } finally {
            secret.fill(0)
        }
    }

    /** GET [SampleConfig.API_URL], signed with the keystore key, its chain checked against the pins. */
    private suspend fun signedPinnedCall() {
        try {
            val client = app.apiClient()
            val status = withContext(Dispatchers.IO) {
                client.newCall(Request.Builder().url(SampleConfig.API_URL).build()).execute().use { it.code }
            }
            show("HTTP $status from ${SampleConfig.API_URL} (signed; pins ${if (SampleConfig.ENFORCE_PINS) "enforced" else "report-only"})")
        } catch (e: RukaSecPinningException) {
            show("refused by the pin check: ${e.message}")
        } catch (e: RukaSecSigningException) {
            show("not signed: ${e.message}")
        } catch (e: IOException) {
            show("network: ${e.javaClass.simpleName} (${e.message})")
        } catch (e: SignatureException) {
            show("device key: ${e.javaClass.simpleName} (${e.message})")
        } catch (e: TlsException) {
            show("pin policy: ${e.javaClass.simpleName} (${e.message})")
        }
    }

    private fun button(label: String, action: suspend () -> Unit) = Button(this).apply {
        text = label
        setOnClickListener {
            scope.launch {
                isEnabled = false
                try {
                    action()
                } finally {
                    isEnabled = true
                }
            }
        }
    }

    private fun show(line: String) {
        log.append(line + "\n")
    }
}
