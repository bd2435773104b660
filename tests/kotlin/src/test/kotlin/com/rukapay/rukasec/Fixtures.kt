package com.rukapay.rukasec

import java.io.File
import java.security.MessageDigest
import java.security.cert.CertificateFactory
import java.security.cert.X509Certificate
import java.util.Base64
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.Semaphore
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/** How long any wait in these tests may take before the test fails instead of hanging. */
const val WAIT_SECONDS = 10L
val WAIT_MS: Long = (WAIT_SECONDS * 1000).toLong()

/** Number of known-answer tests in a self-test run (also `details["tests"]` of its event). */
const val KAT_COUNT = 8

/** The committed test fixtures of tests/fixtures/, found from the `rukasec.root` system property. */
object Fixtures {
    val root: File by lazy {
        val path = System.getProperty("rukasec.root")
            ?: error("system property rukasec.root is not set (run through tests/kotlin/pom.xml)")
        File(path).canonicalFile
    }

    fun file(name: String): File = File(root, "tests/fixtures/$name").also {
        check(it.isFile) { "missing fixture $it" }
    }

    fun bytes(name: String): ByteArray = file(name).readBytes()

    /** pins.txt: fixture name -> `sha256/<base64>` computed with openssl. */
    val pins: Map<String, String> by lazy {
        file("pins.txt").readLines()
            .map { it.trim() }
            .filter { it.isNotEmpty() && !it.startsWith("#") }
            .associate { line ->
                val (name, pin) = line.split(Regex("\\s+"), limit = 2)
                name to pin
            }
    }

    fun pin(name: String): String = pins[name] ?: error("no pin for $name in pins.txt")

    val ecPin: String get() = pin("ec-p256.pem")
    val rsaPin: String get() = pin("rsa-2048.pem")
}

/** The SPKI SHA-256 pin computed by the JDK alone, to cross-check what Rust returns. */
fun jcaPin(certificate: ByteArray): String {
    val cert = CertificateFactory.getInstance("X.509")
        .generateCertificate(certificate.inputStream()) as X509Certificate
    val spki = cert.publicKey.encoded
    val digest = MessageDigest.getInstance("SHA-256").digest(spki)
    return "sha256/" + Base64.getEncoder().encodeToString(digest)
}

/** One event as received by a [RecordingListener], with the thread it arrived on. */
data class Received(val event: SecurityEvent, val thread: Thread)

/**
 * A listener that only records. It never asserts: an exception thrown in a listener is handled
 * by UniFFI/RukaSec, so assertions belong on the test thread.
 */
open class RecordingListener : SecurityEventListener {
    val received = ConcurrentLinkedQueue<Received>()
    private val arrivals = Semaphore(0)

    override fun onEvent(event: SecurityEvent) {
        received.add(Received(event, Thread.currentThread()))
        arrivals.release()
    }

    /** Waits until `count` more events arrived (since the last successful await). */
    fun await(count: Int, seconds: Long = WAIT_SECONDS): Boolean =
        arrivals.tryAcquire(count, seconds, TimeUnit.SECONDS)

    val events: List<SecurityEvent> get() = received.map { it.event }
}

/** A listener that always throws a plain (non-RukaSec) exception. */
class ThrowingListener(private val toThrow: () -> Exception = { RuntimeException("listener bug") }) :
    SecurityEventListener {
    private val counter = AtomicInteger(0)
    val calls: Int get() = counter.get()

    override fun onEvent(event: SecurityEvent) {
        counter.incrementAndGet()
        throw thrownIntoRust(toThrow())
    }
}
