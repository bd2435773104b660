package com.rukapay.rukasec.docs

import com.rukapay.rukasec.AesGcmKeyWrapper
import com.rukapay.rukasec.HostAddress
import com.rukapay.rukasec.KeyWrapper
import com.rukapay.rukasec.RukaSec
import com.rukapay.rukasec.SecurityEvent
import com.rukapay.rukasec.SecurityEventListener
import com.rukapay.rukasec.TestTlsServer
import com.rukapay.rukasec.TlsTest
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.util.Base64
import java.util.concurrent.ConcurrentLinkedQueue

/**
 * The app context that the Kotlin examples of docs/INTEGRATION.md run in.
 *
 * scripts/doc_examples.py turns each ```kotlin block of the document into the body of one test
 * method of a subclass of this class (generated under tests/kotlin/target/, never committed), so
 * an example uses these members as app code uses its own: `filesDir` as an Activity's,
 * `keyWrapper` as the app's Keystore wrapper, `environment` as its build configuration. Here they
 * are host stand-ins: a temporary directory, the JVM AES-GCM wrapper of the vault tests, a JDK
 * key pair, and the library's local HTTPS server (feature ffi-testing). The names are listed at
 * the top of docs/INTEGRATION.md; keep the two in step.
 */
abstract class IntegrationFixture {
    /** The app's private files directory (Android: `Context.filesDir`). */
    @TempDir
    lateinit var filesDir: File

    /** The app's Android Keystore [KeyWrapper] (here the JVM AES-GCM one of the vault tests). */
    val keyWrapper: KeyWrapper = AesGcmKeyWrapper()

    /** The device's signing key pair (Android: made in AndroidKeyStore; here by the JDK). */
    val deviceKeyPair: KeyPair by lazy { newP256KeyPair() }

    /** Where the app sends its analytics (here: a list). */
    val analytics = Analytics()

    private var server: TestTlsServer? = null

    /** The API the app talks to: here the local test server, its pins and its private root. */
    val environment: ApiEnvironment by lazy {
        val started = TestTlsServer.start(false).also { server = it }
        ApiEnvironment(
            host = started.host(),
            baseUrl = started.url("").removeSuffix("/"),
            serverPin = started.leafPin(),
            backupPin = TlsTest.BACKUP_PIN,
            extraRootsDer = listOf(started.rootDer()),
            resolve = listOf(HostAddress(started.host(), started.address())),
            pinPolicyPublicKey = policySigner.public.encoded,
        )
    }

    private var made: RukaSec? = null

    /** The app's one `RukaSec`, made at start with its listener (see "Creating the core"). */
    val core: RukaSec by lazy {
        RukaSec(object : SecurityEventListener {
            override fun onEvent(event: SecurityEvent) = analytics.log("rukasec.${event.kind.name.lowercase()}", event.details)
        }).also { made = it }
    }

    /** The key the pin-policy service signs with (its public half ships in the app). */
    private val policySigner: KeyPair by lazy { newP256KeyPair() }

    /** The latest signed pin-policy document, as the app's policy endpoint serves it. */
    private val pinPolicyDocument: String by lazy {
        val env = environment
        val payload = """{"version":2,"expires":"2099-01-01T00:00:00Z","domains":[""" +
            """{"pattern":"${env.host}","pins":["${env.serverPin}","${env.backupPin}"]}]}"""
        jws(policySigner, """{"alg":"ES256","typ":"rukasec-pin-policy+jwt"}""", payload)
    }

    /** Downloads the latest signed pin-policy document (in the app: a GET of the policy URL). */
    fun fetchPinPolicy(): String = pinPolicyDocument

    /** Runs one example: in a coroutine, as app code runs in `lifecycleScope.launch { }`. */
    fun runExample(body: suspend CoroutineScope.() -> Unit) = runBlocking(block = body)

    @AfterEach
    fun closeFixture() {
        made?.close()
        server?.close()
    }

    private companion object {
        fun newP256KeyPair(): KeyPair =
            KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()

        fun jws(keys: KeyPair, header: String, payload: String): String {
            val b64 = Base64.getUrlEncoder().withoutPadding()
            val input = b64.encodeToString(header.toByteArray()) + "." + b64.encodeToString(payload.toByteArray())
            val signature = Signature.getInstance("SHA256withECDSAinP1363Format").run {
                initSign(keys.private)
                update(input.toByteArray())
                sign()
            }
            return input + "." + b64.encodeToString(signature)
        }
    }
}

/** The app's API environment (a build flavour): production, staging, or here the test server. */
class ApiEnvironment(
    /** `api.rukapay.com` in production. */
    val host: String,
    /** `https://api.rukapay.com` in production. */
    val baseUrl: String,
    /** The SPKI pin of the server's key. */
    val serverPin: String,
    /** The pin of a spare key kept offline, for rotation. */
    val backupPin: String,
    /** Private trust anchors (a staging CA); empty in production, where the platform's roots apply. */
    val extraRootsDer: List<ByteArray>,
    /** Fixed addresses (a staging host); empty in production, where DNS applies. */
    val resolve: List<HostAddress>,
    /** The public key (SubjectPublicKeyInfo DER) that pin-policy updates are signed with. */
    val pinPolicyPublicKey: ByteArray,
)

/** The app's analytics sink; here it keeps what it is given. */
class Analytics {
    val logged = ConcurrentLinkedQueue<Pair<String, Map<String, String>>>()

    fun log(name: String, attributes: Map<String, String>) {
        logged.add(name to attributes)
    }
}
